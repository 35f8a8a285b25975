//! The wire types: what tasks, habits, check-ins, expenses, categories and
//! budgets look like in JSON (the export and the relay's REST endpoints
//! share them; with the `openapi` feature they describe themselves to the
//! relay's OpenAPI document). They are built from `lifeos-core`'s types, never from raw
//! documents, so they show what the app shows.
//!
//! Conventions: ids are UUID strings; days are ISO 8601 dates (`2026-11-26`);
//! instants are RFC 3339 in UTC with milliseconds; money is a decimal string
//! with its currency beside it (`"12.50"`, `"EUR"`) plus the exact integer
//! count of minor units; recurrence rules and habit schedules are the short
//! texts the app writes (`every 2 weeks`, `on mon,wed`, `3 per week`).

use lifeos_core::finance::{Category, Expense};
use lifeos_core::habits::{CheckIn, CheckInState, Habit, HabitKind, streak, strength};
use lifeos_core::money::Money;
use lifeos_core::root::Settings;
use lifeos_core::tasks::{Project, Task};
use lifeos_core::time::{Date, Month, Timestamp, Weekday, format_timestamp};
use serde::Serialize;

fn instant(t: Timestamp) -> String {
    format_timestamp(t)
}

/// A task.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskOut {
    /// The task's id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// `inbox`, `next`, `waiting`, `someday` or `done`.
    pub status: &'static str,
    /// Free-form notes.
    pub notes: String,
    /// The project, if any.
    pub project_id: Option<String>,
    /// Contexts (tags), without `@`.
    pub contexts: Vec<String>,
    /// Checklist items in order.
    pub checklist: Vec<ChecklistItemOut>,
    /// Due date of the current occurrence.
    pub due: Option<Date>,
    /// Scheduled ("start on") date of the current occurrence.
    pub scheduled: Option<Date>,
    /// Time of day (HH:MM, the user's zone) on the due day, else the scheduled day.
    pub time: Option<String>,
    /// Repetition rule (`every 1 weeks`, `on mon,fri`, `every 3 days after completion`).
    pub recurrence: Option<String>,
    /// Eisenhower: important.
    pub important: bool,
    /// Eisenhower: flagged urgent.
    pub urgent: bool,
    /// Eisenhower quadrant today (`do_first`, `schedule`, `delegate`, `eliminate`);
    /// a due date within the user's urgency horizon makes a task urgent.
    pub quadrant: &'static str,
    /// When it was created.
    pub created_at: String,
    /// When it was completed (tasks that do not repeat).
    pub completed_at: Option<String>,
    /// Completed occurrences of a repeating task.
    pub completions: Vec<CompletionOut>,
}

/// One checklist item.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChecklistItemOut {
    /// The item's id.
    pub id: String,
    /// What to do.
    pub text: String,
    /// Whether it is ticked.
    pub done: bool,
}

/// One completed occurrence of a repeating task.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompletionOut {
    /// The occurrence's date.
    pub occurrence: Date,
    /// The day it was done.
    pub completed_on: Date,
}

impl TaskOut {
    /// `task` as the API shows it on `today`, with the user's urgency horizon.
    pub fn new(task: &Task, today: Date, horizon_days: u32) -> Self {
        TaskOut {
            id: task.id.to_string(),
            title: task.title.clone(),
            status: task.status.as_str(),
            notes: task.notes.clone(),
            project_id: task.project.map(|p| p.to_string()),
            contexts: task.contexts.clone(),
            checklist: task
                .checklist
                .iter()
                .map(|i| ChecklistItemOut {
                    id: i.id.to_string(),
                    text: i.text.clone(),
                    done: i.done,
                })
                .collect(),
            due: task.due,
            scheduled: task.scheduled,
            time: task.time.map(|t| t.to_string()),
            recurrence: task.recurrence.as_ref().map(ToString::to_string),
            important: task.important,
            urgent: task.urgent,
            quadrant: task.quadrant(today, horizon_days).as_str(),
            created_at: instant(task.created_at),
            completed_at: task.completed_at.map(instant),
            completions: task
                .completions
                .iter()
                .map(|(occurrence, done)| CompletionOut {
                    occurrence: *occurrence,
                    completed_on: *done,
                })
                .collect(),
        }
    }
}

/// A project.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectOut {
    /// The project's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Archived projects keep their tasks.
    pub archived: bool,
    /// When it was created.
    pub created_at: String,
}

