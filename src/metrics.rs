//! Metrics: target completion, growth and change for every observation.
//! Pure functions over exact decimals; nothing here reads or writes files.
//!
//! - completion: direction `up` actual / target × 100, `down`
//!   target / actual × 100, `none` not defined;
//! - growth in % (counts, amounts, levels, averages, cumulatives):
//!   (actual − previous) / previous × 100;
//! - change in percentage points (rates): actual − previous.
//!
//! Each is computed exactly from the unrounded inputs, kept unrounded (to
//! [`UNROUNDED_SCALE`](crate::decimal::UNROUNDED_SCALE) decimals) and rounded once by the pipeline's rule.
//! An undefined case is a [`NullReason`], never a panic, an infinity or a
//! NaN.

use rayon::prelude::*;

use crate::config::{Direction, Kind, Rules, YearOnYear};
use crate::decimal::{Decimal, Ratio, Rounding};
use crate::model::{Figure, NullReason, Observation, Outcome};

/// One of the two figures completion is computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    Actual,
    Target,
}

/// What completion divides by what: `up` actual / target, `down` target /
/// actual (a smaller value is better), `none`: no completion. The
/// workbook's formulas and `explain` take the order from here.
pub fn completion_quotient(direction: Direction) -> Option<(Operand, Operand)> {
    match direction {
        Direction::Up => Some((Operand::Actual, Operand::Target)),
        Direction::Down => Some((Operand::Target, Operand::Actual)),
        Direction::None => None,
    }
}

/// Target completion in percent.
pub fn completion(
    actual: Option<Decimal>,
    target: Option<Decimal>,
    direction: Direction,
    decimals: u8,
    rule: Rounding,
) -> Outcome {
    let actual = actual.ok_or(NullReason::ValueMissing)?;
    let target = target.ok_or(NullReason::NoTarget)?;
    let (num, den) = completion_quotient(direction).ok_or(NullReason::NoDirection)?;
    let pick = |o| match o {
        Operand::Actual => actual,
        Operand::Target => target,
    };
    let zero = match den {
        Operand::Actual => NullReason::ActualZero,
        Operand::Target => NullReason::TargetZero,
    };
    let ratio = Ratio::new(pick(num), pick(den)).ok_or(zero)?;
    Figure::of(ratio.times(100).ok_or(NullReason::Overflow)?, decimals, rule)
}

/// Growth in percent, exactly: (actual − previous) / previous × 100. The
/// one formula, for the metrics and for every recomputation a claim's
/// diagnosis tries.
pub fn growth_exact(actual: Decimal, previous: Decimal) -> Result<Ratio, NullReason> {
    let diff = actual.checked_sub(previous).ok_or(NullReason::Overflow)?;
    let ratio = Ratio::new(diff, previous).ok_or(NullReason::PreviousZero)?;
    ratio.times(100).ok_or(NullReason::Overflow)
}

/// A rate's change in percentage points, exactly: actual − previous.
pub fn change_exact(actual: Decimal, previous: Decimal) -> Result<Ratio, NullReason> {
    let diff = actual.checked_sub(previous).ok_or(NullReason::Overflow)?;
    Ok(Ratio::new(diff, Decimal::new(1, 0)).expect("1 is not zero"))
}

/// Whether the target was met: `up` actual ≥ target, `down` actual ≤
/// target; undefined where completion is.
pub fn met(
    actual: Option<Decimal>,
    target: Option<Decimal>,
    direction: Direction,
    completion: &Outcome,
) -> Option<bool> {
    completion.as_ref().ok()?;
    let (a, t) = (actual?, target?);
    match direction {
        Direction::Up => Some(a >= t),
        Direction::Down => Some(a <= t),
        Direction::None => None,
    }
}

/// Year-on-year growth in percent; rates have a change in points instead.
pub fn growth(
    actual: Option<Decimal>,
    previous: Result<Decimal, NullReason>,
    kind: Kind,
    decimals: u8,
    rule: Rounding,
) -> Outcome {
    if kind.year_on_year() != YearOnYear::GrowthPct {
        return Err(NullReason::RateUsesChange);
    }
    let actual = actual.ok_or(NullReason::ValueMissing)?;
    Figure::of(growth_exact(actual, previous?)?, decimals, rule)
}

/// Year-on-year change of a rate, in percentage points.
pub fn change(
    actual: Option<Decimal>,
    previous: Result<Decimal, NullReason>,
    kind: Kind,
    decimals: u8,
    rule: Rounding,
) -> Outcome {
    if kind.year_on_year() != YearOnYear::ChangePp {
        return Err(NullReason::NotARate);
    }
    let actual = actual.ok_or(NullReason::ValueMissing)?;
    change_of(change_exact(actual, previous?)?, decimals, rule)
}

