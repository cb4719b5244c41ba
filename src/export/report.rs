//! `report.html`: one self-contained page per run for the people who read
//! the figures: what the run read, each year's completion against target
//! (bars), each indicator's trend across the years (lines), the league,
//! the quarantine by file and reason, and the claims that do not match
//! with their diagnosis. Chinese, with English subtitles.
//!
//! No script, no network: charts are inline SVG, styles inline. Pure: it
//! renders what it is given into a string, with no time in it, so a rerun
//! writes the same bytes. Every list is bounded, so the page stays a size
//! a browser opens whatever the input.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::aggregate::{Basis, Scope};
use crate::almanac::{Almanac, Completion};
use crate::config::{Catalog, Register};
use crate::decimal::Decimal;
use crate::export::Manifest;
use crate::reject::{Code, Issue};

/// Rows shown of a long list (files, league, quarantine, claims); the
/// rest are counted.
const SHOWN: usize = 50;

/// One file's quarantined rows by reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileIssues {
    pub file: String,
    pub total: u64,
    pub by_code: BTreeMap<Code, u64>,
}

/// Each file's quarantined rows by reason, most first.
pub fn quarantine_by_file(rejected: &[Issue], files: &[crate::normalize::FileReport]) -> Vec<FileIssues> {
    let mut by_file: BTreeMap<u32, BTreeMap<Code, u64>> = BTreeMap::new();
    for i in rejected {
        *by_file.entry(i.file.0).or_default().entry(i.code).or_default() += 1;
    }
    let mut out: Vec<FileIssues> = by_file
        .into_iter()
        .map(|(f, by_code)| FileIssues { file: files[f as usize].path.clone(), total: by_code.values().sum(), by_code })
        .collect();
    out.sort_by(|a, b| b.total.cmp(&a.total).then(a.file.cmp(&b.file)));
    out
}

/// A claim that does not match, as `summary/<year>/claims.csv` has it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mismatch {
    pub year: String,
    pub agency: String,
    pub indicator: String,
    pub claim: String,
    pub claimed: String,
    pub computed: String,
    pub diagnosis: String,
    pub detail_zh: String,
    pub file: String,
    pub line: String,
}

/// The claims that do not match: the count per diagnosis (by its Chinese
/// name) and the first [`SHOWN`] in bucket order.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mismatches {
    pub by_diagnosis: BTreeMap<String, u64>,
    pub first: Vec<Mismatch>,
}

impl Mismatches {
    /// Counts `m` and keeps it if fewer than [`SHOWN`] are kept.
    pub fn add(&mut self, m: Mismatch) {
        *self.by_diagnosis.entry(m.diagnosis.clone()).or_default() += 1;
        if self.first.len() < SHOWN {
            self.first.push(m);
        }
    }

    /// Takes in a later bucket's.
    pub fn merge(&mut self, other: Mismatches) {
        for (d, n) in other.by_diagnosis {
            *self.by_diagnosis.entry(d).or_default() += n;
        }
        let room = SHOWN.saturating_sub(self.first.len());
        self.first.extend(other.first.into_iter().take(room));
    }
}

