//! Export: formats a run's computed figures and writes them, the manifest
//! last. Nothing here computes a figure: a bucket's come in as
//! [`BucketFigures`], the totals, the yearbook tables and the changes as
//! plain values. Paths are
//! made by [`OutDir`], in a staging directory that takes the output
//! directory's place only when every file is complete and synced
//! ([`Staging`]), so the output directory always holds one whole run.
//! (The incremental cache, `crate::cache`, is written inside the same
//! staging directory, under `.cache/`, so it always matches the outputs
//! beside it.)

pub mod almanac;
pub mod claims;
pub mod csv_out;
pub mod durable;
pub mod hashed;
pub mod manifest;
pub mod parquet;
pub mod report;
pub mod sdmx;
pub mod staging;
pub mod summary;
pub mod tables;
pub mod workbook;

use std::path::{Path, PathBuf};

use serde_bytes::ByteBuf;

use crate::aggregate::Total;
use crate::bucket::BucketFigures;
use crate::metrics::Metric;
use crate::model::{Observation, Superseded, file, table};
use crate::rates::PartsRate;
use crate::reject::Issue;

pub use crate::model::OutDir;
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
    Workbook(#[from] workbook::WorkbookError),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {reason}", path.display())]
    Refused { path: PathBuf, reason: String },
}

fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io { path: path.to_owned(), source }
}

/// How a run's outputs are written.
#[derive(Debug, Clone)]
pub struct Settings {
    pub parquet: parquet::WriteOptions,
    /// The people's CSVs.
    pub csv: csv_out::CsvEncoding,
    /// `sdmx.csv`, when the pipeline asks for it.
    pub sdmx: Option<sdmx::Structure>,
    /// Whether `summary/<year>/indicators.csv` is written (a run small
    /// enough for people to open it).
    pub indicator_rows: bool,
    /// The most rows of a year's mismatched claims written for people.
    pub summary_max_rows: u64,
}

/// What one bucket wrote: its Parquet parts, and the rows the [`Exporter`]
/// appends in bucket order (CSV bytes as `ByteBuf`, which the cache keeps
/// and reads back whole, not a byte at a time). The incremental cache
/// keeps it as it is, the parts' paths made relative to the output.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct BucketOutput {
    pub files: Vec<Written>,
    pub indicators: Vec<(i32, ByteBuf, u64)>,
    pub claims: claims::Encoded,
    pub sdmx: Option<(ByteBuf, u64)>,
}

impl BucketOutput {
    /// Moves the parts' paths from under `from` to under `to` (to and
    /// from the paths relative to the output that the cache keeps).
    pub fn rebase(&mut self, from: &Path, to: &Path) {
        for w in &mut self.files {
            w.path = to.join(w.path.strip_prefix(from).unwrap_or(&w.path));
        }
    }
}

/// Writes one bucket's outputs; many run at once, one per bucket.
#[derive(Clone)]
pub struct BucketWriter<'a> {
    paths: OutDir,
    tables: Tables<'a>,
    settings: Settings,
}

