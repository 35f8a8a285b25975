//! The built web app (`web/dist`, made by `web/build.sh`), served at `/`.
//!
//! tower-http's `ServeDir` serves the files: it picks the Brotli or gzip
//! variant that `web/build.sh` wrote beside each file (`app.wasm.br`,
//! `app.wasm.gz`) by the request's `Accept-Encoding`, answers HEAD,
//! ranges and `If-Modified-Since`, and refuses paths that leave the
//! directory. What it does not know is ours, added here: the cache policy
//! (files whose names carry a content hash, `app.3f9a2c1d8e7b6a50.wasm`,
//! are immutable for a year; everything else, `index.html`, the service
//! worker, the manifest, must be revalidated, so a new version is picked up
//! at once), `Vary: Accept-Encoding` (a cache must not hand a Brotli body to
//! a client that cannot read it), the app's Content-Security-Policy, our
//! MIME types, and the SPA fallback: a path that is not a file gets
//! `index.html` when it looks like an app route (no extension), so deep
//! links work. `/api/...` is never the app's.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tower_http::services::ServeDir;

use crate::error::{ApiError, StartupError};

/// The web app's files, or nothing when it was not built.
#[derive(Debug, Clone, Default)]
pub struct WebApp {
    files: Option<ServeDir>,
}

impl WebApp {
    /// Serves the files under `dir`. A directory without `index.html` is an
    /// app not built (the relay serves the API alone).
    pub fn load(dir: &Path) -> Result<Self, StartupError> {
        if !dir.join("index.html").is_file() {
            tracing::info!(dir = %dir.display(), "no built web app (run web/build.sh); serving the API only");
            return Ok(WebApp::default());
        }
        let dir: PathBuf = dir.canonicalize().map_err(|e| {
            StartupError::Config(format!("web app directory {}: {e}", dir.display()))
        })?;
        tracing::info!(dir = %dir.display(), "serving the web app");
        Ok(WebApp {
            files: Some(
                ServeDir::new(dir)
                    .precompressed_br()
                    .precompressed_gzip()
                    .append_index_html_on_directories(false),
            ),
        })
    }

    /// Whether a built app was found.
    pub fn is_built(&self) -> bool {
        self.files.is_some()
    }

    /// The answer to a GET or HEAD `request` outside the API.
    pub async fn respond(&self, mut request: Request) -> Response {
        let path = request.uri().path().to_string();
        let Some(files) = &self.files else {
            return ApiError::NotFound.into_response();
        };
        if path.starts_with("/api/") {
            return ApiError::NotFound.into_response();
        }
        // `/` and app routes (no extension) are index.html; a missing file
        // with an extension is a 404, not the app.
        let wanted = if path == "/" || !last_segment(&path).contains('.') {
            "/index.html".to_string()
        } else {
            path
        };
        if wanted != request.uri().path() {
            *request.uri_mut() = Uri::try_from(wanted.as_str()).unwrap_or_default();
        }
        let answer = match files.clone().try_call(request).await {
            Ok(answer) => answer,
            Err(e) => {
                tracing::warn!(error = %e, path = %wanted, "cannot read a web app file");
                return ApiError::Internal(format!("web app file {wanted}: {e}")).into_response();
            }
        };
        if answer.status() == StatusCode::NOT_FOUND {
            return ApiError::NotFound.into_response();
        }
        let mut response = answer.map(Body::new);
        let name = last_segment(&wanted);
        let cache = if is_hashed(name) {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        let success = response.status().is_success();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if success {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(mime_of(name)),
            );
        }
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(crate::http::security::APP_POLICY),
        );
        response
    }
}

fn last_segment(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `name.<16 or more hex digits>.ext`: a content-hashed file name.
fn is_hashed(name: &str) -> bool {
    let mut parts = name.rsplit('.');
    let (_ext, hash) = (parts.next(), parts.next());
    parts.next().is_some()
        && hash.is_some_and(|h| h.len() >= 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn mime_of(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_are_recognised() {
        assert!(is_hashed("app.3f9a2c1d8e7b6a50.wasm"));
        assert!(is_hashed("lifeos_client_wasm.0123456789abcdef0123.js"));
        assert!(!is_hashed("index.html"));
        assert!(!is_hashed("sw.js"));
        assert!(!is_hashed("3f9a2c1d8e7b6a50.wasm"));
        assert!(!is_hashed("app.notahexhashatall.wasm"));
        assert!(!is_hashed("app.3f9a2c.wasm"));
    }

    #[test]
    fn mime_types() {
        assert_eq!(mime_of("a.wasm"), "application/wasm");
        assert_eq!(mime_of("manifest.webmanifest"), "application/manifest+json");
        assert_eq!(mime_of("index.html"), "text/html; charset=utf-8");
        assert_eq!(mime_of("noext"), "application/octet-stream");
    }
}
