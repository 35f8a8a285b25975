//! The user's data, written: `POST /api/v1/tasks`, `PATCH /api/v1/tasks/{id}`,
//! `POST /api/v1/habits/{id}/checkins`, `POST /api/v1/expenses`.
//!
//! A write reads the caller's documents from storage, makes the edit with
//! `lifeos-core` (the same rules as the app: validation, recurrence, which
//! document an entity goes to), and hands the resulting Automerge changes to
//! the sync actor, which applies them to its copy of each document, stores
//! them and only then advertises them to the user's connected devices
//! ([`crate::sync::SyncHandle::edit`]). The answer comes once every change is
//! stored. Concurrent edits from devices or other requests merge like any
//! two devices' edits.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::{Json, Router};
use lifeos_core::finance::{ExpensePatch, NewExpense};
use lifeos_core::habits::CheckInState;
use lifeos_core::tasks::{NewTask, Recurrence, Status, TaskPatch};
use lifeos_core::time::{Date, Month, Timestamp, parse_date};
use lifeos_core::{Currency, DocumentId, EntityId, Money, UserData};
use serde::{Deserialize, Deserializer};
use uuid::Uuid;

use super::AppState;
use super::extract::{CurrentUser, JsonBody};
use crate::api::export::user_today;
use crate::api::model::{CheckInOut, ExpenseOut, TaskOut};
use crate::api::source::{Opened, Source, StoreSource};
use crate::error::{ApiError, Problem};
use crate::storage::{KeyClaim, Storage};
use crate::sync::EditError;

/// How long a write waits for storage before answering 503 (its changes
/// may still be stored later: the relay keeps retrying, like for devices).
const STORE_WAIT: Duration = Duration::from_secs(10);

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tasks", post(create_task))
        .route("/api/v1/tasks/{id}", patch(update_task))
        .route("/api/v1/habits/{id}/checkins", post(check_in))
        .route("/api/v1/expenses", post(create_expense))
        .route("/api/v1/expenses/{id}", patch(update_expense))
}

/// `null` and absent told apart: absent is `None`, `null` is `Some(None)`.
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn now() -> Timestamp {
    Timestamp::from_millis(super::auth::now_millis())
}

/// `lifeos-core`'s verdicts in HTTP terms: a broken rule is 422 naming the
/// field, an unknown entity 404.
fn rule(e: lifeos_core::Error) -> ApiError {
    match e {
        lifeos_core::Error::Invalid { field, reason } => ApiError::Unprocessable {
            field: field.into(),
            detail: reason,
        },
        lifeos_core::Error::NotFound { .. } => ApiError::NotFound,
        other => ApiError::Internal(format!("editing a user's data: {other}")),
    }
}

fn field(field: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::Unprocessable {
        field: field.into(),
        detail: detail.into(),
    }
}

fn date(name: &'static str, v: Option<&str>) -> Result<Option<Date>, ApiError> {
    v.map(|s| parse_date(name, s).map_err(rule)).transpose()
}

fn entity(name: &'static str, v: &str) -> Result<EntityId, ApiError> {
    v.parse()
        .map_err(|_| field(name, format!("{v:?} is not an id")))
}

fn recurrence(v: &str) -> Result<Recurrence, ApiError> {
    v.parse::<Recurrence>().map_err(rule)
}

fn time_of_day(v: &str) -> Result<lifeos_core::time::TimeOfDay, ApiError> {
    v.parse().map_err(rule)
}

fn status(v: &str) -> Result<Status, ApiError> {
    Status::parse(v).map_err(rule)
}

