//! `lifeos sync`: the replica's documents synced with the relay over the
//! automerge-repo protocol, driven by `lifeos-core`'s [`DeviceSync`] (the
//! same engine as the web app), over tokio-tungstenite.
//!
//! No replica transaction is held while waiting on the network: the
//! documents are read once, synced in memory, and written back in short
//! sessions (every second while changes arrive, and at the end). Each write
//! first merges what other `lifeos` processes committed meanwhile, so a
//! `task add` during a sync is kept, and sent. The heads the relay confirmed
//! are recorded per document: `status` counts the changes it has not
//! confirmed without any network.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lifeos_core::sync::{
    ClientConnection, ClientOutput, DEFAULT_MAX_FRAME, DeviceDocuments, DeviceSync, Documents,
    Event, Message, PeerId, PeerMetadata, codec, reconnect,
};
use lifeos_core::time::Timestamp;
use lifeos_core::{DocumentId, UserData};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::remote::{RelayApi, RemoteError, TokenPair};
use crate::replica::{Replica, ReplicaError, Session};
use crate::workspace::{ACCOUNT_ROOT, LOCAL_ROOT, WorkspaceError, assemble, parse_id};

/// `meta` keys of the account.
pub mod keys {
    /// The relay's base address.
    pub const RELAY: &str = "relay_url";
    /// The signed-in user's id.
    pub const USER: &str = "account_user";
    /// Their email address.
    pub const EMAIL: &str = "account_email";
    /// The refresh token (absent once signed out).
    pub const REFRESH: &str = "refresh_token";
    /// This device's peer id.
    pub const PEER: &str = "peer_id";
    /// When the last sync completed (milliseconds since the epoch).
    pub const LAST_SYNC: &str = "last_sync";
}

/// Why a sync did not complete.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// Never signed in, or signed out.
    #[error("not signed in: run `lifeos login --relay URL --email EMAIL`")]
    NotSignedIn,
    /// The relay refused the session: sign in again.
    #[error("{0}")]
    SessionEnded(String),
    /// The relay cannot be reached or did not finish in time; the local
    /// data is unchanged and keeps working.
    #[error("{0}; your data on this device is safe and keeps working offline")]
    Unreachable(String),
    /// The relay answered with something else than expected.
    #[error(transparent)]
    Remote(RemoteError),
    /// The replica failed.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
}

impl From<ReplicaError> for SyncError {
    fn from(e: ReplicaError) -> Self {
        SyncError::Workspace(e.into())
    }
}

impl From<RemoteError> for SyncError {
    fn from(e: RemoteError) -> Self {
        match e {
            RemoteError::Unreachable { .. } => SyncError::Unreachable(e.to_string()),
            RemoteError::Refused(m) => SyncError::SessionEnded(m),
            other => SyncError::Remote(other),
        }
    }
}

/// The account this device is signed in to.
#[derive(Debug, Clone)]
pub struct Account {
    /// The relay.
    pub relay: String,
    /// The user.
    pub user_id: uuid::Uuid,
    /// Their email.
    pub email: String,
    /// The refresh token; `None` once signed out.
    pub refresh_token: Option<String>,
}

impl Account {
    /// The account recorded in the replica, if any.
    pub fn read(session: &Session<'_>) -> Result<Option<Account>, SyncError> {
        let (Some(relay), Some(user), Some(email)) = (
            session.meta(keys::RELAY)?,
            session.meta(keys::USER)?,
            session.meta(keys::EMAIL)?,
        ) else {
            return Ok(None);
        };
        let user_id = uuid::Uuid::parse_str(&user).map_err(|_| {
            WorkspaceError::Unreadable(lifeos_core::Error::Corrupt(format!(
                "the stored account id {user:?} is not a UUID"
            )))
        })?;
        Ok(Some(Account {
            relay,
            user_id,
            email,
            refresh_token: session.meta(keys::REFRESH)?,
        }))
    }

    /// Records the account and its tokens.
    pub fn write(&self, session: &Session<'_>) -> Result<(), SyncError> {
        session.set_meta(keys::RELAY, &self.relay)?;
        session.set_meta(keys::USER, &self.user_id.to_string())?;
        session.set_meta(keys::EMAIL, &self.email)?;
        match &self.refresh_token {
            Some(token) => session.set_meta(keys::REFRESH, token)?,
            None => session.delete_meta(keys::REFRESH)?,
        }
        Ok(())
    }

