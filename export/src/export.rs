//! The user's export: one versioned JSON object, one CSV per kind, or a zip
//! of every CSV. Written to any `Write`, document by document: the relay
//! streams it through a bounded channel into the response, so a user with
//! ten years of expenses costs the memory of one month's ledger, not of the
//! export (`GET /api/v1/export`, ARCHITECTURE.md "The REST API"); the CLI
//! writes the same bytes to a file from the documents it holds.
//!
//! CSV follows RFC 4180 (header row, CRLF, fields with commas, quotes or
//! line breaks quoted, quotes doubled) and neutralises spreadsheet formulas:
//! a text field starting with `=`, `+`, `-`, `@`, tab or carriage return is
//! prefixed with `'` (OWASP's advice), so opening the file in a spreadsheet
//! never runs what someone typed as a task title or payee.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;

use lifeos_core::finance::Expense;
use lifeos_core::root::Settings;
use lifeos_core::time::{Date, Timestamp, format_timestamp};
use serde::Serialize;

use crate::error::ExportError;
use crate::model::{
    BudgetOut, CategoryOut, CheckInOut, ExpenseOut, HabitOut, ProjectOut, SettingsOut, TaskOut,
};
use crate::source::{Opened, Source};

/// The export format's version; bumped when a field changes meaning or goes away.
pub const FORMAT_VERSION: u32 = 1;

/// One CSV file of the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Tasks.
    Tasks,
    /// Projects.
    Projects,
    /// Habits with their streaks and strength.
    Habits,
    /// Every check-in of every habit.
    Checkins,
    /// Expenses.
    Expenses,
    /// Expense categories.
    Categories,
    /// Monthly budgets.
    Budgets,
}

impl Kind {
    /// Every kind, in the order of the zip.
    pub const ALL: [Kind; 7] = [
        Kind::Tasks,
        Kind::Projects,
        Kind::Habits,
        Kind::Checkins,
        Kind::Expenses,
        Kind::Categories,
        Kind::Budgets,
    ];

    /// The name used in `kind=` and in file names.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Tasks => "tasks",
            Kind::Projects => "projects",
            Kind::Habits => "habits",
            Kind::Checkins => "checkins",
            Kind::Expenses => "expenses",
            Kind::Categories => "categories",
            Kind::Budgets => "budgets",
        }
    }

    /// The kind called `name`.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The whole export as one JSON object.
    Json,
    /// One kind as CSV.
    Csv(Kind),
    /// Every kind as CSV, in one zip.
    Zip,
}

/// The account the export belongs to.
pub use crate::model::ExportAccount as Account;

/// An export ready to write: the account's small documents are read; the
/// monthly ledgers are read one month at a time while writing.
pub struct Export<'a, S: Source> {
    source: &'a S,
    account: Account,
    now: Timestamp,
    today: Date,
    settings: Settings,
    opened: Option<Opened>,
}

impl<'a, S: Source> Export<'a, S> {
    /// Reads the root and every document but the ledgers. Streaks and
    /// quadrants are computed for the user's day at `now`: in the time zone
    /// of their settings, else in UTC.
    pub fn prepare(source: &'a S, account: Account, now: Timestamp) -> Result<Self, ExportError> {
        let opened = source.open()?;
        let settings = match &opened {
            Some(o) => o.data.settings()?,
            None => Settings::default(),
        };
        let today = user_today(&settings, now);
        Ok(Export {
            source,
            account,
            now,
            today,
            settings,
            opened,
        })
    }

    /// Writes the export in `format` to `out`.
    pub fn write(&self, format: Format, out: impl Write) -> Result<(), ExportError> {
        match format {
            Format::Json => self.write_json(out),
            Format::Csv(kind) => {
                let mut csv = csv_writer(out);
                self.write_csv(kind, &mut csv)?;
                csv.flush()?;
                Ok(())
            }
            Format::Zip => self.write_zip(out),
        }
    }

    /// The file name a browser saves this export as.
    pub fn file_name(&self, format: Format) -> String {
        let day = self.today;
        match format {
            Format::Json => format!("lifeos-export-{day}.json"),
            Format::Csv(kind) => format!("lifeos-{}-{day}.csv", kind.name()),
            Format::Zip => format!("lifeos-export-{day}.zip"),
        }
    }

