//! Exact decimal numbers and the one place where yearbook rounds.
//!
//! A [`Decimal`] is an `i128` mantissa and a scale (value = mantissa ×
//! 10^-scale): the same representation as Arrow's `Decimal128`, so values go
//! to Parquet without conversion. No value ever passes through binary
//! floating point.
//!
//! Percentages are quotients that rarely terminate (376200 / 350000 × 100 =
//! 107.4857142857…). A [`Ratio`] keeps the exact quotient as two 256-bit
//! integers and rounds it straight to the wanted number of decimals, so the
//! printed figure is rounded once, from the exact value, never from an
//! already rounded one.

use std::cmp::Ordering;
use std::fmt;

use arrow::datatypes::i256;
use serde::{Deserialize, Serialize};

/// Scale of every value column (values, targets, claims, sums): 20
/// decimals, which leaves 18 integer digits in a `Decimal128(38)`. The input
/// grammar accepts at most that many of each (`crate::ingest::number`) and
/// unit prefixes only multiply, so the columns hold every accepted value
/// exactly, per-capita figures with 19 decimals included. In memory a value
/// keeps the scale it was typed with, which keeps the arithmetic on most
/// figures in 128 bits.
pub const BASE_SCALE: u8 = 20;

/// Scale of the unrounded twin of every computed percentage: enough for the
/// twelve decimals an auditor compares against (107.485714285714).
pub const UNROUNDED_SCALE: u8 = 12;

/// Largest precision of an Arrow `Decimal128`.
pub const MAX_PRECISION: u8 = 38;

/// How a value is rounded to a given number of decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Half away from zero (四舍五入): 0.05 → 0.1, −0.05 → −0.1.
    #[default]
    HalfUp,
    /// Half to even, as GB/T 8170 prescribes (四舍六入五成双): 0.05 → 0.0,
    /// 0.15 → 0.2.
    HalfEven,
}

impl Rounding {
    pub fn name(self) -> &'static str {
        match self {
            Rounding::HalfUp => "half_up",
            Rounding::HalfEven => "half_even",
        }
    }
}

impl fmt::Display for Rounding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An exact decimal: `mantissa × 10^-scale`.
#[derive(Clone, Copy, Debug)]
pub struct Decimal {
    mantissa: i128,
    scale: u8,
}

impl Decimal {
    pub const fn new(mantissa: i128, scale: u8) -> Self {
        Decimal { mantissa, scale }
    }

    pub const fn mantissa(self) -> i128 {
        self.mantissa
    }

    pub const fn scale(self) -> u8 {
        self.scale
    }

    pub const fn is_zero(self) -> bool {
        self.mantissa == 0
    }

    /// The same value at a larger scale (exact), or `None` when the
    /// mantissa would overflow or the scale would lose digits.
    pub fn rescale(self, scale: u8) -> Option<Decimal> {
        match scale.cmp(&self.scale) {
            Ordering::Equal => Some(self),
            Ordering::Greater => {
                let factor = pow10_i128(u32::from(scale - self.scale))?;
                Some(Decimal::new(self.mantissa.checked_mul(factor)?, scale))
            }
            Ordering::Less => {
                let factor = pow10_i128(u32::from(self.scale - scale))?;
                (self.mantissa % factor == 0).then(|| Decimal::new(self.mantissa / factor, scale))
            }
        }
    }

    /// Multiplies by 10^power exactly (a unit prefix: 万 = 10^4).
    pub fn checked_mul_pow10(self, power: u32) -> Option<Decimal> {
        let factor = pow10_i128(power)?;
        Some(Decimal::new(self.mantissa.checked_mul(factor)?, self.scale))
    }

    pub fn checked_add(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale.max(other.scale);
        let (a, b) = (self.rescale(scale)?, other.rescale(scale)?);
        Some(Decimal::new(a.mantissa.checked_add(b.mantissa)?, scale))
    }

    pub fn checked_sub(self, other: Decimal) -> Option<Decimal> {
        self.checked_add(Decimal::new(other.mantissa.checked_neg()?, other.scale))
    }

