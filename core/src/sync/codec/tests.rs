use super::*;
use crate::sync::message::PROTOCOL_VERSION;

fn peer(s: &str) -> PeerId {
    PeerId::new(s).unwrap()
}

fn doc_id() -> DocumentId {
    DocumentId::from([7u8; 16])
}

fn all_messages() -> Vec<Message> {
    let storage = StorageId::new("storage-1").unwrap();
    vec![
        Message::Join {
            sender_id: peer("client"),
            supported_protocol_versions: vec!["1".into()],
            peer_metadata: Some(PeerMetadata {
                storage_id: Some(storage.clone()),
                is_ephemeral: false,
            }),
        },
        Message::Join {
            sender_id: peer("client"),
            supported_protocol_versions: vec!["1".into(), "2".into()],
            peer_metadata: None,
        },
        Message::Peer {
            sender_id: peer("server"),
            target_id: peer("client"),
            selected_protocol_version: PROTOCOL_VERSION.into(),
            peer_metadata: Some(PeerMetadata {
                storage_id: None,
                is_ephemeral: true,
            }),
        },
        Message::Leave {
            sender_id: peer("client"),
        },
        Message::Request {
            document_id: doc_id(),
            sender_id: peer("a"),
            target_id: peer("b"),
            data: vec![0x42, 1, 2],
        },
        Message::Sync {
            document_id: doc_id(),
            sender_id: peer("a"),
            target_id: peer("b"),
            data: vec![0x42],
        },
        Message::DocUnavailable {
            document_id: doc_id(),
            sender_id: peer("b"),
            target_id: peer("a"),
        },
        Message::Ephemeral {
            document_id: doc_id(),
            sender_id: peer("a"),
            target_id: peer("b"),
            count: 12,
            session_id: "session".into(),
            data: vec![0xa0],
        },
        Message::Error {
            message: "unsupported protocol version".into(),
            sender_id: Some(peer("server")),
            target_id: Some(peer("client")),
        },
        Message::Error {
            message: "bare".into(),
            sender_id: None,
            target_id: None,
        },
        Message::RemoteSubscriptionChange {
            sender_id: peer("a"),
            target_id: peer("b"),
            add: vec![storage.clone()],
            remove: vec![],
        },
        Message::RemoteHeadsChanged {
            document_id: doc_id(),
            sender_id: peer("a"),
            target_id: peer("b"),
            new_heads: [(
                storage,
                RemoteHeads {
                    heads: vec!["abc".into()],
                    timestamp: 1_764_000_000_000,
                },
            )]
            .into_iter()
            .collect(),
        },
    ]
}

#[test]
fn every_message_type_round_trips() {
    for m in all_messages() {
        let bytes = encode(&m);
        assert_eq!(
            decode(&bytes, DEFAULT_MAX_FRAME).unwrap(),
            m,
            "{}",
            m.type_name()
        );
    }
}

/// Builds a map the way a JavaScript peer might: keys in any order, numbers as
/// floats, `undefined` for absent values, extra keys, tagged typed arrays.
fn js_like(build: impl FnOnce(&mut Encoder<&mut Vec<u8>>) -> EncodeResult) -> Vec<u8> {
    let mut buf = Vec::new();
    build(&mut Encoder::new(&mut buf)).unwrap();
    buf
}

#[test]
fn tolerates_what_javascript_sends() {
    let frame = js_like(|e| {
        e.begin_map()?;
        e.str("data")?.tag(Tag::new(64))?.bytes(&[1, 2, 3])?;
        e.str("count")?.f64(3.0)?;
        e.str("sessionId")?.str("s")?;
        e.str("senderId")?.str("a")?;
        e.str("targetId")?.str("b")?;
        e.str("documentId")?.str(&doc_id().to_string())?;
        e.str("somethingNew")?
            .array(2)?
            .u8(1)?
            .map(1)?
            .str("x")?
            .null()?;
        e.str("type")?.str("ephemeral")?;
        e.str("peerMetadata")?.undefined()?;
        e.end()?;
        Ok(())
    });
    match decode(&frame, DEFAULT_MAX_FRAME).unwrap() {
        Message::Ephemeral { count, data, .. } => {
            assert_eq!(count, 3);
            assert_eq!(data, vec![1, 2, 3]);
        }
        other => panic!("{other:?}"),
    }
    // A join without supportedProtocolVersions (old clients) means version 1;
    // peerMetadata with unknown keys and undefined values is fine.
    let frame = js_like(|e| {
        e.map(3)?;
        e.str("type")?.str("join")?;
        e.str("senderId")?.str("client")?;
        e.str("peerMetadata")?
            .map(3)?
            .str("isEphemeral")?
            .bool(true)?
            .str("storageId")?
            .undefined()?
            .str("extra")?
            .u8(1)?;
        Ok(())
    });
    assert_eq!(
        decode(&frame, DEFAULT_MAX_FRAME).unwrap(),
        Message::Join {
            sender_id: peer("client"),
            supported_protocol_versions: vec!["1".into()],
            peer_metadata: Some(PeerMetadata {
                storage_id: None,
                is_ephemeral: true
            })
        }
    );
}

