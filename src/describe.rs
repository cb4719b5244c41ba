//! `yearbook describe FILE…`: a draft `[[sources]]` entry for a file in a
//! shape of its own, so that a statistician edits a draft instead of a
//! blank page.
//!
//! From the file's rows (CSV in any accepted encoding, or a workbook's
//! sheet) it finds the header (the first row of names above rows of
//! figures, over two rows where the row under it names columns the row
//! above leaves empty), tells each column by its header and its cells (a
//! layout's alias, a year, an indicator of the catalog by code or name,
//! agencies of the register by code or name, a unit, figures), picks the
//! layout (years as columns: wide; indicators as columns: indicators; else
//! long), and collects the tokens that stand where figures should
//! ("not available"). What it cannot decide is written as `"?"` with a
//! comment: such an entry does not load until it is filled in.
//! Pure: the rows come in, the draft goes out.

use std::fmt::Write as _;

use crate::config::{Field, Layout, RowChecks};
use crate::ingest::header::name_and_unit;
use crate::ingest::number::{self, Cell};
use crate::ingest::stacked::Stacked;

/// Rows looked at for the header.
const HEADER_SEARCH: usize = 30;

/// Tokens that often stand for "not available" where a figure should be.
const NA_CANDIDATES: [&str; 10] = ["..", "...", "…", "-", "—", "–", "NA", "N/A", "n.a.", "x"];

/// What a column's cells are, which says which field it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cells {
    Codes(usize),
    Names,
    Years,
    /// Names beside a column of the same things' codes.
    NamesBesideCodes,
}

impl Cells {
    /// The comment the draft gives the column.
    fn why(self, field: Field) -> String {
        let agency = matches!(field, Field::Agency | Field::AgencyName);
        let (one, many) = if agency { ("agency", "agencies") } else { ("indicator", "indicators") };
        match self {
            Cells::Codes(n) => format!("{n} of {n} cells are {one} codes"),
            Cells::Names if agency => "most cells are agency names of the register".to_owned(),
            Cells::Names => "the cells are indicator names of the catalog".to_owned(),
            Cells::Years => "the cells are four-digit years".to_owned(),
            Cells::NamesBesideCodes => format!("names of the {many} in the code column"),
        }
    }
}

/// What one column is taken to be.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Guess {
    /// A layout's alias: no entry needed.
    Alias(Field),
    /// Mapped in the entry, with what its cells are.
    Field(Field, Cells),
    Year(i32),
    /// An indicator column, resolved by its header.
    Indicator(String),
    /// An indicator column whose header names no indicator.
    UnknownIndicator(String),
    /// Figures under a header that says nothing.
    Figures,
    Unknown,
}

fn is_number(cell: &str) -> bool {
    matches!(number::parse_cell(cell, true), Ok(Cell::Number(_)))
}

fn non_empty(cells: &[String]) -> usize {
    cells.iter().filter(|c| !number::trim_cell(c).is_empty()).count()
}

/// The table describe found in a file's rows.
struct Table<'r> {
    /// Index (into the rows) of the header's first row, and its rows.
    first: usize,
    depth: usize,
    header: Stacked,
    /// The rows after the header up to the first footnote.
    data: Vec<&'r Vec<String>>,
    /// The unit a title row above the header gives the table, and the row.
    unit: Option<(u64, String)>,
}

/// The most rows a header may span.
const MAX_HEADER_ROWS: usize = crate::config::sources::MAX_HEADER_ROWS as usize;

