//! Aggregates at node, hub and hub of hubs, checked against values computed
//! here, independently, from the raw CSV text; disclosure control; partial
//! answers; the pull formats.

use std::collections::BTreeMap;

use tudashalo_hub::pull::{Format, PullArgs};
use tudashalo_pki::Role;
use tudashalo_proto::pb::{self, MemberState};

use super::support::{Files, NodeDir, Pki, TestHub, TestNode, client_as, guard, import};

pub(super) const CATALOGUE: &str = "code,name,unit,aggregation
nepesseg,Lakónépesség,fő,sum
munkanelkuli,Nyilvántartott álláskeresők,fő,sum
rata,Álláskeresők aránya,%,weighted_mean:nepesseg
ferohely,Óvodai férőhelyek,db,sum
legkisebb,Legkisebb háztartás,fő,min
";

/// Raw observations per node: (settlement, period, indicator, value).
pub(super) fn raw() -> BTreeMap<&'static str, Vec<(&'static str, &'static str, &'static str, f64)>>
{
    let mut m = BTreeMap::new();
    m.insert(
        "alfa",
        vec![
            ("Edelény", "2020", "nepesseg", 10_000.0),
            ("Szendrő", "2020", "nepesseg", 4_000.0),
            ("Abod", "2020", "nepesseg", 200.0),
            ("Galvács", "2020", "nepesseg", 90.0),
            ("Edelény", "2021", "nepesseg", 9_900.0),
            ("Szendrő", "2021", "nepesseg", 3_950.0),
            ("Abod", "2021", "nepesseg", 195.0),
            // Galvács 2021 population is missing: its rate has no weight.
            ("Edelény", "2020", "munkanelkuli", 800.0),
            ("Szendrő", "2020", "munkanelkuli", 350.0),
            ("Abod", "2020", "munkanelkuli", 12.0),
            ("Galvács", "2020", "munkanelkuli", 2.0),
            ("Edelény", "2020", "rata", 8.0),
            ("Szendrő", "2020", "rata", 8.75),
            ("Abod", "2020", "rata", 6.0),
            ("Galvács", "2020", "rata", 2.2),
            ("Edelény", "2021", "rata", 7.5),
            ("Szendrő", "2021", "rata", 8.1),
            ("Abod", "2021", "rata", 5.5),
            ("Galvács", "2021", "rata", 2.0),
            // Edelény dominates the kindergarten places of the kistérség.
            ("Edelény", "2020", "ferohely", 950.0),
            ("Szendrő", "2020", "ferohely", 30.0),
            ("Abod", "2020", "ferohely", 10.0),
            ("Galvács", "2020", "ferohely", 5.0),
        ],
    );
    m.insert(
        "beta",
        vec![
            ("Kistelek", "2020", "nepesseg", 7_000.0),
            ("Balástya", "2020", "nepesseg", 3_300.0),
            ("Csengele", "2020", "nepesseg", 1_900.0),
            ("Pusztaszer", "2020", "nepesseg", 1_400.0),
            ("Kistelek", "2021", "nepesseg", 6_950.0),
            ("Balástya", "2021", "nepesseg", 3_280.0),
            ("Csengele", "2021", "nepesseg", 1_880.0),
            ("Pusztaszer", "2021", "nepesseg", 1_390.0),
            ("Kistelek", "2020", "munkanelkuli", 420.0),
            ("Balástya", "2020", "munkanelkuli", 160.0),
            ("Csengele", "2020", "munkanelkuli", 95.0),
            ("Pusztaszer", "2020", "munkanelkuli", 70.0),
            ("Kistelek", "2020", "rata", 6.0),
            ("Balástya", "2020", "rata", 4.85),
            ("Csengele", "2020", "rata", 5.0),
            ("Pusztaszer", "2020", "rata", 5.0),
            ("Kistelek", "2021", "rata", 5.8),
            ("Balástya", "2021", "rata", 4.6),
            ("Csengele", "2021", "rata", 4.9),
            ("Pusztaszer", "2021", "rata", 4.7),
            ("Kistelek", "2020", "ferohely", 300.0),
            ("Balástya", "2020", "ferohely", 150.0),
            ("Csengele", "2020", "ferohely", 90.0),
            ("Pusztaszer", "2020", "ferohely", 60.0),
        ],
    );
    m.insert(
        "gamma",
        vec![
            // Only two settlements: every kistérség cell is below the threshold.
            ("Szécsény", "2020", "nepesseg", 5_800.0),
            ("Nógrádszakál", "2020", "nepesseg", 600.0),
            ("Szécsény", "2021", "nepesseg", 5_750.0),
            ("Nógrádszakál", "2021", "nepesseg", 590.0),
            ("Szécsény", "2020", "munkanelkuli", 300.0),
            ("Nógrádszakál", "2020", "munkanelkuli", 40.0),
            ("Szécsény", "2020", "rata", 5.2),
            ("Nógrádszakál", "2020", "rata", 6.7),
            ("Szécsény", "2021", "rata", 5.0),
            ("Nógrádszakál", "2021", "rata", 6.4),
            ("Szécsény", "2020", "ferohely", 200.0),
            ("Nógrádszakál", "2020", "ferohely", 25.0),
        ],
    );
    m
}

