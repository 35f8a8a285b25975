use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TEST_JWT_SECRET, spawn_app, spawn_app_configured};

async fn problem(r: reqwest::Response, status: u16) -> Value {
    assert_eq!(r.status(), status);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], status);
    body
}

async fn register_login_me(backend: Backend) {
    let app = spawn_app(backend).await;
    let pair = app.register("Alice@Example.com").await;
    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 900);
    assert_eq!(pair["user"]["email"], "alice@example.com");
    assert!(pair["refresh_token"].as_str().unwrap().len() >= 32);
    let me: Value = app
        .get_with("/api/v1/me", pair["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], pair["user"]["id"]);
    assert_eq!(me["email"], "alice@example.com");
    assert!(me["created_at"].as_str().unwrap().ends_with('Z'));

    let ok = app
        .post(
            "/api/v1/auth/login",
            json!({ "email": "ALICE@example.com", "password": "a long enough password" }),
        )
        .await;
    assert_eq!(ok.status(), 200);
    let wrong = problem(
        app.post(
            "/api/v1/auth/login",
            json!({ "email": "alice@example.com", "password": "not the password" }),
        )
        .await,
        401,
    )
    .await;
    let unknown = problem(
        app.post(
            "/api/v1/auth/login",
            json!({ "email": "bob@example.com", "password": "not the password" }),
        )
        .await,
        401,
    )
    .await;
    assert_eq!(wrong, unknown, "no user enumeration");
}
both_backends!(register_login_me_flow, super::register_login_me);

async fn registration_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    app.register("carol@example.com").await;
    let taken = problem(
        app.post(
            "/api/v1/auth/register",
            json!({ "email": "CAROL@example.com", "password": "another long password" }),
        )
        .await,
        409,
    )
    .await;
    assert!(taken["detail"].as_str().unwrap().contains("already exists"));
    let bad_email = problem(
        app.post(
            "/api/v1/auth/register",
            json!({ "email": "carol", "password": "a long enough password" }),
        )
        .await,
        422,
    )
    .await;
    assert!(bad_email["detail"].as_str().unwrap().starts_with("email"));
    let weak = problem(
        app.post(
            "/api/v1/auth/register",
            json!({ "email": "dave@example.com", "password": "123456789" }),
        )
        .await,
        422,
    )
    .await;
    assert!(weak["detail"].as_str().unwrap().starts_with("password"));
    // Bad bodies are problem+json too.
    problem(
        app.client
            .post(app.url("/api/v1/auth/register"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    problem(
        app.client
            .post(app.url("/api/v1/auth/register"))
            .body("email=a")
            .send()
            .await
            .unwrap(),
        415,
    )
    .await;
    problem(
        app.post(
            "/api/v1/auth/register",
            json!({ "email": "e@example.com", "password": "x".repeat(20_000) }),
        )
        .await,
        413,
    )
    .await;
    // Well-formed JSON of the wrong shape is 422 naming the field, like a broken rule.
    let unknown = problem(app.post("/api/v1/auth/register", json!({ "email": "e@example.com", "password": "a long enough password", "admin": true })).await, 422).await;
    assert_eq!(unknown["field"], "admin");
    let missing = problem(
        app.post("/api/v1/auth/register", json!({ "email": "e@example.com" }))
            .await,
        422,
    )
    .await;
    assert_eq!(missing["field"], "password");
}
both_backends!(registration_rules_hold, super::registration_rules);

async fn signups_can_be_closed(backend: Backend) {
    let app =
        spawn_app_configured(backend, Default::default(), |c| c.signups_allowed = false).await;
    problem(
        app.post(
            "/api/v1/auth/register",
            json!({ "email": "e@example.com", "password": "a long enough password" }),
        )
        .await,
        403,
    )
    .await;
}
both_backends!(closed_signups, super::signups_can_be_closed);

async fn refresh_rotates_and_reuse_revokes_the_login(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.register("erin@example.com").await;
    let r = app
        .post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": first["refresh_token"] }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let second: Value = r.json().await.unwrap();
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_eq!(
        app.get_with("/api/v1/me", second["access_token"].as_str().unwrap())
            .await
            .status(),
        200
    );
    // The old token again: refused, and the whole login is revoked.
    problem(
        app.post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": first["refresh_token"] }),
        )
        .await,
        401,
    )
    .await;
    problem(
        app.post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": second["refresh_token"] }),
        )
        .await,
        401,
    )
    .await;
    // Another login of the same user is unaffected.
    let other: Value = app
        .post(
            "/api/v1/auth/login",
            json!({ "email": "erin@example.com", "password": "a long enough password" }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        app.post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": other["refresh_token"] })
        )
        .await
        .status(),
        200
    );
    problem(
        app.post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": "made-up" }),
        )
        .await,
        401,
    )
    .await;
}
both_backends!(
    refresh_tokens,
    super::refresh_rotates_and_reuse_revokes_the_login
);

