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
//! - the sync upgrade, tried with the same bad tokens: 401;
//! - every protocol message type, sent by another account's connection
//!   about the owner's documents (one in memory, one only in storage) and
//!   routed to the owner's device: nothing reaches the owner's devices,
//!   nothing changes, and the answers read exactly like those about a
//!   document that does not exist.
//!
//! More of the sync side (a forged `senderId` closes the connection, a
//! new device of the owner still reads only the owner's data) is in
//! `sync.rs`.

use std::collections::BTreeSet;

use lifeos_core::habits::{HabitKind, NewHabit, Schedule};
use lifeos_core::time::Timestamp;
use std::time::Duration;

use automerge::AutoCommit;
use automerge::sync::SyncDoc;
use automerge::transaction::Transactable;
use lifeos_core::sync::{Message, PROTOCOL_VERSION, PeerId, RemoteHeads, StorageId};
use lifeos_core::{DocumentId, EntityId, UserData};
use serde_json::{Value, json};

use crate::both_backends;
use crate::device::Device;
use crate::helpers::{Backend, TEST_JWT_SECRET, TestApp, spawn_app, spawn_app_configured};

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

/// Tokens that must not get in, for an account `user` that exists.
fn bad_tokens(user: &str) -> Vec<(&'static str, Option<String>)> {
    let now = now_secs();
    let expired = sign(
        json!({ "sub": user, "iat": now - 3600, "exp": now - 60 }),
        &TEST_JWT_SECRET,
    );
    let other_secret = sign(
        json!({ "sub": user, "iat": now, "exp": now + 600 }),
        "another-secret-another-secret-another",
    );
    let nobody = sign(
        json!({ "sub": "00000000-0000-4000-8000-000000000000", "iat": now, "exp": now + 600 }),
        &TEST_JWT_SECRET,
    );
    vec![
        ("no", None),
        ("an expired", Some(expired)),
        ("another secret's", Some(other_secret)),
        ("a nonexistent account's", Some(nobody)),
        ("a garbage", Some("garbage".into())),
    ]
}

async fn every_secured_operation_refuses_bad_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let pair = app.register("ada@example.com").await;
    let user = pair["user"]["id"].as_str().unwrap();
    let now = now_secs();
    let tokens = bad_tokens(user);
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
        for (label, token) in &tokens {
            let (status, body) = call(&app, method, &target, token.as_deref(), &json!({})).await;
            assert_eq!(status, 401, "{method} {path} with {label} token: {body}");
            bodies.insert(body.to_string());
        }
    }
    assert_eq!(
        bodies.len(),
        1,
        "every refusal reads the same, whatever the route or the token: {bodies:?}"
    );
    // The sync upgrade refuses them too (it takes the token from the query
    // or from the Authorization header; `sync.rs` tries the header).
    for (label, token) in &tokens {
        let url = match token {
            Some(t) => app.sync_url(t),
            None => format!("ws://{}/api/v1/sync", app.address),
        };
        assert_eq!(
            Device::new("intruder").connect(&url).await,
            Err("401".into()),
            "the sync upgrade with {label} token"
        );
    }
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
    let mut device = Device::online("owner-laptop", &app.sync_url(&owner_token)).await;
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
    let (_, sessions) = call(
        &app,
        "GET",
        "/api/v1/sessions",
        Some(&owner_token),
        &Value::Null,
    )
    .await;
    let owner_session = sessions["items"][0]["id"].as_str().unwrap().to_string();
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
        ("/api/v1/sessions/{id}", owner_session.clone()),
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
    // The owner's session was not ended by the stranger's DELETE.
    let (status, sessions) = call(
        &app,
        "GET",
        "/api/v1/sessions",
        Some(&owner_token),
        &Value::Null,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(sessions["items"][0]["id"], owner_session.as_str());
}
both_backends!(
    foreign_ids,
    super::another_accounts_ids_answer_like_missing_ones
);

