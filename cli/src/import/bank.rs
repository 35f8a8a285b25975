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

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use chrono::NaiveDate;
use clap::Args;
use lifeos_core::finance::NewExpense;
use lifeos_core::time::Date;
use lifeos_core::{Currency, EntityId, Money};
use serde::{Deserialize, Serialize};

use super::report::{Kind, Report};
use super::table::{Row, Shape, Table};
use super::{Clock, ImportError, ImportFile, Occurrences, Origin, Progress, label, read_file};
use crate::workspace::Workspace;

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

/// How to read a bank's CSV: every option may come from a saved mapping.
/// Columns are header names or numbers from 1.
#[derive(Debug, Clone, Default, PartialEq, Args, Serialize, Deserialize)]
#[serde(default)]
pub struct BankMapping {
    /// The field separator: one character, or "tab" [default: ,].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// Lines before the header to skip (a preamble with the account...).
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_rows: Option<usize>,
    /// The file has no header: columns are numbers.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_header: Option<bool>,
    /// The date's column.
    #[arg(long, value_name = "COLUMN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_column: Option<String>,
    /// The date's format, strftime style: %d.%m.%Y, %m/%d/%Y, %d %b %Y...
    /// [default: %Y-%m-%d]
    #[arg(long, value_name = "FORMAT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_format: Option<String>,
    /// The column of signed amounts (negative is money out, unless --flip-sign).
    #[arg(long, value_name = "COLUMN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_column: Option<String>,
    /// The column of money coming in (instead of --amount-column).
    #[arg(long, value_name = "COLUMN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inflow_column: Option<String>,
    /// The column of money going out (instead of --amount-column).
    #[arg(long, value_name = "COLUMN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outflow_column: Option<String>,
    /// Amounts have a decimal comma: 1.234,56 (--decimal-comma=false undoes
    /// a saved one).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decimal_comma: Option<bool>,
    /// Positive amounts are money out (credit card statements).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flip_sign: Option<bool>,
    /// The payee's column.
    #[arg(long, value_name = "COLUMN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payee_column: Option<String>,
    /// The category's column (missing categories are created).
    #[arg(long, value_name = "COLUMN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_column: Option<String>,
    /// The category of expenses without one from --category-column.
    #[arg(long, value_name = "NAME")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// A column to keep as the expense's note (the bank's reference...).
    #[arg(long, value_name = "COLUMN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note_column: Option<String>,
    /// The statement's currency, ISO 4217 (EUR, USD, JPY...).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

impl BankMapping {
    /// These options, with `saved` filling what they leave out.
    pub fn over(self, saved: BankMapping) -> BankMapping {
        BankMapping {
            delimiter: self.delimiter.or(saved.delimiter),
            skip_rows: self.skip_rows.or(saved.skip_rows),
            no_header: self.no_header.or(saved.no_header),
            date_column: self.date_column.or(saved.date_column),
            date_format: self.date_format.or(saved.date_format),
            amount_column: self.amount_column.or(saved.amount_column),
            inflow_column: self.inflow_column.or(saved.inflow_column),
            outflow_column: self.outflow_column.or(saved.outflow_column),
            decimal_comma: self.decimal_comma.or(saved.decimal_comma),
            flip_sign: self.flip_sign.or(saved.flip_sign),
            payee_column: self.payee_column.or(saved.payee_column),
            category_column: self.category_column.or(saved.category_column),
            category: self.category.or(saved.category),
            note_column: self.note_column.or(saved.note_column),
            currency: self.currency.or(saved.currency),
        }
    }
}

/// Where the amounts are.
enum Amounts {
    Signed {
        column: String,
        flip: bool,
    },
    Split {
        inflow: Option<String>,
        outflow: Option<String>,
    },
}

/// A mapping checked, before the file is read.
struct Settings {
    shape: Shape,
    date_column: String,
    date_format: String,
    amounts: Amounts,
    decimal_comma: bool,
    payee: Option<String>,
    category_column: Option<String>,
    category: Option<String>,
    note: Option<String>,
    currency: Currency,
}

fn settings(m: &BankMapping) -> Result<Settings, ImportError> {
    let usage = |s: String| ImportError::Usage(s);
    let delimiter = match m.delimiter.as_deref() {
        None => b',',
        Some("tab" | "\\t" | "\t") => b'\t',
        Some(d) if d.len() == 1 && d.is_ascii() => d.as_bytes()[0],
        Some(d) => {
            return Err(usage(format!(
                "--delimiter {d:?}: give one character, or tab"
            )));
        }
    };
    let code = m
        .currency
        .as_deref()
        .ok_or_else(|| usage("the bank import needs --currency (EUR, USD...)".into()))?;
    let currency = Currency::from_code(&code.trim().to_ascii_uppercase())
        .map_err(|e| usage(format!("--currency: {e}")))?;
    let date_column = m
        .date_column
        .clone()
        .ok_or_else(|| usage("the bank import needs --date-column".into()))?;
    let date_format = m.date_format.clone().unwrap_or_else(|| "%Y-%m-%d".into());
    if chrono::format::StrftimeItems::new(&date_format)
        .any(|i| matches!(i, chrono::format::Item::Error))
    {
        return Err(usage(format!(
            "--date-format {date_format:?} is not a strftime format"
        )));
    }
    let flip = m.flip_sign.unwrap_or(false);
    let amounts = match (&m.amount_column, &m.inflow_column, &m.outflow_column) {
        (Some(column), None, None) => Amounts::Signed {
            column: column.clone(),
            flip,
        },
        (None, inflow, outflow) if inflow.is_some() || outflow.is_some() => {
            if flip {
                return Err(usage("--flip-sign is for --amount-column; inflow and outflow columns say which way the money went".into()));
            }
            Amounts::Split {
                inflow: inflow.clone(),
                outflow: outflow.clone(),
            }
        }
        (None, _, _) => {
            return Err(usage(
                "the bank import needs --amount-column, or --outflow-column (and --inflow-column)"
                    .into(),
            ));
        }
        (Some(_), _, _) => {
            return Err(usage(
                "give --amount-column or --inflow-column/--outflow-column, not both".into(),
            ));
        }
    };
    Ok(Settings {
        shape: Shape {
            delimiter,
            skip_lines: m.skip_rows.unwrap_or(0),
            header: !m.no_header.unwrap_or(false),
        },
        date_column,
        date_format,
        amounts,
        decimal_comma: m.decimal_comma.unwrap_or(false),
        payee: m.payee_column.clone(),
        category_column: m.category_column.clone(),
        category: m
            .category
            .clone()
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty()),
        note: m.note_column.clone(),
        currency,
    })
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

/// A name for a saved mapping: 1-64 letters, digits, `.`, `_`, `-`.
fn mapping_name(name: &str) -> Result<&str, ImportError> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(name)
    } else {
        Err(ImportError::Usage(format!(
            "mapping name {name:?}: use 1 to 64 letters, digits, '.', '_' or '-'"
        )))
    }
}

