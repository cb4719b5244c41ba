//! The data model: what the stages hand each other. A submission file's
//! id, an observation's key, where it came from and what it holds, the
//! history a later file replaced, and a computed percentage or why there is
//! none; the output directory's layout, which writers and readers share.
//! Types only, with the few methods that belong to them; nothing here
//! reads, writes or knows a stage.

use std::path::{Path, PathBuf};

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::config::{AgencyId, IndicatorId};
use crate::decimal::{Decimal, Ratio, Rounding, UNROUNDED_SCALE};

/// Index of a submission file in the run, in the order of relative paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FileId(pub u32);

/// What an observation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Key {
    pub agency: AgencyId,
    pub indicator: IndicatorId,
    pub year: i32,
}

/// Where an observation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    BasisChanged,
    NoCommonContributors,
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
        NullReason::BasisChanged,
        NullReason::NoCommonContributors,
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
            NullReason::BasisChanged => "basis_changed",
            NullReason::NoCommonContributors => "no_common_contributors",
        }
    }

    /// The reason in Chinese, for the people's CSVs.
    pub fn zh(self) -> &'static str {
        match self {
            NullReason::ValueMissing => "数值缺失",
            NullReason::NoTarget => "无目标值",
            NullReason::TargetZero => "目标值为零",
            NullReason::ActualZero => "实际值为零",
            NullReason::NoDirection => "指标无方向",
            NullReason::NoPrevious => "无上年数据",
            NullReason::PreviousMissing => "上年数值缺失",
            NullReason::PreviousZero => "上年值为零",
            NullReason::RateUsesChange => "比率按百分点计算同比变化",
            NullReason::NotARate => "非比率指标",
            NullReason::RatioTargetNotAggregated => "比率的目标值不汇总",
            NullReason::PartialTargets => "部分单位无目标值",
            NullReason::DenominatorZero => "分母为零",
            NullReason::Overflow => "数值超出可表示范围",
            NullReason::BasisChanged => "口径变化，不可比",
            NullReason::NoCommonContributors => "两年无共同汇总单位",
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
/// Serialized as the outputs hold it: unrounded and printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Figure {
    #[serde(skip)]
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

/// A directory of outputs, and the path of each output in it: the one
/// place those paths are made.
#[derive(Debug, Clone)]
pub struct OutDir(PathBuf);

impl OutDir {
    pub fn new(root: &Path) -> OutDir {
        OutDir(root.to_owned())
    }

    pub fn root(&self) -> &Path {
        &self.0
    }

    /// A file at the top (`quarantine.csv`, `manifest.json`).
    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Part `part` of `table` for `year`: `table/year=2021/part-00003.parquet`
    /// (Hive's partitions, one part per bucket of agencies as Spark writes
    /// one per task).
    pub fn part(&self, table: &str, year: i32, part: usize) -> PathBuf {
        self.0.join(table).join(format!("year={year}")).join(format!("part-{part:05}.parquet"))
    }

    /// The part of `table` written from the totals, after the buckets'
    /// parts: `checks/year=2021/part-totals.parquet`.
    pub fn totals_part(&self, table: &str, year: i32) -> PathBuf {
        self.0.join(table).join(format!("year={year}")).join("part-totals.parquet")
    }

    /// A summary CSV of `year`: `summary/2021/indicators.csv`.
    pub fn summary(&self, year: i32, name: &str) -> PathBuf {
        self.0.join(file::SUMMARY).join(year.to_string()).join(name)
    }

    /// A summary CSV of the whole run: `summary/yearbook.csv`.
    pub fn summary_file(&self, name: &str) -> PathBuf {
        self.0.join(file::SUMMARY).join(name)
    }

    /// `path`, inside this directory, as the manifest names it: relative,
    /// with `/` between components.
    pub fn relative(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.0).unwrap_or(path);
        rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
    }
}

