//! From a grid of cells to roster entries (group, IIN, name, …), with an error per bad row.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::grid::Cell;
use crate::domain::{Iin, IinError, Phone, text};

/// One valid row.
#[derive(Debug, Clone, PartialEq)]
pub struct RosterEntry {
    /// The sheet, when the workbook's rows come from several.
    pub sheet: Option<String>,
    /// 1-based, as the spreadsheet shows it.
    pub row: usize,
    /// The student's group; empty in a teachers' roster.
    pub group: String,
    /// The group's description from the row's description column, if any (students' rosters).
    pub group_description: Option<String>,
    /// The row's IIN, checked.
    pub iin: Iin,
    /// The full name, trimmed.
    pub full_name: String,
    /// The phone, if the row gives one.
    pub phone: Option<Phone>,
    /// The subjects a teacher's row names, as written (a teachers' roster only).
    pub subjects: Vec<String>,
}

/// A row that cannot be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// The sheet, when the workbook's rows come from several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// 1-based row number; 0 for problems with the whole sheet.
    pub row: usize,
    /// What is wrong, in English, for people.
    pub message: String,
    /// The student the row names, when it names one, so the row is found by name too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
}

impl RowError {
    fn sheet(message: impl Into<String>, row: usize) -> Self {
        Self {
            sheet: None,
            row,
            message: message.into(),
            full_name: None,
        }
    }
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(sheet) = &self.sheet {
            write!(f, "sheet {sheet:?}, ")?;
        }
        match (&self.full_name, self.row) {
            (_, 0) => write!(f, "{}", self.message),
            (Some(name), row) => write!(f, "row {row} ({name}): {}", self.message),
            (None, row) => write!(f, "row {row}: {}", self.message),
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
    Subjects,
}

/// Header text → column, ignoring case, spaces and punctuation: Russian as the existing files use,
/// Kazakh and English too. The README lists them ("Import format").
fn column(header: &str) -> Option<Column> {
    let key: String = header
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    Some(match key.as_str() {
        "группа" | "group" | "groupname" | "класс" | "топ" | "тобы" | "сынып" => Column::Group,
        "иин" | "iin" | "жсн" => Column::Iin,
        "фио" | "fullname" | "fio" | "студент" | "student" | "атыжөні" | "аты жөні" | "толықаты" => {
            Column::FullName
        }
        "фамилия" | "surname" | "lastname" | "тегі" => Column::Surname,
        "имя" | "name" | "firstname" | "аты" => Column::Name,
        "отчество" | "patronymic" | "middlename" | "әкесініңаты" => Column::Patronymic,
        "описание" | "description" | "описаниегруппы" | "groupdescription" | "сипаттама" => {
            Column::Description
        }
        "телефон" | "phone" | "phonenumber" | "тел" | "мобильный" | "телефоннөмірі" => {
            Column::Phone
        }
        "предметы" | "предмет" | "дисциплины" | "subjects" | "subject" | "пәндер" | "пән" => {
            Column::Subjects
        }
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

/// Whom a roster lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RosterKind {
    /// Students, each into the group its row names (the group column is required).
    #[default]
    Students,
    /// Teachers, each with the subjects its row names (optional; no group column).
    Teachers,
}

/// What a roster lists and how strictly IINs are read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RosterRules {
    /// Accept any twelve digits, as registries of test accounts need; by default every IIN must
    /// pass the national rules ([`Iin::verify`]), since typos come in through spreadsheets.
    pub allow_invalid_iin: bool,
    /// Students or teachers.
    pub kind: RosterKind,
}

/// The subjects of a cell: separated by `;`, `,` or line breaks, blanks dropped.
fn subject_list(cell: &str) -> Vec<String> {
    cell.split([';', ',', '\n'])
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .collect()
}

fn describe(e: IinError) -> String {
    match e {
        IinError::WrongLength(n) => format!("IIN has {n} digits"),
        IinError::NotDigits => "IIN must contain only digits".to_owned(),
        IinError::ImpossibleBirthDate => {
            "IIN does not begin with a possible birth date (YYMMDD and the century digit)".to_owned()
        }
        IinError::BadCheckDigit => "IIN has a wrong check digit (a digit was probably mistyped)".to_owned(),
    }
}

fn iin_from(cell: &Cell, rules: RosterRules) -> Result<Iin, String> {
    let iin = match cell {
        Cell::Empty => return Err("IIN is empty".into()),
        Cell::Number(n) if *n < 0.0 || n.fract() != 0.0 => return Err("IIN must be a whole number".into()),
        // Only a number can have lost leading zeros; text is taken as typed.
        Cell::Number(n) if *n >= 1e12 => Iin::parse(&cell.text()),
        Cell::Number(n) => Iin::from_spreadsheet_number(*n as u64),
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
            Iin::parse(&cleaned)
        }
    }
    .map_err(describe)?;
    if !rules.allow_invalid_iin {
        iin.verify().map_err(describe)?;
    }
    Ok(iin)
}

fn get(row: &[Cell], col: Option<usize>) -> String {
    col.and_then(|i| row.get(i)).map(Cell::text).unwrap_or_default()
}

/// Reads every row under the header; blank rows are skipped.
pub fn parse_roster(grid: &[Vec<Cell>], rules: RosterRules) -> (Vec<RosterEntry>, Vec<RowError>) {
    let Some(layout) = layout(grid) else {
        let message = "no header row with an IIN column (ИИН) was found in the first 20 rows".to_owned();
        return (Vec::new(), vec![RowError::sheet(message, 0)]);
    };
    let mut errors = Vec::new();
    let teachers = rules.kind == RosterKind::Teachers;
    let group_col = layout.find(Column::Group).filter(|_| !teachers);
    let has_names = layout.find(Column::FullName).is_some() || layout.find(Column::Surname).is_some();
    if !has_names || (group_col.is_none() && !teachers) {
        let message = if teachers {
            "the header must name a full name (ФИО) or surname (Фамилия) column"
        } else {
            "the header must name a group column (Группа) and a full name (ФИО) or surname (Фамилия)"
        };
        return (Vec::new(), vec![RowError::sheet(message, layout.header_row + 1)]);
    }
    let subjects_col = layout.find(Column::Subjects).filter(|_| teachers);
    let iin_col = layout.find(Column::Iin);
    let mut entries = Vec::new();
    for (i, row) in grid.iter().enumerate().skip(layout.header_row + 1) {
        let number = i + 1;
        if row.iter().all(Cell::is_empty) {
            continue;
        }
        let mut problems = Vec::new();
        let group = get(row, group_col);
        if !teachers && let Err(e) = text::line(&group, "group name", 100) {
            problems.push(e.to_string());
        }
        let subjects = subject_list(&get(row, subjects_col));
        for subject in &subjects {
            if let Err(e) = text::line(subject, "subject title", 200) {
                problems.push(e.to_string());
            }
        }
        let iin = iin_col
            .and_then(|c| row.get(c))
            .map_or_else(|| Err("IIN is empty".to_owned()), |c| iin_from(c, rules));
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
        let named = (!full_name.is_empty()).then(|| full_name.clone());
        match iin {
            Ok(iin) if problems.is_empty() => entries.push(RosterEntry {
                sheet: None,
                row: number,
                group,
                group_description: description,
                iin,
                full_name,
                phone,
                subjects,
            }),
            Ok(_) => errors.push(RowError {
                sheet: None,
                row: number,
                message: problems.join("; "),
                full_name: named,
            }),
            Err(e) => {
                problems.insert(0, e);
                errors.push(RowError {
                    sheet: None,
                    row: number,
                    message: problems.join("; "),
                    full_name: named,
                });
            }
        }
    }
    one_name_per_iin(&mut entries, &mut errors);
    (entries, errors)
}

/// Reads the chosen sheet of a workbook (`only`, matched in any case), or every sheet: a sheet
/// without an IIN header (a cover page, notes) is skipped when another has one. Rows and errors
/// say their sheet when several are read; one IIN must have one name across all of them.
pub fn parse_workbook(
    sheets: &[super::grid::Sheet],
    only: Option<&str>,
    rules: RosterRules,
) -> Result<(Vec<RosterEntry>, Vec<RowError>), String> {
    let chosen: Vec<&super::grid::Sheet> = match only {
        Some(wanted) => {
            let key = crate::domain::title_key(wanted);
            let sheet = sheets
                .iter()
                .find(|s| crate::domain::title_key(&s.name) == key)
                .ok_or_else(|| {
                    let names: Vec<String> = sheets.iter().map(|s| format!("{:?}", s.name)).collect();
                    format!(
                        "the workbook has no sheet {wanted:?}; its sheets are {}",
                        names.join(", ")
                    )
                })?;
            vec![sheet]
        }
        None => sheets.iter().collect(),
    };
    let mut parsed: Vec<(&super::grid::Sheet, Vec<RosterEntry>, Vec<RowError>)> = chosen
        .into_iter()
        .map(|s| {
            let (entries, errors) = parse_roster(&s.grid, rules);
            (s, entries, errors)
        })
        .collect();
    let has_header = |errors: &[RowError]| !errors.iter().any(|e| e.row == 0);
    if parsed.len() > 1 && parsed.iter().any(|(_, _, errors)| has_header(errors)) {
        parsed.retain(|(_, _, errors)| has_header(errors));
    }
    let several = parsed.len() > 1;
    let (mut entries, mut errors) = (Vec::new(), Vec::new());
    for (sheet, sheet_entries, sheet_errors) in parsed {
        let name = several.then(|| sheet.name.clone());
        entries.extend(sheet_entries.into_iter().map(|e| RosterEntry {
            sheet: name.clone(),
            ..e
        }));
        errors.extend(sheet_errors.into_iter().map(|e| RowError {
            sheet: name.clone(),
            ..e
        }));
    }
    if several {
        one_name_per_iin(&mut entries, &mut errors);
    }
    Ok((entries, errors))
}

/// Rows that give one IIN different names cannot all be right, and which one is cannot be told:
/// every such row becomes invalid. The same IIN with the same name (a student in two groups)
/// stays valid; the account is made once.
fn one_name_per_iin(entries: &mut Vec<RosterEntry>, errors: &mut Vec<RowError>) {
    let mut names: HashMap<&Iin, (Vec<String>, HashSet<&str>)> = HashMap::new();
    for e in entries.iter() {
        let (rows, seen) = names.entry(&e.iin).or_default();
        rows.push(match &e.sheet {
            Some(sheet) => format!("{} ({sheet})", e.row),
            None => e.row.to_string(),
        });
        seen.insert(e.full_name.as_str());
    }
    let clashing: HashMap<Iin, String> = names
        .into_iter()
        .filter(|(_, (_, seen))| seen.len() > 1)
        .map(|(iin, (rows, _))| (iin.clone(), rows.join(", ")))
        .collect();
    if clashing.is_empty() {
        return;
    }
    entries.retain(|e| match clashing.get(&e.iin) {
        Some(rows) => {
            errors.push(RowError {
                sheet: e.sheet.clone(),
                row: e.row,
                message: format!("the same IIN is given with different names in rows {rows}"),
                full_name: Some(e.full_name.clone()),
            });
            false
        }
        None => true,
    });
    errors.sort_by(|a, b| (&a.sheet, a.row).cmp(&(&b.sheet, b.row)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    #[test]
    fn every_sheet_with_a_header_is_read_or_the_one_asked_for() {
        use super::super::grid::Sheet;
        let sheet = |name: &str, rows: Vec<Vec<Cell>>| Sheet {
            name: name.into(),
            grid: rows,
        };
        let sheets = vec![
            sheet("Титул", vec![vec![t("Список студентов на 2026 год")]]),
            sheet(
                "ПО-23",
                vec![
                    vec![t("Группа"), t("ИИН"), t("ФИО")],
                    vec![t("ПО-23-1"), t("061211600012"), t("Ким Анна")],
                ],
            ),
            sheet(
                "ПО-24",
                vec![
                    vec![t("Топ"), t("ЖСН"), t("Аты-жөні")],
                    vec![t("ПО-24-1"), t("061211600012"), t("Ли Анна")],
                    vec![t("ПО-24-1"), t("1"), t("Ахмет Ерлан")],
                ],
            ),
        ];
        let (entries, errors) = parse_workbook(&sheets, None, RosterRules::default()).expect("read");
        assert!(entries.is_empty(), "one IIN, two names across sheets: {entries:?}");
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "sheet \"ПО-23\", row 2 (Ким Анна): the same IIN is given with different names in rows 2 (ПО-23), 2 (ПО-24)",
                "sheet \"ПО-24\", row 2 (Ли Анна): the same IIN is given with different names in rows 2 (ПО-23), 2 (ПО-24)",
                "sheet \"ПО-24\", row 3 (Ахмет Ерлан): IIN has 1 digits",
            ]
        );
        let (entries, errors) = parse_workbook(&sheets, Some("по-23"), RosterRules::default()).expect("read");
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            (entries[0].sheet.as_deref(), entries[0].group.as_str()),
            (None, "ПО-23-1")
        );
        let missing = parse_workbook(&sheets, Some("ПО-25"), RosterRules::default()).expect_err("no such sheet");
        assert!(missing.contains("\"Титул\", \"ПО-23\", \"ПО-24\""), "{missing}");
        let (_, errors) = parse_workbook(&sheets[..1], None, RosterRules::default()).expect("read");
        assert_eq!(errors[0].row, 0, "no sheet has a header: {errors:?}");
    }

