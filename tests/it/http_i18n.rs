//! Messages in the reader's language over real HTTP, on both backends: `Accept-Language` with
//! q-values picks Russian, Kazakh or English, `EDU_LANG` (here `Options::default_lang`) applies
//! when it names none of them, `code` never changes, and answers say `Content-Language` and
//! `Vary: Accept-Language`.

use edu_core::Store;
use edu_tests::{Actor, Reply, TestApp, send};
use reqwest::Method;
use rust_xlsxwriter::Workbook;
use serde_json::{Value, json};

edu_tests::on_both_backends!(
    wrong_login_in_russian_kazakh_and_english,
    q_values_choose_the_language,
    lockout_counts_minutes_with_plural_forms,
    validation_messages_are_translated,
    not_found_and_forbidden_are_translated,
    import_errors_are_translated_row_by_row,
    success_messages_are_translated_and_other_answers_untouched,
);

edu_tests::on_both_backends_with!(defaults, edu_http::Options::default; without_accept_language_the_default_is_russian);
edu_tests::on_both_backends_with!(kazakh_default, super::super::kazakh_default; edu_lang_applies_when_no_language_of_ours_is_asked);
edu_tests::on_both_backends_with!(small_bodies, super::super::small_bodies; too_large_bodies_are_told_in_megabytes_and_kilobytes);

fn kazakh_default() -> edu_http::Options {
    edu_http::Options {
        default_lang: edu_http::Lang::Kk,
        ..edu_http::Options::default()
    }
}

