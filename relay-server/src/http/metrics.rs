//! `GET /metrics` (Prometheus, OpenMetrics text), present only when
//! `LIFEOS_METRICS_TOKEN` is set and answered only to that bearer token;
//! and the layer that counts refused authentications for it.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{AppState, extract};
use crate::error::ApiError;
use crate::metrics::AuthKind;

/// The route: 404 unless metrics are turned on (and never the web app's page).
pub(super) fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics))
}

/// Prometheus metrics in the OpenMetrics text format: connections, active
/// documents, messages, persist and fan-out latency, refused
/// authentications, database connections. Only when the relay runs with
/// `LIFEOS_METRICS_TOKEN`, and only to that token.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "relay",
    responses(
        (status = 200, description = "The metrics", content_type = "application/openmetrics-text", body = String),
        (status = 401, description = "No or another token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "Metrics are off (no `LIFEOS_METRICS_TOKEN`)", body = crate::error::Problem, content_type = "application/problem+json"),
    ),
    security(("metrics_token" = []))
)]
pub(super) async fn metrics(State(state): State<AppState>, request: Request) -> Response {
    let Some(expected) = state.config.metrics_token.as_deref() else {
        return ApiError::NotFound.into_response();
    };
    let presented = extract::bearer(request.headers()).unwrap_or_default();
    // Compared as SHA-256 digests in constant time: neither the token's
    // length nor how much of it matched shows in the timing.
    let matches: bool = Sha256::digest(presented.as_bytes())
        .ct_eq(&Sha256::digest(expected.as_bytes()))
        .into();
    if !matches {
        return ApiError::Unauthorized("a valid metrics token is required").into_response();
    }
    let body = state.metrics.render(&state.sync, &state.store).await;
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Counts every 401 the relay answers, by what was refused.
pub(super) async fn count_auth_failures(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let kind = match request.uri().path() {
        "/api/v1/auth/login" => AuthKind::Login,
        "/api/v1/auth/refresh" => AuthKind::Refresh,
        "/api/v1/sync" => AuthKind::Sync,
        "/metrics" => AuthKind::Metrics,
        _ => AuthKind::Token,
    };
    let response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        state.metrics.auth_failed(kind);
    }
    response
}
