//! `lifeos`: the LifeOS command line client. Every command works offline on
//! the local replica (ARCHITECTURE.md, "The command line client"); syncing
//! with a relay comes with the rest of issue 8.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lifeos_cli::commands::{self, Answer, CommandError, TaskFilter};
use lifeos_cli::import::{self, ImportCommand, ImportError};
use lifeos_cli::replica::{Replica, ReplicaError};
use lifeos_cli::workspace::{Workspace, WorkspaceError};
use lifeos_core::tasks::Status;
use lifeos_core::time::{Date, Timestamp};

/// Exit codes scripts can rely on (also in `lifeos --help`).
mod exit {
    pub const FAILED: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const NOT_SIGNED_IN: u8 = 3;
    pub const DAMAGED: u8 = 5;
    pub const IMPORT_INVALID: u8 = 6;
}

/// LifeOS from the terminal: tasks, habits and money, offline first.
///
/// Exit codes: 0 done, 1 failed (bad input, nothing found), 2 usage,
/// 3 not signed in or not synced yet, 5 the local data is damaged,
/// 6 an import file is invalid (nothing of it was imported).
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
    /// What needs attention today: overdue, due and scheduled tasks, habits.
    Today,
    /// Tasks (GTD: inbox, next, waiting, someday, done).
    Task {
        #[command(subcommand)]
        action: TaskAction,
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

fn now() -> Timestamp {
    Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
    )
}

fn run(cli: Cli) -> Result<Answer, Failure> {
    let dir = data_dir(cli.data_dir)?;
    let mut replica = Replica::open(&dir)?;
    let now = now();
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
        },
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(answer) => {
            if json {
                println!("{}", answer.json);
            } else {
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
