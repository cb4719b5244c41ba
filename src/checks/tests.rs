//! Each operator, function and tolerance of the review rules by the case
//! that shows it, against the bundled catalog and register; and a
//! property: over generated figures and rules, the outcome is the one a
//! reference evaluator over exact fractions gives.

use std::path::Path;

use proptest::prelude::*;

use super::*;
use crate::config::checks::Rules;
use crate::model::FileId;

struct Fixture {
    catalog: Catalog,
    register: Register,
}

fn fixture() -> Fixture {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    Fixture {
        catalog: Catalog::load(&dir.join("catalog.csv")).unwrap(),
        register: Register::load(&dir.join("agencies.csv")).unwrap(),
    }
}

impl Fixture {
    fn lookup(&self) -> Lookup<'_> {
        Lookup { catalog: &self.catalog, register: &self.register }
    }

    /// The rules of `rows` (each `id,severity,applies_to,expression,tolerance`).
    fn rules(&self, rows: &[&str]) -> Vec<Rule> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.csv");
        let mut text = String::from("id,name_zh,name_en,severity,applies_to,expression,tolerance\n");
        for (n, r) in rows.iter().enumerate() {
            // The expression between the third comma and the last, quoted
            // as a spreadsheet writes a cell with commas.
            let mut parts = r.splitn(4, ',');
            let (id, severity, applies) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
            let (expression, tolerance) = parts.next().unwrap().rsplit_once(',').unwrap();
            let quoted = expression.replace('"', "\"\"");
            text.push_str(&format!("{id},规则{n},Rule {n},{severity},{applies},\"{quoted}\",{tolerance}\n"));
        }
        std::fs::write(&path, text).unwrap();
        Rules::load(&path, &self.catalog, &self.register).unwrap_or_else(|e| panic!("{e}")).0
    }

    /// A row of `agency` for `indicator` and `year`, from line `line`.
    fn row(&self, agency: &str, indicator: &str, year: i32, value: Option<&str>, line: u64) -> Observation {
        Observation {
            key: Key {
                agency: self.register.get(agency).unwrap(),
                indicator: self.catalog.get(indicator).unwrap(),
                year,
            },
            value: value.map(|v| v.parse().unwrap()),
            target: None,
            claimed_completion: None,
            claimed_growth: None,
            unit: "".into(),
            power: 0,
            note: None,
            value_raw: value.unwrap_or("").into(),
            target_raw: None,
            origin: Origin { file: FileId(0), line, byte: line * 100, column: 4 },
        }
    }

    fn check(&self, rules: &[&str], mut rows: Vec<Observation>) -> Checked {
        rows.sort_by_key(|o| o.key);
        evaluate(&rows, &self.rules(rules), self.lookup())
    }

    /// The one evaluation of one rule over `rows`.
    fn one(&self, rule: &str, rows: Vec<Observation>) -> Evaluation {
        let mut c = self.check(&[rule], rows);
        assert_eq!(c.evaluations.len(), 1, "{:#?}", c.evaluations);
        c.evaluations.remove(0)
    }
}

fn dq(s: &str) -> Num {
    Num::of(s.parse().unwrap())
}

/// Closed and accepted disputes of the city bureau in 2021.
fn disputes(f: &Fixture, closed: &str, accepted: &str) -> Vec<Observation> {
    vec![
        f.row("TJ-HRSS", "DISPUTE-CLOSED", 2021, Some(closed), 2),
        f.row("TJ-HRSS", "DISPUTE-ACCEPTED", 2021, Some(accepted), 3),
    ]
}

#[test]
fn each_comparison_holds_or_fails_exactly() {
    let f = fixture();
    let cases = [
        ("<=", "32000", "32922", Outcome::Pass),
        ("<=", "32922", "32922", Outcome::Pass),
        ("<", "32922", "32922", Outcome::Fail),
        ("==", "32922", "32922", Outcome::Pass),
        ("!=", "32922", "32922", Outcome::Fail),
        (">=", "32923", "32922", Outcome::Pass),
        (">", "32922", "32922", Outcome::Fail),
        ("<=", "32923", "32922", Outcome::Fail),
    ];
    for (op, closed, accepted, want) in cases {
        let rule = format!("R,error,all,{{DISPUTE-CLOSED}} {op} {{DISPUTE-ACCEPTED}},");
        let e = f.one(&rule, disputes(&f, closed, accepted));
        assert_eq!(e.outcome, want, "{closed} {op} {accepted}");
        assert_eq!((e.left, e.right), (Some(dq(closed)), Some(dq(accepted))));
    }
}

