//! The layout of an ODS spreadsheet's `content.xml`, read before calamine
//! reads the cells: how many cells each table will take, and its merged
//! regions.
//!
//! calamine's ODS reader builds every sheet as a dense rectangle when the
//! workbook is opened, expanding `table:number-rows-repeated` and
//! `table:number-columns-repeated`: one cell repeated over 16 384 columns
//! and a million rows is a few bytes of XML and gigabytes of memory. This
//! single streaming pass (quick-xml, no tree) counts what that rectangle
//! will be, so that [`super::workbook`] can refuse it as `too-large` first.
//! The count errs high (a cell element with content counts as a value), never
//! low. It also collects `table:number-columns-spanned` and
//! `table:number-rows-spanned`, which calamine does not expose, so that
//! merged cells of ODS sheets are reported as XLSX ones are.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::workbook::{MAX_MERGED, Merged};
use crate::import::extract::{Failure, FailureKind};

/// The rows and columns calamine expands repeats to, at most.
const MAX_ROWS: u64 = 1_048_576;
const MAX_COLUMNS: u64 = 16_384;

/// What one table will hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Layout {
    pub name: String,
    /// The cells of its rectangle, once repeats are expanded.
    pub cells: u64,
    pub merged: Vec<Merged>,
}

/// The tables of `content.xml`, in order. Malformed XML is left for
/// calamine to report; what was counted until then is returned.
pub(super) fn scan(xml: &[u8]) -> Result<Vec<Layout>, Failure> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut tables = Vec::new();
    let mut table: Option<Table> = None;
    let mut merged_total = 0usize;
    loop {
        buf.clear();
        let event = match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) | Err(_) => break,
            Ok(event) => event,
        };
        match event {
            Event::Start(e) if e.name().as_ref() == b"table:table" => {
                if let Some(done) = table.take() {
                    tables.push(done.finish());
                }
                table = Some(Table::new(attribute(&e, b"table:name").unwrap_or_default()));
            }
            Event::Empty(e) if e.name().as_ref() == b"table:table" => {
                if let Some(done) = table.take() {
                    tables.push(done.finish());
                }
                let name = attribute(&e, b"table:name").unwrap_or_default();
                tables.push(Table::new(name).finish());
            }
            Event::End(e) if e.name().as_ref() == b"table:table" => {
                if let Some(done) = table.take() {
                    tables.push(done.finish());
                }
            }
            Event::Start(e) if e.name().as_ref() == b"table:table-row" => {
                if let Some(t) = table.as_mut() {
                    t.start_row(&e);
                }
            }
            Event::Empty(e) if e.name().as_ref() == b"table:table-row" => {
                if let Some(t) = table.as_mut() {
                    t.start_row(&e);
                    t.end_row();
                }
            }
            Event::End(e) if e.name().as_ref() == b"table:table-row" => {
                if let Some(t) = table.as_mut() {
                    t.end_row();
                }
            }
            Event::Start(e) if is_cell(&e) => {
                if let Some(t) = table.as_mut() {
                    t.cell(&e, true, &mut merged_total)?;
                }
            }
            Event::Empty(e) if is_cell(&e) => {
                if let Some(t) = table.as_mut() {
                    t.cell(&e, false, &mut merged_total)?;
                }
            }
            _ => {}
        }
    }
    if let Some(done) = table.take() {
        tables.push(done.finish());
    }
    Ok(tables)
}

fn is_cell(e: &BytesStart<'_>) -> bool {
    matches!(
        e.name().as_ref(),
        b"table:table-cell" | b"table:covered-table-cell"
    )
}

fn attribute(e: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    let attr = e.try_get_attribute(name).ok()??;
    Some(String::from_utf8_lossy(&attr.value).into_owned())
}

/// A count attribute (`table:number-rows-repeated="3"`); 1 when absent or
/// unreadable (calamine then fails on it itself), capped at `max`.
fn count(e: &BytesStart<'_>, name: &[u8], max: u64) -> u64 {
    attribute(e, name)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1)
        .clamp(1, max)
}

