use super::*;
use crate::time::Weekday;

fn d(s: &str) -> Date {
    parse_date("date", s).unwrap()
}

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// A habit built in memory with check-ins given as (date, state).
fn habit(schedule: &str, kind: HabitKind, start: &str, checkins: &[(&str, CheckInState)]) -> Habit {
    let id = EntityId::derive(&["test"]);
    Habit {
        id,
        name: "h".into(),
        schedule: schedule.parse().unwrap(),
        kind,
        start: d(start),
        archived: false,
        created_at: t(0),
        checkins: checkins
            .iter()
            .map(|(date, state)| {
                (
                    d(date),
                    CheckIn {
                        id,
                        habit: id,
                        date: d(date),
                        state: *state,
                        note: None,
                    },
                )
            })
            .collect(),
    }
}

fn done_on(days: &[&str]) -> Vec<(&'static str, CheckInState)> {
    days.iter()
        .map(|s| {
            (
                Box::leak(s.to_string().into_boxed_str()) as &str,
                CheckInState::Done,
            )
        })
        .collect()
}

use CheckInState::{Done, Skipped, Value};

#[test]
fn daily_streaks_count_days_and_survive_skips() {
    let h = habit(
        "daily",
        HabitKind::YesNo,
        "2026-11-20",
        &[
            ("2026-11-20", Done),
            ("2026-11-21", Done),
            ("2026-11-22", Done),
            // 23rd missed
            ("2026-11-24", Done),
            ("2026-11-25", Skipped),
        ],
    );
    // Today (26th) has nothing yet: still in progress, not a break.
    let s = streaks(&h, d("2026-11-26"), Weekday::Mon);
    assert_eq!((s.current, s.longest, s.unit), (1, 3, StreakUnit::Days));
    // A day later, the 26th was missed: the streak is broken.
    assert_eq!(streaks(&h, d("2026-11-27"), Weekday::Mon).current, 0);
}

#[test]
fn weekday_habits_ignore_unscheduled_days() {
    // Mon/Wed/Fri; 2026-11-23 is a Monday.
    let h = habit(
        "on mon,wed,fri",
        HabitKind::YesNo,
        "2026-11-16",
        &done_on(&[
            "2026-11-16",
            "2026-11-18",
            "2026-11-20",
            "2026-11-23",
            "2026-11-25",
        ]),
    );
    let s = streaks(&h, d("2026-11-26"), Weekday::Mon);
    assert_eq!((s.current, s.longest), (5, 5));
    // Friday the 27th not done, seen on Saturday: broken.
    assert_eq!(streaks(&h, d("2026-11-28"), Weekday::Mon).current, 0);
}

#[test]
fn times_per_week_counts_weeks_across_boundaries() {
    // 3 per week, weeks start Monday. Week of Nov 9: 3 done (met, across Sat/Sun and the next
    // Monday belongs to the next week). Week of Nov 16: 2 done + 1 skip (met). Week of Nov 23: in progress.
    let h = habit(
        "3 per week",
        HabitKind::YesNo,
        "2026-11-09",
        &[
            ("2026-11-10", Done),
            ("2026-11-14", Done),
            ("2026-11-15", Done),
            ("2026-11-16", Done),
            ("2026-11-17", Skipped),
            ("2026-11-22", Done),
            ("2026-11-23", Done),
        ],
    );
    let s = streaks(&h, d("2026-11-26"), Weekday::Mon);
    assert_eq!((s.current, s.longest, s.unit), (2, 2, StreakUnit::Periods));
    // With weeks starting on Sunday the same check-ins fall differently:
    // Nov 8-14: 2 done (missed), Nov 15-21: 15,16 done + skip = met, Nov 22-28: 22,23 in progress.
    let s = streaks(&h, d("2026-11-26"), Weekday::Sun);
    assert_eq!((s.current, s.longest), (1, 1));
    // Once the current week reaches its target, it counts.
    let mut h2 = h.clone();
    h2.checkins.insert(
        d("2026-11-25"),
        CheckIn {
            id: h.id,
            habit: h.id,
            date: d("2026-11-25"),
            state: Done,
            note: None,
        },
    );
    assert_eq!(
        streaks(&h2, d("2026-11-26"), Weekday::Mon).current,
        2,
        "two of three: in progress"
    );
    h2.checkins.insert(
        d("2026-11-26"),
        CheckIn {
            id: h.id,
            habit: h.id,
            date: d("2026-11-26"),
            state: Done,
            note: None,
        },
    );
    assert_eq!(streaks(&h2, d("2026-11-26"), Weekday::Mon).current, 3);
    // A week that ended short breaks it.
    assert_eq!(streaks(&h, d("2026-11-30"), Weekday::Mon).current, 0);
}

