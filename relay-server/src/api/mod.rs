//! The REST API's reading side, below HTTP: a user's documents as the relay
//! loads them ([`source`]), the wire types ([`model`]) and the export
//! formats ([`export`]). The handlers are in `http/`.

pub mod export;
pub mod model;
pub mod source;
