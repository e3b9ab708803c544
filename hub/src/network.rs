//! The network view across members: every member is asked for all the
//! organisations its register lets the requester see, and the hub merges
//! those recognised as one by their register number (törzsszám), computes
//! who cooperated with whom, and only then applies the caller's filters —
//! a name filter applied at the members would miss an organisation that
//! one of them spells differently. Nothing is kept after the answer.

use std::time::Instant;

use tudashalo_core::network;
use tudashalo_proto::pb;

use crate::error::{Error, Result};
use crate::fanout::{fan_out, nested};
use crate::federation::Hub;
use crate::relay::Relay;

impl Hub {
    /// `Network` over the selected members (all by default), with a status
    /// for every member; a member that does not answer makes the answer
    /// partial, never wrong: its organisations are simply absent.
    pub async fn network(
        &self,
        request: pb::NetworkRequest,
        deadline: Instant,
        relay: &Relay,
    ) -> Result<pb::NetworkResponse> {
        network::check_request(&request)?;
        let targets = self.select_members(&request.members)?;
        let outcomes = fan_out(
            targets,
            deadline,
            relay,
            self.counted("Network"),
            |_, mut client, narrowed, out| async move {
                // Everything the member has: filters apply after merging.
                let forwarded = pb::NetworkRequest {
                    members: narrowed,
                    ..Default::default()
                };
                let answer = client.network(out.request(forwarded)).await?.into_inner();
                if answer.organisations.len() > network::MAX_NETWORK_ORGANISATIONS {
                    return Err(Error::TooManyOrganisations {
                        sent: answer.organisations.len(),
                        max: network::MAX_NETWORK_ORGANISATIONS,
                    });
                }
                Ok(answer)
            },
        )
        .in_order()
        .await;
        let mut statuses = Vec::new();
        let mut answers = Vec::new();
        for outcome in outcomes {
            let total = outcome
                .result
                .as_ref()
                .map_or(0, |a| a.organisations.len() as u64);
            statuses.push(outcome.status(total));
            if let Ok(answer) = outcome.result {
                let name = outcome.member.name.clone();
                statuses.extend(nested(&name, answer.members));
                answers.push((name, answer.organisations));
            }
        }
        let merged = network::merge(answers);
        let mut response = network::answer(merged, &request, network::MAX_NETWORK_ORGANISATIONS);
        response.partial = statuses
            .iter()
            .any(|s| s.state != pb::MemberState::Ok as i32);
        response.members = statuses;
        Ok(response)
    }
}
