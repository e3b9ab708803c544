//! Hungarian conventions for everything a person reads: numbers, dates and
//! the order of names.
//!
//! ## Numbers
//!
//! The decimal separator is a comma and thousands are grouped by a
//! no-break space ([`NBSP`], so a number never wraps across lines). MSZ
//! and house styles differ on four-digit numbers; we group from four
//! digits (`1 250`), so that the digits of a column of numbers line up
//! whatever their size. Not-a-number and infinities are shown as an en
//! dash, and a value that rounds to zero never shows a minus sign.
//!
//! [`value`] is how an indicator's value appears in tables and tooltips:
//! whole numbers without decimals; at or above one at most two decimals
//! (`12,5 %`, `1 234 567,8`); below one two significant digits, at most
//! six decimals (`0,034`, `0,0012`); trailing zeros trimmed. The unit
//! follows after a no-break space (`9 871 fő`, `12,5 %`, as Hungarian
//! typography writes the percent sign too).
//!
//! ## Dates
//!
//! `2024. március 5.` and `2024. március 5. 14:03`: year, lowercase month
//! name, day, each followed by a full stop. Times are shown as the text
//! gives them (the clock time in its own offset; no conversion).
//!
//! ## Collation
//!
//! Names sort by the Hungarian alphabet (MSZ, as ICU's `hu` collation):
//!
//! a á b c cs d dz dzs e é f g gy h i í j k l ly m n ny o ó ö ő p q r s sz
//! t ty u ú ü ű v w x y z zs
//!
//! - Primary level: letters; the digraphs and `dzs` are single letters,
//!   read greedily from the left (`cukor < csak < dob`, `Sárospatak <
//!   Szeged`). Vowels that differ only in length are equal here (`a = á`,
//!   `ö = ő`), but `ö` and `ü` are letters of their own after `o` and `u`.
//!   Doubled digraphs are read as the digraph twice, as ICU does: `ssz` is
//!   `sz sz`, `ccs` is `cs cs`, `ggy`, `lly`, `nny`, `tty`, `zzs`, `ddz`,
//!   `ddzs` likewise (`kasza < kassza`). Greedy reading cannot see compound
//!   boundaries (`házszám` reads `zs`), nor can ICU's.
//! - Secondary level, only when the letters are equal: short before long
//!   (`kor < kór < kör < kőr`); other Latin letters with diacritics of the
//!   neighbouring languages (`č`, `ș`, `ä`, …) are their base letter with a
//!   secondary difference after the Hungarian long vowel.
//! - Tertiary level: lowercase before uppercase (ICU's default).
//! - Other characters: whitespace lowest, then punctuation and symbols (by
//!   code point), then digits (one by one, not as numbers), then letters;
//!   letters outside the Latin alphabet after `zs`, by code point.
//! - Strings equal at every level are ordered by their code points, so the
//!   order is total and [`sort`] deterministic.

use std::cmp::Ordering;

/// The thousands separator: a no-break space.
pub const NBSP: char = '\u{a0}';

/// What is shown for a number that is not one (NaN, infinities).
const NOT_A_NUMBER: &str = "–";

/// Groups a run of ASCII digits by three from the right with [`NBSP`],
/// from four digits up.
fn group(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 2);
    let len = digits.len();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (len - i).is_multiple_of(3) {
            out.push(NBSP);
        }
        out.push(c);
    }
    out
}

/// A whole number: `9 871`, `1 234 567`, `-12 000`, `1 250`.
pub fn integer(n: i64) -> String {
    // `unsigned_abs` keeps `i64::MIN` whole.
    let digits = group(&n.unsigned_abs().to_string());
    if n < 0 { format!("-{digits}") } else { digits }
}

