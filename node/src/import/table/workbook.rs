//! Workbooks (`.xlsx`, `.xls`, `.ods`): their sheets as rows of cells, for
//! the table importer to read as it reads CSV. Not read yet (a stub while
//! the reader is written).

use serde::{Deserialize, Serialize};

use crate::import::Limits;
use crate::import::extract::{Failure, FailureKind};

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

/// One sheet: its name and its non-empty rows with their 1-based numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<(u32, Vec<Cell>)>,
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

/// Reads every sheet of a workbook.
pub(crate) fn read(
    format: WorkbookFormat,
    _bytes: &[u8],
    _limits: &Limits,
) -> Result<Workbook, Failure> {
    Err(Failure::new(
        FailureKind::Unsupported,
        format!("this build does not read .{} yet", format.as_str()),
    ))
}
