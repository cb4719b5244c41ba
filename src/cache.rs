//! The incremental cache: what a run parsed, checked and computed, kept
//! beside its outputs (`<out>/.cache/`) so that the next run over the same
//! inbox rereads only new and changed files and recomputes only the
//! buckets of agencies they touch.
//!
//! A cache is used only when its key ([`CacheKey`]) matches: everything
//! that decides how a file is read and what a bucket computes (the cache's
//! format, the identity of the build that wrote it, the SHA-256 of the
//! pipeline file and of every schema file: catalog, register, units,
//! layouts) and the number of buckets; a run that finds another key says
//! in one line which part differs and reads everything again. A file is reused when its path and
//! SHA-256 are the ones the cache holds (its SHA-256 known without
//! reading it when its [`Fingerprint`] vouches for it). A bucket is reused when no file
//! with rows in it was read again, added or removed, and the run writes
//! the same per-bucket summaries; its Parquet parts are then linked from
//! the previous output. Everything after the buckets (totals, summaries,
//! yearbook tables, report, manifest) is recomputed from the buckets'
//! cached partials, in bucket order, as a full run computes it from the
//! same partials: the outputs are the same bytes either way (a year's
//! totals part whose rows hash as the previous run's is linked, not
//! encoded again).
//!
//! Layout: `files.json` (the file table, JSON after a sealed head: per file its report and issues,
//! the buckets its rows went to), `spill/` (each bucket's rows, see
//! [`crate::spill`], and beside them the cache ids those rows name), `buckets/` (each bucket's outputs and partials,
//! postcard), `almanac.bin` (each metrics part's reduction for the
//! yearbook tables, by the part's SHA-256), `totals.bin` (each year's
//! totals part by the digest of its rows), `workbook.bin` (`audit.xlsx`
//! by the digest of the outputs it is made from), `finish.bin` (what the
//! finish computed: for a run that reads no file, finds none gone and
//! reuses every bucket, which takes the finish whole, its outputs linked).
//! Nothing in the cache is an output: a run without it (or with `--full`)
//! writes the same outputs and a fresh cache.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::model::{FileId, Key};
use crate::normalize::FileReport;
use crate::reject::Issue;

/// The cache's directory inside an output directory.
pub const DIR: &str = ".cache";
const FILES: &str = "files.json";
const SPILL: &str = "spill";
const BUCKETS: &str = "buckets";
const ALMANAC: &str = "almanac.bin";
const TOTALS: &str = "totals.bin";
const WORKBOOK: &str = "workbook.bin";
const FINISH: &str = "finish.bin";

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache {}: {source} (`yearbook run --full` reads everything again and rebuilds it)", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cache {}: {reason} (`yearbook run --full` reads everything again and rebuilds it)", path.display())]
    Invalid { path: PathBuf, reason: String },
}

/// Where a cache's parts are, under an output (or staging) directory.
#[derive(Debug, Clone)]
pub struct CacheDir(PathBuf);

impl CacheDir {
    pub fn of(out: &Path) -> CacheDir {
        CacheDir(out.join(DIR))
    }

    pub fn spill(&self) -> PathBuf {
        self.0.join(SPILL)
    }

    pub fn bucket(&self, bucket: usize) -> PathBuf {
        self.0.join(BUCKETS).join(format!("bucket-{bucket:05}.bin"))
    }

    pub fn spill_bucket(&self, bucket: usize) -> PathBuf {
        self.spill().join(format!("bucket-{bucket:05}.bin"))
    }

    /// What a bucket's spill held when it was computed ([`SpillFacts`]):
    /// what the file table and the spill on disk are checked against.
    pub fn spill_files(&self, bucket: usize) -> PathBuf {
        self.spill().join(format!("bucket-{bucket:05}.files"))
    }

    /// Each metrics part's reduction for the yearbook tables
    /// (`crate::almanac::Reductions`).
    pub fn almanac(&self) -> PathBuf {
        self.0.join(ALMANAC)
    }

    pub fn files(&self) -> PathBuf {
        self.0.join(FILES)
    }

    /// Each year's totals part with the digest of its rows
    /// (`crate::export::TotalsPart`).
    pub fn totals(&self) -> PathBuf {
        self.0.join(TOTALS)
    }

    /// What the previous run's finish computed (`crate::run`'s
    /// `Finished`), for a run that takes it.
    pub fn finish(&self) -> PathBuf {
        self.0.join(FINISH)
    }

