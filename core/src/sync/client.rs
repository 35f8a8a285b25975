//! [`Client`]: a device's side of sync with one relay.
//!
//! On connecting it announces every document it has and requests the ones it
//! wants but lacks (a new device asks for the user's root, then for what the
//! root lists). A requested document is held as an empty placeholder until
//! its content arrives; it then moves into the device's [`Documents`] and an
//! [`ClientOutput::Arrived`] tells the app to open it.

use std::collections::{BTreeMap, HashMap};

use automerge::{AutoCommit, ChangeHash};

use super::document::{DocSync, Durability, Output, SyncError};
use super::message::{Message, PeerId};
use crate::id::DocumentId;

/// Where a device keeps its documents (a map in tests; `UserData` in the apps).
pub trait Documents {
    /// The ids of every document the device has.
    fn ids(&self) -> Vec<DocumentId>;
    /// The document `id`, if the device has it.
    fn get_mut(&mut self, id: &DocumentId) -> Option<&mut AutoCommit>;
    /// Takes in a document that arrived from the relay.
    fn insert(&mut self, id: DocumentId, doc: AutoCommit);
}

impl Documents for HashMap<DocumentId, AutoCommit> {
    fn ids(&self) -> Vec<DocumentId> {
        let mut ids: Vec<DocumentId> = self.keys().copied().collect();
        ids.sort();
        ids
    }
    fn get_mut(&mut self, id: &DocumentId) -> Option<&mut AutoCommit> {
        HashMap::get_mut(self, id)
    }
    fn insert(&mut self, id: DocumentId, doc: AutoCommit) {
        HashMap::insert(self, id, doc);
    }
}

/// What the device must do after a client call.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientOutput {
    /// Send this message to the relay.
    Send(Message),
    /// A requested document arrived and is now in the device's documents.
    Arrived(DocumentId),
    /// A document changed because of the relay (re-render).
    Changed(DocumentId),
    /// The relay does not have this document (or will not share it).
    Unavailable(DocumentId),
}

/// A device's sync with its relay.
pub struct Client<D> {
    local: PeerId,
    relay: Option<PeerId>,
    docs: D,
    /// Documents wanted but not yet here: empty placeholders.
    wanted: BTreeMap<DocumentId, AutoCommit>,
    syncs: BTreeMap<DocumentId, DocSync>,
}

impl<D: Documents> Client<D> {
    /// A client for the device `local` over its documents.
    pub fn new(local: PeerId, docs: D) -> Self {
        Client {
            local,
            relay: None,
            docs,
            wanted: BTreeMap::new(),
            syncs: BTreeMap::new(),
        }
    }

    /// The device's documents.
    pub fn documents(&self) -> &D {
        &self.docs
    }

    /// The device's documents, to edit; call [`Client::local_change`] after an edit.
    pub fn documents_mut(&mut self) -> &mut D {
        &mut self.docs
    }

    /// Whether the handshake with a relay is done.
    pub fn is_connected(&self) -> bool {
        self.relay.is_some()
    }

    /// The handshake completed with `relay`: announce everything we have, ask for what we want.
    pub fn connected(&mut self, relay: PeerId) -> Vec<ClientOutput> {
        self.relay = Some(relay);
        self.syncs.clear();
        let mut out = Vec::new();
        for id in self.docs.ids() {
            out.extend(self.start(id));
        }
        let wanted: Vec<DocumentId> = self.wanted.keys().copied().collect();
        for id in wanted {
            out.extend(self.start(id));
        }
        out
    }

    /// The connection is gone; sync states start afresh on the next connection.
    pub fn disconnected(&mut self) {
        self.relay = None;
        self.syncs.clear();
    }

    /// Asks for a document the device does not have (now, or when connected).
    pub fn want(&mut self, id: DocumentId) -> Vec<ClientOutput> {
        if self.docs.get_mut(&id).is_some() || self.wanted.contains_key(&id) {
            return Vec::new();
        }
        self.wanted.insert(id, AutoCommit::new());
        self.start(id)
    }

