//! `lifeos expense ...` and `lifeos report month`: expenses in integer minor
//! units with their currency, categories, and the monthly report with a
//! bar chart drawn in the terminal.

use lifeos_core::finance::{Category, Expense, NewExpense};
use lifeos_core::money::{Currency, Money};
use lifeos_core::root::SettingsPatch;
use lifeos_core::time::{Date, Month, Timestamp};
use serde_json::json;

use super::habits::truncate;
use super::{Answer, CommandError};
use crate::workspace::Workspace;

/// What `expense add` records.
#[derive(Debug, Clone)]
pub struct ExpenseSpec {
    /// `12.50`: a plain decimal with a dot, whatever the locale.
    pub amount: String,
    /// The category's name; made when it does not exist yet.
    pub category: Option<String>,
    /// Who was paid.
    pub payee: Option<String>,
    /// A note.
    pub note: Option<String>,
    /// The day (default today).
    pub date: Option<Date>,
    /// ISO 4217 code; default: the user's currency setting.
    pub currency: Option<String>,
}

/// `lifeos expense add`.
pub fn add(
    ws: &mut Workspace<'_>,
    now: Timestamp,
    today: Date,
    spec: ExpenseSpec,
) -> Result<Answer, CommandError> {
    let currency = currency(ws, spec.currency.as_deref())?;
    let amount = Money::parse(spec.amount.trim(), currency)?;
    // The first currency given becomes the default, so the next expense
    // needs none (as `lifeos expense add 12.50 groceries` promises).
    let made_default = ws.data.settings()?.currency.is_none();
    if made_default {
        ws.data.update_settings(
            now,
            SettingsPatch {
                currency: Some(currency),
                ..SettingsPatch::default()
            },
        )?;
    }
    let mut made_category = None;
    let category = match spec.category.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(name) => Some(match find_category(&ws.data.categories()?, name) {
            Some(c) => c.id,
            None => {
                let id = ws.data.add_category(now, name, false)?;
                made_category = Some(name.to_string());
                id
            }
        }),
    };
    let (id, _) = ws.data.add_expense(
        now,
        NewExpense {
            amount,
            date: spec.date.unwrap_or(today),
            category,
            payee: spec.payee,
            note: spec.note,
        },
    )?;
    let expense = ws
        .data
        .expenses_between(spec.date.unwrap_or(today), spec.date.unwrap_or(today))?
        .into_iter()
        .find(|e| e.id == id)
        .ok_or_else(|| CommandError::NotFound("the expense just added is not there".into()))?;
    let categories = ws.data.categories()?;
    let mut text = format!("Added {}", line(&expense, &categories));
    if let Some(name) = &made_category {
        text.push_str(&format!("\n(new category {name:?})"));
    }
    if made_default {
        text.push_str(&format!(
            "\n({} is now your default currency; --currency picks another one for an expense)",
            currency.code()
        ));
    }
    Ok(Answer {
        text,
        json: json!({
            "expense": expense,
            "new_category": made_category,
            "default_currency_set": made_default.then(|| currency.code()),
        }),
    })
}

/// `lifeos budget set`: a category's budget for `month` (the category is
/// made if new); `none` removes it.
pub fn set_budget(
    ws: &mut Workspace<'_>,
    now: Timestamp,
    month: Month,
    category: &str,
    amount: &str,
    currency_code: Option<&str>,
) -> Result<Answer, CommandError> {
    let amount = match amount.trim() {
        none if none.eq_ignore_ascii_case("none") => None,
        // An amount that names its currency needs no default.
        text => Some(match currency(ws, currency_code) {
            Ok(default) => Money::parse_with_currency(text, default)?,
            Err(no_default) => {
                let named = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
                if named.len() == text.len() {
                    return Err(no_default);
                }
                let code = text[named.len()..].to_uppercase();
                Money::parse(named, Currency::from_code(&code)?)?
            }
        }),
    };
    let id = match find_category(&ws.data.categories()?, category) {
        Some(c) => c.id,
        None => ws.data.add_category(now, category.trim(), false)?,
    };
    ws.data.set_budget(now, id, month, amount)?;
    let name = ws
        .data
        .categories()?
        .into_iter()
        .find(|c| c.id == id)
        .map_or_else(|| category.to_string(), |c| c.name);
    let text = match amount {
        Some(a) => format!("Budget for {name} in {month}: {}", money_text(&a)),
        None => format!("No budget for {name} in {month} any more"),
    };
    Ok(Answer {
        text,
        json: json!({ "category": name, "month": month, "budget": amount }),
    })
}

/// `lifeos expense list`: a month's expenses (default this month), newest first.
pub fn list(
    ws: &Workspace<'_>,
    today: Date,
    month: Option<Month>,
    category: Option<&str>,
) -> Result<Answer, CommandError> {
    let month = month.unwrap_or_else(|| Month::of(today));
    let categories = ws.data.categories()?;
    let only = match category {
        Some(name) => Some(
            find_category(&categories, name)
                .ok_or_else(|| CommandError::NotFound(format!("no category named {name:?}")))?
                .id,
        ),
        None => None,
    };
    let mut expenses: Vec<Expense> = ws
        .data
        .expenses_between(month.first_day(), month.last_day())?
        .into_iter()
        .filter(|e| only.is_none() || e.category == only)
        .collect();
    expenses.sort_by_key(|e| std::cmp::Reverse((e.date, e.created_at)));
    let mut totals = lifeos_core::Totals::default();
    for e in &expenses {
        totals.add(e.amount);
    }
    let text = if expenses.is_empty() {
        format!("No expenses in {month}.")
    } else {
        let mut lines: Vec<String> = expenses.iter().map(|e| line(e, &categories)).collect();
        lines.push(format!("Total {month}: {}", totals_text(&totals)));
        lines.join("\n")
    };
    Ok(Answer {
        text,
        json: json!({ "month": month, "expenses": expenses, "total": totals }),
    })
}

