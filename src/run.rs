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
//! A run into a directory that holds a previous run's cache
//! (`crate::cache`) reads only the files that are new or changed and
//! computes only the buckets of agencies they (or files that went) touch;
//! every other bucket's outputs are linked and its partials taken from the
//! cache, and everything after the buckets is computed from the partials
//! as a full run computes it, so both write the same bytes.
//!
//! This module moves data between the stages, reads the pipeline's own
//! files for their hashes and asks the clock it is given for the times.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use indicatif::ProgressBar;
use rayon::prelude::*;
use tracing::{info, warn};

use crate::aggregate::{Aggregator, Tree};
use crate::almanac;
use crate::bucket::{self, Contribution};
use crate::cache::{self, BucketEntry, CacheDir, FileEntry, FileTable, Plan};
use crate::checks::{CheckCounts, Evaluation};
use crate::claims::ClaimOutcomes;
use crate::config::Pipeline;
use crate::error::Error;
use crate::export::manifest::{InputFile, Manifest, RunRecord};
use crate::export::tables::Tables;
use crate::export::{self, BucketOutput, Exporter, Staging};
use crate::ingest::{SourceFile, Stamp, Submission};
use crate::model::{FileId, Key, table};
use crate::normalize::{self, FileReport};
use crate::plan::RunPlan;
use crate::reject::Issue;
use crate::spill::Spill;

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
    /// Each file as the next run's cache keeps it.
    entries: Vec<FileEntry>,
}

