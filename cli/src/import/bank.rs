//! A bank's CSV statement, read through a column mapping: which column is
//! the date (in which format), the amount (one signed column, or inflow and
//! outflow columns), the payee, the category, a note; the delimiter,
//! preamble lines, decimal comma, sign, currency. A mapping can be saved in
//! the replica (`meta`, key `bank_mapping:NAME`, as JSON) and used again.
//!
//! Amounts become integer minor units exactly: digits are read as digits,
//! never through floating point, and more decimals than the currency has
//! are refused unless they are zeros. A grouping separator must group by
//! three (`1.234,56`), so `12,50` read with a decimal point is an error,
//! not 1250.
//!
//! Only money going out is imported. The key of an expense is its date,
//! amount and payee: a row matching one imported before (from any file) is
//! a duplicate, and identical rows within one file are numbered (`#2`), so
//! two coffees on one day are two expenses, once.

mod amount;
mod mapping;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use clap::Args;
use lifeos_core::finance::NewExpense;
use lifeos_core::time::Date;
use lifeos_core::{Currency, EntityId, Money};

pub use mapping::BankMapping;

use super::report::{Kind, Report};
use super::table::{Row, Table};
use super::{Clock, ImportError, ImportFile, Occurrences, Origin, Progress, label, read_file};
use crate::workspace::Workspace;
use amount::amount_of;
use mapping::{Amounts, Settings, load_mapping, mapping_name, settings};

const SOURCE: &str = "bank";
/// `meta` key prefix of saved mappings.
pub const MAPPING_KEY: &str = "bank_mapping:";

/// `lifeos import bank FILE`.
#[derive(Debug, Clone, Args)]
pub struct BankArgs {
    /// The file, and whether only to look.
    #[command(flatten)]
    pub file: ImportFile,
    /// Which column holds what.
    #[command(flatten)]
    pub mapping: BankMapping,
    /// Start from the mapping saved under this name.
    #[arg(long = "mapping", value_name = "NAME")]
    pub use_mapping: Option<String>,
    /// Save this import's mapping under this name, for --mapping NAME.
    #[arg(long, value_name = "NAME")]
    pub save_mapping: Option<String>,
}

pub(super) fn import(
    ws: &mut Workspace<'_>,
    clock: Clock<'_>,
    args: &BankArgs,
    report: &mut Report,
) -> Result<(), ImportError> {
    let saved = match &args.use_mapping {
        Some(name) => load_mapping(ws, name)?,
        None => BankMapping::default(),
    };
    let mapping = args.mapping.clone().over(saved);
    let save_as = args.save_mapping.as_deref().map(mapping_name).transpose()?;
    let settings = settings(&mapping)?;
    let path: &Path = &args.file.file;
    let bytes = read_file(path)?;
    let plan = parse(label(path), &bytes, &settings)?;
    apply(ws, clock, plan, settings.currency, report)?;
    if let Some(name) = save_as {
        let json = serde_json::to_string(&mapping)
            .map_err(|e| ImportError::Usage(format!("the mapping cannot be saved: {e}")))?;
        ws.session()
            .set_meta(&format!("{MAPPING_KEY}{name}"), &json)?;
        report.note(if args.file.dry_run {
            format!("the column mapping would be saved as {name:?} (not in a dry run)")
        } else {
            format!("column mapping saved as {name:?}: use it with --mapping {name}")
        });
    }
    Ok(())
}

struct Planned {
    origin: Origin,
    key: String,
    date: Date,
    minor: i64,
    payee: Option<String>,
    category: Option<String>,
    note: Option<String>,
}

struct Plan {
    expenses: Vec<Planned>,
    skipped: Vec<(u64, String)>,
}

/// Resolved columns, 0-based.
struct Columns {
    date: usize,
    amount: Option<usize>,
    inflow: Option<usize>,
    outflow: Option<usize>,
    payee: Option<usize>,
    category: Option<usize>,
    note: Option<usize>,
}

