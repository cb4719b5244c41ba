//! The statistician's review rules (审核; `crate::config::checks`)
//! evaluated for one bucket of agencies: per agency and year where a rule
//! applies and the agency sent a figure it reads, exactly ([`Num`]:
//! fractions of 128-bit integers, big rationals past them; no rounding, no
//! floating point, no overflow), each comparison with the rule's
//! tolerance. A rule whose figures are missing, or that divides by
//! zero, is not evaluated, with the reason. An `error` rule that fails
//! sends the figures it read for that year to quarantine (`rule_failed`);
//! a `warning` that fails is a finding, explained when a row it read
//! carries a note. Rules reading members' sums describe totals and are
//! evaluated on the finished totals ([`evaluate_totals`]). Pure: nothing
//! here reads or writes files.

use std::collections::BTreeSet;

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{Signed, Zero};
use serde::{Deserialize, Serialize};

use crate::aggregate::Total;
use crate::config::checks::grammar::{Arith, CmpOp};
use crate::config::checks::{Cond, Expr, Read, Rule, Severity, Tolerance};
use crate::config::{Catalog, IndicatorId, Kind, Register, YearOnYear};
use crate::decimal::Decimal;
use crate::model::{Key, NullReason, Observation, Origin, row_of};
use crate::reject::{Code, Detail, Issue};
pub use num::Num;

/// An exact number.
pub type Q = BigRational;

/// What evaluating looks up: the indicators and the agencies.
#[derive(Clone, Copy)]
pub struct Lookup<'a> {
    pub catalog: &'a Catalog,
    pub register: &'a Register,
}

/// What an evaluation found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    /// Failed: for an `error` rule its figures are quarantined; for a
    /// `warning`, a finding no note explains.
    Fail,
    /// A `warning` that failed on figures whose row carries a note.
    Explained,
    NotEvaluated,
}

impl Outcome {
    /// A finding people are shown: failed, or explained.
    pub fn is_finding(self) -> bool {
        matches!(self, Outcome::Fail | Outcome::Explained)
    }

    pub fn name(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Explained => "explained",
            Outcome::NotEvaluated => "not_evaluated",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Outcome::Pass => "通过",
            Outcome::Fail => "未通过",
            Outcome::Explained => "已说明",
            Outcome::NotEvaluated => "未评估",
        }
    }
}

/// Why a rule could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unevaluated {
    /// A figure it reads was not sent (or sent missing, or without a
    /// target).
    Missing {
        read: Read,
        indicator: IndicatorId,
        year: i32,
    },
    /// A growth it reads has none (`NullReason`'s code).
    NoGrowth {
        indicator: IndicatorId,
        why: String,
    },
    DivisionByZero,
}

/// One figure a rule read: which, whose row, and its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FigureRead {
    pub read: Read,
    pub indicator: IndicatorId,
    pub year: i32,
    pub value: Option<Decimal>,
    /// The row it came from; none for a total its members add up to.
    pub origin: Option<Origin>,
}

/// One rule evaluated for one agency and year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The rule's place in the rules file's list.
    pub rule: u32,
    pub key: (crate::config::AgencyId, i32),
    pub outcome: Outcome,
    /// The comparison that decided: its two sides, exactly.
    pub op: Option<CmpOp>,
    pub left: Option<Num>,
    pub right: Option<Num>,
    pub unevaluated: Option<Unevaluated>,
    pub reads: Vec<FigureRead>,
    /// For an explained finding: the note that explains it.
    pub note: Option<String>,
}

/// What evaluating a bucket's rules gives: every evaluation, and the
/// quarantined rows of failed `error` rules.
#[derive(Default)]
pub struct Checked {
    pub evaluations: Vec<Evaluation>,
    /// The keys of `current` to quarantine, sorted, each with its issue.
    pub quarantined: Vec<(Key, Issue)>,
}

/// Evaluations per outcome, for the manifest and the run's last line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckCounts {
    pub evaluated: u64,
    pub passed: u64,
    pub failed: u64,
    pub explained: u64,
    pub not_evaluated: u64,
    /// Rows quarantined because an error rule failed on them.
    pub quarantined_rows: u64,
}

impl CheckCounts {
    pub fn of(c: &Checked) -> CheckCounts {
        CheckCounts { quarantined_rows: c.quarantined.len() as u64, ..CheckCounts::of_evaluations(&c.evaluations) }
    }