/// The observations of one node as a Hungarian export: `;`, decimal comma,
/// and (for one node) Windows-1250.
pub(super) fn csv_bytes(rows: &[(&str, &str, &str, f64)], windows_1250: bool) -> Vec<u8> {
    let units: BTreeMap<&str, &str> = [
        ("nepesseg", "fő"),
        ("munkanelkuli", "fő"),
        ("rata", "%"),
        ("ferohely", "db"),
    ]
    .into_iter()
    .collect();
    let mut text = String::from("Mutató;Település;Időszak;Érték;Mértékegység\n");
    for (settlement, period, indicator, value) in rows {
        let value = format!("{value}").replace('.', ",");
        text.push_str(&format!(
            "{indicator};{settlement};{period};{value};{}\n",
            units[indicator]
        ));
    }
    if windows_1250 {
        encoding_rs::WINDOWS_1250.encode(&text).0.into_owned()
    } else {
        text.into_bytes()
    }
}

/// The expected values, computed from the raw rows alone.
pub(super) fn expected_sum(nodes: &[&str], indicator: &str, period: &str) -> f64 {
    let raw = raw();
    nodes
        .iter()
        .flat_map(|n| raw[n].iter())
        .filter(|(_, p, i, _)| *i == indicator && *p == period)
        .map(|(_, _, _, v)| v)
        .sum()
}

fn expected_weighted_mean(nodes: &[&str], indicator: &str, weight: &str, period: &str) -> f64 {
    let raw = raw();
    let rows: Vec<_> = nodes.iter().flat_map(|n| raw[n].iter()).collect();
    let (mut num, mut den) = (0.0, 0.0);
    for (s, p, i, v) in &rows {
        if *i == indicator && *p == period {
            let w = rows
                .iter()
                .find(|(s2, p2, i2, _)| s2 == s && p2 == p && *i2 == weight)
                .map(|r| r.3)
                .expect("fixture has the weight");
            num += v * w;
            den += w;
        }
    }
    num / den
}

/// A node with the catalogue and its observations imported, served.
pub(super) async fn node(pki: &Pki, name: &str, windows_1250: bool) -> TestNode {
    let folder = NodeDir::init(name);
    let node = folder.open();
    let files = Files::new();
    let report = import(&node, &files.write("katalogus.csv", CATALOGUE));
    assert_eq!(report.rejected, 0, "{:?}", report.rejections);
    let report = import(
        &node,
        &files.write("adatok.csv", csv_bytes(&raw()[name], windows_1250)),
    );
    assert_eq!(report.rejected, 0, "{:?}", report.rejections);
    let tls = pki.material(name, Role::Node);
    TestNode::serve(name, folder.dir, node, &tls).await
}