/// The header's first row (index into `rows`) and its row count: the first
/// row of names over most of the table's width (a year counts as a name:
/// a wide header may have more years than names), then each row under it
/// with no figures and no agency in its first cell (a deeper header's rows:
/// words, units, years), blank rows among them.
fn find_header(rows: &[(u64, Vec<String>)], k: RowChecks<'_>) -> Option<(usize, usize)> {
    let widest = rows.iter().take(HEADER_SEARCH).map(|(_, c)| non_empty(c)).max()?;
    let year = |c: &str| k.layouts.year_column(c).is_some();
    let figure = |c: &String| is_number(c) && !year(c);
    let names = |cells: &[String]| cells.iter().filter(|c| !number::trim_cell(c).is_empty() && !figure(c)).count();
    let figures = |cells: &[String]| cells.iter().filter(|c| figure(c)).count();
    let first = rows.iter().take(HEADER_SEARCH).position(|(_, cells)| {
        let n = non_empty(cells);
        n * 2 >= widest && n >= 2 && names(cells) * 2 >= n
    })?;
    let agency = |cells: &[String]| {
        let c = cells.iter().map(|c| number::trim_cell(c)).find(|c| !c.is_empty()).unwrap_or("");
        k.register.get(c).is_some() || k.register.by_name(c).is_some()
    };
    let mut depth = 1;
    while depth < MAX_HEADER_ROWS
        && rows.get(first + depth).is_some_and(|(_, c)| figures(c) == 0 && !agency(c))
        && rows.get(first + depth + 1).is_some()
    {
        depth += 1;
    }
    // A blank row under the header is no part of it.
    while depth > 1 && non_empty(&rows[first + depth - 1].1) == 0 {
        depth -= 1;
    }
    Some((first, depth))
}

/// The table in `rows`: its header, its data up to the first footnote,
/// and the unit a title row gives it; `None` when no header is found.
fn read_table<'r>(rows: &'r [(u64, Vec<String>)], k: RowChecks<'_>) -> Option<Table<'r>> {
    let (first, depth) = find_header(rows, k)?;
    let header_rows: Vec<Vec<String>> = rows[first..first + depth].iter().map(|(_, c)| c.clone()).collect();
    let header = Stacked::read(&header_rows, k.layouts);
    let footnotes = crate::config::sources::DEFAULT_FOOTNOTES;
    let data = rows[first + depth..]
        .iter()
        .map(|(_, c)| c)
        .take_while(|c| {
            let first = c.iter().map(|x| number::trim_cell(x)).find(|x| !x.is_empty()).unwrap_or("");
            !footnotes.iter().any(|m| first.starts_with(m))
        })
        .collect();
    let known = |u: &str| k.units.knows(u);
    let unit = rows[..first]
        .iter()
        .find_map(|(line, cells)| Some((*line, crate::ingest::header::unit_in_title(cells, &known)?)));
    Some(Table { first, depth, header, data, unit })
}

/// Each column's guess, and the tokens standing where figures should be
/// (`""` among them when figures are missing): "not available" here.
fn guess_columns(t: &Table<'_>, k: RowChecks<'_>) -> (Vec<Guess>, Vec<String>) {
    let column = |i: usize| t.data.iter().map(move |r| r.get(i).map_or("", |c| number::trim_cell(c)));
    let mut guesses = Vec::new();
    let mut na: Vec<String> = Vec::new();
    for (i, words) in t.header.words.iter().enumerate() {
        let cells: Vec<&str> = column(i).filter(|c| !c.is_empty()).collect();
        let guess = match t.header.years[i] {
            // Under a year: a year column of a wide table, or an indicator
            // of that year.
            Some(y) if words.is_empty() => Guess::Year(y),
            Some(_) => indicator_named(words, k)
                .map_or_else(|| Guess::UnknownIndicator(name_and_unit(words).0), Guess::Indicator),
            None => guess(words, &cells, k),
        };
        if matches!(guess, Guess::Figures | Guess::Indicator(_) | Guess::Year(_) | Guess::UnknownIndicator(_)) {
            for c in &cells {
                if !is_number(c) && NA_CANDIDATES.contains(c) && !na.iter().any(|n| n == c) {
                    na.push((*c).to_owned());
                }
            }
            if cells.len() < t.data.len() && !na.iter().any(String::is_empty) {
                na.push(String::new());
            }
        }
        guesses.push(guess);
    }
    (guesses, na)
}

