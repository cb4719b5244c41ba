//! One bucket of agencies computed into plain values: the current
//! observations after supersession, their metrics, the rates recomputed
//! from their parts, every claim checked.
//! Export formats and writes them; the totals take the current rows. Pure:
//! nothing here reads or writes files.

use crate::aggregate::Partial;
use crate::checks::{self, CheckCounts, Evaluation};
use crate::claims::{self, ClaimCheck, ClaimOutcomes};
use crate::config::Pipeline;
use crate::metrics::{self, Metric};
use crate::model::{Key, Observation, Superseded};
use crate::rates::{self, PartsRate};
use crate::reject::Issue;
use crate::supersede;

/// One bucket's figures.
pub struct BucketFigures {
    /// One per key, by year, then agency, then indicator (see
    /// [`year_order`]).
    pub current: Vec<Observation>,
    /// The metrics of `current`, in the same order.
    pub metrics: Vec<Metric>,
    /// Sorted by key.
    pub rates: Vec<PartsRate>,
    /// In key order of the claiming rows.
    pub claims: Vec<ClaimCheck>,
    pub claim_outcomes: ClaimOutcomes,
    /// Sorted by key.
    pub superseded: Vec<Superseded>,
    /// Every review rule evaluated, by rule, then agency and year.
    pub checks: Vec<Evaluation>,
    pub check_counts: CheckCounts,
    /// The rows error rules failed on, by key, each with its quarantine
    /// entry: not in `current`.
    pub rule_failed: Vec<(Key, Issue)>,
}

/// What a bucket adds to the run beyond its rows: its counts and its part
/// of the totals. The absorbing thread takes only this (a finished bucket
/// waiting in the channel holds no metrics, claims or history), and the
/// incremental cache keeps it for the next run as it is.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Contribution {
    pub observations: u64,
    /// Rows superseded, by the file that sent them (the run's file id; the
    /// cache's id of the file in the cache).
    pub superseded_by_file: Vec<(u32, u64)>,
    pub claim_outcomes: ClaimOutcomes,
    pub totals: Partial,
    pub check_counts: CheckCounts,
    /// The review rules' findings: failed and explained evaluations (for
    /// the people's summary and the report; the `checks` table has all).
    pub findings: Vec<Evaluation>,
    /// The rows error rules failed on, with their quarantine entries.
    pub rule_failed: Vec<(Key, Issue)>,
}

impl Contribution {
    /// Names files by `to(id)` instead of `id` (the run's ids and the
    /// cache's); false when one has no name there.
    pub fn rename_files(&mut self, to: impl Fn(u32) -> Option<u32>) -> bool {
        let mut whole = true;
        for (f, _) in &mut self.superseded_by_file {
            match to(*f) {
                Some(n) => *f = n,
                None => whole = false,
            }
        }
        let file = |f: &mut crate::model::FileId| match to(f.0) {
            Some(n) => {
                f.0 = n;
                true
            }
            None => false,
        };
        for (_, issue) in &mut self.rule_failed {
            whole &= file(&mut issue.file);
        }
        for e in &mut self.findings {
            for o in e.reads.iter_mut().filter_map(|r| r.origin.as_mut()) {
                whole &= file(&mut o.file);
            }
        }
        let totals = self.totals.rename_files(|f| to(f.0).map(crate::model::FileId));
        whole && totals
    }
}

impl BucketFigures {
    /// The review rules' findings: failed and explained evaluations.
    pub fn findings(&self) -> Vec<Evaluation> {
        self.checks.iter().filter(|e| e.outcome.is_finding()).cloned().collect()
    }
}

/// Computes a bucket from its rows as spilled (in any order).
pub fn compute(mut rows: Vec<Observation>, p: &Pipeline) -> BucketFigures {
    let (rules, units) = (p.rules(), &p.units);
    supersede::sort(&mut rows);
    let merged = supersede::merge(rows);
    let mut current = merged.current;
    // The review rules, on the figures as sent; those an error rule failed
    // on leave the bucket as any quarantined row does.
    let checked =
        checks::evaluate(&current, &p.checks.0, checks::Lookup { catalog: &p.catalog, register: &p.register });
    if !checked.quarantined.is_empty() {
        current.retain(|o| checked.quarantined.binary_search_by_key(&o.key, |(k, _)| *k).is_err());
    }
    let mut rates = rates::from_parts(&current, rules);
    let mut metrics = metrics::compute(&current, rules);
    // Claims look at a row's earlier years, which key order puts before it.
    let claims = claims::check(&current, &mut metrics, &mut rates, rules, units);
    let claim_outcomes = ClaimOutcomes::of(&claims);
    year_order(&mut current, &mut metrics);
    BucketFigures {
        current,
        metrics,
        rates,
        claims,
        claim_outcomes,
        superseded: merged.superseded,
        check_counts: CheckCounts::of(&checked),
        checks: checked.evaluations,
        rule_failed: checked.quarantined,
    }
}

