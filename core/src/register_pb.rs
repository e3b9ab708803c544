//! PLACEHOLDER until the reg-network branch lands (signatures only).
#![allow(unused_variables)]
use crate::model::Visibility;
use crate::register::{Development, Organisation, ProjectIndicator, WorkingGroup};
use tudashalo_proto::pb;

pub fn organisation(o: &Organisation, participations: Vec<pb::Participation>) -> pb::Organisation {
    pb::Organisation {
        id: o.id.clone(),
        name: o.name.clone(),
        participations,
        ..Default::default()
    }
}
pub fn development(
    d: &Development,
    indicators: &[ProjectIndicator],
    name_of: &dyn Fn(&str) -> Option<String>,
    document_visible: &dyn Fn(&str) -> bool,
) -> pb::Development {
    pb::Development {
        id: d.id.clone(),
        title: d.title.clone(),
        ..Default::default()
    }
}
pub fn group(
    g: &WorkingGroup,
    name_of: &dyn Fn(&str) -> Option<String>,
    document_visible: &dyn Fn(&str) -> bool,
) -> pb::WorkingGroup {
    pb::WorkingGroup {
        id: g.id.clone(),
        name: g.name.clone(),
        ..Default::default()
    }
}
pub fn participations(
    org_id: &str,
    developments: &[Development],
    groups: &[WorkingGroup],
    visible: &dyn Fn(Visibility) -> bool,
) -> Vec<pb::Participation> {
    Vec::new()
}