/// The Parquet tables, by the name of their directory: writers and readers
/// use these, so a name is spelled once.
/// The files of an output directory besides the tables (README,
/// "Output"): writers and readers use these names.
pub mod file {
    /// Its presence marks a directory as yearbook's outputs.
    pub const MANIFEST: &str = "manifest.json";
    pub const WORKBOOK: &str = "audit.xlsx";
    pub const QUARANTINE: &str = "quarantine.csv";
    pub const WARNINGS: &str = "warnings.csv";
    /// The figures as SDMX-CSV 2.0, when the pipeline has `[sdmx]`.
    pub const SDMX: &str = "sdmx.csv";
    /// The folder of the people's CSVs, one folder per year inside.
    pub const SUMMARY: &str = "summary";
    pub const INDICATORS: &str = "indicators.csv";
    pub const TOTALS: &str = "totals.csv";
    pub const LEAGUE: &str = "league.csv";
    /// The year's mismatched claims (`summary/<year>/claims.csv`).
    pub const MISMATCHED_CLAIMS: &str = "claims.csv";
    /// The year's largest risers and fallers (`summary/<year>/movers.csv`).
    pub const MOVERS: &str = "movers.csv";
    /// The review rules' failures and explained findings
    /// (`summary/审核结果.csv`).
    pub const CHECK_FINDINGS: &str = "审核结果.csv";
    /// Every parent's indicator × year table (`summary/yearbook.csv`).
    pub const YEARBOOK: &str = "yearbook.csv";
    /// What changed since the previous run in the same output directory.
    pub const CHANGES: &str = "changes.csv";
    /// The run's page for people (charts, league, quarantine, claims).
    pub const REPORT: &str = "report.html";
    /// The yearbook tables as a workbook, a sheet per table.
    pub const TABLES_WORKBOOK: &str = "tables.xlsx";
}

pub mod table {
    pub const OBSERVATIONS: &str = "observations";
    pub const METRICS: &str = "metrics";
    pub const TOTALS: &str = "totals";
    pub const RATES: &str = "rates";
    pub const SUPERSEDED: &str = "superseded";
    /// Every figure an agency printed itself, checked against yearbook's.
    pub const CLAIMS: &str = "claims";
    /// Every review rule (审核公式) evaluated, per agency and year.
    pub const CHECKS: &str = "checks";
    /// What changed since the previous run in the same output directory.
    pub const CHANGES: &str = "changes";
}

/// The columns of the Parquet tables, with what each holds in English and
/// in Chinese (README, "Output", says it at more length): writers and
/// readers use these names, so a name is spelled once, and every Parquet
/// file carries the descriptions in its schema.
pub mod col {
    macro_rules! columns {
        ($($id:ident = $name:literal, $en:literal, $zh:literal;)*) => {
            $(pub const $id: &str = $name;)*

            /// Every column: name, English and Chinese description.
            pub const DESCRIPTIONS: &[(&str, &str, &str)] = &[$(($name, $en, $zh)),*];
        };
    }

