//! `aggregate`: the operator's own aggregate of the node's indicators,
//! every value and nothing suppressed, as an aligned table or `--json`.

use std::io::Write;
use std::process::ExitCode;

use serde_json::json;
use tudashalo_node::Node;

use crate::AggregateArgs;

/// The operator's own aggregate: every value, nothing suppressed.
pub(crate) fn aggregate(args: AggregateArgs) -> anyhow::Result<ExitCode> {
    use tudashalo_core::aggregate::{AggregateQuery, GroupKey, TOTAL, add_totals};
    let node = Node::open(&args.data)?;
    let query = AggregateQuery {
        indicators: args.indicators,
        group_by: args.by,
        period_from: args.from,
        period_to: args.to,
        settlements: args.settlements,
        totals: args.totals,
    };
    let mut cells = node.aggregate(&query)?;
    add_totals(&mut cells, &query);
    let published = tudashalo_core::disclosure::operator_view(cells);
    // The keys shown: those grouped, except the region, which a node lacks.
    let keys: Vec<GroupKey> = [GroupKey::Period, GroupKey::Kisterseg, GroupKey::Settlement]
        .into_iter()
        .filter(|&k| query.groups(k))
        .collect();
    if args.json {
        let cells: Vec<serde_json::Value> = published
            .iter()
            .map(|p| {
                let mut object = serde_json::Map::new();
                object.insert("indicator".into(), json!(p.key.indicator));
                for &k in &keys {
                    object.insert(k.as_str().into(), json!(p.key.get(k)));
                }
                object.insert("value".into(), json!(p.value));
                object.insert("unit".into(), json!(p.unit));
                object.insert("n".into(), json!(p.n));
                object.insert("aggregation".into(), json!(p.aggregation));
                object.insert("flags".into(), json!(p.flags));
                serde_json::Value::Object(object)
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "cells": cells }))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if published.is_empty() {
        println!("no observations match");
        return Ok(ExitCode::SUCCESS);
    }
    let mut header: Vec<String> = vec!["indicator".into()];
    header.extend(keys.iter().map(|k| k.as_str().to_string()));
    header.extend(["value", "n", "unit", "flags"].map(String::from));
    let rows: Vec<Vec<String>> = published
        .iter()
        .map(|p| {
            let mut row = vec![p.key.indicator.clone()];
            row.extend(keys.iter().map(|&k| match p.key.get(k) {
                TOTAL => "(total)".to_string(),
                v => v.to_string(),
            }));
            row.push(p.value.map_or_else(|| "-".to_string(), plain_number));
            row.push(p.n.to_string());
            row.push(p.unit.clone());
            row.push(p.flags.join(","));
            row
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let value_column = header.len() - 4;
    let mut out = std::io::stdout().lock();
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, &w))| {
                let pad = " ".repeat(w - cell.chars().count());
                // Numbers right-aligned, text left-aligned.
                if i == value_column || i == value_column + 1 {
                    format!("{pad}{cell}")
                } else {
                    format!("{cell}{pad}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    Ok(ExitCode::SUCCESS)
}

/// A plain decimal: integers without a fraction, others to four places.
fn plain_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}
