//! The register end to end: organisations, contacts, developments, project
//! indicators and working groups imported into real nodes, then searched,
//! read, aggregated and networked through a real hub over mTLS. Aggregates
//! are checked against values computed here from the raw rows; the same
//! organisation is merged across two nodes by its register number; a
//! contact person — personal data — is asserted absent from every answer.

use std::collections::BTreeMap;

use tudashalo_core::model::Visibility;
use tudashalo_core::register::{
    Achieved, ConsortiumMember, Contact, Development, GroupStatus, IndicatorType, LegalForm,
    Meeting, Organisation, Programme, ProjectIndicator, Role as PartRole, Status, TargetGroup,
    WorkingGroup,
};
use tudashalo_node::node::ImportOptions;
use tudashalo_pki::Role;
use tudashalo_proto::pb;

use super::aggregate::{aggregate, request};
use super::support::{
    Files, NodeDir, Pki, TestHub, TestNode, client_as, guard, import, import_with, jsonl,
};

/// The contact person every node records: personal data that must never
/// leave its node.
const SECRET_NAME: &str = "Titkos Kovácsné Ilona";
const SECRET_EMAIL: &str = "titkos.ilona@pelda.hu";
const SECRET_PHONE: &str = "+36 30 555 0199";

/// The regional nonprofit both kistérségek work with: one törzsszám.
const SHARED_NUMBER: &str = "18345678";

fn organisation(id: &str, name: &str, form: LegalForm, number: &str, seat: &str) -> Organisation {
    Organisation {
        id: id.into(),
        name: name.into(),
        legal_form: form,
        gfo: None,
        register_number: Some(number.into()),
        tax_number: None,
        seat: Some(seat.into()),
        sectors: vec!["szociális".into()],
        website: None,
        visibility: Visibility::Federated,
    }
}

#[allow(clippy::too_many_arguments)]
fn development(
    id: &str,
    title: &str,
    beneficiary: &str,
    partners: &[&str],
    seat: &str,
    start: &str,
    support: u64,
    sectors: &[&str],
) -> Development {
    let mut consortium = vec![ConsortiumMember {
        organisation: beneficiary.into(),
        role: PartRole::Lead,
    }];
    consortium.extend(partners.iter().map(|p| ConsortiumMember {
        organisation: p.to_string(),
        role: PartRole::Member,
    }));
    Development {
        id: id.into(),
        title: title.into(),
        summary: format!("{title}: a kistérség óvodáinak és szolgáltatásainak fejlesztése."),
        programme: Programme::of_identifier(id).unwrap_or(Programme::Domestic),
        call: None,
        beneficiary: beneficiary.into(),
        consortium,
        settlements: vec![seat.into()],
        sectors: sectors.iter().map(|s| s.to_string()).collect(),
        target_groups: vec![TargetGroup::Children],
        planned_start: Some(start.into()),
        planned_end: None,
        actual_start: None,
        actual_end: None,
        total_cost: Some(support + support / 10),
        support: Some(support),
        status: Status::Closed,
        documents: vec![],
        visibility: Visibility::Federated,
    }
}

fn indicator(development: &str, target: f64, achieved: &[(&str, f64)]) -> ProjectIndicator {
    ProjectIndicator {
        development: development.into(),
        indicator: "PR_RESZTVEVO".into(),
        name: "Bevont résztvevők".into(),
        indicator_type: IndicatorType::Result,
        unit: "fő".into(),
        baseline: Some(0.0),
        baseline_year: Some(2016),
        target,
        target_date: Some("2021-12-31".into()),
        achieved: achieved
            .iter()
            .map(|(p, v)| Achieved {
                period: p.to_string(),
                value: *v,
            })
            .collect(),
    }
}

/// One kistérség's register, as its files hold it.
struct Fixture {
    organisations: Vec<Organisation>,
    contacts: Vec<Contact>,
    developments: Vec<Development>,
    indicators: Vec<ProjectIndicator>,
    groups: Vec<WorkingGroup>,
}

