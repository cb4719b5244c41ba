//! Claims: the completion and growth figures an agency printed itself,
//! checked against the computed ones at the claim's own precision, and for
//! each mismatch the likeliest way it was arrived at.
//!
//! A claim of 107.5 has one decimal: it matches every computed value that
//! rounds to 107.5 by the pipeline's rule. A claimed growth is compared with
//! the growth in percent, or for a rate with the change in percentage
//! points. A mismatch is diagnosed by recomputing the figure the ways
//! agencies are known to get it wrong, first fit wins:
//!
//! 1. `rounded_inputs`: from the inputs as published, rounded in the unit
//!    they were sent in or in a coarser prefix of the unit table, coarsest
//!    first (37.6万 / 35万 × 100 = 107.4, where
//!    the exact 376200 / 350000 gives 107.5);
//! 2. `percent_for_points` / `points_for_percent`: a rate's relative growth
//!    given where its change in points was due, or the reverse;
//! 3. `rounding_rule`: the other half rule, or digits cut instead of
//!    rounded;
//! 4. `base_year`: growth against an earlier year than the previous one;
//! 5. `inverted`: completion as target / actual where actual / target was
//!    due, or the reverse.
//!
//! A rate sent with its numerator and denominator is checked the same way
//! against their quotient (`rate_from_parts`, see `crate::rates`); a
//! mismatch there is first `rounded_parts` (the parts were sent rounded,
//! 0.29万 / 0.33万, and the rate lies in the range they allow: it was
//! likely computed from the unrounded figures), then `rounded_inputs` (the
//! parts rounded harder, as published), `rounding_rule`, `inverted`,
//! `fraction_for_percent` (0.972 for 97.2 %) or `wrong_denominator` (the
//! previous year's, the sum of the parts, or their difference).
//!
//! Pure: nothing here reads or writes files.

use crate::config::{Catalog, Rules, Units, YearOnYear};
use crate::decimal::{Decimal, Ratio, Rounding};
use crate::metrics::{self, Metric, Operand};
use crate::model::{Key, NullReason, Observation, Origin, Outcome, at_claim_precision, col, matches_claim, row_of};
use crate::rates::{self, PartsRate};
use serde::Serialize;

use crate::reject::Detail;

/// Which printed figure a claim is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Against {
    CompletionPct,
    GrowthPct,
    ChangePp,
    /// A sent rate against its numerator / denominator × 100.
    RateFromParts,
}

impl Against {
    pub fn as_str(self) -> &'static str {
        match self {
            Against::CompletionPct => col::COMPLETION_PCT,
            Against::GrowthPct => col::GROWTH_PCT,
            Against::ChangePp => col::CHANGE_PP,
            Against::RateFromParts => col::RATE_FROM_PARTS,
        }
    }

    /// The figure the agency printed: the claims table's `claim`.
    pub fn claim(self) -> &'static str {
        match self {
            Against::CompletionPct => "completion",
            Against::GrowthPct | Against::ChangePp => "growth",
            Against::RateFromParts => "rate",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Against::CompletionPct => "完成率(%)",
            Against::GrowthPct => "同比增长(%)",
            Against::ChangePp => "同比变化(百分点)",
            Against::RateFromParts => "比率(%)，按分子分母核算",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cause {
    RoundedInputs,
    PercentForPoints,
    PointsForPercent,
    RoundingRule,
    BaseYear,
    Inverted,
    RoundedParts,
    FractionForPercent,
    WrongDenominator,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::RoundedInputs => "rounded_inputs",
            Cause::PercentForPoints => "percent_for_points",
            Cause::PointsForPercent => "points_for_percent",
            Cause::RoundingRule => "rounding_rule",
            Cause::BaseYear => "base_year",
            Cause::Inverted => "inverted",
            Cause::RoundedParts => "rounded_parts",
            Cause::FractionForPercent => "fraction_for_percent",
            Cause::WrongDenominator => "wrong_denominator",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Cause::RoundedInputs => "按修约后的发布数计算",
            Cause::PercentForPoints => "应报百分点却报了百分比",
            Cause::PointsForPercent => "应报百分比却报了百分点",
            Cause::RoundingRule => "修约规则不同",
            Cause::BaseYear => "基期年份不同",
            Cause::Inverted => "分子分母颠倒",
            Cause::RoundedParts => "分子分母报的是修约数，比率在其修约误差之内",
            Cause::FractionForPercent => "报了比值而非百分比",
            Cause::WrongDenominator => "分母口径不同",
        }
    }
}