    /// Rounds to `scale` decimals by `rule` (exact: a decimal is a ratio
    /// over a power of ten).
    pub fn round(self, scale: u8, rule: Rounding) -> Option<Decimal> {
        if scale >= self.scale {
            return self.rescale(scale);
        }
        Ratio::new(self, Decimal::new(1, 0))?.round(scale, rule)
    }

    /// The same value without trailing fractional zeros (`376200.000000` →
    /// `376200`), for people.
    pub fn trimmed(self) -> Decimal {
        let (mut m, mut s) = (self.mantissa, self.scale);
        while s > 0 && m % 10 == 0 {
            m /= 10;
            s -= 1;
        }
        Decimal::new(m, s)
    }

    /// The same value at `scale` when it fits a `Decimal128(38)` column
    /// there: the one test of whether a value can be written.
    pub fn in_column(self, scale: u8) -> Option<Decimal> {
        self.rescale(scale).filter(|d| d.digits() <= u32::from(MAX_PRECISION))
    }

    /// Number of significant digits of the mantissa (precision in Arrow's
    /// sense).
    pub fn digits(self) -> u32 {
        self.mantissa.unsigned_abs().checked_ilog10().map_or(1, |d| d + 1)
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Decimal {}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> Ordering {
        if self.scale == other.scale {
            return self.mantissa.cmp(&other.mantissa);
        }
        let scale = self.scale.max(other.scale);
        widen(*self, scale).cmp(&widen(*other, scale))
    }
}

/// Plain notation with exactly `scale` decimals: `107.5`, `-3.50`, `0.001`.
impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text().as_str())
    }
}

impl Decimal {
    /// The [`Display`](fmt::Display) form, built on the stack: writers that
    /// print millions of values take it without allocating for each.
    pub fn text(self) -> DecimalText {
        if usize::from(self.scale) > SHORT_SCALE {
            let mut long = Vec::new();
            self.write_plain(|b| long.extend_from_slice(b));
            return DecimalText::Long(String::from_utf8(long).expect("digits, sign and point are ASCII"));
        }
        let (mut buf, mut len) = ([0u8; SHORT_LEN], 0);
        self.write_plain(|b| {
            buf[len..len + b.len()].copy_from_slice(b);
            len += b.len();
        });
        DecimalText::Short(buf, len as u8)
    }

    fn write_plain(self, mut put: impl FnMut(&[u8])) {
        let mut digits = itoa::Buffer::new();
        let abs = self.mantissa.unsigned_abs();
        // 64-bit formatting is several times faster, and almost every
        // mantissa fits.
        let digits = match u64::try_from(abs) {
            Ok(small) => digits.format(small),
            Err(_) => digits.format(abs),
        }
        .as_bytes();
        let scale = usize::from(self.scale);
        if self.mantissa < 0 {
            put(b"-");
        }
        if scale == 0 {
            put(digits);
            return;
        }
        let int_len = digits.len().saturating_sub(scale);
        put(if int_len == 0 { b"0" } else { &digits[..int_len] });
        put(b".");
        for _ in digits.len()..scale {
            put(b"0");
        }
        put(&digits[int_len..]);
    }
}

/// Room for a sign, 39 digits of an `i128` and a point, or a sign, `0.` and
/// [`SHORT_SCALE`] decimals.
const SHORT_LEN: usize = 48;
const SHORT_SCALE: usize = SHORT_LEN - 3;

/// A decimal in plain notation (see [`Decimal::text`]); empty by default,
/// for a missing value. Held inline unless the scale is unusually large.
#[derive(Clone)]
pub enum DecimalText {
    Short([u8; SHORT_LEN], u8),
    Long(String),
}

impl Default for DecimalText {
    fn default() -> Self {
        DecimalText::Short([0; SHORT_LEN], 0)
    }
}

impl DecimalText {
    /// Without trailing fractional zeros, as [`Decimal::trimmed`] prints
    /// (`376200.000000` → `376200`), without its divisions.
    pub fn trimmed(mut self) -> DecimalText {
        let bytes = self.as_ref();
        let mut len = bytes.len();
        if bytes.contains(&b'.') {
            while bytes[len - 1] == b'0' {
                len -= 1;
            }
            if bytes[len - 1] == b'.' {
                len -= 1;
            }
        }
        match &mut self {
            DecimalText::Short(_, l) => *l = len as u8,
            DecimalText::Long(s) => s.truncate(len),
        }
        self
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_ref()).expect("digits, sign and point are ASCII")
    }
}

