//! Strict encoding detection: a BOM means UTF-8; else valid UTF-8; else
//! GB18030 (what Excel on a Chinese Windows saves); a file that is neither
//! is refused whole, with the offset of the first byte that fits neither.
//! UTF-16 (Excel's "Unicode text", with or without its BOM) is refused too,
//! and said to be UTF-16.
//!
//! A refused file's rows are still shown in the quarantine as the agency
//! wrote them: decoded in the encoding it most likely is, each byte that
//! does not decode written as `\xFF` (see [`ReadAs`]).
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
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

    /// The bytes of one character in this encoding.
    pub fn encode_char(self, c: char) -> Vec<u8> {
        let mut buf = [0u8; 4];
        let utf8 = c.encode_utf8(&mut buf);
        match self {
            Encoding::Utf8 | Encoding::Utf8Bom => utf8.as_bytes().to_vec(),
            Encoding::Gb18030 => GB18030.encode(utf8).0.into_owned(),
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
#[error("{} at offset {offset} (line {line})", reason.en())]
pub struct EncodingError {
    pub offset: u64,
    pub line: u64,
    pub reason: Undecodable,
    /// What the file's text most likely is, to show its rows.
    pub read_as: ReadAs,
}

/// What is wrong with a file's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undecodable {
    /// The encoding was pinned to UTF-8.
    Utf8,
    /// The encoding was pinned to GB18030.
    Gb18030,
    /// Neither UTF-8 nor GB18030 decodes it.
    Either,
    Utf16,
}

impl Undecodable {
    pub fn en(self) -> &'static str {
        match self {
            Undecodable::Utf8 => "invalid UTF-8",
            Undecodable::Gb18030 => "invalid GB18030",
            Undecodable::Either => "undecodable byte",
            Undecodable::Utf16 => "UTF-16 text: save the file as UTF-8 or GB18030 (CSV UTF-8 in Excel)",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Undecodable::Utf8 => "UTF-8 编码无效",
            Undecodable::Gb18030 => "GB18030 编码无效",
            Undecodable::Either => "无法解码的字节",
            Undecodable::Utf16 => "UTF-16 编码：请另存为 UTF-8 或 GB18030（Excel 中的“CSV UTF-8”）",
        }
    }
}

impl EncodingError {
    /// What to tell a reader, in both languages.
    pub fn detail(&self) -> crate::reject::Detail {
        let zh = format!("{}，位于第 {} 字节（第 {} 行）", self.reason.zh(), self.offset, self.line);
        crate::reject::Detail::new(self.to_string(), zh)
    }

    fn at(bytes: &[u8], offset: usize, reason: Undecodable, read_as: ReadAs) -> Self {
        let line = bytes[..offset].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        EncodingError { offset: offset as u64, line, reason, read_as }
    }
}

/// The encoding a refused file is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAs {
    /// UTF-8 or GB18030, whichever decodes further: bytes that do not
    /// decode are shown escaped.
    Escaped(Encoding),
    /// UTF-16, little or big endian: transcoded before its records are
    /// split, since its line breaks and commas are two bytes each.
    Utf16 { little_endian: bool },
}

/// Decodes `bytes` in `enc` (UTF-8 or GB18030), each byte of a sequence
/// that does not decode written as `\xFF`: text a person can read that
/// still says exactly which bytes were sent.
pub fn decode_escaped(enc: Encoding, bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    match enc {
        Encoding::Utf8 | Encoding::Utf8Bom => {
            for chunk in bytes.utf8_chunks() {
                out.push_str(chunk.valid());
                escape_bytes(&mut out, chunk.invalid());
            }
        }
        Encoding::Gb18030 => {
            let mut decoder = GB18030.new_decoder_without_bom_handling();
            let mut rest = bytes;
            loop {
                let mut buf = String::with_capacity(rest.len() * 3 + 16);
                let (result, read) = decoder.decode_to_string_without_replacement(rest, &mut buf, true);
                out.push_str(&buf);
                match result {
                    DecoderResult::InputEmpty => break,
                    DecoderResult::OutputFull => rest = &rest[read..],
                    DecoderResult::Malformed(bad, extra) => {
                        let start = read - usize::from(bad) - usize::from(extra);
                        escape_bytes(&mut out, &rest[start..read - usize::from(extra)]);
                        rest = &rest[read - usize::from(extra)..];
                        decoder = GB18030.new_decoder_without_bom_handling();
                    }
                }
            }
        }
    }
    out
}

fn escape_bytes(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push_str(&format!("\\x{b:02X}"));
    }
}

/// Bytes of the start of a file looked at to tell UTF-16 without a BOM.
const SNIFF: usize = 4096;

