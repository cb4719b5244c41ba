//! Ingest: find the submission files, read each one's bytes once, hash them,
//! tell the encoding and the layout, and hand out every line: each record
//! with its line and byte offset (a record with a quote that never closes
//! cut at its line), and each blank line. What the cells mean is read in
//! `normalize`; [`number`], the grammar of numbers as people type them,
//! lives here beside the other text rules and is applied there.

pub mod encoding;
pub mod header;
pub mod number;
pub mod quotes;
pub mod stacked;
pub mod workbook;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use encoding::{Encoding, EncodingError, ReadAs};
pub use header::{Column, HeaderError, HeaderMap, HeaderRules, IndicatorColumn};
use quotes::Cut;

use crate::config::pipeline::EncodingChoice;
use crate::config::sources::SheetChoice;
use crate::config::{SourceId, Sources};
use crate::model::FileId;
use crate::reject::{Code, Detail};

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

/// A submission file found in the input directory.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub id: FileId,
    pub path: PathBuf,
    /// Path relative to the input directory, `/`-separated.
    pub rel: String,
    /// The pipeline's source that says how to read it, if one does.
    pub source: Option<SourceId>,
    /// Where the file really is, when a symbolic link led to it.
    pub target: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot list {}: {source}", path.display())]
    List { path: PathBuf, source: std::io::Error },
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: file name is not valid UTF-8", path.display())]
    Name { path: PathBuf },
    #[error("configuration: {}", .0.join("; "))]
    TwoSources(Vec<String>),
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

    /// Reads the file at `path` for its SHA-256, with its size and time.
    pub fn read(path: &Path) -> Result<Stamp, IngestError> {
        let (len, modified) = Stamp::of(path)?;
        let bytes = std::fs::read(path).map_err(|source| IngestError::Read { path: path.to_owned(), source })?;
        Ok(Stamp { len, modified, sha256: sha256_hex(&bytes) })
    }

    /// The stamp of a file whose SHA-256 is known, from its metadata.
    pub fn with_hash(m: &std::fs::Metadata, sha256: String) -> Stamp {
        Stamp { len: m.len(), modified: m.modified().ok(), sha256 }
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

/// Every `*.csv` file and workbook under `dir` (recursively, skipping
/// hidden entries),
/// with the source that reads it, numbered in the order files supersede
/// each other in (`crate::supersede`). A file two sources match is an
/// error naming both (every such file at once).
pub fn discover(dir: &Path, sources: &Sources) -> Result<Vec<SourceFile>, IngestError> {
    let found = crate::dirs::visible_files(dir).map_err(|source| IngestError::List { path: dir.to_owned(), source })?;
    let mut csv = Vec::new();
    let mut conflicts = Vec::new();
    for (rel, entry) in found {
        // The relative path is the file's name in every output.
        if entry.path.strip_prefix(dir).ok().and_then(Path::to_str).is_none() {
            return Err(IngestError::Name { path: entry.path });
        }
        let rel = shown_name(&rel);
        if !rel.to_ascii_lowercase().ends_with(".csv") && !workbook::is_workbook(&rel) {
            continue;
        }
        match sources.matching(&rel) {
            Ok(source) => csv.push((rel, (entry.path, source, entry.target))),
            Err((a, b)) => conflicts.push(format!("`{rel}` matches two sources, `{}` and `{}`", a.name, b.name)),
        }
    }
    if !conflicts.is_empty() {
        return Err(IngestError::TwoSources(conflicts));
    }
    // A source whose glob matches nothing is most often a glob mistyped.
    for (i, s) in sources.0.iter().enumerate() {
        if !csv.iter().any(|(_, (_, source, _))| *source == Some(crate::config::SourceId(i as u32))) {
            tracing::info!(dir = %dir.display(), "source `{}` matches no file of the submissions", s.name);
        }
    }
    let numbered = crate::supersede::in_file_order(csv);
    Ok(numbered.map(|(id, rel, (path, source, target))| SourceFile { id, path, rel, source, target }).collect())
}

/// One submission file, read and checked at the file level.
pub struct Submission {
    pub file: SourceFile,
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub encoding: Result<Encoding, EncodingError>,
    pub stamp: Stamp,
    /// A workbook's sheet, as text, or why the workbook cannot be read.
    pub sheet: Option<Result<workbook::SheetText, HeaderError>>,
}

impl Submission {
    /// Reads the file; a workbook's sheet is `sheet`'s (the first visible
    /// one when `None`).
    pub fn read(
        file: SourceFile,
        choice: EncodingChoice,
        sheet: Option<&SheetChoice>,
    ) -> Result<Submission, IngestError> {
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
        let mut sub = Submission::from_bytes(file, bytes, choice, sheet);
        sub.stamp.len = before.0;
        sub.stamp.modified = before.1;
        Ok(sub)
    }

    /// A file's bytes as read: a workbook (by its name) has its sheet
    /// read, any other file its encoding told.
    pub fn from_bytes(
        file: SourceFile,
        bytes: Vec<u8>,
        choice: EncodingChoice,
        sheet: Option<&SheetChoice>,
    ) -> Submission {
        let sha256 = sha256_hex(&bytes);
        let stamp = Stamp { len: bytes.len() as u64, modified: None, sha256: sha256.clone() };
        if workbook::is_workbook(&file.rel) {
            let sheet = Some(workbook::read(&bytes, sheet));
            return Submission { file, bytes, sha256, encoding: Ok(Encoding::Utf8), stamp, sheet };
        }
        let encoding = encoding::detect(&bytes, choice);
        Submission { file, bytes, sha256, encoding, stamp, sheet: None }
    }

    /// The text the file's records are split on, how its cells decode, and
    /// how a position in it maps to a byte offset in the file as sent.
    fn text(&self) -> (Cow<'_, [u8]>, Decode, Offsets) {
        if let Some(sheet) = &self.sheet {
            let text = sheet.as_ref().map_or(&[][..], |s| s.text.as_slice());
            return (Cow::Borrowed(text), Decode::Strict(Encoding::Utf8), Offsets::shift(0));
        }
        match &self.encoding {
            Ok(enc) => (
                Cow::Borrowed(&self.bytes[enc.body_offset()..]),
                Decode::Strict(*enc),
                Offsets::shift(enc.body_offset()),
            ),
            Err(e) => match e.read_as {
                ReadAs::Escaped(enc) => (
                    Cow::Borrowed(&self.bytes[enc.body_offset()..]),
                    Decode::Escaped(enc),
                    Offsets::shift(enc.body_offset()),
                ),
                ReadAs::Utf16 { little_endian } => {
                    let codec = if little_endian { encoding_rs::UTF_16LE } else { encoding_rs::UTF_16BE };
                    let (text, _, _) = codec.decode(&self.bytes);
                    let bom =
                        usize::from(self.bytes.starts_with(b"\xFF\xFE") || self.bytes.starts_with(b"\xFE\xFF")) * 2;
                    (Cow::Owned(text.into_owned().into_bytes()), Decode::Strict(Encoding::Utf8), Offsets::utf16(bom))
                }
            },
        }
    }

    /// Every record that is not blank, as text cells, with its line (a
    /// sheet's row): what `describe` looks at, with no header or field
    /// rules applied; and the records past [`MAX_RECORD_BYTES`] (line,
    /// bytes), left undecoded as a run leaves them.
    pub fn rows(&self, delimiter: u8) -> (Vec<(u64, Vec<String>)>, Vec<(u64, usize)>) {
        let mut too_long = Vec::new();
        let sheet_rows = match &self.sheet {
            Some(Err(_)) => return (Vec::new(), too_long),
            Some(Ok(sheet)) => Some(sheet.rows.as_slice()),
            None => None,
        };
        let delimiter = if sheet_rows.is_some() { b',' } else { delimiter };
        let (text, decode, _) = self.text();
        let text = text.as_ref();
        let mut reader =
            csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(text);
        let (mut out, mut rec) = (Vec::new(), csv::ByteRecord::new());
        while reader.read_byte_record(&mut rec).unwrap_or(false) {
            let (line, _) = record_start(text, &rec);
            let line = sheet_rows.and_then(|r| r.get(line.checked_sub(1)? as usize).copied()).unwrap_or(line);
            if rec.as_slice().len() > MAX_RECORD_BYTES {
                too_long.push((line, rec.as_slice().len()));
                continue;
            }
            let cells: Vec<String> = rec.iter().map(|c| decode.cell(c).into_owned()).collect();
            if cells.iter().all(|c| number::trim_cell(c).is_empty()) {
                continue;
            }
            out.push((line, cells));
        }
        (out, too_long)
    }

    /// Reads the header and hands every physical line after it to `visit`,
    /// in file order, as a record, a record with an unclosed quote or a
    /// blank line (and for a source's file, its title rows above the header
    /// and its footnote rows after the data); returns what the header said
    /// (`None`: the file has no header row) and how many lines the file
    /// has. Every line is accounted for: `lines` = header lines + the lines
    /// of every record, title and footnote row + blank lines. The records of
    /// a file that cannot be used are still visited, with the reason in
    /// `Parsed::Refused`, so each is quarantined.
    pub fn parse(&self, rules: &HeaderRules<'_>, delimiter: u8, mut visit: impl FnMut(Item<'_>)) -> Reading {
        // A workbook's sheet is text of our own making, comma-separated;
        // its lines are mapped back to the sheet's rows, and it has no bytes
        // to point at.
        let rows = match &self.sheet {
            Some(Err(e)) => return Reading { header: Some(Parsed::Refused(e.clone())), header_line: 0, lines: 0 },
            Some(Ok(sheet)) => Some(sheet.rows.as_slice()),
            None => None,
        };
        let delimiter = if rows.is_some() { b',' } else { delimiter };
        let row_of = |line: u64| rows.and_then(|r| r.get(line.checked_sub(1)? as usize).copied()).unwrap_or(line);
        let mut visit = |item: Item<'_>| match rows {
            None => visit(item),
            Some(_) => visit(in_sheet(item, &row_of)),
        };
        let source = rules.source;
        let header_row = source.and_then(|s| s.header_row).unwrap_or(0);
        let header_rows = source.map_or(1, |s| s.header_rows as usize);
        let footnotes: &[String] = source.map_or(&[], |s| &s.footnotes);
        // The header's rows above its last, as they are read, and the unit
        // a title row gives the table.
        let mut upper: Vec<Vec<String>> = Vec::new();
        let mut table_unit: Option<String> = None;
        let mut in_footnotes = false;
        let (text, decode, mut offsets) = self.text();
        let text = text.as_ref();
        let mut lines = Lines { total: physical_lines(text), next: 1, next_byte: 0 };
        let mut header: Option<Parsed> = None;
        let mut header_line = 0;
        let mut from = 0;
        // A first line past the limit (a file without line breaks, a binary)
        // is refused before the CSV reader buffers it, and skipped: the
        // lines after it are still read, each a quarantined row.
        let first = text.iter().position(|&b| b != b'\r' && b != b'\n').unwrap_or(text.len());
        let first_len = text[first..].iter().position(|&b| b == b'\n').unwrap_or(text.len() - first);
        if first_len > MAX_RECORD_BYTES && matches!(decode, Decode::Strict(_)) {
            header = Some(Parsed::Refused(HeaderError::line_too_long(first_len)));
            lines.blank_until(text, first, &mut offsets, &mut visit);
            header_line = lines.next;
            lines.covered(text, header_line, first + first_len);
            from = lines.next_byte;
        }
        let mut raw = csv::ByteRecord::new();
        let mut start = from;
        while start < text.len() {
            let segment = &text[start..];
            let first_line = lines.next;
            let mut reader =
                csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).from_reader(segment);
            let mut cut = None;
            // The csv reader only fails on I/O, and reads from memory.
            while reader.read_byte_record(&mut raw).unwrap_or(false) {
                let (line, at) = record_start(segment, &raw);
                let end = reader.position();
                let (line, at, after) = (first_line + line - 1, start + at, start + end.byte() as usize);
                // A quote that never closes makes the reader take the rest of
                // the file as one record: only a record that reaches the end
                // of the file can be one, and only it is scanned.
                if after == text.len()
                    && let Some(c) = quotes::unclosed(&text[at..], delimiter)
                {
                    cut = Some(Cut { record: c.record + at, quote: c.quote + at, end: c.end + at });
                    break;
                }
                lines.blank_until(text, at, &mut offsets, &mut visit);
                let rec = Record {
                    line,
                    byte: offsets.orig(text, at),
                    raw: &raw,
                    span: &text[at..after],
                    decode,
                    in_sheet: false,
                };
                // The reader counts the LF it ended the record at, if it did.
                let last_line = first_line + end.line() - 1 - u64::from(text[after - 1] == b'\n');
                lines.covered(text, last_line, after - 1);
                match &header {
                    Some(parsed) if in_footnotes || rec.starts_with_any(footnotes) => {
                        in_footnotes = true;
                        visit(Item::Footnote(parsed, rec));
                    }
                    Some(parsed) => visit(Item::Record(parsed, rec)),
                    None if row_of(line) < header_row => {
                        table_unit = table_unit.or_else(|| title_unit(&rec, rules));
                        visit(Item::Title(rec));
                    }
                    None => {
                        if upper.is_empty() {
                            header_line = line;
                        }
                        header = self.header_row(&rec, &mut upper, header_rows, &mut table_unit, rules);
                    }
                }
            }
            let Some(c) = cut else { break };
            lines.blank_until(text, c.record, &mut offsets, &mut visit);
            let line = lines.next;
            let bad = Unclosed::at(text, &c, line, decode, &mut offsets);
            let quote_line = bad.quote_line;
            lines.covered(text, quote_line, c.end - 1);
            match &header {
                Some(_) if in_footnotes => visit(Item::FootnoteUnclosed(bad)),
                Some(parsed) => visit(Item::Unclosed(parsed, bad)),
                None => {
                    header_line = line;
                    header = Some(Parsed::Refused(HeaderError::unclosed(&bad)));
                }
            }
            // After it, every quote closes (see `quotes`): the rest reads
            // as it is.
            start = c.end;
        }
        lines.blank_until(text, text.len(), &mut offsets, &mut visit);
        let lines = rows.map_or(lines.total, |r| r.last().copied().unwrap_or(0));
        Reading { header, header_line: row_of(header_line), lines }
    }
}

