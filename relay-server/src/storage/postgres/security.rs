//! Sessions and second factors on Postgres (`crate::storage::security`).

use uuid::Uuid;

use super::{PostgresStore, SESSIONS_CHANNEL, notify, storage_error};
use crate::storage::StorageError;
use crate::storage::security::{
    Challenge, MAX_CHALLENGE_FAILURES, SecurityStore, SessionRecord, SyncTicket, TotpRecord,
};

/// id, created_at, last_used_at, user_agent, ip.
type SessionRow = (Uuid, i64, i64, Option<String>, Option<String>);

impl SecurityStore for PostgresStore {
    async fn start_session(&self, s: &SessionRecord) -> Result<(), StorageError> {
        sqlx::query("INSERT INTO sessions (id, user_id, created_at, last_used_at, user_agent, ip) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(s.id)
            .bind(s.user)
            .bind(s.created_at)
            .bind(s.last_used_at)
            .bind(&s.user_agent)
            .bind(&s.ip)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(storage_error)
    }

    async fn touch_session(
        &self,
        id: Uuid,
        now: i64,
        user_agent: Option<String>,
        ip: Option<String>,
    ) -> Result<(), StorageError> {
        sqlx::query("UPDATE sessions SET last_used_at = $2, user_agent = COALESCE($3, user_agent), ip = COALESCE($4, ip) WHERE id = $1")
            .bind(id)
            .bind(now)
            .bind(user_agent)
            .bind(ip)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(storage_error)
    }

    async fn sessions_of(&self, user: Uuid, now: i64) -> Result<Vec<SessionRecord>, StorageError> {
        // Alive: the session's family has a token unused, unrevoked, unexpired.
        let rows: Vec<SessionRow> = sqlx::query_as(
            "SELECT s.id, s.created_at, s.last_used_at, s.user_agent, s.ip FROM sessions s \
             WHERE s.user_id = $1 AND EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = s.id AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > $2) \
             ORDER BY s.last_used_at DESC, s.id",
        )
        .bind(user)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(rows
            .into_iter()
            .map(
                |(id, created_at, last_used_at, user_agent, ip)| SessionRecord {
                    id,
                    user,
                    created_at,
                    last_used_at,
                    user_agent,
                    ip,
                },
            )
            .collect())
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
        let alive: Vec<Uuid> = sqlx::query_scalar(
            "SELECT s.id FROM sessions s WHERE s.id = ANY($1) AND s.user_id = $3 AND EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = s.id AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > $2)",
        )
        .bind(&ids)
        .bind(now)
        .bind(user)
        .fetch_all(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(ids.into_iter().filter(|id| !alive.contains(id)).collect())
    }

    async fn end_session(&self, user: Uuid, id: Uuid, now: i64) -> Result<bool, StorageError> {
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let ended = sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND user_id = $3 \
             AND revoked_at IS NULL AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .bind(id)
        .bind(user)
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?
        .rows_affected()
            > 0;
        if ended {
            // Delivered at commit: other relays close that session's connections.
            notify(
                &mut tx,
                SESSIONS_CHANNEL,
                &format!("{} {user}", self.instance),
            )
            .await?;
        }
        tx.commit().await.map_err(storage_error)?;
        Ok(ended)
    }

    async fn totp(&self, user: Uuid) -> Result<Option<TotpRecord>, StorageError> {
        let row: Option<(Vec<u8>, bool, i64)> = sqlx::query_as(
            "SELECT secret, confirmed_at IS NOT NULL, last_step FROM mfa_totp WHERE user_id = $1",
        )
        .bind(user)
        .fetch_optional(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(row.map(|(secret, confirmed, last_step)| TotpRecord {
            secret,
            confirmed,
            last_step,
        }))
    }

    async fn begin_totp(
        &self,
        user: Uuid,
        secret: Vec<u8>,
        now: i64,
    ) -> Result<bool, StorageError> {
        sqlx::query(
            "INSERT INTO mfa_totp (user_id, secret, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, created_at = EXCLUDED.created_at, last_step = -1 \
             WHERE mfa_totp.confirmed_at IS NULL",
        )
        .bind(user)
        .bind(secret)
        .bind(now)
        .execute(&self.pool)
        .await
        .map(|r| r.rows_affected() == 1)
        .map_err(storage_error)
    }

    async fn confirm_totp(
        &self,
        user: Uuid,
        step: i64,
        codes: Vec<[u8; 32]>,
        now: i64,
    ) -> Result<bool, StorageError> {
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let confirmed = sqlx::query(
            "UPDATE mfa_totp SET confirmed_at = $2, last_step = $3 WHERE user_id = $1 AND confirmed_at IS NULL",
        )
        .bind(user)
        .bind(now)
        .bind(step)
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?
        .rows_affected();
        if confirmed != 1 {
            return Ok(false);
        }
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user)
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        let hashes: Vec<Vec<u8>> = codes.iter().map(|c| c.to_vec()).collect();
        sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_hash) SELECT $1, h FROM UNNEST($2::bytea[]) AS h",
        )
        .bind(user)
        .bind(hashes)
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
        tx.commit().await.map_err(storage_error)?;
        Ok(true)
    }

