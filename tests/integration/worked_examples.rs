//! SUBMISSIONS.md, "Worked examples from the seed report (must reproduce)",
//! first as pure computations, then through the whole sample run.

use yearbook::config::{Direction, Kind};
use yearbook::decimal::{Decimal, Rounding};
use yearbook::metrics::{change, completion, growth};

use crate::util::{cell, find, parquet_rows};

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn printed(o: yearbook::model::Outcome) -> String {
    o.unwrap().rounded.to_string()
}

#[test]
fn emp_urban_new_2021_completion_and_growth() {
    let c = completion(Some(d("376200")), Some(d("350000")), Direction::Up, 1, Rounding::HalfUp).unwrap();
    assert_eq!(c.rounded.to_string(), "107.5");
    assert_eq!(c.unrounded.to_string(), "107.485714285714");
    let g = growth(Some(d("376200")), Ok(d("370900")), Kind::Count, 2, Rounding::HalfUp);
    assert_eq!(printed(g), "1.43");
}

#[test]
fn published_rounded_figures_do_not_reproduce_the_report() {
    // 37.6万 / 35万 gives 107.4: the report was computed from unrounded data.
    let c = completion(Some(d("376000")), Some(d("350000")), Direction::Up, 1, Rounding::HalfUp);
    assert_eq!(printed(c), "107.4");
}

#[test]
fn minimum_wages_growth() {
    assert_eq!(printed(growth(Some(d("2180")), Ok(d("2050")), Kind::Level, 2, Rounding::HalfUp)), "6.34");
    assert_eq!(printed(growth(Some(d("22.6")), Ok(d("20.8")), Kind::Level, 2, Rounding::HalfUp)), "8.65");
}

#[test]
fn dispute_closure_rate_is_a_rate_with_a_change_in_points() {
    let rate = yearbook::decimal::Ratio::new(d("32000"), d("32922")).unwrap().times(100).unwrap();
    assert_eq!(rate.round(1, Rounding::HalfUp).unwrap().to_string(), "97.2");
    assert_eq!(printed(change(Some(d("97.2")), Ok(d("95.3")), Kind::Rate, 1, Rounding::HalfUp)), "1.9");
    assert!(growth(Some(d("97.2")), Ok(d("95.3")), Kind::Rate, 2, Rounding::HalfUp).is_err());
}

#[test]
fn direction_down_inverts_completion() {
    // 平均办结时限: 3.8 days against a target of 4.
    let c = completion(Some(d("3.8")), Some(d("4")), Direction::Down, 1, Rounding::HalfUp);
    assert_eq!(printed(c), "105.3");
}

#[test]
fn undefined_cases_are_null_with_a_reason() {
    use yearbook::model::NullReason::*;
    let r = Rounding::HalfUp;
    assert_eq!(completion(Some(d("1")), Some(d("0")), Direction::Up, 1, r).unwrap_err(), TargetZero);
    assert_eq!(completion(Some(d("0")), Some(d("5")), Direction::Down, 1, r).unwrap_err(), ActualZero);
    assert_eq!(completion(Some(d("1")), None, Direction::Up, 1, r).unwrap_err(), NoTarget);
    assert_eq!(completion(None, Some(d("1")), Direction::Up, 1, r).unwrap_err(), ValueMissing);
    assert_eq!(completion(Some(d("1")), Some(d("1")), Direction::None, 1, r).unwrap_err(), NoDirection);
    assert_eq!(growth(Some(d("1")), Ok(d("0")), Kind::Count, 2, r).unwrap_err(), PreviousZero);
    assert_eq!(growth(Some(d("1")), Err(NoPrevious), Kind::Count, 2, r).unwrap_err(), NoPrevious);
    assert_eq!(change(Some(d("1")), Ok(d("1")), Kind::Count, 1, r).unwrap_err(), NotARate);
}

#[test]
fn sample_run_reproduces_the_seed_report() {
    let dir = crate::util::shared_sample();
    let m = parquet_rows(dir, "metrics");
    let hrss = |ind: &str| find(&m, &[("year", "2021"), ("agency", "TJ-HRSS"), ("indicator", ind)]).clone();

    let emp = hrss("EMP-URBAN-NEW");
    assert_eq!(cell(&m, &emp, "actual"), "376200.00000000000000000000");
    assert_eq!(cell(&m, &emp, "target"), "350000.00000000000000000000");
    assert_eq!(cell(&m, &emp, "completion_pct"), "107.5");
    assert_eq!(cell(&m, &emp, "completion_pct_unrounded"), "107.485714285714");
    assert_eq!(cell(&m, &emp, "previous"), "370900.00000000000000000000");
    assert_eq!(cell(&m, &emp, "growth_pct"), "1.43");
    assert_eq!(cell(&m, &emp, "claimed_completion_matches"), "true");
    assert_eq!(cell(&m, &emp, "claimed_growth_matches"), "true");
    assert_eq!(cell(&m, &emp, "met"), "true");

    assert_eq!(cell(&m, &hrss("WAGE-MIN-MONTH"), "growth_pct"), "6.34");
    assert_eq!(cell(&m, &hrss("WAGE-MIN-HOUR"), "growth_pct"), "8.65");

    let rate = hrss("DISPUTE-CLOSE-RATE");
    assert_eq!(cell(&m, &rate, "actual"), "97.20000000000000000000");
    assert_eq!(cell(&m, &rate, "growth_pct"), "");
    assert_eq!(cell(&m, &rate, "growth_null_reason"), "rate_uses_change_pp");
    assert_eq!(cell(&m, &rate, "change_pp"), "1.9");
}
