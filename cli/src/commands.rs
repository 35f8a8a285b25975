//! What each command does, on a [`Workspace`]: the commands that work on
//! this device's data alone. Each returns what to print, as text for people
//! and as JSON for scripts.

use lifeos_core::tasks::quick_add::AddedOn;
use lifeos_core::tasks::{Status, Task};
use lifeos_core::time::{Date, TimeOfDay, Timestamp};
use lifeos_core::{EntityId, UserData};
use serde_json::json;

use crate::workspace::Workspace;

pub mod duplicates;
pub mod export;
pub mod habits;
pub mod money;

/// A command's answer.
pub struct Answer {
    /// For people.
    pub text: String,
    /// For `--json`.
    pub json: serde_json::Value,
}

/// Why a command could not do what was asked (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The input is not acceptable (a rule of `lifeos-core` said no).
    #[error("{0}")]
    Invalid(#[from] lifeos_core::Error),
    /// No task matches, or several do.
    #[error("{0}")]
    NotFound(String),
}

/// Which tasks `task list` shows.
#[derive(Debug, Default, Clone)]
pub struct TaskFilter {
    /// One GTD list; open tasks of every list when `None` (and `all` unset).
    pub status: Option<Status>,
    /// Tasks of this project (by name, case-insensitive).
    pub project: Option<String>,
    /// Tasks with this context (without `@`).
    pub context: Option<String>,
    /// Done tasks too.
    pub all: bool,
}

/// `lifeos task add LINE`: the quick-add line, read as the web app reads it.
pub fn task_add(
    ws: &mut Workspace<'_>,
    now: Timestamp,
    today: Date,
    line: &str,
) -> Result<Answer, CommandError> {
    let id = ws
        .data
        .quick_add_task(now, today, line, AddedOn::Elsewhere)?;
    let task = ws.data.task(id)?;
    let text = format!("Added {}", describe(&ws.data, &task));
    Ok(Answer {
        text,
        json: json!({ "task": task }),
    })
}

/// `lifeos task list`.
pub fn task_list(ws: &Workspace<'_>, filter: &TaskFilter) -> Result<Answer, CommandError> {
    let projects = ws.data.projects()?;
    let project = match &filter.project {
        Some(name) => {
            let wanted = name.trim_start_matches('#').to_lowercase();
            let found = projects
                .iter()
                .find(|p| p.name.to_lowercase() == wanted)
                .ok_or_else(|| CommandError::NotFound(format!("no project named {name:?}")))?;
            Some(found.id)
        }
        None => None,
    };
    let context = filter
        .context
        .as_deref()
        .map(|c| c.trim_start_matches('@').to_lowercase());
    let mut tasks: Vec<Task> = ws
        .data
        .tasks()?
        .into_iter()
        .filter(|t| match filter.status {
            Some(s) => t.status == s,
            None => filter.all || t.is_open(),
        })
        .filter(|t| project.is_none_or(|p| t.project == Some(p)))
        .filter(|t| context.as_ref().is_none_or(|c| t.contexts.contains(c)))
        .collect();
    tasks.sort_by(|a, b| {
        (a.due.is_none(), a.due, a.created_at).cmp(&(b.due.is_none(), b.due, b.created_at))
    });
    let text = if tasks.is_empty() {
        "No tasks.".to_string()
    } else {
        tasks
            .iter()
            .map(|t| describe(&ws.data, t))
            .collect::<Vec<_>>()
            .join("\n")
    };
    Ok(Answer {
        text,
        json: json!({ "tasks": tasks }),
    })
}

/// `lifeos task done ID`: a repeating task moves to its next occurrence.
pub fn task_done(
    ws: &mut Workspace<'_>,
    now: Timestamp,
    today: Date,
    id: &str,
) -> Result<Answer, CommandError> {
    let id = find_task(&ws.data, id)?;
    let next = ws.data.complete_task(now, id, today)?;
    let task = ws.data.task(id)?;
    let text = match next {
        Some(date) => format!("Done; next time on {date}: {}", describe(&ws.data, &task)),
        None => format!("Done: {}", task.title),
    };
    Ok(Answer {
        text,
        json: json!({ "task": task, "next": next }),
    })
}

