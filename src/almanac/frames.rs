//! The run's Parquet parts read back into polars frames: with arrow-rs
//! (the reader `readback` uses), parts decoded in parallel, the year from
//! the partition. polars' own Parquet scan would bring its cloud I/O stack
//! into the build (an HTTP client, TLS, about a hundred crates) to read the
//! run's local files.

use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType as ArrowType, Decimal128Type, Int64Type};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use polars::prelude::*;
use rayon::prelude::*;

use super::AlmanacError;
use crate::readback::ReadError;

/// The parts grouped by year, in year order.
pub(super) fn by_year(parts: &[(i32, PathBuf)]) -> Vec<(i32, Vec<PathBuf>)> {
    let mut out: Vec<(i32, Vec<PathBuf>)> = Vec::new();
    for (year, path) in parts {
        match out.last_mut() {
            Some((y, paths)) if y == year => paths.push(path.clone()),
            _ => out.push((*year, vec![path.clone()])),
        }
    }
    out
}

/// Rows per record batch read from a part.
const BATCH_ROWS: usize = 64 * 1024;

/// One year's parts: `columns`, and the year (from the partition, as
/// Hive readers take it) as an `Int32` column `year`, and each row's part
/// (the number it is given with) as a `UInt32` column
/// [`crate::almanac::league::PART`].
pub(super) fn read_year(year: i32, paths: &[(u32, PathBuf)], columns: &[&str]) -> Result<DataFrame, AlmanacError> {
    // The parts decode in parallel, then stack in part order.
    let parts = paths
        .par_iter()
        .map(|(part, p)| {
            let df = read_part(p, columns)?;
            df.map(|mut df| {
                let n = df.height();
                df.with_column(Column::new(crate::almanac::league::PART.into(), vec![*part; n]))?;
                Ok(df)
            })
            .transpose()
        })
        .collect::<Result<Vec<_>, AlmanacError>>()?;
    let mut frame: Option<DataFrame> = None;
    for df in parts.into_iter().flatten() {
        match &mut frame {
            Some(f) => {
                f.vstack_mut(&df)?;
            }
            None => frame = Some(df),
        }
    }
    let mut frame = match frame {
        Some(f) => f,
        None => DataFrame::new_infer_height(
            columns
                .iter()
                .map(|&n| Column::new_empty(n.into(), &DataType::Null))
                .chain([Column::new_empty(crate::almanac::league::PART.into(), &DataType::UInt32)])
                .collect::<Vec<_>>(),
        )?,
    };
    frame.rechunk_mut();
    let n = frame.height();
    frame.with_column(Column::new("year".into(), vec![year; n]))?;
    Ok(frame)
}

/// `columns` of one part file (`None`: it has no rows).
fn read_part(path: &Path, columns: &[&str]) -> Result<Option<DataFrame>, AlmanacError> {
    let pq = |source| ReadError::Parquet { path: path.to_owned(), source };
    let file = std::fs::File::open(path).map_err(|source| ReadError::Io { path: path.to_owned(), source })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq)?;
    let roots = columns
        .iter()
        .map(|c| builder.schema().index_of(c).map_err(|e| pq(e.into())))
        .collect::<Result<Vec<usize>, _>>()?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder.with_projection(mask).with_batch_size(BATCH_ROWS).build().map_err(pq)?;
    let mut frame: Option<DataFrame> = None;
    for batch in reader {
        let batch = batch.map_err(|e| pq(e.into()))?;
        let column = |name: &str| {
            let err = |expected| ReadError::Column { path: path.to_owned(), column: name.to_owned(), expected };
            let array = batch.column_by_name(name).ok_or_else(|| err("present"))?;
            to_series(name, array.as_ref()).map_err(err)
        };
        let df = DataFrame::new_infer_height(columns.iter().map(|&n| column(n)).collect::<Result<Vec<_>, _>>()?)?;
        match &mut frame {
            Some(f) => {
                f.vstack_mut(&df)?;
            }
            None => frame = Some(df),
        }
    }
    Ok(frame)
}

/// An arrow-rs column as a polars one, for the types yearbook's tables
/// hold; else what it expected.
fn to_series(name: &str, array: &dyn Array) -> Result<Column, &'static str> {
    let name: PlSmallStr = name.into();
    let s = match array.data_type() {
        ArrowType::Utf8 => StringChunked::from_iter_options(name, array.as_string::<i32>().iter()).into_series(),
        ArrowType::Boolean => BooleanChunked::from_iter_options(name, array.as_boolean().iter()).into_series(),
        ArrowType::Int64 => {
            Int64Chunked::from_iter_options(name, array.as_primitive::<Int64Type>().iter()).into_series()
        }
        ArrowType::Decimal128(precision, scale) => {
            Int128Chunked::from_iter_options(name, array.as_primitive::<Decimal128Type>().iter())
                .into_decimal_unchecked(
                    usize::from(*precision),
                    usize::try_from(*scale).map_err(|_| "a decimal of scale ≥ 0")?,
                )
                .into_series()
        }
        _ => return Err("text, a flag, an integer or a decimal"),
    };
    Ok(s.into())
}

/// Every year's parts stacked (`None`: the table has no parts).
pub(super) fn scan(parts: &[(i32, PathBuf)], columns: &[&str]) -> Result<Option<LazyFrame>, AlmanacError> {
    let mut frame: Option<DataFrame> = None;
    for (year, paths) in by_year(parts) {
        let numbered: Vec<(u32, PathBuf)> = paths.into_iter().enumerate().map(|(i, p)| (i as u32, p)).collect();
        let df = read_year(year, &numbered, columns)?;
        match &mut frame {
            Some(f) => {
                f.vstack_mut(&df)?;
            }
            None => frame = Some(df),
        }
    }
    Ok(frame.map(DataFrame::lazy))
}
