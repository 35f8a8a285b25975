//! The JSON of an export, with positions: every task object and field
//! knows its line and column, so a wrong value is reported where it is, as
//! syntax errors are.

use std::collections::BTreeMap;
use std::sync::Arc;

use lifeos_core::time::{Date, Timestamp};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::import::{ImportError, Location};

/// The text of the file, to turn positions into lines and columns.
pub(super) struct Source<'a> {
    pub(super) file: Arc<str>,
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub(super) fn new(file: Arc<str>, text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Source {
            file,
            text,
            line_starts,
        }
    }

    pub(super) fn locate(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|s| *s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        Location {
            file: self.file.clone(),
            line: line as u64,
            column: column as u64,
        }
    }

    /// Where `raw`, a slice of the text, starts.
    pub(super) fn at(&self, raw: &RawValue) -> Location {
        let offset = (raw.get().as_ptr() as usize).wrapping_sub(self.text.as_ptr() as usize);
        self.locate(offset)
    }

    /// A syntax error, at serde_json's position, without its " at line..".
    pub(super) fn syntax(&self, e: &serde_json::Error) -> ImportError {
        let message = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = message.strip_suffix(&suffix).unwrap_or(&message);
        ImportError::invalid(
            Location {
                file: self.file.clone(),
                line: e.line() as u64,
                column: e.column().max(1) as u64,
            },
            format!("not valid JSON: {message}"),
        )
    }
}

/// One task object, its fields still raw.
pub(super) struct Object<'s, 'a> {
    pub(super) source: &'s Source<'a>,
    pub(super) at: Location,
    pub(super) fields: BTreeMap<String, &'a RawValue>,
}

impl<'a> Object<'_, 'a> {
    pub(super) fn raw(&self, name: &str) -> Option<&'a RawValue> {
        self.fields
            .get(name)
            .copied()
            .filter(|r| r.get().trim() != "null")
    }

    pub(super) fn field_at(&self, name: &str) -> Location {
        self.raw(name)
            .map_or_else(|| self.at.clone(), |r| self.source.at(r))
    }

    pub(super) fn value<T: Deserialize<'a>>(
        &self,
        name: &str,
        what: &str,
    ) -> Result<Option<T>, ImportError> {
        let Some(raw) = self.raw(name) else {
            return Ok(None);
        };
        serde_json::from_str(raw.get()).map(Some).map_err(|_| {
            ImportError::invalid(self.source.at(raw), format!("{name:?} must be {what}"))
        })
    }

    pub(super) fn string(&self, name: &str) -> Result<Option<String>, ImportError> {
        Ok(self
            .value::<String>(name, "a string")?
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()))
    }

    /// A Taskwarrior time, in UTC.
    pub(super) fn instant(&self, name: &str) -> Result<Option<Timestamp>, ImportError> {
        let Some(s) = self.string(name)? else {
            return Ok(None);
        };
        instant(&s).map(Some).ok_or_else(|| {
            ImportError::invalid(
                self.field_at(name),
                format!("{name:?}: {s:?} is not a Taskwarrior time (like 20261126T120000Z)"),
            )
        })
    }

    /// A time's date in `zone`.
    pub(super) fn date(&self, name: &str, zone: &str) -> Result<Option<Date>, ImportError> {
        self.instant(name)?
            .map(|t| lifeos_core::time::today_in(zone, t))
            .transpose()
            .map_err(ImportError::Data)
    }

    /// A list of strings; also a comma-separated string (older `depends`).
    pub(super) fn strings(&self, name: &str) -> Result<Vec<String>, ImportError> {
        let Some(raw) = self.raw(name) else {
            return Ok(Vec::new());
        };
        let list = match serde_json::from_str::<Vec<String>>(raw.get()) {
            Ok(list) => list,
            Err(_) => self
                .value::<String>(name, "a list of strings")?
                .unwrap_or_default()
                .split(',')
                .map(str::to_string)
                .collect(),
        };
        Ok(list
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect())
    }
}

/// `20261126T120000Z` (or RFC 3339).
pub(super) fn instant(s: &str) -> Option<Timestamp> {
    let utc = chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ")
        .map(|t| t.and_utc())
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(s).map(|t| t.to_utc()))
        .ok()?;
    Some(Timestamp::from_millis(utc.timestamp_millis()))
}
