//! Tasks: GTD lists, projects, contexts, search, the task editor, quick add.

use lifeos_core::EntityId;
use lifeos_core::tasks::quick_add::{self, AddedOn};
use lifeos_core::tasks::{Recurrence, Status, Task, TaskPatch, Unit};
use lifeos_core::time::{Date, TimeOfDay, Weekday, parse_date};
use yew::prelude::*;

use crate::app::Ctx;
use crate::runtime::{now, today};
use crate::ui::{VirtualList, checked, human_date, input_value, select_value, textarea_value};

const LISTS: [Status; 5] = [
    Status::Inbox,
    Status::Next,
    Status::Waiting,
    Status::Someday,
    Status::Done,
];

fn list_name(s: Status) -> &'static str {
    match s {
        Status::Inbox => "Inbox",
        Status::Next => "Next",
        Status::Waiting => "Waiting",
        Status::Someday => "Someday",
        Status::Done => "Done",
    }
}

/// The task's priority as quick add writes it (`p1` urgent and important,
/// `p2` important, `p3` urgent), with its meaning; none for `p4`.
fn priority(t: &Task) -> Option<(&'static str, &'static str)> {
    match (t.important, t.urgent) {
        (true, true) => Some(("p1", "Priority 1: urgent and important")),
        (true, false) => Some(("p2", "Priority 2: important")),
        (false, true) => Some(("p3", "Priority 3: urgent")),
        (false, false) => None,
    }
}

/// Props of [`QuickAdd`].
#[derive(Properties, PartialEq)]
pub struct QuickAddProps {
    /// Where it is shown: on Today, a task with no date is planned for today.
    #[prop_or(AddedOn::Elsewhere)]
    pub on: AddedOn,
}

/// What the user is told after adding `task`: where it went, so a task that
/// lands on another screen than this one is not lost from sight.
fn added_message(task: &Task, today: Date) -> String {
    let for_today = task.scheduled == Some(today) || task.due == Some(today);
    let mut text = if for_today {
        format!("Added “{}” for today", task.title)
    } else {
        format!("Added “{}” to {}", task.title, list_name(task.status))
    };
    if let Some(d) = task.due.filter(|d| *d != today) {
        text.push_str(&format!(" · due {}", human_date(d, today)));
    }
    if let Some(d) = task.scheduled.filter(|d| *d != today) {
        text.push_str(&format!(" · starts {}", human_date(d, today)));
    }
    if let Some(t) = task.time {
        text.push_str(&format!(" at {t}"));
    }
    text.push('.');
    text
}

/// One line that becomes a task: `Call mom tomorrow #family @phone`.
#[function_component]
pub fn QuickAdd(props: &QuickAddProps) -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let line = use_state(String::new);
    let on = props.on;
    let preview = quick_add::parse(&line, today())
        .ok()
        .filter(|_| !line.trim().is_empty())
        .map(|q| q.added_on(on, today()));
    let onsubmit = {
        let ctx = ctx.clone();
        let line = line.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if line.trim().is_empty() {
                ctx.toast
                    .emit("Type what the task is, like “Call mom tomorrow #family @phone”.".into());
                return;
            }
            let day = today();
            if let Some(id) = ctx.act(|d| d.quick_add_task(now(), day, &line, on)) {
                line.set(String::new());
                if let Some(task) = ctx.rt.read(|d| d.and_then(|d| d.task(id).ok())) {
                    ctx.toast.emit(added_message(&task, day));
                }
            }
        })
    };
    html! {
        <form class="quick-add" onsubmit={onsubmit} aria-label="Quick add">
            <label for="quick-add" class="sr">{ "Add a task" }</label>
            <input id="quick-add" type="text" autocomplete="off" maxlength="1000" value={(*line).clone()}
                placeholder="Add a task: Call mom tomorrow #family @phone"
                oninput={let line = line.clone(); move |e: InputEvent| line.set(input_value(&e))} />
            <button type="submit">{ "Add" }</button>
            if let Some(q) = preview {
                <p class="hint" aria-live="polite">
                    { format!("“{}”", q.title) }
                    if let Some(p) = &q.project { { format!(" · #{p}") } }
                    if q.important || q.urgent { { format!(" · {}", match (q.important, q.urgent) { (true, true) => "p1", (true, false) => "p2", _ => "p3" }) } }
                    { for q.contexts.iter().map(|c| format!(" · @{c}")) }
                    if let Some(d) = q.due { { format!(" · due {}", human_date(d, today())) } }
                    if let Some(d) = q.scheduled { { if d == today() { " · for today".to_string() } else { format!(" · starts {}", human_date(d, today())) } } }
                    if let Some(t) = q.time { { format!(" · at {t}") } }
                    if let Some(s) = q.status { { format!(" · {}", list_name(s)) } }
                </p>
            }
        </form>
    }
}

