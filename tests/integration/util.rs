use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn yearbook(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yearbook")).args(args).current_dir(repo()).output().expect("yearbook runs")
}

/// Runs the bundled pipeline on the sample data into `out`.
/// The bundled sample's outputs, run once for every test that only reads
/// them (a test that writes into an output directory, or compares two
/// runs, makes its own).
pub fn shared_sample() -> &'static Path {
    static SAMPLE: std::sync::OnceLock<(tempfile::TempDir, PathBuf)> = std::sync::OnceLock::new();
    let (_, out) = SAMPLE.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        run_sample(&out);
        (tmp, out)
    });
    out
}

/// What a run of the binary printed on stdout.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn run_sample(out: &Path) -> Output {
    let out = out.to_str().unwrap();
    let o = yearbook(&["run", "-q", "--out", out]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the sample has quarantined rows; stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Runs the bundled pipeline, edited by `edits` (see [`pipeline_text`]),
/// on the sample data into `out`; the edited pipeline is written beside
/// `out`.
pub fn run_sample_with(edits: &[(&str, &str)], out: &Path) -> Output {
    let pipeline = out.with_extension("pipeline.toml");
    std::fs::write(&pipeline, pipeline_text(edits)).unwrap();
    let o = yearbook(&["run", "-q", "--pipeline", pipeline.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "the sample has quarantined rows; stderr: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// A table's rows as text cells (header first), from every Hive partition
/// under `dir/table`, with the `year` of the directory as the first column.
pub fn parquet_rows(dir: &Path, table: &str) -> Vec<Vec<String>> {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir.join(table)).unwrap().map(|e| e.unwrap().path()).collect();
    parts.sort();
    let mut rows = Vec::new();
    for part in parts {
        let year = part.file_name().unwrap().to_str().unwrap().strip_prefix("year=").unwrap().to_owned();
        let mut files: Vec<PathBuf> = std::fs::read_dir(&part).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        let batches = files
            .iter()
            .flat_map(|f| ParquetRecordBatchReaderBuilder::try_new(File::open(f).unwrap()).unwrap().build().unwrap());
        for batch in batches {
            let batch: RecordBatch = batch.unwrap();
            if rows.is_empty() {
                let mut header = vec!["year".to_owned()];
                header.extend(batch.schema().fields().iter().map(|f| f.name().clone()));
                rows.push(header);
            }
            let opts = FormatOptions::default().with_null("");
            let fmts: Vec<_> =
                batch.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).unwrap()).collect();
            for r in 0..batch.num_rows() {
                let mut row = vec![year.clone()];
                row.extend(fmts.iter().map(|f| f.value(r).to_string()));
                rows.push(row);
            }
        }
    }
    rows
}

/// Every output file under `dir` (not the cache) with its bytes, by
/// `/`-separated relative path.
pub fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            // The incremental cache is no output (its spill lands in
            // thread order).
            if p == dir.join(".cache") {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.strip_prefix(dir).unwrap().display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Rows of a CSV file (a BOM is dropped).
pub fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(bytes);
    r.records().map(|rec| rec.unwrap().iter().map(str::to_owned).collect()).collect()
}

/// The column of a header named `name`: exactly, or as the English name
/// after a Chinese one (`是否一致 matches`).
fn column_of(header: &[String], name: &str) -> usize {
    let bilingual = format!(" {name}");
    header
        .iter()
        .position(|h| h == name || h.ends_with(&bilingual))
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
}

/// The row of `rows` (with header) whose named columns have the given values.
pub fn find<'a>(rows: &'a [Vec<String>], keys: &[(&str, &str)]) -> &'a Vec<String> {
    let header = &rows[0];
    let idx: Vec<(usize, &str)> = keys.iter().map(|(k, v)| (column_of(header, k), *v)).collect();
    let hits: Vec<&Vec<String>> = rows[1..].iter().filter(|r| idx.iter().all(|(i, v)| r[*i] == *v)).collect();
    assert_eq!(hits.len(), 1, "rows matching {keys:?}");
    hits[0]
}

/// A cell of `row` by column name.
pub fn cell<'a>(rows: &'a [Vec<String>], row: &'a [String], column: &str) -> &'a str {
    &row[column_of(&rows[0], column)]
}

/// A scratch directory with a pipeline that reads `files` (name, bytes)
/// against the bundled schemas.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new(files: &[(&str, &[u8])]) -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        for (name, bytes) in files {
            let path = input.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
        std::fs::create_dir_all(&input).unwrap();
        Scratch { dir }
    }

    pub fn input(&self) -> PathBuf {
        self.dir.path().join("in")
    }

    pub fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// `yearbook run` on the input into the output directory.
    pub fn run(&self) -> Output {
        yearbook(&["run", "-q", "--input", self.input().to_str().unwrap(), "--out", self.out().to_str().unwrap()])
    }

    /// `yearbook run` with the bundled pipeline edited by `edits` (text
    /// replacements, each of which must apply).
    pub fn run_with(&self, edits: &[(&str, &str)]) -> Output {
        let pipeline = self.dir.path().join("pipeline.toml");
        std::fs::write(&pipeline, pipeline_text(edits)).unwrap();
        let (p, i, o) = (pipeline.to_str().unwrap(), self.input(), self.out());
        yearbook(&["run", "-q", "--pipeline", p, "--input", i.to_str().unwrap(), "--out", o.to_str().unwrap()])
    }
}

/// The bundled pipeline with its relative paths made absolute and `edits`
/// applied.
pub fn pipeline_text(edits: &[(&str, &str)]) -> String {
    let mut text = std::fs::read_to_string(repo().join("pipelines/nightly.toml")).unwrap();
    text = text.replace("\"../", &format!("\"{}/", repo().display()));
    for (from, to) in edits {
        assert!(text.contains(from), "the pipeline has no `{from}`");
        text = text.replace(from, to);
    }
    text
}

/// `yearbook run -q` with the pipeline file at `pipeline` on `s`'s input,
/// and `extra` arguments.
pub fn run_pipeline(s: &Scratch, pipeline: &Path, extra: &[&str]) -> Output {
    let (i, o) = (s.input(), s.out());
    let mut args = vec!["run", "-q", "--pipeline", pipeline.to_str().unwrap()];
    args.extend(["--input", i.to_str().unwrap(), "--out", o.to_str().unwrap()]);
    args.extend(extra);
    yearbook(&args)
}

/// The bundled pipeline without its sources (which name codes of the
/// bundled register), for runs against a register of their own.
pub fn pipeline_without_sources() -> String {
    let text = pipeline_text(&[]);
    let at = text.find("\n# Sources:").expect("the bundled pipeline has sources");
    text[..at].to_owned()
}

pub const EN_HEADER: &str =
    "agency,year,indicator,indicator_name,value,unit,target,claimed_completion,claimed_growth,note\n";

/// Copies the directory tree `from` to `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The claims table's rows as [`parquet_rows`] gives them, its decimals
/// without trailing zeros (as they were typed).
pub fn claims_table(out: &Path) -> Vec<Vec<String>> {
    let mut rows = parquet_rows(out, "claims");
    let decimals: Vec<usize> = ["claimed", "computed"].iter().map(|n| column_of(&rows[0], n)).collect();
    for r in rows.iter_mut().skip(1) {
        for &i in &decimals {
            if r[i].contains('.') {
                r[i] = r[i].trim_end_matches('0').trim_end_matches('.').to_owned();
            }
        }
    }
    rows
}
