//! The caller's signed-in sessions (CONTRACT.md, "Second factor and
//! sessions"): `GET /api/v1/sessions` lists them, `DELETE
//! /api/v1/sessions/{id}` ends one. A session is one sign-in on one device
//! (a refresh-token family); ending it revokes its refresh tokens, voids
//! its access tokens (each names its session) and closes its live sync
//! connections, on this relay at once and on the others through the
//! database's notification.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::AppState;
use super::auth::{audit, now_millis, rfc3339};
use super::extract::CurrentSession;
use crate::error::{ApiError, Problem};
use crate::storage::security::SecurityStore;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sessions", get(list))
        .route("/api/v1/sessions/{id}", delete(end))
}

/// One signed-in session.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Session {
    /// The session id.
    id: Uuid,
    /// When it signed in (RFC 3339).
    created_at: String,
    /// Its last sign-in or token refresh (RFC 3339).
    last_used_at: String,
    /// The device's `User-Agent`, as it sent it.
    user_agent: Option<String>,
    /// The client address, as the audit log has it.
    ip: Option<String>,
    /// Whether it is the session of this request.
    current: bool,
}

/// The caller's sessions.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Sessions {
    /// Most recently used first.
    items: Vec<Session>,
}

/// The caller's signed-in sessions.
#[utoipa::path(
    get,
    path = "/api/v1/sessions",
    operation_id = "list_sessions",
    tag = "account",
    responses(
        (status = 200, description = "Every live session of the caller, most recently used first", body = Sessions),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the rate limit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn list(
    State(state): State<AppState>,
    CurrentSession { user, session }: CurrentSession,
) -> Result<Json<Sessions>, ApiError> {
    let items = state
        .store
        .sessions_of(user.id, now_millis())
        .await?
        .into_iter()
        .map(|s| Session {
            current: Some(s.id) == session,
            id: s.id,
            created_at: rfc3339(s.created_at),
            last_used_at: rfc3339(s.last_used_at),
            user_agent: s.user_agent,
            ip: s.ip,
        })
        .collect();
    Ok(Json(Sessions { items }))
}

/// Ends one of the caller's sessions ("sign out this device"): its refresh
/// token stops working and its live sync connections close within a second.
#[utoipa::path(
    delete,
    path = "/api/v1/sessions/{id}",
    operation_id = "end_session",
    tag = "account",
    params(("id" = String, Path, description = "The session id")),
    responses(
        (status = 204, description = "The session is ended"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The caller has no such live session", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the rate limit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn end(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    CurrentSession { user, session }: CurrentSession,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    // Another account's session answers like a missing one.
    let id: Uuid = id.parse().map_err(|_| ApiError::NotFound)?;
    if !state.store.end_session(user.id, id, now_millis()).await? {
        return Err(ApiError::NotFound);
    }
    state.sync.close_session(user.id, id).await;
    let current = session == Some(id);
    audit(
        &state,
        Some(user.id),
        "session_ended",
        client,
        json!({ "session": id, "current": current }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of `user` but `keep` (the caller's own); returns how many.
pub(super) async fn end_others(
    state: &AppState,
    user: Uuid,
    keep: Option<Uuid>,
) -> Result<usize, ApiError> {
    let now = now_millis();
    let mut ended = 0;
    for s in state.store.sessions_of(user, now).await? {
        if Some(s.id) != keep && state.store.end_session(user, s.id, now).await? {
            state.sync.close_session(user, s.id).await;
            ended += 1;
        }
    }
    Ok(ended)
}
