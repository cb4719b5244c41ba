//! The unit table: every unit an agency may write, with the base unit it
//! converts to and the exact power of ten between them (万人 = 10^4 人).
//!
//! Besides the listed units, any base unit of the catalog is accepted as
//! itself and with a listed prefix (千, 万, 亿), so a catalog may bring base
//! units this table does not list.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{ConfigError, ConfigErrors, load_toml};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitsFile {
    prefixes: BTreeMap<toml::Spanned<String>, u32>,
    #[serde(rename = "unit")]
    units: Vec<UnitEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitEntry {
    pub symbol: toml::Spanned<String>,
    pub base: String,
    pub power: u32,
    pub name_en: String,
}

/// How a unit written by an agency relates to an indicator's base unit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("unit `{unit}` is not in the unit table")]
    Unknown { unit: String },
    #[error("unit `{unit}` is in {unit_base}, not in {base}")]
    Mismatch { unit: String, unit_base: String, base: String },
}

#[derive(Debug, Clone)]
pub struct Units {
    prefixes: Vec<(String, u32)>,
    units: BTreeMap<String, UnitEntry>,
    /// The catalog's base units: each a unit of its own, fitting or not.
    catalog_bases: std::collections::BTreeSet<String>,
}

/// The highest power a prefix may carry: values must stay exact in i128.
const MAX_POWER: u32 = 12;

impl Units {
    pub fn load(path: &Path) -> Result<Units, ConfigErrors> {
        let file = load_toml::<UnitsFile>(path)?;
        let mut errors = Vec::new();
        let mut units = BTreeMap::new();
        for entry in &file.value.units {
            let (symbol, line) = (entry.symbol.get_ref(), file.line(&entry.symbol));
            if entry.power > MAX_POWER {
                let msg = format!("unit `{symbol}`: power {} is more than {MAX_POWER}", entry.power);
                errors.push(ConfigError::new(path, line, msg));
            }
            if units.insert(symbol.clone(), entry.clone()).is_some() {
                errors.push(ConfigError::new(path, line, format!("unit `{symbol}` is listed twice")));
            }
        }
        for (prefix, power) in &file.value.prefixes {
            if *power > MAX_POWER || prefix.get_ref().is_empty() {
                let msg = format!("prefix `{}`: power must be 0..={MAX_POWER}", prefix.get_ref());
                errors.push(ConfigError::new(path, file.line(prefix), msg));
            }
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        let prefixes = file.value.prefixes.into_iter().map(|(p, power)| (p.into_inner(), power)).collect();
        Ok(Units { prefixes, units, catalog_bases: Default::default() })
    }

    /// The table with the catalog's base units known as units of their own
    /// (`条` for an indicator in 件 is a unit that does not fit, not an
    /// unknown one).
    pub fn with_catalog_bases(mut self, bases: impl Iterator<Item = String>) -> Units {
        self.catalog_bases.extend(bases);
        self
    }

    /// The symbol a unit written by its English name stands for
    /// (`persons` → 人, `Ten Thousand Yuan` → 万元); else `text` itself.
    pub fn symbol<'a>(&'a self, text: &'a str) -> &'a str {
        self.units.iter().find(|(_, e)| e.name_en.eq_ignore_ascii_case(text.trim())).map_or(text, |(s, _)| s.as_str())
    }

    /// The table's prefixes coarser than a unit of 10^`power`, coarsest
    /// first (亿, 万, 千 above a base unit): the units a published figure
    /// may have been rounded in.
    pub fn coarser_prefixes(&self, power: u32) -> Vec<(&str, u32)> {
        let mut coarser: Vec<(&str, u32)> =
            self.prefixes.iter().filter(|(_, p)| *p > power).map(|(name, p)| (name.as_str(), *p)).collect();
        coarser.sort_by_key(|&(_, p)| std::cmp::Reverse(p));
        coarser
    }

    /// The power of ten that turns a value in `unit` into `base`.
    pub fn power(&self, unit: &str, base: &str) -> Result<u32, UnitError> {
        if let Some(entry) = self.units.get(unit) {
            return if entry.base == base {
                Ok(entry.power)
            } else {
                Err(UnitError::Mismatch { unit: unit.to_owned(), unit_base: entry.base.clone(), base: base.to_owned() })
            };
        }
        if unit == base {
            return Ok(0);
        }
        for (prefix, power) in &self.prefixes {
            if let Some(rest) = unit.strip_prefix(prefix.as_str()) {
                if rest == base {
                    return Ok(*power);
                }
                if self.is_base(rest) {
                    let (unit, unit_base) = (unit.to_owned(), rest.to_owned());
                    return Err(UnitError::Mismatch { unit, unit_base, base: base.to_owned() });
                }
            }
        }
        // Another indicator's base unit: known, but not this one's.
        if self.is_base(unit) {
            let (unit, unit_base) = (unit.to_owned(), unit.to_owned());
            return Err(UnitError::Mismatch { unit, unit_base, base: base.to_owned() });
        }
        Err(UnitError::Unknown { unit: unit.to_owned() })
    }

    /// Whether `unit` is one the table knows: one of its units, a base
    /// unit of one, or a prefix before such a base (`万人`, `亿元`).
    pub fn knows(&self, unit: &str) -> bool {
        let unit = self.symbol(unit);
        self.units.contains_key(unit)
            || self.is_base(unit)
            || self.prefixes.iter().any(|(p, _)| unit.strip_prefix(p.as_str()).is_some_and(|rest| self.is_base(rest)))
    }

    fn is_base(&self, unit: &str) -> bool {
        self.catalog_bases.contains(unit) || self.units.values().any(|e| e.base == unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units() -> Units {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/units.toml");
        Units::load(&path).unwrap().with_catalog_bases(["条".to_owned(), "件".to_owned()].into_iter())
    }

    #[test]
    fn a_unit_by_its_english_name_is_its_symbol() {
        let u = units();
        assert_eq!(u.symbol("persons"), "人");
        assert_eq!(u.symbol(" Ten Thousand Yuan "), "万元");
        assert_eq!(u.symbol("万人"), "万人");
        assert!(u.knows("cases") && u.knows("万条") && !u.knows("10 000 persons"));
    }

    #[test]
    fn another_indicator_s_base_unit_with_or_without_a_prefix_does_not_fit_rather_than_is_unknown() {
        let u = units();
        let mismatch = |unit: &str| matches!(u.power(unit, "件"), Err(UnitError::Mismatch { .. }));
        assert!(mismatch("条") && mismatch("万条") && mismatch("万人"));
        assert_eq!(u.power("万件", "件"), Ok(4));
        assert_eq!(u.power("万只", "件"), Err(UnitError::Unknown { unit: "万只".to_owned() }));
    }
}
