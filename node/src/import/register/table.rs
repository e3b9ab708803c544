//! Register files as tables: CSV/TSV (through the table importer's
//! decoding, delimiter and physical line numbers) and a workbook's sheet.
//! One entity per table, told apart by the header; columns by their English
//! or Hungarian names, case, accents, spaces and `-`/`_` ignored
//! (`Jogi forma` = `jogi_forma` = `legal_form`); columns this importer does
//! not know are ignored, as the other tables' are.
//!
//! Cell syntaxes:
//! - lists (`sectors`, `settlements`, `target_groups`, `documents`,
//!   `members`, `consortium`): items separated by `;` or `,`;
//! - `consortium`: `org-id:role` items, the role a code or a Hungarian
//!   label (`lead`/`főkedvezményezett`, `member`/`konzorciumi tag`,
//!   `associated`/`együttműködő partner`); a bare `org-id` is the `lead`
//!   when it is the beneficiary, else a `member`;
//! - `meetings`: items separated by `;` only (topics may hold commas), each
//!   `DATE [topic] [[minutes-id]]`: `2021-03-04 Alakuló ülés [jkv-2021-03]`;
//! - amounts (`total_cost`, `support`): whole forints, Hungarian grouping
//!   (`125 000 000`, `125.000.000`, `125000000`), an optional `Ft`;
//! - indicator values (`baseline`, `target`, `achieved`): a decimal comma
//!   in `;` files and wherever a value has a comma and no dot (`1,5`), else
//!   a decimal point;
//! - dates: `YYYY-MM-DD`, `YYYY.MM.DD.`, `YYYY-MM`, `YYYY`;
//! - coded values: the code or the Hungarian label, any case, with or
//!   without accents.
//!
//! Project indicators are one row per achieved value (`period`,
//! `achieved`), or one row without one; rows of one development and
//! indicator are one record, described by its first row (a later row may
//! leave those cells empty; if it fills them, they must agree).

use std::collections::HashMap;

use super::super::common::{Fault, quote};
use super::super::table::workbook::{Cell, Sheet, Workbook};
use super::super::table::{TextTable, decimal_comma, parse_number, read_text_table};
use super::super::{Encoding, FileError};
use super::{Place, Record, RegisterKind, RegisterParsed};
use tudashalo_core::model::Visibility;
use tudashalo_core::register::{
    Achieved, ConsortiumMember, Contact, Development, GroupStatus, IndicatorType, LegalForm,
    Meeting, Organisation, Programme, ProjectIndicator, Role, Status, TargetGroup, WorkingGroup,
};

/// How many non-empty rows at the top of a sheet may hold its header.
const HEADER_SEARCH_ROWS: usize = 20;

/// Every column name accepted, canonical first, in folded form.
const ALIASES: &[(&str, &[&str])] = &[
    ("id", &["azonosito"]),
    ("name", &["nev"]),
    ("legal_form", &["jogi_forma"]),
    ("gfo", &["gfo_kod"]),
    ("register_number", &["torzsszam"]),
    ("tax_number", &["adoszam"]),
    ("seat", &["szekhely"]),
    ("sectors", &["agazatok", "agazat", "sector"]),
    ("website", &["honlap", "weboldal"]),
    ("visibility", &["lathatosag"]),
    ("title", &["cim"]),
    ("summary", &["osszefoglalo"]),
    ("programme", &["program", "program_kod"]),
    ("call", &["felhivas"]),
    ("beneficiary", &["kedvezmenyezett"]),
    ("consortium", &["konzorcium"]),
    ("settlements", &["telepulesek", "telepules"]),
    ("target_groups", &["celcsoportok", "celcsoport"]),
    ("planned_start", &["tervezett_kezdes"]),
    ("planned_end", &["tervezett_befejezes", "tervezett_zaras"]),
    ("actual_start", &["tenyleges_kezdes"]),
    ("actual_end", &["tenyleges_befejezes", "tenyleges_zaras"]),
    ("total_cost", &["osszkoltseg"]),
    ("support", &["tamogatas"]),
    ("status", &["allapot"]),
    ("documents", &["dokumentumok"]),
    ("development", &["fejlesztes"]),
    ("indicator", &["mutato"]),
    ("type", &["tipus"]),
    ("unit", &["mertekegyseg", "egyseg"]),
    ("baseline", &["bazisertek"]),
    ("baseline_year", &["bazisev"]),
    ("target", &["celertek"]),
    ("target_date", &["celdatum"]),
    ("period", &["idoszak", "ev"]),
    ("achieved", &["teljesult", "teljesules"]),
    ("theme", &["tema"]),
    ("members", &["tagok"]),
    ("meetings", &["ulesek"]),
    ("organisation", &["szervezet"]),
    ("position", &["beosztas"]),
    ("email", &["e_mail"]),
    ("phone", &["telefon"]),
];

