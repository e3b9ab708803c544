//! The node as a plain Rust service: open a data folder, import files,
//! search, get, count, reindex. The CLI calls it directly; the gRPC adapter
//! calls it through `spawn_blocking`.
//!
//! It owns the ordering that keeps store and index consistent: a file's
//! records are parsed, committed to sled (with a new generation) and flushed,
//! and only then written to the index, whose commit records that generation.
//! At open, an index whose generation differs from the store's is rebuilt.
//! A file of documents is streamed in bounded memory: read and staged in the
//! store a batch at a time, published there as one unit, then indexed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::audit::{self, AuditLog};
use crate::config::{self, NodeConfig};
use crate::error::{Error, Result};
use crate::import::Limits;
use crate::index::SearchIndex;
use crate::originals::Originals;
use crate::policy::Policy;
use crate::store::Store;
use tudashalo_core::model::{Document, Indicator, Source, Visibility};

mod importing;
mod register;

pub use importing::{FileReport, ImportOptions, ImportProgress, ONE_FILE_BATCH};
use tudashalo_core::search::{Audience, CorpusStats, SearchQuery, SearchResults};

/// Counts for `stats`. Its JSON form is part of `stats --json`.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStats {
    pub name: String,
    pub display_name: String,
    pub documents: usize,
    pub documents_by_visibility: HashMap<String, usize>,
    pub observations: usize,
    pub indicators: usize,
    pub generation: u64,
    pub store_bytes: u64,
    /// The kept original files (`originals/`).
    pub originals_bytes: u64,
}

#[derive(Debug)]
pub struct Node {
    dir: PathBuf,
    config: NodeConfig,
    store: Store,
    index: SearchIndex,
    policy: Policy,
    audit: AuditLog,
    /// Observations and catalogue, decoded on the first aggregate.
    aggregates: crate::observations::SnapshotCache,
    /// The files one-file documents were imported from.
    originals: Originals,
    /// What `/metrics` reports of this node ([`crate::metrics`]).
    metrics: crate::metrics::NodeMetrics,
    /// Drawn at open: part of [`Node::data_version`], so that a restart
    /// (which may bring another policy) never repeats an old version.
    boot: u64,
}

/// Sizes on disk, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSizes {
    pub store: u64,
    pub index: u64,
    pub segments: usize,
}

