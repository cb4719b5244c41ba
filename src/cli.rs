//! The command line: parse, set up logging, dispatch. The work lives in
//! the library; this module only turns outcomes into messages and exit
//! codes (0 clean, 1 finished with quarantined rows, 2 fatal).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::Pipeline;
use crate::config::pipeline::Overrides;
use crate::error::Error;
use crate::ingest::{SourceFile, Submission};
use crate::model::{FileId, file};
use crate::normalize;
use crate::reject::Issue;

/// Agency statistics submissions in; Parquet, summary CSVs and an audit
/// trail out.
#[derive(Debug, Parser)]
#[command(name = "yearbook", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More logging: -v each stage and its time, -vv each file read and
    /// bucket computed or reused and why, -vvv each file taken from the
    /// cache (`YEARBOOK_LOG` sets it too: `yearbook=trace`).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the pipeline: ingest, normalize, compute, write.
    Run(RunArgs),
    /// Check submission files as the pipeline would, writing nothing.
    Validate(ValidateArgs),
    /// Show how one printed figure was derived, from a run's outputs.
    Explain(ExplainArgs),
    /// Recompute every metric and total from a run's outputs and check
    /// every hash in its manifest.
    Audit(AuditArgs),
    /// Print a draft `[[sources]]` entry for files in a shape of their own
    /// (CSV or workbook): header, layout, fields, "not available" tokens,
    /// and a `"?"` wherever it could not decide.
    Describe(DescribeArgs),
    /// List every figure that differs between two runs' outputs: new,
    /// revised (old → new, with the file and line that brought it) or
    /// withdrawn, as `changes.csv` does; counts on stderr.
    Diff(DiffArgs),
    /// Lay out a new project in DIR: a pipeline, the bundled schemas to
    /// edit, and an empty inbox, ready for `yearbook run` inside DIR.
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// A workbook's sheet (default: the first).
    #[arg(long)]
    pub sheet: Option<String>,
    /// Files to describe.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// The output directory of a run: `--out`, or the pipeline's.
