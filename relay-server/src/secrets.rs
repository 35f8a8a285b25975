//! Refusing secrets an attacker could know or guess (issue 18).
//!
//! A relay signs every access token with `LIFEOS_JWT_SECRET`; whoever knows
//! it can forge a token for any account. So the relay refuses to start with
//! a secret that anyone could have: a value shipped with LifeOS (the
//! placeholders of `.env.example`, the docs' examples, old test fixtures),
//! one with a placeholder's words in it, one shorter than 32 bytes, or one
//! with visibly little entropy (few distinct characters, a repeated run).
//! The same holds for `LIFEOS_METRICS_TOKEN` and for the password in
//! `DATABASE_URL` (which only has to avoid the shipped values: its strength
//! is the database's business).
//!
//! `relay-server/tests/shipped_secrets.rs` scans the repository for every
//! secret-like value it ships and checks that each one is refused here.

/// Fewest bytes a signing secret or token may have.
pub const MIN_SECRET_BYTES: usize = 32;

/// What an operator runs to make a good secret (said in every refusal).
pub const GENERATE_HINT: &str = "generate one with `openssl rand -base64 48`";

/// Values that were shipped in the repository at some point, as
/// placeholders, examples or test fixtures: public, so never a secret.
const SHIPPED: &[&str] = &[
    "change-me-to-48-random-characters-change-me-change-me",
    "change-me-to-a-long-random-password",
    "0123456789abcdef0123456789abcdef",
    "test-secret-test-secret-test-secret",
    "cli-test-secret-cli-test-secret-cli",
    "bench-secret-bench-secret-bench-secret",
    "another-secret-another-secret-xx",
    "metrics-token-for-the-test",
    "a-long-random-metrics-token",
    "some-other-secret-some-other-secret",
    "another-secret-another-secret-another",
];

/// Words that mark a value as a placeholder someone forgot to replace.
const PLACEHOLDER_WORDS: &[&str] = &[
    "change-me",
    "changeme",
    "change_me",
    "replace-me",
    "replaceme",
    "placeholder",
    "example",
    "your-secret",
    "yoursecret",
    "secret-here",
    "generate",
    "xxxxxxxx",
];

/// Why `value` cannot be a signing secret or an access token, if it cannot.
pub fn weakness(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("set but empty".into());
    }
    if is_shipped(value) {
        return Some("a value shipped with LifeOS, which anyone can read".into());
    }
    let lower = value.to_ascii_lowercase();
    if let Some(word) = PLACEHOLDER_WORDS.iter().find(|w| lower.contains(*w)) {
        return Some(format!("a placeholder (it contains {word:?})"));
    }
    if value.len() < MIN_SECRET_BYTES {
        return Some(format!(
            "{} bytes long; it must have at least {MIN_SECRET_BYTES}",
            value.len()
        ));
    }
    let distinct = {
        let mut seen = [false; 256];
        value.bytes().for_each(|b| seen[usize::from(b)] = true);
        seen.iter().filter(|s| **s).count()
    };
    if distinct < 8 {
        return Some(format!(
            "low in entropy (only {distinct} distinct characters)"
        ));
    }
    let bits = shannon_bits_per_byte(value.as_bytes());
    if bits < 2.5 {
        return Some(format!(
            "low in entropy ({bits:.1} bits per character; random text has 4 or more)"
        ));
    }
    if let Some(run) = repeated_run(value.as_bytes(), 8) {
        return Some(format!(
            "low in entropy (the run {:?} occurs twice)",
            String::from_utf8_lossy(run)
        ));
    }
    None
}

/// Whether `value` is one of the values shipped with LifeOS.
pub fn is_shipped(value: &str) -> bool {
    SHIPPED.contains(&value.trim())
}

/// Checks the secret in setting `name`: `Err` says what is wrong and how to
/// make a good one, for the operator.
pub fn check(name: &str, value: &str) -> Result<(), String> {
    match weakness(value) {
        None => Ok(()),
        Some(why) => Err(format!(
            "{name} is {why}: anyone who knows or guesses it could act for any \
             account. Set a random one ({GENERATE_HINT})"
        )),
    }
}

