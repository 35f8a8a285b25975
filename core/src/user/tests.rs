use super::*;
use crate::habits::{HabitKind, Schedule};
use crate::money::Currency;
use crate::tasks::Status;
use crate::tasks::quick_add::AddedOn;
use crate::time::{Weekday, parse_date};
use crate::user::duplicates::DuplicateKind;

fn d(s: &str) -> Date {
    parse_date("date", s).unwrap()
}
fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}
fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::from_code("EUR").unwrap())
}

/// Saves every document and loads them on a "new device" through the root, as sync would.
fn new_device(data: &mut UserData) -> UserData {
    let root_id = data.root_id();
    let docs: Vec<(DocumentId, DocKind, Vec<u8>)> = data
        .documents_mut()
        .into_iter()
        .map(|(id, d)| (id, d.kind(), d.save()))
        .collect();
    let (_, _, root_bytes) = docs.iter().find(|(id, _, _)| *id == root_id).unwrap();
    let mut other =
        UserData::open(root_id, LifeDoc::load(DocKind::Root, root_bytes).unwrap()).unwrap();
    for (id, role) in other.missing_documents().unwrap() {
        let (_, kind, bytes) = docs.iter().find(|(d, _, _)| *d == id).unwrap();
        assert_eq!(*kind, role.kind);
        other
            .attach(id, LifeDoc::load(role.kind, bytes).unwrap())
            .unwrap();
    }
    assert!(other.missing_documents().unwrap().is_empty());
    other
}

#[test]
fn a_new_device_finds_every_document_from_the_root() {
    let mut data =
        UserData::create(DocumentId::root_of_user(&uuid::Uuid::from_u128(7)), t(1)).unwrap();
    data.add_task(
        t(2),
        NewTask {
            title: "t".into(),
            ..Default::default()
        },
    )
    .unwrap();
    data.add_expense(
        t(3),
        NewExpense {
            amount: eur(100),
            date: d("2025-06-01"),
            category: None,
            payee: None,
            note: None,
        },
    )
    .unwrap();
    data.add_expense(
        t(3),
        NewExpense {
            amount: eur(200),
            date: d("2026-06-01"),
            category: None,
            payee: None,
            note: None,
        },
    )
    .unwrap();
    let other = new_device(&mut data);
    assert_eq!(other.tasks().unwrap().len(), 1);
    assert_eq!(other.expenses().unwrap().len(), 2);
    assert_eq!(
        other.root.documents().unwrap().len(),
        5,
        "tasks, habits, finance, two ledgers"
    );
}

#[test]
fn attach_refuses_documents_that_are_not_listed_or_of_the_wrong_kind() {
    let mut data = UserData::create(DocumentId::generate(), t(1)).unwrap();
    assert!(
        data.attach(DocumentId::generate(), LifeDoc::new(DocKind::Tasks))
            .is_err()
    );
    let (tasks_id, _) = data
        .root
        .documents()
        .unwrap()
        .into_iter()
        .find(|(_, r)| r.kind == DocKind::Tasks)
        .unwrap();
    assert!(matches!(
        data.attach(tasks_id, LifeDoc::new(DocKind::Habits)),
        Err(Error::Corrupt(_))
    ));
}

#[test]
fn expenses_land_in_the_ledger_of_their_month_and_move_with_their_date() {
    let mut data = UserData::create(DocumentId::generate(), t(1)).unwrap();
    let (id, created) = data
        .add_expense(
            t(2),
            NewExpense {
                amount: eur(100),
                date: d("2026-12-31"),
                category: None,
                payee: None,
                note: None,
            },
        )
        .unwrap();
    assert!(created.is_some());
    let (_, again) = data
        .add_expense(
            t(2),
            NewExpense {
                amount: eur(100),
                date: d("2026-12-01"),
                category: None,
                payee: None,
                note: None,
            },
        )
        .unwrap();
    assert_eq!(again, None, "one ledger per month");
    let moved = data
        .update_expense(
            t(3),
            id,
            ExpensePatch {
                date: Some(d("2027-01-01")),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(moved.is_some());
    let e: Vec<_> = data
        .expenses_between(d("2027-01-01"), d("2027-12-31"))
        .unwrap();
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].id, id);
    assert_eq!(data.expenses().unwrap().len(), 2, "moved, not copied");
    let missing = EntityId::generate(t(9));
    let bad = NewExpense {
        amount: eur(1),
        date: d("2026-01-01"),
        category: Some(missing),
        payee: None,
        note: None,
    };
    assert!(matches!(
        data.add_expense(t(4), bad),
        Err(Error::NotFound {
            kind: "category",
            ..
        })
    ));
}

