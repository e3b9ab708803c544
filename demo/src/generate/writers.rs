//! The files a node imports: documents and the register as JSON Lines, the
//! catalogue and the observations as CSV the way Hungarian spreadsheets
//! export them.
//!
//! Node 1 gets its tables in Windows-1250 and the others UTF-8 with a BOM,
//! so that both encodings reach the importer; a text that Windows-1250
//! cannot represent is an error, never a lossy file.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::documents::documents;
use super::grammar::grouped;
use super::indicators::{catalogue, observations};
use super::register::register;
use super::{Kisterseg, NodeFiles, Spec};

/// Writes node `k`'s input files into `dir` (created if missing):
/// `dokumentumok.jsonl`, `mutatok.csv` (catalogue) and `adatok.csv`
/// (observations, `;`-separated with decimal commas and digit grouping, as
/// Hungarian spreadsheets export them). The node at index 1 gets its CSV
/// files in Windows-1250, the others UTF-8 with a BOM, so that both
/// encodings reach the importer. The register goes to five JSON Lines
/// files, one entity each: `szervezetek.jsonl` (organisations),
/// `kapcsolattartok.jsonl` (contacts), `fejlesztesek.jsonl`
/// (developments), `projektmutatok.jsonl` (project indicators) and
/// `munkacsoportok.jsonl` (working groups).
pub fn write_node_files(dir: &Path, k: &Kisterseg, spec: &Spec) -> io::Result<NodeFiles> {
    std::fs::create_dir_all(dir)?;
    let files = NodeFiles {
        documents: dir.join("dokumentumok.jsonl"),
        catalogue: dir.join("mutatok.csv"),
        observations: dir.join("adatok.csv"),
        windows_1250: k.index == 1,
        organisations: dir.join("szervezetek.jsonl"),
        contacts: dir.join("kapcsolattartok.jsonl"),
        developments: dir.join("fejlesztesek.jsonl"),
        project_indicators: dir.join("projektmutatok.jsonl"),
        groups: dir.join("munkacsoportok.jsonl"),
    };

    let mut out = BufWriter::new(std::fs::File::create(&files.documents)?);
    for doc in documents(k, spec, k.index) {
        serde_json::to_writer(&mut out, &doc)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;

    let mut text = String::from("code,name,unit,aggregation\n");
    for (code, name, unit, aggregation) in catalogue() {
        let _ = writeln!(
            text,
            "{},{},{},{}",
            csv_field(code, ','),
            csv_field(name, ','),
            csv_field(unit, ','),
            csv_field(aggregation, ',')
        );
    }
    write_table(&files.catalogue, &text, files.windows_1250)?;

    let mut text = String::from("mutató;település;időszak;érték;mértékegység\n");
    for (indicator, settlement, period, value, unit) in observations(k, spec) {
        let _ = writeln!(
            text,
            "{indicator};{};{period};{};{}",
            csv_field(&settlement, ';'),
            hungarian_number(value),
            csv_field(unit, ';')
        );
    }
    write_table(&files.observations, &text, files.windows_1250)?;

    let r = register(k, spec);
    write_json_lines(&files.organisations, &r.organisations)?;
    write_json_lines(&files.contacts, &r.contacts)?;
    write_json_lines(&files.developments, &r.developments)?;
    write_json_lines(&files.project_indicators, &r.indicators)?;
    write_json_lines(&files.groups, &r.groups)?;
    Ok(files)
}

/// One record per line, each exactly its serde JSON.
fn write_json_lines<T: serde::Serialize>(path: &Path, records: &[T]) -> io::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    for record in records {
        serde_json::to_writer(&mut out, record)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// A number as a Hungarian spreadsheet writes it: `28 450`, `12,4`.
fn hungarian_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        let n = value.abs() as u64;
        let sign = if value < 0.0 { "-" } else { "" };
        if n >= 1_000 {
            format!("{sign}{}", grouped(n))
        } else {
            format!("{sign}{n}")
        }
    } else {
        // At most two decimals are generated; trailing zeros are dropped.
        let text = format!("{value:.2}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        text.replace('.', ",")
    }
}

/// Quotes a CSV field if it holds the delimiter, a quote or a line break.
fn csv_field(text: &str, delimiter: char) -> String {
    if text.contains(delimiter) || text.contains('"') || text.contains('\n') {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn write_table(path: &Path, text: &str, windows_1250: bool) -> io::Result<()> {
    let bytes = if windows_1250 {
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1250.encode(text);
        if unmappable {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: text not representable in Windows-1250", path.display()),
            ));
        }
        bytes.into_owned()
    } else {
        let mut bytes = Vec::with_capacity(text.len() + 3);
        bytes.extend_from_slice(b"\xEF\xBB\xBF");
        bytes.extend_from_slice(text.as_bytes());
        bytes
    };
    std::fs::write(path, bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::{ObservationRow, kistersegek};
    use super::*;

    #[test]
    fn written_tables_import_cleanly_in_both_encodings() {
        use tudashalo_core::model::Catalogue;
        use tudashalo_node::import::{Encoding, parse_catalogue, parse_observations};
        let spec = Spec {
            nodes: 2,
            docs_per_node: 5,
            ..Spec::default()
        };
        let dir = tempfile::tempdir().unwrap();
        for k in kistersegek(&spec) {
            let files = write_node_files(&dir.path().join(&k.slug), &k, &spec).unwrap();
            let bytes = std::fs::read(&files.catalogue).unwrap();
            assert_eq!(std::str::from_utf8(&bytes).is_err(), files.windows_1250);
            let parsed =
                parse_catalogue("mutatok.csv", &bytes, Encoding::Auto, &Catalogue::new()).unwrap();
            assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
            let catalogue: Catalogue = parsed
                .records
                .into_iter()
                .map(|(_, i)| (i.code.clone(), i))
                .collect();
            let bytes = std::fs::read(&files.observations).unwrap();
            let parsed =
                parse_observations("adatok.csv", &bytes, Encoding::Auto, &catalogue).unwrap();
            assert!(parsed.rejected.is_empty(), "{:?}", &parsed.rejected[..1]);
            let expected: Vec<ObservationRow> = observations(&k, &spec).collect();
            assert_eq!(parsed.records.len(), expected.len());
            for ((_, got), want) in parsed.records.iter().zip(&expected) {
                assert_eq!(got.settlement, want.1);
                assert_eq!(got.value, want.3, "{want:?}");
            }
        }
    }

    #[test]
    fn hungarian_numbers() {
        assert_eq!(hungarian_number(1_234_000.0), "1 234 000");
        assert_eq!(hungarian_number(12.4), "12,4");
        assert_eq!(hungarian_number(0.95), "0,95");
    }
}