/// A number with a fixed number of decimals: `12,5`, `1 234,57`.
pub fn decimal(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return NOT_A_NUMBER.to_string();
    }
    let text = format!("{:.*}", decimals, v.abs());
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text.as_str(), None),
    };
    // A value that rounds to zero has no sign (`-0,0` reads as a fault).
    let negative = v < 0.0 && text.bytes().any(|b| b.is_ascii_digit() && b != b'0');
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&group(whole));
    if let Some(fraction) = fraction {
        out.push(',');
        out.push_str(fraction);
    }
    out
}

/// How many decimals [`value`] shows for `v` (before trimming zeros).
fn significant_decimals(v: f64) -> usize {
    let magnitude = v.abs();
    if magnitude >= 1.0 || magnitude == 0.0 {
        return 2;
    }
    // Two significant digits below one: 0.034 has its first digit at the
    // second decimal, so it needs three.
    let first = ((-magnitude.log10()).ceil() as usize).max(1);
    (first + 1).min(6)
}

/// An indicator's value as tables and tooltips show it, with its unit:
/// `12,5 %`, `9 871 fő`, `0,034`, `1 234 567,8 Ft`.
pub fn value(v: f64, unit: &str) -> String {
    if !v.is_finite() {
        return NOT_A_NUMBER.to_string();
    }
    let mut text = decimal(v, significant_decimals(v));
    if text.contains(',') {
        let trimmed = text.trim_end_matches('0').trim_end_matches(',').len();
        text.truncate(trimmed);
    }
    let unit = unit.trim();
    if unit.is_empty() {
        text
    } else {
        format!("{text}{NBSP}{unit}")
    }
}

/// The months' names, lowercase as Hungarian writes them.
const MONTHS: [&str; 12] = [
    "január",
    "február",
    "március",
    "április",
    "május",
    "június",
    "július",
    "augusztus",
    "szeptember",
    "október",
    "november",
    "december",
];

/// A date: `2024. március 5.`. A month outside 1–12 is written as a
/// number (`2024. 13. 5.`) rather than hidden.
pub fn date(year: i32, month: u32, day: u32) -> String {
    match month.checked_sub(1).and_then(|m| MONTHS.get(m as usize)) {
        Some(name) => format!("{year}. {name} {day}."),
        None => format!("{year}. {month}. {day}."),
    }
}

/// Days in a month of the proleptic Gregorian calendar.
fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// Exactly `len` ASCII digits as a number.
fn digits(text: &str, len: usize) -> Option<u32> {
    if text.len() != len || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `YYYY-MM-DD`, checked (a real day of a real month).
fn parse_date(text: &str) -> Option<(i32, u32, u32)> {
    let mut parts = text.splitn(3, '-');
    let year = digits(parts.next()?, 4)?;
    let month = digits(parts.next()?, 2)?;
    let day = digits(parts.next()?, 2)?;
    let year = i32::try_from(year).ok()?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some((year, month, day))
}

/// An ISO date (`2024-03-05`) as `2024. március 5.`; `None` unless it is
/// one.
pub fn date_iso(text: &str) -> Option<String> {
    let (year, month, day) = parse_date(text)?;
    Some(date(year, month, day))
}

/// A register date as written (`2024-03-05`, `2024-03` or `2024`) in
/// Hungarian: `2024. március 5.`, `2024. március`, `2024.`; `None` unless
/// it is one of those.
pub fn date_partial(text: &str) -> Option<String> {
    if let Some(full) = date_iso(text) {
        return Some(full);
    }
    match text.split_once('-') {
        Some((year, month)) => {
            let (year, month) = (digits(year, 4)?, digits(month, 2)?);
            let name = month.checked_sub(1).and_then(|m| MONTHS.get(m as usize))?;
            Some(format!("{year}. {name}"))
        }
        None => Some(format!("{}.", digits(text, 4)?)),
    }
}

/// An amount in forints: `1 855 000 Ft`.
pub fn forint(amount: u64) -> String {
    format!("{}{NBSP}Ft", group(&amount.to_string()))
}

/// An RFC 3339 timestamp (`2024-03-05T14:03:09Z`, fractions and offsets
/// allowed) as `2024. március 5. 14:03`, the clock time as written (no
/// conversion between offsets); `None` when malformed.
pub fn datetime_rfc3339(text: &str) -> Option<String> {
    if !text.is_ascii() || text.len() < 20 {
        return None;
    }
    let (day_part, rest) = text.split_at(10);
    let (year, month, day) = parse_date(day_part)?;
    let rest = rest.strip_prefix(['T', 't'])?;
    let (clock, zone) = rest.split_at(8);
    let mut fields = clock.split(':');
    let hour = digits(fields.next()?, 2)?;
    let minute = digits(fields.next()?, 2)?;
    let second = digits(fields.next()?, 2)?;
    // 60: a leap second.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let zone = match zone.strip_prefix('.') {
        Some(fraction) => {
            let end = fraction
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(fraction.len());
            if end == 0 {
                return None;
            }
            &fraction[end..]
        }
        None => zone,
    };
    if !(zone == "Z" || zone == "z" || valid_offset(zone)) {
        return None;
    }
    Some(format!("{} {hour:02}:{minute:02}", date(year, month, day)))
}

