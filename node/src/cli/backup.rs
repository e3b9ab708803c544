//! `backup` and `restore`: one file with everything of a node but its
//! index, taken while it serves (through its control socket) or not, and
//! put back into a new data folder, whose index is rebuilt and audit chain
//! verified before the command says it is done.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::json;
use tudashalo_node::backup::{self, Summary};
use tudashalo_node::{Error, Node, control};
use tudashalo_portal::format::integer;

use super::import::progress_bar;

pub(crate) fn backup(data: &Path, out: &Path, force: bool, json: bool) -> anyhow::Result<ExitCode> {
    if out.exists() && !force {
        bail!("{}: exists; give --force to replace it", out.display());
    }
    let name = out
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{}: not a file name", out.display()))?;
    // Written under a temporary name, and given its own only once it has
    // been read back whole: a failed backup never stands as FILE.
    let partial = out.with_file_name(format!(".{name}.partial"));
    let started = Instant::now();
    let result = write_partial(data, &partial);
    let via = match result {
        Ok(via) => via,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    let bar = progress_bar(json, "checking {msg} {bytes}");
    bar.set_message(out.display().to_string());
    let checked = backup::check(&partial, &|at| bar.set_position(at));
    bar.finish_and_clear();
    let summary = match checked {
        Ok(summary) => summary,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(anyhow::anyhow!("{e}; the backup was not kept"));
        }
    };
    std::fs::rename(&partial, out)
        .with_context(|| format!("renaming {} to {}", partial.display(), out.display()))?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    let seconds = started.elapsed().as_secs_f64();
    if json {
        println!(
            "{}",
            json!({
                "file": out,
                "bytes": bytes,
                "via": via,
                "seconds": seconds,
                "backup": summary,
            })
        );
    } else {
        println!(
            "backup of {} written to {} ({}), checked; taken from {via} in {} s",
            summary.manifest.node,
            out.display(),
            tudashalo_core::model::human_bytes(bytes),
            tudashalo_portal::format::decimal(seconds, 1),
        );
        print_contents(&summary);
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the backup into `partial` (owner-only), from the serving node if
/// one serves `data`, else from the folder itself; says which.
fn write_partial(data: &Path, partial: &Path) -> anyhow::Result<&'static str> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options
        .open(partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    #[cfg(unix)]
    if control::backup_via_socket(data, &mut writer)?.is_some() {
        finish(writer, partial)?;
        return Ok("the serving node");
    }
    let node = match Node::open(data) {
        Ok(node) => node,
        Err(Error::Locked { .. }) => bail!(
            "the node in {} is in use, but {} does not answer: if `tudashalo-node serve` runs there, it is older than this command (stop it for the backup, or upgrade it)",
            data.display(),
            control::socket_path(data).display()
        ),
        Err(e) => return Err(e.into()),
    };
    let writer = node.backup(writer)?;
    finish(writer, partial)?;
    Ok("the data folder")
}

fn finish(writer: std::io::BufWriter<std::fs::File>, path: &Path) -> anyhow::Result<()> {
    let mut file = writer
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("writing {}", path.display()))?;
    file.flush()?;
    file.sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    Ok(())
}

pub(crate) fn restore(
    data: Option<&Path>,
    file: &Path,
    check: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let bar = progress_bar(json, "reading {msg} {bytes}");
    bar.set_message(file.display().to_string());
    let started = Instant::now();
    let Some(data) = data.filter(|_| !check) else {
        let summary = backup::check(file, &|at| bar.set_position(at));
        bar.finish_and_clear();
        let summary = summary?;
        if json {
            println!("{}", json!({ "file": file, "backup": summary }));
        } else {
            println!(
                "{}: a whole backup of {} taken {} (tudashalo-node {}, store schema {})",
                file.display(),
                summary.manifest.node,
                summary.manifest.created,
                summary.manifest.version,
                summary.manifest.schema_version
            );
            print_contents(&summary);
        }
        return Ok(ExitCode::SUCCESS);
    };
    let restored = backup::restore(file, data, &|at| bar.set_position(at));
    bar.finish_and_clear();
    let summary = restored?;
    let read_s = started.elapsed().as_secs_f64();
    // Opening the node rebuilds the index (it is not in the backup).
    let node = Node::open(data)?;
    let documents = node.stats()?.documents;
    // Files node.toml names outside the data folder are not in a backup.
    let missing: Vec<String> = node
        .config()
        .tls
        .iter()
        .flat_map(|t| [&t.cert, &t.key, &t.ca])
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    let verification = node.audit().verify()?;
    let intact = verification.is_intact();
    if json {
        println!(
            "{}",
            json!({
                "data": data,
                "backup": summary,
                "documents_indexed": documents,
                "audit": {
                    "intact": intact,
                    "entries": verification.entries,
                    "first": verification.first,
                },
                "seconds": started.elapsed().as_secs_f64(),
                "read_seconds": read_s,
                "missing_files": missing,
            })
        );
    } else {
        println!(
            "restored the backup of {} taken {} into {}; index rebuilt ({} documents) in {} s",
            summary.manifest.node,
            summary.manifest.created,
            data.display(),
            integer(documents as i64),
            tudashalo_portal::format::decimal(started.elapsed().as_secs_f64(), 1),
        );
        print_contents(&summary);
        if intact {
            println!(
                "audit chain verifies: {} entries",
                integer(verification.entries as i64)
            );
        } else {
            println!(
                "audit chain BROKEN: run `tudashalo-node audit --verify --data {}`",
                data.display()
            );
        }
        for path in &missing {
            println!(
                "note: node.toml names {path}, which is outside the backup and not there: put it back, or give serve --cert/--key/--ca"
            );
        }
    }
    Ok(if intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_contents(summary: &Summary) {
    let counts = backup::counts(summary);
    let register: u64 = summary
        .contents
        .trees
        .iter()
        .filter(|(tree, _)| tree.starts_with("reg_"))
        .map(|(_, n)| n)
        .sum();
    println!(
        "  {} documents, {} observations, {} catalogue entries, {} register records, {} audit entries",
        integer(counts["documents"] as i64),
        integer(counts["observations"] as i64),
        integer(counts["catalogue"] as i64),
        integer(register as i64),
        integer(counts["audit_entries"] as i64),
    );
    println!(
        "  {} files of the data folder ({}): node.toml, originals, …",
        integer(summary.contents.files as i64),
        tudashalo_core::model::human_bytes(summary.contents.file_bytes)
    );
}
