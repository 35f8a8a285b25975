use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, spawn_app};

fn reset_token(mail: &str) -> String {
    mail.lines()
        .find_map(|l| l.strip_prefix("Reset token: "))
        .expect("a 'Reset token: ' line")
        .trim()
        .to_string()
}

async fn password_reset_through_the_outbox(backend: Backend) {
    let app = spawn_app(backend).await;
    let old = app.register("kim@example.com").await;
    // Unknown accounts get the same answer and no mail.
    assert_eq!(
        app.post(
            "/api/v1/auth/password-reset/request",
            json!({ "email": "nobody@example.com" })
        )
        .await
        .status(),
        202
    );
    assert!(app.mails().is_empty());
    assert_eq!(
        app.post(
            "/api/v1/auth/password-reset/request",
            json!({ "email": "Kim@Example.com" })
        )
        .await
        .status(),
        202
    );
    let mails = app.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("To: kim@example.com\r\n"));
    assert!(mails[0].contains("Subject: Reset your LifeOS password\r\n"));
    let token = reset_token(&mails[0]);

    let weak = app
        .post(
            "/api/v1/auth/password-reset/confirm",
            json!({ "token": token, "new_password": "short" }),
        )
        .await;
    assert_eq!(weak.status(), 422);
    assert_eq!(
        app.post(
            "/api/v1/auth/password-reset/confirm",
            json!({ "token": "made-up", "new_password": "a brand new password" })
        )
        .await
        .status(),
        400
    );
    assert_eq!(
        app.post(
            "/api/v1/auth/password-reset/confirm",
            json!({ "token": token, "new_password": "a brand new password" })
        )
        .await
        .status(),
        204
    );
    // Single use.
    assert_eq!(
        app.post(
            "/api/v1/auth/password-reset/confirm",
            json!({ "token": token, "new_password": "yet another password" })
        )
        .await
        .status(),
        400
    );
    // Every existing login is revoked; the new password works, the old does not.
    assert_eq!(
        app.post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": old["refresh_token"] })
        )
        .await
        .status(),
        401
    );
    assert_eq!(
        app.post(
            "/api/v1/auth/login",
            json!({ "email": "kim@example.com", "password": "a long enough password" })
        )
        .await
        .status(),
        401
    );
    let fresh: Value = app
        .post(
            "/api/v1/auth/login",
            json!({ "email": "kim@example.com", "password": "a brand new password" }),
        )
        .await
        .json()
        .await
        .unwrap();
    let audit: Value = app
        .get_with("/api/v1/audit", fresh["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions[..4],
        [
            "login",
            "login_failed",
            "password_reset",
            "password_reset_requested"
        ]
    );
}
both_backends!(password_reset, super::password_reset_through_the_outbox);

async fn reset_requests_are_limited(backend: Backend) {
    let app = spawn_app(backend).await;
    for _ in 0..5 {
        assert_eq!(
            app.post(
                "/api/v1/auth/password-reset/request",
                json!({ "email": "lee@example.com" })
            )
            .await
            .status(),
            202
        );
    }
    let r = app
        .post(
            "/api/v1/auth/password-reset/request",
            json!({ "email": "lee@example.com" }),
        )
        .await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
}
both_backends!(reset_limits, super::reset_requests_are_limited);
