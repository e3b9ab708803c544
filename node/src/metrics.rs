//! The node's metrics: the shared registry of `tudashalo_proto::metrics`
//! (gRPC server families, process, CRL), the search histogram observed in
//! [`Node::search`], the import counters, and a collector that asks the
//! node for its counts at scrape time ([`register_collector`]).
//!
//! At scrape time only what is cheap is read: sled's tree lengths and size,
//! the index's segments and folder size. Two numbers are not cheap and are
//! remembered: documents by visibility (every document is read) are counted
//! again only when the store's generation changed, and the audit chain
//! (verification recomputes every hash) is verified at most once every
//! [`AUDIT_VERIFY_EVERY`].
//!
//! The label rule of the shared module holds here: visibilities, register
//! entities, import kinds and rejection classes are closed sets in this
//! file ([`ImportKind`], [`RejectionClass`]); never a file name, an id or a
//! settlement.

use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use tudashalo_proto::metrics::{Metrics, SECONDS_BUCKETS, gauge, labelled_gauges};

use crate::node::Node;

/// How often, at most, a scrape verifies the audit chain.
pub const AUDIT_VERIFY_EVERY: Duration = Duration::from_secs(60);

/// What was imported (`tudashalo_imports_total{kind}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportKind {
    Documents,
    Observations,
    Catalogue,
    Register,
}

impl ImportKind {
    pub fn label(self) -> &'static str {
        match self {
            ImportKind::Documents => "documents",
            ImportKind::Observations => "observations",
            ImportKind::Catalogue => "catalogue",
            ImportKind::Register => "register",
        }
    }

    /// The kind a [`crate::node::FileReport`] names (`documents`,
    /// `observations`, `catalogue`, `register`); anything else counts as
    /// documents, the default importer.
    pub fn of_report(kind: &str) -> ImportKind {
        match kind {
            "observations" => ImportKind::Observations,
            "catalogue" => ImportKind::Catalogue,
            "register" => ImportKind::Register,
            _ => ImportKind::Documents,
        }
    }
}

/// Why a record was rejected, as a small closed set
/// (`tudashalo_import_rejections_total{reason}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionClass {
    /// A malformed record: a missing field, a bad number, a bad year.
    Invalid,
    /// A record naming something that is not there (an unknown indicator).
    Reference,
    /// An id, code or cell given twice.
    Duplicate,
    /// Refused by a strict import that would otherwise have gone through.
    Strict,
}

