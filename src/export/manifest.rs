//! `manifest.json`: what a run read and wrote, with hashes, so a run can be
//! checked and reproduced. The only output that holds times.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::normalize::FileReport;

#[derive(Debug, Clone, Serialize)]
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
}

#[derive(Debug, Clone, Serialize)]
pub struct Counts {
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
    pub claims: super::claims::ClaimCounts,
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

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub tool: String,
    pub version: String,
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub pipeline: InputFile,
    pub schemas: Vec<InputFile>,
    pub input_dir: String,
    pub rounding: RoundingInfo,
    pub counts: Counts,
    /// Every submission: rows_read = accepted + quarantined.
    pub inputs: Vec<FileReport>,
    pub outputs: Vec<super::OutputFile>,
    /// Wall time of each stage, in milliseconds.
    pub stage_ms: BTreeMap<String, u64>,
}
