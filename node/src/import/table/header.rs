//! A table's header: the columns this importer knows under their English
//! and Hungarian names (with or without accents, since exports lose them),
//! the delimiter sniffed from the header line, and whether the table holds
//! observations or the catalogue, with messages that name what is missing.
//!
//! One implementation for CSV files and workbook sheets: [`Header::from_cells`]
//! maps a header's cells however they were read (a CSV record, a sheet's
//! row), and [`read_header`] is the CSV way to find them.

use std::collections::HashMap;

use csv::{Reader, ReaderBuilder, StringRecord};

use super::super::common::quote_at_most;
use super::super::{FileError, FileFormat};

/// How many characters of the header a message shows.
const HEADER_QUOTE_CHARS: usize = 120;
/// The columns this module knows, under any of their accepted names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Column {
    Indicator,
    Settlement,
    Period,
    Value,
    Unit,
    Code,
    Name,
    Aggregation,
}

pub(super) const OBSERVATION_COLUMNS: [Column; 5] = [
    Column::Indicator,
    Column::Settlement,
    Column::Period,
    Column::Value,
    Column::Unit,
];

pub(super) const CATALOGUE_COLUMNS: [Column; 4] = [
    Column::Code,
    Column::Name,
    Column::Unit,
    Column::Aggregation,
];

impl Column {
    fn name(self) -> &'static str {
        match self {
            Column::Indicator => "indicator",
            Column::Settlement => "settlement",
            Column::Period => "period",
            Column::Value => "value",
            Column::Unit => "unit",
            Column::Code => "code",
            Column::Name => "name",
            Column::Aggregation => "aggregation",
        }
    }

    /// Recognises a header cell: case-insensitive, trimmed, English or
    /// Hungarian (with or without accents, since exports lose them).
    fn from_header(cell: &str) -> Option<Column> {
        let name = cell.trim_start_matches('\u{feff}').trim().to_lowercase();
        let column = match name.as_str() {
            "indicator" | "mutató" | "mutato" => Column::Indicator,
            "settlement" | "település" | "telepules" => Column::Settlement,
            "period" | "időszak" | "idoszak" | "év" | "ev" => Column::Period,
            "value" | "érték" | "ertek" => Column::Value,
            "unit" | "mértékegység" | "mertekegyseg" | "egység" | "egyseg" => Column::Unit,
            "code" | "kód" | "kod" => Column::Code,
            "name" | "név" | "nev" => Column::Name,
            "aggregation" | "aggregálás" | "aggregalas" => Column::Aggregation,
            _ => return None,
        };
        Some(column)
    }
}

/// Lists column names for messages: `indicator,settlement,…`.
fn column_list(columns: &[Column], separator: &str) -> String {
    columns
        .iter()
        .map(|c| c.name())
        .collect::<Vec<_>>()
        .join(separator)
}

/// What the header says about the table.
pub(super) struct Header {
    /// The CSV delimiter; for a sheet `\t`, whose rule for numbers written
    /// as text (a decimal comma when there is a comma and no dot) is the one
    /// that fits a cell, which no delimiter has split.
    pub(super) delimiter: u8,
    /// The header line as written, for messages (a sheet's cells joined
    /// with `;`).
    pub(super) line: String,
    /// How many fields every CSV row must have (a sheet's rows may be
    /// shorter or longer: cells past the table are notes).
    pub(super) width: usize,
    /// Where each known column is.
    pub(super) positions: HashMap<Column, usize>,
    /// The header's cells as written (for the register's own columns).
    pub(super) names: Vec<String>,
}

impl Header {
    fn missing(&self, wanted: &[Column]) -> Vec<Column> {
        wanted
            .iter()
            .copied()
            .filter(|c| !self.positions.contains_key(c))
            .collect()
    }

    fn quoted(&self) -> String {
        quote_at_most(&self.line, HEADER_QUOTE_CHARS)
    }

    /// Observations or catalogue. When neither is complete, the message
    /// names the missing columns of the kind the header comes closer to, so
    /// that a typo in one column name is easy to spot.
    pub(super) fn classify(&self, file: &str) -> Result<FileFormat, FileError> {
        let missing_observation = self.missing(&OBSERVATION_COLUMNS);
        let missing_catalogue = self.missing(&CATALOGUE_COLUMNS);
        match (missing_observation.is_empty(), missing_catalogue.is_empty()) {
            (true, true) => Err(FileError::new(
                file,
                format!(
                    "header {} has the columns of both observations and a catalogue; put them in separate files",
                    self.quoted()
                ),
            )),
            (true, false) => Ok(FileFormat::Observations),
            (false, true) => Ok(FileFormat::Catalogue),
            (false, false) => {
                // The unit column is shared, so it says nothing about which
                // kind was meant; only the other columns count.
                let hits = |wanted: &[Column], missing: &[Column]| {
                    wanted
                        .iter()
                        .filter(|c| **c != Column::Unit && !missing.contains(c))
                        .count()
                };
                let observation_hits = hits(&OBSERVATION_COLUMNS, &missing_observation);
                let catalogue_hits = hits(&CATALOGUE_COLUMNS, &missing_catalogue);
                if observation_hits >= 2 && observation_hits >= catalogue_hits {
                    Err(self.missing_error(file, &OBSERVATION_COLUMNS, &missing_observation))
                } else if catalogue_hits >= 2 {
                    Err(self.missing_error(file, &CATALOGUE_COLUMNS, &missing_catalogue))
                } else {
                    Err(FileError::new(
                        file,
                        format!(
                            "header {} is neither observations ({}) nor a catalogue ({})",
                            self.quoted(),
                            column_list(&OBSERVATION_COLUMNS, ","),
                            column_list(&CATALOGUE_COLUMNS, ",")
                        ),
                    ))
                }
            }
        }
    }