/// How a mismatched claim was most likely computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub cause: Cause,
    /// The recomputation that gives the claim, with its numbers.
    pub detail: Detail,
}

/// One claim and what the check found.
#[derive(Debug, Clone)]
pub struct ClaimCheck {
    /// The claiming row's key and origin.
    pub key: Key,
    pub origin: Origin,
    pub against: Against,
    pub claimed: Decimal,
    /// The computed figure at the claim's precision, or why there is none.
    pub computed: Result<Decimal, NullReason>,
    pub unrounded: Option<Decimal>,
    pub matches: Option<bool>,
    pub diagnosis: Option<Diagnosis>,
}

/// Every claim of `current` (sorted by key, as [`crate::metrics::compute`]
/// takes it), with `metrics` in the same order, and every rate it sent
/// with its parts (`rates`). Each claim is matched here, once: the
/// metrics' flags (`completion_claim_ok`, `growth_claim_ok`,
/// `rate_matches_parts`) and each rate's `matches` are set from the checks.
pub fn check(
    current: &[Observation],
    metrics: &mut [Metric],
    rates: &mut [PartsRate],
    rules: Rules<'_>,
    units: &Units,
) -> Vec<ClaimCheck> {
    let p = &Checker { catalog: rules.catalog, units, rounding: rules.rounding.rule };
    let mut out = Vec::new();
    for (i, (o, m)) in current.iter().zip(metrics).enumerate() {
        let ind = p.catalog.indicator(o.key.indicator);
        let kind = ind.kind;
        if let Some(claimed) = o.claimed_completion {
            let diagnose = |fig: &Outcome| diagnose(current, i, Against::CompletionPct, claimed, fig, p);
            let c = check_one(o, Against::CompletionPct, claimed, &m.completion, p, diagnose);
            m.completion_claim_ok = c.matches;
            out.push(c);
        }
        if let Some(claimed) = o.claimed_growth {
            let (against, fig) = match kind.year_on_year() {
                YearOnYear::GrowthPct => (Against::GrowthPct, &m.growth),
                YearOnYear::ChangePp => (Against::ChangePp, &m.change),
            };
            let c = check_one(o, against, claimed, fig, p, |fig| diagnose(current, i, against, claimed, fig, p));
            m.growth_claim_ok = c.matches;
            out.push(c);
        }
        if let Some(at) = rates::position(rates, o.key, ind)
            && let Some(sent) = rates[at].sent
        {
            let r = &rates[at];
            let diagnose = |fig: &Outcome| diagnose_rate(current, r, sent.value, fig, p);
            let c = check_one(o, Against::RateFromParts, sent.value, &r.figure, p, diagnose);
            (m.rate_matches_parts, rates[at].matches) = (c.matches, c.matches);
            out.push(c);
        }
    }
    out
}

/// What checking and diagnosing a claim looks up: indicators, the unit
/// table's prefixes (a claim computed from figures published in 万) and the
/// rounding rule.
struct Checker<'a> {
    catalog: &'a Catalog,
    units: &'a Units,
    rounding: Rounding,
}

/// Checks one claimed figure against the computed `fig`; `diagnose` says how
/// a mismatch came about.
fn check_one(
    o: &Observation,
    against: Against,
    claimed: Decimal,
    fig: &Outcome,
    p: &Checker<'_>,
    diagnose: impl FnOnce(&Outcome) -> Option<Diagnosis>,
) -> ClaimCheck {
    let rule = p.rounding;
    let computed = fig
        .as_ref()
        .map_err(|r| *r)
        .and_then(|f| at_claim_precision(f.exact, claimed, rule).ok_or(NullReason::Overflow));
    let matches = computed.as_ref().ok().map(|c| *c == claimed);
    let diagnosis = match matches {
        Some(false) => diagnose(fig),
        _ => None,
    };
    ClaimCheck {
        key: o.key,
        origin: o.origin,
        against,
        claimed,
        computed,
        unrounded: fig.as_ref().ok().map(|f| f.unrounded),
        matches,
        diagnosis,
    }
}

/// Claims per outcome, for the manifest and the run's last line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ClaimOutcomes {
    pub checked: u64,
    pub matched: u64,
    pub mismatched: u64,
    /// Mismatches with a diagnosis.
    pub diagnosed: u64,
    /// Claims with nothing computed to compare with.
    pub not_comparable: u64,
}

impl ClaimOutcomes {
    pub fn of(checks: &[ClaimCheck]) -> ClaimOutcomes {
        let mut n = ClaimOutcomes::default();
        for c in checks {
            n.checked += 1;
            match c.matches {
                Some(true) => n.matched += 1,
                Some(false) => {
                    n.mismatched += 1;
                    n.diagnosed += u64::from(c.diagnosis.is_some());
                }
                None => n.not_comparable += 1,
            }
        }
        n
    }