    #[test]
    fn a_teachers_roster_needs_no_group_and_lists_subjects() {
        let teachers = RosterRules {
            kind: RosterKind::Teachers,
            allow_invalid_iin: true,
        };
        let grid = vec![
            vec![t("ЖСН"), t("Аты-жөні"), t("Пәндер"), t("Топ")],
            vec![
                t("061211600012"),
                t("Ким Анна"),
                t("1 курс / Алгебра;  Физика ,\nХимия"),
                t("ПО-1"),
            ],
            vec![t("990101300123"), t("Ли Сон"), Cell::Empty, Cell::Empty],
        ];
        let (entries, errors) = parse_roster(&grid, teachers);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(entries[0].subjects, ["1 курс / Алгебра", "Физика", "Химия"]);
        assert_eq!(entries[0].group, "", "a teacher joins no group");
        assert!(entries[1].subjects.is_empty(), "a teacher of nothing yet");
        let (_, errors) = parse_roster(&[vec![t("ИИН"), t("Предметы")]], teachers);
        assert_eq!(
            errors[0].message,
            "the header must name a full name (ФИО) or surname (Фамилия) column"
        );
        // A students' roster ignores a subjects column and still needs its group.
        let students = RosterRules {
            allow_invalid_iin: true,
            ..RosterRules::default()
        };
        let (entries, errors) = parse_roster(&grid, students);
        assert_eq!(
            errors.iter().map(|e| e.row).collect::<Vec<_>>(),
            [3],
            "no group: {errors:?}"
        );
        assert!(entries[0].subjects.is_empty());
        assert_eq!(entries[0].group, "ПО-1");
    }

