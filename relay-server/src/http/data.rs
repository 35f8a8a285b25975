//! The user's data, read: `GET /api/v1/tasks`, `/today`, `/habits`,
//! `/habits/{id}/checkins`, `/expenses` and `/reports/monthly`.
//!
//! Every answer is computed by `lifeos-core` from the documents the user's
//! devices synced (read through [`StoreSource`], which checks each
//! document's owner), so the API answers what the app shows. Lists are
//! paginated with `limit` (1-200, default 50) and an opaque `cursor`; the
//! answer is `{"items": [...], "next_cursor": "…" | null}`. A cursor names a
//! position (an id, or a date and id), not an offset, so inserts between two
//! requests never shift a page: ids are UUIDv7, so new tasks and habits sort
//! after the existing ones. Unknown parameters and bad values are 400 naming
//! the parameter; another account's ids are 404, like ids that do not exist.

use std::cmp::Ordering;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use lifeos_core::habits::Habit;
use lifeos_core::tasks::{Quadrant, Status};
use lifeos_core::time::{Date, Month, Timestamp};
use lifeos_core::{Currency, EntityId, Money};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppState;
use super::extract::CurrentUser;
use crate::api::export::user_today;
use crate::api::model::{CheckInOut, ExpenseOut, HabitOut, ReportOut, TaskOut, TodayOut};
use crate::api::source::{Opened, Source, StoreSource};
use crate::error::{ApiError, Problem};

const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 200;
const MAX_SEARCH: usize = 200;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tasks", get(tasks))
        .route("/api/v1/today", get(today))
        .route("/api/v1/habits", get(habits))
        .route("/api/v1/habits/{id}/checkins", get(checkins))
        .route("/api/v1/expenses", get(expenses))
        .route("/api/v1/reports/monthly", get(monthly_report))
}

/// One page of a list.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

fn now() -> Timestamp {
    Timestamp::from_millis(super::auth::now_millis())
}

fn bad(param: &str, detail: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("{param}: {detail}"))
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::BadRequest(e.body_text()))
}

fn data_error(e: lifeos_core::Error) -> ApiError {
    match e {
        lifeos_core::Error::NotFound { .. } => ApiError::NotFound,
        other => ApiError::Internal(format!("reading a user's data: {other}")),
    }
}

/// Runs `read` on a blocking thread with the caller's documents (all but the
/// ledgers, which `read` loads per month as it needs them).
async fn read<T: Send + 'static>(
    state: &AppState,
    user: Uuid,
    read: impl FnOnce(&StoreSource, Option<Opened>) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let source = StoreSource::new(state.store.clone(), user, tokio::runtime::Handle::current());
    tokio::task::spawn_blocking(move || {
        let opened = source.open()?;
        read(&source, opened)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("a read task failed: {e}")))?
}

fn limit(v: Option<&str>) -> Result<usize, ApiError> {
    match v {
        None => Ok(DEFAULT_LIMIT),
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| bad("limit", format!("must be a number from 1 to {MAX_LIMIT}"))),
    }
}

/// Cursors name the list they belong to, so one list's cursor is refused by another.
fn cursor_out(list: &str, position: &str) -> String {
    bs58::encode(format!("{list}\u{1f}{position}")).into_string()
}

fn cursor_in(list: &str, v: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(v) = v else { return Ok(None) };
    let refused = || bad("cursor", "is not one this list gave out");
    let bytes = bs58::decode(v).into_vec().map_err(|_| refused())?;
    let text = String::from_utf8(bytes).map_err(|_| refused())?;
    let (name, position) = text.split_once('\u{1f}').ok_or_else(refused)?;
    if name != list {
        return Err(refused());
    }
    Ok(Some(position.to_string()))
}

fn date(param: &str, v: Option<&str>) -> Result<Option<Date>, ApiError> {
    v.map(|s| {
        s.parse::<Date>()
            .map_err(|_| bad(param, format!("{s:?} is not a date (YYYY-MM-DD)")))
    })
    .transpose()
}

