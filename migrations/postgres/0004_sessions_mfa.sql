-- Signed-in sessions and the second factor. Mirrors
-- migrations/sqlite/0004_sessions_mfa.sql.

-- A session is one login: its refresh-token family (refresh_tokens.family_id
-- = sessions.id) plus what the user sees of it in the session list. It is
-- alive while the family has a token that is unused, unrevoked and
-- unexpired; every way of ending one (logout, ending it from another
-- device, logout everywhere, a password change or reset, a reused token)
-- revokes the family's tokens, so nothing else needs updating.
CREATE TABLE sessions (
    id           UUID PRIMARY KEY,            -- = refresh_tokens.family_id
    user_id      UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,            -- the last sign-in or token refresh
    user_agent   TEXT,                        -- as the device sent it, at most 256 characters
    ip           TEXT                         -- the client address, as the audit log has it
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Logins made before sessions were listed.
INSERT INTO sessions (id, user_id, created_at, last_used_at)
SELECT family_id, user_id, MIN(created_at), MAX(created_at)
FROM refresh_tokens GROUP BY family_id, user_id;

-- TOTP (RFC 6238). A row without confirmed_at is an enrolment waiting for
-- its first code. last_step is the time step of the last code accepted:
-- only a later step is accepted next, so no code works twice.
CREATE TABLE mfa_totp (
    user_id      UUID PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret       BYTEA NOT NULL,               -- 20 random bytes
    created_at   BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_step    BIGINT NOT NULL DEFAULT -1
);

-- Single-use recovery codes, stored only as SHA-256 hashes (each code has
-- 80 random bits, so a hash cannot be walked back).
CREATE TABLE recovery_codes (
    user_id   UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash BYTEA NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- The second step of a login: the password was right, a code is due.
-- Single use, 5 minutes, dead after 5 wrong codes.
CREATE TABLE mfa_challenges (
    token_hash BYTEA PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    failures   BIGINT NOT NULL DEFAULT 0,
    used_at    BIGINT
);
CREATE INDEX mfa_challenges_expires ON mfa_challenges(expires_at);
