//! `yearbook audit`: a second, deliberately plain implementation of every
//! figure, checked value by value against what the run printed.
//!
//! It shares none of the pipeline's rules or arithmetic: it reads the
//! observations back from Parquet (through `crate::readback`, which turns
//! a Decimal128 cell into a mantissa and a scale, and nothing more) and the
//! catalog and register from the files the manifest names (their hashes
//! checked first), with CSV parsing of its own; it decides which kind gets
//! which figure, computes with arbitrary-precision rationals
//! (`num-rational`, not the pipeline's `i128`/`i256` decimals) and rounds
//! with its own few lines; only the rounding rule's name is read into the
//! pipeline's `Rounding` enum. It holds at most two years of observations
//! at a time. Then it checks every SHA-256 in the manifest against the
//! files on disk.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};
use serde::Deserialize;

use crate::decimal::{Decimal, Rounding};
use crate::model::{col, table};
use crate::readback::{Batch, Outputs, ReadError};

mod rules;

type Q = BigRational;

/// What was checked and every difference found.
#[derive(Debug, Default)]
pub struct Report {
    pub checked: BTreeMap<&'static str, u64>,
    pub differences: Vec<String>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.differences.is_empty()
    }

    fn count(&mut self, what: &'static str) {
        *self.checked.entry(what).or_default() += 1;
    }

    fn differ(&mut self, what: String) {
        self.differences.push(what);
    }

    pub fn render(&self) -> String {
        let mut s = String::from("checked:\n");
        for (what, n) in &self.checked {
            let _ = writeln!(s, "  {n:>9} {what}");
        }
        if self.passed() {
            s.push_str("audit passed: every value and every hash matches\n");
        } else {
            let _ = writeln!(s, "audit FAILED: {} differences", self.differences.len());
            for d in &self.differences {
                let _ = writeln!(s, "  {d}");
            }
        }
        s
    }
}

// ---------------------------------------------------------------- numbers

fn q(d: Decimal) -> Q {
    Q::new(BigInt::from(d.mantissa()), BigInt::from(10).pow(u32::from(d.scale())))
}

fn pow10(n: u8) -> BigInt {
    BigInt::from(10).pow(u32::from(n))
}

/// `x` rounded to `decimals` by `rule`, as a rational.
fn round(x: &Q, decimals: u8, rule: Rounding) -> Q {
    let scaled = x * Q::from_integer(pow10(decimals));
    let floor = scaled.floor().to_integer();
    let frac = &scaled - Q::from_integer(floor.clone());
    let half = Q::new(BigInt::one(), BigInt::from(2));
    let up = match frac.cmp(&half) {
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Equal => match rule {
            // Away from zero: up for a positive number; for a negative one
            // the floor is already the value farther from zero.
            Rounding::HalfUp => !scaled.is_negative(),
            Rounding::HalfEven => floor.is_odd(),
        },
    };
    let m = if up { floor + 1 } else { floor };
    Q::new(m, pow10(decimals))
}

/// Whether `x`, rounded to `decimals`, fits a `Decimal128(38)` column: a
/// figure that does not is null with reason `overflow` in the outputs.
/// Decimals of the percentages' unrounded columns.
const PERCENT_DECIMALS: u8 = 12;

/// Decimals of the value columns (values, sums and a total's previous
/// value), whose 38 digits leave 18 before the point.
const VALUE_DECIMALS: u8 = 20;

fn fits(x: &Q, decimals: u8, rule: Rounding) -> bool {
    let mantissa = round(x, decimals, rule) * Q::from_integer(pow10(decimals));
    mantissa.abs() < Q::from_integer(pow10(38))
}

fn show(x: &Option<Q>) -> String {
    let Some(x) = x else { return "null".to_owned() };
    // Exactly, when the value is a decimal of at most 30 places; else cut
    // at 12 places and marked.
    let (scale, more) =
        (0..=30u8).find(|&s| (x * Q::from_integer(pow10(s))).is_integer()).map_or((12, "…"), |s| (s, ""));
    let m = (x * Q::from_integer(pow10(scale))).trunc().to_integer();
    let (sign, m) = if m.is_negative() { ("-", -m) } else { ("", m) };
    if scale == 0 {
        return format!("{sign}{m}");
    }
    let (i, f) = m.div_rem(&pow10(scale));
    format!("{sign}{i}.{f:0>width$}{more}", width = usize::from(scale))
}

// ---------------------------------------------------------------- schemas

#[derive(Debug, Deserialize)]
struct IndicatorRow {
    code: String,
    kind: String,
    direction: String,
    aggregation: String,
    #[serde(default)]
    numerator: String,
    #[serde(default)]
    denominator: String,
    /// `area` or `own` (empty: own).
    #[serde(default)]
    coverage: String,
}

#[derive(Debug, Deserialize)]
struct AgencyRow {
    code: String,
    #[serde(default)]
    parent: String,
    /// Groups (regions) beside the tree, which total their members.
    #[serde(default)]
    groups: String,
    /// The parent whose `area` figures this agency sends.
    #[serde(default)]
    reports_for: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("{}: {source}", path.display())]
    Schema { path: PathBuf, source: csv::Error },
    #[error("the manifest names no {0} file")]
    NoSchema(&'static str),
}

fn read_csv<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>, AuditError> {
    let err = |source| AuditError::Schema { path: path.to_owned(), source };
    let bytes = std::fs::read(path).map_err(|e| err(e.into()))?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut r = csv::ReaderBuilder::new().trim(csv::Trim::All).comment(Some(b'#')).from_reader(bytes);
    r.deserialize().collect::<Result<_, _>>().map_err(err)
}

