//! Money going out: expense entries, categories, monthly budgets per
//! category, and the monthly report.
//!
//! Categories and budgets live in the `finance` document; expenses live in
//! `ledger` documents, one per calendar month, so that opening the app loads
//! this month's expenses rather than a decade of them: Automerge takes ~7 µs
//! per expense to load, so 50,000 in one document cost ~0.4 s before anything
//! is shown, and a heavy user's month about 6 ms (docs/benchmarks.md).
//! A budget is stored as `budgets: { "YYYY-MM": "<minor> <CUR>" }` inside its
//! category: one register per month, amount and currency always together.

pub mod report;

use std::collections::BTreeMap;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ValueRef};
use serde::Serialize;

pub use report::{CategoryLine, MonthlyReport, monthly_report};

use crate::doc::LifeDoc;
use crate::doc::fields::{
    Item, bool_of, check_text, clean_name, create_entity, date_of, id_of, is_null, live_entity,
    next_stamp, put_latest, put_latest_opt_str, put_opt_str, scan_collection, settled, str_of,
    tombstone,
};
use crate::error::{Error, Result};
use crate::id::EntityId;
use crate::money::Money;
use crate::schema::DocKind;
use crate::time::{Date, Month, Timestamp, format_date};

const MAX_NAME: usize = 100;
const MAX_PAYEE: usize = 200;
const MAX_NOTE: usize = 2_000;

/// An expense category.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Category {
    /// The category's id.
    pub id: EntityId,
    /// Its name.
    pub name: String,
    /// Whether unspent (or overspent) budget carries into the next month.
    pub rollover: bool,
    /// Deleted categories are kept so that old expenses and reports still name them.
    pub deleted: bool,
    /// Monthly budgets.
    pub budgets: BTreeMap<Month, Money>,
    /// When it was created.
    pub created_at: Timestamp,
}

/// One expense.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Expense {
    /// The expense's id.
    pub id: EntityId,
    /// How much (always positive).
    pub amount: Money,
    /// The day it was spent.
    pub date: Date,
    /// Its category, if any.
    pub category: Option<EntityId>,
    /// Who was paid.
    pub payee: Option<String>,
    /// A note.
    pub note: Option<String>,
    /// When it was entered.
    pub created_at: Timestamp,
}

/// What a new expense is made of.
#[derive(Clone, Debug, PartialEq)]
pub struct NewExpense {
    /// How much; must be above zero.
    pub amount: Money,
    /// The day it was spent.
    pub date: Date,
    /// Its category.
    pub category: Option<EntityId>,
    /// Who was paid.
    pub payee: Option<String>,
    /// A note.
    pub note: Option<String>,
}

/// A change to an expense; for clearable fields `Some(None)` clears.
/// Changing the date to another month moves the expense to that month's ledger
/// (see [`crate::user::UserData::update_expense`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ExpensePatch {
    /// New amount.
    pub amount: Option<Money>,
    /// New day (within the same month here).
    pub date: Option<Date>,
    /// New category.
    pub category: Option<Option<EntityId>>,
    /// New payee.
    pub payee: Option<Option<String>>,
    /// New note.
    pub note: Option<Option<String>>,
}

/// The typed view of the `finance` document: categories and budgets.
#[derive(Debug)]
pub struct FinanceDoc {
    doc: LifeDoc,
}

crate::doc::typed_document!(FinanceDoc, DocKind::Finance);

impl FinanceDoc {
    /// Adds a category; returns its id.
    pub fn add_category(&mut self, now: Timestamp, name: &str, rollover: bool) -> Result<EntityId> {
        let name = clean_name("name", name, MAX_NAME)?;
        let categories = self.doc.collection("categories")?;
        let id = EntityId::generate(now);
        self.doc.edit(now, |doc| {
            let obj = create_entity(doc, &categories, id)?;
            doc.put(&obj, "name", name)?;
            doc.put(&obj, "rollover", rollover)?;
            doc.put_object(&obj, "budgets", ObjType::Map)?;
            Ok(())
        })?;
        Ok(id)
    }

