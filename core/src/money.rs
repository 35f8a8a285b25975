//! Money: integer minor units plus an ISO 4217 currency, never floats.
//!
//! `Money { minor: 1250, currency: EUR }` is 12.50 EUR. The currency decides
//! how many decimals its minor unit has (JPY 0, EUR 2, KWD 3). Sums are only
//! ever taken within one currency; [`Totals`] keeps one sum per currency.
//! In documents an amount is stored as one string, `"1250 EUR"`, so that a
//! concurrent edit can never pair one device's number with another's currency.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// An ISO 4217 currency this build knows, with the number of decimals of its minor unit.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

/// Codes whose minor unit is not a hundredth.
const EXPONENTS: &[(&str, u8)] = &[
    ("BIF", 0),
    ("CLP", 0),
    ("DJF", 0),
    ("GNF", 0),
    ("ISK", 0),
    ("JPY", 0),
    ("KMF", 0),
    ("KRW", 0),
    ("PYG", 0),
    ("RWF", 0),
    ("UGX", 0),
    ("UYI", 0),
    ("VND", 0),
    ("VUV", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("XPF", 0),
    ("BHD", 3),
    ("IQD", 3),
    ("JOD", 3),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("TND", 3),
    ("CLF", 4),
    ("UYW", 4),
];

/// ISO 4217 codes of current currencies with a minor unit, plus recently withdrawn
/// ones (HRK, ANG, SLL, ...) so that years-old bank records still import.
/// Sorted, for binary search.
const CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUC", "CUP",
    "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP",
    "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HRK", "HTG", "HUF", "IDR",
    "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW",
    "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA",
    "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG",
    "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE",
    "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP",
    "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

/// The currency of each region (ISO 3166 code) a locale may name.
const REGION_CURRENCY: &[(&str, &str)] = &[
    ("AE", "AED"),
    ("AR", "ARS"),
    ("AT", "EUR"),
    ("AU", "AUD"),
    ("BE", "EUR"),
    ("BG", "BGN"),
    ("BR", "BRL"),
    ("CA", "CAD"),
    ("CH", "CHF"),
    ("CL", "CLP"),
    ("CN", "CNY"),
    ("CO", "COP"),
    ("CY", "EUR"),
    ("CZ", "CZK"),
    ("DE", "EUR"),
    ("DK", "DKK"),
    ("EE", "EUR"),
    ("EG", "EGP"),
    ("ES", "EUR"),
    ("FI", "EUR"),
    ("FR", "EUR"),
    ("GB", "GBP"),
    ("GR", "EUR"),
    ("HK", "HKD"),
    ("HR", "EUR"),
    ("HU", "HUF"),
    ("ID", "IDR"),
    ("IE", "EUR"),
    ("IL", "ILS"),
    ("IN", "INR"),
    ("IS", "ISK"),
    ("IT", "EUR"),
    ("JP", "JPY"),
    ("KE", "KES"),
    ("KR", "KRW"),
    ("KW", "KWD"),
    ("LT", "EUR"),
    ("LU", "EUR"),
    ("LV", "EUR"),
    ("MT", "EUR"),
    ("MX", "MXN"),
    ("MY", "MYR"),
    ("NG", "NGN"),
    ("NL", "EUR"),
    ("NO", "NOK"),
    ("NZ", "NZD"),
    ("PE", "PEN"),
    ("PH", "PHP"),
    ("PK", "PKR"),
    ("PL", "PLN"),
    ("PT", "EUR"),
    ("RO", "RON"),
    ("RS", "RSD"),
    ("SA", "SAR"),
    ("SE", "SEK"),
    ("SG", "SGD"),
    ("SI", "EUR"),
    ("SK", "EUR"),
    ("TH", "THB"),
    ("TR", "TRY"),
    ("TW", "TWD"),
    ("UA", "UAH"),
    ("US", "USD"),
    ("VN", "VND"),
    ("ZA", "ZAR"),
];

impl Currency {
    /// The currency of the region a locale names (`de_DE.UTF-8`, `en-US`,
    /// `fr_CH`): what a new user most likely pays in. `None` for locales
    /// without a region (`C`, `POSIX`, `en`) or regions not known here.
    pub fn of_locale(locale: &str) -> Option<Currency> {
        let name = locale.split(['.', '@']).next()?;
        let region = name.split(['_', '-']).nth(1)?.to_ascii_uppercase();
        let code = REGION_CURRENCY
            .iter()
            .find(|(r, _)| *r == region)
            .map(|(_, c)| *c)?;
        Currency::from_code(code).ok()
    }

    /// The currency with ISO 4217 code `code` (upper case, three letters).
    pub fn from_code(code: &str) -> Result<Self> {
        let idx = CODES.binary_search(&code).map_err(|_| {
            Error::invalid(
                "currency",
                format!("{code:?} is not an ISO 4217 currency code"),
            )
        })?;
        let code = CODES[idx];
        let exponent = EXPONENTS
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(2, |(_, e)| *e);
        Ok(Currency { code, exponent })
    }

    /// The three-letter code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Decimals of the minor unit: 2 for EUR (cents), 0 for JPY.
    pub fn exponent(&self) -> u8 {
        self.exponent
    }
}

impl FromStr for Currency {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Currency::from_code(s)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::from_code(&s).map_err(serde::de::Error::custom)
    }
}