impl BucketWriter<'_> {
    /// Writes bucket `part`. Each table gets one part file per year, rows
    /// ordered by agency, then indicator.
    pub fn write(&self, part: usize, f: &BucketFigures) -> Result<BucketOutput, ExportError> {
        let t = self.tables;
        let rows: Vec<(&Observation, &Metric)> = f.current.iter().zip(&f.metrics).collect();
        let mut out = BucketOutput {
            files: Vec::new(),
            indicators: Vec::new(),
            claims: claims::encode(&t, &f.claims),
            sdmx: self.settings.sdmx.as_ref().map(|s| sdmx::encode(&t, s, &rows)).map(|(b, n)| (ByteBuf::from(b), n)),
        };
        let opts = &self.settings.parquet;
        let write = |table: &'static str, year: i32, batch: arrow::array::RecordBatch| {
            parquet::write_file(&self.paths.part(table, year, part), table, &batch, opts)
        };
        // Each part file is a task of its own: a run that computes one
        // bucket (an incremental one) still keeps both cores busy.
        let mut by_year: Vec<&PartsRate> = f.rates.iter().collect();
        by_year.sort_by_key(|r| (r.key.year, r.key.agency, r.key.indicator));
        let mut claims: Vec<&crate::claims::ClaimCheck> = f.claims.iter().collect();
        claims.sort_by_key(|c| c.key.year);
        // By year, then agency and rule (the rules file's order): buckets
        // hold ranges of agencies, so their parts read one after the other
        // are in that order too.
        let mut checks: Vec<&crate::checks::Evaluation> = f.checks.iter().collect();
        checks.sort_by_key(|e| (e.key.1, e.key.0, e.rule));
        let mut history: Vec<&Superseded> = f.superseded.iter().collect();
        history.sort_by_key(|s| (s.observation.key.year, s.observation.key.agency, s.observation.key.indicator));
        type Task<'t> = Box<dyn Fn() -> Result<Vec<Written>, ExportError> + Send + Sync + 't>;
        let mut tasks: Vec<Task<'_>> = Vec::new();
        let years: Vec<&[(&Observation, &Metric)]> = rows.chunk_by(|a, b| a.0.key.year == b.0.key.year).collect();
        for &year_rows in &years {
            tasks.push(Box::new(move || {
                let year = year_rows[0].0.key.year;
                let obs: Vec<&Observation> = year_rows.iter().map(|(o, _)| *o).collect();
                // Columns both tables carry are built once.
                let common = t.common(&obs)?;
                Ok(vec![
                    write(table::OBSERVATIONS, year, t.observations(&obs, &common)?)?,
                    write(table::METRICS, year, t.metrics(year_rows, &common)?)?,
                ])
            }));
        }
        if self.settings.indicator_rows {
            for year_rows in &years {
                let n = year_rows.len() as u64;
                out.indicators.push((
                    year_rows[0].0.key.year,
                    ByteBuf::from(summary::indicator_rows(&t, year_rows)),
                    n,
                ));
            }
        }
        for year_rows in by_year.chunk_by(|a, b| a.key.year == b.key.year) {
            tasks.push(Box::new(move || Ok(vec![write(table::RATES, year_rows[0].key.year, t.rates(year_rows)?)?])));
        }
        for year_rows in claims.chunk_by(|a, b| a.key.year == b.key.year) {
            tasks.push(Box::new(move || Ok(vec![write(table::CLAIMS, year_rows[0].key.year, t.claims(year_rows)?)?])));
        }
        for year_rows in checks.chunk_by(|a, b| a.key.1 == b.key.1) {
            tasks.push(Box::new(move || Ok(vec![write(table::CHECKS, year_rows[0].key.1, t.checks(year_rows)?)?])));
        }
        for year_rows in history.chunk_by(|a, b| a.observation.key.year == b.observation.key.year) {
            let year = year_rows[0].observation.key.year;
            tasks.push(Box::new(move || Ok(vec![write(table::SUPERSEDED, year, t.superseded(year_rows)?)?])));
        }
        use rayon::prelude::*;
        let written = tasks.par_iter().map(|task| task()).collect::<Result<Vec<_>, ExportError>>()?;
        out.files = written.into_iter().flatten().collect();
        Ok(out)
    }
}

/// Writes a run's outputs into a directory: the buckets' parts as they come
/// (in bucket order), then the totals, the issues and the summaries at
/// [`Exporter::finish`].
pub struct Exporter<'a> {
    paths: OutDir,
    tables: Tables<'a>,
    settings: Settings,
    written: Vec<Written>,
    summary: summary::Summary,
    sdmx: Option<csv_out::CsvFile>,
    mismatches: crate::export::report::Mismatches,
}

impl<'a> Exporter<'a> {
    pub fn new(paths: OutDir, tables: Tables<'a>, settings: Settings) -> Self {
        Exporter {
            summary: summary::Summary::new(paths.clone(), settings.csv, settings.summary_max_rows),
            paths,
            tables,
            settings,
            written: Vec::new(),
            sdmx: None,
            mismatches: Default::default(),
        }
    }

