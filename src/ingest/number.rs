//! Numbers as people type them (SUBMISSIONS.md, "Numbers as people type
//! them").
//!
//! Accepted: `37.6`, `1,325`, `1，325`, `３７.６`, `－3.5`, `99%` (where a
//! percent sign is allowed), ` 408.41 `. Missing: empty, `-`, `—`, `/`,
//! `无`, `NA`, `N/A`. Everything else is an error that says what is wrong.
//! The grammar after mapping full-width forms to ASCII is
//! `-?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]+)?` with at most
//! [`MAX_INT_DIGITS`] integer digits and [`MAX_FRACTION_DIGITS`] decimals:
//! what a `Decimal128(38)` value column at [`BASE_SCALE`] holds, so every
//! accepted number is exact there. A number past either limit is still a
//! number, and its error says which limit (the row's code is
//! `too_many_digits` or `too_many_decimals`, not `bad_number`); a value
//! that a unit prefix carries past the column is `out_of_range`.

use crate::decimal::{BASE_SCALE, Decimal, MAX_PRECISION};

/// The tokens that mean "no figure" (a note must then say why).
pub const MISSING_TOKENS: [&str; 7] = ["", "-", "—", "/", "无", "NA", "N/A"];

/// Integer digits a value may have: a `Decimal128(38)` column at
/// [`BASE_SCALE`] holds 18.
pub const MAX_INT_DIGITS: usize = (MAX_PRECISION - BASE_SCALE) as usize;
/// Decimals a value may have: the value columns' scale.
pub const MAX_FRACTION_DIGITS: usize = BASE_SCALE as usize;

/// A cell that holds a number or says there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Number(Decimal),
    Missing,
}

/// Why a cell is not a number. Each variant is one quarantine reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("character `{0}` cannot appear in a number")]
    InvalidCharacter(char),
    #[error("a percent sign is only allowed when the unit is %")]
    PercentNotAllowed,
    #[error("more than one decimal point")]
    SeveralDecimalPoints,
    #[error("no digit before the decimal point")]
    NoIntegerDigits,
    #[error("no digit after the decimal point")]
    NoFractionDigits,
    #[error("thousands separators must group the integer digits in threes")]
    BadGrouping,
    #[error("minus sign must come first, once")]
    MisplacedSign,
    #[error("more than {MAX_INT_DIGITS} integer digits")]
    TooManyIntegerDigits,
    #[error("more than {MAX_FRACTION_DIGITS} decimals")]
    TooManyDecimals,
}

impl NumberError {
    /// The reason in Chinese, with the same specifics.
    pub fn zh(&self) -> String {
        match self {
            NumberError::InvalidCharacter(c) => format!("数字中不能出现字符 `{c}`"),
            NumberError::PercentNotAllowed => "只有计量单位为 % 时才能带百分号".to_owned(),
            NumberError::SeveralDecimalPoints => "小数点不止一个".to_owned(),
            NumberError::NoIntegerDigits => "小数点前没有数字".to_owned(),
            NumberError::NoFractionDigits => "小数点后没有数字".to_owned(),
            NumberError::BadGrouping => "千分位分隔符应每三位一组".to_owned(),
            NumberError::MisplacedSign => "负号只能在最前面出现一次".to_owned(),
            NumberError::TooManyIntegerDigits => format!("整数部分超过 {MAX_INT_DIGITS} 位"),
            NumberError::TooManyDecimals => format!("小数超过 {MAX_FRACTION_DIGITS} 位"),
        }
    }

    pub fn detail(&self) -> crate::reject::Detail {
        crate::reject::Detail::new(self.to_string(), self.zh())
    }
}

/// Trims the white space people leave around cells: ASCII space, tab and
/// the ideographic space U+3000.
pub fn trim_cell(text: &str) -> &str {
    text.trim_matches([' ', '\t', '\u{3000}'])
}

/// Whether the (trimmed) text is one of the missing-value tokens.
pub fn is_missing(text: &str) -> bool {
    MISSING_TOKENS.contains(&trim_cell(text))
}

/// Parses one cell. `percent_allowed`: one trailing `%` (or `％`) is
/// accepted and dropped, the value staying in percent.
pub fn parse_cell(text: &str, percent_allowed: bool) -> Result<Cell, NumberError> {
    let text = trim_cell(text);
    if MISSING_TOKENS.contains(&text) {
        return Ok(Cell::Missing);
    }
    if let Some(d) = parse_plain(text) {
        return Ok(Cell::Number(d));
    }
    let mut ascii = String::with_capacity(text.len());
    for c in text.chars() {
        ascii.push(to_ascii(c).ok_or(NumberError::InvalidCharacter(c))?);
    }
    let body = match ascii.strip_suffix('%') {
        Some(rest) if percent_allowed => rest,
        Some(_) => return Err(NumberError::PercentNotAllowed),
        None => ascii.as_str(),
    };
    parse_ascii(body).map(Cell::Number)
}

/// The form nearly every cell takes, ASCII `-?[0-9]+(\.[0-9]+)?` within the
/// limits,
/// read without copying; `None` sends anything else (separators, full-width
/// forms, `%`, errors) through the full grammar, which gives the same value
/// for this form.
fn parse_plain(text: &str) -> Option<Decimal> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest.as_bytes()),
        None => (false, text.as_bytes()),
    };
    let (int, frac) = match body.iter().position(|&b| b == b'.') {
        Some(dot) => (&body[..dot], &body[dot + 1..]),
        None => (body, &[][..]),
    };
    let digits = |p: &[u8]| p.iter().all(u8::is_ascii_digit);
    let dot = int.len() < body.len();
    if !(1..=MAX_INT_DIGITS).contains(&int.len())
        || frac.len() > MAX_FRACTION_DIGITS
        || (dot && frac.is_empty())
        || !digits(int)
        || !digits(frac)
    {
        return None;
    }
    Some(from_digits(negative, int, frac))
}

