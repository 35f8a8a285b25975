//! Several relays on one Postgres database (ARCHITECTURE.md, Scaling): a
//! change stored through one relay reaches devices on another through
//! `LISTEN/NOTIFY`, and the periodic check catches up when a notification
//! is lost. Postgres only: SQLite belongs to one relay process.
//! `tests/scale_out.rs` does the same with relay processes, concurrent
//! writers and a relay killed mid-run.

use std::time::{Duration, Instant};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use lifeos_core::tasks::TasksDoc;
use lifeos_core::time::Timestamp;
use lifeos_core::{DocKind, DocumentId, LifeDoc, UserData};
use serde_json::json;
use sqlx::Connection as _;

use crate::device::Device;
use crate::helpers::{Backend, TestApp, spawn_app_configured};

const WAIT: Duration = Duration::from_secs(10);

fn token(pair: &serde_json::Value) -> String {
    pair["access_token"].as_str().unwrap().to_string()
}

async fn pair_of_relays(catch_up_secs: u64) -> (TestApp, TestApp) {
    let first = spawn_app_configured(Backend::Postgres, Default::default(), |c| {
        c.catch_up_secs = catch_up_secs;
    })
    .await;
    let second = first.sibling(|_| {}).await;
    (first, second)
}

async fn device_on(app: &TestApp, name: &str, token: &str) -> Device {
    let mut device = Device::new(name);
    device
        .connect(&app.sync_url(token))
        .await
        .expect("connects");
    device
}

