//! Where an export (and the relay's REST reads) get a user's documents from.
//!
//! A user's documents are the ones their root lists. A [`Source`] only has
//! to load one document by id; [`Source::open`] walks the root from there.
//! The relay's source reads its database and checks each document's stored
//! owner; [`Documents`](crate::Documents) holds documents in memory, as a
//! device (the CLI) has them.

use std::collections::BTreeMap;

use crate::error::SourceError;
use lifeos_core::finance::{Expense, LedgerDoc};
use lifeos_core::time::Month;
use lifeos_core::{DocKind, DocumentId, EntityId, LifeDoc, UserData};

/// Loads one user's documents. An implementation only says where a
/// document comes from and whether the user may read it; how a user's data
/// is assembled from documents ([`Source::open`], [`Opened`]) is shared, so
/// every source reads a user the same way.
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
        let mut data =
            UserData::open(root_id, root).map_err(|e| SourceError::corrupt(root_id, e))?;
        let listed = data
            .missing_documents()
            .map_err(|e| SourceError::corrupt(root_id, e))?;
        let mut ledgers: BTreeMap<Month, Vec<DocumentId>> = BTreeMap::new();
        for (id, role) in listed {
            if role.kind == DocKind::Ledger {
                if let Some(month) = role.month {
                    ledgers.entry(month).or_default().push(id);
                }
                continue;
            }
            if let Some(doc) = self.load(id, role.kind)? {
                data.attach(id, doc)
                    .map_err(|e| SourceError::corrupt(id, e))?;
            }
        }
        Ok(Some(Opened { data, ledgers }))
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
                let ledger = LedgerDoc::from_doc(doc).map_err(|e| SourceError::corrupt(*id, e))?;
                out.extend(
                    ledger
                        .expenses()
                        .map_err(|e| SourceError::corrupt(*id, e))?,
                );
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
                    let ledger =
                        LedgerDoc::from_doc(doc).map_err(|e| SourceError::corrupt(*doc_id, e))?;
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
                    self.data
                        .attach(*id, doc)
                        .map_err(|e| SourceError::corrupt(*id, e))?;
                }
            }
        }
        Ok(())
    }
}