#[derive(Debug, Args)]
pub struct OutArgs {
    /// Pipeline file (for its output directory).
    #[arg(long, default_value = "pipelines/nightly.toml")]
    pub pipeline: PathBuf,
    /// Output directory of the run (overrides the pipeline's).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl OutArgs {
    fn dir(&self) -> Result<PathBuf, Error> {
        match &self.out {
            Some(dir) => Ok(dir.clone()),
            None => Ok(crate::config::pipeline::PipelineFile::load(&self.pipeline)?.out_dir(&self.pipeline)),
        }
    }
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Agency code (a parent's code explains its total).
    pub agency: String,
    /// Indicator code.
    pub indicator: String,
    pub year: i32,
    /// Only this figure (default: every one that applies).
    #[arg(long, value_enum)]
    pub metric: Option<crate::explain::Which>,
    /// The total over the agencies under AGENCY, even where AGENCY sent a
    /// figure of its own.
    #[arg(long)]
    pub total: bool,
    #[command(flatten)]
    pub out: OutArgs,
    /// One JSON document instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub out: OutArgs,
    /// The submissions directory, to check the input files' hashes too.
    #[arg(long)]
    pub input: Option<PathBuf>,
}

/// Where the pipeline file is and what the command line overrides in it.
#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// Pipeline file.
    #[arg(long, default_value = "pipelines/nightly.toml")]
    pub pipeline: PathBuf,
    /// Indicator catalog CSV (overrides the pipeline's).
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// Agency register CSV (overrides the pipeline's).
    #[arg(long)]
    pub agencies: Option<PathBuf>,
    /// Review rules CSV (审核公式; overrides the pipeline's).
    #[arg(long)]
    pub rules: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Directory of submission CSVs (overrides the pipeline's).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Output directory (overrides the pipeline's).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// One JSON object on stdout (status, counts per file, refused files,
    /// outputs, durations) for a scheduler, instead of the summary lines;
    /// a fatal error is one too.
    #[arg(long)]
    pub json: bool,
    /// Read every file and compute every bucket again, ignoring what the
    /// previous run into the output directory cached (the outputs are the
    /// same; only the time differs).
    #[arg(long)]
    pub full: bool,
    /// Print the plan (each file read or taken from the cache, each bucket
    /// computed or reused, the finish, and why) and write nothing.
    #[arg(long, conflicts_with = "json")]
    pub dry_run: bool,
    /// Publish even when a guard of the pipeline's `[guards]` trips (too
    /// few files, too many figures withdrawn or revised).
    #[arg(long)]
    pub accept: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The earlier run's output directory.
    pub before: PathBuf,
    /// The later run's output directory.
    pub after: PathBuf,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The directory to lay the project out in (created; must be empty if
    /// it exists).
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Submission files to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Exit codes: what a scheduler can tell apart.
pub mod exit {
    /// Finished, nothing quarantined (also: the audit passed).
    pub const OK: u8 = 0;
    /// Finished, some rows quarantined (the audit found a difference).
    pub const QUARANTINED: u8 = 1;
    /// Fatal: configuration, input or output; nothing was replaced.
    pub const FATAL: u8 = 2;
    /// Held by a guard (`[guards]`): nothing was replaced; the run's
    /// outputs are beside the output directory, `<out>.held`.
    pub const HELD: u8 = 3;
    /// The command line itself is wrong (sysexits' `EX_USAGE`).
    pub const USAGE: u8 = 64;
}

/// Parses the command line: help and version exit 0, a usage error
/// [`exit::USAGE`], apart from the fatal errors of a run.
pub fn parse() -> Result<Cli, ExitCode> {
    Cli::try_parse().map_err(|e| {
        let _ = e.print();
        if e.use_stderr() { ExitCode::from(exit::USAGE) } else { ExitCode::SUCCESS }
    })
}

/// Runs the parsed command line and returns the exit code.
pub fn execute(cli: Cli) -> ExitCode {
    init_logging(cli.verbose, cli.quiet);
    let json = matches!(&cli.command, Command::Run(a) if a.json);
    let outcome = match cli.command {
        Command::Run(args) => run(args, cli.quiet),
        Command::Validate(args) => validate(args),
        Command::Explain(args) => explain(args),
        Command::Audit(args) => audit(args),
        Command::Describe(args) => describe(args),
        Command::Init(args) => init(args),
        Command::Diff(args) => diff(args),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("yearbook: {e}");
            if json {
                let failed =
                    serde_json::json!({ "status": "failed", "exit_code": exit::FATAL, "error": e.to_string() });
                println!("{failed}");
            }
            ExitCode::from(exit::FATAL)
        }
    }
}

/// Whether stderr may carry colour codes: a terminal, and no `NO_COLOR`
/// (<https://no-color.org>).
fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("YEARBOOK_LOG")
        .unwrap_or_else(|_| format!("yearbook={level}").into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour())
        .with_target(false)
        .try_init();
}

fn load(args: &PipelineArgs, input: Option<PathBuf>, out: Option<PathBuf>) -> Result<Pipeline, Error> {
    if !args.pipeline.exists() {
        let here = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();
        return Err(Error::NoPipeline { path: args.pipeline.clone(), here });
    }
    let overrides = Overrides {
        submissions: input,
        catalog: args.catalog.clone(),
        agencies: args.agencies.clone(),
        rules: args.rules.clone(),
        out,
    };
    Ok(Pipeline::load(&args.pipeline, overrides)?)
}

fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed}").expect("a valid template"));
    bar
}

