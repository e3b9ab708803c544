//! The original files documents were imported from, kept content-addressed
//! in the data folder (`originals/ab/abcdef…`, named by SHA-256), so that
//! whoever may see a document can download the file as the operator had it
//! (`GetOriginal`).
//!
//! A file is written before the store commits the document that names it
//! (to a temporary name, synced, then renamed), so a stored document never
//! points at a missing original; a crash in between leaves at worst an
//! original nothing names. Identical files are kept once. The originals
//! are part of the node's data (backups include them); the index is not.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The folder, under the data folder.
pub const DIR: &str = "originals";

#[derive(Debug, Clone)]
pub struct Originals {
    dir: PathBuf,
}

impl Originals {
    pub fn new(data: &Path) -> Originals {
        Originals {
            dir: data.join(DIR),
        }
    }

    /// Where the file with this hash is kept. `None` for a string that is
    /// not a SHA-256 in lower-case hex (so that a stored value can never
    /// name a path outside the folder).
    fn path(&self, sha256: &str) -> Option<PathBuf> {
        let valid = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| self.dir.join(&sha256[..2]).join(sha256))
    }

    /// Keeps `bytes` under `sha256` (their hash, computed by the caller),
    /// unless a file of that hash is already kept.
    pub fn put(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        let path = self
            .path(sha256)
            .ok_or_else(|| Error::Internal(format!("{sha256:?} is not a SHA-256")))?;
        if path.is_file() {
            return Ok(());
        }
        let folder = path
            .parent()
            .ok_or_else(|| Error::Internal("an original without a folder".into()))?;
        std::fs::create_dir_all(folder)
            .map_err(|e| Error::io(format!("creating {}", folder.display()), e))?;
        // Unique per writer: two threads may keep the same file at once.
        static WRITERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let writer = WRITERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let temporary = folder.join(format!(".{sha256}.{}-{writer}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut file = File::create(&temporary)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            // Another writer of the same file may have won: the same bytes.
            std::fs::rename(&temporary, &path)?;
            // The rename is durable once the folder is synced.
            File::open(folder)?.sync_all()
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            Error::io(format!("keeping the original {}", path.display()), e)
        })
    }

    /// The kept file with this hash, opened for reading.
    pub fn open(&self, sha256: &str) -> Result<Option<File>> {
        let Some(path) = self.path(sha256) else {
            return Ok(None);
        };
        match File::open(&path) {
            Ok(file) => Ok(Some(file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }

    /// Removes every kept file whose hash is not in `keep`, and temporary
    /// files a crash left behind. Returns the files and bytes removed.
    pub fn sweep(&self, keep: &std::collections::HashSet<String>) -> Result<(usize, u64)> {
        let mut removed = (0usize, 0u64);
        let Ok(folders) = std::fs::read_dir(&self.dir) else {
            return Ok(removed);
        };
        for folder in folders.flatten() {
            if !folder.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let entries = std::fs::read_dir(folder.path())
                .map_err(|e| Error::io(format!("reading {}", folder.path().display()), e))?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if keep.contains(&name) {
                    continue;
                }
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                std::fs::remove_file(entry.path())
                    .map_err(|e| Error::io(format!("removing {}", entry.path().display()), e))?;
                removed.0 += 1;
                removed.1 += size;
            }
        }
        Ok(removed)
    }

    /// Bytes kept, for `stats`.
    pub fn size_on_disk(&self) -> u64 {
        fn walk(dir: &Path) -> u64 {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return 0;
            };
            entries
                .flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => walk(&e.path()),
                    Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
                    Err(_) => 0,
                })
                .sum()
        }
        walk(&self.dir)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Read;

    const SHA: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn keeps_a_file_once_and_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let originals = Originals::new(dir.path());
        originals.put(SHA, b"hello").unwrap();
        originals.put(SHA, b"hello").unwrap();
        let mut text = String::new();
        originals
            .open(SHA)
            .unwrap()
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "hello");
        assert_eq!(originals.size_on_disk(), 5);
        let folder = dir.path().join(DIR).join("2c");
        assert_eq!(std::fs::read_dir(folder).unwrap().count(), 1);
    }

    #[test]
    fn a_sweep_keeps_what_is_named_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let originals = Originals::new(dir.path());
        let other = "a".repeat(64);
        originals.put(SHA, b"hello").unwrap();
        originals.put(&other, b"old").unwrap();
        std::fs::write(dir.path().join(DIR).join("2c").join(".x.1.tmp"), b"crash").unwrap();
        let keep = [SHA.to_string()].into_iter().collect();
        assert_eq!(originals.sweep(&keep).unwrap(), (2, 8));
        assert!(originals.open(SHA).unwrap().is_some());
        assert!(originals.open(&other).unwrap().is_none());
    }

    #[test]
    fn a_name_that_is_not_a_hash_names_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let originals = Originals::new(dir.path());
        for bad in ["../../etc/passwd", "", &SHA.to_uppercase(), &SHA[..63]] {
            assert!(originals.open(bad).unwrap().is_none(), "{bad}");
            assert!(originals.put(bad, b"x").is_err(), "{bad}");
        }
    }
}
