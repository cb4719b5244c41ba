//! `yearbook explain`: the derivation of one printed figure, from the run's
//! outputs alone: each input with its file, line, byte, hash and the cell
//! as typed, the unit conversion, the formula with its numbers, the exact
//! quotient, the rounding rule and the printed value. For a total, whose
//! figure it is (reported for the parent, with its row, or summed), the
//! members' sum and the difference, what its growth compares (which
//! agencies, with the arithmetic), every contributing agency with its
//! figure and every missing one. For a rate
//! whose numerator and denominator the agency sent, the rate from its parts
//! (`rates`), each part with its source: the check of a sent rate, or the
//! figure of one it did not send.

use std::fmt::Write as _;

use serde::Serialize;

use crate::config::{Aggregation, Direction, Kind, YearOnYear};
use crate::decimal::{Decimal, Ratio, Rounding};
use crate::metrics::{self, Operand};
use crate::model::{NullReason, col, table};
use crate::rates;
use crate::readback::{Outputs, ReadError};

#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("no figure for {agency} {indicator} {year} in {dir}: neither the metrics nor the totals have that row")]
    NotFound { agency: String, indicator: String, year: i32, dir: String },
    #[error("{indicator} {year}: {metric} is not computed for this indicator ({why})")]
    NotApplicable { indicator: String, year: i32, metric: &'static str, why: &'static str },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Which {
    Completion,
    Growth,
    Change,
    /// A rate recomputed from its numerator and denominator.
    Rate,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Completion => "completion",
            Which::Growth => "growth",
            Which::Change => "change",
            Which::Rate => "rate",
        }
    }

    fn null_reason_column(self) -> &'static str {
        match self {
            Which::Completion => col::COMPLETION_NULL_REASON,
            Which::Growth => col::GROWTH_NULL_REASON,
            Which::Change => col::CHANGE_NULL_REASON,
            Which::Rate => col::RATE_FROM_PARTS_NULL_REASON,
        }
    }

    fn column(self) -> &'static str {
        match self {
            Which::Completion => col::COMPLETION_PCT,
            Which::Growth => col::GROWTH_PCT,
            Which::Change => col::CHANGE_PP,
            Which::Rate => col::RATE_FROM_PARTS,
        }
    }
}

/// Where a figure was read from.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    pub file: String,
    /// The line of a CSV file, the row of a workbook's sheet.
    pub line: i64,
    /// A CSV file's byte offset (a sheet has none).
    pub byte: Option<i64>,
    pub field: String,
    /// A workbook's sheet and the value's cell (`C7`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<String>,
    pub sha256: String,
}

/// One number a figure is computed from.
#[derive(Debug, Clone, Serialize)]
pub struct Input {
    pub role: String,
    pub agency: String,
    pub year: i32,
    /// In the indicator's base unit.
    pub value: Option<String>,
    pub unit: String,
    /// The cell as typed, its unit, and the conversion to the base unit.
    pub raw: Option<String>,
    pub unit_sent: Option<String>,
    pub conversion: Option<String>,
    pub source: Option<Source>,
}

