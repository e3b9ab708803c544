//! `tudashalo-morph`: the Hungarian morphology every text field of a node
//! is analysed with — what one lower-case word becomes in the accented
//! field and in the folded one. No tantivy, no I/O: the dictionary is in
//! the binary, so it could serve a hub's suggestions as well as a node's
//! index.
//!
//! - **Accented** (`hu` fields): the word's lemma from Magyar Ispell
//!   (`morph/data/hunspell-hu`, embedded in the binary), accents kept:
//!   `kertjeink` → `kert`, `falvakban` → `falu`, `keretében` → `keret`.
//! - **Folded** (`ascii` fields): the accented lemma, folded, when the
//!   dictionary knows the word as written (`kertek` → `kert`); otherwise
//!   the word is folded and looked up in the folded dictionary, which is
//!   how an unaccented query finds its lemma (`kozossegi` → `kozosseg`).
//!   Folding happens after the lemma is found, so it cannot join words the
//!   dictionary keeps apart (`kert`/`kért` are `kert` and `ker`).
//! - An adjective in `-i` meets its noun when the noun is an entry
//!   (`önkormányzati` → `önkormányzat`, `megyei` → `megye`): Magyar Ispell
//!   lists many such adjectives as entries of their own, and a reader of
//!   `óvodai férőhely` means kindergartens.
//! - Words the dictionary does not know (new compounds, misspellings) fall
//!   back to Savoy's light stemmer; words with digits stay as they are
//!   (identifiers: `00041`, `2017`).
//!
//! Why this and not Snowball: `docs/hungarian-search.md` has the judged
//! pairs and the table (`cargo test -p tudashalo-morph --test morphology
//! -- --nocapture` prints it).
//!
//! Stop words are judged on the word as written: an accented word against
//! the list, a word without accents also against the list's folded forms
//! (`es` is `és`), so `élő` (living) is never taken for `elő`.

use std::collections::HashSet;
use std::sync::OnceLock;

use tudashalo_core::fold::fold;

pub mod dictionary;
pub mod light;

use dictionary::{Analysis, Dictionary, Fold};

/// `hu_HU.aff` and `hu_HU.dic`, unmodified, deflated in one zip (see
/// `data/hunspell-hu/README.md`).
const DICTIONARY_ZIP: &[u8] = include_bytes!("../data/hunspell-hu/hu_HU.zip");

/// The two files of the embedded dictionary. The zip is ours, checked by
/// this crate's tests, so a failure to read it is a build defect: it yields
/// an empty dictionary (every word falls back to the light stemmer) rather
/// than a node that cannot start.
fn dictionary_files() -> (Vec<u8>, Vec<u8>) {
    let read = || -> zip::result::ZipResult<(Vec<u8>, Vec<u8>)> {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(DICTIONARY_ZIP))?;
        let mut file = |name: &str| -> zip::result::ZipResult<Vec<u8>> {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut archive.by_name(name)?, &mut bytes)?;
            Ok(bytes)
        };
        Ok((file("hu_HU.aff")?, file("hu_HU.dic")?))
    };
    read().unwrap_or_default()
}

