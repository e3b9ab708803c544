//! Documents: a kind, sectors, settlements, an organisation and a title and
//! body written from the vocabulary's templates.
//!
//! Every document has its own random stream (seed, kistérség index, document
//! number), so any one can be made on its own and the corpus does not
//! depend on the order in which documents are made. The first documents of
//! each node cover every kind and every sector, so that even a small corpus
//! has them all. Bodies spread evenly around the requested mean length.

use std::fmt::Write as _;

use serde_json::{Map, Value};
use tudashalo_core::model::Kind;

use super::grammar::{article, capitalise_from, grouped, year_inessive};
use super::rng::{Rng, STREAM_DOCUMENT};
use super::vocabulary::{
    ABOUT_TOPIC, BY_SECTOR, EXTRA_TAGS, GENERAL, HEADINGS, KIND_WEIGHTS, MONTHS, OPENINGS,
    SECTOR_ADJECTIVES, SECTORS, TITLES, TOPICS, Topic, topics_of,
};
use super::{Kisterseg, Spec};

/// Everything a document's sentences may refer to.
struct Writer<'a> {
    k: &'a Kisterseg,
    rng: Rng,
    year: i32,
    /// When the work ends or the plan runs out: one year per document, so
    /// that its sentences agree.
    later_year: i32,
    sector: usize,
    /// The settlements the document is about.
    places: Vec<&'a str>,
    org: String,
    topic: usize,
    /// A second topic, from a secondary sector or the same one.
    other_topic: usize,
    /// Whether topic slots currently use `other_topic`.
    use_other: bool,
    /// The latest templates used (by address), not to repeat them soon.
    recent: [usize; RECENT],
    recent_at: usize,
}

/// How many of the latest sentences a new one should differ from.
const RECENT: usize = 12;