struct Schemas {
    indicators: BTreeMap<String, IndicatorRow>,
    /// Every agency with the totals above it: its ancestors and the
    /// groups it or an ancestor is in.
    up: BTreeMap<String, Vec<String>>,
    /// Every total (a parent or a group) with its members: a parent's
    /// children, a group's members none of whose parents is in it.
    members: BTreeMap<String, Vec<String>>,
    /// Every parent with the agencies reporting for it.
    reporters: BTreeMap<String, Vec<String>>,
}

impl Schemas {
    fn is_total(&self, agency: &str) -> bool {
        self.members.contains_key(agency)
    }

    /// Whether `agency` sends the figures of `indicator` for a parent.
    fn reports_for_a_parent(&self, agency: &str, indicator: &IndicatorRow) -> bool {
        indicator.coverage == "area" && self.reporters.values().any(|r| r.iter().any(|a| a == agency))
    }
}

fn schemas(out: &Outputs) -> Result<Schemas, AuditError> {
    let find = |name: &'static str| {
        out.manifest
            .schemas
            .iter()
            .find(|f| f.path.ends_with(name))
            .map(|f| out.schema_path(f))
            .ok_or(AuditError::NoSchema(name))
    };
    // The run may have been given other files by name; the manifest keeps
    // them in order: catalog, agencies, units, layouts.
    let catalog = out.manifest.schemas.first().map(|f| out.schema_path(f)).map_or_else(|| find("catalog.csv"), Ok)?;
    let agencies = out.manifest.schemas.get(1).map(|f| out.schema_path(f)).map_or_else(|| find("agencies.csv"), Ok)?;
    let indicators = read_csv::<IndicatorRow>(&catalog)?.into_iter().map(|r| (r.code.clone(), r)).collect();
    let rows: Vec<AgencyRow> = read_csv(&agencies)?;
    let parent: BTreeMap<&str, &str> =
        rows.iter().filter(|r| !r.parent.is_empty()).map(|r| (r.code.as_str(), r.parent.as_str())).collect();
    let groups_of = |code: &str| -> Vec<String> {
        rows.iter()
            .find(|x| x.code == code)
            .map_or(Vec::new(), |x| x.groups.split_whitespace().map(str::to_owned).collect())
    };
    let (mut up, mut members, mut reporters) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    for r in &rows {
        let mut ancestors: Vec<String> = Vec::new();
        let mut at = r.code.as_str();
        while let Some(&p) = parent.get(at) {
            if ancestors.iter().any(|u| u == p) {
                break;
            }
            ancestors.push(p.to_owned());
            at = p;
        }
        let above: BTreeSet<String> = ancestors.iter().flat_map(|a| groups_of(a)).collect();
        if let Some(p) = parent.get(r.code.as_str()) {
            members.entry(p.to_string()).or_insert_with(Vec::new).push(r.code.clone());
        }
        for g in groups_of(&r.code) {
            if !above.contains(&g) {
                members.entry(g).or_insert_with(Vec::new).push(r.code.clone());
            }
        }
        if !r.reports_for.is_empty() {
            reporters.entry(r.reports_for.clone()).or_insert_with(Vec::new).push(r.code.clone());
        }
        let mut groups: Vec<String> = groups_of(&r.code).into_iter().chain(above).collect();
        groups.sort();
        groups.dedup();
        ancestors.extend(groups);
        up.insert(r.code.clone(), ancestors);
    }
    Ok(Schemas { indicators, up, members, reporters })
}

// ---------------------------------------------------------------- hashes

fn check_file(r: &mut Report, what: &'static str, path: &Path, sha256: &str, bytes: u64) {
    r.count(what);
    match crate::readback::sha256_file(path) {
        Err(e) => r.differ(format!("{}: cannot read: {e}", path.display())),
        Ok((sha, n)) if sha != sha256 || n != bytes => r.differ(format!(
            "{}: sha256 {sha} ({n} bytes), the manifest says {sha256} ({bytes} bytes)",
            path.display()
        )),
        Ok(_) => {}
    }
}

/// Files under `dir` (relative, `/`-separated), skipping hidden ones; a
/// directory that cannot be listed is a difference.
fn listing(dir: &Path, only_csv: bool, r: &mut Report) -> Vec<String> {
    match crate::dirs::visible_files(dir) {
        Ok(files) => files
            .into_iter()
            .map(|(rel, _)| rel)
            .filter(|rel| !only_csv || rel.to_ascii_lowercase().ends_with(".csv"))
            .collect(),
        Err(e) => {
            r.differ(format!("{}: cannot list: {e}", dir.display()));
            Vec::new()
        }
    }
}

