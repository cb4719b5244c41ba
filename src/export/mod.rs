//! Export: writes the outputs (the only stage that does; `spill` keeps its
//! temporary buckets inside the same staging directory and removes them).
//! Everything goes to a staging directory beside the output directory; only
//! when every file is complete and synced does it take the output
//! directory's place, in one rename, so the output directory always holds
//! one whole run.

pub mod claims;
pub mod csv_out;
pub mod durable;
pub mod hashed;
pub mod manifest;
pub mod parquet;
pub mod staging;
pub mod summary;
pub mod tables;
pub mod workbook;

use std::path::{Path, PathBuf};

use crate::aggregate::Total;
use crate::config::Pipeline;
use crate::metrics::Metric;
use crate::model::table;
use crate::model::{Observation, Superseded};
use crate::normalize::FileReport;
use crate::rates::PartsRate;
use crate::reject::Issue;

use hashed::Written;
pub use manifest::{Manifest, OutputFile};
pub use staging::Staging;
use tables::Tables;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Parquet(#[from] parquet::ParquetError),
    #[error(transparent)]
    Csv(#[from] csv_out::CsvError),
    #[error(transparent)]
    Summary(#[from] summary::SummaryError),

    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {reason}", path.display())]
    Refused { path: PathBuf, reason: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io { path: path.to_owned(), source }
}

/// What one bucket wrote: its Parquet parts, and the summary rows and
/// league counts the [`Exporter`] appends in bucket order.
pub struct BucketOutput {
    files: Vec<Written>,
    indicators: Vec<(i32, Vec<u8>, u64)>,
    league: Option<polars::prelude::DataFrame>,
    claims: claims::Encoded,
}

/// Writes one bucket's outputs; many run at once, one per bucket.
#[derive(Clone)]
pub struct BucketWriter<'a> {
    dir: PathBuf,
    tables: Tables<'a>,
    opts: parquet::WriteOptions,
}

impl BucketWriter<'_> {
    /// Writes bucket `part`: `current` sorted by key, `metrics` in the same
    /// order, its `rates` recomputed from their parts and `superseded`
    /// sorted by key. Each table gets one part file per year, rows ordered
    /// by agency, then indicator. Leaves `current` and `metrics` in that
    /// order (see [`year_order`]).
    pub fn write(
        &self,
        part: usize,
        current: &mut [Observation],
        metrics: &mut [Metric],
        rates: &[PartsRate],
        superseded: &[Superseded],
    ) -> Result<BucketOutput, ExportError> {
        let t = self.tables;
        let checks = crate::claims::check(current, metrics, rates, t.pipeline);
        let claims = claims::encode(&t, current, &checks);
        let mut out = BucketOutput { files: Vec::new(), indicators: Vec::new(), league: None, claims };
        year_order(current, metrics);
        let rows: Vec<(&Observation, &Metric)> = current.iter().zip(metrics.iter()).collect();
        for year_rows in rows.chunk_by(|a, b| a.0.key.year == b.0.key.year) {
            let year = year_rows[0].0.key.year;
            let n = year_rows.len() as u64;
            let obs: Vec<&Observation> = year_rows.iter().map(|(o, _)| *o).collect();
            // Columns both tables carry are built once.
            let common = t.common(&obs)?;
            let tables = [
                (table::OBSERVATIONS, t.observations(&obs, &common)?),
                (table::METRICS, t.metrics(year_rows, &common)?),
            ];
            for (table, batch) in tables {
                let path = parquet::part_path(&self.dir, table, year, part);
                out.files.push(parquet::write_file(&path, &batch, self.opts)?);
            }
            let bytes = summary::indicator_rows(&t, year_rows);
            out.indicators.push((year, bytes, n));
        }
        if !current.is_empty() {
            out.league = Some(summary::league_counts(&t, current, metrics).map_err(summary::SummaryError::Polars)?);
        }
        let mut by_year: Vec<&PartsRate> = rates.iter().collect();
        by_year.sort_by_key(|r| (r.key.year, r.key.agency, r.key.indicator));
        for year_rows in by_year.chunk_by(|a, b| a.key.year == b.key.year) {
            let path = parquet::part_path(&self.dir, table::RATES, year_rows[0].key.year, part);
            out.files.push(parquet::write_file(&path, &t.rates(year_rows)?, self.opts)?);
        }
        let mut history: Vec<&Superseded> = superseded.iter().collect();
        history.sort_by_key(|s| (s.observation.key.year, s.observation.key.agency, s.observation.key.indicator));
        for year_rows in history.chunk_by(|a, b| a.observation.key.year == b.observation.key.year) {
            let path = parquet::part_path(&self.dir, table::SUPERSEDED, year_rows[0].observation.key.year, part);
            out.files.push(parquet::write_file(&path, &t.superseded(year_rows)?, self.opts)?);
        }
        Ok(out)
    }
}

/// Moves observations and their metrics, sorted by key, into the order of
/// the output files: by year, then agency, then indicator. Each table's
/// columns are built one after the other, a pass over the rows each; over
/// rows of one year side by side those passes read memory in sequence,
/// where reading every tenth row of a bucket sorted by key missed the
/// cache on nearly every row (m: 4.77 s → 4.36 s, medians of five runs
/// each, alternated).
fn year_order(current: &mut [Observation], metrics: &mut [Metric]) {
    let mut order: Vec<usize> = (0..current.len()).collect();
    order.sort_unstable_by_key(|&i| {
        let k = current[i].key;
        (k.year, k.agency, k.indicator)
    });
    permute(current, &order);
    permute(metrics, &order);
}

/// Reorders `v` in place so that `v[k]` becomes the element that was at
/// `order[k]` (`order` a permutation of `0..v.len()`), one swap per move.
fn permute<T>(v: &mut [T], order: &[usize]) {
    let mut placed = vec![false; v.len()];
    for start in 0..v.len() {
        let mut k = start;
        while !placed[k] {
            placed[k] = true;
            let from = order[k];
            if from == start {
                break;
            }
            v.swap(k, from);
            k = from;
        }
    }
}

/// Writes a run's outputs into a directory: the buckets' parts as they come
/// (in bucket order), then the totals, the issues and the summaries at
/// [`Exporter::finish`].
pub struct Exporter<'a> {
    dir: PathBuf,
    tables: Tables<'a>,
    opts: parquet::WriteOptions,
    written: Vec<Written>,
    summary: summary::Summary,
    claims: Option<csv_out::CsvFile>,
    claim_counts: claims::ClaimCounts,
}