impl<'a> Writer<'a> {
    /// Appends `template` with its `{slots}` filled.
    fn expand(&mut self, template: &str, out: &mut String) {
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let close = after.find('}').unwrap_or(after.len());
            self.slot(&after[..close], out);
            rest = after.get(close + 1..).unwrap_or("");
        }
        out.push_str(rest);
    }

    fn topic(&self) -> &'static Topic {
        let i = if self.use_other {
            self.other_topic
        } else {
            self.topic
        };
        &TOPICS[i]
    }

    fn place(&mut self) -> &'a str {
        let i = self.rng.below(self.places.len());
        self.places.get(i).copied().unwrap_or(self.k.seat())
    }

    fn other_place(&mut self) -> &'a str {
        let settlements = &self.k.settlements;
        let i = self.rng.below(settlements.len());
        settlements.get(i).map_or("", |s| s.name.as_str())
    }

    /// Fills one slot:
    /// `K` the kistérség with its article, `KN` without, `C` the seat,
    /// `S`/`S2` a settlement of the document / any of the kistérség,
    /// `O` the organisation, `Y` the year, `YB` with its inessive suffix,
    /// `YN` a later year, `YS` six years on, `M` a month, `D` a day,
    /// `N` 2–12, `NB` 20–480, `NP` the kistérség's population, `NF` an
    /// amount of money, `P` a percentage, `H` kindergarten places, `KM`
    /// kilometres, `T`/`TA`/`TR` the topic (nominative, accusative,
    /// sublative, with article), `Tn` the topic bare, `SA`/`SN` the sector's
    /// adjective / name.
    fn slot(&mut self, key: &str, out: &mut String) {
        match key {
            "K" => {
                let adjective = self.k.adjective();
                out.push_str(article(adjective));
                out.push(' ');
                out.push_str(&self.k.display_name);
            }
            "KN" => out.push_str(&self.k.display_name),
            "C" => out.push_str(self.k.seat()),
            "S" => out.push_str(self.place()),
            "S2" => out.push_str(self.other_place()),
            "O" => out.push_str(&self.org),
            "Y" => {
                let _ = write!(out, "{}", self.year);
            }
            "YB" => out.push_str(&year_inessive(self.year)),
            "YN" => {
                let _ = write!(out, "{}", self.later_year);
            }
            "YS" => {
                let _ = write!(out, "{}", self.year + 6);
            }
            "M" => out.push_str(MONTHS[self.rng.below(MONTHS.len())]),
            "D" => {
                let _ = write!(out, "{}", self.rng.range(1, 28));
            }
            "N" => {
                let _ = write!(out, "{}", self.rng.range(2, 12));
            }
            "NB" => {
                let _ = write!(out, "{}", self.rng.range(20, 480));
            }
            "NP" => out.push_str(&grouped(self.k.population())),
            "NF" => {
                let tenths = self.rng.range(50, 9_000);
                let _ = write!(out, "{},{} millió forint", tenths / 10, tenths % 10);
            }
            "P" => {
                let tenths = self.rng.range(10, 650);
                let _ = write!(out, "{},{}%", tenths / 10, tenths % 10);
            }
            "H" => {
                let _ = write!(out, "{}", self.rng.range(3, 18) * 5);
            }
            "KM" => {
                let _ = write!(out, "{}", self.rng.range(2, 35));
            }
            "T" => out.push_str(&self.topic().nominative),
            "TA" => out.push_str(&self.topic().accusative),
            "TR" => out.push_str(&self.topic().sublative),
            "Tn" => out.push_str(self.topic().bare),
            "SA" => out.push_str(SECTOR_ADJECTIVES[self.sector]),
            "SN" => out.push_str(SECTORS[self.sector]),
            unknown => {
                // Only a template typo gets here; the tests look for braces.
                out.push('{');
                out.push_str(unknown);
                out.push('}');
            }
        }
    }

    /// Whether `template` is among the latest sentences.
    fn recently_used(&self, template: &str) -> bool {
        self.recent.contains(&(template.as_ptr() as usize))
    }

    /// Appends one sentence, capitalised; returns the words it added.
    fn sentence(&mut self, template: &str, out: &mut String) -> usize {
        self.recent[self.recent_at] = template.as_ptr() as usize;
        self.recent_at = (self.recent_at + 1) % RECENT;
        let start = out.len();
        self.use_other = self.rng.chance(0.3);
        self.expand(template, out);
        capitalise_from(out, start);
        // Templates separate words by single spaces; counting bytes is much
        // faster than splitting.
        1 + out.as_bytes()[start..]
            .iter()
            .filter(|&&b| b == b' ')
            .count()
    }
}

/// The documents of kistérség `k`: `spec.docs_per_node` JSON objects in the
/// importer's JSON Lines shape. `index` seeds the stream: pass `k.index`
/// (another value gives a different corpus for the same kistérség).
pub fn documents<'a>(
    k: &'a Kisterseg,
    spec: &'a Spec,
    index: usize,
) -> impl Iterator<Item = Value> + 'a {
    (0..spec.docs_per_node).map(move |n| document(k, spec, index, n))
}

