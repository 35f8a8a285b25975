//! The Postgres backend: an sqlx pool, migrations from `migrations/postgres`
//! (sqlx takes an advisory lock, so several relays may start at once).

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::mpsc;
use uuid::Uuid;

use lifeos_core::DocumentId;

use super::{
    Appended, AuditEvent, DocumentStore, KeyClaim, Notice, RefreshOutcome, Storage, StorageError,
    StoredDocument, UserRecord,
};
use crate::error::StartupError;

mod security;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// The channel on which relays announce stored changes:
/// `<instance> <document> <previous_seq> <last_seq> [<changes, base64>]`.
const CHANGES_CHANNEL: &str = "lifeos_changes";
/// Postgres refuses notification payloads of 8000 bytes or more; larger
/// batches are announced without their changes (read from the log instead).
const PAYLOAD_LIMIT: usize = 7900;
/// The channel on which relays announce ended sessions: `<instance> <user>`.
const SESSIONS_CHANNEL: &str = "lifeos_sessions";

/// A Postgres database.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// Names this process in its notifications, so it knows its own.
    instance: Uuid,
}

impl PostgresStore {
    /// Connects to `url`. Connections are made lazily, so the relay starts
    /// (and reports not ready) while the database is down.
    pub async fn connect(url: &str) -> Result<Self, StartupError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(3))
            .connect_lazy(url)
            .map_err(|e| StartupError::Database(format!("bad Postgres URL: {e}")))?;
        Ok(PostgresStore {
            pool,
            instance: Uuid::new_v4(),
        })
    }

    /// The pool, for the backup and restore commands.
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The pool's connections (the listener holds one of them).
    pub(super) fn pool_state(&self) -> super::PoolState {
        super::PoolState {
            open: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }

    /// Listens for other relays' notifications on a connection of its own
    /// (see [`super::Store::notices`]).
    pub(super) fn listen(&self) -> mpsc::Receiver<Notice> {
        let (tx, rx) = mpsc::channel(4096);
        tokio::spawn(listen(self.pool.clone(), self.instance, tx));
        rx
    }
}

/// Forwards notifications until `tx` closes. Reconnects with backoff after
/// a failure; every (re)connection sends [`Notice::Missed`] first, since
/// whatever was announced while it was down is lost.
async fn listen(pool: PgPool, instance: Uuid, tx: mpsc::Sender<Notice>) {
    let mut failures = 0u32;
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(e) => {
                failures += 1;
                tracing::warn!(error = %e, "cannot listen for other relays' changes; retrying");
                tokio::select! {
                    () = tokio::time::sleep(listen_backoff(failures)) => continue,
                    () = tx.closed() => return,
                }
            }
        };
        if let Err(e) = listener
            .listen_all([CHANGES_CHANNEL, SESSIONS_CHANNEL])
            .await
        {
            failures += 1;
            tracing::warn!(error = %e, "cannot listen for other relays' changes; retrying");
            tokio::select! {
                () = tokio::time::sleep(listen_backoff(failures)) => continue,
                () = tx.closed() => return,
            }
        }
        if failures > 0 {
            tracing::info!("listening for other relays' changes again");
        }
        failures = 0;
        if tx.send(Notice::Missed).await.is_err() {
            return;
        }
        loop {
            let received = tokio::select! {
                r = listener.try_recv() => r,
                () = tx.closed() => return,
            };
            let notice = match received {
                Ok(Some(n)) => parse_notice(n.channel(), n.payload(), instance),
                // The connection dropped; the next call reconnects and listens again.
                Ok(None) => Some(Notice::Missed),
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = %e, "lost the connection listening for other relays' changes");
                    break;
                }
            };
            if let Some(notice) = notice
                && tx.send(notice).await.is_err()
            {
                return;
            }
        }
        tokio::select! {
            () = tokio::time::sleep(listen_backoff(failures)) => {}
            () = tx.closed() => return,
        }
    }
}

fn listen_backoff(failures: u32) -> Duration {
    Duration::from_millis(200u64.saturating_mul(1 << failures.min(5))).min(Duration::from_secs(5))
}

