//! `hub.toml`: the hub's members, parents, identity and deadline.
//!
//! The hub keeps certificates and configuration, never data: this file and
//! the TLS files are all it reads at start, and it writes nothing. Unknown
//! keys, unreadable certificates, duplicate member or parent names and
//! malformed endpoints stop the hub at start with a message that names the
//! problem.
//!
//! `[[parent]]` lists the hubs this hub trusts as its parents: the hubs of
//! hubs it is a member of (e.g. the national hub above a regional one). Only
//! a parent may relay requests on behalf of others through this hub
//! (`tudashalo-on-behalf-of`, `tudashalo-via`) and receive mergeable
//! partials; everyone else is the requester itself and gets published,
//! disclosure-controlled cells (see [`crate::relay`]). No parents: the hub
//! serves only its direct clients, which is right for a hub at the top.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tudashalo_proto::identity::Role;
use tudashalo_proto::tls::{RevocationConfig, TlsFiles, TlsOptions};

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: PathBuf,
    pub message: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HubConfig {
    /// The hub's slug, e.g. `eszak-magyarorszag`; also the name in its certificate.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub listen: String,
    /// The default deadline of a federated request, when the client sets none.
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
    pub tls: TlsSection,
    #[serde(default, rename = "member")]
    pub members: Vec<MemberConfig>,
    /// `[[parent]]`: the hubs trusted to relay for others and to receive
    /// partials. Empty by default.
    #[serde(default, rename = "parent")]
    pub parents: Vec<ParentConfig>,
    /// `[revocation]`: how a stale CRL is handled (issue #11, TLS).
    #[serde(default)]
    pub revocation: RevocationConfig,
    /// What a request may ask and how long it may take; what a member may
    /// answer ([`crate::limits`]).
    #[serde(default, skip_serializing)]
    pub limits: crate::limits::HubLimits,
    /// `[portal]`: the web portal, on a listener of its own; off unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal: Option<tudashalo_portal::PortalConfig>,
    /// `[metrics]`: `/metrics` for Prometheus on a listener of its own
    /// (plain HTTP, loopback unless `allow_remote`); off unless set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<tudashalo_proto::metrics::MetricsConfig>,
}

/// One `[[parent]]`: a hub of hubs that has this hub as a member.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ParentConfig {
    /// The parent hub's name, as its certificate names it
    /// (`urn:tudashalo:hub:NAME`).
    pub name: String,
}

/// What a member is, when `hub.toml` says so: its server certificate must
/// then name exactly that role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberRole {
    Node,
    Hub,
}