fn sync_frame(edit: impl FnOnce(&mut Encoder<&mut Vec<u8>>) -> EncodeResult, len: u64) -> Vec<u8> {
    js_like(|e| {
        e.map(len)?;
        e.str("type")?.str("sync")?;
        edit(e)
    })
}

#[test]
fn refuses_what_a_message_must_not_be() {
    let id = doc_id().to_string();
    let cases: Vec<(Vec<u8>, DecodeError)> = vec![
        (vec![], DecodeError::Malformed("end of input bytes".into())),
        (js_like(|e| e.array(0).map(|_| ())), DecodeError::NotAMap),
        (js_like(|e| e.map(0).map(|_| ())), DecodeError::MissingType),
        (
            js_like(|e| e.map(1)?.str("type")?.str("gossip").map(|_| ())),
            DecodeError::UnknownType("gossip".into()),
        ),
        (
            sync_frame(
                |e| {
                    e.str("senderId")?
                        .str("a")?
                        .str("targetId")?
                        .str("b")?
                        .str("data")?
                        .bytes(&[1])
                        .map(|_| ())
                },
                4,
            ),
            DecodeError::MissingField {
                message_type: "sync",
                field: "documentId",
            },
        ),
        (
            sync_frame(
                |e| {
                    e.str("documentId")?
                        .str(&id)?
                        .str("senderId")?
                        .str("a")?
                        .str("targetId")?
                        .str("b")?
                        .str("data")?
                        .bytes(&[])
                        .map(|_| ())
                },
                5,
            ),
            DecodeError::EmptyData {
                message_type: "sync",
            },
        ),
        (
            sync_frame(
                |e| {
                    e.str("documentId")?
                        .str(&id)?
                        .str("senderId")?
                        .u8(5)?
                        .str("targetId")?
                        .str("b")?
                        .str("data")?
                        .bytes(&[1])
                        .map(|_| ())
                },
                5,
            ),
            DecodeError::WrongType {
                field: "senderId",
                expected: "a string",
            },
        ),
        (
            sync_frame(
                |e| {
                    e.str("documentId")?
                        .str("not-an-id")?
                        .str("senderId")?
                        .str("a")?
                        .str("targetId")?
                        .str("b")?
                        .str("data")?
                        .bytes(&[1])
                        .map(|_| ())
                },
                5,
            ),
            DecodeError::BadDocumentId("not-an-id".into()),
        ),
        (
            sync_frame(
                |e| {
                    e.str("documentId")?
                        .str(&id)?
                        .str("senderId")?
                        .str("")?
                        .str("targetId")?
                        .str("b")?
                        .str("data")?
                        .bytes(&[1])
                        .map(|_| ())
                },
                5,
            ),
            DecodeError::WrongType {
                field: "senderId",
                expected: "a non-empty string of at most 512 bytes",
            },
        ),
        (
            sync_frame(
                |e| {
                    e.str("documentId")?
                        .str(&id)?
                        .str("senderId")?
                        .str("a")?
                        .str("targetId")?
                        .str("b")?
                        .str("data")?
                        .str("text")
                        .map(|_| ())
                },
                5,
            ),
            DecodeError::WrongType {
                field: "data",
                expected: "bytes",
            },
        ),
    ];
    for (frame, expected) in cases {
        assert_eq!(
            decode(&frame, DEFAULT_MAX_FRAME).unwrap_err(),
            expected,
            "{frame:02x?}"
        );
    }
    let mut trailing = encode(&all_messages()[3]);
    trailing.push(0);
    assert_eq!(
        decode(&trailing, DEFAULT_MAX_FRAME).unwrap_err(),
        DecodeError::TrailingBytes
    );
    let big = encode(&Message::Sync {
        document_id: doc_id(),
        sender_id: peer("a"),
        target_id: peer("b"),
        data: vec![1; 2000],
    });
    assert_eq!(
        decode(&big, 1000).unwrap_err(),
        DecodeError::TooLarge {
            size: big.len(),
            limit: 1000
        }
    );
    let negative = js_like(|e| {
        e.map(7)?
            .str("type")?
            .str("ephemeral")?
            .str("documentId")?
            .str(&id)?
            .str("senderId")?
            .str("a")?
            .str("targetId")?
            .str("b")?;
        e.str("count")?
            .f64(-1.0)?
            .str("sessionId")?
            .str("s")?
            .str("data")?
            .bytes(&[1])?;
        Ok(())
    });
    assert_eq!(
        decode(&negative, DEFAULT_MAX_FRAME).unwrap_err(),
        DecodeError::WrongType {
            field: "count",
            expected: "a non-negative whole number"
        }
    );
}

