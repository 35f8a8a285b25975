//! Tasks the GTD way: inbox, next, waiting, someday, done; projects, contexts,
//! notes, checklists, due and scheduled dates, repetition, Eisenhower flags.
//!
//! A [`TasksDoc`] is the typed view of a `tasks` document. Each user action is
//! one Automerge change. A task is one flat map: every field is its own
//! register, so two devices that edit different fields of one task both keep
//! their edit, and of two concurrent edits of one field the later wins (edit
//! stamps, docs/schema.md "Latest edit wins"). Sets and checklists live in the same map under prefixed keys
//! (`ctx:phone`, `done:2026-11-26`, `item:<id>:text`), so nothing ever depends
//! on two devices creating the same nested container, and a task costs a third
//! of what a map with nested containers costs to load (docs/benchmarks.md).
//! The only nested object is `notes`, Automerge text created when notes are
//! first written (most tasks never have any, and an empty text object costs
//! as much to load as the rest of the task). Once it exists, concurrent edits
//! of the notes merge character by character; if two devices write the
//! *first* notes of a task concurrently, one text wins on every device and
//! the other stays in the document's history (docs/schema.md).

pub mod quadrant;
pub mod quick_add;
pub mod recurrence;

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ValueRef};
use serde::Serialize;

pub use quadrant::Quadrant;
pub use recurrence::{Recurrence, Unit};

use crate::doc::LifeDoc;
use crate::doc::fields::{
    Item, bool_of, check_text, clean_name, clear_latest, create_entity, date_of, i64_of, id_of,
    is_null, live_entity, next_stamp, put_latest, put_latest_opt_date, put_latest_opt_str,
    put_opt_date, scan_collection, settled, str_of, tombstone,
};
use crate::error::{Error, Result};
use crate::id::EntityId;
use crate::position;
use crate::schema::DocKind;
use crate::time::{Date, TimeOfDay, Timestamp, format_date, parse_date};

/// Key prefix of a context: `ctx:<name>` → `true`.
const CONTEXT: &str = "ctx:";
/// Key prefix of a completed occurrence: `done:<occurrence>` → `<day done>`.
const COMPLETION: &str = "done:";
/// Key prefix of a checklist item field: `item:<id>:text|done|pos`.
const ITEM: &str = "item:";

const MAX_TITLE: usize = 500;
const MAX_NOTES: usize = 100_000;
const MAX_CONTEXT: usize = 64;
const MAX_CHECKLIST_TEXT: usize = 500;

/// Where a task stands in GTD.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Captured, not yet clarified.
    Inbox,
    /// The next physical action.
    Next,
    /// Delegated or blocked on someone else.
    Waiting,
    /// Maybe later.
    Someday,
    /// Finished.
    Done,
}

impl Status {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Inbox => "inbox",
            Status::Next => "next",
            Status::Waiting => "waiting",
            Status::Someday => "someday",
            Status::Done => "done",
        }
    }

    /// The status named `s`.
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "inbox" => Status::Inbox,
            "next" => Status::Next,
            "waiting" => Status::Waiting,
            "someday" => Status::Someday,
            "done" => Status::Done,
            _ => {
                return Err(Error::invalid(
                    "status",
                    format!("{s:?} is not one of inbox, next, waiting, someday, done"),
                ));
            }
        })
    }
}

/// One item of a task's checklist.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChecklistItem {
    /// Stable id, so that edits find the item after concurrent inserts.
    pub id: EntityId,
    /// What to do.
    pub text: String,
    /// Whether it is ticked.
    pub done: bool,
    /// Its fractional position; items are shown in position order.
    #[serde(skip)]
    pub position: String,
}

