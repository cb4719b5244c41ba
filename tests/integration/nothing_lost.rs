//! Hostile files lose no row: every physical line is the header, a record
//! (accepted or quarantined) or a counted blank line, and what a refused
//! row held is shown as the agency sent it, with nothing an output must
//! not hold.

use crate::util::{EN_HEADER, Scratch, cell, csv_rows, files_under, find, parquet_rows};

fn run(files: &[(&str, &[u8])]) -> (Scratch, Vec<Vec<String>>, serde_json::Value) {
    let s = Scratch::new(files);
    let o = s.run();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&o.stderr));
    let q = csv_rows(&s.out().join("quarantine.csv"));
    let m = serde_json::from_slice(&std::fs::read(s.out().join("manifest.json")).unwrap()).unwrap();
    (s, q, m)
}

/// (line, byte, field, raw, code) of each quarantine row.
fn entries(q: &[Vec<String>]) -> Vec<(String, String, String, String, String)> {
    q[1..].iter().map(|r| (r[1].clone(), r[2].clone(), r[3].clone(), r[4].clone(), r[5].clone())).collect()
}

fn counts(m: &serde_json::Value, file: usize) -> [u64; 5] {
    let f = &m["inputs"][file];
    ["lines", "rows_read", "accepted", "quarantined", "blank_rows"].map(|k| f[k].as_u64().unwrap())
}

#[test]
fn an_unclosed_quote_quarantines_its_row_and_the_rows_after_it_are_read_again() {
    let text = format!(
        "{EN_HEADER}TJ-HRSS,2021,INFO-DISCLOSED,,217,条,,,,\n\
         TJ-HRSS,2021,INFO-REQUESTS,,244,件,,,,\"公开报告：受理\n\
         TJ-HRSS,2021,SERVICE-ITEMS,,174,项,,,,\n\
         TJ-HRSS,2021,ADMIN-LITIGATION,,约30,件,,,,\n"
    );
    let quote = text.find('"').unwrap();
    let line3 = text.find("TJ-HRSS,2021,INFO-REQUESTS").unwrap();
    let (s, q, m) = run(&[("a.csv", text.as_bytes())]);
    let e = entries(&q);
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!((e[0].0.as_str(), e[0].1.as_str(), e[0].4.as_str()), ("3", &*line3.to_string(), "unclosed_quote"));
    assert_eq!(
        e[0].3, "TJ-HRSS,2021,INFO-REQUESTS,,244,件,,,,\"公开报告：受理",
        "the row as sent, up to its line's end"
    );
    assert!(q[1][7].contains(&format!("the quote at line 3, byte {quote} never closes")), "{}", q[1][7]);
    assert!(q[1][6].contains(&format!("第 3 行第 {quote} 字节处的引号没有闭合")), "{}", q[1][6]);
    assert_eq!((e[1].0.as_str(), e[1].4.as_str()), ("5", "bad_number"));
    let obs = parquet_rows(&s.out(), "observations");
    let lines: Vec<&str> = obs[1..].iter().map(|r| cell(&obs, r, "source_line")).collect();
    assert_eq!(lines, ["2", "4"], "the row after the open quote is read");
    assert_eq!(counts(&m, 0), [5, 4, 2, 2, 0]);
}

#[test]
fn an_unclosed_quote_in_the_header_refuses_the_file_and_still_reads_its_rows() {
    let text = "agency,year,\"indicator\nTJ-HRSS,2021,INFO-DISCLOSED\nTJ-HRSS,2022,INFO-DISCLOSED\n";
    let (_, q, m) = run(&[("a.csv", text.as_bytes())]);
    let codes: Vec<(String, String)> = entries(&q).into_iter().map(|e| (e.0, e.4)).collect();
    assert_eq!(codes, [("2".into(), "unclosed_quote".into()), ("3".into(), "unclosed_quote".into())]);
    assert_eq!(counts(&m, 0), [3, 2, 0, 2, 0]);
}

