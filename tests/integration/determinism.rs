//! The same inputs give byte-identical outputs whatever the order files
//! were written in, the working directory and the number of threads.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{files_under, repo};

/// Every output file but the manifest (which holds times).
fn files(out: &Path) -> Vec<(String, Vec<u8>)> {
    files_under(out).into_iter().filter(|(name, _)| name != "manifest.json").collect()
}

fn run(cwd: &Path, threads: &str, args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_yearbook"))
        .args(args)
        .current_dir(cwd)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn file_order_working_directory_and_threads_do_not_change_a_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    run(&repo(), "1", &["run", "-q", "--out", a.to_str().unwrap()]);

    // The sample copied file by file in reverse order, so the directory
    // lists them differently.
    let copy = tmp.path().join("elsewhere/input");
    let mut sample: Vec<PathBuf> = Vec::new();
    for d in std::fs::read_dir(repo().join("sample_data")).unwrap() {
        let d = d.unwrap().path();
        if d.is_dir() {
            sample.extend(std::fs::read_dir(&d).unwrap().map(|f| f.unwrap().path()));
        }
    }
    sample.sort();
    for f in sample.iter().rev() {
        let rel = f.strip_prefix(repo().join("sample_data")).unwrap();
        std::fs::create_dir_all(copy.join(rel).parent().unwrap()).unwrap();
        std::fs::copy(f, copy.join(rel)).unwrap();
    }
    let cwd = tmp.path().join("elsewhere");
    let pipeline = repo().join("pipelines/nightly.toml");
    let b = tmp.path().join("b");
    let args = ["run", "-q", "--pipeline", pipeline.to_str().unwrap(), "--input", "input", "--out"];
    let mut args: Vec<&str> = args.to_vec();
    args.push(b.to_str().unwrap());
    run(&cwd, "4", &args);

    let (fa, fb) = (files(&a), files(&b));
    assert_eq!(fa.iter().map(|f| &f.0).collect::<Vec<_>>(), fb.iter().map(|f| &f.0).collect::<Vec<_>>());
    for ((path, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(x == y, "{path} differs");
    }
    assert!(fa.len() > 20);
}

#[test]
fn the_manifest_s_times_come_from_the_clock_the_run_is_given() {
    let tmp = tempfile::tempdir().unwrap();
    let p = yearbook::config::Pipeline::load(
        &repo().join("pipelines/nightly.toml"),
        yearbook::config::pipeline::Overrides { out: Some(tmp.path().join("out")), ..Default::default() },
    )
    .unwrap();
    let fixed = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    let m = yearbook::run::run_with(&p, &indicatif::ProgressBar::hidden(), &|| fixed, &|_| {}).unwrap();
    assert_eq!(
        (m.started_at.as_str(), m.finished_at.as_str()),
        ("2023-11-14T22:13:20.000Z", "2023-11-14T22:13:20.000Z")
    );
    assert!(m.run_id.starts_with("20231114T221320Z-"), "{}", m.run_id);
    let written = std::fs::read_to_string(tmp.path().join("out/manifest.json")).unwrap();
    assert!(written.contains("\"started_at\": \"2023-11-14T22:13:20.000Z\""), "{written}");
}