/// The payload announcing an append of `changes` to `document`.
fn changes_payload(
    instance: Uuid,
    document: DocumentId,
    previous_seq: i64,
    last_seq: i64,
    changes: &[Vec<u8>],
) -> String {
    use base64::Engine as _;
    let head = format!("{instance} {document} {previous_seq} {last_seq}");
    let bytes: usize = changes.iter().map(Vec::len).sum();
    if head.len() + 1 + bytes.div_ceil(3) * 4 > PAYLOAD_LIMIT {
        return head;
    }
    let joined: Vec<u8> = changes.concat();
    format!(
        "{head} {}",
        base64::engine::general_purpose::STANDARD.encode(joined)
    )
}

/// A relay's notification; `None` for this relay's own session notices
/// and for anything malformed (logged: only relays write these channels).
fn parse_notice(channel: &str, payload: &str, instance: Uuid) -> Option<Notice> {
    use base64::Engine as _;
    let parse = || -> Option<Option<Notice>> {
        let mut parts = payload.split(' ');
        let from: Uuid = parts.next()?.parse().ok()?;
        let own = from == instance;
        Some(match channel {
            CHANGES_CHANNEL => {
                let document = parts.next()?.parse().ok()?;
                let previous_seq = parts.next()?.parse().ok()?;
                let last_seq = parts.next()?.parse().ok()?;
                let changes = match parts.next() {
                    Some(encoded) => Some(
                        base64::engine::general_purpose::STANDARD
                            .decode(encoded)
                            .ok()?,
                    ),
                    None => None,
                };
                Some(Notice::Changed {
                    document,
                    previous_seq,
                    last_seq,
                    changes: changes.filter(|_| !own),
                    own,
                })
            }
            // This relay closed its own connections already.
            SESSIONS_CHANNEL if own => None,
            SESSIONS_CHANNEL => Some(Notice::SessionsEnded(parts.next()?.parse().ok()?)),
            _ => return None,
        })
    };
    match parse() {
        Some(notice) => notice,
        None => {
            tracing::warn!(channel, "ignoring a malformed notification");
            None
        }
    }
}

type UserRow = (Uuid, String, String, i64, Option<i64>, i64);
/// id, action, at, ip, detail as JSON text.
type AuditRow = (i64, String, i64, Option<String>, String);
/// user_id, family_id, expires_at, used_at, revoked_at.
type TokenRow = (Uuid, Uuid, i64, Option<i64>, Option<i64>);

fn user_record(
    (id, email, password_hash, created_at, disabled_at, session_epoch): UserRow,
) -> UserRecord {
    UserRecord {
        id,
        email,
        password_hash,
        created_at,
        disabled: disabled_at.is_some(),
        session_epoch,
    }
}

/// Sends `payload` on `channel` when the transaction `tx` commits (nothing
/// if it rolls back): how relays sharing the database hear of each other's
/// writes and ended sessions.
async fn notify(
    tx: &mut sqlx::PgConnection,
    channel: &str,
    payload: &str,
) -> Result<(), StorageError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(channel)
        .bind(payload)
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
    Ok(())
}

/// Ends every session of `user` (password change or reset, account disabled,
/// logout everywhere): revokes its refresh tokens and moves its session
/// generation on, so its access tokens stop working. Returns whether the user exists.
async fn end_sessions(
    tx: &mut sqlx::PgConnection,
    instance: Uuid,
    user: Uuid,
    now: i64,
) -> Result<bool, StorageError> {
    // Delivered at commit: other relays close the account's live connections.
    notify(tx, SESSIONS_CHANNEL, &format!("{instance} {user}")).await?;
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user)
    .execute(&mut *tx)
    .await
    .map_err(storage_error)?;
    sqlx::query("UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1")
        .bind(user)
        .execute(&mut *tx)
        .await
        .map(|r| r.rows_affected() == 1)
        .map_err(storage_error)
}

/// owner_id, whether a snapshot exists, snapshot_seq, last_seq.
type DocumentRow = (Uuid, bool, i64, i64);