#[test]
fn local_data_joins_an_account_without_losing_anything() {
    let mut account = UserData::create(DocumentId::generate(), t(1)).unwrap();
    account
        .add_task(
            t(2),
            NewTask {
                title: "from the phone".into(),
                ..Default::default()
            },
        )
        .unwrap();
    let mut local = UserData::create(DocumentId::generate(), t(1)).unwrap();
    local
        .add_task(
            t(3),
            NewTask {
                title: "made offline before signing in".into(),
                ..Default::default()
            },
        )
        .unwrap();
    local
        .add_expense(
            t(3),
            NewExpense {
                amount: eur(500),
                date: d("2026-11-26"),
                category: None,
                payee: None,
                note: None,
            },
        )
        .unwrap();
    let adopted = account.adopt(t(4), local).unwrap();
    assert_eq!(adopted.len(), 4);
    let titles: Vec<String> = account
        .tasks()
        .unwrap()
        .into_iter()
        .map(|t| t.title)
        .collect();
    assert_eq!(titles.len(), 2);
    assert!(titles.contains(&"made offline before signing in".to_string()));
    assert_eq!(account.expenses().unwrap().len(), 1);
    // And a third device sees all of it.
    let other = new_device(&mut account);
    assert_eq!(other.tasks().unwrap().len(), 2);
}

#[test]
fn today_view_over_user_data() {
    let mut data = UserData::create(DocumentId::generate(), t(1)).unwrap();
    data.update_settings(
        t(1),
        SettingsPatch {
            urgent_within_days: Some(1),
            ..Default::default()
        },
    )
    .unwrap();
    let day = d("2026-11-26");
    let overdue = data
        .add_task(
            t(2),
            NewTask {
                title: "overdue".into(),
                due: Some(d("2026-11-20")),
                ..Default::default()
            },
        )
        .unwrap();
    let due = data
        .add_task(
            t(3),
            NewTask {
                title: "due".into(),
                due: Some(day),
                important: true,
                ..Default::default()
            },
        )
        .unwrap();
    let sched = data
        .add_task(
            t(4),
            NewTask {
                title: "scheduled".into(),
                scheduled: Some(d("2026-11-25")),
                due: Some(d("2026-12-10")),
                ..Default::default()
            },
        )
        .unwrap();
    data.add_task(
        t(5),
        NewTask {
            title: "later".into(),
            due: Some(d("2026-11-28")),
            ..Default::default()
        },
    )
    .unwrap();
    let done = data
        .add_task(
            t(6),
            NewTask {
                title: "done".into(),
                due: Some(day),
                ..Default::default()
            },
        )
        .unwrap();
    data.complete_task(t(7), done, day).unwrap();
    let run = data
        .add_habit(
            t(8),
            NewHabit {
                name: "Run".into(),
                schedule: Schedule::Daily,
                kind: HabitKind::YesNo,
                start: d("2026-11-01"),
            },
        )
        .unwrap();
    data.check_in(t(9), run, day, day, CheckInState::Done, None)
        .unwrap();
    data.add_habit(
        t(8),
        NewHabit {
            name: "Swim".into(),
            schedule: Schedule::weekdays([Weekday::Mon]).unwrap(),
            kind: HabitKind::YesNo,
            start: d("2026-11-01"),
        },
    )
    .unwrap();
    data.add_expense(
        t(10),
        NewExpense {
            amount: eur(350),
            date: day,
            category: None,
            payee: Some("Bakery".into()),
            note: None,
        },
    )
    .unwrap();
    data.add_expense(
        t(10),
        NewExpense {
            amount: eur(999),
            date: d("2026-11-25"),
            category: None,
            payee: None,
            note: None,
        },
    )
    .unwrap();
    let v = data.today(day).unwrap();
    let ids = |l: &[crate::today::TodayTask]| l.iter().map(|e| e.task.id).collect::<Vec<_>>();
    assert_eq!(ids(&v.overdue), vec![overdue]);
    assert_eq!(ids(&v.due_today), vec![due]);
    assert_eq!(v.due_today[0].quadrant, crate::tasks::Quadrant::DoFirst);
    assert_eq!(ids(&v.scheduled), vec![sched]);
    assert_eq!(
        v.habits.len(),
        1,
        "Swim is Mondays only; 2026-11-26 is a Thursday"
    );
    assert_eq!(v.habits[0].checkin, Some(CheckInState::Done));
    assert_eq!(v.habits[0].streaks.current, 1);
    assert_eq!(v.spent.get(Currency::from_code("EUR").unwrap()), eur(350));
    assert_eq!(v.expenses.len(), 1);
}

