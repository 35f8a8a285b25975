//! `lifeos import FORMAT FILE`: what another app exported, made LifeOS data.
//!
//! Four formats, one module each: Todoist's CSV template, Loop Habit
//! Tracker's CSV zip, a bank's CSV read through a column mapping that can be
//! saved, and Taskwarrior's `task export`. Every import goes the same way:
//!
//! 1. **Parse the whole file into a plan.** Anything malformed stops the
//!    import before anything is written, with an error that names the file,
//!    line and column (`bank.csv:7:3: "12,5x" is not an amount`); for CSV
//!    files the column is the field's number. Sizes are bounded: 64 MiB per
//!    file, [`MAX_RECORDS`] records.
//! 2. **Apply the plan in the command's one session** (one transaction).
//!    Each record has a stable key (which record of which source), and the
//!    replica's `imports` table remembers which entity each key became, so
//!    importing the same file again adds nothing. A rule of `lifeos-core`
//!    that refuses a record (a title too long) fails the whole import, again
//!    naming where the record is; nothing is committed.
//! 3. **Report**: counts per kind, the records made and the ones left out
//!    (and why), as text or JSON. `--dry-run` applies the plan the same way,
//!    so it finds every problem a real import would, and then does not
//!    commit: nothing changes.

mod bank;
mod loop_habits;
mod report;
mod table;
mod taskwarrior;
mod todoist;

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand};
use lifeos_core::time::{Date, Timestamp};

pub use bank::{BankArgs, BankMapping, MAPPING_KEY};
pub use todoist::TodoistArgs;

use crate::commands::Answer;
use crate::replica::ReplicaError;
use crate::workspace::Workspace;
use report::Report;

/// The largest file (or zip entry) an import reads.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// The most records (rows, tasks, check-ins) one import takes.
pub const MAX_RECORDS: usize = 200_000;
/// The longest single field (a CSV cell, a JSON string), in bytes.
pub const MAX_FIELD_BYTES: usize = 100_000;

/// `lifeos import`: one subcommand per format.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Todoist: one project exported as a CSV template.
    ///
    /// In Todoist: project menu, "Export as a template", CSV, with relative
    /// dates turned off. The project is named after the file
    /// (`Home [2203306141].csv` is "Home"; "Inbox" puts the tasks in the
    /// inbox without a project) unless --project says otherwise. Tasks go to
    /// the Next list (Inbox for Todoist's inbox).
    ///
    /// - CONTENT is the title; its `@labels` become contexts.
    ///
    /// - PRIORITY 1 (p1, Todoist's highest in its CSV files) is important
    ///   and urgent, 2 important, 3 urgent, 4 neither, as in quick add.
    ///
    /// - DESCRIPTION and the "note" rows under a task become its notes.
    ///
    /// - Subtasks (INDENT 2 and deeper) become checklist items of the task
    ///   above them.
    ///
    /// - Sections become a context on each of their tasks ("Next Week" is
    ///   @next-week).
    ///
    /// - DATE: YYYY-MM-DD, "Oct 5 2026", today, tomorrow, and repeating
    ///   dates ("every monday", "every 2 weeks", "every! 3 days", "every
    ///   15th") as LifeOS repetitions starting on the next matching day.
    ///   Other wording is kept in the notes and listed in the summary.
    Todoist(TodoistArgs),
    /// Loop Habit Tracker: the zip of "Export as CSV".
    ///
    /// Habits.csv gives each habit: its frequency becomes a schedule (1 in
    /// 1 day daily, N in 7 days N per week, N in D days N per D days),
    /// numeric habits keep their unit and target, archived ones stay
    /// archived. Question, description and colour are not kept. Each
    /// habit's folder ("001 Meditate/Checkmarks.csv") gives its check-ins:
    /// YES_MANUAL is done, SKIP skipped, numbers of numeric habits are
    /// amounts (Loop writes them times 1000); YES_AUTO, NO and UNKNOWN are
    /// days without a check-in. A day already checked in in LifeOS is kept
    /// as it is. Importing a newer export of the same habits adds only the
    /// new days.
    #[command(name = "loop")]
    Loop(ImportFile),
    /// A bank's CSV statement: money going out becomes expenses.
    ///
    /// Say which column holds what (a header name or a column number from
    /// 1): --date-column and --date-format, and either --amount-column
    /// (negative is money out; --flip-sign when positive is) or
    /// --inflow-column/--outflow-column. --payee-column, --category-column
    /// (or one --category for all) and --note-column are optional; missing
    /// categories are created. Amounts become exact minor units of
    /// --currency, never rounded. Money coming in is not an expense: those
    /// rows are listed as skipped.
    ///
    /// --save-mapping NAME keeps these options for next time, --mapping
    /// NAME uses them again (options given on the command line win).
    ///
    /// A row with the date, amount and payee of one imported before is a
    /// duplicate and is skipped, so overlapping statements import once; two
    /// identical rows in one file are two expenses.
    Bank(Box<BankArgs>),
    /// Taskwarrior: the JSON of `task export`.
    ///
    /// pending tasks go to Next; waiting ones too, starting on their wait
    /// date (Taskwarrior's waiting hides a task until then, LifeOS's "starts
    /// on"); scheduled is the start date; completed ones are done (at their
    /// end time); deleted ones are skipped. A repeating task comes once,
    /// from its template, with its recurrence (daily, weekly, 2w, monthly,
    /// quarterly, yearly, weekdays...) starting at its first pending due
    /// date; its instances are skipped. Priority H is important and urgent,
    /// M important, L neither. project (Home.Garden, kept whole), tags as
    /// contexts, annotations and dependencies in the notes, entry as the
    /// creation time.
    Taskwarrior(ImportFile),
}