impl From<&Project> for ProjectOut {
    fn from(p: &Project) -> Self {
        ProjectOut {
            id: p.id.to_string(),
            name: p.name.clone(),
            archived: p.archived,
            created_at: instant(p.created_at),
        }
    }
}

/// A habit, with its streaks and strength on the day asked about.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HabitOut {
    /// The habit's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// How often (`daily`, `on mon,wed,fri`, `3 per week`, `2 per 10 days`).
    pub schedule: String,
    /// `yes_no` or `numeric`.
    pub kind: &'static str,
    /// For numeric habits: what is counted.
    pub unit: Option<String>,
    /// For numeric habits: the daily amount that counts as done.
    pub target: Option<f64>,
    /// The first day it counts.
    pub start: Date,
    /// Archived habits keep their history.
    pub archived: bool,
    /// The streak running up to today.
    pub current_streak: u32,
    /// The longest streak ever.
    pub longest_streak: u32,
    /// What the streaks count: `days` or `periods` (weeks, or blocks of days).
    pub streak_unit: &'static str,
    /// Habit strength between 0 and 1 (recent check-ins weigh most).
    pub strength: f64,
    /// When it was created.
    pub created_at: String,
}

impl HabitOut {
    /// `habit` as the API shows it on `today`.
    pub fn new(habit: &Habit, today: Date, week_start: Weekday) -> Self {
        let streaks = streak::streaks(habit, today, week_start);
        let (kind, unit, target) = match &habit.kind {
            HabitKind::YesNo => ("yes_no", None, None),
            HabitKind::Numeric { unit, target } => ("numeric", Some(unit.clone()), Some(*target)),
        };
        HabitOut {
            id: habit.id.to_string(),
            name: habit.name.clone(),
            schedule: habit.schedule.to_string(),
            kind,
            unit,
            target,
            start: habit.start,
            archived: habit.archived,
            current_streak: streaks.current,
            longest_streak: streaks.longest,
            streak_unit: match streaks.unit {
                streak::StreakUnit::Days => "days",
                streak::StreakUnit::Periods => "periods",
            },
            // Three decimals: the score is a trend, not a measurement.
            strength: (strength::strength(habit, today) * 1000.0).round() / 1000.0,
            created_at: instant(habit.created_at),
        }
    }
}

/// One day's check-in of a habit.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckInOut {
    /// The check-in's id (derived from habit and day).
    pub id: String,
    /// The habit.
    pub habit_id: String,
    /// The day.
    pub date: Date,
    /// `done`, `skipped` or `value`.
    pub state: &'static str,
    /// For `value`: the amount.
    pub value: Option<f64>,
    /// An optional note.
    pub note: Option<String>,
}

impl From<&CheckIn> for CheckInOut {
    fn from(c: &CheckIn) -> Self {
        let (state, value) = match c.state {
            CheckInState::Done => ("done", None),
            CheckInState::Skipped => ("skipped", None),
            CheckInState::Value(v) => ("value", Some(v)),
        };
        CheckInOut {
            id: c.id.to_string(),
            habit_id: c.habit.to_string(),
            date: c.date,
            state,
            value,
            note: c.note.clone(),
        }
    }
}

/// An amount of money.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AmountOut {
    /// Decimal string with the currency's decimals (`12.50`, `1250` for JPY).
    pub amount: String,
    /// ISO 4217 code.
    pub currency: &'static str,
    /// The exact count of minor units (cents).
    pub amount_minor: i64,
}

impl From<Money> for AmountOut {
    fn from(m: Money) -> Self {
        AmountOut {
            amount: m.decimal(),
            currency: m.currency.code(),
            amount_minor: m.minor,
        }
    }
}

/// An expense.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExpenseOut {
    /// The expense's id.
    pub id: String,
    /// The day it was spent.
    pub date: Date,
    /// How much.
    #[serde(flatten)]
    pub amount: AmountOut,
    /// Its category, if any.
    pub category_id: Option<String>,
    /// Who was paid.
    pub payee: Option<String>,
    /// A note.
    pub note: Option<String>,
    /// When it was entered.
    pub created_at: String,
}

impl From<&Expense> for ExpenseOut {
    fn from(e: &Expense) -> Self {
        ExpenseOut {
            id: e.id.to_string(),
            date: e.date,
            amount: e.amount.into(),
            category_id: e.category.map(|c| c.to_string()),
            payee: e.payee.clone(),
            note: e.note.clone(),
            created_at: instant(e.created_at),
        }
    }
}

