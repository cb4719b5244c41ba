//! `audit.xlsx`: every percentage as a live spreadsheet formula over its
//! inputs, so an auditor opening it in Excel, WPS or LibreOffice sees the
//! spreadsheet compute the same figures yearbook printed.
//!
//! One sheet per year, a row per metric: the inputs as numbers, the
//! formulas (`=ROUND(F2/G2*100,1)`), yearbook's printed figures beside
//! them, and the source file, line and raw text. The `totals` sheet gives
//! each total a block: one row per contributing agency whose cells refer
//! to that agency's row of the year sheet, and the total's row summing
//! them with formulas. Built from the run's own Parquet (the same reader as
//! `explain` and `audit`), so it shows exactly what the run wrote.
//!
//! Spreadsheets compute in binary floating point; the figures here agree
//! with yearbook's exact ones except, rarely, on an exact tie that binary
//! cannot hold, which yearbook's exact decimals decide.

use std::collections::BTreeMap;
use std::path::Path;

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Formula, Workbook, Worksheet, XlsxError};

use crate::decimal::{Decimal, Rounding};
use crate::model::{col, table};
use crate::readback::{Outputs, ReadError};

#[derive(Debug, thiserror::Error)]
pub enum WorkbookError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("audit workbook: {0}")]
    Xlsx(#[from] XlsxError),
}

/// Rows of a sheet (Excel's limit).
const SHEET_ROWS: usize = 1_048_576;

/// The year sheet's columns, in order.
const YEAR_HEADER: [&str; 22] = [
    "agency",
    "indicator",
    "indicator_name",
    "kind",
    "direction",
    "actual",
    "target",
    "previous",
    "completion_pct",
    "growth_pct",
    "change_pp",
    "yearbook_completion_pct",
    "yearbook_growth_pct",
    "yearbook_change_pp",
    "unit",
    "unit_sent",
    "value_raw",
    "target_raw",
    "source_file",
    "source_line",
    "previous_source",
    "why_empty",
];
// Column letters of the inputs and formulas above.
const ACTUAL: &str = "F";
const TARGET: &str = "G";
const PREVIOUS: &str = "H";

const TOTALS_HEADER: [&str; 17] = [
    "year",
    "agency",
    "indicator",
    "row",
    "value",
    "target",
    "numerator",
    "denominator",
    "previous",
    "completion_pct",
    "growth_pct",
    "change_pp",
    "yearbook_value",
    "yearbook_completion_pct",
    "yearbook_growth_pct",
    "yearbook_change_pp",
    "why_empty",
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
        let (a, ind, name) = (b.text(col::AGENCY)?, b.text(col::INDICATOR)?, b.text(col::INDICATOR_NAME)?);
        let (unit_sent, vr, tr) = (b.text(col::UNIT_SENT)?, b.text(col::VALUE_RAW)?, b.text(col::TARGET_RAW)?);
        let (file, line) = (b.text(col::SOURCE_FILE)?, b.int(col::SOURCE_LINE)?);
        let s = |x: Option<&str>| x.unwrap_or_default().to_owned();
        for i in 0..b.len() {
            m.insert(
                (s(a(i)), s(ind(i))),
                Prov {
                    name: s(name(i)),
                    unit_sent: s(unit_sent(i)),
                    value_raw: s(vr(i)),
                    target_raw: s(tr(i)),
                    file: s(file(i)),
                    line: line(i).unwrap_or(0),
                },
            );
        }
        Ok(())
    })?;
    Ok(m)
}

fn sheet_ref(year: i32, col: &str, row: u32) -> String {
    format!("'{year}'!{col}{}", row + 1)
}

/// Writes `text` or, when it is empty, leaves the cell blank.
fn text(ws: &mut Worksheet, row: u32, col: u16, text: &str) -> Result<(), XlsxError> {
    if !text.is_empty() {
        ws.write_string(row, col, text)?;
    }
    Ok(())
}