#[test]
fn a_quoted_note_that_spans_lines_and_closes_is_one_record() {
    let text = format!(
        "{EN_HEADER}TJ-HRSS,2021,INFO-DISCLOSED,,217,条,,,,\"第一行\r\n第二行\"\nTJ-HRSS,2021,SERVICE-ITEMS,,174,项,,,,\n"
    );
    let (s, q, m) = run(&[("a.csv", text.as_bytes())]);
    assert_eq!(q.len(), 1, "nothing quarantined");
    let obs = parquet_rows(&s.out(), "observations");
    let first = find(&obs, &[("indicator", "INFO-DISCLOSED")]);
    assert_eq!(cell(&obs, first, "note"), "第一行\r\n第二行");
    let next = find(&obs, &[("indicator", "SERVICE-ITEMS")]);
    assert_eq!(cell(&obs, next, "source_line"), "4");
    assert_eq!(counts(&m, 0), [4, 2, 2, 0, 0]);
}

#[test]
fn a_control_character_quarantines_its_row_and_never_reaches_an_output() {
    let text = format!(
        "{EN_HEADER}TJ-HRSS,2021,INFO-DISCLOSED,,217,条,,,,公开\u{0}报告\n\
         TJ-HRSS\u{7},2021,INFO-REQUESTS,,244,件,,,,\n\
         TJ-HRSS,2021,SERVICE-ITEMS,,174,项,,,,\n"
    );
    let nul = text.find('\u{0}').unwrap();
    let (s, q, m) = run(&[("a.csv", text.as_bytes())]);
    let e = entries(&q);
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!((e[0].0.as_str(), e[0].2.as_str(), e[0].4.as_str()), ("2", "note", "control_character"));
    assert_eq!(e[0].3, "公开\\x00报告", "the cell, its control escaped");
    assert!(q[1][7].contains(&format!("\\x00 at byte {nul}")), "{}", q[1][7]);
    assert!(q[1][6].contains(&format!("第 {nul} 字节处为 \\x00")), "{}", q[1][6]);
    assert_eq!((e[1].0.as_str(), e[1].2.as_str(), e[1].3.as_str()), ("3", "agency", "TJ-HRSS\\x07"));
    assert_eq!(counts(&m, 0), [4, 3, 1, 2, 0]);
    for (path, bytes) in files_under(&s.out()) {
        if path.ends_with(".csv") || path.ends_with(".json") {
            assert!(!bytes.iter().any(|&b| b < 0x20 && !b"\t\r\n".contains(&b)), "{path} holds a control character");
        }
    }
}

#[test]
fn a_note_is_kept_verbatim_even_when_it_begins_with_a_tab() {
    let text = format!(
        "{EN_HEADER}TJ-HRSS,2021,SERVICE-ITEMS,,174,项,,,,\t以制表符开头的备注 \nTJ-HRSS,2021,INFO-DISCLOSED,,217,条,,,,\t \n"
    );
    let (s, q, _) = run(&[("a.csv", text.as_bytes())]);
    assert_eq!(q.len(), 1);
    let obs = parquet_rows(&s.out(), "observations");
    assert_eq!(cell(&obs, find(&obs, &[("indicator", "SERVICE-ITEMS")]), "note"), "\t以制表符开头的备注 ");
    // White space alone says nothing: no note.
    assert_eq!(cell(&obs, find(&obs, &[("indicator", "INFO-DISCLOSED")]), "note"), "");
}

#[test]
fn a_control_character_in_the_header_refuses_the_file() {
    let text = "agency,year,indicator,value,unit\u{1b}\nTJ-HRSS,2021,INFO-DISCLOSED,217,条\n";
    let (_, q, m) = run(&[("a.csv", text.as_bytes())]);
    assert_eq!(entries(&q)[0].4, "control_character");
    assert!(m["inputs"][0]["refused"].as_str().unwrap().starts_with("control_character: \\x1B at byte 32"));
}

