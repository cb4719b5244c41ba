//! What changed between two runs' outputs: every figure (an agency's
//! value, its printed completion, growth and change, every total and its
//! percentages) that is new, revised or withdrawn, with the file and line
//! of the figure (the new one, or for a withdrawn figure the old one).
//!
//! Read from the two output directories' Parquet a year at a time (a year
//! per core), so memory holds a year of each per core. A figure that could not be computed (a
//! null percentage) is no figure: one that becomes computable is new.

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use crate::decimal::Decimal;
use crate::model::{col as c, table};
use crate::readback::{Batch, Outputs, ReadError};

/// What happened to a figure between the two runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    New,
    Revised,
    Withdrawn,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::New => "new",
            Kind::Revised => "revised",
            Kind::Withdrawn => "withdrawn",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Kind::New => "新增",
            Kind::Revised => "修订",
            Kind::Withdrawn => "撤回",
        }
    }
}

/// Which figure of a key: an agency's own or a parent's total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Measure {
    Value,
    Completion,
    Growth,
    Change,
    Total,
    TotalCompletion,
    TotalGrowth,
    TotalChange,
}

impl Measure {
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Value => "value",
            Measure::Completion => "completion_pct",
            Measure::Growth => "growth_pct",
            Measure::Change => "change_pp",
            Measure::Total => "total",
            Measure::TotalCompletion => "total_completion_pct",
            Measure::TotalGrowth => "total_growth_pct",
            Measure::TotalChange => "total_change_pp",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Measure::Value => "实际值",
            Measure::Completion => "完成率(%)",
            Measure::Growth => "同比增长(%)",
            Measure::Change => "同比变化(百分点)",
            Measure::Total => "合计值",
            Measure::TotalCompletion => "合计完成率(%)",
            Measure::TotalGrowth => "合计同比增长(%)",
            Measure::TotalChange => "合计同比变化(百分点)",
        }
    }
}

/// One figure's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub year: i32,
    pub agency: String,
    pub indicator: String,
    pub measure: Measure,
    pub kind: Kind,
    pub old: Option<Decimal>,
    pub new: Option<Decimal>,
    /// Where the figure came from (a total: empty).
    pub file: String,
    pub line: Option<i64>,
}

/// Counts by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub new: u64,
    pub revised: u64,
    pub withdrawn: u64,
}

impl Counts {
    pub fn of(changes: &[Change]) -> Counts {
        let mut n = Counts::default();
        for c in changes {
            match c.kind {
                Kind::New => n.new += 1,
                Kind::Revised => n.revised += 1,
                Kind::Withdrawn => n.withdrawn += 1,
            }
        }
        n
    }
}

type Key = (String, String, Measure);
/// One year's figures of one run: the value and where it came from.
type Figures = BTreeMap<Key, (Decimal, String, Option<i64>)>;

/// One year's figures of `out` in the parts not in `same` (parts both
/// runs wrote byte for byte): each agency's value and printed
/// percentages, each total and its percentages.
fn figures(out: &Outputs, year: i32, same: &BTreeSet<&str>) -> Result<Figures, ReadError> {
    let mut f = Figures::new();
    let agency = [(Measure::Value, c::VALUE)];
    let printed =
        [(Measure::Completion, c::COMPLETION_PCT), (Measure::Growth, c::GROWTH_PCT), (Measure::Change, c::CHANGE_PP)];
    let totals = [
        (Measure::Total, c::VALUE),
        (Measure::TotalCompletion, c::COMPLETION_PCT),
        (Measure::TotalGrowth, c::GROWTH_PCT),
        (Measure::TotalChange, c::CHANGE_PP),
    ];
    let skip = |path: &std::path::Path| same.contains(out.relative(path).as_str());
    // The key, the measures, and where a figure came from.
    let columns = |measures: &[(Measure, &'static str)], sourced: bool| {
        let mut c = vec![c::AGENCY, c::INDICATOR];
        c.extend(measures.iter().map(|(_, name)| *name));
        if sourced {
            c.extend([c::SOURCE_FILE, c::SOURCE_LINE]);
        }
        c
    };
    let scan = |table, measures: &[(Measure, &'static str)], sourced, f: &mut Figures| {
        let wanted = columns(measures, sourced);
        out.scan_where(table, Some(year), &skip, Some(&wanted), |_, b| add(f, b, measures, sourced))
    };
    scan(table::OBSERVATIONS, &agency, true, &mut f)?;
    scan(table::METRICS, &printed, true, &mut f)?;
    scan(table::TOTALS, &totals, false, &mut f)?;
    Ok(f)
}

/// Adds the non-null `measures` (each read from its column) of every row
/// of `b`, with the row's source file and line where `sourced`.
fn add(f: &mut Figures, b: &Batch<'_>, measures: &[(Measure, &'static str)], sourced: bool) -> Result<(), ReadError> {
    let (agency, indicator) = (b.text(c::AGENCY)?, b.text(c::INDICATOR)?);
    let source = if sourced { Some((b.text(c::SOURCE_FILE)?, b.int(c::SOURCE_LINE)?)) } else { None };
    let columns = measures.iter().map(|(m, name)| Ok((*m, b.decimal(name)?))).collect::<Result<Vec<_>, ReadError>>()?;
    for i in 0..b.len() {
        let (Some(a), Some(ind)) = (agency(i), indicator(i)) else { continue };
        let (file, line) = match &source {
            Some((file, line)) => (file(i).unwrap_or("").to_owned(), line(i)),
            None => (String::new(), None),
        };
        for (m, get) in &columns {
            if let Some(v) = get(i) {
                f.insert((a.to_owned(), ind.to_owned(), *m), (v, file.clone(), line));
            }
        }
    }
    Ok(())
}

