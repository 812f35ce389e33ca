//! `POST /admin/groups/upload-excel` over real HTTP, on both backends, with spreadsheets made in
//! the test: headers in Russian and English, IINs that lost their zeros, bad rows, dry runs, the
//! two modes, re-imports, initial passwords, files that are not spreadsheets and oversized bodies.

use edu_core::Store;
use edu_tests::{Actor, Reply, TestApp, get, read};
use reqwest::Method;
use rust_xlsxwriter::Workbook;
use serde_json::{Value, json};

edu_tests::on_both_backends!(
    import_requires_an_admin,
    russian_headers_each_row_to_its_own_group,
    english_headers_and_a_single_name_column,
    kazakh_headers_in_a_semicolon_csv,
    bad_rows_reject_the_whole_file_by_default,
    skip_invalid_imports_the_valid_rows,
    dry_run_writes_nothing,
    reimporting_the_same_file_changes_nothing,
    new_students_log_in_with_the_reported_password,
    legacy_iin_digit_passwords_only_on_request,
    files_that_are_not_spreadsheets_are_422,
    bodies_that_are_not_multipart_are_400,
    files_over_ten_mebibytes_are_413,
    a_large_sheet_dry_run_succeeds,
    sparse_cells_far_apart_do_not_exhaust_memory,
    simultaneous_imports_of_one_file_create_each_student_once,
    mistyped_iins_are_invalid_rows_that_say_why,
    test_accounts_only_with_allow_invalid_iin,
    one_iin_with_two_names_is_invalid_in_every_row,
    different_names_are_reported_and_replaced_only_when_asked,
    service_accounts_keep_the_plain_rule_outside_the_import,
    teachers_are_imported_with_their_subjects,
);

const UPLOAD: &str = "/admin/groups/upload-excel";
const BOUNDARY: &str = "edu-test-boundary-7MA4YWxkTrZu0gW";

/// A spreadsheet cell to write.
#[derive(Clone)]
enum C {
    S(&'static str),
    T(String),
    N(f64),
    Blank,
}

/// An xlsx file with one sheet holding `rows`.
fn xlsx(rows: &[Vec<C>]) -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        let r = u32::try_from(r).expect("row number fits");
        for (c, cell) in row.iter().enumerate() {
            let c = u16::try_from(c).expect("column number fits");
            match cell {
                C::S(s) => {
                    sheet.write_string(r, c, *s).expect("write a string cell");
                }
                C::T(s) => {
                    sheet.write_string(r, c, s.as_str()).expect("write a string cell");
                }
                C::N(n) => {
                    sheet.write_number(r, c, *n).expect("write a number cell");
                }
                C::Blank => {}
            }
        }
    }
    book.save_to_buffer().expect("save the workbook")
}

/// A multipart body with `bytes` as the `file` field.
fn multipart(field: &str, filename: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(bytes.len() + 512);
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n\
             Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Uploads `file` as the multipart field `file`, with `query` appended to the path.
async fn upload<S: Store>(app: &TestApp<S>, who: Option<&Actor>, query: &str, file: &[u8]) -> Reply {
    upload_to(app, UPLOAD, who, query, file).await
}

/// [`upload`] to another import.
async fn upload_to<S: Store>(app: &TestApp<S>, path: &str, who: Option<&Actor>, query: &str, file: &[u8]) -> Reply {
    let res = app
        .request(Method::POST, &format!("{path}{query}"), who)
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(multipart("file", "students.xlsx", file))
        .send()
        .await
        .expect("request");
    read(res).await
}

/// Group name → member IINs, sorted.
async fn groups<S: Store>(app: &TestApp<S>, admin: &Actor) -> Vec<(String, Vec<String>)> {
    let r = get(app, "/admin/groups/?limit=1000", Some(admin)).await;
    let mut out = Vec::new();
    for g in r.expect(200).as_array().expect("groups") {
        let id = g["id"].as_i64().expect("group id");
        let name = g["name"].as_str().expect("group name").to_owned();
        let members = get(app, &format!("/admin/groups/{id}/users"), Some(admin)).await;
        let mut iins: Vec<String> = members
            .expect(200)
            .as_array()
            .expect("members")
            .iter()
            .map(|u| u["iin"].as_str().expect("iin").to_owned())
            .collect();
        iins.sort();
        out.push((name, iins));
    }
    out.sort();
    out
}

async fn user_count<S: Store>(app: &TestApp<S>, admin: &Actor) -> i64 {
    let r = get(app, "/admin/users/?limit=1", Some(admin)).await;
    r.expect(200);
    r.header("x-total-count")
        .and_then(|v| v.parse().ok())
        .expect("the user list has X-Total-Count")
}

async fn user_exists<S: Store>(app: &TestApp<S>, admin: &Actor, iin: &str) -> bool {
    let r = get(app, &format!("/user/by-iin/{iin}"), Some(admin)).await;
    match r.status {
        200 => true,
        404 => false,
        s => panic!("lookup of {iin}: {s} {}", r.body),
    }
}

/// The sheet of the existing backend's users: a title row, Russian headers split into
/// surname/name/patronymic, IINs typed as numbers (so the leading zero is gone), a blank row.
fn russian_sheet() -> Vec<Vec<C>> {
    use C::*;
    vec![
        vec![S("Список студентов 2024")],
        vec![
            S("Группа"),
            S(" ИИН "),
            S("Фамилия"),
            S("Имя"),
            S("Отчество"),
            S("Телефон"),
            S("Описание"),
        ],
        vec![
            S("ИС-21"),
            N(10_203_504_050.0),
            S("Иванов"),
            S("Иван"),
            S("Иванович"),
            S("+7 701 123 45 67"),
            S("первый курс"),
        ],
        vec![Blank, Blank, Blank],
        vec![
            S("ИС-22"),
            S("020304505065"),
            S("Петрова"),
            S("Анна"),
            Blank,
            Blank,
            Blank,
        ],
        vec![
            S("ИС-21"),
            N(30_405_506_079.0),
            S("Сидоров"),
            S("Пётр"),
            Blank,
            Blank,
            Blank,
        ],
        vec![S(""), S(""), S("   "), Blank],
    ]
}

async fn import_requires_an_admin<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let file = xlsx(&russian_sheet());
    upload(&app, None, "", &file).await.expect(401);
    let student = app.student().await;
    let teacher = app.teacher().await;
    for who in [&student, &teacher] {
        let r = upload(&app, Some(who), "", &file).await;
        assert_eq!(r.expect(403)["code"], "forbidden");
        let r = upload(&app, Some(who), "?dry_run=true", &file).await;
        r.expect(403);
    }
    // Even a bad body is refused for the role first.
    let res = app
        .request(Method::POST, UPLOAD, Some(&student))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("request");
    read(res).await.expect(403);
    assert!(groups(&app, &admin).await.is_empty(), "nothing was imported");
    assert!(!user_exists(&app, &admin, "010203504050").await);
}

