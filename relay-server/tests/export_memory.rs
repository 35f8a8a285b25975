//! Issue 6: a user with 100,000 expenses is exported in bounded memory. The
//! real relay binary runs in its own process (so that its resident memory
//! is its own), the user's documents are written into its database, and
//! every format is downloaded while the relay's resident memory is sampled.
//! A relay that buffered the export would grow by at least its size (the
//! JSON is about 25 MB); streaming, it grows by a few MB.

#[path = "support/relay_process.rs"]
mod relay_process;

use relay_process::{HeavyUser, RelayProcess};

/// Resident growth allowed while exporting, in MB: well under the JSON's
/// 25 MB, well over what streaming needs (one month's ledger, four 64 KB
/// chunks in flight, the allocator's slack).
const BOUND_MB: f64 = 16.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_expenses_export_in_bounded_memory() {
    let user = HeavyUser::new(100_000);
    let postgres = std::env::var("LIFEOS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    for backend in [None, Some(postgres)] {
        let relay = RelayProcess::start(backend).await;
        let token = relay.seed(&user).await;
        let figures = relay.report_exports(&token).await;
        let (json_bytes, json_growth) = figures[0];
        assert!(
            json_bytes > 20_000_000,
            "the JSON holds every expense: {json_bytes} bytes"
        );
        for (bytes, growth) in &figures {
            assert!(
                *growth < BOUND_MB,
                "{}: the relay grew by {growth:.1} MB while streaming {bytes} bytes",
                relay.backend
            );
        }
        assert!(json_growth < BOUND_MB);
        relay.stop().await;
    }
}