#[test]
fn a_first_week_cut_short_asks_only_what_fits() {
    // Started Saturday with 3 per week: done Sat + Sun is enough for that week.
    let h = habit(
        "3 per week",
        HabitKind::YesNo,
        "2026-11-28",
        &done_on(&["2026-11-28", "2026-11-29"]),
    );
    assert_eq!(streaks(&h, d("2026-11-30"), Weekday::Mon).current, 1);
}

#[test]
fn times_per_period_uses_blocks_from_the_start() {
    // 2 per 3 days from Nov 1: blocks 1-3, 4-6, 7-9.
    let h = habit(
        "2 per 3 days",
        HabitKind::YesNo,
        "2026-11-01",
        &done_on(&[
            "2026-11-01",
            "2026-11-03",
            "2026-11-04",
            "2026-11-05",
            "2026-11-09",
        ]),
    );
    let s = streaks(&h, d("2026-11-09"), Weekday::Mon);
    // Block 7-9 has one so far and ends today: in progress.
    assert_eq!((s.current, s.longest), (2, 2));
    assert_eq!(streaks(&h, d("2026-11-10"), Weekday::Mon).current, 0);
}

#[test]
fn numeric_habits_meet_their_target_per_day() {
    let kind = HabitKind::Numeric {
        unit: "km".into(),
        target: 5.0,
    };
    let h = habit(
        "daily",
        kind,
        "2026-11-01",
        &[
            ("2026-11-01", Value(5.0)),
            ("2026-11-02", Value(7.5)),
            ("2026-11-03", Value(4.9)),
        ],
    );
    let s = streaks(&h, d("2026-11-04"), Weekday::Mon);
    assert_eq!((s.current, s.longest), (0, 2));
    // Below the target today is still in progress.
    let s = streaks(&h, d("2026-11-03"), Weekday::Mon);
    assert_eq!(s.current, 2);
}

#[test]
fn back_filled_check_ins_before_the_start_count() {
    let h = habit(
        "daily",
        HabitKind::YesNo,
        "2026-11-25",
        &done_on(&["2026-11-23", "2026-11-24", "2026-11-25"]),
    );
    assert_eq!(streaks(&h, d("2026-11-25"), Weekday::Mon).current, 3);
    // Check-ins in the future are ignored, and a habit starting later has no streak.
    let later = habit("daily", HabitKind::YesNo, "2026-12-01", &[]);
    assert_eq!(streaks(&later, d("2026-11-25"), Weekday::Mon).longest, 0);
}

#[test]
fn strength_follows_loops_formula() {
    // 13 daily check-ins from zero: 1 - 0.5^(13 * 1/13) = 0.5 exactly.
    let days: Vec<String> = (1..=13).map(|i| format!("2026-11-{i:02}")).collect();
    let refs: Vec<&str> = days.iter().map(String::as_str).collect();
    let h = habit("daily", HabitKind::YesNo, "2026-11-01", &done_on(&refs));
    assert!((strength(&h, d("2026-11-13")) - 0.5).abs() < 1e-9);
    // Today without a check-in does not pull the score down; yesterday's miss does.
    assert!((strength(&h, d("2026-11-14")) - 0.5).abs() < 1e-9);
    let m = 0.5f64.powf(1.0 / 13.0);
    assert!((strength(&h, d("2026-11-15")) - 0.5 * m).abs() < 1e-9);
}

