//! A property of the spreadsheet import on both backends: without `allow_invalid_iin` no account
//! is ever made for an IIN that breaks the national rules, and a number cell is padded only into a
//! valid IIN. Rows are valid IINs, single-digit typos, dropped digits and random digits, typed as
//! text or as numbers; what must exist is worked out here independently of the importer.

use std::collections::HashSet;

use chrono::NaiveDate;
use edu_core::conformance::Fixture;
use edu_core::import::{ImportMode, ImportOptions};
use edu_core::{Iin, Store};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rust_xlsxwriter::Workbook;

/// The rules as written: birth date YYMMDD in the century of digit 7 (1–2: 1800s, 3–4: 1900s,
/// 5–6: 2000s) and the control digit by weights 1…11, else 3…11, 1, 2 (10 twice: never issued).
fn follows_the_rules(s: &str) -> bool {
    let d: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 12 || s.len() != 12 {
        return false;
    }
    let century = match d[6] {
        1 | 2 => 1800,
        3 | 4 => 1900,
        5 | 6 => 2000,
        _ => return false,
    };
    let year = century + (d[0] * 10 + d[1]) as i32;
    if NaiveDate::from_ymd_opt(year, d[2] * 10 + d[3], d[4] * 10 + d[5]).is_none() {
        return false;
    }
    let weighted = |w: [u32; 11]| d.iter().zip(w).map(|(a, b)| a * b).sum::<u32>() % 11;
    let mut check = weighted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    if check == 10 {
        check = weighted([3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]);
    }
    check != 10 && check == d[11]
}

/// Digits for a row: a valid IIN, maybe spoiled.
fn iin_digits() -> impl Strategy<Value = String> {
    let valid = (0u32..100, 1u32..=12, 1u32..=28, 1u32..=6, 0u32..10_000).prop_filter_map(
        "has a control digit",
        |(yy, mm, dd, c, serial)| {
            let first = format!("{yy:02}{mm:02}{dd:02}{c}{serial:04}");
            (0..10).map(|k| format!("{first}{k}")).find(|s| follows_the_rules(s))
        },
    );
    (valid, 0u8..5, 0usize..12, 1u32..10, "[0-9]{12}").prop_map(|(iin, how, at, by, random)| match how {
        0 | 1 => iin,
        2 => {
            let mut d: Vec<u32> = iin.chars().filter_map(|c| c.to_digit(10)).collect();
            d[at] = (d[at] + by) % 10;
            d.iter().map(ToString::to_string).collect()
        }
        3 => iin[2..].to_owned(),
        _ => random,
    })
}

/// What the importer must do with a cell: the IIN it may create, if any.
fn expected(digits: &str, as_number: bool) -> Option<String> {
    if digits.trim_start_matches('0').is_empty() {
        return None; // 0 as a number: no digits at all
    }
    let shown = if as_number {
        digits.trim_start_matches('0').to_owned()
    } else {
        digits.to_owned()
    };
    if shown.len() == 12 {
        return follows_the_rules(&shown).then_some(shown);
    }
    if as_number {
        // Padding only into a valid IIN.
        let padded = format!("{shown:0>12}");
        return follows_the_rules(&padded).then_some(padded);
    }
    None
}

fn sheet(rows: &[(String, bool)]) -> Vec<u8> {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in ["Группа", "ИИН", "ФИО"].into_iter().enumerate() {
        ws.write_string(0, c as u16, h).expect("header");
    }
    for (r, (digits, as_number)) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        ws.write_string(r, 0, "P-1").expect("group");
        if *as_number {
            ws.write_number(r, 1, digits.parse::<f64>().expect("digits"))
                .expect("number");
        } else {
            ws.write_string(r, 1, digits).expect("text");
        }
        // One name per IIN, so that rows agree whenever they name the same person.
        let name = format!("Ученик {}", digits.trim_start_matches('0'));
        ws.write_string(r, 2, &name).expect("name");
    }
    book.save_to_buffer().expect("workbook")
}

/// Cases share one database: since no case may make an account for an invalid IIN, none may exist
/// at any point, and every valid one a case names must exist after it.
fn never_an_account_for_an_invalid_iin<S: Store>(rt: &tokio::runtime::Runtime, fx: Fixture<S>) {
    let rows = prop::collection::vec((iin_digits(), any::<bool>()), 1..6);
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    runner
        .run(&rows, |rows| {
            rt.block_on(async {
                let options = ImportOptions {
                    mode: ImportMode::SkipInvalid,
                    ..ImportOptions::default()
                };
                let report = fx
                    .platform
                    .operator_import_groups(&sheet(&rows), options, &|_| {})
                    .await
                    .expect("the import runs");
                let wanted: HashSet<String> = rows
                    .iter()
                    .filter_map(|(digits, as_number)| expected(digits, *as_number))
                    .collect();
                for (digits, as_number) in &rows {
                    let shown = if *as_number {
                        digits.trim_start_matches('0')
                    } else {
                        digits.as_str()
                    };
                    for candidate in [shown.to_owned(), format!("{shown:0>12}")] {
                        let Ok(iin) = Iin::parse(&candidate) else { continue };
                        let exists = fx.store().user_by_iin(&iin).await.expect("lookup").is_some();
                        if wanted.contains(&candidate) {
                            prop_assert!(exists, "{candidate} was not imported: {:?}", report.errors);
                        }
                        if !follows_the_rules(&candidate) {
                            prop_assert!(!exists, "{candidate} was created from {digits:?} (number: {as_number})");
                        }
                    }
                }
                Ok(())
            })
        })
        .expect("no account for an invalid IIN");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn never_an_account_for_an_invalid_iin_sqlite() {
    let rt = runtime();
    let Some(fx) = rt.block_on(edu_tests::sqlite_fixture()) else {
        return;
    };
    never_an_account_for_an_invalid_iin(&rt, fx);
}

#[test]
#[cfg_attr(edu_skip_postgres, ignore = "no PostgreSQL: set EDU_TEST_DATABASE_URL")]
fn never_an_account_for_an_invalid_iin_postgres() {
    let rt = runtime();
    let Some(fx) = rt.block_on(edu_tests::pg_fixture()) else {
        return;
    };
    never_an_account_for_an_invalid_iin(&rt, fx);
}
