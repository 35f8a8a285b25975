//! CBOR encoding and decoding of protocol [`Message`]s.
//!
//! Decoding is tolerant of what JavaScript peers send (whole numbers encoded
//! as float64, `undefined` or `null` for absent fields, byte strings tagged as
//! typed arrays, unknown extra keys) and strict about what a message must be:
//! a missing required field, a value of the wrong type, empty `data`, an
//! oversized frame or trailing bytes give a typed [`DecodeError`], never a
//! panic. Frames are bounded before anything is parsed, and every list inside
//! a message is bounded too, so a small frame cannot make a large allocation.

use std::collections::BTreeMap;

use minicbor::data::{Tag, Type};
use minicbor::{Decoder, Encoder};

use super::message::{Message, PeerId, PeerMetadata, RemoteHeads, StorageId, valid_id};
use crate::id::DocumentId;

/// Largest frame accepted by default: 16 MiB.
pub const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// Most entries accepted in any list or map inside a message.
const MAX_ENTRIES: u64 = 1024;

/// Longest error text accepted, in bytes.
const MAX_ERROR_TEXT: usize = 64 * 1024;

/// The CBOR tag cbor-x puts on a `Uint8Array` when not told otherwise.
const TAG_UINT8_ARRAY: u64 = 64;

/// Why a frame is not a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame is larger than the configured limit.
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The frame's size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The bytes are not well-formed CBOR (or end too early).
    #[error("malformed CBOR: {0}")]
    Malformed(String),
    /// The frame is CBOR but not a map.
    #[error("a message must be a CBOR map")]
    NotAMap,
    /// More bytes follow the message's map.
    #[error("trailing bytes after the message")]
    TrailingBytes,
    /// There is no `type`.
    #[error("message has no type")]
    MissingType,
    /// The `type` is not one of the protocol's.
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    /// A field the message type requires is absent.
    #[error("{message_type} message has no {field}")]
    MissingField {
        /// The message's type.
        message_type: &'static str,
        /// The missing field.
        field: &'static str,
    },
    /// A field holds a value of the wrong type or out of range.
    #[error("{field} should be {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// `data` is empty, which no sync or request message may be.
    #[error("{message_type} message has empty data")]
    EmptyData {
        /// The message's type.
        message_type: &'static str,
    },
    /// `documentId` is not bs58check of 16 bytes.
    #[error("documentId {0:?} is not an automerge-repo document id")]
    BadDocumentId(String),
}

impl From<minicbor::decode::Error> for DecodeError {
    fn from(e: minicbor::decode::Error) -> Self {
        DecodeError::Malformed(e.to_string())
    }
}

/// The fields a message may carry, gathered before the message is built.
#[derive(Default)]
struct Fields {
    kind: Option<String>,
    sender_id: Option<PeerId>,
    target_id: Option<PeerId>,
    document_id: Option<DocumentId>,
    data: Option<Vec<u8>>,
    supported_protocol_versions: Option<Vec<String>>,
    selected_protocol_version: Option<String>,
    peer_metadata: Option<PeerMetadata>,
    count: Option<u64>,
    session_id: Option<String>,
    message: Option<String>,
    add: Option<Vec<StorageId>>,
    remove: Option<Vec<StorageId>>,
    new_heads: Option<BTreeMap<StorageId, RemoteHeads>>,
}

