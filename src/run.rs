//! The batch: ingest → normalize → metrics → aggregate → export, one way.
//!
//! Files are read and normalized in parallel (one task per file); the
//! merge, metrics and totals work on compact in-memory rows; export writes
//! Parquet in row groups into a staging directory that replaces the output
//! directory only when complete.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Instant, SystemTime};

use indicatif::ProgressBar;
use rayon::prelude::*;
use tracing::info;

use crate::aggregate::{self, Total};
use crate::config::Pipeline;
use crate::error::Error;
use crate::export::manifest::{Counts, InputFile, Manifest, RoundingInfo};
use crate::export::{self, MANIFEST, RunData, Staging};
use crate::ingest::{self, Submission, sha256_hex};
use crate::metrics::{self, Metric};
use crate::normalize::{self, FileReport, Merged, Normalized};
use crate::reject::Issue;

/// What the stages computed, before anything is written.
pub struct Computed {
    pub files: Vec<FileReport>,
    pub merged: Merged,
    pub metrics: Vec<Metric>,
    pub totals: Vec<Total>,
    pub rejected: Vec<Issue>,
    pub warnings: Vec<Issue>,
    pub stage_ms: BTreeMap<String, u64>,
}

impl Computed {
    pub fn quarantined(&self) -> u64 {
        self.files.iter().map(|f| f.quarantined).sum()
    }
}

fn lap(stage_ms: &mut BTreeMap<String, u64>, name: &str, since: &mut Instant) {
    let ms = since.elapsed().as_millis() as u64;
    info!(stage = name, ms, "stage done");
    stage_ms.insert(name.to_owned(), ms);
    *since = Instant::now();
}

/// Reads, normalizes and computes everything for `files` (paths relative to
/// `root` in the outputs).
pub fn compute(p: &Pipeline, files: Vec<ingest::SourceFile>, progress: &ProgressBar) -> Result<Computed, Error> {
    let mut stage_ms = BTreeMap::new();
    let mut t = Instant::now();
    progress.set_length(files.len() as u64);
    let normalized: Vec<Normalized> = files
        .into_par_iter()
        .map(|f| {
            let sub = Submission::read(f, p.encoding)?;
            let n = normalize::file(&sub, p);
            progress.inc(1);
            Ok(n)
        })
        .collect::<Result<_, Error>>()?;
    progress.finish_and_clear();
    lap(&mut stage_ms, "ingest_normalize", &mut t);

    let mut files = Vec::with_capacity(normalized.len());
    let mut observations = Vec::with_capacity(normalized.len());
    let (mut rejected, mut warnings) = (Vec::new(), Vec::new());
    for n in normalized {
        files.push(n.report);
        observations.push(n.observations);
        rejected.extend(n.rejected);
        warnings.extend(n.warnings);
    }
    let merged = normalize::merge(observations, &mut files);
    lap(&mut stage_ms, "merge", &mut t);
    let metrics = metrics::compute(&merged.current, p);
    lap(&mut stage_ms, "metrics", &mut t);
    let totals = aggregate::compute(&merged.current, p);
    lap(&mut stage_ms, "aggregate", &mut t);
    Ok(Computed { files, merged, metrics, totals, rejected, warnings, stage_ms })
}

/// Runs the whole pipeline and writes its outputs; returns the manifest.
pub fn run(p: &Pipeline, progress: &ProgressBar) -> Result<Manifest, Error> {
    let started = SystemTime::now();
    let files = ingest::discover(&p.submissions)?;
    info!(files = files.len(), dir = %p.submissions.display(), "submissions found");
    let mut c = compute(p, files, progress)?;
    let mut t = Instant::now();

    let staging = Staging::create(&p.out)?;
    let data = RunData {
        pipeline: p,
        files: &c.files,
        current: &c.merged.current,
        metrics: &c.metrics,
        superseded: &c.merged.superseded,
        totals: &c.totals,
        rejected: &c.rejected,
        warnings: &c.warnings,
    };
    let outputs = export::write_all(&staging.dir, &data)?;
    lap(&mut c.stage_ms, "export", &mut t);

    let manifest = manifest(p, &c, outputs, started)?;
    let text = serde_json::to_string_pretty(&manifest).expect("a manifest always serializes");
    let path = staging.dir.join(MANIFEST);
    std::fs::write(&path, text + "\n").map_err(|source| Error::Io { path, source })?;
    staging.commit()?;
    Ok(manifest)
}

fn input_file(path: &Path) -> Result<InputFile, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
    Ok(InputFile { path: path.display().to_string(), sha256: sha256_hex(&bytes), bytes: bytes.len() as u64 })
}

fn manifest(
    p: &Pipeline,
    c: &Computed,
    outputs: Vec<export::OutputFile>,
    started: SystemTime,
) -> Result<Manifest, Error> {
    let mut codes = BTreeMap::new();
    for i in &c.rejected {
        *codes.entry(i.code.as_str().to_owned()).or_insert(0) += 1;
    }
    let sum = |f: fn(&FileReport) -> u64| c.files.iter().map(f).sum();
    let finished = SystemTime::now();
    let nanos = started.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    Ok(Manifest {
        tool: env!("CARGO_PKG_NAME").to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        run_id: format!(
            "{}-{:08x}",
            humantime::format_rfc3339_seconds(started).to_string().replace([':', '-'], ""),
            (nanos as u64 ^ u64::from(std::process::id())) as u32
        ),
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
        },
        counts: Counts {
            files: c.files.len() as u64,
            rows_read: sum(|f| f.rows_read),
            accepted: sum(|f| f.accepted),
            quarantined: sum(|f| f.quarantined),
            superseded: sum(|f| f.superseded),
            observations: c.merged.current.len() as u64,
            totals: c.totals.len() as u64,
            warnings: c.warnings.len() as u64,
            quarantine_codes: codes,
        },
        inputs: c.files.clone(),
        outputs,
        stage_ms: c.stage_ms.clone(),
    })
}
