//! Directories listed and removed with every I/O error reported, never a
//! panic.
//!
//! The standard library's directory handle asserts that closing it
//! succeeds: on a file system that fails a close (a network share, a
//! failing disk), `std::fs::read_dir` and `std::fs::remove_dir_all` panic,
//! and a second failure while unwinding aborts the process. These walk
//! directories with rustix's handle instead, which lets a failed close of a
//! directory that was only read pass; every other error comes back as an
//! `io::Error`. Everything else (files, `lstat`, `rmdir`, `unlink`) is the
//! standard library's.

use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{AtFlags, CWD, Dir, FileType, Mode, OFlags, openat, statat, unlinkat};

/// One entry of a directory. A symbolic link is neither a directory nor a
/// file, whatever it points to ([`visible_files`] follows it).
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: OsString,
    pub path: PathBuf,
    pub is_dir: bool,
    pub is_file: bool,
    pub is_link: bool,
    /// For a file [`visible_files`] reached through a symbolic link (its
    /// own, or a folder's above it): where it really is.
    pub target: Option<PathBuf>,
}

fn open_dir(at: impl AsFd, path: impl rustix::path::Arg) -> io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC | OFlags::NOFOLLOW;
    Ok(openat(at, path, flags, Mode::empty())?)
}

/// The names in an open directory (not `.` and `..`) with their types.
fn names(dir: &OwnedFd) -> io::Result<Vec<(OsString, FileType)>> {
    let mut entries = Vec::new();
    let mut d = Dir::read_from(dir)?;
    while let Some(entry) = d.read() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let kind = match entry.file_type() {
            // Some file systems do not say: ask.
            FileType::Unknown => {
                FileType::from_raw_mode(statat(dir, entry.file_name(), AtFlags::SYMLINK_NOFOLLOW)?.st_mode)
            }
            kind => kind,
        };
        entries.push((std::ffi::OsStr::from_bytes(name).to_owned(), kind));
    }
    Ok(entries)
}

/// The entries of `dir` (a link to a directory is listed as that
/// directory), in no particular order.
pub fn list(dir: &Path) -> io::Result<Vec<Entry>> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = openat(CWD, dir, flags, Mode::empty())?;
    Ok(names(&fd)?
        .into_iter()
        .map(|(name, kind)| Entry {
            path: dir.join(&name),
            name,
            is_dir: kind == FileType::Directory,
            is_file: kind == FileType::RegularFile,
            is_link: kind == FileType::Symlink,
            target: None,
        })
        .collect())
}

