//! Relevance figures of the judged set ([`crate::generate::judged_queries`])
//! against any server of the federation: a hub or one node, through the
//! generated gRPC client, exactly as a user's search reaches it.
//!
//! Every query asks for the top [`DEPTH`] hits (no snippets, no facets);
//! hits are identified by document id alone (planted ids are unique in the
//! federation, so `member` is not needed to tell them apart). Per query:
//!
//! - **recall@10** = relevant documents in the top 10 / min(10, relevant
//!   documents judged), so that a query with more than ten relevant
//!   documents can still reach 1;
//! - **reciprocal rank** = 1 / the rank of the first relevant hit in the
//!   top 10, 0 if none (averaged: MRR@10);
//! - **nDCG@10** with linear gains (the grade, 1 or 2) and the standard
//!   log2 discount: DCG = Σ grade(i) / log2(i + 1) over ranks i = 1..10,
//!   divided by the DCG of the judged grades sorted best first;
//! - **leaks**: visibility traps (`local` documents) among the hits; any
//!   is a failure of access control, not of ranking.
//!
//! This module only asks and counts: it starts no server and prints
//! nothing (the table is returned as text).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use tonic::transport::Channel;
use tudashalo_proto::pb::federation_client::FederationClient;
use tudashalo_proto::pb::{self, MemberState};

use crate::generate::{JudgedQuery, QueryKind};

/// How many hits each query asks for and is judged on.
pub const DEPTH: usize = 10;

/// The figures of one query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryFigures {
    pub name: String,
    pub kind: QueryKind,
    pub text: String,
    pub recall: f64,
    pub reciprocal_rank: f64,
    pub ndcg: f64,
    /// Relevant documents judged, and how many of them were in the top 10.
    pub relevant: usize,
    pub found: usize,
    /// Relevant documents not in the top 10, best grade first.
    pub missed: Vec<String>,
    /// Hard negatives of the query among the hits (allowed, but a sign of
    /// over-stemming or of words matched far apart).
    pub negatives: Vec<String>,
    /// Visibility traps that appeared (must be empty).
    pub leaks: Vec<String>,
    /// The ids of the hits, best first.
    pub hits: Vec<String>,
}

/// Means over a group of queries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Means {
    pub queries: usize,
    pub recall: f64,
    pub mrr: f64,
    pub ndcg: f64,
    pub leaks: usize,
}

/// The figures of a whole run: every query, the means by kind and overall.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub summary: Means,
    /// Every [`QueryKind`] that has queries, in [`QueryKind::ALL`] order.
    pub by_kind: BTreeMap<QueryKind, Means>,
    /// In the judged set's order.
    pub queries: Vec<QueryFigures>,
}

/// Scores `hits` (ids, best first; only the first [`DEPTH`] count) against
/// the judgments of `query`.
pub fn figures(query: &JudgedQuery, hits: &[String]) -> QueryFigures {
    let hits = &hits[..hits.len().min(DEPTH)];
    let grade = |id: &str| f64::from(query.relevant.get(id).copied().unwrap_or(0));
    let discount = |rank: usize| 1.0 / ((rank + 1) as f64).log2();
    let found = hits.iter().filter(|id| grade(id) > 0.0).count();
    let first = hits.iter().position(|id| grade(id) > 0.0);
    let dcg: f64 = (1..).zip(hits).map(|(r, id)| grade(id) * discount(r)).sum();
    let mut ideal: Vec<f64> = query.relevant.values().map(|&g| f64::from(g)).collect();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = (1..)
        .zip(ideal.iter().take(DEPTH))
        .map(|(r, g)| g * discount(r))
        .sum();
    let wanted = query.relevant.len().min(DEPTH);
    let mut missed: Vec<(&String, &u8)> = query
        .relevant
        .iter()
        .filter(|(id, _)| !hits.contains(id))
        .collect();
    missed.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    QueryFigures {
        name: query.name.clone(),
        kind: query.kind,
        text: query.text.clone(),
        recall: if wanted == 0 {
            1.0
        } else {
            found as f64 / wanted as f64
        },
        reciprocal_rank: first.map_or(0.0, |i| 1.0 / (i + 1) as f64),
        ndcg: if idcg > 0.0 { dcg / idcg } else { 1.0 },
        relevant: query.relevant.len(),
        found,
        missed: missed.into_iter().map(|(id, _)| id.clone()).collect(),
        negatives: hits
            .iter()
            .filter(|id| query.negatives.contains(id))
            .cloned()
            .collect(),
        leaks: hits
            .iter()
            .filter(|id| query.traps.contains(id))
            .cloned()
            .collect(),
        hits: hits.to_vec(),
    }
}

