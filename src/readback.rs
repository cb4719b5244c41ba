//! A finished run's outputs, read back from disk: the manifest and the
//! Parquet tables, for `explain`, `audit` and the audit workbook. Reading
//! only: nothing here computes a figure.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Decimal128Type, Int64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::Deserialize;

use crate::config::{Aggregation, Direction, Kind};
use crate::decimal::{Decimal, Rounding};
use crate::model::NullReason;
use crate::model::file::MANIFEST;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: not a yearbook output directory (no readable {MANIFEST}): {source}", path.display())]
    Manifest { path: PathBuf, source: serde_json::Error },
    #[error("{}: {source}", path.display())]
    Parquet { path: PathBuf, source: parquet::errors::ParquetError },
    #[error("{}: column `{column}` is missing or not {expected}", path.display())]
    Column { path: PathBuf, column: String, expected: &'static str },
    #[error("{}: column `{column}` holds `{value}`, which is not {expected}", path.display())]
    Value { path: PathBuf, column: String, value: String, expected: &'static str },
}

/// A file the manifest lists, with its hash.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Listed {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    /// An output's data rows (none listed for inputs and schemas).
    #[serde(default)]
    pub rows: u64,
    /// A pipeline or schema file's copy in the output.
    #[serde(default)]
    pub copy: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Decimals {
    pub completion: u8,
    pub growth: u8,
    pub change: Option<u8>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RoundingView {
    pub rule: Rounding,
    pub indicators: BTreeMap<String, Decimals>,
}

/// The parts of `manifest.json` that reading the outputs needs.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ManifestView {
    pub run_id: String,
    pub pipeline: Listed,
    pub schemas: Vec<Listed>,
    pub input_dir: String,
    pub rounding: RoundingView,
    pub inputs: Vec<Listed>,
    pub outputs: Vec<Listed>,
}

/// An output directory and its manifest.
pub struct Outputs {
    pub dir: PathBuf,
    pub manifest: ManifestView,
}

impl Outputs {
    pub fn open(dir: &Path) -> Result<Outputs, ReadError> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read(&path).map_err(|source| ReadError::Io { path: path.clone(), source })?;
        let manifest = serde_json::from_slice(&text).map_err(|source| ReadError::Manifest { path, source })?;
        Ok(Outputs { dir: dir.to_owned(), manifest })
    }

    /// Where to read the pipeline or schema file `f` the manifest lists:
    /// its copy in the output when there is one (an output moved to
    /// another machine keeps it), else the path the run was given.
    pub fn schema_path(&self, f: &Listed) -> PathBuf {
        match &f.copy {
            Some(copy) if self.dir.join(copy).is_file() => self.dir.join(copy),
            _ => PathBuf::from(&f.path),
        }
    }

    /// The rows of `table` the manifest lists, all years.
    pub fn rows_of(&self, table: &str) -> u64 {
        let prefix = format!("{table}/");
        self.manifest.outputs.iter().filter(|f| f.path.starts_with(&prefix)).map(|f| f.rows).sum()
    }

    /// The part files of `table` the manifest lists, with their year, in
    /// year then part order; only `year` when given.
    /// `path` relative to the output directory, as the manifest lists it.
    pub fn relative(&self, path: &Path) -> String {
        crate::model::OutDir::new(&self.dir).relative(path)
    }

    pub fn parts(&self, table: &str, year: Option<i32>) -> Vec<(i32, PathBuf)> {
        parts(&self.dir, self.manifest.outputs.iter().map(|f| f.path.as_str()), table, year)
    }

    /// Calls `each` with every batch of `table` (one year, or all), with
    /// the year of its partition.
    pub fn scan(
        &self,
        table: &str,
        year: Option<i32>,
        each: impl FnMut(i32, &Batch<'_>) -> Result<(), ReadError>,
    ) -> Result<(), ReadError> {
        self.scan_where(table, year, &|_| false, None, each)
    }

    /// [`Outputs::scan`] but for the parts `skip` says to leave out, and
    /// only `columns` (all: `None`).
    pub fn scan_where(
        &self,
        table: &str,
        year: Option<i32>,
        skip: &dyn Fn(&Path) -> bool,
        columns: Option<&[&str]>,
        mut each: impl FnMut(i32, &Batch<'_>) -> Result<(), ReadError>,
    ) -> Result<(), ReadError> {
        for (y, path) in self.parts(table, year) {
            if skip(&path) {
                continue;
            }
            let pq = |source| ReadError::Parquet { path: path.clone(), source };
            let file = File::open(&path).map_err(|source| ReadError::Io { path: path.clone(), source })?;
            let mut builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq)?;
            if let Some(columns) = columns {
                // Only the columns asked for are decoded (a total's list of
                // contributors is most of its part).
                let roots = columns
                    .iter()
                    .map(|c| builder.schema().index_of(c).map_err(|e| pq(e.into())))
                    .collect::<Result<Vec<usize>, _>>()?;
                let mask = parquet::arrow::ProjectionMask::roots(builder.parquet_schema(), roots);
                builder = builder.with_projection(mask);
            }
            let reader = builder.build().map_err(pq)?;
            for batch in reader {
                let batch = batch.map_err(|e| pq(e.into()))?;
                each(y, &Batch { batch: &batch, path: &path })?;
            }
        }
        Ok(())
    }
}

/// An enum the outputs write by name.
pub trait Named: Sized + 'static {
    /// What a column of it holds, for errors.
    const WHAT: &'static str;
    fn from_name(name: &str) -> Option<Self>;
}

