//! The yearbook tables (统计年鉴表), the tables a statistics office prints:
//! for each parent (the city, each district, each group) an indicator ×
//! year table with the latest year's completion and growth beside it; per
//! year the completion league; per year the largest risers and fallers.
//!
//! Computed with polars from the Parquet the run wrote (read back a year
//! at a time by [`frames`]; a pivot, group-bys, top-k sorts on lazy
//! frames), so every figure is one a reader of the Parquet finds there,
//! and each table's size follows the catalog and the register, never the
//! number of rows. In two steps: [`from_metrics`] (each metrics part
//! reduced to its league lines, its top movers and its members'
//! completions, then the year's), which a run does while its totals are
//! written, and [`with_totals`] (the parents' tables). Pure in what it
//! returns: plain values that `export::almanac` and the report format.

mod frames;
pub mod league;

use std::path::PathBuf;

use polars::prelude::*;

use frames::{read_year, scan};

use crate::aggregate::{Basis, Scope};
use crate::config::{AgencyId, Catalog, IndicatorId, Register, YearOnYear};
use crate::decimal::{Decimal, Rounding};
use crate::model::col as c;
use crate::readback::ReadError;
use league::LeagueRow;

/// Why the tables could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AlmanacError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("yearbook tables: {0}")]
    Polars(#[from] PolarsError),
}

/// Risers and fallers kept per year.
pub const MOVERS: u32 = 10;

/// The yearbook tables of a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Almanac {
    /// The years of the totals, in order; the last is the latest.
    pub years: Vec<i32>,
    /// One table per parent with totals, in register order.
    pub parents: Vec<ParentTable>,
    /// Per year, in year order.
    pub league: Vec<(i32, Vec<LeagueRow>)>,
    /// Per year with a growth, in year order.
    pub movers: Vec<YearMovers>,
    /// Each root's and its members' completions, by year, root (register
    /// order), indicator, then the root before its members.
    pub completions: Vec<Completion>,
}

impl Almanac {
    pub fn latest(&self) -> Option<i32> {
        self.years.last().copied()
    }
}

/// One parent's indicators across the years.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ParentTable {
    pub parent: AgencyId,
    /// In catalog order.
    pub rows: Vec<IndicatorYears>,
}

/// One indicator's total in each year ([`Almanac::years`]), in the base
/// unit at the catalog's decimals, and the latest year's printed
/// percentages at the indicator's decimals.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndicatorYears {
    pub indicator: IndicatorId,
    pub values: Vec<Option<Decimal>>,
    pub target: Option<Decimal>,
    pub completion: Option<Decimal>,
    pub growth: Option<Decimal>,
    pub change: Option<Decimal>,
    /// The latest year's scope (口径): whether the total is the figure
    /// reported for the parent, with the members' sum and the difference
    /// beside it, and what its growth compares.
    pub scope: Option<Scope>,
    pub members: Option<Decimal>,
    pub unallocated: Option<Decimal>,
    pub basis: Option<Basis>,
}

/// A printed completion of a root (the city) or one of its members (a
/// district's total, a bureau's own figure), with its growth or change.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Completion {
    pub year: i32,
    pub root: AgencyId,
    pub agency: AgencyId,
    pub indicator: IndicatorId,
    pub completion: Decimal,
    pub growth: Option<Decimal>,
    pub change: Option<Decimal>,
    /// A total's scope: reported or summed, its members' sum and the
    /// difference beside a reported figure, and its growth's basis
    /// (`None` for an agency's own figure).
    pub scope: Option<Scope>,
    pub members: Option<Decimal>,
    pub unallocated: Option<Decimal>,
    pub basis: Option<Basis>,
}

/// The agencies' figures that grew most and fell most in one year.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct YearMovers {
    pub year: i32,
    /// Largest growth first.
    pub risers: Vec<Mover>,
    /// Largest fall first.
    pub fallers: Vec<Mover>,
}

