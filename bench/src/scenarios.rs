//! The scenarios, each run against one fresh server for a fixed, bounded
//! time, measured the same way for both servers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc};
use lifeos_core::DocumentId;

use crate::device::Device;
use crate::server::{Server, cpu_seconds_of};

/// One scenario's figures on one server.
#[derive(Clone, Debug)]
pub struct Measured {
    /// What ran.
    pub scenario: String,
    /// On which server (its name and storage).
    pub server: String,
    /// Latency percentiles in milliseconds: p50, p95, p99 (`None` where the
    /// scenario measures no latency).
    pub latency: Option<[f64; 3]>,
    /// What the latency is of, and what was delivered.
    pub detail: String,
    /// Operations per second, where it applies.
    pub throughput: Option<f64>,
    /// Server CPU seconds during the measured window.
    pub cpu: f64,
    /// Server peak resident memory, MB.
    pub peak_rss: f64,
    /// The load generator's own CPU seconds.
    pub own_cpu: f64,
}

/// p50, p95, p99 of `samples` in milliseconds.
pub fn percentiles(samples: &mut [Duration]) -> Option<[f64; 3]> {
    if samples.is_empty() {
        return None;
    }
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i].as_secs_f64() * 1000.0
    };
    Some([at(0.50), at(0.95), at(0.99)])
}

fn label(server: &Server) -> String {
    format!("{} ({})", server.kind.name(), server.storage)
}

type SentTimes = Arc<Mutex<HashMap<(usize, i64), Instant>>>;

/// A device writing into a document it shares with other writers.
struct Writer {
    device: Device,
    doc: DocumentId,
    /// Its place among the document's writers (it writes key `w{index}`).
    index: usize,
    /// How many writers the document has.
    peers: usize,
    /// Its number among all writers of the run.
    id: usize,
}

/// What [`write_and_watch`] saw.
struct Watched {
    /// Edit → arrival, for every delivery to another writer of the document.
    latencies: Vec<Duration>,
    /// Deliveries there should have been.
    expected: usize,
    /// Writers whose connection the server ended (or sent what the client
    /// could not read) before the run was over.
    dropped: usize,
}

/// Every writer writes once per `period` for `seconds` (ticks spread over
/// the period), and records when each other writer's edits of its document
/// arrive; a second after the last write lets deliveries finish.
async fn write_and_watch(writers: Vec<Writer>, period: Duration, seconds: u64) -> Watched {
    let total = writers.len();
    let sent: SentTimes = Arc::new(Mutex::new(HashMap::new()));
    let start = tokio::time::Instant::now() + Duration::from_millis(500);
    let end = start + Duration::from_secs(seconds);
    let drain = end + Duration::from_secs(1);
    let mut tasks = Vec::new();
    for mut w in writers {
        let sent = sent.clone();
        tasks.push(tokio::spawn(async move {
            let phase = period.mul_f64(w.id as f64 / total as f64);
            let mut tick = tokio::time::interval_at(start + phase, period);
            let mut seen = vec![0i64; w.peers];
            let mut latencies = Vec::new();
            let mut seq = 0i64;
            let first = w.id - w.index;
            let mut dropped = false;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let now = tokio::time::Instant::now();
                        if now >= drain {
                            break;
                        }
                        if now < end {
                            seq += 1;
                            sent.lock().expect("lock").insert((w.id, seq), Instant::now());
                            w.device.edit(w.doc, &format!("w{}", w.index), seq).await;
                        }
                    }
                    alive = w.device.step() => {
                        if !alive {
                            dropped = true;
                            break;
                        }
                        let now = Instant::now();
                        let Some(d) = w.device.client.documents_mut().get_mut(&w.doc) else {
                            continue;
                        };
                        for (j, last) in seen.iter_mut().enumerate() {
                            if j == w.index {
                                continue;
                            }
                            let value = d
                                .get(ROOT, format!("w{j}"))
                                .ok()
                                .flatten()
                                .and_then(|(v, _)| v.as_i64())
                                .unwrap_or(0);
                            if value > *last {
                                let sent = sent.lock().expect("lock");
                                for s in *last + 1..=value {
                                    if let Some(t) = sent.get(&(first + j, s)) {
                                        latencies.push(now - *t);
                                    }
                                }
                                *last = value;
                            }
                        }
                    }
                }
            }
            (latencies, seq as usize * (w.peers - 1), dropped)
        }));
    }
    let mut watched = Watched {
        latencies: Vec::new(),
        expected: 0,
        dropped: 0,
    };
    for t in tasks {
        let (l, expected, dropped) = t.await.expect("writer task");
        watched.latencies.extend(l);
        watched.expected += expected;
        watched.dropped += usize::from(dropped);
    }
    watched
}