    /// `audit.xlsx` with the digest of what it was made from
    /// (`crate::export::WorkbookEntry`).
    pub fn workbook(&self) -> PathBuf {
        self.0.join(WORKBOOK)
    }
}

/// The version of the cache's formats (the file table, the buckets'
/// entries, the spill, the reductions): raised whenever one of them
/// changes, and in the key beside the build's identity, which moves with
/// every change of the code anyway.
pub const FORMAT: u32 = 6;

/// Everything that decides a file's reading and a bucket's figures, the
/// one key of the cache: the cache's format, the build that wrote it, the
/// pipeline file (rounding rule and decimals, sources, output settings),
/// every schema file (catalog with coverage, register with `reports_for`,
/// units, layouts) and the number of buckets. The other cache files are
/// read only under the file table's key, so it vouches for them too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    pub format: u32,
    pub build: String,
    pub pipeline_sha256: String,
    pub schema_sha256: Vec<String>,
    pub buckets: usize,
}

impl CacheKey {
    /// This build's key for a run over these files.
    pub fn new(pipeline_sha256: &str, schema_sha256: &[&str], buckets: usize) -> CacheKey {
        CacheKey {
            format: FORMAT,
            build: crate::BUILD.to_owned(),
            pipeline_sha256: pipeline_sha256.to_owned(),
            schema_sha256: schema_sha256.iter().map(|s| (*s).to_owned()).collect(),
            buckets,
        }
    }

    /// Why a cache written under `self` cannot serve a run under `now`, in
    /// the words of the one line a run says; `None` when it can.
    pub fn stale(&self, now: &CacheKey) -> Option<&'static str> {
        if self.format != now.format {
            Some("it is in another format")
        } else if self.build != now.build {
            Some("another build of yearbook wrote it")
        } else if self.pipeline_sha256 != now.pipeline_sha256 {
            Some("the pipeline file changed")
        } else if self.schema_sha256 != now.schema_sha256 {
            Some("a schema file changed (catalog, register, units or layouts)")
        } else if self.buckets != now.buckets {
            Some("the inbox's size changed the number of buckets")
        } else {
            None
        }
    }
}

/// What the file system says of a file without reading it: size,
/// modification and change times (nanoseconds), inode and device. The
/// change time moves on every write and cannot be set back by a user, and
/// a file replaced by another has another inode: a file whose fingerprint
/// is the one taken when it was hashed holds the bytes hashed, as git's
/// index assumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub len: u64,
    pub modified_ns: i128,
    pub changed_ns: i128,
    pub inode: u64,
    pub device: u64,
}

/// How long before its hashing a file must have last changed for its
/// fingerprint to vouch for its hash: a write in the same tick of the
/// file system's clock as the fingerprint leaves the times as they were
/// (git's "racily clean" files), so a file that changed just before it was
/// hashed is hashed again next time.
const SETTLED_NS: i128 = 2_000_000_000;

impl Fingerprint {
    /// Whether a file with this fingerprint, hashed at `hashed_at_ns`, had
    /// settled: it last changed two seconds or more before.
    pub fn settled_by(&self, hashed_at_ns: i128) -> bool {
        self.changed_ns.max(self.modified_ns) + SETTLED_NS <= hashed_at_ns
    }

    /// The fingerprint of the file at `path` (`None` where the platform
    /// has no inode and change time).
    pub fn of(path: &Path) -> std::io::Result<Option<Fingerprint>> {
        Ok(Fingerprint::of_metadata(&std::fs::metadata(path)?))
    }

    /// The fingerprint in a file's metadata.
    pub fn of_metadata(m: &std::fs::Metadata) -> Option<Fingerprint> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
            Some(Fingerprint {
                len: m.len(),
                modified_ns: ns(m.mtime(), m.mtime_nsec()),
                changed_ns: ns(m.ctime(), m.ctime_nsec()),
                inode: m.ino(),
                device: m.dev(),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = m;
            None
        }
    }
}

/// Now, in nanoseconds since the epoch.
pub fn now_ns() -> i128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i128)
}

/// One file as a run read it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    /// Its path and SHA-256 are the report's.
    pub report: FileReport,
    /// The file's fingerprint when it was hashed, and when that was.
    pub fingerprint: Option<Fingerprint>,
    pub hashed_at_ns: i128,
    /// The report's header (which the manifest leaves out).
    pub header: Vec<String>,
    pub rejected: Vec<Issue>,
    pub warnings: Vec<Issue>,
    pub quarantined_keys: Vec<Key>,
    /// The buckets its accepted rows went to.
    pub buckets: Vec<u32>,
}

