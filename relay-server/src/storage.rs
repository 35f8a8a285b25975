//! Durable storage behind one interface, with one implementation per
//! backend: SQLite (rusqlite; the default, one file, no server) and Postgres
//! (sqlx; for real deployments and several relays on one database). The same
//! test suite runs against both (`tests/api`).

mod postgres;
mod sqlite;

use std::future::Future;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use crate::config::DatabaseUrl;
use crate::error::StartupError;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database does not answer (down, unreachable, locked too long).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else; a bug or corrupt data.
    #[error("database error: {0}")]
    Other(String),
}

/// What every backend provides.
pub trait Storage: Send + Sync {
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
}

impl Storage for Store {
    async fn migrate(&self) -> Result<(), StorageError> {
        match self {
            Store::Sqlite(s) => s.migrate().await,
            Store::Postgres(s) => s.migrate().await,
        }
    }

    async fn ping(&self) -> Result<(), StorageError> {
        match self {
            Store::Sqlite(s) => s.ping().await,
            Store::Postgres(s) => s.ping().await,
        }
    }
}
