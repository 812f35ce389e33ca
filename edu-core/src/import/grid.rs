//! Reading the first sheet of a spreadsheet (xlsx, xls, ods) into a grid of cells.

use std::io::Cursor;

use calamine::{Data, Reader};

/// A cell as the import needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
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
    #[error("the file is not a spreadsheet that can be read (xlsx, xls or ods): {0}")]
    Unreadable(String),
    #[error("the spreadsheet has no sheets")]
    NoSheet,
    #[error("the sheet has {0} rows; at most {max} can be imported at once", max = MAX_ROWS)]
    TooManyRows(usize),
}

/// Rows read at most from one file.
pub const MAX_ROWS: usize = 20_000;
/// Columns looked at; the rest are ignored.
const MAX_COLUMNS: usize = 64;

/// The first sheet as rows of cells.
pub fn read_grid(bytes: &[u8]) -> Result<Vec<Vec<Cell>>, GridError> {
    let mut book =
        calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| GridError::Unreadable(e.to_string()))?;
    let range = book
        .worksheet_range_at(0)
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
