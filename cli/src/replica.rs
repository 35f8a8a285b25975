//! The local replica: the user's documents, and what the CLI knows about its
//! account, in one SQLite file (ARCHITECTURE.md, "The command line client").
//!
//! Documents are stored the way `lifeos_core::local` describes: a snapshot
//! plus numbered chunks (incremental saves), folded into a new snapshot now
//! and then. Every command works inside one [`Session`], an `IMMEDIATE`
//! transaction: two `lifeos` processes take turns, and each sees what the
//! other committed. Damage is never papered over: a file that is not a
//! healthy database is refused as a whole and left as it is; a chunk or
//! snapshot that does not load is moved to `quarantine` (kept, reported),
//! and sync fetches the document again from the relay.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use automerge::{AutoCommit, ChangeHash};
use lifeos_core::DocumentId;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// The replica format this CLI writes, and the newest it reads.
pub const FORMAT: i64 = 1;

/// The file's name in the data directory.
pub const FILE: &str = "replica.db";

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE snapshots (document_id BLOB PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE chunks (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id BLOB NOT NULL,
    data        BLOB NOT NULL
);
CREATE INDEX chunks_document ON chunks (document_id, seq);
-- The heads the relay last confirmed it stores, per document.
CREATE TABLE confirmed (document_id BLOB PRIMARY KEY, heads BLOB NOT NULL);
-- Records that did not load: kept, never deleted by the CLI.
CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id BLOB NOT NULL,
    data        BLOB NOT NULL,
    reason      TEXT NOT NULL,
    at          INTEGER NOT NULL
);
-- Which record of which import source became which entity.
CREATE TABLE imports (
    source TEXT NOT NULL,
    key    TEXT NOT NULL,
    entity TEXT NOT NULL,
    at     INTEGER NOT NULL,
    PRIMARY KEY (source, key)
);
";

/// Why the replica cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// The file is not a healthy database: refused, and left untouched.
    #[error(
        "{path} is damaged ({reason}); it was left as it is: move it aside to start a new replica (and `lifeos sync` to fetch your data again)"
    )]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        reason: String,
    },
    /// A newer `lifeos` wrote it.
    #[error(
        "{path} was written by a newer lifeos (replica format {found}, this one reads up to {FORMAT}): update lifeos"
    )]
    Newer {
        /// The file.
        path: PathBuf,
        /// Its format.
        found: i64,
    },
    /// The data directory cannot be used.
    #[error("{path}: {source}")]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// Another SQLite error (a full disk, a lock held too long...).
    #[error("local database: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The replica file, open.
pub struct Replica {
    conn: Connection,
    path: PathBuf,
}

impl Replica {
    /// Opens the replica in `dir`, creating both if needed.
    pub fn open(dir: &Path) -> Result<Replica, ReplicaError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ReplicaError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(FILE);
        let existed = path.exists();
        let damaged = |reason: String| ReplicaError::Damaged {
            path: path.clone(),
            reason,
        };
        let conn = Connection::open(&path).map_err(|e| damaged(e.to_string()))?;
        conn.busy_timeout(Duration::from_secs(10))?;
        if existed {
            // Before anything writes: a damaged file stays exactly as it is.
            let check: String = conn
                .query_row("PRAGMA quick_check", [], |r| r.get(0))
                .map_err(|e| damaged(e.to_string()))?;
            if check != "ok" {
                return Err(damaged(check));
            }
        }
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > FORMAT {
            return Err(ReplicaError::Newer {
                path,
                found: version,
            });
        }
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
        if version == 0 {
            let tx = conn.unchecked_transaction()?;
            // Another process may have created it meanwhile.
            let again: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if again == 0 {
                tx.execute_batch(SCHEMA)?;
                tx.execute_batch(&format!("PRAGMA user_version = {FORMAT}"))?;
            }
            tx.commit()?;
            restrict_permissions(&path).map_err(io(&path))?;
        }
        Ok(Replica { conn, path })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A number that changes when another process commits to the replica
    /// (SQLite's `data_version`): `sync --watch` polls it to send edits made
    /// by other `lifeos` commands while it runs.
    pub fn data_version(&self) -> Result<i64, ReplicaError> {
        Ok(self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// Starts a session: waits (up to 10 s) for any other `lifeos` process
    /// to finish writing, then holds the write lock until it ends.
    pub fn session(&mut self) -> Result<Session<'_>, ReplicaError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        Ok(Session { tx })
    }
}

/// The replica holds a refresh token: only its owner may read it.
fn restrict_permissions(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// A document as read from the replica.
pub struct StoredDocument {
    /// The document.
    pub doc: AutoCommit,
    /// Its heads as stored: a later save writes what came after them.
    pub stored_heads: Vec<ChangeHash>,
    folded: Vec<i64>,
    chunk_bytes: usize,
    snapshot_bytes: usize,
}

/// Every document of the replica.
pub struct Loaded {
    /// By id.
    pub documents: BTreeMap<DocumentId, StoredDocument>,
    /// Records that did not load and were moved to quarantine, for the user.
    pub problems: Vec<String>,
}

/// One command's work on the replica: one `IMMEDIATE` transaction.
pub struct Session<'a> {
    tx: rusqlite::Transaction<'a>,
}

impl Session<'_> {
    /// A setting (account, tokens, device id...).
    pub fn meta(&self, key: &str) -> Result<Option<String>, ReplicaError> {
        Ok(self
            .tx
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Sets a setting.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), ReplicaError> {
        self.tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )?;
        Ok(())
    }

