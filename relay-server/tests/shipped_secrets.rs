//! Every secret-like value the repository ships (in `.env.example`, the
//! docs, compose, scripts and tests) is one the relay refuses: a copied
//! example can never become a deployment's secret (issue 18).

use std::path::{Path, PathBuf};

use lifeos_relay::secrets;

/// Files that people copy settings from, and the sources of the tests.
fn shipped_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().unwrap().is_dir() {
                let skip = ["target", "node_modules", "dist", "data"].contains(&name.as_str())
                    || (name.starts_with('.') && name != ".github" && name != ".ci");
                if !skip {
                    stack.push(path);
                }
                continue;
            }
            let wanted = name.starts_with(".env")
                || ["md", "rs", "sh", "mjs", "js", "yml", "yaml", "toml"]
                    .iter()
                    .any(|ext| name.ends_with(&format!(".{ext}")));
            if wanted {
                files.push(path);
            }
        }
    }
    files
}

/// The literal values given to a secret setting in `text`.
fn secret_values(text: &str) -> Vec<String> {
    let patterns = [
        // Shell, .env and compose: NAME=value or NAME: value.
        r#"(?m)\b(?:LIFEOS_JWT_SECRET|LIFEOS_METRICS_TOKEN|POSTGRES_PASSWORD)[ \t]*[=:][ \t]*"?([^\s"'$`{}]+)"#,
        // Rust: jwt_secret: Some("..."), metrics_token = Some("...").
        r#"\b(?:jwt_secret|metrics_token)\s*[:=]\s*Some\("([^"]+)""#,
        // Rust and JS: ("LIFEOS_JWT_SECRET", "...").
        r#""(?:LIFEOS_JWT_SECRET|LIFEOS_METRICS_TOKEN)",\s*"([^"]+)""#,
    ];
    patterns
        .iter()
        .flat_map(|p| {
            regex::Regex::new(p)
                .unwrap()
                .captures_iter(text)
                .map(|c| c[1].to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_shipped_secret_is_refused() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut found = 0;
    for file in shipped_files(root) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for value in secret_values(&text) {
            found += 1;
            assert!(
                secrets::weakness(&value).is_some(),
                "{} ships {value:?} as a secret, and the relay would accept it",
                file.display()
            );
        }
    }
    // The scan reads what it should: the patterns find a planted example.
    assert_eq!(
        secret_values("LIFEOS_JWT_SECRET=abc\njwt_secret: Some(\"def\")"),
        ["abc", "def"]
    );
    assert!(found > 0, "the scan found no secret settings at all");
}

/// The relay binary, started as an operator would with a weak secret,
/// exits non-zero and says which setting is wrong and how to fix it.
#[test]
fn the_relay_does_not_start_with_a_weak_secret() {
    let dir = tempfile::tempdir().unwrap();
    for (name, value) in [
        (
            "LIFEOS_JWT_SECRET",
            "change-me-to-48-random-characters-change-me-change-me",
        ),
        ("LIFEOS_JWT_SECRET", "too-short-a-secret"),
        (
            "LIFEOS_JWT_SECRET",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ),
        ("LIFEOS_METRICS_TOKEN", "metrics"),
        (
            "DATABASE_URL",
            "postgres://lifeos:change-me-to-a-long-random-password@127.0.0.1:1/lifeos",
        ),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_lifeos-relay"))
            .env_clear()
            .env("LIFEOS_BIND", "127.0.0.1:0")
            .env("LIFEOS_DATA_DIR", dir.path())
            .env(name, value)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}={value} started the relay");
        assert!(
            stderr.contains(name)
                || (name == "DATABASE_URL" && stderr.contains("POSTGRES_PASSWORD")),
            "{name}: {stderr}"
        );
        assert!(stderr.contains("openssl rand"), "{name}: {stderr}");
        assert!(
            !stderr.contains(value) || value.len() < 12,
            "the refusal repeats the secret: {stderr}"
        );
    }
}

#[test]
fn the_old_env_example_values_are_refused() {
    for value in [
        "change-me-to-48-random-characters-change-me-change-me",
        "change-me-to-a-long-random-password",
    ] {
        assert!(secrets::weakness(value).is_some(), "{value}");
    }
    assert!(
        secrets::check_database_url(
            "postgres://lifeos:change-me-to-a-long-random-password@postgres:5432/lifeos"
        )
        .is_err()
    );
}
