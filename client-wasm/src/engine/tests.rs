//! The engine against an in-memory store and a relay hub speaking real frames.

use std::collections::HashMap;

use automerge::AutoCommit;
use lifeos_core::finance::NewExpense;
use lifeos_core::sync::{
    Access, Durability, Event, Hub, HubOutput, PeerId, PeerMetadata, ServerConnection, codec,
};
use lifeos_core::tasks::NewTask;
use lifeos_core::time::Date;
use lifeos_core::{Currency, Money};

use super::*;

fn at(n: i64) -> Timestamp {
    Timestamp::from_millis(1_795_000_000_000 + n * 1000)
}

fn day() -> Date {
    Date::from_ymd_opt(2026, 11, 26).unwrap()
}

fn task(title: &str) -> NewTask {
    NewTask {
        title: title.into(),
        ..NewTask::default()
    }
}

fn titles(engine: &Engine) -> Vec<String> {
    let mut t: Vec<String> = engine
        .data()
        .unwrap()
        .tasks()
        .unwrap()
        .into_iter()
        .map(|t| t.title)
        .collect();
    t.sort();
    t
}

/// A browser's IndexedDB: the engine's writes applied in order.
#[derive(Default)]
struct Disk(Stored);

impl Disk {
    fn apply(&mut self, effects: &Effects) {
        stored_from(&effects.writes, &mut self.0);
    }

    fn copy(&self) -> Stored {
        Stored {
            meta: self.0.meta.clone(),
            snapshots: self.0.snapshots.clone(),
            chunks: self.0.chunks.clone(),
        }
    }

    fn open(&mut self, n: i64) -> Engine {
        let (engine, effects) = Engine::open(self.copy(), at(n), day(), "web-test".into());
        self.apply(&effects);
        engine
    }
}

#[test]
fn a_new_browser_is_usable_at_once_and_everything_survives_a_reload() {
    let mut disk = Disk::default();
    let mut engine = disk.open(0);
    assert_eq!(engine.status(false), SyncStatus::LocalOnly);
    assert!(engine.problems().is_empty());
    assert_eq!(disk.0.snapshots.len(), 4, "root, tasks, habits, finance");
    assert!(disk.0.meta.is_some());

    let (r, e) = engine.act(at(1), |d| d.add_task(at(1), task("Buy milk")));
    r.unwrap();
    assert_eq!(
        e.writes.len(),
        1,
        "one chunk for one change: {:?}",
        e.writes.len()
    );
    assert!(matches!(e.writes[0], Write::Chunk(..)));
    disk.apply(&e);
    let (r, e) = engine.act(at(2), |d| {
        d.add_expense(
            at(2),
            NewExpense {
                amount: Money::new(1250, Currency::from_code("EUR").unwrap()),
                date: Date::from_ymd_opt(2026, 11, 26).unwrap(),
                category: None,
                payee: Some("Bakery".into()),
                note: None,
            },
        )
    });
    r.unwrap();
    disk.apply(&e);

    let reopened = disk.open(3);
    assert!(reopened.problems().is_empty(), "{:?}", reopened.problems());
    assert_eq!(titles(&reopened), vec!["Buy milk"]);
    assert_eq!(reopened.data().unwrap().expenses().unwrap().len(), 1);
    assert_eq!(reopened.meta(), engine.meta());
}

#[test]
fn many_edits_are_compacted_into_a_snapshot_and_nothing_is_lost() {
    let mut disk = Disk::default();
    let mut engine = disk.open(0);
    for i in 0..150 {
        let (r, e) = engine.act(at(i), |d| d.add_task(at(i), task(&format!("Task {i:03}"))));
        r.unwrap();
        disk.apply(&e);
    }
    let chunks = disk.0.chunks.len();
    assert!(chunks < local::COMPACT_AFTER_CHUNKS, "{chunks} chunks left");
    let reopened = disk.open(200);
    assert_eq!(reopened.data().unwrap().tasks().unwrap().len(), 150);
    // A reopened engine keeps compacting what it did not write itself.
    let mut reopened = reopened;
    for i in 0..100 {
        let (r, e) = reopened.act(at(300 + i), |d| d.add_task(at(1), task("more")));
        r.unwrap();
        disk.apply(&e);
    }
    assert!(disk.0.chunks.len() < local::COMPACT_AFTER_CHUNKS);
    assert_eq!(disk.open(500).data().unwrap().tasks().unwrap().len(), 250);
}

