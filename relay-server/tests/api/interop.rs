//! An unmodified JavaScript automerge-repo client (npm
//! `@automerge/automerge-repo` + `-network-websocket` 2.5.6, run by
//! `interop/automerge-repo/relay-client.mjs`) against the real relay with
//! `?token=`, and a native device of the same user in the middle.
//! Needs Node and `npm install` in interop/automerge-repo (scripts/test.sh).

use std::process::Stdio;
use std::time::Duration;

use lifeos_core::DocumentId;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::both_backends;
use crate::device::Device;
use crate::helpers::{Backend, spawn_app};

const WAIT: Duration = Duration::from_secs(30);

async fn js_clients_and_a_native_device_share_a_document(backend: Backend) {
    let app = spawn_app(backend).await;
    let pair = app.register("js@example.com").await;
    let token = pair["access_token"].as_str().unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../interop/automerge-repo/relay-client.mjs"
    );
    let mut child = tokio::process::Command::new("node")
        .arg(script)
        .arg(app.sync_url(token))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs (install Node.js and run npm install in interop/automerge-repo)");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let next = async |lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>| {
        tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("the JS clients answer in time")
            .unwrap()
            .expect("the JS clients print a line")
    };

    // The JS phone created the document and the JS laptop found and edited it.
    let line = next(&mut lines).await;
    let id: DocumentId = line
        .strip_prefix("document ")
        .unwrap_or_else(|| panic!("unexpected output {line:?}"))
        .parse()
        .expect("an automerge-repo document id");

    // A native device of the same user sees both edits, and its edit reaches JS.
    let mut device = Device::new("native");
    device.connect(&app.sync_url(token)).await.unwrap();
    device.want(id).await;
    device
        .run_until("the native device sees both JS edits", WAIT, |d| {
            d.get(id, "edited").is_some()
        })
        .await;
    assert_eq!(
        device.get(id, "created").as_deref(),
        Some("by the JS phone")
    );
    assert_eq!(
        device.get(id, "edited").as_deref(),
        Some("by the JS laptop")
    );
    device.put(id, "native", "hello from Rust").await;
    let waiting = async {
        loop {
            device.run_for(Duration::from_millis(20)).await;
        }
    };
    let line = tokio::select! {
        line = next(&mut lines) => line,
        () = waiting => unreachable!(),
    };
    assert_eq!(line, "native hello from Rust");
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}
both_backends!(
    js_clients_and_a_native_device_share_a_document,
    super::js_clients_and_a_native_device_share_a_document
);
