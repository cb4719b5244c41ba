use crate::util::{EN_HEADER, Scratch, cell, csv_rows, find, parquet_rows};

fn run(files: &[(&str, &str)]) -> (Scratch, Vec<Vec<String>>) {
    let owned: Vec<(&str, &[u8])> = files.iter().map(|(n, t)| (*n, t.as_bytes())).collect();
    let s = Scratch::new(&owned);
    let o = s.run();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&o.stderr));
    let q = csv_rows(&s.out().join("quarantine.csv"));
    (s, q)
}

fn codes(q: &[Vec<String>]) -> Vec<(String, String, String)> {
    q[1..].iter().map(|r| (r[1].clone(), r[3].clone(), r[5].clone())).collect()
}

#[test]
fn wide_layout_becomes_long_observations() {
    let (s, q) = run(&[(
        "w.csv",
        "单位代码,指标代码,计量单位,2020年,2021\nTJ-MZ,INFO-DISCLOSED,条,155,163\nTJ-MZ,ADMIN-LITIGATION,件,25,约30\n",
    )]);
    let obs = parquet_rows(&s.out(), "observations");
    let row = find(&obs, &[("year", "2021"), ("indicator", "INFO-DISCLOSED")]);
    assert_eq!(cell(&obs, row, "value"), "163.00000000000000000000");
    assert_eq!(cell(&obs, row, "source_field"), "2021");
    assert_eq!(cell(&obs, row, "source_line"), "2");
    assert_eq!(obs.len() - 1, 3);
    assert_eq!(codes(&q), [("3".into(), "2021".into(), "bad_number".into())]);
}

#[test]
fn an_exact_repeat_keeps_the_first_row() {
    let row = "TJ-HRSS,2021,INFO-DISCLOSED,,217,条,,,,\n";
    let (s, q) = run(&[("a.csv", &format!("{EN_HEADER}{row}{row}"))]);
    assert_eq!(codes(&q), [("3".into(), "value".into(), "duplicate_identical".into())]);
    assert_eq!(parquet_rows(&s.out(), "observations").len() - 1, 1);
}

#[test]
fn a_later_file_supersedes_and_the_old_row_is_history() {
    let a = format!("{EN_HEADER}TJ-HRSS,2021,INFO-DISCLOSED,,210,条,,,,\n");
    let b = format!("{EN_HEADER}TJ-HRSS,2021,INFO-DISCLOSED,,217,条,,,,更正\n");
    let (s, q) = run(&[("2022-01/a.csv", &a), ("2022-03/b.csv", &b)]);
    assert_eq!(q.len(), 1);
    let obs = parquet_rows(&s.out(), "observations");
    assert_eq!(cell(&obs, &obs[1], "value"), "217.00000000000000000000");
    let sup = parquet_rows(&s.out(), "superseded");
    assert_eq!(cell(&sup, &sup[1], "value"), "210.00000000000000000000");
    assert_eq!(cell(&sup, &sup[1], "source_file"), "2022-01/a.csv");
    assert_eq!(cell(&sup, &sup[1], "superseded_by_file"), "2022-03/b.csv");
}

#[test]
fn a_missing_value_with_a_note_is_kept_as_missing_never_zero() {
    let (s, q) = run(&[(
        "a.csv",
        &format!("{EN_HEADER}TJ-HRSS,2021,INFO-REQUESTS,,—,件,,,,待核定\nTJ-HRSS,2022,INFO-REQUESTS,,NA,件,,,,\n"),
    )]);
    assert_eq!(codes(&q), [("3".into(), "value".into(), "missing_without_note".into())]);
    let obs = parquet_rows(&s.out(), "observations");
    assert_eq!(cell(&obs, &obs[1], "value"), "");
    assert_eq!(cell(&obs, &obs[1], "value_raw"), "—");
    let m = parquet_rows(&s.out(), "metrics");
    assert_eq!(cell(&m, &m[1], "actual"), "");
}

#[test]
fn a_header_without_a_required_column_quarantines_every_row() {
    let (_, q) =
        run(&[("a.csv", "agency,year,indicator,value\nTJ-HRSS,2021,INFO-REQUESTS,1\nTJ-HRSS,2022,INFO-REQUESTS,2\n")]);
    assert_eq!(
        codes(&q),
        [("2".into(), "".into(), "missing_column".into()), ("3".into(), "".into(), "missing_column".into())]
    );
    assert!(q[1][7].contains("long layout needs unit"), "{}", q[1][7]);
}

