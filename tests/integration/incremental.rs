//! A run into the directory of the previous one reads only new and changed
//! files and recomputes only the buckets they touch, yet writes the bytes
//! a full run (`--full`) writes: after a new file, a changed file, a
//! removed file, and a catalog change that invalidates everything.

use std::path::{Path, PathBuf};

use crate::util::{EN_HEADER, copy_tree, files_under, repo, yearbook};

/// A run, published whatever it withdraws or revises (the guards would
/// hold some of the changes tried here).
fn run(input: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["run", "-q", "--accept", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = yearbook(&args);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap()
}

/// The manifest without what differs between any two runs (its id, times
/// and stage times) and the work each did.
fn comparable(mut m: serde_json::Value) -> serde_json::Value {
    let o = m.as_object_mut().unwrap();
    for k in ["run_id", "started_at", "finished_at", "stage_ms", "work"] {
        o.remove(k);
    }
    o["changes"].as_object_mut().map(|c| c.remove("run_id"));
    m
}

/// Runs incrementally into `out` and fully into a copy of `out` made
/// before (so both compare with the same previous run), and checks that
/// both wrote the same files, byte for byte; returns the incremental
/// run's work.
fn same_as_full(input: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let full_out = out.with_extension("full");
    let _ = std::fs::remove_dir_all(&full_out);
    copy_tree(out, &full_out);
    let incremental = run(input, out, extra);
    let mut with_full = extra.to_vec();
    with_full.push("--full");
    let full = run(input, &full_out, &with_full);
    assert_eq!(full["work"]["files_reused"], 0);
    assert_eq!(full["work"]["buckets_reused"], 0);
    let (a, b) = (files_under(out), files_under(&full_out));
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b));
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        if name != "manifest.json" {
            assert!(x == y, "{name} differs from a full run's");
        }
    }
    assert_eq!(comparable(incremental.clone()), comparable(full));
    incremental["work"].clone()
}

/// The sample copied into a new directory and run once into `out`: the
/// directory (kept alive), the input, the output and the first manifest.
fn first_run() -> (tempfile::TempDir, PathBuf, PathBuf, serde_json::Value) {
    let tmp = tempfile::tempdir().unwrap();
    let (input, out) = (tmp.path().join("in"), tmp.path().join("out"));
    copy_tree(&repo().join("sample_data"), &input);
    let first = run(&input, &out, &[]);
    (tmp, input, out, first)
}

/// The bureau corrects 2021's new jobs: 37.62 → 37.70 万人.
fn correct_new_jobs(input: &Path) {
    let hrss = input.join("city/TJ-HRSS-2021.csv");
    let text = std::fs::read_to_string(&hrss).unwrap().replace(",37.62,万人,35,", ",37.70,万人,35,");
    std::fs::write(&hrss, text).unwrap();
}

