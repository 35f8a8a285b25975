//! The HTTP surface: one `router()` per feature module, merged here, sharing
//! one [`AppState`]. Unknown paths answer 404 as problem+json.

mod audit;
mod auth;
mod client_addr;
mod data;
mod export;
mod extract;
mod features;
mod health;
mod me;
mod metrics;
mod mfa;
pub mod openapi;
mod request_id;
mod reset;
pub mod security;
mod sessions;
mod sync;
mod write;

use std::sync::Arc;

use axum::Router;

use crate::auth::Credentials;
use crate::config::Config;
use crate::error::ApiError;
use crate::features::Features;
use crate::storage::Store;

/// What every handler may use. Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    /// The settings the relay started with.
    pub config: Arc<Config>,
    /// Feature flags.
    pub features: Arc<Features>,
    /// The database.
    pub store: Store,
    /// Password hashing and token keys.
    pub credentials: Arc<Credentials>,
    /// Login and password-reset attempt counters.
    pub login_limits: Arc<LoginLimits>,
    /// REST API request counters.
    pub api_limits: Arc<ApiLimits>,
    /// Where mail goes.
    pub mailer: Arc<crate::mail::Mailer>,
    /// The live sync service.
    pub sync: crate::sync::SyncHandle,
    /// The built web app, if any.
    pub web: Arc<crate::web::WebApp>,
    /// Counters for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// Attempts allowed: logins, 10 per email and 50 per client address per 15
/// minutes; password-reset requests, 5 per email and 20 per address per hour.
pub struct LoginLimits {
    /// Logins per email.
    pub per_email: crate::limits::Limiter,
    /// Logins per client address.
    pub per_ip: crate::limits::Limiter,
    /// Reset requests per email.
    pub reset_per_email: crate::limits::Limiter,
    /// Reset requests per client address.
    pub reset_per_ip: crate::limits::Limiter,
}

impl Default for LoginLimits {
    fn default() -> Self {
        use crate::limits::{Limit, Limiter};
        let quarter = std::time::Duration::from_secs(15 * 60);
        let hour = std::time::Duration::from_secs(3600);
        LoginLimits {
            per_email: Limiter::new(Limit {
                attempts: 10,
                window: quarter,
            }),
            per_ip: Limiter::new(Limit {
                attempts: 50,
                window: quarter,
            }),
            reset_per_email: Limiter::new(Limit {
                attempts: 5,
                window: hour,
            }),
            reset_per_ip: Limiter::new(Limit {
                attempts: 20,
                window: hour,
            }),
        }
    }
}

/// REST API requests per minute, per account and per client address
/// (`LIFEOS_API_RATE_PER_USER`, `LIFEOS_API_RATE_PER_IP`).
pub struct ApiLimits {
    /// Per account.
    pub per_user: crate::limits::Limiter,
    /// Per client address.
    pub per_ip: crate::limits::Limiter,
}

impl ApiLimits {
    /// The limits `config` sets.
    pub fn from_config(config: &Config) -> Self {
        use crate::limits::{Limit, Limiter};
        let minute = std::time::Duration::from_secs(60);
        ApiLimits {
            per_user: Limiter::new(Limit {
                attempts: config.api_rate_per_user,
                window: minute,
            }),
            per_ip: Limiter::new(Limit {
                attempts: config.api_rate_per_ip,
                window: minute,
            }),
        }
    }
}

/// Counts a REST API request against its address and, when it carries a
/// valid token, its account: 429 with `Retry-After` over either limit.
async fn rate_limit(
    axum::extract::State(state): axum::extract::State<AppState>,
    axum::extract::ConnectInfo(client): axum::extract::ConnectInfo<std::net::SocketAddr>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let now = std::time::Instant::now();
    let limits = &state.api_limits;
    let mut verdict = limits.per_ip.attempt(&[client.ip().to_string()], now);
    if let Some(claims) =
        extract::bearer(request.headers()).and_then(|t| state.credentials.verify(t))
    {
        let user = limits.per_user.attempt(&[claims.user.to_string()], now);
        verdict = match (verdict, user) {
            (Err(a), Err(b)) => Err(a.max(b)),
            (Err(a), _) | (_, Err(a)) => Err(a),
            _ => Ok(()),
        };
    }
    match verdict {
        Ok(()) => next.run(request).await,
        Err(wait) => ApiError::TooManyRequests(wait.as_secs().max(1)).into_response(),
    }
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(features::router())
        .merge(openapi::router())
        .merge(auth::router())
        .merge(mfa::router())
        .merge(
            // The REST API that scripts and tools call: rate limited.
            Router::new()
                .merge(me::router())
                .merge(sessions::router())
                .merge(audit::router())
                .merge(export::router())
                .merge(data::router())
                .merge(write::router())
                .route_layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    rate_limit,
                )),
        )
        .merge(reset::router())
        .merge(sync::router())
        .merge(metrics::router())
        // Everything else: the web app's files (GET and HEAD), else 404.
        .fallback(web_app)
        // Every body is bounded (routes may set a lower limit of their own).
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.max_body_bytes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::count_auth_failures,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            client_addr::layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            security::layer,
        ))
        .layer(axum::middleware::from_fn(request_id::layer))
        .with_state(state)
}

async fn web_app(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let method = request.method();
    if method == axum::http::Method::GET || method == axum::http::Method::HEAD {
        state.web.respond(request).await
    } else {
        ApiError::NotFound.into_response()
    }
}
