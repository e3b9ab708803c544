//! Federated aggregates at a hub: fan the request out for mergeable
//! partials, combine them exactly, and publish with the same disclosure rules
//! the nodes apply (or, asked by one of its parents — `[[parent]]` in
//! `hub.toml` — pass the combined partials on; anyone else asking for
//! partials is refused in `grpc.rs`).
//!
//! Invariants:
//! - Partials carry what a combination needs (sums, weight sums, counts,
//!   minimum, maximum, the two largest contributions); they travel only
//!   between hubs and members and are never published or written anywhere.
//! - A cell that should hold a contribution from a member that did not
//!   answer is marked incomplete and published without a value, never as if
//!   it were whole.
//! - Every member's answer is read whole, stream and all, under the request's
//!   deadline or the member's own (`crate::fanout`); one that is late,
//!   oversized or not finite counts as failed.
//! - The answer streams out in chunks; the last chunk carries the statuses.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tonic::Status;
use tonic::transport::Channel;
use tudashalo_core::aggregate::{self, AggregateQuery, Cell, CellKey, GroupKey, Partial, TOTAL};
use tudashalo_core::disclosure::{self, Rules};
use tudashalo_core::pb::{MemberCell, cell_from_pb, partial_cell, published_cell};
use tudashalo_proto::chunks::send_chunks;
use tudashalo_proto::pb::federation_client::FederationClient;
use tudashalo_proto::pb::{self, MemberState};

use crate::error::Error;
use crate::fanout::fan_out;
use crate::federation::Hub;
use crate::limits::HubLimits;
use crate::relay::Relay;

/// Who contributed to a combined cell, and who should have but did not.
/// The names are shared between cells, and are sets: sorted and without
/// duplicates once [`Provenance::into_names`] hands them out.
#[derive(Debug, Default, Clone)]
struct Provenance {
    contributors: Vec<Arc<str>>,
    missing: Vec<Arc<str>>,
    incomplete: bool,
}

impl Provenance {
    fn extend(&mut self, other: &Provenance) {
        self.contributors.extend(other.contributors.iter().cloned());
        self.missing.extend(other.missing.iter().cloned());
        self.incomplete |= other.incomplete;
    }

    /// What failed members leave out.
    fn lacks(&mut self, failed: &[Arc<str>]) {
        self.incomplete = true;
        self.missing.extend(failed.iter().cloned());
    }

    /// Contributors and missing members, each sorted and distinct.
    fn into_names(self) -> (Vec<String>, Vec<String>) {
        let names = |mut v: Vec<Arc<str>>| {
            v.sort_unstable();
            v.dedup();
            v.iter().map(|n| n.to_string()).collect()
        };
        (names(self.contributors), names(self.missing))
    }
}

/// The distinct values of one key field, numbered as they come.
#[derive(Default)]
struct Field {
    ids: HashMap<String, u32>,
    /// The values by id.
    values: Vec<String>,
    /// The last value's id: a member's cells come sorted, so most fields
    /// repeat the previous cell's value.
    last: Option<u32>,
}

impl Field {
    fn id(&mut self, value: &str) -> u32 {
        if let Some(last) = self.last
            && self.values.get(last as usize).is_some_and(|v| v == value)
        {
            return last;
        }
        let id = match self.ids.get(value) {
            Some(&id) => id,
            None => {
                let id = self.values.len() as u32;
                self.ids.insert(value.to_string(), id);
                self.values.push(value.to_string());
                id
            }
        };
        self.last = Some(id);
        id
    }

    /// Each id's rank in the order of the values.
    fn ranks(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.values.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.values[a as usize].cmp(&self.values[b as usize]));
        let mut ranks = vec![0; order.len()];
        for (rank, id) in order.into_iter().enumerate() {
            ranks[id as usize] = rank as u32;
        }
        ranks
    }
}

/// Combined cells: each key's partials merged in the order they came, with
/// their provenance; a cell's unit and aggregation, should members disagree
/// on them, are the least of theirs, whatever the order. Keys are compared as ids of their fields' values
/// (comparing the strings of thousands of keys dominated the hub's time).
#[derive(Default)]
struct Combined {
    /// indicator, period, region, kisterseg, settlement: the order of
    /// [`CellKey`]'s fields, which is its sort order.
    fields: [Field; 5],
    index: HashMap<[u32; 5], usize>,
    entries: Vec<([u32; 5], Cell, Provenance)>,
}