    /// The writer that bucket tasks use.
    pub fn bucket_writer(&self) -> BucketWriter<'a> {
        BucketWriter { paths: self.paths.clone(), tables: self.tables, settings: self.settings.clone() }
    }

    /// Takes in what one bucket wrote; buckets must come in order.
    pub fn absorb(&mut self, out: BucketOutput) -> Result<(), ExportError> {
        self.written.extend(out.files);
        for (year, bytes, rows) in out.indicators {
            self.summary.append_indicators(year, &bytes, rows)?;
        }
        if let Some((bytes, rows)) = out.sdmx {
            self.sdmx_file()?.append(&bytes, rows)?;
        }
        let c = out.claims;
        self.mismatches.merge(c.report);
        for (year, (bytes, rows)) in c.mismatches {
            self.summary.append_claims(year, &bytes, rows)?;
        }
        Ok(())
    }

    fn sdmx_file(&mut self) -> Result<&mut csv_out::CsvFile, ExportError> {
        if self.sdmx.is_none() {
            let path = self.paths.file(file::SDMX);
            self.sdmx = Some(csv_out::CsvFile::create(&path, &sdmx::HEADER, csv_out::CsvEncoding::Utf8NoBom)?);
        }
        Ok(self.sdmx.as_mut().expect("created above"))
    }

    /// Writes the evaluations of the review rules on totals: a part of the
    /// `checks` table per year, after the buckets' (`part-totals`).
    pub fn write_total_checks(&mut self, evaluations: &[crate::checks::Evaluation]) -> Result<(), ExportError> {
        let mut rows: Vec<&crate::checks::Evaluation> = evaluations.iter().collect();
        rows.sort_by_key(|e| (e.key.1, e.key.0, e.rule));
        for year_rows in rows.chunk_by(|a, b| a.key.1 == b.key.1) {
            let path = self.paths.totals_part(table::CHECKS, year_rows[0].key.1);
            let batch = self.tables.checks(year_rows)?;
            self.written.push(parquet::write_file(&path, table::CHECKS, &batch, &self.settings.parquet)?);
        }
        Ok(())
    }

    /// The claims that did not match, for the report page (taken: call
    /// once every bucket is absorbed).
    pub fn take_mismatches(&mut self) -> crate::export::report::Mismatches {
        std::mem::take(&mut self.mismatches)
    }

    /// Writes the quarantine, the warnings and the summaries (after
    /// [`Exporter::write_totals`]), closes every file and returns every
    /// file written (paths relative to the output directory, sorted) with
    /// their hashes.
    pub fn finish(
        self,
        totals: &[Total],
        rejected: &[Issue],
        warnings: &[Issue],
    ) -> Result<Vec<OutputFile>, ExportError> {
        let t = self.tables;
        let by_year = by_year(totals);
        let (paths, mut written) = (self.paths, self.written);
        for (name, issues) in [(file::QUARANTINE, rejected), (file::WARNINGS, warnings)] {
            let mut f = csv_out::CsvFile::create(&paths.file(name), &ISSUE_HEADER, self.settings.csv)?;
            issue_rows(&mut f, &t, issues)?;
            written.push(f.finish()?);
        }
        written.extend(self.summary.finish(&t, &by_year)?);
        Ok(listed(&paths, written))
    }

    /// Writes the totals' Parquet parts (and their SDMX rows): the first
    /// of [`Exporter::finish`]'s files, which the yearbook tables read. A
    /// year whose rows are those of a part in `previous` (by digest) has
    /// that part linked, not encoded again. Returns each year's part with
    /// its digest, for the next run.
    pub fn write_totals(
        &mut self,
        totals: &[Total],
        previous: Option<&PreviousTotals<'_>>,
    ) -> Result<Vec<TotalsPart>, ExportError> {
        let t = self.tables;
        let by_year = by_year(totals);
        if let Some(s) = self.settings.sdmx.clone() {
            let (bytes, rows) = sdmx::encode_totals(&t, &s, &by_year);
            self.sdmx_file()?.append(&bytes, rows)?;
        }
        if let Some(f) = self.sdmx.take() {
            self.written.push(f.finish()?);
        }
        // A year's totals each, in parallel: their lists of contributors
        // make them the largest file of the finish.
        let years: Vec<&[&Total]> = by_year.chunk_by(|a, b| a.key.year == b.key.year).collect();
        let (paths, opts) = (&self.paths, &self.settings.parquet);
        let parts = {
            use rayon::prelude::*;
            years
                .par_iter()
                .map(|rows| {
                    let year = rows[0].key.year;
                    let path = paths.part(table::TOTALS, year, 0);
                    let digest = TotalsPart::digest(rows, |o| t.source_file(o));
                    let file = match previous.and_then(|p| p.linked(year, &digest, &path)) {
                        Some(file) => file,
                        None => parquet::write_file(&path, table::TOTALS, &t.totals(rows)?, opts)?,
                    };
                    Ok(TotalsPart { year, digest, file })
                })
                .collect::<Result<Vec<_>, ExportError>>()?
        };
        self.written.extend(parts.iter().map(|p| p.file.clone()));
        Ok(parts
            .into_iter()
            .map(|p| TotalsPart { file: Written { path: paths.relative(&p.file.path).into(), ..p.file }, ..p })
            .collect())
    }

    /// The files written so far, as the manifest lists them.
    pub fn listed(&self) -> Vec<OutputFile> {
        listed(&self.paths, self.written.clone())
    }
}

