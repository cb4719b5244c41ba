//! Aggregate: totals for every parent in the register (each district, the
//! city) and every group (a region: `crate::config::register`), per
//! indicator and year, as SUBMISSIONS.md "Scope (口径)" says a statistics
//! office publishes them. This module is the one home of those rules.
//!
//! - A parent's **reported** figure is one sent for the parent itself: a
//!   row of the parent (a table's 全市 row), or, for an `area` indicator, a
//!   row of the agency the register declares as reporting for it
//!   (`reports_for`). Where there is one, it is the total as published,
//!   never added to anything; beside it stand the members' sum and the
//!   difference (本级及未分配). Two reports that differ are a finding; the
//!   declared reporter's wins, being the agency the register makes
//!   responsible for the figure.
//! - Otherwise the total adds its **contributors**: the own figure of each
//!   leaf under the parent, except that a member with a reported figure
//!   contributes that figure and stands for everything under it, so
//!   nothing is added twice. `ratio` indicators sum numerators and
//!   denominators the same way (never an average of rates); a parent's rate
//!   is reported when both its parts are.
//! - Growth (a rate's change in points) compares like with like (同口径): a
//!   reported figure with the previous year's reported figure; a summed
//!   total over the contributors with a figure in both years, naming the
//!   others. A level-to-level growth across different sets of agencies is
//!   never printed.
//!
//! Buckets hold whole agencies, so each bucket adds its leaves into their
//! nearest totals (their parent and groups), this year's figures of the
//! leaves that also had one the year before kept apart, and lists the
//! reports it holds ([`Tree::partial`]). [`Aggregator::finish`] resolves the
//! reports and walks each tree bottom-up, a year and indicator at a time.

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

use crate::config::{AgencyId, Aggregation, Coverage, IndicatorId, Register, Rules};
use crate::decimal::{BASE_SCALE, Decimal, Ratio};
use crate::metrics;
use crate::model::{FileId, Key, NullReason, Observation, Origin, Outcome};
use crate::rates;

/// Whether a total's value is a figure reported for the parent or the
/// sum over its contributors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    Reported,
    Summed,
}

/// What a total's growth (or change in points) compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Basis {
    /// This year's reported figure with the previous year's.
    Reported,
    /// This year's and the previous year's figures of the contributors
    /// with a figure in both years (同口径).
    Comparable,
    /// Nothing compared.
    None,
}

/// What a reviewer is shown about a total before it is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Finding {
    /// The members' sum is above the reported figure of a `sum` indicator:
    /// the parts exceed the whole.
    MembersExceedReported,
    /// Two reports for the same parent, indicator and year differ.
    ConflictingReports,
}

crate::config::catalog::display_as_serde_name! {
    Scope => { Reported = "reported", Summed = "summed" }
    Basis => { Reported = "reported", Comparable = "comparable", None = "none" }
    Finding => { MembersExceedReported = "members_exceed_reported", ConflictingReports = "conflicting_reports" }
}

impl Scope {
    /// The scope as the people's tables print it.
    pub fn zh(self) -> &'static str {
        match self {
            Scope::Reported => "上报数",
            Scope::Summed => "下级合计",
        }
    }
}

impl Basis {
    /// The growth's basis as the people's tables print it (none: empty).
    pub fn zh(self) -> &'static str {
        match self {
            Basis::Reported => "上报数对比",
            Basis::Comparable => "同口径",
            Basis::None => "",
        }
    }
}

/// A figure sent for a parent: by the parent itself or by the agency
/// declared as reporting for it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The agency whose row it is.
    pub by: AgencyId,
    pub value: Decimal,
    pub target: Option<Decimal>,
    pub origin: Origin,
}

impl Report {
    /// Whether the declared reporter's report wins over the parent's own
    /// row, then the lower agency code, then the earlier row: the one
    /// order in which reports for the same total are taken.
    fn precedence(&self, parent: AgencyId) -> (bool, AgencyId, FileId, u64) {
        (self.by == parent, self.by, self.origin.file, self.origin.line)
    }
}

