//! Who may ask this node what: the `[policy]` of `node.toml`.
//!
//! Everything is **denied by default**. A caller is the principal of its
//! (CA-verified) client certificate, `role:name`; what it may do is the union
//! of its role's defaults and the extra grants that match it:
//!
//! | principal                                   | may                                                        | sees documents          |
//! |---------------------------------------------|------------------------------------------------------------|-------------------------|
//! | `hub:NAME`, NAME in `hubs`                  | search, get, aggregate at settlement level (and coarser), relay for others | `public`, `federated`   |
//! | `operator:NAME`, NAME in `operators` (default: the node's own name) | everything (`admin`)                   | all, `local` included   |
//! | `national:*`                                | aggregate at `national_granularity` (default kistérség) and coarser; never search | `public`          |
//! | anything else (`node:*`, other hubs and operators) | nothing                                             | —                       |
//! | a principal matching a `[[policy.grant]]`   | additionally what the grant allows                         | hubs and operators: `public`+`federated`; `admin` holders: all; others: `public` |
//!
//! Permissions ([`Permission`]): `search` (also `Info` and `TermStats`),
//! `get`, `aggregate_settlement` (aggregates grouped by settlement; covers
//! the coarser levels too), `aggregate_kisterseg` (kistérség level and
//! coarser: kistérség, region, no grouping) and `admin` (every permission,
//! and `local` documents).
//!
//! ## Requests relayed by hubs
//!
//! A hub that forwards a request on behalf of someone else names the original
//! requester in the gRPC metadata [`ON_BEHALF_OF_HEADER`]
//! (`tudashalo-on-behalf-of: role:name`) and the hubs the request passed in
//! [`VIA_HEADER`] (`tudashalo-via: outer-hub,inner-hub`, outermost first; each
//! hub appends its own name before forwarding). The headers are parsed by
//! the one parser node and hub share, [`tudashalo_proto::relay`]. The node
//! honours them only when the direct peer is a hub listed in `hubs`, and
//! only when the chain is plausible: no hub twice, at most [`MAX_VIA`] hubs,
//! the last one the direct peer ([`tudashalo_proto::relay::check_chain`]; a
//! hub that sends only [`ON_BEHALF_OF_HEADER`] is taken as the whole chain).
//! Then the request is allowed only if *both* the original requester and the
//! relaying hub hold the permission (a relay never widens what the hub could
//! ask for itself), and it sees at most `public` and `federated` documents:
//! `local` documents never leave the node, and `admin` is never relayed.
//! Without [`ON_BEHALF_OF_HEADER`], a hub acts for itself.
//!
//! Relayed operators are accepted: an analyst with a `[[policy.grant]]` asks
//! through the regional hub, which is what the grant is for. Even the node's
//! own operators get, through a hub, no more than the hub itself would:
//! `public` and `federated` documents, no `admin`. A listed hub is trusted
//! with that much anyway; what it cannot do is make the node widen it.
//!
//! A relay header from a principal that is not a hub, or from a hub not listed
//! in `hubs`, is **refused** (not ignored): such a request is either a
//! misconfiguration or an attempt to speak for someone else, and a refusal is
//! visible in the audit log and to the caller.
//!
//! ## Partials
//!
//! Mergeable partials (sums, minimum, maximum, the largest contributions) are
//! raw enough to reveal one settlement's value, so they go only to the hubs
//! listed in `hubs`, which combine them and publish under disclosure control
//! ([`Policy::authorize_partials`]). Neither another role, nor an unlisted
//! hub, nor a `[[policy.grant]]` can obtain them; asking is refused, never
//! silently downgraded to published cells.
//!
//! Refusals are [`Error::PermissionDenied`] naming the principal, the action,
//! the node and the missing permission, e.g. `national:ksh may not aggregate
//! at settlement level on node edelenyi (needs aggregate_settlement)`.

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserialize;
use tudashalo_proto::identity::{Principal, Role, validate_name};

use crate::error::{Error, Result};
use tudashalo_core::search::Audience;

use tudashalo_proto::relay::{self, RelayError};
pub use tudashalo_proto::relay::{MAX_VIA, ON_BEHALF_OF_HEADER, VIA_HEADER};

