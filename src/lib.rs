//! yearbook: agency CSV submissions in, audited statistics out.
//!
//! Stages, one module each, data flowing one way:
//! [`ingest`] → [`normalize`] → [`spill`] → [`bucket`] (which calls
//! [`supersede`], [`checks`] (the statistician's review rules), [`rates`],
//! [`metrics`] and [`claims`]) → [`aggregate`] (rules on totals: [`checks`]) →
//! [`export`] (the Parquet, the people's CSVs, the workbooks and the
//! report), with the yearbook tables ([`almanac`], its league among them)
//! made from the Parquet written; [`run`] strings them together and holds
//! no rule of its own ([`guards`] decides whether a run may publish), [`config`] loads what they run on, and [`model`]
//! holds the types they hand each other and the output directory's
//! layout. The computing stages are pure; reading and writing files happen
//! in `ingest`, `spill` and `export`. [`readback`] reads a finished run's
//! outputs for [`explain`], [`audit`] and [`changes`]; [`cache`] keeps what
//! a run read and computed for the next run into the same directory.
//!
//! No module imports a later one. From the bottom: [`decimal`], [`dirs`];
//! [`config`]; [`model`]; [`reject`], [`supersede`], [`spill`],
//! [`readback`]; [`ingest`], [`changes`], [`guards`], [`audit`]; [`normalize`],
//! [`describe`], [`rates`]; [`metrics`]; [`claims`], [`aggregate`],
//! [`explain`]; [`checks`]; [`bucket`], [`almanac`]; [`export`]; [`cache`];
//! [`error`]; [`plan`] (what a run reads, computes or reuses, and why);
//! [`run`]; [`cli`].

/// The identity of this build: a hash of its code, made by `build.rs`. The
/// incremental cache's key carries it (`cache::CacheKey`) and the manifest
/// names it.
pub const BUILD: &str = env!("YEARBOOK_BUILD_ID");

pub mod aggregate;
pub mod almanac;
pub mod audit;
pub mod bucket;
pub mod cache;
pub mod changes;
pub mod checks;
pub mod claims;
pub mod cli;
pub mod config;
pub mod decimal;
pub mod describe;
pub mod dirs;
pub mod error;
pub mod explain;
pub mod export;
pub mod guards;
pub mod ingest;
pub mod metrics;
pub mod model;
pub mod normalize;
pub mod plan;
pub mod rates;
pub mod readback;
pub mod reject;
pub mod run;
pub mod spill;
pub mod supersede;