/// The unit a title row `rec` gives the table, if it gives one: a unit its
/// brackets may hold is the unit table's (the catalog's base units among
/// them) or one the source maps.
fn title_unit(rec: &Record<'_>, rules: &HeaderRules<'_>) -> Option<String> {
    let known = |u: &str| rules.units.knows(u) || rules.source.is_some_and(|s| s.unit(u) != u);
    let cells: Vec<String> = (0..rec.len()).map(|i| rec.cell(i).into_owned()).collect();
    header::unit_in_title(&cells, &known)
}

impl Submission {
    /// One row of the header, `rec`: kept in `upper` until the header's
    /// `rows` are read, then the header (or why it cannot be used).
    fn header_row(
        &self,
        rec: &Record<'_>,
        upper: &mut Vec<Vec<String>>,
        rows: usize,
        table_unit: &mut Option<String>,
        rules: &HeaderRules<'_>,
    ) -> Option<Parsed> {
        if upper.len() + 1 < rows {
            return match header_names(rec, &self.encoding) {
                Ok(names) => {
                    upper.push(names);
                    None
                }
                Err(e) => Some(Parsed::Refused(e)),
            };
        }
        Some(self.header(rec, std::mem::take(upper), table_unit.take(), rules))
    }

    /// The header from its last row `rec` and the rows `above` it, if it
    /// has more than one (see [`stacked`]), with the unit a title row gave
    /// the table.
    fn header(
        &self,
        rec: &Record<'_>,
        mut above: Vec<Vec<String>>,
        table_unit: Option<String>,
        rules: &HeaderRules<'_>,
    ) -> Parsed {
        let names = match header_names(rec, &self.encoding) {
            Ok(names) => names,
            Err(e) => return Parsed::Refused(e),
        };
        above.push(names);
        match header::resolve(stacked::Stacked::read(&above, rules.layouts), rules) {
            Ok((mut map, unknown)) => {
                map.table_unit = table_unit;
                Parsed::Read { header: Box::new(map), unknown_columns: unknown }
            }
            Err(e) => Parsed::Refused(e),
        }
    }
}