fn storage_error(e: sqlx::Error) -> StorageError {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            StorageError::Unavailable(e.to_string())
        }
        sqlx::Error::Database(ref db)
            if db
                .code()
                .is_some_and(|c| c.starts_with("57") || c.starts_with("08") || c == "3D000") =>
        {
            // Admin shutdown, connection exceptions, or the database is gone.
            StorageError::Unavailable(e.to_string())
        }
        other => StorageError::Other(other.to_string()),
    }
}

impl Storage for PostgresStore {
    async fn migrate(&self) -> Result<(), StorageError> {
        MIGRATOR.run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(inner) => storage_error(inner),
            other => StorageError::Other(other.to_string()),
        })
    }

    async fn create_user(&self, user: &UserRecord) -> Result<bool, StorageError> {
        let result = sqlx::query("INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO NOTHING")
            .bind(user.id)
            .bind(&user.email)
            .bind(&user.password_hash)
            .bind(user.created_at)
            .execute(&self.pool)
            .await
            .map_err(storage_error)?;
        Ok(result.rows_affected() == 1)
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StorageError> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT id, email, password_hash, created_at, disabled_at, session_epoch FROM users WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(row.map(user_record))
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<UserRecord>, StorageError> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT id, email, password_hash, created_at, disabled_at, session_epoch FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(row.map(user_record))
    }

    async fn insert_refresh_token(
        &self,
        hash: [u8; 32],
        user: Uuid,
        family: Uuid,
        now: i64,
        expires: i64,
    ) -> Result<(), StorageError> {
        sqlx::query("INSERT INTO refresh_tokens (token_hash, user_id, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(hash.as_slice())
            .bind(user)
            .bind(family)
            .bind(now)
            .bind(expires)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(storage_error)
    }

    async fn rotate_refresh_token(
        &self,
        old: [u8; 32],
        new: [u8; 32],
        now: i64,
        expires: i64,
    ) -> Result<RefreshOutcome, StorageError> {
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        // FOR UPDATE: two relays presenting the same token serialise here.
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT user_id, family_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
        )
        .bind(old.as_slice())
        .fetch_optional(&mut *tx)
        .await
        .map_err(storage_error)?;
        let Some((user, family, expires_at, used_at, revoked_at)) = row else {
            return Ok(RefreshOutcome::Invalid);
        };
        if revoked_at.is_some() {
            // Revoked by logout, a password reset or an earlier reuse: just invalid.
            return Ok(RefreshOutcome::Invalid);
        }
        if used_at.is_some() {
            sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(family)
                .execute(&mut *tx)
                .await
                .map_err(storage_error)?;
            tx.commit().await.map_err(storage_error)?;
            return Ok(RefreshOutcome::Reused { user });
        }
        if expires_at <= now {
            return Ok(RefreshOutcome::Invalid);
        }
        sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(old.as_slice())
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        sqlx::query("INSERT INTO refresh_tokens (token_hash, user_id, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(new.as_slice())
            .bind(user)
            .bind(family)
            .bind(now)
            .bind(expires)
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        tx.commit().await.map_err(storage_error)?;
        Ok(RefreshOutcome::Rotated {
            user,
            session: family,
        })
    }

    async fn revoke_refresh_family(
        &self,
        hash: [u8; 32],
        now: i64,
    ) -> Result<Option<Uuid>, StorageError> {
        let user: Option<Uuid> = sqlx::query_scalar(
            "WITH target AS (SELECT user_id, family_id FROM refresh_tokens WHERE token_hash = $2), \
             revoked AS (UPDATE refresh_tokens SET revoked_at = $1 \
                         WHERE revoked_at IS NULL AND family_id IN (SELECT family_id FROM target)) \
             SELECT user_id FROM target",
        )
        .bind(now)
        .bind(hash.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(user)
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StorageError> {
        let rows: Vec<UserRow> = sqlx::query_as("SELECT id, email, password_hash, created_at, disabled_at, session_epoch FROM users ORDER BY created_at, email")
            .fetch_all(&self.pool)
            .await
            .map_err(storage_error)?;
        Ok(rows.into_iter().map(user_record).collect())
    }

    async fn set_disabled(
        &self,
        user: Uuid,
        disabled: bool,
        now: i64,
    ) -> Result<bool, StorageError> {
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let changed = sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .bind(disabled.then_some(now))
            .bind(user)
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?
            .rows_affected();
        if disabled {
            end_sessions(&mut tx, self.instance, user, now).await?;
        }
        tx.commit().await.map_err(storage_error)?;
        Ok(changed == 1)
    }

    async fn create_password_reset(
        &self,
        hash: [u8; 32],
        user: Uuid,
        now: i64,
        expires: i64,
    ) -> Result<(), StorageError> {
        sqlx::query("INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(hash.as_slice())
            .bind(user)
            .bind(now)
            .bind(expires)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(storage_error)
    }

    async fn reset_password(
        &self,
        hash: [u8; 32],
        password_hash: &str,
        now: i64,
    ) -> Result<Option<Uuid>, StorageError> {
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let user: Option<Uuid> = sqlx::query_scalar(
            "UPDATE password_resets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
        )
        .bind(now)
        .bind(hash.as_slice())
        .fetch_optional(&mut *tx)
        .await
        .map_err(storage_error)?;
        let Some(user) = user else { return Ok(None) };
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user)
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        end_sessions(&mut tx, self.instance, user, now).await?;
        tx.commit().await.map_err(storage_error)?;
        Ok(Some(user))
    }

    async fn record_audit(
        &self,
        user: Option<Uuid>,
        action: &str,
        at: i64,
        ip: Option<&str>,
        detail: &serde_json::Value,
    ) -> Result<(), StorageError> {
        sqlx::query("INSERT INTO audit_events (user_id, action, at, ip, detail) VALUES ($1, $2, $3, $4, $5::jsonb)")
            .bind(user)
            .bind(action)
            .bind(at)
            .bind(ip)
            .bind(detail.to_string())
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(storage_error)
    }

    async fn audit_page(
        &self,
        user: Uuid,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StorageError> {
        let rows: Vec<AuditRow> =
            sqlx::query_as("SELECT id, action, at, ip, detail::text FROM audit_events WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3")
                .bind(user)
                .bind(before.unwrap_or(i64::MAX))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(storage_error)?;
        Ok(rows
            .into_iter()
            .map(|(id, action, at, ip, detail)| AuditEvent {
                id,
                user: Some(user),
                action,
                at,
                ip,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            })
            .collect())
    }

    async fn revoke_all_sessions(&self, user: Uuid, now: i64) -> Result<bool, StorageError> {
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let exists = end_sessions(&mut tx, self.instance, user, now).await?;
        tx.commit().await.map_err(storage_error)?;
        Ok(exists)
    }

    async fn change_password(
        &self,
        user: Uuid,
        password_hash: &str,
        now: i64,
    ) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user)
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        end_sessions(&mut tx, self.instance, user, now).await?;
        tx.commit().await.map_err(storage_error)
    }

    async fn prune_audit(&self, before: i64) -> Result<u64, StorageError> {
        sqlx::query("DELETE FROM audit_events WHERE at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .map(|r| r.rows_affected())
            .map_err(storage_error)
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
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND created_at < $2")
            .bind(user)
            .bind(expire_before)
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(user)
        .bind(key)
        .bind(hash)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?
        .rows_affected();
        let claim = if inserted == 1 {
            KeyClaim::Claimed
        } else {
            let (stored, status, location, body, at): (Vec<u8>, Option<i32>, Option<String>, Option<String>, i64) =
                sqlx::query_as(
                    "SELECT request_hash, status, location, body, created_at FROM idempotency_keys WHERE user_id = $1 AND key = $2 FOR UPDATE",
                )
                .bind(user)
                .bind(key)
                .fetch_one(&mut *tx)
                .await
                .map_err(storage_error)?;
            match status {
                None if at < stale_before => {
                    sqlx::query(
                        "UPDATE idempotency_keys SET request_hash = $3, created_at = $4 WHERE user_id = $1 AND key = $2",
                    )
                    .bind(user)
                    .bind(key)
                    .bind(hash)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(storage_error)?;
                    KeyClaim::Claimed
                }
                None => KeyClaim::InProgress {
                    same_request: stored == hash,
                },
                Some(status) => KeyClaim::Answered {
                    same_request: stored == hash,
                    status: u16::try_from(status).unwrap_or(500),
                    location,
                    body: body.unwrap_or_default(),
                },
            }
        };
        tx.commit().await.map_err(storage_error)?;
        Ok(claim)
    }

    async fn answer_idempotency_key(
        &self,
        user: Uuid,
        key: &str,
        status: u16,
        location: Option<&str>,
        body: &str,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $3, location = $4, body = $5 WHERE user_id = $1 AND key = $2",
        )
        .bind(user)
        .bind(key)
        .bind(i32::from(status))
        .bind(location)
        .bind(body)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(storage_error)
    }

    async fn release_idempotency_key(&self, user: Uuid, key: &str) -> Result<(), StorageError> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status IS NULL",
        )
        .bind(user)
        .bind(key)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(storage_error)
    }

    async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query_scalar::<_, i32>("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .map(|_| ())
            .map_err(storage_error)
    }
}

