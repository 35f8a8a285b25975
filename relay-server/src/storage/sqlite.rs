//! The SQLite backend: one file, WAL journal, `synchronous=FULL` so that a
//! commit the relay acknowledged survives a crash or power loss. rusqlite is
//! blocking, so every call runs on tokio's blocking pool.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};
use uuid::Uuid;

use lifeos_core::DocumentId;

use super::{
    Appended, AuditEvent, DocumentStore, KeyClaim, RefreshOutcome, Storage, StorageError,
    StoredDocument, UserRecord,
};
use crate::error::StartupError;

mod security;

/// Migrations, in order: (version, SQL). Embedded so the binary carries them.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../../../migrations/sqlite/0002_sessions_documents.sql"),
    ),
    (
        3,
        include_str!("../../../migrations/sqlite/0003_idempotency.sql"),
    ),
    (
        4,
        include_str!("../../../migrations/sqlite/0004_sessions_mfa.sql"),
    ),
    (
        5,
        include_str!("../../../migrations/sqlite/0005_sync_tickets.sql"),
    ),
];

/// An idempotency key's row: request hash, status, location, body, claimed at.
type KeyRow = (Vec<u8>, Option<u16>, Option<String>, Option<String>, i64);

/// An SQLite database.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

/// Every migration, in order (the backup's test checks it covers their tables).
#[cfg(test)]
pub(crate) fn migrations() -> &'static [(i64, &'static str)] {
    MIGRATIONS
}

impl SqliteStore {
    /// The connection, for the backup and restore commands.
    pub(crate) fn connection(&self) -> Arc<Mutex<Connection>> {
        self.conn.clone()
    }

    /// One connection, idle unless a query holds it.
    pub(super) fn pool_state(&self) -> super::PoolState {
        super::PoolState {
            open: 1,
            idle: u32::from(self.conn.try_lock().is_ok()),
            max: 1,
        }
    }

    /// Opens (or creates) the database file at `path`.
    pub async fn open(path: &Path) -> Result<Self, StartupError> {
        let path = path.to_path_buf();
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection, StartupError> {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StartupError::Database(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
            let conn = Connection::open(&path).map_err(|e| {
                StartupError::Database(format!("cannot open {}: {e}", path.display()))
            })?;
            conn.busy_timeout(Duration::from_secs(5))
                .map_err(|e| StartupError::Database(e.to_string()))?;
            conn.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
            )
            .map_err(|e| StartupError::Database(e.to_string()))?;
            Ok(conn)
        })
        .await
        .map_err(|e| StartupError::Database(e.to_string()))??;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StorageError> + Send + 'static,
    ) -> Result<T, StorageError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock poisons it; the connection itself is still usable.
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
        .await
        .map_err(|e| StorageError::Other(e.to_string()))?
    }
}

/// user_id, family_id, expires_at, used_at, revoked_at.
type TokenRow = (String, String, i64, Option<i64>, Option<i64>);

/// Reads a `users` row (id, email, password_hash, created_at, disabled_at, session_epoch).
fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<UserRecord, StorageError>> {
    let id: String = r.get(0)?;
    let disabled_at: Option<i64> = r.get(4)?;
    Ok(id
        .parse()
        .map_err(|_| StorageError::Other("bad user id in users".into()))
        .map(|id| UserRecord {
            id,
            email: r.get(1).unwrap_or_default(),
            password_hash: r.get(2).unwrap_or_default(),
            created_at: r.get(3).unwrap_or_default(),
            disabled: disabled_at.is_some(),
            session_epoch: r.get(5).unwrap_or_default(),
        }))
}

/// Ends every session of `user` (password change or reset, account disabled,
/// logout everywhere): revokes its refresh tokens and moves its session
/// generation on, so its access tokens stop working. Returns whether the user exists.
fn end_sessions(conn: &Connection, user: &str, now: i64) -> Result<bool, StorageError> {
    conn.execute(
        "UPDATE refresh_tokens SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL",
        (now, user),
    )
    .map_err(storage_error)?;
    conn.execute(
        "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = ?1",
        [user],
    )
    .map(|n| n == 1)
    .map_err(storage_error)
}

