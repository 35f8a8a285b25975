//! The Eisenhower matrix: open tasks by urgency and importance; moving a task
//! between quadrants sets its flags (a due date inside the urgency horizon
//! keeps a task urgent, as the rule in `lifeos-core` says).

use lifeos_core::tasks::{Quadrant, TaskPatch};
use yew::prelude::*;

use crate::app::Ctx;
use crate::runtime::{now, today};
use crate::screens::tasks::TaskDetail;
use crate::screens::today::quadrant_label;
use crate::ui::{human_date, select_value};

const QUADRANTS: [(Quadrant, &str); 4] = [
    (Quadrant::DoFirst, "Urgent and important"),
    (Quadrant::Schedule, "Important, not urgent"),
    (Quadrant::Delegate, "Urgent, not important"),
    (Quadrant::Eliminate, "Neither"),
];

fn parse_quadrant(s: &str) -> Option<Quadrant> {
    QUADRANTS.iter().map(|(q, _)| *q).find(|q| q.as_str() == s)
}

/// The Matrix screen.
#[function_component]
pub fn Matrix() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let date = today();
    let dragged = use_state(|| None::<lifeos_core::EntityId>);
    let selected = use_state(|| None::<lifeos_core::EntityId>);
    let data = use_memo((ctx.rev, date), |(_, date)| {
        let horizon = ctx.rt.read(|d| d?.settings().ok())?.urgent_within_days;
        let tasks = ctx.rt.tasks()?.ok()?;
        Some(
            tasks
                .iter()
                .filter(|t| t.is_open())
                .map(|t| (t.quadrant(*date, horizon), t.clone()))
                .collect::<Vec<_>>(),
        )
    });
    let Some(tasks) = (*data).clone() else {
        return html! { <p role="status">{ "Waiting for your account's data from the relay…" }</p> };
    };
    let move_to = {
        let ctx = ctx.clone();
        move |id: lifeos_core::EntityId, q: Quadrant| {
            let (urgent, important) = q.flags();
            ctx.act(|d| {
                d.update_task(
                    now(),
                    id,
                    TaskPatch {
                        urgent: Some(urgent),
                        important: Some(important),
                        ..TaskPatch::default()
                    },
                )
            });
        }
    };
    let quadrant = |(q, label): (Quadrant, &str)| {
        let items: Vec<_> = tasks.iter().filter(|(tq, _)| *tq == q).collect();
        let on_drop = {
            let dragged = dragged.clone();
            let move_to = move_to.clone();
            Callback::from(move |e: DragEvent| {
                e.prevent_default();
                if let Some(id) = *dragged {
                    move_to(id, q);
                }
                dragged.set(None);
            })
        };
        let id = format!("q-{}", q.as_str());
        html! {
            <section class={classes!("quadrant-box", q.as_str())} aria-labelledby={id.clone()}
                ondragover={Callback::from(|e: DragEvent| e.prevent_default())} ondrop={on_drop}>
                <h2 id={id}>{ quadrant_label(q) }<small>{ format!(" · {label}") }</small><span class="count">{ items.len() }</span></h2>
                <ul class="plain">
                    { for items.iter().take(200).map(|(_, t)| {
                        let tid = t.id;
                        let on_move = { let move_to = move_to.clone(); Callback::from(move |e: Event| {
                            if let Some(q) = parse_quadrant(&select_value(&e)) { move_to(tid, q); }
                        }) };
                        let on_drag = { let dragged = dragged.clone(); Callback::from(move |_: DragEvent| dragged.set(Some(tid))) };
                        let open = { let selected = selected.clone(); Callback::from(move |_| selected.set(Some(tid))) };
                        html! {
                            <li class="matrix-task" draggable="true" ondragstart={on_drag}>
                                <button class="title link" onclick={open} aria-label={format!("Edit {}", t.title)}>{ &t.title }</button>
                                if let Some(due) = t.due { <span class="due">{ human_date(due, date) }</span> }
                                <label class="sr" for={format!("mv-{tid}")}>{ format!("Move {} to", t.title) }</label>
                                <select id={format!("mv-{tid}")} onchange={on_move}>
                                    { for QUADRANTS.iter().map(|(o, _)| html! {
                                        <option value={o.as_str()} selected={*o == q}>{ quadrant_label(*o) }</option>
                                    }) }
                                </select>
                            </li>
                        }
                    }) }
                </ul>
                if items.len() > 200 { <p class="meta">{ format!("and {} more", items.len() - 200) }</p> }
            </section>
        }
    };
    let detail = selected
        .and_then(|id| tasks.iter().find(|(_, t)| t.id == id))
        .map(|(_, t)| t.clone());
    let projects = ctx
        .rt
        .read(|d| d.and_then(|d| d.projects().ok()))
        .unwrap_or_default();
    html! {
        <section class="screen matrix">
            <h1>{ "Matrix" }</h1>
            <p class="hint">{ "Drag a task, or pick its quadrant; open one to edit it. Tasks due soon count as urgent by themselves." }</p>
            <div class={classes!("matrix-split", detail.is_some().then_some("editing"))}>
                <div class="matrix-grid">{ for QUADRANTS.iter().map(|q| quadrant(*q)) }</div>
                if let Some((key, task)) = detail.map(|t| (t.id.to_string(), t)) {
                    <TaskDetail key={key} task={task} projects={projects}
                        close={let selected = selected.clone(); Callback::from(move |_| selected.set(None))} />
                }
            </div>
        </section>
    }
}
