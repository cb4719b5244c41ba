//! Submission layouts and their header aliases.
//!
//! A header cell names a field when, trimmed and compared without regard to
//! case, it equals one of the field's aliases. A long file has a `year`
//! column; a wide file has columns named by years (`2021` or `2021年`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{ConfigError, ConfigErrors, load_toml};

/// The fields of a submission (SUBMISSIONS.md, "Long layout").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Agency,
    /// The agency's name, where a file writes one beside its code: not
    /// read, but not unknown either.
    AgencyName,
    Year,
    Indicator,
    IndicatorName,
    Value,
    Unit,
    Target,
    ClaimedCompletion,
    ClaimedGrowth,
    Note,
}

impl Field {
    pub const ALL: [Field; 11] = [
        Field::Agency,
        Field::AgencyName,
        Field::Year,
        Field::Indicator,
        Field::IndicatorName,
        Field::Value,
        Field::Unit,
        Field::Target,
        Field::ClaimedCompletion,
        Field::ClaimedGrowth,
        Field::Note,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Agency => "agency",
            Field::AgencyName => "agency_name",
            Field::Year => "year",
            Field::Indicator => "indicator",
            Field::IndicatorName => "indicator_name",
            Field::Value => "value",
            Field::Unit => "unit",
            Field::Target => "target",
            Field::ClaimedCompletion => "claimed_completion",
            Field::ClaimedGrowth => "claimed_growth",
            Field::Note => "note",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// One row per (agency, indicator, year).
    Long,
    /// One row per (agency, indicator), one column per year.
    Wide,
    /// One row per agency and year, one column per indicator (a source's
    /// layout only: never told from a header).
    Indicators,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::Long => "long",
            Layout::Wide => "wide",
            Layout::Indicators => "indicators",
        }
    }

    pub fn from_name(name: &str) -> Option<Layout> {
        [Layout::Long, Layout::Wide, Layout::Indicators].into_iter().find(|l| l.name() == name)
    }
}

/// The fields of the indicators-as-columns layout: every other column is
/// an indicator.
const INDICATORS_REQUIRED: [Field; 2] = [Field::Agency, Field::Year];
const INDICATORS_OPTIONAL: [Field; 2] = [Field::AgencyName, Field::Note];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayoutsFile {
    aliases: BTreeMap<Field, Vec<toml::Spanned<String>>>,
    long: LayoutSpec,
    wide: WideSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutSpec {
    pub required: Vec<Field>,
    pub optional: Vec<Field>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WideSpec {
    pub required: Vec<Field>,
    pub optional: Vec<Field>,
    /// What may follow the four digits of a year column (`年`).
    pub year_suffixes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Layouts {
    /// Lower-cased alias → field.
    aliases: BTreeMap<String, Field>,
    pub long: LayoutSpec,
    pub wide: WideSpec,
}

impl Layouts {
    pub fn load(path: &Path) -> Result<Layouts, ConfigErrors> {
        let toml = load_toml::<LayoutsFile>(path)?;
        let file = &toml.value;
        let mut errors = Vec::new();
        let mut aliases = BTreeMap::new();
        for field in Field::ALL {
            if !file.aliases.contains_key(&field) {
                errors.push(ConfigError::new(path, None, format!("no aliases for field `{}`", field.name())));
            }
        }
        for (field, names) in &file.aliases {
            aliases.insert(field.name().to_owned(), *field);
            for name in names {
                if let Some(other) = aliases.insert(normalize_header(name.get_ref()), *field)
                    && other != *field
                {
                    let msg =
                        format!("alias `{}` names both `{}` and `{}`", name.get_ref(), other.name(), field.name());
                    errors.push(ConfigError::new(path, toml.line(name), msg));
                }
            }
        }
        let wide_fields = file.wide.required.iter().chain(&file.wide.optional);
        if wide_fields.clone().any(|f| *f == Field::Year || *f == Field::Value) {
            errors.push(ConfigError::new(path, None, "the wide layout takes year and value from its year columns"));
        }
        // What a layout must have to say what a row is about, in which unit.
        let must =
            [("long", &file.long.required, &[Field::Year, Field::Value][..]), ("wide", &file.wide.required, &[])];
        for (name, spec, own) in must {
            for f in [Field::Agency, Field::Indicator, Field::Unit].iter().chain(own) {
                if !spec.contains(f) {
                    errors.push(ConfigError::new(path, None, format!("the {name} layout must require `{}`", f.name())));
                }
            }
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        Ok(Layouts { aliases, long: file.long.clone(), wide: file.wide.clone() })
    }

    /// The field a header cell names, if any.
    pub fn field(&self, header: &str) -> Option<Field> {
        self.aliases.get(&normalize_header(header)).copied()
    }

    /// The year a header cell names (`2021`, `2021年`), if it is a year
    /// column of the wide layout.
    pub fn year_column(&self, header: &str) -> Option<i32> {
        let h = header.trim_matches([' ', '\t', '\u{3000}']);
        let digits = h.get(..4)?;
        let rest = &h[4..];
        let suffix_ok = rest.is_empty() || self.wide.year_suffixes.iter().any(|s| s == rest);
        (digits.bytes().all(|b| b.is_ascii_digit()) && suffix_ok).then(|| digits.parse().ok())?
    }

    pub fn spec(&self, layout: Layout) -> (&[Field], &[Field]) {
        match layout {
            Layout::Long => (&self.long.required, &self.long.optional),
            Layout::Wide => (&self.wide.required, &self.wide.optional),
            Layout::Indicators => (&INDICATORS_REQUIRED, &INDICATORS_OPTIONAL),
        }
    }
}

/// Header names match case-insensitively, ignoring surrounding white space
/// (and a BOM a spreadsheet may leave on the first cell).
fn normalize_header(h: &str) -> String {
    super::names::normalize(h)
}