#[test]
fn every_kind_of_change_writes_what_a_full_run_writes() {
    let (tmp, input, out, first) = first_run();
    let files = first["counts"]["files"].as_u64().unwrap();
    let buckets = first["work"]["buckets_computed"].as_u64().unwrap();
    assert_eq!(first["work"]["files_read"].as_u64(), Some(files));
    assert!(buckets >= 4, "{first}");

    // Nothing changed: nothing read, nothing computed.
    let work = same_as_full(&input, &out, &[]);
    assert_eq!((work["files_read"].as_u64(), work["buckets_computed"].as_u64()), (Some(0), Some(0)), "{work}");
    assert_eq!(work["buckets_reused"].as_u64(), Some(buckets));

    // A changed file.
    correct_new_jobs(&input);
    let inode = |year: i32| {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(out.join(format!("totals/year={year}/part-00000.parquet"))).unwrap().ino()
    };
    let (before_2020, before_2021) = (inode(2020), inode(2021));
    let work = same_as_full(&input, &out, &[]);
    assert_eq!(work["files_read"].as_u64(), Some(1), "{work}");
    // 2020's totals are as they were: their part is the previous run's
    // file; 2021's is written again.
    assert_eq!(inode(2020), before_2020);
    assert_ne!(inode(2021), before_2021);
    let computed = work["buckets_computed"].as_u64().unwrap();
    assert!((1..buckets).contains(&computed), "only the bureau's bucket: {work}");
    // The city's total follows: the bureau's figure, which is the city's
    // (it reports for it), 376 200 + 800.
    let totals = crate::util::csv_rows(&out.join("summary/2021/totals.csv"));
    let city = crate::util::find(&totals, &[("汇总单位代码", "TJ"), ("指标代码", "EMP-URBAN-NEW")]);
    assert_eq!(crate::util::cell(&totals, city, "合计值"), "377000");

    // A new file.
    std::fs::write(input.join("city/TJ-JUS-2023.csv"), format!("{EN_HEADER}TJ-JUS,2023,INFO-DISCLOSED,,120,条,,,,\n"))
        .unwrap();
    let work = same_as_full(&input, &out, &[]);
    assert_eq!(work["files_read"].as_u64(), Some(1), "{work}");
    assert!(work["buckets_reused"].as_u64().unwrap() > 0, "{work}");

    // A removed file.
    std::fs::remove_file(input.join("districts/TJ-D13-HRSS.csv")).unwrap();
    let work = same_as_full(&input, &out, &[]);
    assert_eq!((work["files_read"].as_u64(), work["files_reused"].as_u64()), (Some(0), Some(files)), "{work}");
    assert!(work["buckets_reused"].as_u64().unwrap() > 0, "{work}");

    // A catalog change (one more decimal printed for new jobs): every file
    // is read and every bucket computed again.
    let catalog = tmp.path().join("catalog.csv");
    let text = std::fs::read_to_string(repo().join("schemas/catalog.csv")).unwrap();
    let edited = text.replace(
        "EMP-URBAN-NEW,城镇新增就业,New urban employment,人,count,up,sum,,,0,area,0",
        "EMP-URBAN-NEW,城镇新增就业,New urban employment,人,count,up,sum,,,1,area,0",
    );
    assert_ne!(text, edited);
    std::fs::write(&catalog, edited).unwrap();
    let work = same_as_full(&input, &out, &["--catalog", catalog.to_str().unwrap()]);
    assert_eq!((work["files_reused"].as_u64(), work["buckets_reused"].as_u64()), (Some(0), Some(0)), "{work}");

    // A change of scope in the register (the municipal bureau no longer
    // reports for the city): everything is computed again, and the city's
    // new jobs are its members' sum instead of the bureau's figure.
    let agencies = tmp.path().join("agencies.csv");
    let text = std::fs::read_to_string(repo().join("schemas/agencies.csv")).unwrap();
    let edited = text.replace("Social Security Bureau,TJ,TJ\n", "Social Security Bureau,TJ,\n");
    assert_ne!(text, edited);
    std::fs::write(&agencies, edited).unwrap();
    let args = ["--catalog", catalog.to_str().unwrap(), "--agencies", agencies.to_str().unwrap()];
    let work = same_as_full(&input, &out, &args);
    assert_eq!((work["files_reused"].as_u64(), work["buckets_reused"].as_u64()), (Some(0), Some(0)), "{work}");
    let totals = crate::util::parquet_rows(&out, "totals");
    let city = crate::util::find(&totals, &[("year", "2021"), ("agency", "TJ"), ("indicator", "EMP-URBAN-NEW")]);
    assert_eq!(crate::util::cell(&totals, city, "value_basis"), "summed");
    assert_eq!(crate::util::cell(&totals, city, "contributors"), "[TJ-D01, TJ-HRSS]");
}

/// A cache missing a part (pruned by hand, a disk that lost a file) is no
/// cache: the run reads everything, as a full run, and writes a whole one.
#[test]
fn a_cache_missing_a_bucket_is_not_used() {
    let (_tmp, input, out, first) = first_run();
    std::fs::remove_file(out.join(".cache/buckets/bucket-00001.bin")).unwrap();
    let work = same_as_full(&input, &out, &[]);
    assert_eq!(work["files_read"], first["counts"]["files"], "{work}");
    assert_eq!(work["buckets_reused"].as_u64(), Some(0), "{work}");
    // The run left a whole cache: the next one reads nothing.
    let again = run(&input, &out, &[]);
    assert_eq!(again["work"]["files_read"].as_u64(), Some(0), "{}", again["work"]);
}