#[test]
fn arithmetic_and_functions_are_exact() {
    let f = fixture();
    let rows = || disputes(&f, "32000", "32922");
    // 32000 / 32922 × 100 = 97.1994…, exactly: no rounding before the comparison.
    let e = f.one("R,warning,all,{DISPUTE-CLOSED} / {DISPUTE-ACCEPTED} * 100 > 97.1994,", rows());
    assert_eq!(e.outcome, Outcome::Pass);
    assert_eq!(e.left.as_ref().unwrap().text(), "≈97.1994411032");
    let e = f.one("R,warning,all,{DISPUTE-CLOSED} / {DISPUTE-ACCEPTED} * 100 < 97.1995,", rows());
    assert_eq!(e.outcome, Outcome::Pass);
    for (rule, want) in [
        ("abs({DISPUTE-CLOSED} - {DISPUTE-ACCEPTED}) == 922", Outcome::Pass),
        ("-{DISPUTE-CLOSED} + {DISPUTE-ACCEPTED} == 922", Outcome::Pass),
        ("min({DISPUTE-CLOSED}, {DISPUTE-ACCEPTED}, 40000) == 32000", Outcome::Pass),
        ("max({DISPUTE-CLOSED}, {DISPUTE-ACCEPTED}) == 32922", Outcome::Pass),
        ("{DISPUTE-CLOSED} * 2 - 31078 == {DISPUTE-ACCEPTED}", Outcome::Pass),
        ("{DISPUTE-CLOSED} <= {DISPUTE-ACCEPTED} and {DISPUTE-CLOSED} > 40000", Outcome::Fail),
        ("{DISPUTE-CLOSED} > 40000 or {DISPUTE-CLOSED} <= {DISPUTE-ACCEPTED}", Outcome::Pass),
        ("({DISPUTE-CLOSED} > 40000 or {DISPUTE-CLOSED} > 1) and 1 == 1", Outcome::Pass),
    ] {
        let e = f.one(&format!("R,warning,all,{rule},"), rows());
        assert_eq!(e.outcome, want, "{rule}");
    }
}

#[test]
fn a_failing_and_names_the_comparison_that_failed() {
    let f = fixture();
    let e = f.one(
        "R,warning,all,{DISPUTE-CLOSED} <= {DISPUTE-ACCEPTED} and {DISPUTE-CLOSED} >= 40000,",
        disputes(&f, "32000", "32922"),
    );
    assert_eq!((e.op, e.left, e.right), (Some(CmpOp::Ge), Some(dq("32000")), Some(dq("40000"))));
}

#[test]
fn tolerance_absolute_and_relative_at_the_boundary() {
    let f = fixture();
    let rows = |closed| disputes(&f, closed, "1000");
    let at = |rule: &str, closed| f.one(rule, rows(closed)).outcome;
    // Absolute: |L − R| ≤ 5.
    assert_eq!(at("R,warning,all,{DISPUTE-CLOSED} == {DISPUTE-ACCEPTED},5", "1005"), Outcome::Pass);
    assert_eq!(at("R,warning,all,{DISPUTE-CLOSED} == {DISPUTE-ACCEPTED},5", "1006"), Outcome::Fail);
    assert_eq!(at("R,warning,all,{DISPUTE-CLOSED} != {DISPUTE-ACCEPTED},5", "1005"), Outcome::Fail);
    assert_eq!(at("R,warning,all,{DISPUTE-CLOSED} != {DISPUTE-ACCEPTED},5", "1006"), Outcome::Pass);
    // As slack: L ≤ R + 5, L < R + 5.
    assert_eq!(at("R,warning,all,{DISPUTE-CLOSED} <= {DISPUTE-ACCEPTED},5", "1005"), Outcome::Pass);
    assert_eq!(at("R,warning,all,{DISPUTE-CLOSED} < {DISPUTE-ACCEPTED},5", "1005"), Outcome::Fail);
    assert_eq!(at("R,warning,all,{DISPUTE-ACCEPTED} >= {DISPUTE-CLOSED},5", "1005"), Outcome::Pass);
    assert_eq!(at("R,warning,all,{DISPUTE-ACCEPTED} > {DISPUTE-CLOSED},5", "1005"), Outcome::Fail);
    // Relative: a share of the right-hand side, 0.5% of 1000 = 5.
    assert_eq!(at("R,warning,all,{DISPUTE-CLOSED} == {DISPUTE-ACCEPTED},0.5%", "1005"), Outcome::Pass);
    assert_eq!(at("R,warning,all,{DISPUTE-CLOSED} == {DISPUTE-ACCEPTED},0.5%", "1005.01"), Outcome::Fail);
}

