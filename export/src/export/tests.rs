//! The export's formats, on data built with `lifeos-core` in memory.

use std::collections::HashMap;
use std::io::Read;

use lifeos_core::finance::NewExpense;
use lifeos_core::habits::{CheckInState, HabitKind, NewHabit, Schedule};
use lifeos_core::tasks::NewTask;
use lifeos_core::time::{Date, Month, Timestamp};
use lifeos_core::{Currency, DocKind, DocumentId, LifeDoc, Money, UserData};

use super::{Account, Export, Format, Kind, text};
use crate::documents::Documents;
use crate::error::SourceError;
use crate::source::Source;

/// Documents saved as the relay stores them.
struct Memory {
    root: DocumentId,
    docs: HashMap<DocumentId, Vec<u8>>,
    loads: std::cell::Cell<usize>,
}

impl Memory {
    fn of(data: &mut UserData) -> Memory {
        Memory {
            root: data.root_id(),
            docs: data
                .documents_mut()
                .into_iter()
                .map(|(id, d)| (id, d.save()))
                .collect(),
            loads: std::cell::Cell::new(0),
        }
    }
}

impl Source for Memory {
    fn root_id(&self) -> DocumentId {
        self.root
    }

    fn load(&self, id: DocumentId, kind: DocKind) -> Result<Option<LifeDoc>, SourceError> {
        self.loads.set(self.loads.get() + 1);
        Ok(self
            .docs
            .get(&id)
            .map(|b| LifeDoc::load(kind, b).expect("loads")))
    }
}

const NOW: Timestamp = Timestamp::from_millis(1_795_680_000_000); // 2026-11-26T08:00:00Z

fn day(s: &str) -> Date {
    s.parse().unwrap()
}

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::from_code("EUR").unwrap())
}

fn account() -> Account {
    Account {
        id: "0193b1a8-0000-7000-8000-000000000001".into(),
        email: "ada@example.com".into(),
    }
}

/// A user with a bit of everything, and the hostile values a CSV must survive.
fn user() -> UserData {
    let mut data = UserData::create(DocumentId::generate(), NOW).unwrap();
    let project = data.add_project(NOW, "Home, \"garden\"").unwrap();
    data.add_task(
        NOW,
        NewTask {
            title: "=HYPERLINK(\"http://evil\",\"click\")".into(),
            notes: "line one\nline two, with \"quotes\"".into(),
            project: Some(project),
            contexts: vec!["phone".into(), "home".into()],
            checklist: vec!["+ buy milk".into(), "call".into()],
            due: Some(day("2026-11-27")),
            important: true,
            ..NewTask::default()
        },
    )
    .unwrap();
    data.add_task(
        NOW,
        NewTask {
            title: "-2+3".into(),
            ..NewTask::default()
        },
    )
    .unwrap();
    let habit = data
        .add_habit(
            NOW,
            NewHabit {
                name: "@run".into(),
                schedule: Schedule::Daily,
                kind: HabitKind::Numeric {
                    unit: "km".into(),
                    target: 5.0,
                },
                start: day("2026-11-20"),
            },
        )
        .unwrap();
    for d in ["2026-11-24", "2026-11-25"] {
        data.check_in(
            NOW,
            habit,
            day(d),
            day("2026-11-26"),
            CheckInState::Value(5.5),
            Some("easy, \"slow\""),
        )
        .unwrap();
    }
    let food = data.add_category(NOW, "Food", false).unwrap();
    data.set_budget(NOW, food, Month::new(2026, 11).unwrap(), Some(eur(40000)))
        .unwrap();
    for (d, minor, payee) in [
        ("2026-11-03", 1250, "=cmd|' /C calc'!A0"),
        ("2026-10-30", 999, "Bakery"),
        ("2026-11-01", 5, "-Refund, \"partial\""),
    ] {
        data.add_expense(
            NOW,
            NewExpense {
                amount: eur(minor),
                date: day(d),
                category: Some(food),
                payee: Some(payee.into()),
                note: None,
            },
        )
        .unwrap();
    }
    data
}

fn export(source: &impl Source, format: Format) -> Vec<u8> {
    let export = Export::prepare(source, account(), NOW).unwrap();
    let mut out = Vec::new();
    export.write(format, &mut out).unwrap();
    out
}

