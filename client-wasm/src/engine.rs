//! The app's state machine, free of browser APIs so that it is tested natively.
//!
//! The [`Engine`] holds the user's documents and the sync protocol state. The
//! browser glue (`runtime.rs`) feeds it what happens (user actions,
//! WebSocket frames, a sign-in) and carries out the [`Effects`] it returns:
//! records to write to IndexedDB, frames to send. Every change to a document,
//! local or from the relay, is turned into a storage write here, so nothing
//! the user sees can be missing from storage after the write queue drains.

use std::collections::{BTreeMap, HashMap};

use automerge::{AutoCommit, ChangeHash};
use lifeos_core::local::{self, should_compact};
use lifeos_core::sync::client::ClientOutput;
use lifeos_core::sync::codec;
use lifeos_core::sync::connection::{ClientConnection, Event};
use lifeos_core::sync::device::{DeviceDocuments, DeviceSync};
use lifeos_core::sync::message::{PeerId, PeerMetadata};
use lifeos_core::time::{Date, Month, Timestamp};
use lifeos_core::{DocKind, DocumentId, Error, LifeDoc, UserData};
use serde::{Deserialize, Serialize};

use crate::views::Views;

/// Largest frame accepted from the relay.
pub const MAX_FRAME: usize = 64 * 1024 * 1024;

/// What the app keeps about itself besides documents (the `meta` record).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Meta {
    /// Format of this record.
    pub version: u32,
    /// This browser's peer id in the sync protocol.
    pub peer_id: String,
    /// Root of the data made on this device before signing in, until it joins an account.
    pub local_root: Option<String>,
    /// The signed-in account.
    pub account: Option<Account>,
    /// The heads the relay last confirmed storing, per document (hex), so the
    /// count of changes it lacks is right offline and after a reload.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub confirmed: BTreeMap<String, Vec<String>>,
}

/// A signed-in account.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Account {
    /// The user's id.
    pub user_id: String,
    /// The user's email.
    pub email: String,
    /// The current refresh token (rotated on every refresh).
    pub refresh_token: String,
    /// The account's root document.
    pub root: String,
}

/// The format version of [`Meta`] this build writes.
pub const META_VERSION: u32 = 1;

/// A storage write, carried out in order, one transaction per [`Effects`].
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// Replace a document's snapshot.
    Snapshot(String, Vec<u8>),
    /// Add a chunk.
    Chunk(String, f64, Vec<u8>),
    /// Delete a chunk that a snapshot now holds.
    DeleteChunk(String, f64),
    /// Delete a snapshot (the document left this device's data).
    DeleteSnapshot(String),
    /// Move a damaged record aside (it is kept, never deleted).
    Quarantine {
        /// The document.
        doc: String,
        /// The chunk key, or `None` for the snapshot.
        chunk: Option<f64>,
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// Replace the meta record.
    Meta(String),
}

/// What the browser must do after an engine call.
#[derive(Debug, Default)]
pub struct Effects {
    /// Records to write, in one transaction.
    pub writes: Vec<Write>,
    /// Frames to send to the relay.
    pub sends: Vec<Vec<u8>>,
    /// The connection must be closed (protocol error or the relay refused).
    pub close: Option<String>,
}

impl Effects {
    fn extend(&mut self, other: Effects) {
        self.writes.extend(other.writes);
        self.sends.extend(other.sends);
        if other.close.is_some() {
            self.close = other.close;
        }
    }
}

/// What IndexedDB held at start.
#[derive(Debug, Default)]
pub struct Stored {
    /// The meta record, if any.
    pub meta: Option<String>,
    /// Snapshots by document id.
    pub snapshots: HashMap<String, Vec<u8>>,
    /// Chunks: document id, key, bytes.
    pub chunks: Vec<(String, f64, Vec<u8>)>,
}

/// Where a stored document stands.
#[derive(Debug, Default, Clone)]
struct Saved {
    heads: Vec<ChangeHash>,
    chunks: Vec<f64>,
    chunk_bytes: usize,
    snapshot_bytes: usize,
}