/// `lifeos report month [YYYY-MM]`: spending per category against budgets,
/// with a bar per category.
pub fn report(
    ws: &Workspace<'_>,
    today: Date,
    month: Option<Month>,
) -> Result<Answer, CommandError> {
    let month = month.unwrap_or_else(|| Month::of(today));
    let report = ws.data.monthly_report(month)?;
    let mut lines = vec![format!("Spending in {month}")];
    if report.lines.is_empty() {
        lines.push("Nothing spent and no budgets.".into());
    }
    // Bars are scaled per currency to the largest amount spent or budgeted.
    let scale = |m: Money| -> i64 {
        report
            .lines
            .iter()
            .flat_map(|l| {
                let spent = l.spent.get(m.currency).minor;
                let budget = l
                    .available
                    .filter(|b| b.currency == m.currency)
                    .map_or(0, |b| b.minor);
                [spent, budget]
            })
            .max()
            .unwrap_or(0)
            .max(1)
    };
    for l in &report.lines {
        let spent: Vec<Money> = l.spent.iter().collect();
        let amounts = if spent.is_empty() {
            "0".to_string()
        } else {
            spent.iter().map(money_text).collect::<Vec<_>>().join(" + ")
        };
        let budget = match (l.available, l.remaining) {
            (Some(available), Some(remaining)) => format!(
                " of {} ({} {})",
                money_text(&available),
                money_text(&Money::new(remaining.minor.abs(), remaining.currency)),
                if l.over_budget { "over" } else { "left" }
            ),
            _ => String::new(),
        };
        let bar = spent.first().map_or(String::new(), |m| {
            let full = scale(*m);
            let n = bar_len(m.minor, full, true);
            let mut bar = "█".repeat(n);
            if let Some(available) = l.available.filter(|a| a.currency == m.currency) {
                let mark = bar_len(available.minor, full, false);
                while bar.chars().count() < mark {
                    bar.push('·');
                }
                if mark > 0 && mark <= bar.chars().count() {
                    let mut chars: Vec<char> = bar.chars().collect();
                    chars.insert(mark, '|');
                    bar = chars.into_iter().collect();
                }
            }
            bar
        });
        lines.push(format!(
            "  {:<18} {:<32} {amounts}{budget}{}",
            truncate(&l.name, 18),
            bar,
            if l.over_budget { "  OVER BUDGET" } else { "" }
        ));
    }
    if !report.spent.is_empty() {
        lines.push(format!("Total spent: {}", totals_text(&report.spent)));
    }
    if !report.budgeted.is_empty() {
        lines.push(format!(
            "Budgeted: {}   left: {}",
            totals_text(&report.budgeted),
            totals_text(&report.left)
        ));
        if report.over_count > 0 {
            lines.push(format!(
                "Over budget: {} in {} {}",
                totals_text(&report.overspent),
                report.over_count,
                if report.over_count == 1 {
                    "category"
                } else {
                    "categories"
                }
            ));
        }
    }
    Ok(Answer {
        text: lines.join("\n"),
        json: serde_json::to_value(&report).unwrap_or_default(),
    })
}

/// Width of the longest bar, in characters.
const WIDTH: i128 = 30;

/// Characters for `amount` on a bar where `full` fills [`WIDTH`] (rounded
/// up, so any spending shows).
fn bar_len(amount: i64, full: i64, round_up: bool) -> usize {
    let (amount, full) = (i128::from(amount.max(0)), i128::from(full.max(1)));
    let up = if round_up { full - 1 } else { 0 };
    usize::try_from((amount * WIDTH + up) / full).unwrap_or(0)
}

fn currency(ws: &Workspace<'_>, given: Option<&str>) -> Result<Currency, CommandError> {
    if let Some(code) = given {
        return Ok(Currency::from_code(&code.trim().to_uppercase())?);
    }
    if let Some(c) = ws.data.settings()?.currency {
        return Ok(c);
    }
    // A fresh install: the currency of the region the system's locale names
    // (it then becomes the default, and the answer says so).
    ["LC_ALL", "LC_MONETARY", "LANG"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|l| !l.is_empty())
        .and_then(|l| Currency::of_locale(&l))
        .ok_or_else(|| {
            CommandError::NotFound(
                "which currency? pass --currency EUR once (it becomes your default), or set LIFEOS_CURRENCY"
                    .into(),
            )
        })
}

fn find_category<'c>(categories: &'c [Category], name: &str) -> Option<&'c Category> {
    let wanted = name.trim().to_lowercase();
    categories
        .iter()
        .find(|c| !c.deleted && c.name.to_lowercase() == wanted)
}

/// `12.50 EUR`.
pub fn money_text(m: &Money) -> String {
    format!("{} {}", m.decimal(), m.currency.code())
}

fn totals_text(t: &lifeos_core::Totals) -> String {
    let parts: Vec<String> = t.iter().map(|m| money_text(&m)).collect();
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join(" + ")
    }
}

fn line(e: &Expense, categories: &[Category]) -> String {
    let category = e
        .category
        .and_then(|id| categories.iter().find(|c| c.id == id))
        .map_or("-", |c| c.name.as_str());
    let mut s = format!(
        "{} {}  {:>14}  {:<16} {}",
        super::short_id(e.id),
        e.date,
        money_text(&e.amount),
        truncate(category, 16),
        e.payee.as_deref().unwrap_or("")
    );
    if let Some(note) = &e.note {
        s.push_str(&format!("  ({note})"));
    }
    s.trim_end().to_string()
}
