//! The WebSocket fuzzer (issue 9): many connections of an attacker's
//! account send random and mutated protocol frames (bit flips, truncations,
//! random bytes, valid messages for someone else's document or claiming
//! another sender) while two honest devices of another account keep
//! syncing. The honest devices must be unaffected: never disconnected,
//! every change stored and converged, nothing of the attacker's in their
//! document; the relay keeps serving. Deterministic: the seed is printed
//! and `LIFEOS_FUZZ_SEED=N` repeats a run.

use std::time::Duration;

use automerge::sync::SyncDoc;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT, ReadDoc};
use lifeos_core::DocumentId;
use lifeos_core::sync::{Message, PeerId, encode};

use crate::both_backends;
use crate::device::Device;
use crate::helpers::{Backend, spawn_app};

const FUZZERS: usize = 12;
const FRAMES_EACH: usize = 150;
const HONEST_WRITES: usize = 40;
const WAIT: Duration = Duration::from_secs(20);

/// xorshift64: small, deterministic, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Valid frames to start from: a sync message for the honest user's
/// document carrying a real change, a request for it, the same claiming
/// another sender, an ephemeral message, a second join, a leave.
fn seeds(victim: DocumentId, me: &PeerId) -> Vec<Vec<u8>> {
    let relay = PeerId::new("lifeos-relay").unwrap();
    let mut evil = AutoCommit::new();
    evil.put(ROOT, "evil", "yes").unwrap();
    evil.commit();
    let mut state = automerge::sync::State::new();
    let data = evil
        .sync()
        .generate_sync_message(&mut state)
        .map(|m| m.encode())
        .unwrap_or_default();
    let other = PeerId::new("somebody-else").unwrap();
    vec![
        encode(&Message::Sync {
            document_id: victim,
            sender_id: me.clone(),
            target_id: relay.clone(),
            data: data.clone(),
        }),
        encode(&Message::Request {
            document_id: victim,
            sender_id: me.clone(),
            target_id: relay.clone(),
            data: data.clone(),
        }),
        encode(&Message::Sync {
            document_id: DocumentId::generate(),
            sender_id: other,
            target_id: relay.clone(),
            data,
        }),
        encode(&Message::Leave {
            sender_id: me.clone(),
        }),
    ]
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut frame = seeds[rng.below(seeds.len())].clone();
    match rng.below(6) {
        0 => {
            for _ in 0..=rng.below(8) {
                let i = rng.below(frame.len());
                if let Some(b) = frame.get_mut(i) {
                    *b ^= 1 << rng.below(8);
                }
            }
        }
        1 => frame.truncate(rng.below(frame.len())),
        2 => {
            let extra = rng.below(64);
            frame.extend(rng.bytes(extra));
        }
        3 => {
            let n = rng.below(2048);
            frame = rng.bytes(n);
        }
        4 => {
            // A random byte overwritten with a CBOR header claiming a huge length.
            let i = rng.below(frame.len());
            if i < frame.len() {
                frame[i] = [0x5b, 0x7b, 0x9b, 0xbb][rng.below(4)];
            }
        }
        _ => {} // The seed as it is.
    }
    frame
}

async fn honest_devices_are_unaffected_by_fuzzing_neighbours(backend: Backend) {
    let seed = std::env::var("LIFEOS_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let app = spawn_app(backend).await;
    let honest = app.register("honest@example.com").await;
    let honest_token = honest["access_token"].as_str().unwrap().to_string();
    let attacker = app.register("attacker@example.com").await;
    let attacker_token = attacker["access_token"].as_str().unwrap().to_string();

    let mut laptop = Device::online("laptop", &app.sync_url(&honest_token)).await;
    let doc = laptop.create("start", "1").await;
    laptop
        .run_until("stored", WAIT, Device::all_confirmed)
        .await;
    let mut phone = Device::online("phone", &app.sync_url(&honest_token)).await;
    phone.want(doc).await;
    phone
        .run_until("the phone has the document", WAIT, |d| {
            d.client.documents_mut().contains_key(&doc)
        })
        .await;

    let fuzzers: Vec<_> = (0..FUZZERS)
        .map(|i| {
            let url = app.sync_url(&attacker_token);
            tokio::spawn(fuzz(url, doc, seed.wrapping_add(i as u64 * 7919) | 1))
        })
        .collect();

    // The honest devices write in turns while the fuzzers run.
    for n in 0..HONEST_WRITES {
        let (writer, reader) = if n % 2 == 0 {
            (&mut laptop, &mut phone)
        } else {
            (&mut phone, &mut laptop)
        };
        writer.put(doc, &format!("k{n}"), &n.to_string()).await;
        writer.run_for(Duration::from_millis(10)).await;
        reader.run_for(Duration::from_millis(10)).await;
        assert!(
            laptop_and_phone_connected(writer, reader),
            "an honest device was disconnected at write {n} (seed {seed})"
        );
    }
    let mut closed = 0;
    let mut sent = 0;
    for f in fuzzers {
        let (frames, closures) = f.await.unwrap();
        sent += frames;
        closed += closures;
    }
    // Both devices stored everything and have each other's changes.
    let deadline = tokio::time::Instant::now() + WAIT;
    while !(laptop.all_confirmed()
        && phone.all_confirmed()
        && laptop.heads(doc) == phone.heads(doc))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the honest devices did not converge within {WAIT:?} (seed {seed})"
        );
        laptop.run_for(Duration::from_millis(10)).await;
        phone.run_for(Duration::from_millis(10)).await;
    }
    let heads = laptop.heads(doc);
    for device in [&mut laptop, &mut phone] {
        let d = device.client.documents_mut().get_mut(&doc).unwrap();
        for n in 0..HONEST_WRITES {
            assert!(
                d.get(ROOT, format!("k{n}")).unwrap().is_some(),
                "k{n} (seed {seed})"
            );
        }
        assert!(
            d.get(ROOT, "evil").unwrap().is_none(),
            "the attacker wrote into the honest document (seed {seed})"
        );
    }
    // A new device of the honest user reads the same from storage.
    let mut tablet = Device::online("tablet", &app.sync_url(&honest_token)).await;
    tablet.want(doc).await;
    tablet
        .run_until("the tablet gets the stored document", WAIT, |d| {
            d.heads(doc) == heads
        })
        .await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    println!(
        "fuzz ({backend:?}, seed {seed}): {sent} hostile frames from {FUZZERS} attackers, {closed} connections closed by the relay; {HONEST_WRITES} honest writes converged"
    );
}

fn laptop_and_phone_connected(a: &Device, b: &Device) -> bool {
    a.is_connected() && b.is_connected()
}

/// One attacker connection: mutated frames until `FRAMES_EACH` are sent,
/// reconnecting when the relay closes it. Returns frames sent and how many
/// times the relay closed the connection.
async fn fuzz(url: String, victim: DocumentId, seed: u64) -> (usize, usize) {
    let mut rng = Rng(seed);
    let mut sent = 0;
    let mut closed = 0;
    let mut device = Device::new("fuzzer");
    while sent < FRAMES_EACH {
        if !device.is_connected() && device.connect(&url).await.is_err() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let me = PeerId::new(format!("fuzzer-{seed}")).unwrap();
        let seeds = seeds(victim, &me);
        let frame = mutate(&mut rng, &seeds);
        device.send_raw(frame).await;
        sent += 1;
        device.run_for(Duration::from_millis(2)).await;
        if !device.is_connected() {
            closed += 1;
        }
    }
    (sent, closed)
}
both_backends!(
    fuzz_beside_honest_devices,
    super::honest_devices_are_unaffected_by_fuzzing_neighbours
);
