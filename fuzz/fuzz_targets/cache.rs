//! A damaged cache never changes what a run publishes: the bundled sample
//! is run once into an output with its cache; each input then damages one
//! file of a copy of that cache (bytes flipped, cut short, or replaced
//! whole by the input) and runs again, nothing changed or one file
//! corrected, and the published outputs must be byte for byte what a full
//! run (`--full`) from the same previous output writes: the damage found
//! and the run made in full, or the cache rebuilt.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use indicatif::ProgressBar;
use libfuzzer_sys::fuzz_target;
use yearbook::config::Pipeline;
use yearbook::config::pipeline::Overrides;

/// What every input starts from.
struct Setup {
    /// The bundled pipeline, copied with its schemas at the start: the
    /// checkout may change while the target runs (a run refuses inputs
    /// that change under it).
    pipeline: PathBuf,
    /// The two inboxes: as the sample is, and with one figure corrected.
    inputs: [PathBuf; 2],
    /// The first run's output, with its cache: never written again.
    previous: PathBuf,
    /// Its cache's files, relative to it.
    cache_files: Vec<PathBuf>,
    /// What a full run from `previous` publishes, for each inbox.
    full: [Vec<(String, Vec<u8>)>; 2],
    /// Where each input's run goes.
    work: PathBuf,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("scratch directory");
    for e in std::fs::read_dir(from).expect("readable") {
        let e = e.expect("readable");
        if e.file_type().expect("readable").is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copied");
        }
    }
}

/// Every file under `dir` but the cache and the manifest (which holds
/// the run's times and work), with its bytes.
fn published(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable") {
            let p = e.expect("readable").path();
            if p == dir.join(".cache") || p == dir.join("manifest.json") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).expect("under dir").display().to_string();
                out.push((rel, std::fs::read(&p).expect("readable")));
            }
        }
    }
    out.sort();
    out
}

/// A run of the `pipeline` on `input` into `out`, published whatever the
/// guards say, its clock fixed.
fn run(pipeline: &Path, input: &Path, out: &Path, full: bool) {
    let overrides = Overrides { submissions: Some(input.to_owned()), out: Some(out.to_owned()), ..Overrides::default() };
    let mut p: Pipeline = Pipeline::load(pipeline, overrides).expect("the bundled pipeline loads");
    p.output.incremental = !full;
    p.guards.accept = true;
    let clock = || SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    yearbook::run::run_with(&p, &ProgressBar::hidden(), &clock, &|_| {}).expect("a damaged cache never fails a run");
}

fn setup() -> &'static Setup {
    static S: OnceLock<Setup> = OnceLock::new();
    S.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("yearbook-fuzz-cache-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        copy_tree(&repo().join("pipelines"), &root.join("pipelines"));
        copy_tree(&repo().join("schemas"), &root.join("schemas"));
        let pipeline = root.join("pipelines/nightly.toml");
        let inputs = [root.join("in-same"), root.join("in-corrected")];
        copy_tree(&repo().join("sample_data"), &inputs[0]);
        copy_tree(&repo().join("sample_data"), &inputs[1]);
        let hrss = inputs[1].join("city/TJ-HRSS-2021.csv");
        let text = std::fs::read_to_string(&hrss).expect("the sample's bureau file");
        std::fs::write(&hrss, text.replace(",37.62,万人,35,", ",37.70,万人,35,")).expect("written");
        let previous = root.join("previous");
        run(&pipeline, &inputs[0], &previous, true);
        let mut cache_files = Vec::new();
        let mut stack = vec![previous.join(".cache")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(d).expect("readable") {
                let p = e.expect("readable").path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    cache_files.push(p.strip_prefix(&previous).expect("under it").to_owned());
                }
            }
        }
        cache_files.sort();
        let full = [0, 1].map(|k| {
            let out = root.join(format!("full-{k}"));
            copy_tree(&previous, &out);
            run(&pipeline, &inputs[k], &out, true);
            published(&out)
        });
        Setup { pipeline, inputs, previous, cache_files, full, work: root.join("work") }
    })
}

fuzz_target!(|data: &[u8]| {
    let s = setup();
    let [scenario, file, how, rest @ ..] = data else { return };
    let k = usize::from(scenario & 1);
    let _ = std::fs::remove_dir_all(&s.work);
    copy_tree(&s.previous, &s.work);
    let path = s.work.join(&s.cache_files[usize::from(*file) % s.cache_files.len()]);
    let mut bytes = std::fs::read(&path).expect("a cache file");
    match how % 3 {
        // Bytes flipped: each three of the input an offset and a mask.
        0 => {
            for flip in rest.chunks_exact(3) {
                if !bytes.is_empty() {
                    let at = usize::from(u16::from_le_bytes([flip[0], flip[1]])) % bytes.len();
                    bytes[at] ^= flip[2].max(1);
                }
            }
        }
        // Cut short.
        1 => {
            let at = rest.first().map_or(0, |&b| usize::from(b) * bytes.len() / 256);
            bytes.truncate(at);
        }
        // Replaced whole.
        _ => bytes = rest.to_vec(),
    }
    std::fs::write(&path, &bytes).expect("written");
    run(&s.pipeline, &s.inputs[k], &s.work, false);
    let got = published(&s.work);
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&got), names(&s.full[k]));
    for ((name, a), (_, b)) in got.iter().zip(&s.full[k]) {
        assert!(a == b, "{name} differs from a full run's");
    }
});
