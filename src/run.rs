//! The batch, one way: ingest → normalize → spill → (per bucket of
//! agencies) supersede, rates, metrics, claims → export, then the totals →
//! export, the yearbook tables from the written Parquet, and the manifest
//! last.
//!
//! Phase 1 reads and normalizes the files in parallel, one task per file,
//! and spills the accepted observations into buckets by agency range. Phase
//! 2 takes the buckets in order, a few at a time in parallel, computes each
//! one's figures (`crate::bucket`) and hands them to the writers, which
//! append row groups, and to the totals. Memory holds a few buckets, the
//! totals and one open row group per year and table, never the whole
//! input. Everything is written into a staging directory that replaces the
//! output directory only when complete.
//!
//! This module moves data between the stages, reads the pipeline's own
//! files for their hashes and asks the clock it is given for the times.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use indicatif::ProgressBar;
use rayon::prelude::*;
use tracing::{info, warn};

use crate::aggregate::Aggregator;
use crate::almanac;
use crate::bucket::{self, BucketFigures};
use crate::claims::ClaimOutcomes;
use crate::config::Pipeline;
use crate::error::Error;
use crate::export::manifest::{InputFile, Manifest, RunRecord};
use crate::export::tables::Tables;
use crate::export::{self, BucketOutput, Exporter, Staging};
use crate::ingest::{self, SourceFile, Stamp, Submission, sha256_hex};
use crate::model::{Key, table};
use crate::normalize::{self, FileReport};
use crate::reject::Issue;
use crate::spill::Spill;

/// A generous lower bound on the bytes of a submission row, to estimate
/// the number of rows from the input's size before reading it.
const MIN_ROW_BYTES: u64 = 40;

/// Buckets of even a small run, so that phase 2 has work for more than one
/// core. A constant, not the number of threads: the part files a run
/// writes must not depend on the machine.
const MIN_BUCKETS: u64 = 4;

/// Each stage's wall time, in milliseconds, and when the current one began.
struct StageTimes(BTreeMap<String, u64>, Instant);

impl StageTimes {
    fn lap(&mut self, name: &str, done: &dyn Fn(&str)) {
        done(name);
        let ms = self.1.elapsed().as_millis() as u64;
        info!(stage = name, ms, "stage done");
        self.0.insert(name.to_owned(), ms);
        self.1 = Instant::now();
    }
}

/// What phase 1 leaves: per file its report and issues, in file order.
struct Ingested {
    files: Vec<FileReport>,
    /// Each file's path and what it looked like when read.
    stamps: Vec<(PathBuf, Stamp)>,
    rejected: Vec<Issue>,
    warnings: Vec<Issue>,
    quarantined_keys: Vec<Key>,
}

fn ingest(p: &Pipeline, files: Vec<SourceFile>, spill: &Spill, progress: &ProgressBar) -> Result<Ingested, Error> {
    progress.set_length(files.len() as u64);
    let per_file: Vec<_> = files
        .into_par_iter()
        .map(|f| {
            let checks = p.row_checks(f.source);
            let sheet = f.source.and_then(|s| p.sources.get(s).sheet.as_ref());
            let sub = Submission::read(f, p.reading.encoding, sheet)?;
            let n = normalize::file(&sub, checks);
            spill.write(&n.observations)?;
            progress.inc(1);
            Ok(((n.report, (sub.file.path.clone(), sub.stamp.clone())), n.rejected, n.warnings, n.quarantined_keys))
        })
        .collect::<Result<_, Error>>()?;
    progress.finish_and_clear();
    let mut out = Ingested {
        files: Vec::with_capacity(per_file.len()),
        stamps: Vec::with_capacity(per_file.len()),
        rejected: Vec::new(),
        warnings: Vec::new(),
        quarantined_keys: Vec::new(),
    };
    for ((report, stamp), rejected, warnings, keys) in per_file {
        out.files.push(report);
        out.stamps.push(stamp);
        out.rejected.extend(rejected);
        out.warnings.extend(warnings);
        out.quarantined_keys.extend(keys);
    }
    Ok(out)
}

/// Runs the whole pipeline and writes its outputs; returns the manifest.
pub fn run(p: &Pipeline, progress: &ProgressBar) -> Result<Manifest, Error> {
    run_with(p, progress, &SystemTime::now, &|_| {})
}

