//! Today: what is overdue, due and scheduled, today's habits, today's spending, quick add.

use lifeos_core::habits::{CheckInState, HabitKind};
use lifeos_core::today::{TodayHabit, TodayTask};
use std::rc::Rc;

use yew::prelude::*;

use crate::app::Ctx;
use crate::runtime::{now, today};
use crate::screens::finance::ExpenseForm;
use crate::screens::tasks::QuickAdd;
use crate::ui::{human_date, input_value, money};
use lifeos_core::tasks::quick_add::AddedOn;

/// The Today screen.
#[function_component]
pub fn TodayScreen() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let date = today();
    // Lists behind Rc, so that re-rendering never copies hundreds of tasks.
    let view = use_memo((ctx.rev, date), |(_, date)| {
        ctx.rt.today_view(*date).map(|r| {
            r.map(|t| Lists {
                overdue: Rc::new(t.overdue),
                due_today: Rc::new(t.due_today),
                scheduled: Rc::new(t.scheduled),
                habits: t.habits,
                expenses: t.expenses,
                spent: t.spent,
            })
        })
    });
    let show_all = use_state(|| false);
    let view = match &*view {
        Some(Ok(v)) => v,
        Some(Err(e)) => return html! { <p role="alert">{ crate::ui::explain(e) }</p> },
        None => {
            return html! { <p role="status">{ "Waiting for your account's data from the relay…" }</p> };
        }
    };
    let nothing = view.overdue.is_empty() && view.due_today.is_empty() && view.scheduled.is_empty();
    html! {
        <section class="screen today">
            <h1>{ "Today" } <small>{ date.format(" · %A %-d %B").to_string() }</small></h1>
            <crate::screens::duplicates::DuplicatesCard />
            <QuickAdd on={AddedOn::Today} />
            <div class="grid2">
                <div>
                    if nothing {
                        <p class="empty">{ "Nothing due or scheduled today. Add something above, or enjoy the day." }</p>
                    }
                    <TaskSection title="Overdue" tasks={Shared(view.overdue.clone())} class="overdue" all={*show_all} />
                    <TaskSection title="Due today" tasks={Shared(view.due_today.clone())} class="due" all={*show_all} />
                    <TaskSection title="Scheduled" tasks={Shared(view.scheduled.clone())} class="scheduled" all={*show_all} />
                    if !*show_all && [&*view.overdue, &*view.due_today, &*view.scheduled].iter().any(|l| l.len() > SHOWN) {
                        <button class="secondary" onclick={let s = show_all.clone(); move |_| s.set(true)}>{ "Show every task" }</button>
                    }
                </div>
                <div>
                    <section aria-labelledby="habits-today">
                        <h2 id="habits-today">{ "Habits" }</h2>
                        if view.habits.is_empty() {
                            <p class="empty">{ "No habits ask for anything today." }</p>
                        }
                        <ul class="cards">
                            { for view.habits.iter().map(|h| html! { <HabitToday key={h.id.to_string()} habit={h.clone()} /> }) }
                        </ul>
                    </section>
                    <section aria-labelledby="spending-today">
                        <h2 id="spending-today">{ "Spending today" }</h2>
                        <p class="totals" data-testid="spent-today">
                            if view.spent.is_empty() { { "Nothing spent today." } }
                            { for view.spent.iter().map(|m| html! { <span class="total">{ money(m) }</span> }) }
                        </p>
                        <ul class="plain">
                            { for view.expenses.iter().map(|e| html! {
                                <li><span class="amount">{ money(e.amount) }</span>{ " " }{ e.payee.clone().unwrap_or_default() }</li>
                            }) }
                        </ul>
                        <ExpenseForm compact=true />
                    </section>
                </div>
            </div>
        </section>
    }
}

/// Rows shown per section before "Show every task".
const SHOWN: usize = 30;

/// The Today view with its task lists shared.
struct Lists {
    overdue: Rc<Vec<TodayTask>>,
    due_today: Rc<Vec<TodayTask>>,
    scheduled: Rc<Vec<TodayTask>>,
    habits: Vec<TodayHabit>,
    expenses: Vec<lifeos_core::finance::Expense>,
    spent: lifeos_core::Totals,
}

/// A list compared by identity: the same list renders the same.
#[derive(Clone)]
struct Shared(Rc<Vec<TodayTask>>);

