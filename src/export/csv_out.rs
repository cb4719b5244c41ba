//! CSV files for people: UTF-8 with a BOM (so Excel and WPS show Chinese),
//! text cells neutralised against spreadsheet formula injection.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::hashed::{Hashed, Written};

#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct CsvError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// A CSV file being written.
pub struct CsvFile {
    path: PathBuf,
    /// Taken only for the moment of an [`CsvFile::append`].
    writer: Option<csv::Writer<BufWriter<Hashed<File>>>>,
    rows: u64,
}

impl CsvFile {
    /// Creates `path` (and its directory), writing the BOM and the header.
    pub fn create(path: &Path, header: &[&str]) -> Result<CsvFile, CsvError> {
        let err = |source| CsvError { path: path.to_owned(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut out = BufWriter::new(Hashed::new(File::create(path).map_err(err)?));
        out.write_all(b"\xEF\xBB\xBF").map_err(err)?;
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

    /// Flushes and closes; returns what was written.
    pub fn finish(self) -> Result<Written, CsvError> {
        let path = self.path;
        let writer = self.writer.expect("a CsvFile always has its writer between calls");
        let buffered = writer.into_inner().map_err(|e| CsvError { path: path.clone(), source: e.into_error() })?;
        let hashed = buffered.into_inner().map_err(|e| CsvError { path: path.clone(), source: e.into_error() })?;
        let (_, sha256, bytes) = hashed.finish();
        Ok(Written { path, rows: self.rows, sha256, bytes })
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

/// A text cell made safe for spreadsheets: one that starts with `=`, `+`,
/// `-`, `@`, a tab or a carriage return (OWASP, "CSV Injection") gets a
/// leading `'`, so Excel, WPS and LibreOffice show it instead of running
/// it. Only CSV cells for people are changed, never the Parquet.
pub fn text(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(text("=1+1"), "'=1+1");
        assert_eq!(text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text("-"), "'-");
        assert_eq!(text("城镇新增就业"), "城镇新增就业");
    }
}
