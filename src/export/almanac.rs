//! The yearbook tables (`crate::almanac`) written for people, with Chinese
//! headers: `summary/yearbook.csv` (every parent's indicator × year table,
//! one under the other), `summary/<year>/league.csv`,
//! `summary/<year>/movers.csv`, and `tables.xlsx` with a sheet per table,
//! each number formatted with its indicator's decimals.

use std::collections::HashSet;
use std::path::Path;

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use super::csv_out::{CsvEncoding, CsvFile, text};
use super::hashed::Written;
use super::tables::Tables;
use super::workbook::{cell_text, decimals_format};
use super::{ExportError, durable, io};
use crate::aggregate::{Basis, Scope};
use crate::almanac::league::{self, LeagueRow};
use crate::almanac::{Almanac, Mover, ParentTable};
use crate::decimal::Decimal;
use crate::model::OutDir;
use crate::model::file;

const PARENT_COLUMNS: [&str; 5] = ["汇总单位代码", "汇总单位名称", "指标代码", "指标名称", "计量单位"];

/// The header of a parent's table: the parent and indicator, a column per
/// year, then the latest year's target and percentages.
fn yearbook_header(a: &Almanac) -> Vec<String> {
    let latest = a.latest().unwrap_or_default();
    PARENT_COLUMNS
        .iter()
        .map(|s| (*s).to_owned())
        .chain(a.years.iter().map(|y| format!("{y}年")))
        .chain([
            format!("{latest}年目标值"),
            format!("{latest}年完成率(%)"),
            format!("{latest}年同比增长(%)"),
            format!("{latest}年同比变化(百分点)"),
            format!("{latest}年口径"),
            format!("{latest}年下级合计"),
            format!("{latest}年本级及未分配"),
            format!("{latest}年增长口径"),
        ])
        .collect()
}

pub const LEAGUE_HEADER: [&str; 7] =
    ["名次", "单位代码", "单位名称", "指标数", "有目标的指标数", "完成目标数", "平均完成率(%)"];

const MOVERS_HEADER: [&str; 10] =
    ["方向", "名次", "单位代码", "单位名称", "指标代码", "指标名称", "计量单位", "上年值", "本年值", "同比增长(%)"];

fn num(d: Option<Decimal>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// Writes the yearbook tables' CSVs and workbook into `paths`.
pub fn write(
    paths: &OutDir,
    t: &Tables<'_>,
    a: &Almanac,
    sheets: RankingSheets,
    encoding: CsvEncoding,
) -> Result<Vec<Written>, ExportError> {
    // The workbook (most of the time: every league row, compressed) is
    // made beside the CSVs.
    let path = paths.file(file::TABLES_WORKBOOK);
    let (bytes, csvs) = rayon::join(|| workbook(t, a, sheets), || csv_files(paths, t, a, encoding));
    let mut written = csvs?;
    let bytes = bytes.map_err(|e| ExportError::Refused { path: path.clone(), reason: e.to_string() })?;
    written.push(save(&path, &bytes, a)?);
    Ok(written)
}

fn csv_files(paths: &OutDir, t: &Tables<'_>, a: &Almanac, encoding: CsvEncoding) -> Result<Vec<Written>, ExportError> {
    let mut written = Vec::new();
    if !a.parents.is_empty() {
        let header = yearbook_header(a);
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut f = CsvFile::create(&paths.summary_file(file::YEARBOOK), &header, encoding)?;
        for table in &a.parents {
            for cells in parent_rows(t, table) {
                f.row(cells)?;
            }
        }
        written.push(f.finish()?);
    }
    for (year, rows) in &a.league {
        let mut f = CsvFile::create(&paths.summary(*year, file::LEAGUE), &LEAGUE_HEADER, encoding)?;
        for cells in league_rows(t, rows) {
            f.row(cells)?;
        }
        written.push(f.finish()?);
    }
    for m in &a.movers {
        let mut f = CsvFile::create(&paths.summary(m.year, file::MOVERS), &MOVERS_HEADER, encoding)?;
        for cells in mover_rows(t, &m.risers, "上升").chain(mover_rows(t, &m.fallers, "下降")) {
            f.row(cells)?;
        }
        written.push(f.finish()?);
    }
    Ok(written)
}

fn save(path: &Path, bytes: &[u8], a: &Almanac) -> Result<Written, ExportError> {
    durable::write(path, bytes).map_err(io(path))?;
    let rows = a.parents.iter().map(|p| p.rows.len() as u64).sum::<u64>()
        + a.league.iter().map(|(_, r)| r.len() as u64).sum::<u64>()
        + a.movers.iter().map(|m| (m.risers.len() + m.fallers.len()) as u64).sum::<u64>();
    Ok(Written { path: path.to_owned(), rows, sha256: crate::ingest::sha256_hex(bytes), bytes: bytes.len() as u64 })
}

/// A parent's rows as text cells, in [`yearbook_header`]'s order.
fn parent_rows<'a>(t: &'a Tables<'_>, table: &'a ParentTable) -> impl Iterator<Item = Vec<String>> + 'a {
    let ag = t.register.agency(table.parent);
    table.rows.iter().map(move |r| {
        let ind = t.catalog.indicator(r.indicator);
        [text(&ag.code).into_owned(), text(ag.name()).into_owned(), text(&ind.code).into_owned()]
            .into_iter()
            .chain([text(&ind.name_zh).into_owned(), text(&ind.base_unit).into_owned()])
            .chain(r.values.iter().map(|v| num(*v)))
            .chain([num(r.target), num(r.completion), num(r.growth), num(r.change)])
            .chain([r.scope.map_or("", Scope::zh).to_owned(), num(r.members), num(r.unallocated)])
            .chain([r.basis.map_or("", Basis::zh).to_owned()])
            .collect()
    })
}

