//! `GET /api/v1/sync`: the WebSocket upgrade. Authority comes as
//! `?ticket=` (what the web app uses: a single-use ticket from `POST
//! /api/v1/sync/ticket`, valid 30 s, so no access token is ever in a URL that
//! a browser console or a proxy log shows), as `?token=` (automerge-repo
//! clients, which cannot set headers) or as `Authorization: Bearer`; without
//! a valid one the answer is 401 and there is no upgrade. The connection is
//! then bound to that user, session and token expiry. The relay logs paths
//! only, never query strings.

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::now_millis;
use super::extract::{authenticate, bearer};
use crate::auth::{hash_refresh_token, new_token};
use crate::error::{ApiError, Problem};
use crate::storage::Storage;
use crate::storage::security::{SecurityStore, SyncTicket};
use crate::sync::SyncSettings;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sync", get(upgrade))
        .route("/api/v1/sync/ticket", post(ticket))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SyncQuery {
    /// A sync ticket (`POST /api/v1/sync/ticket`): single use, 30 seconds.
    ticket: Option<String>,
    /// An access token (for clients that cannot set `Authorization`).
    token: Option<String>,
}

/// How long a sync ticket is good for.
const TICKET_SECS: i64 = 30;

/// A single-use ticket for one sync connection.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Ticket {
    /// Pass as `?ticket=` to `GET /api/v1/sync`, once.
    ticket: String,
    /// Seconds it stays valid.
    expires_in: i64,
}

/// A ticket for one sync connection, so the access token stays out of the
/// WebSocket's URL. It carries the authority of the access token it was made
/// with (its session and expiry) and works once, within 30 seconds.
#[utoipa::path(
    post,
    path = "/api/v1/sync/ticket",
    operation_id = "sync_ticket",
    tag = "sync",
    responses(
        (status = 200, description = "A ticket for one `GET /api/v1/sync?ticket=`", body = Ticket),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn ticket(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Ticket>, ApiError> {
    let token =
        bearer(&headers).ok_or(ApiError::Unauthorized("a valid access token is required"))?;
    let (user, claims) = authenticate(&state, token).await?;
    let (ticket, hash) = new_token::<32>();
    let now = now_millis();
    let grants = SyncTicket {
        user: user.id,
        generation: claims.generation,
        session: claims.session,
        token_expires_at: claims.expires_at,
    };
    state
        .store
        .create_sync_ticket(hash, grants, now, now + TICKET_SECS * 1000)
        .await?;
    Ok(Json(Ticket {
        ticket,
        expires_in: TICKET_SECS,
    }))
}

/// The user, generation, session and token expiry a ticket grants, checked
/// as an access token is: the account enabled, the generation current, the
/// session alive, the token it came from unexpired.
async fn redeem(
    state: &AppState,
    ticket: &str,
) -> Result<(Uuid, i64, Option<Uuid>, i64), ApiError> {
    const DEAD: ApiError = ApiError::Unauthorized("the sync ticket is unknown, used or expired");
    let now = now_millis();
    let grants = state
        .store
        .take_sync_ticket(hash_refresh_token(ticket), now)
        .await?
        .ok_or(DEAD)?;
    let user = match state.store.user_by_id(grants.user).await? {
        Some(user) if !user.disabled && user.session_epoch == grants.generation => user,
        _ => return Err(DEAD),
    };
    if grants.token_expires_at * 1000 <= now {
        return Err(DEAD);
    }
    if let Some(session) = grants.session
        && !state.store.session_alive(user.id, session, now).await?
    {
        return Err(DEAD);
    }
    Ok((
        user.id,
        grants.generation,
        grants.session,
        grants.token_expires_at,
    ))
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
        "a valid sync ticket or access token is required (?ticket=, ?token= or Authorization: Bearer)",
    );
    let query = query.ok().map(|Query(q)| q);
    let ws = ws.map_err(|e| ApiError::BadRequest(format!("not a WebSocket upgrade: {e}")))?;
    let (user, generation, session, expires_at) =
        match query.as_ref().and_then(|q| q.ticket.as_deref()) {
            Some(ticket) => redeem(&state, ticket).await?,
            None => {
                let token = query
                    .as_ref()
                    .and_then(|q| q.token.as_deref())
                    .or_else(|| bearer(&headers))
                    .ok_or(UNAUTHORIZED)?;
                let (user, claims) = authenticate(&state, token).await?;
                (
                    user.id,
                    claims.generation,
                    claims.session,
                    claims.expires_at,
                )
            }
        };
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
                socket, sync, settings, user, generation, session, expires_at,
            )
        })
        .into_response())
}