/// The derivation of one printed percentage.
#[derive(Debug, Clone, Serialize)]
pub struct Derivation {
    pub metric: &'static str,
    pub column: &'static str,
    pub formula: String,
    pub inputs: Vec<Input>,
    /// The formula with the numbers filled in.
    pub computation: Option<String>,
    /// The exact quotient to at least 12 significant digits; `…` when it
    /// goes on.
    pub unrounded: Option<String>,
    pub rule: Rounding,
    pub decimals: u8,
    /// Recomputed here from the inputs, and as printed in the outputs.
    pub rounded: Option<String>,
    pub printed: Option<String>,
    pub null_reason: Option<String>,
    pub claimed: Option<String>,
    pub claim_matches: Option<bool>,
    /// What a reader should know besides (a derived rate says so).
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Contributor {
    pub agency: String,
    pub inputs: Vec<Input>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub run_id: String,
    pub agency: String,
    pub indicator: String,
    pub year: i32,
    /// `agency`: one agency's own figure; `total`: a parent's total.
    pub subject: &'static str,
    pub derivations: Vec<Derivation>,
    pub contributors: Vec<Contributor>,
    /// Agencies under the parent with no accepted figure this year
    /// (quarantined rows count here).
    pub missing: Vec<String>,
    /// A total's scope (口径): `None` for an agency's own figure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<TotalScope>,
    /// The review rules that read this figure (this year's evaluations,
    /// and next year's reading it as `prev`), from the `checks` table.
    pub checks: Vec<RuleCheck>,
}

/// One evaluation of a review rule that read the figure explained.
#[derive(Debug, Clone, Serialize)]
pub struct RuleCheck {
    pub rule: String,
    pub name_zh: String,
    pub severity: String,
    pub year: i32,
    pub expression: String,
    pub outcome: String,
    /// `left comparison right`, as evaluated.
    pub sides: Option<String>,
    pub not_evaluated_reason: Option<String>,
    pub explanation: Option<String>,
}

/// The evaluations of the review rules for `agency` that read `indicator`
/// of `year` (in `year`, or in `year + 1` as its previous year).
fn rule_checks(out: &Outputs, agency: &str, indicator: &str, year: i32) -> Result<Vec<RuleCheck>, ReadError> {
    let mut found = Vec::new();
    let read_here = format!("{indicator} {year} ");
    for y in [year, year + 1] {
        out.scan(table::CHECKS, Some(y), |y, b| {
            let (a, reads) = (b.text(col::AGENCY)?, b.text_list(col::FIGURES_READ)?);
            let text = |name| b.text(name);
            let (rule, name_zh, severity, expression) =
                (text(col::RULE)?, text(col::RULE_NAME_ZH)?, text(col::SEVERITY)?, text(col::EXPRESSION)?);
            let (outcome, op, left, right) =
                (text(col::CHECK_OUTCOME)?, text(col::COMPARISON)?, text(col::LEFT)?, text(col::RIGHT)?);
            let (why, note) = (text(col::NOT_EVALUATED_REASON)?, text(col::EXPLANATION)?);
            for i in 0..b.len() {
                if a(i) != Some(agency) || !reads(i).iter().any(|r| r.starts_with(&read_here)) {
                    continue;
                }
                let owned = |v: Option<&str>| v.map(str::to_owned).unwrap_or_default();
                found.push(RuleCheck {
                    rule: owned(rule(i)),
                    name_zh: owned(name_zh(i)),
                    severity: owned(severity(i)),
                    year: y,
                    expression: owned(expression(i)),
                    outcome: owned(outcome(i)),
                    sides: match (left(i), op(i), right(i)) {
                        (Some(l), Some(o), Some(r)) => Some(format!("{l} {o} {r}")),
                        _ => None,
                    },
                    not_evaluated_reason: why(i).map(str::to_owned),
                    explanation: note(i).map(str::to_owned),
                });
            }
            Ok(())
        })?;
    }
    Ok(found)
}

/// Whose figure a total is and what its growth compares.
#[derive(Debug, Clone, Serialize)]
pub struct TotalScope {
    /// `reported` (the figure sent for the parent) or `summed`.
    pub value_basis: String,
    /// The row(s) the reported figure is (a rate: its parts').
    pub reported: Vec<Input>,
    /// The members' sum (a ratio: their rate) and reported − that sum
    /// (本级及未分配).
    pub members_value: Option<String>,
    pub unallocated: Option<String>,
    /// `reported`, `comparable` or `none`.
    pub growth_basis: String,
    /// The contributors of both years that a comparable growth compares,
    /// and those of either year it leaves out.
    pub compared: Vec<String>,
    pub not_compared: Vec<String>,
    pub findings: Vec<String>,
    pub finding_detail: Option<String>,
}

/// One observation row, as the outputs hold it.
#[derive(Debug, Clone)]
struct Obs {
    agency: String,
    indicator: String,
    year: i32,
    value: Option<Decimal>,
    target: Option<Decimal>,
    unit: String,
    unit_sent: String,
    power: i64,
    value_raw: String,
    target_raw: Option<String>,
    source: Source,
}

impl Obs {
    fn input(&self, role: &str, target: bool) -> Input {
        let (value, raw) =
            if target { (self.target, self.target_raw.clone()) } else { (self.value, Some(self.value_raw.clone())) };
        let value = value.map(|v| v.trimmed().to_string());
        let conversion = match (&raw, &value) {
            (Some(raw), Some(v)) if self.power != 0 => {
                Some(format!("{raw} {} × 10^{} = {v} {}", self.unit_sent, self.power, self.unit))
            }
            (Some(raw), Some(v)) => Some(format!("{raw} {} = {v} {}", self.unit_sent, self.unit)),
            _ => None,
        };
        Input {
            role: role.to_owned(),
            agency: self.agency.clone(),
            year: self.year,
            value,
            unit: self.unit.clone(),
            raw,
            unit_sent: Some(self.unit_sent.clone()),
            conversion,
            // The target sits in the same record, in its own column.
            source: Some(Source {
                field: if target { String::new() } else { self.source.field.clone() },
                cell: if target { None } else { self.source.cell.clone() },
                ..self.source.clone()
            }),
        }
    }
}

/// Reads the observations of `year` that `keep` selects.
fn observations(out: &Outputs, year: i32, keep: impl Fn(&str, &str) -> bool) -> Result<Vec<Obs>, ReadError> {
    let mut found = Vec::new();
    out.scan(table::OBSERVATIONS, Some(year), |y, b| {
        let (agency, indicator) = (b.text(col::AGENCY)?, b.text(col::INDICATOR)?);
        let (value, target) = (b.decimal(col::VALUE)?, b.decimal(col::TARGET)?);
        let text = |name| Ok::<_, ReadError>(b.present(name, b.text(name)?));
        let int = |name| Ok::<_, ReadError>(b.present(name, b.int(name)?));
        let (unit, unit_sent, power) = (text(col::UNIT)?, text(col::UNIT_SENT)?, int(col::UNIT_POWER)?);
        let (value_raw, target_raw) = (text(col::VALUE_RAW)?, b.text(col::TARGET_RAW)?);
        let (file, sha, line, byte, field) = (
            text(col::SOURCE_FILE)?,
            text(col::SOURCE_SHA256)?,
            int(col::SOURCE_LINE)?,
            b.int(col::SOURCE_BYTE)?,
            text(col::SOURCE_FIELD)?,
        );
        let (sheet, cell) = (b.text(col::SOURCE_SHEET)?, b.text(col::SOURCE_CELL)?);
        let (agency, indicator) = (b.present(col::AGENCY, agency), b.present(col::INDICATOR, indicator));
        for i in 0..b.len() {
            let (a, ind) = (agency(i)?, indicator(i)?);
            if !keep(a, ind) {
                continue;
            }
            found.push(Obs {
                agency: a.to_owned(),
                indicator: ind.to_owned(),
                year: y,
                value: value(i),
                target: target(i),
                unit: unit(i)?.to_owned(),
                unit_sent: unit_sent(i)?.to_owned(),
                power: power(i)?,
                value_raw: value_raw(i)?.to_owned(),
                target_raw: target_raw(i).map(str::to_owned),
                source: Source {
                    file: file(i)?.to_owned(),
                    line: line(i)?,
                    byte: byte(i),
                    field: field(i)?.to_owned(),
                    sheet: sheet(i).map(str::to_owned),
                    cell: cell(i).map(str::to_owned),
                    sha256: sha(i)?.to_owned(),
                },
            });
        }
        Ok(())
    })?;
    Ok(found)
}

/// The printed row of a metrics or totals table, column by column.
#[derive(Debug, Default, Clone)]
struct Printed {
    kind: Option<Kind>,
    unit: String,
    /// An agency's row has its indicator's; a total's is looked up in a
    /// contributor's (the totals table has no such column).
    direction: Option<Direction>,
    aggregation: Option<Aggregation>,
    value: Option<Decimal>,
    target: Option<Decimal>,
    previous: Option<Decimal>,
    numerator: Option<Decimal>,
    denominator: Option<Decimal>,
    numerator_indicator: Option<String>,
    denominator_indicator: Option<String>,
    pct: [Option<Decimal>; 3],
    reasons: [Option<NullReason>; 3],
    claimed: [Option<Decimal>; 2],
    claim_ok: [Option<bool>; 2],
    contributors: Vec<String>,
    missing: Vec<String>,
    value_basis: Option<String>,
    reported_by: Option<String>,
    members_value: Option<Decimal>,
    unallocated: Option<Decimal>,
    growth_basis: Option<String>,
    compared: Option<Decimal>,
    not_compared: Vec<String>,
    findings: Vec<String>,
    finding_detail: Option<String>,
}

impl Printed {
    fn reported(&self) -> bool {
        self.value_basis.as_deref() == Some("reported")
    }

