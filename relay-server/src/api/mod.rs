//! The REST API's reading side, below HTTP: a user's documents as the relay
//! loads them ([`source`]), the wire types ([`model`]) and the export
//! formats ([`export`]). The handlers are in `http/`.
//!
//! The wire types and the export are `lifeos-export`'s, shared with offline
//! clients so that they export the same bytes; they are re-exported here
//! under the paths the handlers have always used.

pub use lifeos_export as export;
pub use lifeos_export::model;
pub mod source;