impl std::ops::Deref for DecimalText {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for DecimalText {
    fn as_ref(&self) -> &[u8] {
        match self {
            DecimalText::Short(buf, len) => &buf[..usize::from(*len)],
            DecimalText::Long(s) => s.as_bytes(),
        }
    }
}

/// Parses the canonical form yearbook writes (`-?[0-9]+(\.[0-9]+)?`), as
/// used in configuration and tests. Submitted numbers go through
/// `ingest::number`, which knows how people type them.
impl std::str::FromStr for Decimal {
    type Err = ParseDecimalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (negative, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty() || !all_digits(int) || !all_digits(frac) || (s.contains('.') && frac.is_empty()) {
            return Err(ParseDecimalError(s.to_owned()));
        }
        let scale = u8::try_from(frac.len()).map_err(|_| ParseDecimalError(s.to_owned()))?;
        let mut mantissa: i128 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(b - b'0')))
                .ok_or_else(|| ParseDecimalError(s.to_owned()))?;
        }
        Ok(Decimal::new(if negative { -mantissa } else { mantissa }, scale))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a plain decimal number")]
pub struct ParseDecimalError(String);

impl Serialize for Decimal {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The exact quotient `num / den` (den > 0), kept unrounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ratio {
    num: i256,
    den: i256,
}

impl Ratio {
    /// `a / b`; `None` when `b` is zero.
    pub fn new(a: Decimal, b: Decimal) -> Option<Ratio> {
        if b.is_zero() {
            return None;
        }
        let scale = a.scale.max(b.scale);
        let (mut num, mut den) = (widen(a, scale), widen(b, scale));
        if den.is_negative() {
            num = num.wrapping_neg();
            den = den.wrapping_neg();
        }
        Some(Ratio { num, den })
    }

    /// The ratio multiplied by an integer (×100 for a percentage).
    pub fn times(self, factor: i128) -> Option<Ratio> {
        Some(Ratio { num: self.num.checked_mul(i256::from_i128(factor))?, den: self.den })
    }

    /// `self − other`, exactly.
    pub fn checked_sub(self, other: Ratio) -> Option<Ratio> {
        let num = self.num.checked_mul(other.den)?.checked_sub(other.num.checked_mul(self.den)?)?;
        Some(Ratio { num, den: self.den.checked_mul(other.den)? })
    }

    /// The reciprocal `den / num`; `None` when the ratio is zero.
    pub fn recip(self) -> Option<Ratio> {
        if self.num == i256::ZERO {
            return None;
        }
        let (num, den) = if self.num.is_negative() {
            (self.den.wrapping_neg(), self.num.wrapping_neg())
        } else {
            (self.den, self.num)
        };
        Some(Ratio { num, den })
    }

    /// The numerator and denominator, when both fit 128 bits.
    pub fn parts_i128(self) -> Option<(i128, i128)> {
        Some((self.num.to_i128()?, self.den.to_i128()?))
    }

    /// The quotient as a big rational, exactly (for the review rules'
    /// arithmetic, which never overflows).
    pub fn to_big(self) -> num_rational::BigRational {
        let big = |x: i256| num_bigint::BigInt::from_signed_bytes_le(&x.to_le_bytes());
        num_rational::BigRational::new(big(self.num), big(self.den))
    }

    /// The quotient as a decimal of `scale` decimals, when it is exactly one.
    pub fn exact_at(self, scale: u8) -> Option<Decimal> {
        let scaled = self.num.checked_mul(i256::from_i128(10).checked_pow(u32::from(scale))?)?;
        let (q, r) = scaled.checked_div_rem(self.den)?;
        (r == i256::ZERO).then_some(Decimal::new(q.to_i128()?, scale))
    }

