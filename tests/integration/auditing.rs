//! What auditors run: `explain`, `audit` and the claims check.

use std::path::Path;

use crate::util::{EN_HEADER, Scratch, cell, claims_table, csv_rows, find, run_sample, stdout, yearbook};

fn sample() -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    run_sample(&out);
    let out = out.to_str().unwrap().to_owned();
    (tmp, out)
}

#[test]
fn explain_shows_the_seed_completion_from_file_and_line() {
    let (_tmp, out) = sample();
    let o = yearbook(&["explain", "TJ-HRSS", "EMP-URBAN-NEW", "2021", "--metric", "completion", "--out", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = stdout(&o);
    for expected in [
        "completion (completion_pct) = actual / target × 100",
        "typed \"37.62\" in 万人: 37.62 万人 × 10^4 = 376200 人",
        "typed \"35\" in 万人: 35 万人 × 10^4 = 350000 人",
        "city/TJ-HRSS-2021.csv line 2, byte 115, field \"数值\", sha256 bc97e917",
        "= 376200 / 350000 × 100",
        "= 107.485714285714…",
        "→ 107.5 (rounded half_up to 1 decimal)",
        "printed in completion_pct: 107.5",
        "claimed by the agency: 107.5 (matches at its own precision)",
    ] {
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
    }
    assert!(!text.contains("growth"), "--metric completion shows only completion:\n{text}");
}

#[test]
fn explain_json_of_a_total_lists_contributors_and_missing() {
    let (_tmp, out) = sample();
    let o = yearbook(&["explain", "TJ", "EMP-URBAN-NEW", "2021", "--json", "--out", &out]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(e["subject"], "total");
    // The districts, each by the figure its bureau reports for it.
    let agencies: Vec<&str> =
        e["contributors"].as_array().unwrap().iter().map(|c| c["agency"].as_str().unwrap()).collect();
    assert_eq!(agencies, ["TJ-D01", "TJ-D13"]);
    assert_eq!(e["contributors"][0]["inputs"][0]["agency"], "TJ-D01-HRSS");
    // TJ-D02-HRSS's 2021 rows conflict, so they are quarantined.
    assert_eq!(e["missing"], serde_json::json!(["TJ-D02"]));
    // The city's figure is the one the municipal bureau reports for it.
    let scope = &e["scope"];
    assert_eq!(scope["value_basis"], "reported");
    assert_eq!(scope["reported"][0]["agency"], "TJ-HRSS");
    assert_eq!(scope["reported"][0]["source"]["file"], "city/TJ-HRSS-2021.csv");
    assert_eq!(scope["reported"][0]["source"]["line"], 2);
    assert_eq!((&scope["members_value"], &scope["unallocated"]), (&"60197".into(), &"316003".into()));
    assert_eq!(scope["growth_basis"], "reported");
    let completion = &e["derivations"][0];
    assert_eq!(completion["computation"], "376200 / 350000 × 100");
    assert_eq!(completion["rounded"], completion["printed"]);
    assert_eq!(completion["printed"], "107.5");
    let growth = &e["derivations"][1];
    assert_eq!(growth["computation"], "(376200 − 370900) / 370900 × 100");
    assert_eq!(growth["printed"], "1.43");
}

#[test]
fn explain_refuses_what_is_not_there() {
    let (_tmp, out) = sample();
    let o = yearbook(&["explain", "TJ-HRSS", "NO-SUCH", "2021", "--out", &out]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no figure for TJ-HRSS NO-SUCH 2021"));
    let o = yearbook(&["explain", "TJ-HRSS", "DISPUTE-CLOSE-RATE", "2021", "--metric", "growth", "--out", &out]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("percentage points"));
}

fn audit(out: &str, input: Option<&str>) -> (Option<i32>, String) {
    let mut args = vec!["audit", "--out", out];
    if let Some(i) = input {
        args.extend(["--input", i]);
    }
    let o = yearbook(&args);
    (o.status.code(), stdout(&o))
}

#[test]
fn audit_passes_on_the_sample() {
    let (_tmp, out) = sample();
    let (code, text) = audit(&out, Some("sample_data"));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("329 metric rows recomputed"), "{text}");
    assert!(text.contains("299 total rows recomputed"), "{text}");
    assert!(text.contains("35 rate rows recomputed"), "{text}");
    assert!(text.contains("18 submissions against their manifest SHA-256"), "{text}");
    // Every review rule evaluated again; the three that read figures an
    // error rule quarantined, against quarantine.csv.
    assert!(text.contains("491 review-rule evaluations recomputed"), "{text}");
    assert!(text.contains("3 review-rule evaluations on figures quarantined by a rule"), "{text}");
    assert!(text.contains("audit passed"), "{text}");
}

/// Rewrites one Parquet part with `column` replaced, in each batch, by
/// what `replace` makes of it and of which rows `hit` picks, keeping
/// everything else (and the manifest) as it was; false (and the file
/// untouched) when no row is hit.
fn rewrite_part(
    part: &Path,
    column: &str,
    hit: impl Fn(&arrow::array::RecordBatch, usize) -> bool,
    replace: impl Fn(&arrow::array::ArrayRef, &[bool]) -> arrow::array::ArrayRef,
) -> bool {
    use arrow::array::RecordBatch;
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(part).unwrap()).unwrap().build().unwrap();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    if !batches.iter().any(|b| (0..b.num_rows()).any(|r| hit(b, r))) {
        return false;
    }
    let schema = batches[0].schema();
    let idx = schema.index_of(column).unwrap();
    let mut writer = ArrowWriter::try_new(std::fs::File::create(part).unwrap(), schema.clone(), None).unwrap();
    for b in batches {
        let hits: Vec<bool> = (0..b.num_rows()).map(|r| hit(&b, r)).collect();
        let mut cols = b.columns().to_vec();
        cols[idx] = replace(b.column(idx), &hits);
        writer.write(&RecordBatch::try_new(schema.clone(), cols).unwrap()).unwrap();
    }
    writer.close().unwrap();
    true
}

/// Whether row `r` of `b` has these two text columns' values.
fn row_is(b: &arrow::array::RecordBatch, r: usize, (c1, v1): (&str, &str), (c2, v2): (&str, &str)) -> bool {
    use arrow::array::AsArray;
    let text = |c: &str| b.column_by_name(c).unwrap().as_string::<i32>().value(r).to_owned();
    text(c1) == v1 && text(c2) == v2
}

/// Rewrites one Parquet part with a decimal `column` of one row changed;
/// false when the part has no such row.
fn alter_decimal(part: &Path, column: &str, agency: &str, indicator: &str, to: i128) -> bool {
    use std::sync::Arc;

    use arrow::array::{Array, AsArray, Decimal128Array};
    use arrow::datatypes::Decimal128Type;

    let hit = |b: &arrow::array::RecordBatch, r: usize| row_is(b, r, ("agency", agency), ("indicator", indicator));
    rewrite_part(part, column, hit, |old, hits| {
        let old = old.as_primitive::<Decimal128Type>();
        let new: Decimal128Array =
            (0..old.len()).map(|r| if hits[r] { Some(to) } else { old.is_valid(r).then(|| old.value(r)) }).collect();
        Arc::new(new.with_precision_and_scale(old.precision(), old.scale()).unwrap())
    })
}

#[test]
fn audit_fails_with_a_clear_report_when_one_value_is_altered() {
    let (tmp, out) = sample();
    let dir = tmp.path().join("out/metrics/year=2021");
    let part = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| alter_decimal(p, "completion_pct", "TJ-HRSS", "EMP-URBAN-NEW", 1076)) // 107.6 instead of 107.5
        .expect("a 2021 metrics part holds TJ-HRSS");
    let name = part.file_name().unwrap().to_string_lossy();
    let (code, text) = audit(&out, None);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("audit FAILED"), "{text}");
    assert!(text.contains("metrics 2021 TJ-HRSS EMP-URBAN-NEW: completion_pct is 107.6, recomputed 107.5"), "{text}");
    assert!(text.contains(&format!("metrics/year=2021/{name}: sha256")), "the hash no longer matches:\n{text}");
}

