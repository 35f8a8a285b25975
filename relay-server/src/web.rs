//! The built web app (`web/dist`, made by `web/build.sh`), served at `/`.
//!
//! The directory is read once at start into memory (it is a few files; the
//! relay is restarted to serve a new build). Each file gets its MIME type, a
//! strong ETag, and a cache policy: files whose names carry a content hash
//! (`app.3f9a2c1d8e7b6a50.wasm`) are immutable for a year; everything else
//! (`index.html`, the service worker, the manifest) must be revalidated, so
//! a new version is picked up at once. Paths that are not files get
//! `index.html` when they look like an app route (no extension), so deep
//! links work (SPA fallback); `/api/...` is never the app's.

use std::collections::HashMap;
use std::path::Path;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, StartupError};

/// Largest file read into memory (the wasm is well below).
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// One file, ready to send.
#[derive(Debug)]
struct Asset {
    bytes: axum::body::Bytes,
    mime: &'static str,
    etag: HeaderValue,
    immutable: bool,
}

/// The web app's files, by URL path (`/index.html`, `/app.<hash>.wasm`, ...).
#[derive(Debug, Default)]
pub struct WebApp {
    files: HashMap<String, Asset>,
}

impl WebApp {
    /// Reads every file under `dir`. A missing directory is an app not built
    /// (the relay serves the API alone); an unreadable one is an error.
    pub fn load(dir: &Path) -> Result<Self, StartupError> {
        let mut app = WebApp::default();
        if !dir.join("index.html").is_file() {
            tracing::info!(dir = %dir.display(), "no built web app (run web/build.sh); serving the API only");
            return Ok(app);
        }
        app.add_dir(dir, "")?;
        tracing::info!(dir = %dir.display(), files = app.files.len(), "serving the web app");
        Ok(app)
    }

    fn add_dir(&mut self, dir: &Path, prefix: &str) -> Result<(), StartupError> {
        let unreadable = |e: std::io::Error| {
            StartupError::Config(format!("web app directory {}: {e}", dir.display()))
        };
        for entry in std::fs::read_dir(dir).map_err(unreadable)? {
            let entry = entry.map_err(unreadable)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let kind = entry.file_type().map_err(unreadable)?;
            let url = format!("{prefix}/{name}");
            if kind.is_dir() {
                self.add_dir(&entry.path(), &url)?;
            } else if kind.is_file() {
                let len = entry.metadata().map_err(unreadable)?.len();
                if len > MAX_FILE_BYTES {
                    return Err(StartupError::Config(format!(
                        "web app file {} is larger than {MAX_FILE_BYTES} bytes",
                        entry.path().display()
                    )));
                }
                let bytes = std::fs::read(entry.path()).map_err(unreadable)?;
                let digest = Sha256::digest(&bytes);
                let etag: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
                self.files.insert(
                    url,
                    Asset {
                        mime: mime_of(&name),
                        etag: HeaderValue::from_str(&format!("\"{etag}\""))
                            .expect("hex is a valid header value"),
                        immutable: is_hashed(&name),
                        bytes: bytes.into(),
                    },
                );
            }
        }
        Ok(())
    }

    /// Whether a built app was found.
    pub fn is_built(&self) -> bool {
        self.files.contains_key("/index.html")
    }

    /// The answer to `GET path`.
    pub fn respond(&self, path: &str, request: &HeaderMap) -> Response {
        if path.starts_with("/api/") || !self.is_built() {
            return ApiError::NotFound.into_response();
        }
        let wanted = if path == "/" { "/index.html" } else { path };
        let asset = match self.files.get(wanted) {
            Some(asset) => asset,
            // An app route (no extension, not a file): the app decides.
            None if !last_segment(wanted).contains('.') => &self.files["/index.html"],
            None => return ApiError::NotFound.into_response(),
        };
        let cache = if asset.immutable {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        let fresh = request.get(header::IF_NONE_MATCH).is_some_and(|v| {
            v.as_bytes()
                .split(|b| *b == b',')
                .any(|t| t.trim_ascii() == asset.etag.as_bytes())
        });
        let mut response = if fresh {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            Response::new(Body::from(asset.bytes.clone()))
        };
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.mime));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        headers.insert(header::ETAG, asset.etag.clone());
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
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