/// Function words that carry no meaning for search: Snowball's Hungarian
/// list, without the words that do in a development plan (`cikk`, `új`,
/// `első`, `egész`, `teljes`, `nagy`, …).
const STOP_WORDS: &[&str] = &[
    "a",
    "ahogy",
    "ahol",
    "aki",
    "akik",
    "akkor",
    "alatt",
    "által",
    "általában",
    "amely",
    "amelyek",
    "amelyekben",
    "amelyeket",
    "amelyet",
    "amelynek",
    "ami",
    "amit",
    "amolyan",
    "amíg",
    "amikor",
    "át",
    "abban",
    "ahhoz",
    "annak",
    "arra",
    "arról",
    "az",
    "azok",
    "azon",
    "azt",
    "azzal",
    "azért",
    "aztán",
    "azután",
    "azonban",
    "bár",
    "be",
    "belül",
    "benne",
    "csak",
    "de",
    "e",
    "eddig",
    "egy",
    "egyes",
    "egyetlen",
    "egyéb",
    "egyik",
    "egyre",
    "ekkor",
    "el",
    "elég",
    "ellen",
    "elő",
    "előtt",
    "én",
    "éppen",
    "ebben",
    "ehhez",
    "emilyen",
    "ennek",
    "erre",
    "ez",
    "ezt",
    "ezek",
    "ezen",
    "ezzel",
    "ezért",
    "és",
    "fel",
    "felé",
    "hanem",
    "hiszen",
    "hogy",
    "hogyan",
    "igen",
    "így",
    "illetve",
    "ill",
    "ilyen",
    "ilyenkor",
    "ismét",
    "itt",
    "kell",
    "kellett",
    "keresztül",
    "ki",
    "kívül",
    "között",
    "közül",
    "legalább",
    "lehet",
    "lehetett",
    "legyen",
    "lenne",
    "lenni",
    "lesz",
    "lett",
    "maga",
    "magát",
    "majd",
    "már",
    "más",
    "másik",
    "meg",
    "még",
    "mellett",
    "mert",
    "mely",
    "melyek",
    "mi",
    "mit",
    "míg",
    "miért",
    "milyen",
    "mikor",
    "minden",
    "mindent",
    "mindenki",
    "mindig",
    "mint",
    "mintha",
    "mivel",
    "most",
    "nagyon",
    "ne",
    "néha",
    "nekem",
    "neki",
    "nem",
    "néhány",
    "nélkül",
    "nincs",
    "olyan",
    "ott",
    "össze",
    "ő",
    "ők",
    "őket",
    "pedig",
    "persze",
    "rá",
    "s",
    "sem",
    "semmi",
    "sok",
    "sokat",
    "sokkal",
    "számára",
    "szemben",
    "szerint",
    "szinte",
    "talán",
    "tehát",
    "tovább",
    "továbbá",
    "úgy",
    "ugyanis",
    "után",
    "utána",
    "vagy",
    "vagyis",
    "valaki",
    "valami",
    "valamint",
    "való",
    "vagyok",
    "van",
    "vannak",
    "volt",
    "voltam",
    "voltak",
    "voltunk",
    "vissza",
    "vele",
    "viszont",
    "volna",
];

struct StopWords {
    written: HashSet<&'static str>,
    folded: HashSet<String>,
}

fn stop_words() -> &'static StopWords {
    static STOP: OnceLock<StopWords> = OnceLock::new();
    STOP.get_or_init(|| StopWords {
        written: STOP_WORDS.iter().copied().collect(),
        folded: STOP_WORDS.iter().map(|w| fold(w)).collect(),
    })
}

/// Whether the lower-case `word` is a stop word (see the module header).
pub fn is_stop_word(word: &str) -> bool {
    let stop = stop_words();
    stop.written.contains(word) || (word.is_ascii() && stop.folded.contains(word))
}

/// The dictionary, read once per process (0.2 s of CPU, on two threads),
/// as written and folded.
pub struct Morphology {
    exact: Dictionary,
    folded: Dictionary,
}

impl std::fmt::Debug for Morphology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Morphology")
            .field("entries", &self.exact.len())
            .finish_non_exhaustive()
    }
}

/// The rule-based stemmer for what the dictionary does not know: a
/// function of one lower-case word (accented or folded).
pub type Fallback<'a> = &'a dyn Fn(&str) -> String;

/// No fallback: an unknown word stays as it is (for comparisons).
pub fn unchanged(word: &str) -> String {
    word.to_string()
}