/// Runs `edit` on the caller's data on a blocking thread, then has every
/// change it made stored and synced; answers with what `edit` returned.
/// A user whose devices never synced gets their documents created.
async fn write<T: Send + 'static>(
    state: &AppState,
    user: Uuid,
    edit: impl FnOnce(&StoreSource, &mut Opened, Date) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let source = StoreSource::new(state.store.clone(), user, tokio::runtime::Handle::current());
    let (value, changes) = tokio::task::spawn_blocking(move || {
        let now = now();
        let (mut opened, before) = match source.open() {
            Ok(Some(mut opened)) => {
                let before = opened.data.heads();
                (opened, before)
            }
            // Every document is new, its creation included in the changes.
            Ok(None) => {
                let data = UserData::create(DocumentId::root_of_user(&user), now).map_err(rule)?;
                let opened = Opened {
                    data,
                    ledgers: Default::default(),
                };
                (opened, Default::default())
            }
            Err(e) => return Err(ApiError::from(e)),
        };
        let today = user_today(&opened.data.settings().map_err(rule)?, now);
        let value = edit(&source, &mut opened, today)?;
        let root = opened.data.root_id();
        let mut changes: Vec<(DocumentId, Vec<automerge::Change>)> = Vec::new();
        for (id, doc) in opened.data.documents_mut() {
            let since = before.get(&id).cloned().unwrap_or_default();
            let made: Vec<automerge::Change> = doc.automerge_mut().get_changes(&since);
            if !made.is_empty() {
                changes.push((id, made));
            }
        }
        // The root last: when it lists a new document, the document is there.
        changes.sort_by_key(|(id, _)| *id == root);
        Ok((value, changes))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("a write task failed: {e}")))??;
    for (document, made) in changes {
        match tokio::time::timeout(STORE_WAIT, state.sync.edit(user, document, made)).await {
            Ok(Ok(())) => {}
            Ok(Err(EditError::NotOwner)) => return Err(ApiError::NotFound),
            Ok(Err(EditError::ShuttingDown)) | Err(_) => return Err(ApiError::Unavailable),
            Ok(Err(e)) => return Err(ApiError::Internal(format!("{document}: {e}"))),
        }
    }
    Ok(value)
}

/// An unanswered claim older than this is taken to be abandoned (its
/// request died with its relay) and may be taken over by a retry.
const CLAIM_STALE_MS: i64 = 60_000;
/// Answers are kept for retries this long.
const KEY_KEPT_MS: i64 = 24 * 3600 * 1000;
/// The largest answer kept for a key.
const ANSWER_LIMIT: usize = 1024 * 1024;

/// Runs a write at most once per `Idempotency-Key`: the first request with
/// a key claims it and its answer is kept; a retry with the same key and the
/// same request gets that answer again (with `Idempotent-Replayed: true`),
/// never a second task or expense. Without the header, `write` just runs.
/// `fingerprint` identifies the request (method, path, parsed body).
async fn idempotent(
    state: &AppState,
    user: Uuid,
    headers: &HeaderMap,
    fingerprint: String,
    write: impl Future<Output = Result<Response, ApiError>>,
) -> Result<Response, ApiError> {
    let Some(key) = headers.get("idempotency-key") else {
        return write.await;
    };
    let key = key
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::BadRequest(
                "Idempotency-Key: 1 to 255 visible ASCII characters (a UUID is a good key)".into(),
            )
        })?
        .to_string();
    let hash = {
        use sha2::Digest;
        sha2::Sha256::digest(fingerprint.as_bytes()).to_vec()
    };
    let now = super::auth::now_millis();
    let claim = state
        .store
        .claim_idempotency_key(
            user,
            &key,
            &hash,
            now,
            now - CLAIM_STALE_MS,
            now - KEY_KEPT_MS,
        )
        .await?;
    let reused = || ApiError::Unprocessable {
        field: "Idempotency-Key".into(),
        detail: "this key was used for a different request".into(),
    };
    match claim {
        KeyClaim::Answered {
            same_request: true,
            status,
            location,
            body,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = (status, body).into_response();
            let h = response.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            h.insert("idempotent-replayed", HeaderValue::from_static("true"));
            if let Some(v) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
                h.insert(header::LOCATION, v);
            }
            return Ok(response);
        }
        KeyClaim::InProgress { same_request: true } => {
            return Err(ApiError::Conflict(
                "a request with this Idempotency-Key is still being handled; retry in a moment",
            ));
        }
        KeyClaim::Answered { .. } | KeyClaim::InProgress { .. } => return Err(reused()),
        KeyClaim::Claimed => {}
    }
    match write.await {
        Ok(response) => {
            let (parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, ANSWER_LIMIT)
                .await
                .map_err(|e| ApiError::Internal(format!("reading an answer to keep: {e}")))?;
            let location = parts
                .headers
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok());
            let text = String::from_utf8_lossy(&bytes);
            if let Err(e) = state
                .store
                .answer_idempotency_key(user, &key, parts.status.as_u16(), location, &text)
                .await
            {
                // The write happened; a retry now waits for the claim to go stale.
                tracing::warn!(error = %e, "cannot keep the answer of an idempotent write");
            }
            Ok(Response::from_parts(parts, axum::body::Body::from(bytes)))
        }
        // The database did not answer: the changes may still be stored, so
        // the claim stays and a retry waits until it goes stale.
        Err(ApiError::Unavailable) => Err(ApiError::Unavailable),
        // Refused: nothing changed, and a corrected retry may use the key.
        Err(refused) => {
            if let Err(e) = state.store.release_idempotency_key(user, &key).await {
                tracing::warn!(error = %e, "cannot release an idempotency key");
            }
            Err(refused)
        }
    }
}

