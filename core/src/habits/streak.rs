//! Current and longest streaks.
//!
//! A streak counts consecutive *units* that met the schedule: days for daily
//! and weekday habits, periods (weeks, blocks of K days) for N-per-period
//! habits. A skipped day keeps a streak alive without adding to it. The unit
//! that contains today is still in progress: it adds to the streak once met
//! and never breaks it before it is over. Days before the habit started and
//! after today are outside every streak.

use serde::Serialize;

use super::{DayMark, Habit};
use crate::time::{Date, Weekday};

/// What a streak counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StreakUnit {
    /// Days (daily and weekday habits).
    Days,
    /// Periods of the schedule (weeks, or blocks of K days).
    Periods,
}

/// A habit's streaks on a given day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Streaks {
    /// The streak running up to today.
    pub current: u32,
    /// The longest streak ever, the current one included.
    pub longest: u32,
    /// What the counts count.
    pub unit: StreakUnit,
}

/// How one unit (a day or a period) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Target met: extends the streak by one.
    Met,
    /// Neither extends nor breaks (skipped, not scheduled, still in progress).
    Neutral,
    /// Target missed: breaks the streak.
    Missed,
}

/// The streaks of `habit` on `today`.
pub fn streaks(habit: &Habit, today: Date, week_start: Weekday) -> Streaks {
    let outcomes = outcomes(habit, today, week_start);
    let mut longest = 0;
    let mut run = 0;
    for o in &outcomes {
        match o {
            Outcome::Met => {
                run += 1;
                longest = longest.max(run);
            }
            Outcome::Neutral => {}
            Outcome::Missed => run = 0,
        }
    }
    let unit = if habit.schedule.counts_days() {
        StreakUnit::Days
    } else {
        StreakUnit::Periods
    };
    Streaks {
        current: run,
        longest,
        unit,
    }
}

/// The outcome of every unit from the habit's first day to today, in order.
fn outcomes(habit: &Habit, today: Date, week_start: Weekday) -> Vec<Outcome> {
    let first = habit.first_day();
    if first > today {
        return Vec::new();
    }
    let mut out = Vec::new();
    if habit.schedule.counts_days() {
        for date in first.iter_days().take_while(|d| *d <= today) {
            if !habit.schedule.is_scheduled_day(date) {
                continue;
            }
            out.push(match habit.mark(date) {
                DayMark::Done => Outcome::Met,
                DayMark::Skipped => Outcome::Neutral,
                DayMark::Partial(_) | DayMark::Empty if date == today => Outcome::Neutral,
                DayMark::Partial(_) | DayMark::Empty => Outcome::Missed,
            });
        }
        return out;
    }
    let mut date = first;
    while date <= today {
        let Some(period) = habit.schedule.period_of(first, date, week_start) else {
            break;
        };
        let (mut done, mut skipped) = (0u32, 0u32);
        for day in period
            .start
            .iter_days()
            .take_while(|d| *d <= period.end && *d <= today)
        {
            match habit.mark(day) {
                DayMark::Done => done += 1,
                DayMark::Skipped => skipped += 1,
                DayMark::Partial(_) | DayMark::Empty => {}
            }
        }
        // Skipped days lower what the period asks for.
        let needed = period.target.saturating_sub(skipped);
        out.push(if needed == 0 {
            if done > 0 {
                Outcome::Met
            } else {
                Outcome::Neutral
            }
        } else if done >= needed {
            Outcome::Met
        } else if period.end >= today {
            Outcome::Neutral
        } else {
            Outcome::Missed
        });
        date = match period.end.succ_opt() {
            Some(next) => next,
            None => break,
        };
    }
    out
}
