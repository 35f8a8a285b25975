//! Security headers on every response, the web app's and the API's
//! (issue 18): the browser is told to run only the relay's own scripts, to
//! frame nothing, to send no referrer, to sniff no content type, and (when
//! the relay is told it is behind TLS) to use nothing but HTTPS.
//!
//! The app's policy ([`APP_POLICY`]) allows exactly what the app does: its
//! own scripts and WebAssembly (`'wasm-unsafe-eval'` is what compiling wasm
//! needs, and no JavaScript `eval`), its own styles (no inline `style`
//! attributes: the app sets lengths through the CSSOM), images of its own
//! or `data:`, `fetch` and WebSocket to its own origin (`'self'` covers
//! `ws:`/`wss:` to the same host), its service worker and manifest. No
//! inline script runs, so an injected `<script>` is inert. Everything else
//! (JSON, problem+json, metrics) gets [`API_POLICY`], which allows nothing.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;

/// The Content-Security-Policy of the web app's files.
pub const APP_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' data:; connect-src 'self'; worker-src 'self'; \
manifest-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'self'; frame-ancestors 'none'";

/// The Content-Security-Policy of everything that is not the web app.
pub const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Browser features the app never uses, switched off for it and anything it embeds.
const PERMISSIONS_POLICY: &str = "accelerometer=(), camera=(), geolocation=(), gyroscope=(), \
magnetometer=(), microphone=(), payment=(), usb=(), interest-cohort=()";

/// Two years, as the HSTS preload list asks.
const HSTS: &str = "max-age=63072000";

/// The middleware: adds the headers a handler did not set itself (the web
/// app sets [`APP_POLICY`]; everything else gets [`API_POLICY`]).
pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, API_POLICY);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(
        HeaderName::from_static("permissions-policy"),
        PERMISSIONS_POLICY,
    );
    set(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    if state.config.behind_tls {
        set(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    response
}
