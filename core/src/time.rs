//! Time as LifeOS uses it: instants for "when did this happen" and calendar
//! dates for "which day is this about".
//!
//! Due dates, check-ins and expenses are calendar dates in the user's time
//! zone, never instants: a task due on 2026-03-29 stays due that day whatever
//! zone the device travels to, and daylight-saving changes cannot move it.
//! The only place a zone matters is turning *now* into *today*
//! (`today_in`, behind the `tz` feature; the browser asks JavaScript).

use std::fmt;
use std::str::FromStr;

pub use chrono::{Datelike, NaiveDate as Date, Weekday};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Milliseconds since the Unix epoch, UTC. Used for `created_at`-style facts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `millis` milliseconds after 1970-01-01T00:00:00Z.
    pub const fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(&self) -> i64 {
        self.0
    }
}

/// An instant as RFC 3339 in UTC with milliseconds (`2026-11-26T07:20:00.000Z`).
pub fn format_timestamp(t: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(t.as_millis())
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Parses a calendar date written exactly as `YYYY-MM-DD`.
///
/// Stricter than chrono's parser on purpose: `2026-1-5` or `2026-01-05T00:00`
/// would round-trip into a different string and break equality between devices.
pub fn parse_date(field: &'static str, s: &str) -> Result<Date> {
    let well_formed = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !well_formed {
        return Err(Error::invalid(
            field,
            format!("{s:?} is not a date in the form YYYY-MM-DD"),
        ));
    }
    Date::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| Error::invalid(field, format!("{s} is not a day of the calendar")))
}

/// Formats a date as `YYYY-MM-DD`, the one form stored in documents.
pub fn format_date(d: Date) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A time of day in the user's zone, to the minute (`15:30`): when on its
/// day a task is due. Like dates, it is wall-clock time, so a meeting at
/// 15:30 stays at 15:30 across daylight-saving changes and travel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay {
    minutes: u16,
}

impl TimeOfDay {
    /// `hour`:`minute`, if both are in range.
    pub fn new(hour: u32, minute: u32) -> Option<TimeOfDay> {
        (hour < 24 && minute < 60).then(|| TimeOfDay {
            minutes: (hour * 60 + minute) as u16,
        })
    }

    /// The hour, 0-23.
    pub fn hour(self) -> u32 {
        u32::from(self.minutes / 60)
    }

    /// The minute, 0-59.
    pub fn minute(self) -> u32 {
        u32::from(self.minutes % 60)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())
    }
}

impl FromStr for TimeOfDay {
    type Err = Error;