/// The sync status shown to the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncStatus {
    /// Not signed in: everything stays on this device.
    LocalOnly,
    /// Signed in, not connected.
    Offline,
    /// Connected; `unconfirmed` changes are not yet durable on the relay.
    Syncing {
        /// Changes the relay has not confirmed.
        unconfirmed: usize,
    },
    /// Connected and the relay has everything.
    Synced,
}

/// A stored document's records, not loaded yet.
#[derive(Debug)]
struct Records {
    key: String,
    snapshot: Option<Vec<u8>>,
    chunks: Vec<(f64, Vec<u8>)>,
}

impl Records {
    fn new(key: String) -> Self {
        Records {
            key,
            snapshot: None,
            chunks: Vec::new(),
        }
    }

    /// Whether these records hold a root document (to recover a lost meta record).
    fn looks_like_root(&self) -> bool {
        local::load(
            self.snapshot.as_deref(),
            self.chunks.iter().map(|(k, b)| (*k, b.as_slice())),
        )
        .ok()
        .is_some_and(|l| LifeDoc::from_automerge(DocKind::Root, l.doc).is_ok())
    }
}

/// Whose data a deferred document joins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Local,
    Account,
}

/// The app's documents and sync state.
pub struct Engine {
    /// Data written by a newer version: shown, never written.
    frozen: bool,
    meta: Meta,
    /// Data made before signing in (no account), or not yet adopted by the account.
    local: Option<UserData>,
    /// The account's sync, once signed in.
    sync: Option<DeviceSync>,
    connection: Option<ClientConnection>,
    saved: HashMap<DocumentId, Saved>,
    next_chunk: f64,
    problems: Vec<String>,
    /// Stored documents not loaded (not listed, or not reached yet).
    records: HashMap<DocumentId, Records>,
    /// Listed documents to load after the first screen (older ledgers).
    deferred: Vec<(DocumentId, Target, DocKind)>,
    /// Writes produced outside an effect-returning call (damaged records set aside).
    queued: Vec<Write>,
    views: Views,
    /// The month of "today" at start: its ledger is loaded first.
    month: Month,
}

fn doc_key(id: &DocumentId) -> String {
    id.to_url()
}