fn created<T: serde::Serialize>(location: String, body: T) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// A new task.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TaskIn {
    /// The title (1 to 500 characters).
    title: String,
    /// `inbox` (default), `next`, `waiting`, `someday` or `done`.
    status: Option<String>,
    /// Free-form notes.
    notes: Option<String>,
    /// An existing project's id.
    project_id: Option<String>,
    /// Contexts, with or without `@`.
    contexts: Option<Vec<String>>,
    /// Checklist items, in order.
    checklist: Option<Vec<String>>,
    /// Due day (YYYY-MM-DD).
    due: Option<String>,
    /// Scheduled ("start on") day (YYYY-MM-DD).
    scheduled: Option<String>,
    /// Time of day (HH:MM, 24-hour) on the due day, else the scheduled day;
    /// needs one of them.
    time: Option<String>,
    /// Repetition: `every 2 weeks`, `every 3 days after completion`, `on mon,fri`.
    recurrence: Option<String>,
    /// Eisenhower: important.
    important: Option<bool>,
    /// Eisenhower: urgent.
    urgent: Option<bool>,
}

fn check_project(data: &UserData, project: Option<EntityId>) -> Result<(), ApiError> {
    if let Some(p) = project
        && !data.projects().map_err(rule)?.iter().any(|x| x.id == p)
    {
        return Err(field("project_id", "no such project"));
    }
    Ok(())
}

