//! Habits: streaks and strength, check-ins (done, skip, a number, a note),
//! a heatmap per habit, and creating, editing and archiving habits.

use lifeos_core::EntityId;
use lifeos_core::habits::{
    Cell, CheckInState, Habit, HabitKind, HabitPatch, NewHabit, Schedule, heatmap, streaks,
    strength,
};
use lifeos_core::time::{Date, Datelike, Weekday, parse_date};
use yew::prelude::*;

use crate::app::Ctx;
use crate::runtime::{now, today};
use crate::ui::{WEEK as WEEKDAYS, checked, input_value, select_value};

/// The Habits screen.
#[function_component]
pub fn Habits() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let show_archived = use_state(|| false);
    let editing = use_state(|| None::<Option<EntityId>>);
    let data = use_memo(ctx.rev, |_| {
        let habits = ctx.rt.habits()?.ok()?;
        let week_start = ctx.rt.read(|d| d?.settings().ok())?.week_start;
        Some((habits.as_ref().clone(), week_start))
    });
    let Some((habits, week_start)) = (*data).clone() else {
        return html! { <p role="status">{ "Waiting for your account's data from the relay…" }</p> };
    };
    let shown: Vec<Habit> = habits
        .iter()
        .filter(|h| h.archived == *show_archived)
        .cloned()
        .collect();
    let edit = |target: Option<EntityId>| {
        let editing = editing.clone();
        Callback::from(move |_| editing.set(Some(target)))
    };
    let editor = editing.map(|target| {
        let habit = target.and_then(|id| habits.iter().find(|h| h.id == id).cloned());
        let close = {
            let editing = editing.clone();
            Callback::from(move |_| editing.set(None))
        };
        html! { <HabitEditor key={format!("{target:?}")} habit={habit} close={close} /> }
    });
    html! {
        <section class="screen habits">
            <div class="row">
                <h1>{ "Habits" }</h1>
                <button onclick={edit(None)}>{ "New habit" }</button>
            </div>
            { editor.unwrap_or_default() }
            <label class="toggle"><input type="checkbox" checked={*show_archived}
                onchange={let s = show_archived.clone(); move |e: Event| s.set(checked(&e))} />{ " Show archived" }</label>
            if shown.is_empty() {
                <p class="empty">{ if *show_archived { "No archived habits." } else { "No habits yet. Start one: “Read 20 pages”, “Walk 3 times a week”." } }</p>
            }
            <ul class="cards">
                { for shown.iter().map(|h| html! {
                    <HabitCard key={h.id.to_string()} habit={h.clone()} week_start={week_start} edit={edit(Some(h.id))} />
                }) }
            </ul>
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct CardProps {
    habit: Habit,
    week_start: Weekday,
    edit: Callback<MouseEvent>,
}

#[function_component]
fn HabitCard(props: &CardProps) -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let h = &props.habit;
    let id = h.id;
    let date = today();
    let day = use_state(|| crate::ui::date(date));
    let value = use_state(String::new);
    let note = use_state(String::new);
    let s = streaks(h, date, props.week_start);
    let score = strength(h, date);
    let numeric = matches!(h.kind, HabitKind::Numeric { .. });
    let record = |kind: &'static str| {
        let ctx = ctx.clone();
        let day = day.clone();
        let value = value.clone();
        let note = note.clone();
        Callback::from(move |e: MouseEvent| {
            e.prevent_default();
            let on = match parse_date("date", &day) {
                Ok(d) => d,
                Err(err) => return ctx.toast.emit(crate::ui::explain(&err)),
            };
            let state = match kind {
                "skip" => CheckInState::Skipped,
                "value" => match value.trim().replace(',', ".").parse::<f64>() {
                    Ok(v) if v.is_finite() && v >= 0.0 => CheckInState::Value(v),
                    _ => {
                        return ctx
                            .toast
                            .emit("Value: enter a number, like 3 or 2.5.".into());
                    }
                },
                _ => CheckInState::Done,
            };
            let n = note.trim().to_string();
            let n = (!n.is_empty()).then_some(n);
            if ctx
                .act(|d| d.check_in(now(), id, on, today(), state, n.as_deref()))
                .is_some()
            {
                value.set(String::new());
                note.set(String::new());
            }
        })
    };
    let clear = {
        let ctx = ctx.clone();
        let day = day.clone();
        Callback::from(move |_| {
            if let Ok(on) = parse_date("date", &day) {
                ctx.act(|d| d.clear_check_in(now(), id, on));
            }
        })
    };
    let current = parse_date("date", &day)
        .ok()
        .and_then(|d| h.checkins.get(&d).cloned());
    let unit = match &h.kind {
        HabitKind::Numeric { unit, target } => format!(" · {target} {unit} a day"),
        HabitKind::YesNo => String::new(),
    };
    html! {
        <li class="card habit-card">
            <div class="row">
                <h2>{ &h.name }</h2>
                <button class="link" onclick={props.edit.clone()} aria-label={format!("Edit {}", h.name)}>{ "Edit" }</button>
            </div>
            <p class="meta">{ format!("{}{unit}", h.schedule) }</p>
            <dl class="stats">
                <div title={crate::words::streak_meaning(&s, &h.schedule)}><dt>{ "Current streak" }</dt><dd data-testid="streak">{ crate::words::streak_length(s.current, &s, &h.schedule) }</dd></div>
                <div><dt>{ "Longest" }</dt><dd>{ crate::words::streak_length(s.longest, &s, &h.schedule) }</dd></div>
                <div><dt>{ "Strength" }</dt><dd>{ format!("{}%", (score * 100.0).round()) }</dd></div>
            </dl>
            <Heatmap habit={h.clone()} today={date} week_start={props.week_start} />
            <form class="checkin" aria-label={format!("Check in {}", h.name)}>
                <label for={format!("d-{id}")}>{ "Day" }</label>
                <input id={format!("d-{id}")} type="date" max={crate::ui::date(date)} value={(*day).clone()}
                    onchange={let day = day.clone(); move |e: Event| day.set(input_value(&e))} />
                if numeric {
                    <label for={format!("n-{id}")}>{ "Value" }</label>
                    <input id={format!("n-{id}")} inputmode="decimal" value={(*value).clone()}
                        oninput={let value = value.clone(); move |e: InputEvent| value.set(input_value(&e))} />
                }
                <label for={format!("note-{id}")}>{ "Note" }</label>
                <input id={format!("note-{id}")} maxlength="1000" value={(*note).clone()}
                    oninput={let note = note.clone(); move |e: InputEvent| note.set(input_value(&e))} />
                <div class="row">
                    if numeric {
                        <button onclick={record("value")}>{ "Log value" }</button>
                    } else {
                        <button onclick={record("done")}>{ "✓ Done" }</button>
                    }
                    <button class="secondary" onclick={record("skip")}>{ "Skip" }</button>
                    if current.is_some() {
                        <button type="button" class="link" onclick={clear}>{ "Clear" }</button>
                    }
                </div>
                if let Some(c) = current {
                    <p class="meta" aria-live="polite">{ format!("Recorded: {}{}", match c.state {
                        CheckInState::Done => "done".to_string(),
                        CheckInState::Skipped => "skipped".to_string(),
                        CheckInState::Value(v) => v.to_string(),
                    }, c.note.map(|n| format!(" · {n}")).unwrap_or_default()) }</p>
                }
            </form>
        </li>
    }
}