impl Engine {
    /// Opens what storage held (or starts afresh), returning the writes that
    /// set aside damaged records and store anything new.
    pub fn open(
        stored: Stored,
        now: Timestamp,
        today: Date,
        random_peer: String,
    ) -> (Engine, Effects) {
        let mut problems = Vec::new();
        let mut effects = Effects::default();
        let mut frozen = false;
        let mut recover = false;
        let meta = match stored.meta.as_deref().map(serde_json::from_str::<Meta>) {
            Some(Ok(meta)) => {
                if meta.version > META_VERSION {
                    frozen = true;
                    problems.push(format!(
                        "This browser's LifeOS data was written by a newer version (format {}). \
                         It is shown read-only and nothing is changed; reload to get the new version.",
                        meta.version
                    ));
                }
                Some(meta)
            }
            Some(Err(e)) => {
                problems.push(format!(
                    "The app's own record in this browser could not be read ({e}); \
                     your documents were kept and reopened. Sign in again to sync."
                ));
                recover = true;
                None
            }
            None => None,
        };
        let fresh = meta.is_none();
        let mut meta = meta.unwrap_or(Meta {
            version: META_VERSION,
            peer_id: random_peer,
            local_root: None,
            account: None,
            confirmed: BTreeMap::new(),
        });

        // Group the records by document; documents are loaded on demand.
        let mut records: HashMap<DocumentId, Records> = HashMap::new();
        let mut max_key = 0f64;
        let mut bad_ids = Vec::new();
        let mut record = |key: String| -> Option<DocumentId> {
            match DocumentId::parse(&key) {
                Ok(id) => Some(id),
                Err(_) => {
                    bad_ids.push(key);
                    None
                }
            }
        };
        let mut by_id: HashMap<String, DocumentId> = HashMap::new();
        for (key, bytes) in stored.snapshots {
            if let Some(id) = record(key.clone()) {
                by_id.insert(key.clone(), id);
                records
                    .entry(id)
                    .or_insert_with(|| Records::new(key))
                    .snapshot = Some(bytes);
            }
        }
        for (key, chunk, bytes) in stored.chunks {
            max_key = max_key.max(chunk);
            let id = match by_id.get(&key) {
                Some(id) => Some(*id),
                None => record(key.clone()),
            };
            if let Some(id) = id {
                by_id.insert(key.clone(), id);
                records
                    .entry(id)
                    .or_insert_with(|| Records::new(key))
                    .chunks
                    .push((chunk, bytes));
            }
        }
        bad_ids.sort();
        bad_ids.dedup();
        for key in bad_ids {
            problems.push(format!(
                "A stored record has an invalid document id ({key}); it was left untouched."
            ));
        }

        let mut engine = Engine {
            frozen,
            meta: meta.clone(),
            local: None,
            sync: None,
            connection: None,
            saved: HashMap::new(),
            next_chunk: max_key,
            problems,
            records,
            deferred: Vec::new(),
            queued: effects.writes.drain(..).collect(),
            views: Views::default(),
            month: Month::of(today),
        };

        if recover {
            // Find this device's data again: a root document among the records.
            let mut ids: Vec<DocumentId> = engine.records.keys().copied().collect();
            ids.sort();
            let root = ids
                .into_iter()
                .find(|id| engine.records[id].looks_like_root());
            meta.local_root = root.as_ref().map(doc_key);
            engine.meta.local_root = meta.local_root.clone();
        }

        // The device's own data (no account, or not yet adopted).
        if let Some(root) = meta.local_root.as_deref() {
            match engine.load_user(root, Target::Local) {
                Ok(data) => engine.local = Some(data),
                Err(e) => engine.problems.push(format!(
                    "This device's data could not be opened ({e}); it was left untouched and a new, empty set was started."
                )),
            }
        }
        if let Some(account) = meta.account.clone() {
            let documents = match DocumentId::parse(&account.root) {
                Ok(root_id) if engine.records.contains_key(&root_id) => {
                    match engine.load_user(&account.root, Target::Account) {
                        Ok(data) => DeviceDocuments::with_data(data),
                        Err(e) => {
                            engine.problems.push(format!(
                                "The account's data on this device could not be opened ({e}); it will be fetched from the relay."
                            ));
                            DeviceDocuments::new(root_id)
                        }
                    }
                }
                Ok(root_id) => DeviceDocuments::new(root_id),
                Err(e) => {
                    engine.problems.push(format!(
                        "The stored account is invalid ({e}); sign in again."
                    ));
                    meta.account = None;
                    engine.meta.account = None;
                    return engine.finish_open(now, fresh, effects);
                }
            };
            let peer = PeerId::new(meta.peer_id.clone())
                .unwrap_or_else(|| PeerId::new("web").expect("valid"));
            let mut sync = DeviceSync::new(peer, documents);
            for (doc, heads) in &meta.confirmed {
                let id = DocumentId::parse(doc);
                let heads: Result<Vec<ChangeHash>, _> = heads.iter().map(|h| h.parse()).collect();
                if let (Ok(id), Ok(heads)) = (id, heads) {
                    sync.remember_confirmed(id, heads);
                }
            }
            engine.sync = Some(sync);
        }
        engine.finish_open(now, fresh, effects)
    }

    fn finish_open(mut self, now: Timestamp, fresh: bool, mut effects: Effects) -> (Self, Effects) {
        if self.frozen {
            self.queued.clear();
            return (self, Effects::default());
        }
        let mut meta_changed = fresh;
        if self.sync.is_none() && self.local.is_none() {
            // No account and no data: the app is usable at once, on this device only.
            let root = DocumentId::generate();
            let data = UserData::create(root, now).expect("a new user's documents");
            self.meta.local_root = Some(doc_key(&root));
            self.local = Some(data);
            meta_changed = true;
        }
        effects.writes.append(&mut self.queued);
        if meta_changed {
            effects.writes.push(self.meta_write());
        }
        effects.writes.extend(self.persist());
        (self, effects)
    }

