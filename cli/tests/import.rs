//! `lifeos import` as people use it: the fixtures in `tests/fixtures/`
//! (small exports made for these tests) imported by the real binary, the
//! result read back with `task list` or through the library, a second
//! import adding nothing, dry runs changing nothing, malformed files
//! refused with exit code 6 at their file, line and column.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lifeos_cli::replica::Replica;
use lifeos_cli::workspace::Workspace;
use lifeos_core::finance::{Category, Expense};
use lifeos_core::habits::{CheckInState, Habit, HabitKind, Schedule};
use lifeos_core::time::Timestamp;
use serde_json::Value;

fn lifeos(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lifeos"))
        .arg("--data-dir")
        .arg(dir)
        .args(["--tz", "UTC"])
        .args(args)
        .env_remove("LIFEOS_DATA_DIR")
        .output()
        .expect("lifeos runs")
}

fn fixture(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
        .display()
        .to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    stdout(&o)
}

fn json(o: Output) -> Value {
    serde_json::from_str(&ok(o)).expect("--json prints JSON")
}

fn now() -> Timestamp {
    Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    )
}

/// What the replica holds, read through the library.
#[derive(Debug, PartialEq)]
struct Data {
    tasks: usize,
    projects: Vec<String>,
    habits: Vec<Habit>,
    expenses: Vec<Expense>,
    categories: Vec<Category>,
    imports: i64,
    meta: Vec<(String, String)>,
}

fn data(dir: &Path) -> Data {
    let mut replica = Replica::open(dir).unwrap();
    let ws = Workspace::open(replica.session().unwrap(), now()).unwrap();
    let mut habits = ws.data.habits().unwrap();
    habits.sort_by(|a, b| a.name.cmp(&b.name));
    let mut expenses = ws.data.expenses().unwrap();
    expenses.sort_by_key(|e| (e.date, e.amount.minor));
    let data = Data {
        tasks: ws.data.tasks().unwrap().len(),
        projects: ws
            .data
            .projects()
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect(),
        habits,
        expenses,
        categories: ws.data.categories().unwrap(),
        imports: 0,
        meta: Vec::new(),
    };
    drop(ws);
    let conn = rusqlite::Connection::open(dir.join("replica.db")).unwrap();
    let imports = conn
        .query_row("SELECT count(*) FROM imports", [], |r| r.get(0))
        .unwrap();
    let mut stmt = conn
        .prepare("SELECT key, value FROM meta WHERE key LIKE 'bank_mapping:%' ORDER BY key")
        .unwrap();
    let meta = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    Data {
        imports,
        meta,
        ..data
    }
}

fn category_name(d: &Data, e: &Expense) -> String {
    let id = e.category.expect("a category");
    d.categories
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.name.clone())
        .unwrap()
}

/// The fixture folder `tests/fixtures/loop` as Loop's zip, with some
/// entries replaced.
fn loop_zip(into: &Path, replaced: &[(&str, &str)]) -> PathBuf {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, base, out);
            } else {
                let name = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    let base = PathBuf::from(fixture("loop"));
    let mut files = Vec::new();
    walk(&base, &base, &mut files);
    files.sort();
    let path = into.join("Loop Habits CSV 2026-11-21.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for (name, bytes) in files {
        let bytes = replaced
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(bytes, |(_, text)| text.as_bytes().to_vec());
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(&bytes).unwrap();
    }
    zip.finish().unwrap();
    path
}