    pub fn add(&mut self, o: ClaimOutcomes) {
        self.checked += o.checked;
        self.matched += o.matched;
        self.mismatched += o.mismatched;
        self.diagnosed += o.diagnosed;
        self.not_comparable += o.not_comparable;
    }
}

fn show(r: Ratio) -> String {
    r.round(6, Rounding::HalfUp).map_or_else(|| "…".to_owned(), |d| d.trimmed().to_string())
}

fn percent(a: Decimal, b: Decimal) -> Option<Ratio> {
    Ratio::new(a, b)?.times(100)
}

fn growth_pct(actual: Decimal, previous: Decimal) -> Option<Ratio> {
    metrics::growth_exact(actual, previous).ok()
}

fn points(actual: Decimal, previous: Decimal) -> Option<Ratio> {
    metrics::change_exact(actual, previous).ok()
}

/// A base-unit value as published in a unit of 10^power, rounded half up
/// to `decimals` there, and back in base units.
fn published(v: Decimal, power: u32, decimals: u8) -> Option<(Decimal, Decimal)> {
    let in_unit = Decimal::new(v.mantissa(), v.scale().checked_add(u8::try_from(power).ok()?)?);
    let shown = in_unit.round(decimals, Rounding::HalfUp)?;
    Some((shown.trimmed(), shown.checked_mul_pow10(power)?))
}

/// What a recomputation computed, as a diagnosis says it.
#[derive(Debug, Clone, Copy)]
struct Op {
    en: &'static str,
    zh: &'static str,
}

impl Op {
    const RATE: Op = Op { en: "numerator / denominator × 100", zh: "分子 / 分母 × 100" };
    const COMPLETION: Op = Op { en: "ratio × 100", zh: "完成率" };
    const GROWTH: Op = Op { en: "growth", zh: "同比增长" };
    const CHANGE: Op = Op { en: "change", zh: "同比变化" };
}

/// Both figures published at fewer decimals, in the unit sent or in a
/// coarser prefix of the unit table (37.6万 for 376200 人), give the claim
/// through `f`.
fn rounded_inputs(
    o: &Observation,
    p: &Checker<'_>,
    (a, b): (Decimal, Decimal),
    claimed: Decimal,
    f: impl Fn(Decimal, Decimal) -> Option<Ratio>,
    op: Op,
) -> Option<Diagnosis> {
    let (rule, base) = (p.rounding, &p.catalog.indicator(o.key.indicator).base_unit);
    let sent = std::iter::once((o.unit.to_string(), o.power));
    let coarser =
        p.units.coarser_prefixes(o.power).into_iter().map(|(prefix, power)| (format!("{prefix}{base}"), power));
    for (unit, power) in sent.chain(coarser) {
        // Coarsest first: published figures are rounded hard (37.6万).
        for decimals in 0..=3u8 {
            let ((a_shown, a2), (b_shown, b2)) = (published(a, power, decimals)?, published(b, power, decimals)?);
            if (a2 == a && b2 == b) || a2.is_zero() || b2.is_zero() {
                continue;
            }
            let Some(r) = f(a2, b2) else { continue };
            if matches_claim(r, claimed, rule) {
                let r = show(r);
                let detail = Detail::new(
                    format!(
                        "{} from {a_shown}{unit} and {b_shown}{unit} (the figures rounded to {decimals} decimal{} in {unit}) = {r} → {claimed}",
                        op.en,
                        if decimals == 1 { "" } else { "s" },
                    ),
                    format!(
                        "以 {a_shown}{unit} 和 {b_shown}{unit}（按 {unit} 保留 {decimals} 位小数后的数）计算{}：{r} → {claimed}",
                        op.zh
                    ),
                );
                return Some(Diagnosis { cause: Cause::RoundedInputs, detail });
            }
        }
    }
    None
}

fn other_rules(exact: Ratio, claimed: Decimal, rule: Rounding) -> Option<Diagnosis> {
    let other = match rule {
        Rounding::HalfUp => Rounding::HalfEven,
        Rounding::HalfEven => Rounding::HalfUp,
    };
    let (x, d) = (show(exact), claimed.scale());
    let detail = if matches_claim(exact, claimed, other) {
        Detail::new(
            format!("{x} rounded {} gives {claimed}; the pipeline rounds {}", other.name(), rule.name()),
            format!("{x} 按 {} 修约得 {claimed}；本系统按 {} 修约", other.name(), rule.name()),
        )
    } else if exact.truncate(d) == Some(claimed) {
        Detail::new(
            format!("{x} with the digits past {d} decimals cut gives {claimed}"),
            format!("{x} 直接截去第 {d} 位小数之后的数字得 {claimed}"),
        )
    } else {
        return None;
    };
    Some(Diagnosis { cause: Cause::RoundingRule, detail })
}

