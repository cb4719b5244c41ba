//! Spill: accepted observations, partitioned by agency range into buckets
//! on disk, so that no stage after ingest holds every row at once.
//!
//! Everything after normalize works per agency: metrics need the same
//! agency's previous year, a ratio total the same agency's numerator and
//! denominator, and a key's supersession lives within one agency. Buckets
//! are ranges of agency ids (which sort as agency codes), so processing the
//! buckets in order yields rows in output order, and memory is bounded by
//! the largest bucket rather than by the input.
//!
//! The encoding is yearbook's own: fixed-width fields and
//! length-prefixed strings, written by many threads in chunks, each framed
//! with its length and CRC-32 (a chunk that does not verify makes the
//! bucket unreadable, never rows read wrong), and read back in the order
//! they landed, which depends on thread scheduling:
//! `crate::bucket` sorts them (`crate::supersede::sort`) before anything
//! else. A row names its file by the file's id in the incremental cache
//! (`crate::cache`), which outlives the run: the buckets stay beside the
//! output, so that the next run rereads only the files that changed and
//! recomputes only the buckets they touch.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use compact_str::CompactString;

use crate::config::{AgencyId, IndicatorId};
use crate::decimal::Decimal;
use crate::model::{FileId, Key, Observation, Origin};

#[derive(Debug, thiserror::Error)]
#[error("spill file {}: {source}", path.display())]
pub struct SpillError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Bytes a thread gathers for one bucket before appending them to its file.
const CHUNK: usize = 256 * 1024;

/// The buckets of one run.
pub struct Spill {
    dir: PathBuf,
    agencies: u32,
    files: Vec<Mutex<File>>,
}

impl Spill {
    /// Creates `buckets` empty bucket files under `dir`, splitting
    /// `agencies` ids into equal ranges.
    pub fn create(dir: &Path, buckets: usize, agencies: usize) -> Result<Spill, SpillError> {
        std::fs::create_dir_all(dir).map_err(|source| SpillError { path: dir.to_owned(), source })?;
        let files = (0..buckets.max(1))
            .map(|b| {
                let path = dir.join(format!("bucket-{b:05}.bin"));
                OpenOptions::new()
                    .create(true)
                    .truncate(true)
                    .read(true)
                    .write(true)
                    .open(&path)
                    .map(Mutex::new)
                    .map_err(|source| SpillError { path, source })
            })
            .collect::<Result<_, _>>()?;
        Ok(Spill { dir: dir.to_owned(), agencies: agencies.max(1) as u32, files })
    }

    pub fn buckets(&self) -> usize {
        self.files.len()
    }

    fn bucket_of(&self, agency: AgencyId) -> usize {
        (u64::from(agency.0) * self.files.len() as u64 / u64::from(self.agencies)) as usize
    }

    fn path(&self, bucket: usize) -> PathBuf {
        self.dir.join(format!("bucket-{bucket:05}.bin"))
    }

    /// Appends one file's observations (from any thread), naming the file
    /// by its cache id; returns the buckets they went to, in order.
    pub fn write(&self, file: u32, observations: &[Observation]) -> Result<Vec<u32>, SpillError> {
        let mut chunks: Vec<Vec<u8>> = vec![Vec::new(); self.files.len()];
        let mut touched = vec![false; self.files.len()];
        for o in observations {
            let b = self.bucket_of(o.key.agency);
            touched[b] = true;
            encode(o, file, &mut chunks[b]);
            if chunks[b].len() >= CHUNK {
                self.flush(b, &mut chunks[b])?;
            }
        }
        for (b, chunk) in chunks.iter_mut().enumerate() {
            self.flush(b, chunk)?;
        }
        Ok(touched.iter().enumerate().filter(|(_, t)| **t).map(|(b, _)| b as u32).collect())
    }

    /// Appends the rows of an earlier run's bucket file whose cache ids
    /// `keep` says are still current (the rows of files that changed or
    /// went are left behind).
    pub fn append_kept(&self, bucket: usize, earlier: &Path, keep: &dyn Fn(u32) -> bool) -> Result<(), SpillError> {
        let bytes = read_all(earlier)?;
        let err = || SpillError { path: earlier.to_owned(), source: std::io::ErrorKind::InvalidData.into() };
        let mut chunk = Vec::new();
        for payload in frames(&bytes).ok_or_else(err)? {
            let mut rest = payload;
            while !rest.is_empty() {
                let start = rest;
                let (_, file) = decode(&mut rest).ok_or_else(err)?;
                if keep(file) {
                    chunk.extend_from_slice(&start[..start.len() - rest.len()]);
                }
                if chunk.len() >= CHUNK {
                    self.flush(bucket, &mut chunk)?;
                }
            }
        }
        self.flush(bucket, &mut chunk)
    }