async fn russian_headers_each_row_to_its_own_group<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let r = upload(&app, Some(&admin), "", &xlsx(&russian_sheet())).await;
    let report = r.expect(200).clone();
    assert_eq!(report["applied"], true, "{report}");
    assert_eq!(report["dry_run"], false);
    assert_eq!(report["rows_total"], 3, "{report}");
    assert_eq!(report["rows_valid"], 3);
    assert_eq!(report["errors"], json!([]));
    assert_eq!(report["users_created"], 3);
    assert_eq!(report["users_existing"], 0);
    assert_eq!(report["memberships_added"], 3);
    let mut created: Vec<&str> = report["groups_created"]
        .as_array()
        .expect("groups_created")
        .iter()
        .map(|g| g.as_str().expect("group name"))
        .collect();
    created.sort_unstable();
    assert_eq!(created, vec!["ИС-21", "ИС-22"]);

    // Leading zeros restored; each student in the group of their own row.
    assert_eq!(
        groups(&app, &admin).await,
        vec![
            (
                "ИС-21".to_owned(),
                vec!["010203504050".to_owned(), "030405506079".to_owned()]
            ),
            ("ИС-22".to_owned(), vec!["020304505065".to_owned()]),
        ]
    );
    let r = get(&app, "/user/by-iin/010203504050", Some(&admin)).await;
    assert_eq!(r.expect(200)["full_name"], "Иванов Иван Иванович");
    let r = get(&app, "/user/by-iin/020304505065", Some(&admin)).await;
    assert_eq!(r.expect(200)["full_name"], "Петрова Анна");

    // The description went to the group; the new accounts are students who must change passwords.
    let r = get(&app, "/admin/groups/?limit=100", Some(&admin)).await;
    let list = r.expect(200).as_array().expect("groups").clone();
    let is21 = list.iter().find(|g| g["name"] == "ИС-21").expect("ИС-21 exists");
    assert_eq!(is21["description"], "первый курс");
    let id = is21["id"].as_i64().expect("id");
    let r = get(&app, &format!("/admin/groups/{id}/users"), Some(&admin)).await;
    for u in r.expect(200).as_array().expect("members") {
        assert_eq!(u["role"], "student", "{u}");
        assert_eq!(u["must_change_password"], true, "{u}");
        if u["iin"] == "010203504050" {
            assert!(u["phone"].is_string(), "the phone was imported: {u}");
        }
    }
    // Credentials are reported once per new student, with the row they came from.
    let creds = report["credentials"].as_array().expect("credentials");
    assert_eq!(creds.len(), 3);
    let ivanov = creds
        .iter()
        .find(|c| c["iin"] == "010203504050")
        .expect("Иванов has credentials");
    assert_eq!((&ivanov["row"], &ivanov["group"]), (&json!(3), &json!("ИС-21")));
}

async fn english_headers_and_a_single_name_column<S: Store>(app: TestApp<S>) {
    use C::*;
    let admin = app.admin().await;
    let rows = vec![
        vec![S("GROUP"), S("iin"), S("Full Name"), S("Description"), S("Phone")],
        vec![S("CS-1"), S("'000101300128"), S("Ann  Lee"), S("first year"), Blank],
        vec![S("CS-2"), N(101_300_138.0), S("Bob Stone"), Blank, Blank],
    ];
    let r = upload(&app, Some(&admin), "", &xlsx(&rows)).await;
    let report = r.expect(200);
    assert_eq!(report["users_created"], 2, "{report}");
    assert_eq!(
        groups(&app, &admin).await,
        vec![
            ("CS-1".to_owned(), vec!["000101300128".to_owned()]),
            ("CS-2".to_owned(), vec!["000101300138".to_owned()]),
        ]
    );
    let r = get(&app, "/user/by-iin/000101300128", Some(&admin)).await;
    assert_eq!(r.expect(200)["full_name"], "Ann Lee");

    // Russian single-column ФИО.
    let rows = vec![
        vec![S("Группа"), S("ИИН"), S("ФИО")],
        vec![S("CS-1"), S("000101300148"), S("Ким Виктор Олегович")],
    ];
    let r = upload(&app, Some(&admin), "", &xlsx(&rows)).await;
    let report = r.expect(200);
    assert_eq!(report["users_created"], 1, "{report}");
    assert_eq!(report["groups_created"], json!([]), "the group existed");
    let r = get(&app, "/user/by-iin/000101300148", Some(&admin)).await;
    assert_eq!(r.expect(200)["full_name"], "Ким Виктор Олегович");
}

/// Three bad rows among good ones.
fn sheet_with_bad_rows() -> Vec<Vec<C>> {
    use C::*;
    vec![
        vec![S("Группа"), S("ИИН"), S("ФИО")],
        vec![S("A-1"), S("040506507088"), S("Хороший Один")],
        vec![S("A-1"), S("12345678901"), S("Короткий ИИН")],
        vec![Blank, S("050607508097"), S("Без Группы")],
        vec![S("A-2"), S("060708509105"), Blank],
        vec![S("A-2"), S("07080910111x"), S("Буква В ИИН")],
        vec![S("A-3"), N(1.5), S("Дробный")],
        vec![S("A-2"), S("080910511129"), S("Хороший Два")],
    ]
}