#[test]
fn a_missing_figure_or_a_division_by_zero_is_not_evaluated_with_the_reason() {
    let f = fixture();
    let (closed, accepted) = (f.catalog.get("DISPUTE-CLOSED").unwrap(), f.catalog.get("DISPUTE-ACCEPTED").unwrap());
    // Accepted not sent.
    let e = f.one("R,error,all,{DISPUTE-CLOSED} <= {DISPUTE-ACCEPTED},", disputes(&f, "1", "1")[..1].to_vec());
    assert_eq!(e.outcome, Outcome::NotEvaluated);
    let missing = Unevaluated::Missing { read: Read::Value, indicator: accepted, year: 2021 };
    assert_eq!(e.unevaluated, Some(missing));
    // Sent as missing.
    let mut rows = disputes(&f, "1", "1");
    rows[0].value = None;
    let e = f.one("R,error,all,{DISPUTE-CLOSED} <= {DISPUTE-ACCEPTED},", rows);
    assert_eq!(e.unevaluated, Some(Unevaluated::Missing { read: Read::Value, indicator: closed, year: 2021 }));
    // No previous year.
    let e = f.one("R,warning,all,prev({DISPUTE-CLOSED}) <= {DISPUTE-CLOSED},", disputes(&f, "1", "1"));
    assert_eq!(e.unevaluated, Some(Unevaluated::Missing { read: Read::Prev, indicator: closed, year: 2020 }));
    // Division by zero.
    let e = f.one("R,warning,all,{DISPUTE-CLOSED} / {DISPUTE-ACCEPTED} <= 1,", disputes(&f, "0", "0"));
    assert_eq!((e.outcome, e.unevaluated), (Outcome::NotEvaluated, Some(Unevaluated::DivisionByZero)));
    // An agency that sent none of the rule's figures that year: no evaluation.
    let c = f.check(&["R,warning,all,{EMP-URBAN-NEW} >= 0,"], disputes(&f, "1", "1"));
    assert!(c.evaluations.is_empty());
}

#[test]
fn prev_target_and_growth_read_the_agency_s_other_rows() {
    let f = fixture();
    let mut rows = vec![
        f.row("TJ-HRSS", "EMP-URBAN-NEW", 2020, Some("370900"), 2),
        f.row("TJ-HRSS", "EMP-URBAN-NEW", 2021, Some("376200"), 3),
        f.row("TJ-HRSS", "DISPUTE-CLOSE-RATE", 2020, Some("96.9"), 4),
        f.row("TJ-HRSS", "DISPUTE-CLOSE-RATE", 2021, Some("97.2"), 5),
    ];
    rows[1].target = Some("350000".parse().unwrap());
    // The seed's growth: (376200 − 370900) / 370900 × 100 = 1.4289…%.
    let c = f.check(&["R,warning,all,growth({EMP-URBAN-NEW}) < 1.43,"], rows.clone());
    let e = c.evaluations.iter().find(|e| e.key.1 == 2021).unwrap();
    assert_eq!((e.key.1, e.outcome), (2021, Outcome::Pass));
    assert!(e.left.as_ref().unwrap().text().starts_with("≈1.4289"));
    // A rate's growth is its change in points: 97.2 − 96.9 = 0.3.
    let c = f.check(&["R,warning,all,growth({DISPUTE-CLOSE-RATE}) == 0.3,"], rows.clone());
    let e = c.evaluations.iter().find(|e| e.key.1 == 2021).unwrap();
    assert_eq!((e.outcome, e.left.clone()), (Outcome::Pass, Some(dq("0.3"))));
    let e = c.evaluations.iter().find(|e| e.key.1 == 2020).unwrap();
    assert_eq!(e.outcome, Outcome::NotEvaluated, "no 2019 to grow from");
    // Target and prev.
    let c = f.check(
        &["R,warning,all,{EMP-URBAN-NEW} >= target({EMP-URBAN-NEW}) and prev({EMP-URBAN-NEW}) < {EMP-URBAN-NEW},"],
        rows,
    );
    let e = c.evaluations.iter().find(|e| e.key.1 == 2021).unwrap();
    assert_eq!(e.outcome, Outcome::Pass);
    let read: Vec<(&str, i32, u64)> = e.reads.iter().map(|r| (r.read.name(), r.year, r.origin.unwrap().line)).collect();
    assert_eq!(read, [("prev", 2020, 2), ("target", 2021, 3), ("value", 2021, 3)]);
}

