//! Hungarian helpers: the definite article, the inessive of a year, digit
//! grouping and capitalisation.
//!
//! Only the few rules the templates need, each exact for the words and
//! numbers the generator produces (not a general Hungarian morphology).

fn starts_with_vowel(word: &str) -> bool {
    word.chars().next().is_some_and(|c| {
        matches!(
            c.to_lowercase().next().unwrap_or(c),
            'a' | 'á' | 'e' | 'é' | 'i' | 'í' | 'o' | 'ó' | 'ö' | 'ő' | 'u' | 'ú' | 'ü' | 'ű'
        )
    })
}

/// The definite article before `word`: `az` before a vowel, else `a`.
pub(super) fn article(word: &str) -> &'static str {
    if starts_with_vowel(word) { "az" } else { "a" }
}

/// `2015-ben`, `2013-ban`: the inessive suffix follows how the number is
/// read (its last non-zero digit, or its tens).
pub(super) fn year_inessive(year: i32) -> String {
    let y = year.rem_euclid(1000);
    let back = if y % 10 != 0 {
        matches!(y % 10, 3 | 6 | 8)
    } else if y % 100 != 0 {
        matches!((y / 10) % 10, 2 | 3 | 6 | 8)
    } else {
        // Hundreds and thousands: "száz" (back), "ezer" (front).
        y != 0
    };
    format!("{year}-{}", if back { "ban" } else { "ben" })
}

/// Groups digits by three with a space, the Hungarian way: `28 450`.
pub(super) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Uppercases the first character of `text[start..]`.
pub(super) fn capitalise_from(text: &mut String, start: usize) {
    if let Some(c) = text[start..].chars().next()
        && c.is_lowercase()
    {
        let upper: String = c.to_uppercase().collect();
        text.replace_range(start..start + c.len_utf8(), &upper);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hungarian_helpers() {
        assert_eq!(year_inessive(2015), "2015-ben");
        assert_eq!(year_inessive(2013), "2013-ban");
        assert_eq!(year_inessive(2020), "2020-ban");
        assert_eq!(year_inessive(2010), "2010-ben");
        assert_eq!(year_inessive(2000), "2000-ben");
        assert_eq!(grouped(28_450), "28 450");
        assert_eq!(grouped(999), "999");
        assert_eq!(article("óvodai"), "az");
        assert_eq!(article("kerékpárút"), "a");
    }
}
