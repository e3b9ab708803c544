//! Writing the configuration of a federation on loopback: `hub.toml` from a
//! [`HubConfig`] through serde (the hub's own types, so that what is written
//! is what [`HubConfig::load`] reads), and the `[policy]` of a `node.toml`
//! that `tudashalo-node init` wrote. The one writer of these files for the
//! demo, the benchmarks and the end-to-end tests.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use tudashalo_hub::config::{HubConfig, MemberConfig, ParentConfig, TlsSection};
use tudashalo_hub::limits::HubLimits;
use tudashalo_node::config::TlsConfig as NodeTlsConfig;
use tudashalo_proto::tls::TlsFiles;

/// The default deadline of a hub from [`hub_config`], in milliseconds.
pub const DEADLINE_MS: u64 = 5_000;

/// An enabled member `name` at `endpoint`, of either role.
pub fn member(name: &str, endpoint: &str) -> MemberConfig {
    MemberConfig {
        name: name.to_string(),
        display_name: None,
        endpoint: endpoint.to_string(),
        deadline_ms: None,
        enabled: true,
        role: None,
    }
}

/// A parent hub `name` (`[[parent]]`).
pub fn parent(name: &str) -> ParentConfig {
    ParentConfig {
        name: name.to_string(),
    }
}

/// Hub `name` listening on `listen`, with the certificate and CA of `tls`,
/// over `members` (name, endpoint), with a deadline of [`DEADLINE_MS`], no
/// parents and the default revocation and limits.
pub fn hub_config<'a>(
    name: &str,
    listen: &str,
    tls: &TlsFiles,
    members: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> HubConfig {
    HubConfig {
        name: name.to_string(),
        display_name: None,
        listen: listen.to_string(),
        deadline_ms: DEADLINE_MS,
        tls: TlsSection {
            cert: tls.cert.clone(),
            key: tls.key.clone(),
            ca: tls.ca.clone(),
        },
        members: members
            .into_iter()
            .map(|(name, endpoint)| member(name, endpoint))
            .collect(),
        parents: Vec::new(),
        revocation: Default::default(),
        limits: Default::default(),
        portal: None,
        metrics: None,
    }
}

/// `config` as `hub.toml` text.
///
/// `[limits]` is not written (the hub reads that table by hand and cannot
/// write it): a configuration with other limits than the defaults is
/// refused rather than written without them.
pub fn hub_toml(config: &HubConfig) -> Result<String> {
    if config.limits != HubLimits::default() {
        bail!(
            "hub {}: [limits] other than the defaults cannot be written",
            config.name
        );
    }
    toml::to_string(config).with_context(|| format!("hub {}: serializing hub.toml", config.name))
}

