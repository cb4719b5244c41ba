//! Any bytes read as the bundled pipeline's sources read their files
//! (title rows, two-row headers, footnotes, indicators as columns, value
//! maps): no panic, and the file accounts for every row it read. The first
//! byte picks the source. Workbooks are left out: the workbook reader is a
//! library that panics on some broken files where overflow is checked
//! (fuzz builds check it, and abort on a panic); the pipeline catches its
//! panics and refuses the file (`tests/fixtures/broken-cell-reference.xlsx`,
//! found here).

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use yearbook::config::pipeline::{EncodingChoice, Overrides};
use yearbook::config::{Pipeline, SourceId};
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
    let Some((&pick, bytes)) = data.split_first() else { return };
    let source = SourceId(u32::from(pick) % p.sources.0.len() as u32);
    let name = "fuzz.csv";
    let file = SourceFile { id: FileId(0), path: PathBuf::from(name), rel: name.to_owned(), source: Some(source) };
    let sheet = p.sources.get(source).sheet.as_ref();
    let sub = Submission::from_bytes(file, bytes.to_vec(), EncodingChoice::Auto, sheet);
    let n = normalize::file(&sub, p.row_checks(Some(source)));
    let r = &n.report;
    assert_eq!(r.rows_read, r.accepted + r.quarantined, "read = accepted + quarantined");
    assert_eq!(r.accepted, n.observations.len() as u64);
    assert!(n.rejected.len() as u64 >= r.quarantined);
    assert_eq!(r.quarantined == 0, n.rejected.is_empty());
});
