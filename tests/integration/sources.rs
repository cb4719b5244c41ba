//! Sources: files in shapes the contract does not have, read by a
//! `[[sources]]` entry of the pipeline instead of a conversion script.

use crate::util::{Scratch, cell, csv_rows, find, parquet_rows, pipeline_text, yearbook};

/// The bundled pipeline with `entry` appended.
fn with_source(s: &Scratch, entry: &str) -> std::path::PathBuf {
    let path = s.dir.path().join("pipeline.toml");
    std::fs::write(&path, format!("{}\n{entry}", pipeline_text(&[]))).unwrap();
    path
}

fn run(s: &Scratch, pipeline: &std::path::Path) -> std::process::Output {
    crate::util::run_pipeline(s, pipeline, &[])
}

fn manifest(s: &Scratch) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(s.out().join("manifest.json")).unwrap()).unwrap()
}

const PEOPLE: &str = "\
全市人力资源主要指标
单位,年份,城镇新增就业(万人),Average age of attracted talents (岁),某某指标(个),说明
市人社,2018,35.2,33.1234567890123456789,7,
天津市司法局,2018,..,..,8,
市人社,2017,34.9,—,9,数据待核实
注：..表示暂缺。
,,,,,
资料来源：各单位。
";

const PEOPLE_SOURCE: &str = r#"
[[sources]]
files = "stats/*.csv"
layout = "indicators"
header_row = 2
not_available = [".."]
[sources.columns]
"单位" = "agency"
[sources.values.agency]
"市人社" = "TJ-HRSS"
"#;

#[test]
fn indicators_as_columns_are_read_with_units_from_the_header_and_nothing_is_lost() {
    let s = Scratch::new(&[("stats/people.csv", PEOPLE.as_bytes())]);
    let o = run(&s, &with_source(&s, PEOPLE_SOURCE));
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let m = manifest(&s);
    let f = &m["inputs"][0];
    assert_eq!((f["source"].as_str(), f["layout"].as_str()), (Some("stats/*.csv"), Some("indicators")));
    // 8 lines: a title, the header, 3 records and 3 footnote rows (the
    // empty row after the first footnote is one of them).
    assert_eq!([&f["lines"], &f["title_rows"], &f["records"], &f["footnote_rows"], &f["blank_rows"]], [8, 1, 3, 3, 0]);
    // Three indicator columns a record: 9 observations read.
    assert_eq!((&f["rows_read"], &f["accepted"], &f["quarantined"]), (&9.into(), &6.into(), &3.into()));

    let obs = parquet_rows(&s.out(), "observations");
    // 35.2 万人 from the header's unit; the agency by the source's map.
    let emp = find(&obs, &[("agency", "TJ-HRSS"), ("indicator", "EMP-URBAN-NEW"), ("year", "2018")]);
    assert_eq!(cell(&obs, emp, "value"), format!("352000.{}", "0".repeat(20)));
    assert_eq!((cell(&obs, emp, "unit_sent"), cell(&obs, emp, "source_line")), ("万人", "3"));
    assert_eq!(cell(&obs, emp, "source_field"), "城镇新增就业(万人)");
    // An English catalog name, 19 decimals kept exactly.
    let age = find(&obs, &[("agency", "TJ-HRSS"), ("indicator", "TALENT-AGE"), ("year", "2018")]);
    assert_eq!(cell(&obs, age, "value"), "33.12345678901234567890");
    // `..` means not available here: missing, no note needed. The agency
    // by the register's Chinese name.
    let jus = find(&obs, &[("agency", "TJ-JUS"), ("indicator", "EMP-URBAN-NEW")]);
    assert_eq!((cell(&obs, jus, "value"), cell(&obs, jus, "value_raw"), cell(&obs, jus, "note")), ("", "..", ""));
    // `—` is missing too, and its row has a note.
    let noted = find(&obs, &[("agency", "TJ-HRSS"), ("indicator", "TALENT-AGE"), ("year", "2017")]);
    assert_eq!(cell(&obs, noted, "note"), "数据待核实");

    // A column that names no indicator: each of its cells is quarantined,
    // none dropped.
    let q = csv_rows(&s.out().join("quarantine.csv"));
    let got: Vec<(&str, &str, &str, &str)> =
        q[1..].iter().map(|r| (r[1].as_str(), r[3].as_str(), r[4].as_str(), r[5].as_str())).collect();
    assert_eq!(
        got,
        [
            ("3", "某某指标(个)", "某某指标(个)", "unknown_indicator"),
            ("4", "某某指标(个)", "某某指标(个)", "unknown_indicator"),
            ("5", "某某指标(个)", "某某指标(个)", "unknown_indicator"),
        ]
    );

    // explain cites the original file, line and column.
    let e = yearbook(&["explain", "TJ-HRSS", "EMP-URBAN-NEW", "2018", "--json", "--out", s.out().to_str().unwrap()]);
    let e: serde_json::Value = serde_json::from_slice(&e.stdout).unwrap();
    let input = &e["derivations"][0]["inputs"][0];
    assert_eq!(input["source"]["file"], "stats/people.csv");
    assert_eq!((&input["source"]["line"], &input["source"]["field"]), (&3.into(), &"城镇新增就业(万人)".into()));
    assert_eq!(input["conversion"], "35.2 万人 × 10^4 = 352000 人");
}

