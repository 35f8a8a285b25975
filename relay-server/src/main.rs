//! `lifeos-relay`: the relay's command line.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "lifeos-relay {}: the relay server is not part of this build yet (documents schema v{}).",
        env!("CARGO_PKG_VERSION"),
        lifeos_relay::DOCUMENT_SCHEMA_VERSION
    );
    ExitCode::from(2)
}
