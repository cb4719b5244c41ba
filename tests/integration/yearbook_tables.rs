//! The yearbook tables (统计年鉴表): each parent's indicator × year table,
//! the league and the risers and fallers, as CSV and as `tables.xlsx`,
//! checked value by value against the totals and metrics the run printed.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use calamine::{Data, DataType, Reader, open_workbook_auto};
use yearbook::decimal::{Decimal, Rounding};

use crate::util::{cell, csv_rows, find, run_sample};

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

/// The catalog's decimals of each indicator.
fn catalog_decimals() -> BTreeMap<String, u8> {
    let rows = csv_rows(&crate::util::repo().join("schemas/catalog.csv"));
    rows[1..].iter().map(|r| (cell(&rows, r, "code").to_owned(), cell(&rows, r, "decimals").parse().unwrap())).collect()
}

#[test]
fn each_parent_s_table_is_its_totals_pivoted_on_the_year_value_by_value() {
    let out = crate::util::shared_sample();
    let book = csv_rows(&out.join("summary/yearbook.csv"));
    let header = &book[0];
    let years: Vec<String> =
        header.iter().filter_map(|h| h.strip_suffix('年').filter(|y| y.len() == 4).map(str::to_owned)).collect();
    assert_eq!(years, ["2015", "2016", "2017", "2018", "2019", "2020", "2021", "2022"]);
    let latest = years.last().unwrap();
    let decimals = catalog_decimals();

    let mut pairs = BTreeSet::new();
    let mut compared = 0;
    for year in &years {
        let totals = csv_rows(&out.join(format!("summary/{year}/totals.csv")));
        for t in &totals[1..] {
            let (parent, indicator) = (cell(&totals, t, "汇总单位代码"), cell(&totals, t, "指标代码"));
            pairs.insert((parent.to_owned(), indicator.to_owned()));
            let row = find(&book, &[("汇总单位代码", parent), ("指标代码", indicator)]);
            let got = cell(&book, row, &format!("{year}年"));
            match cell(&totals, t, "合计值") {
                "" => assert_eq!(got, "", "{parent} {indicator} {year}: no total, yet the table shows one"),
                v => {
                    let want = dec(v).round(decimals[indicator], Rounding::HalfUp).unwrap();
                    assert_eq!(got, want.to_string(), "{parent} {indicator} {year}");
                    compared += 1;
                }
            }
            if year == latest {
                for (theirs, ours) in [
                    ("目标值", format!("{latest}年目标值")),
                    ("完成率(%)", format!("{latest}年完成率(%)")),
                    ("同比增长(%)", format!("{latest}年同比增长(%)")),
                    ("同比变化(百分点)", format!("{latest}年同比变化(百分点)")),
                ] {
                    let (want, got) = (cell(&totals, t, theirs), cell(&book, row, &ours));
                    match theirs {
                        "目标值" if !want.is_empty() => assert_eq!(dec(got), dec(want), "{parent} {indicator}"),
                        _ => assert_eq!(got, want, "{parent} {indicator} {theirs}"),
                    }
                }
            }
        }
    }
    // One row per parent and indicator with a total in some year, no more.
    assert_eq!(book.len() - 1, pairs.len());
    assert!(compared > 150, "compared only {compared} values");
    // The city's new urban jobs: the figure its bureau reports for it (the
    // seed's 37.6万), not the bureau's added to the districts'.
    let city = find(&book, &[("汇总单位代码", "TJ"), ("指标代码", "EMP-URBAN-NEW")]);
    assert_eq!(cell(&book, city, "2021年"), "376200");
}