    pub fn of_evaluations(evaluations: &[Evaluation]) -> CheckCounts {
        let mut n = CheckCounts::default();
        for e in evaluations {
            n.evaluated += 1;
            match e.outcome {
                Outcome::Pass => n.passed += 1,
                Outcome::Fail => n.failed += 1,
                Outcome::Explained => n.explained += 1,
                Outcome::NotEvaluated => n.not_evaluated += 1,
            }
        }
        n
    }

    pub fn add(&mut self, o: CheckCounts) {
        self.evaluated += o.evaluated;
        self.passed += o.passed;
        self.failed += o.failed;
        self.explained += o.explained;
        self.not_evaluated += o.not_evaluated;
        self.quarantined_rows += o.quarantined_rows;
    }
}

/// Evaluates every rule not on totals for each agency and year of
/// `current` (sorted by key) that it applies to and reads a figure of.
pub fn evaluate(current: &[Observation], rules: &[Rule], p: Lookup<'_>) -> Checked {
    let mut out = Checked::default();
    let rules: Vec<(u32, &Rule)> =
        rules.iter().enumerate().filter(|(_, r)| !r.on_totals()).map(|(n, r)| (n as u32, r)).collect();
    if rules.is_empty() {
        return out;
    }
    let mut quarantined = BTreeSet::new();
    // Key order keeps an agency's rows together: each rule looks its
    // figures up in the agency's rows alone.
    for rows in current.chunk_by(|a, b| a.key.agency == b.key.agency) {
        let agency = rows[0].key.agency;
        let years: BTreeSet<i32> = rows.iter().map(|o| o.key.year).collect();
        for &(n, rule) in rules.iter().filter(|(_, r)| r.applies_to.selects(agency, p.register)) {
            for &year in &years {
                let sent = |ind: IndicatorId| row_of(rows, Key { agency, indicator: ind, year }).is_some();
                if !rule.reads.iter().any(|(r, ind)| *r != Read::Prev && sent(*ind)) {
                    continue;
                }
                let e = evaluate_one(rule, n, agency, year, rows, p);
                if e.outcome == Outcome::Fail && rule.severity == Severity::Error {
                    for f in e.reads.iter().filter(|f| f.year == year) {
                        let key = Key { agency, indicator: f.indicator, year };
                        if quarantined.insert(key) {
                            out.quarantined.push((key, failed_issue(rule, &e, f, rows, p)));
                        }
                    }
                }
                out.evaluations.push(e);
            }
        }
    }
    out.quarantined.sort_by_key(|(k, _)| *k);
    out
}

/// Evaluates every rule on totals (reading `members()`, warnings all) for
/// each parent and year of `totals` (sorted by key) that it applies to and
/// has a total it reads: the parent's figure is its total (the reported
/// figure, or its contributors' sum), `members()` its members' sum.
pub fn evaluate_totals(totals: &[Total], rules: &[Rule], p: Lookup<'_>) -> Vec<Evaluation> {
    let mut out = Vec::new();
    let pairs: BTreeSet<(crate::config::AgencyId, i32)> = totals.iter().map(|t| (t.key.agency, t.key.year)).collect();
    for (n, rule) in rules.iter().enumerate().filter(|(_, r)| r.on_totals()) {
        for &(agency, year) in &pairs {
            if !rule.applies_to.selects(agency, p.register) {
                continue;
            }
            let mut source = TotalFigures { totals, agency, year, p, reads: Vec::new() };
            if !rule.reads.iter().any(|(r, ind)| *r != Read::Prev && source.total(*ind, year).is_some()) {
                continue;
            }
            out.push(evaluate_with(rule, n as u32, (agency, year), &mut source));
        }
    }
    out
}

/// The figures a rule on totals reads for one parent and year.
struct TotalFigures<'a> {
    totals: &'a [Total],
    agency: crate::config::AgencyId,
    year: i32,
    p: Lookup<'a>,
    reads: Vec<FigureRead>,
}

impl<'a> TotalFigures<'a> {
    /// The parent's total of `indicator` in `year` (`totals` sorted by key).
    fn total(&self, indicator: IndicatorId, year: i32) -> Option<&'a Total> {
        let key = Key { agency: self.agency, indicator, year };
        self.totals.binary_search_by_key(&key, |t| t.key).ok().map(|i| &self.totals[i])
    }
}