#[test]
fn an_error_rule_quarantines_exactly_the_figures_it_read_that_year() {
    let f = fixture();
    let mut rows = disputes(&f, "33000", "32922");
    rows.push(f.row("TJ-HRSS", "DISPUTE-CLOSED", 2020, Some("100"), 7));
    rows.push(f.row("TJ-HRSS", "EMP-URBAN-NEW", 2021, Some("376200"), 8));
    let c = f.check(&["R9,error,all,{DISPUTE-CLOSED} <= {DISPUTE-ACCEPTED},"], rows);
    let keys: Vec<(String, i32)> =
        c.quarantined.iter().map(|(k, _)| (f.catalog.indicator(k.indicator).code.clone(), k.year)).collect();
    assert_eq!(keys, [("DISPUTE-ACCEPTED".into(), 2021), ("DISPUTE-CLOSED".into(), 2021)]);
    let issue = &c.quarantined[1].1;
    assert_eq!((issue.code, issue.line, issue.raw.as_str()), (Code::RuleFailed, 2, "33000"));
    assert!(issue.detail.en.contains("rule R9"), "{:?}", issue.detail);
    assert!(issue.detail.en.ends_with("33000 <= 32922"), "{:?}", issue.detail);
    // A warning quarantines nothing.
    let c = f.check(&["R9,warning,all,{DISPUTE-CLOSED} <= {DISPUTE-ACCEPTED},"], disputes(&f, "33000", "32922"));
    assert!(c.quarantined.is_empty());
    assert_eq!(c.evaluations[0].outcome, Outcome::Fail);
}

#[test]
fn a_warning_is_explained_by_a_note_on_a_row_it_read() {
    let f = fixture();
    let mut rows = disputes(&f, "33000", "32922");
    rows[1].note = Some("含上年结转案件".into());
    let e = f.one("R,warning,all,{DISPUTE-CLOSED} <= {DISPUTE-ACCEPTED},", rows);
    assert_eq!((e.outcome, e.note.as_deref()), (Outcome::Explained, Some("含上年结转案件")));
}

#[test]
fn applies_to_selects_the_agencies() {
    let f = fixture();
    let mut rows = disputes(&f, "33000", "32922");
    rows.push(f.row("TJ-D01-HRSS", "DISPUTE-CLOSED", 2021, Some("5"), 9));
    rows.push(f.row("TJ-D01-HRSS", "DISPUTE-ACCEPTED", 2021, Some("4"), 10));
    let c = f.check(&["R,warning,TJ-D01,{DISPUTE-CLOSED} <= {DISPUTE-ACCEPTED},"], rows);
    assert_eq!(c.evaluations.len(), 1);
    assert_eq!(c.evaluations[0].key.0, f.register.get("TJ-D01-HRSS").unwrap());
}

