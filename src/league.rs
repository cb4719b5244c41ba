//! The completion league: per year, the agencies ranked by the mean of
//! their printed completion percentages (as a reader of the report would
//! average them), best first; agencies without any completion come last.
//! Ties share a rank. Pure: the summary writes what this computes.
//!
//! Each bucket's counts are grouped with polars as the bucket is computed
//! (agencies never span buckets, so its groups are final); [`rank`] stacks
//! them and ranks each year.

use polars::prelude::*;

use crate::config::AgencyId;
use crate::decimal::{Decimal, Ratio, Rounding};
use crate::metrics::Metric;
use crate::model::Observation;

/// Decimals of the league table's mean completion.
pub const DECIMALS: u8 = 2;

/// One agency's line in one year's league.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeagueRow {
    pub rank: usize,
    pub agency: AgencyId,
    pub indicators: u32,
    pub with_target: u32,
    pub met: u32,
    pub mean_completion: Option<Decimal>,
}

/// One bucket's league counts: per (year, agency) how many indicators, with
/// a target, met, and the sum and count of the printed completions (as
/// `i128` mantissas at `scale`, the completion column's scale).
pub fn counts(current: &[Observation], metrics: &[Metric], scale: u8) -> Result<DataFrame, PolarsError> {
    let completion: Vec<Option<i128>> = metrics
        .iter()
        .map(|m| m.completion.as_ref().ok().and_then(|f| f.rounded.rescale(scale)).map(Decimal::mantissa))
        .collect();
    let frame = df![
        "year" => current.iter().map(|o| o.key.year).collect::<Vec<i32>>(),
        "agency" => current.iter().map(|o| o.key.agency.0).collect::<Vec<u32>>(),
        "has_target" => current.iter().map(|o| o.target.is_some()).collect::<Vec<bool>>(),
        "met" => metrics.iter().map(|m| m.met).collect::<Vec<Option<bool>>>(),
        "completion" => completion,
    ]?;
    frame
        .lazy()
        .group_by([col("year"), col("agency")])
        .agg([
            len().cast(DataType::UInt32).alias("n_indicators"),
            col("has_target").cast(DataType::UInt32).sum().alias("n_with_target"),
            col("met").cast(DataType::UInt32).sum().alias("n_met"),
            col("completion").sum().alias("completion_sum"),
            col("completion").count().cast(DataType::UInt32).alias("n_completion"),
        ])
        .collect()
}

