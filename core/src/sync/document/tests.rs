use std::collections::{BTreeSet, VecDeque};

use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc};

use super::*;

fn peer(s: &str) -> PeerId {
    PeerId::new(s).unwrap()
}

/// A relay and some devices syncing one document, with a message queue.
struct Net {
    id: DocumentId,
    relay: (AutoCommit, DocSync),
    devices: Vec<(PeerId, AutoCommit, DocSync)>,
    queue: VecDeque<(PeerId, PeerId, Message)>,
    /// Tickets the relay's storage has not confirmed yet.
    pending: VecDeque<CommitTicket>,
    /// Every change hash the relay's storage confirmed.
    stored: BTreeSet<ChangeHash>,
    /// Hashes handed to storage, by ticket, until confirmed.
    in_storage_queue: Vec<Vec<ChangeHash>>,
}

impl Net {
    fn new(devices: usize) -> Self {
        let id = DocumentId::generate();
        let relay_id = peer("relay");
        let mut net = Net {
            id,
            relay: (
                AutoCommit::new(),
                DocSync::new(id, relay_id.clone(), Durability::CommitFirst, vec![]),
            ),
            devices: Vec::new(),
            queue: VecDeque::new(),
            pending: VecDeque::new(),
            stored: BTreeSet::new(),
            in_storage_queue: Vec::new(),
        };
        for i in 0..devices {
            let name = peer(&format!("device-{i}"));
            let mut sync = DocSync::new(id, name.clone(), Durability::Immediate, vec![]);
            let mut doc = AutoCommit::new();
            let out = sync.add_peer(&mut doc, relay_id.clone());
            net.devices.push((name.clone(), doc, sync));
            net.route(&name, out);
            let (doc, sync) = (&mut net.relay.0, &mut net.relay.1);
            let out = sync.add_peer(doc, name.clone());
            net.route(&relay_id, out);
        }
        net
    }

    fn route(&mut self, from: &PeerId, outputs: Vec<Output>) {
        for o in outputs {
            match o {
                Output::Send { to, message } => {
                    if from.as_str() == "relay" {
                        self.check_durable(&message);
                    }
                    self.queue.push_back((from.clone(), to, message));
                }
                Output::Persist(p) => {
                    assert_eq!(
                        from.as_str(),
                        "relay",
                        "devices never persist through the engine"
                    );
                    self.in_storage_queue
                        .push(p.changes.iter().map(|(h, _)| *h).collect());
                    self.pending.push_back(p.ticket);
                }
                Output::Changed | Output::Unavailable { .. } => {}
            }
        }
    }

    /// The contract: whatever heads the relay advertises are stored.
    fn check_durable(&self, message: &Message) {
        if let Message::Sync { data, .. } | Message::Request { data, .. } = message {
            let m = sync::Message::decode(data).unwrap();
            for h in &m.heads {
                assert!(
                    self.stored.contains(h),
                    "relay advertised {h} before it was committed"
                );
            }
        }
    }

    /// Confirms the oldest pending commit.
    fn commit_one(&mut self) -> bool {
        let Some(ticket) = self.pending.pop_front() else {
            return false;
        };
        let hashes = self.in_storage_queue.remove(0);
        self.stored.extend(hashes);
        let out = self.relay.1.committed(&mut self.relay.0, ticket);
        self.route(&peer("relay"), out);
        true
    }

    fn deliver_one(&mut self) -> bool {
        let Some((from, to, message)) = self.queue.pop_front() else {
            return false;
        };
        let out = if to.as_str() == "relay" {
            self.relay
                .1
                .receive(&mut self.relay.0, &from, &message)
                .unwrap()
        } else {
            let d = self.devices.iter_mut().find(|(n, _, _)| *n == to).unwrap();
            d.2.receive(&mut d.1, &from, &message).unwrap()
        };
        self.route(&to, out);
        true
    }

    fn settle(&mut self) {
        while self.deliver_one() || self.commit_one() {}
    }