impl Combined {
    fn add(&mut self, mut cell: Cell, provenance: Provenance) {
        let k = &cell.key;
        let [indicator, period, region, kisterseg, settlement] = &mut self.fields;
        let ids = [
            indicator.id(&k.indicator),
            period.id(&k.period),
            region.id(&k.region),
            kisterseg.id(&k.kisterseg),
            settlement.id(&k.settlement),
        ];
        match self.index.get(&ids) {
            Some(&i) => {
                let entry = &mut self.entries[i];
                entry.1.partial.merge(&cell.partial);
                entry.2.extend(&provenance);
                // Members whose catalogues disagree on an indicator's unit
                // or aggregation: the order of their answers (the
                // network's) must not decide which the combined cell
                // carries, so the lesser of the two is kept, in any order.
                let kept = &mut entry.1;
                if (kept.aggregation != cell.aggregation || kept.unit != cell.unit)
                    && (cell.aggregation.to_string(), &cell.unit)
                        < (kept.aggregation.to_string(), &kept.unit)
                {
                    kept.aggregation = cell.aggregation;
                    kept.unit = cell.unit;
                }
            }
            None => {
                let partial = std::mem::replace(&mut cell.partial, Partial::empty());
                cell.partial.merge(&partial);
                self.index.insert(ids, self.entries.len());
                self.entries.push((ids, cell, provenance));
            }
        }
    }

    /// The cells sorted by key, and their provenance.
    fn into_sorted(self) -> (Vec<Cell>, Vec<Provenance>) {
        let ranks: Vec<Vec<u32>> = self.fields.iter().map(Field::ranks).collect();
        let rank = |ids: &[u32; 5]| -> [u32; 5] {
            std::array::from_fn(|f| ranks[f].get(ids[f] as usize).copied().unwrap_or(0))
        };
        let mut entries: Vec<([u32; 5], Cell, Provenance)> = self
            .entries
            .into_iter()
            .map(|(ids, cell, p)| (rank(&ids), cell, p))
            .collect();
        // Keys are distinct.
        entries.sort_unstable_by_key(|e| e.0);
        entries.into_iter().map(|(_, cell, p)| (cell, p)).unzip()
    }
}

/// Adds the totals the query asks for, each with the provenance of the
/// cells it totals; `provenance` stays aligned with `cells`.
fn add_totals(
    cells: &mut Vec<Cell>,
    provenance: &mut Vec<Provenance>,
    query: &aggregate::AggregateQuery,
    failed: &[Arc<str>],
) {
    let Some(finest) = query.finest_geography().filter(|_| query.totals) else {
        return;
    };
    let has_total = |k: &CellKey| {
        [&k.period, &k.region, &k.kisterseg, &k.settlement]
            .into_iter()
            .any(|v| v == TOTAL)
    };
    if cells.iter().any(|c| has_total(&c.key)) {
        return add_totals_by_scan(cells, provenance, query, failed);
    }
    // Without `_T` in the members' keys, a total's components are exactly
    // the cells with a value in the totalled key and the total's key
    // otherwise; `add_totals` keeps the other cells in their (sorted)
    // order.
    let mut groups: HashMap<CellKey, Provenance> = HashMap::new();
    for (cell, p) in cells.iter().zip(provenance.iter()) {
        if cell.key.get(finest).is_empty() {
            continue;
        }
        let mut key = cell.key.clone();
        key.set(finest, TOTAL);
        groups.entry(key).or_default().extend(p);
    }
    aggregate::add_totals(cells, query);
    let mut components = std::mem::take(provenance).into_iter();
    for cell in cells.iter() {
        let p = if cell.key.get(finest) == TOTAL {
            let mut p = groups.remove(&cell.key).unwrap_or_default();
            if !failed.is_empty() {
                p.lacks(failed);
            }
            p
        } else {
            components.next().unwrap_or_default()
        };
        provenance.push(p);
    }
}