fn league_rows<'a>(t: &'a Tables<'_>, rows: &'a [LeagueRow]) -> impl Iterator<Item = Vec<String>> + 'a {
    rows.iter().map(|r| {
        let ag = t.register.agency(r.agency);
        vec![
            r.rank.to_string(),
            text(&ag.code).into_owned(),
            text(ag.name()).into_owned(),
            r.indicators.to_string(),
            r.with_target.to_string(),
            r.met.to_string(),
            num(r.mean_completion),
        ]
    })
}

fn mover_rows<'a>(t: &'a Tables<'_>, rows: &'a [Mover], direction: &'a str) -> impl Iterator<Item = Vec<String>> + 'a {
    rows.iter().enumerate().map(move |(i, m)| {
        let ag = t.register.agency(m.agency);
        let ind = t.catalog.indicator(m.indicator);
        vec![
            direction.to_owned(),
            (i + 1).to_string(),
            text(&ag.code).into_owned(),
            text(ag.name()).into_owned(),
            text(&ind.code).into_owned(),
            text(&ind.name_zh).into_owned(),
            text(&ind.base_unit).into_owned(),
            num(m.previous),
            num(m.actual),
            m.growth.to_string(),
        ]
    })
}

/// Excel's limit on a sheet's name, in UTF-16 units.
const SHEET_NAME_CHARS: usize = 31;

/// Sheet names as Excel allows them (no `[]:*?/\` nor control characters, no `'` at either end,
/// at most 31 UTF-16 units, not `History`), each new one made unique with a
/// number.
struct SheetNames(HashSet<String>);

impl SheetNames {
    fn new() -> SheetNames {
        // Excel keeps `History` for itself.
        SheetNames(HashSet::from(["history".to_owned()]))
    }

