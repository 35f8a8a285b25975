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

/// How long readiness waits for the database. A stopped PostgreSQL would
/// otherwise hold the check for the pool's whole acquire timeout (3 s),
/// longer than load balancers wait, which then see a timeout, not a 503.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(1);

/// Readiness: the database answers too (within a second).
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
    let Ok(answer) = tokio::time::timeout(READY_WITHIN, state.store.ping()).await else {
        tracing::warn!(
            within_ms = READY_WITHIN.as_millis() as u64,
            "readiness check: the database did not answer in time"
        );
        return Err(ApiError::Unavailable);
    };
    match answer {
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
