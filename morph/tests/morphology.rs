//! The Hungarian morphology, judged: every stemmer the project considered,
//! scored on the pairs in `tests/morphology-pairs.txt`, with and
//! without accents in the query. The table it prints is the one in
//! `docs/hungarian-search.md`:
//!
//! ```text
//! cargo test -p tudashalo-morph --test morphology -- --nocapture
//! ```
//!
//! The test fails when the analysers' own choice falls below the floors
//! measured when it was made.

use std::collections::BTreeMap;

use std::cell::RefCell;

use tantivy::tokenizer::{Language, RawTokenizer, Stemmer, TextAnalyzer};
use tudashalo_core::fold::fold;
use tudashalo_morph::{Morphology, light, unchanged};

/// Snowball Hungarian, `passes` times, on one lower-case word: the
/// analysers' stemmer before Magyar Ispell.
fn snowball(word: &str, passes: usize) -> String {
    thread_local! {
        static SNOWBALL: RefCell<TextAnalyzer> = RefCell::new(
            TextAnalyzer::builder(RawTokenizer::default())
                .filter(Stemmer::new(Language::Hungarian))
                .build(),
        );
    }
    SNOWBALL.with(|analyser| {
        let mut analyser = analyser.borrow_mut();
        let mut word = word.to_string();
        for _ in 0..passes {
            let stemmed = analyser.token_stream(&word).next().map(|t| t.text.clone());
            if let Some(stemmed) = stemmed {
                word = stemmed;
            }
        }
        word
    })
}

fn snowball_once(word: &str) -> String {
    snowball(word, 1)
}

/// One judged pair.
#[derive(Debug)]
struct Pair {
    category: String,
    a: String,
    b: String,
    same: bool,
}

fn pairs() -> Vec<Pair> {
    let text = include_str!("morphology-pairs.txt");
    let mut category = String::new();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            category = name.to_string();
        } else if let Some(rest) = line.strip_prefix('≠') {
            let words: Vec<&str> = rest.split_whitespace().collect();
            assert_eq!(words.len(), 2, "line {}: ≠ takes two words", n + 1);
            out.push(Pair {
                category: category.clone(),
                a: words[0].to_string(),
                b: words[1].to_string(),
                same: false,
            });
        } else if let Some((lemma, forms)) = line.split_once(':') {
            for form in forms.split_whitespace() {
                out.push(Pair {
                    category: category.clone(),
                    a: lemma.trim().to_string(),
                    b: form.to_string(),
                    same: true,
                });
            }
        } else {
            panic!("line {}: neither a category, a lemma nor ≠: {line}", n + 1);
        }
    }
    out
}

/// A stemmer as the index would use it: the accented field's form and the
/// folded field's form of one lower-case word.
struct Candidate {
    name: &'static str,
    accented: Box<dyn Fn(&str) -> String>,
    folded: Box<dyn Fn(&str) -> String>,
}

fn candidates() -> Vec<Candidate> {
    let m = Morphology::get();
    vec![
        Candidate {
            name: "Snowball, one pass",
            accented: Box::new(|w| fold(&snowball(w, 1))),
            folded: Box::new(|w| snowball(&fold(w), 1)),
        },
        Candidate {
            name: "Snowball, two passes (before)",
            accented: Box::new(|w| fold(&snowball(w, 2))),
            folded: Box::new(|w| snowball(&fold(w), 2)),
        },
        Candidate {
            name: "Savoy light",
            accented: Box::new(light::stem),
            folded: Box::new(light::stem),
        },
        Candidate {
            name: "Magyar Ispell alone",
            accented: Box::new(|w| m.accented_with(w, &unchanged)),
            folded: Box::new(|w| m.folded_with(w, &unchanged)),
        },
        Candidate {
            name: "Magyar Ispell + Snowball",
            accented: Box::new(|w| m.accented_with(w, &snowball_once)),
            folded: Box::new(|w| m.folded_with(w, &snowball_once)),
        },
        Candidate {
            name: "Magyar Ispell + Savoy light (chosen)",
            accented: Box::new(|w| m.accented(w)),
            folded: Box::new(|w| m.folded(w)),
        },
    ]
}

