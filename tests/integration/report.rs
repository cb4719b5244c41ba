//! `report.html` rendered by a real browser: Debian's Chromium, headless,
//! loads the sample run's page; the test reads the text the browser laid
//! out (its DOM after loading) for the seed's figures and saves a
//! screenshot (`tests/screenshots/report.png` with `YEARBOOK_BLESS=1`, as
//! the README shows it).
//!
//! Without `chromium` the browser half says it skipped and passes, unless
//! `YEARBOOK_REQUIRE_CHROMIUM=1` (as `.ci/run` sets, having installed it).

use std::path::Path;
use std::process::Command;

use crate::util::{repo, run_sample};

fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()));
    if found.is_none() && std::env::var("YEARBOOK_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1") {
        panic!("chromium is required (YEARBOOK_REQUIRE_CHROMIUM=1) but not found");
    }
    found
}

/// Chromium, headless, with nothing that reaches for the network (this
/// machine's is closed) and a fresh profile.
fn headless(browser: &str, profile: &Path) -> Command {
    let mut c = Command::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// The text of an HTML document: tags dropped, entities of the page's
/// own escaping undone, whitespace runs made one space.
fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_report_is_one_self_contained_page_with_the_seed_s_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    run_sample(&out);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // Nothing fetched: no script, stylesheet, image or frame from anywhere.
    for fetch in ["<script", "<link", "<img", "<iframe", "src=", "href=", "url(", "@import"] {
        assert!(!html.contains(fetch), "report.html has {fetch}");
    }
    let text = text_of(&html);
    // The seed: the bureau's new urban jobs, 107.5 % of the target, 1.43 %
    // more than the year before, in its 2021 bars.
    let y2021 = &text[text.find("2021年 ").expect("2021's bars")..];
    let y2021 = &y2021[y2021.find("城镇新增就业（天津市）").expect("2021's new urban jobs")..];
    let bureau = &y2021[y2021.find("天津市人力资源和社会保障局").unwrap()..];
    assert!(bureau.starts_with("天津市人力资源和社会保障局 107.5%，同比 1.43%"), "{}", &bureau[..80]);
    // The city's line is the figure the bureau reports for it, its
    // districts' sum and the part they do not cover beside it.
    let city = &y2021[y2021.find("天津市 ").unwrap()..];
    assert!(
        city.starts_with("天津市 107.5%，同比 1.43%（上报数；下级合计 60197人，本级及未分配 316003人）"),
        "{}",
        &city[..120]
    );
    // What the run read, the league and the mismatched claims are there.
    assert!(text.contains("341 读取行 rows read"), "{}", &text[..400]);
    assert!(text.contains("目标完成情况排名"));
    // The review rules' findings, the worst first: the error rule that
    // quarantined two figures before the warnings.
    let checks = &text[text.find("审核结果").expect("a review rules section")..];
    assert!(
        checks.contains("494 evaluations: 315 passed, 3 failed (2 rows quarantined), 1 explained"),
        "{}",
        &checks[..300]
    );
    assert!(checks.find("R12 调解成功案件不超过调解受理案件") < checks.find("R35 "), "{}", &checks[..600]);
    assert!(text.contains("按修约后的发布数计算"), "a diagnosis of the sample's mismatched claims");
    assert!(text.contains("bad_number 3"), "the quarantine by reason");

    // Reproducible: a second run writes the same bytes.
    let again = tmp.path().join("again");
    run_sample(&again);
    assert_eq!(std::fs::read(again.join("report.html")).unwrap(), html.as_bytes());
}

#[test]
fn chromium_renders_the_report_with_the_seed_s_figures_and_a_screenshot() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no chromium (Debian: apt-get install chromium)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    run_sample(&out);
    let page = format!("file://{}", out.join("report.html").display());

    let dom = headless(browser, &tmp.path().join("profile-dom")).arg("--dump-dom").arg(&page).output().unwrap();
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let text = text_of(&String::from_utf8(dom.stdout).unwrap());
    let y2021 = &text[text.find("2021年 ").expect("2021's bars in the rendered page")..];
    let y2021 = &y2021[y2021.find("城镇新增就业（天津市）").expect("2021's new urban jobs")..];
    let bureau = &y2021[y2021.find("天津市人力资源和社会保障局").unwrap()..];
    assert!(bureau.starts_with("天津市人力资源和社会保障局 107.5%，同比 1.43%"), "{}", &bureau[..80]);
    // The city's line is the figure the bureau reports for it, its
    // districts' sum and the part they do not cover beside it.
    let city = &y2021[y2021.find("天津市 ").unwrap()..];
    assert!(
        city.starts_with("天津市 107.5%，同比 1.43%（上报数；下级合计 60197人，本级及未分配 316003人）"),
        "{}",
        &city[..120]
    );

    let shot = tmp.path().join("report.png");
    let o = headless(browser, &tmp.path().join("profile-shot"))
        .arg("--window-size=1200,2400")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&page)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let (w, h) =
        (u32::from_be_bytes(png[16..20].try_into().unwrap()), u32::from_be_bytes(png[20..24].try_into().unwrap()));
    assert_eq!((w, h), (1200, 2400));
    // A blank page compresses to a few kilobytes; charts and tables do not.
    assert!(png.len() > 100_000, "screenshot of {} bytes: blank?", png.len());
    if std::env::var_os("YEARBOOK_BLESS").is_some() {
        let keep = repo().join("tests/screenshots/report.png");
        std::fs::create_dir_all(keep.parent().unwrap()).unwrap();
        std::fs::copy(&shot, keep).unwrap();
    }
}
