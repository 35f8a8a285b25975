//! Relay load benchmarks (MISSION.md numbers 1 and 4), against the real
//! `lifeos-relay` binary in its own process, so that its CPU time and memory
//! are measured apart from the load generator's.
//!
//! ```sh
//! cargo bench -p lifeos-relay --bench relay -- fanout      # 32 writers x 6/s on one document
//! cargo bench -p lifeos-relay --bench relay -- throughput  # closed-loop writers, ack latency
//! cargo bench -p lifeos-relay --bench relay -- export      # 100,000 expenses out of GET /api/v1/export
//! ```
//!
//! `LIFEOS_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres` runs
//! against a fresh Postgres database on that server (created and dropped);
//! without it the relay uses SQLite in a temporary directory.
//! `LIFEOS_BENCH_SECONDS` sets the measured window (default 20 for fan-out,
//! 10 for throughput); `LIFEOS_BENCH_WRITERS` the number of writers.
//! See docs/benchmarks.md for the figures.

use std::collections::HashMap;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT, ReadDoc};
use futures_util::{SinkExt, StreamExt};
use lifeos_core::DocumentId;
use lifeos_core::sync::{
    Client, ClientConnection, ClientOutput, DEFAULT_MAX_FRAME, Event, PeerId, PeerMetadata,
    StorageId, encode,
};
use sqlx::Connection as _;
use tokio_tungstenite::tungstenite::Message as Frame;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn main() {
    let scenario = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_else(|| "fanout".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let relay = Relay::start().await;
        match scenario.as_str() {
            "fanout" => fanout(&relay).await,
            "throughput" => throughput(&relay).await,
            "export" => export(&relay).await,
            other => panic!("unknown scenario {other:?}: fanout, throughput or export"),
        }
        relay.stop().await;
    });
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The relay binary, running on a fresh database.
struct Relay {
    child: Child,
    address: String,
    database: lifeos_relay::config::DatabaseUrl,
    postgres: Option<(String, String)>,
    _dir: tempfile::TempDir,
    backend: &'static str,
}