/// How a sent rate that is not its numerator / denominator × 100 came
/// about.
fn diagnose_rate(
    current: &[Observation],
    r: &PartsRate,
    claimed: Decimal,
    fig: &Outcome,
    p: &Checker<'_>,
) -> Option<Diagnosis> {
    let rule = p.rounding;
    let exact = fig.as_ref().ok()?.exact;
    let (n, d) = (r.numerator.value, r.denominator.value);
    let find = |key: Key| row_of(current, key);
    let numerator = find(Key { indicator: p.catalog.indicator(r.key.indicator).numerator?, ..r.key })?;
    // `what` is a formula with numbers: the same in both languages.
    let diagnosis = |cause, what: String, alt: Ratio| {
        matches_claim(alt, claimed, rule).then(|| {
            let text = format!("{what} = {} → {claimed}", show(alt));
            Diagnosis { cause, detail: Detail::new(text.clone(), text) }
        })
    };
    let (shown_n, shown_d) = (n.trimmed(), d.trimmed());
    rounded_parts(r, claimed, rule)
        .or_else(|| rounded_inputs(numerator, p, (n, d), claimed, percent, Op::RATE))
        .or_else(|| other_rules(exact, claimed, rule))
        .or_else(|| diagnosis(Cause::Inverted, format!("{shown_d} / {shown_n} × 100"), percent(d, n)?))
        .or_else(|| diagnosis(Cause::FractionForPercent, format!("{shown_n} / {shown_d}"), Ratio::new(n, d)?))
        .or_else(|| {
            let denominator = p.catalog.indicator(r.key.indicator).denominator?;
            let before = find(Key { indicator: denominator, year: r.key.year - 1, ..r.key }).and_then(|o| o.value);
            let year = r.key.year - 1;
            let others = [
                (before, format!("the denominator of {year}"), format!("{year} 年的分母")),
                (n.checked_add(d), "numerator + denominator".to_owned(), "分子 + 分母".to_owned()),
                (d.checked_sub(n), "denominator − numerator".to_owned(), "分母 − 分子".to_owned()),
            ];
            others.into_iter().find_map(|(other, en, zh)| {
                let (other, alt) = (other?.trimmed(), percent(n, other?)?);
                matches_claim(alt, claimed, rule).then(|| {
                    let alt = show(alt);
                    Diagnosis {
                        cause: Cause::WrongDenominator,
                        detail: Detail::new(
                            format!("{shown_n} / {other} ({en}) × 100 = {alt} → {claimed}"),
                            format!("{shown_n} / {other}（{zh}）× 100 = {alt} → {claimed}"),
                        ),
                    }
                })
            })
        })
}

/// Parts sent rounded allow a range of rates: the least numerator over the
/// greatest denominator to the reverse. A sent rate in that range, at its
/// precision, fits the parts as well as they were sent.
fn rounded_parts(r: &PartsRate, claimed: Decimal, rule: Rounding) -> Option<Diagnosis> {
    let (n, d) = (r.numerator, r.denominator);
    if n.rounding.is_zero() && d.rounding.is_zero() {
        return None;
    }
    let zero = Decimal::new(0, 0);
    let least = n.value.checked_sub(n.rounding)?.max(zero);
    let (most_d, least_d) = (d.value.checked_add(d.rounding)?, d.value.checked_sub(d.rounding)?);
    if least_d <= zero {
        return None;
    }
    let (lo, hi) = (percent(least, most_d)?, percent(n.value.checked_add(n.rounding)?, least_d)?);
    let fits = lo.round(claimed.scale(), rule)? <= claimed && claimed <= hi.round(claimed.scale(), rule)?;
    fits.then(|| {
        let (nv, nr, dv, dr) = (n.value.trimmed(), n.rounding.trimmed(), d.value.trimmed(), d.rounding.trimmed());
        let (lo, hi) = (show(lo), show(hi));
        Diagnosis {
            cause: Cause::RoundedParts,
            detail: Detail::new(
                format!("the parts were sent rounded ({nv} ± {nr} over {dv} ± {dr}): any rate from {lo} to {hi} fits them → {claimed}"),
                format!("分子、分母报送时已修约（{nv} ± {nr}，{dv} ± {dr}）：{lo} 至 {hi} 之间的比率都与之相符 → {claimed}"),
            ),
        }
    })
}

