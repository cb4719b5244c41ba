//! What a workbook would cost before a reader builds it. A reader builds
//! what a file *claims* (a sheet's used range, a string table's declared
//! count, a cell repeated over a row), and a file of a few kilobytes can
//! claim billions of cells; running out of memory is no panic, so nothing
//! could catch it afterwards. The claims are therefore read first, from the
//! file's own structure and as a stream, and a workbook past a limit below
//! is refused (`workbook_too_large`) before anything is built.
//!
//! What is counted mirrors what the reader (calamine) keeps of each format:
//! - zipped workbooks (`.xlsx`, `.xlsm`, `.ods`): each part as its
//!   directory declares it unpacked (the zip reader stops a part at its
//!   declared size, so the declaration is a bound);
//! - `.xlsx`/`.xlsm`: the shared-string table whole, with room reserved for
//!   its declared count; a sheet itself is read cell by cell
//!   (`super::grid` counts its cells as they come);
//! - `.ods` and `.xls`: every sheet of the workbook as a full rectangle of
//!   cells, values and formulas, when the workbook is opened; the `.xls`
//!   reader also reserves room for each sheet's declared dimensions.

use std::io::{Cursor, Read};

use quick_xml::events::{BytesStart, Event};

use crate::reject::Detail;

/// The largest part of a zipped workbook (a sheet, its shared strings), as
/// its directory declares it unpacked.
pub const MAX_PART_BYTES: u64 = 256 * 1024 * 1024;

/// All parts of a zipped workbook together, unpacked.
pub const MAX_UNPACKED_BYTES: u64 = 1024 * 1024 * 1024;

/// How many times its packed size a part may unpack to (sheets of
/// repeated figures pack 10 to 100 times; a bomb, a thousand and more).
pub const MAX_INFLATION: u64 = 1000;

/// Strings in an `.xlsx` shared-string table, counted or declared.
pub const MAX_SHARED_STRINGS: u64 = 2_000_000;

/// Cells the reader keeps: the filled cells of the sheet read (`.xlsx`),
/// or the rectangles of all sheets with their formulas (`.ods`, `.xls`).
pub const MAX_CELLS: u64 = 5_000_000;

/// A sheet's extent, rows × columns from A1 to its last filled cell: what
/// its text for the CSV reader spans.
pub const MAX_SHEET_SPAN: u64 = 20_000_000;

/// Excel's (and calamine's `.ods`) largest sheet.
const MAX_ROWS: u64 = 1_048_576;
const MAX_COLUMNS: u64 = 16_384;

/// A workbook's format, from its bytes (not its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.xlsx`, `.xlsm`: a zip with `xl/workbook.xml`.
    Xlsx,
    /// OpenDocument: a zip with `content.xml`.
    Ods,
    /// Excel 97–2003: an OLE compound file.
    Xls,
    /// Anything else (`.xlsb` among them), which is not read.
    Other,
}

const OLE_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// The format of the workbook in `bytes`.
pub fn format(bytes: &[u8]) -> Format {
    if bytes.starts_with(&OLE_MAGIC) {
        return Format::Xls;
    }
    match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(z) if z.index_for_name("xl/workbook.xml").is_some() => Format::Xlsx,
        Ok(z) if z.index_for_name("content.xml").is_some() => Format::Ods,
        _ => Format::Other,
    }
}

/// Why a workbook is refused before a reader opens it.
#[derive(Debug)]
pub enum Refusal {
    /// It would cost more than it may (`workbook_too_large`).
    TooLarge(Detail),
    /// Its XML is broken where the reader would not stop: it loops for
    /// ever on a part that ends inside an open element (`unreadable_workbook`).
    Broken(Detail),
}

/// Why the workbook in `bytes` cannot be read within its bounds, if so.
/// Its XML is checked first: the counts after it read balanced parts.
pub fn check(bytes: &[u8], format: Format) -> Option<Refusal> {
    let large = |d: Option<Detail>| d.map(Refusal::TooLarge);
    match format {
        Format::Xlsx => large(zip_directory(bytes))
            .or_else(|| well_formed(bytes).map(Refusal::Broken))
            .or_else(|| large(shared_strings(bytes))),
        Format::Ods => large(zip_directory(bytes))
            .or_else(|| well_formed(bytes).map(Refusal::Broken))
            .or_else(|| large(ods_tables(bytes))),
        Format::Xls => xls_sheets(bytes),
        // A zip that is no workbook is refused as unreadable, unless its
        // directory already says it is too large to look into.
        Format::Other => large(zip_directory(bytes)),
    }
}

