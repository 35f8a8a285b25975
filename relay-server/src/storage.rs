//! Durable storage behind one interface, with one implementation per
//! backend: SQLite (rusqlite; the default, one file, no server) and Postgres
//! (sqlx; for real deployments and several relays on one database). The same
//! test suite runs against both (`tests/api`).

mod postgres;
pub mod security;
mod sqlite;

use std::future::Future;

use lifeos_core::DocumentId;
use tokio::sync::mpsc;
use uuid::Uuid;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// SQLite's migrations, in order.
#[cfg(test)]
pub(crate) fn sqlite_migrations() -> &'static [(i64, &'static str)] {
    sqlite::migrations()
}

use crate::config::DatabaseUrl;
use crate::error::StartupError;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database does not answer (down, unreachable, locked too long).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The document belongs to another user.
    #[error("document belongs to another user")]
    NotOwner,
    /// Anything else; a bug or corrupt data.
    #[error("database error: {0}")]
    Other(String),
}

/// A user account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The account id.
    pub id: Uuid,
    /// Lower-cased email.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// Disabled accounts cannot log in or use tokens.
    pub disabled: bool,
    /// The session generation: access tokens of older generations are refused.
    pub session_epoch: i64,
}

/// One audit event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    /// Increasing id; the pagination cursor.
    pub id: i64,
    /// Whose account it concerns, if known.
    pub user: Option<Uuid>,
    /// What happened (`register`, `login`, `login_failed`, ...).
    pub action: String,
    /// When, milliseconds since the epoch.
    pub at: i64,
    /// The client address.
    pub ip: Option<String>,
    /// Extra facts, a JSON object.
    pub detail: serde_json::Value,
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// It was valid; it is now used and its successor stored.
    Rotated {
        /// Whose token it was.
        user: Uuid,
        /// The session (the login, the token's family) it belongs to.
        session: Uuid,
    },
    /// It had been used (rotated) before, which only a copy of it can do:
    /// every token of that login is now revoked.
    Reused {
        /// Whose token it was.
        user: Uuid,
    },
    /// Unknown, expired or revoked.
    Invalid,
}

/// What claiming an idempotency key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyClaim {
    /// The key is new (or its earlier request was abandoned): go ahead.
    Claimed,
    /// A request with this key is being handled right now.
    InProgress {
        /// Whether it is the same request.
        same_request: bool,
    },
    /// A request with this key was answered.
    Answered {
        /// Whether it is the same request.
        same_request: bool,
        /// The answer's status.
        status: u16,
        /// Its `Location` header.
        location: Option<String>,
        /// Its JSON body.
        body: String,
    },
}

/// A document as stored: its latest snapshot and the changes logged after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    /// The user who first stored it.
    pub owner: Uuid,
    /// The compacted state, if compaction ever ran.
    pub snapshot: Option<Vec<u8>>,
    /// The log's sequence number that the snapshot includes.
    pub snapshot_seq: i64,
    /// The changes after the snapshot, in log order (each as `Change::bytes`).
    pub changes: Vec<Vec<u8>>,
    /// The sequence number of the last change.
    pub last_seq: i64,
}

impl StoredDocument {
    /// Whether nothing was ever stored in it (a reserved document).
    pub fn is_empty(&self) -> bool {
        self.snapshot.is_none() && self.changes.is_empty()
    }

    /// The document as one byte string that `AutoCommit::load` reads: the
    /// snapshot followed by the logged change chunks. `None` when empty.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        if self.is_empty() {
            return None;
        }
        let len = self.snapshot.as_ref().map_or(0, Vec::len)
            + self.changes.iter().map(Vec::len).sum::<usize>();
        let mut out = Vec::with_capacity(len);
        if let Some(snapshot) = &self.snapshot {
            out.extend_from_slice(snapshot);
        }
        for change in &self.changes {
            out.extend_from_slice(change);
        }
        Some(out)
    }
}

/// What an append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The document had no content before (its first changes were stored now).
    pub created: bool,
    /// How many of the changes were new (the others were stored already).
    pub inserted: usize,
    /// The log's sequence number before the append.
    pub previous_seq: i64,
    /// The log's sequence number after the append.
    pub last_seq: i64,
    /// How many changes the log holds after the snapshot.
    pub since_snapshot: i64,
}

