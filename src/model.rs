//! The data model: what the stages hand each other. A submission file's
//! id, an observation's key, where it came from and what it holds, the
//! history a later file replaced, and a computed percentage or why there is
//! none. Types only, with the few methods that belong to them; nothing here
//! reads, writes or knows a stage.

use compact_str::CompactString;
use serde::Serialize;

use crate::config::{AgencyId, IndicatorId};
use crate::decimal::{Decimal, Ratio, Rounding, UNROUNDED_SCALE};

/// Index of a submission file in the run, in the order of relative paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct FileId(pub u32);

/// What an observation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub agency: AgencyId,
    pub indicator: IndicatorId,
    pub year: i32,
}

/// Where an observation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub file: FileId,
    pub line: u64,
    /// Byte offset of the record in the file as sent.
    pub byte: u64,
    /// Column of the value cell (a year column in a wide file).
    pub column: u32,
}

/// One accepted figure, in the indicator's base unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub key: Key,
    /// `None`: sent as missing, with a note saying why.
    pub value: Option<Decimal>,
    pub target: Option<Decimal>,
    /// Claimed figures keep the precision they were printed with.
    pub claimed_completion: Option<Decimal>,
    pub claimed_growth: Option<Decimal>,
    /// The unit as sent, and the power of ten to the base unit.
    pub unit: CompactString,
    pub power: u32,
    pub note: Option<CompactString>,
    // Cells as typed: short, so kept inline (compact_str) rather than in
    // one heap allocation each for every row.
    pub value_raw: CompactString,
    pub target_raw: Option<CompactString>,
    pub origin: Origin,
}

impl Observation {
    /// Whether two rows carry the same figures (a harmless repeat).
    pub fn same_figures(&self, other: &Observation) -> bool {
        self.value == other.value
            && self.target == other.target
            && self.claimed_completion == other.claimed_completion
            && self.claimed_growth == other.claimed_growth
    }
}

/// The row of `key` in rows sorted by key (a bucket's current
/// observations).
pub fn row_of(rows: &[Observation], key: Key) -> Option<&Observation> {
    rows.binary_search_by_key(&key, |o| o.key).ok().map(|i| &rows[i])
}

/// A row that a later file replaced.
#[derive(Debug, Clone)]
pub struct Superseded {
    pub observation: Observation,
    pub by: Origin,
}

/// Why a metric has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum NullReason {
    ValueMissing,
    NoTarget,
    TargetZero,
    ActualZero,
    NoDirection,
    NoPrevious,
    PreviousMissing,
    PreviousZero,
    RateUsesChange,
    NotARate,
    RatioTargetNotAggregated,
    PartialTargets,
    DenominatorZero,
    Overflow,
}

impl NullReason {
    pub const ALL: &'static [NullReason] = &[
        NullReason::ValueMissing,
        NullReason::NoTarget,
        NullReason::TargetZero,
        NullReason::ActualZero,
        NullReason::NoDirection,
        NullReason::NoPrevious,
        NullReason::PreviousMissing,
        NullReason::PreviousZero,
        NullReason::RateUsesChange,
        NullReason::NotARate,
        NullReason::RatioTargetNotAggregated,
        NullReason::PartialTargets,
        NullReason::DenominatorZero,
        NullReason::Overflow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NullReason::ValueMissing => "value_missing",
            NullReason::NoTarget => "no_target",
            NullReason::TargetZero => "target_zero",
            NullReason::ActualZero => "actual_zero",
            NullReason::NoDirection => "no_direction",
            NullReason::NoPrevious => "no_previous",
            NullReason::PreviousMissing => "previous_missing",
            NullReason::PreviousZero => "previous_zero",
            NullReason::RateUsesChange => "rate_uses_change_pp",
            NullReason::NotARate => "not_a_rate",
            NullReason::RatioTargetNotAggregated => "ratio_target_not_aggregated",
            NullReason::PartialTargets => "partial_targets",
            NullReason::DenominatorZero => "denominator_zero",
            NullReason::Overflow => "overflow",
        }
    }

    /// The reason a name (`no_target`) stands for, as outputs write it.
    pub fn from_name(name: &str) -> Option<NullReason> {
        Self::ALL.iter().copied().find(|r| r.as_str() == name)
    }

    /// Whether the figure does not apply to the indicator's kind at all (a
    /// rate has no growth in %, a count no change in points): nothing a
    /// reader needs told about, unlike a missing target or a zero.
    pub fn by_kind(self) -> bool {
        matches!(self, NullReason::RateUsesChange | NullReason::NotARate)
    }
}

