//! `manifest.json`: what a run read and wrote, with hashes, so a run can be
//! checked and reproduced. The only output that holds times, which come
//! from the clock the run is given.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use serde::Serialize;

use crate::claims::ClaimOutcomes;
use crate::config::{Catalog, RoundingRules, YearOnYear};
use crate::normalize::FileReport;
use crate::reject::Issue;

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct OutputFile {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    /// Data rows (Parquet rows, CSV rows after the header).
    pub rows: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct InputFile {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    /// For the pipeline and schema files: their copy in the output
    /// (`schemas/catalog.csv`), which `audit`, `explain` and `diff` read,
    /// so that an output moved elsewhere is still audited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy: Option<String>,
}

/// What a run read, kept and quarantined, in rows.
#[derive(Debug, Clone, Serialize)]
pub struct RunCounts {
    pub files: u64,
    pub rows_read: u64,
    pub accepted: u64,
    pub quarantined: u64,
    pub superseded: u64,
    pub observations: u64,
    pub totals: u64,
    pub warnings: u64,
    /// Quarantine entries per error code.
    pub quarantine_codes: BTreeMap<String, u64>,
    pub claims: ClaimOutcomes,
    /// The review rules' evaluations per outcome.
    pub checks: crate::checks::CheckCounts,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoundingInfo {
    pub rule: String,
    pub completion_decimals: u8,
    pub growth_decimals: u8,
    pub change_decimals: String,
    /// Per indicator, the decimals each of its printed percentages is
    /// rounded to (change: rates only).
    pub indicators: BTreeMap<String, IndicatorDecimals>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct IndicatorDecimals {
    pub completion: u8,
    pub growth: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<u8>,
}

/// One column of a Parquet table, as the manifest lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnInfo {
    pub name: String,
    /// The Arrow type (`Decimal128(38, 20)`, `Utf8`, …).
    #[serde(rename = "type")]
    pub data_type: String,
    pub description_en: String,
    pub description_zh: String,
}

impl ColumnInfo {
    /// The columns of a table's schema.
    pub fn of(schema: &arrow::datatypes::Schema) -> Vec<ColumnInfo> {
        schema
            .fields()
            .iter()
            .map(|f| {
                let (en, zh) = crate::model::col::description(f.name()).unwrap_or_default();
                ColumnInfo {
                    name: f.name().clone(),
                    data_type: f.data_type().to_string(),
                    description_en: en.to_owned(),
                    description_zh: zh.to_owned(),
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub tool: String,
    pub version: String,
    /// The identity of the build that ran (a hash of its code): what the
    /// incremental cache's key names.
    pub build: String,
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub pipeline: InputFile,
    pub schemas: Vec<InputFile>,
    pub input_dir: String,
    pub rounding: RoundingInfo,
    pub counts: RunCounts,
    /// Every submission: rows_read = accepted + quarantined.
    pub inputs: Vec<FileReport>,
    pub outputs: Vec<super::OutputFile>,
    /// Each Parquet table's columns: name, type and what it holds.
    pub tables: BTreeMap<String, Vec<ColumnInfo>>,
    /// Wall time of each stage, in milliseconds.
    pub stage_ms: BTreeMap<String, u64>,
    /// What changed since the run whose outputs this run replaced (none on
    /// a first run): `changes.csv`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<ChangesSince>,
    /// What the run took from the previous run's cache and what it did
    /// again (`crate::cache`); all read and computed on a full run.
    pub work: Work,
    /// A run the guards held (`crate::guards`): not published; the previous
    /// outputs stay, these are in `dir`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<Held>,
}

/// Why a run was held, and where its outputs are.
#[derive(Debug, Clone, Serialize)]
pub struct Held {
    pub tripped: Vec<crate::guards::Tripped>,
    pub dir: String,
}

/// Files read and buckets computed, against those taken from the cache.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Work {
    pub files_read: u64,
    pub files_reused: u64,
    pub buckets_computed: u64,
    pub buckets_reused: u64,
}

/// The changes since the previous run, counted.
#[derive(Debug, Clone, Serialize)]
pub struct ChangesSince {
    pub run_id: String,
    #[serde(flatten)]
    pub counts: crate::changes::Counts,
}

/// Per indicator, the decimals each of its printed percentages is rounded
/// to (change: rates only).
pub fn indicator_decimals(catalog: &Catalog, rounding: &RoundingRules) -> BTreeMap<String, IndicatorDecimals> {
    catalog
        .iter()
        .map(|(id, ind)| {
            let d = rounding.of(id);
            let change = (ind.kind.year_on_year() == YearOnYear::ChangePp).then_some(d.change);
            (ind.code.clone(), IndicatorDecimals { completion: d.completion, growth: d.growth, change })
        })
        .collect()
}

/// What a run gathers for its manifest.
pub struct RunRecord<'a> {
    pub started: SystemTime,
    pub finished: SystemTime,
    pub pipeline: InputFile,
    pub schemas: Vec<InputFile>,
    pub input_dir: &'a Path,
    pub catalog: &'a Catalog,
    pub rounding: &'a RoundingRules,
    /// Every submission's report, in file order.
    pub files: Vec<FileReport>,
    pub rejected: &'a [Issue],
    pub warnings: u64,
    pub observations: u64,
    pub totals: u64,
    pub claims: ClaimOutcomes,
    pub checks: crate::checks::CheckCounts,
    pub outputs: Vec<OutputFile>,
    pub tables: BTreeMap<String, Vec<ColumnInfo>>,
    pub stage_ms: BTreeMap<String, u64>,
}

impl Manifest {
    pub fn new(r: RunRecord<'_>) -> Manifest {
        let mut codes = BTreeMap::new();
        for i in r.rejected {
            *codes.entry(i.code.as_str().to_owned()).or_insert(0) += 1;
        }
        let sum = |f: fn(&FileReport) -> u64| r.files.iter().map(f).sum();
        let nanos = r.started.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let stamp = humantime::format_rfc3339_seconds(r.started).to_string().replace([':', '-'], "");
        let scales = r.rounding.column_scales;
        Manifest {
            tool: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            build: crate::BUILD.to_owned(),
            run_id: format!("{stamp}-{:08x}", (nanos as u64 ^ u64::from(std::process::id())) as u32),
            started_at: humantime::format_rfc3339_millis(r.started).to_string(),
            finished_at: humantime::format_rfc3339_millis(r.finished).to_string(),
            pipeline: r.pipeline,
            schemas: r.schemas,
            input_dir: r.input_dir.display().to_string(),
            rounding: RoundingInfo {
                rule: r.rounding.rule.name().to_owned(),
                completion_decimals: scales.completion,
                growth_decimals: scales.growth,
                change_decimals: "the rate's catalog decimals".to_owned(),
                indicators: indicator_decimals(r.catalog, r.rounding),
            },
            counts: RunCounts {
                files: r.files.len() as u64,
                rows_read: sum(|f| f.rows_read),
                accepted: sum(|f| f.accepted),
                quarantined: sum(|f| f.quarantined),
                superseded: sum(|f| f.superseded),
                observations: r.observations,
                totals: r.totals,
                warnings: r.warnings,
                quarantine_codes: codes,
                claims: r.claims,
                checks: r.checks,
            },
            inputs: r.files,
            outputs: r.outputs,
            tables: r.tables,
            stage_ms: r.stage_ms,
            changes: None,
            work: Work::default(),
            held: None,
        }
    }
}
