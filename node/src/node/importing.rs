//! Importing into the node: files of every format, one unit each, in the
//! order that keeps store and index consistent ([`super`]'s header): parse,
//! stage, publish to sled with a new generation, flush, then index. Many
//! one-file documents are extracted in parallel and published in batches.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::Node;
use crate::error::{Error, Result};
use crate::import::isolate::{self, Isolation, Job, Output};
use crate::import::table::WorkbookParsed;
use crate::import::{
    self, Encoding, FileError, FileFormat, Incoming, Limits, Parsed, Rejection, TextMeta,
    VisibilityChange,
};
use crate::store::{Counts, DocumentImport};
use tudashalo_core::model::{Document, Indicator, Observation, Source};

/// How to import a file.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Reject the whole file if any line is rejected.
    pub strict: bool,
    pub encoding: Encoding,
    /// Metadata for one-file documents (`.txt`, `.pdf`, `.docx`, …).
    pub text: TextMeta,
    /// Where extractors run ([`Isolation::Process`] from the command line).
    pub isolation: Isolation,
    /// The sheet of a workbook to read; `None`: the first with a header.
    pub sheet: Option<String>,
}

/// What importing one file did. Its JSON form is part of `import --json`.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub file: String,
    /// `documents`, `observations`, `catalogue`, or a register file's
    /// `organisations`, `contacts`, `developments`, `project_indicators`,
    /// `groups`.
    pub kind: &'static str,
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: usize,
    pub rejections: Vec<Rejection>,
    /// Every stored document whose visibility this import changed.
    pub visibility_changes: Vec<VisibilityChange>,
    pub seconds: f64,
}

impl Node {
    /// What a file holds, for ordering a multi-file import (catalogues
    /// first). A workbook is read (isolated, as for its import) to tell a
    /// catalogue from observations by its header.
    pub fn detect(&self, path: &Path, options: &ImportOptions) -> Result<FileFormat> {
        let format = if import::detect_needs_content(path) {
            let bytes = read_file(path)?;
            import::detect(path, &bytes, options.encoding)?
        } else {
            detect_by_name(path, options)?
        };
        if let FileFormat::Workbook(_) = format {
            let label = path.display().to_string();
            return Ok(
                match self.parse_workbook(&label, path, format, options, &Default::default())? {
                    WorkbookParsed::Catalogue(_) => FileFormat::Catalogue,
                    WorkbookParsed::Observations(_) => FileFormat::Observations,
                    WorkbookParsed::Register(parsed) => FileFormat::Register(parsed.kind),
                },
            );
        }
        Ok(format)
    }