/// How fine an aggregate may be grouped. `Settlement` is finer than
/// `Kisterseg`; a permission at one level covers every coarser level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Granularity {
    /// Cells per settlement.
    Settlement,
    /// Cells per kistérség or coarser (region, or no grouping at all).
    Kisterseg,
}

impl Granularity {
    /// Whether a permission at level `self` allows an aggregate at `asked`.
    pub fn covers(self, asked: Granularity) -> bool {
        self <= asked
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Settlement => "settlement",
            Granularity::Kisterseg => "kisterseg",
        }
    }
}

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// `Search`, `TermStats` and `Info`.
    Search,
    /// `GetDocument`.
    Get,
    /// `Aggregate` grouped at this level (its finest grouped key:
    /// settlement → `Settlement`; kistérség, region or none → `Kisterseg`).
    Aggregate(Granularity),
    /// Everything, `local` documents included.
    Admin,
}

impl Permission {
    /// Every permission, by its configuration name.
    pub const ALL: [Permission; 5] = [
        Permission::Search,
        Permission::Get,
        Permission::Aggregate(Granularity::Settlement),
        Permission::Aggregate(Granularity::Kisterseg),
        Permission::Admin,
    ];

    /// The name used in `[[policy.grant]] allow` and in refusals.
    pub fn name(self) -> &'static str {
        match self {
            Permission::Search => "search",
            Permission::Get => "get",
            Permission::Aggregate(Granularity::Settlement) => "aggregate_settlement",
            Permission::Aggregate(Granularity::Kisterseg) => "aggregate_kisterseg",
            Permission::Admin => "admin",
        }
    }

    /// The permission called `name`, if any.
    pub fn from_name(name: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.name() == name)
    }

    /// What it allows, in words: "`P` may not {action}".
    fn action(self) -> &'static str {
        match self {
            Permission::Search => "search",
            Permission::Get => "get documents",
            Permission::Aggregate(Granularity::Settlement) => "aggregate at settlement level",
            Permission::Aggregate(Granularity::Kisterseg) => "aggregate at kisterseg level",
            Permission::Admin => "administer",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who is asking: the direct peer (from its certificate), and, for a request
/// relayed by a hub, the hubs it passed and the original requester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The direct peer, from its client certificate.
    pub principal: Principal,
    /// The hubs the request passed, outermost first, ending with the direct
    /// peer when it relays; empty for a direct request.
    pub via: Vec<String>,
    /// The original requester named by a relaying hub.
    pub on_behalf_of: Option<Principal>,
}

impl Caller {
    /// A caller asking for itself.
    pub fn direct(principal: Principal) -> Caller {
        Caller {
            principal,
            via: Vec::new(),
            on_behalf_of: None,
        }
    }

    /// The caller from its certificate's principal and the values of the
    /// relay headers ([`ON_BEHALF_OF_HEADER`], [`VIA_HEADER`]), if sent.
    ///
    /// Only parses: whether the headers are honoured, and whether the chain
    /// is plausible, is for [`Policy::authorize`]. A malformed header is
    /// [`Error::InvalidRequest`]. `via` is the chain as sent; a hub that sent
    /// only [`ON_BEHALF_OF_HEADER`] is taken as the whole chain.
    pub fn identify(
        principal: Principal,
        on_behalf_of: Option<&str>,
        via: Option<&str>,
    ) -> Result<Caller> {
        let on_behalf_of = on_behalf_of
            .map(relay::parse_on_behalf_of)
            .transpose()
            .map_err(relay_error)?;
        let mut hubs = via
            .map(relay::parse_via)
            .transpose()
            .map_err(relay_error)?
            .unwrap_or_default();
        if on_behalf_of.is_some() && via.is_none() && principal.role == Role::Hub {
            hubs.push(principal.name.clone());
        }
        Ok(Caller {
            principal,
            via: hubs,
            on_behalf_of,
        })
    }

    /// Whether a hub relays this request (either relay header was sent).
    pub fn is_relayed(&self) -> bool {
        self.on_behalf_of.is_some() || !self.via.is_empty()
    }
}

/// The `[policy]` section of `node.toml`, as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// The hubs of this node (role hub).
    #[serde(default)]
    pub hubs: Vec<String>,
    /// Operators (role operator) who own the node; default: the node's name.
    #[serde(default)]
    pub operators: Option<Vec<String>>,
    /// `settlement`, `kisterseg` (default) or `none`.
    #[serde(default)]
    pub national_granularity: Option<String>,
    /// `[[policy.grant]]`: extra permissions.
    #[serde(default, rename = "grant")]
    pub grants: Vec<GrantConfig>,
}

