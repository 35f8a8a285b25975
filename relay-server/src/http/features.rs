//! `GET /api/v1/features`: the feature flags in force, without authentication.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/features", get(features))
}

/// The feature flags.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Flags {
    /// Each flag and whether it is on.
    flags: BTreeMap<String, bool>,
}

/// The feature flags in force (`LIFEOS_FEATURE_*`); no token needed.
#[utoipa::path(
    get,
    path = "/api/v1/features",
    tag = "relay",
    responses((status = 200, description = "The feature flags in force", body = Flags)),
    security(())
)]
pub(super) async fn features(State(state): State<AppState>) -> Json<Flags> {
    Json(Flags {
        flags: state.features.all().clone(),
    })
}
