//! `audit.xlsx`: every percentage as a live spreadsheet formula over its
//! inputs, so an auditor opening it in Excel, WPS or LibreOffice sees the
//! spreadsheet compute the same figures yearbook printed.
//!
//! One sheet per year, a row per metric: the inputs as numbers, the
//! formulas (`=ROUND(F2/G2*100,1)`), yearbook's printed figures beside
//! them, and the source file, line and raw text. The `totals` sheet gives
//! each total a block: one row per contributor whose cells refer to the
//! row of the year sheet its figure is (a member reported for: its
//! reporter's row), with last year's figure beside it when the growth
//! compares it, and the total's row: the reported figure's row or the
//! contributors' sum, the members' sum and the difference beside it, and
//! the growth over the figures it compares, all as formulas. Built from the run's own Parquet (the same reader as
//! `explain` and `audit`), so it shows exactly what the run wrote.
//!
//! Spreadsheets compute in binary floating point; the figures here agree
//! with yearbook's exact ones except, rarely, on an exact tie that binary
//! cannot hold, which yearbook's exact decimals decide.

use std::collections::BTreeMap;
use std::path::Path;

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Formula, Workbook, Worksheet, XlsxError};

use crate::config::{Aggregation, Direction, Kind};
use crate::decimal::{Decimal, Rounding};
use crate::metrics::{self, Operand};
use crate::model::{NullReason, col, table};
use crate::readback::{Decimals, Outputs, ReadError};

#[derive(Debug, thiserror::Error)]
pub enum WorkbookError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("audit workbook: {0}")]
    Xlsx(#[from] XlsxError),
    #[error("audit workbook: the manifest gives no decimals for indicator `{0}`")]
    NoDecimals(String),
}

/// Rows of a sheet (Excel's limit).
const SHEET_ROWS: usize = 1_048_576;

/// A sheet's columns in order: each column's header, index and letter come
/// from this one list, so a formula's reference and the cell it refers to
/// cannot drift apart. (At most 26 columns: one letter each.)
macro_rules! columns {
    ($name:ident { $($variant:ident = $header:literal),* $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum $name { $($variant),* }

        impl $name {
            const HEADER: &'static [&'static str] = &[$($header),*];

            fn at(self) -> u16 {
                self as u16
            }

            fn letter(self) -> char {
                (b'A' + self as u8) as char
            }

            /// This column's cell in 1-based spreadsheet row `row`.
            fn cell(self, row: u32) -> String {
                format!("{}{row}", self.letter())
            }
        }
    };
}

columns!(Y {
    Agency = "agency",
    Indicator = "indicator",
    IndicatorName = "indicator_name",
    Kind = "kind",
    Direction = "direction",
    Actual = "actual",
    Target = "target",
    Previous = "previous",
    Completion = "completion_pct",
    Growth = "growth_pct",
    Change = "change_pp",
    PrintedCompletion = "yearbook_completion_pct",
    PrintedGrowth = "yearbook_growth_pct",
    PrintedChange = "yearbook_change_pp",
    Unit = "unit",
    UnitSent = "unit_sent",
    ValueRaw = "value_raw",
    TargetRaw = "target_raw",
    SourceFile = "source_file",
    SourceLine = "source_line",
    PreviousSource = "previous_source",
    WhyEmpty = "why_empty",
});

columns!(T {
    Year = "year",
    Agency = "agency",
    Indicator = "indicator",
    Row = "row",
    Value = "value",
    Target = "target",
    Numerator = "numerator",
    Denominator = "denominator",
    Previous = "previous",
    Completion = "completion_pct",
    Growth = "growth_pct",
    Change = "change_pp",
    Members = "members_value",
    Unallocated = "unallocated",
    Compared = "compared",
    ComparedPrevious = "compared_previous",
    ComparedDenominator = "compared_denominator",
    ComparedPreviousDenominator = "compared_previous_denominator",
    PrintedValue = "yearbook_value",
    PrintedCompletion = "yearbook_completion_pct",
    PrintedGrowth = "yearbook_growth_pct",
    PrintedChange = "yearbook_change_pp",
    WhyEmpty = "why_empty",
});