fn hashes(out: &Outputs, input: Option<&Path>, r: &mut Report) {
    let m = &out.manifest;
    for f in &m.outputs {
        check_file(r, "output files against their manifest SHA-256", &out.dir.join(&f.path), &f.sha256, f.bytes);
    }
    let listed: BTreeSet<&str> = m.outputs.iter().map(|f| f.path.as_str()).collect();
    for extra in listing(&out.dir, false, r) {
        if extra != crate::model::file::MANIFEST && !listed.contains(extra.as_str()) {
            r.differ(format!("{}: in the output directory but not in the manifest", out.dir.join(extra).display()));
        }
    }
    // The copies in the output (outputs, checked above) are what the
    // figures were made from; the files the run was given are checked too
    // where they still are.
    for f in std::iter::once(&m.pipeline).chain(&m.schemas) {
        let path = out.schema_path(f);
        if path.exists() || f.copy.is_none() {
            check_file(r, "pipeline and schema files against their manifest SHA-256", &path, &f.sha256, f.bytes);
        }
    }
    if let Some(dir) = input {
        for f in &m.inputs {
            check_file(r, "submissions against their manifest SHA-256", &dir.join(&f.path), &f.sha256, f.bytes);
        }
        let listed: BTreeSet<&str> = m.inputs.iter().map(|f| f.path.as_str()).collect();
        for extra in listing(dir, true, r) {
            if !listed.contains(extra.as_str()) {
                r.differ(format!("{}: a submission the run did not read", dir.join(extra).display()));
            }
        }
    }
}

// ---------------------------------------------------------------- figures

/// One observation's figures.
#[derive(Debug, Clone)]
struct Obs {
    value: Option<Q>,
    target: Option<Q>,
    claimed_completion: Option<Claim>,
    claimed_growth: Option<Claim>,
    /// Decimals the value was typed with.
    decimals: u8,
    /// The file and line it was read from.
    source: Option<(String, i64)>,
}

/// A printed figure an agency claimed, at the decimals it printed.
#[derive(Debug, Clone)]
struct Claim {
    value: Q,
    decimals: u8,
}

/// The decimals of a number as typed: the digits after its decimal point
/// (`97.2%` and `９７．２` → 1), read here with none of the pipeline's
/// number grammar.
fn typed_decimals(raw: &str) -> u8 {
    let raw = raw.trim().trim_end_matches(['%', '％']).trim_end();
    let after =
        raw.rfind(['.', '．']).map_or("", |at| &raw[at..][raw[at..].chars().next().map_or(0, char::len_utf8)..]);
    after.chars().filter(|c| c.is_ascii_digit() || ('０'..='９').contains(c)).count() as u8
}

type Year = BTreeMap<(String, String), Obs>;

fn read_year(out: &Outputs, year: i32, r: &mut Report) -> Result<Year, ReadError> {
    let mut rows = Year::new();
    let mut dups = Vec::new();
    out.scan(table::OBSERVATIONS, Some(year), |_, b| {
        let (agency, indicator) =
            (b.present(col::AGENCY, b.text(col::AGENCY)?), b.present(col::INDICATOR, b.text(col::INDICATOR)?));
        let (value, target) = (b.decimal(col::VALUE)?, b.decimal(col::TARGET)?);
        let raw = b.present(col::VALUE_RAW, b.text(col::VALUE_RAW)?);
        let (cc, cg) = (b.decimal(col::CLAIMED_COMPLETION)?, b.decimal(col::CLAIMED_GROWTH)?);
        let (ccd, cgd) = (b.int(col::CLAIMED_COMPLETION_DECIMALS)?, b.int(col::CLAIMED_GROWTH_DECIMALS)?);
        let (file, line) = (b.text(col::SOURCE_FILE)?, b.int(col::SOURCE_LINE)?);
        // A claim is compared at the precision it was printed with.
        let claim = |d: Option<Decimal>, decimals: Option<i64>| {
            let (value, decimals) = (q(d?), u8::try_from(decimals?).ok()?);
            // Its digits past `decimals` must be zeros.
            (round(&value, decimals, Rounding::HalfUp) == value).then_some(Claim { value, decimals })
        };
        for i in 0..b.len() {
            let key = (agency(i)?.to_owned(), indicator(i)?.to_owned());
            let obs = Obs {
                value: value(i).map(q),
                decimals: typed_decimals(raw(i)?),
                target: target(i).map(q),
                claimed_completion: claim(cc(i), ccd(i)),
                claimed_growth: claim(cg(i), cgd(i)),
                source: file(i).map(str::to_owned).zip(line(i)),
            };
            if rows.insert(key.clone(), obs).is_some() {
                dups.push(key);
            }
        }
        Ok(())
    })?;
    for (a, i) in dups {
        r.differ(format!("observations {year}: {a} {i} appears more than once"));
    }
    Ok(rows)
}

/// A percentage or a reason it is missing, as the pipeline names them.
type Fig = Result<Q, &'static str>;

fn pct(num: &Q, den: &Q, zero: &'static str) -> Fig {
    if den.is_zero() { Err(zero) } else { Ok(num / den * Q::from_integer(BigInt::from(100))) }
}

fn completion(value: Option<&Q>, target: Option<&Q>, direction: &str) -> Fig {
    let a = value.ok_or("value_missing")?;
    let t = target.ok_or("no_target")?;
    match direction {
        "up" => pct(a, t, "target_zero"),
        "down" => pct(t, a, "actual_zero"),
        _ => Err("no_direction"),
    }
}

fn growth(value: Option<&Q>, previous: &Fig, rate: bool) -> Fig {
    if rate {
        return Err("rate_uses_change_pp");
    }
    let a = value.ok_or("value_missing")?;
    let p = previous.as_ref().map_err(|e| *e)?;
    pct(&(a - p), p, "previous_zero")
}

fn change(value: Option<&Q>, previous: &Fig, rate: bool) -> Fig {
    if !rate {
        return Err("not_a_rate");
    }
    let a = value.ok_or("value_missing")?;
    Ok(a - previous.as_ref().map_err(|e| *e)?)
}

