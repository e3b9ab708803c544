//! Backups of a node's data, taken while it serves, and their restore.
//!
//! A backup is one file ([`format`]): the node's sled trees as one state
//! ([`Store::snapshot`] holds off writes while it copies them; the audit
//! log is copied up to its head at one moment, appends going on, see
//! [`AuditLog::snapshot`]), then the files of the data folder —
//! `node.toml`, the kept originals, whatever else the operator keeps there
//! (keys and certificates included, so the file is written readable by its
//! owner only). The index is derived and left out: a restored node rebuilds
//! it. Taking one never blocks a search, and writes wait for it only while
//! the trees are copied.
//!
//! A node that serves holds sled's exclusive lock, so the backup is taken
//! by the serving process itself, asked over its control socket
//! ([`crate::control`]); a node that does not serve is backed up by the
//! command directly. Both go through [`write`].
//!
//! [`restore`] writes into a new folder next to the target and renames it
//! into place only when the whole file has been read and its checksum
//! matched: a truncated or damaged backup leaves nothing behind, and a
//! target that is not empty is refused before anything is read.

pub mod format;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::audit::{self, AuditLog};
use crate::error::{Error, Result};
use crate::store::{SCHEMA_VERSION, Store};
use format::{Contents, FileHeader, Frame, FrameReader, FrameWriter, Manifest};

/// The folders of a data folder that a backup leaves out or writes itself.
const STORE_DIR: &str = "store";
const INDEX_DIR: &str = "index";
/// Entries written to sled per batch when restoring.
const RESTORE_BATCH: usize = 1_000;

/// What the backup is of.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub store: &'a Store,
    pub audit: &'a AuditLog,
    /// The data folder.
    pub data: &'a Path,
    /// The node's slug.
    pub node: &'a str,
}

/// What a backup file holds: its manifest and contents, as read back.
/// Its JSON form is `backup --json` and `restore --json`'s `backup`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub manifest: Manifest,
    #[serde(flatten)]
    pub contents: Contents,
}

impl Summary {
    /// Entries of one tree.
    pub fn entries(&self, tree: &str) -> u64 {
        self.contents.trees.get(tree).copied().unwrap_or(0)
    }
}

/// Writes a backup of `source` into `out` and returns the sink. On a
/// failure after the start it ends the stream with an abort frame naming
/// the reason (so that a client reading it learns why), and returns the
/// error.
pub fn write<W: Write>(source: Source<'_>, out: W) -> Result<W> {
    let io = |e: std::io::Error| Error::io("writing the backup", e);
    let mut writer = FrameWriter::new(out).map_err(io)?;
    match write_frames(source, &mut writer) {
        Ok(contents) => writer.finish(&contents).map_err(io),
        Err(e) => {
            if let Err(also) = writer.abort(&e.to_string()) {
                tracing::debug!(error = %also, "could not end the failed backup");
            }
            Err(e)
        }
    }
}

