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
//! The encoding is private to one run: fixed-width fields and
//! length-prefixed strings, written by many threads in chunks and read
//! back in the order they landed, which depends on thread scheduling:
//! `crate::bucket` sorts them (`crate::supersede::sort`) before anything
//! else.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Write};
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

    /// Appends observations (one file's, from any thread).
    pub fn write(&self, observations: &[Observation]) -> Result<(), SpillError> {
        let mut chunks: Vec<Vec<u8>> = vec![Vec::new(); self.files.len()];
        for o in observations {
            let b = self.bucket_of(o.key.agency);
            encode(o, &mut chunks[b]);
            if chunks[b].len() >= CHUNK {
                self.flush(b, &mut chunks[b])?;
            }
        }
        for (b, chunk) in chunks.iter_mut().enumerate() {
            self.flush(b, chunk)?;
        }
        Ok(())
    }

    fn flush(&self, bucket: usize, chunk: &mut Vec<u8>) -> Result<(), SpillError> {
        if chunk.is_empty() {
            return Ok(());
        }
        let mut file = self.files[bucket].lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(chunk).map_err(|source| SpillError { path: self.path(bucket), source })?;
        chunk.clear();
        Ok(())
    }

    /// The observations of one bucket, in no particular order.
    pub fn read(&self, bucket: usize) -> Result<Vec<Observation>, SpillError> {
        let path = self.path(bucket);
        let err = |source| SpillError { path: path.clone(), source };
        let mut bytes = Vec::new();
        let file = File::open(&path).map_err(err)?;
        BufReader::new(file).read_to_end(&mut bytes).map_err(err)?;
        let mut out = Vec::new();
        let mut rest = bytes.as_slice();
        while !rest.is_empty() {
            out.push(decode(&mut rest).ok_or_else(|| err(std::io::ErrorKind::InvalidData.into()))?);
        }
        Ok(out)
    }

    /// Removes the bucket files.
    pub fn remove(self) -> Result<(), SpillError> {
        drop(self.files);
        crate::dirs::remove_tree(&self.dir).map_err(|source| SpillError { path: self.dir.clone(), source })
    }
}

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

fn encode(o: &Observation, buf: &mut Vec<u8>) {
    buf.extend_from_slice(&o.key.agency.0.to_le_bytes());
    buf.extend_from_slice(&o.key.indicator.0.to_le_bytes());
    buf.extend_from_slice(&o.key.year.to_le_bytes());
    put_dec(buf, o.value);
    put_dec(buf, o.target);
    put_dec(buf, o.claimed_completion);
    put_dec(buf, o.claimed_growth);
    buf.extend_from_slice(&o.power.to_le_bytes());
    buf.extend_from_slice(&o.origin.file.0.to_le_bytes());
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

fn decode(rest: &mut &[u8]) -> Option<Observation> {
    let agency = AgencyId(u32::from_le_bytes(get(rest)?));
    let indicator = IndicatorId(u32::from_le_bytes(get(rest)?));
    let year = i32::from_le_bytes(get(rest)?);
    let value = get_dec(rest)?;
    let target = get_dec(rest)?;
    let claimed_completion = get_dec(rest)?;
    let claimed_growth = get_dec(rest)?;
    let power = u32::from_le_bytes(get(rest)?);
    let file = FileId(u32::from_le_bytes(get(rest)?));
    let line = u64::from_le_bytes(get(rest)?);
    let byte = u64::from_le_bytes(get(rest)?);
    let column = u32::from_le_bytes(get(rest)?);
    Some(Observation {
        key: Key { agency, indicator, year },
        value,
        target,
        claimed_completion,
        claimed_growth,
        power,
        origin: Origin { file, line, byte, column },
        unit: get_str(rest)?,
        value_raw: get_str(rest)?,
        target_raw: get_opt_str(rest)?,
        note: get_opt_str(rest)?,
    })
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
        let spill = Spill::create(dir.path(), 2, 4).unwrap();
        let written = [obs(3, 2021, Some("备注")), obs(0, 2022, None), obs(0, 2021, None)];
        spill.write(&written).unwrap();
        assert_eq!(spill.read(0).unwrap(), [written[1].clone(), written[2].clone()]);
        assert_eq!(spill.read(1).unwrap(), [written[0].clone()]);
        spill.remove().unwrap();
        assert!(!dir.path().exists() || std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }
}