fn met(value: Option<&Q>, target: Option<&Q>, direction: &str, completion: &Fig) -> Option<bool> {
    completion.as_ref().ok()?;
    match direction {
        "up" => Some(value? >= target?),
        "down" => Some(value? <= target?),
        _ => None,
    }
}

fn claim_ok(claim: &Option<Claim>, fig: &Fig, rule: Rounding) -> Option<bool> {
    let claim = claim.as_ref()?;
    Some(round(fig.as_ref().ok()?, claim.decimals, rule) == claim.value)
}

/// Compares one printed column with the recomputed value.
struct Row<'a, 'b> {
    r: &'a mut Report,
    what: String,
    b: &'a Batch<'b>,
    i: usize,
}

impl Row<'_, '_> {
    fn decimal(&mut self, column: &str, expected: Option<Q>) -> Result<(), ReadError> {
        let got = self.b.decimal(column)?(self.i).map(q);
        self.r.count("values compared");
        if got != expected {
            let what = format!("{}: {column} is {}, recomputed {}", self.what, show(&got), show(&expected));
            self.r.differ(what);
        }
        Ok(())
    }

    /// A printed percentage, its unrounded twin and its null reason.
    fn figure(&mut self, column: &str, fig: &Fig, decimals: u8, rule: Rounding) -> Result<(), ReadError> {
        let fig = &fig.clone().and_then(|x| if fits(&x, PERCENT_DECIMALS, rule) { Ok(x) } else { Err("overflow") });
        self.decimal(column, fig.as_ref().ok().map(|x| round(x, decimals, rule)))?;
        self.decimal(&format!("{column}_unrounded"), fig.as_ref().ok().map(|x| round(x, PERCENT_DECIMALS, rule)))?;
        let metric = column.trim_end_matches("_pct").trim_end_matches("_pp");
        self.text(&format!("{metric}_null_reason"), fig.as_ref().err().copied())
    }

    fn text(&mut self, column: &str, expected: Option<&str>) -> Result<(), ReadError> {
        let got = self.b.text(column)?(self.i);
        self.r.count("values compared");
        if got != expected {
            let what = format!("{}: {column} is {got:?}, recomputed {expected:?}", self.what);
            self.r.differ(what);
        }
        Ok(())
    }

    fn int(&mut self, column: &str, expected: Option<i64>) -> Result<(), ReadError> {
        let got = self.b.int(column)?(self.i);
        self.r.count("values compared");
        if got != expected {
            let what = format!("{}: {column} is {got:?}, recomputed {expected:?}", self.what);
            self.r.differ(what);
        }
        Ok(())
    }

    /// Whether a total is reported, by whom and from which row.
    fn report(&mut self, rep: Option<&Rep>) -> Result<(), ReadError> {
        let source = rep.and_then(|r| r.source.as_ref());
        self.text(col::VALUE_BASIS, Some(if rep.is_some() { "reported" } else { "summed" }))?;
        self.text(col::REPORTED_BY, rep.map(|r| r.by.as_str()))?;
        self.text(col::REPORTED_SOURCE_FILE, source.map(|s| s.0.as_str()))?;
        self.int(col::REPORTED_SOURCE_LINE, source.map(|s| s.1))
    }

    /// Each agency listed missing from `total`'s total is under it and not
    /// a contributor (the run also counts those whose row it quarantined,
    /// which the outputs do not hold).
    fn missing(&mut self, s: &Schemas, total: &str, t: &Total) -> Result<(), ReadError> {
        for m in self.b.text_list(col::MISSING)?(self.i) {
            self.r.count("values compared");
            let under = s.up.get(m).is_some_and(|up| up.iter().any(|u| u == total));
            if !under || t.contributors.contains_key(m) {
                let what = format!("{}: {m} is listed as missing but is not under it without a figure", self.what);
                self.r.differ(what);
            }
        }
        Ok(())
    }

    /// A list column (agencies, findings) against the recomputed one, in
    /// any order.
    fn agencies(&mut self, column: &str, expected: &[String]) -> Result<(), ReadError> {
        let mut got: Vec<String> = self.b.text_list(column)?(self.i).into_iter().map(str::to_owned).collect();
        got.sort();
        let mut expected = expected.to_vec();
        expected.sort();
        self.r.count("values compared");
        if got != expected {
            let what = format!("{}: {column} is {got:?}, recomputed {expected:?}", self.what);
            self.r.differ(what);
        }
        Ok(())
    }

    fn boolean(&mut self, column: &str, expected: Option<bool>) -> Result<(), ReadError> {
        let got = self.b.boolean(column)?(self.i);
        self.r.count("values compared");
        if got != expected {
            let what = format!("{}: {column} is {got:?}, recomputed {expected:?}", self.what);
            self.r.differ(what);
        }
        Ok(())
    }
}

fn previous_of(before: &Year, key: &(String, String)) -> Fig {
    match before.get(key) {
        None => Err("no_previous"),
        Some(o) => o.value.clone().ok_or("previous_missing"),
    }
}

