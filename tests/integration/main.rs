//! One test binary for the whole crate (see Cargo.toml `[[test]]`).

/// Shared helpers: running the binary, reading outputs.
mod util;

/// explain, audit and the claims check.
mod auditing;
/// changes.csv and yearbook diff after changed, removed and new files.
mod changes;
/// The review rules (审核): results, quarantine, totals, load mistakes.
mod checks;
/// The command line: exit codes, validate, overrides, configuration errors.
mod cli;
/// Byte-identical outputs whatever the file order, directory and threads.
mod determinism;
/// Encoding detection: UTF-8 with and without BOM, GB18030, undecodable.
mod encoding;
/// Killed runs, read-only and full disks, concurrent runs, changed inputs.
mod faults;
/// The bundled sample run against golden files, cell by cell.
mod golden;
/// Guards: an empty inbox or a night that withdraws many figures is held,
/// not published, unless accepted.
mod guards;
/// Incremental runs: the outputs of a full run after a new, a changed, a
/// removed file and a catalog change.
mod incremental;
/// Hostile files: unclosed quotes, control characters, blank lines,
/// refused encodings shown as sent; every line accounted for.
mod nothing_lost;
/// SUBMISSIONS.md "Numbers as people type them": every accepted and
/// rejected form.
mod number_grammar;
/// run --json, exit codes, colour, init: yearbook under a scheduler.
mod operations;
/// Source file, line and byte of every figure.
mod provenance;
/// A rate against its numerator and denominator: checked, diagnosed,
/// derived.
mod rates_from_parts;
/// The README's snippets run by pyarrow, pandas, polars and DuckDB.
mod readers;
/// report.html, rendered by headless Chromium.
mod report;
/// Submissions that exercise one rule each: layouts, duplicates, supersede.
mod rules;
/// Totals by scope (口径): reported figures, members' sums, comparable growth.
mod scope;
/// Files in other shapes, read by the pipeline's sources.
mod sources;
/// The audit workbook recalculated by LibreOffice.
mod workbook;
/// Workbooks that claim more cells or strings than they hold, refused
/// under a memory limit.
mod workbook_limits;
/// SUBMISSIONS.md "Worked examples from the seed report".
mod worked_examples;
/// The yearbook tables against the totals and metrics, CSV and workbook.
mod yearbook_tables;
