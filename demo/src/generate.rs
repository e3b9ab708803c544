//! The project's own sample data: kistérségek with their settlements,
//! documents, an indicator catalogue and observations, all derived from a
//! [`Spec`] and nothing else.
//!
//! The same spec always gives byte-identical files (a small splitmix64
//! generator, no global state, no clock, no hash-map iteration order), so
//! demos, tests and benchmarks can rely on the exact corpus. Names are those
//! of real Hungarian kistérségek and settlements with approximate
//! populations; every document and every value is invented and must not be
//! read as a statistic. Sentences are written for this generator, with
//! inflected forms (fejlesztés, fejlesztési, fejlesztések; önkormányzat,
//! önkormányzatok, önkormányzatokkal) so that Hungarian stemming matters.
//!
//! This module only generates and writes files; it never imports them (see
//! the demo) and never touches the network.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use serde_json::{Map, Value};
use tudashalo_core::model::Kind;

/// Changes whenever the output for a given [`Spec`] changes, so that data
/// stored by an older generator is recognised and regenerated.
pub const GENERATOR_VERSION: u32 = 1;

/// Every sector a generated document may carry.
pub const SECTORS: [&str; 12] = [
    "oktatás",
    "egészségügy",
    "szociális",
    "foglalkoztatás",
    "gazdaságfejlesztés",
    "közművelődés",
    "sport",
    "ifjúság",
    "turizmus",
    "közlekedés",
    "környezet",
    "közigazgatás",
];

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// How many kistérségek (one node each).
    pub nodes: usize,
    /// Everything random derives from it; the same seed gives the same bytes.
    pub seed: u64,
    pub docs_per_node: usize,
    /// The mean length of a document body, in words (individual documents
    /// range from about half to one and a half times this).
    pub mean_words: usize,
    /// Document years, and the periods of the observations.
    pub years: RangeInclusive<i32>,
}

impl Default for Spec {
    /// The demo's federation: 5 nodes of 120 documents of ~300 words,
    /// 2010–2024.
    fn default() -> Self {
        Spec {
            nodes: 5,
            seed: 1,
            docs_per_node: 120,
            mean_words: 300,
            years: 2010..=2024,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub name: String,
    pub population: u32,
}

/// A kistérség: one node of the federation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kisterseg {
    /// The node's name, e.g. `edelenyi`.
    pub slug: String,
    /// E.g. `Edelényi kistérség`.
    pub display_name: String,
    /// The seat first, then the other settlements, larger ones first.
    pub settlements: Vec<Settlement>,
    /// The position in [`kistersegek`]; it seeds this kistérség's data and
    /// decides which node's tables are written in Windows-1250.
    pub index: usize,
}

impl Kisterseg {
    /// `Edelényi` for `Edelényi kistérség`.
    pub fn adjective(&self) -> &str {
        self.display_name
            .strip_suffix(" kistérség")
            .unwrap_or(&self.display_name)
    }

    /// The seat (the first, largest settlement).
    pub fn seat(&self) -> &str {
        self.settlements.first().map_or("", |s| s.name.as_str())
    }

    pub fn population(&self) -> u64 {
        self.settlements
            .iter()
            .map(|s| u64::from(s.population))
            .sum()
    }
}

/// One catalogue row: `(code, name, unit, aggregation)`.
pub type CatalogueRow = (&'static str, &'static str, &'static str, &'static str);

/// One observation: `(indicator, settlement, period, value, unit)`.
pub type ObservationRow = (&'static str, String, String, f64, &'static str);

/// The files written by [`write_node_files`] for one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFiles {
    /// JSON Lines, UTF-8.
    pub documents: PathBuf,
    /// `code,name,unit,aggregation`.
    pub catalogue: PathBuf,
    /// `mutató;település;időszak;érték;mértékegység`, decimal comma.
    pub observations: PathBuf,
    /// Whether the two CSV files are Windows-1250 (else UTF-8 with BOM).
    pub windows_1250: bool,
}

// ---------------------------------------------------------------------------
// Randomness

/// splitmix64: tiny, fast, and the same on every platform.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    /// A stream for one purpose: the seed mixed with the parts that name it.
    fn stream(seed: u64, parts: &[u64]) -> Rng {
        let mut state = Rng(seed ^ 0x5444_4853_484c_4f21).next_u64();
        for part in parts {
            state = Rng(state ^ part.wrapping_mul(0xD6E8_FEB8_6659_FD93)).next_u64();
        }
        Rng(state)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as usize) as i64
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `[lo, hi)`.
    fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// One of `items`, which must not be empty.
    fn pick_str(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len())]
    }

    /// An index into `weights`, with probability proportional to its weight.
    fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut at = self.below(total as usize) as u32;
        for (i, w) in weights.iter().enumerate() {
            if at < *w {
                return i;
            }
            at -= w;
        }
        weights.len().saturating_sub(1)
    }
}

/// Stream names, so that documents, observations and names never share
/// random numbers.
const STREAM_DOCUMENT: u64 = 1;
const STREAM_OBSERVATION: u64 = 2;
const STREAM_KISTERSEG: u64 = 3;
const STREAM_NAMES: u64 = 4;

// ---------------------------------------------------------------------------
// Kistérségek

type RealKisterseg = (&'static str, &'static str, &'static [(&'static str, u32)]);