    fn edit(&mut self, device: usize, key: &str, value: i64) {
        let (name, doc, sync) = &mut self.devices[device];
        doc.put(ROOT, key, value).unwrap();
        let out = sync.local_change(doc);
        let name = name.clone();
        self.route(&name, out);
    }
}

#[test]
fn devices_converge_through_a_relay_that_commits_first() {
    let mut net = Net::new(3);
    net.settle();
    for i in 0..30 {
        net.edit(i % 3, &format!("k{}", i % 7), i as i64);
        if i % 4 == 0 {
            net.deliver_one();
        }
    }
    net.settle();
    let relay_heads = net.relay.0.get_heads();
    for (_, doc, _) in &mut net.devices {
        assert_eq!(doc.get_heads(), relay_heads);
    }
    assert_eq!(net.relay.0.length(ROOT), 7);
    assert!(!net.relay.1.has_uncommitted());
}

#[test]
fn nothing_leaves_the_relay_until_storage_confirms() {
    let mut net = Net::new(2);
    net.settle();
    net.edit(0, "a", 1);
    // Deliver the device's message to the relay, but commit nothing.
    while net.deliver_one() {}
    assert_eq!(net.pending.len(), 1, "the change was handed to storage");
    assert!(
        net.queue.is_empty(),
        "and nothing was sent, not even the reply to the sender"
    );
    assert!(net.relay.1.has_uncommitted());
    assert!(net.commit_one());
    assert!(!net.queue.is_empty(), "released once committed");
    net.settle();
    assert_eq!(
        net.devices[1].1.get(ROOT, "a").unwrap().unwrap().0.as_i64(),
        Some(1)
    );
}

#[test]
fn a_direct_edit_of_the_relay_document_is_still_persisted_first() {
    let mut net = Net::new(1);
    net.settle();
    // A caller that changes the relay's document and forgets to say so...
    net.relay.0.put(ROOT, "server", 1).unwrap();
    net.relay.0.commit();
    // ...and then triggers a message for another reason.
    net.edit(0, "device", 2);
    net.settle();
    assert_eq!(net.devices[0].1.get_heads(), net.relay.0.get_heads());
    // check_durable ran on every message the relay sent.
}

#[test]
fn a_device_without_the_document_requests_it() {
    let id = DocumentId::generate();
    let mut empty = AutoCommit::new();
    let mut sync = DocSync::new(id, peer("device"), Durability::Immediate, vec![]);
    let out = sync.add_peer(&mut empty, peer("relay"));
    assert!(matches!(
        &out[..],
        [Output::Send {
            message: Message::Request { .. },
            ..
        }]
    ));
    let mut full = AutoCommit::new();
    full.put(ROOT, "x", 1).unwrap();
    let mut sync = DocSync::new(id, peer("device"), Durability::Immediate, vec![]);
    let out = sync.add_peer(&mut full, peer("relay"));
    assert!(matches!(
        &out[..],
        [Output::Send {
            message: Message::Sync { .. },
            ..
        }]
    ));
}

#[test]
fn corrupt_sync_data_is_an_error_and_changes_nothing() {
    let id = DocumentId::generate();
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "x", 1).unwrap();
    let heads = doc.get_heads();
    let mut sync = DocSync::new(id, peer("relay"), Durability::CommitFirst, heads.clone());
    let bad = Message::Sync {
        document_id: id,
        sender_id: peer("d"),
        target_id: peer("relay"),
        data: vec![0x42, 0xff, 0xff, 0xff],
    };
    assert!(matches!(
        sync.receive(&mut doc, &peer("d"), &bad),
        Err(SyncError::CorruptSyncData { .. })
    ));
    assert_eq!(doc.get_heads(), heads);
    let other = Message::Sync {
        document_id: DocumentId::generate(),
        sender_id: peer("d"),
        target_id: peer("relay"),
        data: vec![0x42],
    };
    assert!(matches!(
        sync.receive(&mut doc, &peer("d"), &other),
        Err(SyncError::NotForThisDocument("sync"))
    ));
}

