//! The rules for each field of a row (SUBMISSIONS.md, "Long layout" and
//! "Numbers as people type them"), one function each: a cell's text in, its
//! value or the [`Problem`] with it out. Pure: the caller knows the file,
//! line and column and makes the quarantine entry or the warning.

use compact_str::CompactString;

use crate::config::units::UnitError;
use crate::config::{AgencyId, Indicator, IndicatorId, Kind, Register, Units};
use crate::decimal::{BASE_SCALE, Decimal};
use crate::ingest::number::{self, Cell, NumberError, trim_cell};
use crate::reject::Code;

/// Why a cell cannot be taken: the code and the specifics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: Code,
    pub detail: String,
}

impl Problem {
    fn new(code: Code, detail: impl Into<String>) -> Problem {
        Problem { code, detail: detail.into() }
    }
}

/// An agency code of the register.
pub fn agency(text: &str, register: &Register) -> Result<AgencyId, Problem> {
    register.get(trim_cell(text)).ok_or_else(|| Problem::new(Code::UnknownAgency, ""))
}

/// A year of four digits.
pub fn year(text: &str) -> Result<i32, Problem> {
    let t = trim_cell(text);
    if t.len() != 4 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::new(Code::BadYear, ""));
    }
    Ok(t.parse().expect("four ASCII digits"))
}

/// A year within the pipeline's `[checks]` range.
pub fn year_in_range(year: i32, years: &std::ops::RangeInclusive<i32>) -> Result<i32, Problem> {
    if years.contains(&year) {
        Ok(year)
    } else {
        Err(Problem::new(Code::YearOutOfRange, format!("{year} is not in {}..={}", years.start(), years.end())))
    }
}

/// An indicator code of the catalog.
pub fn indicator(text: &str, catalog: &crate::config::Catalog) -> Result<IndicatorId, Problem> {
    catalog.get(trim_cell(text)).ok_or_else(|| Problem::new(Code::UnknownIndicator, ""))
}

/// The power of ten from the unit sent (trimmed) to the indicator's base
/// unit.
pub fn unit_power(unit: &str, ind: &Indicator, units: &Units) -> Result<u32, Problem> {
    units.power(unit, &ind.base_unit).map_err(|e| match e {
        UnitError::Unknown { .. } => {
            Problem::new(Code::UnknownUnit, format!("{} is counted in {}", ind.code, ind.base_unit))
        }
        UnitError::Mismatch { unit_base, .. } => Problem::new(
            Code::UnitMismatch,
            format!("`{unit}` measures {unit_base}; {} is counted in {}", ind.code, ind.base_unit),
        ),
    })
}

/// Whether numbers may carry a `%`: the unit sent, or the indicator's, is %.
pub fn percent_allowed(unit: &str, ind: Option<&Indicator>) -> bool {
    unit == "%" || ind.is_some_and(|ind| ind.base_unit == "%")
}

/// The note, verbatim (it may begin with a tab or span lines); one of white
/// space only says nothing.
pub fn note(text: &str) -> Option<CompactString> {
    (!trim_cell(text).is_empty()).then(|| CompactString::from(text))
}

/// The code of a cell that is not a number: a number past the limits of a
/// value has codes of its own, whatever the field.
fn number_code(e: &NumberError, otherwise: Code) -> Code {
    match e {
        NumberError::TooManyIntegerDigits => Code::TooManyDigits,
        NumberError::TooManyDecimals => Code::TooManyDecimals,
        _ => otherwise,
    }
}

/// The value as typed (`None`: missing, which a note must explain).
pub fn value(text: &str, percent: bool, has_note: bool) -> Result<Option<Decimal>, Problem> {
    match number::parse_cell(text, percent) {
        Ok(Cell::Number(v)) => Ok(Some(v)),
        Ok(Cell::Missing) if has_note => Ok(None),
        Ok(Cell::Missing) => Err(Problem::new(Code::MissingWithoutNote, "")),
        Err(e) => Err(Problem::new(number_code(&e, Code::BadNumber), e.to_string())),
    }
}

/// The target as typed (`None`: none set).
pub fn target(text: &str, percent: bool) -> Result<Option<Decimal>, Problem> {
    match number::parse_cell(text, percent) {
        Ok(Cell::Number(v)) => Ok(Some(v)),
        Ok(Cell::Missing) => Ok(None),
        Err(e) => Err(Problem::new(number_code(&e, Code::BadTarget), e.to_string())),
    }
}

/// A figure in the base unit, which must fit its Decimal128(38) column.
pub fn to_base(v: Decimal, power: u32) -> Result<Decimal, Problem> {
    v.checked_mul_pow10(power).and_then(|v| v.in_column(BASE_SCALE)).ok_or_else(|| Problem::new(Code::OutOfRange, ""))
}

/// A figure no smaller than the indicator's minimum (a negative head count
/// cannot be true; a net change has no minimum).
pub fn at_least_min(v: Decimal, ind: &Indicator) -> Result<Decimal, Problem> {
    match ind.min {
        Some(min) if v < min => {
            Err(Problem::new(Code::BelowMinimum, format!("{} is at least {}", ind.code, min.trimmed())))
        }
        _ => Ok(v),
    }
}