/// Real kistérségek with (approximate) populations of their settlements,
/// seat first. Small villages of a few dozen people are there on purpose:
/// their counts are what disclosure control must suppress.
const REAL: [RealKisterseg; 14] = [
    (
        "edelenyi",
        "Edelényi",
        &[
            ("Edelény", 9_800),
            ("Szendrő", 4_000),
            ("Boldva", 2_300),
            ("Borsodszirák", 1_100),
            ("Szalonna", 1_000),
            ("Perkupa", 850),
            ("Hangács", 750),
            ("Damak", 250),
            ("Abod", 220),
            ("Galvács", 90),
            ("Becskeháza", 40),
            ("Tornakápolna", 30),
        ],
    ),
    (
        "kisteleki",
        "Kisteleki",
        &[
            ("Kistelek", 7_000),
            ("Balástya", 3_400),
            ("Ópusztaszer", 2_100),
            ("Baks", 2_100),
            ("Csengele", 1_900),
            ("Pusztaszer", 1_350),
        ],
    ),
    (
        "szecsenyi",
        "Szécsényi",
        &[
            ("Szécsény", 5_800),
            ("Rimóc", 1_800),
            ("Varsány", 1_700),
            ("Nagylóc", 1_600),
            ("Nógrádmegyer", 1_600),
            ("Ludányhalászi", 1_500),
            ("Endrefalva", 1_200),
            ("Magyargéc", 900),
            ("Nógrádszakál", 650),
            ("Piliny", 650),
            ("Szalmatercs", 500),
            ("Hollókő", 300),
        ],
    ),
    (
        "oriszentpeteri",
        "Őriszentpéteri",
        &[
            ("Őriszentpéter", 1_200),
            ("Ivánc", 700),
            ("Bajánsenye", 550),
            ("Kondorfa", 500),
            ("Pankasz", 450),
            ("Hegyhátszentjakab", 300),
            ("Őrimagyarósd", 270),
            ("Nagyrákos", 250),
            ("Szalafő", 220),
            ("Ispánk", 150),
            ("Velemér", 80),
            ("Szatta", 70),
        ],
    ),
    (
        "tiszakecskei",
        "Tiszakécskei",
        &[
            ("Tiszakécske", 11_500),
            ("Tiszaalpár", 4_800),
            ("Lakitelek", 4_500),
            ("Szentkirály", 1_900),
            ("Tiszaug", 900),
        ],
    ),
    (
        "sarospataki",
        "Sárospataki",
        &[
            ("Sárospatak", 12_500),
            ("Tolcsva", 1_800),
            ("Kenézlő", 1_200),
            ("Makkoshotyka", 900),
            ("Vámosújfalu", 800),
            ("Hercegkút", 700),
            ("Erdőhorváti", 650),
            ("Viss", 600),
            ("Györgytarló", 500),
            ("Komlóska", 300),
            ("Zalkod", 200),
        ],
    ),
    (
        "batonyterenyei",
        "Bátonyterenyei",
        &[
            ("Bátonyterenye", 12_500),
            ("Mátraverebély", 2_100),
            ("Mátranovák", 1_900),
            ("Mátraterenye", 1_700),
            ("Dorogháza", 1_300),
            ("Mátraszele", 750),
            ("Nemti", 650),
            ("Nagykeresztúr", 550),
            ("Szuha", 480),
        ],
    ),
    (
        "mezokovacshazai",
        "Mezőkovácsházai",
        &[
            ("Mezőkovácsháza", 6_000),
            ("Battonya", 5_400),
            ("Mezőhegyes", 5_200),
            ("Medgyesegyháza", 3_500),
            ("Kunágota", 2_600),
            ("Magyarbánhegyes", 2_200),
            ("Dombegyház", 2_000),
            ("Végegyháza", 1_350),
            ("Nagybánhegyes", 1_200),
            ("Almáskamarás", 850),
            ("Pusztaottlaka", 350),
            ("Magyardombegyház", 230),
        ],
    ),
    (
        "csengeri",
        "Csengeri",
        &[
            ("Csenger", 4_800),
            ("Porcsalma", 2_700),
            ("Tyukod", 2_200),
            ("Jánkmajtis", 1_900),
            ("Csegöld", 1_100),
            ("Ura", 800),
            ("Pátyod", 700),
            ("Csengersima", 650),
            ("Szamosbecs", 450),
            ("Szamostatárfalva", 330),
            ("Komlódtótfalu", 130),
        ],
    ),
    (
        "tokaji",
        "Tokaji",
        &[
            ("Tokaj", 4_300),
            ("Tarcal", 3_000),
            ("Mád", 2_300),
            ("Bodrogkeresztúr", 1_100),
            ("Rátka", 1_000),
            ("Tiszaladány", 650),
            ("Bodrogkisfalud", 400),
            ("Szegi", 350),
            ("Szegilong", 220),
            ("Tiszatardos", 130),
        ],
    ),
    (
        "pasztoi",
        "Pásztói",
        &[
            ("Pásztó", 9_500),
            ("Tar", 2_200),
            ("Szurdokpüspöki", 2_000),
            ("Mátraszőlős", 1_700),
            ("Buják", 1_500),
            ("Szirák", 1_100),
            ("Ecseg", 1_100),
            ("Hasznos", 1_000),
            ("Csécse", 800),
            ("Alsótold", 200),
            ("Kozárd", 200),
            ("Garáb", 50),
        ],
    ),
    (
        "sellyei",
        "Sellyei",
        &[
            ("Sellye", 2_700),
            ("Vajszló", 1_700),
            ("Drávafok", 450),
            ("Bogdása", 300),
            ("Zaláta", 250),
            ("Hirics", 250),
            ("Piskó", 250),
            ("Kákics", 200),
            ("Vejti", 150),
            ("Markóc", 50),
            ("Kemse", 50),
        ],
    ),
    (
        "zirci",
        "Zirci",
        &[
            ("Zirc", 7_000),
            ("Csetény", 2_000),
            ("Dudar", 1_500),
            ("Bakonybél", 1_300),
            ("Nagyesztergár", 1_200),
            ("Bakonyszentkirály", 1_000),
            ("Olaszfalu", 1_000),
            ("Borzavár", 800),
            ("Jásd", 700),
            ("Lókút", 600),
            ("Porva", 400),
            ("Pénzesgyőr", 250),
        ],
    ),
    (
        "tiszafuredi",
        "Tiszafüredi",
        &[
            ("Tiszafüred", 10_500),
            ("Abádszalók", 4_000),
            ("Tiszaszentimre", 2_300),
            ("Tiszaszőlős", 1_700),
            ("Tiszaörs", 1_500),
            ("Tiszaigar", 1_000),
            ("Nagyiván", 1_000),
            ("Tiszaderzs", 1_000),
            ("Tomajmonostora", 700),
        ],
    ),
];

/// Word parts for the kistérségek beyond the real ones.
const NAME_PREFIXES: [&str; 24] = [
    "Kis", "Nagy", "Felső", "Alsó", "Tisza", "Duna", "Rába", "Zala", "Maros", "Szamos", "Bodrog",
    "Sajó", "Hegy", "Mező", "Sár", "Ér", "Bere", "Szent", "Tót", "Magyar", "Puszta", "Rét", "Vár",
    "Új",
];
const NAME_BASES: [&str; 24] = [
    "falva",
    "háza",
    "telek",
    "szállás",
    "egyháza",
    "halom",
    "vár",
    "hegy",
    "laka",
    "szeg",
    "föld",
    "berény",
    "almás",
    "kér",
    "csaba",
    "szentmárton",
    "patak",
    "kereszt",
    "doboz",
    "gyarmat",
    "tarcsa",
    "bánya",
    "rév",
    "somlyó",
];

/// The first `spec.nodes` kistérségek: the real ones first, then invented
/// ones with plausible names. Names and populations do not depend on the
/// seed, so that a node keeps its name across seeds.
pub fn kistersegek(spec: &Spec) -> Vec<Kisterseg> {
    let mut out: Vec<Kisterseg> = Vec::with_capacity(spec.nodes);
    let mut used: Vec<String> = REAL
        .iter()
        .flat_map(|(_, _, s)| s.iter().map(|(n, _)| n.to_string()))
        .collect();
    for index in 0..spec.nodes {
        if let Some((slug, adjective, settlements)) = REAL.get(index) {
            out.push(Kisterseg {
                slug: slug.to_string(),
                display_name: format!("{adjective} kistérség"),
                settlements: settlements
                    .iter()
                    .map(|(name, population)| Settlement {
                        name: name.to_string(),
                        population: *population,
                    })
                    .collect(),
                index,
            });
            continue;
        }
        let mut rng = Rng::stream(0, &[STREAM_NAMES, index as u64]);
        let count = rng.range(5, 12) as usize;
        let mut settlements = Vec::with_capacity(count);
        for position in 0..count {
            let name = invent_name(&mut rng, &used);
            used.push(name.clone());
            let population = if position == 0 {
                rng.range(3_000, 15_000)
            } else {
                match rng.weighted(&[30, 40, 30]) {
                    0 => rng.range(25, 300),
                    1 => rng.range(300, 1_500),
                    _ => rng.range(1_500, 4_000),
                }
            } as u32;
            settlements.push(Settlement { name, population });
        }
        settlements[1..].sort_by_key(|s| std::cmp::Reverse(s.population));
        let adjective = format!("{}i", settlements[0].name);
        let mut slug = fold(&adjective);
        while out.iter().any(|k| k.slug == slug) || REAL.iter().any(|(s, _, _)| *s == slug) {
            slug.push('2');
        }
        out.push(Kisterseg {
            slug,
            display_name: format!("{adjective} kistérség"),
            settlements,
            index,
        });
    }
    out
}