/// The decimal of checked ASCII digits, within [`MAX_INT_DIGITS`] and
/// [`MAX_FRACTION_DIGITS`]. The printed precision is kept (a claim of
/// `107.5` is compared at one decimal); callers rescale values to the base
/// scale.
fn from_digits(negative: bool, int: &[u8], frac: &[u8]) -> Decimal {
    // At most 38 digits: below 10^38, which an i128 holds.
    let mantissa = int.iter().chain(frac).fold(0i128, |m, &b| m * 10 + i128::from(b - b'0'));
    let scale = u8::try_from(frac.len()).expect("at most MAX_FRACTION_DIGITS decimals");
    Decimal::new(if negative { -mantissa } else { mantissa }, scale)
}

/// Maps the full-width and typographic forms people type to ASCII; `None`
/// for any character that has no place in a number.
fn to_ascii(c: char) -> Option<char> {
    match c {
        '0'..='9' | '.' | ',' | '-' | '%' => Some(c),
        '０'..='９' => char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')),
        '．' => Some('.'),
        '，' => Some(','),
        '－' | '\u{2212}' => Some('-'),
        '％' => Some('%'),
        _ => None,
    }
}

fn parse_ascii(text: &str) -> Result<Decimal, NumberError> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if body.contains('-') {
        return Err(NumberError::MisplacedSign);
    }
    if body.contains('%') {
        // A percent sign anywhere but at the very end.
        return Err(NumberError::InvalidCharacter('%'));
    }
    let (int, frac) = match body.split_once('.') {
        Some((_, rest)) if rest.contains('.') => return Err(NumberError::SeveralDecimalPoints),
        Some((int, frac)) => (int, Some(frac)),
        None => (body, None),
    };
    if frac.is_some_and(|f| f.contains(',')) {
        return Err(NumberError::BadGrouping);
    }
    let int_digits = integer_digits(int)?;
    let frac = frac.unwrap_or("");
    if body.contains('.') && frac.is_empty() {
        return Err(NumberError::NoFractionDigits);
    }
    if frac.len() > MAX_FRACTION_DIGITS {
        return Err(NumberError::TooManyDecimals);
    }
    Ok(from_digits(negative, int_digits.as_bytes(), frac.as_bytes()))
}

/// The integer digits without separators, after checking the grouping.
fn integer_digits(int: &str) -> Result<String, NumberError> {
    if int.is_empty() {
        return Err(NumberError::NoIntegerDigits);
    }
    if !int.contains(',') {
        if int.len() > MAX_INT_DIGITS {
            return Err(NumberError::TooManyIntegerDigits);
        }
        return Ok(int.to_owned());
    }
    let groups: Vec<&str> = int.split(',').collect();
    let first_ok = (1..=3).contains(&groups[0].len());
    let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
    if !first_ok || !rest_ok {
        return Err(NumberError::BadGrouping);
    }
    let digits = groups.concat();
    if digits.len() > MAX_INT_DIGITS {
        return Err(NumberError::TooManyIntegerDigits);
    }
    Ok(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str, percent: bool) -> String {
        match parse_cell(text, percent) {
            Ok(Cell::Number(d)) => d.to_string(),
            Ok(Cell::Missing) => "missing".to_owned(),
            Err(e) => panic!("{text:?}: {e}"),
        }
    }

    #[test]
    fn the_plain_form_reads_as_the_full_grammar_does() {
        let max = format!("{}.{}", "9".repeat(MAX_INT_DIGITS), "9".repeat(MAX_FRACTION_DIGITS));
        for text in ["0", "-0", "007", "37.62", "-3.5", "999999999999999", "1234567890.123456", "1.000000", &max] {
            let plain = parse_plain(text).expect(text);
            let full = parse_ascii(text).expect(text);
            assert_eq!((plain.mantissa(), plain.scale()), (full.mantissa(), full.scale()), "{text}");
        }
        for text in [
            "",
            "-",
            ".5",
            "5.",
            "1..2",
            "1,000",
            &"1".repeat(MAX_INT_DIGITS + 1),
            "1.123456789012345678901",
            "--1",
            "1-",
            "１",
            "5%",
            "+1",
        ] {
            assert_eq!(parse_plain(text), None, "{text}");
        }
    }

    #[test]
    fn digits_are_checked_before_conversion() {
        assert_eq!(to_ascii('５'), Some('5'));
        assert_eq!(to_ascii('千'), None);
        assert_eq!(ok("1234567890.123456", false), "1234567890.123456");
        // An 18-digit figure and a per-capita one with 19 decimals are
        // numbers, kept exactly.
        assert_eq!(ok("123456789012345678", false), "123456789012345678");
        assert_eq!(ok("123,456,789,012,345,678", false), "123456789012345678");
        assert_eq!(ok("0.0001234567890123456", false), "0.0001234567890123456");
        assert_eq!(ok("1234567.8901234567", false), "1234567.8901234567");
        assert_eq!(ok(&"9".repeat(18), false), "9".repeat(18));
        assert!(matches!(parse_cell(&"1".repeat(19), false), Err(NumberError::TooManyIntegerDigits)));
        let grouped = format!("1{}", ",000".repeat(6));
        assert!(matches!(parse_cell(&grouped, false), Err(NumberError::TooManyIntegerDigits)));
        let decimals = format!("0.{}", "1".repeat(21));
        assert!(matches!(parse_cell(&decimals, false), Err(NumberError::TooManyDecimals)));
    }
}
