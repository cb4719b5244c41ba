//! The run's plan, made before anything is read or written: for each
//! file whether it is read or taken from the previous run's cache, for
//! each bucket of agencies whether it is computed or reused, and for the
//! finish (totals, tables, summaries) whether it is computed or taken
//! from the previous run, each with its reason. `yearbook run` carries it
//! out, each unit the same way: computed, or taken from the cache;
//! `yearbook run --dry-run` prints it and writes nothing.
//!
//! Making it reads the pipeline's and the schemas' files (for their
//! hashes), lists the inbox, and hashes the files whose fingerprint does
//! not vouch for the cache's hash; it writes nothing.

use std::fmt::Write as _;
use std::path::Path;

use rayon::prelude::*;

use crate::cache::{self, CacheDir, CacheKey, FileEntry, FileTable, FileWhy, NoCache, Plan};
use crate::config::Pipeline;
use crate::error::Error;
use crate::export::manifest::InputFile;
use crate::ingest::{self, SourceFile, Stamp, sha256_hex};

/// A generous lower bound on the bytes of a submission row, to estimate
/// the number of rows from the input's size before reading it.
const MIN_ROW_BYTES: u64 = 40;

/// Buckets of even a small run, so that phase 2 has work for more than one
/// core. A constant, not the number of threads: the part files a run
/// writes must not depend on the machine.
const MIN_BUCKETS: u64 = 4;

/// The number of buckets for `bytes` of input: a power of two, so that
/// it stays the same from night to night while the inbox grows (a new
/// number recomputes every bucket), at least [`MIN_BUCKETS`] and at most
/// one per agency. Not the number of threads: the part files a run writes
/// must not depend on the machine.
pub fn bucket_count(bytes: u64, bucket_rows: usize, agencies: usize) -> usize {
    let wanted = (bytes / MIN_ROW_BYTES / bucket_rows.max(1) as u64 + 1).next_power_of_two();
    wanted.max(MIN_BUCKETS).min(agencies.max(1) as u64) as usize
}

/// What a run knows of a file before reading it.
pub struct Known {
    /// Its SHA-256, and its size and time to check at the end.
    pub stamp: Stamp,
    pub fingerprint: Option<cache::Fingerprint>,
    pub hashed_at_ns: i128,
}

/// Each file's SHA-256 (to find what changed since the cache was
/// written): the cache's where the file's fingerprint vouches for it, else
/// read and hashed (in parallel).
fn identify(
    files: &[SourceFile],
    metadata: &[Option<std::fs::Metadata>],
    table: &FileTable,
) -> Result<Vec<Known>, Error> {
    let by_path: std::collections::HashMap<&str, &FileEntry> =
        table.entries.iter().flatten().map(|e| (e.path(), e)).collect();
    files
        .par_iter()
        .zip(metadata)
        .map(|(f, m)| {
            let io = |source| Error::Io { path: f.path.clone(), source };
            // A file gone since it was listed: the error names it.
            let m = match m {
                Some(m) => m,
                None => &std::fs::metadata(&f.path).map_err(io)?,
            };
            let fingerprint = cache::Fingerprint::of_metadata(m);
            let entry = by_path.get(f.rel.as_str());
            if let (Some(e), Some(now)) = (entry, &fingerprint)
                && let Some(sha) = e.vouched(now)
            {
                let stamp = Stamp::with_hash(m, sha.to_owned());
                return Ok(Known { stamp, fingerprint, hashed_at_ns: e.hashed_at_ns });
            }
            let hashed_at_ns = cache::now_ns();
            Ok(Known { stamp: Stamp::read(&f.path)?, fingerprint, hashed_at_ns })
        })
        .collect()
}

pub fn input_file(path: &Path) -> Result<InputFile, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io { path: path.to_owned(), source })?;
    Ok(InputFile {
        path: path.display().to_string(),
        sha256: sha256_hex(&bytes),
        bytes: bytes.len() as u64,
        copy: None,
    })
}