/// An item of a workbook's sheet, its lines made the sheet's rows
/// (`row_of`); a sheet has no bytes to point at.
fn in_sheet<'a>(item: Item<'a>, row_of: &dyn Fn(u64) -> u64) -> Item<'a> {
    fn at(mut rec: Record<'_>, row: u64) -> Record<'_> {
        (rec.line, rec.byte, rec.in_sheet) = (row, 0, true);
        rec
    }
    match item {
        Item::Record(p, rec) => {
            let row = row_of(rec.line);
            Item::Record(p, at(rec, row))
        }
        Item::Title(rec) => {
            let row = row_of(rec.line);
            Item::Title(at(rec, row))
        }
        Item::Footnote(p, rec) => {
            let row = row_of(rec.line);
            Item::Footnote(p, at(rec, row))
        }
        Item::Blank { line, .. } => Item::Blank { line: row_of(line), byte: 0 },
        Item::Unclosed(p, mut bad) => {
            (bad.line, bad.quote_line, bad.byte, bad.quote_byte) = (row_of(bad.line), row_of(bad.quote_line), 0, 0);
            Item::Unclosed(p, bad)
        }
        Item::FootnoteUnclosed(mut bad) => {
            (bad.line, bad.quote_line) = (row_of(bad.line), row_of(bad.quote_line));
            Item::FootnoteUnclosed(bad)
        }
    }
}

