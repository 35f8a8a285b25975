//! How a device keeps documents in its own storage, independent of what that
//! storage is (IndexedDB in the browser, SQLite in the CLI).
//!
//! A document is stored as at most one *snapshot* (a full `save()`) plus
//! *chunks* (the changes made or received since, each a `save_after()` of the
//! heads stored before). Writing a chunk is cheap and never touches the
//! snapshot; [`should_compact`] says when to fold the chunks into a new
//! snapshot, which the caller writes and then deletes exactly the chunks it
//! folded, in one transaction.
//!
//! Loading is strict: a snapshot that does not load is refused as a whole,
//! and a chunk that is not well-formed Automerge is reported by its key and
//! left out, so that the caller can set it aside instead of compacting it
//! away. Storage damage is never silently turned into a smaller document that
//! later overwrites the original.

use automerge::{AutoCommit, AutomergeError, LoadOptions, OnPartialLoad, VerificationMode};

/// Fold chunks into a new snapshot once there are this many.
pub const COMPACT_AFTER_CHUNKS: usize = 64;

/// A document read back from storage.
#[derive(Debug)]
pub struct Loaded<K> {
    /// The document: the snapshot with every good chunk applied.
    pub doc: AutoCommit,
    /// Keys of the chunks that went into `doc` (to delete after a compaction).
    pub folded: Vec<K>,
    /// Keys of chunks that are not Automerge: keep them aside, never delete them.
    pub damaged: Vec<K>,
}

/// The stored snapshot of a document is not a document.
#[derive(Debug, thiserror::Error)]
#[error("the stored snapshot cannot be read: {0}")]
pub struct DamagedSnapshot(pub String);

fn strict() -> LoadOptions<'static> {
    LoadOptions::new()
        .on_partial_load(OnPartialLoad::Error)
        .verification_mode(VerificationMode::Check)
}

/// Whether `bytes` is well-formed Automerge on its own. Changes whose
/// dependencies are elsewhere (in the snapshot or another chunk) are fine.
pub fn is_well_formed(bytes: &[u8]) -> bool {
    if bytes.is_empty() {
        return false;
    }
    match automerge::Automerge::load_with_options(bytes, strict()) {
        Ok(_) | Err(AutomergeError::MissingDeps) => true,
        Err(_) => false,
    }
}

/// Loads a document from its snapshot (if any) and chunks, in the order given.
pub fn load<K>(
    snapshot: Option<&[u8]>,
    chunks: impl IntoIterator<Item = (K, impl AsRef<[u8]>)>,
) -> Result<Loaded<K>, DamagedSnapshot> {
    let mut doc = match snapshot {
        Some(bytes) => AutoCommit::load_with_options(bytes, strict())
            .map_err(|e| DamagedSnapshot(e.to_string()))?,
        None => AutoCommit::new(),
    };
    let mut folded = Vec::new();
    let mut damaged = Vec::new();
    for (key, bytes) in chunks {
        let bytes = bytes.as_ref();
        if is_well_formed(bytes) && doc.load_incremental(bytes).is_ok() {
            folded.push(key);
        } else {
            damaged.push(key);
        }
    }
    Ok(Loaded {
        doc,
        folded,
        damaged,
    })
}

/// Whether a document with `chunks` chunks stored (of `chunk_bytes` bytes in
/// all, next to a snapshot of `snapshot_bytes`) should be compacted now.
pub fn should_compact(chunks: usize, chunk_bytes: usize, snapshot_bytes: usize) -> bool {
    chunks >= COMPACT_AFTER_CHUNKS || (chunks > 1 && chunk_bytes > snapshot_bytes.max(64 * 1024))
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::{ROOT, ReadDoc, transaction::Transactable};

    fn edit(doc: &mut AutoCommit, key: &str, value: i64) -> Vec<u8> {
        let before = doc.get_heads();
        doc.put(ROOT, key, value).unwrap();
        doc.commit();
        doc.save_after(&before)
    }

    #[test]
    fn snapshot_plus_chunks_load_to_the_same_document_and_compaction_folds_them() {
        let mut doc = AutoCommit::new();
        edit(&mut doc, "a", 1);
        let snapshot = doc.save();
        let chunks: Vec<(u32, Vec<u8>)> = (0..5)
            .map(|i| (i, edit(&mut doc, &format!("k{i}"), i64::from(i))))
            .collect();
        let mut loaded = load(Some(&snapshot), chunks.clone()).unwrap();
        assert_eq!(loaded.doc.get_heads(), doc.get_heads());
        assert_eq!(loaded.folded, vec![0, 1, 2, 3, 4]);
        assert!(loaded.damaged.is_empty());
        // Chunks in any order (two tabs, two writers) give the same document.
        let mut reversed = chunks.clone();
        reversed.reverse();
        let mut again = load(Some(&snapshot), reversed).unwrap();
        assert_eq!(again.doc.get_heads(), doc.get_heads());
        // A compaction's snapshot alone is the whole document.
        let compacted = loaded.doc.save();
        let mut from_snapshot = load(Some(&compacted), Vec::<(u32, Vec<u8>)>::new()).unwrap();
        assert_eq!(from_snapshot.doc.get_heads(), doc.get_heads());
        assert_eq!(
            from_snapshot
                .doc
                .get(ROOT, "k4")
                .unwrap()
                .unwrap()
                .0
                .as_i64(),
            Some(4)
        );
    }

    #[test]
    fn a_damaged_chunk_is_reported_and_the_rest_still_loads() {
        let mut doc = AutoCommit::new();
        let first = edit(&mut doc, "a", 1);
        let mut garbage = edit(&mut doc, "b", 2);
        let last = doc.save_after(&[]);
        garbage.truncate(garbage.len() / 2);
        let loaded = load(
            None,
            vec![(1, first), (2, garbage), (3, vec![1, 2, 3]), (4, last)],
        )
        .unwrap();
        assert_eq!(loaded.folded, vec![1, 4]);
        assert_eq!(loaded.damaged, vec![2, 3]);
        // Nothing was lost that a good chunk held: the last chunk has both changes.
        assert_eq!(
            loaded.doc.get(ROOT, "b").unwrap().unwrap().0.as_i64(),
            Some(2)
        );
    }

    #[test]
    fn a_damaged_snapshot_is_refused() {
        let mut doc = AutoCommit::new();
        edit(&mut doc, "a", 1);
        let mut snapshot = doc.save();
        let n = snapshot.len();
        snapshot[n - 3] ^= 0xff;
        assert!(load(Some(&snapshot), Vec::<(u8, Vec<u8>)>::new()).is_err());
        assert!(load(Some(b"not automerge"), Vec::<(u8, Vec<u8>)>::new()).is_err());
    }

    #[test]
    fn change_chunks_whose_dependencies_are_elsewhere_are_well_formed() {
        let mut doc = AutoCommit::new();
        edit(&mut doc, "a", 1);
        let second = edit(&mut doc, "b", 2);
        assert!(is_well_formed(&second));
        assert!(is_well_formed(&doc.save()));
        assert!(!is_well_formed(&[]));
        assert!(!is_well_formed(&[0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1]));
    }

    #[test]
    fn compaction_thresholds() {
        assert!(!should_compact(0, 0, 0));
        assert!(!should_compact(10, 1_000, 50_000));
        assert!(should_compact(COMPACT_AFTER_CHUNKS, 1_000, 50_000));
        assert!(should_compact(3, 200_000, 100_000));
        assert!(!should_compact(1, 200_000, 100_000));
    }
}
