//! Habits: schedules, daily check-ins (done, skipped, a number, a note),
//! streaks, Loop's strength score and a calendar heatmap.
//!
//! Check-ins live inside their habit as `checkins: { "YYYY-MM-DD": value }`
//! with `value` one of `"done"`, `"skip"` or a number, and notes beside them
//! in `notes: { "YYYY-MM-DD": text }`. Each day is one register: two devices
//! checking in the same day offline resolve to one check-in, and different
//! days never interfere. A check-in's id is derived from habit and date, so it
//! is the same on every device without being stored.

pub mod heatmap;
pub mod schedule;
pub mod streak;
pub mod strength;

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ScalarValueRef, ValueRef};
use serde::Serialize;

pub use heatmap::{Cell, HeatmapDay, heatmap};
pub use schedule::Schedule;
pub use streak::{StreakUnit, Streaks, streaks};
pub use strength::strength;

use crate::doc::LifeDoc;
use crate::doc::fields::{
    bool_of, check_text, clean_name, create_entity, date_of, f64_of, is_null, live_entity,
    next_stamp, put_latest, settled, str_of, tombstone,
};
use crate::error::{Error, Result};
use crate::id::EntityId;
use crate::schema::DocKind;
use crate::time::{Date, Timestamp, format_date, parse_date};

const MAX_NAME: usize = 200;
const MAX_UNIT: usize = 32;
const MAX_NOTE: usize = 2_000;
const MAX_VALUE: f64 = 1e12;

/// Yes/no or measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HabitKind {
    /// Done or not.
    YesNo,
    /// A number per day, met when it reaches `target`.
    Numeric {
        /// What is counted (`km`, `pages`, `glasses`).
        unit: String,
        /// The daily amount that counts as done (> 0).
        target: f64,
    },
}

/// What a day's check-in says.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum CheckInState {
    /// Done (yes/no habits).
    Done,
    /// Skipped on purpose: keeps streaks and the strength score as they are.
    Skipped,
    /// A measured amount (numeric habits).
    Value(f64),
}

/// One day's check-in.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckIn {
    /// Derived from habit and date; the same on every device.
    pub id: EntityId,
    /// The habit.
    pub habit: EntityId,
    /// The day.
    pub date: Date,
    /// What happened.
    pub state: CheckInState,
    /// An optional note.
    pub note: Option<String>,
}

/// A habit with all its check-ins.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Habit {
    /// The habit's id.
    pub id: EntityId,
    /// Its name.
    pub name: String,
    /// How often.
    pub schedule: Schedule,
    /// Yes/no or numeric.
    pub kind: HabitKind,
    /// The first day it counts.
    pub start: Date,
    /// Archived habits are hidden from Today but keep their history.
    pub archived: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// Check-ins by day.
    pub checkins: BTreeMap<Date, CheckIn>,
}

/// How a day looks to the rules (streaks, strength, heatmap).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum DayMark {
    Done,
    Partial(f64),
    Skipped,
    Empty,
}

impl DayMark {
    /// The fraction of the day's target reached.
    pub(crate) fn progress(&self) -> f64 {
        match self {
            DayMark::Done => 1.0,
            DayMark::Partial(p) => *p,
            DayMark::Skipped | DayMark::Empty => 0.0,
        }
    }
}

impl Habit {
    /// The first day the rules look at: the start, or an earlier back-filled check-in.
    pub fn first_day(&self) -> Date {
        self.checkins
            .keys()
            .next()
            .map_or(self.start, |first| (*first).min(self.start))
    }

    pub(crate) fn mark(&self, date: Date) -> DayMark {
        let Some(c) = self.checkins.get(&date) else {
            return DayMark::Empty;
        };
        match (c.state, &self.kind) {
            (CheckInState::Skipped, _) => DayMark::Skipped,
            (CheckInState::Done, _) => DayMark::Done,
            (CheckInState::Value(v), HabitKind::Numeric { target, .. }) if v >= *target => {
                DayMark::Done
            }
            (CheckInState::Value(v), HabitKind::Numeric { target, .. }) => {
                DayMark::Partial((v / target).clamp(0.0, 1.0))
            }
            (CheckInState::Value(v), HabitKind::YesNo) if v > 0.0 => DayMark::Done,
            (CheckInState::Value(_), HabitKind::YesNo) => DayMark::Empty,
        }
    }

