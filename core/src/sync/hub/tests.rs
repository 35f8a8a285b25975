use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc};

use super::*;
use crate::sync::document::{DocSync, Output};

/// The test relay's authorization callback.
type TestAuth = Box<dyn FnMut(&PeerId, &DocumentId) -> Access>;

fn peer(s: &str) -> PeerId {
    PeerId::new(s).unwrap()
}

/// The relay side of a test: a hub, its storage, and what it sent.
struct Relay {
    hub: Hub<TestAuth>,
    storage: HashMap<DocumentId, AutoCommit>,
    /// Who owns what, shared with the authorization callback.
    owners: Rc<RefCell<HashMap<DocumentId, PeerId>>>,
    sent: VecDeque<(PeerId, Message)>,
    /// How many persist requests the hub made.
    persists: usize,
}

impl Relay {
    /// A relay where `owners` decides access: the owner only, anyone for unowned documents.
    fn new() -> Self {
        let owners: Rc<RefCell<HashMap<DocumentId, PeerId>>> = Default::default();
        let view = owners.clone();
        let auth: TestAuth =
            Box::new(
                move |p: &PeerId, d: &DocumentId| match view.borrow().get(d) {
                    Some(owner) if owner != p => Access::Denied,
                    _ => Access::Full,
                },
            );
        Relay {
            hub: Hub::new(peer("relay"), Durability::CommitFirst, auth),
            storage: HashMap::new(),
            owners,
            sent: VecDeque::new(),
            persists: 0,
        }
    }

    /// Runs outputs to completion: loads from storage, commits at once, collects sends.
    fn run(&mut self, mut outputs: Vec<HubOutput>) {
        while let Some(o) = outputs.pop() {
            match o {
                HubOutput::Send { to, message } => self.sent.push_back((to, message)),
                HubOutput::Load { document } => {
                    let bytes = self.storage.get_mut(&document).map(|d| d.save());
                    outputs.extend(self.hub.loaded(document, bytes.as_deref()).unwrap());
                }
                HubOutput::Persist {
                    request,
                    created_by,
                } => {
                    self.persists += 1;
                    if let Some(owner) = created_by {
                        self.owners.borrow_mut().insert(request.document, owner);
                    }
                    let stored = self.storage.entry(request.document).or_default();
                    for (_, bytes) in &request.changes {
                        stored.load_incremental(bytes).unwrap();
                    }
                    outputs.extend(self.hub.committed(request.document, request.ticket));
                }
                HubOutput::Changed { .. } => {}
            }
        }
    }
}

