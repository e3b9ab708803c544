//! `import`: files into the node, catalogues first, with a progress bar,
//! per-file reports (rejections, visibility changes) and the exit code that
//! tells clean, partial and failed imports apart.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tudashalo_node::Node;
use tudashalo_node::import::{FileFormat, TextMeta};
use tudashalo_node::node::{FileReport, ImportOptions, ImportProgress};

use crate::ImportArgs;

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
    };
    // Catalogues first, so that observations in the same command can use them.
    let mut files: Vec<(u8, PathBuf)> = args
        .files
        .into_iter()
        .map(|p| {
            let order = match node.detect(&p, &options) {
                Ok(FileFormat::Catalogue) => 0,
                _ => 1,
            };
            (order, p)
        })
        .collect();
    files.sort_by_key(|(order, _)| *order);

    let mut reports: Vec<FileReport> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for (_, path) in &files {
        let bar = progress_bar(path, args.json);
        let result = node.import_file(path, &options, &|p| match p {
            ImportProgress::Total(n) => bar.set_length(n),
            ImportProgress::Done(n) => bar.inc(n),
        });
        bar.finish_and_clear();
        match result {
            Ok(report) => {
                if !args.json {
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
                    print_visibility_changes(&report);
                }
                reports.push(report);
            }
            Err(e) => {
                if !args.json {
                    eprintln!("error: {e}");
                }
                failures.push(e.to_string());
            }
        }
    }
    let rejected: usize = reports.iter().map(|r| r.rejected).sum();
    if args.json {
        let out = json!({
            "files": reports,
            "errors": failures,
            "totals": {
                "added": reports.iter().map(|r| r.added).sum::<usize>(),
                "updated": reports.iter().map(|r| r.updated).sum::<usize>(),
                "unchanged": reports.iter().map(|r| r.unchanged).sum::<usize>(),
                "rejected": rejected,
                "visibility_changed": reports.iter().map(|r| r.visibility_changes.len()).sum::<usize>(),
                "seconds": reports.iter().map(|r| r.seconds).sum::<f64>(),
            }
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(if !failures.is_empty() {
        ExitCode::FAILURE
    } else if rejected > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
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

fn progress_bar(path: &Path, json: bool) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec}, {eta})")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(path.display().to_string());
    bar
}