/// The first XML part of a zipped workbook that is not well-formed: a
/// syntax error, an end tag that closes another element, or the part
/// ending inside an open element (on which the reader would loop for ever).
fn well_formed(bytes: &[u8]) -> Option<Detail> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    for i in 0..archive.len() {
        let entry = archive.by_index(i).ok()?;
        let name = entry.name().ok()?.into_owned();
        if !(name.ends_with(".xml") || name.ends_with(".rels")) {
            continue;
        }
        let shown = super::super::shown_name(&name);
        let mut xml = quick_xml::Reader::from_reader(std::io::BufReader::new(entry));
        xml.config_mut().check_end_names = true;
        let (mut buf, mut depth) = (Vec::new(), 0usize);
        let why = loop {
            buf.clear();
            match xml.read_event_into(&mut buf) {
                Ok(Event::Start(_)) => depth += 1,
                Ok(Event::End(_)) => depth = depth.saturating_sub(1),
                Ok(Event::Eof) if depth == 0 => break None,
                Ok(Event::Eof) => break Some(format!("ends inside {depth} open elements")),
                Err(e) => break Some(format!("is not well-formed at byte {}: {e}", xml.buffer_position())),
                Ok(_) => {}
            }
        };
        if let Some(why) = why {
            return Some(Detail::new(
                format!("not a readable workbook: its part `{shown}` {why}"),
                format!("工作簿无法读取：其组成部分 `{shown}` 不是完整的 XML（{why}）"),
            ));
        }
    }
    None
}

fn over(en: String, zh: String) -> Option<Detail> {
    Some(Detail::new(en, zh))
}

/// A part past [`MAX_PART_BYTES`] or [`MAX_INFLATION`], or all parts past
/// [`MAX_UNPACKED_BYTES`], from the zip's directory alone.
fn zip_directory(bytes: &[u8]) -> Option<Detail> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index_raw(i).ok()?;
        let (packed, unpacked) = (entry.compressed_size().max(1), entry.size());
        let name = entry.name().map(|n| super::super::shown_name(&n)).unwrap_or_default();
        if unpacked > MAX_PART_BYTES {
            return over(
                format!("its part `{name}` unpacks to {unpacked} bytes; at most {MAX_PART_BYTES}"),
                format!("其组成部分 `{name}` 解压后 {unpacked} 字节，上限 {MAX_PART_BYTES} 字节"),
            );
        }
        if unpacked > 1024 * 1024 && unpacked / packed > MAX_INFLATION {
            return over(
                format!("its part `{name}` unpacks {} times its size; at most {MAX_INFLATION}", unpacked / packed),
                format!("其组成部分 `{name}` 解压后为原大小的 {} 倍，上限 {MAX_INFLATION} 倍", unpacked / packed),
            );
        }
        total = total.saturating_add(unpacked);
    }
    (total > MAX_UNPACKED_BYTES).then(|| {
        Detail::new(
            format!("its parts unpack to {total} bytes together; at most {MAX_UNPACKED_BYTES}"),
            format!("各组成部分解压后共 {total} 字节，上限 {MAX_UNPACKED_BYTES} 字节"),
        )
    })
}

/// An XML part of a zip, as a stream of events (the part is never held
/// whole). `None` when the part is absent or the zip unreadable: the reader
/// then says why in its own words.
fn each_event(bytes: &[u8], part: &str, mut visit: impl FnMut(&Event<'_>) -> bool) -> Option<()> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let entry = archive.by_name(part).ok()?;
    let mut xml = quick_xml::Reader::from_reader(std::io::BufReader::new(entry));
    xml.config_mut().check_end_names = false;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf) {
            Ok(Event::Eof) | Err(_) => return Some(()),
            Ok(e) => {
                if !visit(&e) {
                    return Some(());
                }
            }
        }
    }
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<u64> {
    let a = e.try_get_attribute(name).ok()??;
    a.value.trim().parse().ok()
}

