//! A table's data rows: each checked in turn, its faults turned into
//! rejections at the row's physical line (which the csv reader's own count
//! gets wrong after CRLF endings and blank lines).

use csv::{Reader, StringRecord};

use super::super::Rejection;
use super::super::common::Fault;
use super::header::Header;

/// Runs `check` on every data row after the header, turning its faults into
/// rejections. Rows of the wrong width are rejected before `check` sees
/// them, and rows whose fields are all blank (what spreadsheets leave below
/// the data) are skipped. Returns how many rows there were.
pub(super) fn for_each_row<F>(
    file: &str,
    text: &str,
    header: &Header,
    reader: &mut Reader<&[u8]>,
    rejected: &mut Vec<Rejection>,
    mut check: F,
) -> usize
where
    F: FnMut(usize, &StringRecord) -> Result<(), Fault>,
{
    let lines = LineIndex::new(text);
    let line_of =
        |position: Option<&csv::Position>| position.map_or(0, |p| lines.line_at(p.byte()));
    let mut rows = 0;
    let mut record = StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                // The text is valid UTF-8 and rows may vary in width, so the
                // reader has no reason left to fail; should it anyway, the
                // row is rejected rather than the file.
                rows += 1;
                rejected.push(
                    Fault::line(format!("unreadable row: {e}")).at(file, line_of(e.position())),
                );
                continue;
            }
        }
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        rows += 1;
        let line = line_of(record.position());
        let outcome = if record.len() == header.width {
            check(line, &record)
        } else {
            Err(Fault::line(format!(
                "expected {} fields, found {}",
                header.width,
                record.len()
            )))
        };
        if let Err(fault) = outcome {
            rejected.push(fault.at(file, line));
        }
    }
    rows
}

/// Physical line numbers for the csv reader's records.
///
/// The reader's own line count is not usable: it counts a CRLF line ending
/// as it goes and includes skipped empty lines in the next record, so after
/// the first CRLF or blank line its numbers drift. Its byte offsets are
/// exact up to those same skipped line endings, so the line is computed
/// from the offset instead.
struct LineIndex<'t> {
    text: &'t [u8],
    /// The byte offset where each line starts; the first is 0.
    starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    fn new(text: &'t str) -> Self {
        let text = text.as_bytes();
        let starts = std::iter::once(0)
            .chain(
                text.iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'\n')
                    .map(|(at, _)| at + 1),
            )
            .collect();
        LineIndex { text, starts }
    }

    /// The 1-based line of the record the reader reports at `byte`. A record
    /// cannot begin with a line ending (empty lines are skipped and a quoted
    /// field starts with `"`), so any line endings at `byte` are the skipped
    /// ones and are stepped over.
    fn line_at(&self, byte: u64) -> usize {
        let mut at = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while self
            .text
            .get(at)
            .is_some_and(|b| matches!(b, b'\r' | b'\n'))
        {
            at += 1;
        }
        self.starts.partition_point(|&start| start <= at)
    }
}