impl PostgresStore {
    /// The whole document (`after` is `None`), or what was logged after
    /// `after` (with the snapshot only if compaction folded some of that in).
    async fn read_document(
        &self,
        id: DocumentId,
        after: Option<i64>,
    ) -> Result<Option<StoredDocument>, StorageError> {
        // REPEATABLE READ: the snapshot and the log come from one consistent view.
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        let key = id.as_bytes().as_slice();
        let row: Option<(Uuid, i64, i64)> =
            sqlx::query_as("SELECT owner_id, snapshot_seq, last_seq FROM documents WHERE id = $1")
                .bind(key)
                .fetch_optional(&mut *tx)
                .await
                .map_err(storage_error)?;
        let Some((owner, snapshot_seq, last_seq)) = row else {
            return Ok(None);
        };
        let (snapshot, from) = match after {
            Some(after) if after >= snapshot_seq => (None, after),
            _ => {
                let snapshot: Option<Vec<u8>> =
                    sqlx::query_scalar("SELECT snapshot FROM documents WHERE id = $1")
                        .bind(key)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(storage_error)?;
                (snapshot, snapshot_seq)
            }
        };
        let changes: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT data FROM changes WHERE document_id = $1 AND seq > $2 ORDER BY seq",
        )
        .bind(key)
        .bind(from)
        .fetch_all(&mut *tx)
        .await
        .map_err(storage_error)?;
        tx.commit().await.map_err(storage_error)?;
        Ok(Some(StoredDocument {
            owner,
            snapshot,
            snapshot_seq: from,
            changes,
            last_seq,
        }))
    }
}

