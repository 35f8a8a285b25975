//! Extractors whose failures are problem+json like every other error: a JSON
//! body ([`JsonBody`]) and the caller's identity from a bearer token ([`CurrentUser`]).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use crate::error::ApiError;
use crate::storage::{Storage, UserRecord};

/// A JSON request body; malformed JSON is 400, a wrong content type 415, too large 413.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(JsonBody(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::UnsupportedMediaType(
                "send the body as application/json".into(),
            )),
            Err(JsonRejection::BytesRejection(r))
                if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(ApiError::PayloadTooLarge)
            }
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

/// The account behind a valid `Authorization: Bearer` access token. Tokens of
/// deleted or disabled accounts are refused like invalid ones.
pub struct CurrentUser(pub UserRecord);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        const UNAUTHORIZED: ApiError = ApiError::Unauthorized("a valid access token is required");
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(UNAUTHORIZED)?;
        let token = header.strip_prefix("Bearer ").ok_or(UNAUTHORIZED)?;
        let id = state
            .credentials
            .user_of(token.trim())
            .ok_or(UNAUTHORIZED)?;
        match state.store.user_by_id(id).await? {
            Some(user) if !user.disabled => Ok(CurrentUser(user)),
            _ => Err(UNAUTHORIZED),
        }
    }
}
