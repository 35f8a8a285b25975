//! Whole users' data syncing through a relay hub with `DeviceSync`: a new
//! device finds every document by itself, a root that lists more (another
//! device's new ledger) brings it in, and a device's data from before it
//! joined an account is adopted without loss, also when the account already
//! has data.

use std::collections::{HashMap, VecDeque};

use automerge::AutoCommit;
use lifeos_core::finance::NewExpense;
use lifeos_core::sync::{
    Access, ClientOutput, DeviceDocuments, DeviceSync, Durability, Hub, HubOutput, Message, PeerId,
};
use lifeos_core::tasks::NewTask;
use lifeos_core::time::{Date, Timestamp};
use lifeos_core::{Currency, DocumentId, Money, UserData};

type Allow = fn(&PeerId, &DocumentId) -> Access;

fn allow(_: &PeerId, _: &DocumentId) -> Access {
    Access::Full
}

/// A relay (hub + storage committing at once) and devices, with message queues.
struct Net {
    hub: Hub<Allow>,
    relay: PeerId,
    stored: HashMap<DocumentId, AutoCommit>,
    devices: Vec<(PeerId, DeviceSync)>,
    to_relay: VecDeque<(PeerId, Message)>,
    to_device: VecDeque<(PeerId, Message)>,
    unavailable: Vec<(PeerId, DocumentId)>,
}

impl Net {
    fn new() -> Net {
        let relay = PeerId::new("relay").unwrap();
        Net {
            hub: Hub::new(relay.clone(), Durability::CommitFirst, allow as Allow),
            relay,
            stored: HashMap::new(),
            devices: Vec::new(),
            to_relay: VecDeque::new(),
            to_device: VecDeque::new(),
            unavailable: Vec::new(),
        }
    }

    fn add(&mut self, name: &str, docs: DeviceDocuments) -> usize {
        let peer = PeerId::new(name).unwrap();
        let mut sync = DeviceSync::new(peer.clone(), docs);
        let out = sync.connected(self.relay.clone());
        self.devices.push((peer.clone(), sync));
        self.route(&peer, out);
        self.devices.len() - 1
    }

    fn route(&mut self, from: &PeerId, outputs: Vec<ClientOutput>) {
        for o in outputs {
            match o {
                ClientOutput::Send(m) => self.to_relay.push_back((from.clone(), m)),
                ClientOutput::Unavailable(id) => self.unavailable.push((from.clone(), id)),
                ClientOutput::Arrived(_) | ClientOutput::Changed(_) => {}
            }
        }
    }

    fn hub_outputs(&mut self, outputs: Vec<HubOutput>) {
        let mut queue = VecDeque::from(outputs);
        while let Some(o) = queue.pop_front() {
            match o {
                HubOutput::Send { to, message } => self.to_device.push_back((to, message)),
                HubOutput::Load { document } => {
                    let bytes = self.stored.get_mut(&document).map(AutoCommit::save);
                    queue.extend(self.hub.loaded(document, bytes.as_deref()).unwrap());
                }
                HubOutput::Persist { request, .. } => {
                    let doc = self.stored.entry(request.document).or_default();
                    for (_, bytes) in &request.changes {
                        doc.load_incremental(bytes).unwrap();
                    }
                    queue.extend(self.hub.committed(request.document, request.ticket));
                }
                HubOutput::Changed { .. } => {}
            }
        }
    }

    fn settle(&mut self) {
        for _ in 0..10_000 {
            if let Some((from, m)) = self.to_relay.pop_front() {
                let out = self.hub.receive(&from, m).unwrap();
                self.hub_outputs(out);
            } else if let Some((to, m)) = self.to_device.pop_front() {
                let i = self.devices.iter().position(|(p, _)| *p == to).unwrap();
                let out = self.devices[i].1.receive(&m).unwrap();
                self.route(&to, out);
            } else {
                return;
            }
        }
        panic!("the network did not settle");
    }

    fn data(&mut self, i: usize) -> &mut UserData {
        self.devices[i]
            .1
            .documents_mut()
            .data_mut()
            .expect("the device has the user's data")
    }

    /// Device `i` changed documents `ids`.
    fn changed(&mut self, i: usize, ids: &[DocumentId]) {
        let peer = self.devices[i].0.clone();
        for id in ids {
            let out = self.devices[i].1.local_change(*id);
            self.route(&peer, out);
        }
    }
}

fn now() -> Timestamp {
    Timestamp::from_millis(1_795_000_000_000)
}

fn task(title: &str) -> NewTask {
    NewTask {
        title: title.into(),
        ..NewTask::default()
    }
}

fn titles(data: &UserData) -> Vec<String> {
    let mut t: Vec<String> = data.tasks().unwrap().into_iter().map(|t| t.title).collect();
    t.sort();
    t
}

