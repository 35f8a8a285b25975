//! `GET /api/v1/sync`: the WebSocket upgrade. The access token comes as
//! `?token=` (browsers and the automerge-repo client adapter cannot set
//! headers) or as `Authorization: Bearer`; without a valid one the answer is
//! 401 and there is no upgrade. The connection is then bound to that user.

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::AppState;
use super::extract::{authenticate, bearer};
use crate::error::{ApiError, Problem};
use crate::sync::SyncSettings;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/sync", get(upgrade))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SyncQuery {
    /// An access token (for clients that cannot set `Authorization`).
    token: Option<String>,
}

/// Bytes read from a connection's socket at a time.
const READ_BUFFER: usize = 2 * 1024;

/// The sync protocol over a WebSocket: automerge-repo's messages in CBOR
/// (docs/protocol.md). Send `Upgrade: websocket`.
#[utoipa::path(
    get,
    path = "/api/v1/sync",
    tag = "sync",
    params(SyncQuery),
    responses(
        (status = 101, description = "Switching to the WebSocket sync protocol"),
        (status = 400, description = "Not a WebSocket upgrade", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ())
)]
pub(super) async fn upgrade(
    State(state): State<AppState>,
    query: Result<Query<SyncQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    const UNAUTHORIZED: ApiError = ApiError::Unauthorized(
        "a valid access token is required (?token= or Authorization: Bearer)",
    );
    let from_query = query.ok().and_then(|Query(q)| q.token);
    let token = from_query
        .as_deref()
        .or_else(|| bearer(&headers))
        .ok_or(UNAUTHORIZED)?;
    let (user, claims) = authenticate(&state, token).await?;
    let ws = ws.map_err(|e| ApiError::BadRequest(format!("not a WebSocket upgrade: {e}")))?;
    let settings = SyncSettings::from_config(&state.config);
    let sync = state.sync.clone();
    Ok(ws
        .max_frame_size(settings.max_frame)
        .max_message_size(settings.max_frame)
        // tungstenite's default 128 KiB read buffer is allocated up front for
        // every connection: 10,000 idle devices cost 1.3 GB before anything
        // was said. Reads in 2 KiB steps (a larger message still arrives
        // whole, bounded by max_message_size), and frames are written out
        // at once instead of collecting up to 128 KiB.
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .on_upgrade(move |socket| {
            crate::sync::run_connection(
                socket,
                sync,
                settings,
                user.id,
                claims.generation,
                claims.session,
                claims.expires_at,
            )
        })
        .into_response())
}