/// What `task edit` changes; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct TaskEdit {
    /// New title.
    pub title: Option<String>,
    /// New list.
    pub status: Option<Status>,
    /// New notes.
    pub notes: Option<String>,
    /// A project name, or `Some(None)` to take it out of its project.
    pub project: Option<Option<String>>,
    /// Contexts to add.
    pub add_contexts: Vec<String>,
    /// Contexts to remove.
    pub remove_contexts: Vec<String>,
    /// New due date, or `Some(None)` to clear it.
    pub due: Option<Option<Date>>,
    /// New scheduled date, or `Some(None)` to clear it.
    pub scheduled: Option<Option<Date>>,
    /// New time of day, or `Some(None)` to clear it.
    pub time: Option<Option<TimeOfDay>>,
    /// Important or not.
    pub important: Option<bool>,
    /// Urgent or not.
    pub urgent: Option<bool>,
    /// A repeat rule (`every week`, `on mon,fri`), or `none`.
    pub repeat: Option<String>,
    /// Checklist items to add.
    pub add_items: Vec<String>,
    /// Checklist items to tick, by position from 1.
    pub check_items: Vec<usize>,
    /// Checklist items to untick, by position from 1.
    pub uncheck_items: Vec<usize>,
    /// Checklist items to remove, by position from 1.
    pub remove_items: Vec<usize>,
}

/// `lifeos task edit ID ...`. A project that does not exist yet is made.
pub fn task_edit(
    ws: &mut Workspace<'_>,
    now: Timestamp,
    id: &str,
    edit: TaskEdit,
) -> Result<Answer, CommandError> {
    let id = find_task(&ws.data, id)?;
    let project = match edit.project {
        None => None,
        Some(None) => Some(None),
        Some(Some(name)) => {
            let wanted = name.trim_start_matches('#').to_string();
            let existing = ws
                .data
                .projects()?
                .into_iter()
                .find(|p| p.name.eq_ignore_ascii_case(&wanted));
            Some(Some(match existing {
                Some(p) => p.id,
                None => ws.data.add_project(now, &wanted)?,
            }))
        }
    };
    let strip = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .map(|c| c.trim_start_matches('@').to_string())
            .collect()
    };
    let recurrence = match edit.repeat.as_deref().map(str::trim) {
        None => None,
        Some(none) if none.eq_ignore_ascii_case("none") => Some(None),
        Some(rule) => Some(Some(
            rule.to_lowercase()
                .parse::<lifeos_core::tasks::Recurrence>()?,
        )),
    };
    let checklist_ops = !(edit.add_items.is_empty()
        && edit.check_items.is_empty()
        && edit.uncheck_items.is_empty()
        && edit.remove_items.is_empty());
    let patch = lifeos_core::tasks::TaskPatch {
        title: edit.title,
        status: edit.status,
        notes: edit.notes,
        project,
        add_contexts: strip(edit.add_contexts),
        remove_contexts: strip(edit.remove_contexts),
        due: edit.due,
        scheduled: edit.scheduled,
        time: edit.time,
        recurrence,
        important: edit.important,
        urgent: edit.urgent,
    };
    let fields = patch != lifeos_core::tasks::TaskPatch::default();
    if !fields && !checklist_ops {
        return Err(CommandError::NotFound(
            "nothing to change: give --title, --status, --due, --repeat, --add-item, ... (see lifeos task edit --help)"
                .into(),
        ));
    }
    // Positions are those shown before this edit, checked before anything changes.
    let items: Vec<EntityId> = ws.data.task(id)?.checklist.iter().map(|i| i.id).collect();
    let item = |n: usize| -> Result<EntityId, CommandError> {
        n.checked_sub(1)
            .and_then(|i| items.get(i).copied())
            .ok_or_else(|| {
                CommandError::NotFound(format!(
                    "the checklist has {} items: no item {n}",
                    items.len()
                ))
            })
    };
    let ticks: Vec<(EntityId, bool)> = edit
        .check_items
        .iter()
        .map(|n| item(*n).map(|i| (i, true)))
        .chain(
            edit.uncheck_items
                .iter()
                .map(|n| item(*n).map(|i| (i, false))),
        )
        .collect::<Result<_, _>>()?;
    let removed: Vec<EntityId> = edit
        .remove_items
        .iter()
        .map(|n| item(*n))
        .collect::<Result<_, _>>()?;
    if fields {
        ws.data.update_task(now, id, patch)?;
    }
    for (i, done) in ticks {
        ws.data
            .update_checklist_item(now, id, i, None, Some(done))?;
    }
    for i in removed {
        ws.data.remove_checklist_item(now, id, i)?;
    }
    for text in &edit.add_items {
        ws.data.add_checklist_item(now, id, text)?;
    }
    let task = ws.data.task(id)?;
    let mut text = format!("Changed {}", describe(&ws.data, &task));
    if let Some(rule) = &task.recurrence {
        text.push_str(&format!("\n  repeats {rule}"));
    }
    for (n, i) in task.checklist.iter().enumerate() {
        text.push_str(&format!(
            "\n  {}. [{}] {}",
            n + 1,
            if i.done { "x" } else { " " },
            i.text
        ));
    }
    Ok(Answer {
        text,
        json: json!({ "task": task }),
    })
}