#[test]
fn monthly_report_reads_back_to_the_first_budget() {
    let mut data = UserData::create(DocumentId::generate(), t(1)).unwrap();
    let food = data.add_category(t(1), "Food", true).unwrap();
    data.set_budget(t(1), food, "2025-12".parse().unwrap(), Some(eur(10_000)))
        .unwrap();
    data.set_budget(t(1), food, "2026-01".parse().unwrap(), Some(eur(10_000)))
        .unwrap();
    data.add_expense(
        t(2),
        NewExpense {
            amount: eur(2_500),
            date: d("2025-12-24"),
            category: Some(food),
            payee: None,
            note: None,
        },
    )
    .unwrap();
    data.add_expense(
        t(2),
        NewExpense {
            amount: eur(1_000),
            date: d("2026-01-05"),
            category: Some(food),
            payee: None,
            note: None,
        },
    )
    .unwrap();
    let r = data.monthly_report("2026-01".parse().unwrap()).unwrap();
    assert_eq!(
        r.lines[0].carried,
        Some(eur(7_500)),
        "carry crosses ledgers and years"
    );
    assert_eq!(r.lines[0].remaining, Some(eur(16_500)));
}

#[test]
fn settings_defaults_and_validation() {
    let mut data = UserData::create(DocumentId::generate(), t(1)).unwrap();
    let s = data.settings().unwrap();
    assert_eq!(
        (s.week_start, s.urgent_within_days, s.currency, s.timezone),
        (Weekday::Mon, 2, None, None)
    );
    data.update_settings(
        t(2),
        SettingsPatch {
            timezone: Some("Europe/Berlin".into()),
            currency: Some(Currency::from_code("JPY").unwrap()),
            week_start: Some(Weekday::Sun),
            urgent_within_days: Some(3),
        },
    )
    .unwrap();
    let s = data.settings().unwrap();
    assert_eq!(s.timezone.as_deref(), Some("Europe/Berlin"));
    assert_eq!(s.week_start, Weekday::Sun);
    assert!(
        data.update_settings(
            t(3),
            SettingsPatch {
                timezone: Some("Europe/Berlin; DROP".into()),
                ..Default::default()
            }
        )
        .is_err()
    );
    assert!(
        data.update_settings(
            t(3),
            SettingsPatch {
                urgent_within_days: Some(366),
                ..Default::default()
            }
        )
        .is_err()
    );
}

