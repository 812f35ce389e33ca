//! Reading the sheets of a spreadsheet (xlsx, xls, ods), or a CSV file, into grids of cells.

use std::io::Cursor;

use calamine::{Data, DataRef, Reader};

/// A cell as the import needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A blank cell.
    Empty,
    /// Text, as the spreadsheet holds it.
    Text(String),
    /// A number (IINs typed into number cells arrive this way).
    Number(f64),
}

impl Cell {
    /// The cell as trimmed text; integral numbers lose their `.0`.
    pub fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.trim().to_owned(),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Cell::Number(n) => n.to_string(),
        }
    }

    /// Whether the cell is blank or only spaces.
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            Cell::Number(_) => false,
        }
    }
}

/// Why a file could not be read as a spreadsheet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GridError {
    /// Not xlsx, xls, ods or CSV, or damaged; says what the reader found.
    #[error("the file is not a spreadsheet that can be read (xlsx, xls, ods or csv): {0}")]
    Unreadable(String),
    /// A workbook without any sheet.
    #[error("the spreadsheet has no sheets")]
    NoSheet,
    /// More rows than [`MAX_ROWS`]; holds the number of rows.
    #[error("the sheet has {0} rows; at most {max} can be imported at once", max = MAX_ROWS)]
    TooManyRows(usize),
}

/// Rows read at most from one file.
pub const MAX_ROWS: usize = 20_000;
/// Columns looked at; the rest are ignored.
const MAX_COLUMNS: usize = 64;

/// The first sheet as rows of cells.
///
/// xlsx and xlsb sheets are streamed cell by cell: building calamine's dense range first would let
/// a few-kilobyte file with one cell in A1 and one in XFD1048576 ask for hundreds of gigabytes
/// (and abort the process) before any size check could run.
pub fn read_grid(bytes: &[u8]) -> Result<Vec<Vec<Cell>>, GridError> {
    let mut sheets = read_sheets(bytes)?;
    Ok(if sheets.is_empty() {
        Vec::new()
    } else {
        sheets.swap_remove(0).grid
    })
}

/// One sheet of a workbook (a CSV file is one sheet without a name).
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// The sheet's name; empty for CSV.
    pub name: String,
    /// The sheet's rows, each a list of cells.
    pub grid: Vec<Vec<Cell>>,
}

/// Every sheet, in the workbook's order; at most [`MAX_ROWS`] rows in all.
pub fn read_sheets(bytes: &[u8]) -> Result<Vec<Sheet>, GridError> {
    if let Some(text) = csv_text(bytes) {
        return Ok(vec![Sheet {
            name: String::new(),
            grid: csv_grid(text)?,
        }]);
    }
    let book =
        calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| GridError::Unreadable(e.to_string()))?;
    let unreadable = |e: &dyn std::fmt::Display| GridError::Unreadable(e.to_string());
    let mut sheets = Vec::new();
    match book {
        calamine::Sheets::Xlsx(mut xlsx) => {
            for name in xlsx.sheet_names() {
                let mut reader = xlsx.worksheet_cells_reader(&name).map_err(|e| unreadable(&e))?;
                let mut grid = SparseGrid::default();
                while let Some(c) = reader.next_cell().map_err(|e| unreadable(&e))? {
                    grid.push(c.get_position(), c.get_value())?;
                }
                push_sheet(&mut sheets, name, grid.finish())?;
            }
        }
        calamine::Sheets::Xlsb(mut xlsb) => {
            for name in xlsb.sheet_names() {
                let mut reader = xlsb.worksheet_cells_reader(&name).map_err(|e| unreadable(&e))?;
                let mut grid = SparseGrid::default();
                while let Some(c) = reader.next_cell().map_err(|e| unreadable(&e))? {
                    grid.push(c.get_position(), c.get_value())?;
                }
                push_sheet(&mut sheets, name, grid.finish())?;
            }
        }
        mut book => {
            for (at, name) in book.sheet_names().into_iter().enumerate() {
                let grid = dense_grid(&mut book, at)?;
                push_sheet(&mut sheets, name, grid)?;
            }
        }
    }
    if sheets.is_empty() {
        return Err(GridError::NoSheet);
    }
    Ok(sheets)
}

