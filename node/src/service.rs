//! The node's answers to requests from outside, as a plain Rust API: every
//! decision between the wire and the domain, and no tonic.
//!
//! Each method of [`Requests`] takes the [`Requester`] (the principal of the
//! client certificate and the relay headers as
//! [`tudashalo_proto::relay::read`] parsed them), the request's audit record
//! as the caller sent it (every parameter, built by the adapter from the
//! message before anything is converted) and the domain query, or why the
//! request could not be converted to one. It returns the domain answer or
//! [`Error`]. Between the two it:
//!
//! - identifies the caller and asks the node's policy ([`crate::policy`]),
//!   whose answer decides which documents the caller sees; it decides what
//!   an aggregate's permission must cover (its finest geography) and who
//!   gets partials (only the node's hubs: anyone else asking is refused,
//!   not downgraded to published cells);
//! - records every request, allowed, refused or malformed, as exactly one
//!   entry in the node's audit log ([`crate::audit`]). A request whose
//!   parameters could not be converted is recorded as `invalid`: an
//!   aggregate before the policy is asked (its permission depends on the
//!   query), with the caller as its certificate and headers name it,
//!   unverified; a search after the policy, like any other refusal of the
//!   request's content;
//! - runs the domain call so that a panic becomes [`Error::Internal`],
//!   audited like any other failure. If an entry cannot be written, the
//!   answer is withheld.
//!
//! The methods block (sled, tantivy and the audit log's transaction): the
//! gRPC adapter ([`crate::grpc`]) calls them on the blocking pool.

use std::sync::Arc;

use tudashalo_core::aggregate::{AggregateQuery, Cell, GroupKey};
use tudashalo_core::disclosure::Published;
use tudashalo_core::model::{Indicator, Source};
use tudashalo_core::search::{Audience, CorpusStats, SearchQuery, SearchResults};
use tudashalo_proto::identity::Principal;
use tudashalo_proto::relay::{RelayError, RelayHeaders};

use crate::audit::{self, Outcome};
use crate::error::{Error, Result};
use crate::node::Node;
use crate::policy::{Caller, Granularity, Permission};

/// Who sent a request, as its connection and headers claim, before the
/// policy has verified anything.
#[derive(Debug, Clone)]
pub struct Requester {
    /// The principal named by the client certificate, if it names one.
    pub principal: Option<Principal>,
    /// The relay headers, as [`tudashalo_proto::relay::read`] read them.
    pub relay: std::result::Result<RelayHeaders, RelayError>,
    /// Every value of each relay header that was sent, as sent (bytes read
    /// as lossy UTF-8): recorded when the headers cannot be understood.
    pub raw_relay: Vec<(&'static str, Vec<String>)>,
}

impl Requester {
    /// Records the relay headers as sent.
    fn record_raw_relay(&self, record: &mut audit::Record) {
        for (name, values) in &self.raw_relay {
            record.params.list(name, values);
        }
    }
}

/// What `Info` tells about the node.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub name: String,
    pub display_name: String,
    /// The documents the caller may see.
    pub documents: u64,
    pub observations: u64,
    pub indicators: Vec<Indicator>,
    pub generation: u64,
}

/// The node's BM25 statistics for a query text, as `TermStats` answers.
#[derive(Debug, Clone)]
pub struct TermStats {
    pub stats: CorpusStats,
    /// Query terms that were ignored (not indexable).
    pub ignored: Vec<String>,
    /// See [`Node::stats_version`].
    pub stats_version: u64,
    /// How many documents the caller may see match the query and filters.
    pub matches: u64,
    /// See [`Node::data_version`]; read before the statistics.
    pub data_version: u64,
}

/// A search as asked.
#[derive(Debug, Clone)]
pub struct Search {
    /// The query, or why the request is not one (refused as invalid once
    /// the policy allowed the caller to search).
    pub query: std::result::Result<SearchQuery, tudashalo_core::Error>,
    /// The member paths named (a node has none; bounded by the limits).
    pub members: Vec<String>,
    /// Federation-wide BM25 statistics to score with, if supplied.
    pub global: Option<CorpusStats>,
}

/// A search's answer.
#[derive(Debug, Clone)]
pub struct Searched {
    pub results: SearchResults,
    /// See [`Node::stats_version`].
    pub stats_version: u64,
}

