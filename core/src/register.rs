//! The register: organisations (partners), developments (projects) with
//! their indicators, and thematic working groups, as a node stores them and
//! its importers produce them.
//!
//! Like [`crate::model`], plain serde types: sled stores each as JSON,
//! keyed by its id, and a JSON Lines import file is one of these per line.
//! What the federation sees of a record is derived from it here, once:
//! - [`Searchable`]: the text and the filter values the node's index holds
//!   (documents go through the same type, so one index serves both);
//! - [`derived_observations`]: the indicators a node aggregates over its
//!   developments (counts, awarded support, total cost, target achievement),
//!   which then take the indicators' path: partials, hubs, disclosure.
//!
//! Contact persons ([`Contact`]) are personal data: a separate type that has
//! no conversion to the contract at all, so it cannot leave the node.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::Visibility;

mod derived;
mod searchable;

pub use derived::{DERIVED_PREFIX, derived_observations, is_public_information};
pub use searchable::Searchable;

/// What a search hit (and an index record) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entity {
    Document,
    Development,
    Organisation,
    Group,
}

impl Entity {
    pub const ALL: [Entity; 4] = [
        Entity::Document,
        Entity::Development,
        Entity::Organisation,
        Entity::Group,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Document => "document",
            Entity::Development => "development",
            Entity::Organisation => "organisation",
            Entity::Group => "group",
        }
    }

    /// The Hungarian name, for people.
    pub fn label(self) -> &'static str {
        match self {
            Entity::Document => "dokumentum",
            Entity::Development => "fejlesztés",
            Entity::Organisation => "szervezet",
            Entity::Group => "munkacsoport",
        }
    }

    /// The key of a register record in the places documents are named
    /// (hits, `GetDocument`, the index): `development:EFOP-1.5.2-16-2017-00041`.
    /// A document's id is its key; document ids may not start with a
    /// register prefix ([`reserved_prefix`]), so the two never collide.
    pub fn key(self, id: &str) -> String {
        match self {
            Entity::Document => id.to_string(),
            _ => format!("{}:{id}", self.as_str()),
        }
    }

    /// The entity and the id a key names.
    pub fn of_key(key: &str) -> (Entity, &str) {
        for e in [Entity::Development, Entity::Organisation, Entity::Group] {
            if let Some(id) = key
                .strip_prefix(e.as_str())
                .and_then(|r| r.strip_prefix(':'))
            {
                return (e, id);
            }
        }
        (Entity::Document, key)
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Entity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Entity::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown entity {s:?} (expected document, development, organisation or group)"
                )
            })
    }
}

/// The register prefix a would-be document id starts with, if any: such an
/// id would name a register record, so importers refuse it.
pub fn reserved_prefix(id: &str) -> Option<&'static str> {
    match Entity::of_key(id).0 {
        Entity::Document => None,
        e => Some(e.as_str()),
    }
}

/// Declares a closed, coded list: its codes, Hungarian labels, parsing
/// that names the choices.
macro_rules! coded {
    ($(#[$m:meta])* $name:ident, $what:literal, { $($variant:ident = $code:literal, $label:literal;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        pub enum $name {
            $(#[serde(rename = $code)] $variant,)+
        }

        /// Read as [`FromStr`] reads it: the code or the Hungarian label,
        /// so a JSON Lines file may say `"lezárt"` as a table may.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $code,)+ }
            }

            /// The Hungarian name, for people (and for the search text).
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label,)+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            /// The code, or the Hungarian label, in any case and with or
            /// without accents.
            fn from_str(s: &str) -> Result<Self, String> {
                let folded = crate::fold::fold(s.trim());
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| {
                        crate::fold::fold(v.as_str()) == folded
                            || crate::fold::fold(v.label()) == folded
                    })
                    .ok_or_else(|| {
                        let all: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                        format!(concat!("unknown ", $what, " {:?} (expected one of {})"), s, all.join(", "))
                    })
            }
        }
    };
}