    fn tasks(&self) -> Result<Vec<lifeos_core::tasks::Task>, ExportError> {
        Ok(match &self.opened {
            Some(o) => o.data.tasks()?,
            None => Vec::new(),
        })
    }

    fn projects(&self) -> Result<Vec<lifeos_core::tasks::Project>, ExportError> {
        Ok(match &self.opened {
            Some(o) => o.data.projects()?,
            None => Vec::new(),
        })
    }

    fn habits(&self) -> Result<Vec<lifeos_core::habits::Habit>, ExportError> {
        Ok(match &self.opened {
            Some(o) => o.data.habits()?,
            None => Vec::new(),
        })
    }

    fn categories(&self) -> Result<Vec<lifeos_core::finance::Category>, ExportError> {
        Ok(match &self.opened {
            Some(o) => o.data.categories()?,
            None => Vec::new(),
        })
    }

    /// Calls `f` with each month's expenses (sorted by day, then entry),
    /// oldest month first, holding one month in memory at a time.
    fn each_month(
        &self,
        mut f: impl FnMut(&[Expense]) -> Result<(), ExportError>,
    ) -> Result<(), ExportError> {
        let Some(opened) = &self.opened else {
            return Ok(());
        };
        for month in opened.ledgers.keys() {
            let mut expenses = opened.month_expenses(self.source, *month)?;
            expenses.sort_by_key(|e| (e.date, e.created_at, e.id));
            f(&expenses)?;
        }
        Ok(())
    }

    fn task_rows(&self) -> Result<Vec<TaskOut>, ExportError> {
        let horizon = self.settings.urgent_within_days;
        Ok(self
            .tasks()?
            .iter()
            .map(|t| TaskOut::new(t, self.today, horizon))
            .collect())
    }

    fn habit_rows(&self) -> Result<Vec<HabitOut>, ExportError> {
        let week_start = self.settings.week_start;
        Ok(self
            .habits()?
            .iter()
            .map(|h| HabitOut::new(h, self.today, week_start))
            .collect())
    }

