//! `GET /api/v1/export?format=json` and `?format=csv&kind=…` (`kind=all`:
//! a zip of every CSV): everything the caller owns, streamed.
//!
//! The small documents (root, tasks, habits, finance) are read before the
//! answer starts, so that a database outage is a clean 503. The body is then
//! written on a blocking thread, one monthly ledger at a time, into a bounded
//! channel that the response drains: memory stays at one ledger plus a few
//! chunks in flight, whatever the size of the export, and a client that
//! reads slowly slows the writer down instead of growing a buffer. If
//! something fails mid-stream the connection is cut, so a client never
//! mistakes a truncated export for a whole one.

use std::io::Write;
use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::AppState;
use super::extract::CurrentUser;
use crate::api::export::{Account, Export, ExportError, Format, Kind};
use crate::api::model::ExportDocument;
use crate::api::source::StoreSource;
use crate::error::{ApiError, Problem};

/// Bytes gathered before a chunk goes to the response.
const CHUNK: usize = 64 * 1024;
/// Chunks waiting for the client before the writer blocks.
const CHUNKS_IN_FLIGHT: usize = 4;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/export", get(export))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct Params {
    /// `json` (default) or `csv`.
    format: Option<String>,
    /// With `format=csv`: `tasks`, `projects`, `habits`, `checkins`,
    /// `expenses`, `categories`, `budgets`, or `all` for a zip of every CSV.
    kind: Option<String>,
}

fn format_of(params: &Params) -> Result<Format, ApiError> {
    let kinds = || {
        let mut names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        names.push("all");
        names.join(", ")
    };
    match (
        params.format.as_deref().unwrap_or("json"),
        params.kind.as_deref(),
    ) {
        ("json", None) => Ok(Format::Json),
        ("json", Some(_)) => Err(ApiError::BadRequest(
            "kind: only format=csv takes a kind".into(),
        )),
        ("csv", None) => Err(ApiError::BadRequest(format!(
            "kind: format=csv needs kind= one of {}",
            kinds()
        ))),
        ("csv", Some("all")) => Ok(Format::Zip),
        ("csv", Some(name)) => Kind::parse(name).map(Format::Csv).ok_or_else(|| {
            ApiError::BadRequest(format!("kind: {name:?} is not one of {}", kinds()))
        }),
        (other, _) => Err(ApiError::BadRequest(format!(
            "format: {other:?} is not json or csv"
        ))),
    }
}

/// Everything the caller owns, streamed; each export is audited.
#[utoipa::path(
    get,
    path = "/api/v1/export",
    tag = "export",
    params(Params),
    responses(
        (status = 200, description = "The export: one JSON object (`format=json`), a CSV with a header row (RFC 4180; text that would start a spreadsheet formula is prefixed with `'`), or a zip of every CSV (`kind=all`)", content(
            (ExportDocument = "application/json"),
            (String = "text/csv"),
            (Vec<u8> = "application/zip"),
        )),
        (status = 400, description = "An unknown format or kind, or an unknown parameter", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Over the rate limit", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database does not answer", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub(super) async fn export(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    params: Result<Query<Params>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let format = format_of(&params)?;
    let detail = serde_json::json!({
        "format": params.format.as_deref().unwrap_or("json"),
        "kind": params.kind,
    });
    super::auth::audit(&state, Some(user.id), "export", client, detail).await?;

    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(CHUNKS_IN_FLIGHT);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<String, ApiError>>();
    let source = StoreSource::new(
        state.store.clone(),
        user.id,
        tokio::runtime::Handle::current(),
    );
    let account = Account {
        id: user.id.to_string(),
        email: user.email.clone(),
    };
    let now = lifeos_core::time::Timestamp::from_millis(super::auth::now_millis());
    let user_id = user.id;
    tokio::task::spawn_blocking(move || {
        let export = match Export::prepare(&source, account, now) {
            Ok(export) => export,
            Err(e) => {
                let _ = ready_tx.send(Err(api_error(e)));
                return;
            }
        };
        if ready_tx.send(Ok(export.file_name(format))).is_err() {
            return;
        }
        let mut out = ChannelWriter {
            tx: tx.clone(),
            buffer: Vec::with_capacity(CHUNK),
        };
        let written = export
            .write(format, &mut out)
            .and_then(|()| Ok(out.send()?));
        if let Err(e) = written {
            if tx.is_closed() {
                tracing::debug!(user = %user_id, "export: the client went away");
            } else {
                tracing::error!(user = %user_id, error = %e, "export failed while streaming; connection cut");
            }
            let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
        }
    });
    let file_name = ready_rx
        .await
        .map_err(|_| ApiError::Internal("the export task ended early".into()))??;

    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }));
    let content_type = match format {
        Format::Json => "application/json",
        Format::Csv(_) => "text/csv; charset=utf-8",
        Format::Zip => "application/zip",
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

fn api_error(e: ExportError) -> ApiError {
    match e {
        ExportError::Source(s) => s.into(),
        other => ApiError::Internal(other.to_string()),
    }
}

/// Gathers output into chunks and hands them to the response, waiting while
/// the client has not taken the previous ones (backpressure).
struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buffer: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        // Chunks go out when full or at the end; flushing each CSV row
        // would make the response thousands of tiny chunks.
        Ok(())
    }
}
