//! Numbers and periods as people and spreadsheets write them: decimal
//! commas, thousands separators checked by their grouping, and `YYYY`,
//! `YYYY-Qn` or `YYYY-MM` periods. Nothing is guessed: what is not clearly a
//! number or a period is refused.

/// `YYYY`, `YYYY-Qn` (n from 1 to 4) or `YYYY-MM` (01 to 12). A lower-case
/// `q` is accepted and written upper-case, so that the same quarter always
/// has the same store key.
pub(super) fn normalise_period(period: &str) -> Option<String> {
    let bytes = period.as_bytes();
    let year_ok = bytes.len() >= 4 && bytes[..4].iter().all(u8::is_ascii_digit);
    if !year_ok {
        return None;
    }
    match bytes[4..] {
        [] => Some(period.to_string()),
        [b'-', b'Q' | b'q', quarter @ b'1'..=b'4'] => {
            Some(format!("{}-Q{}", &period[..4], char::from(quarter)))
        }
        [b'-', tens @ (b'0' | b'1'), ones @ b'0'..=b'9'] => {
            let month = (tens - b'0') * 10 + (ones - b'0');
            (1..=12).contains(&month).then(|| period.to_string())
        }
        _ => None,
    }
}

/// Whether a value uses the decimal comma: always in `;` files (the
/// Hungarian Excel default), in tab files when the value has a comma and no
/// dot, never in `,` files (where a comma would have split the field).
pub(crate) fn decimal_comma(delimiter: u8, value: &str) -> bool {
    match delimiter {
        b';' => true,
        b'\t' => value.contains(',') && !value.contains('.'),
        _ => false,
    }
}

/// Parses a number written by a person or a spreadsheet.
///
/// Accepted: an optional sign, digits, an optional fraction after the
/// decimal mark, and thousands separators (space, U+00A0, U+202F, and `.`
/// when the decimal mark is a comma) between groups of exactly three digits.
/// Grouping is checked so that `12.5` in a decimal-comma file, or `1 2`, is
/// rejected instead of silently becoming 125 or 12. No exponents, no NaN, no
/// infinities.
pub(crate) fn parse_number(value: &str, decimal_comma: bool) -> Option<f64> {
    let value = value.trim();
    let (negative, unsigned) = match value.as_bytes().first() {
        Some(b'-') => (true, &value[1..]),
        Some(b'+') => (false, &value[1..]),
        _ => (false, value),
    };
    let decimal_mark = if decimal_comma { ',' } else { '.' };
    let is_group_separator =
        |c: char| matches!(c, ' ' | '\u{a0}' | '\u{202f}') || (decimal_comma && c == '.');

    let (whole, fraction) = match unsigned.split_once(decimal_mark) {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());

    let groups: Vec<&str> = whole.split(is_group_separator).collect();
    let mut digits = String::with_capacity(unsigned.len() + 2);
    match groups.as_slice() {
        [single] => {
            if !all_digits(single) {
                return None;
            }
            digits.push_str(single);
        }
        [first, rest @ ..] => {
            if first.is_empty() || first.len() > 3 || !all_digits(first) {
                return None;
            }
            if !rest.iter().all(|g| g.len() == 3 && all_digits(g)) {
                return None;
            }
            digits.push_str(first);
            rest.iter().for_each(|g| digits.push_str(g));
        }
        [] => return None,
    }
    match fraction {
        Some(fraction) => {
            if fraction.is_empty() || !all_digits(fraction) {
                return None;
            }
            if digits.is_empty() {
                digits.push('0');
            }
            digits.push('.');
            digits.push_str(fraction);
        }
        None if digits.is_empty() => return None,
        None => {}
    }
    let magnitude: f64 = digits.parse().ok()?;
    if !magnitude.is_finite() {
        return None;
    }
    Some(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_parsing() {
        assert_eq!(parse_number("1 234,5", true), Some(1234.5));
        assert_eq!(parse_number("-1.234", true), Some(-1234.0));
        assert_eq!(parse_number(",5", true), Some(0.5));
        assert_eq!(parse_number("1,234.5", false), None);
        assert_eq!(parse_number("1 234.5", false), Some(1234.5));
        assert_eq!(parse_number("0.001", false), Some(0.001));
        assert_eq!(parse_number("5.", false), None);
        assert_eq!(parse_number("", false), None);
        assert_eq!(parse_number("+", false), None);
        assert_eq!(parse_number("--1", false), None);
        assert_eq!(parse_number("1234 567", false), None);
        assert_eq!(parse_number("é", true), None);
        assert_eq!(parse_number(&"9".repeat(400), false), None);
    }

    #[test]
    fn periods() {
        assert_eq!(normalise_period("2014"), Some("2014".into()));
        assert_eq!(normalise_period("2014-q2"), Some("2014-Q2".into()));
        assert_eq!(normalise_period("2014-12"), Some("2014-12".into()));
        assert_eq!(normalise_period("2014-13"), None);
        assert_eq!(normalise_period("éééé"), None);
        assert_eq!(normalise_period("2020-Qé"), None);
    }
}
