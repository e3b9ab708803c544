//! The backup file's format: a zstd stream (with zstd's own checksum) of
//! frames, the last of which holds the SHA-256 of everything before it.
//!
//! ```text
//! "TUDASHALO BACKUP" (16 bytes), format version (u32 LE)
//! frame*: tag (u8), payload length (u32 LE), payload
//!   M  manifest: JSON (node, time, versions)
//!   T  the entries that follow are of this sled tree: its name
//!   E  one entry: key length (u32 LE), key, value
//!   F  a file of the data folder follows: JSON {path, size, mode}
//!   D  the next bytes of that file (at most 1 MiB)
//!   A  the writer failed: its message (a backup cut short)
//!   Z  the end: SHA-256 of every byte before this frame, then the
//!      summary as JSON (entries per tree, files, file bytes)
//! ```
//!
//! Nothing is trusted before the end frame's hash is checked, and the
//! reader refuses a frame longer than [`MAX_FRAME_BYTES`] before reading it,
//! so a damaged length cannot make it allocate without bound.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use ring::digest::{Context, SHA256};
use serde::{Deserialize, Serialize};

pub const MAGIC: &[u8; 16] = b"TUDASHALO BACKUP";
/// The version of this format; a reader refuses a newer one.
pub const FORMAT: u32 = 1;
/// The longest frame a reader accepts (a stored value is the longest).
pub const MAX_FRAME_BYTES: u32 = 256 * 1024 * 1024;
/// How much of a file one data frame carries.
pub const DATA_CHUNK: usize = 1024 * 1024;

pub const TAG_MANIFEST: u8 = b'M';
pub const TAG_TREE: u8 = b'T';
pub const TAG_ENTRY: u8 = b'E';
pub const TAG_FILE: u8 = b'F';
pub const TAG_DATA: u8 = b'D';
pub const TAG_ABORT: u8 = b'A';
pub const TAG_END: u8 = b'Z';

/// What a backup says about itself, first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    pub format: u32,
    /// The node's slug.
    pub node: String,
    /// When the snapshot was taken (RFC 3339, UTC).
    pub created: String,
    /// The tudashalo-node version that wrote it.
    pub version: String,
    /// The store's schema version ([`crate::store::SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// The store's document generation.
    pub generation: u64,
}

/// What a backup holds, last (and checked against what was read).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Contents {
    /// Entries per sled tree.
    pub trees: BTreeMap<String, u64>,
    /// Files of the data folder (configuration, originals, …).
    pub files: u64,
    pub file_bytes: u64,
}

/// Where a file of the data folder goes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileHeader {
    /// Relative to the data folder, `/`-separated.
    pub path: String,
    pub size: u64,
    /// Unix permission bits.
    pub mode: u32,
}

/// Writes frames into a zstd stream, hashing what it writes.
pub struct FrameWriter<W: Write> {
    out: zstd::stream::write::Encoder<'static, W>,
    hash: Context,
}

impl<W: Write> FrameWriter<W> {
    pub fn new(out: W) -> std::io::Result<FrameWriter<W>> {
        let mut out = zstd::stream::write::Encoder::new(out, 3)?;
        out.include_checksum(true)?;
        let mut writer = FrameWriter {
            out,
            hash: Context::new(&SHA256),
        };
        writer.raw(MAGIC)?;
        writer.raw(&FORMAT.to_le_bytes())?;
        Ok(writer)
    }