/// One agency's indicator and its growth over the year before.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mover {
    pub agency: AgencyId,
    pub indicator: IndicatorId,
    /// The year before's figure and this year's, as sent (in the base
    /// unit, without trailing zeros), as the per-agency table prints them.
    pub previous: Option<Decimal>,
    pub actual: Option<Decimal>,
    /// In percent, as printed.
    pub growth: Decimal,
}

/// What the tables look codes up in and round by.
pub struct Context<'a> {
    pub catalog: &'a Catalog,
    pub register: &'a Register,
    pub rounding: &'a crate::config::RoundingRules,
}

/// The Parquet parts of each table: `(year, path)`, as
/// [`crate::readback::parts`] lists them; each metrics part also with its
/// path relative to the output and its SHA-256, which key its reduction.
pub struct Parts {
    pub metrics: Vec<(i32, PathBuf, PartKey)>,
    pub totals: Vec<(i32, PathBuf)>,
}

/// A part file by what it holds: its path in the output and its SHA-256.
pub type PartKey = (String, String);

/// What the tables take from one metrics part: its agencies' league lines
/// (unranked), the risers and fallers among them that could be in the
/// year's top [`MOVERS`], and the completions of roots' members. Kept by
/// [`PartKey`] so that a run whose part is the previous run's file takes
/// it instead of reading the part again (`crate::cache`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reduced {
    pub league: Vec<LeagueRow>,
    pub risers: Vec<Mover>,
    pub fallers: Vec<Mover>,
    pub completions: Vec<Completion>,
}

/// The reductions of the metrics parts, by part.
pub type Reductions = std::collections::BTreeMap<PartKey, Reduced>;

/// What the tables take from the metrics alone: every year's league and
/// movers, the members' own completions, and each part's reduction. A
/// run makes them before its totals are written.
pub struct FromMetrics {
    pub league: Vec<(i32, Vec<LeagueRow>)>,
    pub movers: Vec<YearMovers>,
    completions: Vec<Completion>,
    pub reductions: Reductions,
}

/// [`FromMetrics`] from the metrics `parts` (as [`Parts::metrics`]); the
/// reductions of parts found in `known` are taken from there.
pub fn from_metrics(
    parts: &[(i32, PathBuf, PartKey)],
    cx: &Context<'_>,
    known: &Reductions,
) -> Result<FromMetrics, AlmanacError> {
    let members = Members::of(cx.register);
    let (mut league, mut movers, mut completions) = (Vec::new(), Vec::new(), Vec::new());
    let mut reductions = Reductions::new();
    // A year of the metrics at a time, so that memory holds one year's
    // columns (a tenth of the table at the bench's large scale, where all
    // years at once took 1.4 GB more); the year's queries run on it.
    for (year, year_parts) in by_year_keyed(parts) {
        let fresh: Vec<(u32, PathBuf)> = year_parts
            .iter()
            .enumerate()
            .filter(|(_, (_, key))| !known.contains_key(key))
            .map(|(i, (path, _))| (i as u32, path.clone()))
            .collect();
        let mut reduced: Vec<Reduced> =
            year_parts.iter().map(|(_, key)| known.get(key).cloned().unwrap_or_default()).collect();
        if !fresh.is_empty() {
            let metrics = read_year(year, &fresh, &METRICS_COLUMNS)?;
            // Each agency lives in one part: its league line says which,
            // and its completions go with it.
            let mut part_of = std::collections::HashMap::new();
            for (_, part, row) in league::rows(metrics.clone().lazy(), |code| cx.register.get(code), cx.rounding.rule)?
            {
                part_of.insert(row.agency, part as usize);
                reduced[part as usize].league.push(row);
            }
            let part = |a: AgencyId| {
                part_of.get(&a).copied().ok_or_else(|| PolarsError::ComputeError("an agency without a part".into()))
            };
            for (p, m) in top_movers(metrics.clone().lazy(), cx, true)? {
                reduced[p as usize].risers.push(m);
            }
            for (p, m) in top_movers(metrics.clone().lazy(), cx, false)? {
                reduced[p as usize].fallers.push(m);
            }
            for c in members.completions(metrics.lazy(), false, cx)? {
                reduced[part(c.agency)?].completions.push(c);
            }
        }
        let mut year_league = Vec::new();
        let (mut risers, mut fallers) = (Vec::new(), Vec::new());
        for ((_, key), r) in year_parts.iter().zip(reduced) {
            year_league.extend(r.league.iter().cloned());
            risers.extend(r.risers.iter().cloned());
            fallers.extend(r.fallers.iter().cloned());
            completions.extend(r.completions.iter().cloned());
            reductions.insert(key.clone(), r);
        }
        if !year_league.is_empty() {
            league::ranked(&mut year_league);
            league.push((year, year_league));
        }
        let (risers, fallers) = (top(risers, cx, true), top(fallers, cx, false));
        if !risers.is_empty() || !fallers.is_empty() {
            movers.push(YearMovers { year, risers, fallers });
        }
    }
    Ok(FromMetrics { league, movers, completions, reductions })
}

