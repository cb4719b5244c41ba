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
    ("123456789012345678901234567890123", false, NumberError::TooManyIntegerDigits),
    ("1.123456789012345678901", false, NumberError::TooManyDecimals),
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

mod properties {
    use proptest::prelude::*;
    use yearbook::decimal::Decimal;
    use yearbook::ingest::number::{Cell, parse_cell};

    /// Decimals the grammar accepts: at most 15 integer digits and 6
    /// decimals, either sign.
    fn accepted() -> impl Strategy<Value = Decimal> {
        (0u8..=6, 0i64..1_000_000_000_000_000, any::<bool>()).prop_flat_map(|(scale, int, negative)| {
            (0i64..10i64.pow(u32::from(scale))).prop_map(move |frac| {
                let m = i128::from(int) * 10i128.pow(u32::from(scale)) + i128::from(frac);
                Decimal::new(if negative { -m } else { m }, scale)
            })
        })
    }

    /// `1234567.5` as `1,234,567.5`.
    fn grouped(d: Decimal) -> String {
        let s = d.to_string();
        let (sign, s) = s.strip_prefix('-').map_or(("", s.as_str()), |r| ("-", r));
        let (int, frac) = s.split_once('.').map_or((s, None), |(i, f)| (i, Some(f)));
        let mut out = String::new();
        for (k, c) in int.chars().enumerate() {
            if k > 0 && (int.len() - k) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        format!("{sign}{out}{}", frac.map(|f| format!(".{f}")).unwrap_or_default())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Every number yearbook writes (as stored, and trimmed for people)
        /// parses back to the same decimal.
        #[test]
        fn written_numbers_parse_back(d in accepted()) {
            for text in [d.to_string(), d.trimmed().to_string(), grouped(d)] {
                prop_assert_eq!(parse_cell(&text, false), Ok(Cell::Number(d)), "{}", text);
            }
            prop_assert_eq!(parse_cell(&format!("{d}%"), true), Ok(Cell::Number(d)));
        }

        /// Full-width digits, as typed on a Chinese keyboard, read the same.
        #[test]
        fn full_width_digits_read_the_same(d in accepted()) {
            let wide: String = d.to_string().chars().map(|c| match c {
                '0'..='9' => char::from_u32(u32::from(c) - u32::from('0') + 0xFF10).unwrap(),
                '.' => '．',
                '-' => '－',
                c => c,
            }).collect();
            prop_assert_eq!(parse_cell(&wide, false), Ok(Cell::Number(d)));
        }

        /// Any text at all gives a number, "missing" or an error: no panic.
        #[test]
        fn any_text_is_answered(text in ".{0,40}", percent in any::<bool>()) {
            let _ = parse_cell(&text, percent);
        }
    }
}