#[test]
fn every_mistake_in_the_sources_is_reported_at_load_with_its_line() {
    let s = Scratch::new(&[]);
    let entry = r#"
[[sources]]
files = "a/*.csv"
layout = "sideways"
header_rows = 7
[sources.columns]
"地区" = "region"
[sources.constants]
indicator = "NO-SUCH"
year = 21
[sources.values.agency]
"和平区" = "TJ-D99"
"#;
    let p = with_source(&s, entry);
    let o = run(&s, &p);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let text = std::fs::read_to_string(&p).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let line_of = |needle: &str| lines.iter().rposition(|l| l.contains(needle)).unwrap() + 1;
    for (needle, says) in [
        ("\"sideways\"", "layout `sideways` is none of long, wide, indicators"),
        ("header_rows = 7", "header_rows is 1 to 6"),
        ("\"region\"", "columns: `region` is not a field"),
        ("\"NO-SUCH\"", "indicator `NO-SUCH` is not in the catalog"),
        ("year = 21", "year 21 is not a four-digit year"),
        ("\"TJ-D99\"", "agency `TJ-D99` is not in the register"),
    ] {
        let want = format!("pipeline.toml:{}: source `a/*.csv`: {says}", line_of(needle));
        assert!(err.contains(&want), "no `{want}` in:\n{err}");
    }
}

#[test]
fn a_file_two_sources_match_is_refused_naming_both() {
    let s = Scratch::new(&[("stats/people.csv", PEOPLE.as_bytes())]);
    let second = "\n[[sources]]\nfiles = \"stats/people.*\"\nlayout = \"long\"\n";
    let o = run(&s, &with_source(&s, &format!("{PEOPLE_SOURCE}{second}")));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("`stats/people.csv` matches two sources, `stats/*.csv` and `stats/people.*`"), "{err}");
    assert!(!s.out().exists(), "nothing was written");
}

#[test]
fn the_sample_s_imports_are_read_as_their_sources_say() {
    let tmp = tempfile::tempdir().unwrap();
    crate::util::run_sample(tmp.path());
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("manifest.json")).unwrap()).unwrap();
    let inputs = m["inputs"].as_array().unwrap();
    let by_path = |p: &str| inputs.iter().find(|f| f["path"] == p).unwrap();
    let d = by_path("imports/districts-2016-2018.csv");
    assert_eq!(
        (&d["layout"], &d["title_rows"], &d["footnote_rows"], &d["accepted"]),
        (&"indicators".into(), &1.into(), &2.into(), &36.into())
    );
    let w = by_path("imports/wages-wide.csv");
    assert_eq!((&w["layout"], &w["title_rows"], &w["accepted"]), (&"wide".into(), &3.into(), &6.into()));
    let l = by_path("imports/litigation-long-en.csv");
    assert_eq!((&l["layout"], &l["accepted"]), (&"long".into(), &6.into()));
    let obs = parquet_rows(tmp.path(), "observations");
    // The two-row header's merged 劳动人事争议 over 受理数, through the value map.
    let d01 = find(&obs, &[("agency", "TJ-D01-HRSS"), ("indicator", "DISPUTE-ACCEPTED"), ("year", "2016")]);
    assert_eq!(cell(&obs, d01, "source_field"), "劳动人事争议 受理数（件）");
    assert_eq!(cell(&obs, d01, "value_raw"), "1650");
    let wage = find(&obs, &[("agency", "TJ-HRSS"), ("indicator", "WAGE-MIN-HOUR"), ("year", "2016")]);
    assert_eq!((cell(&obs, wage, "unit_sent"), cell(&obs, wage, "source_line")), ("元", "6"));
    // A workbook's figure: explain cites the workbook, its sheet and cell.
    let out = tmp.path().to_str().unwrap();
    let e = yearbook(&["explain", "TJ-D13-HRSS", "INS-INJURY", "2021", "--metric", "growth", "--out", out]);
    let text = String::from_utf8_lossy(&e.stdout);
    assert!(
        text.contains("imports/2021年各区社会保险参保情况.xlsx sheet \"2021年报表\", cell D7, field \"社会保险参保人数（万人） 工伤保险\""),
        "{text}"
    );
    assert!(text.contains("typed \"90.125\" in 万人: 90.125 万人 × 10^4 = 901250 人"), "{text}");
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(crate::util::repo().join("tests/fixtures").join(name)).unwrap()
}