#[test]
fn todoist_projects_become_tasks_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixture("todoist/Home [2203306141].csv");
    let text = ok(lifeos(dir.path(), &["import", "todoist", &file]));
    assert!(text.contains("Added 4 tasks, 1 project."), "{text}");
    assert!(text.contains("4 new, 0 already imported"), "{text}");
    assert!(
        text.contains("next spring"),
        "the date it did not understand is mentioned: {text}"
    );

    let listed = json(lifeos(
        dir.path(),
        &["--json", "task", "list", "--project", "Home"],
    ));
    let tasks = listed["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 4);
    let find = |title: &str| tasks.iter().find(|t| t["title"] == title).unwrap().clone();
    let tap = find("Fix the leaking tap");
    assert_eq!(tap["status"], "next");
    assert_eq!(tap["due"], "2026-12-03");
    assert_eq!(tap["contexts"], serde_json::json!(["house", "tools"]));
    assert_eq!(
        (tap["important"].clone(), tap["urgent"].clone()),
        (true.into(), true.into())
    );
    let checklist: Vec<&str> = tap["checklist"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["text"].as_str().unwrap())
        .collect();
    assert_eq!(checklist, vec!["Buy a 1/2 inch washer", "Find the spanner"]);
    assert_eq!(
        tap["notes"],
        "Kitchen sink; the washer is worn\n\nFind the spanner: In the shed?\n\nHardware shop on Mill Street closes at 6"
    );
    let tomatoes = find("Water the tomatoes");
    assert_eq!(
        tomatoes["contexts"],
        serde_json::json!(["garden"]),
        "the section"
    );
    assert_eq!(tomatoes["recurrence"]["unit"], "day");
    assert_eq!(
        (tomatoes["important"].clone(), tomatoes["urgent"].clone()),
        (true.into(), false.into())
    );
    let lawn = find("Mow the lawn");
    assert_eq!(lawn["recurrence"]["n"], 2);
    assert_eq!(lawn["recurrence"]["after_completion"], true);
    assert_eq!(lawn["contexts"], serde_json::json!(["garden", "outside"]));
    let herbs = find("Plan the herb bed");
    assert_eq!(herbs["due"], Value::Null);
    assert!(
        herbs["notes"]
            .as_str()
            .unwrap()
            .contains("Todoist date: next spring")
    );

    // Again: nothing new, and it says so.
    let again = ok(lifeos(dir.path(), &["import", "todoist", &file]));
    assert!(again.contains("0 new, 4 already imported"), "{again}");
    assert!(again.contains("Nothing to add."), "{again}");
    let all = json(lifeos(dir.path(), &["--json", "task", "list", "--all"]));
    assert_eq!(all["tasks"].as_array().unwrap().len(), 4);
    assert_eq!(data(dir.path()).projects, vec!["Home".to_string()]);

    // Into another project, named on the command line: new tasks there.
    let other = json(lifeos(
        dir.path(),
        &["--json", "import", "todoist", &file, "--project", "Cottage"],
    ));
    assert_eq!(other["new"], 4);
    assert_eq!(other["created"]["projects"], 1);
}

#[test]
fn dry_runs_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    ok(lifeos(
        dir.path(),
        &["task", "add", "Something already here"],
    ));
    let before = data(dir.path());
    let file = fixture("todoist/Home [2203306141].csv");
    let text = ok(lifeos(
        dir.path(),
        &["import", "todoist", &file, "--dry-run"],
    ));
    assert!(text.starts_with("Dry run of "), "{text}");
    assert!(text.contains("Would add 4 tasks, 1 project."), "{text}");
    assert!(
        text.contains("line 3: task Fix the leaking tap"),
        "the first lines: {text}"
    );
    let planned = json(lifeos(
        dir.path(),
        &["--json", "import", "todoist", &file, "--dry-run"],
    ));
    assert_eq!(planned["dry_run"], true);
    assert_eq!(planned["new"], 4);
    assert_eq!(data(dir.path()), before);

    let zip = loop_zip(dir.path(), &[]);
    ok(lifeos(
        dir.path(),
        &["import", "loop", zip.to_str().unwrap(), "--dry-run"],
    ));
    let bank = [
        "import",
        "bank",
        &fixture("bank/card.csv"),
        "--dry-run",
        "--date-column",
        "Date",
        "--date-format",
        "%m/%d/%Y",
        "--outflow-column",
        "Debit",
        "--inflow-column",
        "Credit",
        "--currency",
        "USD",
        "--category",
        "Card",
        "--save-mapping",
        "card",
    ];
    let text = ok(lifeos(dir.path(), &bank));
    assert!(text.contains("Would add 3 expenses, 1 category."), "{text}");
    assert!(text.contains("would be saved"), "{text}");
    ok(lifeos(
        dir.path(),
        &[
            "import",
            "taskwarrior",
            &fixture("taskwarrior/export.json"),
            "--dry-run",
        ],
    ));
    assert_eq!(
        data(dir.path()),
        before,
        "no task, habit, expense, import record or mapping"
    );
}

