//! The kinds of LifeOS documents, their schema versions and their genesis.
//!
//! Every document starts with a *genesis* change that creates its top-level
//! containers (`tasks`, `expenses`...). The genesis is deterministic: the same
//! actor, the same time (0) and the same operations on every device, so it has
//! the same hash everywhere. Two devices that create the same document offline
//! therefore share its containers instead of creating rival ones, and no later
//! edit depends on which device created a container first. See docs/schema.md.

use std::fmt;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ObjType, ROOT};
use serde::Serialize;

use crate::time::Month;

/// The schema version this build writes and fully understands.
pub const SCHEMA_VERSION: u64 = 1;

/// The actor of every genesis change. Never used for anything else.
const GENESIS_ACTOR: [u8; 16] = *b"lifeos-genesis-1";

/// What a document holds. Stored in the document as `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DocKind {
    /// The user's root: settings and the list of the user's other documents.
    Root,
    /// Tasks and projects.
    Tasks,
    /// Habits and their check-ins.
    Habits,
    /// Expense categories and their monthly budgets.
    Finance,
    /// The expenses of one calendar month (`ledger` documents are partitioned by month).
    Ledger,
}

impl DocKind {
    /// The name stored in documents.
    pub fn as_str(&self) -> &'static str {
        match self {
            DocKind::Root => "root",
            DocKind::Tasks => "tasks",
            DocKind::Habits => "habits",
            DocKind::Finance => "finance",
            DocKind::Ledger => "ledger",
        }
    }

    /// The kind named `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "root" => DocKind::Root,
            "tasks" => DocKind::Tasks,
            "habits" => DocKind::Habits,
            "finance" => DocKind::Finance,
            "ledger" => DocKind::Ledger,
            _ => return None,
        })
    }

    /// The top-level maps a document of this kind holds, created by its genesis.
    pub(crate) fn collections(&self) -> &'static [&'static str] {
        match self {
            DocKind::Root => &["documents", "settings"],
            DocKind::Tasks => &["tasks", "projects"],
            DocKind::Habits => &["habits"],
            DocKind::Finance => &["categories"],
            DocKind::Ledger => &["expenses"],
        }
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A new document of `kind`: its deterministic genesis change, then a fresh
/// random actor for this device's own edits. A ledger's `month` is part of its
/// genesis, so no copy of a ledger ever exists without its month.
pub(crate) fn genesis(kind: DocKind, month: Option<Month>) -> AutoCommit {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(GENESIS_ACTOR));
    // These puts cannot fail on a fresh document with valid keys.
    doc.put(ROOT, "schema_version", SCHEMA_VERSION)
        .expect("genesis put");
    doc.put(ROOT, "kind", kind.as_str()).expect("genesis put");
    if let Some(month) = month {
        doc.put(ROOT, "month", month.to_string())
            .expect("genesis put");
    }
    for name in kind.collections() {
        doc.put_object(ROOT, *name, ObjType::Map)
            .expect("genesis put_object");
    }
    doc.commit_with(CommitOptions::default().with_time(0));
    doc.set_actor(ActorId::random());
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_is_identical_on_every_device() {
        let mut a = genesis(DocKind::Tasks, None);
        let mut b = genesis(DocKind::Tasks, None);
        assert_eq!(a.get_heads(), b.get_heads());
        assert_ne!(
            a.get_actor(),
            b.get_actor(),
            "each device edits with its own actor"
        );
        let mut c = genesis(DocKind::Ledger, Some(Month::new(2026, 11).unwrap()));
        assert_ne!(a.get_heads(), c.get_heads());
        assert_ne!(
            c.get_heads(),
            genesis(DocKind::Ledger, Some(Month::new(2026, 12).unwrap())).get_heads()
        );
    }

    #[test]
    fn kinds_round_trip() {
        for k in [
            DocKind::Root,
            DocKind::Tasks,
            DocKind::Habits,
            DocKind::Finance,
            DocKind::Ledger,
        ] {
            assert_eq!(DocKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(DocKind::parse("nope"), None);
    }
}
