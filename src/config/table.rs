//! Reading the catalog and the register: CSV files with exactly the columns
//! SUBMISSIONS.md fixes (and the optional ones yearbook adds), in any
//! order, every bad line reported.

use rustc_hash::FxHashMap;
use std::path::Path;

use serde::de::DeserializeOwned;

use super::ConfigError;

/// One deserialized row and the line it stands on.
pub struct Row<T> {
    pub line: u64,
    pub value: T,
}

/// Reads `path` (UTF-8, header row) into `T`, checking that the header
/// holds exactly `columns`, and any of `optional`. Returns every row that
/// parsed and every error.
pub fn read<T: DeserializeOwned>(path: &Path, columns: &[&str], optional: &[&str]) -> (Vec<Row<T>>, Vec<ConfigError>) {
    let mut errors = Vec::new();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return (Vec::new(), vec![ConfigError::new(path, None, format!("cannot read: {e}"))]),
    };
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text);
    let headers = match reader.headers() {
        Ok(h) => h.iter().map(|h| h.trim().to_owned()).collect::<csv::StringRecord>(),
        Err(e) => return (Vec::new(), vec![ConfigError::new(path, Some(1), format!("bad header: {e}"))]),
    };
    for column in columns {
        if !headers.iter().any(|h| h == *column) {
            errors.push(ConfigError::new(path, Some(1), format!("missing column `{column}`")));
        }
    }
    for (i, header) in headers.iter().enumerate() {
        if !columns.contains(&header) && !optional.contains(&header) {
            errors.push(ConfigError::new(path, Some(1), format!("unknown column `{header}`")));
        }
        if headers.iter().take(i).any(|h| h == header) {
            errors.push(ConfigError::new(path, Some(1), format!("column `{header}` appears twice")));
        }
    }
    if !errors.is_empty() {
        return (Vec::new(), errors);
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                let trimmed: csv::StringRecord = record.iter().map(str::trim).collect();
                if trimmed.iter().all(str::is_empty) {
                    continue;
                }
                if trimmed.len() != headers.len() {
                    let msg = format!("{} cells, the header has {}", trimmed.len(), headers.len());
                    errors.push(ConfigError::new(path, Some(line), msg));
                    continue;
                }
                match trimmed.deserialize::<T>(Some(&headers)) {
                    Ok(value) => rows.push(Row { line, value }),
                    Err(e) => errors.push(ConfigError::new(path, Some(line), deserialize_message(&e, &headers))),
                }
            }
            Err(e) => {
                let line = e.position().map(|p| p.line());
                errors.push(ConfigError::new(path, line, e.to_string()));
            }
        }
    }
    (rows, errors)
}

fn deserialize_message(e: &csv::Error, headers: &csv::StringRecord) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(field) => {
                let name = headers.get(field as usize).unwrap_or("?");
                format!("column `{name}`: {}", err.kind())
            }
            None => err.kind().to_string(),
        },
        _ => e.to_string(),
    }
}

/// Sorts `rows` by code and indexes them: code → position. Invalid and
/// repeated codes are reported. (Fx hashing: the codes come from the
/// office's own schemas, and every submitted row is looked up twice.)
pub fn index_by_code<T>(
    path: &Path,
    rows: &mut [Row<T>],
    code: impl Fn(&T) -> &str,
    errors: &mut Vec<ConfigError>,
) -> FxHashMap<String, u32> {
    rows.sort_by(|a, b| code(&a.value).cmp(code(&b.value)));
    let mut by_code = FxHashMap::with_capacity_and_hasher(rows.len(), Default::default());
    for (i, row) in rows.iter().enumerate() {
        let c = code(&row.value);
        if !super::is_valid_code(c) {
            let msg = format!("code `{c}` may hold only ASCII letters, digits, `-`, `_` and `.`");
            errors.push(ConfigError::new(path, Some(row.line), msg));
        }
        if by_code.insert(c.to_owned(), i as u32).is_some() {
            errors.push(ConfigError::new(path, Some(row.line), format!("code `{c}` appears twice")));
        }
    }
    by_code
}
