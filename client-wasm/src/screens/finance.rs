//! Finance: fast expense entry, the month's expenses with filters, categories,
//! budgets, and the monthly report with its chart. Amounts of different
//! currencies are never added together.

use lifeos_core::EntityId;
use lifeos_core::finance::{Category, CategoryLine, Expense, MonthlyReport, NewExpense};
use lifeos_core::money::{Currency, Money};
use lifeos_core::time::{Month, parse_date};
use yew::prelude::*;

use crate::app::Ctx;

/// The categories a new user may start with, in one tap.
const STARTER_CATEGORIES: [&str; 7] = [
    "Groceries",
    "Eating out",
    "Transport",
    "Home",
    "Bills",
    "Health",
    "Fun",
];
use crate::runtime::{now, today};
use crate::ui::{VirtualList, human_date, input_value, money, select_value};

const COMMON: [&str; 10] = [
    "EUR", "USD", "GBP", "CHF", "JPY", "CAD", "AUD", "SEK", "NOK", "PLN",
];

#[derive(Properties, PartialEq)]
pub struct ExpenseFormProps {
    /// The short form of the Today screen.
    #[prop_or(false)]
    pub compact: bool,
}

/// Adding an expense: amount (`12,50` or `12.50`), currency, category, date (today by default).
#[function_component]
pub fn ExpenseForm(props: &ExpenseFormProps) -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let amount = use_state(String::new);
    let payee = use_state(String::new);
    let note = use_state(String::new);
    let day = use_state(|| crate::ui::date(today()));
    let category = use_state(String::new);
    let data = use_memo(ctx.rev, |_| {
        ctx.rt.read(|d| {
            d.map(|d| {
                (
                    d.categories().unwrap_or_default(),
                    d.settings().ok().and_then(|s| s.currency),
                )
            })
        })
    });
    let (categories, default_currency) = (*data).clone().unwrap_or_default();
    let currency = use_state(|| None::<String>);
    let code = (*currency)
        .clone()
        .unwrap_or_else(|| default_currency.map_or("EUR".into(), |c| c.code().to_string()));
    let error = use_state(|| None::<String>);
    let prefix = if props.compact { "qe" } else { "e" };
    let submit = {
        let ctx = ctx.clone();
        let (amount, payee, note, day, category, error) = (
            amount.clone(),
            payee.clone(),
            note.clone(),
            day.clone(),
            category.clone(),
            error.clone(),
        );
        let code = code.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let currency = match Currency::from_code(code.trim()) {
                Ok(c) => c,
                Err(e) => return error.set(Some(crate::ui::explain(&e))),
            };
            let parsed = match Money::parse(&amount, currency) {
                Ok(m) if m.minor > 0 => m,
                Ok(_) => {
                    return error.set(Some(
                        "Amount: enter more than zero, like 12.50 or 12,50.".into(),
                    ));
                }
                Err(e) => return error.set(Some(crate::ui::explain(&e))),
            };
            let date = match parse_date("date", &day) {
                Ok(d) => d,
                Err(e) => return error.set(Some(crate::ui::explain(&e))),
            };
            let new = NewExpense {
                amount: parsed,
                date,
                category: category.parse::<EntityId>().ok(),
                payee: Some(payee.trim().to_string()).filter(|s| !s.is_empty()),
                note: Some(note.trim().to_string()).filter(|s| !s.is_empty()),
            };
            // The first currency used becomes the default, as in the CLI.
            let set_default = default_currency.is_none();
            let added = ctx.rt.act(|d| {
                let added = d.add_expense(now(), new)?;
                if set_default {
                    d.update_settings(
                        now(),
                        lifeos_core::root::SettingsPatch {
                            currency: Some(currency),
                            ..Default::default()
                        },
                    )?;
                }
                Ok(added)
            });
            match added {
                Ok(_) => {
                    error.set(None);
                    amount.set(String::new());
                    payee.set(String::new());
                    note.set(String::new());
                    let when = if date == today() {
                        String::new()
                    } else {
                        format!(" on {}", human_date(date, today()))
                    };
                    // The next expense is for today again, not the day picked for this one.
                    day.set(crate::ui::date(today()));
                    ctx.toast.emit(format!("Added {}{when}.", money(parsed)));
                }
                Err(e) => error.set(Some(crate::ui::explain(&e))),
            }
        })
    };
    let field = |id: &str| format!("{prefix}-{id}");
    html! {
        <form class={classes!("card", "expense-form", props.compact.then_some("compact"))} onsubmit={submit} aria-label="Add an expense">
            if !props.compact { <h2>{ "Add an expense" }</h2> }
            if let Some(e) = &*error { <p class="error" role="alert">{ e }</p> }
            <div class="fields">
                <div>
                    <label for={field("amount")}>{ "Amount" }</label>
                    <input id={field("amount")} inputmode="decimal" autocomplete="off" placeholder="12.50" required=true value={(*amount).clone()}
                        oninput={let amount = amount.clone(); move |e: InputEvent| amount.set(input_value(&e))} />
                </div>
                <div class="narrow">
                    <label for={field("currency")}>{ "Currency" }</label>
                    <input id={field("currency")} list="currencies" maxlength="3" value={code.clone()}
                        oninput={let currency = currency.clone(); move |e: InputEvent| currency.set(Some(input_value(&e).to_uppercase()))} />
                    <datalist id="currencies">{ for COMMON.iter().map(|c| html! { <option value={*c} /> }) }</datalist>
                </div>
                <div>
                    <label for={field("category")}>{ "Category" }</label>
                    <select id={field("category")} onchange={let category = category.clone(); move |e: Event| category.set(select_value(&e))}>
                        <option value="" selected={category.is_empty()}>{ "Uncategorized" }</option>
                        { for categories.iter().filter(|c| !c.deleted).map(|c| html! {
                            <option value={c.id.to_string()} selected={*category == c.id.to_string()}>{ &c.name }</option>
                        }) }
                    </select>
                </div>
                if !props.compact {
                    <div>
                        <label for={field("date")}>{ "Date" }</label>
                        <input id={field("date")} type="date" required=true value={(*day).clone()}
                            onchange={let day = day.clone(); move |e: Event| day.set(input_value(&e))} />
                    </div>
                }
                <div>
                    <label for={field("payee")}>{ "Payee" }</label>
                    <input id={field("payee")} maxlength="200" value={(*payee).clone()}
                        oninput={let payee = payee.clone(); move |e: InputEvent| payee.set(input_value(&e))} />
                </div>
                if !props.compact {
                    <div>
                        <label for={field("note")}>{ "Note" }</label>
                        <input id={field("note")} maxlength="1000" value={(*note).clone()}
                            oninput={let note = note.clone(); move |e: InputEvent| note.set(input_value(&e))} />
                    </div>
                }
            </div>
            <button type="submit">{ "Add expense" }</button>
        </form>
    }
}

