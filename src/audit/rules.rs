//! The review rules evaluated again by the audit, each `checks` row of the
//! outputs against an evaluation of its own: the rules file read as a CSV
//! and its expressions parsed by the contract's grammar, but every figure
//! looked up in the published tables (an agency's rows; a parent's total
//! and members' sum as the audit itself works them out), the growth and
//! the arithmetic done here in big rationals, and the tolerance applied as
//! SUBMISSIONS.md states it. A figure an `error` rule quarantined is not
//! published: an evaluation that read one is checked against
//! `quarantine.csv` instead.

use std::collections::{BTreeMap, BTreeSet};

use num_traits::{Signed, Zero};
use serde::Deserialize;

use super::{AuditError, Q, Report, Schemas, Total, Year, comparison, level, pct, q, read_csv, round};
use crate::config::checks::grammar::{self, Arith, CmpOp, CondSyntax, Syntax};
use crate::decimal::{Decimal, Rounding};
use crate::model::{col, file, table};
use crate::readback::{Outputs, ReadError};

#[derive(Debug, Deserialize)]
struct RuleRow {
    id: String,
    severity: String,
    expression: String,
    tolerance: String,
}

/// The rules of the run's rules file, by id, with their parsed condition.
pub(super) struct Rules(BTreeMap<String, (RuleRow, CondSyntax)>);

/// The run's rules file, when it had one: the schema file after the
/// catalog, register, units and layouts.
pub(super) fn load(out: &Outputs) -> Result<Option<Rules>, AuditError> {
    let Some(f) = out.manifest.schemas.get(4) else { return Ok(None) };
    let rows: Vec<RuleRow> = read_csv(&out.schema_path(f))?;
    let mut rules = BTreeMap::new();
    for r in rows {
        // The run refused a file with a rule that does not parse.
        if let Ok(c) = grammar::parse(r.expression.trim()) {
            rules.insert(r.id.clone(), (r, c));
        }
    }
    Ok(Some(Rules(rules)))
}

/// What the audit reads a year's rules with.
pub(super) struct Year2<'a> {
    pub s: &'a Schemas,
    pub year: i32,
    pub this: &'a Year,
    pub before: &'a Year,
    pub totals: &'a BTreeMap<(String, String), Total>,
    pub totals_before: &'a BTreeMap<(String, String), Total>,
    pub rule: Rounding,
    /// Each indicator's change decimals (a ratio's members' rate is
    /// rounded to them).
    pub change_decimals: &'a BTreeMap<String, u8>,
}

/// Why the audit's evaluation has no outcome.
#[derive(Debug, PartialEq)]
enum Missing {
    /// A figure of (agency, indicator, year) is not published.
    Figure(String, String, i32),
    /// A growth, or a division, with nothing to give.
    None,
}

struct Ctx<'a> {
    y: &'a Year2<'a>,
    agency: &'a str,
    on_totals: bool,
}

