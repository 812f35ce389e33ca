//! Writes a synthetic roster spreadsheet for trying and timing `edu import groups`.
//!
//! `cargo run -p edu-tests --example roster -- ROWS GROUPS OUT.xlsx [FIRST_IIN]`
//!
//! Row i is a student with IIN FIRST_IIN + i (default 900000000000) in group "G-<i mod GROUPS>".

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [rows, groups, out, rest @ ..] = args.as_slice() else {
        return Err("usage: roster ROWS GROUPS OUT.xlsx [FIRST_IIN]".into());
    };
    let rows: u32 = rows.parse()?;
    let groups: u32 = groups.parse::<u32>()?.max(1);
    let first: u64 = rest.first().map_or(Ok(900_000_000_000), |s| s.parse())?;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["Группа", "ИИН", "Фамилия", "Имя", "Телефон"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h)?;
    }
    for i in 0..rows {
        let r = i + 1;
        sheet.write_string(r, 0, format!("G-{:02}", i % groups))?;
        sheet.write_string(r, 1, format!("{:012}", first + u64::from(i)))?;
        sheet.write_string(r, 2, format!("Студент{i}"))?;
        sheet.write_string(r, 3, "Тест")?;
    }
    book.save(out)?;
    println!("{rows} rows in {groups} groups written to {out}");
    Ok(())
}