/// An amount of money: a count of minor units of one currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// The amount in minor units (cents for EUR).
    pub minor: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// `minor` minor units of `currency`.
    pub fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    /// Parses an amount that may name its currency (`50 USD`, `USD 50`,
    /// `50usd`); without one it is in `default`.
    pub fn parse_with_currency(input: &str, default: Currency) -> Result<Self> {
        let s = input.trim();
        let letters = |part: &str| part.len() == 3 && part.chars().all(|c| c.is_ascii_alphabetic());
        let (amount, currency) = match (s.get(..3), s.get(s.len().saturating_sub(3)..)) {
            (_, Some(code)) if s.len() > 3 && letters(code) => (&s[..s.len() - 3], code),
            (Some(code), _) if s.len() > 3 && letters(code) => (&s[3..], code),
            _ => return Money::parse(s, default),
        };
        Money::parse(amount, Currency::from_code(&currency.to_uppercase())?)
    }

    /// Parses a decimal amount as people type it: `12.50`, `12,50`, `1 234,5`,
    /// `1,234.50`, `-3`. When both `.` and `,` appear, the last one is the
    /// decimal separator; one kind alone is the decimal separator. More decimals
    /// than the currency has is an error, never a rounding.
    pub fn parse(input: &str, currency: Currency) -> Result<Self> {
        let field = "amount";
        let s = input.trim();
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        if digits.is_empty() {
            return Err(Error::invalid(field, "an amount is required"));
        }
        let decimal_at = match (digits.rfind('.'), digits.rfind(',')) {
            (Some(d), Some(c)) => Some(d.max(c)),
            (Some(d), None) if digits.matches('.').count() == 1 => Some(d),
            (None, Some(c)) if digits.matches(',').count() == 1 => Some(c),
            (None, None) => None,
            // Several of one separator and none of the other: grouping only (1.234.567).
            _ => None,
        };
        let (whole, fraction) = match decimal_at {
            Some(i) => (&digits[..i], &digits[i + 1..]),
            None => (digits, ""),
        };
        let whole: String = whole
            .chars()
            .filter(|c| !matches!(c, ',' | '.' | ' ' | '\'' | '_' | '\u{a0}' | '\u{202f}'))
            .collect();
        if !whole.chars().all(|c| c.is_ascii_digit())
            || !fraction.chars().all(|c| c.is_ascii_digit())
        {
            return Err(Error::invalid(field, format!("{input:?} is not a number")));
        }
        if whole.is_empty() && fraction.is_empty() {
            return Err(Error::invalid(field, format!("{input:?} is not a number")));
        }
        let exp = usize::from(currency.exponent);
        if fraction.len() > exp {
            return Err(Error::invalid(
                field,
                match exp {
                    0 => format!("{} has no decimal places", currency.code),
                    _ => format!(
                        "{} has {exp} decimal places, {input:?} has {}",
                        currency.code,
                        fraction.len()
                    ),
                },
            ));
        }
        let overflow = || Error::invalid(field, format!("{input:?} is too large"));
        let mut minor: i64 = 0;
        for c in whole
            .chars()
            .chain(fraction.chars())
            .chain(std::iter::repeat_n('0', exp - fraction.len()))
        {
            let digit = i64::from(c.to_digit(10).unwrap_or(0));
            minor = minor
                .checked_mul(10)
                .and_then(|m| m.checked_add(digit))
                .ok_or_else(overflow)?;
        }
        Ok(Money::new(if negative { -minor } else { minor }, currency))
    }

    /// The amount as a plain decimal string with the currency's decimals: `12.50`, `-3`, `0.005`.
    pub fn decimal(&self) -> String {
        let exp = u32::from(self.currency.exponent);
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if exp == 0 {
            return format!("{sign}{abs}");
        }
        let scale = 10u64.pow(exp);
        format!(
            "{sign}{}.{:0width$}",
            abs / scale,
            abs % scale,
            width = exp as usize
        )
    }

    /// The form stored in documents: `"<minor> <CODE>"`.
    pub fn to_storage(&self) -> String {
        format!("{} {}", self.minor, self.currency.code)
    }

    /// Reads the stored form written by [`Money::to_storage`].
    pub fn from_storage(s: &str) -> Result<Self> {
        let (minor, code) = s
            .split_once(' ')
            .ok_or_else(|| Error::Corrupt(format!("amount {s:?} is not \"<minor> <currency>\"")))?;
        let minor = minor
            .parse::<i64>()
            .map_err(|_| Error::Corrupt(format!("amount {s:?} has no integer minor units")))?;
        let currency = Currency::from_code(code).map_err(|e| Error::Corrupt(e.to_string()))?;
        Ok(Money::new(minor, currency))
    }

    /// The sum of two amounts of one currency; `None` on overflow or mixed currencies.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        self.minor
            .checked_add(other.minor)
            .map(|m| Money::new(m, self.currency))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.decimal(), self.currency.code)
    }
}

