//! The demo's state folder: the CA and certificates (re-issued only when
//! missing, of the wrong principal, or expiring), one node data folder per
//! kistérség with the marker that says which spec produced its data (a
//! folder without one is never touched), and the written `node.toml` and
//! `hub.toml`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use tudashalo_node::Node;
use tudashalo_node::node::{ImportOptions, ImportProgress};
use tudashalo_proto::tls::TlsFiles;

use crate::generate::{self, Kisterseg, Spec};
use crate::{
    ANALYST, HUB_DEADLINE_MS, HUB_NAME, MemberReport, NATIONAL, PORTAL_PASSWORD, PORTAL_USER,
    RENEW_BEFORE, config,
};
use tudashalo_hub::config::{HubConfig, MemberConfig};
use tudashalo_pki::{self as pki, IssueRequest, Principal, Role};

/// Makes sure `dir` holds the CA and a valid certificate of the right role
/// for every participant; issues what is missing, expiring or of another
/// role. A new CA means new certificates for everyone. Returns whether
/// everything was reused.
pub(crate) fn ensure_pki(dir: &Path, kistersegek: &[Kisterseg]) -> Result<bool> {
    let ca_cert = dir.join(pki::CA_CERT_FILE);
    let ca_key = dir.join(pki::CA_KEY_FILE);
    let new_ca = !(ca_cert.exists() && ca_key.exists());
    if new_ca {
        pki::init_ca(dir, "Tudásháló demó CA", 3_650, true)?;
    }
    let mut participants: Vec<(String, Role)> = kistersegek
        .iter()
        .map(|k| (k.slug.clone(), Role::Node))
        .collect();
    participants.push((HUB_NAME.into(), Role::Hub));
    participants.push((ANALYST.into(), Role::Operator));
    participants.push((NATIONAL.into(), Role::National));
    let mut issued = false;
    for (name, role) in participants {
        if !new_ca && certificate_usable(dir, &name, role) {
            continue;
        }
        pki::issue(
            dir,
            &IssueRequest {
                name,
                role,
                hosts: Vec::new(),
                days: 825,
                force: true,
            },
        )?;
        issued = true;
    }
    Ok(!new_ca && !issued)
}

/// Whether `NAME.pem` and `NAME.key` exist, name `role:name`, and stay valid
/// for a while.
pub(crate) fn certificate_usable(dir: &Path, name: &str, role: Role) -> bool {
    let Ok(pem) = std::fs::read(dir.join(format!("{name}.pem"))) else {
        return false;
    };
    if !dir.join(format!("{name}.key")).exists() {
        return false;
    }
    let expected = Principal {
        role,
        name: name.to_string(),
    };
    if pki::principal_of_pem(&pem).ok() != Some(expected) {
        return false;
    }
    let Ok((_, parsed)) = x509_parser::pem::parse_x509_pem(&pem) else {
        return false;
    };
    let Ok(cert) = parsed.parse_x509() else {
        return false;
    };
    cert.validity()
        .time_to_expiration()
        .is_some_and(|left| left > RENEW_BEFORE)
}

// ---------------------------------------------------------------------------
// Nodes and their data

/// What produced a node's data; `nodes/<slug>/demo.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Marker {
    generator: u32,
    slug: String,
    index: usize,
    seed: u64,
    docs_per_node: usize,
    mean_words: usize,
    first_year: i32,
    last_year: i32,
    /// Set once every file is imported.
    complete: bool,
    /// The store's generation after the import: anything else means the
    /// data was changed since.
    generation: u64,
}

impl Marker {
    pub(crate) fn new(k: &Kisterseg, spec: &Spec) -> Marker {
        Marker {
            generator: generate::GENERATOR_VERSION,
            slug: k.slug.clone(),
            index: k.index,
            seed: spec.seed,
            docs_per_node: spec.docs_per_node,
            mean_words: spec.mean_words,
            first_year: *spec.years.start(),
            last_year: *spec.years.end(),
            complete: false,
            generation: 0,
        }
    }

