//! `claims.csv` (every claim, machine-readable) and
//! `summary/<year>/claims.csv` (the mismatches, for people), encoded per
//! bucket and appended in bucket order.

use std::collections::BTreeMap;

use super::csv_out::{IN_MEMORY, buffer, text};
use super::tables::Tables;
use crate::claims::ClaimCheck;
use crate::report::{Mismatch, Mismatches};

/// `claims.csv`'s columns, each header in Chinese then English (for
/// people, and for tools that read the file by name), as the quarantine's.
pub const CLAIMS_HEADER: [&str; 16] = [
    "年度 year",
    "单位代码 agency",
    "指标代码 indicator",
    "报告项目 claim",
    "对照 against",
    "报告值 claimed",
    "小数位数 decimals",
    "计算值 computed",
    "未修约值 computed_unrounded",
    "是否一致 matches",
    "为空原因 null_reason",
    "诊断 diagnosis",
    "说明 detail_zh",
    "英文说明 detail",
    "来源文件 source_file",
    "行号 source_line",
];

pub const SUMMARY_HEADER: [&str; 11] = [
    "单位代码",
    "单位名称",
    "指标代码",
    "指标名称",
    "报告项目",
    "报告值",
    "计算值",
    "诊断",
    "说明",
    "来源文件",
    "行号",
];

/// One bucket's claims, encoded.
#[derive(Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct Encoded {
    pub all: Vec<u8>,
    pub all_rows: u64,
    /// Mismatches per year.
    pub mismatches: BTreeMap<i32, (Vec<u8>, u64)>,
    /// The mismatches for the report page.
    pub report: Mismatches,
}

/// Encodes `checks` in their order.
pub fn encode(t: &Tables<'_>, checks: &[ClaimCheck]) -> Encoded {
    let mut all = buffer();
    let mut per_year: BTreeMap<i32, (csv::Writer<Vec<u8>>, u64)> = BTreeMap::new();
    let mut report = Mismatches::default();
    // Number buffers reused for every row.
    let (mut year_buf, mut line_buf, mut decimals_buf) =
        (itoa::Buffer::new(), itoa::Buffer::new(), itoa::Buffer::new());
    for c in checks {
        let (key, origin) = (c.key, c.origin);
        let ag = t.register.agency(key.agency);
        let ind = t.catalog.indicator(key.indicator);
        let claim = c.against.claim();
        let computed = c.computed.as_ref().map(|d| d.text()).unwrap_or_default();
        let claimed = c.claimed.text();
        let null_reason = c.computed.as_ref().err().map(|r| r.as_str()).unwrap_or_default();
        let (cause, detail, detail_zh) = c
            .diagnosis
            .as_ref()
            .map_or(("", "", ""), |d| (d.cause.as_str(), d.detail.en.as_str(), d.detail.zh.as_str()));
        let source = text(t.source_file(&origin));
        let line = line_buf.format(origin.line);
        all.write_record([
            year_buf.format(key.year),
            &text(&ag.code),
            &text(&ind.code),
            claim,
            c.against.as_str(),
            &claimed,
            decimals_buf.format(c.claimed.scale()),
            &computed,
            &c.unrounded.map(|d| d.text()).unwrap_or_default(),
            c.matches.map_or("", |m| if m { "true" } else { "false" }),
            null_reason,
            cause,
            &text(detail_zh),
            &text(detail),
            &source,
            line,
        ])
        .expect(IN_MEMORY);
        if c.matches == Some(false) {
            let (w, n) = per_year.entry(key.year).or_insert_with(|| (buffer(), 0));
            *n += 1;
            let diagnosis = c.diagnosis.as_ref().map_or("无法解释", |d| d.cause.name_zh());
            report.add(Mismatch {
                year: key.year.to_string(),
                agency: ag.name().to_owned(),
                indicator: ind.name_zh.clone(),
                claim: c.against.name_zh().to_owned(),
                claimed: claimed.as_str().to_owned(),
                computed: computed.as_str().to_owned(),
                diagnosis: diagnosis.to_owned(),
                detail_zh: detail_zh.to_owned(),
                file: t.source_file(&origin).to_owned(),
                line: line.to_owned(),
            });
            w.write_record([
                text(&ag.code).as_ref(),
                &text(ag.name()),
                &text(&ind.code),
                &text(&ind.name_zh),
                c.against.name_zh(),
                &claimed,
                &computed,
                diagnosis,
                &text(detail_zh),
                &source,
                line,
            ])
            .expect(IN_MEMORY);
        }
    }
    Encoded {
        all: all.into_inner().expect(IN_MEMORY),
        all_rows: checks.len() as u64,
        mismatches: per_year.into_iter().map(|(y, (w, n))| (y, (w.into_inner().expect(IN_MEMORY), n))).collect(),
        report,
    }
}
