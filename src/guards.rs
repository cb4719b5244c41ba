//! Guards: what keeps a bad night from publishing itself. A run whose
//! inbox holds fewer files than the pipeline's `[guards]` ask, or that
//! would withdraw or revise more of the published figures than they allow,
//! is held: the previous outputs stay, the run's own are kept beside them
//! to look at, and the run exits with a code of its own. `run --accept`
//! publishes anyway. Pure: the run decides what to do with the verdict.

use serde::{Deserialize, Serialize};

use crate::changes::Counts;
use crate::config::Guards;

/// One guard that tripped, and why, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tripped {
    /// `min_files`, `max_withdrawn_pct` or `max_revised_pct`.
    pub guard: String,
    pub detail: String,
}

/// What the run is compared with: the files it read, and, when there are
/// previous outputs, how many values they published and what changed in
/// the values since.
pub struct Night {
    pub files: u64,
    pub published: Option<(u64, Counts)>,
}

/// The guards `night` trips, in the order of [`Guards`]' fields.
pub fn check(g: &Guards, night: &Night) -> Vec<Tripped> {
    let mut out = Vec::new();
    let trip = |guard: &str, detail: String| Tripped { guard: guard.to_owned(), detail };
    if night.files < g.min_files {
        out.push(trip(
            "min_files",
            format!("the inbox holds {} files; at least {} expected", night.files, g.min_files),
        ));
    }
    if let Some((published, k)) = night.published.as_ref().filter(|(n, _)| *n > 0) {
        // Exact: n × 100 > pct × published, no division.
        let over = |n: u64, pct: u64| u128::from(n) * 100 > u128::from(pct) * u128::from(*published);
        let share = |n: u64| format!("{n} of the {published} published values");
        if over(k.withdrawn, g.max_withdrawn_pct) {
            let detail = format!("{} would be withdrawn; at most {} %", share(k.withdrawn), g.max_withdrawn_pct);
            out.push(trip("max_withdrawn_pct", detail));
        }
        if over(k.revised, g.max_revised_pct) {
            let detail = format!("{} would be revised; at most {} %", share(k.revised), g.max_revised_pct);
            out.push(trip("max_revised_pct", detail));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn night(files: u64, published: u64, revised: u64, withdrawn: u64) -> Night {
        Night { files, published: Some((published, Counts { new: 0, revised, withdrawn })) }
    }

    #[test]
    fn each_guard_trips_past_its_bound_and_not_at_it() {
        let g = Guards::default();
        assert_eq!(check(&g, &night(1, 100, 20, 5)), []);
        let names = |t: Vec<Tripped>| t.into_iter().map(|t| t.guard).collect::<Vec<_>>();
        assert_eq!(names(check(&g, &night(0, 100, 21, 6))), ["min_files", "max_withdrawn_pct", "max_revised_pct"]);
        // A first run has nothing published to withdraw.
        assert_eq!(check(&g, &Night { files: 3, published: None }), []);
        let t = check(&g, &night(1, 1000, 0, 100));
        assert_eq!(t[0].detail, "100 of the 1000 published values would be withdrawn; at most 5 %");
    }
}
