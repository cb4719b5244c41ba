use super::*;

fn schemas() -> (Catalog, Register) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    (Catalog::load(&dir.join("catalog.csv")).unwrap(), Register::load(&dir.join("agencies.csv")).unwrap())
}

const HEADER: &str = "id,name_zh,name_en,severity,applies_to,expression,tolerance\n";

/// Loads a rules file of `rows` (after the header).
fn load(rows: &str) -> Result<Rules, Vec<String>> {
    let (catalog, register) = schemas();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules.csv");
    std::fs::write(&path, format!("{HEADER}{rows}")).unwrap();
    Rules::load(&path, &catalog, &register).map_err(|e| e.0.iter().map(|e| e.to_string()).collect())
}

fn one_error(rows: &str) -> String {
    let errors = load(rows).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.into_iter().next().unwrap()
}

#[test]
fn a_rule_loads_with_what_it_reads() {
    let rules = load(
        "R1,结案不超过受理,Closed within accepted,error,all,{DISPUTE-CLOSED} <= {DISPUTE-ACCEPTED},\n\
         R2,新增就业增幅,New jobs growth,warning,leaves,abs(growth({EMP-URBAN-NEW})) <= 50 and {EMP-URBAN-NEW} >= target({EMP-URBAN-NEW}) * 0.9,1%\n",
    )
    .unwrap();
    assert_eq!(rules.0.len(), 2);
    let (catalog, _) = schemas();
    let id = |c: &str| catalog.get(c).unwrap();
    assert_eq!(rules.0[0].reads, [(Read::Value, id("DISPUTE-CLOSED")), (Read::Value, id("DISPUTE-ACCEPTED"))]);
    assert_eq!(rules.0[0].severity, Severity::Error);
    assert_eq!(
        rules.0[1].reads,
        [(Read::Growth, id("EMP-URBAN-NEW")), (Read::Value, id("EMP-URBAN-NEW")), (Read::Target, id("EMP-URBAN-NEW"))]
    );
    assert_eq!(rules.0[1].tolerance, Tolerance::Relative("0.01".parse().unwrap()));
    assert_eq!(rules.0[1].tolerance.text(), "1%");
}

#[test]
fn a_syntax_error_is_shown_with_a_caret_under_its_place() {
    let e = one_error("R1,a,a,error,all,{DISPUTE-CLOSED} <= ,\n");
    // The cell is read trimmed: the expression ends after `<=`.
    assert!(e.contains("rules.csv:2: column 20 of the expression: expected a number, an indicator"), "{e}");
    assert!(e.ends_with("      {DISPUTE-CLOSED} <=\n                         ^"), "{e:?}");
    let e = one_error("R1,a,a,error,all,{DISPUTE-CLOSED} {DISPUTE-ACCEPTED},\n");
    assert!(e.contains("expected a comparison"), "{e}");
}

#[test]
fn an_unknown_indicator_and_an_unknown_function_are_named_at_their_place() {
    let e = one_error("R1,a,a,error,all,{DISPUTE-CLOSE} <= 1,\n");
    assert!(e.contains("column 2 of the expression: indicator `DISPUTE-CLOSE` is not in the catalog"), "{e}");
    assert!(e.ends_with("\n       ^^^^^^^^^^^^^"), "{e:?}");
    let e = one_error("R1,a,a,warning,all,grwth({EMP-URBAN-NEW}) <= 50,\n");
    assert!(e.contains("column 1 of the expression: unknown function `grwth`"), "{e}");
    let e = one_error("R1,a,a,warning,all,prev(1) <= 50,\n");
    assert!(e.contains("prev() takes one indicator in braces"), "{e}");
}

#[test]
fn units_that_do_not_agree_are_refused_at_load() {
    // People plus yuan.
    let e = one_error("R1,a,a,warning,all,{EMP-URBAN-NEW} + {WAGE-MIN-MONTH} >= 0,\n");
    assert!(e.contains("units do not agree: 人 plus 元"), "{e}");
    // A rate in % compared with a count.
    let e = one_error("R1,a,a,warning,all,{DISPUTE-CLOSE-RATE} <= {DISPUTE-ACCEPTED},\n");
    assert!(e.contains("units do not agree: a pure number (%) compared with 件"), "{e}");
    // A quotient of counts is a pure number, and compares with a rate.
    load("R1,a,a,warning,all,{DISPUTE-CLOSED} / {DISPUTE-ACCEPTED} * 100 <= {DISPUTE-CLOSE-RATE},\n").unwrap();
    // A number written in the rule takes the unit of what it meets.
    load("R1,a,a,warning,all,{EMP-URBAN-NEW} + 100 >= 0,\n").unwrap();
}

#[test]
fn a_rule_reading_members_is_a_warning_and_the_file_s_mistakes_come_all_at_once() {
    let e = one_error("R1,a,a,error,parents,{EMP-URBAN-NEW} >= members({EMP-URBAN-NEW}),\n");
    assert!(e.contains("reads members(), so it describes totals"), "{e}");
    let errors = load(
        "R1,a,a,fatal,all,{EMP-URBAN-NEW} >= 0,\n\
         R1,a,a,warning,nowhere,{EMP-URBAN-NEW} >= 0,x\n\
         R3,a,a,warning,TJ,{EMP-URBAN-NEW} >= 0,-1\n",
    )
    .unwrap_err();
    assert_eq!(errors.len(), 5, "{errors:#?}");
    assert!(errors[0].contains(":2: severity `fatal`"), "{errors:#?}");
    assert!(errors[1].contains(":3: id `R1` appears twice"), "{errors:#?}");
    assert!(errors[2].contains(":3: applies_to `nowhere`"), "{errors:#?}");
    assert!(errors[3].contains(":3: tolerance `x`"), "{errors:#?}");
    assert!(errors[4].contains(":4: tolerance `-1` is below zero"), "{errors:#?}");
}

#[test]
fn applies_to_selects_leaves_parents_or_an_agency_and_everything_under_it() {
    let (_, register) = schemas();
    let id = |c: &str| register.get(c).unwrap();
    assert!(AppliesTo::Leaves.selects(id("TJ-HRSS"), &register));
    assert!(!AppliesTo::Leaves.selects(id("TJ"), &register));
    assert!(AppliesTo::Parents.selects(id("TJ"), &register));
    assert!(AppliesTo::Under(id("TJ")).selects(id("TJ-D01-HRSS"), &register));
    assert!(!AppliesTo::Under(id("TJ-HRSS")).selects(id("TJ-JUS"), &register));
}
