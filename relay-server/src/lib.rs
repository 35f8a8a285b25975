//! The LifeOS relay: authenticates users, stores their Automerge documents
//! durably and syncs them between devices over WebSockets, on the sans-IO
//! protocol engine of `lifeos-core`. See ARCHITECTURE.md and docs/operating.md.
//!
//! `main.rs` is thin: it parses [`config::Cli`] and calls into this library,
//! which tests drive directly ([`build`], [`serve`] on port 0).

pub mod api;
pub mod auth;
pub mod backup;
pub mod config;
pub mod error;
pub mod features;
pub mod http;
pub mod limits;
pub mod mail;
pub mod metrics;
pub mod mfa;
pub mod secrets;
pub mod storage;
pub mod sync;
pub mod telemetry;
pub mod web;

use std::future::Future;
use std::sync::Arc;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::error::StartupError;
use crate::features::Features;
use crate::http::AppState;
use crate::storage::{DocumentStore, Storage, Store};

/// Opens and migrates the database, and assembles the state every handler shares.
pub async fn build(config: Config, features: Features) -> Result<AppState, StartupError> {
    config.check_secrets()?;
    let store = Store::open(&config.database()?).await?;
    store
        .migrate()
        .await
        .map_err(|e| StartupError::Database(e.to_string()))?;
    tracing::info!(backend = store.backend(), "database ready");
    let credentials = auth::Credentials::new(config.jwt_secret.as_deref(), &config.data_dir)?;
    let mailer = mail::Mailer::from_settings(
        config.smtp_url.as_deref(),
        config.mail_outbox_dir.as_ref(),
        &config.mail_from,
    )?;
    spawn_audit_pruning(store.clone(), config.audit_retention_days);
    let metrics = Arc::new(metrics::Metrics::new());
    let sync = sync::SyncHandle::spawn(
        store.clone(),
        sync::SyncSettings::from_config(&config),
        metrics.clone(),
    );
    let web = web::WebApp::load(&config.web_dir)?;
    let api_limits = Arc::new(http::ApiLimits::from_config(&config));
    Ok(AppState {
        sync,
        web: Arc::new(web),
        config: Arc::new(config),
        features: Arc::new(features),
        store,
        credentials: Arc::new(credentials),
        login_limits: Arc::new(http::LoginLimits::default()),
        api_limits,
        mailer: Arc::new(mailer),
        metrics,
    })
}

/// Deletes audit events older than the retention period, at start and then
/// daily (several relays on one database may all do it: the delete is idempotent).
fn spawn_audit_pruning(store: Store, days: u32) {
    if days == 0 {
        return;
    }
    tokio::spawn(async move {
        let mut daily = tokio::time::interval(std::time::Duration::from_secs(24 * 3600));
        loop {
            daily.tick().await;
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            let cutoff = now - i64::from(days) * 24 * 3600 * 1000;
            match store.prune_audit(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, days, "pruned old audit events"),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot prune audit events; retrying tomorrow")
                }
            }
        }
    });
}