/// What a run will do, and why.
pub struct RunPlan {
    pub pipeline: InputFile,
    pub schemas: Vec<InputFile>,
    pub files: Vec<SourceFile>,
    /// The inbox's size in bytes, which sets the number of buckets.
    pub bytes: u64,
    pub buckets: usize,
    pub key: CacheKey,
    /// Why the previous run's cache is not used (`Ok`: it is).
    pub cache: Result<(), NoCache>,
    /// Whether the cache's buckets hold the people's per-agency summary
    /// rows (a bucket is reused only when this run writes them too).
    pub previous_indicator_rows: Option<bool>,
    /// Per file: what the run knows of it before reading it (empty without
    /// a cache).
    pub known: Vec<Known>,
    /// Per file and per bucket: read or reuse, and why.
    pub files_plan: Plan,
}

impl RunPlan {
    /// The plan for `p`'s run, against the cache in its output directory
    /// (none with `--full`).
    pub fn make(p: &Pipeline) -> Result<RunPlan, Error> {
        let pipeline = input_file(&p.paths.pipeline)?;
        let schemas: Vec<InputFile> = p.paths.schemas().into_iter().map(input_file).collect::<Result<_, _>>()?;
        let files = ingest::discover(&p.paths.submissions, &p.sources)?;
        // Each file's metadata, once: its size for the buckets, its
        // fingerprint and stamp for the cache.
        let metadata: Vec<Option<std::fs::Metadata>> = files.par_iter().map(|f| f.path.metadata().ok()).collect();
        let bytes: u64 = metadata.iter().flatten().map(|m| m.len()).sum();
        let buckets = bucket_count(bytes, p.output.bucket_rows, p.register.len());
        let old_cache = CacheDir::of(&p.paths.out);
        let schema_shas: Vec<&str> = schemas.iter().map(|s| s.sha256.as_str()).collect();
        let key = CacheKey::new(&pipeline.sha256, &schema_shas, buckets);
        // A cache is used whole or not at all: one that misses a bucket's
        // files (a cache someone pruned) is no cache, nor one whose file
        // table does not describe its spill, and one whose file
        // table is mostly ids of files gone is made again (so it stays the
        // size of the inbox, however many nights replaced files).
        let table = if p.output.incremental { FileTable::open(&old_cache, &key) } else { Err(NoCache::Full) }
            .and_then(|t| {
                let whole = (0..buckets).all(|b| {
                    old_cache.bucket(b).is_file()
                        && old_cache.spill_bucket(b).is_file()
                        && old_cache.spill_files(b).is_file()
                });
                if whole { Ok(t) } else { Err(NoCache::Pruned) }
            })
            .and_then(|t| t.describes_spill(&old_cache, buckets).map(|()| t))
            .and_then(|t| if t.worn() { Err(NoCache::Worn) } else { Ok(t) });
        match &table {
            Err(NoCache::Stale(why)) => {
                tracing::warn!("the previous run's cache is not used, {why}: every file is read again");
            }
            Err(why) => tracing::info!("the previous run's cache is not used: {why}"),
            Ok(_) => {}
        }
        let previous_indicator_rows = table.as_ref().ok().map(|t| t.indicator_rows);
        let mut known = Vec::new();
        let (files_plan, cache) = match table {
            Ok(table) => {
                known = identify(&files, &metadata, &table)?;
                let found: Vec<(&str, &str)> =
                    files.iter().zip(&known).map(|(f, k)| (f.rel.as_str(), k.stamp.sha256.as_str())).collect();
                let mut plan = Plan::against(table, &found, buckets);
                for (reused, k) in plan.entries.iter_mut().zip(&known) {
                    if let Some(e) = reused {
                        (e.fingerprint, e.hashed_at_ns) = (k.fingerprint, k.hashed_at_ns);
                    }
                }
                (plan, Ok(()))
            }
            Err(why) => (Plan::full(files.len(), buckets), Err(why)),
        };
        Ok(RunPlan { pipeline, schemas, files, bytes, buckets, key, cache, previous_indicator_rows, known, files_plan })
    }

