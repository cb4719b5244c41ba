//! Export: the only stage that writes. Everything goes to a staging
//! directory beside the output directory; only when every file is complete
//! does the staging directory take the output directory's place, in one
//! rename, so the output directory always holds one whole run.

pub mod csv_out;
pub mod manifest;
pub mod parquet;
pub mod summary;
pub mod tables;

use std::path::{Path, PathBuf};

use crate::aggregate::Total;
use crate::config::Pipeline;
use crate::ingest::sha256_hex;
use crate::metrics::Metric;
use crate::normalize::{FileReport, Observation, Superseded};
use crate::reject::Issue;

pub use manifest::{Manifest, OutputFile};

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

/// Everything a run computed, borrowed for writing.
pub struct RunData<'a> {
    pub pipeline: &'a Pipeline,
    pub files: &'a [FileReport],
    pub current: &'a [Observation],
    pub metrics: &'a [Metric],
    pub superseded: &'a [Superseded],
    pub totals: &'a [Total],
    pub rejected: &'a [Issue],
    pub warnings: &'a [Issue],
}

impl RunData<'_> {
    pub fn source_file_of(&self, o: &Observation) -> &str {
        &self.files[o.origin.file.0 as usize].path
    }
}

/// Indexes of `rows` ordered by year, then by their key.
fn by_year<T, K: Ord>(rows: &[T], key: impl Fn(&T) -> (i32, K)) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..rows.len() as u32).collect();
    idx.sort_by_key(|&i| key(&rows[i as usize]));
    idx
}

/// Writes every output file into `dir` and returns them (paths relative to
/// `dir`), sorted by path, with their hashes.
pub fn write_all(dir: &Path, run: &RunData<'_>) -> Result<Vec<OutputFile>, ExportError> {
    let p = run.pipeline;
    let opts = parquet::WriteOptions { row_group_rows: p.row_group_rows, zstd_level: p.zstd_level };
    let scales = p.max_precision();
    let mut written: Vec<(PathBuf, u64)> = Vec::new();

    let obs_order = by_year(run.current, |o| (o.key.year, (o.key.agency, o.key.indicator)));
    let year_of_obs = |&i: &u32| run.current[i as usize].key.year;
    written.extend(parquet::write_partitioned(
        dir,
        "observations",
        &obs_order,
        year_of_obs,
        |idx| run.observations_batch(idx),
        opts,
    )?);
    written.extend(parquet::write_partitioned(
        dir,
        "metrics",
        &obs_order,
        year_of_obs,
        |idx| run.metrics_batch(idx, scales),
        opts,
    )?);

    let totals_order = by_year(run.totals, |t| (t.key.year, (t.key.agency, t.key.indicator)));
    let year_of_total = |&i: &u32| run.totals[i as usize].key.year;
    written.extend(parquet::write_partitioned(
        dir,
        "totals",
        &totals_order,
        year_of_total,
        |idx| run.totals_batch(idx, scales),
        opts,
    )?);

    let sup_order = by_year(run.superseded, |s| {
        (s.observation.key.year, (s.observation.key.agency, s.observation.key.indicator, s.observation.origin.file))
    });
    let year_of_sup = |&i: &u32| run.superseded[i as usize].observation.key.year;
    written.extend(parquet::write_partitioned(
        dir,
        "superseded",
        &sup_order,
        year_of_sup,
        |idx| run.superseded_batch(idx),
        opts,
    )?);

    written.push(write_issues(&dir.join("quarantine.csv"), run, run.rejected)?);
    written.push(write_issues(&dir.join("warnings.csv"), run, run.warnings)?);
    written.extend(summary::write(dir, run, &obs_order, &totals_order)?);

    let mut outputs = written
        .into_iter()
        .map(|(path, rows)| {
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            let rel = path.strip_prefix(dir).unwrap_or(&path);
            let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
            Ok(OutputFile { path: rel, sha256: sha256_hex(&bytes), bytes: bytes.len() as u64, rows })
        })
        .collect::<Result<Vec<_>, ExportError>>()?;
    outputs.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(outputs)
}

const ISSUE_HEADER: [&str; 8] = ["file", "line", "byte", "field", "raw", "code", "message_zh", "message_en"];

/// `quarantine.csv` or `warnings.csv`: one row per issue, in file and line
/// order.
fn write_issues(path: &Path, run: &RunData<'_>, issues: &[Issue]) -> Result<(PathBuf, u64), ExportError> {
    let mut f = csv_out::CsvFile::create(path, &ISSUE_HEADER)?;
    for i in issues {
        f.row([
            csv_out::text(&run.files[i.file.0 as usize].path).as_ref(),
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

/// A staging directory that becomes the output directory on [`commit`].
/// Dropped without a commit, it is removed and the previous outputs stay.
///
/// [`commit`]: Staging::commit
pub struct Staging {
    pub dir: PathBuf,
    out: PathBuf,
    committed: bool,
}

/// The file whose presence marks a directory as yearbook's outputs.
pub const MANIFEST: &str = "manifest.json";

impl Staging {
    pub fn create(out: &Path) -> Result<Staging, ExportError> {
        let name = out.file_name().ok_or_else(|| ExportError::Refused {
            path: out.to_owned(),
            reason: "the output directory needs a name".into(),
        })?;
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(io(&parent))?;
        if out.exists() {
            if !out.is_dir() {
                return Err(ExportError::Refused {
                    path: out.to_owned(),
                    reason: "exists and is not a directory".into(),
                });
            }
            // Never replace a directory yearbook did not write.
            let empty = std::fs::read_dir(out).map_err(io(out))?.next().is_none();
            if !empty && !out.join(MANIFEST).is_file() {
                let reason = format!(
                    "is not empty and holds no {MANIFEST}: refusing to replace a directory yearbook did not write"
                );
                return Err(ExportError::Refused { path: out.to_owned(), reason });
            }
        }
        let dir = parent.join(format!(".{}.staging-{}", name.to_string_lossy(), std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
        }
        std::fs::create_dir(&dir).map_err(io(&dir))?;
        Ok(Staging { dir, out: out.to_owned(), committed: false })
    }

    /// Puts the staging directory in the output directory's place.
    pub fn commit(mut self) -> Result<(), ExportError> {
        if self.out.exists() {
            // Atomic swap where the file system can, so there is no moment
            // without outputs; then the old outputs are removed.
            let swapped = rustix::fs::renameat_with(
                rustix::fs::CWD,
                &self.dir,
                rustix::fs::CWD,
                &self.out,
                rustix::fs::RenameFlags::EXCHANGE,
            )
            .is_ok();
            if !swapped {
                let old = self.dir.with_extension("old");
                std::fs::rename(&self.out, &old).map_err(io(&self.out))?;
                std::fs::rename(&self.dir, &self.out).map_err(io(&self.out))?;
                std::fs::remove_dir_all(&old).map_err(io(&old))?;
            } else {
                std::fs::remove_dir_all(&self.dir).map_err(io(&self.dir))?;
            }
        } else {
            std::fs::rename(&self.dir, &self.out).map_err(io(&self.out))?;
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
