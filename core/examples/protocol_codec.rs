//! The frame codec over standard input and output, for the interop test
//! against automerge-repo's own encoder (interop/automerge-repo/codec.test.mjs).
//!
//! Each input line is a hex frame. Each output line is JSON: either
//! `{"ok":true,"type":...,"reencoded":"<hex of our encoding>"}` or
//! `{"ok":false,"error":"..."}`.

use std::io::{BufRead, Write};

use lifeos_core::sync::{DEFAULT_MAX_FRAME, decode, encode};

fn main() {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let frame: Option<Vec<u8>> = (0..line.len())
            .step_by(2)
            .map(|i| {
                line.get(i..i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect();
        let answer = match frame.map(|f| decode(&f, DEFAULT_MAX_FRAME)) {
            Some(Ok(message)) => {
                let hex: String = encode(&message)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                serde_json::json!({ "ok": true, "type": message.type_name(), "reencoded": hex })
            }
            Some(Err(e)) => serde_json::json!({ "ok": false, "error": e.to_string() }),
            None => serde_json::json!({ "ok": false, "error": "not hex" }),
        };
        writeln!(out, "{answer}")
            .and_then(|_| out.flush())
            .expect("stdout closed");
    }
}
