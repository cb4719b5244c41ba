//! Workbook submissions (`.xlsx`, `.xlsm`, `.xls`, `.ods`, read with
//! calamine): one sheet becomes the text the CSV reader splits, one line per
//! row, so a workbook's rows go through the same header, title, footnote
//! and field rules as a CSV file's. A map from each line of that text back
//! to the sheet's row keeps the provenance the sheet's own: row and column,
//! shown as a cell (`C7`).
//!
//! How a cell becomes text:
//! - a number: a cell holds a binary double, and what the agency typed is
//!   the shortest decimal that reads back as that double (`0.1`, not
//!   `0.1000000000000000055511`); a spreadsheet shows at most 15
//!   significant digits, so a double that needs more (the sum `0.1 + 0.2`
//!   is `0.30000000000000004`) is taken at 15 (`0.3`);
//! - text as it is, a boolean as `TRUE` or `FALSE`, an error as Excel
//!   writes it (`#DIV/0!`, `#SPILL!`: its row is quarantined as
//!   `cell_error`), a date as its ISO form;
//! - a formula with no value saved (a workbook written by a program that
//!   does not compute) as `=` and the formula: never a number, and
//!   quarantined as `formula_without_value`.

mod bounds;
mod grid;

use std::io::Cursor;

use calamine::{Data, DataRef, Reader, Xlsx, XlsxError, open_workbook_auto_from_rs};

use self::bounds::Format;
pub use self::bounds::{
    MAX_CELLS, MAX_INFLATION, MAX_PART_BYTES, MAX_SHARED_STRINGS, MAX_SHEET_SPAN, MAX_UNPACKED_BYTES,
};
use self::grid::Grid;
use super::header::HeaderError;
use crate::config::sources::SheetChoice;
use crate::reject::{Code, Detail};

/// The file name endings read as workbooks.
pub const EXTENSIONS: [&str; 4] = [".xlsx", ".xlsm", ".xls", ".ods"];

/// Whether a file (by its relative path) is a workbook.
pub fn is_workbook(rel: &str) -> bool {
    let lower = rel.to_ascii_lowercase();
    EXTENSIONS.iter().any(|e| lower.ends_with(e))
}

/// The most significant digits a spreadsheet shows of a number.
const SHOWN_DIGITS: usize = 15;

/// One sheet as text for the CSV reader.
#[derive(Debug, Clone)]
pub struct SheetText {
    pub sheet: String,
    /// UTF-8, one line per row (a cell holding a line break adds lines).
    pub text: Vec<u8>,
    /// Line of `text` (from 1) → row of the sheet (from 1).
    pub rows: Vec<u64>,
}

/// Reads the sheet `choice` names (the first visible one when none) of the workbook in
/// `bytes`; one past the limits of [`bounds`] is refused before it is
/// built (`workbook_too_large`), an unreadable one as `unreadable_workbook`.
pub fn read(bytes: &[u8], choice: Option<&SheetChoice>) -> Result<SheetText, HeaderError> {
    // A workbook is a zip of XML, or an OLE file, each with its own ways to
    // be broken; the readers are not ours, and a panic in one on one file
    // must not stop the run: the file is refused like any unreadable one.
    std::panic::catch_unwind(|| read_bounded(bytes, choice)).unwrap_or_else(|_| {
        Err(unreadable(Detail::new(
            "not a readable workbook: the reader failed on it",
            "工作簿无法读取：读取程序无法解析该文件",
        )))
    })
}

fn read_bounded(bytes: &[u8], choice: Option<&SheetChoice>) -> Result<SheetText, HeaderError> {
    let format = bounds::format(bytes);
    match bounds::check(bytes, format) {
        Some(bounds::Refusal::TooLarge(detail)) => return Err(too_large(detail)),
        Some(bounds::Refusal::Broken(detail)) => return Err(unreadable(detail)),
        None => {}
    }
    match format {
        Format::Xlsx => read_xlsx(bytes, choice, false),
        Format::Ods | Format::Xls => read_opened(bytes, choice),
        Format::Other => Err(unreadable(Detail::new(
            "not a readable workbook: not an .xlsx, .xlsm, .xls or .ods file",
            "工作簿无法读取：不是 .xlsx、.xlsm、.xls 或 .ods 文件",
        ))),
    }
}

