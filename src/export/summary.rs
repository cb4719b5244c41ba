//! Summary CSVs for people, one folder per year: each agency's indicators
//! with completion and growth, the totals, and a completion league table.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use rustc_hash::FxHashMap;

use super::csv_out::{CsvError, CsvFile, RowBuf, encode_cells, text};
use super::hashed::Written;
use super::tables::Tables;
use crate::aggregate::Total;
use crate::config::AgencyId;
use crate::decimal::{Decimal, DecimalText, Ratio};
use crate::metrics::Metric;
use crate::model::{NullReason, Observation, Outcome};

#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error(transparent)]
    Csv(#[from] CsvError),
    #[error("league table: {0}")]
    Polars(#[from] PolarsError),
}

fn num(d: Option<Decimal>) -> DecimalText {
    d.map(|d| d.text().trimmed()).unwrap_or_default()
}

fn pct(o: &Outcome) -> DecimalText {
    o.as_ref().map(|f| f.rounded.text()).unwrap_or_default()
}

fn yes_no(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "是",
        Some(false) => "否",
        None => "",
    }
}

/// Why a printed percentage is empty, for the 说明 column, written into
/// `out` (cleared first).
fn reasons(out: &mut String, parts: &[(&str, &Outcome)]) {
    let skip = [NullReason::RateUsesChange, NullReason::NotARate];
    out.clear();
    for (name, o) in parts {
        if let Err(r) = o
            && !skip.contains(r)
        {
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(name);
            out.push_str(": ");
            out.push_str(r.as_str());
        }
    }
}

const INDICATORS_HEADER: [&str; 19] = [
    "单位代码",
    "单位名称",
    "指标代码",
    "指标名称",
    "计量单位",
    "实际值",
    "目标值",
    "完成率(%)",
    "是否完成",
    "上年值",
    "同比增长(%)",
    "同比变化(百分点)",
    "报告完成率",
    "报告完成率是否一致",
    "报告增长",
    "报告增长是否一致",
    "说明",
    "来源文件",
    "行号",
];

const TOTALS_HEADER: [&str; 16] = [
    "汇总单位代码",
    "汇总单位名称",
    "指标代码",
    "指标名称",
    "计量单位",
    "汇总方式",
    "合计值",
    "目标值",
    "完成率(%)",
    "是否完成",
    "上年值",
    "同比增长(%)",
    "同比变化(百分点)",
    "参与单位数",
    "缺报单位数",
    "缺报单位",
];

const LEAGUE_HEADER: [&str; 7] =
    ["名次", "单位代码", "单位名称", "指标数", "有目标的指标数", "完成目标数", "平均完成率(%)"];

/// Decimals of the league table's mean completion.
const LEAGUE_DECIMALS: u8 = 2;

/// Encodes rows of `summary/<year>/indicators.csv` (no header), for
/// [`Summary::append_indicators`].
pub fn indicator_rows(t: &Tables<'_>, rows: &[(&Observation, &Metric)]) -> Vec<u8> {
    let p = t.pipeline;
    // The text cells repeat on every row of an agency, an indicator or a
    // file: encoded once each.
    let mut agencies = FxHashMap::default();
    let mut indicators = FxHashMap::default();
    let mut files = FxHashMap::default();
    let (mut why, mut line) = (String::new(), itoa::Buffer::new());
    // Rows run to about 200 bytes.
    let mut out = RowBuf::with_capacity(rows.len() * 200);
    for (o, m) in rows {
        let ag = agencies.entry(o.key.agency).or_insert_with(|| {
            let ag = p.register.agency(o.key.agency);
            encode_cells(&[&ag.code, &ag.name_zh])
        });
        out.encoded(ag);
        let ind = indicators.entry(o.key.indicator).or_insert_with(|| {
            let ind = p.catalog.indicator(o.key.indicator);
            encode_cells(&[&ind.code, &ind.name_zh, &ind.base_unit])
        });
        out.encoded(ind);
        out.plain(num(o.value));
        out.plain(num(o.target));
        out.plain(pct(&m.completion));
        out.plain(yes_no(m.met));
        out.plain(num(m.previous.ok()));
        out.plain(pct(&m.growth));
        out.plain(pct(&m.change));
        out.plain(num(o.claimed_completion));
        out.plain(yes_no(m.completion_claim_ok));
        out.plain(num(o.claimed_growth));
        out.plain(yes_no(m.growth_claim_ok));
        reasons(&mut why, &[("completion", &m.completion), ("growth", &m.growth), ("change", &m.change)]);
        out.plain(&why);
        out.encoded(files.entry(o.origin.file).or_insert_with(|| encode_cells(&[t.source_file(&o.origin)])));
        out.plain(line.format(o.origin.line));
        out.end_row();
    }
    out.into_bytes()
}

/// The summary CSVs of a run, written as the buckets come.
pub struct Summary {
    dir: PathBuf,
    indicators: BTreeMap<i32, CsvFile>,
    claims: BTreeMap<i32, CsvFile>,
    /// Per bucket, the league counts of its agencies (agencies never span
    /// buckets, so the groups are final).
    league: Vec<DataFrame>,
}

impl Summary {
    pub fn new(dir: &Path) -> Self {
        Summary { dir: dir.join("summary"), indicators: BTreeMap::new(), claims: BTreeMap::new(), league: Vec::new() }
    }

