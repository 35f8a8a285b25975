//! Live sync: one actor task owns `lifeos-core`'s [`Hub`](lifeos_core::sync::Hub) (every loaded
//! document and its sync state with every connected device), and WebSocket
//! connections talk to it through a bounded command channel.
//!
//! The actor never waits for the database: loads, appends and compactions run
//! as their own tasks and report back as commands, so a slow write to one
//! document does not hold up the others. Appends to one document are
//! serialised, and whatever queued up while one was in flight goes in the next
//! transaction (group commit). Messages reach a connection through its bounded
//! queue; a connection whose queue is full is too slow and is closed (it
//! reconnects and catches up), so memory stays bounded.
//!
//! Access: a document belongs to the user who first stored it
//! (`documents.owner_id`). Before the hub sees a message about a document the
//! actor knows its owner, asking storage if needed; the hub's [`Authorize`](lifeos_core::sync::Authorize)
//! answers from that table, and a peer of another user gets `doc-unavailable`,
//! as for a document that does not exist.

mod actor;
mod connection;

use std::time::Duration;

use lifeos_core::sync::{Message, PeerId};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

pub use connection::run as run_connection;

use crate::storage::Store;

/// How the sync actor behaves; from [`crate::config::Config`].
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Messages queued per connection before it is closed as too slow.
    pub send_queue: usize,
    /// Keepalive ping interval.
    pub ping: Duration,
    /// How long an unused document stays in memory.
    pub doc_idle: Duration,
    /// Logged changes that trigger compaction.
    pub compact_after: i64,
    /// Largest frame accepted.
    pub max_frame: usize,
    /// With other relays on the database: how often loaded documents are
    /// checked for changes they stored (the safety net for lost notifications).
    pub catch_up: Duration,
}

impl SyncSettings {
    /// The settings of `config`.
    pub fn from_config(config: &crate::config::Config) -> Self {
        SyncSettings {
            send_queue: config.send_queue as usize,
            ping: Duration::from_secs(config.ping_secs),
            doc_idle: Duration::from_secs(config.doc_idle_secs),
            compact_after: i64::from(config.compact_after),
            max_frame: config.max_frame_bytes,
            catch_up: Duration::from_secs(config.catch_up_secs),
        }
    }
}

/// Identifies one WebSocket connection (a peer id can reconnect on a new one).
pub type ConnId = u64;

/// Why the relay closes a connection; sent in the WebSocket close frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The user's sessions ended (password change or reset, logout
    /// everywhere, account disabled).
    SessionEnded,
    /// The send queue overflowed.
    TooSlow,
    /// The same peer connected again.
    Replaced,
    /// The peer sent something the relay cannot accept.
    Protocol,
    /// The relay is stopping.
    Shutdown,
}

impl CloseReason {
    /// The WebSocket close code and reason text.
    pub fn frame(self) -> (u16, &'static str) {
        match self {
            // 4000-4999 are for applications; clients reconnect on them.
            CloseReason::SessionEnded => (4001, "session ended; sign in again"),
            CloseReason::TooSlow => (4008, "too slow: send queue full; reconnect"),
            CloseReason::Replaced => (4009, "the same peer connected again"),
            CloseReason::Protocol => (1008, "protocol violation"),
            CloseReason::Shutdown => (1001, "relay shutting down"),
        }
    }
}

/// Why a join was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// Another user's device uses this peer id.
    #[error("peer id in use by another account")]
    PeerIdTaken,
    /// The relay is stopping.
    #[error("relay shutting down")]
    ShuttingDown,
}

/// Why the relay could not apply its own edit of a document (the REST API's writes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The document belongs to another account.
    #[error("the document belongs to another account")]
    NotOwner,
    /// The changes do not apply to the document.
    #[error("the changes do not apply: {0}")]
    Rejected(String),
    /// The stored document does not load.
    #[error("the stored document does not load")]
    Corrupt,
    /// The relay is stopping.
    #[error("relay shutting down")]
    ShuttingDown,
}

/// Changes the REST API made to one of `user`'s documents.
pub(crate) struct Edit {
    pub user: Uuid,
    pub document: lifeos_core::DocumentId,
    pub changes: Vec<automerge::Change>,
    pub reply: oneshot::Sender<Result<(), EditError>>,
    /// The document was read from the database again for this edit (with
    /// other relays on it, the copy in memory may have lagged).
    pub caught_up: bool,
}