#[test]
fn a_workbook_s_cells_are_read_as_typed_and_a_formula_without_its_value_is_quarantined() {
    let s = Scratch::new(&[("book/formula.xlsx", &fixture("formula.xlsx"))]);
    let o = run(&s, &with_source(&s, ""));
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let f = &manifest(&s)["inputs"][0];
    assert_eq!(
        (&f["sheet"], &f["rows_read"], &f["accepted"], &f["quarantined"]),
        (&"data".into(), &3.into(), &2.into(), &1.into())
    );
    // The formula has no saved value (the workbook was written by a
    // program that does not compute). The quarantine shows the cell
    // guarded against running as a formula in a spreadsheet, and no byte.
    let q = csv_rows(&s.out().join("quarantine.csv"));
    let got: Vec<(&str, &str, &str, &str, &str)> =
        q[1..].iter().map(|r| (r[0].as_str(), r[1].as_str(), r[2].as_str(), r[4].as_str(), r[5].as_str())).collect();
    assert_eq!(got, [("book/formula.xlsx", "4", "", "'=D2+D3", "formula_without_value")]);
    let obs = parquet_rows(&s.out(), "observations");
    // 0.1 + 0.2 is the double 0.30000000000000004: shown, and read, as 0.3.
    let sum = find(&obs, &[("year", "2017")]);
    assert_eq!((cell(&obs, sum, "value_raw"), cell(&obs, sum, "source_cell")), ("0.3", "D3"));
    assert_eq!((cell(&obs, sum, "source_sheet"), cell(&obs, sum, "source_byte")), ("data", ""));

    // The same sheet saved by LibreOffice (.ods), which computed the
    // formula and kept its value.
    let s = Scratch::new(&[("sheet/formula.ods", &fixture("formula.ods"))]);
    let o = run(&s, &with_source(&s, ""));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let obs = parquet_rows(&s.out(), "observations");
    assert_eq!(cell(&obs, find(&obs, &[("year", "2016")]), "value_raw"), "150.3");

    // And as Excel 97–2003 (.xls), saved the same way.
    let s = Scratch::new(&[("sheet/formula.xls", &fixture("formula.xls"))]);
    let o = run(&s, &with_source(&s, ""));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let obs = parquet_rows(&s.out(), "observations");
    let sum = find(&obs, &[("year", "2017")]);
    assert_eq!((cell(&obs, sum, "value_raw"), cell(&obs, sum, "source_cell")), ("0.3", "D3"));
}

#[test]
fn a_sheet_the_workbook_does_not_have_refuses_the_file_and_says_which_it_has() {
    let s = Scratch::new(&[("book/formula.xlsx", &fixture("formula.xlsx"))]);
    let o = run(&s, &with_source(&s, "[[sources]]\nfiles = \"book/*.xlsx\"\nsheet = \"2021\"\n"));
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let m = manifest(&s);
    assert_eq!(m["inputs"][0]["refused"], "unreadable_workbook: no sheet `2021`: the workbook has `data`");
    // Quarantined whole: one entry for the file, with why.
    let q = csv_rows(&s.out().join("quarantine.csv"));
    assert_eq!(
        (q.len(), q[1][5].as_str(), q[1][6].as_str()),
        (2, "unreadable_workbook", "工作簿无法读取，或找不到指定的工作表（找不到工作表 `2021`；工作簿中有 `data`）")
    );
}

