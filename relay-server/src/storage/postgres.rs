//! The Postgres backend: an sqlx pool, migrations from `migrations/postgres`
//! (sqlx takes an advisory lock, so several relays may start at once).

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

use super::{Storage, StorageError};
use crate::error::StartupError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// A Postgres database.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
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
        Ok(PostgresStore { pool })
    }
}

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

    async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query_scalar::<_, i32>("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .map(|_| ())
            .map_err(storage_error)
    }
}