/// Decodes one frame, refusing frames over `max_frame` bytes.
pub fn decode(frame: &[u8], max_frame: usize) -> Result<Message, DecodeError> {
    if frame.len() > max_frame {
        return Err(DecodeError::TooLarge {
            size: frame.len(),
            limit: max_frame,
        });
    }
    let mut d = Decoder::new(frame);
    if !matches!(d.datatype()?, Type::Map | Type::MapIndef) {
        return Err(DecodeError::NotAMap);
    }
    let mut f = Fields::default();
    for_each_entry(&mut d, |d, key| {
        match key {
            "type" => f.kind = Some(text(d, "type")?.to_string()),
            "senderId" => f.sender_id = Some(peer_id(d, "senderId")?),
            "targetId" => f.target_id = Some(peer_id(d, "targetId")?),
            "documentId" => {
                let s = text(d, "documentId")?;
                f.document_id = Some(
                    DocumentId::parse(s)
                        .map_err(|_| DecodeError::BadDocumentId(s.chars().take(64).collect()))?,
                );
            }
            "data" => f.data = Some(bytes(d, "data")?.to_vec()),
            "supportedProtocolVersions" => {
                let mut versions = Vec::new();
                for_each_item(d, "supportedProtocolVersions", |d| {
                    versions.push(bounded_text(d, "supportedProtocolVersions")?.to_string());
                    Ok(())
                })?;
                f.supported_protocol_versions = Some(versions);
            }
            "selectedProtocolVersion" => {
                f.selected_protocol_version =
                    Some(bounded_text(d, "selectedProtocolVersion")?.to_string())
            }
            "peerMetadata" => f.peer_metadata = Some(peer_metadata(d)?),
            "count" => f.count = Some(unsigned(d, "count")?),
            "sessionId" => f.session_id = Some(bounded_text(d, "sessionId")?.to_string()),
            "message" => {
                let m = text(d, "message")?;
                f.message = Some(m.chars().take(MAX_ERROR_TEXT).collect());
            }
            "add" => f.add = Some(storage_ids(d, "add")?),
            "remove" => f.remove = Some(storage_ids(d, "remove")?),
            "newHeads" => f.new_heads = Some(new_heads(d)?),
            _ => d.skip()?,
        }
        Ok(())
    })?;
    if d.position() != frame.len() {
        return Err(DecodeError::TrailingBytes);
    }
    build(f)
}

fn build(f: Fields) -> Result<Message, DecodeError> {
    let kind = f.kind.ok_or(DecodeError::MissingType)?;
    let type_name: &'static str = match kind.as_str() {
        "join" => "join",
        "peer" => "peer",
        "leave" => "leave",
        "request" => "request",
        "sync" => "sync",
        "doc-unavailable" => "doc-unavailable",
        "ephemeral" => "ephemeral",
        "error" => "error",
        "remote-subscription-change" => "remote-subscription-change",
        "remote-heads-changed" => "remote-heads-changed",
        _ => return Err(DecodeError::UnknownType(kind.chars().take(64).collect())),
    };
    let missing = |field| DecodeError::MissingField {
        message_type: type_name,
        field,
    };
    let data = |d: Option<Vec<u8>>| -> Result<Vec<u8>, DecodeError> {
        let d = d.ok_or(missing("data"))?;
        if d.is_empty() {
            return Err(DecodeError::EmptyData {
                message_type: type_name,
            });
        }
        Ok(d)
    };
    Ok(match type_name {
        "join" => Message::Join {
            sender_id: f.sender_id.ok_or(missing("senderId"))?,
            supported_protocol_versions: f
                .supported_protocol_versions
                .unwrap_or_else(|| vec![super::PROTOCOL_VERSION.to_string()]),
            peer_metadata: f.peer_metadata,
        },
        "peer" => Message::Peer {
            sender_id: f.sender_id.ok_or(missing("senderId"))?,
            target_id: f.target_id.ok_or(missing("targetId"))?,
            selected_protocol_version: f
                .selected_protocol_version
                .ok_or(missing("selectedProtocolVersion"))?,
            peer_metadata: f.peer_metadata,
        },
        "leave" => Message::Leave {
            sender_id: f.sender_id.ok_or(missing("senderId"))?,
        },
        "request" => Message::Request {
            document_id: f.document_id.ok_or(missing("documentId"))?,
            sender_id: f.sender_id.ok_or(missing("senderId"))?,
            target_id: f.target_id.ok_or(missing("targetId"))?,
            data: data(f.data)?,
        },
        "sync" => Message::Sync {
            document_id: f.document_id.ok_or(missing("documentId"))?,
            sender_id: f.sender_id.ok_or(missing("senderId"))?,
            target_id: f.target_id.ok_or(missing("targetId"))?,
            data: data(f.data)?,
        },
        "doc-unavailable" => Message::DocUnavailable {
            document_id: f.document_id.ok_or(missing("documentId"))?,
            sender_id: f.sender_id.ok_or(missing("senderId"))?,
            target_id: f.target_id.ok_or(missing("targetId"))?,
        },
        "ephemeral" => Message::Ephemeral {
            document_id: f.document_id.ok_or(missing("documentId"))?,
            sender_id: f.sender_id.ok_or(missing("senderId"))?,
            target_id: f.target_id.ok_or(missing("targetId"))?,
            count: f.count.ok_or(missing("count"))?,
            session_id: f.session_id.ok_or(missing("sessionId"))?,
            data: f.data.ok_or(missing("data"))?,
        },
        "error" => Message::Error {
            message: f.message.ok_or(missing("message"))?,
            sender_id: f.sender_id,
            target_id: f.target_id,
        },
        "remote-subscription-change" => Message::RemoteSubscriptionChange {
            sender_id: f.sender_id.ok_or(missing("senderId"))?,
            target_id: f.target_id.ok_or(missing("targetId"))?,
            add: f.add.unwrap_or_default(),
            remove: f.remove.unwrap_or_default(),
        },
        _ => Message::RemoteHeadsChanged {
            document_id: f.document_id.ok_or(missing("documentId"))?,
            sender_id: f.sender_id.ok_or(missing("senderId"))?,
            target_id: f.target_id.ok_or(missing("targetId"))?,
            new_heads: f.new_heads.ok_or(missing("newHeads"))?,
        },
    })
}