/// `+HH:MM` or `-HH:MM`.
fn valid_offset(zone: &str) -> bool {
    let Some(offset) = zone.strip_prefix(['+', '-']) else {
        return false;
    };
    match offset.split_once(':') {
        Some((h, m)) => {
            matches!(digits(h, 2), Some(h) if h <= 23) && matches!(digits(m, 2), Some(m) if m <= 59)
        }
        None => false,
    }
}

// ---------------------------------------------------------------------------
// Collation
// ---------------------------------------------------------------------------

/// The Hungarian alphabet's letters (lowercase), in order; a vowel's long
/// pair shares its place (see [`long_vowel`]).
const ALPHABET: [&str; 37] = [
    "a", "b", "c", "cs", "d", "dz", "dzs", "e", "f", "g", "gy", "h", "i", "j", "k", "l", "ly", "m",
    "n", "ny", "o", "ö", "p", "q", "r", "s", "sz", "t", "ty", "u", "ü", "v", "w", "x", "y", "z",
    "zs",
];

/// A long vowel's short pair.
fn long_vowel(c: char) -> Option<char> {
    Some(match c {
        'á' => 'a',
        'é' => 'e',
        'í' => 'i',
        'ó' => 'o',
        'ő' => 'ö',
        'ú' => 'u',
        'ű' => 'ü',
        _ => return None,
    })
}

/// Letters with diacritics of the neighbouring languages, as their base
/// letter (a secondary difference only).
fn foreign_base(c: char) -> Option<char> {
    Some(match c {
        'à' | 'â' | 'ä' | 'ã' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'ď' | 'đ' => 'd',
        'è' | 'ê' | 'ë' | 'ě' | 'ę' | 'ē' => 'e',
        'ì' | 'î' | 'ï' | 'ī' => 'i',
        'ĺ' | 'ľ' | 'ł' => 'l',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ô' | 'õ' | 'ø' | 'ō' => 'o',
        'ŕ' | 'ř' => 'r',
        'ś' | 'š' | 'ș' | 'ş' => 's',
        'ť' | 'ț' | 'ţ' => 't',
        'ù' | 'û' | 'ů' | 'ū' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        _ => return None,
    })
}

/// Classes of characters at the primary level, lowest first.
const CLASS_SPACE: u32 = 0;
const CLASS_PUNCTUATION: u32 = 1;
const CLASS_DIGIT: u32 = 2;
const CLASS_LETTER: u32 = 3;
const CLASS_OTHER_LETTER: u32 = 4;

/// A primary weight: the class in the high bits, the place within it below.
fn primary(class: u32, place: u32) -> u32 {
    (class << 24) | (place & 0x00ff_ffff)
}

/// The primary weight of a Hungarian letter (lowercase, short form).
fn letter_weight(letter: &str) -> Option<u32> {
    ALPHABET
        .iter()
        .position(|l| *l == letter)
        .map(|i| primary(CLASS_LETTER, i as u32))
}

