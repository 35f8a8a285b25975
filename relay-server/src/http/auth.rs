//! Registration, login, token refresh and logout (CONTRACT.md, HTTP).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::AppState;
use super::extract::{CurrentUser, JsonBody};
use crate::auth::{
    ACCESS_TOKEN_SECONDS, REFRESH_TOKEN_MILLIS, hash_refresh_token, new_refresh_token,
    normalize_email, password_problem,
};
use crate::error::{ApiError, Problem};
use crate::storage::security::{SecurityStore, SessionRecord};
use crate::storage::{DocumentStore, RefreshOutcome, Storage, UserRecord};

/// Auth bodies are small; anything bigger is refused before parsing.
const BODY_LIMIT: usize = 16 * 1024;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/register", post(register))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/logout-all", post(logout_all))
        .route("/api/v1/auth/password", post(change_password))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Credentials {
    /// An address with a dotted domain, at most 254 characters; compared
    /// without case and surrounding spaces.
    #[schema(
        pattern = r"^\s*[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f.][^@\s\x00-\x1f\x7f-\x9f]*\.[^@\s\x00-\x1f\x7f-\x9f]*[^@\s\x00-\x1f\x7f-\x9f.]\s*$",
        max_length = 254
    )]
    email: String,
    /// At least 10 characters, at most 1024 bytes of UTF-8.
    #[schema(min_length = 10)]
    password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RefreshBody {
    refresh_token: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordChange {
    current_password: String,
    /// At least 10 characters, at most 1024 bytes of UTF-8.
    #[schema(min_length = 10)]
    new_password: String,
}

/// What a login answers: tokens, or (for an account with a second factor)
/// the token of the second step.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(super) enum LoginAnswer {
    /// Signed in.
    Tokens(TokenPair),
    /// The password was right; a code is due (`POST /api/v1/auth/mfa/verify`).
    SecondFactor(super::mfa::MfaRequired),
}

/// Who is signing in from where, as the session list and the audit log show it.
pub(super) struct Client {
    /// The client's address (after trusted proxies).
    pub ip: String,
    /// The device's `User-Agent`, at most 256 characters.
    pub user_agent: Option<String>,
}

impl Client {
    /// The client of a request from `address` with `headers`.
    pub fn of(address: SocketAddr, headers: &HeaderMap) -> Client {
        let user_agent = headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(256)
                    .collect::<String>()
            })
            .filter(|ua| !ua.trim().is_empty());
        Client {
            ip: address.ip().to_string(),
            user_agent,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct UserRef {
    id: Uuid,
    email: String,
}

/// `TokenPair` in CONTRACT.md.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct TokenPair {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: i64,
    user: UserRef,
}

const WRONG_CREDENTIALS: ApiError = ApiError::Unauthorized("wrong email or password");
const BAD_REFRESH: ApiError = ApiError::Unauthorized("the refresh token is not valid");

