//! A device's side of sync for a whole user: [`DeviceSync`] runs the
//! [`Client`] over [`DeviceDocuments`], the user's data as far as this device
//! has it. A new device starts with nothing but the id of the user's root
//! document; it asks for the root, then for every document the root lists,
//! and again whenever the root lists more (another device's new monthly
//! ledger). Documents that arrive before the root lists them wait, and join
//! the user's data when it does. The web app and the CLI both drive this.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{AutoCommit, ChangeHash};

use super::client::{Client, ClientOutput, Documents};
use super::document::SyncError;
use super::message::{Message, PeerId};
use crate::doc::LifeDoc;
use crate::error::{Error, Result};
use crate::id::DocumentId;
use crate::schema::DocKind;
use crate::time::Timestamp;
use crate::user::UserData;

/// A device's documents: the user's data once its root is here, plus
/// documents that arrived before the root listed them.
#[derive(Debug)]
pub struct DeviceDocuments {
    root_id: DocumentId,
    data: Option<UserData>,
    waiting: BTreeMap<DocumentId, AutoCommit>,
    rejected: Vec<(DocumentId, Error)>,
}

impl DeviceDocuments {
    /// A device that has nothing yet of the user whose root is `root_id`.
    pub fn new(root_id: DocumentId) -> Self {
        DeviceDocuments {
            root_id,
            data: None,
            waiting: BTreeMap::new(),
            rejected: Vec::new(),
        }
    }

    /// A device that has (some of) the user's data already.
    pub fn with_data(data: UserData) -> Self {
        DeviceDocuments {
            root_id: data.root_id(),
            data: Some(data),
            waiting: BTreeMap::new(),
            rejected: Vec::new(),
        }
    }

    /// The id of the user's root document.
    pub fn root_id(&self) -> DocumentId {
        self.root_id
    }

    /// The user's data, once the root is here.
    pub fn data(&self) -> Option<&UserData> {
        self.data.as_ref()
    }

    /// The user's data, to edit; tell [`DeviceSync::local_change`] which document changed.
    pub fn data_mut(&mut self) -> Option<&mut UserData> {
        self.data.as_mut()
    }

    /// Documents that arrived but could not join the user's data (corrupt,
    /// or not the kind the root says): kept apart, never overwritten.
    pub fn rejected(&self) -> &[(DocumentId, Error)] {
        &self.rejected
    }

    /// What the device still needs from the relay: the root, or the
    /// documents the root lists that are not here.
    pub fn wanted(&self) -> Vec<DocumentId> {
        let Some(data) = &self.data else {
            return vec![self.root_id];
        };
        data.missing_documents()
            .map(|m| m.into_iter().map(|(id, _)| id).collect())
            .unwrap_or_default()
    }

    /// Starts the account's data on this device when the relay has none (the
    /// first device of an account): a new root with fresh documents, and the
    /// device's data from before it joined the account, if any, adopted into
    /// it. Then announce them with [`DeviceSync::announce_all`].
    pub fn begin_account(&mut self, now: Timestamp, local: Option<UserData>) -> Result<()> {
        if self.data.is_some() {
            return Ok(());
        }
        let mut data = UserData::create(self.root_id, now)?;
        if let Some(local) = local {
            data.adopt(now, local)?;
        }
        self.data = Some(data);
        self.attach_waiting();
        Ok(())
    }

    /// Moves waiting documents that the root now lists into the user's data.
    fn attach_waiting(&mut self) {
        let Some(data) = &mut self.data else {
            return;
        };
        let Ok(missing) = data.missing_documents() else {
            return;
        };
        for (id, role) in missing {
            let Some(doc) = self.waiting.remove(&id) else {
                continue;
            };
            let attached = LifeDoc::from_automerge(role.kind, doc).and_then(|d| data.attach(id, d));
            if let Err(e) = attached {
                self.rejected.push((id, e));
            }
        }
    }
}

