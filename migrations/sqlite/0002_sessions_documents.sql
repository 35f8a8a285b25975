-- Session generations and document bookkeeping. Mirrors
-- migrations/postgres/0002_sessions_documents.sql.

-- Every access token carries the generation it was issued in; a password
-- change or reset, logout everywhere, or disabling the account moves the
-- generation on, so older access tokens stop working at once (and live sync
-- connections are closed).
ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;

-- The change log's high-water mark per document. Appends take the next
-- numbers under the document row's lock, so several relays on one database
-- never collide; compaction folds seq <= snapshot_seq into the snapshot.
ALTER TABLE documents ADD COLUMN last_seq INTEGER NOT NULL DEFAULT 0;
