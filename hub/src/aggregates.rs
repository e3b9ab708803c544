//! Federated aggregates at a hub: fan the request out for mergeable
//! partials, combine them exactly, and publish with the same disclosure rules
//! the nodes apply (or, asked by a higher hub, pass the combined partials on).
//!
//! Invariants:
//! - Partials carry what a combination needs (sums, weight sums, counts,
//!   minimum, maximum, the two largest contributions); they travel only
//!   between hubs and members and are never published or written anywhere.
//! - A cell that should hold a contribution from a member that did not
//!   answer is marked incomplete and published without a value, never as if
//!   it were whole.
//! - The answer streams out in chunks; the last chunk carries the statuses.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tonic::Status;
use tudashalo_node::aggregate::{self, Cell, CellKey, GroupKey, Partial, TOTAL};
use tudashalo_node::disclosure::{self, Rules};
use tudashalo_node::grpc::{aggregate_query_from_pb, partial_to_pb, published_to_pb, send_chunks};
use tudashalo_node::model::Aggregation;
use tudashalo_proto::pb::{self, MemberState};

use crate::federation::Hub;
use crate::member::{Health, Member};
use crate::relay::Relay;

/// Who contributed to a combined cell, and who should have but did not.
#[derive(Debug, Default, Clone)]
struct Provenance {
    contributors: BTreeSet<String>,
    missing: BTreeSet<String>,
    incomplete: bool,
}

/// A protobuf partial cell back into the domain, for combining.
fn cell_from_pb(cell: &pb::Cell) -> Result<Cell, String> {
    let partial = cell.partial.as_ref().ok_or_else(|| {
        format!(
            "cell {}/{} came without its partial",
            cell.indicator, cell.period
        )
    })?;
    let aggregation: Aggregation = cell.aggregation.parse()?;
    Ok(Cell {
        key: CellKey {
            indicator: cell.indicator.clone(),
            period: cell.period.clone(),
            region: cell.region.clone(),
            kisterseg: cell.kisterseg.clone(),
            settlement: cell.settlement.clone(),
        },
        unit: cell.unit.clone(),
        aggregation,
        partial: Partial {
            sum: partial.sum,
            weight_sum: partial.weight_sum,
            n: partial.n,
            min: partial.min,
            max: partial.max,
            top: partial.top.clone(),
            missing_weight: partial.missing_weight,
        },
    })
}

