//! Fatal errors: the run stops, exits 2 and leaves the previous outputs in
//! place. Bad rows are not errors; they are quarantined (`reject`).

use std::path::PathBuf;

use crate::config::ConfigErrors;
use crate::export::ExportError;
use crate::ingest::IngestError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Spill(#[from] crate::spill::SpillError),
    #[error(transparent)]
    Cache(#[from] crate::cache::CacheError),
    #[error(transparent)]
    Tables(#[from] crate::almanac::AlmanacError),
    #[error(transparent)]
    Read(#[from] crate::readback::ReadError),
    #[error(transparent)]
    Audit(#[from] crate::audit::AuditError),
    #[error(transparent)]
    Explain(#[from] crate::explain::ExplainError),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error(
        "no pipeline file `{}` (looked for from {here}): run yearbook in a project's directory, \
         pass --pipeline FILE, or lay a project out with `yearbook init DIR`",
        path.display()
    )]
    NoPipeline { path: PathBuf, here: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