    /// Loads one stored document strictly; damaged records are queued to be
    /// set aside and reported.
    fn load_doc(&mut self, id: DocumentId) -> Option<(AutoCommit, Saved)> {
        let Records {
            key,
            snapshot,
            mut chunks,
        } = self.records.remove(&id)?;
        chunks.sort_by(|a, b| a.0.total_cmp(&b.0));
        let chunk_bytes: usize = chunks.iter().map(|(_, b)| b.len()).sum();
        let snapshot_bytes = snapshot.as_ref().map_or(0, Vec::len);
        let by_key: HashMap<u64, Vec<u8>> = chunks
            .iter()
            .map(|(k, b)| (k.to_bits(), b.clone()))
            .collect();
        match local::load(snapshot.as_deref(), chunks) {
            Ok(l) => {
                for k in &l.damaged {
                    self.queued.push(Write::Quarantine {
                        doc: key.clone(),
                        chunk: Some(*k),
                        bytes: by_key.get(&k.to_bits()).cloned().unwrap_or_default(),
                    });
                }
                if !l.damaged.is_empty() {
                    self.problems.push(format!(
                        "{} damaged record(s) of document {key} could not be read; they were set aside, not deleted.",
                        l.damaged.len()
                    ));
                }
                let mut doc = l.doc;
                // After damage, later chunks may hold changes that wait
                // for the lost one: keep every chunk, fold none away.
                let folded = if l.damaged.is_empty() {
                    l.folded
                } else {
                    Vec::new()
                };
                let saved = Saved {
                    heads: doc.get_heads(),
                    chunks: folded,
                    chunk_bytes,
                    snapshot_bytes,
                };
                Some((doc, saved))
            }
            Err(e) => {
                self.problems.push(format!(
                    "Document {key} could not be read ({e}); it was set aside, not deleted."
                ));
                if let Some(bytes) = snapshot {
                    self.queued.push(Write::Quarantine {
                        doc: key.clone(),
                        chunk: None,
                        bytes,
                    });
                }
                for (k, bytes) in by_key {
                    self.queued.push(Write::Quarantine {
                        doc: key.clone(),
                        chunk: Some(f64::from_bits(k)),
                        bytes,
                    });
                }
                None
            }
        }
    }

    /// Builds the user's data from the root `root` and the documents it
    /// lists: what Today needs now, older months' ledgers deferred.
    fn load_user(&mut self, root: &str, target: Target) -> Result<UserData, Error> {
        let root_id = DocumentId::parse(root)?;
        let (root_doc, saved) = self
            .load_doc(root_id)
            .ok_or_else(|| Error::Corrupt("the root document is missing or unreadable".into()))?;
        let mut data = UserData::open(root_id, LifeDoc::from_automerge(DocKind::Root, root_doc)?)?;
        self.saved.insert(root_id, saved);
        for (id, role) in data.missing_documents()? {
            if !self.records.contains_key(&id) {
                continue;
            }
            if role.kind == DocKind::Ledger && role.month != Some(self.month) {
                self.deferred.push((id, target, role.kind));
                continue;
            }
            self.attach(&mut data, id, role.kind);
        }
        Ok(data)
    }

    fn attach(&mut self, data: &mut UserData, id: DocumentId, kind: DocKind) {
        let Some((doc, saved)) = self.load_doc(id) else {
            return;
        };
        match LifeDoc::from_automerge(kind, doc).and_then(|d| data.attach(id, d)) {
            Ok(()) => {
                self.saved.insert(id, saved);
            }
            Err(e) => self.problems.push(format!(
                "Document {id} could not be opened ({e}); it was left untouched."
            )),
        }
    }

    /// Whether documents are still waiting to be loaded.
    pub fn has_deferred(&self) -> bool {
        !self.deferred.is_empty()
    }

