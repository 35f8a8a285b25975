//! A device speaking the automerge-repo protocol through `lifeos-core`'s
//! client engine over tokio-tungstenite: what both servers see from a real
//! client (join, then sync messages per document).

use std::collections::HashMap;
use std::time::Duration;

use automerge::AutoCommit;
use automerge::transaction::Transactable;
use futures_util::{SinkExt, StreamExt};
use lifeos_core::DocumentId;
use lifeos_core::sync::{
    Client, ClientConnection, ClientOutput, DEFAULT_MAX_FRAME, Event, PeerId, PeerMetadata,
    StorageId, encode,
};
use tokio_tungstenite::tungstenite::Message as Frame;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One connected device with its documents.
pub struct Device {
    ws: Socket,
    conn: ClientConnection,
    /// The sync engine and the device's documents.
    pub client: Client<HashMap<DocumentId, AutoCommit>>,
    /// When the last document message arrived (before the device applied
    /// it): what the server took, apart from the device's own work.
    pub last_message_at: Option<std::time::Instant>,
}

impl Device {
    /// Connects to `url` and completes the handshake.
    pub async fn connect(url: &str, name: &str) -> Result<Device, String> {
        Self::connect_with(url, name, HashMap::new()).await
    }

    /// Connects with documents the device already has (a reconnect).
    pub async fn connect_with(
        url: &str,
        name: &str,
        documents: HashMap<DocumentId, AutoCommit>,
    ) -> Result<Device, String> {
        let peer = PeerId::new(name).ok_or("bad peer name")?;
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .map_err(|e| format!("connect {url}: {e}"))?;
        // Latency is the point: no Nagle delay on our side.
        if let tokio_tungstenite::MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_nodelay(true).map_err(|e| e.to_string())?;
        }
        let metadata = PeerMetadata {
            storage_id: StorageId::new(format!("s-{name}")),
            is_ephemeral: false,
        };
        let (mut conn, join) = ClientConnection::start(peer.clone(), metadata, DEFAULT_MAX_FRAME);
        ws.send(Frame::Binary(join.into()))
            .await
            .map_err(|e| e.to_string())?;
        let mut client = Client::new(peer, documents);
        let server = loop {
            let frame = tokio::time::timeout(Duration::from_secs(30), ws.next())
                .await
                .map_err(|_| "no handshake within 30 s".to_string())?;
            let bytes = match frame {
                Some(Ok(Frame::Binary(bytes))) => bytes,
                Some(Ok(Frame::Close(close))) => {
                    return Err(format!("closed during the handshake: {close:?}"));
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(format!("during the handshake: {e}")),
                None => return Err("closed during the handshake".into()),
            };
            let events = conn.receive(&bytes).map_err(|e| e.to_string())?;
            if let Some(peer) = events.into_iter().find_map(|e| match e {
                Event::Joined { peer, .. } => Some(peer),
                _ => None,
            }) {
                break peer;
            }
        };
        let out = client.connected(server);
        let mut device = Device {
            ws,
            conn,
            client,
            last_message_at: None,
        };
        device.send(out).await;
        Ok(device)
    }

    /// Sends the engine's outputs.
    pub async fn send(&mut self, outputs: Vec<ClientOutput>) {
        for o in outputs {
            if let ClientOutput::Send(m) = o
                && self
                    .ws
                    .feed(Frame::Binary(encode(&m).into()))
                    .await
                    .is_err()
            {
                return;
            }
        }
        let _ = self.ws.flush().await;
    }

    /// Handles one frame; false when the connection ended.
    pub async fn step(&mut self) -> bool {
        let Some(Ok(frame)) = self.ws.next().await else {
            return false;
        };
        let Frame::Binary(bytes) = frame else {
            return true;
        };
        let arrived = std::time::Instant::now();
        let Ok(events) = self.conn.receive(&bytes) else {
            return false;
        };
        for event in events {
            match event {
                Event::Document(m) => {
                    self.last_message_at = Some(arrived);
                    if let Ok(out) = self.client.receive(&m) {
                        self.send(out).await;
                    }
                }
                Event::Send(f) => {
                    let _ = self.ws.send(Frame::Binary(f.into())).await;
                }
                _ => {}
            }
        }
        true
    }

    /// Writes `key = value` into document `id` and sends it.
    pub async fn edit(&mut self, id: DocumentId, key: &str, value: i64) {
        if let Some(doc) = self.client.documents_mut().get_mut(&id) {
            let _ = doc.put(automerge::ROOT, key, value);
            doc.commit();
        }
        let out = self.client.local_change(id);
        self.send(out).await;
    }

    /// Creates document `id` on this device and sends it.
    pub async fn create(&mut self, id: DocumentId) {
        self.client.documents_mut().insert(id, AutoCommit::new());
        self.edit(id, "created", 1).await;
    }

    /// Asks the server for document `id`.
    pub async fn want(&mut self, id: DocumentId) {
        let out = self.client.want(id);
        self.send(out).await;
    }

    /// Steps until `done` holds; false if the connection ended or 30 s passed.
    pub async fn until(&mut self, mut done: impl FnMut(&mut Self) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !done(self) {
            match tokio::time::timeout_at(deadline, self.step()).await {
                Ok(true) => {}
                _ => return false,
            }
        }
        true
    }

    /// Closes the connection; returns the documents.
    pub async fn close(mut self) -> HashMap<DocumentId, AutoCommit> {
        let _ = self.ws.close(None).await;
        std::mem::take(self.client.documents_mut())
    }
}
