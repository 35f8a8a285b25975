//! The `lifeos` binary as people and scripts use it, offline: tasks added
//! with the quick-add line, listed, completed, Today; JSON that parses;
//! exit codes for bad input and damaged data.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn lifeos(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lifeos"))
        .arg("--data-dir")
        .arg(dir)
        .args(["--tz", "UTC"])
        .args(args)
        .env_remove("LIFEOS_DATA_DIR")
        .env_remove("LIFEOS_CURRENCY")
        .output()
        .expect("lifeos runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("--json prints JSON")
}

#[test]
fn tasks_are_captured_listed_and_done_offline() {
    let dir = tempfile::tempdir().unwrap();
    let now = lifeos_core::time::Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    let today = lifeos_core::time::today_in("UTC", now).unwrap();
    let tomorrow = today.succ_opt().unwrap().to_string();

    let added = lifeos(
        dir.path(),
        &["task", "add", "Call mom tomorrow #family @phone p1"],
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(stdout(&added).contains("Call mom"), "{}", stdout(&added));
    // Words given separately are one line too.
    let added = json(&lifeos(
        dir.path(),
        &["--json", "task", "add", "Buy", "milk", "+next"],
    ));
    assert_eq!(added["task"]["title"], "Buy milk");
    assert_eq!(added["task"]["status"], "next");

    let listed = json(&lifeos(dir.path(), &["task", "list", "--json"]));
    let tasks = listed["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    let mom = tasks.iter().find(|t| t["title"] == "Call mom").unwrap();
    assert_eq!(mom["due"], tomorrow.as_str());
    assert_eq!(mom["contexts"], serde_json::json!(["phone"]));
    assert_eq!(mom["important"], true);
    assert_eq!(mom["urgent"], true);
    let by_context = json(&lifeos(
        dir.path(),
        &["--json", "task", "list", "--context", "@phone"],
    ));
    assert_eq!(by_context["tasks"].as_array().unwrap().len(), 1);
    let by_project = json(&lifeos(
        dir.path(),
        &["--json", "task", "list", "--project", "family"],
    ));
    assert_eq!(by_project["tasks"].as_array().unwrap().len(), 1);
    let next = json(&lifeos(
        dir.path(),
        &["--json", "task", "list", "--status", "next"],
    ));
    assert_eq!(next["tasks"][0]["title"], "Buy milk");

    // Human output shows short ids; `task done` takes one.
    let text = stdout(&lifeos(dir.path(), &["task", "list"]));
    let line = text.lines().find(|l| l.contains("Buy milk")).unwrap();
    let short = line.split_whitespace().next().unwrap();
    assert_eq!(short.len(), 6, "{line}");
    let done = lifeos(dir.path(), &["task", "done", short]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let open = json(&lifeos(dir.path(), &["--json", "task", "list"]));
    assert_eq!(open["tasks"].as_array().unwrap().len(), 1);
    let all = json(&lifeos(dir.path(), &["--json", "task", "list", "--all"]));
    assert_eq!(all["tasks"].as_array().unwrap().len(), 2);

    let today_view = json(&lifeos(dir.path(), &["--json", "today"]));
    assert_eq!(today_view["date"], today.to_string());
    assert!(stdout(&lifeos(dir.path(), &["today"])).starts_with(&format!("Today, {today}")));
}

#[test]
fn bad_input_and_damage_have_their_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    // Usage errors: clap's 2.
    let bad = lifeos(dir.path(), &["task", "list", "--status", "later"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("inbox, next, waiting, someday, done"));
    // Nothing to find: 1, with the reason, also as JSON.
    let missing = lifeos(dir.path(), &["--json", "task", "done", "abcdef"]);
    assert_eq!(missing.status.code(), Some(1));
    let body: Value = serde_json::from_slice(&missing.stdout).unwrap();
    assert_eq!(body["exit_code"], 1);
    assert!(body["error"].as_str().unwrap().contains("no task"));
    let short = lifeos(dir.path(), &["task", "done", "ab"]);
    assert_eq!(short.status.code(), Some(1));
    let zone = Command::new(env!("CARGO_BIN_EXE_lifeos"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--tz", "Mars/Olympus", "today"])
        .output()
        .unwrap();
    assert_eq!(zone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&zone.stderr).contains("Mars/Olympus"));

    // A damaged replica: 5, and the file is left as it was.
    let damaged = tempfile::tempdir().unwrap();
    let file = damaged.path().join("replica.db");
    std::fs::write(&file, vec![0x42; 8192]).unwrap();
    let out = lifeos(damaged.path(), &["task", "list"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("left as it is"));
    assert_eq!(std::fs::read(&file).unwrap(), vec![0x42; 8192]);
}

fn short_of(text: &str, needle: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in:\n{text}"));
    line.split_whitespace().next().unwrap().to_string()
}

#[test]
fn tasks_are_edited_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    json(&lifeos(
        dir.path(),
        &["--json", "task", "add", "Water plants"],
    ));
    let short = short_of(&stdout(&lifeos(dir.path(), &["task", "list"])), "Water");
    let edited = json(&lifeos(
        dir.path(),
        &[
            "--json",
            "task",
            "edit",
            &short,
            "--title",
            "Water the plants",
            "--status",
            "next",
            "--due",
            "2026-12-24",
            "--project",
            "Home",
            "--add-context",
            "@home",
            "--important",
            "true",
        ],
    ));
    let task = &edited["task"];
    assert_eq!(task["title"], "Water the plants");
    assert_eq!(task["status"], "next");
    assert_eq!(task["due"], "2026-12-24");
    assert_eq!(task["contexts"], serde_json::json!(["home"]));
    assert_eq!(task["important"], true);
    let home = json(&lifeos(
        dir.path(),
        &["--json", "task", "list", "--project", "home"],
    ));
    assert_eq!(home["tasks"].as_array().unwrap().len(), 1);
    // Clearing and bad values.
    let cleared = json(&lifeos(
        dir.path(),
        &[
            "--json",
            "task",
            "edit",
            &short,
            "--due",
            "none",
            "--project",
            "none",
        ],
    ));
    assert!(cleared["task"]["due"].is_null());
    assert!(cleared["task"]["project"].is_null());
    let bad = lifeos(
        dir.path(),
        &["task", "edit", &short, "--due", "someday soon"],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a day"));
    let nothing = lifeos(dir.path(), &["task", "edit", &short]);
    assert_eq!(nothing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("nothing to change"));

    // Repetition and the checklist, from the terminal too.
    let edited = json(&lifeos(
        dir.path(),
        &[
            "--json",
            "task",
            "edit",
            &short,
            "--due",
            "2026-12-01",
            "--repeat",
            "every 2 weeks",
            "--add-item",
            "Fill the can",
            "--add-item",
            "Check the soil",
        ],
    ));
    assert_eq!(edited["task"]["recurrence"]["n"], 2, "{edited}");
    assert_eq!(edited["task"]["recurrence"]["unit"], "week", "{edited}");
    let text = stdout(&lifeos(
        dir.path(),
        &[
            "task",
            "edit",
            &short,
            "--check-item",
            "1",
            "--remove-item",
            "2",
        ],
    ));
    assert!(
        text.contains("1. [x] Fill the can") && !text.contains("Check the soil"),
        "{text}"
    );
    assert!(text.contains("repeats every 2 weeks"), "{text}");
    let beyond = lifeos(dir.path(), &["task", "edit", &short, "--check-item", "5"]);
    assert_eq!(beyond.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&beyond.stderr).contains("no item 5"));
    let bad_rule = lifeos(
        dir.path(),
        &["task", "edit", &short, "--repeat", "sometimes"],
    );
    assert_eq!(bad_rule.status.code(), Some(1));
    let none = json(&lifeos(
        dir.path(),
        &["--json", "task", "edit", &short, "--repeat", "none"],
    ));
    assert!(none["task"]["recurrence"].is_null(), "{none}");

    let removed = stdout(&lifeos(dir.path(), &["task", "rm", &short]));
    assert!(removed.contains("Deleted: Water the plants"), "{removed}");
    let all = json(&lifeos(dir.path(), &["--json", "task", "list", "--all"]));
    assert!(all["tasks"].as_array().unwrap().is_empty());
    assert_eq!(
        lifeos(dir.path(), &["task", "rm", &short]).status.code(),
        Some(1)
    );
}

#[test]
fn habits_are_added_checked_skipped_and_listed_with_streaks() {
    let dir = tempfile::tempdir().unwrap();
    let added = json(&lifeos(
        dir.path(),
        &[
            "--json",
            "habit",
            "add",
            "Meditate",
            "--schedule",
            "daily",
            "--start",
            "2026-11-01",
        ],
    ));
    assert_eq!(added["habit"]["schedule"], "daily");
    json(&lifeos(
        dir.path(),
        &[
            "--json",
            "habit",
            "add",
            "Run",
            "--schedule",
            "3 per week",
            "--target",
            "5",
            "--unit",
            "km",
        ],
    ));
    for day in ["2026-11-20", "2026-11-21", "2026-11-22"] {
        json(&lifeos(
            dir.path(),
            &["--json", "habit", "check", "meditate", "--date", day],
        ));
    }
    let skipped = json(&lifeos(
        dir.path(),
        &[
            "--json",
            "habit",
            "skip",
            "Meditate",
            "--date",
            "2026-11-23",
        ],
    ));
    assert_eq!(skipped["checkin"]["type"], "skipped");
    let run = json(&lifeos(
        dir.path(),
        &[
            "--json",
            "habit",
            "check",
            "Run",
            "--value",
            "3.5",
            "--date",
            "2026-11-22",
        ],
    ));
    assert_eq!(run["checkin"]["value"], 3.5);
    // A value on a yes/no habit, an unknown habit, a bad schedule.
    assert_eq!(
        lifeos(dir.path(), &["habit", "check", "Meditate", "--value", "2"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        lifeos(dir.path(), &["habit", "check", "Juggle"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        lifeos(
            dir.path(),
            &["habit", "add", "X", "--schedule", "sometimes"]
        )
        .status
        .code(),
        Some(2)
    );

    let list = json(&lifeos(dir.path(), &["--json", "habit", "list"]));
    let habits = list["habits"].as_array().unwrap();
    assert_eq!(habits.len(), 2);
    let meditate = habits.iter().find(|h| h["name"] == "Meditate").unwrap();
    assert_eq!(meditate["checkins"].as_array().unwrap().len(), 4);
    assert_eq!(
        meditate["streak"]["longest"], 3,
        "a skip keeps the streak: {meditate}"
    );
    let text = stdout(&lifeos(dir.path(), &["habit", "list"]));
    assert!(
        text.contains("Meditate") && text.contains("Run (5 km)"),
        "{text}"
    );

    // A second habit of the same name: a name alone is ambiguous, and the
    // answer lists both with the ids that tell them apart.
    json(&lifeos(
        dir.path(),
        &["--json", "habit", "add", "meditate", "--schedule", "daily"],
    ));
    let out = lifeos(dir.path(), &["habit", "check", "Meditate"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let why = String::from_utf8_lossy(&out.stderr);
    assert!(why.contains("2 habits are called \"Meditate\""), "{why}");
    let list = json(&lifeos(dir.path(), &["--json", "habit", "list"]));
    for h in list["habits"].as_array().unwrap() {
        if h["name"].as_str().unwrap().eq_ignore_ascii_case("meditate") {
            let id = h["id"].as_str().unwrap();
            assert!(why.contains(&id[id.len() - 6..]), "{why} lists {id}");
        }
    }
}

#[test]
fn expenses_are_recorded_in_minor_units_and_reported_by_month() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| lifeos(dir.path(), args);
    // A budget whose amount names its currency needs no default, even here.
    let named = json(&run(&[
        "--json", "budget", "set", "Trips", "90 CHF", "--month", "2026-10",
    ]));
    assert_eq!(named["budget"]["currency"], "CHF", "{named}");
    // A fresh install: the first expense asks for a currency, once.
    let no_currency = run(&["expense", "add", "3"]);
    assert_eq!(no_currency.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_currency.stderr).contains("--currency EUR once"));
    let added = json(&run(&[
        "--json",
        "expense",
        "add",
        "12.50",
        "Groceries",
        "--payee",
        "Bakery",
        "--date",
        "2026-11-03",
        "--currency",
        "eur",
    ]));
    assert_eq!(added["expense"]["amount"]["minor"], 1250);
    assert_eq!(added["new_category"], "Groceries");
    assert_eq!(added["default_currency_set"], "EUR");
    let again = json(&run(&[
        "--json",
        "expense",
        "add",
        "7.25",
        "groceries",
        "--date",
        "2026-11-04",
        "--currency",
        "EUR",
    ]));
    assert!(
        again["new_category"].is_null(),
        "the category is found by name"
    );
    json(&run(&[
        "--json",
        "expense",
        "add",
        "1000",
        "Rent",
        "--date",
        "2026-10-01",
        "--currency",
        "JPY",
    ]));
    // Amounts as people type them, never rounded; a currency is needed.
    let comma = json(&run(&[
        "--json",
        "expense",
        "add",
        "0,75",
        "--currency",
        "EUR",
        "--date",
        "2026-11-05",
    ]));
    assert_eq!(comma["expense"]["amount"]["minor"], 75);
    let too_precise = run(&["expense", "add", "1.234", "--currency", "EUR"]);
    assert_eq!(too_precise.status.code(), Some(1));
    assert_eq!(
        run(&["expense", "add", "12", "--currency", "XYZ"])
            .status
            .code(),
        Some(1)
    );
    // After that the default serves, as `--help`'s own example expects.
    let defaulted = json(&run(&[
        "--json",
        "expense",
        "add",
        "2.30",
        "Transport",
        "--date",
        "2026-10-02",
    ]));
    assert_eq!(defaulted["expense"]["amount"]["currency"], "EUR");
    assert!(defaulted["default_currency_set"].is_null());
    // A negative amount reaches the rules (not clap) and is refused with the reason.
    let refund = run(&["expense", "add", "-5", "food"]);
    assert_eq!(refund.status.code(), Some(1));
    let why = String::from_utf8_lossy(&refund.stderr);
    assert!(
        why.contains("more than zero") && why.contains("refund"),
        "{why}"
    );

    let november = json(&run(&["--json", "expense", "list", "--month", "2026-11"]));
    assert_eq!(november["expenses"].as_array().unwrap().len(), 3);
    let groceries = json(&run(&[
        "--json",
        "expense",
        "list",
        "--month",
        "2026-11",
        "--category",
        "GROCERIES",
    ]));
    assert_eq!(groceries["expenses"].as_array().unwrap().len(), 2);
    let text = stdout(&run(&["expense", "list", "--month", "2026-11"]));
    assert!(text.contains("Total 2026-11: 20.50 EUR"), "{text}");
    let october = stdout(&run(&["expense", "list", "--month", "2026-10"]));
    assert!(october.contains("1000 JPY"), "{october}");

    // Budgets from the terminal: set, in another currency, removed.
    let set = json(&run(&[
        "--json",
        "budget",
        "set",
        "groceries",
        "300",
        "--month",
        "2026-11",
    ]));
    assert_eq!(set["budget"]["minor"], 30_000, "{set}");
    assert_eq!(set["category"], "Groceries");
    let usd = json(&run(&[
        "--json", "budget", "set", "Holiday", "200 USD", "--month", "2026-11",
    ]));
    assert_eq!(usd["budget"]["currency"], "USD", "{usd}");
    let gone = json(&run(&[
        "--json", "budget", "set", "Holiday", "none", "--month", "2026-11",
    ]));
    assert!(gone["budget"].is_null());

    let report = json(&run(&["--json", "report", "month", "2026-11"]));
    assert_eq!(report["month"], "2026-11");
    assert_eq!(report["lines"][0]["name"], "Groceries");
    assert_eq!(report["lines"][0]["count"], 2);
    let text = stdout(&run(&["report", "month", "2026-11"]));
    assert!(text.contains("Groceries") && text.contains('█'), "{text}");
    assert!(text.contains("Total spent: 20.50 EUR"), "{text}");
    assert_eq!(run(&["report", "month", "2026-13"]).status.code(), Some(2));
}

#[test]
fn the_export_is_the_relays_format_written_offline() {
    let dir = tempfile::tempdir().unwrap();
    json(&lifeos(
        dir.path(),
        &["--json", "task", "add", "Export me #work"],
    ));
    json(&lifeos(
        dir.path(),
        &[
            "--json",
            "expense",
            "add",
            "4.20",
            "Coffee",
            "--currency",
            "EUR",
            "--date",
            "2026-11-26",
        ],
    ));
    let out = lifeos(dir.path(), &["export"]);
    let export: Value = serde_json::from_slice(&out.stdout).expect("the export is JSON");
    assert_eq!(export["tasks"][0]["title"], "Export me");
    assert_eq!(export["expenses"][0]["amount_minor"], 420);
    let csv = stdout(&lifeos(
        dir.path(),
        &["export", "--format", "csv", "--kind", "tasks"],
    ));
    assert!(csv.starts_with("id,"), "{csv}");
    assert!(csv.contains("Export me"), "{csv}");
    let file = dir.path().join("all.zip");
    let written = json(&lifeos(
        dir.path(),
        &[
            "--json",
            "export",
            "--format",
            "zip",
            "--out",
            file.to_str().unwrap(),
        ],
    ));
    assert!(written["bytes"].as_u64().unwrap() > 100);
    assert_eq!(&std::fs::read(&file).unwrap()[..2], b"PK");
    let no_kind = lifeos(dir.path(), &["export", "--format", "csv"]);
    assert_eq!(no_kind.status.code(), Some(2));
    let bad_kind = lifeos(
        dir.path(),
        &["export", "--format", "csv", "--kind", "moods"],
    );
    assert_eq!(bad_kind.status.code(), Some(1));
}

#[test]
fn a_task_gets_a_time_of_day_from_quick_add_or_edit() {
    let dir = tempfile::tempdir().unwrap();
    let now = lifeos_cli::now();
    let today = lifeos_core::time::today_in("UTC", now).unwrap();
    let tomorrow = today.succ_opt().unwrap().to_string();
    // A time of day, from the line or from `task edit --time`.
    let added = lifeos(dir.path(), &["task", "add", "Dentist tomorrow at 3:30pm"]);
    assert!(
        stdout(&added).contains(&format!("Dentist  due {tomorrow} 15:30")),
        "{}",
        stdout(&added)
    );
    let id = json(&lifeos(dir.path(), &["--json", "task", "list"]))["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["title"] == "Dentist")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let edited = json(&lifeos(
        dir.path(),
        &["--json", "task", "edit", &id, "--time", "9am"],
    ));
    assert_eq!(edited["task"]["time"], "09:00", "{edited}");
    let wrong = lifeos(dir.path(), &["task", "edit", &id, "--time", "25:00"]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("is not a time"));
    let cleared = json(&lifeos(
        dir.path(),
        &["--json", "task", "edit", &id, "--time", "none"],
    ));
    assert!(cleared["task"]["time"].is_null(), "{cleared}");
}
