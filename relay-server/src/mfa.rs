//! The second factor: TOTP (RFC 6238, through the `totp-rs` crate) and
//! single-use recovery codes. Pure functions of secrets, codes and time;
//! `http/mfa.rs` stores and checks them (`storage::security`).
//!
//! - TOTP: HMAC-SHA-1, 30-second steps, 6 digits, a 160-bit secret (what
//!   RFC 4226 recommends and every authenticator app reads). A code of the
//!   step before or after the current one is accepted, for clocks that
//!   drift; [`totp_step`] says which step a code is of, and storage accepts
//!   only steps later than the last one accepted, so no code works twice.
//! - Recovery codes: 16 characters of Crockford's base32 (80 random bits),
//!   shown as `xxxx-xxxx-xxxx-xxxx`, stored as SHA-256: with 80 bits a hash
//!   cannot be searched back to its code, and a check costs no argon2 run.
//!   Typing is forgiving: case, spaces and dashes do not matter, and `o`,
//!   `i`, `l` read as `0`, `1`, `1`.

use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// The name authenticator apps show beside the account.
pub const ISSUER: &str = "LifeOS";
/// Recovery codes made at each enrolment (CONTRACT.md).
pub const RECOVERY_CODES: usize = 10;
/// Crockford's base32 alphabet, lower-cased.
const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A new TOTP secret (20 random bytes).
pub fn new_secret() -> Vec<u8> {
    random_bytes(20)
}

fn totp(secret: &[u8], account: &str) -> Result<Totp, String> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(Secret::from(secret.to_vec()))
        .with_account_name(account.replace(':', ""))
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| e.to_string())
}

/// The secret as authenticator apps take it typed in (base32, no padding).
pub fn secret_base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

/// The secret of its base32 form (what [`secret_base32`] wrote, or an
/// authenticator app's export), if it is one.
pub fn secret_from_base32(text: &str) -> Option<Vec<u8>> {
    Secret::try_from_base32(text.trim())
        .ok()
        .map(|s| s.as_ref().to_vec())
}

/// The `otpauth://totp/...` URI that authenticator apps read from a QR code.
pub fn otpauth_uri(secret: &[u8], account: &str) -> Result<String, String> {
    totp(secret, account)?.to_url().map_err(|e| e.to_string())
}

/// The URI as an SVG QR code (dark modules on white, with its quiet zone).
pub fn qr_svg(uri: &str) -> Result<String, String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(|e| e.to_string())?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build())
}

/// The time step of `code` at `now_secs` (the current step, the one before
/// or the one after), if it is a right code. Spaces in the code are ignored.
pub fn totp_step(secret: &[u8], code: &str, now_secs: u64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let step = totp(secret, "x").ok()?.check(&code, now_secs)?;
    i64::try_from(step).ok()
}

/// The code of `secret` at `now_secs` (for tests and the CLI's own tests).
pub fn totp_code(secret: &[u8], now_secs: u64) -> Result<String, String> {
    Ok(totp(secret, "x")?.generate(now_secs).to_string())
}

/// Ten new recovery codes, as the user is shown them.
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let chars: Vec<char> = random_bytes(16)
                .iter()
                .map(|b| char::from(CROCKFORD[usize::from(b & 31)]))
                .collect();
            chars
                .chunks(4)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// The stored form of a recovery code as typed; `None` when it cannot be
/// one (wrong length or characters), so nothing is looked up for it.
pub fn recovery_code_hash(typed: &str) -> Option<[u8; 32]> {
    let mut canonical = String::with_capacity(16);
    for c in typed.chars() {
        let c = match c.to_ascii_lowercase() {
            ' ' | '-' => continue,
            'o' => '0',
            'i' | 'l' => '1',
            c if c.is_ascii() && CROCKFORD.contains(&(c as u8)) => c,
            _ => return None,
        };
        canonical.push(c);
    }
    (canonical.len() == 16).then(|| Sha256::digest(canonical.as_bytes()).into())
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    getrandom::fill(&mut b).expect("the operating system's random number generator is unavailable");
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, Appendix B: the SHA-1 test vectors (8 digits there; the
    /// last 6 digits are the 6-digit code of the same step).
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, eight) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(totp_code(secret, time).unwrap(), &eight[2..], "{time}");
            assert_eq!(
                totp_step(secret, &eight[2..], time),
                Some((time / 30) as i64)
            );
        }
    }

    #[test]
    fn codes_of_the_neighbouring_steps_are_accepted_and_no_further() {
        let secret = new_secret();
        let now = 1_800_000_015;
        let step = (now / 30) as i64;
        for (offset, expected) in [
            (-60i64, None),
            (-30, Some(step - 1)),
            (0, Some(step)),
            (30, Some(step + 1)),
            (60, None),
        ] {
            let code = totp_code(&secret, (now as i64 + offset) as u64).unwrap();
            let got = totp_step(&secret, &code, now);
            // A code of a far step can collide with a near one by chance (1 in 10^6).
            if expected.is_none() && got.is_some() {
                continue;
            }
            assert_eq!(got, expected, "offset {offset}");
        }
        let code = totp_code(&secret, now).unwrap();
        assert_eq!(
            totp_step(&secret, &format!("{} {}", &code[..3], &code[3..]), now),
            Some(step)
        );
        for bad in ["", "12345", "1234567", "abcdef", "+12345", "１２３４５６"] {
            assert_eq!(totp_step(&secret, bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn the_uri_and_qr_code_carry_the_secret() {
        let secret = new_secret();
        let uri = otpauth_uri(&secret, "ada@example.org").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/LifeOS:ada%40example.org?"),
            "{uri}"
        );
        assert!(
            uri.contains(&format!("secret={}", secret_base32(&secret))),
            "{uri}"
        );
        assert!(uri.contains("issuer=LifeOS"), "{uri}");
        assert_eq!(secret_base32(&secret).len(), 32);
        assert_eq!(
            secret_from_base32(&secret_base32(&secret)),
            Some(secret.clone())
        );
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg") && svg.ends_with("</svg>"));
        assert!(!svg.contains("<script"));
    }

    #[test]
    fn recovery_codes_are_random_and_forgiving_to_type() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(code.len(), 19, "{code}");
            assert_eq!(code.matches('-').count(), 3);
            let hash = recovery_code_hash(code).unwrap();
            assert_eq!(recovery_code_hash(&code.to_uppercase()), Some(hash));
            assert_eq!(recovery_code_hash(&code.replace('-', " ")), Some(hash));
            assert_eq!(recovery_code_hash(&code.replace('-', "")), Some(hash));
        }
        assert_eq!(
            recovery_code_hash("0111-aaaa-bbbb-cccc"),
            recovery_code_hash("OIL1-AAAA-BBBB-CCCC")
        );
        for bad in [
            "",
            "abcd",
            "abcd-efgh-jkmn-pqrs-t",
            "abcd-efgh-jkmn-pqr!",
            "abcd-efgh-jkmn-pqru",
        ] {
            assert_eq!(recovery_code_hash(bad), None, "{bad:?}");
        }
    }
}
