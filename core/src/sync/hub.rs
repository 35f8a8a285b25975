//! [`Hub`]: the relay's side of sync for many documents and many peers.
//!
//! The hub routes document messages (from [`super::ServerConnection`]s) to the
//! document's [`DocSync`], asks an [`Authorize`] callback whether the peer may
//! see the document at all, asks its caller to load documents it does not
//! hold ([`HubOutput::Load`], answered with [`Hub::loaded`]), and passes the
//! durability gate's persist requests through. A peer that may not see a
//! document gets exactly the `doc-unavailable` a missing document gets, so
//! guessing ids reveals nothing.

use std::collections::HashMap;

use automerge::AutoCommit;

use super::document::{CommitTicket, DocSync, Durability, Output, PersistRequest, SyncError};
use super::message::{Message, PeerId};
use crate::id::DocumentId;

/// The answer of an [`Authorize`] callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The peer may read and write the document (or create it, if it does not exist).
    Full,
    /// The peer gets `doc-unavailable`, as for a document that does not exist.
    Denied,
}

/// Decides, per peer and document, whether the peer may see it. The relay
/// implements it with its ownership table (owner only, for now; sharing can
/// answer `Full` for more users later without touching the protocol).
pub trait Authorize {
    /// May `peer` see `document`?
    fn access(&mut self, peer: &PeerId, document: &DocumentId) -> Access;
}

impl<F: FnMut(&PeerId, &DocumentId) -> Access> Authorize for F {
    fn access(&mut self, peer: &PeerId, document: &DocumentId) -> Access {
        self(peer, document)
    }
}

/// What the relay must do after a hub call.
#[derive(Debug)]
pub enum HubOutput {
    /// Send `message` to `to` (encode it with [`super::encode`]).
    Send {
        /// The peer.
        to: PeerId,
        /// The message.
        message: Message,
    },
    /// Load this document from storage and call [`Hub::loaded`].
    Load {
        /// The document.
        document: DocumentId,
    },
    /// Store these changes durably, then call [`Hub::committed`].
    Persist {
        /// The changes and their ticket.
        request: PersistRequest,
        /// Set on the first persist of a document a peer created: that peer's
        /// user becomes its owner (in the same transaction as the changes).
        created_by: Option<PeerId>,
    },
    /// The document changed (the relay may update caches, metrics, REST views).
    Changed {
        /// The document.
        document: DocumentId,
    },
}

/// A loaded document with its sync bookkeeping.
struct Ready {
    doc: AutoCommit,
    sync: DocSync,
    /// The peer that created it, until its first changes are persisted.
    created_by: Option<PeerId>,
}

enum Slot {
    Loading {
        /// Messages that arrived while it loads, replayed once loaded.
        queue: Vec<(PeerId, Message)>,
        /// The relay itself will edit it: create it if storage has none.
        create: bool,
    },
    Ready(Box<Ready>),
}

/// Why [`Hub::loaded`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The stored bytes are not an Automerge document.
    #[error("stored document {document} is corrupt: {reason}")]
    Corrupt {
        /// The document.
        document: DocumentId,
        /// What Automerge said.
        reason: String,
    },
}

/// The relay's sync state for all loaded documents.
pub struct Hub<A> {
    local: PeerId,
    durability: Durability,
    authorize: A,
    docs: HashMap<DocumentId, Slot>,
}

impl<A: Authorize> Hub<A> {
    /// A hub presenting itself as `local`.
    pub fn new(local: PeerId, durability: Durability, authorize: A) -> Self {
        Hub {
            local,
            durability,
            authorize,
            docs: HashMap::new(),
        }
    }

    /// Handles a document message from `from` (already bound to its
    /// connection by [`super::ServerConnection`]). An error concerns this
    /// document and peer only; the caller may close that connection.
    pub fn receive(
        &mut self,
        from: &PeerId,
        message: Message,
    ) -> Result<Vec<HubOutput>, SyncError> {
        let Some(document) = message.document_id() else {
            return Err(SyncError::NotForThisDocument(message.type_name()));
        };
        if self.authorize.access(from, &document) == Access::Denied {
            return Ok(self.unavailable(from, &message, document));
        }
        match self.docs.get_mut(&document) {
            Some(Slot::Ready(ready)) => {
                let Ready {
                    doc,
                    sync,
                    created_by,
                } = &mut **ready;
                let outputs = sync.receive(doc, from, &message)?;
                Ok(wrap(document, outputs, created_by))
            }
            Some(Slot::Loading { queue, .. }) => {
                queue.push((from.clone(), message));
                Ok(Vec::new())
            }
            None => {
                self.docs.insert(
                    document,
                    Slot::Loading {
                        queue: vec![(from.clone(), message)],
                        create: false,
                    },
                );
                Ok(vec![HubOutput::Load { document }])
            }
        }
    }

