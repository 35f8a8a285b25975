//! Interop with samod, an independent Rust implementation of the
//! automerge-repo protocol: samod repos sync through our relay engine, and our
//! device engine syncs with a samod repo acting as the server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, Automerge, ROOT, ReadDoc};
use futures::channel::mpsc::{UnboundedSender, unbounded};
use futures::{FutureExt, StreamExt};
use lifeos_core::DocumentId;
use lifeos_core::sync::{
    Access, Client, ClientConnection, ClientOutput, DEFAULT_MAX_FRAME, Durability, Event, Hub,
    HubOutput, PeerId, PeerMetadata, ServerConnection, encode,
};

type Auth = fn(&PeerId, &DocumentId) -> Access;

fn allow(_: &PeerId, _: &DocumentId) -> Access {
    Access::Full
}

/// Our relay engine behind a lock, with in-memory storage.
struct Relay {
    hub: Hub<Auth>,
    storage: HashMap<DocumentId, AutoCommit>,
    connections: HashMap<u64, (ServerConnection, UnboundedSender<Vec<u8>>)>,
}

impl Relay {
    fn new() -> Self {
        Relay {
            hub: Hub::new(
                PeerId::new("lifeos-relay").unwrap(),
                Durability::CommitFirst,
                allow as Auth,
            ),
            storage: HashMap::new(),
            connections: HashMap::new(),
        }
    }

    fn receive(&mut self, conn: u64, frame: &[u8]) {
        let Some((server, tx)) = self.connections.get_mut(&conn) else {
            return;
        };
        let events = match server.receive(frame) {
            Ok(e) => e,
            Err(v) => panic!("relay refused a samod frame: {v}"),
        };
        let tx = tx.clone();
        let from = server.remote().cloned();
        for e in events {
            match e {
                Event::Send(f) => tx.unbounded_send(f).unwrap(),
                Event::Document(m) => {
                    let out = self.hub.receive(from.as_ref().unwrap(), m).unwrap();
                    self.run(out);
                }
                _ => {}
            }
        }
    }

    fn run(&mut self, outputs: Vec<HubOutput>) {
        let mut queue = std::collections::VecDeque::from(outputs);
        while let Some(o) = queue.pop_front() {
            match o {
                HubOutput::Send { to, message } => {
                    if let Some((_, tx)) = self
                        .connections
                        .values()
                        .find(|(c, _)| c.remote() == Some(&to))
                    {
                        let _ = tx.unbounded_send(encode(&message));
                    }
                }
                HubOutput::Load { document } => {
                    let bytes = self.storage.get_mut(&document).map(AutoCommit::save);
                    queue.extend(self.hub.loaded(document, bytes.as_deref()).unwrap());
                }
                HubOutput::Persist { request, .. } => {
                    let stored = self.storage.entry(request.document).or_default();
                    for (_, b) in &request.changes {
                        stored.load_incremental(b).unwrap();
                    }
                    queue.extend(self.hub.committed(request.document, request.ticket));
                }
                HubOutput::Changed { .. } => {}
            }
        }
    }
}

/// A samod dialer whose every connection lands in our relay engine.
struct ToRelay {
    relay: Arc<Mutex<Relay>>,
    next: Mutex<u64>,
}

impl samod::Dialer for ToRelay {
    type Error = std::convert::Infallible;

    fn url(&self) -> samod::Url {
        samod::Url::parse("memory://lifeos-relay").unwrap()
    }