/// The three percentages, each with its formula's column, its printed
/// twin's, and its null reason's column in the metrics and totals tables.
const PERCENTAGES: [(Y, Y, &str, &str); 3] = [
    (Y::Completion, Y::PrintedCompletion, col::COMPLETION_PCT, col::COMPLETION_NULL_REASON),
    (Y::Growth, Y::PrintedGrowth, col::GROWTH_PCT, col::GROWTH_NULL_REASON),
    (Y::Change, Y::PrintedChange, col::CHANGE_PP, col::CHANGE_NULL_REASON),
];

/// A spreadsheet formula rounding `x` to `d` decimals by `rule`.
pub fn round_formula(x: &str, d: u8, rule: Rounding) -> String {
    match rule {
        Rounding::HalfUp => format!("ROUND({x},{d})"),
        // Ties to the even neighbour; otherwise ordinary rounding.
        Rounding::HalfEven => {
            format!("IF(ABS(({x})*10^{d}-TRUNC(({x})*10^{d}))=0.5,2*ROUND(({x})*10^{d}/2,0)/10^{d},ROUND({x},{d}))")
        }
    }
}

fn number(d: Decimal) -> f64 {
    // For the spreadsheet only: it holds numbers as binary floating point.
    d.to_string().parse().unwrap_or(f64::NAN)
}

/// The decimals of an indicator's three percentages (completion, growth,
/// change), as the manifest lists them.
fn decimals_of(decimals: &BTreeMap<String, Decimals>, indicator: &str) -> Result<[u8; 3], WorkbookError> {
    let d = decimals.get(indicator).ok_or_else(|| WorkbookError::NoDecimals(indicator.to_owned()))?;
    Ok([d.completion, d.growth, d.change.unwrap_or(0)])
}

/// One observation's provenance, by (agency, indicator).
#[derive(Default, Clone)]
struct Prov {
    name: String,
    unit_sent: String,
    value_raw: String,
    target_raw: String,
    file: String,
    line: i64,
}

fn provenance(out: &Outputs, year: i32) -> Result<BTreeMap<(String, String), Prov>, ReadError> {
    let mut m = BTreeMap::new();
    out.scan(table::OBSERVATIONS, Some(year), |_, b| {
        let text = |name| Ok::<_, ReadError>(b.present(name, b.text(name)?));
        let (a, ind, name) = (text(col::AGENCY)?, text(col::INDICATOR)?, text(col::INDICATOR_NAME)?);
        let (unit_sent, vr, tr) = (text(col::UNIT_SENT)?, text(col::VALUE_RAW)?, b.text(col::TARGET_RAW)?);
        let (file, line) = (text(col::SOURCE_FILE)?, b.present(col::SOURCE_LINE, b.int(col::SOURCE_LINE)?));
        for i in 0..b.len() {
            m.insert(
                (a(i)?.to_owned(), ind(i)?.to_owned()),
                Prov {
                    name: name(i)?.to_owned(),
                    unit_sent: unit_sent(i)?.to_owned(),
                    value_raw: vr(i)?.to_owned(),
                    target_raw: tr(i).unwrap_or_default().to_owned(),
                    file: file(i)?.to_owned(),
                    line: line(i)?,
                },
            );
        }
        Ok(())
    })?;
    Ok(m)
}

/// A formula that shows `result`, yearbook's own figure, until the
/// spreadsheet recalculates it: a reader that does not compute (pandas,
/// openpyxl, a file preview) sees the figure, not 0.
fn formula(text: String, result: Option<Decimal>) -> Formula {
    let f = Formula::new(format!("={text}"));
    match result {
        Some(d) => f.set_result(d.trimmed().to_string()),
        None => f,
    }
}

/// The number format that shows `decimals` decimals (`0.0`): a spreadsheet
/// drops trailing zeros otherwise (`10.00` shows as `10`).
pub(super) fn decimals_format(decimals: u8) -> Format {
    let pattern = if decimals == 0 { "0".to_owned() } else { format!("0.{}", "0".repeat(usize::from(decimals))) };
    Format::new().set_num_format(pattern)
}

fn sheet_ref(year: i32, column: Y, row: u32) -> String {
    format!("'{year}'!{}", column.cell(row + 1))
}

/// Writes `text` or, when it is empty, leaves the cell blank.
fn text(ws: &mut Worksheet, row: u32, col: u16, text: &str) -> Result<(), XlsxError> {
    if !text.is_empty() {
        ws.write_string(row, col, cell_text(text))?;
    }
    Ok(())
}

