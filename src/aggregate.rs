//! Aggregate: totals for every parent in the register (each district, the
//! city) and every group (a region: `crate::config::register`), per
//! indicator and year.
//!
//! A parent's total adds up the *leaf* agencies under it (those no agency
//! names as parent), so a district that also sends its own consolidated
//! figure is never counted twice. `sum` indicators are summed; `ratio`
//! indicators are recomputed as Σ numerator / Σ denominator × 100 over the
//! agencies that sent both parts that year (never an average of rates);
//! `none` indicators are not aggregated. Each total lists the agencies that
//! contributed, and those missing: agencies under the parent that reported
//! the indicator in some year of the run (accepted or quarantined) but have
//! no value for this one.

use std::collections::BTreeSet;

use rustc_hash::FxHashMap;

use crate::config::{AgencyId, Aggregation, IndicatorId, Register, Rules};
use crate::decimal::{BASE_SCALE, Decimal, Ratio};
use crate::metrics;
use crate::model::{Key, NullReason, Observation, Outcome};
use crate::rates;

/// One parent's total of one indicator in one year. Serialized, it is
/// what decides its row in the totals table (see
/// [`crate::export::TotalsPart`]).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Total {
    /// `agency` is the parent.
    pub key: Key,
    pub aggregation: Aggregation,
    /// Σ values (`sum`), or the recomputed rate rounded to the rate's
    /// decimals (`ratio`); `None` when no agency contributed.
    pub value: Option<Decimal>,
    pub value_unrounded: Option<Decimal>,
    /// `ratio` only: Σ numerator and Σ denominator.
    pub numerator: Option<Decimal>,
    pub denominator: Option<Decimal>,
    pub target: Result<Decimal, NullReason>,
    pub previous: Result<Decimal, NullReason>,
    pub completion: Outcome,
    pub met: Option<bool>,
    pub growth: Outcome,
    pub change: Outcome,
    pub contributors: Vec<AgencyId>,
    pub missing: Vec<AgencyId>,
}

/// One total as the buckets add to it.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct RunningTotal {
    sum: Option<Decimal>,
    den: Option<Decimal>,
    target: Option<Decimal>,
    all_targets: bool,
    contributors: Vec<AgencyId>,
    overflow: bool,
}

impl RunningTotal {
    /// A total no agency has added to yet: every target present so far.
    fn empty() -> RunningTotal {
        RunningTotal { all_targets: true, ..RunningTotal::default() }
    }

    /// Takes in a later bucket's running total of the same key.
    fn merge(&mut self, other: RunningTotal) {
        let mut overflow = self.overflow || other.overflow;
        for (slot, v) in [(&mut self.sum, other.sum), (&mut self.den, other.den), (&mut self.target, other.target)] {
            if let Some(v) = v {
                add(slot, v, &mut overflow);
            }
        }
        self.overflow = overflow;
        self.all_targets &= other.all_targets;
        self.contributors.extend(other.contributors);
    }
}

/// Adds `v` to a sum, which must stay exact and fit the totals' widest
/// column: `value_unrounded`, at [`BASE_SCALE`].
fn add(slot: &mut Option<Decimal>, v: Decimal, overflow: &mut bool) {
    let sum = match slot {
        None => Some(v),
        Some(s) => s.checked_add(v),
    };
    match sum.filter(|s| s.in_column(BASE_SCALE).is_some()) {
        Some(sum) => *slot = Some(sum),
        None => *overflow = true,
    }
}

/// The agencies of `expected` not in `present` (both sorted), in one walk
/// through both: a binary search per agency was four fifths of finishing
/// the totals at the bench's large scale.
fn absent(expected: &[AgencyId], present: &[AgencyId]) -> Vec<AgencyId> {
    let mut rest = present;
    expected
        .iter()
        .filter(|a| {
            while rest.first().is_some_and(|p| p < a) {
                rest = &rest[1..];
            }
            rest.first() != Some(a)
        })
        .copied()
        .collect()
}

/// Which totals each agency counts in: the register's trees, read once.
pub struct Tree<'p> {
    p: Rules<'p>,
    /// The totals each leaf agency counts in (its parents and groups);
    /// empty for parents, whose own figures are not summed.
    ancestors: Vec<Vec<AgencyId>>,
}

/// One bucket's contribution to the totals: what [`Aggregator::merge`]
/// takes in, in bucket order. A full run and an incremental one (which
/// keeps each bucket's partial in its cache) add the same partials in the
/// same order, so their totals agree to the last digit, overflow included.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Partial {
    accs: Vec<(Key, RunningTotal)>,
    reported: Vec<((AgencyId, IndicatorId), Vec<AgencyId>)>,
}

/// Accumulates totals over buckets of observations (each in year order and
/// holding whole agencies), then computes them in [`Aggregator::finish`].
pub struct Aggregator<'p> {
    p: Rules<'p>,
    // Hash maps: every observation touches one accumulator per parent;
    // [`Aggregator::finish`] sorts once.
    accs: FxHashMap<Key, RunningTotal>,
    reported: FxHashMap<(AgencyId, IndicatorId), BTreeSet<AgencyId>>,
}