#[cfg(feature = "tz")]
#[test]
fn today_follows_the_users_time_zone_across_daylight_saving() {
    let mut data = UserData::create(DocumentId::generate(), t(1)).unwrap();
    // 2026-03-29 00:30 in Berlin (just after midnight, DST starts at 02:00) is 23:30 UTC the day before.
    let now = Timestamp::from_millis(
        chrono::DateTime::parse_from_rfc3339("2026-03-28T23:30:00Z")
            .unwrap()
            .timestamp_millis(),
    );
    assert_eq!(
        data.local_today(now, "UTC").unwrap(),
        d("2026-03-28"),
        "no zone chosen: the device's"
    );
    data.update_settings(
        t(2),
        SettingsPatch {
            timezone: Some("Europe/Berlin".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(data.local_today(now, "UTC").unwrap(), d("2026-03-29"));
    let task = data
        .add_task(
            t(3),
            NewTask {
                title: "due Sunday".into(),
                due: Some(d("2026-03-29")),
                ..Default::default()
            },
        )
        .unwrap();
    let today = data.today(data.local_today(now, "UTC").unwrap()).unwrap();
    assert_eq!(
        today
            .due_today
            .iter()
            .map(|e| e.task.id)
            .collect::<Vec<_>>(),
        vec![task]
    );
    assert!(matches!(
        data.update_settings(
            t(4),
            SettingsPatch {
                timezone: Some("Europe/Atlantis".into()),
                ..Default::default()
            }
        ),
        Err(Error::Invalid {
            field: "timezone",
            ..
        })
    ));
}

#[test]
fn quick_add_finds_or_creates_the_project_and_reports_what_changed() {
    let mut data = UserData::create(DocumentId::generate(), t(1_000)).unwrap();
    let family = data.add_project(t(1_001), "Family").unwrap();
    let before = data.heads();
    let id = data
        .quick_add_task(
            t(2_000),
            d("2026-11-26"),
            "Call mom tomorrow #family @phone",
            AddedOn::Elsewhere,
        )
        .unwrap();
    let task = data.task(id).unwrap();
    assert_eq!(
        task.project,
        Some(family),
        "the existing project, whatever its case"
    );
    assert_eq!(task.due, Some(d("2026-11-27")));
    // Only the tasks document changed: that is what to save and sync.
    let changed = data.changed_since(&before);
    assert_eq!(changed.len(), 1);
    assert_eq!(
        data.document_mut(&changed[0]).unwrap().kind(),
        DocKind::Tasks
    );
    // A new project name makes the project.
    let id = data
        .quick_add_task(
            t(3_000),
            d("2026-11-26"),
            "Paint #house",
            AddedOn::Elsewhere,
        )
        .unwrap();
    let project = data.task(id).unwrap().project.unwrap();
    assert!(
        data.projects()
            .unwrap()
            .iter()
            .any(|p| p.id == project && p.name == "house")
    );
    // Bad lines change nothing.
    let before = data.heads();
    assert!(
        data.quick_add_task(t(4_000), d("2026-11-26"), "#work @x", AddedOn::Today)
            .is_err()
    );
    assert!(data.changed_since(&before).is_empty());
}

#[test]
fn a_task_added_on_today_without_a_date_is_planned_for_today() {
    let mut data = UserData::create(DocumentId::generate(), t(1_000)).unwrap();
    let today = d("2026-11-26");
    let add = |data: &mut UserData, line: &str, on| {
        let id = data.quick_add_task(t(2_000), today, line, on).unwrap();
        data.task(id).unwrap()
    };
    // On Today: scheduled today, on the Next list, and on Today's screen.
    let task = add(&mut data, "Buy milk", AddedOn::Today);
    assert_eq!(
        (task.scheduled, task.due, task.status),
        (Some(today), None, Status::Next)
    );
    let shown = data.today(today).unwrap();
    assert!(shown.scheduled.iter().any(|e| e.task.id == task.id));
    // A list named in the line is kept, and still planned today.
    let task = add(&mut data, "Reply to Sam +inbox", AddedOn::Today);
    assert_eq!((task.scheduled, task.status), (Some(today), Status::Inbox));
    // What the line says wins: a date, a start date, waiting or someday.
    let task = add(&mut data, "Call mom friday", AddedOn::Today);
    assert_eq!((task.scheduled, task.due), (None, Some(d("2026-11-27"))));
    let task = add(&mut data, "Taxes start:monday", AddedOn::Today);
    assert_eq!((task.scheduled, task.due), (Some(d("2026-11-30")), None));
    let task = add(&mut data, "Learn piano +someday", AddedOn::Today);
    assert_eq!((task.scheduled, task.status), (None, Status::Someday));
    let task = add(&mut data, "Parcel from Ana +waiting", AddedOn::Today);
    assert_eq!((task.scheduled, task.status), (None, Status::Waiting));
    // Anywhere else, exactly as written: the inbox, no date.
    let task = add(&mut data, "Buy bread", AddedOn::Elsewhere);
    assert_eq!(
        (task.scheduled, task.due, task.status),
        (None, None, Status::Inbox)
    );
}

#[test]
fn checklists_are_edited_through_the_task_that_holds_them() {
    let mut data = UserData::create(DocumentId::generate(), t(1)).unwrap();
    let task = data
        .add_task(
            t(2),
            NewTask {
                title: "Pack".into(),
                ..NewTask::default()
            },
        )
        .unwrap();
    let a = data.add_checklist_item(t(3), task, "Passport").unwrap();
    let b = data.add_checklist_item(t(4), task, "Charger").unwrap();
    data.update_checklist_item(t(5), task, a, None, Some(true))
        .unwrap();
    data.update_checklist_item(t(6), task, b, Some("USB-C charger"), None)
        .unwrap();
    let items = data.task(task).unwrap().checklist;
    assert_eq!(
        items
            .iter()
            .map(|i| (i.text.as_str(), i.done))
            .collect::<Vec<_>>(),
        vec![("Passport", true), ("USB-C charger", false)]
    );
    data.remove_checklist_item(t(7), task, a).unwrap();
    assert_eq!(data.task(task).unwrap().checklist.len(), 1);
    assert!(data.add_checklist_item(t(8), task, "  ").is_err());
    let missing = EntityId::generate(t(9));
    assert!(data.add_checklist_item(t(9), missing, "x").is_err());
}

fn meditate() -> NewHabit {
    NewHabit {
        name: "Meditate".into(),
        schedule: Schedule::Daily,
        kind: HabitKind::YesNo,
        start: d("2026-11-20"),
    }
}

/// An account with a habit, a category with an expense and a budget, and a
/// task; and a device's own data with the same three, entered before signing in.
fn account_joined_by_alike_local_data() -> UserData {
    let mut account = UserData::create(DocumentId::generate(), t(1)).unwrap();
    let habit = account.add_habit(t(2), meditate()).unwrap();
    account
        .check_in(
            t(2),
            habit,
            d("2026-11-24"),
            d("2026-11-26"),
            CheckInState::Done,
            None,
        )
        .unwrap();
    let transport = account.add_category(t(2), "Transport", false).unwrap();
    account
        .add_expense(
            t(2),
            NewExpense {
                amount: eur(290),
                date: d("2026-11-24"),
                category: Some(transport),
                payee: Some("Bus".into()),
                note: None,
            },
        )
        .unwrap();
    let task = NewTask {
        title: "Renew passport".into(),
        due: Some(d("2026-12-10")),
        ..Default::default()
    };
    account.add_task(t(2), task.clone()).unwrap();

    let mut local = UserData::create(DocumentId::generate(), t(3)).unwrap();
    let habit = local
        .add_habit(
            t(3),
            NewHabit {
                name: " meditate ".into(),
                start: d("2026-11-10"),
                ..meditate()
            },
        )
        .unwrap();
    for day in ["2026-11-12", "2026-11-24", "2026-11-25"] {
        local
            .check_in(
                t(3),
                habit,
                d(day),
                d("2026-11-26"),
                CheckInState::Done,
                Some("on the train"),
            )
            .unwrap();
    }
    let transport = local.add_category(t(3), "transport", false).unwrap();
    local
        .set_budget(t(3), transport, "2026-11".parse().unwrap(), Some(eur(5000)))
        .unwrap();
    local
        .add_expense(
            t(3),
            NewExpense {
                amount: eur(1200),
                date: d("2026-11-25"),
                category: Some(transport),
                payee: Some("Taxi".into()),
                note: None,
            },
        )
        .unwrap();
    let id = local.add_task(t(3), task).unwrap();
    local
        .update_task(
            t(3),
            id,
            TaskPatch {
                notes: Some("photo booth first".into()),
                add_contexts: vec!["errands".into()],
                ..Default::default()
            },
        )
        .unwrap();
    local.add_category(t(3), "Books", false).unwrap();
    account.adopt(t(4), local).unwrap();
    account
}

#[test]
fn alike_records_from_local_data_are_kept_and_offered_as_duplicates() {
    let account = account_joined_by_alike_local_data();
    // Nothing was dropped when the device's data joined.
    assert_eq!(account.habits().unwrap().len(), 2);
    assert_eq!(account.open_tasks().unwrap().len(), 2);
    let groups = account.duplicates().unwrap();
    let kinds: Vec<DuplicateKind> = groups.iter().map(|g| g.kind).collect();
    assert_eq!(
        kinds,
        [
            DuplicateKind::Habit,
            DuplicateKind::Category,
            DuplicateKind::Task
        ]
    );
    // The oldest is kept, under its own name.
    assert_eq!(groups[0].name, "Meditate");
    assert_eq!(groups[1].name, "Transport");
    assert!(groups.iter().all(|g| g.others.len() == 1));
}

#[test]
fn merging_duplicates_unites_their_history_and_converges_on_other_devices() {
    let mut account = account_joined_by_alike_local_data();
    let mut other_device = new_device(&mut account);
    for group in account.duplicates().unwrap() {
        account.merge_duplicates(t(5), &group).unwrap();
    }
    assert!(account.duplicates().unwrap().is_empty());

    let habits = account.habits().unwrap();
    assert_eq!(habits.len(), 1);
    let habit = &habits[0];
    assert_eq!(habit.name, "Meditate");
    assert_eq!(
        habit.start,
        d("2026-11-10"),
        "the earlier start, so old check-ins count"
    );
    let days: Vec<String> = habit.checkins.keys().map(|d| d.to_string()).collect();
    assert_eq!(days, ["2026-11-12", "2026-11-24", "2026-11-25"]);
    // A day checked in on both keeps the kept habit's check-in (no note).
    assert_eq!(habit.checkins[&d("2026-11-24")].note, None);
    assert_eq!(
        habit.checkins[&d("2026-11-25")].note.as_deref(),
        Some("on the train")
    );

    let live: Vec<_> = account
        .categories()
        .unwrap()
        .into_iter()
        .filter(|c| !c.deleted)
        .collect();
    let names: Vec<&str> = live.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"Transport") && names.contains(&"Books"));
    let transport = live.iter().find(|c| c.name == "Transport").unwrap();
    assert_eq!(
        transport.budgets.values().copied().collect::<Vec<_>>(),
        [eur(5000)]
    );
    let expenses = account.expenses().unwrap();
    assert_eq!(expenses.len(), 2);
    assert!(expenses.iter().all(|e| e.category == Some(transport.id)));
    let report = account.monthly_report("2026-11".parse().unwrap()).unwrap();
    let json = serde_json::to_string(&report).unwrap();
    assert!(
        !json.contains("transport\""),
        "no lowercase category left: {json}"
    );

    let tasks = account.open_tasks().unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].notes, "photo booth first");
    assert_eq!(tasks[0].contexts, ["errands"]);

    // The merge is ordinary changes: another device that merges them sees the same.
    let mut theirs = other_device.documents_mut();
    for (id, doc) in account.documents_mut() {
        let (_, mine) = theirs.iter_mut().find(|(i, _)| *i == id).unwrap();
        mine.merge(doc).unwrap();
    }
    drop(theirs);
    assert_eq!(other_device.habits().unwrap(), account.habits().unwrap());
    assert_eq!(
        other_device.open_tasks().unwrap(),
        account.open_tasks().unwrap()
    );
    assert!(other_device.duplicates().unwrap().is_empty());
}

