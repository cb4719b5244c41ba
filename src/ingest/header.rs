//! From a header row to a [`HeaderMap`]: which column holds which field,
//! which columns are years (wide layout) or indicators (indicators as
//! columns, a source's layout), and which layout the file has. A source
//! (`crate::config::sources`) maps its own header names first; the
//! layouts' aliases decide the rest.

use super::stacked::Stacked;
use crate::config::sources::{Mapped, Source};
use crate::config::{Catalog, Field, IndicatorId, Layout, Layouts, Units};
use crate::reject::{Code, Detail};

/// What one header cell names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Field(Field),
    Year(i32),
    /// An indicator column: index into [`HeaderMap::indicators`].
    Indicator(usize),
    /// A column the source says to leave unread.
    Ignored,
    Unknown,
}

/// An indicator column of a file with indicators as columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorColumn {
    /// `None`: the header names no indicator of the catalog; its cells are
    /// quarantined, never dropped.
    pub id: Option<IndicatorId>,
    /// The unit the header writes (`出生人口(万人)`), as the source maps it.
    pub unit: Option<String>,
    /// The year a row of years over (or under) the column gives it; else
    /// the row's year, or the source's.
    pub year: Option<i32>,
}

/// The resolved header of one file.
#[derive(Debug, Clone)]
pub struct HeaderMap {
    pub layout: Layout,
    /// The header cells as written (the rows of a deeper header joined).
    pub names: Vec<String>,
    pub columns: Vec<Column>,
    pub indicators: Vec<IndicatorColumn>,
    /// The unit a title row above the header gives the whole table
    /// (`单位：万人`, `(10 000 persons)`), as written.
    pub table_unit: Option<String>,
    index: [Option<usize>; Field::ALL.len()],
}

impl HeaderMap {
    /// The column holding `field`.
    pub fn column(&self, field: Field) -> Option<usize> {
        self.index[field as usize]
    }

    /// The year columns of a wide file, in file order.
    pub fn years(&self) -> impl Iterator<Item = (usize, i32)> + '_ {
        self.columns.iter().enumerate().filter_map(|(i, c)| match c {
            Column::Year(y) => Some((i, *y)),
            _ => None,
        })
    }

    /// The indicator columns of a file with indicators as columns.
    pub fn indicator_columns(&self) -> impl Iterator<Item = (usize, &IndicatorColumn)> + '_ {
        self.columns.iter().enumerate().filter_map(|(i, c)| match c {
            Column::Indicator(k) => Some((i, &self.indicators[*k])),
            _ => None,
        })
    }
}

/// What a header is read against.
#[derive(Clone, Copy)]
pub struct HeaderRules<'a> {
    pub layouts: &'a Layouts,
    /// A layout every file must have (the pipeline's `layout`).
    pub pinned: Option<Layout>,
    /// The source that reads the file, if one does.
    pub source: Option<&'a Source>,
    /// For indicator columns' names.
    pub catalog: &'a Catalog,
    /// For a unit written above the header.
    pub units: &'a Units,
}

/// A header name and the unit written in brackets in it, the last such
/// group: `出生人口(万人)`, `GDP (current US$)`, `地区生产总值（亿元）`, and in
/// a two-row header the group's (`参保人数（万人） 基本养老保险`).
pub fn name_and_unit(header: &str) -> (String, Option<&str>) {
    let h = header.trim_matches([' ', '\t', '\u{3000}']);
    let close = h.char_indices().rev().find(|(_, c)| matches!(c, ')' | '）' | ']'));
    if let Some((end, c)) = close {
        let open = match c {
            ')' => '(',
            '）' => '（',
            _ => '[',
        };
        if let Some(start) = h[..end].rfind(open) {
            let unit = h[start + open.len_utf8()..end].trim();
            if !unit.is_empty() {
                let before = h[..start].trim_end_matches([' ', '\u{3000}', ',', '，']);
                let after = h[end + c.len_utf8()..].trim();
                let name =
                    if after.is_empty() { before.to_owned() } else { format!("{before} {after}").trim().to_owned() };
                return (name, Some(unit));
            }
        }
    }
    (h.to_owned(), None)
}

