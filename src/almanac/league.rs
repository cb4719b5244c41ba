//! The completion league: per year, the agencies ranked by the mean of
//! their printed completion percentages (as a reader of the report would
//! average them), best first; agencies without any completion come last.
//! Ties share a rank.
//!
//! Computed with polars from the metrics Parquet the run wrote: a group-by
//! per year and agency over the printed percentages as the file holds
//! them, so the league is what any reader of the Parquet would compute.

use polars::prelude::*;

use crate::config::AgencyId;
use crate::decimal::{Decimal, Ratio, Rounding};
use crate::model::col as c;

/// Decimals of the league table's mean completion.
pub const DECIMALS: u8 = 2;

/// One agency's line in one year's league.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeagueRow {
    pub rank: usize,
    pub agency: AgencyId,
    pub indicators: u32,
    pub with_target: u32,
    pub met: u32,
    pub mean_completion: Option<Decimal>,
}

fn compute_error(what: String) -> PolarsError {
    PolarsError::ComputeError(what.into())
}

/// Per year, in year order, the league of the agencies in `metrics` (the
/// metrics table's `year`, `agency`, `target`, `met` and
/// `completion_pct`), the mean rounded to [`DECIMALS`] by `rule`; `agency`
/// finds an agency's id by its code.
pub fn rank(
    metrics: LazyFrame,
    agency: impl Fn(&str) -> Option<AgencyId>,
    rule: Rounding,
) -> Result<Vec<(i32, Vec<LeagueRow>)>, PolarsError> {
    let rows = rows(metrics.with_column(lit(0u32).cast(DataType::UInt32).alias(PART)), agency, rule)?;
    let mut out: Vec<(i32, Vec<LeagueRow>)> = Vec::new();
    for (year, _, row) in rows {
        match out.last_mut() {
            Some((y, rows)) if *y == year => rows.push(row),
            _ => out.push((year, vec![row])),
        }
    }
    for (_, rows) in &mut out {
        ranked(rows);
    }
    Ok(out)
}

/// The column of a frame that says which part file a row came from.
pub const PART: &str = "part";

/// Each agency's line in each year of `metrics` (as [`rank`] takes it, and
/// a `part` column: the agency's part file, the same on each of its rows),
/// by year and agency code, not yet ranked: an agency lives in one part,
/// so the lines of the parts of a year, put together, are the year's.
pub fn rows(
    metrics: LazyFrame,
    agency: impl Fn(&str) -> Option<AgencyId>,
    rule: Rounding,
) -> Result<Vec<(i32, u32, LeagueRow)>, PolarsError> {
    let grouped = metrics
        .group_by([col("year"), col(c::AGENCY)])
        .agg([
            col(PART).first().alias(PART),
            len().cast(DataType::UInt32).alias("n_indicators"),
            col(c::TARGET).is_not_null().cast(DataType::UInt32).sum().alias("n_with_target"),
            col(c::MET).cast(DataType::UInt32).sum().alias("n_met"),
            col(c::COMPLETION_PCT).sum().alias("completion_sum"),
            col(c::COMPLETION_PCT).count().cast(DataType::UInt32).alias("n_completion"),
        ])
        .sort(["year", c::AGENCY], SortMultipleOptions::default())
        .collect()?;
    let years = grouped.column("year")?.i32()?;
    let agencies = grouped.column(c::AGENCY)?.str()?;
    let n_ind = grouped.column("n_indicators")?.u32()?;
    let n_tgt = grouped.column("n_with_target")?.u32()?;
    let n_met = grouped.column("n_met")?.u32()?;
    let (sums, scale) = super::mantissas(&grouped, "completion_sum")?;
    let counts = grouped.column("n_completion")?.u32()?;
    let parts = grouped.column(PART)?.u32()?;
    // Group keys and counts are never null; a null would be polars' bug,
    // and is reported rather than read as 0.
    let present =
        |what: &str, v: Option<u32>| v.ok_or_else(|| compute_error(format!("league: null {what} in a group")));

    let mut out = Vec::with_capacity(sums.len());
    for (i, sum) in sums.into_iter().enumerate() {
        let year = years.get(i).ok_or_else(|| compute_error("league: null year".to_owned()))?;
        let code = agencies.get(i).ok_or_else(|| compute_error("league: null agency".to_owned()))?;
        let id =
            agency(code).ok_or_else(|| compute_error(format!("league: agency `{code}` is not in the register")))?;
        let n = present("n_completion", counts.get(i))?;
        let mean = (n > 0)
            .then_some(sum)
            .flatten()
            .and_then(|s| Ratio::new(Decimal::new(s, scale), Decimal::new(i128::from(n), 0)))
            .and_then(|r| r.round(DECIMALS, rule));
        let row = LeagueRow {
            rank: 0,
            agency: id,
            indicators: present("n_indicators", n_ind.get(i))?,
            with_target: present("n_with_target", n_tgt.get(i))?,
            met: present("n_met", n_met.get(i))?,
            mean_completion: mean,
        };
        out.push((year, present(PART, parts.get(i))?, row));
    }
    Ok(out)
}

