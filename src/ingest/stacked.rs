//! A header of several rows, as yearbook tables print them: a group's name
//! over its columns (a merged cell, which a spreadsheet saves in its first
//! column only), words of a long name split over rows, a row of years over
//! the indicators of each year (or under them). Each column gets the words
//! of its rows, joined with a space, and the year a row of years gives it.

use crate::config::Layouts;

/// The header of one file, its rows read together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stacked {
    /// Each column's name as the file writes it: the words of every row,
    /// its year among them.
    pub names: Vec<String>,
    /// Each column's name without the year a row of years gives it: what
    /// names its field or indicator.
    pub words: Vec<String>,
    /// The year a row of years gives each column.
    pub years: Vec<Option<i32>>,
}

impl Stacked {
    /// A header of one row: its names are its words, and a name that is a
    /// year is left to the layouts (a wide file's year columns).
    pub fn one(names: Vec<String>) -> Stacked {
        let years = vec![None; names.len()];
        Stacked { words: names.clone(), names, years }
    }

    /// A header of `rows` (top first). A cell stands over the columns to
    /// its right whose cell in its row is empty (a merged cell), as far as
    /// a lower row names them and no higher row starts another group; the
    /// lowest row stands only over its own column. A cell that is a year
    /// (`2019`, `2019年`, by the layouts' year suffixes) gives the columns it
    /// stands over their year, and is no word of their names.
    pub fn read(rows: &[Vec<String>], layouts: &Layouts) -> Stacked {
        if rows.len() == 1 {
            return Stacked::one(rows[0].clone());
        }
        let width = rows.iter().map(Vec::len).max().unwrap_or(0);
        let cell = |r: usize, c: usize| rows[r].get(c).map_or("", |s| trim(s));
        let filled: Vec<Vec<&str>> = (0..rows.len())
            .map(|r| {
                let mut carried = "";
                (0..width)
                    .map(|c| {
                        let here = cell(r, c);
                        if !here.is_empty() {
                            carried = here;
                        } else {
                            let below = (r + 1..rows.len()).any(|q| !cell(q, c).is_empty());
                            let new_group = (0..r).any(|q| !cell(q, c).is_empty());
                            if !below || new_group {
                                carried = "";
                            }
                        }
                        if here.is_empty() && r + 1 == rows.len() { "" } else { carried }
                    })
                    .collect()
            })
            .collect();
        let year = |r: usize, c: usize| layouts.year_column(filled[r][c]);
        let join = |c: usize, with_years: bool| {
            let words: Vec<&str> = (0..rows.len())
                .filter(|&r| with_years || year(r, c).is_none())
                .map(|r| filled[r][c])
                .filter(|s| !s.is_empty())
                .collect();
            words.join(" ")
        };
        let years = (0..width).map(|c| (0..rows.len()).find_map(|r| year(r, c))).collect();
        Stacked {
            names: (0..width).map(|c| join(c, true)).collect(),
            words: (0..width).map(|c| join(c, false)).collect(),
            years,
        }
    }
}

fn trim(s: &str) -> &str {
    s.trim_matches([' ', '\t', '\u{3000}', '\u{feff}'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &[&str]) -> Vec<Vec<String>> {
        text.iter().map(|r| r.split('|').map(str::to_owned).collect()).collect()
    }

    fn layouts() -> Layouts {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/layouts.toml");
        Layouts::load(&path).unwrap()
    }

    #[test]
    fn a_group_stands_over_the_columns_its_merged_cell_spans() {
        let s = Stacked::read(&rows(&["单位代码|年份|参保人数（万人）||", "||养老|工伤|失业"]), &layouts());
        assert_eq!(
            s.names,
            ["单位代码", "年份", "参保人数（万人） 养老", "参保人数（万人） 工伤", "参保人数（万人） 失业"]
        );
        assert_eq!(s.years, [None; 5]);
    }

    #[test]
    fn words_split_over_four_rows_join_and_a_group_ends_where_a_higher_row_starts_another() {
        let s = Stacked::read(
            &rows(&[
                "Region|Persons employed||Wages|",
                "|in urban|in rural|average|",
                "|units|areas|annual|monthly",
                "||||",
            ]),
            &layouts(),
        );
        assert_eq!(
            s.names,
            [
                "Region",
                "Persons employed in urban units",
                "Persons employed in rural areas",
                "Wages average annual",
                "Wages average monthly"
            ]
        );
    }

    #[test]
    fn a_row_of_years_over_indicators_gives_each_column_its_year() {
        let s = Stacked::read(&rows(&["地区|2016||2017年|", "|市外迁入|迁往市外|市外迁入|迁往市外"]), &layouts());
        assert_eq!(s.words, ["地区", "市外迁入", "迁往市外", "市外迁入", "迁往市外"]);
        assert_eq!(s.years, [None, Some(2016), Some(2016), Some(2017), Some(2017)]);
        assert_eq!(s.names[4], "2017年 迁往市外");
    }

    #[test]
    fn indicators_over_years_read_the_same() {
        let s = Stacked::read(&rows(&["地区|常住人口（万人）||", "|2020|2021|2022"]), &layouts());
        assert_eq!(s.words, ["地区", "常住人口（万人）", "常住人口（万人）", "常住人口（万人）"]);
        assert_eq!(s.years, [None, Some(2020), Some(2021), Some(2022)]);
    }

    #[test]
    fn one_row_is_left_as_it_is() {
        let s = Stacked::read(&rows(&["indicator|2020|2021"]), &layouts());
        assert_eq!((s.words.clone(), s.years), (s.names, vec![None; 3]));
    }
}
