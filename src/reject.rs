//! The error catalog: every reason a row is quarantined or a warning is
//! raised, with a stable code and a message in Chinese and English.
//!
//! Codes are part of the output contract (`quarantine.csv`,
//! `warnings.csv`): they never change meaning; new ones are added.

use serde::Serialize;

use crate::model::FileId;

macro_rules! codes {
    ($($variant:ident = $code:literal, $zh:literal, $en:literal;)*) => {
        /// Why a row was quarantined, or what a warning is about.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
        pub enum Code { $($variant),* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable code written to the outputs.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code),* }
            }

            pub fn zh(self) -> &'static str {
                match self { $(Code::$variant => $zh),* }
            }

            pub fn en(self) -> &'static str {
                match self { $(Code::$variant => $en),* }
            }
        }
    };
}

codes! {
    // Whole file: every row of the file is quarantined with this code.
    NoHeader = "no_header", "没有表头：文件为空，或在表头行之前结束", "no header row: the file is empty, or ends before its header row";
    Encoding = "encoding", "文件编码无法识别（既非 UTF-8 也非 GB18030）", "file is neither UTF-8 nor GB18030";
    BlankHeader = "blank_header", "表头有空列名", "a header cell is blank";
    DuplicateHeader = "duplicate_header", "表头列名重复", "two header cells name the same field";
    MissingColumn = "missing_column", "缺少必填列", "a required column is missing";
    LayoutUnknown = "layout_unknown", "无法判断表格格式（长表或宽表）", "cannot tell the layout (long or wide) from the header";
    // One row (UnclosedQuote and ControlCharacter also a whole file, when
    // its header has one).
    LineTooLong = "line_too_long", "行内容过长", "a record is longer than a record can be";
    UnclosedQuote = "unclosed_quote", "引号未闭合（该行之后的各行按新行读取）", "a quote opens in this row and never closes; the lines after it are read as rows";
    ControlCharacter = "control_character", "单元格含控制字符（如 NUL）", "a cell holds a control character (such as NUL)";
    WorkbookTooLarge = "workbook_too_large", "工作簿过大：读取所需超出上限", "the workbook would take more than the limits to read";
    UnreadableWorkbook = "unreadable_workbook", "工作簿无法读取，或找不到指定的工作表", "the workbook cannot be read, or has no such sheet";
    CellError = "cell_error", "单元格为错误值（如 #DIV/0!、#SPILL!）", "a cell holds a spreadsheet error value (#DIV/0!, #SPILL! …)";
    FormulaWithoutValue = "formula_without_value", "公式单元格没有保存计算结果", "a formula cell has no saved value (the workbook was saved without computing it)";
    ExtraCells = "extra_cells", "单元格多于表头列数", "the row has more cells than the header";
    MissingCells = "missing_cells", "单元格少于表头列数", "the row has fewer cells than the header";
    UnknownAgency = "unknown_agency", "单位代码不在单位名录中", "agency code is not in the register";
    BadYear = "bad_year", "年度应为四位数字", "year must be four digits";
    YearOutOfRange = "year_out_of_range", "年度超出允许范围", "year is outside the allowed range";
    UnknownIndicator = "unknown_indicator", "指标代码不在指标目录中", "indicator code is not in the catalog";
    UnknownUnit = "unknown_unit", "计量单位无法识别", "unit is not in the unit table";
    UnitMismatch = "unit_mismatch", "计量单位无法换算为该指标的基本单位", "unit does not convert to the indicator's base unit";
    MissingWithoutNote = "missing_without_note", "数值缺失且备注未说明原因", "value is missing and no note says why";
    BadNumber = "bad_number", "数值无法识别", "value is not a number";
    TooManyDigits = "too_many_digits", "数值整数位数超过上限", "the number has more integer digits than a value can hold";
    TooManyDecimals = "too_many_decimals", "数值小数位数超过上限", "the number has more decimals than a value can hold";
    BadTarget = "bad_target", "目标值无法识别", "target is not a number";
    BelowMinimum = "below_minimum", "数值低于该指标的最小可能值（如人数为负）", "value is below the indicator's minimum (a negative head count)";
    OutOfRange = "out_of_range", "换算后数值超出可表示范围", "value is too large after unit conversion";
    DuplicateConflict = "duplicate_conflict", "同一文件中同一单位、指标、年度出现多次且数值不一致", "the same agency, indicator and year appear again in this file with other figures";
    DuplicateIdentical = "duplicate_identical", "同一文件中重复的记录（与前一行相同）", "repeats an earlier row of this file";
    RuleFailed = "rule_failed", "未通过强制性审核公式", "fails an error rule of the review rules (its figures are not published)";
    // Warnings: the row is kept.
    BlankRow = "blank_row", "空行，已跳过", "blank row, skipped";
    TitleRow = "title_row", "表头上方的标题行，已跳过", "a title row above the header, skipped";
    FootnoteRow = "footnote_row", "表格下方的注释行，已跳过", "a footnote row below the data, skipped";
    RecordAfterFootnote = "record_after_footnote", "注释行之后的数据行，已按数据读取，请核实", "a row after a footnote reads as a record: read as one, please check";
    NoRows = "no_rows", "文件有表头但没有数据行", "the file has a header and no data rows";
    RateAbove100 = "rate_above_100", "比率超过100%，已保留，请核实", "rate above 100%, kept: please check";
    UnknownColumn = "unknown_column", "未知列，已忽略", "unknown column, ignored";
    ConstantUnused = "constant_unused", "来源设定的常量未使用：文件有该字段的列", "a constant of the source is not used: the file has a column for its field";
    SourceColumnMissing = "source_column_missing", "来源映射的列名在表头中不存在", "a column the source maps is not in the header";
    UnitAssumed = "unit_assumed", "未给出计量单位，按基本单位读取", "no unit given: read in base units";
    NameMismatch = "name_mismatch", "指标名称与指标目录不一致", "indicator name differs from the catalog";
    BadClaim = "bad_claim", "报告的完成率或增长无法识别，按空值处理", "claimed figure is not a number, kept as empty";
}