    /// Imports one file as one unit. `progress` is told how many records
    /// there are to store, then how many have been indexed so far. A
    /// one-file document's id is the slug of the file's name.
    pub fn import_file(
        &self,
        path: &Path,
        options: &ImportOptions,
        progress: &dyn Fn(ImportProgress),
    ) -> Result<FileReport> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        self.import_file_as(path, &name, options, progress)
    }

    /// [`Node::import_file`] for a file found in an imported folder:
    /// `relative` is its path relative to that folder (`/`-separated), whose
    /// slug is a one-file document's id ([`import::common::slug_id`]).
    pub fn import_file_as(
        &self,
        path: &Path,
        relative: &str,
        options: &ImportOptions,
        progress: &dyn Fn(ImportProgress),
    ) -> Result<FileReport> {
        let started = Instant::now();
        let label = path.display().to_string();
        // The name tells what most files hold; only a CSV's header must be
        // read to tell. A file of documents is streamed, never read whole.
        let (format, bytes) = if import::detect_needs_content(path) {
            let bytes = read_file(path)?;
            (import::detect(path, &bytes, options.encoding)?, bytes)
        } else {
            (detect_by_name(path, options)?, Vec::new())
        };
        let mut visibility_changes = Vec::new();
        let (kind, counts, rejections) = match format {
            FileFormat::Documents => {
                let (published, rejections) =
                    self.import_documents(&label, path, options, progress)?;
                visibility_changes = published.1;
                ("documents", published.0, rejections)
            }
            FileFormat::Text | FileFormat::Extracted(_) => {
                let doc = self.one_file_document(&label, path, relative, format, options)?;
                let mut staged = self.store.begin_documents()?;
                // Only `--visibility` states a one-file document's visibility.
                staged.stage_incoming(vec![Incoming {
                    document: doc,
                    visibility_stated: options.text.visibility.is_some(),
                }])?;
                let (counts, changes) = self.publish_documents(staged, progress)?;
                visibility_changes = changes;
                ("documents", counts, Vec::new())
            }
            FileFormat::Observations => {
                let catalogue = self.store.catalogue()?;
                let parsed =
                    import::parse_observations(&label, &bytes, options.encoding, &catalogue)?;
                let (counts, rejected) =
                    self.store_observations(&label, options, parsed, progress)?;
                ("observations", counts, rejected)
            }
            FileFormat::Catalogue => {
                let catalogue = self.store.catalogue()?;
                let parsed = import::parse_catalogue(&label, &bytes, options.encoding, &catalogue)?;
                let (counts, rejected) = self.store_catalogue(&label, options, parsed, progress)?;
                ("catalogue", counts, rejected)
            }
            FileFormat::Workbook(_) => match self.parse_workbook(
                &label,
                path,
                format,
                options,
                &self.store.catalogue()?,
            )? {
                WorkbookParsed::Observations(parsed) => {
                    let (counts, rejected) =
                        self.store_observations(&label, options, parsed, progress)?;
                    ("observations", counts, rejected)
                }
                WorkbookParsed::Catalogue(parsed) => {
                    let (counts, rejected) =
                        self.store_catalogue(&label, options, parsed, progress)?;
                    ("catalogue", counts, rejected)
                }
                WorkbookParsed::Register(parsed) => {
                    self.import_register(&label, options, parsed, progress)?
                }
            },
            FileFormat::Register(kind) => {
                let parsed = if import::is_jsonl(path) {
                    // A register file is small; it is read whole, capped.
                    let bytes = read_capped(path, &self.limits())?;
                    import::register::parse_jsonl(&label, &bytes, kind)?
                } else {
                    import::register::parse_csv(&label, &bytes, options.encoding, kind)?
                };
                self.import_register(&label, options, parsed, progress)?
            }
        };
        let report = FileReport {
            file: label,
            kind,
            added: counts.added,
            updated: counts.updated,
            unchanged: counts.unchanged,
            rejected: rejections.len(),
            rejections,
            visibility_changes,
            seconds: started.elapsed().as_secs_f64(),
        };
        self.metrics().record_report(&report);
        Ok(report)
    }

    /// Imports files as [`Node::import_file_as`] does, each `(path,
    /// relative)`, and gives each file's outcome to `report` in order. The
    /// one-file documents among them (`.txt`, `.pdf`, `.docx`, …) are
    /// staged together and published [`ONE_FILE_BATCH`] at a time, as one
    /// store generation and one index commit: a file is still one unit (its
    /// one document lands whole or not at all, and a file that fails is
    /// reported alone), but a folder of a thousand files costs a handful of
    /// commits, not a thousand. Reports of a batch's files are given once it
    /// is published.
    pub fn import_files(
        &self,
        inputs: &[(PathBuf, String)],
        options: &ImportOptions,
        report: &mut dyn FnMut(&Path, Result<FileReport>),
    ) {
        let mut batch: Option<DocumentImport<'_>> = None;
        // The files staged in `batch`: path, report (counts filled), the id.
        let mut pending: Vec<(PathBuf, FileReport, String)> = Vec::new();
        let mut ids: HashMap<String, String> = HashMap::new();
        let one_file = |path: &Path| match import::detect(path, &[], options.encoding) {
            Ok(format @ (FileFormat::Text | FileFormat::Extracted(_))) => Some(format),
            _ => None,
        };
        let mut rest = inputs;
        while let Some((path, relative)) = rest.first() {
            let Some(_) = one_file(path) else {
                self.publish_batch(batch.take(), &mut pending, &mut ids, report);
                report(path, self.import_file_as(path, relative, options, &|_| {}));
                rest = &rest[1..];
                continue;
            };
            // The next few one-file documents, extracted in parallel (each
            // in its own worker process); staged in order below. A few at a
            // time, so that memory holds a few documents, not a batch.
            let run = rest
                .iter()
                .take(PARALLEL_FILES)
                .take_while(|(p, _)| one_file(p).is_some())
                .count();
            let (chunk, after) = rest.split_at(run);
            rest = after;
            let extracted = in_parallel(chunk, |(path, relative)| {
                let started = Instant::now();
                let label = path.display().to_string();
                let doc = match one_file(path) {
                    Some(format) => open_file(path).and_then(|_| {
                        self.one_file_document(&label, path, relative, format, options)
                    }),
                    None => Err(Error::Internal(format!(
                        "{label} is not a one-file document"
                    ))),
                };
                (doc, started.elapsed().as_secs_f64())
            });
            for ((path, relative), (doc, seconds)) in chunk.iter().zip(extracted) {
                let label = path.display().to_string();
                let staged = doc.and_then(|doc| {
                    if let Some(first) = ids.get(&doc.id) {
                        return Err(FileError::new(
                            &label,
                            format!(
                                "its id {:?} is already the document of {first:?} in this import; rename one of the two files",
                                doc.id
                            ),
                        )
                        .into());
                    }
                    let staging = match &mut batch {
                        Some(staging) => staging,
                        None => batch.insert(self.store.begin_documents()?),
                    };
                    let before = staging.counts();
                    let id = doc.id.clone();
                    staging.stage_incoming(vec![Incoming {
                        document: doc,
                        visibility_stated: options.text.visibility.is_some(),
                    }])?;
                    let after = staging.counts();
                    Ok((
                        id,
                        Counts {
                            added: after.added - before.added,
                            updated: after.updated - before.updated,
                            unchanged: after.unchanged - before.unchanged,
                        },
                    ))
                });
                match staged {
                    Ok((id, counts)) => {
                        ids.insert(id.clone(), relative.replace('\\', "/"));
                        let file_report = FileReport {
                            file: label,
                            kind: "documents",
                            added: counts.added,
                            updated: counts.updated,
                            unchanged: counts.unchanged,
                            rejected: 0,
                            rejections: Vec::new(),
                            visibility_changes: Vec::new(),
                            seconds,
                        };
                        pending.push((path.clone(), file_report, id));
                        if pending.len() >= ONE_FILE_BATCH {
                            self.publish_batch(batch.take(), &mut pending, &mut ids, report);
                        }
                    }
                    Err(e) => report(path, Err(e)),
                }
            }
        }
        self.publish_batch(batch.take(), &mut pending, &mut ids, report);
    }

    /// Publishes a batch of one-file documents and reports its files.
    fn publish_batch(
        &self,
        batch: Option<DocumentImport<'_>>,
        pending: &mut Vec<(PathBuf, FileReport, String)>,
        ids: &mut HashMap<String, String>,
        report: &mut dyn FnMut(&Path, Result<FileReport>),
    ) {
        ids.clear();
        let Some(batch) = batch else {
            return;
        };
        let started = Instant::now();
        match self.publish_documents(batch, &|_| {}) {
            Ok((_, changes)) => {
                // The batch's commit, shared out over its files.
                let share = started.elapsed().as_secs_f64() / pending.len().max(1) as f64;
                for (path, mut file_report, id) in pending.drain(..) {
                    file_report.visibility_changes =
                        changes.iter().filter(|c| c.id == id).cloned().collect();
                    file_report.seconds += share;
                    self.metrics().record_report(&file_report);
                    report(&path, Ok(file_report));
                }
            }
            Err(e) => {
                let message = e.to_string();
                for (path, _, _) in pending.drain(..) {
                    report(
                        &path,
                        Err(Error::Internal(format!(
                            "{}: publishing its batch failed, nothing of it was stored: {message}",
                            path.display()
                        ))),
                    );
                }
            }
        }
    }

    /// A workbook read (isolated) and parsed as observations or catalogue,
    /// against `catalogue`.
    fn parse_workbook(
        &self,
        label: &str,
        path: &Path,
        format: FileFormat,
        options: &ImportOptions,
        catalogue: &tudashalo_core::model::Catalogue,
    ) -> Result<WorkbookParsed> {
        let FileFormat::Workbook(workbook) = format else {
            return Err(Error::Internal(format!("{label} is not a workbook")));
        };
        let limits = self.limits();
        let bytes = read_capped(path, &limits)?;
        let book = match isolate::run(
            &Job::Workbook(workbook),
            &bytes,
            &limits,
            &options.isolation,
        ) {
            Ok(Output::Workbook(book)) => book,
            Ok(Output::Document(_)) => {
                return Err(Error::Internal(format!(
                    "{label}: the extractor answered with a document"
                )));
            }
            Err(failure) => return Err(failure.at(label).into()),
        };
        Ok(import::table::parse_workbook(
            label,
            &book,
            options.sheet.as_deref(),
            catalogue,
        )?)
    }

    /// A one-file document (`.txt`, `.md`, `.pdf`, `.docx`, …), its id the
    /// slug of `relative`, its [`Source`] the file.
    ///
    /// A file whose content hash is the stored document's is not extracted
    /// again: re-importing an unchanged folder costs a hash per file. Flags
    /// not given keep what the stored document has, so that a re-import
    /// without them does not wipe the metadata given before.
    fn one_file_document(
        &self,
        label: &str,
        path: &Path,
        relative: &str,
        format: FileFormat,
        options: &ImportOptions,
    ) -> Result<Document> {
        let limits = self.limits();
        let relative = relative.replace('\\', "/");
        let id = import::common::slug_id(label, &relative)?;
        let bytes = read_capped(path, &limits)?;
        let sha256 = sha256_hex(&bytes);
        let stored = self.store.document(&id)?;
        if let Some(previous) = stored.as_ref().and_then(|d| d.source.as_ref())
            && previous.file != relative
        {
            return Err(FileError::new(
                label,
                format!(
                    "its id {id:?} is already the document of {:?}; rename one of the two files",
                    previous.file
                ),
            )
            .into());
        }
        let source = Source {
            file: relative.clone(),
            format: format.document_format(path).unwrap_or("txt").to_string(),
            pages: None,
            bytes: bytes.len() as u64,
            sha256,
        };
        let unchanged_file = stored
            .as_ref()
            .and_then(|d| d.source.as_ref())
            .is_some_and(|s| s.sha256 == source.sha256 && s.format == source.format);
        let sha256 = source.sha256.clone();
        let mut doc = match (&stored, format) {
            (Some(stored), _) if unchanged_file => {
                let mut doc = stored.clone();
                apply_given_flags(&mut doc, &options.text);
                // Kept before the store names it (a no-op when it is kept).
                self.originals.put(&sha256, &bytes)?;
                return Ok(doc);
            }
            (_, FileFormat::Extracted(doc_format)) => {
                let file = import::extract::DocumentFile {
                    label,
                    id,
                    bytes: &bytes,
                    source,
                };
                import::parse_document(
                    doc_format,
                    file,
                    &options.text,
                    &limits,
                    &options.isolation,
                )?
            }
            _ => {
                let mut doc = import::parse_text(label, path, &bytes, &options.text, &limits)?;
                doc.id = id;
                doc.source = Some(source);
                doc
            }
        };
        if let Some(stored) = &stored {
            keep_stored_where_no_flag(&mut doc, stored, &options.text);
        }
        self.originals.put(&sha256, &bytes)?;
        Ok(doc)
    }

    /// Removes the kept originals no stored document names any more (the
    /// old versions of updated files). Returns the files and bytes removed.
    pub fn sweep_originals(&self) -> Result<(usize, u64)> {
        let mut keep = std::collections::HashSet::new();
        for doc in self.store.documents() {
            if let Some(source) = doc?.source {
                keep.insert(source.sha256);
            }
        }
        self.originals.sweep(&keep)
    }

    /// Rejects a parsed register file's records whose references the node
    /// does not hold ([`import::register::check_references`]).
    pub(crate) fn check_references(
        &self,
        parsed: import::register::RegisterParsed,
    ) -> Result<import::register::RegisterParsed> {
        import::register::check_references(parsed, &self.store)
    }

    /// A parsed register file checked against the register and stored as
    /// one unit: its kind, counts and rejections.
    fn import_register(
        &self,
        label: &str,
        options: &ImportOptions,
        parsed: import::register::RegisterParsed,
        progress: &dyn Fn(ImportProgress),
    ) -> Result<(&'static str, Counts, Vec<Rejection>)> {
        let (records, rejected) = self.check_references(parsed)?.into_records();
        let kind = records.kind();
        let (counts, rejected) =
            self.store_register(label, options, records, rejected, progress)?;
        Ok((kind, counts, rejected))
    }

    fn store_observations(
        &self,
        label: &str,
        options: &ImportOptions,
        parsed: Parsed<Observation>,
        progress: &dyn Fn(ImportProgress),
    ) -> Result<(Counts, Vec<Rejection>)> {
        self.check_strict(label, options, &parsed.rejected)?;
        let obs: Vec<_> = parsed.records.into_iter().map(|(_, o)| o).collect();
        progress(ImportProgress::Total(obs.len() as u64));
        let counts = self.store.upsert_observations(&obs)?;
        progress(ImportProgress::Done(obs.len() as u64));
        Ok((counts, parsed.rejected))
    }

    fn store_catalogue(
        &self,
        label: &str,
        options: &ImportOptions,
        parsed: Parsed<Indicator>,
        progress: &dyn Fn(ImportProgress),
    ) -> Result<(Counts, Vec<Rejection>)> {
        self.check_strict(label, options, &parsed.rejected)?;
        let entries: Vec<Indicator> = parsed.records.into_iter().map(|(_, i)| i).collect();
        progress(ImportProgress::Total(entries.len() as u64));
        let counts = self.store.upsert_catalogue(&entries)?;
        progress(ImportProgress::Done(entries.len() as u64));
        Ok((counts, parsed.rejected))
    }

    pub(super) fn check_strict(
        &self,
        file: &str,
        options: &ImportOptions,
        rejected: &[Rejection],
    ) -> Result<()> {
        if options.strict && !rejected.is_empty() {
            for r in rejected {
                tracing::debug!(%r, "rejected");
            }
            return Err(Error::Strict {
                file: file.to_string(),
                count: rejected.len(),
            });
        }
        Ok(())
    }

    /// Imports a JSON Lines file of documents in bounded memory: it is read
    /// and staged in the store [`DOCUMENT_BATCH`] documents at a time, and
    /// published as one unit once the whole file is read (and, with
    /// `--strict`, found clean); a refused or failed file leaves nothing.
    /// `--visibility` states the visibility of records that do not.
    fn import_documents(
        &self,
        label: &str,
        path: &Path,
        options: &ImportOptions,
        progress: &dyn Fn(ImportProgress),
    ) -> Result<(Published, Vec<Rejection>)> {
        let file = std::io::BufReader::with_capacity(256 * 1024, open_file(path)?);
        let mut reader = import::DocumentReader::new(label, file, &self.limits());
        let mut staged = self.store.begin_documents()?;
        loop {
            let batch = reader.next_incoming(DOCUMENT_BATCH)?;
            if batch.is_empty() {
                break;
            }
            let docs: Vec<Incoming> = batch
                .into_iter()
                .map(|(_, mut incoming)| {
                    if let (false, Some(visibility)) =
                        (incoming.visibility_stated, options.text.visibility)
                    {
                        incoming.document.visibility = visibility;
                        incoming.visibility_stated = true;
                    }
                    incoming
                })
                .collect();
            staged.stage_incoming(docs)?;
        }
        let rejected = reader.finish()?;
        self.check_strict(label, options, &rejected)?;
        Ok((self.publish_documents(staged, progress)?, rejected))
    }

    /// Publishes a file's staged documents (store first, flushed), then
    /// indexes the changed ones, read back from the store one at a time, in
    /// one commit that records the new generation.
    fn publish_documents(
        &self,
        staged: DocumentImport<'_>,
        progress: &dyn Fn(ImportProgress),
    ) -> Result<Published> {
        let counts = staged.counts();
        progress(ImportProgress::Total(
            (counts.added + counts.updated + counts.unchanged) as u64,
        ));
        let published = staged.publish()?;
        // Unchanged documents need no indexing; count them as done at once.
        progress(ImportProgress::Done(counts.unchanged as u64));
        if !published.added.is_empty() || !published.updated.is_empty() {
            let read = |id: &String| {
                self.store
                    .document(id)?
                    .map(|d| tudashalo_core::register::Searchable::of_document(&d))
                    .ok_or_else(|| {
                        Error::Internal(format!("document {id:?} vanished after publishing"))
                    })
            };
            self.index.apply(
                published.added.iter().map(read),
                published.updated.iter().map(read),
                published.generation,
                &|n| progress(ImportProgress::Done(n)),
            )?;
        }
        Ok((counts, published.visibility_changes))
    }
}

