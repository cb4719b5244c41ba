//! Output files hashed as they are written, so the manifest's SHA-256 of
//! every output costs no second read of it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// A writer that hashes and counts what passes through it.
pub struct Hashed<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W> Hashed<W> {
    pub fn new(inner: W) -> Self {
        Hashed { inner, hasher: Sha256::new(), bytes: 0 }
    }

    /// The inner writer, the SHA-256 (hex) and the size of what was written.
    pub fn finish(self) -> (W, String, u64) {
        (self.inner, crate::ingest::hex(&self.hasher.finalize()), self.bytes)
    }
}

impl<W: Write> Write for Hashed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// One output file, written: where, how many data rows, its hash and size.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Written {
    pub path: PathBuf,
    pub rows: u64,
    pub sha256: String,
    pub bytes: u64,
}

/// Links `from`, an earlier run's output recorded as `bytes` long with
/// `sha256`, to `to` (see `crate::dirs::link_or_copy`) when it still is
/// that file: its size always checked, its SHA-256 when it was modified
/// after `recorded` (when the record that lists it was written; a part
/// hard-linked from run to run keeps its time) or no time is known. One
/// that was replaced or damaged is an error (`InvalidData`): what it held
/// is then computed again, never published under the old hash.
pub fn link_verified(
    from: &Path,
    to: &Path,
    (bytes, sha256): (u64, &str),
    recorded: Option<SystemTime>,
) -> std::io::Result<()> {
    let meta = std::fs::metadata(from)?;
    let invalid = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    if meta.len() != bytes {
        return Err(invalid(format!("{} is {} bytes, recorded as {bytes}", from.display(), meta.len())));
    }
    let unchanged = matches!((meta.modified(), recorded), (Ok(m), Some(r)) if m <= r);
    if !unchanged {
        let mut hashed = Hashed::new(std::io::sink());
        std::io::copy(&mut std::fs::File::open(from)?, &mut hashed)?;
        let (_, now, _) = hashed.finish();
        if now != sha256 {
            return Err(invalid(format!("{} changed since it was written (SHA-256 {now})", from.display())));
        }
    }
    crate::dirs::link_or_copy(from, to)
}
