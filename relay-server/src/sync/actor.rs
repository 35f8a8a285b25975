//! The sync actor: the one task that owns the [`Hub`]. See the parent module.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use lifeos_core::DocumentId;
use lifeos_core::sync::{
    Access, Authorize, Durability, Hub, HubOutput, LoadError, Message, PeerId, PersistRequest,
    encode, hub,
};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::metrics::Metrics;

use super::{
    CloseReason, Command, ConnId, Edit, EditError, JoinError, Joined, SyncSettings, SyncStats,
};
use crate::storage::{
    Appended, DocumentStore, Notice, Storage, StorageError, Store, StoredDocument,
};

/// A document read from storage and parsed.
pub(crate) struct LoadedDocument {
    /// `Ok(None)`: storage has no such document.
    doc: Result<Option<automerge::AutoCommit>, LoadError>,
    /// How many changes were in the log after the snapshot.
    logged: usize,
    /// The log position read.
    last_seq: i64,
}

/// Results of the actor's own background tasks.
pub(crate) enum Internal {
    OwnerResolved {
        document: DocumentId,
        result: Result<Option<Uuid>, StorageError>,
    },
    Loaded {
        document: DocumentId,
        result: Result<Box<LoadedDocument>, StorageError>,
    },
    Persisted {
        document: DocumentId,
        batch: Vec<PersistRequest>,
        /// When each request of the batch was made (its change reached the relay).
        arrived: Vec<Instant>,
        started: Instant,
        result: Result<Appended, StorageError>,
    },
    RetryPersist(DocumentId),
    RetryLoad(DocumentId),
    Compacted(DocumentId),
    /// What another relay stored after the log position this relay had read.
    CaughtUp {
        document: DocumentId,
        result: Result<Option<StoredDocument>, StorageError>,
    },
    RetryCatchUp(DocumentId),
    /// The log positions of loaded documents, read for the periodic check.
    Seqs(Vec<(DocumentId, i64)>),
    /// Each connected user's current session generation (`None` when the
    /// account is gone or disabled), and the connected sessions that ended.
    Sessions(Vec<(Uuid, Option<i64>)>, HashSet<Uuid>),
}

/// How often live connections are checked against their accounts, for
/// changes made outside this process (an operator disabling an account,
/// another relay on the same database).
const SESSION_CHECK: Duration = Duration::from_secs(30);

/// Who owns a document, as far as the actor knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    User(Uuid),
    /// Storage has no such document (yet).
    Nobody,
}

/// The hub's access policy: owner only. Sharing would answer `Full` for
/// more users here, without touching the protocol.
#[derive(Default)]
struct Policy {
    users: HashMap<PeerId, Uuid>,
    owners: HashMap<DocumentId, Owner>,
}

impl Authorize for Policy {
    fn access(&mut self, peer: &PeerId, document: &DocumentId) -> Access {
        match (self.users.get(peer), self.owners.get(document)) {
            (Some(user), Some(Owner::User(owner))) if user == owner => Access::Full,
            // Nobody stores it: the peer may create it (a `sync`) or hear that it does not exist.
            (Some(_), Some(Owner::Nobody)) => Access::Full,
            _ => Access::Denied,
        }
    }
}

struct Connection {
    conn: ConnId,
    user: Uuid,
    generation: i64,
    session: Option<Uuid>,
    outbox: mpsc::Sender<Vec<u8>>,
    closer: oneshot::Sender<CloseReason>,
}

type EditReply = oneshot::Sender<Result<(), EditError>>;

/// How far this relay has read a loaded document's change log, when other
/// relays share the database.
#[derive(Default)]
struct LogPosition {
    /// Every change up to this sequence number is in memory.
    known: i64,
    /// The highest sequence number another relay announced (or a check read).
    heard: i64,
    /// A catch-up read is running.
    reading: bool,
    /// Read once more even if nothing was announced (a REST edit found the
    /// copy in memory behind what it read from storage).
    forced: bool,
    failures: u32,
}

/// At most this many documents are remembered as refused for lack of
/// content (see `Actor::refused`); more are simply not remembered.
const REFUSED_LIMIT: usize = 10_000;

/// An applied edit waiting for storage: the document's heads once its
/// changes are stored (`None`: once nothing is left to store), and whom to tell.
type StoredWaiter = (Option<Vec<automerge::ChangeHash>>, EditReply);

/// Appends of one document: at most one in flight; the rest wait and go together.
#[derive(Default)]
struct Writes {
    in_flight: bool,
    queued: Vec<PersistRequest>,
    /// When each queued request was made.
    queued_at: Vec<Instant>,
    creator: Option<Uuid>,
    failures: u32,
}