/// Progress of one file's import.
#[derive(Debug, Clone, Copy)]
pub enum ImportProgress {
    /// The number of records to store.
    Total(u64),
    /// This many more records are stored (and indexed).
    Done(u64),
}

/// What publishing a file's documents did: the counts, and the stored
/// documents whose visibility changed.
type Published = (Counts, Vec<VisibilityChange>);

/// How many documents of a file are parsed and staged at a time.
const DOCUMENT_BATCH: usize = 1_000;

/// How many one-file documents [`Node::import_files`] publishes together.
pub const ONE_FILE_BATCH: usize = 256;

/// How many one-file documents [`Node::import_files`] extracts at a time
/// (over as many threads as the machine has cores).
const PARALLEL_FILES: usize = 16;

/// `work` over `items` on as many threads as there are cores (at most one
/// per item), the results in the items' order.
fn in_parallel<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let done: std::sync::Mutex<Vec<(usize, R)>> = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = work(item);
                    done.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push((i, result));
                }
            });
        }
    });
    let mut done = done
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// What a file holds when its name decides, or (`.jsonl`) its first line:
/// a large file of documents is not read. An unreadable file is reported as
/// such before its type.
fn detect_by_name(path: &Path, options: &ImportOptions) -> Result<FileFormat> {
    let file = open_file(path)?;
    if import::is_jsonl(path) {
        return import::detect_jsonl(std::io::BufReader::new(file)).map_err(|e| {
            Error::File(FileError::new(
                &path.display().to_string(),
                format!("cannot read: {e}"),
            ))
        });
    }
    Ok(import::detect(path, &[], options.encoding)?)
}

