//! The daily planner: what needs attention today.
//!
//! Computed from plain slices so that every client (and the relay's
//! `/api/v1/today`) gets the same answer from the same data.

use serde::Serialize;

use crate::finance::Expense;
use crate::habits::{CheckInState, Habit, Streaks, streaks, strength};
use crate::money::Totals;
use crate::root::Settings;
use crate::tasks::{Quadrant, Task};
use crate::time::Date;

/// A task in the Today view, with its quadrant for today.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TodayTask {
    /// The task.
    #[serde(flatten)]
    pub task: Task,
    /// Its Eisenhower quadrant today.
    pub quadrant: Quadrant,
}

/// A habit in the Today view.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TodayHabit {
    /// The habit (with its check-ins).
    #[serde(skip)]
    pub habit: Habit,
    /// Its id.
    pub id: crate::EntityId,
    /// Its name.
    pub name: String,
    /// Today's check-in, if any.
    pub checkin: Option<CheckInState>,
    /// Check-ins that met the target in the current period (today, for daily habits).
    pub done_in_period: u32,
    /// Check-ins the current period asks for.
    pub needed_in_period: u32,
    /// Current and longest streak.
    pub streaks: Streaks,
    /// Strength score, 0 to 1.
    pub strength: f64,
}

/// Everything the Today screen shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Today {
    /// The day.
    pub date: Date,
    /// Open tasks due before today, oldest first.
    pub overdue: Vec<TodayTask>,
    /// Open tasks due today, most pressing quadrant first.
    pub due_today: Vec<TodayTask>,
    /// Open tasks scheduled for today or earlier, not already listed above.
    pub scheduled: Vec<TodayTask>,
    /// Habits that ask for something today.
    pub habits: Vec<TodayHabit>,
    /// Today's expenses.
    pub expenses: Vec<Expense>,
    /// Today's spending, per currency.
    pub spent: Totals,
}

/// Builds the Today view for `date`. `expenses` may hold any dates.
pub fn today<'a>(
    date: Date,
    settings: &Settings,
    tasks: &[Task],
    habits: &[Habit],
    expenses: impl IntoIterator<Item = &'a Expense>,
) -> Today {
    let horizon = settings.urgent_within_days;
    let entry = |t: &Task| TodayTask {
        task: t.clone(),
        quadrant: t.quadrant(date, horizon),
    };
    let rank = |q: Quadrant| match q {
        Quadrant::DoFirst => 0,
        Quadrant::Schedule => 1,
        Quadrant::Delegate => 2,
        Quadrant::Eliminate => 3,
    };
    let mut overdue = Vec::new();
    let mut due_today = Vec::new();
    let mut scheduled = Vec::new();
    for t in tasks.iter().filter(|t| t.is_open()) {
        match (t.due, t.scheduled) {
            (Some(due), _) if due < date => overdue.push(entry(t)),
            (Some(due), _) if due == date => due_today.push(entry(t)),
            (_, Some(s)) if s <= date => scheduled.push(entry(t)),
            _ => {}
        }
    }
    overdue.sort_by_key(|e| (e.task.due, rank(e.quadrant), e.task.created_at));
    // What has a time of day comes first, in time order, as on a calendar.
    let timed = |e: &TodayTask| (e.task.time.is_none(), e.task.time);
    due_today.sort_by_key(|e| (timed(e), rank(e.quadrant), e.task.created_at));
    scheduled.sort_by_key(|e| {
        let at = e.task.time.filter(|_| e.task.scheduled == Some(date));
        (
            at.is_none(),
            at,
            rank(e.quadrant),
            e.task.scheduled,
            e.task.created_at,
        )
    });

    let habits = habits
        .iter()
        .filter(|h| h.is_due_on(date, settings.week_start))
        .map(|h| {
            let (done, needed) = h.progress_on(date, settings.week_start);
            TodayHabit {
                habit: h.clone(),
                id: h.id,
                name: h.name.clone(),
                checkin: h.checkins.get(&date).map(|c| c.state),
                done_in_period: done,
                needed_in_period: needed,
                streaks: streaks(h, date, settings.week_start),
                strength: strength(h, date),
            }
        })
        .collect();

    let mut spent = Totals::default();
    let mut todays = Vec::new();
    for e in expenses.into_iter().filter(|e| e.date == date) {
        spent.add(e.amount);
        todays.push(e.clone());
    }
    todays.sort_by_key(|e| e.created_at);
    Today {
        date,
        overdue,
        due_today,
        scheduled,
        habits,
        expenses: todays,
        spent,
    }
}