/// A string's collation key: its weights at each level, then the string
/// itself. Comparing keys compares the strings as [`compare`] does; build
/// one per item when sorting many.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SortKey {
    primary: Vec<u32>,
    secondary: Vec<u8>,
    tertiary: Vec<u8>,
    text: String,
}

impl SortKey {
    /// Reads `text` into collation elements (see the module's rules).
    pub fn new(text: &str) -> SortKey {
        let chars: Vec<char> = text.chars().collect();
        let mut key = SortKey {
            primary: Vec::with_capacity(chars.len()),
            secondary: Vec::with_capacity(chars.len()),
            tertiary: Vec::with_capacity(chars.len()),
            text: text.to_string(),
        };
        // Folded: the short form of each letter, lowercase, for matching
        // digraphs regardless of case and length (`Cs`, `CS`, `cs`).
        let folded: Vec<char> = chars.iter().map(|&c| fold(c)).collect();
        let mut i = 0;
        while i < chars.len() {
            let upper = u8::from(chars[i].is_uppercase());
            // Doubled digraphs (`ssz`, `ddzs`): the digraph twice.
            if let Some((digraph, len)) = doubled(&folded[i..])
                && let Some(weight) = letter_weight(digraph)
            {
                for _ in 0..2 {
                    key.push(weight, 0, upper);
                }
                i += len;
                continue;
            }
            // `dzs`, then the two-letter digraphs: the alphabet's only
            // entries of three and two characters.
            if let Some((weight, len)) = [3, 2].into_iter().find_map(|len| {
                let letter: String = folded.get(i..i + len)?.iter().collect();
                letter_weight(&letter).map(|weight| (weight, len))
            }) {
                key.push(weight, 0, upper);
                i += len;
                continue;
            }
            key.push_char(chars[i], upper);
            i += 1;
        }
        key
    }

    fn push(&mut self, primary: u32, secondary: u8, tertiary: u8) {
        self.primary.push(primary);
        self.secondary.push(secondary);
        self.tertiary.push(tertiary);
    }

    /// One character that is not part of a digraph.
    fn push_char(&mut self, c: char, upper: u8) {
        let lower = c.to_lowercase().next().unwrap_or(c);
        let (base, secondary) = if let Some(short) = long_vowel(lower) {
            (short, 1)
        } else if let Some(base) = foreign_base(lower) {
            (base, 2)
        } else {
            (lower, 0)
        };
        let mut buffer = [0; 4];
        if let Some(weight) = letter_weight(base.encode_utf8(&mut buffer)) {
            self.push(weight, secondary, upper);
        } else if c.is_whitespace() {
            self.push(primary(CLASS_SPACE, 0), 0, 0);
        } else if let Some(d) = c.to_digit(10) {
            self.push(primary(CLASS_DIGIT, d), 0, 0);
        } else if c.is_alphabetic() {
            self.push(primary(CLASS_OTHER_LETTER, lower as u32), 0, upper);
        } else {
            self.push(primary(CLASS_PUNCTUATION, c as u32), 0, 0);
        }
    }
}

/// A character lowercased, a long vowel as its short pair (for matching
/// digraphs only).
fn fold(c: char) -> char {
    let lower = c.to_lowercase().next().unwrap_or(c);
    long_vowel(lower).unwrap_or(lower)
}

/// A doubled digraph at the start of `folded`: the digraph and how many
/// characters it takes (`ssz` → `sz`, 3; `ddzs` → `dzs`, 4).
fn doubled(folded: &[char]) -> Option<(&'static str, usize)> {
    let first = *folded.first()?;
    // Longest first: `ddzs` before `ddz`.
    for digraph in ["dzs", "cs", "dz", "gy", "ly", "ny", "sz", "ty", "zs"] {
        let len = digraph.chars().count() + 1;
        if folded.len() >= len
            && digraph.starts_with(first)
            && folded[1..len].iter().copied().eq(digraph.chars())
        {
            return Some((digraph, len));
        }
    }
    None
}