/// The unit a title row above a header gives the table, if it gives one:
/// a cell `单位：万人` (`计量单位：`, `Unit:`), a cell that is only a unit
/// in brackets (`(10 000 persons)`, `（亿元）`), or a title ending in a
/// bracketed unit that `known` knows (`指标：地区生产总值(亿元)`; not `(2015)`).
pub fn unit_in_title(cells: &[String], known: &dyn Fn(&str) -> bool) -> Option<String> {
    const LABELS: [&str; 4] = ["单位", "计量单位", "unit", "units"];
    let bracketed = |c: &str| {
        let inner = c.strip_prefix(['(', '（'])?.strip_suffix([')', '）'])?.trim();
        (!inner.is_empty()).then(|| inner.to_owned())
    };
    cells.iter().map(|c| c.trim_matches([' ', '\t', '\u{3000}'])).filter(|c| !c.is_empty()).find_map(|c| {
        let labelled =
            c.split_once(['：', ':']).filter(|(label, _)| LABELS.contains(&label.trim().to_lowercase().as_str()));
        if let Some((_, unit)) = labelled {
            let unit = unit.trim();
            return (!unit.is_empty()).then(|| bracketed(unit).unwrap_or_else(|| unit.to_owned()));
        }
        bracketed(c).or_else(|| name_and_unit(c).1.filter(|u| known(u)).map(str::to_owned))
    })
}

/// The indicator and unit an indicator column's header names.
fn indicator_column(header: &str, year: Option<i32>, source: Option<&Source>, catalog: &Catalog) -> IndicatorColumn {
    let (name, unit) = name_and_unit(header);
    let name = name.as_str();
    let look = |text: &str| {
        source.and_then(|s| s.indicator(text)).or_else(|| catalog.get(text.trim())).or_else(|| catalog.by_name(text))
    };
    // A two-row header's name is the group's and the column's
    // (`人口指标 出生人口`): the column's alone names the indicator too.
    let last = name.rsplit(' ').next().unwrap_or(name);
    // A header that names an indicator whole, brackets and all (`Bunker
    // fuels (Not in Total)`), has its brackets as part of the name: no unit.
    let whole = look(header);
    let id = whole.or_else(|| [name, last].into_iter().filter(|n| !n.is_empty()).find_map(look));
    let unit = unit.filter(|_| whole.is_none()).map(|u| source.map_or(u, |s| s.unit(u)).to_owned());
    IndicatorColumn { id, unit, year }
}

/// A header that cannot be used: every row of the file is quarantined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderError {
    pub code: Code,
    pub detail: Detail,
}

