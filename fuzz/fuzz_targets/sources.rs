//! Any bytes read as the bundled pipeline's sources read their files
//! (title rows, two-row headers, footnotes, indicators as columns, value
//! maps): no panic, and the file accounts for every row it read. The first
//! byte picks the source. Workbooks are left out: the workbook reader is a
//! library that panics on some broken files where overflow is checked
//! (fuzz builds check it, and abort on a panic); the pipeline catches its
//! panics and refuses the file (`tests/fixtures/broken-cell-reference.xlsx`,
//! found here).

#![no_main]

mod common;

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use yearbook::config::SourceId;
use yearbook::config::pipeline::EncodingChoice;
use yearbook::ingest::{SourceFile, Submission};
use yearbook::model::FileId;
use yearbook::normalize;

fuzz_target!(|data: &[u8]| {
    let p = common::pipeline();
    let Some((&pick, bytes)) = data.split_first() else { return };
    let source = SourceId(u32::from(pick) % p.sources.0.len() as u32);
    let name = "fuzz.csv";
    let file = SourceFile { id: FileId(0), path: PathBuf::from(name), rel: name.to_owned(), source: Some(source), target: None };
    let sheet = p.sources.get(source).sheet.as_ref();
    let sub = Submission::from_bytes(file, bytes.to_vec(), EncodingChoice::Auto, sheet);
    common::accounts_for_every_row(&normalize::file(&sub, p.row_checks(Some(source))));
});