fn error_messages(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            e.as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("row {}: {}", e["row"], e["message"].as_str().unwrap_or_default()))
        })
        .collect()
}

fn assert_bad_rows_reported(report: &Value) {
    let errors = error_messages(report);
    assert_eq!(errors.len(), 5, "{errors:?}");
    for (row, needle) in [(3, "11 digits"), (4, "group"), (5, "name"), (6, "IIN"), (7, "IIN")] {
        let prefix = format!("row {row}:");
        assert!(
            errors.iter().any(|e| e.starts_with(&prefix) && e.contains(needle)),
            "no `{prefix} …{needle}…` in {errors:?}"
        );
    }
    assert_eq!(report["rows_total"], 7, "{report}");
    assert_eq!(report["rows_valid"], 2, "{report}");
}

async fn bad_rows_reject_the_whole_file_by_default<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let users_before = user_count(&app, &admin).await;
    let file = xlsx(&sheet_with_bad_rows());
    for query in ["", "?mode=all_or_nothing"] {
        let r = upload(&app, Some(&admin), query, &file).await;
        let body = r.expect(422);
        assert_eq!(body["code"], "import_rejected", "{body}");
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
        assert_eq!(body["report"]["applied"], false);
        assert_bad_rows_reported(&body["report"]);
        assert!(groups(&app, &admin).await.is_empty(), "no group was written");
        assert!(!user_exists(&app, &admin, "040506507088").await, "no user was written");
        assert_eq!(user_count(&app, &admin).await, users_before);
    }
    let r = upload(&app, Some(&admin), "?mode=whatever", &file).await;
    r.expect(422);
    let r = upload(&app, Some(&admin), "?dry_run=maybe", &file).await;
    r.expect(422);
    assert!(groups(&app, &admin).await.is_empty());
}

async fn skip_invalid_imports_the_valid_rows<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let r = upload(&app, Some(&admin), "?mode=skip_invalid", &xlsx(&sheet_with_bad_rows())).await;
    let report = r.expect(200).clone();
    assert_eq!(report["applied"], true);
    assert_bad_rows_reported(&report);
    assert_eq!(report["users_created"], 2);
    assert_eq!(
        groups(&app, &admin).await,
        vec![
            ("A-1".to_owned(), vec!["040506507088".to_owned()]),
            ("A-2".to_owned(), vec!["080910511129".to_owned()]),
        ]
    );
    // The invalid rows' people were not created, not even the one with a valid IIN.
    assert!(!user_exists(&app, &admin, "050607508097").await);
    assert!(!user_exists(&app, &admin, "060708509105").await);
}

async fn dry_run_writes_nothing<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let existing = app.student().await;
    // An existing group and an existing student appear in the file.
    let r = read(
        app.request(Method::POST, "/admin/groups/", Some(&admin))
            .json(&json!({"name": "ИС-22"}))
            .send()
            .await
            .expect("request"),
    )
    .await;
    r.expect(200);
    let mut rows = russian_sheet();
    rows.push(vec![
        C::S("ИС-22"),
        C::T(existing.iin.clone()),
        C::S("Уже"),
        C::S("Есть"),
    ]);
    let file = xlsx(&rows);
    let users_before = user_count(&app, &admin).await;
    let groups_before = groups(&app, &admin).await;

    for query in ["?dry_run=true", "?dry_run=true&mode=skip_invalid", "?dry_run=1"] {
        let r = upload(&app, Some(&admin), query, &file).await;
        if query == "?dry_run=1" && r.status == 422 {
            continue; // "1" need not be accepted as a boolean; it must not be a 5xx.
        }
        let report = r.expect(200);
        assert_eq!(report["dry_run"], true, "{report}");
        assert_eq!(report["applied"], false);
        assert_eq!(report["rows_valid"], 4);
        assert_eq!(report["users_created"], 3, "{report}");
        assert_eq!(report["users_existing"], 1, "{report}");
        assert_eq!(report["groups_created"], json!(["ИС-21"]), "{report}");
        assert_eq!(report["credentials"], json!([]), "no password in a dry run");
        assert_eq!(user_count(&app, &admin).await, users_before);
        assert_eq!(groups(&app, &admin).await, groups_before);
    }
    // A dry run of a file with bad rows reports them, still 200, still writes nothing.
    let r = upload(&app, Some(&admin), "?dry_run=true", &xlsx(&sheet_with_bad_rows())).await;
    let report = r.expect(200);
    assert_bad_rows_reported(report);
    assert_eq!(report["applied"], false);
    assert_eq!(groups(&app, &admin).await, groups_before);
    // The real import then does what the dry run said.
    let r = upload(&app, Some(&admin), "", &file).await;
    let report = r.expect(200);
    assert_eq!(report["users_created"], 3, "{report}");
    assert_eq!(report["groups_created"], json!(["ИС-21"]), "{report}");
    assert_eq!(user_count(&app, &admin).await, users_before + 3);
}