fn records(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn formulas_are_neutralised_and_everything_else_is_kept_as_typed() {
    assert_eq!(text("=1+1"), "'=1+1");
    assert_eq!(text("+49 30 123"), "'+49 30 123");
    assert_eq!(text("-5"), "'-5");
    assert_eq!(text("@SUM(A1)"), "'@SUM(A1)");
    assert_eq!(text("\tx"), "'\tx");
    assert_eq!(text("\rx"), "'\rx");
    assert_eq!(text("a=b"), "a=b");
    assert_eq!(text(""), "");
}

#[test]
fn tasks_csv_quotes_per_rfc_4180_and_defuses_formulas() {
    let source = Memory::of(&mut user());
    let out = export(&source, Format::Csv(Kind::Tasks));
    let raw = String::from_utf8(out.clone()).unwrap();
    assert!(
        raw.starts_with("id,title,status,project_id,project,contexts,due,"),
        "{raw}"
    );
    assert!(raw.contains("\r\n"), "records end with CRLF");
    assert!(
        raw.contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"click\"\")\""),
        "the title is quoted, its quotes doubled and its formula defused: {raw}"
    );
    let rows = records(&out);
    assert_eq!(rows.len(), 3, "header and two tasks");
    let header = &rows[0];
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let first = rows
        .iter()
        .find(|r| r[col("title")].contains("HYPERLINK"))
        .unwrap();
    assert_eq!(
        first[col("title")],
        "'=HYPERLINK(\"http://evil\",\"click\")"
    );
    assert_eq!(first[col("notes")], "line one\nline two, with \"quotes\"");
    assert_eq!(first[col("project")], "Home, \"garden\"");
    assert_eq!(first[col("contexts")], "home phone");
    assert_eq!(first[col("checklist")], "[ ] + buy milk\n[ ] call");
    assert_eq!(first[col("due")], "2026-11-27");
    assert_eq!(first[col("important")], "true");
    assert_eq!(first[col("quadrant")], "do_first", "due tomorrow is urgent");
    assert!(first[col("created_at")].starts_with("2026-11-26T"));
    let second = rows
        .iter()
        .find(|r| r[col("title")].contains("2+3"))
        .unwrap();
    assert_eq!(second[col("title")], "'-2+3");
    assert_eq!(second[col("status")], "inbox");
    assert_eq!(second[col("due")], "");
}

#[test]
fn expenses_csv_has_decimal_amounts_in_date_order_across_months() {
    let source = Memory::of(&mut user());
    let rows = records(&export(&source, Format::Csv(Kind::Expenses)));
    assert_eq!(
        rows[0],
        [
            "id",
            "date",
            "amount",
            "currency",
            "category_id",
            "category",
            "payee",
            "note",
            "created_at"
        ]
    );
    let dates: Vec<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(dates, ["2026-10-30", "2026-11-01", "2026-11-03"]);
    let amounts: Vec<&str> = rows[1..].iter().map(|r| r[2].as_str()).collect();
    assert_eq!(amounts, ["9.99", "0.05", "12.50"]);
    assert!(rows[1..].iter().all(|r| r[3] == "EUR" && r[5] == "Food"));
    assert_eq!(rows[2][6], "'-Refund, \"partial\"");
    assert_eq!(rows[3][6], "'=cmd|' /C calc'!A0");
}

#[test]
fn habits_checkins_categories_and_budgets_csv() {
    let source = Memory::of(&mut user());
    let habits = records(&export(&source, Format::Csv(Kind::Habits)));
    assert_eq!(habits.len(), 2);
    let h = &habits[1];
    assert_eq!(
        &h[1..8],
        [
            "'@run",
            "daily",
            "numeric",
            "km",
            "5",
            "2026-11-20",
            "false"
        ]
    );
    assert_eq!(
        h[8], "2",
        "checked in yesterday and the day before: today is not over"
    );
    let checkins = records(&export(&source, Format::Csv(Kind::Checkins)));
    assert_eq!(
        checkins[0],
        ["habit_id", "habit", "date", "state", "value", "note"]
    );
    assert_eq!(
        &checkins[1][1..],
        ["'@run", "2026-11-24", "value", "5.5", "easy, \"slow\""]
    );
    assert_eq!(checkins.len(), 3);
    let budgets = records(&export(&source, Format::Csv(Kind::Budgets)));
    assert_eq!(&budgets[1][1..], ["Food", "2026-11", "400.00", "EUR"]);
    let categories = records(&export(&source, Format::Csv(Kind::Categories)));
    assert_eq!(&categories[1][1..4], ["Food", "false", "false"]);
    let projects = records(&export(&source, Format::Csv(Kind::Projects)));
    assert_eq!(projects[1][1], "Home, \"garden\"");
}