/// A table being scanned.
struct Table {
    name: String,
    /// The 0-based row the next row element starts at.
    next_row: u64,
    /// The rows from the first to the last with a value (end exclusive).
    used: Option<(u64, u64)>,
    /// The widest row with a value, in columns up to its last value.
    width: u64,
    merged: Vec<Merged>,
    row: Option<Row>,
}

struct Row {
    start: u64,
    repeat: u64,
    /// The next cell's 0-based column.
    column: u64,
    /// The column after the last cell with a value.
    width: u64,
}

impl Table {
    fn new(name: String) -> Self {
        Table {
            name,
            next_row: 0,
            used: None,
            width: 0,
            merged: Vec::new(),
            row: None,
        }
    }

    fn start_row(&mut self, e: &BytesStart<'_>) {
        let left = MAX_ROWS.saturating_sub(self.next_row);
        let repeat = count(e, b"table:number-rows-repeated", MAX_ROWS).min(left);
        self.row = Some(Row {
            start: self.next_row,
            repeat,
            column: 0,
            width: 0,
        });
    }

    fn end_row(&mut self) {
        let Some(row) = self.row.take() else {
            return;
        };
        self.next_row = self.next_row.saturating_add(row.repeat);
        if row.width > 0 {
            let end = row.start.saturating_add(row.repeat);
            self.used = Some(match self.used {
                Some((first, _)) => (first, end),
                None => (row.start, end),
            });
            self.width = self.width.max(row.width);
        }
    }

    /// A cell; `open` when the element has content (a `<text:p>`), which
    /// counts it as a value even without `office:value-type`.
    fn cell(
        &mut self,
        e: &BytesStart<'_>,
        open: bool,
        merged_total: &mut usize,
    ) -> Result<(), Failure> {
        let Some(row) = self.row.as_mut() else {
            return Ok(());
        };
        let repeat = count(e, b"table:number-columns-repeated", MAX_COLUMNS);
        let has_value = open || attribute(e, b"office:value-type").is_some();
        let column = row.column;
        row.column = row.column.saturating_add(repeat).min(MAX_COLUMNS);
        if has_value {
            row.width = row.column;
        }
        let columns = count(e, b"table:number-columns-spanned", MAX_COLUMNS);
        let rows = count(e, b"table:number-rows-spanned", MAX_ROWS);
        if columns > 1 || rows > 1 {
            *merged_total += 1;
            if *merged_total > MAX_MERGED {
                return Err(Failure::new(
                    FailureKind::TooLarge,
                    format!("content.xml lists over MAX_MERGED ({MAX_MERGED}) merged regions"),
                ));
            }
            let to_u32 = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
            self.merged.push(Merged {
                first_row: to_u32(row.start.saturating_add(1)),
                last_row: to_u32(row.start.saturating_add(rows)),
                first_column: to_u32(column),
                last_column: to_u32(column.saturating_add(columns - 1)),
            });
        }
        Ok(())
    }

    fn finish(mut self) -> Layout {
        self.end_row();
        let rows = self.used.map_or(0, |(first, end)| end - first);
        Layout {
            name: self.name,
            cells: rows.saturating_mul(self.width),
            merged: self.merged,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn repeats_and_spans() {
        let xml = br#"<office:spreadsheet>
            <table:table table:name="A">
              <table:table-row table:number-rows-repeated="3"><table:table-cell/></table:table-row>
              <table:table-row><table:table-cell table:number-columns-repeated="2"/><table:table-cell office:value-type="float" office:value="1" table:number-columns-spanned="2" table:number-rows-spanned="3"/><table:covered-table-cell/></table:table-row>
              <table:table-row table:number-rows-repeated="1000"><table:table-cell table:number-columns-repeated="16384" office:value-type="string"><text:p>x</text:p></table:table-cell></table:table-row>
            </table:table>
            <table:table table:name="B"/>
        </office:spreadsheet>"#;
        let tables = scan(xml).unwrap();
        assert_eq!(tables.len(), 2);
        assert_eq!(tables[0].name, "A");
        assert_eq!(tables[0].cells, 1001 * 16_384);
        assert_eq!(
            tables[0].merged,
            vec![Merged {
                first_row: 4,
                last_row: 6,
                first_column: 2,
                last_column: 3
            }]
        );
        assert_eq!(tables[1].name, "B");
        assert_eq!(tables[1].cells, 0);
    }
}
