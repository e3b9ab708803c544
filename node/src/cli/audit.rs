//! `audit`: the audit log as text or `--json`, verified (`--verify`, with
//! the checkpoint's signature), exported (`--export`) or pruned
//! (`--prune`); and signing checkpoints with the node's key, which `serve`
//! shares.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use tudashalo_node::Node;

use crate::AuditArgs;

pub(crate) fn audit(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let since = match &args.since {
        Some(text) => Some(
            tudashalo_node::audit::parse_rfc3339(text)
                .map_err(|e| anyhow::anyhow!("--since: {e}"))?,
        ),
        None => None,
    };
    let node = Node::open(&args.data)?;
    let log = node.audit();
    if let Some(path) = &args.export {
        let count = if path.as_os_str() == "-" {
            log.export(&mut std::io::stdout().lock())?
        } else {
            let mut file = std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?,
            );
            let count = log.export(&mut file)?;
            file.flush()
                .with_context(|| format!("writing {}", path.display()))?;
            count
        };
        eprintln!("exported {count} entries");
        return Ok(ExitCode::SUCCESS);
    }
    if args.prune {
        apply_signer(
            &node,
            node.config()
                .tls
                .as_ref()
                .map(|t| (t.cert.clone(), t.key.clone())),
        );
        match log.prune()? {
            Some(p) => println!(
                "pruned entries {}–{} (checkpoint {}{})",
                p.from,
                p.through,
                p.checkpoint,
                p.archive
                    .map(|a| format!(", exported to {}", a.display()))
                    .unwrap_or_default()
            ),
            None => println!("nothing to prune"),
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.verify {
        let cert_path = args
            .cert
            .clone()
            .or_else(|| node.config().tls.as_ref().map(|t| t.cert.clone()));
        let cert = match &cert_path {
            None => None,
            Some(path) => {
                let pem = std::fs::read(path)
                    .with_context(|| format!("--cert: cannot read {}", path.display()))?;
                Some(certificate_der(&pem).with_context(|| {
                    format!("--cert: {} is not a PEM certificate", path.display())
                })?)
            }
        };
        let verification = log.verify_with(cert.as_deref())?;
        if args.json {
            let out = json!({
                "intact": verification.is_intact(),
                "entries": verification.entries,
                "first": verification.first,
                "head": verification.head,
                "cut": verification.cut,
                "broken": verification.broken,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else if let Some(broken) = &verification.broken {
            println!("broken: {broken}");
            println!(
                "{} entries before it are intact (last intact hash {})",
                verification.entries, verification.head
            );
        } else {
            if let Some(cut) = &verification.cut {
                println!("{cut}");
            }
            println!("ok: {} entries, chain intact", verification.entries);
            println!("head: {}", verification.head);
        }
        return Ok(if verification.is_intact() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let entries = log.entries_since(since)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "entries": entries }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = std::io::stdout().lock();
    for e in &entries {
        let mut who = e.principal.clone();
        if let Some(behalf) = &e.on_behalf_of {
            who.push_str(&format!(" for {behalf}"));
        }
        if !e.via.is_empty() {
            who.push_str(&format!(" via {}", e.via.join(",")));
        }
        let mut what = e.method.clone();
        if let Some(query) = &e.query {
            what.push_str(&format!(" {query:?}"));
        }
        if let Some(id) = &e.document {
            what.push_str(&format!(" {id}"));
        }
        if !e.indicators.is_empty() {
            what.push_str(&format!(" {}", e.indicators.join(",")));
        }
        if !e.group_by.is_empty() {
            what.push_str(&format!(" by {}", e.group_by.join(",")));
        }
        if !e.params.is_empty()
            && let Ok(params) = serde_json::to_string(&e.params)
        {
            what.push_str(&format!(" {params}"));
        }
        if let Some(c) = &e.checkpoint {
            what.push_str(&format!(
                " entries {}–{} pruned ({})",
                c.pruned_from, c.pruned_through, c.reason
            ));
        }
        if let Some(n) = e.results {
            what.push_str(&format!(" -> {n}"));
        }
        let _ = writeln!(out, "{:>6} {} {who}: {what}: {}", e.seq, e.time, e.outcome);
    }
    Ok(ExitCode::SUCCESS)
}

/// Signs the node's audit checkpoints with the key of `files` (certificate,
/// key), or writes them unsigned (with a warning) if it cannot be used.
pub(crate) fn apply_signer(node: &Node, files: Option<(PathBuf, PathBuf)>) {
    let signer = files.and_then(|(cert, key)| {
        tudashalo_node::audit::CheckpointSigner::from_files(&cert, &key)
            .map_err(|e| tracing::warn!(error = %e, "audit checkpoints will be written unsigned"))
            .ok()
    });
    node.audit().set_signer(signer);
}

/// The DER of the first certificate in `pem`.
fn certificate_der(pem: &[u8]) -> anyhow::Result<Vec<u8>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    Ok(CertificateDer::from_pem_slice(pem)?.to_vec())
}
