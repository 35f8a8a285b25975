//! Taskwarrior's `task export`: a JSON array of tasks (older versions wrote
//! one object per line; both are read).
//!
//! Every task and field keeps where it is in the file, so a wrong value is
//! reported at its line and column, as JSON syntax errors are. Times
//! (`20261126T230000Z`, UTC) become dates in the user's time zone: a task
//! due at local midnight is due that day. The key is the task's uuid.
//!
//! Status: `pending` and `waiting` are Next (a waiting task starts on its
//! wait date), `completed` is Done, `deleted` is skipped, `recurring` (a
//! template) is one repeating task whose instances (tasks with a `parent`)
//! are skipped. Priority H is important and urgent, M important, L nothing:
//! the same ladder as Todoist's p1-p3, and LifeOS derives urgency from near
//! due dates anyway, as Taskwarrior's urgency does.

mod json;
mod recur;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use lifeos_core::EntityId;
use lifeos_core::tasks::{NewTask, Status, TaskPatch};
use lifeos_core::time::{Date, Timestamp};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::report::{Kind, Report};
use super::{
    Clock, ImportError, Location, MAX_RECORDS, Origin, Progress, label, project_named, read_file,
};
use crate::workspace::Workspace;
use json::{Object, Source, instant};

const SOURCE: &str = "taskwarrior";

pub(super) fn import(
    ws: &mut Workspace<'_>,
    clock: Clock<'_>,
    path: &Path,
    report: &mut Report,
) -> Result<(), ImportError> {
    let bytes = read_file(path)?;
    let plan = parse(label(path), &bytes, clock)?;
    apply(ws, clock, plan, report)
}

#[derive(Deserialize)]
struct Annotation {
    entry: Option<String>,
    description: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TwStatus {
    Pending,
    Waiting,
    Completed,
    Deleted,
    Recurring,
}

/// A task as read, before the file as a whole is looked at.
struct Read {
    origin: Origin,
    uuid: String,
    status: TwStatus,
    description: String,
    entry: Option<Timestamp>,
    end: Option<Timestamp>,
    due: Option<Date>,
    scheduled: Option<Date>,
    wait: Option<Date>,
    project: Option<(String, Location)>,
    tags: Vec<String>,
    priority: (bool, bool),
    annotations: Vec<String>,
    recur: Option<String>,
    parent: Option<String>,
    depends: Vec<String>,
}

/// A task to import.
struct Planned {
    origin: Origin,
    key: String,
    task: NewTask,
    project: Option<(String, Location)>,
    created: Option<Timestamp>,
    completed: Option<Option<Timestamp>>,
}

struct Plan {
    tasks: Vec<Planned>,
    skipped: Vec<(u64, String)>,
    notes: Vec<String>,
}

fn parse(file: Arc<str>, bytes: &[u8], clock: Clock<'_>) -> Result<Plan, ImportError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let source = Source::new(
            file.clone(),
            std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
        );
        ImportError::invalid(source.locate(e.valid_up_to()), "not UTF-8 text")
    })?;
    let source = Source::new(file, text);
    let elements: Vec<&RawValue> = if text.trim_start().starts_with('[') {
        serde_json::from_str(text).map_err(|e| source.syntax(&e))?
    } else {
        serde_json::Deserializer::from_str(text)
            .into_iter::<&RawValue>()
            .collect::<Result<_, _>>()
            .map_err(|e| source.syntax(&e))?
    };
    if elements.len() > MAX_RECORDS {
        return Err(ImportError::Unusable {
            path: source.file.to_string(),
            message: format!("has more than {MAX_RECORDS} tasks: split it"),
        });
    }
    let mut read = Vec::with_capacity(elements.len());
    for raw in elements {
        let at = source.at(raw);
        let fields = serde_json::from_str(raw.get())
            .map_err(|_| ImportError::invalid(at.clone(), "a task must be a JSON object"))?;
        read.push(read_task(
            &Object {
                source: &source,
                at,
                fields,
            },
            clock,
        )?);
    }
    plan(read, clock)
}