impl<'a> Exporter<'a> {
    pub fn new(dir: &Path, p: &'a Pipeline, files: &'a [FileReport]) -> Self {
        let opts = parquet::WriteOptions { row_group_rows: p.row_group_rows, zstd_level: p.zstd_level };
        Exporter {
            dir: dir.to_owned(),
            tables: Tables::new(p, files),
            opts,
            written: Vec::new(),
            summary: summary::Summary::new(dir),
            claims: None,
            claim_counts: claims::ClaimCounts::default(),
        }
    }

    /// The writer that bucket tasks use.
    pub fn bucket_writer(&self) -> BucketWriter<'a> {
        BucketWriter { dir: self.dir.clone(), tables: self.tables, opts: self.opts }
    }

    /// Takes in what one bucket wrote; buckets must come in order.
    pub fn absorb(&mut self, out: BucketOutput) -> Result<(), ExportError> {
        self.written.extend(out.files);
        for (year, bytes, rows) in out.indicators {
            self.summary.append_indicators(year, &bytes, rows)?;
        }
        if let Some(league) = out.league {
            self.summary.add_league(league);
        }
        let c = out.claims;
        self.claim_counts.add(c.counts);
        self.claims_file()?.append(&c.all, c.all_rows)?;
        for (year, (bytes, rows)) in c.mismatches {
            self.summary.append_claims(year, &bytes, rows)?;
        }
        Ok(())
    }

    fn claims_file(&mut self) -> Result<&mut csv_out::CsvFile, ExportError> {
        if self.claims.is_none() {
            self.claims = Some(csv_out::CsvFile::create(&self.dir.join("claims.csv"), &claims::CLAIMS_HEADER)?);
        }
        Ok(self.claims.as_mut().expect("created above"))
    }

    /// The claims checked so far.
    pub fn claim_counts(&self) -> claims::ClaimCounts {
        self.claim_counts
    }

    /// Writes the totals, the quarantine, the warnings and the summaries,
    /// closes every file and returns them (paths relative to the output
    /// directory, sorted) with their hashes.
    pub fn finish(
        mut self,
        totals: &[Total],
        rejected: &[Issue],
        warnings: &[Issue],
    ) -> Result<Vec<OutputFile>, ExportError> {
        self.claims_file()?;
        let t = self.tables;
        let dir = self.dir;
        let mut written = self.written;
        written.push(self.claims.take().expect("created above").finish()?);

        let mut by_year: Vec<&Total> = totals.iter().collect();
        by_year.sort_by_key(|t| (t.key.year, t.key.agency, t.key.indicator));
        for rows in by_year.chunk_by(|a, b| a.key.year == b.key.year) {
            let path = parquet::part_path(&dir, table::TOTALS, rows[0].key.year, 0);
            written.push(parquet::write_file(&path, &t.totals(rows)?, self.opts)?);
        }

        written.push(write_issues(&dir.join("quarantine.csv"), &t, rejected)?);
        written.push(write_issues(&dir.join("warnings.csv"), &t, warnings)?);
        written.extend(self.summary.finish(&t, &by_year)?);

        let mut outputs: Vec<OutputFile> = written
            .into_iter()
            .map(|w| {
                let rel = w.path.strip_prefix(&dir).unwrap_or(&w.path);
                let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                OutputFile { path: rel, sha256: w.sha256, bytes: w.bytes, rows: w.rows }
            })
            .collect();
        outputs.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(outputs)
    }
}

