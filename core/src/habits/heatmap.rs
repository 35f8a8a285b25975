//! The calendar heatmap of a habit: one cell per day.

use serde::Serialize;

use super::{DayMark, Habit};
use crate::time::{Date, format_date};

/// What one day of the heatmap shows.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Cell {
    /// Target met.
    Done,
    /// A numeric value below the target: `level` is the fraction reached.
    Partial {
        /// 0 to 1.
        level: f64,
    },
    /// Skipped on purpose.
    Skipped,
    /// A scheduled day in the past with nothing recorded.
    Missed,
    /// Today, nothing recorded yet.
    Pending,
    /// Not asked for: before the start, after today, an unscheduled weekday,
    /// or a free day of an N-per-period habit.
    Rest,
}

/// One day of the heatmap.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeatmapDay {
    /// The day, `YYYY-MM-DD`.
    pub date: String,
    /// What it shows.
    #[serde(flatten)]
    pub cell: Cell,
}

/// The cells from `from` to `to` (inclusive) on `today`. At most 3,700 days
/// (ten years) are returned; a longer range is cut at `from + 3,700 days`.
pub fn heatmap(habit: &Habit, from: Date, to: Date, today: Date) -> Vec<HeatmapDay> {
    let first = habit.first_day();
    from.iter_days()
        .take_while(|d| *d <= to)
        .take(3_700)
        .map(|date| {
            let cell = match habit.mark(date) {
                DayMark::Done => Cell::Done,
                DayMark::Partial(level) => Cell::Partial { level },
                DayMark::Skipped => Cell::Skipped,
                DayMark::Empty if date < first || date > today => Cell::Rest,
                DayMark::Empty
                    if !habit.schedule.is_scheduled_day(date) || !habit.schedule.counts_days() =>
                {
                    Cell::Rest
                }
                DayMark::Empty if date == today => Cell::Pending,
                DayMark::Empty => Cell::Missed,
            };
            HeatmapDay {
                date: format_date(date),
                cell,
            }
        })
        .collect()
}
