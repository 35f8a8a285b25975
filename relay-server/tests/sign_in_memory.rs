//! A burst of sign-ins leaves no memory behind. Each argon2id run holds
//! 19 MiB; the relay runs at most one per core at a time, and the allocator
//! gives each block back when the run ends (`lifeos_relay::tune_allocator`).
//! Before both, 200 registrations left an idle relay at 500 MB of RSS.
//! The real binary runs in its own process, so its RSS is its own.

#[path = "support/relay_process.rs"]
mod relay_process;

use relay_process::RelayProcess;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_sign_ins_leaves_no_memory_behind() {
    let relay = RelayProcess::start(None).await;
    let (before, _) = relay.memory_mb();
    for batch in 0..8 {
        let sign_ins = (0..8).map(|i| {
            let relay = &relay;
            async move {
                relay
                    .register(&format!("burst-{batch}-{i}@example.com"))
                    .await
            }
        });
        futures_util::future::join_all(sign_ins).await;
    }
    let (after, peak) = relay.memory_mb();
    println!(
        "64 registrations, 8 at a time: RSS {before:.0} MB before, {after:.0} MB after, {peak:.0} MB at the peak"
    );
    assert!(
        after - before < 40.0,
        "the relay kept {:.0} MB after the sign-ins",
        after - before
    );
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as f64;
    assert!(
        peak - before < 20.0 * cores + 40.0,
        "{:.0} MB at once for {cores} cores",
        peak - before
    );
    relay.stop().await;
}
