//! The messages of the automerge-repo network protocol, version "1".
//!
//! One message is one CBOR map in one binary WebSocket frame. Field names and
//! types follow `@automerge/automerge-repo` 2.x (`network/messages.ts`) and
//! `@automerge/automerge-repo-network-websocket` (`join`, `peer`, `error`).

use std::collections::BTreeMap;
use std::fmt;

use crate::id::DocumentId;

/// The only protocol version this implementation speaks.
pub const PROTOCOL_VERSION: &str = "1";

/// Longest accepted peer id, storage id, session id or protocol version name, in bytes.
pub const MAX_ID_LEN: usize = 512;

/// A peer's id as it announces itself in `join`/`peer` (any non-empty string up to [`MAX_ID_LEN`] bytes).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(String);

impl PeerId {
    /// A peer id, if `s` is non-empty, at most [`MAX_ID_LEN`] bytes and free of control characters.
    pub fn new(s: impl Into<String>) -> Option<Self> {
        let s = s.into();
        valid_id(&s).then_some(PeerId(s))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({})", self.0)
    }
}

/// A storage id (a peer's durable identity in `peerMetadata` and remote-heads messages).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StorageId(String);

impl StorageId {
    /// A storage id, with the same rules as a [`PeerId`].
    pub fn new(s: impl Into<String>) -> Option<Self> {
        let s = s.into();
        valid_id(&s).then_some(StorageId(s))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub(crate) fn valid_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID_LEN && !s.chars().any(char::is_control)
}

/// What a peer says about itself in `join` and `peer`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerMetadata {
    /// The peer's storage id, if it stores documents durably.
    pub storage_id: Option<StorageId>,
    /// Whether the peer will come back with this storage id (false: it will).
    pub is_ephemeral: bool,
}

/// Heads of a document as seen by one storage id (in `remote-heads-changed`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteHeads {
    /// The heads, as the strings JS sends (base58/hex encodings of change hashes).
    pub heads: Vec<String>,
    /// When the heads were seen, milliseconds since the Unix epoch.
    pub timestamp: u64,
}

/// One protocol message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Client → server: the first message, announcing the client.
    Join {
        /// The client's peer id.
        sender_id: PeerId,
        /// Versions the client speaks (absent in old clients: treated as `["1"]`).
        supported_protocol_versions: Vec<String>,
        /// The client's metadata.
        peer_metadata: Option<PeerMetadata>,
    },
    /// Server → client: the answer to `join`.
    Peer {
        /// The server's peer id.
        sender_id: PeerId,
        /// The client's peer id.
        target_id: PeerId,
        /// The version chosen, always [`PROTOCOL_VERSION`].
        selected_protocol_version: String,
        /// The server's metadata.
        peer_metadata: Option<PeerMetadata>,
    },
    /// The sender is about to disconnect.
    Leave {
        /// Who leaves.
        sender_id: PeerId,
    },
    /// "I do not have this document; send it if you do" (an Automerge sync message).
    Request {
        /// The document.
        document_id: DocumentId,
        /// Who asks.
        sender_id: PeerId,
        /// Who is asked.
        target_id: PeerId,
        /// An Automerge sync message (never empty).
        data: Vec<u8>,
    },
    /// An Automerge sync message about a document.
    Sync {
        /// The document.
        document_id: DocumentId,
        /// Who sends.
        sender_id: PeerId,
        /// Who receives.
        target_id: PeerId,
        /// An Automerge sync message (never empty).
        data: Vec<u8>,
    },
    /// "I do not have this document (or you may not see it)".
    DocUnavailable {
        /// The document.
        document_id: DocumentId,
        /// Who answers.
        sender_id: PeerId,
        /// Who asked.
        target_id: PeerId,
    },
    /// An application message about a document that is not stored (presence, cursors).
    Ephemeral {
        /// The document.
        document_id: DocumentId,
        /// Who sends.
        sender_id: PeerId,
        /// Who receives.
        target_id: PeerId,
        /// Sender's sequence number within the session.
        count: u64,
        /// Sender's session.
        session_id: String,
        /// Opaque CBOR payload.
        data: Vec<u8>,
    },
    /// A protocol error; the sender closes the connection after it.
    Error {
        /// What went wrong, for people.
        message: String,
        /// Who sends (the WebSocket server adapter includes it).
        sender_id: Option<PeerId>,
        /// Who receives.
        target_id: Option<PeerId>,
    },
    /// The sender wants (or no longer wants) to hear about remote heads of these storage ids.
    RemoteSubscriptionChange {
        /// Who sends.
        sender_id: PeerId,
        /// Who receives.
        target_id: PeerId,
        /// Storage ids to add.
        add: Vec<StorageId>,
        /// Storage ids to remove.
        remove: Vec<StorageId>,
    },
    /// The heads of a document at some storage ids changed.
    RemoteHeadsChanged {
        /// The document.
        document_id: DocumentId,
        /// Who sends.
        sender_id: PeerId,
        /// Who receives.
        target_id: PeerId,
        /// New heads per storage id.
        new_heads: BTreeMap<StorageId, RemoteHeads>,
    },
}

impl Message {
    /// The `type` field of this message.
    pub fn type_name(&self) -> &'static str {
        match self {
            Message::Join { .. } => "join",
            Message::Peer { .. } => "peer",
            Message::Leave { .. } => "leave",
            Message::Request { .. } => "request",
            Message::Sync { .. } => "sync",
            Message::DocUnavailable { .. } => "doc-unavailable",
            Message::Ephemeral { .. } => "ephemeral",
            Message::Error { .. } => "error",
            Message::RemoteSubscriptionChange { .. } => "remote-subscription-change",
            Message::RemoteHeadsChanged { .. } => "remote-heads-changed",
        }
    }

    /// Who sent it, when the message says.
    pub fn sender_id(&self) -> Option<&PeerId> {
        match self {
            Message::Join { sender_id, .. }
            | Message::Peer { sender_id, .. }
            | Message::Leave { sender_id }
            | Message::Request { sender_id, .. }
            | Message::Sync { sender_id, .. }
            | Message::DocUnavailable { sender_id, .. }
            | Message::Ephemeral { sender_id, .. }
            | Message::RemoteSubscriptionChange { sender_id, .. }
            | Message::RemoteHeadsChanged { sender_id, .. } => Some(sender_id),
            Message::Error { sender_id, .. } => sender_id.as_ref(),
        }
    }

    /// The document it is about, if any.
    pub fn document_id(&self) -> Option<DocumentId> {
        match self {
            Message::Request { document_id, .. }
            | Message::Sync { document_id, .. }
            | Message::DocUnavailable { document_id, .. }
            | Message::Ephemeral { document_id, .. }
            | Message::RemoteHeadsChanged { document_id, .. } => Some(*document_id),
            _ => None,
        }
    }
}
