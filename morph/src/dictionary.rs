//! Lemmas from a Hunspell dictionary: a reader of the `.aff`/`.dic` pair
//! (affix rules, flags, the `st:` stems of the morphological fields) and the
//! analysis of one lower-case word into its dictionary lemma.
//!
//! This is not a spelling checker. It reads what stemming needs and trusts
//! the text to be spelt correctly:
//! - suffixes, one or two deep (Hunspell's "twofold" stripping: the outer
//!   suffix's flag is a continuation class of the inner one), under their
//!   conditions and the root's flags;
//! - `NEEDAFFIX`, `ONLYINCOMPOUND` and `FORBIDDENWORD` roots;
//! - two- and three-part compounds whose parts carry the compound flags,
//!   the last part inflected (`településfejlesztési` → `település` +
//!   `fejlesztés`);
//! - the `st:` field, which names the lemma of irregular stems (`falvak` →
//!   `falu`, `lovak` → `ló`), through the `AM` aliases;
//! - `ICONV` input conversions (ligatures).
//!
//! Prefixes are not read: Hungarian's are verbal particles and the
//! superlative `leg-`, which search should keep apart anyway.
//!
//! Of several analyses the one that removes the fewest letters wins, a word
//! that is itself an entry first (`város` is an entry; it is not `vár` +
//! `-os`), then the longest root (as Lucene's `longestOnly` choice for
//! Hunspell stemming): that keeps `kert` and `keret`, `tér` and `terület`
//! apart, and reads `folyót` as `folyó` + `-t`, not as a form of `folyik`.
//!
//! A dictionary may be built *folded*: every root, affix and condition
//! lower-cased and stripped of accents. The folded dictionary lemmatises
//! unaccented text (`kozossegi` → `kozosseg`), so that a query typed
//! without accents meets the accented text's folded lemma.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use rustc_hash::FxHasher;

/// The dictionary's maps. FxHash, not SipHash: their keys are the shipped
/// dictionary's, fixed at build time, so a caller's words can only look
/// keys up, never crowd a bucket; and hashing was a tenth of reading the
/// dictionary.
type Map<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// A set of one-byte flags.
type Flags = [u64; 4];

const NO_FLAGS: Flags = [0; 4];

fn has(flags: &Flags, flag: u8) -> bool {
    flags[usize::from(flag >> 6)] >> (flag & 63) & 1 == 1
}

fn flag_set(bytes: &[u8]) -> Flags {
    let mut flags = NO_FLAGS;
    for &b in bytes {
        flags[usize::from(b >> 6)] |= 1 << (b & 63);
    }
    flags
}

/// One element of an affix condition.
#[derive(Debug, Clone)]
enum Cond {
    Any,
    Char(char),
    Set { negated: bool, chars: Box<[char]> },
}

impl Cond {
    fn matches(&self, c: char) -> bool {
        match self {
            Cond::Any => true,
            Cond::Char(x) => *x == c,
            Cond::Set { negated, chars } => chars.contains(&c) != *negated,
        }
    }
}

/// A condition on the end of a root (`[^aáeé]tik`), element by element.
fn parse_condition(text: &str, fold: Fold) -> Vec<Cond> {
    if text == "." {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '.' => out.push(Cond::Any),
            '[' => {
                let mut negated = false;
                let mut set = Vec::new();
                for c in chars.by_ref() {
                    match c {
                        ']' => break,
                        '^' if set.is_empty() && !negated => negated = true,
                        c => set.push(fold.char(c)),
                    }
                }
                out.push(Cond::Set {
                    negated,
                    chars: set.into(),
                });
            }
            c => out.push(Cond::Char(fold.char(c))),
        }
    }
    out
}

/// The `st:` field of a morphological description, if it has one.
fn stem_field(morph: &str) -> Option<&str> {
    morph.split_whitespace().find_map(|f| f.strip_prefix("st:"))
}

/// Whether `root` ends in what `cond` asks for.
fn ends_with(root: &str, cond: &[Cond]) -> bool {
    let mut chars = root.chars().rev();
    cond.iter()
        .rev()
        .all(|item| chars.next().is_some_and(|c| item.matches(c)))
}

#[derive(Debug)]
struct Suffix {
    flag: u8,
    strip: Box<str>,
    condition: Vec<Cond>,
    /// Continuation classes: the flags of the suffixes that may follow.
    next: Flags,
}

#[derive(Debug)]
struct Root {
    /// Index into [`Dictionary::flag_sets`] (most roots share a set).
    flags: u16,
    /// The lemma the morphological field names (`st:`), if it differs from
    /// the entry.
    stem: Option<Box<str>>,
}

