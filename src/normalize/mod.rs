//! Normalize: from the records of one submission to observations in base
//! units, joined to the catalog and the register, each with its origin.
//!
//! Never drops a row: a record that cannot become an observation becomes
//! one or more [`Issue`]s (the quarantine), with file, line, field, the raw
//! text and a code. Warnings (an unknown column, a name that differs from
//! the catalog, an unreadable claim) keep the row. Each field's rule is a
//! function of [`fields`]; this module reads a record's cells, calls them in
//! the order the fields depend on each other, and keeps the count.
//!
//! Duplicates: within one file, an exact repeat of a key is quarantined as
//! `duplicate_identical` and the first row kept; a repeat with other figures
//! quarantines every row of that key (`duplicate_conflict`), since nothing
//! says which is right. Across files, the later file supersedes the earlier
//! (`crate::supersede`).

use compact_str::CompactString;
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::collections::hash_map::Entry;

use serde::Serialize;

use crate::config::{Field, Layout, RowChecks};
use crate::decimal::Decimal;
use crate::ingest::number::trim_cell;
use crate::ingest::{
    Encoding, HeaderMap, HeaderRules, IndicatorColumn, Item, MAX_RECORD_BYTES, Parsed, Record, Submission, Unclosed,
};
use crate::model::{FileId, Key, Observation, Origin};
use crate::reject::{Code, Detail, Issue};

pub mod fields;

/// What one file contributed, for the manifest: rows read = accepted +
/// quarantined.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct FileReport {
    pub path: String,
    /// Where the file really is, when a symbolic link in the inbox led to
    /// it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_target: Option<String>,
    pub sha256: String,
    pub bytes: u64,
    pub encoding: Option<Encoding>,
    /// A workbook's sheet that was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// The pipeline's source that read the file (its glob), if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub layout: Option<Layout>,
    /// Why every row of the file was quarantined, if it was.
    pub refused: Option<String>,
    #[serde(skip)]
    pub header: Vec<String>,
    /// Physical lines: the header's, every record's (a record spans lines
    /// only inside a quote that closes) and the blank rows.
    pub lines: u64,
    /// CSV records after the header.
    pub records: u64,
    /// Empty lines, and rows whose cells are all empty.
    pub blank_rows: u64,
    /// A source's rows above the header (a table's title) and from its
    /// first footnote on: neither data nor lost.
    pub title_rows: u64,
    pub footnote_rows: u64,
    /// Observations the records held (one per record in a long file, one
    /// per year cell in a wide one).
    pub rows_read: u64,
    pub accepted: u64,
    pub quarantined: u64,
    /// Accepted here, then superseded by a later file.
    pub superseded: u64,
}

/// One file, normalized.
pub struct Normalized {
    pub report: FileReport,
    pub observations: Vec<Observation>,
    pub rejected: Vec<Issue>,
    pub warnings: Vec<Issue>,
    /// What the quarantined rows were about, where they say so: a total
    /// lists their agencies as missing.
    pub quarantined_keys: Vec<Key>,
    /// The first and last line of the run of blank rows whose warning is
    /// the last of `warnings`, if it is.
    blank_run: Option<(u64, u64)>,
}

impl Normalized {
    /// A blank row at `line`: counted, and one warning for each run of
    /// blank rows, with its range (a stray cell at a sheet's last row
    /// leaves a million of them).
    fn blank(&mut self, file: FileId, line: u64, byte: u64) {
        self.report.blank_rows += 1;
        let last_is_run = self.warnings.last().is_some_and(|w| w.code == Code::BlankRow);
        match self.blank_run {
            Some((first, last)) if last_is_run && line == last + 1 => {
                let w = self.warnings.last_mut().expect("the run's warning");
                w.detail = Detail::new(
                    format!("{} blank rows, lines {first}–{line}", line - first + 1),
                    format!("连续 {} 个空行（第 {first}–{line} 行）", line - first + 1),
                );
                self.blank_run = Some((first, line));
            }
            _ => {
                self.warnings.push(Issue::at(file, line, byte, Code::BlankRow));
                self.blank_run = Some((line, line));
            }
        }
    }
}

