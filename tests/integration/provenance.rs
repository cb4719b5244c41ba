//! Every figure's trail leads back to the bytes it came from.

use crate::util::{cell, parquet_rows, repo};

/// Each observation's `source_line` and `source_byte` are the line and
/// byte where its record starts in the file as sent: CRLF and LF files,
/// UTF-8 with or without BOM, and GB18030 alike.
#[test]
fn source_line_and_byte_point_at_the_record() {
    let out = crate::util::shared_sample();
    let rows = parquet_rows(out, "observations");
    let mut crlf = 0;
    for row in &rows[1..] {
        let file = cell(&rows, row, "source_file");
        // A workbook's row has its sheet and cell instead of a byte.
        if !cell(&rows, row, "source_sheet").is_empty() {
            let (at, line) = (cell(&rows, row, "source_cell"), cell(&rows, row, "source_line"));
            assert!(at.ends_with(line) && cell(&rows, row, "source_byte").is_empty(), "{file}: {at} on row {line}");
            continue;
        }
        let bytes = std::fs::read(repo().join("sample_data").join(file)).unwrap();
        let line: usize = cell(&rows, row, "source_line").parse().unwrap();
        let byte: usize = cell(&rows, row, "source_byte").parse().unwrap();
        assert!(byte == 0 || bytes[byte - 1] == b'\n', "{file}:{line}: byte {byte} is not at the start of a line");
        let lines_before = bytes[..byte].iter().filter(|&&b| b == b'\n').count();
        assert_eq!(lines_before + 1, line, "{file}: byte {byte} is on line {}, not {line}", lines_before + 1);
        let agency = cell(&rows, row, "agency");
        // Long contract files start their records with the agency code;
        // every record holds its cell as typed.
        if !file.contains("wide") && !file.starts_with("imports/") {
            assert!(bytes[byte..].starts_with(agency.as_bytes()), "{file}:{line} does not start with {agency}");
        }
        let record = &bytes[byte..];
        let record = &record[..record.iter().position(|&b| b == b'\n').unwrap_or(record.len())];
        let raw = cell(&rows, row, "value_raw");
        if !file.contains("TJ-JUS") {
            let text = String::from_utf8_lossy(record);
            assert!(text.contains(raw), "{file}:{line}: `{raw}` is not in `{text}`");
        }
        crlf += usize::from(bytes.windows(2).any(|w| w == b"\r\n"));
    }
    assert!(crlf > 0, "the sample has CRLF files");
}
