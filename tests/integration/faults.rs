//! A night that goes wrong: killed runs, read-only or full disks, two runs
//! at once, inputs changed under the run. The output directory always
//! holds one whole run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::util::{Scratch, files_under, repo, yearbook};

const AGENCIES: [&str; 8] =
    ["TJ-HRSS", "TJ-JUS", "TJ-MZ", "TJ-D01-HRSS", "TJ-D01-JUS", "TJ-D02-HRSS", "TJ-D13-HRSS", "TJ-D13-HRSS"];
const INDICATORS: [(&str, &str); 4] =
    [("DISPUTE-ACCEPTED", "件"), ("DISPUTE-CLOSED", "件"), ("EMP-URBAN-NEW", "人"), ("INFO-DISCLOSED", "条")];

/// A night's input big enough to take a while: one file per agency and
/// indicator, one row per year.
fn big_input(dir: &Path) {
    input_of_years(dir, 2000..2045);
}

/// One file per agency and indicator, one row for each of `years`.
fn input_of_years(dir: &Path, years: std::ops::Range<i32>) {
    std::fs::create_dir_all(dir).unwrap();
    for (a, agency) in AGENCIES.iter().enumerate().take(7) {
        for (i, (indicator, unit)) in INDICATORS.iter().enumerate() {
            let mut text = String::from(
                "agency,year,indicator,indicator_name,value,unit,target,claimed_completion,claimed_growth,note\n",
            );
            for year in years.clone() {
                // Disputes closed a little under those accepted, as the
                // bundled review rule R11 wants.
                let i = if *indicator == "DISPUTE-CLOSED" { 0 } else { i };
                let v = 1000 + (a * 7919 + i * 104_729 + year as usize * 31) % 5000
                    - usize::from(*indicator == "DISPUTE-CLOSED") * 17;
                text.push_str(&format!("{agency},{year},{indicator},,{v},{unit},{},,,\n", v - 17));
            }
            std::fs::write(dir.join(format!("{agency}-{indicator}.csv")), text).unwrap();
        }
    }
}

fn run_args<'a>(input: &'a str, out: &'a str) -> Vec<&'a str> {
    vec!["run", "-q", "--input", input, "--out", out]
}

/// `yearbook audit` on `out`: every hash and value matches.
fn whole(out: &Path) -> bool {
    let o = yearbook(&["audit", "--out", out.to_str().unwrap()]);
    o.status.code() == Some(0)
}

/// Every file the manifest lists has its hash, and nothing else is there:
/// what `yearbook audit` checks first, without the recomputation.
fn hashes_match(out: &Path) -> bool {
    let Ok(text) = std::fs::read(out.join("manifest.json")) else { return false };
    let m: serde_json::Value = serde_json::from_slice(&text).unwrap();
    let listed = m["outputs"].as_array().unwrap();
    let on_disk = files_under(out);
    on_disk.len() == listed.len() + 1
        && listed.iter().all(|f| {
            let path = f["path"].as_str().unwrap();
            on_disk.iter().any(|(p, bytes)| p == path && yearbook::ingest::sha256_hex(bytes) == f["sha256"])
        })
}

fn run_id(out: &Path) -> String {
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    m["run_id"].as_str().unwrap().to_owned()
}

#[test]
fn a_run_killed_at_any_moment_leaves_the_previous_outputs_or_the_new_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, out) = (tmp.path().join("in"), tmp.path().join("out"));
    big_input(&input);
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    assert_eq!(yearbook(&run_args(i, o)).status.code(), Some(0));
    let mut ids = vec![run_id(&out)];
    let (mut killed, mut finished) = (0, 0);
    // Full runs, killed at moments spread over all of their stages (a
    // run that finds nothing changed is over in a moment).
    for delay_ms in [5, 60, 250, 600, 1100, 2000] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_yearbook"))
            .args(run_args(i, o))
            .arg("--full")
            .current_dir(repo())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        match child.try_wait().unwrap() {
            Some(_) => finished += 1,
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                killed += 1;
            }
        }
        assert!(hashes_match(&out), "after a kill at {delay_ms} ms the outputs are not one whole run");
        let id = run_id(&out);
        assert!(!ids.contains(&id) || ids.last() == Some(&id), "an older run came back");
        ids.push(id);
        let leftovers: Vec<PathBuf> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).collect();
        assert!(leftovers.iter().all(|p| !p.to_string_lossy().contains("staging")), "{leftovers:?}");
    }
    assert!(killed >= 3, "only {killed} runs were killed mid-way ({finished} finished first)");
    // What the kills left is a run `audit` finds whole, figure by figure.
    assert!(whole(&out));
    // The next run clears what the killed ones left beside the output.
    assert_eq!(yearbook(&run_args(i, o)).status.code(), Some(0));
    let beside: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("staging"))
        .collect();
    assert!(beside.is_empty(), "{beside:?}");
}

