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
//! - `OBS_VALUE` is the figure in the indicator's base unit, or the printed
//!   percentage, exactly as the Parquet holds it; `UNIT_MEASURE` the base
//!   unit, `PC` for a percentage, `PP` for points; `UNIT_MULT` 0 (base
//!   units); `OBS_STATUS` `A` (normal) or `M` (missing, the agency's note
//!   says why); `DECIMALS` the decimals the figure is given with.
//!
//! Percentages that do not apply or cannot be computed are left out, not
//! written empty. Encoded per bucket and appended in bucket order, like
//! `claims.csv`; UTF-8 without a BOM, as machines read it.

use super::csv_out::{IN_MEMORY, buffer};
use super::tables::Tables;
use crate::aggregate::Total;
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

/// The rows of one bucket's figures (`rows` in their order) and their
/// count.
pub fn encode(t: &Tables<'_>, s: &Structure, rows: &[(&Observation, &Metric)]) -> (Vec<u8>, u64) {
    let mut w = buffer();
    let mut n = 0;
    let mut year = itoa::Buffer::new();
    for (o, m) in rows {
        let (agency, ind) = (&t.register.agency(o.key.agency).code, t.catalog.indicator(o.key.indicator));
        let y = year.format(o.key.year);
        let (value, status) = match o.value {
            Some(v) => (v.trimmed().to_string(), "A"),
            None => (String::new(), "M"),
        };
        let decimals = o.value.map_or(0, |v| v.trimmed().scale()).to_string();
        let row = [
            "dataflow",
            &s.structure_id,
            &s.action,
            agency,
            &ind.code,
            "VALUE",
            y,
            &value,
            &ind.base_unit,
            "0",
            status,
            &decimals,
        ];
        w.write_record(row).expect(IN_MEMORY);
        n += 1;
        for (measure, unit, figure) in
            [("COMPLETION_PCT", "PC", &m.completion), ("GROWTH_PCT", "PC", &m.growth), ("CHANGE_PP", "PP", &m.change)]
        {
            if let Some(p) = printed(figure) {
                let row = [
                    "dataflow",
                    &s.structure_id,
                    &s.action,
                    agency,
                    &ind.code,
                    measure,
                    y,
                    &p.to_string(),
                    unit,
                    "0",
                    "A",
                    &p.scale().to_string(),
                ];
                w.write_record(row).expect(IN_MEMORY);
                n += 1;
            }
        }
    }
    (w.into_inner().expect(IN_MEMORY), n)
}

/// The rows of the totals (each total's value, then its percentages).
pub fn encode_totals(t: &Tables<'_>, s: &Structure, totals: &[&Total]) -> (Vec<u8>, u64) {
    let mut w = buffer();
    let mut n = 0;
    for total in totals {
        let (agency, ind) = (&t.register.agency(total.key.agency).code, t.catalog.indicator(total.key.indicator));
        let y = total.key.year.to_string();
        let Some(v) = total.value else { continue };
        let v = v.trimmed();
        let row = [
            "dataflow",
            &s.structure_id,
            &s.action,
            agency,
            &ind.code,
            "TOTAL",
            &y,
            &v.to_string(),
            &ind.base_unit,
            "0",
            "A",
            &v.scale().to_string(),
        ];
        w.write_record(row).expect(IN_MEMORY);
        n += 1;
        for (measure, unit, figure) in [
            ("TOTAL_COMPLETION_PCT", "PC", &total.completion),
            ("TOTAL_GROWTH_PCT", "PC", &total.growth),
            ("TOTAL_CHANGE_PP", "PP", &total.change),
        ] {
            if let Some(p) = printed(figure) {
                let row = [
                    "dataflow",
                    &s.structure_id,
                    &s.action,
                    agency,
                    &ind.code,
                    measure,
                    &y,
                    &p.to_string(),
                    unit,
                    "0",
                    "A",
                    &p.scale().to_string(),
                ];
                w.write_record(row).expect(IN_MEMORY);
                n += 1;
            }
        }
    }
    (w.into_inner().expect(IN_MEMORY), n)
}

fn printed(o: &Outcome) -> Option<Decimal> {
    o.as_ref().ok().map(|f| f.rounded)
}
