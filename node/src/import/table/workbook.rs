//! Workbooks (`.xlsx`, `.xls`, `.ods`): their sheets as rows of cells, for
//! the table importer ([`super::parse_workbook`]) to read as it reads CSV.
//!
//! The reading is [calamine]'s (pure Rust, MIT): its XLSX, XLS (BIFF) and
//! ODS readers. This module runs in the extractor child process
//! ([`crate::import::isolate`]), so what it returns is plain data
//! ([`Workbook`], serialisable) and what it refuses is a typed
//! [`Failure`]. Design choices, each against a hostile file:
//!
//! - **The container before the reader.** XLSX and ODS are zips; before
//!   calamine sees one, every XML part is read through
//!   [`zipped::Container`] with the caps used for DOCX (`MAX_ENTRIES`,
//!   `MAX_PART_BYTES`, `MAX_TOTAL_BYTES`, `MAX_RATIO`), so a zip bomb is
//!   `too-large` after a megabyte, not an out-of-memory death. Parts that
//!   are not XML (images, embedded binaries) are never read by calamine and
//!   are not decompressed here either.
//! - **Sparse cells, capped.** An XLSX sheet is streamed cell by cell
//!   (calamine's dense `Range` would allocate the whole bounding box, and
//!   two cells at `A1` and `XFD1048576` make that 17 billion cells). Every
//!   reader stops at [`MAX_CELLS`] stored cells (the empty cells padding a
//!   row to its last value count too), named in the `too-large` message.
//!   An ODS sheet is built whole by calamine when the file is opened, its
//!   repeated rows and columns expanded, so [`ods_layout`] counts that
//!   rectangle from `content.xml` first and refuses it over the cap. An
//!   XLSX shared-string table may not declare more strings than the cap
//!   either (calamine reserves room for the declared count up front). XLS
//!   sheets are bounded by the format itself (65 536 × 256 cells each, built
//!   whole by calamine when the file is opened: the child process's memory
//!   limit is what bounds a file of many such sheets).
//! - **Panics are the child's.** calamine panics on some damaged files
//!   instead of failing (a cut OLE file is refused here before it can);
//!   [`crate::import::isolate`] runs this under `catch_unwind`, so such a
//!   file is `extractor-crash`, for that file alone.
//! - **The format from the bytes, not the name.** A zip is XLSX or ODS by
//!   its parts, an OLE compound file (`D0 CF 11 E0 A1 B1 1A E1`) is either a
//!   password-protected XLSX (an `EncryptedPackage` stream: `encrypted`) or
//!   an `.xls` (read as one, whatever the file is called). A `.xls` with a
//!   password is `encrypted` too (calamine reports its `FILEPASS` record).
//! - **Row numbers are the sheet's.** Only rows with a value are kept, each
//!   with its 1-based spreadsheet row number, so that blank leading rows and
//!   title rows do not shift `R17` away from the row a person sees in
//!   Excel. `cells[0]` is column `A`; trailing empty cells are dropped.
//! - **Cells as held.** Numbers are numbers (an integer cell too), dates are
//!   ISO 8601 (`2021-03-01`, with `T12:30:00` when there is a time), text is
//!   text, errors are their Excel spelling (`#DIV/0!`). Interpreting them
//!   (decimal commas in text, a date as a period) is the table importer's.
//! - **Merged cells are reported, not spread.** calamine gives the merged
//!   regions of XLSX and XLS sheets; for ODS, which it does not expose,
//!   [`ods_layout`] reads `table:number-columns-spanned` and
//!   `table:number-rows-spanned` itself. The regions travel with the sheet
//!   ([`Merged`]) and the table importer decides where the value of a region
//!   counts ([`super::parse_workbook`]): spreading here would make one
//!   header name appear in several columns.
//!
//! Dates need no date library: calamine's `ExcelDateTime` gives the
//! calendar fields of a serial date, both epochs, without its `chrono`
//! feature.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{
    Data, DataRef, Dimensions, ExcelDateTime, Ods, OdsError, Reader, SheetType, Xls, XlsError,
    Xlsx, XlsxError,
};
use serde::{Deserialize, Serialize};

use crate::import::Limits;
use crate::import::extract::{Failure, FailureKind, check_file_size};
use crate::import::office::zipped;

use super::ods_layout;

/// The most cells a workbook may hold, over all its sheets, counting the
/// empty cells that pad a row up to its last value: a million observations
/// of five columns, about as many rows as Excel allows in a sheet
/// (1 048 576). A larger table belongs in a CSV file, which has no such cap.
pub const MAX_CELLS: usize = 5_000_000;

