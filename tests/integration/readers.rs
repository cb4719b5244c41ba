//! The README's "Loading the Parquet" snippets, run as they are written by
//! pyarrow, pandas, polars and DuckDB on the sample run, each followed by
//! checks of what the reader got: `year` an integer, decimals with their
//! scale, yearbook's key-value metadata, the manifest's row counts, and the
//! seed's figure as the people's table prints it.
//!
//! Python is `YEARBOOK_PYTHON` (`.ci/run` points it at a virtual
//! environment with the four from PyPI), else `python3`. Without the four
//! the test says it skipped and passes, unless `YEARBOOK_REQUIRE_READERS=1`
//! (as `.ci/run` sets).

use std::path::Path;
use std::process::Command;

use crate::util::{cell, csv_rows, find, repo, run_sample};

pub fn python() -> Option<String> {
    let python = std::env::var("YEARBOOK_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let ok = Command::new(&python)
        .args(["-c", "import pyarrow, pandas, polars, duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var("YEARBOOK_REQUIRE_READERS").is_ok_and(|v| v == "1") {
        panic!("{python} with pyarrow, pandas, polars and duckdb is required (YEARBOOK_REQUIRE_READERS=1)");
    }
    ok.then_some(python)
}

/// The README's snippets: each fenced `python` block after a
/// `<!-- reader: NAME -->` line.
fn snippets() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let mut out = Vec::new();
    let mut rest = readme.as_str();
    while let Some(at) = rest.find("<!-- reader: ") {
        let after = &rest[at + "<!-- reader: ".len()..];
        let name = &after[..after.find(" -->").unwrap()];
        let code = &after[after.find("```python\n").unwrap() + "```python\n".len()..];
        let end = code.find("```").unwrap();
        out.push((name.to_owned(), code[..end].to_owned()));
        rest = &code[end..];
    }
    out
}

const COMMON: &str = r#"
import json, os
from decimal import Decimal
manifest = json.load(open("out/manifest.json"))
count = manifest["counts"]["observations"]
want = (Decimal(os.environ["WANT_COMPLETION"]), Decimal(os.environ["WANT_GROWTH"]))
def same(got):
    # Equal, and printed alike: the scale came through.
    assert tuple(got) == want and tuple(str(g) for g in got) == tuple(str(w) for w in want), (got, want)
"#;

/// What each reader must have got, run after its snippet.
fn checks(reader: &str) -> &'static str {
    match reader {
        "pyarrow" => {
            r#"
import pyarrow as pa
assert pa.types.is_integer(metrics.schema.field("year").type), metrics.schema.field("year").type
assert metrics.schema.field("actual").type == pa.decimal128(38, 20)
assert metrics.schema.field("completion_pct").type == pa.decimal128(38, 1)
assert metrics.num_rows == count, (metrics.num_rows, count)
same((seed[0]["completion_pct"], seed[0]["growth_pct"]))
assert meta[b"yearbook.table"] == b"metrics"
assert meta[b"yearbook.rounding"] == manifest["rounding"]["rule"].encode()
"#
        }
        "pandas" => {
            r#"
import pyarrow as pa
assert str(metrics["year"].dtype).startswith("int"), metrics["year"].dtype
assert isinstance(seed["completion_pct"].iloc[0], Decimal)
same((seed["completion_pct"].iloc[0], seed["growth_pct"].iloc[0]))
assert len(metrics) == count, (len(metrics), count)
assert str(metrics["completion"].dtype) == "float64"
typed = pd.read_parquet("out/metrics", dtype_backend="pyarrow")
assert typed["completion_pct"].dtype.pyarrow_dtype == pa.decimal128(38, 1)
"#
        }
        "polars" => {
            r#"
schema = metrics.collect_schema()
assert schema["year"].is_integer(), schema["year"]
assert schema["completion_pct"] == pl.Decimal(38, 1), schema["completion_pct"]
assert schema["actual"] == pl.Decimal(38, 20), schema["actual"]
assert metrics.select(pl.len()).collect().item() == count
same(seed.row(0))
assert meta["yearbook.table"] == "metrics", meta
"#
        }
        "duckdb" => {
            r#"
types = dict(duckdb.sql("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('out/metrics/*/*.parquet', hive_partitioning = true))").fetchall())
assert types["year"] in ("BIGINT", "INTEGER"), types["year"]
assert types["completion_pct"] == "DECIMAL(38,1)", types["completion_pct"]
assert duckdb.sql("SELECT count(*) FROM read_parquet('out/metrics/*/*.parquet')").fetchall()[0][0] == count
assert duckdb.sql("SELECT count(*) FROM read_parquet('out/totals/*/*.parquet')").fetchall()[0][0] == manifest["counts"]["totals"]
assert len(seed) == 1
same(seed[0])
assert dict(meta)[b"yearbook.table"] == b"metrics"
"#
        }
        other => panic!("no checks for reader {other}"),
    }
}

fn run(python: &str, dir: &Path, name: &str, code: &str, want: (&str, &str)) {
    // Not named after the module it imports, which Python would import
    // instead.
    let script = dir.join(format!("readme_{name}.py"));
    std::fs::write(&script, format!("{code}\n{COMMON}\n{}", checks(name))).unwrap();
    let o = Command::new(python)
        .arg(&script)
        .current_dir(dir)
        .env("WANT_COMPLETION", want.0)
        .env("WANT_GROWTH", want.1)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "the README's {name} snippet:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn each_reader_loads_the_parquet_as_the_readme_shows() {
    let found = snippets();
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["pyarrow", "pandas", "polars", "duckdb"]);
    let Some(python) = python() else {
        eprintln!("skipped: no python with pyarrow, pandas, polars and duckdb (set YEARBOOK_PYTHON)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    run_sample(&tmp.path().join("out"));
    // The figure the people's table shows.
    let people = csv_rows(&tmp.path().join("out/summary/2021/indicators.csv"));
    let row = find(&people, &[("单位代码", "TJ-HRSS"), ("指标代码", "EMP-URBAN-NEW")]);
    let want = (cell(&people, row, "完成率(%)"), cell(&people, row, "同比增长(%)"));
    assert_eq!(want, ("107.5", "1.43"));
    for (name, code) in &found {
        run(&python, tmp.path(), name, code, want);
    }
}