/// Every file under `dir`, in its folders too, but none whose name (or
/// whose folder's) starts with `.`: hidden files, and what yearbook keeps
/// beside its outputs. With each its path relative to `dir`,
/// `/`-separated; sorted by it.
pub fn visible_files(dir: &Path) -> io::Result<Vec<(String, Entry)>> {
    use std::os::unix::fs::MetadataExt;
    let mut found = Vec::new();
    // Each directory once, by device and inode: a link back up (a loop)
    // is not walked again.
    let mut seen = std::collections::HashSet::new();
    let root = std::fs::metadata(dir)?;
    seen.insert((root.dev(), root.ino()));
    // (directory, relative path, whether it was reached through a link)
    let mut stack = vec![(dir.to_owned(), PathBuf::new(), false)];
    while let Some((d, rel_dir, linked)) = stack.pop() {
        for mut entry in list(&d)? {
            if entry.name.as_bytes().starts_with(b".") {
                continue;
            }
            let rel = rel_dir.join(&entry.name);
            // A link is what it points to; one that points nowhere is
            // skipped like any entry that is no file.
            let meta = if entry.is_link { std::fs::metadata(&entry.path).ok() } else { None };
            let through = linked || entry.is_link;
            if entry.is_dir || meta.as_ref().is_some_and(|m| m.is_dir()) {
                let m = meta.map_or_else(|| std::fs::metadata(&entry.path), Ok)?;
                if seen.insert((m.dev(), m.ino())) {
                    stack.push((entry.path, rel, through));
                }
            } else if entry.is_file || meta.as_ref().is_some_and(|m| m.is_file()) {
                if through {
                    entry.target = std::fs::canonicalize(&entry.path).ok();
                }
                let rel = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
                found.push((rel, entry));
            }
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// Removes `path` and, for a directory, everything under it (symbolic links
/// are removed, never followed), as `std::fs::remove_dir_all` does.
pub fn remove_tree(path: &Path) -> io::Result<()> {
    if !std::fs::symlink_metadata(path)?.is_dir() {
        return std::fs::remove_file(path);
    }
    empty(&open_dir(CWD, path)?)?;
    std::fs::remove_dir(path)
}

/// Removes everything in an open directory: its subdirectories in
/// parallel (a run's previous outputs are thousands of parts in a few
/// dozen directories, and most of their removal is waiting on the file
/// system).
fn empty(dir: &OwnedFd) -> io::Result<()> {
    use rayon::prelude::*;
    let (subdirs, files): (Vec<_>, Vec<_>) =
        names(dir)?.into_iter().partition(|(_, kind)| *kind == FileType::Directory);
    for (name, _) in files {
        unlinkat(dir, name.as_os_str(), AtFlags::empty())?;
    }
    subdirs.par_iter().try_for_each(|(name, _)| {
        empty(&open_dir(dir, name.as_os_str())?)?;
        Ok(unlinkat(dir, name.as_os_str(), AtFlags::REMOVEDIR)?)
    })
}

/// Makes `to` the same file as `from`: a hard link (an earlier run's
/// output reused costs no copy), or a copy where the file system has no
/// links between the two. Outputs are never written in place, so a link
/// shares bytes that no later run changes.
pub fn link_or_copy(from: &Path, to: &Path) -> io::Result<()> {
    let link = || match std::fs::hard_link(from, to) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => std::fs::copy(from, to).map(|_| ()),
        done => done,
    };
    // The directory is made only when it is missing: thousands of parts
    // share a few directories.
    match link() {
        Err(e) if e.kind() == io::ErrorKind::NotFound && !from.exists() => Err(e),
        Err(e) if e.kind() == io::ErrorKind::NotFound => match to.parent() {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                link()
            }
            None => Err(e),
        },
        done => done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_removes_a_tree_without_following_links() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/f.txt"), "x").unwrap();
        std::fs::write(root.join("g.txt"), "y").unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        std::fs::write(outside.join("keep.txt"), "z").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        let mut listed: Vec<(String, bool, bool)> =
            list(&root).unwrap().into_iter().map(|e| (e.name.into_string().unwrap(), e.is_dir, e.is_file)).collect();
        listed.sort();
        assert_eq!(listed, [("a".into(), true, false), ("g.txt".into(), false, true), ("link".into(), false, false)]);
        std::fs::write(root.join(".hidden"), "h").unwrap();
        // Links followed, each directory once (a link back up is a loop).
        std::os::unix::fs::symlink(&root, root.join("a/up")).unwrap();
        std::os::unix::fs::symlink(outside.join("keep.txt"), root.join("kept.txt")).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("nowhere"), root.join("dangling.txt")).unwrap();
        let files: Vec<(String, Option<PathBuf>)> =
            visible_files(&root).unwrap().into_iter().map(|(rel, e)| (rel, e.target)).collect();
        let keep = Some(outside.join("keep.txt").canonicalize().unwrap());
        assert_eq!(
            files,
            [
                ("a/b/f.txt".into(), None),
                ("g.txt".into(), None),
                ("kept.txt".into(), keep.clone()),
                ("link/keep.txt".into(), keep),
            ]
        );
        remove_tree(&root).unwrap();
        assert!(!root.exists());
        assert!(outside.join("keep.txt").exists(), "a link's target is not removed");
        assert_eq!(remove_tree(&root).unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
