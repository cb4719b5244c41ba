//! What both fuzz targets share: the bundled pipeline, loaded once, and
//! the accounting every normalized file must satisfy.

use std::path::PathBuf;
use std::sync::OnceLock;

use yearbook::config::Pipeline;
use yearbook::config::pipeline::Overrides;
use yearbook::normalize::Normalized;

pub fn pipeline() -> &'static Pipeline {
    static P: OnceLock<Pipeline> = OnceLock::new();
    P.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../pipelines/nightly.toml");
        Pipeline::load(&path, Overrides::default()).expect("the bundled pipeline loads")
    })
}

/// The file accounts for every row it read, and every line.
pub fn accounts_for_every_row(n: &Normalized) {
    let r = &n.report;
    assert_eq!(r.rows_read, r.accepted + r.quarantined, "read = accepted + quarantined");
    assert_eq!(r.accepted, n.observations.len() as u64);
    // A quarantined row has one quarantine entry per problem it has.
    assert!(n.rejected.len() as u64 >= r.quarantined);
    // A file refused with no row to quarantine is itself one entry.
    let refused_whole = r.refused.is_some() && r.rows_read == 0;
    if refused_whole {
        assert_eq!(n.rejected.len(), 1, "a file refused whole is one quarantine entry");
    } else {
        assert_eq!(r.quarantined == 0, n.rejected.is_empty());
    }
    // Blank rows are lines of the file, each counted once.
    assert!(r.blank_rows <= r.lines, "{} blank rows in {} lines", r.blank_rows, r.lines);
}