impl FileEntry {
    /// The file's path, relative to the submissions directory.
    pub fn path(&self) -> &str {
        &self.report.path
    }

    pub fn sha256(&self) -> &str {
        &self.report.sha256
    }

    /// The entry as the run with this file as `id` reports it.
    pub fn as_file(mut self, id: FileId) -> FileEntry {
        self.report.header = self.header.clone();
        self.report.superseded = 0;
        for i in self.rejected.iter_mut().chain(self.warnings.iter_mut()) {
            i.file = id;
        }
        self
    }

    /// The SHA-256 of the file now at `now` (its fingerprint), without
    /// reading it, when the fingerprint vouches for the hash the entry
    /// holds.
    pub fn vouched(&self, now: &Fingerprint) -> Option<&str> {
        let then = self.fingerprint.as_ref()?;
        (then == now && then.settled_by(self.hashed_at_ns)).then_some(self.sha256())
    }
}

/// Why a run does not use the previous run's cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoCache {
    /// There is none (a first run, or `.cache/` deleted).
    None,
    /// `run --full`.
    Full,
    /// There is one, written under another key or unreadable: why.
    Stale(String),
    /// It misses a bucket's files (pruned by hand).
    Pruned,
    /// Most of its file table names files gone since: started afresh.
    Worn,
}

impl std::fmt::Display for NoCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoCache::None => f.write_str("there is none"),
            NoCache::Full => f.write_str("run --full asks for a full run"),
            NoCache::Stale(why) => f.write_str(why),
            NoCache::Pruned => f.write_str("it misses a bucket's files"),
            NoCache::Worn => f.write_str("its file table names mostly files gone since: it is started afresh"),
        }
    }
}

/// The file table: every file the cache holds rows of, by cache id. Ids
/// are never reused: a file that went (or changed: it gets a new id)
/// leaves `None`, so that the rows of the buckets nothing touched keep
/// naming their files rightly.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileTable {
    pub key: CacheKey,
    /// Whether the buckets' summaries include `summary/<year>/indicators.csv`
    /// rows.
    pub indicator_rows: bool,
    pub entries: Vec<Option<FileEntry>>,
}

impl FileTable {
    /// The table at `dir`, if there is one of this `key`; `None` when
    /// there is none, or it is another key's (a catalog changed, another
    /// build: everything is read again, and one line says why) or
    /// unreadable (the same).
    pub fn load(dir: &CacheDir, key: &CacheKey) -> Option<FileTable> {
        match Self::open(dir, key) {
            Ok(t) => Some(t),
            Err(NoCache::None) => None,
            Err(why) => {
                tracing::warn!("the previous run's cache is not used, {why}: every file is read again");
                None
            }
        }
    }

    /// The table at `dir` if it serves `key`, else why not.
    pub fn open(dir: &CacheDir, key: &CacheKey) -> Result<FileTable, NoCache> {
        let path = dir.files();
        let bytes = std::fs::read(&path).map_err(|_| NoCache::None)?;
        let json = unseal(&bytes).map_err(|why| NoCache::Stale(why.to_string()))?;
        match serde_json::from_slice::<FileTable>(json) {
            Ok(t) => match t.key.stale(key) {
                None => Ok(t),
                Some(why) => Err(NoCache::Stale(why.to_owned())),
            },
            Err(e) => Err(NoCache::Stale(format!("it cannot be read ({}: {e})", path.display()))),
        }
    }

    /// Writes the table as JSON, sealed ([`seal`]).
    pub fn save(&self, dir: &CacheDir) -> Result<(), CacheError> {
        let path = dir.files();
        let bytes = serde_json::to_vec(self).map_err(|e| invalid(&path, e))?;
        write(&path, &seal(&bytes))
    }