/// "N of M deliveries (P% within 1 s)", and connections lost.
fn delivered(w: &Watched) -> String {
    let in_time = w
        .latencies
        .iter()
        .filter(|l| **l <= Duration::from_millis(1000))
        .count();
    let lost = match w.dropped {
        0 => String::new(),
        n => format!("; {n} connections lost during the run"),
    };
    format!(
        "{} of {} deliveries ({:.0}% within 1 s){lost}",
        w.latencies.len(),
        w.expected,
        in_time as f64 * 100.0 / w.expected.max(1) as f64
    )
}

/// (a) `writers` devices of one user on one document, each writing 6
/// changes per second; latency from a writer's edit to its arrival at every
/// other writer.
pub async fn fanout(server: &Server, writers: usize, seconds: u64) -> Measured {
    let token = server.user("fanout").await;
    let url = server.url(token.as_deref());
    let doc = DocumentId::generate();
    let mut first = Device::connect(&url, "writer-0").await.expect("connect");
    first.create(doc).await;
    assert!(
        first.until(|d| d.client.unconfirmed_changes() == 0).await,
        "the server stores the document"
    );
    let mut devices = vec![first];
    for i in 1..writers {
        let mut d = Device::connect(&url, &format!("writer-{i}"))
            .await
            .expect("connect");
        d.want(doc).await;
        assert!(
            d.until(|d| d.client.documents_mut().contains_key(&doc))
                .await,
            "writer {i} gets the document"
        );
        devices.push(d);
    }
    let writers_of_doc = devices
        .into_iter()
        .enumerate()
        .map(|(i, device)| Writer {
            device,
            doc,
            index: i,
            peers: writers,
            id: i,
        })
        .collect();
    let cpu_before = server.cpu_seconds();
    let own_before = cpu_seconds_of("self");
    let mut watched =
        write_and_watch(writers_of_doc, Duration::from_secs_f64(1.0 / 6.0), seconds).await;
    let cpu = server.cpu_seconds() - cpu_before;
    let own_cpu = cpu_seconds_of("self") - own_before;
    let detail = format!("edit → every other writer; {}", delivered(&watched));
    Measured {
        scenario: format!("(a) fan-out: {writers} writers × 6/s, one document, {seconds} s"),
        server: label(server),
        throughput: Some(watched.latencies.len() as f64 / seconds as f64),
        latency: percentiles(&mut watched.latencies),
        detail,
        cpu,
        peak_rss: server.memory_mb().1,
        own_cpu,
    }
}

