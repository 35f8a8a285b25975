//! A native device for tests: `lifeos-core`'s sync client over
//! tokio-tungstenite, the way the CLI talks to the relay.

use std::collections::HashMap;
use std::time::Duration;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ROOT, ReadDoc};
use futures_util::{SinkExt, StreamExt};
use lifeos_core::DocumentId;
use lifeos_core::sync::{
    Client, ClientConnection, ClientOutput, DEFAULT_MAX_FRAME, Event, Message, PeerId,
    PeerMetadata, StorageId, encode,
};
use tokio_tungstenite::tungstenite::Message as Frame;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One device of a user.
pub struct Device {
    pub client: Client<HashMap<DocumentId, AutoCommit>>,
    peer: PeerId,
    socket: Option<(Socket, ClientConnection)>,
    /// Documents the relay said it does not have (or will not share).
    pub unavailable: Vec<DocumentId>,
    /// The close frame the relay sent, if it closed the connection.
    pub closed: Option<(u16, String)>,
    /// Document messages received.
    pub received: usize,
    /// Every document message received, in order (tests of what reaches whom).
    pub log: Vec<Message>,
    /// The relay's peer id, once connected.
    pub relay: Option<PeerId>,
}

impl Device {
    pub fn new(name: &str) -> Device {
        let peer = PeerId::new(format!("{name}-{}", uuid::Uuid::new_v4().simple())).unwrap();
        Device {
            client: Client::new(peer.clone(), HashMap::new()),
            peer,
            socket: None,
            unavailable: Vec::new(),
            closed: None,
            received: 0,
            log: Vec::new(),
            relay: None,
        }
    }

    /// A new device named `name`, connected to `url` with the handshake done.
    pub async fn online(name: &str, url: &str) -> Device {
        let mut device = Device::new(name);
        device.connect(url).await.expect("connects");
        device
    }

    /// This device's peer id.
    pub fn peer(&self) -> &PeerId {
        &self.peer
    }

