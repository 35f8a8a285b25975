//! Extractors whose failures are problem+json like every other error: a JSON
//! body ([`JsonBody`]) and the caller's identity from a bearer token ([`CurrentUser`]).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::AppState;
use crate::auth::AccessClaims;
use crate::error::ApiError;
use crate::storage::security::SecurityStore;
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
            // Well-formed JSON of the wrong shape (a missing or unknown
            // field, a wrong type): axum's text starts with the field's path.
            Err(JsonRejection::JsonDataError(e)) => {
                let text = e.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize the JSON body into the target type: ")
                    .unwrap_or(&text)
                    .to_string();
                let field = detail
                    .split_once(": ")
                    .map(|(path, _)| path)
                    .filter(|p| !p.contains(' '))
                    .or_else(|| detail.split('`').nth(1))
                    .unwrap_or("body")
                    .to_string();
                Err(ApiError::Unprocessable {
                    field: field.into(),
                    detail,
                })
            }
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

/// The account behind a valid `Authorization: Bearer` access token. Tokens of
/// deleted or disabled accounts, and tokens of an ended session generation,
/// are refused like invalid ones.
pub struct CurrentUser(pub UserRecord);

const UNAUTHORIZED: ApiError = ApiError::Unauthorized("a valid access token is required");

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers).ok_or(UNAUTHORIZED)?;
        let (user, _) = authenticate(state, token).await?;
        Ok(CurrentUser(user))
    }
}

/// [`CurrentUser`] and the session its access token belongs to (`None`
/// only for tokens issued before sessions were listed).
pub struct CurrentSession {
    /// The account.
    pub user: UserRecord,
    /// The session.
    pub session: Option<uuid::Uuid>,
}

impl FromRequestParts<AppState> for CurrentSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers).ok_or(UNAUTHORIZED)?;
        let (user, claims) = authenticate(state, token).await?;
        Ok(CurrentSession {
            user,
            session: claims.session,
        })
    }
}

/// The token of an `Authorization: Bearer` header.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Checks an access token against the account it names: it must exist, be
/// enabled and still be in the token's session generation, and its
/// session must not have ended (signed out, or ended from another device).
pub async fn authenticate(
    state: &AppState,
    token: &str,
) -> Result<(UserRecord, AccessClaims), ApiError> {
    let claims = state.credentials.verify(token).ok_or(UNAUTHORIZED)?;
    let user = match state.store.user_by_id(claims.user).await? {
        Some(user) if !user.disabled && user.session_epoch == claims.generation => user,
        _ => return Err(UNAUTHORIZED),
    };
    if let Some(session) = claims.session {
        let now = super::auth::now_millis();
        if !state.store.session_alive(user.id, session, now).await? {
            return Err(UNAUTHORIZED);
        }
    }
    Ok((user, claims))
}
