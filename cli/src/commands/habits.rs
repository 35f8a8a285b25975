//! `lifeos habit ...`: habits with their schedules, check-ins, streaks and
//! strength, as the web app's Habits screen shows them.

use lifeos_core::EntityId;
use lifeos_core::habits::{CheckInState, Habit, HabitKind, NewHabit, Schedule, streak, strength};
use lifeos_core::time::{Date, Timestamp, Weekday};
use serde_json::json;

use super::{Answer, CommandError, find_by_id};
use crate::workspace::Workspace;

/// What `habit add` creates.
#[derive(Debug, Clone)]
pub struct HabitSpec {
    /// Its name.
    pub name: String,
    /// `daily`, `3 per week`, `on mon,wed,fri`, `2 per 10 days`.
    pub schedule: Schedule,
    /// For a numeric habit: the daily target and its unit.
    pub target: Option<(f64, String)>,
    /// The first day it counts (default today).
    pub start: Option<Date>,
}

/// `lifeos habit add`.
pub fn add(
    ws: &mut Workspace<'_>,
    now: Timestamp,
    today: Date,
    spec: HabitSpec,
) -> Result<Answer, CommandError> {
    let kind = match spec.target {
        Some((target, unit)) => HabitKind::Numeric { unit, target },
        None => HabitKind::YesNo,
    };
    let id = ws.data.add_habit(
        now,
        NewHabit {
            name: spec.name,
            schedule: spec.schedule,
            kind,
            start: spec.start.unwrap_or(today),
        },
    )?;
    let habit = ws.data.habit(id)?;
    Ok(Answer {
        text: format!("Added habit {}", line(&habit, today, ws)),
        json: json!({ "habit": summary(&habit, today, ws) }),
    })
}

/// `lifeos habit list`: every habit (archived ones with `all`), with its
/// streaks, strength and the last two weeks.
pub fn list(ws: &Workspace<'_>, today: Date, all: bool) -> Result<Answer, CommandError> {
    let mut habits: Vec<Habit> = ws
        .data
        .habits()?
        .into_iter()
        .filter(|h| all || !h.archived)
        .collect();
    habits.sort_by_key(|h| h.created_at);
    let text = if habits.is_empty() {
        "No habits. Add one: lifeos habit add \"Meditate\" --schedule daily".to_string()
    } else {
        let mut lines = vec![format!(
            "{:<6} {:<28} {:<16} {:>6} {:>7} {:>8}  last 14 days",
            "id", "habit", "schedule", "streak", "longest", "strength"
        )];
        lines.extend(habits.iter().map(|h| line(h, today, ws)));
        lines.push("  # done  ~ partly  - skipped  . not yet".into());
        lines.join("\n")
    };
    let json_habits: Vec<_> = habits.iter().map(|h| summary(h, today, ws)).collect();
    Ok(Answer {
        text,
        json: json!({ "habits": json_habits }),
    })
}

/// `lifeos habit check` (done, or an amount) and `habit skip`.
pub fn check_in(
    ws: &mut Workspace<'_>,
    now: Timestamp,
    today: Date,
    which: &str,
    date: Option<Date>,
    state: CheckInState,
) -> Result<Answer, CommandError> {
    let id = find(ws, which)?;
    let habit = ws.data.habit(id)?;
    let state = match (&habit.kind, state) {
        (HabitKind::Numeric { target, .. }, CheckInState::Done) => CheckInState::Value(*target),
        (HabitKind::YesNo, CheckInState::Value(_)) => {
            return Err(CommandError::NotFound(format!(
                "{} is a yes/no habit: check it without a value",
                habit.name
            )));
        }
        (_, s) => s,
    };
    let date = date.unwrap_or(today);
    ws.data.check_in(now, id, date, today, state, None)?;
    let habit = ws.data.habit(id)?;
    let what = match state {
        CheckInState::Done => "done".to_string(),
        CheckInState::Skipped => "skipped".to_string(),
        CheckInState::Value(v) => format!("{v}"),
    };
    Ok(Answer {
        text: format!(
            "{} on {date}: {what}\n{}",
            habit.name,
            line(&habit, today, ws)
        ),
        json: json!({ "habit": summary(&habit, today, ws), "date": date, "checkin": state }),
    })
}

fn find(ws: &Workspace<'_>, which: &str) -> Result<EntityId, CommandError> {
    let habits = ws.data.habits()?;
    let wanted = which.trim().to_lowercase();
    let by_name: Vec<&Habit> = habits
        .iter()
        .filter(|h| !h.archived && h.name.to_lowercase() == wanted)
        .collect();
    match by_name.as_slice() {
        [one] => return Ok(one.id),
        [] => {}
        many => {
            // Two habits of one name (two devices each made one before
            // signing in): say which there are, never pick one silently.
            let mut listed: Vec<String> = many
                .iter()
                .map(|h| {
                    format!(
                        "  {}  {} ({}, since {})",
                        super::short_id(h.id),
                        h.name,
                        h.schedule,
                        h.start
                    )
                })
                .collect();
            listed.sort();
            return Err(CommandError::NotFound(format!(
                "{} habits are called {:?}; give one's id, or make them one with \
                 `lifeos duplicates merge`:\n{}",
                many.len(),
                which.trim(),
                listed.join("\n")
            )));
        }
    }
    find_by_id(habits.iter().map(|h| h.id), which, "habit")
}

fn summary(habit: &Habit, today: Date, ws: &Workspace<'_>) -> serde_json::Value {
    let week_start = ws.data.settings().map_or(Weekday::Mon, |s| s.week_start);
    let streaks = streak::streaks(habit, today, week_start);
    json!({
        "id": habit.id,
        "name": habit.name,
        "schedule": habit.schedule.to_string(),
        "kind": habit.kind,
        "start": habit.start,
        "archived": habit.archived,
        "streak": streaks,
        "strength": (strength::strength(habit, today) * 100.0).round() / 100.0,
        "checkins": habit.checkins.values().collect::<Vec<_>>(),
    })
}

fn line(habit: &Habit, today: Date, ws: &Workspace<'_>) -> String {
    let week_start = ws.data.settings().map_or(Weekday::Mon, |s| s.week_start);
    let streaks = streak::streaks(habit, today, week_start);
    let mut name = habit.name.clone();
    if let HabitKind::Numeric { unit, target } = &habit.kind {
        name.push_str(&format!(" ({target} {unit})"));
    }
    let mut last_days: Vec<Date> = std::iter::successors(Some(today), |d| d.pred_opt())
        .take(14)
        .collect();
    last_days.reverse();
    let days: String = last_days
        .into_iter()
        .map(|d| match habit.checkins.get(&d).map(|c| c.state) {
            Some(CheckInState::Done) => '#',
            Some(CheckInState::Skipped) => '-',
            Some(CheckInState::Value(v)) => match &habit.kind {
                HabitKind::Numeric { target, .. } if v >= *target => '#',
                _ => '~',
            },
            None => '.',
        })
        .collect();
    format!(
        "{:<6} {:<28} {:<16} {:>6} {:>7} {:>7.0}%  {days}",
        super::short_id(habit.id),
        truncate(&name, 28),
        habit.schedule.to_string(),
        streaks.current,
        streaks.longest,
        strength::strength(habit, today) * 100.0
    )
}

/// `s` cut to `width` characters (with `…`).
pub(crate) fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}