/// Counts of one candidate in one setting.
#[derive(Debug, Default, Clone)]
struct Score {
    same: usize,
    same_met: usize,
    different: usize,
    different_met: usize,
    by_category: BTreeMap<String, (usize, usize)>,
    misses: Vec<String>,
}

impl Score {
    fn recall(&self) -> f64 {
        self.same_met as f64 / self.same.max(1) as f64
    }

    fn precision(&self) -> f64 {
        let met = self.same_met + self.different_met;
        if met == 0 {
            return 1.0;
        }
        self.same_met as f64 / met as f64
    }

    fn apart(&self) -> f64 {
        1.0 - self.different_met as f64 / self.different.max(1) as f64
    }
}

fn score(
    pairs: &[Pair],
    form_a: &dyn Fn(&str) -> String,
    form_b: &dyn Fn(&str) -> String,
) -> Score {
    let mut s = Score::default();
    for p in pairs {
        let met = form_a(&p.a) == form_b(&p.b);
        let entry = s.by_category.entry(p.category.clone()).or_default();
        entry.0 += 1;
        if p.same {
            s.same += 1;
            if met {
                s.same_met += 1;
                entry.1 += 1;
            } else {
                s.misses.push(format!("{} ≁ {}", p.a, p.b));
            }
        } else {
            s.different += 1;
            if met {
                s.different_met += 1;
                s.misses.push(format!("{} = {}", p.a, p.b));
            } else {
                entry.1 += 1;
            }
        }
    }
    s
}

#[test]
fn morphology_table() {
    let pairs = pairs();
    let same = pairs.iter().filter(|p| p.same).count();
    assert!(
        pairs.len() >= 400,
        "the judged set has {} pairs",
        pairs.len()
    );
    println!(
        "\n{} pairs: {} forms of one word, {} different words.\n",
        pairs.len(),
        same,
        pairs.len() - same
    );
    println!(
        "| stemmer | recall | precision | apart | recall, unaccented query | precision, unaccented | apart, unaccented |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut chosen = None;
    let mut categories = Vec::new();
    for c in candidates() {
        let accented = score(&pairs, &*c.accented, &*c.accented);
        // The query typed without accents, the text as written.
        let unaccented = score(&pairs, &|w| (c.folded)(&fold(w)), &*c.folded);
        println!(
            "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            c.name,
            accented.recall(),
            accented.precision(),
            accented.apart(),
            unaccented.recall(),
            unaccented.precision(),
            unaccented.apart(),
        );
        categories.push((c.name, accented.by_category.clone()));
        if c.name.ends_with("(chosen)") {
            chosen = Some((accented, unaccented));
        }
    }
    println!("\nPairs judged right, by category (accented):\n");
    let names: Vec<&String> = categories[0].1.keys().collect();
    println!(
        "| stemmer | {} |",
        names
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|{}", "---|".repeat(names.len()));
    for (name, by) in &categories {
        let cells: Vec<String> = names
            .iter()
            .map(|n| {
                let (all, right) = by[*n];
                format!("{right}/{all}")
            })
            .collect();
        println!("| {name} | {} |", cells.join(" | "));
    }
    let (accented, unaccented) = chosen.expect("a chosen stemmer");
    println!(
        "\nThe chosen stemmer's misses (accented): {}",
        accented.misses.join(", ")
    );
    println!("Unaccented: {}\n", unaccented.misses.join(", "));

    // Floors: what the choice measured when it was made, less a little.
    assert!(accented.recall() >= 0.93, "recall {:.3}", accented.recall());
    assert!(accented.apart() >= 0.95, "apart {:.3}", accented.apart());
    assert!(
        unaccented.recall() >= 0.90,
        "unaccented recall {:.3}",
        unaccented.recall()
    );
    assert!(
        unaccented.apart() >= 0.90,
        "unaccented apart {:.3}",
        unaccented.apart()
    );
}