    pub(crate) fn same_data(&self, other: &Marker) -> bool {
        Marker {
            complete: false,
            generation: 0,
            ..self.clone()
        } == Marker {
            complete: false,
            generation: 0,
            ..other.clone()
        }
    }
}

pub(crate) const MARKER_FILE: &str = "demo.json";

/// Opens node `k` in `root/nodes/<slug>` with the data `spec` asks for:
/// reused when the marker says it is there, else generated and imported
/// into a fresh folder.
pub(crate) fn prepare_node(
    root: &Path,
    k: &Kisterseg,
    spec: &Spec,
    bar: &ProgressBar,
) -> Result<(Node, MemberReport)> {
    let started = Instant::now();
    let dir = root.join("nodes").join(&k.slug);
    let marker_path = dir.join(MARKER_FILE);
    let wanted = Marker::new(k, spec);
    let found: Option<Marker> = std::fs::read(&marker_path)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());

    if let Some(found) = &found
        && found.complete
        && found.same_data(&wanted)
    {
        write_node_toml(&dir, k)?;
        let node = Node::open(&dir).with_context(|| format!("opening node {}", k.slug))?;
        if node.generation()? == found.generation {
            bar.finish_and_clear();
            let report = member_report(&node, k, true, 0, started)?;
            return Ok((node, report));
        }
        drop(node);
    }

    if dir.exists() {
        if found.is_none() && std::fs::read_dir(&dir)?.next().is_some() {
            bail!(
                "{} exists but was not made by the demo; choose another --dir or remove it",
                dir.display()
            );
        }
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    Node::init(&dir, &k.slug, Some(&k.display_name))?;
    write_node_toml(&dir, k)?;
    write_marker(&marker_path, &wanted)?;

    bar.set_message("generating");
    let files = generate::write_node_files(&root.join("input").join(&k.slug), k, spec)
        .with_context(|| format!("writing the sample files of {}", k.slug))?;
    let node = Node::open(&dir).with_context(|| format!("opening node {}", k.slug))?;
    let mut rejected = 0;
    // The register after the documents, which its developments and
    // meetings link; organisations before everything that names them.
    let mut steps = vec![
        ("catalogue", &files.catalogue),
        ("observations", &files.observations),
        ("documents", &files.documents),
    ];
    steps.extend(files.register_files());
    for (what, path) in steps {
        bar.set_message(what);
        bar.set_position(0);
        let report = node
            .import_file(path, &ImportOptions::default(), &|p| match p {
                ImportProgress::Total(n) => bar.set_length(n),
                ImportProgress::Done(n) => bar.inc(n),
            })
            .with_context(|| format!("importing {}", path.display()))?;
        for r in report.rejections.iter().take(3) {
            tracing::warn!(node = %k.slug, rejection = %r, "sample record rejected");
        }
        rejected += report.rejected;
    }
    bar.finish_and_clear();
    write_marker(
        &marker_path,
        &Marker {
            complete: true,
            generation: node.generation()?,
            ..wanted
        },
    )?;
    let mut report = member_report(&node, k, false, rejected, started)?;
    report.windows_1250 = files.windows_1250;
    Ok((node, report))
}

pub(crate) fn member_report(
    node: &Node,
    k: &Kisterseg,
    reused: bool,
    rejected: usize,
    started: Instant,
) -> Result<MemberReport> {
    let stats = node.stats()?;
    Ok(MemberReport {
        name: k.slug.clone(),
        display_name: k.display_name.clone(),
        url: String::new(),
        reused,
        documents: stats.documents,
        observations: stats.observations,
        generation: stats.generation,
        rejected,
        windows_1250: k.index == 1,
        prepared_in: if reused {
            Duration::ZERO
        } else {
            started.elapsed()
        },
    })
}