/// `describe` on every file of the sample's imports, its draft edited only
/// where it says it could not decide (each `"?"`, a `year = 0`), then
/// `run` with it: every row read and accepted. The answers per file are
/// counted, so a better draft shows here as fewer.
#[test]
fn describe_drafts_a_source_each_sample_shape_runs_with() {
    let q = "= \"?\"";
    let cases: [(&str, &[(&str, &str)], u64); 7] = [
        ("imports/2019-2020年劳动保障监察情况.csv", &[(q, "= \"TJ\""), (q, "= \"TJ-HRSS\"")], 20),
        ("imports/2019-2020年各区劳动人事争议调解情况.xlsx", &[], 12),
        (
            "imports/2021年各区社会保险参保情况.xlsx",
            &[(q, "= \"INS-PENSION\""), (q, "= \"INS-INJURY\""), (q, "= \"INS-UNEMP\"")],
            9,
        ),
        ("imports/district-employment-2015-en.csv", &[("year = 0", "year = 2015"), (q, "= \"岁\"")], 12),
        ("imports/districts-2016-2018.csv", &[], 36),
        ("imports/litigation-long-en.csv", &[(q, "= \"ADMIN-LITIGATION\""), (q, "= \"件\"")], 6),
        ("imports/wages-wide.csv", &[(q, "= \"元\"")], 6),
    ];
    let names: Vec<String> = std::fs::read_dir(crate::util::repo().join("sample_data/imports"))
        .unwrap()
        .map(|e| format!("imports/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    assert_eq!(names.len(), cases.len(), "every sample import has its case: {names:?}");
    for (rel, answers, rows) in cases {
        let bytes = std::fs::read(crate::util::repo().join("sample_data").join(rel)).unwrap();
        let s = Scratch::new(&[(rel, &bytes)]);
        let sample = format!("\"{}\"", crate::util::repo().join("sample_data").display());
        let input = format!("\"{}\"", s.input().display());
        let pipeline = s.dir.path().join("pipeline.toml");
        std::fs::write(&pipeline, crate::util::pipeline_without_sources().replace(&sample, &input)).unwrap();
        let p = pipeline.to_str().unwrap();
        let d = yearbook(&["describe", "--pipeline", p, s.input().join(rel).to_str().unwrap()]);
        assert_eq!(d.status.code(), Some(0), "{}", String::from_utf8_lossy(&d.stderr));
        let mut draft = String::from_utf8(d.stdout).unwrap();
        assert!(draft.contains(&format!("files = \"{rel}\"")), "{draft}");
        let undecided = draft.matches(q).count() + draft.matches("year = 0").count();
        assert_eq!(undecided, answers.len(), "{rel}:\n{draft}");
        for (needle, answer) in answers {
            draft = draft.replacen(needle, answer, 1);
        }
        let text = std::fs::read_to_string(&pipeline).unwrap();
        std::fs::write(&pipeline, format!("{text}\n{draft}")).unwrap();
        let o = s.out();
        let run = yearbook(&["run", "-q", "--pipeline", p, "--out", o.to_str().unwrap()]);
        assert!(matches!(run.status.code(), Some(0 | 1)), "{rel}:\n{draft}\n{}", String::from_utf8_lossy(&run.stderr));
        let f = &manifest(&s)["inputs"][0];
        assert_eq!((&f["rows_read"], &f["accepted"]), (&rows.into(), &rows.into()), "{rel}:\n{draft}\n{f}");
    }
}

/// A file describe finds no header in: it says so and exits non-zero.
#[test]
fn describe_exits_non_zero_when_it_cannot_draft() {
    let s = Scratch::new(&[("t/none.csv", "1,2\n3,4\n".as_bytes())]);
    let d = yearbook(&["describe", s.input().join("t/none.csv").to_str().unwrap()]);
    assert_eq!(d.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&d.stdout).contains("could not find a header row"));
}

/// A workbook whose cell reference overflows the reader's arithmetic (found
/// by fuzzing: the reader panics on it where overflow is checked): the
/// file is refused as unreadable, the run goes on and the other files are
/// read.
#[test]
fn a_workbook_the_reader_fails_on_is_refused_and_the_run_goes_on() {
    let good = format!("{}TJ-HRSS,2018,INFO-DISCLOSED,,150,条,,,,\n", crate::util::EN_HEADER);
    let s = Scratch::new(&[("a/broken.xlsx", &fixture("broken-cell-reference.xlsx")), ("b/good.csv", good.as_bytes())]);
    let o = run(&s, &with_source(&s, ""));
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let m = manifest(&s);
    let broken = &m["inputs"][0];
    assert_eq!(broken["path"], "a/broken.xlsx");
    assert!(
        broken["refused"].as_str().unwrap().starts_with("unreadable_workbook: not a readable workbook"),
        "{broken}"
    );
    assert_eq!(m["inputs"][1]["accepted"], 1);
}

/// Footnote markers end the data only at rows that do not read as
/// records: a marker that matches data as a word (`TJ` in `TJ-HRSS`) takes
/// no row, a record after a footnote is read with a warning, and every
/// title and footnote row is listed with its text. An empty marker is
/// refused at load.
#[test]
fn a_row_that_reads_as_a_record_is_never_a_footnote_and_every_title_and_footnote_is_listed() {
    let table = "全市人力资源主要指标\n单位,年份,城镇新增就业(万人),说明\nTJ-HRSS,2018,35.2,\n注：..表示暂缺。\nTJ-HRSS,2019,37.6,\n资料来源：各单位。\n";
    let s = Scratch::new(&[("stats/people.csv", table.as_bytes())]);
    let entry = r#"
[[sources]]
files = "stats/*.csv"
layout = "indicators"
header_row = 2
footnotes = ["TJ", "注", "资料来源"]
[sources.columns]
"单位" = "agency"
"#;
    let o = run(&s, &with_source(&s, entry));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let f = &manifest(&s)["inputs"][0];
    assert_eq!([&f["lines"], &f["title_rows"], &f["records"], &f["footnote_rows"], &f["accepted"]], [6, 1, 2, 2, 2]);
    let w = csv_rows(&s.out().join("warnings.csv"));
    let got: Vec<(&str, &str, &str)> = w[1..].iter().map(|r| (r[1].as_str(), r[4].as_str(), r[5].as_str())).collect();
    assert_eq!(
        got,
        [
            ("1", "全市人力资源主要指标", "title_row"),
            ("4", "注：..表示暂缺。", "footnote_row"),
            ("5", "TJ-HRSS,2019,37.6,", "record_after_footnote"),
            ("6", "资料来源：各单位。", "footnote_row"),
        ]
    );
    let obs = parquet_rows(&s.out(), "observations");
    assert_eq!(cell(&obs, find(&obs, &[("year", "2019")]), "source_line"), "5");

    let p = with_source(&s, &entry.replace(r#"["TJ", "注", "资料来源"]"#, r#"["注", " "]"#));
    let o = run(&s, &p);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("a footnote marker is empty"), "{o:?}");
}

/// describe on a file whose one line is 60 MB: the record past the limit
/// is named and not looked at, as a run leaves it; the rest is drafted.
#[test]
fn describe_names_a_record_past_the_size_limit_and_drafts_the_rest() {
    let huge = "x".repeat(60_000_000);
    let text = format!("单位,年份,城镇新增就业(万人)\n市人社,2018,35.2\n{huge}\n市人社,2019,37.6\n");
    let s = Scratch::new(&[("stats/long.csv", text.as_bytes())]);
    let p = with_source(&s, "");
    let d =
        yearbook(&["describe", "--pipeline", p.to_str().unwrap(), s.input().join("stats/long.csv").to_str().unwrap()]);
    assert!(d.status.success(), "{}", String::from_utf8_lossy(&d.stderr));
    let out = String::from_utf8_lossy(&d.stdout);
    assert!(out.contains("long.csv:3: a record of 60000000 bytes, past 1048576: not looked at"), "{out}");
    assert!(out.contains("[[sources]]"), "{out}");
}

/// (agency, indicator, year, value, source_field) of every observation,
/// sorted.
fn figures(s: &Scratch) -> Vec<(String, String, String, String, String)> {
    let obs = parquet_rows(&s.out(), "observations");
    let mut got: Vec<_> = obs[1..]
        .iter()
        .map(|r| {
            let c = |name| cell(&obs, r, name).to_owned();
            let value = c("value").trim_end_matches('0').trim_end_matches('.').to_owned();
            (c("agency"), c("indicator"), c("year"), value, c("source_field"))
        })
        .collect();
    got.sort();
    got
}

const MEDIATION: &str =
    "[sources.columns]\n\"地区\" = \"agency\"\n[sources.values.agency]\n\"和平区\" = \"TJ-D01-HRSS\"\n";

/// A yearbook table with each year merged over its indicators (saved as
/// the year in the first column and empty cells after it): each column
/// takes its year from the row above, its indicator from its own.
#[test]
fn years_in_an_upper_header_row_give_each_indicator_column_its_year() {
    let table = "地区,2019年,,2020年,\n,调解受理案件,调解成功案件,调解受理案件,调解成功案件\n和平区,812,604,845,633\n";
    let s = Scratch::new(&[("t/mediation.csv", table.as_bytes())]);
    let entry = format!("[[sources]]\nfiles = \"t/*.csv\"\nlayout = \"indicators\"\nheader_rows = 2\n{MEDIATION}");
    let o = run(&s, &with_source(&s, &entry));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let row = |i: &str, y: &str, v: &str, f: &str| ("TJ-D01-HRSS".into(), i.into(), y.into(), v.into(), f.into());
    assert_eq!(
        figures(&s),
        [
            row("MEDIATION-ACCEPTED", "2019", "812", "2019年 调解受理案件"),
            row("MEDIATION-ACCEPTED", "2020", "845", "2020年 调解受理案件"),
            row("MEDIATION-SUCCEEDED", "2019", "604", "2019年 调解成功案件"),
            row("MEDIATION-SUCCEEDED", "2020", "633", "2020年 调解成功案件"),
        ]
    );
}

/// The other way round: an indicator merged over its years.
#[test]
fn indicators_over_years_give_each_column_its_year_from_the_row_below() {
    let table = "地区,调解受理案件,\n,2019,2020\n和平区,812,845\n";
    let s = Scratch::new(&[("t/mediation.csv", table.as_bytes())]);
    let entry = format!("[[sources]]\nfiles = \"t/*.csv\"\nlayout = \"indicators\"\nheader_rows = 2\n{MEDIATION}");
    let o = run(&s, &with_source(&s, &entry));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let got: Vec<(String, String, String)> = figures(&s).into_iter().map(|(_, i, y, v, _)| (i, y, v)).collect();
    let want = [("MEDIATION-ACCEPTED", "2019", "812"), ("MEDIATION-ACCEPTED", "2020", "845")];
    assert_eq!(got, want.map(|(i, y, v)| (i.to_owned(), y.to_owned(), v.to_owned())));
}

/// An English yearbook table's names split word by word over four header
/// rows (a blank row among them, skipped), each unit in brackets at the
/// bottom: each column's words joined name a catalog indicator; no header
/// row is read as a record.
#[test]
fn a_header_over_four_rows_joins_each_column_s_words() {
    let table = "Region,New urban,Labour and personnel disputes,\n,employment,,\n\n,,accepted,closed\n,(persons),(cases),(cases)\nHeping District,20810,1588,1490\n";
    let s = Scratch::new(&[("t/en.csv", table.as_bytes())]);
    let entry = "[[sources]]\nfiles = \"t/*.csv\"\nlayout = \"indicators\"\nheader_rows = 4\n\
                 [sources.columns]\n\"Region\" = \"agency\"\n[sources.constants]\nyear = 2015\n\
                 [sources.values.agency]\n\"Heping District\" = \"TJ-D01-HRSS\"\n\
                 [sources.values.unit]\n\"persons\" = \"人\"\n\"cases\" = \"件\"\n";
    let o = run(&s, &with_source(&s, entry));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let row = |i: &str, v: &str, f: &str| ("TJ-D01-HRSS".into(), i.into(), "2015".into(), v.into(), f.into());
    assert_eq!(
        figures(&s),
        [
            row("DISPUTE-ACCEPTED", "1588", "Labour and personnel disputes accepted (cases)"),
            row("DISPUTE-CLOSED", "1490", "Labour and personnel disputes closed (cases)"),
            row("EMP-URBAN-NEW", "20810", "New urban employment (persons)"),
        ]
    );
    let f = &manifest(&s)["inputs"][0];
    assert_eq!((&f["rows_read"], &f["blank_rows"]), (&3.into(), &1.into()), "{f}");
}

/// Names as people type them: spaces inside, full-width letters and a
/// trailing pad name the register's agency; a name that names nothing is
/// quarantined with what was tried and the nearest name.
#[test]
fn names_are_matched_as_people_type_them_and_an_unknown_one_suggests_the_nearest() {
    let table = "地区,年份,调解受理案件\n和 平 区 ,2019,812\nＨｅｐｉｎｇ　Ｄｉｓｔｒｉｃｔ,2020,845\n和平,2021,900\n";
    let s = Scratch::new(&[("t/names.csv", table.as_bytes())]);
    let entry = "[[sources]]\nfiles = \"t/*.csv\"\nlayout = \"indicators\"\n[sources.columns]\n\"地区\" = \"agency\"\n";
    let o = run(&s, &with_source(&s, entry));
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let got: Vec<(String, String, String)> = figures(&s).into_iter().map(|(a, _, y, v, _)| (a, y, v)).collect();
    let want = [("TJ-D01", "2019", "812"), ("TJ-D01", "2020", "845")];
    assert_eq!(got, want.map(|(a, y, v)| (a.to_owned(), y.to_owned(), v.to_owned())));
    let q = csv_rows(&s.out().join("quarantine.csv"));
    assert_eq!((q.len(), q[1][4].as_str(), q[1][5].as_str()), (2, "和平", "unknown_agency"), "{q:?}");
    assert!(
        q[1][7].contains(
            "`和平` is no code and no name of the register, nor in the source's value map; nearest: 和平区 (TJ-D01)"
        ),
        "{}",
        q[1][7]
    );
}

/// A unit line above the header (`单位：万人`) is the unit of every figure
/// of the table that names none of its own.
#[test]
fn a_unit_line_above_the_header_is_the_table_s_unit() {
    let table = "2021年各区城镇新增就业\n单位：万人\n地区,年份,城镇新增就业\n和平区,2021,2.15\n";
    let s = Scratch::new(&[("t/jobs.csv", table.as_bytes())]);
    let entry = format!("[[sources]]\nfiles = \"t/*.csv\"\nlayout = \"indicators\"\nheader_row = 3\n{MEDIATION}");
    let o = run(&s, &with_source(&s, &entry));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let obs = parquet_rows(&s.out(), "observations");
    let r = find(&obs, &[("indicator", "EMP-URBAN-NEW")]);
    assert_eq!((cell(&obs, r, "value"), cell(&obs, r, "unit_sent")), ("21500.00000000000000000000", "万人"));
    let w = csv_rows(&s.out().join("warnings.csv"));
    assert!(!w.iter().any(|r| r[5] == "unit_assumed"), "{w:?}");
}

/// Nothing gives a unit (no unit column, none in the header or above it,
/// no constant): the figures are read in base units, and the file says so
/// once, with the units.
#[test]
fn a_file_that_gives_no_unit_says_once_which_units_it_was_read_in() {
    let table = "地区,年份,城镇新增就业,劳动人事争议受理数\n和平区,2020,21450,1930\n和平区,2021,21630,1880\n";
    let s = Scratch::new(&[("t/jobs.csv", table.as_bytes())]);
    let entry = format!("[[sources]]\nfiles = \"t/*.csv\"\nlayout = \"indicators\"\n{MEDIATION}");
    let o = run(&s, &with_source(&s, &entry));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let w = csv_rows(&s.out().join("warnings.csv"));
    let assumed: Vec<&Vec<String>> = w.iter().filter(|r| r[5] == "unit_assumed").collect();
    assert_eq!(assumed.len(), 1, "{w:?}");
    assert_eq!(assumed[0][1], "1");
    assert!(assumed[0][7].ends_with("read in its indicators' base units (人, 件)"), "{}", assumed[0][7]);
}

/// The first sheet is a hidden draft: without a `sheet`, the first visible
/// worksheet is read.
#[test]
fn a_hidden_draft_sheet_is_not_the_default_sheet() {
    let mut book = rust_xlsxwriter::Workbook::new();
    let draft = book.add_worksheet().set_name("草稿").unwrap();
    draft.write_string(0, 0, "agency").unwrap();
    draft.write_string(1, 0, "draft, not to be read").unwrap();
    draft.set_hidden(true);
    let data = book.add_worksheet().set_name("data").unwrap();
    for (c, h) in ["agency", "year", "indicator", "value", "unit"].iter().enumerate() {
        data.write_string(0, c as u16, *h).unwrap();
    }
    data.write_string(1, 0, "TJ-HRSS").unwrap();
    data.write_number(1, 1, 2018).unwrap();
    data.write_string(1, 2, "INFO-DISCLOSED").unwrap();
    data.write_number(1, 3, 150).unwrap();
    data.write_string(1, 4, "条").unwrap();
    data.set_active(true);
    let bytes = book.save_to_buffer().unwrap();
    let s = Scratch::new(&[("book/hidden.xlsx", &bytes)]);
    let o = run(&s, &with_source(&s, ""));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        (&manifest(&s)["inputs"][0]["sheet"], &manifest(&s)["inputs"][0]["accepted"]),
        (&"data".into(), &1.into())
    );
}

/// `not_available` holds for a target and a claimed figure as for a value:
/// `..` there is no target, no claim, not a bad number.
#[test]
fn not_available_applies_to_targets_and_claims_too() {
    let table = "agency,year,indicator,value,unit,target,claimed_growth\nTJ-HRSS,2021,INFO-DISCLOSED,217,条,..,..\n";
    let s = Scratch::new(&[("t/na.csv", table.as_bytes())]);
    let o = run(&s, &with_source(&s, "[[sources]]\nfiles = \"t/*.csv\"\nnot_available = [\"..\"]\n"));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let obs = parquet_rows(&s.out(), "observations");
    let r = find(&obs, &[("indicator", "INFO-DISCLOSED")]);
    assert_eq!((cell(&obs, r, "target"), cell(&obs, r, "claimed_growth")), ("", ""));
    let w = csv_rows(&s.out().join("warnings.csv"));
    assert!(!w.iter().any(|r| r[5] == "bad_claim"), "{w:?}");
}

/// Two keys of a value map that are one name once case and spaces are
/// left out: the later would win silently; refused at load.
#[test]
fn value_map_keys_that_are_one_name_are_refused_at_load() {
    let s = Scratch::new(&[]);
    let entry = "[[sources]]\nfiles = \"t/*.csv\"\n[sources.values.agency]\n\"HEPING\" = \"TJ-D02-HRSS\"\n\"Heping\" = \"TJ-D01-HRSS\"\n";
    let o = run(&s, &with_source(&s, entry));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("values.agency: `HEPING` and `Heping` are one name once case, width and spaces are left out"),
        "{err}"
    );
}

