//! Sources: how to read files that do not follow the contract's own
//! layouts, described once in the pipeline file instead of converted by a
//! script. Each `[[sources]]` entry matches files by a glob on their path
//! relative to the submissions directory and says where the header is,
//! which column is which field, what the file leaves out (constants), how
//! its names become codes (value maps), which tokens mean "not available"
//! and where the data ends (footnotes).
//!
//! A file that no source matches is read as the contract says (layouts
//! told by the header). Every mistake in an entry is reported when the
//! pipeline loads, with its line, all at once.

use std::collections::BTreeMap;
use std::path::Path;

use rustc_hash::FxHashMap;
use serde::Deserialize;
use toml::Spanned;

use super::layouts::{Field, Layout};
use super::names::normalize;
use super::{AgencyId, Catalog, ConfigError, IndicatorId, Register, Units};

/// Footnote markers when a source names none: a row whose first non-empty
/// cell starts with one of these ends the data (`注：…`, `资料来源：…`).
pub const DEFAULT_FOOTNOTES: [&str; 8] = ["注", "资料来源", "数据来源", "说明", "Note", "Notes", "Source", "Sources"];

/// What a `[[sources]]` entry says, as written.
/// The most rows a header may span (a yearbook table's deepest).
pub const MAX_HEADER_ROWS: u64 = 6;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceEntry {
    /// A glob on the path relative to the submissions directory
    /// (`imports/人口*.csv`; `*` does not cross `/`, `**` does).
    pub files: Spanned<String>,
    /// `long`, `wide` (years as columns) or `indicators` (indicators as
    /// columns); told from the header (long or wide) when absent.
    #[serde(default)]
    pub layout: Option<Spanned<String>>,
    /// A workbook's sheet: its name, or its position from 1.
    #[serde(default)]
    pub sheet: Option<Spanned<SheetChoice>>,
    /// The row (from 1) the header starts on; rows above it are titles.
    /// Default: the first row that is not blank.
    #[serde(default)]
    pub header_row: Option<Spanned<u64>>,
    /// Rows the header spans (1 to [`MAX_HEADER_ROWS`]; a blank row inside
    /// it is skipped): each column's words joined, a merged cell's carried
    /// over the columns it spans, a year among them the column's year
    /// (`crate::ingest::stacked`).
    #[serde(default = "one")]
    pub header_rows: Spanned<u64>,
    /// A row whose first non-empty cell starts with one of these ends the
    /// data: it and every row after it are footnotes.
    #[serde(default)]
    pub footnotes: Option<Vec<String>>,
    /// Cells that mean "not available" here (`..`, `-`, `…`, ``): kept as
    /// missing values, no note needed.
    #[serde(default)]
    pub not_available: Vec<String>,
    /// Header names (or glob patterns, case-insensitive) → field names of
    /// this source only.
    #[serde(default)]
    pub columns: BTreeMap<String, Spanned<String>>,
    /// Header names (or patterns) of columns to leave unread, unwarned.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Fields the file does not carry.
    #[serde(default)]
    pub constants: ConstantsEntry,
    /// What the file writes → the code it stands for.
    #[serde(default)]
    pub values: ValuesEntry,
}

