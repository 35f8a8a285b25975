-- Single-use tickets for the web app's sync WebSocket, so the access token
-- never appears in a URL (browser consoles print failed WebSocket URLs, and
-- proxies log them). A ticket carries exactly the authority of the access
-- token it was made with, for one upgrade within 30 seconds. Mirrors
-- migrations/postgres/0005_sync_tickets.sql.
CREATE TABLE sync_tickets (
    ticket_hash      BLOB PRIMARY KEY,         -- SHA-256 of the ticket
    user_id          TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    generation       INTEGER NOT NULL,         -- the access token's session generation
    session_id       TEXT,                     -- the access token's session
    token_expires_at INTEGER NOT NULL,         -- the access token's expiry, seconds
    expires_at       INTEGER NOT NULL          -- the ticket's expiry, milliseconds
);
CREATE INDEX sync_tickets_expires ON sync_tickets(expires_at);