coded!(
    /// An organisation's legal form (the statistical office's GFO groups).
    LegalForm, "legal form", {
    Municipality = "municipality", "települési önkormányzat";
    MunicipalAssociation = "municipal_association", "önkormányzati társulás";
    PublicInstitution = "public_institution", "költségvetési intézmény";
    NonprofitCompany = "nonprofit_company", "nonprofit gazdasági társaság";
    Civil = "civil", "civil szervezet";
    Church = "church", "egyházi jogi személy";
    Enterprise = "enterprise", "vállalkozás";
    StateBody = "state_body", "állami szerv";
    Other = "other", "egyéb szervezet";
});

coded!(
    /// The funding programme of a development.
    Programme, "programme", {
    Top = "TOP", "Terület- és Településfejlesztési Operatív Program";
    TopPlusz = "TOP_PLUSZ", "TOP Plusz";
    Efop = "EFOP", "Emberi Erőforrás Fejlesztési Operatív Program";
    Vekop = "VEKOP", "Versenyképes Közép-Magyarország Operatív Program";
    Kofop = "KOFOP", "Közigazgatás- és Közszolgáltatás-fejlesztési Operatív Program";
    Ginop = "GINOP", "Gazdaságfejlesztési és Innovációs Operatív Program";
    Vp = "VP", "Vidékfejlesztési Program (LEADER)";
    Domestic = "DOMESTIC", "hazai forrás";
    Other = "OTHER", "egyéb forrás";
});

impl Programme {
    /// The programme a funding identifier names by its first part
    /// (`EFOP-1.5.2-16-2017-00041` → EFOP, `VP6-19.2.1-…` → VP).
    pub fn of_identifier(id: &str) -> Option<Programme> {
        let head = id.split(['-', '_', ' ']).next()?.to_uppercase();
        let head = head.trim_end_matches(|c: char| c.is_ascii_digit());
        match head {
            "TOP" if id.to_uppercase().starts_with("TOP_PLUSZ") => Some(Programme::TopPlusz),
            "TOP" => Some(Programme::Top),
            "EFOP" => Some(Programme::Efop),
            "VEKOP" => Some(Programme::Vekop),
            "KÖFOP" | "KOFOP" => Some(Programme::Kofop),
            "GINOP" => Some(Programme::Ginop),
            "VP" => Some(Programme::Vp),
            _ => None,
        }
    }
}

coded!(
    /// Where a development stands.
    Status, "status", {
    Planned = "planned", "tervezett";
    Running = "running", "folyamatban";
    Closed = "closed", "lezárt";
    Sustainability = "sustainability", "fenntartási időszak";
});

coded!(
    /// Whom a development is for.
    TargetGroup, "target group", {
    DisadvantagedWorkingAge = "disadvantaged_working_age", "hátrányos helyzetű munkaképes korúak";
    Unemployed = "unemployed", "álláskeresők";
    YoungPeople = "young_people", "fiatalok";
    Children = "children", "gyermekek";
    Pupils = "pupils", "tanulók";
    RomaPupils = "roma_pupils", "roma tanulók";
    Families = "families", "családok";
    Elderly = "elderly", "idősek";
    Disabled = "disabled", "fogyatékossággal élők";
    Entrepreneurs = "entrepreneurs", "vállalkozók";
    WholePopulation = "whole_population", "teljes lakosság";
});

coded!(
    /// An organisation's part in a development.
    Role, "role", {
    Lead = "lead", "főkedvezményezett";
    Member = "member", "konzorciumi tag";
    Associated = "associated", "együttműködő partner";
});

coded!(
    /// What a project indicator measures.
    IndicatorType, "indicator type", {
    Output = "output", "output";
    Result = "result", "eredmény";
});

coded!(
    /// Whether a working group meets.
    GroupStatus, "group status", {
    Active = "active", "működő";
    Closed = "closed", "megszűnt";
});

