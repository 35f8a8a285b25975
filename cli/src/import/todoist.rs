//! Todoist's CSV template: one project per file, rows of TYPE `task`,
//! `section`, `note` and `meta` (and empty separator rows).
//!
//! Columns are found by name (TYPE and CONTENT are required; DESCRIPTION,
//! PRIORITY, INDENT and DATE are read when present; AUTHOR, RESPONSIBLE,
//! DATE_LANG, TIMEZONE, DURATION, DEADLINE... are not). PRIORITY follows
//! Todoist's CSV files, where 1 is p1, the highest (the reverse of its
//! API's numbers), and maps as quick add maps `p1`..`p4`.
//!
//! A task's key is the project's name, the task's CONTENT and its DATE
//! words, numbered when repeated (`#2`), so a re-export of the project
//! imports only the tasks added since. Subtasks are part of their task and
//! come with it, the first time.

mod dates;

use std::path::Path;

use clap::Args;
use lifeos_core::EntityId;
use lifeos_core::tasks::{NewTask, Status};

use super::report::{Kind, Report};
use super::table::{Row, Shape, Table};
use super::{
    Clock, ImportError, ImportFile, Occurrences, Origin, Progress, label, project_named, read_file,
};
use crate::workspace::Workspace;
use dates::When;

const SOURCE: &str = "todoist";

/// `lifeos import todoist FILE`.
#[derive(Debug, Clone, Args)]
pub struct TodoistArgs {
    /// The file, and whether only to look.
    #[command(flatten)]
    pub file: ImportFile,
    /// The project the tasks go to, instead of the one the file's name
    /// gives ("Inbox": no project, the Inbox list).
    #[arg(long)]
    pub project: Option<String>,
}

/// Where the tasks go.
#[derive(Debug, Clone, PartialEq)]
enum Destination {
    /// Todoist's inbox: no project, the Inbox list.
    Inbox,
    /// A project (found by name, or made).
    Project(String),
    /// No project (a file name that gives none).
    Nowhere,
}

struct Planned {
    origin: Origin,
    key: String,
    task: NewTask,
    checklist: Vec<(String, Origin)>,
}

struct Plan {
    destination: Destination,
    tasks: Vec<Planned>,
    skipped: Vec<(u64, String)>,
    notes: Vec<String>,
}

pub(super) fn import(
    ws: &mut Workspace<'_>,
    clock: Clock<'_>,
    args: &TodoistArgs,
    report: &mut Report,
) -> Result<(), ImportError> {
    let path = &args.file.file;
    let bytes = read_file(path)?;
    let destination = destination(args.project.as_deref(), path);
    let plan = parse(label(path), &bytes, destination, clock.today)?;
    apply(ws, clock, plan, report)
}

/// `--project`, else the file's name without Todoist's ` [id]`.
fn destination(given: Option<&str>, path: &Path) -> Destination {
    let from_file;
    let name = match given {
        Some(name) => name.trim(),
        None => {
            from_file = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            strip_todoist_id(&from_file)
        }
    };
    if name.is_empty() {
        Destination::Nowhere
    } else if name.eq_ignore_ascii_case("inbox") {
        Destination::Inbox
    } else {
        Destination::Project(name.to_string())
    }
}

/// `Home [2203306141]` is `Home`.
fn strip_todoist_id(stem: &str) -> &str {
    let trimmed = stem.trim();
    if let Some(open) = trimmed.rfind(" [")
        && let Some(id) = trimmed[open + 2..].strip_suffix(']')
        && !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
    {
        return trimmed[..open].trim_end();
    }
    trimmed
}