/// A connection that completed the handshake.
pub(crate) struct Joined {
    pub conn: ConnId,
    pub peer: PeerId,
    pub user: Uuid,
    /// The session generation of the token it authenticated with.
    pub generation: i64,
    /// The session (login) of that token, if it names one.
    pub session: Option<Uuid>,
    /// Encoded frames for the connection.
    pub outbox: mpsc::Sender<Vec<u8>>,
    /// Tells the connection to close, and why.
    pub closer: oneshot::Sender<CloseReason>,
}

/// What the actor is asked to do.
pub(crate) enum Command {
    Join(Joined, oneshot::Sender<Result<(), JoinError>>),
    Message {
        conn: ConnId,
        peer: PeerId,
        message: Message,
    },
    Leave {
        conn: ConnId,
        peer: PeerId,
    },
    CloseUser(Uuid),
    CloseSession {
        user: Uuid,
        session: Uuid,
    },
    Edit(Edit),
    Stats(oneshot::Sender<SyncStats>),
    Shutdown(oneshot::Sender<()>),
    Internal(actor::Internal),
}

/// A snapshot of the actor's state, for health output and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncStats {
    /// Open, joined connections.
    pub connections: usize,
    /// Documents in memory.
    pub documents: usize,
    /// Documents with changes waiting to be stored.
    pub pending_writes: usize,
}

/// The handle every connection and handler uses. Cheap to clone.
#[derive(Clone)]
pub struct SyncHandle {
    commands: mpsc::Sender<Command>,
    local: PeerId,
}

impl SyncHandle {
    /// Starts the actor over `store`, counting into `metrics`.
    pub fn spawn(
        store: Store,
        settings: SyncSettings,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> Self {
        // The relay's peer id is unique per process, so that devices (and
        // several relays on one database) never mistake one for another.
        let local = PeerId::new(format!("lifeos-relay-{}", Uuid::new_v4().simple()))
            .expect("a non-empty peer id");
        let (commands, receiver) = mpsc::channel(4096);
        actor::spawn(
            store,
            settings,
            metrics,
            local.clone(),
            commands.downgrade(),
            receiver,
        );
        SyncHandle { commands, local }
    }

    /// The relay's peer id.
    pub fn local_peer(&self) -> &PeerId {
        &self.local
    }

    /// Closes every live sync connection of `user` (its sessions ended).
    pub async fn close_user(&self, user: Uuid) {
        let _ = self.commands.send(Command::CloseUser(user)).await;
    }

    /// Closes every live sync connection of `user`'s session `session`
    /// (it was ended: signed out, or ended from another device).
    pub async fn close_session(&self, user: Uuid, session: Uuid) {
        let _ = self
            .commands
            .send(Command::CloseSession { user, session })
            .await;
    }

    /// Applies `changes` (made by the REST API on `user`'s data, on the
    /// relay's own actor) to `document` like a device's changes: stored
    /// first, then advertised to the user's connected devices. Returns once
    /// they are stored. A document nobody stored is created for `user`.
    pub async fn edit(
        &self,
        user: Uuid,
        document: lifeos_core::DocumentId,
        changes: Vec<automerge::Change>,
    ) -> Result<(), EditError> {
        let (reply, answer) = oneshot::channel();
        let edit = Edit {
            user,
            document,
            changes,
            reply,
            caught_up: false,
        };
        self.commands
            .send(Command::Edit(edit))
            .await
            .map_err(|_| EditError::ShuttingDown)?;
        answer.await.unwrap_or(Err(EditError::ShuttingDown))
    }

    /// Counts, for health output and tests.
    pub async fn stats(&self) -> SyncStats {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Stats(tx)).await.is_err() {
            return SyncStats::default();
        }
        rx.await.unwrap_or_default()
    }

    /// Closes every connection and waits (at most `limit`) until every
    /// change received has been stored.
    pub async fn shutdown(&self, limit: Duration) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::Shutdown(tx)).await.is_ok()
            && tokio::time::timeout(limit, rx).await.is_err()
        {
            tracing::error!(
                "shutdown: changes still unstored after {limit:?}; devices keep them and send them again"
            );
        }
    }

    pub(crate) async fn join(&self, joined: Joined) -> Result<(), JoinError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Join(joined, tx))
            .await
            .map_err(|_| JoinError::ShuttingDown)?;
        rx.await.unwrap_or(Err(JoinError::ShuttingDown))
    }

    pub(crate) async fn message(&self, conn: ConnId, peer: PeerId, message: Message) -> bool {
        self.commands
            .send(Command::Message {
                conn,
                peer,
                message,
            })
            .await
            .is_ok()
    }

    pub(crate) async fn leave(&self, conn: ConnId, peer: PeerId) {
        let _ = self.commands.send(Command::Leave { conn, peer }).await;
    }
}
