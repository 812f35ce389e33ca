//! `edu import groups` run as the real binary on a SQLite database.

use std::path::Path;

use edu_core::ClientInfo;

use crate::common::{Workdir, text};

fn roster(path: &Path, rows: &[[&str; 3]]) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["Группа", "ИИН", "ФИО"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).expect("header");
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            sheet.write_string(r as u32 + 1, c as u16, *v).expect("cell");
        }
    }
    book.save(path).expect("xlsx written");
}

/// Parses the credentials CSV, in Russian (the default language) and so separated by `;`:
/// (iin, full name, group, password) per data row.
fn credentials(path: &Path) -> Vec<[String; 4]> {
    let text = std::fs::read_to_string(path).expect("credentials file");
    let text = text.strip_prefix('\u{feff}').expect("BOM for Excel");
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    assert_eq!(lines.next(), Some("Строка;ИИН;ФИО;Группа;Пароль"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(';').collect();
            assert_eq!(f.len(), 5, "{l}");
            [f[1].into(), f[2].into(), f[3].into(), f[4].into()]
        })
        .collect()
}

#[tokio::test]
async fn imports_writes_credentials_and_never_prints_passwords() {
    let dir = Workdir::new("import");
    let sheet = dir.path("roster.xlsx");
    roster(
        &sheet,
        &[
            ["ИС-21", "010203504050", "Иванов Иван"],
            ["ИС-21", "010203504060", "Петров Пётр"],
            ["ИС-22", "010203504070", "Ким Анна"],
        ],
    );

    let dry = dir.edu(&["import", "groups", "roster.xlsx", "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry));
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(out.contains("students: would create 3"), "{}", text(&dry));
    assert!(out.contains("ИС-21, ИС-22"), "{}", text(&dry));

    let missing = dir.edu(&["import", "groups", "roster.xlsx"]);
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("--credentials"),
        "{}",
        text(&missing)
    );

    let wrong_ext = dir.edu(&["import", "groups", "roster.xlsx", "--credentials", "creds.txt"]);
    assert!(!wrong_ext.status.success(), "{}", text(&wrong_ext));

    let run = dir.edu(&["import", "groups", "roster.xlsx", "--credentials", "creds.csv"]);
    assert!(run.status.success(), "{}", text(&run));
    let creds = credentials(&dir.path("creds.csv"));
    assert_eq!(creds.len(), 3);
    let all_output = text(&run);
    for [iin, _, _, password] in &creds {
        assert!(password.len() >= 12, "a strong first password");
        assert!(!all_output.contains(password.as_str()), "password of {iin} printed");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path("creds.csv"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "credentials readable only by their owner: {mode:o}");
    }

    // The passwords work, and must be changed.
    let platform = dir.platform().await;
    for [iin, full_name, _, password] in &creds {
        let session = platform
            .login(iin, password, ClientInfo::default())
            .await
            .expect("first password logs in");
        assert_eq!(&session.user.full_name, full_name);
        assert!(session.user.must_change_password);
    }

    // Never written over an existing file; and a re-import changes nothing.
    let again = dir.edu(&["import", "groups", "roster.xlsx", "--credentials", "creds.csv"]);
    assert!(!again.status.success(), "{}", text(&again));
    assert_eq!(credentials(&dir.path("creds.csv")), creds, "untouched");
    let again = dir.edu(&["import", "groups", "roster.xlsx", "--credentials", "creds2.xlsx"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("students: created 0, already existing 3"),
        "{}",
        text(&again)
    );
    assert!(
        !dir.path("creds2.xlsx").exists(),
        "nobody new, no credentials file: {}",
        text(&again)
    );
    assert!(text(&again).contains("no new students"), "{}", text(&again));
}

#[tokio::test]
async fn invalid_rows_stop_the_import_unless_skipped() {
    let dir = Workdir::new("invalid");
    roster(
        &dir.path("roster.xlsx"),
        &[
            ["ИС-21", "010203504050", "Иванов Иван"],
            ["ИС-21", "12345", "Петров Пётр"],
        ],
    );
    let run = dir.edu(&["import", "groups", "roster.xlsx", "--credentials", "creds.csv"]);
    assert!(!run.status.success(), "{}", text(&run));
    assert!(
        String::from_utf8_lossy(&run.stdout).contains("row 3 (Петров Пётр): IIN"),
        "{}",
        text(&run)
    );
    assert!(
        !dir.path("creds.csv").exists(),
        "no credentials file when nothing was imported"
    );

    let run = dir.edu(&[
        "import",
        "groups",
        "roster.xlsx",
        "--skip-invalid",
        "--credentials",
        "creds.csv",
    ]);
    assert!(run.status.success(), "{}", text(&run));
    assert_eq!(credentials(&dir.path("creds.csv")).len(), 1);

    let unreadable = dir.edu(&["import", "groups", "nope.xlsx", "--dry-run"]);
    assert!(!unreadable.status.success());
    assert!(
        String::from_utf8_lossy(&unreadable.stderr).contains("nope.xlsx"),
        "{}",
        text(&unreadable)
    );
}

/// A sheet whose IIN column holds numbers, as spreadsheets that dropped leading zeros do.
fn numeric_roster(path: &Path, rows: &[(&str, u64, &str)]) {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["Группа", "ИИН", "ФИО"].iter().enumerate() {
        sheet.write_string(0, c as u16, *h).expect("header");
    }
    for (r, (group, iin, name)) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        sheet.write_string(r, 0, *group).expect("cell");
        sheet.write_number(r, 1, *iin as f64).expect("cell");
        sheet.write_string(r, 2, *name).expect("cell");
    }
    book.save(path).expect("xlsx written");
}

#[tokio::test]
async fn mistyped_iins_test_accounts_and_renames() {
    let dir = Workdir::new("iin-rules");
    // The ten digits that used to become 004051250012, and a valid IIN that lost its zero.
    numeric_roster(
        &dir.path("typo.xlsx"),
        &[
            ("ИС-21", 4_051_250_012, "Опечатка"),
            ("ИС-21", 61_211_600_012, "Ким Анна"),
        ],
    );
    let dry = dir.edu(&["import", "groups", "typo.xlsx", "--dry-run"]);
    assert!(!dry.status.success(), "{}", text(&dry));
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(out.contains("2 rows, 1 valid, 1 invalid"), "{}", text(&dry));
    assert!(out.contains("row 2 (Опечатка): IIN has 10 digits"), "{}", text(&dry));
    assert!(
        text(&dry).contains("--skip-invalid"),
        "the summary says how to import the rest: {}",
        text(&dry)
    );
    let run = dir.edu(&["import", "groups", "typo.xlsx", "--credentials", "c1.csv"]);
    assert!(!run.status.success(), "{}", text(&run));
    let run = dir.edu(&[
        "import",
        "groups",
        "typo.xlsx",
        "--skip-invalid",
        "--credentials",
        "c1.csv",
    ]);
    assert!(run.status.success(), "{}", text(&run));
    let creds = credentials(&dir.path("c1.csv"));
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0][0], "061211600012");

    // Test accounts: refused, then admitted with --allow-invalid-iin.
    roster(&dir.path("test.xlsx"), &[["Тест", "000000000001", "Тестовый Ученик"]]);
    let run = dir.edu(&["import", "groups", "test.xlsx", "--dry-run"]);
    assert!(!run.status.success(), "{}", text(&run));
    assert!(
        String::from_utf8_lossy(&run.stdout)
            .contains("row 2 (Тестовый Ученик): IIN does not begin with a possible birth date"),
        "{}",
        text(&run)
    );
    let run = dir.edu(&[
        "import",
        "groups",
        "test.xlsx",
        "--allow-invalid-iin",
        "--credentials",
        "c2.csv",
    ]);
    assert!(run.status.success(), "{}", text(&run));
    assert_eq!(credentials(&dir.path("c2.csv"))[0][0], "000000000001");

    // A new name: reported and kept, then replaced with --update-names.
    roster(&dir.path("renamed.xlsx"), &[["ИС-21", "061211600012", "Ли Анна"]]);
    let name = async |dir: &Workdir| {
        let iin = edu_core::Iin::parse("061211600012").expect("iin");
        use edu_core::Store;
        dir.store()
            .await
            .user_by_iin(&iin)
            .await
            .expect("lookup")
            .expect("the account")
            .full_name
    };
    let run = dir.edu(&["import", "groups", "renamed.xlsx", "--credentials", "c3.csv"]);
    assert!(run.status.success(), "{}", text(&run));
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(
        out.contains("row 2: 061211600012: \"Ким Анна\" → \"Ли Анна\": name differs, not updated"),
        "{}",
        text(&run)
    );
    assert!(out.contains("--update-names"), "{}", text(&run));
    assert_eq!(name(&dir).await, "Ким Анна");
    let run = dir.edu(&[
        "import",
        "groups",
        "renamed.xlsx",
        "--update-names",
        "--credentials",
        "c4.csv",
    ]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(
        String::from_utf8_lossy(&run.stdout).contains("\"Ким Анна\" → \"Ли Анна\": name updated"),
        "{}",
        text(&run)
    );
    assert_eq!(name(&dir).await, "Ли Анна");
}