    /// Whether the table says of each bucket what its rows say: the files
    /// it lists with rows in bucket `b` are the ones `b`'s rows name (read
    /// from them when the bucket was computed). A table that is sealed
    /// right but describes other rows (another run's, or edited) would
    /// keep a removed file's rows, or miss a changed file's: it is no
    /// cache.
    pub fn describes_spill(&self, dir: &CacheDir, buckets: usize) -> Result<(), NoCache> {
        let mut listed: Vec<Vec<u32>> = vec![Vec::new(); buckets];
        for (id, e) in self.entries.iter().enumerate() {
            for &b in e.iter().flat_map(|e| &e.buckets) {
                let Some(l) = listed.get_mut(b as usize) else {
                    return Err(NoCache::Stale(format!("its file table lists bucket {b} of {buckets}")));
                };
                l.push(id as u32);
            }
        }
        for (b, listed) in listed.iter().enumerate() {
            let facts: SpillFacts = load(&dir.spill_files(b)).map_err(|e| NoCache::Stale(e.to_string()))?;
            if facts.files != *listed {
                return Err(NoCache::Stale(format!(
                    "its file table does not describe bucket {b}: it lists the rows of {} files there, the rows name {}",
                    listed.len(),
                    facts.files.len()
                )));
            }
            // A spill cut short at a frame's end, or emptied, reads as
            // fewer rows: its length is what was computed from.
            let on_disk = std::fs::metadata(dir.spill_bucket(b)).map_or(u64::MAX, |m| m.len());
            if on_disk != facts.bytes {
                return Err(NoCache::Stale(format!(
                    "bucket {b}'s spill is {on_disk} bytes, {} when it was computed",
                    facts.bytes
                )));
            }
        }
        Ok(())
    }

    /// Whether most of its ids name files that went or changed since they
    /// were read (a full run then starts the table afresh): ids are never
    /// reused, so every night that replaces files leaves some.
    pub fn worn(&self) -> bool {
        let dead = self.entries.iter().filter(|e| e.is_none()).count();
        dead > (self.entries.len() - dead).max(WORN_MIN)
    }
}

/// What a bucket's spill held when the bucket was computed: its length in
/// bytes and the cache ids its rows name (read from the rows), sealed
/// beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpillFacts {
    pub bytes: u64,
    pub files: Vec<u32>,
}

/// Dead ids a file table keeps however small the inbox.
const WORN_MIN: usize = 1000;

/// One bucket as the next run takes it without reading or computing it:
/// what it wrote (its parts' paths relative to the output directory) and
/// what it added to the run, each stage's own type, files named by their
/// cache ids.
#[derive(Serialize, Deserialize)]
pub struct BucketEntry {
    pub written: crate::export::BucketOutput,
    pub contribution: crate::bucket::Contribution,
}

/// What every sealed cache file starts with ([`seal`]).
const MAGIC: &[u8; 8] = b"yearbook";

/// Writes `value` to `path` in postcard, sealed (see [`seal`]): an entry
/// damaged on disk is found at [`load`], never read as other figures.
pub fn save<T: Serialize>(path: &Path, value: &T) -> Result<(), CacheError> {
    let payload = postcard::to_stdvec(value).map_err(|e| invalid(path, e))?;
    write(path, &seal(&payload))
}

/// Reads what [`save`] wrote: one of another format or that does not
/// verify is an error, which makes the run take nothing from it.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<T, CacheError> {
    let bytes = std::fs::read(path).map_err(|source| CacheError::Io { path: path.to_owned(), source })?;
    let payload = unseal(&bytes).map_err(|why| invalid(path, why))?;
    postcard::from_bytes(payload).map_err(|e| invalid(path, e))
}

/// `payload` after a head that says what it is: [`MAGIC`], [`FORMAT`] and
/// the payload's CRC-32 (little-endian).
pub fn seal(payload: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(MAGIC.len() + 8 + payload.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT.to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// Why a sealed cache file is not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsealed {
    NotACacheFile,
    /// Written in another format (its number).
    Format(u32),
    /// Its CRC-32 does not match: damaged on disk.
    Damaged,
}

impl std::fmt::Display for Unsealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unsealed::NotACacheFile => write!(f, "not a cache file"),
            Unsealed::Format(n) => write!(f, "it is in another format ({n}, this build reads {FORMAT})"),
            Unsealed::Damaged => write!(f, "it does not verify (CRC-32): damaged on disk"),
        }
    }
}

