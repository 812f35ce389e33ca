//! From a grid of cells to roster entries (group, IIN, name, …), with an error per bad row.

use serde::Serialize;

use super::grid::Cell;
use crate::domain::{Iin, IinError, Phone, text};

/// One valid row.
#[derive(Debug, Clone, PartialEq)]
pub struct RosterEntry {
    /// 1-based, as the spreadsheet shows it.
    pub row: usize,
    pub group: String,
    pub group_description: Option<String>,
    pub iin: Iin,
    pub full_name: String,
    pub phone: Option<Phone>,
}

/// A row that cannot be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// 1-based row number; 0 for problems with the whole sheet.
    pub row: usize,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.row == 0 {
            write!(f, "{}", self.message)
        } else {
            write!(f, "row {}: {}", self.row, self.message)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Group,
    Iin,
    FullName,
    Surname,
    Name,
    Patronymic,
    Description,
    Phone,
}

/// Header text → column, ignoring case, spaces and punctuation; Russian as the existing files use, English too.
fn column(header: &str) -> Option<Column> {
    let key: String = header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    Some(match key.as_str() {
        "группа" | "group" | "groupname" | "класс" => Column::Group,
        "иин" | "iin" => Column::Iin,
        "фио" | "fullname" | "fio" | "студент" | "student" => Column::FullName,
        "фамилия" | "surname" | "lastname" => Column::Surname,
        "имя" | "name" | "firstname" => Column::Name,
        "отчество" | "patronymic" | "middlename" => Column::Patronymic,
        "описание" | "description" | "описаниегруппы" | "groupdescription" => Column::Description,
        "телефон" | "phone" | "phonenumber" | "тел" | "мобильный" => Column::Phone,
        _ => return None,
    })
}

struct Layout {
    header_row: usize,
    columns: Vec<(usize, Column)>,
}

impl Layout {
    fn find(&self, c: Column) -> Option<usize> {
        self.columns.iter().find(|(_, col)| *col == c).map(|(i, _)| *i)
    }
}

/// The header is the first of the top rows that names an IIN column.
fn layout(grid: &[Vec<Cell>]) -> Option<Layout> {
    grid.iter().take(20).enumerate().find_map(|(i, row)| {
        let mut columns: Vec<(usize, Column)> = Vec::new();
        for (j, cell) in row.iter().enumerate() {
            if let Some(c) = column(&cell.text())
                && !columns.iter().any(|(_, seen)| *seen == c)
            {
                columns.push((j, c));
            }
        }
        columns
            .iter()
            .any(|(_, c)| *c == Column::Iin)
            .then_some(Layout { header_row: i, columns })
    })
}

fn iin_from(cell: &Cell) -> Result<Iin, String> {
    let describe = |e: IinError| match e {
        IinError::WrongLength(n) => format!("IIN has {n} digits"),
        IinError::NotDigits => "IIN must contain only digits".to_owned(),
    };
    match cell {
        Cell::Empty => Err("IIN is empty".into()),
        Cell::Number(n) if *n < 0.0 || n.fract() != 0.0 => Err("IIN must be a whole number".into()),
        Cell::Number(_) => Iin::from_number_text(&cell.text()).map_err(describe),
        Cell::Text(s) => {
            let cleaned: String = s
                .trim()
                .trim_start_matches('\'')
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            if cleaned.is_empty() {
                return Err("IIN is empty".into());
            }
            Iin::parse(&cleaned).map_err(describe)
        }
    }
}

fn get(row: &[Cell], col: Option<usize>) -> String {
    col.and_then(|i| row.get(i)).map(Cell::text).unwrap_or_default()
}

