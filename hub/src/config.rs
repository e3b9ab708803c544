//! `hub.toml`: the hub's members, identity and deadline.
//!
//! The hub keeps certificates and configuration, never data: this file and
//! the TLS files are all it reads at start, and it writes nothing. Unknown
//! keys, unreadable certificates, duplicate member names and malformed
//! endpoints stop the hub at start with a message that names the problem.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tudashalo_proto::tls::TlsFiles;

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    pub path: PathBuf,
    pub message: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubConfig {
    /// The hub's slug, e.g. `eszak-magyarorszag`; also the name in its certificate.
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub listen: String,
    /// The default deadline of a federated request, when the client sets none.
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
    pub tls: TlsSection,
    #[serde(default, rename = "member")]
    pub members: Vec<MemberConfig>,
    /// What a request may ask and how long it may take; what a member may
    /// answer ([`crate::limits`]).
    #[serde(default)]
    pub limits: crate::limits::HubLimits,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberConfig {
    /// The member's slug; member paths read `name` or `name/submember`.
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// `https://host:port` of a node or of another hub.
    pub endpoint: String,
    /// A tighter deadline for this member than the request's, if set.
    #[serde(default)]
    pub deadline_ms: Option<u64>,
    /// A member can be listed but switched off.
    #[serde(default = "yes")]
    pub enabled: bool,
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
        Ok(())
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
}