/// Adds a sheet, refusing as soon as the sheets so far hold more rows than may be imported.
fn push_sheet(sheets: &mut Vec<Sheet>, name: String, grid: Vec<Vec<Cell>>) -> Result<(), GridError> {
    sheets.push(Sheet { name, grid });
    let rows: usize = sheets.iter().map(|s| s.grid.len()).sum();
    if rows > MAX_ROWS + sheets.len() {
        return Err(GridError::TooManyRows(rows));
    }
    Ok(())
}

/// The file as CSV text: UTF-8 (a byte-order mark is dropped) that is not a zip (xlsx, ods) or an
/// OLE (xls) container.
fn csv_text(bytes: &[u8]) -> Option<&str> {
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return None;
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).ok()?;
    // Text at all: no NUL, which no CSV has and binary files usually do.
    (!text.contains('\0')).then_some(text)
}

/// CSV as Excel writes it in any locale: `;` or `,` (or a tab) between cells, whichever the first
/// line uses most outside quotes; quotes around cells, `""` for a quote. Every cell is text, so an
/// IIN keeps its zeros as typed.
fn csv_grid(text: &str) -> Result<Vec<Vec<Cell>>, GridError> {
    let first_line = text.lines().next().unwrap_or_default();
    let count = |sep: char| {
        let mut quoted = false;
        first_line
            .chars()
            .filter(|c| {
                if *c == '"' {
                    quoted = !quoted;
                }
                !quoted && *c == sep
            })
            .count()
    };
    let sep = [';', ',', '\t'].into_iter().max_by_key(|s| count(*s)).unwrap_or(',');
    let mut grid: Vec<Vec<Cell>> = Vec::new();
    let mut row: Vec<Cell> = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let end_cell = |row: &mut Vec<Cell>, cell: &mut String| {
        if row.len() < MAX_COLUMNS {
            let taken = std::mem::take(cell);
            row.push(if taken.trim().is_empty() {
                Cell::Empty
            } else {
                Cell::Text(taken)
            });
        }
        cell.clear();
    };
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            '"' => quoted = !quoted,
            c if c == sep && !quoted => end_cell(&mut row, &mut cell),
            '\r' if !quoted => {}
            '\n' if !quoted => {
                end_cell(&mut row, &mut cell);
                grid.push(std::mem::take(&mut row));
                if grid.len() > MAX_ROWS + 1 {
                    return Err(GridError::TooManyRows(grid.len()));
                }
            }
            c => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        end_cell(&mut row, &mut cell);
        grid.push(row);
    }
    Ok(grid)
}

/// Cells gathered one at a time, refused as soon as they span more rows than may be imported.
#[derive(Default)]
struct SparseGrid {
    cells: Vec<(u32, u32, Cell)>,
    first_row: Option<u32>,
    last_row: u32,
}

impl SparseGrid {
    fn push(&mut self, (row, col): (u32, u32), value: &DataRef<'_>) -> Result<(), GridError> {
        let cell = match value {
            DataRef::Empty | DataRef::Error(_) => return Ok(()),
            DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Cell::Text(s.clone()),
            DataRef::SharedString(s) => Cell::Text((*s).to_owned()),
            DataRef::Int(i) => Cell::Number(*i as f64),
            DataRef::Float(f) => Cell::Number(*f),
            DataRef::Bool(b) => Cell::Text(b.to_string()),
            DataRef::DateTime(d) => Cell::Number(d.as_f64()),
        };
        let first = self.first_row.map_or(row, |f| f.min(row));
        self.first_row = Some(first);
        self.last_row = self.last_row.max(row);
        let height = (self.last_row - first) as usize + 1;
        if height > MAX_ROWS + 1 {
            return Err(GridError::TooManyRows(height));
        }
        if (col as usize) < MAX_COLUMNS {
            self.cells.push((row, col, cell));
        }
        Ok(())
    }

    /// Rows at their absolute positions (so row numbers match what the admin sees).
    fn finish(mut self) -> Vec<Vec<Cell>> {
        if self.first_row.is_none() {
            return Vec::new();
        }
        self.cells.sort_by_key(|(r, c, _)| (*r, *c));
        let mut grid: Vec<Vec<Cell>> = vec![Vec::new(); self.last_row as usize + 1];
        for (row, col, cell) in self.cells {
            let cells = &mut grid[row as usize];
            if cells.len() <= col as usize {
                cells.resize(col as usize + 1, Cell::Empty);
            }
            cells[col as usize] = cell;
        }
        grid
    }
}