    fn write_json(&self, mut out: impl Write) -> Result<(), ExportError> {
        /// The export's opening fields.
        #[derive(Serialize)]
        struct Head<'a> {
            format: &'static str,
            version: u32,
            exported_at: String,
            account: &'a Account,
            settings: SettingsOut,
        }
        let head = Head {
            format: "lifeos-export",
            version: FORMAT_VERSION,
            exported_at: format_timestamp(self.now),
            account: &self.account,
            settings: SettingsOut::from(&self.settings),
        };
        // The head without its closing brace; the arrays follow.
        let head = serde_json::to_vec(&head).map_err(std::io::Error::from)?;
        out.write_all(&head[..head.len() - 1])?;
        array(
            &mut out,
            "projects",
            self.projects()?.iter().map(ProjectOut::from),
        )?;
        array(&mut out, "tasks", self.task_rows()?)?;
        let habits = self.habits()?;
        array(
            &mut out,
            "habits",
            habits
                .iter()
                .map(|h| HabitOut::new(h, self.today, self.settings.week_start)),
        )?;
        array(
            &mut out,
            "checkins",
            habits
                .iter()
                .flat_map(|h| h.checkins.values().map(CheckInOut::from)),
        )?;
        drop(habits);
        let categories = self.categories()?;
        array(
            &mut out,
            "categories",
            categories.iter().map(CategoryOut::from),
        )?;
        array(
            &mut out,
            "budgets",
            categories.iter().flat_map(BudgetOut::all),
        )?;
        // Expenses: streamed month by month.
        out.write_all(b",\"expenses\":[")?;
        let mut first = true;
        self.each_month(|expenses| {
            for e in expenses {
                if !first {
                    out.write_all(b",")?;
                }
                first = false;
                serde_json::to_writer(&mut out, &ExpenseOut::from(e))
                    .map_err(std::io::Error::from)?;
            }
            Ok(())
        })?;
        out.write_all(b"]}\n")?;
        out.flush()?;
        Ok(())
    }

    fn write_csv<W: Write>(&self, kind: Kind, csv: &mut csv::Writer<W>) -> Result<(), ExportError> {
        match kind {
            Kind::Tasks => {
                let projects: HashMap<String, String> = self
                    .projects()?
                    .into_iter()
                    .map(|p| (p.id.to_string(), p.name))
                    .collect();
                csv.write_record([
                    "id",
                    "title",
                    "status",
                    "project_id",
                    "project",
                    "contexts",
                    "due",
                    "scheduled",
                    "time",
                    "recurrence",
                    "important",
                    "urgent",
                    "quadrant",
                    "notes",
                    "checklist",
                    "created_at",
                    "completed_at",
                ])?;
                for t in self.task_rows()? {
                    let project = t.project_id.as_ref().and_then(|p| projects.get(p));
                    let contexts = t.contexts.join(" ");
                    let checklist = t
                        .checklist
                        .iter()
                        .map(|i| format!("[{}] {}", if i.done { "x" } else { " " }, i.text))
                        .collect::<Vec<_>>()
                        .join("\n");
                    row(
                        csv,
                        &[
                            Cow::from(t.id.as_str()),
                            text(&t.title),
                            t.status.into(),
                            opt(t.project_id.as_deref()),
                            project.map_or(Cow::Borrowed(""), |p| text(p)),
                            text(&contexts),
                            date(t.due),
                            date(t.scheduled),
                            opt(t.time.as_deref()),
                            opt(t.recurrence.as_deref()),
                            boolean(t.important),
                            boolean(t.urgent),
                            t.quadrant.into(),
                            text(&t.notes),
                            text(&checklist),
                            t.created_at.as_str().into(),
                            opt(t.completed_at.as_deref()),
                        ],
                    )?;
                }
            }
            Kind::Projects => {
                csv.write_record(["id", "name", "archived", "created_at"])?;
                for p in self.projects()?.iter().map(ProjectOut::from) {
                    row(
                        csv,
                        &[
                            Cow::from(p.id.as_str()),
                            text(&p.name),
                            boolean(p.archived),
                            p.created_at.as_str().into(),
                        ],
                    )?;
                }
            }
            Kind::Habits => {
                csv.write_record([
                    "id",
                    "name",
                    "schedule",
                    "kind",
                    "unit",
                    "target",
                    "start",
                    "archived",
                    "current_streak",
                    "longest_streak",
                    "streak_unit",
                    "strength",
                    "created_at",
                ])?;
                for h in self.habit_rows()? {
                    row(
                        csv,
                        &[
                            Cow::from(h.id.as_str()),
                            text(&h.name),
                            h.schedule.as_str().into(),
                            h.kind.into(),
                            h.unit.as_deref().map_or(Cow::Borrowed(""), text),
                            h.target.map_or(Cow::Borrowed(""), |t| t.to_string().into()),
                            h.start.to_string().into(),
                            boolean(h.archived),
                            h.current_streak.to_string().into(),
                            h.longest_streak.to_string().into(),
                            h.streak_unit.into(),
                            h.strength.to_string().into(),
                            h.created_at.as_str().into(),
                        ],
                    )?;
                }
            }
            Kind::Checkins => {
                csv.write_record(["habit_id", "habit", "date", "state", "value", "note"])?;
                for h in self.habits()? {
                    for c in h.checkins.values().map(CheckInOut::from) {
                        row(
                            csv,
                            &[
                                Cow::from(c.habit_id.as_str()),
                                text(&h.name),
                                c.date.to_string().into(),
                                c.state.into(),
                                c.value.map_or(Cow::Borrowed(""), |v| v.to_string().into()),
                                c.note.as_deref().map_or(Cow::Borrowed(""), text),
                            ],
                        )?;
                    }
                }
            }
            Kind::Expenses => {
                let categories: HashMap<String, String> = self
                    .categories()?
                    .into_iter()
                    .map(|c| (c.id.to_string(), c.name))
                    .collect();
                csv.write_record([
                    "id",
                    "date",
                    "amount",
                    "currency",
                    "category_id",
                    "category",
                    "payee",
                    "note",
                    "created_at",
                ])?;
                self.each_month(|expenses| {
                    for e in expenses.iter().map(ExpenseOut::from) {
                        let category = e.category_id.as_ref().and_then(|c| categories.get(c));
                        row(
                            csv,
                            &[
                                Cow::from(e.id.as_str()),
                                e.date.to_string().into(),
                                e.amount.amount.as_str().into(),
                                e.amount.currency.into(),
                                opt(e.category_id.as_deref()),
                                category.map_or(Cow::Borrowed(""), |c| text(c)),
                                e.payee.as_deref().map_or(Cow::Borrowed(""), text),
                                e.note.as_deref().map_or(Cow::Borrowed(""), text),
                                e.created_at.as_str().into(),
                            ],
                        )?;
                    }
                    Ok(())
                })?;
            }
            Kind::Categories => {
                csv.write_record(["id", "name", "rollover", "deleted", "created_at"])?;
                for c in self.categories()?.iter().map(CategoryOut::from) {
                    row(
                        csv,
                        &[
                            Cow::from(c.id.as_str()),
                            text(&c.name),
                            boolean(c.rollover),
                            boolean(c.deleted),
                            c.created_at.as_str().into(),
                        ],
                    )?;
                }
            }
            Kind::Budgets => {
                csv.write_record(["category_id", "category", "month", "amount", "currency"])?;
                for c in self.categories()? {
                    for b in BudgetOut::all(&c) {
                        row(
                            csv,
                            &[
                                Cow::from(b.category_id.as_str()),
                                text(&c.name),
                                b.month.to_string().into(),
                                b.amount.amount.as_str().into(),
                                b.amount.currency.into(),
                            ],
                        )?;
                    }
                }
            }
        }
        Ok(())
    }

    fn write_zip(&self, out: impl Write) -> Result<(), ExportError> {
        let mut zip = zip::ZipWriter::new_stream(out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip_time(self.now));
        for kind in Kind::ALL {
            zip.start_file(format!("{}.csv", kind.name()), options)?;
            let mut csv = csv_writer(&mut zip);
            self.write_csv(kind, &mut csv)?;
            csv.flush()?;
        }
        zip.finish()?.flush()?;
        Ok(())
    }
}