/// One `[[policy.grant]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantConfig {
    /// `role:name` or `role:*`.
    pub principal: String,
    /// Permission names: search, get, aggregate_settlement,
    /// aggregate_kisterseg, admin.
    pub allow: Vec<String>,
}

/// What one principal may do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Grants {
    search: bool,
    get: bool,
    aggregate: Option<Granularity>,
    admin: bool,
}

impl Grants {
    fn add(&mut self, permission: Permission) {
        match permission {
            Permission::Search => self.search = true,
            Permission::Get => self.get = true,
            Permission::Aggregate(level) => {
                self.aggregate = Some(self.aggregate.map_or(level, |have| have.min(level)));
            }
            Permission::Admin => self.admin = true,
        }
    }

    fn union(&mut self, other: Grants) {
        self.search |= other.search;
        self.get |= other.get;
        if let Some(level) = other.aggregate {
            self.add(Permission::Aggregate(level));
        }
        self.admin |= other.admin;
    }

    fn allows(&self, permission: Permission) -> bool {
        self.admin
            || match permission {
                Permission::Search => self.search,
                Permission::Get => self.get,
                Permission::Aggregate(asked) => {
                    self.aggregate.is_some_and(|have| have.covers(asked))
                }
                Permission::Admin => false,
            }
    }
}

/// A grant's principal pattern: `role:name` or `role:*`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    role: Role,
    name: Option<String>,
}

impl Pattern {
    fn matches(&self, principal: &Principal) -> bool {
        self.role == principal.role && self.name.as_ref().is_none_or(|n| *n == principal.name)
    }
}

/// The node's access policy, checked and ready.
#[derive(Debug, Clone)]
pub struct Policy {
    node: String,
    hubs: BTreeSet<String>,
    operators: BTreeSet<String>,
    national: Option<Granularity>,
    grants: Vec<(Pattern, Grants)>,
}

impl Policy {
    /// Checks `config` and builds the policy of node `node`. Errors name the
    /// offending key, e.g. `policy.grant[0].allow: unknown permission "serch"`.
    pub fn from_config(node: &str, config: &PolicyConfig) -> std::result::Result<Policy, String> {
        let mut hubs = BTreeSet::new();
        for (i, hub) in config.hubs.iter().enumerate() {
            validate_name(hub).map_err(|e| format!("policy.hubs[{i}]: {e}"))?;
            hubs.insert(hub.clone());
        }
        let mut operators = BTreeSet::new();
        match &config.operators {
            None => {
                operators.insert(node.to_string());
            }
            Some(names) => {
                for (i, name) in names.iter().enumerate() {
                    validate_name(name).map_err(|e| format!("policy.operators[{i}]: {e}"))?;
                    operators.insert(name.clone());
                }
            }
        }
        let national = match config.national_granularity.as_deref() {
            None | Some("kisterseg") => Some(Granularity::Kisterseg),
            Some("settlement") => Some(Granularity::Settlement),
            Some("none") => None,
            Some(other) => {
                return Err(format!(
                    "policy.national_granularity: {other:?} is not a level (expected \"kisterseg\", \"settlement\" or \"none\")"
                ));
            }
        };
        let mut grants = Vec::new();
        for (i, grant) in config.grants.iter().enumerate() {
            let pattern = parse_pattern(&grant.principal)
                .map_err(|e| format!("policy.grant[{i}].principal: {e}"))?;
            let mut allowed = Grants::default();
            for name in &grant.allow {
                let permission = Permission::from_name(name).ok_or_else(|| {
                    let known: Vec<&str> = Permission::ALL.iter().map(|p| p.name()).collect();
                    format!(
                        "policy.grant[{i}].allow: unknown permission {name:?} (expected one of {})",
                        known.join(", ")
                    )
                })?;
                allowed.add(permission);
            }
            grants.push((pattern, allowed));
        }
        Ok(Policy {
            node: node.to_string(),
            hubs,
            operators,
            national,
            grants,
        })
    }