impl From<MemberRole> for Role {
    fn from(role: MemberRole) -> Role {
        match role {
            MemberRole::Node => Role::Node,
            MemberRole::Hub => Role::Hub,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MemberConfig {
    /// The member's slug; member paths read `name` or `name/submember`.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// `https://host:port` of a node or of another hub.
    pub endpoint: String,
    /// A tighter deadline for this member than the request's, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    /// A member can be listed but switched off.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// `node` or `hub`: the role the member's server certificate must name
    /// with the member's name. Unset: either (both serve the federation;
    /// never `operator` or `national`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<MemberRole>,
}

fn default_deadline_ms() -> u64 {
    2000
}

fn yes() -> bool {
    true
}

impl HubConfig {
    /// Reads and validates the file; relative TLS paths are relative to it.
    pub fn load(path: &Path) -> Result<HubConfig, ConfigError> {
        let err = |message: String| ConfigError {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
        let mut config: HubConfig = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [
            &mut config.tls.cert,
            &mut config.tls.key,
            &mut config.tls.ca,
        ] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        if let Some(portal) = &mut config.portal {
            portal.resolve_paths(base);
        }
        config.validate().map_err(err)?;
        Ok(config)
    }

    /// Checks everything that can be checked without the network.
    pub fn validate(&self) -> Result<(), String> {
        validate_slug(&self.name).map_err(|e| format!("name: {e}"))?;
        self.listen.parse::<std::net::SocketAddr>().map_err(|e| {
            format!(
                "listen: {:?} is not an address such as 127.0.0.1:7700 ({e})",
                self.listen
            )
        })?;
        if self.deadline_ms == 0 {
            return Err("deadline_ms must be positive".into());
        }
        self.limits.validate()?;
        if let Some(portal) = &self.portal {
            portal.check(Path::new("."))?;
        }
        if let Some(metrics) = &self.metrics {
            metrics.address()?;
        }
        if self.deadline_ms > self.limits.max_deadline_ms {
            return Err(format!(
                "deadline_ms ({}) must not exceed limits.max_deadline_ms ({})",
                self.deadline_ms, self.limits.max_deadline_ms
            ));
        }
        let mut seen = HashSet::new();
        for (i, m) in self.members.iter().enumerate() {
            let at = format!("member #{} ({:?})", i + 1, m.name);
            validate_slug(&m.name).map_err(|e| format!("{at}: name: {e}"))?;
            if !seen.insert(m.name.as_str()) {
                return Err(format!("{at}: duplicate member name {:?}", m.name));
            }
            validate_endpoint(&m.endpoint).map_err(|e| format!("{at}: endpoint: {e}"))?;
            if m.deadline_ms == Some(0) {
                return Err(format!("{at}: deadline_ms must be positive"));
            }
        }
        let mut parents = HashSet::new();
        for (i, p) in self.parents.iter().enumerate() {
            let at = format!("parent #{} ({:?})", i + 1, p.name);
            validate_slug(&p.name).map_err(|e| format!("{at}: name: {e}"))?;
            if !parents.insert(p.name.as_str()) {
                return Err(format!("{at}: duplicate parent name {:?}", p.name));
            }
            if p.name == self.name {
                return Err(format!("{at}: a hub cannot be its own parent"));
            }
            if seen.contains(p.name.as_str()) {
                return Err(format!(
                    "{at}: {:?} is also a member; a hub both above and below this one would relay in a loop",
                    p.name
                ));
            }
        }
        Ok(())
    }

    /// The names of the parent hubs.
    pub fn parent_names(&self) -> std::collections::BTreeSet<String> {
        self.parents.iter().map(|p| p.name.clone()).collect()
    }

    pub fn tls_files(&self) -> TlsFiles {
        TlsFiles {
            cert: self.tls.cert.clone(),
            key: self.tls.key.clone(),
            ca: self.tls.ca.clone(),
            crl: None,
        }
    }

    pub fn deadline(&self) -> Duration {
        Duration::from_millis(self.deadline_ms)
    }

    /// The TLS settings that are not files (`[revocation]`).
    pub fn tls_options(&self) -> TlsOptions {
        self.revocation.tls_options()
    }
}

/// Checks that `endpoint` is `https://host:port` with nothing after it.
pub fn validate_endpoint(endpoint: &str) -> Result<(), String> {
    let rest = endpoint.strip_prefix("https://").ok_or_else(|| {
        format!("{endpoint:?} must start with https:// (the federation has no plaintext mode)")
    })?;
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() || authority.contains('/') || authority.contains('?') {
        return Err(format!("{endpoint:?} must be https://host:port"));
    }
    let port = authority
        .rsplit_once(':')
        .map(|(_, port)| port)
        .ok_or_else(|| format!("{endpoint:?} has no port (https://host:port)"))?;
    port.parse::<u16>()
        .map_err(|_| format!("{endpoint:?}: {port:?} is not a port number"))?;
    Ok(())
}

/// Names of nodes, hubs and members follow the certificate name rule.
pub fn validate_slug(name: &str) -> std::result::Result<(), String> {
    tudashalo_proto::identity::validate_name(name).map_err(|e| e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<HubConfig, String> {
        let config: HubConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.validate()?;
        Ok(config)
    }

    const BASE: &str = r#"
name = "eszak-magyarorszag"
listen = "127.0.0.1:7700"
deadline_ms = 2000
[tls]
cert = "pki/hub.pem"
key = "pki/hub.key"
ca = "pki/ca.pem"
"#;

    #[test]
    fn accepts_the_documented_example() {
        let c = parse(&format!(
            "{BASE}\n[[member]]\nname = \"edelenyi\"\nendpoint = \"https://127.0.0.1:7701\"\n"
        ))
        .unwrap();
        assert_eq!(c.members.len(), 1);
        assert!(c.members[0].enabled);
        assert_eq!(c.members[0].role, None);
        assert_eq!(c.revocation.crl_grace_hours, 72);
        assert_eq!(
            c.tls_options().crl_grace,
            std::time::Duration::from_secs(72 * 3600)
        );
    }

    #[test]
    fn member_roles_and_crl_grace() {
        let c = parse(&format!(
            "{BASE}\n[revocation]\ncrl_grace_hours = 0\n[[member]]\nname = \"a\"\nendpoint = \"https://h:1\"\nrole = \"hub\"\n"
        ))
        .unwrap();
        assert_eq!(c.members[0].role, Some(MemberRole::Hub));
        assert_eq!(c.tls_options().crl_grace, std::time::Duration::ZERO);
        let bad = format!(
            "{BASE}\n[[member]]\nname = \"a\"\nendpoint = \"https://h:1\"\nrole = \"operator\"\n"
        );
        assert!(parse(&bad).unwrap_err().contains("operator"));
        let typo = format!("{BASE}\n[revocation]\ncrl_grace = 1\n");
        assert!(parse(&typo).unwrap_err().contains("crl_grace"));
    }

    #[test]
    fn rejects_unknown_keys_duplicates_and_bad_endpoints() {
        let e = parse(&format!("{BASE}\ncolour = \"red\"\n")).unwrap_err();
        assert!(e.contains("colour"), "{e}");
        let dup = format!(
            "{BASE}\n[[member]]\nname = \"a\"\nendpoint = \"https://h:1\"\n[[member]]\nname = \"a\"\nendpoint = \"https://h:2\"\n"
        );
        assert!(parse(&dup).unwrap_err().contains("duplicate member name"));
        let plain = format!("{BASE}\n[[member]]\nname = \"a\"\nendpoint = \"http://h:1\"\n");
        assert!(parse(&plain).unwrap_err().contains("https://"));
        let noport = format!("{BASE}\n[[member]]\nname = \"a\"\nendpoint = \"https://h\"\n");
        assert!(parse(&noport).unwrap_err().contains("no port"));
    }

    #[test]
    fn the_metrics_section_is_checked() {
        let c = parse(&format!("{BASE}\n[metrics]\nlisten = \"127.0.0.1:9464\"\n")).unwrap();
        assert_eq!(c.metrics.unwrap().address().unwrap().port(), 9464);
        let e = parse(&format!("{BASE}\n[metrics]\nlisten = \"10.0.0.1:9464\"\n")).unwrap_err();
        assert!(
            e.contains("metrics.listen") && e.contains("allow_remote"),
            "{e}"
        );
        let c = parse(&format!(
            "{BASE}\n[metrics]\nlisten = \"10.0.0.1:9464\"\nallow_remote = true\n"
        ))
        .unwrap();
        assert!(c.metrics.unwrap().allow_remote);
        assert!(parse(BASE).unwrap().metrics.is_none());
    }

    #[test]
    fn parents_are_checked() {
        let c = parse(&format!("{BASE}\n[[parent]]\nname = \"orszagos\"\n")).unwrap();
        assert_eq!(c.parent_names(), ["orszagos".to_string()].into());
        assert!(parse(BASE).unwrap().parents.is_empty());
        let check = |extra: &str, wanted: &str| {
            let e = parse(&format!("{BASE}\n{extra}")).unwrap_err();
            assert!(e.contains(wanted), "{e}");
        };
        check(
            "[[parent]]\nname = \"Orszagos\"\n",
            "parent #1 (\"Orszagos\"): name",
        );
        check(
            "[[parent]]\nname = \"a\"\n[[parent]]\nname = \"a\"\n",
            "duplicate parent name",
        );
        check(
            "[[parent]]\nname = \"eszak-magyarorszag\"\n",
            "its own parent",
        );
        check(
            "[[member]]\nname = \"a\"\nendpoint = \"https://h:1\"\n[[parent]]\nname = \"a\"\n",
            "also a member",
        );
        check(
            "[[parent]]\nname = \"a\"\nendpoint = \"https://h:1\"\n",
            "endpoint",
        );
    }
}
