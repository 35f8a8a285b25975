//! `lifeos`: the LifeOS command line client. Every command but `login`,
//! `logout` and `sync` works offline on the local replica (ARCHITECTURE.md,
//! "The command line client").

use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use clap::{Parser, Subcommand};
use lifeos_cli::commands::habits::HabitSpec;
use lifeos_cli::commands::money::ExpenseSpec;
use lifeos_cli::commands::{self, Answer, CommandError, TaskEdit, TaskFilter};
use lifeos_cli::import::{self, ImportCommand, ImportError};
use lifeos_cli::remote::{Login, RelayApi, RemoteError, TokenPair};
use lifeos_cli::replica::{Replica, ReplicaError};
use lifeos_cli::sync::{self as relay_sync, Account, SyncError, SyncOptions, SyncReport};
use lifeos_cli::workspace::{Workspace, WorkspaceError};
use lifeos_core::habits::{CheckInState, Schedule};
use lifeos_core::tasks::Status;
use lifeos_core::time::{Date, Month, TimeOfDay, Timestamp};
use serde_json::json;

/// Exit codes scripts can rely on (also in `lifeos --help`).
mod exit {
    pub const FAILED: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NOT_SIGNED_IN: u8 = 3;
    pub const UNREACHABLE: u8 = 4;
    pub const DAMAGED: u8 = 5;
    pub const IMPORT_INVALID: u8 = 6;
}

