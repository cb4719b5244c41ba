//! A sheet's filled cells, as they come from any reader and in any order,
//! made the text the CSV reader splits: one line per row from row 1 to the
//! last filled one, each as wide as the sheet from column A. Only filled
//! cells are held, so a sheet costs what it holds; its extent (what the
//! text spans) is bounded as cells arrive, so one far-off cell is refused
//! before a line is written.

use super::SheetText;
use super::bounds::{MAX_CELLS, MAX_SHEET_SPAN};
use crate::reject::Detail;

/// Writing CSV into memory cannot fail: the csv writer errs only on I/O.
const IN_MEMORY: &str = "writing CSV into memory cannot fail";

/// Filled cells: row and column from 0, and the cell's text.
#[derive(Debug, Default)]
pub struct Grid {
    cells: Vec<(u32, u32, String)>,
    last_row: u32,
    last_col: u32,
}

impl Grid {
    /// Adds a cell; an empty one is no cell. Refused past [`MAX_CELLS`]
    /// cells or a [`MAX_SHEET_SPAN`] extent.
    pub fn push(&mut self, row: u32, col: u32, text: String) -> Result<(), Detail> {
        if text.is_empty() {
            return Ok(());
        }
        if self.cells.len() as u64 >= MAX_CELLS {
            return Err(Detail::new(
                format!("its sheet holds more than {MAX_CELLS} filled cells; at most {MAX_CELLS}"),
                format!("其工作表的非空单元格超过 {MAX_CELLS} 个，上限 {MAX_CELLS} 个"),
            ));
        }
        let (last_row, last_col) = (self.last_row.max(row), self.last_col.max(col));
        let span = (u64::from(last_row) + 1) * (u64::from(last_col) + 1);
        if span > MAX_SHEET_SPAN {
            let cell = format!("{}{}", super::column_letters(col), u64::from(row) + 1);
            return Err(Detail::new(
                format!("its sheet spans {span} cells (rows × columns from A1 to {cell}); at most {MAX_SHEET_SPAN}"),
                format!("其工作表范围（自 A1 至 {cell}）共 {span} 个单元格，上限 {MAX_SHEET_SPAN} 个"),
            ));
        }
        (self.last_row, self.last_col) = (last_row, last_col);
        self.cells.push((row, col, text));
        Ok(())
    }

    /// The sheet as text; of two cells at one place, the later stands.
    pub fn into_text(mut self, sheet: String) -> SheetText {
        let (mut text, mut rows) = (Vec::new(), Vec::new());
        if self.cells.is_empty() {
            return SheetText { sheet, text, rows };
        }
        if !self.cells.is_sorted_by_key(|c| (c.0, c.1)) {
            self.cells.sort_by_key(|c| (c.0, c.1));
        }
        let width = self.last_col as usize + 1;
        let mut line: Vec<&str> = vec![""; width];
        let mut csv = csv::WriterBuilder::new();
        csv.terminator(csv::Terminator::Any(b'\n'));
        let mut at = 0;
        for row in 0..=self.last_row {
            let start = at;
            while at < self.cells.len() && self.cells[at].0 == row {
                line[self.cells[at].1 as usize] = &self.cells[at].2;
                at += 1;
            }
            // An empty row is an empty line, as in a CSV file.
            let before = text.len();
            if start == at {
                text.push(b'\n');
            } else {
                let mut w = csv.from_writer(&mut text);
                w.write_record(&line).expect(IN_MEMORY);
                w.flush().expect(IN_MEMORY);
                line.iter_mut().for_each(|c| *c = "");
            }
            let lines = text[before..].iter().filter(|&&b| b == b'\n').count();
            rows.extend(std::iter::repeat_n(u64::from(row) + 1, lines));
        }
        SheetText { sheet, text, rows }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(cells: &[(u32, u32, &str)]) -> (String, Vec<u64>) {
        let mut g = Grid::default();
        for &(r, c, t) in cells {
            g.push(r, c, t.to_owned()).unwrap();
        }
        let s = g.into_text("s".into());
        (String::from_utf8(s.text).unwrap(), s.rows)
    }

    #[test]
    fn cells_in_any_order_make_rows_from_a1_as_wide_as_the_sheet() {
        let (t, rows) = text(&[(2, 1, "b3"), (0, 0, "a1"), (2, 0, "a3"), (0, 2, "c,1")]);
        assert_eq!(t, "a1,,\"c,1\"\n\na3,b3,\n");
        assert_eq!(rows, [1, 2, 3]);
    }

    #[test]
    fn a_cell_holding_a_line_break_maps_both_lines_to_its_row() {
        let (t, rows) = text(&[(0, 0, "x\ny"), (1, 0, "z")]);
        assert_eq!(t, "\"x\ny\"\nz\n");
        assert_eq!(rows, [1, 1, 2]);
    }

    #[test]
    fn one_far_cell_is_refused_before_any_line_is_written() {
        let mut g = Grid::default();
        g.push(0, 0, "a".into()).unwrap();
        let e = g.push(1_048_575, 16_383, "z".into()).unwrap_err();
        assert!(e.en.contains("spans 17179869184 cells (rows × columns from A1 to XFD1048576)"), "{}", e.en);
    }
}
