//! Quick add: one line of text becomes a task, the way people type it.
//! The web app and the CLI both use this, so `lifeos task add "..."` and the
//! app's quick-add field understand the same words.
//!
//! ```text
//! Call mom tomorrow #family @phone p1
//! └─title─┘ └─due──┘ └project┘ └context┘ └important and urgent
//! ```
//!
//! Words, anywhere in the line, case-insensitive:
//! - `#project`: the project, by name (the caller finds or creates it);
//!   `#home-renovation` keeps its hyphens. One per task.
//! - `@context`, as many as wanted. Names start with a letter or a digit.
//! - a date, the task's due date: `today`, `tomorrow` (`tmr`), a weekday
//!   (`friday`, `fri`: the next one after today), `next week` (the next
//!   Monday), `in 3 days`, `in 2 weeks`, or `2026-12-24`. Prefixed with
//!   `start:` it is the scheduled date instead (`start:monday`). The first
//!   date of each kind counts; later ones stay in the title.
//! - a time of day: `at 3pm`, `at 3:30pm`, `15:30`, `at 9`, `at noon`. With
//!   no date it is today's (`call Sam at 4pm`); with one, that day's.
//! - `p1`..`p4` (Todoist's priorities): p1 important and urgent, p2
//!   important, p3 urgent, p4 neither; `!` alone marks it important.
//! - `+next`, `+waiting`, `+someday`: the GTD list (Inbox otherwise).
//!
//! A word starting with `\` is kept as written, without the backslash
//! (`\#1 fan` is the title "#1 fan"). What is left, in order, is the title.

use crate::error::{Error, Result};
use crate::id::EntityId;
use crate::tasks::{NewTask, Status};
use crate::time::{Date, Datelike, TimeOfDay, Weekday};

/// What a quick-add line says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuickAdd {
    /// The title: every word that was not recognised.
    pub title: String,
    /// The project's name, without `#`.
    pub project: Option<String>,
    /// Contexts, without `@`, in the order given, without repeats.
    pub contexts: Vec<String>,
    /// Due date.
    pub due: Option<Date>,
    /// Scheduled (start) date.
    pub scheduled: Option<Date>,
    /// Time of day on the due (else scheduled) day.
    pub time: Option<TimeOfDay>,
    /// Eisenhower: important.
    pub important: bool,
    /// Eisenhower: urgent.
    pub urgent: bool,
    /// GTD list, when one was named.
    pub status: Option<Status>,
}

/// Where a quick-add line was typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddedOn {
    /// On Today: what is added there is planned for today (as in Things
    /// and Todoist), so it stays on the screen the user is looking at.
    Today,
    /// Anywhere else (a task list, the CLI): exactly as written.
    Elsewhere,
}

impl QuickAdd {
    /// The line as typed on `on`: on Today, a line that names no date and
    /// neither `+waiting` nor `+someday` is scheduled for `today` and goes
    /// on the Next list (it is decided: it is for today). Whatever the line
    /// says wins.
    pub fn added_on(mut self, on: AddedOn, today: Date) -> QuickAdd {
        let dated = self.due.is_some() || self.scheduled.is_some();
        let later = matches!(self.status, Some(Status::Waiting | Status::Someday));
        if on == AddedOn::Today && !dated && !later {
            self.scheduled = Some(today);
            self.status = Some(self.status.unwrap_or(Status::Next));
        }
        self
    }

    /// The task to add; the caller has found (or created) the project named
    /// by [`QuickAdd::project`] and passes its id.
    pub fn into_new_task(self, project: Option<EntityId>) -> NewTask {
        NewTask {
            title: self.title,
            status: self.status,
            project,
            contexts: self.contexts,
            due: self.due,
            scheduled: self.scheduled,
            time: self.time,
            important: self.important,
            urgent: self.urgent,
            ..NewTask::default()
        }
    }
}

/// Longest quick-add line accepted, in bytes.
const MAX_LINE: usize = 2000;

