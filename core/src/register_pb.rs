//! The register as it leaves a node: domain records to contract messages,
//! for a caller with a given view.
//!
//! One way only. Nothing here parses a message back into a record: the
//! register is written by the node's importers, never over the wire, so
//! the contract has no say in what a node stores.
//!
//! What a caller may see is decided by the caller's view, passed in as
//! closures (`visible` for a record's [`Visibility`], `document_visible`
//! for a linked document's id): a record it may not see is left out, and so
//! is every reference to one (a participation in a local development, the
//! minutes of a meeting it may not read). Organisation names come from
//! `name_of`, the node's lookup by id; an organisation the caller may not
//! see keeps its id in a consortium but gets no name from a lookup that
//! honours the view.
//!
//! Contact persons ([`crate::register::Contact`]) have **no conversion**,
//! here or anywhere: they are personal data and stay on the node (only its
//! own command line shows them). No message of the contract has a field
//! that could carry one; the test `no_message_carries_a_contact` guards
//! against a future edit adding one.

use tudashalo_proto::pb;

use crate::model::Visibility;
use crate::register::{Development, Entity, Organisation, ProjectIndicator, WorkingGroup};

/// An organisation with what it takes part in (see [`participations`]).
/// Absent optional values become empty strings (`gfo` stays `None`); coded
/// values are their codes.
pub fn organisation(o: &Organisation, participations: Vec<pb::Participation>) -> pb::Organisation {
    pb::Organisation {
        id: o.id.clone(),
        name: o.name.clone(),
        legal_form: o.legal_form.as_str().to_string(),
        gfo: o.gfo.map(u32::from),
        register_number: o.register_number.clone().unwrap_or_default(),
        tax_number: o.tax_number.clone().unwrap_or_default(),
        seat: o.seat.clone().unwrap_or_default(),
        sectors: o.sectors.clone(),
        website: o.website.clone().unwrap_or_default(),
        visibility: o.visibility.as_str().to_string(),
        participations,
    }
}

/// A development: its consortium from [`Development::participants`] (the
/// beneficiary always included, as `lead`), each member named by `name_of`
/// (empty when it gives none), only the linked documents
/// `document_visible` admits, and its indicators: those of `indicators`
/// that belong to it (`development == d.id`), in the order given.
pub fn development(
    d: &Development,
    indicators: &[ProjectIndicator],
    name_of: &dyn Fn(&str) -> Option<String>,
    document_visible: &dyn Fn(&str) -> bool,
) -> pb::Development {
    pb::Development {
        id: d.id.clone(),
        title: d.title.clone(),
        summary: d.summary.clone(),
        programme: d.programme.as_str().to_string(),
        call: d.call.clone().unwrap_or_default(),
        beneficiary: d.beneficiary.clone(),
        consortium: d
            .participants()
            .into_iter()
            .map(|m| pb::ConsortiumMember {
                name: name_of(&m.organisation).unwrap_or_default(),
                role: m.role.as_str().to_string(),
                organisation: m.organisation,
            })
            .collect(),
        settlements: d.settlements.clone(),
        sectors: d.sectors.clone(),
        target_groups: d
            .target_groups
            .iter()
            .map(|t| t.as_str().to_string())
            .collect(),
        planned_start: d.planned_start.clone().unwrap_or_default(),
        planned_end: d.planned_end.clone().unwrap_or_default(),
        actual_start: d.actual_start.clone().unwrap_or_default(),
        actual_end: d.actual_end.clone().unwrap_or_default(),
        total_cost: d.total_cost,
        support: d.support,
        status: d.status.as_str().to_string(),
        documents: d
            .documents
            .iter()
            .filter(|id| document_visible(id))
            .cloned()
            .collect(),
        visibility: d.visibility.as_str().to_string(),
        indicators: indicators
            .iter()
            .filter(|pi| pi.development == d.id)
            .map(project_indicator)
            .collect(),
    }
}

/// One project indicator, without its development (the message it goes in
/// names that).
fn project_indicator(pi: &ProjectIndicator) -> pb::ProjectIndicator {
    pb::ProjectIndicator {
        indicator: pi.indicator.clone(),
        name: pi.name.clone(),
        r#type: pi.indicator_type.as_str().to_string(),
        unit: pi.unit.clone(),
        baseline: pi.baseline,
        baseline_year: pi.baseline_year,
        target: pi.target,
        target_date: pi.target_date.clone().unwrap_or_default(),
        achieved: pi
            .achieved
            .iter()
            .map(|a| pb::Achieved {
                period: a.period.clone(),
                value: a.value,
            })
            .collect(),
    }
}