/// Each blank line counted; one warning per run of them, with its range.
#[test]
fn blank_lines_are_counted_and_each_run_warned_once_with_its_lines() {
    let text = format!(
        "\n{EN_HEADER}\nTJ-HRSS,2021,INFO-DISCLOSED,,217,条,,,,\r\n\r\n\n,,,,,,,,,\nTJ-HRSS,2021,SERVICE-ITEMS,,174,项,,,,\n\n"
    );
    let (s, q, m) = run(&[("a.csv", text.as_bytes())]);
    assert_eq!(q.len(), 1);
    let w = csv_rows(&s.out().join("warnings.csv"));
    let blank: Vec<(&str, &str)> = w[1..].iter().map(|r| (r[1].as_str(), r[5].as_str())).collect();
    let want: Vec<(&str, &str)> = ["1", "3", "5", "9"].iter().map(|l| (*l, "blank_row")).collect();
    assert_eq!(blank, want);
    assert!(w[3].iter().any(|c| c.contains("3 blank rows, lines 5–7")), "{:?}", w[3]);
    assert!(w[4].iter().all(|c| !c.contains("blank rows, lines")), "{:?}", w[4]);
    assert_eq!(counts(&m, 0), [9, 2, 2, 0, 6]);
    // The byte of a blank line is where it starts.
    assert_eq!(w[2][2], (1 + EN_HEADER.len()).to_string());
}

#[test]
fn a_cell_that_begins_with_a_line_feed_is_guarded_in_people_s_csv() {
    let text = format!("{EN_HEADER}TJ-HRSS,2021,INFO-DISCLOSED,,\"\n=1+1\",条,,,,\n");
    let (_, q, _) = run(&[("a.csv", text.as_bytes())]);
    assert_eq!(entries(&q)[0].4, "bad_number");
    assert_eq!(q[1][4], "'\n=1+1");
}

#[test]
fn eighteen_digits_and_nineteen_decimals_are_stored_exactly_and_past_the_limits_numbers_have_their_own_codes() {
    let text = format!(
        "{EN_HEADER}TJ-HRSS,2021,INS-PENSION,,123456789012345678,人,,,,\n\
         TJ-HRSS,2021,INS-INJURY,,1234567890123456789,人,,,,\n\
         TJ-HRSS,2021,INS-UNEMP,,1.{twenty_one},人,,,,\n\
         TJ-HRSS,2021,SSC-HOLDERS,,99999999999999999,万人,,,,\n\
         TJ-HRSS,2021,TALENT-AGE,,34.8901234567890123456,岁,,,,\n\
         TJ-HRSS,2021,EMP-URBAN-NEW,,0.1234567890123456789,万人,,,,\n",
        twenty_one = "1".repeat(21)
    );
    let (s, q, _) = run(&[("a.csv", text.as_bytes())]);
    let obs = parquet_rows(&s.out(), "observations");
    assert_eq!(
        cell(&obs, find(&obs, &[("indicator", "INS-PENSION")]), "value"),
        "123456789012345678.00000000000000000000"
    );
    // 0.1234567890123456789 万人: 19 decimals as typed, 15 in 人, exactly.
    let emp = find(&obs, &[("indicator", "EMP-URBAN-NEW")]);
    assert_eq!(cell(&obs, emp, "value"), "1234.56789012345678900000");
    let age = find(&obs, &[("indicator", "TALENT-AGE")]);
    // An age (within the bundled review rule R08's 18 to 60) with 19 decimals.
    assert_eq!(cell(&obs, age, "value"), "34.89012345678901234560");
    let e: Vec<(String, String)> = entries(&q).into_iter().map(|e| (e.0, e.4)).collect();
    assert_eq!(
        e,
        [
            ("3".into(), "too_many_digits".into()),
            ("4".into(), "too_many_decimals".into()),
            ("5".into(), "out_of_range".into()),
        ]
    );
    assert!(q[1][7].contains("more than 18 integer digits"), "{}", q[1][7]);
    assert!(q[2][7].contains("more than 20 decimals"), "{}", q[2][7]);
    assert!(q[1][6].contains("整数部分超过 18 位") && q[2][6].contains("小数超过 20 位"), "{q:?}");
    assert!(q[3][7].contains("more than 18 integer digits"), "{}", q[3][7]);
}

