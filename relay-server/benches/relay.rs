//! Relay load benchmarks (MISSION.md numbers 1 and 4), against the real
//! `lifeos-relay` binary in its own process, so that its CPU time and memory
//! are measured apart from the load generator's.
//!
//! ```sh
//! cargo bench -p lifeos-relay --bench relay -- fanout      # 32 writers x 6/s on one document
//! cargo bench -p lifeos-relay --bench relay -- throughput  # closed-loop writers, ack latency
//! cargo bench -p lifeos-relay --bench relay -- export      # 100,000 expenses out of GET /api/v1/export
//! cargo bench -p lifeos-relay --bench relay -- cluster     # fan-out with writers spread over relays on one Postgres
//! ```
//!
//! `LIFEOS_BENCH_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres` runs
//! against a fresh Postgres database on that server (created and dropped);
//! without it the relay uses SQLite in a temporary directory.
//! `LIFEOS_BENCH_SECONDS` sets the measured window (default 20 for fan-out,
//! 10 for throughput); `LIFEOS_BENCH_WRITERS` the number of writers.
//! `cluster` needs `LIFEOS_BENCH_POSTGRES` and starts `LIFEOS_BENCH_RELAYS`
//! relays (default 2) on one database; writer i connects to relay i mod n,
//! so most deliveries cross from one relay to another through Postgres.
//! See docs/benchmarks.md for the figures.

use std::collections::HashMap;
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
use tokio_tungstenite::tungstenite::Message as Frame;

#[path = "../tests/support/relay_process.rs"]
mod relay_process;
use relay_process::{HeavyUser, RelayProcess as Relay, cpu_seconds_of};

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
        if scenario == "cluster" {
            let admin = std::env::var("LIFEOS_BENCH_POSTGRES")
                .expect("the cluster scenario needs LIFEOS_BENCH_POSTGRES");
            let count = env_number("LIFEOS_BENCH_RELAYS", 2) as usize;
            let relays = Relay::start_cluster(admin, count).await;
            fanout(&relays).await;
            for relay in relays.into_iter().rev() {
                relay.stop().await;
            }
            return;
        }
        let relay = Relay::start(std::env::var("LIFEOS_BENCH_POSTGRES").ok()).await;
        match scenario.as_str() {
            "fanout" => fanout(std::slice::from_ref(&relay)).await,
            "throughput" => throughput(&relay).await,
            "export" => {
                let expenses = env_number("LIFEOS_BENCH_EXPENSES", 100_000) as usize;
                let token = relay.seed(&HeavyUser::new(expenses)).await;
                relay.report_exports(&token).await;
            }
            other => panic!("unknown scenario {other:?}: fanout, throughput, export or cluster"),
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
/// Writer i connects to relay i mod n (one relay, or several on one database).
async fn fanout(relays: &[Relay]) {
    let writers = env_number("LIFEOS_BENCH_WRITERS", 32) as usize;
    let seconds = env_number("LIFEOS_BENCH_SECONDS", 20);
    let rate = 6.0;
    let token = relays[0].register("fanout@example.com").await;
    let url = |i: usize| relays[i % relays.len()].sync_url(&token);

    let mut first = Device::connect(&url(0), "writer-0").await;
    let doc = DocumentId::generate();
    first.client.documents_mut().insert(doc, AutoCommit::new());
    first.edit(doc, "w0", 0).await;
    first.until(|d| d.client.unconfirmed_changes() == 0).await;
    let mut devices = vec![first];
    for i in 1..writers {
        let mut d = Device::connect(&url(i), &format!("writer-{i}")).await;
        let out = d.client.want(doc);
        d.send(out).await;
        d.until(|d| d.client.documents_mut().contains_key(&doc))
            .await;
        devices.push(d);
    }

    let sent: SentTimes = Arc::new(Mutex::new(HashMap::new()));
    let start = tokio::time::Instant::now() + Duration::from_millis(500);
    let end = start + Duration::from_secs(seconds);
    let relay_cpu = || relays.iter().map(Relay::cpu_seconds).sum::<f64>();
    let cpu_before = relay_cpu();
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
    let cpu = relay_cpu() - cpu_before;
    let own = cpu_seconds_of("self") - own_before;
    let expected = written as usize * (writers - 1);
    let delivered = latencies.len();
    let [p50, p95, p99, max] = percentiles(&mut latencies);
    let (rss, peak) = relays
        .iter()
        .map(Relay::memory_mb)
        .fold((0.0, 0.0), |(r, p), (r2, p2)| (r + r2, p + p2));
    let spread = if relays.len() > 1 {
        format!(", spread over {} relays on one database", relays.len())
    } else {
        String::new()
    };
    println!(
        "## fan-out: {writers} writers x {rate}/s on one document, {seconds} s, {}{spread}",
        relays[0].backend
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