    /// Loads up to `max` deferred documents (older months' ledgers).
    pub fn load_deferred(&mut self, max: usize) -> Effects {
        for _ in 0..max {
            let Some((id, target, kind)) = self.deferred.pop() else {
                break;
            };
            let Some((doc, saved)) = self.load_doc(id) else {
                continue;
            };
            let data = match target {
                Target::Local => self.local.as_mut(),
                Target::Account => self
                    .sync
                    .as_mut()
                    .and_then(|s| s.documents_mut().data_mut()),
            };
            let Some(data) = data else { continue };
            match LifeDoc::from_automerge(kind, doc).and_then(|d| data.attach(id, d)) {
                Ok(()) => {
                    self.saved.insert(id, saved);
                }
                Err(e) => self.problems.push(format!(
                    "Document {id} could not be opened ({e}); it was left untouched."
                )),
            }
        }
        Effects {
            writes: std::mem::take(&mut self.queued),
            ..Effects::default()
        }
    }

    fn load_all_deferred(&mut self) -> Vec<Write> {
        self.load_deferred(usize::MAX).writes
    }

    fn meta_write(&self) -> Write {
        Write::Meta(serde_json::to_string(&self.meta).expect("meta serialises"))
    }

    /// Problems found in storage or sync, for the user to see.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// Forgets the problems shown.
    pub fn dismiss_problems(&mut self) {
        self.problems.clear();
    }

    /// The stored meta record.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The data the screens show: the account's once it is here, else this device's.
    pub fn data(&self) -> Option<&UserData> {
        self.sync
            .as_ref()
            .and_then(|s| s.documents().data())
            .or(self.local.as_ref())
    }

    /// Runs `f` on the views and the data.
    fn view<T>(
        &mut self,
        f: impl FnOnce(&mut Views, &mut UserData) -> lifeos_core::Result<T>,
    ) -> Option<lifeos_core::Result<T>> {
        let mut views = std::mem::take(&mut self.views);
        let out = self.data_mut().map(|data| f(&mut views, data));
        self.views = views;
        out
    }

    /// Every task, from the incrementally kept view.
    pub fn tasks(
        &mut self,
    ) -> Option<lifeos_core::Result<std::rc::Rc<Vec<lifeos_core::tasks::Task>>>> {
        self.view(|v, d| v.tasks(d))
    }

    /// Every habit, read again only when a habits document moved.
    pub fn habits(
        &mut self,
    ) -> Option<lifeos_core::Result<std::rc::Rc<Vec<lifeos_core::habits::Habit>>>> {
        self.view(|v, d| v.habits(d))
    }

    /// The expenses of one month.
    pub fn month_expenses(
        &mut self,
        month: Month,
    ) -> Option<lifeos_core::Result<std::rc::Rc<Vec<lifeos_core::finance::Expense>>>> {
        self.view(|v, d| v.expenses(d, month))
    }

    /// Groups of likely duplicates, from the kept views.
    pub fn duplicates(
        &mut self,
    ) -> Option<lifeos_core::Result<Vec<lifeos_core::user::duplicates::Duplicates>>> {
        self.view(|v, d| {
            let tasks = v.tasks(d)?;
            let habits = v.habits(d)?;
            Ok(lifeos_core::user::duplicates::find(
                &habits,
                &d.categories()?,
                &tasks,
                &d.kept_apart()?,
            ))
        })
    }

    /// The Today view for `date`, from the kept views.
    pub fn today(&mut self, date: Date) -> Option<lifeos_core::Result<lifeos_core::today::Today>> {
        self.view(|v, d| v.today(d, date))
    }

    fn data_mut(&mut self) -> Option<&mut UserData> {
        match self
            .sync
            .as_mut()
            .and_then(|s| s.documents_mut().data_mut())
        {
            Some(d) => Some(d),
            None => self.local.as_mut(),
        }
    }

    /// Whether some document came from a newer LifeOS and is read-only here.
    pub fn read_only_documents(&mut self) -> usize {
        self.all_docs()
            .iter()
            .filter(|(_, d)| !d.is_writable())
            .count()
    }

    fn all_docs(&mut self) -> Vec<(DocumentId, &mut LifeDoc)> {
        let mut out = Vec::new();
        if let Some(local) = self.local.as_mut() {
            out.extend(local.documents_mut());
        }
        if let Some(data) = self
            .sync
            .as_mut()
            .and_then(|s| s.documents_mut().data_mut())
        {
            out.extend(data.documents_mut());
        }
        out
    }

