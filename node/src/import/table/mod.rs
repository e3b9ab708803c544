//! The table importer: indicator observations
//! (`indicator,settlement,period,value,unit`) and the indicator catalogue
//! (`code,name,unit,aggregation`), told apart by the header, from CSV files
//! and from workbooks' sheets (`.xlsx`, `.xls`, `.ods`).
//!
//! Hungarian statistics reach the operator as spreadsheet exports, so this
//! module accepts what Excel and the KSH tools write: `,`, `;` or tab as the
//! delimiter, UTF-8 with or without BOM or Windows-1250, Hungarian column
//! names, decimal commas and thousands separators (space, no-break space,
//! narrow no-break space, and `.` in decimal-comma files). Everything else is
//! strict: a value that is not clearly a number is rejected, never guessed.
//!
//! By concern: `decode` (bytes to text, by the chosen encoding), `header`
//! (the header's Hungarian and English column names, the delimiter, what kind
//! of table it is), `rows` (data rows with their physical line numbers),
//! `numbers` (numbers and periods as people and spreadsheets write them),
//! `workbook` (a workbook's sheets as rows of cells, read in the extractor
//! child process) and `sheet` (which sheet, where its header is, cells as
//! fields). This module checks the rows themselves, one implementation for
//! both: [`ObservationRows`] and [`CatalogueRows`] take a row's fields as
//! trimmed strings and say where a duplicate's first row is in the words of
//! its [`Place`] (`line 4` in a CSV file, `R4` in a sheet).

use std::collections::{HashMap, HashSet};

use super::common::{Fault, control_character, quote};
use super::{Encoding, FileError, FileFormat, Parsed, Rejection};
use tudashalo_core::model::{Aggregation, Catalogue, Indicator, Observation};

use decode::decode;
use header::{CATALOGUE_COLUMNS, OBSERVATION_COLUMNS, read_header};
use numbers::normalise_period;
pub(crate) use numbers::{decimal_comma, parse_number};
use rows::for_each_row;

mod decode;
#[cfg(test)]
pub(crate) mod fixtures;
mod header;
mod numbers;
mod ods_layout;
mod rows;
mod sheet;
pub mod workbook;

/// What a workbook's sheet held.
#[derive(Debug)]
pub enum WorkbookParsed {
    Observations(Parsed<Observation>),
    Catalogue(Parsed<Indicator>),
    /// A register table ([`super::register`]).
    Register(super::register::RegisterParsed),
}

/// Reads the sheet `sheet` of `book` (or the first sheet with a
/// recognisable header) as observations or as the catalogue, told apart by
/// its header as a CSV file's are. Rejections name the sheet and row.
pub fn parse_workbook(
    file: &str,
    book: &workbook::Workbook,
    sheet: Option<&str>,
    catalogue: &Catalogue,
) -> Result<WorkbookParsed, FileError> {
    // A register sheet is told by its header first; a workbook without one
    // is read as observations or the catalogue, as ever.
    if let Some(parsed) = super::register::parse_sheet(file, book, sheet) {
        return parsed.map(WorkbookParsed::Register);
    }
    sheet::parse(file, book, sheet, catalogue)
}

/// Decides from the header whether a CSV file holds observations, the
/// catalogue or a register table ([`super::register`]).
pub fn sniff(file: &str, bytes: &[u8], enc: Encoding) -> Result<FileFormat, FileError> {
    let text = decode(file, bytes, enc)?;
    let (header, _) = read_header(file, &text)?;
    if let Some(kind) =
        super::register::table::kind_of_header(header.names.iter().map(String::as_str))
    {
        return Ok(FileFormat::Register(kind));
    }
    header.classify(file)
}

/// A CSV table read without knowing its columns (a register table): the
/// header's cells, its line as written, the delimiter, and the data rows
/// (trimmed fields) with their physical line numbers. Rows of the wrong
/// width are rejected, as in every table.
pub(crate) struct TextTable {
    pub header: Vec<String>,
    pub line: String,
    pub delimiter: u8,
    pub rows: Vec<(usize, Vec<String>)>,
    pub rejected: Vec<Rejection>,
}

pub(crate) fn read_text_table(
    file: &str,
    bytes: &[u8],
    enc: Encoding,
) -> Result<TextTable, FileError> {
    let text = decode(file, bytes, enc)?;
    let (header, mut reader) = read_header(file, &text)?;
    let mut rejected = Vec::new();
    let mut rows = Vec::new();
    for_each_row(
        file,
        &text,
        &header,
        &mut reader,
        &mut rejected,
        |line, record| {
            rows.push((line, record.iter().map(|f| f.trim().to_string()).collect()));
            Ok(())
        },
    );
    Ok(TextTable {
        header: header.names,
        line: header.line,
        delimiter: header.delimiter,
        rows,
        rejected,
    })
}