/// The payload of a [`seal`]ed file, if its head and CRC-32 verify.
pub fn unseal(bytes: &[u8]) -> Result<&[u8], Unsealed> {
    let head = MAGIC.len() + 8;
    if bytes.len() < head || &bytes[..MAGIC.len()] != MAGIC {
        return Err(Unsealed::NotACacheFile);
    }
    let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"));
    if word(MAGIC.len()) != FORMAT {
        return Err(Unsealed::Format(word(MAGIC.len())));
    }
    let payload = &bytes[head..];
    if crc32fast::hash(payload) != word(MAGIC.len() + 4) {
        return Err(Unsealed::Damaged);
    }
    Ok(payload)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
    let io = |source| CacheError::Io { path: path.to_owned(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(path, bytes).map_err(io)
}

fn invalid(path: &Path, e: impl std::fmt::Display) -> CacheError {
    CacheError::Invalid { path: path.to_owned(), reason: e.to_string() }
}

/// Why the finish (the buckets' phase, the totals, the yearbook tables,
/// the summaries: every output but the workbook, the changes, the report
/// and the manifest) is computed or taken from the previous run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishWhy {
    /// Taken: made from the same files and buckets as the previous run's.
    Unchanged,
    /// Computed: a file was read or went, or a bucket is computed.
    Changed,
}

impl FinishWhy {
    pub fn reused(self) -> bool {
        self == FinishWhy::Unchanged
    }

    pub fn words(self) -> &'static str {
        match self {
            FinishWhy::Unchanged => {
                "nothing changed: taken from the previous run, its outputs linked; the workbook, changes, report and manifest made as always"
            }
            FinishWhy::Changed => "totals, tables, summaries and workbooks computed from the buckets' partials",
        }
    }
}

/// What a run reuses of a previous run's cache, and what it reads again.
#[derive(Debug, Default)]
pub struct Plan {
    /// Per file of the run (in [`FileId`] order): its cache id in the new
    /// table.
    pub ids: Vec<u32>,
    /// Per file of the run: whether its cached entry is reused.
    pub reused: Vec<bool>,
    /// Per file of the run: the cached entry when it is reused (until the
    /// run takes them).
    pub entries: Vec<Option<FileEntry>>,
    /// Per bucket: whether a file that went or changed had rows in it.
    pub touched: Vec<bool>,
    /// The new table's ids: those of reused files keep theirs; the rest
    /// `None` until the run reads them.
    pub table_len: usize,
    /// Files the previous run read that are gone.
    pub removed: usize,
    /// Per file of the run: why it is read or reused.
    pub why: Vec<FileWhy>,
    /// The paths of the files that went.
    pub removed_paths: Vec<String>,
}

/// Why a file is read again or taken from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileWhy {
    /// Its path and SHA-256 are the cache's.
    Same,
    /// The cache has no file at its path.
    New,
    /// The cache has its path with other bytes.
    Changed,
    /// No cache is used: every file is read.
    #[default]
    NoCache,
}

impl FileWhy {
    pub fn words(self) -> &'static str {
        match self {
            FileWhy::Same => "the same bytes as the cache's (reused)",
            FileWhy::New => "new since the cache",
            FileWhy::Changed => "changed since the cache",
            FileWhy::NoCache => "no cache is used",
        }
    }
}

impl Plan {
    /// Every file read, every bucket computed: a full run (no cache, or
    /// `--full`).
    pub fn full(files: usize, buckets: usize) -> Plan {
        Plan {
            ids: (0..files as u32).collect(),
            reused: vec![false; files],
            entries: vec![None; files],
            touched: vec![true; buckets],
            table_len: files,
            removed: 0,
            why: vec![FileWhy::NoCache; files],
            removed_paths: Vec::new(),
        }
    }

    /// The plan for the run's files (`path`, `sha256`, in file order)
    /// against the previous table. Pure.
    pub fn against(previous: FileTable, found: &[(&str, &str)], buckets: usize) -> Plan {
        let mut entries = previous.entries;
        let table_len = entries.len();
        let by_path: std::collections::HashMap<&str, u32> =
            entries.iter().enumerate().filter_map(|(id, e)| e.as_ref().map(|e| (e.path(), id as u32))).collect();
        let mut plan = Plan { touched: vec![false; buckets], table_len, ..Plan::default() };
        let mut taken = vec![false; table_len];
        let mut kept: Vec<Option<u32>> = Vec::with_capacity(found.len());
        for &(path, sha) in found {
            match by_path.get(path) {
                Some(&id) if entries[id as usize].as_ref().is_some_and(|e| e.sha256() == sha) => {
                    taken[id as usize] = true;
                    plan.ids.push(id);
                    plan.reused.push(true);
                    plan.why.push(FileWhy::Same);
                    kept.push(Some(id));
                }
                was => {
                    plan.why.push(if was.is_some() { FileWhy::Changed } else { FileWhy::New });
                    if let Some(&id) = was {
                        taken[id as usize] = true;
                        let e = entries[id as usize].as_ref().expect("listed by path");
                        plan.touch(&e.buckets);
                    }
                    plan.ids.push(plan.table_len as u32);
                    plan.table_len += 1;
                    plan.reused.push(false);
                    kept.push(None);
                }
            }
        }
        drop(by_path);
        // Files that went.
        for (e, taken) in entries.iter().zip(&taken) {
            if let (Some(e), false) = (e, taken) {
                plan.touch(&e.buckets);
                plan.removed += 1;
                plan.removed_paths.push(e.path().to_owned());
            }
        }
        plan.entries = kept.into_iter().map(|id| id.and_then(|id| entries[id as usize].take())).collect();
        plan
    }