type Accs = FxHashMap<Key, RunningTotal>;
type Reported = FxHashMap<(AgencyId, IndicatorId), BTreeSet<AgencyId>>;

fn touch<'m>(
    accs: &'m mut Accs,
    reported: &mut Reported,
    parent: AgencyId,
    indicator: IndicatorId,
    year: i32,
    agency: AgencyId,
) -> &'m mut RunningTotal {
    reported.entry((parent, indicator)).or_default().insert(agency);
    accs.entry(Key { agency: parent, indicator, year }).or_insert_with(RunningTotal::empty)
}

impl<'p> Tree<'p> {
    pub fn new(p: Rules<'p>, reg: &Register) -> Self {
        let ancestors = reg.iter().map(|(id, a)| if a.has_children { Vec::new() } else { reg.totals_of(id) }).collect();
        Tree { p, ancestors }
    }

    /// One bucket's current observations, sorted by year, then agency,
    /// then indicator, as the writer leaves them (every observation of an
    /// agency is in the same bucket), as a partial of the totals.
    pub fn partial(&self, current: &[Observation]) -> Partial {
        let (mut accs, mut reported) = (Accs::default(), Reported::default());
        let order = |k: Key| (k.year, k.agency, k.indicator);
        let lookup = |agency: AgencyId, indicator: IndicatorId, year: i32| {
            let key = order(Key { agency, indicator, year });
            current.binary_search_by_key(&key, |o| order(o.key)).ok().map(|i| &current[i])
        };
        for o in current {
            let k = o.key;
            let parents = &self.ancestors[k.agency.0 as usize];
            if parents.is_empty() {
                continue;
            }
            if self.p.catalog.indicator(k.indicator).aggregation == Aggregation::Sum {
                for &parent in parents {
                    let acc = touch(&mut accs, &mut reported, parent, k.indicator, k.year, k.agency);
                    if let Some(v) = o.value {
                        add(&mut acc.sum, v, &mut acc.overflow);
                        acc.contributors.push(k.agency);
                        match o.target {
                            Some(t) => add(&mut acc.target, t, &mut acc.overflow),
                            None => acc.all_targets = false,
                        }
                    }
                }
            }
            for &(ratio, den_id) in self.p.catalog.ratios_with_numerator(k.indicator) {
                let den = lookup(k.agency, den_id, k.year).and_then(|d| d.value);
                for &parent in parents {
                    let acc = touch(&mut accs, &mut reported, parent, ratio, k.year, k.agency);
                    if let (Some(n), Some(d)) = (o.value, den) {
                        add(&mut acc.sum, n, &mut acc.overflow);
                        add(&mut acc.den, d, &mut acc.overflow);
                        acc.contributors.push(k.agency);
                    }
                }
            }
        }
        // Sorted, so that a partial's bytes in the cache do not depend on
        // the hash map's order.
        let mut accs: Vec<(Key, RunningTotal)> = accs.into_iter().collect();
        accs.sort_unstable_by_key(|(k, _)| *k);
        let mut reported: Vec<_> = reported.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect();
        reported.sort_unstable_by_key(|(k, _)| *k);
        Partial { accs, reported }
    }
}

impl<'p> Aggregator<'p> {
    pub fn new(tree: &Tree<'p>) -> Self {
        Aggregator { p: tree.p, accs: FxHashMap::default(), reported: FxHashMap::default() }
    }

