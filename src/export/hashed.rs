//! Output files hashed as they are written, so the manifest's SHA-256 of
//! every output costs no second read of it.

use std::io::Write;
use std::path::PathBuf;

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