#[derive(Clone, PartialEq)]
enum Filter {
    List(Status),
    Project(EntityId),
    Context(String),
}

/// The Tasks screen.
#[function_component]
pub fn Tasks() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let filter = use_state(|| Filter::List(Status::Inbox));
    let search = use_state(String::new);
    let selected = use_state(|| None::<EntityId>);
    let all = use_memo(ctx.rev, |_| {
        let tasks = ctx.rt.tasks()?.ok()?;
        let projects = ctx.rt.read(|d| d?.projects().ok())?;
        Some((tasks, projects))
    });
    let Some((tasks, projects)) = (*all).clone() else {
        return html! { <p role="status">{ "Waiting for your account's data from the relay…" }</p> };
    };
    let mut contexts: Vec<String> = tasks
        .iter()
        .filter(|t| t.is_open())
        .flat_map(|t| t.contexts.clone())
        .collect();
    contexts.sort();
    contexts.dedup();
    let needle = search.trim().to_lowercase();
    let shown: Vec<Task> = tasks
        .iter()
        // A search looks through every task, whichever list is picked.
        .filter(|t| {
            !needle.is_empty()
                || match &*filter {
                    Filter::List(s) => t.status == *s,
                    Filter::Project(p) => t.project == Some(*p) && t.is_open(),
                    Filter::Context(c) => t.contexts.contains(c) && t.is_open(),
                }
        })
        .filter(|t| {
            needle.is_empty()
                || t.title.to_lowercase().contains(&needle)
                || t.notes.to_lowercase().contains(&needle)
        })
        .cloned()
        .collect();
    let count = |s: Status| tasks.iter().filter(|t| t.status == s).count();
    let pick = |f: Filter| {
        let filter = filter.clone();
        let selected = selected.clone();
        Callback::from(move |_| {
            filter.set(f.clone());
            selected.set(None);
        })
    };
    let date = today();
    let render = {
        let shown = shown.clone();
        let selected = selected.clone();
        let ctx = ctx.clone();
        let projects = projects.clone();
        Callback::from(move |i: usize| {
            let t = &shown[i];
            let id = t.id;
            let open = {
                let selected = selected.clone();
                Callback::from(move |_| selected.set(Some(id)))
            };
            let toggle = {
                let ctx = ctx.clone();
                let done = t.status == Status::Done;
                Callback::from(move |_| {
                    if done {
                        ctx.act(|d| d.reopen_task(now(), id, Status::Next));
                    } else if let Some(Some(next)) =
                        ctx.act(|d| d.complete_task(now(), id, today()))
                    {
                        ctx.toast.emit(format!(
                            "Done. It comes back {}.",
                            human_date(next, today())
                        ));
                    }
                })
            };
            let project = t
                .project
                .and_then(|p| projects.iter().find(|x| x.id == p))
                .map(|p| p.name.clone());
            html! {
                <div class={classes!("task-row", (*selected == Some(id)).then_some("selected"))}>
                    <input type="checkbox" checked={t.status == Status::Done} onchange={toggle}
                        aria-label={format!("{} {}", if t.status == Status::Done { "Reopen" } else { "Complete" }, t.title)} />
                    <button class="row-title" onclick={open} aria-label={format!("Edit {}", t.title)}>
                        <span class="title">{ &t.title }</span>
                        <span class="meta">
                            if let Some((p, words)) = priority(t) { <span class={classes!("prio", p)} title={words}>{ p }</span> }
                            if let Some(p) = project { <span class="project">{ format!("#{p}") }</span> }
                            { for t.contexts.iter().map(|c| html! { <span class="tag">{ format!("@{c}") }</span> }) }
                            if let Some(due) = t.due { <span class={classes!("due", (due < date && t.is_open()).then_some("late"))}>{ human_date(due, date) }</span> }
                            if let Some(time) = t.time { <span class="due time">{ time.to_string() }</span> }
                            if t.recurrence.is_some() { <span aria-label="repeats">{ "↻" }</span> }
                            if !t.checklist.is_empty() {
                                <span>{ format!("☑ {}/{}", t.checklist.iter().filter(|c| c.done).count(), t.checklist.len()) }</span>
                            }
                        </span>
                    </button>
                </div>
            }
        })
    };
    let heading = if !needle.is_empty() {
        "Search in all tasks".to_string()
    } else {
        match &*filter {
            Filter::List(s) => list_name(*s).to_string(),
            Filter::Project(p) => projects
                .iter()
                .find(|x| x.id == *p)
                .map_or("Project".into(), |p| format!("#{}", p.name)),
            Filter::Context(c) => format!("@{c}"),
        }
    };
    let detail = selected.and_then(|id| tasks.iter().find(|t| t.id == id).cloned());
    html! {
        <section class="screen tasks">
            <h1>{ "Tasks" }</h1>
            <QuickAdd />
            <div class="split">
                <nav class="sidebar" aria-label="Lists">
                    <ul class="plain">
                        { for LISTS.iter().map(|s| html! {
                            <li><button class={classes!("side", (*filter == Filter::List(*s)).then_some("active"))}
                                aria-pressed={(*filter == Filter::List(*s)).to_string()} onclick={pick(Filter::List(*s))}>
                                { list_name(*s) }<span class="count">{ count(*s) }</span></button></li>
                        }) }
                    </ul>
                    if !projects.is_empty() { <h2 class="side-h">{ "Projects" }</h2> }
                    <ul class="plain">
                        { for projects.iter().filter(|p| !p.archived).map(|p| html! {
                            <li><button class={classes!("side", (*filter == Filter::Project(p.id)).then_some("active"))}
                                aria-pressed={(*filter == Filter::Project(p.id)).to_string()} onclick={pick(Filter::Project(p.id))}>{ format!("#{}", p.name) }</button></li>
                        }) }
                    </ul>
                    if !contexts.is_empty() { <h2 class="side-h">{ "Contexts" }</h2> }
                    <ul class="plain">
                        { for contexts.iter().map(|c| html! {
                            <li><button class={classes!("side", (*filter == Filter::Context(c.clone())).then_some("active"))}
                                aria-pressed={(*filter == Filter::Context(c.clone())).to_string()} onclick={pick(Filter::Context(c.clone()))}>{ format!("@{c}") }</button></li>
                        }) }
                    </ul>
                </nav>
                <div class="list-pane">
                    <div class="list-head">
                        <h2>{ heading }<span class="count">{ shown.len() }</span></h2>
                        <label class="sr" for="task-search">{ "Search tasks" }</label>
                        <input id="task-search" type="search" placeholder="Search" value={(*search).clone()}
                            oninput={let search = search.clone(); move |e: InputEvent| search.set(input_value(&e))} />
                    </div>
                    if shown.is_empty() {
                        <p class="empty">{ "No tasks here." }</p>
                    } else {
                        <VirtualList len={shown.len()} row_height={52} render={render} label="Tasks" />
                    }
                </div>
                if let Some((key, task)) = detail.map(|t| (t.id.to_string(), t)) {
                    <TaskDetail key={key} task={task} projects={projects.clone()}
                        close={let selected = selected.clone(); Callback::from(move |_| selected.set(None))} />
                }
            </div>
        </section>
    }
}