    /// The root document of the account's data.
    pub fn root(&self) -> DocumentId {
        DocumentId::root_of_user(&self.user_id)
    }
}

/// This device's peer id: made once, kept in `meta`; each connection adds a
/// random suffix, so a `sync --watch` and a one-off `sync` do not replace
/// each other's connection.
fn connection_peer(session: &Session<'_>) -> Result<PeerId, SyncError> {
    let device = match session.meta(keys::PEER)? {
        Some(p) => p,
        None => {
            let p = format!("cli-{}", random_hex(12));
            session.set_meta(keys::PEER, &p)?;
            p
        }
    };
    let suffix = random_hex(6);
    PeerId::new(format!("{device}-{suffix}")).ok_or(SyncError::NotSignedIn)
}

/// The user's documents in memory during a sync.
pub struct Engine {
    sync: DeviceSync,
    /// This device's data from before it joined the account, until adopted.
    local: Option<UserData>,
    /// Its root, until removed from the replica.
    local_root: Option<DocumentId>,
    /// Documents the relay said it does not have.
    unavailable: BTreeSet<DocumentId>,
    /// Documents that changed because of the relay since the start.
    received: BTreeSet<DocumentId>,
    /// Something arrived that is not written to the replica yet.
    unsaved: bool,
    /// What went wrong without stopping the sync, for the user.
    pub problems: Vec<String>,
}

impl Engine {
    /// The account's documents as the replica has them (`peer`: this connection's id).
    pub fn open(
        session: &Session<'_>,
        account: &Account,
        peer: PeerId,
    ) -> Result<Engine, SyncError> {
        let loaded = session.load()?;
        let mut problems = loaded.problems;
        let root = account.root();
        let local_root = session
            .meta(LOCAL_ROOT)?
            .map(|s| parse_id(&s))
            .transpose()?;
        let local = match local_root {
            Some(id) => assemble(&loaded.documents, id, &mut problems)?,
            None => None,
        };
        let mut documents = match assemble(&loaded.documents, root, &mut problems)? {
            Some(data) => DeviceDocuments::with_data(data),
            None => DeviceDocuments::new(root),
        };
        // What the relay confirmed before, so the count of changes it lacks
        // is right before it says anything on this connection.
        let mut confirmed = Vec::new();
        for id in loaded.documents.keys() {
            confirmed.push((*id, session.confirmed(*id)?));
        }
        let mut taken: BTreeSet<DocumentId> = documents.ids().into_iter().collect();
        taken.extend(local.iter().flat_map(UserData::document_ids));
        taken.extend(local_root);
        // The account's documents that arrived before its root listed them.
        for (id, stored) in loaded.documents {
            if !taken.contains(&id) {
                documents.insert(id, stored.doc);
            }
        }
        let mut sync = DeviceSync::new(peer, documents);
        for (id, heads) in confirmed {
            sync.remember_confirmed(id, heads);
        }
        Ok(Engine {
            sync,
            local,
            local_root,
            unavailable: BTreeSet::new(),
            received: BTreeSet::new(),
            unsaved: false,
            problems,
        })
    }

    /// The relay answered the handshake.
    pub fn connected(&mut self, relay: PeerId, now: Timestamp) -> Vec<Message> {
        self.unavailable.clear();
        let out = self.sync.connected(relay);
        self.outputs(out, now)
    }

    /// The connection is gone.
    pub fn disconnected(&mut self) {
        self.sync.disconnected();
    }

    /// A document message from the relay.
    pub fn receive(&mut self, message: &Message, now: Timestamp) -> Vec<Message> {
        match self.sync.receive(message) {
            Ok(out) => self.outputs(out, now),
            Err(e) => {
                self.problems
                    .push(format!("a sync message could not be applied: {e}"));
                Vec::new()
            }
        }
    }

    /// Everything is here and the relay stores every change of this device.
    pub fn settled(&mut self) -> bool {
        self.sync.documents().data().is_some()
            && self.local.is_none()
            && self
                .sync
                .documents()
                .wanted()
                .iter()
                .all(|id| self.unavailable.contains(id))
            && self.sync.unconfirmed_changes() == 0
    }

    /// Changes of this device the relay has not confirmed yet.
    pub fn unconfirmed(&mut self) -> usize {
        self.sync.unconfirmed_changes()
    }

    /// How many documents the device has, and how many changed because of
    /// the relay.
    pub fn counts(&self) -> (usize, usize) {
        (self.sync.documents().ids().len(), self.received.len())
    }