/// The most merged regions a workbook may list.
pub const MAX_MERGED: usize = 100_000;

/// Excel's own limits: 16 384 columns (`XFD`) and 1 048 576 rows.
const MAX_COLUMNS: u32 = 16_384;
const MAX_ROWS: u32 = 1_048_576;

/// The signature of an OLE compound file (XLS, encrypted OOXML).
const OLE_SIGNATURE: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
/// A zip's local file header.
const ZIP_SIGNATURE: &[u8] = b"PK\x03\x04";

/// The workbook formats this importer reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkbookFormat {
    Xlsx,
    Xls,
    Ods,
}

impl WorkbookFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkbookFormat::Xlsx => "xlsx",
            WorkbookFormat::Xls => "xls",
            WorkbookFormat::Ods => "ods",
        }
    }

    /// The format of a file extension (lower case, no dot).
    pub fn from_extension(ext: &str) -> Option<WorkbookFormat> {
        Some(match ext {
            "xlsx" | "xlsm" => WorkbookFormat::Xlsx,
            "xls" => WorkbookFormat::Xls,
            "ods" => WorkbookFormat::Ods,
            _ => return None,
        })
    }
}

/// A workbook's sheets, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Workbook {
    pub sheets: Vec<Sheet>,
}

/// One sheet: its name and its non-empty rows with their 1-based numbers,
/// in order; `cells[0]` is column `A`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<(u32, Vec<Cell>)>,
    /// The sheet's merged regions (XLSX, XLS); their value is in the first
    /// cell.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<Merged>,
}

/// A merged region: rows 1-based as in [`Sheet::rows`], columns 0-based as
/// the index of [`Sheet::rows`]' cells, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Merged {
    pub first_row: u32,
    pub last_row: u32,
    pub first_column: u32,
    pub last_column: u32,
}

/// A cell as the workbook holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    /// A date or date-time, ISO 8601.
    Date(String),
    /// An error value (`#DIV/0!`).
    Error(String),
}

/// Reads every sheet of a workbook. `format` is what the file's name says;
/// the bytes decide (see the module header).
pub(crate) fn read(
    format: WorkbookFormat,
    bytes: &[u8],
    limits: &Limits,
) -> Result<Workbook, Failure> {
    read_capped(format, bytes, limits, MAX_CELLS)
}

/// [`read`] with a chosen cell cap, smaller in tests.
pub(crate) fn read_capped(
    format: WorkbookFormat,
    bytes: &[u8],
    limits: &Limits,
    max_cells: usize,
) -> Result<Workbook, Failure> {
    check_file_size(bytes.len() as u64, limits)?;
    let mut budget = Budget {
        left: max_cells,
        max: max_cells,
    };
    if bytes.starts_with(OLE_SIGNATURE) {
        // A compound file is whole sectors (512 or 4096 bytes); calamine
        // panics on a cut one instead of failing.
        if !bytes.len().is_multiple_of(512) {
            return Err(corrupt(format!(
                "a cut OLE compound file ({} bytes is not whole 512-byte sectors)",
                bytes.len()
            )));
        }
        return read_ole(format, bytes, &mut budget);
    }
    if !bytes.starts_with(ZIP_SIGNATURE) {
        return Err(corrupt(format!(
            "not a .{} file: neither a zip container (.xlsx, .ods) nor an OLE compound file (.xls)",
            format.as_str()
        )));
    }
    let (parts, content) = check_container(bytes)?;
    let has = |name: &str| parts.iter().any(|p| p == name);
    if has("xl/workbook.xml") {
        read_xlsx(bytes, &mut budget)
    } else if let Some(content) = content {
        read_ods(bytes, &content, &mut budget)
    } else if has("xl/workbook.bin") {
        Err(Failure::new(
            FailureKind::Unsupported,
            "a binary Excel workbook (.xlsb); save it as .xlsx",
        ))
    } else if has("word/document.xml") {
        Err(Failure::new(
            FailureKind::Unsupported,
            "a Word document, not a workbook",
        ))
    } else {
        Err(corrupt(
            "a zip container without a workbook part (xl/workbook.xml or content.xml)",
        ))
    }
}

/// What is left of the cell cap.
struct Budget {
    left: usize,
    max: usize,
}