#[test]
fn a_damaged_record_is_set_aside_and_reported_never_deleted() {
    let mut disk = Disk::default();
    let mut engine = disk.open(0);
    for (i, title) in ["One", "Two"].iter().enumerate() {
        let (r, e) = engine.act(at(i as i64), |d| d.add_task(at(1), task(title)));
        r.unwrap();
        disk.apply(&e);
    }
    // The first chunk rots on disk.
    let (doc, key, bytes) = disk.0.chunks[0].clone();
    disk.0.chunks[0].2 = vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3];
    let (reopened, effects) = Engine::open(disk.copy(), at(9), day(), "web-test".into());
    assert_eq!(reopened.problems().len(), 1, "{:?}", reopened.problems());
    let set_aside: Vec<&Write> = effects
        .writes
        .iter()
        .filter(|w| matches!(w, Write::Quarantine { .. }))
        .collect();
    assert_eq!(set_aside.len(), 1);
    assert!(
        matches!(set_aside[0], Write::Quarantine { doc: d, chunk: Some(k), bytes: b } if *d == doc && *k == key && *b != bytes && !b.is_empty())
    );
    assert!(
        !effects
            .writes
            .iter()
            .any(|w| matches!(w, Write::DeleteChunk(..) | Write::DeleteSnapshot(_))),
        "opening deletes nothing"
    );
    // "Two" was made after "One" and depends on it: it waits, unapplied,
    // until the lost change comes back (from the relay). Its record is kept
    // through any number of compactions, and the document stays usable.
    assert_eq!(titles(&reopened), Vec::<String>::new());
    let two = disk.0.chunks[1].1;
    disk.apply(&effects);
    let mut reopened = reopened;
    for i in 0..100 {
        let (r, e) = reopened.act(at(10 + i), |d| d.add_task(at(1), task("later")));
        r.unwrap();
        disk.apply(&e);
    }
    assert!(disk.0.chunks.iter().any(|(_, k, _)| *k == two));
    assert_eq!(disk.open(200).data().unwrap().tasks().unwrap().len(), 100);

    // A snapshot that does not load: the whole document is set aside, the rest opens.
    let mut disk = Disk::default();
    disk.open(0);
    let tasks_doc = disk
        .0
        .snapshots
        .keys()
        .find(|k| {
            Some(*k)
                != disk
                    .0
                    .meta
                    .as_ref()
                    .and_then(|m| serde_json::from_str::<Meta>(m).ok()?.local_root)
                    .as_ref()
        })
        .unwrap()
        .clone();
    disk.0
        .snapshots
        .insert(tasks_doc.clone(), b"rotten".to_vec());
    let (reopened, effects) = Engine::open(disk.copy(), at(1), day(), "web-test".into());
    assert!(!reopened.problems().is_empty());
    assert!(effects.writes.iter().any(
        |w| matches!(w, Write::Quarantine { doc, chunk: None, bytes } if *doc == tasks_doc && bytes == b"rotten")
    ));
}

#[test]
fn data_from_a_newer_version_is_shown_read_only_and_never_written() {
    let mut disk = Disk::default();
    let mut engine = disk.open(0);
    let (r, e) = engine.act(at(1), |d| d.add_task(at(1), task("Kept")));
    r.unwrap();
    disk.apply(&e);
    let mut meta: Meta = serde_json::from_str(disk.0.meta.as_ref().unwrap()).unwrap();
    meta.version = META_VERSION + 1;
    disk.0.meta = Some(serde_json::to_string(&meta).unwrap());

    let (mut newer, effects) = Engine::open(disk.copy(), at(2), day(), "web-test".into());
    assert!(effects.writes.is_empty());
    assert_eq!(titles(&newer), vec!["Kept"]);
    assert!(newer.problems()[0].contains("newer version"));
    let (r, e) = newer.act(at(3), |d| d.add_task(at(3), task("No")));
    assert!(r.is_err());
    assert!(e.writes.is_empty());
    assert!(
        newer
            .sign_in("0195c0de-0000-7000-8000-000000000001", "a@b.c", "t")
            .writes
            .is_empty()
    );
}

#[test]
fn an_unreadable_app_record_is_recovered_from_the_documents() {
    let mut disk = Disk::default();
    let mut engine = disk.open(0);
    let (r, e) = engine.act(at(1), |d| d.add_task(at(1), task("Still here")));
    r.unwrap();
    disk.apply(&e);
    disk.0.meta = Some("{not json".into());
    let reopened = disk.open(2);
    assert_eq!(titles(&reopened), vec!["Still here"]);
    assert_eq!(reopened.problems().len(), 1);
}