    /// Connects to `url` and completes the handshake; `Err` carries the
    /// HTTP status when the upgrade is refused.
    pub async fn connect(&mut self, url: &str) -> Result<(), String> {
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| match e {
                tokio_tungstenite::tungstenite::Error::Http(r) => r.status().as_u16().to_string(),
                other => other.to_string(),
            })?;
        let metadata = PeerMetadata {
            storage_id: StorageId::new(format!("storage-{}", self.peer)),
            is_ephemeral: false,
        };
        let (mut conn, join) =
            ClientConnection::start(self.peer.clone(), metadata, DEFAULT_MAX_FRAME);
        ws.send(Frame::Binary(join.into()))
            .await
            .map_err(|e| e.to_string())?;
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
                .await
                .map_err(|_| "no answer to join".to_string())?
                .ok_or("closed during the handshake")?
                .map_err(|e| e.to_string())?;
            let Frame::Binary(bytes) = frame else {
                continue;
            };
            for event in conn.receive(&bytes).map_err(|e| e.to_string())? {
                if let Event::Joined { peer, .. } = event {
                    self.closed = None;
                    self.relay = Some(peer.clone());
                    self.socket = Some((ws, conn));
                    let outputs = self.client.connected(peer);
                    self.send_all(outputs).await;
                    return Ok(());
                }
            }
        }
    }

    pub fn is_connected(&self) -> bool {
        self.socket.is_some()
    }

    /// Drops the connection (the device goes offline).
    pub fn disconnect(&mut self) {
        self.socket = None;
        self.client.disconnected();
    }

    async fn send_all(&mut self, outputs: Vec<ClientOutput>) {
        for output in outputs {
            match output {
                ClientOutput::Send(message) => self.send_raw(encode(&message)).await,
                ClientOutput::Unavailable(id) => self.unavailable.push(id),
                ClientOutput::Arrived(_) | ClientOutput::Changed(_) => {}
            }
        }
    }

    /// Sends a frame as it is (tests of hostile input use it directly).
    pub async fn send_raw(&mut self, frame: Vec<u8>) {
        if let Some((ws, _)) = &mut self.socket
            && ws.send(Frame::Binary(frame.into())).await.is_err()
        {
            self.disconnect();
        }
    }

    /// A new document with `key` = `value` at its root.
    pub async fn create(&mut self, key: &str, value: &str) -> DocumentId {
        let id = DocumentId::generate();
        self.create_as(id, key, value).await;
        id
    }

    /// A new document with id `id` and `key` = `value` at its root.
    pub async fn create_as(&mut self, id: DocumentId, key: &str, value: &str) {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, key, value).unwrap();
        self.client.documents_mut().insert(id, doc);
        let outputs = self.client.local_change(id);
        self.send_all(outputs).await;
    }

    /// Takes on every document of `data` (a user's data built with
    /// `lifeos-core`, as the app or the CLI would) and syncs them all to
    /// the relay, waiting until every change is stored.
    pub async fn upload(&mut self, data: &mut lifeos_core::UserData) {
        for (id, doc) in data.documents_mut() {
            self.client
                .documents_mut()
                .insert(id, doc.automerge().clone());
            let outputs = self.client.local_change(id);
            self.send_all(outputs).await;
        }
        self.run_until("every document stored", Duration::from_secs(20), |d| {
            d.all_confirmed()
        })
        .await;
    }

    /// Sets `key` = `value` in document `id`.
    pub async fn put(&mut self, id: DocumentId, key: &str, value: &str) {
        let doc = self
            .client
            .documents_mut()
            .get_mut(&id)
            .expect("the device has it");
        doc.put(ROOT, key, value).unwrap();
        doc.commit();
        let outputs = self.client.local_change(id);
        self.send_all(outputs).await;
    }

    /// Asks the relay for a document this device does not have.
    pub async fn want(&mut self, id: DocumentId) {
        let outputs = self.client.want(id);
        self.send_all(outputs).await;
    }

    /// The string (or text) at `key` in document `id`, if the device has both.
    pub fn get(&mut self, id: DocumentId, key: &str) -> Option<String> {
        let doc = self.client.documents_mut().get_mut(&id)?;
        match doc.get(ROOT, key).ok()?? {
            // automerge-repo's JavaScript stores strings as collaborative text.
            (automerge::Value::Object(automerge::ObjType::Text), text) => doc.text(&text).ok(),
            (value, _) => value.into_string().ok(),
        }
    }

    pub fn heads(&mut self, id: DocumentId) -> Vec<ChangeHash> {
        self.client
            .documents_mut()
            .get_mut(&id)
            .map(|d| d.get_heads())
            .unwrap_or_default()
    }

    /// Whether the relay has confirmed (stored) every change of this device.
    pub fn all_confirmed(&mut self) -> bool {
        self.client.unconfirmed_changes() == 0
    }

    /// Handles frames until `done` holds; panics after `limit`.
    pub async fn run_until(
        &mut self,
        what: &str,
        limit: Duration,
        mut done: impl FnMut(&mut Device) -> bool,
    ) {
        let deadline = tokio::time::Instant::now() + limit;
        while !done(self) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            assert!(
                !left.is_zero(),
                "timed out after {limit:?} waiting for: {what} (connected: {}, unconfirmed changes: {}, received: {}, unavailable: {:?})",
                self.socket.is_some(),
                self.client.unconfirmed_changes(),
                self.received,
                self.unavailable,
            );
            self.step(left).await;
        }
    }

    /// Handles frames for `period` (to show that something does not happen).
    pub async fn run_for(&mut self, period: Duration) {
        let deadline = tokio::time::Instant::now() + period;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return;
            }
            self.step(left).await;
        }
    }

    /// Handles at most one frame, waiting at most `wait`.
    async fn step(&mut self, wait: Duration) {
        let Some((ws, _)) = &mut self.socket else {
            tokio::time::sleep(wait.min(Duration::from_millis(20))).await;
            return;
        };
        let frame = match tokio::time::timeout(wait, ws.next()).await {
            Err(_) => return,
            Ok(None) | Ok(Some(Err(_))) => {
                self.disconnect();
                return;
            }
            Ok(Some(Ok(frame))) => frame,
        };
        match frame {
            Frame::Binary(bytes) => {
                let Some((_, conn)) = &mut self.socket else {
                    return;
                };
                let events = match conn.receive(&bytes) {
                    Ok(events) => events,
                    Err(e) => panic!("the relay sent an invalid frame: {e}"),
                };
                for event in events {
                    match event {
                        Event::Document(message) => {
                            self.received += 1;
                            self.log.push(message.clone());
                            let outputs = self.client.receive(&message).expect("valid sync data");
                            self.send_all(outputs).await;
                        }
                        Event::Close { reason } => {
                            self.closed = Some((0, reason));
                            self.disconnect();
                        }
                        Event::Send(frame) => self.send_raw(frame).await,
                        Event::Joined { .. } | Event::Ignored { .. } => {}
                    }
                }
            }
            Frame::Close(close) => {
                self.closed = Some(close.map_or((1005, String::new()), |c| {
                    (u16::from(c.code), c.reason.to_string())
                }));
                self.disconnect();
            }
            _ => {}
        }
    }
}