    fn missing_error(&self, file: &str, wanted: &[Column], missing: &[Column]) -> FileError {
        let what = if wanted.len() == OBSERVATION_COLUMNS.len() {
            "observations"
        } else {
            "a catalogue"
        };
        FileError::new(
            file,
            format!(
                "header {} lacks the column{} {} needed for {what} ({})",
                self.quoted(),
                if missing.len() == 1 { "" } else { "s" },
                column_list(missing, ", "),
                column_list(wanted, ",")
            ),
        )
    }

    /// The positions of the wanted columns, in the order asked for.
    pub(super) fn require<const N: usize>(
        &self,
        file: &str,
        wanted: &[Column; N],
    ) -> Result<[usize; N], FileError> {
        let missing = self.missing(wanted);
        if !missing.is_empty() {
            return Err(self.missing_error(file, wanted, &missing));
        }
        let mut positions = [0; N];
        for (slot, column) in positions.iter_mut().zip(wanted) {
            *slot = self.positions.get(column).copied().unwrap_or_default();
        }
        Ok(positions)
    }
}

/// Finds the header, picks the delimiter from it and maps its columns.
/// Returns the reader positioned after the header.
pub(super) fn read_header<'t>(
    file: &str,
    text: &'t str,
) -> Result<(Header, Reader<&'t [u8]>), FileError> {
    if text.trim().is_empty() {
        return Err(FileError::new(file, "empty file"));
    }
    // The csv reader skips empty lines, so the header is the first line that
    // is not empty.
    let line = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let delimiter = sniff_delimiter(line);
    let mut reader = ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut cells = StringRecord::new();
    match reader.read_record(&mut cells) {
        Ok(true) => {}
        Ok(false) => return Err(FileError::new(file, "empty file")),
        Err(e) => return Err(FileError::new(file, format!("cannot read the header: {e}"))),
    }
    let header = Header::from_cells(file, cells.iter(), line.to_string(), delimiter)?;
    Ok((header, reader))
}

impl Header {
    /// Maps the columns of a header's cells, however they were read: a CSV
    /// file's header record or a sheet's header row. `line` is the header as
    /// messages show it; `delimiter` decides how text numbers are read
    /// ([`super::numbers::decimal_comma`]).
    pub(super) fn from_cells<'c>(
        file: &str,
        cells: impl IntoIterator<Item = &'c str>,
        line: String,
        delimiter: u8,
    ) -> Result<Header, FileError> {
        let mut positions = HashMap::new();
        let mut width = 0;
        let mut names = Vec::new();
        for (at, cell) in cells.into_iter().enumerate() {
            width = at + 1;
            names.push(cell.to_string());
            if let Some(column) = Column::from_header(cell)
                && let Some(first) = positions.insert(column, at)
            {
                return Err(FileError::new(
                    file,
                    format!(
                        "column \"{}\" appears twice in the header (columns {} and {})",
                        column.name(),
                        first + 1,
                        at + 1
                    ),
                ));
            }
        }
        Ok(Header {
            delimiter,
            line,
            width,
            positions,
            names,
        })
    }

    /// How many of the known columns the header has.
    pub(super) fn known(&self) -> usize {
        self.positions.len()
    }
}

/// The delimiter of a header line: the most frequent of `;`, tab and `,`
/// outside double quotes. Ties go to `;`, then tab, because a comma is also
/// a decimal mark in Hungarian data while the other two never are.
fn sniff_delimiter(line: &str) -> u8 {
    let (mut semicolons, mut tabs, mut commas) = (0usize, 0usize, 0usize);
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => semicolons += 1,
            '\t' if !quoted => tabs += 1,
            ',' if !quoted => commas += 1,
            _ => {}
        }
    }
    if semicolons >= tabs && semicolons >= commas && semicolons > 0 {
        b';'
    } else if tabs >= commas && tabs > 0 {
        b'\t'
    } else {
        b','
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_detection() {
        assert_eq!(sniff_delimiter("a;b,c;d"), b';');
        assert_eq!(sniff_delimiter("a\tb\tc,d"), b'\t');
        assert_eq!(sniff_delimiter("a,b,c;d"), b',');
        assert_eq!(sniff_delimiter("\"a;b;c\",d"), b',');
        assert_eq!(sniff_delimiter("a;b\tc,d"), b';');
        assert_eq!(sniff_delimiter("a\tb,c"), b'\t');
        assert_eq!(sniff_delimiter("abc"), b',');
    }
}