fn column(table: &Table, option: &str, spec: &str) -> Result<usize, ImportError> {
    let spec = spec.trim();
    if let Ok(n) = spec.parse::<usize>() {
        return n.checked_sub(1).ok_or_else(|| {
            ImportError::Usage(format!("{option} {spec}: columns are counted from 1"))
        });
    }
    if table.header.is_empty() {
        return Err(ImportError::Usage(format!(
            "{option} {spec:?}: without a header, name columns by number (from 1)"
        )));
    }
    table.column(spec).ok_or_else(|| {
        ImportError::invalid(
            table.header_at(),
            format!(
                "no column {spec:?} for {option} (the header has: {})",
                table.header.join(", ")
            ),
        )
    })
}

fn parse(file: Arc<str>, bytes: &[u8], s: &Settings) -> Result<Plan, ImportError> {
    let table = Table::read(file, bytes, &s.shape)?;
    let optional = |option: &str, spec: &Option<String>| {
        spec.as_deref()
            .map(|c| column(&table, option, c))
            .transpose()
    };
    let (amount, inflow, outflow) = match &s.amounts {
        Amounts::Signed { column: c, .. } => {
            (Some(column(&table, "--amount-column", c)?), None, None)
        }
        Amounts::Split { inflow, outflow } => (
            None,
            optional("--inflow-column", inflow)?,
            optional("--outflow-column", outflow)?,
        ),
    };
    let cols = Columns {
        date: column(&table, "--date-column", &s.date_column)?,
        amount,
        inflow,
        outflow,
        payee: optional("--payee-column", &s.payee)?,
        category: optional("--category-column", &s.category_column)?,
        note: optional("--note-column", &s.note)?,
    };
    let flip = matches!(s.amounts, Amounts::Signed { flip: true, .. });
    let mut plan = Plan {
        expenses: Vec::new(),
        skipped: Vec::new(),
    };
    let mut keys = Occurrences::default();
    for row in &table.rows {
        let text = row.get(cols.date);
        let date = NaiveDate::parse_from_str(text, &s.date_format).map_err(|_| {
            row.error(
                cols.date,
                format!("{text:?} is not a date in the format {}", s.date_format),
            )
        })?;
        let read = |c: usize| -> Result<i64, ImportError> {
            amount_of(row.get(c), s.decimal_comma, s.currency).map_err(|m| row.error(c, m))
        };
        // Money out, as a positive number of minor units; money in, negative.
        let (out, at) = match (cols.amount, cols.outflow, cols.inflow) {
            (Some(c), _, _) => {
                if row.get(c).is_empty() {
                    return Err(row.error(c, "no amount"));
                }
                let v = read(c)?;
                (if flip { v } else { -v }, c)
            }
            (None, outflow, inflow) => {
                let out = outflow
                    .map(|c| amount_or_zero(row, c, &read))
                    .transpose()?
                    .unwrap_or(0)
                    .abs();
                let inn = inflow
                    .map(|c| amount_or_zero(row, c, &read))
                    .transpose()?
                    .unwrap_or(0)
                    .abs();
                if out != 0 && inn != 0 {
                    return Err(row.error(
                        outflow.unwrap_or(cols.date),
                        "both the inflow and the outflow column have an amount",
                    ));
                }
                if out != 0 {
                    (out, outflow.unwrap_or(cols.date))
                } else {
                    (-inn, inflow.unwrap_or(cols.date))
                }
            }
        };
        let payee = row.get_opt(cols.payee).map(str::to_string);
        let shown = || {
            let money = Money::new(out.abs(), s.currency);
            match &payee {
                Some(p) => format!("{date} {money} {p}"),
                None => format!("{date} {money}"),
            }
        };
        if out < 0 {
            plan.skipped
                .push((row.line, format!("{}: money in, not an expense", shown())));
            continue;
        }
        if out == 0 {
            plan.skipped
                .push((row.line, format!("{}: no amount", shown())));
            continue;
        }
        let payee_key = payee
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        let key = keys.key(format!(
            "{date}\u{1f}{out} {}\u{1f}{payee_key}",
            s.currency.code()
        ));
        let category_at = row.at(cols.category.unwrap_or(cols.date));
        plan.expenses.push(Planned {
            origin: Origin::new(row.at(cols.date))
                .with("amount", row.at(at))
                .with("date", row.at(cols.date))
                .with("payee", row.at(cols.payee.unwrap_or(cols.date)))
                .with("note", row.at(cols.note.unwrap_or(cols.date)))
                .with("name", category_at.clone())
                .with("category", category_at),
            key,
            date,
            minor: out,
            payee,
            category: row
                .get_opt(cols.category)
                .map(str::to_string)
                .or_else(|| s.category.clone()),
            note: row.get_opt(cols.note).map(str::to_string),
        });
    }
    Ok(plan)
}