/// The user's calendar day at `now`: in their settings' time zone, else UTC.
pub fn user_today(settings: &Settings, now: Timestamp) -> Date {
    settings
        .timezone
        .as_deref()
        .and_then(|zone| lifeos_core::time::today_in(zone, now).ok())
        .or_else(|| lifeos_core::time::today_in("UTC", now).ok())
        .unwrap_or_default()
}

/// Writes `,"name":[item,item,…]`.
fn array<T: Serialize>(
    out: &mut impl Write,
    name: &str,
    items: impl IntoIterator<Item = T>,
) -> Result<(), ExportError> {
    write!(out, ",\"{name}\":[")?;
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, &item).map_err(std::io::Error::from)?;
    }
    out.write_all(b"]")?;
    Ok(())
}

/// Writes one CSV record.
fn row<W: Write>(csv: &mut csv::Writer<W>, fields: &[Cow<'_, str>]) -> csv::Result<()> {
    csv.write_record(fields.iter().map(|f| f.as_bytes()))
}

fn csv_writer<W: Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(out)
}

/// A text field as a spreadsheet may safely open it: one that would start a
/// formula gets a leading `'`.
pub fn text(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

fn opt(s: Option<&str>) -> Cow<'_, str> {
    Cow::Borrowed(s.unwrap_or(""))
}

fn date(d: Option<Date>) -> Cow<'static, str> {
    d.map_or(Cow::Borrowed(""), |d| Cow::Owned(d.to_string()))
}

fn boolean(b: bool) -> Cow<'static, str> {
    Cow::Borrowed(if b { "true" } else { "false" })
}

/// The export's time as a zip entry's (DOS) time, in UTC.
fn zip_time(now: Timestamp) -> zip::DateTime {
    use chrono::{Datelike, Timelike};
    chrono::DateTime::from_timestamp_millis(now.as_millis())
        .and_then(|t| {
            zip::DateTime::from_date_and_time(
                u16::try_from(t.year()).ok()?,
                u8::try_from(t.month()).ok()?,
                u8::try_from(t.day()).ok()?,
                u8::try_from(t.hour()).ok()?,
                u8::try_from(t.minute()).ok()?,
                u8::try_from(t.second()).ok()?,
            )
            .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