/// A task as the user sees it. For a repeating task, `due` and `scheduled`
/// are those of the *current* occurrence.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Task {
    /// The task's id.
    pub id: EntityId,
    /// The title.
    pub title: String,
    /// GTD status.
    pub status: Status,
    /// Free-form notes.
    pub notes: String,
    /// The project it belongs to.
    pub project: Option<EntityId>,
    /// Contexts (tags), without the `@`, sorted.
    pub contexts: Vec<String>,
    /// Checklist (subtasks) in order.
    pub checklist: Vec<ChecklistItem>,
    /// Due date of the current occurrence.
    pub due: Option<Date>,
    /// Scheduled ("start on") date of the current occurrence.
    pub scheduled: Option<Date>,
    /// The time of day on its day (the due day, else the scheduled day).
    pub time: Option<TimeOfDay>,
    /// Repetition rule.
    pub recurrence: Option<Recurrence>,
    /// Eisenhower: important.
    pub important: bool,
    /// Eisenhower: flagged urgent (a near due date also makes it urgent; see [`quadrant`]).
    pub urgent: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was completed (tasks that do not repeat).
    pub completed_at: Option<Timestamp>,
    /// Completed occurrences of a repeating task: occurrence date → day it was done.
    pub completions: BTreeMap<Date, Date>,
}

impl Task {
    /// Whether the task is still to do.
    pub fn is_open(&self) -> bool {
        self.status != Status::Done
    }

    /// The Eisenhower quadrant on `today` with an urgency horizon of `horizon_days`.
    pub fn quadrant(&self, today: Date, horizon_days: u32) -> Quadrant {
        Quadrant::from_flags(
            quadrant::is_urgent(self.urgent, self.due, today, horizon_days),
            self.important,
        )
    }
}

/// A project: a named group of tasks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Project {
    /// The project's id.
    pub id: EntityId,
    /// Its name.
    pub name: String,
    /// Archived projects are hidden from pickers but keep their tasks.
    pub archived: bool,
    /// When it was created.
    pub created_at: Timestamp,
}

/// What a new task is made of. Everything but the title is optional.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewTask {
    /// The title (required, 1-500 characters).
    pub title: String,
    /// GTD status; `Inbox` when not given.
    pub status: Option<Status>,
    /// Notes.
    pub notes: String,
    /// Project.
    pub project: Option<EntityId>,
    /// Contexts, with or without `@`.
    pub contexts: Vec<String>,
    /// Checklist items' texts.
    pub checklist: Vec<String>,
    /// Due date.
    pub due: Option<Date>,
    /// Scheduled date.
    pub scheduled: Option<Date>,
    /// Time of day on the due (else scheduled) day; needs one of them.
    pub time: Option<TimeOfDay>,
    /// Repetition; needs a due or scheduled date.
    pub recurrence: Option<Recurrence>,
    /// Eisenhower flags.
    pub important: bool,
    /// Eisenhower flags.
    pub urgent: bool,
}

/// A change to some fields of a task; `None` leaves a field as it is, and for
/// clearable fields `Some(None)` clears it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskPatch {
    /// New title.
    pub title: Option<String>,
    /// New status (`Done` completes the task, see [`TasksDoc::complete_task`] for repeating ones).
    pub status: Option<Status>,
    /// New notes; merged with concurrent edits as text.
    pub notes: Option<String>,
    /// Move to or out of a project.
    pub project: Option<Option<EntityId>>,
    /// Contexts to add.
    pub add_contexts: Vec<String>,
    /// Contexts to remove.
    pub remove_contexts: Vec<String>,
    /// New due date (for a repeating task: the new date of the current occurrence).
    pub due: Option<Option<Date>>,
    /// New scheduled date.
    pub scheduled: Option<Option<Date>>,
    /// New time of day. Removing both dates removes the time too.
    pub time: Option<Option<TimeOfDay>>,
    /// New repetition rule.
    pub recurrence: Option<Option<Recurrence>>,
    /// New importance.
    pub important: Option<bool>,
    /// New urgency flag.
    pub urgent: Option<bool>,
}

/// The typed view of a `tasks` document.
#[derive(Debug)]
pub struct TasksDoc {
    doc: LifeDoc,
}

crate::doc::typed_document!(TasksDoc, DocKind::Tasks);