    /// Storage answered a [`HubOutput::Load`]: `stored` is the saved document,
    /// or `None` when storage has no such document.
    pub fn loaded(
        &mut self,
        document: DocumentId,
        stored: Option<&[u8]>,
    ) -> Result<Vec<HubOutput>, LoadError> {
        let parsed = stored.map(|bytes| parse(document, bytes)).transpose();
        self.loaded_document(document, parsed)
    }

    /// [`Hub::loaded`] with the stored document already parsed (by
    /// [`parse`], which takes a while for a long history and can run on
    /// another thread while the hub serves other documents). A parse error
    /// drops the messages waiting for the document and is returned.
    pub fn loaded_document(
        &mut self,
        document: DocumentId,
        stored: Result<Option<AutoCommit>, LoadError>,
    ) -> Result<Vec<HubOutput>, LoadError> {
        let Some(Slot::Loading { queue, create }) = self.docs.remove(&document) else {
            return Ok(Vec::new());
        };
        let (doc, created_by) = match stored? {
            Some(doc) => (doc, None),
            None => match queue
                .iter()
                .find(|(_, m)| matches!(m, Message::Sync { .. }))
            {
                // A peer that sends `sync` for an unknown document creates it.
                Some((creator, _)) => (AutoCommit::new(), Some(creator.clone())),
                // So does the relay's own edit (a new ledger made through the REST API).
                None if create => (AutoCommit::new(), None),
                None => {
                    let mut out = Vec::new();
                    for (peer, message) in &queue {
                        out.extend(self.unavailable(peer, message, document));
                    }
                    return Ok(out);
                }
            },
        };
        let mut doc = doc;
        let stored_heads = if created_by.is_some() {
            Vec::new()
        } else {
            doc.get_heads()
        };
        let sync = DocSync::new(document, self.local.clone(), self.durability, stored_heads);
        self.docs.insert(
            document,
            Slot::Ready(Box::new(Ready {
                doc,
                sync,
                created_by,
            })),
        );
        let mut out = Vec::new();
        for (peer, message) in queue {
            // A bad message from one peer must not stop the others' replay.
            if let Ok(o) = self.receive(&peer, message) {
                out.extend(o);
            }
        }
        Ok(out)
    }

    /// Storage committed the changes of `ticket` for `document`.
    pub fn committed(&mut self, document: DocumentId, ticket: CommitTicket) -> Vec<HubOutput> {
        match self.docs.get_mut(&document) {
            Some(Slot::Ready(ready)) => {
                let Ready {
                    doc,
                    sync,
                    created_by,
                } = &mut **ready;
                let outputs = sync.committed(doc, ticket);
                wrap(document, outputs, created_by)
            }
            _ => Vec::new(),
        }
    }

    /// A peer disconnected: forget its sync states.
    pub fn peer_disconnected(&mut self, peer: &PeerId) {
        for slot in self.docs.values_mut() {
            if let Slot::Ready(ready) = slot {
                ready.sync.remove_peer(peer);
            }
        }
    }

    /// Makes sure `document` is loaded, or being loaded, so that the relay
    /// can edit it on its own behalf ([`Hub::edit`]); a document storage
    /// does not have is then created empty. Returns the
    /// [`HubOutput::Load`] to carry out, if one is needed.
    pub fn open_for_edit(&mut self, document: DocumentId) -> Vec<HubOutput> {
        match self.docs.get_mut(&document) {
            Some(Slot::Ready(_)) => Vec::new(),
            Some(Slot::Loading { create, .. }) => {
                *create = true;
                Vec::new()
            }
            None => {
                self.docs.insert(
                    document,
                    Slot::Loading {
                        queue: Vec::new(),
                        create: true,
                    },
                );
                vec![HubOutput::Load { document }]
            }
        }
    }

    /// Whether the document is loaded and can be edited now.
    pub fn is_ready(&self, document: &DocumentId) -> bool {
        matches!(self.docs.get(document), Some(Slot::Ready(_)))
    }