/// The years either output has.
fn years(a: &Outputs, b: &Outputs) -> Vec<i32> {
    let mut years: Vec<i32> = [a, b]
        .iter()
        .flat_map(|o| [table::OBSERVATIONS, table::METRICS, table::TOTALS].map(|t| o.parts(t, None)))
        .flatten()
        .map(|(y, _)| y)
        .collect();
    years.sort_unstable();
    years.dedup();
    years
}

/// Whether [`between`] checks that a part both manifests list alike still
/// holds what they say before it takes the two as the same figures.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Outputs anyone may have edited since (`yearbook diff`): each such
    /// part hashed on both sides; one that differs is read.
    Verify,
    /// A run's own outputs against the previous one, whose parts it took
    /// only verified (`crate::export::hashed::link_verified`).
    Manifests,
}

/// Every figure that differs from `before` to `after`, by year, agency,
/// indicator and measure.
pub fn between(before: &Outputs, after: &Outputs, trust: Trust) -> Result<Vec<Change>, ReadError> {
    // Years in parallel, in year order. A part that is the same file in
    // both (path and SHA-256, as each manifest lists them) holds the same
    // figures in both, and no figure of it is in any other part of the
    // year: it is not read. An incremental run links the parts of every
    // bucket it did not compute, so only what changed is read.
    let per_year = years(before, after)
        .into_par_iter()
        .filter_map(|year| {
            let (old, new) = (parts_of(before, year), parts_of(after, year));
            if old == new
                && (trust == Trust::Manifests
                    || old.iter().all(|&(p, sha)| before.holds_listed(p, sha) && after.holds_listed(p, sha)))
            {
                return None;
            }
            let new_set: BTreeSet<(&str, &str)> = new.iter().copied().collect();
            let holds = |&&(path, sha): &&(&str, &str)| {
                trust == Trust::Manifests || (before.holds_listed(path, sha) && after.holds_listed(path, sha))
            };
            let same: BTreeSet<&str> = old.iter().filter(|p| new_set.contains(p)).filter(holds).map(|p| p.0).collect();
            Some(figures(before, year, &same).and_then(|o| Ok(compare(year, o, figures(after, year, &same)?))))
        })
        .collect::<Result<Vec<Vec<Change>>, ReadError>>()?;
    Ok(per_year.into_iter().flatten().collect())
}

/// The files that hold `year`'s figures in `out`: path and SHA-256.
fn parts_of(out: &Outputs, year: i32) -> Vec<(&str, &str)> {
    let prefixes = [table::OBSERVATIONS, table::METRICS, table::TOTALS].map(|t| format!("{t}/year={year}/"));
    let mut parts: Vec<(&str, &str)> = out
        .manifest
        .outputs
        .iter()
        .filter(|f| prefixes.iter().any(|p| f.path.starts_with(p.as_str())))
        .map(|f| (f.path.as_str(), f.sha256.as_str()))
        .collect();
    parts.sort_unstable();
    parts
}

/// The changes between one year's figures, in key order. Pure.
pub fn compare(year: i32, old: Figures, new: Figures) -> Vec<Change> {
    let change = |(agency, indicator, measure): Key,
                  kind,
                  old: Option<Decimal>,
                  new: Option<Decimal>,
                  at: (String, Option<i64>)| {
        Change { year, agency, indicator, measure, kind, old, new, file: at.0, line: at.1 }
    };
    let mut out = Vec::new();
    let mut old = old.into_iter().peekable();
    let mut new = new.into_iter().peekable();
    loop {
        let order = match (old.peek(), new.peek()) {
            (None, None) => break,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((a, _)), Some((b, _))) => a.cmp(b),
        };
        match order {
            std::cmp::Ordering::Less => {
                let (k, (v, file, line)) = old.next().expect("peeked");
                out.push(change(k, Kind::Withdrawn, Some(v), None, (file, line)));
            }
            std::cmp::Ordering::Greater => {
                let (k, (v, file, line)) = new.next().expect("peeked");
                out.push(change(k, Kind::New, None, Some(v), (file, line)));
            }
            std::cmp::Ordering::Equal => {
                let (_, (was, ..)) = old.next().expect("peeked");
                let (k, (now, file, line)) = new.next().expect("peeked");
                if was != now {
                    out.push(change(k, Kind::Revised, Some(was), Some(now), (file, line)));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figs(rows: &[(&str, Measure, &str)]) -> Figures {
        rows.iter()
            .map(|(a, m, v)| ((a.to_string(), "EMP".to_owned(), *m), (v.parse().unwrap(), format!("{a}.csv"), Some(2))))
            .collect()
    }

    #[test]
    fn new_revised_and_withdrawn_figures_and_an_equal_one_that_is_not_a_change() {
        let old =
            figs(&[("A", Measure::Value, "10"), ("B", Measure::Value, "5"), ("C", Measure::Completion, "107.50")]);
        let new = figs(&[("A", Measure::Value, "11"), ("C", Measure::Completion, "107.5"), ("D", Measure::Value, "1")]);
        let got: Vec<(String, Kind, Option<String>, Option<String>)> = compare(2021, old, new)
            .into_iter()
            .map(|c| (c.agency, c.kind, c.old.map(|d| d.to_string()), c.new.map(|d| d.to_string())))
            .collect();
        assert_eq!(
            got,
            [
                ("A".to_owned(), Kind::Revised, Some("10".to_owned()), Some("11".to_owned())),
                ("B".to_owned(), Kind::Withdrawn, Some("5".to_owned()), None),
                ("D".to_owned(), Kind::New, None, Some("1".to_owned())),
            ]
        );
    }
}