/// Document number `n` (0-based) of [`documents`], on its own: each
/// document has its own random stream, so any one can be made directly.
pub fn document(k: &Kisterseg, spec: &Spec, index: usize, n: usize) -> Value {
    let mut rng = Rng::stream(spec.seed, &[STREAM_DOCUMENT, index as u64, n as u64]);
    let (first_year, last_year) = (*spec.years.start(), *spec.years.end());
    let year = rng.range(i64::from(first_year), i64::from(last_year.max(first_year))) as i32;

    // The first documents cover every kind and every sector, so that even a
    // small corpus has them all.
    let kind_at = if n < Kind::ALL.len() {
        n
    } else {
        rng.weighted(&KIND_WEIGHTS)
    };
    let kind = Kind::ALL[kind_at];
    let sector = if n < SECTORS.len() {
        n
    } else {
        rng.below(SECTORS.len())
    };
    let mut sectors = vec![sector];
    let extra_sectors = rng.weighted(&[60, 30, 10]);
    for _ in 0..extra_sectors {
        let s = rng.below(SECTORS.len());
        if !sectors.contains(&s) {
            sectors.push(s);
        }
    }

    let topic = *pick_from(&mut rng, &topics_of(sector).collect::<Vec<_>>());
    let other_sector = *sectors.get(1).unwrap_or(&sector);
    let other_topic = *pick_from(&mut rng, &topics_of(other_sector).collect::<Vec<_>>());

    let whole = matches!(kind, Kind::Strategy | Kind::Minutes)
        || (matches!(
            kind,
            Kind::Study | Kind::Evaluation | Kind::Report | Kind::Concept
        ) && rng.chance(0.4));
    let places: Vec<&str> = if whole || k.settlements.is_empty() {
        k.settlements.iter().map(|s| s.name.as_str()).collect()
    } else {
        let mut chosen: Vec<&str> = Vec::with_capacity(3);
        let wanted = 1 + usize::from(rng.chance(0.3)) + usize::from(rng.chance(0.1));
        for _ in 0..wanted {
            let s = rng.pick(&k.settlements).name.as_str();
            if !chosen.contains(&s) {
                chosen.push(s);
            }
        }
        chosen
    };
    let org = organisation(&mut rng, k, &places, whole, sector);

    let mut w = Writer {
        k,
        later_year: year + rng.range(1, 4) as i32,
        rng,
        year,
        sector,
        places,
        org,
        topic,
        other_topic,
        use_other: false,
        recent: [0; RECENT],
        recent_at: 0,
    };

    let mut title = String::with_capacity(80);
    let template = *w.rng.pick(TITLES[kind_at]);
    w.use_other = false;
    w.expand(template, &mut title);
    capitalise_from(&mut title, 0);

    let body = body(&mut w, spec.mean_words, kind_at);

    let id = format!("{}-{:05}", k.slug, n + 1);
    let visibility = match n {
        5 => "public",
        8 => "local",
        _ => match w.rng.weighted(&[78, 13, 9]) {
            0 => "federated",
            1 => "public",
            _ => "local",
        },
    };
    let mut tags = vec![TOPICS[topic].tag];
    for _ in 0..w.rng.below(3) {
        let t = *w.rng.pick(&EXTRA_TAGS);
        if !tags.contains(&t) {
            tags.push(t);
        }
    }
    let url = w.rng.chance(0.35).then(|| {
        format!(
            "https://www.{}.example/dokumentumtar/{id}.pdf",
            k.slug.replace('_', "-")
        )
    });
    let project_code = w.rng.chance(0.1).then(|| {
        format!(
            "TOP-{}.{}.1-{}-{}-{:05}",
            w.rng.range(1, 7),
            w.rng.range(1, 4),
            w.rng.pick(&["15", "16", "19"]),
            year,
            w.rng.range(1, 99)
        )
    });

    let mut doc = Map::new();
    doc.insert("id".into(), Value::String(id));
    doc.insert("title".into(), Value::String(title));
    doc.insert("body".into(), Value::String(body));
    doc.insert("kind".into(), Value::String(kind.as_str().into()));
    doc.insert(
        "sectors".into(),
        Value::Array(
            sectors
                .iter()
                .map(|&s| Value::String(SECTORS[s].into()))
                .collect(),
        ),
    );
    doc.insert(
        "settlements".into(),
        Value::Array(
            w.places
                .iter()
                .map(|s| Value::String((*s).into()))
                .collect(),
        ),
    );
    doc.insert("year".into(), Value::from(year));
    doc.insert("org".into(), Value::String(w.org));
    doc.insert("visibility".into(), Value::String(visibility.into()));
    doc.insert(
        "tags".into(),
        Value::Array(tags.iter().map(|t| Value::String((*t).into())).collect()),
    );
    if let Some(url) = url {
        doc.insert("url".into(), Value::String(url));
    }
    if let Some(code) = project_code {
        // Not a field Tudásháló knows: the importer keeps it in `extra`.
        doc.insert("palyazati_azonosito".into(), Value::String(code));
    }
    Value::Object(doc)
}

fn pick_from<'a>(rng: &mut Rng, items: &'a [usize]) -> &'a usize {
    const NONE: usize = 0;
    if items.is_empty() {
        &NONE
    } else {
        rng.pick(items)
    }
}

