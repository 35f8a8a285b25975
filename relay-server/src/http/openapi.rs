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
        super::mfa::verify,
        super::mfa::status,
        super::mfa::enrol,
        super::mfa::confirm,
        super::mfa::disable,
        super::sessions::list,
        super::sessions::end,
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
        super::sync::ticket,
        super::metrics::metrics,
    ),
    modifiers(&BearerAuth, &BodyErrors),
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

/// What every operation with a JSON body can answer before its handler
/// runs ([`super::extract::JsonBody`]): 400 for malformed JSON, 413 over
/// the relay's body limit, 415 without `application/json`. Added here once
/// rather than in each handler's list, so no operation can leave them out
/// (schemathesis found four that did). An operation that documents its own
/// 400 (another reason) keeps its description, with the malformed body added.
struct BodyErrors;

impl utoipa::Modify for BodyErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let problem = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/problem+json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("Problem")))
                            .build(),
                    )
                    .build(),
            )
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for operation in operations.into_iter().flatten() {
                if operation.request_body.is_none() {
                    continue;
                }
                let responses = &mut operation.responses.responses;
                match responses.get_mut("400") {
                    Some(RefOr::T(own)) => {
                        own.description =
                            format!("{}, or the body is not valid JSON", own.description);
                    }
                    _ => {
                        responses.insert("400".into(), problem("The body is not valid JSON"));
                    }
                }
                responses.insert(
                    "413".into(),
                    problem("The body is over the relay's limit (`LIFEOS_MAX_BODY_BYTES`)"),
                );
                responses.insert(
                    "415".into(),
                    problem("The body is not sent as `application/json`"),
                );
            }
        }
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
