//! The output directory is replaced whole or not at all: a run writes into
//! a staging directory beside it and swaps it in when every file is
//! complete and synced (see `durable`). A lock file beside it keeps two
//! runs from writing the same output at once; the lock is the kernel's
//! (`flock`), so a run that dies, even by SIGKILL, leaves nothing stuck, and
//! the next run clears the staging directory it left behind.
//!
//! Once the swap is done the run has succeeded: removing the previous
//! outputs is cleanup, whose failure is logged and left to the next run.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use tracing::warn;

use super::{ExportError, durable, io};
use crate::dirs;
use crate::model::OutDir;
use crate::model::file::MANIFEST;

/// A staging directory that becomes the output directory on [`commit`].
/// Dropped without a commit, it is removed and the previous outputs stay.
///
/// [`commit`]: Staging::commit
pub struct Staging {
    pub dir: PathBuf,
    out: PathBuf,
    parent: PathBuf,
    committed: bool,
    /// Held (locked) for the life of the run.
    _lock: File,
}

/// Takes the output directory's lock, or says who holds it.
fn lock(parent: &Path, name: &str, out: &Path) -> Result<File, ExportError> {
    let path = parent.join(format!(".{name}.lock"));
    let mut file =
        File::options().read(true).write(true).create(true).truncate(false).open(&path).map_err(io(&path))?;
    if file.try_lock().is_err() {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let holder = holder.trim();
        let holder = if holder.is_empty() { "another yearbook run".to_owned() } else { holder.to_owned() };
        return Err(ExportError::Refused {
            path: out.to_owned(),
            reason: format!("{holder} is writing it (lock {}); try again when it has finished", path.display()),
        });
    }
    let started = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    let me = format!("yearbook run pid {} started {started}", std::process::id());
    let written = file.set_len(0).and_then(|()| file.rewind()).and_then(|()| file.write_all(me.as_bytes()));
    written.map_err(io(&path))?;
    Ok(file)
}

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
        let name = name.to_string_lossy();
        let lock = lock(&parent, &name, out)?;
        if out.exists() {
            if !out.is_dir() {
                return Err(ExportError::Refused {
                    path: out.to_owned(),
                    reason: "exists and is not a directory".into(),
                });
            }
            // Never replace a directory yearbook did not write.
            let empty = dirs::list(out).map_err(io(out))?.is_empty();
            if !empty && !out.join(MANIFEST).is_file() {
                let reason = format!(
                    "is not empty and holds no {MANIFEST}: refusing to replace a directory yearbook did not write"
                );
                return Err(ExportError::Refused { path: out.to_owned(), reason });
            }
        }
        // Holding the lock, no other run is writing: a staging directory
        // beside the output is what a killed run left.
        // (the previous outputs a run swapped out, too, where their removal
        // failed). One that cannot be removed is in no one's way: this run's
        // has another name.
        let prefix = format!(".{name}.staging-");
        for entry in dirs::list(&parent).map_err(io(&parent))? {
            if entry.name.to_string_lossy().starts_with(&prefix) {
                let stale = entry.path;
                if let Err(e) = dirs::remove_tree(&stale) {
                    warn!(path = %stale.display(), "cannot remove what an earlier run left: {e}");
                }
            }
        }
        let dir = parent.join(format!("{prefix}{}", std::process::id()));
        std::fs::create_dir(&dir).map_err(io(&dir))?;
        Ok(Staging { dir, out: out.to_owned(), parent, committed: false, _lock: lock })
    }

    /// The paths of the outputs being written.
    pub fn paths(&self) -> OutDir {
        OutDir::new(&self.dir)
    }

    /// Syncs the staging directory and puts it in the output directory's
    /// place. An error before the swap leaves the previous outputs; after it,
    /// nothing is an error (see the module's doc).
    pub fn commit(mut self) -> Result<(), ExportError> {
        durable::sync_tree(&self.dir).map_err(io(&self.dir))?;
        let previous = if self.out.exists() {
            Some(self.swap()?)
        } else {
            std::fs::rename(&self.dir, &self.out).map_err(io(&self.out))?;
            None
        };
        self.committed = true;
        if let Err(e) = durable::sync_dir(&self.parent) {
            warn!(path = %self.parent.display(), "outputs published, but the directory could not be synced: {e}");
        }
        if let Some(old) = previous
            && let Err(e) = dirs::remove_tree(&old)
        {
            warn!(path = %old.display(), "outputs published; the previous ones could not be removed ({e}): the next run removes them");
        }
        Ok(())
    }

    /// Keeps the outputs at `at` (replacing what an earlier held run left
    /// there) instead of publishing them: the output directory stays as
    /// it was.
    pub fn hold(mut self, at: &Path) -> Result<(), ExportError> {
        durable::sync_tree(&self.dir).map_err(io(&self.dir))?;
        if std::fs::symlink_metadata(at).is_ok() {
            dirs::remove_tree(at).map_err(io(at))?;
        }
        std::fs::rename(&self.dir, at).map_err(io(at))?;
        self.committed = true;
        durable::sync_dir(&self.parent).map_err(io(&self.parent))
    }

    /// Puts the staging directory in the output directory's place, which
    /// exists; returns where the previous outputs are now. Atomic where the
    /// file system can exchange two names, so there is no moment without
    /// outputs; else two renames, and the previous outputs put back if the
    /// second fails.
    fn swap(&self) -> Result<PathBuf, ExportError> {
        if exchange(&self.dir, &self.out).is_ok() {
            return Ok(self.dir.clone());
        }
        let mut name = self.dir.file_name().expect("the staging directory has a name").to_owned();
        name.push("-old");
        let old = self.parent.join(name);
        std::fs::rename(&self.out, &old).map_err(io(&self.out))?;
        if let Err(e) = std::fs::rename(&self.dir, &self.out) {
            return Err(match std::fs::rename(&old, &self.out) {
                Ok(()) => io(&self.out)(e),
                Err(_) => ExportError::Refused {
                    path: self.out.clone(),
                    reason: format!("{e}; the previous outputs are in {}", old.display()),
                },
            });
        }
        Ok(old)
    }
}

/// Exchanges two paths atomically (`renameat2` with `RENAME_EXCHANGE`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other);
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both paths are NUL-terminated strings that outlive the call;
    // renameat2 reads them and touches no other memory.
    let r = unsafe { libc::renameat2(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), libc::RENAME_EXCHANGE) };
    if r == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = dirs::remove_tree(&self.dir);
        }
    }
}
