//! The HTTP surface: one `router()` per feature module, merged here, sharing
//! one [`AppState`]. Unknown paths answer 404 as problem+json.

mod auth;
mod extract;
mod features;
mod health;
mod me;

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
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(features::router())
        .merge(auth::router())
        .merge(me::router())
        .fallback(|| async { ApiError::NotFound })
        .with_state(state)
}