#[test]
fn strength_skips_keep_the_score_and_numeric_counts_fractions() {
    let a = habit(
        "daily",
        HabitKind::YesNo,
        "2026-11-01",
        &[
            ("2026-11-01", Done),
            ("2026-11-02", Skipped),
            ("2026-11-03", Skipped),
        ],
    );
    let b = habit(
        "daily",
        HabitKind::YesNo,
        "2026-11-01",
        &[("2026-11-01", Done)],
    );
    assert!((strength(&a, d("2026-11-04")) - strength(&b, d("2026-11-02"))).abs() < 1e-12);
    let kind = HabitKind::Numeric {
        unit: "pages".into(),
        target: 20.0,
    };
    let half = habit("daily", kind, "2026-11-01", &[("2026-11-01", Value(10.0))]);
    let m = 0.5f64.powf(1.0 / 13.0);
    assert!((strength(&half, d("2026-11-01")) - 0.5 * (1.0 - m)).abs() < 1e-12);
}

#[test]
fn strength_of_n_per_week_uses_a_rolling_window() {
    // 3 per week, done Mon/Wed/Fri for four weeks: the window always holds about 3.
    let mut days = Vec::new();
    for week in 0..4 {
        for offset in [0, 2, 4] {
            days.push(format!("2026-11-{:02}", 2 + week * 7 + offset));
        }
    }
    let refs: Vec<&str> = days.iter().map(String::as_str).collect();
    let regular = habit(
        "3 per week",
        HabitKind::YesNo,
        "2026-11-02",
        &done_on(&refs),
    );
    let daily_everything = habit("daily", HabitKind::YesNo, "2026-11-02", &done_on(&refs));
    let s = strength(&regular, d("2026-11-29"));
    assert!(s > 0.35, "a habit kept to schedule grows: {s}");
    assert!(
        s > strength(&daily_everything, d("2026-11-29")),
        "judged against its own schedule"
    );
    // Manual reference: same loop written out directly.
    let m = 0.5f64.powf((3.0f64 / 7.0).sqrt() / 13.0);
    let mut score = 0.0;
    let mut window = std::collections::VecDeque::new();
    for day in d("2026-11-02")
        .iter_days()
        .take_while(|x| *x <= d("2026-11-28"))
    {
        window.push_back(if refs.contains(&format_date(day).as_str()) {
            1.0
        } else {
            0.0
        });
        if window.len() > 7 {
            window.pop_front();
        }
        let v: f64 = (window.iter().sum::<f64>() / 3.0).min(1.0);
        score = score * m + v * (1.0 - m);
    }
    assert!((s - score).abs() < 1e-9, "{s} vs {score}");
}

#[test]
fn heatmap_cells() {
    let kind = HabitKind::Numeric {
        unit: "km".into(),
        target: 4.0,
    };
    let h = habit(
        "daily",
        kind,
        "2026-11-02",
        &[
            ("2026-11-02", Value(4.0)),
            ("2026-11-03", Value(1.0)),
            ("2026-11-04", Skipped),
        ],
    );
    let cells = heatmap(&h, d("2026-11-01"), d("2026-11-07"), d("2026-11-06"));
    let states: Vec<Cell> = cells.iter().map(|c| c.cell).collect();
    assert_eq!(
        states,
        vec![
            Cell::Rest,
            Cell::Done,
            Cell::Partial { level: 0.25 },
            Cell::Skipped,
            Cell::Missed,
            Cell::Pending,
            Cell::Rest
        ]
    );
    assert_eq!(cells[0].date, "2026-11-01");
    assert_eq!(
        heatmap(&h, d("2000-01-01"), d("2100-01-01"), d("2026-11-06")).len(),
        3_700
    );
    let json = serde_json::to_value(&cells[2]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"date": "2026-11-03", "state": "partial", "level": 0.25})
    );
}