/// Calls `each` with the decoder positioned on the value of every string key
/// of the map at the decoder; entries whose value is `null`/`undefined`, or
/// whose key is not a string, are skipped.
fn for_each_entry(
    d: &mut Decoder<'_>,
    mut each: impl FnMut(&mut Decoder<'_>, &str) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let len = d.map()?;
    let mut seen = 0u64;
    loop {
        match len {
            Some(n) if seen >= n => break,
            None if d.datatype()? == Type::Break => {
                // The break byte that ends an indefinite-length map.
                d.set_position(d.position() + 1);
                break;
            }
            _ => {}
        }
        seen += 1;
        if seen > MAX_ENTRIES.saturating_mul(4) {
            return Err(DecodeError::WrongType {
                field: "message",
                expected: "a map of at most 4096 entries",
            });
        }
        if d.datatype()? != Type::String {
            d.skip()?;
            d.skip()?;
            continue;
        }
        let key = d.str()?;
        if matches!(d.datatype()?, Type::Null | Type::Undefined) {
            d.skip()?;
            continue;
        }
        each(d, key)?;
    }
    Ok(())
}

/// Calls `each` for every item of the array at the decoder (at most [`MAX_ENTRIES`]).
fn for_each_item(
    d: &mut Decoder<'_>,
    field: &'static str,
    mut each: impl FnMut(&mut Decoder<'_>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let too_many = DecodeError::WrongType {
        field,
        expected: "a list of at most 1024 items",
    };
    match d.datatype()? {
        Type::Array => {
            let n = d.array()?.unwrap_or(0);
            if n > MAX_ENTRIES {
                return Err(too_many);
            }
            for _ in 0..n {
                each(d)?;
            }
        }
        Type::ArrayIndef => {
            d.array()?;
            let mut n = 0;
            while d.datatype()? != Type::Break {
                n += 1;
                if n > MAX_ENTRIES {
                    return Err(too_many);
                }
                each(d)?;
            }
            d.set_position(d.position() + 1);
        }
        _ => {
            return Err(DecodeError::WrongType {
                field,
                expected: "a list",
            });
        }
    }
    Ok(())
}

fn text<'b>(d: &mut Decoder<'b>, field: &'static str) -> Result<&'b str, DecodeError> {
    if d.datatype()? != Type::String {
        return Err(DecodeError::WrongType {
            field,
            expected: "a string",
        });
    }
    Ok(d.str()?)
}

fn bounded_text<'b>(d: &mut Decoder<'b>, field: &'static str) -> Result<&'b str, DecodeError> {
    let s = text(d, field)?;
    if !valid_id(s) {
        return Err(DecodeError::WrongType {
            field,
            expected: "a non-empty string of at most 512 bytes",
        });
    }
    Ok(s)
}

fn peer_id(d: &mut Decoder<'_>, field: &'static str) -> Result<PeerId, DecodeError> {
    let s = bounded_text(d, field)?;
    PeerId::new(s).ok_or(DecodeError::WrongType {
        field,
        expected: "a peer id",
    })
}

fn storage_ids(d: &mut Decoder<'_>, field: &'static str) -> Result<Vec<StorageId>, DecodeError> {
    let mut ids = Vec::new();
    for_each_item(d, field, |d| {
        ids.push(
            StorageId::new(bounded_text(d, field)?).ok_or(DecodeError::WrongType {
                field,
                expected: "a storage id",
            })?,
        );
        Ok(())
    })?;
    Ok(ids)
}

fn bytes<'b>(d: &mut Decoder<'b>, field: &'static str) -> Result<&'b [u8], DecodeError> {
    if d.datatype()? == Type::Tag {
        // cbor-x tags a Uint8Array unless told not to; accept that form too.
        if d.tag()? != Tag::new(TAG_UINT8_ARRAY) {
            return Err(DecodeError::WrongType {
                field,
                expected: "bytes",
            });
        }
    }
    if d.datatype()? != Type::Bytes {
        return Err(DecodeError::WrongType {
            field,
            expected: "bytes",
        });
    }
    Ok(d.bytes()?)
}

/// A non-negative whole number, also when JS encoded it as a float.
fn unsigned(d: &mut Decoder<'_>, field: &'static str) -> Result<u64, DecodeError> {
    let bad = DecodeError::WrongType {
        field,
        expected: "a non-negative whole number",
    };
    match d.datatype()? {
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => Ok(d.u64()?),
        Type::I8 | Type::I16 | Type::I32 | Type::I64 | Type::Int => {
            let i = i128::from(d.int()?);
            u64::try_from(i).map_err(|_| bad)
        }
        Type::F16 | Type::F32 | Type::F64 => {
            let f = match d.datatype()? {
                Type::F16 => {
                    let at = d.position();
                    let raw = d
                        .input()
                        .get(at + 1..at + 3)
                        .ok_or_else(|| DecodeError::Malformed("truncated half float".into()))?;
                    d.set_position(at + 3);
                    half_to_f64(u16::from_be_bytes([raw[0], raw[1]]))
                }
                Type::F32 => f64::from(d.f32()?),
                _ => d.f64()?,
            };
            // 2^53: beyond it a float no longer holds every whole number.
            if f.is_finite() && f >= 0.0 && f.fract() == 0.0 && f <= 9_007_199_254_740_992.0 {
                Ok(f as u64)
            } else {
                Err(bad)
            }
        }
        _ => Err(bad),
    }
}

/// IEEE 754 half precision to double, for the rare peer that sends one.
fn half_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((h >> 10) & 0x1f);
    let mantissa = f64::from(h & 0x3ff);
    sign * match exponent {
        0 => mantissa * 2f64.powi(-24),
        31 if mantissa == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + mantissa / 1024.0) * 2f64.powi(e - 15),
    }
}