#[test]
fn bounded_lists_cannot_amplify_a_small_frame() {
    let frame = js_like(|e| {
        e.map(3)?
            .str("type")?
            .str("join")?
            .str("senderId")?
            .str("c")?;
        e.str("supportedProtocolVersions")?.array(5000)?;
        for _ in 0..5000 {
            e.str("1")?;
        }
        Ok(())
    });
    assert!(matches!(
        decode(&frame, DEFAULT_MAX_FRAME),
        Err(DecodeError::WrongType {
            field: "supportedProtocolVersions",
            ..
        })
    ));
    // A map that claims billions of entries ends early instead of allocating.
    let liar = [0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    assert!(decode(&liar, DEFAULT_MAX_FRAME).is_err());
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn frames_from_cbor_x_decode() {
    // Captured with Node from cbor-x 1.6.9 configured as automerge-repo's
    // encoder (`new Encoder({ tagUint8Array: false, useRecords: false })`):
    // {type: "doc-unavailable", senderId: "server", targetId: "client",
    //  documentId: "1Bhh3pU9gLXZiNDL6PEa1Gs9fh"}. Note the 16-bit map length
    // header (b9 0004) where a minimal encoder writes a4.
    let frame = hex(
        "b9000464747970656f646f632d756e617661696c61626c656873656e64657249646673657276657268746172676574496466636c69656e746a646f63756d656e744964781a3142686833705539674c585a694e444c36504561314773396668",
    );
    assert_eq!(
        decode(&frame, DEFAULT_MAX_FRAME).unwrap(),
        Message::DocUnavailable {
            document_id: DocumentId::from(core::array::from_fn::<u8, 16, _>(|i| i as u8)),
            sender_id: peer("server"),
            target_id: peer("client"),
        }
    );
    // cbor-x writes integers above 32 bits as float64: a remote-heads timestamp
    // of 1764000000000 arrives as fb 4279ab697e800000.
    let storage = js_like(|e| {
        e.map(5)?
            .str("type")?
            .str("remote-heads-changed")?
            .str("documentId")?
            .str(&doc_id().to_string())?;
        e.str("senderId")?.str("a")?.str("targetId")?.str("b")?;
        e.str("newHeads")?
            .map(1)?
            .str("storage-1")?
            .map(2)?
            .str("heads")?
            .array(0)?
            .str("timestamp")?;
        Ok(())
    });
    let mut frame = storage;
    frame.extend_from_slice(&hex("fb4279ab697e800000"));
    match decode(&frame, DEFAULT_MAX_FRAME).unwrap() {
        Message::RemoteHeadsChanged { new_heads, .. } => {
            assert_eq!(
                new_heads.values().next().unwrap().timestamp,
                1_764_000_000_000
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn half_floats_convert() {
    assert_eq!(half_to_f64(0x3c00), 1.0);
    assert_eq!(half_to_f64(0x4900), 10.0);
    assert_eq!(half_to_f64(0xc000), -2.0);
    assert_eq!(half_to_f64(0x0000), 0.0);
    assert!(half_to_f64(0x7c00).is_infinite());
    let frame = js_like(|e| {
        e.map(7)?
            .str("type")?
            .str("ephemeral")?
            .str("documentId")?
            .str(&doc_id().to_string())?
            .str("senderId")?
            .str("a")?
            .str("targetId")?
            .str("b")?;
        e.str("count")?;
        Ok(())
    });
    let mut frame = frame;
    frame.extend_from_slice(&[0xf9, 0x49, 0x00]); // count: 10.0 as a half float
    let rest = js_like(|e| {
        e.str("sessionId")?
            .str("s")?
            .str("data")?
            .bytes(&[1])
            .map(|_| ())
    });
    frame.extend_from_slice(&rest);
    assert!(matches!(
        decode(&frame, DEFAULT_MAX_FRAME).unwrap(),
        Message::Ephemeral { count: 10, .. }
    ));
}

#[test]
fn large_whole_numbers_go_out_as_javascript_numbers() {
    // A millisecond timestamp needs 41 bits: cbor-x would read a CBOR uint64
    // as a BigInt, so it is written as a float64, as cbor-x does itself.
    let m = Message::RemoteHeadsChanged {
        document_id: doc_id(),
        sender_id: peer("a"),
        target_id: peer("b"),
        new_heads: [(
            StorageId::new("s").unwrap(),
            RemoteHeads {
                heads: vec![],
                timestamp: 1_764_000_000_000,
            },
        )]
        .into_iter()
        .collect(),
    };
    let bytes = encode(&m);
    let float = hex("fb4279ab697e800000");
    assert!(
        bytes.windows(float.len()).any(|w| w == float.as_slice()),
        "{bytes:02x?}"
    );
    assert_eq!(decode(&bytes, DEFAULT_MAX_FRAME).unwrap(), m);
    // Small counts stay integers; values past 2^53 stay exact as uint64.
    let small = Message::Ephemeral {
        document_id: doc_id(),
        sender_id: peer("a"),
        target_id: peer("b"),
        count: 7,
        session_id: "s".into(),
        data: vec![1],
    };
    assert!(encode(&small).windows(6).any(|w| w == b"count\x07"));
    let huge = Message::Ephemeral {
        document_id: doc_id(),
        sender_id: peer("a"),
        target_id: peer("b"),
        count: u64::MAX,
        session_id: "s".into(),
        data: vec![1],
    };
    assert_eq!(decode(&encode(&huge), DEFAULT_MAX_FRAME).unwrap(), huge);
}
