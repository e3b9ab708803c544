//! Reading the parts of an office file's zip container, safely.
//!
//! A zip's headers say how large each entry is, and a hostile file can lie,
//! so nothing here trusts them: every part is read through the decompressor
//! while counting what comes out, and reading stops at the first cap passed
//! ([`MAX_ENTRIES`], [`MAX_PART_BYTES`], [`MAX_TOTAL_BYTES`],
//! [`MAX_RATIO`]). Only the parts an extractor asks for are decompressed;
//! images and embedded objects are never opened. This module knows zips, not
//! XML: what a part means is the extractors' business.

use std::io::{Cursor, Read};

use zip::ZipArchive;
use zip::result::ZipError;

use super::{Failure, FailureKind};

/// The largest office file accepted, in bytes, before it is opened at all.
pub const MAX_FILE_BYTES: usize = 256 * 1024 * 1024;

/// The most entries a container may list. Real documents hold tens to a few
/// hundred (parts, images, relationships); a central directory of millions
/// of entries is an attack on the reader, not a document.
pub const MAX_ENTRIES: usize = 10_000;

/// The most bytes one part may decompress to.
pub const MAX_PART_BYTES: u64 = 64 * 1024 * 1024;

/// The most bytes all parts read from one file may decompress to together.
pub const MAX_TOTAL_BYTES: u64 = 128 * 1024 * 1024;

/// The highest ratio of decompressed to compressed bytes a part may reach
/// once it is past [`RATIO_FLOOR`]. Document XML compresses 5–30 times,
/// and markup repeated paragraph after paragraph a little over 100 times;
/// deflate's own ceiling is about 1030, which is what a zip bomb of zeros
/// reaches. The absolute caps bound memory either way; this one stops a bomb
/// early, after a megabyte rather than 64.
pub const MAX_RATIO: u64 = 250;

/// Below this many decompressed bytes the ratio is not checked: a small part
/// (a few repeated tags) may compress very well and still be harmless.
pub const RATIO_FLOOR: u64 = 1024 * 1024;

/// How much is decompressed at a time between checks of the caps.
const CHUNK: usize = 64 * 1024;

/// The caps in force: the constants above, smaller in tests so that each
/// cap can be reached without building hundreds of megabytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caps {
    pub part_bytes: u64,
    pub total_bytes: u64,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            part_bytes: MAX_PART_BYTES,
            total_bytes: MAX_TOTAL_BYTES,
        }
    }
}

/// An opened container and what has been read from it so far.
pub(crate) struct Container<'a> {
    archive: ZipArchive<Cursor<&'a [u8]>>,
    caps: Caps,
    /// Decompressed bytes read so far, across parts, for [`MAX_TOTAL_BYTES`].
    total: u64,
}

impl<'a> Container<'a> {
    /// Opens `bytes` as a zip, checking the file and entry caps.
    pub(crate) fn open(bytes: &'a [u8], caps: Caps) -> Result<Self, Failure> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(Failure::new(
                FailureKind::TooLarge,
                format!(
                    "the file is {} bytes, over MAX_FILE_BYTES ({MAX_FILE_BYTES} bytes)",
                    bytes.len()
                ),
            ));
        }
        // The zip reader builds a record for every entry of the central
        // directory before it can be asked how many there are, so a
        // directory of millions is refused by its declared count first.
        if let Some(declared) = declared_entries(bytes)
            && declared > MAX_ENTRIES
        {
            return Err(too_many_entries(declared));
        }
        let archive = ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| Failure::new(FailureKind::Corrupt, format!("not a zip container: {e}")))?;
        if archive.len() > MAX_ENTRIES {
            return Err(too_many_entries(archive.len()));
        }
        Ok(Container {
            archive,
            caps,
            total: 0,
        })
    }

    /// The decompressed bytes of the part `name`, or `None` when the
    /// container has no such part.
    pub(crate) fn part(&mut self, name: &str) -> Result<Option<Vec<u8>>, Failure> {
        let mut entry = match self.archive.by_name(name) {
            Ok(entry) => entry,
            Err(ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(zip_failure(name, e)),
        };
        let compressed = entry.compressed_size().max(1);
        let mut out = Vec::new();
        let mut chunk = vec![0u8; CHUNK];
        loop {
            let n = entry.read(&mut chunk).map_err(|e| {
                Failure::new(
                    FailureKind::Corrupt,
                    format!("{name}: cannot decompress: {e}"),
                )
            })?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
            let read = out.len() as u64;
            if read > self.caps.part_bytes {
                return Err(too_large(
                    name,
                    format!(
                        "decompresses to over MAX_PART_BYTES ({} bytes)",
                        self.caps.part_bytes
                    ),
                ));
            }
            if self.total + read > self.caps.total_bytes {
                return Err(too_large(
                    name,
                    format!(
                        "the parts read decompress to over MAX_TOTAL_BYTES ({} bytes)",
                        self.caps.total_bytes
                    ),
                ));
            }
            if read > RATIO_FLOOR && read / compressed > MAX_RATIO {
                return Err(too_large(
                    name,
                    format!(
                        "{read} bytes from {compressed} compressed, over MAX_RATIO ({MAX_RATIO}:1): a zip bomb"
                    ),
                ));
            }
        }
        self.total += out.len() as u64;
        Ok(Some(out))
    }
}

fn too_many_entries(entries: usize) -> Failure {
    Failure::new(
        FailureKind::TooLarge,
        format!("the container lists {entries} entries, over MAX_ENTRIES ({MAX_ENTRIES})"),
    )
}

/// The entry count of the end-of-central-directory record, when the file
/// has one that states it (a ZIP64 archive says 0xFFFF here, and is left to
/// the zip reader, which counts anyway).
fn declared_entries(bytes: &[u8]) -> Option<usize> {
    const EOCD: &[u8] = b"PK\x05\x06";
    /// The record is 22 bytes, followed by a comment of at most 65 535.
    const SEARCHED: usize = 22 + 65_535;
    let start = bytes.len().saturating_sub(SEARCHED);
    let tail = &bytes[start..];
    let at = tail.windows(EOCD.len()).rposition(|w| w == EOCD)?;
    let count = tail.get(at + 10..at + 12)?;
    let count = u16::from_le_bytes([count[0], count[1]]);
    (count != u16::MAX).then_some(usize::from(count))
}

fn too_large(name: &str, why: String) -> Failure {
    Failure::new(FailureKind::TooLarge, format!("{name}: {why}"))
}

/// What a zip error opening the part `name` means to the operator.
fn zip_failure(name: &str, e: ZipError) -> Failure {
    match e {
        ZipError::UnsupportedArchive(ZipError::PASSWORD_REQUIRED) | ZipError::InvalidPassword => {
            Failure::new(
                FailureKind::Encrypted,
                format!("{name} is password-protected"),
            )
        }
        ZipError::UnsupportedArchive(_) | ZipError::CompressionMethodNotSupported(_) => {
            Failure::new(FailureKind::Unsupported, format!("{name}: {e}"))
        }
        e => Failure::new(FailureKind::Corrupt, format!("{name}: {e}")),
    }
}