fn run(args: RunArgs, quiet: bool) -> Result<ExitCode, Error> {
    let mut p = load(&args.pipeline, args.input, args.out)?;
    p.output.incremental = !args.full;
    p.guards.accept = args.accept;
    if args.dry_run {
        print!("{}", crate::plan::RunPlan::make(&p)?.render());
        return Ok(ExitCode::from(exit::OK));
    }
    let m = crate::run::run(&p, &progress_bar(quiet || args.json))?;
    let c = &m.counts;
    // A file refused whole is news on its own, apart from rows quarantined
    // here and there.
    for f in m.inputs.iter().filter(|f| f.refused.is_some()) {
        eprintln!("yearbook: refused whole: {}: {}", f.path, f.refused.as_deref().unwrap_or(""));
    }
    // A file refused whole is a quarantined outcome even with no row.
    let refused = m.inputs.iter().any(|f| f.refused.is_some());
    let code = if c.quarantined > 0 || refused { exit::QUARANTINED } else { exit::OK };
    if let Some(h) = &m.held {
        for t in &h.tripped {
            eprintln!("yearbook: held by the guard {}: {}", t.guard, t.detail);
        }
        eprintln!(
            "yearbook: the previous outputs stay in {}; this run's are in {} (run --accept to publish them)",
            p.paths.out.display(),
            h.dir
        );
    }
    let code = if m.held.is_some() { exit::HELD } else { code };
    if args.json {
        println!("{}", run_json(&m, &p.paths.out, code));
    } else if !quiet {
        println!(
            "yearbook: {} files, {} rows read: {} accepted, {} quarantined, {} superseded; {} warnings",
            c.files, c.rows_read, c.accepted, c.quarantined, c.superseded, c.warnings
        );
        let k = &c.claims;
        if k.checked > 0 {
            println!(
                "claims: {} checked, {} match, {} do not ({} diagnosed), {} not comparable: {}",
                k.checked,
                k.matched,
                k.mismatched,
                k.diagnosed,
                k.not_comparable,
                p.paths.out.join(crate::model::table::CLAIMS).display()
            );
        }
        let k = &c.checks;
        if k.evaluated > 0 {
            println!(
                "review rules (审核): {} evaluated, {} passed, {} failed ({} rows quarantined), {} explained, {} not evaluated: {}",
                k.evaluated,
                k.passed,
                k.failed,
                k.quarantined_rows,
                k.explained,
                k.not_evaluated,
                p.paths.out.join(crate::model::file::SUMMARY).join(crate::model::file::CHECK_FINDINGS).display()
            );
        }
        if let Some(ch) = &m.changes {
            let k = &ch.counts;
            println!(
                "since run {}: {} figures new, {} revised, {} withdrawn: {}",
                ch.run_id,
                k.new,
                k.revised,
                k.withdrawn,
                p.paths.out.join(file::CHANGES).display()
            );
        }
        let w = &m.work;
        if w.files_reused > 0 {
            println!(
                "from the previous run's cache: {} of {} files and {} of {} buckets reused (run --full to redo all)",
                w.files_reused,
                w.files_reused + w.files_read,
                w.buckets_reused,
                w.buckets_reused + w.buckets_computed
            );
        }
        // A held run's outputs are beside the published ones.
        let dir = m.held.as_ref().map_or_else(|| p.paths.out.clone(), |h| std::path::PathBuf::from(&h.dir));
        let held = if m.held.is_some() { ", held: not published" } else { "" };
        println!("outputs in {} (run {}{held})", dir.display(), m.run_id);
        if c.quarantined > 0 {
            println!("quarantined rows: {}", dir.join(file::QUARANTINE).display());
        }
    }
    Ok(ExitCode::from(code))
}

/// `run --json`: one object for a scheduler.
fn run_json(m: &crate::export::Manifest, out: &std::path::Path, code: u8) -> serde_json::Value {
    let files: Vec<serde_json::Value> = m
        .inputs
        .iter()
        .map(|f| {
            serde_json::json!({
                "path": f.path,
                "rows_read": f.rows_read,
                "accepted": f.accepted,
                "quarantined": f.quarantined,
                "superseded": f.superseded,
                "refused": f.refused,
            })
        })
        .collect();
    let refused: Vec<serde_json::Value> = m
        .inputs
        .iter()
        .filter_map(|f| f.refused.as_ref().map(|r| serde_json::json!({ "path": f.path, "reason": r })))
        .collect();
    serde_json::json!({
        "status": match code {
            exit::OK => "ok",
            exit::HELD => "held",
            _ => "quarantined",
        },
        "held": m.held,
        "exit_code": code,
        "run_id": m.run_id,
        "started_at": m.started_at,
        "finished_at": m.finished_at,
        "out": out.display().to_string(),
        "counts": m.counts,
        "files": files,
        "refused": refused,
        "outputs": m.outputs,
        "durations_ms": m.stage_ms,
        "changes": m.changes,
        "work": m.work,
    })
}

fn diff(args: DiffArgs) -> Result<ExitCode, Error> {
    let open = crate::readback::Outputs::open;
    let (before, after) = (open(&args.before)?, open(&args.after)?);
    let changes = crate::changes::between(&before, &after, crate::changes::Trust::Verify)?;
    let csv = || -> Result<(), crate::export::csv_out::CsvError> {
        let stdout = std::path::Path::new("<stdout>");
        let encoding = crate::export::csv_out::CsvEncoding::Utf8NoBom;
        let mut f = crate::export::csv_out::CsvFile::new(
            stdout,
            std::io::stdout().lock(),
            &crate::export::CHANGES_HEADER,
            encoding,
        )?;
        crate::export::change_rows(&mut f, &changes)?;
        f.close().map(|_| ())
    };
    csv().map_err(crate::export::ExportError::from)?;
    let k = crate::changes::Counts::of(&changes);
    eprintln!(
        "yearbook: run {} → run {}: {} figures new, {} revised, {} withdrawn",
        before.manifest.run_id, after.manifest.run_id, k.new, k.revised, k.withdrawn
    );
    Ok(ExitCode::SUCCESS)
}

