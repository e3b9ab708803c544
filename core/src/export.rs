//! Indicator cells written out as CSV, JSON or SDMX-CSV: one writer for the
//! hub's `pull` command and the portal's downloads, so that a file fetched
//! in a browser and one pulled on the command line are byte for byte the
//! same.
//!
//! Rows are written as cells arrive ([`CellWriter::cell`]), so an export of
//! any size needs memory for one cell only; [`write_all`] is the
//! convenience for callers that already hold every cell. Confidential cells
//! are written with an empty value (JSON: `null`) and their status; the
//! incomplete flag is always written, so a cell that lacks a member's
//! contribution never looks whole.
//!
//! Formats:
//! - CSV: the group-by keys, then `indicator,value,unit,n,status,incomplete,flags`
//!   (flags space-separated).
//! - SDMX-CSV: `STRUCTURE,STRUCTURE_ID,ACTION,INDICATOR`, the keys as SDMX
//!   dimensions, then `OBS_VALUE,UNIT_MEASURE,CONF_STATUS`, declaring
//!   [`SDMX_DATAFLOW`].
//! - JSON: `{"cells":[…],"members":[…]}`, one cell per line, the members'
//!   states named by [`state_name`].

use std::io::Write;

use serde_json::json;
use tudashalo_proto::pb::{self, MemberState};

/// The SDMX dataflow the SDMX-CSV output declares.
pub const SDMX_DATAFLOW: &str = "TUDASHALO:DF_INDICATORS(1.0)";

/// The keys cells may be grouped by, in the order error messages list them.
const KEYS: [&str; 4] = ["settlement", "kisterseg", "region", "period"];

/// The three ways cells are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
    SdmxCsv,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A group-by key none of the formats knows.
    #[error("unknown key {0:?} (expected settlement, kisterseg, region, period)")]
    UnknownKey(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Csv(#[from] csv::Error),
}

/// A member's status in every `--json` shape and JSON answer (pull, search,
/// network, the portal's API): `member`, `state`, `latency_ms`, `total`
/// (what it contributed), `message`.
pub fn member_json(m: &tudashalo_proto::pb::MemberStatus) -> serde_json::Value {
    json!({
        "member": m.member,
        "state": state_name(m.state),
        "latency_ms": m.latency_ms,
        "total": m.total,
        "message": m.message,
    })
}

/// A member's state as exports and the command line name it.
pub fn state_name(state: i32) -> &'static str {
    match MemberState::try_from(state).unwrap_or(MemberState::Unspecified) {
        MemberState::Ok => "ok",
        MemberState::TimedOut => "timed_out",
        MemberState::Unavailable => "unavailable",
        MemberState::Refused => "refused",
        MemberState::Error => "error",
        MemberState::Unspecified => "unknown",
    }
}

/// Values as plain decimals with a dot, without float noise from sums
/// (rounded to six decimals; whole numbers without a fraction).
pub fn format_value(v: f64) -> String {
    let rounded = (v * 1e6).round() / 1e6;
    if rounded.fract() == 0.0 && rounded.abs() < 1e15 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded}")
    }
}

/// A group-by key's SDMX dimension.
fn sdmx_dimension(key: &str) -> &'static str {
    match key {
        "settlement" => "SETTLEMENT",
        "kisterseg" => "KISTERSEG",
        "region" => "REGION",
        _ => "TIME_PERIOD",
    }
}

/// A cell's value for a (checked) group-by key.
fn key_value<'a>(cell: &'a pb::Cell, key: &str) -> &'a str {
    match key {
        "settlement" => &cell.settlement,
        "kisterseg" => &cell.kisterseg,
        "region" => &cell.region,
        _ => &cell.period,
    }
}

/// Where the rows go: CSV formats through a `csv::Writer` (quoting), JSON
/// straight to the sink. (The CSV writer is boxed: it carries its buffer
/// and state inline, some 370 bytes.)
enum Sink {
    Csv(Box<csv::Writer<Box<dyn Write + Send>>>),
    Json(Box<dyn Write + Send>),
}

/// Writes cells in one of the formats, row by row.
pub struct CellWriter {
    format: ExportFormat,
    keys: Vec<String>,
    sink: Sink,
    first: bool,
}

