//! The relay's configuration: one clap struct, every field also an
//! environment variable (CONTRACT.md "Running the relay"). A `.env` file in
//! the working directory is read first; the real environment wins over it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::error::StartupError;

/// `lifeos-relay`: accounts, durable storage and sync for LifeOS devices.
#[derive(Debug, Parser)]
#[command(name = "lifeos-relay", version, about, long_about = None)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings shared by every command.
    #[command(flatten)]
    pub config: Config,
}

/// The relay's commands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Apply pending database migrations, then serve the HTTP API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Ask the relay listening on `LIFEOS_BIND` whether it is ready
    /// (`GET /readyz`); exit 0 if so. The container image's HEALTHCHECK: no
    /// curl needed in the image.
    Healthcheck,
    /// Print the REST API's OpenAPI document (the one served at
    /// `/api/v1/openapi.json`) and exit: for generating clients offline.
    Openapi,
    /// Write every account, session, audit event and document to FILE, a
    /// versioned archive (a consistent moment, even while relays run).
    Backup {
        /// Where to write the archive (replaced once complete).
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore an archive made by `backup` into this relay's database, which
    /// must be new and empty; either backend, whatever the archive's source
    /// (so it also moves a relay from SQLite to Postgres).
    Restore {
        /// The archive.
        #[arg(long)]
        from: PathBuf,
    },
    /// Manage accounts.
    User {
        /// What to do.
        #[command(subcommand)]
        action: UserAction,
    },
}

/// Account management for operators.
#[derive(Debug, Clone, Subcommand)]
pub enum UserAction {
    /// Create an account; the password is read from standard input (one line),
    /// so that it never appears in the process list or the shell history.
    Create {
        /// The account's email.
        #[arg(long)]
        email: String,
    },
    /// List every account.
    List,
    /// Disable an account: it can no longer log in, and its sessions end.
    Disable {
        /// The account's email.
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled account again.
    Enable {
        /// The account's email.
        #[arg(long)]
        email: String,
    },
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Every setting of the relay.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(long, env = "LIFEOS_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Database: `sqlite://PATH` (default: `sqlite://<data dir>/lifeos.db`) or `postgres://...`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Directory for the embedded database, the generated signing key and other state.
    #[arg(long, env = "LIFEOS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Secret for signing access tokens (HS256). Generated and kept in the data
    /// directory when absent; set it when several relays share one database.
    #[arg(long, env = "LIFEOS_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Whether new accounts may register.
    #[arg(long, env = "LIFEOS_SIGNUPS_ALLOWED", default_value_t = true, action = ArgAction::Set)]
    pub signups_allowed: bool,

    /// Write every mail the relay would send as an `.eml` file in this directory.
    #[arg(long, env = "LIFEOS_MAIL_OUTBOX_DIR")]
    pub mail_outbox_dir: Option<PathBuf>,

    /// Send mail through this SMTP server: `smtps://user:pass@host:465` (TLS),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS) or `smtp://host:25`
    /// (plain, for a relay on the same machine). Wins over the outbox.
    #[arg(long, env = "LIFEOS_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of the relay's mail.
    #[arg(
        long,
        env = "LIFEOS_MAIL_FROM",
        default_value = "LifeOS <no-reply@localhost>"
    )]
    pub mail_from: String,

    /// Log format.
    #[arg(long, env = "LIFEOS_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Largest WebSocket frame accepted, in bytes.
    #[arg(long, env = "LIFEOS_MAX_FRAME_BYTES", default_value_t = lifeos_core::sync::DEFAULT_MAX_FRAME)]
    pub max_frame_bytes: usize,

    /// Largest HTTP request body accepted, in bytes.
    #[arg(long, env = "LIFEOS_MAX_BODY_BYTES", default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

    /// REST API requests (data, export, audit, me) one account may make per
    /// minute; beyond it the relay answers 429 with `Retry-After`.
    #[arg(long, env = "LIFEOS_API_RATE_PER_USER", default_value_t = 600, value_parser = clap::value_parser!(u32).range(1..))]
    pub api_rate_per_user: u32,