/// The canonical name of a header cell, if this importer knows it.
pub(crate) fn canonical(cell: &str) -> Option<&'static str> {
    let folded: String = tudashalo_core::fold::fold(cell.trim_start_matches('\u{feff}'))
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect();
    ALIASES
        .iter()
        .find(|(name, aliases)| *name == folded || aliases.contains(&folded.as_str()))
        .map(|(name, _)| *name)
}

/// The register kind a header's cells say, if any.
pub fn kind_of_header<'a>(cells: impl IntoIterator<Item = &'a str>) -> Option<RegisterKind> {
    let names: Vec<&str> = cells.into_iter().filter_map(canonical).collect();
    RegisterKind::of_names(names.iter().copied())
}

/// The columns a table of `kind` must have.
fn required(kind: RegisterKind) -> &'static [&'static str] {
    match kind {
        RegisterKind::Organisations => &["id", "name", "legal_form"],
        RegisterKind::Contacts => &["organisation", "name"],
        RegisterKind::Developments => &[
            "id",
            "title",
            "programme",
            "beneficiary",
            "settlements",
            "status",
        ],
        RegisterKind::Indicators => &["development", "indicator", "name", "type", "unit", "target"],
        RegisterKind::Groups => &["id", "name", "theme", "status"],
    }
}

/// Where each known column is, checked: no column twice, none missing.
fn columns(
    file: &str,
    kind: RegisterKind,
    cells: &[String],
    line: &str,
) -> Result<HashMap<&'static str, usize>, FileError> {
    let mut at = HashMap::new();
    for (position, cell) in cells.iter().enumerate() {
        if let Some(name) = canonical(cell)
            && let Some(first) = at.insert(name, position)
        {
            return Err(FileError::new(
                file,
                format!(
                    "column \"{name}\" appears twice in the header (columns {} and {})",
                    first + 1,
                    position + 1
                ),
            ));
        }
    }
    let missing: Vec<&str> = required(kind)
        .iter()
        .copied()
        .filter(|c| !at.contains_key(c))
        .collect();
    if !missing.is_empty() {
        return Err(FileError::new(
            file,
            format!(
                "header {} lacks the column{} {} needed for {} ({})",
                quote(line),
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                kind.as_str(),
                required(kind).join(",")
            ),
        ));
    }
    Ok(at)
}

/// Parses a CSV/TSV register file of `kind`.
pub fn parse_csv(
    file: &str,
    bytes: &[u8],
    enc: Encoding,
    kind: RegisterKind,
) -> Result<RegisterParsed, FileError> {
    let TextTable {
        header,
        line,
        delimiter,
        rows,
        rejected,
    } = read_text_table(file, bytes, enc)?;
    let at = columns(file, kind, &header, &line)?;
    if rows.is_empty() && rejected.is_empty() {
        return Err(FileError::new(file, "no rows after the header"));
    }
    let mut parsed = RegisterParsed::new(kind, Place::file(file));
    parsed.rejected = rejected;
    let mut rows_of = Rows::new(kind, &at, delimiter);
    for (line, cells) in &rows {
        rows_of.row(&mut parsed, *line, cells);
    }
    rows_of.finish(&mut parsed);
    Ok(parsed)
}

/// The register table in `book`: the sheet `wanted` or, without it, the
/// first sheet with a register header among its first rows. `None` when
/// there is none, so the workbook is read as observations or a catalogue.
pub fn parse_sheet(
    file: &str,
    book: &Workbook,
    wanted: Option<&str>,
) -> Option<Result<RegisterParsed, FileError>> {
    let candidates: Vec<&Sheet> = match wanted {
        Some(name) => book
            .sheets
            .iter()
            .filter(|s| {
                s.name == name || s.name.trim().to_lowercase() == name.trim().to_lowercase()
            })
            .take(1)
            .collect(),
        None => book.sheets.iter().collect(),
    };
    for sheet in candidates {
        for (index, (_, cells)) in sheet.rows.iter().enumerate().take(HEADER_SEARCH_ROWS) {
            let texts: Vec<String> = cells.iter().map(cell_text).collect();
            if let Some(kind) = kind_of_header(texts.iter().map(String::as_str)) {
                return Some(parse_rows(file, sheet, index, &texts, kind));
            }
        }
    }
    None
}