    /// Appends rows of one year, encoded by [`indicator_rows`], to
    /// `summary/<year>/indicators.csv`.
    pub fn append_indicators(&mut self, year: i32, bytes: &[u8], rows: u64) -> Result<(), SummaryError> {
        Ok(append(&mut self.indicators, &self.dir, year, "indicators.csv", &INDICATORS_HEADER, bytes, rows)?)
    }

    /// Appends one year's mismatched claims to `summary/<year>/claims.csv`.
    pub fn append_claims(&mut self, year: i32, bytes: &[u8], rows: u64) -> Result<(), SummaryError> {
        Ok(append(&mut self.claims, &self.dir, year, "claims.csv", &super::claims::SUMMARY_HEADER, bytes, rows)?)
    }

    /// Adds one bucket's league counts (see [`league_counts`]).
    pub fn add_league(&mut self, counts: DataFrame) {
        self.league.push(counts);
    }

    /// Writes the totals and league CSVs and closes every file.
    pub fn finish(self, t: &Tables<'_>, totals: &[&Total]) -> Result<Vec<Written>, SummaryError> {
        let p = t.pipeline;
        let Summary { dir, indicators, claims, league: frames } = self;
        let mut written = Vec::new();
        for (_, f) in indicators.into_iter().chain(claims) {
            written.push(f.finish()?);
        }
        for chunk in totals.chunk_by(|a, b| a.key.year == b.key.year) {
            let year = chunk[0].key.year;
            let mut f = CsvFile::create(&dir.join(year.to_string()).join("totals.csv"), &TOTALS_HEADER)?;
            for t in chunk {
                let ag = p.register.agency(t.key.agency);
                let ind = p.catalog.indicator(t.key.indicator);
                let missing: Vec<&str> = t.missing.iter().map(|&a| p.register.agency(a).code.as_str()).collect();
                f.row([
                    text(&ag.code).as_ref(),
                    &text(&ag.name_zh),
                    &text(&ind.code),
                    &text(&ind.name_zh),
                    &text(&ind.base_unit),
                    t.aggregation.name(),
                    &num(t.value),
                    &num(t.target.ok()),
                    &pct(&t.completion),
                    yes_no(t.met),
                    &num(t.previous.ok()),
                    &pct(&t.growth),
                    &pct(&t.change),
                    &t.contributors.len().to_string(),
                    &t.missing.len().to_string(),
                    &text(&missing.join(" ")),
                ])?;
            }
            written.push(f.finish()?);
        }
        for (year, rows) in league(t, frames)? {
            let mut f = CsvFile::create(&dir.join(year.to_string()).join("league.csv"), &LEAGUE_HEADER)?;
            for r in rows {
                let ag = p.register.agency(r.agency);
                f.row([
                    r.rank.to_string().as_str(),
                    &text(&ag.code),
                    &text(&ag.name_zh),
                    &r.n_indicators.to_string(),
                    &r.n_with_target.to_string(),
                    &r.n_met.to_string(),
                    &r.mean_completion.map(|d| d.to_string()).unwrap_or_default(),
                ])?;
            }
            written.push(f.finish()?);
        }
        Ok(written)
    }
}

/// Appends encoded rows to the year's file of `files`, creating it with its
/// header on first use.
fn append(
    files: &mut BTreeMap<i32, CsvFile>,
    dir: &Path,
    year: i32,
    name: &str,
    header: &[&str],
    bytes: &[u8],
    rows: u64,
) -> Result<(), CsvError> {
    let f = match files.entry(year) {
        Entry::Occupied(e) => e.into_mut(),
        Entry::Vacant(e) => e.insert(CsvFile::create(&dir.join(year.to_string()).join(name), header)?),
    };
    f.append(bytes, rows)
}

struct LeagueRow {
    rank: usize,
    agency: AgencyId,
    n_indicators: u32,
    n_with_target: u32,
    n_met: u32,
    mean_completion: Option<Decimal>,
}

/// The league counts of one bucket's agencies: per (year, agency) how many
/// indicators, with a target, met, and the sum and count of the printed
/// completions (as `i128` mantissas at the completion column's scale).
pub fn league_counts(t: &Tables<'_>, current: &[Observation], metrics: &[Metric]) -> Result<DataFrame, PolarsError> {
    let scale = t.scales.completion;
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

/// Per year, agencies ranked by their mean completion (of the printed
/// completion percentages, as a reader of the report would average them),
/// best first; agencies without any completion come last.
fn league(t: &Tables<'_>, frames: Vec<DataFrame>) -> Result<Vec<(i32, Vec<LeagueRow>)>, SummaryError> {
    let scale = t.scales.completion;
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

    let mut out: Vec<(i32, Vec<LeagueRow>)> = Vec::new();
    for i in 0..grouped.height() {
        let year = years.get(i).expect("group key");
        let n = counts.get(i).unwrap_or(0);
        let mean = (n > 0)
            .then(|| sums.get(i))
            .flatten()
            .and_then(|s| Ratio::new(Decimal::new(s, scale), Decimal::new(i128::from(n), 0)))
            .and_then(|r| r.round(LEAGUE_DECIMALS, t.pipeline.rounding));
        let row = LeagueRow {
            rank: 0,
            agency: AgencyId(agencies.get(i).expect("group key")),
            n_indicators: n_ind.get(i).unwrap_or(0),
            n_with_target: n_tgt.get(i).unwrap_or(0),
            n_met: n_met.get(i).unwrap_or(0),
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