/// The files `yearbook init` lays out: the bundled schemas as they ship,
/// and a pipeline that reads `inbox/` into `out/`.
const INIT_FILES: [(&str, &str); 5] = [
    ("pipelines/nightly.toml", include_str!("init/nightly.toml")),
    ("schemas/catalog.csv", include_str!("../schemas/catalog.csv")),
    ("schemas/agencies.csv", include_str!("../schemas/agencies.csv")),
    ("schemas/units.toml", include_str!("../schemas/units.toml")),
    ("schemas/layouts.toml", include_str!("../schemas/layouts.toml")),
];

fn init(args: InitArgs) -> Result<ExitCode, Error> {
    let dir = &args.dir;
    let io = |path: &std::path::Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    // `dirs` rather than std's handle, whose close asserts (see `dirs`).
    if dir.exists() && !crate::dirs::list(dir).map_err(io(dir))?.is_empty() {
        return Err(Error::Io {
            path: dir.clone(),
            source: std::io::Error::new(std::io::ErrorKind::AlreadyExists, "not empty: init lays out a new project"),
        });
    }
    for (name, text) in INIT_FILES {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, text).map_err(io(&path))?;
    }
    let inbox = dir.join("inbox");
    std::fs::create_dir_all(&inbox).map_err(io(&inbox))?;
    println!(
        "yearbook: a project in {}: put submissions in inbox/, edit schemas/ for your catalog and register, then `yearbook run` there",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn explain(args: ExplainArgs) -> Result<ExitCode, Error> {
    let out = crate::readback::Outputs::open(&args.out.dir()?)?;
    let e = crate::explain::explain(&out, &args.agency, &args.indicator, args.year, args.metric, args.total)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&e).expect("an explanation always serializes"));
    } else {
        print!("{}", crate::explain::render(&e));
    }
    Ok(ExitCode::SUCCESS)
}

