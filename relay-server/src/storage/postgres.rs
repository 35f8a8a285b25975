//! The Postgres backend: an sqlx pool, migrations from `migrations/postgres`
//! (sqlx takes an advisory lock, so several relays may start at once).

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use uuid::Uuid;

use super::{AuditEvent, RefreshOutcome, Storage, StorageError, UserRecord};
use crate::error::StartupError;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// A Postgres database.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url`. Connections are made lazily, so the relay starts
    /// (and reports not ready) while the database is down.
    pub async fn connect(url: &str) -> Result<Self, StartupError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(3))
            .connect_lazy(url)
            .map_err(|e| StartupError::Database(format!("bad Postgres URL: {e}")))?;
        Ok(PostgresStore { pool })
    }
}

type UserRow = (Uuid, String, String, i64, Option<i64>);
/// id, action, at, ip, detail as JSON text.
type AuditRow = (i64, String, i64, Option<String>, String);
/// user_id, family_id, expires_at, used_at, revoked_at.
type TokenRow = (Uuid, Uuid, i64, Option<i64>, Option<i64>);

fn user_record((id, email, password_hash, created_at, disabled_at): UserRow) -> UserRecord {
    UserRecord {
        id,
        email,
        password_hash,
        created_at,
        disabled: disabled_at.is_some(),
    }
}

/// Revokes every refresh token of `user` (password reset, account disabled).
async fn revoke_all_sessions(
    tx: &mut sqlx::PgConnection,
    user: Uuid,
    now: i64,
) -> Result<(), StorageError> {
    sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
    )
    .bind(now)
    .bind(user)
    .execute(tx)
    .await
    .map(|_| ())
    .map_err(storage_error)
}

fn storage_error(e: sqlx::Error) -> StorageError {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            StorageError::Unavailable(e.to_string())
        }
        sqlx::Error::Database(ref db)
            if db
                .code()
                .is_some_and(|c| c.starts_with("57") || c.starts_with("08") || c == "3D000") =>
        {
            // Admin shutdown, connection exceptions, or the database is gone.
            StorageError::Unavailable(e.to_string())
        }
        other => StorageError::Other(other.to_string()),
    }
}

