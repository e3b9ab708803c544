//! A workbook's sheet read as a table: which sheet, where its header is, and
//! its cells as the fields the CSV row checks take (one implementation of
//! those checks, [`super::ObservationRows`] and [`super::CatalogueRows`]).
//!
//! - **Which sheet.** The one `--sheet` names (exactly, else ignoring case
//!   and surrounding space); without `--sheet`, the first sheet whose
//!   header is recognisable, so that a "Leírás" sheet of prose before the
//!   data is passed over.
//! - **Where the header is.** Statistical-office exports put a title, a
//!   source line and blank rows above the header, so the header is the
//!   first of a sheet's first [`HEADER_SEARCH_ROWS`] non-empty rows that the
//!   CSV header rules recognise as observations or a catalogue. When none
//!   is, the message is about the row that came closest (the most known
//!   column names), which is where a typo is.
//! - **Merged cells.** In the header row a merged region's value counts in
//!   its own column only: a header cell merged down over two rows (the
//!   usual two-row header, `Mutató` over `A3:A4` with sub-headers in row 4)
//!   is read in both rows, while one merged across columns is not repeated
//!   in them, which would make its column name appear twice. In data rows
//!   the value counts in every cell of the region, as a person sees it: a
//!   settlement merged down over its indicators' rows is that settlement in
//!   each of them.
//! - **Cells as fields.** A number cell is the number as held, written with
//!   a decimal point (so no decimal-comma reading applies to it), which also
//!   makes a year held as `2021.0` the period `2021` and an integer code
//!   its digits. Text is read as CSV text is, by the tab rule of
//!   [`super::numbers::decimal_comma`] (`12,5` and `9 871` are numbers,
//!   `1.234,5` is refused rather than guessed). A date in the period column
//!   is the month it starts, `YYYY-MM`, when it is the first day of a month
//!   (how Excel holds `2021. márc.`); any other date is refused there,
//!   since a day is not a period. Cells in columns the table does not use
//!   (notes beside it, extra columns) are ignored, as is a row whose table
//!   cells are all empty.

use super::header::{CATALOGUE_COLUMNS, Header, OBSERVATION_COLUMNS};
use super::workbook::{Cell, Merged, Sheet, Workbook};
use super::{
    CatalogueFields, CatalogueRows, FileError, FileFormat, ObservationFields, ObservationRows,
    Place, WorkbookParsed,
};
use crate::import::common::quote;
use tudashalo_core::model::Catalogue;

/// How many non-empty rows at the top of a sheet may hold its header.
pub(super) const HEADER_SEARCH_ROWS: usize = 20;

/// Text numbers in a sheet follow the tab-separated file's rule.
const SHEET_DELIMITER: u8 = b'\t';

/// How long a message listing sheets or their header faults may grow.
const LIST_CHARS: usize = 600;

pub(super) fn parse(
    file: &str,
    book: &Workbook,
    wanted: Option<&str>,
    catalogue: &Catalogue,
) -> Result<WorkbookParsed, FileError> {
    if book.sheets.is_empty() {
        return Err(FileError::new(file, "the workbook has no sheets"));
    }
    let (sheet, found) = match wanted {
        Some(name) => {
            let sheet = named(book, name).ok_or_else(|| {
                FileError::new(
                    file,
                    format!(
                        "no sheet {}; the workbook's sheets are {}",
                        quote(name),
                        sheet_list(book)
                    ),
                )
            })?;
            (sheet, find_header(file, sheet)?)
        }
        None => first_with_header(file, book)?,
    };
    let place = Place::Sheet {
        file,
        sheet: &sheet.name,
    };
    let Found {
        header,
        format,
        index,
    } = found;
    let data = sheet.rows.get(index + 1..).unwrap_or_default();
    let mut rejected = Vec::new();
    match format {
        FileFormat::Catalogue => {
            let columns = header.require(file, &CATALOGUE_COLUMNS)?;
            let [code_at, name_at, unit_at, aggregation_at] = columns;
            let mut checked = CatalogueRows::new(place);
            let rows = for_each_row(sheet, data, &columns, |row, field| {
                let (code, name, unit, aggregation) = (
                    field(code_at, Role::Text),
                    field(name_at, Role::Text),
                    field(unit_at, Role::Text),
                    field(aggregation_at, Role::Text),
                );
                let fields = CatalogueFields {
                    code: code.text.trim(),
                    name: name.text.trim(),
                    unit: unit.text.trim(),
                    aggregation: aggregation.text.trim(),
                };
                if let Err(fault) = checked.row(row, &fields) {
                    rejected.push(place.reject(fault, row));
                }
            });
            if rows == 0 {
                return Err(no_rows(file, sheet));
            }
            Ok(WorkbookParsed::Catalogue(
                checked.finish(rejected, catalogue),
            ))
        }
        _ => {
            let columns = header.require(file, &OBSERVATION_COLUMNS)?;
            let [indicator_at, settlement_at, period_at, value_at, unit_at] = columns;
            let mut checked = ObservationRows::new(place, catalogue);
            let rows = for_each_row(sheet, data, &columns, |row, field| {
                let indicator = field(indicator_at, Role::Text);
                let settlement = field(settlement_at, Role::Text);
                let period = field(period_at, Role::Period);
                let value = field(value_at, Role::Text);
                let unit = field(unit_at, Role::Text);
                let fields = ObservationFields {
                    indicator: indicator.text.trim(),
                    settlement: settlement.text.trim(),
                    period: period.text.trim(),
                    value: value.text.trim(),
                    decimal_comma: !value.number
                        && super::numbers::decimal_comma(SHEET_DELIMITER, value.text.trim()),
                    unit: unit.text.trim(),
                };
                if let Err(fault) = checked.row(row, &fields) {
                    rejected.push(place.reject(fault, row));
                }
            });
            if rows == 0 {
                return Err(no_rows(file, sheet));
            }
            Ok(WorkbookParsed::Observations(checked.finish(rejected)))
        }
    }
}

