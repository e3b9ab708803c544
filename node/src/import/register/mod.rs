//! The register importer (issue #16): organisations, their contact persons,
//! developments, project indicators and working groups, one entity type per
//! file, as JSON Lines ([`jsonl`]: each line the serde JSON of the core
//! type), CSV/TSV or a workbook's sheet ([`table`]: Hungarian or English
//! column names, told apart by the header).
//!
//! A register file lands as one unit, like every import: parsing is pure
//! (bytes or a workbook in, [`RegisterParsed`] out), each record is checked
//! on its own ([`validate`]), duplicates within the file are rejected
//! naming the first, and then [`check_references`] rejects records that
//! name what the node does not have (an organisation, a development, a
//! document) — before anything is stored, so `--strict` can refuse the
//! whole file. Which entity a file holds is told by the keys of its first
//! record or the columns of its header, the same rule for both
//! ([`RegisterKind::of_names`]): `legal_form` → organisations;
//! `development` + `indicator` → project indicators; `programme` or
//! `beneficiary` → developments; `theme` → working groups; `organisation`
//! + `name` → contacts.

use std::collections::HashMap;

use super::Rejection;
use super::common::{Fault, quote};
use crate::error::Result;
use crate::store::{RegisterRecords, Store};
use tudashalo_core::register::{
    Contact, Development, Organisation, ProjectIndicator, WorkingGroup,
};

pub mod jsonl;
pub mod table;
#[cfg(test)]
mod tests;
pub(crate) mod validate;

pub use jsonl::{parse_jsonl, sniff_jsonl};
pub use table::{parse_csv, parse_sheet};

/// Which entity a register file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegisterKind {
    Organisations,
    Contacts,
    Developments,
    Indicators,
    Groups,
}

impl RegisterKind {
    /// The kind the names of a first record's keys or a header's columns
    /// (canonical English names) say, if any.
    pub fn of_names<'a>(names: impl IntoIterator<Item = &'a str> + Clone) -> Option<RegisterKind> {
        let has = |wanted: &str| names.clone().into_iter().any(|n| n == wanted);
        if has("legal_form") {
            Some(RegisterKind::Organisations)
        } else if has("development") && has("indicator") {
            Some(RegisterKind::Indicators)
        } else if has("programme") || has("beneficiary") {
            Some(RegisterKind::Developments)
        } else if has("theme") {
            Some(RegisterKind::Groups)
        } else if has("organisation") && has("name") {
            Some(RegisterKind::Contacts)
        } else {
            None
        }
    }

    /// What a report calls it ([`RegisterRecords::kind`]).
    pub fn as_str(self) -> &'static str {
        self.empty().kind()
    }

    fn empty(self) -> RegisterRecords {
        match self {
            RegisterKind::Organisations => RegisterRecords::Organisations(Vec::new()),
            RegisterKind::Contacts => RegisterRecords::Contacts(Vec::new()),
            RegisterKind::Developments => RegisterRecords::Developments(Vec::new()),
            RegisterKind::Indicators => RegisterRecords::Indicators(Vec::new()),
            RegisterKind::Groups => RegisterRecords::Groups(Vec::new()),
        }
    }
}

/// One register record, of any kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Organisation(Organisation),
    Contact(Contact),
    Development(Development),
    Indicator(ProjectIndicator),
    Group(WorkingGroup),
}

impl Record {
    /// Checks and cleans the record ([`validate`]).
    fn validate(self) -> Result<Record, Fault> {
        Ok(match self {
            Record::Organisation(o) => Record::Organisation(validate::organisation(o)?),
            Record::Contact(c) => Record::Contact(validate::contact(c)?),
            Record::Development(d) => Record::Development(validate::development(d)?),
            Record::Indicator(p) => Record::Indicator(validate::project_indicator(p)?),
            Record::Group(g) => Record::Group(validate::group(g)?),
        })
    }

    /// The upsert key, and how a duplicate is described (field, words).
    fn identity(&self) -> (String, &'static str, String) {
        match self {
            Record::Organisation(o) => (o.id.clone(), "id", format!("id {}", quote(&o.id))),
            Record::Development(d) => (d.id.clone(), "id", format!("id {}", quote(&d.id))),
            Record::Group(g) => (g.id.clone(), "id", format!("id {}", quote(&g.id))),
            Record::Contact(c) => (
                c.key(),
                "name",
                format!(
                    "contact {} of organisation {}",
                    quote(&c.name),
                    quote(&c.organisation)
                ),
            ),
            Record::Indicator(p) => (
                p.key(),
                "indicator",
                format!(
                    "indicator {} of development {}",
                    quote(&p.indicator),
                    quote(&p.development)
                ),
            ),
        }
    }
}

/// Where a file's records are, for messages: a file's lines or a sheet's
/// rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: String,
    pub sheet: Option<String>,
}

impl Place {
    pub fn file(file: &str) -> Place {
        Place {
            file: file.to_string(),
            sheet: None,
        }
    }

    fn reject(&self, fault: Fault, line: usize) -> Rejection {
        match &self.sheet {
            Some(sheet) => fault.at_sheet(&self.file, sheet, line),
            None => fault.at(&self.file, line),
        }
    }

    fn row(&self, line: usize) -> String {
        match self.sheet {
            Some(_) => format!("R{line}"),
            None => format!("line {line}"),
        }
    }
}