/// One parent's total of one indicator in one year. Serialized, it is
/// what decides its row in the totals table (see
/// [`crate::export::TotalsPart`]).
#[derive(Debug, Clone, Serialize)]
pub struct Total {
    /// `agency` is the parent.
    pub key: Key,
    pub aggregation: Aggregation,
    /// The reported figure, else Σ values (`sum`); a rate rounded to its
    /// decimals (`ratio`); `None` when nothing was reported or added.
    pub value: Option<Decimal>,
    pub value_unrounded: Option<Decimal>,
    /// `ratio` only: the reported parts, else Σ numerator and Σ denominator.
    pub numerator: Option<Decimal>,
    pub denominator: Option<Decimal>,
    pub target: Result<Decimal, NullReason>,
    /// The other side of the growth's comparison: the previous year's
    /// reported figure, or the previous year's figures of the contributors
    /// compared (a rate: their rate, unrounded).
    pub previous: Result<Decimal, NullReason>,
    pub completion: Outcome,
    pub met: Option<bool>,
    pub growth: Outcome,
    pub change: Outcome,
    /// Sorted: the agencies whose figures the members' sum adds (a member
    /// with a reported figure stands for everything under it).
    pub contributors: Vec<AgencyId>,
    pub missing: Vec<AgencyId>,
    pub scope: Scope,
    /// The report `value` is (a rate's: its numerator's, each part having
    /// its own total).
    pub report: Option<Report>,
    /// Other reports for the same total that differ from `report`.
    pub conflicts: Vec<Report>,
    /// The members' sum (a ratio: their rate at the rate's decimals); the
    /// value itself when nothing was reported.
    pub members: Option<Decimal>,
    /// Reported − members' sum (`sum` only): the part no member covers.
    pub unallocated: Option<Decimal>,
    pub basis: Basis,
    /// This year's side of the comparison (`previous` is the other).
    pub compared: Option<Decimal>,
    /// Sorted: contributors of this year or the year before left out of
    /// the comparison.
    pub not_compared: Vec<AgencyId>,
    pub findings: Vec<Finding>,
}

/// Σ numerator (or Σ value) and, for a ratio, Σ denominator.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
struct Sums {
    n: Option<Decimal>,
    d: Option<Decimal>,
}

impl Sums {
    fn add(&mut self, n: Decimal, d: Option<Decimal>, overflow: &mut bool) {
        add(&mut self.n, n, overflow);
        if let Some(d) = d {
            add(&mut self.d, d, overflow);
        }
    }

    fn add_sums(&mut self, other: Sums, overflow: &mut bool) {
        if let Some(n) = other.n {
            self.add(n, other.d, overflow);
        }
    }
}

/// A total as it is added up: in a bucket, over the leaves nearest to it;
/// when finished, over all its contributors.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Running {
    sums: Sums,
    target: Option<Decimal>,
    /// Whether some contributor has no target.
    target_missing: bool,
    contributors: Vec<AgencyId>,
    /// Of the contributors with a figure the year before too: this year's
    /// sums and the year before's.
    now: Sums,
    then: Sums,
    /// Agencies expected that sent nothing this year (finished totals only).
    missing: Vec<AgencyId>,
    overflow: bool,
}

impl Running {
    /// Adds one contributor: its figure (a ratio's parts), its target and,
    /// when it had one, its figure the year before.
    fn add(
        &mut self,
        who: AgencyId,
        n: Decimal,
        d: Option<Decimal>,
        target: Option<Decimal>,
        before: Option<(Decimal, Option<Decimal>)>,
    ) {
        let overflow = &mut self.overflow;
        self.sums.add(n, d, overflow);
        match target {
            Some(t) => add(&mut self.target, t, overflow),
            None => self.target_missing = true,
        }
        if let Some((pn, pd)) = before {
            self.now.add(n, d, overflow);
            self.then.add(pn, pd, overflow);
        }
        self.contributors.push(who);
    }