fn parse(
    file: std::sync::Arc<str>,
    bytes: &[u8],
    destination: Destination,
    today: lifeos_core::time::Date,
) -> Result<Plan, ImportError> {
    let table = Table::read(file, bytes, &Shape::default())?;
    let cols = Columns {
        kind: table.require(&["TYPE"])?,
        content: table.require(&["CONTENT"])?,
        description: table.optional(&["DESCRIPTION"]),
        priority: table.optional(&["PRIORITY"]),
        indent: table.optional(&["INDENT"]),
        date: table.optional(&["DATE"]),
    };
    let project_key = match &destination {
        Destination::Project(name) => name.to_lowercase(),
        Destination::Inbox => "inbox".into(),
        Destination::Nowhere => String::new(),
    };
    let status = match destination {
        Destination::Inbox => Status::Inbox,
        _ => Status::Next,
    };
    let mut plan = Plan {
        destination,
        tasks: Vec::new(),
        skipped: Vec::new(),
        notes: Vec::new(),
    };
    let mut keys = Occurrences::default();
    let mut section: Option<String> = None;
    // The task that subtasks and notes below belong to.
    let mut current: Option<usize> = None;
    for row in &table.rows {
        let kind = row.get(cols.kind).to_ascii_lowercase();
        match kind.as_str() {
            "meta" => {}
            "section" => {
                section = section_context(row.get(cols.content));
                current = None;
            }
            "task" => {
                let content = row.get(cols.content);
                if content.is_empty() {
                    return Err(row.error(cols.content, "a task without CONTENT"));
                }
                let indent = indent(row, cols.indent)?;
                if indent > 1 {
                    let Some(parent) = current else {
                        return Err(row.error(
                            cols.indent.unwrap_or(cols.kind),
                            format!("a subtask (INDENT {indent}) with no task above it"),
                        ));
                    };
                    let task = &mut plan.tasks[parent];
                    let origin = Origin::new(row.at(cols.content));
                    task.checklist.push((content.to_string(), origin));
                    if let Some(d) = row.get_opt(cols.description) {
                        append(&mut task.task.notes, &format!("{content}: {d}"));
                    }
                    if let Some(date) = row.get_opt(cols.date) {
                        plan.notes.push(format!(
                            "line {}: the date {date:?} of subtask {content:?} is not kept (checklist items have no dates)",
                            row.line
                        ));
                    }
                    continue;
                }
                let date_text = row.get_opt(cols.date).unwrap_or("");
                let when = dates::read(date_text, today)
                    .map_err(|m| row.error(cols.date.unwrap_or(cols.kind), m))?;
                let mut notes = row.get_opt(cols.description).unwrap_or("").to_string();
                let (due, recurrence) = match when {
                    When::Never => (None, None),
                    When::Due(d) => (Some(d), None),
                    When::Repeats { rule, first } => (Some(first), Some(rule)),
                    When::NotUnderstood => {
                        append(&mut notes, &format!("Todoist date: {date_text}"));
                        plan.notes.push(format!(
                            "line {}: Todoist's date {date_text:?} has no LifeOS equivalent: the task has no date, the words are in its notes",
                            row.line
                        ));
                        (None, None)
                    }
                };
                let (title, mut contexts) = split_labels(content);
                contexts.extend(section.clone());
                let (important, urgent) = priority(row, cols.priority)?;
                let at_content = row.at(cols.content);
                let at_date = cols.date.map_or_else(|| at_content.clone(), |c| row.at(c));
                let origin = Origin::new(at_content.clone())
                    .with("title", at_content.clone())
                    .with("contexts", at_content)
                    .with(
                        "notes",
                        cols.description
                            .map_or_else(|| row.at(cols.kind), |c| row.at(c)),
                    )
                    .with("due", at_date.clone())
                    .with("recurrence", at_date);
                let key = keys.key(format!("{project_key}\u{1f}{content}\u{1f}{date_text}"));
                plan.tasks.push(Planned {
                    origin,
                    key,
                    task: NewTask {
                        title,
                        status: Some(status),
                        notes,
                        contexts,
                        due,
                        recurrence,
                        important,
                        urgent,
                        ..NewTask::default()
                    },
                    checklist: Vec::new(),
                });
                current = Some(plan.tasks.len() - 1);
            }
            "note" => match current {
                Some(i) => append(&mut plan.tasks[i].task.notes, row.get(cols.content)),
                None => plan.skipped.push((
                    row.line,
                    "a comment on the project or a section, not on a task".into(),
                )),
            },
            "" => {
                return Err(row.error(
                    cols.kind,
                    "a row without TYPE (task, section, note or meta)",
                ));
            }
            other => {
                return Err(row.error(
                    cols.kind,
                    format!("TYPE {other:?} is not task, section, note or meta"),
                ));
            }
        }
    }
    Ok(plan)
}