/// An output someone removed from the previous run, or a finish entry cut
/// short, cannot be taken: the run is made in full, not failed.
#[test]
fn a_run_that_cannot_take_the_previous_finish_is_made_in_full() {
    let (_tmp, input, out, first) = first_run();
    std::fs::remove_file(out.join("summary/yearbook.csv")).unwrap();
    let work = same_as_full(&input, &out, &[]);
    assert_eq!(work["files_read"], first["counts"]["files"], "{work}");
    // (A full run writes what a full run writes: reading every file is
    // the proof here.)
    let finish = out.join(".cache/finish.bin");
    let bytes = std::fs::read(&finish).unwrap();
    std::fs::write(&finish, &bytes[..bytes.len() / 2]).unwrap();
    let work = run(&input, &out, &[])["work"].clone();
    assert_eq!(work["files_read"], first["counts"]["files"], "{work}");
    assert!(out.join("summary/yearbook.csv").is_file());
    let again = run(&input, &out, &[]);
    assert_eq!(again["work"]["files_read"].as_u64(), Some(0), "{}", again["work"]);
}

/// A damaged cache entry (a disk error, a write cut short) costs a full
/// run, not the night's run.
#[test]
fn a_damaged_cache_entry_makes_a_full_run_not_a_failure() {
    let (_tmp, input, out, first) = first_run();
    // A changed file, so that the run reads the entries of the buckets it
    // reuses; every entry cut in half.
    correct_new_jobs(&input);
    for e in std::fs::read_dir(out.join(".cache/buckets")).unwrap() {
        let path = e.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    }
    let work = same_as_full(&input, &out, &[]);
    assert_eq!(work["files_read"], first["counts"]["files"], "{work}");
    assert_eq!(work["buckets_reused"].as_u64(), Some(0), "{work}");
}

/// The file table's JSON, out of its sealed head (magic, format, CRC-32).
fn file_table(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join(".cache/files.json")).unwrap()[16..]).unwrap()
}

/// Writes `table` as the file table, sealed as the run seals it: a table
/// that verifies, whatever it says.
fn reseal(out: &Path, table: &serde_json::Value) {
    let path = out.join(".cache/files.json");
    let head = std::fs::read(&path).unwrap()[..12].to_vec();
    let json = serde_json::to_vec(table).unwrap();
    let bytes = [head, crc32fast::hash(&json).to_le_bytes().to_vec(), json].concat();
    std::fs::write(path, bytes).unwrap();
}

/// A file table that verifies but describes other rows than the spill's:
/// an earlier run's (restored from a backup, say) that does not know a
/// file whose rows the spill holds, and one edited to say a file has rows
/// in no bucket. Either way, the file then removed: a run that trusted the
/// table would keep its rows in the outputs; this one is made in full.
#[test]
fn a_file_table_that_does_not_describe_the_spill_is_not_used() {
    let (_tmp, input, out, first) = first_run();
    let earlier = file_table(&out);
    let extra = input.join("city/extra.csv");
    std::fs::write(&extra, format!("{EN_HEADER}TJ-HRSS,2021,INFO-DISCLOSED,,300,条,,,,\n")).unwrap();
    run(&input, &out, &[]);
    std::fs::remove_file(&extra).unwrap();
    reseal(&out, &earlier);
    let work = same_as_full(&input, &out, &[]);
    assert_eq!(work["files_read"], first["counts"]["files"], "{work}");

    let mut edited = file_table(&out);
    let entries = edited["entries"].as_array_mut().unwrap();
    let hrss = entries.iter_mut().find(|e| e["report"]["path"] == "city/TJ-HRSS-2021.csv").unwrap();
    assert!(!hrss["buckets"].as_array().unwrap().is_empty());
    hrss["buckets"] = serde_json::json!([]);
    reseal(&out, &edited);
    std::fs::remove_file(input.join("city/TJ-HRSS-2021.csv")).unwrap();
    let work = same_as_full(&input, &out, &[]);
    assert_eq!(work["files_read"].as_u64(), first["counts"]["files"].as_u64().map(|n| n - 1), "{work}");
}

