//! The monthly report: spent per category against its budget, with rollover,
//! and totals per currency (never summed across currencies).
//!
//! A budget is compared only with spending in the budget's own currency; what
//! a category spent in other currencies is listed in `spent` beside it. With
//! rollover, what was left over (or overspent) in earlier months carries into
//! the next, starting from the category's first budgeted month; a change of
//! budget currency starts the carry afresh.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::{Category, Expense};
use crate::id::EntityId;
use crate::money::{Money, Totals};
use crate::time::Month;

/// One category's line in the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CategoryLine {
    /// The category; `None` for expenses without one.
    pub category: Option<EntityId>,
    /// Its name (`Uncategorized`, or `Unknown category` for an id not (yet) known here).
    pub name: String,
    /// Whether the category was deleted (its old expenses still count).
    pub deleted: bool,
    /// How many expenses.
    pub count: usize,
    /// Spent, per currency.
    pub spent: Totals,
    /// The month's budget.
    pub budget: Option<Money>,
    /// Carried from earlier months (rollover categories only).
    pub carried: Option<Money>,
    /// Budget plus carry: what could be spent this month.
    pub available: Option<Money>,
    /// Available minus spent in the budget's currency; negative when over.
    pub remaining: Option<Money>,
    /// Spent more than available.
    pub over_budget: bool,
}

/// The report for one month.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MonthlyReport {
    /// The month.
    pub month: Month,
    /// One line per category with a budget or spending, by name; uncategorized last.
    pub lines: Vec<CategoryLine>,
    /// Everything spent, per currency.
    pub spent: Totals,
    /// Every budget of the month, per currency.
    pub budgeted: Totals,
    /// Remaining over budgeted categories, per currency, overspending netted
    /// against what others have left (see `left` and `overspent`).
    pub remaining: Totals,
    /// What the categories still within budget have left, per currency.
    pub left: Totals,
    /// By how much the categories over budget are over, per currency
    /// (positive amounts): never hidden by what others have left.
    pub overspent: Totals,
    /// How many categories are over budget.
    pub over_count: usize,
}

/// Builds the report for `month`. `expenses` may hold any range of dates; only
/// `month` and, for rollover, the months before it are looked at.
pub fn monthly_report<'a>(
    month: Month,
    categories: &[Category],
    expenses: impl IntoIterator<Item = &'a Expense>,
) -> MonthlyReport {
    // One pass: spending per (category, month) per currency, and counts for `month`.
    let mut spent: HashMap<(Option<EntityId>, Month), Totals> = HashMap::new();
    let mut counts: HashMap<Option<EntityId>, usize> = HashMap::new();
    for e in expenses {
        let m = Month::of(e.date);
        if m > month {
            continue;
        }
        spent.entry((e.category, m)).or_default().add(e.amount);
        if m == month {
            *counts.entry(e.category).or_default() += 1;
        }
    }
    let by_id: HashMap<EntityId, &Category> = categories.iter().map(|c| (c.id, c)).collect();
    let mut lines = Vec::new();
    // Categories with a budget this month or spending this month.
    let mut ids: Vec<Option<EntityId>> = categories
        .iter()
        .filter(|c| !c.deleted && c.budgets.contains_key(&month))
        .map(|c| Some(c.id))
        .collect();
    for (cat, _) in spent.keys().filter(|(_, m)| *m == month) {
        if !ids.contains(cat) {
            ids.push(*cat);
        }
    }
    for id in ids {
        let month_spent = spent.get(&(id, month)).cloned().unwrap_or_default();
        let category = id.and_then(|i| by_id.get(&i).copied());
        let name = match (id, category) {
            (None, _) => "Uncategorized".to_string(),
            (Some(_), Some(c)) => c.name.clone(),
            (Some(_), None) => "Unknown category".to_string(),
        };
        let budget = category.and_then(|c| c.budgets.get(&month).copied());
        let carried = category
            .filter(|c| c.rollover)
            .and_then(|c| carry_into(c, month, &spent));
        let available = budget.map(|b| carried.and_then(|c| b.checked_add(c)).unwrap_or(b));
        let remaining = available.map(|a| {
            Money::new(
                a.minor.saturating_sub(month_spent.get(a.currency).minor),
                a.currency,
            )
        });
        lines.push(CategoryLine {
            category: id,
            name,
            deleted: category.is_some_and(|c| c.deleted),
            count: counts.get(&id).copied().unwrap_or(0),
            spent: month_spent,
            budget,
            carried,
            available,
            remaining,
            over_budget: remaining.is_some_and(|r| r.minor < 0),
        });
    }
    lines.sort_by(|a, b| {
        (a.category.is_none(), a.name.to_lowercase(), a.category).cmp(&(
            b.category.is_none(),
            b.name.to_lowercase(),
            b.category,
        ))
    });
    let mut report = MonthlyReport {
        month,
        lines,
        spent: Totals::default(),
        budgeted: Totals::default(),
        remaining: Totals::default(),
        left: Totals::default(),
        overspent: Totals::default(),
        over_count: 0,
    };
    for line in &report.lines {
        for m in line.spent.iter() {
            report.spent.add(m);
        }
        if let Some(b) = line.budget {
            report.budgeted.add(b);
        }
        if let Some(r) = line.remaining {
            report.remaining.add(r);
            if r.minor < 0 {
                report.overspent.add(Money::new(-r.minor, r.currency));
                report.over_count += 1;
            } else {
                report.left.add(r);
            }
        }
    }
    report
}

/// What a rollover category carries into `month` from its earlier budgeted months.
fn carry_into(
    category: &Category,
    month: Month,
    spent: &HashMap<(Option<EntityId>, Month), Totals>,
) -> Option<Money> {
    let budgets: &BTreeMap<Month, Money> = &category.budgets;
    let first = *budgets.keys().next()?;
    let currency = budgets.get(&month).map(|b| b.currency)?;
    let mut carry: i64 = 0;
    let mut m = first;
    while m < month {
        let budget = budgets.get(&m).copied();
        match budget {
            Some(b) if b.currency != currency => carry = 0,
            _ => {
                let available = carry.saturating_add(budget.map_or(0, |b| b.minor));
                let used = spent
                    .get(&(Some(category.id), m))
                    .map_or(0, |t| t.get(currency).minor);
                carry = available.saturating_sub(used);
            }
        }
        m = m.next();
    }
    Some(Money::new(carry, currency))
}