/// The shared-string table's strings, counted, and its declared count
/// (which the reader reserves room for before reading one).
fn shared_strings(bytes: &[u8]) -> Option<Detail> {
    let part = shared_strings_part(bytes)?;
    let (mut count, mut declared) = (0u64, 0u64);
    each_event(bytes, &part, |e| {
        match e {
            Event::Start(s) | Event::Empty(s) if s.local_name().as_ref() == "sst" => {
                declared = attr(s, "uniqueCount").unwrap_or(0);
            }
            Event::Start(s) | Event::Empty(s) if s.local_name().as_ref() == "si" => count += 1,
            _ => {}
        }
        count <= MAX_SHARED_STRINGS && declared <= MAX_SHARED_STRINGS
    })?;
    let n = count.max(declared);
    (n > MAX_SHARED_STRINGS).then(|| {
        Detail::new(
            format!("its shared-string table holds or declares {n} strings or more; at most {MAX_SHARED_STRINGS}"),
            format!("其共享字符串表包含或声明 {n} 个以上字符串，上限 {MAX_SHARED_STRINGS} 个"),
        )
    })
}

/// The shared-string part's name: `xl/sharedStrings.xml` as Excel writes
/// it, else whichever `xl/` part ends so (other writers vary the case).
fn shared_strings_part(bytes: &[u8]) -> Option<String> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    archive
        .file_names()
        .flatten()
        .find(|n| n.to_ascii_lowercase().ends_with("sharedstrings.xml"))
        .map(|n| n.into_owned())
}

/// One table of an `.ods` as the reader keeps it: each row element's cells
/// up to its last filled one (values and formulas), then the rectangle
/// from the first filled row to the last, repeats expanded.
#[derive(Default)]
struct OdsTable {
    /// Cells kept row by row, before the rectangle is built.
    kept: u64,
    /// Rows (repeats expanded) before the current row element.
    rows: u64,
    /// First and last filled row (expanded), first and last filled column.
    filled: Option<(u64, u64, u64, u64)>,
    /// The current row: its repeat, column reached, last filled column end.
    row_repeat: u64,
    col: u64,
    row_end: u64,
    row_first: Option<u64>,
}

impl OdsTable {
    fn start_row(&mut self, e: &BytesStart<'_>) {
        let repeat = attr(e, "table:number-rows-repeated").unwrap_or(1).max(1);
        self.row_repeat = repeat.min(MAX_ROWS.saturating_sub(self.rows));
        (self.col, self.row_end, self.row_first) = (0, 0, None);
    }

    fn cell(&mut self, e: &BytesStart<'_>, has_content: bool) {
        let repeat = attr(e, "table:number-columns-repeated").unwrap_or(1).max(1);
        let filled = has_content
            || e.try_get_attribute("office:value-type").ok().flatten().is_some()
            || e.try_get_attribute("table:formula").ok().flatten().is_some();
        let start = self.col;
        self.col = self.col.saturating_add(repeat).min(MAX_COLUMNS);
        if filled && self.col > start {
            self.row_end = self.col;
            self.row_first.get_or_insert(start);
        }
    }

    fn end_row(&mut self) {
        // Values and formulas: two cells kept for each.
        self.kept = self.kept.saturating_add(2 * self.row_end);
        if let Some(first) = self.row_first {
            let (top, _, left, right) = self.filled.unwrap_or((self.rows, 0, first, 0));
            let bottom = self.rows + self.row_repeat;
            self.filled = Some((top, bottom, left.min(first), right.max(self.row_end)));
        }
        self.rows = self.rows.saturating_add(self.row_repeat);
    }

    fn cells(&self) -> u64 {
        let rectangle = self.filled.map_or(0, |(top, bottom, left, right)| {
            (bottom - top).saturating_mul(right.saturating_sub(left)).saturating_mul(2)
        });
        self.kept.saturating_add(rectangle)
    }
}

