//! [`DocSync`]: the sync bookkeeping of one document with all of its peers,
//! and the durability gate.
//!
//! A `DocSync` keeps one `automerge::sync::State` per peer and turns received
//! protocol messages and local edits into messages to send. It does not own
//! the document: every call takes the `AutoCommit` it is about, so the same
//! engine serves the relay (which owns its documents) and devices (whose
//! documents live in `UserData`).
//!
//! # Durability
//!
//! With [`Durability::CommitFirst`] (the relay), no sync message leaves while
//! the document holds a change that storage has not confirmed. Before any
//! message is generated, the engine compares the document's heads with the
//! heads it has already handed to storage; anything new is handed over as an
//! [`Output::Persist`] carrying a [`CommitTicket`], and every message for every
//! peer waits until [`DocSync::committed`] has been called for every ticket.
//! Because the check is on the document's heads, not on what the caller says
//! it changed, a caller that edits the document directly still cannot get an
//! uncommitted change advertised: "the relay's heads include my change" means
//! "my change is stored" (CONTRACT.md, Durability).

use std::collections::{BTreeMap, BTreeSet};

use automerge::sync::{self, SyncDoc};
use automerge::{AutoCommit, ChangeHash};

use super::message::{Message, PeerId};
use crate::id::DocumentId;

/// Whether outgoing messages wait for storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Messages leave at once (devices, which save locally on their own schedule).
    Immediate,
    /// Messages wait until every change they could advertise is committed (the relay).
    CommitFirst,
}

/// Proof that a batch of changes was handed to storage; give it back to
/// [`DocSync::committed`] once they are durable. Only the engine makes them.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CommitTicket(u64);

/// Changes to write to storage before anything advertises them.
#[derive(Debug)]
pub struct PersistRequest {
    /// The document.
    pub document: DocumentId,
    /// The changes, each as its hash and its bytes (as `Change::bytes`).
    pub changes: Vec<(ChangeHash, Vec<u8>)>,
    /// The document's heads once these changes are stored.
    pub heads: Vec<ChangeHash>,
    /// Give this back to [`DocSync::committed`].
    pub ticket: CommitTicket,
}

/// What the caller must do after a call.
#[derive(Debug)]
pub enum Output {
    /// Send this message to `to`.
    Send {
        /// The peer to send to.
        to: PeerId,
        /// The message.
        message: Message,
    },
    /// Store these changes, then call [`DocSync::committed`].
    Persist(PersistRequest),
    /// The document changed because of a peer's changes (re-render, re-index).
    Changed,
    /// A peer said it does not have the document (or may not share it).
    Unavailable {
        /// The peer.
        from: PeerId,
    },
}

/// What we know about a peer and this document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerStatus {
    /// Nothing yet.
    Unknown,
    /// It has the document.
    Has,
    /// It asked for the document.
    Wants,
    /// It does not have it.
    Unavailable,
}

/// Why a received message could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncError {
    /// The `data` of a sync or request message is not an Automerge sync message.
    #[error("document {document}: corrupt sync data: {reason}")]
    CorruptSyncData {
        /// The document.
        document: DocumentId,
        /// What Automerge said.
        reason: String,
    },
    /// The message is not about documents (join, peer...), or about another document.
    #[error("message {0} is not for this document")]
    NotForThisDocument(&'static str),
}

/// One run of `generate_sync_message` in a flush: the state it started
/// from, the state it left, and the message's heads and bytes.
struct Generated {
    before: sync::State,
    after: sync::State,
    message: Option<(Vec<ChangeHash>, Vec<u8>)>,
}

struct Peer {
    state: sync::State,
    status: PeerStatus,
    /// The heads of the last message actually sent to this peer.
    announced: Vec<ChangeHash>,
}

/// Sync bookkeeping of one document.
pub struct DocSync {
    id: DocumentId,
    local: PeerId,
    durability: Durability,
    peers: BTreeMap<PeerId, Peer>,
    /// Heads whose changes were all handed to storage.
    handed_off: Vec<ChangeHash>,
    /// Tickets handed out and not yet committed.
    outstanding: BTreeSet<u64>,
    next_ticket: u64,
    /// Peers owed a message once everything is committed.
    deferred: BTreeSet<PeerId>,
}

impl DocSync {
    /// Bookkeeping for document `id`, whose changes up to `stored_heads` are
    /// already durable (the heads it was loaded with; empty for a new document).
    pub fn new(
        id: DocumentId,
        local: PeerId,
        durability: Durability,
        stored_heads: Vec<ChangeHash>,
    ) -> Self {
        DocSync {
            id,
            local,
            durability,
            peers: BTreeMap::new(),
            handed_off: stored_heads,
            outstanding: BTreeSet::new(),
            next_ticket: 0,
            deferred: BTreeSet::new(),
        }
    }