    fn basis(&self) -> &str {
        self.growth_basis.as_deref().unwrap_or("none")
    }
}

const WHICH: [Which; 3] = [Which::Completion, Which::Growth, Which::Change];

fn printed_row(
    out: &Outputs,
    table: &str,
    agency: &str,
    indicator: &str,
    year: i32,
) -> Result<Option<Printed>, ReadError> {
    let mut found = None;
    let totals = table == table::TOTALS;
    out.scan(table, Some(year), |_, b| {
        let (ag, ind) = (b.text(col::AGENCY)?, b.text(col::INDICATOR)?);
        let Some(i) = (0..b.len()).find(|&i| ag(i) == Some(agency) && ind(i) == Some(indicator)) else {
            return Ok(());
        };
        let mut p = Printed {
            kind: b.named(col::KIND)?(i)?,
            unit: b.present(col::UNIT, b.text(col::UNIT)?)(i)?.to_owned(),
            ..Printed::default()
        };
        for (k, w) in WHICH.iter().enumerate() {
            p.pct[k] = b.decimal(w.column())?(i);
            p.reasons[k] = b.named(w.null_reason_column())?(i)?;
        }
        p.target = b.decimal(col::TARGET)?(i);
        p.previous = b.decimal(col::PREVIOUS)?(i);
        if totals {
            p.aggregation = Some(b.named_present(col::AGGREGATION)?(i)?);
            p.value = b.decimal(col::VALUE_UNROUNDED)?(i);
            p.numerator = b.decimal(col::NUMERATOR)?(i);
            p.denominator = b.decimal(col::DENOMINATOR)?(i);
            p.numerator_indicator = b.text(col::NUMERATOR_INDICATOR)?(i).map(str::to_owned);
            p.denominator_indicator = b.text(col::DENOMINATOR_INDICATOR)?(i).map(str::to_owned);
            p.contributors = b.text_list(col::CONTRIBUTORS)?(i).into_iter().map(str::to_owned).collect();
            p.missing = b.text_list(col::MISSING)?(i).into_iter().map(str::to_owned).collect();
            let owned = |v: Option<&str>| v.map(str::to_owned);
            p.value_basis = owned(b.text(col::VALUE_BASIS)?(i));
            p.reported_by = owned(b.text(col::REPORTED_BY)?(i));
            p.members_value = b.decimal(col::MEMBERS_VALUE)?(i);
            p.unallocated = b.decimal(col::UNALLOCATED)?(i);
            p.growth_basis = owned(b.text(col::GROWTH_BASIS)?(i));
            p.compared = b.decimal(col::COMPARED)?(i);
            p.not_compared = b.text_list(col::NOT_COMPARED)?(i).into_iter().map(str::to_owned).collect();
            p.findings = b.text_list(col::FINDINGS)?(i).into_iter().map(str::to_owned).collect();
            p.finding_detail = owned(b.text(col::FINDING_DETAIL)?(i));
        } else {
            p.direction = Some(b.named_present(col::DIRECTION)?(i)?);
            p.value = b.decimal(col::ACTUAL)?(i);
            p.claimed = [b.decimal(col::CLAIMED_COMPLETION)?(i), b.decimal(col::CLAIMED_GROWTH)?(i)];
            p.claim_ok = [b.boolean(col::CLAIMED_COMPLETION_MATCHES)?(i), b.boolean(col::CLAIMED_GROWTH_MATCHES)?(i)];
        }
        found = Some(p);
        Ok(())
    })?;
    Ok(found)
}

/// `r` to at least 12 significant digits, cut (not rounded) and marked
/// with `…` when it goes on.
pub fn digits(r: Ratio) -> Option<String> {
    let mut scale = 12u8;
    loop {
        let cut = r.truncate(scale)?;
        if cut.digits() >= 12 || scale >= 30 {
            let shown = if r.exact_at(scale).is_some() { cut.trimmed().to_string() } else { format!("{cut}…") };
            return Some(shown);
        }
        scale += 12 - cut.digits() as u8;
    }
}

fn show(d: Option<Decimal>) -> String {
    d.map_or_else(|| "∅".to_owned(), |d| d.trimmed().to_string())
}

/// The exact figure and its computation, from the inputs, by the
/// pipeline's own rules (`crate::metrics`, `crate::rates`).
fn figure(
    which: Which,
    p: &Printed,
    previous: Option<Decimal>,
    prev_parts: Option<(Decimal, Decimal)>,
    decimals: u8,
    rule: Rounding,
) -> Option<(Ratio, String)> {
    let previous_or = previous.ok_or(NullReason::NoPrevious);
    match which {
        // From the `rates` table: see `rate_derivation`.
        Which::Rate => None,
        Which::Completion => {
            let direction = p.direction?;
            let (num, den) = metrics::completion_quotient(direction)?;
            let pick = |o| match o {
                Operand::Actual => p.value,
                Operand::Target => p.target,
            };
            let f = metrics::completion(p.value, p.target, direction, decimals, rule).ok()?;
            Some((f.exact, format!("{} / {} × 100", show(pick(num)), show(pick(den)))))
        }
        Which::Growth => {
            let f = metrics::growth(p.value, previous_or, p.kind?, decimals, rule).ok()?;
            let (a, b) = (show(p.value), show(previous));
            Some((f.exact, format!("({a} − {b}) / {b} × 100")))
        }
        Which::Change => match (p.numerator, p.denominator, prev_parts) {
            (Some(n), Some(d), Some((pn, pd))) => {
                let diff = rates::rate(n, d).ok()?.checked_sub(rates::rate(pn, pd).ok()?)?;
                let f = metrics::change_of(diff, decimals, rule).ok()?;
                let (n, d, pn, pd) = (show(Some(n)), show(Some(d)), show(Some(pn)), show(Some(pd)));
                Some((f.exact, format!("{n} / {d} × 100 − {pn} / {pd} × 100")))
            }
            _ => {
                let f = metrics::change(p.value, previous_or, p.kind?, decimals, rule).ok()?;
                Some((f.exact, format!("{} − {}", show(p.value), show(previous))))
            }
        },
    }
}

fn formula(which: Which, p: &Printed, total: bool) -> String {
    let ratio = p.aggregation == Some(Aggregation::Ratio);
    let (value, target) = match (total, ratio, p.reported()) {
        (false, ..) => ("actual", "target"),
        (true, true, true) => ("reported numerator / reported denominator × 100", "target"),
        (true, true, false) => ("Σ numerator / Σ denominator × 100", "target"),
        (true, false, true) => ("reported value", "reported target"),
        (true, false, false) => ("Σ value", "Σ target"),
    };
    // A total's growth: reported with reported, or over the contributors
    // of both years (同口径).
    let (now, before) = match (total, p.basis(), ratio) {
        (true, "comparable", false) => ("Σ compared", "the compared contributors' previous Σ"),
        (true, "comparable", true) => (
            "Σ compared numerator / Σ compared denominator × 100",
            "the same over the compared contributors' previous figures",
        ),
        (true, "reported", _) => (value, "previous year's reported"),
        _ => (value, "previous year's"),
    };
    match which {
        Which::Completion => match p.direction.and_then(metrics::completion_quotient) {
            Some((Operand::Target, _)) => format!("{target} / {value} × 100 (a smaller value is better)"),
            _ => format!("{value} / {target} × 100"),
        },
        Which::Growth => format!("({now} − {before}) / {before} × 100"),
        Which::Change => format!("{now} − {before} (percentage points)"),
        Which::Rate => "numerator / denominator × 100".to_owned(),
    }
}

/// The rows an agency's figures of `codes` come from in `year`: for a
/// total reported for, the reporting agency's rows (its totals row names
/// it); else its own.
fn figure_rows(out: &Outputs, agency: &str, codes: &[&str], year: i32) -> Result<Vec<Obs>, ReadError> {
    let mut rows = Vec::new();
    for code in codes {
        let from = match printed_row(out, table::TOTALS, agency, code, year)? {
            Some(t) if t.reported() => t.reported_by.unwrap_or_else(|| agency.to_owned()),
            _ => agency.to_owned(),
        };
        rows.extend(observations(out, year, |a, i| a == from && i == *code)?);
    }
    Ok(rows)
}

/// Σ of one indicator's values over some rows.
fn sum_of<'o>(rows: impl Iterator<Item = &'o Obs>, code: &str) -> Option<Decimal> {
    rows.filter(|o| o.indicator == code).filter_map(|o| o.value).try_fold(None, |acc: Option<Decimal>, v| {
        Some(Some(match acc {
            None => v,
            Some(a) => a.checked_add(v)?,
        }))
    })?
}