/// The cells all tables of an `.ods` would take, read from `content.xml`.
fn ods_tables(bytes: &[u8]) -> Option<Detail> {
    let (mut total, mut table, mut in_cell): (u64, Option<OdsTable>, Option<BytesStart<'static>>) = (0, None, None);
    each_event(bytes, "content.xml", |e| {
        match e {
            Event::Start(s) | Event::Empty(s) => {
                let empty = matches!(e, Event::Empty(_));
                let name = s.name();
                if name.as_ref() == "table:table" {
                    if !empty {
                        table = Some(OdsTable::default());
                    }
                } else if let Some(t) = table.as_mut() {
                    match name.as_ref() {
                        "table:table-row" => {
                            t.start_row(s);
                            if empty {
                                t.end_row();
                            }
                        }
                        "table:table-cell" | "table:covered-table-cell" if empty => t.cell(s, false),
                        "table:table-cell" | "table:covered-table-cell" => in_cell = Some(s.to_owned()),
                        // An element inside a cell: the cell has content.
                        _ => {
                            if let Some(c) = in_cell.take() {
                                t.cell(&c, true);
                            }
                        }
                    }
                }
            }
            Event::End(x) => match x.name().as_ref() {
                "table:table-cell" | "table:covered-table-cell" => {
                    if let (Some(c), Some(t)) = (in_cell.take(), table.as_mut()) {
                        t.cell(&c, false);
                    }
                }
                "table:table-row" => {
                    if let Some(t) = table.as_mut() {
                        t.end_row();
                    }
                }
                "table:table" => {
                    total = total.saturating_add(table.take().map_or(0, |t| t.cells()));
                }
                _ => {}
            },
            _ => {}
        }
        total.saturating_add(table.as_ref().map_or(0, OdsTable::cells)) <= MAX_CELLS
    })?;
    let total = total.saturating_add(table.as_ref().map_or(0, OdsTable::cells));
    too_many_cells(total)
}

fn too_many_cells(cells: u64) -> Option<Detail> {
    (cells > MAX_CELLS).then(|| {
        Detail::new(
            format!("its sheets would take {cells} cells or more to read; at most {MAX_CELLS}"),
            format!("读取其工作表需要 {cells} 个以上单元格，上限 {MAX_CELLS} 个"),
        )
    })
}

/// BIFF record types the `.xls` reader acts on.
mod biff {
    pub const BOF: u16 = 0x0809;
    pub const EOF: u16 = 0x000A;
    pub const BOUND_SHEET: u16 = 0x0085;
    pub const DIMENSIONS: u16 = 0x0200;
    pub const FORMULA: u16 = 0x0006;
    pub const MUL_RK: u16 = 0x00BD;
    /// Records that hold one cell, its row and column first.
    pub const CELLS: [u16; 6] = [0x0203, 0x0204, 0x00D6, 0x0205, 0x027E, 0x00FD];
}

/// The records of a BIFF stream from `at`: type and data.
fn records(stream: &[u8], at: usize) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = stream.get(at..).unwrap_or_default();
    std::iter::from_fn(move || {
        let (typ, len) =
            (u16::from_le_bytes([*rest.first()?, *rest.get(1)?]), u16::from_le_bytes([*rest.get(2)?, *rest.get(3)?]));
        let data = rest.get(4..4 + usize::from(len))?;
        rest = &rest[4 + usize::from(len)..];
        Some((typ, data))
    })
}

fn u16_at(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u16::from_le_bytes(d.get(at..at + 2)?.try_into().ok()?)))
}

fn u32_at(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?)))
}

/// The smallest rectangle holding some cells.
#[derive(Default, Clone, Copy)]
struct Extent(Option<(u64, u64, u64, u64)>);

impl Extent {
    fn add(&mut self, row: u64, first: u64, last: u64) {
        let (r0, r1, c0, c1) = self.0.unwrap_or((row, row, first, last));
        self.0 = Some((r0.min(row), r1.max(row), c0.min(first), c1.max(last)));
    }

    fn cells(self) -> u64 {
        self.0.map_or(0, |(r0, r1, c0, c1)| (r1 - r0 + 1).saturating_mul(c1.saturating_sub(c0) + 1))
    }
}

