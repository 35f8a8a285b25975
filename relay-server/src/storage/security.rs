//! The account-security side of storage: signed-in sessions and the second
//! factor (TOTP, recovery codes, the pending second step of a login), one
//! trait with an implementation per backend like [`super::Storage`].
//!
//! Every check-and-change here is one statement or one transaction, so
//! several relays on one database agree: a TOTP step is accepted once
//! (`last_step` only moves forward), a recovery code or a login's second
//! step is used once, and the fifth wrong code kills the step for every relay.

use std::future::Future;

use uuid::Uuid;

use super::{StorageError, Store};

/// One signed-in session (a login and its refresh-token family).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session id (the refresh-token family).
    pub id: Uuid,
    /// Whose it is.
    pub user: Uuid,
    /// When it signed in, milliseconds since the epoch.
    pub created_at: i64,
    /// Its last sign-in or token refresh.
    pub last_used_at: i64,
    /// The device's `User-Agent`, bounded.
    pub user_agent: Option<String>,
    /// The client address, as the audit log records it.
    pub ip: Option<String>,
}

/// A user's TOTP enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpRecord {
    /// The shared secret.
    pub secret: Vec<u8>,
    /// Whether a first code confirmed it (until then it is not asked for).
    pub confirmed: bool,
    /// The time step of the last accepted code (-1 for none).
    pub last_step: i64,
}

/// What presenting a login's second-step token found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge {
    /// Live: unused, unexpired, fewer than the allowed wrong codes.
    Live {
        /// Whose login it is.
        user: Uuid,
    },
    /// Dead from too many wrong codes (and not used or expired otherwise).
    Exhausted,
    /// Unknown, used or expired.
    Dead,
}

/// What a sync ticket grants: the authority of the access token it was
/// made with, for one WebSocket upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncTicket {
    /// Whose.
    pub user: Uuid,
    /// The access token's session generation.
    pub generation: i64,
    /// The access token's session.
    pub session: Option<Uuid>,
    /// When the access token expires, seconds since the epoch.
    pub token_expires_at: i64,
}

