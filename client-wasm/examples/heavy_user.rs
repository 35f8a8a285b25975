//! Writes a heavy user's browser storage for the browser benchmark
//! (`e2e/bench.mjs`): 10,000 tasks, 50,000 expenses over five years, 10
//! habits with a year of check-ins, built one change per action as a person
//! would have. Output: `DIR/meta.json` and one `DIR/<document id>.bin`
//! snapshot per document, exactly the records the app keeps in IndexedDB.
//!
//! `cargo run --release -p lifeos-client-wasm --example heavy_user -- DIR YYYY-MM-DD` (today)

use std::path::PathBuf;

use lifeos_client_wasm::engine::{META_VERSION, Meta};
use lifeos_core::finance::NewExpense;
use lifeos_core::habits::{CheckInState, HabitKind, NewHabit, Schedule};
use lifeos_core::tasks::{NewTask, Status};
use lifeos_core::time::{Date, Timestamp, parse_date};
use lifeos_core::{Currency, DocumentId, Money, UserData};

const TASKS: usize = 10_000;
const EXPENSES: usize = 50_000;
const HABITS: usize = 10;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: heavy_user DIR YYYY-MM-DD")?);
    let today: Date = parse_date(
        "today",
        &args.next().ok_or("usage: heavy_user DIR YYYY-MM-DD")?,
    )?;
    std::fs::create_dir_all(&dir)?;

    let root = DocumentId::generate();
    let mut now = 1_640_000_000_000i64;
    let mut tick = || {
        now += 60_000;
        Timestamp::from_millis(now)
    };
    let mut data = UserData::create(root, tick())?;
    let projects: Vec<_> = (0..20)
        .map(|i| data.add_project(tick(), &format!("Project {i}")))
        .collect::<Result<_, _>>()?;
    for i in 0..TASKS {
        let open = i % 10 < 3;
        let due = (i % 4 == 0)
            .then(|| today + chrono::Days::new(10) - chrono::Days::new((i % 30) as u64));
        let id = data.add_task(
            tick(),
            NewTask {
                title: format!("Task number {i} with a realistic title"),
                status: Some(if i % 2 == 0 {
                    Status::Next
                } else {
                    Status::Inbox
                }),
                project: (i % 3 == 0).then(|| projects[i % projects.len()]),
                contexts: if i % 5 == 0 {
                    vec!["home".into()]
                } else {
                    vec![]
                },
                due,
                important: i % 7 == 0,
                ..NewTask::default()
            },
        )?;
        if !open {
            data.complete_task(tick(), id, today)?;
        }
    }
    let categories: Vec<_> = [
        "Groceries",
        "Rent",
        "Transport",
        "Eating out",
        "Health",
        "Fun",
        "Gifts",
        "Home",
    ]
    .iter()
    .map(|c| data.add_category(tick(), c, false))
    .collect::<Result<_, _>>()?;
    let eur = Currency::from_code("EUR")?;
    let first = today - chrono::Days::new(5 * 365);
    for i in 0..EXPENSES {
        let date = first + chrono::Days::new((i * 5 * 365 / EXPENSES) as u64);
        data.add_expense(
            tick(),
            NewExpense {
                amount: Money::new(100 + (i as i64 * 37) % 9_000, eur),
                date,
                category: Some(categories[i % categories.len()]),
                payee: Some(format!("Shop {}", i % 50)),
                note: None,
            },
        )?;
    }
    for h in 0..HABITS {
        let id = data.add_habit(
            tick(),
            NewHabit {
                name: format!("Habit {h}"),
                schedule: if h % 2 == 0 {
                    Schedule::Daily
                } else {
                    Schedule::times_per_week(3)?
                },
                kind: HabitKind::YesNo,
                start: today - chrono::Days::new(365),
            },
        )?;
        for day in 0..365u64 {
            if !(day + h as u64).is_multiple_of(3) {
                let date = today - chrono::Days::new(365 - day);
                data.check_in(tick(), id, date, today, CheckInState::Done, None)?;
            }
        }
    }

    let mut total = 0;
    for (id, doc) in data.documents_mut() {
        let bytes = doc.save();
        total += bytes.len();
        std::fs::write(dir.join(format!("{}.bin", id.to_url())), bytes)?;
    }
    let meta = Meta {
        version: META_VERSION,
        peer_id: "web-bench".into(),
        local_root: Some(root.to_url()),
        account: None,
        confirmed: Default::default(),
    };
    std::fs::write(dir.join("meta.json"), serde_json::to_string(&meta)?)?;
    println!(
        "{} documents, {} KB, in {}",
        data.document_ids().len(),
        total / 1024,
        dir.display()
    );
    Ok(())
}