fn check_metrics(
    out: &Outputs,
    s: &Schemas,
    year: i32,
    this: &Year,
    before: &Year,
    r: &mut Report,
) -> Result<(), ReadError> {
    let rule = out.manifest.rounding.rule;
    let mut seen = BTreeSet::new();
    out.scan(table::METRICS, Some(year), |_, b| {
        let (agency, indicator) =
            (b.present(col::AGENCY, b.text(col::AGENCY)?), b.present(col::INDICATOR, b.text(col::INDICATOR)?));
        for i in 0..b.len() {
            let key = (agency(i)?.to_owned(), indicator(i)?.to_owned());
            let what = format!("metrics {year} {} {}", key.0, key.1);
            r.count("metric rows recomputed");
            let (Some(o), Some(ind), Some(dec)) =
                (this.get(&key), s.indicators.get(&key.1), out.manifest.rounding.indicators.get(&key.1))
            else {
                r.differ(format!("{what}: no such observation, indicator or rounding in the catalog"));
                continue;
            };
            seen.insert(key.clone());
            let rate = ind.kind == "rate";
            let previous = previous_of(before, &key);
            let c = completion(o.value.as_ref(), o.target.as_ref(), &ind.direction);
            let g = growth(o.value.as_ref(), &previous, rate);
            let ch = change(o.value.as_ref(), &previous, rate);
            let mut row = Row { r: &mut *r, what, b, i };
            row.decimal(col::ACTUAL, o.value.clone())?;
            row.decimal(col::TARGET, o.target.clone())?;
            row.decimal(col::PREVIOUS, previous.clone().ok())?;
            row.figure(col::COMPLETION_PCT, &c, dec.completion, rule)?;
            row.boolean(col::MET, met(o.value.as_ref(), o.target.as_ref(), &ind.direction, &c))?;
            row.figure(col::GROWTH_PCT, &g, dec.growth, rule)?;
            row.figure(col::CHANGE_PP, &ch, dec.change.unwrap_or(0), rule)?;
            row.boolean(col::CLAIMED_COMPLETION_MATCHES, claim_ok(&o.claimed_completion, &c, rule))?;
            row.boolean(col::CLAIMED_GROWTH_MATCHES, claim_ok(&o.claimed_growth, if rate { &ch } else { &g }, rule))?;
            let from_parts = parts_rate(s, this, &key).map(|(fig, _, _)| fig);
            let sent = o.value.as_ref().map(|v| (v, o.decimals));
            row.boolean(col::RATE_MATCHES_PARTS, rate_matches(from_parts.as_ref(), sent, rule))?;
        }
        Ok(())
    })?;
    for key in this.keys().filter(|k| !seen.contains(*k)) {
        r.differ(format!("metrics {year}: no row for the observation {} {}", key.0, key.1));
    }
    Ok(())
}

/// An agency's rate from its numerator and denominator that year, with
/// both, where it sent both with values.
fn parts_rate(s: &Schemas, this: &Year, (agency, code): &(String, String)) -> Option<(Fig, Q, Q)> {
    let ind = s.indicators.get(code).filter(|i| i.aggregation == "ratio")?;
    let value = |part: &str| this.get(&(agency.clone(), part.to_owned()))?.value.clone();
    let (n, d) = (value(&ind.numerator)?, value(&ind.denominator)?);
    Some((pct(&n, &d, "denominator_zero"), n, d))
}

/// Whether a sent rate is its parts' quotient at the precision it was sent
/// with.
fn rate_matches(from_parts: Option<&Fig>, sent: Option<(&Q, u8)>, rule: Rounding) -> Option<bool> {
    let (sent, decimals) = sent?;
    Some(&round(from_parts?.as_ref().ok()?, decimals, rule) == sent)
}

/// The `rates` table: every agency's rate recomputed from the parts it
/// sent, sent or derived.
fn check_rates(out: &Outputs, s: &Schemas, year: i32, this: &Year, r: &mut Report) -> Result<(), ReadError> {
    let rule = out.manifest.rounding.rule;
    let mut expected = BTreeSet::new();
    for (code, ind) in s.indicators.iter().filter(|(_, i)| i.aggregation == "ratio") {
        for (agency, _) in this.keys().filter(|(_, i)| *i == ind.numerator) {
            let key = (agency.clone(), code.clone());
            if parts_rate(s, this, &key).is_some() {
                expected.insert(key);
            }
        }
    }
    let mut seen = BTreeSet::new();
    out.scan(table::RATES, Some(year), |_, b| {
        let (agency, indicator) =
            (b.present(col::AGENCY, b.text(col::AGENCY)?), b.present(col::INDICATOR, b.text(col::INDICATOR)?));
        let decimals = b.int(col::SENT_DECIMALS)?;
        for i in 0..b.len() {
            let key = (agency(i)?.to_owned(), indicator(i)?.to_owned());
            let what = format!("rates {year} {} {}", key.0, key.1);
            r.count("rate rows recomputed");
            let (Some((fig, n, d)), Some(dec)) =
                (parts_rate(s, this, &key), out.manifest.rounding.indicators.get(&key.1))
            else {
                r.differ(format!("{what}: the agency did not send both parts of this rate"));
                continue;
            };
            seen.insert(key.clone());
            let sent = this.get(&key).and_then(|o| Some((o.value.clone()?, o.decimals)));
            let mut row = Row { r: &mut *r, what, b, i };
            row.decimal(col::NUMERATOR, Some(n))?;
            row.decimal(col::DENOMINATOR, Some(d))?;
            row.figure(col::RATE_FROM_PARTS, &fig, dec.change.unwrap_or(0), rule)?;
            row.decimal(col::SENT, sent.as_ref().map(|(v, _)| v.clone()))?;
            row.boolean(col::DERIVED, Some(sent.is_none()))?;
            row.boolean(col::MATCHES, rate_matches(Some(&fig), sent.as_ref().map(|(v, d)| (v, *d)), rule))?;
            row.r.count("values compared");
            if decimals(i) != sent.as_ref().map(|(_, d)| i64::from(*d)) {
                let what =
                    format!("{}: sent_decimals is {:?}, typed {:?}", row.what, decimals(i), sent.map(|(_, d)| d));
                row.r.differ(what);
            }
        }
        Ok(())
    })?;
    for key in expected.difference(&seen) {
        r.differ(format!("rates {year}: no row for {} {}, which sent both parts", key.0, key.1));
    }
    Ok(())
}