    async fn accept_totp_step(&self, user: Uuid, step: i64) -> Result<bool, StorageError> {
        sqlx::query(
            "UPDATE mfa_totp SET last_step = $2 WHERE user_id = $1 AND confirmed_at IS NOT NULL AND last_step < $2",
        )
        .bind(user)
        .bind(step)
        .execute(&self.pool)
        .await
        .map(|r| r.rows_affected() == 1)
        .map_err(storage_error)
    }

    async fn use_recovery_code(
        &self,
        user: Uuid,
        hash: [u8; 32],
        now: i64,
    ) -> Result<bool, StorageError> {
        sqlx::query(
            "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(user)
        .bind(hash.as_slice())
        .bind(now)
        .execute(&self.pool)
        .await
        .map(|r| r.rows_affected() == 1)
        .map_err(storage_error)
    }

    async fn recovery_codes_left(&self, user: Uuid) -> Result<u32, StorageError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user)
        .fetch_one(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn remove_totp(&self, user: Uuid) -> Result<(), StorageError> {
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        for statement in [
            "DELETE FROM mfa_totp WHERE user_id = $1",
            "DELETE FROM recovery_codes WHERE user_id = $1",
        ] {
            sqlx::query(statement)
                .bind(user)
                .execute(&mut *tx)
                .await
                .map_err(storage_error)?;
        }
        tx.commit().await.map_err(storage_error)
    }

    async fn create_challenge(
        &self,
        hash: [u8; 32],
        user: Uuid,
        now: i64,
        expires: i64,
    ) -> Result<(), StorageError> {
        // Expired ones are of no use to anybody: each login sweeps them.
        sqlx::query("DELETE FROM mfa_challenges WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(storage_error)?;
        sqlx::query("INSERT INTO mfa_challenges (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(hash.as_slice())
            .bind(user)
            .bind(now)
            .bind(expires)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(storage_error)
    }

    async fn challenge(&self, hash: [u8; 32], now: i64) -> Result<Challenge, StorageError> {
        let row: Option<(Uuid, i64)> = sqlx::query_as(
            "SELECT user_id, failures FROM mfa_challenges WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(hash.as_slice())
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(match row {
            Some((_, failures)) if failures >= MAX_CHALLENGE_FAILURES => Challenge::Exhausted,
            Some((user, _)) => Challenge::Live { user },
            None => Challenge::Dead,
        })
    }

    async fn fail_challenge(&self, hash: [u8; 32]) -> Result<i64, StorageError> {
        let failures: Option<i64> = sqlx::query_scalar(
            "UPDATE mfa_challenges SET failures = failures + 1 WHERE token_hash = $1 RETURNING failures",
        )
        .bind(hash.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(failures.unwrap_or(MAX_CHALLENGE_FAILURES))
    }

    async fn use_challenge(&self, hash: [u8; 32], now: i64) -> Result<bool, StorageError> {
        sqlx::query(
            "UPDATE mfa_challenges SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 AND failures < $3",
        )
        .bind(hash.as_slice())
        .bind(now)
        .bind(MAX_CHALLENGE_FAILURES)
        .execute(&self.pool)
        .await
        .map(|r| r.rows_affected() == 1)
        .map_err(storage_error)
    }

    async fn create_sync_ticket(
        &self,
        hash: [u8; 32],
        ticket: SyncTicket,
        now: i64,
        expires: i64,
    ) -> Result<(), StorageError> {
        // Expired ones are of no use to anybody: each new one sweeps them.
        sqlx::query("DELETE FROM sync_tickets WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(storage_error)?;
        sqlx::query("INSERT INTO sync_tickets (ticket_hash, user_id, generation, session_id, token_expires_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(hash.as_slice())
            .bind(ticket.user)
            .bind(ticket.generation)
            .bind(ticket.session)
            .bind(ticket.token_expires_at)
            .bind(expires)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(storage_error)
    }

    async fn take_sync_ticket(
        &self,
        hash: [u8; 32],
        now: i64,
    ) -> Result<Option<SyncTicket>, StorageError> {
        let row: Option<(Uuid, i64, Option<Uuid>, i64, i64)> = sqlx::query_as(
            "DELETE FROM sync_tickets WHERE ticket_hash = $1 RETURNING user_id, generation, session_id, token_expires_at, expires_at",
        )
        .bind(hash.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(row
            .filter(|r| r.4 > now)
            .map(
                |(user, generation, session, token_expires_at, _)| SyncTicket {
                    user,
                    generation,
                    session,
                    token_expires_at,
                },
            ))
    }
}
