use encoding_rs::GB18030;
use yearbook::config::pipeline::EncodingChoice;
use yearbook::ingest::encoding::{Encoding, detect};

use crate::util::{EN_HEADER, Scratch, csv_rows, parquet_rows};

const ROW: &str = "TJ-HRSS,2021,EMP-URBAN-NEW,城镇新增就业,37.62,万人,35,,,\n";

fn utf8() -> Vec<u8> {
    format!("{EN_HEADER}{ROW}").into_bytes()
}

#[test]
fn utf8_with_and_without_bom() {
    assert_eq!(detect(&utf8(), EncodingChoice::Auto), Ok(Encoding::Utf8));
    let bom = [b"\xEF\xBB\xBF".as_slice(), &utf8()].concat();
    assert_eq!(detect(&bom, EncodingChoice::Auto), Ok(Encoding::Utf8Bom));
}

#[test]
fn gb18030_is_detected_when_not_utf8() {
    let text = String::from_utf8(utf8()).unwrap();
    let (gb, _, _) = GB18030.encode(&text);
    assert_eq!(detect(&gb, EncodingChoice::Auto), Ok(Encoding::Gb18030));
    assert!(detect(&gb, EncodingChoice::Utf8).is_err(), "a pinned encoding is enforced");
}

#[test]
fn undecodable_file_is_refused_with_its_offset() {
    let mut bytes = utf8();
    let at = bytes.len();
    bytes.extend_from_slice(b"TJ-HRSS,2021,EMP-URBAN-NEW,\xFF\xFF,1,\xE4,,,,\n");
    let err = detect(&bytes, EncodingChoice::Auto).unwrap_err();
    assert_eq!(err.line, 3);
    assert!(err.offset as usize >= at + 27, "offset {} points into the bad bytes", err.offset);
}

/// The whole pipeline: each encoding gives the same observation; the
/// undecodable file quarantines its rows with code `encoding`.
#[test]
fn every_encoding_through_the_pipeline() {
    let zh = format!(
        "单位代码,年度,指标代码,指标名称,数值,计量单位,目标值,报告完成率,报告增长,备注\n{}",
        ROW.replace("2021", "2020")
    );
    let (gb, _, _) = GB18030.encode(&zh);
    let bom = [b"\xEF\xBB\xBF".as_slice(), format!("{EN_HEADER}{}", ROW.replace("2021", "2019")).as_bytes()].concat();
    let bad = [EN_HEADER.as_bytes(), b"TJ-HRSS,2022,EMP-URBAN-NEW,\xFF,1,\xE4\xBA,,,,\n"].concat();
    let s = Scratch::new(&[("a.csv", &utf8()), ("b.csv", &gb), ("c.csv", &bom), ("d.csv", &bad)]);
    let o = s.run();
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let obs = parquet_rows(&s.out(), "observations");
    let values: Vec<(&str, &str)> = obs[1..].iter().map(|r| (r[0].as_str(), r[6].as_str())).collect();
    assert_eq!(
        values,
        [
            ("2019", "376200.00000000000000000000"),
            ("2020", "376200.00000000000000000000"),
            ("2021", "376200.00000000000000000000")
        ]
    );
    let q = csv_rows(&s.out().join("quarantine.csv"));
    assert_eq!(q.len(), 2);
    assert_eq!(&q[1][..2], ["d.csv", "2"]);
    assert_eq!(q[1][5], "encoding");
    assert!(q[1][7].ends_with("undecodable byte at offset 121 (line 2)"), "{}", q[1][7]);
}