    /// Takes in one bucket's partial; buckets come in order.
    pub fn merge(&mut self, partial: Partial) {
        for (key, acc) in partial.accs {
            match self.accs.entry(key) {
                std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().merge(acc),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(acc);
                }
            }
        }
        for (key, agencies) in partial.reported {
            self.reported.entry(key).or_default().extend(agencies);
        }
    }

    /// Notes rows that were quarantined: their agencies are missing from the
    /// totals they would have contributed to.
    pub fn quarantined(&mut self, tree: &Tree<'_>, keys: &[Key]) {
        for k in keys {
            let parents = &tree.ancestors[k.agency.0 as usize];
            let ratios = self.p.catalog.iter().filter(|(_, r)| {
                r.aggregation == Aggregation::Ratio
                    && (r.numerator == Some(k.indicator) || r.denominator == Some(k.indicator))
            });
            let own = (self.p.catalog.indicator(k.indicator).aggregation == Aggregation::Sum).then_some(k.indicator);
            for indicator in own.into_iter().chain(ratios.map(|(id, _)| id)) {
                for &parent in parents {
                    touch(&mut self.accs, &mut self.reported, parent, indicator, k.year, k.agency);
                }
            }
        }
    }

    /// Totals of every parent, sorted by (parent, indicator, year).
    pub fn finish(self) -> Vec<Total> {
        let Aggregator { p, accs, reported, .. } = self;
        // Sorted lists: each is walked once per year beside a total's
        // (sorted) contributors.
        let reported: FxHashMap<(AgencyId, IndicatorId), Vec<AgencyId>> =
            reported.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect();
        let mut accs: Vec<(Key, RunningTotal)> = accs.into_iter().collect();
        accs.sort_unstable_by_key(|(k, _)| *k);
        // The exact value of each total, for growth and change against the
        // year before. A quotient too large for its unrounded column (a
        // rate over a denominator near zero) overflows as a sum can.
        let mut exact: FxHashMap<Key, Ratio> = FxHashMap::default();
        for (k, acc) in &mut accs {
            let one = Decimal::new(1, 0);
            let r = match p.catalog.indicator(k.indicator).aggregation {
                Aggregation::Ratio => acc.sum.zip(acc.den).and_then(|(n, d)| rates::rate(n, d).ok()),
                _ => acc.sum.and_then(|s| Ratio::new(s, one)),
            };
            let fits = |r: &Ratio| r.round(BASE_SCALE, p.rounding.rule).and_then(|d| d.in_column(BASE_SCALE));
            match r {
                Some(r) if !acc.overflow && fits(&r).is_some() => {
                    exact.insert(*k, r);
                }
                Some(_) => acc.overflow = true,
                None => {}
            }
        }

        // Each total on its own, on every core.
        use rayon::prelude::*;
        accs.into_par_iter()
            .map(|(key, acc)| {
                let ind = p.catalog.indicator(key.indicator);
                let dec = p.rounding.of(key.indicator);
                let rule = p.rounding.rule;
                let prev_key = Key { year: key.year - 1, ..key };
                let this = exact.get(&key).copied();
                let prev = exact.get(&prev_key).copied();
                let expected = &reported[&(key.agency, key.indicator)];
                // Buckets come in agency order, so contributors are sorted.
                debug_assert!(acc.contributors.is_sorted());
                let missing = absent(expected, &acc.contributors);
                let mut total = Total {
                    key,
                    aggregation: ind.aggregation,
                    value: None,
                    value_unrounded: None,
                    numerator: None,
                    denominator: None,
                    target: Err(NullReason::NoTarget),
                    previous: Err(NullReason::NoPrevious),
                    completion: Err(NullReason::ValueMissing),
                    met: None,
                    growth: Err(NullReason::ValueMissing),
                    change: Err(NullReason::ValueMissing),
                    contributors: acc.contributors,
                    missing,
                };
                if acc.overflow {
                    total.completion = Err(NullReason::Overflow);
                    total.growth = Err(NullReason::Overflow);
                    total.change = Err(NullReason::Overflow);
                    return total;
                }
                match ind.aggregation {
                    Aggregation::Ratio => {
                        total.numerator = acc.sum;
                        total.denominator = acc.den;
                        total.value = this.and_then(|r| r.round(dec.change, rule));
                        total.value_unrounded = this.and_then(|r| r.round(BASE_SCALE, rule));
                        total.target = Err(NullReason::RatioTargetNotAggregated);
                        total.completion = Err(NullReason::RatioTargetNotAggregated);
                        total.previous = match prev {
                            Some(r) => r.round(BASE_SCALE, rule).ok_or(NullReason::Overflow),
                            None => Err(NullReason::NoPrevious),
                        };
                        total.growth = Err(NullReason::RateUsesChange);
                        total.change = match (this, prev) {
                            (None, _) => Err(NullReason::ValueMissing),
                            (_, None) => Err(NullReason::NoPrevious),
                            (Some(a), Some(b)) => a
                                .checked_sub(b)
                                .ok_or(NullReason::Overflow)
                                .and_then(|d| metrics::change_of(d, dec.change, rule)),
                        };
                    }
                    _ => {
                        total.value = acc.sum;
                        total.value_unrounded = acc.sum;
                        total.target = match (acc.target, acc.all_targets) {
                            (Some(t), true) => Ok(t),
                            (Some(_), false) => Err(NullReason::PartialTargets),
                            (None, _) => Err(NullReason::NoTarget),
                        };
                        total.previous = prev
                            .map(|r| r.round(BASE_SCALE, rule).expect("a sum is exact"))
                            .ok_or(NullReason::NoPrevious);
                        total.completion = match total.target {
                            Ok(t) => metrics::completion(acc.sum, Some(t), ind.direction, dec.completion, rule),
                            Err(e) if acc.sum.is_some() => Err(e),
                            Err(_) => Err(NullReason::ValueMissing),
                        };
                        total.met = metrics::met(acc.sum, total.target.ok(), ind.direction, &total.completion);
                        total.growth = metrics::growth(acc.sum, total.previous, ind.kind, dec.growth, rule);
                        total.change = metrics::change(acc.sum, total.previous, ind.kind, dec.change, rule);
                    }
                }
                total
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_lists_the_expected_agencies_a_total_lacks() {
        let ids = |v: &[u32]| v.iter().map(|&i| AgencyId(i)).collect::<Vec<_>>();
        assert_eq!(absent(&ids(&[1, 2, 3, 5, 8]), &ids(&[2, 5, 7])), ids(&[1, 3, 8]));
        assert_eq!(absent(&ids(&[1, 2]), &ids(&[1, 2])), ids(&[]));
        assert_eq!(absent(&ids(&[4, 6]), &ids(&[])), ids(&[4, 6]));
        assert_eq!(absent(&ids(&[]), &ids(&[3])), ids(&[]));
    }
}
