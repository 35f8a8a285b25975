//! `GET /api/v1/audit`: the caller's own audit events, newest first, with
//! cursor pagination (`limit`, `cursor` → `next_cursor`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AppState;
use super::extract::CurrentUser;
use crate::error::{ApiError, Problem};
use crate::storage::Storage;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/audit", get(audit))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct Page {
    /// Page size, 1 to 200 (default 50).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// One page of the audit log.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct AuditPage {
    /// Events, newest first.
    items: Vec<AuditItem>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    next_cursor: Option<String>,
}

/// One sensitive action on the account.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct AuditItem {
    /// The event's id.
    id: String,
    /// What happened: `register`, `login`, `logout`, `logout_all`,
    /// `password_changed`, `password_reset`, `password_reset_requested`,
    /// `document_created`, `export`.
    action: String,
    /// When (RFC 3339).
    at: String,
    /// From which address, when known.
    ip: Option<String>,
    /// Details of the action.
    #[schema(value_type = Object)]
    detail: Value,
}

/// The caller's own audit events (sign-ins, password changes, exports...), newest first.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "account",
    params(Page),
    responses(
        (status = 200, description = "The caller's own events, newest first", body = AuditPage),
        (status = 400, description = "A bad limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the rate limit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn audit(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Json<AuditPage>, ApiError> {
    let Query(page) = page.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let limit = page.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "limit must be 1 to {MAX_LIMIT}"
        )));
    }
    let before =
        match page.cursor.as_deref() {
            None => None,
            Some(c) => Some(c.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                ApiError::BadRequest("cursor is not one this API gave out".into())
            })?),
        };
    let events = state.store.audit_page(user.id, before, limit).await?;
    let next_cursor = (events.len() == limit as usize)
        .then(|| events.last().map(|e| e.id.to_string()))
        .flatten();
    let items = events
        .into_iter()
        .map(|e| AuditItem {
            id: e.id.to_string(),
            action: e.action,
            at: super::auth::rfc3339(e.at),
            ip: e.ip,
            detail: e.detail,
        })
        .collect();
    Ok(Json(AuditPage { items, next_cursor }))
}