/// A bucket's spill emptied (or cut at a frame's end) still reads as
/// frames, of fewer rows: its length is checked against what the bucket
/// was computed from, and the run is made in full, not published short of
/// the bucket's rows (found by the cache fuzz target).
#[test]
fn a_spill_bucket_emptied_makes_a_full_run_not_a_short_one() {
    let (tmp, input, out, first) = first_run();
    correct_new_jobs(&input);
    let spills: Vec<PathBuf> = std::fs::read_dir(out.join(".cache/spill"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    assert!(spills.len() >= 2, "{spills:?}");
    for (n, spill) in spills.iter().enumerate() {
        let damaged = tmp.path().join(format!("emptied-{n}"));
        copy_tree(&out, &damaged);
        std::fs::write(damaged.join(spill.strip_prefix(&out).unwrap()), b"").unwrap();
        let work = same_as_full(&input, &damaged, &[]);
        assert_eq!(work["files_read"], first["counts"]["files"], "{work}");
    }
}

/// One byte flipped in any file of the cache (at a place of its own, the
/// same each time): the run finds it and writes what a full run writes.
#[test]
fn a_flipped_byte_in_any_cache_file_leaves_the_outputs_a_full_run_s() {
    let (tmp, input, out, _) = first_run();
    // A changed file, so that the run reads what it reuses of the rest.
    correct_new_jobs(&input);
    let mut cache_files = Vec::new();
    let mut stack = vec![out.join(".cache")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { stack.push(p) } else { cache_files.push(p) }
        }
    }
    cache_files.sort();
    assert!(cache_files.len() >= 8, "{cache_files:?}");
    for (n, file) in cache_files.iter().enumerate() {
        let rel = file.strip_prefix(&out).unwrap();
        let damaged = tmp.path().join(format!("damaged-{n}"));
        copy_tree(&out, &damaged);
        let path = damaged.join(rel);
        let mut bytes = std::fs::read(&path).unwrap();
        if bytes.is_empty() {
            continue;
        }
        let at = (n * 7919 + bytes.len() / 3) % bytes.len();
        bytes[at] ^= 0x5a;
        std::fs::write(&path, &bytes).unwrap();
        same_as_full(&input, &damaged, &[]);
    }
}

/// A part of the previous output replaced (by hand, by another program)
/// or removed: never published again under its old hash, but computed
/// again, whether the run takes its bucket or the whole finish.
#[test]
fn a_previous_output_replaced_or_removed_is_computed_again() {
    let part = |out: &Path, table: &str, year: u32| out.join(format!("{table}/year={year}/part-00000.parquet"));
    for (change_an_input, remove) in [(false, false), (true, false), (false, true), (true, true)] {
        let (_tmp, input, out, _) = first_run();
        if change_an_input {
            correct_new_jobs(&input);
        }
        if remove {
            std::fs::remove_file(part(&out, "metrics", 2019)).unwrap();
        } else {
            std::fs::copy(part(&out, "observations", 2019), part(&out, "observations", 2020)).unwrap();
        }
        same_as_full(&input, &out, &[]);
        let o = yearbook(&["audit", "--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    }
}

/// The console and `--json` say what the run took from the cache.
#[test]
fn the_run_says_what_it_reused() {
    let (_tmp, input, out, first) = first_run();
    let files = first["counts"]["files"].as_u64().unwrap();
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    let text = yearbook(&["run", "--input", i, "--out", o]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains(&format!("from the previous run's cache: {files} of {files} files")), "{stdout}");
    let json = yearbook(&["run", "--json", "--input", i, "--out", o]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!((v["work"]["files_reused"].as_u64(), v["work"]["files_read"].as_u64()), (Some(files), Some(0)));
    let full = yearbook(&["run", "--json", "--full", "--input", i, "--out", o]);
    let v: serde_json::Value = serde_json::from_slice(&full.stdout).unwrap();
    assert_eq!((v["work"]["files_reused"].as_u64(), v["work"]["files_read"].as_u64()), (Some(0), Some(files)));
}

/// A cache another build of yearbook wrote, or one in another format, is
/// not used: the run reads everything and says why in one line. (A table
/// edited without sealing it anew is damaged: see the flipped-byte test.)
#[test]
fn a_cache_of_another_build_or_format_is_not_used_and_the_run_says_why() {
    let (_tmp, input, out, first) = first_run();
    let files = first["counts"]["files"].as_u64();
    let table = out.join(".cache/files.json");
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    for ((from, to), why) in [
        (("\"build\":\"", "\"build\":\"0"), "another build of yearbook wrote it"),
        (("\"format\":", "\"format\":9"), "it is in another format"),
    ] {
        // The table as another build would write it: edited, sealed anew.
        let bytes = std::fs::read(&table).unwrap();
        let text = String::from_utf8(yearbook::cache::unseal(&bytes).unwrap().to_vec()).unwrap();
        assert!(text.contains(from), "{text:.200}");
        std::fs::write(&table, yearbook::cache::seal(text.replacen(from, to, 1).as_bytes())).unwrap();
        let run = yearbook(&["run", "--json", "--input", i, "--out", o]);
        let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        assert_eq!((v["work"]["files_read"].as_u64(), v["work"]["files_reused"].as_u64()), (files, Some(0)));
        let stderr = String::from_utf8_lossy(&run.stderr);
        let said: Vec<&str> = stderr.lines().filter(|l| l.contains("cache")).collect();
        assert_eq!(said.len(), 1, "{stderr}");
        assert!(said[0].contains(why), "{stderr}");
    }
}

/// `run --dry-run` prints what a run would read and compute, and why, and
/// writes nothing.
#[test]
fn a_dry_run_says_what_a_run_would_do_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, out) = (tmp.path().join("in"), tmp.path().join("out"));
    copy_tree(&repo().join("sample_data"), &input);
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    let dry = |what: &str| {
        let run = yearbook(&["run", "--dry-run", "--input", i, "--out", o]);
        assert_eq!(run.status.code(), Some(0), "{what}: {}", String::from_utf8_lossy(&run.stderr));
        String::from_utf8_lossy(&run.stdout).into_owned()
    };
    let text = dry("first");
    assert!(text.contains("cache: not used, there is none"), "{text}");
    assert!(text.contains("files: 18 read, 0 reused"), "{text}");
    assert!(!out.exists(), "a dry run writes nothing");
    run(&input, &out, &[]);
    let listing = files_under(&out);
    let text = dry("nothing changed");
    assert!(text.contains("files: 0 read, 18 reused"), "{text}");
    assert!(text.contains("finish: nothing changed"), "{text}");
    correct_new_jobs(&input);
    let text = dry("a changed file");
    assert!(text.contains("files: 1 read, 17 reused"), "{text}");
    assert!(text.contains("read    city/TJ-HRSS-2021.csv   changed since the cache"), "{text}");
    assert!(text.contains("finish: totals, tables"), "{text}");
    assert_eq!(files_under(&out), listing, "a dry run writes nothing");
}

/// One change to an inbox between two nightly runs.
#[derive(Debug, Clone)]
enum Change {
    /// A digit of a record changed to another: the file keeps its size;
    /// with `old_mtime`, its modification time is set back as well.
    Digit {
        file: usize,
        at: usize,
        old_mtime: bool,
    },
    /// A record appended (one a file's header may not read: quarantined).
    Append {
        file: usize,
    },
    Add {
        value: u32,
    },
    Remove {
        file: usize,
    },
    Rename {
        file: usize,
    },
    /// Moved into another folder.
    Move {
        file: usize,
    },
    /// Its times moved on, its bytes the same.
    Touch {
        file: usize,
    },
    /// The catalog prints new jobs with one decimal more, or one fewer.
    Catalog,
    /// The register renames a bureau in English, or back.
    Register,
    /// The pipeline compresses the Parquet harder, or back.
    Pipeline,
    /// A bucket's cache entry cut short.
    DamageCache,
}

fn change() -> impl proptest::strategy::Strategy<Value = Change> {
    use proptest::prelude::*;
    prop_oneof![
        (0usize..64, 0usize..4096, any::<bool>()).prop_map(|(file, at, old_mtime)| Change::Digit {
            file,
            at,
            old_mtime
        }),
        (0usize..64).prop_map(|file| Change::Append { file }),
        (1u32..100_000).prop_map(|value| Change::Add { value }),
        (0usize..64).prop_map(|file| Change::Remove { file }),
        (0usize..64).prop_map(|file| Change::Rename { file }),
        (0usize..64).prop_map(|file| Change::Move { file }),
        (0usize..64).prop_map(|file| Change::Touch { file }),
        Just(Change::Catalog),
        Just(Change::Register),
        Just(Change::Pipeline),
        Just(Change::DamageCache),
    ]
}

/// The CSV files of the inbox (workbooks left alone), by path.
fn csv_files(input: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = files_under(input)
        .into_iter()
        .map(|(name, _)| input.join(name))
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    files
}

/// Replaces `from` by `to` in the file at `path`, or `to` by `from`.
fn toggle(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let edited = if text.contains(from) { text.replacen(from, to, 1) } else { text.replacen(to, from, 1) };
    assert_ne!(text, edited, "{} holds neither {from:?} nor {to:?}", path.display());
    std::fs::write(path, edited).unwrap();
}

/// Makes `change` to the inbox at `input` (or the pipeline and schemas
/// under `config`, or the cache in `out`); `n` numbers what it adds.
fn apply(change: &Change, input: &Path, config: &Path, out: &Path, n: usize) {
    let catalog = &config.join("schemas/catalog.csv");
    let files = csv_files(input);
    let pick = |i: usize| files[i % files.len()].clone();
    match *change {
        Change::Digit { file, at, old_mtime } => {
            let path = pick(file);
            let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
            let mut bytes = std::fs::read(&path).unwrap();
            // A digit after the first line, so the header stays what it was.
            let body = bytes.iter().position(|&b| b == b'\n').map_or(0, |p| p + 1);
            let digits: Vec<usize> = (body..bytes.len()).filter(|&i| bytes[i].is_ascii_digit()).collect();
            if let Some(&i) = digits.get(at % digits.len().max(1)) {
                bytes[i] = if bytes[i] == b'9' { b'1' } else { bytes[i] + 1 };
                std::fs::write(&path, bytes).unwrap();
                if old_mtime {
                    std::fs::File::options().write(true).open(&path).unwrap().set_modified(modified).unwrap();
                }
            }
        }
        Change::Append { file } => {
            let path = pick(file);
            let mut text = std::fs::read(&path).unwrap();
            text.extend_from_slice(b"TJ-JUS,2023,INFO-DISCLOSED,,120,\xe6\x9d\xa1,,,,\n");
            std::fs::write(&path, text).unwrap();
        }
        Change::Add { value } => {
            let row = format!("{EN_HEADER}TJ-MZ,2023,INFO-REQUESTS,,{value},件,,,,\n");
            std::fs::write(input.join(format!("city/added-{n}.csv")), row).unwrap();
        }
        Change::Remove { file } if files.len() > 4 => std::fs::remove_file(pick(file)).unwrap(),
        Change::Remove { .. } => {}
        Change::Rename { file } => {
            let path = pick(file);
            std::fs::rename(&path, path.with_file_name(format!("renamed-{n}.csv"))).unwrap();
        }
        Change::Move { file } => {
            let path = pick(file);
            let dir = input.join(format!("moved-{n}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::rename(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
        Change::Touch { file } => {
            let path = pick(file);
            let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
            std::fs::File::options().write(true).open(&path).unwrap().set_modified(later).unwrap();
        }
        Change::Catalog => {
            let text = std::fs::read_to_string(catalog).unwrap();
            let (zero, one) = (",,,0,area,0\n", ",,,1,area,0\n");
            let at = text.find("EMP-URBAN-NEW").unwrap();
            let line_end = at + text[at..].find('\n').unwrap() + 1;
            let line = &text[at..line_end];
            let edited = if line.ends_with(zero) { line.replace(zero, one) } else { line.replace(one, zero) };
            std::fs::write(catalog, format!("{}{edited}{}", &text[..at], &text[line_end..])).unwrap();
        }
        Change::Register => toggle(
            &config.join("schemas/agencies.csv"),
            "Tianjin Civil Affairs Bureau",
            "Tianjin Bureau of Civil Affairs",
        ),
        Change::Pipeline => toggle(&config.join("pipelines/nightly.toml"), "zstd_level = 1", "zstd_level = 3"),
        Change::DamageCache => {
            let bucket = out.join(".cache/buckets/bucket-00000.bin");
            if let Ok(bytes) = std::fs::read(&bucket) {
                std::fs::write(&bucket, &bytes[..bytes.len() / 2]).unwrap();
            }
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3))]

    /// After any sequence of changes, each incremental run writes what a
    /// full run writes, byte for byte (the manifest's times and work aside).
    #[test]
    fn any_sequence_of_changes_leaves_incremental_runs_equal_to_full_ones(
        changes in proptest::collection::vec(change(), 3)
    ) {
        let (tmp, input, out, _) = first_run();
        // The pipeline and the schemas copied as they are (the same bytes,
        // so the first run's cache holds), to be changed.
        let config = tmp.path().join("config");
        copy_tree(&repo().join("schemas"), &config.join("schemas"));
        std::fs::create_dir_all(config.join("pipelines")).unwrap();
        let pipeline = config.join("pipelines/nightly.toml");
        std::fs::copy(repo().join("pipelines/nightly.toml"), &pipeline).unwrap();
        let extra = ["--pipeline", pipeline.to_str().unwrap()];
        let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
        let dry = yearbook(&[&["run", "--dry-run", "--input", i, "--out", o][..], &extra].concat());
        proptest::prop_assert!(String::from_utf8_lossy(&dry.stdout).contains("cache: the previous run's is used"));
        for (n, c) in changes.iter().enumerate() {
            apply(c, &input, &config, &out, n);
            same_as_full(&input, &out, &extra);
        }
    }
}