#[derive(Properties, PartialEq)]
struct HeatmapProps {
    habit: Habit,
    today: Date,
    week_start: Weekday,
}

/// Twenty-six weeks of check-ins, one column per week (SVG drawn here).
#[function_component]
fn Heatmap(props: &HeatmapProps) -> Html {
    let offset = (props.today.weekday().num_days_from_monday() + 7
        - props.week_start.num_days_from_monday())
        % 7;
    let from = props.today - chrono::Days::new(u64::from(offset) + 25 * 7);
    let days = heatmap(&props.habit, from, props.today, props.today);
    let cell = 12;
    let done = days.iter().filter(|d| matches!(d.cell, Cell::Done)).count();
    let rects = days.iter().enumerate().map(|(i, d)| {
        let (x, y) = ((i / 7) * (cell + 2), (i % 7) * (cell + 2));
        let (class, word) = match d.cell {
            Cell::Done => ("done".to_string(), "done".to_string()),
            Cell::Partial { level } => (format!("partial l{}", (level * 4.0).ceil() as u32), format!("{}%", (level * 100.0).round())),
            Cell::Skipped => ("skipped".into(), "skipped".into()),
            Cell::Missed => ("missed".into(), "missed".into()),
            Cell::Pending => ("pending".into(), "not yet".into()),
            Cell::Rest => ("rest".into(), "not scheduled".into()),
        };
        html! {
            <rect x={x.to_string()} y={y.to_string()} width={cell.to_string()} height={cell.to_string()} rx="2" class={class}>
                <title>{ format!("{}: {word}", d.date) }</title>
            </rect>
        }
    });
    let width = 26 * (cell + 2);
    let height = 7 * (cell + 2);
    html! {
        <svg class="heatmap" viewBox={format!("0 0 {width} {height}")} role="img"
            aria-label={format!("Last 26 weeks: {} done", crate::words::count(u32::try_from(done).unwrap_or(u32::MAX), "day", "days"))}>
            { for rects }
        </svg>
    }
}