    /// Removes a setting.
    pub fn delete_meta(&self, key: &str) -> Result<(), ReplicaError> {
        self.tx.execute("DELETE FROM meta WHERE key = ?1", [key])?;
        Ok(())
    }

    /// Reads every document. Chunks that do not load, and documents whose
    /// snapshot does not load (with their chunks), move to quarantine.
    pub fn load(&self) -> Result<Loaded, ReplicaError> {
        let mut snapshots: BTreeMap<DocumentId, Vec<u8>> = BTreeMap::new();
        {
            let mut stmt = self.tx.prepare("SELECT document_id, data FROM snapshots")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get(1)?)))?;
            for row in rows {
                let (id, data) = row?;
                snapshots.insert(document_id(&id)?, data);
            }
        }
        let mut chunks: BTreeMap<DocumentId, Vec<(i64, Vec<u8>)>> = BTreeMap::new();
        {
            let mut stmt = self
                .tx
                .prepare("SELECT seq, document_id, data FROM chunks ORDER BY seq")?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?, r.get(2)?))
            })?;
            for row in rows {
                let (seq, id, data) = row?;
                chunks
                    .entry(document_id(&id)?)
                    .or_default()
                    .push((seq, data));
            }
        }
        let ids: Vec<DocumentId> = snapshots.keys().chain(chunks.keys()).copied().collect();
        let mut loaded = Loaded {
            documents: BTreeMap::new(),
            problems: Vec::new(),
        };
        for id in ids {
            if loaded.documents.contains_key(&id) {
                continue;
            }
            let snapshot = snapshots.remove(&id);
            let its_chunks = chunks.remove(&id).unwrap_or_default();
            let chunk_bytes = its_chunks.iter().map(|(_, c)| c.len()).sum();
            let snapshot_bytes = snapshot.as_ref().map_or(0, Vec::len);
            match lifeos_core::local::load(
                snapshot.as_deref(),
                its_chunks.iter().map(|(s, d)| (*s, d)),
            ) {
                Ok(mut read) => {
                    for seq in &read.damaged {
                        self.quarantine_chunk(*seq)?;
                        loaded.problems.push(format!(
                            "document {id}: a saved change did not load and was set aside"
                        ));
                    }
                    let stored_heads = read.doc.get_heads();
                    loaded.documents.insert(
                        id,
                        StoredDocument {
                            doc: read.doc,
                            stored_heads,
                            folded: read.folded,
                            chunk_bytes,
                            snapshot_bytes,
                        },
                    );
                }
                Err(damaged) => {
                    self.quarantine_document(id, &damaged.0)?;
                    loaded.problems.push(format!(
                        "document {id} did not load ({}) and was set aside; `lifeos sync` fetches it again",
                        damaged.0
                    ));
                }
            }
        }
        Ok(loaded)
    }

    fn quarantine_chunk(&self, seq: i64) -> Result<(), ReplicaError> {
        self.tx.execute(
            "INSERT INTO quarantine (document_id, data, reason, at) SELECT document_id, data, 'change does not load', ?2 FROM chunks WHERE seq = ?1",
            (seq, now_millis()),
        )?;
        self.tx
            .execute("DELETE FROM chunks WHERE seq = ?1", [seq])?;
        Ok(())
    }

    fn quarantine_document(&self, id: DocumentId, reason: &str) -> Result<(), ReplicaError> {
        let key = id.as_bytes().to_vec();
        self.tx.execute(
            "INSERT INTO quarantine (document_id, data, reason, at) SELECT document_id, data, ?2, ?3 FROM snapshots WHERE document_id = ?1",
            (&key, format!("snapshot does not load: {reason}"), now_millis()),
        )?;
        self.tx.execute(
            "INSERT INTO quarantine (document_id, data, reason, at) SELECT document_id, data, 'its snapshot does not load', ?2 FROM chunks WHERE document_id = ?1 ORDER BY seq",
            (&key, now_millis()),
        )?;
        self.tx
            .execute("DELETE FROM snapshots WHERE document_id = ?1", [&key])?;
        self.tx
            .execute("DELETE FROM chunks WHERE document_id = ?1", [&key])?;
        Ok(())
    }

    /// Saves what changed in `doc` since `stored` was read (a new document
    /// when `stored` is `None`): one chunk, and a new snapshot instead when
    /// enough chunks piled up. Returns whether anything was written.
    pub fn save(
        &self,
        id: DocumentId,
        doc: &mut AutoCommit,
        stored: Option<&mut StoredDocument>,
    ) -> Result<bool, ReplicaError> {
        let key = id.as_bytes().to_vec();
        let heads = doc.get_heads();
        let Some(stored) = stored else {
            self.tx.execute(
                "INSERT INTO snapshots (document_id, data) VALUES (?1, ?2) ON CONFLICT (document_id) DO UPDATE SET data = excluded.data",
                (&key, doc.save()),
            )?;
            return Ok(true);
        };
        if heads == stored.stored_heads {
            return Ok(false);
        }
        let chunk = doc.save_after(&stored.stored_heads);
        stored.chunk_bytes += chunk.len();
        self.tx.execute(
            "INSERT INTO chunks (document_id, data) VALUES (?1, ?2)",
            (&key, &chunk),
        )?;
        stored.folded.push(self.tx.last_insert_rowid());
        stored.stored_heads = heads;
        if lifeos_core::local::should_compact(
            stored.folded.len(),
            stored.chunk_bytes,
            stored.snapshot_bytes,
        ) {
            // Fold exactly the chunks that went into this document.
            let snapshot = doc.save();
            self.tx.execute(
                "INSERT INTO snapshots (document_id, data) VALUES (?1, ?2) ON CONFLICT (document_id) DO UPDATE SET data = excluded.data",
                (&key, &snapshot),
            )?;
            for seq in stored.folded.drain(..) {
                self.tx
                    .execute("DELETE FROM chunks WHERE seq = ?1", [seq])?;
            }
            stored.chunk_bytes = 0;
            stored.snapshot_bytes = snapshot.len();
        }
        Ok(true)
    }

    /// Removes document `id` (a device-local root whose documents joined
    /// the account) with its chunks and confirmed heads.
    pub fn delete_document(&self, id: DocumentId) -> Result<(), ReplicaError> {
        let key = id.as_bytes().to_vec();
        for table in ["snapshots", "chunks", "confirmed"] {
            self.tx.execute(
                &format!("DELETE FROM {table} WHERE document_id = ?1"),
                [&key],
            )?;
        }
        Ok(())
    }

    /// The heads the relay last confirmed storing for `id`.
    pub fn confirmed(&self, id: DocumentId) -> Result<Vec<ChangeHash>, ReplicaError> {
        let heads: Option<Vec<u8>> = self
            .tx
            .query_row(
                "SELECT heads FROM confirmed WHERE document_id = ?1",
                [id.as_bytes().to_vec()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(heads
            .unwrap_or_default()
            .chunks_exact(32)
            .filter_map(|h| ChangeHash::try_from(h).ok())
            .collect())
    }

    /// Records that the relay stores `id` up to `heads`.
    pub fn set_confirmed(&self, id: DocumentId, heads: &[ChangeHash]) -> Result<(), ReplicaError> {
        let bytes: Vec<u8> = heads.iter().flat_map(|h| h.0).collect();
        self.tx.execute(
            "INSERT INTO confirmed (document_id, heads) VALUES (?1, ?2) ON CONFLICT (document_id) DO UPDATE SET heads = excluded.heads",
            (id.as_bytes().to_vec(), bytes),
        )?;
        Ok(())
    }

    /// The entity an earlier import made of record `key` of `source`
    /// (`"todoist"`, `"bank"`...), if one did: importing it again adds nothing.
    pub fn imported(&self, source: &str, key: &str) -> Result<Option<String>, ReplicaError> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT entity FROM imports WHERE source = ?1 AND key = ?2")?;
        Ok(stmt.query_row((source, key), |r| r.get(0)).optional()?)
    }

    /// Records that record `key` of `source` became `entity` at `at`
    /// (milliseconds since the epoch). Recording a key twice is an error:
    /// callers ask [`Session::imported`] first.
    pub fn record_import(
        &self,
        source: &str,
        key: &str,
        entity: &str,
        at: i64,
    ) -> Result<(), ReplicaError> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO imports (source, key, entity, at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        stmt.execute((source, key, entity, at))?;
        Ok(())
    }

    /// Records that the quarantine holds, for `status`.
    pub fn quarantined(&self) -> Result<i64, ReplicaError> {
        Ok(self
            .tx
            .query_row("SELECT count(*) FROM quarantine", [], |r| r.get(0))?)
    }

    /// Ends the session, keeping what it wrote.
    pub fn commit(self) -> Result<(), ReplicaError> {
        self.tx.commit()?;
        Ok(())
    }
}

