//! `node.toml`: the node's configuration, and the commented template that
//! `tudashalo-node init` writes.
//!
//! Unknown keys are errors, so that a typo never silently falls back to a
//! default. Relative paths are relative to the data folder.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::import::Limits;
use tudashalo_core::limits::RequestLimits;
use tudashalo_proto::tls::RevocationConfig;

pub const FILE_NAME: &str = "node.toml";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7701";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// The node's slug, e.g. `edelenyi`; also the name in its certificate.
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default = "default_listen")]
    pub listen: String,
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Who may ask what; see [`crate::policy`]. Absent: deny by default.
    #[serde(default)]
    pub policy: crate::policy::PolicyConfig,
    /// Disclosure control for what this node publishes; it may tighten the
    /// federation's defaults, never loosen them.
    #[serde(default)]
    pub disclosure: tudashalo_core::disclosure::Rules,
    /// How much of the audit log is kept; see [`crate::audit`].
    #[serde(default)]
    pub audit: AuditConfig,
    /// `[revocation]`: how a stale CRL is handled (issue #11, TLS).
    #[serde(default)]
    pub revocation: RevocationConfig,
    /// `[portal]`: the web portal, served by `serve` on a listener of its
    /// own; off unless set.
    #[serde(default)]
    pub portal: Option<tudashalo_portal::PortalConfig>,
    /// `[metrics]`: `/metrics` for Prometheus on a listener of its own
    /// (plain HTTP, loopback unless `allow_remote`); off unless set.
    #[serde(default)]
    pub metrics: Option<tudashalo_proto::metrics::MetricsConfig>,
}

/// `[audit]`: the audit log's retention. Pruned entries are cut behind a
/// checkpoint entry that keeps the chain verifiable (see [`crate::audit`]).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// At most this many entries are kept (checkpoints included); 0: no
    /// bound. Default 1,000,000 (a few hundred MB at most).
    #[serde(default = "default_audit_max_entries")]
    pub max_entries: u64,
    /// Entries older than this many days are pruned; 0 (the default): no
    /// bound by age.
    #[serde(default)]
    pub max_age_days: u32,
    /// A folder (relative to the data folder) that pruned entries are
    /// exported to, as JSON Lines, before they are deleted. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<PathBuf>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            max_entries: default_audit_max_entries(),
            max_age_days: 0,
            archive: None,
        }
    }
}

fn default_audit_max_entries() -> u64 {
    1_000_000
}

