//! `spawn_app`: a real relay on 127.0.0.1:0 with its own database, and the
//! `both_backends!` macro that runs a test against SQLite and Postgres.

use std::net::SocketAddr;
use std::path::PathBuf;

use lifeos_relay::config::{Config, LogFormat};
use lifeos_relay::features::Features;
use sqlx::Connection;

/// Which database a test runs against.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The server Postgres tests create their databases on (CI: the local
/// Postgres with trust authentication).
pub fn postgres_admin_url() -> String {
    std::env::var("LIFEOS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A running relay.
pub struct TestApp {
    pub address: SocketAddr,
    pub client: reqwest::Client,
    /// Set for Postgres: the database to drop when the test ends.
    pub postgres_db: Option<String>,
    /// Where the relay writes mail.
    pub outbox: PathBuf,
    /// The configuration the relay runs with (for operator commands in tests).
    pub config: Config,
    features: Features,
    /// The running relay's sync service (for its counters).
    pub sync: lifeos_relay::sync::SyncHandle,
    _data_dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

/// Builds and serves a relay on a fresh port; returns its address, its
/// shutdown trigger and its task.
async fn start(
    config: Config,
    features: Features,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
    lifeos_relay::sync::SyncHandle,
) {
    let state = lifeos_relay::build(config, features)
        .await
        .expect("relay starts");
    let sync = state.sync.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        lifeos_relay::serve(listener, state, async {
            let _ = rx.await;
        })
        .await
        .expect("relay serves");
    });
    (address, tx, server, sync)
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The sync endpoint with `?token=`.
    pub fn sync_url(&self, token: &str) -> String {
        format!("ws://{}/api/v1/sync?token={token}", self.address)
    }

    /// Stops the relay the way SIGTERM does (waiting until it has flushed
    /// and exited) and starts a new one on the same database and data
    /// directory, on a new port.
    pub async fn restart(&mut self) {
        self.stop().await;
        let (address, tx, server, sync) = start(self.config.clone(), self.features.clone()).await;
        self.address = address;
        self.sync = sync;
        self.shutdown = Some(tx);
        self.server = Some(server);
    }

    /// Another relay process on the same database (Postgres: several
    /// relays behind one load balancer), with its own data directory and
    /// the same settings otherwise, adjusted by `adjust`. The first relay
    /// drops the database.
    pub async fn sibling(&self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = self.config.clone();
        config.data_dir = data_dir.path().to_path_buf();
        config.mail_outbox_dir = Some(data_dir.path().join("outbox"));
        adjust(&mut config);
        let kept = config.clone();
        let (address, tx, server, sync) = start(config, self.features.clone()).await;
        TestApp {
            address,
            config: kept,
            features: self.features.clone(),
            sync,
            server: Some(server),
            client: reqwest::Client::new(),
            postgres_db: None,
            outbox: data_dir.path().join("outbox"),
            _data_dir: data_dir,
            shutdown: Some(tx),
        }
    }

    /// Stops the relay gracefully and waits until it has exited.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("relay exits cleanly");
        }
    }

    /// POSTs `body` as JSON to `path`.
    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request sent")
    }

    /// Registers `email` with a valid password and returns the token pair.
    pub async fn register(&self, email: &str) -> serde_json::Value {
        let r = self
            .post(
                "/api/v1/auth/register",
                serde_json::json!({ "email": email, "password": "a long enough password" }),
            )
            .await;
        assert_eq!(r.status(), 201, "registering {email}");
        r.json().await.unwrap()
    }

    /// Logs `email` in with the password [`TestApp::register`] uses and returns the token pair.
    pub async fn login(&self, email: &str) -> serde_json::Value {
        let r = self
            .post(
                "/api/v1/auth/login",
                serde_json::json!({ "email": email, "password": "a long enough password" }),
            )
            .await;
        assert_eq!(r.status(), 200, "logging in {email}");
        r.json().await.unwrap()
    }

    /// Every mail in the outbox, oldest first.
    pub fn mails(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(&self.outbox) else {
            return Vec::new();
        };
        let mut names: Vec<PathBuf> = dir.map(|e| e.unwrap().path()).collect();
        names.sort();
        names
            .into_iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// GET `path` with a bearer token.
    pub async fn get_with(&self, path: &str, token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request sent")
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, Features::default()).await
}

