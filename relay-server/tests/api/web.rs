//! The built web app served at `/`: MIME types, cache policy, ETags, SPA
//! fallback, and the API's paths kept apart.

use reqwest::header;

use crate::helpers::{Backend, spawn_app, spawn_app_configured};

const WASM: &str = "/lifeos.0123456789abcdef.wasm";

#[tokio::test]
async fn the_built_app_is_served_with_the_right_headers() {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><title>LifeOS</title>",
    )
    .unwrap();
    std::fs::write(web.path().join(&WASM[1..]), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(
        web.path().join("sw.js"),
        "self.addEventListener('fetch', () => {});",
    )
    .unwrap();
    std::fs::create_dir(web.path().join("icons")).unwrap();
    std::fs::write(web.path().join("icons/icon-192.png"), b"\x89PNG").unwrap();
    let dir = web.path().to_path_buf();
    let app = spawn_app_configured(Backend::Sqlite, Default::default(), move |c| {
        c.web_dir = dir
    })
    .await;
    let get = |path: &str| app.client.get(app.url(path)).send();

    let r = get("/").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
    let etag = r.headers()[header::ETAG].clone();
    assert!(r.text().await.unwrap().contains("<title>LifeOS</title>"));
    // Revalidation.
    let r = app
        .client
        .get(app.url("/"))
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);

    let r = get(WASM).await.unwrap();
    assert_eq!(r.headers()[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(
        r.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let r = get("/sw.js").await.unwrap();
    assert_eq!(
        r.headers()[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-cache");
    assert_eq!(
        get("/icons/icon-192.png").await.unwrap().headers()[header::CONTENT_TYPE],
        "image/png"
    );

    // App routes fall back to index.html; missing files and API paths do not.
    let r = get("/tasks/next").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("LifeOS"));
    assert_eq!(get("/missing.js").await.unwrap().status(), 404);
    let r = get("/api/v1/nothing-here").await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    for sneaky in [
        "/../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/icons/../../lifeos.db",
    ] {
        let status = get(sneaky).await.unwrap().status();
        assert!(status == 404 || status == 200, "{sneaky}: {status}");
        let body = get(sneaky).await.unwrap().text().await.unwrap();
        assert!(
            !body.contains("[package]") && !body.contains("SQLite"),
            "{sneaky} leaked a file"
        );
    }
    // The API still works beside it.
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    let r = app.client.post(app.url("/tasks")).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn without_a_built_app_the_root_is_a_plain_404() {
    let app = spawn_app(Backend::Sqlite).await;
    let r = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
}
