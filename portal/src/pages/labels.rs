//! Hungarian names of the codes the federation speaks in: document kinds,
//! member states, cell statuses, visibility, aggregation rules.

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
