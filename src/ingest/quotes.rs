//! Quotes that never close.
//!
//! A quote that opens a field and is never closed makes the CSV reader take
//! everything up to the end of the file as one cell: the row it opens in
//! would swallow every row after it. So the record that reaches the end of
//! a file is scanned by [`unclosed`]; where its quote never closes, the row
//! it opens in is quarantined on its own (up to the end of the line the
//! quote is on) and the lines after it are read as rows again.
//!
//! The scan follows the csv reader's own rules (RFC 4180 as `csv-core`
//! reads it): a quote opens a quoted field only as the first byte of a
//! field; inside one, `""` is a quote and a lone `"` closes it; a record
//! ends at CR or LF outside quotes; empty lines are skipped.
//!
//! A file has at most one such quote. A quote that never closes is followed
//! only by runs of quotes of even length (a run of odd length would have
//! closed it), so any field after it that opens with a quote closes inside
//! that same run.

/// A record in which a quote opens and never closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// Where the record starts.
    pub record: usize,
    /// The quote that never closes.
    pub quote: usize,
    /// Just past the end of the quote's line (past its LF), or the end of
    /// the file: where reading starts again.
    pub end: usize,
}

/// The quote in `body` that never closes, if there is one. Files without
/// a quote (most) cost one search for the byte; others one pass.
pub fn unclosed(body: &[u8], delimiter: u8) -> Option<Cut> {
    if !body.contains(&b'"') {
        return None;
    }
    let is_end = |b: u8| b == b'\r' || b == b'\n';
    let (mut state, mut record, mut quote) = (State::RecordStart, 0, 0);
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        match state {
            State::RecordStart if is_end(b) => i += 1,
            State::RecordStart => {
                record = i;
                state = State::FieldStart;
            }
            State::FieldStart if b == b'"' => {
                quote = i;
                i += 1;
                state = State::Quoted;
            }
            State::FieldStart | State::Unquoted | State::QuoteInQuoted => {
                state = if b == delimiter {
                    State::FieldStart
                } else if is_end(b) {
                    State::RecordStart
                } else if state == State::QuoteInQuoted && b == b'"' {
                    State::Quoted
                } else {
                    State::Unquoted
                };
                i += 1;
            }
            State::Quoted => match body[i..].iter().position(|&c| c == b'"') {
                Some(at) => {
                    i += at + 1;
                    state = State::QuoteInQuoted;
                }
                None => i = body.len(),
            },
        }
    }
    (state == State::Quoted).then(|| {
        let end = body[quote..].iter().position(|&b| b == b'\n').map_or(body.len(), |at| quote + at + 1);
        Cut { record, quote, end }
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    RecordStart,
    FieldStart,
    Unquoted,
    Quoted,
    /// Just after a quote inside a quoted field: it closed the field, unless
    /// another quote follows (`""`).
    QuoteInQuoted,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cuts(text: &str) -> Vec<(usize, usize, usize)> {
        unclosed(text.as_bytes(), b',').into_iter().map(|c| (c.record, c.quote, c.end)).collect()
    }

    #[test]
    fn closed_quotes_are_not_cuts() {
        assert_eq!(cuts("a,b\n\"1,2\",\"x\"\"y\"\n\"multi\nline\",3\n"), []);
        assert_eq!(cuts("a,\"\"\n\"\",\"\"\"\"\n"), []);
        // A quote inside an unquoted field is text.
        assert_eq!(cuts("a,b\n1,2\"3\n"), []);
    }

    #[test]
    fn an_open_quote_is_cut_at_the_end_of_its_line() {
        let text = "a,b\n1,\"open\n2,3\n";
        assert_eq!(cuts(text), [(4, 6, 12)]);
        // Without a final line break the cut ends with the file.
        assert_eq!(cuts("a,b\n1,\"open"), [(4, 6, 11)]);
    }

    #[test]
    fn a_record_that_spans_lines_before_its_open_quote_is_cut_whole() {
        // The first quote closes on line 3; the second never does.
        let text = "a,b,c\n\"x\ny\",\"open\n4,5,6\n";
        assert_eq!(cuts(text), [(6, 12, 18)]);
    }

    #[test]
    fn quotes_after_an_open_one_close_within_their_run() {
        // Line 2 opens and never closes; line 3's `""` is an empty field.
        assert_eq!(cuts("a,b\n1,\"x\n2,\"\"\n"), [(4, 6, 9)]);
        // A run of three on line 3 closes the quote of line 2 instead.
        assert_eq!(cuts("a,b\n1,\"x\n2,\"\"\"y\n"), []);
    }

    #[test]
    fn agrees_with_the_csv_reader_on_where_records_start() {
        // Without unclosed quotes the file reads as the csv reader reads
        // it; with one, the reader's last record runs to the end of the file
        // from the cut's record.
        for text in ["a,b\r\n\"1\r\n2\",3\r\n\r\n4,\"5\"\"\"\r\n", "x\n\"y\",\"z\nw\"\n\n"] {
            assert_eq!(cuts(text), []);
        }
        let text = "a,b\n1,2\n3,\"4\n5,6\n";
        let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
        let starts: Vec<u64> = r.byte_records().map(|rec| rec.unwrap().position().unwrap().byte()).collect();
        assert_eq!(*starts.last().unwrap() as usize, cuts(text)[0].0);
    }
}
