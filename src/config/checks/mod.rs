//! The statistician's own review rules (审核公式; SUBMISSIONS.md,
//! "Checks"): a CSV file, one rule a row
//! (`id,name_zh,name_en,severity,applies_to,expression,tolerance`), loaded
//! into rules whose every indicator is known and whose units agree. Every
//! mistake of the file is reported at load, all at once, each at its line
//! and column with a caret under the place.
//!
//! What a rule computes is `crate::checks`; this module only reads and
//! checks the file.

pub mod grammar;
mod units;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use super::{AgencyId, Catalog, ConfigError, ConfigErrors, IndicatorId, Register};
use crate::decimal::Decimal;
use grammar::{Arith, CmpOp, CondSyntax, Span, Syntax};
use units::Dim;

const COLUMNS: [&str; 7] = ["id", "name_zh", "name_en", "severity", "applies_to", "expression", "tolerance"];

/// 强制性 (`error`): the figures a failing rule read are not published; 核实性
/// (`warning`): published, listed as a finding until a note explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Severity::Error => "强制性",
            Severity::Warning => "核实性",
        }
    }
}

/// Which agencies a rule is evaluated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppliesTo {
    /// Agencies without members.
    Leaves,
    /// Agencies with members.
    Parents,
    All,
    /// An agency and every agency under it.
    Under(AgencyId),
}

impl AppliesTo {
    /// Whether the rule is evaluated for `agency`.
    pub fn selects(self, agency: AgencyId, register: &Register) -> bool {
        let has_members = register.agency(agency).has_children;
        match self {
            AppliesTo::Leaves => !has_members,
            AppliesTo::Parents => has_members,
            AppliesTo::All => true,
            AppliesTo::Under(root) => agency == root || register.ancestors(agency).any(|a| a == root),
        }
    }
}

/// The slack of a comparison: none, an amount in the base unit, or a share
/// of the right-hand side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tolerance {
    Exact,
    Absolute(Decimal),
    /// `0.1%` is the share 0.001.
    Relative(Decimal),
}

impl Tolerance {
    /// As the rules file writes it (empty when exact).
    pub fn text(self) -> String {
        match self {
            Tolerance::Exact => String::new(),
            Tolerance::Absolute(d) => d.text().as_str().to_owned(),
            Tolerance::Relative(share) => {
                let percent = share.checked_mul_pow10(2).map_or(share, |d| d.trimmed());
                format!("{}%", percent.text().as_str())
            }
        }
    }
}

/// What a rule reads of an indicator, for the agency and year it is
/// evaluated for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub enum Read {
    /// `{X}`: its value.
    Value,
    /// `prev({X})`: the previous year's value.
    Prev,
    /// `target({X})`.
    Target,
    /// `growth({X})`: growth in % (a rate's change in points).
    Growth,
    /// `members({X})`: the sum of the agency's members' figures.
    Members,
}

impl Read {
    fn of_function(name: &str) -> Option<Read> {
        Some(match name {
            "prev" => Read::Prev,
            "target" => Read::Target,
            "growth" => Read::Growth,
            "members" => Read::Members,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Read::Value => "value",
            Read::Prev => "prev",
            Read::Target => "target",
            Read::Growth => "growth",
            Read::Members => "members",
        }
    }
}

/// An arithmetic expression with its indicators known.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(Decimal),
    Figure(Read, IndicatorId),
    Neg(Box<Expr>),
    Bin(Arith, Box<Expr>, Box<Expr>),
    Abs(Box<Expr>),
    Min(Vec<Expr>),
    Max(Vec<Expr>),
}

impl Expr {
    /// Every figure the expression reads, in the order written.
    pub fn figures(&self, out: &mut Vec<(Read, IndicatorId)>) {
        match self {
            Expr::Number(_) => {}
            Expr::Figure(r, i) => out.push((*r, *i)),
            Expr::Neg(e) | Expr::Abs(e) => e.figures(out),
            Expr::Bin(_, a, b) => {
                a.figures(out);
                b.figures(out);
            }
            Expr::Min(v) | Expr::Max(v) => v.iter().for_each(|e| e.figures(out)),
        }
    }
}

/// A condition with its indicators known.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Cmp(Expr, CmpOp, Expr),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
}

impl Cond {
    /// Every figure the condition reads, each once, in the order written.
    pub fn figures(&self) -> Vec<(Read, IndicatorId)> {
        let mut out = Vec::new();
        self.collect(&mut out);
        let mut seen = BTreeSet::new();
        out.retain(|f| seen.insert(*f));
        out
    }

    fn collect(&self, out: &mut Vec<(Read, IndicatorId)>) {
        match self {
            Cond::Cmp(a, _, b) => {
                a.figures(out);
                b.figures(out);
            }
            Cond::And(a, b) | Cond::Or(a, b) => {
                a.collect(out);
                b.collect(out);
            }
        }
    }
}

