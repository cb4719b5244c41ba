//! The review rules' exact numbers: a fraction of 128-bit integers while
//! every step fits, a big rational from the first step that does not. The
//! same values either way; the small form spares nearly every evaluation
//! the big integers' allocations and gcds (20 rules at the bench's scale
//! m cost a third of a full run with big rationals throughout).

use std::cmp::Ordering;

use num_bigint::BigInt;
use num_traits::{Signed, Zero};

use super::Q;
use crate::decimal::Decimal;

/// An exact number.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Num {
    /// `n / d`, `d > 0`, in lowest terms.
    Small(i128, i128),
    Big(Q),
}

/// Binary gcd: shifts and subtractions only (a 128-bit `%` is a library
/// call, and every figure read is reduced by one).
fn gcd(mut a: u128, mut b: u128) -> u128 {
    if a == 0 || b == 0 {
        return a | b;
    }
    let shift = (a | b).trailing_zeros();
    a >>= a.trailing_zeros();
    loop {
        b >>= b.trailing_zeros();
        if a > b {
            (a, b) = (b, a);
        }
        b -= a;
        if b == 0 {
            return a << shift;
        }
    }
}

impl Num {
    pub fn of(d: Decimal) -> Num {
        match 10i128.checked_pow(u32::from(d.scale())) {
            Some(p) => Num::small(d.mantissa(), p).unwrap_or_else(|| Num::Big(super::q(d))),
            None => Num::Big(super::q(d)),
        }
    }

    /// `n / d` in lowest terms (`d != 0`), if it fits.
    pub fn small(n: i128, d: i128) -> Option<Num> {
        if d == 0 {
            return None;
        }
        // Nearly every figure fits 64 bits, where division is one
        // instruction rather than a 128-bit library call.
        if let (Ok(n), Ok(d)) = (i64::try_from(n), i64::try_from(d))
            && n != i64::MIN
            && d != i64::MIN
        {
            let g = gcd(u128::from(n.unsigned_abs()), u128::from(d.unsigned_abs())) as i64;
            let (n, d) = if g == 1 { (n, d) } else { (n / g, d / g) };
            return Some(if d < 0 {
                Num::Small(-i128::from(n), -i128::from(d))
            } else {
                Num::Small(n.into(), d.into())
            });
        }
        let g = gcd(n.unsigned_abs(), d.unsigned_abs()).max(1) as i128;
        let (mut n, mut d) = if g == 1 { (n, d) } else { (n / g, d / g) };
        if d < 0 {
            (n, d) = (n.checked_neg()?, d.checked_neg()?);
        }
        Some(Num::Small(n, d))
    }

    pub fn big(&self) -> Q {
        match self {
            Num::Small(n, d) => Q::new(BigInt::from(*n), BigInt::from(*d)),
            Num::Big(q) => q.clone(),
        }
    }

    /// Both small: `f` on their parts, if it fits; else `g` on big ones.
    fn op(&self, o: &Num, f: impl Fn(i128, i128, i128, i128) -> Option<(i128, i128)>, g: impl Fn(Q, Q) -> Q) -> Num {
        if let (Num::Small(a, b), Num::Small(c, d)) = (self, o)
            && let Some(r) = f(*a, *b, *c, *d).and_then(|(n, d)| Num::small(n, d))
        {
            return r;
        }
        Num::Big(g(self.big(), o.big()))
    }

    pub fn add(&self, o: &Num) -> Num {
        self.op(
            o,
            |a, b, c, d| Some((a.checked_mul(d)?.checked_add(c.checked_mul(b)?)?, b.checked_mul(d)?)),
            |x, y| x + y,
        )
    }

    pub fn sub(&self, o: &Num) -> Num {
        self.op(
            o,
            |a, b, c, d| Some((a.checked_mul(d)?.checked_sub(c.checked_mul(b)?)?, b.checked_mul(d)?)),
            |x, y| x - y,
        )
    }

    pub fn mul(&self, o: &Num) -> Num {
        self.op(o, |a, b, c, d| Some((a.checked_mul(c)?, b.checked_mul(d)?)), |x, y| x * y)
    }

    /// `None`: division by zero.
    pub fn div(&self, o: &Num) -> Option<Num> {
        if o.is_zero() {
            return None;
        }
        Some(self.op(o, |a, b, c, d| Some((a.checked_mul(d)?, b.checked_mul(c)?)), |x, y| x / y))
    }

    pub fn neg(&self) -> Num {
        match self {
            Num::Small(n, d) if *n != i128::MIN => Num::Small(-n, *d),
            _ => Num::Big(-self.big()),
        }
    }

    pub fn abs(&self) -> Num {
        if self.is_negative() { self.neg() } else { self.clone() }
    }

    pub fn is_zero(&self) -> bool {
        match self {
            Num::Small(n, _) => *n == 0,
            Num::Big(q) => q.is_zero(),
        }
    }

    fn is_negative(&self) -> bool {
        match self {
            Num::Small(n, _) => *n < 0,
            Num::Big(q) => q.is_negative(),
        }
    }

    fn order(&self, o: &Num) -> Ordering {
        if let (Num::Small(a, b), Num::Small(c, d)) = (self, o)
            && let (Some(x), Some(y)) = (a.checked_mul(*d), c.checked_mul(*b))
        {
            return x.cmp(&y);
        }
        self.big().cmp(&o.big())
    }
}

impl PartialEq for Num {
    fn eq(&self, o: &Num) -> bool {
        self.order(o) == Ordering::Equal
    }
}

impl Eq for Num {}

impl PartialOrd for Num {
    fn partial_cmp(&self, o: &Num) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Num {
    fn cmp(&self, o: &Num) -> Ordering {
        self.order(o)
    }
}

impl Num {
    /// As text: its decimal expansion when it ends, else rounded half
    /// away from zero to 10 decimals and marked `≈`. A small fraction is
    /// written with 128-bit integers; a big one through big integers.
    pub fn text(&self) -> String {
        let Num::Small(n, d) = self else { return super::text(&self.big()) };
        if *d == 1 {
            return n.to_string();
        }
        let twos = d.unsigned_abs().trailing_zeros();
        let (mut rest, mut fives) = (d.unsigned_abs() >> twos, 0u32);
        while rest % 5 == 0 {
            (rest, fives) = (rest / 5, fives + 1);
        }
        let exact = rest == 1;
        let shown = if exact { twos.max(fives) } else { 10 };
        let Some(scaled) = 10u128.checked_pow(shown).and_then(|p| n.unsigned_abs().checked_mul(p)) else {
            return super::text(&self.big());
        };
        let den = d.unsigned_abs();
        let (q, r) = (scaled / den, scaled % den);
        let digits = if !exact && r * 2 >= den { q + 1 } else { q };
        let s = shown as usize;
        let mut body = format!("{digits:0>width$}", width = s + 1);
        if s > 0 {
            body.insert(body.len() - s, '.');
            if !exact {
                body = body.trim_end_matches('0').trim_end_matches('.').to_owned();
            }
        }
        let sign = if *n < 0 && digits != 0 { "-" } else { "" };
        format!("{}{sign}{body}", if exact { "" } else { "≈" })
    }
}