/// The file to import, and whether only to look.
#[derive(Debug, Clone, Args)]
pub struct ImportFile {
    /// The exported file.
    pub file: PathBuf,
    /// Show what would be imported, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

impl ImportCommand {
    fn file(&self) -> &ImportFile {
        match self {
            ImportCommand::Todoist(a) => &a.file,
            ImportCommand::Loop(f) | ImportCommand::Taskwarrior(f) => f,
            ImportCommand::Bank(a) => &a.file,
        }
    }
}

/// Where in an import file something is: `path:line:column` (for a zip,
/// `archive.zip/entry:line:column`). Lines and columns count from 1; in CSV
/// files the column is the field's number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, as given (and the entry inside a zip).
    pub file: Arc<str>,
    /// The line.
    pub line: u64,
    /// The column.
    pub column: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// Why an import did not happen. Nothing of the file was imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is malformed at one place (exit code 6).
    #[error("{at}: {message}")]
    Invalid {
        /// Where.
        at: Location,
        /// What is wrong, for the person who has to fix it.
        message: String,
    },
    /// The file as a whole is not what the format needs: too large, not a
    /// zip, no `Habits.csv` inside (exit code 6).
    #[error("{path}: {message}")]
    Unusable {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The file cannot be read (exit code 1).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The options do not make sense together, or name nothing (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The replica failed.
    #[error(transparent)]
    Replica(#[from] ReplicaError),
    /// The data refused something that is not one record of the file (a
    /// project named on the command line...).
    #[error("{0}")]
    Data(#[from] lifeos_core::Error),
}

impl ImportError {
    /// Whether the import file is at fault (exit code 6).
    pub fn is_invalid_file(&self) -> bool {
        matches!(
            self,
            ImportError::Invalid { .. } | ImportError::Unusable { .. }
        )
    }

    /// Whether the options are at fault (exit code 2, as for usage errors).
    pub fn is_usage(&self) -> bool {
        matches!(self, ImportError::Usage(_))
    }

    pub(crate) fn invalid(at: Location, message: impl Into<String>) -> Self {
        ImportError::Invalid {
            at,
            message: message.into(),
        }
    }
}

/// What an import did (or, for a dry run, would do).
pub struct Outcome {
    /// What to print.
    pub answer: Answer,
    /// A dry run: the caller must not commit the session.
    pub dry_run: bool,
}

/// The moment of the import and the user's calendar.
#[derive(Clone, Copy)]
pub(crate) struct Clock<'z> {
    /// Now.
    pub now: Timestamp,
    /// The user's date today.
    pub today: Date,
    /// The user's time zone (the data's setting, else this device's).
    pub zone: &'z str,
}

/// Runs `command` on `ws`: parses the file, applies what is new, reports.
/// `today` is the user's date and `device_zone` this device's time zone (the
/// data's own time zone setting wins). On success the caller commits the
/// session unless [`Outcome::dry_run`]; on error it must not commit.
pub fn run(
    ws: &mut Workspace<'_>,
    now: Timestamp,
    today: Date,
    device_zone: &str,
    command: ImportCommand,
) -> Result<Outcome, ImportError> {
    let zone = ws.data.settings()?.timezone;
    let clock = Clock {
        now,
        today,
        zone: zone.as_deref().unwrap_or(device_zone),
    };
    let file = command.file().clone();
    let mut report = Report::new(label(&file.file), file.dry_run);
    match &command {
        ImportCommand::Todoist(args) => todoist::import(ws, clock, args, &mut report)?,
        ImportCommand::Loop(f) => loop_habits::import(ws, clock, &f.file, &mut report)?,
        ImportCommand::Bank(args) => bank::import(ws, clock, args, &mut report)?,
        ImportCommand::Taskwarrior(f) => taskwarrior::import(ws, clock, &f.file, &mut report)?,
    }
    Ok(Outcome {
        answer: report.answer(),
        dry_run: file.dry_run,
    })
}

/// How a file is named in messages: as the user gave it.
fn label(path: &Path) -> Arc<str> {
    Arc::from(path.display().to_string())
}

/// The whole file, refused above [`MAX_FILE_BYTES`].
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, ImportError> {
    let io = |source| ImportError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    read_bounded(file, &path.display().to_string()).map_err(|e| match e {
        Bounded::Io(e) => io(e),
        Bounded::TooLarge(e) => e,
    })
}

pub(crate) enum Bounded {
    Io(std::io::Error),
    TooLarge(ImportError),
}

/// Reads `from` to the end, refusing more than [`MAX_FILE_BYTES`].
pub(crate) fn read_bounded(from: impl Read, name: &str) -> Result<Vec<u8>, Bounded> {
    let mut bytes = Vec::new();
    from.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(Bounded::Io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Bounded::TooLarge(ImportError::Unusable {
            path: name.to_string(),
            message: format!(
                "is larger than {} MiB: split it and import the parts",
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        }));
    }
    Ok(bytes)
}

/// The project named `name` (case-insensitive; active ones first, then the
/// oldest), made when there is none; `refused` says what to tell when
/// `lifeos-core` refuses the name.
pub(crate) fn project_named(
    ws: &mut Workspace<'_>,
    now: Timestamp,
    name: &str,
    line: u64,
    report: &mut Report,
    refused: impl FnOnce(lifeos_core::Error) -> ImportError,
) -> Result<lifeos_core::EntityId, ImportError> {
    let wanted = name.trim().to_lowercase();
    let mut known = ws.data.projects()?;
    known.retain(|p| p.name.to_lowercase() == wanted);
    known.sort_by_key(|p| (p.archived, p.created_at));
    if let Some(p) = known.first() {
        return Ok(p.id);
    }
    let id = ws.data.add_project(now, name.trim()).map_err(refused)?;
    report.created(report::Kind::Project, id, line, name.trim());
    Ok(id)
}

/// Numbers repeated keys within one file: the first is `key`, the second
/// `key#2`..., so two identical records both import, once.
#[derive(Default)]
pub(crate) struct Occurrences(std::collections::HashMap<String, u32>);

impl Occurrences {
    /// The stable key of the next record whose natural key is `base`.
    pub fn key(&mut self, base: String) -> String {
        let n = self.0.entry(base.clone()).or_insert(0);
        *n += 1;
        if *n == 1 { base } else { format!("{base}#{n}") }
    }
}

/// Where a planned record came from, to point at the field `lifeos-core`
/// refuses.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    /// The record itself.
    pub at: Location,
    /// Where some of its fields are, by `lifeos-core`'s field names
    /// (`title`, `amount`, `payee`...).
    pub fields: Vec<(&'static str, Location)>,
}

impl Origin {
    /// A record at `at` with no field positions known.
    pub fn new(at: Location) -> Self {
        Origin {
            at,
            fields: Vec::new(),
        }
    }

    /// Records that field `name` is at `at`.
    pub fn with(mut self, name: &'static str, at: Location) -> Self {
        self.fields.push((name, at));
        self
    }

    /// The record's line.
    pub fn line(&self) -> u64 {
        self.at.line
    }

    /// `lifeos-core` refused this record: an error at the refused field.
    pub fn refused(&self, e: lifeos_core::Error) -> ImportError {
        let at = match &e {
            lifeos_core::Error::Invalid { field, .. } => self
                .fields
                .iter()
                .find(|(name, _)| name == field)
                .map(|(_, at)| at.clone()),
            _ => None,
        };
        ImportError::invalid(at.unwrap_or_else(|| self.at.clone()), e.to_string())
    }
}

/// Counts work done on stderr when an import is long; draws nothing when
/// stderr is not a terminal (scripts, pipes, tests).
pub(crate) struct Progress(Option<indicatif::ProgressBar>);

/// Imports with more records than this show a progress bar.
const PROGRESS_FROM: usize = 200;

impl Progress {
    /// A bar for `total` records (none for short imports).
    pub fn new(total: usize) -> Self {
        if total <= PROGRESS_FROM {
            return Progress(None);
        }
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total as u64),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "importing {bar:30} {pos}/{len} {msg} ({eta} left)",
        ) {
            bar.set_style(style);
        }
        Progress(Some(bar))
    }

    /// One more record done.
    pub fn step(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }
}

/// Every prefix of `bytes` and copies with single bytes changed: inputs a
/// parser must refuse or accept, never panic on.
#[cfg(test)]
pub(crate) fn mangled(bytes: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    let prefixes = (0..bytes.len()).map(|n| bytes[..n].to_vec());
    let changed = (0..bytes.len()).flat_map(move |i| {
        [b'"', b',', b'\n', b'-', b'{', b']', 0xff, b'9']
            .into_iter()
            .map(move |b| {
                let mut copy = bytes.to_vec();
                copy[i] = b;
                copy
            })
    });
    prefixes.chain(changed)
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
