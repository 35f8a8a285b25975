//! Recurrence rules of repeating tasks, and the one way the next occurrence is found.
//!
//! A repeating task is one entity whose current occurrence is *derived*: its
//! `completions` map records `occurrence date → completion date`, and the
//! current occurrence follows from the rule, the anchor (the first occurrence)
//! and the latest completion. Completing the same occurrence on two offline
//! devices writes the same key twice, so after merging there is exactly one
//! next occurrence, never two (docs/schema.md, "Repeating tasks").
//!
//! Stored form (one string, so a rule is replaced whole, never half-merged):
//! `every 2 weeks`, `every 1 months after completion`, `on mon,thu`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::time::{Date, Datelike, Weekday, add_months};

/// The unit of an interval rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Calendar days.
    Day,
    /// Weeks of seven days.
    Week,
    /// Calendar months; the day of the month follows the anchor, clamped at month end.
    Month,
    /// Calendar years (29 February falls back to 28 February).
    Year,
}

/// When a repeating task comes back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Recurrence {
    /// Every `n` units. From the schedule (the anchor) unless `after_completion`,
    /// in which case the next occurrence is `n` units after the day it was done.
    Every {
        /// How many units between occurrences, 1 to 1,000.
        n: u32,
        /// The unit.
        unit: Unit,
        /// Count from the completion date instead of the schedule.
        after_completion: bool,
    },
    /// On each of these weekdays.
    Weekdays {
        /// The chosen weekdays, Monday first.
        days: Vec<Weekday>,
    },
}

const MAX_INTERVAL: u32 = 1000;

impl Recurrence {
    /// A validated interval rule.
    pub fn every(n: u32, unit: Unit, after_completion: bool) -> Result<Self> {
        if n == 0 || n > MAX_INTERVAL {
            return Err(Error::invalid(
                "recurrence",
                format!("the interval must be 1 to {MAX_INTERVAL}"),
            ));
        }
        Ok(Recurrence::Every {
            n,
            unit,
            after_completion,
        })
    }

    /// A validated weekday rule.
    pub fn weekdays(days: impl IntoIterator<Item = Weekday>) -> Result<Self> {
        let set: BTreeSet<u32> = days.into_iter().map(|d| d.num_days_from_monday()).collect();
        if set.is_empty() {
            return Err(Error::invalid("recurrence", "choose at least one weekday"));
        }
        let days = set
            .into_iter()
            .map(|n| Weekday::try_from(n as u8).expect("0..7 from num_days_from_monday"))
            .collect();
        Ok(Recurrence::Weekdays { days })
    }

    /// The occurrence that follows occurrence `occurrence` (anchored at `anchor`),
    /// completed on `completed_on`. Never on or before `occurrence`, and for
    /// schedule-based rules never on or before `completed_on` either: finishing a
    /// weekly review three weeks late brings back one review, not three.
    pub fn next(&self, anchor: Date, occurrence: Date, completed_on: Date) -> Option<Date> {
        let floor = occurrence.max(completed_on);
        match self {
            Recurrence::Every {
                n,
                unit,
                after_completion: true,
            } => step(completed_on, *n, *unit, 1),
            Recurrence::Every {
                n,
                unit,
                after_completion: false,
            } => first_scheduled_after(anchor, *n, *unit, floor),
            Recurrence::Weekdays { days } => (1..=7)
                .filter_map(|i| floor.checked_add_days(chrono::Days::new(i)))
                .find(|d| days.contains(&d.weekday())),
        }
    }

    /// Whether `date` is an occurrence of a schedule-based rule anchored at `anchor`.
    pub fn occurs_on(&self, anchor: Date, date: Date) -> bool {
        if date < anchor {
            return false;
        }
        match self {
            Recurrence::Every {
                after_completion: true,
                ..
            } => date == anchor,
            Recurrence::Every { n, unit, .. } => {
                let prev = date.pred_opt().unwrap_or(date);
                date == anchor || first_scheduled_after(anchor, *n, *unit, prev) == Some(date)
            }
            Recurrence::Weekdays { days } => days.contains(&date.weekday()),
        }
    }
}

/// `from` plus `k × n` units.
fn step(from: Date, n: u32, unit: Unit, k: u64) -> Option<Date> {
    let n = u64::from(n).checked_mul(k)?;
    match unit {
        Unit::Day => from.checked_add_days(chrono::Days::new(n)),
        Unit::Week => from.checked_add_days(chrono::Days::new(n.checked_mul(7)?)),
        Unit::Month => add_months(from, u32::try_from(n).ok()?),
        Unit::Year => add_months(from, u32::try_from(n.checked_mul(12)?).ok()?),
    }
}

/// The first date `anchor + k·n units` (k ≥ 1) strictly after `after`. Months and
/// years are counted from the anchor each time, so 31 January, monthly, gives
/// 28 February and then 31 March, not 28 March.
fn first_scheduled_after(anchor: Date, n: u32, unit: Unit, after: Date) -> Option<Date> {
    if after < anchor {
        return Some(anchor);
    }
    let days_between = u64::try_from((after - anchor).num_days()).ok()?;
    let approx_unit_days: u64 = match unit {
        Unit::Day => 1,
        Unit::Week => 7,
        Unit::Month => 28,
        Unit::Year => 365,
    };
    // Start from a lower bound of k and walk forward; at most a few steps.
    let mut k = (days_between / (approx_unit_days * u64::from(n)))
        .saturating_sub(1)
        .max(1);
    loop {
        let candidate = step(anchor, n, unit, k)?;
        if candidate > after {
            return Some(candidate);
        }
        k += 1;
    }
}

