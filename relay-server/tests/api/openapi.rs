//! `GET /api/v1/openapi.json` describes every route the relay serves (read
//! from the routers' source), and nothing it does not serve; every
//! reference resolves; the export's schema matches a real export.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::{Backend, spawn_app};

/// Every `(method, path)` the routers in `src/http/` register.
fn served_routes() -> BTreeSet<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http");
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let path = rest.trim_start().strip_prefix('"').unwrap();
            let (path, after) = path.split_once('"').unwrap();
            let after = after.trim_start().strip_prefix(',').unwrap().trim_start();
            let method = after.split('(').next().unwrap().trim();
            routes.insert((method.to_string(), path.to_string()));
        }
    }
    routes
}

fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(list) => list.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_exists() {
    let app = spawn_app(Backend::Sqlite).await;
    let r = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));

    let mut documented = BTreeSet::new();
    let mut operation_ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            documented.insert((method.clone(), path.clone()));
            let what = format!("{method} {path}");
            // Generated clients name their functions after these.
            let id = operation["operationId"].as_str().expect("an operationId");
            assert!(
                operation_ids.insert(id.to_owned()),
                "{what}: operationId {id} is taken"
            );
            assert!(
                operation["responses"]
                    .as_object()
                    .is_some_and(|r| !r.is_empty()),
                "{what}: responses"
            );
            assert!(
                operation["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{what}: a tag"
            );
            assert!(
                operation.get("security").is_some(),
                "{what}: says whether it needs a token"
            );
            let described = operation
                .get("description")
                .or_else(|| operation.get("summary"));
            assert!(described.is_some(), "{what}: a description");
            // Every error a route answers is a problem document.
            for (status, response) in operation["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    assert!(
                        response["content"]
                            .get("application/problem+json")
                            .is_some(),
                        "{what} {status}: problem+json"
                    );
                }
            }
        }
    }
    let served = served_routes();
    assert!(served.len() >= 26, "{served:?}");
    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "served but not documented: {undocumented:?}"
    );
    let phantom: Vec<_> = documented.difference(&served).collect();
    assert!(phantom.is_empty(), "documented but not served: {phantom:?}");

    // Every reference points at a schema that is there.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} does not resolve"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // Query parameters are described.
    let tasks = &doc["paths"]["/api/v1/tasks"]["get"]["parameters"];
    let names: BTreeSet<&str> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in [
        "status",
        "project",
        "context",
        "quadrant",
        "due_before",
        "due_after",
        "q",
        "limit",
        "cursor",
    ] {
        assert!(names.contains(name), "tasks: {name}");
    }

    // The export's schema is what an export holds.
    let token = app.register("ada@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let export: Value = app
        .get_with("/api/v1/export", &token)
        .await
        .json()
        .await
        .unwrap();
    let keys: BTreeSet<&str> = export
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let schema: BTreeSet<&str> = doc["components"]["schemas"]["ExportDocument"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, schema);
}

/// The email pattern the document gives clients accepts exactly what the
/// relay accepts at registration.
#[test]
fn the_documented_email_rule_is_the_relays() {
    let doc: Value = serde_json::from_str(lifeos_relay::http::openapi::document()).unwrap();
    let schema = &doc["components"]["schemas"]["Credentials"]["properties"]["email"];
    let pattern = regex::Regex::new(schema["pattern"].as_str().unwrap()).unwrap();
    let max = schema["maxLength"].as_u64().unwrap() as usize;
    let long = format!("{}@example.com", "a".repeat(242));
    let too_long = format!("{}@example.com", "a".repeat(243));
    let cases = [
        "a@b.c",
        "  Ada.Lovelace+tag@Example.ORG ",
        "a@b",
        "a@.b",
        "a@b.",
        "@b.c",
        "a b@c.d",
        "a@b..c",
        "x@y@z.c",
        "a\u{7}@b.c",
        "a@b.c\u{85}x",
        "ü@bücher.de",
        "",
        long.as_str(),
        too_long.as_str(),
    ];
    for email in cases {
        let documented = pattern.is_match(email) && email.chars().count() <= max;
        let accepted = lifeos_relay::auth::normalize_email(email).is_some();
        assert_eq!(documented, accepted, "{email:?}");
    }
}
