//! The review rules (审核公式) of the bundled pipeline on the sample, and
//! a rules file's mistakes as the statistician sees them at load.

use crate::util::{EN_HEADER, Scratch, cell, csv_rows, find, parquet_rows, shared_sample, stdout};

/// The `checks` table's row of `rule` for `agency` in `year`.
fn check<'a>(rows: &'a [Vec<String>], rule: &str, agency: &str, year: &str) -> &'a Vec<String> {
    find(rows, &[("rule", rule), ("agency", agency), ("year", year)])
}

#[test]
fn an_error_rule_quarantines_the_figures_it_read_and_the_totals_go_on_without_them() {
    let dir = shared_sample();
    // TJ-D13-HRSS says 1284 mediations succeeded in 2022 of 1260 accepted.
    let q = csv_rows(&dir.join("quarantine.csv"));
    let failed: Vec<(&str, &str, &str)> =
        q.iter().filter(|r| r[5] == "rule_failed").map(|r| (r[1].as_str(), r[3].as_str(), r[4].as_str())).collect();
    assert_eq!(failed, [("34", "MEDIATION-ACCEPTED", "1260"), ("35", "MEDIATION-SUCCEEDED", "1284")]);
    assert!(q.iter().any(|r| r[5] == "rule_failed" && r[7].ends_with("fails: 1284 <= 1260")), "{q:?}");
    // Neither figure is published; the city's total is the one district
    // left, and its growth compares that district alone (同口径).
    let obs = parquet_rows(dir, "observations");
    assert!(
        !obs.iter()
            .any(|r| ["TJ-D13-HRSS", "MEDIATION-SUCCEEDED", "2022"].iter().all(|c| r.contains(&(*c).to_owned())))
    );
    let totals = parquet_rows(dir, "totals");
    let city = find(&totals, &[("agency", "TJ"), ("indicator", "MEDIATION-ACCEPTED"), ("year", "2022")]);
    assert_eq!(cell(&totals, city, "value"), "1150.00000000000000000000");
    assert_eq!(cell(&totals, city, "contributors"), "[TJ-D02-HRSS]");
    assert_eq!(cell(&totals, city, "growth_pct"), "40.24");
    // The manifest counts them.
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["counts"]["quarantine_codes"]["rule_failed"], 2);
    assert_eq!(m["counts"]["checks"]["quarantined_rows"], 2);
    assert_eq!(m["counts"]["checks"]["failed"], 3);
    assert_eq!(m["counts"]["checks"]["explained"], 1);
}

#[test]
fn each_evaluation_says_its_outcome_both_sides_and_the_figures_it_read() {
    let dir = shared_sample();
    let rows = parquet_rows(dir, "checks");
    // A warning the agency explained in its note.
    let r = check(&rows, "R29", "TJ-D02-HRSS", "2022");
    assert_eq!(cell(&rows, r, "outcome"), "explained");
    assert_eq!(cell(&rows, r, "explanation"), "2022年起仲裁前置调解案件纳入统计");
    // (1150 − 820) / 820 × 100, which does not end: shown to 10 decimals.
    assert_eq!((cell(&rows, r, "left"), cell(&rows, r, "right")), ("≈40.243902439", "30"));
    assert_eq!(
        cell(&rows, r, "figures_read"),
        "[MEDIATION-ACCEPTED 2021 prev = 820 (districts/TJ-D02-HRSS.csv:31), \
         MEDIATION-ACCEPTED 2022 value = 1150 (districts/TJ-D02-HRSS.csv:32)]"
    );
    // The same rule unexplained elsewhere.
    assert_eq!(cell(&rows, check(&rows, "R29", "TJ-D13-HRSS", "2022"), "outcome"), "fail");
    // The seed's 37.6万人 against its target: passes, exactly.
    let r = check(&rows, "R06", "TJ-HRSS", "2021");
    assert_eq!(
        (cell(&rows, r, "outcome"), cell(&rows, r, "left"), cell(&rows, r, "right")),
        ("pass", "376200", "315000")
    );
    // On totals: the 2020 全市 figure below its members' sum (the table's
    // footnote says a district was corrected after the city's was made).
    let r = check(&rows, "R35", "TJ", "2020");
    assert_eq!((cell(&rows, r, "outcome"), cell(&rows, r, "left"), cell(&rows, r, "right")), ("fail", "1174", "1177"));
    assert!(cell(&rows, r, "figures_read").contains("members = 1177 (the contributors' sum)"));
    assert!(cell(&rows, r, "figures_read").contains("(imports/2019-2020年劳动保障监察情况.csv:9)"));
    // Not evaluated, with the reason: no 2018 to grow from.
    let r = check(&rows, "R21", "TJ-HRSS", "2019");
    assert_eq!(cell(&rows, r, "outcome"), "not_evaluated");
    assert_eq!(cell(&rows, r, "not_evaluated_reason"), "no prev of EMP-URBAN-NEW for 2018");
    // The people's summary lists the failures and the explained finding only.
    let summary = csv_rows(&dir.join("summary/审核结果.csv"));
    let listed: Vec<(&str, &str, &str)> =
        summary[1..].iter().map(|r| (r[0].as_str(), r[3].as_str(), r[6].as_str())).collect();
    assert_eq!(
        listed,
        [
            ("R12", "TJ-D13-HRSS", "未通过"),
            ("R29", "TJ-D02-HRSS", "已说明"),
            ("R29", "TJ-D13-HRSS", "未通过"),
            ("R35", "TJ", "未通过"),
        ]
    );
}

