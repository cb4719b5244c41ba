//! From a header row to a [`HeaderMap`]: which column holds which field,
//! which columns are years (wide layout), and which layout the file has.

use crate::config::{Field, Layout, Layouts};
use crate::reject::{Code, Detail};

/// What one header cell names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Field(Field),
    Year(i32),
    Unknown,
}

/// The resolved header of one file.
#[derive(Debug, Clone)]
pub struct HeaderMap {
    pub layout: Layout,
    /// The header cells as written.
    pub names: Vec<String>,
    pub columns: Vec<Column>,
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
}

/// A header that cannot be used: every row of the file is quarantined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderError {
    pub code: Code,
    pub detail: Detail,
}

/// Resolves a header row. Unknown columns are returned (as indexes) for
/// warnings; they do not stop the file.
pub fn resolve(
    names: Vec<String>,
    layouts: &Layouts,
    pinned: Option<Layout>,
) -> Result<(HeaderMap, Vec<usize>), HeaderError> {
    let fail = |code, detail: Detail| Err(HeaderError { code, detail });
    let mut columns = Vec::with_capacity(names.len());
    let mut index = [None; Field::ALL.len()];
    for (i, name) in names.iter().enumerate() {
        if name.trim_matches([' ', '\t', '\u{3000}', '\u{feff}']).is_empty() {
            return fail(
                Code::BlankHeader,
                Detail::new(format!("column {} has no name", i + 1), format!("第 {} 列没有列名", i + 1)),
            );
        }
        let column = match (layouts.field(name), layouts.year_column(name)) {
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
                if columns.contains(&Column::Year(year)) {
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
    let has_year_field = index[Field::Year as usize].is_some();
    let has_year_columns = columns.iter().any(|c| matches!(c, Column::Year(_)));
    let layout = match (pinned, has_year_field, has_year_columns) {
        (Some(layout), _, _) => layout,
        (None, true, false) => Layout::Long,
        (None, false, true) => Layout::Wide,
        (None, true, true) => {
            return fail(
                Code::LayoutUnknown,
                Detail::new(
                    "the header has both a year column and columns named by years",
                    "表头既有年度列，又有以年度命名的列",
                ),
            );
        }
        (None, false, false) => {
            return fail(
                Code::LayoutUnknown,
                Detail::new(
                    "the header has neither a year column nor columns named by years",
                    "表头既无年度列，也无以年度命名的列",
                ),
            );
        }
    };
    let (required, optional) = layouts.spec(layout);
    let missing: Vec<&str> = required.iter().filter(|f| index[**f as usize].is_none()).map(|f| f.name()).collect();
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
    // as good as unknown: say so rather than read it.
    let mut unknown = Vec::new();
    for (i, column) in columns.iter_mut().enumerate() {
        let used = match column {
            Column::Field(f) => required.contains(f) || optional.contains(f),
            Column::Year(_) => layout == Layout::Wide,
            Column::Unknown => false,
        };
        if !used {
            if let Column::Field(f) = column {
                index[*f as usize] = None;
            }
            *column = Column::Unknown;
            unknown.push(i);
        }
    }
    Ok((HeaderMap { layout, names, columns, index }, unknown))
}