/// A draft source entry for the file whose rows are `rows`, named `rel`
/// (its path under the submissions directory); `Err` with why when no
/// draft can be made.
pub fn describe(
    rows: &[(u64, Vec<String>)],
    rel: &str,
    sheet: Option<&str>,
    k: RowChecks<'_>,
) -> Result<String, String> {
    let mut out = String::new();
    let _ = writeln!(out, "# yearbook describe: {rel}");
    let Some(t) = read_table(rows, k) else {
        let _ = writeln!(out, "# could not find a header row: no row of names above rows of figures");
        return Err(out);
    };
    let (mut guesses, na) = guess_columns(&t, k);
    let words = &t.header.words;
    let layout = settle(&mut guesses, words);
    let _ = writeln!(out, "[[sources]]");
    let _ = writeln!(out, "files = {}", toml_string(rel));
    if let Some(sheet) = sheet {
        let _ = writeln!(out, "sheet = {}", toml_string(sheet));
    }
    let _ = writeln!(out, "layout = \"{}\"", layout.name());
    let header_row = rows[t.first].0;
    if header_row > 1 {
        let _ = writeln!(out, "header_row = {header_row}");
    }
    if t.depth > 1 {
        let _ = writeln!(out, "header_rows = {}", t.depth);
    }
    if !na.is_empty() {
        let list: Vec<String> = na.iter().map(|t| toml_string(t)).collect();
        let _ = writeln!(out, "not_available = [{}]", list.join(", "));
    }
    if let Some((line, unit)) = &t.unit {
        let _ = writeln!(out, "# the table's unit, from its title row {line}: {unit}");
    }
    let header_years = t.header.years.iter().any(Option::is_some);
    let given = Given { header_years, unit: t.unit.is_some() };
    write_columns(&mut out, &guesses, &t.header.names, words, layout, given, k);
    write_agencies(&mut out, &t, &guesses, k);
    Ok(out)
}

/// Agencies the register does not know by code or name, to map.
fn write_agencies(out: &mut String, t: &Table<'_>, guesses: &[Guess], k: RowChecks<'_>) {
    let agency_col =
        guesses.iter().position(|g| matches!(g, Guess::Alias(Field::Agency) | Guess::Field(Field::Agency, _)));
    let Some(i) = agency_col else { return };
    let mut unknown: Vec<&str> = Vec::new();
    for c in t.data.iter().map(|r| r.get(i).map_or("", |c| number::trim_cell(c))) {
        if !c.is_empty() && k.register.get(c).is_none() && k.register.by_name(c).is_none() && !unknown.contains(&c) {
            unknown.push(c);
        }
    }
    if !unknown.is_empty() {
        let _ = writeln!(out, "[sources.values.agency]");
        for a in unknown {
            let _ = writeln!(out, "{} = \"?\"  # could not decide: which agency code?", toml_string(a));
        }
    }
}

/// What the column headed `name` holds, from its non-empty `cells`.
fn guess(name: &str, cells: &[&str], k: RowChecks<'_>) -> Guess {
    let share = |f: &dyn Fn(&str) -> bool| cells.iter().filter(|c| f(c)).count();
    let all = |n: usize| !cells.is_empty() && n == cells.len();
    if name.trim().is_empty() && cells.is_empty() {
        Guess::Unknown
    } else if let Some(f) = k.layouts.field(name) {
        Guess::Alias(f)
    } else if let Some(y) = k.layouts.year_column(name) {
        Guess::Year(y)
    } else if all(share(&|c| k.register.get(c).is_some())) {
        Guess::Field(Field::Agency, Cells::Codes(cells.len()))
    } else if all(share(&|c| k.catalog.get(c).is_some())) {
        Guess::Field(Field::Indicator, Cells::Codes(cells.len()))
    } else if all(share(&|c| c.parse::<i32>().is_ok_and(|y| c.len() == 4 && k.years.contains(&y)))) {
        Guess::Field(Field::Year, Cells::Years)
    } else if !cells.is_empty() && share(&|c| k.register.by_name(c).is_some()) * 2 > cells.len() {
        // Most are the register's names; the others (a 全市 row) are
        // drafted for the value map.
        Guess::Field(Field::Agency, Cells::Names)
    } else if all(share(&|c| k.catalog.by_name(c).is_some())) {
        Guess::Field(Field::Indicator, Cells::Names)
    } else if let Some(code) = indicator_named(name, k) {
        Guess::Indicator(code)
    } else {
        let figures = share(&|c| is_number(c));
        if figures > 0 && figures * 2 >= cells.len() { Guess::Figures } else { Guess::Unknown }
    }
}

