//! Summary CSVs for people, one folder per year: each agency's indicators
//! with completion and growth, and the totals (the yearbook tables'
//! CSVs are `super::almanac`'s).

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::io::Write;

use rustc_hash::FxHashMap;

use super::csv_out::{CsvEncoding, CsvError, CsvFile, RowBuf, encode_cells, text};
use super::hashed::Written;
use super::tables::Tables;
use crate::aggregate::{Scope, Total};
use crate::config::AgencyId;
use crate::decimal::{Decimal, DecimalText};
use crate::metrics::Metric;
use crate::model::OutDir;
use crate::model::file;
use crate::model::{Observation, Outcome};

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

/// Why a printed percentage is empty, in Chinese, for the 说明 column,
/// written into `out` (cleared first): `完成率：无目标值；同比增长：无上年数据`.
fn reasons(out: &mut String, parts: &[(&str, &Outcome)]) {
    out.clear();
    for (name, o) in parts {
        if let Err(r) = o
            && !r.by_kind()
        {
            if !out.is_empty() {
                out.push('；');
            }
            out.push_str(name);
            out.push('：');
            out.push_str(r.zh());
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

const TOTALS_HEADER: [&str; 24] = [
    "汇总单位代码",
    "汇总单位名称",
    "指标代码",
    "指标名称",
    "计量单位",
    "汇总方式",
    "合计值",
    "口径",
    "上报单位",
    "下级合计",
    "本级及未分配",
    "目标值",
    "完成率(%)",
    "是否完成",
    "本年可比值",
    "上年值",
    "同比增长(%)",
    "同比变化(百分点)",
    "增长口径",
    "未纳入比较单位",
    "参与单位数",
    "缺报单位数",
    "缺报单位",
    "审核发现",
];

/// Encodes rows of `summary/<year>/indicators.csv` (no header), for
/// [`Summary::append_indicators`].
pub fn indicator_rows(t: &Tables<'_>, rows: &[(&Observation, &Metric)]) -> Vec<u8> {
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
            let ag = t.register.agency(o.key.agency);
            encode_cells(&[&ag.code, ag.name()])
        });
        out.encoded(ag);
        let ind = indicators.entry(o.key.indicator).or_insert_with(|| {
            let ind = t.catalog.indicator(o.key.indicator);
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
        reasons(&mut why, &[("完成率", &m.completion), ("同比增长", &m.growth), ("同比变化", &m.change)]);
        out.plain(&why);
        out.encoded(files.entry(o.origin.file).or_insert_with(|| encode_cells(&[t.source_file(&o.origin)])));
        out.plain(line.format(o.origin.line));
        out.end_row();
    }
    out.into_bytes()
}

/// The summary CSVs of a run, written as the buckets come.
pub struct Summary {
    paths: OutDir,
    encoding: CsvEncoding,
    /// The most rows a year's mismatched claims may have to be kept for
    /// people (`summary_max_rows`); past it, `claims.csv` has them all.
    max_rows: u64,
    indicators: BTreeMap<i32, CsvFile>,
    claims: BTreeMap<i32, CsvFile>,
}

impl Summary {
    pub fn new(paths: OutDir, encoding: CsvEncoding, max_rows: u64) -> Self {
        Summary { paths, encoding, max_rows, indicators: BTreeMap::new(), claims: BTreeMap::new() }
    }

    /// Appends rows of one year, encoded by [`indicator_rows`], to
    /// `summary/<year>/indicators.csv`.
    pub fn append_indicators(&mut self, year: i32, bytes: &[u8], rows: u64) -> Result<(), CsvError> {
        let path = self.paths.summary(year, file::INDICATORS);
        append(&mut self.indicators, path, self.encoding, &INDICATORS_HEADER, (year, bytes, rows))
    }

    /// Appends one year's mismatched claims to `summary/<year>/claims.csv`.
    pub fn append_claims(&mut self, year: i32, bytes: &[u8], rows: u64) -> Result<(), CsvError> {
        let path = self.paths.summary(year, file::MISMATCHED_CLAIMS);
        append(&mut self.claims, path, self.encoding, &super::claims::SUMMARY_HEADER, (year, bytes, rows))
    }

    /// Writes the totals CSVs (sorted by year) and closes every file.
    pub fn finish(self, t: &Tables<'_>, totals: &[&Total]) -> Result<Vec<Written>, CsvError> {
        let Summary { paths, encoding, max_rows, indicators, claims } = self;
        let mut written = Vec::new();
        for (_, f) in indicators {
            written.push(f.finish()?);
        }
        for (year, f) in claims {
            let w = f.finish()?;
            if w.rows <= max_rows {
                written.push(w);
            } else {
                // More than a person reads: the file goes, `claims.csv`
                // keeps every claim.
                tracing::info!(year, rows = w.rows, max_rows, "no summary claims.csv: more rows than a person opens");
                std::fs::remove_file(&w.path).map_err(|source| CsvError { path: w.path.clone(), source })?;
            }
        }
        for chunk in totals.chunk_by(|a, b| a.key.year == b.key.year) {
            let mut f = CsvFile::create(&paths.summary(chunk[0].key.year, file::TOTALS), &TOTALS_HEADER, encoding)?;
            totals_rows(&mut f, t, chunk)?;
            written.push(f.finish()?);
        }
        Ok(written)
    }
}

/// The rows of one year's `totals.csv`.
fn totals_rows<W: Write>(f: &mut CsvFile<W>, t: &Tables<'_>, totals: &[&Total]) -> Result<(), CsvError> {
    for total in totals {
        let ag = t.register.agency(total.key.agency);
        let ind = t.catalog.indicator(total.key.indicator);
        let code = |a: AgencyId| t.register.agency(a).code.as_str();
        let missing: Vec<&str> = total.missing.iter().map(|&a| code(a)).collect();
        let not_compared: Vec<&str> = total.not_compared.iter().map(|&a| code(a)).collect();
        let findings = crate::aggregate::findings_text(total, code).map(|(zh, _)| zh).unwrap_or_default();
        f.row([
            text(&ag.code).as_ref(),
            &text(ag.name()),
            &text(&ind.code),
            &text(&ind.name_zh),
            &text(&ind.base_unit),
            total.aggregation.name(),
            &num(total.value),
            total.scope.zh(),
            &text(total.report.map_or("", |r| code(r.by))),
            &num(total.members.filter(|_| total.scope == Scope::Reported)),
            &num(total.unallocated),
            &num(total.target.ok()),
            &pct(&total.completion),
            yes_no(total.met),
            &num(total.compared),
            &num(total.previous.ok()),
            &pct(&total.growth),
            &pct(&total.change),
            total.basis.zh(),
            &text(&not_compared.join(" ")),
            &total.contributors.len().to_string(),
            &total.missing.len().to_string(),
            &text(&missing.join(" ")),
            &text(&findings),
        ])?;
    }
    Ok(())
}

/// Appends encoded rows to the year's file of `files`, creating it at
/// `path` with its header on first use.
fn append(
    files: &mut BTreeMap<i32, CsvFile>,
    path: std::path::PathBuf,
    encoding: CsvEncoding,
    header: &[&str],
    (year, bytes, rows): (i32, &[u8], u64),
) -> Result<(), CsvError> {
    let f = match files.entry(year) {
        Entry::Occupied(e) => e.into_mut(),
        Entry::Vacant(e) => e.insert(CsvFile::create(&path, header, encoding)?),
    };
    f.append(bytes, rows)
}