impl Ctx<'_> {
    fn obs(&self, code: &str, year: i32) -> Result<Q, Missing> {
        let rows = if year == self.y.year { self.y.this } else { self.y.before };
        let missing = || Missing::Figure(self.agency.to_owned(), code.to_owned(), year);
        rows.get(&(self.agency.to_owned(), code.to_owned())).and_then(|o| o.value.clone()).ok_or_else(missing)
    }

    fn total(&self, code: &str, year: i32) -> Option<&Total> {
        let t = if year == self.y.year { self.y.totals } else { self.y.totals_before };
        t.get(&(self.agency.to_owned(), code.to_owned()))
    }

    fn ratio(&self, code: &str) -> bool {
        self.y.s.indicators.get(code).is_some_and(|i| i.aggregation == "ratio")
    }

    /// A parent's figure: its reported figure, else its contributors'.
    fn total_figure(&self, code: &str, year: i32) -> Result<Q, Missing> {
        let t = self.total(code, year).ok_or(Missing::None)?;
        let ratio = self.ratio(code);
        let (n, d) = match &t.reported {
            Some(r) => (r.part.n.clone(), r.part.d.clone()),
            None => super::sum_parts(t.contributors.values()),
        };
        let x = level(&n, &d, ratio).ok_or(Missing::None)?;
        // A total past its column's digits is published empty.
        if super::fits(&x, super::VALUE_DECIMALS, self.y.rule) { Ok(x) } else { Err(Missing::None) }
    }

    fn figure(&self, name: &str, code: &str) -> Result<Q, Missing> {
        let (year, rate) = (self.y.year, self.y.s.indicators.get(code).is_some_and(|i| i.kind == "rate"));
        match (name, self.on_totals) {
            ("value", false) => self.obs(code, year),
            ("prev", false) => self.obs(code, year - 1),
            ("target", false) => self
                .y
                .this
                .get(&(self.agency.to_owned(), code.to_owned()))
                .and_then(|o| o.target.clone())
                .ok_or(Missing::None),
            ("growth", false) => {
                let (now, then) = (self.obs(code, year)?, self.obs(code, year - 1)?);
                if rate { Ok(now - then) } else { pct(&(now - &then), &then, "").map_err(|_| Missing::None) }
            }
            ("value", true) => self.total_figure(code, year),
            ("prev", true) => self.total_figure(code, year - 1),
            ("target", true) => self.total(code, year).ok_or(Missing::None)?.target().map_err(|_| Missing::None),
            ("growth", true) => {
                let t = self.total(code, year).ok_or(Missing::None)?;
                let (sides, _) = comparison(t, self.total(code, year - 1), self.ratio(code));
                let (now, then) = sides.map_err(|_| Missing::None)?;
                if rate { Ok(now - then) } else { pct(&(now - &then), &then, "").map_err(|_| Missing::None) }
            }
            ("members", _) => {
                // No member with a figure: their sum is unknown, not 0.
                let t = self.total(code, year).filter(|t| !t.contributors.is_empty()).ok_or(Missing::None)?;
                let (n, d) = super::sum_parts(t.contributors.values());
                let ratio = self.ratio(code);
                let members = level(&n, &d, ratio).ok_or(Missing::None)?;
                if !super::fits(&members, super::VALUE_DECIMALS, self.y.rule) {
                    return Err(Missing::None);
                }
                // A ratio's members' rate as the totals print it.
                let decimals = self.y.change_decimals.get(code).copied().unwrap_or(0);
                Ok(if ratio { round(&members, decimals, self.y.rule) } else { members })
            }
            _ => Err(Missing::None),
        }
    }

    fn expr(&self, e: &Syntax) -> Result<Q, Missing> {
        Ok(match e {
            Syntax::Number(d, _) => q(*d),
            Syntax::Code(code, _) => self.figure("value", code)?,
            Syntax::Neg(x, _) => -self.expr(x)?,
            Syntax::Bin(op, a, b, _) => {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                match op {
                    Arith::Add => a + b,
                    Arith::Sub => a - b,
                    Arith::Mul => a * b,
                    Arith::Div if b.is_zero() => return Err(Missing::None),
                    Arith::Div => a / b,
                }
            }
            Syntax::Call(name, _, args) => match (name.as_str(), args.as_slice()) {
                (f @ ("prev" | "target" | "growth" | "members"), [Syntax::Code(code, _)]) => self.figure(f, code)?,
                ("abs", [x]) => self.expr(x)?.abs(),
                ("min" | "max", xs) => {
                    let values: Vec<Q> = xs.iter().map(|x| self.expr(x)).collect::<Result<_, _>>()?;
                    let pick = |a: Q, b: Q| if (b > a) == (name == "max") { b } else { a };
                    values.into_iter().reduce(pick).ok_or(Missing::None)?
                }
                _ => return Err(Missing::None),
            },
        })
    }

    /// Whether the condition holds, and the sides of the comparison that
    /// decided (the first that failed, else the first).
    fn cond(&self, c: &CondSyntax, tol: &Tol) -> Result<(bool, Q, Q), Missing> {
        match c {
            CondSyntax::Cmp(a, op, b, _) => {
                let (l, r) = (self.expr(a)?, self.expr(b)?);
                Ok((holds(&l, *op, &r, tol), l, r))
            }
            CondSyntax::And(a, b) | CondSyntax::Or(a, b) => {
                let (x, y) = (self.cond(a, tol)?, self.cond(b, tol)?);
                let and = matches!(c, CondSyntax::And(..));
                let h = if and { x.0 && y.0 } else { x.0 || y.0 };
                let decided = if (and && x.0 && !y.0) || (!and && !x.0 && y.0) { y } else { x };
                Ok((h, decided.1, decided.2))
            }
        }
    }
}

/// A tolerance: none, an amount, or a share of the right-hand side.
enum Tol {
    Amount(Q),
    Share(Q),
}

fn tolerance(text: &str) -> Option<Tol> {
    let t = text.trim();
    if t.is_empty() {
        return Some(Tol::Amount(Q::zero()));
    }
    let (n, share) = t.strip_suffix('%').map_or((t, false), |n| (n.trim(), true));
    let d: Decimal = n.parse().ok()?;
    Some(if share { Tol::Share(q(d) / Q::from_integer(100.into())) } else { Tol::Amount(q(d)) })
}

/// SUBMISSIONS.md: `==` within the tolerance, `!=` beyond it, the other
/// comparisons with it as slack.
fn holds(l: &Q, op: CmpOp, r: &Q, tol: &Tol) -> bool {
    let t = match tol {
        Tol::Amount(a) => a.clone(),
        Tol::Share(s) => s * r.abs(),
    };
    match op {
        CmpOp::Eq => (l - r).abs() <= t,
        CmpOp::Ne => (l - r).abs() > t,
        CmpOp::Le => *l <= r + &t,
        CmpOp::Lt => *l < r + &t,
        CmpOp::Ge => *l >= r - &t,
        CmpOp::Gt => *l > r - &t,
    }
}

