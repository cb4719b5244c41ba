//! The pipeline file (`pipelines/*.toml`): where the inputs and outputs
//! are, which schemas apply and how percentages are rounded.
//!
//! [`PipelineFile`] is what the user wrote; [`Pipeline`] is the resolved
//! plan: paths made absolute (relative paths are relative to the pipeline
//! file, as in Cargo), command-line overrides applied, schemas loaded and
//! every error of all of them reported at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{
    Catalog, ConfigError, ConfigErrors, IndicatorId, Kind, Layout, Layouts, Register, Source, SourceId, Sources, Units,
    YearOnYear, load_toml,
};
use crate::decimal::Rounding;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineFile {
    pub inputs: InputsSection,
    pub schemas: SchemasSection,
    pub output: OutputSection,
    #[serde(default)]
    pub rounding: RoundingSection,
    #[serde(default)]
    pub checks: ChecksSection,
    /// How to read files that do not follow the contract's layouts.
    #[serde(default)]
    pub sources: Vec<super::sources::SourceEntry>,
    /// `sdmx.csv`, when given.
    #[serde(default)]
    pub sdmx: Option<SdmxSection>,
    /// What keeps a bad night from publishing itself (`crate::guards`).
    #[serde(default)]
    pub guards: Guards,
    /// The file's text, for the lines of errors found in `compile`.
    #[serde(skip)]
    text: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputsSection {
    /// Directory of submission CSVs (searched recursively).
    pub submissions: PathBuf,
    /// `auto` (BOM → UTF-8, valid UTF-8, else GB18030), `utf-8` or `gb18030`.
    #[serde(default)]
    pub encoding: EncodingChoice,
    /// `auto` (told by the header) or a layout every file must have.
    #[serde(default)]
    pub layout: LayoutChoice,
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
}

fn default_delimiter() -> char {
    ','
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EncodingChoice {
    #[default]
    Auto,
    #[serde(rename = "utf-8")]
    Utf8,
    Gb18030,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayoutChoice {
    #[default]
    Auto,
    Long,
    Wide,
}

impl LayoutChoice {
    pub fn pinned(self) -> Option<Layout> {
        match self {
            LayoutChoice::Auto => None,
            LayoutChoice::Long => Some(Layout::Long),
            LayoutChoice::Wide => Some(Layout::Wide),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemasSection {
    pub catalog: PathBuf,
    pub agencies: PathBuf,
    pub units: PathBuf,
    pub layouts: PathBuf,
    /// The review rules (审核公式), if the office keeps any.
    #[serde(default)]
    pub rules: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    pub dir: PathBuf,
    /// Rows per Parquet row group.
    #[serde(default = "default_row_group_rows")]
    pub row_group_rows: usize,
    /// zstd level of the Parquet files.
    #[serde(default = "default_zstd_level")]
    pub zstd_level: i32,
    /// Observations per bucket of agencies (estimated from the input's
    /// size): how much of the input is held in memory at once.
    #[serde(default = "default_bucket_rows")]
    pub bucket_rows: usize,
    /// The audit workbook (`audit.xlsx`) is written when the run has at
    /// most this many observations (0: never): a spreadsheet of formulas
    /// costs about 80 µs and 6 kB of memory a row to write, and past some
    /// tens of thousands of rows it is too slow to open.
    #[serde(default = "default_workbook_max_rows")]
    pub workbook_max_rows: u64,
    /// The people's CSVs: `utf-8` (with a BOM) or `gb18030` (for Excel
    /// versions that ignore the BOM).
    #[serde(default)]
    pub csv_encoding: CsvEncoding,
    /// `summary/<year>/indicators.csv` (a row per agency and indicator) is
    /// written when the run accepted at most this many rows (0: never): a
    /// summary stays a size a person opens; the full detail is the Parquet.
    #[serde(default = "default_summary_max_rows")]
    pub summary_max_rows: u64,
}

fn default_summary_max_rows() -> u64 {
    100_000
}

/// Rows of one spreadsheet sheet (Excel's 1 048 576, less headers).
const MAX_WORKBOOK_ROWS: u64 = 1_000_000;

fn default_workbook_max_rows() -> u64 {
    20_000
}

fn default_bucket_rows() -> usize {
    200_000
}

fn default_row_group_rows() -> usize {
    256 * 1024
}

/// zstd's fastest level: on yearbook's tables, level 3 made files no
/// smaller (21 and 29 MB for a million rows at both) and the run 0.7 s
/// slower.
fn default_zstd_level() -> i32 {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundingSection {
    #[serde(default)]
    pub rule: Rounding,
    #[serde(default = "default_completion_decimals")]
    pub completion_decimals: u8,
    #[serde(default = "default_growth_decimals")]
    pub growth_decimals: u8,
    /// Per indicator code: other decimals for completion, growth or a
    /// rate's change in percentage points (default: the catalog's
    /// `decimals`).
    #[serde(default)]
    pub indicators: BTreeMap<toml::Spanned<String>, PrecisionOverride>,
}

impl Default for RoundingSection {
    fn default() -> Self {
        RoundingSection {
            rule: Rounding::default(),
            completion_decimals: default_completion_decimals(),
            growth_decimals: default_growth_decimals(),
            indicators: BTreeMap::new(),
        }
    }
}

fn default_completion_decimals() -> u8 {
    1
}

fn default_growth_decimals() -> u8 {
    2
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrecisionOverride {
    pub completion_decimals: Option<u8>,
    pub growth_decimals: Option<u8>,
    pub change_decimals: Option<u8>,
}

/// How the people's CSVs are encoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
pub enum CsvEncoding {
    /// UTF-8 with a BOM, which Excel, WPS and LibreOffice read as such.
    #[default]
    #[serde(rename = "utf-8")]
    Utf8,
    /// GB18030, no BOM: what Excel on a Chinese Windows reads without being
    /// told (older versions ignore a UTF-8 BOM).
    #[serde(rename = "gb18030")]
    Gb18030,
    /// UTF-8 without a BOM: for machines (`sdmx.csv`), not a setting.
    #[serde(skip)]
    Utf8NoBom,
}

/// What every row of a run's `sdmx.csv` starts with (`crate::export::sdmx`).
#[derive(Debug, Clone)]
pub struct SdmxStructure {
    pub structure_id: String,
    pub action: String,
}

/// The SDMX-CSV export: the dataflow the figures are for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SdmxSection {
    /// `AGENCY:DATAFLOW(VERSION)`, as the dissemination system knows it.
    pub structure_id: toml::Spanned<String>,
    /// `I` (information, the default), `A` (append), `R` (replace) or `D`
    /// (delete), as SDMX-CSV 2.0 spells them.
    #[serde(default = "default_sdmx_action")]
    pub action: toml::Spanned<String>,
}

fn default_sdmx_action() -> toml::Spanned<String> {
    toml::Spanned::new(0..0, "I".to_owned())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksSection {
    #[serde(default = "default_first_year")]
    pub first_year: i32,
    #[serde(default = "default_last_year")]
    pub last_year: i32,
}

impl Default for ChecksSection {
    fn default() -> Self {
        ChecksSection { first_year: default_first_year(), last_year: default_last_year() }
    }
}

fn default_first_year() -> i32 {
    1949
}

fn default_last_year() -> i32 {
    2100
}

/// The pipeline's `[guards]`, on by default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guards {
    /// Files a run needs in its inbox (an empty or unmounted inbox is no
    /// night's data).
    #[serde(default = "one")]
    pub min_files: u64,
    /// The share of the published figures (values) a run may withdraw, in
    /// percent.
    #[serde(default = "five")]
    pub max_withdrawn_pct: u64,
    /// The share of the published figures (values) a run may revise, in
    /// percent.
    #[serde(default = "twenty")]
    pub max_revised_pct: u64,
    /// `run --accept`: publish whatever trips.
    #[serde(skip)]
    pub accept: bool,
}

fn one() -> u64 {
    1
}

fn five() -> u64 {
    5
}

fn twenty() -> u64 {
    20
}

impl Default for Guards {
    fn default() -> Self {
        Guards { min_files: one(), max_withdrawn_pct: five(), max_revised_pct: twenty(), accept: false }
    }
}

/// Decimals of the printed percentages of one indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Precision {
    pub completion: u8,
    pub growth: u8,
    /// A rate's change in percentage points, and a ratio total.
    pub change: u8,
}

/// What the command line may override in a pipeline file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub submissions: Option<PathBuf>,
    pub catalog: Option<PathBuf>,
    pub agencies: Option<PathBuf>,
    pub rules: Option<PathBuf>,
    pub out: Option<PathBuf>,
}

/// The resolved pipeline: everything a run needs, checked, in the parts
/// the stages take (each stage gets the parts it uses, not the whole).
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Where the pipeline file, the inputs, the schemas and the outputs are.
    pub paths: Paths,
    pub catalog: Catalog,
    pub register: Register,
    pub units: Units,
    pub layouts: Layouts,
    pub sources: Sources,
    pub reading: Reading,
    /// The years a submission may report.
    pub years: std::ops::RangeInclusive<i32>,
    pub rounding: RoundingRules,
    pub output: OutputSettings,
    /// The review rules (none without a rules file).
    pub checks: super::checks::Rules,
    pub guards: Guards,
}

/// The files a run reads and the directory it writes, resolved.
#[derive(Debug, Clone)]
pub struct Paths {
    pub pipeline: PathBuf,
    pub submissions: PathBuf,
    pub out: PathBuf,
    pub catalog: PathBuf,
    pub agencies: PathBuf,
    pub units: PathBuf,
    pub layouts: PathBuf,
    pub rules: Option<PathBuf>,
}

impl Paths {
    /// The schema files, in the manifest's order (the rules file last,
    /// when there is one).
    pub fn schemas(&self) -> Vec<&Path> {
        let mut out = vec![self.catalog.as_path(), &self.agencies, &self.units, &self.layouts];
        out.extend(self.rules.as_deref());
        out
    }
}

/// How the submissions' bytes are read.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    pub encoding: EncodingChoice,
    /// A layout every file must have, or `None` to tell each by its header.
    pub layout: Option<Layout>,
    pub delimiter: u8,
}

/// How each printed percentage is rounded: one rule, decimals per
/// indicator.
#[derive(Debug, Clone)]
pub struct RoundingRules {
    pub rule: Rounding,
    /// By indicator id.
    precision: Vec<Precision>,
    /// The largest decimals of each kind of percentage over the catalog:
    /// the scale of its Parquet column.
    pub column_scales: Precision,
}

impl RoundingRules {
    pub fn of(&self, id: IndicatorId) -> Precision {
        self.precision[id.0 as usize]
    }
}

/// How the outputs are written.
#[derive(Debug, Clone)]
pub struct OutputSettings {
    pub row_group_rows: usize,
    pub zstd_level: i32,
    pub bucket_rows: usize,
    pub workbook_max_rows: u64,
    pub csv_encoding: CsvEncoding,
    pub sdmx: Option<SdmxStructure>,
    pub summary_max_rows: u64,
    /// Whether a run reuses what the previous run into the same directory
    /// cached (`crate::cache`); `run --full` turns it off.
    pub incremental: bool,
}

/// Decimals above this would not fit a percentage beside its integer digits
/// in a Decimal128.
const MAX_PERCENT_DECIMALS: u8 = 6;

impl PipelineFile {
    pub fn load(path: &Path) -> Result<PipelineFile, ConfigErrors> {
        match load_toml::<PipelineFile>(path) {
            Ok(file) => Ok(PipelineFile { text: file.text, ..file.value }),
            // The reader stops at the first mistake: each section read on
            // its own finds the others, all reported at once.
            Err(first) => {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                let each = Self::section_errors(path, &text);
                Err(if each.is_empty() { first } else { ConfigErrors(each) })
            }
        }
    }

    /// The mistakes of each section of the pipeline file at `path`, each
    /// section read on its own (none when the file does not parse as TOML).
    fn section_errors(path: &Path, text: &str) -> Vec<ConfigError> {
        use serde::de::DeserializeOwned;
        use toml::de::{DeTable, ValueDeserializer};
        fn read<T: DeserializeOwned>(v: &toml::Spanned<toml::de::DeValue<'_>>) -> Result<(), toml::de::Error> {
            T::deserialize(ValueDeserializer::from(v.clone())).map(drop)
        }
        let Ok(doc) = DeTable::parse(text) else { return Vec::new() };
        let mut errors = Vec::new();
        for (key, value) in doc.get_ref() {
            let result = match key.get_ref().as_ref() {
                "inputs" => read::<InputsSection>(value),
                "schemas" => read::<SchemasSection>(value),
                "output" => read::<OutputSection>(value),
                "rounding" => read::<RoundingSection>(value),
                "checks" => read::<ChecksSection>(value),
                "sources" => read::<Vec<super::sources::SourceEntry>>(value),
                "sdmx" => read::<SdmxSection>(value),
                "guards" => read::<Guards>(value),
                other => {
                    let line = super::line_at(text, key.span().start);
                    errors.push(ConfigError::new(path, line, format!("unknown section `{other}`")));
                    continue;
                }
            };
            if let Err(e) = result {
                let line = e.span().or_else(|| Some(value.span())).and_then(|s| super::line_at(text, s.start));
                errors.push(ConfigError::new(path, line, e.message().to_owned()));
            }
        }
        for required in ["inputs", "schemas", "output"] {
            if !doc.get_ref().keys().any(|k| k.get_ref().as_ref() == required) {
                errors.push(ConfigError::new(path, None, format!("missing section `[{required}]`")));
            }
        }
        errors.sort_by_key(|e| e.line);
        errors
    }

    /// The output directory, resolved against the pipeline file's folder.
    pub fn out_dir(&self, path: &Path) -> PathBuf {
        resolve(path, &self.output.dir)
    }

    /// The settings' own mistakes, each with its key: a delimiter, decimals,
    /// years and output sizes out of range.
    fn setting_errors(&self, path: &Path) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        let mut err = |msg: String| errors.push(ConfigError::new(path, None, msg));
        if !self.inputs.delimiter.is_ascii() || matches!(self.inputs.delimiter, '"' | '\n' | '\r') {
            err(format!(
                "delimiter `{}` must be one ASCII character other than a quote or line break",
                self.inputs.delimiter
            ));
        }
        let r = &self.rounding;
        if r.completion_decimals > MAX_PERCENT_DECIMALS || r.growth_decimals > MAX_PERCENT_DECIMALS {
            err(format!("rounding: decimals may be at most {MAX_PERCENT_DECIMALS}"));
        }
        if self.checks.first_year > self.checks.last_year
            || self.checks.first_year < 1000
            || self.checks.last_year > 9999
        {
            err("checks: first_year..=last_year must be a range of four-digit years".to_owned());
        }
        if self.output.summary_max_rows > MAX_WORKBOOK_ROWS {
            err(format!("output: summary_max_rows is at most {MAX_WORKBOOK_ROWS} (a spreadsheet's rows)"));
        }
        if self.output.workbook_max_rows > MAX_WORKBOOK_ROWS {
            err(format!("output: workbook_max_rows is at most {MAX_WORKBOOK_ROWS} (a spreadsheet's rows)"));
        }
        if self.output.row_group_rows == 0 || self.output.bucket_rows == 0 {
            err("output: row_group_rows and bucket_rows must be positive".to_owned());
        }
        if !(1..=22).contains(&self.output.zstd_level) {
            err("output: zstd_level must be 1..=22".to_owned());
        }
        errors
    }

    /// The `[sdmx]` table's mistakes: a structure id not
    /// AGENCY:DATAFLOW(VERSION), an action not I, A, R or D.
    fn sdmx_errors(&self, path: &Path) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        if let Some(s) = &self.sdmx {
            let id = s.structure_id.get_ref();
            let ok = id.split_once(':').is_some_and(|(agency, rest)| {
                !agency.is_empty()
                    && rest.ends_with(')')
                    && rest.split_once('(').is_some_and(|(flow, _)| !flow.is_empty())
            });
            if !ok {
                let line = super::line_at(&self.text, s.structure_id.span().start);
                let msg = format!("sdmx.structure_id `{id}` is not AGENCY:DATAFLOW(VERSION)");
                errors.push(ConfigError::new(path, line, msg));
            }
            if !["I", "A", "R", "D"].contains(&s.action.get_ref().as_str()) {
                let line = super::line_at(&self.text, s.action.span().start);
                errors.push(ConfigError::new(path, line, "sdmx.action is one of I, A, R, D"));
            }
        }
        errors
    }

    /// Each catalog indicator's decimals: the pipeline's, or its own
    /// override.
    fn precision(&self, catalog: &Catalog) -> Vec<Precision> {
        let r = &self.rounding;
        catalog
            .iter()
            .map(|(_, ind)| {
                let o = r
                    .indicators
                    .iter()
                    .find(|(k, _)| *k.get_ref() == ind.code)
                    .map(|(_, o)| o.clone())
                    .unwrap_or_default();
                Precision {
                    completion: o.completion_decimals.unwrap_or(r.completion_decimals),
                    growth: o.growth_decimals.unwrap_or(r.growth_decimals),
                    change: o.change_decimals.unwrap_or(ind.decimals),
                }
            })
            .collect()
    }

    /// Resolves paths, applies `overrides`, loads every schema and checks
    /// the whole; all errors come back together.
    pub fn compile(self, path: &Path, overrides: Overrides) -> Result<Pipeline, ConfigErrors> {
        let resolve = |p: &Path| resolve(path, p);
        let submissions = overrides.submissions.unwrap_or_else(|| resolve(&self.inputs.submissions));
        let out = linked_dir(overrides.out.unwrap_or_else(|| resolve(&self.output.dir)));
        let catalog_path = overrides.catalog.unwrap_or_else(|| resolve(&self.schemas.catalog));
        let agencies_path = overrides.agencies.unwrap_or_else(|| resolve(&self.schemas.agencies));
        let units_path = resolve(&self.schemas.units);
        let layouts_path = resolve(&self.schemas.layouts);
        let rules_path = overrides.rules.or_else(|| self.schemas.rules.as_deref().map(resolve));

        let mut errors = self.setting_errors(path);
        let r = &self.rounding;
        let catalog = Catalog::load(&catalog_path).map_err(|e| errors.extend(e.0)).ok();
        let register = Register::load(&agencies_path).map_err(|e| errors.extend(e.0)).ok();
        let units = Units::load(&units_path).map_err(|e| errors.extend(e.0)).ok();
        let layouts = Layouts::load(&layouts_path).map_err(|e| errors.extend(e.0)).ok();
        for code in r.indicators.keys() {
            if catalog.as_ref().is_some_and(|c| c.get(code.get_ref()).is_none()) {
                let line = super::line_at(&self.text, code.span().start);
                let msg = format!("rounding.indicators: `{}` is not in the catalog", code.get_ref());
                errors.push(ConfigError::new(path, line, msg));
            }
        }
        let (Some(catalog), Some(register), Some(units), Some(layouts)) = (catalog, register, units, layouts) else {
            return Err(ConfigErrors(errors));
        };
        let units = units.with_catalog_bases(catalog.iter().map(|(_, i)| i.base_unit.clone()));
        let checks = match &rules_path {
            Some(path) => super::checks::Rules::load(path, &catalog, &register).map_err(|e| errors.extend(e.0)).ok(),
            None => Some(super::checks::Rules::default()),
        };
        errors.extend(self.sdmx_errors(path));
        let look = super::sources::Lookups { catalog: &catalog, register: &register, units: &units };
        let sources = super::sources::compile(&self.sources, path, &self.text, &look, &mut errors);

        let precision = self.precision(&catalog);
        if precision.iter().any(|p| p.completion.max(p.growth).max(p.change) > MAX_PERCENT_DECIMALS) {
            errors.push(ConfigError::new(
                path,
                None,
                format!("rounding.indicators: decimals may be at most {MAX_PERCENT_DECIMALS}"),
            ));
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        let (column_scales, Some(checks)) = (column_scales(&catalog, &precision), checks) else {
            return Err(ConfigErrors(errors));
        };
        Ok(Pipeline {
            paths: Paths {
                pipeline: path.to_owned(),
                submissions,
                out,
                catalog: catalog_path,
                agencies: agencies_path,
                units: units_path,
                layouts: layouts_path,
                rules: rules_path,
            },
            catalog,
            register,
            units,
            layouts,
            sources,
            reading: Reading {
                encoding: self.inputs.encoding,
                layout: self.inputs.layout.pinned(),
                delimiter: self.inputs.delimiter as u8,
            },
            years: self.checks.first_year..=self.checks.last_year,
            rounding: RoundingRules { rule: r.rule, precision, column_scales },
            output: OutputSettings {
                row_group_rows: self.output.row_group_rows,
                zstd_level: self.output.zstd_level,
                bucket_rows: self.output.bucket_rows,
                workbook_max_rows: self.output.workbook_max_rows,
                csv_encoding: self.output.csv_encoding,
                summary_max_rows: self.output.summary_max_rows,
                incremental: true,
                sdmx: self.sdmx.as_ref().map(|s| SdmxStructure {
                    structure_id: s.structure_id.get_ref().clone(),
                    action: s.action.get_ref().clone(),
                }),
            },
            checks,
            guards: self.guards.clone(),
        })
    }
}

/// The largest decimals of each printed percentage over the catalog. Only
/// indicators whose year-on-year figure is a change in points (rates) have
/// one.
fn column_scales(catalog: &Catalog, precision: &[Precision]) -> Precision {
    let all = || catalog.iter().map(|(id, ind)| (precision[id.0 as usize], ind.kind));
    let max = |f: fn(&Precision) -> u8| all().map(|(p, _)| f(&p)).max().unwrap_or(0);
    let points = |k: &Kind| k.year_on_year() == YearOnYear::ChangePp;
    let change = all().filter(|(_, k)| points(k)).map(|(p, _)| p.change).max().unwrap_or(0);
    Precision { completion: max(|p| p.completion), growth: max(|p| p.growth), change }
}

/// The directory a symbolic link `p` points to, else `p`: outputs are
/// published by renaming a finished directory into place, which must
/// replace the link's target, not the link.
fn linked_dir(p: PathBuf) -> PathBuf {
    let is_link = std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink());
    match std::fs::canonicalize(&p) {
        Ok(target) if is_link && target.is_dir() => target,
        _ => p,
    }
}

/// `p` relative to the folder of the pipeline file at `pipeline`.
fn resolve(pipeline: &Path, p: &Path) -> PathBuf {
    let base = pipeline.parent().unwrap_or(Path::new("."));
    if p.is_absolute() { p.to_owned() } else { clean(&base.join(p)) }
}

/// Removes `.` and `name/..` pairs without touching the file system, so
/// `pipelines/../out` is shown as `out`.
fn clean(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            _ => out.push(c),
        }
    }
    if out.is_empty() { PathBuf::from(".") } else { out.iter().collect() }
}