/// Normalizes every record of one submission.
pub fn file(sub: &Submission, p: RowChecks<'_>) -> Normalized {
    let mut out = Normalized {
        report: FileReport {
            path: sub.file.rel.clone(),
            link_target: sub.file.target.as_ref().map(|t| crate::ingest::shown_name(&t.display().to_string())),
            sha256: sub.sha256.clone(),
            bytes: sub.bytes.len() as u64,
            encoding: if sub.sheet.is_some() { None } else { sub.encoding.as_ref().ok().copied() },
            sheet: sub.sheet.as_ref().and_then(|s| s.as_ref().ok()).map(|s| s.sheet.clone()),
            source: p.source.map(|s| s.name.clone()),
            layout: None,
            refused: None,
            header: Vec::new(),
            lines: 0,
            records: 0,
            blank_rows: 0,
            title_rows: 0,
            footnote_rows: 0,
            rows_read: 0,
            accepted: 0,
            quarantined: 0,
            superseded: 0,
        },
        observations: Vec::new(),
        rejected: Vec::new(),
        warnings: Vec::new(),
        quarantined_keys: Vec::new(),
        blank_run: None,
    };
    let mut dups = Duplicates::default();
    let file = sub.file.id;
    let workbook = sub.sheet.is_some();
    let rules = HeaderRules {
        layouts: p.layouts,
        pinned: p.reading.layout,
        source: p.source,
        catalog: p.catalog,
        units: p.units,
    };
    // Whether a footnote has been seen: a record after one is flagged.
    let mut footnote_seen = false;
    let reading = sub.parse(&rules, p.reading.delimiter, |item| match item {
        Item::Title(rec) => {
            out.report.title_rows += 1;
            out.warnings.push(issue(file, &rec, String::new(), rec.text(), Code::TitleRow, Detail::default()));
        }
        Item::Footnote(Parsed::Read { header, .. }, rec)
            if RowReader { p, file, header, workbook }.reads_as_record(&rec) =>
        {
            out.report.records += 1;
            if footnote_seen {
                let detail = Detail::new(
                    "the row reads as a record although a footnote came before it: read as one",
                    "注释行之后的这一行可按数据读取，已按数据读取",
                );
                out.warnings.push(issue(file, &rec, String::new(), rec.text(), Code::RecordAfterFootnote, detail));
            }
            RowReader { p, file, header, workbook }.record(&rec, &mut out, &mut dups);
        }
        Item::Footnote(_, rec) => {
            footnote_seen = true;
            out.report.footnote_rows += 1;
            out.warnings.push(issue(file, &rec, String::new(), rec.text(), Code::FootnoteRow, Detail::default()));
        }
        Item::FootnoteUnclosed(bad) => {
            footnote_seen = true;
            out.report.footnote_rows += 1;
            out.warnings.push(Issue { raw: bad.text, ..Issue::at(file, bad.line, bad.byte, Code::FootnoteRow) });
        }
        Item::Blank { line, byte } => out.blank(file, line, byte),
        Item::Record(Parsed::Refused(e), rec) => {
            out.report.records += 1;
            out.report.rows_read += 1;
            out.report.quarantined += 1;
            out.rejected.push(issue(file, &rec, String::new(), rec.text(), e.code, e.detail.clone()));
        }
        Item::Unclosed(Parsed::Refused(e), bad) => {
            out.report.records += 1;
            out.report.rows_read += 1;
            out.report.quarantined += 1;
            out.rejected.push(Issue {
                raw: bad.text,
                detail: e.detail.clone(),
                ..Issue::at(file, bad.line, bad.byte, e.code)
            });
        }
        Item::Record(Parsed::Read { header, .. }, rec) => {
            out.report.records += 1;
            RowReader { p, file, header, workbook }.record(&rec, &mut out, &mut dups);
        }
        Item::Unclosed(Parsed::Read { header, .. }, bad) => {
            out.report.records += 1;
            RowReader { p, file, header, workbook }.unclosed(bad, &mut out);
        }
    });
    if let Some(Parsed::Read { header, .. }) = &reading.header {
        header_warnings(&mut out, file, header, reading.header_line.max(1), &p);
    }
    close_header(&mut out, file, reading);
    // The header's warnings were known only once the file was read: every
    // warning in line order, the header's before its rows'.
    out.warnings.sort_by_key(|w| w.line);
    // Rows of a conflicting key were accepted before the conflict showed.
    if !dups.dropped.is_empty() {
        let mut keep = vec![true; out.observations.len()];
        for &i in &dups.dropped {
            keep[i] = false;
        }
        let mut i = 0;
        out.observations.retain(|_| {
            i += 1;
            keep[i - 1]
        });
    }
    out.report.accepted = out.observations.len() as u64;
    out
}