    /// The policy of a node without a `[policy]` section: no hubs, the
    /// node's namesake operator owns it, national users aggregate at
    /// kistérség level.
    pub fn default_for(node: &str) -> Policy {
        Policy {
            node: node.to_string(),
            hubs: BTreeSet::new(),
            operators: BTreeSet::from([node.to_string()]),
            national: Some(Granularity::Kisterseg),
            grants: Vec::new(),
        }
    }

    /// Whether `hub` is one of this node's hubs.
    pub fn is_hub(&self, hub: &str) -> bool {
        self.hubs.contains(hub)
    }

    fn grants_of(&self, principal: &Principal) -> Grants {
        let mut out = Grants::default();
        match principal.role {
            Role::Hub if self.hubs.contains(&principal.name) => {
                out.search = true;
                out.get = true;
                out.aggregate = Some(Granularity::Settlement);
            }
            Role::Operator if self.operators.contains(&principal.name) => out.admin = true,
            Role::National => out.aggregate = self.national,
            _ => {}
        }
        for (pattern, grants) in &self.grants {
            if pattern.matches(principal) {
                out.union(*grants);
            }
        }
        out
    }

    /// Whether `principal`, asking for itself, holds `permission`.
    pub fn allows(&self, principal: &Principal, permission: Permission) -> bool {
        self.grants_of(principal).allows(permission)
    }

    /// Which documents `principal`, asking for itself, may see: everything
    /// for `admin` holders, `public` and `federated` for other hubs and
    /// operators, `public` for everyone else.
    pub fn audience_of(&self, principal: &Principal) -> Audience {
        if self.grants_of(principal).admin {
            Audience::Operator
        } else {
            match principal.role {
                Role::Hub | Role::Operator => Audience::Federation,
                Role::National | Role::Node | Role::Public => Audience::Public,
            }
        }
    }

    /// Decides a request: the audience it may see, or
    /// [`Error::PermissionDenied`] naming the principal and what it lacks.
    pub fn authorize(&self, caller: &Caller, permission: Permission) -> Result<Audience> {
        let peer = &caller.principal;
        let node = &self.node;
        if !caller.is_relayed() {
            if self.allows(peer, permission) {
                return Ok(self.audience_of(peer));
            }
            let hint = if peer.role == Role::Hub && !self.is_hub(&peer.name) {
                format!("; {peer} is not listed in [policy] hubs")
            } else {
                String::new()
            };
            return Err(Error::PermissionDenied(format!(
                "{peer} may not {} on node {node} (needs {permission}{hint})",
                permission.action()
            )));
        }
        let behalf = caller
            .on_behalf_of
            .as_ref()
            .map_or_else(|| "itself".to_string(), |p| p.to_string());
        if peer.role != Role::Hub {
            return Err(Error::PermissionDenied(format!(
                "{peer} is not a hub and may not relay requests on behalf of {behalf} to node {node} ({ON_BEHALF_OF_HEADER} and {VIA_HEADER} are for hubs)"
            )));
        }
        if !self.is_hub(&peer.name) {
            return Err(Error::PermissionDenied(format!(
                "{peer} is not a hub of node {node} (not listed in [policy] hubs) and may not relay requests on behalf of {behalf}"
            )));
        }
        relay::check_chain(&caller.via, &peer.name).map_err(|e| {
            Error::PermissionDenied(format!(
                "node {node} does not believe the relay from {peer} on behalf of {behalf}: {e}"
            ))
        })?;
        let Some(requester) = &caller.on_behalf_of else {
            // A hub that only records the chain acts for itself.
            return if self.allows(peer, permission) {
                Ok(narrower(self.audience_of(peer), Audience::Federation))
            } else {
                Err(Error::PermissionDenied(format!(
                    "{peer} may not {} on node {node} (needs {permission})",
                    permission.action()
                )))
            };
        };
        if permission == Permission::Admin {
            return Err(Error::PermissionDenied(format!(
                "{requester} may not administer node {node} through a hub (needs a direct connection; relayed by {peer})"
            )));
        }
        if !self.allows(requester, permission) {
            return Err(Error::PermissionDenied(format!(
                "{requester} may not {} on node {node} (needs {permission}; relayed by {peer})",
                permission.action()
            )));
        }
        // A relay is the intersection of the two: the hub cannot lend a
        // requester more than it may ask for itself. (Listed hubs hold every
        // permission but `admin` today, so this binds only if that changes.)
        if !self.allows(peer, permission) {
            return Err(Error::PermissionDenied(format!(
                "{peer} may not {} on node {node} (needs {permission}), not even on behalf of {requester}",
                permission.action()
            )));
        }
        // `local` documents never leave through a hub.
        Ok(narrower(self.audience_of(requester), Audience::Federation))
    }