    columns! {
        ACTUAL = "actual", "the agency's figure in the indicator's base unit", "单位报送的实际值（基本单位）";
        AGENCY = "agency", "agency code (a parent's or group's code for a total)", "单位代码（汇总行为上级单位或分组代码）";
        AGENCY_NAME = "agency_name", "agency name", "单位名称";
        AGGREGATION = "aggregation", "how the total is formed: sum or ratio (Σ numerator / Σ denominator × 100)", "汇总方式：sum 求和，ratio 以分子合计除以分母合计";
        CHANGE_NULL_REASON = "change_null_reason", "why change_pp is null", "同比变化为空的原因";
        CHANGE_PP = "change_pp", "a rate's change on the previous year in percentage points, as printed", "比率的同比变化（百分点，按规则修约）";
        CHANGE_PP_UNROUNDED = "change_pp_unrounded", "change_pp before rounding, exact to 12 decimals", "同比变化修约前的值（12位小数）";
        AGAINST = "against", "the computed column the claim is checked against", "与自报值对照的计算列";
        CLAIM = "claim", "what the agency printed: completion, growth or rate", "自报项目：完成率、同比增长或比率";
        CLAIM_MATCHES = "claim_matches", "whether the claimed figure equals the computed one at the claim's precision", "自报值与计算值（按自报精度）是否一致";
        CLAIMED = "claimed", "the figure the agency printed itself", "单位自报值";
        CLAIMED_DECIMALS = "claimed_decimals", "decimals the claimed figure was printed with", "自报值的小数位数";
        COMPUTED = "computed", "yearbook's figure at the claim's precision", "计算值（按自报精度修约）";
        COMPUTED_NULL_REASON = "computed_null_reason", "why computed is null", "计算值为空的原因";
        COMPUTED_UNROUNDED = "computed_unrounded", "computed before rounding, exact to 12 decimals", "计算值修约前的值（12位小数）";
        DETAIL = "detail", "the diagnosis explained, with the figures involved", "诊断说明（英文）";
        DETAIL_ZH = "detail_zh", "the diagnosis explained, in Chinese", "诊断说明（中文）";
        DIAGNOSIS = "diagnosis", "the likely cause of a mismatch (empty: none fits)", "不一致的可能原因（空：无法解释）";
        CLAIMED_COMPLETION = "claimed_completion", "the completion the agency printed itself", "单位自报的完成率";
        CLAIMED_COMPLETION_DECIMALS = "claimed_completion_decimals", "decimals the claimed completion was printed with", "自报完成率的小数位数";
        CLAIMED_COMPLETION_MATCHES = "claimed_completion_matches", "whether the claimed completion equals the computed one at its precision", "自报完成率与计算值（按其精度）是否一致";
        CLAIMED_GROWTH = "claimed_growth", "the growth (or a rate's change) the agency printed itself", "单位自报的同比增长（比率为同比变化）";
        CLAIMED_GROWTH_DECIMALS = "claimed_growth_decimals", "decimals the claimed growth was printed with", "自报同比增长的小数位数";
        CLAIMED_GROWTH_MATCHES = "claimed_growth_matches", "whether the claimed growth equals the computed one at its precision", "自报同比增长与计算值（按其精度）是否一致";
        COMPLETION_NULL_REASON = "completion_null_reason", "why completion_pct is null", "完成率为空的原因";
        COMPLETION_PCT = "completion_pct", "target completion in percent, as printed", "目标完成率（%，按规则修约）";
        COMPLETION_PCT_UNROUNDED = "completion_pct_unrounded", "completion before rounding, exact to 12 decimals", "完成率修约前的值（12位小数）";
        CONTRIBUTORS = "contributors", "agencies whose figures the members' sum adds (a member with a reported figure stands for those under it)", "参与汇总的单位（有上报数的下级代表其所属单位）";
        DENOMINATOR = "denominator", "a rate's denominator (Σ for a total)", "比率的分母（汇总行为合计）";
        DENOMINATOR_INDICATOR = "denominator_indicator", "indicator code of the rate's denominator", "分母指标代码";
        DENOMINATOR_SOURCE_FILE = "denominator_source_file", "file the denominator was read from", "分母的来源文件";
        DENOMINATOR_SOURCE_LINE = "denominator_source_line", "line (or a sheet's row) of the denominator", "分母的来源行号";
        DERIVED = "derived", "true when the agency sent only the parts and the rate is computed from them", "单位未报送比率、由分子分母计算得出时为真";
        DIRECTION = "direction", "whether more is better (up), less is better (down) or neither (none)", "指标方向：up 越大越好，down 越小越好，none 无";
        GROWTH_NULL_REASON = "growth_null_reason", "why growth_pct is null", "同比增长为空的原因";
        GROWTH_PCT = "growth_pct", "growth on the previous year in percent, as printed", "同比增长（%，按规则修约）";
        GROWTH_PCT_UNROUNDED = "growth_pct_unrounded", "growth before rounding, exact to 12 decimals", "同比增长修约前的值（12位小数）";
        INDICATOR = "indicator", "indicator code of the catalog", "指标代码";
        INDICATOR_NAME = "indicator_name", "indicator name of the catalog", "指标名称";
        KIND = "kind", "count, amount, rate, average, level or cumulative", "指标类型";
        MATCHES = "matches", "whether the rate the agency sent equals the one from its parts at its precision", "报送的比率与由分子分母计算的比率（按其精度）是否一致";
        MEASURE = "measure", "which figure changed: value, completion_pct, growth_pct, change_pp, or total and its total_… percentages", "变化的项目：实际值、完成率、同比增长、同比变化，或合计值及其百分比";
        MET = "met", "whether the target was met", "是否完成目标";
        MISSING = "missing", "agencies under the parent that reported the indicator but have no figure this year", "应报未报（或被隔离）的下级单位";
        N_AGENCIES = "n_agencies", "number of contributing agencies", "参与汇总的单位数";
        N_MISSING = "n_missing", "number of missing agencies", "缺报单位数";
        NOTE = "note", "the agency's note, verbatim", "单位备注（原文）";
        NUMERATOR = "numerator", "a rate's numerator (Σ for a total)", "比率的分子（汇总行为合计）";
        NUMERATOR_INDICATOR = "numerator_indicator", "indicator code of the rate's numerator", "分子指标代码";
        NUMERATOR_SOURCE_FILE = "numerator_source_file", "file the numerator was read from", "分子的来源文件";
        NUMERATOR_SOURCE_LINE = "numerator_source_line", "line (or a sheet's row) of the numerator", "分子的来源行号";
        PREVIOUS = "previous", "the previous year's figure, in the base unit (a total: what its growth compares with, last year's reported figure or last year's figures of the contributors compared)", "上年值（基本单位；汇总行为增长的比较基数：上年上报数或可比单位的上年合计）";
        COMPARED = "compared", "a total's figure its growth compares with previous: the reported figure, or this year's figures of the contributors in both years (同口径)", "汇总行增长计算所用的本年数：上报数，或两年均有数据单位的本年合计（同口径）";
        FINDINGS = "findings", "what a reviewer is shown about a total: members_exceed_reported, conflicting_reports", "汇总行的审核发现：下级合计大于上报数、上报数据不一致";
        FINDING_DETAIL = "finding_detail", "the findings explained, with the figures involved", "审核发现说明（英文）";
        FINDING_DETAIL_ZH = "finding_detail_zh", "the findings explained, in Chinese", "审核发现说明（中文）";
        GROWTH_BASIS = "growth_basis", "what a total's growth compares: reported (reported figures of both years), comparable (the contributors in both years) or none", "汇总行增长的比较口径：reported 两年上报数，comparable 两年均有数据的单位（同口径），none 无";
        MEMBERS_VALUE = "members_value", "a total's members' sum (a ratio: their rate), beside a reported figure", "下级合计（比率为下级合计计算的比率），与上报数并列";
        N_NOT_COMPARED = "n_not_compared", "number of contributors left out of the growth's comparison", "未纳入同口径比较的单位数";
        NOT_COMPARED = "not_compared", "contributors of this year or the previous one left out of the growth's comparison", "本年或上年参与汇总、但未纳入同口径比较的单位";
        REPORTED_BY = "reported_by", "the agency whose row a reported total is: the parent itself or the agency reporting for it", "上报数的报送单位：上级单位本身或登记为其报送的单位";
        REPORTED_SOURCE_FILE = "reported_source_file", "file of the reported figure", "上报数的来源文件";
        REPORTED_SOURCE_LINE = "reported_source_line", "line (or a sheet's row) of the reported figure", "上报数的来源行号（工作簿为行号）";
        REPORTED_SOURCE_CELL = "reported_source_cell", "a workbook's cell of the reported figure (C7)", "上报数所在的工作簿单元格";
        UNALLOCATED = "unallocated", "reported figure − members' sum: the part no member covers (本级及未分配)", "上报数减下级合计：本级及未分配部分";
        VALUE_BASIS = "value_basis", "whether a total is the figure reported for the parent (reported) or its contributors' sum (summed)", "汇总值口径：reported 上报数，summed 下级合计";
        RATE_FROM_PARTS = "rate_from_parts", "numerator / denominator × 100, rounded to the rate's decimals", "由分子分母计算的比率（按比率的小数位修约）";
        RATE_FROM_PARTS_NULL_REASON = "rate_from_parts_null_reason", "why rate_from_parts is null", "由分子分母计算的比率为空的原因";
        RATE_FROM_PARTS_UNROUNDED = "rate_from_parts_unrounded", "rate_from_parts before rounding, exact to 12 decimals", "由分子分母计算的比率修约前的值（12位小数）";
        RATE_MATCHES_PARTS = "rate_matches_parts", "whether the rate sent equals numerator / denominator × 100 at its precision", "报送的比率与分子分母之比（按其精度）是否一致";
        ROUNDING = "rounding", "the rounding rule: half_up or half_even", "修约规则：half_up 四舍五入，half_even 四舍六入五成双";
        SENT = "sent", "the rate as the agency sent it", "单位报送的比率";
        SENT_DECIMALS = "sent_decimals", "decimals the rate was typed with", "报送比率的小数位数";
        SOURCE_BYTE = "source_byte", "byte offset of the record in the file as sent (none for a workbook)", "记录在原文件中的字节位置（工作簿无此项）";
        SOURCE_FIELD = "source_field", "the value's column as the file names it", "数值所在列在原文件中的列名";
        SOURCE_SHEET = "source_sheet", "a workbook's sheet", "工作簿的工作表";
        CHANGE_KIND = "change", "new, revised or withdrawn since the previous run", "与上次运行相比：新增、修订或撤回";
        OLD = "old", "the figure in the previous run (none if new)", "上次运行的数值（新增为空）";
        NEW = "new", "the figure in this run (none if withdrawn)", "本次运行的数值（撤回为空）";
        SOURCE_CELL = "source_cell", "a workbook's cell of the value (C7)", "数值所在的工作簿单元格（如 C7）";
        SOURCE_FILE = "source_file", "file the figure was read from, relative to the submissions directory", "来源文件（相对于报送目录）";
        SOURCE_LINE = "source_line", "line of the record in the file (a workbook's row)", "来源行号（工作簿为行号）";
        SOURCE_SHA256 = "source_sha256", "SHA-256 of the file as sent", "来源文件的 SHA-256";
        SUPERSEDED_BY_FILE = "superseded_by_file", "the later file that replaced this row", "替代本行的较新文件";
        SUPERSEDED_BY_LINE = "superseded_by_line", "its line", "替代行的行号";
        TARGET = "target", "the target in the base unit (Σ for a total)", "目标值（基本单位；汇总行为合计）";
        TARGET_RAW = "target_raw", "the target cell as typed", "目标值单元格原文";
        UNIT = "unit", "the indicator's base unit", "计量单位（基本单位）";
        UNIT_POWER = "unit_power", "power of ten from the unit sent to the base unit (万 = 4)", "报送单位换算为基本单位的十的幂（万 = 4）";
        UNIT_SENT = "unit_sent", "the unit as the agency wrote it", "单位报送时所写的计量单位";
        VALUE = "value", "the figure in the indicator's base unit (a total: the reported figure or the sum, a rate rounded)", "数值（基本单位；汇总行为上报数或合计，比率为修约后的值）";
        VALUE_RAW = "value_raw", "the value cell as typed", "数值单元格原文";
        VALUE_UNROUNDED = "value_unrounded", "a total's value before rounding", "汇总值修约前的值";
        RULE = "rule", "the review rule's id in the rules file", "审核公式编号";
        RULE_NAME = "rule_name", "the rule's name", "审核公式名称（英文）";
        RULE_NAME_ZH = "rule_name_zh", "the rule's Chinese name", "审核公式名称";
        SEVERITY = "severity", "error (强制性: failing figures are quarantined) or warning (核实性: a finding until explained)", "审核性质：error 强制性（未通过的数据不予发布），warning 核实性（需说明）";
        EXPRESSION = "expression", "the rule as written", "审核公式原文";
        TOLERANCE = "tolerance", "the rule's tolerance as written (empty: exact; 0.5: an amount; 0.1%: a share of the right-hand side)", "容差（空为精确；数值为绝对量；百分数为右侧的比例）";
        CHECK_OUTCOME = "outcome", "pass, fail, explained (a warning whose figures carry a note) or not_evaluated", "审核结果：pass 通过，fail 未通过，explained 已说明，not_evaluated 未评估";
        COMPARISON = "comparison", "the comparison that decided (the first that failed, else the first)", "决定结果的比较符";
        LEFT = "left", "its left-hand side, exactly (≈ marks a quotient that does not end, at 10 decimals)", "比较左侧的精确值（≈ 表示无限小数，保留10位）";
        RIGHT = "right", "its right-hand side, exactly", "比较右侧的精确值";
        NOT_EVALUATED_REASON = "not_evaluated_reason", "why the rule was not evaluated: a figure missing, no growth, a division by zero", "未评估的原因：数据缺失、无法计算增长、除数为零";
        EXPLANATION = "explanation", "the note that explains a warning's finding", "说明该审核发现的备注";
        FIGURES_READ = "figures_read", "every figure the rule read: indicator, year, what, value and where it came from", "审核公式读取的每个数据：指标、年度、取值方式、数值及来源";
        QUARANTINED = "quarantined", "whether the figures the rule read that year were quarantined (an error rule that failed)", "该年度读取的数据是否因未通过强制性审核而隔离";
    }

    /// What column `name` holds, in English and Chinese.
    pub fn description(name: &str) -> Option<(&'static str, &'static str)> {
        DESCRIPTIONS.iter().find(|(n, ..)| *n == name).map(|(_, en, zh)| (*en, *zh))
    }
}
