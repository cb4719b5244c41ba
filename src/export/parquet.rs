//! Parquet tables, Hive-partitioned by year
//! (`metrics/year=2021/part-00000.parquet`, one part per bucket of
//! agencies, as Spark writes one per task).
//!
//! Types are what pandas, polars, DuckDB and Spark expect: values are
//! `Decimal128(38, s)`, codes and names plain UTF-8 strings (Parquet stores
//! them dictionary-encoded; readers get ordinary strings rather than
//! categoricals), counts `Int64`, flags `Boolean`. The year lives in the
//! directory name only, as Hive and Spark require. Files are zstd
//! compressed, written as row groups of bounded size, each part by the task
//! that computed its rows; the bytes depend only on the rows, so two runs
//! write identical files.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Decimal128Builder, Int64Array, ListBuilder, RecordBatch, StringBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::hashed::{Hashed, Written};
use crate::decimal::{Decimal, MAX_PRECISION};
use crate::model::col;

#[derive(Debug, thiserror::Error)]
pub enum ParquetError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {source}", path.display())]
    Parquet { path: PathBuf, source: parquet::errors::ParquetError },
    #[error("column {column}: {value} does not fit a Decimal128(38) column")]
    Overflow { column: String, value: String },
    #[error("building table {table}: {source}")]
    Arrow { table: &'static str, source: arrow::error::ArrowError },
}

/// How the Parquet files are written.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    pub row_group_rows: usize,
    pub zstd_level: i32,
    /// What every file says about the run that wrote it (see
    /// [`FileFacts`]), as key-value metadata.
    pub facts: FileFacts,
}

/// What every Parquet file says about itself, so that a file copied away
/// from its `manifest.json` still tells where its figures come from: all
/// of it fixed by the inputs (no run id, no time), so a rerun writes the
/// same bytes.
#[derive(Debug, Clone, Default)]
pub struct FileFacts {
    pub version: String,
    pub pipeline_sha256: String,
    pub catalog_sha256: String,
    pub rounding: String,
    /// Per indicator, the decimals of each printed percentage, as JSON.
    pub decimals_json: String,
}

impl FileFacts {
    /// The key-value metadata of a file of `table` with `schema`.
    fn key_values(&self, table: &str, schema: &Schema) -> Vec<KeyValue> {
        let columns: Vec<serde_json::Value> = schema
            .fields()
            .iter()
            .map(|f| {
                let (en, zh) = col::description(f.name()).unwrap_or_default();
                serde_json::json!({ "name": f.name(), "en": en, "zh": zh })
            })
            .collect();
        let kv = |k: &str, v: &str| KeyValue::new(format!("yearbook.{k}"), v.to_owned());
        vec![
            kv("table", table),
            kv("version", &self.version),
            kv("pipeline_sha256", &self.pipeline_sha256),
            kv("catalog_sha256", &self.catalog_sha256),
            kv("rounding", &self.rounding),
            kv("decimals", &self.decimals_json),
            kv("columns", &serde_json::Value::Array(columns).to_string()),
        ]
    }
}

/// A column under construction: name, type and the array (shared when
/// cloned).
#[derive(Clone)]
pub struct Col {
    field: Field,
    array: ArrayRef,
}

impl Col {
    /// The same array under another name (the metrics' `actual` is the
    /// observations' `value`); the array is shared, not copied.
    pub fn renamed(&self, name: &str) -> Col {
        Col { field: self.field.clone().with_name(name), array: Arc::clone(&self.array) }
    }
}

pub fn text<'a>(name: &str, values: impl IntoIterator<Item = Option<&'a str>>) -> Col {
    let values = values.into_iter();
    // Sized up front (codes and names run to a few dozen bytes): growing
    // the buffers by doubling copied them again and again.
    let rows = values.size_hint().0;
    let mut builder = StringBuilder::with_capacity(rows, rows * 16);
    for v in values {
        builder.append_option(v);
    }
    Col { field: Field::new(name, DataType::Utf8, true), array: Arc::new(builder.finish()) }
}

pub fn int64(name: &str, values: impl IntoIterator<Item = Option<i64>>) -> Col {
    let array: Int64Array = values.into_iter().collect();
    Col { field: Field::new(name, DataType::Int64, true), array: Arc::new(array) }
}

pub fn boolean(name: &str, values: impl IntoIterator<Item = Option<bool>>) -> Col {
    let array: BooleanArray = values.into_iter().collect();
    Col { field: Field::new(name, DataType::Boolean, true), array: Arc::new(array) }
}

/// A `Decimal128(38, scale)` column; a value with more than 38 digits at
/// that scale is an error, never a silent null.
pub fn decimal(name: &str, scale: u8, values: impl IntoIterator<Item = Option<Decimal>>) -> Result<Col, ParquetError> {
    let values = values.into_iter();
    let mut builder = Decimal128Builder::with_capacity(values.size_hint().0);
    for v in values {
        match v {
            None => builder.append_null(),
            Some(d) => match d.in_column(scale) {
                Some(r) => builder.append_value(r.mantissa()),
                None => return Err(ParquetError::Overflow { column: name.to_owned(), value: d.to_string() }),
            },
        }
    }
    let array = builder
        .finish()
        .with_precision_and_scale(MAX_PRECISION, scale as i8)
        .expect("38 digits and a small scale are valid");
    let dt = DataType::Decimal128(MAX_PRECISION, scale as i8);
    Ok(Col { field: Field::new(name, dt, true), array: Arc::new(array) })
}

