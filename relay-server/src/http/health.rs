//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;
use crate::error::{ApiError, Problem};
use crate::storage::{Storage, StorageError};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// How the relay is.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Health {
    /// `ok` (the process answers) or `ready` (the database answers too).
    status: &'static str,
    /// For `/readyz`: `sqlite` or `postgres`.
    #[serde(skip_serializing_if = "Option::is_none")]
    database: Option<&'static str>,
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "relay",
    responses((status = 200, description = "The process answers", body = Health)),
    security(())
)]
pub(super) async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        database: None,
    })
}

/// Readiness: the database answers too.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "relay",
    responses(
        (status = 200, description = "The database answers: ready for traffic", body = Health),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
pub(super) async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    match state.store.ping().await {
        Ok(()) => Ok(Json(Health {
            status: "ready",
            database: Some(state.store.backend()),
        })),
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
