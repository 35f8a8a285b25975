//! Database faults (issue 9): the PostgreSQL server itself is stopped under
//! load — `pg_ctlcluster stop -m immediate`, the way a crash or an
//! operator's restart takes it away — three times, and started again.
//!
//! Meanwhile `/readyz` must say 503 (and `/healthz` 200: the process is
//! alive, a supervisor must not kill it), the REST API must answer 503 with
//! a problem document, the relay must acknowledge nothing (it cannot store
//! it), and writers keep writing. Once the server is back, the relay must
//! recover on its own (no restart), every change every writer made must be
//! stored and acknowledged, and a new device reading from storage after a
//! restart of the relay must find all of it.
//!
//! The CI machine's PostgreSQL is shared by the other tests running in
//! parallel, so this test makes a private cluster of its own on a free port
//! (`pg_createcluster`, Debian's postgresql-common, as root) and drops it
//! at the end.

#[allow(dead_code)] // The API tests use the rest of it.
#[path = "api/device.rs"]
mod device;
#[path = "support/relay_process.rs"]
mod relay_process;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use automerge::ChangeHash;
use device::Device;
use lifeos_core::DocumentId;
use relay_process::RelayProcess;

const WRITERS: usize = 4;
const OUTAGES: usize = 3;
/// How long each outage lasts.
const OUTAGE: Duration = Duration::from_millis(2500);
/// Acknowledgements already on the wire when the server stopped may still
/// arrive this long after the stop command returned.
const IN_FLIGHT: Duration = Duration::from_millis(300);

/// A PostgreSQL cluster of this test's own.
struct Cluster {
    version: String,
    name: String,
    port: u16,
}

