//! Which file's figure stands when two files send one (agency, indicator,
//! year): the later file in the order of relative paths supersedes the
//! earlier (a correction is named to sort later, `revisions/2022-03-01-…`),
//! and the row it replaced is kept as history. The whole rule is here: the
//! order files are numbered in ([`in_file_order`]), the order a bucket's
//! rows are sorted in ([`sort`]) and the merge that keeps the last
//! ([`merge`]). A file's repeats of its own keys are settled in normalize,
//! before this.

use crate::model::{FileId, Observation, Origin, Superseded};

/// Items named by their relative paths, sorted by them and numbered:
/// a later [`FileId`] supersedes an earlier one.
pub fn in_file_order<T>(mut items: Vec<(String, T)>) -> impl Iterator<Item = (FileId, String, T)> {
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items.into_iter().enumerate().map(|(i, (rel, item))| (FileId(i as u32), rel, item))
}

/// Sorts rows by key, then file, line and column: of one key's rows, those
/// of later files come later, whatever order they were read in.
pub fn sort(rows: &mut [Observation]) {
    rows.sort_unstable_by_key(|o| (o.key, o.origin.file, o.origin.line, o.origin.column));
}

/// The current observations of one bucket (one per key, sorted by key)
/// and the history they replaced.
pub struct Merged {
    pub current: Vec<Observation>,
    pub superseded: Vec<Superseded>,
}

/// Merges rows in [`sort`] order: of the rows of one key the one from the
/// latest file is current; each earlier one is superseded by the next.
pub fn merge(mut sorted: Vec<Observation>) -> Merged {
    // Superseded rows are few: they are taken out in place, and the rows
    // that stay are not copied (a bucket holds tens of thousands).
    let by: Vec<(usize, Origin)> =
        sorted.windows(2).enumerate().filter(|(_, w)| w[0].key == w[1].key).map(|(i, w)| (i, w[1].origin)).collect();
    let (mut at, mut next) = (0, by.iter().map(|(i, _)| *i).peekable());
    let superseded = sorted
        .extract_if(.., |_| {
            let out = next.next_if_eq(&at).is_some();
            at += 1;
            out
        })
        .zip(&by)
        .map(|(observation, &(_, by))| Superseded { by, observation })
        .collect();
    Merged { current: sorted, superseded }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AgencyId, IndicatorId};
    use crate::decimal::Decimal;
    use crate::model::{Key, Origin};

    fn row(file: u32, line: u64, value: i128) -> Observation {
        Observation {
            key: Key { agency: AgencyId(0), indicator: IndicatorId(0), year: 2021 },
            value: Some(Decimal::new(value, 0)),
            target: None,
            claimed_completion: None,
            claimed_growth: None,
            unit: "件".into(),
            power: 0,
            note: None,
            value_raw: value.to_string().into(),
            target_raw: None,
            origin: Origin { file: FileId(file), line, byte: 0, column: 0 },
        }
    }

    #[test]
    fn files_are_numbered_in_path_order() {
        let order: Vec<(FileId, String)> =
            in_file_order(vec![("revisions/2022-03-01-a.csv".into(), ()), ("districts/a.csv".into(), ())])
                .map(|(id, rel, ())| (id, rel))
                .collect();
        assert_eq!(order, [(FileId(0), "districts/a.csv".into()), (FileId(1), "revisions/2022-03-01-a.csv".into())]);
    }

    #[test]
    fn the_latest_file_stands_and_each_earlier_row_is_superseded_by_the_next() {
        // Read in any order: the sort puts them in file order.
        let mut rows = vec![row(2, 5, 217), row(0, 9, 210), row(1, 3, 215)];
        sort(&mut rows);
        let merged = merge(rows);
        assert_eq!(merged.current.len(), 1);
        assert_eq!(merged.current[0].value, Some(Decimal::new(217, 0)));
        let history: Vec<(u32, u32)> =
            merged.superseded.iter().map(|s| (s.observation.origin.file.0, s.by.file.0)).collect();
        assert_eq!(history, [(0, 1), (1, 2)]);
    }

    #[test]
    fn among_many_keys_only_the_earlier_rows_of_a_key_are_taken_out() {
        let at = |indicator: u32, file: u32| {
            let mut r = row(file, u64::from(indicator) * 10 + u64::from(file), i128::from(file));
            r.key.indicator = IndicatorId(indicator);
            r
        };
        let mut rows = vec![at(0, 0), at(1, 0), at(1, 2), at(1, 1), at(2, 3), at(2, 0), at(3, 1)];
        sort(&mut rows);
        let merged = merge(rows);
        let current: Vec<(u32, u32)> = merged.current.iter().map(|o| (o.key.indicator.0, o.origin.file.0)).collect();
        assert_eq!(current, [(0, 0), (1, 2), (2, 3), (3, 1)]);
        let history: Vec<(u32, u32, u32)> = merged
            .superseded
            .iter()
            .map(|s| (s.observation.key.indicator.0, s.observation.origin.file.0, s.by.file.0))
            .collect();
        assert_eq!(history, [(1, 0, 1), (1, 1, 2), (2, 0, 3)]);
    }
}