    /// REST API requests one client address may make per minute, whoever
    /// is signed in (or not).
    #[arg(long, env = "LIFEOS_API_RATE_PER_IP", default_value_t = 1200, value_parser = clap::value_parser!(u32).range(1..))]
    pub api_rate_per_ip: u32,

    /// Messages queued for one sync connection before it counts as too slow
    /// and is disconnected (it reconnects and catches up).
    #[arg(long, env = "LIFEOS_SEND_QUEUE", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub send_queue: u32,

    /// Seconds between keepalive pings on sync connections; a connection that
    /// does not answer by the next ping is closed.
    #[arg(long, env = "LIFEOS_PING_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ping_secs: u64,

    /// Seconds a document stays in memory after its last peer left and its
    /// last change was stored.
    #[arg(long, env = "LIFEOS_DOC_IDLE_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub doc_idle_secs: u64,

    /// Logged changes after which a document's log is folded into a new snapshot.
    #[arg(long, env = "LIFEOS_COMPACT_AFTER", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(2..))]
    pub compact_after: u32,

    /// With several relays on one Postgres database: seconds between checks
    /// that this relay's documents in memory have every change the others
    /// stored, in case a notification was lost. Notifications normally bring
    /// them within milliseconds.
    #[arg(long, env = "LIFEOS_CATCH_UP_SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub catch_up_secs: u64,

    /// Serves Prometheus metrics at `/metrics` to requests carrying
    /// `Authorization: Bearer <this token>`; without it there is no `/metrics`.
    #[arg(long, env = "LIFEOS_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// The built web app (made by `web/build.sh`), served at `/` when present.
    #[arg(long, env = "LIFEOS_WEB_DIR", default_value = "./web/dist")]
    pub web_dir: PathBuf,

    /// Days audit events are kept; older ones are deleted daily. 0 keeps them forever.
    #[arg(long, env = "LIFEOS_AUDIT_RETENTION_DAYS", default_value_t = 365)]
    pub audit_retention_days: u32,

    /// The relay is reached through HTTPS (a TLS reverse proxy in front of
    /// it): responses then carry `Strict-Transport-Security`, so browsers
    /// refuse plain HTTP to this host from then on. Set it only when every
    /// client reaches the relay over HTTPS.
    #[arg(long, env = "LIFEOS_BEHIND_TLS", default_value_t = false, action = ArgAction::Set)]
    pub behind_tls: bool,

    /// Reverse proxies whose `X-Forwarded-For` is believed, as addresses or
    /// CIDR ranges separated by commas (`127.0.0.1,10.0.0.0/8`). A request
    /// from one of them counts as coming from the last address in that
    /// header that is not itself a trusted proxy (rate limits, audit log).
    /// Empty: the TCP peer is the client, and the header is ignored.
    #[arg(long, env = "LIFEOS_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_network)]
    pub trusted_proxies: Vec<Network>,
}

/// Where the relay keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An SQLite file.
    Sqlite(PathBuf),
    /// A Postgres connection string.
    Postgres(String),
}

/// An IP network: an address and how many leading bits of it count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: std::net::IpAddr,
    prefix: u8,
}

impl Network {
    /// Whether `ip` is in the network (an IPv4 address written as IPv6,
    /// `::ffff:a.b.c.d`, counts as the IPv4 address).
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        let mask = |bits: u32, width: u32| -> u128 {
            if bits == 0 {
                0
            } else {
                (!0u128 << (width - bits)) & (!0u128 >> (128 - width))
            }
        };
        match (self.address, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let m = mask(u32::from(self.prefix), 32);
                u128::from(u32::from(net)) & m == u128::from(u32::from(ip)) & m
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let m = mask(u32::from(self.prefix), 128);
                u128::from(net) & m == u128::from(ip) & m
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for Network {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_network(s)
    }
}

/// `ADDRESS` or `ADDRESS/PREFIX`.
fn parse_network(s: &str) -> Result<Network, String> {
    let s = s.trim();
    let (address, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let address: std::net::IpAddr = address
        .parse()
        .map_err(|_| format!("{s:?} is not an IP address or CIDR range"))?;
    let address = address.to_canonical();
    let width = if address.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        None => width,
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= width)
            .ok_or_else(|| format!("{s:?}: the prefix must be 0 to {width}"))?,
    };
    Ok(Network { address, prefix })
}