fn fixture(node: &str) -> Fixture {
    let (p, towns) = match node {
        "tiszakecskei" => ("tk", ["Tiszakécske", "Lakitelek", "Tiszaalpár"]),
        _ => ("ks", ["Kiskunfélegyháza", "Gátér", "Petőfiszállás"]),
    };
    let o = |s: &str| format!("{p}-{s}");
    let mut organisations = vec![
        organisation(
            &o("onk1"),
            &format!("{} Város Önkormányzata", towns[0]),
            LegalForm::Municipality,
            if p == "tk" { "15724784" } else { "15724890" },
            towns[0],
        ),
        organisation(
            &o("onk2"),
            &format!("{} Község Önkormányzata", towns[1]),
            LegalForm::Municipality,
            if p == "tk" { "15724791" } else { "15724900" },
            towns[1],
        ),
        organisation(
            &o("onk3"),
            &format!("{} Község Önkormányzata", towns[2]),
            LegalForm::Municipality,
            if p == "tk" { "15724805" } else { "15724911" },
            towns[2],
        ),
        // The same nonprofit, spelt as each centre spells it.
        organisation(
            &o("alfold"),
            if p == "tk" {
                "Alföldi Humán Szolgáltató Nonprofit Kft."
            } else {
                "Alföldi Humán Szolgáltató Nonprofit Kft"
            },
            LegalForm::NonprofitCompany,
            SHARED_NUMBER,
            "Kecskemét",
        ),
    ];
    let mut hidden = organisation(
        &o("titkos"),
        "Helyi Titkos Egyesület",
        LegalForm::Civil,
        if p == "tk" { "18999001" } else { "18999002" },
        towns[0],
    );
    hidden.visibility = Visibility::Local;
    organisations.push(hidden);
    let contacts = vec![Contact {
        organisation: o("alfold"),
        name: SECRET_NAME.into(),
        position: Some("projektmenedzser".into()),
        email: Some(SECRET_EMAIL.into()),
        phone: Some(SECRET_PHONE.into()),
    }];
    let id =
        |prefix: &str, n: u32| format!("{prefix}-{}-{n:05}", if p == "tk" { "BK1" } else { "BK2" });
    let mut developments = vec![
        development(
            &id("EFOP-1.5.2-16-2017", 41),
            "Humán szolgáltatások fejlesztése a térségben",
            &o("onk1"),
            &[&o("onk2"), &o("alfold")],
            towns[0],
            "2017-03-01",
            300_000_000,
            &["szociális", "oktatás"],
        ),
        development(
            &id("EFOP-3.9.2-16-2017", 7),
            "Óvodai fejlesztő programok",
            &o("onk2"),
            &[&o("alfold")],
            towns[1],
            "2018-01-15",
            120_000_000,
            &["oktatás"],
        ),
        development(
            &id("TOP-1.4.1-15-2016", 12),
            "Óvoda bővítése és energetikai felújítása",
            &o("onk3"),
            &[],
            towns[2],
            "2016-09-01",
            95_000_000,
            &["oktatás"],
        ),
        development(
            &id("TOP-5.3.1-16-2017", 3),
            "Közösségfejlesztés a településeken",
            &o("onk1"),
            &[&o("onk3")],
            towns[0],
            "2019-05-01",
            60_000_000,
            &["közművelődés"],
        ),
    ];
    // Behind schedule, and one development that never leaves the node.
    developments[1].status = Status::Running;
    let mut local = development(
        &id("EFOP-1.2.11-16-2017", 99),
        "Belső óvodai tervezés",
        &o("titkos"),
        &[],
        towns[0],
        "2018-02-01",
        777_000_000,
        &["oktatás"],
    );
    local.visibility = Visibility::Local;
    developments.push(local);
    let indicators = vec![
        indicator(
            &developments[0].id,
            400.0,
            &[("2019", 150.0), ("2020", 320.0), ("2021", 410.0)],
        ),
        indicator(
            &developments[1].id,
            200.0,
            &[("2020", 40.0), ("2021", 60.0)],
        ),
        indicator(&developments[2].id, 100.0, &[("2021", 100.0)]),
    ];
    let groups = vec![WorkingGroup {
        id: o("wg-szoc"),
        name: "Szociális tematikus munkacsoport".into(),
        theme: "szociális".into(),
        members: vec![o("onk1"), o("alfold")],
        meetings: vec![Meeting {
            date: "2021-03-04".into(),
            topic: Some("A humán szolgáltatások összehangolása".into()),
            minutes: None,
        }],
        status: GroupStatus::Active,
        visibility: Visibility::Federated,
    }];
    Fixture {
        organisations,
        contacts,
        developments,
        indicators,
        groups,
    }
}