fn write_frames<W: Write>(source: Source<'_>, w: &mut FrameWriter<W>) -> Result<Contents> {
    let io = |e: std::io::Error| Error::io("writing the backup", e);
    let manifest = Manifest {
        format: format::FORMAT,
        node: source.node.to_string(),
        created: audit::format_rfc3339(now_millis()),
        version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version: source.store.schema_version()?,
        generation: source.store.generation()?,
    };
    let json = serde_json::to_vec(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
    w.frame(format::TAG_MANIFEST, &[&json]).map_err(io)?;

    let mut contents = Contents::default();
    let mut current: Option<String> = None;
    let mut emit = |tree: &str, key: &[u8], value: &[u8]| -> Result<()> {
        if current.as_deref() != Some(tree) {
            w.frame(format::TAG_TREE, &[tree.as_bytes()]).map_err(io)?;
            current = Some(tree.to_string());
        }
        let key_len = u32::try_from(key.len()).map_err(|_| Error::Internal("a huge key".into()))?;
        w.frame(format::TAG_ENTRY, &[&key_len.to_le_bytes(), key, value])
            .map_err(io)?;
        *contents.trees.entry(tree.to_string()).or_default() += 1;
        Ok(())
    };
    source
        .store
        .snapshot(&[audit::TREE, audit::HEAD_TREE], |tree, key, value| {
            let tree = std::str::from_utf8(tree)
                .map_err(|_| Error::Corrupt(format!("a tree named {tree:?}")))?;
            emit(tree, key, value)
        })?;
    source.audit.snapshot(&mut emit)?;

    for (path, relative) in data_files(source.data)? {
        let read = |e| Error::io(format!("reading {}", path.display()), e);
        let file = std::fs::File::open(&path).map_err(read)?;
        let metadata = file.metadata().map_err(read)?;
        let header = FileHeader {
            path: relative,
            size: metadata.len(),
            mode: mode_of(&metadata),
        };
        let json = serde_json::to_vec(&header).map_err(|e| Error::Internal(e.to_string()))?;
        w.frame(format::TAG_FILE, &[&json]).map_err(io)?;
        let mut left = header.size;
        let mut input = file.take(header.size);
        let mut chunk = vec![0u8; format::DATA_CHUNK];
        while left > 0 {
            let n = input.read(&mut chunk).map_err(read)?;
            if n == 0 {
                return Err(Error::Internal(format!(
                    "{} became shorter while it was copied",
                    path.display()
                )));
            }
            w.frame(format::TAG_DATA, &[&chunk[..n]]).map_err(io)?;
            left -= n as u64;
        }
        contents.files += 1;
        contents.file_bytes += header.size;
    }
    Ok(contents)
}

/// The files of the data folder a backup keeps, with their paths relative
/// to it, in path order: all regular files but the store and index folders,
/// the control socket and unfinished temporary files (`.….tmp`).
fn data_files(data: &Path) -> Result<Vec<(PathBuf, String)>> {
    let mut out = Vec::new();
    let mut pending = vec![(data.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = pending.pop() {
        let listing = std::fs::read_dir(&dir)
            .map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
        for entry in listing {
            let entry = entry.map_err(|e| Error::io(format!("listing {}", dir.display()), e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                tracing::warn!(path = %entry.path().display(), "not in a backup: the name is not UTF-8");
                continue;
            };
            let relative = format!("{prefix}{name}");
            let top = prefix.is_empty();
            if top && [STORE_DIR, INDEX_DIR, crate::control::SOCKET].contains(&name.as_str())
                || (name.starts_with('.') && name.ends_with(".tmp"))
            {
                continue;
            }
            let kind = entry
                .file_type()
                .map_err(|e| Error::io(format!("reading {}", entry.path().display()), e))?;
            if kind.is_dir() {
                pending.push((entry.path(), format!("{relative}/")));
            } else if kind.is_file() {
                out.push((entry.path(), relative));
            } else {
                tracing::warn!(path = %entry.path().display(), "not in a backup: not a regular file");
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

#[cfg(unix)]
fn mode_of(metadata: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o777
}

#[cfg(not(unix))]
fn mode_of(_: &std::fs::Metadata) -> u32 {
    0o600
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What reading a backup does with what it reads.
trait Sink {
    fn tree(&mut self, name: &str) -> Result<()>;
    fn entry(&mut self, key: &[u8], value: &[u8]) -> Result<()>;
    fn file(&mut self, header: &FileHeader, path: &Path) -> Result<()>;
    fn data(&mut self, bytes: &[u8]) -> Result<()>;
}

/// Reads nothing into anything: [`check`].
struct Discard;

impl Sink for Discard {
    fn tree(&mut self, _: &str) -> Result<()> {
        Ok(())
    }
    fn entry(&mut self, _: &[u8], _: &[u8]) -> Result<()> {
        Ok(())
    }
    fn file(&mut self, _: &FileHeader, _: &Path) -> Result<()> {
        Ok(())
    }
    fn data(&mut self, _: &[u8]) -> Result<()> {
        Ok(())
    }
}

/// Reads `file` whole, checking every frame, the counts and the checksum;
/// writes nothing. `progress` hears the bytes read so far.
pub fn check(file: &Path, progress: &dyn Fn(u64)) -> Result<Summary> {
    read(file, &mut Discard, progress)
}

fn read(file: &Path, sink: &mut dyn Sink, progress: &dyn Fn(u64)) -> Result<Summary> {
    let fail = |message: String| Error::Backup {
        file: file.to_path_buf(),
        message,
    };
    let input = std::fs::File::open(file).map_err(|e| fail(format!("cannot open it: {e}")))?;
    let mut reader = FrameReader::new(input).map_err(fail)?;
    let first = reader.next_frame().map_err(fail)?;
    if first.tag != format::TAG_MANIFEST {
        return Err(fail("damaged: it does not start with its manifest".into()));
    }
    let manifest: Manifest = serde_json::from_slice(&first.payload)
        .map_err(|e| fail(format!("damaged: its manifest: {e}")))?;
    if manifest.schema_version > SCHEMA_VERSION {
        return Err(fail(format!(
            "it holds a store of schema {} (written by tudashalo-node {}); this binary reads up to {SCHEMA_VERSION}: restore it with a newer version",
            manifest.schema_version, manifest.version
        )));
    }
    let mut counted = Contents::default();
    let mut tree: Option<String> = None;
    // The file being read: its header and the bytes still to come.
    let mut open_file: Option<(FileHeader, u64)> = None;
    let mut last_report = 0;
    loop {
        let frame: Frame = reader.next_frame().map_err(fail)?;
        let at = frame.offset;
        if at - last_report >= 8 * 1024 * 1024 {
            progress(at);
            last_report = at;
        }
        let damaged = |what: &str| fail(format!("damaged at byte {at}: {what}"));
        if frame.tag != format::TAG_DATA
            && let Some((header, left)) = &open_file
            && *left > 0
        {
            return Err(damaged(&format!("{} ends {left} bytes early", header.path)));
        }
        match frame.tag {
            format::TAG_TREE => {
                let name = String::from_utf8(frame.payload.clone())
                    .map_err(|_| damaged("a tree name that is not UTF-8"))?;
                sink.tree(&name)?;
                tree = Some(name);
            }
            format::TAG_ENTRY => {
                let Some(name) = &tree else {
                    return Err(damaged("an entry before any tree"));
                };
                let (key, value) = format::split_entry(&frame).map_err(fail)?;
                sink.entry(key, value)?;
                *counted.trees.entry(name.clone()).or_default() += 1;
            }
            format::TAG_FILE => {
                let header: FileHeader = serde_json::from_slice(&frame.payload)
                    .map_err(|e| damaged(&format!("a file header: {e}")))?;
                let path = safe_path(&header.path).ok_or_else(|| {
                    damaged(&format!(
                        "a file path outside the data folder: {:?}",
                        header.path
                    ))
                })?;
                sink.file(&header, &path)?;
                counted.files += 1;
                counted.file_bytes += header.size;
                let size = header.size;
                open_file = Some((header, size));
            }
            format::TAG_DATA => {
                let Some((header, left)) = &mut open_file else {
                    return Err(damaged("file data outside a file"));
                };
                let n = frame.payload.len() as u64;
                if n > *left {
                    return Err(damaged(&format!(
                        "{} is longer than its header says",
                        header.path
                    )));
                }
                sink.data(&frame.payload)?;
                *left -= n;
            }
            format::TAG_ABORT => {
                return Err(fail(format!(
                    "incomplete: writing it failed: {}",
                    String::from_utf8_lossy(&frame.payload)
                )));
            }
            format::TAG_END => {
                let contents = reader.check_end(&frame).map_err(fail)?;
                if contents != counted {
                    return Err(fail(format!(
                        "damaged: it says it holds {contents:?} but holds {counted:?}"
                    )));
                }
                progress(reader_total(&frame));
                return Ok(Summary { manifest, contents });
            }
            other => return Err(damaged(&format!("an unknown frame {other:#04x}"))),
        }
    }
}

fn reader_total(end: &Frame) -> u64 {
    end.offset + 5 + end.payload.len() as u64
}

/// `path` (as a backup names it) as a relative path that stays inside the
/// data folder and is not the store or index folder; `None` otherwise.
fn safe_path(path: &str) -> Option<PathBuf> {
    if path.is_empty() || path.contains('\\') || path.contains('\0') {
        return None;
    }
    let candidate = Path::new(path);
    let mut components = candidate.components();
    let first = components.next()?;
    let all_normal = candidate
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    let reserved = matches!(first, Component::Normal(f) if f == STORE_DIR || f == INDEX_DIR);
    (all_normal && !reserved).then(|| candidate.to_path_buf())
}

/// Writes a backup's trees into a sled database and its files into a folder.
struct Restoring {
    root: PathBuf,
    db: sled::Db,
    tree: Option<sled::Tree>,
    batch: sled::Batch,
    batched: usize,
    file: Option<std::fs::File>,
}

impl Restoring {
    fn flush_batch(&mut self) -> Result<()> {
        if let Some(tree) = &self.tree
            && self.batched > 0
        {
            tree.apply_batch(std::mem::take(&mut self.batch))?;
        }
        self.batched = 0;
        Ok(())
    }
}

impl Sink for Restoring {
    fn tree(&mut self, name: &str) -> Result<()> {
        self.flush_batch()?;
        self.tree = Some(self.db.open_tree(name)?);
        Ok(())
    }

    fn entry(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.batch.insert(key, value);
        self.batched += 1;
        if self.batched >= RESTORE_BATCH {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn file(&mut self, header: &FileHeader, path: &Path) -> Result<()> {
        if let Some(previous) = self.file.take() {
            previous
                .sync_all()
                .map_err(|e| Error::io("syncing a restored file", e))?;
        }
        let target = self.root.join(path);
        let io = |e| Error::io(format!("writing {}", target.display()), e);
        if let Some(folder) = target.parent() {
            std::fs::create_dir_all(folder).map_err(io)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(header.mode & 0o777);
        }
        self.file = Some(options.open(&target).map_err(io)?);
        Ok(())
    }

    fn data(&mut self, bytes: &[u8]) -> Result<()> {
        match &mut self.file {
            Some(file) => file
                .write_all(bytes)
                .map_err(|e| Error::io("writing a restored file", e)),
            None => Err(Error::Internal("file data without a file".into())),
        }
    }
}

/// Restores the backup `file` into `dir`, which must be missing or empty.
/// Everything is written into a new folder beside `dir` first and renamed
/// into place only after the whole file has been read and checked; on any
/// failure that folder is removed and `dir` is as it was. The restored
/// store gets a new identity ([`Store::renew_identity`]); its index is
/// rebuilt when the node is next opened.
pub fn restore(file: &Path, dir: &Path, progress: &dyn Fn(u64)) -> Result<Summary> {
    let refuse = |message: String| Error::Backup {
        file: file.to_path_buf(),
        message,
    };
    if dir.exists() {
        let mut listing = std::fs::read_dir(dir)
            .map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
        if listing.next().is_some() {
            return Err(refuse(format!(
                "{} is not empty: a backup is restored into a new or empty folder (nothing was changed)",
                dir.display()
            )));
        }
    }
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| refuse(format!("{}: not a folder name", dir.display())))?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent)
        .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
    let staging = parent.join(format!(".{name}.restoring"));
    if staging.exists() {
        // Left by a restore that died; nothing else writes there.
        std::fs::remove_dir_all(&staging)
            .map_err(|e| Error::io(format!("removing {}", staging.display()), e))?;
    }
    let result = restore_into(file, &staging, progress).and_then(|summary| {
        if dir.exists() {
            std::fs::remove_dir(dir)
                .map_err(|e| Error::io(format!("replacing the empty {}", dir.display()), e))?;
        }
        std::fs::rename(&staging, dir).map_err(|e| {
            Error::io(
                format!("moving {} to {}", staging.display(), dir.display()),
                e,
            )
        })?;
        Ok(summary)
    });
    if result.is_err() && staging.exists() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    let summary = result?;
    let store = Store::open(&dir.join(STORE_DIR), dir)?;
    store.renew_identity()?;
    Ok(summary)
}

fn restore_into(file: &Path, staging: &Path, progress: &dyn Fn(u64)) -> Result<Summary> {
    std::fs::create_dir_all(staging)
        .map_err(|e| Error::io(format!("creating {}", staging.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(staging, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io(format!("protecting {}", staging.display()), e))?;
    }
    let db = sled::Config::new().path(staging.join(STORE_DIR)).open()?;
    let mut sink = Restoring {
        root: staging.to_path_buf(),
        db,
        tree: None,
        batch: sled::Batch::default(),
        batched: 0,
        file: None,
    };
    let summary = read(file, &mut sink, progress)?;
    sink.flush_batch()?;
    if let Some(file) = sink.file.take() {
        file.sync_all()
            .map_err(|e| Error::io("syncing a restored file", e))?;
    }
    sink.db.flush()?;
    Ok(summary)
}

/// Entries per tree, for reports: the trees people know by name.
pub fn counts(summary: &Summary) -> BTreeMap<&'static str, u64> {
    [
        ("documents", "docs"),
        ("observations", "obs"),
        ("catalogue", "catalogue"),
        ("audit_entries", audit::TREE),
    ]
    .into_iter()
    .map(|(label, tree)| (label, summary.entries(tree)))
    .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