/// A header that names an indicator whole, brackets and all, keeps its
/// brackets as part of the name: they are no unit.
#[test]
fn brackets_in_a_header_that_names_an_indicator_whole_are_no_unit() {
    let table = "地区,年份,Bunker fuels (Not in Total)\n和平区,2021,217\n";
    let s = Scratch::new(&[("t/b.csv", table.as_bytes())]);
    let entry = format!(
        "[[sources]]\nfiles = \"t/*.csv\"\nlayout = \"indicators\"\n{MEDIATION}[sources.values.indicator]\n\"Bunker fuels (Not in Total)\" = \"INFO-DISCLOSED\"\n"
    );
    let o = run(&s, &with_source(&s, &entry));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let obs = parquet_rows(&s.out(), "observations");
    let r = find(&obs, &[("indicator", "INFO-DISCLOSED")]);
    assert_eq!((cell(&obs, r, "value"), cell(&obs, r, "unit_sent")), ("217.00000000000000000000", "条"));
}

/// A `[sources.columns]` key that names no column of the file (a header
/// spelled otherwise): a warning at the header, listing the columns the
/// header has.
#[test]
fn a_mapped_column_the_header_lacks_is_said_with_the_columns_it_has() {
    let table = "区域,年份,调解受理案件\n和平区,2019,812\n";
    let s = Scratch::new(&[("t/m.csv", table.as_bytes())]);
    let entry = "[[sources]]\nfiles = \"t/*.csv\"\nlayout = \"indicators\"\n[sources.columns]\n\"地区\" = \"agency\"\n\"区域\" = \"agency_name\"\n[sources.constants]\nagency = \"TJ-D01-HRSS\"\n";
    let o = run(&s, &with_source(&s, entry));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let w = csv_rows(&s.out().join("warnings.csv"));
    let missing: Vec<&Vec<String>> = w.iter().filter(|r| r[5] == "source_column_missing").collect();
    assert_eq!(missing.len(), 1, "{w:?}");
    assert_eq!((missing[0][1].as_str(), missing[0][3].as_str()), ("1", "地区"));
    assert!(
        missing[0][7]
            .ends_with("the source maps `地区` to agency; the header's columns are `区域`, `年份`, `调解受理案件`"),
        "{}",
        missing[0][7]
    );
}