    /// The document's id.
    pub fn id(&self) -> DocumentId {
        self.id
    }

    /// Whether some changes wait for storage.
    pub fn has_uncommitted(&self) -> bool {
        !self.outstanding.is_empty()
    }

    /// The peers syncing this document.
    pub fn peers(&self) -> impl Iterator<Item = &PeerId> {
        self.peers.keys()
    }

    /// What is known about `peer` and this document.
    pub fn peer_status(&self, peer: &PeerId) -> Option<PeerStatus> {
        self.peers.get(peer).map(|p| p.status)
    }

    /// Starts (or restarts, after a reconnect) syncing with `peer`: a fresh
    /// sync state and a first message announcing what we have.
    pub fn add_peer(&mut self, doc: &mut AutoCommit, peer: PeerId) -> Vec<Output> {
        self.peers.insert(
            peer.clone(),
            Peer {
                state: sync::State::new(),
                status: PeerStatus::Unknown,
                announced: Vec::new(),
            },
        );
        self.flush(doc, [peer])
    }

    /// Forgets `peer` (disconnected).
    pub fn remove_peer(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
        self.deferred.remove(peer);
    }

    /// Handles a document message from `from`.
    pub fn receive(
        &mut self,
        doc: &mut AutoCommit,
        from: &PeerId,
        message: &Message,
    ) -> Result<Vec<Output>, SyncError> {
        if message.document_id() != Some(self.id) {
            return Err(SyncError::NotForThisDocument(message.type_name()));
        }
        let mut out = Vec::new();
        match message {
            Message::Request { data, .. } | Message::Sync { data, .. } => {
                let decoded =
                    sync::Message::decode(data).map_err(|e| SyncError::CorruptSyncData {
                        document: self.id,
                        reason: e.to_string(),
                    })?;
                let peer = self.peer_entry(from);
                if matches!(message, Message::Request { .. }) {
                    peer.status = PeerStatus::Wants;
                }
                if !decoded.heads.is_empty() {
                    peer.status = PeerStatus::Has;
                }
                let before = doc.get_heads();
                receive_sync(doc, &mut peer.state, decoded).map_err(|e| {
                    SyncError::CorruptSyncData {
                        document: self.id,
                        reason: e.to_string(),
                    }
                })?;
                let changed = doc.get_heads() != before;
                if changed {
                    out.push(Output::Changed);
                }
                // Reply to the sender; fan out to everyone else if the document changed.
                let mut targets: Vec<PeerId> = vec![from.clone()];
                if changed {
                    targets.extend(self.peers.keys().filter(|p| *p != from).cloned());
                }
                out.extend(self.flush(doc, targets));
            }
            Message::DocUnavailable { .. } => {
                self.peer_entry(from).status = PeerStatus::Unavailable;
                out.push(Output::Unavailable { from: from.clone() });
            }
            Message::Ephemeral {
                count,
                session_id,
                data,
                sender_id,
                ..
            } => {
                // Relay to every other peer of the document, as automerge-repo does.
                for to in self.peers.keys().filter(|p| *p != from) {
                    out.push(Output::Send {
                        to: to.clone(),
                        message: Message::Ephemeral {
                            document_id: self.id,
                            sender_id: sender_id.clone(),
                            target_id: to.clone(),
                            count: *count,
                            session_id: session_id.clone(),
                            data: data.clone(),
                        },
                    });
                }
            }
            other => return Err(SyncError::NotForThisDocument(other.type_name())),
        }
        Ok(out)
    }

    /// Call after the document was edited locally: sends the edit to every peer
    /// (once it is committed, with [`Durability::CommitFirst`]).
    pub fn local_change(&mut self, doc: &mut AutoCommit) -> Vec<Output> {
        let everyone: Vec<PeerId> = self.peers.keys().cloned().collect();
        self.flush(doc, everyone)
    }

    /// Takes in `bytes` (changes or a saved document) that storage already
    /// holds: another relay on the same database stored them. They are not
    /// handed to storage again, and go to every peer (with
    /// [`Durability::CommitFirst`], once this relay's own outstanding changes
    /// are committed too). Returns whether the document changed, and what to do.
    pub fn absorb_stored(
        &mut self,
        doc: &mut AutoCommit,
        bytes: &[u8],
    ) -> Result<(bool, Vec<Output>), automerge::AutomergeError> {
        // Anything not yet handed to storage goes first, so that the new
        // `handed_off` below never covers a change nobody stored.
        let mut out = self.flush(doc, []);
        let before = doc.get_heads();
        doc.load_incremental(bytes)?;
        let heads = doc.get_heads();
        if heads == before {
            return Ok((false, out));
        }
        self.handed_off = heads;
        out.push(Output::Changed);
        let everyone: Vec<PeerId> = self.peers.keys().cloned().collect();
        out.extend(self.flush(doc, everyone));
        Ok((true, out))
    }