/// Moves observations and their metrics, sorted by key, into the order of
/// the output files: by year, then agency, then indicator. Each table's
/// columns are built one after the other, a pass over the rows each; over
/// rows of one year side by side those passes read memory in sequence,
/// where reading every tenth row of a bucket sorted by key missed the
/// cache on nearly every row (m: 4.77 s → 4.36 s, medians of five runs
/// each, alternated).
fn year_order(current: &mut [Observation], metrics: &mut [Metric]) {
    let mut order: Vec<usize> = (0..current.len()).collect();
    order.sort_unstable_by_key(|&i| {
        let k = current[i].key;
        (k.year, k.agency, k.indicator)
    });
    permute(current, &order);
    permute(metrics, &order);
}

/// Reorders `v` in place so that `v[k]` becomes the element that was at
/// `order[k]` (`order` a permutation of `0..v.len()`), one swap per move.
fn permute<T>(v: &mut [T], order: &[usize]) {
    let mut placed = vec![false; v.len()];
    for start in 0..v.len() {
        let mut k = start;
        while !placed[k] {
            placed[k] = true;
            let from = order[k];
            if from == start {
                break;
            }
            v.swap(k, from);
            k = from;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Pipeline;
    use crate::decimal::Decimal;
    use crate::model::{FileId, Key, Origin};

    fn pipeline() -> Pipeline {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/nightly.toml");
        Pipeline::load(&path, Default::default()).unwrap()
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    /// A row of 城镇新增就业 as TJ-HRSS sends it, in 万人 (power 4).
    fn sent(p: &Pipeline, year: i32, value: &str, target: Option<&str>, file: u32) -> Observation {
        let key = Key {
            agency: p.register.get("TJ-HRSS").unwrap(),
            indicator: p.catalog.get("EMP-URBAN-NEW").unwrap(),
            year,
        };
        Observation {
            key,
            value: Some(d(value).checked_mul_pow10(4).unwrap()),
            target: target.map(|t| d(t).checked_mul_pow10(4).unwrap()),
            claimed_completion: (year == 2021).then(|| d("107.5")),
            claimed_growth: (year == 2021).then(|| d("1.43")),
            unit: "万人".into(),
            power: 4,
            note: None,
            value_raw: value.into(),
            target_raw: target.map(Into::into),
            origin: Origin { file: FileId(file), line: 2, byte: 60, column: 4 },
        }
    }

    #[test]
    fn the_seed_s_worked_example_through_the_pure_core() {
        // SUBMISSIONS.md: 城镇新增就业 37.62万 against a target of 35万 is
        // 107.5 % of the target; after 37.09万 in 2020, a growth of 1.43 %.
        // A first 2021 row, from an earlier file, is superseded.
        let p = pipeline();
        let rows = vec![
            sent(&p, 2021, "37.62", Some("35"), 2),
            sent(&p, 2020, "37.09", None, 0),
            sent(&p, 2021, "36", Some("35"), 1),
        ];
        let f = compute(rows, &p);
        let years: Vec<i32> = f.current.iter().map(|o| o.key.year).collect();
        assert_eq!(years, [2020, 2021]);
        let m = &f.metrics[1];
        assert_eq!(m.completion.as_ref().unwrap().rounded.to_string(), "107.5");
        assert_eq!(m.growth.as_ref().unwrap().rounded.to_string(), "1.43");
        assert_eq!(m.met, Some(true));
        assert_eq!((m.completion_claim_ok, m.growth_claim_ok), (Some(true), Some(true)));
        assert_eq!(f.superseded.len(), 1);
        assert_eq!((f.superseded[0].observation.origin.file, f.superseded[0].by.file), (FileId(1), FileId(2)));
        assert_eq!(f.claims.len(), 2);
        assert_eq!(f.claim_outcomes.matched, 2);
    }

    #[test]
    fn permute_moves_each_element_where_the_order_says() {
        let orders: [&[usize]; 4] = [&[2, 0, 1], &[0, 1, 2, 3], &[3, 2, 1, 0], &[1, 0, 3, 4, 2]];
        for order in orders {
            let mut v: Vec<char> = ('a'..).take(order.len()).collect();
            let want: Vec<char> = order.iter().map(|&i| v[i]).collect();
            permute(&mut v, order);
            assert_eq!(v, want, "{order:?}");
        }
    }
}
