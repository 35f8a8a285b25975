//! The second factor (CONTRACT.md, "Second factor and sessions"):
//! enrolment, login in two steps with a code or a recovery code, every kind
//! of bad code and dead step token, removal, and the audit trail.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, spawn_app};
use lifeos_relay::mfa;
use lifeos_relay::storage::Store;
use lifeos_relay::storage::security::SecurityStore;

const PASSWORD: &str = "a long enough password";

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Waits until the current 30-second step has at least 10 seconds left, so
/// a test's codes of the steps before and after stay in the window.
async fn fresh_step() {
    let into = now_secs() % 30;
    if into > 20 {
        tokio::time::sleep(std::time::Duration::from_secs(31 - into)).await;
    }
}

/// The code of the step `offset` steps from now.
fn code(secret: &[u8], offset: i64) -> String {
    mfa::totp_code(secret, (now_secs() as i64 + 30 * offset) as u64).unwrap()
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(method.parse().unwrap(), app.url(path))
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    if status != 204 {
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(if status < 400 {
                    "application/json"
                } else {
                    "application/problem+json"
                }),
            "{method} {path}: {status}"
        );
    }
    (status, r.json().await.unwrap_or(Value::Null))
}

fn login_body(email: &str, password: &str) -> Value {
    json!({ "email": email, "password": password })
}