impl Source for TotalFigures<'_> {
    fn take_reads(&mut self) -> Vec<FigureRead> {
        std::mem::take(&mut self.reads)
    }

    fn figure(&mut self, read: Read, indicator: IndicatorId) -> Result<Num, Unevaluated> {
        let year = if read == Read::Prev { self.year - 1 } else { self.year };
        let missing = || Unevaluated::Missing { read, indicator, year };
        let t = self.total(indicator, year).ok_or_else(missing)?;
        let exact = |o: &crate::model::Outcome| o.as_ref().ok().map(|f| ratio(f.exact));
        let kind: Kind = self.p.catalog.indicator(indicator).kind;
        let (value, q): (Option<Decimal>, Option<Num>) = match read {
            Read::Value | Read::Prev => {
                let v = t.value_unrounded.or(t.value);
                (v, v.map(Num::of))
            }
            Read::Target => (t.target.ok(), t.target.ok().map(Num::of)),
            Read::Members => (t.members, t.members.map(Num::of)),
            Read::Growth => {
                let g = match kind.year_on_year() {
                    YearOnYear::GrowthPct => &t.growth,
                    YearOnYear::ChangePp => &t.change,
                };
                let why = g.as_ref().err().map(|r| r.as_str().to_owned());
                let value = g.as_ref().ok().map(|f| f.unrounded);
                self.reads.push(FigureRead {
                    read,
                    indicator,
                    year,
                    value,
                    origin: t.report.as_ref().map(|r| r.origin),
                });
                return exact(g).ok_or(Unevaluated::NoGrowth { indicator, why: why.unwrap_or_default() });
            }
        };
        // A reported total's row; a summed one has none.
        let origin = if read == Read::Members { None } else { t.report.as_ref().map(|r| r.origin) };
        self.reads.push(FigureRead { read, indicator, year, value, origin });
        q.ok_or_else(missing)
    }
}

/// The quarantine entry of a row an `error` rule read and failed on.
fn failed_issue(rule: &Rule, e: &Evaluation, f: &FigureRead, current: &[Observation], p: Lookup<'_>) -> Issue {
    let o = row_of(current, Key { agency: e.key.0, indicator: f.indicator, year: f.year }).expect("a row read");
    let sides = match (&e.left, e.op, &e.right) {
        (Some(l), Some(op), Some(r)) => format!("{} {} {}", l.text(), op.symbol(), r.text()),
        _ => String::new(),
    };
    let code = &p.catalog.indicator(f.indicator).code;
    let detail = Detail::new(
        format!("rule {} ({}) `{}` fails: {sides}", rule.id, rule.name_en, rule.expression),
        format!("审核公式 {}（{}）`{}` 未通过：{sides}", rule.id, rule.name_zh, rule.expression),
    );
    Issue {
        file: o.origin.file,
        line: o.origin.line,
        byte: o.origin.byte,
        field: code.clone(),
        raw: o.value_raw.to_string(),
        code: Code::RuleFailed,
        detail,
    }
}

/// Where a rule's figures are looked up: an agency's rows, or a parent's
/// totals.
trait Source {
    /// The figure `read` of `indicator` for the agency and year evaluated,
    /// noting what was read.
    fn figure(&mut self, read: Read, indicator: IndicatorId) -> Result<Num, Unevaluated>;
    /// What was read, in the order read.
    fn take_reads(&mut self) -> Vec<FigureRead>;
}

/// The figures a rule reads for one agency and year, looked up in
/// `current`.
struct Figures<'a> {
    current: &'a [Observation],
    agency: crate::config::AgencyId,
    year: i32,
    p: Lookup<'a>,
    reads: Vec<FigureRead>,
}

impl Figures<'_> {
    fn row(&mut self, read: Read, indicator: IndicatorId, year: i32) -> Result<&Observation, Unevaluated> {
        let missing = || Unevaluated::Missing { read, indicator, year };
        let o = row_of(self.current, Key { agency: self.agency, indicator, year }).ok_or_else(missing)?;
        let value = if read == Read::Target { o.target } else { o.value };
        self.reads.push(FigureRead { read, indicator, year, value, origin: Some(o.origin) });
        Ok(o)
    }

    fn value(&mut self, read: Read, indicator: IndicatorId, year: i32) -> Result<Decimal, Unevaluated> {
        let o = self.row(read, indicator, year)?;
        let v = if read == Read::Target { o.target } else { o.value };
        v.ok_or(Unevaluated::Missing { read, indicator, year })
    }
}