#[test]
fn a_value_too_large_for_a_total_gives_a_null_total_not_a_failed_run() {
    // 9×10^17 fits the value column, but two of them are past its 18
    // integer digits.
    let big = format!("9{}", "0".repeat(17));
    let text = format!(
        "{EN_HEADER}TJ-D01-HRSS,2021,INS-PENSION,,{big},人,,,,\nTJ-D13-HRSS,2021,INS-PENSION,,{big},人,,,,\nTJ-D02-HRSS,2021,INS-PENSION,,5,人,,,,\n"
    );
    let (s, q, _) = run(&[("a.csv", text.as_bytes())]);
    assert_eq!(q.len(), 1, "nothing quarantined");
    let obs = parquet_rows(&s.out(), "observations");
    assert_eq!(cell(&obs, find(&obs, &[("agency", "TJ-D01-HRSS")]), "value"), format!("{big}.{}", "0".repeat(20)));
    let t = parquet_rows(&s.out(), "totals");
    let city = find(&t, &[("agency", "TJ"), ("indicator", "INS-PENSION")]);
    assert_eq!((cell(&t, city, "value"), cell(&t, city, "growth_null_reason")), ("", "overflow"));
    let d02 = find(&t, &[("agency", "TJ-D02"), ("indicator", "INS-PENSION")]);
    assert_eq!(cell(&t, d02, "value"), format!("5.{}", "0".repeat(20)));
    // The auditor's own arithmetic knows the column's limit too.
    let audit = crate::util::yearbook(&["audit", "--out", s.out().to_str().unwrap()]);
    assert_eq!(audit.status.code(), Some(0), "{}", String::from_utf8_lossy(&audit.stdout));
}

/// GB18030 text with one byte that decodes in neither encoding.
fn gbk_with_a_stray_byte() -> Vec<u8> {
    let (header, _, _) = encoding_rs::GB18030.encode("单位代码,年度,指标代码,数值,计量单位\n");
    let (row, _, _) = encoding_rs::GB18030.encode("TJ-JUS,2021,INFO-DISCLOSED,356,条\n");
    let mut bytes = header.into_owned();
    bytes.extend_from_slice(&row[..row.len() - 1]);
    bytes.extend_from_slice(b"\xFF\n");
    bytes
}

#[test]
fn a_refused_file_s_rows_are_shown_in_its_likely_encoding_with_undecodable_bytes_escaped() {
    let (_, q, m) = run(&[("gbk.csv", &gbk_with_a_stray_byte())]);
    assert!(m["inputs"][0]["refused"].as_str().unwrap().starts_with("encoding: undecodable byte"));
    let e = entries(&q);
    assert_eq!((e[0].3.as_str(), e[0].4.as_str()), ("TJ-JUS,2021,INFO-DISCLOSED,356,条\\xFF", "encoding"));
}

