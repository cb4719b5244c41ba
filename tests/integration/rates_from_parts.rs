//! A rate sent with its numerator and denominator: checked against them at
//! its own precision like a claim, diagnosed when it differs, derived from
//! them when it was not sent; `explain` and `audit` cover both.

use crate::util::{EN_HEADER, Scratch, cell, csv_rows, find, parquet_rows, yearbook};

fn run(rows: &str) -> Scratch {
    let s = Scratch::new(&[("a.csv", format!("{EN_HEADER}{rows}").as_bytes())]);
    let o = s.run();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&o.stderr));
    let audit = yearbook(&["audit", "--out", s.out().to_str().unwrap()]);
    assert_eq!(audit.status.code(), Some(0), "the audit agrees: {}", String::from_utf8_lossy(&audit.stdout));
    s
}

/// The seed's 劳动人事争议结案率: 32000 closed of 32922 accepted.
const PARTS: &str = "DISPUTE-ACCEPTED,,32922,件,,,,\n{A},{Y},DISPUTE-CLOSED,,32000,件,,,,\n";

fn parts(agency: &str, year: u32) -> String {
    format!("{agency},{year},{}", PARTS.replace("{A}", agency).replace("{Y}", &year.to_string()))
}

#[test]
fn a_sent_rate_is_checked_against_its_parts_at_its_own_precision() {
    // SUBMISSIONS.md worked example: closed 32000 of 32922 → 97.2 %.
    let s = run(&format!("{}TJ-HRSS,2021,DISPUTE-CLOSE-RATE,,97.2,%,,,,\n", parts("TJ-HRSS", 2021)));
    let claims = crate::util::claims_table(&s.out());
    let r = find(&claims, &[("claim", "rate")]);
    assert_eq!(cell(&claims, r, "against"), "rate_from_parts");
    assert_eq!((cell(&claims, r, "claimed"), cell(&claims, r, "claimed_decimals")), ("97.2", "1"));
    assert_eq!((cell(&claims, r, "computed"), cell(&claims, r, "computed_unrounded")), ("97.2", "97.199441103214"));
    assert_eq!((cell(&claims, r, "claim_matches"), cell(&claims, r, "source_line")), ("true", "4"));
    let m = parquet_rows(&s.out(), "metrics");
    assert_eq!(cell(&m, find(&m, &[("indicator", "DISPUTE-CLOSE-RATE")]), "rate_matches_parts"), "true");
    let rates = parquet_rows(&s.out(), "rates");
    let row = &rates[1];
    assert_eq!((cell(&rates, row, "rate_from_parts"), cell(&rates, row, "derived")), ("97.2", "false"));
    assert_eq!((cell(&rates, row, "numerator_source_line"), cell(&rates, row, "denominator_source_line")), ("3", "2"));
}