async fn reimporting_the_same_file_changes_nothing<S: Store>(app: TestApp<S>) {
    use C::*;
    let admin = app.admin().await;
    let mut rows = russian_sheet();
    // The same student twice in one file, in two groups: one account, two memberships.
    rows.push(vec![
        S("ИС-23"),
        N(10_203_504_050.0),
        S("Иванов"),
        S("Иван"),
        S("Иванович"),
    ]);
    let file = xlsx(&rows);
    let r = upload(&app, Some(&admin), "", &file).await;
    let first = r.expect(200).clone();
    assert_eq!(first["users_created"], 3, "{first}");
    assert_eq!(first["memberships_added"], 4, "{first}");
    assert_eq!(first["credentials"].as_array().expect("credentials").len(), 3);
    let users = user_count(&app, &admin).await;
    let state = groups(&app, &admin).await;
    assert_eq!(state.len(), 3);

    for _ in 0..2 {
        let r = upload(&app, Some(&admin), "", &file).await;
        let again = r.expect(200);
        assert_eq!(again["applied"], true);
        assert_eq!(again["users_created"], 0, "{again}");
        assert_eq!(again["users_existing"], 4, "{again}");
        assert_eq!(again["groups_created"], json!([]), "{again}");
        assert_eq!(again["memberships_added"], 0, "{again}");
        assert_eq!(again["credentials"], json!([]), "no new password for an existing user");
        assert_eq!(user_count(&app, &admin).await, users);
        assert_eq!(groups(&app, &admin).await, state);
    }
    // The first password still works: a re-import does not reset it.
    let cred = &first["credentials"][0];
    let r = app
        .post_login(
            cred["iin"].as_str().expect("iin"),
            cred["password"].as_str().expect("password"),
        )
        .await;
    assert_eq!(r.status(), 200);
}

async fn new_students_log_in_with_the_reported_password<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let r = upload(&app, Some(&admin), "", &xlsx(&russian_sheet())).await;
    let report = r.expect(200).clone();
    let creds = report["credentials"].as_array().expect("credentials");
    let mut passwords = Vec::new();
    for c in creds {
        let iin = c["iin"].as_str().expect("iin");
        let password = c["password"].as_str().expect("password");
        assert!(password.len() >= 8, "a strong enough initial password: {password:?}");
        assert_ne!(password, iin, "not the legacy IIN password");
        passwords.push(password.to_owned());
        let body = app.login(iin, password).await;
        assert_eq!(body["user"]["role"], "student");
        // The IIN itself is not the password.
        let r = app.post_login(iin, iin).await;
        assert_eq!(r.status(), 401);
    }
    passwords.sort();
    passwords.dedup();
    assert_eq!(passwords.len(), creds.len(), "every student gets their own password");
}

async fn legacy_iin_digit_passwords_only_on_request<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    // `iin_digits` (the earlier name) and `legacy` both give the old backend's rule: the first
    // three and the last three digits of the IIN, to be changed at first login.
    let second = vec![
        vec![C::S("Group"), C::S("IIN"), C::S("Full name")],
        vec![C::S("ИС-23"), C::T(edu_tests::fresh_iin()), C::S("Ким Алина")],
    ];
    for (query, sheet) in [
        ("?passwords=iin_digits", russian_sheet()),
        ("?passwords=legacy", second),
    ] {
        let r = upload(&app, Some(&admin), query, &xlsx(&sheet)).await;
        let report = r.expect(200);
        assert!(report["message"].as_str().is_some_and(|m| !m.is_empty()), "{report}");
        let creds = report["credentials"].as_array().expect("credentials");
        assert!(!creds.is_empty(), "{report}");
        for c in creds {
            let iin = c["iin"].as_str().expect("iin");
            let legacy = format!("{}{}", &iin[..3], &iin[9..]);
            assert_eq!(c["password"], legacy.as_str(), "{c}");
            let session = app.login(iin, &legacy).await;
            assert_eq!(session["user"]["must_change_password"], true, "{session}");
            assert_eq!(
                app.post_login(iin, iin).await.status(),
                401,
                "the whole IIN is not the password"
            );
        }
    }
    let r = upload(&app, Some(&admin), "?passwords=123", &xlsx(&russian_sheet())).await;
    r.expect(422);
}

async fn files_that_are_not_spreadsheets_are_422<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let mut random = vec![0u8; 4096];
    let mut x: u32 = 0x1234_5678;
    for b in &mut random {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x.to_le_bytes()[0];
    }
    let good = xlsx(&russian_sheet());
    let truncated = good[..good.len() / 2].to_vec();
    let mut zip_not_xlsx = b"PK\x03\x04".to_vec();
    zip_not_xlsx.extend_from_slice(&random[..200]);
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("random bytes", random),
        ("empty file", Vec::new()),
        (
            "text that is no table",
            "Dear admin,\nplease import the students.\n".as_bytes().to_vec(),
        ),
        (
            "html",
            b"<!DOCTYPE html><html><body><table><tr><td>IIN</td></tr></table></body></html>".to_vec(),
        ),
        ("truncated xlsx", truncated),
        ("zip header only", zip_not_xlsx),
        ("old ole header", b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1garbage".to_vec()),
    ];
    for (label, file) in files {
        let r = upload(&app, Some(&admin), "", &file).await;
        assert_eq!(r.status, 422, "{label}: {}", r.body);
        assert!(
            r.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{label}: {}",
            r.body
        );
    }
    // A real spreadsheet without the columns: 422 (all or nothing) with the problem named.
    use C::*;
    let r = upload(
        &app,
        Some(&admin),
        "",
        &xlsx(&[vec![S("a"), S("b")], vec![S("1"), S("2")]]),
    )
    .await;
    r.expect(422);
    let r = upload(
        &app,
        Some(&admin),
        "",
        &xlsx(&[vec![S("ИИН"), S("ФИО")], vec![S("010203504050"), S("X Y")]]),
    )
    .await;
    r.expect(422);
    // An empty workbook.
    let r = upload(&app, Some(&admin), "", &xlsx(&[])).await;
    assert!(r.status == 422 || r.status == 200, "{} {}", r.status, r.body);
    assert!(groups(&app, &admin).await.is_empty());
}

