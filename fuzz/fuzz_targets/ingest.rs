//! Any bytes an agency can send, through ingest and normalize against the
//! bundled schemas: no panic, and the file accounts for every row and line
//! it read.

#![no_main]

mod common;

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use yearbook::config::pipeline::EncodingChoice;
use yearbook::ingest::{SourceFile, Submission};
use yearbook::model::FileId;
use yearbook::normalize;

fuzz_target!(|data: &[u8]| {
    let p = common::pipeline();
    let file = SourceFile { id: FileId(0), path: PathBuf::from("fuzz.csv"), rel: "fuzz.csv".to_owned(), source: None, target: None };
    let sub = Submission::from_bytes(file, data.to_vec(), EncodingChoice::Auto, None);
    common::accounts_for_every_row(&normalize::file(&sub, p.row_checks(None)));
});