/// Who wrote the document.
fn organisation(
    rng: &mut Rng,
    k: &Kisterseg,
    places: &[&str],
    whole: bool,
    sector: usize,
) -> String {
    let adjective = k.adjective();
    if whole || places.is_empty() {
        return match rng.below(3) {
            0 => format!("{adjective} Kistérség Többcélú Társulása"),
            1 => format!("{adjective} Kistérségi Társulás Munkaszervezete"),
            _ => format!("{} Város Önkormányzata", k.seat()),
        };
    }
    let place = places[rng.below(places.len())];
    let town = k
        .settlements
        .iter()
        .any(|s| s.name == place && s.population >= 4_000);
    match (sector, rng.below(4)) {
        (0, 0) => format!("{place} Napközi Otthonos Óvoda"),
        (5, 0) => format!("{place} Integrált Közösségi Szolgáltató Tér"),
        (_, 1) => format!("{place} Jövőjéért Egyesület"),
        _ if town => format!("{place} Város Önkormányzata"),
        _ => format!("{place} Község Önkormányzata"),
    }
}

/// The body: an opening sentence of the kind, then sentences about the
/// sector, the topic and development in general, in paragraphs (with
/// numbered headings in the longer kinds), until the drawn length.
fn body(w: &mut Writer<'_>, mean_words: usize, kind_at: usize) -> String {
    // Lengths spread evenly over [0.5, 1.5) × mean, so the mean is kept.
    let target = ((mean_words as f64) * w.rng.between(0.5, 1.5)).round() as usize;
    let target = target.max(12);
    let mut out = String::with_capacity(target * 9);
    let headed = matches!(
        Kind::ALL[kind_at],
        Kind::Strategy | Kind::Study | Kind::Evaluation | Kind::Report
    ) && target >= 150;
    let mut heading = 0usize;
    let mut words = 0usize;
    let mut in_paragraph = 0usize;
    let mut paragraph_length = w.rng.range(3, 6) as usize;

    let opening = *w.rng.pick(OPENINGS[kind_at]);
    words += w.sentence(opening, &mut out);
    in_paragraph += 1;

    // Stop half a sentence early on average, so the overshoot of the last
    // sentence does not bias the mean upwards.
    while words + 6 < target {
        if in_paragraph >= paragraph_length {
            out.push_str("\n\n");
            in_paragraph = 0;
            paragraph_length = w.rng.range(3, 6) as usize;
            if headed && heading < HEADINGS.len() && w.rng.chance(0.5) {
                let _ = write!(out, "{}. {}\n\n", heading + 1, HEADINGS[heading]);
                words += 1 + HEADINGS[heading].split_ascii_whitespace().count();
                heading += 1;
            }
        } else {
            out.push(' ');
        }
        let mut template = next_template(w, kind_at);
        for _ in 0..4 {
            if !w.recently_used(template) {
                break;
            }
            template = next_template(w, kind_at);
        }
        words += w.sentence(template, &mut out);
        in_paragraph += 1;
    }
    out
}