/// Ranks one year's lines: best mean first, agencies without one last;
/// ties share a rank and are listed by code.
pub fn ranked(rows: &mut [LeagueRow]) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A metrics row as the Parquet holds it: (year, agency, target sent,
    /// met, completion at scale 1).
    type Row<'a> = (i32, &'a str, bool, Option<bool>, Option<i128>);

    fn metrics(rows: &[Row<'_>]) -> LazyFrame {
        let completion = Int128Chunked::from_iter_options("completion_pct".into(), rows.iter().map(|r| r.4))
            .into_decimal_unchecked(38, 1)
            .into_series();
        let target = Int128Chunked::from_iter_options("target".into(), rows.iter().map(|r| r.2.then_some(1)))
            .into_decimal_unchecked(38, 20)
            .into_series();
        df![
            "year" => rows.iter().map(|r| r.0).collect::<Vec<i32>>(),
            "agency" => rows.iter().map(|r| r.1).collect::<Vec<&str>>(),
            "met" => rows.iter().map(|r| r.3).collect::<Vec<Option<bool>>>(),
        ]
        .unwrap()
        .hstack(&[completion.into(), target.into()])
        .unwrap()
        .lazy()
    }

    fn id(code: &str) -> Option<AgencyId> {
        code.strip_prefix('A').and_then(|n| n.parse().ok()).map(AgencyId)
    }

    #[test]
    fn agencies_rank_by_mean_completion_ties_share_a_rank_and_none_come_last() {
        // 107.5 and 110.0 → 108.75; 107.5 alone; 100.0 and 115.0 → 107.5
        // again; one agency without any completion.
        let m = metrics(&[
            (2021, "A0", true, Some(true), Some(1075)),
            (2021, "A0", true, Some(true), Some(1100)),
            (2021, "A1", true, Some(true), Some(1075)),
            (2021, "A2", false, None, None),
            (2021, "A3", true, Some(true), Some(1000)),
            (2021, "A3", true, Some(true), Some(1150)),
            (2021, "A3", false, None, None),
            (2022, "A0", true, Some(false), Some(999)),
        ]);
        let years = rank(m, id, Rounding::HalfUp).unwrap();
        assert_eq!(years.len(), 2);
        let (year, rows) = &years[0];
        assert_eq!(*year, 2021);
        let shown: Vec<(usize, u32, u32, u32, u32, Option<String>)> = rows
            .iter()
            .map(|r| (r.rank, r.agency.0, r.indicators, r.with_target, r.met, r.mean_completion.map(|d| d.to_string())))
            .collect();
        assert_eq!(
            shown,
            [
                (1, 0, 2, 2, 2, Some("108.75".to_owned())),
                (2, 1, 1, 1, 1, Some("107.50".to_owned())),
                (2, 3, 3, 2, 2, Some("107.50".to_owned())),
                (4, 2, 1, 0, 0, None),
            ]
        );
        assert_eq!(years[1].1[0].mean_completion.map(|d| d.to_string()), Some("99.90".to_owned()));
        assert_eq!(years[1].1[0].met, 0);
    }

    #[test]
    fn an_agency_not_in_the_register_is_an_error_not_a_row() {
        let m = metrics(&[(2021, "X9", true, Some(true), Some(1075))]);
        let e = rank(m, id, Rounding::HalfUp).unwrap_err().to_string();
        assert!(e.contains("`X9` is not in the register"), "{e}");
    }

    #[test]
    fn no_metrics_no_league() {
        assert!(rank(metrics(&[]), id, Rounding::HalfUp).unwrap().is_empty());
    }
}