/// A row of the `rates` table.
struct RateRow {
    numerator_indicator: String,
    denominator_indicator: String,
    printed: Option<Decimal>,
    null_reason: Option<String>,
    sent: Option<Decimal>,
    matches: Option<bool>,
    derived: bool,
}

fn rate_row(out: &Outputs, agency: &str, indicator: &str, year: i32) -> Result<Option<RateRow>, ReadError> {
    let mut found = None;
    out.scan(table::RATES, Some(year), |_, b| {
        let (ag, ind) = (b.text(col::AGENCY)?, b.text(col::INDICATOR)?);
        let Some(i) = (0..b.len()).find(|&i| ag(i) == Some(agency) && ind(i) == Some(indicator)) else {
            return Ok(());
        };
        let text = |name| Ok::<_, ReadError>(b.present(name, b.text(name)?)(i)?.to_owned());
        let decimals = b.int(col::SENT_DECIMALS)?(i).and_then(|d| u8::try_from(d).ok());
        found = Some(RateRow {
            numerator_indicator: text(col::NUMERATOR_INDICATOR)?,
            denominator_indicator: text(col::DENOMINATOR_INDICATOR)?,
            printed: b.decimal(col::RATE_FROM_PARTS)?(i),
            null_reason: b.text(col::RATE_FROM_PARTS_NULL_REASON)?(i).map(str::to_owned),
            sent: b.decimal(col::SENT)?(i).zip(decimals).and_then(|(d, s)| d.rescale(s)),
            matches: b.boolean(col::MATCHES)?(i),
            derived: b.boolean(col::DERIVED)?(i).unwrap_or(false),
        });
        Ok(())
    })?;
    Ok(found)
}

