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

#[test]
fn operators_back_up_and_restore_from_the_command_line() {
    let old = tempfile::tempdir().unwrap();
    let created = relay(
        old.path(),
        &["user", "create", "--email", "family@example.com"],
        "a strong enough password\n",
    );
    assert!(created.status.success());
    let archive = old.path().join("nightly.lifeos-backup");
    let archive_arg = archive.to_str().unwrap();
    let backed_up = relay(old.path(), &["backup", "--out", archive_arg], "");
    assert!(
        backed_up.status.success(),
        "{}",
        String::from_utf8_lossy(&backed_up.stderr)
    );
    assert!(text(&backed_up).contains("users 1"), "{}", text(&backed_up));

    // A new machine: restore, and the account is there.
    let new = tempfile::tempdir().unwrap();
    let restored = relay(new.path(), &["restore", "--from", archive_arg], "");
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert!(text(&restored).contains("users 1"));
    assert!(text(&relay(new.path(), &["user", "list"], "")).contains("family@example.com"));

    // Twice is refused, with the reason, and changes nothing.
    let again = relay(new.path(), &["restore", "--from", archive_arg], "");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds"));
    // A place that cannot be written to says so.
    let nowhere = relay(
        old.path(),
        &["backup", "--out", "/nonexistent-dir/backup.zip"],
        "",
    );
    assert!(!nowhere.status.success());
    assert!(String::from_utf8_lossy(&nowhere.stderr).contains("/nonexistent-dir/backup.zip"));
}