/// A computed percentage: exact, unrounded (12 decimals) and printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figure {
    pub exact: Ratio,
    pub unrounded: Decimal,
    pub rounded: Decimal,
}

impl Figure {
    /// An exact quotient, kept unrounded and rounded to `decimals` by `rule`.
    pub fn of(exact: Ratio, decimals: u8, rule: Rounding) -> Outcome {
        // Both must fit a Decimal128(38) column at their scale.
        let unrounded = exact.round(UNROUNDED_SCALE, rule).and_then(|u| u.in_column(UNROUNDED_SCALE));
        let unrounded = unrounded.ok_or(NullReason::Overflow)?;
        let rounded = exact.round(decimals, rule).ok_or(NullReason::Overflow)?;
        Ok(Figure { exact, unrounded, rounded })
    }

    /// Whether a claimed figure is this one at the claim's own printed
    /// precision (a claim of 107.5 matches anything that rounds to 107.5).
    pub fn matches_claim(&self, claim: Decimal, rule: Rounding) -> bool {
        matches_claim(self.exact, claim, rule)
    }
}

/// An exact figure at a claim's own printed precision: what the claim is
/// compared with (107.4857… at one decimal is 107.5).
pub fn at_claim_precision(exact: Ratio, claim: Decimal, rule: Rounding) -> Option<Decimal> {
    exact.round(claim.scale(), rule)
}

/// Whether a claimed figure is `exact` at the claim's own printed
/// precision: the one definition of a claim matching, for the computed
/// figure and for every recomputation a diagnosis tries.
pub fn matches_claim(exact: Ratio, claim: Decimal, rule: Rounding) -> bool {
    at_claim_precision(exact, claim, rule) == Some(claim)
}

pub type Outcome = Result<Figure, NullReason>;

/// The Parquet tables, by the name of their directory: writers and readers
/// use these, so a name is spelled once.
/// The files of an output directory besides the tables (README,
/// "Output"): writers and readers use these names.
pub mod file {
    /// Its presence marks a directory as yearbook's outputs.
    pub const MANIFEST: &str = "manifest.json";
    pub const WORKBOOK: &str = "audit.xlsx";
    pub const CLAIMS: &str = "claims.csv";
    pub const QUARANTINE: &str = "quarantine.csv";
    pub const WARNINGS: &str = "warnings.csv";
    /// The folder of the people's CSVs, one folder per year inside.
    pub const SUMMARY: &str = "summary";
    pub const INDICATORS: &str = "indicators.csv";
    pub const TOTALS: &str = "totals.csv";
    pub const LEAGUE: &str = "league.csv";
    /// The year's mismatched claims (`summary/<year>/claims.csv`).
    pub const MISMATCHED_CLAIMS: &str = "claims.csv";
}

pub mod table {
    pub const OBSERVATIONS: &str = "observations";
    pub const METRICS: &str = "metrics";
    pub const TOTALS: &str = "totals";
    pub const RATES: &str = "rates";
    pub const SUPERSEDED: &str = "superseded";
}