fn small_bodies() -> edu_http::Options {
    edu_http::Options {
        max_body: 1024,
        ..edu_http::Options::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// A request with this `Accept-Language` (none at all when `None`: the harness's client sends
/// `en` by default, so this one is built bare).
async fn call_in<S: Store>(
    app: &TestApp<S>,
    lang: Option<&str>,
    method: Method,
    path: &str,
    who: Option<&Actor>,
    body: Option<Value>,
) -> Reply {
    let client = match lang {
        Some(_) => app.client.clone(),
        None => edu_tests::http().build().expect("http client"),
    };
    let mut req = client.request(method, app.url(path));
    if let Some(lang) = lang {
        req = req.header("accept-language", lang);
    }
    if let Some(who) = who {
        req = req.header("authorization", who.bearer());
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    send(req).await
}

/// A failed login: an unknown IIN answers like a wrong password, and a fresh one is never locked.
async fn wrong_login<S: Store>(app: &TestApp<S>, lang: Option<&str>) -> Reply {
    login_in(app, lang, &edu_tests::fresh_iin(), "wrong-password").await
}

async fn login_in<S: Store>(app: &TestApp<S>, lang: Option<&str>, iin: &str, password: &str) -> Reply {
    let body = json!({"iin": iin, "password": password});
    call_in(app, lang, Method::POST, "/auth/login", None, Some(body)).await
}

/// Asserts an error told in `lang` (`Content-Language`, `Vary`), and returns its detail.
#[track_caller]
fn told(r: &Reply, status: u16, code: &str, lang: &str) -> String {
    let detail = r.expect_error(status, code).to_owned();
    assert_eq!(r.header("content-language"), Some(lang), "{detail}");
    assert!(
        r.headers.get_all("vary").iter().any(|v| v
            .to_str()
            .is_ok_and(|v| v.to_ascii_lowercase().contains("accept-language"))),
        "Vary names Accept-Language: {:?}",
        r.headers
    );
    detail
}

// ---------------------------------------------------------------------------------------------
// Tests

async fn wrong_login_in_russian_kazakh_and_english<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    for (asked, lang, want) in [
        ("ru", "ru", "Неверный ИИН или пароль"),
        ("ru-RU", "ru", "Неверный ИИН или пароль"),
        ("kk", "kk", "ЖСН немесе құпиясөз қате"),
        ("kk-KZ", "kk", "ЖСН немесе құпиясөз қате"),
        ("kz", "kk", "ЖСН немесе құпиясөз қате"),
        ("en", "en", "incorrect IIN or password"),
        ("en-US,en;q=0.9", "en", "incorrect IIN or password"),
    ] {
        let r = wrong_login(&app, Some(asked)).await;
        // The code is the same whatever the language: programs read it, people read the detail.
        assert_eq!(told(&r, 401, "unauthorized", lang), want, "Accept-Language: {asked}");
    }
    // An unknown IIN answers exactly like a wrong password, in every language.
    for asked in ["ru", "kk", "en"] {
        let known = login_in(&app, Some(asked), &student.iin, "wrong-password").await;
        let unknown = login_in(&app, Some(asked), &edu_tests::fresh_iin(), "wrong-password").await;
        assert_eq!(known.body, unknown.body, "{asked}");
    }
}

async fn q_values_choose_the_language<S: Store>(app: TestApp<S>) {
    for (asked, lang) in [
        ("en;q=0.3, kk;q=0.9, ru;q=0.5", "kk"),
        ("de-DE, fr;q=0.9, ru;q=0.2", "ru"),
        ("de, en;q=0.1", "en"),
        ("kk;q=0.5, en;q=0.5", "kk"),
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
        ("ru;q=0, en;q=0.4", "en"),
        ("de, *;q=0.5", "ru"),
        ("fr", "ru"),
        ("garbage;;;=,", "ru"),
    ] {
        let r = wrong_login(&app, Some(asked)).await;
        told(&r, 401, "unauthorized", lang);
    }
}

async fn without_accept_language_the_default_is_russian<S: Store>(app: TestApp<S>) {
    let r = wrong_login(&app, None).await;
    assert_eq!(told(&r, 401, "unauthorized", "ru"), "Неверный ИИН или пароль");
    let r = call_in(&app, None, Method::GET, "/no/such/route", None, None).await;
    assert_eq!(told(&r, 404, "not_found", "ru"), "Не найдено");
}

async fn edu_lang_applies_when_no_language_of_ours_is_asked<S: Store>(app: TestApp<S>) {
    for asked in [None, Some("de-DE"), Some("*"), Some("fr, *;q=0.1")] {
        let r = wrong_login(&app, asked).await;
        assert_eq!(
            told(&r, 401, "unauthorized", "kk"),
            "ЖСН немесе құпиясөз қате",
            "{asked:?}"
        );
    }
    // A language the client asks for still wins over the deployment's.
    let r = wrong_login(&app, Some("ru")).await;
    assert_eq!(told(&r, 401, "unauthorized", "ru"), "Неверный ИИН или пароль");
}

async fn lockout_counts_minutes_with_plural_forms<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    for _ in 0..4 {
        login_in(&app, Some("en"), &student.iin, "wrong-password").await;
    }
    let fifth = login_in(&app, Some("ru"), &student.iin, "wrong-password").await;
    let detail = told(&fifth, 403, "locked", "ru");
    assert!(detail.ends_with("через 5 минут"), "{detail}");
    assert_eq!(fifth.header("retry-after"), Some("300"));

    // 150 s left: 3 minutes (rounded up); 90 s: 2; under a second: 1, never 0.
    let steps: [(i64, &str, &str, &str); 3] = [
        (150_000, "через 3 минуты", "3 минуттан кейін", "3 minute(s)"),
        (60_000, "через 2 минуты", "2 минуттан кейін", "2 minute(s)"),
        (89_900, "через 1 минуту", "1 минуттан кейін", "1 minute(s)"),
    ];
    for (advance_ms, ru, kk, en) in steps {
        app.fx.clock.advance(chrono::Duration::milliseconds(advance_ms));
        let r = login_in(&app, Some("ru"), &student.iin, &student.password).await;
        let detail = told(&r, 403, "locked", "ru");
        assert!(detail.starts_with("Слишком много неудачных попыток входа"), "{detail}");
        assert!(detail.ends_with(ru), "{detail}");
        let r = login_in(&app, Some("kk"), &student.iin, &student.password).await;
        let detail = told(&r, 403, "locked", "kk");
        assert!(detail.contains(kk), "{detail}");
        let r = login_in(&app, Some("en"), &student.iin, &student.password).await;
        let detail = told(&r, 403, "locked", "en");
        assert!(detail.contains(en), "{detail}");
    }
}

async fn validation_messages_are_translated<S: Store>(app: TestApp<S>) {
    // A malformed IIN, with the count of digits given.
    let r = login_in(&app, Some("ru"), "123", "whatever-password").await;
    assert_eq!(
        told(&r, 422, "validation_error", "ru"),
        "ИИН должен состоять из 12 цифр (введено: 3)"
    );
    let r = login_in(&app, Some("kk"), "123", "whatever-password").await;
    assert_eq!(
        told(&r, 422, "validation_error", "kk"),
        "ЖСН 12 цифрдан тұруы керек (енгізілгені: 3)"
    );
    let r = login_in(&app, Some("kk"), "12345678901x", "whatever-password").await;
    assert_eq!(
        told(&r, 422, "validation_error", "kk"),
        "ЖСН тек цифрлардан тұруы керек"
    );

    // A phone number and a new password that break their rules.
    let student = app.student().await;
    let phone = json!({"phone": "123"});
    let r = call_in(
        &app,
        Some("ru"),
        Method::POST,
        "/user/update-phone",
        Some(&student),
        Some(phone),
    )
    .await;
    assert!(told(&r, 422, "validation_error", "ru").starts_with("Номер телефона должен содержать от 10 до 15 цифр"));
    let change = json!({"old_password": student.password, "new_password": "short"});
    let r = call_in(
        &app,
        Some("ru"),
        Method::PATCH,
        "/user/change-password",
        Some(&student),
        Some(change.clone()),
    )
    .await;
    assert_eq!(
        told(&r, 422, "validation_error", "ru"),
        "Пароль должен содержать не менее 8 символов"
    );
    let r = call_in(
        &app,
        Some("kk"),
        Method::PATCH,
        "/user/change-password",
        Some(&student),
        Some(change),
    )
    .await;
    assert_eq!(
        told(&r, 422, "validation_error", "kk"),
        "Құпиясөз кемінде 8 таңбадан тұруы керек"
    );

    // A text rule naming its field, and a body missing a field.
    let admin = app.admin().await;
    let group = json!({"name": "  "});
    let r = call_in(
        &app,
        Some("ru"),
        Method::POST,
        "/admin/groups/",
        Some(&admin),
        Some(group),
    )
    .await;
    let detail = told(&r, 422, "validation_error", "ru");
    assert!(
        detail.starts_with("Поле «") && detail.contains("от 1 до 100 символов"),
        "{detail}"
    );
    let r = call_in(
        &app,
        Some("ru"),
        Method::POST,
        "/auth/login",
        None,
        Some(json!({"iin": "123456789012"})),
    )
    .await;
    let detail = told(&r, 422, "validation_error", "ru");
    assert!(detail.starts_with("Не заполнено поле «password»"), "{detail}");
}

async fn not_found_and_forbidden_are_translated<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let student = app.student().await;
    for (lang, want) in [
        ("ru", "Группа не найдена"),
        ("kk", "Топ табылмады"),
        ("en", "group not found"),
    ] {
        let r = call_in(
            &app,
            Some(lang),
            Method::GET,
            "/admin/groups/987654",
            Some(&admin),
            None,
        )
        .await;
        assert_eq!(told(&r, 404, "not_found", lang), want);
    }
    for (lang, want) in [("ru", "Не найдено"), ("kk", "Табылмады"), ("en", "not found")] {
        let r = call_in(&app, Some(lang), Method::GET, "/no/such/route", None, None).await;
        assert_eq!(told(&r, 404, "not_found", lang), want);
    }
    for (lang, want) in [
        ("ru", "Нужны права администратора"),
        ("kk", "Әкімші құқығы қажет"),
        ("en", "administrator access required"),
    ] {
        let r = call_in(&app, Some(lang), Method::GET, "/admin/users/", Some(&student), None).await;
        assert_eq!(told(&r, 403, "forbidden", lang), want);
    }
    let r = call_in(&app, Some("kk"), Method::GET, "/auth/check", None, None).await;
    assert_eq!(told(&r, 401, "unauthorized", "kk"), "Жүйеге кіру қажет");
    // A conflict carrying a name.
    let group = json!({"name": "ВТ-11"});
    call_in(
        &app,
        Some("ru"),
        Method::POST,
        "/admin/groups/",
        Some(&admin),
        Some(group.clone()),
    )
    .await
    .expect(200);
    let r = call_in(
        &app,
        Some("ru"),
        Method::POST,
        "/admin/groups/",
        Some(&admin),
        Some(group),
    )
    .await;
    assert_eq!(told(&r, 409, "conflict", "ru"), "Группа \"ВТ-11\" уже существует");
}

