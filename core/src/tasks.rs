//! Tasks the GTD way: inbox, next, waiting, someday, done; projects, contexts,
//! notes, checklists, due and scheduled dates, repetition, Eisenhower flags.
//!
//! A [`TasksDoc`] is the typed view of a `tasks` document. Each user action is
//! one Automerge change. Every field is its own register, so two devices that
//! edit different fields of one task both keep their edit; notes are Automerge
//! text, so concurrent edits of the notes merge character by character.

pub mod quadrant;
pub mod recurrence;

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ReadDoc, ValueRef};
use serde::Serialize;

pub use quadrant::Quadrant;
pub use recurrence::{Recurrence, Unit};

use crate::doc::LifeDoc;
use crate::doc::fields::{
    bool_of, check_text, clean_name, create_entity, date_of, i64_of, id_of, is_null, live_entity,
    put_opt_date, put_opt_str, str_of, tombstone,
};
use crate::error::{Error, Result};
use crate::id::EntityId;
use crate::schema::DocKind;
use crate::time::{Date, Timestamp, format_date};

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

impl TasksDoc {
    /// A new, empty tasks document.
    pub fn new() -> Self {
        TasksDoc {
            doc: LifeDoc::new(DocKind::Tasks),
        }
    }

    /// Wraps a loaded document, checking that it is a tasks document.
    pub fn from_doc(doc: LifeDoc) -> Result<Self> {
        if doc.kind() != DocKind::Tasks {
            return Err(Error::Corrupt(format!(
                "expected a tasks document, found {}",
                doc.kind()
            )));
        }
        Ok(TasksDoc { doc })
    }

    /// The underlying document (sync, storage).
    pub fn doc(&self) -> &LifeDoc {
        &self.doc
    }

