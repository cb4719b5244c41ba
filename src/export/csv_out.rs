//! CSV files for people: UTF-8 with a BOM (so Excel and WPS show Chinese),
//! text cells neutralised against spreadsheet formula injection.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::hashed::{Hashed, Written};
pub use crate::config::pipeline::CsvEncoding;
use crate::ingest::{escape_control, is_forbidden_control};

#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct CsvError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// The bytes a CSV file is written as: UTF-8 as they come, or transcoded
/// to GB18030 (which encodes every character) on their way out.
enum Sink<W: Write> {
    Utf8(Hashed<W>),
    Gb18030 { out: Hashed<W>, encoder: encoding_rs::Encoder, pending: Vec<u8>, encoded: Vec<u8> },
}

impl<W: Write> Sink<W> {
    fn new(sink: W, encoding: CsvEncoding) -> Sink<W> {
        match encoding {
            CsvEncoding::Utf8 | CsvEncoding::Utf8NoBom => Sink::Utf8(Hashed::new(sink)),
            CsvEncoding::Gb18030 => Sink::Gb18030 {
                out: Hashed::new(sink),
                encoder: encoding_rs::GB18030.new_encoder(),
                pending: Vec::new(),
                encoded: Vec::new(),
            },
        }
    }

    /// Encodes what is left and returns the hashed sink.
    fn finish(self) -> std::io::Result<Hashed<W>> {
        match self {
            Sink::Utf8(out) => Ok(out),
            Sink::Gb18030 { mut out, mut encoder, pending, mut encoded } => {
                // Every byte written was UTF-8, so nothing is left half.
                let rest = String::from_utf8_lossy(&pending);
                transcode(&mut encoder, &rest, &mut encoded, true);
                out.write_all(&encoded)?;
                Ok(out)
            }
        }
    }
}

/// `text` encoded into `out` (cleared first), whole, a buffer's worth at a
/// time.
fn transcode(encoder: &mut encoding_rs::Encoder, text: &str, out: &mut Vec<u8>, last: bool) {
    out.clear();
    let mut buf = [0u8; 4096];
    let mut rest = text;
    loop {
        let (result, read, written, _) = encoder.encode_from_utf8(rest, &mut buf, last);
        out.extend_from_slice(&buf[..written]);
        rest = &rest[read..];
        if result == encoding_rs::CoderResult::InputEmpty {
            break;
        }
    }
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Utf8(out) => out.write(buf),
            Sink::Gb18030 { out, encoder, pending, encoded } => {
                pending.extend_from_slice(buf);
                // A character may be cut between two writes: its first
                // bytes wait for the rest.
                let whole = match std::str::from_utf8(pending) {
                    Ok(_) => pending.len(),
                    Err(e) => e.valid_up_to(),
                };
                let text = std::str::from_utf8(&pending[..whole]).expect("checked above");
                transcode(encoder, text, encoded, false);
                out.write_all(encoded)?;
                pending.drain(..whole);
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Utf8(out) | Sink::Gb18030 { out, .. } => out.flush(),
        }
    }
}

/// A CSV file being written, into a file or any other sink `W`.
pub struct CsvFile<W: Write = File> {
    /// Where errors say the file is.
    path: PathBuf,
    /// Taken only for the moment of an [`CsvFile::append`].
    writer: Option<csv::Writer<BufWriter<Sink<W>>>>,
    rows: u64,
}

