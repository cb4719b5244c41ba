//! The audit workbook, recalculated by LibreOffice: every percentage its
//! formulas compute equals the one yearbook printed.
//!
//! Needs `soffice` (Debian: libreoffice-calc). Without it the test says so
//! and passes, unless `YEARBOOK_REQUIRE_SOFFICE=1` (as `.ci/run` sets),
//! where it fails.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::util::{csv_rows, parquet_rows, run_sample};

/// A LibreOffice profile that recalculates every formula of an .xlsx on
/// load instead of showing the values cached in the file (yearbook's own
/// figures, which this test must not take for a recalculation).
const RECALC_ALWAYS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"#;

fn soffice() -> Option<&'static str> {
    let found = Command::new("soffice").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found && std::env::var("YEARBOOK_REQUIRE_SOFFICE").is_ok_and(|v| v == "1") {
        panic!("soffice is required (YEARBOOK_REQUIRE_SOFFICE=1) but not found");
    }
    found.then_some("soffice")
}

/// Every sheet of `xlsx` as CSV, recalculated, into `dir` (`audit-<sheet>.csv`).
fn recalculate(soffice: &str, xlsx: &Path, dir: &Path) {
    let profile = dir.join("profile");
    std::fs::create_dir_all(profile.join("user")).unwrap();
    std::fs::write(profile.join("user/registrymodifications.xcu"), RECALC_ALWAYS).unwrap();
    let o = Command::new(soffice)
        .args(["--headless", "--norestore"])
        .arg(format!("-env:UserInstallation=file://{}", profile.display()))
        // 44 ',' 34 '"' 76 UTF-8, …, -1: every sheet to its own file.
        .args(["--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"])
        .arg("--outdir")
        .arg(dir)
        .arg(xlsx)
        .output()
        .expect("soffice runs");
    assert!(o.status.success(), "soffice: {}", String::from_utf8_lossy(&o.stderr));
}

fn num(s: &str) -> Option<f64> {
    (!s.is_empty()).then(|| s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}")))
}

/// Checks the recalculated `sheet[col]` against yearbook's `printed`.
fn agree(what: &str, recalculated: &str, printed: &str, compared: &mut usize, nonzero: &mut usize) {
    match (num(recalculated), num(printed)) {
        (None, None) => {}
        (Some(a), Some(b)) => {
            assert!((a - b).abs() < 1e-9, "{what}: the spreadsheet computes {a}, yearbook printed {b}");
            *compared += 1;
            *nonzero += usize::from(b != 0.0);
        }
        (a, b) => panic!("{what}: the spreadsheet has {a:?}, yearbook {b:?}"),
    }
}