    fn connect(
        &self,
    ) -> futures::future::BoxFuture<'static, Result<samod::Transport, samod::DialError<Self::Error>>>
    {
        let conn = {
            let mut n = self.next.lock().unwrap();
            *n += 1;
            *n
        };
        let (to_samod, from_relay) = unbounded::<Vec<u8>>();
        let (to_relay, mut from_samod) = unbounded::<Vec<u8>>();
        let relay = self.relay.clone();
        relay.lock().unwrap().connections.insert(
            conn,
            (
                ServerConnection::new(
                    PeerId::new("lifeos-relay").unwrap(),
                    PeerMetadata::default(),
                    DEFAULT_MAX_FRAME,
                ),
                to_samod,
            ),
        );
        tokio::spawn(async move {
            while let Some(frame) = from_samod.next().await {
                relay.lock().unwrap().receive(conn, &frame);
            }
        });
        let stream = from_relay.map(Ok::<_, std::io::Error>);
        async move { Ok(samod::Transport::new(stream, to_relay)) }.boxed()
    }
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn samod_repo(name: &str) -> samod::Repo {
    samod::Repo::build_tokio()
        .with_peer_id(samod::PeerId::from(name))
        .load()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samod_repos_sync_through_our_relay() {
    let relay = Arc::new(Mutex::new(Relay::new()));
    let dialer = Arc::new(ToRelay {
        relay: relay.clone(),
        next: Mutex::new(0),
    });
    let phone = samod_repo("samod-phone").await;
    let laptop = samod_repo("samod-laptop").await;
    phone
        .dial(samod::BackoffConfig::default(), dialer.clone())
        .unwrap()
        .established()
        .await
        .unwrap();
    laptop
        .dial(samod::BackoffConfig::default(), dialer.clone())
        .unwrap()
        .established()
        .await
        .unwrap();

    let mut initial = Automerge::new();
    initial
        .transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "title", "from samod").map(|_| ())
        })
        .unwrap();
    let handle = phone.create(initial).await.unwrap();
    let id: DocumentId = handle.document_id().to_string().parse().unwrap();
    eventually("the relay to store samod's document", || {
        relay.lock().unwrap().storage.contains_key(&id)
    })
    .await;

    let found = laptop
        .find(handle.document_id().clone())
        .await
        .unwrap()
        .expect("laptop finds the document");
    eventually("the laptop to hold the title", || {
        found.with_document(|d| {
            d.get(ROOT, "title").unwrap().map(|(v, _)| v.to_string())
                == Some("\"from samod\"".into())
        })
    })
    .await;
    found.with_document(|d| {
        d.transact::<_, _, automerge::AutomergeError>(|tx| tx.put(ROOT, "done", true).map(|_| ()))
            .unwrap()
    });
    eventually("the phone to see the laptop's edit", || {
        handle.with_document(|d| d.get(ROOT, "done").unwrap().is_some())
    })
    .await;
    eventually("phone and relay to hold the same document", || {
        let stored = relay
            .lock()
            .unwrap()
            .storage
            .get_mut(&id)
            .unwrap()
            .get_heads();
        handle.with_document(|d| d.get_heads()) == stored
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_device_engine_syncs_with_a_samod_server() {
    let server = samod_repo("samod-server").await;
    let mut initial = Automerge::new();
    initial
        .transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "title", "hosted by samod").map(|_| ())
        })
        .unwrap();
    let handle = server.create(initial).await.unwrap();
    let id: DocumentId = handle.document_id().to_string().parse().unwrap();

    let acceptor = server
        .make_acceptor(samod::Url::parse("memory://samod-server").unwrap())
        .unwrap();
    let (to_samod, from_device) = unbounded::<Vec<u8>>();
    let (to_device, mut from_samod) = unbounded::<Vec<u8>>();
    acceptor
        .accept(samod::Transport::new(
            from_device.map(Ok::<_, std::io::Error>),
            to_device,
        ))
        .unwrap();

    let me = PeerId::new("lifeos-device").unwrap();
    let (mut conn, join) =
        ClientConnection::start(me.clone(), PeerMetadata::default(), DEFAULT_MAX_FRAME);
    to_samod.unbounded_send(join).unwrap();
    let mut client = Client::new(me, HashMap::<DocumentId, AutoCommit>::new());
    client.want(id);
    let send = |outs: Vec<ClientOutput>, arrived: &mut bool| {
        for o in outs {
            match o {
                ClientOutput::Send(m) => to_samod.unbounded_send(encode(&m)).unwrap(),
                ClientOutput::Arrived(_) => *arrived = true,
                _ => {}
            }
        }
    };
    let mut arrived = false;
    let mut edited = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        let Ok(Some(frame)) =
            tokio::time::timeout(Duration::from_millis(100), from_samod.next()).await
        else {
            if edited && handle.with_document(|d| d.get(ROOT, "from_lifeos").unwrap().is_some()) {
                break;
            }
            continue;
        };
        for e in conn.receive(&frame).unwrap() {
            match e {
                Event::Joined { peer, .. } => send(client.connected(peer), &mut arrived),
                Event::Document(m) => send(client.receive(&m).unwrap(), &mut arrived),
                _ => {}
            }
        }
        if arrived && !edited {
            let doc = client.documents_mut().get_mut(&id).unwrap();
            assert_eq!(
                doc.get(ROOT, "title").unwrap().unwrap().0.to_string(),
                "\"hosted by samod\""
            );
            doc.put(ROOT, "from_lifeos", 1).unwrap();
            doc.commit();
            send(client.local_change(id), &mut arrived);
            edited = true;
        }
    }
    assert!(arrived, "the document arrived from samod");
    eventually("samod to receive our edit", || {
        handle.with_document(|d| d.get(ROOT, "from_lifeos").unwrap().is_some())
    })
    .await;
}
