//! The `lifeos-relay` binary as an operator uses it: `migrate`, and
//! `user create|list|disable|enable` on an SQLite database.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn relay(data_dir: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lifeos-relay"))
        .args(args)
        .env("LIFEOS_DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the relay binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn operators_manage_accounts_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    assert!(relay(dir.path(), &["migrate"], "").status.success());
    assert!(
        dir.path().join("lifeos.db").exists(),
        "SQLite under the data directory by default"
    );

    let created = relay(
        dir.path(),
        &["user", "create", "--email", "Ops@Example.com"],
        "a strong enough password\n",
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(text(&created).contains("ops@example.com"));

    let weak = relay(
        dir.path(),
        &["user", "create", "--email", "weak@example.com"],
        "short\n",
    );
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 10 characters"));
    let duplicate = relay(
        dir.path(),
        &["user", "create", "--email", "ops@example.com"],
        "a strong enough password\n",
    );
    assert!(!duplicate.status.success());

    assert!(
        relay(
            dir.path(),
            &["user", "disable", "--email", "ops@example.com"],
            ""
        )
        .status
        .success()
    );
    let list = text(&relay(dir.path(), &["user", "list"], ""));
    assert_eq!(list.lines().count(), 1);
    assert!(
        list.contains("ops@example.com") && list.trim_end().ends_with("disabled"),
        "{list}"
    );
    assert!(
        relay(
            dir.path(),
            &["user", "enable", "--email", "ops@example.com"],
            ""
        )
        .status
        .success()
    );
    assert!(
        text(&relay(dir.path(), &["user", "list"], ""))
            .trim_end()
            .ends_with("active")
    );
    let missing = relay(
        dir.path(),
        &["user", "disable", "--email", "nobody@example.com"],
        "",
    );
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no account"));
}