impl Relay {
    async fn start() -> Relay {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_lifeos-relay"));
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LIFEOS_BIND", "127.0.0.1:0")
            .env("LIFEOS_DATA_DIR", dir.path())
            .env("LIFEOS_LOG_FORMAT", "json")
            .env("RUST_LOG", "warn,lifeos_relay=info")
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut database = lifeos_relay::config::DatabaseUrl::Sqlite(dir.path().join("lifeos.db"));
        let (postgres, backend) = match std::env::var("LIFEOS_BENCH_POSTGRES") {
            Ok(admin) => {
                let name = format!("lifeos_bench_{}", std::process::id());
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let (server, _) = admin.rsplit_once('/').unwrap();
                command.env("DATABASE_URL", format!("{server}/{name}"));
                database = lifeos_relay::config::DatabaseUrl::Postgres(format!("{server}/{name}"));
                (Some((admin, name)), "postgres")
            }
            Err(_) => (None, "sqlite"),
        };
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
                } else if line.contains("\"level\":\"WARN\"")
                    || line.contains("\"level\":\"ERROR\"")
                {
                    eprintln!("relay: {line}");
                }
            }
        });
        let address = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the relay says where it listens");
        Relay {
            child,
            address,
            database,
            postgres,
            _dir: dir,
            backend,
        }
    }

    /// CPU seconds (user + system) the relay has used.
    fn cpu_seconds(&self) -> f64 {
        cpu_seconds_of(&self.child.id().to_string())
    }

    /// Resident memory now and at its peak, in MB.
    fn memory_mb(&self) -> (f64, f64) {
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

    async fn register(&self, email: &str) -> String {
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

    fn sync_url(&self, token: &str) -> String {
        format!("ws://{}/api/v1/sync?token={token}", self.address)
    }

    async fn stop(mut self) {
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

/// A device: the core sync client over one WebSocket.
struct Device {
    ws: Socket,
    conn: ClientConnection,
    client: Client<HashMap<DocumentId, AutoCommit>>,
}

impl Device {
    async fn connect(url: &str, name: &str) -> Device {
        let peer = PeerId::new(name).unwrap();
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        // Latency is the point: no Nagle delay on our side either.
        if let tokio_tungstenite::MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_nodelay(true).unwrap();
        }
        let metadata = PeerMetadata {
            storage_id: StorageId::new(format!("s-{name}")),
            is_ephemeral: false,
        };
        let (mut conn, join) = ClientConnection::start(peer.clone(), metadata, DEFAULT_MAX_FRAME);
        ws.send(Frame::Binary(join.into())).await.unwrap();
        let mut client = Client::new(peer, HashMap::new());
        loop {
            let Some(Ok(Frame::Binary(bytes))) = ws.next().await else {
                continue;
            };
            if let Some(relay) = conn
                .receive(&bytes)
                .unwrap()
                .into_iter()
                .find_map(|e| match e {
                    Event::Joined { peer, .. } => Some(peer),
                    _ => None,
                })
            {
                let _ = client.connected(relay);
                break;
            }
        }
        Device { ws, conn, client }
    }

    async fn send(&mut self, outputs: Vec<ClientOutput>) {
        for o in outputs {
            if let ClientOutput::Send(m) = o {
                self.ws
                    .send(Frame::Binary(encode(&m).into()))
                    .await
                    .unwrap();
            }
        }
    }

    /// Handles one frame; false when the connection ended.
    async fn step(&mut self) -> bool {
        let Some(Ok(frame)) = self.ws.next().await else {
            return false;
        };
        let Frame::Binary(bytes) = frame else {
            return true;
        };
        for event in self.conn.receive(&bytes).unwrap() {
            if let Event::Document(m) = event {
                let out = self.client.receive(&m).unwrap();
                self.send(out).await;
            }
        }
        true
    }

    async fn edit(&mut self, id: DocumentId, key: &str, value: i64) {
        let doc = self.client.documents_mut().get_mut(&id).unwrap();
        doc.put(ROOT, key, value).unwrap();
        doc.commit();
        let out = self.client.local_change(id);
        self.send(out).await;
    }

    async fn until(&mut self, mut done: impl FnMut(&mut Self) -> bool) {
        while !done(self) {
            assert!(self.step().await, "connection closed");
        }
    }
}

/// CPU seconds (user + system) of process `pid` ("self" for this one).
fn cpu_seconds_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which is in parentheses).
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// p50, p95, p99 and max of `samples` in milliseconds.
fn percentiles(samples: &mut [Duration]) -> [f64; 4] {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i].as_secs_f64() * 1000.0
    };
    [at(0.50), at(0.95), at(0.99), at(1.0)]
}

type SentTimes = Arc<Mutex<HashMap<(usize, i64), Instant>>>;

