//! A node's disk footprint: the bytes its data folder takes, split into
//! the sled store (`store/`), the tantivy index (`index/`) and the rest
//! (originals, configuration, …), against the bytes of the files imported
//! into it.
//!
//! Two sizes of every file: *allocated* (`st_blocks × 512`, what `du`
//! counts and what the disk loses; sparse and preallocated files differ
//! from their length) and *apparent* (the length, what `du -b` counts). A
//! file with several hard links is counted once, as `du` does; symbolic
//! links are not followed.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

/// Bytes of a set of files.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Usage {
    /// `st_blocks × 512`, as `du`.
    pub allocated_bytes: u64,
    /// File lengths, as `du -b`.
    pub apparent_bytes: u64,
    pub files: u64,
}

impl Usage {
    fn add(&mut self, other: Usage) {
        self.allocated_bytes += other.allocated_bytes;
        self.apparent_bytes += other.apparent_bytes;
        self.files += other.files;
    }
}

/// One data folder.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Folder {
    /// `store/`: the sled database (documents, observations, audit log).
    pub store: Usage,
    /// `index/`: the tantivy index.
    pub index: Usage,
    /// Everything else (originals, `node.toml`, …).
    pub rest: Usage,
    pub total: Usage,
    /// Segments of the tantivy index (distinct `<uuid>.*` file stems).
    pub index_segments: usize,
}

/// Sizes `path` — a file, or a folder and everything under it — counting
/// each inode once (`seen` is shared by the walk of a whole data folder)
/// and noting the tantivy segments it meets in `segments`.
fn size_of(
    path: &Path,
    seen: &mut HashSet<(u64, u64)>,
    segments: &mut HashSet<String>,
) -> Result<Usage> {
    let meta = path
        .symlink_metadata()
        .with_context(|| format!("reading {}", path.display()))?;
    let mut usage = Usage::default();
    if meta.is_dir() {
        for entry in
            std::fs::read_dir(path).with_context(|| format!("reading {}", path.display()))?
        {
            usage.add(size_of(&entry?.path(), seen, segments)?);
        }
        return Ok(usage);
    }
    if let Some(stem) = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(segment_stem)
    {
        segments.insert(stem.to_string());
    }
    if meta.nlink() > 1 && !seen.insert((meta.dev(), meta.ino())) {
        return Ok(usage);
    }
    usage.allocated_bytes = meta.blocks() * 512;
    usage.apparent_bytes = meta.len();
    usage.files = 1;
    Ok(usage)
}

/// The segment a tantivy file belongs to: its 32-hex-digit stem.
fn segment_stem(file: &str) -> Option<&str> {
    let (stem, _) = file.split_once('.')?;
    (stem.len() == 32 && stem.bytes().all(|b| b.is_ascii_hexdigit())).then_some(stem)
}

impl Folder {
    /// Sizes the data folder `dir` (nothing if it does not exist).
    pub fn measure(dir: &Path) -> Result<Folder> {
        let mut folder = Folder::default();
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(folder),
            Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
        };
        let mut seen = HashSet::new();
        let mut index_stems = HashSet::new();
        let mut other_stems = HashSet::new();
        for entry in entries {
            let entry = entry?;
            let (part, stems) = match entry.file_name().to_str() {
                Some("store") => (&mut folder.store, &mut other_stems),
                Some("index") => (&mut folder.index, &mut index_stems),
                _ => (&mut folder.rest, &mut other_stems),
            };
            part.add(size_of(&entry.path(), &mut seen, stems)?);
        }
        for part in [folder.store, folder.index, folder.rest] {
            folder.total.add(part);
        }
        folder.index_segments = index_stems.len();
        Ok(folder)
    }
}

/// Every node's folder at one moment, against the input imported into it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Footprint {
    pub nodes: usize,
    /// Bytes of the files imported into these nodes.
    pub input_bytes: u64,
    /// Summed over the nodes.
    pub store: Usage,
    pub index: Usage,
    pub rest: Usage,
    pub total: Usage,
    pub index_segments: usize,
    /// `total.allocated_bytes / input_bytes`.
    pub ratio_allocated: f64,
    /// `total.apparent_bytes / input_bytes`.
    pub ratio_apparent: f64,
    /// The node whose allocated bytes are the most for its input, and
    /// that ratio (what "a node's footprint ≤ 1.5× its input" judges).
    pub largest_ratio_node: String,
    pub largest_ratio_allocated: f64,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

