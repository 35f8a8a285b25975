//! The HTTP surface: one `router()` per feature module, merged here, sharing
//! one [`AppState`]. Unknown paths answer 404 as problem+json.

mod audit;
mod auth;
mod data;
mod export;
mod extract;
mod features;
mod health;
mod me;
mod request_id;
mod reset;
mod sync;

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
    /// Where mail goes.
    pub mailer: Arc<crate::mail::Mailer>,
    /// The live sync service.
    pub sync: crate::sync::SyncHandle,
    /// The built web app, if any.
    pub web: Arc<crate::web::WebApp>,
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

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(features::router())
        .merge(auth::router())
        .merge(me::router())
        .merge(audit::router())
        .merge(export::router())
        .merge(data::router())
        .merge(reset::router())
        .merge(sync::router())
        // Everything else: the web app's files (GET and HEAD), else 404.
        .fallback(web_app)
        // Every body is bounded (routes may set a lower limit of their own).
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.max_body_bytes,
        ))
        .layer(axum::middleware::from_fn(request_id::layer))
        .with_state(state)
}

async fn web_app(
    axum::extract::State(state): axum::extract::State<AppState>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if method == axum::http::Method::GET || method == axum::http::Method::HEAD {
        state.web.respond(uri.path(), &headers)
    } else {
        ApiError::NotFound.into_response()
    }
}
