//! A relay made of `lifeos-core`'s protocol engine alone, speaking over
//! standard input and output instead of WebSockets: the peer for the
//! automerge-repo interop test (interop/automerge-repo), which connects real
//! JavaScript `Repo`s to it.
//!
//! Input lines are `<connection> <hex frame>` or `<connection> close`; output
//! lines are `<connection> <hex frame>`. Storage is in memory and commits at
//! once; every peer may see every document.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use automerge::AutoCommit;
use lifeos_core::DocumentId;
use lifeos_core::sync::{
    Access, DEFAULT_MAX_FRAME, Durability, Event, Hub, HubOutput, PeerId, PeerMetadata,
    ServerConnection, StorageId, encode,
};

type Auth = fn(&PeerId, &DocumentId) -> Access;

fn allow(_: &PeerId, _: &DocumentId) -> Access {
    Access::Full
}

struct Relay {
    hub: Hub<Auth>,
    storage: HashMap<DocumentId, AutoCommit>,
    connections: HashMap<String, ServerConnection>,
    out: std::io::StdoutLock<'static>,
}

impl Relay {
    fn send(&mut self, conn: &str, frame: &[u8]) {
        let hex: String = frame.iter().map(|b| format!("{b:02x}")).collect();
        writeln!(self.out, "{conn} {hex}")
            .and_then(|_| self.out.flush())
            .expect("stdout closed");
    }

    fn connection_of(&self, peer: &PeerId) -> Option<String> {
        self.connections
            .iter()
            .find(|(_, c)| c.remote() == Some(peer))
            .map(|(k, _)| k.clone())
    }

    fn run(&mut self, outputs: Vec<HubOutput>) {
        let mut queue = std::collections::VecDeque::from(outputs);
        while let Some(o) = queue.pop_front() {
            match o {
                HubOutput::Send { to, message } => {
                    if let Some(conn) = self.connection_of(&to) {
                        self.send(&conn, &encode(&message));
                    }
                }
                HubOutput::Load { document } => {
                    let bytes = self.storage.get_mut(&document).map(AutoCommit::save);
                    queue.extend(
                        self.hub
                            .loaded(document, bytes.as_deref())
                            .expect("in-memory storage is never corrupt"),
                    );
                }
                HubOutput::Persist { request, .. } => {
                    let stored = self.storage.entry(request.document).or_default();
                    for (_, bytes) in &request.changes {
                        stored
                            .load_incremental(bytes)
                            .expect("changes from the engine load");
                    }
                    queue.extend(self.hub.committed(request.document, request.ticket));
                }
                HubOutput::Changed { .. } => {}
            }
        }
    }

    fn receive(&mut self, conn: &str, frame: &[u8]) {
        let server = self.connections.entry(conn.to_string()).or_insert_with(|| {
            let metadata = PeerMetadata {
                storage_id: StorageId::new("lifeos-protocol-relay"),
                is_ephemeral: false,
            };
            ServerConnection::new(
                PeerId::new("lifeos-relay").expect("valid"),
                metadata,
                DEFAULT_MAX_FRAME,
            )
        });
        let events = match server.receive(frame) {
            Ok(events) => events,
            Err(violation) => {
                let frame = violation.frame(
                    &PeerId::new("lifeos-relay").expect("valid"),
                    server.remote(),
                );
                self.send(conn, &frame);
                self.close(conn);
                return;
            }
        };
        for e in events {
            match e {
                Event::Send(f) => self.send(conn, &f),
                Event::Document(m) => {
                    let Some(from) = self.connections.get(conn).and_then(|c| c.remote().cloned())
                    else {
                        continue;
                    };
                    match self.hub.receive(&from, m) {
                        Ok(out) => self.run(out),
                        Err(e) => eprintln!("protocol_relay: {conn}: {e}"),
                    }
                }
                Event::Close { .. } => self.close(conn),
                Event::Joined { .. } | Event::Ignored { .. } => {}
            }
        }
    }

    fn close(&mut self, conn: &str) {
        if let Some(c) = self.connections.remove(conn)
            && let Some(peer) = c.remote()
        {
            self.hub.peer_disconnected(peer);
        }
    }
}

fn main() {
    let mut relay = Relay {
        hub: Hub::new(
            PeerId::new("lifeos-relay").expect("valid"),
            Durability::CommitFirst,
            allow as Auth,
        ),
        storage: HashMap::new(),
        connections: HashMap::new(),
        out: Box::leak(Box::new(std::io::stdout())).lock(),
    };
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let Some((conn, payload)) = line.split_once(' ') else {
            continue;
        };
        if payload == "close" {
            relay.close(conn);
            continue;
        }
        let frame: Option<Vec<u8>> = (0..payload.len())
            .step_by(2)
            .map(|i| {
                payload
                    .get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect();
        match frame {
            Some(frame) => relay.receive(conn, &frame),
            None => eprintln!("protocol_relay: {conn}: not hex"),
        }
    }
}
