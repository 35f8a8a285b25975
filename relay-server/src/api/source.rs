//! Where the REST API reads a user's documents from: the relay's database.
//!
//! A user's documents are the ones their root lists; the root's id is derived
//! from the account id. Every document is checked against its stored owner
//! before anything reads it, so a root that lists another user's document
//! (a forged or corrupted root) can never leak that document.
//!
//! The [`Source`] trait and how a user's data is assembled from it
//! ([`Opened`]) live in `lifeos-export`, shared with offline clients; this
//! module adds the storage-backed source.

use lifeos_core::{DocKind, DocumentId, LifeDoc};
use uuid::Uuid;

pub use lifeos_export::SourceError;
pub use lifeos_export::source::{Opened, Source};

use crate::storage::{DocumentStore, StorageError, Store};

impl From<StorageError> for SourceError {
    fn from(e: StorageError) -> Self {
        SourceError::storage(e)
    }
}

/// The relay's database, read from a blocking thread (the export runs on one).
pub struct StoreSource {
    store: Store,
    user: Uuid,
    runtime: tokio::runtime::Handle,
}

impl StoreSource {
    /// `user`'s documents in `store`; call from a thread where blocking is
    /// allowed (`spawn_blocking`), with `runtime` the relay's runtime.
    pub fn new(store: Store, user: Uuid, runtime: tokio::runtime::Handle) -> Self {
        StoreSource {
            store,
            user,
            runtime,
        }
    }
}

impl Source for StoreSource {
    fn root_id(&self) -> DocumentId {
        DocumentId::root_of_user(&self.user)
    }

    fn load(&self, id: DocumentId, kind: DocKind) -> Result<Option<LifeDoc>, SourceError> {
        let Some(stored) = self.runtime.block_on(self.store.load_document(id))? else {
            return Ok(None);
        };
        if stored.owner != self.user {
            tracing::warn!(document = %id, "a root lists a document of another account; left out");
            return Ok(None);
        }
        let Some(bytes) = stored.bytes() else {
            return Ok(None);
        };
        LifeDoc::load(kind, &bytes)
            .map(Some)
            .map_err(|e| SourceError::Corrupt {
                document: id,
                reason: e.to_string(),
            })
    }
}