/// One year's totals part as a run wrote it (its path relative to the
/// output), with the digest of the rows it holds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TotalsPart {
    pub year: i32,
    pub digest: [u8; 32],
    pub file: Written,
}

impl TotalsPart {
    /// The SHA-256 of a year's totals as serialized: every field a row of
    /// the part is made of. The part's other bytes come from the pipeline,
    /// the schemas and yearbook's version, which key the cache that keeps
    /// the digests.
    /// A report's file is hashed by its path, which the part holds, not
    /// by the run's id of it, which moves as files come and go.
    pub fn digest<'f>(rows: &[&Total], file: impl Fn(&crate::model::Origin) -> &'f str) -> [u8; 32] {
        use sha2::Digest;
        let mut sha = sha2::Sha256::new();
        postcard::to_io(rows, &mut sha).expect("hashing does not fail");
        for r in rows.iter().flat_map(|t| t.report.iter().chain(&t.conflicts)) {
            postcard::to_io(file(&r.origin), &mut sha).expect("hashing does not fail");
        }
        sha.finalize().into()
    }
}

/// The totals parts of a previous run, and the output they are in.
pub struct PreviousTotals<'p> {
    pub out: &'p Path,
    pub parts: &'p [TotalsPart],
}

impl PreviousTotals<'_> {
    /// Links the previous part of `year` to `to` when its rows had this
    /// digest: what it holds, or `None` (none such, or it could not be
    /// linked: the year is written again).
    fn linked(&self, year: i32, digest: &[u8; 32], to: &Path) -> Option<Written> {
        let part = self.parts.iter().find(|p| p.year == year && &p.digest == digest)?;
        let recorded = (part.file.bytes, part.file.sha256.as_str());
        hashed::link_verified(&self.out.join(&part.file.path), to, recorded, None).ok()?;
        Some(Written { path: to.to_owned(), ..part.file.clone() })
    }
}

/// Totals by year, then parent, then indicator: the order of the files.
fn by_year(totals: &[Total]) -> Vec<&Total> {
    let mut by_year: Vec<&Total> = totals.iter().collect();
    by_year.sort_by_key(|t| (t.key.year, t.key.agency, t.key.indicator));
    by_year
}

