//! [`LifeDoc`]: one Automerge document of a known kind, with the rules every
//! LifeOS document follows (schema version check, one change per user action,
//! read-only when written by a newer version).
//!
//! The typed domain documents (`TasksDoc`, `HabitsDoc`...) wrap a `LifeDoc`;
//! sync and storage work on the `LifeDoc` (or its raw `AutoCommit`) directly.

pub(crate) mod fields;

use automerge::transaction::CommitOptions;
use automerge::{AutoCommit, ObjId, ROOT, ReadDoc};

use crate::error::{Error, Result};
use crate::schema::{self, DocKind, SCHEMA_VERSION};
use crate::time::Timestamp;

/// Fails unless `doc` is of `kind`: typed documents only wrap their own kind.
pub(crate) fn expect_kind(doc: &LifeDoc, kind: DocKind) -> Result<()> {
    if doc.kind() != kind {
        return Err(Error::Corrupt(format!(
            "expected a {kind} document, found {}",
            doc.kind()
        )));
    }
    Ok(())
}

/// The constructors and accessors every typed document (a struct with one
/// field `doc: LifeDoc`) shares.
macro_rules! typed_document {
    ($name:ident, $kind:expr) => {
        impl $name {
            #[doc = concat!("A new, empty document of this kind (`", stringify!($kind), "`).")]
            pub fn new() -> Self {
                $name {
                    doc: $crate::doc::LifeDoc::new($kind),
                }
            }

            /// Wraps a loaded document, checking its kind.
            pub fn from_doc(doc: $crate::doc::LifeDoc) -> $crate::error::Result<Self> {
                $crate::doc::expect_kind(&doc, $kind)?;
                Ok($name { doc })
            }

            /// The underlying document, for sync and storage.
            pub fn doc(&self) -> &$crate::doc::LifeDoc {
                &self.doc
            }

            /// The underlying document, mutable, for sync and storage.
            pub fn doc_mut(&mut self) -> &mut $crate::doc::LifeDoc {
                &mut self.doc
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }
    };
}
pub(crate) use typed_document;

/// One LifeOS Automerge document.
#[derive(Debug)]
pub struct LifeDoc {
    doc: AutoCommit,
    kind: DocKind,
}

impl LifeDoc {
    /// A new, empty document of `kind`.
    ///
    /// Ledgers are made with [`crate::finance::LedgerDoc::new`], which gives them their month.
    pub fn new(kind: DocKind) -> Self {
        Self::with_genesis(kind, None)
    }

    pub(crate) fn with_genesis(kind: DocKind, month: Option<crate::time::Month>) -> Self {
        LifeDoc {
            doc: schema::genesis(kind, month),
            kind,
        }
    }

    /// Loads saved bytes (a full save, or a save followed by incremental saves).
    ///
    /// Fails when the bytes are not Automerge, or not a LifeOS document of
    /// `expected` kind. A document from a newer schema loads *read-only*:
    /// [`LifeDoc::is_writable`] is false and every edit returns
    /// [`Error::SchemaTooNew`], so that this build never rewrites what it does
    /// not understand.
    pub fn load(expected: DocKind, bytes: &[u8]) -> Result<Self> {
        let doc = AutoCommit::load(bytes).map_err(|e| Error::Corrupt(e.to_string()))?;
        Self::from_automerge(expected, doc)
    }

    /// Wraps an Automerge document received from elsewhere (sync, storage),
    /// checking it as [`LifeDoc::load`] does.
    pub fn from_automerge(expected: DocKind, mut doc: AutoCommit) -> Result<Self> {
        let kind = match doc.get(ROOT, "kind")? {
            Some((v, _)) => v.as_str().and_then(DocKind::parse),
            None => None,
        };
        if kind != Some(expected) {
            return Err(Error::Corrupt(format!(
                "expected a {expected} document, found {}",
                kind.map_or("an unknown kind".to_string(), |k| k.to_string())
            )));
        }
        read_version(&doc)?
            .ok_or_else(|| Error::Corrupt("schema_version is missing or not a number".into()))?;
        // Loading resets the actor to a random one; make that explicit: this
        // device's edits must never reuse another session's actor.
        doc.set_actor(automerge::ActorId::random());
        Ok(LifeDoc {
            doc,
            kind: expected,
        })
    }

    /// What this document holds.
    pub fn kind(&self) -> DocKind {
        self.kind
    }

    /// The schema version recorded in the document, read live: remote changes
    /// from a newer device (however they were applied) are taken into account.
    pub fn schema_version(&self) -> u64 {
        // A document that loaded had a version; one that lost it since is
        // treated as unknown and so too new to edit.
        read_version(&self.doc).ok().flatten().unwrap_or(u64::MAX)
    }

    /// Whether this build may edit the document (false when it is from a newer schema).
    pub fn is_writable(&self) -> bool {
        self.schema_version() <= SCHEMA_VERSION
    }

    /// The Automerge document, for reading, sync and storage.
    pub fn automerge(&self) -> &AutoCommit {
        &self.doc
    }

    /// The Automerge document, mutable: for the sync engine and storage, which
    /// apply remote changes. Local edits go through the typed documents.
    pub fn automerge_mut(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }

    /// The whole document, compressed.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The changes made since the last `save` or `save_incremental`, to append to a saved file.
    pub fn save_incremental(&mut self) -> Vec<u8> {
        self.doc.save_incremental()
    }

    /// Applies bytes from [`LifeDoc::save`] or [`LifeDoc::save_incremental`] of another copy.
    pub fn load_incremental(&mut self, bytes: &[u8]) -> Result<()> {
        self.doc
            .load_incremental(bytes)
            .map_err(|e| Error::Corrupt(e.to_string()))?;
        Ok(())
    }

    /// Merges every change of `other` (another copy of the same document) into this one.
    pub fn merge(&mut self, other: &mut LifeDoc) -> Result<()> {
        self.doc.merge(&mut other.doc)?;
        Ok(())
    }

    /// The current heads: two copies with equal heads hold equal documents.
    pub fn heads(&mut self) -> Vec<automerge::ChangeHash> {
        self.doc.get_heads()
    }

    /// A top-level container created by the genesis.
    pub(crate) fn collection(&self, name: &str) -> Result<ObjId> {
        match self.doc.get(ROOT, name)? {
            Some((automerge::Value::Object(_), id)) => Ok(id),
            _ => Err(Error::Corrupt(format!(
                "{} document has no {name} map",
                self.kind
            ))),
        }
    }

    /// Runs `edit` as one change stamped `now`; on error nothing is kept.
    pub(crate) fn edit<T>(
        &mut self,
        now: Timestamp,
        edit: impl FnOnce(&mut AutoCommit) -> Result<T>,
    ) -> Result<T> {
        if !self.is_writable() {
            return Err(Error::SchemaTooNew {
                kind: self.kind,
                found: self.schema_version(),
                supported: SCHEMA_VERSION,
            });
        }
        match edit(&mut self.doc) {
            Ok(v) => {
                self.doc
                    .commit_with(CommitOptions::default().with_time(now.as_millis()));
                Ok(v)
            }
            Err(e) => {
                self.doc.rollback();
                Err(e)
            }
        }
    }
}

/// The `schema_version` at the root, if it is a non-negative number.
fn read_version(doc: &AutoCommit) -> Result<Option<u64>> {
    Ok(match doc.get(ROOT, "schema_version")? {
        Some((v, _)) => v
            .as_u64()
            .or_else(|| v.as_i64().and_then(|i| u64::try_from(i).ok())),
        None => None,
    })
}

/// Writes `schema_version` = `version`. For tests of the read-only rule and for migrations.
#[cfg(test)]
pub(crate) fn set_schema_version(doc: &mut LifeDoc, version: u64) -> Result<()> {
    use automerge::transaction::Transactable;
    doc.doc.put(ROOT, "schema_version", version)?;
    doc.doc.commit();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;

    #[test]
    fn save_and_load_keeps_kind_and_version() {
        let mut d = LifeDoc::new(DocKind::Habits);
        let bytes = d.save();
        let loaded = LifeDoc::load(DocKind::Habits, &bytes).unwrap();
        assert_eq!(loaded.kind(), DocKind::Habits);
        assert_eq!(loaded.schema_version(), SCHEMA_VERSION);
        assert!(loaded.is_writable());
    }

    #[test]
    fn wrong_kind_and_garbage_are_refused() {
        let mut d = LifeDoc::new(DocKind::Habits);
        let bytes = d.save();
        assert!(matches!(
            LifeDoc::load(DocKind::Tasks, &bytes),
            Err(Error::Corrupt(_))
        ));
        assert!(matches!(
            LifeDoc::load(DocKind::Tasks, b"not automerge"),
            Err(Error::Corrupt(_))
        ));
        let mut empty = AutoCommit::new();
        assert!(LifeDoc::load(DocKind::Tasks, &empty.save()).is_err());
    }

    #[test]
    fn newer_schema_opens_read_only_and_is_never_rewritten() {
        let mut d = LifeDoc::new(DocKind::Tasks);
        set_schema_version(&mut d, SCHEMA_VERSION + 1).unwrap();
        let bytes = d.save();
        let mut loaded = LifeDoc::load(DocKind::Tasks, &bytes).unwrap();
        assert!(!loaded.is_writable());
        let before = loaded.heads();
        let err = loaded
            .edit(Timestamp::from_millis(1), |_| Ok(()))
            .unwrap_err();
        assert!(matches!(err, Error::SchemaTooNew { found, .. } if found == SCHEMA_VERSION + 1));
        assert!(err.to_string().contains("update LifeOS"));
        assert_eq!(loaded.heads(), before);
    }

    #[test]
    fn a_copy_turns_read_only_when_a_newer_version_arrives_over_sync() {
        let mut newer = LifeDoc::new(DocKind::Tasks);
        let mut older = LifeDoc::load(DocKind::Tasks, &newer.save()).unwrap();
        set_schema_version(&mut newer, SCHEMA_VERSION + 1).unwrap();
        let changes = newer.automerge_mut().get_changes(&[]);
        older.automerge_mut().apply_changes(changes).unwrap();
        assert!(!older.is_writable());
        assert!(older.edit(Timestamp::from_millis(1), |_| Ok(())).is_err());
    }

    #[test]
    fn a_failed_edit_leaves_nothing_behind() {
        let mut d = LifeDoc::new(DocKind::Tasks);
        let tasks = d.collection("tasks").unwrap();
        let before = d.heads();
        let r: Result<()> = d.edit(Timestamp::from_millis(5), |doc| {
            doc.put(&tasks, "x", 1)?;
            Err(Error::invalid("title", "nope"))
        });
        assert!(r.is_err());
        assert_eq!(d.heads(), before);
        assert_eq!(d.automerge().length(&tasks), 0);
    }
}