#[test]
fn risers_and_fallers_are_the_largest_growths_each_year_as_the_people_s_table_prints_them() {
    let out = crate::util::shared_sample();
    for year in 2017..=2022 {
        let path = out.join(format!("summary/{year}/movers.csv"));
        if !path.exists() {
            continue;
        }
        let movers = csv_rows(&path);
        let indicators = csv_rows(&out.join(format!("summary/{year}/indicators.csv")));
        // Every growth of the year, to find the largest.
        let mut growths: Vec<Decimal> = indicators[1..]
            .iter()
            .filter_map(|r| Some(cell(&indicators, r, "同比增长(%)")).filter(|g| !g.is_empty()).map(dec))
            .collect();
        growths.sort();
        for (direction, sign) in [("上升", 1), ("下降", -1)] {
            let rows: Vec<&Vec<String>> =
                movers[1..].iter().filter(|r| cell(&movers, r, "方向") == direction).collect();
            assert!(rows.len() <= 10, "{year} {direction}: {} rows", rows.len());
            let mut expected: Vec<Decimal> =
                growths.iter().copied().filter(|g| g.mantissa().signum() == sign).collect();
            if sign > 0 {
                expected.reverse();
            }
            expected.truncate(10);
            let got: Vec<Decimal> = rows.iter().map(|r| dec(cell(&movers, r, "同比增长(%)"))).collect();
            assert_eq!(got, expected, "{year} {direction}");
            for (i, r) in rows.iter().enumerate() {
                assert_eq!(cell(&movers, r, "名次"), (i + 1).to_string());
                let m = find(
                    &indicators,
                    &[("单位代码", cell(&movers, r, "单位代码")), ("指标代码", cell(&movers, r, "指标代码"))],
                );
                assert_eq!(cell(&movers, r, "同比增长(%)"), cell(&indicators, m, "同比增长(%)"));
                assert_eq!(dec(cell(&movers, r, "本年值")), dec(cell(&indicators, m, "实际值")));
                assert_eq!(dec(cell(&movers, r, "上年值")), dec(cell(&indicators, m, "上年值")));
            }
        }
    }
    let m2021 = csv_rows(&out.join("summary/2021/movers.csv"));
    let top = &m2021[1];
    // The bureau's 15 blacklist entries of 2021 against the 6 of 2020 that
    // the 劳动保障监察 table gives as its 市本级 figure.
    assert_eq!((top[2].as_str(), top[4].as_str(), top[9].as_str()), ("TJ-HRSS", "BLACKLIST-CASES", "150.00"));
}

/// `tables.xlsx` holds what the CSVs hold: a sheet per parent with its
/// numbers as numbers in the indicator's format, a league sheet per year.
#[test]
fn the_tables_workbook_holds_the_csvs_figures_a_sheet_per_table() {
    let out = crate::util::shared_sample();
    let mut wb = open_workbook_auto(out.join("tables.xlsx")).unwrap();
    let names = wb.sheet_names();
    assert_eq!(&names[..4], ["天津市", "和平区", "河东区", "滨海新区"]);
    assert!(names.contains(&"2021年完成情况排名".to_owned()), "{names:?}");
    assert!(names.contains(&"2021年增减幅度前10".to_owned()), "{names:?}");

    let book = csv_rows(&out.join("summary/yearbook.csv"));
    let mut compared = 0;
    for sheet in &names[..4] {
        let range = wb.worksheet_range(sheet).unwrap();
        let rows: Vec<&[Data]> = range.rows().collect();
        assert!(rows[0][0].get_string().unwrap().starts_with(&format!("{sheet}主要统计指标")));
        let header: Vec<String> = rows[1].iter().map(|d| d.to_string()).collect();
        assert_eq!(header, book[0]);
        for r in &rows[2..] {
            let csv = find(&book, &[("汇总单位代码", &r[0].to_string()), ("指标代码", &r[2].to_string())]);
            for (c, want) in csv.iter().enumerate().skip(5) {
                // Figures are numbers; the scope (口径) and the growth's
                // basis are words.
                match (r.get(c).and_then(|d| d.as_f64()), r.get(c).and_then(|d| d.get_string())) {
                    (Some(got), _) => {
                        assert_eq!(got, want.parse::<f64>().unwrap(), "{sheet} {} {}", csv[2], book[0][c]);
                        compared += 1;
                    }
                    (None, Some(got)) => assert_eq!(got, want, "{sheet} {} {}", csv[2], book[0][c]),
                    (None, None) => assert_eq!(want, "", "{sheet} {} {}: missing in the sheet", csv[2], book[0][c]),
                }
            }
        }
    }
    assert!(compared > 200, "compared only {compared}");

    let league = csv_rows(&out.join("summary/2021/league.csv"));
    let range = wb.worksheet_range("2021年完成情况排名").unwrap();
    let rows: Vec<Vec<String>> = range.rows().skip(2).map(|r| r.iter().map(|d| d.to_string()).collect()).collect();
    let want: Vec<Vec<String>> = league[1..]
        .iter()
        .map(|r| r.iter().map(|v| v.parse::<f64>().map(|f| f.to_string()).unwrap_or(v.clone())).collect())
        .collect();
    assert_eq!(rows, want);
}

/// The tables read the run's own files by path, so an output directory
/// whose name a glob would read differently still gets them.
#[test]
fn an_output_directory_named_like_a_glob_still_gets_its_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("runs [2021]*?").join("out");
    run_sample(&out);
    let book = csv_rows(&out.join("summary/yearbook.csv"));
    let city = find(&book, &[("汇总单位代码", "TJ"), ("指标代码", "EMP-URBAN-NEW")]);
    assert_eq!(cell(&book, city, "2021年"), "376200");
    assert!(out.join("tables.xlsx").exists());
}