/// Sets `column` (text) of the rows of `part` whose `rule` and `agency`
/// are these to `to`; false when the part has none.
fn alter_check(part: &Path, rule: &str, agency: &str, column: &str, to: &str) -> bool {
    use std::sync::Arc;

    use arrow::array::{Array, AsArray, StringArray};

    let hit = |b: &arrow::array::RecordBatch, r: usize| row_is(b, r, ("rule", rule), ("agency", agency));
    rewrite_part(part, column, hit, |old, hits| {
        let old = old.as_string::<i32>();
        let new: StringArray =
            (0..old.len()).map(|r| if hits[r] { Some(to) } else { old.is_valid(r).then(|| old.value(r)) }).collect();
        Arc::new(new)
    })
}

#[test]
fn audit_evaluates_the_review_rules_again_on_the_published_figures() {
    let (tmp, out) = sample();
    let dir = tmp.path().join("out/checks/year=2021");
    let part = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| alter_check(p, "R11", "TJ-HRSS", "outcome", "fail"))
        .expect("a 2021 checks part holds TJ-HRSS");
    alter_check(&part, "R11", "TJ-HRSS", "left", "33000");
    let (code, text) = audit(&out, None);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("checks 2021 R11 TJ-HRSS: outcome fail, recomputed pass"), "{text}");
    assert!(text.contains("checks 2021 R11 TJ-HRSS: sides 33000 and 32922, recomputed 32000 and 32922"), "{text}");
}

