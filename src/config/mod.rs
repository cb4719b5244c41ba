//! The declarative files yearbook runs on: the pipeline, the indicator
//! catalog, the agency register, the unit table and the submission layouts.
//!
//! Every file-facing type is strict (`deny_unknown_fields`, exact CSV
//! columns) and every loader reports all the errors of a file at once, each
//! with its file and line, so a statistician fixes a spreadsheet in one go.

pub mod catalog;
pub mod checks;
pub mod layouts;
pub mod names;
pub mod pipeline;
pub mod register;
pub mod sources;
pub mod table;
pub mod units;

use std::fmt;
use std::path::{Path, PathBuf};

pub use catalog::{Aggregation, Catalog, Coverage, Direction, Indicator, IndicatorId, Kind, YearOnYear};
pub use layouts::{Field, Layout, Layouts};
pub use pipeline::{
    Guards, OutputSettings, Pipeline, PipelineFile, Precision, Reading, RoundingRules, RowChecks, Rules,
};
pub use register::{Agency, AgencyId, Register};
pub use sources::{Source, SourceId, Sources};
pub use units::Units;

/// One error in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line, where the error sits on one.
    pub line: Option<u64>,
    pub message: String,
}

impl ConfigError {
    pub fn new(file: &Path, line: Option<u64>, message: impl Into<String>) -> Self {
        ConfigError { file: file.to_owned(), line, message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// All the errors found in the configuration, one per line when displayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(f, "{n} configuration error{}:", if n == 1 { "" } else { "s" })?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl From<Vec<ConfigError>> for ConfigErrors {
    fn from(v: Vec<ConfigError>) -> Self {
        ConfigErrors(v)
    }
}

/// Whether a code is safe to print anywhere and to use in a file name:
/// ASCII letters, digits, `-`, `_` and `.`, not starting with `.`.
pub fn is_valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && !code.starts_with('.')
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A TOML file read into a strict serde type, with its text kept so that
/// errors found after parsing can name their line (fields that need one are
/// `toml::Spanned`).
pub(crate) struct Toml<T> {
    pub value: T,
    pub text: String,
}

impl<T> Toml<T> {
    /// The 1-based line of a span of the file.
    pub fn line<S>(&self, at: &toml::Spanned<S>) -> Option<u64> {
        line_at(&self.text, at.span().start)
    }
}

pub(crate) fn line_at(text: &str, offset: usize) -> Option<u64> {
    Some(text.get(..offset)?.matches('\n').count() as u64 + 1)
}

/// Reads a TOML file into a strict serde type, the error naming the file
/// and line.
pub(crate) fn load_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Toml<T>, ConfigErrors> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigErrors(vec![ConfigError::new(path, None, format!("cannot read: {e}"))]))?;
    match toml::from_str(&text) {
        Ok(value) => Ok(Toml { value, text }),
        Err(e) => {
            let line = e.span().and_then(|s| line_at(&text, s.start));
            Err(ConfigErrors(vec![ConfigError::new(path, line, e.message().to_owned())]))
        }
    }
}
