//! `LIFEOS_TRUSTED_PROXIES`: behind a trusted reverse proxy, rate limits
//! and the audit log see each client's address from `X-Forwarded-For`;
//! from anyone else the header is ignored, so it cannot be forged.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, spawn_app_configured};

async fn me_from(app: &TestApp, token: &str, forwarded_for: &str) -> u16 {
    app.client
        .get(app.url("/api/v1/me"))
        .bearer_auth(token)
        .header("X-Forwarded-For", forwarded_for)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn relay(backend: Backend, trusted: &str) -> TestApp {
    let trusted = trusted.to_string();
    spawn_app_configured(backend, Default::default(), move |c| {
        c.api_rate_per_ip = 3;
        c.trusted_proxies = trusted
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
    })
    .await
}

async fn clients_behind_a_trusted_proxy_are_told_apart(backend: Backend) {
    let app = relay(backend, "127.0.0.1,10.0.0.0/8").await;
    let pair = app.register("proxied@example.com").await;
    let token = pair["access_token"].as_str().unwrap().to_string();
    for _ in 0..3 {
        assert_eq!(me_from(&app, &token, "203.0.113.1").await, 200);
    }
    assert_eq!(
        me_from(&app, &token, "203.0.113.1").await,
        429,
        "that client is limited"
    );
    assert_eq!(
        me_from(&app, &token, "203.0.113.2").await,
        200,
        "another client is not"
    );
    // A forged left part does not help: the proxy's own hop is what counts.
    assert_eq!(me_from(&app, &token, "9.9.9.9, 203.0.113.1").await, 429);

    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("X-Forwarded-For", "198.51.100.4, 10.1.2.3")
        .json(&json!({ "email": "proxied@example.com", "password": "a long enough password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let audit: Value = app
        .get_with("/api/v1/audit", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(audit["items"][0]["action"], "login");
    assert_eq!(audit["items"][0]["ip"], "198.51.100.4");
}

async fn without_trusted_proxies_the_header_is_ignored(backend: Backend) {
    let app = relay(backend, "").await;
    let pair = app.register("direct@example.com").await;
    let token = pair["access_token"].as_str().unwrap().to_string();
    for n in 0..3 {
        assert_eq!(me_from(&app, &token, &format!("203.0.113.{n}")).await, 200);
    }
    assert_eq!(
        me_from(&app, &token, "203.0.113.99").await,
        429,
        "a forged header does not make a new client"
    );
}

both_backends!(
    trusted,
    super::clients_behind_a_trusted_proxy_are_told_apart
);
both_backends!(
    untrusted,
    super::without_trusted_proxies_the_header_is_ignored
);