#[test]
fn a_utf16_file_is_refused_as_utf16_and_its_rows_read_as_written() {
    let text =
        format!("{EN_HEADER}TJ-HRSS,2021,INFO-DISCLOSED,,217,条,,,,公开\r\nTJ-HRSS,2021,SERVICE-ITEMS,,174,项,,,,\r\n");
    let mut le = vec![0xFF, 0xFE];
    le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let be_no_bom: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let (_, q, m) = run(&[("le.csv", &le), ("no-bom-be.csv", &be_no_bom)]);
    for i in 0..2 {
        let f = &m["inputs"][i];
        assert!(f["refused"].as_str().unwrap().contains("UTF-16 text"), "{f}");
        assert_eq!(counts(&m, i)[..4], [3, 2, 0, 2]);
    }
    let e = entries(&q);
    assert_eq!(e.len(), 4);
    // le.csv: the second row starts after the BOM, the header and one row,
    // two bytes a UTF-16 code unit.
    let second = text.find("TJ-HRSS,2021,SERVICE").unwrap();
    let units = text[..second].encode_utf16().count();
    assert_eq!(
        (e[1].1.as_str(), e[1].3.as_str()),
        (&*(2 + 2 * units).to_string(), "TJ-HRSS,2021,SERVICE-ITEMS,,174,项,,,,")
    );
    assert_eq!(e[2].3, "TJ-HRSS,2021,INFO-DISCLOSED,,217,条,,,,公开");
    assert_eq!(e[2].1, (2 * text[..EN_HEADER.len()].encode_utf16().count()).to_string());
}

mod every_line_accounted_for {
    use std::path::PathBuf;
    use std::sync::OnceLock;

    use proptest::prelude::*;
    use yearbook::config::Pipeline;
    use yearbook::config::pipeline::EncodingChoice;
    use yearbook::ingest::{SourceFile, Submission};
    use yearbook::model::FileId;
    use yearbook::normalize;

    use crate::util::{EN_HEADER, repo};

    /// One row of a generated file, and what must become of it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Row {
        Good,
        BadNumber,
        EmptyLine,
        EmptyCells,
        /// A note in quotes over two lines: one accepted record.
        TwoLineNote,
        ControlCharacter,
        /// A quote that never closes: its line is quarantined.
        OpenQuote,
    }

    fn pipeline() -> &'static Pipeline {
        static P: OnceLock<Pipeline> = OnceLock::new();
        P.get_or_init(|| Pipeline::load(&repo().join("pipelines/nightly.toml"), Default::default()).unwrap())
    }

    fn row() -> impl Strategy<Value = Row> {
        prop_oneof![
            4 => Just(Row::Good),
            1 => Just(Row::BadNumber),
            1 => Just(Row::EmptyLine),
            1 => Just(Row::EmptyCells),
            1 => Just(Row::TwoLineNote),
            1 => Just(Row::ControlCharacter),
            1 => Just(Row::OpenQuote),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn every_physical_line_is_the_header_a_record_or_a_counted_blank(
            rows in proptest::collection::vec(row(), 0..40),
            crlf: bool,
            final_break: bool,
        ) {
            // After a quote that never closes, any odd quote would close it:
            // a file has at most one, and no quoted note after it.
            let mut open = false;
            let rows: Vec<Row> = rows.into_iter().map(|r| match r {
                Row::OpenQuote | Row::TwoLineNote if open => Row::Good,
                Row::OpenQuote => { open = true; r }
                _ => r,
            }).collect();
            let mut text = EN_HEADER.to_owned();
            let (mut line, mut accepted, mut quarantined, mut blank) = (2u64, Vec::new(), Vec::new(), 0u64);
            for (i, r) in rows.iter().enumerate() {
                let key = format!("TJ-HRSS,{},INFO-DISCLOSED,,", 1950 + i);
                let (row, lines) = match r {
                    Row::Good => (format!("{key}{i},条,,,,\n"), 1),
                    Row::BadNumber => (format!("{key}约{i},条,,,,\n"), 1),
                    Row::EmptyLine => ("\n".to_owned(), 1),
                    Row::EmptyCells => (",,,,,,,,,\n".to_owned(), 1),
                    Row::TwoLineNote => (format!("{key}{i},条,,,,\"第一行\n第二行\"\n"), 2),
                    Row::ControlCharacter => (format!("{key}{i},条,,,,x\u{1}y\n"), 1),
                    Row::OpenQuote => (format!("{key}{i},条,,,,\"未闭合\n"), 1),
                };
                match r {
                    Row::Good | Row::TwoLineNote => accepted.push(line),
                    Row::EmptyLine | Row::EmptyCells => blank += 1,
                    _ => quarantined.push(line),
                }
                text.push_str(&row);
                line += lines;
            }
            let lines = line - 1;
            // A last line without its break (not an empty one: that would
            // be no line at all).
            if !final_break && rows.last() != Some(&Row::EmptyLine) {
                text.pop();
            }
            if crlf {
                text = text.replace('\n', "\r\n");
            }
            let file = SourceFile { id: FileId(0), path: PathBuf::from("p.csv"), rel: "p.csv".to_owned(), source: None, target: None };
            let sub = Submission::from_bytes(file, text.clone().into_bytes(), EncodingChoice::Auto, None);
            let n = normalize::file(&sub, pipeline().row_checks(None));
            let r = &n.report;
            prop_assert_eq!(r.lines, lines, "{:?}", text);
            prop_assert_eq!(r.blank_rows, blank, "{:?}", text);
            prop_assert_eq!(r.rows_read, r.accepted + r.quarantined);
            let got: Vec<u64> = n.observations.iter().map(|o| o.origin.line).collect();
            prop_assert_eq!(got, accepted, "{:?}", text);
            let got: Vec<u64> = n.rejected.iter().map(|i| i.line).collect();
            prop_assert_eq!(got, quarantined, "{:?}", text);
        }
    }
}