fn means<'a>(figures: impl Iterator<Item = &'a QueryFigures>) -> Means {
    let (mut n, mut recall, mut mrr, mut ndcg, mut leaks) = (0usize, 0.0, 0.0, 0.0, 0usize);
    for f in figures {
        n += 1;
        recall += f.recall;
        mrr += f.reciprocal_rank;
        ndcg += f.ndcg;
        leaks += f.leaks.len();
    }
    let over = |sum: f64| if n == 0 { 0.0 } else { sum / n as f64 };
    Means {
        queries: n,
        recall: over(recall),
        mrr: over(mrr),
        ndcg: over(ndcg),
        leaks,
    }
}

impl Evaluation {
    /// Means overall and by kind of `queries`.
    pub fn of(queries: Vec<QueryFigures>) -> Evaluation {
        let by_kind = QueryKind::ALL
            .into_iter()
            .filter(|k| queries.iter().any(|q| q.kind == *k))
            .map(|k| (k, means(queries.iter().filter(|q| q.kind == k))))
            .collect();
        Evaluation {
            summary: means(queries.iter()),
            by_kind,
            queries,
        }
    }

    /// The queries whose ranking differs from `other`'s (by name, in this
    /// run's order): empty when both servers rank alike.
    pub fn differences(&self, other: &Evaluation) -> Vec<String> {
        self.queries
            .iter()
            .filter(|q| {
                other
                    .queries
                    .iter()
                    .find(|o| o.name == q.name)
                    .is_none_or(|o| o.hits != q.hits)
            })
            .map(|q| q.name.clone())
            .collect()
    }

    /// The per-query table, worst first (by nDCG, then reciprocal rank,
    /// then name), then [`Evaluation::means_table`].
    pub fn table(&self) -> String {
        let mut worst: Vec<&QueryFigures> = self.queries.iter().collect();
        worst.sort_by(|a, b| {
            (a.ndcg, a.reciprocal_rank)
                .partial_cmp(&(b.ndcg, b.reciprocal_rank))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.name.cmp(&b.name))
        });
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<18} {:<10} {:>6} {:>6} {:>6} {:>5} {:>3} {:>5}  query [missed]",
            "name", "kind", "nDCG", "RR", "recall", "found", "neg", "leaks"
        );
        for q in worst {
            let _ = writeln!(
                out,
                "{:<18} {:<10} {:>6.3} {:>6.3} {:>6.3} {:>5} {:>3} {:>5}  {}{}",
                q.name,
                q.kind.as_str(),
                q.ndcg,
                q.reciprocal_rank,
                q.recall,
                format!("{}/{}", q.found, q.relevant),
                q.negatives.len(),
                q.leaks.len(),
                q.text,
                if q.missed.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", q.missed.join(", "))
                }
            );
        }
        out.push('\n');
        out.push_str(&self.means_table());
        out
    }

    /// The means by kind of query and over every query.
    pub fn means_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<11} {:>7} {:>9} {:>7} {:>7} {:>5}",
            "kind", "queries", "recall@10", "MRR@10", "nDCG@10", "leaks"
        );
        let rows = self
            .by_kind
            .iter()
            .map(|(k, m)| (k.as_str(), m))
            .chain([("all", &self.summary)]);
        for (name, m) in rows {
            let _ = writeln!(
                out,
                "{:<11} {:>7} {:>9.3} {:>7.3} {:>7.3} {:>5}",
                name, m.queries, m.recall, m.mrr, m.ndcg, m.leaks
            );
        }
        out
    }
}

