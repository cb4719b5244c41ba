//! The columns of each Parquet table, built from the run's rows. The README
//! ("Output") explains every column; keep the two in step.

use arrow::array::RecordBatch;

use super::parquet::{Col, ParquetError, batch, boolean, decimal, int64, text, text_list, text_list_written};
use crate::aggregate::Total;
use crate::checks::{Evaluation, FigureRead, Outcome as CheckOutcome, Unevaluated};
use crate::claims::ClaimCheck;
use crate::config::checks::Rule;
use std::collections::BTreeMap;

use crate::config::{AgencyId, Catalog, IndicatorId, Precision, Register};
use crate::decimal::Rounding;
use crate::decimal::{BASE_SCALE, Decimal, UNROUNDED_SCALE};
use crate::metrics::Metric;
use crate::model::{NullReason, Observation, Origin, Outcome, Superseded};
use crate::model::{col, table};
use crate::normalize::FileReport;
use crate::rates::PartsRate;

fn rounded(o: &Outcome) -> Option<Decimal> {
    o.as_ref().ok().map(|f| f.rounded)
}

fn unrounded(o: &Outcome) -> Option<Decimal> {
    o.as_ref().ok().map(|f| f.unrounded)
}

fn reason<T>(o: &Result<T, NullReason>) -> Option<&'static str> {
    o.as_ref().err().map(|r| r.as_str())
}

type Cols = Vec<Result<Col, ParquetError>>;

/// Arrays that the observations and metrics of one part share (see
/// [`Tables::common`]); each table names them its own way.
pub struct Common {
    agency: Col,
    indicator: Col,
    kind: Col,
    unit: Col,
    value: Col,
    target: Col,
    claimed_completion: Col,
    claimed_growth: Col,
    source_file: Col,
    source_line: Col,
}

/// What the tables and the people's CSVs look codes, names and sources
/// up in.
#[derive(Clone, Copy)]
pub struct Tables<'a> {
    pub catalog: &'a Catalog,
    pub register: &'a Register,
    pub files: &'a [FileReport],
    /// The review rules the `checks` table names.
    pub rules: &'a [Rule],
    /// Column scales of the printed percentages.
    pub scales: Precision,
    /// The rounding rule, named in every metrics row.
    pub rule: Rounding,
}

impl<'a> Tables<'a> {
    /// The tables of a run over `files`, by the catalog, the register and
    /// the rounding rules.
    pub fn of(p: &'a crate::config::Pipeline, files: &'a [FileReport]) -> Self {
        let (catalog, register, rounding) = (&p.catalog, &p.register, &p.rounding);
        Tables { catalog, register, files, rules: &p.checks.0, scales: rounding.column_scales, rule: rounding.rule }
    }

    /// Where a figure came from, as people cite it: `file:line`, or a
    /// workbook's `file [sheet] C7`.
    pub fn cite(&self, origin: &Origin) -> String {
        let mut out = String::new();
        self.write_cite(origin, &mut out);
        out
    }

    // Writing into a string or a column's buffer cannot fail: the results
    // of `write!` below are ignored.
    fn write_cite(&self, origin: &Origin, out: &mut impl std::fmt::Write) {
        let file = self.source_file(origin);
        let _ = match (self.sheet(origin), self.cell(origin)) {
            (Some(sheet), Some(cell)) => write!(out, "{file} [{sheet}] {cell}"),
            _ => write!(out, "{file}:{}", origin.line),
        };
    }

    /// A figure a rule read, in words: `DISPUTE-CLOSED 2021 value = 33000 (city/a.csv:2)`.
    pub fn figure_read(&self, f: &FigureRead) -> String {
        let mut out = String::new();
        self.write_figure_read(f, &mut out);
        out
    }

    /// [`Tables::figure_read`] written into `out` (a column's buffer: no
    /// string per figure).
    fn write_figure_read(&self, f: &FigureRead, out: &mut impl std::fmt::Write) {
        let code = &self.catalog.indicator(f.indicator).code;
        let value = f.value.map(|v| v.trimmed().text());
        let value = value.as_ref().map_or("—", |v| v.as_str());
        let _ = write!(out, "{code} {} {} = {value} (", f.year, f.read.name());
        match &f.origin {
            Some(o) => self.write_cite(o, out),
            None => drop(out.write_str("the contributors' sum")),
        }
        let _ = out.write_char(')');
    }

