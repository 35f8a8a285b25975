//! The `lifeos` binary against a real relay (in this process, on a port of
//! its own, SQLite in a temporary directory), with a second, native device
//! of the same user built directly on `lifeos-core`'s sync engine: they
//! converge; edits made while the relay is down are kept and sync later;
//! data made before signing in joins the account; sessions end cleanly.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use lifeos_core::sync::{
    ClientConnection, ClientOutput, DEFAULT_MAX_FRAME, DeviceDocuments, DeviceSync, Event, PeerId,
    PeerMetadata, codec,
};
use lifeos_core::tasks::NewTask;
use lifeos_core::time::Timestamp;
use lifeos_core::{DocumentId, UserData};
use lifeos_relay::config::{Config, LogFormat};
use lifeos_relay::features::Features;
use serde_json::Value;
use tokio::runtime::Runtime;
use tokio_tungstenite::tungstenite;

const PASSWORD: &str = "a long enough password";

/// A relay serving on a fixed address until stopped.
struct Relay {
    address: SocketAddr,
    dir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

fn config(dir: &Path) -> Config {
    Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        database_url: Some(format!("sqlite://{}", dir.join("lifeos.db").display())),
        data_dir: dir.to_path_buf(),
        // Random per run: the relay refuses a secret written in the repository.
        jwt_secret: Some(format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        )),
        signups_allowed: true,
        mail_outbox_dir: Some(dir.join("outbox")),
        smtp_url: None,
        mail_from: "LifeOS <no-reply@localhost>".into(),
        log_format: LogFormat::Text,
        max_frame_bytes: DEFAULT_MAX_FRAME,
        max_body_bytes: 64 * 1024,
        api_rate_per_user: 600,
        api_rate_per_ip: 1200,
        send_queue: 1024,
        ping_secs: 30,
        doc_idle_secs: 300,
        compact_after: 1000,
        catch_up_secs: 5,
        metrics_token: None,
        trusted_proxies: Vec::new(),
        behind_tls: false,
        audit_retention_days: 365,
        web_dir: dir.join("web"),
    }
}

impl Relay {
    fn start(rt: &Runtime, dir: &Path, address: &str) -> Relay {
        let config = config(dir);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (address, task) = rt.block_on(async move {
            let state = lifeos_relay::build(config, Features::default())
                .await
                .expect("relay starts");
            let listener = tokio::net::TcpListener::bind(address).await.unwrap();
            let address = listener.local_addr().unwrap();
            let task = tokio::spawn(async move {
                lifeos_relay::serve(listener, state, async {
                    let _ = rx.await;
                })
                .await
                .expect("relay serves");
            });
            (address, task)
        });
        Relay {
            address,
            dir: dir.to_path_buf(),
            stop: Some(tx),
            task: Some(task),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    fn stop(&mut self, rt: &Runtime) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            rt.block_on(task).unwrap();
        }
    }

    /// The same database, on the same address again.
    fn restart(&mut self, rt: &Runtime) {
        self.stop(rt);
        *self = Relay::start(rt, &self.dir.clone(), &self.address.to_string());
    }

    fn register(&self, rt: &Runtime, email: &str) -> Value {
        self.post(rt, "/api/v1/auth/register", email, 201)
    }

    fn login(&self, rt: &Runtime, email: &str) -> Value {
        self.post(rt, "/api/v1/auth/login", email, 200)
    }

    fn post(&self, rt: &Runtime, path: &str, email: &str, status: u16) -> Value {
        let url = format!("{}{path}", self.url());
        rt.block_on(async {
            let r = reqwest::Client::new()
                .post(url)
                .json(&serde_json::json!({ "email": email, "password": PASSWORD }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), status);
            r.json().await.unwrap()
        })
    }
}

fn lifeos(dir: &Path, args: &[&str]) -> Output {
    lifeos_with_input(dir, args, None)
}