fn invent_name(rng: &mut Rng, used: &[String]) -> String {
    loop {
        let name = format!("{}{}", rng.pick(&NAME_PREFIXES), rng.pick(&NAME_BASES));
        if !used.contains(&name) {
            return name;
        }
        // Rarely taken; a numbered name keeps the loop finite even when
        // every combination is used.
        if rng.chance(0.02) {
            return format!("{name}{}", used.len());
        }
    }
}

/// Lowercase ASCII: `Őriszentpéteri` → `oriszentpeteri`.
fn fold(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            let c = match c.to_lowercase().next().unwrap_or(c) {
                'á' => 'a',
                'é' => 'e',
                'í' => 'i',
                'ó' | 'ö' | 'ő' => 'o',
                'ú' | 'ü' | 'ű' => 'u',
                c => c,
            };
            (c.is_ascii_lowercase() || c.is_ascii_digit()).then_some(c)
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Vocabulary

/// Adjectives of the sectors, in [`SECTORS`] order, for titles.
const SECTOR_ADJECTIVES: [&str; 12] = [
    "köznevelési",
    "egészségügyi",
    "szociális",
    "foglalkoztatási",
    "gazdaságfejlesztési",
    "közművelődési",
    "sportfejlesztési",
    "ifjúsági",
    "turisztikai",
    "közlekedésfejlesztési",
    "környezetvédelmi",
    "közigazgatási",
];

/// Development topics per sector: a noun phrase that ends in a possessive
/// `-a`/`-e` (so that its accusative and sublative follow by rule), and a tag.
const TOPIC_TABLE: [(usize, &str, &str); 60] = [
    (0, "óvodai férőhelyek bővítése", "óvoda"),
    (0, "iskolabusz-hálózat szervezése", "iskolabusz"),
    (0, "általános iskola energetikai korszerűsítése", "iskola"),
    (0, "tanoda program folytatása", "tanoda"),
    (0, "bölcsődei ellátás kialakítása", "bölcsőde"),
    (1, "háziorvosi körzetek betöltése", "háziorvos"),
    (1, "védőnői szolgálat megerősítése", "védőnő"),
    (1, "járóbeteg-szakellátás fejlesztése", "szakellátás"),
    (1, "egészségház felújítása", "egészségház"),
    (1, "szűrőprogramok szervezése", "szűrés"),
    (2, "falugondnoki szolgálat bővítése", "falugondnok"),
    (2, "idősek nappali ellátásának fejlesztése", "idősellátás"),
    (2, "szociális étkeztetés megszervezése", "étkeztetés"),
    (
        2,
        "hátrányos helyzetű családok támogatása",
        "hátrányos helyzet",
    ),
    (2, "szegregátumok felszámolása", "szegregáció"),
    (
        3,
        "közfoglalkoztatási programok szervezése",
        "közfoglalkoztatás",
    ),
    (
        3,
        "szociális szövetkezet létrehozása",
        "szociális szövetkezet",
    ),
    (3, "tartós álláskeresők képzése", "képzés"),
    (3, "helyi foglalkoztatási paktum működtetése", "paktum"),
    (
        3,
        "munkaerőpiaci szolgáltatások fejlesztése",
        "munkaerőpiac",
    ),
    (4, "helyi termékek piacának kialakítása", "helyi termék"),
    (4, "ipari terület közművesítése", "ipari park"),
    (4, "kisvállalkozások támogatása", "vállalkozás"),
    (4, "gyümölcsfeldolgozó üzem létesítése", "feldolgozóüzem"),
    (4, "inkubátorház kialakítása", "inkubátorház"),
    (
        5,
        "integrált közösségi szolgáltató tér kialakítása",
        "IKSZT",
    ),
    (5, "IKSZT működtetése", "IKSZT"),
    (5, "művelődési ház felújítása", "művelődési ház"),
    (5, "községi könyvtár fejlesztése", "könyvtár"),
    (5, "helyi hagyományok ápolása", "hagyományőrzés"),
    (6, "sportpálya felújítása", "sportpálya"),
    (6, "tornaterem építése", "tornaterem"),
    (6, "szabadidős sportprogramok szervezése", "szabadidősport"),
    (6, "tanuszoda létesítése", "tanuszoda"),
    (6, "szabadtéri kondipark kialakítása", "kondipark"),
    (7, "ifjúsági klub működtetése", "ifjúsági klub"),
    (
        7,
        "fiatalok helyben maradásának ösztönzése",
        "helyben maradás",
    ),
    (7, "ifjúsági információs pont létrehozása", "ifjúsági iroda"),
    (7, "nyári táborok szervezése", "tábor"),
    (7, "pályaorientációs programok bővítése", "pályaválasztás"),
    (8, "kerékpáros turizmus fejlesztése", "kerékpáros turizmus"),
    (8, "tanösvény kialakítása", "tanösvény"),
    (8, "falusi szálláshelyek minősítése", "szálláshely"),
    (8, "borút hálózat kiépítése", "borút"),
    (
        8,
        "térségi turisztikai kártya bevezetése",
        "turisztikai kártya",
    ),
    (9, "kerékpárút építése", "kerékpárút"),
    (9, "bekötőutak felújítása", "bekötőút"),
    (9, "buszmegállók akadálymentesítése", "akadálymentesítés"),
    (
        9,
        "közösségi közlekedés összehangolása",
        "közösségi közlekedés",
    ),
    (9, "települések közötti járatok sűrítése", "menetrend"),
    (10, "víziközmű-hálózat rekonstrukciója", "víziközmű"),
    (10, "szennyvíztisztító telep bővítése", "szennyvíz"),
    (10, "illegális hulladéklerakók felszámolása", "hulladék"),
    (10, "közintézmények napelemes ellátása", "napelem"),
    (10, "csapadékvíz-elvezetés korszerűsítése", "csapadékvíz"),
    (
        11,
        "önkormányzatok együttműködésének erősítése",
        "együttműködés",
    ),
    (
        11,
        "közös önkormányzati hivatal átszervezése",
        "közös hivatal",
    ),
    (
        11,
        "többcélú társulás feladatainak felülvizsgálata",
        "társulás",
    ),
    (
        11,
        "e-közigazgatási szolgáltatások bevezetése",
        "e-közigazgatás",
    ),
    (
        11,
        "településrendezési tervek összehangolása",
        "településrendezés",
    ),
];

/// A topic with its forms, article included: `az óvodai férőhelyek
/// bővítése`, `… bővítését`, `… bővítésére`.
#[derive(Debug)]
struct Topic {
    sector: usize,
    bare: &'static str,
    nominative: String,
    accusative: String,
    sublative: String,
    tag: &'static str,
}

static TOPICS: LazyLock<Vec<Topic>> = LazyLock::new(|| {
    TOPIC_TABLE
        .iter()
        .map(|&(sector, bare, tag)| {
            let article = article(bare);
            // The possessive ending lengthens before a suffix: -e → -é, -a → -á.
            let (stem, sublative) = match bare.strip_suffix('e') {
                Some(stem) => (format!("{stem}é"), "re"),
                None => (format!("{}á", bare.strip_suffix('a').unwrap_or(bare)), "ra"),
            };
            Topic {
                sector,
                bare,
                nominative: format!("{article} {bare}"),
                accusative: format!("{article} {stem}t"),
                sublative: format!("{article} {stem}{sublative}"),
                tag,
            }
        })
        .collect()
});

/// The topics of one sector, as indices into [`TOPICS`].
fn topics_of(sector: usize) -> impl Iterator<Item = usize> {
    TOPIC_TABLE
        .iter()
        .enumerate()
        .filter(move |(_, t)| t.0 == sector)
        .map(|(i, _)| i)
}

/// Sentences about any development work. Slots: see [`Writer::slot`].
const GENERAL: &[&str] = &[
    "{K} települései közül {S} lakossága csökkent a legnagyobb mértékben az elmúlt évtizedben.",
    "A fejlesztési elképzelések összhangban vannak a megyei területfejlesztési koncepcióval és a járási esélyteremtő programmal.",
    "Az önkormányzatok együttműködése nélkül a kisebb települések nem tudnák önállóan ellátni kötelező feladataikat.",
    "A lakossági fórumon az óvodai férőhelyek, a közvilágítás és a buszmegállók állapota került előtérbe.",
    "{YB} a társulási tanács {N} alkalommal ülésezett, és {NB} határozatot hozott.",
    "A projekt teljes költsége {NF}, amelyből a vissza nem térítendő támogatás aránya {P}.",
    "A fejlesztések eredményeként {S} településen {NB} lakos jut jobb minőségű szolgáltatáshoz.",
    "A kistérségi fejlesztési programok végrehajtását a társulás munkaszervezete koordinálja.",
    "A hátrányos helyzetű települések felzárkóztatása továbbra is elsődleges cél.",
    "A megvalósítás ütemezése: előkészítés {Y}, kivitelezés {YN}, utána ötéves fenntartási időszak.",
    "{S} és {S2} polgármesterei megállapodtak az intézmények közös fenntartásáról.",
    "A helyzetelemzés szerint a népesség elöregedése és a fiatalok elvándorlása a legsúlyosabb probléma.",
    "A munkaszervezet {N} település adatait dolgozta fel; a kistérségi átlagtól {S} mutatói térnek el leginkább.",
    "Az együttműködő önkormányzatok vállalták, hogy a fenntartási költségeket lakosságarányosan viselik.",
    "A fejlesztési források felhasználásáról a társulás negyedévente beszámol a képviselő-testületeknek.",
    "A tanyás térségekben élők számára a közszolgáltatások továbbra is nehezen hozzáférhetők.",
    "A civil szervezetek és az egyházak bevonása erősíti a helyi közösségeket.",
    "A rendelkezésre álló adatok alapján a foglalkoztatási ráta elmarad az országos átlagtól.",
    "A program fenntarthatóságát a települési önkormányzatok saját forrásaikból is biztosítják.",
    "A kedvezményezett települések listáját a kormányrendelet melléklete tartalmazza.",
    "A beruházás gesztora: {O}.",
    "{K} lakónépessége {Y}. január 1-jén {NP} fő volt.",
    "A fiatal családok letelepedését lakhatási támogatással és bővülő óvodai férőhelyekkel segítik.",
    "A fejlesztési igények felmérése során {NB} kérdőív érkezett vissza a lakosságtól.",
    "Kiemelt feladat az önkormányzati intézmények energiahatékonyságának javítása.",
    "A települések közötti együttműködés a közös pályázatírásban és a közbeszerzések lebonyolításában is megjelenik.",
    "A következő tervezési időszakban a fejlesztési források összehangolt felhasználása szükséges.",
    "{S} településen a kisiskola megtartása a közösség fennmaradásának feltétele.",
    "A monitoring mutatók alakulását évente felül kell vizsgálni.",
    "A fejlesztések megalapozásához {K} valamennyi önkormányzatától adatot kértünk.",
    "A kistelepülési önkormányzatok pályázati önerejét a társulás előfinanszírozással segíti.",
    "A {Y}. évi költségvetés {NF} fejlesztési célú előirányzatot tartalmaz.",
];

/// Sentences about the document's topic.
const ABOUT_TOPIC: &[&str] = &[
    "{T} {S} településen {YB} kezdődött meg.",
    "A társulás {TR} {NF} összegű támogatást nyert el.",
    "{TA} a helyi önkormányzatok kezdeményezték.",
    "{T} érdekében a társulás munkacsoportot hozott létre.",
    "Az értékelés szerint {T} hozzájárult a szolgáltatások minőségének javulásához.",
    "{T} a kistérségi fejlesztési program egyik kiemelt beavatkozási területe.",
    "A pályázati felhívás lehetővé teszi {TA} a kisebb lélekszámú településeken is.",
    "{TA} {N} település közösen tervezi.",
    "A képviselő-testület egyhangúlag támogatta {TA}.",
    "{T} során {NB} fő vett részt a lakossági egyeztetéseken.",
    "{TR} {S2} önkormányzata is csatlakozási szándékát jelezte.",
    "A fenntartási időszakban {T} üzemeltetését {O} vállalja.",
];

/// Sentences per sector, in [`SECTORS`] order.
const BY_SECTOR: [&[&str]; 12] = [
    &[
        "{S} településen az óvoda {H} férőhellyel működik, a kihasználtság {P}.",
        "Az óvodai férőhelyek száma a kistérségben {Y} óta {N}%-kal nőtt.",
        "Az iskolabusz naponta {N} településről szállítja a gyerekeket a körzeti iskolába.",
        "A kisiskolák fenntartása a tanulói létszám csökkenése miatt egyre nehezebb.",
        "A tanoda programban {NB} hátrányos helyzetű diák vesz részt.",
        "Óvodai fejlesztő pedagógus alkalmazását {N} önkormányzat közösen finanszírozza.",
        "Az óvodai férőhelyek bővítése után a várólista megszűnt.",
    ],
    &[
        "A háziorvosi praxisok közül {N} tartósan betöltetlen, helyettesítéssel működik.",
        "A védőnői körzetekben {NB} gyermek és várandós anya gondozása folyik.",
        "A legközelebbi járóbeteg-szakellátó intézmény {S} településről {KM} kilométerre van.",
        "Az egészségfejlesztési iroda szűrőnapjain {NB} fő vett részt.",
        "Az ügyeleti ellátás a kistérség összes településére kiterjed.",
        "A betegszállítás megszervezése a kistelepüléseken különösen nehéz.",
    ],
    &[
        "A falugondnoki szolgálat {N} kistelepülésen biztosítja az idősek bevásárlását és a betegszállítást.",
        "A szociális étkeztetést {NB} fő veszi igénybe, többségük egyedül élő idős ember.",
        "A házi segítségnyújtás iránti igény évről évre nő.",
        "A gyermekjóléti szolgálat esetszáma {YB} {P}-kal nőtt.",
        "A szegregált lakókörnyezetben élők aránya {S} településen a legmagasabb.",
        "A szociális szolgáltatásokat a társulás intézménye egységes szakmai irányítással nyújtja.",
    ],
    &[
        "A nyilvántartott álláskeresők száma {YB} {NB} fő volt a kistérségben.",
        "A közfoglalkoztatási programokban részt vevők aránya a kistelepüléseken meghaladja a {P}-ot.",
        "A foglalkoztatási paktum partnerei vállalták, hogy {NB} álláskeresőt vonnak be képzésbe.",
        "A szociális szövetkezet savanyítóüzemében {N} fő talált tartós munkát.",
        "A tartós munkanélküliség különösen a fiatalok és az alacsony iskolai végzettségűek körében jelentős.",
        "A foglalkoztatási programok eredményessége a helyi vállalkozások bevonásán múlik.",
    ],
    &[
        "A helyi termelők piaca minden szombaton {S} főterén várja a vásárlókat.",
        "Az ipari terület közművesítése után {N} vállalkozás jelezte betelepülési szándékát.",
        "A működő mikrovállalkozások száma {Y} óta lassan növekszik.",
        "A helyi akciócsoport {NF} keretösszeggel támogatja a gazdaságfejlesztési kezdeményezéseket.",
        "A gyümölcsfeldolgozó üzem a térségben termelt alapanyagra épül.",
        "A gazdaságfejlesztési programok a helyi termékek piacra jutását segítik.",
    ],
    &[
        "Az integrált közösségi szolgáltató tér (IKSZT) {S} településen a könyvtár, a teleház és a közösségi ház feladatait egy épületben látja el.",
        "Az IKSZT-ben {YB} {NB} rendezvényt tartottak.",
        "A művelődési ház nyitvatartását a helyi igényekhez igazították.",
        "A könyvtárellátási szolgáltató rendszer {N} kistelepülésen biztosítja a dokumentumellátást.",
        "A falunapok és a hagyományőrző együttesek fellépései erősítik a közösségi összetartozást.",
        "Az integrált közösségi szolgáltató terek a kistelepülések közösségi életének központjai.",
    ],
    &[
        "A felújított sportpályát az iskola és a helyi sportegyesület közösen használja.",
        "A tornaterem hiánya miatt a testnevelésórákat {S} településen a művelődési házban tartják.",
        "A szabadidős sportprogramokon {YB} {NB} fő vett részt.",
        "A kistérségi diákolimpián {N} iskola csapatai mérték össze tudásukat.",
        "A sportlétesítmények fenntartása a kisebb önkormányzatok számára komoly terhet jelent.",
    ],
    &[
        "Az ifjúsági klub hetente {N} alkalommal tart nyitva.",
        "A fiatalok elvándorlása miatt a tizennyolc és harminc év közötti korosztály aránya {P}-ra csökkent.",
        "Az ifjúsági információs pont pályaválasztási tanácsadással segíti a végzős diákokat.",
        "A nyári táborokban {NB} gyermek vett részt.",
        "Az ifjúsági önkormányzatok bevonása növeli a programok iránti érdeklődést.",
    ],
    &[
        "A kerékpáros turizmus fejlesztése a folyó menti települések közös érdeke.",
        "A falusi szálláshelyeken {YB} {NB} vendégéjszakát regisztráltak.",
        "A tanösvény {KM} kilométer hosszan vezet a védett területen.",
        "A turisztikai kínálatot a helyi termékek és a gasztronómiai rendezvények egészítik ki.",
        "A turisztikai fejlesztések a szezon meghosszabbítását célozzák.",
    ],
    &[
        "A kerékpárút {KM} kilométer hosszan köti össze {S} és {S2} településeket.",
        "A bekötőutak állapota miatt a mentő kiérkezési ideje {S} településen a leghosszabb.",
        "A helyközi autóbuszjáratok menetrendjét a munkakezdési időpontokhoz igazították.",
        "A buszmegállók akadálymentesítése {N} településen fejeződött be.",
        "A kerékpárutak hálózata a munkába járást és a turizmust egyaránt szolgálja.",
    ],
    &[
        "A víziközmű-hálózat elöregedett, a vezetékek jelentős része azbesztcement.",
        "A szennyvízcsatorna-hálózatra a lakások {P}-a csatlakozott.",
        "Az illegális hulladéklerakók felszámolására a társulás {NF} összeget különített el.",
        "A közintézmények tetejére telepített napelemek évente {NB} megawattóra villamos energiát termelnek.",
        "A csapadékvíz-elvezető árkok karbantartása az önkormányzatok közös feladata.",
        "A víziközművek üzemeltetése a kistelepülések számára egyre nagyobb terhet jelent.",
    ],
    &[
        "A közös önkormányzati hivatal {N} település igazgatási feladatait látja el.",
        "Az önkormányzatok együttműködését a többcélú kistérségi társulás keretei között szervezik.",
        "A társulási megállapodás módosítását valamennyi képviselő-testület jóváhagyta.",
        "Az ügyfélszolgálati pontokon {YB} {NB} ügyet intéztek.",
        "A járási hivatal kihelyezett ügyfélfogadást tart a kisebb településeken.",
        "Az önkormányzati együttműködés a közös beszerzésekkel jelentős megtakarítást hozott.",
    ],
];

/// The opening sentence of each kind, in [`Kind::ALL`] order.
const OPENINGS: [&[&str]; 10] = [
    &[
        "A stratégia {Y} és {YN} között jelöli ki {K} fejlesztési irányait.",
        "A stratégiai célok: a népességmegtartás, a foglalkoztatás bővítése és a szolgáltatások elérhetőségének javítása.",
    ],
    &[
        "A koncepció a térség hosszú távú fejlesztési elképzeléseit foglalja össze.",
        "A koncepció alapja a {YB} elkészült helyzetfeltárás.",
    ],
    &[
        "A projektterv részletezi a tevékenységeket, a költségeket és a felelősöket.",
        "A tervezett kezdés {Y}, a befejezés {YN}.",
    ],
    &[
        "A projekt {YB} zárult, a fenntartási időszak öt év.",
        "A projekt gesztora: {O}.",
    ],
    &[
        "A tanulmány a KSH és a helyi önkormányzatok adatai alapján készült.",
        "A tanulmány {N} mélyinterjú és {NB} kérdőív feldolgozására épül.",
    ],
    &[
        "Az értékelés a kitűzött célok teljesülését vizsgálja.",
        "Az indikátorok közül {N} teljesült maradéktalanul.",
    ],
    &[
        "A jó gyakorlat más kistérségekben is átvehető.",
        "A kezdeményezés sikerének kulcsa a helyi szereplők bevonása volt.",
    ],
    &[
        "A beszámoló a {Y}. év tevékenységét foglalja össze.",
        "A beszámolót a társulási tanács egyhangúlag elfogadta.",
    ],
    &[
        "Jelen vannak: a tagönkormányzatok polgármesterei, a munkaszervezet vezetője és a jegyzőkönyvvezető.",
        "A társulási tanács {N} igen szavazattal elfogadta a napirendet.",
        "Napirend előtt az elnök tájékoztatta a tagokat {TR} benyújtott pályázat állásáról.",
    ],
    &[
        "A tájékoztató a lakosság és a civil szervezetek számára készült.",
        "További információ a társulás munkaszervezeténél kérhető.",
    ],
];

/// Titles per kind, in [`Kind::ALL`] order.
const TITLES: [&[&str]; 10] = [
    &[
        "{KN} {SA} stratégiája {Y}–{YS}",
        "{KN} integrált területfejlesztési stratégiája",
        "{C} integrált településfejlesztési stratégiája ({Y})",
    ],
    &["{Tn}: fejlesztési koncepció ({S})", "{KN} {SA} koncepciója"],
    &[
        "Projektterv – {Tn} ({S})",
        "{Tn}: részletes projektterv, {Y}",
    ],
    &[
        "{Tn} {S} településen",
        "Projekt-összefoglaló: {Tn} ({S}, {Y})",
    ],
    &[
        "Helyzetfeltáró tanulmány – {KN} ({SN}, {Y})",
        "Megvalósíthatósági tanulmány: {Tn} ({S})",
    ],
    &[
        "Értékelő jelentés: {Tn} ({Y})",
        "{KN} fejlesztési programjának félidei értékelése",
    ],
    &[
        "Jó gyakorlat: {Tn} {S} településen",
        "Jó gyakorlat – {Tn} kistelepülési környezetben",
    ],
    &[
        "Beszámoló {K} {Y}. évi {SA} feladatellátásáról",
        "Éves jelentés – {KN}, {Y}",
    ],
    &[
        "Jegyzőkönyv a Társulási Tanács {Y}. {M} {D}-i üléséről",
        "Jegyzőkönyv – {C} képviselő-testületi ülés, {Y}. {M} {D}.",
    ],
    &["Tájékoztató: {Tn}", "Hírlevél – {KN}, {Y}. {M}"],
];

/// Section headings of the longer kinds.
const HEADINGS: [&str; 6] = [
    "Előzmények",
    "Helyzetelemzés",
    "Célok és prioritások",
    "Beavatkozási területek",
    "Megvalósítás és monitoring",
    "Összegzés",
];

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

const EXTRA_TAGS: [&str; 10] = [
    "pályázat",
    "TOP",
    "EFOP",
    "LEADER",
    "társulás",
    "hátrányos helyzet",
    "esélyegyenlőség",
    "kistelepülés",
    "fenntarthatóság",
    "közösségfejlesztés",
];

/// Kind weights for documents past the first ten, in [`Kind::ALL`] order.
const KIND_WEIGHTS: [u32; 10] = [6, 8, 12, 16, 10, 8, 8, 14, 12, 6];

// ---------------------------------------------------------------------------
// Hungarian helpers

fn starts_with_vowel(word: &str) -> bool {
    word.chars().next().is_some_and(|c| {
        matches!(
            c.to_lowercase().next().unwrap_or(c),
            'a' | 'á' | 'e' | 'é' | 'i' | 'í' | 'o' | 'ó' | 'ö' | 'ő' | 'u' | 'ú' | 'ü' | 'ű'
        )
    })
}

/// The definite article before `word`: `az` before a vowel, else `a`.
fn article(word: &str) -> &'static str {
    if starts_with_vowel(word) { "az" } else { "a" }
}

