//! The bundled sample run against `tests/golden/`, cell by cell. After a
//! deliberate change of outputs, regenerate with `YEARBOOK_BLESS=1 cargo
//! test golden` and review the diff of `tests/golden/` like code.

use std::path::Path;

use crate::util::{csv_rows, files_under, parquet_rows, repo, run_sample};

const TABLES: &[&str] = &["observations", "metrics", "totals", "superseded", "rates", "checks"];
const CSVS: &[&str] = &[
    "quarantine.csv",
    "warnings.csv",
    "summary/2021/indicators.csv",
    "summary/2021/totals.csv",
    "summary/2021/league.csv",
    "summary/2021/movers.csv",
    "summary/yearbook.csv",
    "summary/审核结果.csv",
];

fn compare(name: &str, got: Vec<Vec<String>>) {
    let path = repo().join("tests/golden").join(name.replace('/', "__")).with_extension("csv");
    if std::env::var_os("YEARBOOK_BLESS").is_some() {
        let mut w = csv::Writer::from_path(&path).unwrap();
        for row in &got {
            w.write_record(row).unwrap();
        }
        w.flush().unwrap();
        return;
    }
    let want = csv_rows(&path);
    assert_eq!(got[0], want[0], "{name}: columns");
    let mut diffs = Vec::new();
    for (i, (g, w)) in got.iter().zip(&want).enumerate().skip(1) {
        for (c, (gv, wv)) in g.iter().zip(w).enumerate() {
            if gv != wv {
                diffs.push(format!("row {i} column {}: got {gv:?}, want {wv:?}", want[0][c]));
            }
        }
    }
    assert!(diffs.is_empty(), "{name}: {} cells differ:\n{}", diffs.len(), diffs.join("\n"));
    assert_eq!(got.len(), want.len(), "{name}: row count");
}

#[test]
fn sample_outputs_match_golden_files() {
    let dir = crate::util::shared_sample();
    for table in TABLES {
        compare(table, parquet_rows(dir, table));
    }
    for name in CSVS {
        compare(name, csv_rows(&dir.join(name)));
    }
}

#[test]
fn every_bad_row_of_the_sample_is_quarantined_with_its_line() {
    let dir = crate::util::shared_sample();
    let q = csv_rows(&dir.join("quarantine.csv"));
    let got: Vec<(&str, &str, &str)> = q[1..].iter().map(|r| (r[0].as_str(), r[1].as_str(), r[5].as_str())).collect();
    assert_eq!(
        got,
        [
            ("city/TJ-HRSS-2021.csv", "26", "bad_number"),
            ("city/TJ-MZ-wide.csv", "7", "bad_number"),
            ("districts/TJ-D01-JUS.csv", "15", "missing_without_note"),
            ("districts/TJ-D01-JUS.csv", "16", "bad_number"),
            ("districts/TJ-D01-JUS.csv", "17", "unknown_agency"),
            ("districts/TJ-D02-HRSS.csv", "16", "duplicate_conflict"),
            ("districts/TJ-D02-HRSS.csv", "30", "duplicate_conflict"),
            ("districts/TJ-D13-HRSS.csv", "29", "unknown_unit"),
            ("districts/TJ-D13-HRSS.csv", "32", "unit_mismatch"),
            // More mediations succeeded than were accepted: the review
            // rule R12 (an error) refuses both figures.
            ("districts/TJ-D13-HRSS.csv", "34", "rule_failed"),
            ("districts/TJ-D13-HRSS.csv", "35", "rule_failed"),
        ]
    );
    // 千余 is quarantined with its raw text, never zeroed.
    assert_eq!(q[1][4], "千余");
}

#[test]
fn every_row_read_is_accounted_for() {
    let dir = crate::util::shared_sample();
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let mut quarantined = 0;
    for f in m["inputs"].as_array().unwrap() {
        let (read, acc, q) =
            (f["rows_read"].as_u64().unwrap(), f["accepted"].as_u64().unwrap(), f["quarantined"].as_u64().unwrap());
        assert_eq!(read, acc + q, "{}", f["path"]);
        quarantined += q;
    }
    // Seven rows refused as read, two by the review rule R12 (TJ-D13-HRSS's
    // 2022 mediations: more succeeded than accepted).
    assert_eq!(quarantined, 11);
    // 297 rows of submissions, 20 of the 劳动保障监察 table with its 全市
    // rows, 12 of the years-over-indicators workbook and 12 of the table
    // with a four-row header.
    assert_eq!(m["counts"]["rows_read"], 341);
    // Every output is listed with the hash of what is on disk.
    for o in m["outputs"].as_array().unwrap() {
        let bytes = std::fs::read(dir.join(o["path"].as_str().unwrap())).unwrap();
        assert_eq!(yearbook::ingest::sha256_hex(&bytes), o["sha256"].as_str().unwrap());
    }
}