impl PartialEq for Shared {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

#[derive(Properties, PartialEq)]
struct TaskSectionProps {
    title: AttrValue,
    tasks: Shared,
    class: AttrValue,
    all: bool,
}

#[function_component]
fn TaskSection(props: &TaskSectionProps) -> Html {
    let tasks = &props.tasks.0;
    if tasks.is_empty() {
        return html! {};
    }
    let id = format!("sec-{}", props.class);
    html! {
        <section aria-labelledby={id.clone()} class={classes!("tasks", props.class.to_string())}>
            <h2 id={id}>{ &props.title }<span class="count">{ tasks.len() }</span></h2>
            <ul class="plain">
                { for tasks.iter().take(if props.all { usize::MAX } else { SHOWN }).map(|t| html! { <TaskLine key={t.task.id.to_string()} task={t.clone()} /> }) }
            </ul>
            if !props.all && tasks.len() > SHOWN {
                <p class="meta">{ format!("and {} more", tasks.len() - SHOWN) }</p>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct TaskLineProps {
    task: TodayTask,
}

#[function_component]
fn TaskLine(props: &TaskLineProps) -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let t = &props.task.task;
    let id = t.id;
    let complete = {
        let ctx = ctx.clone();
        Callback::from(move |_| {
            if let Some(Some(next)) = ctx.act(|d| d.complete_task(now(), id, today())) {
                ctx.toast.emit(format!(
                    "Done. It comes back {}.",
                    human_date(next, today())
                ));
            }
        })
    };
    let date = today();
    html! {
        <li class="task-line">
            <input type="checkbox" id={format!("done-{id}")} onchange={complete} aria-label={format!("Complete {}", t.title)} />
            <label for={format!("done-{id}")} class="title">{ &t.title }</label>
            <span class="meta">
                if let Some(due) = t.due { <span class={classes!("due", (due < date).then_some("late"))}>{ human_date(due, date) }</span> }
                if let Some(time) = t.time { <span class="due time">{ time.to_string() }</span> }
                { for t.contexts.iter().map(|c| html! { <span class="tag">{ format!("@{c}") }</span> }) }
                <span class={classes!("quadrant", props.task.quadrant.as_str())} title="Eisenhower quadrant">{ quadrant_label(props.task.quadrant) }</span>
            </span>
        </li>
    }
}

/// Short names of the quadrants.
pub fn quadrant_label(q: lifeos_core::tasks::Quadrant) -> &'static str {
    use lifeos_core::tasks::Quadrant;
    match q {
        Quadrant::DoFirst => "Do first",
        Quadrant::Schedule => "Schedule",
        Quadrant::Delegate => "Delegate",
        Quadrant::Eliminate => "Later",
    }
}

#[derive(Properties, PartialEq)]
struct HabitTodayProps {
    habit: TodayHabit,
}

#[function_component]
fn HabitToday(props: &HabitTodayProps) -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let h = &props.habit;
    let id = h.id;
    let value = use_state(String::new);
    let check = {
        let ctx = ctx.clone();
        move |state: CheckInState| {
            let ctx = ctx.clone();
            Callback::from(move |_| {
                ctx.act(|d| d.check_in(now(), id, today(), today(), state, None));
            })
        }
    };
    let clear = {
        let ctx = ctx.clone();
        Callback::from(move |_| {
            ctx.act(|d| d.clear_check_in(now(), id, today()));
        })
    };
    let state_text = crate::words::progress(
        &h.habit.schedule,
        &h.habit.kind,
        h.checkin,
        h.done_in_period,
        h.needed_in_period,
    );
    let numeric = match &h.habit.kind {
        HabitKind::Numeric { unit, target } => Some((unit.clone(), *target)),
        HabitKind::YesNo => None,
    };
    let submit_value = {
        let ctx = ctx.clone();
        let value = value.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            match value.trim().replace(',', ".").parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => {
                    ctx.act(|d| {
                        d.check_in(now(), id, today(), today(), CheckInState::Value(v), None)
                    });
                    value.set(String::new());
                }
                _ => ctx.toast.emit("Enter a number, like 3 or 2.5.".into()),
            }
        })
    };
    html! {
        <li class={classes!("card", "habit", h.checkin.is_some().then_some("checked"))}>
            <div class="row">
                <strong>{ &h.name }</strong>
                <span class="meta" title={format!("{} Strength grows with every check-in and fades slowly with misses.", crate::words::streak_meaning(&h.streaks, &h.habit.schedule))}>
                    { format!("{} · strength {}%", crate::words::streak(&h.streaks, &h.habit.schedule), (h.strength * 100.0).round()) }
                </span>
            </div>
            <div class="row">
                <span class="state" aria-live="polite">{ state_text }</span>
                if h.checkin.is_some() {
                    <button class="link" onclick={clear} aria-label={format!("Undo today's check-in of {}", h.name)}>{ "Undo" }</button>
                } else if let Some((unit, target)) = numeric {
                    <form class="inline" onsubmit={submit_value}>
                        <label class="sr" for={format!("v-{id}")}>{ format!("{} today, in {unit}", h.name) }</label>
                        <input id={format!("v-{id}")} inputmode="decimal" placeholder={format!("{target} {unit}")} value={(*value).clone()}
                            oninput={let value = value.clone(); move |e: InputEvent| value.set(input_value(&e))} />
                        <button type="submit">{ "Log" }</button>
                        <button type="button" class="secondary" onclick={check(CheckInState::Skipped)}>{ "Skip" }</button>
                    </form>
                } else {
                    <button onclick={check(CheckInState::Done)} aria-label={format!("Check in {}", h.name)}>{ "✓ Done" }</button>
                    <button class="secondary" onclick={check(CheckInState::Skipped)} aria-label={format!("Skip {} today", h.name)}>{ "Skip" }</button>
                }
            </div>
        </li>
    }
}
