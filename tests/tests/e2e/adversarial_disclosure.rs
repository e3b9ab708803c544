//! Differencing attacks on published aggregates, as a national statistician
//! holding an ordinary `national` certificate would try them: ask the same
//! totals cut two ways and subtract. Every answer comes from real nodes and
//! hubs over real mTLS; the confidential values the attacker must not learn
//! are computed here from the raw rows.
//!
//! The guarantee under test (THREAT_MODEL.md, "Disclosure"): published cells
//! are whole units (settlement, kistérség, region, nation) of one period,
//! whatever the request's `settlements`, period range, `totals` or
//! `members`; a unit's status is the same in every answer; and no
//! confidential value equals a published value or the difference of two or
//! three published values of the same indicator and period.

use std::collections::{BTreeMap, BTreeSet};

use tudashalo_pki::Role;
use tudashalo_proto::pb;

use super::aggregate::{CATALOGUE, csv_bytes, expected_sum, members, raw, request, setup};
use super::support::{
    FIXTURE_POLICY, Files, NodeDir, Pki, TestHub, TestNode, client_as, guard, import,
};

/// An answer, or the refusal.
async fn ask(
    url: &str,
    pki: &Pki,
    role: Role,
    request: pb::AggregateRequest,
) -> Result<Vec<pb::Cell>, tonic::Status> {
    let mut client = client_as(url, pki, "ksh", role).await;
    let mut stream = guard("aggregate", client.aggregate(request))
        .await?
        .into_inner();
    let mut cells = Vec::new();
    while let Some(chunk) = guard("chunk", stream.message()).await? {
        cells.extend(chunk.cells);
    }
    Ok(cells)
}

async fn national(url: &str, pki: &Pki, request: pb::AggregateRequest) -> Vec<pb::Cell> {
    ask(url, pki, Role::National, request)
        .await
        .expect("the national role may aggregate at kistérség level")
}

/// A published value with where it came from, for the messages.
#[derive(Debug, Clone)]
struct Seen {
    value: f64,
    what: String,
}

/// Everything an attacker has collected, by (indicator, period).
#[derive(Debug, Default)]
struct Attacker {
    published: BTreeMap<(String, String), Vec<Seen>>,
}

impl Attacker {
    fn collect(&mut self, answer: &str, cells: &[pb::Cell]) {
        for c in cells {
            if let Some(value) = c.value {
                self.published
                    .entry((c.indicator.clone(), c.period.clone()))
                    .or_default()
                    .push(Seen {
                        value,
                        what: format!(
                            "{answer}: {}/{}/{}/{}",
                            c.region, c.kisterseg, c.settlement, c.period
                        ),
                    });
            }
        }
    }

    /// Fails if `secret` equals a published value, or the difference of
    /// two, or a value minus two others, of the same indicator and period;
    /// and if nothing of that indicator and period was published (the
    /// attack would not have been tried).
    fn cannot_learn(&self, indicator: &str, period: &str, secret: f64, name: &str) {
        let seen = self
            .published
            .get(&(indicator.to_string(), period.to_string()))
            .unwrap_or_else(|| {
                panic!("nothing of {indicator} {period} was published: no attack on {name}")
            });
        let hit = |v: f64| (v - secret).abs() <= 1e-6 * secret.abs().max(1.0);
        for a in seen {
            assert!(
                !hit(a.value),
                "{name} = {secret} is published as {}",
                a.what
            );
            for b in seen {
                assert!(
                    !hit(a.value - b.value),
                    "{name} = {secret} is {} − {}",
                    a.what,
                    b.what
                );
                for c in seen {
                    assert!(
                        !hit(a.value - b.value - c.value),
                        "{name} = {secret} is {} − {} − {}",
                        a.what,
                        b.what,
                        c.what
                    );
                }
            }
        }
    }
}

/// The raw value of one settlement.
fn settlement_value(node: &str, settlement: &str, period: &str, indicator: &str) -> f64 {
    raw()[node]
        .iter()
        .filter(|(s, p, i, _)| *s == settlement && *p == period && *i == indicator)
        .map(|r| r.3)
        .sum()
}

fn settlements_of(node: &str) -> Vec<&'static str> {
    let set: BTreeSet<&'static str> = raw()[node].iter().map(|r| r.0).collect();
    set.into_iter().collect()
}