/// LifeOS from the terminal: tasks, habits and money, offline first.
///
/// Exit codes: 0 done, 1 failed (bad input, nothing found), 2 usage,
/// 3 not signed in or not synced yet, 4 the relay cannot be reached (local
/// changes are kept), 5 the local data is damaged, 6 an import file is
/// invalid (nothing of it was imported).
#[derive(Debug, Parser)]
#[command(name = "lifeos", version, about, long_about)]
struct Cli {
    /// Where the local replica lives (default: the platform's data directory).
    #[arg(long, env = "LIFEOS_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Your time zone (IANA name, `Europe/Paris`); default: the system's.
    #[arg(long, env = "LIFEOS_TZ", global = true)]
    tz: Option<String>,
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sign in to a relay; this device's data joins the account.
    Login {
        /// The relay's address, `https://relay.example.org`.
        #[arg(long, env = "LIFEOS_RELAY")]
        relay: String,
        /// Your email address.
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input
        /// (otherwise it is asked for on the terminal); when the account
        /// asks for a second factor and `--code` is not given, the code is
        /// read from the next line.
        #[arg(long)]
        password_stdin: bool,
        /// The code of your authenticator app, or one of your recovery
        /// codes, when the account has two-step sign-in (otherwise it is
        /// asked for when needed).
        #[arg(long, value_name = "CODE")]
        code: Option<String>,
    },
    /// Sign out: ends the session on the relay; the data stays on this device.
    Logout,
    /// The account, the last sync and the changes the relay has not stored yet.
    Status,
    /// Send this device's changes to the relay and receive the others'.
    Sync {
        /// Stay connected and keep syncing (Ctrl-C stops).
        #[arg(long)]
        watch: bool,
        /// Give up after this many seconds (what arrived is kept).
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// What needs attention today: overdue, due and scheduled tasks, habits.
    Today,
    /// Tasks (GTD: inbox, next, waiting, someday, done).
    Task {
        #[command(subcommand)]
        action: TaskAction,
    },
    /// Habits: schedules, check-ins, streaks and strength.
    Habit {
        #[command(subcommand)]
        action: HabitAction,
    },
    /// Expenses in a currency, by category.
    Expense {
        #[command(subcommand)]
        action: ExpenseAction,
    },
    /// Records that are likely one thing entered twice, to merge or keep apart.
    ///
    /// Without a subcommand, lists them, numbered.
    Duplicates {
        #[command(subcommand)]
        action: Option<DuplicatesAction>,
    },
    /// Monthly budgets per category.
    Budget {
        #[command(subcommand)]
        action: BudgetAction,
    },
    /// Reports.
    Report {
        #[command(subcommand)]
        action: ReportAction,
    },
    /// Everything as JSON, one kind as CSV, or every CSV in a zip: the
    /// relay's export format, written from this device's data, offline.
    Export {
        /// json, csv (with --kind) or zip.
        #[arg(long, default_value = "json", value_parser = ["json", "csv", "zip"])]
        format: String,
        /// For csv: tasks, projects, habits, checkins, expenses, categories or budgets.
        #[arg(long, required_if_eq("format", "csv"))]
        kind: Option<String>,
        /// Write to this file (atomically) instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Import from Todoist, Loop Habit Tracker, a bank's CSV or Taskwarrior.
    ///
    /// The whole file is checked first: an error names file, line and
    /// column, and nothing is imported (exit code 6). Importing the same
    /// file again adds nothing. --dry-run shows what would be added.
    Import {
        #[command(subcommand)]
        format: ImportCommand,
    },
}

/// `lifeos task edit`: what to change.
#[derive(Debug, clap::Args)]
struct TaskEditArgs {
    /// The task's id, or the end of it that `task list` shows.
    id: String,
    /// New title.
    #[arg(long)]
    title: Option<String>,
    /// Move to a list: inbox, next, waiting, someday or done.
    #[arg(long, value_parser = parse_status)]
    status: Option<Status>,
    /// New notes.
    #[arg(long)]
    notes: Option<String>,
    /// Move to a project (made if new); `none` takes it out.
    #[arg(long)]
    project: Option<String>,
    /// Add a context (repeatable).
    #[arg(long = "add-context")]
    add_contexts: Vec<String>,
    /// Remove a context (repeatable).
    #[arg(long = "remove-context")]
    remove_contexts: Vec<String>,
    /// Due date: YYYY-MM-DD, today, tomorrow, or none.
    #[arg(long)]
    due: Option<String>,
    /// Scheduled (start) date: YYYY-MM-DD, today, tomorrow, or none.
    #[arg(long)]
    scheduled: Option<String>,
    /// Time of day on the due (else scheduled) day: 15:30, 3pm, or none.
    #[arg(long, value_parser = parse_time)]
    time: Option<TimeArg>,
    /// Important (Eisenhower): true or false.
    #[arg(long)]
    important: Option<bool>,
    /// Urgent (Eisenhower): true or false.
    #[arg(long)]
    urgent: Option<bool>,
    /// Repeat: `every week`, `every 2 days after completion`,
    /// `on mon,wed,fri`, or `none`.
    #[arg(long)]
    repeat: Option<String>,
    /// Add a checklist item at the end (repeatable).
    #[arg(long = "add-item")]
    add_items: Vec<String>,
    /// Tick checklist item N, counted from 1 as `task edit` shows them (repeatable).
    #[arg(long = "check-item")]
    check_items: Vec<usize>,
    /// Untick checklist item N (repeatable).
    #[arg(long = "uncheck-item")]
    uncheck_items: Vec<usize>,
    /// Remove checklist item N (repeatable).
    #[arg(long = "remove-item")]
    remove_items: Vec<usize>,
}

#[derive(Debug, Subcommand)]
enum TaskAction {
    /// Add a task from one line, as the app's quick add reads it:
    /// `"Call mom tomorrow #family @phone p1"`.
    Add {
        /// The line (quote it); words may also be given separately.
        #[arg(required = true, num_args = 1..)]
        line: Vec<String>,
    },
    /// List open tasks (or one list, a project, a context).
    List {
        /// Only this list: inbox, next, waiting, someday or done.
        #[arg(long, value_parser = parse_status)]
        status: Option<Status>,
        /// Only this project (its name).
        #[arg(long)]
        project: Option<String>,
        /// Only this context (with or without `@`).
        #[arg(long)]
        context: Option<String>,
        /// Done tasks too.
        #[arg(long)]
        all: bool,
    },
    /// Mark a task done (a repeating one moves to its next date).
    Done {
        /// The task's id, or the end of it that `task list` shows.
        id: String,
    },
    /// Change a task.
    Edit(Box<TaskEditArgs>),
    /// Delete a task.
    Rm {
        /// The task's id, or the end of it that `task list` shows.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum HabitAction {
    /// Add a habit.
    Add {
        /// Its name.
        name: String,
        /// `daily`, `3 per week`, `on mon,wed,fri` or `2 per 10 days`.
        #[arg(long, default_value = "daily", value_parser = parse_schedule)]
        schedule: Schedule,
        /// A numeric habit: the daily amount that counts as done.
        #[arg(long, requires = "unit")]
        target: Option<f64>,
        /// What a numeric habit counts (`km`, `pages`).
        #[arg(long, requires = "target")]
        unit: Option<String>,
        /// The first day it counts: YYYY-MM-DD, today... (default today).
        #[arg(long)]
        start: Option<String>,
    },
    /// Every habit with its streaks, strength and last two weeks.
    List {
        /// Archived habits too.
        #[arg(long)]
        all: bool,
    },
    /// Check a habit in as done (or record an amount for a numeric one).
    Check {
        /// The habit's name or id.
        habit: String,
        /// The amount (numeric habits; default: the target).
        #[arg(long)]
        value: Option<f64>,
        /// The day: YYYY-MM-DD, today, yesterday (default today).
        #[arg(long)]
        date: Option<String>,
    },
    /// Skip a habit for a day on purpose (keeps the streak).
    Skip {
        /// The habit's name or id.
        habit: String,
        /// The day: YYYY-MM-DD, today, yesterday (default today).
        #[arg(long)]
        date: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ExpenseAction {
    /// Record an expense: `lifeos expense add 12.50 groceries --payee Bakery`.
    Add {
        /// The amount, with a dot for decimals (`12.50`).
        #[arg(allow_negative_numbers = true)]
        amount: String,
        /// The category (made if new).
        category: Option<String>,
        /// Who was paid.
        #[arg(long)]
        payee: Option<String>,
        /// A note.
        #[arg(long)]
        note: Option<String>,
        /// The day: YYYY-MM-DD, today, yesterday (default today).
        #[arg(long)]
        date: Option<String>,
        /// ISO 4217 currency (default: your currency setting).
        #[arg(long, env = "LIFEOS_CURRENCY")]
        currency: Option<String>,
    },
    /// A month's expenses, newest first.
    List {
        /// The month, YYYY-MM (default this month).
        #[arg(long, value_parser = parse_month)]
        month: Option<Month>,
        /// Only this category.
        #[arg(long)]
        category: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum BudgetAction {
    /// Set a category's budget for a month: `lifeos budget set groceries 300`.
    Set {
        /// The category (made if new).
        category: String,
        /// The amount (`300`, `250.50`, `300 USD`), or `none` to remove it.
        amount: String,
        /// The month, YYYY-MM (default this month).
        #[arg(long, value_parser = parse_month)]
        month: Option<Month>,
        /// ISO 4217 currency (default: your currency setting).
        #[arg(long, env = "LIFEOS_CURRENCY")]
        currency: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum DuplicatesAction {
    /// Merge groups into one each: check-ins united, expenses re-pointed,
    /// the extras deleted.
    Merge {
        /// The groups' numbers as `lifeos duplicates` lists them.
        #[arg(required_unless_present = "all")]
        numbers: Vec<usize>,
        /// Merge every group.
        #[arg(long, conflicts_with = "numbers")]
        all: bool,
    },
    /// Say these are different things: they are not offered again.
    KeepApart {
        /// The groups' numbers as `lifeos duplicates` lists them.
        #[arg(required = true)]
        numbers: Vec<usize>,
    },
}

#[derive(Debug, Subcommand)]
enum ReportAction {
    /// Spending per category against budgets, with bars.
    Month {
        /// YYYY-MM (default this month).
        #[arg(value_parser = parse_month)]
        month: Option<Month>,
    },
}

fn parse_schedule(s: &str) -> Result<Schedule, String> {
    s.trim()
        .to_lowercase()
        .parse()
        .map_err(|e: lifeos_core::Error| e.to_string())
}

fn parse_month(s: &str) -> Result<Month, String> {
    s.trim()
        .parse()
        .map_err(|e: lifeos_core::Error| e.to_string())
}

/// A day given on the command line: `YYYY-MM-DD`, `today`, `tomorrow`,
/// `yesterday`; `none` clears (where allowed).
fn parse_day(given: &str, today: Date) -> Result<Option<Date>, Failure> {
    let day = match given.trim().to_lowercase().as_str() {
        "none" => return Ok(None),
        "today" => Some(today),
        "tomorrow" => today.succ_opt(),
        "yesterday" => today.pred_opt(),
        other => other.parse::<Date>().ok(),
    };
    day.map(Some).ok_or_else(|| {
        Failure(
            exit::FAILED,
            format!("{given:?} is not a day: give YYYY-MM-DD, today, tomorrow or yesterday"),
        )
    })
}

fn day(given: Option<String>, today: Date) -> Result<Option<Date>, Failure> {
    match given {
        None => Ok(None),
        Some(g) => parse_day(&g, today)?
            .map(Some)
            .ok_or_else(|| Failure(exit::FAILED, "a day is needed here, not none".to_string())),
    }
}

fn clearable_day(given: Option<String>, today: Date) -> Result<Option<Option<Date>>, Failure> {
    given.map(|g| parse_day(&g, today)).transpose()
}

/// `--time`: a time of day, or `None` for `none` (clear it).
#[derive(Clone, Debug)]
struct TimeArg(Option<TimeOfDay>);

/// `--time`: `15:30`, `3pm`, `at 9`... as quick add reads them, or `none`.
fn parse_time(s: &str) -> Result<TimeArg, String> {
    if s.trim().eq_ignore_ascii_case("none") {
        return Ok(TimeArg(None));
    }
    lifeos_core::tasks::quick_add::time_of_day(s)
        .map(|t| TimeArg(Some(t)))
        .ok_or_else(|| format!("{s:?} is not a time: give 15:30, 3pm or none"))
}

fn parse_status(s: &str) -> Result<Status, String> {
    Status::parse(s).map_err(|e| e.to_string())
}

/// A failure, with its exit code.
struct Failure(u8, String);

impl From<ReplicaError> for Failure {
    fn from(e: ReplicaError) -> Self {
        let code = match e {
            ReplicaError::Damaged { .. } => exit::DAMAGED,
            _ => exit::FAILED,
        };
        Failure(code, e.to_string())
    }
}

impl From<WorkspaceError> for Failure {
    fn from(e: WorkspaceError) -> Self {
        match e {
            WorkspaceError::Replica(e) => e.into(),
            WorkspaceError::NotSynced => Failure(exit::NOT_SIGNED_IN, e.to_string()),
            WorkspaceError::Unreadable(_) => Failure(exit::DAMAGED, e.to_string()),
        }
    }
}

impl From<CommandError> for Failure {
    fn from(e: CommandError) -> Self {
        Failure(exit::FAILED, e.to_string())
    }
}

impl From<SyncError> for Failure {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Workspace(e) => e.into(),
            SyncError::NotSignedIn | SyncError::SessionEnded(_) => {
                Failure(exit::NOT_SIGNED_IN, e.to_string())
            }
            SyncError::Unreachable(_) | SyncError::Remote(_) => {
                Failure(exit::UNREACHABLE, e.to_string())
            }
        }
    }
}

impl From<RemoteError> for Failure {
    fn from(e: RemoteError) -> Self {
        match e {
            RemoteError::BadAddress(_) => Failure(exit::FAILED, e.to_string()),
            e => SyncError::from(e).into(),
        }
    }
}

impl From<ImportError> for Failure {
    fn from(e: ImportError) -> Self {
        let code = if e.is_invalid_file() {
            exit::IMPORT_INVALID
        } else if e.is_usage() {
            exit::USAGE
        } else if let ImportError::Replica(e) = e {
            return e.into();
        } else {
            exit::FAILED
        };
        Failure(code, e.to_string())
    }
}

fn data_dir(given: Option<PathBuf>) -> Result<PathBuf, Failure> {
    if let Some(dir) = given {
        return Ok(dir);
    }
    directories::ProjectDirs::from("org", "LifeOS", "lifeos")
        .map(|d| d.data_dir().to_path_buf())
        .ok_or_else(|| {
            Failure(
                exit::FAILED,
                "no home directory to keep data in: pass --data-dir or set LIFEOS_DATA_DIR".into(),
            )
        })
}

fn run(cli: Cli) -> Result<Answer, Failure> {
    let dir = data_dir(cli.data_dir)?;
    let mut replica = Replica::open(&dir)?;
    let now = lifeos_cli::now();
    match cli.command {
        Command::Login {
            relay,
            email,
            password_stdin,
            code,
        } => {
            let how = SignInInput {
                password_stdin,
                code,
            };
            return login(&mut replica, &relay, &email, how, cli.json);
        }
        Command::Logout => return logout(&mut replica),
        Command::Status => return status(&mut replica),
        Command::Sync { watch, timeout } => {
            let report = sync(&mut replica, watch, timeout, !cli.json)?;
            return Ok(sync_answer(&report, "Synced"));
        }
        _ => {}
    }
    let zone = cli
        .tz
        .or_else(|| iana_time_zone::get_timezone().ok())
        .unwrap_or_else(|| "UTC".into());
    let mut ws = Workspace::open(replica.session()?, now)?;
    for problem in &ws.problems {
        eprintln!("lifeos: {problem}");
    }
    let today: Date = ws
        .data
        .local_today(now, &zone)
        .map_err(|e| Failure(exit::FAILED, format!("time zone {zone:?}: {e}")))?;
    let answer = match cli.command {
        Command::Login { .. } | Command::Logout | Command::Status | Command::Sync { .. } => {
            unreachable!("handled above")
        }
        Command::Today => commands::today(&ws, today)?,
        Command::Task { action } => match action {
            TaskAction::Add { line } => commands::task_add(&mut ws, now, today, &line.join(" "))?,
            TaskAction::List {
                status,
                project,
                context,
                all,
            } => commands::task_list(
                &ws,
                &TaskFilter {
                    status,
                    project,
                    context,
                    all,
                },
            )?,
            TaskAction::Done { id } => commands::task_done(&mut ws, now, today, &id)?,
            TaskAction::Edit(args) => {
                let TaskEditArgs {
                    id,
                    title,
                    status,
                    notes,
                    project,
                    add_contexts,
                    remove_contexts,
                    due,
                    scheduled,
                    time,
                    important,
                    urgent,
                    repeat,
                    add_items,
                    check_items,
                    uncheck_items,
                    remove_items,
                } = *args;
                let edit = TaskEdit {
                    repeat,
                    add_items,
                    check_items,
                    uncheck_items,
                    remove_items,
                    title,
                    status,
                    notes,
                    project: project.map(|p| (!p.eq_ignore_ascii_case("none")).then_some(p)),
                    add_contexts,
                    remove_contexts,
                    due: clearable_day(due, today)?,
                    scheduled: clearable_day(scheduled, today)?,
                    time: time.map(|t| t.0),
                    important,
                    urgent,
                };
                commands::task_edit(&mut ws, now, &id, edit)?
            }
            TaskAction::Rm { id } => commands::task_rm(&mut ws, now, &id)?,
        },
        Command::Habit { action } => match action {
            HabitAction::Add {
                name,
                schedule,
                target,
                unit,
                start,
            } => {
                let spec = HabitSpec {
                    name,
                    schedule,
                    target: target.zip(unit),
                    start: day(start, today)?,
                };
                commands::habits::add(&mut ws, now, today, spec)?
            }
            HabitAction::List { all } => commands::habits::list(&ws, today, all)?,
            HabitAction::Check { habit, value, date } => {
                let state = value.map_or(CheckInState::Done, CheckInState::Value);
                commands::habits::check_in(&mut ws, now, today, &habit, day(date, today)?, state)?
            }
            HabitAction::Skip { habit, date } => commands::habits::check_in(
                &mut ws,
                now,
                today,
                &habit,
                day(date, today)?,
                CheckInState::Skipped,
            )?,
        },
        Command::Expense { action } => match action {
            ExpenseAction::Add {
                amount,
                category,
                payee,
                note,
                date,
                currency,
            } => {
                let spec = ExpenseSpec {
                    amount,
                    category,
                    payee,
                    note,
                    date: day(date, today)?,
                    currency,
                };
                commands::money::add(&mut ws, now, today, spec)?
            }
            ExpenseAction::List { month, category } => {
                commands::money::list(&ws, today, month, category.as_deref())?
            }
        },
        Command::Budget { action } => match action {
            BudgetAction::Set {
                category,
                amount,
                month,
                currency,
            } => commands::money::set_budget(
                &mut ws,
                now,
                month.unwrap_or_else(|| Month::of(today)),
                &category,
                &amount,
                currency.as_deref(),
            )?,
        },
        Command::Duplicates { action } => match action {
            None => commands::duplicates::list(&ws)?,
            Some(DuplicatesAction::Merge { numbers, all }) => {
                commands::duplicates::merge(&mut ws, now, &numbers, all)?
            }
            Some(DuplicatesAction::KeepApart { numbers }) => {
                commands::duplicates::keep_apart(&mut ws, now, &numbers)?
            }
        },
        Command::Report { action } => match action {
            ReportAction::Month { month } => commands::money::report(&ws, today, month)?,
        },
        Command::Export { format, kind, out } => {
            let session = ws.session();
            let account = Account::read(session)?.map(|a| (a.user_id.to_string(), a.email));
            let format = commands::export::format(&format, kind.as_deref())?;
            return Ok(commands::export::export(
                &mut ws.data,
                account,
                now,
                format,
                out.as_deref(),
            )?);
        }
        Command::Import { format } => {
            let done = import::run(&mut ws, now, today, &zone, format)?;
            if done.dry_run {
                return Ok(done.answer); // Dropping the session changes nothing.
            }
            done.answer
        }
    };
    ws.commit()?;
    Ok(answer)
}

/// A runtime for the commands that talk to the relay.
fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure(exit::FAILED, format!("cannot start: {e}")))
}

fn sync(
    replica: &mut Replica,
    watch: bool,
    timeout: u64,
    progress: bool,
) -> Result<SyncReport, Failure> {
    let options = SyncOptions {
        watch,
        timeout: Duration::from_secs(timeout.max(1)),
        progress,
    };
    let report = runtime()?.block_on(relay_sync::run(replica, &options))?;
    for problem in &report.problems {
        eprintln!("lifeos: {problem}");
    }
    Ok(report)
}

fn sync_answer(report: &SyncReport, what: &str) -> Answer {
    let pending = if report.pending == 0 {
        "every change of this device is stored on the relay".to_string()
    } else {
        format!("{} changes not confirmed by the relay yet", report.pending)
    };
    let duplicates = match report.duplicates {
        0 => String::new(),
        n => format!(
            "\n{n} record(s) look like duplicates (the same habit, category or task \
             entered twice); see them with: lifeos duplicates"
        ),
    };
    Answer {
        text: format!(
            "{what} with {}: {} documents, {} updated from other devices; {pending}.{duplicates}",
            report.relay, report.documents, report.received
        ),
        json: json!({ "sync": report }),
    }
}

fn read_password(from_stdin: bool) -> Result<String, Failure> {
    let password = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| Failure(exit::FAILED, format!("cannot read the password: {e}")))?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        use std::io::IsTerminal;
        if !std::io::stdin().is_terminal() {
            return Err(Failure(
                exit::FAILED,
                "no terminal to ask for the password: use --password-stdin".into(),
            ));
        }
        rpassword::prompt_password("Password: ")
            .map_err(|e| Failure(exit::FAILED, format!("cannot read the password: {e}")))?
    };
    if password.is_empty() {
        return Err(Failure(exit::FAILED, "the password is empty".into()));
    }
    Ok(password)
}

/// Where `lifeos login` reads the password and a second factor from.
struct SignInInput {
    password_stdin: bool,
    code: Option<String>,
}

/// How many codes a terminal user may type for one sign-in.
const CODE_ATTEMPTS: usize = 3;

/// Reads a second-factor code: the next line of standard input, or asked
/// for on the terminal.
fn read_code(from_stdin: bool) -> Result<String, Failure> {
    use std::io::{BufRead, IsTerminal, Write};
    let unreadable =
        |e: std::io::Error| Failure(exit::FAILED, format!("cannot read the code: {e}"));
    if !from_stdin {
        if !std::io::stdin().is_terminal() {
            return Err(Failure(
                exit::FAILED,
                "this account has two-step sign-in and there is no terminal to ask for a code: use --code".into(),
            ));
        }
        eprint!("Code from your authenticator app (or a recovery code): ");
        std::io::stderr().flush().map_err(unreadable)?;
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(unreadable)?;
    let code = line.trim().to_string();
    if code.is_empty() {
        return Err(Failure(
            exit::FAILED,
            "this account has two-step sign-in: give the code of your authenticator app (--code, or the line after the password)".into(),
        ));
    }
    Ok(code)
}

/// Signs in, with the second step when the account asks for it.
fn sign_in(api: &RelayApi, email: &str, how: SignInInput) -> Result<TokenPair, Failure> {
    let password = read_password(how.password_stdin)?;
    let mfa_token = match runtime()?.block_on(api.login(email, &password))? {
        Login::Tokens(tokens) => return Ok(tokens),
        Login::SecondFactor { mfa_token } => mfa_token,
    };
    let interactive = how.code.is_none() && !how.password_stdin;
    let mut given = how.code;
    let mut attempt = 1;
    loop {
        let code = match given.take() {
            Some(code) => code,
            None => read_code(how.password_stdin)?,
        };
        match runtime()?.block_on(api.verify_second_factor(&mfa_token, &code)) {
            Ok(tokens) => return Ok(tokens),
            Err(RemoteError::Refused(why)) if interactive && attempt < CODE_ATTEMPTS => {
                eprintln!("lifeos: {why}; try again");
                attempt += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn login(
    replica: &mut Replica,
    relay: &str,
    email: &str,
    how: SignInInput,
    json: bool,
) -> Result<Answer, Failure> {
    let api = RelayApi::new(relay)?;
    let tokens = sign_in(&api, email.trim(), how)?;
    let session = replica.session()?;
    if let Some(previous) = Account::read(&session)?
        && previous.user_id != tokens.user.id
    {
        let has_data = session.meta(lifeos_cli::workspace::ACCOUNT_ROOT)?.is_some();
        if has_data {
            // Ends the new session again rather than leave it unused on the relay.
            let _ = runtime()?.block_on(api.logout(&tokens.refresh_token));
            return Err(Failure(
                exit::FAILED,
                format!(
                    "this device holds the data of {}: sign in as them, or use another --data-dir",
                    previous.email
                ),
            ));
        }
    }
    let account = Account {
        relay: api.base().to_string(),
        user_id: tokens.user.id,
        email: tokens.user.email.clone(),
        refresh_token: Some(tokens.refresh_token),
    };
    account.write(&session)?;
    session.commit()?;
    let signed_in = format!("Signed in as {} on {}.", account.email, account.relay);
    match sync(replica, false, 60, !json) {
        Ok(report) => {
            let mut answer = sync_answer(
                &report,
                &format!(
                    "{signed_in}
Synced"
                ),
            );
            answer.json = json!({ "email": account.email, "relay": account.relay, "sync": report });
            Ok(answer)
        }
        Err(Failure(code, message)) => Err(Failure(
            code,
            format!("{signed_in} The first sync did not complete: {message}"),
        )),
    }
}

fn logout(replica: &mut Replica) -> Result<Answer, Failure> {
    let session = replica.session()?;
    let Some(mut account) = Account::read(&session)? else {
        return Err(Failure(exit::NOT_SIGNED_IN, "not signed in".into()));
    };
    let Some(token) = account.refresh_token.take() else {
        return Err(Failure(exit::NOT_SIGNED_IN, "already signed out".into()));
    };
    let (_, pending) = relay_sync::pending(&session)?;
    account.write(&session)?;
    session.commit()?;
    let mut text = format!("Signed out of {} on {}.", account.email, account.relay);
    let told = match RelayApi::new(&account.relay) {
        Ok(api) => runtime()?.block_on(api.logout(&token)),
        Err(e) => Err(e),
    };
    if let Err(e) = told {
        text.push_str(&format!(
            "\nThe relay could not be told ({e}); the session there ends when it expires."
        ));
    }
    if pending > 0 {
        text.push_str(&format!(
            "
{pending} changes of this device were never stored on the relay; they stay here and sync after `lifeos login`."
        ));
    }
    Ok(Answer {
        text,
        json: json!({ "signed_out": account.email, "pending": pending }),
    })
}

fn status(replica: &mut Replica) -> Result<Answer, Failure> {
    let path = replica.path().display().to_string();
    let session = replica.session()?;
    let account = Account::read(&session)?;
    let (documents, pending) = relay_sync::pending(&session)?;
    let quarantined = session.quarantined()?;
    let last_sync = session
        .meta(relay_sync::keys::LAST_SYNC)?
        .and_then(|m| m.parse::<i64>().ok())
        .map(Timestamp::from_millis);
    drop(session);
    let mut lines = Vec::new();
    match &account {
        Some(a) if a.refresh_token.is_some() => {
            lines.push(format!("Signed in as {} on {}", a.email, a.relay));
        }
        Some(a) => lines.push(format!(
            "Signed out (was {} on {}): run `lifeos login` to sync again",
            a.email, a.relay
        )),
        None => {
            lines.push("Not signed in: your data stays on this device until `lifeos login`".into())
        }
    }
    lines.push(format!("Data: {documents} documents in {path}"));
    lines.push(match last_sync {
        Some(t) => format!("Last sync: {}", lifeos_core::time::format_timestamp(t)),
        None => "Last sync: never".into(),
    });
    lines.push(match (&account, pending) {
        (_, 0) => "Pending: none, the relay stores every change of this device".into(),
        (None, n) => format!("Pending: {n} changes only on this device (sign in to sync them)"),
        (Some(_), n) => {
            format!("Pending: {n} changes not yet stored on the relay (run `lifeos sync`)")
        }
    });
    if quarantined > 0 {
        lines.push(format!(
            "Quarantine: {quarantined} damaged records set aside (kept in the replica, never used)"
        ));
    }
    Ok(Answer {
        text: lines.join("\n"),
        json: json!({
            "account": account.as_ref().map(|a| json!({
                "email": a.email,
                "relay": a.relay,
                "signed_in": a.refresh_token.is_some(),
            })),
            "data_dir": path,
            "documents": documents,
            "pending": pending,
            "last_sync": last_sync,
            "quarantined": quarantined,
        }),
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(answer) => {
            // An export to standard output has already written everything.
            if json && !answer.json.is_null() {
                println!("{}", answer.json);
            } else if !json && !answer.text.is_empty() {
                println!("{}", answer.text);
            }
            ExitCode::SUCCESS
        }
        Err(Failure(code, message)) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "error": message, "exit_code": code })
                );
            }
            eprintln!("lifeos: {message}");
            ExitCode::from(code)
        }
    }
}