/// `2015-ben`, `2013-ban`: the inessive suffix follows how the number is
/// read (its last non-zero digit, or its tens).
fn year_inessive(year: i32) -> String {
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
fn grouped(n: u64) -> String {
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
fn capitalise_from(text: &mut String, start: usize) {
    if let Some(c) = text[start..].chars().next()
        && c.is_lowercase()
    {
        let upper: String = c.to_uppercase().collect();
        text.replace_range(start..start + c.len_utf8(), &upper);
    }
}

// ---------------------------------------------------------------------------
// Documents

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

// ---------------------------------------------------------------------------
// Indicators

/// The indicator catalogue: every aggregation rule the federation knows.
pub fn catalogue() -> Vec<CatalogueRow> {
    vec![
        ("nepesseg", "Lakónépesség", "fő", "sum"),
        ("aktiv_nepesseg", "Gazdaságilag aktív népesség", "fő", "sum"),
        ("munkanelkuli", "Nyilvántartott álláskeresők", "fő", "sum"),
        (
            "munkanelkulisegi_rata",
            "Álláskeresők aránya",
            "%",
            "weighted_mean:aktiv_nepesseg",
        ),
        ("kozfoglalkoztatott", "Közfoglalkoztatottak", "fő", "sum"),
        ("ovodai_ferohely", "Óvodai férőhelyek", "db", "sum"),
        ("ovodas_gyermek", "Óvodába beírt gyermekek", "fő", "sum"),
        ("iksz_latogatok", "IKSZT látogatók", "fő", "sum"),
        (
            "atlagjovedelem",
            "Egy főre jutó jövedelem",
            "Ft",
            "weighted_mean:nepesseg",
        ),
        (
            "csatorna_ellatottsag",
            "Közcsatornába bekötött lakások aránya (legkisebb)",
            "%",
            "min",
        ),
        (
            "tavolsag_szekhely",
            "Távolság a kistérség székhelyétől (legnagyobb)",
            "km",
            "max",
        ),
        (
            "komplex_mutato",
            "Komplex fejlettségi mutató",
            "pont",
            "none",
        ),
    ]
}

/// How jobseeker rates moved over the years (2010 = 1), roughly as in the
/// country: falling until 2019, a bump in 2020.
fn jobseeker_curve(year: i32) -> f64 {
    const CURVE: [f64; 15] = [
        1.0, 1.0, 0.95, 0.9, 0.78, 0.7, 0.62, 0.55, 0.5, 0.47, 0.6, 0.55, 0.5, 0.5, 0.52,
    ];
    CURVE[(year - 2010).clamp(0, 14) as usize]
}

/// The share of jobseekers in public works, by year.
fn public_works_share(year: i32) -> f64 {
    match year {
        ..=2012 => 0.2,
        2013..=2016 => 0.45,
        2017..=2019 => 0.35,
        _ => 0.22,
    }
}

fn round_to(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// Observations of every catalogue indicator for every settlement of `k`
/// and every year of `spec.years` (where the indicator applies: villages
/// without a kindergarten or an IKSZT have none). Counts scale with the
/// population, so tiny villages have counts of 0–3. A few `aktiv_nepesseg`
/// values are left out on purpose, so that the rate weighted by it shows
/// the missing-weight flag.
pub fn observations(k: &Kisterseg, spec: &Spec) -> impl Iterator<Item = ObservationRow> + use<> {
    let (first, last) = (*spec.years.start(), *spec.years.end());
    let years: Vec<i32> = (first..=last.max(first)).collect();
    let mut krng = Rng::stream(spec.seed, &[STREAM_KISTERSEG, k.index as u64]);
    let base_rate = krng.between(0.06, 0.16);
    let income_factor = krng.between(0.75, 1.1);

    // Two (settlement, year) pairs without the active population.
    let mut missing: Vec<(usize, i32)> = Vec::new();
    if k.settlements.len() > 1 {
        let later: Vec<i32> = years.iter().copied().filter(|y| *y >= 2015).collect();
        let pool = if later.is_empty() { &years } else { &later };
        for _ in 0..2 {
            let s = 1 + krng.below(k.settlements.len() - 1);
            let y = *krng.pick(pool);
            if !missing.contains(&(s, y)) {
                missing.push((s, y));
            }
        }
    }

    let catalogue = catalogue();
    let mut per_indicator: Vec<Vec<ObservationRow>> = vec![Vec::new(); catalogue.len()];
    let unit_of = |code: &str| catalogue.iter().find(|c| c.0 == code).map_or("", |c| c.2);
    let at = |code: &str| catalogue.iter().position(|c| c.0 == code).unwrap_or(0);

    for (si, settlement) in k.settlements.iter().enumerate() {
        let mut rng = Rng::stream(spec.seed, &[STREAM_OBSERVATION, k.index as u64, si as u64]);
        let population = f64::from(settlement.population.max(1));
        let small = population < 500.0;
        let decline = if small {
            rng.between(0.008, 0.018)
        } else {
            rng.between(0.002, 0.01)
        };
        let active_share = rng.between(0.40, 0.47);
        let rate_factor = if small {
            rng.between(1.0, 1.8)
        } else {
            rng.between(0.6, 1.3)
        };
        let has_kindergarten = population >= 450.0 || (population >= 250.0 && rng.chance(0.3));
        let mut places = ((population * 0.04 / 5.0).round() * 5.0).max(15.0);
        let expansion_year = rng.chance(0.35).then(|| rng.range(2015, 2022) as i32);
        let has_ikszt = si > 0 && (250.0..4_000.0).contains(&population) && rng.chance(0.55);
        let ikszt_from = rng.range(2011, 2014) as i32;
        let visits_per_head = rng.between(1.5, 5.0);
        let income_local = if small {
            rng.between(0.8, 0.95)
        } else {
            rng.between(0.9, 1.1)
        };
        let mut sewer = if si == 0 {
            rng.between(70.0, 90.0)
        } else if small {
            rng.between(0.0, 40.0)
        } else {
            rng.between(30.0, 75.0)
        };
        let sewer_jump = rng.chance(0.4).then(|| rng.range(2012, 2020) as i32);
        let distance = if si == 0 {
            0.0
        } else {
            rng.range(3, 35) as f64
        };
        let index_base = rng.between(0.6, 1.4);

        for &year in &years {
            let period = year.to_string();
            let mut push = |code: &'static str, value: f64| {
                per_indicator[at(code)].push((
                    code,
                    settlement.name.clone(),
                    period.clone(),
                    value,
                    unit_of(code),
                ));
            };
            let noise = rng.between(-0.005, 0.005);
            let people = (population * (1.0 + decline).powi(2024 - year) * (1.0 + noise))
                .round()
                .max(1.0);
            let active = (people * active_share * rng.between(0.98, 1.02)).round();
            let rate = (base_rate * rate_factor * jobseeker_curve(year)).min(0.6);
            let jobseekers = (active * rate * rng.between(0.9, 1.1)).round();
            push("nepesseg", people);
            if !missing.contains(&(si, year)) {
                push("aktiv_nepesseg", active);
            }
            push("munkanelkuli", jobseekers);
            if active > 0.0 {
                push(
                    "munkanelkulisegi_rata",
                    round_to(jobseekers / active * 100.0, 1),
                );
            }
            push(
                "kozfoglalkoztatott",
                (jobseekers * public_works_share(year)).round(),
            );
            if has_kindergarten {
                if expansion_year == Some(year) {
                    places += 25.0;
                }
                push("ovodai_ferohely", places);
                let children = (people * 0.033 * rng.between(0.85, 1.1))
                    .round()
                    .min((places * 1.05).round());
                push("ovodas_gyermek", children);
            }
            if has_ikszt && year >= ikszt_from {
                let covid = if matches!(year, 2020 | 2021) {
                    0.5
                } else {
                    1.0
                };
                push(
                    "iksz_latogatok",
                    (people * visits_per_head * covid * rng.between(0.9, 1.1)).round(),
                );
            }
            let income = 620_000.0
                * income_factor
                * income_local
                * 1.065f64.powi(year - 2010)
                * rng.between(0.98, 1.02);
            push("atlagjovedelem", (income / 1_000.0).round() * 1_000.0);
            if sewer_jump == Some(year) {
                sewer = (sewer + rng.between(25.0, 45.0)).min(97.0);
            }
            sewer = (sewer + rng.between(0.0, 0.8)).min(99.0);
            push("csatorna_ellatottsag", round_to(sewer, 1));
            push("tavolsag_szekhely", distance);
            push(
                "komplex_mutato",
                round_to(index_base + 0.01 * f64::from(year - 2010), 2),
            );
        }
    }
    per_indicator.into_iter().flatten()
}

// ---------------------------------------------------------------------------
// Writers

/// Writes node `k`'s input files into `dir` (created if missing):
/// `dokumentumok.jsonl`, `mutatok.csv` (catalogue) and `adatok.csv`
/// (observations, `;`-separated with decimal commas and digit grouping, as
/// Hungarian spreadsheets export them). The node at index 1 gets its CSV
/// files in Windows-1250, the others UTF-8 with a BOM, so that both
/// encodings reach the importer.
pub fn write_node_files(dir: &Path, k: &Kisterseg, spec: &Spec) -> io::Result<NodeFiles> {
    std::fs::create_dir_all(dir)?;
    let files = NodeFiles {
        documents: dir.join("dokumentumok.jsonl"),
        catalogue: dir.join("mutatok.csv"),
        observations: dir.join("adatok.csv"),
        windows_1250: k.index == 1,
    };

    let mut out = BufWriter::new(std::fs::File::create(&files.documents)?);
    for doc in documents(k, spec, k.index) {
        serde_json::to_writer(&mut out, &doc)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;

    let mut text = String::from("code,name,unit,aggregation\n");
    for (code, name, unit, aggregation) in catalogue() {
        let _ = writeln!(
            text,
            "{},{},{},{}",
            csv_field(code, ','),
            csv_field(name, ','),
            csv_field(unit, ','),
            csv_field(aggregation, ',')
        );
    }
    write_table(&files.catalogue, &text, files.windows_1250)?;

    let mut text = String::from("mutató;település;időszak;érték;mértékegység\n");
    for (indicator, settlement, period, value, unit) in observations(k, spec) {
        let _ = writeln!(
            text,
            "{indicator};{};{period};{};{}",
            csv_field(&settlement, ';'),
            hungarian_number(value),
            csv_field(unit, ';')
        );
    }
    write_table(&files.observations, &text, files.windows_1250)?;
    Ok(files)
}

/// A number as a Hungarian spreadsheet writes it: `28 450`, `12,4`.
fn hungarian_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        let n = value.abs() as u64;
        let sign = if value < 0.0 { "-" } else { "" };
        if n >= 1_000 {
            format!("{sign}{}", grouped(n))
        } else {
            format!("{sign}{n}")
        }
    } else {
        // At most two decimals are generated; trailing zeros are dropped.
        let text = format!("{value:.2}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        text.replace('.', ",")
    }
}

/// Quotes a CSV field if it holds the delimiter, a quote or a line break.
fn csv_field(text: &str, delimiter: char) -> String {
    if text.contains(delimiter) || text.contains('"') || text.contains('\n') {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn write_table(path: &Path, text: &str, windows_1250: bool) -> io::Result<()> {
    let bytes = if windows_1250 {
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1250.encode(text);
        if unmappable {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: text not representable in Windows-1250", path.display()),
            ));
        }
        bytes.into_owned()
    } else {
        let mut bytes = Vec::with_capacity(text.len() + 3);
        bytes.extend_from_slice(b"\xEF\xBB\xBF");
        bytes.extend_from_slice(text.as_bytes());
        bytes
    };
    std::fs::write(path, bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn small(seed: u64) -> Spec {
        Spec {
            nodes: 3,
            seed,
            docs_per_node: 40,
            mean_words: 120,
            ..Spec::default()
        }
    }

    fn corpus(spec: &Spec) -> Vec<Value> {
        kistersegek(spec)
            .iter()
            .flat_map(|k| documents(k, spec, k.index).collect::<Vec<_>>())
            .collect()
    }

    fn files_bytes(spec: &Spec) -> Vec<Vec<u8>> {
        let dir = tempfile::tempdir().unwrap();
        let mut out = Vec::new();
        for k in kistersegek(spec) {
            let files = write_node_files(&dir.path().join(&k.slug), &k, spec).unwrap();
            for path in [files.documents, files.catalogue, files.observations] {
                out.push(std::fs::read(path).unwrap());
            }
        }
        out
    }

    #[test]
    fn the_same_seed_gives_byte_identical_files() {
        assert_eq!(files_bytes(&small(7)), files_bytes(&small(7)));
    }

    #[test]
    fn different_seeds_differ() {
        let a = corpus(&small(1));
        let b = corpus(&small(2));
        assert_eq!(a.len(), b.len());
        let same = a.iter().zip(&b).filter(|(x, y)| x == y).count();
        assert_eq!(same, 0, "every document differs between seeds");
        let oa: Vec<_> = observations(&kistersegek(&small(1))[0], &small(1)).collect();
        let ob: Vec<_> = observations(&kistersegek(&small(2))[0], &small(2)).collect();
        assert_ne!(oa, ob);
    }

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

    #[test]
    fn kistersegek_have_real_names_small_villages_and_unique_slugs() {
        let spec = Spec {
            nodes: 30,
            ..Spec::default()
        };
        let all = kistersegek(&spec);
        assert_eq!(all.len(), 30);
        assert_eq!(all[0].display_name, "Edelényi kistérség");
        assert!(all[0].settlements.iter().any(|s| s.name == "Galvács"));
        let slugs: HashSet<&str> = all.iter().map(|k| k.slug.as_str()).collect();
        assert_eq!(slugs.len(), all.len());
        for k in &all {
            tudashalo_node::config::validate_slug(&k.slug).unwrap();
            assert!((5..=12).contains(&k.settlements.len()), "{}", k.slug);
            assert!(k.display_name.ends_with(" kistérség"));
        }
        let first: Vec<_> = all.iter().take(12).collect();
        assert!(
            first
                .iter()
                .flat_map(|k| &k.settlements)
                .filter(|s| s.population < 100)
                .count()
                >= 5,
            "tiny villages"
        );
        // Names do not depend on the seed.
        let other = kistersegek(&Spec { seed: 99, ..spec });
        assert_eq!(all, other);
    }

    #[test]
    fn observations_cover_every_settlement_and_year_with_small_counts_and_gaps() {
        let spec = Spec::default();
        let k = &kistersegek(&spec)[0];
        let rows: Vec<ObservationRow> = observations(k, &spec).collect();
        let codes: HashSet<&str> = catalogue().iter().map(|c| c.0).collect();
        for (code, _, _, _, unit) in &rows {
            assert!(codes.contains(code));
            assert!(catalogue().iter().any(|c| c.0 == *code && c.2 == *unit));
        }
        for s in &k.settlements {
            for year in 2010..=2024 {
                let period = year.to_string();
                assert!(
                    rows.iter()
                        .any(|r| r.0 == "munkanelkuli" && r.1 == s.name && r.2 == period),
                    "{} {year}",
                    s.name
                );
            }
        }
        assert!(
            rows.iter()
                .any(|r| r.0 == "munkanelkuli" && (1.0..=2.0).contains(&r.3)),
            "small villages have one or two jobseekers"
        );
        let with_rate = rows
            .iter()
            .filter(|r| r.0 == "munkanelkulisegi_rata")
            .count();
        let with_weight = rows.iter().filter(|r| r.0 == "aktiv_nepesseg").count();
        assert!(with_weight < with_rate, "some weights are missing");
        assert!(with_rate - with_weight <= 2);
        let aggregations: HashSet<&str> = catalogue()
            .iter()
            .map(|c| c.3.split(':').next().unwrap())
            .collect();
        for rule in ["sum", "weighted_mean", "min", "max", "none"] {
            assert!(aggregations.contains(rule), "{rule}");
        }
    }

    #[test]
    fn written_tables_import_cleanly_in_both_encodings() {
        use tudashalo_core::model::Catalogue;
        use tudashalo_node::import::{Encoding, parse_catalogue, parse_observations};
        let spec = Spec {
            nodes: 2,
            docs_per_node: 5,
            ..Spec::default()
        };
        let dir = tempfile::tempdir().unwrap();
        for k in kistersegek(&spec) {
            let files = write_node_files(&dir.path().join(&k.slug), &k, &spec).unwrap();
            let bytes = std::fs::read(&files.catalogue).unwrap();
            assert_eq!(std::str::from_utf8(&bytes).is_err(), files.windows_1250);
            let parsed =
                parse_catalogue("mutatok.csv", &bytes, Encoding::Auto, &Catalogue::new()).unwrap();
            assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
            let catalogue: Catalogue = parsed
                .records
                .into_iter()
                .map(|(_, i)| (i.code.clone(), i))
                .collect();
            let bytes = std::fs::read(&files.observations).unwrap();
            let parsed =
                parse_observations("adatok.csv", &bytes, Encoding::Auto, &catalogue).unwrap();
            assert!(parsed.rejected.is_empty(), "{:?}", &parsed.rejected[..1]);
            let expected: Vec<ObservationRow> = observations(&k, &spec).collect();
            assert_eq!(parsed.records.len(), expected.len());
            for ((_, got), want) in parsed.records.iter().zip(&expected) {
                assert_eq!(got.settlement, want.1);
                assert_eq!(got.value, want.3, "{want:?}");
            }
        }
    }

    #[test]
    fn hungarian_helpers() {
        assert_eq!(year_inessive(2015), "2015-ben");
        assert_eq!(year_inessive(2013), "2013-ban");
        assert_eq!(year_inessive(2020), "2020-ban");
        assert_eq!(year_inessive(2010), "2010-ben");
        assert_eq!(year_inessive(2000), "2000-ben");
        assert_eq!(grouped(28_450), "28 450");
        assert_eq!(grouped(999), "999");
        assert_eq!(hungarian_number(1_234_000.0), "1 234 000");
        assert_eq!(hungarian_number(12.4), "12,4");
        assert_eq!(hungarian_number(0.95), "0,95");
        assert_eq!(article("óvodai"), "az");
        assert_eq!(article("kerékpárút"), "a");
        assert_eq!(fold("Őriszentpéteri"), "oriszentpeteri");
        let t = &TOPICS[0];
        assert_eq!(t.accusative, "az óvodai férőhelyek bővítését");
        assert_eq!(t.sublative, "az óvodai férőhelyek bővítésére");
        let r = TOPICS
            .iter()
            .find(|t| t.bare.ends_with("rekonstrukciója"))
            .unwrap();
        assert_eq!(r.accusative, "a víziközmű-hálózat rekonstrukcióját");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod speed {
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
