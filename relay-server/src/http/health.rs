//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use crate::error::ApiError;
use crate::storage::{Storage, StorageError};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    match state.store.ping().await {
        Ok(()) => Ok(Json(
            json!({ "status": "ready", "database": state.store.backend() }),
        )),
        Err(StorageError::Unavailable(cause)) => {
            tracing::warn!(%cause, "readiness check: database unavailable");
            Err(ApiError::Unavailable)
        }
        Err(cause @ (StorageError::Other(_) | StorageError::NotOwner)) => {
            tracing::error!(%cause, "readiness check failed");
            Err(ApiError::Unavailable)
        }
    }
}