/// `lifeos task rm ID`.
pub fn task_rm(ws: &mut Workspace<'_>, now: Timestamp, id: &str) -> Result<Answer, CommandError> {
    let id = find_task(&ws.data, id)?;
    let task = ws.data.task(id)?;
    ws.data.delete_task(now, id)?;
    Ok(Answer {
        text: format!("Deleted: {}", task.title),
        json: json!({ "deleted": task }),
    })
}

/// `lifeos today`.
pub fn today(ws: &Workspace<'_>, today: Date) -> Result<Answer, CommandError> {
    let view = ws.data.today(today)?;
    let mut lines = vec![format!("Today, {today}")];
    let mut section = |title: &str, tasks: &[lifeos_core::today::TodayTask]| {
        if !tasks.is_empty() {
            lines.push(format!("\n{title}"));
            lines.extend(
                tasks
                    .iter()
                    .map(|t| format!("  {}", describe(&ws.data, &t.task))),
            );
        }
    };
    section("Overdue", &view.overdue);
    section("Due today", &view.due_today);
    section("Scheduled", &view.scheduled);
    if !view.habits.is_empty() {
        lines.push("\nHabits".into());
        for h in &view.habits {
            lines.push(format!(
                "  {} ({}/{} this period)",
                h.name, h.done_in_period, h.needed_in_period
            ));
        }
    }
    if !view.expenses.is_empty() {
        let mut spent = lifeos_core::Totals::default();
        for e in &view.expenses {
            spent.add(e.amount);
        }
        let total: Vec<String> = spent.iter().map(|m| money::money_text(&m)).collect();
        lines.push(format!(
            "\nSpent today: {} ({} {})",
            total.join(" + "),
            view.expenses.len(),
            if view.expenses.len() == 1 {
                "expense"
            } else {
                "expenses"
            }
        ));
    }
    if lines.len() == 1 {
        lines.push("Nothing due. ".to_string() + "Add something: lifeos task add \"...\"");
    }
    Ok(Answer {
        text: lines.join("\n"),
        json: serde_json::to_value(&view).unwrap_or_default(),
    })
}

/// The task whose id is `given`, or ends with it (the short id `task list`
/// shows).
fn find_task(data: &UserData, given: &str) -> Result<EntityId, CommandError> {
    find_by_id(data.tasks()?.into_iter().map(|t| t.id), given, "task")
}

/// The one id among `ids` that is `given` or ends with it (at least 4
/// characters: short ids are the last 6).
pub(crate) fn find_by_id(
    ids: impl IntoIterator<Item = EntityId>,
    given: &str,
    kind: &str,
) -> Result<EntityId, CommandError> {
    let given = given.trim().to_lowercase().replace('-', "");
    if given.len() < 4 {
        return Err(CommandError::NotFound(format!(
            "{given:?} is too short to name a {kind}: give at least 4 characters of its id"
        )));
    }
    let matches: Vec<EntityId> = ids
        .into_iter()
        .filter(|id| id.to_string().replace('-', "").ends_with(&given))
        .collect();
    match matches.as_slice() {
        [one] => Ok(*one),
        [] => Err(CommandError::NotFound(format!("no {kind} with id {given}"))),
        many => Err(CommandError::NotFound(format!(
            "{} {kind}s have ids ending in {given}: give more characters",
            many.len()
        ))),
    }
}

/// The short id shown to people: the id's last 6 characters (random bits;
/// the first ones are a timestamp and alike for tasks made together).
pub fn short_id(id: EntityId) -> String {
    let s = id.to_string();
    s[s.len().saturating_sub(6)..].to_string()
}

/// One line for a task: `abc123 [next] Title  due 2026-11-27  #project @context !`.
fn describe(data: &UserData, task: &Task) -> String {
    let mut line = format!(
        "{} [{}] {}",
        short_id(task.id),
        task.status.as_str(),
        task.title
    );
    if let Some(due) = task.due {
        line.push_str(&format!("  due {due}"));
    }
    if let Some(scheduled) = task.scheduled {
        line.push_str(&format!("  starts {scheduled}"));
    }
    if let Some(time) = task.time {
        line.push_str(&format!(" {time}"));
    }
    if let Some(project) = task.project
        && let Ok(projects) = data.projects()
        && let Some(p) = projects.iter().find(|p| p.id == project)
    {
        line.push_str(&format!("  #{}", p.name));
    }
    for c in &task.contexts {
        line.push_str(&format!(" @{c}"));
    }
    if task.important {
        line.push_str(" !important");
    }
    if task.urgent {
        line.push_str(" !urgent");
    }
    if task.recurrence.is_some() {
        line.push_str(" (repeats)");
    }
    line
}