impl std::fmt::Debug for CellWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CellWriter")
            .field("format", &self.format)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl CellWriter {
    /// Checks the keys (trimmed; an unknown one is an error naming it) and
    /// writes the header (CSV formats) or the document's opening (JSON).
    pub fn new(
        format: ExportFormat,
        keys: &[String],
        sink: Box<dyn Write + Send>,
    ) -> Result<CellWriter, ExportError> {
        let keys: Vec<String> = keys.iter().map(|k| k.trim().to_string()).collect();
        if let Some(unknown) = keys.iter().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(ExportError::UnknownKey(unknown.clone()));
        }
        let sink = match format {
            ExportFormat::Csv => {
                let mut csv = csv::Writer::from_writer(sink);
                let mut header: Vec<&str> = keys.iter().map(String::as_str).collect();
                header.extend([
                    "indicator",
                    "value",
                    "unit",
                    "n",
                    "status",
                    "incomplete",
                    "flags",
                ]);
                csv.write_record(&header)?;
                Sink::Csv(Box::new(csv))
            }
            ExportFormat::SdmxCsv => {
                let mut csv = csv::Writer::from_writer(sink);
                let mut header = vec!["STRUCTURE", "STRUCTURE_ID", "ACTION", "INDICATOR"];
                header.extend(keys.iter().map(|k| sdmx_dimension(k)));
                header.extend(["OBS_VALUE", "UNIT_MEASURE", "CONF_STATUS"]);
                csv.write_record(&header)?;
                Sink::Csv(Box::new(csv))
            }
            ExportFormat::Json => {
                let mut sink = sink;
                write!(sink, "{{\"cells\":[")?;
                Sink::Json(sink)
            }
        };
        Ok(CellWriter {
            format,
            keys,
            sink,
            first: true,
        })
    }

    /// Writes one cell.
    pub fn cell(&mut self, cell: &pb::Cell) -> Result<(), ExportError> {
        let value = cell.value.map(format_value).unwrap_or_default();
        let keys: Vec<String> = self
            .keys
            .iter()
            .map(|k| key_value(cell, k).to_string())
            .collect();
        match (&mut self.sink, self.format) {
            (Sink::Csv(csv), ExportFormat::SdmxCsv) => {
                let mut row = vec![
                    "dataflow".to_string(),
                    SDMX_DATAFLOW.to_string(),
                    "I".into(),
                    cell.indicator.clone(),
                ];
                row.extend(keys);
                row.extend([value, cell.unit.clone(), cell.status.clone()]);
                csv.write_record(&row)?;
            }
            (Sink::Csv(csv), _) => {
                let mut row = keys;
                row.extend([
                    cell.indicator.clone(),
                    value,
                    cell.unit.clone(),
                    cell.n.to_string(),
                    cell.status.clone(),
                    cell.incomplete.to_string(),
                    cell.flags.join(" "),
                ]);
                csv.write_record(&row)?;
            }
            (Sink::Json(sink), _) => {
                let mut object = serde_json::Map::new();
                for (k, v) in self.keys.iter().zip(keys) {
                    object.insert(k.clone(), json!(v));
                }
                // The raw value (null when withheld), not the rounded text.
                object.insert("indicator".into(), json!(cell.indicator));
                object.insert("value".into(), json!(cell.value));
                object.insert("unit".into(), json!(cell.unit));
                object.insert("n".into(), json!(cell.n));
                object.insert("status".into(), json!(cell.status));
                object.insert("incomplete".into(), json!(cell.incomplete));
                object.insert("flags".into(), json!(cell.flags));
                object.insert("contributors".into(), json!(cell.contributors));
                object.insert("missing".into(), json!(cell.missing));
                if !self.first {
                    write!(sink, ",")?;
                }
                write!(sink, "\n{}", serde_json::Value::Object(object))?;
            }
        }
        self.first = false;
        Ok(())
    }

    /// Ends the document (JSON: the members' states) and flushes the sink.
    pub fn finish(self, members: &[pb::MemberStatus]) -> Result<(), ExportError> {
        match self.sink {
            Sink::Csv(mut csv) => csv.flush()?,
            Sink::Json(mut sink) => {
                let members: Vec<serde_json::Value> = members.iter().map(member_json).collect();
                write!(
                    sink,
                    "\n],\"members\":{}}}\n",
                    serde_json::Value::Array(members)
                )?;
                sink.flush()?;
            }
        }
        Ok(())
    }
}