#[test]
fn json_export_is_one_versioned_object_with_everything() {
    let source = Memory::of(&mut user());
    let out = export(&source, Format::Json);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["format"], "lifeos-export");
    assert_eq!(v["version"], 1);
    assert_eq!(v["account"]["email"], "ada@example.com");
    assert_eq!(v["exported_at"], "2026-11-26T08:00:00.000Z");
    assert_eq!(v["settings"]["week_start"], "mon");
    assert_eq!(v["tasks"].as_array().unwrap().len(), 2);
    assert_eq!(v["projects"][0]["name"], "Home, \"garden\"");
    assert_eq!(
        v["habits"][0]["name"], "@run",
        "JSON keeps text exactly as typed"
    );
    assert_eq!(v["habits"][0]["target"], 5.0);
    assert_eq!(v["checkins"].as_array().unwrap().len(), 2);
    assert_eq!(v["categories"][0]["name"], "Food");
    assert_eq!(v["budgets"][0]["amount"], "400.00");
    assert_eq!(v["budgets"][0]["amount_minor"], 40000);
    let expenses = v["expenses"].as_array().unwrap();
    assert_eq!(expenses.len(), 3);
    assert_eq!(expenses[2]["amount"], "12.50");
    assert_eq!(expenses[2]["currency"], "EUR");
    assert_eq!(expenses[2]["amount_minor"], 1250);
    assert_eq!(expenses[2]["payee"], "=cmd|' /C calc'!A0");
}

#[test]
fn an_account_without_documents_exports_empty_lists() {
    let source = Memory {
        root: DocumentId::generate(),
        docs: HashMap::new(),
        loads: std::cell::Cell::new(0),
    };
    let v: serde_json::Value = serde_json::from_slice(&export(&source, Format::Json)).unwrap();
    for list in [
        "projects",
        "tasks",
        "habits",
        "checkins",
        "categories",
        "budgets",
        "expenses",
    ] {
        assert_eq!(v[list], serde_json::json!([]), "{list}");
    }
    let rows = records(&export(&source, Format::Csv(Kind::Tasks)));
    assert_eq!(rows.len(), 1, "just the header");
}

#[test]
fn the_zip_holds_every_csv() {
    let source = Memory::of(&mut user());
    let out = export(&source, Format::Zip);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(out)).unwrap();
    let mut names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "budgets.csv",
            "categories.csv",
            "checkins.csv",
            "expenses.csv",
            "habits.csv",
            "projects.csv",
            "tasks.csv"
        ]
    );
    let mut expenses = String::new();
    zip.by_name("expenses.csv")
        .unwrap()
        .read_to_string(&mut expenses)
        .unwrap();
    let standalone = export(&source, Format::Csv(Kind::Expenses));
    assert_eq!(
        expenses.as_bytes(),
        standalone,
        "the same bytes as the single CSV"
    );
}

#[test]
fn ledgers_are_read_one_month_at_a_time_and_only_when_expenses_are_written() {
    let source = Memory::of(&mut user());
    let export = Export::prepare(&source, account(), NOW).unwrap();
    let before = source.loads.get();
    assert_eq!(before, 4, "root, tasks, habits, finance");
    export
        .write(Format::Csv(Kind::Tasks), &mut Vec::new())
        .unwrap();
    assert_eq!(source.loads.get(), before, "no ledger for tasks");
    export
        .write(Format::Csv(Kind::Expenses), &mut Vec::new())
        .unwrap();
    assert_eq!(
        source.loads.get(),
        before + 2,
        "October's and November's ledgers"
    );
}

#[test]
fn documents_held_in_memory_export_the_bytes_stored_documents_do() {
    // `Memory` loads saved bytes, as the relay's database source does; a
    // device (the CLI) holds the same documents as Automerge documents.
    let mut data = user();
    let stored = Memory::of(&mut data);
    let held = Documents::from_user_data(&mut data);
    let mut formats = vec![Format::Json, Format::Zip];
    formats.extend(Kind::ALL.map(Format::Csv));
    for format in formats {
        assert_eq!(export(&held, format), export(&stored, format), "{format:?}");
    }
    let v: serde_json::Value = serde_json::from_slice(&export(&held, Format::Json)).unwrap();
    let titles: Vec<&str> = v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 2);
    assert!(titles.contains(&"-2+3"), "{titles:?}");
    assert_eq!(v["habits"][0]["name"], "@run");
    assert_eq!(v["checkins"].as_array().unwrap().len(), 2);
    let amounts: Vec<&str> = v["expenses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["amount"].as_str().unwrap())
        .collect();
    assert_eq!(amounts, ["9.99", "0.05", "12.50"]);
}