macro_rules! named {
    ($($t:ty => $what:literal),*) => {$(
        impl Named for $t {
            const WHAT: &'static str = $what;
            fn from_name(name: &str) -> Option<Self> {
                <$t>::from_name(name)
            }
        }
    )*};
}

named! {
    Kind => "a kind of the catalog",
    Direction => "a direction of the catalog",
    Aggregation => "an aggregation of the catalog",
    NullReason => "a null reason"
}

/// One record batch of a table, with typed access to its columns.
pub struct Batch<'b> {
    batch: &'b RecordBatch,
    path: &'b Path,
}

impl<'b> Batch<'b> {
    pub fn len(&self) -> usize {
        self.batch.num_rows()
    }

    pub fn is_empty(&self) -> bool {
        self.batch.num_rows() == 0
    }

    fn column(
        &self,
        name: &str,
        expected: &'static str,
        ok: fn(&DataType) -> bool,
    ) -> Result<&'b dyn Array, ReadError> {
        match self.batch.column_by_name(name) {
            Some(c) if ok(c.data_type()) => Ok(c.as_ref()),
            _ => Err(ReadError::Column { path: self.path.to_owned(), column: name.to_owned(), expected }),
        }
    }

    /// A text column as a function of the row.
    pub fn text(&self, name: &str) -> Result<impl Fn(usize) -> Option<&'b str> + 'b, ReadError> {
        let c = self.column(name, "text", |t| *t == DataType::Utf8)?.as_string::<i32>();
        Ok(move |i| c.is_valid(i).then(|| c.value(i)))
    }

    /// `get` (a column of this batch read by one of the methods below)
    /// where a null is an error naming the file, column and row: for the
    /// columns the writer never leaves empty, so that an output damaged or
    /// written by something else is never read as a 0 or an empty name.
    pub fn present<T>(
        &self,
        name: &str,
        get: impl Fn(usize) -> Option<T> + 'b,
    ) -> impl Fn(usize) -> Result<T, ReadError> + 'b {
        let (path, column) = (self.path.to_owned(), name.to_owned());
        move |i| {
            get(i).ok_or_else(|| ReadError::Value {
                path: path.clone(),
                column: column.clone(),
                value: format!("null in row {}", i + 1),
                expected: "a value (the column is never empty)",
            })
        }
    }

    /// A column of names (`rate`, `down`, `no_target`) as the enum `T` they
    /// stand for; a value that is none of them is an error, never taken for
    /// another.
    pub fn named<T: Named>(
        &self,
        name: &str,
    ) -> Result<impl Fn(usize) -> Result<Option<T>, ReadError> + 'b, ReadError> {
        let text = self.text(name)?;
        let (path, column) = (self.path.to_owned(), name.to_owned());
        Ok(move |i| match text(i) {
            None => Ok(None),
            Some(v) => T::from_name(v).map(Some).ok_or_else(|| ReadError::Value {
                path: path.clone(),
                column: column.clone(),
                value: v.to_owned(),
                expected: T::WHAT,
            }),
        })
    }

    /// [`Batch::named`] for a column the writer never leaves empty: a null
    /// is an error too.
    pub fn named_present<T: Named>(
        &self,
        name: &str,
    ) -> Result<impl Fn(usize) -> Result<T, ReadError> + 'b, ReadError> {
        let get = self.named::<T>(name)?;
        let null = self.present(name, |_| None::<T>);
        Ok(move |i| match get(i)? {
            Some(v) => Ok(v),
            None => null(i),
        })
    }

    pub fn int(&self, name: &str) -> Result<impl Fn(usize) -> Option<i64> + 'b, ReadError> {
        let c = self.column(name, "Int64", |t| *t == DataType::Int64)?.as_primitive::<Int64Type>();
        Ok(move |i| c.is_valid(i).then(|| c.value(i)))
    }

    pub fn boolean(&self, name: &str) -> Result<impl Fn(usize) -> Option<bool> + 'b, ReadError> {
        let c = self.column(name, "Boolean", |t| *t == DataType::Boolean)?.as_boolean();
        Ok(move |i| c.is_valid(i).then(|| c.value(i)))
    }

    pub fn decimal(&self, name: &str) -> Result<impl Fn(usize) -> Option<Decimal> + 'b, ReadError> {
        let c = self.column(name, "Decimal128", |t| matches!(t, DataType::Decimal128(_, s) if *s >= 0))?;
        let c = c.as_primitive::<Decimal128Type>();
        let scale = c.scale() as u8;
        Ok(move |i| c.is_valid(i).then(|| Decimal::new(c.value(i), scale)))
    }

    /// A list-of-text column.
    pub fn text_list(&self, name: &str) -> Result<impl Fn(usize) -> Vec<&'b str> + 'b, ReadError> {
        let c =
            self.column(name, "list of text", |t| matches!(t, DataType::List(f) if *f.data_type() == DataType::Utf8))?;
        let c = c.as_list::<i32>();
        Ok(move |i| {
            if c.is_null(i) {
                return Vec::new();
            }
            let (start, end) = (c.value_offsets()[i] as usize, c.value_offsets()[i + 1] as usize);
            let values = c.values().as_string::<i32>();
            (start..end).map(|j| values.value(j)).collect()
        })
    }
}

