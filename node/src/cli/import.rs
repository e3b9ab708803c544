//! `import`: files and folders into the node, catalogues first, with a
//! progress bar, per-file reports (rejections, visibility changes, the
//! typed reason a file was not imported) and the exit code that tells
//! clean, partial and failed imports apart.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use serde_json::json;
use tudashalo_node::Node;
use tudashalo_node::error::Error;
use tudashalo_node::import::isolate::Isolation;
use tudashalo_node::import::{FailureKind, FileFormat, RegisterKind, TextMeta};
use tudashalo_node::node::{FileReport, ImportOptions, ImportProgress};

use crate::ImportArgs;

/// A file to import: where it is, and its path relative to the folder it
/// was found in (its name, when it was named on the command line).
struct Input {
    path: PathBuf,
    relative: String,
}

/// A file that was not imported. Its JSON form is part of `import --json`.
#[derive(Debug, Serialize)]
struct Failed {
    file: String,
    /// `corrupt`, `encrypted`, `too-large`, `no-text`, `no-text-layer`,
    /// `garbled`, `unsupported`, `timeout`, `extractor-crash` (the
    /// extractors' kinds), `strict`, `unreadable` or `invalid`.
    kind: &'static str,
    message: String,
}

impl Failed {
    fn of(input: &Input, error: &Error) -> Failed {
        let kind = match error {
            Error::File(e) => FailureKind::of_reason(&e.reason)
                .map(FailureKind::as_str)
                .unwrap_or(if e.reason.starts_with("cannot read") {
                    "unreadable"
                } else {
                    "invalid"
                }),
            Error::Strict { .. } => "strict",
            _ => "invalid",
        };
        Failed {
            file: input.path.display().to_string(),
            kind,
            message: error.to_string(),
        }
    }
}