/// The yearbook tables: `metrics`'s, and the parents' tables and
/// completions from the totals `parts`.
pub fn with_totals(metrics: FromMetrics, parts: &[(i32, PathBuf)], cx: &Context<'_>) -> Result<Almanac, AlmanacError> {
    let FromMetrics { league, movers, mut completions, .. } = metrics;
    let totals = scan(parts, &TOTALS_COLUMNS)?;
    let (years, parents) = match totals.clone() {
        Some(totals) => parent_tables(totals, cx)?,
        None => (Vec::new(), Vec::new()),
    };
    if let Some(totals) = totals {
        completions.extend(Members::of(cx.register).completions(totals, true, cx)?);
    }
    completions.sort_by_key(|b| (b.year, b.root, b.indicator, b.agency != b.root, b.agency));
    Ok(Almanac { years, parents, league, movers, completions })
}

/// The metrics parts grouped by year, in year order.
fn by_year_keyed(parts: &[(i32, PathBuf, PartKey)]) -> Vec<(i32, Vec<(PathBuf, PartKey)>)> {
    let mut out: Vec<(i32, Vec<(PathBuf, PartKey)>)> = Vec::new();
    for (year, path, key) in parts {
        let part = (path.clone(), key.clone());
        match out.last_mut() {
            Some((y, list)) if y == year => list.push(part),
            _ => out.push((*year, vec![part])),
        }
    }
    out
}

/// The year's [`MOVERS`] largest growths (`rising`) or falls among
/// `candidates`, in the order [`top_movers`] sorts them.
fn top(mut candidates: Vec<Mover>, cx: &Context<'_>, rising: bool) -> Vec<Mover> {
    let codes = |m: &Mover| (&cx.register.agency(m.agency).code, &cx.catalog.indicator(m.indicator).code);
    candidates.sort_by(|a, b| {
        let growth = if rising { b.growth.cmp(&a.growth) } else { a.growth.cmp(&b.growth) };
        growth.then_with(|| codes(a).cmp(&codes(b)))
    });
    candidates.truncate(MOVERS as usize);
    candidates
}

/// The totals columns the tables read: the key and the value, then what
/// the tables show of the latest year (its target, percentages and scope).
const TOTALS_COLUMNS: [&str; 11] = [
    c::AGENCY,
    c::INDICATOR,
    c::VALUE,
    c::TARGET,
    c::COMPLETION_PCT,
    c::GROWTH_PCT,
    c::CHANGE_PP,
    c::VALUE_BASIS,
    c::MEMBERS_VALUE,
    c::UNALLOCATED,
    c::GROWTH_BASIS,
];

/// The metrics columns the tables read.
const METRICS_COLUMNS: [&str; 9] = [
    c::AGENCY,
    c::INDICATOR,
    c::TARGET,
    c::MET,
    c::COMPLETION_PCT,
    c::GROWTH_PCT,
    c::CHANGE_PP,
    c::PREVIOUS,
    c::ACTUAL,
];

/// Every root of the register's trees and its direct members, whose
/// completions the report charts: a member that is a parent by its total,
/// an agency by its own figure. Their number follows the register.
struct Members<'a> {
    /// (agency code, root code, whether its figure is a total)
    wanted: Vec<(&'a str, &'a str, bool)>,
}

