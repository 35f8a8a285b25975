use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, spawn_app};

async fn actions(app: &crate::helpers::TestApp, token: &str, query: &str) -> (Vec<String>, Value) {
    let r = app.get_with(&format!("/api/v1/audit{query}"), token).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let list = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap().to_string())
        .collect();
    (list, body)
}

async fn sensitive_actions_are_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = app.register("judy@example.com").await;
    let stranger = app.register("mallory@example.com").await;
    assert_eq!(
        app.post(
            "/api/v1/auth/login",
            json!({ "email": "judy@example.com", "password": "wrong password!" })
        )
        .await
        .status(),
        401
    );
    let login: Value = app
        .post(
            "/api/v1/auth/login",
            json!({ "email": "judy@example.com", "password": "a long enough password" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let rotated: Value = app
        .post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": login["refresh_token"] }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        app.post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": login["refresh_token"] })
        )
        .await
        .status(),
        401
    );
    assert_eq!(
        app.post(
            "/api/v1/auth/logout",
            json!({ "refresh_token": first["refresh_token"] })
        )
        .await
        .status(),
        204
    );

    // The reused refresh token ended its whole login, access token too.
    let ended = rotated["access_token"].as_str().unwrap();
    assert_eq!(app.get_with("/api/v1/audit", ended).await.status(), 401);
    let again: Value = app
        .post(
            "/api/v1/auth/login",
            json!({ "email": "judy@example.com", "password": "a long enough password" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let token = again["access_token"].as_str().unwrap();
    let (list, body) = actions(&app, token, "").await;
    assert_eq!(
        list,
        vec![
            "login",
            "logout",
            "refresh_token_reused",
            "login",
            "login_failed",
            "register"
        ],
        "newest first"
    );
    assert_eq!(body["items"][0]["ip"], "127.0.0.1");
    assert!(body["items"][0]["at"].as_str().unwrap().ends_with('Z'));
    assert!(body["next_cursor"].is_null());

    // Pagination: four at a time, following next_cursor (6 events: 4 + 2).
    let (page1, body1) = actions(&app, token, "?limit=4").await;
    let cursor = body1["next_cursor"].as_str().unwrap().to_string();
    let (page2, body2) = actions(&app, token, &format!("?limit=4&cursor={cursor}")).await;
    assert_eq!(page2.len(), 2);
    let (page3, body3) = (Vec::new(), body2);
    assert_eq!([page1, page2, page3].concat(), list);
    assert!(body3["next_cursor"].is_null());

    // Everyone sees only their own events.
    let (theirs, _) = actions(&app, stranger["access_token"].as_str().unwrap(), "").await;
    assert_eq!(theirs, vec!["register"]);

    // Bad parameters are 400 problem+json naming them; no token is 401.
    for q in [
        "?limit=0",
        "?limit=201",
        "?cursor=abc",
        "?color=red",
        "?limit=x",
    ] {
        let r = app.get_with(&format!("/api/v1/audit{q}"), token).await;
        assert_eq!(r.status(), 400, "{q}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
    assert_eq!(
        app.client
            .get(app.url("/api/v1/audit"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}
both_backends!(audit_log, super::sensitive_actions_are_audited);
