//! Running yearbook from a scheduler: `run --json`, files refused whole
//! named on stderr, exit codes a scheduler can tell apart, no colour codes
//! where no terminal reads them, `init` and what `run` says outside a
//! project.

use std::process::{Command, Output};

use crate::util::{EN_HEADER, Scratch, repo, yearbook};

fn in_dir(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yearbook")).args(args).current_dir(dir).output().expect("yearbook runs")
}

#[test]
fn run_json_is_one_object_and_a_refused_file_is_named_on_stderr() {
    let good = format!("{EN_HEADER}TJ-HRSS,2021,EMP-URBAN-NEW,城镇新增就业,37.62,万人,35,107.5,1.43,\n");
    let bad = [EN_HEADER.as_bytes(), b"TJ-HRSS,2022,EMP-URBAN-NEW,\xFF,1,\xE4\xBA,,,,\n"].concat();
    let s = Scratch::new(&[("a.csv", good.as_bytes()), ("b.csv", &bad)]);
    let (i, o) = (s.input(), s.out());
    let out = yearbook(&["run", "--json", "--input", i.to_str().unwrap(), "--out", o.to_str().unwrap()]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one line of JSON: {stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["status"], "quarantined");
    assert_eq!(v["exit_code"], 1);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["counts"]["files"], 2);
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.iter().map(|f| f["path"].as_str().unwrap()).collect::<Vec<_>>(), ["a.csv", "b.csv"]);
    assert_eq!(files[0]["accepted"], 1);
    assert_eq!(v["refused"][0]["path"], "b.csv");
    assert!(v["refused"][0]["reason"].as_str().unwrap().contains("encoding"), "{}", v["refused"]);
    assert!(v["outputs"].as_array().unwrap().iter().any(|f| f["path"] == "report.html"));
    assert!(v["durations_ms"]["ingest_normalize"].is_number());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("refused whole: b.csv"), "{stderr}");
    assert!(!stderr.contains("a.csv"), "{stderr}");
}

#[test]
fn usage_errors_and_fatal_errors_exit_differently_and_json_says_which() {
    let usage = yearbook(&["run", "--no-such-flag"]);
    assert_eq!(usage.status.code(), Some(64));
    assert!(yearbook(&["--help"]).status.success());

    let tmp = tempfile::tempdir().unwrap();
    let outside = in_dir(tmp.path(), &["run"]);
    assert_eq!(outside.status.code(), Some(2));
    let err = String::from_utf8(outside.stderr).unwrap();
    assert!(err.contains("--pipeline FILE") && err.contains("yearbook init DIR"), "{err}");

    let json = in_dir(tmp.path(), &["run", "--json"]);
    assert_eq!(json.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!((v["status"].as_str(), v["exit_code"].as_u64()), (Some("failed"), Some(2)));
    assert!(v["error"].as_str().unwrap().contains("no pipeline file"));
}

#[test]
fn no_colour_codes_when_stderr_is_not_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = yearbook(&["run", "-v", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!o.stderr.is_empty(), "-v logs the stages");
    assert!(!o.stderr.contains(&0x1b), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn init_lays_out_a_project_that_runs_where_it_is() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("stats");
    let o = yearbook(&["init", dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in [
        "pipelines/nightly.toml",
        "schemas/catalog.csv",
        "schemas/agencies.csv",
        "schemas/units.toml",
        "schemas/layouts.toml",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    assert!(dir.join("inbox").is_dir());
    // The schemas are the bundled ones, to edit.
    assert_eq!(
        std::fs::read(dir.join("schemas/catalog.csv")).unwrap(),
        std::fs::read(repo().join("schemas/catalog.csv")).unwrap()
    );
    // An empty inbox is held (the guards' minimum of files), not
    // published; one with a submission runs.
    assert_eq!(in_dir(&dir, &["run", "-q"]).status.code(), Some(3));
    assert!(!dir.join("out").exists());
    std::fs::copy(repo().join("sample_data/city/TJ-HRSS-2021.csv"), dir.join("inbox/TJ-HRSS-2021.csv")).unwrap();
    let run = in_dir(&dir, &["run", "-q"]);
    assert_eq!(run.status.code(), Some(1), "{}", String::from_utf8_lossy(&run.stderr));
    let seed = std::fs::read_to_string(dir.join("out/summary/2021/indicators.csv")).unwrap();
    assert!(seed.lines().any(|l| l.contains("TJ-HRSS,") && l.contains(",107.5,")), "{seed}");
    // A second init does not write over a project.
    let again = yearbook(&["init", dir.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
}

/// `-vv` says each file read and each bucket computed, `-vvv` (or
/// `YEARBOOK_LOG=yearbook=trace`) each file taken from the cache, beyond
/// what `-v` says.
#[test]
fn each_verbosity_says_more_than_the_one_before() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = out.to_str().unwrap();
    let stderr = |args: &[&str]| String::from_utf8_lossy(&crate::util::yearbook(args).stderr).into_owned();
    let v = stderr(&["run", "-v", "--full", "--out", o]);
    assert!(v.contains("stage done") && !v.contains("file read"), "{v}");
    let vv = stderr(&["run", "-vv", "--full", "--out", o]);
    assert!(vv.contains("file read") && vv.contains("file=city/TJ-HRSS-2021.csv"), "{vv}");
    assert!(vv.contains("bucket computed") && !vv.contains("taken from the cache"), "{vv}");
    let vvv = stderr(&["run", "-vvv", "--out", o]);
    assert!(vvv.contains("file taken from the cache") && vvv.contains("finish"), "{vvv}");
}
