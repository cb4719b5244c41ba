//! The batch, one way: ingest → normalize → spill → (per bucket of
//! agencies) merge → metrics → aggregate → export.
//!
//! Phase 1 reads and normalizes the files in parallel, one task per file,
//! and spills the accepted observations into buckets by agency range. Phase
//! 2 takes the buckets in order, a few at a time in parallel, and hands each
//! one's rows to the totals and to the writers, which append row groups.
//! Memory holds a few buckets, the totals and one open row group per year
//! and table, never the whole input. Everything is written into a staging
//! directory that replaces the output directory only when complete.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Instant, SystemTime};

use indicatif::ProgressBar;
use rayon::prelude::*;
use tracing::info;

use crate::aggregate::Aggregator;
use crate::config::Pipeline;
use crate::config::YearOnYear;
use crate::error::Error;
use crate::export::claims::ClaimCounts;
use crate::export::manifest::{Counts, IndicatorDecimals, InputFile, Manifest, RoundingInfo};
use crate::export::{self, BucketOutput, Exporter, MANIFEST, Staging};
use crate::ingest::{self, SourceFile, Stamp, Submission, sha256_hex};
use crate::metrics;
use crate::model::Key;
use crate::normalize::{self, FileReport};
use crate::rates;
use crate::reject::Issue;
use crate::spill::Spill;
use crate::supersede::{self, Merged};

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
    stamps: Vec<(std::path::PathBuf, Stamp)>,
    rejected: Vec<Issue>,
    warnings: Vec<Issue>,
    quarantined_keys: Vec<Key>,
}

