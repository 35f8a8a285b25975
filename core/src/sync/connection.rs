//! One connection's protocol state: the handshake, version negotiation, and
//! the binding of every later message to the peer that joined.
//!
//! [`ServerConnection`] is the relay's side: it waits for `join`, answers
//! `peer` (or `error` and close when no common version exists), then accepts
//! only messages whose `senderId` is the joined peer and whose `targetId` is
//! the relay. [`ClientConnection`] is a device's side: it sends `join` and
//! waits for `peer`. Both turn frames into [`Event`]s; frames to send come
//! back as bytes, ready for the socket.

use super::codec::{self, DecodeError};
use super::message::{Message, PROTOCOL_VERSION, PeerId, PeerMetadata};

/// What the caller must do with a received frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// Send this frame back.
    Send(Vec<u8>),
    /// The handshake completed with this peer.
    Joined {
        /// The remote peer.
        peer: PeerId,
        /// What it said about itself.
        metadata: Option<PeerMetadata>,
    },
    /// A message about a document, from the joined peer: hand it to the sync engine.
    Document(Message),
    /// The peer is leaving (or reported an error): close the connection.
    Close {
        /// Why, for logs.
        reason: String,
    },
    /// Dropped without reply (a message kind the relay does not act on).
    Ignored {
        /// Which kind.
        message_type: &'static str,
    },
}