/// Runs `check` on every data row whose table cells are not all empty,
/// giving it the row's number and its fields by column; returns how many
/// rows there were. Only the table's `columns` are looked at, so the cost
/// of merged regions is theirs times the columns, however wide the sheet.
fn for_each_row(
    sheet: &Sheet,
    data: &[(u32, Vec<Cell>)],
    columns: &[usize],
    mut check: impl FnMut(usize, &dyn Fn(usize, Role) -> Field),
) -> usize {
    let lookup = Lookup::new(sheet, columns);
    let mut rows = 0;
    for (row, cells) in data {
        if lookup.blank(*row, cells) {
            continue;
        }
        rows += 1;
        check(*row as usize, &|column, role| {
            field_of(lookup.cell(*row, cells, column), role)
        });
    }
    rows
}

fn no_rows(file: &str, sheet: &Sheet) -> FileError {
    FileError::new(
        file,
        format!("sheet {}: no rows after the header", quote(&sheet.name)),
    )
}

/// The sheet `name`: exactly, else ignoring case and surrounding space.
fn named<'b>(book: &'b Workbook, name: &str) -> Option<&'b Sheet> {
    book.sheets.iter().find(|s| s.name == name).or_else(|| {
        let folded = name.trim().to_lowercase();
        book.sheets
            .iter()
            .find(|s| s.name.trim().to_lowercase() == folded)
    })
}

/// `"Leírás", "Adatok"`, cut when there are very many.
fn sheet_list(book: &Workbook) -> String {
    let mut list = String::new();
    for (n, sheet) in book.sheets.iter().enumerate() {
        if list.len() > LIST_CHARS {
            list.push_str(&format!(" and {} more", book.sheets.len() - n));
            break;
        }
        if n > 0 {
            list.push_str(", ");
        }
        list.push_str(&quote(&sheet.name));
    }
    list
}

/// `s` cut after `max` characters, with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", s.get(..at).unwrap_or_default()),
        None => s.to_string(),
    }
}

/// A sheet's header: where it is and what kind of table follows.
struct Found {
    header: Header,
    format: FileFormat,
    /// The header's index in the sheet's rows.
    index: usize,
}

/// The first sheet with a recognisable header; failing that, every sheet's
/// reason.
fn first_with_header<'b>(file: &str, book: &'b Workbook) -> Result<(&'b Sheet, Found), FileError> {
    let mut reasons = Vec::new();
    for sheet in &book.sheets {
        match find_header(file, sheet) {
            Ok(found) => return Ok((sheet, found)),
            Err(e) => reasons.push(e.reason),
        }
    }
    match reasons.as_slice() {
        [only] => Err(FileError::new(file, only.clone())),
        _ => Err(FileError::new(
            file,
            format!(
                "no sheet has a header of observations or a catalogue in its first {HEADER_SEARCH_ROWS} rows: {}",
                cut(&reasons.join("; "), LIST_CHARS)
            ),
        )),
    }
}