impl Hub {
    /// Runs a federated aggregate and streams the answer into `tx`.
    pub async fn aggregate(
        self: Arc<Self>,
        request: pb::AggregateRequest,
        deadline: Instant,
        relay: Relay,
        tx: mpsc::Sender<Result<pb::AggregateChunk, Status>>,
    ) {
        let started = Instant::now();
        let query = match aggregate_query_from_pb(&request) {
            Ok(q) => q,
            Err(status) => {
                let _ = tx.send(Err(status)).await;
                return;
            }
        };
        let targets = match self.select_members(&request.members) {
            Ok(t) => t,
            Err(status) => {
                let _ = tx.send(Err(status)).await;
                return;
            }
        };
        let member_request = pb::AggregateRequest {
            partials: true,
            totals: false,
            ..request.clone()
        };

        // Fan out; each member's whole (already aggregated) answer is read
        // under the deadline.
        let mut set = JoinSet::new();
        let mut statuses: Vec<pb::MemberStatus> = Vec::new();
        let mut failed: Vec<String> = Vec::new();
        for (member, narrowed) in targets {
            if let Health::Down { since, error } = member.health() {
                failed.push(member.name.clone());
                statuses.push(status(
                    &member.name,
                    MemberState::Unavailable,
                    Duration::ZERO,
                    format!("down for {} s: {error}", since.elapsed().as_secs()),
                    0,
                ));
                continue;
            }
            let mut req = member_request.clone();
            req.members = narrowed;
            set.spawn(fetch(member, req, deadline, relay.clone()));
        }
        let mut combined: BTreeMap<CellKey, (Cell, Provenance)> = BTreeMap::new();
        let mut first_error: Option<Status> = None;
        while let Some(joined) = set.join_next().await {
            let Ok((member, latency, result)) = joined else {
                continue;
            };
            match result {
                Ok((cells, nested)) => {
                    statuses.push(status(
                        &member.name,
                        MemberState::Ok,
                        latency,
                        String::new(),
                        cells.len() as u64,
                    ));
                    for mut s in nested {
                        if s.state != MemberState::Ok as i32 {
                            failed.push(format!("{}/{}", member.name, s.member));
                        }
                        s.member = format!("{}/{}", member.name, s.member);
                        statuses.push(s);
                    }
                    for pb_cell in cells {
                        let mut cell = match cell_from_pb(&pb_cell) {
                            Ok(c) => c,
                            Err(e) => {
                                tracing::warn!(member = %member.name, error = %e, "member sent a malformed cell");
                                continue;
                            }
                        };
                        if query.groups(GroupKey::Region) && cell.key.region.is_empty() {
                            cell.key.region = self.name.clone();
                        }
                        let contributors: Vec<String> = if pb_cell.contributors.is_empty() {
                            vec![member.name.clone()]
                        } else {
                            pb_cell
                                .contributors
                                .iter()
                                .map(|c| format!("{}/{c}", member.name))
                                .collect()
                        };
                        let entry = combined.entry(cell.key.clone()).or_insert_with(|| {
                            (
                                Cell {
                                    partial: Partial::empty(),
                                    ..cell.clone()
                                },
                                Provenance::default(),
                            )
                        });
                        entry.0.partial.merge(&cell.partial);
                        entry.1.contributors.extend(contributors);
                        entry.1.missing.extend(
                            pb_cell
                                .missing
                                .iter()
                                .map(|m| format!("{}/{m}", member.name)),
                        );
                        entry.1.incomplete |= pb_cell.incomplete;
                    }
                }
                Err((state, message, code)) => {
                    if first_error.is_none() && code == tonic::Code::InvalidArgument {
                        first_error = Some(Status::invalid_argument(format!(
                            "member {}: {message}",
                            member.name
                        )));
                    }
                    failed.push(member.name.clone());
                    statuses.push(status(&member.name, state, latency, message, 0));
                }
            }
        }
        // A request every member rejects as invalid is the caller's error.
        if let Some(error) = first_error
            && statuses.iter().all(|s| s.state != MemberState::Ok as i32)
        {
            let _ = tx.send(Err(error)).await;
            return;
        }

        // Cells that span members lack the contribution of a failed member;
        // cells of one kistérség (or one settlement) do not.
        let spans_members = |key: &CellKey| key.kisterseg.is_empty() || key.kisterseg == TOTAL;
        if !failed.is_empty() {
            for (key, (_, provenance)) in combined.iter_mut() {
                if spans_members(key) {
                    provenance.incomplete = true;
                    provenance.missing.extend(failed.iter().cloned());
                }
            }
        }

        statuses.sort_by(|a, b| a.member.cmp(&b.member));
        let out: Vec<pb::Cell> = if request.partials {
            combined
                .into_values()
                .map(|(cell, p)| {
                    partial_to_pb(
                        &cell,
                        p.contributors.into_iter().collect(),
                        p.missing.into_iter().collect(),
                        p.incomplete,
                    )
                })
                .collect()
        } else {
            let (mut cells, mut provenance): (Vec<Cell>, BTreeMap<CellKey, Provenance>) =
                (Vec::with_capacity(combined.len()), BTreeMap::new());
            for (key, (cell, p)) in combined {
                cells.push(cell);
                provenance.insert(key, p);
            }
            aggregate::add_totals(&mut cells, &query);
            // A totals cell inherits the provenance of its components.
            for cell in &cells {
                if provenance.contains_key(&cell.key) {
                    continue;
                }
                let mut p = Provenance::default();
                for (key, q) in &provenance {
                    if is_component(&cell.key, key) {
                        p.contributors.extend(q.contributors.iter().cloned());
                        p.missing.extend(q.missing.iter().cloned());
                        p.incomplete |= q.incomplete;
                    }
                }
                if !failed.is_empty() {
                    p.incomplete = true;
                    p.missing.extend(failed.iter().cloned());
                }
                provenance.insert(cell.key.clone(), p);
            }
            let published = disclosure::publish(cells, &Rules::default(), &|key: &CellKey| {
                provenance.get(key).is_some_and(|p| p.incomplete)
            });
            published
                .into_iter()
                .map(|p| {
                    let prov = provenance.get(&p.key).cloned().unwrap_or_default();
                    published_to_pb(
                        p,
                        prov.contributors.into_iter().collect(),
                        prov.missing.into_iter().collect(),
                    )
                })
                .collect()
        };
        let confidential = out.iter().filter(|c| c.status != "F").count();
        tracing::info!(
            hub = %self.name,
            members = statuses.len(),
            answered = statuses.iter().filter(|s| s.state == MemberState::Ok as i32).count(),
            cells = out.len(),
            confidential,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "federated aggregate"
        );
        send_chunks(&tx, out, statuses).await;
    }
}

/// Whether `component` is one of the cells that `total` adds up.
fn is_component(total: &CellKey, component: &CellKey) -> bool {
    let same = |t: &str, c: &str| t == c || (t == TOTAL && !c.is_empty() && c != TOTAL);
    total != component
        && total.indicator == component.indicator
        && same(&total.period, &component.period)
        && same(&total.region, &component.region)
        && same(&total.kisterseg, &component.kisterseg)
        && same(&total.settlement, &component.settlement)
}

type Fetched = (Vec<pb::Cell>, Vec<pb::MemberStatus>);

/// One member's aggregate, read whole under the deadline.
async fn fetch(
    member: Arc<Member>,
    request: pb::AggregateRequest,
    deadline: Instant,
    relay: Relay,
) -> (
    Arc<Member>,
    Duration,
    Result<Fetched, (MemberState, String, tonic::Code)>,
) {
    let started = Instant::now();
    let budget = deadline.saturating_duration_since(started);
    let mut client = member.client();
    let call = async {
        let mut req = tonic::Request::new(request);
        req.set_timeout(budget);
        relay.apply(&mut req);
        let mut stream = client.aggregate(req).await?.into_inner();
        let mut cells = Vec::new();
        let mut statuses = Vec::new();
        while let Some(chunk) = stream.message().await? {
            cells.extend(chunk.cells);
            statuses.extend(chunk.members);
        }
        Ok::<_, Status>((cells, statuses))
    };
    let result = match tokio::time::timeout(budget, call).await {
        Ok(Ok(fetched)) => {
            member.report_ok();
            Ok(fetched)
        }
        Ok(Err(status)) => {
            let (state, message) = crate::federation::classify(&member, &status);
            Err((state, message, status.code()))
        }
        Err(_) => Err((
            MemberState::TimedOut,
            format!("no answer within {} ms", budget.as_millis()),
            tonic::Code::DeadlineExceeded,
        )),
    };
    (member.clone(), started.elapsed(), result)
}

fn status(
    member: &str,
    state: MemberState,
    latency: Duration,
    message: String,
    total: u64,
) -> pb::MemberStatus {
    pb::MemberStatus {
        member: member.to_string(),
        state: state as i32,
        latency_ms: latency.as_millis().min(u128::from(u32::MAX)) as u32,
        message,
        total,
    }
}