#[test]
fn audit_recomputes_each_rate_from_its_parts() {
    let (tmp, out) = sample();
    let dir = tmp.path().join("out/rates/year=2021");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| alter_decimal(p, "rate_from_parts", "TJ-HRSS", "DISPUTE-CLOSE-RATE", 973))
        .expect("a 2021 rates part holds TJ-HRSS");
    let (code, text) = audit(&out, None);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("rates 2021 TJ-HRSS DISPUTE-CLOSE-RATE: rate_from_parts is 97.3, recomputed 97.2"), "{text}");
}

#[test]
fn audit_notices_a_changed_submission() {
    let (tmp, out) = sample();
    let input = tmp.path().join("in");
    std::fs::create_dir(&input).unwrap();
    for entry in std::fs::read_dir(crate::util::repo().join("sample_data")).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            let to = input.join(p.file_name().unwrap());
            std::fs::create_dir(&to).unwrap();
            for f in std::fs::read_dir(&p).unwrap() {
                let f = f.unwrap().path();
                std::fs::copy(&f, to.join(f.file_name().unwrap())).unwrap();
            }
        }
    }
    let edited = input.join("districts/TJ-D13-HRSS.csv");
    let text = std::fs::read_to_string(&edited).unwrap().replace("3169", "3170");
    std::fs::write(&edited, text).unwrap();
    std::fs::write(input.join("districts/late.csv"), "agency\n").unwrap();
    let (code, report) = audit(&out, Some(input.to_str().unwrap()));
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains("districts/TJ-D13-HRSS.csv: sha256"), "{report}");
    assert!(report.contains("districts/late.csv: a submission the run did not read"), "{report}");
}