    /// Renames a category or changes its rollover.
    pub fn update_category(
        &mut self,
        now: Timestamp,
        id: EntityId,
        name: Option<&str>,
        rollover: Option<bool>,
    ) -> Result<()> {
        let name = name.map(|n| clean_name("name", n, MAX_NAME)).transpose()?;
        let obj = self.category_obj(id)?;
        self.doc.edit(now, |doc| {
            let at = next_stamp(doc, &obj, now);
            if let Some(n) = name {
                put_latest(doc, &obj, "name", n, at)?;
            }
            if let Some(r) = rollover {
                put_latest(doc, &obj, "rollover", r, at)?;
            }
            Ok(())
        })
    }

    /// Deletes a category. Its expenses keep pointing at it, and reports name it as deleted.
    pub fn delete_category(&mut self, now: Timestamp, id: EntityId) -> Result<()> {
        let obj = self.category_obj(id)?;
        self.doc.edit(now, |doc| tombstone(doc, &obj, now))
    }

    /// Sets (or with `None`, removes) the budget of a category for a month.
    pub fn set_budget(
        &mut self,
        now: Timestamp,
        id: EntityId,
        month: Month,
        amount: Option<Money>,
    ) -> Result<()> {
        if amount.is_some_and(|a| a.minor < 0) {
            return Err(Error::invalid("amount", "a budget cannot be negative"));
        }
        let obj = self.category_obj(id)?;
        let key = month.to_string();
        self.doc.edit(now, |doc| {
            let budgets = match doc.get(&obj, "budgets")? {
                Some((automerge::Value::Object(_), b)) => b,
                _ => return Err(Error::Corrupt("category has no budgets map".into())),
            };
            match amount {
                Some(a) => doc.put(&budgets, key, a.to_storage())?,
                None => {
                    if doc.get(&budgets, &key)?.is_some() {
                        doc.delete(&budgets, &key)?;
                    }
                }
            }
            Ok(())
        })
    }

    /// Every category, deleted ones included (flagged), in creation order.
    pub fn categories(&self) -> Result<Vec<Category>> {
        let doc = self.doc.automerge();
        let categories = self.doc.collection("categories")?;
        let mut out = Vec::new();
        for item in doc.map_range(&categories, ..) {
            let id: EntityId = item
                .key
                .parse()
                .map_err(|_| Error::Corrupt("category key is not a UUID".into()))?;
            let obj = item.id();
            let mut c = Category {
                id,
                name: String::new(),
                rollover: false,
                deleted: false,
                budgets: BTreeMap::new(),
                created_at: id.created_at(),
            };
            for f in doc.map_range(&obj, ..) {
                let v = settled(doc, &obj, &f)?;
                match f.key.as_ref() {
                    "name" => c.name = str_of("name", &v)?.to_string(),
                    "rollover" => c.rollover = bool_of("rollover", &v)?,
                    "deleted_at" => c.deleted = true,
                    "budgets" => {
                        for b in doc.map_range(f.id(), ..) {
                            let month: Month = b
                                .key
                                .parse()
                                .map_err(|e: Error| Error::Corrupt(e.to_string()))?;
                            c.budgets
                                .insert(month, Money::from_storage(str_of("budget", &b.value)?)?);
                        }
                    }
                    _ => {}
                }
            }
            out.push(c);
        }
        Ok(out)
    }

