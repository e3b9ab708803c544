//! PLACEHOLDER until the reg-network branch lands (signatures only).
#![allow(unused_variables)]
use crate::model::Visibility;
use crate::register::{Development, Organisation, WorkingGroup};
use tudashalo_proto::pb;

pub const MAX_NETWORK_ORGANISATIONS: usize = 10_000;
pub fn node_answer(
    organisations: &[Organisation],
    developments: &[Development],
    groups: &[WorkingGroup],
    visible: &dyn Fn(Visibility) -> bool,
) -> Vec<pb::NetworkOrganisation> {
    Vec::new()
}
pub fn merge(answers: Vec<(String, Vec<pb::NetworkOrganisation>)>) -> Vec<pb::NetworkOrganisation> {
    Vec::new()
}
pub fn co_participation(orgs: &[pb::NetworkOrganisation]) -> Vec<pb::CoParticipation> {
    Vec::new()
}
pub fn answer(
    orgs: Vec<pb::NetworkOrganisation>,
    request: &pb::NetworkRequest,
    limit_cap: usize,
) -> pb::NetworkResponse {
    pb::NetworkResponse::default()
}
pub fn check_request(r: &pb::NetworkRequest) -> Result<(), crate::Error> {
    Ok(())
}
