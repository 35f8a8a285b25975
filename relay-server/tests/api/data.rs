//! The read endpoints: tasks, today, habits, check-ins, expenses and the
//! monthly report, computed by `lifeos-core` from what a device synced.

use lifeos_core::finance::NewExpense;
use lifeos_core::habits::{CheckInState, HabitKind, NewHabit, Schedule};
use lifeos_core::tasks::{NewTask, Status};
use lifeos_core::time::{Date, Month, Timestamp};
use lifeos_core::{Currency, DocumentId, EntityId, Money, UserData};
use serde_json::Value;
use uuid::Uuid;

use crate::both_backends;
use crate::device::Device;
use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_configured};

/// The time, one millisecond further on each call: entities made one after
/// the other get ids (UUIDv7) in that order, as a person's would.
fn now() -> Timestamp {
    static LAST: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let previous = LAST
        .fetch_update(
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
            |last| Some(clock.max(last + 1)),
        )
        .unwrap();
    Timestamp::from_millis(clock.max(previous + 1))
}

fn day(s: &str) -> Date {
    s.parse().unwrap()
}

fn money(minor: i64, code: &str) -> Money {
    Money::new(minor, Currency::from_code(code).unwrap())
}

struct User {
    token: String,
    data: UserData,
    device: Device,
}

async fn user(app: &TestApp, email: &str) -> User {
    let pair = app.register(email).await;
    let id: Uuid = pair["user"]["id"].as_str().unwrap().parse().unwrap();
    let token = pair["access_token"].as_str().unwrap().to_string();
    let mut device = Device::new("laptop");
    device.connect(&app.sync_url(&token)).await.unwrap();
    User {
        data: UserData::create(DocumentId::root_of_user(&id), now()).unwrap(),
        token,
        device,
    }
}

impl User {
    async fn sync(&mut self) {
        self.device.upload(&mut self.data).await;
    }

    fn task(&mut self, title: &str, f: impl FnOnce(&mut NewTask)) -> EntityId {
        let mut new = NewTask {
            title: title.into(),
            ..NewTask::default()
        };
        f(&mut new);
        self.data.add_task(now(), new).unwrap()
    }
}

async fn get(app: &TestApp, path: &str, token: &str) -> Value {
    let r = app.get_with(path, token).await;
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

async fn refused(app: &TestApp, path: &str, token: &str, status: u16, names: &str) {
    let r = app.get_with(path, token).await;
    assert_eq!(r.status(), status, "{path}");
    let problem: Value = r.json().await.unwrap();
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(names), "{path}: {detail}");
}

fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_string())
        .collect()
}

/// Every page of `path` (which has no `?` yet or ends in `&`), following cursors.
async fn all_pages(
    app: &TestApp,
    path: &str,
    token: &str,
    mut cursor: Option<String>,
) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}cursor={c}"),
            None => path.to_string(),
        };
        let page = get(app, &url, token).await;
        pages += 1;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return (items, pages),
        }
    }
}