    /// Check-ins done (target met) and needed in the period that contains
    /// `today`; for daily and weekday habits the period is the day itself.
    pub fn progress_on(&self, today: Date, week_start: crate::time::Weekday) -> (u32, u32) {
        match self.schedule.period_of(self.first_day(), today, week_start) {
            Some(p) => {
                let (mut done, mut skipped) = (0, 0);
                for day in p
                    .start
                    .iter_days()
                    .take_while(|d| *d <= p.end && *d <= today)
                {
                    match self.mark(day) {
                        DayMark::Done => done += 1,
                        DayMark::Skipped => skipped += 1,
                        _ => {}
                    }
                }
                (done, p.target.saturating_sub(skipped))
            }
            None => (u32::from(self.mark(today) == DayMark::Done), 1),
        }
    }

    /// Whether the habit asks for something on `today`: a scheduled day, or a
    /// period whose target is not yet met (or was met with today's check-in).
    pub fn is_due_on(&self, today: Date, week_start: crate::time::Weekday) -> bool {
        if self.archived || today < self.start || !self.schedule.is_scheduled_day(today) {
            return false;
        }
        if self.schedule.counts_days() {
            return true;
        }
        let (done, needed) = self.progress_on(today, week_start);
        done < needed || self.checkins.contains_key(&today)
    }
}

/// What a new habit is made of.
#[derive(Clone, Debug, PartialEq)]
pub struct NewHabit {
    /// Its name (1-200 characters).
    pub name: String,
    /// How often.
    pub schedule: Schedule,
    /// Yes/no or numeric.
    pub kind: HabitKind,
    /// The first day it counts.
    pub start: Date,
}

/// A change to a habit; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HabitPatch {
    /// New name.
    pub name: Option<String>,
    /// New schedule (applies to the whole history, as in Loop).
    pub schedule: Option<Schedule>,
    /// New kind.
    pub kind: Option<HabitKind>,
    /// New start day.
    pub start: Option<Date>,
    /// Archive or bring back.
    pub archived: Option<bool>,
}

/// The typed view of a `habits` document.
#[derive(Debug)]
pub struct HabitsDoc {
    doc: LifeDoc,
}

crate::doc::typed_document!(HabitsDoc, DocKind::Habits);

impl HabitsDoc {
    /// Adds a habit; returns its id.
    pub fn add_habit(&mut self, now: Timestamp, new: NewHabit) -> Result<EntityId> {
        let name = clean_name("name", &new.name, MAX_NAME)?;
        let kind = validate_kind(new.kind)?;
        let habits = self.doc.collection("habits")?;
        let id = EntityId::generate(now);
        self.doc.edit(now, |doc| {
            let obj = create_entity(doc, &habits, id)?;
            doc.put(&obj, "name", name)?;
            doc.put(&obj, "schedule", new.schedule.to_string())?;
            put_kind(doc, &obj, &kind)?;
            doc.put(&obj, "start", format_date(new.start))?;
            doc.put(&obj, "archived", false)?;
            doc.put_object(&obj, "checkins", ObjType::Map)?;
            doc.put_object(&obj, "notes", ObjType::Map)?;
            Ok(())
        })?;
        Ok(id)
    }

    /// Changes some fields of a habit.
    pub fn update_habit(&mut self, now: Timestamp, id: EntityId, patch: HabitPatch) -> Result<()> {
        let name = patch
            .name
            .as_deref()
            .map(|n| clean_name("name", n, MAX_NAME))
            .transpose()?;
        let kind = patch.kind.map(validate_kind).transpose()?;
        let obj = self.habit_obj(id)?;
        self.doc.edit(now, |doc| {
            let at = next_stamp(doc, &obj, now);
            if let Some(n) = name {
                put_latest(doc, &obj, "name", n, at)?;
            }
            if let Some(s) = &patch.schedule {
                put_latest(doc, &obj, "schedule", s.to_string(), at)?;
            }
            if let Some(k) = &kind {
                match k {
                    HabitKind::YesNo => put_latest(doc, &obj, "kind", "yesno", at)?,
                    HabitKind::Numeric { unit, target } => {
                        put_latest(doc, &obj, "kind", "numeric", at)?;
                        put_latest(doc, &obj, "unit", unit.as_str(), at)?;
                        put_latest(doc, &obj, "target", *target, at)?;
                    }
                }
            }
            if let Some(s) = patch.start {
                put_latest(doc, &obj, "start", format_date(s), at)?;
            }
            if let Some(a) = patch.archived {
                put_latest(doc, &obj, "archived", a, at)?;
            }
            Ok(())
        })
    }

    /// Deletes a habit and its history (a tombstone).
    pub fn delete_habit(&mut self, now: Timestamp, id: EntityId) -> Result<()> {
        let obj = self.habit_obj(id)?;
        self.doc.edit(now, |doc| tombstone(doc, &obj, now))
    }