/// A `Write` into a buffer shared with the caller, so that [`write_all`]
/// can hand a `'static + Send` sink to the writer and still read the bytes.
#[derive(Clone, Default)]
struct SharedBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // A poisoned lock only means a writer panicked mid-export; the
        // bytes so far are still the caller's.
        let mut bytes = self.0.lock().unwrap_or_else(|e| e.into_inner());
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every cell and the members' states in one buffer: the portal's
/// downloads, which hold the whole answer already.
pub fn write_all(
    format: ExportFormat,
    keys: &[String],
    cells: &[pb::Cell],
    members: &[pb::MemberStatus],
) -> Result<Vec<u8>, ExportError> {
    let buffer = SharedBuffer::default();
    let mut writer = CellWriter::new(format, keys, Box::new(buffer.clone()))?;
    for cell in cells {
        writer.cell(cell)?;
    }
    writer.finish(members)?;
    let mut bytes = buffer.0.lock().unwrap_or_else(|e| e.into_inner());
    Ok(std::mem::take(&mut *bytes))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn keys() -> Vec<String> {
        vec!["kisterseg".into(), "period".into()]
    }

    fn cells() -> Vec<pb::Cell> {
        vec![
            pb::Cell {
                indicator: "nepesseg".into(),
                period: "2019".into(),
                kisterseg: "Edelényi".into(),
                unit: "fő".into(),
                value: Some(9871.0),
                n: 12,
                status: "F".into(),
                contributors: vec!["borsod/edelenyi".into()],
                ..Default::default()
            },
            pb::Cell {
                indicator: "nepesseg".into(),
                period: "2020".into(),
                kisterseg: "Edelényi, \"kis\"".into(),
                unit: "fő".into(),
                value: None,
                n: 2,
                status: "C".into(),
                incomplete: true,
                flags: vec!["threshold".into(), "incomplete".into()],
                missing: vec!["borsod/encsi".into()],
                ..Default::default()
            },
        ]
    }

    fn members() -> Vec<pb::MemberStatus> {
        vec![
            pb::MemberStatus {
                member: "borsod/edelenyi".into(),
                state: MemberState::Ok as i32,
                latency_ms: 12,
                ..Default::default()
            },
            pb::MemberStatus {
                member: "borsod/encsi".into(),
                state: MemberState::TimedOut as i32,
                latency_ms: 5000,
                message: "deadline".into(),
                ..Default::default()
            },
        ]
    }

    fn text(format: ExportFormat) -> String {
        String::from_utf8(write_all(format, &keys(), &cells(), &members()).unwrap()).unwrap()
    }

    #[test]
    fn csv_has_header_and_confidential_cell_without_value() {
        assert_eq!(
            text(ExportFormat::Csv),
            "kisterseg,period,indicator,value,unit,n,status,incomplete,flags\n\
             Edelényi,2019,nepesseg,9871,fő,12,F,false,\n\
             \"Edelényi, \"\"kis\"\"\",2020,nepesseg,,fő,2,C,true,threshold incomplete\n"
        );
    }

    #[test]
    fn sdmx_csv_declares_dataflow_and_dimensions() {
        assert_eq!(
            text(ExportFormat::SdmxCsv),
            "STRUCTURE,STRUCTURE_ID,ACTION,INDICATOR,KISTERSEG,TIME_PERIOD,OBS_VALUE,UNIT_MEASURE,CONF_STATUS\n\
             dataflow,TUDASHALO:DF_INDICATORS(1.0),I,nepesseg,Edelényi,2019,9871,fő,F\n\
             dataflow,TUDASHALO:DF_INDICATORS(1.0),I,nepesseg,\"Edelényi, \"\"kis\"\"\",2020,,fő,C\n"
        );
    }

    #[test]
    fn json_has_cells_and_members() {
        let text = text(ExportFormat::Json);
        assert!(text.starts_with("{\"cells\":[\n{\"kisterseg\":\"Edelényi\",\"period\":\"2019\","));
        assert!(text.ends_with("}\n"));
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        let cells = doc["cells"].as_array().unwrap();
        assert_eq!(cells.len(), 2);
        assert_eq!(cells[0]["value"], json!(9871.0));
        assert_eq!(cells[1]["value"], serde_json::Value::Null);
        assert_eq!(cells[1]["status"], "C");
        assert_eq!(cells[1]["incomplete"], true);
        assert_eq!(cells[1]["missing"], json!(["borsod/encsi"]));
        assert_eq!(
            doc["members"],
            json!([
                {"member": "borsod/edelenyi", "state": "ok", "latency_ms": 12, "total": 0, "message": ""},
                {"member": "borsod/encsi", "state": "timed_out", "latency_ms": 5000, "total": 0, "message": "deadline"},
            ])
        );
    }

    #[test]
    fn json_without_cells_is_a_document() {
        let bytes = write_all(ExportFormat::Json, &keys(), &[], &[]).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "{\"cells\":[\n],\"members\":[]}\n"
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let err = write_all(ExportFormat::Csv, &[" megye ".into()], &[], &[]).unwrap_err();
        assert!(matches!(&err, ExportError::UnknownKey(k) if k == "megye"));
        assert!(err.to_string().contains("\"megye\""), "{err}");
    }

    #[test]
    fn keys_are_trimmed() {
        let bytes = write_all(ExportFormat::Csv, &[" period ".into()], &[], &[]).unwrap();
        assert!(
            String::from_utf8(bytes)
                .unwrap()
                .starts_with("period,indicator,")
        );
    }

    #[test]
    fn values_lose_float_noise() {
        assert_eq!(format_value(0.1 + 0.2), "0.3");
        assert_eq!(format_value(1234567.0), "1234567");
        assert_eq!(format_value(-2.5), "-2.5");
        assert_eq!(format_value(12.3456789), "12.345679");
    }

    #[test]
    fn states_are_named() {
        assert_eq!(state_name(MemberState::Refused as i32), "refused");
        assert_eq!(state_name(999), "unknown");
    }
}