/// What a row's figures are computed with: the catalog's indicators and
/// the rounding rules. The compute stages (metrics, rates, claims, totals)
/// take this, not the whole pipeline.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    pub catalog: &'a Catalog,
    pub rounding: &'a RoundingRules,
}

/// What reading and checking one submission looks up: the layouts and
/// how to read the bytes, and every table a row's fields are checked
/// against.
#[derive(Debug, Clone, Copy)]
pub struct RowChecks<'a> {
    pub reading: Reading,
    pub layouts: &'a Layouts,
    /// The source that reads the file, if one does.
    pub source: Option<&'a Source>,
    pub catalog: &'a Catalog,
    pub register: &'a Register,
    pub units: &'a Units,
    pub years: &'a std::ops::RangeInclusive<i32>,
}

impl Pipeline {
    /// The checks of a file that `source` reads (or none).
    pub fn row_checks(&self, source: Option<SourceId>) -> RowChecks<'_> {
        RowChecks {
            reading: self.reading,
            layouts: &self.layouts,
            source: source.map(|s| self.sources.get(s)),
            catalog: &self.catalog,
            register: &self.register,
            units: &self.units,
            years: &self.years,
        }
    }

    pub fn rules(&self) -> Rules<'_> {
        Rules { catalog: &self.catalog, rounding: &self.rounding }
    }

    /// Loads and compiles the pipeline file at `path`.
    pub fn load(path: &Path, overrides: Overrides) -> Result<Pipeline, ConfigErrors> {
        PipelineFile::load(path)?.compile(path, overrides)
    }
}