    /// Runs a user action on the data, then stores and syncs what it changed.
    pub fn act<T>(
        &mut self,
        now: Timestamp,
        f: impl FnOnce(&mut UserData) -> lifeos_core::Result<T>,
    ) -> (lifeos_core::Result<T>, Effects) {
        if self.frozen {
            return (
                Err(Error::invalid(
                    "version",
                    "this browser's data was written by a newer LifeOS; reload to update before editing",
                )),
                Effects::default(),
            );
        }
        // An action may touch any month: everything is loaded before it runs.
        let loaded = self.load_all_deferred();
        let Some(data) = self.data_mut() else {
            return (
                Err(Error::Corrupt(
                    "the account's data has not arrived yet".into(),
                )),
                Effects {
                    writes: loaded,
                    ..Effects::default()
                },
            );
        };
        let before = data.heads();
        let result = f(data);
        let changed = data.changed_since(&before);
        let mut writes = loaded;
        writes.extend(self.persist());
        let mut effects = Effects {
            writes,
            ..Effects::default()
        };
        let mut out = Vec::new();
        if let Some(sync) = self.sync.as_mut()
            && sync.documents().data().is_some()
        {
            for id in changed {
                out.extend(sync.local_change(id));
            }
        }
        effects.extend(self.outputs(out, now));
        (result, effects)
    }

    /// Writes for every document whose heads moved since it was last stored.
    fn persist(&mut self) -> Vec<Write> {
        let mut writes = Vec::new();
        if self.frozen {
            return writes;
        }
        let mut next = self.next_chunk;
        let mut updates = Vec::new();
        let stored = std::mem::take(&mut self.saved);
        for (id, doc) in self.all_docs() {
            let saved = stored.get(&id).cloned().unwrap_or_default();
            let heads = doc.heads();
            if heads == saved.heads && (saved.snapshot_bytes > 0 || !saved.chunks.is_empty()) {
                continue;
            }
            let key = doc_key(&id);
            let mut saved = saved;
            if saved.snapshot_bytes == 0 && saved.chunks.is_empty() {
                let bytes = doc.save();
                saved.snapshot_bytes = bytes.len();
                writes.push(Write::Snapshot(key, bytes));
            } else {
                let bytes = doc.automerge_mut().save_after(&saved.heads);
                next = next_key(next);
                saved.chunk_bytes += bytes.len();
                saved.chunks.push(next);
                writes.push(Write::Chunk(key.clone(), next, bytes));
                if should_compact(saved.chunks.len(), saved.chunk_bytes, saved.snapshot_bytes) {
                    let bytes = doc.save();
                    saved.snapshot_bytes = bytes.len();
                    writes.push(Write::Snapshot(key.clone(), bytes));
                    for k in saved.chunks.drain(..) {
                        writes.push(Write::DeleteChunk(key.clone(), k));
                    }
                    saved.chunk_bytes = 0;
                }
            }
            saved.heads = heads;
            updates.push((id, saved));
        }
        self.next_chunk = next;
        self.saved = stored;
        self.saved.extend(updates);
        writes
    }

    /// Signs in: the account's documents come from the relay, and this
    /// device's data joins the account once its root is known.
    pub fn sign_in(&mut self, user_id: &str, email: &str, refresh_token: &str) -> Effects {
        if self.frozen {
            self.problems
                .push("Reload to update LifeOS before signing in.".into());
            return Effects::default();
        }
        let uuid = match uuid::Uuid::parse_str(user_id) {
            Ok(u) => u,
            Err(e) => {
                self.problems
                    .push(format!("The relay sent an invalid user id ({e})."));
                return Effects::default();
            }
        };
        let mut writes = self.load_all_deferred();
        let root = DocumentId::root_of_user(&uuid);
        let same_account = self
            .meta
            .account
            .as_ref()
            .is_some_and(|a| a.user_id == user_id);
        self.meta.account = Some(Account {
            user_id: user_id.to_string(),
            email: email.to_string(),
            refresh_token: refresh_token.to_string(),
            root: doc_key(&root),
        });
        if !same_account {
            let peer = PeerId::new(self.meta.peer_id.clone())
                .unwrap_or_else(|| PeerId::new("web").expect("valid"));
            self.sync = Some(DeviceSync::new(peer, DeviceDocuments::new(root)));
            self.connection = None;
            self.meta.confirmed.clear();
        }
        writes.push(self.meta_write());
        Effects {
            writes,
            ..Effects::default()
        }
    }