async fn too_large_bodies_are_told_in_megabytes_and_kilobytes<S: Store>(app: TestApp<S>) {
    let big = json!({"iin": "123456789012", "password": "x".repeat(4096)});
    for (lang, want) in [
        ("ru", "Запрос слишком большой: допускается не более 1 КБ"),
        ("kk", "Сұрау тым үлкен: ең көбі 1 КБ болуы керек"),
        ("en", "the request body is larger than 1024 bytes"),
    ] {
        let r = call_in(&app, Some(lang), Method::POST, "/auth/login", None, Some(big.clone())).await;
        assert_eq!(told(&r, 413, "payload_too_large", lang), want);
    }
}

/// An xlsx file with one sheet of text cells.
fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if !cell.is_empty() {
                let (r, c) = (u32::try_from(r).expect("row"), u16::try_from(c).expect("column"));
                sheet.write_string(r, c, *cell).expect("write a cell");
            }
        }
    }
    book.save_to_buffer().expect("save the workbook")
}

async fn import_errors_are_translated_row_by_row<S: Store>(app: TestApp<S>) {
    const B: &str = "edu-i18n-boundary";
    let admin = app.admin().await;
    let file = xlsx(&[
        &["Группа", "ИИН", "ФИО"],
        &["A-1", "040506507088", "Хороший Один"],
        &["A-1", "12345678901", "Короткий ИИН"],
        &["A-1", "", "Без ИИН"],
    ]);
    let mut body = format!(
        "--{B}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"s.xlsx\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&file);
    body.extend_from_slice(format!("\r\n--{B}--\r\n").as_bytes());
    let upload = |lang: &'static str| {
        app.client
            .post(app.url("/admin/groups/upload-excel"))
            .header("authorization", admin.bearer())
            .header("accept-language", lang)
            .header("content-type", format!("multipart/form-data; boundary={B}"))
            .body(body.clone())
    };
    let r = send(upload("ru")).await;
    let v = r.expect(422);
    assert_eq!(v["code"], "import_rejected");
    assert_eq!(r.header("content-language"), Some("ru"));
    assert_eq!(v["detail"], "2 строки содержат ошибки; ничего не импортировано");
    assert_eq!(v["report"]["errors"][0]["row"], 3);
    assert_eq!(v["report"]["errors"][0]["message"], "ИИН содержит 11 цифр вместо 12");
    assert_eq!(v["report"]["errors"][1]["message"], "ИИН не указан");

    let r = send(upload("kk")).await;
    let v = r.expect(422);
    assert_eq!(v["code"], "import_rejected");
    assert_eq!(v["detail"], "2 жолда қате бар; ештеңе импортталмады");
    assert_eq!(v["report"]["errors"][0]["message"], "ЖСН 12 емес, 11 цифрдан тұрады");

    let r = send(upload("en")).await;
    assert_eq!(r.expect(422)["detail"], "2 row(s) are invalid; nothing was imported");
}