    /// Decides whether the direct peer of `caller` may receive partials:
    /// only a hub listed in `hubs` (not another role, not an unlisted hub,
    /// and no `[[policy.grant]]`). The original requester of a relayed
    /// request does not matter: partials go to the hub, which publishes.
    pub fn authorize_partials(&self, caller: &Caller) -> Result<()> {
        let peer = &caller.principal;
        if peer.role == Role::Hub && self.is_hub(&peer.name) {
            return Ok(());
        }
        Err(Error::PermissionDenied(format!(
            "partials go only to this node's hubs (policy.hubs of node {}); {peer} is not one",
            self.node
        )))
    }
}

/// A relay header error as the node's error: malformed headers are invalid
/// requests, implausible chains are refused.
fn relay_error(e: RelayError) -> Error {
    match e {
        RelayError::Malformed { .. } => Error::InvalidRequest(e.to_string()),
        RelayError::Implausible { .. } => Error::PermissionDenied(e.to_string()),
    }
}

/// The narrower of two audiences.
fn narrower(a: Audience, b: Audience) -> Audience {
    fn rank(a: Audience) -> u8 {
        match a {
            Audience::Public => 0,
            Audience::Federation => 1,
            Audience::Operator => 2,
        }
    }
    if rank(a) <= rank(b) { a } else { b }
}

