//! Todoist's DATE column: the words people gave Todoist, as far as LifeOS
//! can hold them. Absolute dates become due dates; repeating dates become
//! repetitions, starting on the next matching day; anything else is
//! reported as not understood (the importer keeps the text in the notes),
//! never guessed. Only a date that looks like `YYYY-MM-DD` and is not a day
//! of the calendar is an error: the file is damaged there.

use chrono::{Datelike, NaiveDate, Weekday};
use lifeos_core::tasks::{Recurrence, Unit};
use lifeos_core::time::Date;

/// What a DATE says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum When {
    /// Nothing.
    Never,
    /// Due on a day.
    Due(Date),
    /// Repeats; `first` is the first occurrence (today or later).
    Repeats {
        /// The rule.
        rule: Recurrence,
        /// The first occurrence.
        first: Date,
    },
    /// Words LifeOS cannot hold (`every 3rd friday`, `next tuesday`).
    NotUnderstood,
}

/// Reads a DATE cell; an error is a message about the cell.
pub(crate) fn read(text: &str, today: Date) -> Result<When, String> {
    let lower = text.trim().to_lowercase();
    if lower.is_empty() {
        return Ok(When::Never);
    }
    let words = without_time(&lower);
    if let Some(rest) = words.strip_prefix("every!") {
        return Ok(repeating(rest.trim(), true, today));
    }
    if let Some(rest) = words.strip_prefix("every ") {
        return Ok(repeating(rest.trim(), false, today));
    }
    if let Some(rule) = match words {
        "daily" => Some("day"),
        "weekly" => Some("week"),
        "monthly" => Some("month"),
        "yearly" | "annually" => Some("year"),
        _ => None,
    } {
        return Ok(repeating(rule, false, today));
    }
    if let Some(date) = iso_prefix(&lower)? {
        return Ok(When::Due(date));
    }
    let relative = match words {
        "today" | "tod" => Some(today),
        "tomorrow" | "tom" | "tmr" => today.succ_opt(),
        "yesterday" => today.pred_opt(),
        _ => None,
    };
    if let Some(d) = relative {
        return Ok(When::Due(d));
    }
    for format in [
        "%b %d %Y",
        "%d %b %Y",
        "%b %d, %Y",
        "%B %d %Y",
        "%d %B %Y",
        "%B %d, %Y",
    ] {
        if let Ok(d) = NaiveDate::parse_from_str(words, format) {
            return Ok(When::Due(d));
        }
    }
    Ok(When::NotUnderstood)
}

/// `2026-12-01`, `2026-12-01 15:30`, `2026-12-01T15:30:00Z`: the date.
fn iso_prefix(s: &str) -> Result<Option<Date>, String> {
    let Some(head) = s.get(..10) else {
        return Ok(None);
    };
    let shaped = head.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        _ => b.is_ascii_digit(),
    });
    let rest = &s[10..];
    if !shaped || !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('t')) {
        return Ok(None);
    }
    NaiveDate::parse_from_str(head, "%Y-%m-%d")
        .map(Some)
        .map_err(|_| format!("{head:?} is not a day of the calendar"))
}

/// The words without a trailing time: `every monday at 9am` is `every monday`.
fn without_time(s: &str) -> &str {
    let s = match s.find(" at ") {
        Some(i) => &s[..i],
        None => s,
    };
    match s.rsplit_once(' ') {
        Some((head, last)) if is_clock(last) => head.trim_end(),
        _ => s,
    }
}

/// `9am`, `9:30pm`, `15:30`.
fn is_clock(word: &str) -> bool {
    let digits = word
        .strip_suffix("am")
        .or_else(|| word.strip_suffix("pm"))
        .unwrap_or(word);
    let has_suffix = digits.len() != word.len();
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == ':')
        && (has_suffix || digits.contains(':'))
}

/// The words after `every` (`every!` counts from completion).
fn repeating(rest: &str, after_completion: bool, today: Date) -> When {
    let rest = rest.strip_prefix("the ").unwrap_or(rest);
    let (n, unit_word) = match rest.split_once(' ') {
        Some(("other", u)) => (Some(2), u),
        Some((count, u)) => match count.parse::<u32>() {
            Ok(n) => (Some(n), u),
            Err(_) => (None, rest),
        },
        None => (None, rest),
    };
    if let Some(unit) = unit(unit_word) {
        return match Recurrence::every(n.unwrap_or(1), unit, after_completion) {
            Ok(rule) => When::Repeats { rule, first: today },
            Err(_) => When::NotUnderstood,
        };
    }
    if n.is_some() {
        return When::NotUnderstood;
    }
    if let Some(day) = day_of_month(rest) {
        return match next_day_of_month(today, day) {
            Some(first) => Recurrence::every(1, Unit::Month, after_completion)
                .map_or(When::NotUnderstood, |rule| When::Repeats { rule, first }),
            None => When::NotUnderstood,
        };
    }
    let days = match rest {
        "weekday" | "workday" | "work day" => Some(vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ]),
        "weekend" => Some(vec![Weekday::Sat, Weekday::Sun]),
        _ => rest
            .split([',', ' '])
            .filter(|w| !w.is_empty() && *w != "and")
            .map(weekday)
            .collect::<Option<Vec<_>>>(),
    };
    match days.map(Recurrence::weekdays) {
        Some(Ok(rule)) => {
            let first = today
                .iter_days()
                .take(7)
                .find(|d| match &rule {
                    Recurrence::Weekdays { days } => days.contains(&d.weekday()),
                    Recurrence::Every { .. } => true,
                })
                .unwrap_or(today);
            When::Repeats { rule, first }
        }
        _ => When::NotUnderstood,
    }
}