/// Reads the files the plan does not reuse (in parallel, one task per
/// file) into the spill, and takes the others' reports and issues from
/// the cache.
fn ingest(
    p: &Pipeline,
    files: Vec<SourceFile>,
    plan: &mut Plan,
    spill: &Spill,
    progress: &ProgressBar,
) -> Result<Ingested, Error> {
    progress.set_length(plan.read() as u64);
    let entries = std::mem::take(&mut plan.entries);
    let per_file: Vec<(FileEntry, Option<(PathBuf, Stamp)>)> = files
        .into_par_iter()
        .zip(entries.into_par_iter())
        .zip(plan.ids.par_iter().zip(plan.why.par_iter()))
        .map(|((f, reused), (&cache_id, why))| {
            if let Some(e) = reused {
                tracing::trace!(file = %f.rel, why = why.words(), "file taken from the cache");
                return Ok((e.as_file(f.id), None));
            }
            let checks = p.row_checks(f.source);
            let sheet = f.source.and_then(|s| p.sources.get(s).sheet.as_ref());
            let hashed_at_ns = cache::now_ns();
            let fingerprint =
                cache::Fingerprint::of(&f.path).map_err(|source| Error::Io { path: f.path.clone(), source })?;
            let sub = Submission::read(f, p.reading.encoding, sheet)?;
            let n = normalize::file(&sub, checks);
            let buckets = spill.write(cache_id, &n.observations)?;
            let r = &n.report;
            tracing::debug!(
                file = %r.path,
                why = why.words(),
                rows_read = r.rows_read,
                accepted = r.accepted,
                quarantined = r.quarantined,
                warnings = n.warnings.len(),
                buckets = buckets.len(),
                "file read"
            );
            progress.inc(1);
            let entry = FileEntry {
                fingerprint,
                hashed_at_ns,
                header: n.report.header.clone(),
                report: n.report,
                rejected: n.rejected,
                warnings: n.warnings,
                quarantined_keys: n.quarantined_keys,
                buckets,
            };
            Ok((entry, Some((sub.file.path.clone(), sub.stamp.clone()))))
        })
        .collect::<Result<_, Error>>()?;
    progress.finish_and_clear();
    let mut out = Ingested {
        files: Vec::with_capacity(per_file.len()),
        stamps: Vec::with_capacity(per_file.len()),
        rejected: Vec::new(),
        warnings: Vec::new(),
        quarantined_keys: Vec::new(),
        entries: Vec::with_capacity(per_file.len()),
    };
    for (i, (e, stamp)) in per_file.into_iter().enumerate() {
        if !plan.reused[i] {
            plan.touch(&e.buckets);
        }
        out.stamps.extend(stamp);
        out.files.push(e.report.clone());
        out.rejected.extend(e.rejected.iter().cloned());
        out.warnings.extend(e.warnings.iter().cloned());
        out.quarantined_keys.extend(e.quarantined_keys.iter().copied());
        out.entries.push(e);
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
///
/// A run that cannot read the previous run's cache (a damaged entry, a
/// bucket file cut short) is run again in full, with a warning: the cache
/// only saves time, and a nightly run does not fail for it.
pub fn run_with(
    p: &Pipeline,
    progress: &ProgressBar,
    clock: &dyn Fn() -> SystemTime,
    stage_done: &dyn Fn(&str),
) -> Result<Manifest, Error> {
    match attempt(p, progress, clock, stage_done) {
        Err(e @ (Error::Cache(_) | Error::Spill(_))) if p.output.incremental => {
            warn!("the previous run's cache could not be used ({e}); reading everything again");
            let mut full = p.clone();
            full.output.incremental = false;
            attempt(&full, progress, clock, stage_done)
        }
        done => done,
    }
}

fn attempt(
    p: &Pipeline,
    progress: &ProgressBar,
    clock: &dyn Fn() -> SystemTime,
    stage_done: &dyn Fn(&str),
) -> Result<Manifest, Error> {
    let started = clock();
    let mut stages = StageTimes(BTreeMap::new(), Instant::now());
    // The output directory's lock first: the plan reads the previous
    // run's cache, which another run must not be replacing meanwhile.
    let staging = Staging::create(&p.paths.out)?;
    let paths = staging.paths();
    let (old_cache, new_cache) = (CacheDir::of(&p.paths.out), CacheDir::of(paths.root()));
    let mut rp = RunPlan::make(p)?;
    let reused_stamps = rp.reused_stamps();
    let (mut plan, files, buckets) = (rp.files_plan, rp.files, rp.buckets);
    info!(files = files.len(), bytes = rp.bytes, buckets, dir = %p.paths.submissions.display(), "submissions found");
    let had_cache = rp.cache.is_ok();
    let spill = Spill::create(&new_cache.spill(), buckets, p.register.len())?;
    let mut ing = ingest(p, files, &mut plan, &spill, progress)?;
    ing.stamps.extend(reused_stamps);
    let indicator_rows = summary_rows(p, &ing.files);
    let reuse = RunPlan::reuse(rp.previous_indicator_rows, &plan.touched, indicator_rows);
    let by_cache_id = carry_spill(&spill, &plan, &reuse, had_cache.then_some(&old_cache))?;
    let computed = reuse.iter().filter(|r| !**r).count();
    info!(read = plan.read(), reused = plan.reused.len() - plan.read(), buckets, computed, "incremental plan");
    stages.lap("ingest_normalize", stage_done);

    let tables = Tables::of(p, &ing.files);
    let settings = export_settings(p, &rp.pipeline, &rp.schemas, indicator_rows);
    let schemas_of_tables = tables.column_infos().map_err(export::ExportError::from)?;
    let parquet_options = settings.parquet.clone();
    let work = plan.work(&reuse);
    let table =
        FileTable { key: rp.key, indicator_rows, entries: table_entries(&plan, std::mem::take(&mut ing.entries)) };
    // The previous outputs, to say what changed since. One that cannot be
    // read back (damaged, another version's) leaves this run without
    // `changes.csv`, not failed.
    let previous_out = crate::readback::Outputs::open(&p.paths.out).ok();
    let changes_since = |written: &[export::OutputFile]| {
        let t = Instant::now();
        let previous = previous_out.as_ref()?;
        Some((
            crate::changes::between(previous, &export::listing(&paths, written), crate::changes::Trust::Manifests),
            t.elapsed(),
        ))
    };
    let buckets = Buckets {
        spill: &spill,
        reuse: &reuse,
        files: &by_cache_id,
        cache_ids: &plan.ids,
        old: &old_cache,
        new: &new_cache,
        previous_out: &p.paths.out,
        out: paths.root(),
    };
    let f = Finish { p, paths: &paths, ing: &ing, buckets, table: &table, had_cache };
    tracing::debug!(why = plan.finish(&reuse).words(), "finish");
    let (mut run, changed) = if plan.finish(&reuse).reused() {
        let run = reuse_finish(&f)?;
        stages.lap("reuse_finish", stage_done);
        let changed = changes_since(&run.outputs);
        (run, changed)
    } else {
        compute_finish(f, tables, settings, &mut stages, stage_done, &changes_since)?
    };
    for (report, n) in ing.files.iter_mut().zip(&run.superseded) {
        report.superseded = *n;
    }
    // Rows an error rule failed on were accepted when read; the review
    // quarantined them.
    for i in &run.rule_failed {
        let report = &mut ing.files[i.file.0 as usize];
        (report.accepted, report.quarantined) = (report.accepted.saturating_sub(1), report.quarantined + 1);
    }
    ing.rejected = crate::reject::in_file_order(&ing.rejected, &run.rule_failed);
    let mut manifest = Manifest::new(RunRecord {
        started,
        finished: clock(),
        pipeline: rp.pipeline,
        schemas: rp.schemas,
        input_dir: &p.paths.submissions,
        catalog: &p.catalog,
        rounding: &p.rounding,
        files: ing.files,
        rejected: &ing.rejected,
        warnings: ing.warnings.len() as u64,
        observations: run.observations,
        totals: run.totals,
        claims: run.claims,
        checks: run.checks,
        outputs: std::mem::take(&mut run.outputs),
        tables: schemas_of_tables,
        stage_ms: stages.0,
    });
    add_workbook(p, &paths, &mut manifest, (had_cache.then_some(&old_cache), &new_cache))?;
    manifest.work = work;
    let mut values_changed = None;
    if let (Some(changed), Some(previous)) = (changed, &previous_out) {
        values_changed = add_changes(p, &paths, &mut manifest, changed, previous, &parquet_options)?;
    }
    add_report(p, &paths, &mut manifest, &ing.rejected, &run)?;
    export::write_schema_copies(&paths, &mut manifest)?;
    let published = previous_out.as_ref().zip(values_changed).map(|(o, k)| (o.rows_of(table::OBSERVATIONS), k));
    publish(p, staging, &paths, manifest, published, &ing.stamps)
}

/// The guards' verdict on the run, then its outputs published (or held
/// beside the previous ones), once every input still holds what was read.
fn publish(
    p: &Pipeline,
    staging: Staging,
    paths: &export::OutDir,
    mut manifest: Manifest,
    published: Option<(u64, crate::changes::Counts)>,
    stamps: &[(PathBuf, Stamp)],
) -> Result<Manifest, Error> {
    let night = crate::guards::Night { files: manifest.inputs.len() as u64, published };
    let tripped = crate::guards::check(&p.guards, &night);
    let held = (!tripped.is_empty() && !p.guards.accept).then(|| held_dir(&p.paths.out));
    if let Some(dir) = &held {
        manifest.held = Some(export::manifest::Held { tripped, dir: dir.display().to_string() });
    }
    export::write_manifest(paths, &manifest)?;
    // The outputs are published only if every input still holds what was
    // read: else they would describe files that no longer exist.
    for (path, stamp) in stamps {
        stamp.verify(path)?;
    }
    match held {
        Some(dir) => staging.hold(&dir)?,
        None => {
            staging.commit()?;
            // An earlier held run's outputs are stale once a run publishes.
            let stale = held_dir(&p.paths.out);
            if stale.exists()
                && let Err(e) = crate::dirs::remove_tree(&stale)
            {
                warn!(path = %stale.display(), "outputs published; an earlier held run's could not be removed: {e}");
            }
        }
    }
    Ok(manifest)
}

/// Each file's cache id (rows in the spill name files by it) mapped to the
/// file it is in this run; and the previous spill carried into this one:
/// a reused bucket's whole, another's rows of files reused (those read
/// again were spilled anew).
fn carry_spill(
    spill: &Spill,
    plan: &Plan,
    reuse: &[bool],
    old_cache: Option<&CacheDir>,
) -> Result<Vec<Option<FileId>>, Error> {
    let mut by_cache_id: Vec<Option<FileId>> = vec![None; plan.table_len];
    for (i, &id) in plan.ids.iter().enumerate() {
        by_cache_id[id as usize] = Some(FileId(i as u32));
    }
    let Some(old_cache) = old_cache else { return Ok(by_cache_id) };
    for (b, &reused) in reuse.iter().enumerate() {
        let earlier = old_cache.spill_bucket(b);
        if reused {
            spill.adopt(b, &earlier)?;
        } else if earlier.exists() {
            spill.append_kept(b, &earlier, &|id| {
                by_cache_id.get(id as usize).copied().flatten().is_some_and(|f| plan.reused[f.0 as usize])
            })?;
        }
    }
    Ok(by_cache_id)
}

/// How the export writes: the Parquet's options and what every file says
/// of itself, the CSVs' encoding, SDMX, and the people's summaries.
fn export_settings(
    p: &Pipeline,
    pipeline: &InputFile,
    schemas: &[InputFile],
    indicator_rows: bool,
) -> export::Settings {
    let facts = export::parquet::FileFacts {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        pipeline_sha256: pipeline.sha256.clone(),
        catalog_sha256: schemas.first().map(|s| s.sha256.clone()).unwrap_or_default(),
        rounding: p.rounding.rule.name().to_owned(),
        decimals_json: serde_json::to_string(&export::manifest::indicator_decimals(&p.catalog, &p.rounding))
            .expect("decimals serialize"),
    };
    export::Settings {
        parquet: export::parquet::WriteOptions {
            row_group_rows: p.output.row_group_rows,
            zstd_level: p.output.zstd_level,
            facts,
        },
        csv: p.output.csv_encoding,
        sdmx: p.output.sdmx.clone(),
        indicator_rows,
        summary_max_rows: p.output.summary_max_rows,
    }
}

/// `audit.xlsx`, when the run has at most `workbook_max_rows`
/// observations, listed in the manifest: the previous run's (in the
/// caches `old` and `new`) when made from the same outputs.
fn add_workbook(
    p: &Pipeline,
    paths: &export::OutDir,
    manifest: &mut Manifest,
    (old, new): (Option<&CacheDir>, &CacheDir),
) -> Result<(), Error> {
    let (observations, max) = (manifest.counts.observations, p.output.workbook_max_rows);
    if max > 0 && observations <= max {
        let t = Instant::now();
        let previous: Option<export::WorkbookEntry> = old.and_then(|c| cache::load(&c.workbook()).ok());
        let entry = export::write_workbook(paths, manifest, previous.as_ref().map(|e| (p.paths.out.as_path(), e)))?;
        cache::save(&new.workbook(), &entry)?;
        manifest.outputs.push(entry.file);
        manifest.outputs.sort_by(|a, b| a.path.cmp(&b.path));
        manifest.stage_ms.insert("workbook".to_owned(), t.elapsed().as_millis() as u64);
    } else {
        info!(observations, max, "no audit workbook: too many rows for a spreadsheet");
    }
    Ok(())
}

/// `changes.csv` and the `changes` table: what changed since the previous
/// run (`previous`), listed in the manifest; none, with a warning, when
/// the previous outputs could not be read.
fn add_changes(
    p: &Pipeline,
    paths: &export::OutDir,
    manifest: &mut Manifest,
    (changed, took): (Result<Vec<crate::changes::Change>, crate::readback::ReadError>, std::time::Duration),
    previous: &crate::readback::Outputs,
    parquet_options: &export::parquet::WriteOptions,
) -> Result<Option<crate::changes::Counts>, Error> {
    let mut values = None;
    match changed {
        Ok(changes) => {
            let of_values: Vec<_> =
                changes.iter().filter(|c| c.measure == crate::changes::Measure::Value).cloned().collect();
            values = Some(crate::changes::Counts::of(&of_values));
            let written = export::write_changes(paths, &changes, p.output.csv_encoding, parquet_options)?;
            manifest.outputs.extend(written);
            manifest.outputs.sort_by(|a, b| a.path.cmp(&b.path));
            let counts = crate::changes::Counts::of(&changes);
            let run_id = previous.manifest.run_id.clone();
            manifest.changes = Some(export::manifest::ChangesSince { run_id, counts });
        }
        Err(e) => warn!("no changes.csv: the previous outputs could not be read: {e}"),
    }
    manifest.stage_ms.insert("changes".to_owned(), took.as_millis() as u64);
    Ok(values)
}

/// Where a held run's outputs are kept: beside the output directory,
/// `<out>.held`.
fn held_dir(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(std::ffi::OsStr::to_os_string).unwrap_or_default();
    name.push(".held");
    out.with_file_name(name)
}

/// `report.html`, listed in the manifest.
fn add_report(
    p: &Pipeline,
    paths: &export::OutDir,
    manifest: &mut Manifest,
    rejected: &[Issue],
    run: &Finished,
) -> Result<(), Error> {
    let t = Instant::now();
    let quarantine = crate::export::report::quarantine_by_file(rejected, &manifest.inputs);
    let page = crate::export::report::Page {
        catalog: &p.catalog,
        register: &p.register,
        almanac: &run.almanac,
        manifest,
        quarantine: &quarantine,
        mismatches: &run.mismatches,
        rules: &p.checks.0,
        findings: &run.findings,
    };
    let written = export::write_report(paths, &page)?;
    manifest.outputs.push(written);
    manifest.outputs.sort_by(|a, b| a.path.cmp(&b.path));
    manifest.stage_ms.insert("report".to_owned(), t.elapsed().as_millis() as u64);
    Ok(())
}

/// What the finish computed, for the manifest and the report; the next
/// run takes it when nothing it is made from changed.
#[derive(serde::Serialize, serde::Deserialize)]
struct Finished {
    /// Every output but the manifest, the workbook, the report and the
    /// changes.
    outputs: Vec<export::OutputFile>,
    observations: u64,
    totals: u64,
    claims: ClaimOutcomes,
    /// Rows superseded per file of the run, in file order.
    superseded: Vec<u64>,
    almanac: almanac::Almanac,
    mismatches: export::report::Mismatches,
    checks: CheckCounts,
    /// The review rules' failed and explained evaluations.
    findings: Vec<Evaluation>,
    /// Quarantine entries of the rows error rules failed on.
    rule_failed: Vec<Issue>,
}

/// What the finish works from: the run's files, its buckets (each
/// computed or taken from the cache) and both caches.
struct Finish<'a> {
    p: &'a Pipeline,
    paths: &'a export::OutDir,
    ing: &'a Ingested,
    buckets: Buckets<'a>,
    table: &'a FileTable,
    had_cache: bool,
}

/// What changed since the previous run, and how long finding it took.
type Changed = Option<(Result<Vec<crate::changes::Change>, crate::readback::ReadError>, std::time::Duration)>;

/// The buckets (phase 2), then the totals, the yearbook tables and the
/// rest of the export, each beside the others where it can; what the run
/// computed after the buckets, and what changed since the previous run.
fn compute_finish(
    f: Finish<'_>,
    tables: Tables<'_>,
    settings: export::Settings,
    stages: &mut StageTimes,
    stage_done: &dyn Fn(&str),
    changes_since: &(dyn Fn(&[export::OutputFile]) -> Changed + Sync),
) -> Result<(Finished, Changed), Error> {
    let mut exporter = Exporter::new(f.paths.clone(), tables, settings);
    let tree = Tree::new(f.p.rules(), &f.p.register);
    let mut totals = Aggregator::new(&tree);
    totals.quarantined(&f.ing.quarantined_keys);
    let (old_cache, new_cache) = (f.buckets.old, f.buckets.new);
    // The file table is saved beside the buckets' work, which
    // leaves a core idle at times.
    let (saved, merged) = std::thread::scope(|s| {
        let saved = s.spawn(|| f.table.save(new_cache));
        let merged = phase2(f.p, &f.buckets, &tree, &mut exporter, &mut totals, f.ing.files.len());
        (saved.join().expect("saving the file table does not panic"), merged)
    });
    let merged = saved.map_err(Error::from).and(merged)?;
    stages.lap("merge_metrics_write", stage_done);
    // The yearbook tables' part that needs only the metrics (every
    // part's reduction, the leagues, the movers and their sheets) is
    // made while the totals are finished and written.
    let cx = almanac::Context { catalog: &f.p.catalog, register: &f.p.register, rounding: &f.p.rounding };
    let metrics_parts = almanac_parts(f.paths, &exporter.listed()).metrics;
    let from_metrics = || -> Result<_, Error> {
        let t = Instant::now();
        // The reductions of the parts a previous run wrote the same.
        let known: almanac::Reductions =
            if f.had_cache { cache::load(&old_cache.almanac()).unwrap_or_default() } else { Default::default() };
        let metrics = almanac::from_metrics(&metrics_parts, &cx, &known)?;
        drop(known);
        cache::save(&new_cache.almanac(), &metrics.reductions)?;
        let sheets = export::ranking_sheets(&tables, &metrics)?;
        Ok((metrics, sheets, t.elapsed()))
    };
    let (totals, early) = std::thread::scope(|s| {
        let early = s.spawn(from_metrics);
        let totals = totals.finish();
        stages.lap("aggregate", stage_done);
        // The years whose totals are what the previous run wrote
        // keep its parts.
        let known: Vec<export::TotalsPart> =
            if f.had_cache { cache::load(&old_cache.totals()).unwrap_or_default() } else { Vec::new() };
        let previous = export::PreviousTotals { out: &f.p.paths.out, parts: &known };
        let written = exporter
            .write_totals(&totals, f.had_cache.then_some(&previous))
            .map_err(Error::from)
            .and_then(|parts| Ok(cache::save(&new_cache.totals(), &parts)?));
        (written.map(|()| totals), early.join().expect("the yearbook tables do not panic"))
    });
    let (totals, (from_metrics, sheets, early_took)) = (totals?, early?);
    // The review rules on totals (members' sums), which only the finished
    // totals can decide.
    let lookup = crate::checks::Lookup { catalog: &f.p.catalog, register: &f.p.register };
    let on_totals = crate::checks::evaluate_totals(&totals, &f.p.checks.0, lookup);
    exporter.write_total_checks(&on_totals)?;
    let mut merged = merged;
    merged.checks.add(CheckCounts::of_evaluations(&on_totals));
    merged.findings.extend(on_totals.into_iter().filter(|e| e.outcome.is_finding()));
    let mismatches = exporter.take_mismatches();
    // The rows error rules failed on are quarantined as any other.
    let rejected = crate::reject::in_file_order(&f.ing.rejected, &merged.rule_failed);
    // Then the rest of the tables, from the totals' Parquet, beside
    // the rest of the export and what changed since the previous
    // run (mostly one core's work each).
    let so_far = exporter.listed();
    let yearbook_tables = || -> Result<_, Error> {
        let t = Instant::now();
        let totals_parts = almanac_parts(f.paths, &so_far).totals;
        let almanac = almanac::with_totals(from_metrics, &totals_parts, &cx)?;
        let written = export::write_almanac(f.paths, &tables, &almanac, sheets, f.p.output.csv_encoding)?;
        Ok((almanac, written, t.elapsed()))
    };
    let (exported, made, changed) = std::thread::scope(|s| {
        let made = s.spawn(yearbook_tables);
        let changed = s.spawn(|| changes_since(&so_far));
        let exported = exporter.finish(&totals, &rejected, &f.ing.warnings);
        (
            exported,
            made.join().expect("the yearbook tables do not panic"),
            changed.join().expect("the comparison with the previous run does not panic"),
        )
    });
    let mut outputs = exported?;
    outputs.extend(export::write_check_findings(f.paths, &tables, &merged.findings, f.p.output.csv_encoding)?);
    stages.lap("export", stage_done);
    let (almanac, written, took) = made?;
    outputs.extend(written);
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    // The tables' own wall time, which overlaps the totals' and the
    // export's.
    stages.lap("yearbook_tables", stage_done);
    stages.0.insert("yearbook_tables".to_owned(), (early_took + took).as_millis() as u64);

    let run = Finished {
        outputs,
        observations: merged.observations,
        totals: totals.len() as u64,
        claims: merged.claims,
        superseded: merged.superseded_by_file,
        checks: merged.checks,
        findings: merged.findings,
        rule_failed: merged.rule_failed,
        almanac,
        mismatches,
    };
    cache::save(&new_cache.finish(), &run)?;
    Ok((run, changed))
}

/// The finish taken from the previous run (nothing it is made from
/// changed): its outputs linked into this run's, and the cache's buckets,
/// reductions, totals parts and finish linked into the new cache; the
/// file table saved anew (its fingerprints may be newer).
fn reuse_finish(f: &Finish<'_>) -> Result<Finished, Error> {
    let (old, new) = (f.buckets.old, f.buckets.new);
    let run: Finished = cache::load(&old.finish())?;
    let recorded = modified(&old.finish());
    for o in &run.outputs {
        taken_output(&f.p.paths.out.join(&o.path), &f.paths.file(&o.path), (o.bytes, &o.sha256), recorded)?;
    }
    let link = taken;
    let buckets = (0..f.buckets.reuse.len())
        .flat_map(|b| [(old.bucket(b), new.bucket(b)), (old.spill_files(b), new.spill_files(b))]);
    let whole = [(old.almanac(), new.almanac()), (old.totals(), new.totals()), (old.finish(), new.finish())];
    for (from, to) in buckets.chain(whole) {
        link(&from, &to)?;
    }
    f.table.save(new)?;
    Ok(run)
}

/// What phase 2 gathered across the buckets, beside what it wrote.
struct Gathered {
    observations: u64,
    superseded_by_file: Vec<u64>,
    claims: ClaimOutcomes,
    checks: CheckCounts,
    findings: Vec<Evaluation>,
    /// Quarantine entries of the rows error rules failed on.
    rule_failed: Vec<Issue>,
}

/// What phase 2 works from.
struct Buckets<'a> {
    spill: &'a Spill,
    /// Per bucket: taken from the previous run's cache, not computed.
    reuse: &'a [bool],
    /// This run's file of each cache id.
    files: &'a [Option<FileId>],
    /// Each file's cache id.
    cache_ids: &'a [u32],
    old: &'a CacheDir,
    new: &'a CacheDir,
    previous_out: &'a Path,
    /// Where this run writes (the staging directory).
    out: &'a Path,
}