impl Budget {
    fn take(&mut self, sheet: &str, cells: usize) -> Result<(), Failure> {
        match self.left.checked_sub(cells) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(Failure::new(
                FailureKind::TooLarge,
                format!(
                    "sheet {} takes the workbook over MAX_CELLS ({} cells)",
                    crate::import::common::quote(sheet),
                    self.max
                ),
            )),
        }
    }
}

fn corrupt(detail: impl Into<String>) -> Failure {
    Failure::new(FailureKind::Corrupt, detail)
}

/// Checks a zip container against the caps by reading each XML part through
/// [`zipped::Container`]; returns the names of its entries and the bytes of
/// `content.xml` (an ODS's cells), if it has one.
fn check_container(bytes: &[u8]) -> Result<(Vec<String>, Option<Vec<u8>>), Failure> {
    let mut container = zipped::Container::open(bytes, zipped::Caps::default())?;
    // The container has checked the entry count already; the names come
    // from a second, cheap look at the central directory.
    let names = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| corrupt(format!("not a zip container: {e}")))?
        .file_names()
        .map(|name| name.map(|n| n.into_owned()))
        .collect::<Result<Vec<String>, _>>()
        .map_err(|e| corrupt(format!("an unreadable entry name: {e}")))?;
    let mut content = None;
    for name in &names {
        let read_by_calamine =
            name.ends_with(".xml") || name.ends_with(".rels") || name == "mimetype";
        if read_by_calamine {
            let part = container.part(name)?;
            if name.to_ascii_lowercase().ends_with("sharedstrings.xml")
                && let Some(xml) = &part
            {
                check_shared_strings(name, xml)?;
            }
            if name == "content.xml" {
                content = part;
            }
        }
    }
    Ok((names, content))
}

/// Refuses a shared-string table that declares more strings than the
/// workbook may hold cells: calamine reserves room for the declared count
/// before it reads one, and `uniqueCount="999999999999"` is an allocation of
/// terabytes.
fn check_shared_strings(name: &str, xml: &[u8]) -> Result<(), Failure> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e))
                if e.local_name().as_ref() == b"sst" =>
            {
                let declared = e
                    .try_get_attribute("uniqueCount")
                    .ok()
                    .flatten()
                    .map(|a| String::from_utf8_lossy(&a.value).trim().to_string());
                let Some(declared) = declared else {
                    return Ok(());
                };
                // What calamine would not read as a count, it does not reserve.
                let digits = declared.trim_start_matches('+');
                let too_many = match digits.parse::<u64>() {
                    Ok(n) => n > MAX_CELLS as u64,
                    Err(_) => !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
                };
                if too_many {
                    return Err(Failure::new(
                        FailureKind::TooLarge,
                        format!(
                            "{name} declares {} strings, over MAX_CELLS ({MAX_CELLS})",
                            crate::import::common::quote(&declared)
                        ),
                    ));
                }
                return Ok(());
            }
            Ok(quick_xml::events::Event::Eof) | Err(_) => return Ok(()),
            Ok(_) => {}
        }
    }
}

/// An OLE compound file: an encrypted OOXML package or an `.xls`.
fn read_ole(
    format: WorkbookFormat,
    bytes: &[u8],
    budget: &mut Budget,
) -> Result<Workbook, Failure> {
    // calamine's XLSX reader looks for the `EncryptedPackage` stream of an
    // OLE file before it tries the zip.
    if let Err(XlsxError::Password) = Xlsx::new(Cursor::new(bytes)) {
        return Err(Failure::new(
            FailureKind::Encrypted,
            "the workbook is password-protected (an encrypted OOXML package); save it without a password",
        ));
    }
    let mut book = Xls::new(Cursor::new(bytes)).map_err(|e| xls_failure(format, e))?;
    let names = worksheet_names(book.sheets_metadata());
    let mut sheets = Vec::with_capacity(names.len());
    for name in names {
        let range = book
            .worksheet_range(&name)
            .map_err(|e| in_sheet(&name, "xls", xls_failure(format, e)))?;
        let mut sheet = sheet_of_range(&name, &range, budget)?;
        let regions = book.merge_cells_by_sheet_name(&name).unwrap_or_default();
        sheet.merged = merged_of(&regions, budget, &name)?;
        sheets.push(sheet);
    }
    Ok(Workbook { sheets })
}

