//! `lifeos-relay backup` / `restore`: a populated relay is backed up and
//! restored into a new database of the other backend; accounts, sessions,
//! the audit log and every document come back, a device syncs against the
//! restored relay with nothing lost, and bad archives or non-empty targets
//! are refused without changing anything.

use std::io::{Read, Write};
use std::time::Duration;

use lifeos_core::finance::NewExpense;
use lifeos_core::tasks::NewTask;
use lifeos_core::time::{Date, Timestamp};
use lifeos_core::{Currency, DocumentId, Money, UserData};
use serde_json::{Value, json};

use crate::both_backends;
use crate::device::Device;
use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_configured};

const WAIT: Duration = Duration::from_secs(10);

fn other(backend: Backend) -> Backend {
    match backend {
        Backend::Sqlite => Backend::Postgres,
        Backend::Postgres => Backend::Sqlite,
    }
}

fn now() -> Timestamp {
    Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    )
}

/// GET `path` as JSON, without the fields that name the moment of the request.
async fn stable_json(app: &TestApp, path: &str, token: &str) -> Value {
    let r = app.get_with(path, token).await;
    assert_eq!(r.status(), 200, "{path}");
    let mut body: Value = r.json().await.unwrap();
    if let Some(o) = body.as_object_mut() {
        o.remove("exported_at");
    }
    body
}

async fn login(app: &TestApp, email: &str) -> reqwest::Response {
    app.post(
        "/api/v1/auth/login",
        json!({ "email": email, "password": "a long enough password" }),
    )
    .await
}

/// Rewrites the archive at `from` into `to`, letting `change` alter each
/// entry's bytes (by name).
fn rewrite(
    from: &std::path::Path,
    to: &std::path::Path,
    change: impl Fn(&str, Vec<u8>) -> Vec<u8>,
) {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(from).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(to).unwrap());
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        out.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&change(&name, bytes)).unwrap();
    }
    out.finish().unwrap();
}