/// MISSION.md 1: writers on one document, each writing 6 changes per second;
/// latency from a writer's edit to its arrival at every other writer.
async fn fanout(relay: &Relay) {
    let writers = env_number("LIFEOS_BENCH_WRITERS", 32) as usize;
    let seconds = env_number("LIFEOS_BENCH_SECONDS", 20);
    let rate = 6.0;
    let token = relay.register("fanout@example.com").await;
    let url = relay.sync_url(&token);

    let mut first = Device::connect(&url, "writer-0").await;
    let doc = DocumentId::generate();
    first.client.documents_mut().insert(doc, AutoCommit::new());
    first.edit(doc, "w0", 0).await;
    first.until(|d| d.client.unconfirmed_changes() == 0).await;
    let mut devices = vec![first];
    for i in 1..writers {
        let mut d = Device::connect(&url, &format!("writer-{i}")).await;
        let out = d.client.want(doc);
        d.send(out).await;
        d.until(|d| d.client.documents_mut().contains_key(&doc))
            .await;
        devices.push(d);
    }

    let sent: SentTimes = Arc::new(Mutex::new(HashMap::new()));
    let start = tokio::time::Instant::now() + Duration::from_millis(500);
    let end = start + Duration::from_secs(seconds);
    let cpu_before = relay.cpu_seconds();
    let own_before = cpu_seconds_of("self");
    let mut tasks = Vec::new();
    for (i, mut device) in devices.into_iter().enumerate() {
        let sent = sent.clone();
        tasks.push(tokio::spawn(async move {
            let period = Duration::from_secs_f64(1.0 / rate);
            // Spread the writers' ticks over the period.
            let phase = period.mul_f64(i as f64 / writers as f64);
            let mut tick = tokio::time::interval_at(start + phase, period);
            let mut seen = vec![0i64; writers];
            let mut latencies = Vec::new();
            let mut seq = 0i64;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        if tokio::time::Instant::now() >= end {
                            break;
                        }
                        seq += 1;
                        sent.lock().unwrap().insert((i, seq), Instant::now());
                        device.edit(doc, &format!("w{i}"), seq).await;
                    }
                    alive = device.step() => {
                        if !alive {
                            break;
                        }
                        let now = Instant::now();
                        let d = device.client.documents_mut().get_mut(&doc).unwrap();
                        for (j, last) in seen.iter_mut().enumerate() {
                            if j == i {
                                continue;
                            }
                            let value = d
                                .get(ROOT, format!("w{j}"))
                                .ok()
                                .flatten()
                                .and_then(|(v, _)| v.as_i64())
                                .unwrap_or(0);
                            if value > *last {
                                let sent = sent.lock().unwrap();
                                for s in *last + 1..=value {
                                    if let Some(t) = sent.get(&(j, s)) {
                                        latencies.push(now - *t);
                                    }
                                }
                                *last = value;
                            }
                        }
                    }
                }
            }
            (latencies, seq)
        }));
    }
    let mut latencies = Vec::new();
    let mut written = 0;
    for t in tasks {
        let (l, s) = t.await.unwrap();
        latencies.extend(l);
        written += s;
    }
    let cpu = relay.cpu_seconds() - cpu_before;
    let own = cpu_seconds_of("self") - own_before;
    let expected = written as usize * (writers - 1);
    let delivered = latencies.len();
    let [p50, p95, p99, max] = percentiles(&mut latencies);
    let (rss, peak) = relay.memory_mb();
    println!(
        "## fan-out: {writers} writers x {rate}/s on one document, {seconds} s, {}",
        relay.backend
    );
    println!(
        "| changes written | deliveries measured | p50 | p95 | p99 | max | relay CPU | load generator CPU | relay RSS (peak) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {written} | {delivered} of {expected} | {p50:.2} ms | {p95:.2} ms | {p99:.2} ms | {max:.1} ms | {cpu:.2} s | {own:.2} s | {rss:.0} MB ({peak:.0} MB) |"
    );
}

