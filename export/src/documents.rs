//! A user's documents held in memory: the [`Source`] of a device that has
//! the documents itself (the CLI's replica), so that it exports exactly
//! what the relay would for the same documents, without a network.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use lifeos_core::{DocKind, DocumentId, LifeDoc, UserData};

use crate::error::SourceError;
use crate::source::Source;

/// One user's documents in memory, by id, with the id of their root.
///
/// Every document is checked as it is loaded, as the relay checks what it
/// reads from its database: one that is not a LifeOS document of the kind
/// the root says is [`SourceError::Corrupt`]. Documents the root does not
/// list are never read; listed ones that are missing are left out of the
/// export, as on the relay.
#[derive(Debug, Clone)]
pub struct Documents {
    root_id: DocumentId,
    docs: BTreeMap<DocumentId, AutoCommit>,
}

impl Documents {
    /// No documents yet; the user's root is `root_id`. Exporting this gives
    /// empty lists, like an account whose devices never synced.
    pub fn new(root_id: DocumentId) -> Self {
        Documents {
            root_id,
            docs: BTreeMap::new(),
        }
    }

    /// A copy of every document loaded in `data` (the root, tasks, habits,
    /// finance and the ledgers attached so far).
    pub fn from_user_data(data: &mut UserData) -> Self {
        let mut documents = Documents::new(data.root_id());
        for (id, doc) in data.documents_mut() {
            documents.insert(id, doc.automerge().clone());
        }
        documents
    }

    /// Adds document `id` (or replaces it), returning the one it replaced.
    pub fn insert(&mut self, id: DocumentId, doc: AutoCommit) -> Option<AutoCommit> {
        self.docs.insert(id, doc)
    }
}

impl Extend<(DocumentId, AutoCommit)> for Documents {
    fn extend<I: IntoIterator<Item = (DocumentId, AutoCommit)>>(&mut self, docs: I) {
        self.docs.extend(docs);
    }
}

impl Source for Documents {
    fn root_id(&self) -> DocumentId {
        self.root_id
    }

    fn load(&self, id: DocumentId, kind: DocKind) -> Result<Option<LifeDoc>, SourceError> {
        let Some(doc) = self.docs.get(&id) else {
            return Ok(None);
        };
        // A copy: the export reads a ledger, drops it, and reads the next;
        // the documents here stay as the caller gave them.
        LifeDoc::from_automerge(kind, doc.clone())
            .map(Some)
            .map_err(|e| SourceError::corrupt(id, e))
    }
}

#[cfg(test)]
mod tests {
    use lifeos_core::finance::NewExpense;
    use lifeos_core::tasks::NewTask;
    use lifeos_core::time::Timestamp;
    use lifeos_core::{Currency, DocKind, DocumentId, Money, UserData};

    use super::Documents;
    use crate::{Account, Export, ExportError, Format, SourceError};

    const NOW: Timestamp = Timestamp::from_millis(1_795_680_000_000); // 2026-11-26T08:00:00Z

    fn account() -> Account {
        Account {
            id: "0193b1a8-0000-7000-8000-000000000001".into(),
            email: "ada@example.com".into(),
        }
    }

    /// A task and an expense (so: a root, a tasks, a finance and a ledger document).
    fn user() -> UserData {
        let mut data = UserData::create(DocumentId::generate(), NOW).unwrap();
        data.add_task(
            NOW,
            NewTask {
                title: "Buy milk".into(),
                ..NewTask::default()
            },
        )
        .unwrap();
        data.add_expense(
            NOW,
            NewExpense {
                amount: Money::new(250, Currency::from_code("EUR").unwrap()),
                date: "2026-11-25".parse().unwrap(),
                category: None,
                payee: None,
                note: None,
            },
        )
        .unwrap();
        data
    }

    fn json(documents: &Documents) -> serde_json::Value {
        let export = Export::prepare(documents, account(), NOW).unwrap();
        let mut out = Vec::new();
        export.write(Format::Json, &mut out).unwrap();
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn listed_documents_that_are_not_held_are_left_out() {
        let mut data = user();
        let mut documents = Documents::new(data.root_id());
        documents.extend(
            data.documents_mut()
                .into_iter()
                .filter(|(_, d)| d.kind() != DocKind::Ledger)
                .map(|(id, d)| (id, d.automerge().clone())),
        );
        let v = json(&documents);
        assert_eq!(v["tasks"][0]["title"], "Buy milk");
        assert_eq!(
            v["expenses"],
            serde_json::json!([]),
            "the ledger is missing"
        );
        assert_eq!(
            json(&Documents::from_user_data(&mut data))["expenses"][0]["amount"],
            "2.50"
        );
    }

    #[test]
    fn a_document_that_is_not_what_the_root_says_is_corrupt() {
        let mut data = user();
        let root = data.root_id();
        let mut documents = Documents::from_user_data(&mut data);
        let (_, tasks) = data
            .documents_mut()
            .into_iter()
            .find(|(_, d)| d.kind() == DocKind::Tasks)
            .unwrap();
        let replaced = documents.insert(root, tasks.automerge().clone());
        assert!(replaced.is_some());
        match Export::prepare(&documents, account(), NOW) {
            Err(ExportError::Source(SourceError::Corrupt { document, .. })) => {
                assert_eq!(document, root)
            }
            Err(other) => panic!("expected a corrupt root, got {other}"),
            Ok(_) => panic!("expected a corrupt root, got an export"),
        }
    }

    #[test]
    fn without_a_root_every_list_is_empty() {
        let v = json(&Documents::new(DocumentId::generate()));
        assert_eq!(v["format"], "lifeos-export");
        assert_eq!(v["tasks"], serde_json::json!([]));
        assert_eq!(v["expenses"], serde_json::json!([]));
    }
}