/// Reads every row under the header; blank rows are skipped.
pub fn parse_roster(grid: &[Vec<Cell>]) -> (Vec<RosterEntry>, Vec<RowError>) {
    let Some(layout) = layout(grid) else {
        let message = "no header row with an IIN column (ИИН) was found in the first 20 rows".to_owned();
        return (Vec::new(), vec![RowError { row: 0, message }]);
    };
    let mut errors = Vec::new();
    let group_col = layout.find(Column::Group);
    let has_names = layout.find(Column::FullName).is_some() || layout.find(Column::Surname).is_some();
    if group_col.is_none() || !has_names {
        let message = "the header must name a group column (Группа) and a full name (ФИО) or surname (Фамилия)";
        return (
            Vec::new(),
            vec![RowError {
                row: layout.header_row + 1,
                message: message.to_owned(),
            }],
        );
    }
    let iin_col = layout.find(Column::Iin);
    let mut entries = Vec::new();
    for (i, row) in grid.iter().enumerate().skip(layout.header_row + 1) {
        let number = i + 1;
        if row.iter().all(Cell::is_empty) {
            continue;
        }
        let mut problems = Vec::new();
        let group = get(row, group_col);
        if let Err(e) = text::line(&group, "group name", 100) {
            problems.push(e.to_string());
        }
        let iin = iin_col
            .and_then(|c| row.get(c))
            .map_or_else(|| Err("IIN is empty".to_owned()), iin_from);
        let full_name = match layout
            .find(Column::FullName)
            .map(|c| get(row, Some(c)))
            .filter(|s| !s.is_empty())
        {
            Some(name) => name,
            None => [Column::Surname, Column::Name, Column::Patronymic]
                .iter()
                .map(|c| get(row, layout.find(*c)))
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
        };
        let full_name = full_name.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Err(e) = text::line(&full_name, "full name", 200) {
            problems.push(e.to_string());
        }
        let phone_text = get(row, layout.find(Column::Phone));
        let phone = if phone_text.is_empty() {
            None
        } else {
            match Phone::parse(&phone_text) {
                Ok(p) => Some(p),
                Err(_) => {
                    problems.push(format!("phone {phone_text:?} is not a phone number"));
                    None
                }
            }
        };
        let description =
            text::optional_block(Some(&get(row, layout.find(Column::Description))), "description", 10_000)
                .unwrap_or_else(|e| {
                    problems.push(e.to_string());
                    None
                });
        match iin {
            Ok(iin) if problems.is_empty() => entries.push(RosterEntry {
                row: number,
                group,
                group_description: description,
                iin,
                full_name,
                phone,
            }),
            Ok(_) => errors.push(RowError {
                row: number,
                message: problems.join("; "),
            }),
            Err(e) => {
                problems.insert(0, e);
                errors.push(RowError {
                    row: number,
                    message: problems.join("; "),
                });
            }
        }
    }
    (entries, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    #[test]
    fn russian_headers_numeric_iins_and_bad_rows() {
        let grid = vec![
            vec![t("Список студентов")],
            vec![
                t("Группа"),
                t(" ИИН "),
                t("Фамилия"),
                t("Имя"),
                t("Отчество"),
                t("Телефон"),
            ],
            vec![
                t("ИС-21"),
                Cell::Number(10203040506.0),
                t("Иванов"),
                t("Иван"),
                t("Иванович"),
                Cell::Empty,
            ],
            vec![Cell::Empty, Cell::Empty, Cell::Empty],
            vec![
                t("ИС-22"),
                t("12345678901"),
                t("Петров"),
                t("Пётр"),
                Cell::Empty,
                Cell::Empty,
            ],
            vec![
                t(""),
                t("990101300123"),
                t("Сидоров"),
                Cell::Empty,
                Cell::Empty,
                t("+7 701 123 45 67"),
            ],
        ];
        let (entries, errors) = parse_roster(&grid);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].iin.as_str(), "010203040506");
        assert_eq!(entries[0].full_name, "Иванов Иван Иванович");
        assert_eq!(entries[0].row, 3);
        assert_eq!(errors[0].to_string(), "row 5: IIN has 11 digits");
        assert_eq!(errors[1].to_string(), "row 6: group name must have 1 to 100 characters");
    }

    #[test]
    fn control_characters_are_row_errors() {
        let grid = vec![
            vec![t("Группа"), t("ИИН"), t("ФИО"), t("Описание")],
            vec![t("ИС\u{0}21"), t("010203040506"), t("Иванов Иван"), Cell::Empty],
            vec![t("ИС-21"), t("010203040507"), t("Петров\u{0}Пётр"), Cell::Empty],
            vec![t("ИС-21"), t("010203040508"), t("Сидоров\u{1b}[31m"), Cell::Empty],
            vec![
                t("ИС-21"),
                t("010203040509"),
                t("Ким Анна"),
                t("line one\nline two\u{7}"),
            ],
            vec![t("ИС-21"), t("010203040510"), t("Ли Сон"), t("line one\nline two")],
        ];
        let (entries, errors) = parse_roster(&grid);
        let rows: Vec<usize> = errors.iter().map(|e| e.row).collect();
        assert_eq!(rows, [2, 3, 4, 5]);
        assert!(
            errors.iter().all(|e| e.message.contains("control characters")),
            "{errors:?}"
        );
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].group_description.as_deref(), Some("line one\nline two"));
    }

    #[test]
    fn english_headers() {
        let grid = vec![
            vec![t("Group"), t("IIN"), t("Full name"), t("Description")],
            vec![t("CS-1"), t("'000101300123"), t("Ann  Lee"), t("first year")],
        ];
        let (entries, errors) = parse_roster(&grid);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(entries[0].iin.as_str(), "000101300123");
        assert_eq!(entries[0].full_name, "Ann Lee");
        assert_eq!(entries[0].group_description.as_deref(), Some("first year"));
    }

    #[test]
    fn no_header() {
        let (entries, errors) = parse_roster(&[vec![t("a"), t("b")]]);
        assert!(entries.is_empty());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].row, 0);
    }

    fn cell() -> impl Strategy<Value = Cell> {
        prop_oneof![
            Just(Cell::Empty),
            "\\PC{0,20}".prop_map(Cell::Text),
            "[0-9]{0,14}".prop_map(Cell::Text),
            prop_oneof![Just("ИИН"), Just("Группа"), Just("ФИО"), Just("Фамилия"), Just("phone")]
                .prop_map(|s| Cell::Text(s.to_owned())),
            any::<f64>().prop_map(Cell::Number),
            (0u64..10_000_000_000_000).prop_map(|n| Cell::Number(n as f64)),
        ]
    }

    proptest! {
        /// Any grid gives entries and errors without panicking; every non-blank row under the
        /// header is accounted for exactly once.
        #[test]
        fn never_panics_and_accounts_for_every_row(grid in prop::collection::vec(prop::collection::vec(cell(), 0..8), 0..30)) {
            let (entries, errors) = parse_roster(&grid);
            for e in &entries {
                prop_assert_eq!(e.iin.as_str().len(), 12);
                prop_assert!(!e.group.is_empty());
                prop_assert!(!e.full_name.is_empty());
            }
            let mut rows: Vec<usize> = entries.iter().map(|e| e.row).chain(errors.iter().map(|e| e.row)).collect();
            let n = rows.len();
            rows.sort_unstable();
            rows.dedup();
            prop_assert_eq!(rows.len(), n, "a row was reported twice");
        }
    }
}