/// Written files as the manifest lists them: relative paths, sorted.
fn listed(paths: &OutDir, written: Vec<Written>) -> Vec<OutputFile> {
    let mut outputs: Vec<OutputFile> = written
        .into_iter()
        .map(|w| OutputFile { path: paths.relative(&w.path), sha256: w.sha256, bytes: w.bytes, rows: w.rows })
        .collect();
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    outputs
}

/// Writes the yearbook tables (see [`almanac`]); returns them as the
/// manifest lists them.
pub fn write_almanac(
    paths: &OutDir,
    tables: &Tables<'_>,
    computed: &crate::almanac::Almanac,
    sheets: almanac::RankingSheets,
    encoding: csv_out::CsvEncoding,
) -> Result<Vec<OutputFile>, ExportError> {
    Ok(listed(paths, almanac::write(paths, tables, computed, sheets, encoding)?))
}

/// The league and movers sheets of `tables.xlsx` (see
/// [`almanac::ranking_sheets`]), made ahead of the workbook.
pub fn ranking_sheets(
    tables: &Tables<'_>,
    metrics: &crate::almanac::FromMetrics,
) -> Result<almanac::RankingSheets, ExportError> {
    almanac::ranking_sheets(tables, &metrics.league, &metrics.movers).map_err(|e| ExportError::Refused {
        path: std::path::PathBuf::from(file::TABLES_WORKBOOK),
        reason: e.to_string(),
    })
}

/// The columns of `quarantine.csv` and `warnings.csv`: file, line (a
/// workbook's row), byte, the column as the file names it, the cell as
/// typed, the stable code, and the message in Chinese, then in English.
/// Each header is Chinese for people, then its English name for the tools
/// that read the file by it (`file`, `line`: the benchmark's checker, a
/// script).
const ISSUE_HEADER: [&str; 8] = [
    "文件 file",
    "行号 line",
    "字节位置 byte",
    "列名 field",
    "原文 raw",
    "代码 code",
    "说明 message_zh",
    "英文说明 message_en",
];

/// The rows of `quarantine.csv` or `warnings.csv`: one per issue, in file
/// and line order.
fn issue_rows<W: std::io::Write>(
    f: &mut csv_out::CsvFile<W>,
    t: &Tables<'_>,
    issues: &[Issue],
) -> Result<(), csv_out::CsvError> {
    for i in issues {
        f.row([
            csv_out::text(&t.files[i.file.0 as usize].path).as_ref(),
            &i.line.to_string(),
            // A workbook's row has no byte offset: its line is the row.
            &if t.files[i.file.0 as usize].sheet.is_some() { String::new() } else { i.byte.to_string() },
            &csv_out::text(&i.field),
            &csv_out::text(&i.raw),
            i.code.as_str(),
            &csv_out::text(&i.message_zh()),
            &csv_out::text(&i.message_en()),
        ])?;
    }
    Ok(())
}

/// The outputs written so far into `paths`, as the readers of a finished
/// run see them.
pub fn read_back(paths: &OutDir, manifest: &Manifest) -> crate::readback::Outputs {
    use crate::readback::{Decimals, Listed, ManifestView, RoundingView};
    use serde::Deserialize;
    let listed = |path: &str, sha256: &str, bytes: u64| Listed {
        path: path.to_owned(),
        sha256: sha256.to_owned(),
        bytes,
        rows: 0,
        copy: None,
    };
    let input = |f: &manifest::InputFile| Listed { copy: f.copy.clone(), ..listed(&f.path, &f.sha256, f.bytes) };
    let rule = serde::de::value::StrDeserializer::<serde::de::value::Error>::new(&manifest.rounding.rule);
    let view = ManifestView {
        run_id: manifest.run_id.clone(),
        pipeline: input(&manifest.pipeline),
        schemas: manifest.schemas.iter().map(input).collect(),
        input_dir: manifest.input_dir.clone(),
        rounding: RoundingView {
            rule: crate::decimal::Rounding::deserialize(rule).expect("the manifest names a rule by its name"),
            indicators: manifest
                .rounding
                .indicators
                .iter()
                .map(|(k, d)| (k.clone(), Decimals { completion: d.completion, growth: d.growth, change: d.change }))
                .collect(),
        },
        inputs: manifest.inputs.iter().map(|f| listed(&f.path, &f.sha256, f.bytes)).collect(),
        outputs: manifest.outputs.iter().map(output).collect(),
    };
    crate::readback::Outputs { dir: paths.root().to_owned(), manifest: view }
}