/// The Finance screen.
#[function_component]
pub fn Finance() -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let month = use_state(|| Month::of(today()));
    let filter = use_state(String::new);
    let new_category = use_state(String::new);
    let data = use_memo((ctx.rev, *month), |(_, month)| {
        let expenses = ctx.rt.month_expenses(*month)?.ok()?;
        ctx.rt.read(|d| {
            let d = d?;
            Some((
                expenses.as_ref().clone(),
                d.categories().ok()?,
                d.monthly_report(*month).ok()?,
            ))
        })
    });
    let Some((mut expenses, categories, report)) = (*data).clone() else {
        return html! { <p role="status">{ "Waiting for your account's data from the relay…" }</p> };
    };
    expenses.sort_by(|a, b| b.date.cmp(&a.date).then(b.created_at.cmp(&a.created_at)));
    let shown: Vec<Expense> = expenses
        .into_iter()
        .filter(|e| match filter.as_str() {
            "" => true,
            "none" => e.category.is_none(),
            id => e.category.map(|c| c.to_string()).as_deref() == Some(id),
        })
        .collect();
    let name_of = {
        let categories = categories.clone();
        move |id: Option<EntityId>| {
            id.and_then(|id| categories.iter().find(|c| c.id == id))
                .map_or("Uncategorized".to_string(), |c| c.name.clone())
        }
    };
    let step = |forward: bool| {
        let month = month.clone();
        Callback::from(move |_| month.set(if forward { month.next() } else { month.prev() }))
    };
    let render = {
        let shown = shown.clone();
        let ctx = ctx.clone();
        let name_of = name_of.clone();
        Callback::from(move |i: usize| {
            let e = &shown[i];
            let id = e.id;
            let delete = {
                let ctx = ctx.clone();
                Callback::from(move |_| {
                    ctx.act(|d| d.delete_expense(now(), id));
                })
            };
            html! {
                <div class="expense-row">
                    <span class="date">{ e.date.format("%a %-d").to_string() }</span>
                    <span class="what">
                        // The payee is the title; without one the category is, and is not said twice.
                        <span class="title">{ e.payee.clone().unwrap_or_else(|| name_of(e.category)) }</span>
                        <span class="meta">
                            { [e.payee.as_ref().map(|_| name_of(e.category)), e.note.clone()].into_iter().flatten().collect::<Vec<_>>().join(" · ") }
                        </span>
                    </span>
                    <span class="amount">{ money(e.amount) }</span>
                    <button class="link" onclick={delete} aria-label={format!("Delete expense of {}", money(e.amount))}>{ "✕" }</button>
                </div>
            }
        })
    };
    let add_category = {
        let ctx = ctx.clone();
        let new_category = new_category.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let name = new_category.trim().to_string();
            if ctx.act(|d| d.add_category(now(), &name, false)).is_some() {
                new_category.set(String::new());
                ctx.toast.emit(format!("Added the category “{name}”."));
            }
        })
    };
    let add_starters = {
        let ctx = ctx.clone();
        Callback::from(move |_| {
            let added = ctx.act(|d| {
                STARTER_CATEGORIES
                    .iter()
                    .try_for_each(|name| d.add_category(now(), name, false).map(drop))
            });
            if added.is_some() {
                ctx.toast
                    .emit(format!("Added {} categories.", STARTER_CATEGORIES.len()));
            }
        })
    };
    let shown_totals = {
        let mut t = lifeos_core::Totals::default();
        for e in &shown {
            t.add(e.amount);
        }
        t
    };
    html! {
        <section class="screen finance">
            <h1>{ "Finance" }</h1>
            <ExpenseForm />
            <div class="row month-nav">
                <button class="secondary" onclick={step(false)} aria-label="Previous month">{ "‹" }</button>
                <h2 aria-live="polite">{ month.first_day().format("%B %Y").to_string() }</h2>
                <button class="secondary" onclick={step(true)} aria-label="Next month">{ "›" }</button>
            </div>
            <div class="grid2">
                <div>
                    <div class="list-head">
                        <h2>{ "Expenses" }<span class="count">{ shown.len() }</span></h2>
                        <label class="sr" for="f-filter">{ "Filter by category" }</label>
                        <select id="f-filter" onchange={let filter = filter.clone(); move |e: Event| filter.set(select_value(&e))}>
                            <option value="" selected={filter.is_empty()}>{ "All categories" }</option>
                            <option value="none" selected={*filter == "none"}>{ "Uncategorized" }</option>
                            { for categories.iter().filter(|c| !c.deleted).map(|c| html! {
                                <option value={c.id.to_string()} selected={*filter == c.id.to_string()}>{ &c.name }</option>
                            }) }
                        </select>
                    </div>
                    <p class="totals" data-testid="month-total">
                        { for shown_totals.iter().map(|m| html! { <span class="total">{ money(m) }</span> }) }
                    </p>
                    if shown.is_empty() {
                        <p class="empty">{ "No expenses in this month." }</p>
                    } else {
                        <VirtualList len={shown.len()} row_height={52} render={render} label="Expenses" max_height={520} />
                    }
                </div>
                <div>
                    <Report report={report.clone()} />
                    <Budgets report={report} categories={categories.clone()} month={*month} />
                    <section class="card" aria-labelledby="cats-h">
                        <h2 id="cats-h">{ "Categories" }</h2>
                        <ul class="plain">
                            { for categories.iter().filter(|c| !c.deleted).map(|c| {
                                let id = c.id;
                                let ctx = ctx.clone();
                                let name = c.name.clone();
                                let delete = Callback::from(move |_| {
                                    let ok = web_sys::window()
                                        .and_then(|w| w.confirm_with_message(&format!("Delete the category “{name}”? Its expenses become uncategorized.")).ok())
                                        .unwrap_or(false);
                                    if ok { ctx.act(|d| d.delete_category(now(), id)); }
                                });
                                html! { <li class="row"><span>{ &c.name }</span>
                                    <button class="link" onclick={delete} aria-label={format!("Delete category {}", c.name)}>{ "Delete" }</button></li> }
                            }) }
                        </ul>
                        if categories.iter().all(|c| c.deleted) {
                            <p class="meta">{ "No categories yet. Start with a few common ones (rename or delete any), or add your own." }</p>
                            <button class="secondary" onclick={add_starters}>{ format!("Add {}", STARTER_CATEGORIES.join(", ")) }</button>
                        }
                        <form class="inline" onsubmit={add_category}>
                            <label class="sr" for="new-cat">{ "New category" }</label>
                            <input id="new-cat" placeholder="New category" maxlength="100" value={(*new_category).clone()}
                                oninput={let n = new_category.clone(); move |e: InputEvent| n.set(input_value(&e))} />
                            <button type="submit" class="secondary">{ "Add" }</button>
                        </form>
                    </section>
                </div>
            </div>
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct ReportProps {
    report: MonthlyReport,
}

/// Spent against budget per category, one bar chart per currency.
#[function_component]
fn Report(props: &ReportProps) -> Html {
    let r = &props.report;
    let currencies: Vec<Currency> = r
        .spent
        .iter()
        .map(|m| m.currency)
        .chain(r.budgeted.iter().map(|m| m.currency))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    html! {
        <section class="card report" aria-labelledby="report-h">
            <h2 id="report-h">{ "Monthly report" }</h2>
            if currencies.is_empty() { <p class="empty">{ "Nothing spent or budgeted this month." }</p> }
            { for currencies.iter().map(|c| chart(r, *c)) }
        </section>
    }
}

fn chart(r: &MonthlyReport, currency: Currency) -> Html {
    let lines: Vec<&CategoryLine> = r
        .lines
        .iter()
        .filter(|l| {
            l.spent.get(currency).minor != 0 || l.budget.is_some_and(|b| b.currency == currency)
        })
        .collect();
    let max = lines
        .iter()
        .map(|l| {
            l.spent.get(currency).minor.max(
                l.available
                    .or(l.budget)
                    .filter(|b| b.currency == currency)
                    .map_or(0, |b| b.minor),
            )
        })
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let row = 28;
    let width = 320.0;
    let label_w = 110.0;
    let bars = lines.iter().enumerate().map(|(i, l)| {
        let y = i * row;
        let spent = l.spent.get(currency).minor;
        let w = (spent.max(0) as f64 / max) * (width - label_w - 10.0);
        let budget = l.available.or(l.budget).filter(|b| b.currency == currency);
        let bx = budget.map(|b| label_w + (b.minor.max(0) as f64 / max) * (width - label_w - 10.0));
        html! {
            <g>
                <text x="0" y={(y + 18).to_string()} class="label">{ l.name.chars().take(14).collect::<String>() }</text>
                <rect x={label_w.to_string()} y={(y + 6).to_string()} width={format!("{w:.1}")} height="16" rx="3"
                    class={if l.over_budget { "bar over" } else { "bar" }}>
                    <title>{ format!("{}: {} spent{}", l.name, money(Money::new(spent, currency)),
                        budget.map(|b| format!(" of {}", money(b))).unwrap_or_default()) }</title>
                </rect>
                if let Some(bx) = bx {
                    <line x1={format!("{bx:.1}")} x2={format!("{bx:.1}")} y1={(y + 2).to_string()} y2={(y + 26).to_string()} class="budget-mark" />
                }
            </g>
        }
    });
    let height = (lines.len() * row).max(row);
    let spent = r.spent.get(currency);
    let budgeted = r.budgeted.get(currency);
    let left = r.left.get(currency);
    let over = r.overspent.get(currency);
    let over_in = r
        .lines
        .iter()
        .filter(|l| l.over_budget && l.remaining.is_some_and(|m| m.currency == currency))
        .count();
    html! {
        <figure class="chart">
            <svg viewBox={format!("0 0 {width} {height}")} role="img" aria-label={format!("Spending by category in {}", currency.code())}>
                { for bars }
            </svg>
            <figcaption>
                { format!("{}: spent {}", currency.code(), money(spent)) }
                if budgeted.minor != 0 { { format!(" · budgeted {} · left {}", money(budgeted), money(left)) } }
                if over.minor > 0 {
                    <strong class="over">{ format!(" · {} over in {}", money(over), crate::words::count(over_in as u32, "category", "categories")) }</strong>
                }
            </figcaption>
            <table class="sr">
                <caption>{ format!("Spending by category in {}", currency.code()) }</caption>
                <thead><tr><th>{ "Category" }</th><th>{ "Spent" }</th><th>{ "Budget" }</th></tr></thead>
                <tbody>{ for lines.iter().map(|l| html! { <tr><td>{ &l.name }</td><td>{ money(l.spent.get(currency)) }</td>
                    <td>{ l.budget.map(money).unwrap_or_default() }</td></tr> }) }</tbody>
            </table>
        </figure>
    }
}

#[derive(Properties, PartialEq)]
struct BudgetProps {
    report: MonthlyReport,
    categories: Vec<Category>,
    month: Month,
}

/// The month's budget per category; an empty field removes the budget.
#[function_component]
fn Budgets(props: &BudgetProps) -> Html {
    let ctx = use_context::<Ctx>().expect("ctx");
    let drafts = crate::ui::use_drafts();
    let month = props.month;
    let default_currency = ctx
        .rt
        .read(|d| d.and_then(|d| d.settings().ok()).and_then(|s| s.currency));
    let rows = props.categories.iter().filter(|c| !c.deleted).map(|c| {
        let id = c.id;
        let budget = c.budgets.get(&month).copied();
        let line = props.report.lines.iter().find(|l| l.category == Some(id));
        let over = line.is_some_and(|l| l.over_budget);
        // Spending in other currencies never counts against the budget; say so.
        let elsewhere: Vec<String> = match (line, budget) {
            (Some(l), Some(b)) => l.spent.iter().filter(|m| m.currency != b.currency && m.minor != 0).map(money).collect(),
            _ => Vec::new(),
        };
        let ctx = ctx.clone();
        let currency = budget.map(|b| b.currency).or(default_currency).unwrap_or_else(|| Currency::from_code("EUR").expect("EUR"));
        let field = format!("b-{id}");
        let saved = { let drafts = drafts.clone(); let field = field.clone(); move || drafts.saved(&field) };
        let onchange = Callback::from(move |e: Event| {
            let v = input_value(&e);
            let amount = if v.trim().is_empty() {
                None
            } else {
                match Money::parse_with_currency(&v, currency) {
                    Ok(m) if m.minor >= 0 => Some(m),
                    Ok(_) => return ctx.toast.emit("Budget: enter zero or more.".into()),
                    Err(err) => return ctx.toast.emit(crate::ui::explain(&err)),
                }
            };
            if ctx.act(|d| d.set_budget(now(), id, month, amount)).is_some() {
                saved();
            }
        });
        html! {
            <li class="row">
                <label for={field.clone()}>{ &c.name }</label>
                <span>
                    <input id={field.clone()} class="budget" placeholder="No budget" title="An amount, with a currency code for another currency: 50 or 50 USD"
                        value={drafts.show(&field, budget.map(|b| b.decimal()).unwrap_or_default())}
                        oninput={drafts.oninput(&field)} onchange={onchange} />
                    { format!(" {}", currency.code()) }
                </span>
                if over { <span class="over">{ "over" }</span> }
                if !elsewhere.is_empty() {
                    <span class="meta">{ format!("also {} spent, not counted against it", elsewhere.join(", ")) }</span>
                }
            </li>
        }
    });
    html! {
        <section class="card" aria-labelledby="budgets-h">
            <h2 id="budgets-h">{ "Budgets" }</h2>
            <ul class="plain budgets">{ for rows }</ul>
            if props.categories.iter().all(|c| c.deleted) {
                <p class="empty">{ "Add a category to give it a budget." }</p>
            }
        </section>
    }
}