#[test]
fn warnings_keep_the_row() {
    let csv = "agency,year,indicator,indicator_name,value,unit,claimed_completion,remarks\n\
               TJ-HRSS,2021,INFO-DISCLOSED,公开信息,217,条,约108%,x\n";
    let (s, q) = run(&[("a.csv", csv)]);
    assert_eq!(q.len(), 1);
    let w = csv_rows(&s.out().join("warnings.csv"));
    let got: Vec<(&str, &str)> = w[1..].iter().map(|r| (r[3].as_str(), r[5].as_str())).collect();
    assert_eq!(
        got,
        [("remarks", "unknown_column"), ("claimed_completion", "bad_claim"), ("indicator_name", "name_mismatch")]
    );
    assert_eq!(parquet_rows(&s.out(), "observations").len() - 1, 1);
}

#[test]
fn ratio_totals_come_from_summed_parts_not_averaged_rates() {
    // Two agencies: 90/100 and 10/100: the total is 100/200 = 50%, not the
    // mean of 90% and 10% (which happens to agree) — so use 90/100 and 1/10:
    // Σ = 91/110 = 82.7%, while the mean of rates would be 50%.
    let csv = format!(
        "{EN_HEADER}TJ-D01-HRSS,2021,DISPUTE-CLOSED,,90,件,,,,\nTJ-D01-HRSS,2021,DISPUTE-ACCEPTED,,100,件,,,,\n\
         TJ-D02-HRSS,2021,DISPUTE-CLOSED,,1,件,,,,\nTJ-D02-HRSS,2021,DISPUTE-ACCEPTED,,10,件,,,,\n"
    );
    let (s, _) = run(&[("a.csv", &csv)]);
    let t = parquet_rows(&s.out(), "totals");
    let city = find(&t, &[("agency", "TJ"), ("indicator", "DISPUTE-CLOSE-RATE")]);
    assert_eq!(cell(&t, city, "value"), "82.70000000000000000000");
    assert_eq!(cell(&t, city, "value_unrounded"), "82.72727272727272727273");
    assert_eq!(cell(&t, city, "numerator"), "91.00000000000000000000");
    assert_eq!(cell(&t, city, "n_agencies"), "2");
    let district = find(&t, &[("agency", "TJ-D02"), ("indicator", "DISPUTE-CLOSE-RATE")]);
    assert_eq!(cell(&t, district, "value"), "10.00000000000000000000");
}

#[test]
fn the_declared_rounding_rule_decides_ties() {
    // (201.09 − 200) / 200 × 100 = 0.545 exactly: half_up 0.55, half_even
    // (GB/T 8170) 0.54.
    let csv =
        format!("{EN_HEADER}TJ-HRSS,2020,INFO-DISCLOSED,,200,条,,,,\nTJ-HRSS,2021,INFO-DISCLOSED,,201.09,条,,,0.54,\n");
    let s = Scratch::new(&[("a.csv", csv.as_bytes())]);
    for (rule, growth, claim_ok) in [("half_up", "0.55", "false"), ("half_even", "0.54", "true")] {
        let o = s.run_with(&[("rule = \"half_up\"", &format!("rule = \"{rule}\""))]);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        let m = parquet_rows(&s.out(), "metrics");
        let row = find(&m, &[("year", "2021")]);
        assert_eq!(cell(&m, row, "growth_pct"), growth, "{rule}");
        assert_eq!(cell(&m, row, "growth_pct_unrounded"), "0.545000000000", "{rule}");
        assert_eq!(cell(&m, row, "claimed_growth_matches"), claim_ok, "{rule}");
        assert_eq!(cell(&m, row, "rounding"), rule);
    }
}

