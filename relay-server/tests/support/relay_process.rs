//! The `lifeos-relay` binary in its own process, on a fresh database, for
//! measurements that must see the relay apart from the client (CPU time,
//! resident memory): the load benchmarks (`benches/relay.rs`) and the
//! memory tests (`tests/export_memory.rs`, `tests/sign_in_memory.rs`,
//! `tests/idle_memory.rs`) include this file.

#![allow(dead_code)] // Each includer uses a part.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lifeos_core::DocumentId;
use lifeos_core::finance::NewExpense;
use lifeos_core::tasks::NewTask;
use lifeos_core::time::{Date, Timestamp};
use lifeos_relay::storage::DocumentStore;
use sqlx::Connection as _;

/// The relay binary, running on a fresh database.
pub struct RelayProcess {
    child: Child,
    /// Where it listens (`127.0.0.1:PORT`).
    pub address: String,
    database: lifeos_relay::config::DatabaseUrl,
    postgres: Option<(String, String)>,
    env: Vec<(String, String)>,
    _dir: tempfile::TempDir,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
}

impl RelayProcess {
    /// Starts the relay on SQLite in a temporary directory, or on a fresh
    /// database created on the Postgres server `postgres_admin` (dropped by `stop`).
    pub async fn start(postgres_admin: Option<String>) -> RelayProcess {
        match postgres_admin {
            Some(admin) => {
                let (url, name) = create_database(&admin, "lifeos_bench").await;
                Self::spawn(
                    lifeos_relay::config::DatabaseUrl::Postgres(url),
                    Some((admin, name)),
                    &[],
                )
            }
            None => Self::spawn_sqlite(),
        }
    }

    /// Starts `count` relays on one fresh Postgres database, as behind a
    /// load balancer: they share the signing secret, so a token from one
    /// works on all. The first one drops the database when stopped.
    pub async fn start_cluster(postgres_admin: String, count: usize) -> Vec<RelayProcess> {
        let (url, name) = create_database(&postgres_admin, "lifeos_cluster").await;
        let secret = format!("cluster-secret-{}", uuid::Uuid::new_v4().simple());
        let env = [("LIFEOS_JWT_SECRET", secret.as_str())];
        let database = lifeos_relay::config::DatabaseUrl::Postgres(url);
        let mut relays = vec![Self::spawn(
            database.clone(),
            Some((postgres_admin, name)),
            &env,
        )];
        for _ in 1..count {
            relays.push(Self::spawn(database.clone(), None, &env));
        }
        relays
    }

    fn spawn_sqlite() -> RelayProcess {
        // The database file goes in the data directory `spawn` makes.
        Self::spawn(
            lifeos_relay::config::DatabaseUrl::Sqlite(std::path::PathBuf::new()),
            None,
            &[],
        )
    }

    fn spawn(
        database: lifeos_relay::config::DatabaseUrl,
        postgres: Option<(String, String)>,
        env: &[(&str, &str)],
    ) -> RelayProcess {
        let dir = tempfile::tempdir().unwrap();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (database, backend) = match database {
            lifeos_relay::config::DatabaseUrl::Postgres(url) => {
                (lifeos_relay::config::DatabaseUrl::Postgres(url), "postgres")
            }
            lifeos_relay::config::DatabaseUrl::Sqlite(_) => (
                lifeos_relay::config::DatabaseUrl::Sqlite(dir.path().join("lifeos.db")),
                "sqlite",
            ),
        };
        let (child, address) = launch(&database, dir.path(), &env);
        RelayProcess {
            child,
            address,
            database,
            postgres,
            env,
            _dir: dir,
            backend,
        }
    }

    /// Kills the relay with SIGKILL (no flushing, no goodbye) and starts it
    /// again on the same database and data directory, on a new port: a
    /// crash and the restart a supervisor would do.
    pub fn crash_and_restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, address) = launch(&self.database, self._dir.path(), &self.env);
        self.child = child;
        self.address = address;
    }

    /// CPU seconds (user + system) the relay has used.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds_of(&self.child.id().to_string())
    }

    /// Resident memory now and at its peak, in MB.
    pub fn memory_mb(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    pub async fn register(&self, email: &str) -> String {
        let client = reqwest::Client::new();
        let r = client
            .post(format!("http://{}/api/v1/auth/register", self.address))
            .json(&serde_json::json!({ "email": email, "password": "bench password 123" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let body: serde_json::Value = r.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    pub fn sync_url(&self, token: &str) -> String {
        format!("ws://{}/api/v1/sync?token={token}", self.address)
    }

    /// Kills the relay with SIGKILL, as a crash or the OOM killer would:
    /// no flushing, no goodbye to its connections.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub async fn stop(mut self) {
        // SIGTERM, as an operator would; the relay flushes and exits.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        if let Some((admin, name)) = self.postgres.take() {
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await
            .unwrap();
        }
    }
}

impl Drop for RelayProcess {
    /// A test that panics must not leave relays running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts the relay binary on `database` with data directory `dir`; waits
/// until it says where it listens.
fn launch(
    database: &lifeos_relay::config::DatabaseUrl,
    dir: &std::path::Path,
    env: &[(String, String)],
) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lifeos-relay"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LIFEOS_BIND", "127.0.0.1:0")
        .env("LIFEOS_DATA_DIR", dir)
        .env("LIFEOS_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn,lifeos_relay=info")
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    if let lifeos_relay::config::DatabaseUrl::Postgres(url) = database {
        command.env("DATABASE_URL", url);
    }
    let mut child = command.spawn().expect("the relay binary starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if !sent
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && let Some(address) = v["address"].as_str()
            {
                let _ = tx.send(address.to_string());
                sent = true;
            } else if line.contains("\"level\":\"WARN\"") || line.contains("\"level\":\"ERROR\"") {
                eprintln!("relay: {line}");
            }
        }
    });
    let address = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the relay says where it listens");
    (child, address)
}

