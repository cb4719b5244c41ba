//! The output directory is replaced whole or not at all: a run writes into
//! a staging directory beside it and swaps it in when every file is
//! complete. A lock file beside it keeps two runs from writing the same
//! output at once; the lock is the kernel's (`flock`), so a run that dies,
//! even by SIGKILL, leaves nothing stuck, and the next run clears the
//! staging directory it left behind.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};

use super::{ExportError, MANIFEST, io};

/// A staging directory that becomes the output directory on [`commit`].
/// Dropped without a commit, it is removed and the previous outputs stay.
///
/// [`commit`]: Staging::commit
pub struct Staging {
    pub dir: PathBuf,
    out: PathBuf,
    committed: bool,
    /// Held (locked) for the life of the run.
    _lock: File,
}

/// Takes the output directory's lock, or says who holds it.
fn lock(parent: &Path, name: &str, out: &Path) -> Result<File, ExportError> {
    let path = parent.join(format!(".{name}.lock"));
    let mut file =
        File::options().read(true).write(true).create(true).truncate(false).open(&path).map_err(io(&path))?;
    if flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
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
            let empty = std::fs::read_dir(out).map_err(io(out))?.next().is_none();
            if !empty && !out.join(MANIFEST).is_file() {
                let reason = format!(
                    "is not empty and holds no {MANIFEST}: refusing to replace a directory yearbook did not write"
                );
                return Err(ExportError::Refused { path: out.to_owned(), reason });
            }
        }
        // Holding the lock, no other run is writing: a staging directory
        // beside the output is what a killed run left.
        let prefix = format!(".{name}.staging-");
        for entry in std::fs::read_dir(&parent).map_err(io(&parent))?.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let stale = entry.path();
                std::fs::remove_dir_all(&stale).map_err(io(&stale))?;
            }
        }
        let dir = parent.join(format!("{prefix}{}", std::process::id()));
        std::fs::create_dir(&dir).map_err(io(&dir))?;
        Ok(Staging { dir, out: out.to_owned(), committed: false, _lock: lock })
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
