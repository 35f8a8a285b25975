//! Sessions and second factors on SQLite (`crate::storage::security`).

use rusqlite::OptionalExtension;
use uuid::Uuid;

use super::{SqliteStore, storage_error};
use crate::storage::StorageError;
use crate::storage::security::{
    Challenge, MAX_CHALLENGE_FAILURES, SecurityStore, SessionRecord, SyncTicket, TotpRecord,
};

/// A live refresh token of the session `sessions.id` (`?2` is now).
const ALIVE: &str = "EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = sessions.id \
AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > ?2)";

fn uuid(text: String) -> Result<Uuid, StorageError> {
    text.parse()
        .map_err(|_| StorageError::Other("bad UUID in the database".into()))
}

impl SecurityStore for SqliteStore {
    async fn start_session(&self, session: &SessionRecord) -> Result<(), StorageError> {
        let s = session.clone();
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO sessions (id, user_id, created_at, last_used_at, user_agent, ip) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                (s.id.to_string(), s.user.to_string(), s.created_at, s.last_used_at, s.user_agent, s.ip),
            )
            .map(|_| ())
            .map_err(storage_error)
        })
        .await
    }

    async fn touch_session(
        &self,
        id: Uuid,
        now: i64,
        user_agent: Option<String>,
        ip: Option<String>,
    ) -> Result<(), StorageError> {
        self.with_conn(move |conn| {
            conn.execute(
                "UPDATE sessions SET last_used_at = ?2, user_agent = COALESCE(?3, user_agent), ip = COALESCE(?4, ip) WHERE id = ?1",
                (id.to_string(), now, user_agent, ip),
            )
            .map(|_| ())
            .map_err(storage_error)
        })
        .await
    }

    async fn sessions_of(&self, user: Uuid, now: i64) -> Result<Vec<SessionRecord>, StorageError> {
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT id, created_at, last_used_at, user_agent, ip FROM sessions \
                     WHERE user_id = ?1 AND {ALIVE} ORDER BY last_used_at DESC, id"
                ))
                .map_err(storage_error)?;
            let rows = stmt
                .query_map((user.to_string(), now), |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                    ))
                })
                .map_err(storage_error)?;
            let mut out = Vec::new();
            for row in rows {
                let (id, created_at, last_used_at, user_agent, ip) = row.map_err(storage_error)?;
                out.push(SessionRecord {
                    id: uuid(id)?,
                    user,
                    created_at,
                    last_used_at,
                    user_agent,
                    ip,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn session_alive(&self, user: Uuid, id: Uuid, now: i64) -> Result<bool, StorageError> {
        Ok(self.ended_sessions(user, vec![id], now).await?.is_empty())
    }

    async fn ended_sessions(
        &self,
        user: Uuid,
        ids: Vec<Uuid>,
        now: i64,
    ) -> Result<Vec<Uuid>, StorageError> {
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT 1 FROM sessions WHERE id = ?1 AND user_id = ?3 AND {ALIVE}"
                ))
                .map_err(storage_error)?;
            let mut ended = Vec::new();
            for id in ids {
                let alive = stmt
                    .exists((id.to_string(), now, user.to_string()))
                    .map_err(storage_error)?;
                if !alive {
                    ended.push(id);
                }
            }
            Ok(ended)
        })
        .await
    }

    async fn end_session(&self, user: Uuid, id: Uuid, now: i64) -> Result<bool, StorageError> {
        self.with_conn(move |conn| {
            conn.execute(
                "UPDATE refresh_tokens SET revoked_at = ?1 WHERE family_id = ?2 AND user_id = ?3 \
                 AND revoked_at IS NULL AND used_at IS NULL AND expires_at > ?1",
                (now, id.to_string(), user.to_string()),
            )
            .map(|n| n > 0)
            .map_err(storage_error)
        })
        .await
    }

    async fn totp(&self, user: Uuid) -> Result<Option<TotpRecord>, StorageError> {
        self.with_conn(move |conn| {
            conn.query_row(
                "SELECT secret, confirmed_at IS NOT NULL, last_step FROM mfa_totp WHERE user_id = ?1",
                [user.to_string()],
                |r| {
                    Ok(TotpRecord {
                        secret: r.get(0)?,
                        confirmed: r.get(1)?,
                        last_step: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(storage_error)
        })
        .await
    }

    async fn begin_totp(
        &self,
        user: Uuid,
        secret: Vec<u8>,
        now: i64,
    ) -> Result<bool, StorageError> {
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO mfa_totp (user_id, secret, created_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, last_step = -1 \
                 WHERE mfa_totp.confirmed_at IS NULL",
                (user.to_string(), secret, now),
            )
            .map(|n| n == 1)
            .map_err(storage_error)
        })
        .await
    }

    async fn confirm_totp(
        &self,
        user: Uuid,
        step: i64,
        codes: Vec<[u8; 32]>,
        now: i64,
    ) -> Result<bool, StorageError> {
        self.with_conn(move |conn| {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(storage_error)?;
            let user = user.to_string();
            let confirmed = tx
                .execute(
                    "UPDATE mfa_totp SET confirmed_at = ?2, last_step = ?3 WHERE user_id = ?1 AND confirmed_at IS NULL",
                    (&user, now, step),
                )
                .map_err(storage_error)?;
            if confirmed != 1 {
                return Ok(false);
            }
            tx.execute("DELETE FROM recovery_codes WHERE user_id = ?1", [&user])
                .map_err(storage_error)?;
            for code in codes {
                tx.execute(
                    "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)",
                    (&user, code.as_slice()),
                )
                .map_err(storage_error)?;
            }
            tx.commit().map_err(storage_error)?;
            Ok(true)
        })
        .await
    }

    async fn accept_totp_step(&self, user: Uuid, step: i64) -> Result<bool, StorageError> {
        self.with_conn(move |conn| {
            conn.execute(
                "UPDATE mfa_totp SET last_step = ?2 WHERE user_id = ?1 AND confirmed_at IS NOT NULL AND last_step < ?2",
                (user.to_string(), step),
            )
            .map(|n| n == 1)
            .map_err(storage_error)
        })
        .await
    }

    async fn use_recovery_code(
        &self,
        user: Uuid,
        hash: [u8; 32],
        now: i64,
    ) -> Result<bool, StorageError> {
        self.with_conn(move |conn| {
            conn.execute(
                "UPDATE recovery_codes SET used_at = ?3 WHERE user_id = ?1 AND code_hash = ?2 AND used_at IS NULL",
                (user.to_string(), hash.as_slice(), now),
            )
            .map(|n| n == 1)
            .map_err(storage_error)
        })
        .await
    }

    async fn recovery_codes_left(&self, user: Uuid) -> Result<u32, StorageError> {
        self.with_conn(move |conn| {
            conn.query_row(
                "SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
                [user.to_string()],
                |r| r.get(0),
            )
            .map_err(storage_error)
        })
        .await
    }

    async fn remove_totp(&self, user: Uuid) -> Result<(), StorageError> {
        self.with_conn(move |conn| {
            let tx = conn.transaction().map_err(storage_error)?;
            let user = user.to_string();
            tx.execute("DELETE FROM mfa_totp WHERE user_id = ?1", [&user])
                .map_err(storage_error)?;
            tx.execute("DELETE FROM recovery_codes WHERE user_id = ?1", [&user])
                .map_err(storage_error)?;
            tx.commit().map_err(storage_error)
        })
        .await
    }

    async fn create_challenge(
        &self,
        hash: [u8; 32],
        user: Uuid,
        now: i64,
        expires: i64,
    ) -> Result<(), StorageError> {
        self.with_conn(move |conn| {
            // Expired ones are of no use to anybody: each login sweeps them.
            conn.execute("DELETE FROM mfa_challenges WHERE expires_at <= ?1", [now])
                .map_err(storage_error)?;
            conn.execute(
                "INSERT INTO mfa_challenges (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                (hash.as_slice(), user.to_string(), now, expires),
            )
            .map(|_| ())
            .map_err(storage_error)
        })
        .await
    }

    async fn challenge(&self, hash: [u8; 32], now: i64) -> Result<Challenge, StorageError> {
        self.with_conn(move |conn| {
            let row: Option<(String, i64)> = conn
                .query_row(
                    "SELECT user_id, failures FROM mfa_challenges WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
                    (hash.as_slice(), now),
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(storage_error)?;
            match row {
                Some((_, failures)) if failures >= MAX_CHALLENGE_FAILURES => Ok(Challenge::Exhausted),
                Some((user, _)) => Ok(Challenge::Live { user: uuid(user)? }),
                None => Ok(Challenge::Dead),
            }
        })
        .await
    }

    async fn fail_challenge(&self, hash: [u8; 32]) -> Result<i64, StorageError> {
        self.with_conn(move |conn| {
            conn.query_row(
                "UPDATE mfa_challenges SET failures = failures + 1 WHERE token_hash = ?1 RETURNING failures",
                [hash.as_slice()],
                |r| r.get(0),
            )
            .optional()
            .map(|f| f.unwrap_or(MAX_CHALLENGE_FAILURES))
            .map_err(storage_error)
        })
        .await
    }

    async fn use_challenge(&self, hash: [u8; 32], now: i64) -> Result<bool, StorageError> {
        self.with_conn(move |conn| {
            conn.execute(
                "UPDATE mfa_challenges SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2 AND failures < ?3",
                (hash.as_slice(), now, MAX_CHALLENGE_FAILURES),
            )
            .map(|n| n == 1)
            .map_err(storage_error)
        })
        .await
    }

    async fn create_sync_ticket(
        &self,
        hash: [u8; 32],
        ticket: SyncTicket,
        now: i64,
        expires: i64,
    ) -> Result<(), StorageError> {
        self.with_conn(move |conn| {
            // Expired ones are of no use to anybody: each new one sweeps them.
            conn.execute("DELETE FROM sync_tickets WHERE expires_at <= ?1", [now])
                .map_err(storage_error)?;
            conn.execute(
                "INSERT INTO sync_tickets (ticket_hash, user_id, generation, session_id, token_expires_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                (
                    hash.as_slice(),
                    ticket.user.to_string(),
                    ticket.generation,
                    ticket.session.map(|s| s.to_string()),
                    ticket.token_expires_at,
                    expires,
                ),
            )
            .map(|_| ())
            .map_err(storage_error)
        })
        .await
    }

    async fn take_sync_ticket(
        &self,
        hash: [u8; 32],
        now: i64,
    ) -> Result<Option<SyncTicket>, StorageError> {
        self.with_conn(move |conn| {
            let row: Option<(String, i64, Option<String>, i64, i64)> = conn
                .query_row(
                    "DELETE FROM sync_tickets WHERE ticket_hash = ?1 RETURNING user_id, generation, session_id, token_expires_at, expires_at",
                    [hash.as_slice()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
                )
                .optional()
                .map_err(storage_error)?;
            let Some((user, generation, session, token_expires_at, expires_at)) = row else {
                return Ok(None);
            };
            if expires_at <= now {
                return Ok(None);
            }
            Ok(Some(SyncTicket {
                user: uuid(user)?,
                generation,
                session: session.map(uuid).transpose()?,
                token_expires_at,
            }))
        })
        .await
    }
}