impl Documents for DeviceDocuments {
    fn ids(&self) -> Vec<DocumentId> {
        let mut ids: Vec<DocumentId> = self
            .data
            .as_ref()
            .map(UserData::document_ids)
            .unwrap_or_default();
        ids.extend(self.waiting.keys().copied());
        ids.sort();
        ids.dedup();
        ids
    }

    fn get_mut(&mut self, id: &DocumentId) -> Option<&mut AutoCommit> {
        if let Some(doc) = self.data.as_mut().and_then(|d| d.document_mut(id)) {
            return Some(doc.automerge_mut());
        }
        self.waiting.get_mut(id)
    }

    fn insert(&mut self, id: DocumentId, doc: AutoCommit) {
        if id == self.root_id && self.data.is_none() {
            match LifeDoc::from_automerge(DocKind::Root, doc)
                .and_then(|root| UserData::open(id, root))
            {
                Ok(data) => self.data = Some(data),
                Err(e) => self.rejected.push((id, e)),
            }
        } else {
            self.waiting.insert(id, doc);
        }
        self.attach_waiting();
    }
}

/// A device's sync with the relay, for all of one user's documents.
///
/// It also keeps what the relay confirmed storing, per document, across
/// disconnects: the protocol state forgets the relay's heads when the
/// connection goes, yet "how many of my changes are not on the relay" must
/// stay exact offline. The device stores them ([`DeviceSync::confirmed_updates`])
/// and hands them back after a restart ([`DeviceSync::remember_confirmed`]).
pub struct DeviceSync {
    client: Client<DeviceDocuments>,
    /// The heads the relay last confirmed storing, per document.
    confirmed: BTreeMap<DocumentId, Vec<ChangeHash>>,
    /// Documents whose confirmed heads changed since the device stored them.
    confirmed_dirty: BTreeSet<DocumentId>,
}

impl DeviceSync {
    /// Sync for the device `local` over `documents`.
    pub fn new(local: PeerId, documents: DeviceDocuments) -> Self {
        DeviceSync {
            client: Client::new(local, documents),
            confirmed: BTreeMap::new(),
            confirmed_dirty: BTreeSet::new(),
        }
    }

    /// What the relay confirmed storing of `id` as the device stored it
    /// (from [`DeviceSync::confirmed_updates`] before a restart).
    pub fn remember_confirmed(&mut self, id: DocumentId, heads: Vec<ChangeHash>) {
        self.confirmed.insert(id, heads);
    }

    /// The documents whose confirmed heads changed since the last call, to
    /// store so that a restarted device counts its unconfirmed changes right.
    pub fn confirmed_updates(&mut self) -> Vec<(DocumentId, Vec<ChangeHash>)> {
        std::mem::take(&mut self.confirmed_dirty)
            .into_iter()
            .filter_map(|id| self.confirmed.get(&id).map(|h| (id, h.clone())))
            .collect()
    }

    /// Takes what the relay says it stores of `id` into the kept heads.
    fn note_confirmed(&mut self, id: DocumentId) {
        let Some(heads) = self.client.confirmed_heads(id) else {
            return;
        };
        if self.confirmed.get(&id) != Some(&heads) {
            self.confirmed.insert(id, heads);
            self.confirmed_dirty.insert(id);
        }
    }

    /// The device's documents.
    pub fn documents(&self) -> &DeviceDocuments {
        self.client.documents()
    }

    /// The device's documents, to edit; then call [`DeviceSync::local_change`].
    pub fn documents_mut(&mut self) -> &mut DeviceDocuments {
        self.client.documents_mut()
    }

    /// The handshake with `relay` completed: announce everything, ask for what is missing.
    pub fn connected(&mut self, relay: PeerId) -> Vec<ClientOutput> {
        let mut out = self.client.connected(relay);
        out.extend(self.want_missing());
        out
    }

    /// The connection is gone.
    pub fn disconnected(&mut self) {
        self.client.disconnected();
    }

