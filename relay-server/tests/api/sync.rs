//! `/api/v1/sync`: real devices (lifeos-core's client over tokio-tungstenite)
//! against the real relay, on both backends.

use std::time::{Duration, Instant};

use lifeos_core::DocumentId;
use lifeos_relay::storage::security::{SecurityStore, SyncTicket};
use lifeos_relay::storage::{DocumentStore, Storage, Store};

use crate::both_backends;
use crate::device::Device;
use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_configured};

const WAIT: Duration = Duration::from_secs(10);

fn token(pair: &serde_json::Value) -> String {
    pair["access_token"].as_str().unwrap().to_string()
}

async fn connected(app: &TestApp, name: &str, token: &str) -> Device {
    Device::online(name, &app.sync_url(token)).await
}

/// Both devices handle frames until `done` holds for both.
async fn run_both(
    a: &mut Device,
    b: &mut Device,
    what: &str,
    mut done: impl FnMut(&mut Device, &mut Device) -> bool,
) {
    let deadline = Instant::now() + WAIT;
    while !done(a, b) {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        a.run_for(Duration::from_millis(5)).await;
        b.run_for(Duration::from_millis(5)).await;
    }
}

/// Restarts the relay (as SIGTERM would) once `device` is offline, and
/// returns a new device of the same user that has fetched `doc` and holds
/// exactly the heads `device` had: everything acknowledged survived.
async fn after_restart(
    app: &mut TestApp,
    device: &mut Device,
    token: &str,
    doc: DocumentId,
) -> Device {
    let heads = device.heads(doc);
    device.disconnect();
    app.restart().await;
    let mut fresh = connected(app, "after-restart", token).await;
    fresh.want(doc).await;
    fresh
        .run_until("a new device has everything acknowledged", WAIT, |d| {
            d.heads(doc) == heads
        })
        .await;
    fresh
}

async fn upgrade_needs_a_valid_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let pair = app.register("ws@example.com").await;
    let mut device = Device::new("phone");
    let url = |t: &str| format!("ws://{}/api/v1/sync?token={t}", app.address);
    assert_eq!(
        device
            .connect(&format!("ws://{}/api/v1/sync", app.address))
            .await,
        Err("401".into())
    );
    assert_eq!(device.connect(&url("not-a-token")).await, Err("401".into()));
    // A token whose session ended is refused too.
    let r = app
        .client
        .post(app.url("/api/v1/auth/logout-all"))
        .bearer_auth(token(&pair))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(device.connect(&url(&token(&pair))).await, Err("401".into()));
    // The Authorization header works where a client can set it.
    let fresh = app.login("ws@example.com").await;
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
            "ws://{}/api/v1/sync",
            app.address
        ))
        .unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", token(&fresh)).parse().unwrap(),
    );
    let (ws, response) = tokio_tungstenite::connect_async(request)
        .await
        .expect("upgrades");
    assert_eq!(response.status(), 101);
    drop(ws);
    // A plain GET with a valid token is not an upgrade.
    let r = app.get_with("/api/v1/sync", &token(&fresh)).await;
    assert_eq!(r.status(), 400);
}
both_backends!(
    upgrade_needs_a_valid_token,
    super::upgrade_needs_a_valid_token
);

