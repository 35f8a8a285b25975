-- LifeOS relay schema, Postgres. Times are milliseconds since the Unix epoch.
-- Mirrors migrations/sqlite/0001_init.sql; the same tests run on both.

CREATE TABLE users (
    id            UUID PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,       -- stored lower-cased
    password_hash TEXT NOT NULL,              -- argon2id PHC string
    created_at    BIGINT NOT NULL,
    disabled_at   BIGINT
);

-- Opaque refresh tokens, stored only as SHA-256 hashes. A login starts a
-- family; rotation adds to it; reuse of a used token revokes the family.
CREATE TABLE refresh_tokens (
    token_hash BYTEA PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    family_id  UUID NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT,
    revoked_at BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);

CREATE TABLE password_resets (
    token_hash BYTEA PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

CREATE TABLE audit_events (
    id      BIGSERIAL PRIMARY KEY,
    user_id UUID,
    action  TEXT NOT NULL,
    at      BIGINT NOT NULL,
    ip      TEXT,
    detail  JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_user ON audit_events(user_id, id);
CREATE INDEX audit_events_at ON audit_events(at);

-- A document belongs to the user who first stored it. Its content is the
-- latest snapshot plus the changes logged after it (seq > snapshot_seq).
CREATE TABLE documents (
    id           BYTEA PRIMARY KEY,           -- 16 bytes, automerge-repo id
    owner_id     UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    snapshot     BYTEA,
    snapshot_seq BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX documents_owner ON documents(owner_id);

CREATE TABLE changes (
    document_id BYTEA NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    hash        BYTEA NOT NULL,
    data        BYTEA NOT NULL,
    PRIMARY KEY (document_id, seq)
);
CREATE UNIQUE INDEX changes_hash ON changes(document_id, hash);