impl Node {
    /// Creates a data folder with a commented `node.toml`. Refuses to
    /// overwrite an existing configuration.
    pub fn init(dir: &Path, name: &str, display_name: Option<&str>) -> Result<PathBuf> {
        config::validate_slug(name).map_err(Error::InvalidRequest)?;
        let path = dir.join(config::FILE_NAME);
        if path.exists() {
            return Err(Error::InvalidRequest(format!(
                "{} already exists; the node is initialised",
                path.display()
            )));
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let display = display_name.map_or_else(|| name.to_string(), str::to_string);
        std::fs::write(&path, config::template(name, &display))
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        Ok(path)
    }

    /// Opens the node in `dir`: reads `node.toml`, locks and opens the store,
    /// opens the index and repairs it if it disagrees with the store.
    pub fn open(dir: &Path) -> Result<Node> {
        let config = NodeConfig::load(dir)?;
        let store = Store::open(&dir.join("store"), dir)?;
        let index = SearchIndex::open(&dir.join("index"))?;
        let policy =
            Policy::from_config(&config.name, &config.policy).map_err(|message| Error::Config {
                path: dir.join(config::FILE_NAME),
                message,
            })?;
        let audit = AuditLog::with_retention(
            store.tree(audit::TREE)?,
            store.tree(audit::HEAD_TREE)?,
            &config.name,
            config.audit.retention(),
        );
        // Checkpoints are signed with the node's TLS key when node.toml
        // names one (`serve --cert/--key` replace it); without it they are
        // written unsigned.
        if let Some(tls) = &config.tls {
            match audit::CheckpointSigner::from_files(&tls.cert, &tls.key) {
                Ok(signer) => audit.set_signer(Some(signer)),
                Err(e) => tracing::debug!(error = %e, "audit checkpoints will not be signed"),
            }
        }
        let node = Node {
            dir: dir.to_path_buf(),
            config,
            store,
            index,
            policy,
            audit,
            aggregates: Default::default(),
            originals: Originals::new(dir),
            metrics: Default::default(),
            boot: crate::store::new_identity(),
        };
        node.repair()?;
        Ok(node)
    }

    /// Rebuilds the index if it does not reflect the store's generation
    /// (behind after a crash mid-import, ahead if the store lost a write, or
    /// missing).
    fn repair(&self) -> Result<()> {
        let generation = self.store.generation()?;
        match self.index.state() {
            Some(state) if state.generation == generation => Ok(()),
            None if generation == 0 => {
                // A new node: commit an empty index that records generation 0.
                self.index.rebuild(std::iter::empty(), 0)?;
                Ok(())
            }
            state => {
                tracing::warn!(
                    index_generation = state.map(|s| s.generation),
                    store_generation = generation,
                    "index disagrees with the store: rebuilding it"
                );
                self.index.rebuild(self.all_searchables()?, generation)?;
                Ok(())
            }
        }
    }

    /// Rebuilds the index from the store, from scratch. Returns the number of
    /// records indexed (documents and the register's).
    pub fn reindex(&self) -> Result<usize> {
        let generation = self.store.generation()?;
        self.index.rebuild(self.all_searchables()?, generation)
    }

    /// The disclosure rules this node publishes with.
    pub fn rules(&self) -> &tudashalo_core::disclosure::Rules {
        &self.config.disclosure
    }

    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// Who may ask what (`[policy]` of `node.toml`).
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The audit log of requests from outside, in the node's store.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The store (for the crate's own tests).
    #[cfg(test)]
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Writes a backup of the node's data into `out` ([`crate::backup`]),
    /// while it serves; returns the sink.
    pub fn backup<W: std::io::Write>(&self, out: W) -> Result<W> {
        crate::backup::write(
            crate::backup::Source {
                store: &self.store,
                audit: &self.audit,
                data: &self.dir,
                node: &self.config.name,
            },
            out,
        )
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn display_name(&self) -> &str {
        self.config
            .display_name
            .as_deref()
            .unwrap_or(&self.config.name)
    }

    fn limits(&self) -> Limits {
        self.config.limits.import
    }

    /// The original file of a document `audience` may see, with its
    /// source. A document it may not see is not found, as for [`Node::get`];
    /// so is one imported from a JSON Lines record (it has no file).
    pub fn original(&self, id: &str, audience: Audience) -> Result<(Source, std::fs::File)> {
        let doc = self.get(id, audience)?;
        let Some(source) = doc.source else {
            return Err(Error::NotFound(format!(
                "{id} (an original file: the document was imported from a record, not a file)"
            )));
        };
        match self.originals.open(&source.sha256)? {
            Some(file) => Ok((source, file)),
            None => Err(Error::NotFound(format!(
                "{id} (an original file: {} is not kept in this node's originals folder)",
                source.file
            ))),
        }
    }

    pub fn search(
        &self,
        query: &SearchQuery,
        audience: Audience,
        global: Option<&CorpusStats>,
    ) -> Result<SearchResults> {
        // Bounded before the query text reaches the parser.
        self.request_limits()
            .check_search(&query.text, &query.filters, &[])?;
        let register = std::cell::OnceCell::new();
        let body_of = |id: &str| self.body_of(id, &register);
        let started = std::time::Instant::now();
        let results = self.index.search(query, audience, global, &body_of);
        self.metrics.observe_search(started.elapsed());
        results
    }

    /// This node's metrics: its registry and the families it updates.
    pub fn metrics(&self) -> &crate::metrics::NodeMetrics {
        &self.metrics
    }

    /// How many records each register tree holds (organisations, contacts,
    /// developments, project indicators, groups).
    pub fn register_counts(&self) -> Result<[usize; 5]> {
        self.store.register_counts()
    }

    /// The store's and the index's sizes on disk, and the index's segments.
    pub fn disk_sizes(&self) -> DiskSizes {
        DiskSizes {
            store: self.store.size_on_disk(),
            index: folder_bytes(&self.dir.join("index")),
            segments: self.index.segment_count(),
        }
    }

    pub fn term_stats(&self, text: &str, audience: Audience) -> Result<(CorpusStats, Vec<String>)> {
        self.request_limits().check_query(text)?;
        self.index.term_stats(text, audience)
    }

    /// How many documents `audience` may see match `query` (text and
    /// filters): the total its search would report.
    pub fn matches(&self, query: &SearchQuery, audience: Audience) -> Result<u64> {
        self.request_limits()
            .check_search(&query.text, &query.filters, &[])?;
        self.index.count(query, audience)
    }

    /// What one request may ask for (`[limits]` of `node.toml`).
    pub fn request_limits(&self) -> &tudashalo_core::limits::RequestLimits {
        &self.config.limits.requests
    }

    /// One document, if `audience` may see it. A document it may not see is
    /// reported as not found, so that its existence does not leak.
    pub fn get(&self, id: &str, audience: Audience) -> Result<Document> {
        match self.store.document(id)? {
            Some(doc) if audience.sees(doc.visibility.code()) => Ok(doc),
            _ => Err(Error::NotFound(id.to_string())),
        }
    }

    /// The indicators this node aggregates: its catalogue and those derived
    /// from its register.
    pub fn catalogue(&self) -> Result<Vec<Indicator>> {
        Ok(self.with_register()?.0.into_values().collect())
    }

    /// The catalogue with the register's derived indicators (`dev.…`), and
    /// their observations. Computed, never stored, so they cannot drift
    /// from the register; they replace catalogue entries of the same codes.
    fn with_register(
        &self,
    ) -> Result<(
        tudashalo_core::model::Catalogue,
        Vec<tudashalo_core::model::Observation>,
    )> {
        use tudashalo_core::register::{DERIVED_PREFIX, derived_observations};
        let register = self.store.register()?;
        let (derived, observations) =
            derived_observations(&register.developments, &register.indicators);
        let mut catalogue = self.store.catalogue()?;
        catalogue.retain(|code, _| !code.starts_with(DERIVED_PREFIX));
        for indicator in derived {
            catalogue.insert(indicator.code.clone(), indicator);
        }
        Ok((catalogue, observations))
    }

    /// The node's observations aggregated into cells (partials, before
    /// totals and disclosure control), sorted by key.
    pub fn aggregate(
        &self,
        query: &tudashalo_core::aggregate::AggregateQuery,
    ) -> Result<Vec<tudashalo_core::aggregate::Cell>> {
        self.check_aggregate_limits(query)?;
        self.cells(query)
    }

    /// The request limits on an aggregate, as asked.
    fn check_aggregate_limits(
        &self,
        query: &tudashalo_core::aggregate::AggregateQuery,
    ) -> Result<()> {
        self.request_limits().check_aggregate(
            &query.indicators,
            &query.settlements,
            query.group_by.len(),
            &[],
        )?;
        Ok(())
    }

    /// [`Node::aggregate`] without the request limits (checked by the caller
    /// on the query as asked).
    fn cells(
        &self,
        query: &tudashalo_core::aggregate::AggregateQuery,
    ) -> Result<Vec<tudashalo_core::aggregate::Cell>> {
        // The version first: a write during the build makes the snapshot
        // stale at once rather than kept as current.
        let version = self.store.observations_version();
        let snapshot = self.aggregates.get(version, || {
            let (catalogue, derived) = self.with_register()?;
            let prefix = tudashalo_core::register::DERIVED_PREFIX;
            let stored = self
                .store
                .observations()
                .filter(|o| !o.as_ref().is_ok_and(|o| o.indicator.starts_with(prefix)));
            Ok(crate::observations::Snapshot {
                table: crate::observations::ObservationTable::build(
                    stored.chain(derived.into_iter().map(Ok)),
                )?,
                catalogue,
            })
        })?;
        let mut cells = crate::observations::aggregate_table(
            &snapshot.table,
            &snapshot.catalogue,
            query,
            self.name(),
        )?;
        // The node's rules travel with its data, so that a hub combining it
        // applies them too.
        // Awarded public funding is public information, published as it is.
        let strictness = self.rules().strictness();
        for cell in &mut cells {
            let public = tudashalo_core::register::is_public_information(&cell.key.indicator);
            cell.partial.rules = strictness.with_public(public);
        }
        Ok(cells)
    }

    /// An aggregate as a principal that gets published cells sees it:
    /// whole units only (see `disclosure`'s "Whole units"). The answer is
    /// always grouped by period; `settlements` chooses which settlement
    /// cells are returned and never narrows the kistérség's cells; totals
    /// are added; every cell passes the node's rules.
    pub fn aggregate_published(
        &self,
        query: &tudashalo_core::aggregate::AggregateQuery,
    ) -> Result<Vec<tudashalo_core::disclosure::Published>> {
        // The limits apply to the request as sent (the whole-unit query
        // drops its settlements and may add the period).
        self.check_aggregate_limits(query)?;
        let whole = tudashalo_core::aggregate::whole_units(query);
        let mut cells = self.cells(&whole)?;
        tudashalo_core::aggregate::add_totals(&mut cells, &whole);
        tudashalo_core::aggregate::retain_settlements(&mut cells, &query.settlements);
        Ok(tudashalo_core::disclosure::publish(
            cells,
            self.rules(),
            &[],
        ))
    }

    /// Names the BM25 statistics `audience` gets from this node: equal
    /// versions mean equal statistics for any query. It changes with the
    /// documents (store identity and generation), the analysers (index
    /// version) and the audience. Never 0, which means "do not reuse".
    pub fn stats_version(&self, audience: Audience) -> Result<u64> {
        let mut bytes = Vec::with_capacity(24);
        bytes.extend_from_slice(&self.store.identity()?.to_be_bytes());
        bytes.extend_from_slice(&self.store.generation()?.to_be_bytes());
        bytes.extend_from_slice(&crate::index::INDEX_VERSION.to_be_bytes());
        bytes.push(audience as u8);
        Ok(tudashalo_core::search::fnv1a(&bytes).max(1))
    }

    pub fn generation(&self) -> Result<u64> {
        self.store.generation()
    }

    /// Names what any caller's search at this node sees: it changes when
    /// the index makes a commit searchable (every import that changes a
    /// document or a register record ends in one) and when the node opens
    /// again. Read it before a search and the search sees at least that
    /// state. Never 0, which means "unknown" (`WatchVersion`).
    pub fn data_version(&self) -> Result<u64> {
        Ok(data_version(
            self.store.identity()?,
            self.boot,
            *self.index.commits().borrow(),
        ))
    }

    /// [`Node::data_version`]'s changes as they happen: the receiver wakes
    /// after each commit the index makes searchable.
    pub fn data_version_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.index.commits()
    }