#[test]
fn loop_habits_and_check_ins_come_with_their_schedules() {
    let dir = tempfile::tempdir().unwrap();
    let zip = loop_zip(dir.path(), &[]);
    let zip = zip.to_str().unwrap();
    let imported = json(lifeos(dir.path(), &["--json", "import", "loop", zip]));
    assert_eq!(imported["created"]["habits"], 4);
    assert_eq!(imported["created"]["check-ins"], 10);
    assert_eq!(imported["new"], 14);

    let d = data(dir.path());
    let names: Vec<&str> = d.habits.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, vec!["Floss", "Meditate", "Read before bed", "Run"]);
    let [floss, meditate, read, run] = [&d.habits[0], &d.habits[1], &d.habits[2], &d.habits[3]];
    assert_eq!(meditate.schedule, Schedule::Daily);
    assert_eq!(meditate.start, "2026-11-16".parse().unwrap());
    let day = |h: &Habit, date: &str| h.checkins.get(&date.parse().unwrap()).map(|c| c.state);
    assert_eq!(day(meditate, "2026-11-20"), Some(CheckInState::Done));
    assert_eq!(day(meditate, "2026-11-18"), Some(CheckInState::Skipped));
    assert_eq!(day(meditate, "2026-11-17"), None, "NO is no check-in");
    assert_eq!(
        meditate.checkins[&"2026-11-19".parse().unwrap()]
            .note
            .as_deref(),
        Some("Felt restless")
    );
    assert_eq!(run.schedule, Schedule::TimesPerWeek { times: 3 });
    assert_eq!(
        run.kind,
        HabitKind::Numeric {
            unit: "km".into(),
            target: 5.0
        }
    );
    assert_eq!(day(run, "2026-11-19"), Some(CheckInState::Value(6.2)));
    assert_eq!(read.schedule, Schedule::TimesPerWeek { times: 5 });
    assert_eq!(
        read.checkins.len(),
        2,
        "YES_AUTO and UNKNOWN are not check-ins"
    );
    assert!(floss.archived);
    assert_eq!(d.imports, 14);

    // The same export again: nothing. A newer one: only the new day, and a
    // day already checked in here stays as it is.
    let again = ok(lifeos(dir.path(), &["import", "loop", zip]));
    assert!(again.contains("0 new, 14 already imported"), "{again}");
    let newer = loop_zip(
        &dir.path().join("newer").tap_mkdir(),
        &[(
            "001 Meditate/Checkmarks.csv",
            "Date,Value,Notes\n2026-11-22,YES_MANUAL,\n2026-11-21,SKIP,\n2026-11-20,YES_MANUAL,\n",
        )],
    );
    let text = ok(lifeos(
        dir.path(),
        &["import", "loop", newer.to_str().unwrap()],
    ));
    assert!(text.contains("Added 2 check-ins."), "{text}");
    let d = data(dir.path());
    assert_eq!(d.habits.len(), 4, "no habit twice");
    assert_eq!(d.habits[1].checkins.len(), 6);
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}