    pub fn touch(&mut self, buckets: &[u32]) {
        for &b in buckets {
            if let Some(t) = self.touched.get_mut(b as usize) {
                *t = true;
            }
        }
    }

    /// Whether a run with this plan and these buckets reused (`reuse`)
    /// computes its finish or takes the previous run's: taken when no file
    /// is read, none went and every bucket is reused, for then everything
    /// the finish is made from is what the previous run's was made from.
    pub fn finish(&self, reuse: &[bool]) -> FinishWhy {
        if self.read() == 0 && self.removed == 0 && reuse.iter().all(|r| *r) {
            FinishWhy::Unchanged
        } else {
            FinishWhy::Changed
        }
    }

    /// What a run with this plan and these buckets reused (`reuse`) does,
    /// as the manifest says it.
    pub fn work(&self, reuse: &[bool]) -> crate::export::manifest::Work {
        let reused = reuse.iter().filter(|r| **r).count() as u64;
        crate::export::manifest::Work {
            files_read: self.read() as u64,
            files_reused: (self.reused.len() - self.read()) as u64,
            buckets_computed: reuse.len() as u64 - reused,
            buckets_reused: reused,
        }
    }

    /// Files read again or for the first time.
    pub fn read(&self) -> usize {
        self.reused.iter().filter(|r| !**r).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, sha: &str, buckets: &[u32]) -> Option<FileEntry> {
        let report: FileReport = serde_json::from_value(serde_json::json!({
            "path": path, "sha256": sha, "bytes": 1, "encoding": null, "layout": null, "refused": null,
            "lines": 0, "records": 0, "blank_rows": 0, "title_rows": 0, "footnote_rows": 0,
            "rows_read": 0, "accepted": 0, "quarantined": 0, "superseded": 0
        }))
        .unwrap();
        Some(FileEntry {
            fingerprint: None,
            hashed_at_ns: 0,
            report,
            header: Vec::new(),
            rejected: Vec::new(),
            warnings: Vec::new(),
            quarantined_keys: Vec::new(),
            buckets: buckets.to_vec(),
        })
    }