impl Config {
    /// Refuses secrets anyone could know or guess (`crate::secrets`): the
    /// signing secret, the metrics token, and a shipped placeholder as the
    /// database password. The relay does not start with one.
    pub fn check_secrets(&self) -> Result<(), StartupError> {
        let refuse = StartupError::Config;
        if let Some(secret) = &self.jwt_secret {
            crate::secrets::check("LIFEOS_JWT_SECRET", secret).map_err(refuse)?;
        }
        if let Some(token) = &self.metrics_token {
            crate::secrets::check("LIFEOS_METRICS_TOKEN", token).map_err(refuse)?;
        }
        if let Some(url) = &self.database_url {
            crate::secrets::check_database_url(url).map_err(refuse)?;
        }
        Ok(())
    }

    /// The database to use: `DATABASE_URL`, or the SQLite file in the data directory.
    pub fn database(&self) -> Result<DatabaseUrl, StartupError> {
        let Some(url) = &self.database_url else {
            return Ok(DatabaseUrl::Sqlite(self.data_dir.join("lifeos.db")));
        };
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StartupError::Config(
                    "DATABASE_URL sqlite:// needs a file path".into(),
                ));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.clone()));
        }
        Err(StartupError::Config(
            "DATABASE_URL must start with sqlite:// or postgres://".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("lifeos-relay").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn defaults_match_the_contract() {
        let cli = parse(&[]);
        assert!(cli.command.is_none());
        assert_eq!(cli.config.bind.to_string(), "127.0.0.1:8080");
        assert!(cli.config.signups_allowed);
        assert_eq!(
            cli.config.database().unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("./data/lifeos.db"))
        );
    }

    #[test]
    fn database_urls() {
        let mut c = parse(&["--database-url", "sqlite:///var/lib/lifeos/db.sqlite"]).config;
        assert_eq!(
            c.database().unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("/var/lib/lifeos/db.sqlite"))
        );
        c.database_url = Some("postgres://u@h/db".into());
        assert_eq!(
            c.database().unwrap(),
            DatabaseUrl::Postgres("postgres://u@h/db".into())
        );
        c.database_url = Some("mysql://nope".into());
        assert!(c.database().is_err());
        c.database_url = Some("sqlite://".into());
        assert!(c.database().is_err());
    }

    #[test]
    fn commands_and_flags() {
        let cli = parse(&[
            "--signups-allowed",
            "false",
            "--log-format",
            "json",
            "migrate",
        ]);
        assert!(matches!(cli.command, Some(Command::Migrate)));
        assert!(!cli.config.signups_allowed);
        assert_eq!(cli.config.log_format, LogFormat::Json);
        assert!(Cli::try_parse_from(["lifeos-relay", "--bind", "not-an-address"]).is_err());
    }
}

#[cfg(test)]
mod network_tests {
    use super::*;

    #[test]
    fn networks_parse_and_contain() {
        let net = parse_network("10.0.0.0/8").unwrap();
        assert!(net.contains("10.200.3.4".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(!net.contains("::1".parse().unwrap()));
        let one = parse_network(" 127.0.0.1 ").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let v6 = parse_network("fd00::/8").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("fe80::1".parse().unwrap()));
        assert!(
            parse_network("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(parse_network("10.0.0.0/33").is_err());
        assert!(parse_network("proxy.local").is_err());
        assert!(parse_network("10.0.0.0/x").is_err());
    }
}