fn audit(args: AuditArgs) -> Result<ExitCode, Error> {
    let out = crate::readback::Outputs::open(&args.out.dir()?)?;
    let report = crate::audit::audit(&out, args.input.as_deref())?;
    print!("{}", report.render());
    Ok(if report.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The review rules the file alone can decide, as the run would evaluate
/// them: each failure and explained finding printed, a line of counts,
/// and the rows an error rule would quarantine (returned).
fn validate_rules(p: &Pipeline, rel: &str, mut rows: Vec<crate::model::Observation>) -> u64 {
    use crate::checks::{self, Outcome};
    let rules = &p.checks.0;
    if rules.is_empty() {
        return 0;
    }
    rows.sort_by_key(|o| o.key);
    let c = checks::evaluate(&rows, rules, checks::Lookup { catalog: &p.catalog, register: &p.register });
    let n = checks::CheckCounts::of(&c);
    for e in c.evaluations.iter().filter(|e| e.outcome.is_finding()) {
        let rule = &rules[e.rule as usize];
        let line = e.reads.iter().find(|f| f.year == e.key.1).and_then(|f| f.origin).map_or(0, |o| o.line);
        let sides = match (&e.left, e.op, &e.right) {
            (Some(l), Some(op), Some(r)) => format!("{} {} {}", l.text(), op.symbol(), r.text()),
            _ => String::new(),
        };
        let kind = match (e.outcome, rule.severity) {
            (Outcome::Explained, _) => "explained",
            (_, crate::config::checks::Severity::Error) => "error",
            _ => "warning",
        };
        let note = e.note.as_ref().map(|n| format!(" (note: {n})")).unwrap_or_default();
        println!(
            "{rel}:{line}: {kind} rule {} {} | {}: `{}`: {sides}{note}",
            rule.id, rule.name_en, rule.name_zh, rule.expression
        );
    }
    let on_totals = rules.iter().filter(|r| r.on_totals()).count();
    println!(
        "{rel}: review rules: {} evaluated, {} passed, {} failed ({} rows the run would quarantine), {} explained, \
         {} not evaluated (a figure they read is not in this file); {on_totals} rules on totals need the members' files",
        n.evaluated, n.passed, n.failed, n.quarantined_rows, n.explained, n.not_evaluated
    );
    n.quarantined_rows
}

fn print_issue(path: &str, kind: &str, i: &Issue) {
    let field = if i.field.is_empty() { String::new() } else { format!(" field `{}`:", i.field) };
    println!(
        "{path}:{}:{field} {kind} {}: {} | {} (raw: {:?})",
        i.line,
        i.code.as_str(),
        i.message_en(),
        i.message_zh(),
        i.raw
    );
}

fn describe(args: DescribeArgs) -> Result<ExitCode, Error> {
    let p = load(&args.pipeline, None, None)?;
    let sheet = args.sheet.map(crate::config::sources::SheetChoice::Name);
    let mut undrafted = 0;
    for (n, path) in args.files.iter().enumerate() {
        let rel = under_submissions(&p, path).unwrap_or_else(|| {
            path.file_name().map_or_else(|| path.display().to_string(), |f| f.to_string_lossy().into())
        });
        let rel = crate::ingest::shown_name(&rel);
        let file =
            SourceFile { id: FileId(n as u32), path: path.clone(), rel: rel.clone(), source: None, target: None };
        let sub = Submission::read(file, p.reading.encoding, sheet.as_ref())?;
        let sheet_name = match &sub.sheet {
            Some(Err(e)) => {
                println!("# yearbook describe: {rel}: {}: {}", e.code.as_str(), e.detail.en);
                undrafted += 1;
                continue;
            }
            Some(Ok(s)) => Some(s.sheet.clone()),
            None => None,
        };
        let (rows, too_long) = sub.rows(p.reading.delimiter);
        for (line, bytes) in too_long {
            let max = crate::ingest::MAX_RECORD_BYTES;
            println!("# yearbook describe: {rel}:{line}: a record of {bytes} bytes, past {max}: not looked at");
        }
        match crate::describe::describe(&rows, &rel, sheet_name.as_deref(), p.row_checks(None)) {
            Ok(draft) => print!("{draft}"),
            Err(why) => {
                print!("{why}");
                undrafted += 1;
            }
        }
        println!();
    }
    // A file it could not draft an entry for: the exit says so.
    Ok(if undrafted == 0 { ExitCode::SUCCESS } else { ExitCode::from(exit::QUARANTINED) })
}

/// A file's path under the submissions directory, however it is spelled
/// (relative, absolute, through links): what a source's glob matches.
fn under_submissions(p: &crate::config::Pipeline, path: &std::path::Path) -> Option<String> {
    let (file, dir) = (path.canonicalize().ok()?, p.paths.submissions.canonicalize().ok()?);
    Some(file.strip_prefix(dir).ok()?.to_str()?.to_owned())
}

fn validate(args: ValidateArgs) -> Result<ExitCode, Error> {
    let p = load(&args.pipeline, None, None)?;
    let mut rejected = 0;
    for (n, path) in args.files.iter().enumerate() {
        let rel = crate::ingest::shown_name(&path.display().to_string());
        // Sources match paths relative to the submissions directory; a file
        // outside it, by its path as given.
        let under = under_submissions(&p, path);
        let matched = under.as_deref().unwrap_or(&rel);
        let source = p.sources.matching(matched).map_err(|(a, b)| {
            let msg = format!("`{rel}` matches two sources, `{}` and `{}`", a.name, b.name);
            crate::ingest::IngestError::TwoSources(vec![msg])
        })?;
        match source {
            Some(s) => println!("{rel}: read by source `{}` (as `{matched}`)", p.sources.get(s).name),
            None if !p.sources.0.is_empty() => {
                println!("{rel}: read in the contract's shape (no source matches `{matched}`)");
            }
            None => {}
        }
        let file = SourceFile { id: FileId(n as u32), path: path.clone(), rel: rel.clone(), source, target: None };
        let sub = Submission::read(file, p.reading.encoding, source.and_then(|s| p.sources.get(s).sheet.as_ref()))?;
        let out = normalize::file(&sub, p.row_checks(source));
        for i in &out.rejected {
            print_issue(&rel, "error", i);
        }
        for i in &out.warnings {
            print_issue(&rel, "warning", i);
        }
        let r = &out.report;
        if let Some(reason) = &r.refused {
            println!("{rel}: refused: {reason}");
        }
        println!(
            "{rel}: {} rows read: {} accepted, {} quarantined, {} warnings",
            r.rows_read,
            r.accepted,
            r.quarantined,
            out.warnings.len()
        );
        rejected += r.quarantined + u64::from(r.refused.is_some());
        rejected += validate_rules(&p, &rel, out.observations);
    }
    Ok(if rejected > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
