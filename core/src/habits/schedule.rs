//! How often a habit is meant to happen, and the periods its streak counts.
//!
//! Stored form (one string): `daily`, `on mon,wed,fri`, `3 per week`,
//! `2 per 5 days`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::tasks::recurrence::{parse_weekday, weekday_name};
use crate::time::{Date, Datelike, Weekday};

/// A habit's schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Schedule {
    /// Every day.
    Daily,
    /// On these weekdays only.
    Weekdays {
        /// The chosen days, Monday first.
        days: Vec<Weekday>,
    },
    /// `times` times in each calendar week (which starts on the user's week start).
    TimesPerWeek {
        /// 1 to 7.
        times: u32,
    },
    /// `times` times in each block of `days` days counted from the habit's start.
    TimesPerPeriod {
        /// At least 1 and at most `days`.
        times: u32,
        /// 1 to 366.
        days: u32,
    },
}

/// One stretch of days over which a schedule's target is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Period {
    /// First day.
    pub start: Date,
    /// Last day (inclusive).
    pub end: Date,
    /// Check-ins needed (already reduced for a first period cut short by the habit's start).
    pub target: u32,
}

impl Schedule {
    /// A validated weekday schedule.
    pub fn weekdays(days: impl IntoIterator<Item = Weekday>) -> Result<Self> {
        let set: BTreeSet<u32> = days.into_iter().map(|d| d.num_days_from_monday()).collect();
        if set.is_empty() {
            return Err(Error::invalid("schedule", "choose at least one weekday"));
        }
        Ok(Schedule::Weekdays {
            days: set
                .into_iter()
                .map(|n| Weekday::try_from(n as u8).expect("0..7"))
                .collect(),
        })
    }

    /// A validated N-per-week schedule.
    pub fn times_per_week(times: u32) -> Result<Self> {
        if !(1..=7).contains(&times) {
            return Err(Error::invalid(
                "schedule",
                "a week has room for 1 to 7 times",
            ));
        }
        Ok(Schedule::TimesPerWeek { times })
    }

    /// A validated N-per-K-days schedule.
    pub fn times_per_period(times: u32, days: u32) -> Result<Self> {
        if !(1..=366).contains(&days) {
            return Err(Error::invalid("schedule", "a period is 1 to 366 days"));
        }
        if times == 0 || times > days {
            return Err(Error::invalid(
                "schedule",
                format!("{times} times do not fit in {days} days"),
            ));
        }
        Ok(Schedule::TimesPerPeriod { times, days })
    }

    /// Loop's frequency: target check-ins per day (3 per week = 3/7).
    pub fn frequency(&self) -> f64 {
        match self {
            Schedule::Daily => 1.0,
            Schedule::Weekdays { days } => days.len() as f64 / 7.0,
            Schedule::TimesPerWeek { times } => f64::from(*times) / 7.0,
            Schedule::TimesPerPeriod { times, days } => f64::from(*times) / f64::from(*days),
        }
    }

    /// Whether the schedule asks for something on one particular day
    /// (N-per-period schedules ask every day until their target is met).
    pub fn is_scheduled_day(&self, date: Date) -> bool {
        match self {
            Schedule::Weekdays { days } => days.contains(&date.weekday()),
            _ => true,
        }
    }

    /// Whether the streak counts single days (daily, weekdays) rather than periods.
    pub(crate) fn counts_days(&self) -> bool {
        matches!(self, Schedule::Daily | Schedule::Weekdays { .. })
    }

    /// The period containing `date` for a habit that started on `start`, or
    /// `None` for day-based schedules.
    pub(crate) fn period_of(&self, start: Date, date: Date, week_start: Weekday) -> Option<Period> {
        match self {
            Schedule::Daily | Schedule::Weekdays { .. } => None,
            Schedule::TimesPerWeek { times } => {
                let back = (7 + date.weekday().num_days_from_monday()
                    - week_start.num_days_from_monday())
                    % 7;
                let week_first = date - chrono::Days::new(u64::from(back));
                let end = week_first + chrono::Days::new(6);
                let first = week_first.max(start);
                let available = u32::try_from((end - first).num_days() + 1).unwrap_or(7);
                Some(Period {
                    start: first,
                    end,
                    target: (*times).min(available),
                })
            }
            Schedule::TimesPerPeriod { times, days } => {
                let offset = (date - start).num_days().max(0);
                let block = offset / i64::from(*days);
                let first =
                    start + chrono::Days::new(u64::try_from(block * i64::from(*days)).unwrap_or(0));
                let end = first + chrono::Days::new(u64::from(*days) - 1);
                Some(Period {
                    start: first,
                    end,
                    target: *times,
                })
            }
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Daily => f.write_str("daily"),
            Schedule::Weekdays { days } => {
                let names: Vec<&str> = days.iter().map(|d| weekday_name(*d)).collect();
                write!(f, "on {}", names.join(","))
            }
            Schedule::TimesPerWeek { times } => write!(f, "{times} per week"),
            Schedule::TimesPerPeriod { times, days } => write!(f, "{times} per {days} days"),
        }
    }
}

