-- Idempotency keys of the REST API's writes. Mirrors
-- migrations/postgres/0003_idempotency.sql.
--
-- A write that carries `Idempotency-Key` first claims the key (status NULL:
-- in progress); once answered, the answer is kept, so a retry gets the same
-- answer instead of a second task or expense. request_hash tells a retry
-- from a different request reusing the key. Keys older than a day are pruned.
CREATE TABLE idempotency_keys (
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    status       INTEGER,
    location     TEXT,
    body         TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
