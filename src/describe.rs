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
            Cells::Names if agency => "the cells are agency names of the register".to_owned(),
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

/// The index (into `rows`) of the header's first row and its row count.
fn find_header(rows: &[(u64, Vec<String>)]) -> Option<(usize, usize)> {
    let widest = rows.iter().take(HEADER_SEARCH).map(|(_, c)| non_empty(c)).max()?;
    let names = |cells: &[String]| cells.iter().filter(|c| !number::trim_cell(c).is_empty() && !is_number(c)).count();
    let figures = |cells: &[String]| cells.iter().filter(|c| is_number(c)).count();
    let first = rows.iter().take(HEADER_SEARCH).position(|(_, cells)| {
        let n = non_empty(cells);
        // Most of the table's width, and mostly names (a year header row
        // has numbers, but as headers: `2016`, `2017` count as names when
        // the rows below have more figures than it).
        n * 2 >= widest && n >= 2 && (names(cells) * 2 >= n || figures(cells) == n)
    })?;
    let next = rows.get(first + 1).map(|(_, c)| c);
    let two = next.is_some_and(|below| {
        let above = &rows[first].1;
        // The row below names columns the header leaves empty, and holds
        // no figures: the header's second row.
        figures(below) == 0
            && names(below) > 0
            && below.iter().enumerate().any(|(i, c)| {
                !number::trim_cell(c).is_empty() && above.get(i).is_none_or(|a| number::trim_cell(a).is_empty())
            })
    });
    Some((first, if two { 2 } else { 1 }))
}