    /// How many groups of likely duplicates the data holds now.
    pub fn duplicates(&self) -> usize {
        self.sync
            .documents()
            .data()
            .and_then(|d| d.duplicates().ok())
            .map_or(0, |g| g.len())
    }

    /// Records in the replica what the relay confirmed since the last time
    /// (for `status`, which counts the rest as pending).
    pub fn write_confirmed(&mut self, session: &Session<'_>) -> Result<(), SyncError> {
        for (id, heads) in self.sync.confirmed_updates() {
            session.set_confirmed(id, &heads)?;
        }
        Ok(())
    }

    /// Writes what changed to the replica, first merging what other
    /// processes wrote; returns the messages that send their edits.
    pub fn persist(&mut self, session: &Session<'_>) -> Result<Vec<Message>, SyncError> {
        let mut loaded = session.load()?;
        self.problems.append(&mut loaded.problems);
        let ids = self.sync.documents().ids();
        let mut edited_elsewhere = Vec::new();
        for id in &ids {
            let Some(doc) = self.sync.documents_mut().get_mut(id) else {
                continue;
            };
            let mut stored = loaded.documents.remove(id);
            if let Some(stored) = stored.as_mut()
                && stored
                    .stored_heads
                    .iter()
                    .any(|h| doc.get_change_by_hash(h).is_none())
            {
                match doc.merge(&mut stored.doc) {
                    Ok(_) => edited_elsewhere.push(*id),
                    Err(e) => self
                        .problems
                        .push(format!("document {id} could not take a local edit: {e}")),
                }
            }
            session.save(*id, doc, stored.as_mut())?;
        }
        self.write_confirmed(session)?;
        // Documents another process made meanwhile (a new month's ledger).
        let local_ids: BTreeSet<DocumentId> = self
            .local
            .iter()
            .flat_map(UserData::document_ids)
            .chain(self.local_root)
            .collect();
        for (id, stored) in loaded.documents {
            if !local_ids.contains(&id) {
                self.sync.documents_mut().insert(id, stored.doc);
                edited_elsewhere.push(id);
            }
        }
        if self.sync.documents().data().is_some() {
            let root = self.sync.documents().root_id();
            session.set_meta(ACCOUNT_ROOT, &root.to_string())?;
            if self.local.is_none()
                && let Some(old) = self.local_root.take()
            {
                // Its documents joined the account; the old root is done.
                session.delete_document(old)?;
                session.delete_meta(LOCAL_ROOT)?;
            }
        }
        self.unsaved = false;
        let mut messages = Vec::new();
        for id in edited_elsewhere {
            let out = self.sync.local_change(id);
            messages.extend(self.outputs(out, crate::now()));
        }
        Ok(messages)
    }

    /// Turns sync outputs into messages; starts the account's data when the
    /// relay has none, and adopts this device's own data into it.
    fn outputs(&mut self, out: Vec<ClientOutput>, now: Timestamp) -> Vec<Message> {
        let mut messages = Vec::new();
        let mut pending = out;
        while !pending.is_empty() {
            let mut more = Vec::new();
            for o in pending {
                match o {
                    ClientOutput::Send(m) => messages.push(m),
                    ClientOutput::Arrived(id) | ClientOutput::Changed(id) => {
                        self.received.insert(id);
                        self.unsaved = true;
                    }
                    ClientOutput::Unavailable(id) => {
                        let documents = self.sync.documents_mut();
                        if documents.data().is_none() && id == documents.root_id() {
                            // The account has no data yet: this device starts it.
                            match documents.begin_account(now, self.local.take()) {
                                Ok(()) => {
                                    more.extend(self.sync.announce_all());
                                    self.unsaved = true;
                                }
                                Err(e) => self
                                    .problems
                                    .push(format!("could not start the account's data: {e}")),
                            }
                        } else {
                            self.unavailable.insert(id);
                        }
                    }
                }
            }
            // The account's data is here and this device still has its own: adopt it.
            if self.sync.documents().data().is_some()
                && let Some(local) = self.local.take()
                && let Some(data) = self.sync.documents_mut().data_mut()
            {
                match data.adopt(now, local) {
                    Ok(adopted) => {
                        let root = data.root_id();
                        for id in adopted.into_iter().chain([root]) {
                            more.extend(self.sync.local_change(id));
                        }
                        self.unsaved = true;
                    }
                    Err(e) => self.problems.push(format!(
                        "this device's data could not join the account: {e}"
                    )),
                }
            }
            pending = more;
        }
        messages
    }
}

