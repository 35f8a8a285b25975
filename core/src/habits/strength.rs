//! Loop Habit Tracker's habit strength score.
//!
//! `multiplier = 0.5 ^ (sqrt(frequency) / 13)` with `frequency = times / days`;
//! each day `score = score × multiplier + value × (1 − multiplier)`, where
//! `value` is how much of the schedule's target was met: for daily and weekday
//! habits the day's own progress (numeric habits: the fraction of the target,
//! capped at 1), for N-per-period habits the progress over the trailing window
//! of the period's length divided by N, capped at 1. Skipped days, and days a
//! weekday habit is not scheduled, leave the score as it is. Today counts only
//! once it has a check-in, so the score does not dip every morning.

use super::{DayMark, Habit};
use crate::habits::Schedule;
use crate::time::Date;

/// The strength of `habit` on `today`, between 0 and 1.
pub fn strength(habit: &Habit, today: Date) -> f64 {
    let first = habit.first_day();
    if first > today {
        return 0.0;
    }
    let multiplier = 0.5f64.powf(habit.schedule.frequency().sqrt() / 13.0);
    let (times, window) = match habit.schedule {
        Schedule::TimesPerWeek { times } => (f64::from(times), 7usize),
        Schedule::TimesPerPeriod { times, days } => (f64::from(times), days as usize),
        Schedule::Daily | Schedule::Weekdays { .. } => (1.0, 1),
    };
    let last = if habit.checkins.contains_key(&today) {
        today
    } else {
        today.pred_opt().unwrap_or(today)
    };
    let mut score = 0.0f64;
    // Progress of the last `window` days, as a ring buffer with a running sum.
    let mut ring = vec![0.0f64; window];
    let mut sum = 0.0f64;
    for (i, date) in first.iter_days().take_while(|d| *d <= last).enumerate() {
        let mark = habit.mark(date);
        let progress = mark.progress();
        let slot = i % window;
        sum += progress - ring[slot];
        ring[slot] = progress;
        if matches!(mark, DayMark::Skipped) || !habit.schedule.is_scheduled_day(date) {
            continue;
        }
        let value = (sum / times).min(1.0);
        score = score * multiplier + value * (1.0 - multiplier);
    }
    score.clamp(0.0, 1.0)
}