fn parse_rows(
    file: &str,
    sheet: &Sheet,
    index: usize,
    header: &[String],
    kind: RegisterKind,
) -> Result<RegisterParsed, FileError> {
    let in_sheet =
        |e: FileError| FileError::new(file, format!("sheet {}: {}", quote(&sheet.name), e.reason));
    let at = columns(file, kind, header, &header.join(";")).map_err(in_sheet)?;
    let place = Place {
        file: file.to_string(),
        sheet: Some(sheet.name.clone()),
    };
    let mut parsed = RegisterParsed::new(kind, place);
    let mut rows_of = Rows::new(kind, &at, b'\t');
    let mut count = 0;
    for (row, cells) in sheet.rows.get(index + 1..).unwrap_or_default() {
        let texts: Vec<String> = cells.iter().map(cell_text).collect();
        if at
            .values()
            .all(|c| texts.get(*c).is_none_or(|s| s.trim().is_empty()))
        {
            continue;
        }
        count += 1;
        rows_of.row(&mut parsed, *row as usize, &texts);
    }
    if count == 0 {
        return Err(in_sheet(FileError::new(file, "no rows after the header")));
    }
    rows_of.finish(&mut parsed);
    Ok(parsed)
}

/// A cell as the text a CSV file would hold: whole numbers without a
/// fraction, dates without a midnight time.
fn cell_text(cell: &Cell) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Text(s) => s.clone(),
        Cell::Number(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Cell::Number(f) => f.to_string(),
        Cell::Bool(b) => b.to_string(),
        Cell::Date(d) => d.split('T').next().unwrap_or(d).to_string(),
        Cell::Error(e) => e.clone(),
    }
}

/// The rows of one table, turned into records; project indicators are
/// gathered over their rows and given to `parsed` at the end.
struct Rows<'c> {
    kind: RegisterKind,
    at: &'c HashMap<&'static str, usize>,
    delimiter: u8,
    /// Project indicators by (development, indicator): line, record, and
    /// the description cells of their first row.
    gathered: Vec<(usize, ProjectIndicator, Vec<String>)>,
    index_of: HashMap<(String, String), usize>,
}

/// The cells that describe a project indicator (shared by its rows).
const DESCRIPTION: [&str; 7] = [
    "name",
    "type",
    "unit",
    "baseline",
    "baseline_year",
    "target",
    "target_date",
];

impl<'c> Rows<'c> {
    fn new(kind: RegisterKind, at: &'c HashMap<&'static str, usize>, delimiter: u8) -> Self {
        Rows {
            kind,
            at,
            delimiter,
            gathered: Vec::new(),
            index_of: HashMap::new(),
        }
    }

    fn row(&mut self, parsed: &mut RegisterParsed, line: usize, cells: &[String]) {
        let g = Get { at: self.at, cells };
        let record = match self.kind {
            RegisterKind::Organisations => organisation(&g).map(Record::Organisation),
            RegisterKind::Contacts => Ok(Record::Contact(contact(&g))),
            RegisterKind::Developments => development(&g).map(Record::Development),
            RegisterKind::Groups => group(&g).map(Record::Group),
            RegisterKind::Indicators => {
                if let Err(fault) = self.indicator_row(parsed, line, &g) {
                    parsed.reject(fault, line);
                }
                return;
            }
        };
        parsed.push(line, record);
    }