struct Columns {
    kind: usize,
    content: usize,
    description: Option<usize>,
    priority: Option<usize>,
    indent: Option<usize>,
    date: Option<usize>,
}

fn indent(row: &Row, column: Option<usize>) -> Result<u32, ImportError> {
    let Some(c) = column else { return Ok(1) };
    match row.get(c) {
        "" => Ok(1),
        s => s
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=10).contains(n))
            .ok_or_else(|| row.error(c, format!("INDENT {s:?} is not 1 to 10"))),
    }
}

/// PRIORITY 1 (p1) to 4 (p4): (important, urgent).
fn priority(row: &Row, column: Option<usize>) -> Result<(bool, bool), ImportError> {
    let Some(c) = column else {
        return Ok((false, false));
    };
    match row.get(c) {
        "1" => Ok((true, true)),
        "2" => Ok((true, false)),
        "3" => Ok((false, true)),
        "4" | "" => Ok((false, false)),
        other => Err(row.error(c, format!("PRIORITY {other:?} is not 1 (p1, highest) to 4"))),
    }
}

/// The title without its `@labels`, and the labels. A CONTENT of labels
/// only keeps them in the title too.
fn split_labels(content: &str) -> (String, Vec<String>) {
    let mut words = Vec::new();
    let mut labels = Vec::new();
    for word in content.split_whitespace() {
        match word.strip_prefix('@') {
            Some(label) if !label.is_empty() => labels.push(label.to_string()),
            _ => words.push(word),
        }
    }
    let title = if words.is_empty() {
        content.trim().to_string()
    } else {
        words.join(" ")
    };
    (title, labels)
}

/// A section's name as a context: `Next Week` is `next-week`.
fn section_context(name: &str) -> Option<String> {
    let context: String = name
        .trim_start_matches('@')
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("-")
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    (!context.is_empty()).then_some(context)
}