#[test]
fn due_today_depends_on_the_schedule() {
    let weekdays = habit("on mon,wed", HabitKind::YesNo, "2026-11-01", &[]);
    assert!(weekdays.is_due_on(d("2026-11-25"), Weekday::Mon)); // Wednesday
    assert!(!weekdays.is_due_on(d("2026-11-26"), Weekday::Mon)); // Thursday
    let weekly = habit(
        "2 per week",
        HabitKind::YesNo,
        "2026-11-01",
        &done_on(&["2026-11-23", "2026-11-24"]),
    );
    assert!(
        !weekly.is_due_on(d("2026-11-26"), Weekday::Mon),
        "target met this week"
    );
    assert!(
        weekly.is_due_on(d("2026-11-24"), Weekday::Mon),
        "checked in today: still shown"
    );
    assert_eq!(weekly.progress_on(d("2026-11-26"), Weekday::Mon), (2, 2));
    let mut archived = habit("daily", HabitKind::YesNo, "2026-11-01", &[]);
    archived.archived = true;
    assert!(!archived.is_due_on(d("2026-11-26"), Weekday::Mon));
}

#[test]
fn habit_document_round_trip_and_check_ins() {
    let mut doc = HabitsDoc::new();
    let id = doc
        .add_habit(
            t(1),
            NewHabit {
                name: "Run".into(),
                schedule: "3 per week".parse().unwrap(),
                kind: HabitKind::Numeric {
                    unit: "km".into(),
                    target: 5.0,
                },
                start: d("2026-11-01"),
            },
        )
        .unwrap();
    let c = doc
        .check_in(
            t(2),
            id,
            d("2026-11-25"),
            d("2026-11-26"),
            Value(6.5),
            Some("windy"),
        )
        .unwrap();
    assert_eq!(c.state, Value(6.5));
    assert_eq!(c.note.as_deref(), Some("windy"));
    assert_eq!(
        c.id,
        EntityId::derive(&["checkin", &id.to_string(), "2026-11-25"])
    );
    doc.check_in(t(3), id, d("2026-11-26"), d("2026-11-26"), Skipped, None)
        .unwrap();
    let bytes = doc.doc_mut().save();
    let loaded = HabitsDoc::from_doc(LifeDoc::load(DocKind::Habits, &bytes).unwrap()).unwrap();
    let h = loaded.habit(id).unwrap();
    assert_eq!(h.checkins.len(), 2);
    assert_eq!(
        h.kind,
        HabitKind::Numeric {
            unit: "km".into(),
            target: 5.0
        }
    );
    doc.clear_check_in(t(4), id, d("2026-11-25")).unwrap();
    assert_eq!(doc.habit(id).unwrap().checkins.len(), 1);
    doc.update_habit(
        t(5),
        id,
        HabitPatch {
            archived: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(doc.habit(id).unwrap().archived);
    doc.delete_habit(t(6), id).unwrap();
    assert!(doc.habits().unwrap().is_empty());
}

#[test]
fn habit_bad_input() {
    let mut doc = HabitsDoc::new();
    let new = |kind| NewHabit {
        name: "x".into(),
        schedule: Schedule::Daily,
        kind,
        start: d("2026-11-01"),
    };
    assert!(matches!(
        doc.add_habit(
            t(1),
            NewHabit {
                name: " ".into(),
                ..new(HabitKind::YesNo)
            }
        ),
        Err(Error::Invalid { field: "name", .. })
    ));
    assert!(matches!(
        doc.add_habit(
            t(1),
            new(HabitKind::Numeric {
                unit: "km".into(),
                target: 0.0
            })
        ),
        Err(Error::Invalid {
            field: "target",
            ..
        })
    ));
    assert!(matches!(
        doc.add_habit(
            t(1),
            new(HabitKind::Numeric {
                unit: "km".into(),
                target: f64::NAN
            })
        ),
        Err(Error::Invalid {
            field: "target",
            ..
        })
    ));
    let yes = doc.add_habit(t(1), new(HabitKind::YesNo)).unwrap();
    let num = doc
        .add_habit(
            t(1),
            new(HabitKind::Numeric {
                unit: "km".into(),
                target: 1.0,
            }),
        )
        .unwrap();
    let today = d("2026-11-26");
    assert!(matches!(
        doc.check_in(t(2), yes, d("2026-11-27"), today, Done, None),
        Err(Error::Invalid { field: "date", .. })
    ));
    assert!(matches!(
        doc.check_in(t(2), yes, today, today, Value(1.0), None),
        Err(Error::Invalid { field: "value", .. })
    ));
    assert!(matches!(
        doc.check_in(t(2), num, today, today, Done, None),
        Err(Error::Invalid { field: "value", .. })
    ));
    for bad in [-1.0, f64::INFINITY, f64::NAN, 1e13] {
        assert!(
            matches!(
                doc.check_in(t(2), num, today, today, Value(bad), None),
                Err(Error::Invalid { field: "value", .. })
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        doc.check_in(t(2), num, today, today, Value(1.0), Some(&"x".repeat(2001))),
        Err(Error::Invalid { field: "note", .. })
    ));
    assert!(
        doc.habit(num).unwrap().checkins.is_empty(),
        "nothing written by refused check-ins"
    );
}

#[test]
fn concurrent_check_ins_merge_per_day() {
    let mut origin = HabitsDoc::new();
    let id = origin
        .add_habit(
            t(1),
            NewHabit {
                name: "Read".into(),
                schedule: Schedule::Daily,
                kind: HabitKind::YesNo,
                start: d("2026-11-01"),
            },
        )
        .unwrap();
    let bytes = origin.doc_mut().save();
    let mut a = HabitsDoc::from_doc(LifeDoc::load(DocKind::Habits, &bytes).unwrap()).unwrap();
    let mut b = HabitsDoc::from_doc(LifeDoc::load(DocKind::Habits, &bytes).unwrap()).unwrap();
    let today = d("2026-11-26");
    a.check_in(t(2), id, d("2026-11-24"), today, Done, None)
        .unwrap();
    a.check_in(t(2), id, d("2026-11-26"), today, Done, None)
        .unwrap();
    b.check_in(t(3), id, d("2026-11-25"), today, Done, Some("on the train"))
        .unwrap();
    b.check_in(t(3), id, d("2026-11-26"), today, Skipped, None)
        .unwrap();
    a.doc_mut().merge(b.doc_mut()).unwrap();
    b.doc_mut().merge(a.doc_mut()).unwrap();
    let (ha, hb) = (a.habit(id).unwrap(), b.habit(id).unwrap());
    assert_eq!(ha, hb);
    assert_eq!(ha.checkins.len(), 3, "one check-in per day, every day kept");
    assert_eq!(
        ha.checkins[&d("2026-11-25")].note.as_deref(),
        Some("on the train")
    );
}

#[test]
fn the_later_rename_of_a_habit_wins_on_both_devices() {
    for later_on_b in [false, true] {
        let mut origin = HabitsDoc::new();
        let id = origin
            .add_habit(
                t(1),
                NewHabit {
                    name: "Read".into(),
                    schedule: Schedule::Daily,
                    kind: HabitKind::YesNo,
                    start: d("2026-11-01"),
                },
            )
            .unwrap();
        let bytes = origin.doc_mut().save();
        let load = || HabitsDoc::from_doc(LifeDoc::load(DocKind::Habits, &bytes).unwrap()).unwrap();
        let (mut a, mut b) = (load(), load());
        let rename = |doc: &mut HabitsDoc, ms, name: &str| {
            let patch = HabitPatch {
                name: Some(name.into()),
                ..Default::default()
            };
            doc.update_habit(t(ms), id, patch).unwrap();
        };
        let (first, second) = if later_on_b {
            (&mut a, &mut b)
        } else {
            (&mut b, &mut a)
        };
        rename(first, 10, "Read fiction");
        rename(second, 20, "Read 20 pages");
        a.doc_mut().merge(b.doc_mut()).unwrap();
        b.doc_mut().merge(a.doc_mut()).unwrap();
        assert_eq!(a.habit(id).unwrap().name, "Read 20 pages");
        assert_eq!(b.habits().unwrap()[0].name, "Read 20 pages");
    }
}