#[test]
fn a_second_run_on_the_same_output_refuses_and_names_the_first() {
    let s = Scratch::new(&[]);
    big_input(&s.input());
    let lock_path = s.dir.path().join(".out.lock");
    let lock = std::fs::File::create(&lock_path).unwrap();
    lock.try_lock().unwrap();
    std::fs::write(&lock_path, "yearbook run pid 4242 started 2026-11-27T01:00:00Z").unwrap();
    let o = s.run();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("yearbook run pid 4242 started 2026-11-27T01:00:00Z is writing it"), "{err}");
    assert!(!s.out().exists(), "the refused run wrote nothing");
    // A run that died leaves its lock file but not its lock.
    drop(lock);
    let o = s.run();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn two_runs_started_together_one_refuses_or_waits_never_a_mix() {
    let s = Scratch::new(&[]);
    big_input(&s.input());
    let (i, o) = (s.input(), s.out());
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_yearbook"))
            .args(run_args(i.to_str().unwrap(), o.to_str().unwrap()))
            .current_dir(repo())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let codes = [a.status.code(), b.status.code()];
    assert!(codes.contains(&Some(0)), "{codes:?}");
    for r in [&a, &b] {
        if r.status.code() == Some(2) {
            assert!(String::from_utf8_lossy(&r.stderr).contains("is writing it"));
        }
    }
    // One whole run: every file the manifest lists, with its hash.
    assert!(hashes_match(&o));
}

/// Mounts a tmpfs of `size` at `dir`; `None` (and a message) where this
/// process may not mount.
fn tmpfs(dir: &Path, size: &str) -> Option<Mounted> {
    std::fs::create_dir_all(dir).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
    }
    ok.then(|| Mounted(dir.to_owned()))
}

struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_read_only_output_file_system_exits_2_and_keeps_the_previous_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = tmp.path().join("disk");
    let Some(_m) = tmpfs(&disk, "8m") else { return };
    let out = disk.join("out");
    let o = out.to_str().unwrap();
    assert_eq!(yearbook(&["run", "-q", "--out", o]).status.code(), Some(1));
    let before = files_under(&out);
    let remount = Command::new("mount").args(["-o", "remount,ro"]).arg(&disk).status().unwrap();
    assert!(remount.success());
    let r = yearbook(&["run", "-q", "--out", o]);
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("Read-only file system"), "{err}");
    assert_eq!(files_under(&out), before);
}

#[test]
fn a_full_disk_exits_2_and_keeps_the_previous_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    // Room for one run's outputs but not for two (tmpfs counts whole pages).
    let probe = tmp.path().join("probe");
    assert_eq!(yearbook(&["run", "-q", "--out", probe.to_str().unwrap()]).status.code(), Some(1));
    let one: usize = files_under(&probe).iter().map(|(_, bytes)| bytes.len().div_ceil(4096) * 4096).sum();
    let disk = tmp.path().join("disk");
    let Some(_m) = tmpfs(&disk, &format!("{}k", one * 3 / 2 / 1024)) else { return };
    let out = disk.join("out");
    let o = out.to_str().unwrap();
    assert_eq!(yearbook(&["run", "-q", "--out", o]).status.code(), Some(1));
    let before = files_under(&out);
    // A full run writes every output again (an incremental one would link
    // them, and fit).
    let r = yearbook(&["run", "-q", "--full", "--out", o]);
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(files_under(&out), before);
    let beside: Vec<_> = std::fs::read_dir(&disk).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(beside.iter().all(|n| !n.to_string_lossy().contains("staging")), "{beside:?}");
}

#[test]
fn an_input_changed_during_the_run_is_refused() {
    let s = Scratch::new(&[]);
    // Run in this process, unoptimized: a few years are enough.
    input_of_years(&s.input(), 2000..2010);
    let victim = s.input().join("TJ-MZ-EMP-URBAN-NEW.csv");
    let mut p = yearbook::config::Pipeline::load(
        &repo().join("pipelines/nightly.toml"),
        yearbook::config::pipeline::Overrides {
            submissions: Some(s.input()),
            out: Some(s.out()),
            ..Default::default()
        },
    )
    .unwrap();
    p.output.workbook_max_rows = 0;
    let bar = indicatif::ProgressBar::hidden();
    // After every file was read, an agency overwrites one.
    let edit = |stage: &str| {
        if stage == "ingest_normalize" {
            let text = std::fs::read_to_string(&victim).unwrap().replacen("2000", "2001", 1);
            std::fs::write(&victim, text).unwrap();
        }
    };
    let err = yearbook::run::run_with(&p, &bar, &std::time::SystemTime::now, &edit).unwrap_err().to_string();
    assert!(err.contains("TJ-MZ-EMP-URBAN-NEW.csv: the file changed while the run read it"), "{err}");
    assert!(!s.out().exists(), "nothing was published");
    // Unchanged inputs publish.
    yearbook::run::run(&p, &bar).unwrap();
    assert!(s.out().join("manifest.json").is_file());
}

