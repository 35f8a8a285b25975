//! Likely duplicates, and merging them.
//!
//! When a device's data from before sign-in joins an account, or two devices
//! create the same thing offline, the account holds two habits "Meditate",
//! categories "Transport" and "transport", the same task twice. Every record
//! is kept (nothing is dropped silently); [`UserData::duplicates`] finds the
//! groups a person would call one thing, and [`UserData::merge_duplicates`]
//! makes them one with ordinary edits (check-ins copied, expenses and tasks
//! re-pointed, the extra entities deleted), so every other device converges
//! on the merge as on any edit. A group the user says are different things is
//! remembered in the root's settings and not offered again.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::UserData;
use crate::error::{Error, Result};
use crate::finance::{Category, ExpensePatch};
use crate::habits::{Habit, HabitKind, HabitPatch};
use crate::id::EntityId;
use crate::tasks::{Task, TaskPatch};
use crate::time::{Date, Timestamp};

/// What kind of entity a group of duplicates is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DuplicateKind {
    /// Habits of the same name and kind.
    Habit,
    /// Categories whose names differ at most in case.
    Category,
    /// Open tasks with the same title, dates, repetition and project.
    Task,
}

impl DuplicateKind {
    /// The word for one of them, for messages.
    pub fn noun(self) -> &'static str {
        match self {
            DuplicateKind::Habit => "habit",
            DuplicateKind::Category => "category",
            DuplicateKind::Task => "task",
        }
    }
}

/// Entities that are likely one thing entered twice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Duplicates {
    /// What they are.
    pub kind: DuplicateKind,
    /// The name (or title) of the one kept.
    pub name: String,
    /// The one that stays: the oldest.
    pub keep: EntityId,
    /// The ones merged into it, oldest first.
    pub others: Vec<EntityId>,
}

impl Duplicates {
    /// Every id in the group, sorted: what identifies it.
    pub fn ids(&self) -> Vec<EntityId> {
        let mut ids: Vec<EntityId> = std::iter::once(self.keep)
            .chain(self.others.iter().copied())
            .collect();
        ids.sort();
        ids
    }
}