/// The flags with a meaning of their own, as the `.aff` names them.
#[derive(Debug, Default, Clone, Copy)]
struct Special {
    need_affix: Option<u8>,
    only_in_compound: Option<u8>,
    forbidden: Option<u8>,
    compound: Option<u8>,
    compound_begin: Option<u8>,
    compound_end: Option<u8>,
    compound_forbid: Option<u8>,
}

fn is(flags: &Flags, flag: Option<u8>) -> bool {
    flag.is_some_and(|f| has(flags, f))
}

/// Whether a dictionary is read as written or folded (lower case, no
/// accents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    AsWritten,
    Folded,
}

impl Fold {
    fn text(self, s: &str) -> String {
        match self {
            Fold::AsWritten => s.to_lowercase(),
            Fold::Folded => tudashalo_core::fold::fold(s),
        }
    }

    fn char(self, c: char) -> char {
        match self {
            Fold::AsWritten => c,
            Fold::Folded => {
                let mut folded = tudashalo_core::fold::fold(c.encode_utf8(&mut [0; 4]));
                match (folded.pop(), folded.is_empty()) {
                    (Some(f), true) => f,
                    _ => c,
                }
            }
        }
    }
}

/// Parts of a compound at most (`COMPOUNDWORDMAX` is about syllables; this
/// bounds the work per word).
const MAX_COMPOUND_PARTS: usize = 3;
/// The shortest first part of a compound, in characters (`só` + `szoba`).
const MIN_COMPOUND_HEAD: usize = 2;
/// The shortest last part after a first part of [`MIN_COMPOUND_HEAD`]
/// letters: two-letter words with the compound flag would otherwise split
/// almost anything.
const MIN_TAIL_AFTER_SHORT_HEAD: usize = 4;
/// The shortest last part, in characters (`kerékpár` + `út`).
const MIN_COMPOUND_TAIL: usize = 2;
/// Words longer than this (in characters) are not analysed: no Hungarian
/// word of running text is, and the compound search is quadratic.
const MAX_WORD_CHARS: usize = 40;

/// A Hunspell dictionary, read for lemmatisation.
#[derive(Debug)]
pub struct Dictionary {
    roots: Map<Box<str>, Vec<Root>>,
    /// The roots' flag sets: the `.aff`'s `AF` aliases, then any set written
    /// out in the `.dic`.
    flag_sets: Vec<Flags>,
    /// Suffixes by the text they add (`""` for those that only strip).
    suffixes: Map<Box<str>, Vec<Suffix>>,
    /// The longest text a suffix adds, in bytes.
    longest_suffix: usize,
    special: Special,
    iconv: Vec<(String, String)>,
    fold: Fold,
}

/// How a word was analysed; a lower rank is preferred.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    Entry,
    Suffixed,
    Compound,
}

/// One analysis of a word: how it was found, how many letters of the word
/// the suffixes took, the root's length, and the lemma.
#[derive(Debug, Clone)]
pub struct Analysis {
    rank: Rank,
    removed: usize,
    root_len: usize,
    pub lemma: String,
}

impl Analysis {
    /// Whether this analysis is preferred to `other` (see the module
    /// header): an entry, then fewer letters removed, then a longer root.
    pub fn better_than(&self, other: &Analysis) -> bool {
        let key = |a: &Analysis| (a.rank, a.removed, std::cmp::Reverse(a.root_len));
        key(self) < key(other)
    }
}

fn keep_best(best: &mut Option<Analysis>, candidate: Analysis) {
    if best.as_ref().is_none_or(|b| candidate.better_than(b)) {
        *best = Some(candidate);
    }
}

/// Where a word stands: alone, or as the last part of a compound (other
/// flags allow it there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Alone,
    LastPart,
}

