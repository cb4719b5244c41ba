use crate::util::{Scratch, csv_rows, repo, run_sample, stdout, yearbook};

#[test]
fn validate_a_clean_file_exits_0() {
    let o = yearbook(&["validate", "sample_data/city/TJ-HRSS-2020.csv"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("16 rows read: 16 accepted, 0 quarantined"), "{}", stdout(&o));
}

#[test]
fn validate_names_file_line_and_field_and_exits_1() {
    let o = yearbook(&["validate", "sample_data/city/TJ-HRSS-2021.csv"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(out.contains("sample_data/city/TJ-HRSS-2021.csv:26: field `数值`: error bad_number"), "{out}");
    assert!(out.contains("\"千余\""), "{out}");
}

#[test]
fn every_configuration_error_is_reported_at_once_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.csv");
    std::fs::write(
        &catalog,
        "code,name_zh,name_en,base_unit,kind,direction,aggregation,numerator,denominator,decimals\n\
         A,甲,A,人,count,up,sum,,,0\n\
         B,乙,B,人,speed,up,sum,,,0\n\
         C,丙,C,%,rate,up,ratio,A,Z,1\n",
    )
    .unwrap();
    let o =
        yearbook(&["run", "--catalog", catalog.to_str().unwrap(), "--out", dir.path().join("out").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("catalog.csv:3: column `kind`: unknown variant `speed`"), "{err}");
    assert!(err.contains("catalog.csv:4: `C`: denominator `Z` is not in the catalog"), "{err}");
    assert!(!dir.path().join("out").exists(), "nothing is written on a fatal error");
}

#[test]
fn errors_in_toml_schemas_name_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    let units = std::fs::read_to_string(repo().join("schemas/units.toml")).unwrap();
    let units = units + "\n[[unit]]\nsymbol = \"万人\"\nbase = \"人\"\npower = 40\nname_en = \"again\"\n";
    let lines = units.lines().count();
    std::fs::write(dir.path().join("units.toml"), &units).unwrap();
    let units_path = dir.path().join("units.toml");
    let text = crate::util::pipeline_text(&[
        ("units = \"", &format!("units = \"{}\" # ", units_path.display())),
        ("[checks]", "[rounding.indicators.NOPE]\ncompletion_decimals = 2\n\n[checks]"),
    ]);
    let nope_line = text.lines().position(|l| l.contains("NOPE")).unwrap() + 1;
    let pipeline = dir.path().join("p.toml");
    std::fs::write(&pipeline, text).unwrap();
    let o = yearbook(&["run", "--pipeline", pipeline.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let symbol_line = lines - 3;
    assert!(err.contains(&format!("units.toml:{symbol_line}: unit `万人`: power 40 is more than 12")), "{err}");
    assert!(err.contains(&format!("units.toml:{symbol_line}: unit `万人` is listed twice")), "{err}");
    assert!(err.contains(&format!("p.toml:{nope_line}: rounding.indicators: `NOPE` is not in the catalog")), "{err}");
}

#[test]
fn a_failed_run_leaves_the_previous_outputs_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_sample(&out);
    let before = std::fs::read(out.join("manifest.json")).unwrap();
    let o = yearbook(&["run", "--agencies", "/nonexistent/agencies.csv", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read(out.join("manifest.json")).unwrap(), before);
    let mut names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    // The lock file stays (the lock is the kernel's, released with the run).
    assert_eq!(names, [".out.lock", "out"], "no staging directory is left behind");
}

#[test]
fn a_directory_yearbook_did_not_write_is_never_replaced() {
    let s = Scratch::new(&[]);
    std::fs::create_dir_all(s.out()).unwrap();
    std::fs::write(s.out().join("thesis.docx"), b"precious").unwrap();
    let o = s.run();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("refusing to replace a directory yearbook did not write"));
    assert_eq!(std::fs::read(s.out().join("thesis.docx")).unwrap(), b"precious");
}

#[test]
fn a_clean_run_exits_0() {
    let s =
        Scratch::new(&[("a.csv", b"agency,year,indicator,value,unit\nTJ-HRSS,2021,EMP-URBAN-NEW,1,\xe4\xba\xba\n")]);
    let o = s.run();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(csv_rows(&s.out().join("quarantine.csv")).len(), 1, "only the header");
}

#[test]
fn shipped_pipelines_compile() {
    for entry in std::fs::read_dir(repo().join("pipelines")).unwrap() {
        let path = entry.unwrap().path();
        yearbook::config::Pipeline::load(&path, Default::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

#[test]
fn the_readme_lists_every_error_code() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for code in yearbook::reject::Code::ALL {
        assert!(readme.contains(&format!("`{}`", code.as_str())), "README lacks `{}`", code.as_str());
    }
}

#[test]
fn a_workbook_larger_than_a_spreadsheet_is_a_configuration_error() {
    let s = Scratch::new(&[]);
    let o = s.run_with(&[("workbook_max_rows = 20000", "workbook_max_rows = 2000000")]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("workbook_max_rows is at most 1000000"), "{err}");
}

#[test]
fn the_people_s_csvs_can_be_written_in_gb18030_for_old_excel() {
    let tmp = tempfile::tempdir().unwrap();
    let utf8 = tmp.path().join("utf8");
    crate::util::run_sample(&utf8);
    let gb = tmp.path().join("gb");
    crate::util::run_sample_with(&[("csv_encoding = \"utf-8\"", "csv_encoding = \"gb18030\"")], &gb);
    for name in [
        "quarantine.csv",
        "warnings.csv",
        "summary/2021/claims.csv",
        "summary/2021/indicators.csv",
        "summary/2021/totals.csv",
    ] {
        let (a, b) = (std::fs::read(utf8.join(name)).unwrap(), std::fs::read(gb.join(name)).unwrap());
        let a = a.strip_prefix(b"\xEF\xBB\xBF").expect("UTF-8 files have a BOM");
        assert!(!b.starts_with(b"\xEF\xBB\xBF"), "{name}: no BOM in GB18030");
        let (decoded, _, bad) = encoding_rs::GB18030.decode(&b);
        assert!(!bad, "{name}");
        assert_eq!(decoded, String::from_utf8(a.to_vec()).unwrap(), "{name}");
        assert!(b.len() < a.len() + 3, "{name}: Chinese takes two bytes a character in GB18030");
    }
}

#[test]
fn a_run_too_large_for_a_person_writes_no_per_agency_summary_but_keeps_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    crate::util::run_sample_with(&[("summary_max_rows = 100000", "summary_max_rows = 100")], &out);
    assert!(!out.join("summary/2021/indicators.csv").exists());
    for kept in [
        "summary/2021/totals.csv",
        "summary/2021/league.csv",
        "summary/2021/claims.csv",
        "metrics/year=2021/part-00000.parquet",
    ] {
        assert!(out.join(kept).exists(), "{kept}");
    }
    // Every file still written is listed, with its hash.
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert!(m["outputs"].as_array().unwrap().iter().all(|f| !f["path"].as_str().unwrap().ends_with("indicators.csv")));
}

/// A year's mismatched claims for people are kept only up to
/// `summary_max_rows` rows; the claims table has every claim either way.
#[test]
fn a_year_with_more_mismatched_claims_than_a_person_reads_has_no_summary_of_them() {
    let tmp = tempfile::tempdir().unwrap();
    let full = tmp.path().join("full");
    crate::util::run_sample(&full);
    let rows = |y: i32| {
        let p = full.join(format!("summary/{y}/claims.csv"));
        p.exists().then(|| crate::util::csv_rows(&p).len() - 1)
    };
    let (y2021, y2022) = (rows(2021), rows(2022));
    assert_eq!((y2021, y2022), (Some(3), Some(1)), "the sample's mismatched claims");

    let out = tmp.path().join("out");
    crate::util::run_sample_with(&[("summary_max_rows = 100000", "summary_max_rows = 2")], &out);
    assert!(!out.join("summary/2021/claims.csv").exists(), "3 rows > 2");
    assert!(out.join("summary/2022/claims.csv").exists(), "1 row ≤ 2");
    assert_eq!(crate::util::claims_table(&out), crate::util::claims_table(&full));
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert!(m["outputs"].as_array().unwrap().iter().all(|f| f["path"] != "summary/2021/claims.csv"));
}

/// A pipeline with a mistake in each of three sections: all three
/// reported at once, each with its line.
#[test]
fn a_pipeline_s_mistakes_in_several_sections_are_all_reported_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let text = crate::util::pipeline_text(&[
        ("row_group_rows = 262144", "row_group_rows = \"many\""),
        ("[rounding]", "[rounding]\nbogus = 1"),
        ("first_year = 1949", "first_year = \"x\""),
    ]);
    let path = tmp.path().join("pipeline.toml");
    std::fs::write(&path, &text).unwrap();
    let o =
        yearbook(&["run", "-q", "--pipeline", path.to_str().unwrap(), "--out", tmp.path().join("o").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert!(err.contains("3 configuration errors"), "{err}");
    for (needle, says) in [
        ("\"many\"", "invalid type: string \"many\", expected usize"),
        ("bogus = 1", "unknown field `bogus`"),
        ("first_year = \"x\"", "invalid type: string \"x\", expected i32"),
    ] {
        let want = format!("pipeline.toml:{}: {says}", line_of(needle));
        assert!(err.contains(&want), "no `{want}` in:\n{err}");
    }
}