/// MISSION.md 4: closed-loop writers (each on its own document), each
/// waiting for the relay to acknowledge (commit) one change before the next;
/// committed changes per second and acknowledgement latency.
async fn throughput(relay: &Relay) {
    let writers = env_number("LIFEOS_BENCH_WRITERS", 64) as usize;
    let seconds = env_number("LIFEOS_BENCH_SECONDS", 10);
    let users = 8.min(writers);
    let mut tokens = Vec::new();
    for u in 0..users {
        tokens.push(relay.register(&format!("writer{u}@example.com")).await);
    }
    let mut devices = Vec::new();
    for i in 0..writers {
        let mut d = Device::connect(&relay.sync_url(&tokens[i % users]), &format!("dev-{i}")).await;
        let doc = DocumentId::generate();
        d.client.documents_mut().insert(doc, AutoCommit::new());
        d.edit(doc, "n", 0).await;
        d.until(|d| d.client.unconfirmed_changes() == 0).await;
        devices.push((d, doc));
    }
    let end = Instant::now() + Duration::from_secs(seconds);
    let cpu_before = relay.cpu_seconds();
    let own_before = cpu_seconds_of("self");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (mut device, doc) in devices {
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0;
            while Instant::now() < end {
                n += 1;
                let t = Instant::now();
                device.edit(doc, "n", n).await;
                device.until(|d| d.client.unconfirmed_changes() == 0).await;
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = relay.cpu_seconds() - cpu_before;
    let own = cpu_seconds_of("self") - own_before;
    let count = latencies.len();
    let [p50, p95, p99, max] = percentiles(&mut latencies);
    let (rss, peak) = relay.memory_mb();
    println!(
        "## persisted changes: {writers} closed-loop writers, {seconds} s, {}",
        relay.backend
    );
    println!(
        "| acknowledged changes | per second | ack p50 | p95 | p99 | max | relay CPU | load generator CPU | relay RSS (peak) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {count} | {:.0} | {p50:.2} ms | {p95:.2} ms | {p99:.2} ms | {max:.1} ms | {cpu:.2} s | {own:.2} s | {rss:.0} MB ({peak:.0} MB) |",
        count as f64 / elapsed
    );
}

/// MISSION.md / issue 6: a user with 100,000 expenses (ten years, about 830
/// a month, in 120 monthly ledgers) plus 2,000 tasks exports in bounded
/// memory. The user's documents are written to the relay's database as
/// compacted snapshots (what compaction leaves), then each format is
/// downloaded and the relay's resident memory sampled while it streams.
async fn export(relay: &Relay) {
    use lifeos_core::finance::NewExpense;
    use lifeos_core::tasks::NewTask;
    use lifeos_core::time::{Date, Timestamp};
    use lifeos_relay::storage::DocumentStore;

    let expenses = env_number("LIFEOS_BENCH_EXPENSES", 100_000) as usize;
    let client = reqwest::Client::new();
    let r = client
        .post(format!("http://{}/api/v1/auth/register", relay.address))
        .json(
            &serde_json::json!({ "email": "heavy@example.com", "password": "bench password 123" }),
        )
        .send()
        .await
        .unwrap();
    let pair: serde_json::Value = r.json().await.unwrap();
    let token = pair["access_token"].as_str().unwrap().to_string();
    let user: uuid::Uuid = pair["user"]["id"].as_str().unwrap().parse().unwrap();

    let started = Instant::now();
    let now = Timestamp::from_millis(1_795_680_000_000);
    let mut data = lifeos_core::UserData::create(DocumentId::root_of_user(&user), now).unwrap();
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
    let store = lifeos_relay::storage::Store::open(&relay.database)
        .await
        .unwrap();
    let mut stored_bytes = 0;
    let documents = data.documents_mut();
    let count = documents.len();
    for (id, doc) in documents {
        let bytes = doc.save();
        stored_bytes += bytes.len();
        store.reserve_document(id, user, 0).await.unwrap();
        assert!(store.replace_snapshot(id, bytes, 0, 0).await.unwrap());
    }
    println!(
        "export: {expenses} expenses and 2,000 tasks in {count} documents ({:.1} MB stored), made in {:.1} s",
        stored_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    drop(data);

    let (rss, _) = relay.memory_mb();
    println!("relay resident before the exports: {rss:.1} MB");
    for query in [
        "format=json",
        "format=csv&kind=expenses",
        "format=csv&kind=all",
    ] {
        let started = Instant::now();
        let mut response = client
            .get(format!("http://{}/api/v1/export?{query}", relay.address))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{query}");
        let mut size = 0usize;
        let mut peak = 0f64;
        while let Some(chunk) = response.chunk().await.unwrap() {
            size += chunk.len();
            peak = peak.max(relay.memory_mb().0);
        }
        println!(
            "{query:<26} {:>6.1} MB in {:>5.2} s; relay resident peak while streaming {peak:.1} MB ({:+.1} MB)",
            size as f64 / 1e6,
            started.elapsed().as_secs_f64(),
            peak - rss
        );
    }
    let (_, hwm) = relay.memory_mb();
    println!(
        "relay resident high-water mark over the whole run: {hwm:.1} MB ({})",
        relay.backend
    );
}
