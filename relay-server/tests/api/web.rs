//! The built web app served at `/`: MIME types, cache policy,
//! revalidation, precompressed variants, SPA fallback, security headers,
//! and the API's paths kept apart.

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
    let modified = r.headers()[header::LAST_MODIFIED].clone();
    assert!(r.text().await.unwrap().contains("<title>LifeOS</title>"));
    // Revalidation.
    let r = app
        .client
        .get(app.url("/"))
        .header(header::IF_MODIFIED_SINCE, modified)
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

/// A file with Brotli and gzip variants beside it (as web/build.sh writes
/// them) is sent in the encoding the browser asks for, with
/// `Vary: Accept-Encoding`; a client that asks for none gets the file.
#[tokio::test]
async fn precompressed_variants_are_negotiated() {
    let web = tempfile::tempdir().unwrap();
    let wasm = vec![7u8; 40_000];
    std::fs::write(web.path().join("index.html"), "<!doctype html>").unwrap();
    std::fs::write(web.path().join(&WASM[1..]), &wasm).unwrap();
    std::fs::write(
        web.path().join(format!("{}.br", &WASM[1..])),
        b"brotli bytes",
    )
    .unwrap();
    std::fs::write(web.path().join(format!("{}.gz", &WASM[1..])), b"gzip bytes").unwrap();
    let dir = web.path().to_path_buf();
    let app = spawn_app_configured(Backend::Sqlite, Default::default(), move |c| {
        c.web_dir = dir
    })
    .await;
    // No automatic decompression: the test sees the bytes on the wire.
    let client = reqwest::Client::builder()
        .no_gzip()
        .no_brotli()
        .build()
        .unwrap();
    let fetch = |accept: Option<&'static str>| {
        let mut request = client.get(app.url(WASM));
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT_ENCODING, accept);
        }
        async move { request.send().await.unwrap() }
    };
    for (accept, encoding, body) in [
        (
            Some("gzip, deflate, br, zstd"),
            Some("br"),
            &b"brotli bytes"[..],
        ),
        (Some("gzip"), Some("gzip"), &b"gzip bytes"[..]),
        (
            Some("br;q=0.5, gzip;q=0.9"),
            Some("gzip"),
            &b"gzip bytes"[..],
        ),
        (Some("identity"), None, &wasm[..]),
        (None, None, &wasm[..]),
    ] {
        let r = fetch(accept).await;
        assert_eq!(r.status(), 200, "{accept:?}");
        assert_eq!(
            r.headers()
                .get(header::CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap().to_string()),
            encoding.map(str::to_string),
            "{accept:?}"
        );
        assert_eq!(r.headers()[header::VARY], "accept-encoding");
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(
            r.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(&r.bytes().await.unwrap()[..], body, "{accept:?}");
    }
}

/// Every response carries the security headers: the app's strict
/// Content-Security-Policy on its files, a policy that allows nothing on
/// the API's, and HSTS only when the relay is told it is behind TLS.
#[tokio::test]
async fn every_response_carries_security_headers() {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(web.path().join("index.html"), "<!doctype html>").unwrap();
    let dir = web.path().to_path_buf();
    let app = spawn_app_configured(Backend::Sqlite, Default::default(), move |c| {
        c.web_dir = dir
    })
    .await;
    let common = |r: &reqwest::Response| {
        let h = r.headers();
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(
            h["permissions-policy"]
                .to_str()
                .unwrap()
                .contains("camera=()")
        );
        assert!(h.get(header::STRICT_TRANSPORT_SECURITY).is_none());
        h[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_string()
    };
    let app_policy = common(&app.client.get(app.url("/today")).send().await.unwrap());
    for directive in [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(
            app_policy.contains(directive),
            "{directive} in {app_policy}"
        );
    }
    assert!(!app_policy.contains("unsafe-inline"), "{app_policy}");
    for path in [
        "/healthz",
        "/api/v1/features",
        "/api/v1/me",
        "/api/v1/nothing",
        "/missing.js",
    ] {
        let policy = common(&app.client.get(app.url(path)).send().await.unwrap());
        assert_eq!(
            policy, "default-src 'none'; frame-ancestors 'none'",
            "{path}"
        );
    }

    let tls =
        spawn_app_configured(Backend::Sqlite, Default::default(), |c| c.behind_tls = true).await;
    for path in ["/healthz", "/api/v1/me"] {
        let r = tls.client.get(tls.url(path)).send().await.unwrap();
        assert_eq!(
            r.headers()[header::STRICT_TRANSPORT_SECURITY],
            "max-age=63072000",
            "{path}"
        );
    }
}