#[test]
fn exact_numbers_print_whole_and_others_marked_approximate() {
    // Small fractions and big rationals print alike.
    for x in [dq("97.20"), dq("-0.05"), dq("32922"), dq("1").div(&dq("3")).unwrap(), dq("-2").div(&dq("3")).unwrap()] {
        assert_eq!(x.text(), text(&x.big()), "{x:?}");
    }
    assert_eq!(dq("97.20").text(), "97.2");
    assert_eq!(dq("-0.05").text(), "-0.05");
    assert_eq!(dq("32922").text(), "32922");
    assert_eq!(dq("1").div(&dq("3")).unwrap().text(), "≈0.3333333333");
    assert_eq!(dq("-2").div(&dq("3")).unwrap().text(), "≈-0.6666666667");
    assert_eq!(
        dq("-0.00000000001").div(&dq("3")).unwrap().text(),
        text(&(q("-0.00000000001".parse().unwrap()) / q("3".parse().unwrap())))
    );
}

/// A reference evaluator: a ≤ b + t etc. over fractions made by hand
/// (numerator, denominator), not the rationals the evaluator uses.
fn reference(a: i64, op: &str, b: i64, tol: i64) -> bool {
    let d = a - b;
    match op {
        "==" => d.abs() <= tol,
        "!=" => d.abs() > tol,
        "<=" => d <= tol,
        "<" => d < tol,
        ">=" => d >= -tol,
        _ => d > -tol,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// For generated figures, comparisons and tolerances, the outcome is
    /// the reference evaluator's.
    #[test]
    fn the_outcome_is_the_reference_evaluator_s(
        closed in 0i64..2000,
        accepted in 0i64..2000,
        k in 1i64..5,
        op in prop::sample::select(vec!["==", "!=", "<=", "<", ">=", ">"]),
        tol in 0i64..20,
    ) {
        let f = fixture();
        // k × closed compared with accepted: the arithmetic is exercised too.
        let rule = format!("R,warning,all,{{DISPUTE-CLOSED}} * {k} {op} {{DISPUTE-ACCEPTED}},{tol}");
        let e = f.one(&rule, disputes(&f, &closed.to_string(), &accepted.to_string()));
        let want = if reference(closed * k, op, accepted, tol) { Outcome::Pass } else { Outcome::Fail };
        prop_assert_eq!(e.outcome, want);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The small fractions give the big rationals' values, also past 128
    /// bits (where they become big ones).
    #[test]
    fn small_fractions_compute_what_big_rationals_do(
        a in any::<i64>(), b in 1i64..1_000_000, c in any::<i64>(), d in 1i64..1_000_000, e in 0u32..30,
    ) {
        use super::num::Num;
        let big = |n: i64, d: i64| Q::new(n.into(), d.into());
        let (x, y) = (Num::small(a.into(), b.into()).unwrap(), Num::small(c.into(), d.into()).unwrap());
        let (p, r) = (big(a, b), big(c, d));
        // Blown up past 128 bits by a power of ten.
        let huge = Num::small(10i128.pow(e) * 1_000_000_007, 1).unwrap().mul(&Num::small(10i128.pow(e), 3).unwrap());
        let hq = Q::from_integer(BigInt::from(10).pow(e) * 1_000_000_007) * Q::new(BigInt::from(10).pow(e), 3.into());
        prop_assert_eq!(x.add(&y).big(), &p + &r);
        prop_assert_eq!(x.sub(&y).big(), &p - &r);
        prop_assert_eq!(x.mul(&y).mul(&huge).big(), &p * &r * &hq);
        prop_assert_eq!(x.mul(&huge).mul(&huge).big(), &p * &hq * &hq);
        if c != 0 {
            prop_assert_eq!(x.div(&y).unwrap().big(), &p / &r);
        }
        prop_assert_eq!(x.cmp(&y), p.cmp(&r));
        prop_assert_eq!(x.mul(&huge).cmp(&y.mul(&huge)), (&p * &hq).cmp(&(&r * &hq)));
        // Small results in lowest terms (the binary gcd), written as the
        // big rationals' text writes them.
        for v in [x.add(&y), x.mul(&y), x.sub(&y), huge.clone()] {
            if let Num::Small(n, d) = v {
                let q = Q::new(n.into(), d.into());
                prop_assert_eq!((q.numer().clone(), q.denom().clone()), (BigInt::from(n), BigInt::from(d)));
            }
            prop_assert_eq!(v.text(), super::text(&v.big()));
        }
    }
}