impl Morphology {
    pub fn get() -> &'static Morphology {
        static MORPHOLOGY: OnceLock<Morphology> = OnceLock::new();
        // The two readings are independent: read them side by side.
        MORPHOLOGY.get_or_init(|| {
            let (aff, dic) = dictionary_files();
            let (aff, dic) = (aff.as_slice(), dic.as_slice());
            std::thread::scope(|scope| {
                let folded = scope.spawn(|| Dictionary::parse(aff, dic, Fold::Folded));
                let exact = Dictionary::parse(aff, dic, Fold::AsWritten);
                let folded = folded
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                Morphology { exact, folded }
            })
        })
    }

    /// How many entries the dictionary has.
    pub fn entries(&self) -> usize {
        self.exact.len()
    }

    /// The accented field's form of a lower-case word.
    pub fn accented(&self, word: &str) -> String {
        self.accented_with(word, &light::stem)
    }

    /// The folded field's form of a lower-case word.
    pub fn folded(&self, word: &str) -> String {
        self.folded_with(word, &light::stem)
    }

    /// [`Morphology::accented`] with another fallback (for comparisons).
    pub fn accented_with(&self, word: &str, fallback: Fallback) -> String {
        if has_digit(word) {
            return word.to_string();
        }
        match lemma(&self.exact, word, true) {
            Some(lemma) => lemma,
            None => fallback(word),
        }
    }

    /// [`Morphology::folded`] with another fallback (for comparisons).
    pub fn folded_with(&self, word: &str, fallback: Fallback) -> String {
        if has_digit(word) {
            return fold(word);
        }
        // A word with accents was typed with them: the dictionary as
        // written decides. A word without may be either (`kert` is a word;
        // `varos` is `város` typed plainly, though as written it would read
        // as `var` + `-os`): the better of the two analyses wins, the
        // dictionary as written on a tie. Compounds come last, or an
        // unaccented word would read as some odd compound of accented parts.
        let folded = fold(word);
        let best_of = |compounds: bool| {
            let exact = analysis(&self.exact, word, compounds);
            if !word.is_ascii() {
                return exact.map(|l| fold(&l.lemma));
            }
            let plain = analysis(&self.folded, &folded, compounds);
            match (exact, plain) {
                (Some(e), Some(p)) if p.better_than(&e) => Some(p.lemma),
                (Some(e), _) => Some(fold(&e.lemma)),
                (None, p) => p.map(|p| p.lemma),
            }
        };
        let found = best_of(false).or_else(|| best_of(true));
        match found {
            Some(lemma) => lemma,
            None => fallback(&folded),
        }
    }

    /// The dictionary's lemma alone (`None`: unknown), as written.
    pub fn dictionary_lemma(&self, word: &str) -> Option<String> {
        lemma(&self.exact, word, true)
    }
}

fn has_digit(word: &str) -> bool {
    word.chars().any(|c| c.is_ascii_digit())
}

/// The dictionary's lemma, an `-i` adjective taken to its noun.
fn lemma(dictionary: &Dictionary, word: &str, compounds: bool) -> Option<String> {
    analysis(dictionary, word, compounds).map(|a| a.lemma)
}

/// The dictionary's preferred analysis, an `-i` adjective taken to its noun.
fn analysis(dictionary: &Dictionary, word: &str, compounds: bool) -> Option<Analysis> {
    let mut analysis = dictionary.analysis(word, compounds)?;
    if let Some(base) = analysis.lemma.strip_suffix('i')
        && base.chars().count() >= 2
        && let Some(noun) = dictionary.entry(base)
    {
        analysis.lemma = noun;
    }
    Some(analysis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hu(word: &str) -> String {
        Morphology::get().accented(word)
    }

    fn ascii(word: &str) -> String {
        Morphology::get().folded(word)
    }

    #[test]
    fn the_dictionary_is_read() {
        assert!(Morphology::get().entries() > 80_000);
    }

    #[test]
    fn forms_of_one_word_meet() {
        for (a, b) in [
            ("kertek", "kert"),
            ("kertjeink", "kert"),
            ("területen", "terület"),
            ("területek", "terület"),
            ("gyermekek", "gyermek"),
            ("falvak", "falu"),
            ("falvakban", "falu"),
            ("egyesületek", "egyesület"),
            ("lovak", "ló"),
            ("kövek", "kő"),
            ("vizek", "víz"),
            ("utak", "út"),
            ("önkormányzatok", "önkormányzat"),
            ("önkormányzati", "önkormányzat"),
            ("óvodai", "óvoda"),
            ("keretében", "keret"),
        ] {
            assert_eq!(hu(a), hu(b), "{a} / {b}");
            assert_eq!(ascii(&fold(a)), ascii(b), "unaccented {a} / {b}");
        }
    }

    #[test]
    fn different_words_stay_apart() {
        for (a, b) in [
            ("kert", "keret"),
            ("kertek", "keretében"),
            ("tér", "terület"),
            ("test", "testület"),
            ("vár", "város"),
            ("ér", "érték"),
            ("tan", "tanuló"),
            ("óvodai", "óv"),
        ] {
            assert_ne!(hu(a), hu(b), "{a} / {b}");
            assert_ne!(ascii(&fold(a)), ascii(b), "unaccented {a} / {b}");
        }
    }

    #[test]
    fn stop_words_are_judged_as_written() {
        assert!(is_stop_word("és"));
        assert!(is_stop_word("es"));
        assert!(!is_stop_word("élő"));
        assert!(is_stop_word("elő"));
    }

    #[test]
    fn identifiers_and_unknown_words_survive() {
        assert_eq!(hu("00041"), "00041");
        assert_eq!(ascii("efop"), ascii("efop"));
        assert!(!hu("qwxzfejlesztésekkel").is_empty());
    }
}