/// One rule of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub severity: Severity,
    pub applies_to: AppliesTo,
    pub cond: Cond,
    pub tolerance: Tolerance,
    /// As written, for the outputs.
    pub expression: String,
    /// The rule's line in the rules file.
    pub line: u64,
    /// Every figure it reads, each once.
    pub reads: Vec<(Read, IndicatorId)>,
}

impl Rule {
    /// Whether the rule reads members' sums: it describes totals, and is
    /// evaluated on them.
    pub fn on_totals(&self) -> bool {
        self.reads.iter().any(|(r, _)| *r == Read::Members)
    }
}

/// The rules of a pipeline (none without a rules file).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules(pub Vec<Rule>);

#[derive(Debug, Deserialize)]
struct RuleRow {
    id: String,
    name_zh: String,
    name_en: String,
    severity: String,
    applies_to: String,
    expression: String,
    tolerance: String,
}

/// What the checks of one row report: the file, the row's line and
/// expression, and every mistake.
struct RowErrors<'a> {
    path: &'a Path,
    line: u64,
    expression: &'a str,
    errors: &'a mut Vec<ConfigError>,
}

impl RowErrors<'_> {
    fn field(&mut self, msg: String) {
        self.errors.push(ConfigError::new(self.path, Some(self.line), msg));
    }

    /// A mistake at `span` of the expression: its column, and the
    /// expression with a caret under the place.
    fn at(&mut self, span: &Span, msg: String) {
        let column = self.expression[..span.start.min(self.expression.len())].chars().count() + 1;
        let width = self.expression.get(span.clone()).map_or(1, |s| s.chars().count().max(1));
        let mut text = format!("column {column} of the expression: {msg}\n      {}\n      ", self.expression);
        let _ = write!(text, "{}{}", " ".repeat(column - 1), "^".repeat(width));
        self.errors.push(ConfigError::new(self.path, Some(self.line), text));
    }
}

impl Rules {
    /// Loads the rules file at `path` against the catalog and register.
    pub fn load(path: &Path, catalog: &Catalog, register: &Register) -> Result<Rules, ConfigErrors> {
        let (rows, mut errors) = super::table::read::<RuleRow>(path, &COLUMNS, &[]);
        let mut rules = Vec::new();
        let mut ids = BTreeSet::new();
        for row in rows {
            let r = row.value;
            let mut e = RowErrors { path, line: row.line, expression: &r.expression, errors: &mut errors };
            if !super::is_valid_code(&r.id) {
                e.field(format!("id `{}` is not a code (letters, digits, `-`, `_`)", r.id));
            } else if !ids.insert(r.id.clone()) {
                e.field(format!("id `{}` appears twice", r.id));
            }
            let severity = match r.severity.as_str() {
                "error" => Some(Severity::Error),
                "warning" => Some(Severity::Warning),
                other => {
                    e.field(format!("severity `{other}` is neither error nor warning"));
                    None
                }
            };
            let applies_to = match r.applies_to.as_str() {
                "leaves" => Some(AppliesTo::Leaves),
                "parents" => Some(AppliesTo::Parents),
                "all" => Some(AppliesTo::All),
                code => register.get(code).map(AppliesTo::Under).or_else(|| {
                    e.field(format!("applies_to `{code}` is none of leaves, parents, all, nor an agency's code"));
                    None
                }),
            };
            let tolerance = tolerance(&r.tolerance).map_err(|msg| e.field(msg)).ok();
            let cond = match grammar::parse(&r.expression) {
                Ok(syntax) => resolve(&syntax, catalog, &mut e),
                Err(err) => {
                    e.at(&(err.at..err.at + 1), format!("expected {}", err.expected));
                    None
                }
            };
            let (Some(severity), Some(applies_to), Some(tolerance), Some(cond)) =
                (severity, applies_to, tolerance, cond)
            else {
                continue;
            };
            let reads = cond.figures();
            let rule = Rule {
                id: r.id,
                name_zh: r.name_zh,
                name_en: r.name_en,
                severity,
                applies_to,
                cond,
                tolerance,
                expression: r.expression.clone(),
                line: row.line,
                reads,
            };
            if rule.on_totals() && severity == Severity::Error {
                let msg = "reads members(), so it describes totals, which are not quarantined: make it a warning";
                errors.push(ConfigError::new(path, Some(row.line), format!("rule `{}` {msg}", rule.id)));
                continue;
            }
            rules.push(rule);
        }
        if errors.is_empty() { Ok(Rules(rules)) } else { Err(ConfigErrors(errors)) }
    }
}

/// A tolerance as written: empty, an amount, or a share in `%`.
fn tolerance(text: &str) -> Result<Tolerance, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Tolerance::Exact);
    }
    let (number, relative) = match text.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (text, false),
    };
    let bad = || format!("tolerance `{text}` is neither empty, an amount (`0.5`) nor a share (`0.1%`)");
    let d: Decimal = number.parse().map_err(|_| bad())?;
    if d.mantissa() < 0 {
        return Err(format!("tolerance `{text}` is below zero"));
    }
    if relative {
        // A share: the percentage over 100, exactly.
        Ok(Tolerance::Relative(Decimal::new(d.mantissa(), d.scale().checked_add(2).ok_or_else(bad)?)))
    } else {
        Ok(Tolerance::Absolute(d))
    }
}

