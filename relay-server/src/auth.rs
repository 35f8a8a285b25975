//! Credentials: argon2id password hashes, short-lived JWT access tokens and
//! opaque refresh tokens (CONTRACT.md, HTTP).
//!
//! - Passwords: argon2id with OWASP's minimum (19 MiB, 2 passes, 1 lane);
//!   hashing runs on the blocking pool. A login for an unknown email still
//!   verifies against a fixed hash, so both answers take the same time.
//! - Access tokens: HS256 JWTs, 15 minutes. Validation accepts HS256 only, so
//!   `alg: none` and any other algorithm are refused.
//! - Refresh tokens: 32 random bytes (hex), stored only as their SHA-256.

use std::path::Path;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::StartupError;

/// Lifetime of an access token, in seconds (CONTRACT: at most 15 minutes).
pub const ACCESS_TOKEN_SECONDS: i64 = 15 * 60;
/// Lifetime of a refresh token, in milliseconds (30 days).
pub const REFRESH_TOKEN_MILLIS: i64 = 30 * 24 * 3600 * 1000;
/// Shortest accepted password, in characters (CONTRACT: fewer than 10 is weak).
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest accepted password, in bytes (bounds hashing work).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// The user id.
    sub: String,
    /// Issued at (seconds).
    iat: i64,
    /// Expires at (seconds).
    exp: i64,
    /// The user's session generation when it was issued.
    #[serde(default)]
    generation: i64,
    /// The session (login) it was issued to; absent in tokens issued
    /// before sessions were listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
}

/// What a valid access token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user.
    pub user: Uuid,
    /// The session generation it was issued in; it is void once the user's
    /// generation moved on (password change or reset, logout everywhere).
    pub generation: i64,
    /// When it expires, seconds since the epoch.
    pub expires_at: i64,
    /// The session it belongs to: void once that session ended (signed
    /// out, or ended from another device). `None` only in tokens issued
    /// before sessions were listed.
    pub session: Option<Uuid>,
}

/// Hashing and token keys, shared by every request.
pub struct Credentials {
    argon2: Argon2<'static>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// A hash of a random password, verified against when the email is unknown.
    decoy_hash: String,
    /// Password work running at once, bounded by the cores: each argon2id run
    /// holds 19 MiB, so without a bound a burst of sign-ins grows the
    /// relay's memory with its size; the rest wait their turn (running
    /// more at once than there are cores would not finish them sooner).
    hashing: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Credentials {
    /// Keys from `secret`, or from the secret kept in `data_dir` (generated on first start).
    pub fn new(secret: Option<&str>, data_dir: &Path) -> Result<Self, StartupError> {
        let secret = match secret {
            Some(s) => {
                crate::secrets::check("LIFEOS_JWT_SECRET", s).map_err(StartupError::Config)?;
                s.as_bytes().to_vec()
            }
            None => load_or_create_secret(data_dir)?,
        };
        let params =
            Params::new(19 * 1024, 2, 1, None).map_err(|e| StartupError::Config(e.to_string()))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let decoy_hash = argon2
            .hash_password(&random_bytes::<16>())
            .map_err(|e| StartupError::Config(e.to_string()))?
            .to_string();
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Ok(Credentials {
            argon2,
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            validation,
            decoy_hash,
            hashing: std::sync::Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            )),
        })
    }

    /// Runs `work` (hashing or verifying passwords) on a blocking thread as
    /// soon as one of the hashing slots is free.
    pub async fn password_work<T: Send + 'static>(
        self: &std::sync::Arc<Self>,
        work: impl FnOnce(&Credentials) -> T + Send + 'static,
    ) -> Result<T, String> {
        let permit = self
            .hashing
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let credentials = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&credentials)
        })
        .await
        .map_err(|e| e.to_string())
    }

    /// The PHC string of `password`'s argon2id hash. CPU-heavy: call through [`Self::password_work`].
    pub fn hash_password(&self, password: &str) -> Result<String, String> {
        self.argon2
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    }

    /// Whether `password` matches `hash`; with `None`, verifies against a decoy
    /// and returns false, taking as long as a real check. CPU-heavy: call
    /// through [`Self::password_work`].
    pub fn verify_password(&self, password: &str, hash: Option<&str>) -> bool {
        let ok = self
            .argon2
            .verify_password(password.as_bytes(), hash.unwrap_or(&self.decoy_hash))
            .is_ok();
        ok && hash.is_some()
    }

    /// A new access token for `user`'s session `session` in session
    /// generation `generation`, at `now_secs`.
    pub fn access_token(
        &self,
        user: Uuid,
        generation: i64,
        session: Uuid,
        now_secs: i64,
    ) -> Result<String, String> {
        let claims = Claims {
            sub: user.to_string(),
            iat: now_secs,
            exp: now_secs + ACCESS_TOKEN_SECONDS,
            generation,
            sid: Some(session.to_string()),
        };
        jsonwebtoken::encode(
            &Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &self.encoding,
        )
        .map_err(|e| e.to_string())
    }

    /// The claims of a valid, unexpired HS256 access token. The caller still
    /// checks the account (exists, enabled, same session generation).
    pub fn verify(&self, token: &str) -> Option<AccessClaims> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        let session = match data.claims.sid {
            Some(sid) => Some(sid.parse().ok()?),
            None => None,
        };
        Some(AccessClaims {
            user: data.claims.sub.parse().ok()?,
            generation: data.claims.generation,
            expires_at: data.claims.exp,
            session,
        })
    }
}