/// A name as people compare names: trimmed, case and inner spacing ignored.
fn fold(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Groups `(key, created_at, id, name)` by key; groups of two or more, oldest kept.
fn groups<K: Ord>(
    kind: DuplicateKind,
    items: impl IntoIterator<Item = (K, Timestamp, EntityId, String)>,
) -> Vec<Duplicates> {
    let mut by_key: BTreeMap<K, Vec<(Timestamp, EntityId, String)>> = BTreeMap::new();
    for (key, created, id, name) in items {
        by_key.entry(key).or_default().push((created, id, name));
    }
    by_key
        .into_values()
        .filter(|g| g.len() > 1)
        .map(|mut g| {
            g.sort();
            let (_, keep, name) = g[0].clone();
            Duplicates {
                kind,
                name,
                keep,
                others: g[1..].iter().map(|(_, id, _)| *id).collect(),
            }
        })
        .collect()
}

/// The groups of likely duplicates among `habits`, `categories` and `tasks`
/// (only open tasks count), leaving out the groups in `apart`. A pure
/// function of the lists, so a view that keeps them can ask without reading
/// the documents again.
pub fn find(
    habits: &[Habit],
    categories: &[Category],
    tasks: &[Task],
    apart: &[Vec<EntityId>],
) -> Vec<Duplicates> {
    let mut out = Vec::new();
    out.extend(groups(
        DuplicateKind::Habit,
        habits.iter().map(|h| {
            let kind = match &h.kind {
                HabitKind::YesNo => String::new(),
                HabitKind::Numeric { unit, .. } => fold(unit),
            };
            ((fold(&h.name), kind), h.created_at, h.id, h.name.clone())
        }),
    ));
    out.extend(groups(
        DuplicateKind::Category,
        categories
            .iter()
            .filter(|c| !c.deleted)
            .map(|c| (fold(&c.name), c.created_at, c.id, c.name.clone())),
    ));
    out.extend(groups(
        DuplicateKind::Task,
        tasks.iter().filter(|t| t.is_open()).map(|t| {
            let key = (
                fold(&t.title),
                t.due,
                t.scheduled,
                t.recurrence.as_ref().map(|r| r.to_string()),
                t.project,
            );
            (key, t.created_at, t.id, t.title.clone())
        }),
    ));
    out.retain(|g| !apart.contains(&g.ids()));
    out
}

impl UserData {
    /// Every group of likely duplicates the user has not said are different.
    pub fn duplicates(&self) -> Result<Vec<Duplicates>> {
        Ok(find(
            &self.habits()?,
            &self.categories()?,
            &self.open_tasks()?,
            &self.kept_apart()?,
        ))
    }

    /// The groups the user said are different things (each sorted).
    pub fn kept_apart(&self) -> Result<Vec<Vec<EntityId>>> {
        self.root.kept_apart()
    }

    /// Records that a group is not one thing, so it is not offered again.
    /// A later duplicate of the same name makes a new group, offered anew.
    pub fn keep_apart(&mut self, now: Timestamp, group: &Duplicates) -> Result<()> {
        self.root.keep_apart(now, &group.ids())
    }

    /// Makes a group one entity: `keep` gains what the others have that it
    /// lacks, whatever pointed at the others points at `keep`, and the others
    /// are deleted (tombstones, so their history stays). The group is checked
    /// against the data as it is now, so a stale offer cannot merge the wrong things.
    pub fn merge_duplicates(&mut self, now: Timestamp, group: &Duplicates) -> Result<()> {
        if !self.is_subgroup(group)? {
            return Err(Error::invalid(
                "duplicates",
                format!(
                    "these {}s are no longer alike; look at them again",
                    group.kind.noun()
                ),
            ));
        }
        match group.kind {
            DuplicateKind::Habit => self.merge_habits(now, group),
            DuplicateKind::Category => self.merge_categories(now, group),
            DuplicateKind::Task => self.merge_tasks(now, group),
        }
    }

    /// Whether `group` is a current group or part of one (a person may merge
    /// two of three and keep the third apart).
    fn is_subgroup(&self, group: &Duplicates) -> Result<bool> {
        let ids = group.ids();
        Ok(self.duplicates()?.iter().any(|g| {
            let all = g.ids();
            g.kind == group.kind && ids.len() > 1 && ids.iter().all(|id| all.contains(id))
        }))
    }

    fn merge_habits(&mut self, now: Timestamp, group: &Duplicates) -> Result<()> {
        let keep = self.habit(group.keep)?;
        let others = group
            .others
            .iter()
            .map(|id| self.habit(*id))
            .collect::<Result<Vec<_>>>()?;
        let start = others.iter().map(|h| h.start).fold(keep.start, Date::min);
        if start < keep.start {
            // Check-ins before the kept habit's start would not count.
            let patch = HabitPatch {
                start: Some(start),
                ..HabitPatch::default()
            };
            self.update_habit(now, keep.id, patch)?;
        }
        let mut have: BTreeSet<Date> = keep.checkins.keys().copied().collect();
        for other in others {
            for (date, c) in &other.checkins {
                // A day checked in on both keeps the kept habit's check-in.
                if have.insert(*date) {
                    self.check_in(now, keep.id, *date, *date, c.state, c.note.as_deref())?;
                }
            }
            self.delete_habit(now, other.id)?;
        }
        Ok(())
    }

    fn merge_categories(&mut self, now: Timestamp, group: &Duplicates) -> Result<()> {
        if !self.missing_documents()?.is_empty() {
            return Err(Error::invalid(
                "duplicates",
                "some of your data is still loading; merge categories once it has arrived",
            ));
        }
        let keep = self
            .categories()?
            .into_iter()
            .find(|c| c.id == group.keep && !c.deleted)
            .ok_or_else(|| not_found("category", group.keep))?;
        let mut budgets = keep.budgets.clone();
        for other in &group.others {
            let other = self
                .categories()?
                .into_iter()
                .find(|c| c.id == *other && !c.deleted)
                .ok_or_else(|| not_found("category", *other))?;
            for (month, amount) in &other.budgets {
                if !budgets.contains_key(month) {
                    budgets.insert(*month, *amount);
                    self.set_budget(now, keep.id, *month, Some(*amount))?;
                }
            }
            for e in self.expenses()? {
                if e.category == Some(other.id) {
                    let patch = ExpensePatch {
                        category: Some(Some(keep.id)),
                        ..ExpensePatch::default()
                    };
                    self.update_expense(now, e.id, patch)?;
                }
            }
            self.delete_category(now, other.id)?;
        }
        Ok(())
    }

    fn merge_tasks(&mut self, now: Timestamp, group: &Duplicates) -> Result<()> {
        for other in &group.others {
            let keep = self.task(group.keep)?;
            let other = self.task(*other)?;
            let patch = TaskPatch {
                notes: (keep.notes.trim().is_empty() && !other.notes.trim().is_empty())
                    .then(|| other.notes.clone()),
                add_contexts: other
                    .contexts
                    .iter()
                    .filter(|c| !keep.contexts.contains(c))
                    .cloned()
                    .collect(),
                important: (other.important && !keep.important).then_some(true),
                urgent: (other.urgent && !keep.urgent).then_some(true),
                ..TaskPatch::default()
            };
            if patch != TaskPatch::default() {
                self.update_task(now, keep.id, patch)?;
            }
            for item in &other.checklist {
                let known = keep
                    .checklist
                    .iter()
                    .any(|k| fold(&k.text) == fold(&item.text));
                if !known {
                    let id = self.add_checklist_item(now, keep.id, &item.text)?;
                    if item.done {
                        self.update_checklist_item(now, keep.id, id, None, Some(true))?;
                    }
                }
            }
            self.delete_task(now, other.id)?;
        }
        Ok(())
    }
}

fn not_found(kind: &'static str, id: EntityId) -> Error {
    Error::NotFound {
        kind,
        id: id.to_string(),
    }
}