/// Creates a fresh database on the Postgres server `admin`; its URL and name.
async fn create_database(admin: &str, prefix: &str) -> (String, String) {
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(admin).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let (server, _) = admin.rsplit_once('/').unwrap();
    (format!("{server}/{name}"), name)
}

/// CPU seconds (user + system) of process `pid` ("self" for this one).
pub fn cpu_seconds_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// A heavy user's documents, saved (compacted) as the relay stores them:
/// `expenses` expenses over ten years (for 100,000: about 830 a month in
/// 120 monthly ledgers), four categories and 2,000 tasks. Made once and
/// stored for any account: a root's content does not name its own id.
pub struct HeavyUser {
    /// The root document.
    pub root: Vec<u8>,
    /// Every other document.
    pub documents: Vec<(DocumentId, Vec<u8>)>,
    /// How many expenses.
    pub expenses: usize,
}

impl HeavyUser {
    /// Builds the documents with `lifeos-core`, one change per action.
    pub fn new(expenses: usize) -> HeavyUser {
        let started = Instant::now();
        let now = Timestamp::from_millis(1_795_680_000_000);
        let root_id = DocumentId::generate();
        let mut data = lifeos_core::UserData::create(root_id, now).unwrap();
        let eur = lifeos_core::Currency::from_code("EUR").unwrap();
        let categories: Vec<_> = ["Food", "Rent", "Transport", "Fun, \"misc\""]
            .iter()
            .map(|n| data.add_category(now, n, false).unwrap())
            .collect();
        for i in 0..2_000 {
            data.add_task(
                now,
                NewTask {
                    title: format!("Task {i}"),
                    ..NewTask::default()
                },
            )
            .unwrap();
        }
        let first = Date::from_ymd_opt(2016, 12, 1).unwrap();
        for i in 0..expenses {
            let day = first + chrono::Days::new((i * 3650 / expenses) as u64);
            data.add_expense(
                now,
                NewExpense {
                    amount: lifeos_core::Money::new(100 + (i as i64 * 37) % 9_000, eur),
                    date: day,
                    category: Some(categories[i % categories.len()]),
                    payee: Some(format!("Shop {}", i % 500)),
                    note: (i % 10 == 0).then(|| "with a note, \"quoted\"".to_string()),
                },
            )
            .unwrap();
        }
        let mut root = Vec::new();
        let mut documents = Vec::new();
        for (id, doc) in data.documents_mut() {
            if id == root_id {
                root = doc.save();
            } else {
                documents.push((id, doc.save()));
            }
        }
        let stored: usize = root.len() + documents.iter().map(|(_, b)| b.len()).sum::<usize>();
        println!(
            "heavy user: {expenses} expenses and 2,000 tasks in {} documents ({:.1} MB stored), made in {:.1} s",
            documents.len() + 1,
            stored as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
        HeavyUser {
            root,
            documents,
            expenses,
        }
    }
}

impl RelayProcess {
    /// Registers an account and writes `user`'s documents for it straight
    /// into the relay's database; returns the account's access token.
    pub async fn seed(&self, user: &HeavyUser) -> String {
        let client = reqwest::Client::new();
        let r = client
            .post(format!("http://{}/api/v1/auth/register", self.address))
            .json(&serde_json::json!({ "email": "heavy@example.com", "password": "bench password 123" }))
            .send()
            .await
            .unwrap();
        let pair: serde_json::Value = r.json().await.unwrap();
        let token = pair["access_token"].as_str().unwrap().to_string();
        let account: uuid::Uuid = pair["user"]["id"].as_str().unwrap().parse().unwrap();
        let store = lifeos_relay::storage::Store::open(&self.database)
            .await
            .unwrap();
        let root = (DocumentId::root_of_user(&account), user.root.clone());
        for (id, bytes) in std::iter::once(root).chain(user.documents.iter().cloned()) {
            store.reserve_document(id, account, 0).await.unwrap();
            assert!(store.replace_snapshot(id, bytes, 0, 0).await.unwrap());
        }
        token
    }

    /// Downloads each export format of the user with `token`, sampling the
    /// relay's resident memory while it streams, and prints the figures.
    /// Returns, per format, the bytes received and the growth of resident
    /// memory over what it was before the exports, in MB.
    pub async fn report_exports(&self, token: &str) -> Vec<(usize, f64)> {
        let client = reqwest::Client::new();
        let mut figures = Vec::new();
        let (rss, _) = self.memory_mb();
        println!("relay resident before the exports: {rss:.1} MB");
        for query in [
            "format=json",
            "format=csv&kind=expenses",
            "format=csv&kind=all",
        ] {
            let started = Instant::now();
            let mut response = client
                .get(format!("http://{}/api/v1/export?{query}", self.address))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{query}");
            let mut size = 0usize;
            let mut peak = 0f64;
            while let Some(chunk) = response.chunk().await.unwrap() {
                size += chunk.len();
                peak = peak.max(self.memory_mb().0);
            }
            println!(
                "{query:<26} {:>6.1} MB in {:>5.2} s; relay resident peak while streaming {peak:.1} MB ({:+.1} MB)",
                size as f64 / 1e6,
                started.elapsed().as_secs_f64(),
                peak - rss
            );
            figures.push((size, peak - rss));
        }
        let (_, hwm) = self.memory_mb();
        println!(
            "relay resident high-water mark over the whole run: {hwm:.1} MB ({})",
            self.backend
        );
        figures
    }
}