    #[test]
    fn a_cache_another_build_or_format_wrote_is_not_used_and_says_why() {
        let now = CacheKey::new("pipeline", &["catalog", "register"], 4);
        assert_eq!(now.stale(&now), None);
        let other_build = CacheKey { build: "0123456789abcdef".into(), ..now.clone() };
        assert_eq!(other_build.stale(&now), Some("another build of yearbook wrote it"));
        let old_format = CacheKey { format: FORMAT - 1, ..now.clone() };
        assert_eq!(old_format.stale(&now), Some("it is in another format"));
        let register = CacheKey::new("pipeline", &["catalog", "register with reports_for"], 4);
        assert!(register.stale(&now).is_some_and(|why| why.contains("register")));

        let dir = tempfile::tempdir().unwrap();
        let cache = CacheDir::of(dir.path());
        let table = |key: CacheKey| FileTable { key, indicator_rows: false, entries: vec![entry("a.csv", "1", &[0])] };
        table(other_build).save(&cache).unwrap();
        assert!(FileTable::load(&cache, &now).is_none(), "another build's table");
        table(now.clone()).save(&cache).unwrap();
        assert!(FileTable::load(&cache, &now).is_some(), "this build's table");
        // A table of the format before this key (a plain string) is read as none.
        std::fs::write(cache.files(), br#"{"key":"9f2c","indicator_rows":false,"entries":[]}"#).unwrap();
        assert!(FileTable::load(&cache, &now).is_none());
    }

    #[test]
    fn a_changed_a_new_and_a_removed_file_touch_their_buckets_only() {
        let previous = FileTable {
            key: CacheKey::new("p", &["c"], 2),
            indicator_rows: true,
            entries: vec![
                entry("a.csv", "1", &[0]),
                None,
                entry("b.csv", "2", &[1]),
                entry("c.csv", "3", &[2]),
                entry("d.csv", "4", &[3]),
            ],
        };
        // a unchanged, b changed, c removed, d unchanged, e new.
        let found = [("a.csv", "1"), ("b.csv", "9"), ("d.csv", "4"), ("e.csv", "5")];
        let plan = Plan::against(previous, &found, 5);
        assert_eq!(plan.ids, [0, 5, 4, 6]);
        assert_eq!(plan.reused, [true, false, true, false]);
        assert_eq!(plan.entries.iter().map(Option::is_some).collect::<Vec<_>>(), plan.reused);
        assert_eq!(plan.touched, [false, true, true, false, false]);
        assert_eq!((plan.read(), plan.table_len, plan.removed), (2, 7, 1));
        // Each file's reason, and the file that went.
        assert_eq!(plan.why, [FileWhy::Same, FileWhy::Changed, FileWhy::Same, FileWhy::New]);
        assert_eq!(plan.removed_paths, ["c.csv"]);
        assert_eq!(plan.finish(&[true; 5]), FinishWhy::Changed, "files are read");
    }

    #[test]
    fn the_same_files_and_every_bucket_reused_is_a_run_with_nothing_to_compute() {
        let table = || FileTable {
            key: CacheKey::new("p", &["c"], 2),
            indicator_rows: true,
            entries: vec![entry("a.csv", "1", &[0]), entry("b.csv", "2", &[1])],
        };
        let plan = Plan::against(table(), &[("a.csv", "1"), ("b.csv", "2")], 2);
        assert_eq!(plan.why, [FileWhy::Same, FileWhy::Same]);
        assert_eq!(plan.finish(&[true, true]), FinishWhy::Unchanged);
        assert_eq!(plan.finish(&[true, false]), FinishWhy::Changed, "a bucket computed");
        let gone = Plan::against(table(), &[("a.csv", "1")], 2);
        assert_eq!(gone.finish(&[true, true]), FinishWhy::Changed, "a file gone");
        let full = Plan::full(2, 2);
        assert_eq!((full.why, full.touched), (vec![FileWhy::NoCache; 2], vec![true; 2]));
    }

    #[test]
    fn a_fingerprint_vouches_for_a_hash_only_when_the_file_had_settled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.csv");
        std::fs::write(&path, "x").unwrap();
        let now = Fingerprint::of(&path).unwrap().unwrap();
        let mut e = entry("a.csv", "1", &[]).unwrap();
        e.fingerprint = Some(now);
        // Hashed in the same second as it was written: not vouched for.
        e.hashed_at_ns = now.changed_ns;
        assert_eq!(e.vouched(&now), None);
        e.hashed_at_ns = now.changed_ns + SETTLED_NS;
        assert_eq!(e.vouched(&now), Some("1"));
        // Written again (the same size): its change time moved.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, "y").unwrap();
        assert_eq!(e.vouched(&Fingerprint::of(&path).unwrap().unwrap()), None);
    }

    #[test]
    fn a_table_mostly_of_files_gone_is_worn() {
        let table = |live: usize, dead: usize| FileTable {
            key: CacheKey::new("p", &["c"], 2),
            indicator_rows: true,
            entries: (0..live).map(|i| entry(&format!("{i}.csv"), "1", &[])).chain((0..dead).map(|_| None)).collect(),
        };
        assert!(!table(10, 900).worn(), "a small inbox keeps up to a thousand");
        assert!(table(10, 1001).worn());
        assert!(!table(2000, 2000).worn());
        assert!(table(2000, 2001).worn());
    }

    #[test]
    fn the_key_changes_with_any_schema_and_with_the_buckets() {
        let key = CacheKey::new;
        let k = key("p", &["c", "a"], 4);
        assert_eq!(k, key("p", &["c", "a"], 4));
        for other in [key("p", &["c2", "a"], 4), key("p", &["c", "a"], 8), key("p2", &["c", "a"], 4)] {
            assert_ne!(k, other);
            assert!(other.stale(&k).is_some());
        }
    }
}