    /// Why a rule was not evaluated, in words.
    pub fn unevaluated(&self, u: &Unevaluated) -> String {
        match u {
            Unevaluated::Missing { read, indicator, year } => {
                format!("no {} of {} for {year}", read.name(), self.catalog.indicator(*indicator).code)
            }
            Unevaluated::NoGrowth { indicator, why } => {
                format!("no growth of {}: {why}", self.catalog.indicator(*indicator).code)
            }
            Unevaluated::DivisionByZero => "division by zero".to_owned(),
        }
    }

    /// Every review rule evaluated for one year, by rule, then agency.
    pub fn checks(&self, rows: &[&Evaluation]) -> Result<RecordBatch, ParquetError> {
        let rule = |e: &Evaluation| &self.rules[e.rule as usize];
        let items = rows.iter().map(|e| e.reads.len()).sum();
        let sides: Vec<(Option<String>, Option<String>)> =
            rows.iter().map(|e| (e.left.as_ref().map(|l| l.text()), e.right.as_ref().map(|r| r.text()))).collect();
        let why: Vec<Option<String>> =
            rows.iter().map(|e| e.unevaluated.as_ref().map(|u| self.unevaluated(u))).collect();
        let tolerance: Vec<String> = self.rules.iter().map(|r| r.tolerance.text()).collect();
        let quarantined = |e: &Evaluation| {
            e.outcome == CheckOutcome::Fail && rule(e).severity == crate::config::checks::Severity::Error
        };
        let cols = vec![
            Ok(text(col::RULE, rows.iter().map(|e| Some(rule(e).id.as_str())))),
            Ok(text(col::RULE_NAME_ZH, rows.iter().map(|e| Some(rule(e).name_zh.as_str())))),
            Ok(text(col::RULE_NAME, rows.iter().map(|e| Some(rule(e).name_en.as_str())))),
            Ok(text(col::SEVERITY, rows.iter().map(|e| Some(rule(e).severity.name())))),
            Ok(text(col::AGENCY, rows.iter().map(|e| Some(self.agency(e.key.0))))),
            Ok(text(col::AGENCY_NAME, rows.iter().map(|e| Some(self.register.agency(e.key.0).name())))),
            Ok(text(col::EXPRESSION, rows.iter().map(|e| Some(rule(e).expression.as_str())))),
            Ok(text(col::TOLERANCE, rows.iter().map(|e| Some(tolerance[e.rule as usize].as_str())))),
            Ok(text(col::CHECK_OUTCOME, rows.iter().map(|e| Some(e.outcome.name())))),
            Ok(text(col::COMPARISON, rows.iter().map(|e| e.op.map(|o| o.symbol())))),
            Ok(text(col::LEFT, sides.iter().map(|s| s.0.as_deref()))),
            Ok(text(col::RIGHT, sides.iter().map(|s| s.1.as_deref()))),
            Ok(text(col::NOT_EVALUATED_REASON, why.iter().map(|w| w.as_deref()))),
            Ok(text(col::EXPLANATION, rows.iter().map(|e| e.note.as_deref()))),
            Ok(boolean(col::QUARANTINED, rows.iter().map(|e| Some(quarantined(e))))),
            Ok(text_list_written(col::FIGURES_READ, items, rows.iter().map(|e| &e.reads), |f, out| {
                self.write_figure_read(f, out)
            })),
        ];
        batch(table::CHECKS, cols)
    }

    /// Every table's columns as the manifest lists them.
    pub fn column_infos(&self) -> Result<BTreeMap<String, Vec<super::manifest::ColumnInfo>>, ParquetError> {
        Ok(self
            .schemas()?
            .into_iter()
            .map(|(name, schema)| (name.to_owned(), super::manifest::ColumnInfo::of(&schema)))
            .collect())
    }