async fn success_messages_are_translated_and_other_answers_untouched<S: Store>(app: TestApp<S>) {
    let student = app.student().await;
    let r = call_in(&app, Some("kk"), Method::GET, "/", None, None).await;
    assert_eq!(r.expect(200)["message"], "edu платформасының API-іне қош келдіңіз");
    assert_eq!(r.header("content-language"), Some("kk"));

    let new_password = "a-new-password-1";
    let change = json!({"old_password": student.password, "new_password": new_password});
    let r = call_in(
        &app,
        Some("ru"),
        Method::PATCH,
        "/user/change-password",
        Some(&student),
        Some(change),
    )
    .await;
    let body = r.expect(200);
    assert_eq!(body["detail"], "Пароль изменён");
    assert!(
        body["access_token"].is_string(),
        "the rest of the answer is kept: {body}"
    );
    assert_eq!(r.header("content-language"), Some("ru"));

    // Answers without text for people are passed through: no language, no Vary on it.
    let login = login_in(&app, Some("ru"), &student.iin, new_password).await;
    assert!(login.expect(200)["access_token"].is_string());
    assert_eq!(login.header("content-language"), None);
    assert!(
        !login
            .headers
            .get_all("vary")
            .iter()
            .any(|v| v.to_str().is_ok_and(|v| v.contains("accept-language"))),
        "{:?}",
        login.headers
    );
}
