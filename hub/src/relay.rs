//! On whose behalf a hub asks: the original requester and the chain of hubs,
//! passed to members in gRPC metadata so that each node applies its policy to
//! the person or system that asked, not merely to the hub that relays.
//!
//! The hub's certificate proves the hub; its statement of on whose behalf it
//! asks is what the node records in its audit log and decides on. So the hub
//! must not repeat a claim it has no reason to believe:
//!
//! - From a **parent** (a hub listed as `[[parent]]` in `hub.toml`, i.e. a
//!   hub of hubs this hub serves), the relay headers are honoured: the
//!   requester is the one the parent names (the parent itself if it names
//!   none), and the chain is the parent's, checked for plausibility by the
//!   parser node and hub share ([`tudashalo_proto::relay`]: each header once,
//!   valid names, no hub twice, at most `MAX_VIA`, ending with the parent).
//! - From **anyone else** (operators, national users, hubs that are not
//!   parents — say, another region's hub), the requester is the caller
//!   itself, as its certificate names it. If such a caller sends relay
//!   headers, the request is **refused** (`PermissionDenied`) and logged at
//!   warn with the principal and the headers. Refused rather than ignored:
//!   the node refuses the same headers from hubs it does not list, so the two
//!   behave alike; a parent left out of `hub.toml` shows up as a clear
//!   refusal instead of its users being silently answered with the parent
//!   hub's own rights; and an attempt to speak for someone else is an error
//!   the caller sees, not a request that half-succeeds.
//!
//! The hub then appends its own name to the chain and forwards both headers
//! to its members.

use std::collections::BTreeSet;
use std::time::Duration;

use tonic::metadata::MetadataValue;
use tudashalo_proto::identity::{Principal, Role, peer_principal};
use tudashalo_proto::relay::{self, MAX_VIA, ON_BEHALF_OF_HEADER, VIA_HEADER};

use crate::error::Error;

/// The relay headers of one request, as this hub forwards them.
#[derive(Debug, Clone, Default)]
pub struct Relay {
    /// `role:name` of the original requester.
    pub on_behalf_of: Option<String>,
    /// Hubs the request passed, outermost first, ending with this hub.
    pub via: Vec<String>,
    /// The direct caller, from its certificate (`None` only for requests the
    /// hub makes itself, e.g. in tests).
    pub caller: Option<Principal>,
    /// Whether the direct caller is one of this hub's parents: only then may
    /// it relay for others and receive partials.
    pub from_parent: bool,
}

impl Relay {
    /// The relay for a request received by hub `hub`, whose parents are
    /// `parents`, from its client.
    pub fn of<T>(
        hub: &str,
        parents: &BTreeSet<String>,
        request: &tonic::Request<T>,
    ) -> Result<Relay, Error> {
        let principal = peer_principal(request).ok_or(Error::NoIdentity)?;
        let from_parent = principal.role == Role::Hub && parents.contains(&principal.name);
        let (on_behalf_of, mut via) = if from_parent {
            let headers = relay::read(request.metadata())?;
            let behalf = match &headers.on_behalf_of {
                Some(value) => relay::parse_on_behalf_of(value)?,
                None => principal.clone(),
            };
            let via = match &headers.via {
                Some(value) => {
                    let via = relay::parse_via(value)?;
                    relay::check_chain(&via, &principal.name).map_err(|error| {
                        Error::UnbelievedRelay {
                            hub: hub.to_string(),
                            parent: principal.to_string(),
                            error,
                        }
                    })?;
                    via
                }
                None => vec![principal.name.clone()],
            };
            (behalf, via)
        } else {
            let sent: Vec<&str> = [ON_BEHALF_OF_HEADER, VIA_HEADER]
                .into_iter()
                .filter(|h| request.metadata().contains_key(*h))
                .collect();
            if !sent.is_empty() {
                let header = sent.join(", ");
                tracing::warn!(
                    hub,
                    principal = %principal,
                    %header,
                    "relay headers from a caller that is not a parent of this hub: refused"
                );
                return Err(Error::NotAParent {
                    principal: principal.to_string(),
                    hub: hub.to_string(),
                    headers: header,
                });
            }
            (principal.clone(), Vec::new())
        };
        if via.iter().any(|h| h == hub) {
            return Err(Error::RelayLoop {
                hub: hub.to_string(),
            });
        }
        via.push(hub.to_string());
        if via.len() > MAX_VIA {
            return Err(Error::TooManyHubs);
        }
        Ok(Relay {
            on_behalf_of: Some(on_behalf_of.to_string()),
            via,
            caller: Some(principal),
            from_parent,
        })
    }

    /// Checks that the direct caller may receive partials: only this hub's
    /// parents combine them further; everyone else gets published,
    /// disclosure-controlled cells.
    pub fn authorize_partials(&self, hub: &str) -> Result<(), Error> {
        if self.from_parent {
            return Ok(());
        }
        let caller = self
            .caller
            .as_ref()
            .map_or_else(|| "the caller".to_string(), ToString::to_string);
        tracing::warn!(hub, principal = %caller, "partials asked by a caller that is not a parent: refused");
        Err(Error::PartialsRefused {
            hub: hub.to_string(),
            caller,
        })
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
