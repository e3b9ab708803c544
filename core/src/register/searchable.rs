//! What the index holds of a document or a register record, derived here
//! once: [`Searchable`], one shape for both, so that one index, one ranking
//! and one set of facets serve documents and the register alike.

use crate::model::{Document, Visibility};

use super::{Development, Entity, Organisation, Programme, TargetGroup, WorkingGroup, year_of};

/// What the index holds of a document or a register record: one shape, so
/// that one index, one ranking and one set of facets serve both.
#[derive(Debug, Clone, PartialEq)]
pub struct Searchable {
    /// The key ([`Entity::key`]).
    pub key: String,
    pub entity: Entity,
    pub title: String,
    pub body: String,
    /// A document's kind; for a register record its entity.
    pub kind: String,
    pub sectors: Vec<String>,
    pub settlements: Vec<String>,
    pub year: Option<i32>,
    pub visibility: Visibility,
    pub source: Option<crate::model::Source>,
    /// Developments only.
    pub programme: Option<Programme>,
    pub status: Option<String>,
    pub target_groups: Vec<TargetGroup>,
    /// Awarded support, Ft (developments only).
    pub amount: Option<u64>,
}

impl Searchable {
    pub fn of_document(d: &Document) -> Searchable {
        Searchable {
            key: d.id.clone(),
            entity: Entity::Document,
            title: d.title.clone(),
            body: d.body.clone(),
            kind: d.kind.as_str().to_string(),
            sectors: d.sectors.clone(),
            settlements: d.settlements.clone(),
            year: d.year,
            visibility: d.visibility,
            source: d.source.clone(),
            programme: None,
            status: None,
            target_groups: Vec::new(),
            amount: None,
        }
    }

    /// A development as the index holds it. `name_of` gives an
    /// organisation's name from its id (the text says who carried it out).
    pub fn of_development(d: &Development, name_of: &dyn Fn(&str) -> Option<String>) -> Searchable {
        let mut body = d.summary.clone();
        let mut line = |s: &str| {
            if !s.is_empty() {
                if !body.is_empty() {
                    body.push('\n');
                }
                body.push_str(s);
            }
        };
        line(&format!(
            "{} ({})",
            d.programme.label(),
            d.programme.as_str()
        ));
        if let Some(call) = &d.call {
            line(call);
        }
        let names: Vec<String> = d
            .participants()
            .iter()
            .map(|m| name_of(&m.organisation).unwrap_or_else(|| m.organisation.clone()))
            .collect();
        line(&names.join(", "));
        let groups: Vec<&str> = d.target_groups.iter().map(|t| t.label()).collect();
        line(&groups.join(", "));
        line(&d.settlements.join(", "));
        Searchable {
            key: Entity::Development.key(&d.id),
            entity: Entity::Development,
            title: d.title.clone(),
            body,
            kind: Entity::Development.as_str().to_string(),
            sectors: d.sectors.clone(),
            settlements: d.settlements.clone(),
            year: d.year(),
            visibility: d.visibility,
            source: None,
            programme: Some(d.programme),
            status: Some(d.status.as_str().to_string()),
            target_groups: d.target_groups.clone(),
            amount: d.support,
        }
    }

    pub fn of_organisation(o: &Organisation) -> Searchable {
        let mut parts = vec![o.legal_form.label().to_string()];
        parts.extend(o.seat.clone());
        parts.extend(o.sectors.iter().cloned());
        parts.extend(o.website.clone());
        Searchable {
            key: Entity::Organisation.key(&o.id),
            entity: Entity::Organisation,
            title: o.name.clone(),
            body: parts.join("\n"),
            kind: Entity::Organisation.as_str().to_string(),
            sectors: o.sectors.clone(),
            settlements: o.seat.iter().cloned().collect(),
            year: None,
            visibility: o.visibility,
            source: None,
            programme: None,
            status: None,
            target_groups: Vec::new(),
            amount: None,
        }
    }

    pub fn of_group(g: &WorkingGroup, name_of: &dyn Fn(&str) -> Option<String>) -> Searchable {
        let mut parts = vec![g.theme.clone()];
        let names: Vec<String> = g
            .members
            .iter()
            .map(|m| name_of(m).unwrap_or_else(|| m.clone()))
            .collect();
        parts.push(names.join(", "));
        parts.extend(g.meetings.iter().filter_map(|m| m.topic.clone()));
        Searchable {
            key: Entity::Group.key(&g.id),
            entity: Entity::Group,
            title: g.name.clone(),
            body: parts.join("\n"),
            kind: Entity::Group.as_str().to_string(),
            sectors: vec![g.theme.clone()],
            settlements: Vec::new(),
            year: g.meetings.iter().filter_map(|m| year_of(&m.date)).min(),
            visibility: g.visibility,
            source: None,
            programme: None,
            status: Some(g.status.as_str().to_string()),
            target_groups: Vec::new(),
            amount: None,
        }
    }
}