#[test]
fn a_quarantined_row_shows_its_agency_as_missing_from_the_total() {
    let csv =
        format!("{EN_HEADER}TJ-D01-HRSS,2021,EMP-URBAN-NEW,,100,人,,,,\nTJ-D02-HRSS,2021,EMP-URBAN-NEW,,千余,人,,,,\n");
    let (s, q) = run(&[("a.csv", &csv)]);
    assert_eq!(codes(&q), [("3".into(), "value".into(), "bad_number".into())]);
    let t = parquet_rows(&s.out(), "totals");
    let city = find(&t, &[("agency", "TJ"), ("indicator", "EMP-URBAN-NEW")]);
    assert_eq!(cell(&t, city, "value"), "100.00000000000000000000");
    // The district bureaus report their districts' new jobs (the register's
    // `reports_for`), so the city adds the districts' figures.
    assert_eq!(cell(&t, city, "contributors"), "[TJ-D01]");
    assert_eq!(cell(&t, city, "missing"), "[TJ-D02]");
    let district = find(&t, &[("agency", "TJ-D02"), ("indicator", "EMP-URBAN-NEW")]);
    assert_eq!(cell(&t, district, "value"), "");
    assert_eq!(cell(&t, district, "n_agencies"), "0");
}

#[test]
fn files_without_rows_still_account_for_themselves() {
    let (s, q) = run(&[
        ("empty.csv", ""),
        ("header-only.csv", "agency,year,indicator,value,unit,remarks\n"),
        ("bad-header.csv", "agency,year,indicator,value\n"),
    ]);
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(s.out().join("manifest.json")).unwrap()).unwrap();
    let inputs = m["inputs"].as_array().unwrap();
    let by = |path: &str| inputs.iter().find(|f| f["path"] == path).unwrap().clone();
    assert_eq!(by("empty.csv")["refused"], "no_header: the file is empty, or ends before its header row");
    assert_eq!(by("header-only.csv")["refused"], serde_json::Value::Null);
    assert_eq!(by("header-only.csv")["layout"], "long");
    assert_eq!(by("bad-header.csv")["refused"], "missing_column: long layout needs unit");
    // A file refused whole with no row is itself a quarantine entry, with
    // why; and `validate` fails on it.
    let got: Vec<(&str, &str, &str)> = q[1..].iter().map(|r| (r[0].as_str(), r[1].as_str(), r[5].as_str())).collect();
    assert_eq!(got, [("bad-header.csv", "1", "missing_column"), ("empty.csv", "1", "no_header")]);
    assert!(q[1][7].contains("long layout needs unit"), "{}", q[1][7]);
    let o = crate::util::yearbook(&["validate", s.input().join("empty.csv").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no_header"), "{}", String::from_utf8_lossy(&o.stdout));
    // A header without rows is said so in the warnings.
    let w = csv_rows(&s.out().join("warnings.csv"));
    let got: Vec<(&str, &str, &str, &str)> =
        w[1..].iter().map(|r| (r[0].as_str(), r[1].as_str(), r[3].as_str(), r[5].as_str())).collect();
    assert_eq!(got, [("header-only.csv", "1", "remarks", "unknown_column"), ("header-only.csv", "1", "", "no_rows")]);
}

#[test]
fn a_record_past_the_size_limit_is_quarantined_without_being_copied() {
    let note = "备".repeat(400_000); // 1.2 MB of 备注
    let rows = format!("TJ-HRSS,2021,INFO-DISCLOSED,,217,条,,,,{note}\nTJ-HRSS,2021,SERVICE-ITEMS,,174,项,,,,\n");
    let (s, q) = run(&[("a.csv", &format!("{EN_HEADER}{rows}"))]);
    assert_eq!(codes(&q), [("2".into(), "note".into(), "line_too_long".into())]);
    let raw = &q[1][4];
    assert!(raw.ends_with('…') && raw.chars().count() <= 201, "the quarantine keeps the start: {} chars", raw.len());
    assert!(q[1][7].contains("the record is 1200"), "{}", q[1][7]);
    assert_eq!(parquet_rows(&s.out(), "observations").len() - 1, 1, "the next row is read");
}

#[test]
fn a_file_without_line_breaks_is_refused_at_its_first_line() {
    let huge = "x".repeat(50_000_000);
    let (s, q) = run(&[("one-line.csv", &huge)]);
    assert_eq!(codes(&q), [("1".into(), "".into(), "line_too_long".into())], "the file, quarantined whole");
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(s.out().join("manifest.json")).unwrap()).unwrap();
    let refused = m["inputs"][0]["refused"].as_str().unwrap();
    assert_eq!(refused, "line_too_long: the first line is 50000000 bytes; at most 1048576");
}

