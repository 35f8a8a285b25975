//! `GET /api/v1/export`: what a device synced comes back out, in every
//! format, to its owner only, and every export is audited.

use std::io::Read;
use std::time::Duration;

use lifeos_core::finance::NewExpense;
use lifeos_core::root::{DocRole, RootDoc};
use lifeos_core::tasks::NewTask;
use lifeos_core::time::{Date, Timestamp};
use lifeos_core::{Currency, DocKind, DocumentId, Money, UserData};
use serde_json::Value;
use uuid::Uuid;

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

struct Account {
    id: Uuid,
    token: String,
}

async fn account(app: &TestApp, email: &str) -> Account {
    let pair = app.register(email).await;
    Account {
        id: pair["user"]["id"].as_str().unwrap().parse().unwrap(),
        token: pair["access_token"].as_str().unwrap().to_string(),
    }
}

/// A device of `who` that syncs `data` (a root, tasks, habits, finance and
/// two monthly ledgers) to the relay.
async fn upload(app: &TestApp, who: &Account, data: &mut UserData) -> Device {
    let mut device = Device::new("laptop");
    device.connect(&app.sync_url(&who.token)).await.unwrap();
    device.upload(data).await;
    device
}

fn sample(user: Uuid) -> UserData {
    let now = now();
    let mut data = UserData::create(DocumentId::root_of_user(&user), now).unwrap();
    data.add_task(
        now,
        NewTask {
            title: "=2+3, \"quoted\"".into(),
            notes: "two\nlines".into(),
            ..NewTask::default()
        },
    )
    .unwrap();
    let eur = Currency::from_code("EUR").unwrap();
    for (d, minor) in [("2026-10-31", 1999), ("2026-11-02", 350)] {
        data.add_expense(
            now,
            NewExpense {
                amount: Money::new(minor, eur),
                date: day(d),
                category: None,
                payee: Some("Café".into()),
                note: None,
            },
        )
        .unwrap();
    }
    data
}

async fn get(app: &TestApp, query: &str, token: &str) -> reqwest::Response {
    app.get_with(&format!("/api/v1/export{query}"), token).await
}

async fn a_devices_data_comes_back_in_every_format(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = account(&app, "ada@example.com").await;
    let mut data = sample(ada.id);
    let _device = upload(&app, &ada, &mut data).await;

    let r = get(&app, "?format=json", &ada.token).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"lifeos-export-")
            && disposition.ends_with(".json\""),
        "{disposition}"
    );
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["account"]["email"], "ada@example.com");
    assert_eq!(v["account"]["id"], ada.id.to_string());
    assert_eq!(v["tasks"][0]["title"], "=2+3, \"quoted\"");
    let amounts: Vec<&str> = v["expenses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["amount"].as_str().unwrap())
        .collect();
    assert_eq!(amounts, ["19.99", "3.50"], "both months, oldest first");

    let r = get(&app, "?format=csv&kind=tasks", &ada.token).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = r.text().await.unwrap();
    assert!(csv.starts_with("id,title,status,"), "{csv}");
    assert!(csv.contains(",\"'=2+3, \"\"quoted\"\"\",inbox,"), "{csv}");
    assert!(csv.contains("\"two\nlines\""), "{csv}");

    let r = get(&app, "?format=csv&kind=expenses", &ada.token).await;
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].contains(",2026-10-31,19.99,EUR,,,Café,,"), "{csv}");

    let r = get(&app, "?format=csv&kind=all", &ada.token).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/zip");
    let bytes = r.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(zip.len(), 7);
    let mut tasks = String::new();
    zip.by_name("tasks.csv")
        .unwrap()
        .read_to_string(&mut tasks)
        .unwrap();
    assert!(tasks.contains("'=2+3"));

    // Every export is in the audit log with what was exported.
    let audit: Value = app
        .get_with("/api/v1/audit", &ada.token)
        .await
        .json()
        .await
        .unwrap();
    let exports: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["action"] == "export")
        .collect();
    assert_eq!(exports.len(), 4);
    assert_eq!(exports[0]["detail"]["kind"], "all", "newest first");
    assert_eq!(exports[3]["detail"]["format"], "json");
}