fn open_file(path: &Path) -> Result<std::fs::File> {
    std::fs::File::open(path).map_err(|e| {
        Error::File(FileError::new(
            &path.display().to_string(),
            format!("cannot read: {e}"),
        ))
    })
}

/// A file for an extractor, refused before it is read when it is over
/// `max_file_bytes`.
fn read_capped(path: &Path, limits: &Limits) -> Result<Vec<u8>> {
    let label = path.display().to_string();
    let size = std::fs::metadata(path)
        .map_err(|e| Error::File(FileError::new(&label, format!("cannot read: {e}"))))?
        .len();
    import::extract::check_file_size(size, limits).map_err(|f| f.at(&label))?;
    read_file(path)
}

/// SHA-256 of `bytes`, lower-case hex.
fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The flags given to this import, applied over a stored document.
fn apply_given_flags(doc: &mut Document, meta: &TextMeta) {
    let flagged = |list: &[String]| import::common::clean_list(list);
    if let Some(kind) = meta.kind {
        doc.kind = kind;
    }
    if !meta.sectors.is_empty() {
        doc.sectors = flagged(&meta.sectors);
    }
    if !meta.settlements.is_empty() {
        doc.settlements = flagged(&meta.settlements);
    }
    if let Some(year) = meta.year {
        doc.year = Some(year);
    }
    if let Some(org) = meta.org.as_ref().filter(|o| !o.trim().is_empty()) {
        doc.org = Some(org.trim().to_string());
    }
    if let Some(visibility) = meta.visibility {
        doc.visibility = visibility;
    }
    if !meta.tags.is_empty() {
        doc.tags = flagged(&meta.tags);
    }
}