impl CsvFile<File> {
    /// Creates `path` (and its directory), writing the BOM (UTF-8) and the
    /// header.
    pub fn create(path: &Path, header: &[&str], encoding: CsvEncoding) -> Result<CsvFile, CsvError> {
        let err = |source| CsvError { path: path.to_owned(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        CsvFile::new(path, File::create(path).map_err(err)?, header, encoding)
    }

    /// Flushes, syncs and closes; returns what was written.
    pub fn finish(self) -> Result<Written, CsvError> {
        let (path, rows) = (self.path.clone(), self.rows);
        let (file, sha256, bytes) = self.close()?;
        super::durable::sync_file(&file).map_err(|source| CsvError { path: path.clone(), source })?;
        Ok(Written { path, rows, sha256, bytes })
    }
}

impl<W: Write> CsvFile<W> {
    /// Writes the BOM (UTF-8) and the header into `sink`; `path` is what
    /// errors name.
    pub fn new(path: &Path, sink: W, header: &[&str], encoding: CsvEncoding) -> Result<CsvFile<W>, CsvError> {
        let err = |source| CsvError { path: path.to_owned(), source };
        let mut out = BufWriter::new(Sink::new(sink, encoding));
        if encoding == CsvEncoding::Utf8 {
            out.write_all(b"\xEF\xBB\xBF").map_err(err)?;
        }
        let mut writer = dialect().from_writer(out);
        writer.write_record(header).map_err(|e| err(e.into()))?;
        Ok(CsvFile { path: path.to_owned(), writer: Some(writer), rows: 0 })
    }

    /// Writes one row; text cells go through [`text`], numbers are written
    /// as they are.
    pub fn row<I, S>(&mut self, cells: I) -> Result<(), CsvError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        self.rows += 1;
        let writer = self.writer.as_mut().expect("a CsvFile always has its writer between calls");
        writer.write_record(cells).map_err(|e| CsvError { path: self.path.clone(), source: e.into() })
    }

    /// Appends `rows` rows already encoded by a [`buffer`] writer.
    pub fn append(&mut self, bytes: &[u8], rows: u64) -> Result<(), CsvError> {
        let path = &self.path;
        let err = |source| CsvError { path: path.clone(), source };
        // The csv writer buffers rows of its own: flush them, write the bytes
        // behind them, and go on with a fresh writer on the same file.
        let writer = self.writer.take().expect("a CsvFile always has its writer between calls");
        let mut out = writer.into_inner().map_err(|e| err(e.into_error()))?;
        out.write_all(bytes).map_err(err)?;
        self.writer = Some(dialect().from_writer(out));
        self.rows += rows;
        Ok(())
    }

    /// Flushes; returns the sink, the SHA-256 and the size of what was
    /// written.
    pub fn close(self) -> Result<(W, String, u64), CsvError> {
        let path = self.path;
        let writer = self.writer.expect("a CsvFile always has its writer between calls");
        let buffered = writer.into_inner().map_err(|e| CsvError { path: path.clone(), source: e.into_error() })?;
        let sink = buffered.into_inner().map_err(|e| CsvError { path: path.clone(), source: e.into_error() })?;
        let hashed = sink.finish().map_err(|source| CsvError { path: path.clone(), source })?;
        Ok(hashed.finish())
    }
}

/// A CSV writer into memory with the same dialect as [`CsvFile`], for rows
/// encoded by a parallel task and appended in order later.
pub fn buffer() -> csv::Writer<Vec<u8>> {
    dialect().from_writer(Vec::new())
}

fn dialect() -> csv::WriterBuilder {
    let mut b = csv::WriterBuilder::new();
    b.terminator(csv::Terminator::CRLF);
    b
}

/// Writing into memory cannot fail: the csv writer errs only on I/O.
pub const IN_MEMORY: &str = "writing CSV into memory cannot fail";

/// Text cells encoded once by the csv writer (quoted where needed, made
/// safe by [`text`]) and joined by commas, for a [`RowBuf`] that repeats
/// them on many rows: the agency's code and name on each of its rows.
pub fn encode_cells(cells: &[&str]) -> Vec<u8> {
    let mut w = dialect().from_writer(Vec::new());
    // A whole record: the writer closes a quoted field only when the field
    // after it, or the record, ends. Its terminator is cut here; the row's
    // own comes from [`RowBuf::end_row`].
    w.write_record(cells.iter().map(|c| text(c).into_owned())).expect(IN_MEMORY);
    let mut bytes = w.into_inner().expect(IN_MEMORY);
    bytes.truncate(bytes.len() - b"\r\n".len());
    bytes
}

/// Rows assembled from cells already encoded: [`encode_cells`] output, or
/// plain cells (numbers, fixed words) that never need quoting. For the
/// million-row CSVs, where running every cell through the csv writer
/// again was most of their cost.
pub struct RowBuf {
    bytes: Vec<u8>,
    at_row_start: bool,
}

impl Default for RowBuf {
    fn default() -> Self {
        RowBuf { bytes: Vec::new(), at_row_start: true }
    }
}

impl RowBuf {
    /// For about `bytes` bytes of rows.
    pub fn with_capacity(bytes: usize) -> Self {
        RowBuf { bytes: Vec::with_capacity(bytes), ..RowBuf::default() }
    }

    fn separate(&mut self) {
        if !self.at_row_start {
            self.bytes.push(b',');
        }
        self.at_row_start = false;
    }

    /// Cells from [`encode_cells`].
    pub fn encoded(&mut self, cells: &[u8]) {
        self.separate();
        self.bytes.extend_from_slice(cells);
    }