fn document_id(bytes: &[u8]) -> Result<DocumentId, ReplicaError> {
    <[u8; 16]>::try_from(bytes)
        .map(DocumentId::from)
        .map_err(|_| {
            ReplicaError::Sqlite(rusqlite::Error::InvalidColumnType(
                0,
                "document_id".into(),
                rusqlite::types::Type::Blob,
            ))
        })
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ROOT, ReadDoc};

    use super::*;

    fn edit(doc: &mut AutoCommit, key: &str) {
        doc.put(ROOT, key, key).unwrap();
        doc.commit();
    }

    #[test]
    fn documents_survive_sessions_and_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let id = DocumentId::generate();
        let mut doc = AutoCommit::new();
        edit(&mut doc, "first");
        {
            let mut replica = Replica::open(dir.path()).unwrap();
            let s = replica.session().unwrap();
            assert!(s.save(id, &mut doc, None).unwrap());
            s.set_meta("relay", "http://localhost:8080").unwrap();
            s.commit().unwrap();
        }
        // Many sessions, one change each: chunks, then a compaction.
        for n in 0..70 {
            let mut replica = Replica::open(dir.path()).unwrap();
            let s = replica.session().unwrap();
            let mut loaded = s.load().unwrap();
            assert!(loaded.problems.is_empty());
            let stored = loaded.documents.get_mut(&id).unwrap();
            let mut doc = stored.doc.fork();
            edit(&mut doc, &format!("k{n}"));
            assert!(s.save(id, &mut doc, Some(stored)).unwrap());
            assert!(!s.save(id, &mut doc, Some(stored)).unwrap(), "nothing new");
            s.commit().unwrap();
        }
        let mut replica = Replica::open(dir.path()).unwrap();
        let s = replica.session().unwrap();
        let loaded = s.load().unwrap();
        let doc = &loaded.documents[&id].doc;
        assert_eq!(
            doc.get(ROOT, "k69").unwrap().unwrap().0.as_str(),
            Some("k69")
        );
        assert_eq!(
            s.meta("relay").unwrap().as_deref(),
            Some("http://localhost:8080")
        );
        let chunks: i64 =
            s.tx.query_row("SELECT count(*) FROM chunks", [], |r| r.get(0))
                .unwrap();
        assert!(chunks < 64, "folded into a snapshot: {chunks} chunks left");
    }

    #[test]
    fn a_second_process_waits_and_sees_the_first_ones_work() {
        let dir = tempfile::tempdir().unwrap();
        Replica::open(dir.path()).unwrap();
        let path = dir.path().to_path_buf();
        let mut first = Replica::open(&path).unwrap();
        let session = first.session().unwrap();
        session.set_meta("who", "first").unwrap();
        let waiter = std::thread::spawn(move || {
            let mut second = Replica::open(&path).unwrap();
            let s = second.session().unwrap();
            let seen = s.meta("who").unwrap();
            s.set_meta("who", "second").unwrap();
            s.commit().unwrap();
            seen
        });
        std::thread::sleep(Duration::from_millis(200));
        session.commit().unwrap();
        assert_eq!(waiter.join().unwrap().as_deref(), Some("first"));
    }

    #[test]
    fn damage_is_refused_or_set_aside_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(FILE),
            b"this is not an SQLite database at all, not even close....",
        )
        .unwrap();
        let err = Replica::open(dir.path()).err().unwrap();
        assert!(matches!(err, ReplicaError::Damaged { .. }), "{err}");
        assert!(err.to_string().contains("left as it is"));
        assert_eq!(
            std::fs::read(dir.path().join(FILE)).unwrap(),
            b"this is not an SQLite database at all, not even close....",
            "untouched"
        );

        // A chunk that is not Automerge is moved to quarantine, the rest loads.
        let dir = tempfile::tempdir().unwrap();
        let id = DocumentId::generate();
        let mut replica = Replica::open(dir.path()).unwrap();
        let s = replica.session().unwrap();
        let mut doc = AutoCommit::new();
        edit(&mut doc, "a");
        s.save(id, &mut doc, None).unwrap();
        s.tx.execute(
            "INSERT INTO chunks (document_id, data) VALUES (?1, ?2)",
            (id.as_bytes().to_vec(), b"garbage".to_vec()),
        )
        .unwrap();
        let loaded = s.load().unwrap();
        assert_eq!(loaded.problems.len(), 1);
        assert!(loaded.documents.contains_key(&id));
        assert_eq!(s.quarantined().unwrap(), 1);
        // A snapshot that does not load sets the whole document aside.
        s.tx.execute(
            "UPDATE snapshots SET data = ?2 WHERE document_id = ?1",
            (id.as_bytes().to_vec(), b"not a document".to_vec()),
        )
        .unwrap();
        let loaded = s.load().unwrap();
        assert!(!loaded.documents.contains_key(&id));
        assert_eq!(s.quarantined().unwrap(), 2);
        s.commit().unwrap();
    }

    #[test]
    fn a_newer_format_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        Replica::open(dir.path()).unwrap();
        let conn = Connection::open(dir.path().join(FILE)).unwrap();
        conn.execute_batch(&format!("PRAGMA user_version = {}", FORMAT + 1))
            .unwrap();
        drop(conn);
        let err = Replica::open(dir.path()).err().unwrap();
        assert!(matches!(err, ReplicaError::Newer { .. }), "{err}");
    }

    #[test]
    fn imports_are_remembered_per_source_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut replica = Replica::open(dir.path()).unwrap();
        let s = replica.session().unwrap();
        assert_eq!(s.imported("bank", "2026-11-03|450").unwrap(), None);
        s.record_import("bank", "2026-11-03|450", "expense-1", 1)
            .unwrap();
        assert_eq!(
            s.imported("bank", "2026-11-03|450").unwrap().as_deref(),
            Some("expense-1")
        );
        assert_eq!(s.imported("todoist", "2026-11-03|450").unwrap(), None);
        // Quotes and the like are data, never SQL.
        let odd = "'); DROP TABLE imports; --";
        s.record_import("todoist", odd, "task-1", 2).unwrap();
        assert_eq!(
            s.imported("todoist", odd).unwrap().as_deref(),
            Some("task-1")
        );
        assert!(
            s.record_import("bank", "2026-11-03|450", "again", 3)
                .is_err()
        );
    }

    #[test]
    fn confirmed_heads_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut replica = Replica::open(dir.path()).unwrap();
        let s = replica.session().unwrap();
        let id = DocumentId::generate();
        assert!(s.confirmed(id).unwrap().is_empty());
        let mut doc = AutoCommit::new();
        edit(&mut doc, "a");
        let heads = doc.get_heads();
        s.set_confirmed(id, &heads).unwrap();
        assert_eq!(s.confirmed(id).unwrap(), heads);
    }
}