/// A figure of a total: a sum's value and target, or a rate's parts.
#[derive(Debug, Clone, PartialEq)]
struct Part {
    n: Q,
    d: Q,
    target: Option<Q>,
}

/// A figure reported for a total, with the row it is.
#[derive(Debug, Clone)]
struct Rep {
    part: Part,
    by: String,
    source: Option<(String, i64)>,
    /// Another report for the same total that differs.
    conflict: bool,
}

/// One recomputed total: the figure reported for it, and its
/// contributors (each leaf's own figure, or a member's reported figure
/// standing for everything under it), by agency code.
#[derive(Debug, Clone, Default)]
struct Total {
    reported: Option<Rep>,
    contributors: BTreeMap<String, Part>,
}

impl Total {
    fn has_figure(&self) -> bool {
        self.reported.is_some() || !self.contributors.is_empty()
    }

    /// A `sum` total's target: the reported target, else Σ targets when
    /// every contributor has one.
    fn target(&self) -> Result<Q, &'static str> {
        if let Some(r) = &self.reported {
            return r.part.target.clone().ok_or("no_target");
        }
        let targets: Vec<&Option<Q>> = self.contributors.values().map(|p| &p.target).collect();
        match (targets.iter().any(|x| x.is_some()), targets.iter().all(|x| x.is_some())) {
            (true, true) => Ok(targets.iter().flat_map(|x| x.iter()).fold(Q::zero(), |a, x| a + x)),
            (true, false) => Err("partial_targets"),
            (false, _) => Err("no_target"),
        }
    }
}

/// The totals of one year, worked out as SUBMISSIONS.md "Scope" reads,
/// from the top down and without the pipeline's buckets.
struct Totals<'s> {
    s: &'s Schemas,
    year: &'s Year,
    done: BTreeMap<(String, String), Total>,
}

impl Totals<'_> {
    /// What was reported for `agency` (a total) of `code`: its own row,
    /// or for an `area` indicator a declared reporter's, which wins.
    fn reported(&self, agency: &str, code: &str) -> Option<Rep> {
        let ind = self.s.indicators.get(code)?;
        if ind.aggregation == "ratio" {
            let (n, d) = (self.reported(agency, &ind.numerator)?, self.reported(agency, &ind.denominator)?);
            let part = Part { n: n.part.n, d: d.part.n, target: None };
            return Some(Rep { part, ..n });
        }
        if ind.aggregation != "sum" || !self.s.is_total(agency) {
            return None;
        }
        let row = |a: &str| {
            let o = self.year.get(&(a.to_owned(), code.to_owned()))?;
            let part = Part { n: o.value.clone()?, d: Q::zero(), target: o.target.clone() };
            Some(Rep { part, by: a.to_owned(), source: o.source.clone(), conflict: false })
        };
        let mut sent: Vec<Rep> = Vec::new();
        if ind.coverage == "area" {
            let mut by: Vec<&String> = self.s.reporters.get(agency).map(|r| r.iter().collect()).unwrap_or_default();
            by.sort();
            sent.extend(by.into_iter().filter_map(|a| row(a)));
        }
        sent.extend(row(agency));
        let mut first = sent.first()?.clone();
        first.conflict = sent.iter().any(|r| r.part != first.part);
        Some(first)
    }

    fn total(&mut self, agency: &str, code: &str) -> Total {
        let key = (agency.to_owned(), code.to_owned());
        if let Some(t) = self.done.get(&key) {
            return t.clone();
        }
        let mut t = Total { reported: self.reported(agency, code), contributors: BTreeMap::new() };
        let ind = &self.s.indicators[code];
        for m in self.s.members.get(agency).cloned().unwrap_or_default() {
            if let Some(r) = self.reported(&m, code) {
                t.contributors.insert(m, r.part);
            } else if self.s.is_total(&m) {
                t.contributors.extend(self.total(&m, code).contributors);
            } else if !self.s.reports_for_a_parent(&m, ind) {
                let value = |c: &str| self.year.get(&(m.clone(), c.to_owned())).and_then(|o| o.value.clone());
                let own = if ind.aggregation == "ratio" {
                    value(&ind.numerator).zip(value(&ind.denominator)).map(|(n, d)| Part { n, d, target: None })
                } else {
                    let o = self.year.get(&(m.clone(), code.to_owned()));
                    o.and_then(|o| Some(Part { n: o.value.clone()?, d: Q::zero(), target: o.target.clone() }))
                };
                if let Some(p) = own {
                    t.contributors.insert(m, p);
                }
            }
        }
        self.done.insert(key, t.clone());
        t
    }
}

/// Σ over some contributors: (Σ n, Σ d).
fn sum_parts<'p>(parts: impl Iterator<Item = &'p Part>) -> (Q, Q) {
    parts.fold((Q::zero(), Q::zero()), |(n, d), p| (n + &p.n, d + &p.d))
}