/// Exchanges messages between one device (doc + DocSync) and the relay until quiet.
fn converse(
    relay: &mut Relay,
    name: &PeerId,
    doc: &mut AutoCommit,
    sync: &mut DocSync,
    first: Vec<Output>,
) -> Vec<Message> {
    let mut to_relay: VecDeque<Message> = first
        .into_iter()
        .filter_map(|o| match o {
            Output::Send { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    let mut received = Vec::new();
    loop {
        if let Some(m) = to_relay.pop_front() {
            let out = relay.hub.receive(name, m).unwrap();
            relay.run(out);
            continue;
        }
        let Some((to, m)) = relay.sent.pop_front() else {
            break;
        };
        assert_eq!(&to, name);
        received.push(m.clone());
        for o in sync.receive(doc, &peer("relay"), &m).unwrap() {
            if let Output::Send { message, .. } = o {
                to_relay.push_back(message);
            }
        }
    }
    received
}

#[test]
fn a_device_creates_a_document_and_owns_it() {
    let mut relay = Relay::new();
    let id = DocumentId::generate();
    let phone = peer("phone");
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "title", "mine").unwrap();
    let mut sync = DocSync::new(id, phone.clone(), Durability::Immediate, vec![]);
    let first = sync.add_peer(&mut doc, peer("relay"));
    converse(&mut relay, &phone, &mut doc, &mut sync, first);
    assert_eq!(relay.owners.borrow().get(&id), Some(&phone));
    assert_eq!(
        relay.storage.get_mut(&id).unwrap().get_heads(),
        doc.get_heads(),
        "everything the device has is stored"
    );
}

#[test]
fn another_user_cannot_tell_a_forbidden_document_from_a_missing_one() {
    let mut relay = Relay::new();
    let id = DocumentId::generate();
    let owner = peer("owner");
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "secret", 1).unwrap();
    let mut sync = DocSync::new(id, owner.clone(), Durability::Immediate, vec![]);
    let first = sync.add_peer(&mut doc, peer("relay"));
    converse(&mut relay, &owner, &mut doc, &mut sync, first);
    let thief = peer("thief");
    let ask = |document| {
        let mut empty = AutoCommit::new();
        let mut s = DocSync::new(document, thief.clone(), Durability::Immediate, vec![]);
        (empty.get_heads(), s.add_peer(&mut empty, peer("relay")))
    };
    let (_, out) = ask(id);
    let Output::Send {
        message: request, ..
    } = out.into_iter().next().unwrap()
    else {
        panic!()
    };
    let forbidden = relay.hub.receive(&thief, request).unwrap();
    relay.run(forbidden);
    let (_, answer_forbidden) = relay.sent.pop_front().unwrap();
    let missing_id = DocumentId::generate();
    let (_, out) = ask(missing_id);
    let Output::Send {
        message: request, ..
    } = out.into_iter().next().unwrap()
    else {
        panic!()
    };
    let out = relay.hub.receive(&thief, request).unwrap();
    relay.run(out);
    let (_, answer_missing) = relay.sent.pop_front().unwrap();
    let shape = |m: &Message| match m {
        Message::DocUnavailable {
            sender_id,
            target_id,
            ..
        } => (sender_id.clone(), target_id.clone()),
        other => panic!("expected doc-unavailable, got {other:?}"),
    };
    assert_eq!(shape(&answer_forbidden), shape(&answer_missing));
    // Writing is refused the same way, and the document is untouched.
    let mut fake = AutoCommit::new();
    fake.put(ROOT, "secret", 2).unwrap();
    let mut s = DocSync::new(id, thief.clone(), Durability::Immediate, vec![]);
    let out = s.add_peer(&mut fake, peer("relay"));
    let Output::Send { message, .. } = out.into_iter().next().unwrap() else {
        panic!()
    };
    let out = relay.hub.receive(&thief, message).unwrap();
    assert!(matches!(
        &out[..],
        [HubOutput::Send {
            message: Message::DocUnavailable { .. },
            ..
        }]
    ));
    assert_eq!(
        relay.storage[&id]
            .get(ROOT, "secret")
            .unwrap()
            .unwrap()
            .0
            .as_i64(),
        Some(1)
    );
}

#[test]
fn a_stored_document_is_loaded_and_served_without_re_persisting_it() {
    let mut relay = Relay::new();
    let id = DocumentId::generate();
    let mut stored = AutoCommit::new();
    stored.put(ROOT, "x", 1).unwrap();
    relay.storage.insert(id, stored.fork());
    let laptop = peer("laptop");
    let mut doc = AutoCommit::new();
    let mut sync = DocSync::new(id, laptop.clone(), Durability::Immediate, vec![]);
    let first = sync.add_peer(&mut doc, peer("relay"));
    assert!(matches!(
        &first[..],
        [Output::Send {
            message: Message::Request { .. },
            ..
        }]
    ));
    let received = converse(&mut relay, &laptop, &mut doc, &mut sync, first);
    assert!(received.iter().all(|m| matches!(m, Message::Sync { .. })));
    assert_eq!(doc.get_heads(), stored.get_heads());
    assert!(relay.owners.borrow().is_empty(), "loading is not creating");
    assert_eq!(
        relay.persists, 0,
        "what was loaded from storage is not written again"
    );
}

#[test]
fn a_request_for_a_missing_document_is_unavailable_and_not_kept() {
    let mut relay = Relay::new();
    let id = DocumentId::generate();
    let mut doc = AutoCommit::new();
    let mut sync = DocSync::new(id, peer("p"), Durability::Immediate, vec![]);
    let first = sync.add_peer(&mut doc, peer("relay"));
    let received = converse(&mut relay, &peer("p"), &mut doc, &mut sync, first);
    assert!(matches!(&received[..], [Message::DocUnavailable { .. }]));
    assert_eq!(relay.hub.loaded_count(), 0);
    assert!(!relay.storage.contains_key(&id));
}

#[test]
fn idle_documents_leave_memory() {
    let mut relay = Relay::new();
    let id = DocumentId::generate();
    let p = peer("p");
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "x", 1).unwrap();
    let mut sync = DocSync::new(id, p.clone(), Durability::Immediate, vec![]);
    let first = sync.add_peer(&mut doc, peer("relay"));
    converse(&mut relay, &p, &mut doc, &mut sync, first);
    assert!(!relay.hub.unload_if_idle(&id), "a peer still syncs it");
    relay.hub.peer_disconnected(&p);
    assert!(relay.hub.unload_if_idle(&id));
    assert_eq!(relay.hub.loaded_count(), 0);
}

