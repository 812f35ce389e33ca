//! `edu export gradebook` run as the real binary on a seeded SQLite database.

use std::path::PathBuf;

use calamine::{Data, Reader, Xlsx};
use edu_core::Store;
use edu_core::domain::Page;
use edu_core::i18n::{Collation, Lang};

use crate::common::{Workdir, text};

/// `names` in `lang`'s alphabetical order.
fn collated<'a>(lang: Lang, names: &[&'a str]) -> Vec<&'a str> {
    let mut sorted = names.to_vec();
    Collation::new(lang).sort_by_key(&mut sorted, |n| n);
    sorted
}

/// A CSV line split on commas outside quotes, quotes removed.
fn cells(line: &str) -> Vec<String> {
    cells_by(line, ',')
}

/// A CSV line split on `sep` outside quotes, quotes removed.
fn cells_by(line: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().expect("a cell").push('"');
            }
            '"' => quoted = !quoted,
            c if c == sep && !quoted => out.push(String::new()),
            c => out.last_mut().expect("a cell").push(c),
        }
    }
    out
}

fn xlsx_rows(path: &PathBuf) -> Vec<Vec<String>> {
    let mut book: Xlsx<_> = calamine::open_workbook(path).expect("an XLSX file");
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).expect("the sheet");
    range
        .rows()
        .map(|row| {
            row.iter()
                .map(|cell| match cell {
                    Data::Empty => String::new(),
                    Data::Float(f) => format!("{f}"),
                    Data::Int(i) => i.to_string(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn exports_a_gradebook_that_matches_the_database() {
    let dir = Workdir::new("export");
    let seeded = dir.edu(&[
        "seed",
        "--students",
        "24",
        "--groups",
        "2",
        "--teachers",
        "2",
        "--modules",
        "2",
        "--subjects-per-module",
        "2",
        "--lessons-per-subject",
        "4",
        "--modules-per-group",
        "1",
        "--homework-share",
        "0.8",
        "--test-share",
        "0.8",
        "--seed",
        "11",
    ]);
    assert!(seeded.status.success(), "{}", text(&seeded));

    let p = dir.platform().await;
    let store = dir.store().await;
    let (module, group) = store
        .module_links()
        .await
        .expect("links")
        .into_iter()
        .next()
        .expect("a group linked to a module");
    let members = store.members(group.id).await.expect("members");
    let book = p.operator_gradebook(group.id, module).await.expect("gradebook");
    assert!(!members.is_empty() && book.students.len() == members.len());
    assert!(
        book.students.iter().any(|s| s.tally.counted > 0),
        "the seeded group has grades to export"
    );

    // By group name and module id, format from the extension.
    let csv_path = dir.path("gradebook.csv");
    let module_id = module.0.to_string();
    let out = dir.edu(&[
        "export",
        "gradebook",
        "--group",
        &group.name,
        "--module",
        &module_id,
        "-o",
        "gradebook.csv",
        "--lang",
        "en",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let bytes = std::fs::read(&csv_path).expect("the CSV was written");
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a UTF-8 byte order mark for Excel");
    let csv = String::from_utf8(bytes[3..].to_vec()).expect("UTF-8");
    assert!(
        csv.ends_with("\r\n") && !csv.replace("\r\n", "").contains('\n'),
        "CRLF lines"
    );
    let lines: Vec<Vec<String>> = csv.trim_end().split("\r\n").map(cells).collect();
    assert_eq!(lines.len(), 1 + members.len(), "a header and a row per student");
    assert_eq!(lines[0].len(), 2 + book.lessons.len() + 3);
    assert_eq!(lines[0][0], "IIN");
    let names: Vec<&str> = lines[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(names, collated(Lang::En, &names), "alphabetical");
    for row in &lines[1..] {
        let student = book
            .students
            .iter()
            .find(|s| s.iin.as_str() == row[0])
            .expect("a student of the group");
        let average: Option<f64> = row[2 + book.lessons.len()].parse().ok();
        match (average, student.tally.average) {
            (Some(a), Some(b)) => assert!((a - b).abs() < 0.006, "{a} vs {b}"),
            (None, None) => {}
            other => panic!("average of {}: {other:?}", student.iin.as_str()),
        }
        for (cell, (lesson, value)) in row[2..].iter().zip(book.lessons.iter().zip(&student.cells)) {
            let expected = if lesson.test_id.is_some() {
                value.test.or(value.homework)
            } else {
                value.homework.or(value.test)
            };
            match expected {
                Some(v) => {
                    let got: f64 = cell.parse().unwrap_or_else(|_| panic!("a number in {cell:?}"));
                    assert!((got - v).abs() < 0.006, "{got} vs {v}");
                    assert!((0.0..=100.0).contains(&got));
                }
                None if value.pending => assert_eq!(cell, "pending"),
                None => assert_eq!(cell, ""),
            }
        }
    }

    // The same numbers in XLSX, by group id and module title.
    let group_id = group.id.0.to_string();
    let out = dir.edu(&[
        "export",
        "gradebook",
        "--group",
        &group_id,
        "--module",
        &book.module_title,
        "--format",
        "xlsx",
        "-o",
        "gradebook.xlsx",
        "--lang",
        "en",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let sheet = xlsx_rows(&dir.path("gradebook.xlsx"));
    assert_eq!(sheet.len(), lines.len());
    for (x, c) in sheet.iter().zip(&lines) {
        assert_eq!(x.len(), c.len());
        for (a, b) in x.iter().zip(c) {
            match (a.parse::<f64>(), b.parse::<f64>()) {
                (Ok(a), Ok(b)) => assert!((a - b).abs() < 1e-9, "{a} vs {b}"),
                _ => assert_eq!(a, b),
            }
        }
    }

    // An existing file is not replaced without --force; with it, it is.
    std::fs::write(&csv_path, b"keep me").expect("write");
    let refused = dir.edu(&[
        "export",
        "gradebook",
        "--group",
        &group_id,
        "--module",
        &module_id,
        "-o",
        "gradebook.csv",
    ]);
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--force"),
        "{}",
        text(&refused)
    );
    assert_eq!(std::fs::read(&csv_path).expect("read"), b"keep me");
    let forced = dir.edu(&[
        "export",
        "gradebook",
        "--group",
        &group_id,
        "--module",
        &module_id,
        "-o",
        "gradebook.csv",
        "--force",
    ]);
    assert!(forced.status.success(), "{}", text(&forced));
    assert!(std::fs::read(&csv_path).expect("read").starts_with(b"\xEF\xBB\xBF"));

    // To standard output.
    let piped = dir.edu(&[
        "export",
        "gradebook",
        "--group",
        &group_id,
        "--module",
        &module_id,
        "--format",
        "csv",
        "-o",
        "-",
    ]);
    assert!(piped.status.success(), "{}", text(&piped));
    assert_eq!(piped.stdout, std::fs::read(&csv_path).expect("read"));

    // Unknown names are errors that say what was not found, and write nothing.
    let unknown = dir.edu(&[
        "export",
        "gradebook",
        "--group",
        "Нет такой",
        "--module",
        &module_id,
        "-o",
        "x.csv",
    ]);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no group"),
        "{}",
        text(&unknown)
    );
    assert!(!dir.path("x.csv").exists());
    let (groups, _) = dir.store().await.list_groups(Page::default()).await.expect("groups");
    assert_eq!(groups.len(), 2, "exporting changed nothing");
}

/// In Kazakh (the school's `EDU_LANG`): Kazakh headers and marker, students in the Kazakh
/// alphabet's order, and a CSV that Excel in kk-KZ splits into columns (`;`, decimal commas);
/// `--sep comma` and `--lang` on the command line override it.
#[tokio::test]
async fn exports_in_the_schools_language() {
    let dir = Workdir::new("export-kk");
    let seeded = dir.edu(&[
        "seed",
        "--students",
        "30",
        "--groups",
        "1",
        "--modules",
        "1",
        "--modules-per-group",
        "1",
        "--homework-share",
        "0.9",
        "--test-share",
        "0.9",
        "--seed",
        "3",
    ]);
    assert!(seeded.status.success(), "{}", text(&seeded));
    let store = dir.store().await;
    let (module, group) = store
        .module_links()
        .await
        .expect("links")
        .into_iter()
        .next()
        .expect("a group linked to a module");
    let group_id = group.id.0.to_string();
    let module_id = module.0.to_string();
    let kk = [("EDU_LANG", "kk".to_owned())];
    let args = [
        "export",
        "gradebook",
        "--group",
        &group_id,
        "--module",
        &module_id,
        "-o",
        "-",
        "--format",
        "csv",
    ];
    let out = dir.edu_with(&args, &kk);
    assert!(out.status.success(), "{}", text(&out));
    let csv = String::from_utf8(out.stdout[3..].to_vec()).expect("UTF-8");
    let lines: Vec<Vec<String>> = csv.trim_end().split("\r\n").map(|l| cells_by(l, ';')).collect();
    assert_eq!(&lines[0][..2], ["ЖСН", "Аты-жөні"], "{csv}");
    assert_eq!(
        lines[0][lines[0].len() - 3..],
        ["Орташа балл", "Есепке алынған баға", "Тексеруді күтуде"]
    );
    let names: Vec<&str> = lines[1..].iter().map(|r| r[1].as_str()).collect();
    assert!(names.len() > 1, "{csv}");
    assert_eq!(names, collated(Lang::Kk, &names), "the Kazakh alphabet's order");
    let averages: Vec<&str> = lines[1..]
        .iter()
        .map(|r| r[r.len() - 3].as_str())
        .filter(|a| !a.is_empty())
        .collect();
    assert!(!averages.is_empty(), "{csv}");
    for a in &averages {
        assert!(!a.contains('.'), "a decimal comma, not a point: {a}");
        let number: f64 = a.replace(',', ".").parse().unwrap_or_else(|_| panic!("a number: {a}"));
        assert!((0.0..=100.0).contains(&number));
    }
    for line in &lines[1..] {
        for cell in &line[2..line.len() - 3] {
            assert!(
                cell.is_empty() || cell == "тексерілуде" || cell.replace(',', ".").parse::<f64>().is_ok(),
                "a grade, the Kazakh pending marker or nothing: {cell:?}"
            );
        }
    }

    // The command line's --sep and --lang win over the language's defaults.
    let mut comma = args.to_vec();
    comma.extend(["--sep", "comma"]);
    let out = dir.edu_with(&comma, &kk);
    let csv = String::from_utf8(out.stdout[3..].to_vec()).expect("UTF-8");
    assert!(csv.starts_with("ЖСН,Аты-жөні,"), "{csv}");
    let mut ru = args.to_vec();
    ru.extend(["--lang", "ru"]);
    let out = dir.edu_with(&ru, &kk);
    let csv = String::from_utf8(out.stdout[3..].to_vec()).expect("UTF-8");
    assert!(csv.starts_with("ИИН;ФИО;"), "{csv}");
    let bad = dir.edu(&[
        "export",
        "gradebook",
        "--group",
        &group_id,
        "--module",
        &module_id,
        "-o",
        "-",
        "--lang",
        "de",
    ]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("ru, kk, en"),
        "{}",
        text(&bad)
    );
}