fn opt_number(ws: &mut Worksheet, row: u32, col: u16, d: Option<Decimal>) -> Result<(), XlsxError> {
    if let Some(d) = d {
        ws.write_number(row, col, number(d))?;
    }
    Ok(())
}

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
    // (year, agency, indicator) → row of the year sheet.
    let mut rows: BTreeMap<(i32, String, String), u32> = BTreeMap::new();
    let mut before = BTreeMap::new();
    let no_prov = Prov::default();
    for &year in &years {
        let prov = provenance(out, year)?;
        let ws = wb.add_worksheet();
        ws.set_name(year.to_string())?;
        for (c, h) in YEAR_HEADER.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        ws.set_freeze_panes(1, 2)?;
        let mut r = 1u32;
        let mut failed = None;
        out.scan(table::METRICS, Some(year), |_, b| {
            let (agency, indicator, kind, direction, unit) = (
                b.text(col::AGENCY)?,
                b.text(col::INDICATOR)?,
                b.text(col::KIND)?,
                b.text(col::DIRECTION)?,
                b.text(col::UNIT)?,
            );
            let (actual, target, previous) =
                (b.decimal(col::ACTUAL)?, b.decimal(col::TARGET)?, b.decimal(col::PREVIOUS)?);
            let pcts = [b.decimal(col::COMPLETION_PCT)?, b.decimal(col::GROWTH_PCT)?, b.decimal(col::CHANGE_PP)?];
            let why = [
                b.text(col::COMPLETION_NULL_REASON)?,
                b.text(col::GROWTH_NULL_REASON)?,
                b.text(col::CHANGE_NULL_REASON)?,
            ];
            for i in 0..b.len() {
                let (a, ind) = (agency(i).unwrap_or_default().to_owned(), indicator(i).unwrap_or_default().to_owned());
                let p = prov.get(&(a.clone(), ind.clone())).cloned().unwrap_or_default();
                let prev = before.get(&(a.clone(), ind.clone())).unwrap_or(&no_prov);
                let d = decimals.get(&ind).copied();
                let (dc, dg, dch) = d.map_or((0, 0, 0), |d| (d.completion, d.growth, d.change.unwrap_or(0)));
                let row = r + 1;
                let (f, t, h) = (format!("{ACTUAL}{row}"), format!("{TARGET}{row}"), format!("{PREVIOUS}{row}"));
                let completion =
                    if direction(i) == Some("down") { format!("{t}/{f}*100") } else { format!("{f}/{t}*100") };
                let formulas = [
                    round_formula(&completion, dc, rule),
                    round_formula(&format!("({f}-{h})/{h}*100"), dg, rule),
                    round_formula(&format!("{f}-{h}"), dch, rule),
                ];
                let res = (|| -> Result<(), XlsxError> {
                    let ws = wb.worksheet_from_name(&year.to_string())?;
                    ws.write_string(r, 0, &a)?;
                    ws.write_string(r, 1, &ind)?;
                    text(ws, r, 2, &p.name)?;
                    text(ws, r, 3, kind(i).unwrap_or_default())?;
                    text(ws, r, 4, direction(i).unwrap_or_default())?;
                    opt_number(ws, r, 5, actual(i))?;
                    opt_number(ws, r, 6, target(i))?;
                    opt_number(ws, r, 7, previous(i))?;
                    let mut empty = Vec::new();
                    for k in 0..3 {
                        match why[k](i) {
                            None => {
                                ws.write_formula(r, 8 + k as u16, Formula::new(format!("={}", formulas[k])))?;
                            }
                            Some(reason) => {
                                if !matches!(reason, "rate_uses_change_pp" | "not_a_rate") {
                                    empty.push(format!("{}: {reason}", YEAR_HEADER[8 + k]));
                                }
                            }
                        }
                        opt_number(ws, r, 11 + k as u16, pcts[k](i))?;
                    }
                    text(ws, r, 14, unit(i).unwrap_or_default())?;
                    text(ws, r, 15, &p.unit_sent)?;
                    text(ws, r, 16, &p.value_raw)?;
                    text(ws, r, 17, &p.target_raw)?;
                    text(ws, r, 18, &p.file)?;
                    ws.write_number(r, 19, p.line as f64)?;
                    if !prev.file.is_empty() {
                        ws.write_string(r, 20, format!("{}:{} ({})", prev.file, prev.line, prev.value_raw))?;
                    }
                    text(ws, r, 21, &empty.join("; "))?;
                    Ok(())
                })();
                if let Err(e) = res {
                    failed.get_or_insert(e);
                }
                rows.insert((year, a, ind), r);
                r += 1;
            }
            Ok(())
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        before = prov;
    }
    totals_sheet(out, &mut wb, &rows, &years, rule)?;
    let bytes = wb.save_to_buffer()?;
    std::fs::write(path, bytes).map_err(|e| WorkbookError::Xlsx(XlsxError::IoError(e)))?;
    Ok(())
}

/// The `totals` sheet: per total, its contributors' rows referring to the
/// year sheets, then the total's row with the sums and percentages as
/// formulas over them.
fn totals_sheet(
    out: &Outputs,
    wb: &mut Workbook,
    rows: &BTreeMap<(i32, String, String), u32>,
    years: &[i32],
    rule: Rounding,
) -> Result<(), WorkbookError> {
    let decimals = &out.manifest.rounding.indicators;
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name("totals")?;
    for (c, h) in TOTALS_HEADER.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    ws.set_freeze_panes(1, 0)?;
    // (year, parent, indicator) → the total's row here.
    let mut total_rows: BTreeMap<(i32, String, String), u32> = BTreeMap::new();
    let mut r = 1u32;
    let mut failed = None;
    let mut truncated = false;
    for &year in years {
        out.scan(table::TOTALS, Some(year), |_, b| {
            let (agency, indicator, aggregation) =
                (b.text(col::AGENCY)?, b.text(col::INDICATOR)?, b.text(col::AGGREGATION)?);
            let (num_ind, den_ind) = (b.text(col::NUMERATOR_INDICATOR)?, b.text(col::DENOMINATOR_INDICATOR)?);
            let (contributors, value) = (b.text_list(col::CONTRIBUTORS)?, b.decimal(col::VALUE)?);
            let pcts = [b.decimal(col::COMPLETION_PCT)?, b.decimal(col::GROWTH_PCT)?, b.decimal(col::CHANGE_PP)?];
            let why = [
                b.text(col::COMPLETION_NULL_REASON)?,
                b.text(col::GROWTH_NULL_REASON)?,
                b.text(col::CHANGE_NULL_REASON)?,
            ];
            let target_ok = b.decimal(col::TARGET)?;
            for i in 0..b.len() {
                let (a, ind) = (agency(i).unwrap_or_default().to_owned(), indicator(i).unwrap_or_default().to_owned());
                let ratio = aggregation(i) == Some("ratio");
                let d = decimals.get(&ind).copied();
                let (dc, dg, dch) = d.map_or((0, 0, 0), |d| (d.completion, d.growth, d.change.unwrap_or(0)));
                // A sheet holds 1 048 576 rows: past that, one row says where
                // the rest is.
                if r as usize + contributors(i).len() + 2 > SHEET_ROWS {
                    if !truncated {
                        let note = "… more totals than a sheet holds: yearbook explain shows any of them";
                        if let Err(e) = wb.worksheet_from_name("totals").and_then(|ws| ws.write_string(r, 0, note)) {
                            failed.get_or_insert(e);
                        }
                        truncated = true;
                    }
                    continue;
                }
                let first = r;
                let res = (|| -> Result<(), XlsxError> {
                    // Contributor rows: references into the year sheet.
                    for c in contributors(i) {
                        ws_row_label(wb, r, year, c, &ind, "agency")?;
                        let ws = wb.worksheet_from_name("totals")?;
                        if ratio {
                            let (n, d) = (num_ind(i).unwrap_or_default(), den_ind(i).unwrap_or_default());
                            if let (Some(&nr), Some(&dr)) = (
                                rows.get(&(year, c.to_owned(), n.to_owned())),
                                rows.get(&(year, c.to_owned(), d.to_owned())),
                            ) {
                                ws.write_formula(r, 6, Formula::new(format!("={}", sheet_ref(year, ACTUAL, nr))))?;
                                ws.write_formula(r, 7, Formula::new(format!("={}", sheet_ref(year, ACTUAL, dr))))?;
                            }
                        } else if let Some(&sr) = rows.get(&(year, c.to_owned(), ind.clone())) {
                            ws.write_formula(r, 4, Formula::new(format!("={}", sheet_ref(year, ACTUAL, sr))))?;
                            if target_ok(i).is_some() {
                                ws.write_formula(r, 5, Formula::new(format!("={}", sheet_ref(year, TARGET, sr))))?;
                            }
                        }
                        r += 1;
                    }
                    ws_row_label(wb, r, year, &a, &ind, "total")?;
                    let ws = wb.worksheet_from_name("totals")?;
                    let tr = r + 1;
                    let range = |col: &str| {
                        if r > first { format!("SUM({col}{}:{col}{})", first + 1, r) } else { "0".to_owned() }
                    };
                    let prev = total_rows.get(&(year - 1, a.clone(), ind.clone())).map(|&p| p + 1);
                    if ratio {
                        ws.write_formula(r, 6, Formula::new(format!("={}", range("G"))))?;
                        ws.write_formula(r, 7, Formula::new(format!("={}", range("H"))))?;
                        if value(i).is_some() {
                            ws.write_formula(
                                r,
                                4,
                                Formula::new(format!("={}", round_formula(&format!("G{tr}/H{tr}*100"), dch, rule))),
                            )?;
                        }
                        if let Some(p) = prev {
                            ws.write_formula(r, 8, Formula::new(format!("=G{p}/H{p}*100")))?;
                        }
                        if why[2](i).is_none() {
                            let x = format!("G{tr}/H{tr}*100-I{tr}");
                            ws.write_formula(r, 11, Formula::new(format!("={}", round_formula(&x, dch, rule))))?;
                        }
                    } else {
                        if value(i).is_some() {
                            ws.write_formula(r, 4, Formula::new(format!("={}", range("E"))))?;
                        }
                        if target_ok(i).is_some() {
                            ws.write_formula(r, 5, Formula::new(format!("={}", range("F"))))?;
                        }
                        if let Some(p) = prev {
                            ws.write_formula(r, 8, Formula::new(format!("=E{p}")))?;
                        }
                        if why[0](i).is_none() {
                            ws.write_formula(
                                r,
                                9,
                                Formula::new(format!("={}", round_formula(&format!("E{tr}/F{tr}*100"), dc, rule))),
                            )?;
                        }
                        if why[1](i).is_none() {
                            let x = format!("(E{tr}-I{tr})/I{tr}*100");
                            ws.write_formula(r, 10, Formula::new(format!("={}", round_formula(&x, dg, rule))))?;
                        }
                        if why[2](i).is_none() {
                            ws.write_formula(
                                r,
                                11,
                                Formula::new(format!("={}", round_formula(&format!("E{tr}-I{tr}"), dch, rule))),
                            )?;
                        }
                    }
                    opt_number(ws, r, 12, value(i))?;
                    for (k, p) in pcts.iter().enumerate() {
                        opt_number(ws, r, 13 + k as u16, p(i))?;
                    }
                    let empty: Vec<String> = why
                        .iter()
                        .filter_map(|w| w(i))
                        .filter(|w| !matches!(*w, "rate_uses_change_pp" | "not_a_rate"))
                        .map(str::to_owned)
                        .collect();
                    text(ws, r, 16, &empty.join("; "))?;
                    Ok(())
                })();
                if let Err(e) = res {
                    failed.get_or_insert(e);
                }
                total_rows.insert((year, a, ind), r);
                r += 1;
            }
            Ok(())
        })?;
    }
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
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
    ws.write_number(r, 0, f64::from(year))?;
    ws.write_string(r, 1, agency)?;
    ws.write_string(r, 2, indicator)?;
    ws.write_string(r, 3, what)?;
    Ok(())
}