    /// `HH:MM`, 24-hour clock, as stored.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid("time", format!("{s:?} is not a time in the form HH:MM"));
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return Err(bad());
        }
        let (h, m) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        TimeOfDay::new(h, m).ok_or_else(bad)
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A calendar month, such as the month of a budget or a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    /// The month `month` (1-12) of `year`.
    pub fn new(year: i32, month: u32) -> Result<Self> {
        if !(1..=12).contains(&month) || Date::from_ymd_opt(year, month, 1).is_none() {
            return Err(Error::invalid(
                "month",
                format!("{year}-{month} is not a month"),
            ));
        }
        Ok(Month { year, month })
    }

    /// The month that contains `date`.
    pub fn of(date: Date) -> Self {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    /// The year.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The month number, 1-12.
    pub fn number(&self) -> u32 {
        self.month
    }

    /// The first day of the month.
    pub fn first_day(&self) -> Date {
        Date::from_ymd_opt(self.year, self.month, 1).expect("validated in the constructor")
    }

    /// The last day of the month (28, 29, 30 or 31).
    pub fn last_day(&self) -> Date {
        self.next()
            .first_day()
            .pred_opt()
            .expect("a month has a last day")
    }

    /// The following month.
    pub fn next(&self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The previous month.
    pub fn prev(&self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// Whether `date` falls in this month.
    pub fn contains(&self, date: Date) -> bool {
        date.year() == self.year && date.month() == self.month
    }
}

impl FromStr for Month {
    type Err = Error;
    /// Parses `YYYY-MM`.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid("month", format!("{s:?} is not a month in the form YYYY-MM"));
        if s.len() != 7 || s.as_bytes()[4] != b'-' {
            return Err(bad());
        }
        let year: i32 = s[..4].parse().map_err(|_| bad())?;
        let month: u32 = s[5..].parse().map_err(|_| bad())?;
        if !s[..4]
            .bytes()
            .chain(s[5..].bytes())
            .all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        Month::new(year, month)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Adds `months` calendar months to `date`, clamping the day to the end of a
/// shorter month (Jan 31 + 1 month = Feb 28 or 29), as calendar apps do.
pub fn add_months(date: Date, months: u32) -> Option<Date> {
    date.checked_add_months(chrono::Months::new(months))
}

/// The calendar date in the IANA zone `zone` (for example `Europe/Berlin`) at `now`.
#[cfg(feature = "tz")]
pub fn today_in(zone: &str, now: Timestamp) -> Result<Date> {
    use chrono::TimeZone;
    let tz: chrono_tz::Tz = zone
        .parse()
        .map_err(|_| Error::invalid("timezone", format!("{zone:?} is not an IANA time zone")))?;
    let utc = chrono::Utc
        .timestamp_millis_opt(now.as_millis())
        .single()
        .ok_or_else(|| Error::invalid("now", "instant out of range"))?;
    Ok(utc.with_timezone(&tz).date_naive())
}

/// Whether `zone` names an IANA time zone this build knows.
#[cfg(feature = "tz")]
pub fn is_known_zone(zone: &str) -> bool {
    zone.parse::<chrono_tz::Tz>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        parse_date("date", s).unwrap()
    }

    #[test]
    fn strict_dates() {
        assert_eq!(format_date(d("2024-02-29")), "2024-02-29");
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-1-05",
            "2026-01-05T00:00",
            "",
            "2026/01/05",
            "+026-01-05",
        ] {
            assert!(parse_date("date", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn timestamps_format_as_rfc3339() {
        assert_eq!(
            format_timestamp(Timestamp::from_millis(1_764_141_600_123)),
            "2025-11-26T07:20:00.123Z"
        );
        assert_eq!(
            format_timestamp(Timestamp::from_millis(0)),
            "1970-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn months() {
        let feb: Month = "2024-02".parse().unwrap();
        assert_eq!(feb.last_day(), d("2024-02-29"));
        assert_eq!(
            "2023-02".parse::<Month>().unwrap().last_day(),
            d("2023-02-28")
        );
        assert_eq!(
            "2026-12".parse::<Month>().unwrap().next().to_string(),
            "2027-01"
        );
        assert_eq!(
            "2026-01".parse::<Month>().unwrap().prev().to_string(),
            "2025-12"
        );
        for bad in [
            "2026-00", "2026-13", "2026-1", "26-01", "2026_01", "abcd-ef",
        ] {
            assert!(bad.parse::<Month>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn adding_months_clamps_to_month_end() {
        assert_eq!(add_months(d("2026-01-31"), 1), Some(d("2026-02-28")));
        assert_eq!(add_months(d("2024-01-31"), 1), Some(d("2024-02-29")));
        assert_eq!(add_months(d("2024-02-29"), 12), Some(d("2025-02-28")));
    }

    #[cfg(feature = "tz")]
    mod zones {
        use super::*;

        fn at(rfc3339: &str) -> Timestamp {
            Timestamp::from_millis(
                chrono::DateTime::parse_from_rfc3339(rfc3339)
                    .unwrap()
                    .timestamp_millis(),
            )
        }

        #[test]
        fn late_evening_utc_is_tomorrow_east_of_greenwich() {
            assert_eq!(
                today_in("Europe/Berlin", at("2026-11-26T23:30:00Z")).unwrap(),
                d("2026-11-27")
            );
            assert_eq!(
                today_in("America/Los_Angeles", at("2026-11-27T03:00:00Z")).unwrap(),
                d("2026-11-26")
            );
        }

        #[test]
        fn daylight_saving_changes_do_not_shift_the_day() {
            // Europe/Berlin springs forward 2026-03-29 02:00 -> 03:00 and falls back 2026-10-25.
            assert_eq!(
                today_in("Europe/Berlin", at("2026-03-28T23:30:00Z")).unwrap(),
                d("2026-03-29")
            );
            assert_eq!(
                today_in("Europe/Berlin", at("2026-03-29T21:59:00Z")).unwrap(),
                d("2026-03-29")
            );
            assert_eq!(
                today_in("Europe/Berlin", at("2026-03-29T22:00:00Z")).unwrap(),
                d("2026-03-30")
            );
            assert_eq!(
                today_in("Europe/Berlin", at("2026-10-25T22:59:00Z")).unwrap(),
                d("2026-10-25")
            );
            assert_eq!(
                today_in("Europe/Berlin", at("2026-10-25T23:00:00Z")).unwrap(),
                d("2026-10-26")
            );
            // Lord Howe shifts by half an hour.
            assert_eq!(
                today_in("Australia/Lord_Howe", at("2026-04-04T13:15:00Z")).unwrap(),
                d("2026-04-05")
            );
        }

        #[test]
        fn a_zone_that_skipped_a_whole_day() {
            // Samoa moved across the date line: 2011-12-30 never happened in Apia.
            assert_eq!(
                today_in("Pacific/Apia", at("2011-12-30T09:59:00Z")).unwrap(),
                d("2011-12-29")
            );
            assert_eq!(
                today_in("Pacific/Apia", at("2011-12-30T10:00:00Z")).unwrap(),
                d("2011-12-31")
            );
        }

        #[test]
        fn unknown_zone_is_an_error() {
            assert!(today_in("Mars/Olympus", Timestamp::from_millis(0)).is_err());
            assert!(is_known_zone("Asia/Kolkata"));
        }
    }
}