/// `validate` finds a file's source however its path is spelled: relative
/// to where it runs, absolute, through `..`; a file outside the
/// submissions directory is matched by its path as given, and when no
/// source matches, it says so.
#[test]
fn validate_finds_a_file_s_source_however_its_path_is_spelled() {
    let repo = crate::util::repo();
    let abs = repo.join("sample_data/imports/districts-2016-2018.csv");
    let dotted = repo.join("pipelines/../sample_data/imports/districts-2016-2018.csv");
    for path in ["sample_data/imports/districts-2016-2018.csv", abs.to_str().unwrap(), dotted.to_str().unwrap()] {
        let o = yearbook(&["validate", path]);
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.contains("read by source `imports/districts-*.csv` (as `imports/districts-2016-2018.csv`)"),
            "{path}: {text}"
        );
        assert!(text.contains("36 rows read: 36 accepted"), "{path}: {text}");
    }
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("districts-2016-2018.csv");
    std::fs::copy(&abs, &copy).unwrap();
    let o = yearbook(&["validate", copy.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("no source matches"), "{text}");
}

/// Years over indicators can put one key twice in a row: the duplicate's
/// message names the two columns, not the line twice.
#[test]
fn a_key_twice_in_one_row_is_named_by_its_two_columns() {
    let table = "地区,2019年,,\n,调解受理案件,调解成功案件,调解受理案件\n和平区,812,604,813\n";
    let s = Scratch::new(&[("t/d.csv", table.as_bytes())]);
    let entry = format!("[[sources]]\nfiles = \"t/*.csv\"\nlayout = \"indicators\"\nheader_rows = 2\n{MEDIATION}");
    let o = run(&s, &with_source(&s, &entry));
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let q = csv_rows(&s.out().join("quarantine.csv"));
    let conflicts: Vec<&str> = q[1..].iter().filter(|r| r[5] == "duplicate_conflict").map(|r| r[7].as_str()).collect();
    assert_eq!(conflicts.len(), 2, "{q:?}");
    for c in conflicts {
        assert!(c.ends_with("line 3 column 2 and line 3 column 4 differ"), "{c}");
    }
}

/// A constant for a field the file has a column for: the column is read,
/// and the file says the constant was not used.
#[test]
fn a_constant_a_column_overrides_is_said() {
    let table = "地区,年份,调解受理案件\n和平区,2019,812\n";
    let s = Scratch::new(&[("t/c.csv", table.as_bytes())]);
    let entry = format!(
        "[[sources]]\nfiles = \"t/*.csv\"\nlayout = \"indicators\"\n{MEDIATION}[sources.constants]\nyear = 2020\n"
    );
    let o = run(&s, &with_source(&s, &entry));
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let got: Vec<String> = figures(&s).into_iter().map(|(_, _, y, _, _)| y).collect();
    assert_eq!(got, ["2019"]);
    let w = csv_rows(&s.out().join("warnings.csv"));
    let unused: Vec<&Vec<String>> = w.iter().filter(|r| r[5] == "constant_unused").collect();
    assert_eq!(unused.len(), 1, "{w:?}");
    assert!(
        unused[0][7].ends_with("the source's `year` constant is not used: the column `年份` gives it"),
        "{}",
        unused[0][7]
    );
}