async fn bodies_that_are_not_multipart_are_400<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let file = xlsx(&russian_sheet());
    let send = |content_type: Option<&'static str>, body: Vec<u8>| {
        let (app, admin) = (&app, &admin);
        async move {
            let mut req = app.request(Method::POST, UPLOAD, Some(admin)).body(body);
            if let Some(ct) = content_type {
                req = req.header("content-type", ct);
            }
            read(req.send().await.expect("request")).await
        }
    };
    send(None, file.clone()).await.expect(400);
    send(Some("application/json"), b"{\"file\": \"x\"}".to_vec())
        .await
        .expect(400);
    send(Some("application/octet-stream"), file.clone()).await.expect(400);
    send(Some("multipart/form-data"), file.clone()).await.expect(400);
    // A multipart body that is not well-formed.
    send(
        Some("multipart/form-data; boundary=xyz"),
        b"--xyz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc".to_vec(),
    )
    .await
    .expect(400);
    send(Some("multipart/form-data; boundary=xyz"), Vec::new())
        .await
        .expect(400);
    // Well-formed, but the field has another name: a validation error.
    let res = app
        .request(Method::POST, UPLOAD, Some(&admin))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(multipart("photo", "students.xlsx", &file))
        .send()
        .await
        .expect("request");
    let r = read(res).await;
    assert!(r.status == 422 || r.status == 400, "{} {}", r.status, r.body);
    assert!(groups(&app, &admin).await.is_empty());
}

async fn files_over_ten_mebibytes_are_413<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let big = vec![b'a'; 10 * 1024 * 1024 + 1];
    let res = app
        .request(Method::POST, UPLOAD, Some(&admin))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(multipart("file", "big.xlsx", &big))
        .send()
        .await;
    match res {
        Ok(res) => {
            let r = read(res).await;
            r.expect(413);
            assert_eq!(r.body["code"], "payload_too_large");
        }
        // The server may close the connection after answering, before the client finished sending.
        Err(e) => panic!("the upload of 10 MiB + 1 byte failed without a response: {e}"),
    }
    // Exactly 10 MiB passes the size check (and is then not a spreadsheet).
    let limit = vec![b'a'; 10 * 1024 * 1024];
    let r = upload(&app, Some(&admin), "", &limit).await;
    r.expect(422);
}

async fn a_large_sheet_dry_run_succeeds<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let mut rows = vec![vec![C::S("Группа"), C::S("ИИН"), C::S("ФИО")]];
    for i in 0..2000u64 {
        rows.push(vec![
            C::T(format!("G-{}", i % 40)),
            // As numbers: those born in 2000–2009 lost a leading zero and get it back.
            C::N(edu_tests::fresh_iin().parse().expect("digits")),
            C::T(format!("Студент Номер {i}")),
        ]);
    }
    let file = xlsx(&rows);
    let r = upload(&app, Some(&admin), "?dry_run=true", &file).await;
    let report = r.expect(200);
    assert_eq!(report["rows_valid"], 2000, "{}", report["errors"]);
    assert_eq!(report["users_created"], 2000);
    assert_eq!(report["groups_created"].as_array().expect("groups").len(), 40);
    assert!(groups(&app, &admin).await.is_empty());
}

/// A few kilobytes with a cell in the first and in the last cell of a sheet (XFD1048576): a reader
/// that builds the dense rectangle between them asks for hundreds of gigabytes and aborts the process.
async fn sparse_cells_far_apart_do_not_exhaust_memory<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let corners: [(u32, u16); 3] = [(1_048_575, 16_383), (20_001, 16_383), (1_048_575, 2)];
    for (row, col) in corners {
        let mut book = Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "Группа").expect("header");
        sheet.write_string(0, 1, "ИИН").expect("header");
        sheet.write_string(0, 2, "ФИО").expect("header");
        sheet.write_string(1, 0, "G").expect("cell");
        sheet.write_string(1, 1, "010203504050").expect("cell");
        sheet.write_string(1, 2, "Иванов Иван").expect("cell");
        sheet.write_string(row, col, "x").expect("far cell");
        let file = book.save_to_buffer().expect("save");
        assert!(file.len() < 20_000, "the file is small: {}", file.len());
        let r = upload(&app, Some(&admin), "?dry_run=true", &file).await;
        assert_eq!(r.status, 422, "cell at ({row}, {col}): {}", r.body);
    }
    // A far cell in an ignored column within the row limit is fine.
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (c, h) in ["Группа", "ИИН", "ФИО"].into_iter().enumerate() {
        sheet
            .write_string(0, u16::try_from(c).expect("column"), h)
            .expect("header");
    }
    sheet.write_string(1, 0, "G").expect("cell");
    sheet.write_string(1, 1, "010203504050").expect("cell");
    sheet.write_string(1, 2, "Иванов Иван").expect("cell");
    sheet.write_string(1, 16_383, "note").expect("far column");
    let file = book.save_to_buffer().expect("save");
    let r = upload(&app, Some(&admin), "?dry_run=true", &file).await;
    assert_eq!(r.expect(200)["rows_valid"], 1, "{}", r.body);
}

/// Two admins upload the same file at the same moment: no 5xx, and each student exists once.
async fn simultaneous_imports_of_one_file_create_each_student_once<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let users_before = user_count(&app, &admin).await;
    let file = xlsx(&russian_sheet());
    let (a, b, c) = tokio::join!(
        upload(&app, Some(&admin), "", &file),
        upload(&app, Some(&admin), "", &file),
        upload(&app, Some(&admin), "?mode=skip_invalid", &file),
    );
    let replies = [a, b, c];
    for r in &replies {
        assert!(r.status == 200 || r.status == 409, "{r:?}");
    }
    assert!(replies.iter().any(|r| r.status == 200), "{replies:?}");
    let created: i64 = replies
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.body["users_created"].as_i64().expect("users_created"))
        .sum();
    assert_eq!(created, 3, "each student is created by exactly one import: {replies:?}");
    assert_eq!(user_count(&app, &admin).await, users_before + 3);
    assert_eq!(groups(&app, &admin).await.len(), 2);
}