#[derive(Properties, PartialEq)]
struct EditorProps {
    habit: Option<Habit>,
    close: Callback<()>,
}

/// Creating or editing a habit and its schedule.
#[function_component]
fn HabitEditor(props: &EditorProps) -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let h = props.habit.clone();
    let name = use_state(|| h.as_ref().map(|h| h.name.clone()).unwrap_or_default());
    let (kind0, times0, days0) = match h.as_ref().map(|h| h.schedule.clone()) {
        Some(Schedule::TimesPerWeek { times }) => ("week", times, vec![]),
        Some(Schedule::Weekdays { days }) => ("days", 3, days),
        Some(Schedule::TimesPerPeriod { times, .. }) => ("week", times.min(7), vec![]),
        _ => ("daily", 3, vec![]),
    };
    let sched = use_state(|| kind0.to_string());
    let times = use_state(|| times0.to_string());
    let days = use_state(|| days0);
    let (numeric0, unit0, target0) = match h.as_ref().map(|h| h.kind.clone()) {
        Some(HabitKind::Numeric { unit, target }) => (true, unit, target.to_string()),
        _ => (false, String::new(), String::new()),
    };
    let numeric = use_state(|| numeric0);
    let unit = use_state(|| unit0);
    let target = use_state(|| target0);
    let error = use_state(|| None::<String>);
    let id = h.as_ref().map(|h| h.id);
    let archived = h.as_ref().is_some_and(|h| h.archived);

    let save = {
        let ctx = ctx.clone();
        let (name, sched, times, days, numeric, unit, target, error) = (
            name.clone(),
            sched.clone(),
            times.clone(),
            days.clone(),
            numeric.clone(),
            unit.clone(),
            target.clone(),
            error.clone(),
        );
        let close = props.close.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let schedule = match sched.as_str() {
                "week" => match times.trim().parse::<u32>() {
                    Ok(n) => Schedule::times_per_week(n),
                    Err(_) => {
                        return error
                            .set(Some("Times per week: enter a number from 1 to 7.".into()));
                    }
                },
                "days" => Schedule::weekdays(days.iter().copied()),
                _ => Ok(Schedule::Daily),
            };
            let schedule = match schedule {
                Ok(s) => s,
                Err(e) => return error.set(Some(crate::ui::explain(&e))),
            };
            let kind = if *numeric {
                match target.trim().replace(',', ".").parse::<f64>() {
                    Ok(t) if t > 0.0 && t.is_finite() => HabitKind::Numeric {
                        unit: unit.trim().to_string(),
                        target: t,
                    },
                    _ => {
                        return error.set(Some(
                            "Daily target: enter a number above 0, like 8 or 2.5.".into(),
                        ));
                    }
                }
            } else {
                HabitKind::YesNo
            };
            let result = match id {
                Some(id) => ctx.rt.act(|d| {
                    d.update_habit(
                        now(),
                        id,
                        HabitPatch {
                            name: Some(name.to_string()),
                            schedule: Some(schedule),
                            kind: Some(kind),
                            ..HabitPatch::default()
                        },
                    )
                }),
                None => ctx.rt.act(|d| {
                    d.add_habit(
                        now(),
                        NewHabit {
                            name: name.to_string(),
                            schedule,
                            kind,
                            start: today(),
                        },
                    )
                    .map(drop)
                }),
            };
            match result {
                Ok(()) => {
                    ctx.toast.emit(if id.is_some() {
                        format!("Saved “{}”.", name.trim())
                    } else {
                        format!("Added the habit “{}”.", name.trim())
                    });
                    close.emit(());
                }
                Err(e) => error.set(Some(crate::ui::explain(&e))),
            }
        })
    };
    let archive = {
        let ctx = ctx.clone();
        let close = props.close.clone();
        Callback::from(move |_| {
            if let Some(id) = id {
                ctx.act(|d| {
                    d.update_habit(
                        now(),
                        id,
                        HabitPatch {
                            archived: Some(!archived),
                            ..HabitPatch::default()
                        },
                    )
                });
                close.emit(());
            }
        })
    };
    let cancel = props.close.reform(|_: MouseEvent| ());
    html! {
        <form class="card editor" onsubmit={save} aria-label={if id.is_some() { "Edit habit" } else { "New habit" }}>
            <h2>{ if id.is_some() { "Edit habit" } else { "New habit" } }</h2>
            if let Some(e) = &*error { <p class="error" role="alert">{ e }</p> }
            <label for="h-name">{ "Name" }</label>
            <input id="h-name" required=true maxlength="200" value={(*name).clone()}
                oninput={let name = name.clone(); move |e: InputEvent| name.set(input_value(&e))} />
            <label for="h-sched">{ "How often" }</label>
            <select id="h-sched" onchange={let sched = sched.clone(); move |e: Event| sched.set(select_value(&e))}>
                <option value="daily" selected={*sched == "daily"}>{ "Every day" }</option>
                <option value="week" selected={*sched == "week"}>{ "Some times a week" }</option>
                <option value="days" selected={*sched == "days"}>{ "On chosen weekdays" }</option>
            </select>
            if *sched == "week" {
                <label for="h-times">{ "Times per week" }</label>
                <input id="h-times" type="number" min="1" max="7" value={(*times).clone()}
                    oninput={let times = times.clone(); move |e: InputEvent| times.set(input_value(&e))} />
            }
            if *sched == "days" {
                <fieldset class="weekdays"><legend>{ "Weekdays" }</legend>
                    { for WEEKDAYS.iter().map(|w| {
                        let w = *w;
                        let on = days.contains(&w);
                        let days = days.clone();
                        html! { <label><input type="checkbox" checked={on} onchange={move |e: Event| {
                            let mut d = (*days).clone();
                            if checked(&e) { d.push(w) } else { d.retain(|x| *x != w) }
                            days.set(d);
                        }} />{ format!(" {w}") }</label> }
                    }) }
                </fieldset>
            }
            <label class="toggle"><input type="checkbox" checked={*numeric}
                onchange={let numeric = numeric.clone(); move |e: Event| numeric.set(checked(&e))} />{ " Measure a number each day" }</label>
            if *numeric {
                <div class="fields">
                    <div>
                        <label for="h-target">{ "Daily target" }</label>
                        <input id="h-target" inputmode="decimal" value={(*target).clone()}
                            oninput={let target = target.clone(); move |e: InputEvent| target.set(input_value(&e))} />
                    </div>
                    <div>
                        <label for="h-unit">{ "Unit" }</label>
                        <input id="h-unit" placeholder="pages, km, glasses" maxlength="40" value={(*unit).clone()}
                            oninput={let unit = unit.clone(); move |e: InputEvent| unit.set(input_value(&e))} />
                    </div>
                </div>
            }
            <div class="row actions">
                <button type="submit">{ "Save" }</button>
                <button type="button" class="secondary" onclick={cancel}>{ "Cancel" }</button>
                if id.is_some() {
                    <button type="button" class="secondary" onclick={archive}>{ if archived { "Unarchive" } else { "Archive" } }</button>
                }
            </div>
        </form>
    }
}