    /// Records the check-in of `date` (replacing that day's previous one).
    /// `today` is the user's current date: days after it cannot be checked in.
    /// A `note` of `Some("")` removes the day's note; `None` keeps it.
    pub fn check_in(
        &mut self,
        now: Timestamp,
        id: EntityId,
        date: Date,
        today: Date,
        state: CheckInState,
        note: Option<&str>,
    ) -> Result<CheckIn> {
        if date > today {
            return Err(Error::invalid(
                "date",
                "a day in the future cannot be checked in yet",
            ));
        }
        // Only the kind is needed: reading the whole habit (every check-in)
        // here made an import of years of check-ins quadratic.
        let obj = self.habit_obj(id)?;
        let numeric = self.is_numeric(&obj)?;
        match (&state, numeric) {
            (CheckInState::Value(v), true) if !v.is_finite() || *v < 0.0 || *v > MAX_VALUE => {
                return Err(Error::invalid("value", "must be a number from 0 to 10^12"));
            }
            (CheckInState::Value(_), false) => {
                return Err(Error::invalid(
                    "value",
                    "a yes/no habit is checked in as done or skipped",
                ));
            }
            (CheckInState::Done, true) => {
                return Err(Error::invalid(
                    "value",
                    "a numeric habit is checked in with a number",
                ));
            }
            _ => {}
        }
        if let Some(n) = note {
            check_text("note", n, MAX_NOTE)?;
        }
        let key = format_date(date);
        self.doc.edit(now, |doc| {
            let checkins = child(doc, &obj, "checkins")?;
            match state {
                CheckInState::Done => doc.put(&checkins, &key, "done")?,
                CheckInState::Skipped => doc.put(&checkins, &key, "skip")?,
                CheckInState::Value(v) => doc.put(&checkins, &key, v)?,
            }
            if let Some(n) = note {
                let notes = child(doc, &obj, "notes")?;
                if n.trim().is_empty() {
                    if doc.get(&notes, &key)?.is_some() {
                        doc.delete(&notes, &key)?;
                    }
                } else {
                    doc.put(&notes, &key, n)?;
                }
            }
            Ok(())
        })?;
        let doc = self.doc.automerge();
        let note = match doc.get(&obj, "notes")? {
            Some((_, notes)) => match doc.get(&notes, &key)? {
                Some((automerge::Value::Scalar(v), _)) => match v.as_ref() {
                    automerge::ScalarValue::Str(n) => Some(n.to_string()),
                    _ => None,
                },
                _ => None,
            },
            None => None,
        };
        Ok(CheckIn {
            id: EntityId::derive(&["checkin", &id.to_string(), &key]),
            habit: id,
            date,
            state,
            note,
        })
    }

    /// Whether the habit at `obj` is numeric (without reading its check-ins).
    fn is_numeric(&self, obj: &ObjId) -> Result<bool> {
        Ok(match self.doc.automerge().get(obj, "kind")? {
            Some((automerge::Value::Scalar(v), _)) => {
                matches!(v.as_ref(), automerge::ScalarValue::Str(k) if k.as_str() == "numeric")
            }
            _ => false,
        })
    }

    /// Whether a live habit `id` is in this document.
    pub fn has_habit(&self, id: EntityId) -> bool {
        self.habit_obj(id).is_ok()
    }

    /// Removes the check-in (and note) of `date`.
    pub fn clear_check_in(&mut self, now: Timestamp, id: EntityId, date: Date) -> Result<()> {
        let obj = self.habit_obj(id)?;
        let key = format_date(date);
        self.doc.edit(now, |doc| {
            for container in ["checkins", "notes"] {
                let map = child(doc, &obj, container)?;
                if doc.get(&map, &key)?.is_some() {
                    doc.delete(&map, &key)?;
                }
            }
            Ok(())
        })
    }

    /// One live habit with its check-ins.
    pub fn habit(&self, id: EntityId) -> Result<Habit> {
        let obj = self.habit_obj(id)?;
        read_habit(self.doc.automerge(), id, &obj)
    }

    /// Every live habit (archived ones included), in creation order.
    pub fn habits(&self) -> Result<Vec<Habit>> {
        let doc = self.doc.automerge();
        let habits = self.doc.collection("habits")?;
        let mut out = Vec::new();
        for item in doc.map_range(&habits, ..) {
            let id: EntityId = item
                .key
                .parse()
                .map_err(|_| Error::Corrupt(format!("habit key {:?} is not a UUID", item.key)))?;
            let obj = item.id();
            if doc.get(&obj, "deleted_at")?.is_some() {
                continue;
            }
            out.push(read_habit(doc, id, &obj)?);
        }
        Ok(out)
    }

