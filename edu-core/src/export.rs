//! Tables for people to open in a spreadsheet program: CSV that Excel reads correctly, and XLSX.
//!
//! CSV gets a UTF-8 byte order mark (without it Excel reads Cyrillic as mojibake), CRLF line
//! ends, RFC 4180 quoting, the separator and decimal mark Excel expects in the reader's locale
//! ([`Separator`]: `;` and `87,5` for Russian and Kazakh, `,` and `87.5` for English), and text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`,
//! tab, carriage return at the start) neutralised with a leading apostrophe. XLSX stores every
//! text cell as a string, which is never evaluated.

use thiserror::Error;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A blank cell.
    Empty,
    /// Text; never run as a formula, in CSV or XLSX.
    Text(String),
    /// A number, written with the decimal mark of the chosen [`Separator`].
    Number(f64),
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<f64> for Value {
    fn from(n: f64) -> Self {
        Value::Number(n)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Empty, Into::into)
    }
}

/// A sheet: a header row and data rows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Sheet name in XLSX (shortened and cleaned to what Excel accepts).
    pub title: String,
    /// The column titles of the header row.
    pub headers: Vec<String>,
    /// The data rows, each with one value per header.
    pub rows: Vec<Vec<Value>>,
}

/// The XLSX writer failed.
#[derive(Debug, Error)]
#[error("could not write the spreadsheet: {0}")]
pub struct ExportError(#[from] rust_xlsxwriter::XlsxError);

/// A CSV's cell separator, and with it the decimal mark: Excel in a locale whose decimal mark is
/// a comma (ru-RU, kk-KZ) splits cells at `;` and reads `87,5` as a number; a file with `,`
/// opens there in one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Separator {
    /// `,` between cells, `.` in numbers.
    #[default]
    Comma,
    /// `;` between cells, `,` in numbers.
    Semicolon,
}

impl Separator {
    /// What Excel expects in the language's usual locale.
    pub fn for_lang(lang: crate::i18n::Lang) -> Separator {
        match lang {
            crate::i18n::Lang::En => Separator::Comma,
            crate::i18n::Lang::Ru | crate::i18n::Lang::Kk => Separator::Semicolon,
        }
    }

    /// `comma` or `semicolon` (also `,` and `;`).
    pub fn parse(s: &str) -> Option<Separator> {
        match s.trim().to_ascii_lowercase().as_str() {
            "comma" | "," => Some(Separator::Comma),
            "semicolon" | ";" => Some(Separator::Semicolon),
            _ => None,
        }
    }

    fn cell(self) -> char {
        match self {
            Separator::Comma => ',',
            Separator::Semicolon => ';',
        }
    }
}

/// File formats a table can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV in UTF-8 with a byte order mark and CRLF line ends.
    Csv,
    /// An Excel workbook of one sheet.
    Xlsx,
}

impl Format {
    /// The format a file name asks for, by its extension.
    pub fn from_file_name(name: &str) -> Option<Format> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    /// The `Content-Type` a file of this format is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// The file name extension, without the dot: `csv` or `xlsx`.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

impl Table {
    /// An empty table named `title` with these column titles.
    pub fn new(title: impl Into<String>, headers: &[&str]) -> Table {
        Table {
            title: title.into(),
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a data row.
    pub fn push(&mut self, row: Vec<Value>) {
        self.rows.push(row);
    }

    /// The table as a file; a CSV separated by `separator` (XLSX has no separator to choose).
    pub fn write(&self, format: Format, separator: Separator) -> Result<Vec<u8>, ExportError> {
        match format {
            Format::Csv => Ok(self.to_csv_with(separator)),
            Format::Xlsx => self.to_xlsx(),
        }
    }

    /// CSV with `,` and decimal points.
    pub fn to_csv(&self) -> Vec<u8> {
        self.to_csv_with(Separator::Comma)
    }

    /// CSV with the given separator and the decimal mark that goes with it: UTF-8 with a byte
    /// order mark, CRLF line ends.
    pub fn to_csv_with(&self, separator: Separator) -> Vec<u8> {
        let mut out = String::from("\u{feff}");
        let header: Vec<Value> = self.headers.iter().map(|h| Value::Text(h.clone())).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    out.push(separator.cell());
                }
                match cell {
                    Value::Empty => {}
                    Value::Number(n) => {
                        let number = format_number(*n);
                        match separator {
                            Separator::Comma => out.push_str(&number),
                            Separator::Semicolon => out.push_str(&number.replace('.', ",")),
                        }
                    }
                    Value::Text(t) => push_csv_text(&mut out, t),
                }
            }
            out.push_str("\r\n");
        }
        out.into_bytes()
    }