/// The documents' side of storage: a change log plus snapshots per document.
pub trait DocumentStore: Send + Sync {
    /// Creates the document row for `owner` if there is none (a user's root
    /// document is reserved at registration, so nobody else can claim its id).
    fn reserve_document(
        &self,
        id: DocumentId,
        owner: Uuid,
        now: i64,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Who owns the document, if it exists.
    fn document_owner(
        &self,
        id: DocumentId,
    ) -> impl Future<Output = Result<Option<Uuid>, StorageError>> + Send;
    /// The stored document.
    fn load_document(
        &self,
        id: DocumentId,
    ) -> impl Future<Output = Result<Option<StoredDocument>, StorageError>> + Send;
    /// What was stored after log sequence number `after`: the changes logged
    /// since, in log order, or, when compaction folded some of those into the
    /// snapshot, the snapshot and the changes after it (`snapshot_seq` then
    /// says which). Other relays on the same database catch up with it.
    fn changes_since(
        &self,
        id: DocumentId,
        after: i64,
    ) -> impl Future<Output = Result<Option<StoredDocument>, StorageError>> + Send;
    /// The last log sequence number of each of `ids` that exists.
    fn document_seqs(
        &self,
        ids: Vec<DocumentId>,
    ) -> impl Future<Output = Result<Vec<(DocumentId, i64)>, StorageError>> + Send;
    /// Appends changes (hash, bytes) to the document's log in one transaction,
    /// creating the document for `creator` if it does not exist. Changes whose
    /// hash is stored already are skipped. Fails with
    /// [`StorageError::NotOwner`] if the document exists and `creator` is
    /// neither its owner nor `None`.
    fn append_changes(
        &self,
        id: DocumentId,
        creator: Option<Uuid>,
        changes: Vec<(Vec<u8>, Vec<u8>)>,
        now: i64,
    ) -> impl Future<Output = Result<Appended, StorageError>> + Send;
    /// Replaces the snapshot with `snapshot`, which holds every change up to
    /// `up_to_seq`, and deletes those changes from the log, atomically; only
    /// if the snapshot is still the one at `expected_snapshot_seq` (another
    /// compaction did not win). Changes appended meanwhile have higher
    /// numbers and stay. Returns whether it replaced the snapshot.
    fn replace_snapshot(
        &self,
        id: DocumentId,
        snapshot: Vec<u8>,
        expected_snapshot_seq: i64,
        up_to_seq: i64,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;
}

/// What every backend provides.
pub trait Storage: Send + Sync {
    /// Stores a new account; `false` when the email is taken.
    fn create_user(
        &self,
        user: &UserRecord,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;
    /// The account with this (lower-cased) email.
    fn user_by_email(
        &self,
        email: &str,
    ) -> impl Future<Output = Result<Option<UserRecord>, StorageError>> + Send;
    /// The account with this id.
    fn user_by_id(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Option<UserRecord>, StorageError>> + Send;
    /// Stores a refresh token hash, the first of login `family`.
    fn insert_refresh_token(
        &self,
        hash: [u8; 32],
        user: Uuid,
        family: Uuid,
        now: i64,
        expires: i64,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Uses refresh token `old` and stores `new` in its family, atomically; a
    /// token used twice revokes its whole family.
    fn rotate_refresh_token(
        &self,
        old: [u8; 32],
        new: [u8; 32],
        now: i64,
        expires: i64,
    ) -> impl Future<Output = Result<RefreshOutcome, StorageError>> + Send;
    /// Revokes the family (the login) of refresh token `hash`; returns its user, if the token exists.
    fn revoke_refresh_family(
        &self,
        hash: [u8; 32],
        now: i64,
    ) -> impl Future<Output = Result<Option<Uuid>, StorageError>> + Send;
    /// Every account, oldest first.
    fn list_users(&self) -> impl Future<Output = Result<Vec<UserRecord>, StorageError>> + Send;
    /// Disables (or re-enables) an account; disabling also revokes its refresh
    /// tokens. Returns whether the account exists.
    fn set_disabled(
        &self,
        user: Uuid,
        disabled: bool,
        now: i64,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;
    /// Stores a password-reset token hash for `user`, valid until `expires`.
    fn create_password_reset(
        &self,
        hash: [u8; 32],
        user: Uuid,
        now: i64,
        expires: i64,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Sets `user`'s password to `password_hash` if reset token `hash` is
    /// valid (known, unused, unexpired), marks it used and revokes every
    /// refresh token of the user, all in one transaction. Returns the user.
    fn reset_password(
        &self,
        hash: [u8; 32],
        password_hash: &str,
        now: i64,
    ) -> impl Future<Output = Result<Option<Uuid>, StorageError>> + Send;
    /// Moves the user's session generation on and revokes every refresh
    /// token (logout everywhere). Returns whether the account exists.
    fn revoke_all_sessions(
        &self,
        user: Uuid,
        now: i64,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;
    /// Sets a new password hash and ends every session, in one transaction.
    fn change_password(
        &self,
        user: Uuid,
        password_hash: &str,
        now: i64,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Deletes audit events older than `before`; returns how many.
    fn prune_audit(&self, before: i64) -> impl Future<Output = Result<u64, StorageError>> + Send;
    /// Records an audit event.
    fn record_audit(
        &self,
        user: Option<Uuid>,
        action: &str,
        at: i64,
        ip: Option<&str>,
        detail: &serde_json::Value,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// A user's events, newest first, with ids below `before` (all when `None`), at most `limit`.
    fn audit_page(
        &self,
        user: Uuid,
        before: Option<i64>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditEvent>, StorageError>> + Send;

    /// Claims `user`'s idempotency `key` for a request whose content hashes
    /// to `hash`, atomically (two relays racing get one claim). A claim
    /// still unanswered from before `stale_before` counts as abandoned and is
    /// taken over; keys of `user` older than `expire_before` are deleted.
    fn claim_idempotency_key(
        &self,
        user: Uuid,
        key: &str,
        hash: &[u8],
        now: i64,
        stale_before: i64,
        expire_before: i64,
    ) -> impl Future<Output = Result<KeyClaim, StorageError>> + Send;
    /// Keeps the answer to the request that claimed `key`.
    fn answer_idempotency_key(
        &self,
        user: Uuid,
        key: &str,
        status: u16,
        location: Option<&str>,
        body: &str,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Gives up a claim whose request changed nothing, so a retry may run.
    fn release_idempotency_key(
        &self,
        user: Uuid,
        key: &str,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Applies the migrations the database has not seen yet (idempotent; safe
    /// when several relays start at once).
    fn migrate(&self) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Checks that the database answers.
    fn ping(&self) -> impl Future<Output = Result<(), StorageError>> + Send;
}

/// The configured backend.
#[derive(Clone)]
pub enum Store {
    /// SQLite file.
    Sqlite(SqliteStore),
    /// Postgres pool.
    Postgres(PostgresStore),
}

impl Store {
    /// Opens the database named by `url` (creating an SQLite file and its directory if needed).
    pub async fn open(url: &DatabaseUrl) -> Result<Self, StartupError> {
        Ok(match url {
            DatabaseUrl::Sqlite(path) => Store::Sqlite(SqliteStore::open(path).await?),
            DatabaseUrl::Postgres(url) => Store::Postgres(PostgresStore::connect(url).await?),
        })
    }

    /// The backend's name, for logs.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// The database connections, for metrics.
    pub fn pool_state(&self) -> PoolState {
        match self {
            Store::Sqlite(s) => s.pool_state(),
            Store::Postgres(s) => s.pool_state(),
        }
    }

    /// What other relays sharing this database say, as they say it: `None`
    /// for SQLite, whose file belongs to one relay process. For Postgres a
    /// task listens (`LISTEN`) on its own connection until the receiver is
    /// dropped.
    pub fn notices(&self) -> Option<mpsc::Receiver<Notice>> {
        match self {
            Store::Sqlite(_) => None,
            Store::Postgres(s) => Some(s.listen()),
        }
    }
}

/// The database connections of the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolState {
    /// Connections open.
    pub open: u32,
    /// Of those, waiting for work.
    pub idle: u32,
    /// The most the relay opens.
    pub max: u32,
}

/// What another relay on the same database announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// A relay (this one too: notifications arrive in commit order, which
    /// keeps every relay's position in the log contiguous) stored changes
    /// of this document: the log went from `previous_seq` to `last_seq`.
    Changed {
        /// The document.
        document: DocumentId,
        /// The log's last sequence number before that append.
        previous_seq: i64,
        /// The log's last sequence number after that append.
        last_seq: i64,
        /// The appended changes (concatenated change chunks), unless too
        /// large for a notification: then they are read from the log.
        changes: Option<Vec<u8>>,
        /// This relay made the append (it has the changes already).
        own: bool,
    },
    /// Another relay ended this account's sessions (password change, reset, logout
    /// everywhere, disabled by an operator).
    SessionsEnded(Uuid),
    /// The listening connection was (re)established: anything announced
    /// while it was down is unknown, so catch up on everything.
    Missed,
}

/// Calls the same method on whichever backend is configured.
macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            Store::Sqlite($s) => $call.await,
            Store::Postgres($s) => $call.await,
        }
    };
}

impl Storage for Store {
    async fn create_user(&self, user: &UserRecord) -> Result<bool, StorageError> {
        delegate!(self, s => s.create_user(user))
    }
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StorageError> {
        delegate!(self, s => s.user_by_email(email))
    }
    async fn user_by_id(&self, id: Uuid) -> Result<Option<UserRecord>, StorageError> {
        delegate!(self, s => s.user_by_id(id))
    }
    async fn insert_refresh_token(
        &self,
        hash: [u8; 32],
        user: Uuid,
        family: Uuid,
        now: i64,
        expires: i64,
    ) -> Result<(), StorageError> {
        delegate!(self, s => s.insert_refresh_token(hash, user, family, now, expires))
    }
    async fn rotate_refresh_token(
        &self,
        old: [u8; 32],
        new: [u8; 32],
        now: i64,
        expires: i64,
    ) -> Result<RefreshOutcome, StorageError> {
        delegate!(self, s => s.rotate_refresh_token(old, new, now, expires))
    }
    async fn revoke_refresh_family(
        &self,
        hash: [u8; 32],
        now: i64,
    ) -> Result<Option<Uuid>, StorageError> {
        delegate!(self, s => s.revoke_refresh_family(hash, now))
    }
    async fn list_users(&self) -> Result<Vec<UserRecord>, StorageError> {
        delegate!(self, s => s.list_users())
    }
    async fn set_disabled(
        &self,
        user: Uuid,
        disabled: bool,
        now: i64,
    ) -> Result<bool, StorageError> {
        delegate!(self, s => s.set_disabled(user, disabled, now))
    }
    async fn create_password_reset(
        &self,
        hash: [u8; 32],
        user: Uuid,
        now: i64,
        expires: i64,
    ) -> Result<(), StorageError> {
        delegate!(self, s => s.create_password_reset(hash, user, now, expires))
    }
    async fn reset_password(
        &self,
        hash: [u8; 32],
        password_hash: &str,
        now: i64,
    ) -> Result<Option<Uuid>, StorageError> {
        delegate!(self, s => s.reset_password(hash, password_hash, now))
    }
    async fn record_audit(
        &self,
        user: Option<Uuid>,
        action: &str,
        at: i64,
        ip: Option<&str>,
        detail: &serde_json::Value,
    ) -> Result<(), StorageError> {
        delegate!(self, s => s.record_audit(user, action, at, ip, detail))
    }
    async fn audit_page(
        &self,
        user: Uuid,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StorageError> {
        delegate!(self, s => s.audit_page(user, before, limit))
    }
    async fn revoke_all_sessions(&self, user: Uuid, now: i64) -> Result<bool, StorageError> {
        delegate!(self, s => s.revoke_all_sessions(user, now))
    }
    async fn change_password(
        &self,
        user: Uuid,
        password_hash: &str,
        now: i64,
    ) -> Result<(), StorageError> {
        delegate!(self, s => s.change_password(user, password_hash, now))
    }
    async fn prune_audit(&self, before: i64) -> Result<u64, StorageError> {
        delegate!(self, s => s.prune_audit(before))
    }
    async fn claim_idempotency_key(
        &self,
        user: Uuid,
        key: &str,
        hash: &[u8],
        now: i64,
        stale_before: i64,
        expire_before: i64,
    ) -> Result<KeyClaim, StorageError> {
        delegate!(self, s => s.claim_idempotency_key(user, key, hash, now, stale_before, expire_before))
    }
    async fn answer_idempotency_key(
        &self,
        user: Uuid,
        key: &str,
        status: u16,
        location: Option<&str>,
        body: &str,
    ) -> Result<(), StorageError> {
        delegate!(self, s => s.answer_idempotency_key(user, key, status, location, body))
    }
    async fn release_idempotency_key(&self, user: Uuid, key: &str) -> Result<(), StorageError> {
        delegate!(self, s => s.release_idempotency_key(user, key))
    }
    async fn migrate(&self) -> Result<(), StorageError> {
        delegate!(self, s => s.migrate())
    }
    async fn ping(&self) -> Result<(), StorageError> {
        delegate!(self, s => s.ping())
    }
}

impl DocumentStore for Store {
    async fn reserve_document(
        &self,
        id: DocumentId,
        owner: Uuid,
        now: i64,
    ) -> Result<(), StorageError> {
        delegate!(self, s => s.reserve_document(id, owner, now))
    }
    async fn document_owner(&self, id: DocumentId) -> Result<Option<Uuid>, StorageError> {
        delegate!(self, s => s.document_owner(id))
    }
    async fn load_document(&self, id: DocumentId) -> Result<Option<StoredDocument>, StorageError> {
        delegate!(self, s => s.load_document(id))
    }
    async fn changes_since(
        &self,
        id: DocumentId,
        after: i64,
    ) -> Result<Option<StoredDocument>, StorageError> {
        delegate!(self, s => s.changes_since(id, after))
    }
    async fn document_seqs(
        &self,
        ids: Vec<DocumentId>,
    ) -> Result<Vec<(DocumentId, i64)>, StorageError> {
        delegate!(self, s => s.document_seqs(ids))
    }
    async fn append_changes(
        &self,
        id: DocumentId,
        creator: Option<Uuid>,
        changes: Vec<(Vec<u8>, Vec<u8>)>,
        now: i64,
    ) -> Result<Appended, StorageError> {
        delegate!(self, s => s.append_changes(id, creator, changes, now))
    }
    async fn replace_snapshot(
        &self,
        id: DocumentId,
        snapshot: Vec<u8>,
        expected_snapshot_seq: i64,
        up_to_seq: i64,
    ) -> Result<bool, StorageError> {
        delegate!(self, s => s.replace_snapshot(id, snapshot, expected_snapshot_seq, up_to_seq))
    }
}

/// Folds a document's change log into a new snapshot: reads the snapshot and
/// the log, loads them, saves the whole document, and swaps it in for the
/// changes it holds. Changes appended meanwhile have higher sequence numbers
/// and stay in the log; a concurrent compaction makes this one a no-op.
/// Returns whether it replaced the snapshot.
pub async fn compact_document<S: DocumentStore>(
    store: &S,
    id: DocumentId,
) -> Result<bool, StorageError> {
    let Some(stored) = store.load_document(id).await? else {
        return Ok(false);
    };
    if stored.changes.is_empty() || (stored.changes.len() < 2 && stored.snapshot.is_some()) {
        return Ok(false);
    }
    let Some(bytes) = stored.bytes() else {
        return Ok(false);
    };
    let snapshot = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, StorageError> {
        let mut doc = automerge::AutoCommit::load(&bytes)
            .map_err(|e| StorageError::Other(format!("document {id} does not load: {e}")))?;
        // A change whose dependencies are not stored would be dropped by save():
        // keep the log as it is rather than lose it.
        if !doc.get_missing_deps(&[]).is_empty() {
            return Err(StorageError::Other(format!(
                "document {id}: the log has changes with missing dependencies"
            )));
        }
        Ok(doc.save())
    })
    .await
    .map_err(|e| StorageError::Other(e.to_string()))??;
    store
        .replace_snapshot(id, snapshot, stored.snapshot_seq, stored.last_seq)
        .await
}
