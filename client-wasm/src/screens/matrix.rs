//! The Eisenhower matrix: open tasks by urgency and importance; moving a task
//! between quadrants sets its flags (a due date inside the urgency horizon
//! keeps a task urgent, as the rule in `lifeos-core` says).

use lifeos_core::tasks::{Quadrant, TaskPatch};
use yew::prelude::*;

use crate::app::Ctx;
use crate::runtime::{now, today};
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
                        html! {
                            <li class="matrix-task" draggable="true" ondragstart={on_drag}>
                                <span class="title">{ &t.title }</span>
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
    html! {
        <section class="screen matrix">
            <h1>{ "Matrix" }</h1>
            <p class="hint">{ "Drag a task, or pick its quadrant. Tasks due soon count as urgent by themselves." }</p>
            <div class="matrix-grid">{ for QUADRANTS.iter().map(|q| quadrant(*q)) }</div>
        </section>
    }
}
