//! The build's identity: a hash of the code that makes yearbook's
//! figures (every file under `src/`, the manifest and the lock file of its
//! dependencies), as `YEARBOOK_BUILD_ID`. The incremental cache carries it
//! in its key, so that a build that changes a rule never reuses what an
//! older build computed (`crate::cache::CacheKey`). The package version
//! cannot serve: it does not move with every change.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    files(&root.join("src"), &mut paths);
    paths.extend(["Cargo.toml", "Cargo.lock", "build.rs"].map(|f| root.join(f)));
    paths.sort();
    let mut h = DefaultHasher::new();
    for path in &paths {
        path.strip_prefix(&root).unwrap_or(path).hash(&mut h);
        std::fs::read(path).unwrap_or_default().hash(&mut h);
    }
    // Two rounds of a 64-bit hash over different seeds: 128 bits.
    let first = h.finish();
    first.hash(&mut h);
    println!("cargo:rustc-env=YEARBOOK_BUILD_ID={first:016x}{:016x}", h.finish());
    for watched in ["src", "Cargo.toml", "Cargo.lock", "build.rs"] {
        println!("cargo:rerun-if-changed={watched}");
    }
}