impl<'a> Members<'a> {
    fn of(register: &'a Register) -> Members<'a> {
        let mut wanted = Vec::new();
        for (id, a) in register.iter().filter(|(_, a)| a.parent.is_none() && a.has_children) {
            wanted.push((a.code.as_str(), a.code.as_str(), true));
            for (_, m) in register.iter().filter(|(_, m)| m.parent == Some(id)) {
                wanted.push((m.code.as_str(), a.code.as_str(), m.has_children));
            }
        }
        Members { wanted }
    }

    /// The completions of those of them in `table` (the totals when
    /// `totals`, else the metrics).
    fn completions(&self, table: LazyFrame, totals: bool, cx: &Context<'_>) -> PolarsResult<Vec<Completion>> {
        let picked: Vec<&(&str, &str, bool)> = self.wanted.iter().filter(|w| w.2 == totals).collect();
        if picked.is_empty() {
            return Ok(Vec::new());
        }
        let keys = df![
            c::AGENCY => picked.iter().map(|w| w.0).collect::<Vec<&str>>(),
            "root" => picked.iter().map(|w| w.1).collect::<Vec<&str>>(),
        ]?;
        let df = table
            .filter(col(c::COMPLETION_PCT).is_not_null())
            .join(keys.lazy(), [col(c::AGENCY)], [col(c::AGENCY)], JoinArgs::new(JoinType::Inner))
            .collect()?;
        completion_rows(&df, cx)
    }
}

/// The rows of a frame of completions with their root, as values.
fn completion_rows(df: &DataFrame, cx: &Context<'_>) -> PolarsResult<Vec<Completion>> {
    let register = cx.register;
    let (agencies, roots, indicators) = (codes(df, c::AGENCY)?, codes(df, "root")?, codes(df, c::INDICATOR)?);
    let years = df.column("year")?.i32()?;
    let (completion, growth, change) =
        (decimals(df, c::COMPLETION_PCT)?, decimals(df, c::GROWTH_PCT)?, decimals(df, c::CHANGE_PP)?);
    // Only totals have a scope.
    let scopes = df.column(c::VALUE_BASIS).ok().map(|c| c.str()).transpose()?;
    let bases = df.column(c::GROWTH_BASIS).ok().map(|c| c.str()).transpose()?;
    let members = if scopes.is_some() { Some(decimals(df, c::MEMBERS_VALUE)?) } else { None };
    let unallocated = if scopes.is_some() { Some(decimals(df, c::UNALLOCATED)?) } else { None };
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let (a, r, ind) = (agencies.get(i), roots.get(i), indicators.get(i));
        let agency = a.and_then(|a| register.get(a)).ok_or_else(|| missing("agency", a))?;
        let root = r.and_then(|r| register.get(r)).ok_or_else(|| missing("agency", r))?;
        let indicator = ind.and_then(|i| cx.catalog.get(i)).ok_or_else(|| missing("indicator", ind))?;
        let d = cx.rounding.of(indicator);
        let year = years.get(i).ok_or_else(|| PolarsError::ComputeError("completions: a null year".into()))?;
        let Some(completion) = at(completion[i], d.completion) else { continue };
        out.push(Completion {
            year,
            root,
            agency,
            indicator,
            completion,
            growth: at(growth[i], d.growth),
            change: at(change[i], d.change),
            scope: scopes.and_then(|s| s.get(i)).and_then(Scope::from_name),
            members: members.as_ref().and_then(|m| m[i]),
            unallocated: unallocated.as_ref().and_then(|u| u[i]),
            basis: bases.and_then(|b| b.get(i)).and_then(Basis::from_name),
        });
    }
    Ok(out)
}

/// A decimal column's values as `i128` mantissas, and their scale.
pub fn mantissas(df: &DataFrame, name: &str) -> PolarsResult<(Vec<Option<i128>>, u8)> {
    let s = df.column(name)?.as_materialized_series();
    let scale = match s.dtype() {
        DataType::Decimal(_, scale) => u8::try_from(*scale)
            .map_err(|_| PolarsError::ComputeError(format!("`{name}`: scale {scale} out of range").into()))?,
        other => return Err(PolarsError::SchemaMismatch(format!("`{name}` is {other}, not a decimal").into())),
    };
    let phys = s.to_physical_repr();
    Ok((phys.i128()?.iter().collect(), scale))
}