/// A list-of-text column; `items`, the number of texts in all the lists,
/// sizes the buffers up front (a total's contributors run to millions of
/// codes at the bench's large scale, and growing the buffers by doubling
/// copied them again and again).
pub fn text_list<'a, I>(name: &str, items: usize, values: impl IntoIterator<Item = I>) -> Col
where
    I: IntoIterator<Item = &'a str>,
{
    let values = values.into_iter();
    let mut builder = ListBuilder::with_capacity(StringBuilder::with_capacity(items, items * 16), values.size_hint().0);
    for list in values {
        for s in list {
            builder.values().append_value(s);
        }
        builder.append(true);
    }
    let array = builder.finish();
    let field = Field::new(name, array.data_type().clone(), true);
    Col { field, array: Arc::new(array) }
}

/// A list-of-text column whose items are written straight into the
/// column's buffer by `write` (no string per item).
pub fn text_list_written<'a, T: 'a, L>(
    name: &str,
    items: usize,
    lists: impl ExactSizeIterator<Item = L>,
    write: impl Fn(&T, &mut StringBuilder),
) -> Col
where
    L: IntoIterator<Item = &'a T>,
{
    let mut builder = ListBuilder::with_capacity(StringBuilder::with_capacity(items, items * 64), lists.len());
    for list in lists {
        for item in list {
            write(item, builder.values());
            // Ends the value the writes above made.
            builder.values().append_value("");
        }
        builder.append(true);
    }
    let array = builder.finish();
    let field = Field::new(name, array.data_type().clone(), true);
    Col { field, array: Arc::new(array) }
}

/// Assembles columns into a batch.
pub fn batch(table: &'static str, cols: Vec<Result<Col, ParquetError>>) -> Result<RecordBatch, ParquetError> {
    let cols = cols.into_iter().collect::<Result<Vec<_>, _>>()?;
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = cols.into_iter().map(|c| (c.field, c.array)).unzip();
    let schema: SchemaRef = Arc::new(Schema::new(fields));
    RecordBatch::try_new(schema, arrays).map_err(|source| ParquetError::Arrow { table, source })
}

/// Encodes one batch as a Parquet file into `out`, as row groups of at
/// most `row_group_rows` rows; returns `out` after the footer.
pub fn encode<W: Write + Send>(
    out: W,
    table: &str,
    batch: &RecordBatch,
    opts: &WriteOptions,
) -> Result<W, parquet::errors::ParquetError> {
    let mut writer = ArrowWriter::try_new(out, batch.schema(), Some(properties(table, &batch.schema(), opts)?))?;
    writer.write(batch)?;
    writer.into_inner()
}

/// Writes one Parquet file of one batch at `path` (see [`encode`]), synced.
pub fn write_file(path: &Path, table: &str, batch: &RecordBatch, opts: &WriteOptions) -> Result<Written, ParquetError> {
    let dir = path.parent().expect("a part file is inside its partition");
    std::fs::create_dir_all(dir).map_err(|source| ParquetError::Io { path: dir.to_owned(), source })?;
    let file = File::create(path).map_err(|source| ParquetError::Io { path: path.to_owned(), source })?;
    let pq = |source| ParquetError::Parquet { path: path.to_owned(), source };
    let (file, sha256, bytes) = encode(Hashed::new(BufWriter::new(file)), table, batch, opts).map_err(pq)?.finish();
    let io = |source| ParquetError::Io { path: path.to_owned(), source };
    let file = file.into_inner().map_err(|e| io(e.into_error()))?;
    super::durable::sync_file(&file).map_err(io)?;
    Ok(Written { path: path.to_owned(), rows: batch.num_rows() as u64, sha256, bytes })
}

/// Columns whose row-group minimum and maximum are kept: those analysts
/// filter on, which lets DuckDB, Spark and polars skip row groups. Min/max
/// of free text, hashes and 16-byte decimals would cost time on every
/// write and serve no query.
const FILTER_COLUMNS: [&str; 4] = [col::AGENCY, col::INDICATOR, col::KIND, col::SOURCE_FILE];

/// Columns whose values are mostly distinct: cells as typed, notes,
/// positions in the source file, a review rule's sides and the figures it
/// read. A dictionary would cost a hash per value and then be dropped for
/// plain encoding when it fills.
const DISTINCT_COLUMNS: [&str; 8] = [
    col::VALUE_RAW,
    col::TARGET_RAW,
    col::NOTE,
    col::SOURCE_LINE,
    col::SOURCE_BYTE,
    col::LEFT,
    col::RIGHT,
    col::FIGURES_READ,
];

/// How one table is written: zstd at the configured level, row groups of
/// bounded size, statistics on [`FILTER_COLUMNS`] only, and no dictionary
/// for decimals and [`DISTINCT_COLUMNS`].
fn properties(
    table: &str,
    schema: &Schema,
    opts: &WriteOptions,
) -> Result<WriterProperties, parquet::errors::ParquetError> {
    let mut b = WriterProperties::builder()
        .set_key_value_metadata(Some(opts.facts.key_values(table, schema)))
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(opts.zstd_level)?))
        .set_max_row_group_row_count(Some(opts.row_group_rows))
        .set_statistics_enabled(EnabledStatistics::None);
    for f in schema.fields() {
        let name = f.name().as_str();
        // A list's values are the leaf `name.list.<item>`.
        let path = match f.data_type() {
            DataType::List(item) => ColumnPath::new(vec![name.to_owned(), "list".to_owned(), item.name().clone()]),
            _ => ColumnPath::from(name),
        };
        if FILTER_COLUMNS.contains(&name) {
            b = b.set_column_statistics_enabled(path, EnabledStatistics::Chunk);
        } else if DISTINCT_COLUMNS.contains(&name) || matches!(f.data_type(), DataType::Decimal128(..)) {
            b = b.set_column_dictionary_enabled(path, false);
        }
    }
    Ok(b.build())
}
