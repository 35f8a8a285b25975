//! "Possible duplicates": when this device's data joins an account (or two
//! devices made the same habit offline), the records that look like one
//! thing entered twice are shown on Today, to merge or keep apart. Nothing
//! is merged without the user saying so.

use lifeos_core::user::duplicates::{DuplicateKind, Duplicates};
use yew::prelude::*;

use crate::app::Ctx;
use crate::runtime::now;

/// What merging does, in words, for each kind.
fn merge_means(kind: DuplicateKind) -> &'static str {
    match kind {
        DuplicateKind::Habit => "one habit with every check-in of both",
        DuplicateKind::Category => "one category; every expense and budget moves to it",
        DuplicateKind::Task => "one task with the notes, contexts and checklist of both",
    }
}

fn kind_word(kind: DuplicateKind) -> &'static str {
    match kind {
        DuplicateKind::Habit => "Habit",
        DuplicateKind::Category => "Category",
        DuplicateKind::Task => "Task",
    }
}

/// The card; nothing at all while there are no duplicates.
#[function_component]
pub fn DuplicatesCard() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let groups = use_memo(ctx.rev, |_| ctx.rt.duplicates());
    let groups = match &*groups {
        Some(Ok(g)) if !g.is_empty() => g.clone(),
        _ => return html! {},
    };
    html! {
        <section class="card duplicates" aria-labelledby="duplicates-title">
            <h2 id="duplicates-title">{ "Possible duplicates" }</h2>
            <p class="meta">{ "These look like the same thing entered twice, for example on two devices before signing in. Everything is kept until you choose." }</p>
            <ul class="plain">
                { for groups.into_iter().map(|g| { let key = g.keep.to_string(); html! { <Group {key} group={g} /> } }) }
            </ul>
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct GroupProps {
    group: Duplicates,
}

#[function_component]
fn Group(props: &GroupProps) -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let g = &props.group;
    let count = g.others.len() + 1;
    let label = format!("{} “{}”", kind_word(g.kind), g.name);
    let merge = {
        let ctx = ctx.clone();
        let g = g.clone();
        Callback::from(move |_| {
            if ctx.act(|d| d.merge_duplicates(now(), &g)).is_some() {
                ctx.toast.emit(format!(
                    "Merged: {} “{}” is now one.",
                    g.kind.noun(),
                    g.name
                ));
            }
        })
    };
    let apart = {
        let ctx = ctx.clone();
        let g = g.clone();
        Callback::from(move |_| {
            if ctx.act(|d| d.keep_apart(now(), &g)).is_some() {
                ctx.toast.emit(format!("Kept both “{}”.", g.name));
            }
        })
    };
    html! {
        <li class="row duplicate" data-kind={g.kind.noun()}>
            <span>
                <strong>{ label.clone() }</strong>{ format!(" · {count} of them") }
                <br /><span class="meta">{ format!("Merge makes {}.", merge_means(g.kind)) }</span>
            </span>
            <span class="actions">
                <button onclick={merge} aria-label={format!("Merge {label}")}>{ "Merge" }</button>
                <button class="secondary" onclick={apart} aria-label={format!("Keep {label} apart")}>{ "Keep both" }</button>
            </span>
        </li>
    }
}