#[test]
fn corrupt_storage_is_reported() {
    let mut relay = Relay::new();
    let id = DocumentId::generate();
    let msg = Message::Request {
        document_id: id,
        sender_id: peer("p"),
        target_id: peer("relay"),
        data: vec![0x42, 0, 0, 0, 0],
    };
    let out = relay.hub.receive(&peer("p"), msg).unwrap();
    assert!(matches!(&out[..], [HubOutput::Load { .. }]));
    assert!(matches!(
        relay.hub.loaded(id, Some(b"not automerge")),
        Err(LoadError::Corrupt { .. })
    ));
}

#[test]
fn the_relay_edits_documents_on_its_own_behalf_stored_or_new() {
    let mut relay = Relay::new();
    let phone = peer("phone");
    // A document the phone made and the relay stored, then forgot.
    let id = DocumentId::generate();
    let mut doc = AutoCommit::new();
    doc.put(ROOT, "title", "from the phone").unwrap();
    let mut sync = DocSync::new(id, phone.clone(), Durability::Immediate, vec![]);
    let first = sync.add_peer(&mut doc, peer("relay"));
    converse(&mut relay, &phone, &mut doc, &mut sync, first);
    relay.hub.peer_disconnected(&phone);
    assert!(relay.hub.unload_if_idle(&id));
    assert!(
        relay.hub.edit(id, |_| ()).is_none(),
        "not loaded: nothing to edit"
    );

    // The relay loads it for an edit and edits it: the change is stored.
    let load = relay.hub.open_for_edit(id);
    assert!(matches!(load[..], [HubOutput::Load { document }] if document == id));
    assert!(relay.hub.open_for_edit(id).is_empty(), "asked once");
    relay.run(load);
    assert!(relay.hub.is_ready(&id));
    let (_, outputs) = relay
        .hub
        .edit(id, |d| d.put(ROOT, "note", "from the API").unwrap())
        .unwrap();
    let persists = relay.persists;
    relay.run(outputs);
    assert_eq!(relay.persists, persists + 1, "the edit goes to storage");
    let stored = relay.storage.get_mut(&id).unwrap();
    assert_eq!(
        stored
            .get(ROOT, "note")
            .unwrap()
            .unwrap()
            .0
            .into_string()
            .unwrap(),
        "from the API"
    );
    // The phone, back, receives it.
    let mut sync = DocSync::new(id, phone.clone(), Durability::Immediate, doc.get_heads());
    let first = sync.add_peer(&mut doc, peer("relay"));
    converse(&mut relay, &phone, &mut doc, &mut sync, first);
    assert_eq!(
        doc.get(ROOT, "note")
            .unwrap()
            .unwrap()
            .0
            .into_string()
            .unwrap(),
        "from the API"
    );

    // A document nobody stored is created for the relay's edit...
    let new = DocumentId::generate();
    let load = relay.hub.open_for_edit(new);
    relay.run(load);
    assert!(relay.hub.is_ready(&new));
    let (_, outputs) = relay
        .hub
        .edit(new, |d| d.put(ROOT, "kind", "ledger").unwrap())
        .unwrap();
    relay.run(outputs);
    assert!(relay.storage.contains_key(&new));
    // ...while a peer that merely asks for an unknown document still hears it does not exist.
    let missing = DocumentId::generate();
    let mut empty = AutoCommit::new();
    let mut sync = DocSync::new(missing, phone.clone(), Durability::Immediate, vec![]);
    let first = sync.add_peer(&mut empty, peer("relay"));
    let answers = converse(&mut relay, &phone, &mut empty, &mut sync, first);
    assert!(
        answers
            .iter()
            .any(|m| matches!(m, Message::DocUnavailable { .. })),
        "{answers:?}"
    );
    assert!(!relay.hub.is_loaded(&missing));
}

