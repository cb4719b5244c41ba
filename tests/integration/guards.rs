//! A bad night does not publish itself: the pipeline's `[guards]` hold a
//! run with too few files, or one that would withdraw or revise too many
//! of the published figures; the previous outputs stay, the run's own are
//! kept in `<out>.held`, the exit code is 3; `--accept` publishes.

use std::path::Path;

use crate::util::{copy_tree, repo, yearbook};

fn run(input: &Path, out: &Path, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut args = vec!["run", "--json", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = yearbook(&args);
    let json =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code(), json)
}

fn guards(json: &serde_json::Value) -> Vec<String> {
    json["held"]["tripped"]
        .as_array()
        .map_or_else(Vec::new, |t| t.iter().map(|t| t["guard"].as_str().unwrap().to_owned()).collect())
}

#[test]
fn an_empty_inbox_is_held_and_published_only_when_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, out) = (tmp.path().join("in"), tmp.path().join("out"));
    std::fs::create_dir(&input).unwrap();
    let (code, json) = run(&input, &out, &[]);
    assert_eq!((code, json["status"].as_str()), (Some(3), Some("held")));
    assert_eq!(guards(&json), ["min_files"]);
    assert!(!out.exists(), "nothing published");
    assert!(tmp.path().join("out.held/manifest.json").exists(), "the held run's outputs kept beside");
    let (code, json) = run(&input, &out, &["--accept"]);
    assert_eq!((code, json["status"].as_str()), (Some(0), Some("ok")));
    assert!(out.join("manifest.json").exists());
    assert!(!tmp.path().join("out.held").exists(), "a published run removes the stale held outputs");
}

#[test]
fn a_night_that_withdraws_a_tenth_of_the_figures_is_held_the_previous_outputs_stay() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, out) = (tmp.path().join("in"), tmp.path().join("out"));
    copy_tree(&repo().join("sample_data"), &input);
    let (code, first) = run(&input, &out, &[]);
    assert_eq!(code, Some(1), "{first}");
    let before = std::fs::read(out.join("manifest.json")).unwrap();
    // The file of 2016–2018 for the districts gone: its figures would be
    // withdrawn.
    std::fs::remove_file(input.join("imports/districts-2016-2018.csv")).unwrap();
    let (code, json) = run(&input, &out, &[]);
    assert_eq!((code, json["status"].as_str()), (Some(3), Some("held")), "{json}");
    assert_eq!(guards(&json), ["max_withdrawn_pct"]);
    let detail = json["held"]["tripped"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("published values would be withdrawn; at most 5 %"), "{detail}");
    assert_eq!(std::fs::read(out.join("manifest.json")).unwrap(), before, "the previous outputs stay");
    // What would have changed is in the held run's outputs.
    let held: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("out.held/manifest.json")).unwrap()).unwrap();
    assert!(held["changes"]["withdrawn"].as_u64().unwrap() > 0, "{}", held["changes"]);
    let (code, json) = run(&input, &out, &["--accept"]);
    assert_eq!((code, json["held"].is_null()), (Some(1), true), "{json}");
    assert_ne!(std::fs::read(out.join("manifest.json")).unwrap(), before, "published");
}
