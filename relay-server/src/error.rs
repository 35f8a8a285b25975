//! The relay's errors: [`ApiError`] for HTTP answers (rendered as
//! `application/problem+json`, one status per variant, decided here only) and
//! [`StartupError`] for what stops the relay from starting.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Why the relay cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A setting is wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// The database cannot be opened or migrated.
    #[error("database: {0}")]
    Database(String),
    /// A backup or restore failed (nothing was changed).
    #[error("{0}")]
    Backup(String),
    /// Listening or serving failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
}

/// An answer other than success, as the API's clients see it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Nothing here (or nothing the caller may know about).
    #[error("not found")]
    NotFound,
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// No valid credentials (the same answer whatever was wrong with them).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Not allowed here.
    #[error("{0}")]
    Forbidden(&'static str),
    /// Conflicts with what exists.
    #[error("{0}")]
    Conflict(&'static str),
    /// A field's value breaks a rule.
    #[error("{field}: {detail}")]
    Unprocessable {
        /// The field, as named in the request.
        field: std::borrow::Cow<'static, str>,
        /// Why.
        detail: String,
    },
    /// The body is not JSON (`Content-Type` must be `application/json`).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Too many attempts; try again after this many seconds.
    #[error("too many attempts; try again in {0} seconds")]
    TooManyRequests(u64),
    /// The body is larger than this endpoint accepts.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// The database does not answer; try again later.
    #[error("the service is temporarily unavailable")]
    Unavailable,
    /// Something broke inside the relay. The cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

/// RFC 9457 problem details: every error the API answers
/// (`application/problem+json`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[serde(rename = "type")]
    kind: &'a str,
    /// The status's reason phrase.
    title: &'a str,
    /// The HTTP status.
    status: u16,
    /// What went wrong, naming the parameter or field at fault.
    detail: String,
    /// For 422: the request field that is invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    /// The HTTP status of each variant: the one place that decides it.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<crate::storage::StorageError> for ApiError {
    fn from(e: crate::storage::StorageError) -> Self {
        match e {
            crate::storage::StorageError::Unavailable(_) => ApiError::Unavailable,
            crate::storage::StorageError::Other(cause) => ApiError::Internal(cause),
            crate::storage::StorageError::NotOwner => ApiError::Forbidden("not your document"),
        }
    }
}

/// A failed read of the user's documents: a storage failure answers as that
/// storage failure does (503 when the database is down), a document that
/// does not load is the relay's problem (500).
impl From<lifeos_export::SourceError> for ApiError {
    fn from(e: lifeos_export::SourceError) -> Self {
        match e {
            lifeos_export::SourceError::Storage(cause) => {
                match cause.downcast::<crate::storage::StorageError>() {
                    Ok(storage) => (*storage).into(),
                    Err(other) => ApiError::Internal(other.to_string()),
                }
            }
            corrupt @ lifeos_export::SourceError::Corrupt { .. } => {
                ApiError::Internal(corrupt.to_string())
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            // 5xx bodies never carry internal text; the cause goes to the log.
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                "something went wrong on the server; it has been logged".to_string()
            }
            ApiError::Unavailable => {
                tracing::warn!("database unavailable");
                self.to_string()
            }
            other => other.to_string(),
        };
        let problem = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail,
            field: match &self {
                ApiError::Unprocessable { field, .. } => Some(field.as_ref()),
                _ => None,
            },
        };
        let mut response = (status, axum::Json(problem)).into_response();
        if let ApiError::TooManyRequests(seconds) = &self
            && let Ok(v) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use lifeos_core::DocumentId;
    use lifeos_export::SourceError;

    use super::ApiError;
    use crate::storage::StorageError;

    /// `lifeos-export` carries the relay's storage failure boxed; the
    /// answer must still be the one that failure gets on its own.
    #[test]
    fn a_failed_read_answers_as_its_cause() {
        let down = SourceError::from(StorageError::Unavailable("gone".into()));
        assert_eq!(
            ApiError::from(down).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let other = SourceError::from(StorageError::Other("broken".into()));
        assert_eq!(
            ApiError::from(other).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let corrupt = SourceError::Corrupt {
            document: DocumentId::generate(),
            reason: "not automerge".into(),
        };
        assert_eq!(
            ApiError::from(corrupt).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