fn load_mapping(ws: &Workspace<'_>, name: &str) -> Result<BankMapping, ImportError> {
    let name = mapping_name(name)?;
    let json = ws
        .session()
        .meta(&format!("{MAPPING_KEY}{name}"))?
        .ok_or_else(|| {
            ImportError::Usage(format!(
                "no saved bank mapping named {name:?}: save one with --save-mapping {name}"
            ))
        })?;
    serde_json::from_str(&json).map_err(|e| {
        ImportError::Usage(format!(
            "the saved bank mapping {name:?} is not readable ({e}): save it again with --save-mapping {name}"
        ))
    })
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

/// An amount as a bank writes it, in minor units of `currency`: negative
/// for `-12.50`, `12.50-`, `(12.50)`; the currency's code or symbol may
/// stand on either side. An error is a message about the cell.
fn amount_of(text: &str, decimal_comma: bool, currency: Currency) -> Result<i64, String> {
    let bad = || format!("{text:?} is not an amount");
    let strip_currency = |s: &str| -> String {
        let mut s = s.trim();
        for sign in [currency.code(), "€", "$", "£", "¥", "₹", "₩"] {
            s = s.strip_prefix(sign).unwrap_or(s).trim();
            s = s.strip_suffix(sign).unwrap_or(s).trim();
        }
        s.to_string()
    };
    let mut s = strip_currency(text);
    let mut negative = false;
    if let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        negative = true;
        s = inner.trim().to_string();
    }
    if let Some(rest) = s.strip_prefix('-').or_else(|| s.strip_prefix('\u{2212}')) {
        negative = !negative;
        s = strip_currency(rest);
    } else if let Some(rest) = s.strip_suffix('-') {
        negative = !negative;
        s = strip_currency(rest);
    } else if let Some(rest) = s.strip_prefix('+') {
        s = strip_currency(rest);
    }
    let (point, group) = if decimal_comma {
        (',', '.')
    } else {
        ('.', ',')
    };
    let (whole, fraction) = s.split_once(point).unwrap_or((&s, ""));
    if !fraction.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let groups: Vec<&str> = whole
        .split([group, ' ', '\'', '\u{a0}', '\u{202f}'])
        .collect();
    if !groups.iter().all(|g| g.chars().all(|c| c.is_ascii_digit())) {
        return Err(bad());
    }
    if groups.len() > 1
        && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3))
    {
        return Err(if decimal_comma {
            format!(
                "{text:?} is not an amount with a decimal comma (amounts like 12.50 need no --decimal-comma)"
            )
        } else {
            format!(
                "{text:?} is not an amount with a decimal point (for amounts like 12,50 give --decimal-comma)"
            )
        });
    }
    let digits: String = groups.concat();
    if digits.is_empty() && fraction.is_empty() {
        return Err(bad());
    }
    let exp = usize::from(currency.exponent());
    let (kept, dropped) = fraction.split_at(fraction.len().min(exp));
    if dropped.chars().any(|c| c != '0') {
        return Err(format!(
            "{text:?} has more decimals than {} has ({exp})",
            currency.code()
        ));
    }
    let too_large = || format!("{text:?} is too large");
    let mut minor: i64 = 0;
    for c in digits
        .chars()
        .chain(kept.chars())
        .chain(std::iter::repeat_n('0', exp - kept.len()))
    {
        let digit = i64::from(c.to_digit(10).unwrap_or(0));
        minor = minor
            .checked_mul(10)
            .and_then(|m| m.checked_add(digit))
            .ok_or_else(too_large)?;
    }
    Ok(if negative { -minor } else { minor })
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
    fn amounts_are_exact_minor_units() {
        let a = |s: &str, comma: bool| amount_of(s, comma, eur());
        assert_eq!(a("-12.50", false), Ok(-1250));
        assert_eq!(a("1,234.5", false), Ok(123_450));
        assert_eq!(a("€ 4.20", false), Ok(420));
        assert_eq!(a("-€4.20", false), Ok(-420));
        assert_eq!(a("4.20 EUR", false), Ok(420));
        assert_eq!(a("(3.00)", false), Ok(-300));
        assert_eq!(a("12.50-", false), Ok(-1250));
        assert_eq!(a("+7", false), Ok(700));
        assert_eq!(a("0.1", false), Ok(10));
        assert_eq!(a(".5", false), Ok(50));
        assert_eq!(a("1.500", false), Ok(150), "zeros beyond cents are fine");
        assert_eq!(a("-1.234,56", true), Ok(-123_456));
        assert_eq!(a("1 234,56", true), Ok(123_456));
        assert_eq!(a("12,5", true), Ok(1250));
        assert_eq!(a("12,5x", true), Err("\"12,5x\" is not an amount".into()));
        assert_eq!(a("12,5x", false), Err("\"12,5x\" is not an amount".into()));
        assert!(a("12,50", false).unwrap_err().contains("--decimal-comma"));
        assert!(
            a("12.50", true)
                .unwrap_err()
                .contains("need no --decimal-comma")
        );
        assert_eq!(
            a("0.125", false),
            Err("\"0.125\" has more decimals than EUR has (2)".into())
        );
        assert_eq!(a("", false), Err("\"\" is not an amount".into()));
        assert_eq!(a("-", false), Err("\"-\" is not an amount".into()));
        assert!(
            a("99999999999999999999", false)
                .unwrap_err()
                .contains("too large")
        );
        let jpy = Currency::from_code("JPY").unwrap();
        assert_eq!(amount_of("1,200", false, jpy), Ok(1200));
        assert!(amount_of("12.5", false, jpy).is_err());
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

    #[test]
    fn mappings_merge_with_the_command_line_winning() {
        let saved = BankMapping {
            date_column: Some("Datum".into()),
            decimal_comma: Some(true),
            currency: Some("EUR".into()),
            ..BankMapping::default()
        };
        let given = BankMapping {
            decimal_comma: Some(false),
            payee_column: Some("Empfänger".into()),
            ..BankMapping::default()
        };
        let m = given.over(saved.clone());
        assert_eq!(m.decimal_comma, Some(false));
        assert_eq!(m.date_column.as_deref(), Some("Datum"));
        assert_eq!(m.payee_column.as_deref(), Some("Empfänger"));
        let json = serde_json::to_string(&saved).unwrap();
        assert_eq!(
            json,
            r#"{"date_column":"Datum","decimal_comma":true,"currency":"EUR"}"#
        );
        assert_eq!(serde_json::from_str::<BankMapping>(&json).unwrap(), saved);
    }

    #[test]
    fn options_are_checked_before_the_file() {
        let base = BankMapping {
            date_column: Some("Date".into()),
            amount_column: Some("Amount".into()),
            currency: Some("eur".into()),
            ..BankMapping::default()
        };
        assert!(settings(&base).is_ok(), "currency codes in any case");
        let err = |m: BankMapping| settings(&m).err().unwrap().to_string();
        assert!(
            err(BankMapping {
                currency: None,
                ..base.clone()
            })
            .contains("--currency")
        );
        assert!(
            err(BankMapping {
                currency: Some("EURO".into()),
                ..base.clone()
            })
            .contains("ISO 4217")
        );
        assert!(
            err(BankMapping {
                inflow_column: Some("In".into()),
                ..base.clone()
            })
            .contains("not both")
        );
        assert!(
            err(BankMapping {
                delimiter: Some(";;".into()),
                ..base.clone()
            })
            .contains("one character")
        );
        assert!(
            err(BankMapping {
                date_format: Some("%Q".into()),
                ..base.clone()
            })
            .contains("strftime")
        );
        assert!(
            settings(&BankMapping {
                amount_column: None,
                outflow_column: Some("Out".into()),
                ..base.clone()
            })
            .is_ok()
        );
        assert!(
            err(BankMapping {
                amount_column: None,
                outflow_column: Some("Out".into()),
                flip_sign: Some(true),
                ..base
            })
            .contains("--flip-sign")
        );
        assert!(mapping_name("giro_2026").is_ok());
        assert!(mapping_name("a b").is_err());
        assert!(mapping_name("").is_err());
    }
}
