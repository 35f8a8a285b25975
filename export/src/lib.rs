//! The LifeOS export, in one place for every client: one versioned JSON
//! object, one RFC 4180 CSV per kind (spreadsheet formulas neutralised), or a
//! zip of every CSV, written document by document from a [`Source`] of a
//! user's documents.
//!
//! The relay serves it at `GET /api/v1/export` from its database; a device
//! that holds the documents (the CLI) writes it from [`Documents`] in memory.
//! Both go through the same [`Export`], so the same documents give the same
//! bytes wherever they are exported. The wire types in [`model`] are the
//! JSON of the export and of the relay's REST API; the `openapi` feature
//! derives their OpenAPI schemas for the relay.
//!
//! ```
//! use lifeos_core::tasks::NewTask;
//! use lifeos_core::time::Timestamp;
//! use lifeos_core::{DocumentId, UserData};
//! use lifeos_export::{Account, Documents, Export, Format, Kind};
//!
//! let now = Timestamp::from_millis(1_795_680_000_000); // 2026-11-26T08:00:00Z
//! let mut data = UserData::create(DocumentId::generate(), now)?;
//! data.add_task(now, NewTask { title: "Buy milk".into(), ..NewTask::default() })?;
//!
//! let documents = Documents::from_user_data(&mut data);
//! let account = Account { id: "0193b1a8-0000-7000-8000-000000000001".into(), email: "ada@example.com".into() };
//! let export = Export::prepare(&documents, account, now)?;
//!
//! let mut json = Vec::new();
//! export.write(Format::Json, &mut json)?;
//! let v: serde_json::Value = serde_json::from_slice(&json)?;
//! assert_eq!(v["tasks"][0]["title"], "Buy milk");
//!
//! let mut csv = Vec::new();
//! export.write(Format::Csv(Kind::Tasks), &mut csv)?;
//! assert!(csv.starts_with(b"id,title,status,"));
//! assert_eq!(export.file_name(Format::Zip), "lifeos-export-2026-11-26.zip");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod documents;
mod error;
mod export;
pub mod model;
pub mod source;

pub use documents::Documents;
pub use error::{ExportError, Result, SourceError};
pub use export::{Account, Export, FORMAT_VERSION, Format, Kind, text, user_today};
pub use source::{Opened, Source};