/// Exit codes: 0 when everything was imported, 2 when some lines were
/// rejected (the rest of their files landed), 1 when a file was not imported.
pub(crate) fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let node = Node::open(&args.data)?;
    let options = ImportOptions {
        strict: args.strict,
        encoding: args.encoding,
        text: TextMeta {
            kind: args.kind,
            sectors: args.sectors,
            settlements: args.settlements,
            year: args.year,
            org: args.org,
            visibility: args.visibility,
            tags: args.tags,
        },
        // Every extractor runs in a child process of this binary.
        isolation: Isolation::this_executable()?,
        sheet: args.sheet,
    };
    let mut skipped: Vec<String> = Vec::new();
    let mut inputs: Vec<Input> = Vec::new();
    for path in &args.files {
        if path.is_dir() {
            walk(path, path, &mut inputs, &mut skipped)?;
        } else {
            let relative = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string());
            inputs.push(Input {
                path: path.clone(),
                relative,
            });
        }
    }
    // Catalogues first, so that observations in the same command can use
    // them; the register after documents, in the order its references need
    // (organisations, then contacts, developments and groups, then project
    // indicators); otherwise in the order given (a folder's files sorted by
    // path).
    let mut ordered: Vec<(u8, Input)> = inputs
        .into_iter()
        .map(|input| {
            let order = match node.detect(&input.path, &options) {
                Ok(FileFormat::Catalogue) => 0,
                Ok(FileFormat::Register(RegisterKind::Organisations)) => 2,
                Ok(FileFormat::Register(RegisterKind::Indicators)) => 4,
                Ok(FileFormat::Register(_)) => 3,
                _ => 1,
            };
            (order, input)
        })
        .collect();
    ordered.sort_by_key(|(order, _)| *order);

    let mut reports: Vec<FileReport> = Vec::new();
    let mut failures: Vec<Failed> = Vec::new();
    let many = ordered.len() > 1;
    let overall = if many {
        let bar = progress_bar(args.json, "{msg} [{bar:30}] {pos}/{len} files ({eta})");
        bar.set_length(ordered.len() as u64);
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut on_report = |input: &Input, result: tudashalo_node::error::Result<FileReport>| {
        overall.inc(1);
        match result {
            Ok(report) => {
                if !args.json {
                    overall.suspend(|| print_report(&report));
                }
                reports.push(report);
            }
            Err(e) => {
                let failed = Failed::of(input, &e);
                if !args.json {
                    overall.suspend(|| eprintln!("error: {}", failed.message));
                }
                failures.push(failed);
            }
        }
    };
    if let [(_, input)] = ordered.as_slice() {
        // One file: a bar of its records (a large JSON Lines file).
        let bar = progress_bar(args.json, "{msg} [{bar:30}] {pos}/{len} ({per_sec}, {eta})");
        bar.set_message(input.path.display().to_string());
        let result = node.import_file_as(&input.path, &input.relative, &options, &|p| match p {
            ImportProgress::Total(n) => bar.set_length(n),
            ImportProgress::Done(n) => bar.inc(n),
        });
        bar.finish_and_clear();
        on_report(input, result);
    } else {
        // Many: one-file documents are published in batches.
        let by_path: std::collections::HashMap<&Path, &Input> = ordered
            .iter()
            .map(|(_, input)| (input.path.as_path(), input))
            .collect();
        let pairs: Vec<(PathBuf, String)> = ordered
            .iter()
            .map(|(_, input)| (input.path.clone(), input.relative.clone()))
            .collect();
        node.import_files(&pairs, &options, &mut |path, result| {
            overall.set_message(path.display().to_string());
            if let Some(input) = by_path.get(path) {
                on_report(input, result);
            }
        });
    }
    overall.finish_and_clear();
    // An updated file's old original is named by no document any more.
    if reports.iter().any(|r| r.updated > 0) {
        let (files, bytes) = node.sweep_originals()?;
        if files > 0 && !args.json {
            println!(
                "{files} earlier original file(s) no document names any more removed ({})",
                tudashalo_core::model::human_bytes(bytes)
            );
        }
    }
    let rejected: usize = reports.iter().map(|r| r.rejected).sum();
    if args.json {
        let out = json!({
            "files": reports,
            "errors": failures,
            "skipped": skipped,
            "totals": {
                "files": reports.len() + failures.len(),
                "imported": reports.len(),
                "failed": failures.len(),
                "added": reports.iter().map(|r| r.added).sum::<usize>(),
                "updated": reports.iter().map(|r| r.updated).sum::<usize>(),
                "unchanged": reports.iter().map(|r| r.unchanged).sum::<usize>(),
                "rejected": rejected,
                "visibility_changed": reports.iter().map(|r| r.visibility_changes.len()).sum::<usize>(),
                "seconds": reports.iter().map(|r| r.seconds).sum::<f64>(),
            }
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if many || !skipped.is_empty() {
        print_summary(&reports, &failures, &skipped);
    }
    Ok(if !failures.is_empty() {
        ExitCode::FAILURE
    } else if rejected > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// The files under `dir` that `import` reads, sorted by path so that an
/// import is repeatable. Hidden entries (`.git`, `~$lock` files of Office)
/// and symbolic links are passed over; files of other types are listed in
/// `skipped`.
fn walk(
    root: &Path,
    dir: &Path,
    inputs: &mut Vec<Input>,
    skipped: &mut Vec<String>,
) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("{}: cannot read the folder: {e}", dir.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("{}: cannot read the folder: {e}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        if name.starts_with('.') || name.starts_with("~$") {
            continue;
        }
        let file_type = entry
            .file_type()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if file_type.is_dir() {
            walk(root, &path, inputs, skipped)?;
        } else if file_type.is_file() {
            if tudashalo_node::import::is_supported(&path) {
                let relative = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                inputs.push(Input { path, relative });
            } else {
                skipped.push(path.display().to_string());
            }
        }
    }
    Ok(())
}

fn print_report(report: &FileReport) {
    for r in &report.rejections {
        eprintln!("{r}");
    }
    println!(
        "{}: {} added, {} updated, {} unchanged, {} rejected, {:.2} s",
        report.file,
        report.added,
        report.updated,
        report.unchanged,
        report.rejected,
        report.seconds
    );
    print_visibility_changes(report);
}

/// One line for the whole command, then the failures by kind.
fn print_summary(reports: &[FileReport], failures: &[Failed], skipped: &[String]) {
    let sum = |f: fn(&FileReport) -> usize| reports.iter().map(f).sum::<usize>();
    println!(
        "{} file(s): {} imported, {} not imported; {} added, {} updated, {} unchanged, {} rejected",
        reports.len() + failures.len(),
        reports.len(),
        failures.len(),
        sum(|r| r.added),
        sum(|r| r.updated),
        sum(|r| r.unchanged),
        sum(|r| r.rejected),
    );
    let mut kinds: Vec<&str> = failures.iter().map(|f| f.kind).collect();
    kinds.sort_unstable();
    kinds.dedup();
    for kind in kinds {
        let count = failures.iter().filter(|f| f.kind == kind).count();
        println!("  not imported, {kind}: {count}");
    }
    if !skipped.is_empty() {
        println!(
            "{} file(s) of other types passed over, e.g. {}",
            skipped.len(),
            skipped[0]
        );
    }
}

/// The documents whose visibility an import changed, one a line (the first
/// [`SHOWN_CHANGES`]; `--json` lists them all).
fn print_visibility_changes(report: &FileReport) {
    const SHOWN_CHANGES: usize = 50;
    let changes = &report.visibility_changes;
    if changes.is_empty() {
        return;
    }
    println!(
        "{}: visibility changed for {} document(s):",
        report.file,
        changes.len()
    );
    for c in changes.iter().take(SHOWN_CHANGES) {
        println!("  {}: {} -> {}", c.id, c.from, c.to);
    }
    if changes.len() > SHOWN_CHANGES {
        println!(
            "  … and {} more (import --json lists them all)",
            changes.len() - SHOWN_CHANGES
        );
    }
}

pub(crate) fn progress_bar(json: bool, template: &str) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    let style = ProgressStyle::with_template(template)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