fn cell<'a>(cells: &'a [pb::Cell], period: &str, kisterseg: &str) -> &'a pb::Cell {
    cells
        .iter()
        .find(|c| c.period == period && c.kisterseg == kisterseg)
        .unwrap_or_else(|| panic!("no cell {period} {kisterseg:?} in {cells:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settlement_filter_never_narrows_a_kisterseg_total() {
    let s = setup().await;
    let regio = TestHub::start(&s.pki, "regio", &members(&s.nodes)).await;
    let beta = &s.nodes[1];
    let mut attacker = Attacker::default();
    let all = settlements_of("beta");
    for url in [beta.url.as_str(), regio.url.as_str()] {
        // The total over every settlement, then over all but each one in
        // turn: with the filter narrowing the total, each difference was
        // that settlement's exact population.
        let whole = national(
            url,
            &s.pki,
            request(&["nepesseg"], &["kisterseg", "period"]),
        )
        .await;
        let reference = cell(&whole, "2020", "beta").clone();
        assert_eq!(reference.n, 4);
        attacker.collect("all settlements", &whole);
        for left_out in &all {
            let mut r = request(&["nepesseg"], &["kisterseg", "period"]);
            r.settlements = all
                .iter()
                .filter(|s| *s != left_out)
                .map(|s| s.to_string())
                .collect();
            let cut = national(url, &s.pki, r).await;
            let total = cell(&cut, "2020", "beta");
            assert_eq!(
                (total.value, total.n, total.status.as_str()),
                (reference.value, reference.n, reference.status.as_str()),
                "without {left_out} at {url}"
            );
            attacker.collect(&format!("without {left_out}"), &cut);
        }
    }
    for settlement in &all {
        for period in ["2020", "2021"] {
            attacker.cannot_learn(
                "nepesseg",
                period,
                settlement_value("beta", settlement, period, "nepesseg"),
                settlement,
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn period_ranges_choose_periods_and_never_add_them_up() {
    let s = setup().await;
    let regio = TestHub::start(&s.pki, "regio", &members(&s.nodes)).await;
    for url in [s.nodes[1].url.as_str(), regio.url.as_str()] {
        let per_period = national(
            url,
            &s.pki,
            request(&["nepesseg"], &["kisterseg", "period"]),
        )
        .await;
        for (from, to) in [("2020", "2021"), ("2021", "2021"), ("2020", "2020")] {
            // Not grouped by period: a sum over the range would let two
            // ranges be subtracted. The answer is per period instead.
            let mut r = request(&["nepesseg"], &["kisterseg"]);
            r.period_from = from.into();
            r.period_to = to.into();
            let cells = national(url, &s.pki, r).await;
            assert!(!cells.is_empty());
            for c in &cells {
                assert!(
                    c.period.as_str() >= from && c.period.as_str() <= to,
                    "a cell outside {from}–{to}, or over several periods: {c:?}"
                );
                let same = cell(&per_period, &c.period, &c.kisterseg);
                assert_eq!(
                    (c.value, c.status.as_str()),
                    (same.value, same.status.as_str())
                );
            }
        }
    }
}

/// (indicator, period, unit).
type UnitKey = (String, String, String);
/// (status, value, the answer that said so).
type Verdict = (String, Option<f64>, String);

/// Every unit's status is the same in every answer: at the node, through
/// the hub with and without totals, as a region cell and as a total.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_has_one_status_in_every_answer_and_suppression_moves_up() {
    let s = setup().await;
    let regio = TestHub::start(&s.pki, "regio", &members(&s.nodes)).await;
    let indicators = ["nepesseg", "munkanelkuli", "rata", "ferohely"];
    let mut status: BTreeMap<UnitKey, Verdict> = BTreeMap::new();
    let mut attacker = Attacker::default();
    let mut record = |answer: &str, cells: &[pb::Cell], unit: &dyn Fn(&pb::Cell) -> String| {
        attacker.collect(answer, cells);
        for c in cells {
            let key = (c.indicator.clone(), c.period.clone(), unit(c));
            let seen = (c.status.clone(), c.value, answer.to_string());
            if let Some(before) = status.get(&key) {
                assert_eq!(
                    (&before.0, before.1),
                    (&seen.0, seen.1),
                    "unit {key:?}: {} says {:?}, {} says {:?}",
                    before.2,
                    (&before.0, before.1),
                    seen.2,
                    (&seen.0, seen.1)
                );
            } else {
                status.insert(key, seen);
            }
        }
    };
    for node in &s.nodes {
        let cells = national(
            &node.url,
            &s.pki,
            request(&indicators, &["kisterseg", "period"]),
        )
        .await;
        record(&format!("node {}", node.name), &cells, &|c| {
            c.kisterseg.clone()
        });
    }
    for totals in [false, true] {
        let mut r = request(&indicators, &["kisterseg", "period"]);
        r.totals = totals;
        let cells = national(&regio.url, &s.pki, r).await;
        record(&format!("hub, totals {totals}"), &cells, &|c| {
            if c.kisterseg == "_T" {
                "regio".into()
            } else {
                c.kisterseg.clone()
            }
        });
    }
    for by in [&["region", "period"][..], &["period"][..]] {
        let cells = national(&regio.url, &s.pki, request(&indicators, by)).await;
        record(&format!("hub by {by:?}"), &cells, &|_| "regio".into());
    }
    // Suppression never goes sideways: a region with exactly one kistérség
    // that is not free is never free itself.
    let mut one_hidden = 0;
    for indicator in indicators {
        for period in ["2020", "2021"] {
            let of = |unit: &str| {
                status
                    .get(&(indicator.to_string(), period.to_string(), unit.to_string()))
                    .map(|s| s.0.clone())
            };
            let hidden = ["alfa", "beta", "gamma"]
                .iter()
                .filter(|k| of(k).is_some_and(|s| s != "F"))
                .count();
            if hidden == 1 {
                one_hidden += 1;
                assert_ne!(
                    of("regio").as_deref(),
                    Some("F"),
                    "{indicator} {period}: the region reveals its one hidden kistérség"
                );
            }
        }
    }
    assert!(
        one_hidden > 0,
        "the fixture hides exactly one kistérség somewhere: {status:?}"
    );
    // No confidential kistérség is published or recoverable.
    let mut attacked = 0;
    for ((indicator, period, unit), (st, _, _)) in &status {
        if st != "F" && unit != "regio" && indicator != "rata" {
            attacked += 1;
            attacker.cannot_learn(
                indicator,
                period,
                expected_sum(&[unit], indicator, period),
                unit,
            );
        }
    }
    assert!(
        attacked > 0,
        "no confidential kistérség to attack: {status:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_filter_cannot_cut_a_total_out_of_the_region() {
    let s = setup().await;
    let regio = TestHub::start(&s.pki, "regio", &members(&s.nodes)).await;
    // The region without gamma, to subtract from the whole region.
    for by in [&["period"][..], &["region", "period"][..]] {
        let mut r = request(&["nepesseg"], by);
        r.members = vec!["alfa".into(), "beta".into()];
        let refused = ask(&regio.url, &s.pki, Role::National, r)
            .await
            .expect_err("two of three members are not a whole unit");
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused}");
        assert!(refused.message().contains("whole units"), "{refused}");
    }
    // Kistérség cells of the chosen members are whole units: allowed, and
    // the same as in the unfiltered answer.
    let mut r = request(&["nepesseg"], &["kisterseg", "period"]);
    r.members = vec!["beta".into()];
    let cells = national(&regio.url, &s.pki, r).await;
    let all = national(
        &regio.url,
        &s.pki,
        request(&["nepesseg"], &["kisterseg", "period"]),
    )
    .await;
    assert!(cells.iter().all(|c| c.kisterseg == "beta"), "{cells:#?}");
    for c in &cells {
        assert_eq!(c.value, cell(&all, &c.period, "beta").value);
    }
}

/// A node whose `[disclosure]` asks for five contributors: its kistérség of
/// four settlements is confidential at the node, and must be through the
/// hub too (the hub used to apply only the defaults).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nodes_stricter_rules_bind_what_the_hub_publishes() {
    let pki = Pki::new();
    let strict = format!("{FIXTURE_POLICY}\n[disclosure]\nmin_contributors = 5\n");
    let folder = NodeDir::init_with_policy("beta", &strict);
    let node = folder.open();
    let files = Files::new();
    assert_eq!(
        import(&node, &files.write("katalogus.csv", CATALOGUE)).rejected,
        0
    );
    assert_eq!(
        import(
            &node,
            &files.write("adatok.csv", csv_bytes(&raw()["beta"], false))
        )
        .rejected,
        0
    );
    let beta = TestNode::serve("beta", folder.dir, node, &pki.material("beta", Role::Node)).await;
    let alfa = super::aggregate::node(&pki, "alfa", false).await;
    let regio = TestHub::start(
        &pki,
        "regio",
        &[("alfa", alfa.url.as_str()), ("beta", beta.url.as_str())],
    )
    .await;
    let at_node = national(
        &beta.url,
        &pki,
        request(&["nepesseg"], &["kisterseg", "period"]),
    )
    .await;
    let c = cell(&at_node, "2020", "beta");
    assert_eq!((c.status.as_str(), c.value), ("C", None), "{c:?}");
    assert!(c.flags.iter().any(|f| f == "threshold"));
    let at_hub = national(
        &regio.url,
        &pki,
        request(&["nepesseg"], &["kisterseg", "period"]),
    )
    .await;
    let c = cell(&at_hub, "2020", "beta");
    assert_eq!((c.status.as_str(), c.value), ("C", None), "{c:?}");
    assert!(c.flags.iter().any(|f| f == "threshold"), "{c:?}");
}