#[test]
fn bank_statements_with_a_saved_mapping_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let giro = fixture("bank/giro.csv");
    let first = json(lifeos(
        dir.path(),
        &[
            "--json",
            "import",
            "bank",
            &giro,
            "--delimiter",
            ";",
            "--skip-rows",
            "3",
            "--date-column",
            "Buchungstag",
            "--date-format",
            "%d.%m.%Y",
            "--amount-column",
            "4",
            "--decimal-comma",
            "--payee-column",
            "Empfänger",
            "--note-column",
            "Verwendungszweck",
            "--category-column",
            "Kategorie",
            "--category",
            "Other",
            "--currency",
            "EUR",
            "--save-mapping",
            "giro",
        ],
    ));
    assert_eq!(
        first["created"]["expenses"], 5,
        "two identical coffees are two"
    );
    assert_eq!(first["created"]["categories"], 3);
    assert_eq!(first["skipped"].as_array().unwrap().len(), 1);
    assert_eq!(first["skipped"][0]["line"], 8);
    assert!(
        first["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("money in")
    );

    let d = data(dir.path());
    let amounts: Vec<(String, i64, &str)> = d
        .expenses
        .iter()
        .map(|e| (e.date.to_string(), e.amount.minor, e.amount.currency.code()))
        .collect();
    assert_eq!(
        amounts,
        vec![
            ("2026-11-03".into(), 450, "EUR"),
            ("2026-11-03".into(), 450, "EUR"),
            ("2026-11-05".into(), 6200, "EUR"),
            ("2026-11-10".into(), 101_890, "EUR"),
            ("2026-11-12".into(), 450, "EUR"),
        ]
    );
    assert_eq!(d.expenses[0].payee.as_deref(), Some("Café Central"));
    assert_eq!(d.expenses[0].note.as_deref(), Some("Kartenzahlung"));
    assert_eq!(category_name(&d, &d.expenses[0]), "Eating out");
    assert_eq!(
        category_name(&d, &d.expenses[4]),
        "Eating out",
        "categories match in any case"
    );
    assert_eq!(category_name(&d, &d.expenses[3]), "Other");
    assert_eq!(d.meta.len(), 1);
    assert_eq!(d.meta[0].0, "bank_mapping:giro");

    // The same file with the saved mapping: all duplicates.
    let again = ok(lifeos(
        dir.path(),
        &["import", "bank", &giro, "--mapping", "giro"],
    ));
    assert!(
        again.contains("0 new, 5 already imported, 1 skipped"),
        "{again}"
    );
    // An overlapping statement: the shared coffee once, the rest new.
    let later = json(lifeos(
        dir.path(),
        &[
            "--json",
            "import",
            "bank",
            &fixture("bank/giro-later.csv"),
            "--mapping",
            "giro",
        ],
    ));
    assert_eq!(later["new"], 2);
    assert_eq!(later["already_imported"], 1);
    assert_eq!(later["created"]["categories"], 1, "Going out");
    assert_eq!(data(dir.path()).expenses.len(), 7);

    // Command-line options win over the saved ones.
    let wrong = lifeos(
        dir.path(),
        &[
            "import",
            "bank",
            &giro,
            "--mapping",
            "giro",
            "--decimal-comma=false",
        ],
    );
    assert_eq!(wrong.status.code(), Some(6), "{}", stderr(&wrong));
    assert!(
        stderr(&wrong).contains("giro.csv:5:4: \"-4,50\" is not an amount with a decimal point"),
        "{}",
        stderr(&wrong)
    );
    let unknown = lifeos(dir.path(), &["import", "bank", &giro, "--mapping", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("no saved bank mapping named \"nope\""));
}

#[test]
fn bank_inflow_outflow_columns_and_flipped_signs() {
    let dir = tempfile::tempdir().unwrap();
    let card = ok(lifeos(
        dir.path(),
        &[
            "import",
            "bank",
            &fixture("bank/card.csv"),
            "--date-column",
            "Date",
            "--date-format",
            "%m/%d/%Y",
            "--outflow-column",
            "Debit",
            "--inflow-column",
            "Credit",
            "--payee-column",
            "Description",
            "--note-column",
            "Reference",
            "--currency",
            "USD",
            "--category",
            "Card",
        ],
    ));
    assert!(card.contains("Added 3 expenses, 1 category."), "{card}");
    assert!(
        card.contains(
            "line 3: 2026-11-04 500.00 USD ONLINE PAYMENT THANK YOU: money in, not an expense"
        ),
        "{card}"
    );
    let d = data(dir.path());
    let usd: Vec<(i64, Option<&str>)> = d
        .expenses
        .iter()
        .map(|e| (e.amount.minor, e.payee.as_deref()))
        .collect();
    assert_eq!(
        usd,
        vec![
            (2345, Some("CORNER GROCERY")),
            (1200, Some("CITY PARKING, LOT 4")),
            (128_000, Some("HOTEL ALPINA")),
        ]
    );

    let credit = json(lifeos(
        dir.path(),
        &[
            "--json",
            "import",
            "bank",
            &fixture("bank/credit.csv"),
            "--no-header",
            "--date-column",
            "1",
            "--payee-column",
            "2",
            "--amount-column",
            "3",
            "--flip-sign",
            "--currency",
            "CHF",
        ],
    ));
    assert_eq!(credit["new"], 2);
    assert_eq!(credit["skipped"][0]["line"], 2, "the refund is money in");
    let d = data(dir.path());
    let chf: Vec<(String, i64)> = d
        .expenses
        .iter()
        .filter(|e| e.amount.currency.code() == "CHF")
        .map(|e| (e.payee.clone().unwrap(), e.amount.minor))
        .collect();
    assert_eq!(chf, vec![("Bookshop".into(), 1590), ("Train".into(), 4200)]);
    assert!(
        d.expenses
            .iter()
            .filter(|e| e.amount.currency.code() == "CHF")
            .all(|e| e.category.is_none())
    );
}

#[test]
fn taskwarrior_exports_keep_status_project_tags_and_repetition() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixture("taskwarrior/export.json");
    let imported = json(lifeos(
        dir.path(),
        &["--json", "import", "taskwarrior", &file],
    ));
    assert_eq!(imported["created"]["tasks"], 5);
    assert_eq!(imported["created"]["projects"], 2);
    assert_eq!(
        imported["skipped"].as_array().unwrap().len(),
        2,
        "deleted, and an occurrence"
    );

    let all = json(lifeos(dir.path(), &["--json", "task", "list", "--all"]));
    let tasks = all["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 5);
    let find = |title: &str| tasks.iter().find(|t| t["title"] == title).unwrap().clone();
    let fence = find("Fix the garden fence");
    assert_eq!(fence["status"], "next");
    assert_eq!(fence["due"], "2026-12-04");
    assert_eq!(fence["contexts"], serde_json::json!(["outside", "weekend"]));
    assert_eq!(
        (fence["important"].clone(), fence["urgent"].clone()),
        (true.into(), true.into())
    );
    assert_eq!(
        fence["notes"],
        "2026-11-02: Two posts are rotten\nBlocked by: Buy fence posts"
    );
    assert_eq!(
        fence["created_at"], 1_793_521_800_000_i64,
        "entry is the creation time"
    );
    let posts = find("Buy fence posts");
    assert_eq!(posts["status"], "done");
    assert_eq!(
        posts["completed_at"], 1_793_721_600_000_i64,
        "at its end time"
    );
    assert_eq!(
        (posts["important"].clone(), posts["urgent"].clone()),
        (true.into(), false.into())
    );
    let review = find("Weekly review");
    assert_eq!(review["recurrence"]["unit"], "week");
    assert_eq!(
        review["due"], "2026-11-29",
        "from its first open occurrence"
    );
    let passport = find("Renew passport");
    assert_eq!(passport["scheduled"], "2027-01-10");
    assert_eq!(passport["contexts"], serde_json::json!(["errands"]));
    let garden = json(lifeos(
        dir.path(),
        &[
            "--json",
            "task",
            "list",
            "--all",
            "--project",
            "Home.Garden",
        ],
    ));
    assert_eq!(garden["tasks"].as_array().unwrap().len(), 2);
    let home = json(lifeos(
        dir.path(),
        &["--json", "task", "list", "--project", "home"],
    ));
    assert_eq!(home["tasks"][0]["title"], "Call the plumber");

    let again = ok(lifeos(dir.path(), &["import", "taskwarrior", &file]));
    assert!(
        again.contains("0 new, 5 already imported, 2 skipped"),
        "{again}"
    );
}

#[test]
fn malformed_files_exit_6_at_file_line_and_column_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    ok(lifeos(
        dir.path(),
        &[
            "import",
            "todoist",
            &fixture("todoist/Home [2203306141].csv"),
        ],
    ));
    let before = data(dir.path());
    let bank = |file: &str| {
        vec![
            "import".to_string(),
            "bank".into(),
            fixture(file),
            "--date-column".into(),
            "Date".into(),
            "--amount-column".into(),
            "Amount".into(),
            "--payee-column".into(),
            "Payee".into(),
            "--currency".into(),
            "EUR".into(),
        ]
    };
    let zip = loop_zip(
        dir.path(),
        &[(
            "002 Run/Checkmarks.csv",
            "Date,Value,Notes\n2026-11-19,6200,\n2026-11-17,4.8 km,\n",
        )],
    );
    // A record lifeos-core refuses fails the whole file too, at its field.
    let long = dir.path().join("Long.csv");
    std::fs::write(
        &long,
        format!(
            "TYPE,CONTENT,PRIORITY\ntask,Fine,4\ntask,{},4\n",
            "x".repeat(600)
        ),
    )
    .unwrap();
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["import".into(), "todoist".into(), long.display().to_string()],
            "Long.csv:3:2: title: must be at most 500 characters".into(),
        ),
        (
            vec!["import".into(), "todoist".into(), fixture("todoist/Broken.csv")],
            "Broken.csv:1:1: the header has no CONTENT column".into(),
        ),
        (bank("bank/bad-amount.csv"), "bad-amount.csv:7:3: \"12,5x\" is not an amount".into()),
        (
            bank("bank/bad-date.csv"),
            "bad-date.csv:3:1: \"2026-02-30\" is not a date in the format %Y-%m-%d".into(),
        ),
        (
            vec!["import".into(), "taskwarrior".into(), fixture("taskwarrior/broken.json")],
            "broken.json:3:1: not valid JSON: expected `,` or `]`".into(),
        ),
        (
            vec!["import".into(), "loop".into(), zip.display().to_string()],
            "Loop Habits CSV 2026-11-21.zip/002 Run/Checkmarks.csv:3:2: \"4.8 km\" is not a Loop value".into(),
        ),
    ];
    for (args, expected) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = lifeos(dir.path(), &args);
        assert_eq!(out.status.code(), Some(6), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&expected),
            "{args:?}: {}",
            stderr(&out)
        );
        let mut with_json = vec!["--json"];
        with_json.extend(&args);
        let out = lifeos(dir.path(), &with_json);
        let body: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(body["exit_code"], 6);
        assert!(body["error"].as_str().unwrap().contains(&expected));
        assert_eq!(data(dir.path()), before, "{args:?} changed nothing");
    }
    // Not a zip at all, a file that is not there, options that do not fit.
    let not_zip = lifeos(dir.path(), &["import", "loop", &fixture("bank/giro.csv")]);
    assert_eq!(not_zip.status.code(), Some(6));
    assert!(stderr(&not_zip).contains("is not a zip archive"));
    let missing = lifeos(
        dir.path(),
        &["import", "taskwarrior", "/nonexistent/export.json"],
    );
    assert_eq!(missing.status.code(), Some(1));
    let no_currency = lifeos(
        dir.path(),
        &[
            "import",
            "bank",
            &fixture("bank/card.csv"),
            "--date-column",
            "Date",
            "--amount-column",
            "Debit",
        ],
    );
    assert_eq!(no_currency.status.code(), Some(2));
    assert!(stderr(&no_currency).contains("--currency"));
    assert_eq!(data(dir.path()), before);
}

#[test]
fn long_imports_draw_no_progress_bar_into_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("Date,Payee,Amount\n");
    let start: chrono::NaiveDate = "2025-01-01".parse().unwrap();
    for n in 0..300 {
        let day = start + chrono::Days::new(n);
        csv.push_str(&format!("{day},Shop {n},-{}.{:02}\n", n % 40 + 1, n % 100));
    }
    let file = dir.path().join("long.csv");
    std::fs::write(&file, csv).unwrap();
    let out = lifeos(
        dir.path(),
        &[
            "import",
            "bank",
            file.to_str().unwrap(),
            "--date-column",
            "Date",
            "--amount-column",
            "Amount",
            "--payee-column",
            "Payee",
            "--currency",
            "EUR",
        ],
    );
    let text = ok(out.clone());
    assert!(text.contains("300 new"), "{text}");
    assert!(text.contains("and 290 more"), "{text}");
    let err = stderr(&out);
    assert!(!err.contains('\u{1b}'), "no escape codes: {err:?}");
    assert!(!err.contains("importing"), "no bar: {err:?}");
    assert!(err.trim().is_empty(), "{err:?}");
    assert_eq!(data(dir.path()).expenses.len(), 300);
}