/// Parses an observations file against the catalogue. Rows that fail a check
/// are rejected one by one; the file as a whole fails only when it cannot be
/// read as a table of observations at all.
pub fn parse_observations(
    file: &str,
    bytes: &[u8],
    enc: Encoding,
    catalogue: &Catalogue,
) -> Result<Parsed<Observation>, FileError> {
    let text = decode(file, bytes, enc)?;
    let (header, mut reader) = read_header(file, &text)?;
    let columns = header.require(file, &OBSERVATION_COLUMNS)?;
    let [indicator_at, settlement_at, period_at, value_at, unit_at] = columns;

    let mut checked = ObservationRows::new(Place::File(file), catalogue);
    let mut rejected = Vec::new();
    let rows = for_each_row(
        file,
        &text,
        &header,
        &mut reader,
        &mut rejected,
        |line, record| {
            let field = |at: usize| record.get(at).unwrap_or("").trim();
            let value = field(value_at);
            checked.row(
                line,
                &ObservationFields {
                    indicator: field(indicator_at),
                    settlement: field(settlement_at),
                    period: field(period_at),
                    value,
                    decimal_comma: decimal_comma(header.delimiter, value),
                    unit: field(unit_at),
                },
            )
        },
    );
    if rows == 0 {
        return Err(FileError::new(file, "no rows after the header"));
    }
    Ok(checked.finish(rejected))
}

/// Parses a catalogue file. `existing` is the catalogue already in the
/// store, which weighted means may refer to.
pub fn parse_catalogue(
    file: &str,
    bytes: &[u8],
    enc: Encoding,
    existing: &Catalogue,
) -> Result<Parsed<Indicator>, FileError> {
    let text = decode(file, bytes, enc)?;
    let (header, mut reader) = read_header(file, &text)?;
    let [code_at, name_at, unit_at, aggregation_at] = header.require(file, &CATALOGUE_COLUMNS)?;

    let mut checked = CatalogueRows::new(Place::File(file));
    let mut rejected = Vec::new();
    let rows = for_each_row(
        file,
        &text,
        &header,
        &mut reader,
        &mut rejected,
        |line, record| {
            let field = |at: usize| record.get(at).unwrap_or("").trim();
            checked.row(
                line,
                &CatalogueFields {
                    code: field(code_at),
                    name: field(name_at),
                    unit: field(unit_at),
                    aggregation: field(aggregation_at),
                },
            )
        },
    );
    if rows == 0 {
        return Err(FileError::new(file, "no rows after the header"));
    }
    Ok(checked.finish(rejected, existing))
}

/// Where a table's rows are, for messages: a CSV file's physical lines
/// (`obs.csv:17`, `line 17`) or a sheet's rows (`adatok.xlsx:Adatok!R17`,
/// `R17`).
#[derive(Debug, Clone, Copy)]
enum Place<'a> {
    File(&'a str),
    Sheet { file: &'a str, sheet: &'a str },
}

impl Place<'_> {
    fn reject(self, fault: Fault, line: usize) -> Rejection {
        match self {
            Place::File(file) => fault.at(file, line),
            Place::Sheet { file, sheet } => fault.at_sheet(file, sheet, line),
        }
    }

    /// A row as a message names it.
    fn row(self, line: usize) -> String {
        match self {
            Place::File(_) => format!("line {line}"),
            Place::Sheet { .. } => format!("R{line}"),
        }
    }
}

/// An observation row's fields, trimmed, however they were read.
struct ObservationFields<'f> {
    indicator: &'f str,
    settlement: &'f str,
    period: &'f str,
    value: &'f str,
    /// Whether `value` is written with a decimal comma.
    decimal_comma: bool,
    unit: &'f str,
}

/// A catalogue row's fields, trimmed, however they were read.
struct CatalogueFields<'f> {
    code: &'f str,
    name: &'f str,
    unit: &'f str,
    aggregation: &'f str,
}

/// Observation rows checked one by one, for CSV files and sheets alike.
struct ObservationRows<'a> {
    place: Place<'a>,
    catalogue: &'a Catalogue,
    /// Only accepted rows are remembered, so that a duplicate always points
    /// at the row whose value is actually imported.
    first_line_of: HashMap<(String, String, String), usize>,
    records: Vec<(usize, Observation)>,
}