/// What one sheet substream of an `.xls` costs the reader: the room it
/// reserves for the declared dimensions, then the rectangles of its values
/// and of its formulas.
fn xls_sheet(stream: &[u8], at: usize) -> (u64, u64) {
    let (mut reserved, mut values, mut formulas) = (0u64, Extent::default(), Extent::default());
    let (mut seen_bof, mut depth) = (false, 0usize);
    for (typ, d) in records(stream, at) {
        if depth > 0 {
            match typ {
                biff::BOF => depth += 1,
                biff::EOF => depth -= 1,
                _ => {}
            }
            continue;
        }
        match typ {
            biff::BOF if seen_bof => depth += 1,
            biff::BOF => seen_bof = true,
            biff::EOF => break,
            biff::DIMENSIONS => reserved = reserved.max(declared_dimensions(d)),
            biff::FORMULA => {
                if let (Some(r), Some(c)) = (u16_at(d, 0), u16_at(d, 2)) {
                    values.add(r, c, c);
                    formulas.add(r, c, c);
                }
            }
            biff::MUL_RK => {
                if let (Some(r), Some(c0), Some(c1)) =
                    (u16_at(d, 0), u16_at(d, 2), u16_at(d, d.len().saturating_sub(2)))
                {
                    values.add(r, c0, c1.max(c0));
                }
            }
            t if biff::CELLS.contains(&t) => {
                if let (Some(r), Some(c)) = (u16_at(d, 0), u16_at(d, 2)) {
                    values.add(r, c, c);
                }
            }
            _ => {}
        }
    }
    (reserved, values.cells().saturating_add(formulas.cells()))
}

/// The cells the reader reserves for a `DIMENSIONS` record, as it computes
/// them (with its wrap-around on a first row past the last).
fn declared_dimensions(d: &[u8]) -> u64 {
    let fields = match d.len() {
        10 => (u16_at(d, 0), u16_at(d, 2), u16_at(d, 4), u16_at(d, 6)),
        14 | 16 => (u32_at(d, 0), u32_at(d, 4), u16_at(d, 8), u16_at(d, 10)),
        _ => return 0,
    };
    let (Some(rf), Some(rl), Some(mut cf), Some(cl)) = fields else { return 0 };
    if cf > 0xFF || cl < cf {
        cf = 0;
    }
    if rl == 0 || cl == 0 {
        return 1;
    }
    let span =
        |first: u64, last: u64| u64::from((last as u32).wrapping_sub(1).wrapping_sub(first as u32).wrapping_add(1));
    span(rf, rl).saturating_mul(span(cf, cl))
}

/// The cells all sheets of an `.xls` would take: each sheet the workbook
/// lists is read from where it says (two may name the same place, and are
/// then read twice). Its OLE container is opened first by a reader that
/// checks it: the workbook reader follows a chain of sectors that loops
/// until memory runs out.
fn xls_sheets(bytes: &[u8]) -> Option<Refusal> {
    let broken = |e: std::io::Error| {
        Refusal::Broken(Detail::new(
            format!("not a readable workbook: its OLE container is broken: {e}"),
            format!("工作簿无法读取：其 OLE 容器已损坏（{e}）"),
        ))
    };
    let mut file = match cfb::CompoundFile::open(Cursor::new(bytes)) {
        Ok(f) => f,
        Err(e) => return Some(broken(e)),
    };
    let mut stream = Vec::new();
    let read = file
        .open_stream("Workbook")
        .or_else(|_| file.open_stream("Book"))
        .and_then(|mut part| part.by_ref().take(bytes.len() as u64).read_to_end(&mut stream));
    if let Err(e) = read {
        return Some(broken(e));
    }
    let mut sheets = Vec::new();
    for (typ, d) in records(&stream, 0) {
        match typ {
            biff::BOUND_SHEET => sheets.extend(u32_at(d, 0)),
            biff::EOF => break,
            _ => {}
        }
    }
    let (mut total, mut reserved) = (0u64, 0u64);
    for at in sheets {
        let (r, cells) = xls_sheet(&stream, usize::try_from(at).unwrap_or(usize::MAX));
        reserved = reserved.max(r);
        total = total.saturating_add(cells);
    }
    too_many_cells(total.max(reserved)).map(Refusal::TooLarge)
}