/// The SHA-256 (hex) and size of the file at `path`, read in pieces.
pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut f = File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((h.finalize().iter().map(|b| format!("{b:02x}")).collect(), n))
}

impl Outputs {
    /// Whether the file at `path` (as the manifest lists it) holds what
    /// the manifest says: its SHA-256.
    pub fn holds_listed(&self, path: &str, sha256: &str) -> bool {
        sha256_file(&self.dir.join(path)).is_ok_and(|(now, _)| now == sha256)
    }
}

/// The part files of `table` among `outputs` (paths relative to `dir`, as
/// a manifest lists them: `metrics/year=2021/part-00000.parquet`), with
/// their year, in year then part order; only `year` when given.
pub fn parts<'a>(
    dir: &Path,
    outputs: impl Iterator<Item = &'a str>,
    table: &str,
    year: Option<i32>,
) -> Vec<(i32, PathBuf)> {
    let mut parts: Vec<(i32, PathBuf)> = outputs
        .filter_map(|path| {
            let rest = path.strip_prefix(table)?.strip_prefix("/year=")?;
            let (y, _) = rest.split_once('/')?;
            let y: i32 = y.parse().ok()?;
            (year.is_none_or(|want| want == y)).then(|| (y, dir.join(path)))
        })
        .collect();
    parts.sort();
    parts
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};

    use super::*;
    use crate::model::col;

    #[test]
    fn a_null_where_the_writer_never_leaves_one_is_an_error_not_a_zero() {
        let schema = Schema::new(vec![
            Field::new("source_line", DataType::Int64, true),
            Field::new("unit", DataType::Utf8, true),
        ]);
        let lines: Int64Array = vec![Some(7), None].into_iter().collect();
        let units: StringArray = vec![Some("人"), None].into_iter().collect();
        let batch = RecordBatch::try_new(Arc::new(schema), vec![Arc::new(lines), Arc::new(units)]).unwrap();
        let b = Batch { batch: &batch, path: Path::new("metrics/year=2021/part-00000.parquet") };
        let line = b.present(col::SOURCE_LINE, b.int(col::SOURCE_LINE).unwrap());
        assert_eq!(line(0).unwrap(), 7);
        let err = line(1).unwrap_err().to_string();
        assert_eq!(
            err,
            "metrics/year=2021/part-00000.parquet: column `source_line` holds `null in row 2`, \
             which is not a value (the column is never empty)"
        );
        let unit = b.present(col::UNIT, b.text(col::UNIT).unwrap());
        assert_eq!(unit(0).unwrap(), "人");
        assert!(unit(1).is_err());
    }

    #[test]
    fn names_read_back_as_their_enums_and_anything_else_is_an_error() {
        let schema = Schema::new(vec![Field::new("direction", DataType::Utf8, true)]);
        let dirs: StringArray = vec![Some("down"), None, Some("Down")].into_iter().collect();
        let batch = RecordBatch::try_new(Arc::new(schema), vec![Arc::new(dirs)]).unwrap();
        let b = Batch { batch: &batch, path: Path::new("metrics/year=2021/part-00000.parquet") };
        let direction = b.named::<Direction>(col::DIRECTION).unwrap();
        assert_eq!(direction(0).unwrap(), Some(Direction::Down));
        assert_eq!(direction(1).unwrap(), None);
        assert_eq!(
            direction(2).unwrap_err().to_string(),
            "metrics/year=2021/part-00000.parquet: column `direction` holds `Down`, \
             which is not a direction of the catalog"
        );
        assert!(b.named::<NullReason>("completion_null_reason").is_err(), "no such column");
        for r in NullReason::ALL {
            assert_eq!(NullReason::from_name(r.as_str()), Some(*r));
        }
    }
}