    pub fn visible_documents(&self, audience: Audience) -> Result<u64> {
        self.index.visible_docs(audience)
    }

    /// How many stored documents have each visibility (public,
    /// federated, local), for the operator's overview.
    pub fn documents_by_visibility(&self) -> Result<[(Visibility, u64); 3]> {
        let mut counts = [
            (Visibility::Public, 0),
            (Visibility::Federated, 0),
            (Visibility::Local, 0),
        ];
        for document in self.store.documents() {
            let visibility = document?.visibility;
            if let Some(slot) = counts.iter_mut().find(|(v, _)| *v == visibility) {
                slot.1 += 1;
            }
        }
        Ok(counts)
    }

    pub fn observation_count(&self) -> usize {
        self.store.observation_count()
    }

    pub fn stats(&self) -> Result<NodeStats> {
        let mut by_visibility: HashMap<String, usize> = HashMap::new();
        for doc in self.store.documents() {
            *by_visibility
                .entry(doc?.visibility.as_str().to_string())
                .or_default() += 1;
        }
        Ok(NodeStats {
            name: self.name().to_string(),
            display_name: self.display_name().to_string(),
            documents: self.store.document_count(),
            documents_by_visibility: by_visibility,
            observations: self.store.observation_count(),
            indicators: self.store.catalogue()?.len(),
            generation: self.store.generation()?,
            store_bytes: self.store.size_on_disk(),
            originals_bytes: self.originals.size_on_disk(),
        })
    }
}

/// The bytes of the files directly in `dir` (tantivy keeps its segments
/// flat); 0 if it cannot be read.
fn folder_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// See [`Node::data_version`].
fn data_version(identity: u64, boot: u64, commits: u64) -> u64 {
    let mut bytes = Vec::with_capacity(28);
    bytes.extend_from_slice(&identity.to_be_bytes());
    bytes.extend_from_slice(&boot.to_be_bytes());
    bytes.extend_from_slice(&commits.to_be_bytes());
    bytes.extend_from_slice(&crate::index::INDEX_VERSION.to_be_bytes());
    tudashalo_core::search::fnv1a(&bytes).max(1)
}
