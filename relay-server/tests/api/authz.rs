//! The authorization matrix (issue 9), driven by the OpenAPI document so
//! that a new route is covered the day it is added:
//! - every operation that needs a bearer token, tried with none, an expired
//!   one, one signed with another secret, one of an account that does not
//!   exist, and garbage: 401, the same body every time;
//! - every operation on an entity id, tried by another account with the
//!   owner's real id and with an id that exists nowhere: the same answer
//!   (404), so nothing tells whether the target exists; the owner's data is
//!   untouched.
//!
//! The sync protocol's side (another account's documents are
//! `doc-unavailable` exactly like missing ones, a forged `senderId` closes
//! the connection) is in `sync.rs`.

use std::collections::BTreeSet;

use lifeos_core::habits::{HabitKind, NewHabit, Schedule};
use lifeos_core::time::Timestamp;
use lifeos_core::{DocumentId, EntityId, UserData};
use serde_json::{Value, json};

use crate::both_backends;
use crate::device::Device;
use crate::helpers::{Backend, TEST_JWT_SECRET, TestApp, spawn_app};

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn sign(claims: Value, secret: &str) -> String {
    use jsonwebtoken::{EncodingKey, Header, encode};
    encode(
        &Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn openapi(app: &TestApp) -> Value {
    app.client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `(method, path template)` of every operation whose only security
/// requirement is the bearer token (the sync upgrade also takes `?token=`
/// and is tried in `sync.rs`; `/metrics` has its own token).
fn bearer_operations(spec: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let security = op["security"]
                .as_array()
                .or_else(|| spec["security"].as_array())
                .cloned()
                .unwrap_or_default();
            let bearer_only = !security.is_empty()
                && security.iter().all(|s| {
                    s.as_object()
                        .is_some_and(|o| o.len() == 1 && o.contains_key("bearer"))
                });
            if bearer_only {
                out.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// `path` with every `{parameter}` replaced by `id`.
fn concrete(path: &str, id: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
        out.push_str(id);
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> (u16, Value) {
    let mut request = app
        .client
        .request(method.parse().unwrap(), app.url(path))
        .json(body);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn every_secured_operation_refuses_bad_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let pair = app.register("ada@example.com").await;
    let user = pair["user"]["id"].as_str().unwrap();
    let now = now_secs();
    let expired = sign(
        json!({ "sub": user, "iat": now - 3600, "exp": now - 60 }),
        TEST_JWT_SECRET,
    );
    let other_secret = sign(
        json!({ "sub": user, "iat": now, "exp": now + 600 }),
        "another-secret-another-secret-another",
    );
    let nobody = sign(
        json!({ "sub": "00000000-0000-4000-8000-000000000000", "iat": now, "exp": now + 600 }),
        TEST_JWT_SECRET,
    );
    let spec = openapi(&app).await;
    let operations = bearer_operations(&spec);
    assert!(
        operations.len() >= 12,
        "the OpenAPI document lists the secured operations: {operations:?}"
    );
    let mut bodies = BTreeSet::new();
    for (method, path) in &operations {
        let target = concrete(
            path,
            &EntityId::generate(Timestamp::from_millis(now * 1000)).to_string(),
        );
        for (label, token) in [
            ("no", None),
            ("an expired", Some(expired.as_str())),
            ("another secret's", Some(other_secret.as_str())),
            ("a nonexistent account's", Some(nobody.as_str())),
            ("a garbage", Some("garbage")),
        ] {
            let (status, body) = call(&app, method, &target, token, &json!({})).await;
            assert_eq!(status, 401, "{method} {path} with {label} token: {body}");
            bodies.insert(body.to_string());
        }
    }
    assert_eq!(
        bodies.len(),
        1,
        "every refusal reads the same, whatever the route or the token: {bodies:?}"
    );
}
both_backends!(
    bad_tokens,
    super::every_secured_operation_refuses_bad_tokens
);

/// Replaces every UUID in `text` by `ID`, to compare answers about
/// different ids.
fn without_ids(value: &Value) -> String {
    let text = value.to_string();
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < text.len() {
        let candidate = text.get(i..i + 36);
        if let Some(c) = candidate
            && uuid::Uuid::parse_str(c).is_ok()
        {
            out.push_str("ID");
            i += 36;
        } else {
            out.push(bytes[i] as char);
            i += 1;
        }
    }
    out
}

async fn another_accounts_ids_answer_like_missing_ones(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.register("owner@example.com").await;
    let owner_token = owner["access_token"].as_str().unwrap().to_string();
    let owner_id: uuid::Uuid = owner["user"]["id"].as_str().unwrap().parse().unwrap();
    // The owner's habit comes from a device; a task and an expense from the API.
    let now = Timestamp::from_millis(now_secs() * 1000);
    let mut data = UserData::create(DocumentId::root_of_user(&owner_id), now).unwrap();
    let habit = data
        .add_habit(
            now,
            NewHabit {
                name: "Owner's habit".into(),
                schedule: Schedule::Daily,
                kind: HabitKind::YesNo,
                start: "2026-01-01".parse().unwrap(),
            },
        )
        .unwrap();
    let mut device = Device::new("owner-laptop");
    device.connect(&app.sync_url(&owner_token)).await.unwrap();
    device.upload(&mut data).await;
    let (status, task) = call(
        &app,
        "POST",
        "/api/v1/tasks",
        Some(&owner_token),
        &json!({ "title": "Owner's task" }),
    )
    .await;
    assert_eq!(status, 201, "{task}");
    let (status, expense) = call(
        &app,
        "POST",
        "/api/v1/expenses",
        Some(&owner_token),
        &json!({ "amount": "9.99", "currency": "EUR", "date": "2026-11-01", "payee": "Owner's shop" }),
    )
    .await;
    assert_eq!(status, 201, "{expense}");
    let ids = [
        (
            "/api/v1/tasks/{id}",
            task["id"].as_str().unwrap().to_string(),
        ),
        (
            "/api/v1/expenses/{id}",
            expense["id"].as_str().unwrap().to_string(),
        ),
        ("/api/v1/habits/{id}/checkins", habit.to_string()),
    ];

    // Every operation on an id in the OpenAPI document is tried here.
    let spec = openapi(&app).await;
    let templated: BTreeSet<(String, String)> = bearer_operations(&spec)
        .into_iter()
        .filter(|(_, p)| p.contains('{'))
        .collect();
    // A valid body for each, so that only the id can be the problem.
    let bodies = |method: &str, path: &str| match (method, path) {
        ("PATCH", "/api/v1/tasks/{id}") => json!({ "title": "Mine now" }),
        ("PATCH", "/api/v1/expenses/{id}") => json!({ "payee": "Mine now" }),
        ("POST", _) => json!({ "state": "done", "date": "2026-11-02" }),
        _ => json!({}),
    };
    let stranger = app.register("stranger@example.com").await;
    let stranger_token = stranger["access_token"].as_str().unwrap();
    let mut tried = BTreeSet::new();
    for (method, path) in &templated {
        let real = &ids
            .iter()
            .find(|(p, _)| p == path)
            .unwrap_or_else(|| panic!("{method} {path}: add an owner's id for it to this test"))
            .1;
        let missing = EntityId::generate(now).to_string();
        let body = bodies(method, path);
        let (status_real, answer_real) = call(
            &app,
            method,
            &concrete(path, real),
            Some(stranger_token),
            &body,
        )
        .await;
        let (status_missing, answer_missing) = call(
            &app,
            method,
            &concrete(path, &missing),
            Some(stranger_token),
            &body,
        )
        .await;
        assert_eq!(
            status_real, 404,
            "{method} {path} with the owner's id: {answer_real}"
        );
        assert_eq!(
            (status_real, without_ids(&answer_real)),
            (status_missing, without_ids(&answer_missing)),
            "{method} {path}: another account's id must read like one that does not exist"
        );
        tried.insert((method.clone(), path.clone()));
    }
    assert_eq!(tried, templated);
    assert!(tried.len() >= 4, "{tried:?}");

    // Nothing of the owner's changed.
    let (_, tasks) = call(
        &app,
        "GET",
        "/api/v1/tasks",
        Some(&owner_token),
        &Value::Null,
    )
    .await;
    assert_eq!(tasks["items"][0]["title"], "Owner's task");
    let (_, checkins) = call(
        &app,
        "GET",
        &format!("/api/v1/habits/{habit}/checkins"),
        Some(&owner_token),
        &Value::Null,
    )
    .await;
    assert!(
        checkins["items"].as_array().is_none_or(|a| a.is_empty()),
        "{checkins}"
    );
}
both_backends!(
    foreign_ids,
    super::another_accounts_ids_answer_like_missing_ones
);