async fn tasks_filter_and_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ada = user(&app, "ada@example.com").await;
    let home = ada.data.add_project(now(), "Home").unwrap();
    ada.task("Call the plumber", |t| {
        t.project = Some(home);
        t.contexts = vec!["phone".into()];
        t.due = Some(day("2026-03-01"));
        t.important = true;
    });
    ada.task("Buy paint", |t| {
        t.project = Some(home);
        t.status = Some(Status::Next);
        t.due = Some(day("2026-03-10"));
        t.notes = "Matte WHITE, two litres".into();
    });
    ada.task("Write to Grace", |t| t.status = Some(Status::Waiting));
    ada.task("Learn the cello", |t| t.status = Some(Status::Someday));
    let done = ada.task("File taxes", |t| t.due = Some(day("2026-02-01")));
    ada.data
        .complete_task(now(), done, day("2026-02-01"))
        .unwrap();
    ada.sync().await;
    let token = ada.token.clone();

    let all = get(&app, "/api/v1/tasks", &token).await;
    assert_eq!(
        titles(&all),
        [
            "Call the plumber",
            "Buy paint",
            "Write to Grace",
            "Learn the cello",
            "File taxes"
        ],
        "creation order"
    );
    assert_eq!(all["next_cursor"], Value::Null);
    let first = &all["items"][0];
    assert_eq!(first["project_id"], home.to_string());
    assert_eq!(first["contexts"], serde_json::json!(["phone"]));
    assert_eq!(first["due"], "2026-03-01");
    assert_eq!(first["quadrant"], "do_first", "overdue and important");

    for (query, expected) in [
        ("status=next", vec!["Buy paint"]),
        ("status=done", vec!["File taxes"]),
        (
            &format!("project={home}"),
            vec!["Call the plumber", "Buy paint"],
        ),
        ("context=phone", vec!["Call the plumber"]),
        ("context=%40phone", vec!["Call the plumber"]),
        ("quadrant=do_first", vec!["Call the plumber"]),
        (
            "due_before=2026-03-01",
            vec!["Call the plumber", "File taxes"],
        ),
        ("due_after=2026-03-02", vec!["Buy paint"]),
        (
            "due_after=2026-03-01&due_before=2026-03-10",
            vec!["Call the plumber", "Buy paint"],
        ),
        ("q=white", vec!["Buy paint"]),
        ("q=GRACE", vec!["Write to Grace"]),
        ("status=inbox&q=nothing", vec![]),
    ] {
        let page = get(&app, &format!("/api/v1/tasks?{query}"), &token).await;
        assert_eq!(titles(&page), expected, "{query}");
    }

    // Pages of two, with tasks added between pages: nothing repeated or
    // skipped, and the new tasks come at the end.
    let page1 = get(&app, "/api/v1/tasks?limit=2", &token).await;
    assert_eq!(titles(&page1), ["Call the plumber", "Buy paint"]);
    let cursor = page1["next_cursor"].as_str().unwrap().to_string();
    ada.task("Added meanwhile 1", |_| {});
    ada.task("Added meanwhile 2", |_| {});
    ada.sync().await;
    let (rest, pages) = all_pages(&app, "/api/v1/tasks?limit=2&", &token, Some(cursor)).await;
    let rest: Vec<&str> = rest.iter().map(|t| t["title"].as_str().unwrap()).collect();
    assert_eq!(
        rest,
        [
            "Write to Grace",
            "Learn the cello",
            "File taxes",
            "Added meanwhile 1",
            "Added meanwhile 2"
        ]
    );
    assert_eq!(pages, 3);

    for (query, names) in [
        ("status=later", "status"),
        ("project=42", "project"),
        ("quadrant=urgent", "quadrant"),
        ("due_before=2026-13-01", "due_before"),
        ("due_after=tomorrow", "due_after"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=nonsense", "cursor"),
        ("sort=title", "sort"),
    ] {
        refused(&app, &format!("/api/v1/tasks?{query}"), &token, 400, names).await;
    }
    // A cursor of another list is refused.
    let habits_cursor = bs58::encode("habits\u{1f}0193").into_string();
    refused(
        &app,
        &format!("/api/v1/tasks?cursor={habits_cursor}"),
        &token,
        400,
        "cursor",
    )
    .await;
    refused(
        &app,
        &format!("/api/v1/tasks?q={}", "a".repeat(201)),
        &token,
        400,
        "q",
    )
    .await;
    assert_eq!(
        app.client
            .get(app.url("/api/v1/tasks"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    // Another account sees none of it, and its own empty list.
    let mallory = user(&app, "mallory@example.com").await;
    let theirs = get(&app, "/api/v1/tasks", &mallory.token).await;
    assert_eq!(theirs["items"], serde_json::json!([]));
}

async fn today_habits_and_checkins(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ada = user(&app, "ada@example.com").await;
    let today = day("2026-11-26");
    ada.task("Overdue", |t| t.due = Some(day("2026-11-20")));
    ada.task("Due today", |t| t.due = Some(today));
    ada.task("Scheduled", |t| t.scheduled = Some(day("2026-11-25")));
    ada.task("Later", |t| t.due = Some(day("2026-12-20")));
    let run = ada
        .data
        .add_habit(
            now(),
            NewHabit {
                name: "Run".into(),
                schedule: Schedule::Daily,
                kind: HabitKind::Numeric {
                    unit: "km".into(),
                    target: 5.0,
                },
                start: day("2026-11-01"),
            },
        )
        .unwrap();
    let read = ada
        .data
        .add_habit(
            now(),
            NewHabit {
                name: "Read".into(),
                schedule: Schedule::Daily,
                kind: HabitKind::YesNo,
                start: day("2026-11-01"),
            },
        )
        .unwrap();
    for d in ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26"] {
        ada.data
            .check_in(now(), run, day(d), today, CheckInState::Value(6.0), None)
            .unwrap();
    }
    ada.data
        .check_in(
            now(),
            read,
            day("2026-11-25"),
            today,
            CheckInState::Skipped,
            Some("ill"),
        )
        .unwrap();
    ada.data
        .add_expense(
            now(),
            NewExpense {
                amount: money(450, "EUR"),
                date: today,
                category: None,
                payee: Some("Bakery".into()),
                note: None,
            },
        )
        .unwrap();
    ada.sync().await;
    let token = ada.token.clone();

    let t = get(&app, "/api/v1/today?date=2026-11-26", &token).await;
    assert_eq!(t["date"], "2026-11-26");
    let names = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|x| x["title"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&t["overdue"]), ["Overdue"]);
    assert_eq!(names(&t["due_today"]), ["Due today"]);
    assert_eq!(names(&t["scheduled"]), ["Scheduled"]);
    let run_line = t["habits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "Run")
        .unwrap();
    assert_eq!(run_line["checkin"], "value");
    assert_eq!(run_line["value"], 6.0);
    assert_eq!(run_line["current_streak"], 4);
    assert_eq!(t["expenses"][0]["amount"], "4.50");
    assert_eq!(
        t["spent"],
        serde_json::json!([{ "amount": "4.50", "currency": "EUR", "amount_minor": 450 }])
    );
    // Another day reads that day's month.
    let other = get(&app, "/api/v1/today?date=2026-12-20", &token).await;
    assert_eq!(names(&other["due_today"]), ["Later"]);
    assert_eq!(other["expenses"], serde_json::json!([]));
    refused(&app, "/api/v1/today?date=26.11.2026", &token, 400, "date").await;
    refused(&app, "/api/v1/today?day=2026-11-26", &token, 400, "day").await;

    let habits = get(&app, "/api/v1/habits", &token).await;
    let list = habits["items"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["name"], "Run");
    assert_eq!(list[0]["kind"], "numeric");
    assert_eq!(list[0]["unit"], "km");
    assert_eq!(list[0]["schedule"], "daily");
    assert!(list[0]["longest_streak"].as_u64().unwrap() >= 3);
    assert!(list[0]["strength"].as_f64().unwrap() > 0.0);
    let page = get(&app, "/api/v1/habits?limit=1", &token).await;
    assert_eq!(page["items"][0]["name"], "Run");
    let next = page["next_cursor"].as_str().unwrap();
    let page = get(
        &app,
        &format!("/api/v1/habits?limit=1&cursor={next}"),
        &token,
    )
    .await;
    assert_eq!(page["items"][0]["name"], "Read");
    assert_eq!(page["next_cursor"], Value::Null);
    assert_eq!(
        get(&app, "/api/v1/habits?archived=true", &token).await["items"],
        serde_json::json!([])
    );
    refused(&app, "/api/v1/habits?archived=yes", &token, 400, "archived").await;

    let c = get(
        &app,
        &format!("/api/v1/habits/{run}/checkins?from=2026-11-24&to=2026-11-25"),
        &token,
    )
    .await;
    let dates: Vec<&str> = c["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["date"].as_str().unwrap())
        .collect();
    assert_eq!(dates, ["2026-11-24", "2026-11-25"]);
    assert_eq!(c["items"][0]["state"], "value");
    assert_eq!(c["items"][0]["habit_id"], run.to_string());
    let (all, pages) = all_pages(
        &app,
        &format!("/api/v1/habits/{run}/checkins?limit=3&"),
        &token,
        None,
    )
    .await;
    assert_eq!((all.len(), pages), (4, 2));
    let skipped = get(&app, &format!("/api/v1/habits/{read}/checkins"), &token).await;
    assert_eq!(skipped["items"][0]["state"], "skipped");
    assert_eq!(skipped["items"][0]["note"], "ill");
    refused(
        &app,
        &format!("/api/v1/habits/{run}/checkins?from=yesterday"),
        &token,
        400,
        "from",
    )
    .await;

    // Another account's habit, an unknown id and a malformed id: all 404.
    let mallory = user(&app, "mallory@example.com").await;
    refused(
        &app,
        &format!("/api/v1/habits/{run}/checkins"),
        &mallory.token,
        404,
        "",
    )
    .await;
    refused(
        &app,
        &format!("/api/v1/habits/{}/checkins", EntityId::generate(now())),
        &token,
        404,
        "",
    )
    .await;
    refused(&app, "/api/v1/habits/not-an-id/checkins", &token, 404, "").await;
    let empty = get(&app, "/api/v1/today", &mallory.token).await;
    assert_eq!(empty["overdue"], serde_json::json!([]));
}

async fn expenses_and_the_monthly_report(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut ada = user(&app, "ada@example.com").await;
    let food = ada.data.add_category(now(), "Food", false).unwrap();
    let rent = ada.data.add_category(now(), "Rent", false).unwrap();
    ada.data
        .set_budget(
            now(),
            food,
            Month::new(2026, 11).unwrap(),
            Some(money(30000, "EUR")),
        )
        .unwrap();
    let mut add = |d: &str, amount: Money, category: Option<EntityId>, payee: &str| {
        ada.data
            .add_expense(
                now(),
                NewExpense {
                    amount,
                    date: day(d),
                    category,
                    payee: Some(payee.into()),
                    note: None,
                },
            )
            .unwrap()
            .0
    };
    add("2026-09-30", money(120000, "EUR"), Some(rent), "Landlord");
    add("2026-10-30", money(120000, "EUR"), Some(rent), "Landlord");
    add("2026-11-02", money(1250, "EUR"), Some(food), "Market");
    add("2026-11-02", money(899, "USD"), Some(food), "Diner");
    add("2026-11-15", money(20000, "EUR"), Some(food), "Feast");
    add("2026-11-20", money(500, "JPY"), None, "Tea");
    ada.sync().await;
    let token = ada.token.clone();

    let payees = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["payee"].as_str().unwrap().to_string())
            .collect()
    };
    let all = get(&app, "/api/v1/expenses", &token).await;
    assert_eq!(payees(&all).len(), 6, "{all}");
    assert_eq!(all["items"][0]["date"], "2026-11-20", "newest first");
    assert_eq!(all["items"][0]["amount"], "500", "yen have no decimals");
    assert_eq!(all["items"][5]["date"], "2026-09-30");

    for (query, mut expected) in [
        ("from=2026-11-01&to=2026-11-14", vec!["Market", "Diner"]),
        ("to=2026-10-31", vec!["Landlord", "Landlord"]),
        (
            &format!("category={rent}") as &str,
            vec!["Landlord", "Landlord"],
        ),
        ("currency=USD", vec!["Diner"]),
        (
            "min=200&currency=EUR",
            vec!["Feast", "Landlord", "Landlord"],
        ),
        ("max=12.50", vec!["Market", "Diner"]),
        ("min=8.99&max=12.50", vec!["Market", "Diner"]),
        ("min=12.505", vec!["Feast", "Landlord", "Landlord", "Tea"]),
    ] {
        let page = get(&app, &format!("/api/v1/expenses?{query}"), &token).await;
        let mut got = payees(&page);
        got.sort();
        expected.sort();
        assert_eq!(got, expected, "{query}");
    }
    // Pages of two across three months: every expense once, in order.
    let (paged, pages) = all_pages(&app, "/api/v1/expenses?limit=2&", &token, None).await;
    assert_eq!(pages, 3);
    assert_eq!(paged, all["items"].as_array().unwrap().clone());
    for (query, names) in [
        ("currency=EURO", "currency"),
        ("min=12,50", "min"),
        ("max=-1", "max"),
        ("category=food", "category"),
        ("from=2026-11", "from"),
        ("payee=Market", "payee"),
    ] {
        refused(
            &app,
            &format!("/api/v1/expenses?{query}"),
            &token,
            400,
            names,
        )
        .await;
    }

    let report = get(&app, "/api/v1/reports/monthly?month=2026-11", &token).await;
    assert_eq!(report["month"], "2026-11");
    let food_line = report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "Food")
        .unwrap();
    assert_eq!(food_line["count"], 3);
    assert_eq!(food_line["budget"]["amount"], "300.00");
    assert_eq!(
        food_line["remaining"]["amount"], "87.50",
        "300 − 12.50 − 200; dollars are kept apart"
    );
    assert_eq!(food_line["over_budget"], false);
    let spent: Vec<(String, String)> = report["spent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["currency"].as_str().unwrap().to_string(),
                a["amount"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        spent,
        [
            ("EUR".into(), "212.50".into()),
            ("JPY".into(), "500".into()),
            ("USD".into(), "8.99".into())
        ]
    );
    let october = get(&app, "/api/v1/reports/monthly?month=2026-10", &token).await;
    assert_eq!(october["spent"][0]["amount"], "1200.00");
    refused(
        &app,
        "/api/v1/reports/monthly?month=2026-13",
        &token,
        400,
        "month",
    )
    .await;
    refused(
        &app,
        "/api/v1/reports/monthly?month=november",
        &token,
        400,
        "month",
    )
    .await;
}

async fn the_api_is_rate_limited_per_account_and_per_address(backend: Backend) {
    let app = spawn_app_configured(backend, Default::default(), |c| {
        c.api_rate_per_user = 5;
        c.api_rate_per_ip = 8;
    })
    .await;
    let a = app.register("a@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let b = app.register("b@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..5 {
        assert_eq!(app.get_with("/api/v1/tasks", &a).await.status(), 200);
    }
    // The account's sixth request in the minute.
    let r = app.get_with("/api/v1/export", &a).await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    // Another account from the same address: the address has made 6 of its 8.
    assert_eq!(app.get_with("/api/v1/habits", &b).await.status(), 200);
    assert_eq!(app.get_with("/api/v1/me", &b).await.status(), 200);
    assert_eq!(app.get_with("/api/v1/audit", &b).await.status(), 429);
    let anonymous = app
        .client
        .get(app.url("/api/v1/tasks"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        anonymous.status(),
        429,
        "without a token, the address still counts"
    );
    // Signing in is not this limiter's business (it has its own).
    assert_eq!(
        app.login("b@example.com").await["user"]["email"],
        "b@example.com"
    );
}

both_backends!(tasks, super::tasks_filter_and_page);
both_backends!(
    rate_limits,
    super::the_api_is_rate_limited_per_account_and_per_address
);
both_backends!(today_and_habits, super::today_habits_and_checkins);
both_backends!(expenses_and_report, super::expenses_and_the_monthly_report);
