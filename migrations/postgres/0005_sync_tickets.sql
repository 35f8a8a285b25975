-- Single-use tickets for the web app's sync WebSocket, so the access token
-- never appears in a URL (browser consoles print failed WebSocket URLs, and
-- proxies log them). A ticket carries exactly the authority of the access
-- token it was made with, for one upgrade within 30 seconds. Mirrors
-- migrations/sqlite/0005_sync_tickets.sql.
CREATE TABLE sync_tickets (
    ticket_hash      BYTEA PRIMARY KEY,        -- SHA-256 of the ticket
    user_id          UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    generation       BIGINT NOT NULL,          -- the access token's session generation
    session_id       UUID,                     -- the access token's session
    token_expires_at BIGINT NOT NULL,          -- the access token's expiry, seconds
    expires_at       BIGINT NOT NULL           -- the ticket's expiry, milliseconds
);
CREATE INDEX sync_tickets_expires ON sync_tickets(expires_at);
