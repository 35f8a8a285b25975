//! Where the REST API reads a user's documents from.
//!
//! A user's documents are the ones their root lists; the root's id is derived
//! from the account id. Every document is checked against its stored owner
//! before anything reads it, so a root that lists another user's document
//! (a forged or corrupted root) can never leak that document.

use std::collections::BTreeMap;

use lifeos_core::finance::{Expense, LedgerDoc};
use lifeos_core::time::Month;
use lifeos_core::{DocKind, DocumentId, EntityId, LifeDoc, UserData};
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
    /// monthly ledgers (which callers read a month at a time), or `None`
    /// when no device ever synced a root. Listed documents that are not
    /// stored (yet) are left out.
    fn open(&self) -> Result<Option<Opened>, SourceError> {
        let root_id = self.root_id();
        let Some(root) = self.load(root_id, DocKind::Root)? else {
            return Ok(None);
        };
        let mut data = UserData::open(root_id, root).map_err(|e| corrupt(root_id, e))?;
        let listed = data.missing_documents().map_err(|e| corrupt(root_id, e))?;
        let mut ledgers: BTreeMap<Month, Vec<DocumentId>> = BTreeMap::new();
        for (id, role) in listed {
            if role.kind == DocKind::Ledger {
                if let Some(month) = role.month {
                    ledgers.entry(month).or_default().push(id);
                }
                continue;
            }
            if let Some(doc) = self.load(id, role.kind)? {
                data.attach(id, doc).map_err(|e| corrupt(id, e))?;
            }
        }
        Ok(Some(Opened { data, ledgers }))
    }
}

fn corrupt(document: DocumentId, e: lifeos_core::Error) -> SourceError {
    SourceError::Corrupt {
        document,
        reason: e.to_string(),
    }
}

/// A user's data without its ledgers, and the ledgers the root lists by month.
pub struct Opened {
    /// The root, tasks, habits and finance documents.
    pub data: UserData,
    /// Every ledger, by the month of its expenses (two offline devices may
    /// have made two for one month).
    pub ledgers: BTreeMap<Month, Vec<DocumentId>>,
}

impl Opened {
    /// The expenses of `month`, read without keeping its ledgers.
    pub fn month_expenses(
        &self,
        source: &impl Source,
        month: Month,
    ) -> Result<Vec<Expense>, SourceError> {
        let mut out = Vec::new();
        for id in self.ledgers.get(&month).into_iter().flatten() {
            if let Some(doc) = source.load(*id, DocKind::Ledger)? {
                let ledger = LedgerDoc::from_doc(doc).map_err(|e| corrupt(*id, e))?;
                out.extend(ledger.expenses().map_err(|e| corrupt(*id, e))?);
            }
        }
        Ok(out)
    }

    /// The month whose ledgers hold expense `id`, if any. Expenses are
    /// usually entered near their date, so the search starts at the month
    /// the id was made in (ids are UUIDv7) and widens from there.
    pub fn month_of_expense(
        &self,
        source: &impl Source,
        id: EntityId,
    ) -> Result<Option<Month>, SourceError> {
        let made = chrono::DateTime::from_timestamp_millis(id.created_at().as_millis())
            .map(|t| t.date_naive())
            .unwrap_or_default();
        let made = Month::of(made);
        let distance = |m: &Month| {
            let index = |m: &Month| i64::from(m.year()) * 12 + i64::from(m.number());
            (index(m) - index(&made)).abs()
        };
        let mut months: Vec<Month> = self.ledgers.keys().copied().collect();
        months.sort_by_key(distance);
        for month in months {
            for doc_id in &self.ledgers[&month] {
                if let Some(doc) = source.load(*doc_id, DocKind::Ledger)? {
                    let ledger = LedgerDoc::from_doc(doc).map_err(|e| corrupt(*doc_id, e))?;
                    if ledger.has_expense(id) {
                        return Ok(Some(month));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Loads the ledgers of `months` into the data, so that `lifeos-core`'s
    /// reads over them (Today, the monthly report) see their expenses.
    pub fn attach_months(
        &mut self,
        source: &impl Source,
        months: impl IntoIterator<Item = Month>,
    ) -> Result<(), SourceError> {
        for month in months {
            for id in self.ledgers.get(&month).into_iter().flatten() {
                if let Some(doc) = source.load(*id, DocKind::Ledger)? {
                    self.data.attach(*id, doc).map_err(|e| corrupt(*id, e))?;
                }
            }
        }
        Ok(())
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