    #[test]
    fn kazakh_headers_are_read() {
        let grid = vec![
            vec![
                t("Топ"),
                t("ЖСН"),
                t("Тегі"),
                t("Аты"),
                t("Әкесінің аты"),
                t("Сипаттама"),
            ],
            vec![
                t("ПО-23-1"),
                t("061211600012"),
                t("Ким"),
                t("Анна"),
                t("Сергеевна"),
                t("Бірінші курс"),
            ],
        ];
        let (entries, errors) = parse_roster(&grid, RosterRules::default());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(entries[0].group, "ПО-23-1");
        assert_eq!(entries[0].full_name, "Ким Анна Сергеевна");
        assert_eq!(entries[0].group_description.as_deref(), Some("Бірінші курс"));
        let grid = vec![
            vec![t("Топ"), t("ЖСН"), t("Аты-жөні")],
            vec![t("А"), t("12345"), t("Ким Анна")],
        ];
        let (_, errors) = parse_roster(&grid, RosterRules::default());
        assert_eq!(errors[0].to_string(), "row 2 (Ким Анна): IIN has 5 digits");
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
                Cell::Number(10203504050.0),
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
                t("990101300122"),
                t("Сидоров"),
                Cell::Empty,
                Cell::Empty,
                t("+7 701 123 45 67"),
            ],
        ];
        let (entries, errors) = parse_roster(&grid, RosterRules::default());
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].iin.as_str(), "010203504050");
        assert_eq!(entries[0].full_name, "Иванов Иван Иванович");
        assert_eq!(entries[0].row, 3);
        assert_eq!(errors[0].to_string(), "row 5 (Петров Пётр): IIN has 11 digits");
        assert_eq!(
            errors[1].to_string(),
            "row 6 (Сидоров): group name must have 1 to 100 characters"
        );
    }

    #[test]
    fn control_characters_are_row_errors() {
        let grid = vec![
            vec![t("Группа"), t("ИИН"), t("ФИО"), t("Описание")],
            vec![t("ИС\u{0}21"), t("010203504050"), t("Иванов Иван"), Cell::Empty],
            vec![t("ИС-21"), t("010203504060"), t("Петров\u{0}Пётр"), Cell::Empty],
            vec![t("ИС-21"), t("010203504070"), t("Сидоров\u{1b}[31m"), Cell::Empty],
            vec![
                t("ИС-21"),
                t("010203504080"),
                t("Ким Анна"),
                t("line one\nline two\u{7}"),
            ],
            vec![t("ИС-21"), t("010203504090"), t("Ли Сон"), t("line one\nline two")],
        ];
        let (entries, errors) = parse_roster(&grid, RosterRules::default());
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
            vec![t("CS-1"), t("'000101300128"), t("Ann  Lee"), t("first year")],
        ];
        let (entries, errors) = parse_roster(&grid, RosterRules::default());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(entries[0].iin.as_str(), "000101300128");
        assert_eq!(entries[0].full_name, "Ann Lee");
        assert_eq!(entries[0].group_description.as_deref(), Some("first year"));
    }

    #[test]
    fn no_header() {
        let (entries, errors) = parse_roster(&[vec![t("a"), t("b")]], RosterRules::default());
        assert!(entries.is_empty());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].row, 0);
    }

    fn roster(rows: Vec<Vec<Cell>>) -> Vec<Vec<Cell>> {
        let mut grid = vec![vec![t("Группа"), t("ИИН"), t("ФИО")]];
        grid.extend(rows);
        grid
    }

    fn messages(errors: &[RowError]) -> Vec<String> {
        errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn numbers_are_padded_only_into_valid_iins_and_text_never() {
        let grid = roster(vec![
            vec![t("A"), Cell::Number(4_051_250_012.0), t("Опечатка Число")],
            vec![t("A"), t("4051250012"), t("Опечатка Текст")],
            vec![t("A"), Cell::Number(61_211_600_012.0), t("Ноль Потерян")],
            vec![t("A"), t("61211600012"), t("Ноль Потерян В Тексте")],
        ]);
        let (entries, errors) = parse_roster(&grid, RosterRules::default());
        assert_eq!(
            messages(&errors),
            [
                "row 2 (Опечатка Число): IIN has 10 digits",
                "row 3 (Опечатка Текст): IIN has 10 digits",
                "row 5 (Ноль Потерян В Тексте): IIN has 11 digits"
            ]
        );
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].iin.as_str(), "061211600012");
        // Test accounts do not change the padding rule: a short number is still short.
        let (entries, errors) = parse_roster(
            &grid,
            RosterRules {
                allow_invalid_iin: true,
                ..RosterRules::default()
            },
        );
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert_eq!(entries.len(), 1);
    }

    #[test]
    fn iins_must_pass_the_national_rules_unless_allowed() {
        let grid = roster(vec![
            vec![t("A"), t("791028302727"), t("Не Та Цифра")],
            vec![t("A"), t("791328302728"), t("Тринадцатый Месяц")],
            vec![t("A"), t("000000000001"), t("Тестовая Запись")],
            vec![t("A"), Cell::Number(791_028_302_728.0), t("Верный Номер")],
        ]);
        let (entries, errors) = parse_roster(&grid, RosterRules::default());
        let rows: Vec<usize> = errors.iter().map(|e| e.row).collect();
        assert_eq!(rows, [2, 3, 4]);
        assert!(errors[0].message.contains("check digit"), "{errors:?}");
        assert!(errors[1].message.contains("birth date"), "{errors:?}");
        assert!(errors[2].message.contains("birth date"), "{errors:?}");
        assert_eq!(entries.len(), 1);
        let (entries, errors) = parse_roster(
            &grid,
            RosterRules {
                allow_invalid_iin: true,
                ..RosterRules::default()
            },
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(entries.len(), 4);
    }

    #[test]
    fn one_iin_with_two_names_rejects_every_such_row() {
        let grid = roster(vec![
            vec![t("A"), t("791028302728"), t("Иванов Иван")],
            vec![t("B"), t("061211600012"), t("Ким Анна")],
            vec![t("B"), t("791028302728"), t("Петров Пётр")],
            vec![t("C"), t("061211600012"), t("Ким  Анна")],
            vec![t("C"), t("791028302728"), t("Иванов Иван")],
        ]);
        let (entries, errors) = parse_roster(&grid, RosterRules::default());
        assert_eq!(
            messages(&errors),
            [
                "row 2 (Иванов Иван): the same IIN is given with different names in rows 2, 4, 6",
                "row 4 (Петров Пётр): the same IIN is given with different names in rows 2, 4, 6",
                "row 6 (Иванов Иван): the same IIN is given with different names in rows 2, 4, 6",
            ]
        );
        // The same name twice (a student in two groups) stays: one account, two memberships.
        let rows: Vec<(usize, &str)> = entries.iter().map(|e| (e.row, e.group.as_str())).collect();
        assert_eq!(rows, [(3, "B"), (5, "C")]);
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
            let (entries, errors) = parse_roster(&grid, RosterRules::default());
            for e in &entries {
                prop_assert_eq!(e.iin.verify(), Ok(()), "an invalid IIN was let through");
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
