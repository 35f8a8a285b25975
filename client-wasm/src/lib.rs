//! The LifeOS web app (issue 5): a yew PWA that keeps the user's documents in
//! IndexedDB and syncs them with the relay. This crate fixes its place in the
//! workspace; the app is built in issue 5.

/// The schema version of the documents this client build writes.
pub const DOCUMENT_SCHEMA_VERSION: u64 = lifeos_core::SCHEMA_VERSION;