#[test]
fn ephemeral_messages_reach_the_other_peers_only() {
    let mut net = Net::new(3);
    net.settle();
    let msg = Message::Ephemeral {
        document_id: net.id,
        sender_id: peer("device-0"),
        target_id: peer("relay"),
        count: 1,
        session_id: "s".into(),
        data: vec![0xa0],
    };
    let out = net
        .relay
        .1
        .receive(&mut net.relay.0, &peer("device-0"), &msg)
        .unwrap();
    let targets: Vec<String> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send { to, .. } => Some(to.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(targets, vec!["device-1", "device-2"]);
}

#[test]
fn unconfirmed_changes_count_down_as_the_relay_confirms() {
    let mut net = Net::new(1);
    net.settle();
    let relay = peer("relay");
    for i in 0..5 {
        net.edit(0, "k", i);
    }
    let (_, doc, sync) = &mut net.devices[0];
    assert!(sync.unconfirmed_changes(doc, &relay) >= 1);
    net.settle();
    let (_, doc, sync) = &mut net.devices[0];
    assert_eq!(sync.unconfirmed_changes(doc, &relay), 0);
}

#[test]
fn a_peer_that_repeats_its_heads_while_a_commit_is_pending_still_hears_it_is_stored() {
    // Automerge's sync state treats a heads-only message whose heads equal
    // ours as "they know our heads"; with the durability gate the peer never
    // heard them (our answer waited for the commit), so it must still be told.
    let mut net = Net::new(1);
    net.settle();
    let relay = peer("relay");
    let device = peer("device-0");
    let take_to = |net: &mut Net, to: &PeerId| {
        let i = net.queue.iter().position(|(_, t, _)| t == to).unwrap();
        net.queue.remove(i).unwrap()
    };
    net.edit(0, "a", 0);
    let (from, _, m) = take_to(&mut net, &relay);
    let out = net.relay.1.receive(&mut net.relay.0, &from, &m).unwrap();
    net.route(&relay, out);
    assert!(net.commit_one());
    // The relay's answer to the first edit is on its way; the device edits again.
    net.edit(0, "b", 1);
    let (from, _, m) = take_to(&mut net, &relay);
    let out = net.relay.1.receive(&mut net.relay.0, &from, &m).unwrap();
    net.route(&relay, out);
    assert_eq!(net.pending.len(), 1, "the second edit waits for storage");
    // The device gets the old answer and replies with its heads, which the
    // relay already has but has not stored yet.
    let (from, _, m) = take_to(&mut net, &device);
    let (_, doc, sync) = &mut net.devices[0];
    let out = sync.receive(doc, &from, &m).unwrap();
    net.route(&device, out);
    let (from, _, m) = take_to(&mut net, &relay);
    let out = net.relay.1.receive(&mut net.relay.0, &from, &m).unwrap();
    net.route(&relay, out);
    net.settle();
    let (_, doc, sync) = &mut net.devices[0];
    assert_eq!(sync.unconfirmed_changes(doc, &relay), 0);
}

#[test]
fn receiving_gives_exactly_what_automerge_gives() {
    // Two peers edit, exchange, lose, reorder and repeat messages at random;
    // every receive through `receive_sync` must leave the same document heads
    // and the same sync state as automerge's own `receive_sync_message`.
    use automerge::sync::SyncDoc;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for round in 0..40 {
        let mut docs = [AutoCommit::new(), AutoCommit::new()];
        let mut states = [sync::State::new(), sync::State::new()];
        let mut queues: [Vec<sync::Message>; 2] = [Vec::new(), Vec::new()];
        let mut fast_path_used = 0;
        for step in 0..120 {
            let side = next(2) as usize;
            match next(6) {
                0 | 1 => {
                    docs[side]
                        .put(ROOT, format!("k{}", next(5)), step as i64)
                        .unwrap();
                    docs[side].commit();
                }
                2 | 3 => {
                    let other = 1 - side;
                    if let Some(m) = docs[side].sync().generate_sync_message(&mut states[side]) {
                        queues[other].push(m);
                    }
                }
                4 => {
                    // Deliver a queued message, not always the oldest.
                    if queues[side].is_empty() {
                        continue;
                    }
                    let i = next(queues[side].len() as u64) as usize;
                    let m = queues[side].remove(i);
                    if m.changes.is_empty() {
                        fast_path_used += 1;
                    }
                    let mut slow_doc = docs[side].clone();
                    let mut slow_state = states[side].clone();
                    slow_doc
                        .sync()
                        .receive_sync_message(&mut slow_state, m.clone())
                        .unwrap();
                    receive_sync(&mut docs[side], &mut states[side], m).unwrap();
                    assert_eq!(
                        docs[side].get_heads(),
                        slow_doc.get_heads(),
                        "round {round} step {step}"
                    );
                    assert_eq!(states[side], slow_state, "round {round} step {step}");
                }
                _ => {
                    // A message is lost.
                    if !queues[side].is_empty() {
                        let i = next(queues[side].len() as u64) as usize;
                        queues[side].remove(i);
                    }
                }
            }
        }
        assert!(fast_path_used > 0 || round > 0);
    }
}

#[test]
fn a_flush_to_many_peers_sends_what_automerge_would_send_each() {
    // Eight devices, some in step and some behind (their messages not yet
    // delivered), so that the relay's flush meets repeated and distinct
    // sync states; each peer must get exactly the message and end in
    // exactly the state that generating for it alone gives.
    let mut net = Net::new(8);
    net.settle();
    let mut shared_rounds = 0;
    for round in 0..6 {
        for d in 0..8 {
            if (d + round) % 3 == 0 {
                net.edit(d, &format!("k{d}"), round as i64);
            }
        }
        // Deliver part of the traffic, so that states diverge.
        for _ in 0..(round * 5) {
            net.deliver_one();
        }
        // Storage confirms what it holds (the relay then answers some peers).
        while net.commit_one() {}
        let (doc, sync) = (&mut net.relay.0, &mut net.relay.1);
        let everyone: Vec<PeerId> = sync.peers.keys().cloned().collect();
        let mut expected = Vec::new();
        for p in &everyone {
            let mut peer = sync.peers[p].state.clone();
            if sync.peers[p].announced != doc.get_heads() {
                peer.last_sent_heads.clear();
            }
            let message = doc
                .sync()
                .generate_sync_message(&mut peer)
                .map(|m| m.encode());
            expected.push((p.clone(), message, peer));
        }
        let states: BTreeSet<Vec<u8>> = everyone
            .iter()
            .map(|p| format!("{:?}", sync.peers[p].state).into_bytes())
            .collect();
        assert!(!sync.has_uncommitted());
        let out = sync.flush(doc, everyone.clone());
        let sent: Vec<(PeerId, Vec<u8>)> = out
            .iter()
            .filter_map(|o| match o {
                Output::Send {
                    to,
                    message: Message::Sync { data, .. } | Message::Request { data, .. },
                } => Some((to.clone(), data.clone())),
                _ => None,
            })
            .collect();
        for (p, message, state) in &expected {
            let got = sent.iter().find(|(to, _)| to == p).map(|(_, d)| d.clone());
            assert_eq!(&got, message, "round {round}: the message to {p}");
            assert_eq!(&sync.peers[p].state, state, "round {round}: {p}'s state");
        }
        shared_rounds += usize::from(states.len() < everyone.len());
        net.route(&peer("relay"), out);
        net.settle();
    }
    assert!(
        shared_rounds >= 3,
        "peers shared a state in {shared_rounds} rounds"
    );
    let heads = net.relay.0.get_heads();
    for (_, doc, _) in &mut net.devices {
        assert_eq!(doc.get_heads(), heads);
    }
}