fn peer_metadata(d: &mut Decoder<'_>) -> Result<PeerMetadata, DecodeError> {
    if !matches!(d.datatype()?, Type::Map | Type::MapIndef) {
        return Err(DecodeError::WrongType {
            field: "peerMetadata",
            expected: "a map",
        });
    }
    let mut m = PeerMetadata::default();
    for_each_entry(d, |d, key| {
        match key {
            "storageId" => {
                m.storage_id = Some(
                    StorageId::new(bounded_text(d, "peerMetadata.storageId")?).ok_or(
                        DecodeError::WrongType {
                            field: "peerMetadata.storageId",
                            expected: "a storage id",
                        },
                    )?,
                )
            }
            "isEphemeral" => {
                if d.datatype()? != Type::Bool {
                    return Err(DecodeError::WrongType {
                        field: "peerMetadata.isEphemeral",
                        expected: "a boolean",
                    });
                }
                m.is_ephemeral = d.bool()?;
            }
            _ => d.skip()?,
        }
        Ok(())
    })?;
    Ok(m)
}

fn new_heads(d: &mut Decoder<'_>) -> Result<BTreeMap<StorageId, RemoteHeads>, DecodeError> {
    if !matches!(d.datatype()?, Type::Map | Type::MapIndef) {
        return Err(DecodeError::WrongType {
            field: "newHeads",
            expected: "a map",
        });
    }
    let mut out = BTreeMap::new();
    let mut entries = 0u64;
    for_each_entry(d, |d, key| {
        entries += 1;
        if entries > MAX_ENTRIES {
            return Err(DecodeError::WrongType {
                field: "newHeads",
                expected: "at most 1024 storage ids",
            });
        }
        let storage = StorageId::new(key).ok_or(DecodeError::WrongType {
            field: "newHeads",
            expected: "storage ids as keys",
        })?;
        if !matches!(d.datatype()?, Type::Map | Type::MapIndef) {
            return Err(DecodeError::WrongType {
                field: "newHeads",
                expected: "a map per storage id",
            });
        }
        let mut heads = None;
        let mut timestamp = None;
        for_each_entry(d, |d, key| {
            match key {
                "heads" => {
                    let mut list = Vec::new();
                    for_each_item(d, "newHeads.heads", |d| {
                        list.push(bounded_text(d, "newHeads.heads")?.to_string());
                        Ok(())
                    })?;
                    heads = Some(list);
                }
                "timestamp" => timestamp = Some(unsigned(d, "newHeads.timestamp")?),
                _ => d.skip()?,
            }
            Ok(())
        })?;
        let heads = heads.ok_or(DecodeError::MissingField {
            message_type: "remote-heads-changed",
            field: "newHeads.heads",
        })?;
        let timestamp = timestamp.ok_or(DecodeError::MissingField {
            message_type: "remote-heads-changed",
            field: "newHeads.timestamp",
        })?;
        out.insert(storage, RemoteHeads { heads, timestamp });
        Ok(())
    })?;
    Ok(out)
}