    /// Takes in another running total: a later bucket's of the same total,
    /// or a member's, whose comparison counts only when `comparable`.
    fn absorb(&mut self, other: &Running, comparable: bool) {
        let overflow = &mut self.overflow;
        *overflow |= other.overflow;
        self.sums.add_sums(other.sums, overflow);
        if let Some(t) = other.target {
            add(&mut self.target, t, overflow);
        }
        self.target_missing |= other.target_missing;
        if comparable {
            self.now.add_sums(other.now, overflow);
            self.then.add_sums(other.then, overflow);
        }
        self.contributors.extend_from_slice(&other.contributors);
        self.missing.extend_from_slice(&other.missing);
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

/// The agencies in exactly one of two sorted lists, sorted.
fn either_not_both(a: &[AgencyId], b: &[AgencyId]) -> Vec<AgencyId> {
    let mut out = absent(a, b);
    out.extend(absent(b, a));
    out.sort_unstable();
    out
}

/// Where an agency's figure of an indicator goes.
enum Place<'t> {
    /// It is the reported figure of this parent.
    Reports(AgencyId),
    /// It is added into these totals (its nearest: its parent and groups).
    Adds(&'t [AgencyId]),
    /// Into no total: a root that is no group's member.
    Nowhere,
}

/// The register's trees as the totals walk them, read once.
pub struct Tree<'p> {
    p: Rules<'p>,
    /// Per agency: whether it has members (a parent or a group).
    is_total: Vec<bool>,
    /// Per agency without members: the totals it is added into directly,
    /// its parent and the groups it is the topmost member of.
    nearest: Vec<Vec<AgencyId>>,
    reports_for: Vec<Option<AgencyId>>,
    /// Per total: the totals directly under it.
    members: Vec<Vec<AgencyId>>,
    /// Per total: every total it counts in (parents up to the root, then
    /// groups).
    reach: Vec<Vec<AgencyId>>,
    /// Per total: its height above the leaves, so that members are
    /// finished before the totals they count in.
    height: Vec<u32>,
}

impl<'p> Tree<'p> {
    pub fn new(p: Rules<'p>, reg: &Register) -> Self {
        let n = reg.len();
        let is_total: Vec<bool> = reg.iter().map(|(_, a)| a.has_children || a.is_group).collect();
        // A group takes an agency in through its topmost member only: one
        // whose parents are not in the group themselves.
        let topmost_groups = |id: AgencyId| -> Vec<AgencyId> {
            let above: FxHashSet<AgencyId> =
                reg.ancestors(id).flat_map(|a| reg.agency(a).groups.iter().copied()).collect();
            reg.agency(id).groups.iter().copied().filter(|g| !above.contains(g)).collect()
        };
        let mut nearest = vec![Vec::new(); n];
        let mut members = vec![Vec::new(); n];
        for (id, a) in reg.iter() {
            let up: Vec<AgencyId> = a.parent.into_iter().chain(topmost_groups(id)).collect();
            if is_total[id.0 as usize] {
                for t in up {
                    members[t.0 as usize].push(id);
                }
            } else {
                nearest[id.0 as usize] = up;
            }
        }
        let reach =
            reg.iter().map(|(id, _)| if is_total[id.0 as usize] { reg.totals_of(id) } else { Vec::new() }).collect();
        let mut height = vec![0; n];
        fn height_of(t: usize, members: &[Vec<AgencyId>], height: &mut [u32]) -> u32 {
            if height[t] == 0 {
                height[t] = 1 + members[t].iter().map(|m| height_of(m.0 as usize, members, height)).max().unwrap_or(0);
            }
            height[t]
        }
        for (t, _) in is_total.iter().enumerate().filter(|(_, total)| **total) {
            height_of(t, &members, &mut height);
        }
        let reports_for = reg.iter().map(|(_, a)| a.reports_for).collect();
        Tree { p, is_total, nearest, reports_for, members, reach, height }
    }

    fn place(&self, agency: AgencyId, coverage: Coverage) -> Place<'_> {
        let a = agency.0 as usize;
        if self.is_total[a] {
            return Place::Reports(agency);
        }
        match self.reports_for[a] {
            Some(parent) if coverage == Coverage::Area => Place::Reports(parent),
            _ if self.nearest[a].is_empty() => Place::Nowhere,
            _ => Place::Adds(&self.nearest[a]),
        }
    }

