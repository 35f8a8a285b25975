//! The second factor over HTTP (CONTRACT.md, "Second factor and sessions"):
//! enrolment (`POST /api/v1/auth/mfa/totp`, then `.../confirm` with a first
//! code, which answers the recovery codes once), the second step of a login
//! (`POST /api/v1/auth/mfa/verify`), removal with password and code
//! (`DELETE /api/v1/auth/mfa/totp`), and the caller's state
//! (`GET /api/v1/auth/mfa`). The rules are in `crate::mfa`; what is stored,
//! and why each check is one statement, in `crate::storage::security`.
//!
//! Nothing here tells whether an account has a second factor before its
//! password was verified: the login answers a wrong password the same way
//! for every account, and only a right one gets the second step's token.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::AppState;
use super::auth::{Client, TokenPair, audit, issue_tokens, now_millis, password_attempt};
use super::extract::{CurrentSession, CurrentUser, JsonBody};
use crate::auth::{hash_refresh_token, new_token};
use crate::error::{ApiError, Problem};
use crate::mfa;
use crate::storage::security::{Challenge, SecurityStore};
use crate::storage::{Storage, UserRecord};

/// How long the second step of a login may take (CONTRACT.md: 5 minutes).
const CHALLENGE_MILLIS: i64 = 5 * 60 * 1000;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/mfa", get(status))
        .route("/api/v1/auth/mfa/verify", post(verify))
        .route("/api/v1/auth/mfa/totp", post(enrol))
        .route("/api/v1/auth/mfa/totp", delete(disable))
        .route("/api/v1/auth/mfa/totp/confirm", post(confirm))
}

/// The answer to a right password for an account with a second factor.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct MfaRequired {
    /// Always `true`.
    mfa_required: bool,
    /// The token of the second step: single use, valid 5 minutes.
    mfa_token: String,
    /// What the second step accepts.
    methods: [&'static str; 2],
}

/// Starts the second step of `user`'s login.
pub(super) async fn challenge(
    state: &AppState,
    user: &UserRecord,
) -> Result<MfaRequired, ApiError> {
    let (token, hash) = new_token::<32>();
    let now = now_millis();
    state
        .store
        .create_challenge(hash, user.id, now, now + CHALLENGE_MILLIS)
        .await?;
    Ok(MfaRequired {
        mfa_required: true,
        mfa_token: token,
        methods: ["totp", "recovery_code"],
    })
}

/// The second step of a login: the token the login answered, and a code
/// from the authenticator app or one recovery code.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyBody {
    /// The token the login answered.
    #[schema(max_length = 128)]
    mfa_token: String,
    /// The 6 digits the authenticator app shows (spaces are ignored).
    #[schema(max_length = 64)]
    code: Option<String>,
    /// One of the recovery codes (`xxxx-xxxx-xxxx-xxxx`; case, spaces and
    /// dashes do not matter).
    #[schema(max_length = 64)]
    recovery_code: Option<String>,
}

/// Which factor a request presents.
enum Factor<'a> {
    Totp(&'a str),
    RecoveryCode(&'a str),
}

/// Exactly one of `code` and `recovery_code`, bounded.
fn factor<'a>(
    code: &'a Option<String>,
    recovery_code: &'a Option<String>,
) -> Result<Factor<'a>, ApiError> {
    let bounded = |field: &'static str, v: &str| {
        if v.len() > 64 {
            Err(ApiError::Unprocessable {
                field: field.into(),
                detail: "at most 64 characters".into(),
            })
        } else {
            Ok(())
        }
    };
    match (code, recovery_code) {
        (Some(code), None) => bounded("code", code).map(|()| Factor::Totp(code)),
        (None, Some(code)) => bounded("recovery_code", code).map(|()| Factor::RecoveryCode(code)),
        _ => Err(ApiError::Unprocessable {
            field: "code".into(),
            detail: "give either `code` or `recovery_code`".into(),
        }),
    }
}

const WRONG_CODE: ApiError = ApiError::Unauthorized("the code is not right");
const DEAD_CHALLENGE: ApiError =
    ApiError::Unauthorized("this sign-in has expired or was used; sign in again");

/// Whether `factor` is a right, unused second factor of `user` now. A right
/// TOTP code is used up by this check (its time step is recorded), a
/// recovery code likewise.
async fn check_factor(
    state: &AppState,
    user: Uuid,
    factor: &Factor<'_>,
) -> Result<Option<&'static str>, ApiError> {
    match factor {
        Factor::Totp(code) => {
            let Some(totp) = state.store.totp(user).await?.filter(|t| t.confirmed) else {
                return Ok(None);
            };
            let now_secs = u64::try_from(now_millis() / 1000).unwrap_or(0);
            let Some(step) = mfa::totp_step(&totp.secret, code, now_secs) else {
                return Ok(None);
            };
            // Storage accepts each step once: a replayed code fails here.
            Ok(state
                .store
                .accept_totp_step(user, step)
                .await?
                .then_some("totp"))
        }
        Factor::RecoveryCode(code) => {
            let Some(hash) = mfa::recovery_code_hash(code) else {
                return Ok(None);
            };
            Ok(state
                .store
                .use_recovery_code(user, hash, now_millis())
                .await?
                .then_some("recovery_code"))
        }
    }
}