/// Asks for a sync ticket with `token`; the status and the ticket.
async fn sync_ticket(app: &TestApp, token: &str) -> (u16, Option<String>) {
    let r = app
        .client
        .post(app.url("/api/v1/sync/ticket"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    if status == 200 {
        assert_eq!(body["expires_in"], 30);
    }
    (status, body["ticket"].as_str().map(str::to_string))
}

async fn a_sync_ticket_opens_one_connection(backend: Backend) {
    let app = spawn_app(backend).await;
    let pair = app.register("ticket@example.com").await;
    let url = |t: &str| format!("ws://{}/api/v1/sync?ticket={t}", app.address);
    // No ticket without a token.
    let r = app
        .client
        .post(app.url("/api/v1/sync/ticket"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(sync_ticket(&app, "not-a-token").await.0, 401);

    // A ticket upgrades once, and syncs like a token.
    let (status, ticket) = sync_ticket(&app, &token(&pair)).await;
    assert_eq!(status, 200);
    let ticket = ticket.unwrap();
    let mut laptop = Device::online("laptop", &url(&ticket)).await;
    laptop.create("title", "through a ticket").await;
    laptop
        .run_until("the relay stores it", WAIT, Device::all_confirmed)
        .await;
    let mut again = Device::new("again");
    assert_eq!(again.connect(&url(&ticket)).await, Err("401".into()));
    assert_eq!(again.connect(&url("0123abcd")).await, Err("401".into()));

    // A ticket of a session that ended before it was used is refused.
    let (_, unused) = sync_ticket(&app, &token(&pair)).await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/logout-all"))
        .bearer_auth(token(&pair))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        again.connect(&url(&unused.unwrap())).await,
        Err("401".into())
    );

    // A ticket older than its 30 seconds is refused (and gone).
    let fresh = app.login("ticket@example.com").await;
    let store = Store::open(&app.config.database().unwrap()).await.unwrap();
    let user: uuid::Uuid = fresh["user"]["id"].as_str().unwrap().parse().unwrap();
    let (old, hash) = lifeos_relay::auth::new_token::<32>();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let generation = store.user_by_id(user).await.unwrap().unwrap().session_epoch;
    let grants = SyncTicket {
        user,
        generation,
        session: None,
        token_expires_at: now / 1000 + 600,
    };
    store
        .create_sync_ticket(hash, grants, now - 40_000, now - 10_000)
        .await
        .unwrap();
    assert_eq!(again.connect(&url(&old)).await, Err("401".into()));
}
both_backends!(
    a_sync_ticket_opens_one_connection,
    super::a_sync_ticket_opens_one_connection
);

async fn two_devices_converge(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = token(&app.register("two@example.com").await);
    let mut laptop = connected(&app, "laptop", &t).await;
    let doc = laptop.create("title", "from the laptop").await;
    laptop
        .run_until(
            "the relay stores the new document",
            WAIT,
            Device::all_confirmed,
        )
        .await;

    let mut phone = connected(&app, "phone", &t).await;
    phone.want(doc).await;
    phone
        .run_until("the phone receives the document", WAIT, |d| {
            d.get(doc, "title").is_some()
        })
        .await;
    assert_eq!(phone.get(doc, "title").as_deref(), Some("from the laptop"));

    // Both edit at once; both see both edits, and the relay stores them all.
    phone.put(doc, "phone", "yes").await;
    laptop.put(doc, "laptop", "yes").await;
    run_both(&mut laptop, &mut phone, "both devices converge", |a, b| {
        a.get(doc, "phone").is_some()
            && b.get(doc, "laptop").is_some()
            && a.heads(doc) == b.heads(doc)
            && a.all_confirmed()
            && b.all_confirmed()
    })
    .await;
}
both_backends!(two_devices_converge, super::two_devices_converge);

async fn offline_device_catches_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = token(&app.register("offline@example.com").await);
    let mut laptop = connected(&app, "laptop", &t).await;
    let doc = laptop.create("start", "0").await;
    laptop
        .run_until("stored", WAIT, Device::all_confirmed)
        .await;
    let mut phone = connected(&app, "phone", &t).await;
    phone.want(doc).await;
    phone
        .run_until("the phone has the document", WAIT, |d| {
            d.get(doc, "start").is_some()
        })
        .await;

    // The phone goes offline and makes 500 edits; the laptop makes some too.
    phone.disconnect();
    for i in 0..500 {
        phone.put(doc, &format!("phone-{i}"), &i.to_string()).await;
    }
    for i in 0..20 {
        laptop
            .put(doc, &format!("laptop-{i}"), &i.to_string())
            .await;
    }
    laptop
        .run_until("laptop edits stored", WAIT, Device::all_confirmed)
        .await;

    phone.connect(&app.sync_url(&t)).await.expect("reconnects");
    run_both(
        &mut laptop,
        &mut phone,
        "converged after reconnecting",
        |a, b| a.heads(doc) == b.heads(doc) && a.all_confirmed() && b.all_confirmed(),
    )
    .await;
    assert_eq!(laptop.get(doc, "phone-499").as_deref(), Some("499"));
    assert_eq!(phone.get(doc, "laptop-19").as_deref(), Some("19"));
}
both_backends!(offline_device_catches_up, super::offline_device_catches_up);

async fn other_users_cannot_read_or_write(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice_pair = app.register("alice@example.com").await;
    let alice_id: uuid::Uuid = alice_pair["user"]["id"].as_str().unwrap().parse().unwrap();
    let alice = token(&alice_pair);
    let mallory = token(&app.register("mallory@example.com").await);
    let mut alice_laptop = connected(&app, "alice", &alice).await;
    let doc = alice_laptop.create("secret", "alice's").await;
    alice_laptop
        .run_until("stored", WAIT, Device::all_confirmed)
        .await;

    // Reading: Mallory asks for Alice's document, and for Alice's root
    // document (whose id derives from her account id), and for one that
    // does not exist; the answers are the same.
    let mut intruder = connected(&app, "mallory", &mallory).await;
    let root = DocumentId::root_of_user(&alice_id);
    let missing = DocumentId::generate();
    for id in [doc, root, missing] {
        intruder.want(id).await;
    }
    intruder
        .run_until("three doc-unavailable answers", WAIT, |d| {
            d.unavailable.len() == 3
        })
        .await;
    assert!(intruder.get(doc, "secret").is_none());

    // Writing: Mallory announces her own document under Alice's id.
    let mut forger = Device::new("forger");
    forger.connect(&app.sync_url(&mallory)).await.unwrap();
    forger.client.documents_mut().insert(doc, {
        use automerge::transaction::Transactable;
        let mut d = automerge::AutoCommit::new();
        d.put(automerge::ROOT, "secret", "mallory's").unwrap();
        d
    });
    let outputs = forger.client.local_change(doc);
    assert!(!outputs.is_empty());
    for o in outputs {
        if let lifeos_core::sync::ClientOutput::Send(m) = o {
            forger.send_raw(lifeos_core::sync::encode(&m)).await;
        }
    }
    forger
        .run_until("the forged sync is refused", WAIT, |d| {
            d.unavailable.contains(&doc)
        })
        .await;

    // Alice's devices never see Mallory's change, also after a restart.
    alice_laptop.run_for(Duration::from_millis(300)).await;
    assert_eq!(alice_laptop.get(doc, "secret").as_deref(), Some("alice's"));
    let mut alice_phone = connected(&app, "alice-phone", &alice).await;
    alice_phone.want(doc).await;
    alice_phone
        .run_until("alice's phone gets the document", WAIT, |d| {
            d.get(doc, "secret").is_some()
        })
        .await;
    alice_phone.run_for(Duration::from_millis(200)).await;
    assert_eq!(alice_phone.get(doc, "secret").as_deref(), Some("alice's"));
    assert_eq!(alice_phone.heads(doc), alice_laptop.heads(doc));
}
both_backends!(
    other_users_cannot_read_or_write,
    super::other_users_cannot_read_or_write
);

async fn restart_keeps_acknowledged_changes(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let t = token(&app.register("durable@example.com").await);
    let mut laptop = connected(&app, "laptop", &t).await;
    let doc = laptop.create("n", "0").await;
    for i in 1..=200 {
        laptop.put(doc, "n", &i.to_string()).await;
        laptop.put(doc, &format!("k{i}"), "v").await;
    }
    // 400 changes sent at once: on a loaded 2-core machine the debug relay
    // has needed more than WAIT to commit them all; this test is about what
    // survives a restart, not speed.
    laptop
        .run_until(
            "the relay acknowledges every change",
            WAIT * 4,
            Device::all_confirmed,
        )
        .await;
    let mut fresh = after_restart(&mut app, &mut laptop, &t, doc).await;
    assert_eq!(fresh.get(doc, "n").as_deref(), Some("200"));
    assert_eq!(fresh.get(doc, "k137").as_deref(), Some("v"));
}
both_backends!(
    restart_keeps_acknowledged_changes,
    super::restart_keeps_acknowledged_changes
);

async fn compaction_keeps_every_change(backend: Backend) {
    // Compact after every 50 changes, while a device keeps writing.
    let mut app = spawn_app_configured(backend, Default::default(), |c| c.compact_after = 50).await;
    let t = token(&app.register("compact@example.com").await);
    let mut laptop = connected(&app, "laptop", &t).await;
    let doc = laptop.create("n", "0").await;
    for round in 0..6 {
        for i in 0..40 {
            laptop.put(doc, &format!("r{round}-{i}"), "v").await;
        }
        laptop.run_for(Duration::from_millis(20)).await;
    }
    laptop
        .run_until("all stored", WAIT, Device::all_confirmed)
        .await;
    let mut fresh = after_restart(&mut app, &mut laptop, &t, doc).await;
    assert_eq!(fresh.get(doc, "r5-39").as_deref(), Some("v"));
    // The log was folded into a snapshot (more than once: 241 changes, every
    // 50). Compaction runs in the background after appends, so give the
    // last one a moment.
    let store = Store::open(&app.config.database().unwrap()).await.unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    let stored = loop {
        let stored = store.load_document(doc).await.unwrap().unwrap();
        if stored.changes.len() < 100 || tokio::time::Instant::now() > deadline {
            break stored;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(stored.snapshot.is_some(), "compaction ran");
    assert!(
        stored.snapshot_seq >= 100,
        "compacted up to {}",
        stored.snapshot_seq
    );
    assert!(
        stored.changes.len() < 100,
        "{} changes left in the log",
        stored.changes.len()
    );
}
both_backends!(
    compaction_keeps_every_change,
    super::compaction_keeps_every_change
);

async fn ending_sessions_closes_live_connections(backend: Backend) {
    let app = spawn_app(backend).await;
    let pair = app.register("sessions@example.com").await;
    let t = token(&pair);
    let other = token(&app.register("bystander@example.com").await);
    let mut phone = connected(&app, "phone", &t).await;
    let mut laptop = connected(&app, "laptop", &t).await;
    let mut bystander = connected(&app, "bystander", &other).await;

    let started = Instant::now();
    let r = app
        .client
        .post(app.url("/api/v1/auth/logout-all"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    for device in [&mut phone, &mut laptop] {
        device
            .run_until(
                "the relay closes the connection",
                Duration::from_secs(1),
                |d| d.closed.is_some(),
            )
            .await;
        assert_eq!(device.closed.as_ref().unwrap().0, 4001);
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "closed in {:?}",
        started.elapsed()
    );
    // The old token no longer opens a connection or reads the account.
    assert_eq!(
        Device::new("again").connect(&app.sync_url(&t)).await,
        Err("401".into())
    );
    assert_eq!(app.get_with("/api/v1/me", &t).await.status(), 401);
    // Other users are not affected.
    bystander.run_for(Duration::from_millis(100)).await;
    assert!(bystander.is_connected());
}
both_backends!(
    ending_sessions_closes_live_connections,
    super::ending_sessions_closes_live_connections
);

async fn hostile_frames_close_only_that_connection(backend: Backend) {
    let app = spawn_app(backend).await;
    let t = token(&app.register("hostile@example.com").await);
    let mut honest = connected(&app, "honest", &t).await;
    let doc = honest.create("k", "v").await;
    honest
        .run_until("stored", WAIT, Device::all_confirmed)
        .await;

    let frames: Vec<Vec<u8>> = vec![
        vec![0xff, 0x00, 0x13],
        b"not cbor at all".to_vec(),
        // A sync message that claims to come from another peer.
        lifeos_core::sync::encode(&lifeos_core::sync::Message::Request {
            document_id: doc,
            sender_id: lifeos_core::sync::PeerId::new("somebody-else").unwrap(),
            target_id: lifeos_core::sync::PeerId::new("lifeos-relay").unwrap(),
            data: Vec::new(),
        }),
    ];
    for frame in frames {
        let mut attacker = connected(&app, "attacker", &t).await;
        attacker.send_raw(frame).await;
        attacker
            .run_until("the relay closes the hostile connection", WAIT, |d| {
                !d.is_connected()
            })
            .await;
    }
    honest.put(doc, "still", "working").await;
    honest
        .run_until("the honest device still syncs", WAIT, Device::all_confirmed)
        .await;
}
both_backends!(
    hostile_frames_close_only_that_connection,
    super::hostile_frames_close_only_that_connection
);

async fn shutdown_flushes_and_closes(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let t = token(&app.register("stop@example.com").await);
    let mut laptop = connected(&app, "laptop", &t).await;
    laptop.create("k", "v").await;
    laptop
        .run_until("stored", WAIT, Device::all_confirmed)
        .await;
    app.stop().await;
    laptop
        .run_until("the relay says goodbye", WAIT, |d| d.closed.is_some())
        .await;
    assert_eq!(laptop.closed.as_ref().unwrap().0, 1001);
}
both_backends!(
    shutdown_flushes_and_closes,
    super::shutdown_flushes_and_closes
);

/// The database stops answering while a device writes: nothing is
/// acknowledged meanwhile, /readyz says 503, and once it is back everything
/// is stored and acknowledged, and survives a restart.
async fn database_outage_loses_nothing(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let t = token(&app.register("outage@example.com").await);
    let mut laptop = connected(&app, "laptop", &t).await;
    let doc = laptop.create("k", "v").await;
    laptop
        .run_until("stored", WAIT, Device::all_confirmed)
        .await;

    let outage = Outage::begin(&app).await;
    for i in 0..10 {
        laptop.put(doc, &format!("during-{i}"), "x").await;
    }
    laptop.run_for(Duration::from_millis(800)).await;
    assert!(
        !laptop.all_confirmed(),
        "acknowledged while the database was down"
    );
    if backend_is_postgres(&app) {
        // (A locked SQLite file still answers reads, so it stays "ready".)
        assert_eq!(
            app.client
                .get(app.url("/readyz"))
                .send()
                .await
                .unwrap()
                .status(),
            503
        );
    }
    outage.end().await;

    laptop
        .run_until(
            "everything is stored once the database is back",
            Duration::from_secs(20),
            Device::all_confirmed,
        )
        .await;
    let mut fresh = after_restart(&mut app, &mut laptop, &t, doc).await;
    assert_eq!(fresh.get(doc, "during-9").as_deref(), Some("x"));
}
both_backends!(
    database_outage_loses_nothing,
    super::database_outage_loses_nothing
);

fn backend_is_postgres(app: &TestApp) -> bool {
    app.postgres_db.is_some()
}

/// Makes the test's database unusable without losing it: Postgres refuses
/// connections to it (and drops the open ones); SQLite is held locked by
/// another connection.
enum Outage {
    Postgres(String),
    Sqlite(std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>),
}

impl Outage {
    async fn begin(app: &TestApp) -> Outage {
        if let Some(name) = &app.postgres_db {
            crate::helpers::admin_execute(&format!(
                "ALTER DATABASE {name} ALLOW_CONNECTIONS false"
            ))
            .await;
            crate::helpers::admin_execute(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ))
            .await;
            return Outage::Postgres(name.clone());
        }
        let path = match app.config.database().unwrap() {
            lifeos_relay::config::DatabaseUrl::Sqlite(path) => path,
            other => panic!("unexpected {other:?}"),
        };
        let (stop, stopped) = std::sync::mpsc::channel();
        let (locked, is_locked) = std::sync::mpsc::channel();
        let holder = std::thread::spawn(move || {
            let conn = rusqlite::Connection::open(path).unwrap();
            conn.execute_batch("BEGIN EXCLUSIVE").unwrap();
            locked.send(()).unwrap();
            let _ = stopped.recv();
            conn.execute_batch("COMMIT").unwrap();
        });
        is_locked.recv().unwrap();
        Outage::Sqlite(stop, holder)
    }

    async fn end(self) {
        match self {
            Outage::Postgres(name) => {
                crate::helpers::admin_execute(&format!(
                    "ALTER DATABASE {name} ALLOW_CONNECTIONS true"
                ))
                .await;
            }
            Outage::Sqlite(stop, holder) => {
                stop.send(()).unwrap();
                holder.join().unwrap();
            }
        }
    }
}

async fn idle_documents_leave_memory(backend: Backend) {
    let app = spawn_app_configured(backend, Default::default(), |c| c.doc_idle_secs = 1).await;
    let t = token(&app.register("idle@example.com").await);
    let mut laptop = connected(&app, "laptop", &t).await;
    let doc = laptop.create("k", "v").await;
    laptop
        .run_until("stored", WAIT, Device::all_confirmed)
        .await;
    // A document with a connected peer stays, however long it is quiet.
    laptop.run_for(Duration::from_millis(2500)).await;
    let stats = app.sync.stats().await;
    assert_eq!((stats.connections, stats.documents), (1, 1));
    laptop.disconnect();
    let deadline = Instant::now() + Duration::from_secs(5);
    while app.sync.stats().await.documents > 0 {
        assert!(
            Instant::now() < deadline,
            "the idle document is still in memory"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.sync.stats().await.connections, 0);
    // It loads again on demand.
    let mut phone = connected(&app, "phone", &t).await;
    phone.want(doc).await;
    phone
        .run_until("reloaded", WAIT, |d| d.get(doc, "k").is_some())
        .await;
}
both_backends!(
    idle_documents_leave_memory,
    super::idle_documents_leave_memory
);

async fn silent_and_oversized_peers_are_closed(backend: Backend) {
    let app = spawn_app_configured(backend, Default::default(), |c| {
        c.ping_secs = 1;
        c.max_frame_bytes = 4096;
    })
    .await;
    let t = token(&app.register("limits@example.com").await);
    // A device that never reads never answers the relay's pings.
    let mut silent = connected(&app, "silent", &t).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    silent
        .run_until("the relay gives up on a silent peer", WAIT, |d| {
            !d.is_connected()
        })
        .await;
    assert_eq!(silent.closed.as_ref().map(|c| c.0), Some(1011));
    // A frame over the limit ends that connection only.
    let mut honest = connected(&app, "honest", &t).await;
    let mut big = connected(&app, "big", &t).await;
    big.send_raw(vec![0xa0; 8192]).await;
    big.run_until("the oversized frame closes the connection", WAIT, |d| {
        !d.is_connected()
    })
    .await;
    honest.create("still", "fine").await;
    honest
        .run_until("the honest device syncs", WAIT, Device::all_confirmed)
        .await;
}
both_backends!(
    silent_and_oversized_peers_are_closed,
    super::silent_and_oversized_peers_are_closed
);

async fn password_changes_close_live_connections(backend: Backend) {
    let app = spawn_app(backend).await;
    let pair = app.register("rotate@example.com").await;
    let t = token(&pair);
    let mut phone = connected(&app, "phone", &t).await;
    let doc = phone.create("k", "v").await;
    phone.run_until("stored", WAIT, Device::all_confirmed).await;
    let started = Instant::now();
    let r = app
        .client
        .post(app.url("/api/v1/auth/password"))
        .bearer_auth(&t)
        .json(&serde_json::json!({ "current_password": "a long enough password", "new_password": "another long password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    phone
        .run_until(
            "closed after the password change",
            Duration::from_secs(1),
            |d| d.closed.is_some(),
        )
        .await;
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(phone.closed.as_ref().unwrap().0, 4001);
    // The audit log shows the document's creation and the change.
    let fresh: serde_json::Value = r.json().await.unwrap();
    let audit: serde_json::Value = app
        .get_with("/api/v1/audit", &token(&fresh))
        .await
        .json()
        .await
        .unwrap();
    let items = audit["items"].as_array().unwrap();
    let created = items
        .iter()
        .find(|i| i["action"] == "document_created")
        .expect("a document_created event");
    assert_eq!(created["detail"]["document"], doc.to_string());
    assert!(items.iter().any(|i| i["action"] == "password_changed"));
}
both_backends!(
    password_changes_close_live_connections,
    super::password_changes_close_live_connections
);