/// The table's layout from its columns' guesses, which it settles: in a
/// table of indicators as columns, figures under a header that names no
/// indicator are an indicator to name; beside a column of codes, a column
/// of names of the same field is only a name.
fn settle(guesses: &mut [Guess], names: &[String]) -> Layout {
    let has = |g: &dyn Fn(&Guess) -> bool| guesses.iter().any(g);
    let years_as_columns = has(&|g| matches!(g, Guess::Year(_)));
    let indicator_columns = has(&|g| matches!(g, Guess::Indicator(_)));
    let figure_columns = guesses.iter().filter(|g| **g == Guess::Figures).count();
    let layout = if years_as_columns {
        Layout::Wide
    } else if indicator_columns || figure_columns >= 2 {
        // Several columns of figures beside agencies and years: one
        // indicator each.
        Layout::Indicators
    } else {
        Layout::Long
    };
    if layout == Layout::Indicators {
        for (g, name) in guesses.iter_mut().zip(names) {
            if *g == Guess::Figures {
                *g = Guess::UnknownIndicator(name_and_unit(name).0);
            }
        }
    }
    let coded: Vec<Field> = guesses
        .iter()
        .filter_map(|g| match g {
            Guess::Field(f, Cells::Codes(_)) => Some(*f),
            _ => None,
        })
        .collect();
    for g in guesses.iter_mut() {
        if let Guess::Field(f, Cells::Names) = g
            && coded.contains(f)
        {
            *g = match f {
                Field::Agency => Guess::Field(Field::AgencyName, Cells::NamesBesideCodes),
                _ => Guess::Field(Field::IndicatorName, Cells::NamesBesideCodes),
            };
        }
    }
    layout
}

/// What the table gives beside its columns.
#[derive(Clone, Copy)]
struct Given {
    /// A header row of years (each column its year).
    header_years: bool,
    /// A unit from a title row.
    unit: bool,
}

/// The entry's lines for the columns, from the settled guesses.
#[derive(Default)]
struct ColumnLines {
    columns: String,
    notes: String,
    ignore: Vec<String>,
    /// Indicator columns to name, each once.
    unknown_indicators: Vec<String>,
    /// Units in the header's brackets the unit table does not know, once.
    unknown_units: Vec<String>,
}

fn column_lines(
    guesses: &[Guess],
    names: &[String],
    words: &[String],
    layout: Layout,
    k: RowChecks<'_>,
) -> ColumnLines {
    let value_figures = guesses.iter().filter(|g| **g == Guess::Figures).count();
    let mut l = ColumnLines::default();
    // A key is written once: two columns of one name map alike.
    let mut keys: Vec<&str> = Vec::new();
    for ((g, name), words) in guesses.iter().zip(names).zip(words) {
        let key = toml_string(name);
        match g {
            Guess::Alias(f) => {
                let _ = writeln!(l.notes, "# {key}: {} (a header the layouts know)", f.name());
            }
            Guess::Field(f, cells) if !keys.contains(&name.as_str()) => {
                keys.push(name);
                let _ = writeln!(l.columns, "{key} = \"{}\"  # {}", f.name(), cells.why(*f));
            }
            Guess::Year(y) => {
                let _ = writeln!(l.notes, "# {key}: the year {y}");
            }
            Guess::Indicator(code) => {
                let _ = writeln!(l.notes, "# {key}: indicator {code}");
            }
            Guess::UnknownIndicator(n) if !l.unknown_indicators.contains(n) => l.unknown_indicators.push(n.clone()),
            Guess::Figures if layout == Layout::Long && value_figures == 1 => {
                let _ = writeln!(l.columns, "{key} = \"value\"  # the only column of figures");
            }
            Guess::Figures | Guess::Unknown if !name.trim().is_empty() && !l.ignore.contains(name) => {
                l.ignore.push(name.clone());
            }
            _ => {}
        }
        // Brackets that hold no unit the unit table knows: a unit to map,
        // or a part of the name.
        if let (Guess::Indicator(_) | Guess::UnknownIndicator(_), (_, Some(u))) = (g, name_and_unit(words))
            && !k.units.knows(u)
            && !l.unknown_units.iter().any(|x| x == u)
        {
            l.unknown_units.push(u.to_owned());
        }
    }
    l
}

