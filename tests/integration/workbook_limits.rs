//! Workbooks that claim more than they hold: a few kilobytes asking for
//! billions of cells, a string table declaring billions of strings, a
//! sheet that inflates a thousandfold. Each run is held to 1 GiB of memory
//! (`prlimit --as`), where building what such a file claims would kill the
//! process with no output at all: each is refused with
//! `workbook_too_large` and its limit, and the file beside it is read.

use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use std::process::Output;

use crate::util::{EN_HEADER, Scratch, csv_rows, repo};

const ONE_GIB: &str = "--as=1073741824";

/// `yearbook` with `args`, under a 1 GiB memory limit and a minute of CPU
/// (a reader that never ends is killed, and the test fails).
fn limited(args: &[&str]) -> Output {
    std::process::Command::new("prlimit")
        .args([ONE_GIB, "--cpu=60", "--", env!("CARGO_BIN_EXE_yearbook")])
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

/// Runs an inbox of `name` (holding `book`) and a good CSV file under the
/// limit; asserts `name` was refused as too large with `why` in its
/// message, and the CSV file read.
fn refused(name: &str, book: &[u8], why: &str) -> Scratch {
    refused_as(name, book, "workbook_too_large", why)
}

/// [`refused`], with the refusal's `code`.
fn refused_as(name: &str, book: &[u8], code: &str, why: &str) -> Scratch {
    let good = format!("{EN_HEADER}TJ-HRSS,2021,INFO-DISCLOSED,,217,条,,,,\n");
    let s = Scratch::new(&[(name, book), ("z/good.csv", good.as_bytes())]);
    let (i, o) = (s.input(), s.out());
    let out = limited(&["run", "-q", "--input", i.to_str().unwrap(), "--out", o.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let q = csv_rows(&s.out().join("quarantine.csv"));
    assert_eq!((q.len(), q[1][0].as_str(), q[1][5].as_str()), (2, name, code), "{q:?}");
    assert!(q[1][7].contains(why), "{}", q[1][7]);
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(s.out().join("manifest.json")).unwrap()).unwrap();
    assert_eq!((&m["inputs"][1]["path"], &m["inputs"][1]["accepted"]), (&"z/good.csv".into(), &1.into()));
    s
}

/// A zip of `parts`, each stored (no compression) or deflated.
fn zip_of(parts: &[(&str, &[u8])], stored: bool) -> Vec<u8> {
    let method = if stored { zip::CompressionMethod::Stored } else { zip::CompressionMethod::Deflated };
    let options = zip::write::SimpleFileOptions::default().compression_method(method);
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in parts {
        out.start_file(*name, options).unwrap();
        out.write_all(data).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// The zip in `bytes` with `part` replaced by `edit` of it.
fn with_part(bytes: &[u8], part: &str, edit: impl Fn(String) -> String) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut parts = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if name == part {
            data = edit(String::from_utf8(data).unwrap()).into_bytes();
        }
        parts.push((name, data));
    }
    let refs: Vec<(&str, &[u8])> = parts.iter().map(|(n, d)| (n.as_str(), d.as_slice())).collect();
    zip_of(&refs, false)
}

fn xlsx(cells: &[(u32, u16, &str)]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for &(row, col, text) in cells {
        sheet.write_string(row, col, text).unwrap();
    }
    book.save_to_buffer().unwrap()
}

/// Two cells, A1 and XFD1048576: a reader building the sheet's rectangle
/// would ask for 17 billion cells. `validate` refuses it the same way.
#[test]
fn a_sheet_of_two_cells_at_its_corners_is_refused_with_its_code() {
    let book = xlsx(&[(0, 0, "单位代码"), (1_048_575, 16_383, "end")]);
    assert!(book.len() < 10_000, "{} bytes", book.len());
    let s = refused(
        "a/corners.xlsx",
        &book,
        "its sheet spans 17179869184 cells (rows × columns from A1 to XFD1048576); at most 20000000",
    );
    let file = s.input().join("a/corners.xlsx");
    let v = limited(&["validate", file.to_str().unwrap()]);
    assert_ne!(v.status.code(), Some(0), "{}", String::from_utf8_lossy(&v.stdout));
    assert!(v.status.code().is_some(), "killed: {v:?}");
    assert!(
        String::from_utf8_lossy(&v.stdout).contains("workbook_too_large"),
        "{}",
        String::from_utf8_lossy(&v.stdout)
    );
}

/// An OpenDocument row whose one filled cell repeats over all 16 384
/// columns, the row repeated 5 000 times: 82 million cells from a few
/// hundred bytes.
#[test]
fn an_ods_row_repeated_over_every_column_is_refused_with_its_code() {
    let content = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="data"><table:table-row><table:table-cell office:value-type="string"><text:p>单位代码</text:p></table:table-cell></table:table-row><table:table-row table:number-rows-repeated="5000"><table:table-cell table:number-columns-repeated="16384" office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#;
    let manifest = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;
    let book = zip_of(
        &[
            ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
            ("content.xml", content.as_bytes()),
            ("META-INF/manifest.xml", manifest.as_bytes()),
        ],
        true,
    );
    refused("a/repeated.ods", &book, "cells or more to read; at most 5000000");
}

/// A shared-string table that declares four billion strings (room for
/// which the reader would reserve before reading one), and one that holds
/// two million and one.
#[test]
fn a_string_table_declaring_or_holding_millions_of_strings_is_refused_with_its_code() {
    let book = with_part(&xlsx(&[(0, 0, "单位代码")]), "xl/sharedStrings.xml", |xml| {
        xml.replacen("uniqueCount=\"1\"", "uniqueCount=\"4000000000\"", 1)
    });
    refused(
        "a/declared.xlsx",
        &book,
        "its shared-string table holds or declares 4000000000 strings or more; at most 2000000",
    );

    let mut table = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">"#,
    );
    for i in 0..2_000_001 {
        table.push_str(&format!("<si><t>{i}</t></si>"));
    }
    table.push_str("</sst>");
    let book = with_part(&xlsx(&[(0, 0, "单位代码")]), "xl/sharedStrings.xml", |_| table.clone());
    refused("a/held.xlsx", &book, "holds or declares 2000001 strings or more");
}

/// An Excel 97–2003 sheet whose dimensions record claims four billion rows
/// by 65 535 columns (room for which the reader would reserve), its cells
/// the fixture's own: refused; the fixture itself reads (`sources`).
#[test]
fn an_xls_sheet_claiming_billions_of_cells_is_refused_with_its_code() {
    let bytes = std::fs::read(repo().join("tests/fixtures/formula.xls")).unwrap();
    let mut file = cfb::CompoundFile::open(Cursor::new(bytes)).unwrap();
    let mut stream = Vec::new();
    file.open_stream("Workbook").unwrap().read_to_end(&mut stream).unwrap();
    // The first DIMENSIONS record (type 0x0200, 14 bytes) after the
    // workbook's globals: the sheet's.
    let mut at = 0;
    let dimensions = loop {
        let (typ, len) =
            (u16::from_le_bytes([stream[at], stream[at + 1]]), u16::from_le_bytes([stream[at + 2], stream[at + 3]]));
        if typ == 0x0200 && len == 14 {
            break at + 4;
        }
        at += 4 + usize::from(len);
    };
    let mut sheet = file.open_stream("Workbook").unwrap();
    sheet.seek(SeekFrom::Start(dimensions as u64 + 4)).unwrap();
    sheet.write_all(&u32::MAX.to_le_bytes()).unwrap();
    sheet.seek(SeekFrom::Start(dimensions as u64 + 10)).unwrap();
    sheet.write_all(&u16::MAX.to_le_bytes()).unwrap();
    sheet.flush().unwrap();
    drop(sheet);
    let book = file.into_inner().into_inner();
    refused("a/claims.xls", &book, "cells or more to read; at most 5000000");
}

/// A workbook of a few hundred kilobytes whose sheet unpacks to 64 MiB (a
/// thousandfold): refused from its directory before anything is unpacked.
#[test]
fn a_workbook_that_inflates_a_thousandfold_is_refused_with_its_code() {
    let bomb = zip_of(&[("xl/worksheets/sheet1.xml", &vec![b' '; 64 << 20])], false);
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    refused("a/bomb.xlsx", &bomb, "times its size; at most 1000");
}

/// An OpenDocument whose content ends inside its table (a file cut short,
/// an end tag mistyped): the reader would wait for the table's end for
/// ever. Its XML is checked first: refused as unreadable, at once.
#[test]
fn an_ods_that_ends_inside_its_table_is_refused_not_read_for_ever() {
    let content = r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2"><office:body><office:spreadsheet><table:table table:name="data"><table:table-row><table:table-cell office:value-type="string"><text:p>agency</text:p></table:table-cell></table:table-row>"#;
    let book = zip_of(
        &[("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"), ("content.xml", content.as_bytes())],
        true,
    );
    refused_as("a/cut.ods", &book, "unreadable_workbook", "its part `content.xml` ends inside 4 open elements");
}

/// An `.xls` whose sector chain loops (found by fuzzing: the workbook
/// reader followed it until memory ran out). Its OLE container is opened
/// first by a reader that checks it: refused as unreadable, under 1 GiB.
#[test]
fn an_xls_whose_sector_chain_loops_is_refused_not_followed_for_ever() {
    let book = std::fs::read(repo().join("tests/fixtures/broken-fat-chain.xls")).unwrap();
    refused_as("a/loop.xls", &book, "unreadable_workbook", "its OLE container is broken");
}
