//! Signed-in sessions (CONTRACT.md, "Second factor and sessions"): the
//! list with device and address, ending one from another device (its
//! refresh and access tokens die, its live sync connection closes within a
//! second, the others go on), and sessions ended by logout leave the list.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::both_backends;
use crate::device::Device;
use crate::helpers::{Backend, TestApp, spawn_app};

async fn sign_in(app: &TestApp, path: &str, user_agent: &str, body: Value) -> Value {
    let r = app
        .client
        .post(app.url(path))
        .header("user-agent", user_agent)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

async fn sessions(app: &TestApp, token: &str) -> Vec<Value> {
    let r = app.get_with("/api/v1/sessions", token).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

async fn delete(app: &TestApp, token: &str, id: &str) -> u16 {
    app.client
        .delete(app.url(&format!("/api/v1/sessions/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn access(pair: &Value) -> &str {
    pair["access_token"].as_str().unwrap()
}

async fn sessions_are_listed_and_ended_one_by_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let credentials = json!({ "email": "kim@example.com", "password": "a long enough password" });
    let laptop = sign_in(
        &app,
        "/api/v1/auth/register",
        "Firefox on the laptop",
        credentials.clone(),
    )
    .await;
    let phone = sign_in(
        &app,
        "/api/v1/auth/login",
        "LifeOS phone\tapp",
        credentials.clone(),
    )
    .await;
    let long_agent = format!("Tablet {}", "x".repeat(400));
    let tablet = sign_in(&app, "/api/v1/auth/login", &long_agent, credentials.clone()).await;

    let listed = sessions(&app, access(&laptop)).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    let by_agent = |agent: &str| {
        listed
            .iter()
            .find(|s| s["user_agent"] == agent)
            .unwrap_or_else(|| panic!("{agent} in {listed:?}"))
            .clone()
    };
    let laptop_session = by_agent("Firefox on the laptop");
    assert_eq!(laptop_session["current"], true);
    assert_eq!(laptop_session["ip"], "127.0.0.1");
    assert!(
        laptop_session["created_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert!(
        laptop_session["last_used_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    // Control characters never reach the list; a long User-Agent is cut.
    assert_eq!(by_agent(&long_agent[..256])["current"], false);
    let phone_session = by_agent("LifeOS phoneapp");
    assert_eq!(phone_session["current"], false);
    let phone_id = phone_session["id"].as_str().unwrap().to_string();

    // A refresh marks the session used and keeps it the same session.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let refreshed = sign_in(
        &app,
        "/api/v1/auth/refresh",
        "LifeOS phone app 2",
        json!({ "refresh_token": phone["refresh_token"] }),
    )
    .await;
    let listed = sessions(&app, access(&refreshed)).await;
    assert_eq!(listed.len(), 3);
    assert_eq!(
        listed[0]["id"],
        phone_id.as_str(),
        "most recently used first"
    );
    assert_eq!(listed[0]["user_agent"], "LifeOS phone app 2");
    assert_eq!(listed[0]["current"], true);

    // The phone syncs; the laptop ends the phone's session.
    let mut device = Device::online("phone", &app.sync_url(access(&refreshed))).await;
    let doc = device.create("note", "from the phone").await;
    device
        .run_until(
            "the relay stores the phone's note",
            Duration::from_secs(5),
            Device::all_confirmed,
        )
        .await;
    let mut laptop_device = Device::online("laptop", &app.sync_url(access(&laptop))).await;
    laptop_device.want(doc).await;
    laptop_device
        .run_until(
            "the laptop has the phone's note",
            Duration::from_secs(5),
            |d| d.get(doc, "note").is_some(),
        )
        .await;
    let ended_at = Instant::now();
    assert_eq!(delete(&app, access(&laptop), &phone_id).await, 204);
    device
        .run_until(
            "the phone's connection closes",
            Duration::from_secs(1),
            |d| !d.is_connected(),
        )
        .await;
    println!(
        "the ended session's connection closed {:?} after the DELETE",
        ended_at.elapsed()
    );
    // Its tokens are dead; a reconnect is refused; the others go on.
    assert_eq!(
        app.get_with("/api/v1/me", access(&refreshed))
            .await
            .status(),
        401
    );
    let r = app
        .post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": refreshed["refresh_token"] }),
        )
        .await;
    assert_eq!(r.status(), 401);
    assert!(
        device
            .connect(&app.sync_url(access(&refreshed)))
            .await
            .is_err()
    );
    assert!(laptop_device.is_connected());
    laptop_device.put(doc, "note", "still syncing").await;
    laptop_device
        .run_until(
            "the laptop's change is confirmed",
            Duration::from_secs(5),
            |d| d.all_confirmed(),
        )
        .await;
    assert_eq!(
        app.get_with("/api/v1/me", access(&tablet)).await.status(),
        200
    );
    let listed = sessions(&app, access(&laptop)).await;
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|s| s["id"] != phone_id.as_str()));

    // Ended already, unknown, malformed: all 404.
    for id in [
        phone_id.as_str(),
        "00000000-0000-4000-8000-000000000000",
        "not-a-session",
    ] {
        assert_eq!(delete(&app, access(&laptop), id).await, 404, "{id}");
    }
    // Logging out ends a session too; ending one's own session works.
    let r = app
        .post(
            "/api/v1/auth/logout",
            json!({ "refresh_token": tablet["refresh_token"] }),
        )
        .await;
    assert_eq!(r.status(), 204);
    assert_eq!(
        app.get_with("/api/v1/me", access(&tablet)).await.status(),
        401
    );
    let listed = sessions(&app, access(&laptop)).await;
    assert_eq!(listed.len(), 1);
    let own = listed[0]["id"].as_str().unwrap().to_string();
    assert_eq!(delete(&app, access(&laptop), &own).await, 204);
    assert_eq!(
        app.get_with("/api/v1/sessions", access(&laptop))
            .await
            .status(),
        401
    );

    let fresh = app.login("kim@example.com").await;
    let audit: Value = app
        .get_with("/api/v1/audit", access(&fresh))
        .await
        .json()
        .await
        .unwrap();
    let ended: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "session_ended")
        .collect();
    assert_eq!(ended.len(), 2, "{audit}");
}
both_backends!(
    listed_and_ended,
    super::sessions_are_listed_and_ended_one_by_one
);