/// Sessions and second factors.
pub trait SecurityStore: Send + Sync {
    /// Records a new session (called as its first refresh token is stored).
    fn start_session(
        &self,
        session: &SessionRecord,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Marks a session used now (a token refresh), from this device and address.
    fn touch_session(
        &self,
        id: Uuid,
        now: i64,
        user_agent: Option<String>,
        ip: Option<String>,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// The user's live sessions, most recently used first.
    fn sessions_of(
        &self,
        user: Uuid,
        now: i64,
    ) -> impl Future<Output = Result<Vec<SessionRecord>, StorageError>> + Send;
    /// Whether session `id` of `user` is alive.
    fn session_alive(
        &self,
        user: Uuid,
        id: Uuid,
        now: i64,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;
    /// Which of `ids` (sessions of `user`) are no longer alive.
    fn ended_sessions(
        &self,
        user: Uuid,
        ids: Vec<Uuid>,
        now: i64,
    ) -> impl Future<Output = Result<Vec<Uuid>, StorageError>> + Send;
    /// Ends session `id` of `user` (revokes its refresh tokens, and tells
    /// the other relays). Returns whether a live session was ended.
    fn end_session(
        &self,
        user: Uuid,
        id: Uuid,
        now: i64,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;

    /// The user's TOTP enrolment, confirmed or pending.
    fn totp(
        &self,
        user: Uuid,
    ) -> impl Future<Output = Result<Option<TotpRecord>, StorageError>> + Send;
    /// Starts (or restarts) a pending enrolment with `secret`; `false` when
    /// a confirmed one exists.
    fn begin_totp(
        &self,
        user: Uuid,
        secret: Vec<u8>,
        now: i64,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;
    /// Confirms the pending enrolment, whose first code was of time step
    /// `step`, and replaces the recovery codes with `codes` (their hashes),
    /// in one transaction. `false` when none was pending.
    fn confirm_totp(
        &self,
        user: Uuid,
        step: i64,
        codes: Vec<[u8; 32]>,
        now: i64,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;
    /// Accepts a code of time step `step` if no code of that step or a
    /// later one was accepted before (the replay guard); `false` otherwise.
    fn accept_totp_step(
        &self,
        user: Uuid,
        step: i64,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;
    /// Uses recovery code `hash`; `false` if it is unknown or used.
    fn use_recovery_code(
        &self,
        user: Uuid,
        hash: [u8; 32],
        now: i64,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;
    /// How many unused recovery codes the user has.
    fn recovery_codes_left(
        &self,
        user: Uuid,
    ) -> impl Future<Output = Result<u32, StorageError>> + Send;
    /// Removes the second factor: the enrolment and every recovery code.
    fn remove_totp(&self, user: Uuid) -> impl Future<Output = Result<(), StorageError>> + Send;

    /// Stores the second-step token (`hash`) of a login whose password was right.
    fn create_challenge(
        &self,
        hash: [u8; 32],
        user: Uuid,
        now: i64,
        expires: i64,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// What the second-step token `hash` is now.
    fn challenge(
        &self,
        hash: [u8; 32],
        now: i64,
    ) -> impl Future<Output = Result<Challenge, StorageError>> + Send;
    /// Counts a wrong code against the token; returns the wrong codes so far.
    fn fail_challenge(
        &self,
        hash: [u8; 32],
    ) -> impl Future<Output = Result<i64, StorageError>> + Send;
    /// Uses the token (once); `false` if it was not live any more.
    fn use_challenge(
        &self,
        hash: [u8; 32],
        now: i64,
    ) -> impl Future<Output = Result<bool, StorageError>> + Send;

    /// Stores sync ticket `hash`, valid until `expires` (milliseconds).
    fn create_sync_ticket(
        &self,
        hash: [u8; 32],
        ticket: SyncTicket,
        now: i64,
        expires: i64,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
    /// Takes sync ticket `hash`: what it grants if it is unused and
    /// unexpired, and it is gone either way (one statement, so two relays
    /// cannot both take it).
    fn take_sync_ticket(
        &self,
        hash: [u8; 32],
        now: i64,
    ) -> impl Future<Output = Result<Option<SyncTicket>, StorageError>> + Send;
}

/// Wrong codes after which a login's second step is dead (CONTRACT.md).
pub const MAX_CHALLENGE_FAILURES: i64 = 5;

/// Calls the same method on whichever backend is configured.
macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            Store::Sqlite($s) => $call.await,
            Store::Postgres($s) => $call.await,
        }
    };
}

impl SecurityStore for Store {
    async fn start_session(&self, session: &SessionRecord) -> Result<(), StorageError> {
        delegate!(self, s => s.start_session(session))
    }
    async fn touch_session(
        &self,
        id: Uuid,
        now: i64,
        user_agent: Option<String>,
        ip: Option<String>,
    ) -> Result<(), StorageError> {
        delegate!(self, s => s.touch_session(id, now, user_agent, ip))
    }
    async fn sessions_of(&self, user: Uuid, now: i64) -> Result<Vec<SessionRecord>, StorageError> {
        delegate!(self, s => s.sessions_of(user, now))
    }
    async fn session_alive(&self, user: Uuid, id: Uuid, now: i64) -> Result<bool, StorageError> {
        delegate!(self, s => s.session_alive(user, id, now))
    }
    async fn ended_sessions(
        &self,
        user: Uuid,
        ids: Vec<Uuid>,
        now: i64,
    ) -> Result<Vec<Uuid>, StorageError> {
        delegate!(self, s => s.ended_sessions(user, ids, now))
    }
    async fn end_session(&self, user: Uuid, id: Uuid, now: i64) -> Result<bool, StorageError> {
        delegate!(self, s => s.end_session(user, id, now))
    }
    async fn totp(&self, user: Uuid) -> Result<Option<TotpRecord>, StorageError> {
        delegate!(self, s => s.totp(user))
    }
    async fn begin_totp(
        &self,
        user: Uuid,
        secret: Vec<u8>,
        now: i64,
    ) -> Result<bool, StorageError> {
        delegate!(self, s => s.begin_totp(user, secret, now))
    }
    async fn confirm_totp(
        &self,
        user: Uuid,
        step: i64,
        codes: Vec<[u8; 32]>,
        now: i64,
    ) -> Result<bool, StorageError> {
        delegate!(self, s => s.confirm_totp(user, step, codes, now))
    }
    async fn accept_totp_step(&self, user: Uuid, step: i64) -> Result<bool, StorageError> {
        delegate!(self, s => s.accept_totp_step(user, step))
    }
    async fn use_recovery_code(
        &self,
        user: Uuid,
        hash: [u8; 32],
        now: i64,
    ) -> Result<bool, StorageError> {
        delegate!(self, s => s.use_recovery_code(user, hash, now))
    }
    async fn recovery_codes_left(&self, user: Uuid) -> Result<u32, StorageError> {
        delegate!(self, s => s.recovery_codes_left(user))
    }
    async fn remove_totp(&self, user: Uuid) -> Result<(), StorageError> {
        delegate!(self, s => s.remove_totp(user))
    }
    async fn create_challenge(
        &self,
        hash: [u8; 32],
        user: Uuid,
        now: i64,
        expires: i64,
    ) -> Result<(), StorageError> {
        delegate!(self, s => s.create_challenge(hash, user, now, expires))
    }
    async fn challenge(&self, hash: [u8; 32], now: i64) -> Result<Challenge, StorageError> {
        delegate!(self, s => s.challenge(hash, now))
    }
    async fn fail_challenge(&self, hash: [u8; 32]) -> Result<i64, StorageError> {
        delegate!(self, s => s.fail_challenge(hash))
    }
    async fn use_challenge(&self, hash: [u8; 32], now: i64) -> Result<bool, StorageError> {
        delegate!(self, s => s.use_challenge(hash, now))
    }
    async fn create_sync_ticket(
        &self,
        hash: [u8; 32],
        ticket: SyncTicket,
        now: i64,
        expires: i64,
    ) -> Result<(), StorageError> {
        delegate!(self, s => s.create_sync_ticket(hash, ticket, now, expires))
    }
    async fn take_sync_ticket(
        &self,
        hash: [u8; 32],
        now: i64,
    ) -> Result<Option<SyncTicket>, StorageError> {
        delegate!(self, s => s.take_sync_ticket(hash, now))
    }
}
