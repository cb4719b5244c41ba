//! `summary/<year>/claims.csv` (the mismatches, for people, with their
//! likely cause in Chinese), encoded per bucket and appended in bucket
//! order; every claim is in the `claims` Parquet table
//! ([`super::tables::Tables::claims`]).

use std::collections::BTreeMap;

use serde_bytes::ByteBuf;

use super::csv_out::{IN_MEMORY, buffer, text};
use super::tables::Tables;
use crate::claims::ClaimCheck;
use crate::export::report::{Mismatch, Mismatches};

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
    /// Mismatches per year.
    pub mismatches: BTreeMap<i32, (ByteBuf, u64)>,
    /// The mismatches for the report page.
    pub report: Mismatches,
}

/// Encodes the mismatches of `checks`, in their order.
pub fn encode(t: &Tables<'_>, checks: &[ClaimCheck]) -> Encoded {
    let mut per_year: BTreeMap<i32, (csv::Writer<Vec<u8>>, u64)> = BTreeMap::new();
    let mut report = Mismatches::default();
    let mut line_buf = itoa::Buffer::new();
    for c in checks {
        if c.matches != Some(false) {
            continue;
        }
        let (key, origin) = (c.key, c.origin);
        let ag = t.register.agency(key.agency);
        let ind = t.catalog.indicator(key.indicator);
        let computed = c.computed.as_ref().map(|d| d.text()).unwrap_or_default();
        let claimed = c.claimed.text();
        let detail_zh = c.diagnosis.as_ref().map_or("", |d| d.detail.zh.as_str());
        let source = text(t.source_file(&origin));
        let line = line_buf.format(origin.line);
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
    Encoded {
        mismatches: per_year
            .into_iter()
            .map(|(y, (w, n))| (y, (ByteBuf::from(w.into_inner().expect(IN_MEMORY)), n)))
            .collect(),
        report,
    }
}