fn entity(param: &str, v: Option<&str>) -> Result<Option<EntityId>, ApiError> {
    v.map(|s| {
        s.parse::<EntityId>()
            .map_err(|_| bad(param, format!("{s:?} is not an id")))
    })
    .transpose()
}

fn boolean(param: &str, v: Option<&str>) -> Result<Option<bool>, ApiError> {
    match v {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(bad(param, format!("{other:?} is not true or false"))),
    }
}

/// Cuts a list sorted by `key` after the cursor's position and to `limit`.
fn paginate<T>(
    list: &str,
    items: impl IntoIterator<Item = T>,
    after: Option<&str>,
    limit: usize,
    key: impl Fn(&T) -> String,
) -> Page<T> {
    let mut items: Vec<T> = items
        .into_iter()
        .filter(|i| after.is_none_or(|a| key(i).as_str() > a))
        .take(limit + 1)
        .collect();
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|i| cursor_out(list, &key(i)))
    } else {
        None
    };
    Page { items, next_cursor }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct TaskQuery {
    /// `inbox`, `next`, `waiting`, `someday` or `done`.
    status: Option<String>,
    /// A project id.
    project: Option<String>,
    /// A context, with or without `@`.
    context: Option<String>,
    /// `do_first`, `schedule`, `delegate` or `eliminate`, for today.
    quadrant: Option<String>,
    /// Due on or before this day (YYYY-MM-DD).
    due_before: Option<String>,
    /// Due on or after this day (YYYY-MM-DD).
    due_after: Option<String>,
    /// Words in the title or notes, any case (at most 200 characters).
    q: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// `GET /api/v1/tasks`: tasks in creation order (by id: UUIDv7, to the millisecond), filtered.
#[utoipa::path(
    get,
    path = "/api/v1/tasks",
    tag = "tasks",
    params(TaskQuery),
    responses(
        (status = 200, description = "A page of tasks, in creation order", body = Page<TaskOut>),
        (status = 400, description = "An unknown parameter or a bad value (named)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the rate limit (see `Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn tasks(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    params: Result<Query<TaskQuery>, QueryRejection>,
) -> Result<Json<Page<TaskOut>>, ApiError> {
    let p = query(params)?;
    let status = p
        .status
        .as_deref()
        .map(|s| {
            Status::parse(s).map_err(|_| {
                bad(
                    "status",
                    format!("{s:?} is not one of inbox, next, waiting, someday, done"),
                )
            })
        })
        .transpose()?;
    let project = entity("project", p.project.as_deref())?;
    let quadrant = p
        .quadrant
        .as_deref()
        .map(|s| {
            [
                Quadrant::DoFirst,
                Quadrant::Schedule,
                Quadrant::Delegate,
                Quadrant::Eliminate,
            ]
            .into_iter()
            .find(|q| q.as_str() == s)
            .ok_or_else(|| {
                bad(
                    "quadrant",
                    format!("{s:?} is not one of do_first, schedule, delegate, eliminate"),
                )
            })
        })
        .transpose()?;
    let due_before = date("due_before", p.due_before.as_deref())?;
    let due_after = date("due_after", p.due_after.as_deref())?;
    let context = p.context.map(|c| c.trim_start_matches('@').to_lowercase());
    let search = match p.q {
        Some(q) if q.chars().count() > MAX_SEARCH => {
            return Err(bad("q", format!("at most {MAX_SEARCH} characters")));
        }
        q => q.map(|q| q.to_lowercase()),
    };
    let limit = limit(p.limit.as_deref())?;
    let after = cursor_in("tasks", p.cursor.as_deref())?;
    let page = read(&state, user.id, move |_, opened| {
        let Some(opened) = opened else {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        };
        let data = &opened.data;
        let settings = data.settings().map_err(data_error)?;
        let today = user_today(&settings, now());
        let horizon = settings.urgent_within_days;
        let mut tasks = data.tasks().map_err(data_error)?;
        tasks.sort_by_key(|t| t.id);
        let matching = tasks.iter().filter(|t| {
            status.is_none_or(|s| t.status == s)
                && project.is_none_or(|p| t.project == Some(p))
                && context
                    .as_ref()
                    .is_none_or(|c| t.contexts.iter().any(|x| x == c))
                && quadrant.is_none_or(|q| t.quadrant(today, horizon) == q)
                && due_before.is_none_or(|d| t.due.is_some_and(|due| due <= d))
                && due_after.is_none_or(|d| t.due.is_some_and(|due| due >= d))
                && search.as_ref().is_none_or(|q| {
                    t.title.to_lowercase().contains(q) || t.notes.to_lowercase().contains(q)
                })
        });
        let page = paginate("tasks", matching, after.as_deref(), limit, |t| {
            t.id.to_string()
        });
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|t| TaskOut::new(t, today, horizon))
                .collect(),
            next_cursor: page.next_cursor,
        })
    })
    .await?;
    Ok(Json(page))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct TodayQuery {
    /// The day (YYYY-MM-DD); default: the user's today.
    date: Option<String>,
}