/// Formats without a cell stream (xls, whose sheets are small by design, and ods, which calamine caps).
fn dense_grid<RS: std::io::Read + std::io::Seek>(
    book: &mut calamine::Sheets<RS>,
    at: usize,
) -> Result<Vec<Vec<Cell>>, GridError> {
    let range = book
        .worksheet_range_at(at)
        .ok_or(GridError::NoSheet)?
        .map_err(|e| GridError::Unreadable(e.to_string()))?;
    if range.height() > MAX_ROWS + 1 {
        return Err(GridError::TooManyRows(range.height()));
    }
    // Keep absolute positions so that row numbers match what the admin sees.
    let (row0, col0) = range.start().unwrap_or((0, 0));
    let mut grid: Vec<Vec<Cell>> = vec![Vec::new(); row0 as usize];
    for row in range.rows() {
        let mut cells: Vec<Cell> = vec![Cell::Empty; (col0 as usize).min(MAX_COLUMNS)];
        for value in row.iter().take(MAX_COLUMNS.saturating_sub(col0 as usize)) {
            cells.push(match value {
                Data::Empty | Data::Error(_) => Cell::Empty,
                Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
                Data::Int(i) => Cell::Number(*i as f64),
                Data::Float(f) => Cell::Number(*f),
                Data::Bool(b) => Cell::Text(b.to_string()),
                Data::DateTime(d) => Cell::Number(d.as_f64()),
            });
        }
        grid.push(cells);
    }
    Ok(grid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn texts(grid: &[Vec<Cell>]) -> Vec<Vec<String>> {
        grid.iter().map(|r| r.iter().map(Cell::text).collect()).collect()
    }

    #[test]
    fn csv_with_semicolons_a_bom_and_quotes() {
        let file = "\u{feff}Топ;ЖСН;Аты-жөні\r\nПО-23-1;\"061211600012\";\"Ким; Анна\"\r\n;;\r\nПО-23-2;990101300123;\"Ли \"\"Ая\"\"\"\r\n";
        let grid = read_grid(file.as_bytes()).expect("a CSV");
        assert_eq!(
            texts(&grid),
            [
                vec!["Топ", "ЖСН", "Аты-жөні"],
                vec!["ПО-23-1", "061211600012", "Ким; Анна"],
                vec!["", "", ""],
                vec!["ПО-23-2", "990101300123", "Ли \"Ая\""],
            ]
        );
        assert_eq!(grid[1][1], Cell::Text("061211600012".into()), "text keeps its zeros");
    }

    #[test]
    fn csv_with_commas_and_no_final_newline() {
        let grid = read_grid(b"Group,IIN,Full name\nA,1,\"B, C\"").expect("a CSV");
        assert_eq!(
            texts(&grid),
            [vec!["Group", "IIN", "Full name"], vec!["A", "1", "B, C"]]
        );
    }

    #[test]
    fn binary_that_is_not_a_spreadsheet_is_unreadable() {
        assert!(matches!(
            read_grid(&[0, 1, 2, 0xff, 0xfe]),
            Err(GridError::Unreadable(_))
        ));
        assert!(matches!(read_grid(b"PK\x03\x04broken"), Err(GridError::Unreadable(_))));
    }

    fn quoted(cell: &str) -> String {
        format!("\"{}\"", cell.replace('"', "\"\""))
    }

    proptest! {
        /// Whatever the cells hold, quoted as Excel quotes them, with either separator, they read
        /// back as written.
        #[test]
        fn csv_cells_read_back_as_written(
            rows in prop::collection::vec(prop::collection::vec("[^\u{0}]{0,12}", 3), 1..8),
            semicolon in any::<bool>(),
        ) {
            let sep = if semicolon { ";" } else { "," };
            let header = ["Группа", "ИИН", "ФИО"].join(sep);
            let body: Vec<String> = rows.iter().map(|r| r.iter().map(|c| quoted(c)).collect::<Vec<_>>().join(sep)).collect();
            let file = format!("{header}\r\n{}\r\n", body.join("\r\n"));
            let grid = read_grid(file.as_bytes()).expect("a CSV");
            prop_assert_eq!(grid.len(), rows.len() + 1);
            for (read, written) in grid[1..].iter().zip(&rows) {
                let read: Vec<String> = read.iter().map(|c| match c { Cell::Text(t) => t.clone(), _ => String::new() }).collect();
                let written: Vec<String> = written.iter().map(|c| if c.trim().is_empty() { String::new() } else { c.clone() }).collect();
                prop_assert_eq!(read, written);
            }
        }
    }
}