/// Completes a login with a second factor.
#[utoipa::path(
    post,
    path = "/api/v1/auth/mfa/verify",
    operation_id = "mfa_verify",
    tag = "account",
    request_body = VerifyBody,
    responses(
        (status = 200, description = "Signed in: a token pair", body = TokenPair),
        (status = 401, description = "A wrong, replayed or malformed code, a used recovery code, or a used, expired or unknown `mfa_token`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Neither or both of `code` and `recovery_code`, or a malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Five wrong codes: this `mfa_token` is dead; sign in again", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
pub(super) async fn verify(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<VerifyBody>,
) -> Result<Json<TokenPair>, ApiError> {
    let factor = factor(&body.code, &body.recovery_code)?;
    let hash = hash_refresh_token(&body.mfa_token);
    let now = now_millis();
    let user = match state.store.challenge(hash, now).await? {
        Challenge::Live { user } => user,
        Challenge::Exhausted => return Err(ApiError::TooManyRequests(300)),
        Challenge::Dead => return Err(DEAD_CHALLENGE),
    };
    let Some(method) = check_factor(&state, user, &factor).await? else {
        let failures = state.store.fail_challenge(hash).await?;
        audit(
            &state,
            Some(user),
            "mfa_failed",
            client,
            json!({ "failures": failures }),
        )
        .await?;
        if failures >= crate::storage::security::MAX_CHALLENGE_FAILURES {
            return Err(ApiError::TooManyRequests(300));
        }
        return Err(WRONG_CODE);
    };
    if !state.store.use_challenge(hash, now_millis()).await? {
        // Used by a parallel request meanwhile, or it just expired.
        return Err(DEAD_CHALLENGE);
    }
    let account = match state.store.user_by_id(user).await? {
        Some(u) if !u.disabled => u,
        _ => return Err(DEAD_CHALLENGE),
    };
    state
        .login_limits
        .per_email
        .reset(&format!("email:{}", account.email));
    if method == "recovery_code" {
        let left = state.store.recovery_codes_left(user).await?;
        audit(
            &state,
            Some(user),
            "mfa_recovery_code_used",
            client,
            json!({ "left": left }),
        )
        .await?;
    }
    audit(
        &state,
        Some(user),
        "login",
        client,
        json!({ "mfa": method }),
    )
    .await?;
    Ok(Json(
        issue_tokens(&state, &account, &Client::of(client, &headers)).await?,
    ))
}

/// The caller's second factor.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct MfaStatus {
    /// Whether sign-in asks for a code.
    enabled: bool,
    /// Whether an enrolment waits for its first code.
    pending: bool,
    /// Unused recovery codes.
    recovery_codes_left: u32,
}

/// Whether the caller's account has a second factor.
#[utoipa::path(
    get,
    path = "/api/v1/auth/mfa",
    operation_id = "mfa_status",
    tag = "account",
    responses(
        (status = 200, description = "The caller's second factor", body = MfaStatus),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn status(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<MfaStatus>, ApiError> {
    let totp = state.store.totp(user.id).await?;
    let enabled = totp.as_ref().is_some_and(|t| t.confirmed);
    Ok(Json(MfaStatus {
        enabled,
        pending: totp.is_some_and(|t| !t.confirmed),
        recovery_codes_left: if enabled {
            state.store.recovery_codes_left(user.id).await?
        } else {
            0
        },
    }))
}

/// A new TOTP enrolment, not active until confirmed.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Enrolment {
    /// The shared secret, base32, for typing into an authenticator app.
    secret: String,
    /// The `otpauth://totp/...` URI of the secret.
    otpauth_uri: String,
    /// The URI as an SVG QR code, for scanning.
    qr_svg: String,
}

/// Starts a TOTP enrolment (again, if one was pending: the old secret is void).
#[utoipa::path(
    post,
    path = "/api/v1/auth/mfa/totp",
    operation_id = "totp_enrol",
    tag = "account",
    responses(
        (status = 200, description = "The secret, its URI and QR code; confirm with a first code", body = Enrolment),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A second factor is on already", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn enrol(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<Enrolment>, ApiError> {
    const ON_ALREADY: ApiError = ApiError::Conflict("a second factor is on already");
    if state
        .store
        .totp(user.id)
        .await?
        .is_some_and(|t| t.confirmed)
    {
        return Err(ON_ALREADY);
    }
    let secret = mfa::new_secret();
    let otpauth_uri = mfa::otpauth_uri(&secret, &user.email).map_err(ApiError::Internal)?;
    let qr_svg = mfa::qr_svg(&otpauth_uri).map_err(ApiError::Internal)?;
    if !state
        .store
        .begin_totp(user.id, secret.clone(), now_millis())
        .await?
    {
        return Err(ON_ALREADY);
    }
    audit(
        &state,
        Some(user.id),
        "mfa_enrolment_started",
        client,
        json!({}),
    )
    .await?;
    Ok(Json(Enrolment {
        secret: mfa::secret_base32(&secret),
        otpauth_uri,
        qr_svg,
    }))
}

/// A code proving the authenticator app has the secret.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfirmBody {
    /// The 6 digits the authenticator app shows.
    #[schema(max_length = 64)]
    code: String,
}

/// The recovery codes, shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct RecoveryCodes {
    /// Ten single-use codes, each signs in once in place of a TOTP code.
    recovery_codes: Vec<String>,
}

