//! `GET /api/v1/audit`: the caller's own audit events, newest first, with
//! cursor pagination (`limit`, `cursor` → `next_cursor`).

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::extract::CurrentUser;
use crate::error::ApiError;
use crate::storage::Storage;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/audit", get(audit))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    limit: Option<u32>,
    cursor: Option<String>,
}

async fn audit(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
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
    let items: Vec<Value> = events
        .into_iter()
        .map(|e| json!({ "id": e.id.to_string(), "action": e.action, "at": super::auth::rfc3339(e.at), "ip": e.ip, "detail": e.detail }))
        .collect();
    Ok(Json(json!({ "items": items, "next_cursor": next_cursor })))
}