/// An aggregate as asked.
#[derive(Debug, Clone)]
pub struct Aggregate {
    /// The query, or why the request is not one (refused as invalid before
    /// the policy is asked).
    pub query: std::result::Result<AggregateQuery, tudashalo_core::Error>,
    /// The member paths named (a node has none; bounded by the limits).
    pub members: Vec<String>,
    /// Whether the caller asks for partials (a hub combining nodes) rather
    /// than published cells.
    pub partials: bool,
}

/// An aggregate's answer.
#[derive(Debug, Clone)]
pub enum Cells {
    /// Mergeable partials, for one of the node's hubs.
    Partials(Vec<Cell>),
    /// Cells that passed the node's disclosure rules.
    Published(Vec<Published>),
}

impl Cells {
    pub fn len(&self) -> usize {
        match self {
            Cells::Partials(cells) => cells.len(),
            Cells::Published(cells) => cells.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An allowed request: who asked, which documents it may see, and its audit
/// record, to be completed with the outcome by [`Access::finish`].
#[derive(Debug)]
struct Access {
    caller: Caller,
    audience: Audience,
    record: audit::Record,
}

impl Access {
    /// Appends the request's audit entry: `results` results left the node
    /// and it ended with `outcome`. An error means the entry could not be
    /// written; the answer must then not be sent.
    fn finish(mut self, node: &Node, results: Option<u64>, outcome: Outcome) -> Result<()> {
        self.record.results = results;
        self.record.outcome = outcome;
        node.audit().append(self.record).map(|_| ())
    }
}

/// The node's requests from outside: policy, audit, domain call.
#[derive(Debug, Clone)]
pub struct Requests {
    node: Arc<Node>,
}

impl Requests {
    pub fn new(node: Arc<Node>) -> Self {
        Requests { node }
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The node itself, for work that outlives one call (a watch).
    pub fn node_arc(&self) -> Arc<Node> {
        self.node.clone()
    }

    /// `Info`: what the node holds, as far as the caller may see it.
    pub fn info(&self, who: &Requester) -> Result<NodeInfo> {
        let record = audit::Record::new("", "Info");
        let access = self.authorize(who, Permission::Search, record)?;
        self.audited(
            access,
            |node, audience| {
                Ok(NodeInfo {
                    name: node.name().to_string(),
                    display_name: node.display_name().to_string(),
                    documents: node.visible_documents(audience)?,
                    observations: node.observation_count() as u64,
                    indicators: node.catalogue()?,
                    generation: node.generation()?,
                })
            },
            |_| None,
        )
    }

    /// `TermStats`: the BM25 statistics of the query's text over what the
    /// caller sees, and how many documents match it with its filters.
    pub fn term_stats(
        &self,
        who: &Requester,
        record: audit::Record,
        search: Search,
    ) -> Result<TermStats> {
        let access = self.authorize(who, Permission::Search, record)?;
        self.audited(
            access,
            |node, audience| {
                node.request_limits().check_members(&search.members)?;
                let query = search.query?;
                // First, so that the statistics are of this state or newer
                // (a hub trusts the version, never more than it says).
                let data_version = node.data_version()?;
                let (stats, ignored) = node.term_stats(&query.text, audience)?;
                Ok(TermStats {
                    matches: node.matches(&query, audience)?,
                    stats,
                    ignored,
                    stats_version: node.stats_version(audience)?,
                    data_version,
                })
            },
            |answer| Some(answer.matches),
        )
    }

    /// `WatchVersion`: whether the caller may watch this node's
    /// [`Node::data_version`] (whoever may search may), audited once when
    /// the watch opens.
    pub fn watch_version(&self, who: &Requester, record: audit::Record) -> Result<()> {
        let access = self.authorize(who, Permission::Search, record)?;
        self.audited(access, |_, _| Ok(()), |_| None)
    }

    /// `Search`: the caller's documents matching the query.
    pub fn search(
        &self,
        who: &Requester,
        record: audit::Record,
        search: Search,
    ) -> Result<Searched> {
        let access = self.authorize(who, Permission::Search, record)?;
        let started = std::time::Instant::now();
        let searched = self.audited(
            access,
            |node, audience| {
                node.request_limits().check_members(&search.members)?;
                let query = search.query?;
                let results = node.search(&query, audience, search.global.as_ref())?;
                Ok(Searched {
                    results,
                    stats_version: node.stats_version(audience)?,
                })
            },
            |searched| Some(searched.results.hits.len() as u64),
        )?;
        tracing::debug!(
            total = searched.results.total,
            hits = searched.results.hits.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "search"
        );
        Ok(searched)
    }

    /// `Aggregate`: partials for the node's hubs, published cells for
    /// everyone else allowed; the permission asked is by the query's finest
    /// geography.
    pub fn aggregate(
        &self,
        who: &Requester,
        record: audit::Record,
        aggregate: Aggregate,
    ) -> Result<Cells> {
        let query = match aggregate.query {
            Ok(query) => query,
            Err(e) => {
                let tudashalo_core::Error::InvalidRequest(why) = &e;
                self.invalid(who, record, why.clone());
                return Err(Error::from(e));
            }
        };
        let granularity = if query.finest_geography() == Some(GroupKey::Settlement) {
            Granularity::Settlement
        } else {
            Granularity::Kisterseg
        };
        let access = self.authorize(who, Permission::Aggregate(granularity), record)?;
        // Partials (which carry the largest contributions) go only to this
        // node's hubs. Anyone else asking is refused, not downgraded to
        // published cells: a silent downgrade would hide a misconfigured
        // hub, or an attempt, from the caller and from the audit log.
        let partials = aggregate.partials;
        if partials && let Err(e) = self.node.policy().authorize_partials(&access.caller) {
            let why = match &e {
                Error::PermissionDenied(why) => why.clone(),
                other => other.to_string(),
            };
            tracing::warn!(principal = %access.caller.principal, method = "Aggregate", %why, "refused");
            access.finish(&self.node, None, Outcome::Denied(why))?;
            return Err(e);
        }
        self.audited(
            access,
            |node, _audience| {
                node.request_limits().check_members(&aggregate.members)?;
                if partials {
                    Ok(Cells::Partials(node.aggregate(&query)?))
                } else {
                    Ok(Cells::Published(node.aggregate_published(&query)?))
                }
            },
            |cells| Some(cells.len() as u64),
        )
    }

    /// `GetDocument`: one document, if the caller may see it. `member` is
    /// for hubs; a node has none.
    pub fn get_document(
        &self,
        who: &Requester,
        record: audit::Record,
        id: &str,
        member: &str,
    ) -> Result<tudashalo_proto::pb::GetDocumentResponse> {
        let access = self.authorize(who, Permission::Get, record)?;
        if !member.is_empty() {
            let e = Error::NoMember(member.to_string());
            access.finish(&self.node, None, Outcome::Error(e.to_string()))?;
            return Err(e);
        }
        self.audited(
            access,
            |node, audience| node.get_response(id, audience),
            |_| Some(1),
        )
    }

    /// `Network`: the register's organisations the caller may see, with
    /// what each takes part in. It shows records' contents, as
    /// `GetDocument` does, so it needs the same permission (`get`).
    pub fn network(
        &self,
        who: &Requester,
        record: audit::Record,
        request: tudashalo_proto::pb::NetworkRequest,
    ) -> Result<tudashalo_proto::pb::NetworkResponse> {
        let access = self.authorize(who, Permission::Get, record)?;
        if !request.members.is_empty() {
            let e = Error::NoMember(request.members.join(", "));
            access.finish(&self.node, None, Outcome::Error(e.to_string()))?;
            return Err(e);
        }
        self.audited(
            access,
            |node, audience| node.network(&request, audience),
            |answer| Some(answer.organisations.len() as u64),
        )
    }

    /// `GetOriginal`: the file a document was imported from, if the caller
    /// may see the document: the same permission and audit as
    /// [`Requests::get_document`] (the audit counts the file's bytes).
    pub fn get_original(
        &self,
        who: &Requester,
        record: audit::Record,
        id: &str,
        member: &str,
    ) -> Result<(Source, std::fs::File)> {
        let access = self.authorize(who, Permission::Get, record)?;
        if !member.is_empty() {
            let e = Error::NoMember(member.to_string());
            access.finish(&self.node, None, Outcome::Error(e.to_string()))?;
            return Err(e);
        }
        self.audited(
            access,
            |node, audience| node.original(id, audience),
            |(source, _)| Some(source.bytes),
        )
    }

    /// Identifies the caller (its certificate's principal and the relay
    /// headers) and decides `permission` by the node's policy. `record`
    /// describes the request for the audit log; its principal, on-behalf-of
    /// and via are filled in here.
    ///
    /// A refusal is appended to the audit log here (`denied: …`, or
    /// `invalid: …` with the headers as sent for a malformed relay header)
    /// and returned as [`Error::PermissionDenied`]
    /// ([`Error::Unauthenticated`] without a usable client certificate,
    /// [`Error::InvalidRequest`] for a malformed relay header). An allowed
    /// request must be completed with [`Access::finish`] (or
    /// [`Requests::audited`]), whatever its outcome.
    fn authorize(
        &self,
        who: &Requester,
        permission: Permission,
        mut record: audit::Record,
    ) -> Result<Access> {
        let Some(principal) = who.principal.clone() else {
            record.principal = "unknown".into();
            let why = "no client certificate with a urn:tudashalo:ROLE:NAME name";
            record.outcome = Outcome::Denied(why.into());
            self.append(record);
            return Err(Error::Unauthenticated(why.into()));
        };
        record.principal = principal.to_string();
        let headers = who
            .relay
            .as_ref()
            .map_err(|e| Error::InvalidRequest(e.to_string()));
        if headers.is_err() {
            who.record_raw_relay(&mut record);
        }
        let caller = headers.and_then(|headers| {
            record_claimed(&mut record, headers);
            Caller::identify(
                principal,
                headers.on_behalf_of.as_deref(),
                headers.via.as_deref(),
            )
        });
        let decision = caller.and_then(|caller| {
            record.on_behalf_of = caller.on_behalf_of.as_ref().map(ToString::to_string);
            record.via = caller.via.clone();
            let audience = self.node.policy().authorize(&caller, permission)?;
            Ok((caller, audience))
        });
        match decision {
            Ok((caller, audience)) => Ok(Access {
                caller,
                audience,
                record,
            }),
            Err(e) => {
                record.outcome = match &e {
                    Error::PermissionDenied(why) => Outcome::Denied(why.clone()),
                    Error::InvalidRequest(why) => Outcome::Invalid(why.clone()),
                    other => Outcome::Denied(other.to_string()),
                };
                tracing::info!(principal = %record.principal, method = %record.method, outcome = %record.outcome, "refused");
                self.append(record);
                Err(e)
            }
        }
    }

    /// Records a request refused as malformed before it reached the policy
    /// (its parameters could not be converted): the caller as its
    /// certificate and relay headers name it, unverified, and `why`.
    fn invalid(&self, who: &Requester, mut record: audit::Record, why: String) {
        record.principal = who
            .principal
            .as_ref()
            .map_or_else(|| "unknown".into(), ToString::to_string);
        if let Ok(headers) = &who.relay {
            record_claimed(&mut record, headers);
        }
        who.record_raw_relay(&mut record);
        tracing::info!(principal = %record.principal, method = %record.method, %why, "invalid request");
        record.outcome = Outcome::Invalid(why);
        self.append(record);
    }

    /// Appends the entry of a refused request; a failure is only logged
    /// (the request is refused anyway).
    fn append(&self, record: audit::Record) {
        if let Err(e) = self.node.audit().append(record) {
            tracing::error!(error = %e, "cannot append to the audit log");
        }
    }

    /// Runs an allowed request's domain call with the caller's audience,
    /// and appends its audit entry (`results`: `count` of the answer). A
    /// panic in the call is [`Error::Internal`]. If the entry cannot be
    /// written, the answer is withheld.
    fn audited<T>(
        &self,
        access: Access,
        call: impl FnOnce(&Node, Audience) -> Result<T>,
        count: impl FnOnce(&T) -> Option<u64>,
    ) -> Result<T> {
        let (node, audience): (&Node, _) = (&self.node, access.audience);
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(node, audience)))
                .unwrap_or_else(|_| Err(Error::Internal("the request handler panicked".into())));
        let (results, outcome) = match &result {
            Ok(answer) => (count(answer), Outcome::Ok),
            Err(Error::InvalidRequest(why)) => (None, Outcome::Invalid(why.clone())),
            Err(e) => (None, Outcome::Error(e.to_string())),
        };
        access.finish(&self.node, results, outcome)?;
        result
    }
}

/// Records the relay headers as claimed (unverified).
fn record_claimed(record: &mut audit::Record, headers: &RelayHeaders) {
    record.on_behalf_of = headers.on_behalf_of.clone();
    record.via = headers.via.iter().cloned().collect();
}
