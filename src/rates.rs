//! A rate and its parts. Where an agency sends the numerator and the
//! denominator of a rate (结案数 and 受理数 for 结案率: the catalog's
//! `numerator` and `denominator`), the rate is recomputed from them for the
//! agency's own row, exactly, as the totals do for a parent: 32000 / 32922
//! × 100 = 97.199…%. Where the agency sent the rate too, its figure is
//! checked against that at the precision it was sent with, like a claim
//! (`crate::claims`); where it did not (no row, or a row without a value),
//! the rate from the parts is the figure, marked as derived.
//!
//! The agency's own `observations` and `metrics` stay what it sent; these
//! rows are the `rates` table. Pure: nothing here reads or writes files.

use crate::config::{Aggregation, Indicator, Rules};
use crate::decimal::{Decimal, Ratio};
use crate::model::{Figure, Key, NullReason, Observation, Origin, Outcome, row_of};

/// A part of a rate as the agency sent it.
#[derive(Debug, Clone, Copy)]
pub struct Part {
    pub value: Decimal,
    pub origin: Origin,
    /// Half the step of the last digit typed, in base units, where that
    /// step is coarser than the base unit (`0.29` 万件: ±50 件): the part
    /// was sent rounded, and the rate it allows is a range. Zero for a part
    /// sent whole (`32922` 件).
    pub rounding: Decimal,
}

impl Part {
    fn of(o: &Observation, value: Decimal) -> Part {
        // A value keeps the decimals it was typed with through the unit's
        // power of ten (`crate::normalize`), so its scale is what was typed.
        let rounding = match (o.power as i64 - i64::from(value.scale())).checked_sub(1) {
            Some(step) if step >= 0 => Decimal::new(5, 0).checked_mul_pow10(step as u32),
            _ => None,
        };
        Part { value, origin: o.origin, rounding: rounding.unwrap_or(Decimal::new(0, 0)) }
    }
}

/// The rate as the agency sent it, at the precision it typed.
#[derive(Debug, Clone, Copy)]
pub struct Sent {
    pub value: Decimal,
    pub origin: Origin,
}

/// One agency's rate in one year, recomputed from its parts.
#[derive(Debug, Clone)]
pub struct PartsRate {
    /// The rate's key: the agency, the rate indicator, the year.
    pub key: Key,
    pub numerator: Part,
    pub denominator: Part,
    /// Numerator / denominator × 100, rounded to the rate's decimals (the
    /// decimals of its change in points and of its totals).
    pub figure: Outcome,
    /// `None`: no rate was sent (no row, or a row without a value), so the
    /// figure is derived.
    pub sent: Option<Sent>,
    /// Whether the sent rate is the recomputed one at the sent precision
    /// (`None`: derived, or nothing computed), as `crate::claims::check`
    /// found it.
    pub matches: Option<bool>,
}

impl PartsRate {
    pub fn derived(&self) -> bool {
        self.sent.is_none()
    }
}

/// A rate from its parts: numerator / denominator × 100, exactly. The one
/// definition for an agency's rate recomputed from what it sent
/// (this module) and a parent's ratio total from summed parts
/// (`crate::aggregate`).
pub fn rate(numerator: Decimal, denominator: Decimal) -> Result<Ratio, NullReason> {
    Ratio::new(numerator, denominator).ok_or(NullReason::DenominatorZero)?.times(100).ok_or(NullReason::Overflow)
}

/// Every rate of `current` (sorted by key) whose numerator and denominator
/// the same agency sent with values that year, sorted by the rate's key.
pub fn from_parts(current: &[Observation], rules: Rules<'_>) -> Vec<PartsRate> {
    if !rules.catalog.has_ratios() {
        return Vec::new();
    }
    let find = |key: Key| row_of(current, key);
    let mut rates = Vec::new();
    for n in current {
        let Some(num) = n.value else { continue };
        for &(rate_id, den_id) in rules.catalog.ratios_with_numerator(n.key.indicator) {
            let Some((d, den)) = find(Key { indicator: den_id, ..n.key }).and_then(|d| Some((d, d.value?))) else {
                continue;
            };
            let key = Key { indicator: rate_id, ..n.key };
            let decimals = rules.rounding.of(rate_id).change;
            let figure = rate(num, den).and_then(|r| Figure::of(r, decimals, rules.rounding.rule));
            // A rate is sent in its base unit (%): its value holds the
            // decimals it was typed with, the precision it is checked at.
            let sent = find(key).and_then(|o| Some(Sent { value: o.value?, origin: o.origin }));
            rates.push(PartsRate {
                key,
                numerator: Part::of(n, num),
                denominator: Part::of(d, den),
                figure,
                sent,
                matches: None,
            });
        }
    }
    rates.sort_by_key(|r| r.key);
    rates
}

/// The recomputed rate of `key`, if it is a ratio rate whose parts were
/// sent (`indicator` is the catalog's entry for it).
pub fn find<'r>(rates: &'r [PartsRate], key: Key, indicator: &Indicator) -> Option<&'r PartsRate> {
    position(rates, key, indicator).map(|i| &rates[i])
}

/// Where [`find`] finds it.
pub fn position(rates: &[PartsRate], key: Key, indicator: &Indicator) -> Option<usize> {
    if indicator.aggregation != Aggregation::Ratio {
        return None;
    }
    rates.binary_search_by_key(&key, |r| r.key).ok()
}
