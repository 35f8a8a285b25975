//! The servers under test, each in its own process so that its CPU time and
//! memory are read apart from the load generator's (from /proc).

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Which server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `lifeos-relay`.
    Ours,
    /// The automerge-repo reference sync server (`bench/reference`).
    Reference,
}

impl Kind {
    /// For tables.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ours => "LifeOS relay",
            Kind::Reference => "automerge-repo server",
        }
    }
}

/// A server process on loopback.
pub struct Server {
    /// Which one.
    pub kind: Kind,
    child: Child,
    /// `127.0.0.1:PORT`.
    pub address: String,
    /// `sqlite` or `postgres` for ours, `files` for the reference.
    pub storage: &'static str,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts the relay binary `bin` on SQLite in a temporary directory, or
    /// on `postgres_url` (a database of its own, empty), with `env` set too.
    /// The per-address API limit is raised: one load generator stands for
    /// thousands of users' devices.
    pub fn ours(bin: &Path, postgres_url: Option<&str>, env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut command = Command::new(bin);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LIFEOS_BIND", "127.0.0.1:0")
            .env("LIFEOS_DATA_DIR", dir.path())
            .env("LIFEOS_LOG_FORMAT", "json")
            // Random per run: the relay refuses a secret written in the repository.
            .env("LIFEOS_JWT_SECRET", random_secret())
            .env("LIFEOS_API_RATE_PER_IP", "1000000")
            .env("RUST_LOG", "warn,lifeos_relay=info")
            .envs(env.iter().copied())
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(url) = postgres_url {
            command.env("DATABASE_URL", url);
        }
        let mut child = command.spawn().expect("the relay binary starts");
        let stderr = child.stderr.take().expect("piped");
        let address = first_line(stderr, |line| {
            serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v["address"].as_str().map(str::to_string))
        });
        Server {
            kind: Kind::Ours,
            child,
            address,
            storage: if postgres_url.is_some() {
                "postgres"
            } else {
                "sqlite"
            },
            _dir: dir,
        }
    }

    /// Starts `node server.mjs` of `reference_dir` (its `npm ci` done).
    pub fn reference(reference_dir: &Path) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new("node")
            .arg("server.mjs")
            .arg("0")
            .arg(dir.path())
            .current_dir(reference_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node starts the reference server");
        let stdout = child.stdout.take().expect("piped");
        let port = first_line(stdout, |line| {
            line.strip_prefix("listening ").map(str::to_string)
        });
        Server {
            kind: Kind::Reference,
            child,
            address: format!("127.0.0.1:{port}"),
            storage: "files",
            _dir: dir,
        }
    }

    /// A credential for a new user (ours: registers one; the reference
    /// server has no accounts).
    pub async fn user(&self, name: &str) -> Option<String> {
        if self.kind == Kind::Reference {
            return None;
        }
        let r = reqwest::Client::new()
            .post(format!("http://{}/api/v1/auth/register", self.address))
            .json(&serde_json::json!({
                "email": format!("{name}@bench.example"),
                "password": "bench password 123",
            }))
            .send()
            .await
            .expect("register");
        assert_eq!(r.status(), 201, "registering {name}");
        let body: serde_json::Value = r.json().await.expect("token pair");
        body["access_token"].as_str().map(str::to_string)
    }

    /// The WebSocket address a device connects to.
    pub fn url(&self, token: Option<&str>) -> String {
        match token {
            Some(t) => format!("ws://{}/api/v1/sync?token={t}", self.address),
            None => format!("ws://{}/", self.address),
        }
    }

    /// CPU seconds (user + system) the server has used.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds_of(&self.child.id().to_string())
    }

    /// Resident memory now and at its peak, in MB.
    pub fn memory_mb(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Stops it the way an operator would (SIGTERM), waiting for it.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads `from` on a thread until `pick` finds what it wants in a line
/// (then keeps draining it, so the server never blocks on a full pipe).
fn first_line(
    from: impl std::io::Read + Send + 'static,
    pick: impl Fn(&str) -> Option<String> + Send + 'static,
) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in std::io::BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if !sent && let Some(found) = pick(&line) {
                let _ = tx.send(found);
                sent = true;
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the server says where it listens")
}

/// CPU seconds (user + system) of process `pid` ("self" for this one).
pub fn cpu_seconds_of(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses).
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// 32 random bytes as hex, from the kernel (the load generator runs on Linux).
fn random_secret() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("/dev/urandom is readable");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
