//! The bank import's column mapping: the options, how a saved one and the
//! command line combine, and the checks made before the file is read.

use clap::Args;
use lifeos_core::Currency;
use serde::{Deserialize, Serialize};

use super::MAPPING_KEY;
use crate::import::ImportError;
use crate::import::table::Shape;
use crate::workspace::Workspace;

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
pub(super) enum Amounts {
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
pub(super) struct Settings {
    pub(super) shape: Shape,
    pub(super) date_column: String,
    pub(super) date_format: String,
    pub(super) amounts: Amounts,
    pub(super) decimal_comma: bool,
    pub(super) payee: Option<String>,
    pub(super) category_column: Option<String>,
    pub(super) category: Option<String>,
    pub(super) note: Option<String>,
    pub(super) currency: Currency,
}

pub(super) fn settings(m: &BankMapping) -> Result<Settings, ImportError> {
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

/// A name for a saved mapping: 1-64 letters, digits, `.`, `_`, `-`.
pub(super) fn mapping_name(name: &str) -> Result<&str, ImportError> {
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

pub(super) fn load_mapping(ws: &Workspace<'_>, name: &str) -> Result<BankMapping, ImportError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