    /// Storage confirmed the changes of `ticket`; releases the messages that waited for them.
    pub fn committed(&mut self, doc: &mut AutoCommit, ticket: CommitTicket) -> Vec<Output> {
        self.outstanding.remove(&ticket.0);
        if !self.outstanding.is_empty() {
            return Vec::new();
        }
        let waiting: Vec<PeerId> = std::mem::take(&mut self.deferred).into_iter().collect();
        self.flush(doc, waiting)
    }

    /// The heads `peer` last said it has, those this document knows (for a
    /// device talking to the relay: how far the document is durable there).
    /// `None` before `peer` said anything about the document.
    pub fn confirmed_heads(&self, doc: &mut AutoCommit, peer: &PeerId) -> Option<Vec<ChangeHash>> {
        let theirs = self.peers.get(peer)?.state.their_heads.clone()?;
        Some(
            theirs
                .into_iter()
                .filter(|h| doc.get_change_by_hash(h).is_some())
                .collect(),
        )
    }

    /// Changes of the document that `peer` has not confirmed having: for a
    /// device talking to the relay, the edits not yet known to be durable.
    pub fn unconfirmed_changes(&self, doc: &mut AutoCommit, peer: &PeerId) -> usize {
        let Some(p) = self.peers.get(peer) else {
            return doc.get_changes(&[]).len();
        };
        let theirs = p.state.their_heads.clone().unwrap_or_default();
        if theirs.is_empty() {
            return doc.get_changes(&[]).len();
        }
        // Changes we have that are not ancestors of their heads. If they have
        // changes we lack, get_changes cannot anchor on them; count ours since
        // the shared heads instead.
        let known: Vec<ChangeHash> = theirs
            .into_iter()
            .filter(|h| doc.get_change_by_hash(h).is_some())
            .collect();
        doc.get_changes(&known).len()
    }

    /// Generates messages for `targets`, after handing any unstored changes to
    /// storage and, with [`Durability::CommitFirst`], only once all are committed.
    fn flush(
        &mut self,
        doc: &mut AutoCommit,
        targets: impl IntoIterator<Item = PeerId>,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        if self.durability == Durability::CommitFirst {
            let heads = doc.get_heads();
            if heads != self.handed_off {
                let changes = doc
                    .get_changes(&self.handed_off)
                    .into_iter()
                    .map(|mut c| (c.hash(), c.bytes().into_owned()))
                    .collect();
                let ticket = self.next_ticket;
                self.next_ticket += 1;
                self.outstanding.insert(ticket);
                self.handed_off = heads.clone();
                out.push(Output::Persist(PersistRequest {
                    document: self.id,
                    changes,
                    heads,
                    ticket: CommitTicket(ticket),
                }));
            }
            if !self.outstanding.is_empty() {
                self.deferred
                    .extend(targets.into_iter().filter(|t| self.peers.contains_key(t)));
                return out;
            }
        }
        let heads = doc.get_heads();
        let is_new = heads.is_empty();
        let anyone_has = self.peers.values().any(|p| p.status == PeerStatus::Has);
        // Peers in the same sync state get the same message and end in the
        // same state: `generate_sync_message` is a function of the document
        // and the state. So it runs once per distinct state. In a busy
        // document most peers are in step, and one change then costs a few
        // generations instead of one per peer (each walks the change graph).
        let mut generated: Vec<Generated> = Vec::new();
        for to in targets {
            let Some(peer) = self.peers.get_mut(&to) else {
                continue;
            };
            if self.durability == Durability::CommitFirst && peer.announced != heads {
                // Automerge takes a heads-only message equal to our heads as
                // "they know our heads". With the gate they may not: our answer
                // to their changes waited for the commit. Make sure it goes out.
                peer.state.last_sent_heads.clear();
            }
            let known = generated.iter().find(|g| g.before == peer.state);
            let message = match known {
                Some(g) => {
                    peer.state.clone_from(&g.after);
                    g.message.clone()
                }
                None => {
                    let before = peer.state.clone();
                    let message = doc
                        .sync()
                        .generate_sync_message(&mut peer.state)
                        .map(|m| (m.heads.clone(), m.encode()));
                    generated.push(Generated {
                        before,
                        after: peer.state.clone(),
                        message: message.clone(),
                    });
                    message
                }
            };
            let Some((announced, data)) = message else {
                continue;
            };
            peer.announced = announced;
            // A peer that has nothing asks instead of announcing, so that the
            // other side can answer doc-unavailable (automerge-repo's rule).
            let ask = is_new
                && peer.state.shared_heads.is_empty()
                && !anyone_has
                && peer.status == PeerStatus::Unknown;
            let message = if ask {
                Message::Request {
                    document_id: self.id,
                    sender_id: self.local.clone(),
                    target_id: to.clone(),
                    data,
                }
            } else {
                Message::Sync {
                    document_id: self.id,
                    sender_id: self.local.clone(),
                    target_id: to.clone(),
                    data,
                }
            };
            out.push(Output::Send { to, message });
        }
        out
    }