/// Where this import gave no flag, the stored document's metadata stays.
fn keep_stored_where_no_flag(doc: &mut Document, stored: &Document, meta: &TextMeta) {
    if meta.kind.is_none() {
        doc.kind = stored.kind;
    }
    if meta.sectors.is_empty() {
        doc.sectors = stored.sectors.clone();
    }
    if meta.settlements.is_empty() {
        doc.settlements = stored.settlements.clone();
    }
    if meta.year.is_none() && stored.year.is_some() {
        doc.year = stored.year;
    }
    if meta.org.is_none() {
        doc.org = stored.org.clone();
    }
    if meta.tags.is_empty() {
        doc.tags = stored.tags.clone();
    }
    // Visibility: the store keeps a stored document's visibility unless
    // `--visibility` states one (`Incoming::visibility_stated`).
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        Error::File(FileError::new(
            &path.display().to_string(),
            format!("cannot read: {e}"),
        ))
    })
}

#[cfg(test)]
mod register_tests;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod document_import_tests {
    use super::*;
    use crate::store::Store;
    use std::cell::RefCell;
    use tudashalo_core::search::{Audience, SearchQuery};

    /// A JSON Lines file of `count` small documents `d-00000`…, each with
    /// `word` in its body.
    fn jsonl(count: usize, word: &str) -> String {
        (0..count)
            .map(|i| {
                format!(
                    "{{\"id\":\"d-{i:05}\",\"title\":\"Dokumentum {i}\",\"body\":\"{word} szöveg\"}}\n"
                )
            })
            .collect()
    }