/// [`add_totals`] for cells of any keys: a total's components are found by
/// comparing it with every cell.
fn add_totals_by_scan(
    cells: &mut Vec<Cell>,
    provenance: &mut Vec<Provenance>,
    query: &aggregate::AggregateQuery,
    failed: &[Arc<str>],
) {
    let mut by_key: BTreeMap<CellKey, Provenance> = cells
        .iter()
        .map(|c| c.key.clone())
        .zip(std::mem::take(provenance))
        .collect();
    aggregate::add_totals(cells, query);
    for cell in cells.iter() {
        if by_key.contains_key(&cell.key) {
            continue;
        }
        let mut p = Provenance::default();
        for (key, q) in &by_key {
            if is_component(&cell.key, key) {
                p.extend(q);
            }
        }
        if !failed.is_empty() {
            p.lacks(failed);
        }
        by_key.insert(cell.key.clone(), p);
    }
    *provenance = cells
        .iter()
        .map(|c| by_key.get(&c.key).cloned().unwrap_or_default())
        .collect();
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
        let query = match AggregateQuery::try_from(&request) {
            Ok(q) => q,
            Err(e) => {
                let _ = tx.send(Err(Error::from(e).into())).await;
                return;
            }
        };
        let targets = match self.select_members(&request.members) {
            Ok(t) => t,
            Err(error) => {
                let _ = tx.send(Err(error.into())).await;
                return;
            }
        };
        // A published answer is made of whole units (see the node's
        // `disclosure`): members are asked for every kistérség of every
        // period, over all their settlements, whatever the question's cut;
        // the cut only chooses the cells returned. A higher hub asking for
        // partials has made its own request whole already.
        let whole = aggregate::whole_units(&query);
        let member_request = if request.partials {
            pb::AggregateRequest {
                partials: true,
                totals: false,
                ..request.clone()
            }
        } else {
            let mut group_by = whole.group_by.clone();
            if !group_by.contains(&GroupKey::Kisterseg) {
                group_by.push(GroupKey::Kisterseg);
            }
            pb::AggregateRequest {
                partials: true,
                totals: false,
                settlements: Vec::new(),
                group_by: group_by.iter().map(|g| g.as_str().to_string()).collect(),
                ..request.clone()
            }
        };

        // Fan out; each member's whole (already aggregated) answer is read
        // under the deadline (or the member's own), and combined as it comes.
        let limits = self.limits().clone();
        let mut calls = fan_out(
            targets,
            deadline,
            &relay,
            self.counted_stream("Aggregate"),
            move |_, client, narrowed, out| {
                let mut request = member_request.clone();
                request.members = narrowed;
                fetch(client, out.request(request), limits.clone())
            },
        );
        let mut statuses: Vec<pb::MemberStatus> = Vec::new();
        let mut failed: Vec<String> = Vec::new();
        let mut combined = Combined::default();
        let mut first_error: Option<Error> = None;
        while let Some(outcome) = calls.next().await {
            let member = outcome.member.clone();
            let total = outcome.result.as_ref().map_or(0, |(cells, _)| cells.len());
            statuses.push(outcome.status(total as u64));
            match outcome.result {
                Ok((cells, nested)) => {
                    for mut s in nested {
                        if s.state != MemberState::Ok as i32 {
                            failed.push(format!("{}/{}", member.name, s.member));
                        }
                        s.member = format!("{}/{}", member.name, s.member);
                        statuses.push(s);
                    }
                    let name: Arc<str> = Arc::from(member.name.as_str());
                    // The member's members, as `member/name`, made once.
                    let mut nested_names: HashMap<String, Arc<str>> = HashMap::new();
                    let mut nested_name = |n: String| {
                        nested_names
                            .entry(n)
                            .or_insert_with_key(|n| Arc::from(format!("{}/{n}", member.name)))
                            .clone()
                    };
                    for pb_cell in cells {
                        let MemberCell {
                            mut cell,
                            contributors,
                            missing,
                            incomplete,
                        } = match cell_from_pb(pb_cell) {
                            Ok(c) => c,
                            Err(e) => {
                                tracing::warn!(member = %member.name, error = %e, "member sent a malformed cell");
                                continue;
                            }
                        };
                        if query.groups(GroupKey::Region) && cell.key.region.is_empty() {
                            cell.key.region = self.name.clone();
                        }
                        let provenance = Provenance {
                            contributors: if contributors.is_empty() {
                                vec![name.clone()]
                            } else {
                                contributors.into_iter().map(&mut nested_name).collect()
                            },
                            missing: missing.into_iter().map(&mut nested_name).collect(),
                            incomplete,
                        };
                        combined.add(cell, provenance);
                    }
                }
                Err(error) => {
                    if first_error.is_none() && error.code() == tonic::Code::InvalidArgument {
                        first_error = Some(Error::RejectedByMembers {
                            member: member.name.clone(),
                            message: error.member_state().1,
                        });
                    }
                    failed.push(member.name.clone());
                }
            }
        }
        // A request every member rejects as invalid is the caller's error.
        if let Some(error) = first_error
            && statuses.iter().all(|s| s.state != MemberState::Ok as i32)
        {
            let _ = tx.send(Err(error.into())).await;
            return;
        }

        let (mut cells, mut provenance) = combined.into_sorted();
        // The kistérségek, which decide every unit's status, before the
        // cells are coarsened to the question's grouping.
        let leaves = if request.partials {
            Vec::new()
        } else {
            let leaves = leaves(&cells, &provenance);
            (cells, provenance) = coarsen(cells, provenance, &whole);
            leaves
        };
        // Cells that span members lack the contribution of a failed member;
        // cells of one kistérség (or one settlement) do not.
        let failed: Vec<Arc<str>> = failed.iter().map(|f| Arc::from(f.as_str())).collect();
        let spans_members = |key: &CellKey| key.kisterseg.is_empty() || key.kisterseg == TOTAL;
        if !failed.is_empty() {
            for (cell, p) in cells.iter().zip(provenance.iter_mut()) {
                if spans_members(&cell.key) {
                    p.lacks(&failed);
                }
            }
        }

        statuses.sort_by(|a, b| a.member.cmp(&b.member));
        let out: Vec<pb::Cell> = if request.partials {
            cells
                .into_iter()
                .zip(provenance)
                .map(|(cell, p)| {
                    let incomplete = p.incomplete;
                    let (contributors, missing) = p.into_names();
                    partial_cell(cell, contributors, missing, incomplete)
                })
                .collect()
        } else {
            add_totals(&mut cells, &mut provenance, &whole, &failed);
            retain_settlements(&mut cells, &mut provenance, &query.settlements);
            let incomplete: Vec<bool> = provenance.iter().map(|p| p.incomplete).collect();
            let names: Vec<(Vec<String>, Vec<String>)> =
                provenance.into_iter().map(Provenance::into_names).collect();
            let contributors: Vec<Vec<String>> = names.iter().map(|n| n.0.clone()).collect();
            if let Err(error) = within_members(&cells, &contributors, &request.members, &self.name)
            {
                let _ = tx.send(Err(error.into())).await;
                return;
            }
            let published = disclosure::publish_units(
                cells,
                &contributors,
                &incomplete,
                &leaves,
                &Rules::default(),
            );
            published
                .into_iter()
                .zip(names)
                .map(|(p, (contributors, missing))| published_cell(p, contributors, missing))
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
        self.metrics().count_answer("Aggregate", &statuses);
        send_chunks(&tx, out, statuses).await;
    }
}