impl AuditConfig {
    /// The retention this configures.
    pub fn retention(&self) -> crate::audit::Retention {
        crate::audit::Retention {
            max_entries: (self.max_entries > 0).then_some(self.max_entries),
            max_age_days: (self.max_age_days > 0).then_some(self.max_age_days),
            archive: self.archive.clone(),
        }
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.max_entries == 1 {
            return Err(
                "audit.max_entries must be at least 2 (a checkpoint and one entry), or 0 for no bound"
                    .into(),
            );
        }
        if self.max_age_days > 36_500 {
            return Err(format!(
                "audit.max_age_days {} is more than 100 years; use 0 for no bound",
                self.max_age_days
            ));
        }
        if let Some(archive) = &self.archive
            && archive.as_os_str().is_empty()
        {
            return Err("audit.archive: an empty path; leave it out for no archive".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

/// `[limits]`: the import limits of this node ([`Limits`]) and the request
/// limits ([`RequestLimits`], shared with the hub's `[limits]`), in one table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LimitsConfig {
    pub import: Limits,
    pub requests: RequestLimits,
}

impl<'de> Deserialize<'de> for LimitsConfig {
    /// One TOML table, two structs: `max_body_bytes` is the node's own, the
    /// rest must be request limits (an unknown key is an error that names
    /// it). serde's `flatten` would lose `deny_unknown_fields`.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut table = toml::Table::deserialize(deserializer)?;
        let mut import = Limits::default();
        fn take<'de, T: Deserialize<'de>, E: serde::de::Error>(
            table: &mut toml::Table,
            key: &str,
        ) -> Result<Option<T>, E> {
            table
                .remove(key)
                .map(|value| T::deserialize(value).map_err(|e| E::custom(format!("{key}: {e}"))))
                .transpose()
        }
        if let Some(v) = take::<usize, D::Error>(&mut table, "max_body_bytes")? {
            import.max_body_bytes = v;
        }
        if let Some(v) = take::<u64, D::Error>(&mut table, "max_file_bytes")? {
            import.max_file_bytes = v;
        }
        if let Some(v) = take::<u64, D::Error>(&mut table, "extract_timeout_seconds")? {
            import.extract_timeout = std::time::Duration::from_secs(v);
        }
        if let Some(v) = take::<u64, D::Error>(&mut table, "extract_memory_mb")? {
            import.extract_memory_bytes = v.saturating_mul(1024 * 1024);
        }
        if let Some(v) = take::<f64, D::Error>(&mut table, "min_known_words")? {
            import.min_known_words = v;
        }
        let requests = RequestLimits::deserialize(toml::Value::Table(table))
            .map_err(|e| D::Error::custom(e.to_string()))?;
        Ok(LimitsConfig { import, requests })
    }
}

fn default_listen() -> String {
    DEFAULT_LISTEN.to_string()
}

impl NodeConfig {
    /// Reads and validates `DIR/node.toml`, resolving relative paths against DIR.
    pub fn load(dir: &Path) -> Result<NodeConfig> {
        let path = dir.join(FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotInitialised {
                    dir: dir.to_path_buf(),
                });
            }
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        let mut config: NodeConfig = toml::from_str(&text).map_err(|e| Error::Config {
            path: path.clone(),
            message: e.to_string(),
        })?;
        config
            .validate()
            .map_err(|message| Error::Config { path, message })?;
        if let Some(archive) = &mut config.audit.archive
            && archive.is_relative()
        {
            *archive = dir.join(&*archive);
        }
        if let Some(tls) = &mut config.tls {
            for p in [&mut tls.cert, &mut tls.key, &mut tls.ca] {
                if p.is_relative() {
                    *p = dir.join(&*p);
                }
            }
        }
        if let Some(portal) = &mut config.portal {
            portal.resolve_paths(dir);
        }
        Ok(config)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        validate_slug(&self.name).map_err(|e| format!("name: {e}"))?;
        if let Some(portal) = &self.portal {
            portal.check(Path::new("."))?;
        }
        self.listen.parse::<std::net::SocketAddr>().map_err(|e| {
            format!(
                "listen: {:?} is not an address such as 127.0.0.1:7701 ({e})",
                self.listen
            )
        })?;
        let import = &self.limits.import;
        if import.max_body_bytes == 0 {
            return Err("limits.max_body_bytes must be positive".into());
        }
        if import.max_file_bytes == 0 {
            return Err("limits.max_file_bytes must be positive".into());
        }
        if import.extract_timeout.is_zero() {
            return Err("limits.extract_timeout_seconds must be positive".into());
        }
        if !(0.0..=1.0).contains(&import.min_known_words) {
            return Err("limits.min_known_words must be a share between 0 and 1".into());
        }
        self.limits.requests.validate()?;
        crate::policy::Policy::from_config(&self.name, &self.policy)?;
        self.disclosure
            .validate()
            .map_err(|e| format!("disclosure: {e}"))?;
        self.audit.validate()?;
        if let Some(metrics) = &self.metrics {
            metrics.address()?;
        }
        Ok(())
    }
}

/// Names of nodes, hubs and members follow the certificate name rule.
pub fn validate_slug(name: &str) -> std::result::Result<(), String> {
    tudashalo_proto::identity::validate_name(name).map_err(|e| e.to_string())
}

/// The commented `node.toml` that `init` writes.
pub fn template(name: &str, display_name: &str) -> String {
    format!(
        r#"# Tudásháló node configuration. Relative paths are relative to this folder.

# The node's name (slug). It must match the name in the node's certificate.
name = "{name}"
# How people call this kistérség.
display_name = "{display_name}"
# Where `tudashalo-node serve` listens (gRPC over mTLS).
listen = "{DEFAULT_LISTEN}"

# The node's identity and the federation CA. `tudashalo-hub pki issue` writes
# these files; `serve --cert/--key/--ca` override them.
# [tls]
# cert = "pki/{name}.pem"
# key = "pki/{name}.key"
# ca = "pki/ca.pem"

[limits]
# The largest document body accepted at import, in bytes (8 MiB).
max_body_bytes = {max_body}
# Files read by an extractor (.pdf, .docx, .odt, .html, .rtf, .xlsx, .ods):
# max_file_bytes = 268435456     # the largest file given to one (256 MiB)
# extract_timeout_seconds = 120  # one file's extraction, then `timeout`
# extract_memory_mb = 2048       # an extractor process's address space; 0: unlimited
# min_known_words = 0.3          # share of words the Hungarian dictionary must
#                                # know, else `garbled`; 0 turns the check off
# What one request may ask for; a request beyond is refused (InvalidArgument,
# naming the limit). The defaults fit real queries with room to spare.
# max_query_chars = 1024   # characters of a query text
# max_query_depth = 16     # nesting of parentheses in a query text
# max_query_terms = 64     # words in a query text
# max_filter_values = 256  # values per search filter (kinds, sectors, settlements)
# max_ids = 1000           # ids in a search's ids filter (at least 1000)
# max_settlements = 4096   # settlements in an aggregate request
# max_indicators = 64      # indicators in an aggregate request
# max_members = 256        # member paths in a request
# max_value_chars = 256    # characters of any one such value

# Disclosure control for the aggregates this node publishes. A node may
# tighten these federation defaults, never loosen them.
# [disclosure]
# min_contributors = 3     # fewer contributing settlements: confidential
# count_unit = "fő"        # counts in this unit ...
# max_small_count = 2.0    # ... of 1 or 2 are confidential
# dominance_n = 2          # the n largest contributions ...
# dominance_k = 85.0       # ... holding more than k % of a sum: confidential

# The audit log of requests from outside is kept to a bounded size: older
# entries are cut behind a checkpoint (signed with the TLS key) that keeps
# the hash chain verifiable. 0 means no bound.
# [audit]
# max_entries = 1000000
# max_age_days = 0
# archive = "audit-archive"  # export pruned entries here first
# A revocation list (crl.pem next to the CA) past its nextUpdate is still
# used for this many hours, with a warning every hour; after that every TLS
# handshake is refused until a fresh one is installed (`tudashalo-hub pki crl`).
# [revocation]
# crl_grace_hours = 72

# `/metrics` for Prometheus (and `/healthz`), plain HTTP on a listener of
# its own; off unless set. A non-loopback address needs allow_remote = true
# (no document data is in the metrics, but counts are operational information).
# [metrics]
# listen = "127.0.0.1:9464"
# allow_remote = false

# Who may ask this node what over gRPC. Everything not allowed is refused.
# Callers are named by their certificates, "role:name".
[policy]
# The hubs of this node (role hub): they may search, get documents and
# aggregate at settlement level and coarser, and relay requests on behalf of
# others (who must then be allowed themselves). `local` documents never leave.
hubs = []
# Operators (role operator) who own this node: they may do everything and see
# `local` documents too. Default: the node's own name.
# operators = ["{name}"]
# The national role may aggregate at this level and coarser: "kisterseg"
# (default), "settlement" or "none". It may not search.
# national_granularity = "kisterseg"
# Extra grants: principal "role:name" or "role:*"; allow any of search, get,
# aggregate_settlement, aggregate_kisterseg, admin.
# [[policy.grant]]
# principal = "operator:analyst"
# allow = ["search", "get"]
"#,
        display_name = display_name.replace('\\', "\\\\").replace('"', "\\\""),
        max_body = Limits::default().max_body_bytes,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod limits_tests {
    use super::*;

    #[test]
    fn a_bad_metrics_address_names_the_file_and_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let base = template("edelenyi", "Edelényi");
        std::fs::write(
            dir.path().join(FILE_NAME),
            format!("{base}\n[metrics]\nlisten = \"0.0.0.0:9464\"\n"),
        )
        .unwrap();
        let e = NodeConfig::load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("node.toml") && e.contains("metrics.listen"),
            "{e}"
        );
        std::fs::write(
            dir.path().join(FILE_NAME),
            format!("{base}\n[metrics]\nlisten = \"127.0.0.1:9464\"\n"),
        )
        .unwrap();
        let config = NodeConfig::load(dir.path()).unwrap();
        assert_eq!(config.metrics.unwrap().listen, "127.0.0.1:9464");
    }

    #[test]
    fn limits_share_one_table_and_refuse_unknown_keys() {
        let limits: LimitsConfig =
            toml::from_str("max_body_bytes = 1000\nmax_query_chars = 500\n").unwrap();
        assert_eq!(limits.import.max_body_bytes, 1000);
        assert_eq!(limits.requests.max_query_chars, 500);
        assert_eq!(limits.requests.max_query_depth, 16);
        let defaults: LimitsConfig = toml::from_str("").unwrap();
        assert_eq!(defaults, LimitsConfig::default());
        let e = toml::from_str::<LimitsConfig>("max_query_colour = 1\n").unwrap_err();
        assert!(e.to_string().contains("max_query_colour"), "{e}");
    }
}