/// Sums kept apart per currency: 12 EUR and 5 USD never become 17 of anything.
///
/// Sums saturate at `i64::MAX` minor units (92 quadrillion cents) rather than
/// wrapping; no real ledger gets there, and a wrong sign would be worse.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals(BTreeMap<Currency, i64>);

impl Totals {
    /// Adds `amount` to the sum of its currency.
    pub fn add(&mut self, amount: Money) {
        let sum = self.0.entry(amount.currency).or_insert(0);
        *sum = sum.saturating_add(amount.minor);
    }

    /// The sum for `currency` (zero when nothing was added in it).
    pub fn get(&self, currency: Currency) -> Money {
        Money::new(self.0.get(&currency).copied().unwrap_or(0), currency)
    }

    /// Each currency's sum, ordered by code.
    pub fn iter(&self) -> impl Iterator<Item = Money> + '_ {
        self.0.iter().map(|(c, m)| Money::new(*m, *c))
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(c: &str) -> Currency {
        Currency::from_code(c).unwrap()
    }

    #[test]
    fn a_locale_names_the_currency_of_its_region() {
        let code = |l: &str| Currency::of_locale(l).map(|c| c.code());
        assert_eq!(code("de_DE.UTF-8"), Some("EUR"));
        assert_eq!(code("en-US"), Some("USD"));
        assert_eq!(code("fr_CH.utf8@euro"), Some("CHF"));
        assert_eq!(code("ja_JP"), Some("JPY"));
        assert_eq!(code("en_GB"), Some("GBP"));
        assert_eq!(code("C.UTF-8"), None);
        assert_eq!(code("POSIX"), None);
        assert_eq!(code("en"), None);
        assert_eq!(code("xx_ZZ"), None);
        // Every region's code is a currency this build knows.
        for (_, c) in REGION_CURRENCY {
            Currency::from_code(c).unwrap();
        }
    }