#[tokio::test]
async fn every_sheet_is_read_unless_one_is_named() {
    let dir = Workdir::new("sheets");
    let mut book = rust_xlsxwriter::Workbook::new();
    let cover = book.add_worksheet().set_name("Титул").expect("a sheet name");
    cover.write_string(0, 0, "Список на 2026/2027").expect("cell");
    for (name, group, iin, person) in [
        ("Первый курс", "ПО-26-1", "061211600012", "Ким Анна"),
        ("Екінші курс", "ПО-25-1", "010203504050", "Ахметов Ерлан"),
    ] {
        let ws = book.add_worksheet().set_name(name).expect("a sheet name");
        for (c, h) in ["Группа", "ИИН", "ФИО"].into_iter().enumerate() {
            ws.write_string(0, c as u16, h).expect("header");
        }
        ws.write_string(1, 0, group).expect("group");
        ws.write_string(1, 1, iin).expect("iin");
        ws.write_string(1, 2, person).expect("name");
    }
    book.save(dir.path("two.xlsx")).expect("workbook");

    let one = dir.edu(&["import", "groups", "two.xlsx", "--sheet", "екінші КУРС", "--dry-run"]);
    assert!(one.status.success(), "{}", text(&one));
    assert!(
        String::from_utf8_lossy(&one.stdout).contains("1 rows, 1 valid"),
        "{}",
        text(&one)
    );
    let missing = dir.edu(&["import", "groups", "two.xlsx", "--sheet", "Третий", "--dry-run"]);
    assert!(!missing.status.success(), "{}", text(&missing));
    assert!(text(&missing).contains("no sheet \"Третий\""), "{}", text(&missing));

    let all = dir.edu(&["import", "groups", "two.xlsx", "--credentials", "c.csv"]);
    assert!(all.status.success(), "{}", text(&all));
    let out = String::from_utf8_lossy(&all.stdout);
    assert!(
        out.contains("2 rows, 2 valid, 0 invalid"),
        "the cover sheet is skipped: {out}"
    );
    assert_eq!(credentials(&dir.path("c.csv")).len(), 2);
}