/// The fault this guards against: ten digits typed into a number cell were padded into
/// `004051250012`, and the dry run called it valid. Now each IIN is checked as the national rules
/// define it, and the row says what is wrong.
fn sheet_with_mistyped_iins() -> Vec<Vec<C>> {
    use C::*;
    vec![
        vec![S("Группа"), S("ИИН"), S("ФИО")],
        vec![S("T-1"), N(4_051_250_012.0), S("Десять Цифр")],
        vec![S("T-1"), S("791028302727"), S("Не Та Цифра")],
        vec![S("T-1"), S("791328302728"), S("Тринадцатый Месяц")],
        vec![S("T-1"), S("4051250012"), S("Десять Цифр Текстом")],
        vec![S("T-1"), S("791028302728"), S("Верный Номер")],
        vec![S("T-1"), N(61_211_600_012.0), S("Потерянный Ноль")],
    ]
}

async fn mistyped_iins_are_invalid_rows_that_say_why<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let file = xlsx(&sheet_with_mistyped_iins());
    let expected = [
        "row 2: IIN has 10 digits",
        "row 3: IIN has a wrong check digit (a digit was probably mistyped)",
        "row 4: IIN does not begin with a possible birth date (YYMMDD and the century digit)",
        "row 5: IIN has 10 digits",
    ];
    let r = upload(&app, Some(&admin), "?dry_run=true&mode=skip_invalid", &file).await;
    let report = r.expect(200);
    assert_eq!(error_messages(report), expected, "{report}");
    assert_eq!(report["rows_valid"], 2, "{report}");
    assert_eq!(
        report["users_created"], 2,
        "the dry run no longer counts 004051250012: {report}"
    );

    let body = upload(&app, Some(&admin), "", &file).await.expect(422).clone();
    assert_eq!(error_messages(&body["report"]), expected);
    for iin in ["004051250012", "791028302728", "061211600012"] {
        assert!(
            !user_exists(&app, &admin, iin).await,
            "{iin} written by a rejected import"
        );
    }

    let r = upload(&app, Some(&admin), "?mode=skip_invalid", &file).await;
    let report = r.expect(200);
    assert_eq!(report["users_created"], 2, "{report}");
    assert!(
        !user_exists(&app, &admin, "004051250012").await,
        "no account for the typo"
    );
    assert!(user_exists(&app, &admin, "791028302728").await);
    assert!(
        user_exists(&app, &admin, "061211600012").await,
        "a valid IIN stored as a number gets its zero back"
    );

    // Russian, as the old admin screen shows it.
    let res = app
        .request(Method::POST, &format!("{UPLOAD}?dry_run=true"), Some(&admin))
        .header("accept-language", "ru")
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(multipart("file", "students.xlsx", &file))
        .send()
        .await
        .expect("request");
    let r = read(res).await;
    let errors = &r.expect(200)["errors"];
    assert_eq!(
        errors[1]["message"],
        "Неверная контрольная цифра ИИН (вероятно, опечатка в одной из цифр)"
    );
    assert_eq!(
        errors[2]["message"],
        "ИИН не начинается с возможной даты рождения (ГГММДД и цифра века)"
    );
}

async fn test_accounts_only_with_allow_invalid_iin<S: Store>(app: TestApp<S>) {
    use C::*;
    let admin = app.admin().await;
    let rows = vec![
        vec![S("Группа"), S("ИИН"), S("ФИО")],
        vec![S("Тест"), S("000000000001"), S("Тестовый Ученик")],
        vec![S("Тест"), S("990101300123"), S("Демо Ученик")],
    ];
    let file = xlsx(&rows);
    let body = upload(&app, Some(&admin), "", &file).await.expect(422).clone();
    assert_eq!(body["report"]["errors"].as_array().map(Vec::len), Some(2), "{body}");
    assert!(!user_exists(&app, &admin, "000000000001").await);

    upload(&app, Some(&admin), "?allow_invalid_iin=maybe", &file)
        .await
        .expect(422);
    let r = upload(&app, Some(&admin), "?allow_invalid_iin=true", &file).await;
    let report = r.expect(200).clone();
    assert_eq!(report["users_created"], 2, "{report}");
    for c in report["credentials"].as_array().expect("credentials") {
        let session = app
            .login(
                c["iin"].as_str().expect("iin"),
                c["password"].as_str().expect("password"),
            )
            .await;
        assert_eq!(session["user"]["must_change_password"], true);
    }
    // The flag admits any twelve digits; it does not pad a short number into one.
    let rows = vec![
        vec![S("Группа"), S("ИИН"), S("ФИО")],
        vec![S("Тест"), N(4_051_250_012.0), S("Десять Цифр")],
    ];
    let r = upload(&app, Some(&admin), "?allow_invalid_iin=true&dry_run=true", &xlsx(&rows)).await;
    assert_eq!(error_messages(r.expect(200)), ["row 2: IIN has 10 digits"]);
}

async fn one_iin_with_two_names_is_invalid_in_every_row<S: Store>(app: TestApp<S>) {
    use C::*;
    let admin = app.admin().await;
    let rows = vec![
        vec![S("Группа"), S("ИИН"), S("ФИО")],
        vec![S("D-1"), S("791028302728"), S("Иванов Иван")],
        vec![S("D-1"), S("061211600012"), S("Ким Анна")],
        vec![S("D-2"), S("791028302728"), S("Петров Пётр")],
        vec![S("D-2"), N(61_211_600_012.0), S("Ким  Анна")],
    ];
    let file = xlsx(&rows);
    let body = upload(&app, Some(&admin), "", &file).await.expect(422).clone();
    let expected = [
        "row 2: the same IIN is given with different names in rows 2, 4",
        "row 4: the same IIN is given with different names in rows 2, 4",
    ];
    assert_eq!(error_messages(&body["report"]), expected);
    let r = upload(&app, Some(&admin), "?mode=skip_invalid", &file).await;
    let report = r.expect(200);
    assert_eq!(error_messages(report), expected);
    // The same person twice (a number cell and a text cell, one name): one account, two groups.
    assert_eq!(report["users_created"], 1, "{report}");
    assert_eq!(report["memberships_added"], 2, "{report}");
    assert!(
        !user_exists(&app, &admin, "791028302728").await,
        "which name is right is unknown"
    );
    assert_eq!(
        groups(&app, &admin).await,
        vec![
            ("D-1".to_owned(), vec!["061211600012".to_owned()]),
            ("D-2".to_owned(), vec!["061211600012".to_owned()]),
        ]
    );
}