impl Source for Figures<'_> {
    fn take_reads(&mut self) -> Vec<FigureRead> {
        std::mem::take(&mut self.reads)
    }

    fn figure(&mut self, read: Read, indicator: IndicatorId) -> Result<Num, Unevaluated> {
        let year = self.year;
        match read {
            Read::Value | Read::Target => self.value(read, indicator, year).map(Num::of),
            Read::Prev => self.value(read, indicator, year - 1).map(Num::of),
            Read::Growth => {
                let now = self.value(Read::Value, indicator, year);
                let before = self.value(Read::Prev, indicator, year - 1);
                let (now, before) = (now?, before?);
                // The metrics' own formulas: growth in %, a rate's change
                // in points.
                let kind: Kind = self.p.catalog.indicator(indicator).kind;
                let r = match kind.year_on_year() {
                    YearOnYear::GrowthPct => crate::metrics::growth_exact(now, before),
                    YearOnYear::ChangePp => crate::metrics::change_exact(now, before),
                };
                r.map(ratio)
                    .map_err(|why: NullReason| Unevaluated::NoGrowth { indicator, why: why.as_str().to_owned() })
            }
            Read::Members => unreachable!("rules on totals are not evaluated in a bucket"),
        }
    }
}

fn evaluate_one(
    rule: &Rule,
    n: u32,
    agency: crate::config::AgencyId,
    year: i32,
    current: &[Observation],
    p: Lookup<'_>,
) -> Evaluation {
    let mut f = Figures { current, agency, year, p, reads: Vec::new() };
    let mut e = evaluate_with(rule, n, (agency, year), &mut f);
    if e.outcome == Outcome::Fail
        && rule.severity == Severity::Warning
        && let Some(note) = note_of(&e.reads, current, agency)
    {
        (e.outcome, e.note) = (Outcome::Explained, Some(note));
    }
    e
}

/// Evaluates `rule` (the `n`th) for one agency and year over `source`:
/// passed, failed or not evaluated.
fn evaluate_with(rule: &Rule, n: u32, key: (crate::config::AgencyId, i32), source: &mut dyn Source) -> Evaluation {
    // Every figure first, so that the evaluation lists all it read even
    // when one is missing; the expression then takes them from here.
    let mut missing = None;
    let mut known = Vec::with_capacity(rule.reads.len());
    for &(read, ind) in &rule.reads {
        match source.figure(read, ind) {
            Ok(v) => known.push(((read, ind), v)),
            Err(e) => {
                missing.get_or_insert(e);
            }
        }
    }
    let mut reads = source.take_reads();
    reads.sort_by(|a, b| (a.year, a.indicator, a.read.name()).cmp(&(b.year, b.indicator, b.read.name())));
    reads.dedup();
    let mut e = Evaluation {
        rule: n,
        key,
        outcome: Outcome::NotEvaluated,
        op: None,
        left: None,
        right: None,
        unevaluated: missing,
        reads,
        note: None,
    };
    if e.unevaluated.is_some() {
        return e;
    }
    match cond(&rule.cond, rule.tolerance, &Known(&known)) {
        Err(why) => e.unevaluated = Some(why),
        Ok(decided) => {
            (e.op, e.left, e.right) = (Some(decided.op), Some(decided.left), Some(decided.right));
            e.outcome = if decided.holds { Outcome::Pass } else { Outcome::Fail };
        }
    }
    e
}

/// The figures of a rule's reads, each looked up once: what its
/// expression is computed from.
struct Known<'a>(&'a [((Read, IndicatorId), Num)]);

impl Known<'_> {
    fn figure(&self, read: Read, indicator: IndicatorId) -> &Num {
        let found = self.0.iter().find(|(r, _)| *r == (read, indicator));
        &found.expect("every figure a rule reads is looked up before its expression").1
    }
}

/// The note of the first row the rule read that carries one: the agency's
/// explanation.
fn note_of(reads: &[FigureRead], current: &[Observation], agency: crate::config::AgencyId) -> Option<String> {
    reads.iter().find_map(|f| {
        let o = row_of(current, Key { agency, indicator: f.indicator, year: f.year })?;
        o.note.as_ref().map(|n| n.to_string())
    })
}

/// A comparison evaluated: whether it holds, and its sides.
struct Decided {
    holds: bool,
    op: CmpOp,
    left: Num,
    right: Num,
}

/// Evaluates a condition; the comparison that decides is the first that
/// fails (when the condition fails) or the first (when it holds).
fn cond(c: &Cond, tol: Tolerance, f: &Known<'_>) -> Result<Decided, Unevaluated> {
    match c {
        Cond::Cmp(a, op, b) => {
            let (left, right) = (expr(a, f)?, expr(b, f)?);
            Ok(Decided { holds: compare(&left, *op, &right, tol), op: *op, left, right })
        }
        Cond::And(a, b) => {
            let (a, b) = (cond(a, tol, f)?, cond(b, tol, f)?);
            let holds = a.holds && b.holds;
            let first = if a.holds && !b.holds { b } else { a };
            Ok(Decided { holds, ..first })
        }
        Cond::Or(a, b) => {
            let (a, b) = (cond(a, tol, f)?, cond(b, tol, f)?);
            let holds = a.holds || b.holds;
            let first = if !a.holds && b.holds { b } else { a };
            Ok(Decided { holds, ..first })
        }
    }
}