impl TasksDoc {
    /// Adds a task; returns its id.
    pub fn add_task(&mut self, now: Timestamp, new: NewTask) -> Result<EntityId> {
        let title = clean_name("title", &new.title, MAX_TITLE)?;
        check_text("notes", &new.notes, MAX_NOTES)?;
        let contexts = new
            .contexts
            .iter()
            .map(|c| clean_context(c))
            .collect::<Result<Vec<_>>>()?;
        let checklist = new
            .checklist
            .iter()
            .map(|t| clean_name("checklist", t, MAX_CHECKLIST_TEXT))
            .collect::<Result<Vec<_>>>()?;
        if new.recurrence.is_some() && new.due.is_none() && new.scheduled.is_none() {
            return Err(Error::invalid(
                "recurrence",
                "a repeating task needs a due or scheduled date",
            ));
        }
        if new.time.is_some() && new.due.is_none() && new.scheduled.is_none() {
            return Err(Error::invalid(
                "time",
                "a time needs a due or scheduled day",
            ));
        }
        if let Some(p) = new.project {
            self.project_obj(p)?;
        }
        let tasks = self.doc.collection("tasks")?;
        let id = EntityId::generate(now);
        self.doc.edit(now, |doc| {
            let obj = create_entity(doc, &tasks, id)?;
            doc.put(&obj, "title", title)?;
            doc.put(&obj, "status", new.status.unwrap_or(Status::Inbox).as_str())?;
            if !new.notes.is_empty() {
                let notes = doc.put_object(&obj, "notes", ObjType::Text)?;
                doc.splice_text(&notes, 0, 0, &new.notes)?;
            }
            for c in contexts {
                doc.put(&obj, format!("{CONTEXT}{c}"), true)?;
            }
            let mut last: Option<String> = None;
            for text in checklist {
                let pos = position::between(last.as_deref(), None);
                put_item(doc, &obj, EntityId::generate(now), &text, false, &pos)?;
                last = Some(pos);
            }
            if let Some(p) = new.project {
                doc.put(&obj, "project", p.to_string())?;
            }
            put_opt_date(doc, &obj, "due", new.due)?;
            put_opt_date(doc, &obj, "scheduled", new.scheduled)?;
            if let Some(t) = new.time {
                doc.put(&obj, "time", t.to_string())?;
            }
            if let Some(r) = &new.recurrence {
                doc.put(&obj, "recurrence", r.to_string())?;
            }
            // Flags are written only when set: an absent flag is false.
            if new.important {
                doc.put(&obj, "important", true)?;
            }
            if new.urgent {
                doc.put(&obj, "urgent", true)?;
            }
            if new.status == Some(Status::Done) {
                doc.put(&obj, "completed_at", now.as_millis())?;
            }
            Ok(())
        })?;
        Ok(id)
    }