/// `GET /api/v1/today?date=`: the daily planner (default: the user's today,
/// in the time zone of their settings, else UTC).
#[utoipa::path(
    get,
    path = "/api/v1/today",
    tag = "today",
    params(TodayQuery),
    responses(
        (status = 200, description = "The daily planner", body = TodayOut),
        (status = 400, description = "An unknown parameter or a bad value (named)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the rate limit (see `Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn today(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    params: Result<Query<TodayQuery>, QueryRejection>,
) -> Result<Json<TodayOut>, ApiError> {
    let p = query(params)?;
    let asked = date("date", p.date.as_deref())?;
    let out = read(&state, user.id, move |source, opened| {
        let Some(mut opened) = opened else {
            let day = asked.unwrap_or_else(|| user_today(&Default::default(), now()));
            let empty =
                lifeos_core::today::today(day, &Default::default(), &[], &[], std::iter::empty());
            return Ok(TodayOut::new(&empty, 2));
        };
        let settings = opened.data.settings().map_err(data_error)?;
        let day = asked.unwrap_or_else(|| user_today(&settings, now()));
        opened.attach_months(source, [Month::of(day)])?;
        let today = opened.data.today(day).map_err(data_error)?;
        Ok(TodayOut::new(&today, settings.urgent_within_days))
    })
    .await?;
    Ok(Json(out))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct HabitQuery {
    /// `true` or `false`: only archived, or only active, habits.
    archived: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// `GET /api/v1/habits`: habits in creation order, with their streaks and
/// strength on the user's today.
#[utoipa::path(
    get,
    path = "/api/v1/habits",
    tag = "habits",
    params(HabitQuery),
    responses(
        (status = 200, description = "A page of habits with streaks and strength", body = Page<HabitOut>),
        (status = 400, description = "An unknown parameter or a bad value (named)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the rate limit (see `Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn habits(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    params: Result<Query<HabitQuery>, QueryRejection>,
) -> Result<Json<Page<HabitOut>>, ApiError> {
    let p = query(params)?;
    let archived = boolean("archived", p.archived.as_deref())?;
    let limit = limit(p.limit.as_deref())?;
    let after = cursor_in("habits", p.cursor.as_deref())?;
    let page = read(&state, user.id, move |_, opened| {
        let Some(opened) = opened else {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        };
        let settings = opened.data.settings().map_err(data_error)?;
        let today = user_today(&settings, now());
        let mut habits = opened.data.habits().map_err(data_error)?;
        habits.sort_by_key(|h| h.id);
        let matching = habits
            .iter()
            .filter(|h| archived.is_none_or(|a| h.archived == a));
        let page = paginate("habits", matching, after.as_deref(), limit, |h| {
            h.id.to_string()
        });
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|h| HabitOut::new(h, today, settings.week_start))
                .collect(),
            next_cursor: page.next_cursor,
        })
    })
    .await?;
    Ok(Json(page))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct CheckInQuery {
    /// First day (YYYY-MM-DD), inclusive.
    from: Option<String>,
    /// Last day (YYYY-MM-DD), inclusive.
    to: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// `GET /api/v1/habits/{id}/checkins?from=&to=`: one habit's check-ins, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/habits/{id}/checkins",
    tag = "habits",
    params(CheckInQuery, ("id" = String, Path, description = "The habit's id")),
    responses(
        (status = 200, description = "A page of the habit's check-ins, oldest first", body = Page<CheckInOut>),
        (status = 404, description = "No such habit of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "An unknown parameter or a bad value (named)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the rate limit (see `Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn checkins(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    params: Result<Query<CheckInQuery>, QueryRejection>,
) -> Result<Json<Page<CheckInOut>>, ApiError> {
    let p = query(params)?;
    // A malformed id names no habit of the caller's: the same 404 as another account's.
    let id: EntityId = id.parse().map_err(|_| ApiError::NotFound)?;
    let from = date("from", p.from.as_deref())?;
    let to = date("to", p.to.as_deref())?;
    let limit = limit(p.limit.as_deref())?;
    let after = cursor_in("checkins", p.cursor.as_deref())?;
    let page = read(&state, user.id, move |_, opened| {
        let opened = opened.ok_or(ApiError::NotFound)?;
        let habit: Habit = opened.data.habit(id).map_err(data_error)?;
        let matching = habit
            .checkins
            .values()
            .filter(|c| from.is_none_or(|f| c.date >= f) && to.is_none_or(|t| c.date <= t));
        let page = paginate("checkins", matching, after.as_deref(), limit, |c| {
            c.date.to_string()
        });
        Ok(Page {
            items: page.items.into_iter().map(CheckInOut::from).collect(),
            next_cursor: page.next_cursor,
        })
    })
    .await?;
    Ok(Json(page))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct ExpenseQuery {
    /// First day (YYYY-MM-DD), inclusive.
    from: Option<String>,
    /// Last day (YYYY-MM-DD), inclusive.
    to: Option<String>,
    /// A category id.
    category: Option<String>,
    /// An ISO 4217 code.
    currency: Option<String>,
    /// Smallest amount, a decimal like `12.50`, in each expense's currency.
    min: Option<String>,
    /// Largest amount, a decimal like `12.50`, in each expense's currency.
    max: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<String>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A decimal bound typed by a person: `12`, `12.5`, `0.005` → digits and decimals.
fn decimal(param: &str, v: Option<&str>) -> Result<Option<(i128, u32)>, ApiError> {
    let Some(s) = v else { return Ok(None) };
    let refused = || bad(param, format!("{s:?} is not an amount like 12.50"));
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || whole.len() > 15
        || fraction.len() > 4
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(refused());
    }
    let digits: i128 = format!("{whole}{fraction}")
        .parse()
        .map_err(|_| refused())?;
    Ok(Some((digits, fraction.len() as u32)))
}

/// Compares an amount with a decimal bound, in the amount's own currency.
fn compare(amount: Money, (digits, decimals): (i128, u32)) -> Ordering {
    let exp = u32::from(amount.currency.exponent());
    let left = i128::from(amount.minor) * 10i128.pow(decimals);
    let right = digits * 10i128.pow(exp);
    left.cmp(&right)
}

/// `GET /api/v1/expenses`: newest first, filtered; reads one month's
/// ledgers at a time until the page is full.
#[utoipa::path(
    get,
    path = "/api/v1/expenses",
    tag = "finance",
    params(ExpenseQuery),
    responses(
        (status = 200, description = "A page of expenses, newest first", body = Page<ExpenseOut>),
        (status = 400, description = "An unknown parameter or a bad value (named)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the rate limit (see `Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn expenses(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    params: Result<Query<ExpenseQuery>, QueryRejection>,
) -> Result<Json<Page<ExpenseOut>>, ApiError> {
    let p = query(params)?;
    let from = date("from", p.from.as_deref())?;
    let to = date("to", p.to.as_deref())?;
    let category = entity("category", p.category.as_deref())?;
    let currency = p
        .currency
        .as_deref()
        .map(|c| {
            Currency::from_code(c)
                .map_err(|_| bad("currency", format!("{c:?} is not an ISO 4217 code")))
        })
        .transpose()?;
    let min = decimal("min", p.min.as_deref())?;
    let max = decimal("max", p.max.as_deref())?;
    let limit = limit(p.limit.as_deref())?;
    let after = cursor_in("expenses", p.cursor.as_deref())?;
    // The position is "date~id"; newest first, so the next page is what sorts below it.
    let after = after
        .map(|a| {
            let (d, id) = a.split_once('~').unwrap_or(("", ""));
            match (d.parse::<Date>(), id.parse::<EntityId>()) {
                (Ok(d), Ok(id)) => Ok((d, id)),
                _ => Err(bad("cursor", "is not one this list gave out")),
            }
        })
        .transpose()?;
    let page = read(&state, user.id, move |source, opened| {
        let Some(opened) = opened else {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        };
        let months: Vec<Month> = opened
            .ledgers
            .keys()
            .rev()
            .copied()
            .filter(|m| {
                to.is_none_or(|t| *m <= Month::of(t))
                    && from.is_none_or(|f| *m >= Month::of(f))
                    && after.is_none_or(|(d, _)| *m <= Month::of(d))
            })
            .collect();
        let mut items = Vec::new();
        for month in months {
            let mut list = opened.month_expenses(source, month)?;
            list.sort_by_key(|e| std::cmp::Reverse((e.date, e.id)));
            items.extend(list.into_iter().filter(|e| {
                from.is_none_or(|f| e.date >= f)
                    && to.is_none_or(|t| e.date <= t)
                    && category.is_none_or(|c| e.category == Some(c))
                    && currency.is_none_or(|c| e.amount.currency == c)
                    && min.is_none_or(|m| compare(e.amount, m) != Ordering::Less)
                    && max.is_none_or(|m| compare(e.amount, m) != Ordering::Greater)
                    && after.is_none_or(|a| (e.date, e.id) < a)
            }));
            if items.len() > limit {
                break;
            }
        }
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            items
                .last()
                .map(|e| cursor_out("expenses", &format!("{}~{}", e.date, e.id)))
        } else {
            None
        };
        Ok(Page {
            items: items.iter().map(ExpenseOut::from).collect(),
            next_cursor,
        })
    })
    .await?;
    Ok(Json(page))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportQuery {
    /// The month (YYYY-MM); default: the user's current month.
    month: Option<String>,
}

/// `GET /api/v1/reports/monthly?month=YYYY-MM`: spending per category
/// against its budget (default: the user's current month).
#[utoipa::path(
    get,
    path = "/api/v1/reports/monthly",
    tag = "finance",
    params(ReportQuery),
    responses(
        (status = 200, description = "The monthly report", body = ReportOut),
        (status = 400, description = "An unknown parameter or a bad value (named)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the rate limit (see `Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn monthly_report(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    params: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<ReportOut>, ApiError> {
    let p = query(params)?;
    let asked = p
        .month
        .as_deref()
        .map(|m| {
            m.parse::<Month>()
                .map_err(|_| bad("month", format!("{m:?} is not a month (YYYY-MM)")))
        })
        .transpose()?;
    let out = read(&state, user.id, move |source, opened| {
        let Some(mut opened) = opened else {
            let month = asked.unwrap_or_else(|| Month::of(user_today(&Default::default(), now())));
            let empty = lifeos_core::finance::monthly_report(month, &[], std::iter::empty());
            return Ok(ReportOut::from(&empty));
        };
        let settings = opened.data.settings().map_err(data_error)?;
        let month = asked.unwrap_or_else(|| Month::of(user_today(&settings, now())));
        // Rollover budgets look back to the first month with a budget.
        let first = opened
            .data
            .categories()
            .map_err(data_error)?
            .iter()
            .filter_map(|c| c.budgets.keys().next().copied())
            .min()
            .unwrap_or(month)
            .min(month);
        let months: Vec<Month> = opened
            .ledgers
            .keys()
            .copied()
            .filter(|m| *m >= first && *m <= month)
            .collect();
        opened.attach_months(source, months)?;
        let report = opened.data.monthly_report(month).map_err(data_error)?;
        Ok(ReportOut::from(&report))
    })
    .await?;
    Ok(Json(out))
}