    fn name(&mut self, wanted: &str) -> String {
        let clean: String = wanted
            .chars()
            .map(|c| if matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') || c.is_control() { '_' } else { c })
            .collect();
        let base = fit(&clean, SHEET_NAME_CHARS);
        let mut name = if base.is_empty() { "表".to_owned() } else { base };
        let mut n = 2;
        while self.0.contains(&name.to_lowercase()) {
            let suffix = format!("~{n}");
            name = fit(&clean, SHEET_NAME_CHARS - suffix.len()) + &suffix;
            n += 1;
        }
        self.0.insert(name.to_lowercase());
        name
    }
}

/// The longest start of `name` of at most `max` UTF-16 units (Excel's
/// measure: a character past the Basic Multilingual Plane, as in some
/// place names, counts two), then without the apostrophes Excel refuses
/// at either end: cut first, so that the cut cannot leave one at the end.
fn fit(name: &str, max: usize) -> String {
    let mut units = 0;
    let cut: String = name
        .chars()
        .take_while(|c| {
            units += c.len_utf16();
            units <= max
        })
        .collect();
    cut.trim_matches('\'').to_owned()
}

/// Writes `d` as a number shown at its own decimals (an empty cell for
/// none). Spreadsheets hold binary doubles: past 15 significant digits
/// the cell is the nearest double, the CSV and the Parquet the exact value.
fn number(ws: &mut Worksheet, row: u32, col: u16, d: Option<Decimal>) -> Result<(), XlsxError> {
    if let Some(d) = d {
        let v: f64 = d.to_string().parse().unwrap_or(f64::NAN);
        ws.write_number_with_format(row, col, v, &decimals_format(d.scale()))?;
    }
    Ok(())
}

/// Writes `cells` as text from column `first` on.
fn texts(ws: &mut Worksheet, row: u32, first: u16, cells: &[&str], format: Option<&Format>) -> Result<(), XlsxError> {
    for (i, cell) in (first..).zip(cells).filter(|(_, c)| !c.is_empty()) {
        match format {
            Some(f) => ws.write_string_with_format(row, i, cell_text(cell), f)?,
            None => ws.write_string(row, i, cell_text(cell))?,
        };
    }
    Ok(())
}

/// `tables.xlsx`: a sheet per parent, then per year its league and its
/// risers and fallers; a title row, the header, the rows.
/// The league and movers sheets of `tables.xlsx`, made from the metrics
/// alone (so a run makes them while its totals are written), each with
/// the name it asks for; the workbook names them after the parents' sheets.
pub struct RankingSheets(Vec<(String, Worksheet)>);

/// [`RankingSheets`] of every year's `league` and `movers`.
pub fn ranking_sheets(
    t: &Tables<'_>,
    league: &[(i32, Vec<LeagueRow>)],
    movers: &[crate::almanac::YearMovers],
) -> Result<RankingSheets, XlsxError> {
    use rayon::prelude::*;
    let bold = Format::new().set_bold();
    // A league sheet holds a row per agency: the years' sheets are made in
    // parallel.
    let mut sheets = league
        .par_iter()
        .map(|(year, rows)| {
            let mut ws = Worksheet::new();
            ws.write_string_with_format(0, 0, format!("{year}年各单位目标完成情况排名"), &bold)?;
            texts(&mut ws, 1, 0, &LEAGUE_HEADER, Some(&bold))?;
            for (i, r) in rows.iter().enumerate() {
                let row = i as u32 + 2;
                let ag = t.register.agency(r.agency);
                ws.write_number(row, 0, r.rank as f64)?;
                texts(&mut ws, row, 1, &[&ag.code, ag.name()], None)?;
                ws.write_number(row, 3, f64::from(r.indicators))?;
                ws.write_number(row, 4, f64::from(r.with_target))?;
                ws.write_number(row, 5, f64::from(r.met))?;
                number(&mut ws, row, 6, r.mean_completion.and_then(|d| d.rescale(league::DECIMALS)))?;
            }
            ws.set_column_width(2, 30)?;
            Ok((format!("{year}年完成情况排名"), ws))
        })
        .collect::<Result<Vec<_>, XlsxError>>()?;
    for m in movers {
        let mut ws = Worksheet::new();
        ws.write_string_with_format(0, 0, format!("{}年同比增长、下降幅度最大的指标", m.year), &bold)?;
        texts(&mut ws, 1, 0, &MOVERS_HEADER, Some(&bold))?;
        let rows =
            m.risers.iter().map(|r| ("上升", r)).enumerate().chain(m.fallers.iter().map(|r| ("下降", r)).enumerate());
        for (row, (rank, (direction, r))) in rows.enumerate().map(|(n, x)| (n as u32 + 2, x)) {
            let ag = t.register.agency(r.agency);
            let ind = t.catalog.indicator(r.indicator);
            ws.write_string(row, 0, cell_text(direction))?;
            ws.write_number(row, 1, (rank + 1) as f64)?;
            texts(&mut ws, row, 2, &[&ag.code, ag.name(), &ind.code, &ind.name_zh, &ind.base_unit], None)?;
            number(&mut ws, row, 7, r.previous)?;
            number(&mut ws, row, 8, r.actual)?;
            number(&mut ws, row, 9, Some(r.growth))?;
        }
        ws.set_column_width(3, 30)?;
        ws.set_column_width(5, 24)?;
        sheets.push((format!("{}年增减幅度前{}", m.year, crate::almanac::MOVERS), ws));
    }
    Ok(RankingSheets(sheets))
}

fn workbook(t: &Tables<'_>, a: &Almanac, sheets: RankingSheets) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    // A fixed creation time keeps the file byte-identical across runs.
    wb.set_properties(&DocProperties::new().set_creation_datetime(&ExcelDateTime::from_ymd(2000, 1, 1)?));
    let bold = Format::new().set_bold();
    let mut names = SheetNames::new();
    let span = match (a.years.first(), a.years.last()) {
        (Some(first), Some(last)) if first != last => format!("{first}—{last}年"),
        (Some(y), _) => format!("{y}年"),
        _ => String::new(),
    };
    let header = yearbook_header(a);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    for table in &a.parents {
        let ag = t.register.agency(table.parent);
        let ws = wb.add_worksheet().set_name(names.name(ag.name()))?;
        ws.write_string_with_format(0, 0, cell_text(&format!("{}主要统计指标（{span}）", ag.name())), &bold)?;
        texts(ws, 1, 0, &header, Some(&bold))?;
        for (i, r) in table.rows.iter().enumerate() {
            let row = i as u32 + 2;
            let ind = t.catalog.indicator(r.indicator);
            texts(ws, row, 0, &[&ag.code, ag.name(), &ind.code, &ind.name_zh, &ind.base_unit], None)?;
            let numbers = r.values.iter().chain([&r.target, &r.completion, &r.growth, &r.change]);
            let mut at = PARENT_COLUMNS.len() as u16;
            for v in numbers {
                number(ws, row, at, *v)?;
                at += 1;
            }
            texts(ws, row, at, &[r.scope.map_or("", Scope::zh)], None)?;
            number(ws, row, at + 1, r.members)?;
            number(ws, row, at + 2, r.unallocated)?;
            texts(ws, row, at + 3, &[r.basis.map_or("", Basis::zh)], None)?;
        }
        ws.set_column_width(3, 24)?;
        ws.set_freeze_panes(2, 5)?;
    }
    for (name, mut ws) in sheets.0 {
        ws.set_name(names.name(&name))?;
        wb.push_worksheet(ws);
    }
    if a.parents.is_empty() && a.league.is_empty() {
        let ws = wb.add_worksheet().set_name("说明")?;
        ws.write_string(0, 0, "本次运行没有可汇总的数据")?;
    }
    // Deflate level 2: the league sheets' XML is most of the tables'
    // work, and level 2 packs it in half the time of the default (6) into
    // a file a quarter larger.
    wb.set_zip_compression_level(2);
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_ones_excel_takes_and_never_twice() {
        let mut n = SheetNames::new();
        assert_eq!(n.name("天津市"), "天津市");
        assert_eq!(n.name("天津市"), "天津市~2");
        assert_eq!(n.name("a/b[c]:d*e?f\\g"), "a_b_c__d_e_f_g");
        assert_eq!(n.name("'quoted'"), "quoted");
        assert_eq!(n.name("History"), "History~2");
        assert_eq!(n.name(""), "表");
        let long = "一".repeat(40);
        let first = n.name(&long);
        assert_eq!(first.chars().count(), 31);
        let second = n.name(&long);
        assert_eq!(second.chars().count(), 31);
        assert!(second.ends_with("~2"));
        // An apostrophe where the cut falls.
        let at_cut = format!("{}'x", "一".repeat(30));
        assert_eq!(n.name(&at_cut), "一".repeat(30));
    }

    proptest::proptest! {
        /// Any register name gives a sheet name Excel takes, never one
        /// taken before.
        #[test]
        fn any_name_gives_a_sheet_name_excel_takes(names in proptest::collection::vec(".{0,40}|[a'\\[\\]:*?/ ]{0,35}", 1..8)) {
            let mut n = SheetNames::new();
            let mut seen = std::collections::HashSet::new();
            for wanted in &names {
                let name = n.name(wanted);
                proptest::prop_assert!(Worksheet::new().set_name(&name).is_ok(), "{wanted:?} gave {name:?}");
                proptest::prop_assert!(seen.insert(name.to_lowercase()), "{name:?} twice");
            }
        }
    }
}