    /// Whether a live category with this id exists.
    pub fn has_category(&self, id: EntityId) -> Result<bool> {
        match self.category_obj(id) {
            Ok(_) => Ok(true),
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn category_obj(&self, id: EntityId) -> Result<ObjId> {
        let categories = self.doc.collection("categories")?;
        live_entity(self.doc.automerge(), &categories, "category", id)
    }
}

/// The typed view of a `ledger` document: the expenses of one calendar month.
#[derive(Debug)]
pub struct LedgerDoc {
    doc: LifeDoc,
    month: Month,
}

impl LedgerDoc {
    /// A new, empty ledger for `month`.
    pub fn new(month: Month) -> Self {
        LedgerDoc {
            doc: LifeDoc::with_genesis(DocKind::Ledger, Some(month)),
            month,
        }
    }

    /// Wraps a loaded document, checking its kind and reading its month.
    pub fn from_doc(doc: LifeDoc) -> Result<Self> {
        crate::doc::expect_kind(&doc, DocKind::Ledger)?;
        let month = match doc.automerge().get(ROOT, "month")? {
            Some((v, _)) => v.as_str().and_then(|m| m.parse::<Month>().ok()),
            None => None,
        }
        .ok_or_else(|| Error::Corrupt("ledger has no month".into()))?;
        Ok(LedgerDoc { doc, month })
    }

    /// The month whose expenses this ledger holds.
    pub fn month(&self) -> Month {
        self.month
    }

    /// The underlying document.
    pub fn doc(&self) -> &LifeDoc {
        &self.doc
    }

    /// The underlying document, mutable.
    pub fn doc_mut(&mut self) -> &mut LifeDoc {
        &mut self.doc
    }

    /// Adds an expense dated in this ledger's month; returns its id.
    /// Whether the category exists is checked by the caller, which sees the finance document.
    pub fn add_expense(&mut self, now: Timestamp, new: NewExpense) -> Result<EntityId> {
        self.insert_expense(now, EntityId::generate(now), new)
    }

    /// Adds an expense under a given id (moving it between ledgers keeps its id).
    pub(crate) fn insert_expense(
        &mut self,
        now: Timestamp,
        id: EntityId,
        new: NewExpense,
    ) -> Result<EntityId> {
        let new = validate_expense(new)?;
        self.check_month(new.date)?;
        let expenses = self.doc.collection("expenses")?;
        self.doc.edit(now, |doc| {
            let obj = create_entity(doc, &expenses, id)?;
            doc.put(&obj, "amount", new.amount.to_storage())?;
            doc.put(&obj, "date", format_date(new.date))?;
            if let Some(c) = new.category {
                doc.put(&obj, "category", c.to_string())?;
            }
            put_opt_str(doc, &obj, "payee", new.payee.as_deref())?;
            put_opt_str(doc, &obj, "note", new.note.as_deref())?;
            Ok(())
        })?;
        Ok(id)
    }

    /// Changes some fields of an expense; the date must stay in this ledger's month.
    pub fn update_expense(
        &mut self,
        now: Timestamp,
        id: EntityId,
        patch: ExpensePatch,
    ) -> Result<()> {
        let current = self.expense(id)?;
        let merged = validate_expense(apply_patch(&current, &patch))?;
        self.check_month(merged.date)?;
        let obj = self.expense_obj(id)?;
        self.doc.edit(now, |doc| {
            let at = next_stamp(doc, &obj, now);
            if patch.amount.is_some() {
                put_latest(doc, &obj, "amount", merged.amount.to_storage(), at)?;
            }
            if patch.date.is_some() {
                put_latest(doc, &obj, "date", format_date(merged.date), at)?;
            }
            if patch.category.is_some() {
                let c = merged.category.map(|c| c.to_string());
                put_latest_opt_str(doc, &obj, "category", c.as_deref(), at)?;
            }
            if patch.payee.is_some() {
                put_latest_opt_str(doc, &obj, "payee", merged.payee.as_deref(), at)?;
            }
            if patch.note.is_some() {
                put_latest_opt_str(doc, &obj, "note", merged.note.as_deref(), at)?;
            }
            Ok(())
        })
    }

    /// Deletes an expense (a tombstone).
    pub fn delete_expense(&mut self, now: Timestamp, id: EntityId) -> Result<()> {
        let obj = self.expense_obj(id)?;
        self.doc.edit(now, |doc| tombstone(doc, &obj, now))
    }

    /// One live expense.
    pub fn expense(&self, id: EntityId) -> Result<Expense> {
        let obj = self.expense_obj(id)?;
        read_expense(self.doc.automerge(), id, &obj)?.ok_or(Error::NotFound {
            kind: "expense",
            id: id.to_string(),
        })
    }

    /// Whether this ledger holds a live expense with this id.
    pub fn has_expense(&self, id: EntityId) -> bool {
        self.expense_obj(id).is_ok()
    }

    /// Every live expense, in id (creation) order.
    pub fn expenses(&self) -> Result<Vec<Expense>> {
        let expenses = self.doc.collection("expenses")?;
        let mut readers: Vec<ExpenseReader> = Vec::new();
        let ids = scan_collection(self.doc.automerge(), &expenses, "expense", |i, item| {
            if readers.len() <= i {
                readers.resize_with(i + 1, ExpenseReader::default);
            }
            match item {
                Item::Field(key, value) => readers[i].field(key, value),
                Item::Text(..) => Ok(()),
            }
        })?;
        readers.resize_with(ids.len(), ExpenseReader::default);
        let mut out = Vec::with_capacity(ids.len());
        for (reader, id) in readers.into_iter().zip(ids) {
            if let Some(e) = reader.finish(id)? {
                out.push(e);
            }
        }
        Ok(out)
    }

    fn check_month(&self, date: Date) -> Result<()> {
        if !self.month.contains(date) {
            return Err(Error::invalid(
                "date",
                format!(
                    "this ledger holds {}; {} belongs to another month",
                    self.month,
                    format_date(date)
                ),
            ));
        }
        Ok(())
    }

    fn expense_obj(&self, id: EntityId) -> Result<ObjId> {
        let expenses = self.doc.collection("expenses")?;
        live_entity(self.doc.automerge(), &expenses, "expense", id)
    }
}

/// The expense that results from applying `patch` to `current`.
pub(crate) fn apply_patch(current: &Expense, patch: &ExpensePatch) -> NewExpense {
    NewExpense {
        amount: patch.amount.unwrap_or(current.amount),
        date: patch.date.unwrap_or(current.date),
        category: patch.category.unwrap_or(current.category),
        payee: patch.payee.clone().unwrap_or_else(|| current.payee.clone()),
        note: patch.note.clone().unwrap_or_else(|| current.note.clone()),
    }
}

fn validate_expense(mut new: NewExpense) -> Result<NewExpense> {
    if new.amount.minor <= 0 {
        return Err(Error::invalid(
            "amount",
            "an expense must be more than zero (for a refund, lower or delete the expense it returns)",
        ));
    }
    new.payee = match new.payee.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) => Some(clean_name("payee", p, MAX_PAYEE)?),
    };
    new.note = match new.note {
        Some(n) if n.trim().is_empty() => None,
        Some(n) => {
            check_text("note", &n, MAX_NOTE)?;
            Some(n)
        }
        None => None,
    };
    Ok(new)
}