impl fmt::Display for Recurrence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recurrence::Every {
                n,
                unit,
                after_completion,
            } => {
                let unit = match unit {
                    Unit::Day => "days",
                    Unit::Week => "weeks",
                    Unit::Month => "months",
                    Unit::Year => "years",
                };
                write!(f, "every {n} {unit}")?;
                if *after_completion {
                    f.write_str(" after completion")?;
                }
                Ok(())
            }
            Recurrence::Weekdays { days } => {
                let names: Vec<&str> = days.iter().map(|d| weekday_name(*d)).collect();
                write!(f, "on {}", names.join(","))
            }
        }
    }
}

impl FromStr for Recurrence {
    type Err = Error;
    /// Parses the stored form written by `Display`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid("recurrence", format!("{s:?} is not a recurrence rule"));
        if let Some(list) = s.strip_prefix("on ") {
            let days = list
                .split(',')
                .map(|d| parse_weekday(d.trim()).ok_or_else(bad))
                .collect::<Result<Vec<_>>>()?;
            return Recurrence::weekdays(days);
        }
        let rest = s.strip_prefix("every ").ok_or_else(bad)?;
        let (rest, after_completion) = match rest.strip_suffix(" after completion") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let (n, unit) = rest.split_once(' ').ok_or_else(bad)?;
        let n: u32 = n.parse().map_err(|_| bad())?;
        let unit = match unit {
            "day" | "days" => Unit::Day,
            "week" | "weeks" => Unit::Week,
            "month" | "months" => Unit::Month,
            "year" | "years" => Unit::Year,
            _ => return Err(bad()),
        };
        Recurrence::every(n, unit, after_completion)
    }
}

/// Three-letter lowercase English weekday name, as stored.
pub fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

/// Parses a stored three-letter weekday name.
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_date;

    fn d(s: &str) -> Date {
        parse_date("date", s).unwrap()
    }

    #[test]
    fn stored_form_round_trips() {
        for s in [
            "every 1 days",
            "every 2 weeks",
            "every 3 months after completion",
            "every 1 years",
            "on mon,thu,sun",
        ] {
            assert_eq!(s.parse::<Recurrence>().unwrap().to_string(), s);
        }
        assert_eq!(
            "on thu,mon,mon".parse::<Recurrence>().unwrap().to_string(),
            "on mon,thu"
        );
        for bad in [
            "every 0 days",
            "every 1001 days",
            "every -1 days",
            "every 2 fortnights",
            "on",
            "on funday",
            "daily",
            "",
        ] {
            assert!(bad.parse::<Recurrence>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn monthly_keeps_the_anchor_day_across_short_months() {
        let r = Recurrence::every(1, Unit::Month, false).unwrap();
        let anchor = d("2026-01-31");
        let feb = r.next(anchor, anchor, anchor).unwrap();
        assert_eq!(feb, d("2026-02-28"));
        let mar = r.next(anchor, feb, feb).unwrap();
        assert_eq!(mar, d("2026-03-31"));
        assert_eq!(r.next(anchor, mar, mar), Some(d("2026-04-30")));
        // Leap year.
        let leap = d("2024-01-31");
        assert_eq!(r.next(leap, leap, leap), Some(d("2024-02-29")));
    }

    #[test]
    fn yearly_on_leap_day() {
        let r = Recurrence::every(1, Unit::Year, false).unwrap();
        let anchor = d("2024-02-29");
        let next = r.next(anchor, anchor, anchor).unwrap();
        assert_eq!(next, d("2025-02-28"));
        let after = r.next(anchor, d("2027-02-28"), d("2027-02-28")).unwrap();
        assert_eq!(after, d("2028-02-29"));
    }

    #[test]
    fn late_completion_brings_back_one_occurrence() {
        let weekly = Recurrence::every(1, Unit::Week, false).unwrap();
        let anchor = d("2026-11-02"); // a Monday
        // Done 3 weeks late on a Wednesday: the next is the following Monday.
        assert_eq!(
            weekly.next(anchor, anchor, d("2026-11-25")),
            Some(d("2026-11-30"))
        );
        // Done early: the next is one week after the occurrence.
        assert_eq!(
            weekly.next(anchor, d("2026-11-30"), d("2026-11-26")),
            Some(d("2026-12-07"))
        );
    }

    #[test]
    fn after_completion_counts_from_the_day_done() {
        let r = Recurrence::every(10, Unit::Day, true).unwrap();
        assert_eq!(
            r.next(d("2026-01-01"), d("2026-01-01"), d("2026-01-05")),
            Some(d("2026-01-15"))
        );
    }

    #[test]
    fn weekdays_rule() {
        let r = Recurrence::weekdays([Weekday::Mon, Weekday::Thu]).unwrap();
        let mon = d("2026-11-23");
        assert_eq!(r.next(mon, mon, mon), Some(d("2026-11-26")));
        assert_eq!(
            r.next(mon, d("2026-11-26"), d("2026-11-26")),
            Some(d("2026-11-30"))
        );
        assert!(r.occurs_on(mon, d("2026-11-26")));
        assert!(!r.occurs_on(mon, d("2026-11-25")));
        assert!(Recurrence::weekdays([]).is_err());
    }

    #[test]
    fn occurs_on_interval_rules() {
        let r = Recurrence::every(3, Unit::Day, false).unwrap();
        let a = d("2026-12-30");
        assert!(r.occurs_on(a, a));
        assert!(r.occurs_on(a, d("2027-01-02")));
        assert!(!r.occurs_on(a, d("2027-01-01")));
        assert!(!r.occurs_on(a, d("2026-12-27")));
    }

    #[test]
    fn far_future_steps_stay_fast_and_exact() {
        let r = Recurrence::every(1, Unit::Day, false).unwrap();
        let anchor = d("2000-01-01");
        assert_eq!(
            r.next(anchor, anchor, d("2026-11-26")),
            Some(d("2026-11-27"))
        );
    }
}
