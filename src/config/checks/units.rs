//! The unit of an expression, checked when a rule is loaded: adding 人 to
//! 元, or comparing a count in 件 with a rate in %, is a mistake in the
//! rule, not a finding about the figures. A unit is a product of base units
//! with exponents (件/件 is a pure number); `%` and percentage points are
//! pure numbers, so a rate compares with a quotient of counts times 100.
//! A number written in the rule takes the unit of what it meets.

use std::collections::BTreeMap;

use super::grammar::Arith;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dim {
    /// A number written in the rule.
    Any,
    /// Base units and their exponents (none: a pure number).
    Of(BTreeMap<String, i32>),
}

impl Dim {
    pub fn none() -> Dim {
        Dim::Of(BTreeMap::new())
    }

    /// An indicator's base unit.
    pub fn of_unit(unit: &str) -> Dim {
        match unit.trim() {
            "%" | "‰" | "百分点" | "" => Dim::none(),
            u => Dim::Of(BTreeMap::from([(u.to_owned(), 1)])),
        }
    }

    /// The unit of `self op other`, or why they do not agree.
    pub fn combine(&self, op: Arith, other: &Dim) -> Result<Dim, String> {
        match (self, other) {
            (Dim::Any, d) | (d, Dim::Any) if matches!(op, Arith::Add | Arith::Sub) => Ok(d.clone()),
            (Dim::Any, Dim::Any) => Ok(Dim::Any),
            (Dim::Any, Dim::Of(b)) => Ok(match op {
                Arith::Mul => Dim::Of(b.clone()),
                _ => Dim::Of(b.iter().map(|(u, e)| (u.clone(), -e)).collect()),
            }),
            (Dim::Of(a), Dim::Any) => Ok(Dim::Of(a.clone())),
            (Dim::Of(a), Dim::Of(b)) => match op {
                Arith::Add | Arith::Sub if a == b => Ok(self.clone()),
                Arith::Add | Arith::Sub => Err(format!(
                    "{} {} {}",
                    self.words(),
                    if op == Arith::Add { "plus" } else { "minus" },
                    other.words()
                )),
                Arith::Mul | Arith::Div => {
                    let sign = if op == Arith::Mul { 1 } else { -1 };
                    let mut out = a.clone();
                    for (u, e) in b {
                        *out.entry(u.clone()).or_default() += sign * e;
                    }
                    out.retain(|_, e| *e != 0);
                    Ok(Dim::Of(out))
                }
            },
        }
    }

    /// Whether `self` can be compared with `other`.
    pub fn compare(&self, other: &Dim) -> Result<(), String> {
        match (self, other) {
            (Dim::Any, _) | (_, Dim::Any) => Ok(()),
            (a, b) if a == b => Ok(()),
            _ => Err(format!("{} compared with {}", self.words(), other.words())),
        }
    }

    /// The unit in words: `人`, `元/人`, `a pure number (%)`.
    pub fn words(&self) -> String {
        match self {
            Dim::Any => "a number".to_owned(),
            Dim::Of(m) if m.is_empty() => "a pure number (%)".to_owned(),
            Dim::Of(m) => {
                let part = |positive: bool| {
                    m.iter()
                        .filter(|(_, e)| (**e > 0) == positive)
                        .map(|(u, e)| if e.abs() == 1 { u.clone() } else { format!("{u}^{}", e.abs()) })
                        .collect::<Vec<_>>()
                        .join("·")
                };
                let (up, down) = (part(true), part(false));
                match (up.is_empty(), down.is_empty()) {
                    (_, true) => up,
                    (true, false) => format!("1/{down}"),
                    (false, false) => format!("{up}/{down}"),
                }
            }
        }
    }
}
