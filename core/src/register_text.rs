//! The register's records as people and scripts read them: the stable
//! `--json` shapes and the text of a development, an organisation, a group
//! and a network answer, built field by field from the contract (so that
//! scripts do not depend on protobuf's JSON mapping). One definition for
//! every command line (the hub's and the node's); the README documents the
//! shapes.

use std::io::Write;

use serde_json::{Value, json};
use tudashalo_proto::pb::{self, MemberState};

use crate::export::state_name;
use crate::register::{GroupStatus, LegalForm, Role, Status};

/// The Hungarian label of a code of the coded list `T`, or the code as it
/// came (a newer member may send a code this version does not know).
fn label<T: std::str::FromStr + Copy>(code: &str, of: fn(T) -> &'static str) -> String {
    code.parse::<T>()
        .map_or_else(|_| code.to_string(), |v| of(v).to_string())
}

/// Prints a register record if `response` holds one (and returns `true`);
/// `false` for a document, which the caller prints.
pub fn print_record(response: &pb::GetDocumentResponse, as_json: bool) -> std::io::Result<bool> {
    let (json, text) = if let Some(d) = &response.development {
        (development_json(d), development_text(d))
    } else if let Some(o) = &response.organisation {
        (organisation_json(o), organisation_text(o))
    } else if let Some(g) = &response.group {
        (group_json(g), group_text(g))
    } else {
        return Ok(false);
    };
    if as_json {
        let mut json = json;
        json["member"] = json!(response.member);
        let text = serde_json::to_string_pretty(&json).map_err(std::io::Error::other)?;
        println!("{text}");
    } else {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{text}")?;
    }
    Ok(true)
}

/// A whole number of forints as a Hungarian reader writes it: `125 000 000 Ft`.
fn forints(amount: Option<u64>) -> String {
    match amount {
        None => "–".to_string(),
        Some(n) => {
            let digits = n.to_string();
            let mut out = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    out.push('\u{a0}');
                }
                out.push(c);
            }
            format!("{out} Ft")
        }
    }
}

fn members_json(members: &[pb::ConsortiumMember]) -> Value {
    json!(
        members
            .iter()
            .map(|m| json!({"organisation": m.organisation, "role": m.role, "name": m.name}))
            .collect::<Vec<_>>()
    )
}