fn append(notes: &mut String, more: &str) {
    let more = more.trim();
    if more.is_empty() {
        return;
    }
    if !notes.is_empty() {
        notes.push_str("\n\n");
    }
    notes.push_str(more);
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
    let mut project: Option<EntityId> = None;
    for planned in plan.tasks {
        progress.step();
        let line = planned.origin.line();
        if let Some(id) = ws.session().imported(SOURCE, &planned.key)? {
            report.already(Kind::Task, line, id);
            continue;
        }
        if project.is_none()
            && let Destination::Project(name) = &plan.destination
        {
            project = Some(project_named(ws, clock.now, name, line, report, |e| {
                ImportError::Usage(format!("project {name:?}: {e}"))
            })?);
        }
        let mut task = planned.task;
        task.project = project;
        let title = task.title.clone();
        let id = ws
            .data
            .add_task(clock.now, task)
            .map_err(|e| planned.origin.refused(e))?;
        for (text, origin) in &planned.checklist {
            ws.data
                .add_checklist_item(clock.now, id, text)
                .map_err(|e| origin.refused(e))?;
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

    fn today() -> lifeos_core::time::Date {
        "2026-11-26".parse().unwrap()
    }

    fn plan(text: &str) -> Result<Plan, ImportError> {
        parse(
            std::sync::Arc::from("Home.csv"),
            text.as_bytes(),
            Destination::Project("Home".into()),
            today(),
        )
    }

    const HEADER: &str =
        "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE\n";

    #[test]
    fn file_names_give_projects() {
        let d = |p: &str| destination(None, Path::new(p));
        assert_eq!(
            d("exports/Home [2203306141].csv"),
            Destination::Project("Home".into())
        );
        assert_eq!(d("Garden.csv"), Destination::Project("Garden".into()));
        assert_eq!(d("Inbox [1].csv"), Destination::Inbox);
        assert_eq!(
            d("Plan [draft].csv"),
            Destination::Project("Plan [draft]".into())
        );
        assert_eq!(
            destination(Some(" Chores "), Path::new("x.csv")),
            Destination::Project("Chores".into())
        );
    }

    #[test]
    fn tasks_subtasks_notes_and_sections() {
        let p = plan(&format!(
            "{HEADER}meta,view_style=list,,,,,,,,\n\
             task,Repot the basil @garden @weekend,Terracotta pot,1,1,Kai (1),,2026-12-01,en,UTC\n\
             task,Buy compost,From the shed,4,2,Kai (1),,tomorrow,en,UTC\n\
             note,Get the peat-free one,,,,Kai (1),,,,\n\
             ,,,,,,,,,\n\
             section,Next Week,,,,,,,,\n\
             task,Water the ferns,,2,1,Kai (1),,every monday at 9am,en,UTC\n\
             task,Water the ferns,,2,1,Kai (1),,every monday at 9am,en,UTC\n\
             task,Call about the boiler,,3,1,,,next tuesday at noon,en,UTC\n"
        ))
        .unwrap();
        assert_eq!(p.tasks.len(), 4);
        let basil = &p.tasks[0];
        assert_eq!(basil.task.title, "Repot the basil");
        assert_eq!(basil.task.contexts, vec!["garden", "weekend"]);
        assert!(basil.task.important && basil.task.urgent);
        assert_eq!(basil.task.due, Some("2026-12-01".parse().unwrap()));
        assert_eq!(
            basil.task.notes,
            "Terracotta pot\n\nBuy compost: From the shed\n\nGet the peat-free one"
        );
        assert_eq!(basil.checklist.len(), 1);
        assert_eq!(basil.checklist[0].0, "Buy compost");
        let ferns = &p.tasks[1];
        assert_eq!(ferns.task.contexts, vec!["next-week"]);
        assert!(ferns.task.important && !ferns.task.urgent);
        assert!(ferns.task.recurrence.is_some());
        assert_eq!(ferns.task.due, Some("2026-11-30".parse().unwrap()));
        assert_ne!(
            p.tasks[1].key, p.tasks[2].key,
            "identical tasks are numbered"
        );
        assert!(p.tasks[2].key.ends_with("#2"));
        let boiler = &p.tasks[3];
        assert!(!boiler.task.important && boiler.task.urgent);
        assert_eq!(boiler.task.due, None);
        assert!(
            boiler
                .task
                .notes
                .contains("Todoist date: next tuesday at noon")
        );
        assert_eq!(p.notes.len(), 2, "{:?}", p.notes);
    }

    #[test]
    fn malformed_rows_say_where() {
        let e = |text: &str| plan(&format!("{HEADER}{text}")).err().unwrap().to_string();
        assert_eq!(
            e("task,Pay rent,,7,1,,,,,\n"),
            "Home.csv:2:4: PRIORITY \"7\" is not 1 (p1, highest) to 4"
        );
        assert_eq!(
            e("task,Pay rent,,1,1,,,2026-02-30,,\n"),
            "Home.csv:2:8: \"2026-02-30\" is not a day of the calendar"
        );
        assert_eq!(
            e("task,Orphan,,1,2,,,,,\n"),
            "Home.csv:2:5: a subtask (INDENT 2) with no task above it"
        );
        assert_eq!(
            e("tsak,Typo,,1,1,,,,,\n"),
            "Home.csv:2:1: TYPE \"tsak\" is not task, section, note or meta"
        );
        assert_eq!(
            e("task,,,1,1,,,,,\n"),
            "Home.csv:2:2: a task without CONTENT"
        );
        let no_content = plan("TYPE,TEXT\ntask,x\n").err().unwrap().to_string();
        assert_eq!(
            no_content,
            "Home.csv:1:1: the header has no CONTENT column (it has: TYPE, TEXT)"
        );
    }

    #[test]
    fn no_input_panics() {
        let fixture = include_bytes!("../../tests/fixtures/todoist/Home [2203306141].csv");
        for bytes in crate::import::mangled(fixture) {
            let _ = parse(
                std::sync::Arc::from("x.csv"),
                &bytes,
                Destination::Inbox,
                today(),
            );
        }
    }

    #[test]
    fn labels_only_and_odd_sections() {
        assert_eq!(
            split_labels("@errands"),
            ("@errands".to_string(), vec!["errands".to_string()])
        );
        assert_eq!(
            split_labels("Mail bob@example.com  @ now"),
            ("Mail bob@example.com @ now".to_string(), vec![])
        );
        assert_eq!(section_context("  "), None);
        assert_eq!(section_context("@Waiting  for"), Some("waiting-for".into()));
    }
}
