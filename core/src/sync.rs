//! The automerge-repo network protocol, version "1", sans-IO.
//!
//! [`message`] defines the messages, [`codec`] turns them into CBOR frames
//! and back. The protocol engines that drive connections and per-document
//! sync over `automerge::sync` build on these. Nothing here touches a socket,
//! a clock or a thread: callers feed in frames and get out frames to send.
//! See docs/protocol.md.

pub mod client;
pub mod codec;
pub mod connection;
pub mod device;
pub mod document;
pub mod hub;
pub mod message;
pub mod reconnect;

pub use client::{Client, ClientOutput, Documents};
pub use codec::{DEFAULT_MAX_FRAME, DecodeError, decode, encode};
pub use connection::{ClientConnection, Event, ServerConnection, Violation};
pub use device::{DeviceDocuments, DeviceSync};
pub use document::{
    CommitTicket, DocSync, Durability, Output, PeerStatus, PersistRequest, SyncError,
};
pub use hub::{Access, Authorize, Hub, HubOutput, LoadError};
pub use message::{Message, PROTOCOL_VERSION, PeerId, PeerMetadata, RemoteHeads, StorageId};