#[test]
fn a_rules_file_s_mistakes_are_all_refused_at_load_each_at_its_place() {
    let s = Scratch::new(&[("a.csv", format!("{EN_HEADER}TJ-HRSS,2021,EMP-URBAN-NEW,,1,人,,,,\n").as_bytes())]);
    let rules = s.dir.path().join("rules.csv");
    std::fs::write(
        &rules,
        "id,name_zh,name_en,severity,applies_to,expression,tolerance\n\
         A1,甲,A,error,all,{EMP-URBAN-NEW} + {WAGE-MIN-MONTH} >= 0,\n\
         A2,乙,B,warning,all,{EMP-URBAN-NEW} >= ,\n\
         A3,丙,C,error,parents,{EMP-URBAN-NEW} >= members({EMP-URBAN-NEW}),\n",
    )
    .unwrap();
    let rules_line = format!("rules = \"{}\"", rules.display());
    let o = s.run_with(&[("rules = \"", &format!("{rules_line}\n# was: rules = \""))]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("3 configuration errors"), "{err}");
    assert!(err.contains("rules.csv:2: column 1 of the expression: units do not agree: 人 plus 元"), "{err}");
    assert!(err.contains("rules.csv:3: column 19 of the expression: expected a number"), "{err}");
    assert!(err.contains("      {EMP-URBAN-NEW} >=\n                        ^"), "{err}");
    assert!(err.contains("rules.csv:4: rule `A3` reads members()"), "{err}");
    assert!(!s.out().exists(), "nothing written");
}

#[test]
fn explain_lists_the_rules_that_read_a_figure_and_their_outcomes() {
    let dir = shared_sample();
    let o = crate::util::yearbook(&[
        "explain",
        "TJ-D02-HRSS",
        "MEDIATION-ACCEPTED",
        "2022",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let text = stdout(&o);
    assert!(text.contains("review rules (审核) that read it:"), "{text}");
    assert!(text.contains("R20 调解受理案件不超过争议受理数的两倍 (warning, 2022): pass: 1150 <= 3170"), "{text}");
    assert!(
        text.contains("R29 调解受理案件增幅在正负30%以内 (warning, 2022): explained: ≈40.243902439 <= 30"),
        "{text}"
    );
    assert!(text.contains("explained: 2022年起仲裁前置调解案件纳入统计"), "{text}");
    // The year before: read as `prev` by 2022's R29.
    let o = crate::util::yearbook(&[
        "explain",
        "TJ-D02-HRSS",
        "MEDIATION-ACCEPTED",
        "2021",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(stdout(&o).contains("R29 调解受理案件增幅在正负30%以内 (warning, 2022): explained"), "{}", stdout(&o));
}

#[test]
fn validate_evaluates_the_rules_one_file_can_decide_before_it_is_sent() {
    let path = crate::util::repo().join("sample_data/districts/TJ-D13-HRSS.csv");
    let o = crate::util::yearbook(&["validate", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let text = stdout(&o);
    assert!(
        text.contains("TJ-D13-HRSS.csv:34: error rule R12 Mediations succeeded at most mediations accepted | 调解成功案件不超过调解受理案件: `{MEDIATION-SUCCEEDED} <= {MEDIATION-ACCEPTED}`: 1284 <= 1260"),
        "{text}"
    );
    assert!(text.contains("warning rule R29"), "{text}");
    // Rules whose figures are in other files, and rules on totals, are
    // said to be left for the run.
    assert!(text.contains("review rules: 45 evaluated, 33 passed, 2 failed (2 rows the run would quarantine), 0 explained, 10 not evaluated (a figure they read is not in this file); 10 rules on totals need the members' files"), "{text}");
}
