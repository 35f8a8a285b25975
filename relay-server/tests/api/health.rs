use std::time::Duration;

use crate::both_backends;
use crate::helpers::{Backend, admin_execute, spawn_app};

async fn health_and_readiness(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(body["database"], expected);
}
both_backends!(health_and_readiness_answer, super::health_and_readiness);

async fn unknown_paths_are_problem_json(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = app
        .client
        .get(app.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["status"], 404);
    assert_eq!(body["title"], "Not Found");
    assert!(body["type"].is_string() && body["detail"].is_string());
}
both_backends!(unknown_paths, super::unknown_paths_are_problem_json);

/// Postgres goes away and comes back: /readyz says 503 meanwhile, then 200
/// again, with no restart of the relay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_database() {
    let mut app = spawn_app(Backend::Postgres).await;
    let name = app.postgres_db.clone().unwrap();
    admin_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).await;
    let mut status = 0;
    for _ in 0..50 {
        status = app
            .client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 503, "not ready while the database is gone");
    let body: serde_json::Value = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !body["detail"].as_str().unwrap().contains("database \""),
        "no internal error text: {body}"
    );
    admin_execute(&format!("CREATE DATABASE {name}")).await;
    for _ in 0..50 {
        status = app
            .client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "ready again once the database is back");
    app.postgres_db = Some(name);
}

/// `lifeos-relay healthcheck` (the container's HEALTHCHECK) says ready for
/// a serving relay, also when it listens on every address, and fails when
/// nothing listens.
#[tokio::test]
async fn the_healthcheck_command_asks_readyz() {
    let app = spawn_app(Backend::Sqlite).await;
    let address = app.address;
    let answer = tokio::task::spawn_blocking(move || lifeos_relay::healthcheck(address))
        .await
        .unwrap();
    assert!(answer.is_ok(), "{answer:?}");
    let any: std::net::SocketAddr = format!("0.0.0.0:{}", address.port()).parse().unwrap();
    let answer = tokio::task::spawn_blocking(move || lifeos_relay::healthcheck(any))
        .await
        .unwrap();
    assert!(
        answer.is_ok(),
        "the loopback address for an unspecified one: {answer:?}"
    );
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let answer = tokio::task::spawn_blocking(move || lifeos_relay::healthcheck(free))
        .await
        .unwrap();
    assert!(answer.is_err());
}