fn amount_or_zero(
    row: &Row,
    column: usize,
    read: &impl Fn(usize) -> Result<i64, ImportError>,
) -> Result<i64, ImportError> {
    if row.get(column).is_empty() {
        Ok(0)
    } else {
        read(column)
    }
}

fn apply(
    ws: &mut Workspace<'_>,
    clock: Clock<'_>,
    plan: Plan,
    currency: Currency,
    report: &mut Report,
) -> Result<(), ImportError> {
    for (line, reason) in plan.skipped {
        report.skipped(line, reason);
    }
    let mut categories: HashMap<String, EntityId> = HashMap::new();
    for c in ws.data.categories()?.into_iter().filter(|c| !c.deleted) {
        categories.entry(c.name.to_lowercase()).or_insert(c.id);
    }
    let progress = Progress::new(plan.expenses.len());
    for planned in plan.expenses {
        progress.step();
        let line = planned.origin.line();
        if let Some(id) = ws.session().imported(SOURCE, &planned.key)? {
            report.already(Kind::Expense, line, id);
            continue;
        }
        let category = match &planned.category {
            None => None,
            Some(name) => match categories.get(&name.to_lowercase()) {
                Some(id) => Some(*id),
                None => {
                    let id = ws
                        .data
                        .add_category(clock.now, name, false)
                        .map_err(|e| planned.origin.refused(e))?;
                    report.created(Kind::Category, id, line, name.clone());
                    categories.insert(name.to_lowercase(), id);
                    Some(id)
                }
            },
        };
        let amount = Money::new(planned.minor, currency);
        let text = match &planned.payee {
            Some(p) => format!("{} {amount} {p}", planned.date),
            None => format!("{} {amount}", planned.date),
        };
        let (id, _ledger) = ws
            .data
            .add_expense(
                clock.now,
                NewExpense {
                    amount,
                    date: planned.date,
                    category,
                    payee: planned.payee,
                    note: planned.note,
                },
            )
            .map_err(|e| planned.origin.refused(e))?;
        ws.session()
            .record_import(SOURCE, &planned.key, &id.to_string(), clock.now.as_millis())?;
        report.created(Kind::Expense, id, line, text);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::from_code("EUR").unwrap()
    }

    #[test]
    fn no_input_panics() {
        let fixture = include_bytes!("../../tests/fixtures/bank/giro.csv");
        let s = settings(&BankMapping {
            delimiter: Some(";".into()),
            skip_rows: Some(3),
            date_column: Some("Buchungstag".into()),
            date_format: Some("%d.%m.%Y".into()),
            amount_column: Some("4".into()),
            decimal_comma: Some(true),
            payee_column: Some("Empfänger".into()),
            category_column: Some("Kategorie".into()),
            currency: Some("EUR".into()),
            ..BankMapping::default()
        })
        .unwrap();
        assert_eq!(
            parse(Arc::from("giro.csv"), fixture, &s)
                .unwrap()
                .expenses
                .len(),
            5
        );
        for bytes in crate::import::mangled(fixture) {
            let _ = parse(Arc::from("giro.csv"), &bytes, &s);
        }
        for text in ["--1", "(-)", "1..2", ",", "€", "1,,000", "1 000 000,5", "٣"] {
            let _ = amount_of(text, true, eur());
            let _ = amount_of(text, false, eur());
        }
    }
}