    /// Puts an earlier run's bucket file, every row of it current, in
    /// place of bucket `bucket`, which nothing writes to after: a hard link
    /// where the file system allows, else a copy.
    pub fn adopt(&self, bucket: usize, earlier: &Path) -> Result<(), SpillError> {
        let path = self.path(bucket);
        let err = |source| SpillError { path: path.clone(), source };
        std::fs::remove_file(&path).map_err(err)?;
        crate::dirs::link_or_copy(earlier, &path).map_err(err)
    }

    fn flush(&self, bucket: usize, chunk: &mut Vec<u8>) -> Result<(), SpillError> {
        if chunk.is_empty() {
            return Ok(());
        }
        let mut framed = Vec::with_capacity(FRAME_HEAD + chunk.len());
        framed.extend_from_slice(&(chunk.len() as u32).to_le_bytes());
        framed.extend_from_slice(&crc32fast::hash(chunk).to_le_bytes());
        framed.extend_from_slice(chunk);
        let mut file = self.files[bucket].lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(&framed).map_err(|source| SpillError { path: self.path(bucket), source })?;
        chunk.clear();
        Ok(())
    }

    /// The observations of one bucket, in no particular order, each with
    /// its file's id in this run: `files[cache id]` (every cache id in the
    /// bucket must have one); and the bucket file's length in bytes.
    pub fn read(&self, bucket: usize, files: &[Option<FileId>]) -> Result<(Vec<Observation>, u64), SpillError> {
        let path = self.path(bucket);
        let invalid = || SpillError { path: path.clone(), source: std::io::ErrorKind::InvalidData.into() };
        let bytes = read_all(&path)?;
        // At most this many rows: reserved once, so that the rows are not
        // copied again and again as the vector grows (pages never written
        // are never touched).
        let mut out = Vec::with_capacity(bytes.len() / SMALLEST_ROW);
        for payload in frames(&bytes).ok_or_else(invalid)? {
            let mut rest = payload;
            while !rest.is_empty() {
                let (mut o, file) = decode(&mut rest).ok_or_else(invalid)?;
                o.origin.file = files.get(file as usize).copied().flatten().ok_or_else(invalid)?;
                out.push(o);
            }
        }
        Ok((out, bytes.len() as u64))
    }

    /// The file of bucket `bucket`.
    pub fn file(&self, bucket: usize) -> PathBuf {
        self.path(bucket)
    }
}

/// A frame's head: the payload's length and CRC-32, little-endian.
const FRAME_HEAD: usize = 8;

/// The payloads of a spill file's frames, each verified; `None` when one
/// is cut short or does not match its CRC.
fn frames(bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let len = u32::from_le_bytes(get(&mut rest)?) as usize;
        let crc = u32::from_le_bytes(get(&mut rest)?);
        let payload = take(&mut rest, len)?;
        if crc32fast::hash(payload) != crc {
            return None;
        }
        out.push(payload);
    }
    Some(out)
}

fn read_all(path: &Path) -> Result<Vec<u8>, SpillError> {
    std::fs::read(path).map_err(|source| SpillError { path: path.to_owned(), source })
}

/// The fewest bytes a row takes in a spill (every field fixed-size, every
/// string empty or absent): see [`encode`].
const SMALLEST_ROW: usize = 3 * 4 + 4 + 4 + 4 + 8 + 8 + 4 + 4 * 4;

fn put_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
    buf.extend_from_slice(s.as_bytes());
}

fn put_opt_str(buf: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => buf.extend_from_slice(&u32::MAX.to_le_bytes()),
        Some(s) => put_str(buf, s),
    }
}

fn put_dec(buf: &mut Vec<u8>, d: Option<Decimal>) {
    match d {
        None => buf.push(u8::MAX),
        Some(d) => {
            buf.push(d.scale());
            buf.extend_from_slice(&d.mantissa().to_le_bytes());
        }
    }
}

fn encode(o: &Observation, file: u32, buf: &mut Vec<u8>) {
    buf.extend_from_slice(&o.key.agency.0.to_le_bytes());
    buf.extend_from_slice(&o.key.indicator.0.to_le_bytes());
    buf.extend_from_slice(&o.key.year.to_le_bytes());
    put_dec(buf, o.value);
    put_dec(buf, o.target);
    put_dec(buf, o.claimed_completion);
    put_dec(buf, o.claimed_growth);
    buf.extend_from_slice(&o.power.to_le_bytes());
    buf.extend_from_slice(&file.to_le_bytes());
    buf.extend_from_slice(&o.origin.line.to_le_bytes());
    buf.extend_from_slice(&o.origin.byte.to_le_bytes());
    buf.extend_from_slice(&o.origin.column.to_le_bytes());
    put_str(buf, &o.unit);
    put_str(buf, &o.value_raw);
    put_opt_str(buf, o.target_raw.as_deref());
    put_opt_str(buf, o.note.as_deref());
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Some(head)
}

