//! The account's words and checks the screens use, kept free of the
//! browser so they are tested natively: the second factor a user types,
//! device names from a `User-Agent`, how recovery codes are saved.

/// A second factor: the authenticator app's code or a recovery code.
#[derive(Clone, Debug, PartialEq)]
pub enum Factor {
    /// The 6 digits of the authenticator app.
    Code(String),
    /// One of the ten recovery codes.
    RecoveryCode(String),
}

impl Factor {
    /// The field name and value of the factor in a request body.
    pub fn json(&self) -> (&'static str, &str) {
        match self {
            Factor::Code(c) => ("code", c),
            Factor::RecoveryCode(c) => ("recovery_code", c),
        }
    }
}

/// What is wrong with a typed factor before it is sent, if anything.
pub fn check_factor(factor: &Factor) -> Option<&'static str> {
    match factor {
        Factor::Code(c) => {
            let digits: String = c.chars().filter(|c| !c.is_whitespace()).collect();
            (digits.len() != 6 || !digits.chars().all(|c| c.is_ascii_digit()))
                .then_some("Code: enter the 6 digits your authenticator app shows.")
        }
        Factor::RecoveryCode(c) => {
            let chars = c.chars().filter(|c| c.is_ascii_alphanumeric()).count();
            (chars != 16).then_some(
                "Recovery code: enter one of the codes you saved, like abcd-efgh-jkmn-pqrs.",
            )
        }
    }
}

/// The relay's `detail` ("the code is not right") as a sentence to show.
pub fn sentence(detail: &str) -> String {
    let mut chars = detail.trim().chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// A base32 secret in groups of four, easier to type.
pub fn group_secret(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The recovery codes as the file the user downloads or copies.
pub fn recovery_text(codes: &[String]) -> String {
    let mut text = String::from(
        "LifeOS recovery codes. Each signs in once in place of a code from your authenticator app.\n\n",
    );
    for code in codes {
        text.push_str(code);
        text.push('\n');
    }
    text
}

/// A short name for a device from its `User-Agent`: "Firefox on Android",
/// "LifeOS CLI 0.3.0", or the start of the string when it is not known.
pub fn device_name(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|u| !u.trim().is_empty()) else {
        return "Unknown device".into();
    };
    if let Some(version) = ua.strip_prefix("lifeos-cli/") {
        return format!("LifeOS CLI {version}");
    }
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Chromium"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(token, _)| ua.contains(token))
    .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(token, _)| ua.contains(token))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_string(),
        (None, Some(s)) => s.to_string(),
        (None, None) => ua.chars().take(40).collect(),
    }
}

/// "2026-12-03 14:05" from an RFC 3339 time (the relay's times are UTC).
pub fn short_time(rfc3339: &str) -> String {
    rfc3339.get(0..16).unwrap_or(rfc3339).replace('T', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_named_from_their_user_agent() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                "Chrome on Linux",
            ),
            (
                "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
                "Firefox on Android",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
                "Safari on iPhone",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                "Edge on Windows",
            ),
            ("lifeos-cli/0.3.0", "LifeOS CLI 0.3.0"),
            ("curl/8.5.0", "curl/8.5.0"),
        ];
        for (ua, name) in cases {
            assert_eq!(device_name(Some(ua)), name, "{ua}");
        }
        assert_eq!(device_name(None), "Unknown device");
        assert_eq!(device_name(Some("  ")), "Unknown device");
    }

    #[test]
    fn a_typed_factor_is_checked_before_it_is_sent() {
        assert_eq!(check_factor(&Factor::Code("123 456".into())), None);
        assert!(check_factor(&Factor::Code("12345".into())).is_some());
        assert!(check_factor(&Factor::Code("12345a".into())).is_some());
        assert_eq!(
            check_factor(&Factor::RecoveryCode("ABCD-efgh-2345-6789".into())),
            None
        );
        assert!(check_factor(&Factor::RecoveryCode("abcd-efgh".into())).is_some());
    }

    #[test]
    fn secrets_are_grouped_and_codes_listed_one_per_line() {
        assert_eq!(group_secret("ABCDEFGHIJ"), "ABCD EFGH IJ");
        let text = recovery_text(&["a".into(), "b".into()]);
        assert!(text.ends_with("\n\na\nb\n"), "{text}");
        assert_eq!(short_time("2026-12-03T14:05:09Z"), "2026-12-03 14:05");
    }

    #[test]
    fn the_relays_details_read_as_sentences() {
        assert_eq!(sentence("the code is not right"), "The code is not right.");
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), ".");
    }
}
