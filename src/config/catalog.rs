//! The indicator catalog: for every indicator code its names, base unit,
//! kind, direction, how it aggregates and how many decimals its values are
//! published with.

use rustc_hash::FxHashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{ConfigError, ConfigErrors, table};
use crate::decimal::Decimal;

/// Columns a catalog may add: `min`, the smallest value an indicator can
/// take (see [`Kind::default_min`]), and `coverage`, what its figures
/// cover (see [`Coverage`]).
const OPTIONAL: [&str; 2] = ["min", "coverage"];

/// What `min` holds for "no minimum at all".
const NO_MIN: &str = "none";

const COLUMNS: [&str; 10] = [
    "code",
    "name_zh",
    "name_en",
    "base_unit",
    "kind",
    "direction",
    "aggregation",
    "numerator",
    "denominator",
    "decimals",
];

/// Largest `decimals` an indicator may declare: values carry six.
const MAX_DECIMALS: u8 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Count,
    Amount,
    Rate,
    Average,
    Level,
    Cumulative,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Up,
    Down,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    Sum,
    Ratio,
    None,
}

/// What an indicator's figures cover (SUBMISSIONS.md, "Scope"): the one
/// place a total learns whose figure it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// The agency's own work (cases it answered, documents it reviewed):
    /// a parent's total adds its members' figures.
    Own,
    /// A territory (new urban jobs, persons insured): the agency the
    /// register names as reporting for a parent sends the parent's figure.
    Area,
}

macro_rules! display_as_serde_name {
    ($($t:ty => { $($variant:ident = $name:literal),* $(,)? })*) => {$(
        impl $t {
            pub const ALL: &'static [$t] = &[$(Self::$variant),*];

            /// The name the catalog and the outputs write.
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => $name),* }
            }

            /// The value a name stands for; only the exact name.
            pub fn from_name(name: &str) -> Option<$t> {
                Self::ALL.iter().copied().find(|v| v.name() == name)
            }
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    )*};
}
// The outputs' other named values (a total's scope, its growth's basis,
// its findings) are written the same way.
pub(crate) use display_as_serde_name;

/// How an indicator's movement from one year to the next is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YearOnYear {
    /// Growth in % of the year before's value: counts, amounts, levels,
    /// averages, cumulative figures.
    GrowthPct,
    /// Change in percentage points: a rate (97.2 % after 95.3 % is +1.9
    /// points, not +2.0 %).
    ChangePp,
}

impl Kind {
    /// Whether a year-on-year figure is a growth in % or a change in
    /// points: the one place that decides it.
    pub fn year_on_year(self) -> YearOnYear {
        match self {
            Kind::Rate => YearOnYear::ChangePp,
            Kind::Count | Kind::Amount | Kind::Average | Kind::Level | Kind::Cumulative => YearOnYear::GrowthPct,
        }
    }

    /// The smallest value an indicator of this kind can take where the
    /// catalog's `min` is empty (SUBMISSIONS.md): counts, rates, averages and
    /// levels cannot go below zero; amounts and cumulative figures can (a
    /// refund, a correction of a running total).
    pub fn default_min(self) -> Option<Decimal> {
        match self {
            Kind::Count | Kind::Rate | Kind::Average | Kind::Level => Some(Decimal::new(0, 0)),
            Kind::Amount | Kind::Cumulative => None,
        }
    }
}

display_as_serde_name! {
    Kind => { Count = "count", Amount = "amount", Rate = "rate", Average = "average", Level = "level", Cumulative = "cumulative" }
    Direction => { Up = "up", Down = "down", None = "none" }
    Aggregation => { Sum = "sum", Ratio = "ratio", None = "none" }
    Coverage => { Own = "own", Area = "area" }
}

/// Index of an indicator in the catalog, which is sorted by code: ids sort
/// as codes do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct IndicatorId(pub u32);

#[derive(Debug, Clone)]
pub struct Indicator {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub base_unit: String,
    pub kind: Kind,
    pub direction: Direction,
    pub aggregation: Aggregation,
    pub numerator: Option<IndicatorId>,
    pub denominator: Option<IndicatorId>,
    pub decimals: u8,
    /// The smallest value the indicator can take, in its base unit: the
    /// catalog's `min`, or its kind's default; `None` (`min` = `none`) for
    /// a net change, which can fall below zero.
    pub min: Option<Decimal>,
    /// `own` unless the catalog's `coverage` says `area`.
    pub coverage: Coverage,
}

#[derive(Debug, Deserialize)]
struct CatalogRow {
    code: String,
    name_zh: String,
    name_en: String,
    base_unit: String,
    kind: String,
    direction: String,
    aggregation: String,
    numerator: String,
    denominator: String,
    decimals: u8,
    #[serde(default)]
    min: String,
    #[serde(default)]
    coverage: String,
}