    /// Handles a document message from the relay.
    pub fn receive(&mut self, message: &Message) -> Result<Vec<ClientOutput>, SyncError> {
        let mut out = self.client.receive(message)?;
        if let Some(id) = message.document_id() {
            self.note_confirmed(id);
        }
        let root = self.client.documents().root_id;
        let grew = out
            .iter()
            .any(|o| matches!(o, ClientOutput::Arrived(_)) || *o == ClientOutput::Changed(root));
        if grew {
            out.extend(self.want_missing());
        }
        Ok(out)
    }

    /// Document `id` was edited on this device (or created: after
    /// [`DeviceDocuments::begin_account`], call it for every document).
    pub fn local_change(&mut self, id: DocumentId) -> Vec<ClientOutput> {
        let mut out = self.client.local_change(id);
        if id == self.client.documents().root_id {
            out.extend(self.want_missing());
        }
        out
    }

    /// Every document on the device, to announce after [`DeviceDocuments::begin_account`].
    pub fn announce_all(&mut self) -> Vec<ClientOutput> {
        let ids = self.client.documents().ids();
        let mut out = Vec::new();
        for id in ids {
            out.extend(self.client.local_change(id));
        }
        out
    }

    /// Changes on this device that the relay has not confirmed storing (not
    /// yet durable there), connected or not: counted from the relay's heads
    /// as it last stated them, kept across disconnects and restarts.
    pub fn unconfirmed_changes(&mut self) -> usize {
        let ids = self.client.documents().ids();
        let mut total = 0;
        for id in ids {
            self.note_confirmed(id);
            let confirmed = self.confirmed.get(&id).cloned().unwrap_or_default();
            let Some(doc) = self.client.documents_mut().get_mut(&id) else {
                continue;
            };
            let known: Vec<ChangeHash> = confirmed
                .into_iter()
                .filter(|h| doc.get_change_by_hash(h).is_some())
                .collect();
            total += doc.get_changes(&known).len();
        }
        total
    }

    /// The heads of `id` the relay confirmed storing (see [`Client::confirmed_heads`]).
    pub fn confirmed_heads(&mut self, id: DocumentId) -> Option<Vec<automerge::ChangeHash>> {
        self.client.confirmed_heads(id)
    }

    fn want_missing(&mut self) -> Vec<ClientOutput> {
        let mut out = Vec::new();
        for id in self.client.documents().wanted() {
            out.extend(self.client.want(id));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::habits::HabitsDoc;

    #[test]
    fn documents_wait_for_the_root_and_a_wrong_kind_is_rejected() {
        let now = Timestamp::from_millis(1_795_000_000_000);
        let root_id = DocumentId::generate();
        let mut original = UserData::create(root_id, now).unwrap();
        let ids = original.document_ids();
        let mut device = DeviceDocuments::new(root_id);
        assert_eq!(device.wanted(), vec![root_id]);

        // A listed document arrives before the root: it waits.
        let tasks_id = ids[1];
        let tasks = original
            .document_mut(&tasks_id)
            .unwrap()
            .automerge_mut()
            .clone();
        device.insert(tasks_id, tasks);
        assert!(device.data().is_none());
        // The root arrives; the waiting document joins; the rest is wanted.
        let root = original
            .document_mut(&root_id)
            .unwrap()
            .automerge_mut()
            .clone();
        device.insert(root_id, root);
        assert!(device.data().is_some());
        let mut wanted = device.wanted();
        wanted.sort();
        let mut expected = vec![ids[2], ids[3]];
        expected.sort();
        assert_eq!(wanted, expected);

        // A habits document arriving under the finance document's id is kept apart.
        let mut wrong = HabitsDoc::new();
        device.insert(ids[3], wrong.doc_mut().automerge_mut().clone());
        assert_eq!(device.rejected().len(), 1);
        assert_eq!(device.rejected()[0].0, ids[3]);
        assert_eq!(device.data().unwrap().document_ids().len(), 2);
    }
}
