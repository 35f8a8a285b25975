//! The `lifeos` binary as people and scripts use it, offline: tasks added
//! with the quick-add line, listed, completed, Today; JSON that parses;
//! exit codes for bad input and damaged data.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn lifeos(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lifeos"))
        .arg("--data-dir")
        .arg(dir)
        .args(["--tz", "UTC"])
        .args(args)
        .env_remove("LIFEOS_DATA_DIR")
        .output()
        .expect("lifeos runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("--json prints JSON")
}

#[test]
fn tasks_are_captured_listed_and_done_offline() {
    let dir = tempfile::tempdir().unwrap();
    let now = lifeos_core::time::Timestamp::from_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    let today = lifeos_core::time::today_in("UTC", now).unwrap();
    let tomorrow = today.succ_opt().unwrap().to_string();

    let added = lifeos(
        dir.path(),
        &["task", "add", "Call mom tomorrow #family @phone p1"],
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(stdout(&added).contains("Call mom"), "{}", stdout(&added));
    // Words given separately are one line too.
    let added = json(&lifeos(
        dir.path(),
        &["--json", "task", "add", "Buy", "milk", "+next"],
    ));
    assert_eq!(added["task"]["title"], "Buy milk");
    assert_eq!(added["task"]["status"], "next");

    let listed = json(&lifeos(dir.path(), &["task", "list", "--json"]));
    let tasks = listed["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    let mom = tasks.iter().find(|t| t["title"] == "Call mom").unwrap();
    assert_eq!(mom["due"], tomorrow.as_str());
    assert_eq!(mom["contexts"], serde_json::json!(["phone"]));
    assert_eq!(mom["important"], true);
    assert_eq!(mom["urgent"], true);
    let by_context = json(&lifeos(
        dir.path(),
        &["--json", "task", "list", "--context", "@phone"],
    ));
    assert_eq!(by_context["tasks"].as_array().unwrap().len(), 1);
    let by_project = json(&lifeos(
        dir.path(),
        &["--json", "task", "list", "--project", "family"],
    ));
    assert_eq!(by_project["tasks"].as_array().unwrap().len(), 1);
    let next = json(&lifeos(
        dir.path(),
        &["--json", "task", "list", "--status", "next"],
    ));
    assert_eq!(next["tasks"][0]["title"], "Buy milk");

    // Human output shows short ids; `task done` takes one.
    let text = stdout(&lifeos(dir.path(), &["task", "list"]));
    let line = text.lines().find(|l| l.contains("Buy milk")).unwrap();
    let short = line.split_whitespace().next().unwrap();
    assert_eq!(short.len(), 6, "{line}");
    let done = lifeos(dir.path(), &["task", "done", short]);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let open = json(&lifeos(dir.path(), &["--json", "task", "list"]));
    assert_eq!(open["tasks"].as_array().unwrap().len(), 1);
    let all = json(&lifeos(dir.path(), &["--json", "task", "list", "--all"]));
    assert_eq!(all["tasks"].as_array().unwrap().len(), 2);

    let today_view = json(&lifeos(dir.path(), &["--json", "today"]));
    assert_eq!(today_view["date"], today.to_string());
    assert!(stdout(&lifeos(dir.path(), &["today"])).starts_with(&format!("Today, {today}")));
}

#[test]
fn bad_input_and_damage_have_their_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    // Usage errors: clap's 2.
    let bad = lifeos(dir.path(), &["task", "list", "--status", "later"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("inbox, next, waiting, someday, done"));
    // Nothing to find: 1, with the reason, also as JSON.
    let missing = lifeos(dir.path(), &["--json", "task", "done", "abcdef"]);
    assert_eq!(missing.status.code(), Some(1));
    let body: Value = serde_json::from_slice(&missing.stdout).unwrap();
    assert_eq!(body["exit_code"], 1);
    assert!(body["error"].as_str().unwrap().contains("no task"));
    let short = lifeos(dir.path(), &["task", "done", "ab"]);
    assert_eq!(short.status.code(), Some(1));
    let zone = Command::new(env!("CARGO_BIN_EXE_lifeos"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--tz", "Mars/Olympus", "today"])
        .output()
        .unwrap();
    assert_eq!(zone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&zone.stderr).contains("Mars/Olympus"));

    // A damaged replica: 5, and the file is left as it was.
    let damaged = tempfile::tempdir().unwrap();
    let file = damaged.path().join("replica.db");
    std::fs::write(&file, vec![0x42; 8192]).unwrap();
    let out = lifeos(damaged.path(), &["task", "list"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(String::from_utf8_lossy(&out.stderr).contains("left as it is"));
    assert_eq!(std::fs::read(&file).unwrap(), vec![0x42; 8192]);
}