    fn indicator_row(
        &mut self,
        parsed: &RegisterParsed,
        line: usize,
        g: &Get<'_>,
    ) -> Result<(), Fault> {
        let key = (
            g.get("development").to_string(),
            g.get("indicator").to_string(),
        );
        let achieved = achieved(g, self.delimiter)?;
        if let Some(&i) = self.index_of.get(&key) {
            let (first, record, description) = &mut self.gathered[i];
            for (name, cells) in DESCRIPTION.iter().zip(description.iter()) {
                let here = g.get(name);
                if !here.is_empty() && here != cells {
                    return Err(Fault::field(
                        name,
                        format!(
                            "{} differs from {} {} (rows of one development and indicator share its description)",
                            quote(here),
                            parsed.place.row(*first),
                            quote(cells)
                        ),
                    ));
                }
            }
            if let Some(a) = achieved {
                if record.achieved.iter().any(|b| b.period == a.period.trim()) {
                    return Err(Fault::field(
                        "period",
                        format!(
                            "{} is given twice for this indicator (first at {})",
                            quote(&a.period),
                            parsed.place.row(*first)
                        ),
                    ));
                }
                let mut candidate = record.clone();
                candidate.achieved.push(a);
                *record = super::validate::project_indicator(candidate)?;
            }
            return Ok(());
        }
        let record = super::validate::project_indicator(ProjectIndicator {
            development: key.0.clone(),
            indicator: key.1.clone(),
            name: g.get("name").to_string(),
            indicator_type: coded::<IndicatorType>("type", g.get("type"))?,
            unit: g.get("unit").to_string(),
            baseline: optional_value("baseline", g.get("baseline"), self.delimiter)?,
            baseline_year: optional_integer("baseline_year", g.get("baseline_year"))?,
            target: value("target", g.get("target"), self.delimiter)?,
            target_date: some(g.get("target_date")),
            achieved: achieved.into_iter().collect(),
        })?;
        let description = DESCRIPTION.iter().map(|n| g.get(n).to_string()).collect();
        self.index_of.insert(key, self.gathered.len());
        self.gathered.push((line, record, description));
        Ok(())
    }

    fn finish(self, parsed: &mut RegisterParsed) {
        for (line, record, _) in self.gathered {
            parsed.push(line, Ok(Record::Indicator(record)));
        }
    }
}

/// A row's cells by column name, trimmed; `""` for a column the table
/// does not have.
struct Get<'r> {
    at: &'r HashMap<&'static str, usize>,
    cells: &'r [String],
}

impl<'r> Get<'r> {
    fn get(&self, name: &str) -> &'r str {
        self.at
            .get(name)
            .and_then(|c| self.cells.get(*c))
            .map_or("", |s| s.trim())
    }
}

fn some(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// A list cell: items separated by `;` or `,`.
fn list(s: &str) -> Vec<String> {
    s.split([';', ','])
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(str::to_string)
        .collect()
}

fn coded<T: std::str::FromStr<Err = String>>(field: &str, s: &str) -> Result<T, Fault> {
    if s.is_empty() {
        return Err(Fault::field(field, "empty"));
    }
    s.parse().map_err(|e: String| Fault::field(field, e))
}

fn visibility(s: &str) -> Result<Visibility, Fault> {
    if s.is_empty() {
        return Ok(Visibility::default());
    }
    s.to_lowercase()
        .parse()
        .map_err(|e: String| Fault::field("visibility", e))
}

/// Whole forints: `125 000 000`, `125.000.000`, `125000000`, `… Ft`.
fn amount(field: &str, s: &str) -> Result<Option<u64>, Fault> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let number = s.strip_suffix("Ft").unwrap_or(s).trim();
    let bad = || {
        Fault::field(
            field,
            format!(
                "{} is not an amount (whole forints, e.g. 125 000 000)",
                quote(s)
            ),
        )
    };
    let v = parse_number(number, true)
        .or_else(|| parse_number(number, false))
        .ok_or_else(bad)?;
    if v < 0.0 || v.fract() != 0.0 || v > 9.0e15 {
        return Err(bad());
    }
    Ok(Some(v as u64))
}

fn value(field: &str, s: &str, delimiter: u8) -> Result<f64, Fault> {
    if s.is_empty() {
        return Err(Fault::field(field, "empty"));
    }
    let comma = delimiter == b';' || decimal_comma(b'\t', s);
    parse_number(s, comma)
        .ok_or_else(|| Fault::field(field, format!("{} is not a number", quote(s))))
}

fn optional_value(field: &str, s: &str, delimiter: u8) -> Result<Option<f64>, Fault> {
    (!s.is_empty())
        .then(|| value(field, s, delimiter))
        .transpose()
}

fn optional_integer<T: TryFrom<i64>>(field: &str, s: &str) -> Result<Option<T>, Fault> {
    if s.is_empty() {
        return Ok(None);
    }
    s.parse::<i64>()
        .ok()
        .and_then(|v| T::try_from(v).ok())
        .map(Some)
        .ok_or_else(|| Fault::field(field, format!("{} is not a whole number", quote(s))))
}