fn decimals(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<Decimal>>> {
    let (m, scale) = mantissas(df, name)?;
    Ok(m.into_iter().map(|m| m.map(|m| Decimal::new(m, scale))).collect())
}

fn codes<'a>(df: &'a DataFrame, name: &str) -> PolarsResult<&'a StringChunked> {
    df.column(name)?.str()
}

fn missing(what: &str, code: Option<&str>) -> PolarsError {
    PolarsError::ComputeError(format!("yearbook tables: {what} `{}` is not in the schemas", code.unwrap_or("")).into())
}

/// A printed percentage read from its column (at the column's scale) back
/// at the indicator's own decimals, as the people's CSVs print it.
fn at(d: Option<Decimal>, decimals: u8) -> Option<Decimal> {
    d.map(|d| d.rescale(decimals).unwrap_or(d))
}

/// Each part's [`MOVERS`] largest growths (`rising`) or falls, largest
/// first, with the part: growth in percent only, so rates (whose change is
/// in points) are not among them; ties by agency and indicator code. The
/// year's are the largest of all parts' ([`top`]): a row in the year's top
/// is in its own part's.
fn top_movers(metrics: LazyFrame, cx: &Context<'_>, rising: bool) -> PolarsResult<Vec<(u32, Mover)>> {
    let growth = col(c::GROWTH_PCT);
    let sign = if rising { growth.clone().gt(lit(0)) } else { growth.clone().lt(lit(0)) };
    let df = metrics
        .filter(growth.is_not_null().and(sign))
        .sort_by_exprs(
            [col(c::GROWTH_PCT), col(c::AGENCY), col(c::INDICATOR)],
            SortMultipleOptions::default().with_order_descending_multi([rising, false, false]),
        )
        .group_by_stable([col(league::PART)])
        .head(Some(MOVERS as usize))
        .collect()?;
    let parts = df.column(league::PART)?.u32()?;
    let (agencies, indicators) = (codes(&df, c::AGENCY)?, codes(&df, c::INDICATOR)?);
    let (previous, actual, growth) =
        (decimals(&df, c::PREVIOUS)?, decimals(&df, c::ACTUAL)?, decimals(&df, c::GROWTH_PCT)?);
    (0..df.height())
        .map(|i| {
            let a = agencies.get(i);
            let ind = indicators.get(i);
            let agency = a.and_then(|a| cx.register.get(a)).ok_or_else(|| missing("agency", a))?;
            let indicator = ind.and_then(|i| cx.catalog.get(i)).ok_or_else(|| missing("indicator", ind))?;
            let growth = at(growth[i], cx.rounding.of(indicator).growth)
                .ok_or_else(|| PolarsError::ComputeError("movers: a null growth passed the filter".into()))?;
            let sent = |v: Option<Decimal>| v.map(Decimal::trimmed);
            let part = parts.get(i).ok_or_else(|| PolarsError::ComputeError("movers: a null part".into()))?;
            Ok((part, Mover { agency, indicator, previous: sent(previous[i]), actual: sent(actual[i]), growth }))
        })
        .collect()
}