fn xls_failure(format: WorkbookFormat, e: XlsError) -> Failure {
    match e {
        XlsError::Password => Failure::new(
            FailureKind::Encrypted,
            "the workbook is password-protected; save it without a password",
        ),
        XlsError::Cfb(e) => corrupt(format!(
            "an OLE compound file that is not a readable .{} workbook: {e}",
            if format == WorkbookFormat::Xls {
                "xls"
            } else {
                "xls (nor an encrypted .xlsx)"
            }
        )),
        e => corrupt(format!("unreadable .xls workbook: {e}")),
    }
}

/// The names of the sheets that hold cells (not charts, macros or dialogs).
fn worksheet_names(sheets: &[calamine::Sheet]) -> Vec<String> {
    sheets
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .collect()
}

fn read_xlsx(bytes: &[u8], budget: &mut Budget) -> Result<Workbook, Failure> {
    let mut book = Xlsx::new(Cursor::new(bytes)).map_err(xlsx_failure)?;
    let names = worksheet_names(book.sheets_metadata());
    let mut sheets = Vec::with_capacity(names.len());
    for name in names {
        let in_sheet = |e: XlsxError| in_sheet(&name, "xlsx", xlsx_failure(e));
        let mut rows = SparseRows::default();
        {
            let mut cells = book.worksheet_cells_reader(&name).map_err(in_sheet)?;
            while let Some(cell) = cells.next_cell().map_err(in_sheet)? {
                let (row, column) = cell.get_position();
                let value = cell_of_ref(cell.get_value());
                rows.put(&name, row, column, value, budget)?;
            }
        }
        let regions = book.merge_cells_by_sheet_name(&name).map_err(in_sheet)?;
        let merged = merged_of(&regions, budget, &name)?;
        sheets.push(Sheet {
            rows: rows.finish(),
            name,
            merged,
        });
    }
    Ok(Workbook { sheets })
}

/// A sheet's failure, naming the sheet: `sheet "Adatok": unreadable .xlsx
/// worksheet: …`.
fn in_sheet(sheet: &str, format: &str, failure: Failure) -> Failure {
    let generic = format!("unreadable .{format} workbook: ");
    let detail = match failure.detail.strip_prefix(&generic) {
        Some(rest) => format!("unreadable .{format} worksheet: {rest}"),
        None => failure.detail,
    };
    Failure::new(
        failure.kind,
        format!("sheet {}: {detail}", crate::import::common::quote(sheet)),
    )
}

fn xlsx_failure(e: XlsxError) -> Failure {
    match e {
        XlsxError::Password => Failure::new(
            FailureKind::Encrypted,
            "the workbook is password-protected; save it without a password",
        ),
        e => corrupt(format!("unreadable .xlsx workbook: {e}")),
    }
}

/// An ODS, once [`ods_layout`] has counted what calamine will build from
/// `content` (which it builds whole when it opens the file).
fn read_ods(bytes: &[u8], content: &[u8], budget: &mut Budget) -> Result<Workbook, Failure> {
    let mut layouts = ods_layout::scan(content)?;
    let mut expanded = 0u64;
    for layout in &layouts {
        expanded = expanded.saturating_add(layout.cells);
        if expanded > budget.max as u64 {
            return Err(Failure::new(
                FailureKind::TooLarge,
                format!(
                    "sheet {} takes the workbook over MAX_CELLS ({} cells) once its repeated rows and columns are expanded",
                    crate::import::common::quote(&layout.name),
                    budget.max
                ),
            ));
        }
    }
    let mut book = Ods::new(Cursor::new(bytes)).map_err(ods_failure)?;
    let names = worksheet_names(book.sheets_metadata());
    let mut sheets = Vec::with_capacity(names.len());
    for name in names {
        let range = book
            .worksheet_range(&name)
            .map_err(|e| in_sheet(&name, "ods", ods_failure(e)))?;
        let mut sheet = sheet_of_range(&name, &range, budget)?;
        if let Some(at) = layouts.iter().position(|l| l.name == name) {
            sheet.merged = layouts.remove(at).merged;
        }
        sheets.push(sheet);
    }
    Ok(Workbook { sheets })
}

fn ods_failure(e: OdsError) -> Failure {
    match e {
        OdsError::Password => Failure::new(
            FailureKind::Encrypted,
            "the spreadsheet is password-protected; save it without a password",
        ),
        OdsError::CellLimitExceeded { requested, max } => Failure::new(
            FailureKind::TooLarge,
            format!("the sheet would hold {requested} cells, over the reader's cap of {max}"),
        ),
        e => corrupt(format!("unreadable .ods spreadsheet: {e}")),
    }
}

