//! Arbitrary bytes into the frame decoder: it must never panic, and whatever
//! it accepts must survive an encode/decode round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeos_core::sync::{decode, encode};

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = decode(data, 1 << 20) {
        let again = decode(&encode(&message), 1 << 20).expect("our own encoding decodes");
        assert_eq!(again, message);
    }
});