#[test]
fn a_figure_below_its_indicators_minimum_is_rejected() {
    // The catalog gives head counts, case counts and shares a minimum of 0;
    // a pension increase may be negative (no minimum).
    let rows = "TJ-HRSS,2021,DISPUTE-ACCEPTED,,-5,件,,,,\n\
                TJ-HRSS,2021,EMP-URBAN-NEW,,37.62,万人,-35,,,\n\
                TJ-HRSS,2021,DISPUTE-CLOSE-RATE,,-1.5,%,,,,\n\
                TJ-HRSS,2021,PENSION-INCREASE-RATE,,-0.5,%,,,,\n";
    let (s, q) = run(&[("a.csv", &format!("{EN_HEADER}{rows}"))]);
    assert_eq!(
        codes(&q),
        [
            ("2".into(), "value".into(), "below_minimum".into()),
            ("3".into(), "target".into(), "below_minimum".into()),
            ("4".into(), "value".into(), "below_minimum".into()),
        ]
    );
    assert!(q[1][7].contains("DISPUTE-ACCEPTED is at least 0"), "{}", q[1][7]);
    let obs = parquet_rows(&s.out(), "observations");
    assert_eq!(cell(&obs, &obs[1], "indicator"), "PENSION-INCREASE-RATE");
    assert_eq!(obs.len() - 1, 1);
}

/// Runs `rows` against the bundled catalog with its `min` column edited by
/// `min(code, min) -> min`, or dropped (`None`).
fn run_with_min(rows: &str, min: Option<fn(&str, &str) -> String>) -> Vec<Vec<String>> {
    let s = Scratch::new(&[("a.csv", format!("{EN_HEADER}{rows}").as_bytes())]);
    let catalog = std::fs::read_to_string(crate::util::repo().join("schemas/catalog.csv")).unwrap();
    let edited: String = catalog
        .lines()
        .map(|l| {
            let (rest, m) = l.rsplit_once(',').unwrap();
            let code = l.split(',').next().unwrap();
            match min {
                None => format!("{rest}\n"),
                Some(f) => format!("{rest},{}\n", if code == "code" { m.to_owned() } else { f(code, m) }),
            }
        })
        .collect();
    let path = s.dir.path().join("catalog.csv");
    std::fs::write(&path, edited).unwrap();
    let (i, o, c) = (s.input(), s.out(), path.to_str().unwrap().to_owned());
    let args = ["run", "-q", "--input", i.to_str().unwrap(), "--catalog", &c, "--out", o.to_str().unwrap()];
    let out = crate::util::yearbook(&args);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
    csv_rows(&s.out().join("quarantine.csv"))
}

#[test]
fn a_negative_head_count_is_rejected_by_its_kinds_default_minimum() {
    // SUBMISSIONS.md's catalog format has no `min` column: counts, rates,
    // averages and levels still cannot go below 0; amounts and cumulative
    // figures can.
    let rows = "TJ-HRSS,2021,DISPUTE-ACCEPTED,,－35,件,,,,\n\
                TJ-HRSS,2021,SERVICE-DAYS,,-1,个工作日,,,,\n\
                TJ-HRSS,2021,WAGE-ARREARS-RECOVERED,,-5,元,,,,\n\
                TJ-HRSS,2021,TALENT-CUM,,-5,人,,,,\n";
    let q = run_with_min(rows, None);
    assert_eq!(
        codes(&q),
        [("2".into(), "value".into(), "below_minimum".into()), ("3".into(), "value".into(), "below_minimum".into())]
    );
    // An empty `min` is the same default.
    assert_eq!(codes(&run_with_min(rows, Some(|_, _| String::new()))), codes(&q));
}

#[test]
fn min_none_lets_a_net_change_fall_below_zero_and_a_number_overrides_the_default() {
    // A net change in the number of enterprises is a count that can fall.
    let rows = "TJ-HRSS,2021,DISPUTE-ACCEPTED,,-5,件,,,,\nTJ-HRSS,2021,WAGE-ARREARS-RECOVERED,,50,元,,,,\n";
    let q = run_with_min(
        rows,
        Some(|code, m| match code {
            "DISPUTE-ACCEPTED" => "none".into(),
            "WAGE-ARREARS-RECOVERED" => "100".into(),
            _ => m.into(),
        }),
    );
    assert_eq!(codes(&q), [("3".into(), "value".into(), "below_minimum".into())]);
    assert!(q[1][7].contains("WAGE-ARREARS-RECOVERED is at least 100"), "{}", q[1][7]);
}

