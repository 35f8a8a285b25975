-- LifeOS relay schema, SQLite. Times are milliseconds since the Unix epoch.
-- Mirrors migrations/postgres/0001_init.sql; the same tests run on both.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,           -- UUID
    email         TEXT NOT NULL UNIQUE,       -- stored lower-cased
    password_hash TEXT NOT NULL,              -- argon2id PHC string
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER
);

-- Opaque refresh tokens, stored only as SHA-256 hashes. A login starts a
-- family; rotation adds to it; reuse of a used token revokes the family.
CREATE TABLE refresh_tokens (
    token_hash BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    family_id  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    revoked_at INTEGER
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);

CREATE TABLE password_resets (
    token_hash BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

CREATE TABLE audit_events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT,
    action  TEXT NOT NULL,
    at      INTEGER NOT NULL,
    ip      TEXT,
    detail  TEXT NOT NULL DEFAULT '{}'        -- JSON object
);
CREATE INDEX audit_events_user ON audit_events(user_id, id);
CREATE INDEX audit_events_at ON audit_events(at);

-- A document belongs to the user who first stored it. Its content is the
-- latest snapshot plus the changes logged after it (seq > snapshot_seq).
CREATE TABLE documents (
    id           BLOB PRIMARY KEY,            -- 16 bytes, automerge-repo id
    owner_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    snapshot     BLOB,
    snapshot_seq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX documents_owner ON documents(owner_id);

CREATE TABLE changes (
    document_id BLOB NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    hash        BLOB NOT NULL,
    data        BLOB NOT NULL,
    PRIMARY KEY (document_id, seq)
);
CREATE UNIQUE INDEX changes_hash ON changes(document_id, hash);