/// Compares two strings in Hungarian alphabetical order.
pub fn compare(a: &str, b: &str) -> Ordering {
    SortKey::new(a).cmp(&SortKey::new(b))
}

/// Sorts in Hungarian alphabetical order by a string key (stable; each
/// item's key is read once).
pub fn sort<T>(items: &mut [T], key: impl Fn(&T) -> &str) {
    items.sort_by_cached_key(|item| SortKey::new(key(item)));
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Test expectations written with ordinary spaces, as NBSP.
    fn nb(text: &str) -> String {
        text.replace(' ', "\u{a0}")
    }

    #[test]
    fn integers_are_grouped_from_four_digits() {
        assert_eq!(integer(0), "0");
        assert_eq!(integer(999), "999");
        assert_eq!(integer(1250), nb("1 250"));
        assert_eq!(integer(9871), nb("9 871"));
        assert_eq!(integer(1_234_567), nb("1 234 567"));
        assert_eq!(integer(-12_000), nb("-12 000"));
        assert_eq!(integer(-5), "-5");
        assert_eq!(integer(i64::MIN), nb("-9 223 372 036 854 775 808"));
    }

    #[test]
    fn decimals_use_a_comma() {
        assert_eq!(decimal(12.5, 1), "12,5");
        assert_eq!(decimal(1234.567, 2), nb("1 234,57"));
        assert_eq!(decimal(-1234.4, 0), nb("-1 234"));
        assert_eq!(decimal(0.0, 2), "0,00");
        assert_eq!(decimal(-0.0, 1), "0,0");
        assert_eq!(decimal(-0.001, 2), "0,00");
        assert_eq!(decimal(-0.5, 1), "-0,5");
        assert_eq!(decimal(f64::NAN, 2), "–");
        assert_eq!(decimal(f64::INFINITY, 2), "–");
        assert_eq!(decimal(f64::NEG_INFINITY, 0), "–");
    }

    #[test]
    fn values_suit_indicators() {
        assert_eq!(value(12.5, "%"), nb("12,5 %"));
        assert_eq!(value(9871.0, "fő"), nb("9 871 fő"));
        assert_eq!(value(3400.0, "Ft"), nb("3 400 Ft"));
        assert_eq!(value(0.034, ""), "0,034");
        assert_eq!(value(0.0346, ""), "0,035");
        assert_eq!(value(0.1, ""), "0,1");
        assert_eq!(value(0.123, ""), "0,12");
        assert_eq!(value(0.5, ""), "0,5");
        assert_eq!(value(0.000_012_3, ""), "0,000012");
        assert_eq!(value(1_234_567.8, "Ft"), nb("1 234 567,8 Ft"));
        assert_eq!(value(12.3456, "%"), nb("12,35 %"));
        assert_eq!(value(2.999, ""), "3");
        assert_eq!(value(12.10, ""), "12,1");
        assert_eq!(value(-3.25, "%"), nb("-3,25 %"));
        assert_eq!(value(-0.0001, ""), "-0,0001");
        assert_eq!(value(-0.0, "fő"), nb("0 fő"));
        assert_eq!(value(0.0, ""), "0");
        assert_eq!(value(f64::NAN, "%"), "–");
        assert_eq!(value(7.0, "  "), "7");
    }

    #[test]
    fn dates_are_written_out() {
        assert_eq!(date(2024, 3, 5), "2024. március 5.");
        assert_eq!(date(2019, 1, 31), "2019. január 31.");
        assert_eq!(date(2020, 12, 24), "2020. december 24.");
        assert_eq!(date(2020, 13, 1), "2020. 13. 1.");
        assert_eq!(date(2020, 0, 1), "2020. 0. 1.");
    }

    #[test]
    fn iso_dates_are_checked() {
        assert_eq!(date_iso("2024-03-05").unwrap(), "2024. március 5.");
        assert_eq!(date_iso("2024-02-29").unwrap(), "2024. február 29.");
        assert_eq!(date_iso("2023-02-29"), None);
        assert_eq!(date_iso("1900-02-29"), None);
        assert_eq!(date_iso("2000-02-29").unwrap(), "2000. február 29.");
        assert_eq!(date_iso("2024-04-31"), None);
        assert_eq!(date_iso("2024-13-01"), None);
        assert_eq!(date_iso("2024-00-01"), None);
        assert_eq!(date_iso("2024-3-5"), None);
        assert_eq!(date_iso("2024-03-05T10:00:00Z"), None);
        assert_eq!(date_iso(""), None);
        assert_eq!(date_iso("２０２４-03-05"), None);
    }

    #[test]
    fn timestamps_keep_their_clock_time() {
        assert_eq!(
            datetime_rfc3339("2024-03-05T14:03:09Z").unwrap(),
            "2024. március 5. 14:03"
        );
        assert_eq!(
            datetime_rfc3339("2024-10-01T08:30:00.123456Z").unwrap(),
            "2024. október 1. 08:30"
        );
        assert_eq!(
            datetime_rfc3339("2024-07-15t23:59:60+02:00").unwrap(),
            "2024. július 15. 23:59"
        );
        assert_eq!(
            datetime_rfc3339("2024-01-02T00:00:00-05:30").unwrap(),
            "2024. január 2. 00:00"
        );
        for bad in [
            "",
            "2024-03-05",
            "2024-03-05 14:03:09Z",
            "2024-03-05T14:03:09",
            "2024-03-05T24:00:00Z",
            "2024-03-05T14:60:00Z",
            "2024-03-05T14:03:61Z",
            "2024-03-05T14:03:09.Z",
            "2024-03-05T14:03:09+0200",
            "2024-03-05T14:03:09+25:00",
            "2024-03-05T14:03:09Zjunk",
            "2024-02-30T14:03:09Z",
            "2024-03-05T1:03:09Z",
            "2024-03-05T14:03:09ő",
        ] {
            assert_eq!(datetime_rfc3339(bad), None, "{bad}");
        }
    }

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        sort(&mut names, |s| s.as_str());
        names
    }

    #[test]
    fn long_vowels_follow_their_short_pair() {
        assert_eq!(
            sorted(&["Őr", "Ökör", "Ózd", "Orosháza", "Abaújszántó", "Ács", "Aba"]),
            ["Aba", "Abaújszántó", "Ács", "Orosháza", "Ózd", "Ökör", "Őr"]
        );
    }

    #[test]
    fn settlements_sort_by_the_hungarian_alphabet() {
        let names = [
            "Szikszó",
            "Sárospatak",
            "Cigánd",
            "Csenyéte",
            "Encs",
            "Edelény",
            "Gyöngyös",
            "Győr",
            "Zsadány",
            "Zalaegerszeg",
            "Ózd",
            "Ónod",
            "Ölbő",
            "Őriszentpéter",
            "Gödöllő",
            "Gyula",
            "Ludas",
            "Lyukóbánya",
            "Nagykanizsa",
            "Nyíregyháza",
            "Tiszaújváros",
            "Tyukod",
            "Üllő",
            "Ukk",
            "Dunaújváros",
            "Dzsidva",
            "Dzerzsinszk",
        ];
        assert_eq!(
            sorted(&names),
            [
                "Cigánd",
                "Csenyéte",
                "Dunaújváros",
                "Dzerzsinszk",
                "Dzsidva",
                "Edelény",
                "Encs",
                "Gödöllő",
                "Gyöngyös",
                "Győr",
                "Gyula",
                "Ludas",
                "Lyukóbánya",
                "Nagykanizsa",
                "Nyíregyháza",
                "Ónod",
                "Ózd",
                "Ölbő",
                "Őriszentpéter",
                "Sárospatak",
                "Szikszó",
                "Tiszaújváros",
                "Tyukod",
                "Ukk",
                "Üllő",
                "Zalaegerszeg",
                "Zsadány",
            ]
        );
    }

    #[test]
    fn digraphs_are_single_letters() {
        assert_eq!(compare("cukor", "csak"), Ordering::Less);
        assert_eq!(compare("csak", "dob"), Ordering::Less);
        assert_eq!(compare("Nagy", "Nyíregyháza"), Ordering::Less);
        assert_eq!(compare("Sárospatak", "Szeged"), Ordering::Less);
        // `sz` after every `s…`, even `sü`.
        assert_eq!(compare("Sümeg", "Szarvas"), Ordering::Less);
        assert_eq!(compare("Zsámbék", "Zuhatag"), Ordering::Greater);
        // Case does not split a digraph.
        assert_eq!(compare("SZOLNOK", "Sárvár"), Ordering::Greater);
        assert_eq!(compare("Csongrád", "CSONGRÁD"), Ordering::Less);
    }

    #[test]
    fn doubled_digraphs_read_twice() {
        assert_eq!(compare("kasza", "kassza"), Ordering::Less);
        assert_eq!(compare("Hosszúhetény", "Hosszúpályi"), Ordering::Less);
        assert_eq!(compare("meggy", "megy"), Ordering::Greater);
        assert_eq!(SortKey::new("ssz").primary, SortKey::new("szsz").primary);
        assert_eq!(SortKey::new("ddzs").primary, SortKey::new("dzsdzs").primary);
        assert_eq!(SortKey::new("ggy").primary, SortKey::new("gygy").primary);
    }

    #[test]
    fn length_then_case_decide_only_when_letters_are_equal() {
        assert_eq!(
            sorted(&["kőr", "kör", "Kor", "kór", "kor"]),
            ["kor", "Kor", "kór", "kör", "kőr"]
        );
        // Letters first: `Ősz` is shorter than `Ösztön`.
        assert_eq!(compare("Ősz", "Ösztön"), Ordering::Less);
        assert_eq!(compare("Ózd", "Oz"), Ordering::Greater);
        assert_eq!(compare("ózd", "Ozd"), Ordering::Greater);
        assert_eq!(compare("a", "A"), Ordering::Less);
        assert_eq!(compare("Eger", "Eger"), Ordering::Equal);
    }

    #[test]
    fn spaces_punctuation_and_digits_come_first() {
        assert_eq!(compare("Nagy Ferenc", "Nagyatád"), Ordering::Less);
        assert_eq!(compare("Nagy", "Nagy Ferenc"), Ordering::Less);
        assert_eq!(compare("Budapest-Csepel", "Budapest I."), Ordering::Greater);
        assert_eq!(compare("2. kerület", "Abony"), Ordering::Less);
        assert_eq!(compare("10", "9"), Ordering::Less);
        assert_eq!(compare("-", "0"), Ordering::Less);
        assert_eq!(compare("", "a"), Ordering::Less);
    }

    #[test]
    fn neighbours_letters_are_their_base_letter() {
        // Slovak and Romanian place names among the Hungarian ones.
        assert_eq!(compare("Košice", "Kassa"), Ordering::Greater);
        assert_eq!(compare("Košice", "Kozma"), Ordering::Less);
        assert_eq!(compare("Cluj", "Čadca"), Ordering::Greater);
        assert_eq!(compare("Čadca", "Csíkszereda"), Ordering::Less);
        assert_eq!(compare("Brașov", "Brassó"), Ordering::Less);
        assert_eq!(compare("Brașov", "Brasov"), Ordering::Greater);
        // Other scripts after every Latin letter.
        assert_eq!(compare("Ужгород", "Zsolca"), Ordering::Greater);
    }

    #[test]
    fn sort_is_stable_and_by_key() {
        let mut rows = vec![("Szeged", 1), ("Eger", 2), ("Szeged", 3), ("Ács", 4)];
        sort(&mut rows, |r| r.0);
        assert_eq!(
            rows,
            [("Ács", 4), ("Eger", 2), ("Szeged", 1), ("Szeged", 3)]
        );
    }
}