/// A cooperating organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    pub id: String,
    pub name: String,
    pub legal_form: LegalForm,
    /// The statistical office's three-digit GFO code, where known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gfo: Option<u16>,
    /// The statistical register number (törzsszám), 8 digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register_number: Option<String>,
    /// The tax number, `12345678-1-23`; its first 8 digits are the törzsszám.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat: Option<String>,
    #[serde(default)]
    pub sectors: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(default)]
    pub visibility: Visibility,
}

impl Organisation {
    /// The törzsszám that identifies the organisation across nodes: the
    /// register number, or the first 8 digits of the tax number.
    pub fn identity(&self) -> Option<String> {
        if let Some(r) = &self.register_number {
            return Some(r.clone());
        }
        self.tax_number
            .as_ref()
            .map(|t| t.chars().take(8).collect())
    }
}

/// Checks a törzsszám: 8 digits.
pub fn check_register_number(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not a register number (törzsszám: 8 digits)"
        ))
    }
}

/// Checks a Hungarian tax number: `12345678-1-23` (or the 11 digits alone).
pub fn check_tax_number(raw: &str) -> Result<String, String> {
    let digits: String = raw.trim().chars().filter(|c| *c != '-').collect();
    if digits.len() == 11 && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(format!(
            "{}-{}-{}",
            &digits[..8],
            &digits[8..9],
            &digits[9..]
        ))
    } else {
        Err(format!(
            "{:?} is not a tax number (adószám: 12345678-1-23)",
            raw.trim()
        ))
    }
}

/// A contact person of an organisation: personal data, always `local`.
/// Nothing converts it to the contract; only the node's own command line
/// shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub organisation: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl Contact {
    /// The upsert key: one person per organisation and name.
    pub fn key(&self) -> String {
        format!("{}\u{1f}{}", self.organisation, self.name)
    }
}

/// One organisation of a development's consortium.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsortiumMember {
    pub organisation: String,
    pub role: Role,
}

/// A development (project).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Development {
    /// The funding identifier where there is one.
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    pub programme: Programme,
    /// The call, e.g. `EFOP-1.5.2-16`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// The beneficiary (the lead), an organisation id.
    pub beneficiary: String,
    /// Every organisation taking part, the beneficiary included (as `lead`).
    #[serde(default)]
    pub consortium: Vec<ConsortiumMember>,
    pub settlements: Vec<String>,
    #[serde(default)]
    pub sectors: Vec<String>,
    #[serde(default)]
    pub target_groups: Vec<TargetGroup>,
    /// Dates as `YYYY-MM-DD` (or `YYYY-MM`, `YYYY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned_end: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual_end: Option<String>,
    /// Total eligible cost, Ft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_cost: Option<u64>,
    /// Awarded support, Ft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<u64>,
    pub status: Status,
    /// Ids of documents of this node about the development.
    #[serde(default)]
    pub documents: Vec<String>,
    #[serde(default)]
    pub visibility: Visibility,
}

impl Development {
    /// The year a development counts in: its actual start, else its planned
    /// start.
    pub fn year(&self) -> Option<i32> {
        self.actual_start
            .as_deref()
            .or(self.planned_start.as_deref())
            .and_then(year_of)
    }

    /// The settlement its amounts are attributed to in aggregates (one, so
    /// that a kistérség's sums count each development once): its first.
    pub fn seat(&self) -> Option<&str> {
        self.settlements.first().map(String::as_str)
    }

    /// The organisations taking part, each once, with the beneficiary as
    /// `lead` even if the consortium does not list it.
    pub fn participants(&self) -> Vec<ConsortiumMember> {
        let mut out: Vec<ConsortiumMember> = Vec::new();
        if !self
            .consortium
            .iter()
            .any(|m| m.organisation == self.beneficiary)
        {
            out.push(ConsortiumMember {
                organisation: self.beneficiary.clone(),
                role: Role::Lead,
            });
        }
        for m in &self.consortium {
            if !out.iter().any(|o| o.organisation == m.organisation) {
                out.push(m.clone());
            }
        }
        out
    }
}