/// An expense category.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryOut {
    /// The category's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Whether unspent budget carries into the next month.
    pub rollover: bool,
    /// Deleted categories stay so that old expenses still name them.
    pub deleted: bool,
    /// When it was created.
    pub created_at: String,
}

impl From<&Category> for CategoryOut {
    fn from(c: &Category) -> Self {
        CategoryOut {
            id: c.id.to_string(),
            name: c.name.clone(),
            rollover: c.rollover,
            deleted: c.deleted,
            created_at: instant(c.created_at),
        }
    }
}

/// A category's budget for one month.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BudgetOut {
    /// The category.
    pub category_id: String,
    /// The month, `YYYY-MM`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2026-11"))]
    pub month: Month,
    /// The budget.
    #[serde(flatten)]
    pub amount: AmountOut,
}

impl BudgetOut {
    /// Every budget of `category`, oldest month first.
    pub fn all(category: &Category) -> impl Iterator<Item = BudgetOut> + '_ {
        category.budgets.iter().map(|(month, amount)| BudgetOut {
            category_id: category.id.to_string(),
            month: *month,
            amount: (*amount).into(),
        })
    }
}

/// The user's preferences.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SettingsOut {
    /// IANA time zone that decides what "today" is; `null`: each device's own.
    pub timezone: Option<String>,
    /// Default currency for new expenses.
    pub currency: Option<&'static str>,
    /// First day of the week (`mon` … `sun`).
    pub week_start: &'static str,
    /// A task due within this many days counts as urgent.
    pub urgent_within_days: u32,
}

impl From<&Settings> for SettingsOut {
    fn from(s: &Settings) -> Self {
        SettingsOut {
            timezone: s.timezone.clone(),
            currency: s.currency.map(|c| c.code()),
            week_start: lifeos_core::tasks::recurrence::weekday_name(s.week_start),
            urgent_within_days: s.urgent_within_days,
        }
    }
}

/// Amounts per currency, one entry per currency (never summed across currencies).
pub fn totals(t: &lifeos_core::Totals) -> Vec<AmountOut> {
    t.iter().map(AmountOut::from).collect()
}

/// The daily planner for one day, as the app's Today screen shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TodayOut {
    /// The day.
    pub date: Date,
    /// Open tasks due before the day, oldest first.
    pub overdue: Vec<TaskOut>,
    /// Open tasks due that day, most pressing quadrant first.
    pub due_today: Vec<TaskOut>,
    /// Open tasks scheduled for that day or earlier, not listed above.
    pub scheduled: Vec<TaskOut>,
    /// Habits that ask for something that day.
    pub habits: Vec<TodayHabitOut>,
    /// That day's expenses.
    pub expenses: Vec<ExpenseOut>,
    /// That day's spending, per currency.
    pub spent: Vec<AmountOut>,
}

/// A habit in the daily planner.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TodayHabitOut {
    /// The habit's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The day's check-in: `done`, `skipped`, `value`, or `null` for none yet.
    pub checkin: Option<&'static str>,
    /// For a `value` check-in: the amount.
    pub value: Option<f64>,
    /// Check-ins that met the target in the current period.
    pub done_in_period: u32,
    /// Check-ins the current period asks for.
    pub needed_in_period: u32,
    /// The streak running up to the day.
    pub current_streak: u32,
    /// The longest streak.
    pub longest_streak: u32,
    /// Habit strength between 0 and 1.
    pub strength: f64,
}

impl TodayOut {
    /// The planner `today` computed by `lifeos-core`.
    pub fn new(t: &lifeos_core::today::Today, horizon_days: u32) -> Self {
        let tasks = |list: &[lifeos_core::today::TodayTask]| {
            list.iter()
                .map(|e| TaskOut::new(&e.task, t.date, horizon_days))
                .collect()
        };
        TodayOut {
            date: t.date,
            overdue: tasks(&t.overdue),
            due_today: tasks(&t.due_today),
            scheduled: tasks(&t.scheduled),
            habits: t
                .habits
                .iter()
                .map(|h| {
                    let (checkin, value) = match h.checkin {
                        None => (None, None),
                        Some(CheckInState::Done) => (Some("done"), None),
                        Some(CheckInState::Skipped) => (Some("skipped"), None),
                        Some(CheckInState::Value(v)) => (Some("value"), Some(v)),
                    };
                    TodayHabitOut {
                        id: h.id.to_string(),
                        name: h.name.clone(),
                        checkin,
                        value,
                        done_in_period: h.done_in_period,
                        needed_in_period: h.needed_in_period,
                        current_streak: h.streaks.current,
                        longest_streak: h.streaks.longest,
                        strength: (h.strength * 1000.0).round() / 1000.0,
                    }
                })
                .collect(),
            expenses: t.expenses.iter().map(ExpenseOut::from).collect(),
            spent: totals(&t.spent),
        }
    }
}

