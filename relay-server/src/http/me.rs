//! `GET /api/v1/me`: the caller's account.

use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;
use super::extract::CurrentUser;
use crate::error::Problem;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/me", get(me))
}

/// The caller's account.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Me {
    /// The account id.
    id: uuid::Uuid,
    /// Its email.
    email: String,
    /// When it was made (RFC 3339).
    created_at: String,
}

/// The account the access token belongs to.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "account",
    responses(
        (status = 200, description = "The caller's account", body = Me),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the rate limit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn me(CurrentUser(user): CurrentUser) -> Json<Me> {
    Json(Me {
        id: user.id,
        email: user.email,
        created_at: super::auth::rfc3339(user.created_at),
    })
}
