//! `sdmx.csv`: the run's figures as SDMX-CSV 2.0, for a .Stat-style
//! dissemination system. One row per figure: an agency's value, each of
//! its printed percentages, and each parent's and group's total, keyed by
//! the dimensions `AGENCY`, `INDICATOR`, `MEASURE` and `TIME_PERIOD`.
//!
//! - `STRUCTURE` is `dataflow`, `STRUCTURE_ID` the pipeline's
//!   `[sdmx] structure_id` (`TJSTATS:DF_YEARBOOK(1.0)`), `ACTION` its
//!   `action` (`I`, information, by default);
//! - `MEASURE`: `VALUE` (the agency's figure), `COMPLETION_PCT`,
//!   `GROWTH_PCT`, `CHANGE_PP`; for a parent's or group's total `TOTAL`,
//!   `TOTAL_COMPLETION_PCT`, `TOTAL_GROWTH_PCT`, `TOTAL_CHANGE_PP` (a
//!   district may send its own figure too: the two never share a key);
//!   beside a total that is the figure reported for the parent,
//!   `TOTAL_MEMBERS` (its members' sum, a ratio's members' rate) and
//!   `TOTAL_UNALLOCATED` (reported − members' sum, 本级及未分配);
//! - `OBS_VALUE` is the figure in the indicator's base unit, or the printed
//!   percentage, exactly as the Parquet holds it; `UNIT_MEASURE` the base
//!   unit, `PC` for a percentage, `PP` for points; `UNIT_MULT` 0 (base
//!   units); `OBS_STATUS` `A` (normal) or `M` (missing, the agency's note
//!   says why); `DECIMALS` the decimals the figure is given with.
//!
//! Percentages that do not apply or cannot be computed are left out, not
//! written empty. Encoded per bucket and appended in bucket order, like
//! `summary/<year>/claims.csv`; UTF-8 without a BOM, as machines read it.

use super::csv_out::{IN_MEMORY, buffer};
use super::tables::Tables;
use crate::aggregate::{Scope, Total};
use crate::decimal::Decimal;
use crate::metrics::Metric;
use crate::model::{Observation, Outcome};

pub const HEADER: [&str; 12] = [
    "STRUCTURE",
    "STRUCTURE_ID",
    "ACTION",
    "AGENCY",
    "INDICATOR",
    "MEASURE",
    "TIME_PERIOD",
    "OBS_VALUE",
    "UNIT_MEASURE",
    "UNIT_MULT",
    "OBS_STATUS",
    "DECIMALS",
];

pub use crate::config::pipeline::SdmxStructure as Structure;

/// The rows of one file's worth of figures, as they are encoded.
struct Rows<'s> {
    s: &'s Structure,
    w: csv::Writer<Vec<u8>>,
    n: u64,
}

/// One figure: its key, its value (`None`: missing), unit and decimals.
struct Figure<'a> {
    agency: &'a str,
    indicator: &'a str,
    measure: &'a str,
    year: i32,
    value: Option<Decimal>,
    unit: &'a str,
}

impl<'s> Rows<'s> {
    fn new(s: &'s Structure) -> Rows<'s> {
        Rows { s, w: buffer(), n: 0 }
    }

    fn push(&mut self, f: Figure<'_>) {
        let (value, status, decimals) = match f.value {
            Some(v) => (v.to_string(), "A", v.scale().to_string()),
            None => (String::new(), "M", "0".to_owned()),
        };
        let s = self.s;
        let year = f.year.to_string();
        let row = [
            "dataflow",
            &s.structure_id,
            &s.action,
            f.agency,
            f.indicator,
            f.measure,
            &year,
            &value,
            f.unit,
            "0",
            status,
            &decimals,
        ];
        self.w.write_record(row).expect(IN_MEMORY);
        self.n += 1;
    }

    /// The printed percentages that have a value, each under `measures`'
    /// name for it.
    fn percentages(&mut self, key: (&str, &str, i32), measures: [&str; 3], figures: [&Outcome; 3]) {
        let (agency, indicator, year) = key;
        for ((measure, unit), figure) in measures.into_iter().zip(["PC", "PC", "PP"]).zip(figures) {
            if let Some(p) = printed(figure) {
                self.push(Figure { agency, indicator, measure, year, value: Some(p), unit });
            }
        }
    }

    fn finish(self) -> (Vec<u8>, u64) {
        (self.w.into_inner().expect(IN_MEMORY), self.n)
    }
}

/// The rows of one bucket's figures (`rows` in their order) and their
/// count.
pub fn encode(t: &Tables<'_>, s: &Structure, rows: &[(&Observation, &Metric)]) -> (Vec<u8>, u64) {
    let mut out = Rows::new(s);
    for (o, m) in rows {
        let (agency, ind) = (&t.register.agency(o.key.agency).code, t.catalog.indicator(o.key.indicator));
        let (indicator, year) = (ind.code.as_str(), o.key.year);
        let value = o.value.map(Decimal::trimmed);
        out.push(Figure { agency, indicator, measure: "VALUE", year, value, unit: &ind.base_unit });
        let measures = ["COMPLETION_PCT", "GROWTH_PCT", "CHANGE_PP"];
        out.percentages((agency, indicator, year), measures, [&m.completion, &m.growth, &m.change]);
    }
    out.finish()
}

/// The rows of the totals (each total's value, then its percentages).
pub fn encode_totals(t: &Tables<'_>, s: &Structure, totals: &[&Total]) -> (Vec<u8>, u64) {
    let mut out = Rows::new(s);
    for total in totals {
        let Some(v) = total.value else { continue };
        let (agency, ind) = (&t.register.agency(total.key.agency).code, t.catalog.indicator(total.key.indicator));
        let (indicator, year) = (ind.code.as_str(), total.key.year);
        out.push(Figure { agency, indicator, measure: "TOTAL", year, value: Some(v.trimmed()), unit: &ind.base_unit });
        if total.scope == Scope::Reported {
            let unit = &ind.base_unit;
            for (measure, value) in [("TOTAL_MEMBERS", total.members), ("TOTAL_UNALLOCATED", total.unallocated)] {
                if let Some(v) = value {
                    out.push(Figure { agency, indicator, measure, year, value: Some(v.trimmed()), unit });
                }
            }
        }
        let measures = ["TOTAL_COMPLETION_PCT", "TOTAL_GROWTH_PCT", "TOTAL_CHANGE_PP"];
        out.percentages((agency, indicator, year), measures, [&total.completion, &total.growth, &total.change]);
    }
    out.finish()
}

fn printed(o: &Outcome) -> Option<Decimal> {
    o.as_ref().ok().map(|f| f.rounded)
}