    /// Changes some fields of a task.
    pub fn update_task(&mut self, now: Timestamp, id: EntityId, patch: TaskPatch) -> Result<()> {
        let current = self.task(id)?;
        let title = patch
            .title
            .as_deref()
            .map(|t| clean_name("title", t, MAX_TITLE))
            .transpose()?;
        if let Some(n) = &patch.notes {
            check_text("notes", n, MAX_NOTES)?;
        }
        let add = patch
            .add_contexts
            .iter()
            .map(|c| clean_context(c))
            .collect::<Result<Vec<_>>>()?;
        let remove = patch
            .remove_contexts
            .iter()
            .map(|c| clean_context(c))
            .collect::<Result<Vec<_>>>()?;
        if let Some(Some(p)) = patch.project {
            self.project_obj(p)?;
        }
        let recurrence = patch
            .recurrence
            .clone()
            .unwrap_or(current.recurrence.clone());
        let due = patch.due.unwrap_or(current.due);
        let scheduled = patch.scheduled.unwrap_or(current.scheduled);
        let dated = due.is_some() || scheduled.is_some();
        if matches!(patch.time, Some(Some(_))) && !dated {
            return Err(Error::invalid(
                "time",
                "a time needs a due or scheduled day",
            ));
        }
        // A task that loses its last date loses its time of day with it.
        let time = match patch.time {
            Some(t) => Some(t),
            None if !dated && current.time.is_some() => Some(None),
            None => None,
        };
        if recurrence.is_some() && due.is_none() && scheduled.is_none() {
            return Err(Error::invalid(
                "recurrence",
                "a repeating task needs a due or scheduled date",
            ));
        }
        // Moving a repeating task's dates re-anchors the series at the new date,
        // which must come after the last completed occurrence.
        let reanchor = recurrence.is_some() && (patch.due.is_some() || patch.scheduled.is_some());
        if reanchor
            && let (Some(last), Some(new_anchor)) =
                (current.completions.keys().next_back(), due.or(scheduled))
            && new_anchor <= *last
        {
            return Err(Error::invalid(
                "due",
                format!(
                    "a repeating task can only move after its last completed occurrence ({})",
                    format_date(*last)
                ),
            ));
        }
        let obj = self.task_obj(id)?;
        self.doc.edit(now, |doc| {
            let at = next_stamp(doc, &obj, now);
            if let Some(t) = title {
                put_latest(doc, &obj, "title", t, at)?;
            }
            if let Some(s) = patch.status {
                put_latest(doc, &obj, "status", s.as_str(), at)?;
                if s == Status::Done && current.status != Status::Done {
                    put_latest(doc, &obj, "completed_at", now.as_millis(), at)?;
                } else if s != Status::Done {
                    clear_latest(doc, &obj, "completed_at", at)?;
                }
            }
            if let Some(n) = &patch.notes {
                match doc.get(&obj, "notes")? {
                    Some((automerge::Value::Object(ObjType::Text), notes)) => {
                        doc.update_text(&notes, n)?
                    }
                    _ if n.is_empty() => {}
                    _ => {
                        let notes = doc.put_object(&obj, "notes", ObjType::Text)?;
                        doc.splice_text(&notes, 0, 0, n)?;
                    }
                }
            }
            if let Some(p) = patch.project {
                let p = p.map(|p| p.to_string());
                put_latest_opt_str(doc, &obj, "project", p.as_deref(), at)?;
            }
            for c in add {
                doc.put(&obj, format!("{CONTEXT}{c}"), true)?;
            }
            for c in remove {
                delete_key(doc, &obj, &format!("{CONTEXT}{c}"))?;
            }
            if reanchor {
                // Stored dates of a repeating task are the anchor of the series.
                put_latest_opt_date(doc, &obj, "due", due, at)?;
                put_latest_opt_date(doc, &obj, "scheduled", scheduled, at)?;
            } else {
                if let Some(d) = patch.due {
                    put_latest_opt_date(doc, &obj, "due", d, at)?;
                }
                if let Some(s) = patch.scheduled {
                    put_latest_opt_date(doc, &obj, "scheduled", s, at)?;
                }
            }
            if let Some(t) = time {
                let t = t.map(|t| t.to_string());
                put_latest_opt_str(doc, &obj, "time", t.as_deref(), at)?;
            }
            if let Some(r) = &patch.recurrence {
                let r = r.as_ref().map(|r| r.to_string());
                put_latest_opt_str(doc, &obj, "recurrence", r.as_deref(), at)?;
            }
            if let Some(i) = patch.important {
                put_latest(doc, &obj, "important", i, at)?;
            }
            if let Some(u) = patch.urgent {
                put_latest(doc, &obj, "urgent", u, at)?;
            }
            Ok(())
        })
    }

    /// Completes a task on `today`. A repeating task records the completion of
    /// its current occurrence and returns the next one; any other task is done.
    ///
    /// Two devices completing the same occurrence offline write the same key,
    /// so after merging there is exactly one next occurrence.
    pub fn complete_task(
        &mut self,
        now: Timestamp,
        id: EntityId,
        today: Date,
    ) -> Result<Option<Date>> {
        let task = self.task(id)?;
        match (&task.recurrence, task.due.or(task.scheduled)) {
            (Some(_), Some(occurrence)) if task.is_open() => {
                let obj = self.task_obj(id)?;
                self.doc.edit(now, |doc| {
                    doc.put(
                        &obj,
                        format!("{COMPLETION}{}", format_date(occurrence)),
                        format_date(today),
                    )?;
                    Ok(())
                })?;
                let after = self.task(id)?;
                Ok(after.due.or(after.scheduled))
            }
            _ => {
                self.update_task(
                    now,
                    id,
                    TaskPatch {
                        status: Some(Status::Done),
                        ..TaskPatch::default()
                    },
                )?;
                Ok(None)
            }
        }
    }