/// `POST /api/v1/tasks`: 201 with the task.
#[utoipa::path(
    post,
    path = "/api/v1/tasks",
    tag = "tasks",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this request return the first answer instead of writing again (1 to 255 visible ASCII characters)")),
    request_body = TaskIn,
    responses(
        (status = 201, description = "The new task (and its `Location`)", body = TaskOut),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request with this Idempotency-Key is still being handled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule (named in `field`), or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the rate limit (see `Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer (the change may still be stored; retry with the same Idempotency-Key)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn create_task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
    JsonBody(input): JsonBody<TaskIn>,
) -> Result<Response, ApiError> {
    let fingerprint = format!("POST /api/v1/tasks {input:?}");
    idempotent(
        &state,
        user.id,
        &headers,
        fingerprint,
        create_task_now(state.clone(), user.id, input),
    )
    .await
}

async fn create_task_now(state: AppState, user: Uuid, input: TaskIn) -> Result<Response, ApiError> {
    let new = NewTask {
        title: input.title,
        status: input.status.as_deref().map(status).transpose()?,
        notes: input.notes.unwrap_or_default(),
        project: input
            .project_id
            .as_deref()
            .map(|p| entity("project_id", p))
            .transpose()?,
        contexts: input.contexts.unwrap_or_default(),
        checklist: input.checklist.unwrap_or_default(),
        due: date("due", input.due.as_deref())?,
        scheduled: date("scheduled", input.scheduled.as_deref())?,
        time: input.time.as_deref().map(time_of_day).transpose()?,
        recurrence: input.recurrence.as_deref().map(recurrence).transpose()?,
        important: input.important.unwrap_or(false),
        urgent: input.urgent.unwrap_or(false),
    };
    let task = write(&state, user, move |_, opened, today| {
        let data = &mut opened.data;
        check_project(data, new.project)?;
        let id = data.add_task(now(), new).map_err(rule)?;
        let horizon = data.settings().map_err(rule)?.urgent_within_days;
        Ok(TaskOut::new(&data.task(id).map_err(rule)?, today, horizon))
    })
    .await?;
    Ok(created(format!("/api/v1/tasks/{}", task.id), task))
}

/// Changes to a task; absent fields stay, `null` clears.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TaskPatchIn {
    /// A new title.
    title: Option<String>,
    /// `done` completes the task (a repeating one moves to its next
    /// occurrence); another status on a done task reopens it.
    status: Option<String>,
    /// New notes.
    notes: Option<String>,
    /// A project's id; `null` takes the task out of its project.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    project_id: Option<Option<String>>,
    /// The whole set of contexts.
    contexts: Option<Vec<String>>,
    /// Due day (YYYY-MM-DD); `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    due: Option<Option<String>>,
    /// Scheduled day (YYYY-MM-DD); `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    scheduled: Option<Option<String>>,
    /// Time of day (HH:MM); `null` clears it. Clearing both days clears it too.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    time: Option<Option<String>>,
    /// Repetition rule; `null` stops repeating.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    recurrence: Option<Option<String>>,
    /// Eisenhower: important.
    important: Option<bool>,
    /// Eisenhower: urgent.
    urgent: Option<bool>,
}

/// `PATCH /api/v1/tasks/{id}`: 200 with the task. `"status":"done"`
/// completes it the way the app does: a repeating task moves on to its next
/// occurrence (and stays open); another status reopens a done task.
#[utoipa::path(
    patch,
    path = "/api/v1/tasks/{id}",
    tag = "tasks",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this request return the first answer instead of writing again (1 to 255 visible ASCII characters)"), ("id" = String, Path, description = "The task's id")),
    request_body = TaskPatchIn,
    responses(
        (status = 200, description = "The task as it is now", body = TaskOut),
        (status = 404, description = "No such entity of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request with this Idempotency-Key is still being handled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule (named in `field`), or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the rate limit (see `Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer (the change may still be stored; retry with the same Idempotency-Key)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn update_task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<TaskPatchIn>,
) -> Result<Response, ApiError> {
    let fingerprint = format!("PATCH /api/v1/tasks/{id} {input:?}");
    idempotent(
        &state,
        user.id,
        &headers,
        fingerprint,
        update_task_now(state.clone(), user.id, id, input),
    )
    .await
}

async fn update_task_now(
    state: AppState,
    user: Uuid,
    id: String,
    input: TaskPatchIn,
) -> Result<Response, ApiError> {
    let id: EntityId = id.parse().map_err(|_| ApiError::NotFound)?;
    let new_status = input.status.as_deref().map(status).transpose()?;
    let project = match input.project_id {
        None => None,
        Some(None) => Some(None),
        Some(Some(p)) => Some(Some(entity("project_id", &p)?)),
    };
    let due = match input.due {
        None => None,
        Some(v) => Some(date("due", v.as_deref())?),
    };
    let scheduled = match input.scheduled {
        None => None,
        Some(v) => Some(date("scheduled", v.as_deref())?),
    };
    let time = match input.time {
        None => None,
        Some(None) => Some(None),
        Some(Some(t)) => Some(Some(time_of_day(&t)?)),
    };
    let repeat = match input.recurrence {
        None => None,
        Some(None) => Some(None),
        Some(Some(r)) => Some(Some(recurrence(&r)?)),
    };
    let task = write(&state, user, move |_, opened, today| {
        let data = &mut opened.data;
        let current = data.task(id).map_err(rule)?;
        if let Some(Some(p)) = project {
            check_project(data, Some(p))?;
        }
        let (add_contexts, remove_contexts) = match input.contexts {
            None => (Vec::new(), Vec::new()),
            Some(wanted) => {
                let wanted: Vec<String> = wanted
                    .iter()
                    .map(|c| c.trim().trim_start_matches('@').to_lowercase())
                    .collect();
                let remove = current
                    .contexts
                    .iter()
                    .filter(|c| !wanted.contains(c))
                    .cloned()
                    .collect();
                (wanted, remove)
            }
        };
        let plain_status = new_status.filter(|s| {
            *s != Status::Done && current.status != Status::Done && *s != current.status
        });
        let patch = TaskPatch {
            title: input.title,
            status: plain_status,
            notes: input.notes,
            project,
            add_contexts,
            remove_contexts,
            due,
            scheduled,
            time,
            recurrence: repeat,
            important: input.important,
            urgent: input.urgent,
        };
        if patch != TaskPatch::default() {
            data.update_task(now(), id, patch).map_err(rule)?;
        }
        match new_status {
            Some(Status::Done) if current.status != Status::Done => {
                data.complete_task(now(), id, today).map_err(rule)?;
            }
            Some(s) if s != Status::Done && current.status == Status::Done => {
                data.reopen_task(now(), id, s).map_err(rule)?;
            }
            _ => {}
        }
        let horizon = data.settings().map_err(rule)?.urgent_within_days;
        Ok(TaskOut::new(&data.task(id).map_err(rule)?, today, horizon))
    })
    .await?;
    Ok(Json(task).into_response())
}

/// A day's check-in of a habit.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CheckInIn {
    /// Default: the user's today.
    date: Option<String>,
    /// `done`, `skipped` or `value`.
    state: String,
    /// For `value`.
    value: Option<f64>,
    /// A note.
    note: Option<String>,
}

/// `POST /api/v1/habits/{id}/checkins`: sets the day's check-in (one per
/// habit and day: posting again for that day replaces it); 200 with it.
#[utoipa::path(
    post,
    path = "/api/v1/habits/{id}/checkins",
    tag = "habits",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this request return the first answer instead of writing again (1 to 255 visible ASCII characters)"), ("id" = String, Path, description = "The habit's id")),
    request_body = CheckInIn,
    responses(
        (status = 200, description = "The day's check-in", body = CheckInOut),
        (status = 404, description = "No such entity of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request with this Idempotency-Key is still being handled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule (named in `field`), or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the rate limit (see `Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer (the change may still be stored; retry with the same Idempotency-Key)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn check_in(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<CheckInIn>,
) -> Result<Response, ApiError> {
    let fingerprint = format!("POST /api/v1/habits/{id}/checkins {input:?}");
    idempotent(
        &state,
        user.id,
        &headers,
        fingerprint,
        check_in_now(state.clone(), user.id, id, input),
    )
    .await
}

async fn check_in_now(
    state: AppState,
    user: Uuid,
    id: String,
    input: CheckInIn,
) -> Result<Response, ApiError> {
    let id: EntityId = id.parse().map_err(|_| ApiError::NotFound)?;
    let day = date("date", input.date.as_deref())?;
    let checkin_state = match (input.state.as_str(), input.value) {
        ("done", None) => CheckInState::Done,
        ("skipped", None) => CheckInState::Skipped,
        ("value", Some(v)) => CheckInState::Value(v),
        ("value", None) => return Err(field("value", "a value check-in needs a value")),
        ("done" | "skipped", Some(_)) => {
            return Err(field("value", "only a value check-in takes a value"));
        }
        (other, _) => {
            return Err(field(
                "state",
                format!("{other:?} is not one of done, skipped, value"),
            ));
        }
    };
    let out = write(&state, user, move |_, opened, today| {
        let day = day.unwrap_or(today);
        let checkin = opened
            .data
            .check_in(now(), id, day, today, checkin_state, input.note.as_deref())
            .map_err(rule)?;
        Ok(CheckInOut::from(&checkin))
    })
    .await?;
    Ok(Json(out).into_response())
}

/// A new expense.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ExpenseIn {
    /// A decimal amount as people type it: `12.50` or `12,50`.
    amount: String,
    /// ISO 4217; default: the user's currency setting.
    currency: Option<String>,
    /// Default: the user's today.
    date: Option<String>,
    /// An expense category's id.
    category_id: Option<String>,
    /// Who was paid.
    payee: Option<String>,
    /// A note.
    note: Option<String>,
}

/// `POST /api/v1/expenses`: 201 with the expense.
#[utoipa::path(
    post,
    path = "/api/v1/expenses",
    tag = "finance",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this request return the first answer instead of writing again (1 to 255 visible ASCII characters)")),
    request_body = ExpenseIn,
    responses(
        (status = 201, description = "The new expense (and its `Location`)", body = ExpenseOut),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request with this Idempotency-Key is still being handled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule (named in `field`), or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the rate limit (see `Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer (the change may still be stored; retry with the same Idempotency-Key)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn create_expense(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
    JsonBody(input): JsonBody<ExpenseIn>,
) -> Result<Response, ApiError> {
    let fingerprint = format!("POST /api/v1/expenses {input:?}");
    idempotent(
        &state,
        user.id,
        &headers,
        fingerprint,
        create_expense_now(state.clone(), user.id, input),
    )
    .await
}

async fn create_expense_now(
    state: AppState,
    user: Uuid,
    input: ExpenseIn,
) -> Result<Response, ApiError> {
    let currency = input
        .currency
        .as_deref()
        .map(|c| {
            Currency::from_code(c)
                .map_err(|_| field("currency", format!("{c:?} is not an ISO 4217 code")))
        })
        .transpose()?;
    let day = date("date", input.date.as_deref())?;
    let category = input
        .category_id
        .as_deref()
        .map(|c| entity("category_id", c))
        .transpose()?;
    let expense = write(&state, user, move |source, opened, today| {
        let settings = opened.data.settings().map_err(rule)?;
        let currency = currency
            .or(settings.currency)
            .ok_or_else(|| field("currency", "required: the account has no default currency"))?;
        let amount = Money::parse(&input.amount, currency).map_err(rule)?;
        let day = day.unwrap_or(today);
        // The month's ledger(s), so the expense joins the one that exists.
        opened
            .attach_months(source, [Month::of(day)])
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let (id, _) = opened
            .data
            .add_expense(
                now(),
                NewExpense {
                    amount,
                    date: day,
                    category,
                    payee: input.payee,
                    note: input.note,
                },
            )
            .map_err(rule)?;
        let stored = opened
            .data
            .expenses_between(day, day)
            .map_err(rule)?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| ApiError::Internal("the new expense is not in its ledger".into()))?;
        Ok(ExpenseOut::from(&stored))
    })
    .await?;
    Ok(created(format!("/api/v1/expenses/{}", expense.id), expense))
}

/// Changes to an expense; absent fields stay, `null` clears.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ExpensePatchIn {
    /// A new amount, as people type it (`12.50` or `12,50`).
    amount: Option<String>,
    /// The amount's currency (ISO 4217); default: the expense's.
    currency: Option<String>,
    /// A new day (YYYY-MM-DD); another month moves the expense to that month.
    date: Option<String>,
    /// A category's id; `null`: uncategorised.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    category_id: Option<Option<String>>,
    /// Who was paid; `null` clears.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    payee: Option<Option<String>>,
    /// A note; `null` clears.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    note: Option<Option<String>>,
}

/// `PATCH /api/v1/expenses/{id}`: 200 with the expense as it is now.
#[utoipa::path(
    patch,
    path = "/api/v1/expenses/{id}",
    tag = "finance",
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry of this request return the first answer instead of writing again (1 to 255 visible ASCII characters)"), ("id" = String, Path, description = "The expense's id")),
    request_body = ExpensePatchIn,
    responses(
        (status = 200, description = "The expense as it is now", body = ExpenseOut),
        (status = 404, description = "No such entity of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A request with this Idempotency-Key is still being handled", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule (named in `field`), or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the rate limit (see `Retry-After`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer (the change may still be stored; retry with the same Idempotency-Key)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn update_expense(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<ExpensePatchIn>,
) -> Result<Response, ApiError> {
    let fingerprint = format!("PATCH /api/v1/expenses/{id} {input:?}");
    idempotent(
        &state,
        user.id,
        &headers,
        fingerprint,
        update_expense_now(state.clone(), user.id, id, input),
    )
    .await
}

async fn update_expense_now(
    state: AppState,
    user: Uuid,
    id: String,
    input: ExpensePatchIn,
) -> Result<Response, ApiError> {
    let id: EntityId = id.parse().map_err(|_| ApiError::NotFound)?;
    let currency = input
        .currency
        .as_deref()
        .map(|c| {
            Currency::from_code(c)
                .map_err(|_| field("currency", format!("{c:?} is not an ISO 4217 code")))
        })
        .transpose()?;
    let new_date = date("date", input.date.as_deref())?;
    let category = match input.category_id {
        None => None,
        Some(None) => Some(None),
        Some(Some(c)) => Some(Some(entity("category_id", &c)?)),
    };
    let expense = write(&state, user, move |source, opened, _| {
        let home = opened
            .month_of_expense(source, id)
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .ok_or(ApiError::NotFound)?;
        let mut months = vec![home];
        months.extend(new_date.map(Month::of).filter(|m| *m != home));
        opened
            .attach_months(source, months)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let data = &mut opened.data;
        let current = data
            .expenses_between(home.first_day(), home.last_day())
            .map_err(rule)?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or(ApiError::NotFound)?;
        let amount = match (&input.amount, currency) {
            (Some(a), c) => {
                Some(Money::parse(a, c.unwrap_or(current.amount.currency)).map_err(rule)?)
            }
            (None, Some(c)) if c != current.amount.currency => {
                return Err(field("amount", "give the amount in the new currency too"));
            }
            (None, _) => None,
        };
        let patch = ExpensePatch {
            amount,
            date: new_date,
            category,
            payee: input.payee,
            note: input.note,
        };
        data.update_expense(now(), id, patch).map_err(rule)?;
        let day = new_date.unwrap_or(current.date);
        let stored = data
            .expenses_between(day, day)
            .map_err(rule)?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| ApiError::Internal("the expense is not where it was put".into()))?;
        Ok(ExpenseOut::from(&stored))
    })
    .await?;
    Ok(Json(expense).into_response())
}