/// UTF-16 told by its BOM, or without one by the zero bytes that ASCII
/// text has every other byte (at odd offsets little endian, even big).
fn utf16(bytes: &[u8]) -> Option<bool> {
    if bytes.starts_with(b"\xFF\xFE") {
        return Some(true);
    }
    if bytes.starts_with(b"\xFE\xFF") {
        return Some(false);
    }
    let head = &bytes[..bytes.len().min(SNIFF) & !1];
    if head.len() < 4 {
        return None;
    }
    let zeros = |parity: usize| head.iter().skip(parity).step_by(2).filter(|&&b| b == 0).count();
    let (even, odd) = (zeros(0), zeros(1));
    let pairs = head.len() / 2;
    // Mostly ASCII text: nearly every pair has its zero on one side.
    if odd * 10 >= pairs * 9 && even * 10 < pairs {
        Some(true)
    } else if even * 10 >= pairs * 9 && odd * 10 < pairs {
        Some(false)
    } else {
        None
    }
}

/// Tells the encoding of a whole file.
pub fn detect(bytes: &[u8], choice: EncodingChoice) -> Result<Encoding, EncodingError> {
    if let Some(little_endian) = utf16(bytes) {
        return Err(EncodingError::at(bytes, 0, Undecodable::Utf16, ReadAs::Utf16 { little_endian }));
    }
    let has_bom = bytes.starts_with(BOM);
    let utf8 = || -> Result<Encoding, EncodingError> {
        let body = if has_bom { &bytes[BOM.len()..] } else { bytes };
        match std::str::from_utf8(body) {
            Ok(_) => Ok(if has_bom { Encoding::Utf8Bom } else { Encoding::Utf8 }),
            Err(e) => {
                let offset = e.valid_up_to() + if has_bom { BOM.len() } else { 0 };
                let read_as = ReadAs::Escaped(if has_bom { Encoding::Utf8Bom } else { Encoding::Utf8 });
                Err(EncodingError::at(bytes, offset, Undecodable::Utf8, read_as))
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
                // one of the encodings, so it is the nearer to the damage,
                // and that encoding is the one to show the file in.
                reason: Undecodable::Either,
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
                return Err(EncodingError::at(bytes, offset, Undecodable::Gb18030, ReadAs::Escaped(Encoding::Gb18030)));
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

    #[test]
    fn escaped_decoding_is_lossy_decoding_with_the_bytes_named() {
        let cases: [&[u8]; 5] =
            [b"abc", b"\xD6\xD0\xCE\xC4\xFF,1", b"\x81\x30\x41x", b"\xC3\x28\xE4\xB8", b"\xE4\xB8\xAD\xFF\xFE"];
        for bytes in cases {
            for enc in [Encoding::Utf8, Encoding::Gb18030] {
                let escaped = decode_escaped(enc, bytes);
                let lossy = match enc {
                    Encoding::Gb18030 => GB18030.decode_without_bom_handling(bytes).0.into_owned(),
                    _ => String::from_utf8_lossy(bytes).into_owned(),
                };
                // What decodes is the same text; what does not is named
                // byte by byte instead of replaced.
                assert!(!escaped.contains('\u{FFFD}'), "{escaped}");
                let mut plain = String::new();
                let mut rest = escaped.as_str();
                while let Some(at) = rest.find("\\x") {
                    plain.push_str(&rest[..at]);
                    rest = &rest[at + 4..];
                }
                plain.push_str(rest);
                assert_eq!(plain, lossy.replace('\u{FFFD}', ""), "{bytes:?} {enc:?}");
            }
        }
        assert_eq!(decode_escaped(Encoding::Gb18030, b"\xD6\xD0\xFF"), "中\\xFF");
        assert_eq!(decode_escaped(Encoding::Utf8, b"\xE4\xB8\xAD\xFF"), "中\\xFF");
    }

    #[test]
    fn c1_controls_in_gb18030_start_with_the_bytes_searched_for() {
        for c in (0x80..=0x9F).filter_map(char::from_u32) {
            assert_eq!(Encoding::Gb18030.encode_char(c)[..2], [0x81, 0x30], "{c:?}");
        }
    }

    #[test]
    fn utf16_is_told_with_or_without_its_bom() {
        let text = "agency,year\r\nTJ-HRSS,2021\r\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(utf16(&le), Some(true));
        assert_eq!(utf16(&be), Some(false));
        assert_eq!(utf16(b"\xFF\xFEa"), Some(true));
        assert_eq!(utf16(text.as_bytes()), None);
        // A UTF-8 file with a stray NUL is not UTF-16.
        assert_eq!(utf16(b"agency,year\n\x00TJ-HRSS,2021\n"), None);
    }
}
