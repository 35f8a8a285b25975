//! Where the REST API reads a user's documents from.
//!
//! A user's documents are the ones their root lists; the root's id is derived
//! from the account id. Every document is checked against its stored owner
//! before anything reads it, so a root that lists another user's document
//! (a forged or corrupted root) can never leak that document.

use lifeos_core::{DocKind, DocumentId, LifeDoc, UserData};
use uuid::Uuid;

use crate::storage::{DocumentStore, StorageError, Store};

/// Why a user's documents cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A stored document does not load or is not what the root says it is.
    #[error("document {document} does not load: {reason}")]
    Corrupt {
        /// The document.
        document: DocumentId,
        /// What is wrong with it.
        reason: String,
    },
}

/// Loads one user's documents.
pub trait Source {
    /// The document `id` of kind `kind`, if it is stored, has content and
    /// belongs to the user.
    fn load(&self, id: DocumentId, kind: DocKind) -> Result<Option<LifeDoc>, SourceError>;

    /// The user's root document's id.
    fn root_id(&self) -> DocumentId;

    /// The user's data with every document the root lists except the
    /// monthly ledgers (which callers read one month at a time), or `None`
    /// when no device ever synced a root. Listed documents that are not
    /// stored (yet) are left out.
    fn open_without_ledgers(&self) -> Result<Option<UserData>, SourceError> {
        let root_id = self.root_id();
        let Some(root) = self.load(root_id, DocKind::Root)? else {
            return Ok(None);
        };
        let corrupt = |document: DocumentId, e: lifeos_core::Error| SourceError::Corrupt {
            document,
            reason: e.to_string(),
        };
        let mut data = UserData::open(root_id, root).map_err(|e| corrupt(root_id, e))?;
        let listed = data.missing_documents().map_err(|e| corrupt(root_id, e))?;
        for (id, role) in listed {
            if role.kind == DocKind::Ledger {
                continue;
            }
            if let Some(doc) = self.load(id, role.kind)? {
                data.attach(id, doc).map_err(|e| corrupt(id, e))?;
            }
        }
        Ok(Some(data))
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