/// An output as a reader of the manifest lists it.
fn output(f: &OutputFile) -> crate::readback::Listed {
    crate::readback::Listed { path: f.path.clone(), sha256: f.sha256.clone(), bytes: f.bytes, rows: f.rows, copy: None }
}

/// The outputs written so far into `paths` as a reader sees them: only
/// their list (what [`crate::changes::between`] reads by), before the
/// manifest is made.
pub fn listing(paths: &OutDir, outputs: &[OutputFile]) -> crate::readback::Outputs {
    let manifest =
        crate::readback::ManifestView { outputs: outputs.iter().map(output).collect(), ..Default::default() };
    crate::readback::Outputs { dir: paths.root().to_owned(), manifest }
}

/// `audit.xlsx` as a run wrote it, with the digest of what it is made
/// from.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct WorkbookEntry {
    pub digest: [u8; 32],
    pub file: OutputFile,
}

impl WorkbookEntry {
    /// The SHA-256 of everything the workbook reads: the outputs it is
    /// made from (by path and SHA-256) and the rounding rule and decimals
    /// its formulas use. Its other bytes come from the build, which keys
    /// the cache that keeps the digest.
    pub fn digest(manifest: &Manifest) -> [u8; 32] {
        use sha2::Digest;
        let mut sha = sha2::Sha256::new();
        for o in &manifest.outputs {
            sha.update(o.path.as_bytes());
            sha.update([0]);
            sha.update(o.sha256.as_bytes());
            sha.update([0]);
        }
        sha.update(serde_json::to_vec(&manifest.rounding).expect("the rounding serializes"));
        sha.finalize().into()
    }
}

/// Writes `audit.xlsx` from the Parquet already written into `paths` and
/// the run's manifest; or links the previous run's (in `previous`, with
/// its entry) when it was made from the same outputs.
pub fn write_workbook(
    paths: &OutDir,
    manifest: &Manifest,
    previous: Option<(&Path, &WorkbookEntry)>,
) -> Result<WorkbookEntry, ExportError> {
    let digest = WorkbookEntry::digest(manifest);
    let path = paths.file(file::WORKBOOK);
    if let Some((out, entry)) = previous.filter(|(_, e)| e.digest == digest)
        && hashed::link_verified(&out.join(&entry.file.path), &path, (entry.file.bytes, &entry.file.sha256), None)
            .is_ok()
    {
        return Ok(entry.clone());
    }
    let outputs = read_back(paths, manifest);
    workbook::write(&outputs, &path)?;
    durable::sync_path(&path).map_err(io(&path))?;
    let bytes = std::fs::read(&path).map_err(io(&path))?;
    let file = OutputFile {
        path: file::WORKBOOK.to_owned(),
        sha256: crate::ingest::sha256_hex(&bytes),
        bytes: bytes.len() as u64,
        rows: manifest.counts.observations,
    };
    Ok(WorkbookEntry { digest, file })
}

/// `changes.csv`'s columns, each header in Chinese then English.
pub const CHANGES_HEADER: [&str; 9] = [
    "年度 year",
    "单位代码 agency",
    "指标代码 indicator",
    "项目 measure",
    "变化 change",
    "原值 old",
    "新值 new",
    "来源文件 source_file",
    "行号 source_line",
];

