//! How names compare: a header, a value map's key, an agency's or an
//! indicator's name in Chinese or English, trimmed and lower-cased; and an
//! index of the names that name one thing only. Shared by the catalog, the
//! register, the layouts and the sources.

use rustc_hash::FxHashMap;

/// Names and cells compare trimmed and lower-cased.
pub fn normalize(text: &str) -> String {
    text.trim_start_matches('\u{feff}').trim_matches([' ', '\t', '\u{3000}']).to_lowercase()
}

/// Names (normalized) → ids, for names that name one thing only: a name two
/// entries share says nothing, and is left out.
pub fn name_index<'a, T: Copy + Eq>(names: impl Iterator<Item = (&'a str, T)>) -> FxHashMap<String, T> {
    let mut index: FxHashMap<String, Option<T>> = FxHashMap::default();
    for (name, id) in names {
        if name.trim().is_empty() {
            continue;
        }
        let slot = index.entry(normalize(name)).or_insert(Some(id));
        if *slot != Some(id) {
            *slot = None;
        }
    }
    index.into_iter().filter_map(|(k, v)| Some((k, v?))).collect()
}
