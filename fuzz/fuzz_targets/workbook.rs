//! Any workbook, read as a run reads it, under libFuzzer's memory limit
//! (run with `-rss_limit_mb=1024`): read or refused with a code, never a
//! crash or a process killed for memory, and the file accounts for every
//! row it read.
//!
//! A zipped workbook checks each part's CRC-32, so most flipped bytes of a
//! whole `.xlsx` or `.ods` would only test the zip reader. The first byte
//! therefore chooses what the rest is: a whole workbook, or the XML of one
//! part (a sheet, the shared strings, an OpenDocument's content) packed
//! into an otherwise valid workbook.
//!
//! The workbook reader is a library that panics on some broken files where
//! overflow is checked (fuzz builds check it); yearbook catches those
//! panics and refuses the file (`unreadable_workbook`). libFuzzer's panic
//! hook would abort even on a caught panic, so the target puts back the
//! default hook; a panic yearbook does not catch still aborts.

#![no_main]

mod common;

use std::io::{Cursor, Write};
use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use yearbook::config::pipeline::EncodingChoice;
use yearbook::ingest::{SourceFile, Submission, workbook};
use yearbook::model::FileId;
use yearbook::normalize;

/// The parts of a one-sheet `.xlsx`, its sheet and strings left out.
const XLSX: [(&str, &str); 4] = [
    (
        "[Content_Types].xml",
        r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#,
    ),
    (
        "_rels/.rels",
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
    ),
    (
        "xl/workbook.xml",
        r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="data" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
    ),
    (
        "xl/_rels/workbook.xml.rels",
        r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#,
    ),
];

const SHEET: &str = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>2021</v></c></row></sheetData></worksheet>"#;

const STRINGS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>TJ-HRSS</t></si></sst>"#;

const ODS_MANIFEST: &str = r#"<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>"#;

fn zip_of(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in parts {
        out.start_file(*name, options).expect("in memory");
        out.write_all(data).expect("in memory");
    }
    out.finish().expect("in memory").into_inner()
}

/// The workbook the input stands for, and its file name.
fn workbook_of(data: &[u8]) -> Option<(Vec<u8>, &'static str)> {
    let (&pick, rest) = data.split_first()?;
    let xlsx = |sheet: &[u8], strings: &[u8]| {
        let mut parts: Vec<(&str, &[u8])> = XLSX.iter().map(|(n, t)| (*n, t.as_bytes())).collect();
        parts.push(("xl/worksheets/sheet1.xml", sheet));
        parts.push(("xl/sharedStrings.xml", strings));
        zip_of(&parts)
    };
    Some(match pick % 5 {
        0 => (rest.to_vec(), "fuzz.xlsx"),
        1 => (rest.to_vec(), "fuzz.xls"),
        2 => (xlsx(rest, STRINGS.as_bytes()), "fuzz.xlsx"),
        3 => (xlsx(SHEET.as_bytes(), rest), "fuzz.xlsx"),
        _ => (
            zip_of(&[
                ("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"),
                ("content.xml", rest),
                ("META-INF/manifest.xml", ODS_MANIFEST.as_bytes()),
            ]),
            "fuzz.ods",
        ),
    })
}

fuzz_target!(
    init: {
        let _ = std::panic::take_hook();
    },
    |data: &[u8]| {
        let Some((bytes, name)) = workbook_of(data) else { return };
        match workbook::read(&bytes, None) {
            // Every line of the sheet's text maps to a row of the sheet.
            Ok(sheet) => assert_eq!(sheet.rows.len(), sheet.text.iter().filter(|&&b| b == b'\n').count()),
            Err(e) => assert!(!e.detail.en.is_empty()),
        }
        let p = common::pipeline();
        let file = SourceFile { id: FileId(0), path: PathBuf::from(name), rel: name.to_owned(), source: None, target: None };
        let sub = Submission::from_bytes(file, bytes, EncodingChoice::Auto, None);
        common::accounts_for_every_row(&normalize::file(&sub, p.row_checks(None)));
    }
);