/// Per year, in year order, the league of the agencies in `frames` (the
/// buckets' [`counts`] at completion scale `scale`), the mean rounded to
/// [`DECIMALS`] by `rule`.
pub fn rank(frames: Vec<DataFrame>, scale: u8, rule: Rounding) -> Result<Vec<(i32, Vec<LeagueRow>)>, PolarsError> {
    let mut frames = frames.into_iter();
    let Some(mut grouped) = frames.next() else { return Ok(Vec::new()) };
    for f in frames {
        grouped.vstack_mut(&f)?;
    }
    let grouped = grouped.lazy().sort(["year", "agency"], SortMultipleOptions::default()).collect()?;
    let years = grouped.column("year")?.i32()?;
    let agencies = grouped.column("agency")?.u32()?;
    let n_ind = grouped.column("n_indicators")?.u32()?;
    let n_tgt = grouped.column("n_with_target")?.u32()?;
    let n_met = grouped.column("n_met")?.u32()?;
    let sums = grouped.column("completion_sum")?.i128()?;
    let counts = grouped.column("n_completion")?.u32()?;
    // Group keys and counts are never null; a null would be polars' bug,
    // and is reported rather than read as 0.
    let present = |what: &str, v: Option<u32>| {
        v.ok_or_else(|| PolarsError::ComputeError(format!("league: null {what} in a group").into()))
    };

    let mut out: Vec<(i32, Vec<LeagueRow>)> = Vec::new();
    for i in 0..grouped.height() {
        let year = years.get(i).ok_or_else(|| PolarsError::ComputeError("league: null year".into()))?;
        let n = present("n_completion", counts.get(i))?;
        let mean = (n > 0)
            .then(|| sums.get(i))
            .flatten()
            .and_then(|s| Ratio::new(Decimal::new(s, scale), Decimal::new(i128::from(n), 0)))
            .and_then(|r| r.round(DECIMALS, rule));
        let row = LeagueRow {
            rank: 0,
            agency: AgencyId(present("agency", agencies.get(i))?),
            indicators: present("n_indicators", n_ind.get(i))?,
            with_target: present("n_with_target", n_tgt.get(i))?,
            met: present("n_met", n_met.get(i))?,
            mean_completion: mean,
        };
        match out.last_mut() {
            Some((y, rows)) if *y == year => rows.push(row),
            _ => out.push((year, vec![row])),
        }
    }
    for (_, rows) in &mut out {
        // Best mean first, agencies without one last; ties by code.
        rows.sort_by(|a, b| {
            b.mean_completion
                .is_some()
                .cmp(&a.mean_completion.is_some())
                .then(b.mean_completion.cmp(&a.mean_completion))
                .then(a.agency.cmp(&b.agency))
        });
        let mut rank = 0;
        for i in 0..rows.len() {
            if i == 0 || rows[i].mean_completion != rows[i - 1].mean_completion {
                rank = i + 1;
            }
            rows[i].rank = rank;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One bucket's counts as [`counts`] groups them.
    fn frame(rows: &[(i32, u32, u32, Option<i128>, u32)]) -> DataFrame {
        df![
            "year" => rows.iter().map(|r| r.0).collect::<Vec<i32>>(),
            "agency" => rows.iter().map(|r| r.1).collect::<Vec<u32>>(),
            "n_indicators" => rows.iter().map(|r| r.2).collect::<Vec<u32>>(),
            "n_with_target" => rows.iter().map(|r| r.2).collect::<Vec<u32>>(),
            "n_met" => rows.iter().map(|r| r.2 / 2).collect::<Vec<u32>>(),
            "completion_sum" => rows.iter().map(|r| r.3).collect::<Vec<Option<i128>>>(),
            "n_completion" => rows.iter().map(|r| r.4).collect::<Vec<u32>>(),
        ]
        .unwrap()
    }

    #[test]
    fn agencies_rank_by_mean_completion_ties_share_a_rank_and_none_come_last() {
        // At completion scale 1: 107.5 and 110.0 → 108.75; 107.5 alone;
        // 215.0 over two → 107.5 again; one without any completion.
        let frames = vec![
            frame(&[(2021, 0, 2, Some(2175), 2), (2021, 1, 1, Some(1075), 1)]),
            frame(&[(2021, 2, 3, None, 0), (2021, 3, 2, Some(2150), 2), (2022, 0, 1, Some(999), 1)]),
        ];
        let years = rank(frames, 1, Rounding::HalfUp).unwrap();
        assert_eq!(years.len(), 2);
        let (year, rows) = &years[0];
        assert_eq!(*year, 2021);
        let shown: Vec<(usize, u32, Option<String>)> =
            rows.iter().map(|r| (r.rank, r.agency.0, r.mean_completion.map(|d| d.to_string()))).collect();
        assert_eq!(
            shown,
            [
                (1, 0, Some("108.75".to_owned())),
                (2, 1, Some("107.50".to_owned())),
                (2, 3, Some("107.50".to_owned())),
                (4, 2, None),
            ]
        );
        assert_eq!(years[1].1[0].mean_completion.map(|d| d.to_string()), Some("99.90".to_owned()));
    }

    #[test]
    fn no_buckets_no_league() {
        assert!(rank(Vec::new(), 1, Rounding::HalfUp).unwrap().is_empty());
    }
}