/// Creates an account and signs it in.
#[utoipa::path(
    post,
    path = "/api/v1/auth/register",
    tag = "account",
    request_body = Credentials,
    responses(
        (status = 201, description = "The account is made; a token pair", body = TokenPair),
        (status = 403, description = "Sign-ups are closed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The email is taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An invalid email, a weak password (fewer than 10 characters), or a malformed body", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
pub(super) async fn register(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<(StatusCode, Json<TokenPair>), ApiError> {
    if !state.config.signups_allowed {
        return Err(ApiError::Forbidden(
            "this relay does not accept new accounts",
        ));
    }
    let email = normalize_email(&body.email).ok_or(ApiError::Unprocessable {
        field: "email".into(),
        detail: "not a valid email address".into(),
    })?;
    if let Some(problem) = password_problem(&body.password) {
        return Err(ApiError::Unprocessable {
            field: "password".into(),
            detail: problem,
        });
    }
    let password = body.password;
    let hash = state
        .credentials
        .password_work(move |c| c.hash_password(&password))
        .await
        .map_err(ApiError::Internal)?
        .map_err(ApiError::Internal)?;
    let user = UserRecord {
        id: Uuid::new_v4(),
        email,
        password_hash: hash,
        created_at: now_millis(),
        disabled: false,
        session_epoch: 0,
    };
    if !state.store.create_user(&user).await? {
        return Err(ApiError::Conflict(
            "an account with this email already exists",
        ));
    }
    // The root document's id derives from the account id: reserve it now so
    // that nobody else can claim it before the user's first device syncs.
    state
        .store
        .reserve_document(
            lifeos_core::DocumentId::root_of_user(&user.id),
            user.id,
            user.created_at,
        )
        .await?;
    tracing::info!(user = %user.id, "account registered");
    audit(&state, Some(user.id), "register", client, json!({})).await?;
    Ok((
        StatusCode::CREATED,
        Json(issue_tokens(&state, &user, &Client::of(client, &headers)).await?),
    ))
}

/// Signs in with email and password.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "account",
    request_body = Credentials,
    responses(
        (status = 200, description = "A token pair; or, for an account with a second factor, `mfa_required` and the token of the second step (`POST /api/v1/auth/mfa/verify`) and no tokens", body = LoginAnswer),
        (status = 401, description = "Wrong email or password (the same answer for both, with or without a second factor)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts (see `Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
pub(super) async fn login(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Credentials>,
) -> Result<Json<LoginAnswer>, ApiError> {
    // Counted before checking the password, so that while an email or an
    // address is limited even the right password is refused: nothing to probe.
    let email_key = format!("email:{}", body.email.trim().to_lowercase());
    password_attempt(&state, &email_key, client)?;
    let user = match normalize_email(&body.email) {
        Some(email) => state.store.user_by_email(&email).await?,
        None => None,
    };
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let password = body.password;
    // Unknown emails verify against a decoy hash: same work, same answer.
    let ok = state
        .credentials
        .password_work(move |c| c.verify_password(&password, stored_hash.as_deref()))
        .await
        .map_err(ApiError::Internal)?;
    match user {
        Some(user) if ok && !user.disabled => {
            // Only now, with the password right, does the answer say
            // whether the account has a second factor.
            if state
                .store
                .totp(user.id)
                .await?
                .is_some_and(|t| t.confirmed)
            {
                let required = super::mfa::challenge(&state, &user).await?;
                audit(
                    &state,
                    Some(user.id),
                    "login_second_factor_required",
                    client,
                    json!({}),
                )
                .await?;
                return Ok(Json(LoginAnswer::SecondFactor(required)));
            }
            state.login_limits.per_email.reset(&email_key);
            audit(&state, Some(user.id), "login", client, json!({})).await?;
            Ok(Json(LoginAnswer::Tokens(
                issue_tokens(&state, &user, &Client::of(client, &headers)).await?,
            )))
        }
        user => {
            // Failures against an existing account go to that account's log.
            audit(
                &state,
                user.map(|u| u.id),
                "login_failed",
                client,
                json!({}),
            )
            .await?;
            Err(WRONG_CREDENTIALS)
        }
    }
}

/// Trades a refresh token for a new token pair (the old one stops working; presenting it again ends its whole login).
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "account",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "A new token pair; the old refresh token stops working", body = TokenPair),
        (status = 401, description = "The refresh token is not valid (a reused one ends its whole login)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed body", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
pub(super) async fn refresh(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<Json<TokenPair>, ApiError> {
    let (token, hash) = new_refresh_token();
    let now = now_millis();
    match state
        .store
        .rotate_refresh_token(
            hash_refresh_token(&body.refresh_token),
            hash,
            now,
            now + REFRESH_TOKEN_MILLIS,
        )
        .await?
    {
        RefreshOutcome::Rotated { user, session } => {
            let user = match state.store.user_by_id(user).await? {
                Some(u) if !u.disabled => u,
                _ => return Err(BAD_REFRESH),
            };
            let seen = Client::of(client, &headers);
            state
                .store
                .touch_session(session, now, seen.user_agent, Some(seen.ip))
                .await?;
            let access_token = state
                .credentials
                .access_token(user.id, user.session_epoch, session, now / 1000)
                .map_err(ApiError::Internal)?;
            Ok(Json(TokenPair {
                access_token,
                refresh_token: token,
                token_type: "Bearer",
                expires_in: ACCESS_TOKEN_SECONDS,
                user: UserRef {
                    id: user.id,
                    email: user.email,
                },
            }))
        }
        RefreshOutcome::Reused { user } => {
            tracing::warn!(%user, "refresh token reused: every token of that login revoked");
            audit(
                &state,
                Some(user),
                "refresh_token_reused",
                client,
                json!({ "revoked": "login" }),
            )
            .await?;
            Err(BAD_REFRESH)
        }
        RefreshOutcome::Invalid => Err(BAD_REFRESH),
    }
}

/// Ends the login of a refresh token.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "account",
    request_body = RefreshBody,
    responses(
        (status = 204, description = "The refresh token and its login are ended"),
        (status = 422, description = "A malformed body", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
pub(super) async fn logout(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<StatusCode, ApiError> {
    let user = state
        .store
        .revoke_refresh_family(hash_refresh_token(&body.refresh_token), now_millis())
        .await?;
    if let Some(user) = user {
        audit(&state, Some(user), "logout", client, json!({})).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of the caller: all refresh tokens, all access tokens
/// and every live sync connection, on every device.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout-all",
    tag = "account",
    responses(
        (status = 204, description = "Every session of the account is ended, live sync connections too"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn logout_all(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    CurrentUser(user): CurrentUser,
) -> Result<StatusCode, ApiError> {
    state
        .store
        .revoke_all_sessions(user.id, now_millis())
        .await?;
    state.sync.close_user(user.id).await;
    audit(&state, Some(user.id), "logout_all", client, json!({})).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the caller's password, given the current one. Every session ends
/// (other devices sign in again); the caller gets a fresh token pair.
#[utoipa::path(
    post,
    path = "/api/v1/auth/password",
    tag = "account",
    request_body = PasswordChange,
    responses(
        (status = 200, description = "The password is changed; every other session ends; a fresh token pair", body = TokenPair),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The current password is wrong, or the new one is weak", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn change_password(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    CurrentUser(user): CurrentUser,
    JsonBody(body): JsonBody<PasswordChange>,
) -> Result<Json<TokenPair>, ApiError> {
    // The same limits as login: the current password must not be guessable here either.
    let key = format!("email:{}", user.email);
    password_attempt(&state, &key, client)?;
    if let Some(problem) = password_problem(&body.new_password) {
        return Err(ApiError::Unprocessable {
            field: "new_password".into(),
            detail: problem,
        });
    }
    let stored = user.password_hash.clone();
    let (current, new) = (body.current_password, body.new_password);
    let hashed = state
        .credentials
        .password_work(move |c| {
            c.verify_password(&current, Some(&stored))
                .then(|| c.hash_password(&new))
        })
        .await
        .map_err(ApiError::Internal)?;
    let Some(hash) = hashed else {
        audit(
            &state,
            Some(user.id),
            "password_change_failed",
            client,
            json!({}),
        )
        .await?;
        return Err(ApiError::Unprocessable {
            field: "current_password".into(),
            detail: "the current password is wrong".into(),
        });
    };
    let hash = hash.map_err(ApiError::Internal)?;
    state
        .store
        .change_password(user.id, &hash, now_millis())
        .await?;
    state.sync.close_user(user.id).await;
    state.login_limits.per_email.reset(&key);
    audit(&state, Some(user.id), "password_changed", client, json!({})).await?;
    // The generation moved on; read it back so the new tokens carry it.
    let user = state
        .store
        .user_by_id(user.id)
        .await?
        .ok_or(ApiError::Unauthorized("a valid access token is required"))?;
    Ok(Json(
        issue_tokens(&state, &user, &Client::of(client, &headers)).await?,
    ))
}

/// Counts one password attempt for `email_key` and the client's address
/// against the login limits; 429 with the wait when either is used up.
pub(super) fn password_attempt(
    state: &AppState,
    email_key: &str,
    client: SocketAddr,
) -> Result<(), ApiError> {
    let now = std::time::Instant::now();
    state
        .login_limits
        .per_email
        .attempt(&[email_key.to_string()], now)
        .and(
            state
                .login_limits
                .per_ip
                .attempt(&[format!("ip:{}", client.ip())], now),
        )
        .map_err(|wait| ApiError::TooManyRequests(wait.as_secs().max(1)))
}

/// Records a sensitive action in the audit log.
pub(super) async fn audit(
    state: &AppState,
    user: Option<Uuid>,
    action: &str,
    client: SocketAddr,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    let ip = client.ip().to_string();
    state
        .store
        .record_audit(user, action, now_millis(), Some(&ip), &detail)
        .await?;
    Ok(())
}

/// Starts a new session (login) of `user` on `client`: its record, its
/// first refresh token and an access token.
pub(super) async fn issue_tokens(
    state: &AppState,
    user: &UserRecord,
    client: &Client,
) -> Result<TokenPair, ApiError> {
    let now = now_millis();
    let session = Uuid::new_v4();
    state
        .store
        .start_session(&SessionRecord {
            id: session,
            user: user.id,
            created_at: now,
            last_used_at: now,
            user_agent: client.user_agent.clone(),
            ip: Some(client.ip.clone()),
        })
        .await?;
    let (refresh_token, hash) = new_refresh_token();
    state
        .store
        .insert_refresh_token(hash, user.id, session, now, now + REFRESH_TOKEN_MILLIS)
        .await?;
    let access_token = state
        .credentials
        .access_token(user.id, user.session_epoch, session, now / 1000)
        .map_err(ApiError::Internal)?;
    Ok(TokenPair {
        access_token,
        refresh_token,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_SECONDS,
        user: UserRef {
            id: user.id,
            email: user.email.clone(),
        },
    })
}

/// Milliseconds since the epoch.
pub(super) fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Milliseconds since the epoch as RFC 3339 (UTC).
pub(super) fn rfc3339(millis: i64) -> String {
    lifeos_core::time::format_timestamp(lifeos_core::time::Timestamp::from_millis(millis))
}