/// The relay's export (its database, through `StoreSource`) and an offline
/// export of the same documents (`lifeos_export::Documents`, as the CLI
/// writes it) are the same bytes: one writer, whatever the source.
async fn an_offline_export_of_the_same_documents_is_the_same(backend: Backend) {
    use lifeos_export::{Documents, Export, Format, Kind};

    let app = spawn_app(backend).await;
    let ada = account(&app, "ada@example.com").await;
    let mut data = sample(ada.id);
    let _device = upload(&app, &ada, &mut data).await;

    let relay_json = get(&app, "?format=json", &ada.token)
        .await
        .bytes()
        .await
        .unwrap();
    // Exported at the relay's instant, so that even `exported_at` matches.
    let v: Value = serde_json::from_slice(&relay_json).unwrap();
    let exported_at = chrono::DateTime::parse_from_rfc3339(v["exported_at"].as_str().unwrap())
        .unwrap()
        .timestamp_millis();
    let documents = Documents::from_user_data(&mut data);
    let account = lifeos_export::Account {
        id: ada.id.to_string(),
        email: "ada@example.com".into(),
    };
    let offline =
        Export::prepare(&documents, account, Timestamp::from_millis(exported_at)).unwrap();
    let write = |format| {
        let mut out = Vec::new();
        offline.write(format, &mut out).unwrap();
        out
    };
    assert_eq!(
        String::from_utf8_lossy(&relay_json),
        String::from_utf8_lossy(&write(Format::Json))
    );

    let zip = get(&app, "?format=csv&kind=all", &ada.token)
        .await
        .bytes()
        .await
        .unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).unwrap();
    for kind in Kind::ALL {
        let csv = get(
            &app,
            &format!("?format=csv&kind={}", kind.name()),
            &ada.token,
        )
        .await
        .text()
        .await
        .unwrap();
        let offline = String::from_utf8(write(Format::Csv(kind))).unwrap();
        assert_eq!(csv, offline, "{}", kind.name());
        let mut zipped = String::new();
        zip.by_name(&format!("{}.csv", kind.name()))
            .unwrap()
            .read_to_string(&mut zipped)
            .unwrap();
        assert_eq!(zipped, offline, "{} in the zip", kind.name());
    }
}

async fn only_the_owners_documents_are_exported(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = account(&app, "ada@example.com").await;
    let mut data = sample(ada.id);
    let _ada_device = upload(&app, &ada, &mut data).await;
    let ada_tasks = data
        .documents_mut()
        .into_iter()
        .find(|(_, d)| d.kind() == DocKind::Tasks)
        .map(|(id, _)| id)
        .unwrap();

    // Mallory has synced nothing: her export is empty, not an error.
    let mallory = account(&app, "mallory@example.com").await;
    let v: Value = get(&app, "", &mallory.token).await.json().await.unwrap();
    assert_eq!(v["tasks"], serde_json::json!([]));
    assert_eq!(v["account"]["email"], "mallory@example.com");

    // Her root lists Ada's tasks document: it is still not hers to read.
    let mut root = RootDoc::new();
    root.register(
        now(),
        ada_tasks,
        DocRole {
            kind: DocKind::Tasks,
            month: None,
        },
    )
    .unwrap();
    let mut device = Device::new("mallory");
    device.connect(&app.sync_url(&mallory.token)).await.unwrap();
    device.client.documents_mut().insert(
        DocumentId::root_of_user(&mallory.id),
        root.doc().automerge().clone(),
    );
    let outputs = device
        .client
        .local_change(DocumentId::root_of_user(&mallory.id));
    assert!(!outputs.is_empty());
    for output in outputs {
        if let lifeos_core::sync::ClientOutput::Send(m) = output {
            device.send_raw(lifeos_core::sync::encode(&m)).await;
        }
    }
    device
        .run_until("her root stored", Duration::from_secs(10), |d| {
            d.all_confirmed()
        })
        .await;
    let r = get(&app, "?format=csv&kind=tasks", &mallory.token).await;
    assert_eq!(r.status(), 200);
    let csv = r.text().await.unwrap();
    assert_eq!(csv.lines().count(), 1, "the header alone: {csv}");
}

async fn bad_requests_name_the_parameter(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = account(&app, "ada@example.com").await;
    let r = app
        .client
        .get(app.url("/api/v1/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = get(&app, "", "not-a-token").await;
    assert_eq!(r.status(), 401);
    for (query, names) in [
        ("?format=xml", "format"),
        ("?format=csv", "kind"),
        ("?format=csv&kind=diary", "kind"),
        ("?format=json&kind=tasks", "kind"),
        ("?format=json&limit=3", "limit"),
    ] {
        let r = get(&app, query, &ada.token).await;
        assert_eq!(r.status(), 400, "{query}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let problem: Value = r.json().await.unwrap();
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(names), "{query}: {detail}");
    }
    // Refused exports are not audited as exports.
    let audit: Value = app
        .get_with("/api/v1/audit", &ada.token)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["action"] != "export")
    );
}

both_backends!(
    every_format,
    super::a_devices_data_comes_back_in_every_format
);
both_backends!(
    same_as_offline,
    super::an_offline_export_of_the_same_documents_is_the_same
);
both_backends!(owner_only, super::only_the_owners_documents_are_exported);
both_backends!(bad_requests, super::bad_requests_name_the_parameter);