/// Totals of `year` by (total, indicator): every total with a reported
/// figure or a contributor, for every `sum` and `ratio` indicator.
fn totals(s: &Schemas, this: &Year) -> BTreeMap<(String, String), Total> {
    let mut t = Totals { s, year: this, done: BTreeMap::new() };
    let codes: Vec<String> = s
        .indicators
        .iter()
        .filter(|(_, i)| i.aggregation == "sum" || i.aggregation == "ratio")
        .map(|(c, _)| c.clone())
        .collect();
    let mut out = BTreeMap::new();
    for agency in s.members.keys() {
        for code in &codes {
            let total = t.total(agency, code);
            if total.has_figure() {
                out.insert((agency.clone(), code.clone()), total);
            }
        }
    }
    out
}

/// A total's figure from its parts: the sum, or Σ n / Σ d × 100.
fn level(n: &Q, d: &Q, ratio: bool) -> Option<Q> {
    if ratio { pct(n, d, "").ok() } else { Some(n.clone()) }
}

/// What a total's growth compares, worked out from its contributors of
/// both years: reported with reported; else the contributors of both
/// years, each with its own figures (both sides, or why there are none),
/// and the contributors of either year left out, sorted.
fn comparison(t: &Total, prev: Option<&Total>, ratio: bool) -> (Result<(Q, Q), &'static str>, Vec<String>) {
    let (rep, rep_before) = (t.reported.as_ref(), prev.and_then(|p| p.reported.as_ref()));
    let had_total = prev.is_some_and(Total::has_figure);
    let side = |p: &Part| level(&p.n, &p.d, ratio);
    match (rep, rep_before) {
        (Some(a), Some(b)) => (side(&a.part).zip(side(&b.part)).ok_or("denominator_zero"), Vec::new()),
        (Some(_), None) if had_total => (Err("basis_changed"), Vec::new()),
        (Some(_), None) => (Err("no_previous"), Vec::new()),
        (None, _) => {
            let empty = BTreeMap::new();
            let then = prev.map_or(&empty, |p| &p.contributors);
            let mut away: Vec<String> = Vec::new();
            if had_total && !t.contributors.is_empty() {
                let new = t.contributors.keys().filter(|a| !then.contains_key(*a));
                away = new.chain(then.keys().filter(|a| !t.contributors.contains_key(*a))).cloned().collect();
                away.sort();
            }
            let both: Vec<&String> = t.contributors.keys().filter(|a| then.contains_key(*a)).collect();
            if both.is_empty() {
                let why =
                    if had_total && !t.contributors.is_empty() { "no_common_contributors" } else { "no_previous" };
                return (Err(why), away);
            }
            let (an, ad) = sum_parts(both.iter().map(|a| &t.contributors[*a]));
            let (bn, bd) = sum_parts(both.iter().map(|a| &then[*a]));
            (level(&an, &ad, ratio).zip(level(&bn, &bd, ratio)).ok_or("denominator_zero"), away)
        }
    }
}