fn get<const N: usize>(rest: &mut &[u8]) -> Option<[u8; N]> {
    take(rest, N)?.try_into().ok()
}

fn get_opt_str(rest: &mut &[u8]) -> Option<Option<CompactString>> {
    let len = u32::from_le_bytes(get(rest)?);
    if len == u32::MAX {
        return Some(None);
    }
    let bytes = take(rest, len as usize)?;
    Some(Some(CompactString::from_utf8(bytes).ok()?))
}

fn get_str(rest: &mut &[u8]) -> Option<CompactString> {
    get_opt_str(rest)?
}

fn get_dec(rest: &mut &[u8]) -> Option<Option<Decimal>> {
    let scale = get::<1>(rest)?[0];
    if scale == u8::MAX {
        return Some(None);
    }
    Some(Some(Decimal::new(i128::from_le_bytes(get(rest)?), scale)))
}

/// A row and the cache id of its file (its `origin.file` is left 0).
fn decode(rest: &mut &[u8]) -> Option<(Observation, u32)> {
    let agency = AgencyId(u32::from_le_bytes(get(rest)?));
    let indicator = IndicatorId(u32::from_le_bytes(get(rest)?));
    let year = i32::from_le_bytes(get(rest)?);
    let value = get_dec(rest)?;
    let target = get_dec(rest)?;
    let claimed_completion = get_dec(rest)?;
    let claimed_growth = get_dec(rest)?;
    let power = u32::from_le_bytes(get(rest)?);
    let file = u32::from_le_bytes(get(rest)?);
    let line = u64::from_le_bytes(get(rest)?);
    let byte = u64::from_le_bytes(get(rest)?);
    let column = u32::from_le_bytes(get(rest)?);
    let o = Observation {
        key: Key { agency, indicator, year },
        value,
        target,
        claimed_completion,
        claimed_growth,
        power,
        origin: Origin { file: FileId(0), line, byte, column },
        unit: get_str(rest)?,
        value_raw: get_str(rest)?,
        target_raw: get_opt_str(rest)?,
        note: get_opt_str(rest)?,
    };
    Some((o, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_come_back_as_written_in_their_bucket() {
        let obs = |agency, year, note: Option<&str>| Observation {
            key: Key { agency: AgencyId(agency), indicator: IndicatorId(3), year },
            value: Some(Decimal::new(-376_200_000_000, 6)),
            target: None,
            claimed_completion: Some(Decimal::new(1075, 1)),
            claimed_growth: None,
            unit: "万人".into(),
            power: 4,
            note: note.map(Into::into),
            value_raw: "－37.62".into(),
            target_raw: Some(CompactString::default()),
            origin: Origin { file: FileId(7), line: 12, byte: 345, column: 4 },
        };
        let dir = tempfile::tempdir().unwrap();
        let spill = Spill::create(&dir.path().join("a"), 2, 4).unwrap();
        let written = [obs(3, 2021, Some("备注")), obs(0, 2022, None), obs(0, 2021, None)];
        // Cache id 5 is file 7 of this run.
        let mut files = vec![None; 6];
        files[5] = Some(FileId(7));
        assert_eq!(spill.write(5, &written).unwrap(), [0, 1]);
        assert_eq!(spill.read(0, &files).unwrap().0, [written[1].clone(), written[2].clone()]);
        assert_eq!(spill.read(1, &files).unwrap().0, [written[0].clone()]);
        // A cache id the run has no file for is invalid data, not a guess.
        assert!(spill.read(0, &files[..5]).is_err());
        // The next run keeps rows of files still current, drops the rest.
        let next = Spill::create(&dir.path().join("b"), 2, 4).unwrap();
        next.write(2, &written[1..2]).unwrap();
        next.append_kept(0, &spill.file(0), &|id| id == 5).unwrap();
        next.adopt(1, &spill.file(1)).unwrap();
        assert_eq!(next.read(1, &files).unwrap().0, [written[0].clone()]);
        files[2] = Some(FileId(1));
        let mut from_1 = written[1].clone();
        from_1.origin.file = FileId(1);
        assert_eq!(next.read(0, &files).unwrap().0, [from_1, written[1].clone(), written[2].clone()]);
        let dropped = Spill::create(&dir.path().join("c"), 2, 4).unwrap();
        dropped.append_kept(0, &spill.file(0), &|id| id != 5).unwrap();
        assert!(dropped.read(0, &files).unwrap().0.is_empty());
    }
}