/// How a sync runs.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Stay connected, sending and receiving changes until interrupted.
    pub watch: bool,
    /// Give up (keeping what arrived) after this long without settling.
    pub timeout: Duration,
    /// Show a progress spinner (only drawn on a terminal).
    pub progress: bool,
}

/// What a sync did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SyncReport {
    /// The relay.
    pub relay: String,
    /// Documents on this device.
    pub documents: usize,
    /// Documents that changed because of other devices.
    pub received: usize,
    /// Changes of this device the relay has not confirmed (0 after a completed sync).
    pub pending: usize,
    /// What went wrong along the way without stopping the sync.
    pub problems: Vec<String>,
    /// Groups of likely duplicates in the data now (`lifeos duplicates`).
    pub duplicates: usize,
}

/// How long without a message before a settled sync is done.
const QUIET: Duration = Duration::from_millis(300);
/// How often arrived changes are written while syncing.
const SAVE_EVERY: Duration = Duration::from_secs(1);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Signs in with a fresh access token, keeping the rotated refresh token.
async fn fresh_tokens(
    replica: &mut Replica,
    account: &mut Account,
) -> Result<TokenPair, SyncError> {
    let refresh = account
        .refresh_token
        .clone()
        .ok_or(SyncError::NotSignedIn)?;
    let api = RelayApi::new(&account.relay)?;
    let tokens = match api.refresh(&refresh).await {
        Ok(t) => t,
        Err(RemoteError::Refused(m)) => {
            account.refresh_token = None;
            let session = replica.session()?;
            account.write(&session)?;
            session.commit()?;
            return Err(SyncError::SessionEnded(m));
        }
        Err(e) => return Err(e.into()),
    };
    if tokens.user.id != account.user_id {
        return Err(SyncError::SessionEnded(
            "the relay answered for another account: run `lifeos login`".into(),
        ));
    }
    // The old refresh token no longer works: keep the new one at once.
    account.refresh_token = Some(tokens.refresh_token.clone());
    let session = replica.session()?;
    account.write(&session)?;
    session.commit()?;
    Ok(tokens)
}

async fn connect(api: &RelayApi, access: &str) -> Result<Socket, SyncError> {
    let mut request = api
        .sync_url()
        .into_client_request()
        .map_err(|e| SyncError::Remote(RemoteError::BadAddress(e.to_string())))?;
    let bearer = format!("Bearer {access}")
        .parse()
        .map_err(|_| SyncError::SessionEnded("the relay sent an unusable token".into()))?;
    request.headers_mut().insert("authorization", bearer);
    let attempt = tokio_tungstenite::connect_async(request);
    match tokio::time::timeout(Duration::from_secs(15), attempt).await {
        Err(_) => Err(SyncError::Unreachable(format!(
            "the relay at {} did not answer within 15 s",
            api.base()
        ))),
        Ok(Ok((socket, _))) => Ok(socket),
        Ok(Err(tungstenite::Error::Http(response))) if response.status() == 401 => Err(
            SyncError::SessionEnded("the relay refused the session: run `lifeos login`".into()),
        ),
        Ok(Err(e)) => Err(SyncError::Unreachable(format!(
            "the relay at {} cannot be reached ({e})",
            api.base()
        ))),
    }
}

async fn send_all(socket: &mut Socket, messages: Vec<Message>) -> Result<(), tungstenite::Error> {
    for m in messages {
        socket
            .feed(tungstenite::Message::Binary(codec::encode(&m).into()))
            .await?;
    }
    socket.flush().await
}

/// How one connection ended.
enum Ended {
    /// One-off sync: everything is exchanged.
    Settled,
    /// Interrupted (Ctrl-C) in watch mode.
    Interrupted,
    /// The connection dropped or the relay closed it.
    Dropped(String),
}