fn lines<T: serde::Serialize>(records: &[T]) -> String {
    jsonl(
        records
            .iter()
            .map(|r| serde_json::to_value(r).expect("a record as JSON")),
    )
}

/// Imports a fixture's five files, checking that nothing was rejected.
fn import_fixture(node: &tudashalo_node::Node, f: &Fixture) {
    let files = Files::new();
    for (name, text) in [
        ("szervezetek.jsonl", lines(&f.organisations)),
        ("kapcsolattartok.jsonl", lines(&f.contacts)),
        ("fejlesztesek.jsonl", lines(&f.developments)),
        ("projektmutatok.jsonl", lines(&f.indicators)),
        ("munkacsoportok.jsonl", lines(&f.groups)),
    ] {
        let report = import(node, &files.write(name, text));
        assert_eq!(report.rejected, 0, "{name}: {:?}", report.rejections);
        assert!(report.added > 0, "{name}: {report:?}");
    }
}

async fn register_node(pki: &Pki, name: &str) -> TestNode {
    let folder = NodeDir::init(name);
    let node = folder.open();
    import_fixture(&node, &fixture(name));
    TestNode::serve(name, folder.dir, node, &pki.material(name, Role::Node)).await
}

struct Setup {
    pki: Pki,
    nodes: Vec<TestNode>,
    hub: TestHub,
}

async fn setup() -> Setup {
    let pki = Pki::new();
    let nodes = vec![
        register_node(&pki, "tiszakecskei").await,
        register_node(&pki, "kiskunfelegyhazi").await,
    ];
    let members: Vec<(&str, &str)> = nodes
        .iter()
        .map(|n| (n.name.as_str(), n.url.as_str()))
        .collect();
    let hub = TestHub::start(&pki, "regio", &members).await;
    Setup { pki, nodes, hub }
}

/// Fails if anything personal appears in `answer` (its debug form holds
/// every field of every message).
fn assert_no_contact(what: &str, answer: &impl std::fmt::Debug) {
    let text = format!("{answer:?}");
    for secret in [
        SECRET_NAME,
        SECRET_EMAIL,
        SECRET_PHONE,
        "Titkos Egyesület",
        "Belső óvodai",
    ] {
        assert!(!text.contains(secret), "{what} carries {secret:?}: {text}");
    }
}