/// A relay: the core hub behind one server connection per device, storing at once.
struct Relay {
    hub: Hub<fn(&PeerId, &lifeos_core::DocumentId) -> Access>,
    stored: HashMap<lifeos_core::DocumentId, AutoCommit>,
    connections: HashMap<String, ServerConnection>,
    /// Frames for each device.
    outbox: HashMap<String, Vec<Vec<u8>>>,
}

fn allow(_: &PeerId, _: &lifeos_core::DocumentId) -> Access {
    Access::Full
}

impl Relay {
    fn new() -> Relay {
        Relay {
            hub: Hub::new(
                PeerId::new("relay").unwrap(),
                Durability::CommitFirst,
                allow,
            ),
            stored: HashMap::new(),
            connections: HashMap::new(),
            outbox: HashMap::new(),
        }
    }

    fn receive(&mut self, device: &str, frame: &[u8]) {
        let conn = self
            .connections
            .entry(device.to_string())
            .or_insert_with(|| {
                ServerConnection::new(
                    PeerId::new("relay").unwrap(),
                    PeerMetadata::default(),
                    MAX_FRAME,
                )
            });
        let events = conn.receive(frame).expect("valid frames");
        for event in events {
            match event {
                Event::Send(f) => self.outbox.entry(device.into()).or_default().push(f),
                Event::Document(m) => {
                    let peer = PeerId::new(device).unwrap();
                    let out = self.hub.receive(&peer, m).unwrap();
                    self.outputs(out);
                }
                _ => {}
            }
        }
    }

    fn outputs(&mut self, out: Vec<HubOutput>) {
        let mut queue = std::collections::VecDeque::from(out);
        while let Some(o) = queue.pop_front() {
            match o {
                HubOutput::Send { to, message } => self
                    .outbox
                    .entry(to.as_str().to_string())
                    .or_default()
                    .push(codec::encode(&message)),
                HubOutput::Load { document } => {
                    let bytes = self.stored.get_mut(&document).map(AutoCommit::save);
                    queue.extend(self.hub.loaded(document, bytes.as_deref()).unwrap());
                }
                HubOutput::Persist { request, .. } => {
                    let doc = self.stored.entry(request.document).or_default();
                    for (_, bytes) in &request.changes {
                        doc.load_incremental(bytes).unwrap();
                    }
                    queue.extend(self.hub.committed(request.document, request.ticket));
                }
                HubOutput::Changed { .. } => {}
            }
        }
    }
}

/// A browser: its engine, its disk, whether its socket is up.
struct Browser {
    name: String,
    engine: Engine,
    disk: Disk,
    online: bool,
}

impl Browser {
    fn new(name: &str) -> Browser {
        let mut disk = Disk::default();
        let (engine, effects) = Engine::open(Stored::default(), at(0), day(), name.into());
        disk.apply(&effects);
        Browser {
            name: name.into(),
            engine,
            disk,
            online: false,
        }
    }

    fn act<T>(
        &mut self,
        relay: &mut Relay,
        f: impl FnOnce(&mut UserData) -> lifeos_core::Result<T>,
    ) -> T {
        let (r, e) = self.engine.act(at(5), f);
        self.handle(relay, e);
        r.unwrap()
    }

    fn handle(&mut self, relay: &mut Relay, effects: Effects) {
        self.disk.apply(&effects);
        assert!(effects.close.is_none(), "{:?}", effects.close);
        if self.online {
            for f in effects.sends {
                relay.receive(&self.name, &f);
            }
        }
    }

    fn connect(&mut self, relay: &mut Relay) {
        relay.connections.remove(&self.name);
        self.online = true;
        let join = self.engine.socket_opened().expect("signed in");
        relay.receive(&self.name, &join);
    }

    fn disconnect(&mut self, relay: &mut Relay) {
        self.online = false;
        self.engine.socket_closed();
        relay
            .hub
            .peer_disconnected(&PeerId::new(self.name.as_str()).unwrap());
        relay.connections.remove(&self.name);
        relay.outbox.remove(&self.name);
    }
}

