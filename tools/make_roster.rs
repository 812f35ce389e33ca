//! Writes a synthetic roster spreadsheet for trying and timing `edu import groups`.
//!
//! `cargo run -p edu-tests --example make_roster -- ROWS GROUPS OUT.xlsx [SKIP]`
//!
//! Row i is a student in group "G-<i mod GROUPS>" with the (SKIP + i)-th IIN that passes the
//! national rules, counting ten thousand serial numbers a day from 1 January 1990 (default SKIP 0):
//! the import refuses IINs that do not.

use chrono::{Days, NaiveDate};
use edu_core::Iin;

/// The `n`-th valid IIN of the sequence, or `None` when that number has no control digit.
fn iin(n: u64) -> Option<String> {
    let day = NaiveDate::from_ymd_opt(1990, 1, 1)? + Days::new(n / 10_000);
    let century = if day.format("%Y").to_string().starts_with("19") {
        3
    } else {
        5
    };
    let first = format!("{}{century}{:04}", day.format("%y%m%d"), n % 10_000);
    let mut digits = [0u8; 11];
    for (d, b) in digits.iter_mut().zip(first.bytes()) {
        *d = b - b'0';
    }
    Iin::check_digit(&digits).map(|check| format!("{first}{check}"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [rows, groups, out, rest @ ..] = args.as_slice() else {
        return Err("usage: make_roster ROWS GROUPS OUT.xlsx [SKIP]".into());
    };
    let rows: u32 = rows.parse()?;
    let groups: u32 = groups.parse::<u32>()?.max(1);
    let skip: u64 = rest.first().map_or(Ok(0), |s| s.parse())?;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["Группа", "ИИН", "Фамилия", "Имя", "Телефон"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h)?;
    }
    let mut iins = (0u64..).filter_map(iin).skip(usize::try_from(skip)?);
    for i in 0..rows {
        let r = i + 1;
        let iin = iins.next().ok_or("ran out of IINs")?;
        sheet.write_string(r, 0, format!("G-{:02}", i % groups))?;
        sheet.write_string(r, 1, iin)?;
        sheet.write_string(r, 2, format!("Студент{i}"))?;
        sheet.write_string(r, 3, "Тест")?;
    }
    book.save(out)?;
    println!("{rows} rows in {groups} groups written to {out}");
    Ok(())
}