    /// The device edited (or created) document `id`: send the change when connected.
    pub fn local_change(&mut self, id: DocumentId) -> Vec<ClientOutput> {
        if !self.syncs.contains_key(&id) {
            return self.start(id);
        }
        let (Some(sync), Some(doc)) = (self.syncs.get_mut(&id), self.docs.get_mut(&id)) else {
            return Vec::new();
        };
        convert(id, sync.local_change(doc))
    }

    /// Handles a document message from the relay. An error concerns that document only.
    pub fn receive(&mut self, message: &Message) -> Result<Vec<ClientOutput>, SyncError> {
        let (Some(relay), Some(id)) = (self.relay.clone(), message.document_id()) else {
            return Ok(Vec::new());
        };
        if !self.syncs.contains_key(&id) {
            // The relay talks about a document we did not announce: track it if we have or want it.
            if self.docs.get_mut(&id).is_none() && !self.wanted.contains_key(&id) {
                return Ok(Vec::new());
            }
            self.syncs.insert(
                id,
                DocSync::new(id, self.local.clone(), Durability::Immediate, Vec::new()),
            );
        }
        let sync = self.syncs.get_mut(&id).expect("inserted above");
        let doc = match self.docs.get_mut(&id) {
            Some(doc) => doc,
            None => self.wanted.get_mut(&id).expect("checked above"),
        };
        let mut out = convert(id, sync.receive(doc, &relay, message)?);
        // A wanted document whose content arrived moves into the device's documents.
        if let Some(placeholder) = self.wanted.get_mut(&id)
            && !placeholder.get_heads().is_empty()
        {
            let doc = self.wanted.remove(&id).expect("present");
            self.docs.insert(id, doc);
            out.retain(|o| *o != ClientOutput::Changed(id));
            out.push(ClientOutput::Arrived(id));
        }
        Ok(out)
    }

    /// Changes of all documents that the relay has not yet confirmed storing.
    pub fn unconfirmed_changes(&mut self) -> usize {
        let Some(relay) = self.relay.clone() else {
            return self
                .docs
                .ids()
                .iter()
                .map(|id| {
                    self.docs
                        .get_mut(id)
                        .map_or(0, |d| d.get_changes(&[]).len())
                })
                .sum();
        };
        let mut total = 0;
        for id in self.docs.ids() {
            if let (Some(doc), Some(sync)) = (self.docs.get_mut(&id), self.syncs.get(&id)) {
                total += sync.unconfirmed_changes(doc, &relay);
            }
        }
        total
    }

    /// The heads of document `id` the relay said it stores (durably: it
    /// never announces changes it has not committed). `None` when
    /// disconnected or before the relay said anything about `id`.
    pub fn confirmed_heads(&mut self, id: DocumentId) -> Option<Vec<ChangeHash>> {
        let relay = self.relay.clone()?;
        let sync = self.syncs.get(&id)?;
        let doc = self.docs.get_mut(&id)?;
        sync.confirmed_heads(doc, &relay)
    }

    fn start(&mut self, id: DocumentId) -> Vec<ClientOutput> {
        let Some(relay) = self.relay.clone() else {
            return Vec::new();
        };
        let mut sync = DocSync::new(id, self.local.clone(), Durability::Immediate, Vec::new());
        let doc = match self.docs.get_mut(&id) {
            Some(doc) => doc,
            None => match self.wanted.get_mut(&id) {
                Some(doc) => doc,
                None => return Vec::new(),
            },
        };
        let out = convert(id, sync.add_peer(doc, relay));
        self.syncs.insert(id, sync);
        out
    }
}

fn convert(id: DocumentId, outputs: Vec<Output>) -> Vec<ClientOutput> {
    outputs
        .into_iter()
        .filter_map(|o| match o {
            Output::Send { message, .. } => Some(ClientOutput::Send(message)),
            Output::Changed => Some(ClientOutput::Changed(id)),
            Output::Unavailable { .. } => Some(ClientOutput::Unavailable(id)),
            Output::Persist(_) => None,
        })
        .collect()
}