    fn documents(count: usize, word: &str) -> Vec<Document> {
        let text = jsonl(count, word);
        import::parse_documents("x.jsonl", text.as_bytes(), &Limits::default())
            .unwrap()
            .records
            .into_iter()
            .map(|(_, d)| d)
            .collect()
    }

    struct Folder {
        dir: tempfile::TempDir,
    }

    impl Folder {
        fn new() -> Folder {
            let dir = tempfile::tempdir().unwrap();
            Node::init(dir.path(), "proba", None).unwrap();
            Folder { dir }
        }

        fn open(&self) -> Node {
            Node::open(self.dir.path()).unwrap()
        }

        fn store(&self) -> Store {
            Store::open(&self.dir.path().join("store"), self.dir.path()).unwrap()
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        }
    }

    fn hits(node: &Node, text: &str) -> u64 {
        let query = SearchQuery {
            text: text.to_string(),
            limit: 1,
            ..SearchQuery::default()
        };
        node.search(&query, Audience::Operator, None).unwrap().total
    }

    /// Store and index agree: same generation, same documents.
    fn assert_consistent(node: &Node, documents: u64) {
        assert_eq!(
            node.index.state().map(|s| s.generation),
            Some(node.generation().unwrap())
        );
        assert_eq!(node.store.document_count() as u64, documents);
        assert_eq!(
            node.visible_documents(Audience::Operator).unwrap(),
            documents
        );
        assert_eq!(DocumentImport::staged_len(&node.store), 0);
    }

