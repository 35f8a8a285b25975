//! Why an export fails: [`SourceError`] when the user's documents cannot be
//! read (what a [`Source`](crate::Source) reports), [`ExportError`] for
//! everything writing adds on top (the data's rules, I/O, CSV, zip).
//!
//! Two enums rather than one: a `Source` implementation only ever fails in
//! the first way, and the relay's REST reads, which use a `Source` without
//! writing an export, handle exactly those failures.

use lifeos_core::DocumentId;

/// `Result` with this crate's [`ExportError`] by default.
pub type Result<T, E = ExportError> = std::result::Result<T, E>;

/// Why a user's documents cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The storage behind the source failed. The cause is the storage's
    /// own error, boxed so that this crate knows nothing of databases; the
    /// relay downcasts it back to its `StorageError` to pick a status.
    #[error(transparent)]
    Storage(Box<dyn std::error::Error + Send + Sync>),
    /// A stored document does not load or is not what the root says it is.
    #[error("document {document} does not load: {reason}")]
    Corrupt {
        /// The document.
        document: DocumentId,
        /// What is wrong with it.
        reason: String,
    },
}

impl SourceError {
    /// A failure of the storage behind a source.
    pub fn storage(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        SourceError::Storage(cause.into())
    }

    /// Document `document` breaks a rule of `lifeos-core`.
    pub(crate) fn corrupt(document: DocumentId, e: lifeos_core::Error) -> Self {
        SourceError::Corrupt {
            document,
            reason: e.to_string(),
        }
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Documents could not be read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A document's content breaks a rule.
    #[error("reading the data: {0}")]
    Data(#[from] lifeos_core::Error),
    /// Writing failed (usually: the client went away).
    #[error("writing: {0}")]
    Io(#[from] std::io::Error),
    /// The zip could not be written.
    #[error("zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// A CSV row could not be written.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
}