fn unreadable(detail: Detail) -> HeaderError {
    HeaderError { code: Code::UnreadableWorkbook, detail }
}

fn too_large(detail: Detail) -> HeaderError {
    HeaderError { code: Code::WorkbookTooLarge, detail }
}

fn reader_failed(e: &dyn std::fmt::Display) -> HeaderError {
    unreadable(Detail::new(format!("not a readable workbook: {e}"), format!("工作簿无法读取：{e}")))
}

/// The sheet `choice` names among `sheets`, or why there is none; without
/// a choice the first visible worksheet (a hidden draft sheet or a chart is
/// not what the agency sent).
fn pick(sheets: &[calamine::Sheet], choice: Option<&SheetChoice>) -> Result<String, HeaderError> {
    let names: Vec<String> = sheets.iter().map(|s| s.name.clone()).collect();
    let name = match choice {
        None => sheets
            .iter()
            .find(|s| s.visible == calamine::SheetVisible::Visible && s.typ == calamine::SheetType::WorkSheet)
            .map(|s| &s.name)
            .or(names.first()),
        Some(SheetChoice::Name(n)) => names.iter().find(|s| *s == n),
        Some(SheetChoice::Position(p)) => usize::try_from(*p).ok().and_then(|p| names.get(p.checked_sub(1)?)),
    };
    name.cloned().ok_or_else(|| {
        let want = match choice {
            Some(SheetChoice::Name(n)) => format!("`{n}`"),
            Some(SheetChoice::Position(p)) => format!("number {p}"),
            None => "any".to_owned(),
        };
        let have = names.join("`, `");
        unreadable(Detail::new(
            format!("no sheet {want}: the workbook has `{have}`"),
            format!("找不到工作表 {want}；工作簿中有 `{have}`"),
        ))
    })
}

/// An `.xlsx` sheet, read cell by cell: only filled cells are held.
/// `rewritten`: `bytes` is a workbook whose error cells were made text.
fn read_xlsx(bytes: &[u8], choice: Option<&SheetChoice>, rewritten: bool) -> Result<SheetText, HeaderError> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| reader_failed(&e))?;
    let name = pick(book.sheets_metadata(), choice)?;
    let mut cells = book.worksheet_cells_reader(&name).map_err(|e| reader_failed(&e))?;
    let mut grid = Grid::default();
    loop {
        match cells.next_cell_with_formula() {
            Ok(Some(c)) => {
                // A formula with no value saved is shown as the formula.
                let text = match (&c.value, c.formula) {
                    (DataRef::Empty, Some(f)) if !f.is_empty() => format!("={f}"),
                    _ => cell_text(&Data::from(c.value)),
                };
                grid.push(c.pos.0, c.pos.1, text).map_err(too_large)?;
            }
            Ok(None) => return Ok(grid.into_text(name)),
            // An error value the reader does not know (`#SPILL!`, `#CALC!`
            // and the others Excel added after the classic seven) is a
            // cell's problem, not the workbook's: read again with every
            // error cell as its text, which `crate::normalize` quarantines
            // with its row.
            Err(XlsxError::CellError(_)) if !rewritten => {
                let bytes = errors_as_text(bytes).map_err(|e| reader_failed(&e))?;
                return read_xlsx(&bytes, choice, true);
            }
            Err(e) => return Err(reader_failed(&e)),
        }
    }
}

/// An `.ods` or `.xls` sheet: these readers build every sheet when the
/// workbook is opened, which [`bounds`] has sized first.
fn read_opened(bytes: &[u8], choice: Option<&SheetChoice>) -> Result<SheetText, HeaderError> {
    let mut book = open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| reader_failed(&e))?;
    let name = pick(book.sheets_metadata(), choice)?;
    let values = book.worksheet_range(&name).map_err(|e| reader_failed(&e))?;
    // A workbook that keeps no formulas (or a reader that cannot give them)
    // has none without a value either.
    let formulas = book.worksheet_formula(&name).unwrap_or_default();
    let mut grid = Grid::default();
    let at = |start: Option<(u32, u32)>, r: usize, c: usize| {
        let (r0, c0) = start.unwrap_or_default();
        (r0 + r as u32, c0 + c as u32)
    };
    for (r, c, v) in values.used_cells() {
        let (row, col) = at(values.start(), r, c);
        grid.push(row, col, cell_text(v)).map_err(too_large)?;
    }
    for (r, c, f) in formulas.used_cells() {
        let (row, col) = at(formulas.start(), r, c);
        if !f.is_empty() && values.get_value((row, col)).is_none_or(|v| *v == Data::Empty) {
            grid.push(row, col, format!("={f}")).map_err(too_large)?;
        }
    }
    Ok(grid.into_text(name))
}

