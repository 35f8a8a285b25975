//! Crash durability (MISSION.md 4, issue 9): writers keep the relay busy,
//! the relay is killed with SIGKILL at random moments and restarted on the
//! same database, and afterwards every change any writer saw acknowledged
//! (the relay's heads included it) must be there. SQLite and Postgres.
//!
//! The seed of the moments is printed; `LIFEOS_CRASH_SEED=N` repeats a run.

#[allow(dead_code)] // The API tests use the rest of it.
#[path = "api/device.rs"]
mod device;
#[path = "support/relay_process.rs"]
mod relay_process;

use std::time::{Duration, Instant};

use automerge::ChangeHash;
use device::Device;
use lifeos_core::DocumentId;
use relay_process::RelayProcess;

/// Writers, each with a document of its own and two sharing one.
const WRITERS: usize = 6;
/// Kills per backend.
const KILLS: usize = 8;

/// A small deterministic generator for the kill moments (xorshift).
struct Moments(u64);

impl Moments {
    fn next_ms(&mut self, from: u64, to: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        from + self.0 % (to - from)
    }
}

/// Writes as fast as the relay acknowledges until the connection drops;
/// returns the device and the heads it saw acknowledged.
async fn write_until_dropped(
    mut device: Device,
    id: DocumentId,
    start: u64,
) -> (Device, Vec<ChangeHash>, u64) {
    let mut acknowledged = Vec::new();
    let mut n = start;
    while device.is_connected() {
        n += 1;
        device.put(id, "n", &n.to_string()).await;
        device
            .put(id, &format!("k{}", n % 50), &n.to_string())
            .await;
        loop {
            if device.all_confirmed() {
                acknowledged.extend(device.heads(id));
                break;
            }
            if !device.is_connected() {
                break;
            }
            device.run_for(Duration::from_millis(2)).await;
        }
    }
    (device, acknowledged, n)
}

async fn crash_durability(postgres: Option<String>) {
    let seed = std::env::var("LIFEOS_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let mut moments = Moments(seed);
    let mut relay = RelayProcess::start(postgres).await;
    let backend = relay.backend;
    let token = relay.register("crash@example.com").await;
    let mut writers = Vec::new();
    let mut shared = None;
    for i in 0..WRITERS {
        let mut d = Device::new(&format!("writer-{i}"));
        d.connect(&relay.sync_url(&token)).await.unwrap();
        // Writers 4 and 5 share writer 4's document: concurrent changes.
        let id = match (i, shared) {
            (5, Some(id)) => {
                d.want(id).await;
                d.run_until("the shared document", Duration::from_secs(10), |d| {
                    d.client.documents_mut().contains_key(&id)
                })
                .await;
                id
            }
            _ => d.create("n", "0").await,
        };
        if i == 4 {
            shared = Some(id);
        }
        d.run_until("created", Duration::from_secs(10), Device::all_confirmed)
            .await;
        writers.push((d, id, (i as u64) * 1_000_000));
    }

    let mut acknowledged: Vec<(DocumentId, ChangeHash)> = Vec::new();
    let started = Instant::now();
    for round in 0..KILLS {
        let tasks: Vec<_> = writers
            .drain(..)
            .map(|(d, id, n)| {
                tokio::spawn(async move { (write_until_dropped(d, id, n).await, id) })
            })
            .collect();
        let after = moments.next_ms(150, 900);
        tokio::time::sleep(Duration::from_millis(after)).await;
        relay.crash_and_restart();
        for t in tasks {
            let ((mut d, acked, n), id) = t.await.unwrap();
            acknowledged.extend(acked.into_iter().map(|h| (id, h)));
            d.disconnect();
            d.connect(&relay.sync_url(&token))
                .await
                .unwrap_or_else(|e| panic!("round {round}: reconnecting after the restart: {e}"));
            writers.push((d, id, n));
        }
    }
    // Let the unacknowledged tails reach the relay, then stop cleanly.
    for (d, _, _) in &mut writers {
        d.run_until(
            "the writers' last changes stored",
            Duration::from_secs(20),
            Device::all_confirmed,
        )
        .await;
    }
    relay.crash_and_restart();

    // A new device reads every document from storage.
    let mut reader = Device::new("reader");
    reader.connect(&relay.sync_url(&token)).await.unwrap();
    let mut ids: Vec<DocumentId> = writers.iter().map(|(_, id, _)| *id).collect();
    ids.sort();
    ids.dedup();
    for id in &ids {
        reader.want(*id).await;
    }
    let wanted = acknowledged.clone();
    reader
        .run_until("every document", Duration::from_secs(20), |d| {
            ids.iter()
                .all(|id| d.client.documents_mut().contains_key(id))
                && d.client.unconfirmed_changes() == 0
                && wanted.iter().all(|(id, h)| {
                    d.client
                        .documents_mut()
                        .get_mut(id)
                        .is_some_and(|doc| doc.get_change_by_hash(h).is_some())
                })
        })
        .await;
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|(id, h)| {
            reader
                .client
                .documents_mut()
                .get_mut(id)
                .is_none_or(|doc| doc.get_change_by_hash(h).is_none())
        })
        .collect();
    let changes: usize = ids
        .iter()
        .map(|id| {
            reader
                .client
                .documents_mut()
                .get_mut(id)
                .map_or(0, |d| d.get_changes(&[]).len())
        })
        .sum();
    println!(
        "crash durability ({backend}, seed {seed}): {KILLS} SIGKILLs in {:.1} s, {} acknowledged heads checked, {changes} changes stored, {} missing",
        started.elapsed().as_secs_f64(),
        acknowledged.len(),
        missing.len()
    );
    assert!(
        acknowledged.len() > KILLS * WRITERS,
        "the writers got acknowledgements"
    );
    assert!(missing.is_empty(), "acknowledged changes lost: {missing:?}");
    relay.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_sigkill_on_sqlite() {
    crash_durability(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_changes_survive_sigkill_on_postgres() {
    let admin = std::env::var("LIFEOS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    crash_durability(Some(admin)).await;
}
