//! Hungarian names of the codes the federation speaks in: document kinds,
//! member states, cell statuses, visibility, aggregation rules, and the
//! register's coded lists (entities, programmes, statuses, target groups,
//! roles, legal forms) — those from core's own `label()`s, so that the
//! portal and the node's search text never disagree.

use std::str::FromStr;

use tudashalo_core::register::{
    Entity, GroupStatus, IndicatorType, LegalForm, Programme, Role, Status, TargetGroup,
};
use tudashalo_proto::pb::MemberState;

/// A document kind's Hungarian name (the code itself when unknown: a
/// member may know kinds this portal does not).
pub fn kind(code: &str) -> String {
    match code {
        "strategy" => "stratégia",
        "concept" => "koncepció",
        "project_plan" => "projektterv",
        "project" => "projekt",
        "study" => "tanulmány",
        "evaluation" => "értékelés",
        "best_practice" => "jó gyakorlat",
        "report" => "beszámoló",
        "minutes" => "jegyzőkönyv",
        "other" => "egyéb",
        other => other,
    }
    .to_string()
}

/// A facet's Hungarian heading.
pub fn facet(name: &str) -> &'static str {
    match name {
        "kind" => "Típus",
        "sector" => "Ágazat",
        "settlement" => "Település",
        "year" => "Év",
        "member" => "Kistérség",
        "entity" => "Találat fajtája",
        "programme" => "Program",
        "status" => "Állapot",
        "target_group" => "Célcsoport",
        _ => "Egyéb",
    }
}

/// A member state (the contract's `MemberState`) in Hungarian.
pub fn state(state: i32) -> &'static str {
    match MemberState::try_from(state).unwrap_or(MemberState::Unspecified) {
        MemberState::Ok => "rendben",
        MemberState::TimedOut => "nem válaszolt időben",
        MemberState::Unavailable => "nem elérhető",
        MemberState::Refused => "elutasította a kérést",
        MemberState::Error => "hibát jelzett",
        MemberState::Unspecified => "ismeretlen",
    }
}

/// A state name as the hub reports member health (`ok`, `down`, …).
pub fn health(state: &str) -> &'static str {
    match state {
        "ok" => "rendben",
        "down" => "nem elérhető",
        "unknown" => "még nem ismert",
        "disabled" => "kikapcsolva",
        _ => "ismeretlen",
    }
}

/// A document's visibility in Hungarian.
pub fn visibility(code: &str) -> &'static str {
    match code {
        "public" => "nyilvános",
        "federated" => "a szövetségen belül",
        "local" => "csak helyben",
        _ => "ismeretlen",
    }
}

/// Why a cell is absent or flagged.
pub fn flag(code: &str) -> &'static str {
    match code {
        "threshold" => "kevés adatközlő",
        "count" => "kis darabszám",
        "dominance" => "egy adatközlő túlsúlya",
        "secondary" => "másodlagos titkosítás",
        "incomplete" => "nem minden tag válaszolt",
        "missing_weight" => "hiányzó súly",
        _ => "egyéb ok",
    }
}

/// The entity a hit or a key names (`development:…` → development).
pub fn entity_of(code: &str) -> Option<Entity> {
    match code {
        "" => Some(Entity::Document),
        code => Entity::from_str(code).ok(),
    }
}

/// An entity's name on a hit's badge: core's label, capitalised
/// (`Fejlesztés`); the code itself when unknown.
pub fn entity(code: &str) -> String {
    entity_of(code).map_or_else(|| code.to_string(), |e| capitalised(e.label()))
}

/// An entity as the search facet lists it: what the results are, plural
/// (`Fejlesztések`).
pub fn entity_plural(code: &str) -> String {
    match entity_of(code) {
        Some(Entity::Document) => "Dokumentumok",
        Some(Entity::Development) => "Fejlesztések",
        Some(Entity::Organisation) => "Szervezetek",
        Some(Entity::Group) => "Munkacsoportok",
        None => return code.to_string(),
    }
    .to_string()
}

/// `s` with its first letter upper case.
pub fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A coded value's Hungarian label, by its exact code (not the lenient
/// parsing of core's `FromStr`: a label shown must be the code's own); the
/// code itself when unknown.
fn coded<T: Copy>(
    all: &[T],
    code: &str,
    as_str: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> String {
    all.iter()
        .copied()
        .find(|v| as_str(*v) == code)
        .map_or_else(|| code.to_string(), |v| label(v).to_string())
}

/// A funding programme (`EFOP` → Emberi Erőforrás Fejlesztési Operatív
/// Program).
pub fn programme(code: &str) -> String {
    coded(Programme::ALL, code, Programme::as_str, Programme::label)
}

/// A development's status (`running` → folyamatban).
pub fn development_status(code: &str) -> String {
    coded(Status::ALL, code, Status::as_str, Status::label)
}

/// A target group (`elderly` → idősek).
pub fn target_group(code: &str) -> String {
    coded(
        TargetGroup::ALL,
        code,
        TargetGroup::as_str,
        TargetGroup::label,
    )
}

/// An organisation's part in a development or group (`lead` →
/// főkedvezményezett).
pub fn role(code: &str) -> String {
    coded(Role::ALL, code, Role::as_str, Role::label)
}

/// An organisation's legal form.
pub fn legal_form(code: &str) -> String {
    coded(LegalForm::ALL, code, LegalForm::as_str, LegalForm::label)
}

/// A project indicator's type (`output`, `result` → eredmény).
pub fn indicator_type(code: &str) -> String {
    coded(
        IndicatorType::ALL,
        code,
        IndicatorType::as_str,
        IndicatorType::label,
    )
}

/// Whether a working group meets (`active` → működő).
pub fn group_status(code: &str) -> String {
    coded(
        GroupStatus::ALL,
        code,
        GroupStatus::as_str,
        GroupStatus::label,
    )
}

/// A register facet's value (`programme`, `status`, `target_group`,
/// `entity`) in Hungarian; `None` for other facets.
pub fn register_facet(name: &str, value: &str) -> Option<String> {
    Some(match name {
        "entity" => entity_plural(value),
        "programme" => programme(value),
        "status" => development_status(value),
        "target_group" => target_group(value),
        _ => return None,
    })
}