impl Dictionary {
    /// Reads a dictionary from the bytes of its `.aff` and `.dic` files.
    /// Lines it cannot read are skipped (a dictionary is data we ship, not
    /// input; its tests check what it yields).
    pub fn parse(aff: &[u8], dic: &[u8], fold: Fold) -> Dictionary {
        let mut flag_aliases: Vec<Flags> = vec![NO_FLAGS];
        // Of each `AM` alias only its `st:` stem matters here.
        let mut alias_stems: Vec<Option<Box<str>>> = vec![None];
        let mut seen_af_header = false;
        let mut seen_am_header = false;
        let mut special = Special::default();
        let mut iconv = Vec::new();
        let mut suffixes: Map<Box<str>, Vec<Suffix>> = Map::default();
        let mut longest_suffix = 0;
        // Suffix groups still expecting entries: flag → remaining.
        let mut expecting: Map<u8, usize> = Map::default();

        for line in aff.split(|b| *b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let fields: Vec<&[u8]> = line
                .split(|b| *b == b' ' || *b == b'\t')
                .filter(|f| !f.is_empty())
                .collect();
            let Some(&keyword) = fields.first() else {
                continue;
            };
            let one_flag = || fields.get(1).and_then(|f| f.first().copied());
            match keyword {
                b"AF" if !seen_af_header => seen_af_header = true,
                b"AF" => flag_aliases.push(flag_set(fields.get(1).copied().unwrap_or_default())),
                b"AM" if !seen_am_header => seen_am_header = true,
                b"AM" => {
                    let text = String::from_utf8_lossy(&line[2..]);
                    alias_stems.push(stem_field(&text).map(|s| fold.text(s).into()));
                }
                b"NEEDAFFIX" => special.need_affix = one_flag(),
                b"ONLYINCOMPOUND" => special.only_in_compound = one_flag(),
                b"FORBIDDENWORD" => special.forbidden = one_flag(),
                b"COMPOUNDFLAG" => special.compound = one_flag(),
                b"COMPOUNDBEGIN" => special.compound_begin = one_flag(),
                b"COMPOUNDEND" => special.compound_end = one_flag(),
                b"COMPOUNDFORBIDFLAG" => special.compound_forbid = one_flag(),
                b"ICONV" if fields.len() == 3 => {
                    let from = String::from_utf8_lossy(fields[1]).into_owned();
                    let to = String::from_utf8_lossy(fields[2]).into_owned();
                    iconv.push((from, to));
                }
                b"SFX" => {
                    let Some(flag) = one_flag().filter(|_| fields[1].len() == 1) else {
                        continue;
                    };
                    match expecting.get_mut(&flag) {
                        Some(left) if *left > 0 && fields.len() >= 5 => {
                            *left -= 1;
                            let text = |i: usize| String::from_utf8_lossy(fields[i]).into_owned();
                            let strip = match text(2) {
                                s if s == "0" => String::new(),
                                s => fold.text(&s),
                            };
                            let (add, next) = match fields[3].iter().position(|b| *b == b'/') {
                                Some(slash) => {
                                    let add =
                                        String::from_utf8_lossy(&fields[3][..slash]).into_owned();
                                    let classes = &fields[3][slash + 1..];
                                    let next = std::str::from_utf8(classes)
                                        .ok()
                                        .and_then(|n| n.parse::<usize>().ok())
                                        .and_then(|n| flag_aliases.get(n).copied())
                                        .unwrap_or_else(|| flag_set(classes));
                                    (add, next)
                                }
                                None => (text(3), NO_FLAGS),
                            };
                            let add = if add == "0" {
                                String::new()
                            } else {
                                fold.text(&add)
                            };
                            longest_suffix = longest_suffix.max(add.len());
                            suffixes.entry(add.into()).or_default().push(Suffix {
                                flag,
                                strip: strip.into(),
                                condition: parse_condition(&text(4), fold),
                                next,
                            });
                        }
                        _ => {
                            // A group header: `SFX flag Y|N count`.
                            let count = fields
                                .get(3)
                                .and_then(|c| std::str::from_utf8(c).ok())
                                .and_then(|c| c.parse().ok())
                                .unwrap_or(0);
                            expecting.insert(flag, count);
                        }
                    }
                }
                _ => {}
            }
        }

        let morph_stem = |field: &str| -> Option<Box<str>> {
            match field.parse::<usize>() {
                Ok(n) => alias_stems.get(n).cloned().flatten(),
                Err(_) => stem_field(field).map(|s| fold.text(s).into()),
            }
        };
        let mut flag_sets = flag_aliases.clone();
        // The `.dic`'s first line is its entry count: size the map once.
        let declared = dic
            .split(|b| *b == b'\n')
            .next()
            .and_then(|l| std::str::from_utf8(l).ok())
            .and_then(|l| l.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let mut roots: Map<Box<str>, Vec<Root>> =
            Map::with_capacity_and_hasher(declared.min(1 << 20), Default::default());
        for line in dic.split(|b| *b == b'\n').skip(1) {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let Ok(line) = std::str::from_utf8(line) else {
                continue;
            };
            let (entry, morph) = line.split_once('\t').unwrap_or((line, ""));
            let (word, flags) = match entry.rfind('/') {
                Some(slash) if slash > 0 && !entry[..slash].ends_with('\\') => {
                    (&entry[..slash], &entry[slash + 1..])
                }
                _ => (entry, ""),
            };
            // Multi-word entries never meet a tokenised word.
            if word.is_empty() || word.contains(' ') {
                continue;
            }
            let flags = match flags.parse::<u16>() {
                Ok(n) if usize::from(n) < flag_aliases.len() => n,
                Ok(_) => 0,
                Err(_) => match u16::try_from(flag_sets.len()) {
                    Ok(n) => {
                        flag_sets.push(flag_set(flags.as_bytes()));
                        n
                    }
                    // More distinct sets than an index holds: not a
                    // dictionary we ship.
                    Err(_) => 0,
                },
            };
            let key = fold.text(word);
            let stem = morph_stem(morph.trim()).filter(|s| **s != *key);
            roots
                .entry(key.into())
                .or_default()
                .push(Root { flags, stem });
        }
        Dictionary {
            roots,
            flag_sets,
            suffixes,
            longest_suffix,
            special,
            iconv,
            fold,
        }
    }

    /// How many entries the dictionary holds (its tests check it read them).
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// The lemma of `word` (lower-case) if it is an entry that may stand
    /// alone, without stripping anything.
    pub fn entry(&self, word: &str) -> Option<String> {
        self.entry_lemma(word, Place::Alone)
    }

    /// The lemma of `word` (lower-case; folded for a folded dictionary), or
    /// `None` when the dictionary does not know it. `compounds`: whether a
    /// word that is no entry (plain or suffixed) may be read as a compound.
    pub fn lemma(&self, word: &str, compounds: bool) -> Option<String> {
        self.analysis(word, compounds).map(|a| a.lemma)
    }

    /// The preferred analysis of `word`, as [`Dictionary::lemma`].
    pub fn analysis(&self, word: &str, compounds: bool) -> Option<Analysis> {
        if word.chars().count() > MAX_WORD_CHARS {
            return None;
        }
        let converted;
        let word = if self
            .iconv
            .iter()
            .any(|(from, _)| word.contains(from.as_str()))
        {
            let mut w = word.to_string();
            for (from, to) in &self.iconv {
                w = w.replace(from.as_str(), to);
            }
            converted = self.fold.text(&w);
            &converted
        } else {
            word
        };
        let parts = if compounds { MAX_COMPOUND_PARTS } else { 1 };
        self.analyse(word, Place::Alone, parts)
    }

    /// The best analysis of `word` at `place`, with compounds of at most
    /// `parts` parts.
    fn analyse(&self, word: &str, place: Place, parts: usize) -> Option<Analysis> {
        let mut best = None;
        if let Some(lemma) = self.entry_lemma(word, place) {
            best = Some(Analysis {
                rank: Rank::Entry,
                removed: 0,
                root_len: word.chars().count(),
                lemma,
            });
        }
        if best.is_none() {
            self.suffixed(word, place, &mut best);
        }
        if best.is_none() && parts >= 2 {
            best = self.compound(word, parts);
        }
        best
    }

    /// The lemma of `word` as an entry standing at `place`, if it is one.
    fn entry_lemma(&self, word: &str, place: Place) -> Option<String> {
        let s = &self.special;
        self.roots.get(word)?.iter().find_map(|root| {
            let flags = self.flags(root);
            let allowed = !is(flags, s.forbidden)
                && !is(flags, s.need_affix)
                && match place {
                    Place::Alone => !is(flags, s.only_in_compound),
                    Place::LastPart => self.may_end_compound(flags),
                };
            allowed.then(|| root.stem.as_deref().unwrap_or(word).to_string())
        })
    }

    fn flags(&self, root: &Root) -> &Flags {
        self.flag_sets
            .get(usize::from(root.flags))
            .unwrap_or(&NO_FLAGS)
    }

    fn may_end_compound(&self, flags: &Flags) -> bool {
        let s = &self.special;
        is(flags, s.compound) || is(flags, s.compound_end) || is(flags, s.only_in_compound)
    }

    fn may_begin_compound(&self, flags: &Flags) -> bool {
        let s = &self.special;
        !is(flags, s.forbidden) && (is(flags, s.compound) || is(flags, s.compound_begin))
    }

    /// Analyses of `word` as a root with one or two suffixes.
    fn suffixed(&self, word: &str, place: Place, best: &mut Option<Analysis>) {
        for (cut, outer) in self.suffixes_of(word) {
            // The root-to-be with this suffix's strip restored.
            let mut stem = String::with_capacity(cut + outer.strip.len());
            stem.push_str(&word[..cut]);
            stem.push_str(&outer.strip);
            if stem.is_empty() || !ends_with(&stem, &outer.condition) {
                continue;
            }
            let forbidden_here =
                place == Place::LastPart && is(&outer.next, self.special.compound_forbid);
            let incomplete = is(&outer.next, self.special.need_affix);
            // One suffix: the root carries its flag.
            let removed = word[cut..].chars().count();
            if !forbidden_here && !incomplete {
                self.with_root(&stem, place, removed, |flags| has(flags, outer.flag), best);
            }
            // Two: an inner suffix whose continuation classes allow this one.
            for (inner_cut, inner) in self.suffixes_of(&stem) {
                if !has(&inner.next, outer.flag) {
                    continue;
                }
                let mut root = String::with_capacity(inner_cut + inner.strip.len());
                root.push_str(&stem[..inner_cut]);
                root.push_str(&inner.strip);
                if root.is_empty() || !ends_with(&root, &inner.condition) {
                    continue;
                }
                let removed = removed + stem[inner_cut..].chars().count();
                self.with_root(&root, place, removed, |flags| has(flags, inner.flag), best);
            }
        }
    }

    /// Every suffix that `word` may end in, with where it starts.
    fn suffixes_of<'a>(&'a self, word: &'a str) -> impl Iterator<Item = (usize, &'a Suffix)> + 'a {
        let shortest_cut = word.len().saturating_sub(self.longest_suffix);
        (shortest_cut..=word.len())
            .filter(|cut| word.is_char_boundary(*cut))
            .filter_map(|cut| self.suffixes.get(&word[cut..]).map(|s| (cut, s)))
            .flat_map(|(cut, list)| list.iter().map(move |s| (cut, s)))
    }

    /// Records the analyses of `root` (a dictionary key) whose flags pass
    /// `takes`.
    fn with_root(
        &self,
        root: &str,
        place: Place,
        removed: usize,
        takes: impl Fn(&Flags) -> bool,
        best: &mut Option<Analysis>,
    ) {
        let Some(entries) = self.roots.get(root) else {
            return;
        };
        let s = &self.special;
        for entry in entries {
            let flags = self.flags(entry);
            let placed = match place {
                Place::Alone => !is(flags, s.only_in_compound),
                Place::LastPart => self.may_end_compound(flags),
            };
            if placed && !is(flags, s.forbidden) && takes(flags) {
                keep_best(
                    best,
                    Analysis {
                        rank: Rank::Suffixed,
                        removed,
                        root_len: root.chars().count(),
                        lemma: entry.stem.as_deref().unwrap_or(root).to_string(),
                    },
                );
            }
        }
    }

    /// `word` as a compound: a first part that may begin one, and a last
    /// part (itself possibly a compound) analysed as a word; the longest
    /// first part wins. The lemma is the first part as written followed by
    /// the last part's lemma.
    fn compound(&self, word: &str, parts: usize) -> Option<Analysis> {
        let cuts: Vec<usize> = word
            .char_indices()
            .map(|(i, _)| i)
            .skip(MIN_COMPOUND_HEAD)
            .collect();
        for &cut in cuts.iter().rev() {
            let (head, tail) = word.split_at(cut);
            let tail_chars = tail.chars().count();
            let short_head = head.chars().count() <= MIN_COMPOUND_HEAD;
            if tail_chars < MIN_COMPOUND_TAIL
                || (short_head && tail_chars < MIN_TAIL_AFTER_SHORT_HEAD)
            {
                continue;
            }
            let begins = self.roots.get(head).is_some_and(|entries| {
                entries
                    .iter()
                    .any(|e| self.may_begin_compound(self.flags(e)))
            });
            if !begins {
                continue;
            }
            let last = self.analyse_last_part(tail, parts - 1).map(|a| a.lemma);
            if let Some(last) = last {
                return Some(Analysis {
                    rank: Rank::Compound,
                    removed: 0,
                    root_len: head.chars().count(),
                    lemma: format!("{head}{last}"),
                });
            }
        }
        None
    }

    fn analyse_last_part(&self, tail: &str, parts: usize) -> Option<Analysis> {
        let mut best = None;
        if let Some(lemma) = self.entry_lemma(tail, Place::LastPart) {
            return Some(Analysis {
                rank: Rank::Entry,
                removed: 0,
                root_len: tail.chars().count(),
                lemma,
            });
        }
        self.suffixed(tail, Place::LastPart, &mut best);
        if best.is_none() && parts >= 2 {
            best = self.compound(tail, parts);
        }
        best
    }
}