#[test]
fn a_rate_above_100_is_kept_with_a_warning() {
    let rows = "TJ-HRSS,2021,DISPUTE-CLOSE-RATE,,101.3,%,,,,\nTJ-HRSS,2021,ONE-VISIT-RATE,,100,%,,,,\n";
    let (s, q) = run(&[("a.csv", &format!("{EN_HEADER}{rows}"))]);
    assert_eq!(q.len(), 1, "nothing quarantined");
    let w = csv_rows(&s.out().join("warnings.csv"));
    assert_eq!(codes(&w), [("2".into(), "value".into(), "rate_above_100".into())]);
    assert_eq!(parquet_rows(&s.out(), "observations").len() - 1, 2);
}

#[test]
fn blank_rows_extra_and_missing_cells_are_told_apart() {
    let text = format!(
        "{EN_HEADER}TJ-HRSS,2021,INFO-DISCLOSED,,217,条,,,,\n,,,,,,,,,\n\
         TJ-HRSS,2021,SERVICE-ITEMS,,174,项,,,,,extra\nTJ-HRSS,2021,ADMIN-LITIGATION,,30,件\n"
    );
    let (s, q) = run(&[("a.csv", &text)]);
    assert_eq!(
        codes(&q),
        [("4".into(), "".into(), "extra_cells".into()), ("5".into(), "".into(), "missing_cells".into())]
    );
    let w = csv_rows(&s.out().join("warnings.csv"));
    assert_eq!(codes(&w), [("3".into(), "".into(), "blank_row".into())]);
}

#[test]
fn groups_total_their_members_beside_several_roots_and_audit_agrees() {
    let agencies = "code,name_zh,name_en,parent,groups\n\
                    CHN,中国,China,,ASIA\n\
                    CHN-TJ,天津,,CHN,\n\
                    CHN-BJ,北京,,CHN,\n\
                    JPN,,Japan,,ASIA\n\
                    ASIA,,East Asia,,\n";
    let rows = "CHN-TJ,2021,EMP-URBAN-NEW,,376200,人,,,,\nCHN-BJ,2021,EMP-URBAN-NEW,,261000,人,,,,\n\
                JPN,2021,EMP-URBAN-NEW,,100000,人,,,,\nCHN-TJ,2020,EMP-URBAN-NEW,,370900,人,,,,\n";
    let s = Scratch::new(&[("a.csv", format!("{EN_HEADER}{rows}").as_bytes())]);
    let reg = s.dir.path().join("agencies.csv");
    std::fs::write(&reg, agencies).unwrap();
    let pipeline = s.dir.path().join("pipeline.toml");
    std::fs::write(&pipeline, crate::util::pipeline_without_sources()).unwrap();
    let run = crate::util::run_pipeline(&s, &pipeline, &["--agencies", reg.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let t = parquet_rows(&s.out(), "totals");
    let total = |agency: &str| {
        let row = find(&t, &[("agency", agency), ("indicator", "EMP-URBAN-NEW"), ("year", "2021")]);
        (cell(&t, row, "value").split('.').next().unwrap().to_owned(), cell(&t, row, "contributors").to_owned())
    };
    assert_eq!(total("CHN"), ("637200".to_owned(), "[CHN-BJ, CHN-TJ]".to_owned()));
    // The group adds its members' leaves: China's bureaus and Japan.
    assert_eq!(total("ASIA"), ("737200".to_owned(), "[CHN-BJ, CHN-TJ, JPN]".to_owned()));
    // Two roots, and the group is summed into nothing.
    assert_eq!(t[1..].iter().filter(|r| cell(&t, r, "year") == "2021").count(), 2);
    // Japan has only an English name: it is the name shown.
    let obs = parquet_rows(&s.out(), "observations");
    assert_eq!(cell(&obs, find(&obs, &[("agency", "JPN")]), "agency_name"), "Japan");
    let audit = crate::util::yearbook(&["audit", "--out", s.out().to_str().unwrap()]);
    assert_eq!(audit.status.code(), Some(0), "{}", String::from_utf8_lossy(&audit.stdout));
}
