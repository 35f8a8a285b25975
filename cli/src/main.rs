//! `lifeos`: the command line client (issue 8). This binary fixes its place in
//! the workspace; the commands are built in issue 8.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "lifeos {}: the command line client is not part of this build yet (documents schema v{}).",
        env!("CARGO_PKG_VERSION"),
        lifeos_core::SCHEMA_VERSION
    );
    ExitCode::from(2)
}
