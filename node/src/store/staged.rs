//! The staged documents of an import in progress: one append-only file in
//! the store's folder, beside sled's own, not a sled tree.
//!
//! Staging in a tree wrote every changed document into sled twice (staged,
//! then published into `docs`) and left the staged copies' space to sled,
//! which does not give a log segment back to the file system unless it is
//! the last one: an import of 17 MiB of documents left a 100 MiB store.
//! The file is written once, read once when publishing, and deleted.
//!
//! Records follow a header ([`MAGIC`]): key length and value length (both
//! `u32`, little-endian), then the key (the document id) and the value (as
//! `docs` stores it, [`super::codec`]). The file is synced before the
//! publish marker names it and removed only after the marker is cleared
//! (see the store's module documentation), so a crash leaves either a file
//! to discard or a complete one to publish again.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The file's name in the store's folder.
const FILE_NAME: &str = "staged-documents";
/// The first bytes of the file: what it is, and the version of its layout.
const MAGIC: &[u8; 8] = b"THSTAGE1";
/// No id is this long (they are refused far earlier); a longer length read
/// back is damage, not an allocation to make.
const MAX_KEY: u32 = 1 << 20;

/// Where the staged file of the store in `store_dir` lives.
pub(super) fn path(store_dir: &Path) -> PathBuf {
    store_dir.join(FILE_NAME)
}

/// The staged file being written.
#[derive(Debug)]
pub(super) struct StagedFile {
    path: PathBuf,
    out: BufWriter<File>,
}

impl StagedFile {
    /// Creates (or empties) the file at `path`.
    pub(super) fn create(path: &Path) -> Result<StagedFile> {
        let file = File::create(path).map_err(|e| io("creating", path, e))?;
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        out.write_all(MAGIC).map_err(|e| io("writing", path, e))?;
        Ok(StagedFile {
            path: path.to_path_buf(),
            out,
        })
    }

    /// Appends one document's key and stored value.
    pub(super) fn append(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        let too_long = || Error::Internal(format!("a staged record of {} bytes", value.len()));
        let key_len = u32::try_from(key.len()).map_err(|_| too_long())?;
        let value_len = u32::try_from(value.len()).map_err(|_| too_long())?;
        let write = |out: &mut BufWriter<File>| -> std::io::Result<()> {
            out.write_all(&key_len.to_le_bytes())?;
            out.write_all(&value_len.to_le_bytes())?;
            out.write_all(key)?;
            out.write_all(value)
        };
        write(&mut self.out).map_err(|e| io("writing", &self.path, e))
    }

    /// Writes out what is buffered and syncs the file to disk.
    pub(super) fn sync(&mut self) -> Result<()> {
        self.out
            .flush()
            .and_then(|()| self.out.get_ref().sync_all())
            .map_err(|e| io("syncing", &self.path, e))
    }
}

/// The records of the staged file at `path`, in the order written; `None`
/// if there is none.
pub(super) fn read(path: &Path) -> Result<Option<Records>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("opening", path, e)),
    };
    let mut input = BufReader::with_capacity(256 * 1024, file);
    let mut magic = [0u8; 8];
    let damaged = |what: &str| {
        Error::Corrupt(format!(
            "{}: {what} (the staged documents of an import)",
            path.display()
        ))
    };
    if input.read_exact(&mut magic).is_err() || &magic != MAGIC {
        return Err(damaged("not a staged-documents file"));
    }
    Ok(Some(Records {
        path: path.to_path_buf(),
        input,
        done: false,
    }))
}

/// Removes the staged file at `path`, if there is one.
pub(super) fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io("removing", path, e)),
    }
}

/// The records of a staged file, read one at a time.
#[derive(Debug)]
pub(super) struct Records {
    path: PathBuf,
    input: BufReader<File>,
    done: bool,
}

impl Records {
    fn next_record(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        let mut lengths = [0u8; 8];
        // A clean end is at a record boundary; anything else is damage.
        let mut first = [0u8; 1];
        let read = self
            .input
            .read(&mut first)
            .map_err(|e| io("reading", &self.path, e))?;
        if read == 0 {
            return Ok(None);
        }
        lengths[0] = first[0];
        let truncated = |path: &Path| {
            Error::Corrupt(format!(
                "{}: a record is cut short (the staged documents of an import)",
                path.display()
            ))
        };
        self.input
            .read_exact(&mut lengths[1..])
            .map_err(|_| truncated(&self.path))?;
        let [k0, k1, k2, k3, v0, v1, v2, v3] = lengths;
        let key_len = u32::from_le_bytes([k0, k1, k2, k3]);
        let value_len = u32::from_le_bytes([v0, v1, v2, v3]);
        if key_len > MAX_KEY {
            return Err(Error::Corrupt(format!(
                "{}: a record's key of {key_len} bytes (the staged documents of an import)",
                self.path.display()
            )));
        }
        let mut key = vec![0u8; key_len as usize];
        self.input
            .read_exact(&mut key)
            .map_err(|_| truncated(&self.path))?;
        // Read through `take`, so that a damaged length cannot allocate
        // more than the file holds.
        let mut value = Vec::new();
        (&mut self.input)
            .take(u64::from(value_len))
            .read_to_end(&mut value)
            .map_err(|e| io("reading", &self.path, e))?;
        if value.len() != value_len as usize {
            return Err(truncated(&self.path));
        }
        Ok(Some((key, value)))
    }
}

impl Iterator for Records {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_record().transpose();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

fn io(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::io(format!("{what} {}", path.display()), e)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn records_read_back_in_order_and_damage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let at = path(dir.path());
        assert!(read(&at).unwrap().is_none());
        let mut file = StagedFile::create(&at).unwrap();
        file.append(b"a", b"{}").unwrap();
        file.append(b"b", &[1, 2, 3]).unwrap();
        file.sync().unwrap();
        let records: Vec<_> = read(&at).unwrap().unwrap().collect::<Result<_>>().unwrap();
        assert_eq!(
            records,
            vec![
                (b"a".to_vec(), b"{}".to_vec()),
                (b"b".to_vec(), vec![1, 2, 3])
            ]
        );
        // Cut inside the last record.
        let bytes = std::fs::read(&at).unwrap();
        std::fs::write(&at, &bytes[..bytes.len() - 1]).unwrap();
        let read_back: Vec<_> = read(&at).unwrap().unwrap().collect();
        assert!(read_back[0].is_ok());
        let e = read_back[1].as_ref().unwrap_err().to_string();
        assert!(e.contains("cut short") && e.contains(FILE_NAME), "{e}");
        std::fs::write(&at, b"garbage").unwrap();
        assert!(read(&at).is_err());
        remove(&at).unwrap();
        remove(&at).unwrap();
        assert!(!at.exists());
    }
}