/// The header of one sheet (see the module header); the error names the
/// sheet.
fn find_header(file: &str, sheet: &Sheet) -> Result<Found, FileError> {
    let in_sheet =
        |e: FileError| FileError::new(file, format!("sheet {}: {}", quote(&sheet.name), e.reason));
    // The failed candidate with the most known column names, earliest first.
    let mut closest: Option<(usize, FileError)> = None;
    for (index, (row, cells)) in sheet.rows.iter().enumerate().take(HEADER_SEARCH_ROWS) {
        let names = header_cells(sheet, *row, cells);
        let line = names.join(";");
        let line = line.trim_end_matches(';').to_string();
        let candidate = Header::from_cells(
            file,
            names.iter().map(String::as_str),
            line,
            SHEET_DELIMITER,
        );
        let (known, error) = match candidate {
            Ok(header) => match header.classify(file) {
                Ok(format) => {
                    return Ok(Found {
                        header,
                        format,
                        index,
                    });
                }
                Err(e) => (header.known(), e),
            },
            // A column named twice: a header, but a broken one.
            Err(e) => (usize::MAX, e),
        };
        if closest.as_ref().is_none_or(|(best, _)| known > *best) {
            closest = Some((known, error));
        }
    }
    match closest {
        Some((_, error)) => Err(in_sheet(error)),
        None => Err(in_sheet(FileError::new(file, "the sheet is empty"))),
    }
}

/// The texts of a header candidate row: its cells, with the value of a
/// region merged down into this row from above in the region's own column.
fn header_cells(sheet: &Sheet, row: u32, cells: &[Cell]) -> Vec<String> {
    let covering: Vec<&Merged> = sheet
        .merged
        .iter()
        .filter(|m| m.first_row < row && row <= m.last_row)
        .collect();
    let width = covering
        .iter()
        .map(|m| m.first_column as usize + 1)
        .chain(std::iter::once(cells.len()))
        .max()
        .unwrap_or(0);
    (0..width)
        .map(|column| {
            let own = cells.get(column).unwrap_or(&Cell::Empty);
            let cell = if *own == Cell::Empty {
                covering
                    .iter()
                    .find(|m| m.first_column as usize == column)
                    .and_then(|m| cell_at(sheet, m.first_row, m.first_column as usize))
                    .unwrap_or(own)
            } else {
                own
            };
            field_of(cell, Role::Text).text
        })
        .collect()
}

/// The cell at `row` (1-based) and `column` (0-based), if the sheet has it.
fn cell_at(sheet: &Sheet, row: u32, column: usize) -> Option<&Cell> {
    let at = sheet.rows.binary_search_by_key(&row, |(r, _)| *r).ok()?;
    sheet.rows.get(at)?.1.get(column)
}

/// What a cell stands for in its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Text,
    Period,
}

/// A cell as a field's text.
struct Field {
    text: String,
    /// Whether the cell held a number (written with a decimal point).
    number: bool,
}

fn field_of(cell: &Cell, role: Role) -> Field {
    let text = |text: String| Field {
        text,
        number: false,
    };
    match cell {
        Cell::Empty => text(String::new()),
        Cell::Text(s) | Cell::Error(s) => text(s.clone()),
        // Rust writes a float the shortest way that reads back the same,
        // with no exponent and no `.0` on an integer: 2021.0 is `2021`.
        Cell::Number(n) => Field {
            text: n.to_string(),
            number: true,
        },
        Cell::Bool(b) => text(if *b { "TRUE" } else { "FALSE" }.to_string()),
        Cell::Date(iso) => match role {
            Role::Period => text(month_of(iso).unwrap_or_else(|| iso.clone())),
            Role::Text => text(iso.clone()),
        },
    }
}

/// `YYYY-MM` for an ISO date that is the first day of a month at midnight.
fn month_of(iso: &str) -> Option<String> {
    let (date, time) = match iso.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (iso, None),
    };
    if let Some(time) = time
        && !time.trim_start_matches(['0', ':', '.']).is_empty()
    {
        return None;
    }
    let bytes = date.as_bytes();
    let shape = bytes.len() == 10
        && bytes.iter().enumerate().all(|(at, b)| match at {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        });
    (shape && date.ends_with("-01")).then(|| date.get(..7).unwrap_or_default().to_string())
}

/// The merged regions over the columns a table uses, for data rows.
struct Lookup<'s> {
    sheet: &'s Sheet,
    /// The table's columns, each with the regions over it by first row.
    columns: Vec<(usize, Vec<&'s Merged>)>,
}