/// Syncs the replica with the relay (see the module docs).
pub async fn run(replica: &mut Replica, options: &SyncOptions) -> Result<SyncReport, SyncError> {
    let session = replica.session()?;
    let mut account = Account::read(&session)?.ok_or(SyncError::NotSignedIn)?;
    if account.refresh_token.is_none() {
        return Err(SyncError::NotSignedIn);
    }
    let peer = connection_peer(&session)?;
    let mut engine = Engine::open(&session, &account, peer.clone())?;
    session.commit()?;
    for problem in engine.problems.drain(..) {
        eprintln!("lifeos: {problem}");
    }
    let progress = spinner(options.progress);
    let api = RelayApi::new(&account.relay)?;
    let deadline = Instant::now() + options.timeout;
    let mut backoff = reconnect::Backoff::default();
    let outcome = loop {
        progress.set_message(format!("connecting to {}", api.base()));
        let attempt = async {
            let tokens = fresh_tokens(replica, &mut account).await?;
            connect(&api, &tokens.access_token).await
        };
        let socket = match attempt.await {
            Ok(socket) => socket,
            Err(SyncError::Unreachable(m)) if options.watch => {
                let delay = backoff.next_delay(rand_unit());
                progress.println(format!("lifeos: {m}; trying again in {delay:?}"));
                if wait_or_interrupt(delay).await {
                    break Ok(());
                }
                continue;
            }
            Err(e) => break Err(e),
        };
        backoff.reset();
        let ended = exchange(
            replica,
            &mut engine,
            socket,
            &peer,
            options,
            deadline,
            &progress,
        )
        .await;
        engine.disconnected();
        match ended {
            Ok(Ended::Settled | Ended::Interrupted) => break Ok(()),
            Ok(Ended::Dropped(why)) if options.watch => {
                let delay = backoff.next_delay(rand_unit());
                progress.println(format!("lifeos: {why}; reconnecting in {delay:?}"));
                if wait_or_interrupt(delay).await {
                    break Ok(());
                }
            }
            Ok(Ended::Dropped(why)) => break Err(SyncError::Unreachable(why)),
            Err(e) => break Err(e),
        }
    };
    progress.finish_and_clear();
    // Whatever arrived is kept, even when the sync did not complete.
    let session = replica.session()?;
    engine.persist(&session)?;
    if outcome.is_ok() {
        session.set_meta(keys::LAST_SYNC, &crate::now().as_millis().to_string())?;
    }
    let (_, pending) = pending(&session)?;
    session.commit()?;
    outcome?;
    let (documents, received) = engine.counts();
    let duplicates = engine.duplicates();
    Ok(SyncReport {
        relay: account.relay,
        documents,
        received,
        pending,
        problems: engine.problems,
        duplicates,
    })
}