/// The search request of `query`: its text and filters, the top
/// [`DEPTH`], without snippets or facets.
pub fn request(query: &JudgedQuery) -> pb::SearchRequest {
    let f = &query.filters;
    pb::SearchRequest {
        query: query.text.clone(),
        filters: Some(pb::Filters {
            kinds: f.kinds.clone(),
            sectors: f.sectors.clone(),
            settlements: f.settlements.clone(),
            year_from: f.year_from,
            year_to: f.year_to,
            ids: Vec::new(),
            ..pb::Filters::default()
        }),
        limit: DEPTH as u32,
        no_snippets: true,
        no_facets: true,
        ..Default::default()
    }
}

/// Runs every query of `queries` through `client` and scores the answers.
/// A member that did not answer makes the run fail: its figures would
/// measure an outage, not the ranking.
pub async fn evaluate(
    client: &mut FederationClient<Channel>,
    queries: &[JudgedQuery],
) -> Result<Evaluation> {
    let mut out = Vec::with_capacity(queries.len());
    for query in queries {
        let answer = client
            .search(request(query))
            .await
            .with_context(|| format!("searching {:?}", query.text))?
            .into_inner();
        if let Some(m) = answer
            .members
            .iter()
            .find(|m| m.state != MemberState::Ok as i32)
        {
            bail!(
                "{:?}: member {} did not answer: {}",
                query.text,
                m.member,
                m.message
            );
        }
        let hits: Vec<String> = answer.hits.into_iter().map(|h| h.id).collect();
        out.push(figures(query, &hits));
    }
    Ok(Evaluation::of(out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::generate::JudgedFilters;

    fn query(relevant: &[(&str, u8)], traps: &[&str]) -> JudgedQuery {
        let negatives = vec!["n".to_string()];
        JudgedQuery {
            name: "q".into(),
            kind: QueryKind::Concept,
            text: "q".into(),
            filters: JudgedFilters::default(),
            relevant: relevant
                .iter()
                .map(|(id, g)| (id.to_string(), *g))
                .collect(),
            negatives,
            traps: traps.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn ids(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn perfect_ranking_scores_one() {
        let q = query(&[("a", 2), ("b", 1)], &[]);
        let f = figures(&q, &ids(&["a", "b", "x"]));
        assert_eq!((f.recall, f.reciprocal_rank, f.ndcg), (1.0, 1.0, 1.0));
    }

    #[test]
    fn graded_discounted_gains() {
        let q = query(&[("a", 2), ("b", 1)], &["t"]);
        // b at rank 1, t at rank 2, a at rank 3; c was never found.
        let f = figures(&q, &ids(&["b", "t", "a"]));
        let dcg = 1.0 + 2.0 / 4f64.log2();
        let idcg = 2.0 + 1.0 / 3f64.log2();
        assert!((f.ndcg - dcg / idcg).abs() < 1e-12);
        assert_eq!(f.reciprocal_rank, 1.0);
        assert_eq!(f.leaks, ids(&["t"]));
        let f = figures(&q, &ids(&["n", "y", "b"]));
        assert_eq!(f.negatives, ids(&["n"]));
        assert!((f.reciprocal_rank - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(f.recall, 0.5);
        assert_eq!(f.missed, ids(&["a"]));
    }

    #[test]
    fn only_the_top_ten_count_and_recall_is_capped_at_ten() {
        let many: Vec<(String, u8)> = (0..12).map(|i| (format!("r{i}"), 1)).collect();
        let refs: Vec<(&str, u8)> = many.iter().map(|(s, g)| (s.as_str(), *g)).collect();
        let q = query(&refs, &[]);
        let hits: Vec<String> = (0..12).map(|i| format!("r{i}")).collect();
        let f = figures(&q, &hits);
        assert_eq!((f.found, f.recall, f.ndcg), (10, 1.0, 1.0));
        let mut late = ids(&["x"; 10]);
        late.push("r0".into());
        assert_eq!(figures(&q, &late).reciprocal_rank, 0.0);
    }
}
