//! docs/api.md's examples, run as written: every `sh` block, in order, in
//! one bash, against a relay holding the account the page describes.

use lifeos_core::finance::NewExpense;
use lifeos_core::habits::{CheckInState, HabitKind, NewHabit, Schedule};
use lifeos_core::tasks::{NewTask, Status};
use lifeos_core::time::{Date, Timestamp};
use lifeos_core::{Currency, DocumentId, Money, UserData};
use serde_json::json;

use crate::both_backends;
use crate::device::Device;
use crate::helpers::{Backend, spawn_app};

fn day(s: &str) -> Date {
    s.parse().unwrap()
}

/// The `sh` blocks of a markdown page, in order.
fn shell_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

async fn the_api_pages_examples_work(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = app
        .post(
            "/api/v1/auth/register",
            json!({ "email": "ada@example.com", "password": "correct horse battery" }),
        )
        .await;
    assert_eq!(r.status(), 201);
    let pair: serde_json::Value = r.json().await.unwrap();
    let user: uuid::Uuid = pair["user"]["id"].as_str().unwrap().parse().unwrap();
    let now = Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    let mut data = UserData::create(DocumentId::root_of_user(&user), now).unwrap();
    for (title, status) in [
        ("Plan the trip", Status::Next),
        ("Book flights", Status::Next),
    ] {
        data.add_task(
            now,
            NewTask {
                title: title.into(),
                status: Some(status),
                ..NewTask::default()
            },
        )
        .unwrap();
    }
    let habit = data
        .add_habit(
            now,
            NewHabit {
                name: "Stretch".into(),
                schedule: Schedule::Daily,
                kind: HabitKind::YesNo,
                start: day("2026-01-01"),
            },
        )
        .unwrap();
    let today = lifeos_core::time::today_in("UTC", now).unwrap();
    data.check_in(now, habit, today, today, CheckInState::Done, None)
        .unwrap();
    let food = data.add_category(now, "Food", false).unwrap();
    data.add_expense(
        now,
        NewExpense {
            amount: Money::new(2350, Currency::from_code("EUR").unwrap()),
            date: day("2026-11-12"),
            category: Some(food),
            payee: Some("Market".into()),
            note: None,
        },
    )
    .unwrap();
    let mut device = Device::new("laptop");
    device
        .connect(&app.sync_url(pair["access_token"].as_str().unwrap()))
        .await
        .unwrap();
    device.upload(&mut data).await;

    let page =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md")).unwrap();
    let blocks = shell_blocks(&page);
    assert!(blocks.len() >= 8, "docs/api.md has its examples");
    let script = format!("set -euo pipefail\n{}", blocks.join("\n"));
    let tmp = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("LIFEOS_URL", format!("http://{}", app.address))
        .env("TMPDIR", tmp.path())
        .output()
        .await
        .expect("bash runs (curl and jq must be installed)");
    assert!(
        out.status.success(),
        "docs/api.md's examples failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

both_backends!(api_page, super::the_api_pages_examples_work);
