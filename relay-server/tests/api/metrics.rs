//! `/metrics`: absent unless `LIFEOS_METRICS_TOKEN` is set, then only for
//! that bearer token, with counters that move as devices sync and logins fail.

use std::time::Duration;

use serde_json::json;

use crate::both_backends;
use crate::device::Device;
use crate::helpers::{Backend, TestApp, spawn_app, spawn_app_configured};

/// Random per run: the relay refuses a token written in the repository.
static TOKEN: std::sync::LazyLock<String> = std::sync::LazyLock::new(crate::helpers::random_secret);

async fn scrape(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// The value of the sample line that starts with `name` (with its labels).
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
        .parse()
        .unwrap()
}

async fn metrics_are_off_unless_a_token_is_set(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = scrape(&app, Some(&TOKEN)).await;
    assert_eq!(r.status(), 404);
}

async fn metrics_need_the_token_and_count_what_happens(backend: Backend) {
    let app = spawn_app_configured(backend, Default::default(), |c| {
        c.metrics_token = Some(TOKEN.clone());
    })
    .await;
    let r = scrape(&app, None).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        scrape(&app, Some("a-long-random-metrics-tokem"))
            .await
            .status(),
        401
    );
    assert_eq!(scrape(&app, Some("")).await.status(), 401);

    // Refused logins and tokens are counted by kind.
    let pair = app.register("metrics@example.com").await;
    let token = pair["access_token"].as_str().unwrap().to_string();
    let r = app
        .post(
            "/api/v1/auth/login",
            json!({ "email": "metrics@example.com", "password": "not the password at all" }),
        )
        .await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        app.get_with("/api/v1/me", "not-a-token").await.status(),
        401
    );

    // Two devices sync a document: messages both ways, a stored batch, a fan-out.
    let mut phone = Device::new("phone");
    phone.connect(&app.sync_url(&token)).await.unwrap();
    let mut laptop = Device::new("laptop");
    laptop.connect(&app.sync_url(&token)).await.unwrap();
    let doc = phone.create("title", "hello").await;
    phone
        .run_until("stored", Duration::from_secs(10), |d| d.all_confirmed())
        .await;
    laptop.want(doc).await;
    laptop
        .run_until("arrived", Duration::from_secs(10), |d| {
            d.get(doc, "title").is_some()
        })
        .await;
    phone.put(doc, "title", "again").await;
    laptop
        .run_until("fanned out", Duration::from_secs(10), |d| {
            d.get(doc, "title").as_deref() == Some("again")
        })
        .await;

    let r = scrape(&app, Some(&TOKEN)).await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text"),
    );
    let text = r.text().await.unwrap();
    assert_eq!(sample(&text, "lifeos_sync_connections"), 2.0);
    assert_eq!(sample(&text, "lifeos_sync_documents"), 1.0);
    assert!(
        sample(&text, "lifeos_sync_messages_received_total") >= 3.0,
        "{text}"
    );
    assert!(
        sample(&text, "lifeos_sync_messages_sent_total") >= 3.0,
        "{text}"
    );
    assert!(
        sample(&text, "lifeos_persist_seconds_count") >= 2.0,
        "{text}"
    );
    assert!(
        sample(&text, "lifeos_fanout_seconds_count") >= 1.0,
        "{text}"
    );
    assert_eq!(
        sample(&text, "lifeos_auth_failures_total{kind=\"login\"}"),
        1.0
    );
    assert_eq!(
        sample(&text, "lifeos_auth_failures_total{kind=\"token\"}"),
        1.0
    );
    assert_eq!(
        sample(&text, "lifeos_auth_failures_total{kind=\"metrics\"}"),
        3.0
    );
    let max = sample(&text, "lifeos_db_max_connections");
    let idle = sample(&text, "lifeos_db_connections{state=\"idle\"}");
    assert!(max >= 1.0 && idle <= max, "{text}");
    assert!(text.ends_with("# EOF\n"));
    // No secret or address ends up in the output.
    assert!(!text.contains(TOKEN.as_str()) && !text.contains("metrics@example.com"));
}

both_backends!(off_by_default, super::metrics_are_off_unless_a_token_is_set);
both_backends!(
    protected_and_counting,
    super::metrics_need_the_token_and_count_what_happens
);