pub fn development_json(d: &pb::Development) -> Value {
    json!({
        "entity": "development",
        "id": d.id,
        "title": d.title,
        "summary": d.summary,
        "programme": d.programme,
        "call": d.call,
        "beneficiary": d.beneficiary,
        "consortium": members_json(&d.consortium),
        "settlements": d.settlements,
        "sectors": d.sectors,
        "target_groups": d.target_groups,
        "planned_start": d.planned_start,
        "planned_end": d.planned_end,
        "actual_start": d.actual_start,
        "actual_end": d.actual_end,
        "total_cost": d.total_cost,
        "support": d.support,
        "status": d.status,
        "documents": d.documents,
        "visibility": d.visibility,
        "indicators": d.indicators.iter().map(|i| json!({
            "indicator": i.indicator,
            "name": i.name,
            "type": i.r#type,
            "unit": i.unit,
            "baseline": i.baseline,
            "baseline_year": i.baseline_year,
            "target": i.target,
            "target_date": i.target_date,
            "achieved": i.achieved.iter().map(|a| json!({"period": a.period, "value": a.value})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn development_text(d: &pb::Development) -> String {
    let status = label(&d.status, Status::label);
    let mut out = format!("{}\n{} · {} · {status}\n", d.title, d.id, d.programme);
    out.push_str(&format!(
        "támogatás: {}, összköltség: {}\n",
        forints(d.support),
        forints(d.total_cost)
    ));
    if !d.settlements.is_empty() {
        out.push_str(&format!("települések: {}\n", d.settlements.join(", ")));
    }
    for m in &d.consortium {
        let role = label(&m.role, Role::label);
        out.push_str(&format!("  {} ({}, {role})\n", m.name, m.organisation));
    }
    for i in &d.indicators {
        let latest = i
            .achieved
            .iter()
            .max_by(|a, b| a.period.cmp(&b.period))
            .map(|a| format!("{} ({})", a.value, a.period))
            .unwrap_or_else(|| "–".into());
        out.push_str(&format!(
            "  mutató {}: {} — cél {} {}, teljesült {latest}\n",
            i.indicator, i.name, i.target, i.unit
        ));
    }
    if !d.summary.is_empty() {
        out.push_str(&format!("\n{}\n", d.summary));
    }
    out
}

fn participations_json(ps: &[pb::Participation]) -> Value {
    json!(
        ps.iter()
            .map(|p| json!({
                "entity": p.entity,
                "id": p.id,
                "title": p.title,
                "role": p.role,
                "year": p.year,
                "programme": p.programme,
                "support": p.support,
            }))
            .collect::<Vec<_>>()
    )
}

pub fn organisation_json(o: &pb::Organisation) -> Value {
    json!({
        "entity": "organisation",
        "id": o.id,
        "name": o.name,
        "legal_form": o.legal_form,
        "gfo": o.gfo,
        "register_number": o.register_number,
        "tax_number": o.tax_number,
        "seat": o.seat,
        "sectors": o.sectors,
        "website": o.website,
        "visibility": o.visibility,
        "participations": participations_json(&o.participations),
    })
}

fn organisation_text(o: &pb::Organisation) -> String {
    let mut out = format!(
        "{}\n{} · törzsszám {} · {}\n",
        o.name,
        label(&o.legal_form, LegalForm::label),
        o.register_number,
        o.seat
    );
    for p in &o.participations {
        out.push_str(&format!(
            "  {} {} ({}): {}\n",
            p.entity, p.id, p.role, p.title
        ));
    }
    out
}

pub fn group_json(g: &pb::WorkingGroup) -> Value {
    json!({
        "entity": "group",
        "id": g.id,
        "name": g.name,
        "theme": g.theme,
        "members": members_json(&g.members),
        "meetings": g.meetings.iter().map(|m| json!({"date": m.date, "topic": m.topic, "minutes": m.minutes})).collect::<Vec<_>>(),
        "status": g.status,
        "visibility": g.visibility,
    })
}

fn group_text(g: &pb::WorkingGroup) -> String {
    let mut out = format!(
        "{}\n{} · {}\n",
        g.name,
        g.theme,
        label(&g.status, GroupStatus::label)
    );
    for m in &g.members {
        out.push_str(&format!("  tag: {} ({})\n", m.name, m.organisation));
    }
    for m in &g.meetings {
        out.push_str(&format!("  ülés {}: {}\n", m.date, m.topic));
    }
    out
}

/// The stable `--json` shape of a network answer.
pub fn network_json(r: &pb::NetworkResponse) -> Value {
    json!({
        "total": r.total,
        "partial": r.partial,
        "organisations": r.organisations.iter().map(|o| json!({
            "register_number": o.register_number,
            "name": o.name,
            "member_count": o.member_count,
            "entries": o.entries.iter().map(|e| json!({
                "member": e.member,
                "organisation": e.organisation.as_ref().map(organisation_json),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "pairs": r.pairs.iter().map(|p| json!({
            "a": p.a, "b": p.b, "a_name": p.a_name, "b_name": p.b_name,
            "developments": p.developments,
        })).collect::<Vec<_>>(),
        "members": r.members.iter().map(crate::export::member_json).collect::<Vec<_>>(),
    })
}

pub fn print_network(r: &pb::NetworkResponse) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{} of {} organisations",
        r.organisations.len(),
        r.total
    );
    for o in &r.organisations {
        let number = if o.register_number.is_empty() {
            "–"
        } else {
            o.register_number.as_str()
        };
        let _ = writeln!(
            out,
            "{}  (törzsszám {number}, {} kistérség)",
            o.name, o.member_count
        );
        for e in &o.entries {
            let Some(org) = &e.organisation else { continue };
            let member = if e.member.is_empty() {
                "."
            } else {
                e.member.as_str()
            };
            let _ = writeln!(
                out,
                "  {member}: {} — {} részvétel",
                org.id,
                org.participations.len()
            );
        }
    }
    if !r.pairs.is_empty() {
        let _ = writeln!(out, "co-participation:");
        for p in r.pairs.iter().take(20) {
            let _ = writeln!(
                out,
                "  {} — {}: {} development(s)",
                p.a_name, p.b_name, p.developments
            );
        }
    }
    for m in &r.members {
        if m.state != MemberState::Ok as i32 {
            let _ = writeln!(
                out,
                "member {} {}: {}",
                m.member,
                state_name(m.state),
                m.message
            );
        }
    }
    if r.partial {
        let _ = writeln!(out, "partial answer: not every member contributed");
    }
}
