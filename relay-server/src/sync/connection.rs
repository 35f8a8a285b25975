//! One WebSocket connection: the handshake and peer binding of
//! [`ServerConnection`], keepalive, the bounded outbound queue, and closing
//! when the relay, the user's session or the access token says so.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message as Frame, WebSocket};
use futures_util::{SinkExt, StreamExt};
use lifeos_core::sync::{Event, PeerMetadata, ServerConnection, StorageId};
use tokio::sync::{Notify, mpsc, oneshot};
use tracing::Instrument;
use uuid::Uuid;

use super::{CloseReason, JoinError, Joined, SyncHandle, SyncSettings};

/// A device has this long after the upgrade to send `join`.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

static NEXT_CONN: AtomicU64 = AtomicU64::new(1);

/// Why the loop ended; for the log.
enum End {
    Relay(CloseReason),
    PeerLeft(String),
    Violation(String),
    SocketClosed,
    NoPong,
    TokenExpired,
    HandshakeTimeout,
}

/// Runs the connection of `user` (authenticated at upgrade with a token that
/// expires at `expires_at`, seconds since the epoch) until it ends.
pub async fn run(
    socket: WebSocket,
    sync: SyncHandle,
    settings: SyncSettings,
    user: Uuid,
    generation: i64,
    session: Option<Uuid>,
    expires_at: i64,
) {
    let conn = NEXT_CONN.fetch_add(1, Ordering::Relaxed);
    let span = tracing::info_span!("sync", conn, %user);
    let end = drive(
        socket,
        &sync,
        &settings,
        (user, generation, session),
        expires_at,
        conn,
    )
    .instrument(span.clone())
    .await;
    let _enter = span.enter();
    match end {
        End::Relay(reason) => tracing::info!(?reason, "sync connection closed by the relay"),
        End::PeerLeft(reason) => tracing::debug!(%reason, "sync connection closed by the peer"),
        End::Violation(reason) => {
            tracing::warn!(%reason, "sync connection closed: protocol violation")
        }
        End::SocketClosed => tracing::debug!("sync connection closed"),
        End::NoPong => tracing::info!("sync connection closed: no answer to keepalive"),
        End::TokenExpired => tracing::debug!("sync connection closed: access token expired"),
        End::HandshakeTimeout => tracing::info!("sync connection closed: no join"),
    }
}