/// A working group: its members as consortium members of role `member`
/// named by `name_of`, its meetings with their minutes only where
/// `document_visible` admits them (empty otherwise).
pub fn group(
    g: &WorkingGroup,
    name_of: &dyn Fn(&str) -> Option<String>,
    document_visible: &dyn Fn(&str) -> bool,
) -> pb::WorkingGroup {
    pb::WorkingGroup {
        id: g.id.clone(),
        name: g.name.clone(),
        theme: g.theme.clone(),
        members: g
            .members
            .iter()
            .map(|m| pb::ConsortiumMember {
                organisation: m.clone(),
                role: GROUP_ROLE.to_string(),
                name: name_of(m).unwrap_or_default(),
            })
            .collect(),
        meetings: g
            .meetings
            .iter()
            .map(|m| pb::Meeting {
                date: m.date.clone(),
                topic: m.topic.clone().unwrap_or_default(),
                minutes: m
                    .minutes
                    .clone()
                    .filter(|id| document_visible(id))
                    .unwrap_or_default(),
            })
            .collect(),
        status: g.status.as_str().to_string(),
        visibility: g.visibility.as_str().to_string(),
    }
}

/// The role of every member of a working group.
const GROUP_ROLE: &str = "member";

/// What organisation `org_id` takes part in, as the caller may see it:
/// every visible development it participates in (its role from
/// [`Development::participants`], the development's year, programme and
/// awarded support) and every visible working group it is a member of
/// (role `member`, no year, programme or support), each once. Ordered by
/// entity (`development` before `group`), then year (none first), then id.
pub fn participations(
    org_id: &str,
    developments: &[Development],
    groups: &[WorkingGroup],
    visible: &dyn Fn(Visibility) -> bool,
) -> Vec<pb::Participation> {
    let mut out: Vec<pb::Participation> = Vec::new();
    for d in developments.iter().filter(|d| visible(d.visibility)) {
        let Some(m) = d
            .participants()
            .into_iter()
            .find(|m| m.organisation == org_id)
        else {
            continue;
        };
        out.push(pb::Participation {
            entity: Entity::Development.as_str().to_string(),
            id: d.id.clone(),
            title: d.title.clone(),
            role: m.role.as_str().to_string(),
            year: d.year(),
            programme: d.programme.as_str().to_string(),
            support: d.support,
        });
    }
    for g in groups.iter().filter(|g| visible(g.visibility)) {
        if g.members.iter().any(|m| m == org_id) {
            out.push(pb::Participation {
                entity: Entity::Group.as_str().to_string(),
                id: g.id.clone(),
                title: g.name.clone(),
                role: GROUP_ROLE.to_string(),
                year: None,
                programme: String::new(),
                support: None,
            });
        }
    }
    out.sort_by(|a, b| (&a.entity, a.year, &a.id).cmp(&(&b.entity, b.year, &b.id)));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use crate::register::{
        Achieved, ConsortiumMember, Contact, GroupStatus, IndicatorType, LegalForm, Meeting,
        Programme, Role, Status, TargetGroup,
    };

    /// A node's register with every field filled, and a contact person.
    pub(crate) struct Fixture {
        pub organisations: Vec<Organisation>,
        pub developments: Vec<Development>,
        pub indicators: Vec<ProjectIndicator>,
        pub groups: Vec<WorkingGroup>,
        pub contact: Contact,
    }

    pub(crate) fn organisation_fixture(id: &str, name: &str, rn: &str) -> Organisation {
        Organisation {
            id: id.into(),
            name: name.into(),
            legal_form: LegalForm::Municipality,
            gfo: Some(321),
            register_number: Some(rn.into()),
            tax_number: Some(format!("{rn}-2-03")),
            seat: Some("Tiszakécske".into()),
            sectors: vec!["oktatás".into()],
            website: Some("https://tiszakecske.hu".into()),
            visibility: Visibility::Federated,
        }
    }

    pub(crate) fn fixture() -> Fixture {
        let organisations = vec![
            organisation_fixture("o1", "Tiszakécske Város Önkormányzata", "15724784"),
            organisation_fixture("o2", "Lakitelek Nagyközség Önkormányzata", "15338590"),
            Organisation {
                visibility: Visibility::Local,
                ..organisation_fixture("o3", "Helyi Egyesület", "18350000")
            },
        ];
        let developments = vec![
            Development {
                id: "EFOP-1.5.2-16-2017-00041".into(),
                title: "Humán szolgáltatások fejlesztése".into(),
                summary: "Óvodák és iskolák".into(),
                programme: Programme::Efop,
                call: Some("EFOP-1.5.2-16".into()),
                beneficiary: "o1".into(),
                consortium: vec![ConsortiumMember {
                    organisation: "o2".into(),
                    role: Role::Member,
                }],
                settlements: vec!["Tiszakécske".into(), "Lakitelek".into()],
                sectors: vec!["oktatás".into()],
                target_groups: vec![TargetGroup::Children],
                planned_start: Some("2017-03-01".into()),
                planned_end: Some("2020-02-28".into()),
                actual_start: Some("2017-06-01".into()),
                actual_end: Some("2020-05-31".into()),
                total_cost: Some(500_000_000),
                support: Some(499_000_000),
                status: Status::Closed,
                documents: vec!["terv-2017".into(), "titkos".into()],
                visibility: Visibility::Federated,
            },
            Development {
                id: "TOP-5.3.1-16-BK1-2017-00001".into(),
                title: "Helyi identitás".into(),
                summary: String::new(),
                programme: Programme::Top,
                call: None,
                beneficiary: "o2".into(),
                consortium: vec![],
                settlements: vec!["Lakitelek".into()],
                sectors: vec![],
                target_groups: vec![],
                planned_start: Some("2016".into()),
                planned_end: None,
                actual_start: None,
                actual_end: None,
                total_cost: None,
                support: Some(30_000_000),
                status: Status::Running,
                documents: vec![],
                visibility: Visibility::Federated,
            },
            Development {
                id: "DOMESTIC-helyi".into(),
                title: "Belső fejlesztés".into(),
                summary: String::new(),
                programme: Programme::Domestic,
                call: None,
                beneficiary: "o1".into(),
                consortium: vec![ConsortiumMember {
                    organisation: "o3".into(),
                    role: Role::Associated,
                }],
                settlements: vec!["Tiszakécske".into()],
                sectors: vec![],
                target_groups: vec![],
                planned_start: Some("2015".into()),
                planned_end: None,
                actual_start: None,
                actual_end: None,
                total_cost: None,
                support: None,
                status: Status::Planned,
                documents: vec![],
                visibility: Visibility::Local,
            },
        ];
        let indicators = vec![
            ProjectIndicator {
                development: "EFOP-1.5.2-16-2017-00041".into(),
                indicator: "PR_resztvevok".into(),
                name: "Résztvevők".into(),
                indicator_type: IndicatorType::Result,
                unit: "fő".into(),
                baseline: Some(0.0),
                baseline_year: Some(2016),
                target: 300.0,
                target_date: Some("2020-02-28".into()),
                achieved: vec![Achieved {
                    period: "2019".into(),
                    value: 350.0,
                }],
            },
            ProjectIndicator {
                development: "TOP-5.3.1-16-BK1-2017-00001".into(),
                indicator: "PR_rendezvenyek".into(),
                name: "Rendezvények".into(),
                indicator_type: IndicatorType::Output,
                unit: "db".into(),
                baseline: None,
                baseline_year: None,
                target: 12.0,
                target_date: None,
                achieved: vec![],
            },
        ];
        let groups = vec![WorkingGroup {
            id: "g-oktatas".into(),
            name: "Oktatási munkacsoport".into(),
            theme: "oktatás".into(),
            members: vec!["o1".into(), "o3".into()],
            meetings: vec![
                Meeting {
                    date: "2019-04-02".into(),
                    topic: Some("Óvodai férőhelyek".into()),
                    minutes: Some("jegyzokonyv-2019-04".into()),
                },
                Meeting {
                    date: "2019-09-10".into(),
                    topic: None,
                    minutes: Some("titkos".into()),
                },
            ],
            status: GroupStatus::Active,
            visibility: Visibility::Public,
        }];
        let contact = Contact {
            organisation: "o1".into(),
            name: "Kertészné Bodrogi Ilona".into(),
            position: Some("jegyző".into()),
            email: Some("bodrogi.ilona@tiszakecske.example".into()),
            phone: Some("+36 76 555 0147".into()),
        };
        Fixture {
            organisations,
            developments,
            indicators,
            groups,
            contact,
        }
    }

    pub(crate) fn federated(v: Visibility) -> bool {
        v != Visibility::Local
    }

    fn name_of(f: &Fixture) -> impl Fn(&str) -> Option<String> + '_ {
        move |id: &str| {
            f.organisations
                .iter()
                .find(|o| o.id == id && federated(o.visibility))
                .map(|o| o.name.clone())
        }
    }

    fn document_visible(id: &str) -> bool {
        id != "titkos"
    }

    #[test]
    fn organisation_fills_empty_strings_and_codes() {
        let mut o = organisation_fixture("o1", "Tiszakécske Város Önkormányzata", "15724784");
        let m = organisation(&o, vec![]);
        assert_eq!(m.legal_form, "municipality");
        assert_eq!(m.gfo, Some(321));
        assert_eq!(m.tax_number, "15724784-2-03");
        assert_eq!(m.visibility, "federated");
        o.gfo = None;
        o.seat = None;
        o.website = None;
        o.register_number = None;
        let m = organisation(&o, vec![]);
        assert_eq!(m.gfo, None);
        assert_eq!((m.seat.as_str(), m.website.as_str()), ("", ""));
        assert_eq!(m.register_number, "");
    }

    #[test]
    fn development_names_its_consortium_and_hides_what_the_caller_may_not_see() {
        let f = fixture();
        let name_of = name_of(&f);
        let m = development(
            &f.developments[0],
            &f.indicators,
            &name_of,
            &document_visible,
        );
        let consortium: Vec<(&str, &str, &str)> = m
            .consortium
            .iter()
            .map(|c| (c.organisation.as_str(), c.role.as_str(), c.name.as_str()))
            .collect();
        assert_eq!(
            consortium,
            [
                ("o1", "lead", "Tiszakécske Város Önkormányzata"),
                ("o2", "member", "Lakitelek Nagyközség Önkormányzata"),
            ]
        );
        assert_eq!(m.documents, ["terv-2017"]);
        assert_eq!(m.indicators.len(), 1);
        assert_eq!(m.indicators[0].r#type, "result");
        assert_eq!(m.indicators[0].achieved[0].value, 350.0);
        assert_eq!(m.target_groups, ["children"]);
        assert_eq!(
            (m.programme.as_str(), m.status.as_str()),
            ("EFOP", "closed")
        );

        let local = development(&f.developments[2], &[], &name_of, &document_visible);
        assert_eq!(local.consortium[1].organisation, "o3");
        assert_eq!(local.consortium[1].name, "", "a local organisation's name");
        assert_eq!(local.call, "");
    }

    #[test]
    fn group_members_are_members_and_minutes_follow_the_documents_view() {
        let f = fixture();
        let m = group(&f.groups[0], &name_of(&f), &document_visible);
        assert!(m.members.iter().all(|c| c.role == "member"));
        assert_eq!(m.members[0].name, "Tiszakécske Város Önkormányzata");
        assert_eq!(m.meetings[0].minutes, "jegyzokonyv-2019-04");
        assert_eq!(m.meetings[1].minutes, "");
        assert_eq!(m.meetings[1].topic, "");
        assert_eq!(
            (m.status.as_str(), m.visibility.as_str()),
            ("active", "public")
        );
    }

    #[test]
    fn participations_are_the_visible_ones_in_order() {
        let f = fixture();
        let p = participations("o1", &f.developments, &f.groups, &federated);
        let got: Vec<(&str, &str, &str, Option<i32>)> = p
            .iter()
            .map(|p| (p.entity.as_str(), p.id.as_str(), p.role.as_str(), p.year))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "development",
                    "EFOP-1.5.2-16-2017-00041",
                    "lead",
                    Some(2017)
                ),
                ("group", "g-oktatas", "member", None),
            ]
        );
        assert_eq!(p[0].support, Some(499_000_000));
        assert_eq!(p[0].programme, "EFOP");
        // Everything, for a view that sees local records.
        let all = participations("o1", &f.developments, &f.groups, &|_| true);
        assert_eq!(all[0].id, "DOMESTIC-helyi", "2015 comes first");
        assert_eq!(all.len(), 3);
        // o2 leads one development and is a member of the other: year order.
        let p = participations("o2", &f.developments, &f.groups, &federated);
        let ids: Vec<&str> = p.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(
            ids,
            ["TOP-5.3.1-16-BK1-2017-00001", "EFOP-1.5.2-16-2017-00041"]
        );
        assert!(participations("nobody", &f.developments, &f.groups, &federated).is_empty());
    }

    #[test]
    fn no_message_carries_a_contact() {
        let f = fixture();
        let name_of = name_of(&f);
        let everything = |_: Visibility| true;
        let mut out: Vec<String> = Vec::new();
        for o in &f.organisations {
            let p = participations(&o.id, &f.developments, &f.groups, &everything);
            out.push(format!("{p:?}"));
            out.push(format!("{:?}", organisation(o, p)));
        }
        for d in &f.developments {
            let m = development(d, &f.indicators, &name_of, &|_| true);
            out.push(format!(
                "{:?}",
                pb::GetDocumentResponse {
                    development: Some(m),
                    ..Default::default()
                }
            ));
        }
        for g in &f.groups {
            out.push(format!("{:?}", group(g, &name_of, &|_| true)));
        }
        let network =
            crate::network::node_answer(&f.organisations, &f.developments, &f.groups, &everything);
        out.push(format!("{network:?}"));
        out.push(format!("{:?}", crate::network::co_participation(&network)));
        let all = out.join("\n");
        assert!(all.contains("Tiszakécske Város Önkormányzata"), "{all}");
        let c = &f.contact;
        for personal in [
            Some(&c.name),
            c.email.as_ref(),
            c.phone.as_ref(),
            c.position.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            assert!(
                !all.contains(personal.as_str()),
                "{personal:?} left the node"
            );
        }
        assert!(!all.contains("Bodrogi"));
    }
}
