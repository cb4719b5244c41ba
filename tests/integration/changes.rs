//! What changed since the previous run: `changes.csv` beside the outputs
//! and `yearbook diff` between any two, after a changed, a removed and a
//! new file.

use std::path::Path;

use crate::util::{EN_HEADER, copy_tree, csv_rows, parquet_rows, repo, yearbook};

/// A run, published whatever it withdraws (the guards would hold a night
/// that removes a file of the sample's size).
fn run(input: &Path, out: &Path) {
    let o = yearbook(&["run", "-q", "--accept", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
}

/// The rows of a changes listing as (year, agency, indicator, measure,
/// change, old, new, file, line).
fn listed(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    rows[1..].to_vec()
}

#[test]
fn a_changed_a_removed_and_a_new_file_are_listed_figure_by_figure() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, out) = (tmp.path().join("in"), tmp.path().join("out"));
    copy_tree(&repo().join("sample_data"), &input);
    run(&input, &out);
    assert!(!out.join("changes.csv").exists(), "a first run has nothing to compare with");
    copy_tree(&out, &tmp.path().join("first"));

    // The bureau corrects its new jobs, the civil affairs bureau's file is
    // withdrawn, the justice bureau sends 2023.
    let hrss = input.join("city/TJ-HRSS-2021.csv");
    let text = std::fs::read_to_string(&hrss).unwrap().replace(",37.62,万人,35,", ",37.70,万人,35,");
    std::fs::write(&hrss, text).unwrap();
    std::fs::remove_file(input.join("city/TJ-MZ-wide.csv")).unwrap();
    std::fs::write(input.join("city/TJ-JUS-2023.csv"), format!("{EN_HEADER}TJ-JUS,2023,INFO-DISCLOSED,,120,条,,,,\n"))
        .unwrap();
    run(&input, &out);

    let rows = csv_rows(&out.join("changes.csv"));
    assert_eq!(rows[0][0], "年度 year");
    let find = |year: &str, agency: &str, indicator: &str, measure: &str| -> &Vec<String> {
        rows.iter()
            .find(|r| r[0] == year && r[1] == agency && r[2] == indicator && r[3] == measure)
            .unwrap_or_else(|| panic!("no change of {year} {agency} {indicator} {measure}"))
    };
    let value = find("2021", "TJ-HRSS", "EMP-URBAN-NEW", "实际值");
    assert_eq!(&value[4..], ["修订", "376200", "377000", "city/TJ-HRSS-2021.csv", "2"]);
    let completion = find("2021", "TJ-HRSS", "EMP-URBAN-NEW", "完成率(%)");
    assert_eq!(&completion[4..7], ["修订", "107.5", "107.7"]);
    let total = find("2021", "TJ", "EMP-URBAN-NEW", "合计值");
    assert_eq!(total[4], "修订");
    assert_eq!(total[7], "", "a total comes from no one file");
    let new = find("2023", "TJ-JUS", "INFO-DISCLOSED", "实际值");
    assert_eq!(&new[4..], ["新增", "", "120", "city/TJ-JUS-2023.csv", "2"]);
    let withdrawn: Vec<&Vec<String>> = rows[1..].iter().filter(|r| r[1] == "TJ-MZ").collect();
    assert!(!withdrawn.is_empty());
    for r in &withdrawn {
        assert_eq!((r[4].as_str(), r[6].as_str(), r[7].as_str()), ("撤回", "", "city/TJ-MZ-wide.csv"), "{r:?}");
    }
    // The value moves its completion and its growth over 2020; nothing
    // else of the bureau's 2021 figures changed.
    assert_eq!(find("2021", "TJ-HRSS", "EMP-URBAN-NEW", "同比增长(%)")[4], "修订");
    let hrss_rows = rows[1..].iter().filter(|r| r[1] == "TJ-HRSS" && r[0] == "2021").count();
    assert_eq!(hrss_rows, 3);

    // The `changes` table holds the same rows, values exact.
    let table = parquet_rows(&out, "changes");
    assert_eq!(table.len(), rows.len());
    let h = &table[0];
    let at = |name: &str| h.iter().position(|c| c == name).unwrap();
    let revised = table
        .iter()
        .find(|r| r[at("agency")] == "TJ-HRSS" && r[at("measure")] == "value" && r[at("year")] == "2021")
        .expect("the revised value in the table");
    assert_eq!(revised[at("change")], "revised");
    assert_eq!(revised[at("old")].trim_end_matches('0').trim_end_matches('.'), "376200");
    assert_eq!(revised[at("new")].trim_end_matches('0').trim_end_matches('.'), "377000");
    assert_eq!(
        (revised[at("source_file")].as_str(), revised[at("source_line")].as_str()),
        ("city/TJ-HRSS-2021.csv", "2")
    );

    // The manifest counts them; `diff` lists the same rows.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let counted: u64 = ["new", "revised", "withdrawn"].iter().map(|k| manifest["changes"][k].as_u64().unwrap()).sum();
    assert_eq!(counted as usize, rows.len() - 1);
    let report = std::fs::read_to_string(out.join("report.html")).unwrap();
    let cards = &report[report.find("与上次运行相比").expect("the report counts the changes")..];
    assert!(cards.contains(&format!("<b>{}</b>修订", manifest["changes"]["revised"])), "{}", &cards[..400]);
    let d = yearbook(&["diff", tmp.path().join("first").to_str().unwrap(), out.to_str().unwrap()]);
    assert!(d.status.success(), "{}", String::from_utf8_lossy(&d.stderr));
    let diffed = tmp.path().join("diff.csv");
    std::fs::write(&diffed, &d.stdout).unwrap();
    assert_eq!(listed(&csv_rows(&diffed)), listed(&rows));
    let stderr = String::from_utf8_lossy(&d.stderr);
    assert!(stderr.contains(&format!("{} revised", manifest["changes"]["revised"])), "{stderr}");
}

/// The same inputs again: no change, and the outputs but `changes.csv`,
/// the manifest and the report's count of changes are the first run's.
#[test]
fn a_rerun_on_the_same_inputs_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    crate::util::run_sample(&out);
    let first = crate::util::files_under(&out);
    crate::util::run_sample(&out);
    let rows = csv_rows(&out.join("changes.csv"));
    assert_eq!(rows.len(), 1, "only the header: {rows:?}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!((manifest["changes"]["new"].as_u64(), manifest["changes"]["revised"].as_u64()), (Some(0), Some(0)));
    for (name, bytes) in first {
        if name == "manifest.json" || name == "report.html" {
            continue;
        }
        assert_eq!(std::fs::read(out.join(&name)).unwrap(), bytes, "{name}");
    }
}

/// `diff` reads a part that both manifests list alike when it no longer
/// holds what they say (a part edited on disk after the run): the edit
/// shows, not `0 revised`.
#[test]
fn diff_reads_a_part_edited_after_the_run_whatever_the_manifests_say() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    crate::util::run_sample(&a);
    copy_tree(&a, &b);
    // b's observations of 2020 replaced by a's of 2019 (another year's
    // figures: every one of 2020 differs).
    let part = |out: &Path, y: u32| out.join(format!("observations/year={y}/part-00000.parquet"));
    std::fs::remove_file(part(&b, 2020)).unwrap();
    std::fs::copy(part(&a, 2019), part(&b, 2020)).unwrap();
    let d = yearbook(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(d.status.success(), "{}", String::from_utf8_lossy(&d.stderr));
    let stderr = String::from_utf8_lossy(&d.stderr);
    assert!(!stderr.contains(": 0 figures new, 0 revised, 0 withdrawn"), "{stderr}");
}