fn achieved(g: &Get<'_>, delimiter: u8) -> Result<Option<Achieved>, Fault> {
    match (g.get("period"), g.get("achieved")) {
        ("", "") => Ok(None),
        ("", _) => Err(Fault::field(
            "period",
            "empty: an achieved value needs its year",
        )),
        (_, "") => Err(Fault::field("achieved", "empty: the period has no value")),
        (period, v) => Ok(Some(Achieved {
            period: period.to_string(),
            value: value("achieved", v, delimiter)?,
        })),
    }
}

fn organisation(g: &Get<'_>) -> Result<Organisation, Fault> {
    Ok(Organisation {
        id: g.get("id").to_string(),
        name: g.get("name").to_string(),
        legal_form: coded::<LegalForm>("legal_form", g.get("legal_form"))?,
        gfo: optional_integer("gfo", g.get("gfo"))?,
        register_number: some(g.get("register_number")),
        tax_number: some(g.get("tax_number")),
        seat: some(g.get("seat")),
        sectors: list(g.get("sectors")),
        website: some(g.get("website")),
        visibility: visibility(g.get("visibility"))?,
    })
}

fn contact(g: &Get<'_>) -> Contact {
    Contact {
        organisation: g.get("organisation").to_string(),
        name: g.get("name").to_string(),
        position: some(g.get("position")),
        email: some(g.get("email")),
        phone: some(g.get("phone")),
    }
}

fn development(g: &Get<'_>) -> Result<Development, Fault> {
    let beneficiary = g.get("beneficiary").to_string();
    let mut consortium = Vec::new();
    for item in list(g.get("consortium")) {
        let (organisation, role) = match item.rsplit_once(':') {
            Some((org, role)) => (
                org.trim().to_string(),
                role.trim()
                    .parse::<Role>()
                    .map_err(|e| Fault::field("consortium", e))?,
            ),
            None if item == beneficiary.trim() => (item, Role::Lead),
            None => (item, Role::Member),
        };
        consortium.push(ConsortiumMember { organisation, role });
    }
    let mut target_groups = Vec::new();
    for item in list(g.get("target_groups")) {
        target_groups.push(
            item.parse::<TargetGroup>()
                .map_err(|e| Fault::field("target_groups", e))?,
        );
    }
    Ok(Development {
        id: g.get("id").to_string(),
        title: g.get("title").to_string(),
        summary: g.get("summary").to_string(),
        programme: coded::<Programme>("programme", g.get("programme"))?,
        call: some(g.get("call")),
        beneficiary,
        consortium,
        settlements: list(g.get("settlements")),
        sectors: list(g.get("sectors")),
        target_groups,
        planned_start: some(g.get("planned_start")),
        planned_end: some(g.get("planned_end")),
        actual_start: some(g.get("actual_start")),
        actual_end: some(g.get("actual_end")),
        total_cost: amount("total_cost", g.get("total_cost"))?,
        support: amount("support", g.get("support"))?,
        status: coded::<Status>("status", g.get("status"))?,
        documents: list(g.get("documents")),
        visibility: visibility(g.get("visibility"))?,
    })
}

/// A meetings cell: `DATE [topic] [[minutes-id]]` items separated by `;`.
fn meetings(s: &str) -> Result<Vec<Meeting>, Fault> {
    let mut out = Vec::new();
    for item in s.split(';').map(str::trim).filter(|i| !i.is_empty()) {
        let (date, rest) = item.split_once(char::is_whitespace).unwrap_or((item, ""));
        let mut rest = rest.trim();
        let mut minutes = None;
        if let Some(open) = rest.rfind('[')
            && rest.ends_with(']')
        {
            minutes = some(rest[open + 1..rest.len() - 1].trim());
            rest = rest[..open].trim();
        } else if rest.contains('[') || rest.contains(']') {
            return Err(Fault::field(
                "meetings",
                format!(
                    "{} is not a meeting (expected DATE topic [minutes-id])",
                    quote(item)
                ),
            ));
        }
        out.push(Meeting {
            date: date.to_string(),
            topic: some(rest),
            minutes,
        });
    }
    Ok(out)
}

fn group(g: &Get<'_>) -> Result<WorkingGroup, Fault> {
    Ok(WorkingGroup {
        id: g.get("id").to_string(),
        name: g.get("name").to_string(),
        theme: g.get("theme").to_string(),
        members: list(g.get("members")),
        meetings: meetings(g.get("meetings"))?,
        status: coded::<GroupStatus>("status", g.get("status"))?,
        visibility: visibility(g.get("visibility"))?,
    })
}
