//! The user's data on this device: `lifeos-core`'s [`UserData`] read from the
//! replica inside one session, edited by a command, and written back (a
//! chunk per changed document) when the command commits.
//!
//! Before signing in, the data belongs to this device alone (a root made
//! here, `local_root` in `meta`), as in the web app; signing in adopts it
//! into the account's data.

use std::collections::BTreeMap;

use lifeos_core::time::Timestamp;
use lifeos_core::{DocKind, DocumentId, LifeDoc, UserData};

use crate::replica::{ReplicaError, Session, StoredDocument};

/// `meta` key: the root of the data made on this device before signing in.
pub const LOCAL_ROOT: &str = "local_root";
/// `meta` key: the root of the signed-in account's data.
pub const ACCOUNT_ROOT: &str = "account_root";

/// Why the data cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// The replica failed.
    #[error(transparent)]
    Replica(#[from] ReplicaError),
    /// Signed in, but the account's data has not arrived yet.
    #[error("this device has not received your data yet: run `lifeos sync`")]
    NotSynced,
    /// The documents are not LifeOS data (or from a newer LifeOS).
    #[error("the local data cannot be read: {0}")]
    Unreadable(lifeos_core::Error),
}

/// The user's data, open for one command.
pub struct Workspace<'a> {
    session: Session<'a>,
    /// The data.
    pub data: UserData,
    stored: BTreeMap<DocumentId, StoredDocument>,
    /// Documents that could not be read (set aside or skipped), for the user.
    pub problems: Vec<String>,
}

impl<'a> Workspace<'a> {
    /// Reads the data in `session`; the first time on a device, starts an
    /// empty one that belongs to this device.
    pub fn open(session: Session<'a>, now: Timestamp) -> Result<Workspace<'a>, WorkspaceError> {
        let loaded = session.load()?;
        let mut problems = loaded.problems;
        let mut stored = loaded.documents;
        let (root_id, signed_in) = match session.meta(ACCOUNT_ROOT)? {
            Some(id) => (parse_id(&id)?, true),
            None => match session.meta(LOCAL_ROOT)? {
                Some(id) => (parse_id(&id)?, false),
                None => {
                    let id = DocumentId::generate();
                    session.set_meta(LOCAL_ROOT, &id.to_string())?;
                    (id, false)
                }
            },
        };
        let data = match assemble(&stored, root_id, &mut problems)? {
            Some(data) => data,
            None if signed_in => return Err(WorkspaceError::NotSynced),
            None => UserData::create(root_id, now).map_err(WorkspaceError::Unreadable)?,
        };
        // Documents read but not part of the data stay as they are.
        stored.retain(|id, _| data.document_ids().contains(id));
        Ok(Workspace {
            session,
            data,
            stored,
            problems,
        })
    }

    /// The session, for settings and import records.
    pub fn session(&self) -> &Session<'a> {
        &self.session
    }

    /// Writes every document that changed and ends the session. Returns how
    /// many documents were written.
    pub fn commit(mut self) -> Result<usize, WorkspaceError> {
        let mut written = 0;
        for (id, doc) in self.data.documents_mut() {
            if self
                .session
                .save(id, doc.automerge_mut(), self.stored.get_mut(&id))?
            {
                written += 1;
            }
        }
        self.session.commit()?;
        Ok(written)
    }
}

/// The user's data rooted at `root_id` from the documents read: `None` when
/// the root is not here. Listed documents that are not here yet are left
/// for sync; those that do not read are reported in `problems`.
pub fn assemble(
    stored: &BTreeMap<DocumentId, StoredDocument>,
    root_id: DocumentId,
    problems: &mut Vec<String>,
) -> Result<Option<UserData>, WorkspaceError> {
    let Some(root) = stored.get(&root_id) else {
        return Ok(None);
    };
    let root = LifeDoc::from_automerge(DocKind::Root, root.doc.clone())
        .map_err(WorkspaceError::Unreadable)?;
    let mut data = UserData::open(root_id, root).map_err(WorkspaceError::Unreadable)?;
    let listed = data
        .missing_documents()
        .map_err(WorkspaceError::Unreadable)?;
    for (id, role) in listed {
        let Some(doc) = stored.get(&id) else {
            continue; // Not here yet: sync brings it.
        };
        let attached =
            LifeDoc::from_automerge(role.kind, doc.doc.clone()).and_then(|d| data.attach(id, d));
        if let Err(e) = attached {
            problems.push(format!("document {id} is not readable: {e}"));
        }
    }
    Ok(Some(data))
}

/// Reads a document id kept in `meta`.
pub fn parse_id(s: &str) -> Result<DocumentId, WorkspaceError> {
    DocumentId::parse(s).map_err(WorkspaceError::Unreadable)
}

#[cfg(test)]
mod tests {
    use lifeos_core::time::Date;

    use super::*;
    use crate::replica::Replica;

    fn now() -> Timestamp {
        Timestamp::from_millis(1_795_000_000_000)
    }

    #[test]
    fn data_made_offline_is_there_next_time_and_only_changes_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut replica = Replica::open(dir.path()).unwrap();
        let today: Date = "2026-11-26".parse().unwrap();
        let id = {
            let mut ws = Workspace::open(replica.session().unwrap(), now()).unwrap();
            let id = ws
                .data
                .quick_add_task(
                    now(),
                    today,
                    "Call mom tomorrow #family @phone",
                    lifeos_core::tasks::quick_add::AddedOn::Elsewhere,
                )
                .unwrap();
            assert_eq!(
                ws.commit().unwrap(),
                4,
                "a new device writes root, tasks, habits, finance"
            );
            id
        };
        let ws = Workspace::open(replica.session().unwrap(), now()).unwrap();
        let task = ws.data.task(id).unwrap();
        assert_eq!(task.title, "Call mom");
        assert_eq!(task.contexts, vec!["phone".to_string()]);
        assert_eq!(ws.commit().unwrap(), 0, "nothing changed, nothing written");

        let mut ws = Workspace::open(replica.session().unwrap(), now()).unwrap();
        ws.data.complete_task(now(), id, today).unwrap();
        assert_eq!(ws.commit().unwrap(), 1, "only the tasks document");
        let ws = Workspace::open(replica.session().unwrap(), now()).unwrap();
        assert!(ws.data.task(id).unwrap().completed_at.is_some());
    }

    #[test]
    fn signed_in_without_data_says_to_sync() {
        let dir = tempfile::tempdir().unwrap();
        let mut replica = Replica::open(dir.path()).unwrap();
        let session = replica.session().unwrap();
        session
            .set_meta(ACCOUNT_ROOT, &DocumentId::generate().to_string())
            .unwrap();
        let err = Workspace::open(session, now()).err().unwrap();
        assert!(matches!(err, WorkspaceError::NotSynced), "{err}");
    }
}