/// A sheet read whole by calamine (XLS, ODS), its cells placed by their
/// absolute positions.
fn sheet_of_range(
    name: &str,
    range: &calamine::Range<Data>,
    budget: &mut Budget,
) -> Result<Sheet, Failure> {
    let mut rows = SparseRows::default();
    if let Some((top, left)) = range.start() {
        for (row, column, value) in range.used_cells() {
            let row = u32::try_from(row).unwrap_or(u32::MAX).saturating_add(top);
            let column = u32::try_from(column)
                .unwrap_or(u32::MAX)
                .saturating_add(left);
            rows.put(name, row, column, cell_of_data(value), budget)?;
        }
    }
    Ok(Sheet {
        name: name.to_string(),
        rows: rows.finish(),
        merged: Vec::new(),
    })
}

/// A sheet's rows as they are found, in any order.
#[derive(Default)]
struct SparseRows {
    rows: BTreeMap<u32, Vec<Cell>>,
}

impl SparseRows {
    /// Places a cell; `row` and `column` are 0-based. Empty cells are not
    /// stored; a cell past Excel's limits is the file's fault.
    fn put(
        &mut self,
        sheet: &str,
        row: u32,
        column: u32,
        value: Cell,
        budget: &mut Budget,
    ) -> Result<(), Failure> {
        if value == Cell::Empty {
            return Ok(());
        }
        if row >= MAX_ROWS || column >= MAX_COLUMNS {
            return Err(corrupt(format!(
                "sheet {}: a cell at row {}, column {} is outside a sheet's {MAX_ROWS} rows and {MAX_COLUMNS} columns",
                crate::import::common::quote(sheet),
                u64::from(row) + 1,
                u64::from(column) + 1
            )));
        }
        let cells = self.rows.entry(row + 1).or_default();
        let at = column as usize;
        if at >= cells.len() {
            budget.take(sheet, at + 1 - cells.len())?;
            cells.resize(at + 1, Cell::Empty);
        }
        if let Some(slot) = cells.get_mut(at) {
            *slot = value;
        }
        Ok(())
    }

    fn finish(self) -> Vec<(u32, Vec<Cell>)> {
        self.rows.into_iter().collect()
    }
}

/// Merged regions of a sheet, in the sheet's numbering; a region of one
/// cell merges nothing and is dropped.
fn merged_of(
    regions: &[Dimensions],
    budget: &mut Budget,
    sheet: &str,
) -> Result<Vec<Merged>, Failure> {
    if regions.len() > MAX_MERGED {
        return Err(Failure::new(
            FailureKind::TooLarge,
            format!(
                "sheet {} lists {} merged regions, over MAX_MERGED ({MAX_MERGED})",
                crate::import::common::quote(sheet),
                regions.len()
            ),
        ));
    }
    // A region is small to hold but costs lookups; it counts as a cell.
    budget.take(sheet, regions.len())?;
    Ok(regions
        .iter()
        .filter(|d| d.start != d.end)
        .map(|d| Merged {
            first_row: d.start.0.min(d.end.0).saturating_add(1),
            last_row: d.start.0.max(d.end.0).saturating_add(1),
            first_column: d.start.1.min(d.end.1),
            last_column: d.start.1.max(d.end.1),
        })
        .collect())
}

fn cell_of_data(value: &Data) -> Cell {
    match value {
        Data::Empty => Cell::Empty,
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => number(*f),
        Data::String(s) => text(s),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(d) => date(d),
        Data::DateTimeIso(s) => Cell::Date(s.clone()),
        Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Error(e.to_string()),
    }
}

fn cell_of_ref(value: &DataRef<'_>) -> Cell {
    match value {
        DataRef::Empty => Cell::Empty,
        DataRef::Int(i) => Cell::Number(*i as f64),
        DataRef::Float(f) => number(*f),
        DataRef::String(s) => text(s),
        DataRef::SharedString(s) => text(s),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(d) => date(d),
        DataRef::DateTimeIso(s) => Cell::Date(s.clone()),
        DataRef::DurationIso(s) => Cell::Text(s.clone()),
        DataRef::Error(e) => Cell::Error(e.to_string()),
    }
}

/// A string cell; one of only white space is empty, as a person sees it.
fn text(s: &str) -> Cell {
    if s.trim().is_empty() {
        Cell::Empty
    } else {
        Cell::Text(s.to_string())
    }
}

/// A number cell; NaN and infinities (which no sheet holds, but a file can
/// claim) are errors rather than numbers.
fn number(f: f64) -> Cell {
    if f.is_finite() {
        Cell::Number(f)
    } else {
        Cell::Error("#NUM!".to_string())
    }
}