/// Excel's limit on a cell's text, in UTF-16 units.
const CELL_TEXT_UNITS: usize = 32_767;

/// `text` as a spreadsheet cell can hold it: past Excel's limit, cut with
/// a mark saying so (the Parquet and the CSVs keep it whole). Nothing a
/// cell holds may stop a run.
pub(super) fn cell_text(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= CELL_TEXT_UNITS || text.encode_utf16().count() <= CELL_TEXT_UNITS {
        return std::borrow::Cow::Borrowed(text);
    }
    let mark = format!(" …[cut: {} characters in all, whole in the Parquet and CSV]", text.chars().count());
    let room = CELL_TEXT_UNITS - mark.encode_utf16().count();
    let mut units = 0;
    let kept: String = text
        .chars()
        .take_while(|c| {
            units += c.len_utf16();
            units <= room
        })
        .collect();
    std::borrow::Cow::Owned(kept + &mark)
}

fn opt_number(ws: &mut Worksheet, row: u32, col: u16, d: Option<Decimal>) -> Result<(), XlsxError> {
    if let Some(d) = d {
        ws.write_number(row, col, number(d))?;
    }
    Ok(())
}

/// [`opt_number`] shown with `decimals` decimals.
fn opt_figure(ws: &mut Worksheet, row: u32, col: u16, d: Option<Decimal>, decimals: u8) -> Result<(), XlsxError> {
    if let Some(d) = d {
        ws.write_number_with_format(row, col, number(d), &decimals_format(decimals))?;
    }
    Ok(())
}

/// The null reasons worth telling a reader (not those of a figure that does
/// not apply to the kind), each after its column's name where given, as
/// `why_empty` lists them.
fn why_empty(reasons: impl IntoIterator<Item = (Option<&'static str>, Option<NullReason>)>) -> String {
    let told: Vec<String> = reasons
        .into_iter()
        .filter_map(|(name, r)| {
            let r = r.filter(|r| !r.by_kind())?.as_str();
            Some(name.map_or_else(|| r.to_owned(), |n| format!("{n}: {r}")))
        })
        .collect();
    told.join("; ")
}

/// One metrics row as a year sheet shows it.
struct MetricRow<'a> {
    agency: &'a str,
    indicator: &'a str,
    kind: Kind,
    direction: Direction,
    unit: &'a str,
    actual: Option<Decimal>,
    target: Option<Decimal>,
    previous: Option<Decimal>,
    printed: [Option<Decimal>; 3],
    why: [Option<NullReason>; 3],
}

/// Writes row `r` of a year sheet: the inputs, a formula for each
/// percentage yearbook computed (completion's quotient in the order
/// `metrics::completion_quotient` gives for the direction), the printed
/// figures and the provenance.
fn metric_row(
    ws: &mut Worksheet,
    r: u32,
    m: &MetricRow<'_>,
    (p, prev): (&Prov, &Prov),
    decimals: [u8; 3],
    rule: Rounding,
) -> Result<(), XlsxError> {
    let row = r + 1;
    let (f, h) = (Y::Actual.cell(row), Y::Previous.cell(row));
    let operand = |o| match o {
        Operand::Actual => Y::Actual.cell(row),
        Operand::Target => Y::Target.cell(row),
    };
    let completion =
        metrics::completion_quotient(m.direction).map(|(n, d)| format!("{}/{}*100", operand(n), operand(d)));
    let formulas = [completion, Some(format!("({f}-{h})/{h}*100")), Some(format!("{f}-{h}"))];
    ws.write_string(r, Y::Agency.at(), cell_text(m.agency))?;
    ws.write_string(r, Y::Indicator.at(), cell_text(m.indicator))?;
    text(ws, r, Y::IndicatorName.at(), &p.name)?;
    text(ws, r, Y::Kind.at(), m.kind.name())?;
    text(ws, r, Y::Direction.at(), m.direction.name())?;
    opt_number(ws, r, Y::Actual.at(), m.actual)?;
    opt_number(ws, r, Y::Target.at(), m.target)?;
    opt_number(ws, r, Y::Previous.at(), m.previous)?;
    for (k, (formula_col, printed_col, ..)) in PERCENTAGES.iter().enumerate() {
        if let (None, Some(x)) = (m.why[k], &formulas[k]) {
            let f = formula(round_formula(x, decimals[k], rule), m.printed[k]);
            ws.write_formula_with_format(r, formula_col.at(), f, &decimals_format(decimals[k]))?;
        }
        opt_figure(ws, r, printed_col.at(), m.printed[k], decimals[k])?;
    }
    text(ws, r, Y::Unit.at(), m.unit)?;
    text(ws, r, Y::UnitSent.at(), &p.unit_sent)?;
    text(ws, r, Y::ValueRaw.at(), &p.value_raw)?;
    text(ws, r, Y::TargetRaw.at(), &p.target_raw)?;
    text(ws, r, Y::SourceFile.at(), &p.file)?;
    ws.write_number(r, Y::SourceLine.at(), p.line as f64)?;
    if !prev.file.is_empty() {
        ws.write_string(
            r,
            Y::PreviousSource.at(),
            cell_text(&format!("{}:{} ({})", prev.file, prev.line, prev.value_raw)),
        )?;
    }
    let named = PERCENTAGES.iter().zip(m.why).map(|((c, ..), w)| (Some(Y::HEADER[c.at() as usize]), w));
    text(ws, r, Y::WhyEmpty.at(), &why_empty(named))?;
    Ok(())
}

