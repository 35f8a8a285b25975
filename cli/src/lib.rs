//! `lifeos`, the command line client: its parts as a library, so that tests
//! (and the binary) use the same code. See ARCHITECTURE.md, "The command
//! line client".

pub mod commands;
pub mod import;
pub mod remote;
pub mod replica;
pub mod sync;
pub mod workspace;

use lifeos_core::time::Timestamp;

/// Now, from the system clock.
pub fn now() -> Timestamp {
    Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
    )
}
