//! The one error type of `lifeos-core`.
//!
//! Every fallible operation in the domain returns [`Result`]. The variants say
//! what went wrong in the user's terms (which field, which rule) so that a
//! client can show it next to the input, and the relay can map them to HTTP
//! statuses in one place. Nothing here knows about HTTP.

use crate::schema::DocKind;

/// Everything that can go wrong in `lifeos-core`.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    /// A value given by the user or a client breaks a rule of the domain.
    #[error("{field}: {reason}")]
    Invalid {
        /// The input field at fault, in the words of the API (`amount`, `schedule`...).
        field: &'static str,
        /// Why the value is refused, readable by a person.
        reason: String,
    },
    /// No entity with this id exists (or it was deleted).
    #[error("no {kind} with id {id}")]
    NotFound {
        /// What was looked for: `task`, `habit`, `expense`...
        kind: &'static str,
        /// The id that was not found.
        id: String,
    },
    /// The document was written by a newer LifeOS; it may be read but never rewritten.
    #[error(
        "this {kind} document has schema version {found}, newer than the {supported} this version of LifeOS understands; update LifeOS to edit it"
    )]
    SchemaTooNew {
        /// The kind of document.
        kind: DocKind,
        /// The version found in the document.
        found: u64,
        /// The newest version this build knows.
        supported: u64,
    },
    /// The bytes or the document's contents are not a LifeOS document of the expected shape.
    #[error("corrupt document: {0}")]
    Corrupt(String),
    /// Automerge refused an operation or could not load bytes.
    #[error("automerge: {0}")]
    Automerge(String),
}

impl From<automerge::AutomergeError> for Error {
    fn from(e: automerge::AutomergeError) -> Self {
        Error::Automerge(e.to_string())
    }
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