    /// The table as an XLSX workbook of one sheet, with the header row in bold and frozen.
    pub fn to_xlsx(&self) -> Result<Vec<u8>, ExportError> {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.set_name(sheet_name(&self.title))?;
        let bold = rust_xlsxwriter::Format::new().set_bold();
        for (c, h) in self.headers.iter().enumerate() {
            sheet.write_string_with_format(0, column(c), h, &bold)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            let r = u32::try_from(r + 1).unwrap_or(u32::MAX);
            for (c, cell) in row.iter().enumerate() {
                match cell {
                    Value::Empty => {}
                    Value::Number(n) => {
                        sheet.write_number(r, column(c), *n)?;
                    }
                    Value::Text(t) => {
                        sheet.write_string(r, column(c), t)?;
                    }
                }
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        sheet.autofit();
        Ok(book.save_to_buffer()?)
    }
}

fn column(c: usize) -> u16 {
    u16::try_from(c).unwrap_or(u16::MAX)
}

fn format_number(n: f64) -> String {
    if n.is_finite() { n.to_string() } else { String::new() }
}

fn push_csv_text(out: &mut String, text: &str) {
    let neutralised = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quoted = neutralised || text.contains([',', '"', '\r', '\n', ';']);
    if quoted {
        out.push('"');
    }
    if neutralised {
        out.push('\'');
    }
    for ch in text.chars() {
        if ch == '"' {
            out.push('"');
        }
        out.push(ch);
    }
    if quoted {
        out.push('"');
    }
}

/// Excel's sheet name rules: 1–31 characters, none of `[]:*?/\`, not starting or ending with `'`.
fn sheet_name(title: &str) -> String {
    let cleaned: String = title
        .chars()
        .map(|c| {
            if "[]:*?/\\".contains(c) || c.is_control() {
                ' '
            } else {
                c
            }
        })
        .take(31)
        .collect();
    let cleaned = cleaned.trim().trim_matches('\'').trim().to_owned();
    if cleaned.is_empty() {
        "Sheet1".to_owned()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let mut t = Table::new("Оценки: ИС/21", &["ФИО", "Балл", "Комментарий"]);
        t.push(vec!["Иванов, Иван".into(), 87.5.into(), "=HYPERLINK(\"x\")".into()]);
        t.push(vec!["Ли \"Сон\"".into(), Value::Empty, "-1+2".into()]);
        t.push(vec!["Ким".into(), 100.0.into(), "строка\nвторая".into()]);
        t
    }

    #[test]
    fn csv_opens_in_excel() {
        let csv = String::from_utf8(table().to_csv()).expect("utf-8");
        assert!(csv.starts_with('\u{feff}'), "BOM for Excel");
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(lines[0], "ФИО,Балл,Комментарий");
        assert_eq!(lines[1], "\"Иванов, Иван\",87.5,\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(lines[2], "\"Ли \"\"Сон\"\"\",,\"'-1+2\"");
        assert_eq!(lines[3], "Ким,100,\"строка\nвторая\"");
    }

    #[test]
    fn csv_for_a_decimal_comma_locale_separates_with_semicolons() {
        let csv = String::from_utf8(table().to_csv_with(Separator::Semicolon)).expect("utf-8");
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(lines[0], "ФИО;Балл;Комментарий");
        assert_eq!(lines[1], "\"Иванов, Иван\";87,5;\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(lines[3], "Ким;100;\"строка\nвторая\"");
        assert_eq!(Separator::for_lang(crate::i18n::Lang::Kk), Separator::Semicolon);
        assert_eq!(Separator::for_lang(crate::i18n::Lang::En), Separator::Comma);
        assert_eq!(Separator::parse(" Semicolon "), Some(Separator::Semicolon));
        assert_eq!(Separator::parse("tab"), None);
    }

    /// What a spreadsheet reads back from our CSV is what was written, with either separator:
    /// the import's CSV reader (which detects `;` and `,`) stands in for Excel.
    #[test]
    fn csv_reads_back_with_either_separator() {
        use crate::import::{Cell, read_grid};
        for sep in [Separator::Comma, Separator::Semicolon] {
            let grid = read_grid(&table().to_csv_with(sep)).expect("readable");
            assert_eq!(grid[1][0], Cell::Text("Иванов, Иван".into()), "{sep:?}");
            assert_eq!(grid[3][2], Cell::Text("строка\nвторая".into()), "{sep:?}");
            assert_eq!(grid.len(), 4, "{sep:?}");
        }
    }

    #[test]
    fn xlsx_round_trips_through_a_reader() {
        use calamine::{Data, Reader, Xlsx};
        let bytes = table().to_xlsx().expect("xlsx");
        let mut book = Xlsx::new(std::io::Cursor::new(bytes)).expect("a workbook");
        let names = book.sheet_names();
        assert_eq!(names, ["Оценки  ИС 21"]);
        let range = book.worksheet_range(&names[0]).expect("sheet");
        assert_eq!(range.get((1, 0)), Some(&Data::String("Иванов, Иван".into())));
        assert_eq!(range.get((1, 1)), Some(&Data::Float(87.5)));
        assert_eq!(
            range.get((1, 2)),
            Some(&Data::String("=HYPERLINK(\"x\")".into())),
            "stored as text, not a formula"
        );
    }

    #[test]
    fn formats_by_file_name() {
        assert_eq!(Format::from_file_name("out.CSV"), Some(Format::Csv));
        assert_eq!(Format::from_file_name("a.b.xlsx"), Some(Format::Xlsx));
        assert_eq!(Format::from_file_name("creds.txt"), None);
        assert_eq!(Format::from_file_name("xlsx"), None);
    }
}