impl<'a> ObservationRows<'a> {
    fn new(place: Place<'a>, catalogue: &'a Catalogue) -> Self {
        ObservationRows {
            place,
            catalogue,
            first_line_of: HashMap::new(),
            records: Vec::new(),
        }
    }

    /// Checks the row at `line`, keeping it when it passes.
    fn row(&mut self, line: usize, fields: &ObservationFields<'_>) -> Result<(), Fault> {
        let observation = observation(self.catalogue, fields)?;
        let key = (
            observation.indicator.clone(),
            observation.settlement.clone(),
            observation.period.clone(),
        );
        if let Some(first) = self.first_line_of.get(&key) {
            return Err(Fault::line(format!(
                "duplicate of {} (same indicator, settlement and period)",
                self.place.row(*first)
            )));
        }
        self.first_line_of.insert(key, line);
        self.records.push((line, observation));
        Ok(())
    }

    fn finish(self, rejected: Vec<Rejection>) -> Parsed<Observation> {
        Parsed {
            records: self.records,
            rejected,
        }
    }
}

/// Catalogue rows checked one by one, then together (weights), for CSV
/// files and sheets alike.
struct CatalogueRows<'a> {
    place: Place<'a>,
    first_line_of: HashMap<String, usize>,
    records: Vec<(usize, Indicator)>,
}

impl<'a> CatalogueRows<'a> {
    fn new(place: Place<'a>) -> Self {
        CatalogueRows {
            place,
            first_line_of: HashMap::new(),
            records: Vec::new(),
        }
    }

    fn row(&mut self, line: usize, fields: &CatalogueFields<'_>) -> Result<(), Fault> {
        let indicator = indicator(fields.code, fields.name, fields.unit, fields.aggregation)?;
        if let Some(first) = self.first_line_of.get(&indicator.code) {
            return Err(Fault::line(format!(
                "duplicate code {} (first at {})",
                quote(&indicator.code),
                self.place.row(*first)
            ))
            .with_field("code"));
        }
        self.first_line_of.insert(indicator.code.clone(), line);
        self.records.push((line, indicator));
        Ok(())
    }

    /// The rows kept, after the check of weights against `existing` (the
    /// store's catalogue) and the rows themselves.
    fn finish(self, mut rejected: Vec<Rejection>, existing: &Catalogue) -> Parsed<Indicator> {
        let mut records = self.records;
        // A weighted mean needs its weight indicator, from the store or from
        // this file. Rejecting one entry can orphan another that uses it as a
        // weight, so the check repeats until nothing more is rejected.
        loop {
            let codes: HashSet<&str> = records.iter().map(|(_, i)| i.code.as_str()).collect();
            let orphaned: Vec<usize> = records
                .iter()
                .enumerate()
                .filter(|(_, (_, indicator))| match &indicator.aggregation {
                    Aggregation::WeightedMean(weight) => {
                        !codes.contains(weight.as_str()) && !existing.contains_key(weight)
                    }
                    _ => false,
                })
                .map(|(position, _)| position)
                .collect();
            if orphaned.is_empty() {
                break;
            }
            for position in orphaned.into_iter().rev() {
                let (line, indicator) = records.remove(position);
                if let Aggregation::WeightedMean(weight) = &indicator.aggregation {
                    rejected.push(self.place.reject(
                        Fault::field(
                            "aggregation",
                            format!("weight indicator {} is not in the catalogue", quote(weight)),
                        ),
                        line,
                    ));
                }
            }
        }
        rejected.sort_by_key(|r| r.line);
        Parsed { records, rejected }
    }
}

/// Checks one observation row; the fields arrive trimmed.
fn observation(
    catalogue: &Catalogue,
    fields: &ObservationFields<'_>,
) -> Result<Observation, Fault> {
    let &ObservationFields {
        indicator,
        settlement,
        period,
        value,
        decimal_comma,
        unit,
    } = fields;
    if indicator.is_empty() {
        return Err(Fault::field("indicator", "empty"));
    }
    let Some(entry) = catalogue.get(indicator) else {
        return Err(Fault::line(format!(
            "indicator {} is not in the catalogue (import the catalogue first)",
            quote(indicator)
        ))
        .with_field("indicator"));
    };
    if settlement.is_empty() {
        return Err(Fault::field("settlement", "empty"));
    }
    // Settlement names are part of the store key, which uses NUL as its
    // separator; no control character has a place in a name anyway.
    if let Some(reason) = control_character(settlement) {
        return Err(Fault::field("settlement", reason));
    }
    let period = normalise_period(period).ok_or_else(|| {
        Fault::field(
            "period",
            format!(
                "{} is not a period (expected YYYY, YYYY-Qn or YYYY-MM)",
                quote(period)
            ),
        )
    })?;
    if value.is_empty() {
        return Err(Fault::field("value", "empty"));
    }
    let number = parse_number(value, decimal_comma)
        .ok_or_else(|| Fault::field("value", format!("{} is not a number", quote(value))))?;
    let catalogue_unit = entry.unit.trim();
    if !unit.is_empty() && unit != catalogue_unit {
        return Err(Fault::field(
            "unit",
            format!(
                "{} differs from the catalogue's unit {} for indicator {}",
                quote(unit),
                quote(catalogue_unit),
                quote(indicator)
            ),
        ));
    }
    Ok(Observation {
        indicator: entry.code.clone(),
        settlement: settlement.to_string(),
        period,
        value: number,
        unit: catalogue_unit.to_string(),
    })
}

