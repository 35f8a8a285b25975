//! A heavy user: 10,000 tasks, 50,000 expenses over five years, 10 habits with
//! a year of check-ins. Measures what opening the app costs natively: loading
//! the documents and computing Today, plus the monthly report and saving.
//! Run with `cargo bench -p lifeos-core --bench user_data`; figures in
//! docs/benchmarks.md. Sizes are printed once before the timings.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use lifeos_core::finance::NewExpense;
use lifeos_core::habits::{CheckInState, HabitKind, NewHabit, Schedule};
use lifeos_core::tasks::{NewTask, Status};
use lifeos_core::time::{Date, Month, Timestamp, parse_date};
use lifeos_core::{Currency, DocKind, DocumentId, LifeDoc, Money, UserData};

const TASKS: usize = 10_000;
const EXPENSES: usize = 50_000;
const HABITS: usize = 10;
const TODAY: &str = "2026-11-26";

/// Saved documents: (id, kind, bytes).
type Saved = Vec<(DocumentId, DocKind, Vec<u8>)>;

fn d(s: &str) -> Date {
    parse_date("date", s).unwrap()
}

/// Builds the heavy user the way they would have: one change per action.
fn build() -> (UserData, Saved) {
    let root = DocumentId::generate();
    let mut now = 1_600_000_000_000i64;
    let mut tick = || {
        now += 60_000;
        Timestamp::from_millis(now)
    };
    let mut data = UserData::create(root, tick()).unwrap();
    let today = d(TODAY);
    let projects: Vec<_> = (0..20)
        .map(|i| data.add_project(tick(), &format!("Project {i}")).unwrap())
        .collect();
    for i in 0..TASKS {
        let open = i % 10 < 3;
        let due = (i % 4 == 0)
            .then(|| today - chrono::Days::new((i % 30) as u64) + chrono::Days::new(10));
        let id = data
            .add_task(
                tick(),
                NewTask {
                    title: format!("Task number {i} with a realistic title"),
                    status: Some(if open { Status::Next } else { Status::Inbox }),
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
            )
            .unwrap();
        if !open {
            data.complete_task(tick(), id, today).unwrap();
        }
    }
    let eur = Currency::from_code("EUR").unwrap();
    let categories: Vec<_> = (0..12)
        .map(|i| {
            data.add_category(tick(), &format!("Category {i}"), i % 2 == 0)
                .unwrap()
        })
        .collect();
    for c in &categories {
        for m in 0..12 {
            data.set_budget(
                tick(),
                *c,
                Month::new(2026, m + 1).unwrap(),
                Some(Money::new(40_000, eur)),
            )
            .unwrap();
        }
    }
    let payees = [
        "Rewe",
        "Lidl",
        "Aldi",
        "Amazon",
        "Shell",
        "Deutsche Bahn",
        "Cafe Luna",
        "Netflix",
        "Spotify",
        "Ikea",
    ];
    let first = d("2022-01-01");
    let span = (today - first).num_days() as usize + 1;
    for i in 0..EXPENSES {
        let date = first + chrono::Days::new((i * span / EXPENSES) as u64);
        data.add_expense(
            tick(),
            NewExpense {
                amount: Money::new(100 + ((i * 7331) % 20_000) as i64, eur),
                date,
                category: Some(categories[i % categories.len()]),
                payee: Some(payees[i % payees.len()].to_string()),
                note: None,
            },
        )
        .unwrap();
    }
    for h in 0..HABITS {
        let id = data
            .add_habit(
                tick(),
                NewHabit {
                    name: format!("Habit {h}"),
                    schedule: Schedule::Daily,
                    kind: HabitKind::YesNo,
                    start: today - chrono::Days::new(365),
                },
            )
            .unwrap();
        for day in 0..365u64 {
            if !(day + h as u64).is_multiple_of(4) {
                let date = today - chrono::Days::new(day);
                data.check_in(tick(), id, date, today, CheckInState::Done, None)
                    .unwrap();
            }
        }
    }
    let saved = data
        .documents_mut()
        .into_iter()
        .map(|(id, doc)| (id, doc.kind(), doc.save()))
        .collect();
    (data, saved)
}

/// Loads the root, then every document it lists, or only one month's ledger.
fn open(saved: &Saved, root: DocumentId, only_month: Option<Month>) -> UserData {
    let (_, _, bytes) = saved.iter().find(|(id, _, _)| *id == root).unwrap();
    let mut data = UserData::open(root, LifeDoc::load(DocKind::Root, bytes).unwrap()).unwrap();
    for (id, role) in data.missing_documents().unwrap() {
        if role.kind == DocKind::Ledger && only_month.is_some_and(|m| role.month != Some(m)) {
            continue;
        }
        let (_, kind, bytes) = saved.iter().find(|(d, _, _)| *d == id).unwrap();
        data.attach(id, LifeDoc::load(*kind, bytes).unwrap())
            .unwrap();
    }
    data
}

fn report_sizes(saved: &Saved, build_secs: f64) {
    eprintln!(
        "built {TASKS} tasks, {EXPENSES} expenses, {HABITS} habits x 365 days in {build_secs:.1} s"
    );
    let mut ledger_total = 0;
    for (id, kind, bytes) in saved {
        eprintln!("  {kind:8} {id}: {} bytes", bytes.len());
        if *kind == DocKind::Ledger {
            ledger_total += bytes.len();
        }
    }
    let total: usize = saved.iter().map(|(_, _, b)| b.len()).sum();
    eprintln!(
        "  total {total} bytes; ledgers {ledger_total} bytes = {:.1} bytes per expense",
        ledger_total as f64 / EXPENSES as f64
    );
}

fn benches(c: &mut Criterion) {
    let started = Instant::now();
    let (mut data, saved) = build();
    report_sizes(&saved, started.elapsed().as_secs_f64());
    let root = data.root_id();
    let today = d(TODAY);

    let mut g = c.benchmark_group("heavy_user");
    g.sample_size(10);
    g.bench_function("load_all_documents_and_today", |b| {
        b.iter(|| {
            let data = open(&saved, root, None);
            black_box(data.today(today).unwrap())
        })
    });
    g.bench_function("load_documents_for_today_and_today", |b| {
        b.iter(|| {
            let data = open(&saved, root, Some(Month::of(today)));
            black_box(data.today(today).unwrap())
        })
    });
    let loaded = open(&saved, root, None);
    g.bench_function("today_view", |b| {
        b.iter(|| black_box(loaded.today(today).unwrap()))
    });
    g.bench_function("monthly_report", |b| {
        b.iter(|| black_box(loaded.monthly_report(Month::of(today)).unwrap()))
    });
    g.bench_function("save_all_documents", |b| {
        b.iter(|| {
            for (_, doc) in data.documents_mut() {
                black_box(doc.save());
            }
        })
    });
    g.finish();
}

criterion_group!(heavy_user, benches);
criterion_main!(heavy_user);