/// One quarantined row, or one warning: where, what and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Issue {
    pub file: FileId,
    /// 1-based line of the record (of the header for header warnings).
    pub line: u64,
    /// Byte offset of the record in the file as sent.
    pub byte: u64,
    /// The header cell of the field, as written in the file.
    pub field: String,
    /// The cell's text as sent.
    pub raw: String,
    pub code: Code,
    pub detail: Detail,
}

/// An issue's specifics, with the values involved, in English and in
/// Chinese: `message_en` and `message_zh` each carry their own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Detail {
    pub en: String,
    pub zh: String,
}

impl Detail {
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Detail {
        Detail { en: en.into(), zh: zh.into() }
    }

    pub fn is_empty(&self) -> bool {
        self.en.is_empty() && self.zh.is_empty()
    }
}

impl Issue {
    /// An issue with `code` at a line and byte of `file`, no field, raw
    /// text or detail (yet).
    pub fn at(file: FileId, line: u64, byte: u64, code: Code) -> Issue {
        Issue { file, line, byte, field: String::new(), raw: String::new(), code, detail: Detail::default() }
    }

    pub fn message_en(&self) -> String {
        let d = &self.detail.en;
        if d.is_empty() { self.code.en().to_owned() } else { format!("{}: {d}", self.code.en()) }
    }

    pub fn message_zh(&self) -> String {
        let d = &self.detail.zh;
        if d.is_empty() { self.code.zh().to_owned() } else { format!("{}（{d}）", self.code.zh()) }
    }
}

/// The issues of `a` and `b` (each in file order) in one list in file
/// order: by file, then line and byte.
pub fn in_file_order(a: &[Issue], b: &[Issue]) -> Vec<Issue> {
    let mut all: Vec<Issue> = a.iter().chain(b).cloned().collect();
    all.sort_by_key(|i| (i.file, i.line, i.byte));
    all
}