/// Reads `line`, with relative dates counted from `today` (the user's
/// local date).
pub fn parse(line: &str, today: Date) -> Result<QuickAdd> {
    if line.len() > MAX_LINE {
        return Err(Error::invalid("text", format!("at most {MAX_LINE} bytes")));
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let mut out = QuickAdd::default();
    let mut title: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        let lower = word.to_lowercase();
        if let Some(literal) = word.strip_prefix('\\') {
            if !literal.is_empty() {
                title.push(literal.to_string());
            }
            i += 1;
            continue;
        }
        if let Some(name) = word.strip_prefix('#').filter(|n| starts_alphanumeric(n)) {
            if out.project.is_some() {
                return Err(Error::invalid(
                    "text",
                    format!(
                        "one project per task: #{} and #{name}",
                        out.project.unwrap_or_default()
                    ),
                ));
            }
            out.project = Some(name.to_string());
            i += 1;
            continue;
        }
        if let Some(context) = word.strip_prefix('@').filter(|c| starts_alphanumeric(c)) {
            if !out.contexts.iter().any(|c| c.eq_ignore_ascii_case(context)) {
                out.contexts.push(context.to_string());
            }
            i += 1;
            continue;
        }
        if let Some(status) = lower.strip_prefix('+').and_then(list_named) {
            out.status = Some(status);
            i += 1;
            continue;
        }
        if let Some((important, urgent)) = priority(&lower) {
            out.important |= important;
            out.urgent |= urgent;
            i += 1;
            continue;
        }
        if out.time.is_none() {
            // "at 3pm", "at 9", "at noon"; a clock time alone ("15:30", "3pm").
            let next = words.get(i + 1).map(|w| w.to_lowercase());
            if lower == "at"
                && let Some(t) = next.as_deref().and_then(|w| time_word(w, true))
            {
                out.time = Some(t);
                i += 2;
                continue;
            }
            if let Some(t) = time_word(&lower, false) {
                out.time = Some(t);
                i += 1;
                continue;
            }
        }
        let (start, rest) = match lower.strip_prefix("start:") {
            Some(rest) => (true, rest.to_string()),
            None => (false, lower.clone()),
        };
        let slot = if start {
            &mut out.scheduled
        } else {
            &mut out.due
        };
        if slot.is_none() {
            // `start:` may stand alone before the date words (`start: friday`).
            let (phrase, first) = if start && rest.is_empty() {
                (&words[(i + 1).min(words.len())..], 1)
            } else {
                (&words[i..], 0)
            };
            let mut phrase: Vec<String> = phrase.iter().take(3).map(|w| w.to_lowercase()).collect();
            if let Some(head) = phrase.first_mut()
                && first == 0
            {
                head.clone_from(&rest);
            }
            if let Some((date, used)) = date_phrase(&phrase, today)? {
                *slot = Some(date);
                i += first + used;
                continue;
            }
        }
        title.push(word.to_string());
        i += 1;
    }
    if out.time.is_some() && out.due.is_none() && out.scheduled.is_none() {
        // "Call Sam at 4pm": today at four.
        out.due = Some(today);
    }
    out.title = title.join(" ");
    if out.title.is_empty() {
        return Err(Error::invalid("text", "the task needs a title"));
    }
    Ok(out)
}

/// A time of day as typed on its own (a CLI flag, a form): `15:30`, `3pm`,
/// `at 9`, `noon`.
pub fn time_of_day(text: &str) -> Option<TimeOfDay> {
    let lower = text.trim().to_lowercase();
    let word = lower.strip_prefix("at ").map_or(lower.as_str(), str::trim);
    time_word(word, true)
}

/// A time of day in one word: `15:30`, `3pm`, `3:30pm`, `12am`; after "at"
/// also a bare hour (`at 9`, 24-hour clock) and `noon` or `midnight`.
fn time_word(word: &str, after_at: bool) -> Option<TimeOfDay> {
    let (clock, offset) = if let Some(c) = word.strip_suffix("am") {
        (c, Some(0))
    } else if let Some(c) = word.strip_suffix("pm") {
        (c, Some(12))
    } else {
        (word, None)
    };
    match (word, after_at) {
        ("noon", true) => return TimeOfDay::new(12, 0),
        ("midnight", true) => return TimeOfDay::new(0, 0),
        _ => {}
    }
    let (h, m) = match clock.split_once(':') {
        Some((h, m)) if m.len() == 2 => (h, m),
        Some(_) => return None,
        // A bare number is an hour only after "at" or with am/pm ("at 9", "9pm").
        None if offset.is_some() || after_at => (clock, "00"),
        None => return None,
    };
    if h.is_empty() || h.len() > 2 || !h.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !m.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    let h = match offset {
        // 12am is midnight, 12pm noon; a 12-hour clock has no 0 or 13.
        Some(add) if (1..=12).contains(&h) => h % 12 + add,
        Some(_) => return None,
        None => h,
    };
    TimeOfDay::new(h, m)
}