pub async fn spawn_app_with(backend: Backend, features: Features) -> TestApp {
    spawn_app_configured(backend, features, |_| {}).await
}

/// The signing secret every test relay uses, so tests can forge tokens:
/// random per run, since the relay refuses any value written in the
/// repository (`lifeos_relay::secrets`).
pub static TEST_JWT_SECRET: std::sync::LazyLock<String> = std::sync::LazyLock::new(random_secret);

/// 32 random bytes as hex: a secret the relay accepts.
pub fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The settings every test relay starts from: SQLite in `dir`, outbox mail.
pub fn spawn_config(dir: &std::path::Path) -> Config {
    Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: Some(format!("sqlite://{}", dir.join("lifeos.db").display())),
        data_dir: PathBuf::from(dir),
        jwt_secret: Some(TEST_JWT_SECRET.clone()),
        signups_allowed: true,
        mail_outbox_dir: Some(dir.join("outbox")),
        smtp_url: None,
        mail_from: "LifeOS <no-reply@localhost>".into(),
        log_format: LogFormat::Text,
        max_frame_bytes: lifeos_core::sync::DEFAULT_MAX_FRAME,
        max_body_bytes: 64 * 1024,
        api_rate_per_user: 600,
        api_rate_per_ip: 1200,
        send_queue: 1024,
        ping_secs: 30,
        doc_idle_secs: 300,
        compact_after: 1000,
        catch_up_secs: 5,
        metrics_token: None,
        trusted_proxies: Vec::new(),
        behind_tls: false,
        audit_retention_days: 365,
        web_dir: dir.join("web"),
    }
}

pub async fn spawn_app_configured(
    backend: Backend,
    features: Features,
    adjust: impl FnOnce(&mut Config),
) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let (database_url, postgres_db) = match backend {
        Backend::Sqlite => (
            format!("sqlite://{}", data_dir.path().join("lifeos.db").display()),
            None,
        ),
        Backend::Postgres => {
            let name = format!("lifeos_test_{}", uuid_like());
            admin_execute(&format!("CREATE DATABASE {name}")).await;
            let base = postgres_admin_url();
            let url = match base.rsplit_once('/') {
                Some((server, _)) => format!("{server}/{name}"),
                None => panic!("LIFEOS_TEST_POSTGRES_URL needs a database path"),
            };
            (url, Some(name))
        }
    };
    let mut config = spawn_config(data_dir.path());
    config.database_url = Some(database_url);
    adjust(&mut config);
    if std::env::var_os("RUST_LOG").is_some() {
        lifeos_relay::telemetry::init(LogFormat::Text);
    }
    let kept = config.clone();
    let (address, tx, server, sync) = start(config, features.clone()).await;
    TestApp {
        address,
        config: kept,
        features,
        sync,
        server: Some(server),
        client: reqwest::Client::new(),
        postgres_db,
        outbox: data_dir.path().join("outbox"),
        _data_dir: data_dir,
        shutdown: Some(tx),
    }
}

/// Runs one statement on the admin database. Only for statements built from
/// names the tests generate (CREATE/DROP DATABASE cannot take parameters).
pub async fn admin_execute(sql: &str) {
    let mut conn = sqlx::PgConnection::connect(&postgres_admin_url())
        .await
        .expect("the test Postgres is reachable");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:x}{:x}", nanos, std::process::id())
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(name) = self.postgres_db.take() {
            // Drop may run inside the test's runtime: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(admin_execute(&format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )));
            })
            .join();
        }
    }
}

/// Defines `mod $name { sqlite(), postgres() }` running `$test(Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $test:path) => {
        mod $name {
            use $crate::helpers::Backend;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $test(Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $test(Backend::Postgres).await;
            }
        }
    };
}