/// The parents' indicator × year tables: the totals pivoted on the year,
/// the latest year's target and percentages joined beside, in register and
/// catalog order.
fn parent_tables(totals: LazyFrame, cx: &Context<'_>) -> PolarsResult<(Vec<i32>, Vec<ParentTable>)> {
    let years_df = totals.clone().select([col("year").unique().sort(SortOptions::default())]).collect()?;
    let years: Vec<i32> = years_df.column("year")?.i32()?.into_no_null_iter().collect();
    let Some(&latest) = years.last() else { return Ok((Vec::new(), Vec::new())) };
    let by_name = |names: &[&str]| Selector::ByName { names: names.iter().map(|&n| n.into()).collect(), strict: true };
    let wide = totals.clone().select([col(c::AGENCY), col(c::INDICATOR), col("year"), col(c::VALUE)]).pivot(
        by_name(&["year"]),
        Arc::new(years_df),
        by_name(&[c::AGENCY, c::INDICATOR]),
        by_name(&[c::VALUE]),
        element().first(),
        false,
        "_".into(),
        polars::frame::PivotColumnNaming::Auto,
    );
    // The latest year's columns: all but the key and the value.
    let latest_cols = &TOTALS_COLUMNS[3..];
    let latest_df = totals.filter(col("year").eq(lit(latest))).select(
        [col(c::AGENCY), col(c::INDICATOR)].into_iter().chain(latest_cols.iter().map(|&n| col(n))).collect::<Vec<_>>(),
    );
    let keys = [col(c::AGENCY), col(c::INDICATOR)];
    let df = wide
        .join(latest_df, keys.clone(), keys, JoinArgs::new(JoinType::Left))
        .sort([c::AGENCY, c::INDICATOR], SortMultipleOptions::default())
        .collect()?;

    let (agencies, indicators) = (codes(&df, c::AGENCY)?, codes(&df, c::INDICATOR)?);
    let by_year = years.iter().map(|y| decimals(&df, &y.to_string())).collect::<PolarsResult<Vec<_>>>()?;
    let target = decimals(&df, c::TARGET)?;
    let (completion, growth, change) =
        (decimals(&df, c::COMPLETION_PCT)?, decimals(&df, c::GROWTH_PCT)?, decimals(&df, c::CHANGE_PP)?);
    let (scopes, bases) = (codes(&df, c::VALUE_BASIS)?, codes(&df, c::GROWTH_BASIS)?);
    let (members, unallocated) = (decimals(&df, c::MEMBERS_VALUE)?, decimals(&df, c::UNALLOCATED)?);
    let mut rows: Vec<(AgencyId, IndicatorYears)> = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let (a, ind) = (agencies.get(i), indicators.get(i));
        let parent = a.and_then(|a| cx.register.get(a)).ok_or_else(|| missing("agency", a))?;
        let indicator = ind.and_then(|i| cx.catalog.get(i)).ok_or_else(|| missing("indicator", ind))?;
        let d = cx.rounding.of(indicator);
        let shown =
            |v: Option<Decimal>| v.map(|v| shown(v, cx.catalog.indicator(indicator).decimals, cx.rounding.rule));
        let rate = cx.catalog.indicator(indicator).kind.year_on_year() == YearOnYear::ChangePp;
        rows.push((
            parent,
            IndicatorYears {
                indicator,
                values: by_year.iter().map(|v| shown(v[i])).collect(),
                target: shown(target[i]),
                completion: at(completion[i], d.completion),
                growth: if rate { None } else { at(growth[i], d.growth) },
                change: if rate { at(change[i], d.change) } else { None },
                scope: scopes.get(i).and_then(Scope::from_name),
                // Beside a reported figure only: a summed one is its members' sum.
                members: shown(members[i]).filter(|_| scopes.get(i) == Some(Scope::Reported.name())),
                unallocated: shown(unallocated[i]),
                basis: bases.get(i).and_then(Basis::from_name),
            },
        ));
    }
    // Codes sort as ids do for the catalog, not always for the register:
    // order by id, the register's order.
    rows.sort_by_key(|(a, r)| (*a, r.indicator));
    let mut parents: Vec<ParentTable> = Vec::new();
    for (parent, row) in rows {
        match parents.last_mut() {
            Some(t) if t.parent == parent => t.rows.push(row),
            _ => parents.push(ParentTable { parent, rows: vec![row] }),
        }
    }
    Ok((years, parents))
}

/// A total as the yearbook tables print it: at the catalog's decimals, by
/// the run's rounding rule (a sum of values typed with more decimals than
/// the catalog prints keeps them in the Parquet).
fn shown(v: Decimal, decimals: u8, rule: Rounding) -> Decimal {
    v.round(decimals, rule).unwrap_or(v)
}