    /// One bucket's current observations, sorted by year, then agency,
    /// then indicator, as the writer leaves them (every observation of an
    /// agency is in the same bucket), as a partial of the totals.
    pub fn partial(&self, current: &[Observation]) -> Partial {
        let catalog = self.p.catalog;
        let mut direct: FxHashMap<Key, Running> = FxHashMap::default();
        let mut expected: FxHashMap<(AgencyId, IndicatorId), Vec<AgencyId>> = FxHashMap::default();
        let mut reports = Vec::new();
        let order = |k: Key| (k.year, k.agency, k.indicator);
        let value = |agency: AgencyId, indicator: IndicatorId, year: i32| {
            let key = order(Key { agency, indicator, year });
            current.binary_search_by_key(&key, |o| order(o.key)).ok().and_then(|i| current[i].value)
        };
        for o in current {
            let k = o.key;
            let ind = catalog.indicator(k.indicator);
            let nearest = match self.place(k.agency, ind.coverage) {
                Place::Reports(parent) => {
                    if let (Aggregation::Sum, Some(value)) = (ind.aggregation, o.value) {
                        let report = Report { by: k.agency, value, target: o.target, origin: o.origin };
                        reports.push((Key { agency: parent, ..k }, report));
                    }
                    continue;
                }
                Place::Nowhere => continue,
                Place::Adds(nearest) => nearest,
            };
            if ind.aggregation == Aggregation::Sum {
                let before = value(k.agency, k.indicator, k.year - 1).map(|b| (b, None));
                for &t in nearest {
                    expected.entry((t, k.indicator)).or_default().push(k.agency);
                    let acc = direct.entry(Key { agency: t, ..k }).or_default();
                    if let Some(v) = o.value {
                        acc.add(k.agency, v, None, o.target, before);
                    }
                }
            }
            for &(ratio, den_id) in catalog.ratios_with_numerator(k.indicator) {
                let den = value(k.agency, den_id, k.year);
                let before = value(k.agency, k.indicator, k.year - 1)
                    .zip(value(k.agency, den_id, k.year - 1))
                    .map(|(n, d)| (n, Some(d)));
                for &t in nearest {
                    expected.entry((t, ratio)).or_default().push(k.agency);
                    let acc = direct.entry(Key { agency: t, indicator: ratio, year: k.year }).or_default();
                    if let (Some(n), Some(d)) = (o.value, den) {
                        acc.add(k.agency, n, Some(d), None, before);
                    }
                }
            }
        }
        // Sorted, so that a partial's bytes in the cache do not depend on
        // the hash map's order.
        let mut direct: Vec<(Key, Running)> = direct.into_iter().collect();
        direct.sort_unstable_by_key(|(k, _)| *k);
        let mut expected: Vec<_> = expected
            .into_iter()
            .map(|(k, mut v)| {
                v.sort_unstable();
                v.dedup();
                (k, v)
            })
            .collect();
        expected.sort_unstable_by_key(|(k, _)| *k);
        Partial { direct, reports, expected }
    }
}

/// One bucket's contribution to the totals: what [`Aggregator::merge`]
/// takes in, in bucket order. A full run and an incremental one (which
/// keeps each bucket's partial in its cache) add the same partials in the
/// same order, so their totals agree to the last digit, overflow included.
#[derive(Default, Serialize, Deserialize)]
pub struct Partial {
    /// Per total and year: the leaves nearest to it.
    direct: Vec<(Key, Running)>,
    /// Figures sent for a parent, in the order of the bucket's rows.
    reports: Vec<(Key, Report)>,
    /// Per total and indicator: the leaves nearest to it that sent the
    /// indicator in some year (or had such a row quarantined).
    expected: Vec<((AgencyId, IndicatorId), Vec<AgencyId>)>,
}

impl Partial {
    /// Renames the files its reports came from (this run's ids to the
    /// cache's, and back); `false` when `rename` knows a file not.
    pub fn rename_files(&mut self, rename: impl Fn(FileId) -> Option<FileId>) -> bool {
        for (_, r) in &mut self.reports {
            match rename(r.origin.file) {
                Some(f) => r.origin.file = f,
                None => return false,
            }
        }
        true
    }
}

/// A figure reported for a total, resolved: a sum's value and target, or
/// a ratio's two parts.
#[derive(Debug, Clone, Copy)]
struct Reported {
    n: Decimal,
    d: Option<Decimal>,
    target: Option<Decimal>,
}

/// Accumulates totals over buckets of observations (each in year order and
/// holding whole agencies), then computes them in [`Aggregator::finish`].
pub struct Aggregator<'a> {
    tree: &'a Tree<'a>,
    // Hash maps: [`Aggregator::finish`] sorts once.
    direct: FxHashMap<Key, Running>,
    reports: FxHashMap<Key, Vec<Report>>,
    expected: FxHashMap<(AgencyId, IndicatorId), Vec<AgencyId>>,
    /// Totals a figure was reported for in some year (or would have been,
    /// but for a quarantined row): a member missing when it has none.
    expected_reports: FxHashSet<(AgencyId, IndicatorId)>,
}

impl<'a> Aggregator<'a> {
    pub fn new(tree: &'a Tree<'a>) -> Self {
        Aggregator {
            tree,
            direct: FxHashMap::default(),
            reports: FxHashMap::default(),
            expected: FxHashMap::default(),
            expected_reports: FxHashSet::default(),
        }
    }