/// What a source's header leaves unsaid, at its line: the units assumed, a
/// constant a column overrides, and each `[sources.columns]` key no column
/// has (with the columns it has).
fn header_warnings(
    out: &mut Normalized,
    file: FileId,
    header: &crate::ingest::HeaderMap,
    line: u64,
    p: &RowChecks<'_>,
) {
    let at = |code| Issue::at(file, line, 0, code);
    if let Some(assumed) = unit_assumed(header, p) {
        out.warnings.push(Issue { detail: assumed, ..at(Code::UnitAssumed) });
    }
    // A column wins over the source's constant for its field: say so.
    for field in [Field::Agency, Field::Indicator, Field::Year, Field::Unit] {
        if let (Some(col), true) = (header.column(field), p.source.is_some_and(|s| s.constants.has(field))) {
            let name = &header.names[col];
            let detail = Detail::new(
                format!("the source's `{}` constant is not used: the column `{name}` gives it", field.name()),
                format!("来源的 `{}` 常量未使用：由 `{name}` 列给出", field.name()),
            );
            out.warnings.push(Issue { field: name.clone(), detail, ..at(Code::ConstantUnused) });
        }
    }
    for (key, field) in p.source.map(|s| s.unmatched_columns(&header.names)).unwrap_or_default() {
        let found = header.names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
        let detail = Detail::new(
            format!("the source maps `{key}` to {}; the header's columns are {found}", field.name()),
            format!("来源将 `{key}` 映射为 {}；表头的列为 {found}", field.name()),
        );
        out.warnings.push(Issue { field: key.to_owned(), detail, ..at(Code::SourceColumnMissing) });
    }
}

/// Why a source's file is read in base units, if it is: no unit column,
/// no unit in its header's brackets (for some indicator column), none above
/// the header, no constant. A figure typed in 万人 would be read as 人 with
/// no word: the file says, once, which units it was read in.
fn unit_assumed(header: &crate::ingest::HeaderMap, p: &RowChecks<'_>) -> Option<Detail> {
    let source = p.source?;
    if header.column(Field::Unit).is_some() || source.constants.unit.is_some() || header.table_unit.is_some() {
        return None;
    }
    let units: Vec<&str> = match header.layout {
        Layout::Indicators => {
            let mut units: Vec<&str> = header
                .indicator_columns()
                .filter(|(_, c)| c.unit.is_none())
                .filter_map(|(_, c)| c.id.map(|id| p.catalog.indicator(id).base_unit.as_str()))
                .collect();
            units.sort_unstable();
            units.dedup();
            units
        }
        _ => Vec::new(),
    };
    if header.layout == Layout::Indicators && units.is_empty() {
        return None;
    }
    let (en, zh) = if units.is_empty() {
        ("each indicator's base unit".to_owned(), "各指标的基本单位".to_owned())
    } else {
        (
            format!("its indicators' base units ({})", units.join(", ")),
            format!("各指标的基本单位（{}）", units.join("、")),
        )
    };
    Some(Detail::new(
        format!("no unit column, no unit in the header or above it, no unit constant: read in {en}"),
        format!("无单位列，表头及其上方无单位，来源未设单位：按{zh}读取"),
    ))
}

/// What the file's header came to, in its report: the layout and names
/// read (unknown columns warned), or why the file was refused; a file
/// with no row says so, a refused one as a quarantine entry of its own.
fn close_header(out: &mut Normalized, file: FileId, reading: crate::ingest::Reading) {
    out.report.lines = reading.lines;
    let header_line = reading.header_line;
    // Why every row of the file was quarantined, if it was: the code, and
    // what it says about the file.
    let refusal = match reading.header {
        None => Some((
            Code::NoHeader,
            Detail::new("the file is empty, or ends before its header row", "文件为空，或在表头行之前结束"),
        )),
        Some(Parsed::Refused(e)) => Some((e.code, e.detail.clone())),
        Some(Parsed::Read { header, unknown_columns }) => {
            out.report.layout = Some(header.layout);
            out.warnings.extend(unknown_columns.iter().map(|&i| Issue {
                field: header.names[i].clone(),
                raw: header.names[i].clone(),
                ..Issue::at(file, header_line, 0, Code::UnknownColumn)
            }));
            out.report.header = header.names;
            None
        }
    };
    out.report.refused = refusal.as_ref().map(|(code, d)| format!("{}: {}", code.as_str(), d.en));
    if out.report.records == 0 {
        match refusal {
            // Refused with no row to quarantine: the file itself is the
            // quarantine entry, so that the run says so (exit 1).
            Some((code, detail)) => {
                out.rejected.push(Issue { detail, ..Issue::at(file, header_line.max(1), 0, code) });
            }
            None => out.warnings.push(Issue::at(file, header_line.max(1), 0, Code::NoRows)),
        }
    }
}