impl Buckets<'_> {
    /// Computes bucket `b` and writes its parts and its cache entry.
    fn compute(
        &self,
        p: &Pipeline,
        tree: &Tree<'_>,
        writer: &export::BucketWriter<'_>,
        b: usize,
    ) -> Result<(Contribution, BucketOutput), Error> {
        let (rows, bytes) = self.spill.read(b, self.files)?;
        // The files the rows name, by cache id, and the spill's length:
        // what the next run checks its file table and the spill against.
        let mut named = vec![false; self.cache_ids.len()];
        for o in &rows {
            named[o.origin.file.0 as usize] = true;
        }
        let mut files: Vec<u32> = named.iter().zip(self.cache_ids).filter(|(n, _)| **n).map(|(_, &id)| id).collect();
        files.sort_unstable();
        cache::save(&self.new.spill_files(b), &cache::SpillFacts { bytes, files })?;
        let figures = bucket::compute(rows, p);
        tracing::debug!(
            bucket = b,
            observations = figures.current.len(),
            checks = figures.checks.len(),
            "bucket computed"
        );
        let mut written = writer.write(b, &figures)?;
        let mut by_file = BTreeMap::<u32, u64>::new();
        for s in &figures.superseded {
            *by_file.entry(s.observation.origin.file.0).or_default() += 1;
        }
        let contribution = Contribution {
            observations: figures.current.len() as u64,
            superseded_by_file: by_file.into_iter().collect(),
            claim_outcomes: figures.claim_outcomes,
            totals: tree.partial(&figures.current),
            check_counts: figures.check_counts,
            findings: figures.findings(),
            rule_failed: figures.rule_failed,
        };
        // The cache keeps the parts' paths relative to the output and names
        // files by their cache ids; the run by its own.
        written.rebase(self.out, Path::new(""));
        let mut entry = BucketEntry { written, contribution };
        entry.contribution.rename_files(|f| self.cache_ids.get(f as usize).copied());
        cache::save(&self.new.bucket(b), &entry)?;
        let BucketEntry { mut written, mut contribution } = entry;
        contribution.rename_files(|c| self.files.get(c as usize).copied().flatten().map(|f| f.0));
        written.rebase(Path::new(""), self.out);
        Ok((contribution, written))
    }

    /// Takes bucket `b` from the previous run: its parts and cache entry
    /// linked, its outputs as they were.
    fn reuse(&self, b: usize) -> Result<(Contribution, BucketOutput), Error> {
        let BucketEntry { mut written, mut contribution } = cache::load(&self.old.bucket(b))?;
        tracing::debug!(bucket = b, parts = written.files.len(), "bucket taken from the cache");
        let recorded = modified(&self.old.bucket(b));
        taken(&self.old.bucket(b), &self.new.bucket(b))?;
        taken(&self.old.spill_files(b), &self.new.spill_files(b))?;
        if !contribution.rename_files(|c| self.files.get(c as usize).copied().flatten().map(|f| f.0)) {
            let reason = "it names a file the cache does not know".to_owned();
            return Err(cache::CacheError::Invalid { path: self.old.bucket(b), reason }.into());
        }
        for w in &written.files {
            let (from, to) = (self.previous_out.join(&w.path), self.out.join(&w.path));
            taken_output(&from, &to, (w.bytes, &w.sha256), recorded)?;
        }
        written.rebase(Path::new(""), self.out);
        Ok((contribution, written))
    }
}