/// (b) `users` users, each with two devices sharing a document, every
/// device writing once every 10 s; latency from an edit to its arrival at
/// the user's other device.
pub async fn many_users(server: &Server, users: usize, seconds: u64) -> Measured {
    // Accounts first (ours hashes each password: setup, not measured).
    let mut tokens = Vec::with_capacity(users);
    for batch in (0..users).collect::<Vec<_>>().chunks(8) {
        let made = batch
            .iter()
            .map(|u| async move { server.user(&format!("user-{u}")).await });
        tokens.extend(futures_util::future::join_all(made).await);
    }
    let mut writers = Vec::with_capacity(users * 2);
    for batch in tokens.chunks(50).enumerate() {
        let (b, batch) = batch;
        let pairs = batch.iter().enumerate().map(|(k, token)| {
            let u = b * 50 + k;
            let url = server.url(token.as_deref());
            async move {
                let doc = DocumentId::generate();
                let mut phone = Device::connect(&url, &format!("u{u}-phone"))
                    .await
                    .expect("connect");
                phone.create(doc).await;
                assert!(phone.until(|d| d.client.unconfirmed_changes() == 0).await);
                let mut laptop = Device::connect(&url, &format!("u{u}-laptop"))
                    .await
                    .expect("connect");
                laptop.want(doc).await;
                assert!(
                    laptop
                        .until(|d| d.client.documents_mut().contains_key(&doc))
                        .await,
                    "user {u}'s second device gets the document"
                );
                [phone, laptop]
                    .into_iter()
                    .enumerate()
                    .map(|(index, device)| Writer {
                        device,
                        doc,
                        index,
                        peers: 2,
                        id: u * 2 + index,
                    })
                    .collect::<Vec<_>>()
            }
        });
        writers.extend(
            futures_util::future::join_all(pairs)
                .await
                .into_iter()
                .flatten(),
        );
    }
    let connections = writers.len();
    let cpu_before = server.cpu_seconds();
    let own_before = cpu_seconds_of("self");
    let mut watched = write_and_watch(writers, Duration::from_secs(10), seconds).await;
    let cpu = server.cpu_seconds() - cpu_before;
    let own_cpu = cpu_seconds_of("self") - own_before;
    let detail = format!(
        "edit → the user's other device; {connections} connections; {}",
        delivered(&watched)
    );
    Measured {
        scenario: format!("(b) {users} users × 2 devices, each writing every 10 s, {seconds} s"),
        server: label(server),
        throughput: Some(watched.latencies.len() as f64 / seconds as f64),
        latency: percentiles(&mut watched.latencies),
        detail,
        cpu,
        peak_rss: server.memory_mb().1,
        own_cpu,
    }
}