/// A file name with a comma and quotes, on every row of the people's
/// summaries: each people's CSV reads back with every row as wide as its
/// header (here, and in Python's `csv` and pandas when there), the name
/// whole in its cell.
#[test]
fn people_s_csvs_keep_their_quoting_whatever_a_name_holds() {
    let bytes = std::fs::read(crate::util::repo().join("sample_data/districts/TJ-D01-JUS.csv")).unwrap();
    let name = "HRSS, \"final\".csv";
    let (s, ..) = run(&[(name, &bytes)]);
    let people: Vec<String> =
        files_under(&s.out()).into_iter().map(|(path, _)| path).filter(|p| p.ends_with(".csv")).collect();
    assert!(people.iter().any(|p| p == "summary/2021/indicators.csv"), "{people:?}");
    let mut named = 0;
    for path in &people {
        let rows = csv_rows(&s.out().join(path));
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row.len(), rows[0].len(), "{path} row {i}: {row:?}");
        }
        named += rows.iter().flatten().filter(|c| c.as_str() == name).count();
    }
    // Every row of indicators.csv names the file (the sample file's 2021
    // rows), and the whole name stays in one cell.
    let indicators = csv_rows(&s.out().join("summary/2021/indicators.csv"));
    assert!(indicators.len() > 2 && named >= indicators.len() - 1, "{named} cells name the file");
    let Some(python) = crate::readers::python() else { return };
    let script = r#"
import csv, sys, pandas
for path in sys.argv[1:]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert all(len(r) == len(rows[0]) for r in rows), path
    frame = pandas.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(frame) == len(rows) - 1, (path, len(frame), len(rows))
print(len(sys.argv) - 1)
"#;
    let paths: Vec<String> = people.iter().map(|p| s.out().join(p).display().to_string()).collect();
    let o = std::process::Command::new(python).arg("-c").arg(script).args(&paths).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), people.len().to_string());
}