/// [`run`] with the clock the manifest's times come from, calling
/// `stage_done` with each stage's name as it finishes (for callers that
/// report progress or test what happens between stages).
pub fn run_with(
    p: &Pipeline,
    progress: &ProgressBar,
    clock: &dyn Fn() -> SystemTime,
    stage_done: &dyn Fn(&str),
) -> Result<Manifest, Error> {
    let started = clock();
    let mut stages = StageTimes(BTreeMap::new(), Instant::now());
    let pipeline = input_file(&p.paths.pipeline)?;
    let schemas: Vec<InputFile> = p.paths.schemas().into_iter().map(input_file).collect::<Result<_, _>>()?;
    let files = ingest::discover(&p.paths.submissions, &p.sources)?;
    let bytes: u64 = files.iter().filter_map(|f| f.path.metadata().ok()).map(|m| m.len()).sum();
    let buckets = (bytes / MIN_ROW_BYTES / p.output.bucket_rows as u64 + 1)
        .max(MIN_BUCKETS)
        .min(p.register.len() as u64) as usize;
    info!(files = files.len(), bytes, buckets, dir = %p.paths.submissions.display(), "submissions found");

    let staging = Staging::create(&p.paths.out)?;
    let paths = staging.paths();
    let spill = Spill::create(&paths.spill(), buckets, p.register.len())?;
    let mut ing = ingest(p, files, &spill, progress)?;
    stages.lap("ingest_normalize", stage_done);

    let tables = Tables {
        catalog: &p.catalog,
        register: &p.register,
        files: &ing.files,
        scales: p.rounding.column_scales,
        rule: p.rounding.rule,
    };
    let facts = export::parquet::FileFacts {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        pipeline_sha256: pipeline.sha256.clone(),
        catalog_sha256: schemas.first().map(|s: &InputFile| s.sha256.clone()).unwrap_or_default(),
        rounding: p.rounding.rule.name().to_owned(),
        decimals_json: serde_json::to_string(&export::manifest::indicator_decimals(&p.catalog, &p.rounding))
            .expect("decimals serialize"),
    };
    let settings = export::Settings {
        parquet: export::parquet::WriteOptions {
            row_group_rows: p.output.row_group_rows,
            zstd_level: p.output.zstd_level,
            facts,
        },
        csv: p.output.csv_encoding,
        sdmx: p.output.sdmx.clone(),
        indicator_rows: summary_rows(p, &ing.files),
        summary_max_rows: p.output.summary_max_rows,
    };
    let schemas_of_tables = tables
        .schemas()
        .map_err(export::ExportError::from)?
        .into_iter()
        .map(|(name, schema)| (name.to_owned(), export::manifest::ColumnInfo::of(&schema)))
        .collect();
    let parquet_options = settings.parquet.clone();
    let mut exporter = Exporter::new(paths.clone(), tables, settings);
    let mut totals = Aggregator::new(p.rules(), &p.register);
    totals.quarantined(&ing.quarantined_keys);
    let merged = phase2(p, &spill, &mut exporter, &mut totals, ing.files.len())?;
    spill.remove()?;
    stages.lap("merge_metrics_write", stage_done);
    let totals = totals.finish();
    stages.lap("aggregate", stage_done);
    let mismatches = exporter.take_mismatches();
    let mut outputs = exporter.finish(&totals, &ing.rejected, &ing.warnings)?;
    stages.lap("export", stage_done);
    // The yearbook tables from the Parquet just written.
    let parts = |table| crate::readback::parts(paths.root(), outputs.iter().map(|f| f.path.as_str()), table, None);
    let found = almanac::Parts { metrics: parts(table::METRICS), totals: parts(table::TOTALS) };
    let cx = almanac::Context { catalog: &p.catalog, register: &p.register, rounding: &p.rounding };
    let almanac = almanac::compute(&found, &cx)?;
    outputs.extend(export::write_almanac(&paths, &tables, &almanac, p.output.csv_encoding)?);
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    stages.lap("yearbook_tables", stage_done);

    for (report, n) in ing.files.iter_mut().zip(merged.superseded_by_file) {
        report.superseded = n;
    }
    let observations = merged.observations;
    let mut manifest = Manifest::new(RunRecord {
        started,
        finished: clock(),
        pipeline,
        schemas,
        input_dir: &p.paths.submissions,
        catalog: &p.catalog,
        rounding: &p.rounding,
        files: ing.files,
        rejected: &ing.rejected,
        warnings: ing.warnings.len() as u64,
        observations,
        totals: totals.len() as u64,
        claims: merged.claims,
        outputs,
        tables: schemas_of_tables,
        stage_ms: stages.0,
    });
    let max = p.output.workbook_max_rows;
    if max > 0 && observations <= max {
        let t = Instant::now();
        manifest.outputs.push(export::write_workbook(&paths, &manifest)?);
        manifest.outputs.sort_by(|a, b| a.path.cmp(&b.path));
        manifest.stage_ms.insert("workbook".to_owned(), t.elapsed().as_millis() as u64);
    } else {
        info!(observations, max, "no audit workbook: too many rows for a spreadsheet");
    }
    let t = Instant::now();
    if let Ok(previous) = crate::readback::Outputs::open(&p.paths.out) {
        // A previous run that cannot be read back (damaged, another
        // version's) leaves this run without `changes.csv`, not failed.
        match crate::changes::between(&previous, &export::read_back(&paths, &manifest)) {
            Ok(changes) => {
                let written = export::write_changes(&paths, &changes, p.output.csv_encoding, &parquet_options)?;
                manifest.outputs.extend(written);
                manifest.outputs.sort_by(|a, b| a.path.cmp(&b.path));
                let counts = crate::changes::Counts::of(&changes);
                manifest.changes = Some(export::manifest::ChangesSince { run_id: previous.manifest.run_id, counts });
            }
            Err(e) => warn!("no changes.csv: the previous outputs could not be read: {e}"),
        }
        manifest.stage_ms.insert("changes".to_owned(), t.elapsed().as_millis() as u64);
    }
    let t = Instant::now();
    let quarantine = crate::report::quarantine_by_file(&ing.rejected, &manifest.inputs);
    let page = crate::report::Page {
        catalog: &p.catalog,
        register: &p.register,
        almanac: &almanac,
        manifest: &manifest,
        quarantine: &quarantine,
        mismatches: &mismatches,
    };
    manifest.outputs.push(export::write_report(&paths, &page)?);
    manifest.outputs.sort_by(|a, b| a.path.cmp(&b.path));
    manifest.stage_ms.insert("report".to_owned(), t.elapsed().as_millis() as u64);
    export::write_manifest(&paths, &manifest)?;
    // The outputs are published only if every input still holds what was
    // read: else they would describe files that no longer exist.
    for (path, stamp) in &ing.stamps {
        stamp.verify(path)?;
    }
    staging.commit()?;
    Ok(manifest)
}