    fn raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hash.update(bytes);
        self.out.write_all(bytes)
    }

    /// One frame whose payload is the concatenation of `parts`.
    pub fn frame(&mut self, tag: u8, parts: &[&[u8]]) -> std::io::Result<()> {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let len = u32::try_from(len)
            .ok()
            .filter(|&l| l <= MAX_FRAME_BYTES)
            .ok_or_else(|| {
                std::io::Error::other(format!(
                    "a record of {len} bytes is longer than a backup frame may be ({MAX_FRAME_BYTES} bytes)"
                ))
            })?;
        self.raw(&[tag])?;
        self.raw(&len.to_le_bytes())?;
        for part in parts {
            self.raw(part)?;
        }
        Ok(())
    }

    /// The end frame, and the end of the zstd stream; returns the sink.
    pub fn finish(mut self, contents: &Contents) -> std::io::Result<W> {
        let digest = self.hash.clone().finish();
        let json = serde_json::to_vec(contents).map_err(std::io::Error::other)?;
        self.frame(TAG_END, &[digest.as_ref(), &json])?;
        self.out.finish()
    }

    /// An abort frame (the writer failed), and the end of the stream, so
    /// that a reader gets the reason rather than a truncated stream.
    pub fn abort(mut self, message: &str) -> std::io::Result<W> {
        self.frame(TAG_ABORT, &[message.as_bytes()])?;
        self.out.finish()
    }
}

/// One frame as read.
#[derive(Debug)]
pub struct Frame {
    pub tag: u8,
    pub payload: Vec<u8>,
    /// Where it starts in the decompressed stream.
    pub offset: u64,
}

/// Reads frames from a backup file, checking the magic, the version and
/// every length; [`FrameReader::check_end`] checks the hash.
pub struct FrameReader<R: Read> {
    input: zstd::stream::read::Decoder<'static, std::io::BufReader<R>>,
    hash: Context,
    offset: u64,
}

/// Why a backup cannot be read: the message says where.
pub type ReadError = String;

impl<R: Read> FrameReader<R> {
    pub fn new(input: R) -> Result<FrameReader<R>, ReadError> {
        let input = zstd::stream::read::Decoder::new(input)
            .map_err(|e| format!("not a Tudásháló backup (not a zstd stream: {e})"))?;
        let mut reader = FrameReader {
            input,
            hash: Context::new(&SHA256),
            offset: 0,
        };
        let mut magic = [0u8; 16];
        reader
            .exact(&mut magic)
            .map_err(|e| format!("not a Tudásháló backup ({e})"))?;
        if &magic != MAGIC {
            return Err(
                "not a Tudásháló backup (its first bytes are not \"TUDASHALO BACKUP\")".into(),
            );
        }
        let mut version = [0u8; 4];
        reader.exact(&mut version)?;
        let version = u32::from_le_bytes(version);
        if version > FORMAT {
            return Err(format!(
                "backup format {version} is newer than this tudashalo-node reads ({FORMAT}); restore it with a newer version"
            ));
        }
        Ok(reader)
    }

    fn exact(&mut self, buf: &mut [u8]) -> Result<(), ReadError> {
        self.input.read_exact(buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                format!(
                    "truncated at byte {} of its contents: the file is incomplete",
                    self.offset
                )
            } else {
                format!("damaged at byte {} of its contents: {e}", self.offset)
            }
        })?;
        self.hash.update(buf);
        self.offset += buf.len() as u64;
        Ok(())
    }

    /// The next frame. The hash covers it only after the call; the end
    /// frame's own bytes are checked by [`FrameReader::check_end`].
    pub fn next_frame(&mut self) -> Result<Frame, ReadError> {
        let offset = self.offset;
        let before = self.hash.clone();
        let mut head = [0u8; 5];
        self.exact(&mut head)?;
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]);
        if len > MAX_FRAME_BYTES {
            return Err(format!(
                "damaged at byte {offset}: a frame of {len} bytes (at most {MAX_FRAME_BYTES})"
            ));
        }
        let mut payload = vec![0u8; len as usize];
        self.exact(&mut payload)?;
        if head[0] == TAG_END {
            // The end frame's hash is of what came before it.
            self.hash = before;
        }
        Ok(Frame {
            tag: head[0],
            payload,
            offset,
        })
    }

    /// Checks the end frame: its hash against everything read before it,
    /// and that nothing follows. Returns its summary.
    pub fn check_end(&mut self, end: &Frame) -> Result<Contents, ReadError> {
        if end.payload.len() < 32 {
            return Err(format!("damaged at byte {}: a short end frame", end.offset));
        }
        let digest = self.hash.clone().finish();
        if digest.as_ref() != &end.payload[..32] {
            return Err("damaged: its checksum does not match its contents (SHA-256)".to_string());
        }
        let contents: Contents = serde_json::from_slice(&end.payload[32..])
            .map_err(|e| format!("damaged at byte {}: its summary: {e}", end.offset))?;
        let mut rest = [0u8; 1];
        match self.input.read(&mut rest) {
            Ok(0) => Ok(contents),
            Ok(_) => Err(format!(
                "damaged: bytes after its end (at byte {})",
                self.offset
            )),
            Err(e) => Err(format!("damaged after its end: {e}")),
        }
    }
}