/// Two relays on one database: what relay A stored reaches relay B's peer
/// through `absorb_stored`, without B storing it again.
#[test]
fn changes_stored_by_another_relay_reach_this_relays_peers_without_a_second_persist() {
    let id = DocumentId::generate();
    let mut shared = AutoCommit::new();
    shared.put(ROOT, "v", 0).unwrap();
    let mut a = Relay::new();
    let mut b = Relay::new();
    a.storage.insert(id, shared.fork());
    b.storage.insert(id, shared.fork());

    // A device on each relay, both in sync.
    let (phone, laptop) = (peer("phone"), peer("laptop"));
    let mut phone_doc = AutoCommit::new();
    let mut phone_sync = DocSync::new(id, phone.clone(), Durability::Immediate, vec![]);
    let first = phone_sync.add_peer(&mut phone_doc, peer("relay"));
    converse(&mut a, &phone, &mut phone_doc, &mut phone_sync, first);
    let mut laptop_doc = AutoCommit::new();
    let mut laptop_sync = DocSync::new(id, laptop.clone(), Durability::Immediate, vec![]);
    let first = laptop_sync.add_peer(&mut laptop_doc, peer("relay"));
    converse(&mut b, &laptop, &mut laptop_doc, &mut laptop_sync, first);
    assert_eq!(laptop_doc.get_heads(), shared.get_heads());

    // The phone edits through relay A, which stores the change.
    phone_doc.put(ROOT, "v", 1).unwrap();
    let out = phone_sync.local_change(&mut phone_doc);
    converse(&mut a, &phone, &mut phone_doc, &mut phone_sync, out);
    assert_eq!(a.persists, 1);
    let stored = a.storage.get_mut(&id).unwrap();
    let new_changes = stored.save_after(&shared.get_heads());

    // Relay B reads the change log and absorbs it; its laptop gets the edit.
    let persists_before = b.persists;
    let out = b.hub.absorb_stored(id, &new_changes).unwrap();
    assert!(
        out.iter().any(|o| matches!(o, HubOutput::Changed { .. })),
        "the document changed"
    );
    b.run(out);
    assert_eq!(
        b.persists, persists_before,
        "stored already: not persisted again"
    );
    converse(&mut b, &laptop, &mut laptop_doc, &mut laptop_sync, vec![]);
    assert_eq!(
        laptop_doc.get(ROOT, "v").unwrap().unwrap().0.as_i64(),
        Some(1)
    );
    assert_eq!(laptop_doc.get_heads(), phone_doc.get_heads());

    // Absorbing the same changes again is a no-op; an unloaded document is left alone.
    assert!(b.hub.absorb_stored(id, &new_changes).unwrap().is_empty());
    assert!(
        b.hub
            .absorb_stored(DocumentId::generate(), &new_changes)
            .unwrap()
            .is_empty()
    );
}

/// While this relay's own change waits for storage, what another relay
/// stored is taken in but not advertised: nothing uncommitted leaks.
#[test]
fn absorbed_changes_wait_behind_this_relays_uncommitted_ones() {
    let id = DocumentId::generate();
    let mut shared = AutoCommit::new();
    shared.put(ROOT, "v", 0).unwrap();
    let mut hub = Hub::new(
        peer("relay"),
        Durability::CommitFirst,
        |_: &PeerId, _: &DocumentId| Access::Full,
    );
    let laptop = peer("laptop");
    let mut laptop_doc = AutoCommit::new();
    let mut laptop_sync = DocSync::new(id, laptop.clone(), Durability::Immediate, vec![]);
    let first = laptop_sync.add_peer(&mut laptop_doc, peer("relay"));
    let Some(Output::Send { message, .. }) = first.into_iter().next() else {
        panic!("the laptop asks");
    };
    assert!(matches!(
        &hub.receive(&laptop, message).unwrap()[..],
        [HubOutput::Load { .. }]
    ));
    let out = hub.loaded(id, Some(&shared.save())).unwrap();
    assert!(out.iter().all(|o| matches!(o, HubOutput::Send { .. })));

    // The relay's own edit is handed to storage and not committed yet.
    let (_, out) = hub
        .edit(id, |d| d.put(ROOT, "mine", true).unwrap())
        .unwrap();
    let ticket = out
        .into_iter()
        .find_map(|o| match o {
            HubOutput::Persist { request, .. } => Some(request.ticket),
            _ => None,
        })
        .expect("the edit is persisted");

    // Another relay's change arrives: taken in, nothing sent yet.
    let mut other = shared.fork();
    other.put(ROOT, "theirs", true).unwrap();
    let theirs = other.save_after(&shared.get_heads());
    let out = hub.absorb_stored(id, &theirs).unwrap();
    assert!(
        !out.iter()
            .any(|o| matches!(o, HubOutput::Send { .. } | HubOutput::Persist { .. })),
        "nothing is advertised while the relay's own change is uncommitted: {out:?}"
    );
    // Once the commit lands, the laptop hears about both.
    let out = hub.committed(id, ticket);
    assert!(
        out.iter()
            .any(|o| matches!(o, HubOutput::Send { to, .. } if *to == laptop))
    );
}