/// The condition with its names looked up and its units checked; `None`
/// when any is wrong (each mistake reported).
fn resolve(c: &CondSyntax, catalog: &Catalog, e: &mut RowErrors<'_>) -> Option<Cond> {
    match c {
        CondSyntax::Cmp(a, op, b, span) => {
            let (a, b) = (expr(a, catalog, e), expr(b, catalog, e));
            let ((a, da), (b, db)) = (a?, b?);
            if let Err(msg) = da.compare(&db) {
                e.at(span, format!("units do not agree: {msg}"));
                return None;
            }
            Some(Cond::Cmp(a, *op, b))
        }
        CondSyntax::And(a, b) => {
            let (a, b) = (resolve(a, catalog, e), resolve(b, catalog, e));
            Some(Cond::And(Box::new(a?), Box::new(b?)))
        }
        CondSyntax::Or(a, b) => {
            let (a, b) = (resolve(a, catalog, e), resolve(b, catalog, e));
            Some(Cond::Or(Box::new(a?), Box::new(b?)))
        }
    }
}

/// An expression with its names looked up, and its unit.
fn expr(s: &Syntax, catalog: &Catalog, e: &mut RowErrors<'_>) -> Option<(Expr, Dim)> {
    match s {
        Syntax::Number(d, _) => Some((Expr::Number(*d), Dim::Any)),
        Syntax::Code(code, span) => {
            let id = indicator(code, span, catalog, e)?;
            Some((Expr::Figure(Read::Value, id), Dim::of_unit(&catalog.indicator(id).base_unit)))
        }
        Syntax::Neg(inner, _) => expr(inner, catalog, e).map(|(x, d)| (Expr::Neg(Box::new(x)), d)),
        Syntax::Bin(op, a, b, span) => {
            let (a, b) = (expr(a, catalog, e), expr(b, catalog, e));
            let ((a, da), (b, db)) = (a?, b?);
            match da.combine(*op, &db) {
                Ok(d) => Some((Expr::Bin(*op, Box::new(a), Box::new(b)), d)),
                Err(msg) => {
                    e.at(span, format!("units do not agree: {msg}"));
                    None
                }
            }
        }
        Syntax::Call(name, span, args) => call(name, span, args, catalog, e),
    }
}

fn indicator(code: &str, span: &Span, catalog: &Catalog, e: &mut RowErrors<'_>) -> Option<IndicatorId> {
    catalog.get(code).or_else(|| {
        e.at(span, format!("indicator `{code}` is not in the catalog"));
        None
    })
}

/// A function call: a reading of one indicator (`prev`, `target`,
/// `growth`, `members`) or `abs`, `min`, `max` of expressions.
fn call(name: &str, span: &Span, args: &[Syntax], catalog: &Catalog, e: &mut RowErrors<'_>) -> Option<(Expr, Dim)> {
    if let Some(read) = Read::of_function(name) {
        let [Syntax::Code(code, at)] = args else {
            e.at(span, format!("{name}() takes one indicator in braces: {name}({{CODE}})"));
            return None;
        };
        let id = indicator(code, at, catalog, e)?;
        let ind = catalog.indicator(id);
        let dim = match read {
            // A growth in %, or a rate's change in points: a pure number.
            Read::Growth => Dim::none(),
            _ => Dim::of_unit(&ind.base_unit),
        };
        return Some((Expr::Figure(read, id), dim));
    }
    let parsed: Vec<Option<(Expr, Dim)>> = args.iter().map(|a| expr(a, catalog, e)).collect();
    let (min_args, max_args) = match name {
        "abs" => (1, 1),
        "min" | "max" => (2, usize::MAX),
        _ => {
            e.at(span, format!("unknown function `{name}` (prev, target, growth, members, abs, min, max)"));
            return None;
        }
    };
    if !(min_args..=max_args).contains(&args.len()) {
        let wanted = if name == "abs" { "one argument" } else { "two arguments or more" };
        e.at(span, format!("{name}() takes {wanted}"));
        return None;
    }
    let parsed: Vec<(Expr, Dim)> = parsed.into_iter().collect::<Option<_>>()?;
    let mut dim = Dim::Any;
    for (i, (_, d)) in parsed.iter().enumerate() {
        match dim.combine(Arith::Add, d) {
            Ok(joined) => dim = joined,
            Err(msg) => {
                e.at(&args[i].span(), format!("units do not agree: {msg}"));
                return None;
            }
        }
    }
    let exprs: Vec<Expr> = parsed.into_iter().map(|(x, _)| x).collect();
    let x = match name {
        "abs" => Expr::Abs(Box::new(exprs.into_iter().next().expect("one argument"))),
        "min" => Expr::Min(exprs),
        _ => Expr::Max(exprs),
    };
    Some((x, dim))
}

#[cfg(test)]
mod tests;
