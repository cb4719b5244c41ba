//! Durability: what a run publishes survives a power loss.
//!
//! A rename is atomic, but without `fsync` the renamed directory can come
//! back after a crash holding empty or partial files. So, as SQLite,
//! PostgreSQL and Delta Lake's commit do: every output file's data is
//! synced when it is closed ([`sync_file`]), every directory of the staging
//! tree before the swap ([`sync_tree`]), and the parent directory after it,
//! which makes the rename itself durable ([`sync_dir`]).

use std::fs::File;
use std::io;
use std::path::Path;

/// Syncs a finished file's data (and the size that reads it back).
pub fn sync_file(file: &File) -> io::Result<()> {
    file.sync_data()
}

/// Writes `bytes` to a new file at `path` and syncs it.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    sync_file(&file)
}

/// Syncs a file written by someone else (a library that takes a path).
pub fn sync_path(path: &Path) -> io::Result<()> {
    sync_file(&File::open(path)?)
}

/// Syncs a directory's entries: the names of the files in it.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Syncs every directory under `root`, `root` included.
pub fn sync_tree(root: &Path) -> io::Result<()> {
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        stack.extend(crate::dirs::list(&dir)?.into_iter().filter(|e| e.is_dir).map(|e| e.path));
        sync_dir(&dir)?;
    }
    Ok(())
}