/// The kistérség cells behind `cells` (at a grouping that includes the
/// kistérség), each with its member path: what decides the status of every
/// unit of a published answer.
fn leaves(cells: &[Cell], provenance: &[Provenance]) -> Vec<(String, Cell)> {
    let mut by_path: BTreeMap<(String, String, String), Cell> = BTreeMap::new();
    for (cell, p) in cells.iter().zip(provenance) {
        let mut paths: Vec<&str> = p.contributors.iter().map(|c| &**c).collect();
        paths.sort_unstable();
        paths.dedup();
        let Some(path) = disclosure::common_unit(paths.iter().copied()) else {
            continue;
        };
        let key = (
            cell.key.indicator.clone(),
            cell.key.period.clone(),
            path.to_string(),
        );
        match by_path.entry(key) {
            std::collections::btree_map::Entry::Occupied(mut e) => {
                e.get_mut().partial.merge(&cell.partial);
            }
            std::collections::btree_map::Entry::Vacant(e) => {
                let mut leaf = cell.clone();
                leaf.key.settlement.clear();
                e.insert(leaf);
            }
        }
    }
    by_path
        .into_iter()
        .map(|((_, _, path), cell)| (path, cell))
        .collect()
}

/// The cells at the question's grouping: the kistérség and settlement keys
/// the members were asked for but the question does not group by are
/// merged away.
fn coarsen(
    cells: Vec<Cell>,
    provenance: Vec<Provenance>,
    query: &aggregate::AggregateQuery,
) -> (Vec<Cell>, Vec<Provenance>) {
    let drop_kisterseg = !query.groups(GroupKey::Kisterseg);
    let drop_settlement = !query.groups(GroupKey::Settlement);
    if !drop_kisterseg && !drop_settlement {
        return (cells, provenance);
    }
    let mut combined = Combined::default();
    for (mut cell, p) in cells.into_iter().zip(provenance) {
        if drop_kisterseg {
            cell.key.kisterseg.clear();
        }
        if drop_settlement {
            cell.key.settlement.clear();
        }
        combined.add(cell, p);
    }
    combined.into_sorted()
}