/// Links what a run takes from the previous one (an output, a cache file)
/// into this run's. Failing is the cache's failure (a file someone removed
/// from the previous output or its cache): the run is then made in full.
fn taken(from: &Path, to: &Path) -> Result<(), Error> {
    crate::dirs::link_or_copy(from, to).map_err(|source| cache::CacheError::Io { path: from.to_owned(), source }.into())
}

/// Links an output the previous run wrote, verified against its record
/// (see `export::hashed::link_verified`): one that was replaced, damaged
/// or removed is the cache's failure, and the run is made in full.
fn taken_output(from: &Path, to: &Path, recorded: (u64, &str), at: Option<std::time::SystemTime>) -> Result<(), Error> {
    export::hashed::link_verified(from, to, recorded, at)
        .map_err(|source| cache::CacheError::Io { path: from.to_owned(), source }.into())
}

/// When the file at `path` was last modified, if the file system says.
fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The Parquet parts the yearbook tables read, from the files written so
/// far: each metrics part with its path and SHA-256 (which key its
/// reduction in the cache), and the totals.
fn almanac_parts(paths: &export::OutDir, written: &[export::OutputFile]) -> almanac::Parts {
    let parts = |table| crate::readback::parts(paths.root(), written.iter().map(|f| f.path.as_str()), table, None);
    let by_path: std::collections::HashMap<PathBuf, &export::OutputFile> =
        written.iter().map(|o| (paths.file(&o.path), o)).collect();
    let metrics = parts(table::METRICS)
        .into_iter()
        .map(|(year, path)| {
            let o = by_path[&path];
            (year, path, (o.path.clone(), o.sha256.clone()))
        })
        .collect();
    almanac::Parts { metrics, totals: parts(table::TOTALS) }
}

