//! Slow readers (issue 9): a device that stops reading its socket while
//! another device of the same user writes megabytes. The relay must not
//! buffer for it without bound: its bounded send queue fills, the relay
//! closes that connection (4008, "too slow"), and the writer never waits
//! on it.

use std::time::{Duration, Instant};

use lifeos_relay::features::Features;

use crate::both_backends;
use crate::device::Device;
use crate::helpers::{Backend, spawn_app_configured};

const WAIT: Duration = Duration::from_secs(30);

async fn a_device_that_never_reads_is_closed_and_slows_nobody(backend: Backend) {
    let app = spawn_app_configured(backend, Features::default(), |c| c.send_queue = 32).await;
    let pair = app.register("reader@example.com").await;
    let token = pair["access_token"].as_str().unwrap().to_string();
    let mut writer = Device::online("writer", &app.sync_url(&token)).await;
    let doc = writer.create("start", "1").await;
    writer
        .run_until("stored", WAIT, Device::all_confirmed)
        .await;
    let mut sleeper = Device::online("sleeper", &app.sync_url(&token)).await;
    sleeper.want(doc).await;
    sleeper
        .run_until("the sleeper has the document", WAIT, |d| {
            d.client.documents_mut().contains_key(&doc)
        })
        .await;

    // From here the sleeper reads nothing. The writer sends ~22 MB in
    // 32 KB changes, each stored before the next.
    let value = "x".repeat(32 * 1024);
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    for n in 0..700 {
        let t = Instant::now();
        writer
            .put(doc, &format!("k{}", n % 100), &format!("{n}{value}"))
            .await;
        writer
            .run_until("each write stored", WAIT, Device::all_confirmed)
            .await;
        slowest = slowest.max(t.elapsed());
    }
    let writing = started.elapsed();
    println!(
        "slow reader ({backend:?}): 700 writes of 32 KB in {:.1} s, slowest {:.0} ms",
        writing.as_secs_f64(),
        slowest.as_secs_f64() * 1000.0
    );
    assert!(
        slowest < Duration::from_secs(5),
        "a write waited {slowest:?} on a device that does not read"
    );

    // Reading again, the sleeper finds its connection ended by the relay.
    sleeper
        .run_until("the relay closed the sleeper", WAIT, |d| !d.is_connected())
        .await;
    println!(
        "slow reader ({backend:?}): the sleeper's connection ended with {:?}",
        sleeper.closed
    );
    // The close frame itself may be lost behind the full socket; when it
    // arrives it says why.
    if let Some((code, _)) = &sleeper.closed {
        assert_eq!(*code, 4008, "closed as too slow: {:?}", sleeper.closed);
    }
    // It reconnects and catches up like any device.
    sleeper.connect(&app.sync_url(&token)).await.unwrap();
    let heads = writer.heads(doc);
    sleeper
        .run_until("the sleeper catches up", WAIT, |d| d.heads(doc) == heads)
        .await;
}
both_backends!(
    slow_reader,
    super::a_device_that_never_reads_is_closed_and_slows_nobody
);