    /// What the files taken from the cache looked like (their stamps, out
    /// of `known`), to check at the end as the files read are.
    pub fn reused_stamps(&mut self) -> Vec<(std::path::PathBuf, Stamp)> {
        let known = std::mem::take(&mut self.known);
        self.files
            .iter()
            .zip(known)
            .zip(&self.files_plan.reused)
            .filter(|(_, reused)| **reused)
            .map(|((f, k), _)| (f.path.clone(), k.stamp))
            .collect()
    }

    /// Per bucket, whether it is taken from the cache: when no file read,
    /// added or gone has rows in it (`touched`, known once the files are
    /// read), and the cache's buckets hold the people's per-agency summary
    /// rows exactly when this run writes them (`indicator_rows`).
    pub fn reuse(previous_indicator_rows: Option<bool>, touched: &[bool], indicator_rows: bool) -> Vec<bool> {
        match previous_indicator_rows {
            // The buckets' people's summaries differ: every bucket is computed.
            Some(rows) if rows == indicator_rows => touched.iter().map(|t| !t).collect(),
            _ => vec![false; touched.len()],
        }
    }

    /// The plan in words, for `run --dry-run`: what is read and why, what
    /// is computed, and whether the finish is.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let plan = &self.files_plan;
        let _ = writeln!(
            s,
            "plan (nothing is written): {} files, {} bytes, {} buckets",
            self.files.len(),
            self.bytes,
            self.buckets
        );
        match &self.cache {
            Ok(()) => {
                let _ = writeln!(
                    s,
                    "cache: the previous run's is used (its key matches: format, build, pipeline, schemas, buckets)"
                );
            }
            Err(why) => {
                let _ = writeln!(s, "cache: not used, {why}: every file is read and every bucket computed");
            }
        }
        let read = plan.read();
        let _ = writeln!(s, "files: {} read, {} reused", read, self.files.len() - read);
        for (f, why) in self.files.iter().zip(&plan.why).filter(|(_, w)| **w != FileWhy::Same) {
            let _ = writeln!(s, "  read    {}   {}", f.rel, why.words());
        }
        for path in &plan.removed_paths {
            let _ = writeln!(s, "  gone    {path}   its rows leave the outputs");
        }
        let touched = plan.touched.iter().filter(|t| **t).count();
        let _ = writeln!(
            s,
            "buckets: {touched} computed (a file changed or gone had rows in them), {} reused, less those a file read puts rows in",
            self.buckets - touched
        );
        let untouched: Vec<bool> = plan.touched.iter().map(|t| !t && self.cache.is_ok()).collect();
        let _ = writeln!(s, "finish: {}", plan.finish(&untouched).words());
        let _ = writeln!(
            s,
            "(every bucket is computed besides when the rows accepted cross [output] summary_max_rows, which the files read decide)"
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_is_reused_when_untouched_and_its_summary_rows_are_this_run_s() {
        let touched = [true, false, false];
        assert_eq!(RunPlan::reuse(Some(true), &touched, true), [false, true, true]);
        // The people's per-agency summary rows are written this time, not
        // then (or the other way): every bucket is computed.
        assert_eq!(RunPlan::reuse(Some(false), &touched, true), [false; 3]);
        // No cache.
        assert_eq!(RunPlan::reuse(None, &touched, true), [false; 3]);
    }

    #[test]
    fn buckets_are_a_power_of_two_from_the_inbox_at_least_four_at_most_one_an_agency() {
        assert_eq!(bucket_count(0, 200_000, 100), 4);
        assert_eq!(bucket_count(40 * 200_000 * 5, 200_000, 100), 8);
        assert_eq!(bucket_count(40 * 200_000 * 5, 200_000, 3), 3);
    }
}