    /// The underlying document, mutable (sync, storage).
    pub fn doc_mut(&mut self) -> &mut LifeDoc {
        &mut self.doc
    }

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
        if let Some(p) = new.project {
            self.project_obj(p)?;
        }
        let tasks = self.doc.collection("tasks")?;
        let id = EntityId::generate(now);
        self.doc.edit(now, |doc| {
            let obj = create_entity(doc, &tasks, id, now)?;
            doc.put(&obj, "title", title)?;
            doc.put(&obj, "status", new.status.unwrap_or(Status::Inbox).as_str())?;
            let notes = doc.put_object(&obj, "notes", ObjType::Text)?;
            if !new.notes.is_empty() {
                doc.splice_text(&notes, 0, 0, &new.notes)?;
            }
            let ctx = doc.put_object(&obj, "contexts", ObjType::Map)?;
            for c in contexts {
                doc.put(&ctx, c, true)?;
            }
            let list = doc.put_object(&obj, "checklist", ObjType::List)?;
            for (i, text) in checklist.into_iter().enumerate() {
                insert_checklist_item(doc, &list, i, EntityId::generate(now), &text)?;
            }
            doc.put_object(&obj, "completions", ObjType::Map)?;
            if let Some(p) = new.project {
                doc.put(&obj, "project", p.to_string())?;
            }
            put_opt_date(doc, &obj, "due", new.due)?;
            put_opt_date(doc, &obj, "scheduled", new.scheduled)?;
            if let Some(r) = &new.recurrence {
                doc.put(&obj, "recurrence", r.to_string())?;
            }
            doc.put(&obj, "important", new.important)?;
            doc.put(&obj, "urgent", new.urgent)?;
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
            if let Some(t) = title {
                doc.put(&obj, "title", t)?;
            }
            if let Some(s) = patch.status {
                doc.put(&obj, "status", s.as_str())?;
                if s == Status::Done && current.status != Status::Done {
                    doc.put(&obj, "completed_at", now.as_millis())?;
                } else if s != Status::Done && doc.get(&obj, "completed_at")?.is_some() {
                    doc.delete(&obj, "completed_at")?;
                }
            }
            if let Some(n) = &patch.notes {
                let notes = child(doc, &obj, "notes")?;
                doc.update_text(&notes, n)?;
            }
            if let Some(p) = patch.project {
                put_opt_str(doc, &obj, "project", p.map(|p| p.to_string()).as_deref())?;
            }
            if !add.is_empty() || !remove.is_empty() {
                let ctx = child(doc, &obj, "contexts")?;
                for c in add {
                    doc.put(&ctx, c, true)?;
                }
                for c in remove {
                    if doc.get(&ctx, &c)?.is_some() {
                        doc.delete(&ctx, &c)?;
                    }
                }
            }
            if reanchor {
                // Stored dates of a repeating task are the anchor of the series.
                put_opt_date(doc, &obj, "due", due)?;
                put_opt_date(doc, &obj, "scheduled", scheduled)?;
            } else {
                if let Some(d) = patch.due {
                    put_opt_date(doc, &obj, "due", d)?;
                }
                if let Some(s) = patch.scheduled {
                    put_opt_date(doc, &obj, "scheduled", s)?;
                }
            }
            if let Some(r) = &patch.recurrence {
                put_opt_str(
                    doc,
                    &obj,
                    "recurrence",
                    r.as_ref().map(|r| r.to_string()).as_deref(),
                )?;
            }
            if let Some(i) = patch.important {
                doc.put(&obj, "important", i)?;
            }
            if let Some(u) = patch.urgent {
                doc.put(&obj, "urgent", u)?;
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
        let obj = self.task_obj(id)?;
        match (&task.recurrence, task.due.or(task.scheduled)) {
            (Some(_), Some(occurrence)) if task.is_open() => {
                self.doc.edit(now, |doc| {
                    let completions = child(doc, &obj, "completions")?;
                    doc.put(&completions, format_date(occurrence), format_date(today))?;
                    Ok(())
                })?;
                Ok(self.task(id)?.due.or(self.task(id)?.scheduled))
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
        let task = self.task(id)?;
        if status == Status::Done {
            return Err(Error::invalid("status", "a reopened task cannot be done"));
        }
        if task.is_open() {
            if let Some(last) = task.completions.keys().next_back() {
                let obj = self.task_obj(id)?;
                let key = format_date(*last);
                return self.doc.edit(now, |doc| {
                    let completions = child(doc, &obj, "completions")?;
                    doc.delete(&completions, key)?;
                    Ok(())
                });
            }
            return Err(Error::invalid("status", "the task is not completed"));
        }
        self.update_task(
            now,
            id,
            TaskPatch {
                status: Some(status),
                ..TaskPatch::default()
            },
        )
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
        let obj = self.task_obj(task)?;
        let item = EntityId::generate(now);
        self.doc.edit(now, |doc| {
            let list = child(doc, &obj, "checklist")?;
            let end = doc.length(&list);
            insert_checklist_item(doc, &list, end, item, &text)
        })?;
        Ok(item)
    }

    /// Ticks or unticks a checklist item.
    pub fn set_checklist_item_done(
        &mut self,
        now: Timestamp,
        task: EntityId,
        item: EntityId,
        done: bool,
    ) -> Result<()> {
        let obj = self.task_obj(task)?;
        self.doc.edit(now, |doc| {
            let list = child(doc, &obj, "checklist")?;
            let (_, item_obj) = find_checklist_item(doc, &list, item)?;
            doc.put(&item_obj, "done", done)?;
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
        let obj = self.task_obj(task)?;
        self.doc.edit(now, |doc| {
            let list = child(doc, &obj, "checklist")?;
            let (index, _) = find_checklist_item(doc, &list, item)?;
            doc.delete(&list, index)?;
            Ok(())
        })
    }

    /// Adds a project; returns its id.
    pub fn add_project(&mut self, now: Timestamp, name: &str) -> Result<EntityId> {
        let name = clean_name("name", name, 200)?;
        let projects = self.doc.collection("projects")?;
        let id = EntityId::generate(now);
        self.doc.edit(now, |doc| {
            let obj = create_entity(doc, &projects, id, now)?;
            doc.put(&obj, "name", name)?;
            doc.put(&obj, "archived", false)?;
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
            if let Some(n) = name {
                doc.put(&obj, "name", n)?;
            }
            if let Some(a) = archived {
                doc.put(&obj, "archived", a)?;
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
        read_task(self.doc.automerge(), id, &obj, &self.live_project_ids()?)
    }

    /// Every live task, in creation order.
    pub fn tasks(&self) -> Result<Vec<Task>> {
        let doc = self.doc.automerge();
        let tasks = self.doc.collection("tasks")?;
        let projects = self.live_project_ids()?;
        let mut out = Vec::with_capacity(doc.length(&tasks));
        for item in doc.map_range(&tasks, ..) {
            if !matches!(item.value, ValueRef::Object(ObjType::Map)) {
                continue;
            }
            let id: EntityId = item
                .key
                .parse()
                .map_err(|_| Error::Corrupt(format!("task key {:?} is not a UUID", item.key)))?;
            let obj = item.id();
            if doc.get(&obj, "deleted_at")?.is_some() {
                continue;
            }
            out.push(read_task(doc, id, &obj, &projects)?);
        }
        Ok(out)
    }

    /// Every live project, in creation order.
    pub fn projects(&self) -> Result<Vec<Project>> {
        let doc = self.doc.automerge();
        let projects = self.doc.collection("projects")?;
        let mut out = Vec::new();
        for item in doc.map_range(&projects, ..) {
            let id: EntityId = item
                .key
                .parse()
                .map_err(|_| Error::Corrupt("project key is not a UUID".into()))?;
            let obj = item.id();
            let mut p = Project {
                id,
                name: String::new(),
                archived: false,
                created_at: Timestamp::from_millis(0),
            };
            let mut deleted = false;
            for f in doc.map_range(&obj, ..) {
                match f.key.as_ref() {
                    "name" => p.name = str_of("name", &f.value)?.to_string(),
                    "archived" => p.archived = bool_of("archived", &f.value)?,
                    "created_at" => {
                        p.created_at = Timestamp::from_millis(i64_of("created_at", &f.value)?)
                    }
                    "deleted_at" => deleted = true,
                    _ => {}
                }
            }
            if !deleted {
                out.push(p);
            }
        }
        Ok(out)
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

impl Default for TasksDoc {
    fn default() -> Self {
        Self::new()
    }
}

/// Normalises a context: without `@`, trimmed, lower case, no spaces.
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

fn child(doc: &AutoCommit, obj: &ObjId, key: &str) -> Result<ObjId> {
    match doc.get(obj, key)? {
        Some((automerge::Value::Object(_), id)) => Ok(id),
        _ => Err(Error::Corrupt(format!("task has no {key} container"))),
    }
}

fn insert_checklist_item(
    doc: &mut AutoCommit,
    list: &ObjId,
    index: usize,
    id: EntityId,
    text: &str,
) -> Result<()> {
    let item = doc.insert_object(list, index, ObjType::Map)?;
    doc.put(&item, "id", id.to_string())?;
    doc.put(&item, "text", text)?;
    doc.put(&item, "done", false)?;
    Ok(())
}

fn find_checklist_item(doc: &AutoCommit, list: &ObjId, item: EntityId) -> Result<(usize, ObjId)> {
    let wanted = item.to_string();
    for i in 0..doc.length(list) {
        if let Some((_, obj)) = doc.get(list, i)?
            && let Some((v, _)) = doc.get(&obj, "id")?
            && v.as_str() == Some(wanted.as_str())
        {
            return Ok((i, obj));
        }
    }
    Err(Error::NotFound {
        kind: "checklist item",
        id: wanted,
    })
}

fn read_task(
    doc: &AutoCommit,
    id: EntityId,
    obj: &ObjId,
    live_projects: &[EntityId],
) -> Result<Task> {
    let mut t = Task {
        id,
        title: String::new(),
        status: Status::Inbox,
        notes: String::new(),
        project: None,
        contexts: Vec::new(),
        checklist: Vec::new(),
        due: None,
        scheduled: None,
        recurrence: None,
        important: false,
        urgent: false,
        created_at: Timestamp::from_millis(0),
        completed_at: None,
        completions: BTreeMap::new(),
    };
    for f in doc.map_range(obj, ..) {
        let v = &f.value;
        if is_null(v) {
            continue;
        }
        match f.key.as_ref() {
            "title" => t.title = str_of("title", v)?.to_string(),
            "status" => {
                t.status = Status::parse(str_of("status", v)?)
                    .map_err(|e| Error::Corrupt(e.to_string()))?
            }
            "notes" => t.notes = doc.text(f.id())?,
            "project" => t.project = Some(id_of("project", v)?),
            "contexts" => t.contexts = doc.keys(f.id()).collect(),
            "checklist" => t.checklist = read_checklist(doc, &f.id())?,
            "due" => t.due = Some(date_of("due", v)?),
            "scheduled" => t.scheduled = Some(date_of("scheduled", v)?),
            "recurrence" => {
                t.recurrence = Some(
                    str_of("recurrence", v)?
                        .parse()
                        .map_err(|e: Error| Error::Corrupt(e.to_string()))?,
                )
            }
            "important" => t.important = bool_of("important", v)?,
            "urgent" => t.urgent = bool_of("urgent", v)?,
            "created_at" => t.created_at = Timestamp::from_millis(i64_of("created_at", v)?),
            "completed_at" => {
                t.completed_at = Some(Timestamp::from_millis(i64_of("completed_at", v)?))
            }
            "completions" => {
                for c in doc.map_range(f.id(), ..) {
                    let occurrence = crate::time::parse_date("completions", &c.key)
                        .map_err(|e| Error::Corrupt(e.to_string()))?;
                    t.completions
                        .insert(occurrence, date_of("completions", &c.value)?);
                }
            }
            _ => {}
        }
    }
    if t.project.is_some_and(|p| !live_projects.contains(&p)) {
        t.project = None;
    }
    if let Some(rule) = t.recurrence.clone() {
        apply_current_occurrence(&mut t, rule);
    }
    Ok(t)
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

fn read_checklist(doc: &AutoCommit, list: &ObjId) -> Result<Vec<ChecklistItem>> {
    let mut items = Vec::with_capacity(doc.length(list));
    for entry in doc.list_range(list, ..) {
        let obj = entry.id();
        let mut item = ChecklistItem {
            id: EntityId::derive(&[]),
            text: String::new(),
            done: false,
        };
        for f in doc.map_range(&obj, ..) {
            match f.key.as_ref() {
                "id" => item.id = id_of("checklist.id", &f.value)?,
                "text" => item.text = str_of("checklist.text", &f.value)?.to_string(),
                "done" => item.done = bool_of("checklist.done", &f.value)?,
                _ => {}
            }
        }
        items.push(item);
    }
    Ok(items)
}

#[cfg(test)]
mod tests;
