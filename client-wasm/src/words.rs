//! What the screens say about habits, in words a person reads without a
//! manual: "1 of 3 this week", "5-day streak", "6.2 km today". Kept free of
//! the browser so every phrase is tested natively.

use lifeos_core::habits::{CheckInState, HabitKind, Schedule, StreakUnit, Streaks};

/// "1 day", "3 days".
pub fn count(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A number as people write it: no trailing `.0`, at most two decimals.
pub fn number(v: f64) -> String {
    let rounded = (v * 100.0).round() / 100.0;
    let text = format!("{rounded:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Where the habit stands in its current period: today's check-in for a
/// daily habit, "1 of 3 this week" for a weekly one.
pub fn progress(
    schedule: &Schedule,
    kind: &HabitKind,
    checkin: Option<CheckInState>,
    done: u32,
    needed: u32,
) -> String {
    let today = match (checkin, kind) {
        (Some(CheckInState::Done), _) => Some("done today".to_string()),
        (Some(CheckInState::Skipped), _) => Some("skipped today".to_string()),
        (Some(CheckInState::Value(v)), HabitKind::Numeric { unit, target }) => Some(format!(
            "{} {unit} today (target {} {unit})",
            number(v),
            number(*target)
        )),
        (Some(CheckInState::Value(v)), HabitKind::YesNo) => Some(format!("{} today", number(v))),
        (None, _) => None,
    };
    let period = match schedule {
        Schedule::Daily | Schedule::Weekdays { .. } => None,
        Schedule::TimesPerWeek { .. } => Some(format!("{done} of {needed} this week")),
        Schedule::TimesPerPeriod { days, .. } => Some(format!(
            "{done} of {needed} in this {}",
            count(*days, "day", "days")
        )),
    };
    let text = match (period, today) {
        (Some(p), Some(t)) => format!("{p}, {t}"),
        (Some(p), None) => p,
        (None, Some(t)) => t,
        (None, None) => "not yet today".to_string(),
    };
    capitalise(&text)
}

/// The streak in words: "5-day streak", "2 weeks in a row", or the best one
/// when none is running.
pub fn streak(streaks: &Streaks, schedule: &Schedule) -> String {
    let unit = |n: u32| streak_length(n, streaks, schedule);
    match (streaks.current, streaks.longest) {
        (0, 0) => "No streak yet".to_string(),
        (0, best) => format!("No streak running (best: {})", unit(best)),
        (n, best) if n == best => format!("{} in a row, the best yet", unit(n)),
        (n, best) => format!("{} in a row (best: {})", unit(n), unit(best)),
    }
}

/// `n` units of the streak: "5 days", "2 weeks", "3 periods".
pub fn streak_length(n: u32, streaks: &Streaks, schedule: &Schedule) -> String {
    match (streaks.unit, schedule) {
        (StreakUnit::Days, _) => count(n, "day", "days"),
        (StreakUnit::Periods, Schedule::TimesPerWeek { .. }) => count(n, "week", "weeks"),
        (StreakUnit::Periods, _) => count(n, "period", "periods"),
    }
}

/// What a streak counts, for the title of the streak line.
pub fn streak_meaning(streaks: &Streaks, schedule: &Schedule) -> &'static str {
    match (streaks.unit, schedule) {
        (StreakUnit::Days, _) => {
            "Days in a row the habit was done; a skipped day neither breaks nor extends it."
        }
        (StreakUnit::Periods, Schedule::TimesPerWeek { .. }) => {
            "Weeks in a row that met the target; the week under way counts once it is met."
        }
        (StreakUnit::Periods, _) => {
            "Periods in a row that met the target; the period under way counts once it is met."
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streaks(current: u32, longest: u32, unit: StreakUnit) -> Streaks {
        Streaks {
            current,
            longest,
            unit,
        }
    }

    #[test]
    fn progress_says_where_the_period_stands_and_what_today_holds() {
        let weekly = Schedule::TimesPerWeek { times: 3 };
        let yes = HabitKind::YesNo;
        assert_eq!(
            progress(&weekly, &yes, Some(CheckInState::Done), 1, 3),
            "1 of 3 this week, done today"
        );
        assert_eq!(
            progress(&weekly, &yes, Some(CheckInState::Skipped), 0, 3),
            "0 of 3 this week, skipped today"
        );
        assert_eq!(progress(&weekly, &yes, None, 2, 3), "2 of 3 this week");
        let blocks = Schedule::TimesPerPeriod { times: 2, days: 10 };
        assert_eq!(
            progress(&blocks, &yes, None, 0, 2),
            "0 of 2 in this 10 days"
        );
        assert_eq!(
            progress(&Schedule::Daily, &yes, None, 0, 1),
            "Not yet today"
        );
        let km = HabitKind::Numeric {
            unit: "km".into(),
            target: 5.0,
        };
        assert_eq!(
            progress(&Schedule::Daily, &km, Some(CheckInState::Value(6.2)), 1, 1),
            "6.2 km today (target 5 km)"
        );
    }

    #[test]
    fn streaks_say_what_they_count() {
        let daily = Schedule::Daily;
        let weekly = Schedule::TimesPerWeek { times: 3 };
        assert_eq!(
            streak(&streaks(1, 1, StreakUnit::Days), &daily),
            "1 day in a row, the best yet"
        );
        assert_eq!(
            streak(&streaks(5, 9, StreakUnit::Days), &daily),
            "5 days in a row (best: 9 days)"
        );
        assert_eq!(
            streak(&streaks(0, 2, StreakUnit::Periods), &weekly),
            "No streak running (best: 2 weeks)"
        );
        assert_eq!(
            streak(&streaks(0, 0, StreakUnit::Periods), &weekly),
            "No streak yet"
        );
    }

    #[test]
    fn numbers_and_counts_read_naturally() {
        assert_eq!(number(6.2), "6.2");
        assert_eq!(number(5.0), "5");
        assert_eq!(number(2.556), "2.56");
        assert_eq!(count(1, "day", "days"), "1 day");
        assert_eq!(count(0, "day", "days"), "0 days");
    }
}
