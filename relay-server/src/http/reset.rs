//! Password reset: request a token by mail, confirm it with a new password.
//! The request answers 202 whether or not the account exists; the token is
//! single-use and valid for one hour; confirming revokes every refresh token
//! of the account (CONTRACT.md).

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::extract::JsonBody;
use crate::auth::{hash_refresh_token, new_reset_token, normalize_email, password_problem};
use crate::error::{ApiError, Problem};
use crate::mail::Mail;
use crate::storage::Storage;

/// How long a reset token is valid, in milliseconds.
const RESET_TOKEN_MILLIS: i64 = 3600 * 1000;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/password-reset/request", post(request))
        .route("/api/v1/auth/password-reset/confirm", post(confirm))
        .layer(DefaultBodyLimit::max(16 * 1024))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RequestBody {
    email: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfirmBody {
    /// The token from the mail.
    token: String,
    /// At least 10 characters, at most 1024 bytes of UTF-8.
    #[schema(min_length = 10)]
    new_password: String,
}

/// Mails a password-reset token, if the email has an account (the answer is the same either way).
#[utoipa::path(
    post,
    path = "/api/v1/auth/password-reset/request",
    tag = "account",
    request_body = RequestBody,
    responses(
        (status = 202, description = "Accepted, whether or not the email has an account; a single-use token valid one hour is mailed"),
        (status = 422, description = "A malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
pub(super) async fn request(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<RequestBody>,
) -> Result<StatusCode, ApiError> {
    let now = std::time::Instant::now();
    let email_key = format!("reset:{}", body.email.trim().to_lowercase());
    let limited = state
        .login_limits
        .reset_per_email
        .attempt(std::slice::from_ref(&email_key), now)
        .and(
            state
                .login_limits
                .reset_per_ip
                .attempt(&[format!("reset-ip:{}", client.ip())], now),
        );
    if let Err(wait) = limited {
        return Err(ApiError::TooManyRequests(wait.as_secs().max(1)));
    }
    let Some(email) = normalize_email(&body.email) else {
        return Ok(StatusCode::ACCEPTED);
    };
    let Some(user) = state
        .store
        .user_by_email(&email)
        .await?
        .filter(|u| !u.disabled)
    else {
        return Ok(StatusCode::ACCEPTED);
    };
    // Stored only as its hash, like a refresh token.
    let (token, hash) = new_reset_token();
    let millis = super::auth::now_millis();
    state
        .store
        .create_password_reset(hash, user.id, millis, millis + RESET_TOKEN_MILLIS)
        .await?;
    state
        .store
        .record_audit(
            Some(user.id),
            "password_reset_requested",
            millis,
            Some(&client.ip().to_string()),
            &json!({}),
        )
        .await?;
    let body = format!(
        "Someone asked to reset the password of your LifeOS account.\n\nReset token: {token}\n\nThe token works once, within one hour. If you did not ask for\nthis, ignore this mail: your password stays as it is.\n"
    );
    state
        .mailer
        .send(Mail {
            to: &user.email,
            subject: "Reset your LifeOS password",
            body,
        })
        .await;
    Ok(StatusCode::ACCEPTED)
}

/// Sets a new password with a reset token.
#[utoipa::path(
    post,
    path = "/api/v1/auth/password-reset/confirm",
    tag = "account",
    request_body = ConfirmBody,
    responses(
        (status = 204, description = "The password is reset; every session and live sync connection of the account ends"),
        (status = 400, description = "The token is unknown, used or expired", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The new password is weak", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
pub(super) async fn confirm(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<ConfirmBody>,
) -> Result<StatusCode, ApiError> {
    if let Some(problem) = password_problem(&body.new_password) {
        return Err(ApiError::Unprocessable {
            field: "new_password".into(),
            detail: problem,
        });
    }
    let password = body.new_password;
    let password_hash = state
        .credentials
        .password_work(move |c| c.hash_password(&password))
        .await
        .map_err(ApiError::Internal)?
        .map_err(ApiError::Internal)?;
    let millis = super::auth::now_millis();
    let user = state
        .store
        .reset_password(
            hash_refresh_token(body.token.trim()),
            &password_hash,
            millis,
        )
        .await?
        .ok_or(ApiError::BadRequest(
            "the reset token is not valid (unknown, used or expired)".into(),
        ))?;
    state
        .store
        .record_audit(
            Some(user),
            "password_reset",
            millis,
            Some(&client.ip().to_string()),
            &json!({}),
        )
        .await?;
    state.sync.close_user(user).await;
    tracing::info!(%user, "password reset; every session of the account ended");
    Ok(StatusCode::NO_CONTENT)
}