/// Builds an expense from its fields, fed one at a time.
#[derive(Default)]
struct ExpenseReader {
    amount: Option<Money>,
    date: Option<Date>,
    category: Option<EntityId>,
    payee: Option<String>,
    note: Option<String>,
    deleted: bool,
}

impl ExpenseReader {
    fn field(&mut self, key: &str, v: &ValueRef<'_>) -> Result<()> {
        if is_null(v) {
            return Ok(());
        }
        match key {
            "deleted_at" => self.deleted = true,
            "amount" => self.amount = Some(Money::from_storage(str_of("amount", v)?)?),
            "date" => self.date = Some(date_of("date", v)?),
            "category" => self.category = Some(id_of("category", v)?),
            "payee" => self.payee = Some(str_of("payee", v)?.to_string()),
            "note" => self.note = Some(str_of("note", v)?.to_string()),
            _ => {}
        }
        Ok(())
    }

    /// The expense, `None` for a tombstone, an error when a required field is missing.
    fn finish(self, id: EntityId) -> Result<Option<Expense>> {
        if self.deleted {
            return Ok(None);
        }
        Ok(Some(Expense {
            id,
            amount: self
                .amount
                .ok_or_else(|| Error::Corrupt(format!("expense {id} has no amount")))?,
            date: self
                .date
                .ok_or_else(|| Error::Corrupt(format!("expense {id} has no date")))?,
            category: self.category,
            payee: self.payee,
            note: self.note,
            created_at: id.created_at(),
        }))
    }
}

fn read_expense(doc: &AutoCommit, id: EntityId, obj: &ObjId) -> Result<Option<Expense>> {
    let mut reader = ExpenseReader::default();
    for f in doc.map_range(obj, ..) {
        reader.field(&f.key, &settled(doc, obj, &f)?)?;
    }
    reader.finish(id)
}

#[cfg(test)]
mod tests;