#[test]
fn libreoffice_recalculates_every_percentage_yearbook_printed() {
    let Some(soffice) = soffice() else {
        eprintln!("skipped: soffice not found (apt-get install -y libreoffice-calc)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    run_sample(&out);
    let csv = tmp.path().join("csv");
    recalculate(soffice, &out.join("audit.xlsx"), &csv);

    let (mut compared, mut nonzero) = (0, 0);
    let metrics = parquet_rows(&out, "metrics");
    let col = |rows: &[Vec<String>], name: &str| rows[0].iter().position(|h| h == name).unwrap();
    let by_key: BTreeMap<(String, String, String), &Vec<String>> = metrics[1..]
        .iter()
        .map(|r| ((r[0].clone(), r[col(&metrics, "agency")].clone(), r[col(&metrics, "indicator")].clone()), r))
        .collect();
    let mut rows_seen = 0;
    for year in ["2015", "2016", "2017", "2018", "2019", "2020", "2021", "2022"] {
        let sheet = csv_rows(&csv.join(format!("audit-{year}.csv")));
        for r in &sheet[1..] {
            let key = (year.to_owned(), r[col(&sheet, "agency")].clone(), r[col(&sheet, "indicator")].clone());
            let m = by_key.get(&key).unwrap_or_else(|| panic!("{key:?}: in the workbook, not in the metrics"));
            rows_seen += 1;
            for c in ["completion_pct", "growth_pct", "change_pp"] {
                let what = format!("{year} {} {} {c}", key.1, key.2);
                agree(&what, &r[col(&sheet, c)], &m[col(&metrics, c)], &mut compared, &mut nonzero);
            }
        }
    }
    assert_eq!(rows_seen, metrics.len() - 1, "one workbook row per metric row");

    let totals = parquet_rows(&out, "totals");
    let sheet = csv_rows(&csv.join("audit-totals.csv"));
    let mut totals_seen = 0;
    for r in sheet[1..].iter().filter(|r| r[col(&sheet, "row")] == "total") {
        let key = [r[0].as_str(), &r[col(&sheet, "agency")], &r[col(&sheet, "indicator")]];
        let t = totals[1..]
            .iter()
            .find(|t| [t[0].as_str(), &t[col(&totals, "agency")], &t[col(&totals, "indicator")]] == key)
            .unwrap_or_else(|| panic!("{key:?}: in the workbook, not in the totals"));
        totals_seen += 1;
        for c in ["value", "completion_pct", "growth_pct", "change_pp"] {
            let what = format!("total {key:?} {c}");
            agree(&what, &r[col(&sheet, c)], &t[col(&totals, c)], &mut compared, &mut nonzero);
        }
    }
    assert_eq!(totals_seen, totals.len() - 1, "one workbook block per total");
    // The file caches 0 for every formula: non-zero agreement proves that
    // LibreOffice computed them.
    assert!(nonzero > 200, "only {nonzero} non-zero figures compared");
    eprintln!("{compared} recalculated figures equal yearbook's ({nonzero} non-zero)");
}

/// Without recalculating (as pandas, openpyxl and file previews read it),
/// every formula shows yearbook's own figure, and every percentage has its
/// indicator's decimals as its number format.
#[test]
fn every_formula_shows_yearbook_s_figure_before_any_recalculation() {
    use calamine::{Data, DataType, Reader, open_workbook_auto};
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    run_sample(&out);
    let mut book = open_workbook_auto(out.join("audit.xlsx")).unwrap();
    let (mut compared, mut zeros) = (0, 0);
    for sheet in book.sheet_names() {
        let range = book.worksheet_range(&sheet).unwrap();
        let rows: Vec<&[Data]> = range.rows().collect();
        let col = |name: &str| rows[0].iter().position(|c| c.get_string() == Some(name));
        let pairs: &[(&str, &str)] = if sheet == "totals" {
            &[
                ("value", "yearbook_value"),
                ("completion_pct", "yearbook_completion_pct"),
                ("growth_pct", "yearbook_growth_pct"),
                ("change_pp", "yearbook_change_pp"),
            ]
        } else {
            &[
                ("completion_pct", "yearbook_completion_pct"),
                ("growth_pct", "yearbook_growth_pct"),
                ("change_pp", "yearbook_change_pp"),
            ]
        };
        for (formula, printed) in pairs {
            let (f, p) = (col(formula).unwrap(), col(printed).unwrap());
            for r in &rows[1..] {
                let (shown, want) = (r.get(f).and_then(|d| d.as_f64()), r.get(p).and_then(|d| d.as_f64()));
                if let (Some(shown), Some(want)) = (shown, want) {
                    compared += 1;
                    assert!((shown - want).abs() < 1e-9, "{sheet}: {formula} shows {shown}, yearbook printed {want}");
                    zeros += usize::from(shown == 0.0 && want != 0.0);
                }
            }
        }
    }
    assert!(compared > 400, "{compared} figures compared");
    assert_eq!(zeros, 0);
}

/// A value as typed past Excel's 32 767 characters (padded with white
/// space, which the number grammar allows): the run goes on, the audit
/// workbook's cell is cut with a mark, the Parquet keeps it whole.
#[test]
fn a_cell_past_excel_s_limit_is_cut_in_the_workbook_and_kept_whole_in_parquet() {
    use calamine::{DataType, Reader, open_workbook_auto};
    let raw = format!("{}217", " ".repeat(39_997));
    let text = format!("{}TJ-HRSS,2021,INFO-DISCLOSED,,{raw},条,,,,\n", crate::util::EN_HEADER);
    let s = crate::util::Scratch::new(&[("city/long-name.csv", text.as_bytes())]);
    let o = s.run();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let obs = crate::util::parquet_rows(&s.out(), "observations");
    assert_eq!(crate::util::cell(&obs, &obs[1], "value_raw"), raw);
    let mut book = open_workbook_auto(s.out().join("audit.xlsx")).unwrap();
    let cells: Vec<String> = book
        .sheet_names()
        .iter()
        .flat_map(|sheet| {
            let range = book.worksheet_range(sheet).unwrap();
            range.cells().filter_map(|(.., c)| c.get_string().map(str::to_owned)).collect::<Vec<_>>()
        })
        .filter(|c| c.starts_with("    "))
        .collect();
    assert!(!cells.is_empty());
    for c in cells {
        assert!(c.encode_utf16().count() <= 32_767, "{} units", c.encode_utf16().count());
        assert!(c.ends_with("…[cut: 40000 characters in all, whole in the Parquet and CSV]"), "{}", &c[c.len() - 80..]);
    }
}
