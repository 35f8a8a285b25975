//! The LifeOS relay (issue 4): authenticates users, stores their Automerge
//! documents durably and syncs them between devices over WebSockets.
//!
//! The crate exists so the workspace has its final shape; the server itself is
//! built in issue 4 on top of `lifeos-core`.

/// The schema version of the documents this relay build understands.
pub const DOCUMENT_SCHEMA_VERSION: u64 = lifeos_core::SCHEMA_VERSION;
