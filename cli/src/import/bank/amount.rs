//! Amounts as banks write them, read digit by digit into minor units.

use lifeos_core::Currency;

/// An amount as a bank writes it, in minor units of `currency`: negative
/// for `-12.50`, `12.50-`, `(12.50)`; the currency's code or symbol may
/// stand on either side. An error is a message about the cell.
pub(super) fn amount_of(
    text: &str,
    decimal_comma: bool,
    currency: Currency,
) -> Result<i64, String> {
    let bad = || format!("{text:?} is not an amount");
    let strip_currency = |s: &str| -> String {
        let mut s = s.trim();
        for sign in [currency.code(), "€", "$", "£", "¥", "₹", "₩"] {
            s = s.strip_prefix(sign).unwrap_or(s).trim();
            s = s.strip_suffix(sign).unwrap_or(s).trim();
        }
        s.to_string()
    };
    let mut s = strip_currency(text);
    let mut negative = false;
    if let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        negative = true;
        s = inner.trim().to_string();
    }
    if let Some(rest) = s.strip_prefix('-').or_else(|| s.strip_prefix('\u{2212}')) {
        negative = !negative;
        s = strip_currency(rest);
    } else if let Some(rest) = s.strip_suffix('-') {
        negative = !negative;
        s = strip_currency(rest);
    } else if let Some(rest) = s.strip_prefix('+') {
        s = strip_currency(rest);
    }
    let (point, group) = if decimal_comma {
        (',', '.')
    } else {
        ('.', ',')
    };
    let (whole, fraction) = s.split_once(point).unwrap_or((&s, ""));
    if !fraction.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let groups: Vec<&str> = whole
        .split([group, ' ', '\'', '\u{a0}', '\u{202f}'])
        .collect();
    if !groups.iter().all(|g| g.chars().all(|c| c.is_ascii_digit())) {
        return Err(bad());
    }
    if groups.len() > 1
        && (groups[0].is_empty() || groups[0].len() > 3 || groups[1..].iter().any(|g| g.len() != 3))
    {
        return Err(if decimal_comma {
            format!(
                "{text:?} is not an amount with a decimal comma (amounts like 12.50 need no --decimal-comma)"
            )
        } else {
            format!(
                "{text:?} is not an amount with a decimal point (for amounts like 12,50 give --decimal-comma)"
            )
        });
    }
    let digits: String = groups.concat();
    if digits.is_empty() && fraction.is_empty() {
        return Err(bad());
    }
    let exp = usize::from(currency.exponent());
    let (kept, dropped) = fraction.split_at(fraction.len().min(exp));
    if dropped.chars().any(|c| c != '0') {
        return Err(format!(
            "{text:?} has more decimals than {} has ({exp})",
            currency.code()
        ));
    }
    let too_large = || format!("{text:?} is too large");
    let mut minor: i64 = 0;
    for c in digits
        .chars()
        .chain(kept.chars())
        .chain(std::iter::repeat_n('0', exp - kept.len()))
    {
        let digit = i64::from(c.to_digit(10).unwrap_or(0));
        minor = minor
            .checked_mul(10)
            .and_then(|m| m.checked_add(digit))
            .ok_or_else(too_large)?;
    }
    Ok(if negative { -minor } else { minor })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::from_code("EUR").unwrap()
    }

    #[test]
    fn amounts_are_exact_minor_units() {
        let a = |s: &str, comma: bool| amount_of(s, comma, eur());
        assert_eq!(a("-12.50", false), Ok(-1250));
        assert_eq!(a("1,234.5", false), Ok(123_450));
        assert_eq!(a("€ 4.20", false), Ok(420));
        assert_eq!(a("-€4.20", false), Ok(-420));
        assert_eq!(a("4.20 EUR", false), Ok(420));
        assert_eq!(a("(3.00)", false), Ok(-300));
        assert_eq!(a("12.50-", false), Ok(-1250));
        assert_eq!(a("+7", false), Ok(700));
        assert_eq!(a("0.1", false), Ok(10));
        assert_eq!(a(".5", false), Ok(50));
        assert_eq!(a("1.500", false), Ok(150), "zeros beyond cents are fine");
        assert_eq!(a("-1.234,56", true), Ok(-123_456));
        assert_eq!(a("1 234,56", true), Ok(123_456));
        assert_eq!(a("12,5", true), Ok(1250));
        assert_eq!(a("12,5x", true), Err("\"12,5x\" is not an amount".into()));
        assert_eq!(a("12,5x", false), Err("\"12,5x\" is not an amount".into()));
        assert!(a("12,50", false).unwrap_err().contains("--decimal-comma"));
        assert!(
            a("12.50", true)
                .unwrap_err()
                .contains("need no --decimal-comma")
        );
        assert_eq!(
            a("0.125", false),
            Err("\"0.125\" has more decimals than EUR has (2)".into())
        );
        assert_eq!(a("", false), Err("\"\" is not an amount".into()));
        assert_eq!(a("-", false), Err("\"-\" is not an amount".into()));
        assert!(
            a("99999999999999999999", false)
                .unwrap_err()
                .contains("too large")
        );
        let jpy = Currency::from_code("JPY").unwrap();
        assert_eq!(amount_of("1,200", false, jpy), Ok(1200));
        assert!(amount_of("12.5", false, jpy).is_err());
    }
}