/// Keeps the settlement cells of `settlements` and every coarser cell, with
/// their provenance.
fn retain_settlements(
    cells: &mut Vec<Cell>,
    provenance: &mut Vec<Provenance>,
    settlements: &[String],
) {
    let Some(chosen) = aggregate::chosen_settlements(settlements) else {
        return;
    };
    let (kept_cells, kept_provenance) = std::mem::take(cells)
        .into_iter()
        .zip(std::mem::take(provenance))
        .filter(|(cell, _)| chosen(&cell.key))
        .unzip();
    *cells = kept_cells;
    *provenance = kept_provenance;
}

/// With a `members` filter, a published answer may hold only units inside
/// the chosen members: a cell adding up several chosen members (or parts of
/// one) would not be a whole unit, and the difference of two such answers
/// would reveal a member's confidential cell. Refused, naming the rule.
fn within_members(
    cells: &[Cell],
    contributors: &[Vec<String>],
    members: &[String],
    hub: &str,
) -> Result<(), Error> {
    if members.is_empty() {
        return Ok(());
    }
    for (cell, paths) in cells.iter().zip(contributors) {
        let Some(unit) = disclosure::common_unit(paths.iter().map(String::as_str)) else {
            continue;
        };
        let inside = members
            .iter()
            .any(|m| unit == m || unit.starts_with(&format!("{m}/")));
        if !inside {
            let whole = if unit.is_empty() {
                format!("the whole of hub {hub}")
            } else {
                format!("unit {unit:?}")
            };
            return Err(Error::NotWholeUnit {
                cell: format!("{}/{}", cell.key.indicator, cell.key.period),
                contributors: paths.join(", "),
                whole,
                members: members.to_vec(),
            });
        }
    }
    Ok(())
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

/// One member's aggregate, read whole: its cells and its members'
/// statuses. Bounded as it streams and checked before it is combined
/// ([`crate::limits`]): an oversized or non-finite answer is an error. The
/// fan-out runs it under the member's deadline.
async fn fetch(
    mut client: FederationClient<Channel>,
    request: tonic::Request<pb::AggregateRequest>,
    limits: HubLimits,
) -> Result<Fetched, Error> {
    let mut stream = client.aggregate(request).await?.into_inner();
    let mut cells = Vec::new();
    let mut statuses = Vec::new();
    while let Some(chunk) = stream.message().await? {
        let nested = statuses.len().saturating_add(chunk.members.len());
        crate::limits::check_member_chunk(cells.len(), chunk.cells.len(), nested, &limits)?;
        crate::limits::check_member_cells(&chunk.cells)?;
        cells.extend(chunk.cells);
        statuses.extend(chunk.members);
    }
    Ok((cells, statuses))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tudashalo_core::model::Aggregation;

    fn cell(period: &str, region: &str, kisterseg: &str, settlement: &str, v: f64) -> Cell {
        let mut partial = Partial::empty();
        partial.add_settlement(v, None);
        partial.add_settlement(v / 2.0, None);
        Cell {
            key: CellKey {
                indicator: "nepesseg".into(),
                period: period.into(),
                region: region.into(),
                kisterseg: kisterseg.into(),
                settlement: settlement.into(),
            },
            unit: "fő".into(),
            aggregation: Aggregation::Sum,
            partial,
        }
    }

    fn provenance(contributors: &[&str], missing: &[&str], incomplete: bool) -> Provenance {
        Provenance {
            contributors: contributors.iter().map(|&c| Arc::from(c)).collect(),
            missing: missing.iter().map(|&m| Arc::from(m)).collect(),
            incomplete,
        }
    }

    fn names(provenance: Vec<Provenance>) -> Vec<(Vec<String>, Vec<String>, bool)> {
        provenance
            .into_iter()
            .map(|p| {
                let incomplete = p.incomplete;
                let (c, m) = p.into_names();
                (c, m, incomplete)
            })
            .collect()
    }

    #[test]
    fn combined_cells_merge_in_order_and_come_out_sorted() {
        let mut combined = Combined::default();
        combined.add(
            cell("2021", "", "b", "", 3.0),
            provenance(&["b"], &[], false),
        );
        combined.add(
            cell("2020", "", "a", "", 1.0),
            provenance(&["a"], &[], false),
        );
        combined.add(
            cell("2021", "", "b", "", 5.0),
            provenance(&["c/x", "b"], &["c/y"], true),
        );
        let (cells, provenance) = combined.into_sorted();
        let keys: Vec<(&str, &str)> = cells
            .iter()
            .map(|c| (c.key.period.as_str(), c.key.kisterseg.as_str()))
            .collect();
        assert_eq!(keys, vec![("2020", "a"), ("2021", "b")]);
        let mut expected = Partial::empty();
        expected.merge(&cell("", "", "", "", 3.0).partial);
        expected.merge(&cell("", "", "", "", 5.0).partial);
        assert_eq!(cells[1].partial, expected);
        assert_eq!(
            names(provenance),
            vec![
                (vec!["a".to_string()], vec![], false),
                (
                    vec!["b".to_string(), "c/x".to_string()],
                    vec!["c/y".to_string()],
                    true
                ),
            ]
        );
    }

    #[test]
    fn members_disagreeing_on_unit_or_aggregation_combine_in_any_order() {
        // Found while writing the aggregate_merge fuzz target: the first
        // member to answer decided the combined cell's aggregation (and so
        // its value: a sum or a maximum) and unit (and so the count rule).
        let mut other = cell("2021", "", "", "", 4.0);
        other.aggregation = Aggregation::Max;
        other.unit = "db".into();
        let cells = [
            cell("2021", "", "", "", 3.0),
            other,
            cell("2021", "", "", "", 5.0),
        ];
        let combine = |order: &[usize]| {
            let mut combined = Combined::default();
            for &i in order {
                combined.add(cells[i].clone(), provenance(&["m"], &[], false));
            }
            combined.into_sorted().0
        };
        let expected = combine(&[0, 1, 2]);
        assert_eq!(expected[0].aggregation, Aggregation::Max);
        assert_eq!(expected[0].unit, "db");
        for order in [[0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]] {
            assert_eq!(combine(&order), expected, "order {order:?}");
        }
    }

    #[test]
    fn combined_keys_sort_as_their_strings() {
        let values = ["", "_T", "a", "ab", "b", "Á", "é"];
        let mut combined = Combined::default();
        let mut keys = Vec::new();
        let mut i = 0usize;
        for indicator in ["rata", "nepesseg", "ab"] {
            for _ in 0..12 {
                i = (i * 7 + 3) % 1001;
                let pick = |n: usize| values[(i / n) % values.len()];
                let c = cell(pick(1), pick(3), pick(5), pick(11), i as f64);
                let mut c = c;
                c.key.indicator = indicator.into();
                keys.push(c.key.clone());
                combined.add(c, provenance(&[indicator], &[], false));
            }
        }
        keys.sort();
        keys.dedup();
        let (cells, provenance) = combined.into_sorted();
        let sorted: Vec<CellKey> = cells.into_iter().map(|c| c.key).collect();
        assert_eq!(sorted, keys);
        assert_eq!(provenance.len(), keys.len());
    }

    #[test]
    fn totals_take_their_components_provenance_as_a_scan_would() {
        let query = AggregateQuery {
            indicators: vec!["nepesseg".into()],
            group_by: vec![GroupKey::Region, GroupKey::Kisterseg, GroupKey::Period],
            totals: true,
            ..AggregateQuery::default()
        };
        let mut cells = vec![
            cell("2020", "del", "kisteleki", "", 5.0),
            cell("2020", "eszak", "edelenyi", "", 1.0),
            cell("2020", "eszak", "encsi", "", 4.0),
            cell("2021", "eszak", "edelenyi", "", 2.0),
            cell("2021", "eszak", "encsi", "", 8.0),
        ];
        cells.sort_by(|a, b| a.key.cmp(&b.key));
        let provenance = vec![
            provenance(&["del/kisteleki"], &[], false),
            provenance(&["eszak/edelenyi"], &[], false),
            provenance(&["eszak/encsi"], &["eszak/x"], true),
            provenance(&["eszak/edelenyi"], &[], false),
            provenance(&["eszak/encsi"], &[], false),
        ];
        for failed in [vec![], vec![Arc::from("nyugat")]] {
            let (mut fast, mut fast_provenance) = (cells.clone(), provenance.clone());
            add_totals(&mut fast, &mut fast_provenance, &query, &failed);
            let (mut scan, mut scan_provenance) = (cells.clone(), provenance.clone());
            add_totals_by_scan(&mut scan, &mut scan_provenance, &query, &failed);
            assert_eq!(fast, scan);
            assert_eq!(fast.len(), 8);
            assert_eq!(fast_provenance.len(), fast.len());
            let fast_names = names(fast_provenance);
            assert_eq!(fast_names, names(scan_provenance));
            let total = fast
                .iter()
                .position(|c| {
                    c.key.period == "2020" && c.key.region == "eszak" && c.key.kisterseg == TOTAL
                })
                .unwrap();
            assert_eq!(
                fast_names[total].0,
                vec!["eszak/edelenyi".to_string(), "eszak/encsi".to_string()]
            );
            assert!(fast_names[total].2);
            assert_eq!(fast_names[total].1.len(), 1 + failed.len());
        }
        // Not asked for: nothing changes.
        let (mut same, mut same_provenance) = (cells.clone(), provenance.clone());
        let no_totals = AggregateQuery {
            totals: false,
            ..query.clone()
        };
        add_totals(&mut same, &mut same_provenance, &no_totals, &[]);
        assert_eq!(same, cells);
        assert_eq!(same_provenance.len(), cells.len());
    }

    #[test]
    fn keys_that_already_hold_totals_are_scanned() {
        let query = AggregateQuery {
            indicators: vec!["nepesseg".into()],
            group_by: vec![GroupKey::Kisterseg, GroupKey::Period],
            totals: true,
            ..AggregateQuery::default()
        };
        // A member that sent a total of its own. In key order ("_T" < "a").
        let mut cells = vec![
            cell("2020", "", TOTAL, "", 99.0),
            cell("2020", "", "a", "", 5.0),
            cell(TOTAL, "", "b", "", 1.0),
        ];
        assert!(cells.windows(2).all(|w| w[0].key < w[1].key));
        let mut provenance = vec![
            provenance(&["y"], &[], false),
            provenance(&["x"], &[], false),
            provenance(&["z"], &[], false),
        ];
        add_totals(&mut cells, &mut provenance, &query, &[]);
        assert_eq!(cells.len(), provenance.len());
        let total = cells
            .iter()
            .position(|c| c.key.period == "2020" && c.key.kisterseg == TOTAL)
            .unwrap();
        // The member's own provenance for the recomputed key, as before.
        assert_eq!(names(provenance)[total].0, vec!["y".to_string()]);
    }
}