impl Footprint {
    /// Sums `nodes`: (name, data folder, bytes of its input files).
    pub fn measure<'a>(
        nodes: impl IntoIterator<Item = (&'a str, &'a Path, u64)>,
    ) -> Result<Footprint> {
        let mut f = Footprint::default();
        for (name, dir, input) in nodes {
            let folder = Folder::measure(dir)?;
            f.add(name, &folder, input);
        }
        Ok(f)
    }

    fn add(&mut self, name: &str, folder: &Folder, input_bytes: u64) {
        self.nodes += 1;
        self.input_bytes += input_bytes;
        self.store.add(folder.store);
        self.index.add(folder.index);
        self.rest.add(folder.rest);
        self.total.add(folder.total);
        self.index_segments += folder.index_segments;
        self.ratio_allocated = ratio(self.total.allocated_bytes, self.input_bytes);
        self.ratio_apparent = ratio(self.total.apparent_bytes, self.input_bytes);
        let mine = ratio(folder.total.allocated_bytes, input_bytes);
        if self.largest_ratio_node.is_empty() || mine > self.largest_ratio_allocated {
            self.largest_ratio_node = name.to_string();
            self.largest_ratio_allocated = mine;
        }
    }
}

/// The disk phase of a scale: every node after its import and after the
/// same files were imported into it again, and the one node holding every
/// document after its import.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Disk {
    pub after_import: Footprint,
    pub after_reimport: Footprint,
    /// The second `tudashalo-node import` of every node's files (the same
    /// commands), wall times summed.
    pub reimport: crate::run::Throughput,
    /// What the importer said of the second import: documents and
    /// observations it added, updated or found unchanged.
    pub reimport_added: u64,
    pub reimport_updated: u64,
    pub reimport_unchanged: u64,
    pub reimport_rejected: u64,
    pub single_after_import: Footprint,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_folder_is_split_into_store_index_and_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("store/blobs")).unwrap();
        std::fs::create_dir_all(d.join("index")).unwrap();
        std::fs::create_dir_all(d.join("originals/2c")).unwrap();
        std::fs::write(d.join("store/db"), vec![1u8; 10_000]).unwrap();
        std::fs::write(d.join("store/blobs/1"), vec![1u8; 100]).unwrap();
        let seg = "0123456789abcdef0123456789abcdef";
        std::fs::write(d.join(format!("index/{seg}.idx")), vec![2u8; 5_000]).unwrap();
        std::fs::write(d.join(format!("index/{seg}.store")), vec![2u8; 5_000]).unwrap();
        std::fs::write(d.join("index/meta.json"), b"{}").unwrap();
        std::fs::write(d.join("originals/2c/x"), vec![3u8; 3_000]).unwrap();
        std::fs::write(d.join("node.toml"), b"name = \"x\"\n").unwrap();
        // A hard link to an original is one file on disk.
        std::fs::hard_link(d.join("originals/2c/x"), d.join("originals/2c/y")).unwrap();
        // A sparse file: long, but hardly allocated.
        let sparse = std::fs::File::create(d.join("sparse")).unwrap();
        sparse.set_len(1 << 30).unwrap();

        let f = Folder::measure(d).unwrap();
        assert_eq!(f.store.apparent_bytes, 10_100);
        assert_eq!(f.store.files, 2);
        assert_eq!(f.index.apparent_bytes, 10_002);
        assert_eq!(f.index.files, 3);
        assert_eq!(f.index_segments, 1);
        assert_eq!(f.rest.files, 3, "{f:?}");
        assert_eq!(f.rest.apparent_bytes, 3_000 + 11 + (1 << 30));
        assert!(f.rest.allocated_bytes < 1 << 20, "{f:?}");
        assert_eq!(f.total.files, 8);
        assert_eq!(
            f.total.apparent_bytes,
            f.store.apparent_bytes + f.index.apparent_bytes + f.rest.apparent_bytes
        );
        // Whole blocks: at least the bytes written (the sparse file aside).
        assert!(f.store.allocated_bytes >= 10_100);
        assert_eq!(
            Folder::measure(&d.join("missing")).unwrap(),
            Folder::default()
        );
    }

    #[test]
    fn the_footprint_sums_nodes_and_names_the_worst_ratio() {
        let folder = |allocated, apparent| Folder {
            total: Usage {
                allocated_bytes: allocated,
                apparent_bytes: apparent,
                files: 1,
            },
            ..Folder::default()
        };
        let mut f = Footprint::default();
        f.add("a", &folder(1_000, 900), 1_000);
        f.add("b", &folder(3_000, 2_800), 1_500);
        f.add("c", &folder(500, 500), 1_000);
        assert_eq!(f.nodes, 3);
        assert_eq!(f.input_bytes, 3_500);
        assert_eq!(f.total.allocated_bytes, 4_500);
        assert!((f.ratio_allocated - 4_500.0 / 3_500.0).abs() < 1e-12);
        assert!((f.ratio_apparent - 4_200.0 / 3_500.0).abs() < 1e-12);
        assert_eq!(f.largest_ratio_node, "b");
        assert_eq!(f.largest_ratio_allocated, 2.0);
    }

    #[test]
    fn segment_stems_are_32_hex_digits() {
        assert_eq!(
            segment_stem("0123456789abcdef0123456789abcdef.fast"),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(segment_stem("meta.json"), None);
        assert_eq!(segment_stem(".tantivy-writer.lock"), None);
    }
}