/// Runs both devices until `done` holds for both.
async fn run_both(
    a: &mut Device,
    b: &mut Device,
    what: &str,
    mut done: impl FnMut(&mut Device, &mut Device) -> bool,
) -> Duration {
    let started = Instant::now();
    while !done(a, b) {
        assert!(started.elapsed() < WAIT, "timed out waiting for: {what}");
        a.run_for(Duration::from_millis(2)).await;
        b.run_for(Duration::from_millis(2)).await;
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_stored_through_one_relay_reach_devices_on_another() {
    let (one, two) = pair_of_relays(5).await;
    let pair = one.register("two-relays@example.com").await;
    let token = token(&pair);
    let mut phone = device_on(&one, "phone", &token).await;
    let mut laptop = device_on(&two, "laptop", &token).await;

    let doc = phone.create("title", "first").await;
    phone.run_until("stored", WAIT, |d| d.all_confirmed()).await;
    laptop.want(doc).await;
    laptop
        .run_until("the laptop fetched it from the other relay", WAIT, |d| {
            d.get(doc, "title").as_deref() == Some("first")
        })
        .await;

    // Live edits both ways, while both documents are in both relays' memory.
    for round in 0..5 {
        let value = format!("phone {round}");
        phone.put(doc, "title", &value).await;
        let took = run_both(&mut phone, &mut laptop, "phone → laptop", |_, l| {
            l.get(doc, "title").as_deref() == Some(value.as_str())
        })
        .await;
        println!("relay 1 → relay 2: {took:?}");
        assert!(
            took < Duration::from_secs(1),
            "{took:?}: notifications, not the periodic check"
        );
        let value = format!("laptop {round}");
        laptop.put(doc, "note", &value).await;
        let took = run_both(&mut phone, &mut laptop, "laptop → phone", |p, _| {
            p.get(doc, "note").as_deref() == Some(value.as_str())
        })
        .await;
        println!("relay 2 → relay 1: {took:?}");
        assert!(took < Duration::from_secs(1), "{took:?}");
    }

    // Concurrent edits on both relays converge, and each relay stored them once.
    phone.put(doc, "a", "from the phone").await;
    laptop.put(doc, "b", "from the laptop").await;
    run_both(&mut phone, &mut laptop, "both edits everywhere", |p, l| {
        p.get(doc, "b").as_deref() == Some("from the laptop")
            && l.get(doc, "a").as_deref() == Some("from the phone")
            && p.heads(doc) == l.heads(doc)
            && p.all_confirmed()
            && l.all_confirmed()
    })
    .await;
    let heads = phone.heads(doc);
    let mut fresh = device_on(&one, "fresh", &token).await;
    fresh.want(doc).await;
    fresh
        .run_until("a new device gets everything from storage", WAIT, |d| {
            d.heads(doc) == heads
        })
        .await;
}

/// Appends `change` to the document's log as a relay's transaction would,
/// but without its notification (as if it were lost).
async fn append_without_notice(app: &TestApp, doc: DocumentId, change: &automerge::Change) {
    let url = app.config.database_url.clone().unwrap();
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    let last: i64 = sqlx::query_scalar("SELECT last_seq FROM documents WHERE id = $1 FOR UPDATE")
        .bind(doc.as_bytes().as_slice())
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    sqlx::query("INSERT INTO changes (document_id, seq, hash, data) VALUES ($1, $2, $3, $4)")
        .bind(doc.as_bytes().as_slice())
        .bind(last + 1)
        .bind(change.hash().0.as_slice())
        .bind(change.raw_bytes())
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("UPDATE documents SET last_seq = $1 WHERE id = $2")
        .bind(last + 1)
        .bind(doc.as_bytes().as_slice())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_notification_is_caught_up_by_the_periodic_check() {
    let (one, _two) = pair_of_relays(1).await;
    let pair = one.register("lost@example.com").await;
    let token = token(&pair);
    let mut phone = device_on(&one, "phone", &token).await;
    let doc = phone.create("title", "first").await;
    phone.run_until("stored", WAIT, |d| d.all_confirmed()).await;

    // Another relay stores a change and its notification never arrives:
    // written into the log directly, as that relay's transaction would.
    let mut theirs: AutoCommit = phone.client.documents_mut().get_mut(&doc).unwrap().fork();
    theirs.put(ROOT, "title", "from elsewhere").unwrap();
    let change = theirs.get_last_local_change().unwrap().clone();
    append_without_notice(&one, doc, &change).await;

    let started = Instant::now();
    phone
        .run_until("the relay found the change by itself", WAIT, |d| {
            d.get(doc, "title").as_deref() == Some("from elsewhere")
        })
        .await;
    let took = started.elapsed();
    println!("caught up without a notification in {took:?}");
    assert!(
        took < Duration::from_secs(4),
        "{took:?}: the check runs every second"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_asked_too_early_gets_a_document_created_on_another_relay() {
    let (one, two) = pair_of_relays(30).await;
    let pair = one.register("early@example.com").await;
    let token = token(&pair);
    let mut laptop = device_on(&two, "laptop", &token).await;
    let mut phone = device_on(&one, "phone", &token).await;

    // The laptop hears of a new document (say, from the root) before the
    // phone's relay has stored it, and asks: nobody has it yet.
    let doc = DocumentId::generate();
    laptop.want(doc).await;
    laptop
        .run_until("told it does not exist", WAIT, |d| {
            d.unavailable.contains(&doc)
        })
        .await;

    // Once the phone stored it through relay 1, relay 2 answers again,
    // without the laptop reconnecting (and long before the 30 s check).
    phone.create_as(doc, "title", "new ledger").await;
    let took = run_both(
        &mut phone,
        &mut laptop,
        "the laptop gets the document",
        |p, l| p.all_confirmed() && l.get(doc, "title").as_deref() == Some("new ledger"),
    )
    .await;
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_sessions_on_one_relay_closes_connections_on_another() {
    let (one, two) = pair_of_relays(30).await;
    let pair = one.register("logout@example.com").await;
    let token = token(&pair);
    let mut laptop = device_on(&two, "laptop", &token).await;
    laptop.create("title", "x").await;
    laptop
        .run_until("stored", WAIT, |d| d.all_confirmed())
        .await;

    let started = Instant::now();
    let r = one
        .client
        .post(one.url("/api/v1/auth/logout-all"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    laptop
        .run_until("closed by the other relay", WAIT, |d| d.closed.is_some())
        .await;
    assert_eq!(laptop.closed.as_ref().unwrap().0, 4001);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "{took:?}, not the 30 s account check"
    );
}

/// One session ended through one relay (`DELETE /api/v1/sessions/{id}`)
/// closes that session's connection on another within a second, and only
/// that session's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_one_session_on_one_relay_closes_its_connection_on_another() {
    let (one, two) = pair_of_relays(30).await;
    let laptop_pair = one.register("one-session@example.com").await;
    let phone_pair = one.login("one-session@example.com").await;
    let mut phone = device_on(&two, "phone", &token(&phone_pair)).await;
    let mut laptop = device_on(&two, "laptop", &token(&laptop_pair)).await;
    phone.create("title", "x").await;
    phone.run_until("stored", WAIT, |d| d.all_confirmed()).await;

    let sessions: serde_json::Value = one
        .get_with("/api/v1/sessions", &token(&phone_pair))
        .await
        .json()
        .await
        .unwrap();
    let phone_session = sessions["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let started = Instant::now();
    let r = one
        .client
        .delete(one.url(&format!("/api/v1/sessions/{phone_session}")))
        .bearer_auth(token(&laptop_pair))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    phone
        .run_until("closed by the other relay", WAIT, |d| d.closed.is_some())
        .await;
    assert_eq!(phone.closed.as_ref().unwrap().0, 4001);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "{took:?}, not the 30 s account check"
    );
    laptop.run_for(Duration::from_millis(300)).await;
    assert!(
        laptop.is_connected() && laptop.closed.is_none(),
        "the laptop's session goes on"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_writes_on_one_relay_reach_devices_on_another() {
    let (one, two) = pair_of_relays(30).await;
    let pair = one.register("api@example.com").await;
    let token = token(&pair);
    let user: uuid::Uuid = pair["user"]["id"].as_str().unwrap().parse().unwrap();
    let now = Timestamp::from_millis(1_795_000_000_000);
    let mut data = UserData::create(DocumentId::root_of_user(&user), now).unwrap();
    data.add_project(now, "Home").unwrap();
    let tasks_doc = data
        .documents_mut()
        .into_iter()
        .find(|(_, d)| d.kind() == DocKind::Tasks)
        .map(|(id, _)| id)
        .unwrap();
    let mut phone = device_on(&one, "phone", &token).await;
    phone.upload(&mut data).await;

    let titles = |d: &mut Device| -> Vec<String> {
        let Some(doc) = d.client.documents_mut().get_mut(&tasks_doc) else {
            return Vec::new();
        };
        let doc = LifeDoc::from_automerge(DocKind::Tasks, doc.clone()).unwrap();
        TasksDoc::from_doc(doc)
            .unwrap()
            .tasks()
            .unwrap()
            .into_iter()
            .map(|t| t.title)
            .collect()
    };
    // Writes through the relay the phone is not on, interleaved with the
    // phone's own edits of the same document through its relay.
    for n in 0..3 {
        let r = two
            .client
            .post(two.url("/api/v1/tasks"))
            .bearer_auth(&token)
            .json(&json!({ "title": format!("script {n}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let want = format!("script {n}");
        phone
            .run_until("the other relay's write reaches the phone", WAIT, |d| {
                titles(d).contains(&want)
            })
            .await;
        phone.put(tasks_doc, &format!("phone-{n}"), "x").await;
        phone.run_until("stored", WAIT, |d| d.all_confirmed()).await;
    }
    let listed: serde_json::Value = one
        .get_with("/api/v1/tasks?limit=50", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 3, "{listed}");
}

/// A REST write builds on what it read from the database; when the relay's
/// copy in memory lacks part of that (a notification not arrived yet), the
/// edit waits for one read of the log instead of failing, and that read
/// does not repeat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rest_write_on_a_lagging_relay_catches_up_once_and_succeeds() {
    let metrics_token = crate::helpers::random_secret();
    let configured = metrics_token.clone();
    let app = spawn_app_configured(Backend::Postgres, Default::default(), move |c| {
        c.catch_up_secs = 3600;
        c.metrics_token = Some(configured);
    })
    .await;
    let pair = app.register("lagging@example.com").await;
    let token = token(&pair);
    let user: uuid::Uuid = pair["user"]["id"].as_str().unwrap().parse().unwrap();
    let now = Timestamp::from_millis(1_795_000_000_000);
    let mut data = UserData::create(DocumentId::root_of_user(&user), now).unwrap();
    let tasks_doc = data
        .documents_mut()
        .into_iter()
        .find(|(_, d)| d.kind() == DocKind::Tasks)
        .map(|(id, _)| id)
        .unwrap();
    let mut phone = device_on(&app, "phone", &token).await;
    phone.upload(&mut data).await;
    let post = |title: &'static str| {
        let app = &app;
        let token = &token;
        async move {
            app.client
                .post(app.url("/api/v1/tasks"))
                .bearer_auth(token)
                .json(&json!({ "title": title }))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(post("first").await, 201);

    // Another relay stored a change of the tasks document; its notice is lost.
    let mut theirs: AutoCommit = phone
        .client
        .documents_mut()
        .get_mut(&tasks_doc)
        .unwrap()
        .fork();
    theirs.put(ROOT, "elsewhere", "x").unwrap();
    let change = theirs.get_last_local_change().unwrap().clone();
    append_without_notice(&app, tasks_doc, &change).await;

    assert_eq!(
        post("second").await,
        201,
        "built on the change the relay lacked"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth(&metrics_token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let reads: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("lifeos_catch_up_reads_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1.0..=2.0).contains(&reads),
        "{reads} catch-up reads:\n{metrics}"
    );
}