    /// Undoes the last completion: a done task goes back to `status`; a
    /// repeating task's latest completed occurrence becomes current again.
    pub fn reopen_task(&mut self, now: Timestamp, id: EntityId, status: Status) -> Result<()> {
        if status == Status::Done {
            return Err(Error::invalid("status", "a reopened task cannot be done"));
        }
        let task = self.task(id)?;
        if !task.is_open() {
            return self.update_task(
                now,
                id,
                TaskPatch {
                    status: Some(status),
                    ..TaskPatch::default()
                },
            );
        }
        let last = task
            .completions
            .keys()
            .next_back()
            .copied()
            .ok_or_else(|| Error::invalid("status", "the task is not completed"))?;
        let obj = self.task_obj(id)?;
        self.doc.edit(now, |doc| {
            delete_key(doc, &obj, &format!("{COMPLETION}{}", format_date(last)))
        })
    }

    /// Deletes a task (a tombstone: see docs/schema.md for concurrent edits).
    pub fn delete_task(&mut self, now: Timestamp, id: EntityId) -> Result<()> {
        let obj = self.task_obj(id)?;
        self.doc.edit(now, |doc| tombstone(doc, &obj, now))
    }

    /// Adds a checklist item at the end; returns its id.
    pub fn add_checklist_item(
        &mut self,
        now: Timestamp,
        task: EntityId,
        text: &str,
    ) -> Result<EntityId> {
        let text = clean_name("checklist", text, MAX_CHECKLIST_TEXT)?;
        let items = self.task(task)?.checklist;
        let pos = position::between(items.last().map(|i| i.position.as_str()), None);
        let obj = self.task_obj(task)?;
        let item = EntityId::generate(now);
        self.doc
            .edit(now, |doc| put_item(doc, &obj, item, &text, false, &pos))?;
        Ok(item)
    }

    /// Changes a checklist item's text or tick.
    pub fn update_checklist_item(
        &mut self,
        now: Timestamp,
        task: EntityId,
        item: EntityId,
        text: Option<&str>,
        done: Option<bool>,
    ) -> Result<()> {
        let text = text
            .map(|t| clean_name("checklist", t, MAX_CHECKLIST_TEXT))
            .transpose()?;
        self.find_item(task, item)?;
        let obj = self.task_obj(task)?;
        self.doc.edit(now, |doc| {
            let at = next_stamp(doc, &obj, now);
            if let Some(t) = text {
                put_latest(doc, &obj, &item_key(item, "text"), t, at)?;
            }
            if let Some(d) = done {
                put_latest(doc, &obj, &item_key(item, "done"), d, at)?;
            }
            Ok(())
        })
    }

    /// Moves a checklist item to just after `after` (or to the top with `None`).
    pub fn move_checklist_item(
        &mut self,
        now: Timestamp,
        task: EntityId,
        item: EntityId,
        after: Option<EntityId>,
    ) -> Result<()> {
        let items: Vec<ChecklistItem> = self
            .task(task)?
            .checklist
            .into_iter()
            .filter(|i| i.id != item)
            .collect();
        self.find_item(task, item)?;
        let index = match after {
            None => 0,
            Some(a) => {
                items
                    .iter()
                    .position(|i| i.id == a)
                    .map(|p| p + 1)
                    .ok_or(Error::NotFound {
                        kind: "checklist item",
                        id: a.to_string(),
                    })?
            }
        };
        let before = index.checked_sub(1).map(|i| items[i].position.as_str());
        let pos = position::between(before, items.get(index).map(|i| i.position.as_str()));
        let obj = self.task_obj(task)?;
        self.doc.edit(now, |doc| {
            doc.put(&obj, item_key(item, "pos"), pos)?;
            Ok(())
        })
    }

    /// Removes a checklist item.
    pub fn remove_checklist_item(
        &mut self,
        now: Timestamp,
        task: EntityId,
        item: EntityId,
    ) -> Result<()> {
        self.find_item(task, item)?;
        let obj = self.task_obj(task)?;
        self.doc.edit(now, |doc| {
            for field in ["text", "done", "pos"] {
                delete_key(doc, &obj, &item_key(item, field))?;
            }
            Ok(())
        })
    }

