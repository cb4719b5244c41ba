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
use sha2::{Digest, Sha256};

use crate::decimal::{Decimal, Rounding};
use crate::model::{col, table};
use crate::readback::{Batch, Outputs, ReadError};

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
}

#[derive(Debug, Deserialize)]
struct AgencyRow {
    code: String,
    #[serde(default)]
    parent: String,
    /// Groups (regions) beside the tree, which total their members' leaves.
    #[serde(default)]
    groups: String,
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
    /// Each leaf agency (one no agency names as parent) with its ancestors
    /// and the groups it or an ancestor is in.
    leaves: BTreeMap<String, Vec<String>>,
}

fn schemas(out: &Outputs) -> Result<Schemas, AuditError> {
    let find = |name: &'static str| {
        out.manifest
            .schemas
            .iter()
            .find(|f| f.path.ends_with(name))
            .map(|f| PathBuf::from(&f.path))
            .ok_or(AuditError::NoSchema(name))
    };
    // The run may have been given other files by name; the manifest keeps
    // them in order: catalog, agencies, units, layouts.
    let catalog =
        out.manifest.schemas.first().map(|f| PathBuf::from(&f.path)).map_or_else(|| find("catalog.csv"), Ok)?;
    let agencies =
        out.manifest.schemas.get(1).map(|f| PathBuf::from(&f.path)).map_or_else(|| find("agencies.csv"), Ok)?;
    let indicators = read_csv::<IndicatorRow>(&catalog)?.into_iter().map(|r| (r.code.clone(), r)).collect();
    let rows: Vec<AgencyRow> = read_csv(&agencies)?;
    let parent: BTreeMap<&str, &str> =
        rows.iter().filter(|r| !r.parent.is_empty()).map(|r| (r.code.as_str(), r.parent.as_str())).collect();
    let parents: BTreeSet<&str> = parent.values().copied().collect();
    let mut leaves = BTreeMap::new();
    for r in &rows {
        if parents.contains(r.code.as_str()) {
            continue;
        }
        let mut up = Vec::new();
        let mut at = r.code.as_str();
        while let Some(&p) = parent.get(at) {
            if up.iter().any(|u: &String| u == p) {
                break;
            }
            up.push(p.to_owned());
            at = p;
        }
        let groups_of = |code: &str| rows.iter().find(|x| x.code == code).map_or("", |x| x.groups.as_str());
        let mut groups: Vec<String> = std::iter::once(r.code.as_str())
            .chain(up.iter().map(String::as_str))
            .flat_map(|c| groups_of(c).split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .collect();
        groups.sort();
        groups.dedup();
        up.extend(groups);
        leaves.insert(r.code.clone(), up);
    }
    Ok(Schemas { indicators, leaves })
}

// ---------------------------------------------------------------- hashes

fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((h.finalize().iter().map(|b| format!("{b:02x}")).collect(), n))
}

