//! Savoy's light stemmer for Hungarian, the rule-based fallback for words
//! the dictionary does not know (new compounds, names it lacks, typing
//! slips), and one of the stemmers `docs/hungarian-search.md` compares.
//!
//! The algorithm is Jacques Savoy's ("Light stemming approaches for the
//! French, Portuguese, German and Hungarian languages", ACM SAC 2006; his
//! implementation is BSD-licensed), as Lucene ships it in
//! `HungarianLightStemmer` (Apache-2.0). This is our own Rust, written from
//! the algorithm's description: fold the accents, then remove one case
//! ending, one possessive ending and the plural `-k`, then a final vowel.
//! It works on the folded word, so accented and unaccented text meet.
//!
//! It is light by design: it never looks at a dictionary, and so it
//! sometimes joins different words (`kertek` → `ker`, like `keret`); the
//! dictionary comes first for that reason.

/// The light stem of a lower-case word.
pub fn stem(word: &str) -> String {
    let mut s: Vec<char> = tudashalo_core::fold::fold(word).chars().collect();
    let len = remove_case(&s);
    s.truncate(len);
    let len = remove_possessive(&s);
    s.truncate(len);
    let len = remove_plural(&s);
    s.truncate(len);
    let len = normalise(&s);
    s.truncate(len);
    s.into_iter().collect()
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y')
}

fn ends(s: &[char], suffixes: &[&str]) -> bool {
    suffixes.iter().any(|suffix| {
        let n = suffix.chars().count();
        s.len() >= n && s[s.len() - n..].iter().copied().eq(suffix.chars())
    })
}

/// The character `back` places before the end (1 is the last).
fn at(s: &[char], back: usize) -> char {
    s.len().checked_sub(back).map_or('\0', |i| s[i])
}

fn remove_case(s: &[char]) -> usize {
    let len = s.len();
    if len > 6 && ends(s, &["kent"]) {
        return len - 4;
    }
    if len > 5 {
        const THREE: [&str; 14] = [
            "nak", "nek", "val", "vel", "ert", "rol", "ban", "ben", "bol", "nal", "nel", "hoz",
            "hez", "tol",
        ];
        if ends(s, &THREE) {
            return len - 3;
        }
        // The instrumental after a doubled consonant: `kerttel`.
        if ends(s, &["al", "el"]) && !is_vowel(at(s, 3)) && at(s, 3) == at(s, 4) {
            return len - 3;
        }
    }
    if len > 4 {
        if ends(
            s,
            &[
                "at", "et", "ot", "va", "ve", "ra", "re", "ba", "be", "ul", "ig",
            ],
        ) {
            return len - 2;
        }
        if ends(s, &["on", "en"]) && !is_vowel(at(s, 3)) {
            return len - 2;
        }
        match at(s, 1) {
            't' | 'n' => return len - 1,
            'a' | 'e' if at(s, 2) == at(s, 3) && !is_vowel(at(s, 2)) => return len - 2,
            _ => {}
        }
    }
    len
}

fn remove_possessive(s: &[char]) -> usize {
    let len = s.len();
    if len > 6 {
        if !is_vowel(at(s, 5)) && ends(s, &["atok", "otok", "etek"]) {
            return len - 4;
        }
        if ends(s, &["itek", "itok"]) {
            return len - 4;
        }
    }
    if len > 5 {
        if !is_vowel(at(s, 4)) && ends(s, &["unk", "tok", "tek"]) {
            return len - 3;
        }
        if is_vowel(at(s, 4)) && ends(s, &["juk"]) {
            return len - 3;
        }
        if ends(s, &["ink"]) {
            return len - 3;
        }
    }
    if len > 4 {
        if !is_vowel(at(s, 3)) && ends(s, &["am", "em", "om", "ad", "ed", "od", "uk"]) {
            return len - 2;
        }
        if is_vowel(at(s, 3)) && ends(s, &["nk", "ja", "je"]) {
            return len - 2;
        }
        if ends(s, &["im", "id", "ik"]) {
            return len - 2;
        }
    }
    if len > 3 {
        match at(s, 1) {
            'a' | 'e' if !is_vowel(at(s, 2)) => return len - 1,
            'm' | 'd' if is_vowel(at(s, 2)) => return len - 1,
            'i' => return len - 1,
            _ => {}
        }
    }
    len
}

fn remove_plural(s: &[char]) -> usize {
    let len = s.len();
    if len > 3 && at(s, 1) == 'k' {
        return match at(s, 2) {
            'a' | 'o' | 'e' if len > 4 => len - 2,
            _ => len - 1,
        };
    }
    len
}

fn normalise(s: &[char]) -> usize {
    let len = s.len();
    if len > 3 && matches!(at(s, 1), 'a' | 'e' | 'i' | 'o') {
        return len - 1;
    }
    len
}

#[cfg(test)]
mod tests {
    use super::stem;

    #[test]
    fn strips_case_possessive_and_plural() {
        assert_eq!(stem("önkormányzatoknak"), stem("önkormányzatok"));
        assert_eq!(stem("házban"), "haz");
        assert_eq!(stem("kozossegi"), stem("közösségi"));
        // Light means crude: the garden's plural meets the frame.
        assert_eq!(stem("kertek"), stem("keret"));
    }
}