/// The monthly report: spending per category against its budget.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportOut {
    /// The month, `YYYY-MM`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2026-11"))]
    pub month: Month,
    /// One line per category with a budget or spending, by name; uncategorised last.
    pub lines: Vec<ReportLineOut>,
    /// Everything spent, per currency.
    pub spent: Vec<AmountOut>,
    /// Every budget of the month, per currency.
    pub budgeted: Vec<AmountOut>,
    /// What remains of the budgeted categories, per currency, overspending
    /// netted against what others have left.
    pub remaining: Vec<AmountOut>,
    /// What the categories within budget have left, per currency.
    pub left: Vec<AmountOut>,
    /// By how much the categories over budget are over, per currency.
    pub overspent: Vec<AmountOut>,
    /// How many categories are over budget.
    pub over_count: usize,
}

/// One category in the monthly report.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportLineOut {
    /// The category (`null`: uncategorised).
    pub category_id: Option<String>,
    /// Its name.
    pub name: String,
    /// Whether the category was deleted.
    pub deleted: bool,
    /// How many expenses.
    pub count: usize,
    /// Spent, per currency.
    pub spent: Vec<AmountOut>,
    /// The month's budget.
    pub budget: Option<AmountOut>,
    /// Carried over from earlier months (rollover categories).
    pub carried: Option<AmountOut>,
    /// Budget plus carried.
    pub available: Option<AmountOut>,
    /// Available minus spent in the budget's currency.
    pub remaining: Option<AmountOut>,
    /// Spent more than available.
    pub over_budget: bool,
}

impl From<&lifeos_core::finance::MonthlyReport> for ReportOut {
    fn from(r: &lifeos_core::finance::MonthlyReport) -> Self {
        ReportOut {
            month: r.month,
            lines: r
                .lines
                .iter()
                .map(|l| ReportLineOut {
                    category_id: l.category.map(|c| c.to_string()),
                    name: l.name.clone(),
                    deleted: l.deleted,
                    count: l.count,
                    spent: totals(&l.spent),
                    budget: l.budget.map(AmountOut::from),
                    carried: l.carried.map(AmountOut::from),
                    available: l.available.map(AmountOut::from),
                    remaining: l.remaining.map(AmountOut::from),
                    over_budget: l.over_budget,
                })
                .collect(),
            spent: totals(&r.spent),
            budgeted: totals(&r.budgeted),
            remaining: totals(&r.remaining),
            left: totals(&r.left),
            overspent: totals(&r.overspent),
            over_count: r.over_count,
        }
    }
}

/// The export's JSON (`GET /api/v1/export?format=json`), streamed in this
/// order; described here for the OpenAPI document (a test checks it against
/// a real export).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportDocument {
    /// Always `lifeos-export`.
    pub format: String,
    /// The format's version (1): bumped when a field changes meaning or goes away.
    pub version: u32,
    /// When the export was made.
    pub exported_at: String,
    /// Whose data it is.
    pub account: ExportAccount,
    /// The user's preferences.
    pub settings: SettingsOut,
    /// Every project.
    pub projects: Vec<ProjectOut>,
    /// Every task, done ones included.
    pub tasks: Vec<TaskOut>,
    /// Every habit, archived ones included.
    pub habits: Vec<HabitOut>,
    /// Every check-in of every habit.
    pub checkins: Vec<CheckInOut>,
    /// Every expense category, deleted ones included.
    pub categories: Vec<CategoryOut>,
    /// Every monthly budget.
    pub budgets: Vec<BudgetOut>,
    /// Every expense, oldest month first.
    pub expenses: Vec<ExpenseOut>,
}

/// The account an export belongs to.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExportAccount {
    /// The account id.
    pub id: String,
    /// Its email.
    pub email: String,
}