/// Delivers frames until nobody has anything to say.
fn settle(relay: &mut Relay, browsers: &mut [&mut Browser]) {
    for _ in 0..10_000 {
        let mut busy = false;
        for b in browsers.iter_mut() {
            if !b.online {
                continue;
            }
            let frames = relay.outbox.remove(&b.name).unwrap_or_default();
            for f in frames {
                busy = true;
                let e = b.engine.socket_frame(&f, at(6));
                b.handle(relay, e);
            }
        }
        if !busy {
            return;
        }
    }
    panic!("did not settle");
}

const USER: &str = "0195c0de-0000-7000-8000-0000000000aa";

#[test]
fn local_data_joins_a_new_account_and_a_second_browser_with_its_own_data_gets_everything() {
    let mut relay = Relay::new();
    let mut a = Browser::new("web-a");
    a.act(&mut relay, |d| {
        d.add_task(at(1), task("From A, before signing in"))
    });

    // A registers: the account has no data, so A's becomes its start.
    let e = a.engine.sign_in(USER, "me@example.com", "refresh-a");
    a.handle(&mut relay, e);
    assert_eq!(a.engine.status(false), SyncStatus::Offline);
    a.connect(&mut relay);
    settle(&mut relay, &mut [&mut a]);
    assert_eq!(a.engine.status(true), SyncStatus::Synced);
    assert_eq!(titles(&a.engine), vec!["From A, before signing in"]);
    assert!(a.engine.meta().local_root.is_none());

    // B was used offline, then signs in to the same account.
    let mut b = Browser::new("web-b");
    b.act(&mut relay, |d| d.add_task(at(2), task("From B, offline")));
    let e = b.engine.sign_in(USER, "me@example.com", "refresh-b");
    b.handle(&mut relay, e);
    // Until the account's data arrives, B keeps showing (and editing) its own.
    assert_eq!(titles(&b.engine), vec!["From B, offline"]);
    b.connect(&mut relay);
    settle(&mut relay, &mut [&mut a, &mut b]);

    let both = vec![
        "From A, before signing in".to_string(),
        "From B, offline".to_string(),
    ];
    assert_eq!(titles(&b.engine), both);
    assert_eq!(titles(&a.engine), both, "A sees B's adopted data live");
    assert_eq!(a.engine.status(true), SyncStatus::Synced);
    assert_eq!(b.engine.status(true), SyncStatus::Synced);
    assert!(a.engine.problems().is_empty() && b.engine.problems().is_empty());

    // A reload of B opens the account's data from disk, with nothing local left over.
    let reopened = b.disk.open(10);
    assert_eq!(titles(&reopened), both);
    assert!(reopened.meta().local_root.is_none());
    assert_eq!(reopened.account().unwrap().refresh_token, "refresh-b");

    // Offline edits on both, then reconnect: both survive.
    a.disconnect(&mut relay);
    b.disconnect(&mut relay);
    let id = a
        .engine
        .data()
        .unwrap()
        .tasks()
        .unwrap()
        .into_iter()
        .find(|t| t.title.starts_with("From A"))
        .unwrap()
        .id;
    a.act(&mut relay, |d| {
        d.update_task(
            at(7),
            id,
            lifeos_core::tasks::TaskPatch {
                notes: Some("note from A".into()),
                ..Default::default()
            },
        )
    });
    b.act(&mut relay, |d| {
        d.update_task(
            at(7),
            id,
            lifeos_core::tasks::TaskPatch {
                important: Some(true),
                ..Default::default()
            },
        )
    });
    assert_eq!(a.engine.status(false), SyncStatus::Offline);
    assert!(a.engine.unconfirmed() > 0);
    a.connect(&mut relay);
    b.connect(&mut relay);
    settle(&mut relay, &mut [&mut a, &mut b]);
    for browser in [&a, &b] {
        let t = browser.engine.data().unwrap().task(id).unwrap();
        assert_eq!(t.notes, "note from A");
        assert!(t.important);
    }
    assert_eq!(a.engine.unconfirmed(), 0);
}

