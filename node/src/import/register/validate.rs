//! The checks every register record passes, however it was read (a JSON
//! line or a table row): ids, names, numbers, codes, dates and the rules
//! between fields. Each check cleans what it accepts (trimmed ids, lists
//! without blanks or repeats, dates in one form), so that the same record
//! written two ways is stored the same and a re-import is `unchanged`.
//!
//! The first fault of a record is the one reported, in a fixed order of
//! fields, so that the same record always gives the same message.

use super::super::common::{Fault, check_id, check_year, clean_list, control_character, quote};
use tudashalo_core::register::{
    Contact, Development, Organisation, ProjectIndicator, Role, WorkingGroup,
    check_register_number, check_tax_number,
};

/// A date as people write it: `YYYY-MM-DD`, `YYYY.MM.DD.` (the Hungarian
/// way, the last dot optional), `YYYY-MM`, `YYYY.MM.` or `YYYY`; written
/// back as `YYYY-MM-DD`, `YYYY-MM` or `YYYY`. The error is the reason alone.
pub(crate) fn normalise_date(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    let bad = || {
        format!(
            "{} is not a date (expected YYYY-MM-DD, YYYY.MM.DD., YYYY-MM or YYYY)",
            quote(s)
        )
    };
    let body = s.strip_suffix('.').unwrap_or(s);
    let parts: Vec<&str> = if body.contains('-') {
        if s.ends_with('.') {
            return Err(bad());
        }
        body.split('-').collect()
    } else {
        body.split('.').collect()
    };
    let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
    let number = |p: &str| p.parse::<u32>().unwrap_or(0);
    match parts.as_slice() {
        [y] if digits(y, 4) && !s.ends_with('.') => {
            check_year(i64::from(number(y))).map_err(|_| bad())?;
            Ok((*y).to_string())
        }
        [y, m] if digits(y, 4) && digits(m, 2) && (1..=12).contains(&number(m)) => {
            check_year(i64::from(number(y))).map_err(|_| bad())?;
            Ok(format!("{y}-{m}"))
        }
        [y, m, d] if digits(y, 4) && digits(m, 2) && digits(d, 2) => {
            let (year, month, day) = (number(y), number(m), number(d));
            check_year(i64::from(year)).map_err(|_| bad())?;
            if !(1..=12).contains(&month) || day == 0 || day > days_in(year, month) {
                return Err(bad());
            }
            Ok(format!("{y}-{m}-{d}"))
        }
        _ => Err(bad()),
    }
}

fn days_in(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A full date, `YYYY-MM-DD` (a meeting's).
fn full_date(field: &str, raw: &str) -> Result<String, Fault> {
    let date = normalise_date(raw).map_err(|r| Fault::field(field, r))?;
    if date.len() != 10 {
        return Err(Fault::field(
            field,
            format!("{} is not a day (expected YYYY-MM-DD)", quote(raw.trim())),
        ));
    }
    Ok(date)
}

fn id(field: &str, raw: &str) -> Result<String, Fault> {
    check_id(raw).map_err(|r| Fault::field(field, r))
}

fn ids(field: &str, raw: &[String]) -> Result<Vec<String>, Fault> {
    let mut out = Vec::new();
    for item in clean_list(raw) {
        out.push(id(field, &item)?);
    }
    Ok(out)
}

fn name(field: &str, raw: &str) -> Result<String, Fault> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(Fault::field(field, "empty"));
    }
    if let Some(reason) = control_character(s) {
        return Err(Fault::field(field, reason));
    }
    Ok(s.to_string())
}