/// Everything a device may send, aimed at `doc`: `(label, message)`.
/// `victim` is a device of the document's owner (messages routed to it
/// name it as their target), whose storage id the subscription messages
/// name. Messages that carry no document are in the list too: they must
/// not reach anyone else either.
fn every_message(
    doc: DocumentId,
    me: &PeerId,
    relay: &PeerId,
    victim: &PeerId,
    victim_storage: &StorageId,
) -> Vec<(&'static str, Message)> {
    let empty = {
        let mut state = automerge::sync::State::new();
        AutoCommit::new()
            .sync()
            .generate_sync_message(&mut state)
            .expect("an empty document still asks")
            .encode()
    };
    let with_change = {
        let mut evil = AutoCommit::new();
        evil.put(automerge::ROOT, "secret", "mallory's").unwrap();
        evil.commit();
        let mut state = automerge::sync::State::new();
        evil.sync()
            .generate_sync_message(&mut state)
            .expect("a change to offer")
            .encode()
    };
    let request = |target: &PeerId| Message::Request {
        document_id: doc,
        sender_id: me.clone(),
        target_id: target.clone(),
        data: empty.clone(),
    };
    let sync = |target: &PeerId| Message::Sync {
        document_id: doc,
        sender_id: me.clone(),
        target_id: target.clone(),
        data: with_change.clone(),
    };
    let ephemeral = |target: &PeerId| Message::Ephemeral {
        document_id: doc,
        sender_id: me.clone(),
        target_id: target.clone(),
        count: 1,
        session_id: "mallory-session".into(),
        // CBOR for {"cursor": 1}.
        data: vec![0xa1, 0x66, b'c', b'u', b'r', b's', b'o', b'r', 0x01],
    };
    vec![
        ("request", request(relay)),
        ("sync carrying a change", sync(relay)),
        ("request routed to the owner's device", request(victim)),
        ("sync routed to the owner's device", sync(victim)),
        (
            "doc-unavailable",
            Message::DocUnavailable {
                document_id: doc,
                sender_id: me.clone(),
                target_id: relay.clone(),
            },
        ),
        (
            "doc-unavailable routed to the owner's device",
            Message::DocUnavailable {
                document_id: doc,
                sender_id: me.clone(),
                target_id: victim.clone(),
            },
        ),
        ("ephemeral", ephemeral(relay)),
        ("ephemeral routed to the owner's device", ephemeral(victim)),
        (
            "remote-subscription-change",
            Message::RemoteSubscriptionChange {
                sender_id: me.clone(),
                target_id: relay.clone(),
                add: vec![victim_storage.clone()],
                remove: Vec::new(),
            },
        ),
        (
            "remote-heads-changed",
            Message::RemoteHeadsChanged {
                document_id: doc,
                sender_id: me.clone(),
                target_id: victim.clone(),
                new_heads: [(
                    victim_storage.clone(),
                    RemoteHeads {
                        heads: Vec::new(),
                        timestamp: 1,
                    },
                )]
                .into(),
            },
        ),
        (
            "join again",
            Message::Join {
                sender_id: me.clone(),
                supported_protocol_versions: vec![PROTOCOL_VERSION.into()],
                peer_metadata: None,
            },
        ),
        (
            "peer",
            Message::Peer {
                sender_id: me.clone(),
                target_id: victim.clone(),
                selected_protocol_version: PROTOCOL_VERSION.into(),
                peer_metadata: None,
            },
        ),
        (
            "error",
            Message::Error {
                message: "bye".into(),
                sender_id: Some(me.clone()),
                target_id: Some(victim.clone()),
            },
        ),
        (
            "leave",
            Message::Leave {
                sender_id: me.clone(),
            },
        ),
    ]
}

/// What the relay sent `device`, one line per message (its type, and the
/// document it is about as `TARGET` when it is `target`), then how the
/// connection ended, if it did.
fn transcript(device: &Device, target: DocumentId) -> Vec<String> {
    let mut lines: Vec<String> = device
        .log
        .iter()
        .map(|m| {
            let about = match m.document_id() {
                Some(d) if d == target => " TARGET",
                Some(_) => " another document",
                None => "",
            };
            format!("{}{about}", m.type_name())
        })
        .collect();
    if let Some((code, _)) = &device.closed {
        lines.push(format!("closed ({code})"));
    }
    lines
}