fn parse_pattern(text: &str) -> std::result::Result<Pattern, String> {
    let (role, name) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not \"role:name\" or \"role:*\""))?;
    let role = role.parse::<Role>().map_err(|e| format!("{text:?}: {e}"))?;
    if name == "*" {
        return Ok(Pattern { role, name: None });
    }
    validate_name(name).map_err(|e| format!("{text:?}: {e}"))?;
    Ok(Pattern {
        role,
        name: Some(name.to_string()),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn p(s: &str) -> Principal {
        s.parse().unwrap()
    }

    fn policy(toml_text: &str) -> Policy {
        let config: PolicyConfig = toml::from_str(toml_text).unwrap();
        Policy::from_config("edelenyi", &config).unwrap()
    }

    fn denied(result: Result<Audience>) -> String {
        match result {
            Err(Error::PermissionDenied(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    const SETTLEMENT: Permission = Permission::Aggregate(Granularity::Settlement);
    const KISTERSEG: Permission = Permission::Aggregate(Granularity::Kisterseg);

    #[test]
    fn deny_by_default() {
        let policy = Policy::from_config("edelenyi", &PolicyConfig::default()).unwrap();
        for who in [
            "hub:regio",
            "operator:analyst",
            "node:miskolci",
            "national:ksh",
        ] {
            let caller = Caller::direct(p(who));
            for permission in [
                Permission::Search,
                Permission::Get,
                SETTLEMENT,
                Permission::Admin,
            ] {
                assert!(
                    policy.authorize(&caller, permission).is_err(),
                    "{who} {permission}"
                );
            }
        }
        // The default owner is the node's namesake operator.
        let owner = Caller::direct(p("operator:edelenyi"));
        assert_eq!(
            policy.authorize(&owner, Permission::Admin).unwrap(),
            Audience::Operator
        );
        assert_eq!(
            policy.authorize(&owner, Permission::Search).unwrap(),
            Audience::Operator
        );
        // National users aggregate at kistérség level by default.
        let ksh = Caller::direct(p("national:ksh"));
        assert_eq!(policy.authorize(&ksh, KISTERSEG).unwrap(), Audience::Public);
        let m = denied(policy.authorize(&ksh, SETTLEMENT));
        assert_eq!(
            m,
            "national:ksh may not aggregate at settlement level on node edelenyi (needs aggregate_settlement)"
        );
        assert_eq!(
            Policy::default_for("edelenyi")
                .authorize(&ksh, KISTERSEG)
                .unwrap(),
            Audience::Public
        );
    }

    #[test]
    fn hubs_operators_and_grants() {
        let policy = policy(
            r#"
            hubs = ["regio"]
            operators = ["gazda"]
            [[grant]]
            principal = "operator:analyst"
            allow = ["search", "get"]
            [[grant]]
            principal = "node:*"
            allow = ["aggregate_kisterseg"]
            "#,
        );
        let hub = Caller::direct(p("hub:regio"));
        for permission in [Permission::Search, Permission::Get, SETTLEMENT, KISTERSEG] {
            assert_eq!(
                policy.authorize(&hub, permission).unwrap(),
                Audience::Federation
            );
        }
        assert!(policy.authorize(&hub, Permission::Admin).is_err());
        let m = denied(policy.authorize(&Caller::direct(p("hub:rogue")), Permission::Search));
        assert!(m.contains("not listed in [policy] hubs"), "{m}");

        let analyst = Caller::direct(p("operator:analyst"));
        assert_eq!(
            policy.authorize(&analyst, Permission::Search).unwrap(),
            Audience::Federation
        );
        let m = denied(policy.authorize(&analyst, KISTERSEG));
        assert!(m.contains("needs aggregate_kisterseg"), "{m}");

        let owner = Caller::direct(p("operator:gazda"));
        assert_eq!(
            policy.authorize(&owner, SETTLEMENT).unwrap(),
            Audience::Operator
        );
        // Listing operators replaces the default owner.
        assert!(
            policy
                .authorize(&Caller::direct(p("operator:edelenyi")), Permission::Search)
                .is_err()
        );

        let node = Caller::direct(p("node:miskolci"));
        assert_eq!(
            policy.authorize(&node, KISTERSEG).unwrap(),
            Audience::Public
        );
        assert!(policy.authorize(&node, SETTLEMENT).is_err());
        assert!(policy.authorize(&node, Permission::Search).is_err());
    }

    #[test]
    fn relayed_requests() {
        let policy = policy(
            r#"
            hubs = ["regio"]
            operators = ["gazda"]
            national_granularity = "kisterseg"
            [[grant]]
            principal = "operator:*"
            allow = ["search"]
            "#,
        );
        let relayed = |peer: &str, behalf: &str| {
            let via = format!("orszagos,{}", p(peer).name);
            Caller::identify(p(peer), Some(behalf), Some(&via)).unwrap()
        };
        let ksh = relayed("hub:regio", "national:ksh");
        assert_eq!(ksh.via, ["orszagos", "regio"]);
        let m = denied(policy.authorize(&ksh, Permission::Search));
        assert_eq!(
            m,
            "national:ksh may not search on node edelenyi (needs search; relayed by hub:regio)"
        );
        assert!(denied(policy.authorize(&ksh, SETTLEMENT)).contains("needs aggregate_settlement"));
        assert_eq!(policy.authorize(&ksh, KISTERSEG).unwrap(), Audience::Public);

        // The owner through a hub: allowed, but no local documents.
        let owner = relayed("hub:regio", "operator:gazda");
        assert_eq!(
            policy.authorize(&owner, Permission::Search).unwrap(),
            Audience::Federation
        );
        assert!(policy.authorize(&owner, Permission::Admin).is_err());

        // An unlisted hub, and a non-hub, may not relay.
        let m =
            denied(policy.authorize(&relayed("hub:rogue", "operator:gazda"), Permission::Search));
        assert!(m.contains("hub:rogue is not a hub of node edelenyi"), "{m}");
        let m =
            denied(policy.authorize(&relayed("operator:x", "operator:gazda"), Permission::Search));
        assert!(m.contains("operator:x is not a hub"), "{m}");

        // Via without on-behalf-of: the hub acts for itself.
        let itself = Caller::identify(p("hub:regio"), None, Some("regio")).unwrap();
        assert_eq!(itself.via, ["regio"]);
        assert_eq!(
            policy.authorize(&itself, SETTLEMENT).unwrap(),
            Audience::Federation
        );
        // On-behalf-of without via: the hub is the whole chain.
        let short = Caller::identify(p("hub:regio"), Some("national:ksh"), None).unwrap();
        assert_eq!(short.via, ["regio"]);
        assert_eq!(
            policy.authorize(&short, KISTERSEG).unwrap(),
            Audience::Public
        );
    }

    #[test]
    fn implausible_chains_are_refused() {
        let policy = policy("hubs = [\"regio\", \"orszagos\"]\n");
        let long: Vec<String> = (0..MAX_VIA).map(|i| format!("h{i}")).collect();
        let long = format!("{},regio", long.join(","));
        for (via, rule) in [
            ("orszagos,regio,orszagos,regio", "appears twice"),
            ("regio,regio", "appears twice"),
            ("orszagos", "the last hub is \"orszagos\""),
            ("regio,orszagos", "the last hub is \"orszagos\""),
            (long.as_str(), "at most 8 may relay"),
        ] {
            let caller = Caller::identify(p("hub:regio"), Some("national:ksh"), Some(via)).unwrap();
            let m = denied(policy.authorize(&caller, KISTERSEG));
            assert!(m.contains("node edelenyi does not believe"), "{via}: {m}");
            assert!(m.contains(rule), "{via}: {m}");
        }
    }

    #[test]
    fn partials_go_only_to_listed_hubs() {
        let policy = policy(
            r#"
            hubs = ["regio"]
            [[grant]]
            principal = "hub:*"
            allow = ["aggregate_settlement"]
            [[grant]]
            principal = "national:ksh"
            allow = ["aggregate_settlement"]
            "#,
        );
        policy
            .authorize_partials(&Caller::direct(p("hub:regio")))
            .unwrap();
        let relayed =
            Caller::identify(p("hub:regio"), Some("national:ksh"), Some("regio")).unwrap();
        policy.authorize_partials(&relayed).unwrap();
        for who in [
            "hub:rogue",
            "national:ksh",
            "operator:edelenyi",
            "node:regio",
        ] {
            let m = match policy.authorize_partials(&Caller::direct(p(who))) {
                Err(Error::PermissionDenied(m)) => m,
                other => panic!("{who}: {other:?}"),
            };
            assert_eq!(
                m,
                format!(
                    "partials go only to this node's hubs (policy.hubs of node edelenyi); {who} is not one"
                )
            );
        }
    }

    #[test]
    fn malformed_headers() {
        for (behalf, via) in [
            (Some("ksh"), None),
            (Some("king:ksh"), None),
            (None, Some("")),
            (None, Some("a,,b")),
            (None, Some("Regio")),
            (None, Some("a,b,")),
        ] {
            assert!(
                matches!(
                    Caller::identify(p("hub:regio"), behalf, via),
                    Err(Error::InvalidRequest(_))
                ),
                "{behalf:?} {via:?}"
            );
        }
        let c = Caller::identify(p("hub:regio"), Some(" national:ksh "), Some("a, regio")).unwrap();
        assert_eq!(c.via, ["a", "regio"]);
        assert_eq!(c.on_behalf_of, Some(p("national:ksh")));
        let c = Caller::identify(p("hub:regio"), None, None).unwrap();
        assert!(!c.is_relayed());
    }

    #[test]
    fn config_errors_name_the_key() {
        let check = |text: &str, wanted: &str| {
            let config: PolicyConfig = toml::from_str(text).unwrap();
            let err = Policy::from_config("edelenyi", &config).unwrap_err();
            assert!(err.contains(wanted), "{err}");
        };
        check(
            "[[grant]]\nprincipal = \"operator:a\"\nallow = [\"serch\"]\n",
            "policy.grant[0].allow: unknown permission \"serch\"",
        );
        check(
            "[[grant]]\nprincipal = \"king:a\"\nallow = []\n",
            "policy.grant[0].principal",
        );
        check(
            "[[grant]]\nprincipal = \"operator\"\nallow = []\n",
            "policy.grant[0].principal",
        );
        check("hubs = [\"Regio\"]\n", "policy.hubs[0]");
        check("operators = [\"\"]\n", "policy.operators[0]");
        check(
            "national_granularity = \"region\"\n",
            "policy.national_granularity",
        );
        assert!(toml::from_str::<PolicyConfig>("hub = []\n").is_err());
    }

    #[test]
    fn granularity_cover() {
        assert!(Granularity::Settlement.covers(Granularity::Kisterseg));
        assert!(Granularity::Kisterseg.covers(Granularity::Kisterseg));
        assert!(!Granularity::Kisterseg.covers(Granularity::Settlement));
        for permission in Permission::ALL {
            assert_eq!(Permission::from_name(permission.name()), Some(permission));
        }
    }
}