    #[test]
    fn a_crash_while_publishing_is_rolled_forward_and_the_index_rebuilt() {
        let folder = Folder::new();
        let node = folder.open();
        let report = node
            .import_file(
                &folder.write("alap.jsonl", &jsonl(3, "alap")),
                &ImportOptions::default(),
                &|_| {},
            )
            .unwrap();
        assert_eq!(report.added, 3);
        drop(node);

        // The file is published (new generation, marker set), a third of it
        // copied into `docs`, and the process dies: the index never hears.
        let store = folder.store();
        let mut staged = store.begin_documents().unwrap();
        for batch in documents(2_500, "friss").chunks(DOCUMENT_BATCH) {
            staged.stage(batch).unwrap();
        }
        assert_eq!(staged.crash_during_publish(800).unwrap(), 2);
        drop(store);

        let node = folder.open();
        assert_eq!(node.generation().unwrap(), 2);
        assert_consistent(&node, 2_500);
        assert_eq!(hits(&node, "friss"), 2_500);
        assert_eq!(hits(&node, "alap"), 0);
    }

    #[test]
    fn a_crash_before_publishing_leaves_nothing_and_the_file_imports_again() {
        let folder = Folder::new();
        let node = folder.open();
        let path = folder.write("alap.jsonl", &jsonl(3, "alap"));
        node.import_file(&path, &ImportOptions::default(), &|_| {})
            .unwrap();
        drop(node);

        let store = folder.store();
        let mut staged = store.begin_documents().unwrap();
        for batch in documents(2_500, "friss").chunks(DOCUMENT_BATCH) {
            staged.stage(batch).unwrap();
        }
        staged.crash_before_publish().unwrap();
        // Counted once the file is synced: records still in its write
        // buffer are not on disk yet.
        assert_eq!(DocumentImport::staged_len(&store), 2_500);
        drop(store);

        let node = folder.open();
        assert_eq!(node.generation().unwrap(), 1);
        assert_consistent(&node, 3);
        assert_eq!(hits(&node, "alap"), 3);
        assert_eq!(hits(&node, "friss"), 0);

        let path = folder.write("friss.jsonl", &jsonl(2_500, "friss"));
        let report = node
            .import_file(&path, &ImportOptions::default(), &|_| {})
            .unwrap();
        assert_eq!(
            (report.added, report.updated, report.unchanged),
            (2_497, 3, 0)
        );
        assert_eq!(node.generation().unwrap(), 2);
        assert_consistent(&node, 2_500);
        assert_eq!(hits(&node, "friss"), 2_500);
    }

    #[test]
    fn progress_is_told_the_total_then_every_document_once() {
        let folder = Folder::new();
        let node = folder.open();
        let path = folder.write("sok.jsonl", &jsonl(2_100, "sok"));
        let events = RefCell::new(Vec::new());
        let record = |p: ImportProgress| events.borrow_mut().push(p);
        node.import_file(&path, &ImportOptions::default(), &record)
            .unwrap();
        let events = events.take();
        assert!(
            matches!(events[0], ImportProgress::Total(2_100)),
            "{events:?}"
        );
        let done: u64 = events[1..]
            .iter()
            .map(|p| match p {
                ImportProgress::Done(n) => *n,
                ImportProgress::Total(_) => panic!("a second total: {events:?}"),
            })
            .sum();
        assert_eq!(done, 2_100);
    }
}
