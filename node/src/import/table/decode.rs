//! Decoding a table's bytes into text, as `--encoding` says: UTF-8 with or
//! without BOM, Windows-1250, or (by default) whichever of the two the bytes
//! are.

use std::borrow::Cow;

use super::super::common::{UTF8_BOM, decode_lenient, windows_1250};
use super::super::{Encoding, FileError};

/// Turns the file's bytes into text, as the chosen encoding says.
pub(super) fn decode<'a>(
    file: &str,
    bytes: &'a [u8],
    enc: Encoding,
) -> Result<Cow<'a, str>, FileError> {
    let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    match enc {
        Encoding::Auto => Ok(decode_lenient(bytes)),
        Encoding::Utf8 => match std::str::from_utf8(bytes) {
            Ok(text) => Ok(Cow::Borrowed(text)),
            Err(e) => {
                let line = bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1;
                Err(FileError::new(
                    file,
                    format!("not valid UTF-8 (line {line}); use --encoding windows-1250"),
                ))
            }
        },
        Encoding::Windows1250 => Ok(windows_1250(bytes)),
    }
}