    fn peer_entry(&mut self, peer: &PeerId) -> &mut Peer {
        self.peers.entry(peer.clone()).or_insert_with(|| Peer {
            state: sync::State::new(),
            status: PeerStatus::Unknown,
            announced: Vec::new(),
        })
    }
}

/// Receives an automerge sync message: the same result as automerge's
/// `receive_sync_message` (same document, same sync state; a test checks it
/// on random exchanges), without its cost.
///
/// Why: automerge trims `sent_hashes` to the changes the peer has not seen by
/// walking every ancestor of the message's heads, the document's whole
/// history, on every message. On a relay where every device answers every
/// change, that walk was half of the relay's CPU time (docs/benchmarks.md).
/// The same answer comes from automerge's cached vector clocks: the changes
/// outside the heads' history are `get_changes_meta(heads)`, usually a
/// handful, and none when the heads are ours.
fn receive_sync(
    doc: &mut AutoCommit,
    state: &mut sync::State,
    m: sync::Message,
) -> Result<(), automerge::AutomergeError> {
    if state.read_only {
        return doc.sync().receive_sync_message(state, m);
    }
    state.in_flight = false;
    let before = doc.get_heads();
    if let Some(flags) = m.flags {
        let mut caps = vec![sync::Capability::MessageV2];
        if flags.contains(sync::MessageFlags::SUPPORTS_SYNC_RESET) {
            caps.push(sync::Capability::SyncReset);
        }
        state.their_capabilities = Some(caps);
        if flags.contains(sync::MessageFlags::SYNC_RESET) {
            state.sent_hashes.clear();
        }
        state.peer_read_only = flags.contains(sync::MessageFlags::READ_ONLY);
    }
    let changes_is_empty = m.changes.is_empty();
    if !changes_is_empty {
        let joined: Vec<u8> = m.changes.iter().flatten().copied().collect();
        doc.load_incremental(&joined)?;
        let after = doc.get_heads();
        state.shared_heads = advance_heads(&before, &after, &state.shared_heads);
    }
    // The heads we know; the sent changes in their history are seen.
    let known: Vec<ChangeHash> = m
        .heads
        .iter()
        .filter(|h| doc.get_change_meta_by_hash(h).is_some())
        .copied()
        .collect();
    if !known.is_empty() && !state.sent_hashes.is_empty() {
        let mut sorted_known = known.clone();
        sorted_known.sort();
        sorted_known.dedup();
        let mut ours = doc.get_heads();
        ours.sort();
        if sorted_known == ours {
            state.sent_hashes.clear();
        } else {
            let unseen: BTreeSet<ChangeHash> = doc
                .get_changes_meta(&known)
                .into_iter()
                .map(|c| c.hash)
                .collect();
            state.sent_hashes.retain(|h| unseen.contains(h));
        }
    }
    if changes_is_empty && m.heads == before {
        state.last_sent_heads.clone_from(&m.heads);
    }
    if known.len() == m.heads.len() {
        state.shared_heads.clone_from(&m.heads);
        if m.heads.is_empty() {
            state.last_sent_heads = Vec::new();
            state.sent_hashes = BTreeSet::new();
        }
    } else {
        let mut shared: Vec<ChangeHash> =
            state.shared_heads.iter().chain(&known).copied().collect();
        shared.sort();
        shared.dedup();
        state.shared_heads = shared;
    }
    state.their_have = Some(m.have);
    state.their_heads = Some(m.heads);
    state.their_need = Some(m.need);
    Ok(())
}

/// Automerge's rule for the heads shared with a peer after applying its changes.
fn advance_heads(old: &[ChangeHash], new: &[ChangeHash], shared: &[ChangeHash]) -> Vec<ChangeHash> {
    let mut advanced: Vec<ChangeHash> = new
        .iter()
        .filter(|h| !old.contains(h))
        .chain(shared.iter().filter(|h| new.contains(h)))
        .copied()
        .collect();
    advanced.sort();
    advanced.dedup();
    advanced
}

#[cfg(test)]
mod tests;
