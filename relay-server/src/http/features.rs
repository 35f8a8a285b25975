//! `GET /api/v1/features`: the feature flags in force, without authentication.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/features", get(features))
}

async fn features(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "flags": state.features.all() }))
}