    /// A cell of digits, signs, points or words without commas, quotes or
    /// line breaks, and that does not start like a formula.
    pub fn plain(&mut self, cell: impl AsRef<[u8]>) {
        let cell = cell.as_ref();
        debug_assert!(
            !cell.iter().any(|b| b"\",\r\n".contains(b)) && !cell.first().is_some_and(|b| b"=+@\t\n".contains(b)),
            "{}",
            String::from_utf8_lossy(cell)
        );
        self.separate();
        self.bytes.extend_from_slice(cell);
    }

    pub fn end_row(&mut self) {
        self.bytes.extend_from_slice(b"\r\n");
        self.at_row_start = true;
    }

    /// The rows' bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// A text cell made safe for spreadsheets and for whoever reads the file:
/// one that starts with `=`, `+`, `-`, `@`, a tab, a carriage return or a
/// line feed (OWASP, "CSV Injection") gets a leading `'`, so Excel, WPS and
/// LibreOffice show it instead of running it; a control character other
/// than tab, CR and LF (quarantined rows show the cell that had one) is
/// written escaped, as `\x00`. Only CSV cells for people are changed, never
/// the Parquet.
pub fn text(s: &str) -> Cow<'_, str> {
    let guarded = matches!(s.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r' | '\n'));
    if !guarded && !s.chars().any(is_forbidden_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 1);
    if guarded {
        out.push('\'');
    }
    for c in s.chars() {
        if is_forbidden_control(c) {
            out.push_str(&escape_control(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn gb18030_output_survives_a_character_cut_between_writes() {
        use std::io::Write;
        let mut sink = super::Sink::new(Vec::new(), super::CsvEncoding::Gb18030);
        let bytes = "城镇新增就业,37.62\r\n".as_bytes();
        for chunk in bytes.chunks(2) {
            sink.write_all(chunk).unwrap();
        }
        let (out, _, _) = sink.finish().unwrap().finish();
        let (want, _, _) = encoding_rs::GB18030.encode("城镇新增就业,37.62\r\n");
        assert_eq!(out, want.as_ref());
    }

    #[test]
    fn assembled_rows_read_back_as_the_csv_writer_wrote_them() {
        let mut rows = super::RowBuf::default();
        rows.encoded(&super::encode_cells(&["TJ-HRSS", "人社局, \"市\"", "=1+1"]));
        rows.plain("-37.62");
        rows.plain("");
        rows.end_row();
        let bytes = rows.into_bytes();
        let mut w = super::buffer();
        w.write_record(["TJ-HRSS", "人社局, \"市\"", "'=1+1", "-37.62", ""]).unwrap();
        assert_eq!(String::from_utf8(bytes).unwrap(), String::from_utf8(w.into_inner().unwrap()).unwrap());
    }

    proptest::proptest! {
        /// Any text (commas, quotes, CR, LF, control characters) in cells
        /// encoded together or one by one, then plain cells: read back by
        /// a CSV reader as one row of the cells written.
        #[test]
        fn assembled_rows_read_back_cell_by_cell(
            cells in proptest::collection::vec(".*|[\",\r\n a]{0,6}", 1..5),
            last in ".*|[\",\r\n]{1,3}",
        ) {
            let mut rows = super::RowBuf::default();
            let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
            // (A reader drops a byte-order mark at the start of a file.)
            rows.plain("2021");
            rows.encoded(&super::encode_cells(&refs));
            rows.encoded(&super::encode_cells(&[&last]));
            rows.plain("37.62");
            rows.end_row();
            rows.encoded(&super::encode_cells(&[&last]));
            rows.end_row();
            let bytes = rows.into_bytes();
            let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes.as_slice());
            let got: Vec<Vec<String>> =
                r.records().map(|rec| rec.unwrap().iter().map(str::to_owned).collect()).collect();
            let mut want = vec!["2021".to_owned()];
            want.extend(cells.iter().map(|c| text(c).into_owned()));
            want.push(text(&last).into_owned());
            want.push("37.62".to_owned());
            proptest::prop_assert_eq!(got, vec![want, vec![text(&last).into_owned()]]);
        }
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(text("=1+1"), "'=1+1");
        assert_eq!(text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text("-"), "'-");
        assert_eq!(text("城镇新增就业"), "城镇新增就业");
        assert_eq!(text("\n=1+1"), "'\n=1+1");
        assert_eq!(text("12\u{0}3\u{7f}"), "12\\x003\\x7F");
        assert_eq!(text("-\u{85}"), "'-\\u{85}");
        assert_eq!(text("备注\t第二行\r\n"), "备注\t第二行\r\n");
    }
}