fn one() -> Spanned<u64> {
    Spanned::new(0..0, 1)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SheetChoice {
    Name(String),
    Position(u64),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstantsEntry {
    pub agency: Option<Spanned<String>>,
    pub indicator: Option<Spanned<String>>,
    pub unit: Option<Spanned<String>>,
    pub year: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValuesEntry {
    #[serde(default)]
    pub agency: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub indicator: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub unit: BTreeMap<String, Spanned<String>>,
}

/// A header name or a glob pattern over names, compared without regard
/// to case or surrounding white space.
#[derive(Debug, Clone)]
struct NameMatch {
    pattern: glob::Pattern,
    /// As the pipeline file writes it.
    written: String,
}

impl NameMatch {
    fn new(text: &str) -> Result<NameMatch, String> {
        let pattern = glob::Pattern::new(&normalize(text)).map_err(|e| format!("`{text}` is not a pattern: {e}"))?;
        Ok(NameMatch { pattern, written: text.to_owned() })
    }

    fn matches(&self, name: &str) -> bool {
        self.pattern.matches(&normalize(name))
    }
}

/// Fields the files of a source do not carry, resolved.
#[derive(Debug, Clone, Default)]
pub struct Constants {
    pub agency: Option<AgencyId>,
    pub indicator: Option<IndicatorId>,
    pub unit: Option<String>,
    pub year: Option<i32>,
}

impl Constants {
    /// Whether `field` comes from a constant.
    pub fn has(&self, field: Field) -> bool {
        match field {
            Field::Agency => self.agency.is_some(),
            Field::Indicator => self.indicator.is_some(),
            Field::Unit => self.unit.is_some(),
            Field::Year => self.year.is_some(),
            _ => false,
        }
    }
}

/// One source, compiled.
#[derive(Debug, Clone)]
pub struct Source {
    /// The glob as written: how messages name the source.
    pub name: String,
    files: glob::Pattern,
    pub layout: Option<Layout>,
    pub sheet: Option<SheetChoice>,
    pub header_row: Option<u64>,
    pub header_rows: u64,
    pub footnotes: Vec<String>,
    /// Normalized tokens.
    not_available: Vec<String>,
    columns: Vec<(NameMatch, Field)>,
    ignore: Vec<NameMatch>,
    pub constants: Constants,
    /// Normalized text → code.
    agencies: FxHashMap<String, AgencyId>,
    indicators: FxHashMap<String, IndicatorId>,
    units: FxHashMap<String, String>,
}

/// What a header cell of a source's file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    Field(Field),
    Ignored,
    /// Not in the source's map: the layouts' aliases decide.
    Unmapped,
}

impl Source {
    pub fn matches(&self, rel: &str) -> bool {
        let opts = glob::MatchOptions { case_sensitive: true, require_literal_separator: true, ..Default::default() };
        self.files.matches_with(rel, opts)
    }

    /// What the source's own map says of a header name.
    /// The `[sources.columns]` keys (as written, with their field) that
    /// name none of a file's header `names`.
    pub fn unmatched_columns(&self, names: &[String]) -> Vec<(&str, Field)> {
        let unmatched = self.columns.iter().filter(|(m, _)| !names.iter().any(|n| m.matches(n)));
        unmatched.map(|(m, f)| (m.written.as_str(), *f)).collect()
    }

    pub fn column(&self, name: &str) -> Mapped {
        if let Some((_, f)) = self.columns.iter().find(|(m, _)| m.matches(name)) {
            return Mapped::Field(*f);
        }
        if self.ignore.iter().any(|m| m.matches(name)) { Mapped::Ignored } else { Mapped::Unmapped }
    }

    /// Whether a cell means "not available" in this source.
    pub fn not_available(&self, cell: &str) -> bool {
        let cell = normalize(cell);
        self.not_available.contains(&cell)
    }

    /// The agency a cell names through the value map, if it does.
    pub fn agency(&self, cell: &str) -> Option<AgencyId> {
        self.agencies.get(&normalize(cell)).copied()
    }

    pub fn indicator(&self, cell: &str) -> Option<IndicatorId> {
        self.indicators.get(&normalize(cell)).copied()
    }

    /// The unit a unit as written stands for (`current US$` → `美元`).
    pub fn unit<'a>(&'a self, written: &'a str) -> &'a str {
        self.units.get(&normalize(written)).map_or(written, String::as_str)
    }
}

/// The pipeline's sources, in the order written.
#[derive(Debug, Clone, Default)]
pub struct Sources(pub Vec<Source>);

/// Index of a source in [`Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceId(pub u32);

impl Sources {
    /// The source that reads `rel`, or the two that both match it.
    pub fn matching(&self, rel: &str) -> Result<Option<SourceId>, (&Source, &Source)> {
        let mut found = self.0.iter().enumerate().filter(|(_, s)| s.matches(rel));
        match (found.next(), found.next()) {
            (None, _) => Ok(None),
            (Some((i, _)), None) => Ok(Some(SourceId(i as u32))),
            (Some((_, a)), Some((_, b))) => Err((a, b)),
        }
    }

    pub fn get(&self, id: SourceId) -> &Source {
        &self.0[id.0 as usize]
    }
}

/// What compiling the entries looks codes up in.
pub struct Lookups<'a> {
    pub catalog: &'a Catalog,
    pub register: &'a Register,
    pub units: &'a Units,
}

/// What an error is reported with: the line (of a span in the pipeline
/// file) and the message.
type Err<'e> = dyn FnMut(Option<u64>, String) + 'e;
type LineOf<'l> = dyn Fn(std::ops::Range<usize>) -> Option<u64> + 'l;

/// A source's `[sources.columns]`: each header matched to its field.
fn column_map(e: &SourceEntry, err: &mut Err<'_>, line: &LineOf<'_>) -> Vec<(NameMatch, Field)> {
    let mut columns = Vec::new();
    for (header, field) in &e.columns {
        let found = Field::ALL.iter().find(|f| f.name() == field.get_ref());
        match (NameMatch::new(header), found) {
            (Ok(m), Some(f)) => columns.push((m, *f)),
            (Err(msg), _) => err(line(field.span()), format!("columns: {msg}")),
            (_, None) => {
                let names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
                let msg = format!("columns: `{}` is not a field ({})", field.get_ref(), names.join(", "));
                err(line(field.span()), msg);
            }
        }
    }
    columns
}

/// A source's `[sources.values.unit]`: each text to the unit it means,
/// which must convert to some indicator's base unit.
fn unit_map(e: &SourceEntry, look: &Lookups<'_>, err: &mut Err<'_>, line: &LineOf<'_>) -> FxHashMap<String, String> {
    let mut units = FxHashMap::default();
    for (text, unit) in &e.values.unit {
        let known = look.catalog.iter().any(|(_, ind)| look.units.power(unit.get_ref(), &ind.base_unit).is_ok());
        if !known {
            err(line(unit.span()), format!("unit `{}` converts to no indicator's base unit", unit.get_ref()));
        }
        units.insert(normalize(text), unit.get_ref().clone());
    }
    units
}

/// Two keys of a value map that are one name as files are read (`Heping`,
/// `HEPING`, `和 平`): the later would silently win. Said at the later key.
fn same_name(map: &BTreeMap<String, Spanned<String>>, text: &str, what: &str) -> Option<String> {
    let first = map.keys().take_while(|k| *k != text).find(|k| normalize(k) == normalize(text))?;
    Some(format!("values.{what}: `{first}` and `{text}` are one name once case, width and spaces are left out"))
}

/// Compiles the entries of the pipeline file at `path` (whose text is
/// `text`, for lines); every error goes to `errors`.
pub fn compile(
    entries: &[SourceEntry],
    path: &Path,
    text: &str,
    look: &Lookups<'_>,
    errors: &mut Vec<ConfigError>,
) -> Sources {
    let mut sources = Vec::new();
    for e in entries {
        let line = |at: std::ops::Range<usize>| super::line_at(text, at.start);
        let at = line(e.files.span());
        let name = e.files.get_ref().clone();
        let mut err = |line: Option<u64>, msg: String| {
            errors.push(ConfigError::new(path, line.or(at), format!("source `{name}`: {msg}")));
        };
        let files = glob::Pattern::new(e.files.get_ref()).map_err(|x| err(at, format!("`files` is not a glob: {x}")));
        let layout = e.layout.as_ref().and_then(|l| {
            let found = Layout::from_name(l.get_ref());
            if found.is_none() {
                err(line(l.span()), format!("layout `{}` is none of long, wide, indicators", l.get_ref()));
            }
            found
        });
        if !(1..=MAX_HEADER_ROWS).contains(e.header_rows.get_ref()) {
            err(line(e.header_rows.span()), format!("header_rows is 1 to {MAX_HEADER_ROWS}"));
        }
        if let Some(r) = &e.header_row
            && *r.get_ref() == 0
        {
            err(line(r.span()), "header_row counts from 1".to_owned());
        }
        if let Some(s) = &e.sheet
            && matches!(s.get_ref(), SheetChoice::Position(0))
        {
            err(line(s.span()), "sheet positions count from 1".to_owned());
        }
        // An empty marker would make every row a footnote.
        if e.footnotes.as_ref().is_some_and(|f| f.iter().any(|m| m.trim().is_empty())) {
            err(at, "a footnote marker is empty (it would end the data at every row)".to_owned());
        }
        let columns = column_map(e, &mut err, &line);
        let ignore = e.ignore.iter().filter_map(|i| NameMatch::new(i).map_err(|msg| err(at, msg)).ok()).collect();
        let agency_code = |code: &Spanned<String>, err: &mut dyn FnMut(Option<u64>, String)| {
            look.register.get(code.get_ref()).or_else(|| {
                err(line(code.span()), format!("agency `{}` is not in the register", code.get_ref()));
                None
            })
        };
        let indicator_code = |code: &Spanned<String>, err: &mut dyn FnMut(Option<u64>, String)| {
            look.catalog.get(code.get_ref()).or_else(|| {
                err(line(code.span()), format!("indicator `{}` is not in the catalog", code.get_ref()));
                None
            })
        };
        let c = &e.constants;
        let constants = Constants {
            agency: c.agency.as_ref().and_then(|a| agency_code(a, &mut err)),
            indicator: c.indicator.as_ref().and_then(|i| indicator_code(i, &mut err)),
            unit: c.unit.as_ref().map(|u| u.get_ref().clone()),
            year: c.year.as_ref().and_then(|y| {
                let ok = i32::try_from(*y.get_ref()).ok().filter(|y| (1000..=9999).contains(y));
                if ok.is_none() {
                    err(line(y.span()), format!("year {} is not a four-digit year", y.get_ref()));
                }
                ok
            }),
        };
        if let (Some(u), Some(ind)) = (&c.unit, constants.indicator) {
            let base = &look.catalog.indicator(ind).base_unit;
            if look.units.power(u.get_ref(), base).is_err() {
                err(line(u.span()), format!("unit `{}` does not convert to `{base}`", u.get_ref()));
            }
        }
        let mut agencies = FxHashMap::default();
        for (text, code) in &e.values.agency {
            if let Some(id) = agency_code(code, &mut err) {
                if let Some(msg) = same_name(&e.values.agency, text, "agency") {
                    err(line(code.span()), msg);
                }
                agencies.insert(normalize(text), id);
            }
        }
        let mut indicators = FxHashMap::default();
        for (text, code) in &e.values.indicator {
            if let Some(id) = indicator_code(code, &mut err) {
                if let Some(msg) = same_name(&e.values.indicator, text, "indicator") {
                    err(line(code.span()), msg);
                }
                indicators.insert(normalize(text), id);
            }
        }
        let units = unit_map(e, look, &mut err, &line);
        let Ok(files) = files else { continue };
        sources.push(Source {
            name: name.clone(),
            files,
            layout,
            sheet: e.sheet.as_ref().map(|s| s.get_ref().clone()),
            header_row: e.header_row.as_ref().map(|r| *r.get_ref()),
            header_rows: *e.header_rows.get_ref(),
            footnotes: e
                .footnotes
                .clone()
                .unwrap_or_else(|| DEFAULT_FOOTNOTES.iter().map(|s| (*s).to_owned()).collect()),
            not_available: e.not_available.iter().map(|t| normalize(t)).collect(),
            columns,
            ignore,
            constants,
            agencies,
            indicators,
            units,
        });
    }
    Sources(sources)
}