#[test]
fn claims_are_checked_at_their_precision_and_mismatches_diagnosed() {
    let (tmp, _) = sample();
    let claims = claims_table(&tmp.path().join("out"));
    let row = |agency: &str, indicator: &str, year: &str| {
        let keys = [("agency", agency), ("indicator", indicator), ("year", year), ("claim", "")];
        let claim =
            claims[1..].iter().find(|r| r[1] == agency && r[2] == indicator && r[0] == year).map(|r| r[3].clone());
        // A rate's growth, not its check against its parts.
        let claim = if indicator.ends_with("-RATE") { "growth".to_owned() } else { claim.unwrap_or_default() };
        find(&claims, &[keys[0], keys[1], keys[2], ("claim", claim.as_str())]).clone()
    };
    // The seed's 107.5 has one decimal: 107.4857… rounds to it.
    let r = find(
        &claims,
        &[("agency", "TJ-HRSS"), ("indicator", "EMP-URBAN-NEW"), ("year", "2021"), ("claim", "completion")],
    );
    assert_eq!((cell(&claims, r, "claimed"), cell(&claims, r, "claimed_decimals")), ("107.5", "1"));
    assert_eq!((cell(&claims, r, "claim_matches"), cell(&claims, r, "diagnosis")), ("true", ""));

    let cases = [
        ("TJ-D13-HRSS", "EMP-URBAN-NEW", "2021", "108.1", "rounded_inputs", "3.73万人 and 3.45万人"),
        ("TJ-D01-HRSS", "DISPUTE-CLOSE-RATE", "2021", "0.81", "percent_for_points", "relative growth in %"),
        ("TJ-D01-HRSS", "EMP-URBAN-NEW", "2022", "5.82", "base_year", "growth against 2020 (22094 → 23380)"),
        ("TJ-D13-HRSS", "INFO-DISCLOSED", "2021", "112", "", ""),
    ];
    for (agency, indicator, year, claimed, diagnosis, detail) in cases {
        let r = row(agency, indicator, year);
        assert_eq!(cell(&claims, &r, "claimed"), claimed);
        assert_eq!(cell(&claims, &r, "claim_matches"), "false", "{r:?}");
        assert_eq!(cell(&claims, &r, "diagnosis"), diagnosis, "{r:?}");
        assert!(cell(&claims, &r, "detail").contains(detail), "{r:?}");
    }
    let people = csv_rows(&tmp.path().join("out/summary/2021/claims.csv"));
    assert_eq!(people.len() - 1, 3, "the 2021 mismatches");
    assert_eq!(cell(&people, &people[1], "诊断"), "应报百分点却报了百分比");
    // The people's file explains in Chinese.
    assert_eq!(cell(&people, &people[1], "说明"), "相对增长率（%）（95.82 → 96.6）为 0.814026 → 0.81");
    assert_eq!(
        cell(&people, &people[2], "说明"),
        "以 3.73万人 和 3.45万人（按 万人 保留 2 位小数后的数）计算完成率：108.115942 → 108.1"
    );
}

/// SUBMISSIONS.md: the report's 107.5% cannot be had from the published
/// 37.6万 and 35万 (they give 107.4); a claim of 107.4 is diagnosed so.
#[test]
fn a_claim_from_the_rounded_published_figures_is_diagnosed() {
    let row = "TJ-HRSS,2021,EMP-URBAN-NEW,,37.62,万人,35,107.4%,,\n";
    let s = Scratch::new(&[("a.csv", format!("{EN_HEADER}{row}").as_bytes())]);
    let o = s.run();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let claims = claims_table(&s.out());
    let r = &claims[1];
    assert_eq!(cell(&claims, r, "computed"), "107.5");
    assert_eq!(cell(&claims, r, "claim_matches"), "false");
    assert_eq!(cell(&claims, r, "diagnosis"), "rounded_inputs");
    assert_eq!(
        cell(&claims, r, "detail"),
        "ratio × 100 from 37.6万人 and 35万人 (the figures rounded to 1 decimal in 万人) = 107.428571 → 107.4"
    );
    assert_eq!(
        cell(&claims, r, "detail_zh"),
        "以 37.6万人 和 35万人（按 万人 保留 1 位小数后的数）计算完成率：107.428571 → 107.4"
    );
}

#[test]
fn explain_total_reaches_a_parent_that_sent_its_own_figure() {
    let rows = "TJ-D01,2021,INFO-DISCLOSED,,50,条,,,,\nTJ-D01-HRSS,2021,INFO-DISCLOSED,,30,条,,,,\n";
    let s = Scratch::new(&[("a.csv", format!("{EN_HEADER}{rows}").as_bytes())]);
    assert_eq!(s.run().status.code(), Some(0));
    let out = s.out();
    let explain = |extra: &[&str]| {
        let mut args = vec!["explain", "TJ-D01", "INFO-DISCLOSED", "2021", "--json", "--out", out.to_str().unwrap()];
        args.extend(extra);
        let o = yearbook(&args);
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()
    };
    assert_eq!(explain(&[])["subject"], "agency");
    let total = explain(&["--total"]);
    assert_eq!(total["subject"], "total");
    assert_eq!(total["contributors"][0]["agency"], "TJ-D01-HRSS");
    assert_eq!(total["contributors"][0]["inputs"][0]["value"], "30");
}

