//! Idle devices cost the relay little memory: 2,000 authenticated
//! WebSockets, handshake done, then quiet. MISSION.md's target is 10 KB per
//! connection (release build, measured by `bench/run.sh`, scenario (c)).
//! Here (debug build, SQLite) it is 8.8 KB; the bound leaves some room and
//! still fails on what the bench once found: tungstenite's 128 KiB read
//! buffer per connection (139 KB each), or an 8 KiB one with a channel of
//! 32 frames for the connection's own messages (17.7 KB each here).

#[path = "support/relay_process.rs"]
mod relay_process;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use lifeos_core::sync::{DEFAULT_MAX_FRAME, Message, PROTOCOL_VERSION, PeerId, decode, encode};
use relay_process::RelayProcess;
use tokio_tungstenite::tungstenite::Message as Frame;

const CONNECTIONS: usize = 2_000;

/// Raises this process's descriptor limit to its hard limit: the test
/// holds one socket per connection.
fn raise_fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a local struct.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
    }
    limit.rlim_cur
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_cost_little_memory() {
    let fds = raise_fd_limit();
    assert!(
        fds > CONNECTIONS as u64 + 200,
        "the test needs {CONNECTIONS} descriptors and more; the limit is {fds}"
    );
    let relay = RelayProcess::start(None).await;
    let token = relay.register("idle@example.com").await;
    // One connection first, so that what every connection shares (the
    // document actor's tables, the runtime's workers) is already there.
    let mut sockets = Vec::with_capacity(CONNECTIONS + 1);
    sockets.push(joined(&relay.sync_url(&token), 0).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (before, _) = relay.memory_mb();
    for i in 1..=CONNECTIONS {
        sockets.push(joined(&relay.sync_url(&token), i).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (after, _) = relay.memory_mb();
    let per_connection_kb = (after - before) * 1024.0 / CONNECTIONS as f64;
    println!(
        "{CONNECTIONS} idle connections: RSS {before:.1} → {after:.1} MB, {per_connection_kb:.1} KB each (debug build)"
    );
    assert!(
        per_connection_kb < 12.0,
        "{per_connection_kb:.1} KB of relay memory per idle connection"
    );
    // They are all still open: an answer to a second `join` on the last.
    let (ws, me) = sockets.last_mut().unwrap();
    ws.send(Frame::Binary(join(me).into())).await.unwrap();
    assert!(matches!(peer_answer(ws).await, Message::Peer { .. }));
    drop(sockets);
    relay.stop().await;
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn join(me: &PeerId) -> Vec<u8> {
    encode(&Message::Join {
        sender_id: me.clone(),
        supported_protocol_versions: vec![PROTOCOL_VERSION.into()],
        peer_metadata: None,
    })
}

async fn peer_answer(ws: &mut Socket) -> Message {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("the relay answers join")
            .expect("open")
            .expect("a frame");
        if let Frame::Binary(bytes) = frame {
            return decode(&bytes, DEFAULT_MAX_FRAME).expect("a protocol message");
        }
    }
}

/// A connection whose handshake is done.
async fn joined(url: &str, n: usize) -> (Socket, PeerId) {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("the upgrade succeeds");
    let me = PeerId::new(format!("idle-{n}")).unwrap();
    ws.send(Frame::Binary(join(&me).into())).await.unwrap();
    assert!(matches!(peer_answer(&mut ws).await, Message::Peer { .. }));
    (ws, me)
}