fn all_ids(data: &mut UserData) -> Vec<DocumentId> {
    data.document_ids()
}

#[test]
fn a_new_device_finds_every_document_and_follows_new_ones() {
    let user = uuid::Uuid::from_u128(0x0195_0000_0000_7000_8000_0000_0000_0001);
    let root = DocumentId::root_of_user(&user);
    let mut net = Net::new();
    let mut data = UserData::create(root, now()).unwrap();
    data.add_task(now(), task("Call mom")).unwrap();
    let phone = net.add("phone", DeviceDocuments::with_data(data));
    net.settle();

    // A new device knows only the user's root id.
    let laptop = net.add("laptop", DeviceDocuments::new(root));
    net.settle();
    assert_eq!(titles(net.data(laptop)), vec!["Call mom"]);
    assert_eq!(
        net.data(laptop).document_ids().len(),
        4,
        "root, tasks, habits, finance"
    );

    // The phone records the first expense of a month: a new ledger, listed in the root.
    let date = Date::from_ymd_opt(2026, 11, 26).unwrap();
    let (_, ledger) = net
        .data(phone)
        .add_expense(
            now(),
            NewExpense {
                amount: Money::parse("12.50", Currency::from_code("EUR").unwrap()).unwrap(),
                date,
                category: None,
                payee: Some("Bakery".into()),
                note: None,
            },
        )
        .unwrap();
    let ledger = ledger.expect("a new ledger");
    net.changed(phone, &[root, ledger]);
    net.settle();
    assert_eq!(net.data(laptop).expenses().unwrap().len(), 1);
    assert!(net.data(laptop).document_ids().contains(&ledger));
    assert_eq!(net.devices[laptop].1.unconfirmed_changes(), 0);

    // The relay's confirmed heads are the device's own once it is in sync,
    // and fall behind an edit until the relay answers it.
    let heads = net.data(phone).heads();
    for (id, h) in &heads {
        assert_eq!(
            net.devices[phone].1.confirmed_heads(*id).as_ref(),
            Some(h),
            "document {id}"
        );
    }
    net.data(phone)
        .add_task(now(), task("Water plants"))
        .unwrap();
    let tasks_id = net.data(phone).document_ids()[1];
    let before = heads[&tasks_id].clone();
    let out = net.devices[phone].1.local_change(tasks_id);
    assert_eq!(net.devices[phone].1.confirmed_heads(tasks_id), Some(before));
    let peer = net.devices[phone].0.clone();
    net.route(&peer, out);
    net.settle();
    let now_heads = net.data(phone).heads()[&tasks_id].clone();
    assert_eq!(
        net.devices[phone].1.confirmed_heads(tasks_id),
        Some(now_heads)
    );
}

#[test]
fn local_data_joins_an_account_that_already_has_data() {
    let user = uuid::Uuid::from_u128(0x0195_0000_0000_7000_8000_0000_0000_0001);
    let root = DocumentId::root_of_user(&user);
    let mut net = Net::new();
    // Device A is the account's first device.
    let a = net.add("a", DeviceDocuments::new(root));
    net.settle();
    assert!(
        net.unavailable
            .iter()
            .any(|(p, d)| p.as_str() == "a" && *d == root)
    );
    net.devices[a]
        .1
        .documents_mut()
        .begin_account(now(), None)
        .unwrap();
    net.data(a).add_task(now(), task("From A")).unwrap();
    let out = net.devices[a].1.announce_all();
    net.route(&PeerId::new("a").unwrap(), out);
    net.settle();

    // Device B was used without an account, then signs in to the same one.
    let mut local = UserData::create(DocumentId::generate(), now()).unwrap();
    local.add_task(now(), task("From B, offline")).unwrap();
    let b = net.add("b", DeviceDocuments::new(root));
    net.settle();
    // The account's root arrived; B adopts its local data into it.
    let adopted = net.data(b).adopt(now(), local).unwrap();
    assert_eq!(adopted.len(), 3);
    let mut changed = adopted.clone();
    changed.push(root);
    net.changed(b, &changed);
    net.settle();

    assert_eq!(titles(net.data(a)), vec!["From A", "From B, offline"]);
    assert_eq!(titles(net.data(b)), vec!["From A", "From B, offline"]);
    let (mut ids_a, mut ids_b) = (all_ids(net.data(a)), all_ids(net.data(b)));
    ids_a.sort();
    ids_b.sort();
    assert_eq!(ids_a, ids_b);
    for i in [a, b] {
        assert_eq!(net.devices[i].1.unconfirmed_changes(), 0);
        assert!(net.devices[i].1.documents().rejected().is_empty());
    }
}