pub(crate) fn write_marker(path: &Path, marker: &Marker) -> Result<()> {
    let text = serde_json::to_string_pretty(marker)?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

/// A TOML string literal.
pub(crate) fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// The demo node's `node.toml`: its certificate from the demo PKI, and a
/// policy that lets the demo hub, the analyst (through the hub) and the
/// national user (its default) in. Rewritten on every run.
pub(crate) fn write_node_toml(dir: &Path, k: &Kisterseg) -> Result<()> {
    let slug = &k.slug;
    let text = format!(
        r#"# Written by `tudashalo-demo` on every run; edits are overwritten.
name = {name}
display_name = {display}

# The demo's certificates, relative to this folder.
[tls]
cert = "../../pki/{slug}.pem"
key = "../../pki/{slug}.key"
ca = "../../pki/{ca}"

[policy]
# The demo's regional hub may search, get documents and aggregate.
hubs = [{hub}]
# The national user (national:{national}) may aggregate at kistérség level:
# the role's default.

# The analyst searches and reads documents through the hub, and may
# aggregate down to settlements (disclosure control still applies).
[[policy.grant]]
principal = "operator:{analyst}"
allow = ["search", "get", "aggregate_settlement"]

# Anyone, through a portal (public:portal): public documents, and
# indicators at kistérség level.
[[policy.grant]]
principal = "public:*"
allow = ["search", "get", "aggregate_kisterseg"]
"#,
        name = toml_string(slug),
        display = toml_string(&k.display_name),
        ca = pki::CA_CERT_FILE,
        hub = toml_string(HUB_NAME),
        national = NATIONAL,
        analyst = ANALYST,
    );
    let path = dir.join(tudashalo_node::config::FILE_NAME);
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

/// The hub's configuration, with the members at the ports of this run;
/// TLS paths relative to `hub.toml` in the state folder.
pub(crate) fn hub_config(
    listen: SocketAddr,
    portal: Option<SocketAddr>,
    kistersegek: &[Kisterseg],
    members: &[MemberReport],
) -> HubConfig {
    let tls = TlsFiles {
        cert: Path::new("pki").join(format!("{HUB_NAME}.pem")),
        key: Path::new("pki").join(format!("{HUB_NAME}.key")),
        ca: Path::new("pki").join(pki::CA_CERT_FILE),
        crl: None,
    };
    let mut config = config::hub_config(HUB_NAME, &listen.to_string(), &tls, []);
    config.display_name = Some("Demó régió".into());
    config.deadline_ms = HUB_DEADLINE_MS;
    config.members = kistersegek
        .iter()
        .zip(members)
        .map(|(k, m)| MemberConfig {
            display_name: Some(k.display_name.clone()),
            ..config::member(&k.slug, &m.url)
        })
        .collect();
    config.portal = portal.map(|listen| tudashalo_portal::PortalConfig {
        accounts: Some(Path::new(PORTAL_DIR).join("accounts.toml")),
        session_key: Some(Path::new(PORTAL_DIR).join("session.key")),
        ..tudashalo_portal::PortalConfig::plain(listen)
    });
    config
}

/// The portal's accounts and cookie key, in the state folder.
pub(crate) const PORTAL_DIR: &str = "portal";

/// Makes the portal's cookie key and the analyst's account
/// ([`PORTAL_USER`], acting as `operator:analyst`) unless they exist.
/// An account the operator changed by hand (another password) is kept.
pub(crate) fn ensure_portal(dir: &Path) -> Result<()> {
    use tudashalo_portal::accounts::Accounts;
    let portal = dir.join(PORTAL_DIR);
    std::fs::create_dir_all(&portal).with_context(|| format!("creating {}", portal.display()))?;
    let key = portal.join("session.key");
    if !key.exists() {
        tudashalo_portal::session::SessionKey::generate(&key, false)?;
    }
    let path = portal.join("accounts.toml");
    let mut accounts = if path.exists() {
        Accounts::load(&path)?
    } else {
        Accounts::empty()
    };
    if accounts.get(PORTAL_USER).is_none() {
        accounts.add(
            PORTAL_USER,
            Principal::new(Role::Operator, ANALYST)?,
            PORTAL_PASSWORD,
        )?;
        accounts.save(&path)?;
    }
    Ok(())
}

/// The comment at the top of the demo's `hub.toml`.
pub(crate) const HUB_TOML_HEADER: &str =
    "Written by `tudashalo-demo` on every run: the demo's regional hub and
its members at the ports of the latest run. Paths are relative to this file.";

// ---------------------------------------------------------------------------
// Servers
