//! The domain's records: documents, indicator observations and the
//! indicator catalogue, as a node stores them in sled and its importers
//! produce them.
//!
//! These are plain serde types. They know nothing of protobuf (`crate::pb`
//! converts) nor of tantivy (the node's index derives its documents from
//! these).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What sort of knowledge a document carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Strategy,
    Concept,
    ProjectPlan,
    Project,
    Study,
    Evaluation,
    BestPractice,
    Report,
    Minutes,
    Other,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Strategy,
        Kind::Concept,
        Kind::ProjectPlan,
        Kind::Project,
        Kind::Study,
        Kind::Evaluation,
        Kind::BestPractice,
        Kind::Report,
        Kind::Minutes,
        Kind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Strategy => "strategy",
            Kind::Concept => "concept",
            Kind::ProjectPlan => "project_plan",
            Kind::Project => "project",
            Kind::Study => "study",
            Kind::Evaluation => "evaluation",
            Kind::BestPractice => "best_practice",
            Kind::Report => "report",
            Kind::Minutes => "minutes",
            Kind::Other => "other",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown kind {s:?} (expected one of {})", all.join(", "))
            })
    }
}

/// Who may see a document outside the node.
///
/// `local` documents never leave the node: not in hits, facets, statistics or
/// counts. `federated` go to hubs and operators; `public` to any
/// authenticated principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Public,
    #[default]
    Federated,
    Local,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Federated => "federated",
            Visibility::Local => "local",
        }
    }

    /// The code stored in the index's fast field.
    pub fn code(self) -> u64 {
        match self {
            Visibility::Public => 0,
            Visibility::Federated => 1,
            Visibility::Local => 2,
        }
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Visibility {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "public" => Ok(Visibility::Public),
            "federated" => Ok(Visibility::Federated),
            "local" => Ok(Visibility::Local),
            _ => Err(format!(
                "unknown visibility {s:?} (expected public, federated or local)"
            )),
        }
    }
}

/// A document of the knowledge base. sled stores it as JSON, keyed by `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub id: String,
    pub title: String,
    pub body: String,
    pub kind: Kind,
    #[serde(default)]
    pub sectors: Vec<String>,
    #[serde(default)]
    pub settlements: Vec<String>,
    #[serde(default)]
    pub year: Option<i32>,
    #[serde(default)]
    pub org: Option<String>,
    #[serde(default)]
    pub visibility: Visibility,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub url: Option<String>,
    /// The file it was imported from, for documents imported from files
    /// (`.pdf`, `.docx`, …); `None` for records of a JSON Lines file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// Fields of the imported record that we do not know: kept and returned
    /// unchanged, never dropped.
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Where an imported document came from: the file as the operator had it.
/// Its JSON form is part of `get --json` and of a JSON Lines export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The file's path relative to the imported folder (`/`-separated), or
    /// its name when a single file was imported.
    pub file: String,
    /// `pdf`, `docx`, `odt`, `html`, `rtf`, `txt` or `md`.
    pub format: String,
    /// Pages, for formats that have them (PDF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
    /// The file's size.
    pub bytes: u64,
    /// SHA-256 of the file, lower-case hex: what makes a re-import of an
    /// unchanged file a no-op, and the key of the kept original.
    pub sha256: String,
}

impl Source {
    /// `2021/terv.pdf, PDF, 12 oldal, 1,2 MB`: where a document came from,
    /// for people.
    pub fn describe(&self) -> String {
        let pages = match self.pages {
            Some(n) => format!(", {n} oldal"),
            None => String::new(),
        };
        format!(
            "{}, {}{pages}, {}",
            self.file,
            self.format.to_uppercase(),
            human_bytes(self.bytes)
        )
    }
}

/// A file size as a Hungarian reader writes it: `512 bájt`, `34 kB`,
/// `1,2 MB` (decimal comma, powers of 1000 as on the file's label).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["kB", "MB", "GB", "TB"];
    if n < 1000 {
        return format!("{n} bájt");
    }
    let mut value = n as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    let text = if value < 10.0 {
        format!("{value:.1}").replace('.', ",")
    } else {
        format!("{value:.0}")
    };
    format!("{text} {}", UNITS[unit])
}

/// How observations of an indicator combine above settlement level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    Sum,
    /// Σ(value·W) / ΣW, with W the named weight indicator's value for the
    /// same settlement and period.
    WeightedMean(String),
    Min,
    Max,
    /// Cannot be aggregated above settlement level.
    None,
}

impl fmt::Display for Aggregation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Aggregation::Sum => f.write_str("sum"),
            Aggregation::WeightedMean(w) => write!(f, "weighted_mean:{w}"),
            Aggregation::Min => f.write_str("min"),
            Aggregation::Max => f.write_str("max"),
            Aggregation::None => f.write_str("none"),
        }
    }
}

impl FromStr for Aggregation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s {
            "sum" => Ok(Aggregation::Sum),
            "min" => Ok(Aggregation::Min),
            "max" => Ok(Aggregation::Max),
            "none" => Ok(Aggregation::None),
            _ => match s.strip_prefix("weighted_mean:") {
                Some(w) if !w.trim().is_empty() => {
                    Ok(Aggregation::WeightedMean(w.trim().to_string()))
                }
                Some(_) => {
                    Err("weighted_mean needs a weight indicator: weighted_mean:<code>".into())
                }
                None => Err(format!(
                    "unknown aggregation {s:?} (expected sum, weighted_mean:<code>, min, max or none)"
                )),
            },
        }
    }
}

/// One entry of the indicator catalogue. sled stores it as JSON, keyed by `code`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    pub code: String,
    pub name: String,
    pub unit: String,
    pub aggregation: Aggregation,
}

/// One value of one indicator for one settlement and period.
/// sled keys it by indicator, settlement and period (see [`Observation::key`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub indicator: String,
    pub settlement: String,
    /// `YYYY`, `YYYY-Qn` or `YYYY-MM`.
    pub period: String,
    pub value: f64,
    pub unit: String,
}

impl Observation {
    /// The upsert key: re-importing the same indicator, settlement and period
    /// replaces the value. NUL cannot occur in any of the three parts.
    pub fn key(&self) -> Vec<u8> {
        let mut k = Vec::with_capacity(
            self.indicator.len() + self.settlement.len() + self.period.len() + 2,
        );
        k.extend_from_slice(self.indicator.as_bytes());
        k.push(0);
        k.extend_from_slice(self.settlement.as_bytes());
        k.push(0);
        k.extend_from_slice(self.period.as_bytes());
        k
    }
}

/// The indicator catalogue: every indicator a node knows, by code.
pub type Catalogue = BTreeMap<String, Indicator>;

#[cfg(test)]
mod size_tests {
    use super::human_bytes;

    #[test]
    fn sizes_read_as_hungarian() {
        assert_eq!(human_bytes(512), "512 bájt");
        assert_eq!(human_bytes(1_234), "1,2 kB");
        assert_eq!(human_bytes(34_000), "34 kB");
        assert_eq!(human_bytes(1_250_000), "1,2 MB");
        assert_eq!(human_bytes(3_400_000_000), "3,4 GB");
    }
}
