//! Times in the log: RFC 3339 UTC with milliseconds, written and parsed
//! without a date library.
//!
//! Entries are stamped with [`format_rfc3339`]; [`parse_rfc3339`] accepts
//! what operators type (`--since`) as well, any offset converted to UTC.
//! Proleptic Gregorian calendar, no leap seconds.

use std::time::{SystemTime, UNIX_EPOCH};

pub(super) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for milliseconds since the Unix epoch.
pub fn format_rfc3339(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let ms = millis.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// Milliseconds since the Unix epoch of an RFC 3339 time
/// (`2026-11-01T00:00:00Z`, `2026-11-01T01:00:00.5+01:00`) or a date
/// (`2026-11-01`, midnight UTC).
pub fn parse_rfc3339(text: &str) -> std::result::Result<i64, String> {
    let bad = |why: &str| {
        format!("{text:?} is not an RFC 3339 time such as 2026-11-01T00:00:00Z ({why})")
    };
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> std::result::Result<i64, String> {
        let part = text.get(range).ok_or_else(|| bad("too short"))?;
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("expected digits"));
        }
        part.parse::<i64>().map_err(|_| bad("expected digits"))
    };
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return Err(bad("expected YYYY-MM-DD"));
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(bad("no such date"));
    }
    let days = days_from_civil(year, month, day);
    if bytes.len() == 10 {
        return Ok(days * 86_400_000);
    }
    if bytes.len() < 20
        || !matches!(bytes[10], b'T' | b't' | b' ')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return Err(bad("expected THH:MM:SS and a zone"));
    }
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if hour > 23 || minute > 59 || second > 60 {
        return Err(bad("no such time of day"));
    }
    let mut at = 19;
    let mut millis = 0;
    if bytes[at] == b'.' {
        let start = at + 1;
        let mut end = start;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end == start {
            return Err(bad("expected digits after '.'"));
        }
        let frac = &text[start..end.min(start + 3)];
        millis = frac.parse::<i64>().map_err(|_| bad("bad fraction"))?
            * 10_i64.pow(3 - frac.len() as u32);
        at = end;
    }
    let offset_minutes = match &text[at..] {
        "Z" | "z" => 0,
        zone if zone.len() == 6
            && matches!(zone.as_bytes()[0], b'+' | b'-')
            && zone.as_bytes()[3] == b':' =>
        {
            let hours = number(at + 1..at + 3)?;
            let minutes = number(at + 4..at + 6)?;
            if hours > 23 || minutes > 59 {
                return Err(bad("bad zone offset"));
            }
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            sign * (hours * 60 + minutes)
        }
        _ => return Err(bad("expected a zone: Z or ±HH:MM")),
    };
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Ok(secs * 1000 + millis)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of days since 1970-01-01 (H. Hinnant).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
        let t = parse_rfc3339("2026-11-01T00:00:00Z").unwrap();
        assert_eq!(format_rfc3339(t), "2026-11-01T00:00:00.000Z");
        assert_eq!(parse_rfc3339("2026-11-01").unwrap(), t);
        assert_eq!(parse_rfc3339("2026-11-01T01:00:00+01:00").unwrap(), t);
        assert_eq!(
            parse_rfc3339("2026-10-31T23:00:00.5-01:00").unwrap(),
            t + 500
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T12:34:56.789Z")
                .map(format_rfc3339)
                .unwrap(),
            "2024-02-29T12:34:56.789Z"
        );
        for bad in [
            "",
            "2026-13-01",
            "2025-02-29",
            "2026-11-01T00:00:00",
            "2026-11-01T25:00:00Z",
            "tegnap",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
        let now = now_millis();
        assert_eq!(parse_rfc3339(&format_rfc3339(now)).unwrap(), now);
    }
}