#[test]
fn two_runs_are_byte_identical_but_for_the_manifest() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run_sample(a.path());
    run_sample(b.path());
    let (fa, fb) = (files_under(a.path()), files_under(b.path()));
    assert_eq!(fa.iter().map(|f| &f.0).collect::<Vec<_>>(), fb.iter().map(|f| &f.0).collect::<Vec<_>>());
    assert!(fa.len() > 20);
    for ((name, x), (_, y)) in fa.iter().zip(&fb) {
        if name != "manifest.json" {
            assert!(x == y, "{name} differs between two runs");
        }
    }
}

#[test]
fn many_small_buckets_write_the_same_outputs_as_one() {
    // A pipeline that spills every agency to its own bucket.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("pipelines/nightly.toml")).unwrap();
    let text =
        text.replace("bucket_rows = 200000", "bucket_rows = 1").replace("\"../", &format!("\"{}/", repo().display()));
    assert!(text.contains("bucket_rows = 1"));
    let pipeline = dir.path().join("tiny.toml");
    std::fs::write(&pipeline, text).unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run_sample(&a);
    let o =
        crate::util::yearbook(&["run", "-q", "--pipeline", pipeline.to_str().unwrap(), "--out", b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    // More part files, the same rows in the same order.
    for table in TABLES {
        assert_eq!(parquet_rows(&a, table), parquet_rows(&b, table), "{table}");
    }
    let parts = |dir: &Path| files_under(dir).iter().filter(|f| f.0.starts_with("metrics/year=2021/")).count();
    assert!(parts(&a) <= 4, "{} parts", parts(&a));
    assert!(parts(&b) > parts(&a), "{} parts", parts(&b));
    for name in CSVS {
        assert_eq!(std::fs::read(a.join(name)).unwrap(), std::fs::read(b.join(name)).unwrap(), "{name}");
    }
}

/// A Parquet file copied away from its manifest still says what it is:
/// yearbook's version, the pipeline's and catalog's SHA-256, the rounding
/// rule and decimals, and each column in English and Chinese. The manifest
/// lists every table's columns the same way.
#[test]
fn every_parquet_file_describes_itself() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = crate::util::shared_sample();
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let mut files = 0;
    for o in m["outputs"].as_array().unwrap() {
        let path = o["path"].as_str().unwrap();
        if !path.ends_with(".parquet") {
            continue;
        }
        files += 1;
        let reader = SerializedFileReader::new(std::fs::File::open(dir.join(path)).unwrap()).unwrap();
        let kv: std::collections::BTreeMap<String, String> = reader
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .unwrap()
            .iter()
            .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
            .collect();
        let table = path.split('/').next().unwrap();
        assert_eq!(kv["yearbook.table"], table, "{path}");
        assert_eq!(kv["yearbook.version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(kv["yearbook.pipeline_sha256"], m["pipeline"]["sha256"].as_str().unwrap());
        assert_eq!(kv["yearbook.catalog_sha256"], m["schemas"][0]["sha256"].as_str().unwrap());
        assert_eq!(kv["yearbook.rounding"], "half_up");
        let decimals: serde_json::Value = serde_json::from_str(&kv["yearbook.decimals"]).unwrap();
        assert_eq!(decimals["EMP-URBAN-NEW"], serde_json::json!({"completion": 1, "growth": 2}));
        let columns: Vec<serde_json::Value> = serde_json::from_str(&kv["yearbook.columns"]).unwrap();
        let listed = m["tables"][table].as_array().unwrap();
        assert_eq!(columns.len(), listed.len(), "{path}");
        for (c, l) in columns.iter().zip(listed) {
            assert_eq!(c["name"], l["name"]);
            for lang in ["en", "zh"] {
                assert!(!c[lang].as_str().unwrap().is_empty(), "{path}: {} has no {lang} description", c["name"]);
            }
        }
    }
    assert!(files > 20, "{files} Parquet files");
}

/// `sdmx.csv` parses back as SDMX-CSV 2.0, and every value in it is the
/// one the Parquet holds: each observation, each printed percentage, each
/// total.
#[test]
fn the_sdmx_export_holds_every_figure_exactly() {
    let dir = crate::util::shared_sample();
    let rows = csv_rows(&dir.join("sdmx.csv"));
    assert_eq!(
        rows[0],
        [
            "STRUCTURE",
            "STRUCTURE_ID",
            "ACTION",
            "AGENCY",
            "INDICATOR",
            "MEASURE",
            "TIME_PERIOD",
            "OBS_VALUE",
            "UNIT_MEASURE",
            "UNIT_MULT",
            "OBS_STATUS",
            "DECIMALS"
        ]
    );
    let mut sdmx = std::collections::BTreeMap::new();
    for r in &rows[1..] {
        assert_eq!((r[0].as_str(), r[1].as_str(), r[2].as_str()), ("dataflow", "TJSTATS:DF_YEARBOOK(1.0)", "I"));
        let key = (r[3].clone(), r[4].clone(), r[5].clone(), r[6].clone());
        assert!(sdmx.insert(key, (r[7].clone(), r[10].clone(), r[11].clone())).is_none(), "one row a key: {r:?}");
    }
    // The Parquet writes decimals at their column's scale: compare without
    // the trailing zeros.
    let trim =
        |s: &str| if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s.to_owned() };
    let same = |a: &str, b: &str| trim(a) == trim(b);
    let mut compared = 0;
    let obs = parquet_rows(dir, "observations");
    for o in &obs[1..] {
        let c = |n: &str| crate::util::cell(&obs, o, n).to_owned();
        let (value, status, decimals) = &sdmx[&(c("agency"), c("indicator"), "VALUE".to_owned(), c("year"))];
        assert_eq!(status, if c("value").is_empty() { "M" } else { "A" });
        assert!(same(value, &c("value")), "{value} vs {}", c("value"));
        assert_eq!(decimals.parse::<usize>().unwrap(), value.split_once('.').map_or(0, |(_, f)| f.len()));
        compared += 1;
    }
    let metrics = parquet_rows(dir, "metrics");
    for m in &metrics[1..] {
        let c = |n: &str| crate::util::cell(&metrics, m, n).to_owned();
        for (col, measure) in
            [("completion_pct", "COMPLETION_PCT"), ("growth_pct", "GROWTH_PCT"), ("change_pp", "CHANGE_PP")]
        {
            let found = sdmx.get(&(c("agency"), c("indicator"), measure.to_owned(), c("year")));
            match (c(col).as_str(), found) {
                ("", None) => {}
                (v, Some((shown, _, _))) => {
                    assert_eq!(shown, v, "{measure}");
                    compared += 1;
                }
                (v, None) => panic!("{measure} {v} is not in sdmx.csv"),
            }
        }
    }
    let totals = parquet_rows(dir, "totals");
    for t in &totals[1..] {
        let c = |n: &str| crate::util::cell(&totals, t, n).to_owned();
        if let Some((shown, _, _)) = sdmx.get(&(c("agency"), c("indicator"), "TOTAL".to_owned(), c("year"))) {
            assert!(same(shown, &c("value")), "{shown} vs {}", c("value"));
            compared += 1;
        } else {
            assert_eq!(c("value"), "");
        }
        // A reported total's members' sum and difference beside it.
        for (measure, column) in [("TOTAL_MEMBERS", "members_value"), ("TOTAL_UNALLOCATED", "unallocated")] {
            let found = sdmx.get(&(c("agency"), c("indicator"), measure.to_owned(), c("year")));
            match (c("value_basis").as_str(), c(column).as_str(), found) {
                ("reported", v, Some((shown, _, _))) if !v.is_empty() => assert!(same(shown, v), "{measure}"),
                ("reported", "", None) | ("summed", _, None) => {}
                (basis, v, found) => panic!("{measure} of a {basis} total {v:?}: {found:?}"),
            }
        }
    }
    let lvc = sdmx.get(&(
        "TJ".to_owned(),
        "LABOR-VIOLATION-CASES".to_owned(),
        "TOTAL_UNALLOCATED".to_owned(),
        "2020".to_owned(),
    ));
    assert_eq!(lvc.map(|f| f.0.as_str()), Some("-3"), "the 全市 row 3 below its members' sum");
    assert_eq!(compared + sdmx.keys().filter(|k| k.2.starts_with("TOTAL_")).count(), rows.len() - 1);
}