#[test]
fn duplicates_kept_apart_are_not_offered_again_until_a_new_one_appears() {
    let mut account = account_joined_by_alike_local_data();
    let habit_group = account.duplicates().unwrap().remove(0);
    account.keep_apart(t(5), &habit_group).unwrap();
    let kinds: Vec<DuplicateKind> = account
        .duplicates()
        .unwrap()
        .iter()
        .map(|g| g.kind)
        .collect();
    assert_eq!(kinds, [DuplicateKind::Category, DuplicateKind::Task]);
    // Merging a group kept apart is refused: the offer is stale.
    let err = account.merge_duplicates(t(6), &habit_group).unwrap_err();
    assert!(err.to_string().contains("no longer alike"), "{err}");
    // A third "Meditate" makes a new group, offered again.
    account.add_habit(t(7), meditate()).unwrap();
    let groups = account.duplicates().unwrap();
    assert_eq!(groups[0].kind, DuplicateKind::Habit);
    assert_eq!(groups[0].others.len(), 2);
}

#[test]
fn different_things_with_alike_names_are_not_duplicates() {
    let mut data = UserData::create(DocumentId::generate(), t(1)).unwrap();
    data.add_habit(t(2), meditate()).unwrap();
    data.add_habit(
        t(2),
        NewHabit {
            kind: HabitKind::Numeric {
                unit: "min".into(),
                target: 10.0,
            },
            ..meditate()
        },
    )
    .unwrap();
    let task = |due: &str| NewTask {
        title: "Pay rent".into(),
        due: Some(d(due)),
        ..Default::default()
    };
    data.add_task(t(2), task("2026-12-01")).unwrap();
    data.add_task(t(2), task("2027-01-01")).unwrap();
    let done = data.add_task(t(2), task("2026-12-01")).unwrap();
    data.complete_task(t(3), done, d("2026-12-01")).unwrap();
    assert_eq!(data.duplicates().unwrap(), []);
}

#[test]
fn today_lists_what_has_a_time_first_in_time_order() {
    use crate::time::TimeOfDay;
    let mut data = UserData::create(DocumentId::generate(), t(1)).unwrap();
    let day = d("2026-11-26");
    for (title, time, important) in [
        ("untimed but important", None, true),
        ("at four", TimeOfDay::new(16, 0), false),
        ("at nine", TimeOfDay::new(9, 0), false),
    ] {
        data.add_task(
            t(2),
            NewTask {
                title: title.into(),
                due: Some(day),
                time,
                important,
                ..Default::default()
            },
        )
        .unwrap();
    }
    let titles: Vec<String> = data
        .today(day)
        .unwrap()
        .due_today
        .into_iter()
        .map(|e| e.task.title)
        .collect();
    assert_eq!(titles, ["at nine", "at four", "untimed but important"]);
}