async fn full_name<S: Store>(app: &TestApp<S>, admin: &Actor, iin: &str) -> String {
    let r = get(app, &format!("/user/by-iin/{iin}"), Some(admin)).await;
    r.expect(200)["full_name"].as_str().expect("full_name").to_owned()
}

async fn different_names_are_reported_and_replaced_only_when_asked<S: Store>(app: TestApp<S>) {
    use C::*;
    let admin = app.admin().await;
    let roster = |second_name: &'static str| {
        xlsx(&[
            vec![S("Группа"), S("ИИН"), S("ФИО")],
            vec![S("N-1"), S("791028302728"), S("Иванов Иван")],
            vec![S("N-1"), S("061211600012"), S(second_name)],
            vec![S("N-2"), S("061211600012"), S(second_name)],
        ])
    };
    let r = upload(&app, Some(&admin), "", &roster("Ким Анна")).await;
    assert_eq!(r.expect(200)["name_changes"], json!([]));

    // She married: the registry has her new name.
    let renamed = roster("Ли Анна");
    let change = |updated: bool, message: &str| {
        json!([{"row": 3, "iin": "061211600012", "old_name": "Ким Анна", "new_name": "Ли Анна",
                "updated": updated, "message": message}])
    };
    let kept = change(false, "name differs, not updated");
    for query in ["", "?dry_run=true", "?mode=skip_invalid"] {
        let r = upload(&app, Some(&admin), query, &renamed).await;
        let report = r.expect(200);
        assert_eq!(report["name_changes"], kept, "{query}: {report}");
        assert_eq!(report["errors"], json!([]), "a different name is not an invalid row");
        assert_eq!(full_name(&app, &admin, "061211600012").await, "Ким Анна", "{query}");
    }
    let r = upload(&app, Some(&admin), "?update_names=true&dry_run=true", &renamed).await;
    assert_eq!(r.expect(200)["name_changes"], change(true, "name updated"));
    assert_eq!(full_name(&app, &admin, "061211600012").await, "Ким Анна", "a dry run");

    let r = upload(&app, Some(&admin), "?update_names=true", &renamed).await;
    let report = r.expect(200);
    assert_eq!(report["name_changes"], change(true, "name updated"), "{report}");
    assert_eq!(
        (&report["users_created"], &report["users_existing"]),
        (&json!(0), &json!(3))
    );
    assert_eq!(full_name(&app, &admin, "061211600012").await, "Ли Анна");
    assert_eq!(
        full_name(&app, &admin, "791028302728").await,
        "Иванов Иван",
        "others untouched"
    );

    // Now the names agree: nothing to report, nothing changes.
    let r = upload(&app, Some(&admin), "?update_names=true", &renamed).await;
    assert_eq!(r.expect(200)["name_changes"], json!([]));
    upload(&app, Some(&admin), "?update_names=perhaps", &renamed)
        .await
        .expect(422);
}

/// Bootstrap and service accounts (`000000000001`) are no citizens' IINs: outside the import any
/// twelve digits stay an IIN, for creating, finding and logging in.
async fn service_accounts_keep_the_plain_rule_outside_the_import<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    for iin in ["000000000001", "990101300123"] {
        let r = read(
            app.request(Method::POST, "/admin/users/", Some(&admin))
                .json(&json!({"iin": iin, "full_name": "Служебная Запись", "password": "long-enough-1", "role": "teacher"}))
                .send()
                .await
                .expect("request"),
        )
        .await;
        r.expect(200);
        let session = app.login(iin, "long-enough-1").await;
        assert_eq!(session["user"]["iin"], iin);
        assert!(user_exists(&app, &admin, iin).await);
    }
}

/// A CSV as kk-KZ Excel saves it (UTF-8 with a BOM, `;` between cells) with Kazakh headers and the
/// name in three columns; an invalid row is reported with the student's name.
async fn kazakh_headers_in_a_semicolon_csv<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let file = "\u{feff}Топ;ЖСН;Тегі;Аты;Әкесінің аты;Телефон\r\n\
                ПО-23-1;000101300128;Ахметов;Ерлан;Серікұлы;\r\n\
                ПО-23-1;\"000101300138\";Ким;Анна;;+7 701 123 45 67\r\n\
                ПО-23-2;12345;Сейітова;Әсел;;\r\n";
    let r = upload(&app, Some(&admin), "?mode=skip_invalid", file.as_bytes()).await;
    let report = r.expect(200);
    assert_eq!(report["users_created"], 2, "{report}");
    assert_eq!(report["errors"][0]["row"], 4, "{report}");
    assert_eq!(report["errors"][0]["full_name"], "Сейітова Әсел", "{report}");
    let r = get(&app, "/user/by-iin/000101300128", Some(&admin)).await;
    assert_eq!(r.expect(200)["full_name"], "Ахметов Ерлан Серікұлы");
    assert_eq!(
        groups(&app, &admin).await,
        vec![(
            "ПО-23-1".to_owned(),
            vec!["000101300128".to_owned(), "000101300138".to_owned()]
        )]
    );
    // A group named in another case (or spacing) is the same group.
    let file =
        "Группа,ИИН,ФИО\nпо-23-1 ,000101300148,Ким Виктор\nПО-23-3,000101300158,Ли Ая\nпо-23-3,000101300168,Ли Юн\n";
    let r = upload(&app, Some(&admin), "", file.as_bytes()).await;
    let report = r.expect(200);
    assert_eq!(report["groups_created"], json!(["ПО-23-3"]), "{report}");
    let names: Vec<String> = groups(&app, &admin).await.into_iter().map(|(g, _)| g).collect();
    assert_eq!(names, ["ПО-23-1", "ПО-23-3"]);
}