    /// Takes in one bucket's partial; buckets come in order.
    pub fn merge(&mut self, partial: Partial) {
        for (key, acc) in partial.direct {
            match self.direct.entry(key) {
                std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().absorb(&acc, true),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(acc);
                }
            }
        }
        let catalog = self.tree.p.catalog;
        for (key, report) in partial.reports {
            self.expected_reports.insert((key.agency, key.indicator));
            for &(ratio, _) in catalog.ratios_with_numerator(key.indicator) {
                self.expected_reports.insert((key.agency, ratio));
            }
            self.reports.entry(key).or_default().push(report);
        }
        for (key, agencies) in partial.expected {
            self.expected.entry(key).or_default().extend(agencies);
        }
    }

    /// Notes rows that were quarantined: their agencies are missing from the
    /// totals they would have been added into.
    pub fn quarantined(&mut self, keys: &[Key]) {
        let catalog = self.tree.p.catalog;
        for k in keys {
            let ind = catalog.indicator(k.indicator);
            let ratios = catalog.iter().filter(|(_, r)| {
                r.aggregation == Aggregation::Ratio
                    && (r.numerator == Some(k.indicator) || r.denominator == Some(k.indicator))
            });
            let own = (ind.aggregation == Aggregation::Sum).then_some(k.indicator);
            let indicators = own.into_iter().chain(ratios.map(|(id, _)| id));
            let nearest = match self.tree.place(k.agency, ind.coverage) {
                Place::Adds(nearest) => nearest,
                Place::Reports(parent) => {
                    // The parent's total is there, without its figure.
                    for indicator in indicators {
                        self.expected_reports.insert((parent, indicator));
                        self.direct.entry(Key { agency: parent, indicator, year: k.year }).or_default();
                    }
                    continue;
                }
                Place::Nowhere => continue,
            };
            for indicator in indicators {
                for &t in nearest {
                    self.direct.entry(Key { agency: t, indicator, year: k.year }).or_default();
                    self.expected.entry((t, indicator)).or_default().push(k.agency);
                }
            }
        }
    }

    /// Totals of every parent, sorted by (parent, indicator, year).
    pub fn finish(self) -> Vec<Total> {
        use rayon::prelude::*;
        let Aggregator { tree, mut direct, reports, mut expected, expected_reports } = self;
        for v in expected.values_mut() {
            v.sort_unstable();
            v.dedup();
        }
        let resolved = resolve(reports);
        let reported = reported_figures(tree, &resolved);
        // Every total with something under it: the nearest totals of the
        // leaves that sent, the parents reported for, and all above them.
        // Each with its nearest leaves' running total, moved out of `direct`.
        type Slice = Vec<(AgencyId, Option<Running>)>;
        let mut by_slice: FxHashMap<(IndicatorId, i32), Slice> = FxHashMap::default();
        {
            let mut keys: FxHashSet<Key> = FxHashSet::default();
            let all: Vec<Key> = direct.keys().chain(reported.keys()).copied().collect();
            for k in all {
                for t in std::iter::once(k.agency).chain(tree.reach[k.agency.0 as usize].iter().copied()) {
                    let key = Key { agency: t, ..k };
                    if keys.insert(key) {
                        by_slice.entry((k.indicator, k.year)).or_default().push((t, direct.remove(&key)));
                    }
                }
            }
        }
        // Each indicator and year bottom-up, members before their totals.
        let slices: Vec<((IndicatorId, i32), Slice)> = by_slice.into_iter().collect();
        let mut finished: FxHashMap<Key, Running> = slices
            .into_par_iter()
            .flat_map_iter(|((indicator, year), mut totals)| {
                totals.sort_unstable_by_key(|(t, _)| (tree.height[t.0 as usize], *t));
                let mut done: FxHashMap<AgencyId, Running> = FxHashMap::default();
                let reports_expected = |c: AgencyId| expected_reports.contains(&(c, indicator));
                for (t, nearest) in totals {
                    let key = Key { agency: t, indicator, year };
                    let mut m = nearest.unwrap_or_default();
                    m.contributors.sort_unstable();
                    m.missing = expected.get(&(t, indicator)).map_or_else(Vec::new, |e| absent(e, &m.contributors));
                    for &c in &tree.members[t.0 as usize] {
                        let this = Key { agency: c, ..key };
                        let before = reported.get(&Key { year: year - 1, ..this });
                        if let Some(r) = reported.get(&this) {
                            m.add(c, r.n, r.d, r.target, before.map(|b| (b.n, b.d)));
                        } else if let Some(member) = done.get(&c) {
                            // Under a member reported last year, this year's
                            // contributors were not contributors then.
                            m.absorb(member, before.is_none());
                            if member.contributors.is_empty() && reports_expected(c) {
                                m.missing.push(c);
                            }
                        } else {
                            // Nothing under the member this year: whoever
                            // sent in other years is missing.
                            expected_under(tree, c, indicator, &expected, &expected_reports, &mut m.missing);
                        }
                    }
                    m.contributors.sort_unstable();
                    m.missing.sort_unstable();
                    m.missing.dedup();
                    done.insert(t, m);
                }
                done.into_iter().map(move |(t, m)| (Key { agency: t, indicator, year }, m))
            })
            .collect();
        let mut keys: Vec<Key> = finished.keys().copied().collect();
        keys.sort_unstable();
        let mut totals: Vec<Total> = keys
            .into_par_iter()
            .map(|key| {
                let before = Key { year: key.year - 1, ..key };
                let report = resolved.get(&key).or_else(|| {
                    // A rate reported through its parts carries its numerator's report.
                    let ind = tree.p.catalog.indicator(key.indicator);
                    ind.numerator
                        .filter(|_| reported.contains_key(&key))
                        .and_then(|n| resolved.get(&Key { indicator: n, ..key }))
                });
                finish_one(
                    tree.p,
                    key,
                    &finished[&key],
                    finished.get(&before),
                    reported.get(&key).zip(report),
                    reported.get(&before),
                )
            })
            .collect();
        // The lists move into their totals instead of being copied.
        for t in &mut totals {
            if let Some(m) = finished.remove(&t.key) {
                (t.contributors, t.missing) = (m.contributors, m.missing);
            }
        }
        totals
    }
}