fn read_task(o: &Object<'_, '_>, clock: Clock<'_>) -> Result<Read, ImportError> {
    let uuid = o
        .string("uuid")?
        .ok_or_else(|| ImportError::invalid(o.at.clone(), "a task without \"uuid\""))?;
    if uuid.len() > 64 {
        return Err(ImportError::invalid(
            o.field_at("uuid"),
            "\"uuid\" is too long to be a uuid",
        ));
    }
    let description = o
        .string("description")?
        .ok_or_else(|| ImportError::invalid(o.at.clone(), "a task without \"description\""))?;
    let status = match o.string("status")?.as_deref() {
        Some("pending") | None => TwStatus::Pending,
        Some("waiting") => TwStatus::Waiting,
        Some("completed") => TwStatus::Completed,
        Some("deleted") => TwStatus::Deleted,
        Some("recurring") => TwStatus::Recurring,
        Some(other) => {
            return Err(ImportError::invalid(
                o.field_at("status"),
                format!(
                    "status {other:?} is not pending, waiting, completed, deleted or recurring"
                ),
            ));
        }
    };
    let priority = match o.string("priority")?.as_deref() {
        Some("H") => (true, true),
        Some("M") => (true, false),
        Some("L") | None => (false, false),
        Some(other) => {
            return Err(ImportError::invalid(
                o.field_at("priority"),
                format!("priority {other:?} is not H, M or L"),
            ));
        }
    };
    let annotations: Vec<Annotation> = o
        .value("annotations", "a list of {entry, description} objects")?
        .unwrap_or_default();
    let mut notes = Vec::new();
    for a in annotations {
        let day = a
            .entry
            .as_deref()
            .and_then(instant)
            .and_then(|t| lifeos_core::time::today_in(clock.zone, t).ok());
        notes.push(match day {
            Some(d) => format!("{d}: {}", a.description.trim()),
            None => a.description.trim().to_string(),
        });
    }
    let origin = Origin::new(o.at.clone())
        .with("title", o.field_at("description"))
        .with("contexts", o.field_at("tags"))
        .with("notes", o.field_at("annotations"))
        .with("due", o.field_at("due"))
        .with("scheduled", o.field_at("scheduled"))
        .with("recurrence", o.field_at("recur"));
    Ok(Read {
        origin,
        uuid: uuid.to_lowercase(),
        status,
        description,
        entry: o.instant("entry")?,
        end: o.instant("end")?,
        due: o.date("due", clock.zone)?,
        scheduled: o.date("scheduled", clock.zone)?,
        wait: o.date("wait", clock.zone)?,
        project: o.string("project")?.map(|p| (p, o.field_at("project"))),
        tags: o.strings("tags")?,
        priority,
        annotations: notes,
        recur: o.string("recur")?,
        parent: o.string("parent")?.map(|p| p.to_lowercase()),
        depends: o
            .strings("depends")?
            .into_iter()
            .map(|d| d.to_lowercase())
            .collect(),
    })
}