    #[test]
    fn an_amount_may_name_its_currency() {
        let eur = cur("EUR");
        assert_eq!(
            Money::parse_with_currency("50", eur).unwrap(),
            Money::new(5000, eur)
        );
        assert_eq!(
            Money::parse_with_currency("50 usd", eur).unwrap(),
            Money::new(5000, cur("USD"))
        );
        assert_eq!(
            Money::parse_with_currency("JPY 1200", eur).unwrap(),
            Money::new(1200, cur("JPY"))
        );
        assert_eq!(
            Money::parse_with_currency("12,50GBP", eur).unwrap(),
            Money::new(1250, cur("GBP"))
        );
        assert!(Money::parse_with_currency("50 XYZ", eur).is_err());
        assert!(Money::parse_with_currency("USD", eur).is_err());
    }

    #[test]
    fn codes_are_sorted_and_exponents_known() {
        assert!(CODES.windows(2).all(|w| w[0] < w[1]));
        for (code, _) in EXPONENTS {
            assert!(
                CODES.contains(code),
                "{code} has an exponent but is not a code"
            );
        }
        assert_eq!(cur("JPY").exponent(), 0);
        assert_eq!(cur("EUR").exponent(), 2);
        assert_eq!(cur("KWD").exponent(), 3);
        assert!(Currency::from_code("eur").is_err());
        assert!(Currency::from_code("XAU").is_err());
        assert!(Currency::from_code("EURO").is_err());
    }

    #[test]
    fn parses_what_people_type() {
        let eur = cur("EUR");
        for (input, minor) in [
            ("12.50", 1250),
            ("12,50", 1250),
            ("12,5", 1250),
            ("12", 1200),
            ("0.01", 1),
            (" 1 234,56 ", 123_456),
            ("1,234.56", 123_456),
            ("1.234,56", 123_456),
            ("1.234.567", 123_456_700),
            ("-3", -300),
            ("+7.1", 710),
            (".5", 50),
            ("1'000.00", 100_000),
        ] {
            assert_eq!(Money::parse(input, eur).unwrap().minor, minor, "{input}");
        }
        assert_eq!(Money::parse("1500", cur("JPY")).unwrap().minor, 1500);
        assert_eq!(Money::parse("1.5", cur("KWD")).unwrap().minor, 1500);
    }

    #[test]
    fn refuses_what_is_not_an_amount() {
        let eur = cur("EUR");
        for bad in [
            "",
            "-",
            "abc",
            "12.345",
            "1e5",
            "12..5x",
            "--3",
            "12.5.6,7a",
            "NaN",
            "١٢",
        ] {
            assert!(Money::parse(bad, eur).is_err(), "{bad} accepted");
        }
        assert!(Money::parse("12.5", cur("JPY")).is_err());
        assert!(Money::parse("99999999999999999999", eur).is_err());
        assert!(Money::parse("92233720368547758.07", eur).is_ok());
        assert!(Money::parse("92233720368547758.08", eur).is_err());
    }

    #[test]
    fn formats_with_the_currency_decimals() {
        assert_eq!(Money::new(1250, cur("EUR")).decimal(), "12.50");
        assert_eq!(Money::new(-5, cur("EUR")).decimal(), "-0.05");
        assert_eq!(Money::new(1500, cur("JPY")).to_string(), "1500 JPY");
        assert_eq!(Money::new(5, cur("KWD")).decimal(), "0.005");
        assert_eq!(
            Money::new(i64::MIN, cur("EUR")).decimal(),
            "-92233720368547758.08"
        );
    }

    #[test]
    fn storage_form_round_trips_and_rejects_garbage() {
        let m = Money::new(-1250, cur("USD"));
        assert_eq!(Money::from_storage(&m.to_storage()).unwrap(), m);
        for bad in ["1250", "12.50 EUR", "1250 XXX", " EUR", "1250  EUR"] {
            assert!(Money::from_storage(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn totals_never_mix_currencies() {
        let mut t = Totals::default();
        t.add(Money::new(1200, cur("EUR")));
        t.add(Money::new(500, cur("USD")));
        t.add(Money::new(300, cur("EUR")));
        assert_eq!(t.get(cur("EUR")).minor, 1500);
        assert_eq!(t.get(cur("USD")).minor, 500);
        assert_eq!(t.get(cur("JPY")).minor, 0);
        assert_eq!(t.iter().count(), 2);
        assert_eq!(
            Money::new(1, cur("EUR")).checked_add(Money::new(1, cur("USD"))),
            None
        );
    }
}