/// A sentence template for the body: mostly about the sector, then the
/// topic, development in general, and now and then the kind.
fn next_template(w: &mut Writer<'_>, kind_at: usize) -> &'static str {
    match w.rng.weighted(&[45, 25, 25, 5]) {
        0 => {
            let sector = if w.rng.chance(0.7) {
                w.sector
            } else {
                TOPICS[w.other_topic].sector
            };
            w.rng.pick_str(BY_SECTOR[sector])
        }
        1 => w.rng.pick_str(ABOUT_TOPIC),
        2 => w.rng.pick_str(GENERAL),
        _ => w.rng.pick_str(OPENINGS[kind_at]),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashSet;

    use super::super::kistersegek;
    use super::super::tests::{corpus, small};
    use super::*;

    #[test]
    fn every_kind_and_sector_occurs_in_each_node() {
        let spec = Spec {
            docs_per_node: 20,
            ..small(3)
        };
        for k in kistersegek(&spec) {
            let docs: Vec<Value> = documents(&k, &spec, k.index).collect();
            let kinds: HashSet<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
            for kind in Kind::ALL {
                assert!(kinds.contains(kind.as_str()), "{}: no {kind}", k.slug);
            }
            let sectors: HashSet<&str> = docs
                .iter()
                .flat_map(|d| d["sectors"].as_array().unwrap())
                .map(|s| s.as_str().unwrap())
                .collect();
            for sector in SECTORS {
                assert!(sectors.contains(sector), "{}: no {sector}", k.slug);
            }
            let visibilities: HashSet<&str> = docs
                .iter()
                .map(|d| d["visibility"].as_str().unwrap())
                .collect();
            assert_eq!(visibilities.len(), 3, "{visibilities:?}");
        }
    }

    #[test]
    fn documents_parse_as_the_importer_expects() {
        let spec = small(4);
        let k = &kistersegek(&spec)[0];
        let text: String = documents(k, &spec, 0)
            .map(|d| d.to_string() + "\n")
            .collect();
        let parsed = tudashalo_node::import::parse_documents(
            "dokumentumok.jsonl",
            text.as_bytes(),
            &tudashalo_node::import::Limits::default(),
        )
        .unwrap();
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        assert_eq!(parsed.records.len(), spec.docs_per_node);
        let ids: HashSet<&str> = parsed.records.iter().map(|(_, d)| d.id.as_str()).collect();
        assert_eq!(ids.len(), spec.docs_per_node);
        for (_, d) in &parsed.records {
            assert!(
                !d.body.contains('{') && !d.title.contains('{'),
                "{}",
                d.body
            );
            // Word counting relies on single spaces between words.
            assert!(!d.body.contains("  ") && !d.body.starts_with(' '));
            assert!(!d.settlements.is_empty());
            assert!(spec.years.contains(&d.year.unwrap()));
        }
    }

    #[test]
    fn mean_body_length_is_close_to_the_requested_mean() {
        for mean in [100, 300, 900] {
            let spec = Spec {
                nodes: 2,
                docs_per_node: 150,
                mean_words: mean,
                ..Spec::default()
            };
            let docs = corpus(&spec);
            let words: usize = docs
                .iter()
                .map(|d| d["body"].as_str().unwrap().split_whitespace().count())
                .sum();
            let average = words as f64 / docs.len() as f64;
            let error = (average - mean as f64).abs() / mean as f64;
            assert!(error < 0.15, "mean {mean}: got {average:.1}");
        }
    }

    #[test]
    fn hungarian_accents_and_inflections_are_present() {
        let text: String = corpus(&small(5))
            .iter()
            .map(|d| format!("{} {}\n", d["title"], d["body"]))
            .collect();
        for needle in [
            "ő",
            "ű",
            "fejlesztés",
            "fejlesztési",
            "fejlesztések",
            "önkormányzat",
            "önkormányzatok",
            "óvodai férőhely",
            "IKSZT",
        ] {
            assert!(text.contains(needle), "missing {needle:?}");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod speed {
    use super::super::kistersegek;
    use super::*;

    /// The benchmarks generate large corpora; generation must not be what
    /// they measure. Timing, so only meaningful in release builds.
    #[test]
    #[ignore = "timing: run with cargo test --release -- --ignored"]
    fn generates_more_than_50k_documents_per_second() {
        let spec = Spec {
            nodes: 2,
            docs_per_node: 20_000,
            mean_words: 300,
            ..Spec::default()
        };
        let started = std::time::Instant::now();
        let mut bytes = 0usize;
        for k in kistersegek(&spec) {
            for doc in documents(&k, &spec, k.index) {
                bytes += doc["body"].as_str().map_or(0, str::len);
            }
        }
        let rate = 40_000.0 / started.elapsed().as_secs_f64();
        eprintln!("{rate:.0} documents/s, {} MB of bodies", bytes / 1_000_000);
        assert!(rate > 50_000.0, "{rate:.0} documents/s");
    }
}