/// Encodes `message` as one CBOR map, as `@automerge/automerge-repo` does
/// (byte strings untagged, whole numbers as integers).
pub fn encode(message: &Message) -> Vec<u8> {
    let mut buf = Vec::new();
    // Writing to a Vec cannot fail.
    write(&mut Encoder::new(&mut buf), message).expect("encoding into a Vec is infallible");
    buf
}

type EncodeResult = Result<(), minicbor::encode::Error<std::convert::Infallible>>;

fn write(e: &mut Encoder<&mut Vec<u8>>, m: &Message) -> EncodeResult {
    match m {
        Message::Join {
            sender_id,
            supported_protocol_versions,
            peer_metadata,
        } => {
            e.map(3 + u64::from(peer_metadata.is_some()))?;
            e.str("type")?.str("join")?;
            e.str("senderId")?.str(sender_id.as_str())?;
            e.str("supportedProtocolVersions")?
                .array(supported_protocol_versions.len() as u64)?;
            for v in supported_protocol_versions {
                e.str(v)?;
            }
            if let Some(pm) = peer_metadata {
                write_metadata(e, pm)?;
            }
        }
        Message::Peer {
            sender_id,
            target_id,
            selected_protocol_version,
            peer_metadata,
        } => {
            e.map(4 + u64::from(peer_metadata.is_some()))?;
            e.str("type")?.str("peer")?;
            e.str("senderId")?.str(sender_id.as_str())?;
            e.str("targetId")?.str(target_id.as_str())?;
            e.str("selectedProtocolVersion")?
                .str(selected_protocol_version)?;
            if let Some(pm) = peer_metadata {
                write_metadata(e, pm)?;
            }
        }
        Message::Leave { sender_id } => {
            e.map(2)?;
            e.str("type")?.str("leave")?;
            e.str("senderId")?.str(sender_id.as_str())?;
        }
        Message::Request {
            document_id,
            sender_id,
            target_id,
            data,
        }
        | Message::Sync {
            document_id,
            sender_id,
            target_id,
            data,
        } => {
            e.map(5)?;
            e.str("type")?.str(m.type_name())?;
            e.str("documentId")?.str(&document_id.to_string())?;
            e.str("senderId")?.str(sender_id.as_str())?;
            e.str("targetId")?.str(target_id.as_str())?;
            e.str("data")?.bytes(data)?;
        }
        Message::DocUnavailable {
            document_id,
            sender_id,
            target_id,
        } => {
            e.map(4)?;
            e.str("type")?.str("doc-unavailable")?;
            e.str("documentId")?.str(&document_id.to_string())?;
            e.str("senderId")?.str(sender_id.as_str())?;
            e.str("targetId")?.str(target_id.as_str())?;
        }
        Message::Ephemeral {
            document_id,
            sender_id,
            target_id,
            count,
            session_id,
            data,
        } => {
            e.map(7)?;
            e.str("type")?.str("ephemeral")?;
            e.str("documentId")?.str(&document_id.to_string())?;
            e.str("senderId")?.str(sender_id.as_str())?;
            e.str("targetId")?.str(target_id.as_str())?;
            e.str("count")?;
            js_number(e, *count)?;
            e.str("sessionId")?.str(session_id)?;
            e.str("data")?.bytes(data)?;
        }
        Message::Error {
            message,
            sender_id,
            target_id,
        } => {
            e.map(2 + u64::from(sender_id.is_some()) + u64::from(target_id.is_some()))?;
            e.str("type")?.str("error")?;
            e.str("message")?.str(message)?;
            if let Some(s) = sender_id {
                e.str("senderId")?.str(s.as_str())?;
            }
            if let Some(t) = target_id {
                e.str("targetId")?.str(t.as_str())?;
            }
        }
        Message::RemoteSubscriptionChange {
            sender_id,
            target_id,
            add,
            remove,
        } => {
            e.map(5)?;
            e.str("type")?.str("remote-subscription-change")?;
            e.str("senderId")?.str(sender_id.as_str())?;
            e.str("targetId")?.str(target_id.as_str())?;
            e.str("add")?.array(add.len() as u64)?;
            for s in add {
                e.str(s.as_str())?;
            }
            e.str("remove")?.array(remove.len() as u64)?;
            for s in remove {
                e.str(s.as_str())?;
            }
        }
        Message::RemoteHeadsChanged {
            document_id,
            sender_id,
            target_id,
            new_heads,
        } => {
            e.map(5)?;
            e.str("type")?.str("remote-heads-changed")?;
            e.str("documentId")?.str(&document_id.to_string())?;
            e.str("senderId")?.str(sender_id.as_str())?;
            e.str("targetId")?.str(target_id.as_str())?;
            e.str("newHeads")?.map(new_heads.len() as u64)?;
            for (storage, h) in new_heads {
                e.str(storage.as_str())?.map(2)?;
                e.str("heads")?.array(h.heads.len() as u64)?;
                for head in &h.heads {
                    e.str(head)?;
                }
                e.str("timestamp")?;
                js_number(e, h.timestamp)?;
            }
        }
    }
    Ok(())
}

/// Writes a whole number so that JavaScript reads it as a Number: cbor-x
/// decodes a 64-bit CBOR integer as a BigInt, so values that do not fit in
/// 32 bits go out as float64 (exact up to 2^53), as cbor-x writes them itself.
fn js_number(e: &mut Encoder<&mut Vec<u8>>, n: u64) -> EncodeResult {
    const EXACT_IN_F64: u64 = 1 << 53;
    if n <= u64::from(u32::MAX) {
        e.u32(n as u32)?;
    } else if n <= EXACT_IN_F64 {
        e.f64(n as f64)?;
    } else {
        e.u64(n)?;
    }
    Ok(())
}

fn write_metadata(e: &mut Encoder<&mut Vec<u8>>, pm: &PeerMetadata) -> EncodeResult {
    e.str("peerMetadata")?
        .map(1 + u64::from(pm.storage_id.is_some()))?;
    if let Some(s) = &pm.storage_id {
        e.str("storageId")?.str(s.as_str())?;
    }
    e.str("isEphemeral")?.bool(pm.is_ephemeral)?;
    Ok(())
}

#[cfg(test)]
mod tests;