/// A claimed completion or growth (a warning, never a rejection, when it
/// is not a number: the row is kept and the claim empty).
pub fn claim(text: &str) -> Result<Option<Decimal>, Problem> {
    match number::parse_cell(text, true) {
        Ok(Cell::Number(v)) => Ok(Some(v)),
        Ok(Cell::Missing) => Ok(None),
        Err(e) => Err(Problem::new(Code::BadClaim, e.to_string())),
    }
}

/// A rate above 100 % is possible (a closure rate counts cases carried over
/// from the year before) but rare enough to be worth a look: a warning.
pub fn rate_above_100(value: Option<Decimal>, ind: &Indicator) -> Option<Problem> {
    (ind.kind == Kind::Rate && value.is_some_and(|v| v > Decimal::new(100, 0)))
        .then(|| Problem::new(Code::RateAbove100, ""))
}

/// An indicator name that is neither of the catalog's: a warning.
pub fn name_matches(name: &str, ind: &Indicator) -> Option<Problem> {
    let name = trim_cell(name);
    (!name.is_empty() && name != ind.name_zh && name != ind.name_en)
        .then(|| Problem::new(Code::NameMismatch, format!("the catalog calls {} `{}`", ind.code, ind.name_zh)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Aggregation, Direction};

    fn head_count() -> Indicator {
        Indicator {
            code: "EMP-URBAN-NEW".into(),
            name_zh: "城镇新增就业".into(),
            name_en: "New urban employment".into(),
            base_unit: "人".into(),
            kind: Kind::Count,
            direction: Direction::Up,
            aggregation: Aggregation::Sum,
            numerator: None,
            denominator: None,
            decimals: 0,
            min: Kind::Count.default_min(),
        }
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn years_are_four_digits_within_the_range() {
        assert_eq!(year(" 2021 "), Ok(2021));
        for bad in ["21", "2021年", "２０２１", "20210", ""] {
            assert_eq!(year(bad).unwrap_err().code, Code::BadYear, "{bad:?}");
        }
        assert_eq!(year_in_range(2021, &(1949..=2100)), Ok(2021));
        assert_eq!(year_in_range(1900, &(1949..=2100)).unwrap_err().detail, "1900 is not in 1949..=2100");
    }

    #[test]
    fn values_parse_as_typed_and_missing_needs_a_note() {
        assert_eq!(value("37.62", false, false), Ok(Some(d("37.62"))));
        assert_eq!(value("—", false, true), Ok(None));
        assert_eq!(value("—", false, false).unwrap_err().code, Code::MissingWithoutNote);
        assert_eq!(value("千余", false, false).unwrap_err().code, Code::BadNumber);
        assert_eq!(value("99%", false, false).unwrap_err().code, Code::BadNumber);
        assert_eq!(value("99%", true, false), Ok(Some(d("99"))));
        assert_eq!(value(&"1".repeat(33), false, false).unwrap_err().code, Code::TooManyDigits);
        assert_eq!(target("0.1234567", false).unwrap_err().code, Code::TooManyDecimals);
        assert_eq!(target("约35", false).unwrap_err().code, Code::BadTarget);
        assert_eq!(target("", false), Ok(None));
    }

    #[test]
    fn units_convert_exactly_and_minimums_hold() {
        // 37.62 万人 = 376200 人 (SUBMISSIONS.md "Units").
        assert_eq!(to_base(d("37.62"), 4).map(|v| v.trimmed()), Ok(d("376200")));
        assert_eq!(to_base(d("1"), 40).unwrap_err().code, Code::OutOfRange);
        let ind = head_count();
        assert_eq!(at_least_min(d("0"), &ind), Ok(d("0")));
        let below = at_least_min(d("-35"), &ind).unwrap_err();
        assert_eq!((below.code, below.detail.as_str()), (Code::BelowMinimum, "EMP-URBAN-NEW is at least 0"));
        assert!(percent_allowed("%", Some(&ind)));
        assert!(!percent_allowed("人", Some(&ind)));
    }

    #[test]
    fn notes_are_verbatim_and_warnings_keep_the_row() {
        assert_eq!(note("\t第一行\n第二行 ").as_deref(), Some("\t第一行\n第二行 "));
        assert_eq!(note(" \t　"), None);
        let ind = head_count();
        assert_eq!(name_matches("城镇新增就业", &ind), None);
        assert_eq!(name_matches("New urban employment", &ind), None);
        assert_eq!(name_matches("城镇新增就业人数", &ind).unwrap().code, Code::NameMismatch);
        assert_eq!(claim("107.5%"), Ok(Some(d("107.5"))));
        assert_eq!(claim("约107").unwrap_err().code, Code::BadClaim);
        assert_eq!(
            rate_above_100(Some(d("101.3")), &Indicator { kind: Kind::Rate, ..head_count() }).map(|p| p.code),
            Some(Code::RateAbove100)
        );
        assert_eq!(rate_above_100(Some(d("101.3")), &ind), None);
    }
}
