//! On whose behalf a hub asks: the original requester and the chain of hubs,
//! passed to members in gRPC metadata so that each node applies its policy to
//! the person or system that asked, not merely to the hub that relays.
//!
//! The hub's certificate proves the hub; its statement of on whose behalf it
//! asks is what the node records in its audit log and decides on. A hub
//! relays the requester it authenticated itself (its direct client's
//! certificate), or, when that client is a hub, the requester that hub named.

use std::time::Duration;

use tonic::Status;
use tonic::metadata::MetadataValue;
use tudashalo_node::policy::{MAX_VIA, ON_BEHALF_OF_HEADER, VIA_HEADER};
use tudashalo_proto::identity::{Role, peer_principal};

/// The relay headers of one request, as this hub forwards them.
#[derive(Debug, Clone, Default)]
pub struct Relay {
    /// `role:name` of the original requester.
    pub on_behalf_of: Option<String>,
    /// Hubs the request passed, outermost first, ending with this hub.
    pub via: Vec<String>,
}

impl Relay {
    /// The relay for a request received by hub `hub` from its client.
    pub fn of<T>(hub: &str, request: &tonic::Request<T>) -> Result<Relay, Status> {
        let principal = peer_principal(request).ok_or_else(|| {
            Status::unauthenticated("no client certificate with a urn:tudashalo:ROLE:NAME name")
        })?;
        let header = |name: &str| -> Result<Option<String>, Status> {
            match request.metadata().get(name) {
                None => Ok(None),
                Some(v) => v
                    .to_str()
                    .map(|s| Some(s.trim().to_string()))
                    .map_err(|_| Status::invalid_argument(format!("{name}: not ASCII"))),
            }
        };
        let (on_behalf_of, mut via) = if principal.role == Role::Hub {
            // A hub relays for someone else (or asks for itself).
            let behalf = header(ON_BEHALF_OF_HEADER)?.unwrap_or_else(|| principal.to_string());
            let mut via: Vec<String> = header(VIA_HEADER)?
                .map(|v| {
                    v.split(',')
                        .map(|h| h.trim().to_string())
                        .filter(|h| !h.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            if via.last() != Some(&principal.name) {
                via.push(principal.name.clone());
            }
            (Some(behalf), via)
        } else {
            // Anyone else speaks for themselves; relay headers they send are ignored.
            (Some(principal.to_string()), Vec::new())
        };
        if via.iter().any(|h| h == hub) {
            return Err(Status::failed_precondition(format!(
                "relay loop: the request already passed hub {hub}"
            )));
        }
        via.push(hub.to_string());
        if via.len() > MAX_VIA {
            return Err(Status::failed_precondition(format!(
                "the request passed more than {MAX_VIA} hubs"
            )));
        }
        Ok(Relay { on_behalf_of, via })
    }

    /// Adds the relay headers to an outgoing request.
    pub fn apply<T>(&self, request: &mut tonic::Request<T>) {
        if let Some(behalf) = &self.on_behalf_of
            && let Ok(value) = MetadataValue::try_from(behalf.as_str())
        {
            request.metadata_mut().insert(ON_BEHALF_OF_HEADER, value);
        }
        if !self.via.is_empty()
            && let Ok(value) = MetadataValue::try_from(self.via.join(",").as_str())
        {
            request.metadata_mut().insert(VIA_HEADER, value);
        }
    }
}

/// What a member call needs besides its message: its time budget and the
/// relay headers.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub budget: Duration,
    pub relay: Relay,
}

impl Outgoing {
    /// The outgoing request: deadline and relay headers set.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.set_timeout(self.budget);
        self.relay.apply(&mut request);
        request
    }
}