/// The columns of the Parquet tables (README, "Output", says what each
/// holds): writers and readers use these, so a name is spelled once.
pub mod col {
    pub const ACTUAL: &str = "actual";
    pub const AGENCY: &str = "agency";
    pub const AGENCY_NAME: &str = "agency_name";
    pub const AGGREGATION: &str = "aggregation";
    pub const CHANGE_NULL_REASON: &str = "change_null_reason";
    pub const CHANGE_PP: &str = "change_pp";
    pub const CHANGE_PP_UNROUNDED: &str = "change_pp_unrounded";
    pub const CLAIMED_COMPLETION: &str = "claimed_completion";
    pub const CLAIMED_COMPLETION_DECIMALS: &str = "claimed_completion_decimals";
    pub const CLAIMED_COMPLETION_MATCHES: &str = "claimed_completion_matches";
    pub const CLAIMED_GROWTH: &str = "claimed_growth";
    pub const CLAIMED_GROWTH_DECIMALS: &str = "claimed_growth_decimals";
    pub const CLAIMED_GROWTH_MATCHES: &str = "claimed_growth_matches";
    pub const COMPLETION_NULL_REASON: &str = "completion_null_reason";
    pub const COMPLETION_PCT: &str = "completion_pct";
    pub const COMPLETION_PCT_UNROUNDED: &str = "completion_pct_unrounded";
    pub const CONTRIBUTORS: &str = "contributors";
    pub const DENOMINATOR: &str = "denominator";
    pub const DENOMINATOR_INDICATOR: &str = "denominator_indicator";
    pub const DENOMINATOR_SOURCE_FILE: &str = "denominator_source_file";
    pub const DENOMINATOR_SOURCE_LINE: &str = "denominator_source_line";
    pub const DERIVED: &str = "derived";
    pub const DIRECTION: &str = "direction";
    pub const GROWTH_NULL_REASON: &str = "growth_null_reason";
    pub const GROWTH_PCT: &str = "growth_pct";
    pub const GROWTH_PCT_UNROUNDED: &str = "growth_pct_unrounded";
    pub const INDICATOR: &str = "indicator";
    pub const INDICATOR_NAME: &str = "indicator_name";
    pub const KIND: &str = "kind";
    pub const MATCHES: &str = "matches";
    pub const MET: &str = "met";
    pub const MISSING: &str = "missing";
    pub const N_AGENCIES: &str = "n_agencies";
    pub const N_MISSING: &str = "n_missing";
    pub const NOTE: &str = "note";
    pub const NUMERATOR: &str = "numerator";
    pub const NUMERATOR_INDICATOR: &str = "numerator_indicator";
    pub const NUMERATOR_SOURCE_FILE: &str = "numerator_source_file";
    pub const NUMERATOR_SOURCE_LINE: &str = "numerator_source_line";
    pub const PREVIOUS: &str = "previous";
    pub const RATE_FROM_PARTS: &str = "rate_from_parts";
    pub const RATE_FROM_PARTS_NULL_REASON: &str = "rate_from_parts_null_reason";
    pub const RATE_FROM_PARTS_UNROUNDED: &str = "rate_from_parts_unrounded";
    pub const RATE_MATCHES_PARTS: &str = "rate_matches_parts";
    pub const ROUNDING: &str = "rounding";
    pub const SENT: &str = "sent";
    pub const SENT_DECIMALS: &str = "sent_decimals";
    pub const SOURCE_BYTE: &str = "source_byte";
    pub const SOURCE_FIELD: &str = "source_field";
    pub const SOURCE_SHEET: &str = "source_sheet";
    pub const SOURCE_CELL: &str = "source_cell";
    pub const SOURCE_FILE: &str = "source_file";
    pub const SOURCE_LINE: &str = "source_line";
    pub const SOURCE_SHA256: &str = "source_sha256";
    pub const SUPERSEDED_BY_FILE: &str = "superseded_by_file";
    pub const SUPERSEDED_BY_LINE: &str = "superseded_by_line";
    pub const TARGET: &str = "target";
    pub const TARGET_RAW: &str = "target_raw";
    pub const UNIT: &str = "unit";
    pub const UNIT_POWER: &str = "unit_power";
    pub const UNIT_SENT: &str = "unit_sent";
    pub const VALUE: &str = "value";
    pub const VALUE_RAW: &str = "value_raw";
    pub const VALUE_UNROUNDED: &str = "value_unrounded";
}
