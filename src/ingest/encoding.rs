//! Strict encoding detection: a BOM means UTF-8; else valid UTF-8; else
//! GB18030 (what Excel on a Chinese Windows saves); a file that is neither
//! is refused whole, with the offset of the first byte that fits neither.
//!
//! Nothing is transcoded up front: GB18030 never uses the bytes of `,`,
//! `"`, CR or LF inside a multi-byte character (trail bytes are ≥ 0x30),
//! so the CSV structure is parsed on the bytes as sent, offsets stay true to
//! the file, and only the cells that are read get decoded.

use std::borrow::Cow;

use encoding_rs::{DecoderResult, GB18030};
use serde::Serialize;

use crate::config::pipeline::EncodingChoice;

const BOM: &[u8] = b"\xEF\xBB\xBF";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    #[serde(rename = "utf-8")]
    Utf8,
    #[serde(rename = "utf-8-bom")]
    Utf8Bom,
    Gb18030,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Bom => "utf-8-bom",
            Encoding::Gb18030 => "gb18030",
        }
    }

    /// Bytes before the first header byte (the BOM).
    pub fn body_offset(self) -> usize {
        match self {
            Encoding::Utf8Bom => BOM.len(),
            _ => 0,
        }
    }

    /// Decodes one cell of a file already checked to be in this encoding.
    pub fn decode<'a>(self, bytes: &'a [u8]) -> Cow<'a, str> {
        match self {
            // The file is valid UTF-8 and a cell ends at an ASCII byte, so
            // the lossy branch is never taken; from_utf8 is the faster check.
            Encoding::Utf8 | Encoding::Utf8Bom => {
                std::str::from_utf8(bytes).map_or_else(|_| String::from_utf8_lossy(bytes), Cow::Borrowed)
            }
            Encoding::Gb18030 => GB18030.decode_without_bom_handling(bytes).0,
        }
    }
}

/// Why a file cannot be read as text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at offset {offset} (line {line})")]
pub struct EncodingError {
    pub offset: u64,
    pub line: u64,
    pub reason: &'static str,
}

impl EncodingError {
    fn at(bytes: &[u8], offset: usize, reason: &'static str) -> Self {
        let line = bytes[..offset].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        EncodingError { offset: offset as u64, line, reason }
    }
}

/// Tells the encoding of a whole file.
pub fn detect(bytes: &[u8], choice: EncodingChoice) -> Result<Encoding, EncodingError> {
    let has_bom = bytes.starts_with(BOM);
    let utf8 = || -> Result<Encoding, EncodingError> {
        let body = if has_bom { &bytes[BOM.len()..] } else { bytes };
        match std::str::from_utf8(body) {
            Ok(_) => Ok(if has_bom { Encoding::Utf8Bom } else { Encoding::Utf8 }),
            Err(e) => {
                let offset = e.valid_up_to() + if has_bom { BOM.len() } else { 0 };
                Err(EncodingError::at(bytes, offset, "invalid UTF-8"))
            }
        }
    };
    match choice {
        EncodingChoice::Utf8 => utf8(),
        EncodingChoice::Gb18030 => check_gb18030(bytes).map(|()| Encoding::Gb18030),
        EncodingChoice::Auto if has_bom => utf8(),
        EncodingChoice::Auto => utf8().or_else(|utf8_err| {
            check_gb18030(bytes).map(|()| Encoding::Gb18030).map_err(|gb_err| EncodingError {
                // Report the later of the two: the bytes up to it decode in
                // one of the encodings, so it is the nearer to the damage.
                reason: "undecodable byte",
                ..if gb_err.offset >= utf8_err.offset { gb_err } else { utf8_err }
            })
        }),
    }
}

fn check_gb18030(bytes: &[u8]) -> Result<(), EncodingError> {
    let mut decoder = GB18030.new_decoder_without_bom_handling();
    let mut scratch = vec![0u8; 64 * 1024];
    let mut read_total = 0;
    loop {
        let (result, read, _) = decoder.decode_to_utf8_without_replacement(&bytes[read_total..], &mut scratch, true);
        read_total += read;
        match result {
            DecoderResult::InputEmpty => return Ok(()),
            DecoderResult::OutputFull => continue,
            DecoderResult::Malformed(bad, extra) => {
                let offset = read_total - usize::from(bad) - usize::from(extra);
                return Err(EncodingError::at(bytes, offset, "invalid GB18030"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb18030_never_hides_csv_structure_bytes() {
        // Every non-ASCII character, encoded: no byte of it may be a comma,
        // a quote, CR or LF, or the CSV structure could not be read on the
        // raw bytes.
        let mut buf = [0u8; 4];
        for c in (0x80..=0x10FFFF).filter_map(char::from_u32) {
            let (bytes, _, unmappable) = GB18030.encode(c.encode_utf8(&mut buf));
            if unmappable {
                continue; // U+E5E5 alone has no GB18030 form in the WHATWG encoder
            }
            assert!(
                bytes.iter().all(|b| !matches!(b, b',' | b'"' | b'\r' | b'\n' | b';' | b'\t')),
                "{c:?} → {bytes:?}"
            );
        }
    }
}