/// Resolves a header. Unknown columns are returned (as indexes) for
/// warnings; they do not stop the file.
pub fn resolve(header: Stacked, rules: &HeaderRules<'_>) -> Result<(HeaderMap, Vec<usize>), HeaderError> {
    let fail = |code, detail: Detail| Err(HeaderError { code, detail });
    let (layouts, source) = (rules.layouts, rules.source);
    let pinned = source.and_then(|s| s.layout).or(rules.pinned);
    let Stacked { names, words, years } = header;
    let (mut columns, mut index) = columns_of(&names, &words, &years, rules, pinned)?;
    // A source's file may leave a field to its constants, and the unit to
    // its headers or the indicator's base unit.
    let constants = source.map(|s| &s.constants);
    let row_year = index[Field::Year as usize].is_some() || constants.is_some_and(|c| c.has(Field::Year));
    let header_years = pinned == Some(Layout::Indicators) && years.iter().any(Option::is_some);
    let given = |f: Field| {
        index[f as usize].is_some()
            || constants.is_some_and(|c| c.has(f))
            || (f == Field::Unit && source.is_some())
            || (f == Field::Year && header_years)
    };
    let has_year_columns = columns.iter().any(|c| matches!(c, Column::Year(_)));
    let layout = layout_of(pinned, given(Field::Year), has_year_columns)?;
    let (required, optional) = layouts.spec(layout);
    let missing: Vec<&str> = required.iter().filter(|f| !given(**f)).map(|f| f.name()).collect();
    if !missing.is_empty() {
        let (what, missing) = (layout.name(), missing.join(", "));
        return fail(
            Code::MissingColumn,
            Detail::new(format!("{what} layout needs {missing}"), format!("{what} 格式需要 {missing} 列")),
        );
    }
    if layout == Layout::Wide && !has_year_columns {
        return fail(
            Code::MissingColumn,
            Detail::new("wide layout needs at least one year column", "宽表至少需要一个年度列"),
        );
    }
    // A field the layout does not use (a `value` column in a wide file) is
    // as good as unknown: say so rather than read it. In a file with
    // indicators as columns, every other named column is an indicator.
    let mut unknown = Vec::new();
    let mut indicators = Vec::new();
    for (i, column) in columns.iter_mut().enumerate() {
        let used = match column {
            Column::Field(f) => required.contains(f) || optional.contains(f),
            Column::Year(_) => layout == Layout::Wide,
            Column::Ignored | Column::Indicator(_) => true,
            Column::Unknown => false,
        };
        if used {
            continue;
        }
        if let Column::Field(f) = column {
            index[*f as usize] = None;
        }
        // An indicator column needs a year: its header's, the row's or the
        // source's.
        let year = years[i];
        if layout == Layout::Indicators && !words[i].trim().is_empty() && (year.is_some() || row_year) {
            indicators.push(indicator_column(&words[i], year, source, rules.catalog));
            *column = Column::Indicator(indicators.len() - 1);
        } else {
            *column = Column::Unknown;
            unknown.push(i);
        }
    }
    if layout == Layout::Indicators && indicators.is_empty() {
        return fail(
            Code::MissingColumn,
            Detail::new("indicators layout needs at least one indicator column", "指标列格式至少需要一个指标列"),
        );
    }
    Ok((HeaderMap { layout, names, columns, indicators, table_unit: None, index }, unknown))
}

/// Where each field is in the header: its column, a layout's alias or a
/// source's name; a year column; or neither (yet).
type FieldIndex = [Option<usize>; Field::ALL.len()];

/// What each column names, by its words (and year, from a row of years),
/// before the layout is known; two columns naming one field refuse the
/// header.
fn columns_of(
    names: &[String],
    words: &[String],
    years: &[Option<i32>],
    rules: &HeaderRules<'_>,
    pinned: Option<Layout>,
) -> Result<(Vec<Column>, FieldIndex), HeaderError> {
    let fail = |code, detail: Detail| Err(HeaderError { code, detail });
    let (layouts, source) = (rules.layouts, rules.source);
    let mut columns = Vec::with_capacity(names.len());
    let mut index = [None; Field::ALL.len()];
    for (i, (name, header_year)) in words.iter().zip(years).enumerate() {
        let blank = name.trim_matches([' ', '\t', '\u{3000}', '\u{feff}']).is_empty();
        // A spreadsheet's export leaves columns without a name: a source's
        // file says so per column (warned as unknown), a contract file is
        // refused.
        if blank && source.is_none() {
            return fail(
                Code::BlankHeader,
                Detail::new(format!("column {} has no name", i + 1), format!("第 {} 列没有列名", i + 1)),
            );
        }
        let mapped = source.map_or(Mapped::Unmapped, |s| s.column(&names[i]));
        // A column under a year is a figure's, whatever its words.
        let field = match mapped {
            Mapped::Field(f) => Some(f),
            Mapped::Ignored => {
                columns.push(Column::Ignored);
                continue;
            }
            Mapped::Unmapped if header_year.is_some() => None,
            Mapped::Unmapped => layouts.field(name),
        };
        let year = match header_year {
            Some(y) => Some(*y),
            None if pinned == Some(Layout::Indicators) || blank => None,
            None => layouts.year_column(name),
        };
        let column = match (field, year) {
            (Some(field), _) => {
                if let Some(first) = index[field as usize] {
                    let detail = Detail::new(
                        format!("`{}` and `{name}` both name `{}`", names[first], field.name()),
                        format!("`{}` 与 `{name}` 都表示 `{}`", names[first], field.name()),
                    );
                    return fail(Code::DuplicateHeader, detail);
                }
                index[field as usize] = Some(i);
                Column::Field(field)
            }
            (None, Some(year)) => {
                // Years over indicators repeat a year over each of them.
                if pinned != Some(Layout::Indicators) && columns.contains(&Column::Year(year)) {
                    return fail(
                        Code::DuplicateHeader,
                        Detail::new(format!("year {year} appears twice"), format!("年度 {year} 出现两次")),
                    );
                }
                Column::Year(year)
            }
            (None, None) => Column::Unknown,
        };
        columns.push(column);
    }
    Ok((columns, index))
}

