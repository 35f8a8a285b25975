//! Issue 7: three relay processes on one Postgres database, as behind a load
//! balancer. Three users with three devices each, spread over the relays,
//! write to their shared document at once; one relay is killed with SIGKILL
//! mid-run and its devices reconnect to another relay. Every device ends
//! with every change of its user, and a new device reading from storage has
//! them all: nothing acknowledged or written is lost.
//!
//! The relays are the real binary in their own processes (tests/support).

#[allow(dead_code)] // The scale-out test uses a part of the test device.
#[path = "api/device.rs"]
mod device;
#[path = "support/relay_process.rs"]
mod relay_process;

use std::time::{Duration, Instant};

use device::Device;
use lifeos_core::DocumentId;
use relay_process::RelayProcess;

const RELAYS: usize = 3;
const USERS: usize = 3;
/// Writes per device, one every `PACE`.
const WRITES: usize = 60;
const PACE: Duration = Duration::from_millis(20);
/// The relay that is killed mid-run.
const KILLED: usize = 2;

fn postgres_admin_url() -> String {
    std::env::var("LIFEOS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn sync_url(address: &str, token: &str) -> String {
    format!("ws://{address}/api/v1/sync?token={token}")
}

/// One device's run: `WRITES` edits of the shared document at `PACE`,
/// handling frames between them. When its relay goes away it reconnects
/// to the next relay in `addresses` (as a client behind a load balancer
/// would be sent to a live one), writing offline until it is back.
async fn write_through(
    mut device: Device,
    name: String,
    doc: DocumentId,
    addresses: Vec<String>,
    home: usize,
    token: String,
) -> (Device, usize) {
    let mut reconnects = 0;
    let mut relay = home;
    for k in 0..WRITES {
        device.put(doc, &format!("{name}-{k}"), "written").await;
        device.run_for(PACE).await;
        if !device.is_connected() {
            relay = (relay + 1) % addresses.len();
            if device
                .connect(&sync_url(&addresses[relay], &token))
                .await
                .is_ok()
            {
                reconnects += 1;
            }
        }
    }
    (device, reconnects)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_spread_over_three_relays_converge_when_one_is_killed() {
    let mut relays = RelayProcess::start_cluster(postgres_admin_url(), RELAYS).await;
    let addresses: Vec<String> = relays.iter().map(|r| r.address.clone()).collect();

    // Each user: a document made on relay 0, then a device on every relay.
    let mut users = Vec::new();
    for u in 0..USERS {
        let token = relays[u % RELAYS]
            .register(&format!("user{u}@example.com"))
            .await;
        let mut first = Device::new(&format!("u{u}-d0"));
        first
            .connect(&sync_url(&addresses[0], &token))
            .await
            .unwrap();
        let doc = first.create("owner", &format!("user {u}")).await;
        first
            .run_until("the document is stored", Duration::from_secs(10), |d| {
                d.all_confirmed()
            })
            .await;
        let mut devices = vec![first];
        for (r, address) in addresses.iter().enumerate().skip(1) {
            let mut device = Device::new(&format!("u{u}-d{r}"));
            device.connect(&sync_url(address, &token)).await.unwrap();
            device.want(doc).await;
            device
                .run_until("the document arrives", Duration::from_secs(10), |d| {
                    d.get(doc, "owner").is_some()
                })
                .await;
            devices.push(device);
        }
        users.push((token, doc, devices));
    }

    // Everyone writes at once; relay KILLED dies halfway through.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (u, (token, doc, devices)) in users.iter_mut().enumerate() {
        for (r, device) in devices.drain(..).enumerate() {
            tasks.push((
                u,
                tokio::spawn(write_through(
                    device,
                    format!("u{u}-d{r}"),
                    *doc,
                    addresses.clone(),
                    r,
                    token.clone(),
                )),
            ));
        }
    }
    tokio::time::sleep(PACE * (WRITES as u32) / 2).await;
    relays.remove(KILLED).kill();
    println!("relay {KILLED} killed {:?} into the run", started.elapsed());
    let mut reconnected = 0;
    for (u, task) in tasks {
        let (device, reconnects) = task.await.unwrap();
        reconnected += reconnects;
        users[u].2.push(device);
    }
    let writing = started.elapsed();
    assert!(
        reconnected >= USERS,
        "every device of the killed relay reconnected elsewhere ({reconnected})"
    );

    // Every device of a user ends with every write of that user.
    let settle = Instant::now();
    for (u, (token, doc, devices)) in users.iter_mut().enumerate() {
        let expected: Vec<String> = (0..RELAYS)
            .flat_map(|r| (0..WRITES).map(move |k| format!("u{u}-d{r}-{k}")))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let complete = devices.iter_mut().all(|d| {
                d.all_confirmed() && expected.iter().all(|key| d.get(*doc, key).is_some())
            });
            let heads: Vec<_> = devices.iter_mut().map(|d| d.heads(*doc)).collect();
            if complete && heads.windows(2).all(|w| w[0] == w[1]) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "user {u}: devices did not converge; missing per device: {:?}",
                devices
                    .iter_mut()
                    .map(|d| expected
                        .iter()
                        .filter(|key| d.get(*doc, key).is_none())
                        .count())
                    .collect::<Vec<_>>()
            );
            for device in devices.iter_mut() {
                if !device.is_connected() {
                    let _ = device.connect(&sync_url(&addresses[0], token)).await;
                }
                device.run_for(Duration::from_millis(5)).await;
            }
        }
    }
    println!(
        "{} devices wrote {} changes in {writing:?}; converged {:?} later; {reconnected} reconnects",
        USERS * RELAYS,
        USERS * RELAYS * WRITES,
        settle.elapsed()
    );

    // Storage has everything: a new device on a surviving relay gets it all.
    for (u, (token, doc, devices)) in users.iter_mut().enumerate() {
        let heads = devices[0].heads(*doc);
        let mut fresh = Device::new(&format!("u{u}-fresh"));
        fresh
            .connect(&sync_url(&addresses[1], token))
            .await
            .unwrap();
        fresh.want(*doc).await;
        fresh
            .run_until(
                "a new device has every change",
                Duration::from_secs(10),
                |d| d.heads(*doc) == heads,
            )
            .await;
    }
    // The first relay drops the database: stop it last.
    for relay in relays.into_iter().rev() {
        relay.stop().await;
    }
}
