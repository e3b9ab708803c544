//! `[portal]` in `hub.toml` and `node.toml`: where the portal listens, how
//! (HTTPS from configured files, or plain HTTP only on loopback or behind a
//! declared reverse proxy), its accounts, the key its cookies are signed
//! with, and its limits. Off unless the section is there.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tudashalo_proto::identity::{Principal, Role};

/// Default session lifetime.
pub const DEFAULT_SESSION_MINUTES: u64 = 8 * 60;
/// Default largest upload (all files of one form together).
pub const DEFAULT_MAX_UPLOAD_MB: u64 = 256;
/// Default deadline of one page's requests to the federation.
pub const DEFAULT_TIMEOUT_MS: u64 = 5_000;
/// The principal anonymous visitors ask as, unless configured.
pub const DEFAULT_PUBLIC_PRINCIPAL: &str = "public:portal";

/// `[portal]` as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PortalConfig {
    /// `host:port`, e.g. `127.0.0.1:8080`.
    pub listen: SocketAddr,
    /// HTTPS certificate chain and key (PEM). Without them the portal
    /// speaks plain HTTP, which it allows only on a loopback address or
    /// with `behind_proxy = true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// A reverse proxy terminates TLS in front of the portal: plain HTTP on
    /// any address, cookies still marked `Secure`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub behind_proxy: bool,
    /// The accounts file (`… portal user add` writes it); unset: nobody can
    /// log in, everyone sees what the public may.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<PathBuf>,
    /// A file holding the key session cookies are signed with (at least 32
    /// bytes; `… portal key` writes one). The same file on every replica
    /// lets sessions survive restarts and move between replicas. Needed
    /// when `accounts` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_minutes: Option<u64>,
    /// The principal anonymous visitors ask as (`public:NAME`); default
    /// `public:portal`. Nodes name it in `[[policy.grant]]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_principal: Option<String>,
    /// Single sign-on hook: a header (e.g. `X-Remote-User`) naming the
    /// account of the visitor, set by a trusted front end. Honoured only
    /// on connections from `trusted_proxies`; from anyone else the header
    /// is ignored and logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_user_header: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxies: Vec<IpAddr>,
    /// Largest upload in MiB (all files of one form together).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_upload_mb: Option<u64>,
    /// Deadline of one page's requests to the federation, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// `[portal]` checked: paths resolved against the configuration file's
/// folder, defaults applied.
#[derive(Debug, Clone)]
pub struct Portal {
    pub listen: SocketAddr,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub behind_proxy: bool,
    pub accounts: Option<PathBuf>,
    pub session_key: Option<PathBuf>,
    pub session: Duration,
    pub public: Principal,
    pub trusted_user_header: Option<String>,
    pub trusted_proxies: Vec<IpAddr>,
    pub max_upload_bytes: u64,
    pub timeout: Duration,
}

impl Portal {
    /// Whether cookies may be marked `Secure` (and take the `__Host-`
    /// prefix): over HTTPS, or behind a proxy that terminates it.
    pub fn secure_cookies(&self) -> bool {
        self.tls.is_some() || self.behind_proxy
    }
}

impl PortalConfig {
    /// A plain-HTTP portal on `listen` with no accounts: what the demo and
    /// tests start from.
    pub fn plain(listen: SocketAddr) -> PortalConfig {
        PortalConfig {
            listen,
            cert: None,
            key: None,
            behind_proxy: false,
            accounts: None,
            session_key: None,
            session_minutes: None,
            public_principal: None,
            trusted_user_header: None,
            trusted_proxies: Vec::new(),
            max_upload_mb: None,
            timeout_ms: None,
        }
    }