/// The source entry's columns, ignored columns, constants for the fields
/// the table lacks and the indicators to name, from the settled guesses.
fn write_columns(
    out: &mut String,
    guesses: &[Guess],
    names: &[String],
    words: &[String],
    layout: Layout,
    given: Given,
    k: RowChecks<'_>,
) {
    let l = column_lines(guesses, names, words, layout, k);
    if !l.ignore.is_empty() {
        let list: Vec<String> = l.ignore.iter().map(|t| toml_string(t)).collect();
        let _ = writeln!(out, "# could not map these columns: map each in [sources.columns], or leave it here");
        let _ = writeln!(out, "ignore = [{}]", list.join(", "));
    }
    if !l.columns.is_empty() {
        let _ = writeln!(out, "[sources.columns]");
        out.push_str(&l.columns);
    }
    out.push_str(&l.notes);
    write_constants(out, guesses, words, layout, given);
    if !l.unknown_indicators.is_empty() {
        let _ = writeln!(out, "[sources.values.indicator]");
        for n in l.unknown_indicators {
            let last = n.rsplit(' ').next().unwrap_or(&n);
            let names = k.catalog.iter().flat_map(|(_, i)| [i.name_zh.as_str(), i.name_en.as_str()]);
            let near: Vec<String> = crate::config::names::nearest(last, names)
                .into_iter()
                .filter_map(|name| Some(format!("{name} ({})", k.catalog.indicator(k.catalog.by_name(name)?).code)))
                .collect();
            let near = if near.is_empty() { String::new() } else { format!("; nearest: {}", near.join(", ")) };
            let _ = writeln!(
                out,
                "{} = \"?\"  # could not decide: which indicator code is this column?{near}",
                toml_string(&n)
            );
        }
    }
    if !l.unknown_units.is_empty() {
        let _ = writeln!(out, "[sources.values.unit]");
        for u in l.unknown_units {
            let _ = writeln!(
                out,
                "{} = \"?\"  # could not decide: no unit the unit table knows; which is it? (brackets that are part of the name: map the whole header in [sources.values.indicator])",
                toml_string(&u)
            );
        }
    }
}

/// Constants for the fields the table lacks: each a `"?"` to fill in.
fn write_constants(out: &mut String, guesses: &[Guess], words: &[String], layout: Layout, given: Given) {
    let has = |f: Field| guesses.iter().any(|g| matches!(g, Guess::Alias(x) | Guess::Field(x, _) if *x == f));
    // Every figure column names its unit in brackets.
    let units_in_header = layout == Layout::Indicators
        && guesses.iter().zip(words).all(|(g, w)| {
            !matches!(g, Guess::Indicator(_) | Guess::UnknownIndicator(_)) || name_and_unit(w).1.is_some()
        });
    let mut constants = String::new();
    if !has(Field::Agency) {
        let _ = writeln!(constants, "agency = \"?\"  # could not decide: no column of agencies; which agency sent it?");
    }
    if layout != Layout::Wide && !has(Field::Year) && !given.header_years {
        let _ = writeln!(constants, "year = 0  # could not decide: no column of years; which year is it?");
    }
    if layout != Layout::Indicators && !has(Field::Indicator) {
        let _ = writeln!(constants, "indicator = \"?\"  # could not decide: no column of indicators; which indicator?");
    }
    if !has(Field::Unit) && !given.unit && !units_in_header {
        let _ =
            writeln!(constants, "unit = \"?\"  # could not decide: the table names no unit; which are its figures in?");
    }
    if !constants.is_empty() {
        let _ = writeln!(out, "[sources.constants]");
        out.push_str(&constants);
    }
}

/// The catalog indicator a column's header names (by code or name, a unit
/// in brackets aside).
fn indicator_named(header: &str, k: RowChecks<'_>) -> Option<String> {
    let (name, _) = name_and_unit(header);
    let last = name.rsplit(' ').next().unwrap_or(&name).to_owned();
    [header.trim(), name.as_str(), last.as_str()]
        .into_iter()
        .filter(|n| !n.is_empty())
        .find_map(|n| k.catalog.get(n).or_else(|| k.catalog.by_name(n)))
        .map(|id| k.catalog.indicator(id).code.clone())
}

/// A TOML string of `s`, quoted and escaped as TOML wants.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}