/// A change in points given as an exact quotient (ratio totals).
pub fn change_of(diff: Ratio, decimals: u8, rule: Rounding) -> Outcome {
    Figure::of(diff, decimals, rule)
}

/// The metrics of one observation.
#[derive(Debug, Clone)]
pub struct Metric {
    pub previous: Result<Decimal, NullReason>,
    pub completion: Outcome,
    pub met: Option<bool>,
    pub growth: Outcome,
    pub change: Outcome,
    /// Whether the claimed completion matches (None: no claim, or nothing
    /// computed to compare with).
    pub completion_claim_ok: Option<bool>,
    pub growth_claim_ok: Option<bool>,
    /// For a rate sent with its numerator and denominator: whether it is
    /// their quotient at its own precision (see `crate::rates`).
    pub rate_matches_parts: Option<bool>,
}

/// The previous year's value of each observation in `current` (sorted by
/// key), as a result saying why there is none.
fn previous_of(current: &[Observation], i: usize) -> Result<Decimal, NullReason> {
    let key = current[i].key;
    let prev = i
        .checked_sub(1)
        .map(|j| &current[j])
        .filter(|o| o.key.agency == key.agency && o.key.indicator == key.indicator && o.key.year == key.year - 1);
    match prev {
        None => Err(NullReason::NoPrevious),
        Some(o) => o.value.ok_or(NullReason::PreviousMissing),
    }
}

/// Metrics for every current observation (sorted by key), in that order;
/// whether its claims match is for [`crate::claims::check`] to fill in.
pub fn compute(current: &[Observation], rules: Rules<'_>) -> Vec<Metric> {
    let rule = rules.rounding.rule;
    (0..current.len())
        .into_par_iter()
        .map(|i| {
            let o = &current[i];
            let ind = rules.catalog.indicator(o.key.indicator);
            let dec = rules.rounding.of(o.key.indicator);
            let previous = previous_of(current, i);
            let completion = completion(o.value, o.target, ind.direction, dec.completion, rule);
            let growth = growth(o.value, previous, ind.kind, dec.growth, rule);
            let change = change(o.value, previous, ind.kind, dec.change, rule);
            Metric {
                previous,
                met: met(o.value, o.target, ind.direction, &completion),
                // Set by `crate::claims::check`, where each claim is matched.
                completion_claim_ok: None,
                growth_claim_ok: None,
                rate_matches_parts: None,
                completion,
                growth,
                change,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn completion_divides_as_the_direction_says() {
        // SUBMISSIONS.md: 37.62万 new urban jobs against a target of 35万.
        let up = completion(Some(d("376200")), Some(d("350000")), Direction::Up, 1, Rounding::HalfUp).unwrap();
        assert_eq!(up.rounded.to_string(), "107.5");
        let down = completion(Some(d("190")), Some(d("200")), Direction::Down, 1, Rounding::HalfUp).unwrap();
        assert_eq!(down.rounded.to_string(), "105.3");
        assert_eq!(completion_quotient(Direction::Down), Some((Operand::Target, Operand::Actual)));
        let none = completion(Some(d("1")), Some(d("1")), Direction::None, 1, Rounding::HalfUp);
        assert_eq!(none.unwrap_err(), NullReason::NoDirection);
        let zero = completion(Some(d("0")), Some(d("5")), Direction::Down, 1, Rounding::HalfUp);
        assert_eq!(zero.unwrap_err(), NullReason::ActualZero);
    }

    #[test]
    fn growth_in_percent_and_change_in_points_by_kind() {
        // 37.62万 after 37.09万: +1.43 %.
        let g = growth(Some(d("376200")), Ok(d("370900")), Kind::Count, 2, Rounding::HalfUp).unwrap();
        assert_eq!(g.rounded.to_string(), "1.43");
        let rate = growth(Some(d("97.2")), Ok(d("95.3")), Kind::Rate, 2, Rounding::HalfUp);
        assert_eq!(rate.unwrap_err(), NullReason::RateUsesChange);
        let c = change(Some(d("97.2")), Ok(d("95.3")), Kind::Rate, 1, Rounding::HalfUp).unwrap();
        assert_eq!(c.rounded.to_string(), "1.9");
        assert_eq!(
            change(Some(d("2")), Ok(d("1")), Kind::Count, 1, Rounding::HalfUp).unwrap_err(),
            NullReason::NotARate
        );
    }
}
