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

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use tudashalo_demo::generate::{Spec, document, kistersegek};

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
    #[arg(long, value_delimiter = ',', default_value = "txt,docx,odt,html,rtf")]
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

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn zip_of(parts: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in parts {
        writer.start_file(*name, options)?;
        writer.write_all(content)?;
    }
    Ok(writer.finish()?.into_inner())
}

/// One document in `format`.
fn file(format: &str, paragraphs: &[String]) -> Result<Vec<u8>> {
    Ok(match format {
        "txt" => paragraphs.join("\n\n").into_bytes(),
        "docx" => {
            let body: String = paragraphs
                .iter()
                .map(|p| {
                    format!(
                        "<w:p><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
                        escape(p)
                    )
                })
                .collect();
            let xml = format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
            );
            zip_of(&[("word/document.xml", xml.as_bytes())])?
        }
        "odt" => {
            let body: String = paragraphs
                .iter()
                .map(|p| format!("<text:p>{}</text:p>", escape(p)))
                .collect();
            let xml = format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text>{body}</office:text></office:body></office:document-content>"#
            );
            zip_of(&[
                ("mimetype", b"application/vnd.oasis.opendocument.text"),
                ("content.xml", xml.as_bytes()),
            ])?
        }
        "html" => {
            let body: String = paragraphs
                .iter()
                .skip(1)
                .map(|p| format!("<p>{}</p>\n", escape(p)))
                .collect();
            format!(
                "<!DOCTYPE html><html lang=\"hu\"><head><meta charset=\"utf-8\"><title>{}</title><script>var x = 1;</script></head><body><nav>Főoldal | Hírek</nav><h1>{}</h1>{body}<footer>© Társulás</footer></body></html>",
                escape(&paragraphs[0]),
                escape(&paragraphs[0])
            )
            .into_bytes()
        }
        "rtf" => {
            let mut out = String::from(
                "{\\rtf1\\ansi\\ansicpg1250\\deff0{\\fonttbl{\\f0\\fswiss\\fcharset238 Arial;}}\n",
            );
            for p in paragraphs {
                for c in p.chars() {
                    match c {
                        '\\' | '{' | '}' => {
                            out.push('\\');
                            out.push(c);
                        }
                        c if c.is_ascii() => out.push(c),
                        c => out.push_str(&format!("\\u{}?", c as u32 as i16)),
                    }
                }
                out.push_str("\\par\n");
            }
            out.push('}');
            out.into_bytes()
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
        "{:<6} {:>9} {:>10} {:>9} {:>9} {:>11}",
        "format", "MB", "seconds", "files/s", "MB/s", "again (s)"
    );
    for format in &cli.formats {
        let folder = work.join(format);
        std::fs::create_dir_all(&folder)?;
        let mut bytes = 0u64;
        for n in 0..cli.files {
            let content = file(format, &paragraphs(&spec, n))?;
            bytes += content.len() as u64;
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
        println!(
            "{:<6} {:>9.1} {:>10.2} {:>9.1} {:>9.2} {:>11.2}",
            format,
            mb,
            first,
            cli.files as f64 / first,
            mb / first,
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