/// The rate of `agency`'s `indicator` in `year` from its numerator and
/// denominator, each with its source.
fn rate_derivation(
    out: &Outputs,
    agency: &str,
    indicator: &str,
    year: i32,
    r: &RateRow,
) -> Result<Derivation, ReadError> {
    let parts = [r.numerator_indicator.as_str(), r.denominator_indicator.as_str()];
    let rows = observations(out, year, |a, i| a == agency && parts.contains(&i))?;
    let part = |code: &str| rows.iter().find(|o| o.indicator == code);
    let (num, den) = (part(parts[0]), part(parts[1]));
    let inputs = [(num, "numerator"), (den, "denominator")]
        .into_iter()
        .filter_map(|(o, role)| Some(o?.input(&format!("{role} {}", o?.indicator), false)))
        .collect();
    let rounding = &out.manifest.rounding;
    let decimals = rounding.indicators.get(indicator).and_then(|d| d.change).unwrap_or(0);
    let exact = num
        .and_then(|n| n.value)
        .zip(den.and_then(|d| d.value))
        .and_then(|(n, d)| Some((rates::rate(n, d).ok()?, format!("{} / {} × 100", show(Some(n)), show(Some(d))))));
    let note = r.derived.then(|| "derived: the agency sent no figure for the rate, only its parts".to_owned());
    Ok(Derivation {
        metric: Which::Rate.name(),
        column: Which::Rate.column(),
        formula: "numerator / denominator × 100 (the rate from the parts the agency sent)".to_owned(),
        inputs,
        computation: exact.as_ref().map(|(_, c)| c.clone()),
        unrounded: exact.as_ref().and_then(|(x, _)| digits(*x)),
        rule: rounding.rule,
        decimals,
        rounded: exact.as_ref().and_then(|(x, _)| x.round(decimals, rounding.rule)).map(|d| d.to_string()),
        printed: r.printed.and_then(|d| d.round(decimals, rounding.rule)).map(|d| d.to_string()),
        null_reason: r.null_reason.clone(),
        claimed: r.sent.map(|d| d.to_string()),
        claim_matches: r.matches,
        note,
    })
}

/// Explains the figures of `agency`'s `indicator` in `year` (`which`, or
/// every one that applies): the agency's own figure, or where it has none
/// or `total_only`, its total over the agencies under it; and a rate's
/// figure from its parts where the agency sent them.
pub fn explain(
    out: &Outputs,
    agency: &str,
    indicator: &str,
    year: i32,
    which: Option<Which>,
    total_only: bool,
) -> Result<Explanation, ExplainError> {
    let parts = if total_only { None } else { rate_row(out, agency, indicator, year)? };
    let figures = match which {
        Some(Which::Rate) => None,
        _ => match explain_figures(out, agency, indicator, year, which, total_only) {
            // A rate the agency did not send, only its parts.
            Err(ExplainError::NotFound { .. }) if parts.is_some() && which.is_none() => None,
            other => Some(other?),
        },
    };
    let rate = match (&parts, which) {
        (Some(r), None | Some(Which::Rate)) => Some(rate_derivation(out, agency, indicator, year, r)?),
        (None, Some(Which::Rate)) => {
            return Err(ExplainError::NotApplicable {
                indicator: indicator.to_owned(),
                year,
                metric: Which::Rate.name(),
                why: "the agency did not send both the rate's numerator and denominator that year",
            });
        }
        _ => None,
    };
    let mut e = figures.unwrap_or_else(|| Explanation {
        run_id: out.manifest.run_id.clone(),
        agency: agency.to_owned(),
        indicator: indicator.to_owned(),
        year,
        subject: "agency",
        derivations: Vec::new(),
        contributors: Vec::new(),
        missing: Vec::new(),
        scope: None,
        checks: Vec::new(),
    });
    e.derivations.extend(rate);
    e.checks = rule_checks(out, agency, indicator, year)?;
    Ok(e)
}

/// The printed row a figure is explained from: the agency's own, or where
/// it has none or `total_only`, its total, with the direction of its
/// indicator read from the metrics row of an agency that sent it (the
/// reporter, else a contributor); and whether it is a total.
fn printed_subject(
    out: &Outputs,
    agency: &str,
    indicator: &str,
    year: i32,
    total_only: bool,
) -> Result<(Printed, bool), ExplainError> {
    let own = if total_only { None } else { printed_row(out, table::METRICS, agency, indicator, year)? };
    let total = match own {
        Some(_) => None,
        None => printed_row(out, table::TOTALS, agency, indicator, year)?,
    };
    let (mut p, is_total) = match (own, total) {
        (Some(p), _) => (p, false),
        (None, Some(p)) => (p, true),
        (None, None) => {
            return Err(ExplainError::NotFound {
                agency: agency.to_owned(),
                indicator: indicator.to_owned(),
                year,
                dir: out.dir.display().to_string(),
            });
        }
    };
    // A total's direction is its indicator's: read from the metrics row of
    // an agency that sent it (the reporter, else a contributor).
    if is_total {
        for a in p.reported_by.iter().chain(&p.contributors).cloned().collect::<Vec<_>>() {
            let from = figure_rows(out, &a, &[indicator], year)?.pop().map_or(a, |o| o.agency);
            if let Some(m) = printed_row(out, table::METRICS, &from, indicator, year)? {
                p.direction = m.direction;
                break;
            }
        }
    }
    Ok((p, is_total))
}