/// Whether the published side `text` is `x`: exactly, or for `≈` to
/// within half its tenth decimal.
fn same(text: Option<&str>, x: &Q) -> bool {
    let Some(t) = text else { return false };
    match t.strip_prefix('≈') {
        Some(approx) => approx.parse::<Decimal>().is_ok_and(|d| {
            (q(d) - x).abs() <= Q::new(1.into(), num_bigint::BigInt::from(10).pow(10)) / Q::from_integer(2.into())
        }),
        None => t.parse::<Decimal>().is_ok_and(|d| q(d) == *x),
    }
}

/// The rows `quarantine.csv` names with `rule_failed`: (file, line).
pub(super) fn rule_failed(out: &Outputs) -> BTreeSet<(String, String)> {
    let Ok(mut reader) = csv::Reader::from_path(out.dir.join(file::QUARANTINE)) else { return BTreeSet::new() };
    reader
        .records()
        .flatten()
        .filter(|r| r.get(5) == Some("rule_failed"))
        .filter_map(|r| Some((r.get(0)?.to_owned(), r.get(1)?.to_owned())))
        .collect()
}

/// Checks every `checks` row of `y.year` against the audit's evaluation.
pub(super) fn check(
    out: &Outputs,
    rules: &Rules,
    quarantined: &BTreeSet<(String, String)>,
    y: &Year2<'_>,
    r: &mut Report,
) -> Result<(), ReadError> {
    let mut found = Vec::new();
    out.scan(table::CHECKS, Some(y.year), |_, b| {
        let (rule, agency, outcome) = (b.text(col::RULE)?, b.text(col::AGENCY)?, b.text(col::CHECK_OUTCOME)?);
        let (left, right, reads) = (b.text(col::LEFT)?, b.text(col::RIGHT)?, b.text_list(col::FIGURES_READ)?);
        let own = |v: Option<&str>| v.map(str::to_owned);
        for i in 0..b.len() {
            let reads: Vec<String> = reads(i).into_iter().map(str::to_owned).collect();
            found.push((own(rule(i)), own(agency(i)), own(outcome(i)), own(left(i)), own(right(i)), reads));
        }
        Ok(())
    })?;
    for (rule, agency, outcome, left, right, reads) in found {
        let (Some(rule), Some(agency), Some(outcome)) = (rule, agency, outcome) else {
            r.differ(format!("checks {}: a row without its rule, agency or outcome", y.year));
            continue;
        };
        let at = format!("checks {} {rule} {agency}", y.year);
        let Some((row, cond)) = rules.0.get(&rule) else {
            r.differ(format!("{at}: the rules file has no rule {rule}"));
            continue;
        };
        let Some(tol) = tolerance(&row.tolerance) else {
            r.differ(format!("{at}: tolerance `{}` does not read", row.tolerance));
            continue;
        };
        let on_totals = row.expression.contains("members(");
        let ctx = Ctx { y, agency: &agency, on_totals };
        match ctx.cond(cond, &tol) {
            Ok((h, l, rr)) => {
                r.count("review-rule evaluations recomputed");
                let expected: &[&str] = if h {
                    &["pass"]
                } else if row.severity == "warning" {
                    &["fail", "explained"]
                } else {
                    &["fail"]
                };
                if !expected.contains(&outcome.as_str()) {
                    r.differ(format!("{at}: outcome {outcome}, recomputed {}", expected.join(" or ")));
                }
                if !same(left.as_deref(), &l) || !same(right.as_deref(), &rr) {
                    r.differ(format!(
                        "{at}: sides {} and {}, recomputed {} and {}",
                        left.as_deref().unwrap_or("∅"),
                        right.as_deref().unwrap_or("∅"),
                        super::show(&Some(l)),
                        super::show(&Some(rr))
                    ));
                }
            }
            Err(Missing::Figure(a, code, year)) if outcome != "not_evaluated" => {
                // Read by the run, not published: an error rule quarantined it.
                let cite = format!("{code} {year} ");
                let gone = reads.iter().filter(|f| f.starts_with(&cite)).any(|f| {
                    let place = f.rsplit_once(" (").map_or("", |(_, p)| p.trim_end_matches(')'));
                    place
                        .rsplit_once(':')
                        .is_some_and(|(file, line)| quarantined.contains(&(file.to_owned(), line.to_owned())))
                });
                if gone {
                    r.count("review-rule evaluations on figures quarantined by a rule, found in quarantine.csv");
                } else {
                    r.differ(format!(
                        "{at}: {outcome}, but {a} {code} {year} is not published nor quarantined by a rule"
                    ));
                }
            }
            Err(_) if outcome == "not_evaluated" => r.count("review-rule evaluations recomputed"),
            Err(_) => r.differ(format!("{at}: {outcome}, but a figure it reads is missing")),
        }
    }
    Ok(())
}