/// Checks the password inside a `postgres://user:password@host/db` URL
/// against the values shipped with LifeOS.
pub fn check_database_url(url: &str) -> Result<(), String> {
    let Some(rest) = url.split_once("://").map(|(_, r)| r) else {
        return Ok(());
    };
    let Some((userinfo, _)) = rest.rsplit_once('@') else {
        return Ok(());
    };
    let Some((_, password)) = userinfo.split_once(':') else {
        return Ok(());
    };
    let lower = password.to_ascii_lowercase();
    if is_shipped(password) || PLACEHOLDER_WORDS.iter().any(|w| lower.contains(w)) {
        return Err(
            "the password in DATABASE_URL is a placeholder shipped with LifeOS; \
             set POSTGRES_PASSWORD to a random one (generate one with \
             `openssl rand -hex 24`) before the database is first created"
                .to_string(),
        );
    }
    Ok(())
}

/// The empirical Shannon entropy of `bytes`, in bits per byte.
fn shannon_bits_per_byte(bytes: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    bytes.iter().for_each(|b| counts[usize::from(*b)] += 1);
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / n;
            -p * p.log2()
        })
        .sum()
}

/// A run of `len` bytes that occurs twice in `bytes`, if any (a random
/// secret of a few dozen characters practically never has one).
fn repeated_run(bytes: &[u8], len: usize) -> Option<&[u8]> {
    let mut seen = std::collections::HashSet::new();
    bytes.windows(len).find(|w| !seen.insert(*w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_hex(bytes: usize) -> String {
        let mut b = vec![0u8; bytes];
        getrandom::fill(&mut b).unwrap();
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn random_secrets_pass() {
        // What the docs tell operators to run, and what the relay generates.
        // (Over 300,000 draws of 32 hex digits the fewest distinct digits
        // were 9 and the lowest entropy 2.8 bits: the bounds leave room.)
        for _ in 0..2000 {
            assert_eq!(weakness(&random_hex(16)), None, "openssl rand -hex 16");
            assert_eq!(weakness(&random_hex(48)), None);
        }
        use base64::Engine;
        for _ in 0..200 {
            let mut b = [0u8; 48];
            getrandom::fill(&mut b).unwrap();
            let s = base64::engine::general_purpose::STANDARD.encode(b);
            assert_eq!(weakness(&s), None, "openssl rand -base64 48: {s}");
        }
        assert_eq!(
            weakness("correct horse battery staple, quietly orbiting Jupiter"),
            None
        );
    }

    #[test]
    fn known_short_and_low_entropy_secrets_are_refused() {
        for shipped in SHIPPED {
            assert!(weakness(shipped).is_some(), "{shipped}");
        }
        let cases = [
            ("", "empty"),
            ("short", "bytes long"),
            (&"a".repeat(64), "distinct"),
            ("abababababababababababababababababababab", "distinct"),
            ("abcdefghijklmnopabcdefghijklmnopabcdefgh", "occurs twice"),
            ("my-ChangeMe-secret-for-production-use-2026!", "placeholder"),
            ("REPLACE-ME-with-the-output-of-openssl-rand", "placeholder"),
            (
                "aaaaaaabaaaaaaacaaaaaaadaaaaaaaeaaaaaaafaaaaaaagaaaaaaah",
                "bits per character",
            ),
        ];
        for (value, why) in cases {
            let got = weakness(value).unwrap_or_default();
            assert!(got.contains(why), "{value:?}: {got:?}, expected {why:?}");
        }
    }

    #[test]
    fn refusals_name_the_setting_and_how_to_fix_it() {
        let e = check("LIFEOS_JWT_SECRET", "change-me").unwrap_err();
        assert!(e.starts_with("LIFEOS_JWT_SECRET is a placeholder"), "{e}");
        assert!(e.contains("openssl rand -base64 48"), "{e}");
        assert!(check("LIFEOS_JWT_SECRET", &random_hex(32)).is_ok());
    }

    #[test]
    fn database_passwords_must_not_be_shipped_ones() {
        assert!(
            check_database_url(
                "postgres://lifeos:change-me-to-a-long-random-password@postgres:5432/lifeos"
            )
            .unwrap_err()
            .contains("POSTGRES_PASSWORD")
        );
        for fine in [
            "postgres://lifeos:k3Jd92hsQ0ZpLmw8@postgres:5432/lifeos",
            "postgres://postgres@127.0.0.1:5432/postgres",
            "postgres:///lifeos",
            "sqlite://./data/lifeos.db",
        ] {
            assert!(check_database_url(fine).is_ok(), "{fine}");
        }
    }
}