/// One connection: handshake, then messages until settled (one-off), the
/// deadline, an interruption or a drop.
async fn exchange(
    replica: &mut Replica,
    engine: &mut Engine,
    mut socket: Socket,
    peer: &PeerId,
    options: &SyncOptions,
    deadline: Instant,
    progress: &ProgressBar,
) -> Result<Ended, SyncError> {
    let metadata = PeerMetadata {
        storage_id: None,
        is_ephemeral: false,
    };
    let (mut connection, join) = ClientConnection::start(peer.clone(), metadata, DEFAULT_MAX_FRAME);
    let dropped = |e: tungstenite::Error| Ended::Dropped(format!("the connection dropped ({e})"));
    if let Err(e) = socket.send(tungstenite::Message::Binary(join.into())).await {
        return Ok(dropped(e));
    }
    progress.set_message("syncing");
    // Edits other commands made while this process was not connected (a
    // `sync --watch` waiting to reconnect): merged now, announced on join.
    {
        let session = replica.session()?;
        engine.persist(&session)?;
        session.commit()?;
    }
    let mut last_save = Instant::now();
    let mut version = replica.data_version()?;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    let mut last_message = Instant::now();
    let mut heard = false;
    loop {
        let step = tokio::select! {
            frame = socket.next() => Step::Frame(frame),
            _ = tick.tick() => Step::Tick,
            _ = &mut interrupt => Step::Interrupt,
        };
        let frame = match step {
            Step::Frame(Some(frame)) => Some(frame),
            Step::Frame(None) => return Ok(Ended::Dropped("the connection closed".into())),
            Step::Tick => None,
            Step::Interrupt => {
                let _ = socket.close(None).await;
                return Ok(Ended::Interrupted);
            }
        };
        let mut outgoing = Vec::new();
        match frame {
            Some(Ok(tungstenite::Message::Binary(bytes))) => {
                last_message = Instant::now();
                match connection.receive(&bytes) {
                    Ok(events) => {
                        for event in events {
                            match event {
                                Event::Send(f) => {
                                    if let Err(e) =
                                        socket.send(tungstenite::Message::Binary(f.into())).await
                                    {
                                        return Ok(dropped(e));
                                    }
                                }
                                Event::Joined { peer, .. } => {
                                    outgoing.extend(engine.connected(peer, crate::now()));
                                }
                                Event::Document(m) => {
                                    outgoing.extend(engine.receive(&m, crate::now()));
                                    heard = true;
                                }
                                Event::Close { reason } => {
                                    return Ok(Ended::Dropped(format!(
                                        "the relay ended the connection ({reason})"
                                    )));
                                }
                                Event::Ignored { .. } => {}
                            }
                        }
                    }
                    Err(violation) => {
                        return Ok(Ended::Dropped(format!(
                            "the relay sent something this client does not understand ({violation})"
                        )));
                    }
                }
            }
            Some(Ok(tungstenite::Message::Close(frame))) => {
                let code = frame.as_ref().map(|f| u16::from(f.code));
                return match reconnect::after_close(code) {
                    reconnect::AfterClose::Stop => Ok(Ended::Interrupted),
                    _ => Ok(Ended::Dropped(match frame {
                        Some(f) => {
                            format!("the relay closed the connection ({}: {})", f.code, f.reason)
                        }
                        None => "the relay closed the connection".into(),
                    })),
                };
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Ok(dropped(e)),
            None => {}
        }
        let (documents, received) = engine.counts();
        progress.set_message(format!(
            "syncing: {documents} documents, {received} updated"
        ));
        // Edits other `lifeos` commands committed while this one runs.
        let now_version = replica.data_version()?;
        let edited_elsewhere = now_version != version;
        if (engine.unsaved && last_save.elapsed() >= SAVE_EVERY) || edited_elsewhere {
            let session = replica.session()?;
            outgoing.extend(engine.persist(&session)?);
            session.commit()?;
            version = replica.data_version()?;
            last_save = Instant::now();
            heard = false;
        } else if heard && options.watch && last_message.elapsed() >= QUIET {
            // Acknowledgements only: record them once the relay went quiet.
            let session = replica.session()?;
            engine.write_confirmed(&session)?;
            session.commit()?;
            heard = false;
        }
        if let Err(e) = send_all(&mut socket, outgoing).await {
            return Ok(dropped(e));
        }
        if !options.watch {
            if last_message.elapsed() >= QUIET && engine.settled() {
                let _ = socket.close(None).await;
                return Ok(Ended::Settled);
            }
            if Instant::now() >= deadline {
                let _ = socket.close(None).await;
                let pending = engine.unconfirmed();
                return Err(SyncError::Unreachable(format!(
                    "the sync did not finish within {} s ({pending} changes not confirmed by the relay yet)",
                    options.timeout.as_secs()
                )));
            }
        }
    }
}

/// What woke the connection loop.
enum Step {
    Frame(Option<Result<tungstenite::Message, tungstenite::Error>>),
    Tick,
    Interrupt,
}

/// Waits `delay`; `true` when interrupted meanwhile.
async fn wait_or_interrupt(delay: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(delay) => false,
        _ = tokio::signal::ctrl_c() => true,
    }
}

/// 64 random bits (std's per-process random hash keys; enough for ids of
/// connections and for jitter, never for secrets).
fn random_bits() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(crate::now().as_millis().unsigned_abs().into());
    h.finish()
}

/// `n` (at most 16) random hex digits.
fn random_hex(n: usize) -> String {
    let hex = format!("{:016x}", random_bits());
    hex[..n.min(16)].to_string()
}

/// A number in [0, 1) for backoff jitter.
fn rand_unit() -> f64 {
    (random_bits() >> 11) as f64 / (1u64 << 53) as f64
}

fn spinner(show: bool) -> ProgressBar {
    let target = if show && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// The changes of each document the relay has not confirmed storing, from
/// the replica alone (for `status`): `(documents, pending changes)`.
pub fn pending(session: &Session<'_>) -> Result<(usize, usize), SyncError> {
    let loaded = session.load()?;
    let documents = loaded.documents.len();
    let mut pending = 0;
    for (id, mut stored) in loaded.documents {
        let confirmed: Vec<_> = session
            .confirmed(id)?
            .into_iter()
            .filter(|h| stored.doc.get_change_by_hash(h).is_some())
            .collect();
        pending += stored.doc.get_changes(&confirmed).len();
    }
    Ok((documents, pending))
}