/// The file as a whole: duplicates, repeating tasks and their instances,
/// dependencies by name.
fn plan(read: Vec<Read>, clock: Clock<'_>) -> Result<Plan, ImportError> {
    let mut first_line: HashMap<&str, u64> = HashMap::new();
    for t in &read {
        if let Some(line) = first_line.insert(&t.uuid, t.origin.line()) {
            return Err(ImportError::invalid(
                t.origin.at.clone(),
                format!("uuid {} appears twice (first on line {line})", t.uuid),
            ));
        }
    }
    let by_uuid: HashMap<&str, &Read> = read.iter().map(|t| (t.uuid.as_str(), t)).collect();
    // The first open occurrence of each repeating task: where it starts.
    let mut next_due: HashMap<&str, Date> = HashMap::new();
    for t in &read {
        if let (Some(parent), Some(due)) = (&t.parent, t.due)
            && matches!(t.status, TwStatus::Pending | TwStatus::Waiting)
        {
            let first = next_due.entry(parent.as_str()).or_insert(due);
            *first = (*first).min(due);
        }
    }
    let mut plan = Plan {
        tasks: Vec::new(),
        skipped: Vec::new(),
        notes: Vec::new(),
    };
    for t in &read {
        let line = t.origin.line();
        if t.status == TwStatus::Deleted {
            plan.skipped
                .push((line, format!("{:?}: deleted in Taskwarrior", t.description)));
            continue;
        }
        if let Some(template) = t.parent.as_deref().and_then(|p| by_uuid.get(p)) {
            plan.skipped.push((
                line,
                format!(
                    "{:?}: an occurrence of a repeating task, imported with it (line {})",
                    t.description,
                    template.origin.line()
                ),
            ));
            continue;
        }
        let mut notes = t.annotations.clone();
        for d in &t.depends {
            let what = by_uuid
                .get(d.as_str())
                .map_or(d.as_str(), |o| o.description.as_str());
            notes.push(format!("Blocked by: {what}"));
        }
        let done = t.status == TwStatus::Completed;
        let mut due = t.due;
        let mut recurrence = None;
        if let Some(words) = &t.recur
            && !done
        {
            match recur::rule(words) {
                Some(rule) => {
                    if t.status == TwStatus::Recurring {
                        due = next_due.get(t.uuid.as_str()).copied().or(due);
                    }
                    if due.is_some() || t.scheduled.is_some() {
                        recurrence = Some(rule);
                    }
                }
                None => {
                    notes.push(format!("Repeats in Taskwarrior: {words}"));
                    plan.notes.push(format!(
                        "line {line}: Taskwarrior's recurrence {words:?} has no LifeOS equivalent: {:?} does not repeat, the words are in its notes",
                        t.description
                    ));
                }
            }
        }
        let scheduled = t.scheduled.or(t
            .wait
            .filter(|w| t.status == TwStatus::Waiting || *w > clock.today));
        plan.tasks.push(Planned {
            origin: t.origin.clone(),
            key: t.uuid.clone(),
            task: NewTask {
                title: t.description.clone(),
                status: Some(Status::Next),
                notes: notes.join("\n"),
                contexts: t.tags.clone(),
                due,
                scheduled,
                recurrence,
                important: t.priority.0,
                urgent: t.priority.1,
                ..NewTask::default()
            },
            project: t.project.clone(),
            created: t.entry,
            completed: done.then_some(t.end),
        });
    }
    Ok(plan)
}