/// Writes `config` to `path` as [`hub_toml`] does, after `header` (comment
/// lines, each prefixed with `# `; nothing if empty).
pub fn write_hub_toml(path: &Path, config: &HubConfig, header: &str) -> Result<()> {
    let mut text: String = header.lines().map(|line| format!("# {line}\n")).collect();
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(&hub_toml(config)?);
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Replaces the `[policy]` section (the last one of the `node.toml` that
/// `init` writes) of the node in `dir` with `policy` (TOML text starting
/// with `[policy]`).
pub fn set_policy(dir: &Path, policy: &str) -> Result<()> {
    let path = dir.join(tudashalo_node::config::FILE_NAME);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let head = match text.find("\n[policy]\n") {
        Some(at) => &text[..=at],
        None => text.as_str(),
    };
    std::fs::write(&path, format!("{head}\n{policy}"))
        .with_context(|| format!("writing {}", path.display()))
}

/// Appends `[section]` with `value` (serialized: paths and strings quoted
/// as TOML quotes them) to the `node.toml` in `dir`, e.g. `[tls]` from a
/// [`NodeTlsConfig`] or `[audit]`. The section must not be there yet (the
/// file `init` writes has `[tls]`, `[audit]` and `[revocation]` only as
/// comments).
pub fn append_to_node_toml<T: Serialize>(dir: &Path, section: &str, value: &T) -> Result<()> {
    let path = dir.join(tudashalo_node::config::FILE_NAME);
    let mut text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let body = toml::to_string(value).with_context(|| format!("serializing [{section}]"))?;
    text.push_str(&format!("\n[{section}]\n{body}"));
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

/// A node's `[tls]` for the files `tls` names.
pub fn node_tls(tls: &TlsFiles) -> NodeTlsConfig {
    NodeTlsConfig {
        cert: tls.cert.clone(),
        key: tls.key.clone(),
        ca: tls.ca.clone(),
    }
}

/// The arguments of `tudashalo-node serve` for the node folder `data` on
/// an ephemeral loopback port, with the TLS files `tls`.
pub fn node_serve_args(data: &Path, tls: &TlsFiles) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec!["serve".into(), "--data".into(), data.into()];
    for (flag, value) in [
        ("--listen", Path::new("127.0.0.1:0")),
        ("--cert", &tls.cert),
        ("--key", &tls.key),
        ("--ca", &tls.ca),
    ] {
        args.push(flag.into());
        args.push(value.into());
    }
    args
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tudashalo_hub::config::MemberRole;

    fn tls(dir: &Path) -> TlsFiles {
        TlsFiles {
            // Quotes, backslashes and non-ASCII: a writer that formats
            // paths instead of serializing them breaks on these.
            cert: dir.join("hub \"régió\".pem"),
            key: dir.join("back\\slash.key"),
            ca: dir.join("ca.pem"),
            crl: None,
        }
    }

    #[test]
    fn a_written_hub_toml_loads_back_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = hub_config(
            "regio",
            "127.0.0.1:7700",
            &tls(dir.path()),
            [
                ("alfa", "https://127.0.0.1:7701"),
                ("beta", "https://127.0.0.1:7702"),
            ],
        );
        config.display_name = Some("Észak \"régió\"".into());
        config.deadline_ms = 1_234;
        config.members[1].role = Some(MemberRole::Hub);
        config.members[1].deadline_ms = Some(700);
        config.members[1].enabled = false;
        config.parents.push(parent("orszagos"));
        config.revocation.crl_grace_hours = 5;
        let path = dir.path().join("hub.toml");
        write_hub_toml(&path, &config, "Written by a test.\nTwo lines.").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# Written by a test.\n# Two lines.\n\n"),
            "{text}"
        );

        let loaded = HubConfig::load(&path).unwrap();
        assert_eq!(format!("{loaded:?}"), format!("{config:?}"));
    }

    #[test]
    fn relative_paths_stay_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = hub_config("regio", "127.0.0.1:0", &tls(Path::new("pki")), []);
        let path = dir.path().join("hub.toml");
        write_hub_toml(&path, &config, "").unwrap();
        let loaded = HubConfig::load(&path).unwrap();
        assert_eq!(loaded.tls.ca, dir.path().join("pki").join("ca.pem"));
    }

    #[test]
    fn limits_that_cannot_be_written_are_refused() {
        let mut config = hub_config("regio", "127.0.0.1:0", &tls(Path::new(".")), []);
        config.limits.max_member_cells = 1;
        let err = hub_toml(&config).unwrap_err();
        assert!(err.to_string().contains("[limits]"), "{err}");
    }

    #[test]
    fn sections_appended_to_node_toml_load() {
        let dir = tempfile::tempdir().unwrap();
        tudashalo_node::Node::init(dir.path(), "alfa", None).unwrap();
        let audit = tudashalo_node::config::AuditConfig {
            max_entries: 10,
            max_age_days: 0,
            archive: Some("audit \"archívum\"".into()),
        };
        append_to_node_toml(dir.path(), "audit", &audit).unwrap();
        append_to_node_toml(dir.path(), "tls", &node_tls(&tls(Path::new("pki")))).unwrap();
        let config = tudashalo_node::config::NodeConfig::load(dir.path()).unwrap();
        assert_eq!(config.audit.max_entries, 10);
        assert_eq!(
            config.audit.archive,
            Some(dir.path().join("audit \"archívum\""))
        );
        let tls = config.tls.unwrap();
        assert_eq!(tls.key, dir.path().join("pki").join("back\\slash.key"));
    }
}
