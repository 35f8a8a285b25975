//! The relay's HTTP side, as the CLI needs it: signing in, refreshing the
//! access token, signing out (CONTRACT.md, "Authentication").

use std::time::Duration;

use serde::Deserialize;

/// How long one HTTP request to the relay may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// What the relay answers to a login or a refresh.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenPair {
    /// For the sync connection, valid for minutes.
    pub access_token: String,
    /// For the next refresh (used once).
    pub refresh_token: String,
    /// Seconds the access token lives.
    pub expires_in: i64,
    /// Who signed in.
    pub user: SignedInUser,
}

/// What a right password answers.
#[derive(Debug, Clone)]
pub enum Login {
    /// Signed in.
    Tokens(TokenPair),
    /// The account has a second factor: send a code with this token within
    /// 5 minutes.
    SecondFactor {
        /// The single-use token of the second step.
        mfa_token: String,
    },
}

/// The login answer as the relay writes it (CONTRACT.md, "Second factor").
#[derive(Deserialize)]
#[serde(untagged)]
enum LoginAnswer {
    SecondFactor { mfa_token: String },
    Tokens(TokenPair),
}

/// The signed-in user.
#[derive(Debug, Clone, Deserialize)]
pub struct SignedInUser {
    /// Their id; their data's root document is derived from it.
    pub id: uuid::Uuid,
    /// Their email address.
    pub email: String,
}

/// Why talking to the relay failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// No answer (network down, wrong address, relay stopped).
    #[error("the relay at {url} cannot be reached ({cause})")]
    Unreachable {
        /// The relay's address.
        url: String,
        /// What the network said.
        cause: String,
    },
    /// Wrong credentials, or the session ended (logged out elsewhere,
    /// password changed): sign in again.
    #[error("{0}")]
    Refused(String),
    /// Too many attempts; try again later.
    #[error("the relay asks to wait {retry_after} seconds before trying again")]
    TooMany {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// The relay answered with another error.
    #[error("the relay answered {status}: {detail}")]
    Relay {
        /// HTTP status.
        status: u16,
        /// The relay's explanation.
        detail: String,
    },
    /// The address given is not a relay address.
    #[error("{0:?} is not a relay address: give one like https://relay.example.org")]
    BadAddress(String),
}

/// A relay, by its base address (`https://relay.example.org`).
#[derive(Debug, Clone)]
pub struct RelayApi {
    base: String,
    http: reqwest::Client,
}

impl RelayApi {
    /// The relay at `base` (http or https; a trailing `/` is ignored).
    pub fn new(base: &str) -> Result<RelayApi, RemoteError> {
        let base = base.trim().trim_end_matches('/').to_string();
        let parsed =
            reqwest::Url::parse(&base).map_err(|_| RemoteError::BadAddress(base.clone()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(RemoteError::BadAddress(base));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("lifeos-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RemoteError::Unreachable {
                url: base.clone(),
                cause: e.to_string(),
            })?;
        Ok(RelayApi { base, http })
    }

    /// The base address.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The WebSocket address of the sync endpoint.
    pub fn sync_url(&self) -> String {
        let rest = self
            .base
            .strip_prefix("https://")
            .map(|r| format!("wss://{r}"))
            .or_else(|| {
                self.base
                    .strip_prefix("http://")
                    .map(|r| format!("ws://{r}"))
            })
            .unwrap_or_else(|| self.base.clone());
        format!("{rest}/api/v1/sync")
    }

    /// Signs in with email and password; an account with a second factor
    /// answers [`Login::SecondFactor`] (then [`RelayApi::verify_second_factor`]).
    pub async fn login(&self, email: &str, password: &str) -> Result<Login, RemoteError> {
        let body = serde_json::json!({ "email": email, "password": password });
        let response = self.post("/api/v1/auth/login", &body).await?;
        match response.status().as_u16() {
            200 => {
                let answer: LoginAnswer =
                    response.json().await.map_err(|e| RemoteError::Relay {
                        status: 200,
                        detail: format!("an answer that is not a sign-in ({e})"),
                    })?;
                Ok(match answer {
                    LoginAnswer::SecondFactor { mfa_token } => Login::SecondFactor { mfa_token },
                    LoginAnswer::Tokens(pair) => Login::Tokens(pair),
                })
            }
            401 => Err(RemoteError::Refused("wrong email or password".to_string())),
            _ => Err(self.failure(response).await),
        }
    }

    /// The second step of a sign-in: `code` is the authenticator app's six
    /// digits or, in any other form, one of the account's recovery codes.
    pub async fn verify_second_factor(
        &self,
        mfa_token: &str,
        code: &str,
    ) -> Result<TokenPair, RemoteError> {
        let code = code.trim();
        let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let body = if digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()) {
            serde_json::json!({ "mfa_token": mfa_token, "code": digits })
        } else {
            serde_json::json!({ "mfa_token": mfa_token, "recovery_code": code })
        };
        let response = self.post("/api/v1/auth/mfa/verify", &body).await?;
        match response.status().as_u16() {
            200 => self.tokens(response).await,
            401 => {
                let detail = self.failure(response).await;
                Err(RemoteError::Refused(match detail {
                    RemoteError::Relay { detail, .. } => detail,
                    other => other.to_string(),
                }))
            }
            _ => Err(self.failure(response).await),
        }
    }