impl FromStr for Schedule {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid("schedule", format!("{s:?} is not a schedule"));
        if s == "daily" {
            return Ok(Schedule::Daily);
        }
        if let Some(list) = s.strip_prefix("on ") {
            let days = list
                .split(',')
                .map(|d| parse_weekday(d.trim()).ok_or_else(bad))
                .collect::<Result<Vec<_>>>()?;
            return Schedule::weekdays(days);
        }
        let (times, rest) = s.split_once(" per ").ok_or_else(bad)?;
        let times: u32 = times.parse().map_err(|_| bad())?;
        if rest == "week" {
            return Schedule::times_per_week(times);
        }
        let days = rest
            .strip_suffix(" days")
            .or_else(|| rest.strip_suffix(" day"))
            .ok_or_else(bad)?;
        Schedule::times_per_period(times, days.parse().map_err(|_| bad())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_date;

    fn d(s: &str) -> Date {
        parse_date("date", s).unwrap()
    }

    #[test]
    fn stored_form_round_trips_and_validates() {
        for s in [
            "daily",
            "on mon,wed,fri",
            "3 per week",
            "2 per 5 days",
            "1 per 1 days",
        ] {
            assert_eq!(s.parse::<Schedule>().unwrap().to_string(), s);
        }
        for bad in [
            "0 per week",
            "8 per week",
            "6 per 5 days",
            "0 per 5 days",
            "1 per 0 days",
            "1 per 367 days",
            "on",
            "weekly",
            "3 per fortnight",
            "",
        ] {
            assert!(bad.parse::<Schedule>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn weeks_follow_the_week_start_and_cut_the_first_week_short() {
        let s = Schedule::times_per_week(3).unwrap();
        // 2026-11-26 is a Thursday.
        let p = s
            .period_of(d("2026-11-01"), d("2026-11-26"), Weekday::Mon)
            .unwrap();
        assert_eq!(
            (p.start, p.end, p.target),
            (d("2026-11-23"), d("2026-11-29"), 3)
        );
        let p = s
            .period_of(d("2026-11-01"), d("2026-11-26"), Weekday::Sun)
            .unwrap();
        assert_eq!((p.start, p.end), (d("2026-11-22"), d("2026-11-28")));
        // Started on Saturday: only two days left in that week, so two times are enough.
        let p = s
            .period_of(d("2026-11-28"), d("2026-11-28"), Weekday::Mon)
            .unwrap();
        assert_eq!(
            (p.start, p.end, p.target),
            (d("2026-11-28"), d("2026-11-29"), 2)
        );
    }

    #[test]
    fn periods_are_blocks_from_the_start() {
        let s = Schedule::times_per_period(2, 5).unwrap();
        let p = s
            .period_of(d("2026-02-26"), d("2026-03-03"), Weekday::Mon)
            .unwrap();
        assert_eq!((p.start, p.end), (d("2026-03-03"), d("2026-03-07")));
        let p = s
            .period_of(d("2026-02-26"), d("2026-03-02"), Weekday::Mon)
            .unwrap();
        assert_eq!((p.start, p.end), (d("2026-02-26"), d("2026-03-02")));
    }

    #[test]
    fn frequencies() {
        assert_eq!(Schedule::Daily.frequency(), 1.0);
        assert!((Schedule::times_per_week(3).unwrap().frequency() - 3.0 / 7.0).abs() < 1e-12);
        assert_eq!(Schedule::times_per_period(2, 4).unwrap().frequency(), 0.5);
    }
}