fn diagnose(
    current: &[Observation],
    i: usize,
    against: Against,
    claimed: Decimal,
    fig: &Outcome,
    p: &Checker<'_>,
) -> Option<Diagnosis> {
    let o = &current[i];
    let rule = p.rounding;
    let ind = p.catalog.indicator(o.key.indicator);
    let exact = fig.as_ref().ok()?.exact;
    let actual = o.value?;
    // Earlier years of the same agency and indicator, nearest first.
    let earlier = current[..i]
        .iter()
        .rev()
        .take_while(|e| e.key.agency == o.key.agency && e.key.indicator == o.key.indicator)
        .filter_map(|e| Some((e.key.year, e.value?)));
    match against {
        // Diagnosed by `diagnose_rate`, which knows the parts.
        Against::RateFromParts => None,
        Against::CompletionPct => {
            let target = o.target?;
            // The completion's operands in the order `metrics` divides them.
            let pick = |op| if op == Operand::Actual { actual } else { target };
            let (num, den) = metrics::completion_quotient(ind.direction).map(|(n, d)| (pick(n), pick(d)))?;
            rounded_inputs(o, p, (num, den), claimed, percent, Op::COMPLETION)
                .or_else(|| other_rules(exact, claimed, rule))
                .or_else(|| {
                    let inverted = exact.recip()?.times(10_000)?;
                    matches_claim(inverted, claimed, rule).then(|| {
                        let text =
                            format!("{} / {} × 100 = {} → {claimed}", den.trimmed(), num.trimmed(), show(inverted));
                        Diagnosis { cause: Cause::Inverted, detail: Detail::new(text.clone(), text) }
                    })
                })
        }
        Against::GrowthPct | Against::ChangePp => {
            let mut earlier = earlier.peekable();
            let &(prev_year, previous) = earlier.peek()?;
            let due = if against == Against::ChangePp { points } else { growth_pct };
            let op = if against == Against::ChangePp { Op::CHANGE } else { Op::GROWTH };
            if prev_year != o.key.year - 1 {
                return None;
            }
            rounded_inputs(o, p, (actual, previous), claimed, due, op)
                .or_else(|| {
                    let (cause, alt, en, zh) = match against {
                        Against::ChangePp => (
                            Cause::PercentForPoints,
                            growth_pct(actual, previous)?,
                            "relative growth in %",
                            "相对增长率（%）",
                        ),
                        _ => (Cause::PointsForPercent, points(actual, previous)?, "difference", "差值"),
                    };
                    matches_claim(alt, claimed, rule).then(|| {
                        let (from, to, alt) = (previous.trimmed(), actual.trimmed(), show(alt));
                        Diagnosis {
                            cause,
                            detail: Detail::new(
                                format!("the {en} ({from} → {to}) is {alt} → {claimed}"),
                                format!("{zh}（{from} → {to}）为 {alt} → {claimed}"),
                            ),
                        }
                    })
                })
                .or_else(|| other_rules(exact, claimed, rule))
                .or_else(|| {
                    earlier.skip(1).find_map(|(year, value)| {
                        let alt = due(actual, value)?;
                        matches_claim(alt, claimed, rule).then(|| {
                            let (from, to, alt) = (value.trimmed(), actual.trimmed(), show(alt));
                            Diagnosis {
                                cause: Cause::BaseYear,
                                detail: Detail::new(
                                    format!("{} against {year} ({from} → {to}) = {alt} → {claimed}", op.en),
                                    format!("以 {year} 年为基期的{}（{from} → {to}）= {alt} → {claimed}", op.zh),
                                ),
                            }
                        })
                    })
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn published_rounds_in_the_unit_sent() {
        let (shown, back) = published(d("376200"), 4, 1).unwrap();
        assert_eq!((shown.to_string().as_str(), back), ("37.6", d("376000")));
    }

    #[test]
    fn truncation_and_other_rule() {
        let exact = Ratio::new(d("0.545"), d("1")).unwrap();
        let dx = other_rules(exact, d("0.54"), Rounding::HalfUp).unwrap();
        assert_eq!(dx.cause, Cause::RoundingRule);
        let exact = Ratio::new(d("107.49"), d("1")).unwrap();
        let cut = other_rules(exact, d("107.4"), Rounding::HalfUp).unwrap().detail;
        assert!(cut.en.contains("cut") && cut.zh.contains("截去"), "{cut:?}");
        assert!(other_rules(exact, d("107.3"), Rounding::HalfUp).is_none());
    }
}