async fn drive(
    socket: WebSocket,
    sync: &SyncHandle,
    settings: &SyncSettings,
    (user, generation, session): (Uuid, i64, Option<Uuid>),
    expires_at: i64,
    conn: u64,
) -> End {
    let (sink, mut stream) = socket.split();
    let local = sync.local_peer().clone();
    let metadata = PeerMetadata {
        storage_id: StorageId::new("lifeos-relay"),
        is_ephemeral: false,
    };
    let mut protocol = ServerConnection::new(local.clone(), metadata, settings.max_frame);
    // Frames from the actor (bounded: a full queue closes the connection) and
    // the connection's own frames (handshake, pings, close), both written by
    // one writer task, so that reading never waits for a peer that does not read.
    let (outbox, outgoing) = mpsc::channel::<Vec<u8>>(settings.send_queue);
    let control = Arc::new(Control::default());
    let mut writer = tokio::spawn(write(sink, outgoing, control.clone(), settings.ping));
    let (closer, mut close_requested) = oneshot::channel::<CloseReason>();
    // Moved to the actor on join; until then nothing can close us but ourselves.
    let mut pending = Some((outbox, closer));
    let mut joined = None;

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let token_left =
        Duration::from_secs(u64::try_from(expires_at).unwrap_or(0).saturating_sub(now));
    let token_expiry = tokio::time::sleep(token_left);
    tokio::pin!(token_expiry);
    let handshake = tokio::time::sleep(HANDSHAKE_TIMEOUT);
    tokio::pin!(handshake);
    let mut ping =
        tokio::time::interval_at(tokio::time::Instant::now() + settings.ping, settings.ping);
    let mut heard_since_ping = true;
    let mut writer_done = false;

    let end = loop {
        tokio::select! {
            frame = stream.next() => {
                heard_since_ping = true;
                let bytes = match frame {
                    Some(Ok(Frame::Binary(bytes))) => bytes,
                    Some(Ok(Frame::Ping(_) | Frame::Pong(_))) => continue,
                    Some(Ok(Frame::Text(_))) => {
                        break End::Violation("text frame; the protocol is binary CBOR".into());
                    }
                    Some(Ok(Frame::Close(_))) | None => break End::SocketClosed,
                    Some(Err(e)) => break End::PeerLeft(e.to_string()),
                };
                let events = match protocol.receive(&bytes) {
                    Ok(events) => events,
                    Err(violation) => {
                        let frame = violation.frame(&local, protocol.remote());
                        control.push_last(Frame::Binary(frame.into()));
                        break End::Violation(violation.to_string());
                    }
                };
                // Boxed: its state (waiting on the actor) exists only while a
                // frame is handled, not in every idle connection's task.
                if let Some(end) = Box::pin(handle(events, sync, &control, &mut pending, &mut joined, (conn, user, generation, session))).await {
                    break end;
                }
            }
            reason = &mut close_requested, if pending.is_none() => {
                break End::Relay(reason.unwrap_or(CloseReason::Replaced));
            }
            stalled = &mut writer => {
                writer_done = true;
                break if matches!(stalled, Ok(true)) { End::Relay(CloseReason::TooSlow) } else { End::SocketClosed };
            }
            _ = ping.tick() => {
                if !heard_since_ping {
                    break End::NoPong;
                }
                heard_since_ping = false;
                // A peer with this many of our frames unread misses a ping;
                // it will not answer the one before either.
                let _ = control.push(Frame::Ping(Vec::new().into()));
            }
            () = &mut token_expiry => break End::TokenExpired,
            () = &mut handshake, if joined.is_none() => break End::HandshakeTimeout,
        }
    };

    if let Some(peer) = joined {
        Box::pin(sync.leave(conn, peer)).await;
    }
    let close = match &end {
        End::Relay(reason) => Some(reason.frame()),
        End::Violation(_) => Some(CloseReason::Protocol.frame()),
        End::TokenExpired => Some((4001, "access token expired; reconnect with a fresh one")),
        End::HandshakeTimeout => Some((1008, "no join message")),
        End::NoPong => Some((1011, "keepalive timeout")),
        End::PeerLeft(_) | End::SocketClosed => None,
    };
    if let Some((code, reason)) = close {
        control.push_last(Frame::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })));
    }
    control.close();
    // Bounded: a peer that does not read cannot hold the task.
    if !writer_done
        && tokio::time::timeout(Duration::from_secs(1), &mut writer)
            .await
            .is_err()
    {
        writer.abort();
    }
    end
}