/// Splits an entry frame's payload into key and value.
pub fn split_entry(frame: &Frame) -> Result<(&[u8], &[u8]), ReadError> {
    let bad = || format!("damaged at byte {}: a malformed entry", frame.offset);
    let len: [u8; 4] = frame
        .payload
        .get(..4)
        .ok_or_else(bad)?
        .try_into()
        .map_err(|_| bad())?;
    let len = u32::from_le_bytes(len) as usize;
    let rest = &frame.payload[4..];
    if len > rest.len() {
        return Err(bad());
    }
    Ok(rest.split_at(len))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut w = FrameWriter::new(Vec::new()).unwrap();
        w.frame(TAG_MANIFEST, &[b"{}"]).unwrap();
        w.frame(TAG_TREE, &[b"docs"]).unwrap();
        for i in 0..50u32 {
            let key = format!("doc-{i}");
            w.frame(
                TAG_ENTRY,
                &[
                    &(key.len() as u32).to_le_bytes(),
                    key.as_bytes(),
                    "{\"title\":\"Cím\"}".as_bytes(),
                ],
            )
            .unwrap();
        }
        w.finish(&Contents::default()).unwrap()
    }

    fn read_all(bytes: &[u8]) -> Result<usize, ReadError> {
        let mut r = FrameReader::new(bytes)?;
        let mut n = 0;
        loop {
            let frame = r.next_frame()?;
            if frame.tag == TAG_END {
                r.check_end(&frame)?;
                return Ok(n);
            }
            n += 1;
        }
    }

    #[test]
    fn a_backup_reads_back_whole() {
        assert_eq!(read_all(&sample()).unwrap(), 52);
    }

    #[test]
    fn every_truncation_is_refused() {
        let bytes = sample();
        for cut in 0..bytes.len() {
            assert!(
                read_all(&bytes[..cut]).is_err(),
                "cut at {cut} was accepted"
            );
        }
    }

    /// Refused, unless the flip is in zstd's framing and changes nothing
    /// of what it decodes to (a larger window, say).
    #[test]
    fn every_flipped_byte_is_refused_or_harmless() {
        let bytes = sample();
        let plain = zstd::decode_all(&bytes[..]).unwrap();
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x20;
            if read_all(&damaged).is_ok() {
                assert_eq!(
                    zstd::decode_all(&damaged[..]).unwrap(),
                    plain,
                    "a flip at {at}"
                );
            }
        }
    }

    #[test]
    fn an_abort_frame_carries_the_reason() {
        let mut w = FrameWriter::new(Vec::new()).unwrap();
        w.frame(TAG_TREE, &[b"docs"]).unwrap();
        let bytes = w.abort("the disk is full").unwrap();
        let mut r = FrameReader::new(&bytes[..]).unwrap();
        r.next_frame().unwrap();
        let abort = r.next_frame().unwrap();
        assert_eq!(
            (abort.tag, &abort.payload[..]),
            (TAG_ABORT, &b"the disk is full"[..])
        );
    }

    #[test]
    fn a_huge_frame_length_is_refused_before_it_is_read() {
        let mut plain = MAGIC.to_vec();
        plain.extend_from_slice(&FORMAT.to_le_bytes());
        plain.push(TAG_ENTRY);
        plain.extend_from_slice(&u32::MAX.to_le_bytes());
        let bytes = zstd::encode_all(&plain[..], 3).unwrap();
        let mut r = FrameReader::new(&bytes[..]).unwrap();
        let e = r.next_frame().unwrap_err();
        assert!(e.contains("at most"), "{e}");
    }
}