/// A workbook whose one stray cell sits far below the data: the rows
/// between are counted as blank, and warned once, with their range.
#[test]
fn a_stray_cell_far_below_a_sheet_s_data_is_one_warning() {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in EN_HEADER.trim_end().split(',').enumerate() {
        ws.write_string(0, c as u16, h).unwrap();
    }
    for (c, v) in ["TJ-HRSS", "2021", "INFO-DISCLOSED", "", "217", "条"].iter().enumerate() {
        ws.write_string(1, c as u16, *v).unwrap();
    }
    ws.write_string(99_999, 0, " ").unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let (s, q, m) = run(&[("a.xlsx", &bytes)]);
    assert_eq!(q.len(), 1, "{q:?}");
    assert_eq!(m["inputs"][0]["accepted"], 1);
    assert_eq!(m["inputs"][0]["blank_rows"], 99_998);
    let w = csv_rows(&s.out().join("warnings.csv"));
    let blank: Vec<&Vec<String>> = w[1..].iter().filter(|r| r[5] == "blank_row").collect();
    assert_eq!(blank.len(), 1, "{blank:?}");
    assert_eq!(blank[0][1], "3");
    assert!(blank[0].iter().any(|c| c.contains("99998 blank rows, lines 3–100000")), "{:?}", blank[0]);
}