    /// Makes the section's relative paths relative to `base`, the folder of
    /// the configuration file (as the files' other paths are).
    pub fn resolve_paths(&mut self, base: &Path) {
        for p in [
            &mut self.cert,
            &mut self.key,
            &mut self.accounts,
            &mut self.session_key,
        ]
        .into_iter()
        .flatten()
        {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
    }

    /// Checks the section; `base` is the configuration file's folder.
    /// Errors name the key: `portal.listen: …`.
    pub fn check(&self, base: &Path) -> Result<Portal, String> {
        let resolve = |p: &PathBuf| {
            if p.is_absolute() {
                p.clone()
            } else {
                base.join(p)
            }
        };
        let tls = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => Some((resolve(cert), resolve(key))),
            (None, None) => None,
            (Some(_), None) => return Err("portal.key: needed with portal.cert".into()),
            (None, Some(_)) => return Err("portal.cert: needed with portal.key".into()),
        };
        if tls.is_none() && !self.behind_proxy && !self.listen.ip().is_loopback() {
            return Err(format!(
                "portal.listen: {} is not a loopback address, and plain HTTP there would send passwords and sessions in the clear; set portal.cert and portal.key, or behind_proxy = true if a reverse proxy terminates TLS",
                self.listen
            ));
        }
        if self.accounts.is_some() && self.session_key.is_none() {
            return Err(
                "portal.session_key: needed with portal.accounts (a file of at least 32 random bytes; `portal key --out FILE` writes one)"
                    .into(),
            );
        }
        let public = match &self.public_principal {
            None => DEFAULT_PUBLIC_PRINCIPAL.parse::<Principal>(),
            Some(text) => text.parse::<Principal>(),
        }
        .map_err(|e| format!("portal.public_principal: {e}"))?;
        if public.role != Role::Public {
            return Err(format!(
                "portal.public_principal: {public} is not of the public role (expected public:NAME)"
            ));
        }
        if let Some(header) = &self.trusted_user_header {
            if axum::http::HeaderName::from_bytes(header.as_bytes()).is_err() {
                return Err(format!(
                    "portal.trusted_user_header: {header:?} is not a header name"
                ));
            }
            if self.trusted_proxies.is_empty() {
                return Err(
                    "portal.trusted_proxies: needed with portal.trusted_user_header (the addresses of the front end that sets it)"
                        .into(),
                );
            }
        }
        let minutes = self.session_minutes.unwrap_or(DEFAULT_SESSION_MINUTES);
        if minutes == 0 || minutes > 7 * 24 * 60 {
            return Err(format!(
                "portal.session_minutes: {minutes} is out of range (1 to 10080, a week)"
            ));
        }
        let upload = self.max_upload_mb.unwrap_or(DEFAULT_MAX_UPLOAD_MB);
        if upload == 0 || upload > 4096 {
            return Err(format!(
                "portal.max_upload_mb: {upload} is out of range (1 to 4096)"
            ));
        }
        let timeout = self.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
        if !(100..=120_000).contains(&timeout) {
            return Err(format!(
                "portal.timeout_ms: {timeout} is out of range (100 to 120000)"
            ));
        }
        Ok(Portal {
            listen: self.listen,
            tls,
            behind_proxy: self.behind_proxy,
            accounts: self.accounts.as_ref().map(resolve),
            session_key: self.session_key.as_ref().map(resolve),
            session: Duration::from_secs(minutes * 60),
            public,
            trusted_user_header: self.trusted_user_header.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            max_upload_bytes: upload * 1024 * 1024,
            timeout: Duration::from_millis(timeout),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(text: &str) -> PortalConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn plain_http_only_on_loopback_or_behind_a_proxy() {
        let base = Path::new("/etc/tudashalo");
        assert!(parse("listen = \"127.0.0.1:8080\"").check(base).is_ok());
        let open = parse("listen = \"0.0.0.0:8080\"").check(base).unwrap_err();
        assert!(open.starts_with("portal.listen:"), "{open}");
        let proxied = parse("listen = \"0.0.0.0:8080\"\nbehind_proxy = true")
            .check(base)
            .unwrap();
        assert!(proxied.secure_cookies());
        let https = parse("listen = \"0.0.0.0:8443\"\ncert = \"p.pem\"\nkey = \"p.key\"")
            .check(base)
            .unwrap();
        assert_eq!(https.tls, Some((base.join("p.pem"), base.join("p.key"))));
    }

    #[test]
    fn errors_name_the_key() {
        let base = Path::new(".");
        for (text, key) in [
            (
                "listen = \"127.0.0.1:1\"\naccounts = \"a\"",
                "portal.session_key",
            ),
            (
                "listen = \"127.0.0.1:1\"\npublic_principal = \"operator:x\"",
                "portal.public_principal",
            ),
            (
                "listen = \"127.0.0.1:1\"\ntrusted_user_header = \"X-User\"",
                "portal.trusted_proxies",
            ),
            (
                "listen = \"127.0.0.1:1\"\nmax_upload_mb = 0",
                "portal.max_upload_mb",
            ),
            ("listen = \"127.0.0.1:1\"\ncert = \"c\"", "portal.key"),
        ] {
            let error = parse(text).check(base).unwrap_err();
            assert!(error.starts_with(key), "{text}: {error}");
        }
        assert!(
            toml::from_str::<PortalConfig>("listen = \"127.0.0.1:1\"\nlisten_tls = 1").is_err()
        );
    }
}
