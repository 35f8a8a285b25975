//! The LifeOS export, in one place for every client: one versioned JSON
//! object, one RFC 4180 CSV per kind (spreadsheet formulas neutralised), or a
//! zip of every CSV, written document by document from a [`Source`] of a
//! user's documents.
//!
//! The relay serves it at `GET /api/v1/export` from its database; any other
//! [`Source`] goes through the same [`Export`], so the same documents give
//! the same bytes wherever they are exported. The wire types in [`model`] are the
//! JSON of the export and of the relay's REST API; the `openapi` feature
//! derives their OpenAPI schemas for the relay.

mod error;
mod export;
pub mod model;
pub mod source;

pub use error::{ExportError, Result, SourceError};
pub use export::{Account, Export, FORMAT_VERSION, Format, Kind, text, user_today};
pub use source::{Opened, Source};