fn apply(
    ws: &mut Workspace<'_>,
    clock: Clock<'_>,
    plan: Plan,
    report: &mut Report,
) -> Result<(), ImportError> {
    for (line, reason) in plan.skipped {
        report.skipped(line, reason);
    }
    for note in plan.notes {
        report.note(note);
    }
    let progress = Progress::new(plan.tasks.len());
    let mut projects: HashMap<String, EntityId> = HashMap::new();
    for planned in plan.tasks {
        progress.step();
        let line = planned.origin.line();
        if let Some(id) = ws.session().imported(SOURCE, &planned.key)? {
            report.already(Kind::Task, line, id);
            continue;
        }
        let mut task = planned.task;
        if let Some((name, at)) = &planned.project {
            let id = match projects.get(&name.to_lowercase()) {
                Some(id) => *id,
                None => {
                    let id = project_named(ws, clock.now, name, line, report, |e| {
                        ImportError::invalid(at.clone(), e.to_string())
                    })?;
                    projects.insert(name.to_lowercase(), id);
                    id
                }
            };
            task.project = Some(id);
        }
        let title = task.title.clone();
        let id = ws
            .data
            .add_task(planned.created.unwrap_or(clock.now), task)
            .map_err(|e| planned.origin.refused(e))?;
        if let Some(end) = planned.completed {
            let patch = TaskPatch {
                status: Some(Status::Done),
                ..TaskPatch::default()
            };
            ws.data
                .update_task(end.unwrap_or(clock.now), id, patch)
                .map_err(|e| planned.origin.refused(e))?;
        }
        ws.session()
            .record_import(SOURCE, &planned.key, &id.to_string(), clock.now.as_millis())?;
        report.created(Kind::Task, id, line, title);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> Clock<'static> {
        Clock {
            now: Timestamp::from_millis(1_795_000_000_000),
            today: "2026-11-26".parse().unwrap(),
            zone: "Europe/Paris",
        }
    }

    fn plan_of(text: &str) -> Result<Plan, ImportError> {
        parse(Arc::from("tw.json"), text.as_bytes(), clock())
    }

    #[test]
    fn tasks_statuses_and_recurrence() {
        let p = plan_of(
            r#"[
{"uuid":"A1","description":"Fix the fence","status":"pending","entry":"20261101T090000Z","due":"20261129T230000Z","project":"Home.Garden","tags":["outside","weekend"],"priority":"H","annotations":[{"entry":"20261102T100000Z","description":"Posts are rotten"}],"depends":["b2"]},
{"uuid":"b2","description":"Buy posts","status":"completed","entry":"20261101T090000Z","end":"20261103T170000Z","priority":"M"},
{"uuid":"c3","description":"Old idea","status":"deleted"},
{"uuid":"d4","description":"Water plants","status":"recurring","recur":"weekly","due":"20261001T220000Z"},
{"uuid":"e5","description":"Water plants","status":"pending","parent":"d4","recur":"weekly","due":"20261202T230000Z"},
{"uuid":"f6","description":"Renew passport","status":"waiting","wait":"20261214T230000Z"},
{"uuid":"g7","description":"Check smoke alarm","status":"pending","recur":"every blue moon","due":"20261205T230000Z"}
]"#,
        )
        .unwrap();
        assert_eq!(p.tasks.len(), 5, "deleted and the instance are skipped");
        assert_eq!(p.skipped.len(), 2);
        let fence = &p.tasks[0];
        assert_eq!(fence.key, "a1");
        assert_eq!(
            fence.task.due,
            Some("2026-11-30".parse().unwrap()),
            "local midnight in Paris"
        );
        assert_eq!(fence.task.contexts, vec!["outside", "weekend"]);
        assert!(fence.task.important && fence.task.urgent);
        assert_eq!(
            fence.task.notes,
            "2026-11-02: Posts are rotten\nBlocked by: Buy posts"
        );
        assert_eq!(fence.project.as_ref().unwrap().0, "Home.Garden");
        let posts = &p.tasks[1];
        assert!(posts.task.important && !posts.task.urgent);
        assert!(matches!(posts.completed, Some(Some(_))));
        let water = &p.tasks[2];
        assert_eq!(
            water.task.recurrence.as_ref().unwrap().to_string(),
            "every 1 weeks"
        );
        assert_eq!(
            water.task.due,
            Some("2026-12-03".parse().unwrap()),
            "its first open occurrence"
        );
        let passport = &p.tasks[3];
        assert_eq!(passport.task.scheduled, Some("2026-12-15".parse().unwrap()));
        let alarm = &p.tasks[4];
        assert!(alarm.task.recurrence.is_none());
        assert!(alarm.task.notes.contains("every blue moon"));
        assert_eq!(p.notes.len(), 1);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = |text: &str| plan_of(text).err().unwrap().to_string();
        assert_eq!(
            e("[\n{\"uuid\":\"a\",\"description\":\"x\",}\n]"),
            "tw.json:2:31: not valid JSON: key must be a string"
        );
        assert_eq!(
            e("[\n  {\"uuid\":\"a\",\"description\":\"x\",\"due\":\"tomorrow\"}\n]"),
            "tw.json:2:39: \"due\": \"tomorrow\" is not a Taskwarrior time (like 20261126T120000Z)"
        );
        assert_eq!(
            e("[{\"uuid\":\"a\",\"description\":\"x\",\"status\":\"done\"}]"),
            "tw.json:1:41: status \"done\" is not pending, waiting, completed, deleted or recurring"
        );
        assert_eq!(
            e("[{\"uuid\":\"a\",\"description\":7}]"),
            "tw.json:1:28: \"description\" must be a string"
        );
        assert_eq!(e("[\n 3\n]"), "tw.json:2:2: a task must be a JSON object");
        assert_eq!(
            e("[{\"uuid\":\"a\",\"description\":\"x\"},\n{\"uuid\":\"A\",\"description\":\"y\"}]"),
            "tw.json:2:1: uuid a appears twice (first on line 1)"
        );
        assert_eq!(
            e("[{\"description\":\"x\"}]"),
            "tw.json:1:2: a task without \"uuid\""
        );
    }

    #[test]
    fn no_input_panics() {
        let fixture = include_bytes!("../../tests/fixtures/taskwarrior/export.json");
        for bytes in crate::import::mangled(fixture) {
            let _ = parse(Arc::from("x.json"), &bytes, clock());
        }
    }

    #[test]
    fn one_object_per_line_is_read_too() {
        let p = plan_of(
            "{\"uuid\":\"a\",\"description\":\"One\"}\n{\"uuid\":\"b\",\"description\":\"Two\",\"depends\":\"a\"}\n",
        )
        .unwrap();
        assert_eq!(p.tasks.len(), 2);
        assert_eq!(p.tasks[1].task.notes, "Blocked by: One");
        assert_eq!(p.tasks[1].origin.line(), 2);
    }
}
