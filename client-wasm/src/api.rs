//! The relay's HTTP API (same origin): accounts, sessions, the audit log and export.

use serde::Deserialize;

pub use crate::account::Factor;
use crate::account::sentence;
use serde_json::{Value, json};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestInit, Response};

/// Why a call failed, in words for the user.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// HTTP status, or 0 when the relay could not be reached.
    pub status: u16,
    /// What went wrong.
    pub message: String,
    /// The form field at fault (422 problems name it).
    pub field: Option<String>,
}

impl ApiError {
    fn network(detail: String) -> Self {
        ApiError {
            status: 0,
            message: format!(
                "The relay cannot be reached ({detail}). Your data stays on this device."
            ),
            field: None,
        }
    }
}

/// A signed-in session as the relay hands it out.
#[derive(Clone, Debug, Deserialize)]
pub struct TokenPair {
    /// Access token (JWT).
    pub access_token: String,
    /// Refresh token (opaque, single use).
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Who signed in.
    pub user: UserRef,
}

/// The signed-in user.
#[derive(Clone, Debug, Deserialize)]
pub struct UserRef {
    /// User id.
    pub id: String,
    /// Email.
    pub email: String,
}

async fn call(
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> Result<Value, ApiError> {
    let window = web_sys::window().ok_or_else(|| ApiError::network("no window".into()))?;
    let init = RequestInit::new();
    init.set_method(method);
    let headers = Headers::new().map_err(|e| ApiError::network(crate::idb::describe(&e)))?;
    let _ = headers.set("Accept", "application/json");
    if let Some(body) = &body {
        let _ = headers.set("Content-Type", "application/json");
        init.set_body(&body.to_string().into());
    }
    if let Some(token) = token {
        let _ = headers.set("Authorization", &format!("Bearer {token}"));
    }
    init.set_headers(&headers);
    let response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(|e| ApiError::network(crate::idb::describe(&e)))?;
    let response: Response = response
        .dyn_into()
        .map_err(|e| ApiError::network(crate::idb::describe(&e)))?;
    let status = response.status();
    let text = match response.text() {
        Ok(p) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        return Ok(value);
    }
    let detail = value
        .get("detail")
        .and_then(Value::as_str)
        .or_else(|| value.get("title").and_then(Value::as_str))
        .map(str::to_string)
        .unwrap_or_else(|| format!("the relay answered {status}"));
    let message = match status {
        401 if path.ends_with("/login") => "Wrong email or password.".to_string(),
        429 => "Too many attempts; wait a minute and try again.".to_string(),
        502..=504 => {
            format!("The relay is unavailable ({status}). Your data stays on this device.")
        }
        _ => sentence(&detail),
    };
    Err(ApiError {
        status,
        message,
        field: value
            .get("field")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

fn not_understood(why: impl std::fmt::Display) -> ApiError {
    ApiError {
        status: 200,
        message: format!("The relay's answer was not understood ({why})."),
        field: None,
    }
}

fn parse<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, ApiError> {
    serde_json::from_value(v).map_err(not_understood)
}

fn pair(v: Value) -> Result<TokenPair, ApiError> {
    parse(v)
}

/// Creates an account.
pub async fn register(email: &str, password: &str) -> Result<TokenPair, ApiError> {
    pair(
        call(
            "POST",
            "/api/v1/auth/register",
            Some(json!({"email": email, "password": password})),
            None,
        )
        .await?,
    )
}

/// What a right password answers.
#[derive(Clone, Debug)]
pub enum SignIn {
    /// Signed in.
    Tokens(TokenPair),
    /// The account has a second factor: send a code with this token
    /// ([`verify_second_factor`]) within 5 minutes.
    SecondFactor {
        /// The single-use token of the second step.
        mfa_token: String,
    },
}

/// Signs in; an account with a second factor answers [`SignIn::SecondFactor`].
pub async fn login(email: &str, password: &str) -> Result<SignIn, ApiError> {
    let v = call(
        "POST",
        "/api/v1/auth/login",
        Some(json!({"email": email, "password": password})),
        None,
    )
    .await?;
    if v.get("mfa_required").and_then(Value::as_bool) == Some(true) {
        let mfa_token = v
            .get("mfa_token")
            .and_then(Value::as_str)
            .ok_or_else(|| not_understood("no mfa_token"))?;
        return Ok(SignIn::SecondFactor {
            mfa_token: mfa_token.to_string(),
        });
    }
    pair(v).map(SignIn::Tokens)
}

/// The second step of signing in.
pub async fn verify_second_factor(mfa_token: &str, factor: &Factor) -> Result<TokenPair, ApiError> {
    let (key, value) = factor.json();
    pair(
        call(
            "POST",
            "/api/v1/auth/mfa/verify",
            Some(json!({"mfa_token": mfa_token, key: value})),
            None,
        )
        .await?,
    )
}

/// The signed-in account's second factor.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct MfaStatus {
    /// Whether sign-in asks for a code.
    pub enabled: bool,
    /// Whether an enrolment waits for its first code.
    pub pending: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: u32,
}

/// Whether the account has a second factor.
pub async fn mfa_status(token: &str) -> Result<MfaStatus, ApiError> {
    parse(call("GET", "/api/v1/auth/mfa", None, Some(token)).await?)
}

/// A TOTP enrolment waiting for its first code.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Enrolment {
    /// The secret in base32, for typing into an authenticator app.
    pub secret: String,
    /// The `otpauth://` URI (what the QR code holds).
    pub otpauth_uri: String,
    /// The QR code as SVG.
    pub qr_svg: String,
}

/// Starts (or restarts) a TOTP enrolment.
pub async fn enrol_totp(token: &str) -> Result<Enrolment, ApiError> {
    parse(call("POST", "/api/v1/auth/mfa/totp", None, Some(token)).await?)
}

/// Confirms the enrolment with a first code; answers the recovery codes,
/// which the relay shows this once.
pub async fn confirm_totp(token: &str, code: &str) -> Result<Vec<String>, ApiError> {
    #[derive(Deserialize)]
    struct Codes {
        recovery_codes: Vec<String>,
    }
    let v = call(
        "POST",
        "/api/v1/auth/mfa/totp/confirm",
        Some(json!({ "code": code })),
        Some(token),
    )
    .await?;
    parse::<Codes>(v).map(|c| c.recovery_codes)
}

/// Turns the second factor off (the password and a code prove it is the owner).
pub async fn disable_totp(token: &str, password: &str, factor: &Factor) -> Result<(), ApiError> {
    let (key, value) = factor.json();
    call(
        "DELETE",
        "/api/v1/auth/mfa/totp",
        Some(json!({"password": password, key: value})),
        Some(token),
    )
    .await
    .map(drop)
}

/// A signed-in device of the account.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Session {
    /// Session id.
    pub id: String,
    /// When it signed in (RFC 3339).
    pub created_at: String,
    /// When it last refreshed its token (RFC 3339).
    pub last_used_at: String,
    /// The browser or program.
    pub user_agent: Option<String>,
    /// The address it signed in from.
    pub ip: Option<String>,
    /// Whether it is this browser.
    pub current: bool,
}

/// The account's signed-in devices, newest first.
pub async fn sessions(token: &str) -> Result<Vec<Session>, ApiError> {
    #[derive(Deserialize)]
    struct List {
        items: Vec<Session>,
    }
    parse::<List>(call("GET", "/api/v1/sessions", None, Some(token)).await?).map(|l| l.items)
}

/// Signs a device out: its refresh token stops working and its sync
/// connections close.
pub async fn end_session(token: &str, id: &str) -> Result<(), ApiError> {
    let path = format!("/api/v1/sessions/{}", js_sys::encode_uri_component(id));
    call("DELETE", &path, None, Some(token)).await.map(drop)
}

/// Trades a refresh token for a new pair (the old token stops working).
pub async fn refresh(refresh_token: &str) -> Result<TokenPair, ApiError> {
    pair(
        call(
            "POST",
            "/api/v1/auth/refresh",
            Some(json!({"refresh_token": refresh_token})),
            None,
        )
        .await?,
    )
}

/// Ends this session on the relay.
pub async fn logout(refresh_token: &str) -> Result<(), ApiError> {
    call(
        "POST",
        "/api/v1/auth/logout",
        Some(json!({"refresh_token": refresh_token})),
        None,
    )
    .await
    .map(drop)
}

/// Changes the password; every other session ends, this one gets a fresh pair.
pub async fn change_password(
    token: &str,
    current: &str,
    new_password: &str,
) -> Result<TokenPair, ApiError> {
    pair(
        call(
            "POST",
            "/api/v1/auth/password",
            Some(json!({"current_password": current, "new_password": new_password})),
            Some(token),
        )
        .await?,
    )
}

/// A single-use ticket for one sync connection (valid 30 seconds).
pub async fn sync_ticket(token: &str) -> Result<String, ApiError> {
    #[derive(Deserialize)]
    struct Ticket {
        ticket: String,
    }
    parse::<Ticket>(call("POST", "/api/v1/sync/ticket", None, Some(token)).await?).map(|t| t.ticket)
}

/// Ends every session of the account, this browser's too.
pub async fn logout_all(token: &str) -> Result<(), ApiError> {
    call("POST", "/api/v1/auth/logout-all", None, Some(token))
        .await
        .map(drop)
}

/// Asks for a password reset mail.
pub async fn request_reset(email: &str) -> Result<(), ApiError> {
    call(
        "POST",
        "/api/v1/auth/password-reset/request",
        Some(json!({"email": email})),
        None,
    )
    .await
    .map(drop)
}

/// Sets a new password with the token from the mail.
pub async fn confirm_reset(token: &str, new_password: &str) -> Result<(), ApiError> {
    call(
        "POST",
        "/api/v1/auth/password-reset/confirm",
        Some(json!({"token": token, "new_password": new_password})),
        None,
    )
    .await
    .map(drop)
}

/// One event of the account's audit log.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct AuditEvent {
    /// What happened (`login`, `register`, `password_changed`, ...).
    pub action: String,
    /// When (RFC 3339).
    pub at: String,
    /// From which address.
    pub ip: Option<String>,
}