    fn habit_obj(&self, id: EntityId) -> Result<ObjId> {
        let habits = self.doc.collection("habits")?;
        live_entity(self.doc.automerge(), &habits, "habit", id)
    }
}

fn validate_kind(kind: HabitKind) -> Result<HabitKind> {
    match kind {
        HabitKind::YesNo => Ok(HabitKind::YesNo),
        HabitKind::Numeric { unit, target } => {
            let unit = unit.trim().to_string();
            if unit.chars().count() > MAX_UNIT || unit.chars().any(char::is_control) {
                return Err(Error::invalid(
                    "unit",
                    format!("must be at most {MAX_UNIT} characters"),
                ));
            }
            if !target.is_finite() || target <= 0.0 || target > MAX_VALUE {
                return Err(Error::invalid("target", "must be a number above 0"));
            }
            Ok(HabitKind::Numeric { unit, target })
        }
    }
}

fn put_kind(doc: &mut AutoCommit, obj: &ObjId, kind: &HabitKind) -> Result<()> {
    match kind {
        HabitKind::YesNo => doc.put(obj, "kind", "yesno")?,
        HabitKind::Numeric { unit, target } => {
            doc.put(obj, "kind", "numeric")?;
            doc.put(obj, "unit", unit.as_str())?;
            doc.put(obj, "target", *target)?;
        }
    }
    Ok(())
}

fn child(doc: &AutoCommit, obj: &ObjId, key: &str) -> Result<ObjId> {
    match doc.get(obj, key)? {
        Some((automerge::Value::Object(_), id)) => Ok(id),
        _ => Err(Error::Corrupt(format!("habit has no {key} map"))),
    }
}

fn read_habit(doc: &AutoCommit, id: EntityId, obj: &ObjId) -> Result<Habit> {
    let mut name = String::new();
    let mut schedule = Schedule::Daily;
    let mut kind_name = String::from("yesno");
    let mut unit = String::new();
    let mut target = 1.0;
    let mut start = None;
    let mut archived = false;
    let mut states: Vec<(Date, CheckInState)> = Vec::new();
    let mut notes: BTreeMap<Date, String> = BTreeMap::new();
    for f in doc.map_range(obj, ..) {
        let v = &settled(doc, obj, &f)?;
        if is_null(v) {
            continue;
        }
        match f.key.as_ref() {
            "name" => name = str_of("name", v)?.to_string(),
            "schedule" => {
                schedule = str_of("schedule", v)?
                    .parse()
                    .map_err(|e: Error| Error::Corrupt(e.to_string()))?
            }
            "kind" => kind_name = str_of("kind", v)?.to_string(),
            "unit" => unit = str_of("unit", v)?.to_string(),
            "target" => target = f64_of("target", v)?,
            "start" => start = Some(date_of("start", v)?),
            "archived" => archived = bool_of("archived", v)?,
            "checkins" => {
                for c in doc.map_range(f.id(), ..) {
                    let date = parse_date("checkins", &c.key)
                        .map_err(|e| Error::Corrupt(e.to_string()))?;
                    let state = match &c.value {
                        ValueRef::Scalar(ScalarValueRef::Str(s)) if s == "done" => {
                            CheckInState::Done
                        }
                        ValueRef::Scalar(ScalarValueRef::Str(s)) if s == "skip" => {
                            CheckInState::Skipped
                        }
                        other => CheckInState::Value(f64_of("checkins", other)?),
                    };
                    states.push((date, state));
                }
            }
            "notes" => {
                for n in doc.map_range(f.id(), ..) {
                    let date =
                        parse_date("notes", &n.key).map_err(|e| Error::Corrupt(e.to_string()))?;
                    notes.insert(date, str_of("notes", &n.value)?.to_string());
                }
            }
            _ => {}
        }
    }
    let kind = match kind_name.as_str() {
        "yesno" => HabitKind::YesNo,
        "numeric" => HabitKind::Numeric { unit, target },
        other => return Err(Error::Corrupt(format!("habit kind {other:?} is unknown"))),
    };
    let start = start.ok_or_else(|| Error::Corrupt("habit has no start".into()))?;
    let id_str = id.to_string();
    let checkins = states
        .into_iter()
        .map(|(date, state)| {
            let key = format_date(date);
            let checkin = CheckIn {
                id: EntityId::derive(&["checkin", &id_str, &key]),
                habit: id,
                date,
                state,
                note: notes.remove(&date),
            };
            (date, checkin)
        })
        .collect();
    Ok(Habit {
        id,
        name,
        schedule,
        kind,
        start,
        archived,
        created_at: id.created_at(),
        checkins,
    })
}

#[cfg(test)]
mod tests;