struct Actor {
    store: Store,
    metrics: Arc<Metrics>,
    /// The relay's own peer id.
    local: PeerId,
    settings: SyncSettings,
    hub: Hub<Policy>,
    commands: mpsc::WeakSender<Command>,
    connections: HashMap<PeerId, Connection>,
    /// Messages waiting for their document's owner to be known.
    resolving: HashMap<DocumentId, Vec<(PeerId, Message)>>,
    writes: HashMap<DocumentId, Writes>,
    load_failures: HashMap<DocumentId, u32>,
    compacting: HashSet<DocumentId>,
    /// Documents whose log grew past the threshold again while they were
    /// being compacted: compacted once more when the running one ends.
    compact_again: HashSet<DocumentId>,
    last_used: HashMap<DocumentId, Instant>,
    /// The REST API's edits waiting for their document's owner or load.
    edits: HashMap<DocumentId, Vec<Edit>>,
    /// Applied edits waiting for storage: the document's heads once stored
    /// (`None`: until nothing is left to store), and whom to tell.
    stored_waiters: HashMap<DocumentId, Vec<StoredWaiter>>,
    /// Other relays' announcements (Postgres); `None` on SQLite.
    notices: Option<mpsc::Receiver<Notice>>,
    /// Per loaded document, how far its change log has been read (only
    /// with other relays on the database).
    positions: HashMap<DocumentId, LogPosition>,
    /// Peers told `doc-unavailable` for a document nobody had stored yet,
    /// with their request: when another relay announces the document, the
    /// request is answered again (a device of the same user on that relay
    /// may have created it a moment before).
    refused: HashMap<DocumentId, HashMap<PeerId, Message>>,
    /// Set once shutdown began: no new connections or messages.
    stopping: bool,
    shutdown: Option<oneshot::Sender<()>>,
}

pub(super) fn spawn(
    store: Store,
    settings: SyncSettings,
    metrics: Arc<Metrics>,
    local: PeerId,
    commands: mpsc::WeakSender<Command>,
    receiver: mpsc::Receiver<Command>,
) {
    let notices = store.notices();
    let actor = Actor {
        metrics,
        notices,
        positions: HashMap::new(),
        refused: HashMap::new(),
        store,
        hub: Hub::new(local.clone(), Durability::CommitFirst, Policy::default()),
        local,
        settings,
        commands,
        connections: HashMap::new(),
        resolving: HashMap::new(),
        writes: HashMap::new(),
        load_failures: HashMap::new(),
        compacting: HashSet::new(),
        compact_again: HashSet::new(),
        last_used: HashMap::new(),
        edits: HashMap::new(),
        stored_waiters: HashMap::new(),
        stopping: false,
        shutdown: None,
    };
    tokio::spawn(actor.run(receiver));
}