/// (year, agency, indicator) → a year sheet's row, its actual and target.
type Rows = BTreeMap<(i32, String, String), (u32, Option<Decimal>, Option<Decimal>)>;

/// Writes the audit workbook of the run in `out` to `path`.
pub fn write(out: &Outputs, path: &Path) -> Result<(), WorkbookError> {
    let rule = out.manifest.rounding.rule;
    let decimals = &out.manifest.rounding.indicators;
    let mut wb = Workbook::new();
    // A fixed creation time keeps the file byte-identical across runs.
    wb.set_properties(&DocProperties::new().set_creation_datetime(&ExcelDateTime::from_ymd(2000, 1, 1)?));
    let bold = Format::new().set_bold();
    let years: Vec<i32> = {
        let mut y: Vec<i32> = out.parts(table::METRICS, None).into_iter().map(|(y, _)| y).collect();
        y.dedup();
        y
    };
    // (year, agency, indicator) → the row of the year sheet, its actual and
    // its target.
    let mut rows: Rows = BTreeMap::new();
    let mut before = BTreeMap::new();
    let no_prov = Prov::default();
    for &year in &years {
        let prov = provenance(out, year)?;
        let ws = wb.add_worksheet();
        ws.set_name(year.to_string())?;
        for (c, h) in Y::HEADER.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        ws.set_freeze_panes(1, 2)?;
        let mut r = 1u32;
        // The scan's callback can only return a read error: anything else
        // is kept here and returned after it.
        let mut failed: Option<WorkbookError> = None;
        out.scan(table::METRICS, Some(year), |_, b| {
            let text = |name| Ok::<_, ReadError>(b.present(name, b.text(name)?));
            let (agency, indicator, unit) = (text(col::AGENCY)?, text(col::INDICATOR)?, text(col::UNIT)?);
            let (kind, direction) = (b.named_present::<Kind>(col::KIND)?, b.named_present(col::DIRECTION)?);
            let (actual, target, previous) =
                (b.decimal(col::ACTUAL)?, b.decimal(col::TARGET)?, b.decimal(col::PREVIOUS)?);
            let [(.., p0, w0), (.., p1, w1), (.., p2, w2)] = PERCENTAGES;
            let printed = [b.decimal(p0)?, b.decimal(p1)?, b.decimal(p2)?];
            let why = [b.named::<NullReason>(w0)?, b.named(w1)?, b.named(w2)?];
            for i in 0..b.len() {
                let (a, ind) = (agency(i)?, indicator(i)?);
                let key = (a.to_owned(), ind.to_owned());
                let m = MetricRow {
                    agency: a,
                    indicator: ind,
                    kind: kind(i)?,
                    direction: direction(i)?,
                    unit: unit(i)?,
                    actual: actual(i),
                    target: target(i),
                    previous: previous(i),
                    printed: [printed[0](i), printed[1](i), printed[2](i)],
                    why: [why[0](i)?, why[1](i)?, why[2](i)?],
                };
                let p = prov.get(&key).cloned().unwrap_or_default();
                let prev = before.get(&key).unwrap_or(&no_prov);
                let res = decimals_of(decimals, ind).and_then(|d| {
                    let ws = wb.worksheet_from_name(&year.to_string())?;
                    Ok(metric_row(ws, r, &m, (&p, prev), d, rule)?)
                });
                if let Err(e) = res {
                    failed.get_or_insert(e);
                }
                rows.insert((year, key.0, key.1), (r, m.actual, m.target));
                r += 1;
            }
            Ok(())
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        before = prov;
    }
    totals_sheet(out, &mut wb, &rows, &years, rule)?;
    let bytes = wb.save_to_buffer()?;
    std::fs::write(path, bytes).map_err(|e| WorkbookError::Xlsx(XlsxError::IoError(e)))?;
    Ok(())
}

/// Which agency's row of a year sheet each reported total is, and each
/// total's contributors, by (year, total, indicator): read before the
/// blocks, which refer to members' and last year's.
#[derive(Default)]
struct TotalsIndex {
    reporter: BTreeMap<(i32, String, String), String>,
    listed: BTreeMap<(i32, String, String), Vec<String>>,
}

impl TotalsIndex {
    fn read(out: &Outputs, years: &[i32]) -> Result<TotalsIndex, ReadError> {
        let mut index = TotalsIndex::default();
        for &year in years {
            out.scan(table::TOTALS, Some(year), |_, b| {
                let (agency, indicator) = (b.text(col::AGENCY)?, b.text(col::INDICATOR)?);
                let (basis, by, contributors) =
                    (b.text(col::VALUE_BASIS)?, b.text(col::REPORTED_BY)?, b.text_list(col::CONTRIBUTORS)?);
                for i in 0..b.len() {
                    let (Some(a), Some(ind)) = (agency(i), indicator(i)) else { continue };
                    let key = (year, a.to_owned(), ind.to_owned());
                    if let (Some("reported"), Some(by)) = (basis(i), by(i)) {
                        index.reporter.insert(key.clone(), by.to_owned());
                    }
                    index.listed.insert(key, contributors(i).into_iter().map(str::to_owned).collect());
                }
                Ok(())
            })?;
        }
        Ok(index)
    }

    /// The year sheet's row of `agency`'s figure of `ind` in `year`: its
    /// reporter's, for a total reported for.
    fn row_of(
        &self,
        rows: &Rows,
        year: i32,
        agency: &str,
        ind: &str,
    ) -> Option<(u32, Option<Decimal>, Option<Decimal>)> {
        let key = (year, agency.to_owned(), ind.to_owned());
        let from = self.reporter.get(&key).cloned().unwrap_or_else(|| agency.to_owned());
        rows.get(&(year, from, ind.to_owned())).copied()
    }
}

/// One total's row of the totals table, as its block needs it.
struct Block<'a> {
    year: i32,
    agency: String,
    ind: String,
    ratio: bool,
    reported: bool,
    comparable: bool,
    /// A rate's numerator and denominator indicators.
    parts: (&'a str, &'a str),
    contributors: Vec<&'a str>,
    /// Last year's contributors, of which a comparable growth compares those
    /// still here.
    before: Vec<String>,
    value: Option<Decimal>,
    target: Option<Decimal>,
    numerator: Option<Decimal>,
    denominator: Option<Decimal>,
    previous: Option<Decimal>,
    compared: Option<Decimal>,
    members: Option<Decimal>,
    unallocated: Option<Decimal>,
    printed: [Option<Decimal>; 3],
    why: [Option<NullReason>; 3],
}

/// The `totals` sheet: per total, its contributors' rows referring to the
/// year sheets, then the total's row with the value, the sums and the
/// percentages as formulas over them, as `crate::aggregate` computes them:
/// a reported figure is its row's; else Σ for a sum, Σ numerator /
/// Σ denominator × 100 for a ratio; the growth over what it compares.
fn totals_sheet(
    out: &Outputs,
    wb: &mut Workbook,
    rows: &Rows,
    years: &[i32],
    rule: Rounding,
) -> Result<(), WorkbookError> {
    let decimals = &out.manifest.rounding.indicators;
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name("totals")?;
    for (c, h) in T::HEADER.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    ws.set_freeze_panes(1, 0)?;
    let index = TotalsIndex::read(out, years)?;
    // (year, parent, indicator) → the total's row here.
    let mut total_rows: BTreeMap<(i32, String, String), u32> = BTreeMap::new();
    let mut r = 1u32;
    let mut failed: Option<WorkbookError> = None;
    let mut truncated = false;
    for &year in years {
        out.scan(table::TOTALS, Some(year), |_, b| {
            let present = |name| Ok::<_, ReadError>(b.present(name, b.text(name)?));
            let (agency, indicator) = (present(col::AGENCY)?, present(col::INDICATOR)?);
            let aggregation = b.named_present::<Aggregation>(col::AGGREGATION)?;
            let (num_ind, den_ind) = (b.text(col::NUMERATOR_INDICATOR)?, b.text(col::DENOMINATOR_INDICATOR)?);
            let (contributors, value) = (b.text_list(col::CONTRIBUTORS)?, b.decimal(col::VALUE)?);
            let [(.., p0, w0), (.., p1, w1), (.., p2, w2)] = PERCENTAGES;
            let printed = [b.decimal(p0)?, b.decimal(p1)?, b.decimal(p2)?];
            let why = [b.named::<NullReason>(w0)?, b.named(w1)?, b.named(w2)?];
            let target = b.decimal(col::TARGET)?;
            let (numerator, denominator) = (b.decimal(col::NUMERATOR)?, b.decimal(col::DENOMINATOR)?);
            let (previous, compared) = (b.decimal(col::PREVIOUS)?, b.decimal(col::COMPARED)?);
            let (members, unallocated) = (b.decimal(col::MEMBERS_VALUE)?, b.decimal(col::UNALLOCATED)?);
            let (value_basis, growth_basis) = (b.text(col::VALUE_BASIS)?, b.text(col::GROWTH_BASIS)?);
            for i in 0..b.len() {
                let (a, ind) = (agency(i)?.to_owned(), indicator(i)?.to_owned());
                // A sheet holds 1 048 576 rows: past that, one row says where
                // the rest is.
                if r as usize + contributors(i).len() + 2 > SHEET_ROWS {
                    if !truncated {
                        let note = "… more totals than a sheet holds: yearbook explain shows any of them";
                        if let Err(e) =
                            wb.worksheet_from_name("totals").and_then(|ws| ws.write_string(r, 0, cell_text(note)))
                        {
                            failed.get_or_insert(e.into());
                        }
                        truncated = true;
                    }
                    continue;
                }
                let block = Block {
                    year,
                    ratio: aggregation(i)? == Aggregation::Ratio,
                    reported: value_basis(i) == Some("reported"),
                    comparable: growth_basis(i) == Some("comparable"),
                    parts: (num_ind(i).unwrap_or_default(), den_ind(i).unwrap_or_default()),
                    contributors: contributors(i),
                    before: index.listed.get(&(year - 1, a.clone(), ind.clone())).cloned().unwrap_or_default(),
                    value: value(i),
                    target: target(i),
                    numerator: numerator(i),
                    denominator: denominator(i),
                    previous: previous(i),
                    compared: compared(i),
                    members: members(i),
                    unallocated: unallocated(i),
                    printed: [printed[0](i), printed[1](i), printed[2](i)],
                    why: [why[0](i)?, why[1](i)?, why[2](i)?],
                    agency: a,
                    ind,
                };
                let first = r;
                let prev = total_rows.get(&(year - 1, block.agency.clone(), block.ind.clone())).map(|&p| p + 1);
                let res = decimals_of(decimals, &block.ind).and_then(|d| {
                    r = contributor_rows(wb, &index, rows, &block, r)?;
                    total_row(wb, &index, rows, &block, (first, r, prev), d, rule)
                });
                if let Err(e) = res {
                    failed.get_or_insert(e);
                }
                total_rows.insert((year, block.agency, block.ind), r);
                r += 1;
            }
            Ok(())
        })?;
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// A total's contributor rows from row `r` on, each referring to the row
/// of the year sheet its figure is, with last year's beside it when the
/// growth compares it; returns the row after them.
fn contributor_rows(
    wb: &mut Workbook,
    index: &TotalsIndex,
    rows: &Rows,
    block: &Block<'_>,
    mut r: u32,
) -> Result<u32, WorkbookError> {
    let (year, ind, (n, d)) = (block.year, block.ind.as_str(), block.parts);
    for &c in &block.contributors {
        ws_row_label(wb, r, year, c, ind, "agency")?;
        let ws = wb.worksheet_from_name("totals")?;
        let refer = |ws: &mut Worksheet, at: T, y: i32, row: u32, column: Y, shown: Option<Decimal>| {
            ws.write_formula(r, at.at(), formula(sheet_ref(y, column, row), shown)).map(|_| ())
        };
        let row_of = |y: i32, code: &str| index.row_of(rows, y, c, code);
        // Last year's figure, where the growth compares it.
        let then = block.comparable && block.before.iter().any(|x| x == c);
        if block.ratio {
            if let (Some((nr, nv, _)), Some((dr, dv, _))) = (row_of(year, n), row_of(year, d)) {
                refer(ws, T::Numerator, year, nr, Y::Actual, nv)?;
                refer(ws, T::Denominator, year, dr, Y::Actual, dv)?;
                if then && let (Some((pn, pnv, _)), Some((pd, pdv, _))) = (row_of(year - 1, n), row_of(year - 1, d)) {
                    refer(ws, T::Compared, year, nr, Y::Actual, nv)?;
                    refer(ws, T::ComparedDenominator, year, dr, Y::Actual, dv)?;
                    refer(ws, T::ComparedPrevious, year - 1, pn, Y::Actual, pnv)?;
                    refer(ws, T::ComparedPreviousDenominator, year - 1, pd, Y::Actual, pdv)?;
                }
            }
        } else if let Some((sr, sv, st)) = row_of(year, ind) {
            refer(ws, T::Value, year, sr, Y::Actual, sv)?;
            if block.target.is_some() && !block.reported {
                refer(ws, T::Target, year, sr, Y::Target, st)?;
            }
            if then && let Some((pr, pv, _)) = row_of(year - 1, ind) {
                refer(ws, T::Compared, year, sr, Y::Actual, sv)?;
                refer(ws, T::ComparedPrevious, year - 1, pr, Y::Actual, pv)?;
            }
        }
        r += 1;
    }
    Ok(r)
}

/// A total's own row `r` (its contributors' rows from `first` on, last
/// year's total's row `prev`): its value (the reported row's or the sum),
/// members' sum and difference, both sides of the comparison and the
/// percentages, as formulas showing the run's own figures.
fn total_row(
    wb: &mut Workbook,
    index: &TotalsIndex,
    rows: &Rows,
    block: &Block<'_>,
    (first, r, prev): (u32, u32, Option<u32>),
    [dc, dg, dch]: [u8; 3],
    rule: Rounding,
) -> Result<(), WorkbookError> {
    let (year, a, ind, (n, d)) = (block.year, block.agency.as_str(), block.ind.as_str(), block.parts);
    ws_row_label(wb, r, year, a, ind, "total")?;
    let ws = wb.worksheet_from_name("totals")?;
    let tr = r + 1;
    let range = |c: T| if r > first { format!("SUM({}:{})", c.cell(first + 1), c.cell(r)) } else { "0".to_owned() };
    // The percentages with their decimals.
    let mut put = |at: T, x: String, shown: Option<Decimal>, decimals: Option<u8>| match decimals {
        Some(d) => ws.write_formula_with_format(r, at.at(), formula(x, shown), &decimals_format(d)).map(|_| ()),
        None => ws.write_formula(r, at.at(), formula(x, shown)).map(|_| ()),
    };
    let [pc, pg, pch] = block.printed;
    let why = block.why;
    // What the value is: the reported row's, else the sum.
    let own = |part: &str| index.row_of(rows, year, a, part).filter(|_| block.reported);
    let (cc, pv) = (T::Compared.cell(tr), T::Previous.cell(tr));
    if block.ratio {
        let (nc, dc_) = (T::Numerator.cell(tr), T::Denominator.cell(tr));
        let rate = round_formula(&format!("{nc}/{dc_}*100"), dch, rule);
        match (own(n), own(d)) {
            (Some((nr, nv, _)), Some((dr, dv, _))) => {
                put(T::Numerator, sheet_ref(year, Y::Actual, nr), nv, None)?;
                put(T::Denominator, sheet_ref(year, Y::Actual, dr), dv, None)?;
                let sums = format!("{}/{}*100", range(T::Numerator), range(T::Denominator));
                if r > first {
                    put(T::Members, round_formula(&sums, dch, rule), block.members, Some(dch))?;
                }
            }
            _ => {
                put(T::Numerator, range(T::Numerator), block.numerator, None)?;
                put(T::Denominator, range(T::Denominator), block.denominator, None)?;
                if block.value.is_some() {
                    put(T::Members, rate.clone(), block.members, Some(dch))?;
                }
            }
        }
        if block.value.is_some() {
            put(T::Value, rate, block.value, Some(dch))?;
        }
        if why[2].is_none() {
            if block.comparable {
                let x = |a: T, b: T| format!("{}/{}*100", range(a), range(b));
                put(T::Compared, x(T::Compared, T::ComparedDenominator), block.compared, None)?;
                let before = x(T::ComparedPrevious, T::ComparedPreviousDenominator);
                put(T::Previous, before, block.previous, None)?;
            } else if let Some(p) = prev {
                put(T::Compared, format!("{nc}/{dc_}*100"), block.compared, None)?;
                let x = format!("{}/{}*100", T::Numerator.cell(p), T::Denominator.cell(p));
                put(T::Previous, x, block.previous, None)?;
            }
            put(T::Change, round_formula(&format!("{cc}-{pv}"), dch, rule), pch, Some(dch))?;
        }
    } else {
        let (v, t) = (T::Value.cell(tr), T::Target.cell(tr));
        match own(ind) {
            Some((sr, sv, st)) => {
                put(T::Value, sheet_ref(year, Y::Actual, sr), sv, None)?;
                if block.target.is_some() {
                    put(T::Target, sheet_ref(year, Y::Target, sr), st, None)?;
                }
                if r > first {
                    put(T::Members, range(T::Value), block.members, None)?;
                    put(T::Unallocated, format!("{v}-{}", T::Members.cell(tr)), block.unallocated, None)?;
                }
            }
            None => {
                if block.value.is_some() {
                    put(T::Value, range(T::Value), block.value, None)?;
                    put(T::Members, v.clone(), block.members, None)?;
                }
                if block.target.is_some() {
                    put(T::Target, range(T::Target), block.target, None)?;
                }
            }
        }
        if block.comparable {
            put(T::Compared, range(T::Compared), block.compared, None)?;
            put(T::Previous, range(T::ComparedPrevious), block.previous, None)?;
        } else if let Some(p) = prev.filter(|_| why[1].is_none() || why[2].is_none()) {
            put(T::Compared, v.clone(), block.compared, None)?;
            put(T::Previous, T::Value.cell(p), block.previous, None)?;
        }
        if why[0].is_none() {
            put(T::Completion, round_formula(&format!("{v}/{t}*100"), dc, rule), pc, Some(dc))?;
        }
        if why[1].is_none() {
            put(T::Growth, round_formula(&format!("({cc}-{pv})/{pv}*100"), dg, rule), pg, Some(dg))?;
        }
        if why[2].is_none() {
            put(T::Change, round_formula(&format!("{cc}-{pv}"), dch, rule), pch, Some(dch))?;
        }
    }
    opt_number(ws, r, T::PrintedValue.at(), block.value)?;
    let printed_cols = [T::PrintedCompletion, T::PrintedGrowth, T::PrintedChange];
    for ((at, p), d) in printed_cols.into_iter().zip(block.printed).zip([dc, dg, dch]) {
        opt_figure(ws, r, at.at(), p, d)?;
    }
    text(ws, r, T::WhyEmpty.at(), &why_empty(why.map(|w| (None, w))))?;
    Ok(())
}

fn ws_row_label(
    wb: &mut Workbook,
    r: u32,
    year: i32,
    agency: &str,
    indicator: &str,
    what: &str,
) -> Result<(), XlsxError> {
    let ws = wb.worksheet_from_name("totals")?;
    ws.write_number(r, T::Year.at(), f64::from(year))?;
    ws.write_string(r, T::Agency.at(), cell_text(agency))?;
    ws.write_string(r, T::Indicator.at(), cell_text(indicator))?;
    ws.write_string(r, T::Row.at(), cell_text(what))?;
    Ok(())
}