/// The layout a header reads in: the one pinned, else long for a year
/// column, wide for columns named by years; neither or both is refused.
fn layout_of(pinned: Option<Layout>, year_column: bool, year_columns: bool) -> Result<Layout, HeaderError> {
    let unknown = |en: &str, zh: &str| Err(HeaderError { code: Code::LayoutUnknown, detail: Detail::new(en, zh) });
    match (pinned, year_column, year_columns) {
        (Some(layout), _, _) => Ok(layout),
        (None, true, false) => Ok(Layout::Long),
        (None, false, true) => Ok(Layout::Wide),
        (None, true, true) => unknown(
            "the header has both a year column and columns named by years",
            "表头既有年度列，又有以年度命名的列",
        ),
        (None, false, false) => unknown(
            "the header has neither a year column nor columns named by years",
            "表头既无年度列，也无以年度命名的列",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::name_and_unit;

    #[test]
    fn a_unit_above_the_header_is_labelled_bracketed_or_a_known_unit_ending_a_title() {
        let known = |u: &str| ["亿元", "万人"].contains(&u);
        let unit =
            |cells: &[&str]| super::unit_in_title(&cells.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>(), &known);
        assert_eq!(unit(&["单位：件", "", ""]), Some("件".to_owned()));
        assert_eq!(unit(&["", "", "计量单位: 万人"]), Some("万人".to_owned()));
        assert_eq!(unit(&["Unit: (10 000 persons)"]), Some("10 000 persons".to_owned()));
        assert_eq!(unit(&["(10 000 persons)"]), Some("10 000 persons".to_owned()));
        assert_eq!(unit(&["指标：地区生产总值(亿元)"]), Some("亿元".to_owned()));
        assert_eq!(unit(&["Table 2-7 Employment by district (2015)"]), None);
        assert_eq!(unit(&["2019—2020年各区劳动人事争议调解情况"]), None);
        assert_eq!(unit(&["单位："]), None);
    }

    #[test]
    fn a_unit_in_brackets_after_the_name_is_the_unit() {
        let split = |h: &str| {
            let (name, unit) = name_and_unit(h);
            (name, unit.map(str::to_owned))
        };
        let is = |name: &str, unit: Option<&str>| (name.to_owned(), unit.map(str::to_owned));
        assert_eq!(split("出生人口(万人)"), is("出生人口", Some("万人")));
        assert_eq!(split("地区生产总值（亿元）"), is("地区生产总值", Some("亿元")));
        assert_eq!(split("GDP (current US$)"), is("GDP", Some("current US$")));
        assert_eq!(split(" 城镇新增就业 "), is("城镇新增就业", None));
        assert_eq!(split("（万人）"), is("", Some("万人")));
        assert_eq!(split("()"), is("()", None));
        assert_eq!(split("社会保险参保人数（万人） 基本养老保险"), is("社会保险参保人数 基本养老保险", Some("万人")));
    }
}