async fn a_backup_restores_into_the_other_backend(backend: Backend) {
    // Compaction after 5 changes: the backup holds snapshots and logs.
    let source = spawn_app_configured(backend, Default::default(), |c| c.compact_after = 5).await;
    let pair = source.register("ada@example.com").await;
    let token = pair["access_token"].as_str().unwrap().to_string();
    let user: uuid::Uuid = pair["user"]["id"].as_str().unwrap().parse().unwrap();
    let mut data = UserData::create(DocumentId::root_of_user(&user), now()).unwrap();
    for n in 0..12 {
        data.add_task(
            now(),
            NewTask {
                title: format!("task {n} with \"quotes\", commas; and ünïcode"),
                ..NewTask::default()
            },
        )
        .unwrap();
    }
    let eur = Currency::from_code("EUR").unwrap();
    for (n, day) in ["2026-10-03", "2026-11-20"].iter().enumerate() {
        let day: Date = day.parse().unwrap();
        data.add_expense(
            now(),
            NewExpense {
                amount: Money::new(1250 + n as i64, eur),
                date: day,
                category: None,
                payee: Some("Bakery".into()),
                note: None,
            },
        )
        .unwrap();
    }
    let mut laptop = Device::new("laptop");
    laptop.connect(&source.sync_url(&token)).await.unwrap();
    laptop.upload(&mut data).await;
    // A write through the REST API with an idempotency key, a refused login
    // (audit events), another account with a document of its own.
    let r = source
        .client
        .post(source.url("/api/v1/tasks"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "backup-test-1")
        .json(&json!({ "title": "from the API" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = source
        .post(
            "/api/v1/auth/login",
            json!({ "email": "ada@example.com", "password": "wrong password here" }),
        )
        .await;
    assert_eq!(r.status(), 401);
    let grace = source.register("grace@example.com").await;
    let mut other_device = Device::new("grace-phone");
    other_device
        .connect(&source.sync_url(grace["access_token"].as_str().unwrap()))
        .await
        .unwrap();
    let graces = other_device.create("title", "Grace's own").await;
    other_device
        .run_until("stored", WAIT, |d| d.all_confirmed())
        .await;
    laptop
        .run_until("the API's task arrived", WAIT, |d| d.all_confirmed())
        .await;
    let export = stable_json(&source, "/api/v1/export?format=json", &token).await;
    let audit = stable_json(&source, "/api/v1/audit", &token).await;

    // Back up the running relay.
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("relay.lifeos-backup");
    let said = lifeos_relay::backup_command(&source.config, &archive)
        .await
        .unwrap();
    assert!(said.contains("users 2"), "{said}");
    assert!(!dir.path().join("relay.lifeos-backup.partial").exists());

    // Restore into a new relay on the other backend.
    let target = spawn_app(other(backend)).await;
    let said = lifeos_relay::restore_command(&target.config, &archive)
        .await
        .unwrap();
    assert!(
        said.contains("users 2") && said.contains("documents"),
        "{said}"
    );

    // The same account, password and data; the old tokens still work (same
    // signing secret), and so does a new login.
    assert_eq!(login(&target, "ada@example.com").await.status(), 200);
    assert_eq!(
        stable_json(&target, "/api/v1/export?format=json", &token).await,
        export
    );
    let restored_audit = stable_json(&target, "/api/v1/audit", &token).await;
    // Newest first: this login and export on the restored relay, then
    // everything the source had recorded, as it was.
    let restored_items = restored_audit["items"].as_array().unwrap();
    assert_eq!(restored_items[0]["action"], "export");
    assert_eq!(restored_items[1]["action"], "login");
    assert_eq!(
        restored_items[2..],
        audit["items"].as_array().unwrap()[..],
        "the audit log is restored"
    );
    // The idempotency key came along: a retry is answered, not repeated.
    let r = target
        .client
        .post(target.url("/api/v1/tasks"))
        .bearer_auth(&token)
        .header("Idempotency-Key", "backup-test-1")
        .json(&json!({ "title": "from the API" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["idempotent-replayed"], "true");

    // The laptop moves to the restored relay: nothing to send, nothing lost;
    // a new device gets every document; edits keep working.
    let ids: Vec<DocumentId> = laptop.client.documents().keys().copied().collect();
    laptop.disconnect();
    laptop.connect(&target.sync_url(&token)).await.unwrap();
    let mut fresh = Device::new("new-phone");
    fresh.connect(&target.sync_url(&token)).await.unwrap();
    for id in &ids {
        fresh.want(*id).await;
    }
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let same = ids.iter().all(|id| {
            let theirs = fresh.heads(*id);
            !theirs.is_empty() && theirs == laptop.heads(*id)
        });
        if same && laptop.all_confirmed() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the laptop and a new device agree on every document of the restored relay"
        );
        laptop.run_for(Duration::from_millis(5)).await;
        fresh.run_for(Duration::from_millis(5)).await;
    }
    let root = DocumentId::root_of_user(&user);
    laptop.put(root, "after-restore", "yes").await;
    fresh
        .run_until("a new edit reaches the other device", WAIT, |d| {
            d.get(root, "after-restore").as_deref() == Some("yes")
        })
        .await;
    // Grace's document is hers alone on the restored relay too.
    let mut intruder = Device::new("intruder");
    intruder.connect(&target.sync_url(&token)).await.unwrap();
    intruder.want(graces).await;
    intruder
        .run_until("refused", WAIT, |d| d.unavailable.contains(&graces))
        .await;

    // Restoring again is refused: the target is no longer empty.
    let err = lifeos_relay::restore_command(&target.config, &archive)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("already holds"), "{err}");
}

async fn bad_archives_change_nothing(backend: Backend) {
    let source = spawn_app(backend).await;
    source.register("one@example.com").await;
    source.register("two@example.com").await;
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("good.zip");
    lifeos_relay::backup_command(&source.config, &archive)
        .await
        .unwrap();
    let target = spawn_app(backend).await;

    // A table cut short: its row count no longer matches the manifest.
    let cut = dir.path().join("cut.zip");
    rewrite(&archive, &cut, |name, bytes| {
        if name == "users.jsonl" {
            let text = String::from_utf8(bytes).unwrap();
            text.lines()
                .next()
                .map(|l| format!("{l}\n"))
                .unwrap()
                .into_bytes()
        } else {
            bytes
        }
    });
    let err = lifeos_relay::restore_command(&target.config, &cut)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("users.jsonl holds 1 rows, the manifest says 2"),
        "{err}"
    );

    // A malformed row names its table, line and column.
    let bad = dir.path().join("bad.zip");
    rewrite(&archive, &bad, |name, bytes| {
        if name == "users.jsonl" {
            String::from_utf8(bytes)
                .unwrap()
                .replacen("\"one@example.com\"", "12", 1)
                .into_bytes()
        } else {
            bytes
        }
    });
    let err = lifeos_relay::restore_command(&target.config, &bad)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("users.jsonl line") && err.contains("email"),
        "{err}"
    );

    // A newer format is refused with the reason.
    let newer = dir.path().join("newer.zip");
    rewrite(&archive, &newer, |name, bytes| {
        if name == "manifest.json" {
            let mut manifest: Value = serde_json::from_slice(&bytes).unwrap();
            manifest["version"] = json!(lifeos_relay::backup::VERSION + 1);
            serde_json::to_vec(&manifest).unwrap()
        } else {
            bytes
        }
    });
    let err = lifeos_relay::restore_command(&target.config, &newer)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("newer lifeos-relay"), "{err}");

    // Not a backup at all.
    let junk = dir.path().join("junk.zip");
    std::fs::write(&junk, b"not a zip").unwrap();
    let err = lifeos_relay::restore_command(&target.config, &junk)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a LifeOS backup"), "{err}");

    // None of that left anything behind: the good archive still restores
    // into the same database, in full.
    assert_eq!(login(&target, "one@example.com").await.status(), 401);
    let said = lifeos_relay::restore_command(&target.config, &archive)
        .await
        .unwrap();
    assert!(said.contains("users 2"), "{said}");
    assert_eq!(login(&target, "two@example.com").await.status(), 200);
}

both_backends!(
    restores_into_the_other_backend,
    super::a_backup_restores_into_the_other_backend
);
both_backends!(bad_archives, super::bad_archives_change_nothing);
