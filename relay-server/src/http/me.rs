//! `GET /api/v1/me`: the caller's account.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::extract::CurrentUser;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/me", get(me))
}

async fn me(CurrentUser(user): CurrentUser) -> Json<Value> {
    Json(
        json!({ "id": user.id, "email": user.email, "created_at": super::auth::rfc3339(user.created_at) }),
    )
}