fn explain_figures(
    out: &Outputs,
    agency: &str,
    indicator: &str,
    year: i32,
    which: Option<Which>,
    total_only: bool,
) -> Result<Explanation, ExplainError> {
    let (p, is_total) = printed_subject(out, agency, indicator, year, total_only)?;
    let ratio = p.aggregation == Some(Aggregation::Ratio);
    let rounding = &out.manifest.rounding;
    let decimals = rounding.indicators.get(indicator).copied();
    let rate = p.kind.is_some_and(|k| k.year_on_year() == YearOnYear::ChangePp);
    let wanted = wanted(which, rate, is_total && ratio).map_err(|(metric, why)| ExplainError::NotApplicable {
        indicator: indicator.to_owned(),
        year,
        metric,
        why,
    })?;

    // The rows the figures come from: the subject's own, or the
    // contributors' for a total (a member reported for: its reporter's).
    let prev_total = if is_total { printed_row(out, table::TOTALS, agency, indicator, year - 1)? } else { None };
    let (mut contributors, mut scope, mut compared) = (Vec::new(), None, None);
    let (this, before) = if is_total {
        let t = total_rows(out, &p, (agency, indicator, year), prev_total.as_ref())?;
        (contributors, scope, compared) = (t.contributors, Some(t.scope), t.compared);
        (t.this, t.before)
    } else {
        let this = observations(out, year, |a, i| a == agency && i == indicator)?.pop();
        let before = observations(out, year - 1, |a, i| a == agency && i == indicator)?.pop();
        (this, before)
    };
    let (compared_sums, compared_before) = (compared.map(|c| c.0), compared.map(|c| c.1));
    let previous = p.previous;
    let mut prev_parts = prev_total.as_ref().and_then(|t| Some((t.numerator?, t.denominator?)));
    // What a growth or change is computed from: for a comparable total,
    // the compared contributors' sums of both years.
    let mut q = p.clone();
    if let (Some(now), Some(then)) = (compared_sums, compared_before) {
        if ratio {
            q.numerator = now[0];
            q.denominator = now[1];
            prev_parts = then[0].zip(then[1]);
        } else {
            q.value = now[0];
        }
    }

    let mut derivations = Vec::new();
    for w in wanted {
        let k = WHICH.iter().position(|x| *x == w).expect("one of the three");
        let decimals = decimals.map_or(0, |d| match w {
            Which::Completion => d.completion,
            Which::Growth => d.growth,
            Which::Change | Which::Rate => d.change.unwrap_or(0),
        });
        let subject = Subject {
            p: &p,
            q: &q,
            agency,
            year,
            is_total,
            ratio,
            this: this.as_ref(),
            before: before.as_ref(),
            compared: compared_sums.zip(compared_before),
            prev_parts,
        };
        let inputs = subject.inputs(w);
        let rule = rounding.rule;
        let on = if w == Which::Completion { &p } else { &q };
        let computed = if p.reasons[k].is_some() { None } else { figure(w, on, previous, prev_parts, decimals, rule) };
        let claim = match w {
            Which::Completion => 0,
            _ => 1,
        };
        let rule = rounding.rule;
        derivations.push(Derivation {
            metric: w.name(),
            column: w.column(),
            formula: formula(w, &p, is_total),
            inputs,
            computation: computed.as_ref().map(|(_, c)| c.clone()),
            unrounded: computed.as_ref().and_then(|(r, _)| digits(*r)),
            rule,
            decimals,
            rounded: computed.as_ref().and_then(|(r, _)| r.round(decimals, rule)).map(|d| d.to_string()),
            printed: p.pct[k].and_then(|d| d.round(decimals, rule)).map(|d| d.to_string()),
            null_reason: p.reasons[k].map(|r| r.as_str().to_owned()),
            claimed: p.claimed[claim].map(|d| d.trimmed().to_string()),
            claim_matches: p.claim_ok[claim],
            note: None,
        });
    }
    Ok(Explanation {
        run_id: out.manifest.run_id.clone(),
        agency: agency.to_owned(),
        indicator: indicator.to_owned(),
        year,
        subject: if is_total { "total" } else { "agency" },
        derivations,
        contributors,
        missing: p.missing.clone(),
        scope,
        checks: Vec::new(),
    })
}

/// The figures `explain` shows (`which`, or every one that applies to a
/// rate or to another kind; a ratio total has no completion), or the one
/// asked for and why it does not apply.
fn wanted(which: Option<Which>, rate: bool, ratio_total: bool) -> Result<Vec<Which>, (&'static str, &'static str)> {
    match which {
        Some(w) => {
            let why = match w {
                Which::Growth if rate => Some("a rate has a change in percentage points instead"),
                Which::Change if !rate => Some("only rates have a change in percentage points"),
                Which::Completion if ratio_total => Some("targets of rates are not aggregated"),
                _ => None,
            };
            match why {
                Some(why) => Err((w.name(), why)),
                None => Ok(vec![w]),
            }
        }
        None => Ok(WHICH
            .into_iter()
            .filter(|w| if rate { *w != Which::Growth } else { *w != Which::Change })
            .filter(|w| !(ratio_total && *w == Which::Completion))
            .collect()),
    }
}

/// What one figure is explained from: the printed row (`p`), the same with
/// a comparable total's compared sums in place (`q`), the rows read.
struct Subject<'a> {
    p: &'a Printed,
    q: &'a Printed,
    agency: &'a str,
    year: i32,
    is_total: bool,
    ratio: bool,
    this: Option<&'a Obs>,
    before: Option<&'a Obs>,
    compared: Option<(Sums, Sums)>,
    prev_parts: Option<(Decimal, Decimal)>,
}

