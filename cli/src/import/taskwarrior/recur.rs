//! Taskwarrior's `recur` values (`weekly`, `2w`, `P1M`, `quarterly`...) as
//! LifeOS repetitions. Periods shorter than a day have no equivalent and
//! give `None`, as does anything not recognised.

use chrono::Weekday;
use lifeos_core::tasks::{Recurrence, Unit};

/// The repetition `recur` describes, if LifeOS can hold it.
pub(super) fn rule(recur: &str) -> Option<Recurrence> {
    let s = recur.trim().to_lowercase();
    if s == "weekdays" {
        return Recurrence::weekdays([
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ])
        .ok();
    }
    let (n, unit) = named(&s).or_else(|| iso(&s)).or_else(|| counted(&s))?;
    Recurrence::every(n, unit, false).ok()
}

fn named(s: &str) -> Option<(u32, Unit)> {
    Some(match s {
        "daily" | "day" => (1, Unit::Day),
        "weekly" | "week" | "sennight" => (1, Unit::Week),
        "biweekly" | "fortnight" | "fortnightly" => (2, Unit::Week),
        "monthly" | "month" => (1, Unit::Month),
        "bimonthly" => (2, Unit::Month),
        "quarterly" | "quarter" => (3, Unit::Month),
        "semiannual" => (6, Unit::Month),
        "annual" | "yearly" | "year" | "annually" => (1, Unit::Year),
        "biannual" | "biyearly" => (2, Unit::Year),
        _ => return None,
    })
}

/// `P1D`, `P2W`, `P3M`, `P1Y` (one component, no time part).
fn iso(s: &str) -> Option<(u32, Unit)> {
    let body = s.strip_prefix('p')?;
    let unit = match body.chars().last()? {
        'd' => Unit::Day,
        'w' => Unit::Week,
        'm' => Unit::Month,
        'y' => Unit::Year,
        _ => return None,
    };
    let n = body[..body.len() - 1].parse().ok()?;
    Some((n, unit))
}

/// `2w`, `3 days`, `6mo`, `1q`, `2yrs`.
fn counted(s: &str) -> Option<(u32, Unit)> {
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (digits, word) = s.split_at(split);
    let n: u32 = if digits.is_empty() {
        1
    } else {
        digits.parse().ok()?
    };
    let (factor, unit) = match word.trim() {
        "d" | "day" | "days" => (1, Unit::Day),
        "w" | "wk" | "wks" | "week" | "weeks" => (1, Unit::Week),
        "mo" | "mos" | "mth" | "mths" | "month" | "months" => (1, Unit::Month),
        "q" | "qtr" | "qtrs" | "quarter" | "quarters" => (3, Unit::Month),
        "y" | "yr" | "yrs" | "year" | "years" => (1, Unit::Year),
        _ => return None,
    };
    Some((n.checked_mul(factor)?, unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taskwarrior_periods() {
        let r = |s: &str| rule(s).map(|r| r.to_string());
        assert_eq!(r("weekly").as_deref(), Some("every 1 weeks"));
        assert_eq!(r("2w").as_deref(), Some("every 2 weeks"));
        assert_eq!(r("3 days").as_deref(), Some("every 3 days"));
        assert_eq!(r("P1M").as_deref(), Some("every 1 months"));
        assert_eq!(r("quarterly").as_deref(), Some("every 3 months"));
        assert_eq!(r("2q").as_deref(), Some("every 6 months"));
        assert_eq!(r("yearly").as_deref(), Some("every 1 years"));
        assert_eq!(r("weekdays").as_deref(), Some("on mon,tue,wed,thu,fri"));
        for no in [
            "hourly",
            "2h",
            "30min",
            "0d",
            "99999999999d",
            "PT1H",
            "",
            "every day",
        ] {
            assert_eq!(r(no), None, "{no}");
        }
    }
}