/// A new opaque refresh token and the hash that is stored.
pub fn new_refresh_token() -> (String, [u8; 32]) {
    let token: String = random_bytes::<32>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let hash = hash_refresh_token(&token);
    (token, hash)
}

/// A new password-reset token (192 random bits, 48 hex digits: short enough
/// for its own line in a mail) and the hash that is stored.
pub fn new_reset_token() -> (String, [u8; 32]) {
    new_token::<24>()
}

/// A new single-use token of `N` random bytes (hex) and the hash that is
/// stored: password resets (24 bytes), a login's second step (32).
pub fn new_token<const N: usize>() -> (String, [u8; 32]) {
    let token: String = random_bytes::<N>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let hash = hash_refresh_token(&token);
    (token, hash)
}

/// The stored form of a refresh token (and of a reset token).
pub fn hash_refresh_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Lower-cases and checks an email address: one `@`, a dot in the domain,
/// no spaces, at most 254 characters.
pub fn normalize_email(email: &str) -> Option<String> {
    let e = email.trim().to_lowercase();
    let (local, domain) = e.split_once('@')?;
    let ok = !local.is_empty()
        && e.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@');
    ok.then_some(e)
}

/// Why a password is refused, if it is.
pub fn password_problem(password: &str) -> Option<String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Some(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Some(format!(
            "the password must have at most {MAX_PASSWORD_BYTES} bytes"
        ));
    }
    None
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).expect("the operating system's random number generator is unavailable");
    b
}

fn load_or_create_secret(data_dir: &Path) -> Result<Vec<u8>, StartupError> {
    let path = data_dir.join("jwt-secret");
    if let Ok(existing) = std::fs::read(&path) {
        if existing.len() >= 32 {
            return Ok(existing);
        }
        return Err(StartupError::Config(format!(
            "{} is shorter than 32 bytes",
            path.display()
        )));
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| StartupError::Config(format!("cannot create {}: {e}", data_dir.display())))?;
    let secret: String = random_bytes::<48>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    write_private(&path, secret.as_bytes())
        .map_err(|e| StartupError::Config(format!("cannot write {}: {e}", path.display())))?;
    tracing::info!(path = %path.display(), "generated a signing secret");
    Ok(secret.into_bytes())
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials::new(Some(SECRET.as_str()), Path::new("/nonexistent")).unwrap()
    }

    /// A random secret per run: a value written here would be a shipped,
    /// public one, which the relay refuses (`crate::secrets`).
    static SECRET: std::sync::LazyLock<String> = std::sync::LazyLock::new(random_secret);

    fn random_secret() -> String {
        random_bytes::<32>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let c = creds();
        let h = c.hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(c.verify_password("correct horse battery", Some(&h)));
        assert!(!c.verify_password("wrong horse battery", Some(&h)));
        assert!(!c.verify_password("correct horse battery", None));
    }

    #[test]
    fn access_tokens_are_hs256_only() {
        let c = creds();
        let user = Uuid::new_v4();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let session = Uuid::new_v4();
        let token = c.access_token(user, 3, session, now).unwrap();
        let claims = c.verify(&token).unwrap();
        assert_eq!((claims.user, claims.generation), (user, 3));
        assert_eq!(claims.session, Some(session));
        assert_eq!(claims.expires_at, now + ACCESS_TOKEN_SECONDS);
        // Expired.
        assert_eq!(
            c.verify(
                &c.access_token(user, 0, session, now - ACCESS_TOKEN_SECONDS - 5)
                    .unwrap()
            ),
            None
        );
        // Another secret.
        let other = Credentials::new(Some(&random_secret()), Path::new("/nonexistent")).unwrap();
        assert_eq!(other.verify(&token), None);
        // alg: none, with the same claims.
        let parts: Vec<&str> = token.split('.').collect();
        let none_header = base64url(br#"{"alg":"none","typ":"JWT"}"#);
        assert_eq!(c.verify(&format!("{none_header}.{}.", parts[1])), None);
        // HS512 with the right secret is still refused.
        let hs512 = jsonwebtoken::encode(
            &Header::new(jsonwebtoken::Algorithm::HS512),
            &Claims {
                sub: user.to_string(),
                iat: now,
                exp: now + 60,
                generation: 0,
                sid: None,
            },
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap();
        assert_eq!(c.verify(&hs512), None);
        assert_eq!(c.verify("garbage"), None);
    }

    fn base64url(bytes: &[u8]) -> String {
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    #[test]
    fn emails_and_passwords() {
        assert_eq!(
            normalize_email("  Alice@Example.COM "),
            Some("alice@example.com".into())
        );
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@example.com",
            "alice@.com",
            "a@b@c.com",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad}");
        }
        assert!(password_problem("short").is_some());
        assert!(password_problem("ten chars!").is_none());
        assert!(password_problem(&"x".repeat(1025)).is_some());
    }

    #[test]
    fn secrets_are_generated_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("lifeos-secret-{}", Uuid::new_v4()));
        let a = load_or_create_secret(&dir).unwrap();
        let b = load_or_create_secret(&dir).unwrap();
        assert_eq!(a, b);
        assert!(a.len() >= 32);
        assert!(Credentials::new(Some("too short"), &dir).is_err());
        let shipped = "change-me-to-48-random-characters-change-me-change-me";
        assert!(Credentials::new(Some(shipped), &dir).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