/// A draft source entry for the file whose rows are `rows`, named `rel`
/// (its path under the submissions directory).
pub fn describe(rows: &[(u64, Vec<String>)], rel: &str, sheet: Option<&str>, k: RowChecks<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# yearbook describe: {rel}");
    let Some((first, header_rows)) = find_header(rows) else {
        let _ = writeln!(out, "# could not find a header row: no row of names above rows of figures");
        return out;
    };
    let names = match header_rows {
        2 => Stacked::read(&[rows[first].1.clone(), rows[first + 1].1.clone()], k.layouts).names,
        _ => rows[first].1.iter().map(|c| number::trim_cell(c).to_owned()).collect(),
    };
    // The data: rows after the header up to the first footnote.
    let footnotes = crate::config::sources::DEFAULT_FOOTNOTES;
    let data: Vec<&Vec<String>> = rows[first + header_rows..]
        .iter()
        .map(|(_, c)| c)
        .take_while(|c| {
            let first = c.iter().map(|x| number::trim_cell(x)).find(|x| !x.is_empty()).unwrap_or("");
            !footnotes.iter().any(|m| first.starts_with(m))
        })
        .collect();
    let column = |i: usize| data.iter().map(move |r| r.get(i).map_or("", |c| number::trim_cell(c)));

    let mut guesses = Vec::new();
    let mut na: Vec<String> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let cells: Vec<&str> = column(i).filter(|c| !c.is_empty()).collect();
        let guess = guess(name, &cells, k);
        // Tokens standing where figures are: "not available" here.
        if matches!(guess, Guess::Figures | Guess::Indicator(_) | Guess::Year(_)) {
            for c in &cells {
                if !is_number(c) && NA_CANDIDATES.contains(c) && !na.iter().any(|n| n == c) {
                    na.push((*c).to_owned());
                }
            }
        }
        guesses.push(guess);
    }
    let layout = settle(&mut guesses, &names);

    let _ = writeln!(out, "[[sources]]");
    let _ = writeln!(out, "files = {}", toml_string(rel));
    if let Some(sheet) = sheet {
        let _ = writeln!(out, "sheet = {}", toml_string(sheet));
    }
    let _ = writeln!(out, "layout = \"{}\"", layout.name());
    let header_row = rows[first].0;
    if header_row > 1 {
        let _ = writeln!(out, "header_row = {header_row}");
    }
    if header_rows == 2 {
        let _ = writeln!(out, "header_rows = 2");
    }
    if !na.is_empty() {
        let list: Vec<String> = na.iter().map(|t| toml_string(t)).collect();
        let _ = writeln!(out, "not_available = [{}]", list.join(", "));
    }
    write_columns(&mut out, &guesses, &names, layout);
    // Agencies the register does not know by code or name.
    let agency_col =
        guesses.iter().position(|g| matches!(g, Guess::Alias(Field::Agency) | Guess::Field(Field::Agency, _)));
    if let Some(i) = agency_col {
        let mut unknown: Vec<&str> = column(i)
            .filter(|c| !c.is_empty() && k.register.get(c).is_none() && k.register.by_name(c).is_none())
            .collect();
        unknown.dedup();
        if !unknown.is_empty() {
            let _ = writeln!(out, "[sources.values.agency]");
            let mut seen = Vec::new();
            for a in unknown {
                if !seen.contains(&a) {
                    seen.push(a);
                    let _ = writeln!(out, "{} = \"?\"  # could not decide: which agency code?", toml_string(a));
                }
            }
        }
    }
    out
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
    } else if all(share(&|c| k.register.by_name(c).is_some())) {
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

/// The source entry's columns, ignored columns, constants for the fields
/// the table lacks and the indicators to name, from the settled guesses.
fn write_columns(out: &mut String, guesses: &[Guess], names: &[String], layout: Layout) {
    let value_figures = guesses.iter().filter(|g| **g == Guess::Figures).count();
    let mut columns = String::new();
    let mut ignore = Vec::new();
    let mut unknown_indicators = Vec::new();
    let mut notes = String::new();
    for (g, name) in guesses.iter().zip(names) {
        match g {
            Guess::Alias(f) => {
                let _ = writeln!(notes, "# {}: {} (a header the layouts know)", toml_string(name), f.name());
            }
            Guess::Field(f, cells) => {
                let why = cells.why(*f);
                let _ = writeln!(columns, "{} = \"{}\"  # {why}", toml_string(name), f.name());
            }
            Guess::Year(y) => {
                let _ = writeln!(notes, "# {}: the year {y}", toml_string(name));
            }
            Guess::Indicator(code) => {
                let _ = writeln!(notes, "# {}: indicator {code}", toml_string(name));
            }
            Guess::UnknownIndicator(n) => unknown_indicators.push(n.clone()),
            Guess::Figures if layout == Layout::Long && value_figures == 1 => {
                let _ = writeln!(columns, "{} = \"value\"  # the only column of figures", toml_string(name));
            }
            Guess::Figures | Guess::Unknown if !name.trim().is_empty() => ignore.push(name.clone()),
            Guess::Figures | Guess::Unknown => {}
        }
    }
    if !ignore.is_empty() {
        let list: Vec<String> = ignore.iter().map(|t| toml_string(t)).collect();
        let _ = writeln!(out, "# could not map these columns: map each in [sources.columns], or leave it here");
        let _ = writeln!(out, "ignore = [{}]", list.join(", "));
    }
    if !columns.is_empty() {
        let _ = writeln!(out, "[sources.columns]");
        out.push_str(&columns);
    }
    out.push_str(&notes);
    // Fields the file lacks.
    let given = |f: Field| guesses.iter().any(|g| matches!(g, Guess::Alias(x) | Guess::Field(x, _) if *x == f));
    let mut constants = String::new();
    if !given(Field::Agency) {
        let _ = writeln!(constants, "agency = \"?\"  # could not decide: no column of agencies; which agency sent it?");
    }
    if layout != Layout::Wide && !given(Field::Year) {
        let _ = writeln!(constants, "year = 0  # could not decide: no column of years; which year is it?");
    }
    if layout != Layout::Indicators && !given(Field::Indicator) {
        let _ = writeln!(constants, "indicator = \"?\"  # could not decide: no column of indicators; which indicator?");
    }
    if !constants.is_empty() {
        let _ = writeln!(out, "[sources.constants]");
        out.push_str(&constants);
    }
    if !unknown_indicators.is_empty() {
        let _ = writeln!(out, "[sources.values.indicator]");
        for n in unknown_indicators {
            let _ =
                writeln!(out, "{} = \"?\"  # could not decide: which indicator code is this column?", toml_string(&n));
        }
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
