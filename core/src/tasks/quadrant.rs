//! The Eisenhower matrix: which quadrant a task is in.
//!
//! Importance is the user's flag. Urgency is the user's flag *or* a due date
//! within the urgency horizon (overdue counts), so a task drifts into "Do
//! first" as its deadline nears without anyone touching it, as in TickTick.

use serde::Serialize;

use crate::time::Date;

/// One of the four quadrants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Quadrant {
    /// Urgent and important.
    DoFirst,
    /// Important, not urgent.
    Schedule,
    /// Urgent, not important.
    Delegate,
    /// Neither.
    Eliminate,
}

impl Quadrant {
    /// The quadrant for these flags.
    pub fn from_flags(urgent: bool, important: bool) -> Self {
        match (urgent, important) {
            (true, true) => Quadrant::DoFirst,
            (false, true) => Quadrant::Schedule,
            (true, false) => Quadrant::Delegate,
            (false, false) => Quadrant::Eliminate,
        }
    }

    /// The flags a task moved into this quadrant gets.
    pub fn flags(&self) -> (bool, bool) {
        match self {
            Quadrant::DoFirst => (true, true),
            Quadrant::Schedule => (false, true),
            Quadrant::Delegate => (true, false),
            Quadrant::Eliminate => (false, false),
        }
    }

    /// The name used in the API and the stored form of filters.
    pub fn as_str(&self) -> &'static str {
        match self {
            Quadrant::DoFirst => "do_first",
            Quadrant::Schedule => "schedule",
            Quadrant::Delegate => "delegate",
            Quadrant::Eliminate => "eliminate",
        }
    }
}

/// Whether a task is urgent: flagged so, or due within `horizon_days` of `today` (or overdue).
pub fn is_urgent(flagged: bool, due: Option<Date>, today: Date, horizon_days: u32) -> bool {
    flagged || due.is_some_and(|due| (due - today).num_days() <= i64::from(horizon_days))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_date;

    fn d(s: &str) -> Date {
        parse_date("date", s).unwrap()
    }

    #[test]
    fn quadrants_from_flags_round_trip() {
        for q in [
            Quadrant::DoFirst,
            Quadrant::Schedule,
            Quadrant::Delegate,
            Quadrant::Eliminate,
        ] {
            let (u, i) = q.flags();
            assert_eq!(Quadrant::from_flags(u, i), q);
        }
    }

    #[test]
    fn due_dates_make_tasks_urgent_within_the_horizon() {
        let today = d("2026-02-27");
        assert!(is_urgent(false, Some(d("2026-03-01")), today, 2)); // across a month end
        assert!(!is_urgent(false, Some(d("2026-03-02")), today, 2));
        assert!(is_urgent(false, Some(d("2026-01-01")), today, 0)); // overdue
        assert!(is_urgent(false, Some(today), today, 0));
        assert!(!is_urgent(false, None, today, 365));
        assert!(is_urgent(true, None, today, 0));
    }
}