fn doc_key(id: DocumentId) -> Vec<u8> {
    id.as_bytes().to_vec()
}

fn storage_error(e: rusqlite::Error) -> StorageError {
    match e.sqlite_error_code() {
        Some(
            rusqlite::ErrorCode::DatabaseBusy
            | rusqlite::ErrorCode::DatabaseLocked
            | rusqlite::ErrorCode::CannotOpen,
        ) => StorageError::Unavailable(e.to_string()),
        _ => StorageError::Other(e.to_string()),
    }
}

impl Storage for SqliteStore {
    async fn migrate(&self) -> Result<(), StorageError> {
        self.with_conn(|conn| {
            conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
                .map_err(storage_error)?;
            for (version, sql) in MIGRATIONS {
                let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(storage_error)?;
                let done: bool = tx
                    .query_row("SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE version = ?1)", [version], |r| r.get(0))
                    .map_err(storage_error)?;
                if !done {
                    tx.execute_batch(sql).map_err(storage_error)?;
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
                    tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)", (version, now))
                        .map_err(storage_error)?;
                    tracing::info!(version, "applied SQLite migration");
                }
                tx.commit().map_err(storage_error)?;
            }
            Ok(())
        })
        .await
    }

    async fn create_user(&self, user: &UserRecord) -> Result<bool, StorageError> {
        let user = user.clone();
        self.with_conn(move |conn| {
            let inserted = conn
                .execute(
                    "INSERT INTO users (id, email, password_hash, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(email) DO NOTHING",
                    (user.id.to_string(), &user.email, &user.password_hash, user.created_at),
                )
                .map_err(storage_error)?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StorageError> {
        let email = email.to_string();
        self.with_conn(move |conn| {
            conn.query_row("SELECT id, email, password_hash, created_at, disabled_at, session_epoch FROM users WHERE email = ?1", [email], user_row)
                .optional()
                .map_err(storage_error)?
                .transpose()
        })
        .await
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<UserRecord>, StorageError> {
        self.with_conn(move |conn| {
            conn.query_row(
                "SELECT id, email, password_hash, created_at, disabled_at, session_epoch FROM users WHERE id = ?1",
                [id.to_string()],
                user_row,
            )
            .optional()
            .map_err(storage_error)?
            .transpose()
        })
        .await
    }

    async fn insert_refresh_token(
        &self,
        hash: [u8; 32],
        user: Uuid,
        family: Uuid,
        now: i64,
        expires: i64,
    ) -> Result<(), StorageError> {
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO refresh_tokens (token_hash, user_id, family_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                (hash.as_slice(), user.to_string(), family.to_string(), now, expires),
            )
            .map(|_| ())
            .map_err(storage_error)
        })
        .await
    }

    async fn rotate_refresh_token(
        &self,
        old: [u8; 32],
        new: [u8; 32],
        now: i64,
        expires: i64,
    ) -> Result<RefreshOutcome, StorageError> {
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(storage_error)?;
            let row: Option<TokenRow> = tx
                .query_row(
                    "SELECT user_id, family_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = ?1",
                    [old.as_slice()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()
                .map_err(storage_error)?;
            let Some((user, family, expires_at, used_at, revoked_at)) = row else { return Ok(RefreshOutcome::Invalid) };
            let user: Uuid = user.parse().map_err(|_| StorageError::Other("bad user id in refresh_tokens".into()))?;
            if revoked_at.is_some() {
            // Revoked by logout, a password reset or an earlier reuse: just invalid.
            return Ok(RefreshOutcome::Invalid);
        }
        if used_at.is_some() {
                tx.execute("UPDATE refresh_tokens SET revoked_at = ?1 WHERE family_id = ?2 AND revoked_at IS NULL", (now, &family))
                    .map_err(storage_error)?;
                tx.commit().map_err(storage_error)?;
                return Ok(RefreshOutcome::Reused { user });
            }
            if expires_at <= now {
                return Ok(RefreshOutcome::Invalid);
            }
            tx.execute("UPDATE refresh_tokens SET used_at = ?1 WHERE token_hash = ?2", (now, old.as_slice())).map_err(storage_error)?;
            tx.execute(
                "INSERT INTO refresh_tokens (token_hash, user_id, family_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                (new.as_slice(), user.to_string(), &family, now, expires),
            )
            .map_err(storage_error)?;
            tx.commit().map_err(storage_error)?;
            let session = family.parse().map_err(|_| StorageError::Other("bad family id in refresh_tokens".into()))?;
            Ok(RefreshOutcome::Rotated { user, session })
        })
        .await
    }

    async fn revoke_refresh_family(
        &self,
        hash: [u8; 32],
        now: i64,
    ) -> Result<Option<Uuid>, StorageError> {
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(storage_error)?;
            let found: Option<(String, String)> = tx
                .query_row("SELECT user_id, family_id FROM refresh_tokens WHERE token_hash = ?1", [hash.as_slice()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(storage_error)?;
            let Some((user, family)) = found else { return Ok(None) };
            tx.execute("UPDATE refresh_tokens SET revoked_at = ?1 WHERE family_id = ?2 AND revoked_at IS NULL", (now, family))
                .map_err(storage_error)?;
            tx.commit().map_err(storage_error)?;
            Ok(user.parse().ok())
        })
        .await
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StorageError> {
        self.with_conn(|conn| {
            let mut stmt = conn
                .prepare("SELECT id, email, password_hash, created_at, disabled_at, session_epoch FROM users ORDER BY created_at, email")
                .map_err(storage_error)?;
            let rows = stmt.query_map([], user_row).map_err(storage_error)?;
            let mut out = Vec::new();
            for row in rows {
                out.push(row.map_err(storage_error)??);
            }
            Ok(out)
        })
        .await
    }

    async fn set_disabled(
        &self,
        user: Uuid,
        disabled: bool,
        now: i64,
    ) -> Result<bool, StorageError> {
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(storage_error)?;
            let changed = tx
                .execute(
                    "UPDATE users SET disabled_at = ?1 WHERE id = ?2",
                    (disabled.then_some(now), user.to_string()),
                )
                .map_err(storage_error)?;
            if disabled {
                end_sessions(&tx, &user.to_string(), now)?;
            }
            tx.commit().map_err(storage_error)?;
            Ok(changed == 1)
        })
        .await
    }

    async fn create_password_reset(
        &self,
        hash: [u8; 32],
        user: Uuid,
        now: i64,
        expires: i64,
    ) -> Result<(), StorageError> {
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                (hash.as_slice(), user.to_string(), now, expires),
            )
            .map(|_| ())
            .map_err(storage_error)
        })
        .await
    }

    async fn reset_password(
        &self,
        hash: [u8; 32],
        password_hash: &str,
        now: i64,
    ) -> Result<Option<Uuid>, StorageError> {
        let password_hash = password_hash.to_string();
        self.with_conn(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(storage_error)?;
            let user: Option<String> = tx
                .query_row(
                    "UPDATE password_resets SET used_at = ?1 WHERE token_hash = ?2 AND used_at IS NULL AND expires_at > ?1 RETURNING user_id",
                    (now, hash.as_slice()),
                    |r| r.get(0),
                )
                .optional()
                .map_err(storage_error)?;
            let Some(user) = user else { return Ok(None) };
            tx.execute("UPDATE users SET password_hash = ?1 WHERE id = ?2", (&password_hash, &user)).map_err(storage_error)?;
            end_sessions(&tx, &user, now)?;
            tx.commit().map_err(storage_error)?;
            Ok(user.parse().ok())
        })
        .await
    }

    async fn record_audit(
        &self,
        user: Option<Uuid>,
        action: &str,
        at: i64,
        ip: Option<&str>,
        detail: &serde_json::Value,
    ) -> Result<(), StorageError> {
        let (action, ip, detail) = (
            action.to_string(),
            ip.map(str::to_string),
            detail.to_string(),
        );
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO audit_events (user_id, action, at, ip, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                (user.map(|u| u.to_string()), action, at, ip, detail),
            )
            .map(|_| ())
            .map_err(storage_error)
        })
        .await
    }

    async fn audit_page(
        &self,
        user: Uuid,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StorageError> {
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare("SELECT id, action, at, ip, detail FROM audit_events WHERE user_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3")
                .map_err(storage_error)?;
            let rows = stmt
                .query_map((user.to_string(), before.unwrap_or(i64::MAX), i64::from(limit)), |r| {
                    Ok(AuditEvent {
                        id: r.get(0)?,
                        user: Some(user),
                        action: r.get(1)?,
                        at: r.get(2)?,
                        ip: r.get(3)?,
                        detail: serde_json::from_str(&r.get::<_, String>(4)?).unwrap_or(serde_json::Value::Null),
                    })
                })
                .map_err(storage_error)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(storage_error)
        })
        .await
    }

    async fn revoke_all_sessions(&self, user: Uuid, now: i64) -> Result<bool, StorageError> {
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(storage_error)?;
            let exists = end_sessions(&tx, &user.to_string(), now)?;
            tx.commit().map_err(storage_error)?;
            Ok(exists)
        })
        .await
    }

    async fn change_password(
        &self,
        user: Uuid,
        password_hash: &str,
        now: i64,
    ) -> Result<(), StorageError> {
        let password_hash = password_hash.to_string();
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(storage_error)?;
            tx.execute(
                "UPDATE users SET password_hash = ?1 WHERE id = ?2",
                (&password_hash, user.to_string()),
            )
            .map_err(storage_error)?;
            end_sessions(&tx, &user.to_string(), now)?;
            tx.commit().map_err(storage_error)
        })
        .await
    }

    async fn prune_audit(&self, before: i64) -> Result<u64, StorageError> {
        self.with_conn(move |conn| {
            conn.execute("DELETE FROM audit_events WHERE at < ?1", [before])
                .map(|n| n as u64)
                .map_err(storage_error)
        })
        .await
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
        let (user, key, hash) = (user.to_string(), key.to_string(), hash.to_vec());
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(storage_error)?;
            tx.execute(
                "DELETE FROM idempotency_keys WHERE user_id = ?1 AND created_at < ?2",
                (&user, expire_before),
            )
            .map_err(storage_error)?;
            let found: Option<KeyRow> = tx
                .query_row(
                    "SELECT request_hash, status, location, body, created_at FROM idempotency_keys WHERE user_id = ?1 AND key = ?2",
                    (&user, &key),
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()
                .map_err(storage_error)?;
            let claim = match found {
                None => {
                    tx.execute(
                        "INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                        (&user, &key, &hash, now),
                    )
                    .map_err(storage_error)?;
                    KeyClaim::Claimed
                }
                Some((_, None, _, _, at)) if at < stale_before => {
                    tx.execute(
                        "UPDATE idempotency_keys SET request_hash = ?3, created_at = ?4 WHERE user_id = ?1 AND key = ?2",
                        (&user, &key, &hash, now),
                    )
                    .map_err(storage_error)?;
                    KeyClaim::Claimed
                }
                Some((stored, None, _, _, _)) => KeyClaim::InProgress {
                    same_request: stored == hash,
                },
                Some((stored, Some(status), location, body, _)) => KeyClaim::Answered {
                    same_request: stored == hash,
                    status,
                    location,
                    body: body.unwrap_or_default(),
                },
            };
            tx.commit().map_err(storage_error)?;
            Ok(claim)
        })
        .await
    }

    async fn answer_idempotency_key(
        &self,
        user: Uuid,
        key: &str,
        status: u16,
        location: Option<&str>,
        body: &str,
    ) -> Result<(), StorageError> {
        let (user, key, location, body) = (
            user.to_string(),
            key.to_string(),
            location.map(str::to_string),
            body.to_string(),
        );
        self.with_conn(move |conn| {
            conn.execute(
                "UPDATE idempotency_keys SET status = ?3, location = ?4, body = ?5 WHERE user_id = ?1 AND key = ?2",
                (user, key, status, location, body),
            )
            .map(|_| ())
            .map_err(storage_error)
        })
        .await
    }

    async fn release_idempotency_key(&self, user: Uuid, key: &str) -> Result<(), StorageError> {
        let (user, key) = (user.to_string(), key.to_string());
        self.with_conn(move |conn| {
            conn.execute(
                "DELETE FROM idempotency_keys WHERE user_id = ?1 AND key = ?2 AND status IS NULL",
                (user, key),
            )
            .map(|_| ())
            .map_err(storage_error)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StorageError> {
        self.with_conn(|conn| {
            conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map(|_| ())
                .map_err(storage_error)
        })
        .await
    }
}

/// The whole document (`after` is `None`), or what was logged after `after`
/// (with the snapshot only if compaction folded some of that in), in one
/// read transaction so that the snapshot and the log agree.
fn read_document(
    conn: &mut rusqlite::Connection,
    id: DocumentId,
    after: Option<i64>,
) -> Result<Option<StoredDocument>, StorageError> {
    let tx = conn.transaction().map_err(storage_error)?;
    let key = doc_key(id);
    let row: Option<(String, i64, i64)> = tx
        .query_row(
            "SELECT owner_id, snapshot_seq, last_seq FROM documents WHERE id = ?1",
            [&key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(storage_error)?;
    let Some((owner, snapshot_seq, last_seq)) = row else {
        return Ok(None);
    };
    let owner = owner
        .parse()
        .map_err(|_| StorageError::Other("bad owner id in documents".into()))?;
    let (snapshot, from) = match after {
        Some(after) if after >= snapshot_seq => (None, after),
        _ => {
            let snapshot: Option<Vec<u8>> = tx
                .query_row(
                    "SELECT snapshot FROM documents WHERE id = ?1",
                    [&key],
                    |r| r.get(0),
                )
                .map_err(storage_error)?;
            (snapshot, snapshot_seq)
        }
    };
    let changes = {
        let mut stmt = tx
            .prepare_cached(
                "SELECT data FROM changes WHERE document_id = ?1 AND seq > ?2 ORDER BY seq",
            )
            .map_err(storage_error)?;
        stmt.query_map((&key, from), |r| r.get::<_, Vec<u8>>(0))
            .map_err(storage_error)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(storage_error)?
    };
    tx.commit().map_err(storage_error)?;
    Ok(Some(StoredDocument {
        owner,
        snapshot,
        snapshot_seq: from,
        changes,
        last_seq,
    }))
}

impl DocumentStore for SqliteStore {
    async fn reserve_document(
        &self,
        id: DocumentId,
        owner: Uuid,
        now: i64,
    ) -> Result<(), StorageError> {
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO documents (id, owner_id, created_at) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO NOTHING",
                (doc_key(id), owner.to_string(), now),
            )
            .map(|_| ())
            .map_err(storage_error)
        })
        .await
    }

    async fn document_owner(&self, id: DocumentId) -> Result<Option<Uuid>, StorageError> {
        self.with_conn(move |conn| {
            let owner: Option<String> = conn
                .query_row(
                    "SELECT owner_id FROM documents WHERE id = ?1",
                    [doc_key(id)],
                    |r| r.get(0),
                )
                .optional()
                .map_err(storage_error)?;
            owner
                .map(|o| {
                    o.parse()
                        .map_err(|_| StorageError::Other("bad owner id in documents".into()))
                })
                .transpose()
        })
        .await
    }

    async fn load_document(&self, id: DocumentId) -> Result<Option<StoredDocument>, StorageError> {
        self.with_conn(move |conn| read_document(conn, id, None))
            .await
    }

    async fn changes_since(
        &self,
        id: DocumentId,
        after: i64,
    ) -> Result<Option<StoredDocument>, StorageError> {
        self.with_conn(move |conn| read_document(conn, id, Some(after)))
            .await
    }

    async fn document_seqs(
        &self,
        ids: Vec<DocumentId>,
    ) -> Result<Vec<(DocumentId, i64)>, StorageError> {
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT last_seq FROM documents WHERE id = ?1")
                .map_err(storage_error)?;
            let mut seqs = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(seq) = stmt
                    .query_row([doc_key(id)], |r| r.get::<_, i64>(0))
                    .optional()
                    .map_err(storage_error)?
                {
                    seqs.push((id, seq));
                }
            }
            Ok(seqs)
        })
        .await
    }

    async fn append_changes(
        &self,
        id: DocumentId,
        creator: Option<Uuid>,
        changes: Vec<(Vec<u8>, Vec<u8>)>,
        now: i64,
    ) -> Result<Appended, StorageError> {
        self.with_conn(move |conn| {
            let key = doc_key(id);
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(storage_error)?;
            if let Some(creator) = creator {
                tx.execute(
                    "INSERT INTO documents (id, owner_id, created_at) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO NOTHING",
                    (&key, creator.to_string(), now),
                )
                .map_err(storage_error)?;
            }
            // Not the snapshot itself: only its presence matters here.
            let row: Option<(String, bool, i64, i64)> = tx
                .query_row(
                    "SELECT owner_id, snapshot IS NOT NULL, snapshot_seq, last_seq FROM documents WHERE id = ?1",
                    [&key],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
                .map_err(storage_error)?;
            let Some((owner, has_snapshot, snapshot_seq, mut last_seq)) = row else {
                return Err(StorageError::Other(format!("document {id} does not exist and has no creator")));
            };
            let previous_seq = last_seq;
            if creator.is_some_and(|c| c.to_string() != owner) {
                return Err(StorageError::NotOwner);
            }
            let created = !has_snapshot && last_seq == 0;
            let mut inserted = 0;
            {
                let mut insert = tx
                    .prepare_cached("INSERT INTO changes (document_id, seq, hash, data) VALUES (?1, ?2, ?3, ?4) ON CONFLICT(document_id, hash) DO NOTHING")
                    .map_err(storage_error)?;
                for (hash, data) in &changes {
                    if insert.execute((&key, last_seq + 1, hash, data)).map_err(storage_error)? == 1 {
                        last_seq += 1;
                        inserted += 1;
                    }
                }
            }
            tx.execute("UPDATE documents SET last_seq = ?1 WHERE id = ?2", (last_seq, &key)).map_err(storage_error)?;
            tx.commit().map_err(storage_error)?;
            Ok(Appended { created: created && inserted > 0, inserted, previous_seq, last_seq, since_snapshot: last_seq - snapshot_seq })
        })
        .await
    }

    async fn replace_snapshot(
        &self,
        id: DocumentId,
        snapshot: Vec<u8>,
        expected_snapshot_seq: i64,
        up_to_seq: i64,
    ) -> Result<bool, StorageError> {
        self.with_conn(move |conn| {
            let key = doc_key(id);
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(storage_error)?;
            let updated = tx
                .execute(
                    "UPDATE documents SET snapshot = ?1, snapshot_seq = ?2 WHERE id = ?3 AND snapshot_seq = ?4 AND last_seq >= ?2",
                    (&snapshot, up_to_seq, &key, expected_snapshot_seq),
                )
                .map_err(storage_error)?;
            if updated == 1 {
                tx.execute("DELETE FROM changes WHERE document_id = ?1 AND seq <= ?2", (&key, up_to_seq)).map_err(storage_error)?;
            }
            tx.commit().map_err(storage_error)?;
            Ok(updated == 1)
        })
        .await
    }
}
