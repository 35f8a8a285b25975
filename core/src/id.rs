//! Identifiers: entity ids (UUIDs) and automerge-repo document ids.
//!
//! Entity ids are UUID version 7: a millisecond timestamp followed by random
//! bits. Automerge stores map keys in sorted columns and compresses them, and
//! time-ordered keys share prefixes, so a v7 key costs about half of a random
//! v4 key on disk (17 vs 31 bytes per expense, measured; docs/benchmarks.md).
//! Ids that must be the same on every device (a habit's check-in of one day)
//! are version 5 UUIDs derived from what they identify.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::time::Timestamp;

/// The id of a task, project, habit, expense, category: a UUID.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntityId(Uuid);

/// Namespace of the version 5 ids that LifeOS derives (check-ins, root documents).
const LIFEOS_NAMESPACE: Uuid = Uuid::from_u128(0x6c69_6665_6f73_4000_8000_0000_0000_0001);

impl EntityId {
    /// A new id for an entity created at `now`, unique with overwhelming probability.
    pub fn generate(now: Timestamp) -> Self {
        let mut random = [0u8; 10];
        fill_random(&mut random);
        let millis = u64::try_from(now.as_millis()).unwrap_or(0);
        EntityId(uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid())
    }

    /// The id derived from `parts`: the same inputs give the same id on every device.
    pub fn derive(parts: &[&str]) -> Self {
        EntityId(Uuid::new_v5(
            &LIFEOS_NAMESPACE,
            parts.join("\u{1f}").as_bytes(),
        ))
    }

    /// When the entity was created: the timestamp inside a version 7 id
    /// (ids of imported data carry the original creation time). Derived ids
    /// carry none and give the epoch.
    pub fn created_at(&self) -> Timestamp {
        let millis = self
            .0
            .get_timestamp()
            .map(|ts| {
                let (secs, nanos) = ts.to_unix();
                secs.saturating_mul(1000)
                    .saturating_add(u64::from(nanos / 1_000_000))
            })
            .unwrap_or(0);
        Timestamp::from_millis(i64::try_from(millis).unwrap_or(i64::MAX))
    }

    /// The UUID itself.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl From<Uuid> for EntityId {
    fn from(u: Uuid) -> Self {
        EntityId(u)
    }
}

impl FromStr for EntityId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Uuid::try_parse(s)
            .map(EntityId)
            .map_err(|_| Error::invalid("id", format!("{s:?} is not a UUID")))
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Hyphenated lowercase: the form used as map keys in documents.
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntityId({})", self.0.hyphenated())
    }
}

/// An automerge-repo document id: 16 bytes, written as bs58check (`automerge:` URL form too).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocumentId([u8; 16]);

impl DocumentId {
    /// A fresh random document id, as automerge-repo makes them (a v4 UUID).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        fill_random(&mut bytes);
        DocumentId(
            uuid::Builder::from_random_bytes(bytes)
                .into_uuid()
                .into_bytes(),
        )
    }

    /// The id of a user's root document, derived from the account id so that
    /// every device of the user finds it without asking anybody.
    pub fn root_of_user(user_id: &Uuid) -> Self {
        let derived = Uuid::new_v5(&LIFEOS_NAMESPACE, format!("root\u{1f}{user_id}").as_bytes());
        DocumentId(derived.into_bytes())
    }

    /// The raw 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// `automerge:<bs58check>`, the URL form automerge-repo prints and accepts.
    pub fn to_url(&self) -> String {
        format!("automerge:{self}")
    }

    /// Parses either the bare bs58check form or the `automerge:` URL form.
    pub fn parse(s: &str) -> Result<Self> {
        let bare = s.strip_prefix("automerge:").unwrap_or(s);
        // A URL may carry heads after a `#`; the id is what comes before.
        let bare = bare.split('#').next().unwrap_or(bare);
        let bytes = bs58::decode(bare)
            .with_check(None)
            .into_vec()
            .map_err(|e| Error::invalid("document_id", format!("{s:?} is not bs58check: {e}")))?;
        let arr: [u8; 16] = bytes.try_into().map_err(|b: Vec<u8>| {
            Error::invalid(
                "document_id",
                format!("{s:?} holds {} bytes, expected 16", b.len()),
            )
        })?;
        Ok(DocumentId(arr))
    }
}

impl From<[u8; 16]> for DocumentId {
    fn from(b: [u8; 16]) -> Self {
        DocumentId(b)
    }
}

impl FromStr for DocumentId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        DocumentId::parse(s)
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).with_check().into_string())
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

/// Fills `buf` from the operating system's (or the browser's) random source.
fn fill_random(buf: &mut [u8]) {
    // The platform RNG failing is not recoverable and not caused by input;
    // continuing with predictable ids would be worse than stopping.
    getrandom::fill(buf).expect("the platform random number generator is unavailable");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_id_round_trips_through_both_forms() {
        let id = DocumentId::generate();
        assert_eq!(DocumentId::parse(&id.to_string()).unwrap(), id);
        assert_eq!(DocumentId::parse(&id.to_url()).unwrap(), id);
    }

    #[test]
    fn document_id_rejects_bad_checksum_and_length() {
        let id = DocumentId::generate().to_string();
        let mut broken = id.clone().into_bytes();
        let last = broken.len() - 1;
        broken[last] = if broken[last] == b'2' { b'3' } else { b'2' };
        assert!(DocumentId::parse(std::str::from_utf8(&broken).unwrap()).is_err());
        let short = bs58::encode([1u8; 8]).with_check().into_string();
        assert!(DocumentId::parse(&short).is_err());
        assert!(DocumentId::parse("not base58 0OIl").is_err());
    }

    #[test]
    fn known_automerge_repo_id_parses() {
        // bs58check of the 16 bytes 0x00..0x0f, computed independently with Python's base58.
        let id = DocumentId::from(core::array::from_fn::<u8, 16, _>(|i| i as u8));
        assert_eq!(id.to_string(), "1Bhh3pU9gLXZiNDL6PEa1Gs9fh");
        assert_eq!(id.to_url(), "automerge:1Bhh3pU9gLXZiNDL6PEa1Gs9fh");
        assert_eq!(
            DocumentId::parse("automerge:1Bhh3pU9gLXZiNDL6PEa1Gs9fh#heads").unwrap(),
            id
        );
    }

    #[test]
    fn root_document_is_stable_per_user() {
        let user = Uuid::from_u128(42);
        assert_eq!(
            DocumentId::root_of_user(&user),
            DocumentId::root_of_user(&user)
        );
        assert_ne!(
            DocumentId::root_of_user(&user),
            DocumentId::root_of_user(&Uuid::from_u128(43))
        );
    }

    #[test]
    fn generated_entity_ids_sort_by_time() {
        let a = EntityId::generate(Timestamp::from_millis(1_000));
        let b = EntityId::generate(Timestamp::from_millis(2_000));
        assert!(a < b);
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert_eq!(a.created_at(), Timestamp::from_millis(1_000));
        assert_eq!(
            EntityId::derive(&["x"]).created_at(),
            Timestamp::from_millis(0)
        );
        assert_eq!(a.to_string().parse::<EntityId>().unwrap(), a);
    }

    #[test]
    fn derived_ids_are_deterministic() {
        assert_eq!(EntityId::derive(&["a", "b"]), EntityId::derive(&["a", "b"]));
        assert_ne!(EntityId::derive(&["a", "b"]), EntityId::derive(&["ab"]));
    }
}
