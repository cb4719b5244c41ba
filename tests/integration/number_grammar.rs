use yearbook::ingest::number::{Cell, NumberError, parse_cell};

/// (typed, percent allowed, exact value)
#[rustfmt::skip]
const ACCEPTED: &[(&str, bool, &str)] = &[
    ("37.6",         false, "37.6"),
    ("1,325",        false, "1325"),
    ("1，325",       false, "1325"),
    ("３７.６",      false, "37.6"),
    ("３７．６",     false, "37.6"),
    ("－3.5",        false, "-3.5"),
    ("\u{2212}3.5",  false, "-3.5"),
    ("-3.5",         false, "-3.5"),
    ("99%",          true,  "99"),
    ("99％",         true,  "99"),
    (" 408.41 ",     false, "408.41"),
    ("\t408.41\u{3000}", false, "408.41"),
    ("0",            false, "0"),
    ("0.000001",     false, "0.000001"),
    ("1,234,567.89", false, "1234567.89"),
    ("999999999999999", false, "999999999999999"),
];

const MISSING: &[&str] = &["", "-", "—", "/", "无", "NA", "N/A", "  ", " - "];

#[rustfmt::skip]
const REJECTED: &[(&str, bool, NumberError)] = &[
    ("千余",     false, NumberError::InvalidCharacter('千')),
    ("约3.2",    false, NumberError::InvalidCharacter('约')),
    ("12..5",    false, NumberError::SeveralDecimalPoints),
    ("3.2.1",    false, NumberError::SeveralDecimalPoints),
    ("1,32,5",   false, NumberError::BadGrouping),
    ("1,3250",   false, NumberError::BadGrouping),
    ("５千",     false, NumberError::InvalidCharacter('千')),
    ("不详",     false, NumberError::InvalidCharacter('不')),
    ("99%",      false, NumberError::PercentNotAllowed),
    ("9%9",      true,  NumberError::InvalidCharacter('%')),
    ("1.",       false, NumberError::NoFractionDigits),
    (".5",       false, NumberError::NoIntegerDigits),
    ("3-",       false, NumberError::MisplacedSign),
    ("--3",      false, NumberError::MisplacedSign),
    ("+3",       false, NumberError::InvalidCharacter('+')),
    ("1e3",      false, NumberError::InvalidCharacter('e')),
    ("1 000",    false, NumberError::InvalidCharacter(' ')),
    ("1234567890123456", false, NumberError::TooManyIntegerDigits),
    ("1.1234567", false, NumberError::TooManyDecimals),
    ("一百",     false, NumberError::InvalidCharacter('一')),
];

#[test]
fn every_accepted_form_parses_exactly() {
    for (typed, percent, want) in ACCEPTED {
        match parse_cell(typed, *percent) {
            Ok(Cell::Number(d)) => assert_eq!(d, want.parse().unwrap(), "{typed:?}"),
            other => panic!("{typed:?}: {other:?}"),
        }
    }
}

#[test]
fn missing_tokens_are_missing_never_zero() {
    for typed in MISSING {
        assert_eq!(parse_cell(typed, false), Ok(Cell::Missing), "{typed:?}");
    }
}

#[test]
fn every_rejected_form_says_why() {
    for (typed, percent, want) in REJECTED {
        assert_eq!(parse_cell(typed, *percent).as_ref(), Err(want), "{typed:?}");
    }
}

#[test]
fn printed_precision_is_kept_for_claims() {
    let Ok(Cell::Number(d)) = parse_cell("107.50%", true) else { panic!() };
    assert_eq!(d.scale(), 2);
    assert_eq!(d.to_string(), "107.50");
}