    /// The quotient cut (toward zero) to `scale` decimals: how a figure
    /// comes out when digits are dropped instead of rounded.
    pub fn truncate(self, scale: u8) -> Option<Decimal> {
        let scaled = self.num.checked_mul(i256::from_i128(10).checked_pow(u32::from(scale))?)?;
        Some(Decimal::new(scaled.checked_div(self.den)?.to_i128()?, scale))
    }

    /// The quotient rounded to `scale` decimals by `rule`, or `None` when it
    /// does not fit an `i128` mantissa.
    pub fn round(self, scale: u8, rule: Rounding) -> Option<Decimal> {
        // Nearly every quotient yearbook rounds fits 128 bits, where the
        // division is a machine operation rather than a long division.
        if let (Some(num), Some(den)) = (self.num.to_i128(), self.den.to_i128())
            && let Some(rounded) = round_i128(num, den, scale, rule)
        {
            return Some(rounded);
        }
        self.round_wide(scale, rule)
    }

    /// [`Ratio::round`] in 256 bits, for quotients past 128.
    fn round_wide(self, scale: u8, rule: Rounding) -> Option<Decimal> {
        let scaled = self.num.checked_mul(i256::from_i128(10).checked_pow(u32::from(scale))?)?;
        let (quotient, remainder) = scaled.checked_div_rem(self.den)?;
        let twice = remainder.checked_abs()?.checked_mul(i256::from_i128(2))?;
        let away = match twice.cmp(&self.den) {
            Ordering::Less => false,
            Ordering::Greater => true,
            Ordering::Equal => match rule {
                Rounding::HalfUp => true,
                Rounding::HalfEven => quotient.wrapping_rem(i256::from_i128(2)) != i256::ZERO,
            },
        };
        let rounded = if away {
            let step = if scaled.is_negative() { i256::MINUS_ONE } else { i256::ONE };
            quotient.checked_add(step)?
        } else {
            quotient
        };
        Some(Decimal::new(rounded.to_i128()?, scale))
    }
}

/// [`Ratio::round`] in 128 bits: the same rule, `None` on overflow.
fn round_i128(num: i128, den: i128, scale: u8, rule: Rounding) -> Option<Decimal> {
    let scaled = num.checked_mul(pow10_i128(u32::from(scale))?)?;
    let (quotient, remainder) = (scaled / den, scaled % den);
    let twice = remainder.checked_abs()?.checked_mul(2)?;
    let away = match twice.cmp(&den) {
        Ordering::Less => false,
        Ordering::Greater => true,
        Ordering::Equal => match rule {
            Rounding::HalfUp => true,
            Rounding::HalfEven => quotient % 2 != 0,
        },
    };
    let step = if scaled < 0 { -1 } else { 1 };
    Some(Decimal::new(if away { quotient.checked_add(step)? } else { quotient }, scale))
}

fn widen(d: Decimal, scale: u8) -> i256 {
    if scale == d.scale {
        return i256::from_i128(d.mantissa);
    }
    // Scales are at most a few dozen: 10^(scale difference) × an i128 always
    // fits 256 bits (2^255 ≈ 5.7 × 10^76).
    let factor = i256::from_i128(10).wrapping_pow(u32::from(scale - d.scale));
    i256::from_i128(d.mantissa).wrapping_mul(factor)
}

fn pow10_i128(power: u32) -> Option<i128> {
    10_i128.checked_pow(power)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn display_keeps_scale() {
        assert_eq!(d("107.5").to_string(), "107.5");
        assert_eq!(Decimal::new(-350, 2).to_string(), "-3.50");
        assert_eq!(Decimal::new(1, 3).to_string(), "0.001");
        assert_eq!(Decimal::new(-1, 3).to_string(), "-0.001");
        assert_eq!(Decimal::new(376_200_000_000, 6).to_string(), "376200.000000");
        assert_eq!(Decimal::new(0, 2).to_string(), "0.00");
        assert_eq!(Decimal::new(i128::MIN, 0).to_string(), i128::MIN.to_string());
        assert_eq!(Decimal::new(-5, 40).to_string(), format!("-0.{}5", "0".repeat(39)));
        assert_eq!(Decimal::new(1, 255).text().as_str().len(), 257);
        for (m, scale) in [
            (376_200_000_000, 6),
            (-500_000, 6),
            (0, 6),
            (120, 0),
            (1, 3),
            (-10, 1),
            (5_000, 50),
            (-1, 45),
            (i128::MIN, 45),
            (i128::MIN, 46),
        ] {
            let d = Decimal::new(m, scale);
            assert_eq!(d.text().trimmed().as_str(), d.trimmed().to_string(), "{d}");
        }
    }

    #[test]
    fn equality_ignores_scale() {
        assert_eq!(d("1.50"), d("1.5"));
        assert!(d("-0.1") < d("0"));
        assert!(d("2") > d("1.999999"));
    }

    #[test]
    fn seed_completion_rounds_once_from_exact_quotient() {
        let r = Ratio::new(d("376200"), d("350000")).unwrap().times(100).unwrap();
        assert_eq!(r.round(1, Rounding::HalfUp).unwrap().to_string(), "107.5");
        assert_eq!(r.round(12, Rounding::HalfUp).unwrap().to_string(), "107.485714285714");
        // The published, already rounded figures give another answer.
        let published = Ratio::new(d("37.6"), d("35")).unwrap().times(100).unwrap();
        assert_eq!(published.round(1, Rounding::HalfUp).unwrap().to_string(), "107.4");
    }

    #[test]
    fn half_up_and_half_even_differ_only_on_ties() {
        let tie = |s: &str, rule| d(s).round(1, rule).unwrap().to_string();
        assert_eq!(tie("0.05", Rounding::HalfUp), "0.1");
        assert_eq!(tie("0.05", Rounding::HalfEven), "0.0");
        assert_eq!(tie("0.15", Rounding::HalfEven), "0.2");
        assert_eq!(tie("-0.05", Rounding::HalfUp), "-0.1");
        assert_eq!(tie("-0.25", Rounding::HalfEven), "-0.2");
        assert_eq!(tie("0.051", Rounding::HalfEven), "0.1");
        assert_eq!(tie("-0.049", Rounding::HalfUp), "0.0");
    }

    #[test]
    fn negative_denominator_keeps_sign() {
        let r = Ratio::new(d("1"), d("-3")).unwrap();
        assert_eq!(r.round(3, Rounding::HalfUp).unwrap().to_string(), "-0.333");
        assert_eq!(Ratio::new(d("1"), d("0")), None);
    }

    #[test]
    fn rounding_in_128_bits_agrees_with_256() {
        let values = [0, 1, -1, 5, -5, 15, 25, -25, 35, 376_200, 350_000, 999_999, -1_000_001, 7, 3, 12_345_678_901];
        for &num in &values {
            for &den in values.iter().filter(|&&d| d > 0) {
                for scale in [0, 1, 2, 6, 12] {
                    for rule in [Rounding::HalfUp, Rounding::HalfEven] {
                        let r = Ratio::new(Decimal::new(num, 3), Decimal::new(den, 1)).unwrap();
                        assert_eq!(
                            round_i128(r.num.to_i128().unwrap(), r.den.to_i128().unwrap(), scale, rule),
                            r.round_wide(scale, rule),
                            "{num}e-3 / {den}e-1 at {scale} {rule}"
                        );
                    }
                }
            }
        }
        // 10^36 × 10^3 overflows 128 bits on the way; the wide path answers.
        let big = Ratio::new(Decimal::new(10_i128.pow(36), 0), Decimal::new(1000, 0)).unwrap();
        assert_eq!(big.round(3, Rounding::HalfUp).map(|d| d.mantissa()), Some(10_i128.pow(36)));
    }

    #[test]
    fn rescale_is_exact_or_refused() {
        assert_eq!(d("1.5").rescale(3).unwrap().mantissa(), 1500);
        assert_eq!(d("1.50").rescale(1).unwrap().mantissa(), 15);
        assert_eq!(d("1.55").rescale(1), None);
        assert_eq!(Decimal::new(i128::MAX, 0).rescale(1), None);
    }

    #[test]
    fn canonical_parse_rejects_anything_else() {
        for bad in ["", "-", "1.", ".5", "1,000", "1e3", "+1", " 1"] {
            assert!(bad.parse::<Decimal>().is_err(), "{bad:?}");
        }
    }
}