pub(super) async fn aggregate(
    url: &str,
    pki: &Pki,
    request: pb::AggregateRequest,
) -> (Vec<pb::Cell>, Vec<pb::MemberStatus>) {
    let mut client = client_as(url, pki, "ksh", Role::Operator).await;
    let mut stream = guard("aggregate", client.aggregate(request))
        .await
        .expect("aggregate")
        .into_inner();
    let mut cells = Vec::new();
    let mut members = Vec::new();
    while let Some(chunk) = guard("chunk", stream.message()).await.expect("chunk") {
        cells.extend(chunk.cells);
        members.extend(chunk.members);
    }
    (cells, members)
}

pub(super) fn request(indicators: &[&str], by: &[&str]) -> pb::AggregateRequest {
    pb::AggregateRequest {
        indicators: indicators.iter().map(|s| s.to_string()).collect(),
        group_by: by.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

fn find<'a>(cells: &'a [pb::Cell], indicator: &str, period: &str, kisterseg: &str) -> &'a pb::Cell {
    cells
        .iter()
        .find(|c| c.indicator == indicator && c.period == period && c.kisterseg == kisterseg)
        .unwrap_or_else(|| panic!("no cell {indicator} {period} {kisterseg:?} in {cells:#?}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

pub(super) struct Setup {
    pub(super) pki: Pki,
    pub(super) nodes: Vec<TestNode>,
}

pub(super) async fn setup() -> Setup {
    let pki = Pki::new();
    let mut nodes = Vec::new();
    for (name, cp1250) in [("alfa", false), ("beta", true), ("gamma", false)] {
        nodes.push(node(&pki, name, cp1250).await);
    }
    Setup { pki, nodes }
}

pub(super) fn members(nodes: &[TestNode]) -> Vec<(&str, &str)> {
    nodes
        .iter()
        .map(|n| (n.name.as_str(), n.url.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sums_and_weighted_means_match_the_raw_files_at_node_hub_and_hub_of_hubs() {
    let s = setup().await;
    // Node level, asked directly.
    let (cells, _) = aggregate(
        &s.nodes[1].url,
        &s.pki,
        request(&["nepesseg", "munkanelkuli"], &["kisterseg", "period"]),
    )
    .await;
    let c = find(&cells, "nepesseg", "2020", "beta");
    assert_eq!(c.status, "F");
    assert!(close(
        c.value.expect("value"),
        expected_sum(&["beta"], "nepesseg", "2020")
    ));
    assert_eq!(c.n, 4);

    // Hub level: kistérség by period, and the region as a whole.
    let regio = TestHub::start(&s.pki, "regio", &members(&s.nodes)).await;
    let (cells, statuses) = aggregate(
        &regio.url,
        &s.pki,
        request(&["nepesseg", "rata"], &["kisterseg", "period"]),
    )
    .await;
    assert!(
        statuses.iter().all(|m| m.state == MemberState::Ok as i32),
        "{statuses:?}"
    );
    let c = find(&cells, "nepesseg", "2020", "beta");
    assert!(
        close(
            c.value.expect("value"),
            expected_sum(&["beta"], "nepesseg", "2020")
        ),
        "{c:?}"
    );
    assert_eq!(c.contributors, ["beta"]);
    // Edelény and Szendrő hold 98 % of alfa's population: dominance.
    let dominated = find(&cells, "nepesseg", "2020", "alfa");
    assert_eq!((dominated.status.as_str(), dominated.value), ("C", None));
    let rate = find(&cells, "rata", "2020", "beta");
    assert!(close(
        rate.value.expect("value"),
        expected_weighted_mean(&["beta"], "rata", "nepesseg", "2020")
    ));

    let (cells, _) = aggregate(
        &regio.url,
        &s.pki,
        request(&["nepesseg", "rata"], &["region", "period"]),
    )
    .await;
    let all = ["alfa", "beta", "gamma"];
    let total = cells
        .iter()
        .find(|c| c.indicator == "nepesseg" && c.period == "2020")
        .expect("cell");
    assert_eq!(total.region, "regio");
    assert!(close(
        total.value.expect("value"),
        expected_sum(&all, "nepesseg", "2020")
    ));
    assert_eq!(total.n, 10);
    // gamma's rate (two settlements) is confidential and the only hidden
    // kistérség of the region: the region's rate would reveal it, so it is
    // suppressed (upwards, never a free sibling such as beta).
    let rate = cells
        .iter()
        .find(|c| c.indicator == "rata" && c.period == "2020")
        .expect("cell");
    assert_eq!((rate.status.as_str(), rate.value), ("D", None), "{rate:?}");
    assert!(rate.flags.iter().any(|f| f == "secondary"));

    // Hub of hubs: two regional hubs under a national one, which they trust
    // as their parent (it gets their partials).
    let north =
        TestHub::with_parents(&s.pki, "north", &members(&s.nodes[..2]), &["orszagos"]).await;
    let south =
        TestHub::with_parents(&s.pki, "south", &members(&s.nodes[2..]), &["orszagos"]).await;
    let national = TestHub::start(
        &s.pki,
        "orszagos",
        &[("north", north.url.as_str()), ("south", south.url.as_str())],
    )
    .await;
    let (cells, statuses) = aggregate(
        &national.url,
        &s.pki,
        request(&["nepesseg", "rata"], &["period"]),
    )
    .await;
    assert!(
        statuses.iter().any(|m| m.member == "north/alfa"),
        "{statuses:?}"
    );
    let total = cells
        .iter()
        .find(|c| c.indicator == "nepesseg" && c.period == "2020")
        .expect("cell");
    assert!(close(
        total.value.expect("value"),
        expected_sum(&all, "nepesseg", "2020")
    ));
    // The nation's rate hides gamma's alone (south is gamma): suppressed.
    let rate = cells
        .iter()
        .find(|c| c.indicator == "rata" && c.period == "2020")
        .expect("cell");
    assert_eq!((rate.status.as_str(), rate.value), ("D", None), "{rate:?}");
    let (cells, _) = aggregate(
        &national.url,
        &s.pki,
        request(&["nepesseg", "rata"], &["region", "period"]),
    )
    .await;
    // North's rate: alfa and beta are both free, so north is too.
    let north_rate = cells
        .iter()
        .find(|c| c.indicator == "rata" && c.region == "north" && c.period == "2020")
        .expect("north rate");
    assert!(
        close(
            north_rate.value.expect("value"),
            expected_weighted_mean(&["alfa", "beta"], "rata", "nepesseg", "2020")
        ),
        "{north_rate:?}"
    );
    // North's population would reveal alfa's (dominated) by subtracting
    // beta's: suppressed, the same in the regional hub's own answer.
    let north_cell = cells
        .iter()
        .find(|c| c.indicator == "nepesseg" && c.region == "north" && c.period == "2021")
        .expect("north cell");
    assert_eq!(
        (north_cell.status.as_str(), north_cell.value),
        ("D", None),
        "{north_cell:?}"
    );
    let (own, _) = aggregate(&north.url, &s.pki, request(&["nepesseg"], &["period"])).await;
    let own = own
        .iter()
        .find(|c| c.period == "2021")
        .expect("north's own");
    assert_eq!((own.status.as_str(), own.value), ("D", None), "{own:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disclosure_control_suppresses_small_dominated_and_recoverable_cells() {
    let s = setup().await;
    let regio = TestHub::start(&s.pki, "regio", &members(&s.nodes)).await;

    // Threshold: gamma has two settlements.
    let (cells, _) = aggregate(
        &regio.url,
        &s.pki,
        request(&["nepesseg"], &["kisterseg", "period"]),
    )
    .await;
    let small = find(&cells, "nepesseg", "2020", "gamma");
    assert_eq!(small.status, "C");
    assert_eq!(small.value, None);
    assert!(small.flags.iter().any(|f| f == "threshold"), "{small:?}");

    // Dominance: Edelény holds 95 % of alfa's kindergarten places.
    let (cells, _) = aggregate(
        &regio.url,
        &s.pki,
        request(&["ferohely"], &["kisterseg", "period"]),
    )
    .await;
    let dominated = find(&cells, "ferohely", "2020", "alfa");
    assert_eq!(dominated.status, "C", "{dominated:?}");
    assert!(dominated.flags.iter().any(|f| f == "dominance"));
    assert_eq!(find(&cells, "ferohely", "2020", "beta").status, "F");

    // Count rule: two jobseekers in Galvács, asked at settlement level of the node.
    let (cells, _) = aggregate(
        &s.nodes[0].url,
        &s.pki,
        request(&["munkanelkuli"], &["settlement", "period"]),
    )
    .await;
    let galvacs = cells
        .iter()
        .find(|c| c.settlement == "Galvács")
        .expect("Galvács");
    assert_eq!(galvacs.status, "C");
    assert!(galvacs.flags.iter().any(|f| f == "count"), "{galvacs:?}");
    assert_eq!(galvacs.value, None);

    // Secondary suppression moves up: gamma's confidential rate would be
    // recovered from the region's by subtracting alfa's and beta's, so the
    // region's total is suppressed and beta stays free, as beta's own node
    // publishes it.
    let mut r = request(&["rata"], &["kisterseg", "period"]);
    r.totals = true;
    let (cells, _) = aggregate(&regio.url, &s.pki, r).await;
    let period: Vec<&pb::Cell> = cells.iter().filter(|c| c.period == "2020").collect();
    let total = period.iter().find(|c| c.kisterseg == "_T").expect("total");
    assert_eq!(
        (total.status.as_str(), total.value),
        ("D", None),
        "{period:#?}"
    );
    assert!(total.flags.iter().any(|f| f == "secondary"));
    let beta = period.iter().find(|c| c.kisterseg == "beta").expect("beta");
    assert_eq!(beta.status, "F", "{period:#?}");
    assert!(close(
        beta.value.expect("beta"),
        expected_weighted_mean(&["beta"], "rata", "nepesseg", "2020")
    ));
    // A total over some members only is not a whole unit: refused.
    let mut r = request(&["nepesseg"], &["kisterseg", "period"]);
    r.totals = true;
    r.members = vec!["beta".into(), "gamma".into()];
    let mut client = client_as(&regio.url, &s.pki, "ksh", Role::Operator).await;
    let refused = async {
        let mut stream = client.aggregate(r).await?.into_inner();
        while stream.message().await?.is_some() {}
        Ok::<_, tonic::Status>(())
    }
    .await
    .expect_err("a total over two of three members");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    assert!(refused.message().contains("whole units"), "{refused}");

    // A missing weight flags the cell instead of dropping the row silently.
    let (cells, _) = aggregate(
        &regio.url,
        &s.pki,
        request(&["rata"], &["kisterseg", "period"]),
    )
    .await;
    let flagged = find(&cells, "rata", "2021", "alfa");
    assert_eq!(flagged.value, None, "{flagged:?}");
    assert!(
        flagged.flags.iter().any(|f| f == "missing_weight"),
        "{flagged:?}"
    );
    assert!(find(&cells, "rata", "2020", "alfa").value.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_member_marks_the_cells_it_should_contribute_to_as_incomplete() {
    let mut s = setup().await;
    let regio = TestHub::start(&s.pki, "regio", &members(&s.nodes)).await;
    let beta = s.nodes.remove(1);
    let _beta = beta.go_down().await;
    let (cells, statuses) = aggregate(
        &regio.url,
        &s.pki,
        request(&["nepesseg"], &["region", "period"]),
    )
    .await;
    let beta_status = statuses
        .iter()
        .find(|m| m.member == "beta")
        .expect("beta status");
    assert_eq!(beta_status.state, MemberState::Unavailable as i32);
    for c in &cells {
        assert!(c.incomplete, "{c:?}");
        assert_eq!(
            c.value, None,
            "an incomplete cell is never published as whole: {c:?}"
        );
        assert!(c.missing.iter().any(|m| m == "beta"));
    }
    // Kistérség cells of the members that answered stay whole.
    let (cells, _) = aggregate(
        &regio.url,
        &s.pki,
        request(&["rata"], &["kisterseg", "period"]),
    )
    .await;
    let alfa = find(&cells, "rata", "2020", "alfa");
    assert!(!alfa.incomplete);
    assert!(alfa.value.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregation_rule_none_and_unknown_indicators_are_clear_errors() {
    let s = setup().await;
    let mut client = client_as(&s.nodes[0].url, &s.pki, "ksh", Role::Operator).await;
    let err = guard(
        "aggregate",
        client.aggregate(request(&["nincs_ilyen"], &["kisterseg"])),
    )
    .await;
    let status = match err {
        Ok(response) => {
            let mut stream = response.into_inner();
            stream.message().await.expect_err("unknown indicator")
        }
        Err(status) => status,
    };
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("nincs_ilyen"), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pull_writes_csv_json_and_sdmx_csv() {
    let s = setup().await;
    let regio = TestHub::start(&s.pki, "regio", &members(&s.nodes)).await;
    let files = pki_files(&s.pki);
    let out = tempfile::tempdir().expect("tempdir");
    for (format, name) in [
        (Format::Csv, "out.csv"),
        (Format::Json, "out.json"),
        (Format::SdmxCsv, "out.sdmx.csv"),
    ] {
        let path = out.path().join(name);
        let summary = tudashalo_hub::pull::run(PullArgs {
            hub: regio.url.clone(),
            cert: files.cert.clone(),
            key: files.key.clone(),
            ca: files.ca.clone(),
            server: Default::default(),
            indicators: vec!["nepesseg".into(), "munkanelkuli".into()],
            by: vec!["kisterseg".into(), "period".into()],
            from: Some(2020),
            to: Some(2020),
            settlements: vec![],
            members: vec![],
            totals: false,
            format,
            out: Some(path.clone()),
            timeout_ms: None,
        })
        .await
        .expect("pull");
        assert!(summary.cells >= 6);
        assert!(summary.confidential >= 1, "gamma's cells are confidential");
        let text = std::fs::read_to_string(&path).expect("output");
        match format {
            Format::Csv => {
                let first = text.lines().next().expect("header");
                assert_eq!(
                    first,
                    "kisterseg,period,indicator,value,unit,n,status,incomplete,flags"
                );
                let expected = format!(
                    "beta,2020,nepesseg,{},fő,4,F,false,",
                    expected_sum(&["beta"], "nepesseg", "2020")
                );
                assert!(text.lines().any(|l| l == expected), "{text}");
                assert!(
                    text.lines()
                        .any(|l| l.starts_with("gamma,2020,nepesseg,,fő,2,C,")),
                    "{text}"
                );
            }
            Format::Json => {
                let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
                let cells = v["cells"].as_array().expect("cells");
                assert!(
                    cells
                        .iter()
                        .any(|c| c["kisterseg"] == "beta" && c["status"] == "F")
                );
                assert!(
                    cells
                        .iter()
                        .any(|c| c["kisterseg"] == "gamma" && c["value"].is_null())
                );
                assert_eq!(v["members"].as_array().expect("members").len(), 3);
            }
            Format::SdmxCsv => {
                let mut lines = text.lines();
                assert_eq!(
                    lines.next().expect("header"),
                    "STRUCTURE,STRUCTURE_ID,ACTION,INDICATOR,KISTERSEG,TIME_PERIOD,OBS_VALUE,UNIT_MEASURE,CONF_STATUS"
                );
                assert!(
                    text.lines().any(|l| l.starts_with(
                        "dataflow,TUDASHALO:DF_INDICATORS(1.0),I,nepesseg,gamma,2020,,fő,C"
                    )),
                    "{text}"
                );
            }
        }
    }
}

fn pki_files(pki: &Pki) -> tudashalo_proto::tls::TlsFiles {
    pki.files("ksh", Role::Operator)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_national_role_gets_kisterseg_level_and_is_refused_settlement_level() {
    let s = setup().await;
    let regio = TestHub::start(&s.pki, "regio", &members(&s.nodes)).await;
    // Directly at a node.
    let mut national = client_as(&s.nodes[1].url, &s.pki, "ksh-orszagos", Role::National).await;
    let refused = guard(
        "aggregate",
        national.aggregate(request(&["nepesseg"], &["settlement", "period"])),
    )
    .await;
    let status = refused.expect_err("settlement level is refused to the national role");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    assert!(status.message().contains("settlement"), "{status:?}");
    let allowed = guard(
        "aggregate",
        national.aggregate(request(&["nepesseg"], &["kisterseg", "period"])),
    )
    .await;
    assert!(allowed.is_ok(), "kistérség level is allowed: {allowed:?}");

    // Through the hub, on whose behalf it asks: every member refuses, and says so.
    let mut via_hub = client_as(&regio.url, &s.pki, "ksh-orszagos", Role::National).await;
    let mut stream = guard(
        "aggregate",
        via_hub.aggregate(request(&["nepesseg"], &["settlement", "period"])),
    )
    .await
    .expect("the hub answers with statuses")
    .into_inner();
    let mut cells = Vec::new();
    let mut statuses = Vec::new();
    while let Some(chunk) = guard("chunk", stream.message()).await.expect("chunk") {
        cells.extend(chunk.cells);
        statuses.extend(chunk.members);
    }
    assert!(cells.is_empty(), "{cells:?}");
    assert_eq!(statuses.len(), 3);
    for status in &statuses {
        assert_eq!(status.state, MemberState::Refused as i32, "{status:?}");
    }
    // The same national user at kistérség level through the hub is served.
    let (cells, statuses) = {
        let mut stream = guard(
            "aggregate",
            via_hub.aggregate(request(&["nepesseg"], &["kisterseg", "period"])),
        )
        .await
        .expect("aggregate")
        .into_inner();
        let (mut c, mut m) = (Vec::new(), Vec::new());
        while let Some(chunk) = guard("chunk", stream.message()).await.expect("chunk") {
            c.extend(chunk.cells);
            m.extend(chunk.members);
        }
        (c, m)
    };
    assert!(
        statuses.iter().all(|m| m.state == MemberState::Ok as i32),
        "{statuses:?}"
    );
    assert!(find(&cells, "nepesseg", "2020", "beta").value.is_some());
    // The node recorded both, with the hub it came through.
    let entries = s.nodes[1].node.audit().entries().expect("audit entries");
    let relayed: Vec<_> = entries
        .iter()
        .filter(|e| e.method == "Aggregate" && e.via.iter().any(|h| h == "regio"))
        .collect();
    assert!(
        relayed.iter().any(|e| e.outcome.starts_with("denied")),
        "{relayed:?}"
    );
    assert!(relayed.iter().any(|e| e.outcome == "ok"), "{relayed:?}");
    assert!(
        relayed
            .iter()
            .all(|e| e.on_behalf_of.as_deref() == Some("national:ksh-orszagos"))
    );
}