/// Project and context names start with a letter or digit (so `#,` or `@`
/// alone stay words of the title).
fn starts_alphanumeric(name: &str) -> bool {
    name.chars().next().is_some_and(char::is_alphanumeric)
}

fn list_named(name: &str) -> Option<Status> {
    match name {
        "inbox" => Some(Status::Inbox),
        "next" => Some(Status::Next),
        "waiting" => Some(Status::Waiting),
        "someday" => Some(Status::Someday),
        _ => None,
    }
}

/// (important, urgent) for a priority word.
fn priority(word: &str) -> Option<(bool, bool)> {
    match word {
        "p1" | "!1" => Some((true, true)),
        "p2" | "!2" | "!" => Some((true, false)),
        "p3" | "!3" => Some((false, true)),
        "p4" | "!4" => Some((false, false)),
        _ => None,
    }
}

fn weekday(word: &str) -> Option<Weekday> {
    Some(match word {
        "monday" | "mon" => Weekday::Mon,
        "tuesday" | "tue" | "tues" => Weekday::Tue,
        "wednesday" | "wed" => Weekday::Wed,
        "thursday" | "thu" | "thur" | "thurs" => Weekday::Thu,
        "friday" | "fri" => Weekday::Fri,
        "saturday" | "sat" => Weekday::Sat,
        "sunday" | "sun" => Weekday::Sun,
        _ => return None,
    })
}

/// The first day after `today` that is `day`.
fn next_weekday(today: Date, day: Weekday) -> Date {
    let ahead = (7 + day.num_days_from_monday() - today.weekday().num_days_from_monday()) % 7;
    today + chrono::Days::new(if ahead == 0 { 7 } else { u64::from(ahead) })
}