    fn agency(&self, a: AgencyId) -> &'a str {
        &self.register.agency(a).code
    }

    pub fn source_file(&self, origin: &Origin) -> &'a str {
        &self.files[origin.file.0 as usize].path
    }

    /// A workbook's sheet the row was read from (`None`: a CSV file).
    pub fn sheet(&self, origin: &Origin) -> Option<&'a str> {
        self.files[origin.file.0 as usize].sheet.as_deref()
    }

    /// A workbook row's cell (`C7`): the value's column and the row.
    fn cell(&self, origin: &Origin) -> Option<String> {
        self.sheet(origin)?;
        Some(format!("{}{}", crate::ingest::workbook::column_letters(origin.column), origin.line))
    }

    fn source_field(&self, origin: &Origin) -> &'a str {
        let header = &self.files[origin.file.0 as usize].header;
        header.get(origin.column as usize).map_or("", String::as_str)
    }

    /// The columns that observations and metrics both carry, built once
    /// for both tables.
    pub fn common(&self, rows: &[&Observation]) -> Result<Common, ParquetError> {
        let ind = |o: &Observation| self.catalog.indicator(o.key.indicator);
        Ok(Common {
            agency: text(col::AGENCY, rows.iter().map(|o| Some(self.agency(o.key.agency)))),
            indicator: text(col::INDICATOR, rows.iter().map(|o| Some(ind(o).code.as_str()))),
            kind: text(col::KIND, rows.iter().map(|o| Some(ind(o).kind.name()))),
            unit: text(col::UNIT, rows.iter().map(|o| Some(ind(o).base_unit.as_str()))),
            value: decimal(col::VALUE, BASE_SCALE, rows.iter().map(|o| o.value))?,
            target: decimal(col::TARGET, BASE_SCALE, rows.iter().map(|o| o.target))?,
            claimed_completion: decimal(
                col::CLAIMED_COMPLETION,
                BASE_SCALE,
                rows.iter().map(|o| o.claimed_completion),
            )?,
            claimed_growth: decimal(col::CLAIMED_GROWTH, BASE_SCALE, rows.iter().map(|o| o.claimed_growth))?,
            source_file: text(col::SOURCE_FILE, rows.iter().map(|o| Some(self.source_file(&o.origin)))),
            source_line: int64(col::SOURCE_LINE, rows.iter().map(|o| Some(o.origin.line as i64))),
        })
    }

    /// Columns of observations and of their superseded history.
    fn observation_cols(&self, rows: &[&Observation], c: &Common) -> Cols {
        let ind = |o: &Observation| self.catalog.indicator(o.key.indicator);
        vec![
            Ok(c.agency.clone()),
            Ok(text(col::AGENCY_NAME, rows.iter().map(|o| Some(self.register.agency(o.key.agency).name())))),
            Ok(c.indicator.clone()),
            Ok(text(col::INDICATOR_NAME, rows.iter().map(|o| Some(ind(o).name_zh.as_str())))),
            Ok(c.kind.clone()),
            Ok(c.value.clone()),
            Ok(c.target.clone()),
            Ok(c.unit.clone()),
            Ok(text(col::UNIT_SENT, rows.iter().map(|o| Some(o.unit.as_str())))),
            Ok(int64(col::UNIT_POWER, rows.iter().map(|o| Some(i64::from(o.power))))),
            Ok(c.claimed_completion.clone()),
            Ok(c.claimed_growth.clone()),
            Ok(int64(
                col::CLAIMED_COMPLETION_DECIMALS,
                rows.iter().map(|o| o.claimed_completion.map(|d| d.scale().into())),
            )),
            Ok(int64(col::CLAIMED_GROWTH_DECIMALS, rows.iter().map(|o| o.claimed_growth.map(|d| d.scale().into())))),
            Ok(text(col::NOTE, rows.iter().map(|o| o.note.as_deref()))),
            Ok(text(col::VALUE_RAW, rows.iter().map(|o| Some(o.value_raw.as_str())))),
            Ok(text(col::TARGET_RAW, rows.iter().map(|o| o.target_raw.as_deref()))),
            Ok(c.source_file.clone()),
            Ok(text(
                col::SOURCE_SHA256,
                rows.iter().map(|o| Some(self.files[o.origin.file.0 as usize].sha256.as_str())),
            )),
            Ok(c.source_line.clone()),
            Ok(int64(
                col::SOURCE_BYTE,
                rows.iter().map(|o| self.sheet(&o.origin).is_none().then_some(o.origin.byte as i64)),
            )),
            Ok(text(col::SOURCE_FIELD, rows.iter().map(|o| Some(self.source_field(&o.origin))))),
            Ok(text(col::SOURCE_SHEET, rows.iter().map(|o| self.sheet(&o.origin)))),
            Ok(text(
                col::SOURCE_CELL,
                rows.iter().map(|o| self.cell(&o.origin)).collect::<Vec<_>>().iter().map(|c| c.as_deref()),
            )),
        ]
    }

    /// Every table's name and schema, as the files have them (built from
    /// no rows).
    pub fn schemas(&self) -> Result<Vec<(&'static str, arrow::datatypes::SchemaRef)>, ParquetError> {
        let common = self.common(&[])?;
        Ok(vec![
            (table::OBSERVATIONS, self.observations(&[], &common)?.schema()),
            (table::METRICS, self.metrics(&[], &common)?.schema()),
            (table::RATES, self.rates(&[])?.schema()),
            (table::TOTALS, self.totals(&[])?.schema()),
            (table::SUPERSEDED, self.superseded(&[])?.schema()),
            (table::CLAIMS, self.claims(&[])?.schema()),
            (table::CHECKS, self.checks(&[])?.schema()),
        ])
    }

    pub fn observations(&self, rows: &[&Observation], common: &Common) -> Result<RecordBatch, ParquetError> {
        batch(table::OBSERVATIONS, self.observation_cols(rows, common))
    }

    pub fn superseded(&self, rows: &[&Superseded]) -> Result<RecordBatch, ParquetError> {
        let obs: Vec<&Observation> = rows.iter().map(|s| &s.observation).collect();
        let mut cols = self.observation_cols(&obs, &self.common(&obs)?);
        cols.push(Ok(text(col::SUPERSEDED_BY_FILE, rows.iter().map(|s| Some(self.source_file(&s.by))))));
        cols.push(Ok(int64(col::SUPERSEDED_BY_LINE, rows.iter().map(|s| Some(s.by.line as i64)))));
        batch(table::SUPERSEDED, cols)
    }

    /// `rows` in the order of the `common` columns.
    pub fn metrics(&self, rows: &[(&Observation, &Metric)], c: &Common) -> Result<RecordBatch, ParquetError> {
        let (p, scales) = (self, self.scales);
        let ind = |o: &Observation| p.catalog.indicator(o.key.indicator);
        let cols = vec![
            Ok(c.agency.clone()),
            Ok(c.indicator.clone()),
            Ok(c.kind.clone()),
            Ok(text(col::DIRECTION, rows.iter().map(|(o, _)| Some(ind(o).direction.name())))),
            Ok(c.unit.clone()),
            Ok(c.value.renamed(col::ACTUAL)),
            Ok(c.target.clone()),
            decimal(col::COMPLETION_PCT, scales.completion, rows.iter().map(|(_, m)| rounded(&m.completion))),
            decimal(col::COMPLETION_PCT_UNROUNDED, UNROUNDED_SCALE, rows.iter().map(|(_, m)| unrounded(&m.completion))),
            Ok(text(col::COMPLETION_NULL_REASON, rows.iter().map(|(_, m)| reason(&m.completion)))),
            Ok(boolean(col::MET, rows.iter().map(|(_, m)| m.met))),
            decimal(col::PREVIOUS, BASE_SCALE, rows.iter().map(|(_, m)| m.previous.ok())),
            decimal(col::GROWTH_PCT, scales.growth, rows.iter().map(|(_, m)| rounded(&m.growth))),
            decimal(col::GROWTH_PCT_UNROUNDED, UNROUNDED_SCALE, rows.iter().map(|(_, m)| unrounded(&m.growth))),
            Ok(text(col::GROWTH_NULL_REASON, rows.iter().map(|(_, m)| reason(&m.growth)))),
            decimal(col::CHANGE_PP, scales.change, rows.iter().map(|(_, m)| rounded(&m.change))),
            decimal(col::CHANGE_PP_UNROUNDED, UNROUNDED_SCALE, rows.iter().map(|(_, m)| unrounded(&m.change))),
            Ok(text(col::CHANGE_NULL_REASON, rows.iter().map(|(_, m)| reason(&m.change)))),
            Ok(c.claimed_completion.clone()),
            Ok(boolean(col::CLAIMED_COMPLETION_MATCHES, rows.iter().map(|(_, m)| m.completion_claim_ok))),
            Ok(c.claimed_growth.clone()),
            Ok(boolean(col::CLAIMED_GROWTH_MATCHES, rows.iter().map(|(_, m)| m.growth_claim_ok))),
            Ok(boolean(col::RATE_MATCHES_PARTS, rows.iter().map(|(_, m)| m.rate_matches_parts))),
            Ok(text(col::ROUNDING, rows.iter().map(|_| Some(p.rule.name())))),
            Ok(c.source_file.clone()),
            Ok(c.source_line.clone()),
        ];
        batch(table::METRICS, cols)
    }

    /// Rates recomputed from their parts, one year's, sorted by key.
    pub fn rates(&self, rows: &[&PartsRate]) -> Result<RecordBatch, ParquetError> {
        let (p, scales) = (self, self.scales);
        let ind = |r: &PartsRate| p.catalog.indicator(r.key.indicator);
        let part = |id: Option<IndicatorId>| id.map(|id| p.catalog.indicator(id).code.as_str());
        let sent = |r: &PartsRate| r.sent.map(|s| s.origin);
        let cols = vec![
            Ok(text(col::AGENCY, rows.iter().map(|r| Some(self.agency(r.key.agency))))),
            Ok(text(col::INDICATOR, rows.iter().map(|r| Some(ind(r).code.as_str())))),
            Ok(text(col::NUMERATOR_INDICATOR, rows.iter().map(|r| part(ind(r).numerator)))),
            Ok(text(col::DENOMINATOR_INDICATOR, rows.iter().map(|r| part(ind(r).denominator)))),
            decimal(col::NUMERATOR, BASE_SCALE, rows.iter().map(|r| Some(r.numerator.value))),
            decimal(col::DENOMINATOR, BASE_SCALE, rows.iter().map(|r| Some(r.denominator.value))),
            decimal(col::RATE_FROM_PARTS, scales.change, rows.iter().map(|r| rounded(&r.figure))),
            decimal(col::RATE_FROM_PARTS_UNROUNDED, UNROUNDED_SCALE, rows.iter().map(|r| unrounded(&r.figure))),
            Ok(text(col::RATE_FROM_PARTS_NULL_REASON, rows.iter().map(|r| reason(&r.figure)))),
            decimal(col::SENT, BASE_SCALE, rows.iter().map(|r| r.sent.map(|s| s.value))),
            Ok(int64(col::SENT_DECIMALS, rows.iter().map(|r| r.sent.map(|s| s.value.scale().into())))),
            Ok(boolean(col::DERIVED, rows.iter().map(|r| Some(r.derived())))),
            Ok(boolean(col::MATCHES, rows.iter().map(|r| r.matches))),
            Ok(text(col::NUMERATOR_SOURCE_FILE, rows.iter().map(|r| Some(self.source_file(&r.numerator.origin))))),
            Ok(int64(col::NUMERATOR_SOURCE_LINE, rows.iter().map(|r| Some(r.numerator.origin.line as i64)))),
            Ok(text(col::DENOMINATOR_SOURCE_FILE, rows.iter().map(|r| Some(self.source_file(&r.denominator.origin))))),
            Ok(int64(col::DENOMINATOR_SOURCE_LINE, rows.iter().map(|r| Some(r.denominator.origin.line as i64)))),
            Ok(text(col::SOURCE_FILE, rows.iter().map(|r| sent(r).map(|o| self.source_file(&o))))),
            Ok(int64(col::SOURCE_LINE, rows.iter().map(|r| sent(r).map(|o| o.line as i64)))),
        ];
        batch(table::RATES, cols)
    }

    /// Every claim of one year, in key order of the claiming rows.
    pub fn claims(&self, rows: &[&ClaimCheck]) -> Result<RecordBatch, ParquetError> {
        let ind = |c: &ClaimCheck| self.catalog.indicator(c.key.indicator);
        let cause = |c: &ClaimCheck| c.diagnosis.as_ref().map(|d| d.cause.as_str());
        let cols = vec![
            Ok(text(col::AGENCY, rows.iter().map(|c| Some(self.agency(c.key.agency))))),
            Ok(text(col::INDICATOR, rows.iter().map(|c| Some(ind(c).code.as_str())))),
            Ok(text(col::CLAIM, rows.iter().map(|c| Some(c.against.claim())))),
            Ok(text(col::AGAINST, rows.iter().map(|c| Some(c.against.as_str())))),
            decimal(col::CLAIMED, BASE_SCALE, rows.iter().map(|c| Some(c.claimed))),
            Ok(int64(col::CLAIMED_DECIMALS, rows.iter().map(|c| Some(c.claimed.scale().into())))),
            decimal(col::COMPUTED, BASE_SCALE, rows.iter().map(|c| c.computed.ok())),
            decimal(col::COMPUTED_UNROUNDED, UNROUNDED_SCALE, rows.iter().map(|c| c.unrounded)),
            Ok(text(col::COMPUTED_NULL_REASON, rows.iter().map(|c| reason(&c.computed)))),
            Ok(boolean(col::CLAIM_MATCHES, rows.iter().map(|c| c.matches))),
            Ok(text(col::DIAGNOSIS, rows.iter().map(|c| cause(c)))),
            Ok(text(col::DETAIL_ZH, rows.iter().map(|c| c.diagnosis.as_ref().map(|d| d.detail.zh.as_str())))),
            Ok(text(col::DETAIL, rows.iter().map(|c| c.diagnosis.as_ref().map(|d| d.detail.en.as_str())))),
            Ok(text(col::SOURCE_FILE, rows.iter().map(|c| Some(self.source_file(&c.origin))))),
            Ok(int64(col::SOURCE_LINE, rows.iter().map(|c| Some(c.origin.line as i64)))),
        ];
        batch(table::CLAIMS, cols)
    }

    pub fn totals(&self, rows: &[&Total]) -> Result<RecordBatch, ParquetError> {
        let (p, scales) = (self, self.scales);
        let ind = |t: &Total| p.catalog.indicator(t.key.indicator);
        let part = |id: Option<IndicatorId>| id.map(|id| p.catalog.indicator(id).code.as_str());
        let details: Vec<Option<(String, String)>> =
            rows.iter().map(|t| crate::aggregate::findings_text(t, |a| self.agency(a))).collect();
        let cols = vec![
            Ok(text(col::AGENCY, rows.iter().map(|t| Some(self.agency(t.key.agency))))),
            Ok(text(col::AGENCY_NAME, rows.iter().map(|t| Some(p.register.agency(t.key.agency).name())))),
            Ok(text(col::INDICATOR, rows.iter().map(|t| Some(ind(t).code.as_str())))),
            Ok(text(col::KIND, rows.iter().map(|t| Some(ind(t).kind.name())))),
            Ok(text(col::AGGREGATION, rows.iter().map(|t| Some(t.aggregation.name())))),
            Ok(text(col::NUMERATOR_INDICATOR, rows.iter().map(|t| part(ind(t).numerator)))),
            Ok(text(col::DENOMINATOR_INDICATOR, rows.iter().map(|t| part(ind(t).denominator)))),
            Ok(text(col::UNIT, rows.iter().map(|t| Some(ind(t).base_unit.as_str())))),
            decimal(col::VALUE, BASE_SCALE, rows.iter().map(|t| t.value)),
            decimal(col::VALUE_UNROUNDED, BASE_SCALE, rows.iter().map(|t| t.value_unrounded)),
            decimal(col::NUMERATOR, BASE_SCALE, rows.iter().map(|t| t.numerator)),
            decimal(col::DENOMINATOR, BASE_SCALE, rows.iter().map(|t| t.denominator)),
            decimal(col::TARGET, BASE_SCALE, rows.iter().map(|t| t.target.ok())),
            decimal(col::PREVIOUS, BASE_SCALE, rows.iter().map(|t| t.previous.ok())),
            decimal(col::COMPLETION_PCT, scales.completion, rows.iter().map(|t| rounded(&t.completion))),
            decimal(col::COMPLETION_PCT_UNROUNDED, UNROUNDED_SCALE, rows.iter().map(|t| unrounded(&t.completion))),
            Ok(text(col::COMPLETION_NULL_REASON, rows.iter().map(|t| reason(&t.completion)))),
            Ok(boolean(col::MET, rows.iter().map(|t| t.met))),
            decimal(col::GROWTH_PCT, scales.growth, rows.iter().map(|t| rounded(&t.growth))),
            decimal(col::GROWTH_PCT_UNROUNDED, UNROUNDED_SCALE, rows.iter().map(|t| unrounded(&t.growth))),
            Ok(text(col::GROWTH_NULL_REASON, rows.iter().map(|t| reason(&t.growth)))),
            decimal(col::CHANGE_PP, scales.change, rows.iter().map(|t| rounded(&t.change))),
            decimal(col::CHANGE_PP_UNROUNDED, UNROUNDED_SCALE, rows.iter().map(|t| unrounded(&t.change))),
            Ok(text(col::CHANGE_NULL_REASON, rows.iter().map(|t| reason(&t.change)))),
            Ok(text(col::VALUE_BASIS, rows.iter().map(|t| Some(t.scope.name())))),
            Ok(text(col::REPORTED_BY, rows.iter().map(|t| t.report.map(|r| self.agency(r.by))))),
            Ok(text(col::REPORTED_SOURCE_FILE, rows.iter().map(|t| t.report.map(|r| self.source_file(&r.origin))))),
            Ok(int64(col::REPORTED_SOURCE_LINE, rows.iter().map(|t| t.report.map(|r| r.origin.line as i64)))),
            Ok(text(
                col::REPORTED_SOURCE_CELL,
                rows.iter()
                    .map(|t| t.report.and_then(|r| self.cell(&r.origin)))
                    .collect::<Vec<_>>()
                    .iter()
                    .map(|c| c.as_deref()),
            )),
            decimal(col::MEMBERS_VALUE, BASE_SCALE, rows.iter().map(|t| t.members)),
            decimal(col::UNALLOCATED, BASE_SCALE, rows.iter().map(|t| t.unallocated)),
            Ok(text(col::GROWTH_BASIS, rows.iter().map(|t| Some(t.basis.name())))),
            decimal(col::COMPARED, BASE_SCALE, rows.iter().map(|t| t.compared)),
            Ok(int64(col::N_AGENCIES, rows.iter().map(|t| Some(t.contributors.len() as i64)))),
            Ok(int64(col::N_MISSING, rows.iter().map(|t| Some(t.missing.len() as i64)))),
            Ok(text_list(
                col::CONTRIBUTORS,
                rows.iter().map(|t| t.contributors.len()).sum(),
                rows.iter().map(|t| t.contributors.iter().map(|&a| self.agency(a))),
            )),
            Ok(text_list(
                col::MISSING,
                rows.iter().map(|t| t.missing.len()).sum(),
                rows.iter().map(|t| t.missing.iter().map(|&a| self.agency(a))),
            )),
            Ok(int64(col::N_NOT_COMPARED, rows.iter().map(|t| Some(t.not_compared.len() as i64)))),
            Ok(text_list(
                col::NOT_COMPARED,
                rows.iter().map(|t| t.not_compared.len()).sum(),
                rows.iter().map(|t| t.not_compared.iter().map(|&a| self.agency(a))),
            )),
            Ok(text_list(
                col::FINDINGS,
                rows.iter().map(|t| t.findings.len()).sum(),
                rows.iter().map(|t| t.findings.iter().map(|f| f.name())),
            )),
            Ok(text(col::FINDING_DETAIL_ZH, details.iter().map(|d| d.as_ref().map(|d| d.0.as_str())))),
            Ok(text(col::FINDING_DETAIL, details.iter().map(|d| d.as_ref().map(|d| d.1.as_str())))),
        ];
        batch(table::TOTALS, cols)
    }
}