    /// Stores a rotated refresh token.
    pub fn set_refresh_token(&mut self, token: &str) -> Effects {
        if self.frozen {
            return Effects::default();
        }
        if let Some(account) = self.meta.account.as_mut() {
            account.refresh_token = token.to_string();
        }
        Effects {
            writes: vec![self.meta_write()],
            ..Effects::default()
        }
    }

    /// The signed-in account.
    pub fn account(&self) -> Option<&Account> {
        self.meta.account.as_ref()
    }

    /// The socket opened: the `join` frame to send.
    pub fn socket_opened(&mut self) -> Option<Vec<u8>> {
        if self.frozen {
            return None;
        }
        self.sync.as_ref()?;
        // Sync never runs on partly loaded data: the relay would be asked
        // for documents that are on this device.
        let loaded = self.load_all_deferred();
        self.queued.extend(loaded);
        let peer = PeerId::new(self.meta.peer_id.clone())?;
        let (connection, join) = ClientConnection::start(
            peer,
            PeerMetadata {
                storage_id: None,
                is_ephemeral: false,
            },
            MAX_FRAME,
        );
        self.connection = Some(connection);
        Some(join)
    }

    /// The socket closed.
    pub fn socket_closed(&mut self) {
        self.connection = None;
        if let Some(sync) = self.sync.as_mut() {
            sync.disconnected();
        }
    }

    /// A frame from the relay.
    pub fn socket_frame(&mut self, frame: &[u8], now: Timestamp) -> Effects {
        let Some(connection) = self.connection.as_mut() else {
            return Effects::default();
        };
        let events = match connection.receive(frame) {
            Ok(events) => events,
            Err(violation) => {
                return Effects {
                    close: Some(violation.to_string()),
                    ..Effects::default()
                };
            }
        };
        let mut effects = Effects::default();
        for event in events {
            match event {
                Event::Send(frame) => effects.sends.push(frame),
                Event::Joined { peer, .. } => {
                    if let Some(sync) = self.sync.as_mut() {
                        let out = sync.connected(peer);
                        effects.extend(self.outputs(out, now));
                    }
                }
                Event::Document(message) => {
                    let Some(sync) = self.sync.as_mut() else {
                        continue;
                    };
                    match sync.receive(&message) {
                        Ok(out) => effects.extend(self.outputs(out, now)),
                        Err(e) => {
                            self.problems
                                .push(format!("A sync message could not be applied: {e}"));
                        }
                    }
                }
                Event::Close { reason } => effects.close = Some(reason),
                Event::Ignored { .. } => {}
            }
        }
        effects.writes.append(&mut self.queued);
        effects.writes.extend(self.persist());
        let confirmed = self
            .sync
            .as_mut()
            .map(DeviceSync::confirmed_updates)
            .unwrap_or_default();
        if !confirmed.is_empty() {
            for (id, heads) in confirmed {
                let heads = heads.iter().map(ToString::to_string).collect();
                self.meta.confirmed.insert(doc_key(&id), heads);
            }
            effects.writes.push(self.meta_write());
        }
        effects
    }