/// An Excel serial date as ISO 8601; a duration (`[hh]:mm`) stays the
/// number of days it is.
fn date(d: &ExcelDateTime) -> Cell {
    if d.is_duration() {
        return number(d.as_f64());
    }
    let (year, month, day, hour, minute, second, _) = d.to_ymd_hms_milli();
    if (hour, minute, second) == (0, 0, 0) {
        Cell::Date(format!("{year:04}-{month:02}-{day:02}"))
    } else {
        Cell::Date(format!(
            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}"
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::fixtures::{C, O, X, XSheet, ods, ole, xls, xlsx, xlsx_parts, zip_parts};
    use super::*;

    fn read_xlsx_bytes(bytes: &[u8]) -> Result<Workbook, Failure> {
        read(WorkbookFormat::Xlsx, bytes, &Limits::default())
    }

    #[test]
    fn xlsx_rows_keep_their_sheet_numbers() {
        let book = read_xlsx_bytes(&xlsx(&[
            XSheet::new("Leírás").row(1, vec![C::S("Ez a munkafüzet leírása.")]),
            XSheet::new("Adatok")
                .row(3, vec![C::Shared("Mutató"), C::S("  "), C::N(2021.0)])
                .row_from(5, 2, vec![C::Date(44256.0), C::Err("#DIV/0!"), C::N(-12.5)])
                .merge("A3:A4"),
        ]))
        .unwrap();
        assert_eq!(book.sheets.len(), 2);
        assert_eq!(book.sheets[0].name, "Leírás");
        let sheet = &book.sheets[1];
        assert_eq!(sheet.name, "Adatok");
        assert_eq!(
            sheet.rows,
            vec![
                (
                    3,
                    vec![
                        Cell::Text("Mutató".into()),
                        Cell::Empty,
                        Cell::Number(2021.0)
                    ]
                ),
                (
                    5,
                    vec![
                        Cell::Empty,
                        Cell::Empty,
                        Cell::Date("2021-03-01".into()),
                        Cell::Error("#DIV/0!".into()),
                        Cell::Number(-12.5)
                    ]
                ),
            ]
        );
        assert_eq!(
            sheet.merged,
            vec![Merged {
                first_row: 3,
                last_row: 4,
                first_column: 0,
                last_column: 0
            }]
        );
        // What the child process sends back reads back the same.
        let json = serde_json::to_string(&book).unwrap();
        assert_eq!(serde_json::from_str::<Workbook>(&json).unwrap(), book);
    }

    #[test]
    fn ods_rows_after_blank_rows() {
        let book = read(
            WorkbookFormat::Ods,
            &ods(&[(
                "Adatok",
                vec![
                    Err(2),
                    Ok(vec![O::S("Mutató"), O::Gap(2), O::S("x")]),
                    Ok(vec![O::N(12.5), O::Date("2021-03-01")]),
                ],
            )]),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(book.sheets.len(), 1);
        assert_eq!(
            book.sheets[0].rows,
            vec![
                (
                    3,
                    vec![
                        Cell::Text("Mutató".into()),
                        Cell::Empty,
                        Cell::Empty,
                        Cell::Text("x".into())
                    ]
                ),
                (4, vec![Cell::Number(12.5), Cell::Date("2021-03-01".into())]),
            ]
        );
    }

    #[test]
    fn xls_sheets_dates_and_merges() {
        let bytes = xls(
            &[
                ("Leírás", vec![(0, 0, X::S("Leírás"))], vec![]),
                (
                    "Adatok",
                    vec![
                        (2, 0, X::S("Település")),
                        (3, 0, X::S("Edelény")),
                        (3, 1, X::N(12.5)),
                        (3, 2, X::Date(44256.0)),
                    ],
                    vec![(2, 2, 0, 1)],
                ),
            ],
            false,
        );
        // Named .xlsx or .xls, the bytes decide.
        for format in [WorkbookFormat::Xls, WorkbookFormat::Xlsx] {
            let book = read(format, &bytes, &Limits::default()).unwrap();
            let names: Vec<&str> = book.sheets.iter().map(|s| s.name.as_str()).collect();
            assert_eq!(names, vec!["Leírás", "Adatok"]);
            assert_eq!(
                book.sheets[1].rows,
                vec![
                    (3, vec![Cell::Text("Település".into())]),
                    (
                        4,
                        vec![
                            Cell::Text("Edelény".into()),
                            Cell::Number(12.5),
                            Cell::Date("2021-03-01".into())
                        ]
                    ),
                ]
            );
            assert_eq!(
                book.sheets[1].merged,
                vec![Merged {
                    first_row: 3,
                    last_row: 3,
                    first_column: 0,
                    last_column: 1
                }]
            );
        }
        let locked = xls(&[("Adatok", vec![(0, 0, X::N(1.0))], vec![])], true);
        let err = read(WorkbookFormat::Xls, &locked, &Limits::default()).unwrap_err();
        assert_eq!(err.kind, FailureKind::Encrypted, "{err:?}");
    }

    #[test]
    fn encrypted_xlsx_is_told_from_xls() {
        let err = read_xlsx_bytes(&ole(&["EncryptionInfo", "EncryptedPackage"])).unwrap_err();
        assert_eq!(err.kind, FailureKind::Encrypted, "{err:?}");
        assert!(err.detail.contains("password"), "{}", err.detail);
        // An OLE file that is neither an encrypted package nor a workbook.
        let err = read(WorkbookFormat::Xls, &ole(&["Valami"]), &Limits::default()).unwrap_err();
        assert_eq!(err.kind, FailureKind::Corrupt, "{err:?}");
        assert!(err.detail.contains(".xls"), "{}", err.detail);
    }

    #[test]
    fn truncated_and_foreign_files_are_corrupt() {
        let whole = xlsx(&[XSheet::new("Adatok").row(1, vec![C::S("Mutató")])]);
        let err = read_xlsx_bytes(&whole[..whole.len() / 2]).unwrap_err();
        assert_eq!(err.kind, FailureKind::Corrupt, "{err:?}");
        assert!(err.detail.contains("zip"), "{}", err.detail);
        let err = read_xlsx_bytes(b"Mutato;Telepules\n").unwrap_err();
        assert_eq!(err.kind, FailureKind::Corrupt);
        assert!(err.detail.starts_with("not a .xlsx file"), "{}", err.detail);
        let docx = zip_parts(&[("word/document.xml".into(), b"<w:document/>".to_vec())]);
        assert_eq!(
            read_xlsx_bytes(&docx).unwrap_err().kind,
            FailureKind::Unsupported
        );
        let xlsb = zip_parts(&[("xl/workbook.bin".into(), vec![0; 8])]);
        let err = read_xlsx_bytes(&xlsb).unwrap_err();
        assert_eq!(err.kind, FailureKind::Unsupported);
        assert!(err.detail.contains(".xlsb"), "{}", err.detail);
        // A broken sheet part names what broke.
        let mut parts = xlsx_parts(&[XSheet::new("Adatok").row(1, vec![C::S("Mutató")])]);
        for (name, bytes) in &mut parts {
            if name == "xl/worksheets/sheet1.xml" {
                bytes.truncate(bytes.len() - 30);
            }
        }
        let err = read_xlsx_bytes(&zip_parts(&parts)).unwrap_err();
        assert_eq!(err.kind, FailureKind::Corrupt, "{err:?}");
        assert_eq!(
            err.detail,
            "sheet \"Adatok\": unreadable .xlsx worksheet: Unexpected end of xml, expecting '</sheetData>'"
        );
    }

    #[test]
    fn zip_bomb_is_too_large() {
        let mut parts = xlsx_parts(&[XSheet::new("Adatok").row(1, vec![C::S("Mutató")])]);
        for (name, bytes) in &mut parts {
            if name == "xl/worksheets/sheet1.xml" {
                // Two megabytes of white space deflate over a thousand times.
                let end = bytes.len() - "</worksheet>".len();
                bytes.splice(end..end, std::iter::repeat_n(b' ', 2 * 1024 * 1024));
            }
        }
        let err = read_xlsx_bytes(&zip_parts(&parts)).unwrap_err();
        assert_eq!(err.kind, FailureKind::TooLarge, "{err:?}");
        assert!(err.detail.contains("MAX_RATIO"), "{}", err.detail);
        assert!(
            err.detail.starts_with("xl/worksheets/sheet1.xml"),
            "{}",
            err.detail
        );
    }

    #[test]
    fn ods_repeats_are_counted_before_calamine_expands_them() {
        let content = concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content "#,
            r#"xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" "#,
            r#"xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" "#,
            r#"xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0">"#,
            r#"<office:body><office:spreadsheet><table:table table:name="Bomba">"#,
            r#"<table:table-row table:number-rows-repeated="1000000">"#,
            r#"<table:table-cell table:number-columns-repeated="100" office:value-type="float" office:value="1"/>"#,
            r#"</table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#
        );
        let bytes = zip_parts(&[
            (
                "mimetype".into(),
                b"application/vnd.oasis.opendocument.spreadsheet".to_vec(),
            ),
            ("content.xml".into(), content.as_bytes().to_vec()),
        ]);
        let err = read(WorkbookFormat::Ods, &bytes, &Limits::default()).unwrap_err();
        assert_eq!(err.kind, FailureKind::TooLarge, "{err:?}");
        assert_eq!(
            err.detail,
            "sheet \"Bomba\" takes the workbook over MAX_CELLS (5000000 cells) once its \
             repeated rows and columns are expanded"
        );
    }

    #[test]
    fn ods_merged_cells_are_reported() {
        let book = read(
            WorkbookFormat::Ods,
            &ods(&[(
                "Adatok",
                vec![
                    Ok(vec![O::S("a"), O::Span("Edelény", 1, 2)]),
                    Ok(vec![O::S("b"), O::Covered]),
                ],
            )]),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(
            book.sheets[0].merged,
            vec![Merged {
                first_row: 1,
                last_row: 2,
                first_column: 1,
                last_column: 1
            }]
        );
    }

    #[test]
    fn declared_shared_strings_are_capped() {
        let mut parts = xlsx_parts(&[XSheet::new("Adatok").row(1, vec![C::Shared("Mutató")])]);
        for (name, bytes) in &mut parts {
            if name == "xl/sharedStrings.xml" {
                let xml = String::from_utf8(bytes.clone()).unwrap();
                *bytes = xml
                    .replace(r#"uniqueCount="1""#, r#"uniqueCount="999999999999""#)
                    .into_bytes();
            }
        }
        let err = read_xlsx_bytes(&zip_parts(&parts)).unwrap_err();
        assert_eq!(err.kind, FailureKind::TooLarge, "{err:?}");
        assert_eq!(
            err.detail,
            "xl/sharedStrings.xml declares \"999999999999\" strings, over MAX_CELLS (5000000)"
        );
    }

    #[test]
    fn cell_cap_is_named() {
        let sheet = XSheet::new("Adatok")
            .row(1, vec![C::N(1.0), C::N(2.0)])
            .row_from(2, 30, vec![C::N(3.0)]);
        let bytes = xlsx(&[sheet]);
        let err = read_capped(WorkbookFormat::Xlsx, &bytes, &Limits::default(), 20).unwrap_err();
        assert_eq!(err.kind, FailureKind::TooLarge);
        assert_eq!(
            err.detail,
            "sheet \"Adatok\" takes the workbook over MAX_CELLS (20 cells)"
        );
        // A cell far out costs the cells padding its row.
        assert!(read_capped(WorkbookFormat::Xlsx, &bytes, &Limits::default(), 33).is_ok());
        assert_eq!(
            MAX_CELLS, 5_000_000,
            "the documented cap (THREAT_MODEL, the module header)"
        );
    }

    /// What calamine does with damaged files: a failure, never a panic
    /// (which [`crate::import::isolate`] would report as extractor-crash).
    #[test]
    fn arbitrary_bytes_do_not_panic() {
        let read = |format, bytes: &[u8]| {
            let outcome =
                crate::import::extract::guarded(|| super::read(format, bytes, &Limits::default()));
            if let Err(failure) = &outcome {
                assert_ne!(
                    failure.kind,
                    FailureKind::ExtractorCrash,
                    "{failure:?} on {bytes:?}"
                );
            }
        };
        let good = xlsx(&[XSheet::new("Adatok").row(1, vec![C::S("Mutató"), C::N(1.0)])]);
        let good_ods = ods(&[("Adatok", vec![Ok(vec![O::S("Mutató")])])]);
        let encrypted = ole(&["EncryptedPackage"]);
        for sample in [&good, &good_ods, &encrypted] {
            for cut in (0..sample.len()).step_by(97) {
                for format in [
                    WorkbookFormat::Xlsx,
                    WorkbookFormat::Xls,
                    WorkbookFormat::Ods,
                ] {
                    read(format, &sample[..cut]);
                }
            }
            let mut flipped = sample.clone();
            for at in (0..flipped.len()).step_by(61) {
                flipped[at] ^= 0x5A;
                read(WorkbookFormat::Xlsx, &flipped);
            }
        }
    }
}