    /// Edits a loaded document on the relay's own behalf (the REST API) and
    /// syncs the edit to its peers once committed. `None` if it is not loaded.
    pub fn edit<T>(
        &mut self,
        document: DocumentId,
        edit: impl FnOnce(&mut AutoCommit) -> T,
    ) -> Option<(T, Vec<HubOutput>)> {
        match self.docs.get_mut(&document) {
            Some(Slot::Ready(ready)) => {
                let Ready {
                    doc,
                    sync,
                    created_by,
                } = &mut **ready;
                let value = edit(doc);
                let outputs = sync.local_change(doc);
                Some((value, wrap(document, outputs, created_by)))
            }
            _ => None,
        }
    }

    /// Takes in changes of a loaded document that storage already holds
    /// (another relay on the same database stored them, and this relay read
    /// them from the change log): they go to the document's peers without
    /// being persisted again. A document that is not loaded is left alone
    /// (it will be read from storage when it is needed).
    pub fn absorb_stored(
        &mut self,
        document: DocumentId,
        bytes: &[u8],
    ) -> Result<Vec<HubOutput>, LoadError> {
        let Some(Slot::Ready(ready)) = self.docs.get_mut(&document) else {
            return Ok(Vec::new());
        };
        let Ready {
            doc,
            sync,
            created_by,
        } = &mut **ready;
        let (_, outputs) = sync
            .absorb_stored(doc, bytes)
            .map_err(|e| LoadError::Corrupt {
                document,
                reason: e.to_string(),
            })?;
        Ok(wrap(document, outputs, created_by))
    }

    /// Drops a document from memory if nothing waits for storage and no peer
    /// syncs it; returns whether it was dropped. Memory then holds only active documents.
    pub fn unload_if_idle(&mut self, document: &DocumentId) -> bool {
        let idle = matches!(self.docs.get(document), Some(Slot::Ready(r)) if !r.sync.has_uncommitted() && r.sync.peers().next().is_none());
        if idle {
            self.docs.remove(document);
        }
        idle
    }

    /// How many documents are in memory (loaded or loading).
    pub fn loaded_count(&self) -> usize {
        self.docs.len()
    }

    /// Whether the document is in memory (loaded or loading).
    pub fn is_loaded(&self, document: &DocumentId) -> bool {
        self.docs.contains_key(document)
    }

    /// Drops a document from memory whatever its state, and returns the
    /// peers that were syncing it (their sync states for it are gone; the
    /// caller should close their connections so they start afresh). For a
    /// document that storage refused: anything uncommitted in it was never
    /// advertised, so nothing acknowledged is lost.
    pub fn evict(&mut self, document: &DocumentId) -> Vec<PeerId> {
        match self.docs.remove(document) {
            Some(Slot::Ready(ready)) => ready.sync.peers().cloned().collect(),
            Some(Slot::Loading { queue, .. }) => {
                let mut peers: Vec<PeerId> = queue.into_iter().map(|(p, _)| p).collect();
                peers.sort();
                peers.dedup();
                peers
            }
            None => Vec::new(),
        }
    }

    /// The access policy, to update what it knows (who is connected, who owns what).
    pub fn authorizer_mut(&mut self) -> &mut A {
        &mut self.authorize
    }

    fn unavailable(&self, to: &PeerId, message: &Message, document: DocumentId) -> Vec<HubOutput> {
        match message {
            Message::Request { .. } | Message::Sync { .. } => vec![HubOutput::Send {
                to: to.clone(),
                message: Message::DocUnavailable {
                    document_id: document,
                    sender_id: self.local.clone(),
                    target_id: to.clone(),
                },
            }],
            _ => Vec::new(),
        }
    }
}

/// Reads a stored document (what storage gave for a [`HubOutput::Load`]).
pub fn parse(document: DocumentId, bytes: &[u8]) -> Result<AutoCommit, LoadError> {
    AutoCommit::load(bytes).map_err(|e| LoadError::Corrupt {
        document,
        reason: e.to_string(),
    })
}

fn wrap(
    document: DocumentId,
    outputs: Vec<Output>,
    created_by: &mut Option<PeerId>,
) -> Vec<HubOutput> {
    outputs
        .into_iter()
        .filter_map(|o| match o {
            Output::Send { to, message } => Some(HubOutput::Send { to, message }),
            Output::Persist(request) => Some(HubOutput::Persist {
                request,
                created_by: created_by.take(),
            }),
            Output::Changed => Some(HubOutput::Changed { document }),
            Output::Unavailable { .. } => None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