/// The agencies under total `t` expected to send `indicator` (in some
/// year of the run): its nearest leaves that did, and each member total
/// reported for in some year, or else those under it.
fn expected_under(
    tree: &Tree<'_>,
    t: AgencyId,
    indicator: IndicatorId,
    expected: &FxHashMap<(AgencyId, IndicatorId), Vec<AgencyId>>,
    expected_reports: &FxHashSet<(AgencyId, IndicatorId)>,
    out: &mut Vec<AgencyId>,
) {
    if expected_reports.contains(&(t, indicator)) {
        out.push(t);
        return;
    }
    out.extend(expected.get(&(t, indicator)).into_iter().flatten());
    for &m in &tree.members[t.0 as usize] {
        expected_under(tree, m, indicator, expected, expected_reports, out);
    }
}

/// The reports of each total in the order they are taken: the first wins,
/// the others that differ from it are conflicts.
type Resolved = FxHashMap<Key, (Report, Vec<Report>)>;

fn resolve(reports: FxHashMap<Key, Vec<Report>>) -> Resolved {
    reports
        .into_iter()
        .map(|(key, mut rs)| {
            rs.sort_unstable_by_key(|r| r.precedence(key.agency));
            let first = rs[0];
            let conflicts =
                rs.into_iter().skip(1).filter(|r| (r.value, r.target) != (first.value, first.target)).collect();
            (key, (first, conflicts))
        })
        .collect()
}

/// The figure reported for each total: a sum's winning report; a ratio's
/// parts where both are reported.
fn reported_figures(tree: &Tree<'_>, resolved: &Resolved) -> FxHashMap<Key, Reported> {
    let catalog = tree.p.catalog;
    let mut out: FxHashMap<Key, Reported> = FxHashMap::default();
    for (&key, (r, _)) in resolved {
        out.insert(key, Reported { n: r.value, d: None, target: r.target });
        for &(ratio, den) in catalog.ratios_with_numerator(key.indicator) {
            if let Some((d, _)) = resolved.get(&Key { indicator: den, ..key }) {
                out.insert(Key { indicator: ratio, ..key }, Reported { n: r.value, d: Some(d.value), target: None });
            }
        }
    }
    out
}

/// A sum, or a ratio's parts as a rate in %, exactly.
fn exact(n: Option<Decimal>, d: Option<Decimal>, ratio: bool) -> Option<Result<Ratio, NullReason>> {
    if ratio { Some(rates::rate(n?, d?)) } else { Some(Ok(Ratio::new(n?, Decimal::new(1, 0)).expect("1 is not zero"))) }
}

/// A quotient at the totals' value scale, when it fits its column.
fn at_value_scale(r: Ratio, rule: crate::decimal::Rounding) -> Option<Decimal> {
    r.round(BASE_SCALE, rule).and_then(|d| d.in_column(BASE_SCALE))
}