#[test]
fn a_rate_that_differs_from_its_parts_is_diagnosed() {
    let rows = [
        // From the parts as published, 3.2万 / 3.3万.
        parts("TJ-D01-HRSS", 2021),
        "TJ-D01-HRSS,2021,DISPUTE-CLOSE-RATE,,97.0,%,,,,\n".to_owned(),
        // A fraction where a percentage was due.
        parts("TJ-D02-HRSS", 2021),
        "TJ-D02-HRSS,2021,DISPUTE-CLOSE-RATE,,0.97,%,,,,\n".to_owned(),
        // Over the year before's accepted cases.
        "TJ-D13-HRSS,2020,DISPUTE-ACCEPTED,,33874,件,,,,\n".to_owned(),
        parts("TJ-D13-HRSS", 2021),
        "TJ-D13-HRSS,2021,DISPUTE-CLOSE-RATE,,94.5,%,,,,\n".to_owned(),
        // Parts sent rounded, 0.29万 / 0.33万: the rate from the unrounded
        // figures lies in the range they allow.
        "TJ-D01-JUS,2021,DISPUTE-ACCEPTED,,0.33,万件,,,,\nTJ-D01-JUS,2021,DISPUTE-CLOSED,,0.29,万件,,,,\n".to_owned(),
        "TJ-D01-JUS,2021,DISPUTE-CLOSE-RATE,,88.76,%,,,,\n".to_owned(),
    ];
    let s = run(&rows.concat());
    let claims = crate::util::claims_table(&s.out());
    let cases = [
        ("TJ-D01-HRSS", "rounded_inputs", "3.2万件 and 3.3万件"),
        ("TJ-D02-HRSS", "fraction_for_percent", "32000 / 32922 = 0.971994"),
        ("TJ-D13-HRSS", "wrong_denominator", "32000 / 33874 (the denominator of 2020) × 100"),
        ("TJ-D01-JUS", "rounded_parts", "(2900 ± 50 over 3300 ± 50): any rate from 85.074627 to 90.769231"),
    ];
    for (agency, diagnosis, detail) in cases {
        let r = find(&claims, &[("agency", agency), ("claim", "rate")]);
        assert_eq!((cell(&claims, r, "claim_matches"), cell(&claims, r, "diagnosis")), ("false", diagnosis), "{r:?}");
        assert!(cell(&claims, r, "detail").contains(detail), "{r:?}");
    }
    let m = parquet_rows(&s.out(), "metrics");
    let d01 = find(&m, &[("agency", "TJ-D01-HRSS"), ("indicator", "DISPUTE-CLOSE-RATE")]);
    assert_eq!(cell(&m, d01, "rate_matches_parts"), "false");
    let people = csv_rows(&s.out().join("summary/2021/claims.csv"));
    assert_eq!(people.len() - 1, 4);
    assert_eq!(cell(&people, &people[1], "诊断"), "按修约后的发布数计算");
}

#[test]
fn a_rate_not_sent_is_derived_from_its_parts_with_both_sources() {
    let rows = format!(
        "{}{}TJ-D01-HRSS,2022,DISPUTE-CLOSE-RATE,,—,%,,,,待核定\n",
        parts("TJ-HRSS", 2021),
        parts("TJ-D01-HRSS", 2022)
    );
    let s = run(&rows);
    let rates = parquet_rows(&s.out(), "rates");
    assert_eq!(rates.len() - 1, 2);
    for (agency, numerator_line, denominator_line) in [("TJ-HRSS", "3", "2"), ("TJ-D01-HRSS", "5", "4")] {
        let r = find(&rates, &[("agency", agency)]);
        assert_eq!((cell(&rates, r, "derived"), cell(&rates, r, "rate_from_parts")), ("true", "97.2"), "{r:?}");
        assert_eq!((cell(&rates, r, "sent"), cell(&rates, r, "matches"), cell(&rates, r, "source_line")), ("", "", ""));
        assert_eq!(cell(&rates, r, "numerator_source_line"), numerator_line);
        assert_eq!(cell(&rates, r, "denominator_source_line"), denominator_line);
    }
    // The agency's own rows are what it sent: no rate for TJ-HRSS, a
    // missing one for TJ-D01-HRSS.
    let obs = parquet_rows(&s.out(), "observations");
    assert!(
        obs[1..]
            .iter()
            .all(|r| cell(&obs, r, "agency") != "TJ-HRSS" || cell(&obs, r, "indicator") != "DISPUTE-CLOSE-RATE")
    );
    // explain cites both parts, line by line, for a rate that has no row of
    // its own.
    let out = s.out();
    let o = yearbook(&["explain", "TJ-HRSS", "DISPUTE-CLOSE-RATE", "2021", "--out", out.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(text.contains("= 32000 / 32922 × 100\n  = 97.199441103213…\n  → 97.2"), "{text}");
    assert!(text.contains("a.csv line 3, byte"), "{text}");
    assert!(text.contains("a.csv line 2, byte"), "{text}");
    assert!(text.contains("derived: the agency sent no figure for the rate"), "{text}");
    let o = yearbook(&[
        "explain",
        "TJ-D13-HRSS",
        "DISPUTE-CLOSE-RATE",
        "2021",
        "--metric",
        "rate",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}