/// The rows of `changes.csv` (see [`crate::changes`]).
pub fn change_rows<W: std::io::Write>(
    f: &mut csv_out::CsvFile<W>,
    changes: &[crate::changes::Change],
) -> Result<(), csv_out::CsvError> {
    let num = |d: Option<crate::decimal::Decimal>| d.map(|d| d.trimmed().to_string()).unwrap_or_default();
    for ch in changes {
        f.row([
            ch.year.to_string().as_str(),
            &csv_out::text(&ch.agency),
            &csv_out::text(&ch.indicator),
            ch.measure.zh(),
            ch.kind.zh(),
            &num(ch.old),
            &num(ch.new),
            &csv_out::text(&ch.file),
            &ch.line.map(|l| l.to_string()).unwrap_or_default(),
        ])?;
    }
    Ok(())
}

/// Writes `changes.csv` and the `changes` table (a part per year).
pub fn write_changes(
    paths: &OutDir,
    changes: &[crate::changes::Change],
    encoding: csv_out::CsvEncoding,
    opts: &parquet::WriteOptions,
) -> Result<Vec<OutputFile>, ExportError> {
    let mut f = csv_out::CsvFile::create(&paths.file(file::CHANGES), &CHANGES_HEADER, encoding)?;
    change_rows(&mut f, changes)?;
    let mut written = vec![f.finish()?];
    for year_rows in changes.chunk_by(|a, b| a.year == b.year) {
        let path = paths.part(table::CHANGES, year_rows[0].year, 0);
        written.push(parquet::write_file(&path, table::CHANGES, &changes_batch(year_rows)?, opts)?);
    }
    Ok(listed(paths, written))
}

/// `summary/审核结果.csv`'s columns, each header in Chinese then English.
pub const CHECK_FINDINGS_HEADER: [&str; 14] = [
    "审核公式 rule",
    "公式名称 rule_name",
    "审核性质 severity",
    "单位代码 agency",
    "单位名称 agency_name",
    "年度 year",
    "结果 outcome",
    "左侧 left",
    "比较 comparison",
    "右侧 right",
    "容差 tolerance",
    "单位说明 explanation",
    "审核公式原文 expression",
    "读取数据 figures_read",
];

/// `summary/审核结果.csv`: every failed and explained evaluation of the
/// review rules, by rule, agency and year, in Chinese first; written when
/// the pipeline has rules.
pub fn write_check_findings(
    paths: &OutDir,
    tables: &Tables<'_>,
    findings: &[crate::checks::Evaluation],
    encoding: csv_out::CsvEncoding,
) -> Result<Option<OutputFile>, ExportError> {
    if tables.rules.is_empty() {
        return Ok(None);
    }
    let mut rows: Vec<&crate::checks::Evaluation> = findings.iter().collect();
    let code = |e: &crate::checks::Evaluation| tables.register.agency(e.key.0).code.as_str();
    rows.sort_by(|a, b| (a.rule, code(a), a.key.1).cmp(&(b.rule, code(b), b.key.1)));
    let mut f = csv_out::CsvFile::create(&paths.summary_file(file::CHECK_FINDINGS), &CHECK_FINDINGS_HEADER, encoding)?;
    for e in rows {
        let rule = &tables.rules[e.rule as usize];
        let agency = tables.register.agency(e.key.0);
        let side = |q: &Option<crate::checks::Num>| q.as_ref().map(|x| x.text()).unwrap_or_default();
        let reads: Vec<String> = e.reads.iter().map(|r| tables.figure_read(r)).collect();
        let cells = [
            csv_out::text(&rule.id).into_owned(),
            csv_out::text(&rule.name_zh).into_owned(),
            rule.severity.zh().to_owned(),
            csv_out::text(&agency.code).into_owned(),
            csv_out::text(agency.name()).into_owned(),
            e.key.1.to_string(),
            e.outcome.zh().to_owned(),
            side(&e.left),
            e.op.map_or("", |o| o.symbol()).to_owned(),
            side(&e.right),
            rule.tolerance.text(),
            csv_out::text(e.note.as_deref().unwrap_or("")).into_owned(),
            csv_out::text(&rule.expression).into_owned(),
            csv_out::text(&reads.join("; ")).into_owned(),
        ];
        f.row(cells.iter().map(String::as_bytes))?;
    }
    Ok(Some(listed(paths, vec![f.finish()?]).remove(0)))
}