impl Subject<'_> {
    /// A number of the total's own (no row of a file behind it).
    /// `own_unit`: false for numerators and denominators, which are in
    /// their own indicators' units.
    fn total_input(&self, role: &str, v: Option<Decimal>, year: i32, own_unit: bool) -> Input {
        Input {
            role: role.to_owned(),
            agency: self.agency.to_owned(),
            year,
            value: v.map(|v| v.trimmed().to_string()),
            unit: if own_unit { self.p.unit.clone() } else { String::new() },
            raw: None,
            unit_sent: None,
            conversion: None,
            source: None,
        }
    }

    /// The inputs of figure `w`: rows of files, or a total's sums.
    fn inputs(&self, w: Which) -> Vec<Input> {
        let (p, year) = (self.p, self.year);
        let (this, before) = (self.this, self.before);
        let mut inputs = Vec::new();
        let comparable = self.is_total && p.basis() == "comparable";
        match (self.is_total, w) {
            (false, Which::Completion) => {
                inputs.extend(this.map(|o| o.input("actual", false)));
                inputs.extend(this.filter(|o| o.target.is_some()).map(|o| o.input("target", true)));
            }
            (false, _) => {
                inputs.extend(this.map(|o| o.input("actual", false)));
                inputs.extend(before.map(|o| o.input("previous", false)));
            }
            (true, Which::Completion) if p.reported() => {
                inputs.extend(this.map(|o| o.input("reported value", false)));
                inputs.extend(this.filter(|o| o.target.is_some()).map(|o| o.input("reported target", true)));
            }
            (true, Which::Completion) => {
                inputs.push(self.total_input("Σ value", p.value, year, true));
                inputs.push(self.total_input("Σ target", p.target, year, true));
            }
            (true, _) if comparable && self.ratio => {
                let (now, then) = self.compared.unwrap_or_default();
                inputs.push(self.total_input("Σ compared numerator", now[0], year, false));
                inputs.push(self.total_input("Σ compared denominator", now[1], year, false));
                inputs.push(self.total_input("previous Σ compared numerator", then[0], year - 1, false));
                inputs.push(self.total_input("previous Σ compared denominator", then[1], year - 1, false));
            }
            (true, _) if comparable => {
                inputs.push(self.total_input("Σ compared", self.q.value, year, true));
                inputs.push(self.total_input("previous Σ compared", p.previous, year - 1, true));
            }
            (true, _) if p.reported() && !self.ratio => {
                inputs.extend(this.map(|o| o.input("reported", false)));
                inputs.extend(before.map(|o| o.input("previous year's reported", false)));
            }
            (true, _) if self.ratio => {
                let prev = self.prev_parts;
                inputs.push(self.total_input("numerator", p.numerator, year, false));
                inputs.push(self.total_input("denominator", p.denominator, year, false));
                inputs.push(self.total_input("previous numerator", prev.map(|x| x.0), year - 1, false));
                inputs.push(self.total_input("previous denominator", prev.map(|x| x.1), year - 1, false));
            }
            (true, _) => {
                inputs.push(self.total_input("value", p.value, year, true));
                inputs.push(self.total_input("previous", p.previous, year - 1, true));
            }
        }
        inputs
    }
}

/// A figure's part in a total: the value, or a rate's numerator or
/// denominator.
fn role_of<'a>(o: &Obs, parts: &[Option<String>; 2]) -> &'a str {
    if Some(&o.indicator) == parts[0].as_ref() {
        "numerator"
    } else if Some(&o.indicator) == parts[1].as_ref() {
        "denominator"
    } else {
        "value"
    }
}

/// Σ value (or Σ numerator, Σ denominator of a rate) over some rows.
type Sums = [Option<Decimal>; 2];

/// What a total's explanation reads beyond its printed row.
struct TotalRows {
    contributors: Vec<Contributor>,
    scope: TotalScope,
    /// The compared contributors' sums this year and the year before.
    compared: Option<(Sums, Sums)>,
    /// The reported row, this year's and (reported basis) last year's.
    this: Option<Obs>,
    before: Option<Obs>,
}

/// A total's rows: each contributor's (a member reported for: its
/// reporter's), the reported row, and for a comparable growth the
/// compared contributors' sums of both years, from their rows.
fn total_rows(
    out: &Outputs,
    p: &Printed,
    (agency, indicator, year): (&str, &str, i32),
    prev_total: Option<&Printed>,
) -> Result<TotalRows, ReadError> {
    let parts = [p.numerator_indicator.clone(), p.denominator_indicator.clone()];
    let codes: Vec<&str> = std::iter::once(indicator).chain(parts.iter().flatten().map(String::as_str)).collect();
    let mut contributors = Vec::new();
    let mut this_rows: Vec<(String, Vec<Obs>)> = Vec::new();
    for c in &p.contributors {
        let rows = figure_rows(out, c, &codes, year)?;
        let inputs = rows
            .iter()
            .flat_map(|o| {
                let role = role_of(o, &parts);
                let role = if &o.agency == c { role.to_owned() } else { format!("{role} reported for {c}") };
                let target = (role == "value" && o.target.is_some()).then(|| o.input("target", true));
                std::iter::once(o.input(&role, false)).chain(target)
            })
            .collect();
        contributors.push(Contributor { agency: c.clone(), inputs });
        this_rows.push((c.clone(), rows));
    }
    let reported = if p.reported() { figure_rows(out, agency, &codes, year)? } else { Vec::new() };
    let before_contributors = prev_total.map(|t| t.contributors.clone()).unwrap_or_default();
    let compared: Vec<String> = if p.basis() == "comparable" {
        p.contributors.iter().filter(|c| before_contributors.contains(c)).cloned().collect()
    } else {
        Vec::new()
    };
    let sums = |rows: &[&Obs]| match (&parts[0], &parts[1]) {
        (Some(n), Some(d)) => [sum_of(rows.iter().copied(), n), sum_of(rows.iter().copied(), d)],
        _ => [sum_of(rows.iter().copied(), indicator), None],
    };
    let mut compared_sums = None;
    if !compared.is_empty() {
        let mut then_rows = Vec::new();
        for c in &compared {
            then_rows.extend(figure_rows(out, c, &codes, year - 1)?);
        }
        let now_rows: Vec<&Obs> =
            this_rows.iter().filter(|(c, _)| compared.contains(c)).flat_map(|(_, r)| r.iter()).collect();
        compared_sums = Some((sums(&now_rows), sums(&then_rows.iter().collect::<Vec<_>>())));
    }
    let reported_inputs = reported
        .iter()
        .flat_map(|o| {
            let role = format!("reported {}", role_of(o, &parts));
            let target =
                (role_of(o, &parts) == "value" && o.target.is_some()).then(|| o.input("reported target", true));
            std::iter::once(o.input(&role, false)).chain(target)
        })
        .collect();
    let scope = TotalScope {
        value_basis: p.value_basis.clone().unwrap_or_default(),
        reported: reported_inputs,
        members_value: p.members_value.map(|v| v.trimmed().to_string()),
        unallocated: p.unallocated.map(|v| v.trimmed().to_string()),
        growth_basis: p.basis().to_owned(),
        compared,
        not_compared: p.not_compared.clone(),
        findings: p.findings.clone(),
        finding_detail: p.finding_detail.clone(),
    };
    let this = reported.into_iter().find(|o| o.indicator == indicator);
    let before = if p.basis() == "reported" { figure_rows(out, agency, &[indicator], year - 1)?.pop() } else { None };
    Ok(TotalRows { contributors, scope, compared: compared_sums, this, before })
}