    /// Adds a project; returns its id.
    pub fn add_project(&mut self, now: Timestamp, name: &str) -> Result<EntityId> {
        let name = clean_name("name", name, 200)?;
        let projects = self.doc.collection("projects")?;
        let id = EntityId::generate(now);
        self.doc.edit(now, |doc| {
            let obj = create_entity(doc, &projects, id)?;
            doc.put(&obj, "name", name)?;
            Ok(())
        })?;
        Ok(id)
    }

    /// Renames or archives a project.
    pub fn update_project(
        &mut self,
        now: Timestamp,
        id: EntityId,
        name: Option<&str>,
        archived: Option<bool>,
    ) -> Result<()> {
        let name = name.map(|n| clean_name("name", n, 200)).transpose()?;
        let obj = self.project_obj(id)?;
        self.doc.edit(now, |doc| {
            let at = next_stamp(doc, &obj, now);
            if let Some(n) = name {
                put_latest(doc, &obj, "name", n, at)?;
            }
            if let Some(a) = archived {
                put_latest(doc, &obj, "archived", a, at)?;
            }
            Ok(())
        })
    }

    /// Deletes a project; its tasks keep their place and show no project.
    pub fn delete_project(&mut self, now: Timestamp, id: EntityId) -> Result<()> {
        let obj = self.project_obj(id)?;
        self.doc.edit(now, |doc| tombstone(doc, &obj, now))
    }

    /// One live task.
    pub fn task(&self, id: EntityId) -> Result<Task> {
        let obj = self.task_obj(id)?;
        read_task(self.doc.automerge(), id, &obj, &self.live_project_ids()?)?.ok_or(
            Error::NotFound {
                kind: "task",
                id: id.to_string(),
            },
        )
    }

    /// Every live task, in creation order.
    pub fn tasks(&self) -> Result<Vec<Task>> {
        self.tasks_where(|_| true)
    }

    /// Every live task that is not done (repeating tasks included): what
    /// Today and the lists need, without materialising years of done tasks.
    pub fn open_tasks(&self) -> Result<Vec<Task>> {
        self.tasks_where(|status| status != Status::Done)
    }

    fn tasks_where(&self, keep: impl Fn(Status) -> bool) -> Result<Vec<Task>> {
        let doc = self.doc.automerge();
        let tasks = self.doc.collection("tasks")?;
        let projects = self.live_project_ids()?;
        let mut readers: Vec<TaskReader> = Vec::new();
        let ids = scan_collection(doc, &tasks, "task", |i, item| {
            if readers.len() <= i {
                readers.resize_with(i + 1, TaskReader::default);
            }
            match item {
                Item::Field(key, value) => readers[i].field(key, value),
                Item::Text(key, chunk) => {
                    readers[i].text(key, chunk);
                    Ok(())
                }
            }
        })?;
        readers.resize_with(ids.len(), TaskReader::default);
        Ok(readers
            .into_iter()
            .zip(ids)
            .filter(|(r, _)| keep(r.status.unwrap_or(Status::Inbox)))
            .filter_map(|(r, id)| r.finish(id, &projects))
            .collect())
    }

    /// Every live project, in creation order.
    pub fn projects(&self) -> Result<Vec<Project>> {
        let doc = self.doc.automerge();
        let projects = self.doc.collection("projects")?;
        let mut out = Vec::new();
        'projects: for item in doc.map_range(&projects, ..) {
            let id: EntityId = item
                .key
                .parse()
                .map_err(|_| Error::Corrupt("project key is not a UUID".into()))?;
            let obj = item.id();
            let mut p = Project {
                id,
                name: String::new(),
                archived: false,
                created_at: id.created_at(),
            };
            for f in doc.map_range(&obj, ..) {
                let v = settled(doc, &obj, &f)?;
                match f.key.as_ref() {
                    "name" => p.name = str_of("name", &v)?.to_string(),
                    "archived" => p.archived = bool_of("archived", &v)?,
                    "deleted_at" => continue 'projects,
                    _ => {}
                }
            }
            out.push(p);
        }
        Ok(out)
    }

    fn find_item(&self, task: EntityId, item: EntityId) -> Result<ChecklistItem> {
        self.task(task)?
            .checklist
            .into_iter()
            .find(|i| i.id == item)
            .ok_or(Error::NotFound {
                kind: "checklist item",
                id: item.to_string(),
            })
    }

    fn task_obj(&self, id: EntityId) -> Result<ObjId> {
        let tasks = self.doc.collection("tasks")?;
        live_entity(self.doc.automerge(), &tasks, "task", id)
    }

    fn project_obj(&self, id: EntityId) -> Result<ObjId> {
        let projects = self.doc.collection("projects")?;
        live_entity(self.doc.automerge(), &projects, "project", id)
    }

    fn live_project_ids(&self) -> Result<Vec<EntityId>> {
        Ok(self.projects()?.into_iter().map(|p| p.id).collect())
    }
}