impl<'s> Lookup<'s> {
    fn new(sheet: &'s Sheet, columns: &[usize]) -> Self {
        let columns = columns
            .iter()
            .map(|&column| {
                let mut regions: Vec<&Merged> = sheet
                    .merged
                    .iter()
                    .filter(|m| {
                        (m.first_column as usize..=m.last_column as usize).contains(&column)
                    })
                    .collect();
                regions.sort_by_key(|m| m.first_row);
                (column, regions)
            })
            .collect();
        Lookup { sheet, columns }
    }

    /// The cell of a data row, or the value of the merged region over it.
    fn cell<'c>(&'c self, row: u32, cells: &'c [Cell], column: usize) -> &'c Cell {
        let own = cells.get(column).unwrap_or(&Cell::Empty);
        if *own != Cell::Empty {
            return own;
        }
        let Some((_, regions)) = self.columns.iter().find(|(c, _)| *c == column) else {
            return own;
        };
        let after = regions.partition_point(|m| m.first_row <= row);
        after
            .checked_sub(1)
            .and_then(|at| regions.get(at))
            .filter(|m| row <= m.last_row)
            .and_then(|m| cell_at(self.sheet, m.first_row, m.first_column as usize))
            .unwrap_or(own)
    }

    /// Whether every cell of the table's columns is empty or white space.
    fn blank(&self, row: u32, cells: &[Cell]) -> bool {
        self.columns
            .iter()
            .all(|(column, _)| match self.cell(row, cells, *column) {
                Cell::Empty => true,
                Cell::Text(s) => s.trim().is_empty(),
                _ => false,
            })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::fixtures::{C, O, X, XSheet, ods, xls, xlsx};
    use super::super::parse_workbook;
    use super::super::tests::catalogue;
    use super::super::workbook::{self, WorkbookFormat};
    use super::*;
    use crate::import::{Limits, Rejection};

    fn reasons(rejected: &[Rejection]) -> Vec<String> {
        rejected.iter().map(ToString::to_string).collect()
    }

    fn read(format: WorkbookFormat, bytes: &[u8]) -> Workbook {
        workbook::read(format, bytes, &Limits::default()).unwrap()
    }

    /// A prose sheet first, then the data below a title, a source line and
    /// a two-row header whose first columns are merged down.
    pub(crate) fn adatok_xlsx() -> Vec<u8> {
        use C::*;
        xlsx(&[
            XSheet::new("Leírás")
                .row(
                    1,
                    vec![S("Települési adatok a kistérség fejlesztési tervéhez.")],
                )
                .row(
                    3,
                    vec![S("Készítette: a munkaszervezet"), S("2022. január")],
                ),
            XSheet::new("Adatok")
                .row(2, vec![S("Települési adatok, 2021")])
                .row(3, vec![S("Forrás: KSH")])
                .row(4, vec![Shared("Mutató"), Shared("Település"), S("Adat")])
                .row_from(5, 2, vec![S("Időszak"), S("Érték"), S("Mértékegység")])
                .row(
                    6,
                    vec![
                        Shared("nepesseg"),
                        Shared("Edelény"),
                        N(2021.0),
                        N(10234.0),
                        S("fő"),
                    ],
                )
                .row(
                    7,
                    vec![
                        S("munkanelkuliseg"),
                        Shared("Edelény"),
                        N(2021.0),
                        S("12,5"),
                        S("%"),
                    ],
                )
                .row(
                    8,
                    vec![
                        Shared("nepesseg"),
                        S("Szendrő"),
                        Date(44256.0),
                        S("9 871"),
                        S("fő"),
                    ],
                )
                .row(
                    9,
                    vec![Shared("nepesseg"), S("Abod"), N(2021.0), S("sok"), S("fő")],
                )
                .row(
                    11,
                    vec![
                        Shared("nepesseg"),
                        Shared("Edelény"),
                        N(2021.0),
                        N(5.0),
                        S("fő"),
                    ],
                )
                .row(12, vec![S("nepesseg"), S("Damak"), N(2020.0), N(300.0)])
                .row(13, vec![S("lakas"), S(""), N(2020.0), N(120.5), S("db")])
                .row(14, vec![S("nepesseg"), S("Hegymeg"), Date(44270.0), N(1.0)])
                .row(
                    15,
                    vec![S("lakas"), S("Hegymeg"), N(2020.0), Err("#DIV/0!")],
                )
                .row_from(16, 7, vec![S("megjegyzés a táblázat mellett")])
                .merge("A2:E2")
                .merge("A4:A5")
                .merge("B4:B5")
                .merge("C4:E4")
                .merge("B12:B13"),
        ])
    }

    #[test]
    fn observations_from_xlsx_below_title_rows() {
        let book = read(WorkbookFormat::Xlsx, &adatok_xlsx());
        let WorkbookParsed::Observations(parsed) =
            parse_workbook("adatok.xlsx", &book, None, &catalogue()).unwrap()
        else {
            panic!("not observations");
        };
        let got: Vec<(usize, &str, &str, &str, f64, &str)> = parsed
            .records
            .iter()
            .map(|(l, o)| {
                (
                    *l,
                    o.indicator.as_str(),
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
                (6, "nepesseg", "Edelény", "2021", 10234.0, "fő"),
                (7, "munkanelkuliseg", "Edelény", "2021", 12.5, "%"),
                (8, "nepesseg", "Szendrő", "2021-03", 9871.0, "fő"),
                (12, "nepesseg", "Damak", "2020", 300.0, "fő"),
                // The settlement merged down over B12:B13.
                (13, "lakas", "Damak", "2020", 120.5, "db"),
            ]
        );
        assert_eq!(
            reasons(&parsed.rejected),
            vec![
                "adatok.xlsx:Adatok!R9: field \"value\": \"sok\" is not a number",
                "adatok.xlsx:Adatok!R11: duplicate of R6 (same indicator, settlement and period)",
                "adatok.xlsx:Adatok!R14: field \"period\": \"2021-03-15\" is not a period \
                 (expected YYYY, YYYY-Qn or YYYY-MM)",
                "adatok.xlsx:Adatok!R15: field \"value\": \"#DIV/0!\" is not a number",
            ]
        );
        assert_eq!(parsed.rejected[0].sheet.as_deref(), Some("Adatok"));
        assert_eq!(parsed.rejected[0].line, 9);
        assert_eq!(parsed.rejected[0].field.as_deref(), Some("value"));

        // Named, in any case.
        assert!(parse_workbook("adatok.xlsx", &book, Some(" adatok "), &catalogue()).is_ok());
    }

    /// The way `import` goes: read by the isolated extractor, sent back as
    /// JSON (as from a child process), then parsed.
    #[test]
    fn through_the_extractor_and_json() {
        use crate::import::isolate::{self, Isolation, Job, Output};
        let output = isolate::run(
            &Job::Workbook(WorkbookFormat::Xlsx),
            &adatok_xlsx(),
            &Limits::default(),
            &Isolation::InProcess,
        )
        .unwrap();
        let Output::Workbook(book) = output else {
            panic!("not a workbook");
        };
        let sent: Workbook = serde_json::from_str(&serde_json::to_string(&book).unwrap()).unwrap();
        assert_eq!(sent, book);
        let WorkbookParsed::Observations(parsed) =
            parse_workbook("adatok.xlsx", &sent, Some("Adatok"), &catalogue()).unwrap()
        else {
            panic!("not observations");
        };
        assert_eq!(parsed.records.len(), 5);
        assert_eq!(
            parsed.rejected[0].to_string(),
            "adatok.xlsx:Adatok!R9: field \"value\": \"sok\" is not a number"
        );
    }

    #[test]
    fn missing_sheet_lists_the_sheets() {
        let book = read(WorkbookFormat::Xlsx, &adatok_xlsx());
        let err =
            parse_workbook("adatok.xlsx", &book, Some("Munkalap1"), &catalogue()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "adatok.xlsx: no sheet \"Munkalap1\"; the workbook's sheets are \"Leírás\", \"Adatok\""
        );
        // The prose sheet, named, has no header.
        let err = parse_workbook("adatok.xlsx", &book, Some("Leírás"), &catalogue()).unwrap_err();
        assert!(
            err.reason
                .starts_with("sheet \"Leírás\": header \"Települési"),
            "{}",
            err.reason
        );
    }

    #[test]
    fn catalogue_from_xlsx() {
        use C::*;
        let bytes = xlsx(&[XSheet::new("Mutatók")
            .row(
                1,
                vec![S("Kód"), S("Név"), S("Mértékegység"), S("Aggregálás")],
            )
            .row(2, vec![S("nep"), S("Népesség"), S("fő"), S("sum")])
            .row(
                3,
                vec![
                    S("munk"),
                    S("Munkanélküliség"),
                    S("%"),
                    S("weighted_mean:nep"),
                ],
            )
            .row(4, vec![N(101.0), S("Százegy"), S("db"), S("max")])
            .row(5, vec![S("rossz kód"), S("X"), S("db"), S("sum")])
            .row(6, vec![S("nep"), S("Népesség újra"), S("fő"), S("sum")])
            .row(
                7,
                vec![
                    S("ber"),
                    S("Átlagbér"),
                    S("Ft"),
                    S("weighted_mean:dolgozok"),
                ],
            )
            .row(8, vec![S("lak"), S("Lakások"), S("db")])]);
        let book = read(WorkbookFormat::Xlsx, &bytes);
        let WorkbookParsed::Catalogue(parsed) =
            parse_workbook("mutatok.xlsx", &book, None, &Catalogue::new()).unwrap()
        else {
            panic!("not a catalogue");
        };
        let codes: Vec<(usize, &str)> = parsed
            .records
            .iter()
            .map(|(l, i)| (*l, i.code.as_str()))
            .collect();
        assert_eq!(codes, vec![(2, "nep"), (3, "munk"), (4, "101")]);
        assert_eq!(
            reasons(&parsed.rejected),
            vec![
                "mutatok.xlsx:Mutatók!R5: field \"code\": \"rossz kód\" may contain only the letters A-Z and a-z, digits and _ . -",
                "mutatok.xlsx:Mutatók!R6: duplicate code \"nep\" (first at R2)",
                "mutatok.xlsx:Mutatók!R7: field \"aggregation\": weight indicator \"dolgozok\" is not in the catalogue",
                "mutatok.xlsx:Mutatók!R8: field \"aggregation\": unknown aggregation \"\" \
                 (expected sum, weighted_mean:<code>, min, max or none)",
            ]
        );
    }

    #[test]
    fn observations_from_ods() {
        use O::*;
        let bytes = ods(&[
            ("Leírás", vec![Ok(vec![S("Leírás")])]),
            (
                "Adatok",
                vec![
                    Err(1),
                    Ok(vec![S("KSH, 2021")]),
                    Ok(vec![
                        S("indicator"),
                        S("settlement"),
                        S("period"),
                        S("value"),
                        S("unit"),
                    ]),
                    Ok(vec![
                        S("nepesseg"),
                        S("Edelény"),
                        N(2021.0),
                        N(10234.0),
                        S("fő"),
                    ]),
                    Err(3),
                    Ok(vec![
                        S("nepesseg"),
                        S("Szendrő"),
                        Date("2021-01-01"),
                        S("1 234,5"),
                    ]),
                    Ok(vec![S("nepesseg"), S("Abod"), S("2021"), S("12.5.1")]),
                ],
            ),
        ]);
        let book = read(WorkbookFormat::Ods, &bytes);
        let WorkbookParsed::Observations(parsed) =
            parse_workbook("adatok.ods", &book, None, &catalogue()).unwrap()
        else {
            panic!("not observations");
        };
        let got: Vec<(usize, &str, f64)> = parsed
            .records
            .iter()
            .map(|(l, o)| (*l, o.period.as_str(), o.value))
            .collect();
        assert_eq!(got, vec![(4, "2021", 10234.0), (8, "2021-01", 1234.5)]);
        assert_eq!(
            reasons(&parsed.rejected),
            vec!["adatok.ods:Adatok!R9: field \"value\": \"12.5.1\" is not a number"]
        );
    }

    #[test]
    fn observations_from_xls_and_merged_ods_cells() {
        let header = |row| {
            ["Mutató", "Település", "Időszak", "Érték", "Mértékegység"]
                .into_iter()
                .enumerate()
                .map(move |(column, name)| (row, column as u16, X::S(name)))
        };
        let mut cells: Vec<(u16, u16, X)> = vec![(0, 0, X::S("KSH TSTAR, 2021"))];
        cells.extend(header(2));
        cells.extend([
            (3, 0, X::S("lakas")),
            (3, 1, X::S("Edelény")),
            (3, 2, X::N(2021.0)),
            (3, 3, X::N(4102.0)),
            (4, 0, X::S("lakas")),
            (4, 1, X::S("Abod")),
            (4, 2, X::Date(44256.0)),
            (4, 3, X::S("12,5")),
            (4, 4, X::S("m2")),
        ]);
        let book = read(
            WorkbookFormat::Xls,
            &xls(&[("Munka1", cells, vec![(0, 0, 0, 4)])], false),
        );
        let WorkbookParsed::Observations(parsed) =
            parse_workbook("regi.xls", &book, None, &catalogue()).unwrap()
        else {
            panic!("not observations");
        };
        assert_eq!(parsed.records.len(), 1);
        assert_eq!(parsed.records[0].0, 4);
        assert_eq!(
            reasons(&parsed.rejected),
            vec![
                "regi.xls:Munka1!R5: field \"unit\": \"m2\" differs from the catalogue's unit \"db\" for indicator \"lakas\""
            ]
        );

        // An ODS settlement merged down over two rows counts in both.
        use O::*;
        let bytes = ods(&[(
            "Adatok",
            vec![
                Ok(vec![S("Mutató"), S("Település"), S("Időszak"), S("Érték")]),
                Ok(vec![
                    S("nepesseg"),
                    Span("Damak", 1, 2),
                    N(2020.0),
                    N(300.0),
                ]),
                Ok(vec![S("lakas"), Covered, N(2020.0), N(120.0)]),
            ],
        )]);
        let book = read(WorkbookFormat::Ods, &bytes);
        let err = parse_workbook("d.ods", &book, None, &catalogue()).unwrap_err();
        assert!(
            err.reason.contains("lacks the column unit"),
            "{}",
            err.reason
        );
        let bytes = ods(&[(
            "Adatok",
            vec![
                Ok(vec![
                    S("Mutató"),
                    S("Település"),
                    S("Időszak"),
                    S("Érték"),
                    S("Egység"),
                ]),
                Ok(vec![
                    S("nepesseg"),
                    Span("Damak", 1, 2),
                    N(2020.0),
                    N(300.0),
                ]),
                Ok(vec![S("lakas"), Covered, N(2020.0), N(120.0)]),
            ],
        )]);
        let book = read(WorkbookFormat::Ods, &bytes);
        let WorkbookParsed::Observations(parsed) =
            parse_workbook("d.ods", &book, None, &catalogue()).unwrap()
        else {
            panic!("not observations");
        };
        let got: Vec<(usize, &str, &str)> = parsed
            .records
            .iter()
            .map(|(l, o)| (*l, o.indicator.as_str(), o.settlement.as_str()))
            .collect();
        assert_eq!(got, vec![(2, "nepesseg", "Damak"), (3, "lakas", "Damak")]);
    }

    #[test]
    fn sheets_without_tables_or_rows() {
        let header_only = xlsx(&[XSheet::new("Adatok").row(
            3,
            vec![
                C::S("Mutató"),
                C::S("Település"),
                C::S("Év"),
                C::S("Érték"),
                C::S("Egység"),
            ],
        )]);
        let book = read(WorkbookFormat::Xlsx, &header_only);
        let err = parse_workbook("a.xlsx", &book, None, &catalogue()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a.xlsx: sheet \"Adatok\": no rows after the header"
        );

        let prose = xlsx(&[
            XSheet::new("Egy").row(1, vec![C::S("szöveg")]),
            XSheet::new("Kettő").row(2, vec![C::S("Mutató"), C::S("Település"), C::S("Időszak")]),
            XSheet::new("Üres"),
        ]);
        let book = read(WorkbookFormat::Xlsx, &prose);
        let err = parse_workbook("b.xlsx", &book, None, &catalogue()).unwrap_err();
        assert!(
            err.reason.starts_with(
                "no sheet has a header of observations or a catalogue in its first 20 rows: \
                 sheet \"Egy\": header \"szöveg\" is neither"
            ),
            "{}",
            err.reason
        );
        assert!(
            err.reason.contains(
                "sheet \"Kettő\": header \"Mutató;Település;Időszak\" lacks the columns value, unit"
            ),
            "{}",
            err.reason
        );
        assert!(
            err.reason.ends_with("sheet \"Üres\": the sheet is empty"),
            "{}",
            err.reason
        );
        let err = parse_workbook("c.xlsx", &Workbook::default(), None, &catalogue()).unwrap_err();
        assert_eq!(err.reason, "the workbook has no sheets");
    }

    #[test]
    fn horizontal_merge_in_header_is_not_a_second_column() {
        use C::*;
        let bytes = xlsx(&[XSheet::new("Adatok")
            .row(
                1,
                vec![S("Mutató"), S("Település"), S("Időszak"), S("Érték")],
            )
            .row_from(1, 5, vec![S("Mértékegység")])
            .row(
                2,
                vec![S("nepesseg"), S("Abod"), N(2021.0), N(1.0), S("x"), S("fő")],
            )
            .merge("D1:E1")]);
        let book = read(WorkbookFormat::Xlsx, &bytes);
        let WorkbookParsed::Observations(parsed) =
            parse_workbook("m.xlsx", &book, None, &catalogue()).unwrap()
        else {
            panic!("not observations");
        };
        assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
        assert_eq!(parsed.records.len(), 1);
    }

    /// Writes the seeds of the `extract_xlsx` and `extract_ods` fuzz
    /// corpora from these fixtures; run once by hand with `--ignored`.
    #[test]
    #[ignore]
    fn write_fuzz_corpus() {
        use C::*;
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus");
        let catalogue = xlsx(&[XSheet::new("Mutatók")
            .row(
                1,
                vec![S("Kód"), S("Név"), S("Mértékegység"), S("Aggregálás")],
            )
            .row(2, vec![S("nep"), S("Népesség"), S("fő"), S("sum")])
            .row(
                3,
                vec![
                    N(101.0),
                    S("Munkanélküliség"),
                    S("%"),
                    S("weighted_mean:nep"),
                ],
            )]);
        let odd_cells = xlsx(&[XSheet::new("Munkalap1")
            .row(1, vec![Date(44256.5), Err("#N/A"), N(-0.0), Shared("ő")])
            .row_from(70, 40, vec![N(1e300)])
            .merge("A1:B70")]);
        let xlsx_seeds = [
            ("adatok.xlsx", adatok_xlsx()),
            ("mutatok.xlsx", catalogue),
            ("cellak.xlsx", odd_cells),
            (
                "titkositott.xlsx",
                super::super::fixtures::ole(&["EncryptionInfo", "EncryptedPackage"]),
            ),
            (
                "regi.xls",
                xls(
                    &[(
                        "Munka1",
                        vec![
                            (0, 0, X::S("Mutató")),
                            (1, 0, X::N(1.5)),
                            (1, 1, X::Date(44256.0)),
                        ],
                        vec![(0, 0, 0, 1)],
                    )],
                    false,
                ),
            ),
        ];
        let ods_seeds = [
            (
                "adatok.ods",
                ods(&[
                    ("Leírás", vec![Ok(vec![O::S("Leírás")])]),
                    (
                        "Adatok",
                        vec![
                            Result::Err(2),
                            Ok(vec![
                                O::S("Mutató"),
                                O::S("Település"),
                                O::S("Időszak"),
                                O::S("Érték"),
                                O::S("Mértékegység"),
                            ]),
                            Ok(vec![
                                O::S("nepesseg"),
                                O::S("Edelény"),
                                O::N(2021.0),
                                O::S("12,5"),
                            ]),
                            Ok(vec![
                                O::S("nepesseg"),
                                O::S("Abod"),
                                O::Date("2021-03-01"),
                                O::N(7.0),
                            ]),
                        ],
                    ),
                ]),
            ),
            (
                "ismetles.ods",
                ods(&[(
                    "Munkalap1",
                    vec![
                        Result::Err(1000),
                        Ok(vec![O::Gap(300), O::S("x")]),
                        Result::Err(5),
                        Ok(vec![O::N(1.5)]),
                    ],
                )]),
            ),
            ("ures.ods", ods(&[("Munkalap1", vec![])])),
        ];
        for (dir, seeds) in [
            ("extract_xlsx", &xlsx_seeds[..]),
            ("extract_ods", &ods_seeds[..]),
        ] {
            let dir = format!("{root}/{dir}");
            std::fs::create_dir_all(&dir).unwrap();
            for (name, bytes) in seeds {
                assert!(bytes.len() < 20 * 1024, "{name} is {} bytes", bytes.len());
                let readable = workbook::read(WorkbookFormat::Xlsx, bytes, &Limits::default());
                assert_eq!(readable.is_ok(), !name.starts_with("titkositott"), "{name}");
                std::fs::write(format!("{dir}/{name}"), bytes).unwrap();
            }
        }
    }

    #[test]
    fn months_of_dates() {
        assert_eq!(month_of("2021-03-01").as_deref(), Some("2021-03"));
        assert_eq!(month_of("2021-03-01T00:00:00").as_deref(), Some("2021-03"));
        assert_eq!(month_of("2021-03-15"), None);
        assert_eq!(month_of("2021-03-01T12:00:00"), None);
        assert_eq!(month_of("2021-3-01"), None);
        assert_eq!(month_of("é"), None);
    }
}