/// The `changes` table's columns.
fn changes_batch(rows: &[crate::changes::Change]) -> Result<arrow::array::RecordBatch, parquet::ParquetError> {
    use crate::model::col;
    use parquet::{decimal, int64, text};
    let scale = crate::decimal::BASE_SCALE;
    parquet::batch(
        table::CHANGES,
        vec![
            Ok(text(col::AGENCY, rows.iter().map(|c| Some(c.agency.as_str())))),
            Ok(text(col::INDICATOR, rows.iter().map(|c| Some(c.indicator.as_str())))),
            Ok(text(col::MEASURE, rows.iter().map(|c| Some(c.measure.as_str())))),
            Ok(text(col::CHANGE_KIND, rows.iter().map(|c| Some(c.kind.as_str())))),
            decimal(col::OLD, scale, rows.iter().map(|c| c.old)),
            decimal(col::NEW, scale, rows.iter().map(|c| c.new)),
            Ok(text(col::SOURCE_FILE, rows.iter().map(|c| Some(c.file.as_str()).filter(|f| !f.is_empty())))),
            Ok(int64(col::SOURCE_LINE, rows.iter().map(|c| c.line))),
        ],
    )
}

/// Writes `report.html` (see [`report`]).
pub fn write_report(paths: &OutDir, page: &crate::export::report::Page<'_>) -> Result<OutputFile, ExportError> {
    let html = crate::export::report::render(page);
    let path = paths.file(file::REPORT);
    durable::write(&path, html.as_bytes()).map_err(io(&path))?;
    Ok(OutputFile {
        path: file::REPORT.to_owned(),
        sha256: crate::ingest::sha256_hex(html.as_bytes()),
        bytes: html.len() as u64,
        rows: 0,
    })
}

/// Writes `manifest.json`, the last file of a run.
/// The names of the pipeline's and the schema files' copies in the output,
/// in the manifest's order (pipeline; catalog, agencies, units, layouts,
/// rules).
const SCHEMA_COPIES: [&str; 6] =
    ["pipeline.toml", "catalog.csv", "agencies.csv", "units.toml", "layouts.toml", "rules.csv"];

/// Copies the pipeline and schema files into the output (`schemas/`),
/// each checked against the SHA-256 the run recorded when it read it, and
/// lists the copies as outputs and beside each file in the manifest.
pub fn write_schema_copies(paths: &OutDir, manifest: &mut Manifest) -> Result<(), ExportError> {
    let files = std::iter::once(&mut manifest.pipeline).chain(manifest.schemas.iter_mut());
    let mut written = Vec::new();
    for (f, name) in files.zip(SCHEMA_COPIES) {
        let from = Path::new(&f.path);
        let bytes = std::fs::read(from).map_err(io(from))?;
        if crate::ingest::sha256_hex(&bytes) != f.sha256 {
            let source = std::io::Error::new(std::io::ErrorKind::InvalidData, "changed while the run read it");
            return Err(io(from)(source));
        }
        let rel = format!("schemas/{name}");
        let path = paths.file(&rel);
        std::fs::create_dir_all(path.parent().expect("under schemas/")).map_err(io(&path))?;
        durable::write(&path, &bytes).map_err(io(&path))?;
        written.push(OutputFile { path: rel.clone(), sha256: f.sha256.clone(), bytes: f.bytes, rows: 0 });
        f.copy = Some(rel);
    }
    manifest.outputs.extend(written);
    manifest.outputs.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(())
}

pub fn write_manifest(paths: &OutDir, manifest: &Manifest) -> Result<(), ExportError> {
    let text = serde_json::to_string_pretty(manifest).expect("a manifest always serializes");
    let path = paths.file(file::MANIFEST);
    durable::write(&path, (text + "\n").as_bytes()).map_err(io(&path))
}
