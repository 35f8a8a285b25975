//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of every HTTP route,
//! generated (utoipa) from the handlers' annotations and the wire types they
//! use, so it cannot drift from the code's types. `tests/api/openapi.rs`
//! checks that every route the relay serves is in it, and the other way round.

use std::sync::OnceLock;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::AppState;

/// The API's description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "LifeOS relay",
        description = "Accounts, the user's data (read, written, exported) and sync of a LifeOS relay. \
            Errors are RFC 9457 problem details. See docs/api.md for an overview with examples."
    ),
    paths(
        super::health::healthz,
        super::health::readyz,
        super::features::features,
        openapi_json,
        super::auth::register,
        super::auth::login,
        super::auth::refresh,
        super::auth::logout,
        super::auth::logout_all,
        super::auth::change_password,
        super::reset::request,
        super::reset::confirm,
        super::me::me,
        super::audit::audit,
        super::export::export,
        super::data::tasks,
        super::data::today,
        super::data::habits,
        super::data::checkins,
        super::data::expenses,
        super::data::monthly_report,
        super::write::create_task,
        super::write::update_task,
        super::write::check_in,
        super::write::create_expense,
        super::write::update_expense,
        super::sync::upgrade,
        super::metrics::metrics,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "account", description = "Registering, signing in, sessions, password reset, the audit log"),
        (name = "tasks", description = "GTD tasks"),
        (name = "today", description = "The daily planner"),
        (name = "habits", description = "Habits and their check-ins"),
        (name = "finance", description = "Expenses and the monthly report"),
        (name = "export", description = "Everything the user owns, as JSON or CSV"),
        (name = "sync", description = "The WebSocket sync protocol"),
        (name = "relay", description = "Health, readiness, metrics, feature flags, this document"),
    )
)]
pub struct ApiDoc;

/// Access tokens: `Authorization: Bearer <JWT>` from the auth endpoints.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The document as JSON, built once.
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
    })
}

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(openapi_json))
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "relay",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json")),
    security(())
)]
pub(super) async fn openapi_json() -> Response {
    let mut response = document().to_string().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