/// Confirms the pending enrolment with a first code: from now on sign-in
/// asks for a code. Answers the ten recovery codes, this once.
#[utoipa::path(
    post,
    path = "/api/v1/auth/mfa/totp/confirm",
    operation_id = "totp_confirm",
    tag = "account",
    request_body = ConfirmBody,
    responses(
        (status = 200, description = "The second factor is on; the recovery codes, shown this once", body = RecoveryCodes),
        (status = 400, description = "No enrolment is pending (none was started, or it was confirmed already)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token, or the code is not right", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong codes (see `Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn confirm(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    CurrentUser(user): CurrentUser,
    JsonBody(body): JsonBody<ConfirmBody>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let Some(pending) = state.store.totp(user.id).await?.filter(|t| !t.confirmed) else {
        return Err(ApiError::BadRequest(
            "no enrolment is pending: start one with POST /api/v1/auth/mfa/totp".into(),
        ));
    };
    code_attempt(&state, user.id)?;
    let now_secs = u64::try_from(now_millis() / 1000).unwrap_or(0);
    let step = (body.code.len() <= 64)
        .then(|| mfa::totp_step(&pending.secret, &body.code, now_secs))
        .flatten();
    let Some(step) = step else {
        audit(
            &state,
            Some(user.id),
            "mfa_confirm_failed",
            client,
            json!({}),
        )
        .await?;
        return Err(WRONG_CODE);
    };
    let codes = mfa::new_recovery_codes();
    let hashes = codes
        .iter()
        .map(|c| {
            mfa::recovery_code_hash(c)
                .ok_or_else(|| ApiError::Internal("a recovery code does not hash".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !state
        .store
        .confirm_totp(user.id, step, hashes, now_millis())
        .await?
    {
        return Err(ApiError::BadRequest("no enrolment is pending".into()));
    }
    audit(
        &state,
        Some(user.id),
        "mfa_enabled",
        client,
        json!({ "method": "totp" }),
    )
    .await?;
    Ok(Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// The password, and a code or a recovery code.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DisableBody {
    /// The account's password.
    password: String,
    /// The 6 digits the authenticator app shows.
    #[schema(max_length = 64)]
    code: Option<String>,
    /// One of the recovery codes.
    #[schema(max_length = 64)]
    recovery_code: Option<String>,
}

/// Turns the second factor off, given the password and a code (or a
/// recovery code). Every other session of the account ends.
#[utoipa::path(
    delete,
    path = "/api/v1/auth/mfa/totp",
    operation_id = "totp_disable",
    tag = "account",
    request_body = DisableBody,
    responses(
        (status = 204, description = "The second factor is off; every other session ended"),
        (status = 400, description = "No second factor is on", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token, a wrong password, or a wrong code", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing password, neither or both of `code` and `recovery_code`, or a malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts (see `Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn disable(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    CurrentSession { user, session }: CurrentSession,
    JsonBody(body): JsonBody<DisableBody>,
) -> Result<StatusCode, ApiError> {
    let factor = factor(&body.code, &body.recovery_code)?;
    if !state
        .store
        .totp(user.id)
        .await?
        .is_some_and(|t| t.confirmed)
    {
        return Err(ApiError::BadRequest("no second factor is on".into()));
    }
    password_attempt(&state, &format!("email:{}", user.email), client)?;
    code_attempt(&state, user.id)?;
    let (password, stored) = (body.password, user.password_hash.clone());
    let password_ok = state
        .credentials
        .password_work(move |c| c.verify_password(&password, Some(&stored)))
        .await
        .map_err(ApiError::Internal)?;
    // The code is checked (and used up) only after the password is right.
    let factor_ok = password_ok && check_factor(&state, user.id, &factor).await?.is_some();
    if !factor_ok {
        audit(
            &state,
            Some(user.id),
            "mfa_disable_failed",
            client,
            json!({}),
        )
        .await?;
        return Err(if password_ok {
            WRONG_CODE
        } else {
            ApiError::Unauthorized("the password is not right")
        });
    }
    state.store.remove_totp(user.id).await?;
    let ended = super::sessions::end_others(&state, user.id, session).await?;
    audit(
        &state,
        Some(user.id),
        "mfa_disabled",
        client,
        json!({ "sessions_ended": ended }),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Counts one code attempt of `user` (enrolment confirmation, removal):
/// 10 per 15 minutes, like passwords.
fn code_attempt(state: &AppState, user: Uuid) -> Result<(), ApiError> {
    state
        .login_limits
        .per_email
        .attempt(&[format!("mfa:{user}")], std::time::Instant::now())
        .map_err(|wait| ApiError::TooManyRequests(wait.as_secs().max(1)))
}
