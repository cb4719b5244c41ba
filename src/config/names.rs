//! How names compare: a header, a value map's key, an agency's or an
//! indicator's name in Chinese or English, trimmed and lower-cased; and an
//! index of the names that name one thing only. Shared by the catalog, the
//! register, the layouts and the sources.

use rustc_hash::FxHashMap;

/// Names and cells compare as people mean them, not as they typed them:
/// white space anywhere left out (`全  市` is `全市`, a trailing pad or a
/// BOM too), full-width letters, digits and signs as their ASCII forms
/// (`ＴＪ－ＨＲＳＳ`, `（万人）`), lower-cased.
pub fn normalize(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{feff}')
        .map(|c| match c {
            // The full-width forms of ASCII `!` to `~`.
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Up to three of `names` nearest to `text` (by edit distance over their
/// normalized forms, at least half alike), the nearest first: what an
/// unknown name's message suggests.
pub fn nearest<'a>(text: &str, names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let want = normalize(text);
    let mut scored: Vec<(f64, &str)> = names
        .filter(|n| !n.trim().is_empty())
        .map(|n| (strsim::normalized_levenshtein(&want, &normalize(n)), n))
        .filter(|(score, _)| *score >= 0.5)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, n)| n).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_without_white_space_width_or_case() {
        assert_eq!(normalize(" 全  市\u{3000}"), normalize("全市"));
        assert_eq!(normalize("ＴＪ－ＨＲＳＳ"), "tj-hrss");
        assert_eq!(normalize("出生人口（万人）"), normalize("出生人口(万人)"));
        assert_eq!(normalize("Heping\u{a0}District "), "hepingdistrict");
    }

    #[test]
    fn the_nearest_names_come_first_and_unlike_ones_not_at_all() {
        let names = ["和平区", "河东区", "滨海新区", "天津市"];
        assert_eq!(nearest("和平", names.into_iter()), ["和平区"]);
        assert_eq!(nearest("河西区", names.into_iter()), ["河东区"]);
        assert!(nearest("Statistics Bureau", names.into_iter()).is_empty());
    }
}