/// Enrols `email` (registered, signed in with `token`); returns the secret
/// and the recovery codes. Uses up the step before the current one.
async fn enrol(app: &TestApp, token: &str) -> (Vec<u8>, Vec<String>) {
    let (status, enrolment) = send(
        app,
        "POST",
        "/api/v1/auth/mfa/totp",
        Some(token),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{enrolment}");
    let secret = mfa::secret_from_base32(enrolment["secret"].as_str().unwrap()).unwrap();
    let (status, codes) = send(
        app,
        "POST",
        "/api/v1/auth/mfa/totp/confirm",
        Some(token),
        json!({ "code": code(&secret, -1) }),
    )
    .await;
    assert_eq!(status, 200, "{codes}");
    let codes = codes["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (secret, codes)
}

/// Logs in with the password; returns the second step's token.
async fn first_step(app: &TestApp, email: &str) -> String {
    let (status, answer) = send(
        app,
        "POST",
        "/api/v1/auth/login",
        None,
        login_body(email, PASSWORD),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["mfa_required"], true);
    assert_eq!(answer["methods"], json!(["totp", "recovery_code"]));
    for absent in ["access_token", "refresh_token", "user"] {
        assert!(
            answer.get(absent).is_none(),
            "{absent} before the second step: {answer}"
        );
    }
    answer["mfa_token"].as_str().unwrap().to_string()
}

async fn verify(app: &TestApp, body: Value) -> (u16, Value) {
    send(app, "POST", "/api/v1/auth/mfa/verify", None, body).await
}

async fn audit_actions(app: &TestApp, token: &str) -> Vec<String> {
    let body: Value = app
        .get_with("/api/v1/audit?limit=200", token)
        .await
        .json()
        .await
        .unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap().to_string())
        .collect()
}

async fn enrolment_and_two_step_login(backend: Backend) {
    fresh_step().await;
    let app = spawn_app(backend).await;
    let email = "grace@example.com";
    let pair = app.register(email).await;
    let token = pair["access_token"].as_str().unwrap();
    let (_, plain) = send(&app, "GET", "/api/v1/auth/mfa", Some(token), Value::Null).await;
    assert_eq!(
        plain,
        json!({ "enabled": false, "pending": false, "recovery_codes_left": 0 })
    );

    // Confirming before enrolling; enrolling; a wrong first code.
    let (status, _) = send(
        &app,
        "POST",
        "/api/v1/auth/mfa/totp/confirm",
        Some(token),
        json!({ "code": "123456" }),
    )
    .await;
    assert_eq!(status, 400);
    let (status, enrolment) = send(
        &app,
        "POST",
        "/api/v1/auth/mfa/totp",
        Some(token),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    let uri = enrolment["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/LifeOS:grace%40example.com?"),
        "{uri}"
    );
    assert!(uri.contains(enrolment["secret"].as_str().unwrap()));
    assert!(enrolment["qr_svg"].as_str().unwrap().contains("<svg"));
    let (_, pending) = send(&app, "GET", "/api/v1/auth/mfa", Some(token), Value::Null).await;
    assert_eq!(pending["pending"], true);
    // Not active until confirmed: the login still gives tokens.
    let r = app.login(email).await;
    assert!(r["access_token"].is_string());
    let secret = mfa::secret_from_base32(enrolment["secret"].as_str().unwrap()).unwrap();
    let wrong = if code(&secret, 0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    for bad in [
        json!({ "code": wrong }),
        json!({ "code": "12ab56" }),
        json!({ "code": "" }),
    ] {
        let (status, problem) = send(
            &app,
            "POST",
            "/api/v1/auth/mfa/totp/confirm",
            Some(token),
            bad,
        )
        .await;
        assert_eq!(status, 401, "{problem}");
    }
    let (status, codes) = send(
        &app,
        "POST",
        "/api/v1/auth/mfa/totp/confirm",
        Some(token),
        json!({ "code": code(&secret, -1) }),
    )
    .await;
    assert_eq!(status, 200, "{codes}");
    let codes: Vec<String> = codes["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    // Confirmed twice; enrolled again.
    let (status, _) = send(
        &app,
        "POST",
        "/api/v1/auth/mfa/totp/confirm",
        Some(token),
        json!({ "code": code(&secret, 0) }),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = send(
        &app,
        "POST",
        "/api/v1/auth/mfa/totp",
        Some(token),
        Value::Null,
    )
    .await;
    assert_eq!(status, 409);
    let (_, on) = send(&app, "GET", "/api/v1/auth/mfa", Some(token), Value::Null).await;
    assert_eq!(
        on,
        json!({ "enabled": true, "pending": false, "recovery_codes_left": 10 })
    );

    // A wrong password answers exactly as for an account without MFA.
    app.register("plain@example.com").await;
    let (s1, p1) = send(
        &app,
        "POST",
        "/api/v1/auth/login",
        None,
        login_body(email, "wrong password!!"),
    )
    .await;
    let (s2, p2) = send(
        &app,
        "POST",
        "/api/v1/auth/login",
        None,
        login_body("plain@example.com", "wrong password!!"),
    )
    .await;
    assert_eq!((s1, s2), (401, 401));
    for field in ["type", "title", "status", "detail"] {
        assert_eq!(p1[field], p2[field], "{field}");
    }

    // The second step with the code of the current step.
    let step = first_step(&app, email).await;
    let (status, tokens) =
        verify(&app, json!({ "mfa_token": step, "code": code(&secret, 0) })).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["user"]["email"], email);
    let signed_in = tokens["access_token"].as_str().unwrap().to_string();
    assert_eq!(app.get_with("/api/v1/me", &signed_in).await.status(), 200);
    // The step token is single use; the code is too (with a new step token).
    let (status, _) = verify(&app, json!({ "mfa_token": step, "code": code(&secret, 1) })).await;
    assert_eq!(status, 401);
    let step = first_step(&app, email).await;
    let (status, problem) =
        verify(&app, json!({ "mfa_token": step, "code": code(&secret, 0) })).await;
    assert_eq!(status, 401, "a replayed code: {problem}");
    // An older step than the last accepted one is refused too.
    let (status, _) = verify(
        &app,
        json!({ "mfa_token": step, "code": code(&secret, -1) }),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = verify(&app, json!({ "mfa_token": step, "code": code(&secret, 1) })).await;
    assert_eq!(status, 200, "the next step's code");

    // Recovery codes: each once, typed loosely.
    let step = first_step(&app, email).await;
    let loose = codes[0].to_uppercase().replace('-', " ");
    let (status, _) = verify(&app, json!({ "mfa_token": step, "recovery_code": loose })).await;
    assert_eq!(status, 200);
    let step = first_step(&app, email).await;
    let (status, _) = verify(
        &app,
        json!({ "mfa_token": step, "recovery_code": codes[0] }),
    )
    .await;
    assert_eq!(status, 401, "a recovery code used twice");
    let (status, _) = verify(
        &app,
        json!({ "mfa_token": step, "recovery_code": codes[1] }),
    )
    .await;
    assert_eq!(status, 200);
    let (_, left) = send(
        &app,
        "GET",
        "/api/v1/auth/mfa",
        Some(&signed_in),
        Value::Null,
    )
    .await;
    assert_eq!(left["recovery_codes_left"], 8);

    // Malformed requests: a clear problem, never a token, never a 5xx.
    let step = first_step(&app, email).await;
    for (body, expected) in [
        (json!({ "mfa_token": step }), 422),
        (
            json!({ "mfa_token": step, "code": "123456", "recovery_code": codes[2] }),
            422,
        ),
        (json!({ "mfa_token": step, "code": "x".repeat(65) }), 422),
        (json!({ "mfa_token": step, "code": 123456 }), 422),
        (
            json!({ "mfa_token": step, "code": "123456", "extra": true }),
            422,
        ),
        (json!({ "code": "123456" }), 422),
        (
            json!({ "mfa_token": "not-a-token", "code": code(&secret, 0) }),
            401,
        ),
        (
            json!({ "mfa_token": step, "recovery_code": "not a code" }),
            401,
        ),
    ] {
        let (status, answer) = verify(&app, body.clone()).await;
        assert_eq!(status, expected, "{body}: {answer}");
        assert!(answer.get("access_token").is_none());
    }

    let actions = audit_actions(&app, &signed_in).await;
    for expected in [
        "mfa_enrolment_started",
        "mfa_confirm_failed",
        "mfa_enabled",
        "login_second_factor_required",
        "mfa_failed",
        "mfa_recovery_code_used",
    ] {
        assert!(
            actions.contains(&expected.to_string()),
            "{expected} in {actions:?}"
        );
    }
}
both_backends!(enrolment_and_login, super::enrolment_and_two_step_login);

async fn a_step_token_dies_after_five_wrong_codes_or_five_minutes(backend: Backend) {
    fresh_step().await;
    let app = spawn_app(backend).await;
    let email = "ivy@example.com";
    let pair = app.register(email).await;
    let (secret, codes) = enrol(&app, pair["access_token"].as_str().unwrap()).await;
    let right = code(&secret, 0);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };

    let step = first_step(&app, email).await;
    for attempt in 1..=5 {
        let (status, problem) = verify(&app, json!({ "mfa_token": step, "code": wrong })).await;
        let expected = if attempt < 5 { 401 } else { 429 };
        assert_eq!(status, expected, "wrong code {attempt}: {problem}");
    }
    // Dead now, even with the right code or a recovery code.
    for body in [
        json!({ "mfa_token": step, "code": right }),
        json!({ "mfa_token": step, "recovery_code": codes[0] }),
    ] {
        let (status, _) = verify(&app, body).await;
        assert_eq!(status, 429);
    }
    // The right code was not used up by the dead token: a new login takes it.
    let step = first_step(&app, email).await;
    let (status, _) = verify(&app, json!({ "mfa_token": step, "code": right })).await;
    assert_eq!(status, 200);

    // A step token older than five minutes is dead.
    let store = Store::open(&app.config.database().unwrap()).await.unwrap();
    let user: uuid::Uuid = pair["user"]["id"].as_str().unwrap().parse().unwrap();
    let (token, hash) = lifeos_relay::auth::new_token::<32>();
    let now = (now_secs() * 1000) as i64;
    store
        .create_challenge(hash, user, now - 6 * 60 * 1000, now - 60 * 1000)
        .await
        .unwrap();
    let (status, _) = verify(
        &app,
        json!({ "mfa_token": token, "recovery_code": codes[1] }),
    )
    .await;
    assert_eq!(status, 401, "an expired step token");
    let (_, left) = send(
        &app,
        "GET",
        "/api/v1/auth/mfa",
        Some(pair["access_token"].as_str().unwrap()),
        Value::Null,
    )
    .await;
    assert_eq!(
        left["recovery_codes_left"], 10,
        "nothing was used by dead tokens"
    );
}
both_backends!(
    dead_step_tokens,
    super::a_step_token_dies_after_five_wrong_codes_or_five_minutes
);

async fn removing_the_second_factor_needs_password_and_code(backend: Backend) {
    fresh_step().await;
    let app = spawn_app(backend).await;
    let email = "june@example.com";
    let pair = app.register(email).await;
    let token = pair["access_token"].as_str().unwrap().to_string();
    let (secret, codes) = enrol(&app, &token).await;
    // Another device, signed in with a code.
    let step = first_step(&app, email).await;
    let (_, other) = verify(&app, json!({ "mfa_token": step, "code": code(&secret, 0) })).await;
    let other_token = other["access_token"].as_str().unwrap().to_string();

    for (body, expected) in [
        (json!({ "code": code(&secret, 1) }), 422),
        (json!({ "password": PASSWORD }), 422),
        (
            json!({ "password": "not the password", "code": code(&secret, 1) }),
            401,
        ),
        (
            json!({ "password": PASSWORD, "code": code(&secret, 0) }),
            401,
        ),
        (
            json!({ "password": PASSWORD, "recovery_code": "zzzz-zzzz-zzzz-zzzz" }),
            401,
        ),
    ] {
        let (status, problem) = send(
            &app,
            "DELETE",
            "/api/v1/auth/mfa/totp",
            Some(&token),
            body.clone(),
        )
        .await;
        assert_eq!(status, expected, "{body}: {problem}");
    }
    let (status, _) = send(
        &app,
        "DELETE",
        "/api/v1/auth/mfa/totp",
        None,
        json!({ "password": PASSWORD, "code": "123456" }),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = send(
        &app,
        "DELETE",
        "/api/v1/auth/mfa/totp",
        Some(&token),
        json!({ "password": PASSWORD, "recovery_code": codes[3] }),
    )
    .await;
    assert_eq!(status, 204);
    // Every other session ended; this one goes on; sign-in is one step again.
    assert_eq!(app.get_with("/api/v1/me", &other_token).await.status(), 401);
    let r = app
        .post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": other["refresh_token"] }),
        )
        .await;
    assert_eq!(r.status(), 401);
    assert_eq!(app.get_with("/api/v1/me", &token).await.status(), 200);
    assert!(app.login(email).await["access_token"].is_string());
    let (status, _) = send(
        &app,
        "DELETE",
        "/api/v1/auth/mfa/totp",
        Some(&token),
        json!({ "password": PASSWORD, "code": "123456" }),
    )
    .await;
    assert_eq!(status, 400, "nothing left to remove");
    // It can be enrolled again, with a new secret and new codes.
    let (_, again) = send(
        &app,
        "POST",
        "/api/v1/auth/mfa/totp",
        Some(&token),
        Value::Null,
    )
    .await;
    assert_ne!(
        mfa::secret_from_base32(again["secret"].as_str().unwrap()).unwrap(),
        secret
    );

    let actions = audit_actions(&app, &token).await;
    for expected in ["mfa_disable_failed", "mfa_disabled"] {
        assert!(
            actions.contains(&expected.to_string()),
            "{expected} in {actions:?}"
        );
    }
}
both_backends!(
    removal,
    super::removing_the_second_factor_needs_password_and_code
);