/// Checks one catalogue row, except for the weight indicator, which needs
/// the whole file; the fields arrive trimmed.
fn indicator(code: &str, name: &str, unit: &str, aggregation: &str) -> Result<Indicator, Fault> {
    if code.is_empty() {
        return Err(Fault::field("code", "empty"));
    }
    // Codes are store keys and appear in queries, so they keep to a small,
    // unambiguous alphabet (which also keeps NUL out of observation keys).
    if !code
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return Err(Fault::field(
            "code",
            format!(
                "{} may contain only the letters A-Z and a-z, digits and _ . -",
                quote(code)
            ),
        ));
    }
    if name.is_empty() {
        return Err(Fault::field("name", "empty"));
    }
    let aggregation: Aggregation = aggregation
        .parse()
        .map_err(|reason: String| Fault::field("aggregation", reason))?;
    if let Aggregation::WeightedMean(weight) = &aggregation
        && weight == code
    {
        return Err(Fault::field(
            "aggregation",
            format!("indicator {} cannot be its own weight", quote(code)),
        ));
    }
    Ok(Indicator {
        code: code.to_string(),
        name: name.to_string(),
        unit: unit.to_string(),
        aggregation,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::Rejection;
    use super::*;

    /// Three indicators, one a weighted mean: the catalogue the CSV and the
    /// sheet tests read against.
    pub(in crate::import::table) fn catalogue() -> Catalogue {
        let mut catalogue = Catalogue::new();
        for (code, unit, aggregation) in [
            ("nepesseg", "fő", Aggregation::Sum),
            (
                "munkanelkuliseg",
                "%",
                Aggregation::WeightedMean("nepesseg".into()),
            ),
            ("lakas", "db", Aggregation::Sum),
        ] {
            catalogue.insert(
                code.to_string(),
                Indicator {
                    code: code.to_string(),
                    name: code.to_string(),
                    unit: unit.to_string(),
                    aggregation,
                },
            );
        }
        catalogue
    }

    fn observations(text: &str) -> Parsed<Observation> {
        parse_observations("obs.csv", text.as_bytes(), Encoding::Auto, &catalogue()).unwrap()
    }

    fn reasons(rejected: &[Rejection]) -> Vec<String> {
        rejected.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn comma_file_with_decimal_dot() {
        let parsed = observations(
            "indicator,settlement,period,value,unit\n\
             nepesseg,Edelény,2021,10234,fő\n\
             munkanelkuliseg, Szendrő ,2021-Q3,12.5,\n\
             munkanelkuliseg,Szendrő,2021-07,-0.25,%\n",
        );
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        let got: Vec<(usize, &str, &str, f64, &str)> = parsed
            .records
            .iter()
            .map(|(l, o)| {
                (
                    *l,
                    o.settlement.as_str(),
                    o.period.as_str(),
                    o.value,
                    o.unit.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (2, "Edelény", "2021", 10234.0, "fő"),
                (3, "Szendrő", "2021-Q3", 12.5, "%"),
                (4, "Szendrő", "2021-07", -0.25, "%"),
            ]
        );
    }

    #[test]
    fn semicolon_decimal_comma_and_thousands() {
        let text = "Indicator;Settlement;Period;Value;Unit\r\n\
                    nepesseg;Edelény;2020;1\u{a0}234,5;fő\r\n\
                    nepesseg;Szendrő;2020;1.234.567,5;fő\r\n\
                    nepesseg;Abod;2020;1\u{202f}000;fő\r\n\
                    nepesseg;Balajt;2020;\"2 000\";fő\r\n\
                    nepesseg;Damak;2020;+7;fő\r\n";
        let parsed = observations(text);
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        let values: Vec<f64> = parsed.records.iter().map(|(_, o)| o.value).collect();
        assert_eq!(values, vec![1234.5, 1_234_567.5, 1000.0, 2000.0, 7.0]);
    }

    #[test]
    fn bad_numbers_are_rejected() {
        let text = "indicator;settlement;period;value;unit\n\
                    nepesseg;A;2020;\"12,3,4\";fő\n\
                    nepesseg;B;2020;;fő\n\
                    nepesseg;C;2020;NaN;fő\n\
                    nepesseg;D;2020;inf;fő\n\
                    nepesseg;E;2020;12.5;fő\n\
                    nepesseg;F;2020;1 23;fő\n\
                    nepesseg;G;2020;1e5;fő\n\
                    nepesseg;H;2020;-;fő\n";
        let parsed = observations(text);
        assert!(parsed.records.is_empty(), "{:?}", parsed.records);
        assert_eq!(
            reasons(&parsed.rejected),
            vec![
                "obs.csv:2: field \"value\": \"12,3,4\" is not a number",
                "obs.csv:3: field \"value\": empty",
                "obs.csv:4: field \"value\": \"NaN\" is not a number",
                "obs.csv:5: field \"value\": \"inf\" is not a number",
                "obs.csv:6: field \"value\": \"12.5\" is not a number",
                "obs.csv:7: field \"value\": \"1 23\" is not a number",
                "obs.csv:8: field \"value\": \"1e5\" is not a number",
                "obs.csv:9: field \"value\": \"-\" is not a number",
            ]
        );
        assert!(
            parsed
                .rejected
                .iter()
                .all(|r| r.field.as_deref() == Some("value"))
        );
    }

    #[test]
    fn tab_delimited() {
        let text = "indicator\tsettlement\tperiod\tvalue\tunit\n\
                    nepesseg\tEdelény\t2020\t12,5\tfő\n\
                    nepesseg\tSzendrő\t2020\t1 234.5\tfő\n\
                    nepesseg\tAbod\t2020\t1.234,5\tfő\n";
        let parsed = observations(text);
        let values: Vec<f64> = parsed.records.iter().map(|(_, o)| o.value).collect();
        assert_eq!(values, vec![12.5, 1234.5]);
        assert_eq!(
            reasons(&parsed.rejected),
            vec!["obs.csv:4: field \"value\": \"1.234,5\" is not a number"]
        );
    }

    #[test]
    fn utf8_bom_is_skipped() {
        let text = "\u{feff}indicator,settlement,period,value,unit\nnepesseg,Edelény,2020,5,fő\n";
        assert_eq!(
            sniff("obs.csv", text.as_bytes(), Encoding::Auto).unwrap(),
            FileFormat::Observations
        );
        let parsed =
            parse_observations("obs.csv", text.as_bytes(), Encoding::Utf8, &catalogue()).unwrap();
        assert_eq!(parsed.records.len(), 1);
        assert_eq!(parsed.records[0].1.settlement, "Edelény");
    }

    #[test]
    fn windows_1250_bytes() {
        let text = "mutató;település;időszak;érték;mértékegység\nnepesseg;Edelény;2020;5;fő\nnepesseg;Szendrő;2020;6;Fő\n";
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1250.encode(text);
        assert!(!unmappable);
        assert!(bytes.contains(&0xF5), "ő is 0xF5 in Windows-1250");
        for enc in [Encoding::Auto, Encoding::Windows1250] {
            let parsed = parse_observations("obs.csv", &bytes, enc, &catalogue()).unwrap();
            assert_eq!(parsed.records.len(), 1);
            assert_eq!(parsed.records[0].1.settlement, "Edelény");
            assert_eq!(
                reasons(&parsed.rejected),
                vec![
                    "obs.csv:3: field \"unit\": \"Fő\" differs from the catalogue's unit \"fő\" for indicator \"nepesseg\""
                ]
            );
        }
        let plain = encoding_rs::WINDOWS_1250.encode("Edelény;Szendrő;Fő").0;
        assert_eq!(&plain[..], b"Edel\xe9ny;Szendr\xf5;F\xf5");
    }

    #[test]
    fn forced_utf8_names_the_bad_line() {
        let mut bytes = b"indicator;settlement;period;value;unit\n".to_vec();
        for _ in 0..5 {
            bytes.extend_from_slice("nepesseg;Abod;2020;1;fő\n".as_bytes());
        }
        bytes.extend_from_slice(b"nepesseg;Edel\xe9ny;2020;1;f\xf5\n");
        let err = parse_observations("obs.csv", &bytes, Encoding::Utf8, &catalogue()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "obs.csv: not valid UTF-8 (line 7); use --encoding windows-1250"
        );
    }

    #[test]
    fn unknown_indicator() {
        let parsed = observations("indicator,settlement,period,value,unit\nxyz,Abod,2020,1,fő\n");
        assert_eq!(
            reasons(&parsed.rejected),
            vec![
                "obs.csv:2: indicator \"xyz\" is not in the catalogue (import the catalogue first)"
            ]
        );
        assert_eq!(parsed.rejected[0].field.as_deref(), Some("indicator"));
    }

    #[test]
    fn unit_mismatch_and_missing_unit() {
        let parsed = observations(
            "indicator,settlement,period,value,unit\nnepesseg,Abod,2020,1,%\nnepesseg,Balajt,2020,1,  \n",
        );
        assert_eq!(
            reasons(&parsed.rejected),
            vec![
                "obs.csv:2: field \"unit\": \"%\" differs from the catalogue's unit \"fő\" for indicator \"nepesseg\""
            ]
        );
        assert_eq!(parsed.records.len(), 1);
        assert_eq!(parsed.records[0].1.unit, "fő");
    }

    #[test]
    fn bad_periods() {
        let parsed = observations(
            "indicator,settlement,period,value,unit\n\
             nepesseg,A,2014/1,1,fő\n\
             nepesseg,B,2014-Q5,1,fő\n\
             nepesseg,C,2014-13,1,fő\n\
             nepesseg,D,2014-00,1,fő\n\
             nepesseg,E,14,1,fő\n\
             nepesseg,F,2014-1,1,fő\n\
             nepesseg,G,ÉÉÉÉ,1,fő\n\
             nepesseg,H,2014-q2,1,fő\n\
             nepesseg,I,2014-12,1,fő\n",
        );
        assert_eq!(
            parsed.rejected[0].to_string(),
            "obs.csv:2: field \"period\": \"2014/1\" is not a period (expected YYYY, YYYY-Qn or YYYY-MM)"
        );
        let lines: Vec<usize> = parsed.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6, 7, 8]);
        let periods: Vec<&str> = parsed
            .records
            .iter()
            .map(|(_, o)| o.period.as_str())
            .collect();
        assert_eq!(periods, vec!["2014-Q2", "2014-12"]);
    }

    #[test]
    fn wrong_width_empty_fields_and_duplicates() {
        let text = "indicator,settlement,period,value,unit\n\
                    nepesseg,Abod,2020\n\
                    \n\
                    nepesseg,Abod,2020,1,fő\n\
                    ,,,,\n\
                    nepesseg, Abod ,2020,2,fő\n\
                    nepesseg,,2020,2,fő\n\
                    ,Abod,2020,2,fő\n\
                    nepesseg,Abod,2020,1,fő,extra\n";
        let parsed = observations(text);
        assert_eq!(parsed.records.len(), 1);
        assert_eq!(parsed.records[0].0, 4);
        assert_eq!(
            reasons(&parsed.rejected),
            vec![
                "obs.csv:2: expected 5 fields, found 3",
                "obs.csv:6: duplicate of line 4 (same indicator, settlement and period)",
                "obs.csv:7: field \"settlement\": empty",
                "obs.csv:8: field \"indicator\": empty",
                "obs.csv:9: expected 5 fields, found 6",
            ]
        );
    }

    #[test]
    fn line_numbers_survive_crlf_and_blank_lines() {
        let text = "\r\nindicator;settlement;period;value;unit\r\n\r\n\r\n\
                    nepesseg;Abod;2020;1;fő\r\n\
                    nepesseg;Abod;2020;x;fő\r\n\n\
                    nepesseg;\"Új\r\nfalu\";2020;1;fő\r\n\
                    nepesseg;Balajt;2020;y;fő";
        let parsed = observations(text);
        let accepted: Vec<usize> = parsed.records.iter().map(|(l, _)| *l).collect();
        assert_eq!(accepted, vec![5]);
        // Line 8 starts a quoted settlement spanning two lines; a line break
        // has no place in a settlement name, and the row after it is still
        // counted from the physical lines.
        let rejected: Vec<(usize, Option<&str>)> = parsed
            .rejected
            .iter()
            .map(|r| (r.line, r.field.as_deref()))
            .collect();
        assert_eq!(
            rejected,
            vec![
                (6, Some("value")),
                (8, Some("settlement")),
                (10, Some("value"))
            ]
        );
    }

    #[test]
    fn extra_columns_any_order_and_quoted_newlines() {
        let text = "Megjegyzés,UNIT,Value,Period,Settlement,Indicator\n\
                    \"két\nsoros\",fő,3,2020,Edelény,nepesseg\n\
                    x,fő,4,2021,Edelény,nepesseg\n";
        let parsed = observations(text);
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        let got: Vec<(usize, f64)> = parsed.records.iter().map(|(l, o)| (*l, o.value)).collect();
        assert_eq!(got, vec![(2, 3.0), (4, 4.0)]);
    }

    #[test]
    fn hungarian_aliases() {
        let text = "Mutató;Település;Év;Érték;Egység\nnepesseg;Edelény;2020;10;fő\n";
        assert_eq!(
            sniff("obs.csv", text.as_bytes(), Encoding::Auto).unwrap(),
            FileFormat::Observations
        );
        assert_eq!(observations(text).records.len(), 1);
        let text = "mutato;telepules;idoszak;ertek;mertekegyseg\nnepesseg;Edelény;2020;10;fő\n";
        assert_eq!(observations(text).records.len(), 1);

        let text = "KÓD;Név;Mértékegység;Aggregálás\nnep;Népesség;fő;sum\n";
        assert_eq!(
            sniff("cat.csv", text.as_bytes(), Encoding::Auto).unwrap(),
            FileFormat::Catalogue
        );
        let parsed = parse_catalogue(
            "cat.csv",
            text.as_bytes(),
            Encoding::Auto,
            &Catalogue::new(),
        )
        .unwrap();
        assert_eq!(parsed.records[0].1.name, "Népesség");
        let text = "kod,nev,mertekegyseg,aggregalas\nnep,Népesség,fő,sum\n";
        let parsed = parse_catalogue(
            "cat.csv",
            text.as_bytes(),
            Encoding::Auto,
            &Catalogue::new(),
        )
        .unwrap();
        assert_eq!(parsed.records.len(), 1);
    }

    #[test]
    fn sniff_kinds_and_garbage() {
        let sniffed = |text: &str| sniff("t.csv", text.as_bytes(), Encoding::Auto);
        assert_eq!(
            sniffed("indicator,settlement,period,value,unit\n").unwrap(),
            FileFormat::Observations
        );
        assert_eq!(
            sniffed("\n\ncode;name;unit;aggregation;comment\n").unwrap(),
            FileFormat::Catalogue
        );
        assert_eq!(
            sniffed("a;b;c\n1;2;3\n").unwrap_err().to_string(),
            "t.csv: header \"a;b;c\" is neither observations (indicator,settlement,period,value,unit) \
             nor a catalogue (code,name,unit,aggregation)"
        );
        assert_eq!(
            sniffed("indicator;settlement;periode;value\n")
                .unwrap_err()
                .reason,
            "header \"indicator;settlement;periode;value\" lacks the columns period, unit needed for \
             observations (indicator,settlement,period,value,unit)"
        );
        assert_eq!(
            sniffed("code,name,unit\n").unwrap_err().reason,
            "header \"code,name,unit\" lacks the column aggregation needed for a catalogue \
             (code,name,unit,aggregation)"
        );
        assert!(
            sniffed("value;value;x\n")
                .unwrap_err()
                .reason
                .starts_with("column \"value\" appears twice")
        );
        assert!(
            sniffed("indicator,settlement,period,value,unit,code,name,aggregation\n")
                .unwrap_err()
                .reason
                .contains("both")
        );
        assert_eq!(sniffed("").unwrap_err().reason, "empty file");
        assert_eq!(sniffed("\u{feff}\r\n \n").unwrap_err().reason, "empty file");
        assert_eq!(
            sniff("b.csv", b"\x00\xff\xfe\x01garbage", Encoding::Auto)
                .unwrap_err()
                .reason
                .split(' ')
                .next(),
            Some("header")
        );
    }

    #[test]
    fn header_only_and_empty_files() {
        let err = parse_observations(
            "obs.csv",
            b"indicator,settlement,period,value,unit\r\n\r\n",
            Encoding::Auto,
            &catalogue(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "obs.csv: no rows after the header");
        let err = parse_observations("obs.csv", b"", Encoding::Auto, &catalogue()).unwrap_err();
        assert_eq!(err.to_string(), "obs.csv: empty file");
        let err = parse_catalogue(
            "cat.csv",
            b"code;name;unit;aggregation\n;;;\n",
            Encoding::Auto,
            &Catalogue::new(),
        )
        .unwrap_err();
        assert_eq!(err.reason, "no rows after the header");
    }

    #[test]
    fn wrong_kind_of_file() {
        let err = parse_observations(
            "cat.csv",
            b"code,name,unit,aggregation\nx,X,db,sum\n",
            Encoding::Auto,
            &catalogue(),
        )
        .unwrap_err();
        assert!(
            err.reason
                .contains("lacks the columns indicator, settlement, period, value"),
            "{}",
            err.reason
        );
    }

    #[test]
    fn catalogue_checks() {
        let text = "code,name,unit,aggregation\n\
                    nep,Népesség,fő,sum\n\
                    munk,Munkanélküliség,%,weighted_mean:nep\n\
                    ber,Átlagbér,Ft,weighted_mean:dolgozok\n\
                    lak,Lakások,db,weighted_mean:lakas\n\
                    nep,Népesség újra,fő,sum\n\
                    rossz kód,X,db,sum\n\
                    ,X,db,sum\n\
                    ures,,db,sum\n\
                    agg,X,db,average\n\
                    sajat,X,db,weighted_mean:sajat\n\
                    lanc,X,db,weighted_mean:ber\n\
                    ures_suly,X,db,weighted_mean:\n";
        let parsed =
            parse_catalogue("cat.csv", text.as_bytes(), Encoding::Auto, &catalogue()).unwrap();
        let codes: Vec<&str> = parsed
            .records
            .iter()
            .map(|(_, i)| i.code.as_str())
            .collect();
        assert_eq!(codes, vec!["nep", "munk", "lak"]);
        assert_eq!(
            parsed.records[1].1.aggregation,
            Aggregation::WeightedMean("nep".into())
        );
        assert_eq!(
            reasons(&parsed.rejected),
            vec![
                "cat.csv:4: field \"aggregation\": weight indicator \"dolgozok\" is not in the catalogue",
                "cat.csv:6: duplicate code \"nep\" (first at line 2)",
                "cat.csv:7: field \"code\": \"rossz kód\" may contain only the letters A-Z and a-z, digits and _ . -",
                "cat.csv:8: field \"code\": empty",
                "cat.csv:9: field \"name\": empty",
                "cat.csv:10: field \"aggregation\": unknown aggregation \"average\" \
                 (expected sum, weighted_mean:<code>, min, max or none)",
                "cat.csv:11: field \"aggregation\": indicator \"sajat\" cannot be its own weight",
                "cat.csv:12: field \"aggregation\": weight indicator \"ber\" is not in the catalogue",
                "cat.csv:13: field \"aggregation\": weighted_mean needs a weight indicator: weighted_mean:<code>",
            ]
        );
    }

    #[test]
    fn catalogue_weight_missing_everywhere() {
        let text = "code;name;unit;aggregation\nmunk;Munkanélküliség;%;weighted_mean:W\n";
        let parsed = parse_catalogue(
            "cat.csv",
            text.as_bytes(),
            Encoding::Auto,
            &Catalogue::new(),
        )
        .unwrap();
        assert!(parsed.records.is_empty());
        assert_eq!(
            reasons(&parsed.rejected),
            vec![
                "cat.csv:2: field \"aggregation\": weight indicator \"W\" is not in the catalogue"
            ]
        );
        // The same entry is fine once the weight is in the store.
        let mut existing = Catalogue::new();
        existing.insert(
            "W".into(),
            Indicator {
                code: "W".into(),
                name: "Súly".into(),
                unit: "fő".into(),
                aggregation: Aggregation::Sum,
            },
        );
        let parsed =
            parse_catalogue("cat.csv", text.as_bytes(), Encoding::Auto, &existing).unwrap();
        assert_eq!(parsed.records.len(), 1);
    }

    #[test]
    fn arbitrary_bytes_do_not_panic() {
        let samples: [&[u8]; 8] = [
            b"\xff\xfe\x00\x00",
            b"\"",
            b"\"\"\"\n\"",
            b"indicator,settlement,period,value,unit\n\"unterminated",
            b"indicator;settlement;period;value;unit\nnepesseg;\xe9;\xf5\xf5\xf5\xf5-Q1;-\xa0;\n",
            b"indicator,settlement,period,value,unit\nnepesseg,a,\xc3\xa9\xc3\xa9,1,\n",
            b"indicator,settlement,period,value,unit\nnepesseg,a,2020,1,\nnepesseg,a\x00b,2020,1,\n",
            b"\r\r\r",
        ];
        for bytes in samples {
            for enc in [Encoding::Auto, Encoding::Utf8, Encoding::Windows1250] {
                let _ = sniff("x.csv", bytes, enc);
                let _ = parse_observations("x.csv", bytes, enc, &catalogue());
                let _ = parse_catalogue("x.csv", bytes, enc, &catalogue());
            }
        }
    }
}