/// The names of a header record, or why the file cannot be used.
fn header_names(rec: &Record<'_>, encoding: &Result<Encoding, EncodingError>) -> Result<Vec<String>, HeaderError> {
    match encoding {
        Err(e) => Err(HeaderError { code: Code::Encoding, detail: e.detail() }),
        Ok(_) if rec.too_long().is_some() => {
            let (_, len) = rec.too_long().expect("checked");
            let detail = Detail::new(
                format!("the header is {len} bytes in {} cells; at most {MAX_RECORD_BYTES}", rec.len()),
                format!("表头 {len} 字节、{} 个单元格，上限 {MAX_RECORD_BYTES} 字节", rec.len()),
            );
            Err(HeaderError { code: Code::LineTooLong, detail })
        }
        Ok(_) => match rec.control() {
            Some(c) => Err(HeaderError { code: Code::ControlCharacter, detail: c.describe() }),
            None => Ok((0..rec.len()).map(|i| rec.cell(i).into_owned()).collect()),
        },
    }
}

/// The line (from 1) and byte of a record's first cell in the `text` the
/// csv reader read it from. The reader ends a record at a CR and starts the
/// next one at the LF of the CRLF (and at any blank lines after it): this
/// steps over them.
fn record_start(text: &[u8], rec: &csv::ByteRecord) -> (u64, usize) {
    let pos = rec.position().expect("records read from a reader have a position");
    let (mut line, mut at) = (pos.line(), pos.byte() as usize);
    while let Some(&b @ (b'\r' | b'\n')) = text.get(at) {
        line += u64::from(b == b'\n');
        at += 1;
    }
    (line, at)
}

