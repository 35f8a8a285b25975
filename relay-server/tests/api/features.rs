use lifeos_relay::features::Features;

use crate::both_backends;
use crate::helpers::{Backend, spawn_app_with};

async fn flags_are_public(backend: Backend) {
    let features = Features::from_vars([
        (
            "LIFEOS_FEATURE_SIGNUP_INVITES".to_string(),
            "on".to_string(),
        ),
        ("LIFEOS_FEATURE_BETA_SYNC".to_string(), "off".to_string()),
    ])
    .unwrap();
    let app = spawn_app_with(backend, features).await;
    let r = app
        .client
        .get(app.url("/api/v1/features"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "flags": { "signup_invites": true, "beta_sync": false } })
    );
}
both_backends!(feature_flags, super::flags_are_public);