async fn no_protocol_message_reaches_another_accounts_documents(backend: Backend) {
    const WINDOW: Duration = Duration::from_millis(250);
    const WAIT: Duration = Duration::from_secs(10);
    // Documents nobody syncs leave memory after a second, so that one of
    // the owner's documents is only in storage when it is attacked.
    let app = spawn_app_configured(backend, Default::default(), |c| c.doc_idle_secs = 1).await;
    let owner = app.register("owner@example.com").await;
    let owner_token = owner["access_token"].as_str().unwrap().to_string();
    let mallory = app.register("mallory@example.com").await;
    let mallory_token = mallory["access_token"].as_str().unwrap().to_string();

    // The owner's tablet writes a document and goes offline: it leaves memory.
    let mut tablet = Device::online("owner-tablet", &app.sync_url(&owner_token)).await;
    let stored = tablet.create("secret", "the owner's, stored").await;
    tablet
        .run_until("stored", WAIT, Device::all_confirmed)
        .await;
    let stored_heads = tablet.heads(stored);
    tablet.disconnect();
    // The laptop and phone sync another one, which stays in memory.
    let mut laptop = Device::online("owner-laptop", &app.sync_url(&owner_token)).await;
    let live = laptop.create("secret", "the owner's, live").await;
    laptop
        .run_until("stored", WAIT, Device::all_confirmed)
        .await;
    let mut phone = Device::online("owner-phone", &app.sync_url(&owner_token)).await;
    phone.want(live).await;
    phone
        .run_until("the phone has it", WAIT, |d| {
            d.get(live, "secret").is_some()
        })
        .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.sync.stats().await.documents != 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the tablet's document stays in memory"
        );
        laptop.run_for(Duration::from_millis(50)).await;
        phone.run_for(Duration::from_millis(50)).await;
    }
    let relay = laptop.relay.clone().expect("connected");
    let victim = laptop.peer().clone();
    let victim_storage = StorageId::new(format!("storage-{victim}")).unwrap();

    // The owner's devices would see what the relay passes on: an
    // ephemeral message from the phone reaches the laptop.
    let me = phone.peer().clone();
    let from_phone = every_message(live, &me, &relay, &victim, &victim_storage)
        .into_iter()
        .find(|(label, _)| *label == "ephemeral")
        .unwrap()
        .1;
    phone.send_raw(lifeos_core::sync::encode(&from_phone)).await;
    laptop
        .run_until("the phone's ephemeral message", WAIT, |d| {
            d.log.iter().any(|m| matches!(m, Message::Ephemeral { .. }))
        })
        .await;
    laptop.log.clear();
    phone.run_for(WINDOW).await;
    phone.log.clear();
    let laptop_heads = laptop.heads(live);

    // Every message, about each target, each on a new connection of
    // Mallory's (some end it), naming that connection's peer as sender.
    let targets = [
        ("in memory", live),
        ("only in storage", stored),
        ("nonexistent", DocumentId::generate()),
    ];
    let labels: Vec<&str> = every_message(live, &relay, &relay, &victim, &victim_storage)
        .iter()
        .map(|(label, _)| *label)
        .collect();
    for label in labels {
        let mut answers = Vec::new();
        for (name, target) in targets {
            let mut intruder = Device::online("mallory", &app.sync_url(&mallory_token)).await;
            let message = every_message(target, intruder.peer(), &relay, &victim, &victim_storage)
                .into_iter()
                .find(|(l, _)| *l == label)
                .unwrap()
                .1;
            intruder.send_raw(lifeos_core::sync::encode(&message)).await;
            intruder.run_for(WINDOW).await;
            answers.push((name, transcript(&intruder, target)));
        }
        let [(_, in_memory), (_, in_storage), (_, nonexistent)] = &answers[..] else {
            unreachable!()
        };
        if label == "sync carrying a change" {
            // A sync under a fresh id creates the sender's own document,
            // which an owned id cannot do: that answer differs, and says
            // only "this id is taken". Document ids are 128 random bits
            // (a root document's derives from its account's id, which no
            // other account is ever shown), so it tells nothing that is
            // not already a secret. The refusal is the same wherever the
            // owner's document is.
            assert_eq!(
                in_memory,
                &vec!["doc-unavailable TARGET".to_string()],
                "{label}"
            );
            assert_eq!(in_storage, in_memory, "{label}");
            assert!(
                nonexistent.contains(&"sync TARGET".to_string()),
                "a sync under a fresh id creates a document: {nonexistent:?}"
            );
        } else {
            assert_eq!(
                (in_memory, in_storage),
                (nonexistent, nonexistent),
                "{label}: another account's document (in memory, in storage) must read like a missing one"
            );
        }
        // Nothing reached the owner's devices.
        laptop.run_for(Duration::from_millis(20)).await;
        phone.run_for(Duration::from_millis(20)).await;
        for device in [&laptop, &phone] {
            assert!(
                device.log.is_empty() && device.is_connected(),
                "{label}: the owner's device heard {:?} (connected: {})",
                transcript(device, live),
                device.is_connected()
            );
        }
    }
    laptop.run_for(WINDOW).await;
    phone.run_for(WINDOW).await;
    assert!(laptop.log.is_empty() && phone.log.is_empty());

    // Nothing changed: the live document on both devices, and the stored
    // one as a new device reads it from the relay.
    assert_eq!(laptop.heads(live), laptop_heads);
    assert_eq!(phone.heads(live), laptop_heads);
    assert_eq!(
        laptop.get(live, "secret").as_deref(),
        Some("the owner's, live")
    );
    let mut desktop = Device::online("owner-desktop", &app.sync_url(&owner_token)).await;
    desktop.want(stored).await;
    desktop
        .run_until("the stored document", WAIT, |d| {
            d.heads(stored) == stored_heads
        })
        .await;
    desktop.run_for(WINDOW).await;
    assert_eq!(desktop.heads(stored), stored_heads);
    assert_eq!(
        desktop.get(stored, "secret").as_deref(),
        Some("the owner's, stored")
    );
}
both_backends!(
    foreign_documents_over_sync,
    super::no_protocol_message_reaches_another_accounts_documents
);