impl Storage for PostgresStore {
    async fn migrate(&self) -> Result<(), StorageError> {
        MIGRATOR.run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(inner) => storage_error(inner),
            other => StorageError::Other(other.to_string()),
        })
    }

    async fn create_user(&self, user: &UserRecord) -> Result<bool, StorageError> {
        let result = sqlx::query("INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO NOTHING")
            .bind(user.id)
            .bind(&user.email)
            .bind(&user.password_hash)
            .bind(user.created_at)
            .execute(&self.pool)
            .await
            .map_err(storage_error)?;
        Ok(result.rows_affected() == 1)
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StorageError> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT id, email, password_hash, created_at, disabled_at FROM users WHERE email = $1",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(row.map(user_record))
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<UserRecord>, StorageError> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT id, email, password_hash, created_at, disabled_at FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(row.map(user_record))
    }

    async fn insert_refresh_token(
        &self,
        hash: [u8; 32],
        user: Uuid,
        family: Uuid,
        now: i64,
        expires: i64,
    ) -> Result<(), StorageError> {
        sqlx::query("INSERT INTO refresh_tokens (token_hash, user_id, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(hash.as_slice())
            .bind(user)
            .bind(family)
            .bind(now)
            .bind(expires)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(storage_error)
    }

    async fn rotate_refresh_token(
        &self,
        old: [u8; 32],
        new: [u8; 32],
        now: i64,
        expires: i64,
    ) -> Result<RefreshOutcome, StorageError> {
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        // FOR UPDATE: two relays presenting the same token serialise here.
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT user_id, family_id, expires_at, used_at, revoked_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
        )
        .bind(old.as_slice())
        .fetch_optional(&mut *tx)
        .await
        .map_err(storage_error)?;
        let Some((user, family, expires_at, used_at, revoked_at)) = row else {
            return Ok(RefreshOutcome::Invalid);
        };
        if revoked_at.is_some() {
            // Revoked by logout, a password reset or an earlier reuse: just invalid.
            return Ok(RefreshOutcome::Invalid);
        }
        if used_at.is_some() {
            sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(family)
                .execute(&mut *tx)
                .await
                .map_err(storage_error)?;
            tx.commit().await.map_err(storage_error)?;
            return Ok(RefreshOutcome::Reused { user });
        }
        if expires_at <= now {
            return Ok(RefreshOutcome::Invalid);
        }
        sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(old.as_slice())
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        sqlx::query("INSERT INTO refresh_tokens (token_hash, user_id, family_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(new.as_slice())
            .bind(user)
            .bind(family)
            .bind(now)
            .bind(expires)
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        tx.commit().await.map_err(storage_error)?;
        Ok(RefreshOutcome::Rotated { user })
    }

    async fn revoke_refresh_family(
        &self,
        hash: [u8; 32],
        now: i64,
    ) -> Result<Option<Uuid>, StorageError> {
        let user: Option<Uuid> = sqlx::query_scalar(
            "WITH target AS (SELECT user_id, family_id FROM refresh_tokens WHERE token_hash = $2), \
             revoked AS (UPDATE refresh_tokens SET revoked_at = $1 \
                         WHERE revoked_at IS NULL AND family_id IN (SELECT family_id FROM target)) \
             SELECT user_id FROM target",
        )
        .bind(now)
        .bind(hash.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(storage_error)?;
        Ok(user)
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>, StorageError> {
        let rows: Vec<UserRow> = sqlx::query_as("SELECT id, email, password_hash, created_at, disabled_at FROM users ORDER BY created_at, email")
            .fetch_all(&self.pool)
            .await
            .map_err(storage_error)?;
        Ok(rows.into_iter().map(user_record).collect())
    }

    async fn set_disabled(
        &self,
        user: Uuid,
        disabled: bool,
        now: i64,
    ) -> Result<bool, StorageError> {
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let changed = sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .bind(disabled.then_some(now))
            .bind(user)
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?
            .rows_affected();
        if disabled {
            revoke_all_sessions(&mut tx, user, now).await?;
        }
        tx.commit().await.map_err(storage_error)?;
        Ok(changed == 1)
    }

    async fn create_password_reset(
        &self,
        hash: [u8; 32],
        user: Uuid,
        now: i64,
        expires: i64,
    ) -> Result<(), StorageError> {
        sqlx::query("INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(hash.as_slice())
            .bind(user)
            .bind(now)
            .bind(expires)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(storage_error)
    }

    async fn reset_password(
        &self,
        hash: [u8; 32],
        password_hash: &str,
        now: i64,
    ) -> Result<Option<Uuid>, StorageError> {
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let user: Option<Uuid> = sqlx::query_scalar(
            "UPDATE password_resets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
        )
        .bind(now)
        .bind(hash.as_slice())
        .fetch_optional(&mut *tx)
        .await
        .map_err(storage_error)?;
        let Some(user) = user else { return Ok(None) };
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user)
            .execute(&mut *tx)
            .await
            .map_err(storage_error)?;
        revoke_all_sessions(&mut tx, user, now).await?;
        tx.commit().await.map_err(storage_error)?;
        Ok(Some(user))
    }

    async fn record_audit(
        &self,
        user: Option<Uuid>,
        action: &str,
        at: i64,
        ip: Option<&str>,
        detail: &serde_json::Value,
    ) -> Result<(), StorageError> {
        sqlx::query("INSERT INTO audit_events (user_id, action, at, ip, detail) VALUES ($1, $2, $3, $4, $5::jsonb)")
            .bind(user)
            .bind(action)
            .bind(at)
            .bind(ip)
            .bind(detail.to_string())
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(storage_error)
    }

    async fn audit_page(
        &self,
        user: Uuid,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, StorageError> {
        let rows: Vec<AuditRow> =
            sqlx::query_as("SELECT id, action, at, ip, detail::text FROM audit_events WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3")
                .bind(user)
                .bind(before.unwrap_or(i64::MAX))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(storage_error)?;
        Ok(rows
            .into_iter()
            .map(|(id, action, at, ip, detail)| AuditEvent {
                id,
                user: Some(user),
                action,
                at,
                ip,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            })
            .collect())
    }

    async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query_scalar::<_, i32>("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .map(|_| ())
            .map_err(storage_error)
    }
}
