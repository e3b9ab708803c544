//! The folded form names are compared in: lowercase, without accents.
//!
//! Settlement filters (in searches and aggregates) compare names
//! case- and accent-insensitively, at the node and at the hub alike, so both
//! must fold the same way. The node's index folds keyword fields with
//! tantivy's `LowerCaser` + `AsciiFoldingFilter`; this is the same folding
//! for the letters of European place names (Latin-1 and Latin Extended-A,
//! U+00C0–U+017F), without tantivy, so that a hub need not link it. The
//! node's tests check that the two agree on every character of that range.

/// `name`, trimmed, lowercased and without accents: `" Győr "` → `"gyor"`.
pub fn fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars() {
        for lower in c.to_lowercase() {
            match base(lower) {
                Some(ascii) => out.push_str(ascii),
                None => out.push(lower),
            }
        }
    }
    out
}

/// The ASCII form of a lowercase accented Latin letter, if it has one.
fn base(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ð' | 'ď' | 'đ' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĳ' => "ij",
        'ĵ' => "j",
        'ķ' => "k",
        'ĸ' => "q",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' | 'ŉ' | 'ŋ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ſ' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' => "t",
        'þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn hungarian_names_fold_to_ascii() {
        assert_eq!(fold(" Győr "), "gyor");
        assert_eq!(fold("HÓDMEZŐVÁSÁRHELY"), "hodmezovasarhely");
        assert_eq!(fold("Fűzfő"), "fuzfo");
        assert_eq!(fold("Tiszaújváros"), "tiszaujvaros");
        assert_eq!(fold("Kőszeg"), fold("koszeg"));
    }
}