#[test]
fn the_unsynced_count_is_exactly_the_edits_the_relay_lacks_offline_and_after_reloads() {
    let mut relay = Relay::new();
    let mut a = Browser::new("web-a");
    a.act(&mut relay, |d| d.add_task(at(1), task("Before signing in")));
    let e = a.engine.sign_in(USER, "me@example.com", "r");
    a.handle(&mut relay, e);
    a.connect(&mut relay);
    settle(&mut relay, &mut [&mut a]);
    assert_eq!(a.engine.status(true), SyncStatus::Synced);
    assert_eq!(a.engine.unconfirmed(), 0);

    // Offline at once: nothing is waiting, whatever the documents hold.
    a.disconnect(&mut relay);
    assert_eq!(a.engine.status(false), SyncStatus::Offline);
    assert_eq!(a.engine.unconfirmed(), 0);
    // N edits offline are N changes waiting, after a reload too.
    for i in 0..3 {
        a.act(&mut relay, |d| {
            d.add_task(at(10 + i), task(&format!("Offline {i}")))
        });
    }
    assert_eq!(a.engine.unconfirmed(), 3);
    a.engine = a.disk.open(20);
    assert_eq!(a.engine.unconfirmed(), 3);

    // Back online: once the relay confirms, none; offline again, still none.
    a.connect(&mut relay);
    assert!(a.engine.unconfirmed() <= 3);
    settle(&mut relay, &mut [&mut a]);
    assert_eq!(a.engine.status(true), SyncStatus::Synced);
    assert_eq!(a.engine.unconfirmed(), 0);
    a.disconnect(&mut relay);
    assert_eq!(a.engine.unconfirmed(), 0);
    a.engine = a.disk.open(30);
    assert_eq!(a.engine.unconfirmed(), 0);
    a.act(&mut relay, |d| d.add_task(at(31), task("One more")));
    assert_eq!(a.engine.unconfirmed(), 1);
}

#[test]
fn a_new_browser_signing_in_finds_every_document_by_itself() {
    let mut relay = Relay::new();
    let mut a = Browser::new("web-a");
    let e = a.engine.sign_in(USER, "me@example.com", "r");
    a.handle(&mut relay, e);
    a.connect(&mut relay);
    settle(&mut relay, &mut [&mut a]);
    // A ledger document for November appears with the first expense.
    a.act(&mut relay, |d| {
        d.add_expense(
            at(3),
            NewExpense {
                amount: Money::new(500, Currency::from_code("EUR").unwrap()),
                date: Date::from_ymd_opt(2026, 11, 26).unwrap(),
                category: None,
                payee: None,
                note: None,
            },
        )
    });
    settle(&mut relay, &mut [&mut a]);

    let mut c = Browser::new("web-c");
    let e = c.engine.sign_in(USER, "me@example.com", "r2");
    c.handle(&mut relay, e);
    c.connect(&mut relay);
    settle(&mut relay, &mut [&mut a, &mut c]);
    let ids_a = a.engine.data().unwrap().document_ids();
    let ids_c = c.engine.data().unwrap().document_ids();
    // C's own (empty) local documents were adopted too.
    assert!(ids_a.iter().all(|id| ids_c.contains(id)));
    assert_eq!(c.engine.data().unwrap().expenses().unwrap().len(), 1);
    let reopened = c.disk.open(20);
    assert_eq!(reopened.data().unwrap().expenses().unwrap().len(), 1);
}

#[test]
fn older_months_load_after_the_first_screen_and_before_any_action_or_sync() {
    let mut disk = Disk::default();
    let mut engine = disk.open(0);
    let eur = Currency::from_code("EUR").unwrap();
    for (i, date) in ["2026-09-03", "2026-10-14", "2026-11-20"]
        .iter()
        .enumerate()
    {
        let (r, e) = engine.act(at(i as i64), |d| {
            d.add_expense(
                at(1),
                NewExpense {
                    amount: Money::new(100, eur),
                    date: lifeos_core::time::parse_date("date", date).unwrap(),
                    category: None,
                    payee: None,
                    note: None,
                },
            )
        });
        r.unwrap();
        disk.apply(&e);
    }
    let (mut reopened, e) = Engine::open(disk.copy(), at(5), day(), "web-test".into());
    disk.apply(&e);
    assert!(reopened.has_deferred(), "September and October wait");
    assert_eq!(reopened.data().unwrap().expenses().unwrap().len(), 1);
    let today = reopened.today(day()).unwrap().unwrap();
    assert!(today.expenses.is_empty());
    let e = reopened.load_deferred(1);
    disk.apply(&e);
    assert!(reopened.has_deferred());
    assert_eq!(reopened.data().unwrap().expenses().unwrap().len(), 2);

    // An action loads the rest first: nothing is created twice for a month.
    let (r, e) = reopened.act(at(6), |d| d.add_task(at(6), task("x")));
    r.unwrap();
    disk.apply(&e);
    assert!(!reopened.has_deferred());
    assert_eq!(reopened.data().unwrap().expenses().unwrap().len(), 3);
    assert_eq!(reopened.data().unwrap().document_ids().len(), 7);
}
