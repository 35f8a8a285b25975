//! The SQLite backend: one file, WAL journal, `synchronous=FULL` so that a
//! commit the relay acknowledged survives a crash or power loss. rusqlite is
//! blocking, so every call runs on tokio's blocking pool.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

use super::{Storage, StorageError};
use crate::error::StartupError;

/// Migrations, in order: (version, SQL). Embedded so the binary carries them.
const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("../../../migrations/sqlite/0001_init.sql"))];

/// An SQLite database.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
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

    async fn ping(&self) -> Result<(), StorageError> {
        self.with_conn(|conn| {
            conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map(|_| ())
                .map_err(storage_error)
        })
        .await
    }
}