/// (c) `count` idle connections (authenticated for ours), handshake done:
/// the server's resident memory per connection.
pub async fn idle(server: &Server, count: usize) -> Measured {
    let token = server.user("idle").await;
    let url = server.url(token.as_deref());
    // Settle the server's own start-up allocations first.
    let warm = Device::connect(&url, "warm-up").await.expect("connect");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss_before, _) = server.memory_mb();
    let cpu_before = server.cpu_seconds();
    let own_before = cpu_seconds_of("self");
    let mut latencies = Vec::new();
    let mut devices = Vec::with_capacity(count);
    let mut failed = 0;
    for batch in (0..count).collect::<Vec<_>>().chunks(200) {
        let attempts = batch.iter().map(|i| {
            let url = url.clone();
            async move {
                let t = Instant::now();
                let d = Device::connect(&url, &format!("idle-{i}")).await;
                (d, t.elapsed())
            }
        });
        for (d, took) in futures_util::future::join_all(attempts).await {
            match d {
                Ok(d) => {
                    devices.push(d);
                    latencies.push(took);
                }
                Err(_) => failed += 1,
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss_after, peak) = server.memory_mb();
    let cpu = server.cpu_seconds() - cpu_before;
    let own_cpu = cpu_seconds_of("self") - own_before;
    let open = devices.len();
    let per = (rss_after - rss_before) * 1024.0 / open.max(1) as f64;
    drop(devices);
    drop(warm);
    Measured {
        scenario: format!("(c) idle connections: {count}"),
        server: label(server),
        latency: percentiles(&mut latencies),
        detail: format!(
            "connect + handshake; {open} open ({failed} failed), RSS {rss_before:.0} → {rss_after:.0} MB = {per:.1} KB per connection"
        ),
        throughput: None,
        cpu,
        peak_rss: peak,
        own_cpu,
    }
}

/// (d) A document of `changes` changes, stored, synced to a new device
/// `samples` times; between samples every connection is closed and the
/// server left idle for `rest` (ours runs with a 1 s idle eviction, so each
/// sync loads the document from its database). Latency from connecting to
/// the device holding every change.
pub async fn cold_sync(
    server: &Server,
    changes: usize,
    samples: usize,
    rest: Duration,
) -> Measured {
    let token = server.user("cold").await;
    let url = server.url(token.as_deref());
    let doc = DocumentId::generate();
    let mut writer = Device::connect(&url, "history").await.expect("connect");
    writer.create(doc).await;
    // Years of a user's edits, uploaded 10,000 changes at a time.
    let mut made = 1;
    while made < changes {
        let step = (changes - made).min(10_000);
        {
            let d = writer
                .client
                .documents_mut()
                .get_mut(&doc)
                .expect("created");
            for i in made..made + step {
                let _ = d.put(ROOT, format!("k{}", i % 200), i as i64);
                d.commit();
            }
        }
        made += step;
        let out = writer.client.local_change(doc);
        writer.send(out).await;
        assert!(
            writer.until(|d| d.client.unconfirmed_changes() == 0).await,
            "the server stores the history ({made} changes)"
        );
    }
    let expected = writer
        .client
        .documents_mut()
        .get_mut(&doc)
        .map(|d| d.get_heads())
        .expect("created");
    let saved = writer
        .client
        .documents_mut()
        .get_mut(&doc)
        .map(|d| d.save().len())
        .unwrap_or(0);
    writer.close().await;
    // Another user keeps writing meanwhile, a change at a time, each
    // acknowledged before the next: whether one device's cold sync holds
    // up everybody else's changes.
    let bystander_url = server.url(server.user("bystander").await.as_deref());
    let mut bystander = Device::connect(&bystander_url, "bystander")
        .await
        .expect("connect");
    let bystander_doc = DocumentId::generate();
    bystander.create(bystander_doc).await;
    assert!(
        bystander
            .until(|d| d.client.unconfirmed_changes() == 0)
            .await
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let bystanding = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let t = Instant::now();
                bystander.edit(bystander_doc, "n", n).await;
                if !bystander
                    .until(|d| d.client.unconfirmed_changes() == 0)
                    .await
                {
                    break;
                }
                latencies.push(t.elapsed());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            latencies
        })
    };
    let mut latencies = Vec::new();
    let mut server_side = Vec::new();
    let mut cpu = 0.0;
    let own_before = cpu_seconds_of("self");
    for s in 0..samples {
        tokio::time::sleep(rest).await;
        let cpu_before = server.cpu_seconds();
        let t = Instant::now();
        let mut d = Device::connect(&url, &format!("new-device-{s}"))
            .await
            .expect("connect");
        d.want(doc).await;
        let complete = d
            .until(|d| {
                d.client
                    .documents_mut()
                    .get_mut(&doc)
                    .is_some_and(|doc| doc.get_heads() == expected)
            })
            .await;
        let took = t.elapsed();
        cpu += server.cpu_seconds() - cpu_before;
        let answered = d.last_message_at.map(|at| at - t);
        d.close().await;
        if complete {
            latencies.push(took);
            server_side.extend(answered);
        }
    }
    let own_cpu = cpu_seconds_of("self") - own_before;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut others = bystanding.await.expect("bystander task");
    let others = match percentiles(&mut others) {
        Some([_, _, p99]) => format!(
            "p99 {p99:.1} / max {:.0} ms",
            others.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        ),
        None => "–".into(),
    };
    let done = latencies.len();
    let answered = match percentiles(&mut server_side) {
        Some([p50, p95, _]) => format!("p50 {p50:.0} / p95 {p95:.0} ms"),
        None => "–".into(),
    };
    Measured {
        scenario: format!("(d) cold sync: a {changes}-change document to a new device"),
        server: label(server),
        latency: percentiles(&mut latencies),
        detail: format!(
            "connect → the device has every change; {done} of {samples} syncs, each after {:.0} s idle; {:.1} MB saved; server side (connect → the last message arrives, before the device applies it) {answered}; another user's changes acknowledged meanwhile in {others}; server CPU {:.0} ms per sync",
            rest.as_secs_f64(),
            saved as f64 / 1e6,
            cpu * 1000.0 / done.max(1) as f64
        ),
        throughput: None,
        cpu,
        peak_rss: server.memory_mb().1,
        own_cpu,
    }
}