/// A parsed register file: its valid records with their lines (rows), and
/// every rejected one.
#[derive(Debug, Clone)]
pub struct RegisterParsed {
    pub kind: RegisterKind,
    pub place: Place,
    pub records: Vec<(usize, Record)>,
    pub rejected: Vec<Rejection>,
    first_line_of: HashMap<String, usize>,
}

impl RegisterParsed {
    pub(crate) fn new(kind: RegisterKind, place: Place) -> Self {
        RegisterParsed {
            kind,
            place,
            records: Vec::new(),
            rejected: Vec::new(),
            first_line_of: HashMap::new(),
        }
    }

    /// Validates a record and keeps it, or rejects it (a fault, or a
    /// duplicate of an accepted record, naming that one's line).
    pub(crate) fn push(&mut self, line: usize, record: Result<Record, Fault>) {
        match record.and_then(Record::validate) {
            Ok(record) => {
                let (key, field, what) = record.identity();
                if let Some(first) = self.first_line_of.get(&key) {
                    let fault = Fault::line(format!(
                        "duplicate {what} (first at {})",
                        self.place.row(*first)
                    ))
                    .with_field(field);
                    self.reject(fault, line);
                } else {
                    self.first_line_of.insert(key, line);
                    self.records.push((line, record));
                }
            }
            Err(fault) => self.reject(fault, line),
        }
    }

    pub(crate) fn reject(&mut self, fault: Fault, line: usize) {
        let rejection = self.place.reject(fault, line);
        self.rejected.push(rejection);
    }

    /// The records for the store and the rejections, in line order.
    pub fn into_records(mut self) -> (RegisterRecords, Vec<Rejection>) {
        let mut out = self.kind.empty();
        for (_, record) in self.records {
            match (&mut out, record) {
                (RegisterRecords::Organisations(v), Record::Organisation(r)) => v.push(r),
                (RegisterRecords::Contacts(v), Record::Contact(r)) => v.push(r),
                (RegisterRecords::Developments(v), Record::Development(r)) => v.push(r),
                (RegisterRecords::Indicators(v), Record::Indicator(r)) => v.push(r),
                (RegisterRecords::Groups(v), Record::Group(r)) => v.push(r),
                // A parser only produces records of its file's kind.
                _ => {}
            }
        }
        self.rejected.sort_by_key(|r| r.line);
        (out, self.rejected)
    }
}

/// What the node already holds, for [`check_references`].
pub trait Known {
    fn organisation(&self, id: &str) -> Result<bool>;
    fn development(&self, id: &str) -> Result<bool>;
    fn document(&self, id: &str) -> Result<bool>;
}

impl Known for Store {
    fn organisation(&self, id: &str) -> Result<bool> {
        self.organisation_exists(id)
    }
    fn development(&self, id: &str) -> Result<bool> {
        self.development_exists(id)
    }
    fn document(&self, id: &str) -> Result<bool> {
        self.document_exists(id)
    }
}

/// Rejects every record that names an organisation, development or
/// document the node does not hold, naming the field and the missing id.
/// A register file holds one entity type, and no entity refers to its own
/// kind, so what a record names must already be stored: organisations are
/// imported before developments, contacts and groups; developments before
/// their indicators; documents before the records that link them.
pub fn check_references(mut parsed: RegisterParsed, known: &dyn Known) -> Result<RegisterParsed> {
    let records = std::mem::take(&mut parsed.records);
    for (line, record) in records {
        match missing(&record, known)? {
            Some(fault) => parsed.reject(fault, line),
            None => parsed.records.push((line, record)),
        }
    }
    parsed.rejected.sort_by_key(|r| r.line);
    Ok(parsed)
}

/// The first reference of `record` the node does not hold.
fn missing(record: &Record, known: &dyn Known) -> Result<Option<Fault>> {
    let organisation = |field: &str, id: &str| -> Result<Option<Fault>> {
        Ok((!known.organisation(id)?).then(|| {
            Fault::field(
                field,
                format!(
                    "organisation {} is not in the register (import the organisations first)",
                    quote(id)
                ),
            )
        }))
    };
    let document = |field: &str, what: &str, id: &str| -> Result<Option<Fault>> {
        Ok((!known.document(id)?).then(|| {
            Fault::field(
                field,
                format!(
                    "{what} {} is not a document of this node (import the documents first)",
                    quote(id)
                ),
            )
        }))
    };
    match record {
        Record::Organisation(_) => Ok(None),
        Record::Contact(c) => organisation("organisation", &c.organisation),
        Record::Development(d) => {
            if let Some(f) = organisation("beneficiary", &d.beneficiary)? {
                return Ok(Some(f));
            }
            for m in d
                .consortium
                .iter()
                .filter(|m| m.organisation != d.beneficiary)
            {
                if let Some(f) = organisation("consortium", &m.organisation)? {
                    return Ok(Some(f));
                }
            }
            for id in &d.documents {
                if let Some(f) = document("documents", "document", id)? {
                    return Ok(Some(f));
                }
            }
            Ok(None)
        }
        Record::Indicator(p) => Ok((!known.development(&p.development)?).then(|| {
            Fault::field(
                "development",
                format!(
                    "development {} is not in the register (import the developments first)",
                    quote(&p.development)
                ),
            )
        })),
        Record::Group(g) => {
            for id in &g.members {
                if let Some(f) = organisation("members", id)? {
                    return Ok(Some(f));
                }
            }
            for m in &g.meetings {
                if let Some(id) = &m.minutes
                    && let Some(f) = document("meetings", "minutes", id)?
                {
                    return Ok(Some(f));
                }
            }
            Ok(None)
        }
    }
}