/// The `.xlsx` in `bytes` with each error cell of its sheets (`t="e"`)
/// made a text cell (`t="str"`) holding the same `#…!`.
fn errors_as_text(bytes: &[u8]) -> Result<Vec<u8>, zip::result::ZipError> {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))?;
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        let name = entry.name()?.into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        if name.starts_with("xl/worksheets/") && name.ends_with(".xml") {
            data = replace_all(&data, b" t=\"e\"", b" t=\"str\"");
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())?;
        out.write_all(&data)?;
    }
    Ok(out.finish()?.into_inner())
}

fn replace_all(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut rest = data;
    while let Some(at) = memchr::memmem::find(rest, from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// Whether `text` is an error value as a spreadsheet writes it.
pub fn is_error_value(text: &str) -> bool {
    const ERRORS: [&str; 17] = [
        "#DIV/0!",
        "#N/A",
        "#NAME?",
        "#NULL!",
        "#NUM!",
        "#REF!",
        "#VALUE!",
        "#GETTING_DATA",
        "#SPILL!",
        "#CALC!",
        "#FIELD!",
        "#BLOCKED!",
        "#CONNECT!",
        "#BUSY!",
        "#EXTERNAL!",
        "#UNKNOWN!",
        "#PYTHON!",
    ];
    ERRORS.contains(&text.trim())
}

/// A cell's text, as the module's doc says.
fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f),
        Data::String(s) => s.clone(),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        Data::Error(e) => e.to_string(),
        Data::DateTime(_) | Data::DateTimeIso(_) | Data::DurationIso(_) => d.to_string(),
    }
}

/// The decimal a number cell holds: the shortest that reads back as the
/// double, at most [`SHOWN_DIGITS`] significant digits.
pub fn number_text(f: f64) -> String {
    let shortest = f.to_string();
    let significant =
        shortest.trim_start_matches('-').bytes().filter(u8::is_ascii_digit).skip_while(|&b| b == b'0').count();
    if significant <= SHOWN_DIGITS || !f.is_finite() {
        return shortest;
    }
    // `d.dddddddddddddde±x` with 15 digits, written out plainly.
    let sci = format!("{:.*e}", SHOWN_DIGITS - 1, f);
    let (mantissa, exp) = sci.split_once('e').expect("scientific notation has an exponent");
    let exp: i64 = exp.parse().expect("an exponent is an integer");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let point = 1 + exp;
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if point <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat(point.unsigned_abs() as usize));
        out.push_str(&digits);
    } else if point as usize >= digits.len() {
        out.push_str(&digits);
        out.push_str(&"0".repeat(point as usize - digits.len()));
    } else {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    }
    if out.contains('.') {
        out = out.trim_end_matches('0').trim_end_matches('.').to_owned();
    }
    out
}

/// A column's letters as a spreadsheet names it (0 → `A`, 26 → `AA`).
pub fn column_letters(col: u32) -> String {
    let mut n = col + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII letters")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_double_is_the_decimal_typed_up_to_fifteen_significant_digits() {
        assert_eq!(number_text(0.1), "0.1");
        assert_eq!(number_text(37.62), "37.62");
        assert_eq!(number_text(376200.0), "376200");
        assert_eq!(number_text(-3.5), "-3.5");
        assert_eq!(number_text(0.1 + 0.2), "0.3");
        assert_eq!(number_text(1234567.8901234567), "1234567.89012346");
        assert_eq!(number_text("0.000123456789012345678".parse().unwrap()), "0.000123456789012346");
        assert_eq!(number_text(2021.0), "2021");
        assert_eq!(number_text(1e20), "100000000000000000000");
    }

    #[test]
    fn columns_are_lettered_as_spreadsheets_do() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(2), "C");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(701), "ZZ");
        assert_eq!(column_letters(702), "AAA");
    }
}