/// The fault-injecting file system (`faultfs.c`), built for this test run.
fn faultfs(dir: &Path) -> PathBuf {
    let lib = dir.join("libfaultfs.so");
    let src = repo().join("tests/integration/faultfs.c");
    let built = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&lib)
        .arg(&src)
        .arg("-ldl")
        .status()
        .expect("a C compiler (`cc`) builds the fault-injecting file system");
    assert!(built.success(), "cc failed on {}", src.display());
    lib
}

/// `yearbook run` with the n-th call of `op` under `fault_dir` failing
/// (`None`: counting calls into `counts`).
fn run_faulty(lib: &Path, fault_dir: &Path, fault: Option<(&str, u64)>, counts: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_yearbook"));
    cmd.args(args).current_dir(repo()).env("LD_PRELOAD", lib).env("FAULTFS_DIR", fault_dir);
    match fault {
        Some((op, n)) => cmd.env("FAULTFS_FAIL", format!("{op}:{n}")),
        None => cmd.env("FAULTFS_COUNT", counts),
    };
    cmd.output().unwrap()
}

#[test]
fn an_io_error_at_any_write_close_sync_rename_or_removal_never_panics_or_breaks_the_outputs() {
    let s = Scratch::new(&[]);
    let input = s.input();
    std::fs::write(
        input.join("a.csv"),
        "agency,year,indicator,value,unit,target\nTJ-HRSS,2021,INFO-DISCLOSED,217,条,200\n\
         TJ-HRSS,2022,INFO-DISCLOSED,230,条,\nTJ-D01-HRSS,2022,EMP-URBAN-NEW,3.1,万人,3\n",
    )
    .unwrap();
    let (tmp, faults) = (s.dir.path(), s.dir.path().join("o"));
    let out = faults.join("out");
    let lib = faultfs(tmp);
    let counts = tmp.join("counts");
    let args = ["run", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap()];
    assert_eq!(yearbook(&args).status.code(), Some(0));
    assert_eq!(run_faulty(&lib, &faults, None, &counts, &args).status.code(), Some(0));
    let counted: Vec<(String, u64)> = std::fs::read_to_string(&counts)
        .unwrap()
        .lines()
        .map(|l| {
            let (op, n) = l.split_once(' ').unwrap();
            (op.to_owned(), n.parse().unwrap())
        })
        .collect();
    let mut published = 0;
    for (op, n) in &counted {
        assert!(*n > 0, "a run makes no {op} call under the output's folder: is faultfs loaded?");
        // Every call where the run swaps and cleans up (the standard
        // library's directory handle panicked on a failed closedir); the
        // first and last and some between of the others. Most closes are of
        // Parquet files read back for the workbook.
        let step = match op.as_str() {
            "closedir" | "remove" | "rename" => 1,
            "close" => *n as usize / 8,
            _ => 4,
        };
        let mut at: Vec<u64> = (1..=*n).step_by(step.max(1)).collect();
        at.push(*n);
        at.dedup();
        for k in at {
            let o = run_faulty(&lib, &faults, Some((op, k)), &counts, &args);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(!err.contains("panicked"), "{op}:{k}: {err}");
            match o.status.code() {
                // Failed before the swap: the previous outputs stay, and
                // the error names the file.
                Some(2) => {
                    assert!(err.starts_with("yearbook: ") && err.contains("Input/output error"), "{op}:{k}: {err}")
                }
                // Published; a failure in cleanup is only logged.
                Some(0) => published += 1,
                other => panic!("{op}:{k}: exit {other:?}: {err}"),
            }
            assert!(hashes_match(&out), "{op}:{k}: the outputs are not one whole run");
        }
    }
    assert!(published > 0, "no fault fell after the outputs were published");
    // The next run clears whatever the failed ones left beside the output.
    assert_eq!(yearbook(&args).status.code(), Some(0));
    let beside: Vec<_> = std::fs::read_dir(&faults).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(beside.iter().all(|n| !n.to_string_lossy().contains("staging")), "{beside:?}");
}