/// Why a connection must end. The caller sends [`Violation::frame`] (if any) and closes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Violation {
    /// The frame is not a valid message.
    #[error("invalid frame: {0}")]
    Decode(#[from] DecodeError),
    /// A message arrived before the handshake finished.
    #[error("{0} before the handshake")]
    BeforeHandshake(&'static str),
    /// No protocol version in common.
    #[error("unsupported protocol version")]
    UnsupportedVersion,
    /// The message claims to come from another peer than the one that joined.
    #[error("senderId {claimed:?} is not the peer of this connection")]
    WrongSender {
        /// The claimed sender.
        claimed: String,
    },
    /// A message that only the other side may send.
    #[error("unexpected {0} message")]
    Unexpected(&'static str),
}

impl Violation {
    /// The `error` frame that tells the peer why the connection closes.
    pub fn frame(&self, local: &PeerId, remote: Option<&PeerId>) -> Vec<u8> {
        codec::encode(&Message::Error {
            message: self.to_string(),
            sender_id: Some(local.clone()),
            target_id: remote.cloned(),
        })
    }
}

/// The relay's side of one connection.
#[derive(Debug)]
pub struct ServerConnection {
    local: PeerId,
    metadata: PeerMetadata,
    remote: Option<PeerId>,
    max_frame: usize,
}

impl ServerConnection {
    /// A connection that will present itself as `local` with `metadata`, refusing frames over `max_frame` bytes.
    pub fn new(local: PeerId, metadata: PeerMetadata, max_frame: usize) -> Self {
        ServerConnection {
            local,
            metadata,
            remote: None,
            max_frame,
        }
    }

    /// The joined peer, once the handshake is done.
    pub fn remote(&self) -> Option<&PeerId> {
        self.remote.as_ref()
    }

    /// Handles one received frame. An `Err` means: send [`Violation::frame`] and close.
    pub fn receive(&mut self, frame: &[u8]) -> Result<Vec<Event>, Violation> {
        let message = codec::decode(frame, self.max_frame)?;
        let Some(remote) = &self.remote else {
            return match message {
                Message::Join {
                    sender_id,
                    supported_protocol_versions,
                    peer_metadata,
                } => {
                    if !supported_protocol_versions
                        .iter()
                        .any(|v| v == PROTOCOL_VERSION)
                    {
                        return Err(Violation::UnsupportedVersion);
                    }
                    let reply = Message::Peer {
                        sender_id: self.local.clone(),
                        target_id: sender_id.clone(),
                        selected_protocol_version: PROTOCOL_VERSION.to_string(),
                        peer_metadata: Some(self.metadata.clone()),
                    };
                    self.remote = Some(sender_id.clone());
                    Ok(vec![
                        Event::Send(codec::encode(&reply)),
                        Event::Joined {
                            peer: sender_id,
                            metadata: peer_metadata,
                        },
                    ])
                }
                other => Err(Violation::BeforeHandshake(other.type_name())),
            };
        };
        if let Some(sender) = message.sender_id()
            && sender != remote
        {
            return Err(Violation::WrongSender {
                claimed: sender.as_str().chars().take(64).collect(),
            });
        }
        Ok(match message {
            Message::Join { .. } => {
                // The same peer joining again on its own connection: answer again.
                let reply = Message::Peer {
                    sender_id: self.local.clone(),
                    target_id: remote.clone(),
                    selected_protocol_version: PROTOCOL_VERSION.to_string(),
                    peer_metadata: Some(self.metadata.clone()),
                };
                vec![Event::Send(codec::encode(&reply))]
            }
            Message::Peer { .. } => return Err(Violation::Unexpected("peer")),
            Message::Leave { .. } => vec![Event::Close {
                reason: "peer left".into(),
            }],
            Message::Error { message, .. } => vec![Event::Close {
                reason: format!("peer reported: {message}"),
            }],
            m @ (Message::Request { .. }
            | Message::Sync { .. }
            | Message::DocUnavailable { .. }
            | Message::Ephemeral { .. }) => {
                if target_of(&m).is_some_and(|t| *t != self.local) {
                    // Peer-to-peer routing through the relay is not offered.
                    vec![Event::Ignored {
                        message_type: m.type_name(),
                    }]
                } else {
                    vec![Event::Document(m)]
                }
            }
            m @ (Message::RemoteSubscriptionChange { .. } | Message::RemoteHeadsChanged { .. }) => {
                vec![Event::Ignored {
                    message_type: m.type_name(),
                }]
            }
        })
    }
}

/// A device's side of one connection.
#[derive(Debug)]
pub struct ClientConnection {
    local: PeerId,
    remote: Option<PeerId>,
    max_frame: usize,
}

impl ClientConnection {
    /// A connection presenting itself as `local`; returns it with the `join` frame to send first.
    pub fn start(local: PeerId, metadata: PeerMetadata, max_frame: usize) -> (Self, Vec<u8>) {
        let join = Message::Join {
            sender_id: local.clone(),
            supported_protocol_versions: vec![PROTOCOL_VERSION.to_string()],
            peer_metadata: Some(metadata),
        };
        (
            ClientConnection {
                local,
                remote: None,
                max_frame,
            },
            codec::encode(&join),
        )
    }

    /// The relay's peer id, once it answered.
    pub fn remote(&self) -> Option<&PeerId> {
        self.remote.as_ref()
    }

    /// Handles one received frame. An `Err` means: close the connection.
    pub fn receive(&mut self, frame: &[u8]) -> Result<Vec<Event>, Violation> {
        let message = codec::decode(frame, self.max_frame)?;
        if self.remote.is_none() {
            return match message {
                Message::Peer {
                    sender_id,
                    target_id,
                    selected_protocol_version,
                    peer_metadata,
                } => {
                    if selected_protocol_version != PROTOCOL_VERSION {
                        return Err(Violation::UnsupportedVersion);
                    }
                    if target_id != self.local {
                        return Err(Violation::Unexpected("peer for another client"));
                    }
                    self.remote = Some(sender_id.clone());
                    Ok(vec![Event::Joined {
                        peer: sender_id,
                        metadata: peer_metadata,
                    }])
                }
                Message::Error { message, .. } => Ok(vec![Event::Close {
                    reason: format!("relay refused: {message}"),
                }]),
                other => Err(Violation::BeforeHandshake(other.type_name())),
            };
        }
        Ok(match message {
            Message::Error { message, .. } => vec![Event::Close {
                reason: format!("relay reported: {message}"),
            }],
            Message::Leave { .. } => vec![Event::Close {
                reason: "relay left".into(),
            }],
            m @ (Message::Request { .. }
            | Message::Sync { .. }
            | Message::DocUnavailable { .. }
            | Message::Ephemeral { .. }) => {
                vec![Event::Document(m)]
            }
            m => vec![Event::Ignored {
                message_type: m.type_name(),
            }],
        })
    }
}

fn target_of(m: &Message) -> Option<&PeerId> {
    match m {
        Message::Request { target_id, .. }
        | Message::Sync { target_id, .. }
        | Message::DocUnavailable { target_id, .. }
        | Message::Ephemeral { target_id, .. } => Some(target_id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::DocumentId;
    use crate::sync::DEFAULT_MAX_FRAME;

    fn peer(s: &str) -> PeerId {
        PeerId::new(s).unwrap()
    }

    fn handshake() -> (ServerConnection, ClientConnection) {
        let mut server =
            ServerConnection::new(peer("relay"), PeerMetadata::default(), DEFAULT_MAX_FRAME);
        let (mut client, join) =
            ClientConnection::start(peer("phone"), PeerMetadata::default(), DEFAULT_MAX_FRAME);
        let events = server.receive(&join).unwrap();
        let Event::Send(peer_frame) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(
            events[1],
            Event::Joined {
                peer: peer("phone"),
                metadata: Some(PeerMetadata::default())
            }
        );
        let events = client.receive(peer_frame).unwrap();
        assert!(matches!(&events[0], Event::Joined { peer, .. } if peer.as_str() == "relay"));
        (server, client)
    }

    fn sync_from(sender: &str, target: &str) -> Vec<u8> {
        codec::encode(&Message::Sync {
            document_id: DocumentId::from([1; 16]),
            sender_id: peer(sender),
            target_id: peer(target),
            data: vec![0x42],
        })
    }

    #[test]
    fn handshake_then_document_messages() {
        let (mut server, mut client) = handshake();
        assert!(matches!(
            &server.receive(&sync_from("phone", "relay")).unwrap()[0],
            Event::Document(Message::Sync { .. })
        ));
        assert!(matches!(
            &client.receive(&sync_from("relay", "phone")).unwrap()[0],
            Event::Document(Message::Sync { .. })
        ));
        let leave = codec::encode(&Message::Leave {
            sender_id: peer("phone"),
        });
        assert!(matches!(
            &server.receive(&leave).unwrap()[0],
            Event::Close { .. }
        ));
    }

    #[test]
    fn the_relay_refuses_what_breaks_the_protocol() {
        let mut server =
            ServerConnection::new(peer("relay"), PeerMetadata::default(), DEFAULT_MAX_FRAME);
        assert_eq!(
            server.receive(&sync_from("phone", "relay")).unwrap_err(),
            Violation::BeforeHandshake("sync")
        );
        let join_v2 = codec::encode(&Message::Join {
            sender_id: peer("phone"),
            supported_protocol_versions: vec!["2".into()],
            peer_metadata: None,
        });
        let err = server.receive(&join_v2).unwrap_err();
        assert_eq!(err, Violation::UnsupportedVersion);
        let frame = err.frame(&peer("relay"), Some(&peer("phone")));
        assert!(
            matches!(codec::decode(&frame, DEFAULT_MAX_FRAME).unwrap(), Message::Error { message, .. } if message == "unsupported protocol version")
        );
        let (mut server, _) = handshake();
        assert_eq!(
            server.receive(&sync_from("laptop", "relay")).unwrap_err(),
            Violation::WrongSender {
                claimed: "laptop".into()
            }
        );
        assert!(matches!(
            server.receive(b"\xff\x00garbage").unwrap_err(),
            Violation::Decode(_)
        ));
        let peer_msg = codec::encode(&Message::Peer {
            sender_id: peer("phone"),
            target_id: peer("relay"),
            selected_protocol_version: "1".into(),
            peer_metadata: None,
        });
        assert_eq!(
            server.receive(&peer_msg).unwrap_err(),
            Violation::Unexpected("peer")
        );
        assert_eq!(
            server.receive(&sync_from("phone", "someone-else")).unwrap(),
            vec![Event::Ignored {
                message_type: "sync"
            }]
        );
    }

    #[test]
    fn the_device_side_handles_refusal() {
        let (mut client, _) =
            ClientConnection::start(peer("phone"), PeerMetadata::default(), DEFAULT_MAX_FRAME);
        let refusal = codec::encode(&Message::Error {
            message: "unsupported protocol version".into(),
            sender_id: None,
            target_id: None,
        });
        assert!(
            matches!(&client.receive(&refusal).unwrap()[0], Event::Close { reason } if reason.contains("unsupported"))
        );
        let (mut client, _) =
            ClientConnection::start(peer("phone"), PeerMetadata::default(), DEFAULT_MAX_FRAME);
        assert_eq!(
            client.receive(&sync_from("relay", "phone")).unwrap_err(),
            Violation::BeforeHandshake("sync")
        );
    }
}