/// The newest events of the signed-in user's audit log.
pub async fn audit(token: &str) -> Result<Vec<AuditEvent>, ApiError> {
    let v = call("GET", "/api/v1/audit?limit=50", None, Some(token)).await?;
    Ok(v.get("items")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|i| serde_json::from_value(i.clone()).ok())
                .collect()
        })
        .unwrap_or_default())
}

/// Downloads one of the relay's exports (`query` like `format=json`): the
/// file's bytes and the name the relay suggests for it.
pub async fn export(query: &str, token: &str) -> Result<(web_sys::Blob, String), ApiError> {
    let window = web_sys::window().ok_or_else(|| ApiError::network("no window".into()))?;
    let net = |e: wasm_bindgen::JsValue| ApiError::network(crate::idb::describe(&e));
    let init = RequestInit::new();
    init.set_method("GET");
    let headers = Headers::new().map_err(net)?;
    let _ = headers.set("Authorization", &format!("Bearer {token}"));
    init.set_headers(&headers);
    let path = format!("/api/v1/export?{query}");
    let response: Response = JsFuture::from(window.fetch_with_str_and_init(&path, &init))
        .await
        .map_err(net)?
        .dyn_into()
        .map_err(net)?;
    if !response.ok() {
        return Err(ApiError {
            status: response.status(),
            message: format!("The relay answered {}.", response.status()),
            field: None,
        });
    }
    let name = response
        .headers()
        .get("Content-Disposition")
        .ok()
        .flatten()
        .and_then(|d| {
            d.split("filename=\"")
                .nth(1)
                .map(|n| n.trim_end_matches('"').to_string())
        })
        .unwrap_or_else(|| "lifeos-export".to_string());
    // A cut connection rejects here, so a truncated export is never saved.
    let blob: web_sys::Blob = JsFuture::from(response.blob().map_err(net)?)
        .await
        .map_err(net)?
        .dyn_into()
        .map_err(net)?;
    Ok((blob, name))
}