#[test]
fn explain_of_a_total_where_less_is_better_divides_target_by_value_as_the_run_did() {
    // Disputes accepted, made an indicator where fewer is better: the
    // city's completion is Σ target / Σ value × 100 = 200 / 190 × 100.
    let rows = format!(
        "{EN_HEADER}TJ-HRSS,2021,DISPUTE-ACCEPTED,,90,件,100,,,\nTJ-JUS,2021,DISPUTE-ACCEPTED,,100,件,100,,,\n"
    );
    let s = Scratch::new(&[("a.csv", rows.as_bytes())]);
    let catalog = std::fs::read_to_string(crate::util::repo().join("schemas/catalog.csv")).unwrap();
    let catalog = catalog.replace("件,count,none,sum", "件,count,down,sum");
    let path = s.dir.path().join("catalog.csv");
    std::fs::write(&path, catalog).unwrap();
    let (i, o) = (s.input(), s.out());
    let (i, o) = (i.to_str().unwrap(), o.to_str().unwrap());
    let run = yearbook(&["run", "-q", "--input", i, "--catalog", path.to_str().unwrap(), "--out", o]);
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let e = yearbook(&["explain", "TJ", "DISPUTE-ACCEPTED", "2021", "--metric", "completion", "--json", "--out", o]);
    assert_eq!(e.status.code(), Some(0), "{}", String::from_utf8_lossy(&e.stderr));
    let e: serde_json::Value = serde_json::from_slice(&e.stdout).unwrap();
    let d = &e["derivations"][0];
    assert_eq!(d["formula"], "Σ target / Σ value × 100 (a smaller value is better)");
    assert_eq!(d["computation"], "200 / 190 × 100");
    assert_eq!(d["printed"], "105.3");
    assert_eq!(d["rounded"], d["printed"]);
}

/// Parts re-saved with each codec other readers write (snappy is pyarrow's,
/// DuckDB's and Spark's default): `explain` still reads them.
#[test]
fn explain_reads_parts_re_saved_with_any_codec() {
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::basic::{BrotliLevel, Compression, GzipLevel};
    use parquet::file::properties::WriterProperties;

    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    run_sample(&out);
    let codecs = [
        Compression::SNAPPY,
        Compression::LZ4_RAW,
        Compression::GZIP(GzipLevel::default()),
        Compression::BROTLI(BrotliLevel::default()),
        Compression::UNCOMPRESSED,
    ];
    for codec in codecs {
        for table in ["observations", "metrics", "totals"] {
            for dir in std::fs::read_dir(out.join(table)).unwrap() {
                for part in std::fs::read_dir(dir.unwrap().path()).unwrap() {
                    let part = part.unwrap().path();
                    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&part).unwrap()).unwrap();
                    let batches: Vec<_> = reader.build().unwrap().map(Result::unwrap).collect();
                    let props = WriterProperties::builder().set_compression(codec).build();
                    let file = std::fs::File::create(&part).unwrap();
                    let mut w = ArrowWriter::try_new(file, batches[0].schema(), Some(props)).unwrap();
                    batches.iter().for_each(|b| w.write(b).unwrap());
                    w.close().unwrap();
                }
            }
        }
        let o = yearbook(&["explain", "TJ-HRSS", "EMP-URBAN-NEW", "2021", "--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{codec:?}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(String::from_utf8_lossy(&o.stdout).contains("107.5"), "{codec:?}");
    }
}

/// An output moved to another directory (another machine) keeps the
/// pipeline and schema files its figures were made from (`schemas/`, in
/// the manifest with their SHA-256): `audit`, `explain` and `diff` work on
/// it from anywhere.
#[test]
fn an_output_moved_elsewhere_is_audited_explained_and_diffed_from_anywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    run_sample(&out);
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["schemas"][0]["copy"], "schemas/catalog.csv");
    assert_eq!(m["pipeline"]["copy"], "schemas/pipeline.toml");
    assert_eq!(
        std::fs::read(out.join("schemas/catalog.csv")).unwrap(),
        std::fs::read(crate::util::repo().join("schemas/catalog.csv")).unwrap()
    );
    let moved = tmp.path().join("elsewhere/moved");
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::rename(&out, &moved).unwrap();
    let elsewhere = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_yearbook")).args(args).current_dir(tmp.path()).output().unwrap()
    };
    let o = elsewhere(&["audit", "--out", moved.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    let o = elsewhere(&["explain", "TJ-HRSS", "EMP-URBAN-NEW", "2021", "--out", moved.to_str().unwrap()]);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("107.5"), "{o:?}");
    let o = elsewhere(&["diff", moved.to_str().unwrap(), moved.to_str().unwrap()]);
    assert!(o.status.success(), "{o:?}");
}