/// Subject id → the IIN of its teacher, from the administrator's overview.
async fn teachers_of_subjects<S: Store>(
    app: &TestApp<S>,
    admin: &Actor,
) -> std::collections::BTreeMap<i64, Option<String>> {
    let r = get(app, "/access/access-overview", Some(admin)).await;
    let mut out = std::collections::BTreeMap::new();
    for module in r.expect(200)["modules"].as_array().expect("modules") {
        for s in module["subjects"].as_array().expect("subjects") {
            let id = s["subject_id"].as_i64().expect("subject id");
            out.insert(id, s["teacher"]["iin"].as_str().map(str::to_owned));
        }
    }
    out
}

/// `POST /admin/teachers/upload-excel`: teachers made with first passwords and given the subjects
/// their rows name (`Module / Subject` where a title repeats); a subject taught by someone else is
/// handed over and reported; unknown subjects and IINs of students are row errors; only an
/// administrator may import; a re-import changes nothing.
async fn teachers_are_imported_with_their_subjects<S: Store>(app: TestApp<S>) {
    use edu_tests::{assign, new_module, new_subject};
    const TEACHERS: &str = "/admin/teachers/upload-excel";
    let admin = app.admin().await;
    let sitting = app.teacher().await;
    let student = app.user(edu_core::Role::Student).await;
    let ma = new_module(&app, &admin, "Модуль А").await;
    let mb = new_module(&app, &admin, "Модуль Б").await;
    let algebra_a = new_subject(&app, &admin, ma, "Алгебра").await;
    let physics = new_subject(&app, &admin, ma, "Физика").await;
    let algebra_b = new_subject(&app, &admin, mb, "Алгебра").await;
    assign(&app, &admin, &sitting, ma, physics).await;
    let (new1, new2) = (edu_tests::fresh_iin(), edu_tests::fresh_iin());
    let csv = format!(
        "ИИН;ФИО;Телефон;Предметы\r\n\
         {new1};Новый Учитель;+7 702 111 22 33;Модуль А / Алгебра, физика\r\n\
         {};Учитель Б;;модуль б / алгебра\r\n\
         {};Студент;;\r\n\
         {new2};Неизвестный;;Астрономия\r\n",
        sitting.iin, student.iin
    );
    let before = teachers_of_subjects(&app, &admin).await;

    // Guards first.
    upload_to(&app, TEACHERS, Some(&student), "", csv.as_bytes())
        .await
        .expect_error(403, "forbidden");
    upload_to(&app, TEACHERS, Some(&sitting), "", csv.as_bytes())
        .await
        .expect_error(403, "forbidden");

    // All or nothing: two bad rows, each saying why; nothing written.
    let r = upload_to(&app, TEACHERS, Some(&admin), "", csv.as_bytes()).await;
    let body = r.expect(422);
    assert_eq!(body["code"], "import_rejected", "{body}");
    let errors: Vec<(i64, String)> = body["report"]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["row"].as_i64().expect("row"),
                e["message"].as_str().expect("message").to_owned(),
            )
        })
        .collect();
    assert_eq!(errors.len(), 2, "{body}");
    assert_eq!(errors[0].0, 4);
    assert!(errors[0].1.contains("role student"), "{errors:?}");
    assert_eq!(errors[1].0, 5);
    assert!(
        errors[1].1.contains("no subject is titled \"Астрономия\""),
        "{errors:?}"
    );
    assert_eq!(teachers_of_subjects(&app, &admin).await, before);

    // A dry run reports the hand-over and writes nothing.
    let r = upload_to(
        &app,
        TEACHERS,
        Some(&admin),
        "?mode=skip_invalid&dry_run=true",
        csv.as_bytes(),
    )
    .await;
    let report = r.expect(200).clone();
    assert_eq!(report["users_created"], 1);
    assert_eq!(report["users_existing"], 1);
    let assigned = report["subjects_assigned"].as_array().expect("assignments");
    assert_eq!(assigned.len(), 3, "{report}");
    let physics_change = assigned
        .iter()
        .find(|a| a["subject_id"] == physics)
        .expect("physics changes hands");
    assert_eq!(physics_change["iin"], new1.as_str());
    assert_eq!(physics_change["module"], "Модуль А");
    assert!(physics_change["previous_teacher"].is_string(), "{physics_change}");
    assert_eq!(teachers_of_subjects(&app, &admin).await, before);
    assert!(!user_exists(&app, &admin, &new1).await);

    // Imported: the valid rows, in one go.
    let r = upload_to(&app, TEACHERS, Some(&admin), "?mode=skip_invalid", csv.as_bytes()).await;
    let report = r.expect(200).clone();
    assert_eq!(report["applied"], true);
    let creds = report["credentials"].as_array().expect("credentials");
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0]["iin"], new1.as_str());
    assert_eq!(creds[0]["subjects"], json!(["Модуль А / Алгебра", "физика"]));
    let after = teachers_of_subjects(&app, &admin).await;
    assert_eq!(after[&algebra_a].as_deref(), Some(new1.as_str()));
    assert_eq!(after[&physics].as_deref(), Some(new1.as_str()));
    assert_eq!(after[&algebra_b].as_deref(), Some(sitting.iin.as_str()));
    assert!(!user_exists(&app, &admin, &new2).await, "an invalid row makes nobody");
    let password = creds[0]["password"].as_str().expect("a password");
    let login = edu_tests::send(
        app.client
            .post(app.url("/auth/login"))
            .json(&json!({"iin": new1, "password": password})),
    )
    .await;
    let session = login.expect(200);
    assert_eq!(session["user"]["must_change_password"], true);
    assert_eq!(session["user"]["role"], "teacher");

    // The same file again changes nothing.
    let r = upload_to(&app, TEACHERS, Some(&admin), "?mode=skip_invalid", csv.as_bytes()).await;
    let report = r.expect(200).clone();
    assert_eq!(report["users_created"], 0);
    assert!(
        report.get("subjects_assigned").is_none_or(|a| a == &json!([])),
        "{report}"
    );
    assert_eq!(teachers_of_subjects(&app, &admin).await, after);
}
