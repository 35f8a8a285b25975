//! The write endpoints: each write is an Automerge change made on the
//! relay, stored before the answer, and seen by the user's connected
//! devices; bad input is 422 naming the field, another account's ids 404.

use std::time::{Duration, Instant};

use lifeos_core::habits::{HabitKind, NewHabit, Schedule};
use lifeos_core::tasks::{NewTask, Recurrence, TasksDoc, Unit};
use lifeos_core::time::{Date, Timestamp};
use lifeos_core::{DocKind, DocumentId, EntityId, LifeDoc, UserData};
use serde_json::{Value, json};

use crate::both_backends;
use crate::device::Device;
use crate::helpers::{Backend, TestApp, spawn_app};

fn now() -> Timestamp {
    Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    )
}

fn day(s: &str) -> Date {
    s.parse().unwrap()
}

/// Today (UTC) moved by `days`: tests of repeating tasks must not depend on
/// the day they run (a completion's next occurrence is after the day it
/// was completed).
fn from_today(days: i64) -> Date {
    chrono::Utc::now().date_naive() + chrono::Duration::days(days)
}

async fn send(app: &TestApp, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    let r = app
        .client
        .request(method.parse().unwrap(), app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The titles of the tasks in the device's copy of document `id`.
fn device_titles(device: &mut Device, id: DocumentId) -> Vec<String> {
    let Some(doc) = device.client.documents_mut().get_mut(&id) else {
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
}

async fn writes_are_stored_and_reach_devices(backend: Backend) {
    let app = spawn_app(backend).await;
    let pair = app.register("ada@example.com").await;
    let token = pair["access_token"].as_str().unwrap().to_string();
    let user: uuid::Uuid = pair["user"]["id"].as_str().unwrap().parse().unwrap();
    let mut data = UserData::create(DocumentId::root_of_user(&user), now()).unwrap();
    let project = data.add_project(now(), "Home").unwrap();
    let weekly = data
        .add_task(
            now(),
            NewTask {
                title: "Water the plants".into(),
                due: Some(from_today(2)),
                recurrence: Some(Recurrence::every(1, Unit::Week, false).unwrap()),
                ..NewTask::default()
            },
        )
        .unwrap();
    let habit = data
        .add_habit(
            now(),
            NewHabit {
                name: "Run".into(),
                schedule: Schedule::Daily,
                kind: HabitKind::Numeric {
                    unit: "km".into(),
                    target: 5.0,
                },
                start: day("2026-01-01"),
            },
        )
        .unwrap();
    let tasks_doc = data
        .documents_mut()
        .into_iter()
        .find(|(_, d)| d.kind() == DocKind::Tasks)
        .map(|(id, _)| id)
        .unwrap();
    let mut device = Device::new("laptop");
    device.connect(&app.sync_url(&token)).await.unwrap();
    device.upload(&mut data).await;

    // A task made through the API reaches the connected device within a second.
    let started = Instant::now();
    let (status, task) = send(
        &app,
        "POST",
        "/api/v1/tasks",
        &token,
        json!({ "title": "From a script", "due": "2026-12-01", "contexts": ["@phone"], "project_id": project.to_string(), "important": true }),
    )
    .await;
    assert_eq!(status, 201, "{task}");
    assert_eq!(task["title"], "From a script");
    assert_eq!(task["contexts"], json!(["phone"]));
    assert_eq!(task["project_id"], project.to_string());
    assert_eq!(task["status"], "inbox");
    device
        .run_until(
            "the API's task reaches the device",
            Duration::from_secs(1),
            |d| device_titles(d, tasks_doc).contains(&"From a script".to_string()),
        )
        .await;
    let seen = started.elapsed();
    assert!(seen < Duration::from_secs(1), "{seen:?}");
    println!("an API write reached the connected device {seen:?} after the request started");
    let listed = app.get_with("/api/v1/tasks?q=script", &token).await;
    let listed: Value = listed.json().await.unwrap();
    assert_eq!(listed["items"][0]["id"], task["id"]);

    // Updates: clear a date, replace contexts, complete, reopen.
    let path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    let (status, updated) = send(
        &app,
        "PATCH",
        &path,
        &token,
        json!({ "due": null, "contexts": ["home", "errands"], "notes": "two lines\nof notes" }),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["due"], Value::Null);
    assert_eq!(updated["contexts"], json!(["errands", "home"]));
    assert_eq!(updated["notes"], "two lines\nof notes");
    assert_eq!(updated["title"], "From a script", "untouched");
    let (_, done) = send(&app, "PATCH", &path, &token, json!({ "status": "done" })).await;
    assert_eq!(done["status"], "done");
    assert!(done["completed_at"].is_string());
    let (_, reopened) = send(&app, "PATCH", &path, &token, json!({ "status": "next" })).await;
    assert_eq!(reopened["status"], "next");
    // Completing a repeating task moves it to its next occurrence, open.
    let (status, plants) = send(
        &app,
        "PATCH",
        &format!("/api/v1/tasks/{weekly}"),
        &token,
        json!({ "status": "done" }),
    )
    .await;
    assert_eq!(status, 200, "{plants}");
    assert_eq!(plants["status"], "inbox");
    assert_eq!(plants["due"], from_today(9).to_string());
    assert_eq!(
        plants["completions"][0]["occurrence"],
        from_today(2).to_string()
    );
    device
        .run_until(
            "the completion reaches the device",
            Duration::from_secs(2),
            |d| {
                let Some(doc) = d.client.documents_mut().get_mut(&tasks_doc) else {
                    return false;
                };
                let doc = LifeDoc::from_automerge(DocKind::Tasks, doc.clone()).unwrap();
                TasksDoc::from_doc(doc)
                    .unwrap()
                    .task(weekly)
                    .is_ok_and(|t| t.due == Some(from_today(9)))
            },
        )
        .await;

    // A check-in, then the same day again: replaced, not doubled.
    let checkins = format!("/api/v1/habits/{habit}/checkins");
    let (status, c) = send(
        &app,
        "POST",
        &checkins,
        &token,
        json!({ "date": "2026-11-20", "state": "value", "value": 3.5, "note": "windy" }),
    )
    .await;
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["value"], 3.5);
    let (_, c) = send(
        &app,
        "POST",
        &checkins,
        &token,
        json!({ "date": "2026-11-20", "state": "value", "value": 6.0 }),
    )
    .await;
    assert_eq!(c["value"], 6.0);
    let list: Value = app.get_with(&checkins, &token).await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["value"], 6.0);

    // An expense in a month with no ledger yet: the ledger is created.
    let (status, e) = send(
        &app,
        "POST",
        "/api/v1/expenses",
        &token,
        json!({ "amount": "12,50", "currency": "EUR", "date": "2025-02-14", "payee": "Florist" }),
    )
    .await;
    assert_eq!(status, 201, "{e}");
    assert_eq!(e["amount"], "12.50");
    assert_eq!(e["amount_minor"], 1250);
    let list: Value = app
        .get_with("/api/v1/expenses?to=2025-02-28", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["payee"], "Florist");
    let report: Value = app
        .get_with("/api/v1/reports/monthly?month=2025-02", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["spent"][0]["amount"], "12.50");
    // And in that month again: the same ledger.
    let (status, _) = send(
        &app,
        "POST",
        "/api/v1/expenses",
        &token,
        json!({ "amount": "1", "currency": "EUR", "date": "2025-02-15" }),
    )
    .await;
    assert_eq!(status, 201);
    let export: Value = app
        .get_with("/api/v1/export", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(export["expenses"].as_array().unwrap().len(), 2);

    // Updating an expense: amount and payee, then a date in another month,
    // which moves it to that month's ledger under the same id.
    let florist = format!("/api/v1/expenses/{}", e["id"].as_str().unwrap());
    let (status, changed) = send(
        &app,
        "PATCH",
        &florist,
        &token,
        json!({ "amount": "15", "payee": null, "note": "roses" }),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["amount"], "15.00");
    assert_eq!(changed["payee"], Value::Null);
    assert_eq!(changed["note"], "roses");
    assert_eq!(changed["date"], "2025-02-14");
    let (status, moved) = send(
        &app,
        "PATCH",
        &florist,
        &token,
        json!({ "date": "2025-03-01" }),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["id"], e["id"]);
    assert_eq!(moved["date"], "2025-03-01");
    assert_eq!(moved["amount"], "15.00", "the rest travels with it");
    let march: Value = app
        .get_with("/api/v1/expenses?from=2025-03-01&to=2025-03-31", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(march["items"].as_array().unwrap().len(), 1);
    let february: Value = app
        .get_with("/api/v1/expenses?from=2025-02-01&to=2025-02-28", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        february["items"].as_array().unwrap().len(),
        1,
        "only the other one is left"
    );
    let (status, problem) = send(
        &app,
        "PATCH",
        &florist,
        &token,
        json!({ "currency": "USD" }),
    )
    .await;
    assert_eq!((status, problem["field"].as_str()), (422, Some("amount")));
    let (status, _) = send(
        &app,
        "PATCH",
        &format!("/api/v1/expenses/{}", EntityId::generate(now())),
        &token,
        json!({ "note": "?" }),
    )
    .await;
    assert_eq!(status, 404);

    // Everything survives a restart of the relay (it was stored before the answers).
    let mut app = app;
    device.disconnect();
    app.restart().await;
    let token = app.login("ada@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let after: Value = app
        .get_with("/api/v1/export", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["tasks"].as_array().unwrap().len(), 2);
    assert_eq!(after["expenses"].as_array().unwrap().len(), 2);
    assert_eq!(after["checkins"][0]["value"], 6.0);
    assert!(
        after["expenses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["note"] == "roses" && x["date"] == "2025-03-01")
    );
}

async fn an_account_without_documents_gets_them_from_its_first_write(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.register("new@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, task) = send(
        &app,
        "POST",
        "/api/v1/tasks",
        &token,
        json!({ "title": "First" }),
    )
    .await;
    assert_eq!(status, 201, "{task}");
    let (status, e) = send(
        &app,
        "POST",
        "/api/v1/expenses",
        &token,
        json!({ "amount": "3", "currency": "JPY" }),
    )
    .await;
    assert_eq!(status, 201, "{e}");
    let v: Value = app
        .get_with("/api/v1/export", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["tasks"][0]["title"], "First", "{v}");
    assert_eq!(v["expenses"][0]["amount"], "3");
    // A device signing in later finds it all from the root.
    let user: uuid::Uuid = v["account"]["id"].as_str().unwrap().parse().unwrap();
    let mut device = Device::new("phone");
    device.connect(&app.sync_url(&token)).await.unwrap();
    let root = DocumentId::root_of_user(&user);
    device.want(root).await;
    device
        .run_until("the root arrives", Duration::from_secs(5), |d| {
            d.client.documents_mut().contains_key(&root)
        })
        .await;
}

async fn bad_writes_are_refused_clearly(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.register("ada@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, task) = send(
        &app,
        "POST",
        "/api/v1/tasks",
        &token,
        json!({ "title": "Mine" }),
    )
    .await;
    let task_path = format!("/api/v1/tasks/{}", task["id"].as_str().unwrap());
    for (method, path, body, field) in [
        ("POST", "/api/v1/tasks", json!({ "title": "" }), "title"),
        ("POST", "/api/v1/tasks", json!({}), "title"),
        ("POST", "/api/v1/tasks", json!({ "title": 5 }), "title"),
        (
            "POST",
            "/api/v1/tasks",
            json!({ "title": "x", "colour": "red" }),
            "colour",
        ),
        (
            "POST",
            "/api/v1/tasks",
            json!({ "title": "x", "due": "2026-13-01" }),
            "due",
        ),
        (
            "POST",
            "/api/v1/tasks",
            json!({ "title": "x", "status": "later" }),
            "status",
        ),
        (
            "POST",
            "/api/v1/tasks",
            json!({ "title": "x", "recurrence": "sometimes" }),
            "recurrence",
        ),
        (
            "POST",
            "/api/v1/tasks",
            json!({ "title": "x", "project_id": EntityId::generate(now()).to_string() }),
            "project_id",
        ),
        (
            "PATCH",
            task_path.as_str(),
            json!({ "scheduled": "soon" }),
            "scheduled",
        ),
        (
            "PATCH",
            task_path.as_str(),
            json!({ "time": "25:00" }),
            "time",
        ),
        (
            "POST",
            "/api/v1/tasks",
            json!({ "title": "x", "time": "09:00" }),
            "time",
        ),
        (
            "POST",
            "/api/v1/expenses",
            json!({ "amount": "abc", "currency": "EUR" }),
            "amount",
        ),
        (
            "POST",
            "/api/v1/expenses",
            json!({ "amount": "-3", "currency": "EUR" }),
            "amount",
        ),
        (
            "POST",
            "/api/v1/expenses",
            json!({ "amount": "3", "currency": "EURO" }),
            "currency",
        ),
        (
            "POST",
            "/api/v1/expenses",
            json!({ "amount": "3" }),
            "currency",
        ),
    ] {
        let (status, problem) = send(&app, method, path, &token, body.clone()).await;
        assert_eq!(status, 422, "{method} {path} {body}: {problem}");
        assert_eq!(problem["field"], field, "{method} {path} {body}: {problem}");
    }
    // Another account's task, an unknown one, a malformed id: 404 alike.
    let mallory = app.register("mallory@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = send(
        &app,
        "PATCH",
        &task_path,
        &mallory,
        json!({ "title": "Stolen" }),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = send(
        &app,
        "PATCH",
        &format!("/api/v1/tasks/{}", EntityId::generate(now())),
        &token,
        json!({ "title": "?" }),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = send(
        &app,
        "PATCH",
        "/api/v1/tasks/42",
        &token,
        json!({ "title": "?" }),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = send(
        &app,
        "POST",
        &format!("/api/v1/habits/{}/checkins", EntityId::generate(now())),
        &token,
        json!({ "state": "done" }),
    )
    .await;
    assert_eq!(status, 404);
    let (_, mine) = app
        .get_with("/api/v1/tasks", &token)
        .await
        .json::<Value>()
        .await
        .map(|v| (0, v))
        .unwrap();
    assert_eq!(mine["items"][0]["title"], "Mine", "nothing changed");
    // Not JSON: 415; too large: 413; no token: 401.
    let r = app
        .client
        .post(app.url("/api/v1/tasks"))
        .bearer_auth(&token)
        .body("title=x")
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let big = json!({ "title": "x", "notes": "n".repeat(100 * 1024) });
    let (status, _) = send(&app, "POST", "/api/v1/tasks", &token, big).await;
    assert_eq!(status, 413);
    let r = app
        .client
        .post(app.url("/api/v1/tasks"))
        .json(&json!({ "title": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

both_backends!(
    stored_and_synced,
    super::writes_are_stored_and_reach_devices
);
both_backends!(
    first_write,
    super::an_account_without_documents_gets_them_from_its_first_write
);
both_backends!(bad_writes, super::bad_writes_are_refused_clearly);

async fn post_with_key(
    app: &TestApp,
    path: &str,
    token: &str,
    key: &str,
    body: Value,
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn count_titled(app: &TestApp, token: &str, title: &str) -> usize {
    let page: Value = app
        .get_with("/api/v1/tasks?limit=200", token)
        .await
        .json()
        .await
        .unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["title"] == title)
        .count()
}

async fn retried_writes_happen_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.register("ada@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    let first = post_with_key(
        &app,
        "/api/v1/tasks",
        &token,
        "key-1",
        json!({ "title": "Pay rent" }),
    )
    .await;
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].to_str().unwrap().to_string();
    assert!(!first.headers().contains_key("idempotent-replayed"));
    let first: Value = first.json().await.unwrap();
    let again = post_with_key(
        &app,
        "/api/v1/tasks",
        &token,
        "key-1",
        json!({ "title": "Pay rent" }),
    )
    .await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["location"].to_str().unwrap(), location);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first, "the same answer");
    assert_eq!(count_titled(&app, &token, "Pay rent").await, 1);

    // The key with another request: refused, nothing made.
    let other = post_with_key(
        &app,
        "/api/v1/tasks",
        &token,
        "key-1",
        json!({ "title": "Pay rent twice" }),
    )
    .await;
    assert_eq!(other.status(), 422);
    let problem: Value = other.json().await.unwrap();
    assert_eq!(problem["field"], "Idempotency-Key");
    assert_eq!(count_titled(&app, &token, "Pay rent twice").await, 0);

    // Expenses too.
    for _ in 0..3 {
        let r = post_with_key(
            &app,
            "/api/v1/expenses",
            &token,
            "key-2",
            json!({ "amount": "9.99", "currency": "EUR" }),
        )
        .await;
        assert_eq!(r.status(), 201);
    }
    let export: Value = app
        .get_with("/api/v1/export", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(export["expenses"].as_array().unwrap().len(), 1);

    // Racing retries (a client that timed out and retried at once): one task.
    let mut racing = Vec::new();
    for _ in 0..5 {
        let (app, token) = (&app, &token);
        racing.push(async move {
            post_with_key(
                app,
                "/api/v1/tasks",
                token,
                "key-3",
                json!({ "title": "Racing" }),
            )
            .await
            .status()
            .as_u16()
        });
    }
    let statuses = futures_util::future::join_all(racing).await;
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert!(statuses.contains(&201));
    assert_eq!(count_titled(&app, &token, "Racing").await, 1);

    // A refused write leaves the key free for the corrected request.
    let bad = post_with_key(
        &app,
        "/api/v1/tasks",
        &token,
        "key-4",
        json!({ "title": "" }),
    )
    .await;
    assert_eq!(bad.status(), 422);
    let fixed = post_with_key(
        &app,
        "/api/v1/tasks",
        &token,
        "key-4",
        json!({ "title": "Fixed" }),
    )
    .await;
    assert_eq!(fixed.status(), 201);

    // Keys belong to their account.
    let mallory = app.register("mallory@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let hers = post_with_key(
        &app,
        "/api/v1/tasks",
        &mallory,
        "key-1",
        json!({ "title": "Pay rent" }),
    )
    .await;
    assert_eq!(hers.status(), 201);
    assert!(!hers.headers().contains_key("idempotent-replayed"));
    let hers: Value = hers.json().await.unwrap();
    assert_ne!(hers["id"], first["id"]);

    let long = "k".repeat(256);
    for key in [long.as_str(), "with space"] {
        let r = post_with_key(&app, "/api/v1/tasks", &token, key, json!({ "title": "x" })).await;
        assert_eq!(r.status(), 400, "{key}");
    }
}

both_backends!(idempotency, super::retried_writes_happen_once);