/// A date at the start of `words` (lower-cased): the date and how many words it used.
fn date_phrase(words: &[String], today: Date) -> Result<Option<(Date, usize)>> {
    let Some(first) = words.first() else {
        return Ok(None);
    };
    let one = |d: Date| Ok(Some((d, 1)));
    match first.as_str() {
        "today" | "tod" => return one(today),
        "tomorrow" | "tmr" | "tmrw" => return one(today + chrono::Days::new(1)),
        _ => {}
    }
    if let Some(day) = weekday(first) {
        return one(next_weekday(today, day));
    }
    if first == "next" && words.get(1).map(String::as_str) == Some("week") {
        return Ok(Some((next_weekday(today, Weekday::Mon), 2)));
    }
    // "this friday": the coming one (today, on a Friday); "next friday":
    // the one in next week (weeks start on Monday), as Todoist reads it.
    if let Some(day) = words.get(1).and_then(|w| weekday(w)) {
        match first.as_str() {
            "this" if today.weekday() == day => return Ok(Some((today, 2))),
            "this" => return Ok(Some((next_weekday(today, day), 2))),
            "next" => {
                let monday = next_weekday(today, Weekday::Mon);
                let date = monday + chrono::Days::new(u64::from(day.num_days_from_monday()));
                return Ok(Some((date, 2)));
            }
            _ => {}
        }
    }
    if first == "in"
        && let (Some(n), Some(unit)) = (words.get(1), words.get(2))
        && let Some(n) = if n == "a" || n == "an" {
            Some(1)
        } else {
            n.parse::<u32>().ok()
        }
    {
        let date = match unit.as_str() {
            "day" | "days" => today.checked_add_days(chrono::Days::new(u64::from(n))),
            "week" | "weeks" => today.checked_add_days(chrono::Days::new(u64::from(n) * 7)),
            "month" | "months" => today.checked_add_months(chrono::Months::new(n)),
            _ => None,
        };
        if let Some(date) = date {
            if date > today + chrono::Days::new(3660) {
                return Err(Error::invalid("text", "a date within ten years, please"));
            }
            return Ok(Some((date, 3)));
        }
        if matches!(
            unit.as_str(),
            "day" | "days" | "week" | "weeks" | "month" | "months"
        ) {
            return Err(Error::invalid("text", "a date within ten years, please"));
        }
    }
    // An ISO date; a malformed one that looks like a date is an error, not a title word.
    if first.len() == 10 && first.as_bytes()[4] == b'-' && first.as_bytes()[7] == b'-' {
        return crate::time::parse_date("text", first).map(|d| Some((d, 1)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Thursday 26 November 2026.
    fn today() -> Date {
        Date::from_ymd_opt(2026, 11, 26).unwrap()
    }

    fn d(y: i32, m: u32, day: u32) -> Date {
        Date::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_example_from_the_issue() {
        let q = parse("Call mom tomorrow #family @phone", today()).unwrap();
        assert_eq!(q.title, "Call mom");
        assert_eq!(q.due, Some(d(2026, 11, 27)));
        assert_eq!(q.project.as_deref(), Some("family"));
        assert_eq!(q.contexts, vec!["phone"]);
        assert_eq!((q.important, q.urgent, q.status), (false, false, None));
    }

    #[test]
    fn dates() {
        let due = |s: &str| parse(&format!("Do it {s}"), today()).unwrap().due;
        assert_eq!(due("today"), Some(today()));
        assert_eq!(due("TOMORROW"), Some(d(2026, 11, 27)));
        assert_eq!(due("tmr"), Some(d(2026, 11, 27)));
        // Thursday: "thursday" is next week's, "friday" tomorrow, "monday" after the weekend.
        assert_eq!(due("thursday"), Some(d(2026, 12, 3)));
        assert_eq!(due("fri"), Some(d(2026, 11, 27)));
        assert_eq!(due("Monday"), Some(d(2026, 11, 30)));
        assert_eq!(due("next week"), Some(d(2026, 11, 30)));
        assert_eq!(due("in 3 days"), Some(d(2026, 11, 29)));
        assert_eq!(due("in 1 week"), Some(d(2026, 12, 3)));
        assert_eq!(due("in 6 weeks"), Some(d(2027, 1, 7)));
        assert_eq!(due("2026-12-24"), Some(d(2026, 12, 24)));
        // "this" is the coming one, "next" the one in next week.
        assert_eq!(due("this friday"), Some(d(2026, 11, 27)));
        assert_eq!(due("this thursday"), Some(today()));
        assert_eq!(due("next tuesday"), Some(d(2026, 12, 1)));
        assert_eq!(due("next friday"), Some(d(2026, 12, 4)));
        assert_eq!(due("next thu"), Some(d(2026, 12, 3)));
        assert_eq!(due("in a week"), Some(d(2026, 12, 3)));
        assert_eq!(due("in 2 weeks"), Some(d(2026, 12, 10)));
        assert_eq!(due("in 3 months"), Some(d(2027, 2, 26)));
        assert!(parse("x in 200 months", today()).is_err());
        let q = parse("Meeting next tuesday", today()).unwrap();
        assert_eq!((q.title.as_str(), q.due), ("Meeting", Some(d(2026, 12, 1))));
        // Across a year end and a leap day.
        let new_year = Date::from_ymd_opt(2027, 12, 31).unwrap();
        assert_eq!(
            parse("x tomorrow", new_year).unwrap().due,
            Some(d(2028, 1, 1))
        );
        assert_eq!(
            parse("x in 60 days", new_year).unwrap().due,
            Some(d(2028, 2, 29))
        );
    }

    #[test]
    fn times_of_day() {
        let at = |s: &str| {
            let q = parse(s, today()).unwrap();
            (q.title, q.due, q.time.map(|t| t.to_string()))
        };
        let t = |s: &str| Some(s.to_string());
        // The line from the issue: the date and the time both leave the title.
        assert_eq!(
            at("Meeting next tuesday at 3pm"),
            ("Meeting".into(), Some(d(2026, 12, 1)), t("15:00"))
        );
        assert_eq!(at("Call Sam 15:30").2, t("15:30"));
        assert_eq!(at("Call Sam at 3:30pm").2, t("15:30"));
        assert_eq!(at("Call Sam at 9").2, t("09:00"));
        assert_eq!(at("Call Sam 9am").2, t("09:00"));
        assert_eq!(at("Lunch at noon").2, t("12:00"));
        assert_eq!(at("Lunch at 12pm").2, t("12:00"));
        assert_eq!(at("Check at 12am").2, t("00:00"));
        assert_eq!(at("Check at midnight").2, t("00:00"));
        // A time alone means today.
        assert_eq!(at("Call Sam at 4pm").1, Some(today()));
        // With a start date only, the time is on that day; no due date is made.
        let q = parse("Shift start:friday 07:45", today()).unwrap();
        assert_eq!((q.due, q.scheduled), (None, Some(d(2026, 11, 27))));
        assert_eq!(q.time.map(|t| t.to_string()), t("07:45"));
        // Not times: they stay in the title.
        assert_eq!(at("Buy 9 eggs").0, "Buy 9 eggs");
        assert_eq!(at("Look at this").0, "Look at this");
        assert_eq!(at("Look at 25:00").0, "Look at 25:00");
        assert_eq!(at("Train 13pm").0, "Train 13pm");
        assert_eq!(at("Ratio 3:5").0, "Ratio 3:5");
        assert_eq!(at("Score 2:30 x").2, t("02:30"));
        // The first time counts; a second stays in the title.
        let q = parse("Meet 10:00 or 11:00", today()).unwrap();
        assert_eq!(
            (q.title.as_str(), q.time.map(|t| t.to_string())),
            ("Meet or 11:00", t("10:00"))
        );
        // And it reaches the task.
        assert_eq!(
            parse("x at 3pm", today()).unwrap().into_new_task(None).time,
            TimeOfDay::new(15, 0)
        );
    }

    #[test]
    fn start_dates_and_the_first_date_wins() {
        let q = parse("Report start:monday friday", today()).unwrap();
        assert_eq!(q.scheduled, Some(d(2026, 11, 30)));
        assert_eq!(q.due, Some(d(2026, 11, 27)));
        assert_eq!(q.title, "Report");
        let q = parse("Plan start: next week", today()).unwrap();
        assert_eq!(q.scheduled, Some(d(2026, 11, 30)));
        assert_eq!(q.title, "Plan");
        let q = parse("Move meeting from monday to tuesday", today()).unwrap();
        assert_eq!(q.due, Some(d(2026, 11, 30)));
        assert_eq!(q.title, "Move meeting from to tuesday");
    }

    #[test]
    fn flags_lists_and_contexts() {
        let q = parse("Pay rent p1 +next @home @Home @errands", today()).unwrap();
        assert_eq!((q.important, q.urgent), (true, true));
        assert_eq!(q.status, Some(Status::Next));
        assert_eq!(q.contexts, vec!["home", "errands"]);
        assert_eq!(q.title, "Pay rent");
        let q = parse("Idea ! +someday", today()).unwrap();
        assert_eq!(
            (q.important, q.urgent, q.status),
            (true, false, Some(Status::Someday))
        );
        assert!(parse("x p3", today()).unwrap().urgent);
        assert!(!parse("x p4", today()).unwrap().important);
        // Words that only look like keywords stay in the title.
        let q = parse("Buy today's paper #, @ + p5 in 3 apples", today()).unwrap();
        assert_eq!(q.title, "Buy today's paper #, @ + p5 in 3 apples");
        assert_eq!((q.due, q.project.clone()), (None, None));
    }

    #[test]
    fn a_parsed_line_becomes_a_task() {
        let now = crate::time::Timestamp::from_millis(1_795_000_000_000);
        let mut doc = crate::tasks::TasksDoc::new();
        let q = parse("Call mom tomorrow #family @phone p2 +next", today()).unwrap();
        let project = doc.add_project(now, q.project.as_deref().unwrap()).unwrap();
        let id = doc.add_task(now, q.into_new_task(Some(project))).unwrap();
        let task = doc.task(id).unwrap();
        assert_eq!(task.title, "Call mom");
        assert_eq!(task.project, Some(project));
        assert_eq!(task.contexts, vec!["phone".to_string()]);
        assert_eq!(task.due, Some(d(2026, 11, 27)));
        assert_eq!(task.status, Status::Next);
        assert!(task.important && !task.urgent);
    }

    #[test]
    fn escapes_keep_words_literal() {
        let q = parse(r"\#1 fan \@home \today", today()).unwrap();
        assert_eq!(q.title, "#1 fan @home today");
        assert_eq!((q.project, q.due), (None, None));
        assert!(q.contexts.is_empty());
    }

    #[test]
    fn bad_input_is_explained() {
        let err = parse("#work @phone tomorrow", today()).unwrap_err();
        assert!(err.to_string().contains("needs a title"), "{err}");
        let err = parse("x #a #b", today()).unwrap_err();
        assert!(err.to_string().contains("one project"), "{err}");
        assert!(parse("x 2026-02-30", today()).is_err());
        assert!(parse("x in 99999 weeks", today()).is_err());
        assert!(parse(&"a ".repeat(2000), today()).is_err());
        assert!(parse("   ", today()).is_err());
    }
}