fn lifeos_with_input(dir: &Path, args: &[&str], input: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lifeos"))
        .arg("--data-dir")
        .arg(dir)
        .args(["--tz", "UTC"])
        .args(args)
        .env_remove("LIFEOS_DATA_DIR")
        .env_remove("LIFEOS_RELAY")
        .env("LIFEOS_CURRENCY", "EUR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lifeos runs");
    if let Some(input) = input
        && let Some(mut stdin) = child.stdin.take()
    {
        // lifeos may exit before reading (a bad address is refused before
        // the password is read): a broken pipe here is not a failure.
        let _ = stdin.write_all(input.as_bytes());
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_str(&ok(o)).expect("--json prints JSON")
}

fn login(dir: &Path, relay: &Relay, email: &str) -> Output {
    lifeos_with_input(
        dir,
        &[
            "login",
            "--relay",
            &relay.url(),
            "--email",
            email,
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    )
}

fn titles(dir: &Path) -> Vec<String> {
    let list = json(&lifeos(dir, &["--json", "task", "list", "--all"]));
    let mut titles: Vec<String> = list["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_string())
        .collect();
    titles.sort();
    titles
}

/// A device built directly on `lifeos-core` (as a native app would be),
/// independent of the CLI's own sync code.
struct NativeDevice {
    sync: DeviceSync,
    socket: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    connection: ClientConnection,
}

impl NativeDevice {
    async fn connect(relay: &Relay, access: &str, root: DocumentId) -> NativeDevice {
        let url = format!("ws://{}/api/v1/sync?token={access}", relay.address);
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let peer = PeerId::new("native-phone").unwrap();
        let (connection, join) = ClientConnection::start(
            peer.clone(),
            PeerMetadata {
                storage_id: None,
                is_ephemeral: false,
            },
            DEFAULT_MAX_FRAME,
        );
        socket
            .send(tungstenite::Message::Binary(join.into()))
            .await
            .unwrap();
        NativeDevice {
            sync: DeviceSync::new(peer, DeviceDocuments::new(root)),
            socket,
            connection,
        }
    }

    async fn send(&mut self, out: Vec<ClientOutput>) {
        for o in out {
            if let ClientOutput::Send(m) = o {
                let frame = codec::encode(&m);
                self.socket
                    .send(tungstenite::Message::Binary(frame.into()))
                    .await
                    .unwrap();
            }
        }
    }

    /// Exchanges messages until `done` holds (or panics after 10 s).
    async fn run_until(&mut self, mut done: impl FnMut(&mut DeviceSync) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(&mut self.sync) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "the native device did not get there in 10 s"
            );
            let Ok(Some(Ok(frame))) = tokio::time::timeout(left, self.socket.next()).await else {
                continue;
            };
            let tungstenite::Message::Binary(bytes) = frame else {
                continue;
            };
            for event in self.connection.receive(&bytes).unwrap() {
                let out = match event {
                    Event::Send(f) => {
                        self.socket
                            .send(tungstenite::Message::Binary(f.into()))
                            .await
                            .unwrap();
                        Vec::new()
                    }
                    Event::Joined { peer, .. } => self.sync.connected(peer),
                    Event::Document(m) => self.sync.receive(&m).unwrap(),
                    Event::Close { reason } => panic!("relay closed: {reason}"),
                    Event::Ignored { .. } => Vec::new(),
                };
                self.send(out).await;
            }
        }
    }

    fn data(&mut self) -> &mut UserData {
        self.sync.documents_mut().data_mut().expect("data is here")
    }

    fn titles(&mut self) -> Vec<String> {
        let mut titles: Vec<String> = self
            .data()
            .tasks()
            .unwrap()
            .into_iter()
            .map(|t| t.title)
            .collect();
        titles.sort();
        titles
    }

    async fn add_task(&mut self, title: &str) {
        let now = Timestamp::from_millis(1_795_000_000_000);
        let before = self.data().heads();
        self.data()
            .add_task(
                now,
                NewTask {
                    title: title.into(),
                    ..NewTask::default()
                },
            )
            .unwrap();
        for id in self.data().changed_since(&before) {
            let out = self.sync.local_change(id);
            self.send(out).await;
        }
    }
}

#[test]
fn a_cli_device_and_a_native_device_converge_and_offline_edits_sync_later() {
    let rt = Runtime::new().unwrap();
    let relay_dir = tempfile::tempdir().unwrap();
    let mut relay = Relay::start(&rt, relay_dir.path(), "127.0.0.1:0");
    let email = "ada@example.org";
    let pair = relay.register(&rt, email);
    let user: uuid::Uuid = pair["user"]["id"].as_str().unwrap().parse().unwrap();

    // Before signing in, the laptop is used offline.
    let laptop = tempfile::tempdir().unwrap();
    ok(&lifeos(
        laptop.path(),
        &["task", "add", "Call mom tomorrow #family @phone"],
    ));
    ok(&lifeos(
        laptop.path(),
        &["expense", "add", "12.50", "groceries", "--payee", "Bakery"],
    ));
    ok(&lifeos(laptop.path(), &["habit", "add", "Meditate"]));
    let status = json(&lifeos(laptop.path(), &["--json", "status"]));
    assert!(status["account"].is_null());
    assert!(status["pending"].as_u64().unwrap() > 0, "{status}");

    // Signing in syncs, and the offline data joins the account.
    let out = login(laptop.path(), &relay, email);
    let text = ok(&out);
    assert!(text.contains("Signed in as ada@example.org"), "{text}");
    let status = json(&lifeos(laptop.path(), &["--json", "status"]));
    assert_eq!(status["account"]["signed_in"], true);
    assert_eq!(status["pending"], 0, "{status}");
    assert!(status["last_sync"].is_number());

    // A native device of the same user finds everything.
    let root = DocumentId::root_of_user(&user);
    let access = relay.login(&rt, email)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut phone = rt.block_on(NativeDevice::connect(&relay, &access, root));
    rt.block_on(
        phone.run_until(|s| s.documents().data().is_some() && s.documents().wanted().is_empty()),
    );
    assert_eq!(phone.titles(), vec!["Call mom"]);
    assert_eq!(phone.data().expenses().unwrap().len(), 1);
    assert_eq!(phone.data().habits().unwrap()[0].name, "Meditate");

    // The phone adds a task; the laptop's next sync brings it.
    rt.block_on(async {
        phone.add_task("Buy stamps").await;
        phone.run_until(|s| s.unconfirmed_changes() == 0).await;
    });
    let synced = json(&lifeos(laptop.path(), &["--json", "sync"]));
    assert_eq!(synced["sync"]["pending"], 0);
    assert!(
        synced["sync"]["received"].as_u64().unwrap() >= 1,
        "{synced}"
    );
    assert_eq!(titles(laptop.path()), vec!["Buy stamps", "Call mom"]);

    // The relay goes away: the laptop keeps working, and says so.
    relay.stop(&rt);
    ok(&lifeos(
        laptop.path(),
        &["task", "add", "Written on the train"],
    ));
    let failed = lifeos(laptop.path(), &["sync"]);
    assert_eq!(failed.status.code(), Some(4), "unreachable relay: exit 4");
    let message = String::from_utf8_lossy(&failed.stderr);
    assert!(message.contains("cannot be reached"), "{message}");
    assert!(message.contains("safe"), "{message}");
    let status = json(&lifeos(laptop.path(), &["--json", "status"]));
    assert!(status["pending"].as_u64().unwrap() >= 1, "{status}");
    assert_eq!(
        titles(laptop.path()),
        vec!["Buy stamps", "Call mom", "Written on the train"]
    );

    // Back online: the edit reaches the phone.
    relay.restart(&rt);
    ok(&lifeos(laptop.path(), &["sync"]));
    let status = json(&lifeos(laptop.path(), &["--json", "status"]));
    assert_eq!(status["pending"], 0);
    let access = relay.login(&rt, email)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut phone = rt.block_on(NativeDevice::connect(&relay, &access, root));
    rt.block_on(phone.run_until(|s| {
        s.documents()
            .data()
            .is_some_and(|d| d.tasks().map(|t| t.len() == 3).unwrap_or(false))
    }));
    assert_eq!(
        phone.titles(),
        vec!["Buy stamps", "Call mom", "Written on the train"]
    );

    // A second CLI device with offline data of its own: after login it has
    // everything, and its own task reaches the laptop.
    let desktop = tempfile::tempdir().unwrap();
    ok(&lifeos(desktop.path(), &["task", "add", "Desk lamp"]));
    ok(&login(desktop.path(), &relay, email));
    assert_eq!(
        titles(desktop.path()),
        vec![
            "Buy stamps",
            "Call mom",
            "Desk lamp",
            "Written on the train"
        ]
    );
    ok(&lifeos(laptop.path(), &["sync"]));
    assert_eq!(
        titles(laptop.path()),
        vec![
            "Buy stamps",
            "Call mom",
            "Desk lamp",
            "Written on the train"
        ]
    );
    relay.stop(&rt);
}

#[test]
fn sessions_are_refused_ended_and_never_mixed_up() {
    let rt = Runtime::new().unwrap();
    let relay_dir = tempfile::tempdir().unwrap();
    let mut relay = Relay::start(&rt, relay_dir.path(), "127.0.0.1:0");
    relay.register(&rt, "ada@example.org");
    relay.register(&rt, "bob@example.org");
    let dir = tempfile::tempdir().unwrap();

    // Not signed in: sync says how to sign in (exit 3).
    let out = lifeos(dir.path(), &["sync"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lifeos login"));

    // A wrong password is refused (exit 3) and nothing is recorded.
    let out = lifeos_with_input(
        dir.path(),
        &[
            "--json",
            "login",
            "--relay",
            &relay.url(),
            "--email",
            "ada@example.org",
            "--password-stdin",
        ],
        Some("not the password\n"),
    );
    assert_eq!(out.status.code(), Some(3));
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["exit_code"], 3);
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("wrong email or password")
    );

    // A bad address and an unreachable relay.
    let out = lifeos_with_input(
        dir.path(),
        &[
            "login",
            "--relay",
            "relay.example.org",
            "--email",
            "a@b.c",
            "--password-stdin",
        ],
        Some("x\n"),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a relay address"));

    ok(&login(dir.path(), &relay, "ada@example.org"));
    ok(&lifeos(dir.path(), &["task", "add", "Ada's task"]));
    ok(&lifeos(dir.path(), &["sync"]));

    // Another account on a device holding Ada's data is refused.
    let out = login(dir.path(), &relay, "bob@example.org");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds the data of ada@example.org"));
    assert_eq!(titles(dir.path()), vec!["Ada's task"]);

    // Signing out ends the session on the relay; the data stays.
    let text = ok(&lifeos(dir.path(), &["logout"]));
    assert!(text.contains("Signed out"), "{text}");
    assert_eq!(titles(dir.path()), vec!["Ada's task"]);
    let out = lifeos(dir.path(), &["sync"]);
    assert_eq!(out.status.code(), Some(3));
    let status = json(&lifeos(dir.path(), &["--json", "status"]));
    assert_eq!(status["account"]["signed_in"], false);

    // Signing in again continues where it was.
    ok(&login(dir.path(), &relay, "ada@example.org"));
    ok(&lifeos(dir.path(), &["task", "add", "Second"]));
    ok(&lifeos(dir.path(), &["sync"]));
    assert_eq!(titles(dir.path()), vec!["Ada's task", "Second"]);
    relay.stop(&rt);
}

/// Seconds since the epoch, as the relay's clock reads them.
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The TOTP code of the step `offset` steps from now.
fn totp(secret: &[u8], offset: i64) -> String {
    let at = now_secs() as i64 + 30 * offset;
    lifeos_relay::mfa::totp_code(secret, at as u64).unwrap()
}

/// Turns two-step sign-in on for the account of `access` (confirming with
/// the previous step's code); returns the secret and the recovery codes.
fn enrol(rt: &Runtime, relay: &Relay, access: &str) -> (Vec<u8>, Vec<String>) {
    // Not near the end of a step, so the codes below stay in the window.
    let into = now_secs() % 30;
    if into > 20 {
        std::thread::sleep(Duration::from_secs(31 - into));
    }
    rt.block_on(async {
        let http = reqwest::Client::new();
        let enrolment: Value = http
            .post(format!("{}/api/v1/auth/mfa/totp", relay.url()))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let secret =
            lifeos_relay::mfa::secret_from_base32(enrolment["secret"].as_str().unwrap()).unwrap();
        let r = http
            .post(format!("{}/api/v1/auth/mfa/totp/confirm", relay.url()))
            .bearer_auth(access)
            .json(&serde_json::json!({ "code": totp(&secret, -1) }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let codes: Value = r.json().await.unwrap();
        let codes = codes["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        (secret, codes)
    })
}

#[test]
fn login_asks_for_the_second_factor_when_the_account_has_one() {
    let rt = Runtime::new().unwrap();
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&rt, relay_dir.path(), "127.0.0.1:0");
    let email = "mfa@example.org";
    let access = relay.register(&rt, email)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (secret, recovery) = enrol(&rt, &relay, &access);
    let url = relay.url();
    let login_with = |dir: &Path, extra: &[&str], input: &str| {
        let mut args = vec![
            "login",
            "--relay",
            &url,
            "--email",
            email,
            "--password-stdin",
        ];
        args.extend_from_slice(extra);
        lifeos_with_input(dir, &args, Some(input))
    };
    let dir = tempfile::tempdir().unwrap();
    let stderr = |o: &Output| String::from_utf8_lossy(&o.stderr).into_owned();

    // The password alone is not enough, and says what is missing.
    let out = login_with(dir.path(), &[], &format!("{PASSWORD}\n"));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("two-step sign-in"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--code"), "{}", stderr(&out));

    // A wrong code is refused in words, and nothing is signed in.
    let right: Vec<String> = (-1..=1).map(|o| totp(&secret, o)).collect();
    let wrong = (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| !right.contains(c))
        .unwrap();
    let out = login_with(dir.path(), &["--code", &wrong], &format!("{PASSWORD}\n"));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the code is not right"),
        "{}",
        stderr(&out)
    );
    let status = json(&lifeos(dir.path(), &["--json", "status"]));
    assert!(status["account"].is_null(), "{status}");

    // The code of the step after the enrolment's signs in ...
    let code = totp(&secret, 0);
    ok(&login_with(
        dir.path(),
        &["--code", &code],
        &format!("{PASSWORD}\n"),
    ));
    let status = json(&lifeos(dir.path(), &["--json", "status"]));
    assert_eq!(status["account"]["email"], email, "{status}");

    // ... once: on another device it is refused as used.
    let other = tempfile::tempdir().unwrap();
    let out = login_with(other.path(), &["--code", &code], &format!("{PASSWORD}\n"));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));

    // A recovery code, read from the line after the password, signs in once.
    let line = format!("{PASSWORD}\n{}\n", recovery[0]);
    ok(&login_with(other.path(), &[], &line));
    let third = tempfile::tempdir().unwrap();
    let out = login_with(third.path(), &[], &line);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the code is not right"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn sync_watch_stays_connected_both_ways_survives_a_relay_restart_and_stops_on_ctrl_c() {
    let rt = Runtime::new().unwrap();
    let relay_dir = tempfile::tempdir().unwrap();
    let mut relay = Relay::start(&rt, relay_dir.path(), "127.0.0.1:0");
    let email = "watch@example.org";
    let pair = relay.register(&rt, email);
    let user: uuid::Uuid = pair["user"]["id"].as_str().unwrap().parse().unwrap();
    let laptop = tempfile::tempdir().unwrap();
    ok(&lifeos(laptop.path(), &["task", "add", "First"]));
    ok(&login(laptop.path(), &relay, email));

    let mut watch = Command::new(env!("CARGO_BIN_EXE_lifeos"))
        .arg("--data-dir")
        .arg(laptop.path())
        .args(["sync", "--watch"])
        .env_remove("LIFEOS_DATA_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let root = DocumentId::root_of_user(&user);
    let access = relay.login(&rt, email)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut phone = rt.block_on(NativeDevice::connect(&relay, &access, root));
    rt.block_on(
        phone.run_until(|s| s.documents().data().is_some() && s.documents().wanted().is_empty()),
    );

    // The phone's edit lands in the replica without any command.
    rt.block_on(async {
        phone.add_task("From the phone").await;
        phone.run_until(|s| s.unconfirmed_changes() == 0).await;
    });
    wait_for(|| titles(laptop.path()).contains(&"From the phone".to_string()));

    // A command in another terminal: the watching process sends it.
    ok(&lifeos(
        laptop.path(),
        &["task", "add", "From another terminal"],
    ));
    rt.block_on(phone.run_until(|s| {
        s.documents().data().is_some_and(|d| {
            d.tasks()
                .unwrap()
                .iter()
                .any(|t| t.title == "From another terminal")
        })
    }));

    // The relay restarts: the watcher reconnects by itself.
    relay.restart(&rt);
    ok(&lifeos(
        laptop.path(),
        &["task", "add", "After the restart"],
    ));
    let access = relay.login(&rt, email)["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut phone = rt.block_on(NativeDevice::connect(&relay, &access, root));
    rt.block_on(phone.run_until(|s| {
        s.documents().data().is_some_and(|d| {
            d.tasks()
                .unwrap()
                .iter()
                .any(|t| t.title == "After the restart")
        })
    }));
    wait_for(|| json(&lifeos(laptop.path(), &["--json", "status"]))["pending"] == 0);

    // Ctrl-C: a clean stop, everything written.
    let interrupted = Command::new("kill")
        .args(["-INT", &watch.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while watch.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "sync --watch did not stop on Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = watch.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Synced"));
    // Not a terminal: no progress spinner, no escape codes.
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(!stderr.contains("syncing"), "{stderr:?}");
    relay.stop(&rt);
}

/// Polls `done` every 100 ms for up to 10 s.
fn wait_for(mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "not within 10 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_devices_with_their_own_data_sign_in_and_merge_what_is_alike_and_the_later_edit_wins() {
    let rt = Runtime::new().unwrap();
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&rt, relay_dir.path(), "127.0.0.1:0");
    let email = "sam@example.org";
    relay.register(&rt, email);

    // Each device is used before signing in: the same habit, the same task,
    // one category in two spellings.
    let (laptop, desktop) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (dir, category) in [(laptop.path(), "Transport"), (desktop.path(), "transport")] {
        ok(&lifeos(dir, &["habit", "add", "Meditate"]));
        ok(&lifeos(dir, &["habit", "check", "Meditate"]));
        ok(&lifeos(dir, &["task", "add", "Plan the trip"]));
        ok(&lifeos(
            dir,
            &["expense", "add", "3.20", category, "--payee", "Bus"],
        ));
    }
    ok(&login(laptop.path(), &relay, email));
    let text = ok(&login(desktop.path(), &relay, email));
    // Nothing was dropped; the likely duplicates are pointed out.
    assert!(text.contains("3 record(s) look like duplicates"), "{text}");
    let listed = ok(&lifeos(desktop.path(), &["duplicates"]));
    assert!(
        listed.contains("1. habit \"Meditate\": 2 of them"),
        "{listed}"
    );
    assert!(
        listed.contains("category \"Transport\": 2 of them"),
        "{listed}"
    );
    assert!(
        listed.contains("task \"Plan the trip\": 2 of them"),
        "{listed}"
    );
    let check = lifeos(desktop.path(), &["habit", "check", "meditate"]);
    let why = String::from_utf8_lossy(&check.stderr);
    assert!(why.contains("2 habits are called \"meditate\""), "{why}");
    assert!(why.contains("lifeos duplicates merge"), "{why}");

    // A group number that is not listed is refused with the range.
    let wrong = lifeos(desktop.path(), &["duplicates", "merge", "7"]);
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("lists 1 to 3"));

    let merged = ok(&lifeos(desktop.path(), &["duplicates", "merge", "--all"]));
    assert!(merged.contains("Merged habit \"Meditate\""), "{merged}");
    ok(&lifeos(desktop.path(), &["sync"]));
    ok(&lifeos(laptop.path(), &["sync"]));
    // The merge reached the other device as ordinary changes.
    for dir in [laptop.path(), desktop.path()] {
        assert_eq!(
            ok(&lifeos(dir, &["duplicates"])).trim(),
            "No likely duplicates."
        );
        let habits = json(&lifeos(dir, &["--json", "habit", "list"]));
        assert_eq!(habits["habits"].as_array().unwrap().len(), 1, "{habits}");
        assert_eq!(titles(dir), ["Plan the trip"]);
        let expenses = json(&lifeos(dir, &["--json", "expense", "list"]));
        let categories: Vec<&str> = expenses["expenses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["category"].as_str().unwrap())
            .collect();
        assert_eq!(categories.len(), 2, "{expenses}");
        assert_eq!(categories[0], categories[1], "re-pointed to one category");
    }
    ok(&lifeos(laptop.path(), &["habit", "check", "meditate"]));

    // Renamed offline on both: "Spain" first on the laptop, "Italy" later
    // on the desktop. The later edit wins on both, whichever syncs last.
    let id = json(&lifeos(laptop.path(), &["--json", "task", "list"]))["tasks"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&lifeos(
        laptop.path(),
        &["task", "edit", &id, "--title", "Spain"],
    ));
    std::thread::sleep(Duration::from_millis(20));
    ok(&lifeos(
        desktop.path(),
        &["task", "edit", &id, "--title", "Italy"],
    ));
    ok(&lifeos(desktop.path(), &["sync"]));
    ok(&lifeos(laptop.path(), &["sync"]));
    ok(&lifeos(desktop.path(), &["sync"]));
    assert_eq!(titles(laptop.path()), ["Italy"]);
    assert_eq!(titles(desktop.path()), ["Italy"]);
}

/// `text` with what differs from run to run made alike: ids (six hex
/// digits, as commands show them) become `<id>`, dates `<date>`, months
/// `<month>`, and `relay` the README's address.
fn alike(text: &str, relay: &str) -> String {
    let text = text.replace(relay, "http://127.0.0.1:8080");
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let boundary = |j: usize| j >= chars.len() || !chars[j].is_ascii_alphanumeric();
    let starts = |i: usize| i == 0 || !chars[i - 1].is_ascii_alphanumeric();
    let shape = |i: usize, pattern: &str| {
        pattern.chars().enumerate().all(|(k, p)| {
            chars.get(i + k).is_some_and(|&c| match p {
                'd' => c.is_ascii_digit(),
                'h' => c.is_ascii_hexdigit() && !c.is_ascii_uppercase(),
                other => c == other,
            })
        }) && boundary(i + pattern.len())
    };
    while i < chars.len() {
        if starts(i) {
            if shape(i, "dddd-dd-dd") {
                out.push_str("<date>");
                i += 10;
                continue;
            }
            if shape(i, "dddd-dd") {
                out.push_str("<month>");
                i += 7;
                continue;
            }
            if shape(i, "hhhhhh") && chars[i..i + 6].iter().any(|c| c.is_ascii_digit()) {
                out.push_str("<id>");
                i += 6;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// The README's words for a shell, split: `"a b"` is one word.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any || !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
                any = false;
            }
            c => word.push(c),
        }
    }
    if any || !word.is_empty() {
        words.push(word);
    }
    words
}

/// Every command of the README's "From the terminal" session runs, in order,
/// on a fresh data directory and a real relay, and prints what the README
/// shows (ids, dates and months aside). `...` in the README stands for any
/// lines; the password prompt is answered on standard input.
#[test]
fn the_readme_terminal_session_prints_what_the_readme_shows() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let section = &readme[readme.find("## From the terminal").expect("the section")..];
    let start = section.find("```console\n").expect("a console block") + "```console\n".len();
    let block = &section[start..start + section[start..].find("```").unwrap()];
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    for line in block.lines() {
        match line.strip_prefix("$ ") {
            Some(command) => steps.push((command.to_string(), Vec::new())),
            None => steps
                .last_mut()
                .expect("a command first")
                .1
                .push(line.to_string()),
        }
    }
    assert!(steps.len() >= 7, "the session has its commands: {steps:?}");

    let rt = Runtime::new().unwrap();
    let relay_dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&rt, relay_dir.path(), "127.0.0.1:0");
    let (data, cwd) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/todoist");
    for entry in std::fs::read_dir(fixtures).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), cwd.path().join(entry.file_name())).unwrap();
    }
    for (command, expected) in steps {
        let mut words = shell_words(&command.replace("http://127.0.0.1:8080", &relay.url()));
        assert_eq!(words.remove(0), "lifeos", "{command}");
        let mut input = None;
        if words[0] == "login" {
            let email = &words[words.iter().position(|w| w == "--email").unwrap() + 1];
            relay.register(&rt, email);
            words.push("--password-stdin".into());
            input = Some(format!("{PASSWORD}\n"));
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_lifeos"))
            .args(&words)
            .current_dir(cwd.path())
            .env("LIFEOS_DATA_DIR", data.path())
            .env("TZ", "UTC")
            // A German locale: the first expense is in euros, as shown.
            .env("LANG", "de_DE.UTF-8")
            .env_remove("LC_ALL")
            .env_remove("LC_MONETARY")
            .env_remove("LIFEOS_RELAY")
            .env_remove("LIFEOS_CURRENCY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin.write_all(input.as_bytes()).unwrap();
        }
        if words[0] == "sync" && words.iter().any(|w| w == "--watch") {
            // It stays connected until Ctrl-C: still running after two
            // seconds, then interrupted, it ends cleanly.
            std::thread::sleep(Duration::from_secs(2));
            assert!(child.try_wait().unwrap().is_none(), "`{command}` stays on");
            let sent = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(sent.success());
        }
        let out = child.wait_with_output().unwrap();
        let printed = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "`{command}` failed: {}{printed}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed: Vec<String> = printed.lines().map(|l| alike(l, &relay.url())).collect();
        let expected: Vec<String> = expected
            .iter()
            .filter(|l| *l != "Password:")
            .map(|l| alike(l, &relay.url()))
            .collect();
        // Lines in order; "..." skips any lines up to the next one expected.
        let mut at = 0;
        let mut skipping = false;
        for want in &expected {
            if want == "..." {
                skipping = true;
                continue;
            }
            while skipping && at < printed.len() && printed[at] != *want {
                at += 1;
            }
            assert_eq!(
                printed.get(at),
                Some(want),
                "`{command}` printed:\n{}",
                printed.join("\n")
            );
            at += 1;
            skipping = false;
        }
        if !skipping {
            assert_eq!(
                at,
                printed.len(),
                "`{command}` printed more:\n{}",
                printed.join("\n")
            );
        }
    }
}