fn optional(raw: Option<String>) -> Option<String> {
    raw.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn optional_date(field: &str, raw: Option<String>) -> Result<Option<String>, Fault> {
    optional(raw)
        .map(|d| normalise_date(&d).map_err(|r| Fault::field(field, r)))
        .transpose()
}

/// The later of two dates may not come first; dates of different
/// precision compare by the days they start (`2021` ≤ `2021-03`).
fn in_order(
    start_field: &str,
    start: &Option<String>,
    end_field: &str,
    end: &Option<String>,
) -> Result<(), Fault> {
    if let (Some(s), Some(e)) = (start, end)
        && e < s
        && !s.starts_with(e.as_str())
    {
        return Err(Fault::field(
            end_field,
            format!("{} is before {start_field} {}", quote(e), quote(s)),
        ));
    }
    Ok(())
}

pub(crate) fn organisation(mut o: Organisation) -> Result<Organisation, Fault> {
    o.id = id("id", &o.id)?;
    o.name = name("name", &o.name)?;
    if let Some(gfo) = o.gfo
        && !(100..=999).contains(&gfo)
    {
        return Err(Fault::field(
            "gfo",
            format!("{gfo} is not a GFO code (three digits)"),
        ));
    }
    o.register_number = optional(o.register_number)
        .map(|r| check_register_number(&r).map_err(|e| Fault::field("register_number", e)))
        .transpose()?;
    o.tax_number = optional(o.tax_number)
        .map(|t| check_tax_number(&t).map_err(|e| Fault::field("tax_number", e)))
        .transpose()?;
    if let (Some(r), Some(t)) = (&o.register_number, &o.tax_number)
        && !t.starts_with(r.as_str())
    {
        return Err(Fault::field(
            "tax_number",
            format!(
                "{} does not start with the register number {}",
                quote(t),
                quote(r)
            ),
        ));
    }
    o.seat = optional(o.seat);
    o.sectors = clean_list(&o.sectors);
    o.website = optional(o.website);
    Ok(o)
}

pub(crate) fn contact(mut c: Contact) -> Result<Contact, Fault> {
    c.organisation = id("organisation", &c.organisation)?;
    c.name = name("name", &c.name)?;
    c.position = optional(c.position);
    c.email = optional(c.email);
    if let Some(email) = &c.email
        && (!email.contains('@') || email.contains(char::is_whitespace))
    {
        return Err(Fault::field(
            "email",
            format!("{} is not an e-mail address", quote(email)),
        ));
    }
    c.phone = optional(c.phone);
    Ok(c)
}

pub(crate) fn development(mut d: Development) -> Result<Development, Fault> {
    d.id = id("id", &d.id)?;
    d.title = name("title", &d.title)?;
    d.summary = d.summary.trim().to_string();
    d.call = optional(d.call);
    d.beneficiary = id("beneficiary", &d.beneficiary)?;
    let mut consortium: Vec<tudashalo_core::register::ConsortiumMember> = Vec::new();
    for mut m in std::mem::take(&mut d.consortium) {
        m.organisation = id("consortium", &m.organisation)?;
        if consortium.iter().any(|c| c.organisation == m.organisation) {
            return Err(Fault::field(
                "consortium",
                format!("organisation {} is listed twice", quote(&m.organisation)),
            ));
        }
        consortium.push(m);
    }
    if let Some(m) = consortium
        .iter()
        .find(|m| m.organisation == d.beneficiary && m.role != Role::Lead)
    {
        return Err(Fault::field(
            "consortium",
            format!(
                "the beneficiary {} is listed as {}; it must be the lead",
                quote(&d.beneficiary),
                m.role.as_str()
            ),
        ));
    }
    d.consortium = consortium;
    d.settlements = clean_list(&d.settlements);
    if d.settlements.is_empty() {
        return Err(Fault::field(
            "settlements",
            "a development needs at least one settlement",
        ));
    }
    for s in &d.settlements {
        if let Some(reason) = control_character(s) {
            return Err(Fault::field("settlements", reason));
        }
    }
    d.sectors = clean_list(&d.sectors);
    let mut groups = Vec::new();
    for g in std::mem::take(&mut d.target_groups) {
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    d.target_groups = groups;
    d.planned_start = optional_date("planned_start", d.planned_start)?;
    d.planned_end = optional_date("planned_end", d.planned_end)?;
    d.actual_start = optional_date("actual_start", d.actual_start)?;
    d.actual_end = optional_date("actual_end", d.actual_end)?;
    in_order(
        "planned_start",
        &d.planned_start,
        "planned_end",
        &d.planned_end,
    )?;
    in_order("actual_start", &d.actual_start, "actual_end", &d.actual_end)?;
    if let (Some(support), Some(cost)) = (d.support, d.total_cost)
        && support > cost
    {
        return Err(Fault::field(
            "support",
            format!("{support} is more than the total cost {cost}"),
        ));
    }
    d.documents = ids("documents", &d.documents)?;
    Ok(d)
}

pub(crate) fn project_indicator(mut p: ProjectIndicator) -> Result<ProjectIndicator, Fault> {
    p.development = id("development", &p.development)?;
    p.indicator = id("indicator", &p.indicator)?;
    p.name = name("name", &p.name)?;
    p.unit = p.unit.trim().to_string();
    if let Some(b) = p.baseline
        && !b.is_finite()
    {
        return Err(Fault::field("baseline", "not a number"));
    }
    if let Some(y) = p.baseline_year {
        check_year(i64::from(y)).map_err(|r| Fault::field("baseline_year", r))?;
    }
    if !(p.target.is_finite() && p.target > 0.0) {
        return Err(Fault::field(
            "target",
            format!("{} must be more than 0", p.target),
        ));
    }
    p.target_date = optional_date("target_date", p.target_date)?;
    let mut seen: Vec<String> = Vec::new();
    for a in &mut p.achieved {
        let period = a.period.trim();
        let year_ok = period.len() == 4
            && period.bytes().all(|b| b.is_ascii_digit())
            && period.parse::<i64>().is_ok_and(|y| check_year(y).is_ok());
        if !year_ok {
            return Err(Fault::field(
                "period",
                format!("{} is not a year (expected YYYY)", quote(period)),
            ));
        }
        if seen.iter().any(|s| s == period) {
            return Err(Fault::field(
                "period",
                format!("{} is given twice", quote(period)),
            ));
        }
        if !a.value.is_finite() {
            return Err(Fault::field("achieved", "not a number"));
        }
        a.period = period.to_string();
        seen.push(a.period.clone());
    }
    p.achieved.sort_by(|a, b| a.period.cmp(&b.period));
    Ok(p)
}

pub(crate) fn group(mut g: WorkingGroup) -> Result<WorkingGroup, Fault> {
    g.id = id("id", &g.id)?;
    g.name = name("name", &g.name)?;
    g.theme = name("theme", &g.theme)?;
    g.members = ids("members", &g.members)?;
    for m in &mut g.meetings {
        m.date = full_date("meetings", &m.date)?;
        m.topic = optional(m.topic.take());
        m.minutes = optional(m.minutes.take())
            .map(|d| id("meetings", &d))
            .transpose()?;
    }
    g.meetings.sort_by(|a, b| a.date.cmp(&b.date));
    Ok(g)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_every_accepted_form() {
        assert_eq!(normalise_date("2021-03-04").unwrap(), "2021-03-04");
        assert_eq!(normalise_date("2021.03.04.").unwrap(), "2021-03-04");
        assert_eq!(normalise_date("2021.03.04").unwrap(), "2021-03-04");
        assert_eq!(normalise_date("2021-03").unwrap(), "2021-03");
        assert_eq!(normalise_date("2021.03.").unwrap(), "2021-03");
        assert_eq!(normalise_date(" 2021 ").unwrap(), "2021");
        assert_eq!(normalise_date("2024-02-29").unwrap(), "2024-02-29");
        for bad in [
            "2021-02-30",
            "2023-02-29",
            "21-03-04",
            "2021/03/04",
            "2021-13",
            "2021-03-04.",
            "",
            "3021",
            "2021.",
        ] {
            assert!(normalise_date(bad).is_err(), "{bad}");
        }
        assert_eq!(
            normalise_date("2021/03/04").unwrap_err(),
            "\"2021/03/04\" is not a date (expected YYYY-MM-DD, YYYY.MM.DD., YYYY-MM or YYYY)"
        );
    }
}