impl RejectionClass {
    pub fn label(self) -> &'static str {
        match self {
            RejectionClass::Invalid => "invalid",
            RejectionClass::Reference => "reference",
            RejectionClass::Duplicate => "duplicate",
            RejectionClass::Strict => "strict",
        }
    }

    /// The class of an importer's rejection text (the reasons are the
    /// importers' own sentences; only their class becomes a label).
    pub fn of_reason(reason: &str) -> RejectionClass {
        let reason = reason.to_lowercase();
        if reason.contains("duplicate") {
            RejectionClass::Duplicate
        } else if reason.contains("strict") {
            RejectionClass::Strict
        } else if reason.contains("unknown") || reason.contains("not in the catalogue") {
            RejectionClass::Reference
        } else {
            RejectionClass::Invalid
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

/// The node's registry and the families it updates itself.
#[derive(Debug, Clone)]
pub struct NodeMetrics {
    registry: Arc<Metrics>,
    search_seconds: Histogram,
    imports: Family<KindLabel, Counter>,
    rejections: Family<ReasonLabel, Counter>,
}

impl Default for NodeMetrics {
    fn default() -> Self {
        NodeMetrics::new()
    }
}

impl NodeMetrics {
    pub fn new() -> NodeMetrics {
        let registry = Arc::new(Metrics::new());
        let metrics = NodeMetrics {
            registry,
            search_seconds: Histogram::new(SECONDS_BUCKETS),
            imports: Family::default(),
            rejections: Family::default(),
        };
        metrics.registry.register(
            "tudashalo_search_seconds",
            "How long the node's searches took (index and snippets), in seconds",
            metrics.search_seconds.clone(),
        );
        metrics.registry.register(
            "tudashalo_imports",
            "Files imported, by kind",
            metrics.imports.clone(),
        );
        metrics.registry.register(
            "tudashalo_import_rejections",
            "Records rejected at import, by class of reason",
            metrics.rejections.clone(),
        );
        // Every kind and class from the start, at 0, so that a rate is
        // defined before the first import (a family without a sample is not
        // exported at all).
        for kind in [
            ImportKind::Documents,
            ImportKind::Observations,
            ImportKind::Catalogue,
            ImportKind::Register,
        ] {
            let _ = metrics
                .imports
                .get_or_create(&KindLabel { kind: kind.label() });
        }
        for class in [
            RejectionClass::Invalid,
            RejectionClass::Reference,
            RejectionClass::Duplicate,
            RejectionClass::Strict,
        ] {
            let _ = metrics.rejections.get_or_create(&ReasonLabel {
                reason: class.label(),
            });
        }
        metrics
    }

    /// The registry `/metrics` serves.
    pub fn registry(&self) -> &Arc<Metrics> {
        &self.registry
    }

    /// One search's duration.
    pub fn observe_search(&self, elapsed: Duration) {
        self.search_seconds.observe(elapsed.as_secs_f64());
    }

    /// One imported file of `kind` and the classes of its rejected records.
    pub fn record_import(&self, kind: ImportKind, rejections: &[RejectionClass]) {
        self.imports
            .get_or_create(&KindLabel { kind: kind.label() })
            .inc();
        for class in rejections {
            self.rejections
                .get_or_create(&ReasonLabel {
                    reason: class.label(),
                })
                .inc();
        }
    }

    /// [`NodeMetrics::record_import`] for an import's report: the call the
    /// import paths (CLI, portal upload) make once per file.
    pub fn record_report(&self, report: &crate::node::FileReport) {
        let classes: Vec<RejectionClass> = report
            .rejections
            .iter()
            .map(|r| RejectionClass::of_reason(&r.reason))
            .collect();
        self.record_import(ImportKind::of_report(report.kind), &classes);
    }
}

/// Registers the collector of `node`'s counts with its own registry. It
/// holds the node weakly (the node owns the registry): once the node is
/// gone, a scrape shows only the shared metrics.
pub fn register_collector(node: &Arc<Node>) {
    node.metrics().registry().register_collector(NodeCollector {
        node: Arc::downgrade(node),
        documents: Mutex::new(None),
        audit: Mutex::new(None),
    });
}

/// Documents by visibility, as the metric's label and the count.
type VisibilityCounts = [(&'static str, u64); 3];

#[derive(Debug)]
struct NodeCollector {
    node: Weak<Node>,
    /// Documents by visibility, and the store generation they were counted at.
    documents: Mutex<Option<(u64, VisibilityCounts)>>,
    /// Whether the audit chain was intact, and when that was verified.
    audit: Mutex<Option<(Instant, bool)>>,
}

impl NodeCollector {
    fn documents(&self, node: &Node) -> Option<VisibilityCounts> {
        let generation = node.generation().ok()?;
        let mut cached = self
            .documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((at, counts)) = *cached
            && at == generation
        {
            return Some(counts);
        }
        let counts = node.documents_by_visibility().ok()?;
        let counts = counts.map(|(visibility, n)| (visibility.as_str(), n));
        *cached = Some((generation, counts));
        Some(counts)
    }

    fn audit_intact(&self, node: &Node) -> Option<bool> {
        let mut cached = self.audit.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, intact)) = *cached
            && at.elapsed() < AUDIT_VERIFY_EVERY
        {
            return Some(intact);
        }
        let intact = match node.audit().verify() {
            Ok(verification) => verification.is_intact(),
            Err(e) => {
                tracing::warn!(error = %e, "metrics: cannot verify the audit log");
                return None;
            }
        };
        *cached = Some((Instant::now(), intact));
        Some(intact)
    }
}

impl Collector for NodeCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(node) = self.node.upgrade() else {
            return Ok(());
        };
        if let Some(counts) = self.documents(&node) {
            labelled_gauges(
                &mut encoder,
                "tudashalo_documents",
                "Stored documents, by visibility",
                "visibility",
                counts,
            )?;
        }
        gauge(
            &mut encoder,
            "tudashalo_observations",
            "Stored observations",
            node.observation_count() as u64,
        )?;
        if let Ok(counts) = node.register_counts() {
            let entities = [
                "organisations",
                "contacts",
                "developments",
                "project_indicators",
                "groups",
            ];
            labelled_gauges(
                &mut encoder,
                "tudashalo_register_records",
                "Register records, by entity",
                "entity",
                entities.into_iter().zip(counts.map(|n| n as u64)),
            )?;
        }
        let sizes = node.disk_sizes();
        gauge(
            &mut encoder,
            "tudashalo_store_bytes",
            "Size of the store (sled) on disk, in bytes",
            sizes.store,
        )?;
        gauge(
            &mut encoder,
            "tudashalo_index_bytes",
            "Size of the search index folder on disk, in bytes",
            sizes.index,
        )?;
        gauge(
            &mut encoder,
            "tudashalo_index_segments",
            "Segments of the search index",
            sizes.segments as u64,
        )?;
        if let Ok(entries) = node.audit().len() {
            gauge(
                &mut encoder,
                "tudashalo_audit_entries",
                "Entries in the audit log (checkpoints included)",
                entries,
            )?;
        }
        if let Some(intact) = self.audit_intact(&node) {
            gauge(
                &mut encoder,
                "tudashalo_audit_chain_intact",
                "1 if the audit log's hash chain verified intact (verified at most once a minute), else 0",
                u64::from(intact),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reasons_fall_into_the_closed_set() {
        let class = RejectionClass::of_reason;
        assert_eq!(
            class("duplicate id \"x\" (first at line 1)"),
            RejectionClass::Duplicate
        );
        assert_eq!(
            class("unknown indicator \"nep\""),
            RejectionClass::Reference
        );
        assert_eq!(class("field \"year\": not a year"), RejectionClass::Invalid);
        assert_eq!(ImportKind::of_report("catalogue"), ImportKind::Catalogue);
        let metrics = NodeMetrics::new();
        metrics.record_import(
            ImportKind::Observations,
            &[RejectionClass::Duplicate, RejectionClass::Invalid],
        );
        let text = metrics.registry().encode().unwrap();
        assert!(
            text.contains("tudashalo_imports_total{kind=\"observations\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("tudashalo_import_rejections_total{reason=\"duplicate\"} 1"),
            "{text}"
        );
    }
}
