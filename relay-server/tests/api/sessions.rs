//! Password change, logout everywhere, audit retention, request ids and body limits.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, spawn_app};
use lifeos_relay::storage::{Storage, Store};

fn access(pair: &Value) -> &str {
    pair["access_token"].as_str().unwrap()
}

async fn audit_actions(app: &crate::helpers::TestApp, token: &str) -> Vec<String> {
    let body: Value = app
        .get_with("/api/v1/audit", token)
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

async fn change(app: &crate::helpers::TestApp, token: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/password"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn password_change_ends_every_other_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.register("pat@example.com").await;
    let other_device: Value = app.login("pat@example.com").await;

    let r = change(
        &app,
        access(&first),
        json!({ "current_password": "not it at all", "new_password": "a brand new password" }),
    )
    .await;
    assert_eq!(r.status(), 422);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["field"], "current_password");
    let r = change(
        &app,
        access(&first),
        json!({ "current_password": "a long enough password", "new_password": "short" }),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.json::<Value>().await.unwrap()["field"], "new_password");
    let r = change(
        &app,
        access(&first),
        json!({ "current_password": "a long enough password" }),
    )
    .await;
    assert!(r.status() == 400 || r.status() == 422, "{}", r.status());

    let r = change(&app, access(&first), json!({ "current_password": "a long enough password", "new_password": "a brand new password" })).await;
    assert_eq!(r.status(), 200);
    let fresh: Value = r.json().await.unwrap();
    // Every earlier token is void, on every device; the fresh pair works.
    for token in [access(&first), access(&other_device)] {
        assert_eq!(app.get_with("/api/v1/me", token).await.status(), 401);
    }
    for refresh in [&first["refresh_token"], &other_device["refresh_token"]] {
        let r = app
            .post("/api/v1/auth/refresh", json!({ "refresh_token": refresh }))
            .await;
        assert_eq!(r.status(), 401);
    }
    assert_eq!(
        app.get_with("/api/v1/me", access(&fresh)).await.status(),
        200
    );
    let old = app
        .post(
            "/api/v1/auth/login",
            json!({ "email": "pat@example.com", "password": "a long enough password" }),
        )
        .await;
    assert_eq!(old.status(), 401);
    let new = app
        .post(
            "/api/v1/auth/login",
            json!({ "email": "pat@example.com", "password": "a brand new password" }),
        )
        .await;
    assert_eq!(new.status(), 200);
    let actions = audit_actions(&app, access(&fresh)).await;
    assert!(
        actions.contains(&"password_changed".to_string()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"password_change_failed".to_string()),
        "{actions:?}"
    );
}
both_backends!(
    password_change,
    super::password_change_ends_every_other_session
);

async fn logout_everywhere_ends_every_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.register("lee@example.com").await;
    let second: Value = app.login("lee@example.com").await;
    let r = app
        .client
        .post(app.url("/api/v1/auth/logout-all"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "needs a token");
    let r = app
        .client
        .post(app.url("/api/v1/auth/logout-all"))
        .bearer_auth(access(&second))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    for pair in [&first, &second] {
        assert_eq!(app.get_with("/api/v1/me", access(pair)).await.status(), 401);
        let r = app
            .post(
                "/api/v1/auth/refresh",
                json!({ "refresh_token": pair["refresh_token"] }),
            )
            .await;
        assert_eq!(r.status(), 401);
    }
    let again: Value = app.login("lee@example.com").await;
    assert!(
        audit_actions(&app, access(&again))
            .await
            .contains(&"logout_all".to_string())
    );
}
both_backends!(
    logout_everywhere,
    super::logout_everywhere_ends_every_session
);

async fn old_audit_events_are_pruned(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let pair = app.register("old@example.com").await;
    let user: uuid::Uuid = pair["user"]["id"].as_str().unwrap().parse().unwrap();
    let store = Store::open(&app.config.database().unwrap()).await.unwrap();
    let day = 24 * 3600 * 1000_i64;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    store
        .record_audit(Some(user), "ancient", now - 400 * day, None, &json!({}))
        .await
        .unwrap();
    store
        .record_audit(Some(user), "recent", now - 300 * day, None, &json!({}))
        .await
        .unwrap();
    // The relay prunes at start (retention: 365 days by default).
    app.restart().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let actions = audit_actions(&app, access(&pair)).await;
        assert!(actions.contains(&"recent".to_string()));
        if !actions.contains(&"ancient".to_string()) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "old event still there: {actions:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
both_backends!(audit_retention, super::old_audit_events_are_pruned);

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app(Backend::Sqlite).await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "proxy-42.a_b")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "proxy-42.a_b");
    let r = app
        .client
        .get(app.url("/nowhere"))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_ne!(r.headers()["x-request-id"], "bad id with spaces");
}

#[tokio::test]
async fn bodies_are_bounded() {
    let app = spawn_app(Backend::Sqlite).await;
    let huge = "x".repeat(100 * 1024);
    let r = app
        .post(
            "/api/v1/auth/login",
            json!({ "email": huge, "password": "a long enough password" }),
        )
        .await;
    assert_eq!(r.status(), 413);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
}