/// Normalises a context: without `@`, trimmed, lower case, no spaces or `:`.
fn clean_context(c: &str) -> Result<String> {
    let c = c.trim();
    let c = c.strip_prefix('@').unwrap_or(c).to_lowercase();
    if c.is_empty()
        || c.chars().count() > MAX_CONTEXT
        || c.chars().any(|ch| ch.is_whitespace() || ch.is_control())
    {
        return Err(Error::invalid(
            "contexts",
            format!("{c:?} is not a context (1-{MAX_CONTEXT} characters, no spaces)"),
        ));
    }
    Ok(c)
}

fn item_key(item: EntityId, field: &str) -> String {
    format!("{ITEM}{item}:{field}")
}

fn put_item(
    doc: &mut AutoCommit,
    task: &ObjId,
    item: EntityId,
    text: &str,
    done: bool,
    pos: &str,
) -> Result<()> {
    doc.put(task, item_key(item, "text"), text)?;
    doc.put(task, item_key(item, "done"), done)?;
    doc.put(task, item_key(item, "pos"), pos)?;
    Ok(())
}

fn delete_key(doc: &mut AutoCommit, obj: &ObjId, key: &str) -> Result<()> {
    if doc.get(obj, key)?.is_some() {
        doc.delete(obj, key)?;
    }
    Ok(())
}

/// Builds a task from its fields, fed one at a time (by a single-object read
/// or by a scan of the whole collection).
#[derive(Default)]
struct TaskReader {
    title: String,
    status: Option<Status>,
    notes: String,
    project: Option<EntityId>,
    contexts: Vec<String>,
    due: Option<Date>,
    scheduled: Option<Date>,
    time: Option<TimeOfDay>,
    recurrence: Option<Recurrence>,
    important: bool,
    urgent: bool,
    completed_at: Option<Timestamp>,
    completions: BTreeMap<Date, Date>,
    /// Checklist fields by item: text, done, position.
    items: BTreeMap<EntityId, (Option<String>, bool, String)>,
    deleted: bool,
}

impl TaskReader {
    fn field(&mut self, key: &str, v: &ValueRef<'_>) -> Result<()> {
        if is_null(v) {
            return Ok(());
        }
        if let Some(name) = key.strip_prefix(CONTEXT) {
            self.contexts.push(name.to_string());
            return Ok(());
        }
        if let Some(occurrence) = key.strip_prefix(COMPLETION) {
            let occurrence =
                parse_date("completions", occurrence).map_err(|e| Error::Corrupt(e.to_string()))?;
            self.completions
                .insert(occurrence, date_of("completions", v)?);
            return Ok(());
        }
        if let Some(rest) = key.strip_prefix(ITEM) {
            let bad = || Error::Corrupt(format!("checklist key {key:?}"));
            let (item, field) = rest.rsplit_once(':').ok_or_else(bad)?;
            let item: EntityId = item.parse().map_err(|_| bad())?;
            let entry = self
                .items
                .entry(item)
                .or_insert((None, false, String::new()));
            match field {
                "text" => entry.0 = Some(str_of("checklist.text", v)?.to_string()),
                "done" => entry.1 = bool_of("checklist.done", v)?,
                "pos" => entry.2 = str_of("checklist.pos", v)?.to_string(),
                _ => {}
            }
            return Ok(());
        }
        match key {
            "deleted_at" => self.deleted = true,
            "title" => self.title = str_of("title", v)?.to_string(),
            "status" => {
                self.status = Some(
                    Status::parse(str_of("status", v)?)
                        .map_err(|e| Error::Corrupt(e.to_string()))?,
                )
            }
            "project" => self.project = Some(id_of("project", v)?),
            "due" => self.due = Some(date_of("due", v)?),
            "scheduled" => self.scheduled = Some(date_of("scheduled", v)?),
            "time" => {
                self.time = Some(
                    str_of("time", v)?
                        .parse()
                        .map_err(|e: Error| Error::Corrupt(e.to_string()))?,
                )
            }
            "recurrence" => {
                self.recurrence = Some(
                    str_of("recurrence", v)?
                        .parse()
                        .map_err(|e: Error| Error::Corrupt(e.to_string()))?,
                )
            }
            "important" => self.important = bool_of("important", v)?,
            "urgent" => self.urgent = bool_of("urgent", v)?,
            "completed_at" => {
                self.completed_at = Some(Timestamp::from_millis(i64_of("completed_at", v)?))
            }
            // "notes" is a text object; its contents arrive through `text`.
            _ => {}
        }
        Ok(())
    }