/// `wb`'s bytes with the number cells at `cells` (`J2`) made error cells
/// holding `errors`, as Excel writes them (`t="e"`).
fn with_error_cells(wb: &mut rust_xlsxwriter::Workbook, cells: &[(&str, f64, &str)]) -> Vec<u8> {
    use std::io::{Read, Write};
    let bytes = wb.save_to_buffer().unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        if name == "xl/worksheets/sheet1.xml" {
            for (cell, marker, error) in cells {
                let number = format!(r#"<c r="{cell}"><v>{marker}</v></c>"#);
                assert!(text.contains(&number), "{number} in {text}");
                text = text.replace(&number, &format!(r#"<c r="{cell}" t="e"><v>{error}</v></c>"#));
            }
        }
        out.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        out.write_all(text.as_bytes()).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// An error value in a workbook's cell, one Excel added lately
/// (`#SPILL!`) as well as a classic one (`#DIV/0!`), in a value or a note:
/// that row is quarantined with `cell_error` naming it, the rest read.
#[test]
fn a_workbook_s_error_value_quarantines_its_row_not_the_workbook() {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in EN_HEADER.trim_end().split(',').enumerate() {
        ws.write_string(0, c as u16, h).unwrap();
    }
    let rows = [
        ["TJ-HRSS", "2021", "INFO-DISCLOSED", "", "217", "条"],
        ["TJ-HRSS", "2021", "SERVICE-ITEMS", "", "", "项"],
        ["TJ-HRSS", "2020", "SERVICE-ITEMS", "", "174", "项"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate().filter(|(_, v)| !v.is_empty()) {
            ws.write_string(r as u32 + 1, c as u16, *v).unwrap();
        }
    }
    ws.write_number(1, 9, 111.0).unwrap();
    ws.write_number(2, 4, 222.0).unwrap();
    let bytes = with_error_cells(&mut wb, &[("J2", 111.0, "#SPILL!"), ("E3", 222.0, "#DIV/0!")]);
    let (_, q, m) = run(&[("a.xlsx", &bytes)]);
    let got: Vec<(String, String, String)> =
        entries(&q).into_iter().map(|(l, _, f, r, c)| (l, f, format!("{r} {c}"))).collect();
    assert_eq!(
        got,
        [
            ("2".into(), "note".into(), "#SPILL! cell_error".into()),
            ("3".into(), "value".into(), "#DIV/0! cell_error".into()),
        ]
    );
    assert_eq!(m["inputs"][0]["accepted"], 1);
    assert!(m["inputs"][0]["refused"].is_null());
}

/// A file name holding control characters (an escape sequence that would
/// colour a terminal): shown escaped on the console, in the CSVs, the
/// report and the Parquet, as a cell's are.
#[test]
fn control_characters_in_a_file_name_are_escaped_wherever_it_is_shown() {
    let text = format!("{EN_HEADER}TJ-HRSS,2021,INFO-DISCLOSED,,217,条,,,,\nTJ-HRSS,2021,SERVICE-ITEMS,,约,项,,,,\n");
    let s = Scratch::new(&[("a\u{1b}[31mred\u{7}.csv", text.as_bytes())]);
    let o = crate::util::yearbook(&["run", "--input", s.input().to_str().unwrap(), "--out", s.out().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let shown = "a\\x1B[31mred\\x07.csv";
    for (what, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        assert!(!bytes.contains(&0x1b) && !bytes.contains(&0x07), "{what}: {}", String::from_utf8_lossy(bytes));
    }
    // The text outputs (the Parquet and workbooks are compressed: any byte
    // shows up in them; their cells are read below).
    let text = |p: &str| [".csv", ".html", ".json", ".txt"].iter().any(|e| p.ends_with(e));
    for (path, bytes) in files_under(&s.out()).into_iter().filter(|(p, _)| text(p)) {
        assert!(!bytes.windows(2).any(|w| w == b"\x1b[") && !bytes.contains(&0x07), "{path} holds the raw name");
    }
    let q = csv_rows(&s.out().join("quarantine.csv"));
    assert_eq!(q[1][0], shown);
    let obs = parquet_rows(&s.out(), "observations");
    assert_eq!(cell(&obs, &obs[1], "source_file"), shown);
    let report = std::fs::read_to_string(s.out().join("report.html")).unwrap();
    assert!(report.contains("a\\x1B[31mred\\x07.csv"), "the report names the file escaped");
}

/// Symbolic links in the inbox are followed (a file's, a folder's; a link
/// back up is walked once), each file's real place recorded in the
/// manifest; an `--input` or `--out` that is a link to a directory works.
#[test]
fn links_in_the_inbox_are_followed_and_recorded_and_linked_directories_work() {
    let row = |ind: &str, v: u32, unit: &str| format!("{EN_HEADER}TJ-HRSS,2021,{ind},,{v},{unit},,,,\n");
    let tmp = tempfile::tempdir().unwrap();
    let (inbox, elsewhere, outdir) = (tmp.path().join("inbox"), tmp.path().join("elsewhere"), tmp.path().join("o"));
    for d in [&inbox, &elsewhere.join("folder"), &outdir] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(inbox.join("a.csv"), row("INFO-DISCLOSED", 217, "条")).unwrap();
    std::fs::write(elsewhere.join("b.csv"), row("INFO-REQUESTS", 40, "件")).unwrap();
    std::fs::write(elsewhere.join("folder/c.csv"), format!("{EN_HEADER}TJ-HRSS,2021,SERVICE-ITEMS,,174,项,,,,\n"))
        .unwrap();
    std::os::unix::fs::symlink(elsewhere.join("b.csv"), inbox.join("b.csv")).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("folder"), inbox.join("linked")).unwrap();
    std::os::unix::fs::symlink(&inbox, inbox.join("linked-back")).unwrap();
    let (input, out) = (tmp.path().join("input-link"), tmp.path().join("out-link"));
    std::os::unix::fs::symlink(&inbox, &input).unwrap();
    std::os::unix::fs::symlink(&outdir, &out).unwrap();
    let o = crate::util::yearbook(&["run", "-q", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::symlink_metadata(&out).unwrap().file_type().is_symlink(), "--out stays a link");
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(outdir.join("manifest.json")).unwrap()).unwrap();
    let files: Vec<(String, Option<String>, u64)> = m["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["link_target"].as_str().map(str::to_owned),
                f["accepted"].as_u64().unwrap(),
            )
        })
        .collect();
    let real = |p: &std::path::Path| Some(p.canonicalize().unwrap().display().to_string());
    assert_eq!(
        files,
        [
            ("a.csv".to_owned(), None, 1),
            ("b.csv".to_owned(), real(&elsewhere.join("b.csv")), 1),
            ("linked/c.csv".to_owned(), real(&elsewhere.join("folder/c.csv")), 1),
        ]
    );
}
