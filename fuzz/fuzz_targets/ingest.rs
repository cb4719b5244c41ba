//! Any bytes an agency can send, through ingest and normalize against the
//! bundled schemas: no panic, and the file accounts for every row and line
//! it read.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use yearbook::config::Pipeline;
use yearbook::config::pipeline::{EncodingChoice, Overrides};
use yearbook::ingest::{SourceFile, Submission};
use yearbook::model::FileId;
use yearbook::normalize;

fn pipeline() -> &'static Pipeline {
    static P: OnceLock<Pipeline> = OnceLock::new();
    P.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../pipelines/nightly.toml");
        Pipeline::load(&path, Overrides::default()).expect("the bundled pipeline loads")
    })
}

fuzz_target!(|data: &[u8]| {
    let p = pipeline();
    let file = SourceFile { id: FileId(0), path: PathBuf::from("fuzz.csv"), rel: "fuzz.csv".to_owned(), source: None };
    let sub = Submission::from_bytes(file, data.to_vec(), EncodingChoice::Auto, None);
    let n = normalize::file(&sub, p.row_checks(None));
    let r = &n.report;
    assert_eq!(r.rows_read, r.accepted + r.quarantined, "read = accepted + quarantined");
    assert_eq!(r.accepted, n.observations.len() as u64);
    // A quarantined row has one quarantine entry per problem it has.
    assert!(n.rejected.len() as u64 >= r.quarantined);
    assert_eq!(r.quarantined == 0, n.rejected.is_empty());
    // Blank rows are lines of the file, each counted once.
    assert!(r.blank_rows <= r.lines, "{} blank rows in {} lines", r.blank_rows, r.lines);
});