fn write_input(s: &mut String, i: &Input) {
    let _ = write!(
        s,
        "  {:<22} {} {}",
        format!("{} ({} {})", i.role, i.agency, i.year),
        i.value.as_deref().unwrap_or("∅"),
        i.unit
    );
    if let Some(c) = &i.conversion {
        let _ =
            write!(s, "   typed {:?} in {}: {c}", i.raw.as_deref().unwrap_or(""), i.unit_sent.as_deref().unwrap_or(""));
    }
    s.push('\n');
    if let Some(src) = &i.source {
        let field =
            if src.field.is_empty() { "its target column".to_owned() } else { format!("field {:?}", src.field) };
        let at = match (&src.sheet, &src.cell, src.byte) {
            (Some(sheet), Some(cell), _) => format!("sheet {sheet:?}, cell {cell}"),
            (Some(sheet), None, _) => format!("sheet {sheet:?}, row {}", src.line),
            (None, _, Some(byte)) => format!("line {}, byte {byte}", src.line),
            (None, _, None) => format!("line {}", src.line),
        };
        let _ = writeln!(s, "  {:<22} {} {at}, {field}, sha256 {}", "", src.file, src.sha256);
    }
}

/// Whose figure a total is, and what its growth compares.
fn render_scope(s: &mut String, sc: &TotalScope) {
    let _ = writeln!(s, "\nscope (口径): {}", sc.value_basis);
    for i in &sc.reported {
        write_input(s, i);
    }
    let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "∅".to_owned());
    if sc.value_basis == "reported" {
        let _ = writeln!(s, "  members' sum (下级合计)         {}", show(&sc.members_value));
        let _ = writeln!(s, "  difference (本级及未分配)       {}", show(&sc.unallocated));
    }
    let basis = match sc.growth_basis.as_str() {
        "reported" => "reported: this year's reported figure against the previous year's",
        "comparable" => "comparable (同口径): the contributors with a figure in both years",
        _ => "none: nothing compared",
    };
    let _ = writeln!(s, "growth basis: {basis}");
    if !sc.compared.is_empty() {
        let _ = writeln!(s, "  compared ({}): {}", sc.compared.len(), sc.compared.join(" "));
    }
    if !sc.not_compared.is_empty() {
        let _ = writeln!(s, "  left out of the comparison ({}): {}", sc.not_compared.len(), sc.not_compared.join(" "));
    }
    if !sc.findings.is_empty() {
        let _ = writeln!(s, "findings: {}", sc.findings.join(", "));
        if let Some(d) = &sc.finding_detail {
            let _ = writeln!(s, "  {d}");
        }
    }
}

/// The explanation as text for people.
pub fn render(e: &Explanation) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} {} {} ({}; run {})",
        e.agency,
        e.indicator,
        e.year,
        match (&e.scope, e.subject) {
            (Some(sc), _) if sc.value_basis == "reported" => "total: the figure reported for it, as published",
            (_, "total") => "total of the agencies under it",
            _ => "the agency's own figure",
        },
        e.run_id
    );
    if let Some(sc) = &e.scope {
        render_scope(&mut s, sc);
    }
    for d in &e.derivations {
        let _ = writeln!(s, "\n{} ({}) = {}", d.metric, d.column, d.formula);
        for i in &d.inputs {
            write_input(&mut s, i);
        }
        match (&d.computation, &d.unrounded) {
            (Some(c), Some(u)) => {
                let _ = writeln!(s, "  = {c}\n  = {u}");
                let _ = writeln!(
                    s,
                    "  → {} (rounded {} to {} decimal{})",
                    d.rounded.as_deref().unwrap_or("∅"),
                    d.rule,
                    d.decimals,
                    if d.decimals == 1 { "" } else { "s" }
                );
            }
            _ => {
                let _ = writeln!(s, "  not computed: {}", d.null_reason.as_deref().unwrap_or("no inputs"));
            }
        }
        let _ = writeln!(s, "  printed in {}: {}", d.column, d.printed.as_deref().unwrap_or("∅"));
        if let Some(note) = &d.note {
            let _ = writeln!(s, "  {note}");
        }
        if d.rounded.is_some() && d.rounded != d.printed {
            let _ = writeln!(s, "  !! the printed figure differs from the one recomputed here");
        }
        if let Some(c) = &d.claimed {
            let verdict = match d.claim_matches {
                Some(true) => "matches at its own precision",
                Some(false) => "does not match (see the claims table)",
                None => "not comparable",
            };
            let _ = writeln!(s, "  claimed by the agency: {c} ({verdict})");
        }
    }
    if !e.checks.is_empty() {
        let _ = writeln!(s, "\nreview rules (审核) that read it:");
        for c in &e.checks {
            let how = match (&c.sides, &c.not_evaluated_reason) {
                (Some(sides), _) => sides.clone(),
                (None, Some(why)) => why.clone(),
                (None, None) => String::new(),
            };
            let _ = writeln!(s, "  {} {} ({}, {}): {}: {how}", c.rule, c.name_zh, c.severity, c.year, c.outcome);
            if let Some(note) = &c.explanation {
                let _ = writeln!(s, "    explained: {note}");
            }
        }
    }
    if e.subject == "total" {
        let _ = writeln!(s, "\ncontributors ({}):", e.contributors.len());
        for c in &e.contributors {
            for i in &c.inputs {
                write_input(&mut s, i);
            }
        }
        let _ = writeln!(
            s,
            "missing ({}): {}",
            e.missing.len(),
            if e.missing.is_empty() { "none".to_owned() } else { e.missing.join(" ") }
        );
        if !e.missing.is_empty() {
            let _ = writeln!(s, "  (no accepted figure this year: not sent, or quarantined; see quarantine.csv)");
        }
    }
    s
}
