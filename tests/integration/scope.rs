//! SUBMISSIONS.md "Scope (口径)" on the bundled sample: the city's new
//! urban jobs are the figure its bureau reports for it, and the 劳动保障监察
//! table's 全市 rows are the city's reported figures, with the members'
//! sum and the difference beside them.

use crate::util::{cell, find, parquet_rows, stdout, yearbook};

#[test]
fn explain_shows_the_reported_figure_with_its_row_the_members_sum_and_the_difference() {
    let out = crate::util::shared_sample();
    let o = yearbook(&["explain", "TJ", "EMP-URBAN-NEW", "2021", "--total", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = stdout(&o);
    for expected in [
        "(total: the figure reported for it, as published;",
        "scope (口径): reported",
        "reported value (TJ-HRSS 2021) 376200 人",
        "city/TJ-HRSS-2021.csv line 2, byte 115",
        "members' sum (下级合计)         60197",
        "difference (本级及未分配)       316003",
        "growth basis: reported",
        "= (376200 − 370900) / 370900 × 100",
        "→ 1.43 (rounded half_up to 2 decimals)",
        "= 376200 / 350000 × 100",
        "value reported for TJ-D01 (TJ-D01-HRSS 2021) 22874 人",
        "missing (1): TJ-D02",
    ] {
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
    }
    let o = yearbook(&["audit", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn a_tables_total_row_is_the_city_s_figure_and_parts_above_it_are_a_finding() {
    let out = crate::util::shared_sample();
    let t = parquet_rows(out, "totals");
    let file = "imports/2019-2020年劳动保障监察情况.csv";
    let y2019 = find(&t, &[("year", "2019"), ("agency", "TJ"), ("indicator", "LABOR-VIOLATION-CASES")]);
    for (column, want) in [
        ("value_basis", "reported"),
        ("reported_by", "TJ"),
        ("reported_source_file", file),
        ("reported_source_line", "4"),
        ("value", "1208.00000000000000000000"),
        ("members_value", "1205.00000000000000000000"),
        ("unallocated", "3.00000000000000000000"),
        ("contributors", "[TJ-D01-HRSS, TJ-D02-HRSS, TJ-D13-HRSS, TJ-HRSS]"),
        ("findings", "[]"),
    ] {
        assert_eq!(cell(&t, y2019, column), want, "2019 {column}");
    }
    let y2020 = find(&t, &[("year", "2020"), ("agency", "TJ"), ("indicator", "LABOR-VIOLATION-CASES")]);
    for (column, want) in [
        ("value", "1174.00000000000000000000"),
        ("unallocated", "-3.00000000000000000000"),
        ("findings", "[members_exceed_reported]"),
        ("finding_detail", "the members' sum 1177 exceeds the reported figure 1174 by 3"),
        ("growth_basis", "reported"),
        ("growth_pct", "-2.81"),
    ] {
        assert_eq!(cell(&t, y2020, column), want, "2020 {column}");
    }
    // The people's table says it too.
    let csv = crate::util::csv_rows(&out.join("summary/2020/totals.csv"));
    let row = find(&csv, &[("汇总单位代码", "TJ"), ("指标代码", "LABOR-VIOLATION-CASES")]);
    assert_eq!(
        [cell(&csv, row, "口径"), cell(&csv, row, "下级合计"), cell(&csv, row, "本级及未分配")],
        ["上报数", "1177", "-3"]
    );
    assert_eq!(cell(&csv, row, "审核发现"), "下级合计1177大于上报数1174（超出3）");
}

#[test]
fn a_summed_total_grows_over_the_agencies_of_both_years() {
    let out = crate::util::shared_sample();
    let t = parquet_rows(out, "totals");
    // 2019: 市司法局 and 市民政局 join 和平区司法局 (14 in 2018). The level
    // went from 14 to 421; compared over 和平区司法局 alone, 14 → 11.
    let row = find(&t, &[("year", "2019"), ("agency", "TJ"), ("indicator", "ADMIN-LITIGATION")]);
    for (column, want) in [
        ("value", "421.00000000000000000000"),
        ("growth_basis", "comparable"),
        ("compared", "11.00000000000000000000"),
        ("previous", "14.00000000000000000000"),
        ("growth_pct", "-21.43"),
        ("not_compared", "[TJ-JUS, TJ-MZ]"),
    ] {
        assert_eq!(cell(&t, row, column), want, "{column}");
    }
    // 2019's new jobs are the bureau's report, 2018's were the districts':
    // no growth across the change of basis.
    let row = find(&t, &[("year", "2019"), ("agency", "TJ"), ("indicator", "EMP-URBAN-NEW")]);
    assert_eq!((cell(&t, row, "growth_pct"), cell(&t, row, "growth_null_reason")), ("", "basis_changed"));
}
