//! `lifeos`, the command line client (issue 8, being built): its parts as a
//! library, so that tests (and the binary) use the same code. See
//! ARCHITECTURE.md, "The command line client".

pub mod commands;
pub mod import;
pub mod replica;
pub mod workspace;