/// The year of a `YYYY…` date.
pub fn year_of(date: &str) -> Option<i32> {
    date.get(..4)?.parse().ok()
}

/// One achieved value of a project indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Achieved {
    /// `YYYY`.
    pub period: String,
    pub value: f64,
}

/// One indicator of one development: its target and what was achieved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectIndicator {
    pub development: String,
    /// A code shared across developments (e.g. `PR_resztvevok`), so that
    /// achievement aggregates over them.
    pub indicator: String,
    pub name: String,
    #[serde(rename = "type")]
    pub indicator_type: IndicatorType,
    pub unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_year: Option<i32>,
    pub target: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_date: Option<String>,
    /// Cumulative values achieved, by year.
    #[serde(default)]
    pub achieved: Vec<Achieved>,
}

impl ProjectIndicator {
    /// The upsert key.
    pub fn key(&self) -> String {
        format!("{}\u{1f}{}", self.development, self.indicator)
    }

    /// The latest achieved value (by period).
    pub fn latest(&self) -> Option<&Achieved> {
        self.achieved.iter().max_by(|a, b| a.period.cmp(&b.period))
    }
}

/// One meeting of a working group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meeting {
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// The id of the minutes, a document of this node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<String>,
}

/// A thematic working group of local actors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkingGroup {
    pub id: String,
    pub name: String,
    /// The sector it works on.
    pub theme: String,
    /// Organisation ids.
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub meetings: Vec<Meeting>,
    pub status: GroupStatus,
    #[serde(default)]
    pub visibility: Visibility,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Aggregation;

    fn dev(id: &str, seat: &str, support: u64, sectors: &[&str]) -> Development {
        Development {
            id: id.into(),
            title: "Óvodafejlesztés".into(),
            summary: String::new(),
            programme: Programme::of_identifier(id).unwrap(),
            call: None,
            beneficiary: "o1".into(),
            consortium: vec![],
            settlements: vec![seat.into()],
            sectors: sectors.iter().map(|s| s.to_string()).collect(),
            target_groups: vec![TargetGroup::Children],
            planned_start: Some("2017-03-01".into()),
            planned_end: None,
            actual_start: None,
            actual_end: None,
            total_cost: Some(support + 10),
            support: Some(support),
            status: Status::Closed,
            documents: vec![],
            visibility: Visibility::Federated,
        }
    }

    #[test]
    fn keys_name_their_entity_and_documents_keep_theirs() {
        let k = Entity::Development.key("EFOP-1.5.2-16-2017-00041");
        assert_eq!(k, "development:EFOP-1.5.2-16-2017-00041");
        assert_eq!(
            Entity::of_key(&k),
            (Entity::Development, "EFOP-1.5.2-16-2017-00041")
        );
        assert_eq!(Entity::of_key("2021/terv"), (Entity::Document, "2021/terv"));
        assert_eq!(reserved_prefix("group:x"), Some("group"));
        assert_eq!(reserved_prefix("groups:x"), None);
    }

    #[test]
    fn codes_parse_from_code_or_hungarian_label() {
        assert_eq!("EFOP".parse::<Programme>().unwrap(), Programme::Efop);
        assert_eq!("köfop".parse::<Programme>().unwrap(), Programme::Kofop);
        assert_eq!("lezárt".parse::<Status>().unwrap(), Status::Closed);
        assert_eq!(
            "Roma tanulók".parse::<TargetGroup>().unwrap(),
            TargetGroup::RomaPupils
        );
        let e = "xyz".parse::<LegalForm>().unwrap_err();
        assert!(e.contains("municipality"), "{e}");
        assert_eq!(
            Programme::of_identifier("TOP-1.4.1-15-BK1-2016-00012"),
            Some(Programme::Top)
        );
        assert_eq!(
            Programme::of_identifier("VP6-19.2.1-88-2-17"),
            Some(Programme::Vp)
        );
        assert_eq!(
            Programme::of_identifier("KÖFOP-2.3.4-VEKOP-15"),
            Some(Programme::Kofop)
        );
    }

    #[test]
    fn identity_is_the_torzsszam_from_either_number() {
        let mut o = Organisation {
            id: "o".into(),
            name: "Tiszakécske Város Önkormányzata".into(),
            legal_form: LegalForm::Municipality,
            gfo: Some(321),
            register_number: None,
            tax_number: Some(check_tax_number("15724784-2-03").unwrap()),
            seat: None,
            sectors: vec![],
            website: None,
            visibility: Visibility::Federated,
        };
        assert_eq!(o.identity().as_deref(), Some("15724784"));
        o.register_number = Some("15724784".into());
        assert_eq!(o.identity().as_deref(), Some("15724784"));
        assert!(check_register_number("1572478").is_err());
        assert_eq!(check_tax_number("15724784203").unwrap(), "15724784-2-03");
    }

    #[test]
    fn derived_sums_count_each_development_once_and_skip_local_ones() {
        let a = dev(
            "EFOP-1.5.2-16-2017-00041",
            "Tiszakécske",
            100,
            &["oktatás", "szociális"],
        );
        let b = dev(
            "TOP-1.4.1-15-BK1-2016-00012",
            "Tiszakécske",
            50,
            &["oktatás"],
        );
        let mut c = dev("EFOP-3.9.2-16-2017-00001", "Lakitelek", 1000, &["oktatás"]);
        c.visibility = Visibility::Local;
        let (catalogue, obs) = derived_observations(&[a, b, c], &[]);
        let value = |code: &str| {
            obs.iter()
                .filter(|o| o.indicator == code)
                .map(|o| o.value)
                .sum::<f64>()
        };
        assert_eq!(value("dev.support"), 150.0);
        assert_eq!(value("dev.count"), 2.0);
        assert_eq!(value("dev.support.EFOP"), 100.0);
        assert_eq!(value("dev.support.s.oktatás"), 150.0);
        assert_eq!(value("dev.support.EFOP.s.szociális"), 100.0);
        assert_eq!(value("dev.cost"), 170.0);
        assert!(catalogue.iter().all(|i| i.code.starts_with(DERIVED_PREFIX)));
        assert!(is_public_information("dev.support.EFOP"));
        assert!(!is_public_information("dev.count"));
    }

    #[test]
    fn achievement_is_sum_achieved_over_sum_target() {
        let a = dev("EFOP-1", "A", 1, &[]);
        let b = dev("EFOP-2", "A", 1, &[]);
        let pi = |d: &str, target: f64, achieved: f64| ProjectIndicator {
            development: d.into(),
            indicator: "PR1".into(),
            name: "Résztvevők".into(),
            indicator_type: IndicatorType::Result,
            unit: "fő".into(),
            baseline: None,
            baseline_year: None,
            target,
            target_date: None,
            achieved: vec![Achieved {
                period: "2019".into(),
                value: achieved,
            }],
        };
        let (catalogue, obs) = derived_observations(
            &[a, b],
            &[pi("EFOP-1", 100.0, 50.0), pi("EFOP-2", 300.0, 350.0)],
        );
        let ratio = obs
            .iter()
            .find(|o| o.indicator == "dev.achievement.PR1")
            .unwrap();
        assert!((ratio.value - 400.0 / 400.0).abs() < 1e-12);
        let target = obs
            .iter()
            .find(|o| o.indicator == "dev.target.PR1")
            .unwrap();
        assert_eq!(target.value, 400.0);
        let rule = catalogue
            .iter()
            .find(|i| i.code == "dev.achievement.PR1")
            .unwrap();
        assert_eq!(
            rule.aggregation,
            Aggregation::WeightedMean("dev.target.PR1".into())
        );
    }
}
