//! yearbook: agency CSV submissions in, audited statistics out.
//!
//! Stages, one module each, data flowing one way:
//! [`ingest`] → [`normalize`] → [`spill`] → [`supersede`] → [`rates`],
//! [`metrics`] and [`claims`] → [`aggregate`] → [`export`]; [`run`] strings
//! them together, [`config`] loads what they run on, and [`model`] holds
//! the types they hand each other (no stage needs a later one for its
//! types). [`outputs`] reads a finished run back for [`explain`] and
//! [`audit`].

pub mod aggregate;
pub mod audit;
pub mod claims;
pub mod cli;
pub mod config;
pub mod decimal;
pub mod dirs;
pub mod error;
pub mod explain;
pub mod export;
pub mod ingest;
pub mod metrics;
pub mod model;
pub mod normalize;
pub mod outputs;
pub mod rates;
pub mod reject;
pub mod run;
pub mod spill;
pub mod supersede;
