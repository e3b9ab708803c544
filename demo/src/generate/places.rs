//! The kistérségek of the sample federation and their settlements.
//!
//! The first fourteen are real, with approximate populations; beyond them
//! names are invented from Hungarian word parts. Names, slugs and
//! populations depend only on the position, never on the seed, so that a
//! node keeps its name (and its data folder) across seeds. Slugs are unique
//! and valid node names.

use super::rng::{Rng, STREAM_NAMES};
use super::{Kisterseg, Settlement, Spec};

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
pub(super) fn fold(text: &str) -> String {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::HashSet;

    use super::*;

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
    fn folding_names_to_slugs() {
        assert_eq!(fold("Őriszentpéteri"), "oriszentpeteri");
    }
}
