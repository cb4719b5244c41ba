//! Ingest: find the submission files, read each one's bytes once, hash them,
//! tell the encoding and the layout, and hand out its records with their
//! line and byte offset. No value is interpreted here (see `normalize`).

pub mod encoding;
pub mod header;
pub mod number;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

pub use encoding::{Encoding, EncodingError};
pub use header::{Column, HeaderError, HeaderMap};

use crate::config::pipeline::EncodingChoice;
use crate::config::{Layout, Layouts};
use crate::reject::Code;

/// The longest record (header or row) a submission may hold, in bytes: a
/// long 备注 fits many times over; anything longer is not a row of figures
/// (a file without line breaks, a binary pasted into a cell, millions of
/// columns) and is refused before any of it is decoded or copied.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// How much of an unusable record's text the quarantine keeps.
const MAX_SHOWN_CHARS: usize = 200;

/// `text` cut to [`MAX_SHOWN_CHARS`] characters, marked with `…`.
pub fn shown(text: &str) -> String {
    match text.char_indices().nth(MAX_SHOWN_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Index of a submission file in the run, in the order of relative paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FileId(pub u32);

/// A submission file found in the input directory.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub id: FileId,
    pub path: PathBuf,
    /// Path relative to the input directory, `/`-separated.
    pub rel: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot list {}: {source}", path.display())]
    List { path: PathBuf, source: std::io::Error },
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: file name is not valid UTF-8", path.display())]
    Name { path: PathBuf },
    #[error("{}: the file changed while the run read it (was {was}, now {now}); refusing to publish outputs from it", path.display())]
    Changed { path: PathBuf, was: String, now: String },
}

/// What a file looked like when it was read: size and modification time,
/// cheap to compare again later, and the SHA-256 of the bytes parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub len: u64,
    pub modified: Option<std::time::SystemTime>,
    pub sha256: String,
}

impl Stamp {
    fn of(path: &Path) -> Result<(u64, Option<std::time::SystemTime>), IngestError> {
        let m = std::fs::metadata(path).map_err(|source| IngestError::Read { path: path.to_owned(), source })?;
        Ok((m.len(), m.modified().ok()))
    }

    /// Checks that the file at `path` still holds what was read: when its
    /// size or time moved, its bytes are hashed again.
    pub fn verify(&self, path: &Path) -> Result<(), IngestError> {
        if Stamp::of(path)? == (self.len, self.modified) {
            return Ok(());
        }
        let bytes = std::fs::read(path).map_err(|source| IngestError::Read { path: path.to_owned(), source })?;
        let now = sha256_hex(&bytes);
        if now == self.sha256 {
            return Ok(());
        }
        Err(IngestError::Changed {
            path: path.to_owned(),
            was: format!("sha256 {}", self.sha256),
            now: format!("sha256 {now}"),
        })
    }
}

/// Every `*.csv` file under `dir` (recursively, skipping hidden entries),
/// sorted by relative path: the order files supersede each other in.
pub fn discover(dir: &Path) -> Result<Vec<SourceFile>, IngestError> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| IngestError::List { path: d.clone(), source })?;
        for entry in entries {
            let entry = entry.map_err(|source| IngestError::List { path: d.clone(), source })?;
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_str().ok_or_else(|| IngestError::Name { path: path.clone() })?;
            if name.starts_with('.') {
                continue;
            }
            let kind = entry.file_type().map_err(|source| IngestError::List { path: path.clone(), source })?;
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() && name.to_ascii_lowercase().ends_with(".csv") {
                found.push(path);
            }
        }
    }
    let mut files: Vec<(String, PathBuf)> = found
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(dir).unwrap_or(&p);
            let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            (rel, p)
        })
        .collect();
    files.sort();
    Ok(files.into_iter().enumerate().map(|(i, (rel, path))| SourceFile { id: FileId(i as u32), path, rel }).collect())
}

/// One submission file, read and checked at the file level.
pub struct Submission {
    pub file: SourceFile,
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub encoding: Result<Encoding, EncodingError>,
    pub stamp: Stamp,
}

impl Submission {
    pub fn read(file: SourceFile, choice: EncodingChoice) -> Result<Submission, IngestError> {
        let before = Stamp::of(&file.path)?;
        let bytes =
            std::fs::read(&file.path).map_err(|source| IngestError::Read { path: file.path.clone(), source })?;
        // A file written to while it was read: what was read is neither
        // the old file nor the new one.
        let after = Stamp::of(&file.path)?;
        if after != before || after.0 != bytes.len() as u64 {
            let show = |(len, _): (u64, _)| format!("{len} bytes");
            return Err(IngestError::Changed { path: file.path.clone(), was: show(before), now: show(after) });
        }
        let mut sub = Submission::from_bytes(file, bytes, choice);
        sub.stamp.len = before.0;
        sub.stamp.modified = before.1;
        Ok(sub)
    }

    pub fn from_bytes(file: SourceFile, bytes: Vec<u8>, choice: EncodingChoice) -> Submission {
        let sha256 = sha256_hex(&bytes);
        let encoding = encoding::detect(&bytes, choice);
        let stamp = Stamp { len: bytes.len() as u64, modified: None, sha256: sha256.clone() };
        Submission { file, bytes, sha256, encoding, stamp }
    }