/// One total from its members (`m`, and last year's), and the figure
/// reported for it with its report (and last year's figure).
fn finish_one(
    p: Rules<'_>,
    key: Key,
    m: &Running,
    m_before: Option<&Running>,
    reported: Option<(&Reported, &(Report, Vec<Report>))>,
    reported_before: Option<&Reported>,
) -> Total {
    let ind = p.catalog.indicator(key.indicator);
    let dec = p.rounding.of(key.indicator);
    let rule = p.rounding.rule;
    let ratio = ind.aggregation == Aggregation::Ratio;
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
        // Moved in by the caller.
        contributors: Vec::new(),
        missing: Vec::new(),
        scope: if reported.is_some() { Scope::Reported } else { Scope::Summed },
        report: reported.map(|(_, (r, _))| *r),
        conflicts: reported.map(|(_, (_, c))| c.clone()).unwrap_or_default(),
        members: None,
        unallocated: None,
        basis: Basis::None,
        compared: None,
        not_compared: Vec::new(),
        findings: Vec::new(),
    };
    if !total.conflicts.is_empty() {
        total.findings.push(Finding::ConflictingReports);
    }
    let overflow = |mut t: Total| {
        for o in [&mut t.completion, &mut t.growth, &mut t.change] {
            *o = Err(NullReason::Overflow);
        }
        t
    };
    if m.overflow {
        return overflow(total);
    }
    // The level: the reported figure, else the members' sum.
    let sums = match reported {
        Some((r, _)) => Sums { n: Some(r.n), d: r.d },
        None => m.sums,
    };
    let level = exact(sums.n, sums.d, ratio);
    let members = exact(m.sums.n, m.sums.d, ratio);
    let value_unrounded = match level {
        Some(Ok(r)) => match at_value_scale(r, rule) {
            Some(v) => Some(v),
            None => return overflow(total),
        },
        _ => None,
    };
    total.value_unrounded = value_unrounded;
    if ratio {
        let shown = |x: Option<Result<Ratio, NullReason>>| x.and_then(|r| r.ok()?.round(dec.change, rule));
        total.numerator = sums.n;
        total.denominator = sums.d;
        total.value = shown(level);
        total.members = shown(members);
        total.target = Err(NullReason::RatioTargetNotAggregated);
        total.completion = Err(NullReason::RatioTargetNotAggregated);
    } else {
        total.value = sums.n;
        total.members = m.sums.n;
        total.target = match reported {
            Some((r, _)) => r.target.ok_or(NullReason::NoTarget),
            None => match (m.target, m.target_missing) {
                (Some(t), false) => Ok(t),
                (Some(_), true) => Err(NullReason::PartialTargets),
                (None, _) => Err(NullReason::NoTarget),
            },
        };
        if let (Some((r, _)), Some(ms)) = (reported, m.sums.n) {
            total.unallocated = r.n.checked_sub(ms).filter(|u| u.in_column(BASE_SCALE).is_some());
            if ms > r.n {
                total.findings.push(Finding::MembersExceedReported);
            }
        }
        total.completion = match total.target {
            Ok(t) => metrics::completion(total.value, Some(t), ind.direction, dec.completion, rule),
            Err(e) if total.value.is_some() => Err(e),
            Err(_) => Err(NullReason::ValueMissing),
        };
        total.met = metrics::met(total.value, total.target.ok(), ind.direction, &total.completion);
    }
    let c = comparison(m, m_before, reported.map(|(r, _)| r), reported_before, ratio, total.value.is_some(), rule);
    let sides = c.sides;
    (total.basis, total.not_compared) = (c.basis, c.not_compared);
    total.previous = sides.map(|s| s.3);
    total.compared = sides.ok().map(|s| s.2);
    // The growth's own side: this year's compared figure, or the value
    // (whose growth's null reason then comes from the comparison).
    let current = total.compared.or(total.value);
    if ratio {
        total.growth = Err(NullReason::RateUsesChange);
        total.change = match (total.value, sides) {
            (None, _) => Err(NullReason::ValueMissing),
            (_, Err(e)) => Err(e),
            (_, Ok((now, then, ..))) => {
                now.checked_sub(then).ok_or(NullReason::Overflow).and_then(|d| metrics::change_of(d, dec.change, rule))
            }
        };
    } else {
        total.growth = metrics::growth(current, total.previous, ind.kind, dec.growth, rule);
        total.change = metrics::change(current, total.previous, ind.kind, dec.change, rule);
    }
    total
}