#[derive(Default)]
struct Duplicates {
    seen: FxHashMap<Key, Seen>,
    /// Indexes of accepted observations later found in conflict.
    dropped: Vec<usize>,
}

enum Seen {
    Accepted(usize),
    Conflicted(u64),
}

/// Reads the records of one file against its header into observations.
struct RowReader<'a> {
    p: RowChecks<'a>,
    file: FileId,
    header: &'a HeaderMap,
    /// The file is a workbook's sheet (a formula may lack its value).
    workbook: bool,
}

/// The cells one observation is read from: the year and the indicator
/// from a cell, from the header or from the source's constants.
struct Cells<'r> {
    year: YearCell<'r>,
    indicator: IndicatorCell<'r>,
    value: (usize, Cow<'r, str>),
}

enum YearCell<'r> {
    /// Long layout: the year column's cell.
    Cell(usize, Cow<'r, str>),
    /// Wide layout, or a row of years over indicators: the column's header.
    Header(i32),
    /// The source's constant.
    Constant(i32),
}

enum IndicatorCell<'r> {
    /// Long and wide layouts: the indicator column's cell.
    Cell(usize, Cow<'r, str>),
    /// Indicators as columns: the value's column, by its header.
    Column,
    /// The source's constant.
    Constant(crate::config::IndicatorId),
}