/// `edu import teachers`: accounts made with first passwords in a Kazakh credentials file, each
/// teacher given the subjects its row names (a title two modules share written `Module /
/// Subject`), a subject taught by someone else handed over and reported, bad rows explained;
/// a re-import changes nothing.
#[tokio::test]
async fn imports_teachers_with_their_subjects() {
    use edu_core::domain::{ModuleScope, NewModule};
    use edu_core::{Role, Store};

    let dir = Workdir::new("import-teachers");
    let valid = |first: &str| {
        let digits: [u8; 11] = first
            .as_bytes()
            .iter()
            .map(|b| b - b'0')
            .collect::<Vec<_>>()
            .try_into()
            .expect("11 digits");
        format!(
            "{first}{}",
            edu_core::domain::Iin::check_digit(&digits).expect("a check digit")
        )
    };
    let (admin_iin, old_iin, student_iin) = (valid("88010130011"), valid("85050540022"), valid("06060650033"));
    let (sarsenova, akhmetov, li) = (valid("91020340044"), valid("92030450055"), valid("93040560066"));
    let migrated = dir.edu(&["migrate"]);
    assert!(migrated.status.success(), "{}", text(&migrated));
    let p = dir.platform().await;
    crate::common::provision(&p, &admin_iin, "Админ", Role::Admin, "admin-password-1").await;
    let old = crate::common::provision(&p, &old_iin, "Старый Учитель", Role::Teacher, "teacher-pass-1").await;
    crate::common::provision(&p, &student_iin, "Студент Али", Role::Student, "student-pass-1").await;
    let admin = p
        .login(&admin_iin, "admin-password-1", ClientInfo::default())
        .await
        .expect("admin");
    let who = p.authenticate(&admin.tokens.access_token).await.expect("principal");
    let mut subjects = std::collections::HashMap::new();
    for module in ["1 курс", "2 курс"] {
        let m = p
            .create_module(
                &who,
                NewModule {
                    title: module.into(),
                    course: None,
                    description: None,
                },
            )
            .await
            .expect("module");
        for title in ["Алгебра", &format!("Физика {module}")] {
            let s = p.create_subject(&who, m.id, title).await.expect("subject");
            subjects.insert(format!("{module} / {title}"), s.id);
        }
    }
    let physics1 = subjects["1 курс / Физика 1 курс"];
    p.assign_teacher(&who, &old_iin, physics1_module(&p, physics1).await, physics1)
        .await
        .expect("the old teacher teaches physics");

    let sheet = dir.path("teachers.xlsx");
    {
        let mut book = rust_xlsxwriter::Workbook::new();
        let s = book.add_worksheet();
        let rows: [[&str; 4]; 5] = [
            ["ЖСН", "Аты-жөні", "Телефон", "Пәндер"],
            [
                &sarsenova,
                "Сәрсенова Ә.",
                "+7 701 000 11 22",
                "1 курс / Алгебра; Физика 1 курс",
            ],
            [&akhmetov, "Ахметов Б.", "", "Физика 2 курс"],
            [&li, "Ли В.", "", "Алгебра"],
            [&student_iin, "Студент Али", "", ""],
        ];
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                s.write_string(r as u32, c as u16, *v).expect("cell");
            }
        }
        book.save(&sheet).expect("xlsx");
    }

    // All or nothing: two bad rows, nothing written, each error says why.
    let refused = dir.edu(&["import", "teachers", "teachers.xlsx", "--credentials", "t.csv"]);
    assert!(!refused.status.success(), "{}", text(&refused));
    let out = String::from_utf8_lossy(&refused.stdout);
    assert!(
        out.contains("row 4 (Ли В.): subject \"Алгебра\" is in several modules (1 курс, 2 курс)"),
        "{out}"
    );
    assert!(
        out.contains("row 5 (Студент Али): the IIN belongs to an account with the role student"),
        "{out}"
    );
    assert!(!dir.path("t.csv").exists());

    let run = dir.edu(&[
        "import",
        "teachers",
        "teachers.xlsx",
        "--skip-invalid",
        "--credentials",
        "t.csv",
        "--lang",
        "kk",
    ]);
    assert!(run.status.success(), "{}", text(&run));
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("teachers: created 2"), "{out}");
    assert!(out.contains("subjects whose teacher changed: 3"), "{out}");
    assert!(
        out.contains("1 курс / Физика 1 курс → Сәрсенова Ә. (was Старый Учитель)"),
        "{out}"
    );
    let creds = std::fs::read_to_string(dir.path("t.csv")).expect("credentials");
    let lines: Vec<&str> = creds
        .trim_start_matches('\u{feff}')
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines[0], "Жол;ЖСН;Аты-жөні;Пәндер;Құпиясөз");
    assert_eq!(lines.len(), 3);
    assert!(
        lines[1].starts_with(&format!("3;{akhmetov};Ахметов Б.;Физика 2 курс;")),
        "А before Ә: {creds}"
    );
    assert!(
        lines[2].starts_with(&format!(
            "2;{sarsenova};Сәрсенова Ә.;\"1 курс / Алгебра, Физика 1 курс\";"
        )),
        "{creds}"
    );

    let store = dir.store().await;
    let taught = |iin: &str| {
        let store = store.clone();
        let iin = iin.to_owned();
        async move {
            let user = store
                .user_by_iin(&edu_core::domain::Iin::parse(&iin).expect("iin"))
                .await
                .expect("read")
                .expect("the account");
            assert_eq!(user.role, Role::Teacher);
            assert!(user.must_change_password, "a first password is changed at first login");
            let mut ids: Vec<i64> = store
                .teacher_subjects(Some(user.id))
                .await
                .expect("subjects")
                .iter()
                .map(|s| s.id.0)
                .collect();
            ids.sort_unstable();
            ids
        }
    };
    let mut want = vec![subjects["1 курс / Алгебра"].0, physics1.0];
    want.sort_unstable();
    assert_eq!(taught(&sarsenova).await, want);
    assert_eq!(taught(&akhmetov).await, [subjects["2 курс / Физика 2 курс"].0]);
    assert!(store.teacher_subjects(Some(old.id)).await.expect("read").is_empty());
    let trees = store.module_trees(ModuleScope::All, None).await.expect("modules");
    assert_eq!(trees.len(), 2, "no module or subject was made by the import");

    // The first password works; a re-import changes nothing and writes no credentials.
    let pass = lines[1].rsplit(';').next().expect("a password");
    p.login(&akhmetov, pass, ClientInfo::default())
        .await
        .expect("first login");
    let again = dir.edu(&[
        "import",
        "teachers",
        "teachers.xlsx",
        "--skip-invalid",
        "--credentials",
        "t2.csv",
    ]);
    assert!(again.status.success(), "{}", text(&again));
    let out = String::from_utf8_lossy(&again.stdout);
    assert!(out.contains("teachers: created 0, already existing 2"), "{out}");
    assert!(out.contains("subjects whose teacher changed: 0"), "{out}");
    assert!(!dir.path("t2.csv").exists());
}

async fn physics1_module(
    p: &edu_core::Platform<edu_core::SqliteStore>,
    subject: edu_core::domain::SubjectId,
) -> edu_core::domain::ModuleId {
    p.operator_modules()
        .await
        .expect("modules")
        .into_iter()
        .find(|m| m.subjects.iter().any(|s| s.subject.id == subject))
        .expect("the subject's module")
        .module
        .id
}