/// `left op right` with the tolerance: `==` within it, `!=` beyond it,
/// and the other comparisons with it as slack.
fn compare(left: &Num, op: CmpOp, right: &Num, tol: Tolerance) -> bool {
    use std::cmp::Ordering::{Greater, Less};
    let slack = match tol {
        Tolerance::Exact => Num::Small(0, 1),
        Tolerance::Absolute(d) => Num::of(d),
        Tolerance::Relative(share) => Num::of(share).mul(&right.abs()),
    };
    let diff = left.sub(right);
    match op {
        CmpOp::Eq => diff.abs().cmp(&slack) != Greater,
        CmpOp::Ne => diff.abs().cmp(&slack) == Greater,
        CmpOp::Le => diff.cmp(&slack) != Greater,
        CmpOp::Lt => diff.cmp(&slack) == Less,
        CmpOp::Ge => diff.cmp(&slack.neg()) != Less,
        CmpOp::Gt => diff.cmp(&slack.neg()) == Greater,
    }
}

fn expr(e: &Expr, f: &Known<'_>) -> Result<Num, Unevaluated> {
    Ok(match e {
        Expr::Number(d) => Num::of(*d),
        Expr::Figure(read, ind) => f.figure(*read, *ind).clone(),
        Expr::Neg(x) => expr(x, f)?.neg(),
        Expr::Abs(x) => expr(x, f)?.abs(),
        Expr::Bin(op, a, b) => {
            let (a, b) = (expr(a, f)?, expr(b, f)?);
            match op {
                Arith::Add => a.add(&b),
                Arith::Sub => a.sub(&b),
                Arith::Mul => a.mul(&b),
                Arith::Div => a.div(&b).ok_or(Unevaluated::DivisionByZero)?,
            }
        }
        Expr::Min(xs) | Expr::Max(xs) => {
            let mut values = xs.iter().map(|x| expr(x, f)).collect::<Result<Vec<Num>, _>>()?.into_iter();
            let first = values.next().expect("two arguments or more");
            let max = matches!(e, Expr::Max(_));
            values.fold(first, |acc, v| if (v.cmp(&acc) == std::cmp::Ordering::Greater) == max { v } else { acc })
        }
    })
}

/// An exact quotient of the metrics' formulas, as the rules compute.
fn ratio(r: crate::decimal::Ratio) -> Num {
    match r.parts_i128().and_then(|(n, d)| Num::small(n, d)) {
        Some(n) => n,
        None => Num::Big(r.to_big()),
    }
}

/// A decimal, exactly.
pub fn q(d: Decimal) -> Q {
    Q::new(BigInt::from(d.mantissa()), BigInt::from(10).pow(u32::from(d.scale())))
}

/// An exact number as text: its decimal expansion when it ends, else
/// rounded to 10 decimals and marked `≈`.
pub fn text(x: &Q) -> String {
    let den = x.denom();
    let mut d = den.clone();
    let (two, five) = (BigInt::from(2), BigInt::from(5));
    let mut scale = 0u32;
    let (mut twos, mut fives) = (0u32, 0u32);
    while (&d % &two).is_zero() {
        d /= &two;
        twos += 1;
    }
    while (&d % &five).is_zero() {
        d /= &five;
        fives += 1;
    }
    let exact = d == BigInt::from(1);
    if exact {
        scale = twos.max(fives);
    }
    let shown = if exact { scale } else { 10 };
    let scaled = x * Q::from_integer(BigInt::from(10).pow(shown));
    // Half away from zero, for the approximation only.
    let rounded = if exact { scaled.to_integer() } else { scaled.round().to_integer() };
    let negative = rounded.is_negative();
    let digits = rounded.abs().to_string();
    let s = shown as usize;
    let body = if s == 0 {
        digits
    } else {
        let padded = format!("{digits:0>width$}", width = s + 1);
        let (int, frac) = padded.split_at(padded.len() - s);
        let frac = if exact { frac.to_owned() } else { frac.trim_end_matches('0').to_owned() };
        if frac.is_empty() { int.to_owned() } else { format!("{int}.{frac}") }
    };
    format!("{}{}{body}", if exact { "" } else { "≈" }, if negative { "-" } else { "" })
}

pub mod num;
#[cfg(test)]
mod tests;