#[derive(Debug, Clone)]
pub struct Catalog {
    indicators: Vec<Indicator>,
    by_code: FxHashMap<String, IndicatorId>,
    /// By indicator id: the ratio rates it is the numerator of, each with
    /// its denominator.
    ratios_by_numerator: Vec<Vec<(IndicatorId, IndicatorId)>>,
    /// Normalized Chinese and English names that name one indicator.
    by_name: FxHashMap<String, IndicatorId>,
}

/// Reads a column holding one of an enum's names, the error naming the
/// column and the choices.
fn parse_enum<T: serde::de::DeserializeOwned>(column: &str, value: &str) -> Result<T, String> {
    use serde::de::IntoDeserializer;
    let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> = value.into_deserializer();
    T::deserialize(de).map_err(|e| format!("column `{column}`: {e}"))
}

impl Catalog {
    pub fn load(path: &Path) -> Result<Catalog, ConfigErrors> {
        let (mut rows, mut errors) = table::read::<CatalogRow>(path, &COLUMNS, &OPTIONAL);
        let by_code: FxHashMap<String, IndicatorId> = table::index_by_code(path, &mut rows, |r| &r.code, &mut errors)
            .into_iter()
            .map(|(code, i)| (code, IndicatorId(i)))
            .collect();
        let mut indicators = Vec::with_capacity(rows.len());
        for row in &rows {
            let (line, r) = (row.line, &row.value);
            let mut err = |msg: String| errors.push(ConfigError::new(path, Some(line), msg));
            let kind = parse_enum::<Kind>("kind", &r.kind).map_err(&mut err).ok();
            let direction = parse_enum::<Direction>("direction", &r.direction).map_err(&mut err).ok();
            let aggregation = parse_enum::<Aggregation>("aggregation", &r.aggregation).map_err(&mut err).ok();
            let coverage = match r.coverage.as_str() {
                "" => Some(Coverage::Own),
                c => parse_enum::<Coverage>("coverage", c).map_err(&mut err).ok(),
            };
            let (Some(kind), Some(direction), Some(aggregation), Some(coverage)) =
                (kind, direction, aggregation, coverage)
            else {
                continue;
            };
            if r.name_zh.is_empty() || r.name_en.is_empty() {
                err(format!("`{}`: name_zh and name_en are required", r.code));
            }
            if r.base_unit.is_empty() {
                err(format!("`{}`: base_unit is required", r.code));
            }
            if r.decimals > MAX_DECIMALS {
                err(format!("`{}`: decimals {} is more than {MAX_DECIMALS}", r.code, r.decimals));
            }
            let mut lookup = |what: &str, code: &str| -> Option<IndicatorId> {
                if code.is_empty() {
                    return None;
                }
                let id = by_code.get(code).copied();
                if id.is_none() {
                    err(format!("`{}`: {what} `{code}` is not in the catalog", r.code));
                }
                id
            };
            let numerator = lookup("numerator", &r.numerator);
            let denominator = lookup("denominator", &r.denominator);
            let is_ratio = aggregation == Aggregation::Ratio;
            if is_ratio && (r.numerator.is_empty() || r.denominator.is_empty()) {
                err(format!("`{}`: aggregation ratio needs numerator and denominator", r.code));
            }
            let has_parts = !r.numerator.is_empty() || !r.denominator.is_empty();
            if !is_ratio && has_parts {
                err(format!("`{}`: numerator and denominator are only for aggregation ratio", r.code));
            }
            if is_ratio && kind != Kind::Rate {
                err(format!("`{}`: aggregation ratio is only for kind rate", r.code));
            }
            let min = match r.min.parse::<Decimal>() {
                _ if r.min.is_empty() => kind.default_min(),
                _ if r.min.eq_ignore_ascii_case(NO_MIN) => None,
                Ok(m) => Some(m),
                Err(_) => {
                    err(format!("`{}`: min `{}` is neither a number nor `{NO_MIN}`", r.code, r.min));
                    None
                }
            };
            indicators.push(Indicator {
                code: r.code.clone(),
                name_zh: r.name_zh.clone(),
                name_en: r.name_en.clone(),
                base_unit: r.base_unit.clone(),
                kind,
                direction,
                aggregation,
                numerator,
                denominator,
                decimals: r.decimals,
                min,
                coverage,
            });
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        // A ratio's parts must themselves be summable.
        for (row, ind) in rows.iter().zip(&indicators) {
            for part in [ind.numerator, ind.denominator].into_iter().flatten() {
                let p = &indicators[part.0 as usize];
                if p.aggregation != Aggregation::Sum {
                    let msg = format!("`{}`: `{}` is a ratio part, so its aggregation must be sum", ind.code, p.code);
                    errors.push(ConfigError::new(path, Some(row.line), msg));
                }
                // A parent's rate is reported or summed as its parts are.
                if p.coverage != ind.coverage {
                    let msg = format!(
                        "`{}`: its part `{}` covers `{}`, the rate `{}`: a rate and its parts have one coverage",
                        ind.code, p.code, p.coverage, ind.coverage
                    );
                    errors.push(ConfigError::new(path, Some(row.line), msg));
                }
            }
        }
        if indicators.is_empty() && errors.is_empty() {
            errors.push(ConfigError::new(path, None, "the catalog has no indicator"));
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        let mut ratios_by_numerator = vec![Vec::new(); indicators.len()];
        for (i, ind) in indicators.iter().enumerate() {
            if let (Aggregation::Ratio, Some(n), Some(d)) = (ind.aggregation, ind.numerator, ind.denominator) {
                ratios_by_numerator[n.0 as usize].push((IndicatorId(i as u32), d));
            }
        }
        let names = indicators.iter().enumerate().flat_map(|(i, ind)| {
            let id = IndicatorId(i as u32);
            [(ind.name_zh.as_str(), id), (ind.name_en.as_str(), id)]
        });
        let by_name = super::names::name_index(names);
        Ok(Catalog { indicators, by_code, by_name, ratios_by_numerator })
    }

    pub fn get(&self, code: &str) -> Option<IndicatorId> {
        self.by_code.get(code).copied()
    }

    /// The indicator a name (Chinese or English, any case) names, where
    /// only one indicator has it.
    pub fn by_name(&self, name: &str) -> Option<IndicatorId> {
        self.by_name.get(&super::names::normalize(name)).copied()
    }

    pub fn indicator(&self, id: IndicatorId) -> &Indicator {
        &self.indicators[id.0 as usize]
    }

    /// The ratio rates `numerator` is the numerator of, each with its
    /// denominator.
    pub fn ratios_with_numerator(&self, numerator: IndicatorId) -> &[(IndicatorId, IndicatorId)] {
        &self.ratios_by_numerator[numerator.0 as usize]
    }

    /// Whether any indicator is a ratio of two others.
    pub fn has_ratios(&self) -> bool {
        self.ratios_by_numerator.iter().any(|r| !r.is_empty())
    }

    pub fn iter(&self) -> impl Iterator<Item = (IndicatorId, &Indicator)> {
        self.indicators.iter().enumerate().map(|(i, ind)| (IndicatorId(i as u32), ind))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_moves_in_points_every_other_kind_in_percent() {
        // SUBMISSIONS.md: 劳动人事争议结案率 is a rate, "its change is in
        // percentage points"; 城镇新增就业 grows by 1.43 %.
        assert_eq!(Kind::Rate.year_on_year(), YearOnYear::ChangePp);
        for kind in [Kind::Count, Kind::Amount, Kind::Average, Kind::Level, Kind::Cumulative] {
            assert_eq!(kind.year_on_year(), YearOnYear::GrowthPct, "{kind}");
        }
    }

    #[test]
    fn kinds_read_back_from_their_names_only() {
        for kind in [Kind::Count, Kind::Amount, Kind::Rate, Kind::Average, Kind::Level, Kind::Cumulative] {
            assert_eq!(Kind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(Kind::from_name("Rate"), None);
        assert_eq!(Kind::from_name(""), None);
    }

    fn load(text: &str) -> Result<Catalog, ConfigErrors> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("catalog.csv");
        std::fs::write(&path, text).unwrap();
        Catalog::load(&path)
    }

    #[test]
    fn coverage_is_own_unless_the_catalog_says_area_and_a_rate_shares_its_parts() {
        const HEAD: &str =
            "code,name_zh,name_en,base_unit,kind,direction,aggregation,numerator,denominator,decimals,coverage\n";
        let c =
            load(&format!("{HEAD}JOBS,就业,Jobs,人,count,up,sum,,,0,area\nCASES,案件,Cases,件,count,up,sum,,,0,\n"))
                .unwrap();
        assert_eq!(c.indicator(c.get("JOBS").unwrap()).coverage, Coverage::Area);
        assert_eq!(c.indicator(c.get("CASES").unwrap()).coverage, Coverage::Own);
        let err = load(&format!("{HEAD}X,丙,X,件,count,up,sum,,,0,territory\n")).unwrap_err().to_string();
        assert!(err.contains(":2: column `coverage`: unknown variant `territory`"), "{err}");
        let err = load(&format!(
            "{HEAD}A,甲,A,件,count,up,sum,,,0,area\nB,乙,B,件,count,up,sum,,,0,\nR,率,R,%,rate,up,ratio,A,B,1,area\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains(":4: `R`: its part `B` covers `own`, the rate `area`"), "{err}");
    }

    #[test]
    fn minimums_by_kind() {
        assert_eq!(Kind::Count.default_min(), Some(Decimal::new(0, 0)));
        assert_eq!(Kind::Amount.default_min(), None);
        assert_eq!(Kind::Cumulative.default_min(), None);
    }
}
