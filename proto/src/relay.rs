//! The relay headers: on whose behalf a hub asks, and through which hubs.
//!
//! A hub that forwards a request names the original requester in
//! [`ON_BEHALF_OF_HEADER`] (`tudashalo-on-behalf-of: role:name`) and the hubs
//! the request passed in [`VIA_HEADER`] (`tudashalo-via: outer,inner`,
//! outermost first, ending with the hub that sends it). Both node and hub
//! read them here, so that the two apply the same rules:
//!
//! - **Syntax** ([`read`], [`parse_on_behalf_of`], [`parse_via`]): each
//!   header at most once, printable ASCII; the requester is `role:name`; the
//!   chain is comma-separated valid names with no empty entry. A violation is
//!   [`RelayError::Malformed`] (`InvalidArgument` for the caller).
//! - **Plausibility** ([`check_chain`]): no hub twice, at most [`MAX_VIA`]
//!   hubs, and the last entry is the direct peer (the hub whose certificate
//!   is on the connection): a hub appends its own name before forwarding, so
//!   a chain that does not end with the sender was not built by hubs that
//!   follow the protocol. A violation is [`RelayError::Implausible`]
//!   (`PermissionDenied`: the receiver refuses to believe the claim).
//!
//! *Whether* the headers are honoured at all is not decided here: a node
//! honours them only from the hubs its `[policy] hubs` lists, a hub only from
//! the parents its `hub.toml` lists (`[[parent]]`). Everyone else who sends
//! them is refused.

use tonic::metadata::MetadataMap;

use crate::identity::{Principal, validate_name};

/// gRPC metadata key with which a hub names the original requester,
/// `role:name` (e.g. `national:ksh`).
pub const ON_BEHALF_OF_HEADER: &str = "tudashalo-on-behalf-of";
/// gRPC metadata key with which hubs record the chain of hubs a request
/// passed, comma-separated hub names, outermost first (e.g. `orszagos,north`).
pub const VIA_HEADER: &str = "tudashalo-via";
/// The longest hub chain a relayed request may name (the hub that receives
/// it included, once it appends itself).
pub const MAX_VIA: usize = 8;

/// Why relay headers are not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    /// A header is not well formed: the request is invalid.
    #[error("{header}: {reason}")]
    Malformed {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The headers are well formed but cannot be true.
    #[error("{VIA_HEADER} {chain:?} is not plausible: {reason}")]
    Implausible {
        /// The chain as received, comma-separated.
        chain: String,
        /// Which rule it breaks.
        reason: String,
    },
}

impl From<RelayError> for tonic::Status {
    fn from(e: RelayError) -> tonic::Status {
        match e {
            RelayError::Malformed { .. } => tonic::Status::invalid_argument(e.to_string()),
            RelayError::Implausible { .. } => tonic::Status::permission_denied(e.to_string()),
        }
    }
}

/// The relay headers of a request, as sent (untrimmed, unparsed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayHeaders {
    /// The value of [`ON_BEHALF_OF_HEADER`], if sent.
    pub on_behalf_of: Option<String>,
    /// The value of [`VIA_HEADER`], if sent.
    pub via: Option<String>,
}

impl RelayHeaders {
    /// Whether either header was sent.
    pub fn any(&self) -> bool {
        self.on_behalf_of.is_some() || self.via.is_some()
    }

    /// The names of the headers that were sent, for logs and refusals,
    /// e.g. `tudashalo-on-behalf-of, tudashalo-via`.
    pub fn names(&self) -> String {
        let mut names = Vec::new();
        if self.on_behalf_of.is_some() {
            names.push(ON_BEHALF_OF_HEADER);
        }
        if self.via.is_some() {
            names.push(VIA_HEADER);
        }
        names.join(", ")
    }
}

/// Reads both relay headers from `metadata`. A header sent more than once, or
/// not printable ASCII, is [`RelayError::Malformed`]: a second value could
/// otherwise be read by one server and missed by another.
pub fn read(metadata: &MetadataMap) -> Result<RelayHeaders, RelayError> {
    Ok(RelayHeaders {
        on_behalf_of: single(metadata, ON_BEHALF_OF_HEADER)?,
        via: single(metadata, VIA_HEADER)?,
    })
}

fn single(metadata: &MetadataMap, header: &'static str) -> Result<Option<String>, RelayError> {
    let mut values = metadata.get_all(header).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(RelayError::Malformed {
            header,
            reason: "sent more than once".into(),
        });
    }
    value
        .to_str()
        .map(|v| Some(v.to_string()))
        .map_err(|_| RelayError::Malformed {
            header,
            reason: "not printable ASCII".into(),
        })
}