/// (e) `writers` closed-loop writers, each on a document of its own,
/// waiting for the server to acknowledge one change (its heads include it)
/// before writing the next: acknowledged changes per second and latency.
pub async fn throughput(server: &Server, writers: usize, seconds: u64) -> Measured {
    let token = server.user("throughput").await;
    let url = server.url(token.as_deref());
    let mut devices = Vec::new();
    for i in 0..writers {
        let mut d = Device::connect(&url, &format!("dev-{i}"))
            .await
            .expect("connect");
        let doc = DocumentId::generate();
        d.create(doc).await;
        assert!(d.until(|d| d.client.unconfirmed_changes() == 0).await);
        devices.push((d, doc));
    }
    let end = Instant::now() + Duration::from_secs(seconds);
    let cpu_before = server.cpu_seconds();
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
                if !device.until(|d| d.client.unconfirmed_changes() == 0).await {
                    break;
                }
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("writer task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = server.cpu_seconds() - cpu_before;
    let own_cpu = cpu_seconds_of("self") - own_before;
    let count = latencies.len();
    Measured {
        scenario: format!("(e) acknowledged changes: {writers} closed-loop writers, {seconds} s"),
        server: label(server),
        latency: percentiles(&mut latencies),
        detail: format!("edit → the server's heads include it; {count} changes"),
        throughput: Some(count as f64 / elapsed),
        cpu,
        peak_rss: server.memory_mb().1,
        own_cpu,
    }
}

/// (f) `devices` up-to-date devices (a document each, in sync) reconnect
/// at once: time from connecting to the server confirming the device is
/// up to date, and the server's CPU per reconnect.
pub async fn reconnect(server: &Server, devices: usize) -> Measured {
    let token = server.user("reconnect").await;
    let url = server.url(token.as_deref());
    let mut docs = Vec::new();
    for i in 0..devices {
        let mut d = Device::connect(&url, &format!("re-{i}"))
            .await
            .expect("connect");
        let doc = DocumentId::generate();
        d.create(doc).await;
        d.edit(doc, "n", 2).await;
        assert!(d.until(|d| d.client.unconfirmed_changes() == 0).await);
        docs.push((d.close().await, doc));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cpu_before = server.cpu_seconds();
    let own_before = cpu_seconds_of("self");
    let started = Instant::now();
    let attempts = docs.into_iter().enumerate().map(|(i, (documents, doc))| {
        let url = url.clone();
        async move {
            let t = Instant::now();
            // A new peer and storage id: the server cannot skip the exchange
            // on sync state remembered from the first connection (the
            // reference server would then stay silent, and nothing would
            // tell the device it is up to date).
            let mut d = Device::connect_with(&url, &format!("re-{i}-again"), documents)
                .await
                .ok()?;
            let ok = d
                .until(|d| {
                    d.client.confirmed_heads(doc).is_some() && d.client.unconfirmed_changes() == 0
                })
                .await;
            let took = t.elapsed();
            d.close().await;
            ok.then_some(took)
        }
    });
    let results = futures_util::future::join_all(attempts).await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = server.cpu_seconds() - cpu_before;
    let own_cpu = cpu_seconds_of("self") - own_before;
    let mut latencies: Vec<Duration> = results.iter().flatten().copied().collect();
    let done = latencies.len();
    Measured {
        scenario: format!("(f) reconnect: {devices} up-to-date devices at once"),
        server: label(server),
        latency: percentiles(&mut latencies),
        detail: format!(
            "connect → server confirms up to date; {done} of {devices}; server CPU {:.2} ms per reconnect",
            cpu * 1000.0 / done.max(1) as f64
        ),
        throughput: Some(done as f64 / elapsed),
        cpu,
        peak_rss: server.memory_mb().1,
        own_cpu,
    }
}
