//! The scenarios, each run against one fresh server for a fixed, bounded
//! time, measured the same way for both servers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// (a) `writers` devices of one user on one document, each writing 6
/// changes per second; latency from a writer's edit to its arrival at every
/// other writer.
pub async fn fanout(server: &Server, writers: usize, seconds: u64) -> Measured {
    let rate = 6.0;
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
    let sent: SentTimes = Arc::new(Mutex::new(HashMap::new()));
    let start = tokio::time::Instant::now() + Duration::from_millis(500);
    let end = start + Duration::from_secs(seconds);
    let cpu_before = server.cpu_seconds();
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
            // After the last write, a second to let deliveries finish.
            let drain = end + Duration::from_secs(1);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let now = tokio::time::Instant::now();
                        if now >= drain {
                            break;
                        }
                        if now < end {
                            seq += 1;
                            sent.lock().expect("lock").insert((i, seq), Instant::now());
                            device.edit(doc, &format!("w{i}"), seq).await;
                        }
                    }
                    alive = device.step() => {
                        if !alive {
                            break;
                        }
                        let now = Instant::now();
                        let Some(d) = device.client.documents_mut().get_mut(&doc) else {
                            continue;
                        };
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
                                let sent = sent.lock().expect("lock");
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
        let (l, s) = t.await.expect("writer task");
        latencies.extend(l);
        written += s;
    }
    let cpu = server.cpu_seconds() - cpu_before;
    let own_cpu = cpu_seconds_of("self") - own_before;
    let expected = written as usize * (writers - 1);
    let delivered = latencies.len();
    let in_time = latencies
        .iter()
        .filter(|l| **l <= Duration::from_millis(1000))
        .count();
    Measured {
        scenario: format!("(a) fan-out: {writers} writers × 6/s, one document, {seconds} s"),
        server: label(server),
        latency: percentiles(&mut latencies),
        detail: format!(
            "edit → every other writer; {delivered} of {expected} deliveries ({:.0}% within 1 s)",
            in_time as f64 * 100.0 / expected.max(1) as f64
        ),
        throughput: Some(delivered as f64 / seconds as f64),
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