/// Runs a `user` command and returns what to print.
pub async fn user_command(
    config: &Config,
    action: config::UserAction,
    password: Option<String>,
) -> Result<String, StartupError> {
    use crate::storage::UserRecord;
    let store = Store::open(&config.database()?).await?;
    store
        .migrate()
        .await
        .map_err(|e| StartupError::Database(e.to_string()))?;
    let db = |e: storage::StorageError| StartupError::Database(e.to_string());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let find = |email: String| {
        let store = store.clone();
        async move {
            let email = auth::normalize_email(&email).ok_or_else(|| {
                StartupError::Config(format!("{email:?} is not an email address"))
            })?;
            store
                .user_by_email(&email)
                .await
                .map_err(db)?
                .ok_or_else(|| StartupError::Config(format!("no account with email {email}")))
        }
    };
    match action {
        config::UserAction::Create { email } => {
            let email = auth::normalize_email(&email).ok_or_else(|| {
                StartupError::Config(format!("{email:?} is not an email address"))
            })?;
            let password = password.ok_or_else(|| {
                StartupError::Config("give the password on standard input".into())
            })?;
            if let Some(problem) = auth::password_problem(&password) {
                return Err(StartupError::Config(problem));
            }
            let credentials =
                auth::Credentials::new(config.jwt_secret.as_deref(), &config.data_dir)?;
            let hash = credentials
                .hash_password(&password)
                .map_err(StartupError::Config)?;
            let user = UserRecord {
                id: uuid::Uuid::new_v4(),
                email,
                password_hash: hash,
                created_at: now,
                disabled: false,
                session_epoch: 0,
            };
            if !store.create_user(&user).await.map_err(db)? {
                return Err(StartupError::Config(format!(
                    "an account with email {} already exists",
                    user.email
                )));
            }
            store
                .reserve_document(
                    lifeos_core::DocumentId::root_of_user(&user.id),
                    user.id,
                    now,
                )
                .await
                .map_err(db)?;
            store
                .record_audit(
                    Some(user.id),
                    "register",
                    now,
                    None,
                    &serde_json::json!({ "by": "operator" }),
                )
                .await
                .map_err(db)?;
            Ok(format!("created {} {}", user.id, user.email))
        }
        config::UserAction::List => {
            let users = store.list_users().await.map_err(db)?;
            Ok(users
                .iter()
                .map(|u| {
                    format!(
                        "{}\t{}\t{}\t{}",
                        u.id,
                        u.email,
                        lifeos_core::time::format_timestamp(
                            lifeos_core::time::Timestamp::from_millis(u.created_at)
                        ),
                        if u.disabled { "disabled" } else { "active" }
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"))
        }
        config::UserAction::Disable { email } => {
            let user = find(email).await?;
            store.set_disabled(user.id, true, now).await.map_err(db)?;
            store
                .record_audit(
                    Some(user.id),
                    "account_disabled",
                    now,
                    None,
                    &serde_json::json!({ "by": "operator" }),
                )
                .await
                .map_err(db)?;
            Ok(format!("disabled {}", user.email))
        }
        config::UserAction::Enable { email } => {
            let user = find(email).await?;
            store.set_disabled(user.id, false, now).await.map_err(db)?;
            store
                .record_audit(
                    Some(user.id),
                    "account_enabled",
                    now,
                    None,
                    &serde_json::json!({ "by": "operator" }),
                )
                .await
                .map_err(db)?;
            Ok(format!("enabled {}", user.email))
        }
    }
}

/// Makes the C allocator give large blocks back to the system when they are
/// freed. glibc raises its mmap threshold each time a large block is freed,
/// so argon2id's 19 MiB working memory then lands in per-thread heaps and
/// stays there: 200 sign-ins left an idle relay at 500 MB of RSS. With a
/// fixed threshold every block over 1 MiB is a mapping of its own, returned
/// when freed (the relay's own large blocks are rare: big sync messages,
/// exports). Call first thing in `main`.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; M_MMAP_THRESHOLD
    // takes any size up to 32 MiB, and setting it is allowed at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// Asks the relay listening on `bind` whether it is ready (`GET /readyz`
/// over plain HTTP/1.0 on the loopback address of the same port): `Ok` on
/// 200. Used by the container image's HEALTHCHECK, which has no curl.
pub fn healthcheck(bind: std::net::SocketAddr) -> Result<(), StartupError> {
    use std::io::{Read, Write};
    let mut address = bind;
    if address.ip().is_unspecified() {
        address.set_ip(match address {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let wait = std::time::Duration::from_secs(5);
    let mut stream = std::net::TcpStream::connect_timeout(&address, wait)?;
    stream.set_read_timeout(Some(wait))?;
    stream.set_write_timeout(Some(wait))?;
    stream.write_all(b"GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut answer = Vec::new();
    stream.take(4096).read_to_end(&mut answer)?;
    let status_line = answer.split(|b| *b == b'\n').next().unwrap_or_default();
    let status_line = String::from_utf8_lossy(status_line);
    if status_line.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(StartupError::Io(std::io::Error::other(format!(
            "not ready: {}",
            status_line.trim()
        ))))
    }
}

/// `lifeos-relay backup --out FILE`: what was written, for the operator.
pub async fn backup_command(
    config: &Config,
    out: &std::path::Path,
) -> Result<String, StartupError> {
    let store = Store::open(&config.database()?).await?;
    store
        .migrate()
        .await
        .map_err(|e| StartupError::Database(e.to_string()))?;
    let summary = backup::backup(&store, out).await?;
    Ok(format!(
        "backed up {} to {}: {summary}",
        store.backend(),
        out.display()
    ))
}

/// `lifeos-relay restore --from FILE`: what was restored, for the operator.
pub async fn restore_command(
    config: &Config,
    from: &std::path::Path,
) -> Result<String, StartupError> {
    let store = Store::open(&config.database()?).await?;
    let summary = backup::restore(&store, from).await?;
    Ok(format!(
        "restored {} into {}: {summary}",
        from.display(),
        store.backend()
    ))
}

/// Applies migrations and returns (the `migrate` command).
pub async fn migrate(config: &Config) -> Result<(), StartupError> {
    let store = Store::open(&config.database()?).await?;
    store
        .migrate()
        .await
        .map_err(|e| StartupError::Database(e.to_string()))
}

/// Serves `state` on `listener` until `shutdown` resolves, then finishes the
/// requests in flight before returning.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartupError> {
    let sync = state.sync.clone();
    let app = http::router(state);
    // Connection info gives handlers the client's address (rate limits, audit).
    let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    // Upgraded WebSockets are not requests in flight: the sync service closes
    // them and stores every change it received before the relay exits.
    let (stop_sync_tx, stop_sync_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown.await;
        let _ = stop_sync_tx.send(());
    };
    let closing = {
        let sync = sync.clone();
        tokio::spawn(async move {
            if stop_sync_rx.await.is_ok() {
                sync.shutdown(std::time::Duration::from_secs(10)).await;
            }
        })
    };
    // No Nagle delay: a sync message is small and latency is the point.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await?;
    let _ = closing.await;
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