/// Lines in `text`: each LF ends one, and text after the last LF is one more.
fn physical_lines(text: &[u8]) -> u64 {
    let breaks = text.iter().filter(|&&b| b == b'\n').count() as u64;
    breaks + u64::from(text.last().is_some_and(|&b| b != b'\n'))
}

/// The line accounting of one file: the first line no record has covered
/// yet, and where it starts.
struct Lines {
    total: u64,
    next: u64,
    next_byte: usize,
}

impl Lines {
    /// Hands out every line from the next one up to the line holding `at`
    /// as blank: the csv reader skips empty lines, so those are all the
    /// lines between two records.
    fn blank_until(&mut self, text: &[u8], at: usize, offsets: &mut Offsets, visit: &mut impl FnMut(Item<'_>)) {
        while self.next_byte < at && self.next <= self.total {
            let end =
                text[self.next_byte..].iter().position(|&b| b == b'\n').map_or(text.len(), |i| self.next_byte + i + 1);
            if end > at {
                break;
            }
            visit(Item::Blank { line: self.next, byte: offsets.orig(text, self.next_byte) });
            self.next += 1;
            self.next_byte = end;
        }
    }

    /// Marks the lines up to `last_line`, the line of byte `last`, as
    /// covered by a record.
    fn covered(&mut self, text: &[u8], last_line: u64, last: usize) {
        // A record on a line already covered: records split by a lone CR.
        if last_line < self.next {
            return;
        }
        self.next = last_line + 1;
        let last = last.min(text.len());
        self.next_byte = memchr::memchr(b'\n', &text[last..]).map_or(text.len(), |i| last + i + 1);
    }
}

/// What [`Submission::parse`] found.
pub struct Reading {
    pub header: Option<Parsed>,
    /// The line of the header record.
    pub header_line: u64,
    /// Physical lines of the file.
    pub lines: u64,
}

/// The outcome of reading a file's header.
pub enum Parsed {
    Read { header: Box<HeaderMap>, unknown_columns: Vec<usize> },
    Refused(HeaderError),
}

/// One piece of a file, in file order.
pub enum Item<'r> {
    Record(&'r Parsed, Record<'r>),
    /// A row above a source's header (a table's title).
    Title(Record<'r>),
    /// A row at or after the first footnote of a source's file (`注：…`),
    /// with the header it would be read by (a row that reads as a record
    /// is one, whatever its first cell says).
    Footnote(&'r Parsed, Record<'r>),
    /// A footnote row whose quote never closes.
    FootnoteUnclosed(Unclosed),
    /// A record in which a quote opens and never closes before the end of
    /// the file, cut at the end of the quote's line.
    Unclosed(&'r Parsed, Unclosed),
    /// An empty line (nothing but its line break).
    Blank {
        line: u64,
        byte: u64,
    },
}

/// A record cut at the end of the line where its unclosed quote opens.
pub struct Unclosed {
    pub line: u64,
    pub byte: u64,
    pub quote_line: u64,
    pub quote_byte: u64,
    /// The record's text up to the cut, shown as in [`Record::text`].
    pub text: String,
}

impl Unclosed {
    /// The record cut at `c`, beginning at `line`.
    fn at(text: &[u8], c: &Cut, line: u64, decode: Decode, offsets: &mut Offsets) -> Unclosed {
        let quote_line = line + text[c.record..c.quote].iter().filter(|&&b| b == b'\n').count() as u64;
        Unclosed {
            line,
            byte: offsets.orig(text, c.record),
            quote_line,
            quote_byte: offsets.orig(text, c.quote),
            // No more bytes decoded than can be shown.
            text: shown(
                decode.cell(&text[c.record..c.end.min(c.record + 4 * MAX_SHOWN_CHARS)]).trim_end_matches(['\r', '\n']),
            ),
        }
    }
}

impl HeaderError {
    /// A file whose first line is `len` bytes, past the limit.
    fn line_too_long(len: usize) -> HeaderError {
        let detail = Detail::new(
            format!("the first line is {len} bytes; at most {MAX_RECORD_BYTES}"),
            format!("第一行 {len} 字节，上限 {MAX_RECORD_BYTES} 字节"),
        );
        HeaderError { code: Code::LineTooLong, detail }
    }

    /// A file whose header row opens a quote that never closes.
    fn unclosed(bad: &Unclosed) -> HeaderError {
        let (line, byte) = (bad.quote_line, bad.quote_byte);
        let detail = Detail::new(
            format!("a quote opens at line {line}, byte {byte} and never closes"),
            format!("第 {line} 行第 {byte} 字节处的引号没有闭合"),
        );
        HeaderError { code: Code::UnclosedQuote, detail }
    }
}

/// How the cells of a file become text.
#[derive(Debug, Clone, Copy)]
enum Decode {
    /// A file in an accepted encoding.
    Strict(Encoding),
    /// A refused file: what does not decode is shown as `\xFF`.
    Escaped(Encoding),
}

impl Decode {
    fn cell(self, bytes: &[u8]) -> Cow<'_, str> {
        match self {
            Decode::Strict(enc) => enc.decode(bytes),
            Decode::Escaped(enc) => Cow::Owned(encoding::decode_escaped(enc, bytes)),
        }
    }

    fn encoding(self) -> Encoding {
        match self {
            Decode::Strict(enc) | Decode::Escaped(enc) => enc,
        }
    }
}

/// From a position in the text records are split on to a byte offset in
/// the file as sent: a shift past the BOM, or for UTF-16 (transcoded to
/// UTF-8 to be read) two bytes a code unit, counted as positions are asked
/// for, in increasing order.
enum Offsets {
    Shift(usize),
    Utf16 { bom: usize, text: usize, orig: u64 },
}

impl Offsets {
    fn shift(by: usize) -> Offsets {
        Offsets::Shift(by)
    }