const ISSUE_HEADER: [&str; 8] = ["file", "line", "byte", "field", "raw", "code", "message_zh", "message_en"];

/// `quarantine.csv` or `warnings.csv`: one row per issue, in file and line
/// order.
fn write_issues(path: &Path, t: &Tables<'_>, issues: &[Issue]) -> Result<Written, ExportError> {
    let mut f = csv_out::CsvFile::create(path, &ISSUE_HEADER)?;
    for i in issues {
        f.row([
            csv_out::text(&t.files[i.file.0 as usize].path).as_ref(),
            &i.line.to_string(),
            &i.byte.to_string(),
            &csv_out::text(&i.field),
            &csv_out::text(&i.raw),
            i.code.as_str(),
            &csv_out::text(&i.message_zh()),
            &csv_out::text(&i.message_en()),
        ])?;
    }
    Ok(f.finish()?)
}

/// The audit workbook's file name.
pub const WORKBOOK: &str = "audit.xlsx";

/// The file whose presence marks a directory as yearbook's outputs.
pub const MANIFEST: &str = "manifest.json";

#[cfg(test)]
mod tests {
    use super::permute;

    #[test]
    fn permute_moves_each_element_where_the_order_says() {
        let orders: [&[usize]; 4] = [&[2, 0, 1], &[0, 1, 2, 3], &[3, 2, 1, 0], &[1, 0, 3, 4, 2]];
        for order in orders {
            let mut v: Vec<char> = ('a'..).take(order.len()).collect();
            let want: Vec<char> = order.iter().map(|&i| v[i]).collect();
            permute(&mut v, order);
            assert_eq!(v, want, "{order:?}");
        }
    }
}