/// What the page shows.
pub struct Page<'a> {
    pub catalog: &'a Catalog,
    pub register: &'a Register,
    pub almanac: &'a Almanac,
    pub manifest: &'a Manifest,
    pub quarantine: &'a [FileIssues],
    pub mismatches: &'a Mismatches,
    /// The review rules, and their failed and explained evaluations.
    pub rules: &'a [crate::config::checks::Rule],
    pub findings: &'a [crate::checks::Evaluation],
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn num(d: Option<Decimal>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn f64_of(d: Decimal) -> f64 {
    d.to_string().parse().unwrap_or(0.0)
}

/// A heading in Chinese with its English subtitle.
fn heading(h: &mut String, id: &str, zh: &str, en: &str) {
    let _ = write!(h, r#"<h2 id="{id}">{zh}<small>{en}</small></h2>"#);
}

const STYLE: &str = "body{font-family:'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei',sans-serif;\
margin:0 auto;max-width:1100px;padding:24px;color:#1d2733;background:#fff}\
h1{font-size:26px;margin:0}h1 small,h2 small,th small{display:block;font-size:12px;color:#6b7785;font-weight:normal}\
h3 small,summary small{font-size:12px;color:#6b7785;font-weight:normal;margin-left:8px}\
h2{font-size:20px;border-bottom:2px solid #1f5fa8;padding-bottom:4px;margin-top:36px}\
h3{font-size:15px;margin:18px 0 6px}table{border-collapse:collapse;font-size:13px;margin:8px 0}\
th,td{border:1px solid #d6dde5;padding:3px 8px;text-align:left}th{background:#eef3f8}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.grid{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #d6dde5;border-radius:6px;padding:8px 14px;min-width:120px}\
.card b{display:block;font-size:22px}.card span{font-size:12px;color:#6b7785}.charts{display:flex;flex-wrap:wrap;gap:10px}\
.chart{border:1px solid #e3e8ee;border-radius:4px;padding:4px}details{margin:6px 0}summary{cursor:pointer;font-weight:bold}\
.muted{color:#6b7785;font-size:12px}";

/// Renders the page.
pub fn render(p: &Page<'_>) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let title = p
        .register
        .iter()
        .find(|(_, a)| a.parent.is_none() && a.has_children)
        .map(|(_, a)| a.name().to_owned())
        .unwrap_or_default();
    let _ = write!(
        h,
        r#"<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">"#
    );
    let _ = write!(h, "<title>{} 统计数据处理报告</title><style>{STYLE}</style></head><body>", esc(&title));
    let years = match (p.almanac.years.first(), p.almanac.years.last()) {
        (Some(a), Some(b)) if a != b => format!("{a}—{b}年"),
        (Some(a), _) => format!("{a}年"),
        _ => String::new(),
    };
    let _ = write!(
        h,
        "<header><h1>{}{years}统计数据处理报告<small>Statistics run report · yearbook {}</small></h1></header>",
        esc(&title),
        esc(&p.manifest.version)
    );
    read_section(&mut h, p);
    completion_section(&mut h, p);
    trend_section(&mut h, p);
    league_section(&mut h, p);
    quarantine_section(&mut h, p);
    checks_section(&mut h, p);
    claims_section(&mut h, p);
    let _ = write!(
        h,
        r#"<footer class="muted"><p>流水线 pipeline SHA-256 {} · 修约规则 rounding {}</p></footer></body></html>"#,
        esc(&p.manifest.pipeline.sha256),
        esc(&p.manifest.rounding.rule)
    );
    h.push('\n');
    h
}

fn card(h: &mut String, value: u64, zh: &str, en: &str) {
    let _ = write!(h, r#"<div class="card"><b>{value}</b>{zh}<span> {en}</span></div>"#);
}

fn read_section(h: &mut String, p: &Page<'_>) {
    let c = &p.manifest.counts;
    heading(h, "read", "本次读取", "What the run read");
    h.push_str(r#"<div class="grid">"#);
    card(h, c.files, "文件", "files");
    card(h, c.rows_read, "读取行", "rows read");
    card(h, c.accepted, "接收", "accepted");
    card(h, c.quarantined, "隔离", "quarantined");
    card(h, c.superseded, "被更正替代", "superseded");
    card(h, c.totals, "汇总数", "totals");
    card(h, c.claims.mismatched, "报告值不一致", "claims not matching");
    if c.checks.evaluated > 0 {
        card(h, c.checks.failed, "审核未通过", "review rules failed");
    }
    h.push_str("</div>");
    if let Some(ch) = &p.manifest.changes {
        // No run id: it holds the previous run's time, which belongs in
        // the manifest only.
        h.push_str("<h3>与上次运行相比<small>Since the previous run (changes.csv)</small></h3><div class=\"grid\">");
        card(h, ch.counts.new, "新增", "new");
        card(h, ch.counts.revised, "修订", "revised");
        card(h, ch.counts.withdrawn, "撤回", "withdrawn");
        h.push_str("</div>");
    }
    let refused: Vec<_> = p.manifest.inputs.iter().filter(|f| f.refused.is_some()).collect();
    if !refused.is_empty() {
        let _ = write!(
            h,
            "<h3>整份拒收的文件<small>Files refused whole</small></h3><table><tr><th>文件</th><th>原因</th></tr>"
        );
        for f in refused.iter().take(SHOWN) {
            let _ = write!(h, "<tr><td>{}</td><td>{}</td></tr>", esc(&f.path), esc(f.refused.as_deref().unwrap_or("")));
        }
        h.push_str("</table>");
        more(h, refused.len());
    }
    let _ = write!(
        h,
        "<h3>各文件<small>Each file</small></h3><table><tr><th>文件<small>file</small></th><th>读取行<small>read</small></th>\
         <th>接收<small>accepted</small></th><th>隔离<small>quarantined</small></th><th>被替代<small>superseded</small></th></tr>"
    );
    for f in p.manifest.inputs.iter().take(SHOWN) {
        let _ = write!(
            h,
            r#"<tr><td>{}{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            esc(&f.path),
            f.sheet.as_deref().map(|s| format!(" [{}]", esc(s))).unwrap_or_default(),
            f.rows_read,
            f.accepted,
            f.quarantined,
            f.superseded
        );
    }
    h.push_str("</table>");
    more(h, p.manifest.inputs.len());
}

/// "…and N more" under a list cut at [`SHOWN`].
fn more(h: &mut String, total: usize) {
    if total > SHOWN {
        let _ = write!(h, r#"<p class="muted">另有 {} 项未列出 · {} more not shown</p>"#, total - SHOWN, total - SHOWN);
    }
}

/// Bars of completion against target: each bar to scale, a line at 100 %.
fn completion_bars(h: &mut String, p: &Page<'_>, rows: &[&Completion]) {
    let max = rows.iter().map(|r| f64_of(r.completion)).fold(100.0_f64, f64::max).min(400.0) * 1.1;
    let (label_w, bar_w, row_h) = (190.0, 420.0, 22.0);
    let height = rows.len() as f64 * row_h + 8.0;
    // Room for a reported total's members' sum and difference.
    let notes = if rows.iter().any(|r| r.scope == Some(Scope::Reported)) { 340.0 } else { 0.0 };
    let _ = write!(
        h,
        r#"<svg class="chart" width="{w}" height="{height}" viewBox="0 0 {w} {height}" role="img" xmlns="http://www.w3.org/2000/svg">"#,
        w = label_w + bar_w + 150.0 + notes
    );
    for (i, r) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let v = f64_of(r.completion).max(0.0);
        let w = (v.min(max) / max * bar_w).max(1.0);
        let met = v >= 100.0;
        let name = p.register.agency(r.agency).name();
        let weight = if r.agency == r.root { "bold" } else { "normal" };
        let _ = write!(
            h,
            r#"<text x="{tx}" y="{ty}" font-size="12" text-anchor="end" font-weight="{weight}">{}</text><rect x="{label_w}" y="{y}" width="{w:.1}" height="{bh}" fill="{fill}"/>"#,
            esc(name),
            tx = label_w - 6.0,
            ty = y + 14.0,
            bh = row_h - 6.0,
            fill = if met { "#2f7d4f" } else { "#c0504d" }
        );
        let comparable = if r.basis == Some(Basis::Comparable) { "（同口径）" } else { "" };
        let mut extra = match (r.growth, r.change) {
            (Some(g), _) => format!("，同比 {}%{comparable}", g),
            (None, Some(c)) => format!("，同比 {} 个百分点{comparable}", c),
            _ => String::new(),
        };
        // A total reported for the parent is the published figure; its
        // members' sum and the part none of them covers stand beside it.
        if let (Some(Scope::Reported), Some(m)) = (r.scope, r.members) {
            let unit = &p.catalog.indicator(r.indicator).base_unit;
            let shown = |d: Decimal| format!("{}{unit}", d.trimmed());
            let rest = r.unallocated.map(|u| format!("，本级及未分配 {}", shown(u))).unwrap_or_default();
            extra.push_str(&format!("（上报数；下级合计 {}{rest}）", shown(m)));
        }
        let _ = write!(
            h,
            r#"<text x="{x:.1}" y="{ty}" font-size="12">{}%{}</text>"#,
            r.completion,
            esc(&extra),
            x = label_w + w + 4.0,
            ty = y + 14.0
        );
    }
    let x100 = label_w + 100.0 / max * bar_w;
    let _ = write!(
        h,
        r##"<line x1="{x100:.1}" x2="{x100:.1}" y1="0" y2="{height}" stroke="#1d2733" stroke-dasharray="4 3"/><text x="{x100:.1}" y="{height}" font-size="10" fill="#1d2733" dx="3" dy="-2">100%</text></svg>"##
    );
}

fn completion_section(h: &mut String, p: &Page<'_>) {
    heading(h, "completion", "目标完成情况", "Completion against target, the city and its members");
    let c = &p.almanac.completions;
    if c.is_empty() {
        h.push_str(r#"<p class="muted">没有目标值 · no targets</p>"#);
        return;
    }
    let latest = c.iter().map(|r| r.year).max();
    let mut years: Vec<i32> = c.iter().map(|r| r.year).collect();
    years.dedup();
    for year in years.iter().rev() {
        let open = if Some(*year) == latest { " open" } else { "" };
        let _ = write!(h, "<details{open}><summary>{year}年</summary>");
        let rows: Vec<&Completion> = c.iter().filter(|r| r.year == *year).collect();
        for group in rows.chunk_by(|a, b| a.root == b.root && a.indicator == b.indicator) {
            let ind = p.catalog.indicator(group[0].indicator);
            let _ = write!(
                h,
                "<h3>{}（{}）<small>{} · {}</small></h3>",
                esc(&ind.name_zh),
                esc(p.register.agency(group[0].root).name()),
                esc(&ind.name_en),
                esc(&ind.code)
            );
            completion_bars(h, p, group);
        }
        h.push_str("</details>");
    }
}

/// A line across the years, with each year's value as a point and the
/// first and last values written.
fn trend_chart(h: &mut String, years: &[i32], values: &[Option<Decimal>]) {
    let (w, ht, pad) = (240.0, 90.0, 18.0);
    let points: Vec<(usize, f64, Decimal)> =
        values.iter().enumerate().filter_map(|(i, v)| v.map(|d| (i, f64_of(d), d))).collect();
    let lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let hi = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let step = if years.len() > 1 { (w - 2.0 * pad) / (years.len() - 1) as f64 } else { 0.0 };
    let xy = |i: usize, v: f64| (pad + i as f64 * step, ht - pad - (v - lo) / span * (ht - 2.0 * pad));
    let _ = write!(h, r#"<svg width="{w}" height="{ht}" viewBox="0 0 {w} {ht}" xmlns="http://www.w3.org/2000/svg">"#);
    let line: Vec<String> = points
        .iter()
        .map(|&(i, v, _)| {
            let (x, y) = xy(i, v);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let _ = write!(h, r##"<polyline points="{}" fill="none" stroke="#1f5fa8" stroke-width="2"/>"##, line.join(" "));
    for &(i, v, _) in &points {
        let (x, y) = xy(i, v);
        let _ = write!(h, r##"<circle cx="{x:.1}" cy="{y:.1}" r="2.5" fill="#1f5fa8"/>"##);
    }
    for (k, anchor) in [(0, "start"), (points.len().saturating_sub(1), "end")] {
        if let Some(&(i, v, d)) = points.get(k) {
            let (x, y) = xy(i, v);
            let ty = if y < 30.0 { y + 14.0 } else { y - 6.0 };
            let _ = write!(h, r#"<text x="{x:.1}" y="{ty:.1}" font-size="10" text-anchor="{anchor}">{d}</text>"#);
        }
    }
    let (first, last) = (years.first().copied().unwrap_or_default(), years.last().copied().unwrap_or_default());
    let _ = write!(
        h,
        r##"<text x="{pad}" y="{ht}" font-size="9" fill="#6b7785" dy="-3">{first}</text><text x="{x}" y="{ht}" font-size="9" fill="#6b7785" dy="-3" text-anchor="end">{last}</text></svg>"##,
        x = w - pad
    );
}

fn trend_section(h: &mut String, p: &Page<'_>) {
    heading(h, "trends", "主要指标趋势", "Each indicator across the years");
    let a = p.almanac;
    for table in a.parents.iter().filter(|t| p.register.agency(t.parent).parent.is_none()) {
        let _ = write!(
            h,
            "<h3>{}<small>{}</small></h3><div class=\"charts\">",
            esc(p.register.agency(table.parent).name()),
            esc(&p.register.agency(table.parent).code)
        );
        for r in table.rows.iter().filter(|r| r.values.iter().flatten().count() >= 2) {
            let ind = p.catalog.indicator(r.indicator);
            let _ = write!(
                h,
                r#"<div class="chart"><div>{}（{}）</div><div class="muted">{}</div>"#,
                esc(&ind.name_zh),
                esc(&ind.base_unit),
                esc(&ind.name_en)
            );
            trend_chart(h, &a.years, &r.values);
            h.push_str("</div>");
        }
        h.push_str("</div>");
    }
}

fn league_section(h: &mut String, p: &Page<'_>) {
    heading(h, "league", "目标完成情况排名", "League: mean completion per agency");
    let Some((year, rows)) =
        p.almanac.league.iter().rev().find(|(_, rows)| rows.iter().any(|r| r.mean_completion.is_some()))
    else {
        h.push_str(r#"<p class="muted">没有完成率 · no completions</p>"#);
        return;
    };
    let _ = write!(
        h,
        "<h3>{year}年</h3><table><tr><th>名次<small>rank</small></th><th>单位<small>agency</small></th><th>指标数<small>indicators</small></th>\
         <th>有目标<small>with target</small></th><th>完成<small>met</small></th><th>平均完成率(%)<small>mean completion</small></th></tr>"
    );
    for r in rows.iter().take(SHOWN) {
        let _ = write!(
            h,
            r#"<tr><td class="n">{}</td><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            r.rank,
            esc(p.register.agency(r.agency).name()),
            r.indicators,
            r.with_target,
            r.met,
            num(r.mean_completion)
        );
    }
    h.push_str("</table>");
    more(h, rows.len());
}

fn quarantine_section(h: &mut String, p: &Page<'_>) {
    heading(h, "quarantine", "隔离的行", "Rows quarantined, by reason and by file");
    let codes = &p.manifest.counts.quarantine_codes;
    if codes.is_empty() {
        h.push_str(r#"<p class="muted">没有隔离的行 · nothing quarantined</p>"#);
        return;
    }
    h.push_str("<table><tr><th>原因<small>reason</small></th><th>代码<small>code</small></th><th>行数<small>rows</small></th></tr>");
    for (code, n) in codes {
        let zh = Code::ALL.iter().find(|c| c.as_str() == code).map(|c| c.zh()).unwrap_or("");
        let _ = write!(h, r#"<tr><td>{}</td><td>{}</td><td class="n">{n}</td></tr>"#, esc(zh), esc(code));
    }
    h.push_str("</table><table><tr><th>文件<small>file</small></th><th>行数<small>rows</small></th><th>原因<small>reasons</small></th></tr>");
    for f in p.quarantine.iter().take(SHOWN) {
        let reasons: Vec<String> = f.by_code.iter().map(|(c, n)| format!("{} {n}", c.zh())).collect();
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td class="n">{}</td><td>{}</td></tr>"#,
            esc(&f.file),
            f.total,
            esc(&reasons.join("；"))
        );
    }
    h.push_str("</table>");
    more(h, p.quarantine.len());
}

/// The review rules' findings, the worst first: error rules that failed
/// (their figures quarantined), then warnings no note explains, then the
/// explained ones; by rule with its counts, then each finding.
fn checks_section(h: &mut String, p: &Page<'_>) {
    use crate::checks::Outcome;
    use crate::config::checks::Severity;
    if p.rules.is_empty() {
        return;
    }
    let c = &p.manifest.counts.checks;
    heading(h, "checks", "审核结果", "Review rules (审核公式): what failed, worst first");
    let _ = write!(
        h,
        r#"<p>{} 次审核：通过 {}，未通过 {}（隔离 {} 行），已说明 {}，未评估 {} · {} evaluations: {} passed, {} failed ({} rows quarantined), {} explained, {} not evaluated</p>"#,
        c.evaluated,
        c.passed,
        c.failed,
        c.quarantined_rows,
        c.explained,
        c.not_evaluated,
        c.evaluated,
        c.passed,
        c.failed,
        c.quarantined_rows,
        c.explained,
        c.not_evaluated
    );
    if p.findings.is_empty() {
        h.push_str(r#"<p class="muted">全部通过 · every rule evaluated holds</p>"#);
        return;
    }
    let rank = |e: &crate::checks::Evaluation| match (p.rules[e.rule as usize].severity, e.outcome) {
        (Severity::Error, _) => 0,
        (_, Outcome::Fail) => 1,
        _ => 2,
    };
    let mut rows: Vec<&crate::checks::Evaluation> = p.findings.iter().collect();
    let code = |e: &crate::checks::Evaluation| p.register.agency(e.key.0).code.as_str();
    rows.sort_by(|a, b| (rank(a), a.rule, code(a), a.key.1).cmp(&(rank(b), b.rule, code(b), b.key.1)));
    h.push_str(
        "<table><tr><th>审核公式<small>rule</small></th><th>性质<small>severity</small></th><th>单位<small>agency</small></th>\
         <th>年度<small>year</small></th><th>结果<small>outcome</small></th><th>左侧 比较 右侧<small>left, right</small></th>\
         <th>说明<small>explanation</small></th></tr>",
    );
    for e in rows.iter().take(SHOWN) {
        let rule = &p.rules[e.rule as usize];
        let sides = match (&e.left, e.op, &e.right) {
            (Some(l), Some(op), Some(r)) => format!("{} {} {}", l.text(), op.symbol(), r.text()),
            _ => String::new(),
        };
        let _ = write!(
            h,
            r#"<tr><td>{} {}<small>{}</small></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="n">{}</td><td>{}</td></tr>"#,
            esc(&rule.id),
            esc(&rule.name_zh),
            esc(&rule.expression),
            rule.severity.zh(),
            esc(p.register.agency(e.key.0).name()),
            e.key.1,
            e.outcome.zh(),
            esc(&sides),
            esc(e.note.as_deref().unwrap_or("")),
        );
    }
    h.push_str("</table>");
    more(h, rows.len());
}

fn claims_section(h: &mut String, p: &Page<'_>) {
    heading(h, "claims", "报告值与计算值不一致", "Claims that do not match, with their diagnosis");
    let m = p.mismatches;
    if m.by_diagnosis.is_empty() {
        h.push_str(r#"<p class="muted">报告值全部一致 · every claim matches</p>"#);
        return;
    }
    h.push_str("<table><tr><th>诊断<small>diagnosis</small></th><th>条数<small>claims</small></th></tr>");
    for (d, n) in &m.by_diagnosis {
        let _ = write!(h, r#"<tr><td>{}</td><td class="n">{n}</td></tr>"#, esc(d));
    }
    h.push_str(
        "</table><table><tr><th>年度</th><th>单位</th><th>指标</th><th>报告项目</th><th>报告值</th><th>计算值</th>\
         <th>诊断</th><th>说明</th><th>来源</th></tr>",
    );
    for r in &m.first {
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="n">{}</td><td class="n">{}</td><td>{}</td><td>{}</td><td>{}:{}</td></tr>"#,
            esc(&r.year),
            esc(&r.agency),
            esc(&r.indicator),
            esc(&r.claim),
            esc(&r.claimed),
            esc(&r.computed),
            esc(&r.diagnosis),
            esc(&r.detail_zh),
            esc(&r.file),
            esc(&r.line)
        );
    }
    h.push_str("</table>");
    more(h, m.by_diagnosis.values().sum::<u64>() as usize);
}