fn unit(word: &str) -> Option<Unit> {
    Some(match word {
        "day" | "days" => Unit::Day,
        "week" | "weeks" => Unit::Week,
        "month" | "months" => Unit::Month,
        "year" | "years" => Unit::Year,
        _ => return None,
    })
}

fn weekday(word: &str) -> Option<Weekday> {
    Some(match word {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tues" | "tuesday" => Weekday::Tue,
        "wed" | "weds" | "wednesday" => Weekday::Wed,
        "thu" | "thur" | "thurs" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        _ => return None,
    })
}

/// `1st`, `2nd`, `15th`, `31st`: the day of the month.
fn day_of_month(word: &str) -> Option<u32> {
    let digits = ["st", "nd", "rd", "th"]
        .iter()
        .find_map(|s| word.strip_suffix(s))?;
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

/// The first date on or after `today` that is day `day` of its month.
fn next_day_of_month(today: Date, day: u32) -> Option<Date> {
    let mut month_start = today.with_day(1)?;
    for _ in 0..24 {
        if let Some(d) = month_start.with_day(day)
            && d >= today
        {
            return Some(d);
        }
        month_start = month_start.checked_add_months(chrono::Months::new(1))?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plus(d: Date, n: u64) -> Date {
        d.checked_add_days(chrono::Days::new(n)).unwrap()
    }

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    // A Thursday.
    fn today() -> Date {
        d("2026-11-26")
    }

    fn every(n: u32, unit: Unit, after: bool) -> Recurrence {
        Recurrence::every(n, unit, after).unwrap()
    }

    #[test]
    fn absolute_and_relative_dates() {
        let t = today();
        assert_eq!(read("", t), Ok(When::Never));
        assert_eq!(read("2026-12-01", t), Ok(When::Due(d("2026-12-01"))));
        assert_eq!(read("2026-12-01 15:30", t), Ok(When::Due(d("2026-12-01"))));
        assert_eq!(
            read("2026-12-01T15:30:00Z", t),
            Ok(When::Due(d("2026-12-01")))
        );
        assert_eq!(read("Oct 5 2026", t), Ok(When::Due(d("2026-10-05"))));
        assert_eq!(read("5 October 2026", t), Ok(When::Due(d("2026-10-05"))));
        assert_eq!(read("Tomorrow", t), Ok(When::Due(plus(t, 1))));
        assert_eq!(read("today at 9am", t), Ok(When::Due(t)));
        assert_eq!(read("next tuesday at noon", t), Ok(When::NotUnderstood));
        assert_eq!(
            read("2026-02-30", t),
            Err("\"2026-02-30\" is not a day of the calendar".into())
        );
    }

    #[test]
    fn repeating_dates_become_rules_from_the_next_matching_day() {
        let t = today();
        let rep = |rule, first| Ok(When::Repeats { rule, first });
        assert_eq!(read("every day", t), rep(every(1, Unit::Day, false), t));
        assert_eq!(read("daily", t), rep(every(1, Unit::Day, false), t));
        assert_eq!(
            read("every 2 weeks", t),
            rep(every(2, Unit::Week, false), t)
        );
        assert_eq!(
            read("every other month", t),
            rep(every(2, Unit::Month, false), t)
        );
        assert_eq!(read("every! 3 days", t), rep(every(3, Unit::Day, true), t));
        assert_eq!(read("every year", t), rep(every(1, Unit::Year, false), t));
        assert_eq!(
            read("every monday at 9am", t),
            rep(
                Recurrence::weekdays([Weekday::Mon]).unwrap(),
                d("2026-11-30")
            )
        );
        assert_eq!(
            read("every mon, thu", t),
            rep(
                Recurrence::weekdays([Weekday::Mon, Weekday::Thu]).unwrap(),
                t
            )
        );
        assert_eq!(
            read("every weekday", t),
            rep(
                Recurrence::weekdays([
                    Weekday::Mon,
                    Weekday::Tue,
                    Weekday::Wed,
                    Weekday::Thu,
                    Weekday::Fri
                ])
                .unwrap(),
                t
            )
        );
        assert_eq!(
            read("every 15th", t),
            rep(every(1, Unit::Month, false), d("2026-12-15"))
        );
        assert_eq!(
            read("every 31st", t),
            rep(every(1, Unit::Month, false), d("2026-12-31"))
        );
        for vague in [
            "every 3rd friday",
            "every hour",
            "every 0 days",
            "every 5000 days",
            "every",
            "every monday and someday",
        ] {
            assert_eq!(read(vague, t), Ok(When::NotUnderstood), "{vague}");
        }
    }
}
