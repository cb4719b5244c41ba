//! The rules for each field of a row (SUBMISSIONS.md, "Long layout" and
//! "Numbers as people type them"), one function each: a cell's text in, its
//! value or the [`Problem`] with it out. Pure: the caller knows the file,
//! line and column and makes the quarantine entry or the warning.

use compact_str::CompactString;

use crate::config::units::UnitError;
use crate::config::{AgencyId, Indicator, IndicatorId, Kind, Register, Source, Units};
use crate::decimal::{BASE_SCALE, Decimal};
use crate::ingest::number::{self, Cell, NumberError, trim_cell};
use crate::reject::{Code, Detail};

/// Why a cell cannot be taken: the code and the specifics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub code: Code,
    pub detail: Detail,
}

impl Problem {
    fn new(code: Code, detail: Detail) -> Problem {
        Problem { code, detail }
    }

    /// A problem its code says all of.
    fn bare(code: Code) -> Problem {
        Problem { code, detail: Detail::default() }
    }
}

/// An agency code of the register.
pub fn agency(text: &str, register: &Register) -> Result<AgencyId, Problem> {
    register.get(trim_cell(text)).ok_or_else(|| Problem::bare(Code::UnknownAgency))
}

/// A year of four digits.
pub fn year(text: &str) -> Result<i32, Problem> {
    let t = trim_cell(text);
    if t.len() != 4 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::bare(Code::BadYear));
    }
    Ok(t.parse().expect("four ASCII digits"))
}

/// A year within the pipeline's `[checks]` range.
pub fn year_in_range(year: i32, years: &std::ops::RangeInclusive<i32>) -> Result<i32, Problem> {
    if years.contains(&year) {
        Ok(year)
    } else {
        Err(Problem::new(
            Code::YearOutOfRange,
            Detail::new(
                format!("{year} is not in {}..={}", years.start(), years.end()),
                format!("{year} 不在 {}..={} 之内", years.start(), years.end()),
            ),
        ))
    }
}

/// An agency a source's file names: through the source's value map, by
/// code, or by a name of the register (`和平区人社局`).
pub fn agency_named(text: &str, register: &Register, source: &Source) -> Result<AgencyId, Problem> {
    let t = trim_cell(text);
    source.agency(t).or_else(|| register.get(t)).or_else(|| register.by_name(t)).ok_or_else(|| {
        let names = register.iter().flat_map(|(_, a)| [a.name_zh.as_str(), a.name_en.as_str()]);
        let near = crate::config::names::nearest(t, names);
        let code = |n: &str| register.by_name(n).map_or(String::new(), |id| register.agency(id).code.clone());
        Problem::new(Code::UnknownAgency, unknown_name(t, "register", &near, &code))
    })
}

/// Why a name a source's file writes names nothing: tried as a code, as a
/// name of the register or catalog (`book`) and through the source's value
/// map; the nearest names, each with its code.
fn unknown_name(text: &str, book: &str, near: &[&str], code: &dyn Fn(&str) -> String) -> Detail {
    let shown = |sep: &str| near.iter().map(|n| format!("{n} ({})", code(n))).collect::<Vec<_>>().join(sep);
    let zh_book = if book == "register" { "名录" } else { "目录" };
    let (en_near, zh_near) = if near.is_empty() {
        (String::new(), String::new())
    } else {
        (format!("; nearest: {}", shown(", ")), format!("；最接近的名称：{}", shown("、")))
    };
    Detail::new(
        format!("`{text}` is no code and no name of the {book}, nor in the source's value map{en_near}"),
        format!("`{text}` 既不是{zh_book}中的代码或名称，也不在来源的取值对照中{zh_near}"),
    )
}

/// An indicator a source's file names: through the source's value map, by
/// code, or by a name of the catalog (`出生人口`).
pub fn indicator_named(text: &str, catalog: &crate::config::Catalog, source: &Source) -> Result<IndicatorId, Problem> {
    let t = trim_cell(text);
    source.indicator(t).or_else(|| catalog.get(t)).or_else(|| catalog.by_name(t)).ok_or_else(|| {
        let names = catalog.iter().flat_map(|(_, i)| [i.name_zh.as_str(), i.name_en.as_str()]);
        let near = crate::config::names::nearest(t, names);
        let code = |n: &str| catalog.by_name(n).map_or(String::new(), |id| catalog.indicator(id).code.clone());
        Problem::new(Code::UnknownIndicator, unknown_name(t, "catalog", &near, &code))
    })
}