impl DocumentStore for PostgresStore {
    async fn reserve_document(
        &self,
        id: DocumentId,
        owner: Uuid,
        now: i64,
    ) -> Result<(), StorageError> {
        sqlx::query("INSERT INTO documents (id, owner_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
            .bind(id.as_bytes().as_slice())
            .bind(owner)
            .bind(now)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(storage_error)
    }

    async fn document_owner(&self, id: DocumentId) -> Result<Option<Uuid>, StorageError> {
        sqlx::query_scalar("SELECT owner_id FROM documents WHERE id = $1")
            .bind(id.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(storage_error)
    }

    async fn load_document(&self, id: DocumentId) -> Result<Option<StoredDocument>, StorageError> {
        self.read_document(id, None).await
    }

    async fn changes_since(
        &self,
        id: DocumentId,
        after: i64,
    ) -> Result<Option<StoredDocument>, StorageError> {
        self.read_document(id, Some(after)).await
    }

    async fn document_seqs(
        &self,
        ids: Vec<DocumentId>,
    ) -> Result<Vec<(DocumentId, i64)>, StorageError> {
        let keys: Vec<Vec<u8>> = ids.iter().map(|id| id.as_bytes().to_vec()).collect();
        let rows: Vec<(Vec<u8>, i64)> =
            sqlx::query_as("SELECT id, last_seq FROM documents WHERE id = ANY($1)")
                .bind(keys)
                .fetch_all(&self.pool)
                .await
                .map_err(storage_error)?;
        Ok(rows
            .into_iter()
            .filter_map(|(key, seq)| Some((DocumentId::from(<[u8; 16]>::try_from(key).ok()?), seq)))
            .collect())
    }

    async fn append_changes(
        &self,
        id: DocumentId,
        creator: Option<Uuid>,
        changes: Vec<(Vec<u8>, Vec<u8>)>,
        now: i64,
    ) -> Result<Appended, StorageError> {
        let key = id.as_bytes().as_slice();
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        if let Some(creator) = creator {
            sqlx::query("INSERT INTO documents (id, owner_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING")
                .bind(key)
                .bind(creator)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(storage_error)?;
        }
        // The row lock orders appends from every relay sharing this database.
        // Not the snapshot itself: it can be megabytes, and only its presence matters here.
        let row: Option<DocumentRow> = sqlx::query_as(
            "SELECT owner_id, snapshot IS NOT NULL, snapshot_seq, last_seq FROM documents WHERE id = $1 FOR UPDATE",
        )
        .bind(key)
        .fetch_optional(&mut *tx)
        .await
        .map_err(storage_error)?;
        let Some((owner, has_snapshot, snapshot_seq, last_seq)) = row else {
            return Err(StorageError::Other(format!(
                "document {id} does not exist and has no creator"
            )));
        };
        if creator.is_some_and(|c| c != owner) {
            return Err(StorageError::NotOwner);
        }
        let created = !has_snapshot && last_seq == 0;
        let count = i64::try_from(changes.len()).unwrap_or(i64::MAX);
        let (hashes, data): (Vec<Vec<u8>>, Vec<Vec<u8>>) = changes.into_iter().unzip();
        let payload = changes_payload(self.instance, id, last_seq, last_seq + count, &data);
        // The changes and the document's new log position in one statement
        // (one round trip fewer per append). Skipped duplicates leave gaps in
        // the numbering; only the order matters.
        let previous_seq = last_seq;
        let last_seq = last_seq + count;
        let inserted: i64 = sqlx::query_scalar(
            "WITH inserted AS ( \
                 INSERT INTO changes (document_id, seq, hash, data) \
                 SELECT $1, $2 + t.ord, t.hash, t.data FROM UNNEST($3::bytea[], $4::bytea[]) WITH ORDINALITY AS t(hash, data, ord) \
                 ON CONFLICT (document_id, hash) DO NOTHING RETURNING 1), \
             moved AS (UPDATE documents SET last_seq = $5 WHERE id = $1) \
             SELECT count(*) FROM inserted",
        )
        .bind(key)
        .bind(previous_seq)
        .bind(hashes)
        .bind(data)
        .bind(last_seq)
        .fetch_one(&mut *tx)
        .await
        .map_err(storage_error)?;
        if inserted > 0 {
            // Delivered at commit: other relays read what they lack from the log.
            notify(&mut tx, CHANGES_CHANNEL, &payload).await?;
        }
        tx.commit().await.map_err(storage_error)?;
        let inserted = usize::try_from(inserted).unwrap_or(0);
        Ok(Appended {
            created: created && inserted > 0,
            inserted,
            previous_seq,
            last_seq,
            since_snapshot: last_seq - snapshot_seq,
        })
    }

    async fn replace_snapshot(
        &self,
        id: DocumentId,
        snapshot: Vec<u8>,
        expected_snapshot_seq: i64,
        up_to_seq: i64,
    ) -> Result<bool, StorageError> {
        let key = id.as_bytes().as_slice();
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let updated = sqlx::query(
            "UPDATE documents SET snapshot = $1, snapshot_seq = $2 WHERE id = $3 AND snapshot_seq = $4 AND last_seq >= $2",
        )
        .bind(snapshot)
        .bind(up_to_seq)
        .bind(key)
        .bind(expected_snapshot_seq)
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?
        .rows_affected();
        if updated == 1 {
            sqlx::query("DELETE FROM changes WHERE document_id = $1 AND seq <= $2")
                .bind(key)
                .bind(up_to_seq)
                .execute(&mut *tx)
                .await
                .map_err(storage_error)?;
        }
        tx.commit().await.map_err(storage_error)?;
        Ok(updated == 1)
    }
}