    /// A new token pair for `refresh_token` (which stops working).
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, RemoteError> {
        let body = serde_json::json!({ "refresh_token": refresh_token });
        let response = self.post("/api/v1/auth/refresh", &body).await?;
        match response.status().as_u16() {
            200 => self.tokens(response).await,
            401 => Err(RemoteError::Refused(
                "your session on the relay has ended (signed out, or the password changed): run `lifeos login`"
                    .to_string(),
            )),
            _ => Err(self.failure(response).await),
        }
    }

    /// Ends the session of `refresh_token` on the relay.
    pub async fn logout(&self, refresh_token: &str) -> Result<(), RemoteError> {
        let body = serde_json::json!({ "refresh_token": refresh_token });
        let response = self.post("/api/v1/auth/logout", &body).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(self.failure(response).await)
        }
    }

    async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<reqwest::Response, RemoteError> {
        self.http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))
    }

    async fn tokens(&self, response: reqwest::Response) -> Result<TokenPair, RemoteError> {
        response.json().await.map_err(|e| RemoteError::Relay {
            status: 200,
            detail: format!("an answer that is not a token pair ({e})"),
        })
    }

    async fn failure(&self, response: reqwest::Response) -> RemoteError {
        let status = response.status().as_u16();
        if status == 429 {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(60);
            return RemoteError::TooMany { retry_after };
        }
        let detail = response
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_string))
            .unwrap_or_else(|| "no explanation".to_string());
        RemoteError::Relay { status, detail }
    }

    fn unreachable(&self, e: &reqwest::Error) -> RemoteError {
        // The innermost cause says what happened ("Connection refused").
        let mut cause: &dyn std::error::Error = e;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        RemoteError::Unreachable {
            url: self.base.clone(),
            cause: cause.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_and_the_sync_url_follows_the_scheme() {
        let api = RelayApi::new("https://relay.example.org/").unwrap();
        assert_eq!(api.base(), "https://relay.example.org");
        assert_eq!(api.sync_url(), "wss://relay.example.org/api/v1/sync");
        let api = RelayApi::new("http://127.0.0.1:8080").unwrap();
        assert_eq!(api.sync_url(), "ws://127.0.0.1:8080/api/v1/sync");
        for bad in ["relay.example.org", "ftp://x", "", "http://"] {
            assert!(
                matches!(RelayApi::new(bad), Err(RemoteError::BadAddress(_))),
                "{bad:?}"
            );
        }
    }
}