fn check_totals(
    out: &Outputs,
    s: &Schemas,
    year: i32,
    now: &BTreeMap<(String, String), Total>,
    before: &BTreeMap<(String, String), Total>,
    r: &mut Report,
) -> Result<(), ReadError> {
    let rule = out.manifest.rounding.rule;
    let mut seen = BTreeSet::new();
    out.scan(table::TOTALS, Some(year), |_, b| {
        let (agency, indicator) =
            (b.present(col::AGENCY, b.text(col::AGENCY)?), b.present(col::INDICATOR, b.text(col::INDICATOR)?));
        for i in 0..b.len() {
            let key = (agency(i)?.to_owned(), indicator(i)?.to_owned());
            let what = format!("totals {year} {} {}", key.0, key.1);
            r.count("total rows recomputed");
            let (Some(ind), Some(dec)) = (s.indicators.get(&key.1), out.manifest.rounding.indicators.get(&key.1))
            else {
                r.differ(format!("{what}: indicator not in the catalog"));
                continue;
            };
            seen.insert(key.clone());
            let ratio = ind.aggregation == "ratio";
            let rate = ind.kind == "rate";
            let empty = Total::default();
            let t = now.get(&key).unwrap_or(&empty);
            let prev = before.get(&key);
            let mut row = Row { r: &mut *r, what: what.clone(), b, i };
            row.agencies(col::CONTRIBUTORS, &t.contributors.keys().cloned().collect::<Vec<_>>())?;
            row.missing(s, &key.0, t)?;
            let (sn, sd) = sum_parts(t.contributors.values());
            let members = (!t.contributors.is_empty()).then(|| level(&sn, &sd, ratio)).flatten();
            let rep = t.reported.as_ref();
            let (n, d) = match rep {
                Some(r) => (r.part.n.clone(), r.part.d.clone()),
                None => (sn.clone(), sd.clone()),
            };
            let value = t.has_figure().then(|| level(&n, &d, ratio)).flatten();
            let too_big = |x: &Option<Q>| x.as_ref().is_some_and(|x| !fits(x, VALUE_DECIMALS, rule));
            if too_big(&value) || too_big(&Some(n.clone())) || too_big(&Some(d.clone())) {
                for (column, decimals) in [(col::COMPLETION_PCT, dec.completion), (col::GROWTH_PCT, dec.growth)] {
                    row.figure(column, &Err("overflow"), decimals, rule)?;
                }
                continue;
            }
            row.report(rep)?;
            let mut expect_findings: Vec<&str> = Vec::new();
            if rep.is_some_and(|r| r.conflict) {
                expect_findings.push("conflicting_reports");
            }
            let (sides, compared_away) = comparison(t, prev, ratio);
            let sides = if value.is_none() { Err("value_missing") } else { sides };
            let basis = match (&sides, rep) {
                (Ok(_), Some(_)) => "reported",
                (Ok(_), None) => "comparable",
                (Err(_), _) => "none",
            };
            row.text(col::GROWTH_BASIS, Some(basis))?;
            row.agencies(col::NOT_COMPARED, &compared_away)?;
            let previous: Fig = sides.as_ref().map(|s| s.1.clone()).map_err(|e| *e);
            let compared = sides.as_ref().ok().map(|s| s.0.clone());
            row.decimal(col::PREVIOUS, previous.as_ref().ok().map(|p| round(p, VALUE_DECIMALS, rule)))?;
            row.decimal(col::COMPARED, compared.as_ref().map(|p| round(p, VALUE_DECIMALS, rule)))?;
            let current = compared.clone().or(value.clone());
            if ratio {
                let cd = dec.change.unwrap_or(0);
                row.decimal(col::VALUE, value.as_ref().map(|v| round(v, cd, rule)))?;
                row.decimal(col::VALUE_UNROUNDED, value.as_ref().map(|v| round(v, VALUE_DECIMALS, rule)))?;
                row.decimal(col::MEMBERS_VALUE, members.as_ref().map(|v| round(v, cd, rule)))?;
                row.decimal(col::UNALLOCATED, None)?;
                row.decimal(col::NUMERATOR, t.has_figure().then(|| n.clone()))?;
                row.decimal(col::DENOMINATOR, t.has_figure().then(|| d.clone()))?;
                row.decimal(col::TARGET, None)?;
                row.figure(col::COMPLETION_PCT, &Err("ratio_target_not_aggregated"), dec.completion, rule)?;
                row.figure(col::GROWTH_PCT, &Err("rate_uses_change_pp"), dec.growth, rule)?;
                let ch = match (&value, &sides) {
                    (None, _) => Err("value_missing"),
                    (_, Err(e)) => Err(*e),
                    (_, Ok((a, p))) => Ok(a - p),
                };
                row.figure(col::CHANGE_PP, &ch, cd, rule)?;
            } else {
                let target = t.target();
                row.decimal(col::VALUE, value.clone())?;
                row.decimal(col::VALUE_UNROUNDED, value.clone())?;
                row.decimal(col::MEMBERS_VALUE, members.clone())?;
                let unallocated = rep.zip(members.as_ref()).map(|(r, m)| &r.part.n - m);
                if unallocated.as_ref().is_some_and(|u| u.is_negative()) {
                    expect_findings.push("members_exceed_reported");
                }
                row.decimal(col::UNALLOCATED, unallocated)?;
                row.decimal(col::NUMERATOR, None)?;
                row.decimal(col::DENOMINATOR, None)?;
                row.decimal(col::TARGET, target.clone().ok())?;
                let c = match (&target, &value) {
                    (Ok(x), _) => completion(value.as_ref(), Some(x), &ind.direction),
                    (Err(e), Some(_)) => Err(*e),
                    (Err(_), None) => Err("value_missing"),
                };
                row.figure(col::COMPLETION_PCT, &c, dec.completion, rule)?;
                row.boolean(col::MET, met(value.as_ref(), target.as_ref().ok(), &ind.direction, &c))?;
                row.figure(col::GROWTH_PCT, &growth(current.as_ref(), &previous, rate), dec.growth, rule)?;
                row.figure(col::CHANGE_PP, &change(current.as_ref(), &previous, rate), dec.change.unwrap_or(0), rule)?;
            }
            row.agencies(col::FINDINGS, &expect_findings.iter().map(|f| (*f).to_owned()).collect::<Vec<_>>())?;
        }
        Ok(())
    })?;
    for key in now.keys().filter(|k| !seen.contains(*k)) {
        r.differ(format!("totals {year}: no row for {} {}, which has a figure", key.0, key.1));
    }
    Ok(())
}

/// Recomputes every metric and total of the run in `out` and checks every
/// hash of its manifest (and the submissions' in `input`, when given).
pub fn audit(out: &Outputs, input: Option<&Path>) -> Result<Report, AuditError> {
    let mut r = Report::default();
    hashes(out, input, &mut r);
    let s = schemas(out)?;
    let years: BTreeSet<i32> = [table::OBSERVATIONS, table::METRICS, table::TOTALS]
        .iter()
        .flat_map(|t| out.parts(t, None))
        .map(|(y, _)| y)
        .collect();
    let (mut before, mut totals_before) = (Year::new(), BTreeMap::new());
    let mut last = None;
    let review = rules::load(out)?;
    let quarantined = rules::rule_failed(out);
    let change_decimals: BTreeMap<String, u8> =
        out.manifest.rounding.indicators.iter().filter_map(|(code, d)| Some((code.clone(), d.change?))).collect();
    for year in years {
        if last != Some(year - 1) {
            before.clear();
            totals_before.clear();
        }
        let this = read_year(out, year, &mut r)?;
        check_metrics(out, &s, year, &this, &before, &mut r)?;
        check_rates(out, &s, year, &this, &mut r)?;
        let now = totals(&s, &this);
        check_totals(out, &s, year, &now, &totals_before, &mut r)?;
        if let Some(review) = &review {
            let y = rules::Year2 {
                s: &s,
                year,
                this: &this,
                before: &before,
                totals: &now,
                totals_before: &totals_before,
                rule: out.manifest.rounding.rule,
                change_decimals: &change_decimals,
            };
            rules::check(out, review, &quarantined, &y, &mut r)?;
        }
        before = this;
        totals_before = now;
        last = Some(year);
    }
    Ok(r)
}