    fn utf16(bom: usize) -> Offsets {
        Offsets::Utf16 { bom, text: 0, orig: bom as u64 }
    }

    fn orig(&mut self, text: &[u8], at: usize) -> u64 {
        match self {
            Offsets::Shift(by) => (at + *by) as u64,
            Offsets::Utf16 { bom, text: done, orig } => {
                if at < *done {
                    (*done, *orig) = (0, *bom as u64);
                }
                let chunk = String::from_utf8_lossy(&text[*done..at]);
                *orig += chunk.chars().map(|c| 2 * c.len_utf16() as u64).sum::<u64>();
                *done = at;
                *orig
            }
        }
    }
}

/// One CSV record with where it starts in the file.
pub struct Record<'r> {
    pub line: u64,
    pub byte: u64,
    raw: &'r csv::ByteRecord,
    /// The record's bytes as they stand in the file (quotes and all).
    span: &'r [u8],
    decode: Decode,
    /// A row of a workbook's sheet: `line` is the row, and `byte` means
    /// nothing.
    pub in_sheet: bool,
}

/// A control character in a record: where, and which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control {
    /// Byte offset in the file; `None` in a workbook's sheet, whose cell
    /// says where.
    pub byte: Option<u64>,
    pub char: char,
    /// The cell it is in.
    pub cell: usize,
}