fn check_file(r: &mut Report, what: &'static str, path: &Path, sha256: &str, bytes: u64) {
    r.count(what);
    match sha256_file(path) {
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
    for f in std::iter::once(&m.pipeline).chain(&m.schemas) {
        check_file(
            r,
            "pipeline and schema files against their manifest SHA-256",
            Path::new(&f.path),
            &f.sha256,
            f.bytes,
        );
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

/// One recomputed total.
#[derive(Debug, Clone)]
struct Total {
    sum: Q,
    den: Q,
    target: Option<Q>,
    all_targets: bool,
    contributors: Vec<String>,
}

/// Totals of `year` by (parent, indicator): every leaf agency's figure
/// added to each of its ancestors; rates from their summed parts.
fn totals(s: &Schemas, this: &Year) -> BTreeMap<(String, String), Total> {
    let mut t: BTreeMap<(String, String), Total> = BTreeMap::new();
    let zero = || Total { sum: Q::zero(), den: Q::zero(), target: None, all_targets: true, contributors: Vec::new() };
    for ((agency, code), o) in this {
        let Some(ancestors) = s.leaves.get(agency) else { continue };
        for (rate_code, ind) in &s.indicators {
            let (sum, den, target) = if ind.aggregation == "sum" && rate_code == code {
                let Some(v) = &o.value else { continue };
                (v.clone(), Q::zero(), Some(o.target.clone()))
            } else if ind.aggregation == "ratio" && &ind.numerator == code {
                let den = this.get(&(agency.clone(), ind.denominator.clone())).and_then(|d| d.value.clone());
                let (Some(n), Some(d)) = (&o.value, den) else { continue };
                (n.clone(), d, None)
            } else {
                continue;
            };
            for parent in ancestors {
                let e = t.entry((parent.clone(), rate_code.clone())).or_insert_with(zero);
                e.sum += &sum;
                e.den += &den;
                match &target {
                    Some(Some(x)) => e.target = Some(e.target.take().unwrap_or_else(Q::zero) + x),
                    Some(None) => e.all_targets = false,
                    None => {}
                }
                e.contributors.push(agency.clone());
            }
        }
    }
    t
}

/// A total's value: the sum, or Σ numerator / Σ denominator × 100.
fn total_value(t: &Total, ratio: bool) -> Option<Q> {
    if ratio { pct(&t.sum, &t.den, "").ok() } else { Some(t.sum.clone()) }
}

/// Whether a total is too large for the totals' value columns: its sums,
/// its target or its rate.
fn overflows(t: &Total, ratio: bool, rule: Rounding) -> bool {
    let big = |x: &Q| !fits(x, VALUE_DECIMALS, rule);
    big(&t.sum) || big(&t.den) || t.target.as_ref().is_some_and(big) || total_value(t, ratio).is_some_and(|v| big(&v))
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
        let (contributors, missing) = (b.text_list(col::CONTRIBUTORS)?, b.text_list(col::MISSING)?);
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
            let t = now.get(&key);
            let over = t.is_some_and(|t| overflows(t, ratio, rule));
            let mut row = Row { r: &mut *r, what: what.clone(), b, i };
            let mut printed: Vec<&str> = contributors(i);
            let mut expected: Vec<&str> =
                t.map(|t| t.contributors.iter().map(String::as_str).collect()).unwrap_or_default();
            printed.sort_unstable();
            expected.sort_unstable();
            row.r.count("values compared");
            if printed != expected {
                row.r.differ(format!("{what}: contributors are {printed:?}, recomputed {expected:?}"));
            }
            // A missing agency is a leaf under the parent without a figure
            // this year (the run also counts those whose row it quarantined,
            // which the outputs do not hold).
            for m in missing(i) {
                row.r.count("values compared");
                let under = s.leaves.get(m).is_some_and(|up| up.contains(&key.0));
                if !under || expected.contains(&m) {
                    row.r.differ(format!(
                        "{what}: {m} is listed as missing but is not a leaf under it without a figure"
                    ));
                }
            }
            let value = t.and_then(|t| total_value(t, ratio));
            let prev_total = before.get(&key).filter(|p| !overflows(p, ratio, rule));
            let previous: Fig = prev_total.and_then(|p| total_value(p, ratio)).ok_or("no_previous");
            if over {
                for column in
                    [col::VALUE, col::VALUE_UNROUNDED, col::NUMERATOR, col::DENOMINATOR, col::TARGET, col::PREVIOUS]
                {
                    row.decimal(column, None)?;
                }
                for (column, decimals) in [(col::COMPLETION_PCT, dec.completion), (col::GROWTH_PCT, dec.growth)] {
                    row.figure(column, &Err("overflow"), decimals, rule)?;
                }
                row.figure(col::CHANGE_PP, &Err("overflow"), dec.change.unwrap_or(0), rule)?;
                row.boolean(col::MET, None)?;
            } else if ratio {
                let cd = dec.change.unwrap_or(0);
                row.decimal(col::VALUE, value.as_ref().map(|v| round(v, cd, rule)))?;
                row.decimal(col::VALUE_UNROUNDED, value.as_ref().map(|v| round(v, VALUE_DECIMALS, rule)))?;
                row.decimal(col::NUMERATOR, t.map(|t| t.sum.clone()))?;
                row.decimal(col::DENOMINATOR, t.map(|t| t.den.clone()))?;
                row.decimal(col::TARGET, None)?;
                row.decimal(col::PREVIOUS, previous.as_ref().ok().map(|p| round(p, VALUE_DECIMALS, rule)))?;
                row.figure(col::COMPLETION_PCT, &Err("ratio_target_not_aggregated"), dec.completion, rule)?;
                row.figure(col::GROWTH_PCT, &Err("rate_uses_change_pp"), dec.growth, rule)?;
                let ch = match (&value, &previous) {
                    (None, _) => Err("value_missing"),
                    (_, Err(e)) => Err(*e),
                    (Some(a), Ok(p)) => Ok(a - p),
                };
                row.figure(col::CHANGE_PP, &ch, cd, rule)?;
            } else {
                let target: Result<Q, &str> = match t {
                    Some(Total { target: Some(x), all_targets: true, .. }) => Ok(x.clone()),
                    Some(Total { target: Some(_), all_targets: false, .. }) => Err("partial_targets"),
                    _ => Err("no_target"),
                };
                row.decimal(col::VALUE, value.clone())?;
                row.decimal(col::VALUE_UNROUNDED, value.clone())?;
                row.decimal(col::NUMERATOR, None)?;
                row.decimal(col::DENOMINATOR, None)?;
                row.decimal(col::TARGET, target.clone().ok())?;
                row.decimal(col::PREVIOUS, previous.clone().ok())?;
                let c = match (&target, &value) {
                    (Ok(x), _) => completion(value.as_ref(), Some(x), &ind.direction),
                    (Err(e), Some(_)) => Err(*e),
                    (Err(_), None) => Err("value_missing"),
                };
                row.figure(col::COMPLETION_PCT, &c, dec.completion, rule)?;
                row.boolean(col::MET, met(value.as_ref(), target.as_ref().ok(), &ind.direction, &c))?;
                row.figure(col::GROWTH_PCT, &growth(value.as_ref(), &previous, rate), dec.growth, rule)?;
                row.figure(col::CHANGE_PP, &change(value.as_ref(), &previous, rate), dec.change.unwrap_or(0), rule)?;
            }
        }
        Ok(())
    })?;
    for key in now.keys().filter(|k| !seen.contains(*k)) {
        r.differ(format!("totals {year}: no row for {} {}, which has contributors", key.0, key.1));
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
        before = this;
        totals_before = now;
        last = Some(year);
    }
    Ok(r)
}