impl Cluster {
    fn create() -> Cluster {
        let version = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|dir| {
                dir.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|v| v.parse::<u32>().is_ok())
                    .max_by_key(|v| v.parse::<u32>().unwrap())
            })
            .expect("this test needs PostgreSQL's server binaries under /usr/lib/postgresql");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let name = format!("lifeos_fault_{}_{port}", std::process::id());
        let cluster = Cluster {
            version,
            name,
            port,
        };
        cluster.run(
            "pg_createcluster",
            &[
                &cluster.version,
                &cluster.name,
                "-p",
                &port.to_string(),
                "--start",
                "--",
                "--auth=trust",
            ],
        );
        cluster.wait_until_ready();
        cluster
    }

    fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server at once: no checkpoint, every connection cut.
    fn stop(&self) {
        self.ctl("stop", &["-m", "immediate"]);
    }

    fn start(&self) {
        self.ctl("start", &[]);
    }

    fn ctl(&self, action: &str, extra: &[&str]) {
        let mut args = vec![
            "--skip-systemctl-redirect",
            &self.version,
            &self.name,
            action,
        ];
        args.extend_from_slice(extra);
        self.run("pg_ctlcluster", &args);
    }

    fn wait_until_ready(&self) {
        for _ in 0..100 {
            let ready = Command::new("pg_isready")
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the private PostgreSQL cluster did not start");
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = Command::new(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| {
                panic!("{program} (Debian's postgresql-common) is needed for this test: {e}")
            });
        assert!(
            out.status.success(),
            "{program} {args:?} failed (this test runs as root, as CI does): {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("pg_dropcluster")
            .args(["--stop", &self.version, &self.name])
            .output();
    }
}

/// What one writer saw.
struct Written {
    device: Device,
    id: DocumentId,
    /// Each time the relay's confirmed heads moved: when, and to what.
    confirmations: Vec<(Instant, Vec<ChangeHash>)>,
    changes: usize,
    reconnects: usize,
}

/// Writes a change every few milliseconds until `stop`; reconnects as an
/// app would if the relay drops the connection.
async fn write(mut device: Device, id: DocumentId, url: String, stop: Arc<AtomicBool>) -> Written {
    let mut confirmations = Vec::new();
    let mut last = device.client.confirmed_heads(id);
    let mut changes = 0;
    let mut reconnects = 0;
    while !stop.load(Ordering::Relaxed) {
        changes += 1;
        device
            .put(id, &format!("k{}", changes % 40), &changes.to_string())
            .await;
        device.run_for(Duration::from_millis(15)).await;
        let now = device.client.confirmed_heads(id);
        if now != last {
            confirmations.push((Instant::now(), now.clone().unwrap_or_default()));
            last = now;
        }
        if !device.is_connected() {
            reconnects += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
            let _ = device.connect(&url).await;
        }
    }
    Written {
        device,
        id,
        confirmations,
        changes,
        reconnects,
    }
}

async fn status(client: &reqwest::Client, url: &str, token: Option<&str>) -> u16 {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    match request.send().await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}

/// Polls `url` until it answers `want`; how long that took.
async fn until_status(client: &reqwest::Client, url: &str, want: u16, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let got = status(client, url, None).await;
        if got == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{url} still answers {got} after {limit:?}, expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_postgres_under_load_loses_no_acknowledged_change() {
    let cluster = Cluster::create();
    let mut relay = RelayProcess::start(Some(cluster.admin_url())).await;
    let token = relay.register("faults@example.com").await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let base = format!("http://{}", relay.address);
    let url = relay.sync_url(&token);

    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for i in 0..WRITERS {
        let mut d = Device::new(&format!("writer-{i}"));
        d.connect(&url).await.unwrap();
        let id = d.create("n", "0").await;
        d.run_until("created", Duration::from_secs(10), Device::all_confirmed)
            .await;
        tasks.push(tokio::spawn(write(d, id, url.clone(), stop.clone())));
    }

    let mut windows = Vec::new();
    let mut recoveries = Vec::new();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for outage in 0..OUTAGES {
        cluster.stop();
        let stopped = Instant::now();
        until_status(
            &http,
            &format!("{base}/readyz"),
            503,
            Duration::from_secs(10),
        )
        .await;
        assert_eq!(status(&http, &format!("{base}/healthz"), None).await, 200);
        // Readiness answers promptly, not after the pool's acquire timeout.
        let asked = Instant::now();
        assert_eq!(status(&http, &format!("{base}/readyz"), None).await, 503);
        assert!(
            asked.elapsed() < Duration::from_millis(1500),
            "/readyz took {:?} to say the database is down",
            asked.elapsed()
        );
        // The REST API says so too, as a problem document, not a 500.
        let r = http
            .get(format!("{base}/api/v1/tasks"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503, "outage {outage}: GET /api/v1/tasks");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        tokio::time::sleep(OUTAGE.saturating_sub(stopped.elapsed())).await;
        let restarting = Instant::now();
        cluster.start();
        // How long after PostgreSQL answers again the relay is ready.
        let ready = until_status(
            &http,
            &format!("{base}/readyz"),
            200,
            Duration::from_secs(30),
        )
        .await;
        recoveries.push(ready);
        windows.push((stopped + IN_FLIGHT, restarting));
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    stop.store(true, Ordering::Relaxed);

    let mut written = Vec::new();
    for t in tasks {
        let mut w = t.await.unwrap();
        if !w.device.is_connected() {
            w.device.connect(&url).await.unwrap();
        }
        w.device
            .run_until(
                "every change stored once the database is back",
                Duration::from_secs(30),
                Device::all_confirmed,
            )
            .await;
        written.push(w);
    }

    // Nothing was acknowledged while the database was down.
    for w in &written {
        for (at, _) in &w.confirmations {
            for (from, to) in &windows {
                assert!(
                    !(at > from && at < to),
                    "the relay acknowledged a change {:?} into an outage",
                    *at - *from + IN_FLIGHT
                );
            }
        }
    }

    // From storage, after a restart of the relay: everything every writer made.
    relay.crash_and_restart();
    let mut reader = Device::new("reader");
    reader.connect(&relay.sync_url(&token)).await.unwrap();
    for w in &written {
        reader.want(w.id).await;
    }
    let expected: Vec<(DocumentId, Vec<ChangeHash>)> = written
        .iter_mut()
        .map(|w| (w.id, w.device.heads(w.id)))
        .collect();
    reader
        .run_until("every writer's document", Duration::from_secs(30), |d| {
            expected.iter().all(|(id, heads)| &d.heads(*id) == heads)
        })
        .await;
    let mut acknowledged = 0;
    for w in &mut written {
        for (_, heads) in &w.confirmations {
            for h in heads {
                acknowledged += 1;
                assert!(
                    reader
                        .client
                        .documents_mut()
                        .get_mut(&w.id)
                        .is_some_and(|doc| doc.get_change_by_hash(h).is_some()),
                    "an acknowledged change is missing"
                );
            }
        }
    }
    let changes: usize = written.iter().map(|w| w.changes).sum();
    let reconnects: usize = written.iter().map(|w| w.reconnects).sum();
    let recoveries: Vec<String> = recoveries
        .iter()
        .map(|d| format!("{} ms", d.as_millis()))
        .collect();
    println!(
        "database faults: {OUTAGES} stops of PostgreSQL under {WRITERS} writers; {changes} changes written, all stored; {acknowledged} acknowledged heads checked, 0 missing; 0 acknowledgements during outages; {reconnects} reconnects; ready again {} after PostgreSQL answered",
        recoveries.join(", ")
    );
    assert!(
        acknowledged > WRITERS * OUTAGES,
        "the writers got acknowledgements"
    );
    relay.kill();
}