impl Control {
    pub fn describe(&self) -> Detail {
        let c = escape_control(self.char);
        match self.byte {
            Some(b) => Detail::new(format!("{c} at byte {b}"), format!("第 {b} 字节处为 {c}")),
            None => Detail::new(format!("{c} in the cell"), format!("单元格中有 {c}")),
        }
    }
}

/// A control character as it is written wherever yearbook shows one:
/// `\x00` for a C0 control or DEL (one byte in every accepted encoding),
/// `\u{85}` for the others.
pub fn escape_control(c: char) -> String {
    if (c as u32) < 0x80 { format!("\\x{:02X}", c as u32) } else { format!("\\u{{{:X}}}", c as u32) }
}

/// A file's name as every output and the console show it: each control
/// character escaped as [`escape_control`] writes it (a name holding an
/// escape sequence must not drive a terminal, nor reach a CSV, the report
/// or the Parquet raw).
pub fn shown_name(name: &str) -> String {
    name.chars().map(|c| if c.is_control() { escape_control(c) } else { c.to_string() }).collect()
}

/// Whether `c` is a control character no cell may hold: every one but tab,
/// and CR and LF, which a quoted cell may span lines with.
pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\r' | '\n')
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
        self.raw.get(i).map_or(Cow::Borrowed(""), |b| self.decode.cell(b))
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

    /// The first control character in the record that no cell may hold
    /// (see [`is_forbidden_control`]). Bytes below 0x20 and DEL are the
    /// same characters in UTF-8 and GB18030, so the bytes are searched
    /// first; the cells are decoded only where a multi-byte control could
    /// hide (C1 controls).
    pub fn control(&self) -> Option<Control> {
        let c0 = |b: &u8| (*b < 0x20 && !matches!(b, b'\t' | b'\r' | b'\n')) || *b == 0x7F;
        // Folded a chunk at a time, not stopped at the first byte: the
        // compiler turns that into vector instructions.
        let has_c0 = self.span.chunks(64).any(|c| c.iter().fold(false, |found, b| found | c0(b)));
        // The first bytes of a C1 control: C2 80–9F in UTF-8, 81 30 in
        // GB18030, both rare in Chinese text.
        let has_c1 = match self.decode.encoding() {
            Encoding::Gb18030 => memchr::memmem::find(self.span, &[0x81, 0x30]).is_some(),
            Encoding::Utf8 | Encoding::Utf8Bom => {
                memchr::memchr_iter(0xC2, self.span).any(|i| matches!(self.span.get(i + 1), Some(0x80..=0x9F)))
            }
        };
        if !has_c0 && !has_c1 {
            return None;
        }
        let (cell, char) =
            (0..self.len()).find_map(|i| self.cell(i).chars().find(|&c| is_forbidden_control(c)).map(|c| (i, c)))?;
        // Cells come in file order, so the first such character of the
        // first such cell is the first in the record as sent.
        let offset = memchr::memmem::find(self.span, &self.decode.encoding().encode_char(char)).unwrap_or(0);
        Some(Control { byte: (!self.in_sheet).then_some(self.byte + offset as u64), char, cell })
    }

    /// Whether the record's first non-empty cell starts with one of
    /// `markers` as a word (a footnote: `注：…`, `注1 …`, `资料来源：…`):
    /// followed by the cell's end or by anything but a letter, so that `注`
    /// does not take `注册志愿者人数` nor `Note` take `Notebooks`.
    pub fn starts_with_any(&self, markers: &[String]) -> bool {
        if markers.is_empty() {
            return false;
        }
        let first = (0..self.len()).map(|i| self.cell(i)).find(|c| !number::trim_cell(c).is_empty());
        first.is_some_and(|c| {
            let c = number::trim_cell(&c);
            markers.iter().any(|m| starts_with_marker(&c, m))
        })
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
            text.push_str(&self.decode.cell(cell));
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

/// Whether `cell` starts with `marker` as a word: followed by the cell's
/// end or by anything but a letter (`注：`, `注1`, `Note:`; not `注册…`).
fn starts_with_marker(cell: &str, marker: &str) -> bool {
    !marker.is_empty()
        && cell.strip_prefix(marker).is_some_and(|rest| !rest.chars().next().is_some_and(char::is_alphabetic))
}

#[cfg(test)]
mod tests {
    use super::starts_with_marker as m;

    #[test]
    fn a_footnote_marker_matches_as_a_word_only() {
        for (cell, marker) in [
            ("注：..表示暂缺", "注"),
            ("注1 快报数", "注"),
            ("注", "注"),
            ("Note: x", "Note"),
            ("资料来源：各单位", "资料来源"),
        ] {
            assert!(m(cell, marker), "{cell} {marker}");
        }
        for (cell, marker) in [("注册志愿者人数", "注"), ("Notebooks", "Note"), ("Sourced", "Source"), ("注：x", "")]
        {
            assert!(!m(cell, marker), "{cell} {marker}");
        }
    }
}