/// An indicator code of the catalog.
pub fn indicator(text: &str, catalog: &crate::config::Catalog) -> Result<IndicatorId, Problem> {
    catalog.get(trim_cell(text)).ok_or_else(|| Problem::bare(Code::UnknownIndicator))
}

/// The power of ten from the unit sent (trimmed) to the indicator's base
/// unit.
pub fn unit_power(unit: &str, ind: &Indicator, units: &Units) -> Result<u32, Problem> {
    units.power(unit, &ind.base_unit).map_err(|e| match e {
        UnitError::Unknown { .. } => {
            let (code, base) = (&ind.code, &ind.base_unit);
            Problem::new(
                Code::UnknownUnit,
                Detail::new(format!("{code} is counted in {base}"), format!("{code} 的计量单位是 {base}")),
            )
        }
        UnitError::Mismatch { unit_base, .. } => {
            let (code, base) = (&ind.code, &ind.base_unit);
            Problem::new(
                Code::UnitMismatch,
                Detail::new(
                    format!("`{unit}` measures {unit_base}; {code} is counted in {base}"),
                    format!("`{unit}` 计量的是 {unit_base}；{code} 的计量单位是 {base}"),
                ),
            )
        }
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

/// A workbook's cell that is not a formula saved without its value (the
/// sheet's text writes one as `=` and the formula).
pub fn computed(text: &str) -> Result<(), Problem> {
    if text.starts_with('=') {
        let f = text.chars().take(60).collect::<String>();
        Err(Problem::new(Code::FormulaWithoutValue, Detail::new(format!("`{f}`"), format!("`{f}`"))))
    } else {
        Ok(())
    }
}

/// The value as typed (`None`: missing, which a note must explain, unless
/// the source says the cell means "not available").
pub fn value(text: &str, percent: bool, has_note: bool) -> Result<Option<Decimal>, Problem> {
    match number::parse_cell(text, percent) {
        Ok(Cell::Number(v)) => Ok(Some(v)),
        Ok(Cell::Missing) if has_note => Ok(None),
        Ok(Cell::Missing) => Err(Problem::bare(Code::MissingWithoutNote)),
        Err(e) => Err(Problem::new(number_code(&e, Code::BadNumber), e.detail())),
    }
}

/// The target as typed (`None`: none set).
pub fn target(text: &str, percent: bool) -> Result<Option<Decimal>, Problem> {
    match number::parse_cell(text, percent) {
        Ok(Cell::Number(v)) => Ok(Some(v)),
        Ok(Cell::Missing) => Ok(None),
        Err(e) => Err(Problem::new(number_code(&e, Code::BadTarget), e.detail())),
    }
}

/// A figure in the base unit, at the scale it was typed with, which must
/// fit its Decimal128(38) column at [`BASE_SCALE`].
pub fn to_base(v: Decimal, power: u32) -> Result<Decimal, Problem> {
    let base = v.checked_mul_pow10(power).filter(|v| v.in_column(BASE_SCALE).is_some());
    base.ok_or_else(|| {
        let most = crate::ingest::number::MAX_INT_DIGITS;
        Problem::new(
            Code::OutOfRange,
            Detail::new(
                format!("in the base unit it has more than {most} integer digits"),
                format!("换算为基本单位后整数部分超过 {most} 位"),
            ),
        )
    })
}

/// A figure no smaller than the indicator's minimum (a negative head count
/// cannot be true; a net change has no minimum).
pub fn at_least_min(v: Decimal, ind: &Indicator) -> Result<Decimal, Problem> {
    match ind.min {
        Some(min) if v < min => {
            let (code, min) = (&ind.code, min.trimmed());
            Err(Problem::new(
                Code::BelowMinimum,
                Detail::new(format!("{code} is at least {min}"), format!("{code} 不小于 {min}")),
            ))
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
        Err(e) => Err(Problem::new(Code::BadClaim, e.detail())),
    }
}

/// A rate above 100 % is possible (a closure rate counts cases carried over
/// from the year before) but rare enough to be worth a look: a warning.
pub fn rate_above_100(value: Option<Decimal>, ind: &Indicator) -> Option<Problem> {
    (ind.kind == Kind::Rate && value.is_some_and(|v| v > Decimal::new(100, 0)))
        .then(|| Problem::bare(Code::RateAbove100))
}

/// An indicator name that is neither of the catalog's: a warning.
pub fn name_matches(name: &str, ind: &Indicator) -> Option<Problem> {
    let name = trim_cell(name);
    (!name.is_empty() && name != ind.name_zh && name != ind.name_en).then(|| {
        let (code, zh) = (&ind.code, &ind.name_zh);
        Problem::new(
            Code::NameMismatch,
            Detail::new(format!("the catalog calls {code} `{zh}`"), format!("指标目录中 {code} 的名称为“{zh}”")),
        )
    })
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
            coverage: crate::config::Coverage::Area,
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
        assert_eq!(year_in_range(1900, &(1949..=2100)).unwrap_err().detail.en, "1900 is not in 1949..=2100");
    }

    #[test]
    fn values_parse_as_typed_and_missing_needs_a_note() {
        assert_eq!(value("37.62", false, false), Ok(Some(d("37.62"))));
        assert_eq!(value("—", false, true), Ok(None));
        assert_eq!(value("—", false, false).unwrap_err().code, Code::MissingWithoutNote);
        assert_eq!(value("千余", false, false).unwrap_err().code, Code::BadNumber);
        assert_eq!(value("99%", false, false).unwrap_err().code, Code::BadNumber);
        assert_eq!(value("99%", true, false), Ok(Some(d("99"))));
        assert_eq!(value(&"1".repeat(19), false, false).unwrap_err().code, Code::TooManyDigits);
        assert_eq!(target(&format!("0.{}", "1".repeat(21)), false).unwrap_err().code, Code::TooManyDecimals);
        assert_eq!(value("1234567.8901234567", false, false), Ok(Some(d("1234567.8901234567"))));
        assert_eq!(target("约35", false).unwrap_err().code, Code::BadTarget);
        assert_eq!(target("", false), Ok(None));
    }

    #[test]
    fn units_convert_exactly_and_minimums_hold() {
        // 37.62 万人 = 376200 人 (SUBMISSIONS.md "Units").
        assert_eq!(to_base(d("37.62"), 4).map(|v| v.trimmed()), Ok(d("376200")));
        assert_eq!(to_base(d("1"), 40).unwrap_err().code, Code::OutOfRange);
        // 亿 carries 17 integer digits to 25, past the column's 18.
        assert_eq!(to_base(d("12345678901234567"), 8).unwrap_err().code, Code::OutOfRange);
        assert_eq!(to_base(d("1.5"), 4).map(|v| v.scale()), Ok(1), "a value keeps the scale it was typed with");
        let ind = head_count();
        assert_eq!(at_least_min(d("0"), &ind), Ok(d("0")));
        let below = at_least_min(d("-35"), &ind).unwrap_err();
        assert_eq!((below.code, below.detail.en.as_str()), (Code::BelowMinimum, "EMP-URBAN-NEW is at least 0"));
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

    /// English words in `zh` outside backquotes, codes and the catalog's
    /// quoted names: what a Chinese reader would have to translate.
    fn english_words(zh: &str) -> Vec<&str> {
        let mut outside = String::new();
        for (i, part) in zh.split('`').enumerate() {
            if i % 2 == 0 {
                outside.push_str(part);
                outside.push(' ');
            }
        }
        let words: Vec<String> =
            outside.split(|c: char| !c.is_ascii_lowercase()).filter(|w| w.len() >= 3).map(str::to_owned).collect();
        zh.split(' ').filter(|w| words.iter().any(|x| w.contains(x.as_str()))).collect()
    }

    #[test]
    fn every_problem_speaks_chinese_in_its_chinese_detail() {
        let ind = head_count();
        let units =
            crate::config::Units::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/units.toml"))
                .unwrap();
        let problems = [
            year_in_range(1900, &(1949..=2100)).unwrap_err(),
            value("千余", false, false).unwrap_err(),
            value("12..5", false, false).unwrap_err(),
            value("1,23", false, false).unwrap_err(),
            value("5-", false, false).unwrap_err(),
            value("99%", false, false).unwrap_err(),
            value(".5", false, false).unwrap_err(),
            value(&"1".repeat(19), false, false).unwrap_err(),
            target(&format!("0.{}", "1".repeat(21)), false).unwrap_err(),
            to_base(d("1"), 18).unwrap_err(),
            claim("约107").unwrap_err(),
            at_least_min(d("-35"), &ind).unwrap_err(),
            unit_power("名", &ind, &units).unwrap_err(),
            unit_power("元", &ind, &units).unwrap_err(),
            name_matches("城镇新增就业人数", &ind).unwrap(),
        ];
        assert_eq!(
            english_words("数值（more than one decimal point）"),
            ["数值（more", "than", "one", "decimal", "point）"]
        );
        for p in problems {
            assert!(!p.detail.zh.is_empty() && !p.detail.en.is_empty(), "{p:?}");
            assert_eq!(english_words(&p.detail.zh), Vec::<&str>::new(), "{p:?}");
        }
    }
}