/// The next run's file table: this run's files by their cache ids, the
/// ids of files that went or changed left empty.
fn table_entries(plan: &Plan, entries: Vec<FileEntry>) -> Vec<Option<FileEntry>> {
    let mut table: Vec<Option<FileEntry>> = vec![None; plan.table_len];
    for (e, &id) in entries.into_iter().zip(&plan.ids) {
        let mut e = e;
        e.report.header = Vec::new();
        table[id as usize] = Some(e);
    }
    table
}

/// Phase 2: the buckets, `window` at a time in parallel (computed, then
/// Parquet parts and encoded CSV rows; or taken from the cache), while one
/// thread of its own takes each finished bucket, in bucket order, into the
/// totals and the files every bucket appends to. That sequential part
/// overlaps the next buckets' work instead of leaving the other cores
/// idle; the channel holds at most `window` finished buckets (one made the
/// producer wait and was slower), so memory stays bounded by a few buckets.
fn phase2(
    p: &Pipeline,
    input: &Buckets<'_>,
    tree: &Tree<'_>,
    exporter: &mut Exporter<'_>,
    totals: &mut Aggregator<'_>,
    files: usize,
) -> Result<Gathered, Error> {
    let window = rayon::current_num_threads().max(1);
    let ids: Vec<usize> = (0..input.spill.buckets()).collect();
    let writer = exporter.bucket_writer();
    let (tx, rx) = std::sync::mpsc::sync_channel::<(Contribution, BucketOutput)>(window);
    let mut gathered = Gathered {
        observations: 0,
        superseded_by_file: vec![0; files],
        claims: ClaimOutcomes::default(),
        checks: CheckCounts::default(),
        findings: Vec::new(),
        rule_failed: Vec::new(),
    };
    std::thread::scope(|s| {
        let consumer = s.spawn(|| -> Result<(), Error> {
            for (figures, written) in rx {
                totals.merge(figures.totals);
                exporter.absorb(written)?;
                gathered.observations += figures.observations;
                gathered.claims.add(figures.claim_outcomes);
                gathered.checks.add(figures.check_counts);
                gathered.findings.extend(figures.findings);
                let failed: Vec<Key> = figures.rule_failed.iter().map(|(k, _)| *k).collect();
                totals.quarantined(&failed);
                gathered.rule_failed.extend(figures.rule_failed.into_iter().map(|(_, i)| i));
                for (file, n) in figures.superseded_by_file {
                    gathered.superseded_by_file[file as usize] += n;
                }
            }
            Ok(())
        });
        let produced = (|| -> Result<(), Error> {
            for chunk in ids.chunks(window) {
                let done: Vec<_> = chunk
                    .par_iter()
                    .map(|&b| if input.reuse[b] { input.reuse(b) } else { input.compute(p, tree, &writer, b) })
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