fn search_request(query: &str, filters: pb::Filters) -> pb::SearchRequest {
    pb::SearchRequest {
        query: query.into(),
        filters: Some(filters),
        limit: 10,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn developments_are_searched_faceted_and_read_through_the_hub() {
    let s = setup().await;
    let mut analyst = client_as(&s.hub.url, &s.pki, "elemzo", Role::Operator).await;
    let response = guard(
        "search",
        analyst.search(search_request("óvoda", pb::Filters::default())),
    )
    .await
    .expect("search")
    .into_inner();
    assert_no_contact("search", &response);
    assert!(!response.partial, "{:?}", response.members);
    let entity = response
        .facets
        .iter()
        .find(|f| f.name == "entity")
        .expect("an entity facet");
    let developments = entity
        .values
        .iter()
        .find(|v| v.value == "development")
        .expect("developments counted");
    // Two kindergarten developments per node match "óvoda" (the local one never counts).
    assert!(developments.count >= 4, "{entity:?}");
    let hit = response
        .hits
        .iter()
        .find(|h| h.entity == "development")
        .expect("a development among the hits");
    assert!(hit.id.starts_with("development:"), "{hit:?}");

    // Filters only developments can pass: programme, status, amount.
    let efop = guard(
        "search",
        analyst.search(search_request(
            "",
            pb::Filters {
                programmes: vec!["EFOP".into()],
                statuses: vec!["closed".into()],
                amount_min: Some(200_000_000),
                ..Default::default()
            },
        )),
    )
    .await
    .expect("filtered search")
    .into_inner();
    let ids: Vec<&str> = efop.hits.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(efop.total, 2, "{ids:?}");
    assert!(
        ids.iter()
            .all(|id| id.starts_with("development:EFOP-1.5.2")),
        "{ids:?}"
    );

    // A development read by its key through the hub: consortium by name,
    // its indicators, nothing of the local partner.
    let response = guard(
        "get",
        analyst.get_document(pb::GetDocumentRequest {
            id: hit.id.clone(),
            member: hit.member.clone(),
        }),
    )
    .await
    .expect("get a development")
    .into_inner();
    assert_no_contact("get", &response);
    let d = response.development.expect("a development");
    assert!(response.document.is_none());
    assert!(
        !d.consortium.is_empty() && d.consortium.iter().all(|m| !m.name.is_empty()),
        "{d:?}"
    );
    for node in &s.nodes {
        assert!(node.node.audit().verify().expect("audit chain").is_intact());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_by_programme_and_target_achievement_equal_the_raw_rows() {
    let s = setup().await;
    // Expected, from the raw rows: support by programme, kistérség and year
    // (a development counts in its start year; local ones never).
    let mut support: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    let mut achieved: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for node in &s.nodes {
        let f = fixture(&node.name);
        for d in f
            .developments
            .iter()
            .filter(|d| d.visibility != Visibility::Local)
        {
            let year = d.year().expect("a start").to_string();
            *support
                .entry((d.programme.as_str().to_string(), node.name.clone(), year))
                .or_default() += d.support.unwrap_or(0) as f64;
        }
        for i in &f.indicators {
            for a in &i.achieved {
                let e = achieved.entry(a.period.clone()).or_default();
                e.0 += a.value;
                e.1 += i.target;
            }
        }
    }
    for programme in ["EFOP", "TOP"] {
        let code = format!("dev.support.{programme}");
        let (cells, statuses) = aggregate(
            &s.hub.url,
            &s.pki,
            request(&[&code], &["kisterseg", "period"]),
        )
        .await;
        assert_no_contact("aggregate", &cells);
        assert!(
            statuses
                .iter()
                .all(|m| m.state == pb::MemberState::Ok as i32),
            "{statuses:?}"
        );
        let expected: Vec<_> = support
            .iter()
            .filter(|((p, ..), _)| p == programme)
            .collect();
        assert!(!expected.is_empty());
        for ((_, kisterseg, period), value) in expected {
            let cell = cells
                .iter()
                .find(|c| &c.kisterseg == kisterseg && &c.period == period)
                .unwrap_or_else(|| panic!("no {code} cell {kisterseg} {period}: {cells:#?}"));
            // Public funding is public information: published, one
            // development or not.
            assert_eq!(cell.status, "F", "{cell:?}");
            assert_eq!(cell.value, Some(*value), "{cell:?}");
        }
    }
    // Target achievement over both kistérségek: Σ achieved / Σ target.
    let (cells, _) = aggregate(
        &s.hub.url,
        &s.pki,
        request(&["dev.achievement.PR_RESZTVEVO"], &["region", "period"]),
    )
    .await;
    let cell = cells
        .iter()
        .find(|c| c.period == "2021")
        .expect("a 2021 cell");
    let (a, t) = achieved["2021"];
    assert_eq!(cell.status, "F", "{cell:?}");
    let value = cell.value.expect("a published ratio");
    assert!((value - a / t).abs() < 1e-9, "{value} != {a}/{t}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_partner_is_one_organisation_across_kistersegek() {
    let s = setup().await;
    let mut analyst = client_as(&s.hub.url, &s.pki, "elemzo", Role::Operator).await;
    let all = guard("network", analyst.network(pb::NetworkRequest::default()))
        .await
        .expect("network")
        .into_inner();
    assert_no_contact("network", &all);
    assert!(!all.partial);
    let shared: Vec<_> = all
        .organisations
        .iter()
        .filter(|o| o.register_number == SHARED_NUMBER)
        .collect();
    assert_eq!(shared.len(), 1, "{:#?}", all.organisations);
    assert_eq!(shared[0].member_count, 2);
    assert_eq!(shared[0].entries.len(), 2);
    // Partners active in more than one kistérség: only the shared one.
    let many = guard(
        "network",
        analyst.network(pb::NetworkRequest {
            min_members: 2,
            ..Default::default()
        }),
    )
    .await
    .expect("network")
    .into_inner();
    let numbers: Vec<&str> = many
        .organisations
        .iter()
        .map(|o| o.register_number.as_str())
        .collect();
    assert_eq!(numbers, [SHARED_NUMBER]);
    // Who cooperated with whom: the nonprofit with each lead municipality.
    assert!(
        all.pairs
            .iter()
            .any(|p| (p.a == SHARED_NUMBER || p.b == SHARED_NUMBER) && p.developments >= 1),
        "{:#?}",
        all.pairs
    );
    // A name filter with accents folded finds it at both.
    let named = guard(
        "network",
        analyst.network(pb::NetworkRequest {
            query: "alfoldi human".into(),
            ..Default::default()
        }),
    )
    .await
    .expect("network")
    .into_inner();
    assert_eq!(named.total, 1, "{named:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_person_and_local_records_never_leave_the_node() {
    let s = setup().await;
    let mut analyst = client_as(&s.hub.url, &s.pki, "elemzo", Role::Operator).await;
    for query in [
        SECRET_NAME,
        "titkos",
        "Ilona",
        "Belső óvodai tervezés",
        "pelda.hu",
    ] {
        let r = guard(
            "search",
            analyst.search(search_request(query, pb::Filters::default())),
        )
        .await
        .expect("search")
        .into_inner();
        assert_no_contact(query, &r);
        assert!(
            r.hits
                .iter()
                .all(|h| !h.id.contains("titkos") && !h.id.contains("00099")),
            "{r:?}"
        );
    }
    let info = guard("info", analyst.info(pb::InfoRequest {}))
        .await
        .expect("info")
        .into_inner();
    assert_no_contact("info", &info);
    // The local development's 777 M Ft counts nowhere.
    let (cells, _) = aggregate(
        &s.hub.url,
        &s.pki,
        request(&["dev.support"], &["region", "period"]),
    )
    .await;
    assert!(
        cells
            .iter()
            .all(|c| c.value.is_none_or(|v| v < 777_000_000.0)),
        "{cells:#?}"
    );
    for node in &s.nodes {
        // Reading a local organisation by key is not found, as for documents.
        let e = guard(
            "get",
            analyst.get_document(pb::GetDocumentRequest {
                id: format!(
                    "organisation:{}-titkos",
                    if node.name == "tiszakecskei" {
                        "tk"
                    } else {
                        "ks"
                    }
                ),
                member: node.name.clone(),
            }),
        )
        .await
        .expect_err("a local organisation");
        assert_eq!(e.code(), tonic::Code::NotFound, "{e:?}");
        // The operator's own view has the contact.
        let contacts = node
            .node
            .contacts_of(&format!(
                "{}-alfold",
                if node.name == "tiszakecskei" {
                    "tk"
                } else {
                    "ks"
                }
            ))
            .expect("contacts");
        assert_eq!(contacts.len(), 1);
    }
}

#[test]
fn bad_register_files_are_reported_by_line_and_field_and_strict_refuses_them() {
    let folder = NodeDir::init("tiszakecskei");
    let node = folder.open();
    let f = fixture("tiszakecskei");
    let files = Files::new();
    let report = import(
        &node,
        &files.write("szervezetek.jsonl", lines(&f.organisations)),
    );
    assert_eq!(report.rejected, 0, "{:?}", report.rejections);
    // Re-importing the same file changes nothing.
    let again = import(
        &node,
        &files.write("szervezetek.jsonl", lines(&f.organisations)),
    );
    assert_eq!(
        (again.added, again.updated, again.unchanged),
        (0, 0, f.organisations.len())
    );

    let mut bad = f.developments[0].clone();
    bad.id = "EFOP-1.5.2-16-2017-00777".into();
    bad.consortium.push(ConsortiumMember {
        organisation: "nincs-ilyen".into(),
        role: PartRole::Member,
    });
    let text = lines(&[f.developments[1].clone(), bad]);
    let path = files.write("fejlesztesek.jsonl", &text);
    let strict = ImportOptions {
        strict: true,
        ..ImportOptions::default()
    };
    let refused = import_with(&node, &path, &strict).expect_err("strict refuses the file");
    assert!(
        refused.to_string().contains("fejlesztesek.jsonl"),
        "{refused}"
    );
    assert!(
        node.register().expect("register").developments.is_empty(),
        "strict stored nothing"
    );

    let report = import(&node, &path);
    assert_eq!(report.added, 1, "{report:?}");
    assert_eq!(report.rejected, 1, "{report:?}");
    let line = report.rejections[0].to_string();
    assert!(line.contains("fejlesztesek.jsonl:2"), "{line}");
    assert!(line.contains("nincs-ilyen"), "{line}");
    assert_eq!(
        report.rejections[0].field.as_deref(),
        Some("consortium"),
        "{line}"
    );
}

/// The facets of an answer, member facet aside, in a comparable form.
fn facet_map(r: &pb::SearchResponse) -> BTreeMap<String, BTreeMap<String, u64>> {
    r.facets
        .iter()
        .filter(|f| f.name != "member")
        .map(|f| {
            (
                f.name.clone(),
                f.values
                    .iter()
                    .map(|v| (v.value.clone(), v.count))
                    .collect(),
            )
        })
        .filter(|(_, values): &(String, BTreeMap<String, u64>)| !values.is_empty())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hubs_ranking_of_register_records_equals_one_node_holding_everything() {
    let s = setup().await;
    let folder = NodeDir::init("minden");
    let node = folder.open();
    for name in ["tiszakecskei", "kiskunfelegyhazi"] {
        import_fixture(&node, &fixture(name));
    }
    let combined = TestNode::serve(
        "minden",
        folder.dir,
        node,
        &s.pki.material("minden", Role::Node),
    )
    .await;
    let mut via_hub = client_as(&s.hub.url, &s.pki, "elemzo", Role::Operator).await;
    let mut one = client_as(&combined.url, &s.pki, "elemzo", Role::Operator).await;
    let queries = [
        "óvoda",
        "humán szolgáltatások",
        "önkormányzat",
        "nonprofit",
        "közösségfejlesztés településeken",
        "munkacsoport szociális",
    ];
    let filters = [
        pb::Filters::default(),
        pb::Filters {
            entities: vec!["development".into()],
            ..Default::default()
        },
        pb::Filters {
            programmes: vec!["EFOP".into(), "TOP".into()],
            amount_max: Some(150_000_000),
            ..Default::default()
        },
    ];
    for query in queries {
        for f in &filters {
            let r = search_request(query, f.clone());
            let federated = guard("hub", via_hub.search(r.clone()))
                .await
                .expect("hub")
                .into_inner();
            let single = guard("one", one.search(r)).await.expect("one").into_inner();
            let ids =
                |r: &pb::SearchResponse| r.hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>();
            assert_eq!(
                ids(&federated),
                ids(&single),
                "{query} {f:?}: ranking differs"
            );
            assert_eq!(federated.total, single.total, "{query} {f:?}");
            assert_eq!(
                facet_map(&federated),
                facet_map(&single),
                "{query} {f:?}: facets differ"
            );
            for (a, b) in federated.hits.iter().zip(&single.hits) {
                assert!(
                    (a.score - b.score).abs() <= 1e-4 * b.score.abs().max(1.0),
                    "{query}: {} vs {}",
                    a.score,
                    b.score
                );
                assert_eq!(a.snippet, b.snippet, "{query}: snippet of {}", a.id);
                assert_eq!(a.entity, b.entity);
            }
        }
    }
}