async fn logout_ends_the_login(backend: Backend) {
    let app = spawn_app(backend).await;
    let pair = app.register("frank@example.com").await;
    assert_eq!(
        app.post(
            "/api/v1/auth/logout",
            json!({ "refresh_token": pair["refresh_token"] })
        )
        .await
        .status(),
        204
    );
    problem(
        app.post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": pair["refresh_token"] }),
        )
        .await,
        401,
    )
    .await;
    assert_eq!(
        app.post("/api/v1/auth/logout", json!({ "refresh_token": "unknown" }))
            .await
            .status(),
        204
    );
}
both_backends!(logout, super::logout_ends_the_login);

fn sign(header: &str, claims: Value, secret: &str) -> String {
    use jsonwebtoken::{EncodingKey, Header, encode};
    let alg = match header {
        "HS512" => jsonwebtoken::Algorithm::HS512,
        _ => jsonwebtoken::Algorithm::HS256,
    };
    encode(
        &Header::new(alg),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn forged_tokens_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let pair = app.register("grace@example.com").await;
    let id = pair["user"]["id"].as_str().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let valid = sign(
        "HS256",
        json!({ "sub": id, "iat": now, "exp": now + 60 }),
        &TEST_JWT_SECRET,
    );
    assert_eq!(
        app.get_with("/api/v1/me", &valid).await.status(),
        200,
        "the test can sign real tokens"
    );
    let expired = sign(
        "HS256",
        json!({ "sub": id, "iat": now - 3600, "exp": now - 60 }),
        &TEST_JWT_SECRET,
    );
    let other_secret = sign(
        "HS256",
        json!({ "sub": id, "iat": now, "exp": now + 60 }),
        "some-other-secret-some-other-secret",
    );
    let hs512 = sign(
        "HS512",
        json!({ "sub": id, "iat": now, "exp": now + 60 }),
        &TEST_JWT_SECRET,
    );
    let payload = valid.split('.').nth(1).unwrap();
    let alg_none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    let stranger = sign(
        "HS256",
        json!({ "sub": "00000000-0000-4000-8000-000000000000", "iat": now, "exp": now + 60 }),
        &TEST_JWT_SECRET,
    );
    for token in [
        expired,
        other_secret,
        hs512,
        alg_none,
        stranger,
        "garbage".to_string(),
    ] {
        let r = app.get_with("/api/v1/me", &token).await;
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        problem(r, 401).await;
    }
    problem(
        app.client.get(app.url("/api/v1/me")).send().await.unwrap(),
        401,
    )
    .await;
}
both_backends!(forged_tokens, super::forged_tokens_are_refused);

async fn login_attempts_are_limited(backend: Backend) {
    let app = spawn_app(backend).await;
    app.register("henry@example.com").await;
    for _ in 0..10 {
        problem(
            app.post(
                "/api/v1/auth/login",
                json!({ "email": "henry@example.com", "password": "wrong password!" }),
            )
            .await,
            401,
        )
        .await;
    }
    let r = app
        .post(
            "/api/v1/auth/login",
            json!({ "email": "henry@example.com", "password": "a long enough password" }),
        )
        .await;
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "Retry-After {retry}");
    problem(r, 429).await;
    // Another account from the same address is not locked out by Henry's limit.
    app.register("iris@example.com").await;
    assert_eq!(
        app.post(
            "/api/v1/auth/login",
            json!({ "email": "iris@example.com", "password": "a long enough password" })
        )
        .await
        .status(),
        200
    );
}
both_backends!(login_limits, super::login_attempts_are_limited);

async fn disabled_accounts_are_shut_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let pair = app.register("olga@example.com").await;
    let access = pair["access_token"].as_str().unwrap();
    assert_eq!(app.get_with("/api/v1/me", access).await.status(), 200);
    let disable = lifeos_relay::config::UserAction::Disable {
        email: "olga@example.com".into(),
    };
    lifeos_relay::user_command(&app.config, disable, None)
        .await
        .unwrap();
    problem(app.get_with("/api/v1/me", access).await, 401).await;
    problem(
        app.post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": pair["refresh_token"] }),
        )
        .await,
        401,
    )
    .await;
    problem(
        app.post(
            "/api/v1/auth/login",
            json!({ "email": "olga@example.com", "password": "a long enough password" }),
        )
        .await,
        401,
    )
    .await;
    let enable = lifeos_relay::config::UserAction::Enable {
        email: "olga@example.com".into(),
    };
    lifeos_relay::user_command(&app.config, enable, None)
        .await
        .unwrap();
    assert_eq!(
        app.post(
            "/api/v1/auth/login",
            json!({ "email": "olga@example.com", "password": "a long enough password" })
        )
        .await
        .status(),
        200
    );
}
both_backends!(disabled_accounts, super::disabled_accounts_are_shut_out);