/// Handles the events of one received frame; `Some` ends the connection.
async fn handle(
    events: Vec<Event>,
    sync: &SyncHandle,
    control: &Control,
    pending: &mut Option<(mpsc::Sender<Vec<u8>>, oneshot::Sender<CloseReason>)>,
    joined: &mut Option<lifeos_core::sync::PeerId>,
    (conn, user, generation, session): (u64, Uuid, i64, Option<Uuid>),
) -> Option<End> {
    // Register the peer before answering, so that a refused join gets no `peer`.
    for event in &events {
        if let Event::Joined { peer, .. } = event
            && let Some((outbox, closer)) = pending.take()
        {
            let joining = Joined {
                conn,
                peer: peer.clone(),
                user,
                generation,
                session,
                outbox,
                closer,
            };
            match sync.join(joining).await {
                Ok(()) => *joined = Some(peer.clone()),
                Err(e @ JoinError::PeerIdTaken) => {
                    let frame = lifeos_core::sync::encode(&lifeos_core::sync::Message::Error {
                        message: e.to_string(),
                        sender_id: Some(sync.local_peer().clone()),
                        target_id: Some(peer.clone()),
                    });
                    control.push_last(Frame::Binary(frame.into()));
                    return Some(End::Violation(e.to_string()));
                }
                Err(JoinError::ShuttingDown) => return Some(End::Relay(CloseReason::Shutdown)),
            }
        }
    }
    for event in events {
        match event {
            Event::Send(frame) => {
                // Answers to `join`: a peer that keeps joining without
                // reading the answers is cut off, as a slow reader of data is.
                if !control.push(Frame::Binary(frame.into())) {
                    return Some(End::Relay(CloseReason::TooSlow));
                }
            }
            Event::Document(message) => {
                let Some(peer) = joined.clone() else { continue };
                if !sync.message(conn, peer, message).await {
                    return Some(End::Relay(CloseReason::Shutdown));
                }
            }
            Event::Close { reason } => return Some(End::PeerLeft(reason)),
            Event::Joined { .. } | Event::Ignored { .. } => {}
        }
    }
    None
}

/// The connection's own frames (handshake answers, pings, the close frame),
/// written ahead of the actor's. They are few and rare, so they wait in a
/// small queue under a lock that allocates only when used, rather than in a
/// channel, whose first block of 32 slots every idle connection would carry.
#[derive(Default)]
struct Control {
    frames: Mutex<VecDeque<Frame>>,
    notify: Notify,
    closed: AtomicBool,
}

/// At most this many of the connection's own frames wait to be written.
const CONTROL_QUEUE: usize = 16;

impl Control {
    /// Queues `frame`; false (and nothing queued) when `CONTROL_QUEUE` wait already.
    fn push(&self, frame: Frame) -> bool {
        let mut frames = self.frames.lock().unwrap_or_else(|e| e.into_inner());
        if frames.len() >= CONTROL_QUEUE {
            return false;
        }
        frames.push_back(frame);
        drop(frames);
        self.notify.notify_one();
        true
    }

    /// Queues the connection's last frame (an error or the close frame),
    /// past the bound: there is at most one or two of these.
    fn push_last(&self, frame: Frame) {
        self.frames
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(frame);
        self.notify.notify_one();
    }

    fn pop(&self) -> Option<Frame> {
        let mut frames = self.frames.lock().unwrap_or_else(|e| e.into_inner());
        let frame = frames.pop_front();
        if frames.is_empty() && frames.capacity() > 0 {
            // Give the memory back: idle connections hold none.
            *frames = VecDeque::new();
        }
        frame
    }

    /// No more frames will come: the writer stops once the queue is written.
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.notify.notify_one();
    }
}

/// Writes the connection's frames and the actor's, until the connection's
/// own queue is closed and written (after a close frame) or a write fails or
/// stalls for `stall`; returns whether it stalled.
async fn write(
    mut sink: futures_util::stream::SplitSink<WebSocket, Frame>,
    mut data: mpsc::Receiver<Vec<u8>>,
    control: Arc<Control>,
    stall: Duration,
) -> bool {
    let mut data_open = true;
    loop {
        let frame = loop {
            // The connection's own frames first; `notify_one` keeps a
            // permit, so one queued between `pop` and `notified` is not missed.
            if let Some(frame) = control.pop() {
                break frame;
            }
            if control.closed.load(Ordering::Acquire) {
                return false;
            }
            tokio::select! {
                biased;
                () = control.notify.notified() => {}
                bytes = data.recv(), if data_open => match bytes {
                    Some(bytes) => break Frame::Binary(bytes.into()),
                    // The actor let go; the reader sends the close frame.
                    None => data_open = false,
                },
            }
        };
        let closing = matches!(frame, Frame::Close(_));
        match tokio::time::timeout(stall, sink.send(frame)).await {
            Ok(Ok(())) if !closing => {}
            Ok(_) => return false,
            Err(_) => return true,
        }
    }
}