/// Backoff before retrying a failed database call: 100 ms doubling to 5 s.
fn backoff(failures: u32) -> Duration {
    Duration::from_millis(100u64.saturating_mul(1 << failures.min(6))).min(Duration::from_secs(5))
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The next notice, or never when there is no listener.
async fn next_notice(notices: &mut Option<mpsc::Receiver<Notice>>) -> Option<Notice> {
    match notices {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// What a device sends to ask for a document it does not have: the
/// request that is answered again once another relay stored the document.
fn request_for(document: DocumentId, from: PeerId, to: PeerId) -> Message {
    use automerge::sync::SyncDoc as _;
    let mut state = automerge::sync::State::new();
    let data = automerge::AutoCommit::new()
        .sync()
        .generate_sync_message(&mut state)
        .map(|m| m.encode())
        .unwrap_or_default();
    Message::Request {
        document_id: document,
        sender_id: from,
        target_id: to,
        data,
    }
}

impl Actor {
    async fn run(mut self, mut receiver: mpsc::Receiver<Command>) {
        let sweep_every =
            (self.settings.doc_idle / 2).clamp(Duration::from_secs(1), Duration::from_secs(60));
        let mut sweep = tokio::time::interval(sweep_every);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sessions = tokio::time::interval(SESSION_CHECK);
        sessions.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut catch_up = tokio::time::interval(self.settings.catch_up);
        catch_up.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = receiver.recv() => match command {
                    Some(command) => self.handle(command),
                    None => break,
                },
                notice = next_notice(&mut self.notices) => match notice {
                    Some(notice) => self.notice(notice),
                    None => self.notices = None,
                },
                _ = catch_up.tick(), if self.notices.is_some() => self.check_positions(),
                _ = sweep.tick() => self.sweep(),
                _ = sessions.tick() => self.check_sessions(),
            }
            if self.writes.is_empty()
                && let Some(done) = self.shutdown.take()
            {
                tracing::info!("sync: every received change is stored");
                let _ = done.send(());
            }
        }
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Join(joined, reply) => {
                let _ = reply.send(self.join(joined));
            }
            Command::Message {
                conn,
                peer,
                message,
            } => {
                self.metrics.messages_received.inc();
                self.message(conn, peer, message);
            }
            Command::Leave { conn, peer } => {
                if self.connections.get(&peer).is_some_and(|c| c.conn == conn) {
                    self.drop_connection(&peer);
                }
            }
            Command::CloseUser(user) => {
                let peers: Vec<PeerId> = self
                    .connections
                    .iter()
                    .filter(|(_, c)| c.user == user)
                    .map(|(p, _)| p.clone())
                    .collect();
                if !peers.is_empty() {
                    tracing::info!(%user, connections = peers.len(), "closing sync connections: sessions ended");
                }
                for peer in peers {
                    self.close(&peer, CloseReason::SessionEnded);
                }
            }
            Command::CloseSession { user, session } => {
                let peers: Vec<PeerId> = self
                    .connections
                    .iter()
                    .filter(|(_, c)| c.user == user && c.session == Some(session))
                    .map(|(p, _)| p.clone())
                    .collect();
                if !peers.is_empty() {
                    tracing::info!(%user, %session, connections = peers.len(), "closing sync connections: session ended");
                }
                for peer in peers {
                    self.close(&peer, CloseReason::SessionEnded);
                }
            }
            Command::Stats(reply) => {
                let _ = reply.send(SyncStats {
                    connections: self.connections.len(),
                    documents: self.hub.loaded_count(),
                    pending_writes: self.writes.len(),
                });
            }
            Command::Shutdown(done) => {
                let peers: Vec<PeerId> = self.connections.keys().cloned().collect();
                tracing::info!(
                    connections = peers.len(),
                    pending = self.writes.len(),
                    "sync: shutting down"
                );
                for peer in peers {
                    self.close(&peer, CloseReason::Shutdown);
                }
                self.stopping = true;
                self.shutdown = Some(done);
            }
            Command::Internal(internal) => self.internal(internal),
            Command::Edit(edit) => {
                if self.stopping {
                    let _ = edit.reply.send(Err(EditError::ShuttingDown));
                    return;
                }
                let document = edit.document;
                self.edits.entry(document).or_default().push(edit);
                self.run_edits(document);
            }
        }
    }

    /// Applies the waiting edits of `document` once its owner is known and
    /// it is loaded, asking for whichever is missing.
    fn run_edits(&mut self, document: DocumentId) {
        let Some(waiting) = self.edits.remove(&document) else {
            return;
        };
        self.last_used.insert(document, Instant::now());
        let mut later = Vec::new();
        for edit in waiting {
            match self.hub.authorizer_mut().owners.get(&document).copied() {
                None => {
                    later.push(edit);
                    continue;
                }
                Some(Owner::User(owner)) if owner != edit.user => {
                    let _ = edit.reply.send(Err(EditError::NotOwner));
                    continue;
                }
                Some(Owner::Nobody) => {
                    // Claimed for the editor, as a device's first `sync` claims it.
                    self.hub
                        .authorizer_mut()
                        .owners
                        .insert(document, Owner::User(edit.user));
                }
                Some(Owner::User(_)) => {}
            }
            if !self.hub.is_ready(&document) {
                later.push(edit);
                continue;
            }
            self.apply_edit(edit);
        }
        if later.is_empty() {
            return;
        }
        // Applying may have queued edits again (to wait for a catch-up); keep both.
        self.edits.entry(document).or_default().extend(later);
        if !self.hub.authorizer_mut().owners.contains_key(&document) {
            if let std::collections::hash_map::Entry::Vacant(pending) =
                self.resolving.entry(document)
            {
                pending.insert(Vec::new());
                let store = self.store.clone();
                self.spawn(async move {
                    let result = store.document_owner(document).await;
                    Internal::OwnerResolved { document, result }
                });
            }
        } else {
            let outputs = self.hub.open_for_edit(document);
            self.process(outputs);
        }
    }

    fn apply_edit(&mut self, edit: Edit) {
        let Edit {
            user,
            document,
            changes,
            reply,
            caught_up,
        } = edit;
        let hashes: Vec<automerge::ChangeHash> = changes.iter().map(|c| c.hash()).collect();
        // With other relays on the database, this copy may lag what the
        // request read from storage: then catch up first and try once more.
        let may_wait = !caught_up && self.positions.contains_key(&document);
        let edited = self.hub.edit(document, |doc| {
            let behind = changes
                .iter()
                .flat_map(|c| c.deps())
                .any(|d| !hashes.contains(d) && doc.get_change_by_hash(d).is_none());
            if behind && may_wait {
                return Err(Err(changes));
            }
            doc.apply_changes(changes).map_err(|e| Ok(e.to_string()))?;
            // Automerge queues, silently, changes whose dependencies it lacks.
            if hashes.iter().all(|h| doc.get_change_by_hash(h).is_some()) {
                Ok(())
            } else {
                Err(Ok(
                    "they depend on changes the relay does not have".to_string()
                ))
            }
        });
        let edited = match edited {
            Some((Err(Err(changes)), outputs)) => {
                self.process(outputs);
                self.edits.entry(document).or_default().push(Edit {
                    user,
                    document,
                    changes,
                    reply,
                    caught_up: true,
                });
                if let Some(position) = self.positions.get_mut(&document) {
                    position.forced = true;
                }
                self.catch_up(document);
                return;
            }
            Some((applied, outputs)) => Some((applied.map_err(|e| e.unwrap_or_default()), outputs)),
            None => None,
        };
        let Some((applied, outputs)) = edited else {
            let _ = reply.send(Err(EditError::Corrupt));
            return;
        };
        let heads = outputs.iter().find_map(|o| match o {
            HubOutput::Persist { request, .. } => Some(request.heads.clone()),
            _ => None,
        });
        if heads.is_some() {
            // The first append of a document made here creates it for the
            // editor; storage refuses it if another account owns the id.
            self.writes.entry(document).or_default().creator = Some(user);
        }
        if let Err(e) = applied {
            tracing::error!(%document, error = %e, "sync: the REST API's changes do not apply");
            let _ = reply.send(Err(EditError::Rejected(e)));
            self.process(outputs);
            return;
        }
        self.stored_waiters
            .entry(document)
            .or_default()
            .push((heads, reply));
        self.process(outputs);
        // Nothing new to store (the changes were here already) and nothing in flight.
        if !self.writes.contains_key(&document) {
            self.release_waiters(document, &[], true);
        }
    }

    /// Tells the edits whose changes are stored: those whose heads are among
    /// `stored`, and, when nothing is left to store, every one.
    fn release_waiters(
        &mut self,
        document: DocumentId,
        stored: &[Vec<automerge::ChangeHash>],
        drained: bool,
    ) {
        let Some(waiters) = self.stored_waiters.remove(&document) else {
            return;
        };
        let mut left = Vec::new();
        for (heads, reply) in waiters {
            let done = drained || heads.as_ref().is_some_and(|h| stored.contains(h));
            if done {
                let _ = reply.send(Ok(()));
            } else {
                left.push((heads, reply));
            }
        }
        if !left.is_empty() {
            self.stored_waiters.insert(document, left);
        }
    }

    /// Refuses every edit of `document`, waiting or applied.
    fn fail_edits(&mut self, document: DocumentId, error: EditError) {
        for edit in self.edits.remove(&document).unwrap_or_default() {
            let _ = edit.reply.send(Err(error.clone()));
        }
        for (_, reply) in self.stored_waiters.remove(&document).unwrap_or_default() {
            let _ = reply.send(Err(error.clone()));
        }
    }

    fn join(&mut self, joined: Joined) -> Result<(), JoinError> {
        if self.stopping {
            return Err(JoinError::ShuttingDown);
        }
        if let Some(existing) = self.connections.get(&joined.peer) {
            if existing.user != joined.user {
                return Err(JoinError::PeerIdTaken);
            }
            // The same device reconnected before its old connection noticed it was dead.
            self.close(&joined.peer, CloseReason::Replaced);
        }
        self.hub
            .authorizer_mut()
            .users
            .insert(joined.peer.clone(), joined.user);
        self.connections.insert(
            joined.peer,
            Connection {
                conn: joined.conn,
                user: joined.user,
                generation: joined.generation,
                session: joined.session,
                outbox: joined.outbox,
                closer: joined.closer,
            },
        );
        Ok(())
    }

    fn message(&mut self, conn: ConnId, peer: PeerId, message: Message) {
        tracing::trace!(%peer, kind = message.type_name(), "sync: received");
        let Some(connection) = self.connections.get(&peer).filter(|c| c.conn == conn) else {
            return; // A replaced or closed connection's late message.
        };
        let user = connection.user;
        let Some(document) = message.document_id() else {
            return;
        };
        if self.stopping {
            return;
        }
        self.last_used.insert(document, Instant::now());
        if let Some(waiting) = self.resolving.get_mut(&document) {
            waiting.push((peer, message));
            return;
        }
        if !self.hub.authorizer_mut().owners.contains_key(&document) {
            self.resolving.insert(document, vec![(peer, message)]);
            let store = self.store.clone();
            self.spawn(async move {
                let result = store.document_owner(document).await;
                Internal::OwnerResolved { document, result }
            });
            return;
        }
        self.route(user, &peer, message);
    }

    /// Hands a message whose document's owner is known to the hub.
    fn route(&mut self, user: Uuid, peer: &PeerId, message: Message) {
        let Some(document) = message.document_id() else {
            return;
        };
        let policy = self.hub.authorizer_mut();
        // The first `sync` for a document nobody stores claims it for its
        // user, so that no other user's peer can join it before it is stored.
        if matches!(message, Message::Sync { .. })
            && policy.owners.get(&document) == Some(&Owner::Nobody)
        {
            policy.owners.insert(document, Owner::User(user));
        }
        match self.hub.receive(peer, message) {
            Ok(outputs) => self.process(outputs),
            Err(e) => {
                tracing::warn!(%peer, %document, error = %e, "closing sync connection: bad message");
                self.close(peer, CloseReason::Protocol);
            }
        }
    }

    fn process(&mut self, outputs: Vec<HubOutput>) {
        let mut queue = VecDeque::from(outputs);
        while let Some(output) = queue.pop_front() {
            match output {
                HubOutput::Send { to, message } => {
                    tracing::trace!(peer = %to, kind = message.type_name(), "sync: send");
                    if let Message::DocUnavailable { document_id, .. } = &message {
                        self.remember_refusal(*document_id, &to);
                    }
                    self.deliver(&to, encode(&message));
                }
                HubOutput::Load { document } => self.load(document),
                HubOutput::Persist {
                    request,
                    created_by,
                } => {
                    let document = request.document;
                    let writes = self.writes.entry(document).or_default();
                    if created_by.is_some()
                        && let Some(Owner::User(owner)) =
                            self.hub.authorizer_mut().owners.get(&document)
                    {
                        writes.creator = Some(*owner);
                    }
                    writes.queued.push(request);
                    writes.queued_at.push(Instant::now());
                    if !writes.in_flight {
                        self.start_write(document);
                    }
                }
                HubOutput::Changed { .. } => {}
            }
        }
    }

    fn deliver(&mut self, to: &PeerId, frame: Vec<u8>) {
        let Some(connection) = self.connections.get(to) else {
            return;
        };
        match connection.outbox.try_send(frame) {
            Ok(()) => {
                self.metrics.messages_sent.inc();
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(peer = %to, "closing sync connection: send queue full");
                self.close(to, CloseReason::TooSlow);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => self.drop_connection(to),
        }
    }

    fn close(&mut self, peer: &PeerId, reason: CloseReason) {
        if let Some(connection) = self.connections.remove(peer) {
            let _ = connection.closer.send(reason);
        }
        self.forget_peer(peer);
    }

    fn drop_connection(&mut self, peer: &PeerId) {
        self.connections.remove(peer);
        self.forget_peer(peer);
    }

    fn forget_peer(&mut self, peer: &PeerId) {
        self.hub.peer_disconnected(peer);
        self.hub.authorizer_mut().users.remove(peer);
        self.refused.retain(|_, peers| {
            peers.remove(peer);
            !peers.is_empty()
        });
    }

    fn load(&mut self, document: DocumentId) {
        let store = self.store.clone();
        self.spawn(async move {
            let result = match store.load_document(document).await {
                // Parsing takes a while for a long history (0.2 s for
                // 100,000 changes): on a blocking thread, not on the actor,
                // which serves every other document meanwhile.
                Ok(stored) => tokio::task::spawn_blocking(move || {
                    Box::new(LoadedDocument {
                        logged: stored.as_ref().map_or(0, |s| s.changes.len()),
                        last_seq: stored.as_ref().map_or(0, |s| s.last_seq),
                        doc: stored
                            .as_ref()
                            .and_then(StoredDocument::bytes)
                            .map(|bytes| hub::parse(document, &bytes))
                            .transpose(),
                    })
                })
                .await
                .map_err(|e| StorageError::Other(format!("parsing document {document}: {e}"))),
                Err(e) => Err(e),
            };
            Internal::Loaded { document, result }
        });
    }

    fn start_write(&mut self, document: DocumentId) {
        let Some(writes) = self.writes.get_mut(&document) else {
            return;
        };
        if writes.in_flight {
            return;
        }
        if writes.queued.is_empty() {
            self.writes.remove(&document);
            return;
        }
        writes.in_flight = true;
        let batch = std::mem::take(&mut writes.queued);
        let arrived = std::mem::take(&mut writes.queued_at);
        let creator = writes.creator;
        let changes: Vec<(Vec<u8>, Vec<u8>)> = batch
            .iter()
            .flat_map(|r| r.changes.iter().map(|(h, b)| (h.0.to_vec(), b.clone())))
            .collect();
        let store = self.store.clone();
        let started = Instant::now();
        self.spawn(async move {
            let result = store
                .append_changes(document, creator, changes, now_millis())
                .await;
            Internal::Persisted {
                document,
                batch,
                arrived,
                started,
                result,
            }
        });
    }

    fn internal(&mut self, internal: Internal) {
        match internal {
            Internal::OwnerResolved { document, result } => {
                let owner = match result {
                    Ok(Some(user)) => Owner::User(user),
                    Ok(None) => Owner::Nobody,
                    Err(e) => {
                        // Try again later; the messages wait (devices wait for an answer).
                        tracing::warn!(%document, error = %e, "sync: cannot look up document owner");
                        let commands = self.commands.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(backoff(3)).await;
                            if let Some(c) = commands.upgrade() {
                                let _ = c
                                    .send(Command::Internal(Internal::RetryLoad(document)))
                                    .await;
                            }
                        });
                        return;
                    }
                };
                self.hub.authorizer_mut().owners.insert(document, owner);
                for (peer, message) in self.resolving.remove(&document).unwrap_or_default() {
                    if let Some(user) = self.connections.get(&peer).map(|c| c.user) {
                        self.route(user, &peer, message);
                    }
                }
                self.run_edits(document);
            }
            Internal::RetryLoad(document) => {
                if self.hub.is_loaded(&document) {
                    self.load(document);
                } else if self.resolving.contains_key(&document) {
                    let store = self.store.clone();
                    self.spawn(async move {
                        let result = store.document_owner(document).await;
                        Internal::OwnerResolved { document, result }
                    });
                }
            }
            Internal::Loaded { document, result } => match result {
                Ok(loaded) => {
                    let LoadedDocument {
                        doc,
                        logged,
                        last_seq,
                    } = *loaded;
                    self.load_failures.remove(&document);
                    match self.hub.loaded_document(document, doc) {
                        Ok(outputs) => {
                            if self.notices.is_some() && self.hub.is_ready(&document) {
                                let last = last_seq;
                                let position = self.positions.entry(document).or_default();
                                position.known = last;
                                position.heard = position.heard.max(last);
                            }
                            self.process(outputs);
                            self.run_edits(document);
                            self.catch_up(document);
                        }
                        Err(e) => {
                            tracing::error!(%document, error = %e, "sync: stored document does not load");
                            self.fail_edits(document, EditError::Corrupt);
                        }
                    }
                    if i64::try_from(logged).unwrap_or(i64::MAX) >= self.settings.compact_after {
                        self.compact(document);
                    }
                }
                Err(e) => {
                    let failures = self.load_failures.entry(document).or_insert(0);
                    *failures += 1;
                    let wait = backoff(*failures);
                    tracing::warn!(%document, error = %e, retry_in = ?wait, "sync: cannot load document");
                    self.retry_later(wait, Internal::RetryLoad(document));
                }
            },
            Internal::Persisted {
                document,
                batch,
                arrived,
                started,
                result,
            } => {
                if result.is_ok() {
                    Metrics::observe(&self.metrics.persist_seconds, started.elapsed());
                }
                self.persisted(document, batch, arrived, result);
            }
            Internal::RetryPersist(document) => {
                if self.writes.get(&document).is_some_and(|w| !w.in_flight) {
                    self.start_write(document);
                }
            }
            Internal::CaughtUp { document, result } => self.caught_up(document, result),
            Internal::RetryCatchUp(document) => self.catch_up(document),
            Internal::Seqs(seqs) => {
                for (document, seq) in seqs {
                    if let Some(position) = self.positions.get_mut(&document) {
                        position.heard = position.heard.max(seq);
                        self.catch_up(document);
                    }
                }
            }
            Internal::Compacted(document) => {
                self.compacting.remove(&document);
                if self.compact_again.remove(&document) {
                    self.compact(document);
                }
            }
            Internal::Sessions(current, ended_sessions) => {
                let current: HashMap<Uuid, Option<i64>> = current.into_iter().collect();
                let ended: Vec<PeerId> = self
                    .connections
                    .iter()
                    .filter(|(_, c)| {
                        current
                            .get(&c.user)
                            .is_some_and(|now| *now != Some(c.generation))
                            || c.session.is_some_and(|s| ended_sessions.contains(&s))
                    })
                    .map(|(p, _)| p.clone())
                    .collect();
                for peer in ended {
                    tracing::info!(%peer, "closing sync connection: its session ended");
                    self.close(&peer, CloseReason::SessionEnded);
                }
            }
        }
    }

    fn persisted(
        &mut self,
        document: DocumentId,
        batch: Vec<PersistRequest>,
        arrived: Vec<Instant>,
        result: Result<Appended, StorageError>,
    ) {
        tracing::debug!(%document, requests = batch.len(), ok = result.is_ok(), "sync: append finished");
        match result {
            Ok(appended) => {
                if let Some(position) = self.positions.get_mut(&document)
                    && appended.previous_seq <= position.known
                {
                    // Everything up to this batch was here, and the batch is.
                    // Otherwise another relay appended in between: its
                    // notification comes before this append's own (commit order).
                    position.known = position.known.max(appended.last_seq);
                }
                if let Some(writes) = self.writes.get_mut(&document) {
                    writes.in_flight = false;
                    writes.failures = 0;
                    writes.creator = None;
                }
                if appended.created
                    && let Some(Owner::User(owner)) =
                        self.hub.authorizer_mut().owners.get(&document).copied()
                {
                    let store = self.store.clone();
                    tokio::spawn(async move {
                        let detail = serde_json::json!({ "document": document.to_string() });
                        if let Err(e) = store
                            .record_audit(
                                Some(owner),
                                "document_created",
                                now_millis(),
                                None,
                                &detail,
                            )
                            .await
                        {
                            tracing::error!(error = %e, "cannot record audit event");
                        }
                    });
                }
                let stored: Vec<Vec<automerge::ChangeHash>> =
                    batch.iter().map(|r| r.heads.clone()).collect();
                for (request, arrived) in batch.into_iter().zip(arrived) {
                    let outputs = self.hub.committed(document, request.ticket);
                    if outputs.iter().any(|o| matches!(o, HubOutput::Send { .. })) {
                        Metrics::observe(&self.metrics.fanout_seconds, arrived.elapsed());
                    }
                    self.process(outputs);
                }
                if appended.since_snapshot >= self.settings.compact_after {
                    self.compact(document);
                }
                self.start_write(document);
                let drained = !self.writes.contains_key(&document);
                self.release_waiters(document, &stored, drained);
                self.catch_up(document);
            }
            Err(StorageError::NotOwner) => {
                // Another relay on the same database stored this id for another
                // user first. Nothing here was advertised; drop it and let the
                // peers start over (they will get doc-unavailable).
                tracing::warn!(%document, "sync: document claimed by another user elsewhere");
                self.writes.remove(&document);
                self.fail_edits(document, EditError::NotOwner);
                self.hub.authorizer_mut().owners.remove(&document);
                self.positions.remove(&document);
                for peer in self.hub.evict(&document) {
                    self.close(&peer, CloseReason::Protocol);
                }
            }
            Err(e) => {
                let Some(writes) = self.writes.get_mut(&document) else {
                    return;
                };
                // Keep the order: the failed batch goes first next time.
                let mut requeued = batch;
                requeued.append(&mut writes.queued);
                writes.queued = requeued;
                let mut times = arrived;
                times.append(&mut writes.queued_at);
                writes.queued_at = times;
                writes.in_flight = false;
                writes.failures += 1;
                let wait = backoff(writes.failures);
                tracing::warn!(%document, error = %e, retry_in = ?wait, "sync: cannot store changes; nothing is acknowledged until they are");
                self.retry_later(wait, Internal::RetryPersist(document));
            }
        }
    }

    /// Another relay on the database (or this one: notices of its own
    /// appends keep its log positions contiguous) said something.
    fn notice(&mut self, notice: Notice) {
        match notice {
            Notice::Changed {
                document,
                previous_seq,
                last_seq,
                changes,
                own,
            } => {
                if !own {
                    self.metrics.peer_changes.inc();
                }
                self.advance(document, previous_seq, last_seq, changes, own);
                // Devices told it did not exist ask again: it does now.
                if !self.hub.is_loaded(&document)
                    && self.hub.authorizer_mut().owners.get(&document) == Some(&Owner::Nobody)
                {
                    self.hub.authorizer_mut().owners.remove(&document);
                }
                for (peer, message) in self.refused.remove(&document).unwrap_or_default() {
                    if let Some(conn) = self.connections.get(&peer).map(|c| c.conn) {
                        tracing::debug!(%peer, %document, "sync: asking again for a document that was stored since");
                        self.message(conn, peer, message);
                    }
                }
            }
            Notice::SessionsEnded(user) => {
                if self.connections.values().any(|c| c.user == user) {
                    self.check_accounts(HashSet::from([user]));
                }
            }
            Notice::Missed => self.check_positions(),
        }
    }

    /// Moves a loaded document's log position on after an append (by this
    /// relay or another), taking in the changes when the notice carries
    /// them and reading the log when it does not continue from what is here.
    /// Documents not in memory are read fresh when a device asks for them.
    fn advance(
        &mut self,
        document: DocumentId,
        previous_seq: i64,
        last_seq: i64,
        changes: Option<Vec<u8>>,
        own: bool,
    ) {
        if !self.hub.is_ready(&document) {
            if self.hub.is_loaded(&document) {
                // Still loading: the load may predate this append.
                let position = self.positions.entry(document).or_default();
                position.heard = position.heard.max(last_seq);
            }
            return;
        }
        let Some(position) = self.positions.get_mut(&document) else {
            return;
        };
        if last_seq <= position.known {
            return; // Read already.
        }
        position.heard = position.heard.max(last_seq);
        // The next part of the log, and here already or in the notice: no read.
        if previous_seq <= position.known && (own || changes.is_some()) {
            position.known = last_seq;
            if let Some(bytes) = changes {
                match self.hub.absorb_stored(document, &bytes) {
                    Ok(outputs) => self.process(outputs),
                    Err(e) => {
                        tracing::error!(%document, error = %e, "sync: another relay's changes do not load");
                    }
                }
            }
        }
        self.catch_up(document);
    }

    /// Remembers that `peer` was told `document` does not exist, so that the
    /// request is answered again if another relay announces it.
    fn remember_refusal(&mut self, document: DocumentId, peer: &PeerId) {
        if self.notices.is_none()
            || self.hub.authorizer_mut().owners.get(&document) != Some(&Owner::Nobody)
            || (self.refused.len() >= REFUSED_LIMIT && !self.refused.contains_key(&document))
        {
            return;
        }
        let request = request_for(document, peer.clone(), self.local.clone());
        self.refused
            .entry(document)
            .or_default()
            .insert(peer.clone(), request);
    }

    /// Reads what other relays stored after this relay's position in the
    /// document's log, if they announced more than it has read.
    fn catch_up(&mut self, document: DocumentId) {
        let ready = self.hub.is_ready(&document);
        let Some(position) = self.positions.get_mut(&document) else {
            return;
        };
        if position.reading || (position.heard <= position.known && !position.forced) || !ready {
            return;
        }
        position.reading = true;
        position.forced = false;
        self.metrics.catch_up_reads.inc();
        let after = position.known;
        let store = self.store.clone();
        self.spawn(async move {
            let result = store.changes_since(document, after).await;
            Internal::CaughtUp { document, result }
        });
    }

    fn caught_up(
        &mut self,
        document: DocumentId,
        result: Result<Option<StoredDocument>, StorageError>,
    ) {
        let Some(position) = self.positions.get_mut(&document) else {
            return; // It left memory meanwhile.
        };
        position.reading = false;
        match result {
            Ok(Some(read)) => {
                position.failures = 0;
                let last = read.last_seq;
                if let Some(bytes) = read.bytes() {
                    match self.hub.absorb_stored(document, &bytes) {
                        Ok(outputs) => self.process(outputs),
                        Err(e) => {
                            tracing::error!(%document, error = %e, "sync: another relay's changes do not load");
                        }
                    }
                }
                if let Some(position) = self.positions.get_mut(&document) {
                    position.known = position.known.max(last);
                    position.heard = position.heard.max(last);
                }
                self.run_edits(document);
                self.catch_up(document);
            }
            Ok(None) => {}
            Err(e) => {
                position.failures += 1;
                let wait = backoff(position.failures);
                tracing::warn!(%document, error = %e, retry_in = ?wait, "sync: cannot read other relays' changes");
                self.retry_later(wait, Internal::RetryCatchUp(document));
            }
        }
    }

    /// Reads the log positions of every loaded document, to catch up on
    /// announcements that never arrived.
    fn check_positions(&self) {
        let ids: Vec<DocumentId> = self.positions.keys().copied().collect();
        if ids.is_empty() {
            return;
        }
        let store = self.store.clone();
        self.spawn(async move {
            match store.document_seqs(ids).await {
                Ok(seqs) => Internal::Seqs(seqs),
                Err(e) => {
                    tracing::warn!(error = %e, "sync: cannot check for other relays' changes");
                    Internal::Seqs(Vec::new())
                }
            }
        });
    }

    /// Folds the document's log into a new snapshot, in the background.
    fn compact(&mut self, document: DocumentId) {
        if !self.compacting.insert(document) {
            // The running compaction folds only what was logged when it
            // started; without this, what arrives meanwhile waits for the
            // next change to cross the threshold again.
            self.compact_again.insert(document);
            return;
        }
        let store = self.store.clone();
        self.spawn(async move {
            if let Err(e) = crate::storage::compact_document(&store, document).await {
                tracing::warn!(%document, error = %e, "sync: compaction failed; the log stays as it is");
            }
            Internal::Compacted(document)
        });
    }

    /// Drops documents nobody used for the idle time, once nothing waits for storage.
    fn sweep(&mut self) {
        let idle = self.settings.doc_idle;
        let now = Instant::now();
        let stale: Vec<DocumentId> = self
            .last_used
            .iter()
            .filter(|(_, at)| now.duration_since(**at) >= idle)
            .map(|(d, _)| *d)
            .collect();
        for document in stale {
            if self.writes.contains_key(&document)
                || self.resolving.contains_key(&document)
                || self.edits.contains_key(&document)
            {
                continue;
            }
            let gone = !self.hub.is_loaded(&document) || self.hub.unload_if_idle(&document);
            if gone {
                self.last_used.remove(&document);
                self.positions.remove(&document);
                self.hub.authorizer_mut().owners.remove(&document);
            }
        }
    }

    /// Looks up every connected account in the background.
    fn check_sessions(&self) {
        let users: HashSet<Uuid> = self.connections.values().map(|c| c.user).collect();
        self.check_accounts(users);
    }

    /// Looks up these accounts in the background; connections whose
    /// session ended are closed when the answer comes.
    fn check_accounts(&self, users: HashSet<Uuid>) {
        if users.is_empty() {
            return;
        }
        let mut sessions: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for c in self
            .connections
            .values()
            .filter(|c| users.contains(&c.user))
        {
            if let Some(session) = c.session {
                sessions.entry(c.user).or_default().push(session);
            }
        }
        let store = self.store.clone();
        self.spawn(async move {
            use crate::storage::security::SecurityStore;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            let mut current = Vec::with_capacity(users.len());
            let mut ended = HashSet::new();
            for user in users {
                match store.user_by_id(user).await {
                    Ok(Some(u)) if !u.disabled => current.push((user, Some(u.session_epoch))),
                    Ok(_) => current.push((user, None)),
                    // Unknown while the database is down: leave those connections be.
                    Err(_) => continue,
                }
                let mut ids = sessions.remove(&user).unwrap_or_default();
                ids.sort_unstable();
                ids.dedup();
                if !ids.is_empty()
                    && let Ok(gone) = store.ended_sessions(user, ids, now).await
                {
                    ended.extend(gone);
                }
            }
            Internal::Sessions(current, ended)
        });
    }

    fn retry_later(&self, wait: Duration, internal: Internal) {
        let commands = self.commands.clone();
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            if let Some(c) = commands.upgrade() {
                let _ = c.send(Command::Internal(internal)).await;
            }
        });
    }

    /// Runs `task` and feeds its result back to the actor.
    fn spawn(&self, task: impl Future<Output = Internal> + Send + 'static) {
        let Some(commands) = self.commands.upgrade() else {
            return;
        };
        tokio::spawn(async move {
            let internal = task.await;
            let _ = commands.send(Command::Internal(internal)).await;
        });
    }
}