    fn text(&mut self, key: &str, chunk: &str) {
        if key == "notes" {
            self.notes.push_str(chunk);
        }
    }

    /// The task, or `None` for a tombstone.
    fn finish(self, id: EntityId, live_projects: &[EntityId]) -> Option<Task> {
        if self.deleted {
            return None;
        }
        // An item removed on one device while edited on another comes back
        // with the edited field only: it is shown (edits win), at the end.
        let mut checklist: Vec<ChecklistItem> = self
            .items
            .into_iter()
            .filter_map(|(id, (text, done, position))| {
                text.map(|text| ChecklistItem {
                    id,
                    text,
                    done,
                    position,
                })
            })
            .collect();
        checklist.sort_by(|a, b| {
            (a.position.is_empty(), &a.position, a.id).cmp(&(
                b.position.is_empty(),
                &b.position,
                b.id,
            ))
        });
        let mut task = Task {
            id,
            title: self.title,
            status: self.status.unwrap_or(Status::Inbox),
            notes: self.notes,
            project: self.project.filter(|p| live_projects.contains(p)),
            contexts: self.contexts,
            checklist,
            due: self.due,
            scheduled: self.scheduled,
            time: self
                .time
                .filter(|_| self.due.is_some() || self.scheduled.is_some()),
            recurrence: self.recurrence,
            important: self.important,
            urgent: self.urgent,
            created_at: id.created_at(),
            completed_at: self.completed_at,
            completions: self.completions,
        };
        if let Some(rule) = task.recurrence.clone() {
            apply_current_occurrence(&mut task, rule);
        }
        Some(task)
    }
}

/// Reads one task; `None` for a tombstone.
fn read_task(
    doc: &AutoCommit,
    id: EntityId,
    obj: &ObjId,
    live_projects: &[EntityId],
) -> Result<Option<Task>> {
    let mut reader = TaskReader::default();
    for f in doc.map_range(obj, ..) {
        match (&f.value, f.key.as_ref()) {
            (ValueRef::Object(ObjType::Text), key) => {
                let text = doc.text(f.id())?;
                reader.text(key, &text);
            }
            (_, key) => reader.field(key, &settled(doc, obj, &f)?)?,
        }
    }
    Ok(reader.finish(id, live_projects))
}

/// Replaces a repeating task's stored anchor dates with those of its current occurrence.
fn apply_current_occurrence(t: &mut Task, rule: Recurrence) {
    let Some(anchor) = t.due.or(t.scheduled) else {
        return;
    };
    let Some((&last, &completed_on)) = t.completions.iter().next_back() else {
        return;
    };
    if last < anchor {
        // The series was moved after its last completion.
        return;
    }
    let Some(current) = rule.next(anchor, last, completed_on) else {
        return;
    };
    let shift = current - anchor;
    t.due = t.due.map(|d| d + shift);
    t.scheduled = t.scheduled.map(|s| s + shift);
}

#[cfg(test)]
mod tests;