    /// Turns sync outputs into frames, joining local data to the account when its root is known.
    fn outputs(&mut self, out: Vec<ClientOutput>, now: Timestamp) -> Effects {
        let mut effects = Effects::default();
        let mut pending = out;
        while !pending.is_empty() {
            let mut more = Vec::new();
            for o in pending {
                match o {
                    ClientOutput::Send(message) => effects.sends.push(codec::encode(&message)),
                    ClientOutput::Arrived(_) | ClientOutput::Changed(_) => {}
                    ClientOutput::Unavailable(id) => {
                        let Some(sync) = self.sync.as_mut() else {
                            continue;
                        };
                        let root = sync.documents().wanted().first().copied();
                        if sync.documents().data().is_none() && root == Some(id) {
                            // The account has no data yet: this device starts it.
                            let local = self.local.take();
                            match sync.documents_mut().begin_account(now, local) {
                                Ok(()) => {
                                    more.extend(sync.announce_all());
                                    self.meta.local_root = None;
                                    effects.writes.push(self.meta_write());
                                }
                                Err(e) => self
                                    .problems
                                    .push(format!("Could not start the account's data: {e}")),
                            }
                        }
                    }
                }
            }
            // The account's data arrived while this device still has its own: adopt it.
            if let Some(sync) = self.sync.as_mut()
                && sync.documents().data().is_some()
                && let Some(local) = self.local.take()
            {
                let old_root = local.root_id();
                let data = sync.documents_mut().data_mut().expect("checked");
                match data.adopt(now, local) {
                    Ok(adopted) => {
                        let root = data.root_id();
                        for id in adopted.into_iter().chain([root]) {
                            more.extend(sync.local_change(id));
                        }
                        self.meta.local_root = None;
                        self.saved.remove(&old_root);
                        effects
                            .writes
                            .push(Write::DeleteSnapshot(doc_key(&old_root)));
                        effects.writes.push(self.meta_write());
                    }
                    Err(e) => self.problems.push(format!(
                        "This device's data could not join the account: {e}"
                    )),
                }
            }
            pending = more;
        }
        effects.writes.extend(self.persist());
        effects
    }

    /// Where sync stands.
    pub fn status(&mut self, connected: bool) -> SyncStatus {
        let Some(sync) = self.sync.as_mut() else {
            return SyncStatus::LocalOnly;
        };
        if !connected || self.connection.as_ref().and_then(|c| c.remote()).is_none() {
            return SyncStatus::Offline;
        }
        let unconfirmed = sync.unconfirmed_changes();
        if unconfirmed == 0 && sync.documents().data().is_some() {
            SyncStatus::Synced
        } else {
            SyncStatus::Syncing { unconfirmed }
        }
    }

    /// Changes made on this device that the relay has not confirmed.
    pub fn unconfirmed(&mut self) -> usize {
        self.sync
            .as_mut()
            .map_or(0, DeviceSync::unconfirmed_changes)
    }
}

/// Chunk keys: milliseconds-ish and increasing within this tab; distinct
/// across tabs because each starts after the largest key it read.
fn next_key(previous: f64) -> f64 {
    (previous + 1.0).max(js_now_key())
}

#[cfg(target_arch = "wasm32")]
fn js_now_key() -> f64 {
    // 4096 keys per millisecond, random low bits so two tabs never collide.
    let random = (js_sys::Math::random() * 4096.0).floor();
    js_sys::Date::now().floor() * 4096.0 + random
}

#[cfg(not(target_arch = "wasm32"))]
fn js_now_key() -> f64 {
    0.0
}

#[cfg(test)]
mod tests;

/// Records grouped as the browser store returns them, for tests and the glue.
pub fn stored_from(writes: &[Write], into: &mut Stored) {
    let mut chunks: BTreeMap<(String, u64), Vec<u8>> = into
        .chunks
        .drain(..)
        .map(|(d, k, b)| ((d, k.to_bits()), b))
        .collect();
    for w in writes {
        match w {
            Write::Snapshot(d, b) => drop(into.snapshots.insert(d.clone(), b.clone())),
            Write::Chunk(d, k, b) => drop(chunks.insert((d.clone(), k.to_bits()), b.clone())),
            Write::DeleteChunk(d, k) => drop(chunks.remove(&(d.clone(), k.to_bits()))),
            Write::DeleteSnapshot(d) => {
                into.snapshots.remove(d);
                chunks.retain(|(doc, _), _| doc != d);
            }
            Write::Quarantine { doc, chunk, .. } => match chunk {
                Some(k) => drop(chunks.remove(&(doc.clone(), k.to_bits()))),
                None => drop(into.snapshots.remove(doc)),
            },
            Write::Meta(m) => into.meta = Some(m.clone()),
        }
    }
    into.chunks = chunks
        .into_iter()
        .map(|((d, k), b)| (d, f64::from_bits(k), b))
        .collect();
}