fn ingest(p: &Pipeline, files: Vec<SourceFile>, spill: &Spill, progress: &ProgressBar) -> Result<Ingested, Error> {
    progress.set_length(files.len() as u64);
    let per_file: Vec<_> = files
        .into_par_iter()
        .map(|f| {
            let sub = Submission::read(f, p.encoding)?;
            let n = normalize::file(&sub, p);
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
    run_observed(p, progress, &|_| {})
}

/// [`run`], calling `stage_done` with each stage's name as it finishes
/// (for callers that report progress or test what happens between stages).
pub fn run_observed(p: &Pipeline, progress: &ProgressBar, stage_done: &dyn Fn(&str)) -> Result<Manifest, Error> {
    let started = SystemTime::now();
    let mut stages = StageTimes(BTreeMap::new(), Instant::now());
    let files = ingest::discover(&p.submissions)?;
    let bytes: u64 = files.iter().filter_map(|f| f.path.metadata().ok()).map(|m| m.len()).sum();
    let buckets =
        (bytes / MIN_ROW_BYTES / p.bucket_rows as u64 + 1).max(MIN_BUCKETS).min(p.register.len() as u64) as usize;
    info!(files = files.len(), bytes, buckets, dir = %p.submissions.display(), "submissions found");

    let staging = Staging::create(&p.out)?;
    let spill = Spill::create(&staging.dir.join(".spill"), buckets, p.register.len())?;
    let mut ing = ingest(p, files, &spill, progress)?;
    stages.lap("ingest_normalize", stage_done);

    let mut exporter = Exporter::new(&staging.dir, p, &ing.files);
    let mut totals = Aggregator::new(p);
    totals.quarantined(&ing.quarantined_keys);
    let absorbed = phase2(p, &spill, &mut exporter, &mut totals, ing.files.len())?;
    spill.remove()?;
    stages.lap("merge_metrics_write", stage_done);
    let totals = totals.finish();
    stages.lap("aggregate", stage_done);
    let claims = exporter.claim_counts();
    let outputs = exporter.finish(&totals, &ing.rejected, &ing.warnings)?;
    stages.lap("export", stage_done);

    for (report, n) in ing.files.iter_mut().zip(absorbed.superseded_by_file) {
        report.superseded = n;
    }
    let tally = Tally { observations: absorbed.observations, totals: totals.len() as u64, claims };
    let mut manifest = manifest(p, &ing, tally, outputs, started, stages.0)?;
    let observations = absorbed.observations;
    if p.workbook_max_rows > 0 && observations <= p.workbook_max_rows {
        let t = Instant::now();
        manifest.outputs.push(workbook(&staging.dir, &manifest)?);
        manifest.outputs.sort_by(|a, b| a.path.cmp(&b.path));
        manifest.stage_ms.insert("workbook".to_owned(), t.elapsed().as_millis() as u64);
    } else {
        info!(observations, max = p.workbook_max_rows, "no audit workbook: too many rows for a spreadsheet");
    }
    let text = serde_json::to_string_pretty(&manifest).expect("a manifest always serializes");
    let path = staging.dir.join(MANIFEST);
    export::durable::write(&path, (text + "\n").as_bytes()).map_err(|source| Error::Io { path, source })?;
    // The outputs are published only if every input still holds what was
    // read: else they would describe files that no longer exist.
    for (path, stamp) in &ing.stamps {
        stamp.verify(path)?;
    }
    staging.commit()?;
    Ok(manifest)
}

/// What phase 2 counted as it absorbed the buckets.
struct Absorbed {
    observations: u64,
    superseded_by_file: Vec<u64>,
}

/// Phase 2: the buckets, `window` at a time in parallel (merge, metrics,
/// Parquet parts, encoded CSV rows), while one thread of its own takes each
/// finished bucket, in bucket order, into the totals and the files every
/// bucket appends to. That sequential part overlaps the next buckets'
/// work instead of leaving the other cores idle; the channel holds at most
/// `window` finished buckets (one made the producer wait and was slower),
/// so memory stays bounded by a few buckets.
fn phase2(
    p: &Pipeline,
    spill: &Spill,
    exporter: &mut Exporter<'_>,
    totals: &mut Aggregator<'_>,
    files: usize,
) -> Result<Absorbed, Error> {
    let window = rayon::current_num_threads().max(1);
    let ids: Vec<usize> = (0..spill.buckets()).collect();
    let writer = exporter.bucket_writer();
    let (tx, rx) = std::sync::mpsc::sync_channel::<(Merged, BucketOutput)>(window);
    let mut absorbed = Absorbed { observations: 0, superseded_by_file: vec![0; files] };
    std::thread::scope(|s| {
        let consumer = s.spawn(|| -> Result<(), Error> {
            for (merged, written) in rx {
                totals.add(&merged.current);
                exporter.absorb(written)?;
                absorbed.observations += merged.current.len() as u64;
                for o in &merged.superseded {
                    absorbed.superseded_by_file[o.observation.origin.file.0 as usize] += 1;
                }
            }
            Ok(())
        });
        let produced = (|| -> Result<(), Error> {
            for chunk in ids.chunks(window) {
                let done: Vec<_> = chunk
                    .par_iter()
                    .map(|&b| {
                        let mut merged = supersede::merge(spill.read(b)?);
                        let rates = rates::from_parts(&merged.current, p);
                        let mut metrics = metrics::compute(&merged.current, &rates, p);
                        // Leaves `merged.current` in year order.
                        let written = writer.write(b, &mut merged.current, &mut metrics, &rates, &merged.superseded)?;
                        Ok((merged, written))
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
    Ok(absorbed)
}

/// Writes `audit.xlsx` from the Parquet just written into `dir`.
fn workbook(dir: &Path, manifest: &Manifest) -> Result<export::OutputFile, Error> {
    let view = serde_json::to_value(manifest).and_then(serde_json::from_value).expect("a manifest reads back");
    let outputs = crate::outputs::Outputs { dir: dir.to_owned(), manifest: view };
    let path = dir.join(export::WORKBOOK);
    export::workbook::write(&outputs, &path)?;
    export::durable::sync_path(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
    let bytes = std::fs::read(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
    Ok(export::OutputFile {
        path: export::WORKBOOK.to_owned(),
        sha256: sha256_hex(&bytes),
        bytes: bytes.len() as u64,
        rows: manifest.counts.observations,
    })
}

fn input_file(path: &Path) -> Result<InputFile, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
    Ok(InputFile { path: path.display().to_string(), sha256: sha256_hex(&bytes), bytes: bytes.len() as u64 })
}

/// What phase 2 counted, for the manifest.
struct Tally {
    observations: u64,
    totals: u64,
    claims: ClaimCounts,
}

fn manifest(
    p: &Pipeline,
    ing: &Ingested,
    tally: Tally,
    outputs: Vec<export::OutputFile>,
    started: SystemTime,
    stage_ms: BTreeMap<String, u64>,
) -> Result<Manifest, Error> {
    let mut codes = BTreeMap::new();
    for i in &ing.rejected {
        *codes.entry(i.code.as_str().to_owned()).or_insert(0) += 1;
    }
    let sum = |f: fn(&FileReport) -> u64| ing.files.iter().map(f).sum();
    let finished = SystemTime::now();
    let nanos = started.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let stamp = humantime::format_rfc3339_seconds(started).to_string().replace([':', '-'], "");
    Ok(Manifest {
        tool: env!("CARGO_PKG_NAME").to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        run_id: format!("{stamp}-{:08x}", (nanos as u64 ^ u64::from(std::process::id())) as u32),
        started_at: humantime::format_rfc3339_millis(started).to_string(),
        finished_at: humantime::format_rfc3339_millis(finished).to_string(),
        pipeline: input_file(&p.path)?,
        schemas: [&p.catalog_path, &p.agencies_path, &p.units_path, &p.layouts_path]
            .into_iter()
            .map(|path| input_file(path))
            .collect::<Result<_, _>>()?,
        input_dir: p.submissions.display().to_string(),
        rounding: RoundingInfo {
            rule: p.rounding.name().to_owned(),
            completion_decimals: p.max_precision().completion,
            growth_decimals: p.max_precision().growth,
            change_decimals: "the rate's catalog decimals".to_owned(),
            indicators: p
                .catalog
                .iter()
                .map(|(id, ind)| {
                    let d = p.precision(id);
                    let change = (ind.kind.year_on_year() == YearOnYear::ChangePp).then_some(d.change);
                    (ind.code.clone(), IndicatorDecimals { completion: d.completion, growth: d.growth, change })
                })
                .collect(),
        },
        counts: Counts {
            files: ing.files.len() as u64,
            rows_read: sum(|f| f.rows_read),
            accepted: sum(|f| f.accepted),
            quarantined: sum(|f| f.quarantined),
            superseded: sum(|f| f.superseded),
            observations: tally.observations,
            totals: tally.totals,
            warnings: ing.warnings.len() as u64,
            quarantine_codes: codes,
            claims: tally.claims,
        },
        inputs: ing.files.clone(),
        outputs,
        stage_ms,
    })
}