/// What phase 2 gathered across the buckets, beside what it wrote.
struct Gathered {
    observations: u64,
    superseded_by_file: Vec<u64>,
    claims: ClaimOutcomes,
}

/// A finished bucket as the absorbing thread takes it once it is written: only
/// what the totals and the counts need, so that a finished bucket waiting
/// in the channel holds no metrics, claims or history (they made the peak
/// RSS at m 15 % larger).
struct Finished {
    current: Vec<crate::model::Observation>,
    superseded_by_file: Vec<(usize, u64)>,
    claim_outcomes: ClaimOutcomes,
}

impl Finished {
    fn of(f: BucketFigures) -> Finished {
        let mut by_file = std::collections::BTreeMap::<usize, u64>::new();
        for s in &f.superseded {
            *by_file.entry(s.observation.origin.file.0 as usize).or_default() += 1;
        }
        Finished {
            current: f.current,
            superseded_by_file: by_file.into_iter().collect(),
            claim_outcomes: f.claim_outcomes,
        }
    }
}

/// Phase 2: the buckets, `window` at a time in parallel (compute, then
/// Parquet parts and encoded CSV rows), while one thread of its own takes
/// each finished bucket, in bucket order, into the totals and the files
/// every bucket appends to. That sequential part overlaps the next
/// buckets' work instead of leaving the other cores idle; the channel holds
/// at most `window` finished buckets (one made the producer wait and was
/// slower), so memory stays bounded by a few buckets.
fn phase2(
    p: &Pipeline,
    spill: &Spill,
    exporter: &mut Exporter<'_>,
    totals: &mut Aggregator<'_>,
    files: usize,
) -> Result<Gathered, Error> {
    let window = rayon::current_num_threads().max(1);
    let ids: Vec<usize> = (0..spill.buckets()).collect();
    let writer = exporter.bucket_writer();
    let (tx, rx) = std::sync::mpsc::sync_channel::<(Finished, BucketOutput)>(window);
    let mut gathered =
        Gathered { observations: 0, superseded_by_file: vec![0; files], claims: ClaimOutcomes::default() };
    std::thread::scope(|s| {
        let consumer = s.spawn(|| -> Result<(), Error> {
            for (figures, written) in rx {
                totals.add(&figures.current);
                exporter.absorb(written)?;
                gathered.observations += figures.current.len() as u64;
                gathered.claims.add(figures.claim_outcomes);
                for (file, n) in figures.superseded_by_file {
                    gathered.superseded_by_file[file] += n;
                }
            }
            Ok(())
        });
        let produced = (|| -> Result<(), Error> {
            for chunk in ids.chunks(window) {
                let done: Vec<_> = chunk
                    .par_iter()
                    .map(|&b| {
                        let figures = bucket::compute(spill.read(b)?, p.rules(), &p.units);
                        let written = writer.write(b, &figures)?;
                        Ok((Finished::of(figures), written))
                    })
                    .collect::<Result<_, Error>>()?;
                for d in done {
                    // A send fails only when the consumer stopped on an
                    // error, which its join below reports.
                    if tx.send(d).is_err() {
                        return Ok(());
                    }
                }
            }
            Ok(())
        })();
        drop(tx);
        let consumed = consumer.join().expect("the absorbing thread does not panic");
        produced.and(consumed)
    })?;
    Ok(gathered)
}

/// Whether the run is small enough for `summary/<year>/indicators.csv`: at
/// most `summary_max_rows` accepted rows (counted before later files
/// supersede some, so a bound from above).
fn summary_rows(p: &Pipeline, files: &[FileReport]) -> bool {
    let accepted: u64 = files.iter().map(|f| f.accepted).sum();
    let max = p.output.summary_max_rows;
    let write = max > 0 && accepted <= max;
    if !write {
        info!(accepted, max, "no summary/<year>/indicators.csv: more rows than a person opens (the Parquet has them)");
    }
    write
}

fn input_file(path: &Path) -> Result<InputFile, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
    Ok(InputFile { path: path.display().to_string(), sha256: sha256_hex(&bytes), bytes: bytes.len() as u64 })
}