/// Props of [`TaskDetail`].
#[derive(Properties, PartialEq)]
pub struct DetailProps {
    /// The task.
    pub task: Task,
    /// Every project, for the project field.
    pub projects: Vec<lifeos_core::tasks::Project>,
    /// Closes the editor.
    pub close: Callback<()>,
}

/// Editing one task; every field saves as soon as it changes. Beside the
/// list on wide screens, a full-screen sheet on phones; it takes the focus
/// when it opens, so the user is where the task is.
#[function_component]
pub fn TaskDetail(props: &DetailProps) -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let t = &props.task;
    let id = t.id;
    let new_item = use_state(String::new);
    let new_project = use_state(String::new);
    let drafts = crate::ui::use_drafts();
    // Saves a patch; true when it was applied.
    let patch = {
        let ctx = ctx.clone();
        move |p: TaskPatch| ctx.act(|d| d.update_task(now(), id, p)).is_some()
    };
    let on_title = {
        let patch = patch.clone();
        let drafts = drafts.clone();
        Callback::from(move |e: Event| {
            if patch(TaskPatch {
                title: Some(input_value(&e)),
                ..TaskPatch::default()
            }) {
                drafts.saved("title");
            }
        })
    };
    let on_notes = {
        let patch = patch.clone();
        let drafts = drafts.clone();
        Callback::from(move |e: Event| {
            if patch(TaskPatch {
                notes: Some(textarea_value(&e)),
                ..TaskPatch::default()
            }) {
                drafts.saved("notes");
            }
        })
    };
    let on_status = {
        let patch = patch.clone();
        let ctx = ctx.clone();
        let was_done = t.status == Status::Done;
        Callback::from(move |e: Event| {
            let Ok(s) = Status::parse(&select_value(&e)) else {
                return;
            };
            if s == Status::Done {
                ctx.act(|d| d.complete_task(now(), id, today()));
            } else if was_done {
                ctx.act(|d| d.reopen_task(now(), id, s));
            } else {
                patch(TaskPatch {
                    status: Some(s),
                    ..TaskPatch::default()
                });
            }
        })
    };
    let on_date = |field: &'static str| {
        let patch = patch.clone();
        let ctx = ctx.clone();
        Callback::from(move |e: Event| {
            let v = input_value(&e);
            let value = if v.is_empty() {
                None
            } else {
                match parse_date(field, &v) {
                    Ok(d) => Some(d),
                    Err(err) => {
                        ctx.toast.emit(crate::ui::explain(&err));
                        return;
                    }
                }
            };
            let mut p = TaskPatch::default();
            if field == "due" {
                p.due = Some(value);
            } else {
                p.scheduled = Some(value);
            }
            patch(p);
        })
    };
    let on_time = {
        let patch = patch.clone();
        let ctx = ctx.clone();
        Callback::from(move |e: Event| {
            let v = input_value(&e);
            let time = if v.is_empty() {
                None
            } else {
                match v.get(..5).unwrap_or(&v).parse::<TimeOfDay>() {
                    Ok(t) => Some(t),
                    Err(err) => {
                        ctx.toast.emit(crate::ui::explain(&err));
                        return;
                    }
                }
            };
            patch(TaskPatch {
                time: Some(time),
                ..TaskPatch::default()
            });
        })
    };
    let on_project = {
        let patch = patch.clone();
        Callback::from(move |e: Event| {
            let v = select_value(&e);
            let project = v.parse::<EntityId>().ok();
            patch(TaskPatch {
                project: Some(project),
                ..TaskPatch::default()
            });
        })
    };
    let add_project = {
        let ctx = ctx.clone();
        let new_project = new_project.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let name = new_project.trim().to_string();
            if let Some(pid) = ctx.act(|d| d.add_project(now(), &name)) {
                ctx.act(|d| {
                    d.update_task(
                        now(),
                        id,
                        TaskPatch {
                            project: Some(Some(pid)),
                            ..TaskPatch::default()
                        },
                    )
                });
                new_project.set(String::new());
                ctx.toast.emit(format!("Added the project #{name}."));
            }
        })
    };
    let on_contexts = {
        let ctx = ctx.clone();
        let drafts = drafts.clone();
        let current = t.contexts.clone();
        Callback::from(move |e: Event| {
            let wanted: Vec<String> = input_value(&e)
                .split([',', ' '])
                .map(|s| s.trim().trim_start_matches('@').to_string())
                .filter(|s| !s.is_empty())
                .collect();
            let patch = TaskPatch {
                add_contexts: wanted
                    .iter()
                    .filter(|c| !current.contains(c))
                    .cloned()
                    .collect(),
                remove_contexts: current
                    .iter()
                    .filter(|c| !wanted.contains(c))
                    .cloned()
                    .collect(),
                ..TaskPatch::default()
            };
            if ctx.act(|d| d.update_task(now(), id, patch)).is_some() {
                drafts.saved("contexts");
            }
        })
    };
    let flag = |which: &'static str| {
        let patch = patch.clone();
        Callback::from(move |e: Event| {
            let on = checked(&e);
            patch(if which == "important" {
                TaskPatch {
                    important: Some(on),
                    ..TaskPatch::default()
                }
            } else {
                TaskPatch {
                    urgent: Some(on),
                    ..TaskPatch::default()
                }
            });
        })
    };
    let on_repeat = {
        let ctx = ctx.clone();
        Callback::from(move |e: Event| {
            let v = select_value(&e);
            let rule = match v.as_str() {
                "" => Ok(None),
                "weekdays" => Recurrence::weekdays([
                    Weekday::Mon,
                    Weekday::Tue,
                    Weekday::Wed,
                    Weekday::Thu,
                    Weekday::Fri,
                ])
                .map(Some),
                "daily" => Recurrence::every(1, Unit::Day, false).map(Some),
                "weekly" => Recurrence::every(1, Unit::Week, false).map(Some),
                "monthly" => Recurrence::every(1, Unit::Month, false).map(Some),
                "yearly" => Recurrence::every(1, Unit::Year, false).map(Some),
                "after-week" => Recurrence::every(1, Unit::Week, true).map(Some),
                _ => Ok(None),
            };
            match rule {
                Ok(r) => {
                    ctx.act(|d| {
                        d.update_task(
                            now(),
                            id,
                            TaskPatch {
                                recurrence: Some(r),
                                ..TaskPatch::default()
                            },
                        )
                    });
                }
                Err(err) => ctx.toast.emit(crate::ui::explain(&err)),
            }
        })
    };
    let repeat_value = match &t.recurrence {
        None => "",
        Some(Recurrence::Weekdays { .. }) => "weekdays",
        Some(Recurrence::Every {
            n: 1,
            unit: Unit::Day,
            after_completion: false,
        }) => "daily",
        Some(Recurrence::Every {
            n: 1,
            unit: Unit::Week,
            after_completion: false,
        }) => "weekly",
        Some(Recurrence::Every {
            n: 1,
            unit: Unit::Month,
            after_completion: false,
        }) => "monthly",
        Some(Recurrence::Every {
            n: 1,
            unit: Unit::Year,
            after_completion: false,
        }) => "yearly",
        Some(Recurrence::Every {
            n: 1,
            unit: Unit::Week,
            after_completion: true,
        }) => "after-week",
        Some(_) => "custom",
    };
    let add_item = {
        let ctx = ctx.clone();
        let new_item = new_item.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            if ctx
                .act(|d| d.add_checklist_item(now(), id, &new_item))
                .is_some()
            {
                new_item.set(String::new());
            }
        })
    };
    let delete = {
        let ctx = ctx.clone();
        let close = props.close.clone();
        Callback::from(move |_| {
            let confirmed = web_sys::window()
                .and_then(|w| w.confirm_with_message("Delete this task?").ok())
                .unwrap_or(false);
            if confirmed && ctx.act(|d| d.delete_task(now(), id)).is_some() {
                close.emit(());
            }
        })
    };
    let close = props.close.reform(|_: MouseEvent| ());
    let opt = |value: &str, label: &str, current: &str| html! { <option value={value.to_string()} selected={value == current}>{ label.to_string() }</option> };
    let date_value =
        |d: Option<lifeos_core::time::Date>| d.map(crate::ui::date).unwrap_or_default();
    let sheet = use_node_ref();
    {
        let sheet = sheet.clone();
        use_effect_with(id, move |_| {
            if let Some(el) = sheet.cast::<web_sys::HtmlElement>() {
                let _ = el.focus();
                el.scroll_into_view();
            }
        });
    }
    html! {
        <aside class="detail" tabindex="-1" ref={sheet} aria-label={format!("Task: {}", t.title)}>
            <div class="row">
                <h2>{ "Task" }</h2>
                <button class="link" onclick={close} aria-label="Close the task editor">{ "✕" }</button>
            </div>
            <label for="t-title">{ "Title" }</label>
            <input id="t-title" value={drafts.show("title", t.title.clone())} oninput={drafts.oninput("title")}
                onchange={on_title} maxlength="500" />
            <div class="fields">
                <div>
                    <label for="t-status">{ "List" }</label>
                    <select id="t-status" onchange={on_status}>
                        { for LISTS.iter().map(|s| opt(s.as_str(), list_name(*s), t.status.as_str())) }
                    </select>
                </div>
                <div>
                    <label for="t-project">{ "Project" }</label>
                    <select id="t-project" onchange={on_project}>
                        <option value="" selected={t.project.is_none()}>{ "No project" }</option>
                        { for props.projects.iter().map(|p| html! {
                            <option value={p.id.to_string()} selected={t.project == Some(p.id)}>{ &p.name }</option>
                        }) }
                    </select>
                </div>
                <div>
                    <label for="t-due">{ "Due" }</label>
                    <input id="t-due" type="date" value={date_value(t.due)} onchange={on_date("due")} />
                </div>
                <div>
                    <label for="t-scheduled">{ "Scheduled" }</label>
                    <input id="t-scheduled" type="date" value={date_value(t.scheduled)} onchange={on_date("scheduled")} />
                </div>
                <div>
                    <label for="t-time">{ "Time" }</label>
                    <input id="t-time" type="time" value={t.time.map(|t| t.to_string()).unwrap_or_default()} onchange={on_time}
                        disabled={t.due.is_none() && t.scheduled.is_none()}
                        title="The time of day on the due day (or the scheduled day)" />
                </div>
                <div>
                    <label for="t-repeat">{ "Repeats" }</label>
                    <select id="t-repeat" onchange={on_repeat}>
                        { opt("", "Never", repeat_value) }
                        { opt("daily", "Every day", repeat_value) }
                        { opt("weekdays", "Every weekday", repeat_value) }
                        { opt("weekly", "Every week", repeat_value) }
                        { opt("monthly", "Every month", repeat_value) }
                        { opt("yearly", "Every year", repeat_value) }
                        { opt("after-week", "A week after done", repeat_value) }
                        if repeat_value == "custom" {
                            { opt("custom", &t.recurrence.as_ref().map(ToString::to_string).unwrap_or_default(), repeat_value) }
                        }
                    </select>
                </div>
                <div>
                    <label for="t-contexts">{ "Contexts" }</label>
                    <input id="t-contexts" value={drafts.show("contexts", t.contexts.iter().map(|c| format!("@{c}")).collect::<Vec<_>>().join(" "))}
                        oninput={drafts.oninput("contexts")} onchange={on_contexts} placeholder="@phone @home" />
                </div>
            </div>
            <fieldset class="flags">
                <legend>{ "Priority" }</legend>
                <label><input type="checkbox" checked={t.important} onchange={flag("important")} />{ " Important" }</label>
                <label><input type="checkbox" checked={t.urgent} onchange={flag("urgent")} />{ " Urgent" }</label>
            </fieldset>
            <form class="inline" onsubmit={add_project}>
                <label class="sr" for="t-new-project">{ "New project" }</label>
                <input id="t-new-project" placeholder="New project" value={(*new_project).clone()}
                    oninput={let n = new_project.clone(); move |e: InputEvent| n.set(input_value(&e))} />
                <button type="submit" class="secondary">{ "Create and assign" }</button>
            </form>
            <label for="t-notes">{ "Notes" }</label>
            <textarea id="t-notes" rows="4" value={drafts.show("notes", t.notes.clone())} oninput={drafts.oninput("notes")}
                onchange={on_notes} maxlength="20000" />
            <h3>{ "Checklist" }</h3>
            <ul class="plain checklist">
                { for t.checklist.iter().map(|item| {
                    let item_id = item.id;
                    let toggle = { let ctx = ctx.clone(); Callback::from(move |e: Event| {
                        let done = checked(&e);
                        ctx.act(|d| d.update_checklist_item(now(), id, item_id, None, Some(done)));
                    }) };
                    let remove = { let ctx = ctx.clone(); Callback::from(move |_| {
                        ctx.act(|d| d.remove_checklist_item(now(), id, item_id));
                    }) };
                    html! {
                        <li>
                            <label><input type="checkbox" checked={item.done} onchange={toggle} />{ " " }{ &item.text }</label>
                            <button class="link" onclick={remove} aria-label={format!("Remove {}", item.text)}>{ "✕" }</button>
                        </li>
                    }
                }) }
            </ul>
            <form class="inline" onsubmit={add_item}>
                <label class="sr" for="t-item">{ "New checklist item" }</label>
                <input id="t-item" placeholder="Add a step" value={(*new_item).clone()}
                    oninput={let n = new_item.clone(); move |e: InputEvent| n.set(input_value(&e))} />
                <button type="submit" class="secondary">{ "Add step" }</button>
            </form>
            <div class="row actions">
                <span class="meta">{ format!("Created {}", lifeos_core::time::format_timestamp(t.created_at).get(0..10).unwrap_or("")) }</span>
                <button class="danger" onclick={delete}>{ "Delete task" }</button>
            </div>
        </aside>
    }
}