    /// Reads the header, calls `visit` for every record after it, and
    /// returns what the header said (`None`: the file has no header row).
    /// The records of a file that cannot be used are still visited, with the
    /// reason in `Parsed::Refused`, so each is quarantined.
    pub fn parse(
        &self,
        layouts: &Layouts,
        pinned: Option<Layout>,
        delimiter: u8,
        mut visit: impl FnMut(&Parsed, &Record<'_>),
    ) -> Option<Parsed> {
        let enc = *self.encoding.as_ref().unwrap_or(&Encoding::Utf8);
        let offset = enc.body_offset();
        let body = &self.bytes[offset..];
        // A first line past the limit (a file without line breaks) is
        // refused before the CSV reader buffers it: the header record
        // holds at least that line.
        let first_line = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
        if first_line > MAX_RECORD_BYTES && self.encoding.is_ok() {
            let detail = format!("the first line is {first_line} bytes; at most {MAX_RECORD_BYTES}");
            return Some(Parsed::Refused(HeaderError { code: Code::LineTooLong, detail }));
        }
        let mut reader =
            csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(body);
        let mut raw = csv::ByteRecord::new();
        let at = |raw: &csv::ByteRecord| {
            let pos = raw.position().expect("records read from a reader have a position");
            // The reader ends a record at a CR and starts the next one at the
            // LF of the CRLF (and at any blank lines after it): step over
            // them so the line and byte are those of the record's first cell.
            let (mut line, mut byte) = (pos.line(), pos.byte() as usize);
            while let Some(&b @ (b'\r' | b'\n')) = body.get(byte) {
                line += u64::from(b == b'\n');
                byte += 1;
            }
            (line, (byte + offset) as u64)
        };
        // The csv reader only fails on I/O, and reads from memory.
        if !reader.read_byte_record(&mut raw).unwrap_or(false) {
            return None;
        }
        let (line, byte) = at(&raw);
        let header_record = Record { line, byte, raw: &raw, encoding: enc };
        let parsed = match &self.encoding {
            Err(e) => Parsed::Refused(HeaderError { code: Code::Encoding, detail: e.to_string() }),
            Ok(_) if header_record.too_long().is_some() => {
                let (_, len) = header_record.too_long().expect("checked");
                let detail = format!("the header is {len} bytes in {} cells; at most {MAX_RECORD_BYTES}", raw.len());
                Parsed::Refused(HeaderError { code: Code::LineTooLong, detail })
            }
            Ok(_) => {
                let names = (0..raw.len()).map(|i| header_record.cell(i).into_owned()).collect();
                match header::resolve(names, layouts, pinned) {
                    Ok((map, unknown)) => {
                        Parsed::Read { header: Box::new(map), unknown_columns: unknown, header_line: line }
                    }
                    Err(e) => Parsed::Refused(e),
                }
            }
        };
        while reader.read_byte_record(&mut raw).unwrap_or(false) {
            let (line, byte) = at(&raw);
            visit(&parsed, &Record { line, byte, raw: &raw, encoding: enc });
        }
        Some(parsed)
    }
}

/// The outcome of reading a file's header.
pub enum Parsed {
    Read { header: Box<HeaderMap>, unknown_columns: Vec<usize>, header_line: u64 },
    Refused(HeaderError),
}

/// One CSV record with where it starts in the file.
pub struct Record<'r> {
    pub line: u64,
    pub byte: u64,
    raw: &'r csv::ByteRecord,
    encoding: Encoding,
}

impl<'r> Record<'r> {
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// Cell `i` decoded as sent (not trimmed); empty past the last cell.
    pub fn cell(&self, i: usize) -> Cow<'r, str> {
        self.raw.get(i).map_or(Cow::Borrowed(""), |b| self.encoding.decode(b))
    }

    /// For a record longer than [`MAX_RECORD_BYTES`]: its longest cell and
    /// its length in bytes.
    pub fn too_long(&self) -> Option<(usize, usize)> {
        let len = self.raw.as_slice().len();
        if len <= MAX_RECORD_BYTES {
            return None;
        }
        let longest = (0..self.raw.len()).max_by_key(|&i| self.raw[i].len()).unwrap_or(0);
        Some((longest, len))
    }

    /// Whether every cell is empty or white space.
    pub fn is_blank(&self) -> bool {
        (0..self.len()).all(|i| number::trim_cell(&self.cell(i)).is_empty())
    }

    /// The whole record as text, cells joined by commas, cut to its first
    /// 200 characters (for a quarantined row whose fields cannot be told
    /// apart; its line and byte lead to the rest).
    pub fn text(&self) -> String {
        let mut text = String::new();
        for i in 0..self.len() {
            if i > 0 {
                text.push(',');
            }
            let cell = self.raw.get(i).unwrap_or_default();
            // Decode no more than is shown.
            let cell = &cell[..cell.len().min(4 * MAX_SHOWN_CHARS)];
            text.push_str(&self.encoding.decode(cell));
            if text.chars().count() > MAX_SHOWN_CHARS {
                break;
            }
        }
        shown(&text)
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hexadecimal, as SHA-256 sums are printed.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
