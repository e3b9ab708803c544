//! `import_files`: how fast `tudashalo-node import` reads a folder of files
//! as a kistérség keeps them, one format at a time (BENCHMARKS.md,
//! "Importing files").
//!
//! `cargo build --release -p tudashalo-node -p tudashalo-bench && target/release/import_files --files 200`
//!
//! For each format it writes `--files` documents (the demo generator's
//! Hungarian text, `--words` words each) into a folder, imports the folder
//! with the release `tudashalo-node` next to this binary (each file
//! extracted in its own worker process, as in production), then imports it
//! again unchanged. It prints files/s, MB/s of input and pages/s (PDF) for
//! both runs.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use tudashalo_demo::generate::{Spec, document, files, kistersegek};

#[derive(Debug, Parser)]
#[command(name = "import_files", version, about)]
struct Cli {
    /// Files per format.
    #[arg(long, default_value_t = 200)]
    files: usize,
    /// Words per document (about 300 a page).
    #[arg(long, default_value_t = 3000)]
    words: usize,
    /// Formats to measure, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "txt,pdf,docx,odt,html,rtf"
    )]
    formats: Vec<String>,
    /// Scratch folder, removed after the run.
    #[arg(long)]
    work: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The paragraphs of one generated document, title first.
fn paragraphs(spec: &Spec, n: usize) -> Vec<String> {
    let places = kistersegek(spec);
    let k = &places[n % places.len()];
    let doc = document(k, spec, k.index, n);
    let title = doc["title"].as_str().unwrap_or("Dokumentum").to_string();
    let body = doc["body"].as_str().unwrap_or_default();
    let mut out = vec![title];
    out.extend(
        body.split(". ")
            .collect::<Vec<_>>()
            .chunks(4)
            .map(|c| c.join(". ")),
    );
    out
}

/// One document in `format`, by the demo's writers
/// ([`tudashalo_demo::generate::files`]), and its pages (PDF).
fn file(format: &str, paragraphs: &[String]) -> Result<(Vec<u8>, usize)> {
    let texts: Vec<&str> = paragraphs.iter().map(String::as_str).collect();
    let author = Some("Kovács Ödön");
    Ok(match format {
        "txt" => (paragraphs.join("\n\n").into_bytes(), 0),
        "docx" => (files::docx(&texts, texts.first().copied(), author), 0),
        "odt" => (files::odt(&texts), 0),
        "html" => (files::html(&texts, author), 0),
        "rtf" => (files::rtf(&texts, author), 0),
        "pdf" => {
            let pages = files::pdf_pages(&texts, 95, 55);
            let count = pages.len();
            let title = texts.first().copied().unwrap_or_default();
            (
                files::pdf(
                    &pages,
                    "Kistérségi fejlesztési dokumentum",
                    title,
                    "Kovács Ödön",
                ),
                count,
            )
        }
        other => bail!("no writer for {other:?}"),
    })
}

fn run(cli: Cli) -> Result<()> {
    let exe = std::env::current_exe()?;
    let node = exe
        .parent()
        .context("the benchmark's folder")?
        .join("tudashalo-node");
    if !node.is_file() {
        bail!(
            "{} is missing: cargo build --release -p tudashalo-node -p tudashalo-bench",
            node.display()
        );
    }
    let work = cli.work.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("tudashalo-import-files-{}", std::process::id()))
    });
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    std::fs::create_dir_all(&work)?;
    let spec = Spec {
        nodes: 5,
        docs_per_node: cli.files,
        mean_words: cli.words,
        ..Spec::default()
    };
    println!(
        "{} files per format, about {} words each",
        cli.files, cli.words
    );
    println!(
        "{:<6} {:>8} {:>7} {:>9} {:>9} {:>8} {:>8} {:>10}",
        "format", "MB", "pages", "seconds", "files/s", "MB/s", "pages/s", "again (s)"
    );
    for format in &cli.formats {
        let folder = work.join(format);
        std::fs::create_dir_all(&folder)?;
        let mut bytes = 0u64;
        let mut pages = 0usize;
        for n in 0..cli.files {
            let (content, page_count) = file(format, &paragraphs(&spec, n))?;
            bytes += content.len() as u64;
            pages += page_count;
            std::fs::write(folder.join(format!("dokumentum-{n:05}.{format}")), content)?;
        }
        let data = work.join(format!("node-{format}"));
        let status = Command::new(&node)
            .args(["init", "--data"])
            .arg(&data)
            .args(["--name", "meres"])
            .output()?;
        if !status.status.success() {
            bail!("init: {}", String::from_utf8_lossy(&status.stderr));
        }
        let first = import(&node, &data, &folder, cli.files)?;
        let again = import(&node, &data, &folder, 0)?;
        let mb = bytes as f64 / 1e6;
        let per_page = if pages > 0 {
            format!("{:.0}", pages as f64 / first)
        } else {
            "–".to_string()
        };
        println!(
            "{:<6} {:>8.1} {:>7} {:>9.2} {:>9.1} {:>8.2} {:>8} {:>10.2}",
            format,
            mb,
            pages,
            first,
            cli.files as f64 / first,
            mb / first,
            per_page,
            again
        );
    }
    std::fs::remove_dir_all(&work)?;
    Ok(())
}

/// Imports `folder`, checking that `added` documents were added; returns
/// the wall time in seconds.
fn import(node: &Path, data: &Path, folder: &Path, added: usize) -> Result<f64> {
    let started = Instant::now();
    let output = Command::new(node)
        .args(["import", "--json", "--data"])
        .arg(data)
        .arg(folder)
        .env("TUDASHALO_LOG", "warn")
        .output()?;
    let seconds = started.elapsed().as_secs_f64();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("import: {}", String::from_utf8_lossy(&output.stderr)))?;
    if report["totals"]["added"].as_u64() != Some(added as u64)
        || report["totals"]["failed"].as_u64() != Some(0)
    {
        bail!(
            "import of {} did not go as expected: {report}",
            folder.display()
        );
    }
    Ok(seconds)
}