/// Parses [`ON_BEHALF_OF_HEADER`]: `role:name`, surrounding blanks ignored.
pub fn parse_on_behalf_of(value: &str) -> Result<Principal, RelayError> {
    value
        .trim()
        .parse::<Principal>()
        .map_err(|e| RelayError::Malformed {
            header: ON_BEHALF_OF_HEADER,
            reason: format!("{e} (expected role:name)"),
        })
}

/// Parses [`VIA_HEADER`]: comma-separated hub names, blanks around them
/// ignored; every entry must be a valid name. Plausibility is
/// [`check_chain`]'s.
pub fn parse_via(value: &str) -> Result<Vec<String>, RelayError> {
    value
        .split(',')
        .map(str::trim)
        .map(|hub| {
            validate_name(hub)
                .map(|()| hub.to_string())
                .map_err(|e| RelayError::Malformed {
                    header: VIA_HEADER,
                    reason: format!("{e} (expected comma-separated hub names)"),
                })
        })
        .collect()
}

/// Checks that `via`, received from the hub called `peer`, could have been
/// built by hubs following the protocol: no hub twice (a loop), at most
/// [`MAX_VIA`] hubs, and the last one is `peer` itself.
pub fn check_chain(via: &[String], peer: &str) -> Result<(), RelayError> {
    let implausible = |reason: String| RelayError::Implausible {
        chain: via.join(","),
        reason,
    };
    if via.len() > MAX_VIA {
        return Err(implausible(format!(
            "{} hubs; at most {MAX_VIA} may relay a request",
            via.len()
        )));
    }
    for (i, hub) in via.iter().enumerate() {
        if via[..i].contains(hub) {
            return Err(implausible(format!(
                "hub {hub:?} appears twice (a relay loop)"
            )));
        }
    }
    match via.last() {
        Some(last) if last == peer => Ok(()),
        Some(last) => Err(implausible(format!(
            "the last hub is {last:?}, but the request came from hub {peer:?} (each hub appends its own name)"
        ))),
        None => Err(implausible("no hub named".into())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn chain(s: &str) -> Vec<String> {
        parse_via(s).unwrap()
    }

    #[test]
    fn parses_well_formed_headers() {
        assert_eq!(chain(" orszagos , regio"), ["orszagos", "regio"]);
        assert_eq!(
            parse_on_behalf_of(" national:ksh ").unwrap().to_string(),
            "national:ksh"
        );
        for bad in ["", "a,,b", "Regio", "a b", "a,"] {
            assert!(
                matches!(parse_via(bad), Err(RelayError::Malformed { .. })),
                "{bad:?}"
            );
        }
        for bad in ["ksh", "king:ksh", "national:", ""] {
            assert!(
                matches!(parse_on_behalf_of(bad), Err(RelayError::Malformed { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn checks_that_a_chain_is_plausible() {
        check_chain(&chain("orszagos,regio"), "regio").unwrap();
        check_chain(&chain("regio"), "regio").unwrap();
        let reason =
            |via: &str, peer: &str| check_chain(&chain(via), peer).unwrap_err().to_string();
        assert!(reason("a,b,a", "a").contains("\"a\" appears twice"));
        assert!(reason("orszagos", "regio").contains("the last hub is \"orszagos\""));
        let long: Vec<String> = (0..=MAX_VIA).map(|i| format!("h{i}")).collect();
        let m = check_chain(&long, &format!("h{MAX_VIA}"))
            .unwrap_err()
            .to_string();
        assert!(m.contains("at most 8 may relay"), "{m}");
        assert!(check_chain(&[], "regio").is_err());
        let status = tonic::Status::from(check_chain(&chain("x"), "regio").unwrap_err());
        assert_eq!(status.code(), tonic::Code::PermissionDenied);
        let status = tonic::Status::from(parse_via("").unwrap_err());
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
    }

    #[test]
    fn reads_each_header_once() {
        let mut metadata = MetadataMap::new();
        assert!(!read(&metadata).unwrap().any());
        metadata.insert(VIA_HEADER, "regio".parse().unwrap());
        let headers = read(&metadata).unwrap();
        assert_eq!(headers.via.as_deref(), Some("regio"));
        assert_eq!(headers.names(), VIA_HEADER);
        metadata.append(VIA_HEADER, "other".parse().unwrap());
        let e = read(&metadata).unwrap_err();
        assert!(e.to_string().contains("sent more than once"), "{e}");
    }
}
