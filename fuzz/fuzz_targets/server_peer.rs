//! Arbitrary frames from one connection into the relay's side of the protocol
//! (ServerConnection, then Hub with in-memory storage), after a valid join so
//! that the fuzzer reaches document handling. Nothing may panic, and the
//! durability rule must hold: every heads value the relay sends is stored.
//!
//! Input layout: a sequence of frames, each a little-endian u16 length and
//! that many bytes; a trailing partial frame is ignored.
#![no_main]

use std::collections::{BTreeSet, HashMap};

use automerge::AutoCommit;
use libfuzzer_sys::fuzz_target;
use lifeos_core::DocumentId;
use lifeos_core::sync::{Access, DEFAULT_MAX_FRAME, Durability, Event, Hub, HubOutput, Message, PeerId, PeerMetadata, ServerConnection, encode};

fn allow(_: &PeerId, _: &DocumentId) -> Access {
    Access::Full
}

fuzz_target!(|data: &[u8]| {
    let relay = PeerId::new("relay").unwrap();
    let mut conn = ServerConnection::new(relay.clone(), PeerMetadata::default(), DEFAULT_MAX_FRAME);
    let mut hub = Hub::new(relay, Durability::CommitFirst, allow as fn(&PeerId, &DocumentId) -> Access);
    let mut storage: HashMap<DocumentId, AutoCommit> = HashMap::new();
    let mut stored: BTreeSet<automerge::ChangeHash> = BTreeSet::new();
    let join = encode(&Message::Join { sender_id: PeerId::new("fuzzer").unwrap(), supported_protocol_versions: vec!["1".into()], peer_metadata: None });
    let mut frames = vec![join];
    let mut rest = data;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
        if rest.len() < len {
            break;
        }
        frames.push(rest[..len].to_vec());
        rest = &rest[len..];
    }
    for frame in frames {
        let Ok(events) = conn.receive(&frame) else { return };
        for event in events {
            let Event::Document(m) = event else { continue };
            let Some(from) = conn.remote().cloned() else { continue };
            let Ok(outputs) = hub.receive(&from, m) else { continue };
            let mut queue: std::collections::VecDeque<HubOutput> = outputs.into();
            while let Some(o) = queue.pop_front() {
                match o {
                    HubOutput::Send { message: Message::Sync { data, .. } | Message::Request { data, .. }, .. } => {
                        let m = automerge::sync::Message::decode(&data).expect("the relay sends valid sync data");
                        assert!(m.heads.iter().all(|h| stored.contains(h)), "advertised an unstored change");
                    }
                    HubOutput::Send { .. } | HubOutput::Changed { .. } => {}
                    HubOutput::Load { document } => {
                        let bytes = storage.get_mut(&document).map(AutoCommit::save);
                        if let Ok(o) = hub.loaded(document, bytes.as_deref()) {
                            queue.extend(o);
                        }
                    }
                    HubOutput::Persist { request, .. } => {
                        let doc = storage.entry(request.document).or_default();
                        for (hash, bytes) in &request.changes {
                            doc.load_incremental(bytes).expect("persisted changes load");
                            stored.insert(*hash);
                        }
                        queue.extend(hub.committed(request.document, request.ticket));
                    }
                }
            }
        }
    }
});