impl RowReader<'_> {
    /// Observations one record holds: one in a long file, one per year
    /// column in a wide one.
    fn rows(&self) -> usize {
        match self.header.layout {
            Layout::Long => 1,
            Layout::Wide => self.header.years().count(),
            Layout::Indicators => self.header.indicator_columns().count(),
        }
    }

    /// Where a record's observations take their cells from.
    fn cells<'r>(&self, rec: &Record<'r>) -> Vec<Cells<'r>> {
        let h = self.header;
        let constants = self.p.source.map(|s| &s.constants);
        let year_constant = constants.and_then(|c| c.year);
        let year_of = |rec: &Record<'r>| match (h.column(Field::Year), year_constant) {
            (Some(col), _) => YearCell::Cell(col, rec.cell(col)),
            (None, Some(y)) => YearCell::Constant(y),
            (None, None) => unreachable!("a header without year column or constant is refused"),
        };
        let indicator_of = |rec: &Record<'r>| match (h.column(Field::Indicator), constants.and_then(|c| c.indicator)) {
            (Some(col), _) => IndicatorCell::Cell(col, rec.cell(col)),
            (None, Some(id)) => IndicatorCell::Constant(id),
            (None, None) => unreachable!("a header without indicator column or constant is refused"),
        };
        match h.layout {
            Layout::Long => {
                let value = h.column(Field::Value);
                vec![Cells {
                    year: year_of(rec),
                    indicator: indicator_of(rec),
                    value: value.map_or((usize::MAX, Cow::Borrowed("")), |i| (i, rec.cell(i))),
                }]
            }
            Layout::Wide => h
                .years()
                .map(|(i, y)| Cells {
                    year: YearCell::Header(y),
                    indicator: indicator_of(rec),
                    value: (i, rec.cell(i)),
                })
                .collect(),
            Layout::Indicators => h
                .indicator_columns()
                .map(|(i, column)| Cells {
                    year: column.year.map_or_else(|| year_of(rec), YearCell::Header),
                    indicator: IndicatorCell::Column,
                    value: (i, rec.cell(i)),
                })
                .collect(),
        }
    }

    /// Whether the record's cells line up with the header: exactly, in a
    /// contract file; in a source's file missing cells at the end are
    /// empty and extra ones must be (spreadsheets save ragged rows).
    fn cell_count_problem(&self, rec: &Record<'_>) -> Option<Code> {
        let (n, header) = (rec.len(), self.header.names.len());
        match (n.cmp(&header), self.p.source.is_some()) {
            (std::cmp::Ordering::Equal, _) | (std::cmp::Ordering::Less, true) => None,
            (std::cmp::Ordering::Greater, true) if (header..n).all(|i| trim_cell(&rec.cell(i)).is_empty()) => None,
            (std::cmp::Ordering::Greater, _) => Some(Code::ExtraCells),
            (std::cmp::Ordering::Less, false) => Some(Code::MissingCells),
        }
    }

    /// Quarantines every observation of a record whose cells cannot be read
    /// at all, each with the same issue.
    fn refuse_record(&self, template: Issue, out: &mut Normalized) {
        let n = self.rows() as u64;
        out.report.rows_read += n;
        out.report.quarantined += n;
        out.rejected.extend(std::iter::repeat_n(template, n as usize));
    }

    /// A record whose quote never closes: its cells cannot be told apart.
    fn unclosed(&self, bad: Unclosed, out: &mut Normalized) {
        let (line, byte) = (bad.quote_line, bad.quote_byte);
        let detail = Detail::new(
            format!("the quote at line {line}, byte {byte} never closes; the lines after line {line} are read as rows"),
            format!("第 {line} 行第 {byte} 字节处的引号没有闭合；第 {line} 行之后的各行按新行读取"),
        );
        let template = Issue { raw: bad.text, detail, ..Issue::at(self.file, bad.line, bad.byte, Code::UnclosedQuote) };
        self.refuse_record(template, out);
    }

    fn record(&self, rec: &Record<'_>, out: &mut Normalized, dups: &mut Duplicates) {
        // Checked before any cell is decoded: a cell past the limit is
        // never copied.
        if let Some((i, len)) = rec.too_long() {
            let field = self.header.names.get(i).cloned().unwrap_or_default();
            let detail = Detail::new(
                format!("the record is {len} bytes; at most {MAX_RECORD_BYTES}"),
                format!("该行 {len} 字节，上限 {MAX_RECORD_BYTES} 字节"),
            );
            self.refuse_record(issue(self.file, rec, field, rec.text(), Code::LineTooLong, detail), out);
            return;
        }
        // A NUL or another control character: the cell is not what the
        // agency meant to send, and it must not reach any output.
        if let Some(c) = rec.control() {
            let field = self.header.names.get(c.cell).cloned().unwrap_or_default();
            let detail = c.describe();
            self.refuse_record(
                issue(self.file, rec, field, rec.cell(c.cell).into_owned(), Code::ControlCharacter, detail),
                out,
            );
            return;
        }
        if rec.is_blank() {
            out.blank(self.file, rec.line, rec.byte);
            return;
        }
        // A workbook's error value (`#DIV/0!`, `#SPILL!`) in any cell, a
        // note's too: the row is not what the agency meant to send.
        if self.workbook
            && let Some(i) = (0..rec.len()).find(|&i| crate::ingest::workbook::is_error_value(&rec.cell(i)))
        {
            let field = self.header.names.get(i).cloned().unwrap_or_default();
            let raw = rec.cell(i).into_owned();
            let detail = Detail::new(
                format!("the cell holds the error value {}", raw.trim()),
                format!("单元格为错误值 {}", raw.trim()),
            );
            self.refuse_record(issue(self.file, rec, field, raw, Code::CellError, detail), out);
            return;
        }
        let cells = self.cells(rec);
        out.report.rows_read += cells.len() as u64;
        if let Some(code) = self.cell_count_problem(rec) {
            let (n, header) = (rec.len(), self.header.names.len());
            let detail = Detail::new(
                format!("{n} cells, the header has {header}"),
                format!("该行 {n} 个单元格，表头 {header} 列"),
            );
            for _ in &cells {
                out.report.quarantined += 1;
                out.rejected.push(issue(self.file, rec, String::new(), rec.text(), code, detail.clone()));
            }
            return;
        }
        for c in cells {
            match self.observation(rec, c, &mut out.warnings) {
                Ok(obs) => self.accept(obs, rec, out, dups),
                Err((key, issues)) => {
                    out.report.quarantined += 1;
                    out.rejected.extend(issues);
                    out.quarantined_keys.extend(key);
                }
            }
        }
    }

    /// Whether `rec` reads as a record: a row of the right width, nothing
    /// refused whole, and a cell that gives an observation (its agency
    /// resolves, its value parses). Such a row is never a footnote.
    fn reads_as_record(&self, rec: &Record<'_>) -> bool {
        if rec.too_long().is_some()
            || rec.control().is_some()
            || rec.is_blank()
            || self.cell_count_problem(rec).is_some()
        {
            return false;
        }
        let mut warnings = Vec::new();
        self.cells(rec).into_iter().any(|c| self.observation(rec, c, &mut warnings).is_ok())
    }

    fn accept(&self, obs: Observation, rec: &Record<'_>, out: &mut Normalized, dups: &mut Duplicates) {
        let key = obs.key;
        match dups.seen.entry(key) {
            Entry::Vacant(v) => {
                v.insert(Seen::Accepted(out.observations.len()));
                out.observations.push(obs);
            }
            Entry::Occupied(mut o) => {
                let field = self.header.names[obs.origin.column as usize].clone();
                let raw = obs.value_raw.to_string();
                out.report.quarantined += 1;
                out.quarantined_keys.push(key);
                match *o.get() {
                    Seen::Accepted(i) if out.observations[i].same_figures(&obs) => {
                        let (en, zh) = self.place(&out.observations[i].origin, &obs.origin);
                        let detail = Detail::new(format!("same as {en}"), format!("与{zh}相同"));
                        out.rejected.push(issue(self.file, rec, field, raw, Code::DuplicateIdentical, detail));
                    }
                    Seen::Accepted(i) => {
                        let first = &out.observations[i];
                        let (en, zh) = self.place(&first.origin, &obs.origin);
                        let (here_en, here_zh) = self.place(&obs.origin, &first.origin);
                        let detail =
                            Detail::new(format!("{en} and {here_en} differ"), format!("{zh}与{here_zh}数值不一致"));
                        let first_rec_field = self.header.names[first.origin.column as usize].clone();
                        out.rejected.push(Issue {
                            file: self.file,
                            line: first.origin.line,
                            byte: first.origin.byte,
                            field: first_rec_field,
                            raw: first.value_raw.to_string(),
                            code: Code::DuplicateConflict,
                            detail: detail.clone(),
                        });
                        out.rejected.push(issue(self.file, rec, field, raw, Code::DuplicateConflict, detail));
                        // The first row moves from accepted to quarantined.
                        out.report.quarantined += 1;
                        dups.dropped.push(i);
                        o.insert(Seen::Conflicted(first.origin.line));
                    }
                    Seen::Conflicted(first_line) => {
                        let detail = differ(first_line, rec.line);
                        out.rejected.push(issue(self.file, rec, field, raw, Code::DuplicateConflict, detail));
                    }
                }
            }
        }
    }

    /// Where a figure at `origin` is, told apart from `other`: its cell in
    /// a workbook (`B5`), its line in a CSV file, and its column too when
    /// both are on one line (a row of years over indicators can hold a key
    /// twice).
    fn place(&self, origin: &Origin, other: &Origin) -> (String, String) {
        let line = origin.line;
        if self.workbook {
            let cell = format!("{}{line}", crate::ingest::workbook::column_letters(origin.column));
            return (format!("cell {cell}"), format!("单元格 {cell}"));
        }
        if line == other.line {
            let column = origin.column + 1;
            return (format!("line {line} column {column}"), format!("第 {line} 行第 {column} 列"));
        }
        (format!("line {line}"), format!("第 {line} 行"))
    }

    /// Reads one observation, or every reason it cannot be one (in the
    /// order of the fields it depends on) and its key where the row says
    /// which agency, indicator and year it is about.
    fn observation(
        &self,
        rec: &Record<'_>,
        c: Cells<'_>,
        warnings: &mut Vec<Issue>,
    ) -> Result<Observation, (Option<Key>, Vec<Issue>)> {
        let p = self.p;
        let h = self.header;
        let cell = |f: Field| h.column(f).map(|i| (i, rec.cell(i)));
        let mut checks = Problems { file: self.file, rec, names: &h.names, issues: Vec::new() };

        let source = p.source;
        let constants = source.map(|s| &s.constants);
        let (value_col, value_text) = &c.value;

        // Each field by its rule (`fields`); every problem is reported, in
        // the order of the fields it depends on. A source's file may name
        // agencies and indicators (value map, register and catalog names)
        // and leave fields to its constants.
        let agency = match (cell(Field::Agency), constants.and_then(|c| c.agency)) {
            (Some((col, text)), _) => checks.take(col, &text, self.agency_of(&text)),
            (None, constant) => Some(constant.expect("a header without agency column or constant is refused")),
        };

        let (year_col, year_text) = match &c.year {
            YearCell::Cell(col, text) => (*col, text.to_string()),
            YearCell::Header(y) | YearCell::Constant(y) => (*value_col, y.to_string()),
        };
        let year = match &c.year {
            YearCell::Header(y) | YearCell::Constant(y) => Some(*y),
            YearCell::Cell(_, text) => checks.take(year_col, text, fields::year(text)),
        };
        let year = year.and_then(|y| checks.take(year_col, &year_text, fields::year_in_range(y, p.years)));

        // An indicator column's header says which indicator, and may say
        // the unit.
        let column = match c.indicator {
            IndicatorCell::Column => match h.columns[*value_col] {
                crate::ingest::Column::Indicator(k) => Some(&h.indicators[k]),
                _ => None,
            },
            _ => None,
        };
        let indicator = self.indicator(&c, column, &mut checks);
        let ind = indicator.map(|id| p.catalog.indicator(id));

        let unit_cell = cell(Field::Unit);
        let unit = unit_cell.as_ref().map(|(col, text)| (*col, text.as_ref()));
        let (unit, power) = self.unit(unit, *value_col, column, ind, &mut checks);
        let percent = fields::percent_allowed(unit, ind);

        let note = cell(Field::Note).and_then(|(_, t)| fields::note(&t));
        // A source's "not available" is a missing value that needs no note.
        let not_available = source.is_some_and(|s| s.not_available(value_text));
        // A workbook's formula saved without its value is no figure.
        let computed = |text: &str| if self.workbook { fields::computed(text) } else { Ok(()) };
        let value = if not_available {
            Some(None)
        } else {
            let read = computed(value_text).and_then(|()| fields::value(value_text, percent, note.is_some()));
            checks.take(*value_col, value_text, read)
        };
        let target_cell = cell(Field::Target);
        let target = match &target_cell {
            // "Not available" in a target is no target, as in a value.
            None => Some(None),
            Some((_, text)) if source.is_some_and(|s| s.not_available(text)) => Some(None),
            Some((col, text)) => checks.take(*col, text, computed(text).and_then(|()| fields::target(text, percent))),
        };
        // In the base unit, within the indicator's minimum.
        let (value, target) = match (value, target, power, ind) {
            (Some(value), Some(target), Some(power), Some(ind)) => {
                let rule = |v: Decimal| fields::to_base(v, power).and_then(|v| fields::at_least_min(v, ind));
                let v = match value {
                    None => Some(None),
                    Some(v) => checks.take(*value_col, value_text, rule(v)).map(Some),
                };
                let t = match (target, &target_cell) {
                    (Some(t), Some((col, text))) => checks.take(*col, text, rule(t)).map(Some),
                    _ => Some(None),
                };
                (v, t)
            }
            _ => (None, None),
        };

        let (Some(agency), Some(year), Some(indicator), Some(power), Some(value), Some(target)) =
            (agency, year, indicator, power, value, target)
        else {
            let issues = checks.issues;
            debug_assert!(!issues.is_empty());
            let key = match (agency, indicator, year) {
                (Some(agency), Some(indicator), Some(year)) => Some(Key { agency, indicator, year }),
                _ => None,
            };
            return Err((key, issues));
        };
        let ind = p.catalog.indicator(indicator);

        let (claimed_completion, claimed_growth) = self.claims(rec, &c, value, ind, warnings);

        Ok(Observation {
            key: Key { agency, indicator, year },
            value,
            target,
            claimed_completion,
            claimed_growth,
            unit: unit.into(),
            power,
            note,
            value_raw: value_text.as_ref().into(),
            target_raw: target_cell.map(|(_, t)| CompactString::from(t)).filter(|t| !trim_cell(t).is_empty()),
            origin: Origin { file: self.file, line: rec.line, byte: rec.byte, column: *value_col as u32 },
        })
    }

    /// The row's unit and its power of ten to `ind`'s base unit: the unit
    /// column's cell (`cell`), the indicator column's header, the source's
    /// constant, the table's (a title row's), or the indicator's own base
    /// unit (which the file's warnings then say, `unit_assumed`).
    fn unit<'u>(
        &'u self,
        cell: Option<(usize, &'u str)>,
        value_col: usize,
        column: Option<&'u IndicatorColumn>,
        ind: Option<&'u crate::config::Indicator>,
        checks: &mut Problems<'_, '_>,
    ) -> (&'u str, Option<u32>) {
        let p = self.p;
        let (unit_col, unit_text): (usize, &str) = match (cell, column.and_then(|c| c.unit.as_deref())) {
            (Some((col, text)), _) => (col, text),
            (None, Some(written)) => (value_col, written),
            (None, None) => {
                let given = p.source.and_then(|s| s.constants.unit.as_deref()).or(self.header.table_unit.as_deref());
                match (given, ind) {
                    (Some(u), _) => (value_col, u),
                    (None, Some(ind)) => (value_col, ind.base_unit.as_str()),
                    (None, None) => (value_col, ""),
                }
            }
        };
        // A unit by its English name is its symbol (`persons` is 人).
        let unit = p.units.symbol(p.source.map_or(trim_cell(unit_text), |s| s.unit(trim_cell(unit_text))));
        let power = ind.and_then(|ind| checks.take(unit_col, unit_text, fields::unit_power(unit, ind, p.units)));
        (unit, power)
    }

    /// The agency a cell names: by code, and in a source's file also by the
    /// value map or a name of the register.
    fn agency_of(&self, text: &str) -> Result<crate::config::AgencyId, fields::Problem> {
        match self.p.source {
            Some(s) => fields::agency_named(text, self.p.register, s),
            None => fields::agency(text, self.p.register),
        }
    }

    /// The row's indicator: its cell's code or name, the source's
    /// constant, or its column's header (`column`).
    fn indicator(
        &self,
        c: &Cells<'_>,
        column: Option<&IndicatorColumn>,
        checks: &mut Problems<'_, '_>,
    ) -> Option<crate::config::IndicatorId> {
        let (p, value_col) = (self.p, c.value.0);
        match &c.indicator {
            IndicatorCell::Cell(col, text) => {
                let found = match p.source {
                    Some(s) => fields::indicator_named(text, p.catalog, s),
                    None => fields::indicator(text, p.catalog),
                };
                checks.take(*col, text, found)
            }
            IndicatorCell::Constant(id) => Some(*id),
            IndicatorCell::Column => {
                let IndicatorColumn { id, .. } = column.expect("an indicator column");
                // The header names no indicator: quarantined at the cell,
                // the header as the text that could not be read.
                let found = id.ok_or(fields::Problem { code: Code::UnknownIndicator, detail: Detail::default() });
                checks.take(value_col, &self.header.names[value_col], found)
            }
        }
    }

    /// The claimed completion and growth of a row that reads as an
    /// observation of `value` for `ind`, and its warnings: warnings never
    /// reject, and an unreadable claim is kept as empty.
    fn claims(
        &self,
        rec: &Record<'_>,
        c: &Cells<'_>,
        value: Option<Decimal>,
        ind: &crate::config::Indicator,
        warnings: &mut Vec<Issue>,
    ) -> (Option<Decimal>, Option<Decimal>) {
        let h = self.header;
        let cell = |f: Field| h.column(f).map(|i| (i, rec.cell(i)));
        let mut warn = |col: usize, raw: &str, problem: fields::Problem| {
            warnings.push(issue(self.file, rec, h.names[col].clone(), raw.to_owned(), problem.code, problem.detail));
        };
        if let Some(problem) = fields::rate_above_100(value, ind) {
            warn(c.value.0, &c.value.1, problem);
        }
        let not_available = |text: &str| self.p.source.is_some_and(|s| s.not_available(text));
        let mut claim = |field: Field| -> Option<Decimal> {
            let (col, text) = cell(field)?;
            if not_available(&text) {
                return None;
            }
            fields::claim(&text).unwrap_or_else(|problem| {
                warn(col, &text, problem);
                None
            })
        };
        let claimed = (claim(Field::ClaimedCompletion), claim(Field::ClaimedGrowth));
        if let Some((col, name)) = cell(Field::IndicatorName)
            && let Some(problem) = fields::name_matches(&name, ind)
        {
            warn(col, trim_cell(&name), problem);
        }
        claimed
    }
}

/// The problems of one row's fields, made into quarantine entries at the
/// row's line and the field's column.
struct Problems<'a, 'r> {
    file: FileId,
    rec: &'a Record<'r>,
    names: &'a [String],
    issues: Vec<Issue>,
}

impl Problems<'_, '_> {
    /// The value of a field's rule, or `None` with its problem noted.
    fn take<T>(&mut self, col: usize, raw: &str, r: Result<T, fields::Problem>) -> Option<T> {
        r.map_err(|e| {
            let field = self.names.get(col).cloned().unwrap_or_default();
            self.issues.push(issue(self.file, self.rec, field, raw.to_owned(), e.code, e.detail));
        })
        .ok()
    }
}

/// Two rows of one key whose figures differ.
fn differ(first: u64, then: u64) -> Detail {
    Detail::new(format!("line {first} and line {then} differ"), format!("第 {first} 行与第 {then} 行数值不一致"))
}

fn issue(file: FileId, rec: &Record<'_>, field: String, raw: String, code: Code, detail: Detail) -> Issue {
    Issue { file, line: rec.line, byte: rec.byte, field, raw, code, detail }
}