/// What a total's growth compares: its basis, the contributors of either
/// year left out, and both sides, exact and at the value scale (or why
/// there are none).
struct Comparison {
    basis: Basis,
    not_compared: Vec<AgencyId>,
    sides: Result<(Ratio, Ratio, Decimal, Decimal), NullReason>,
}

/// Reported with reported; else the contributors of both years, each with
/// its own figures of both (同口径). `has_value`: whether the total has a
/// figure this year at all.
fn comparison(
    m: &Running,
    m_before: Option<&Running>,
    reported: Option<&Reported>,
    reported_before: Option<&Reported>,
    ratio: bool,
    has_value: bool,
    rule: crate::decimal::Rounding,
) -> Comparison {
    let mut c = Comparison { basis: Basis::None, not_compared: Vec::new(), sides: Err(NullReason::NoPrevious) };
    let had_total = m_before.is_some_and(|b| b.sums.n.is_some()) || reported_before.is_some();
    let sides: Result<(Sums, Sums), NullReason> = match (reported, reported_before) {
        (Some(r), Some(b)) => {
            c.basis = Basis::Reported;
            Ok((Sums { n: Some(r.n), d: r.d }, Sums { n: Some(b.n), d: b.d }))
        }
        (Some(_), None) if had_total => Err(NullReason::BasisChanged),
        (Some(_), None) => Err(NullReason::NoPrevious),
        (None, _) => {
            if had_total && m.sums.n.is_some() {
                let before = m_before.map_or(&[][..], |b| &b.contributors[..]);
                c.not_compared = either_not_both(&m.contributors, before);
            }
            match m.then.n {
                Some(_) => {
                    c.basis = Basis::Comparable;
                    Ok((m.now, m.then))
                }
                None if had_total && m.sums.n.is_some() => Err(NullReason::NoCommonContributors),
                None => Err(NullReason::NoPrevious),
            }
        }
    };
    let sides = sides.and_then(|(now, then)| {
        let now = exact(now.n, now.d, ratio).ok_or(NullReason::ValueMissing)??;
        let then = exact(then.n, then.d, ratio).ok_or(NullReason::NoPrevious)??;
        match (at_value_scale(now, rule), at_value_scale(then, rule)) {
            (Some(a), Some(b)) => Ok((now, then, a, b)),
            _ => Err(NullReason::Overflow),
        }
    });
    // Nothing this year: nothing to compare, whatever the year before.
    c.sides = if has_value { sides } else { Err(NullReason::ValueMissing) };
    if c.sides.is_err() {
        c.basis = Basis::None;
    }
    c
}

/// The findings of a total in words, Chinese and English, with the figures
/// involved; `None` without findings. `code` names an agency.
pub fn findings_text<'r>(t: &Total, code: impl Fn(AgencyId) -> &'r str) -> Option<(String, String)> {
    if t.findings.is_empty() {
        return None;
    }
    let (mut zh, mut en) = (Vec::new(), Vec::new());
    for f in &t.findings {
        match f {
            Finding::MembersExceedReported => {
                let (Some(v), Some(m)) = (t.value, t.members) else { continue };
                let over = m.checked_sub(v).map(|d| d.trimmed().to_string()).unwrap_or_default();
                zh.push(format!("下级合计{}大于上报数{}（超出{over}）", m.trimmed(), v.trimmed()));
                en.push(format!(
                    "the members' sum {} exceeds the reported figure {} by {over}",
                    m.trimmed(),
                    v.trimmed()
                ));
            }
            Finding::ConflictingReports => {
                let Some(r) = t.report else { continue };
                let (won, value) = (code(r.by), r.value.trimmed());
                let (why_zh, why_en) = if r.by == t.key.agency {
                    ("本级数据", "the parent's own row")
                } else {
                    ("登记的报送单位", "the reporter the register declares")
                };
                for c in &t.conflicts {
                    let (other, theirs) = (code(c.by), c.value.trimmed());
                    zh.push(format!("{won}报送{value}，{other}报送{theirs}；采用{won}的数据（{why_zh}）"));
                    en.push(format!(
                        "{won} sent {value}, {other} sent {theirs}; {won}'s figure is the total ({why_en})"
                    ));
                }
            }
        }
    }
    Some((zh.join("；"), en.join("; ")))
}

#[cfg(test)]
mod tests;
