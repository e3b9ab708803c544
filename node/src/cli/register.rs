//! The register on the operator's command line: `get` of a register key
//! (`development:<id>`, `organisation:<id>`, `group:<id>`) shows every
//! record, local ones included, and an organisation's contact persons —
//! personal data that only this command shows —; `network` is the node's
//! own network view. Text and `--json` forms are `register_text`'s, as the
//! hub's command line prints them, with `contacts` added.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use tudashalo_core::register::Entity;
use tudashalo_core::register_text;
use tudashalo_core::search::Audience;
use tudashalo_node::Node;
use tudashalo_proto::pb;

/// Whether `id` names a register record rather than a document.
pub(crate) fn is_record(id: &str) -> bool {
    Entity::of_key(id).0 != Entity::Document
}

/// `get` of a register key, as the operator sees it.
pub(crate) fn get(node: &Node, key: &str, as_json: bool) -> anyhow::Result<ExitCode> {
    let response = node.get_response(key, Audience::Operator)?;
    let contacts = match (Entity::of_key(key), &response.organisation) {
        ((Entity::Organisation, id), Some(_)) => node.contacts_of(id)?,
        _ => Vec::new(),
    };
    if as_json {
        let mut value = match (
            &response.development,
            &response.organisation,
            &response.group,
        ) {
            (Some(d), _, _) => register_text::development_json(d),
            (_, Some(o), _) => register_text::organisation_json(o),
            (_, _, Some(g)) => register_text::group_json(g),
            _ => anyhow::bail!("{key}: not a register record"),
        };
        if response.organisation.is_some() {
            value["contacts"] = serde_json::to_value(&contacts)?;
        }
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(ExitCode::SUCCESS);
    }
    register_text::print_record(&response, false)?;
    let mut out = std::io::stdout().lock();
    for c in &contacts {
        let reach: Vec<&str> = [c.email.as_deref(), c.phone.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        writeln!(
            out,
            "  kapcsolattartó (helyi adat): {}{} {}",
            c.name,
            c.position
                .as_deref()
                .map(|p| format!(", {p}"))
                .unwrap_or_default(),
            reach.join(", ")
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `network`: the node's organisations with what each takes part in, and
/// who cooperated with whom, as the operator sees them (local ones too).
pub(crate) fn network(
    data: &Path,
    query: String,
    limit: u32,
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    let node = Node::open(data)?;
    let request = pb::NetworkRequest {
        query,
        limit,
        ..Default::default()
    };
    let response = node.network(&request, Audience::Operator)?;
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&register_text::network_json(&response))?
        );
    } else {
        register_text::print_network(&response);
    }
    Ok(ExitCode::SUCCESS)
}
