//! The old web frontend's administration, test and import screens against edu, over real HTTP on
//! both backends: whole lists without a limit, the old status codes, the old answer keys, and the
//! legacy first passwords as a deployment setting.

use edu_core::Store;
use edu_core::import::InitialPasswords;
use edu_tests::{
    Actor, Reply, TestApp, add_members, assign, call, fresh_iin, get, link, new_group, new_module, new_subject, read,
    send,
};
use reqwest::Method;
use rust_xlsxwriter::Workbook;
use serde_json::{Value, json};

edu_tests::on_both_backends!(
    admin_lists_are_whole_without_a_limit,
    creates_answer_200_and_deleting_a_test_204,
    submitting_a_test_answers_the_old_result,
    test_options_carry_their_ids_and_students_still_get_no_key,
    member_changes_answer_the_group,
    access_links_answer_the_module_and_the_subject_with_lessons,
    module_details_have_teachers_and_groups,
    access_overview_has_the_old_shape,
    modules_with_teachers_give_a_numeric_course,
    the_import_keeps_a_message_and_random_passwords_by_default,
);

/// A module with a subject taught by a teacher, linked to a group with a student in it.
struct School {
    admin: Actor,
    teacher: Actor,
    student: Actor,
    module: i64,
    subject: i64,
    group: i64,
}

async fn school<S: Store>(app: &TestApp<S>) -> School {
    let admin = app.admin().await;
    let teacher = app.teacher().await;
    let student = app.student().await;
    let group = new_group(app, &admin, "ИС-21").await;
    add_members(app, &admin, group, &[student.id]).await;
    let module = new_module(app, &admin, "Программирование").await;
    let subject = new_subject(app, &admin, module, "Алгоритмы").await;
    assign(app, &admin, &teacher, module, subject).await;
    link(app, &admin, group, module).await;
    School {
        admin,
        teacher,
        student,
        module,
        subject,
        group,
    }
}

fn total(r: &Reply) -> i64 {
    r.header("x-total-count")
        .expect("X-Total-Count")
        .parse()
        .expect("a number")
}

fn len(r: &Reply) -> usize {
    r.expect(200).as_array().map_or(0, Vec::len)
}

async fn admin_lists_are_whole_without_a_limit<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    // More than the 100 a page used to hold, created as the admin screens do.
    for n in 0..121 {
        call(
            &app,
            Method::POST,
            "/admin/users/",
            Some(&admin),
            Some(json!({"iin": fresh_iin(), "full_name": format!("Студент {n}"), "password": "first-pass-1"})),
        )
        .await
        .expect(200);
    }
    for n in 0..105 {
        new_group(&app, &admin, &format!("Группа {n:03}")).await;
    }
    // The frontend asks `/admin/users` and `/admin/groups` without a slash or parameters.
    for path in ["/admin/users", "/admin/users/"] {
        let r = get(&app, path, Some(&admin)).await;
        assert_eq!(len(&r), 122, "{path}: every user, as the old backend answered");
        assert_eq!(total(&r), 122);
    }
    for path in ["/admin/groups", "/admin/groups/"] {
        let r = get(&app, path, Some(&admin)).await;
        assert_eq!(len(&r), 105, "{path}: every group");
        assert_eq!(total(&r), 105);
    }
    // Paging when asked for, the limit clamped.
    let r = get(&app, "/admin/users/?limit=10&offset=5", Some(&admin)).await;
    assert_eq!((len(&r), total(&r)), (10, 122));
    let r = get(&app, "/admin/groups/?limit=7&offset=100", Some(&admin)).await;
    assert_eq!((len(&r), total(&r)), (5, 105));
    let r = get(&app, "/admin/groups/?offset=100", Some(&admin)).await;
    assert_eq!(len(&r), 5, "an offset alone: the rest of the list");
    let r = get(&app, "/admin/groups/?limit=0", Some(&admin)).await;
    assert_eq!(len(&r), 1, "a limit below 1 is clamped to 1");
    get(&app, "/admin/groups/?limit=abc", Some(&admin))
        .await
        .expect_error(422, "validation_error");
    let student = app.student().await;
    get(&app, "/admin/groups/?limit=abc", Some(&student))
        .await
        .expect_error(403, "forbidden");
}

async fn creates_answer_200_and_deleting_a_test_204<S: Store>(app: TestApp<S>) {
    let s = school(&app).await;
    // The four creates the old backend answered with 200 (FastAPI's default).
    let user = call(
        &app,
        Method::POST,
        "/admin/users/",
        Some(&s.admin),
        Some(json!({"iin": fresh_iin(), "full_name": "Новый Учитель", "password": "first-pass-1", "role": "teacher"})),
    )
    .await;
    assert!(user.expect(200)["id"].is_i64());
    let group = call(
        &app,
        Method::POST,
        "/admin/groups",
        Some(&s.admin),
        Some(json!({"name": "ИС-99"})),
    )
    .await;
    assert_eq!(group.expect(200)["name"], "ИС-99");
    let module = call(
        &app,
        Method::POST,
        "/admin/modules",
        Some(&s.admin),
        Some(json!({"title": "Сети", "course": "2", "description": ""})),
    )
    .await;
    let module_id = module.id();
    assert_eq!(module.expect(200)["course"], "2");
    let subject = call(
        &app,
        Method::POST,
        &format!("/admin/modules/{module_id}/subjects"),
        Some(&s.admin),
        Some(json!({"title": "Маршрутизация"})),
    )
    .await;
    assert_eq!(subject.expect(200)["lessons"], json!([]));
    // Conflicts stay 409.
    call(
        &app,
        Method::POST,
        "/admin/groups/",
        Some(&s.admin),
        Some(json!({"name": "ИС-99"})),
    )
    .await
    .expect_error(409, "conflict");
    call(
        &app,
        Method::POST,
        &format!("/admin/modules/{module_id}/subjects"),
        Some(&s.admin),
        Some(json!({"title": "МАРШРУТИЗАЦИЯ"})),
    )
    .await
    .expect_error(409, "conflict");

    // DELETE /tests/{id}: 204 without a body, which the frontend's helper turns into null.
    let test = create_test(&app, &s.teacher, s.subject, None).await;
    let r = call(&app, Method::DELETE, &format!("/tests/{test}"), Some(&s.teacher), None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(r.bytes.is_empty(), "no body");
    call(&app, Method::DELETE, &format!("/tests/{test}"), Some(&s.teacher), None)
        .await
        .expect_error(404, "not_found");

    // The OpenAPI document says the same.
    let doc = get(&app, "/openapi.json", None).await;
    let doc = doc.expect(200);
    for (path, method, status) in [
        ("/admin/users/", "post", "200"),
        ("/admin/groups/", "post", "200"),
        ("/admin/modules/", "post", "200"),
        ("/admin/modules/{id}/subjects", "post", "200"),
        ("/tests/{id}", "delete", "204"),
    ] {
        let responses = &doc["paths"][path][method]["responses"];
        assert!(responses.get(status).is_some(), "{method} {path}: {responses}");
        assert!(responses.get("201").is_none(), "{method} {path}: {responses}");
    }
    assert!(doc["paths"]["/tests/{id}"]["delete"]["responses"].get("200").is_none());
}

/// A test of two single-choice questions (option 1 right), optionally in a lesson; returns its id.
async fn create_test<S: Store>(app: &TestApp<S>, teacher: &Actor, subject: i64, lesson: Option<i64>) -> i64 {
    // The old frontend's editor sends exactly this.
    let r = call(
        app,
        Method::POST,
        "/tests/create",
        Some(teacher),
        Some(json!({
            "title": "Контрольная",
            "subject_id": subject,
            "lesson_id": lesson,
            "questions": [
                {"question_text": "2 + 2?", "correct_option_index": 1,
                 "options": [{"option_text": "3", "option_index": 0}, {"option_text": "4", "option_index": 1}]},
                {"question_text": "Столица?", "correct_option_index": 1,
                 "options": [{"option_text": "Алматы", "option_index": 0}, {"option_text": "Астана", "option_index": 1}]}
            ]
        })),
    )
    .await;
    r.expect(200);
    r.id()
}

/// A lesson of type "Тест" showing `test`, as the teacher's lesson form creates it.
async fn test_lesson<S: Store>(app: &TestApp<S>, teacher: &Actor, subject: i64, test: i64) -> i64 {
    let r = call(
        app,
        Method::POST,
        &format!("/lessons/add/subjects/{subject}"),
        Some(teacher),
        Some(json!({"title": "Контрольная", "type": "test", "test_id": test})),
    )
    .await;
    r.expect(200);
    r.id()
}

async fn submitting_a_test_answers_the_old_result<S: Store>(app: TestApp<S>) {
    let s = school(&app).await;
    let test = create_test(&app, &s.teacher, s.subject, None).await;
    let lesson = test_lesson(&app, &s.teacher, s.subject, test).await;
    let view = get(&app, &format!("/tests/{test}"), Some(&s.student)).await;
    let questions: Vec<i64> = view.expect(200)["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .map(|q| q["id"].as_i64().expect("question id"))
        .collect();
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    let r = call(
        &app,
        Method::POST,
        "/tests/submit",
        Some(&s.student),
        Some(json!({"test_id": test, "answers": [
            {"question_id": questions[0], "selected_index": 1},
            {"question_id": questions[1], "selected_index": 0}
        ]})),
    )
    .await;
    let body = r.expect(200);
    // The old `Result`: the test page navigates to `/lesson/{lesson_id}?score=true`.
    assert_eq!(body["lesson_id"], lesson, "{body}");
    assert_eq!(body["user_id"], s.student.id, "{body}");
    assert_eq!(body["test_id"], test, "{body}");
    assert_eq!(body["score"].as_f64(), Some(50.0), "{body}");
    let id = body["id"].as_i64().expect("the result's id");
    assert_eq!(body["attempt_id"], id, "edu's name for the same id");
    let at: chrono::DateTime<chrono::Utc> = body["submitted_at"]
        .as_str()
        .expect("submitted_at")
        .parse()
        .expect("a timestamp");
    assert!(
        at >= before && at <= chrono::Utc::now() + chrono::Duration::seconds(5),
        "{at}"
    );
    // The teacher's list has the same result.
    let results = get(&app, &format!("/lessons/{lesson}/submissions/tests"), Some(&s.teacher)).await;
    let results = results.expect(200).as_array().expect("results").clone();
    assert!(results.iter().any(|r| r["id"] == id), "{results:?}");
}

/// Every key anywhere in a JSON value.
fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

fn option_ids(test: &Value) -> Vec<i64> {
    test["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .flat_map(|q| q["options"].as_array().expect("options").clone())
        .map(|o| o["id"].as_i64().unwrap_or_else(|| panic!("an option without id: {o}")))
        .collect()
}

async fn test_options_carry_their_ids_and_students_still_get_no_key<S: Store>(app: TestApp<S>) {
    let s = school(&app).await;
    let created = call(
        &app,
        Method::POST,
        "/tests/create",
        Some(&s.teacher),
        Some(json!({"title": "T", "subject_id": s.subject, "questions": [
            {"question_text": "?", "correct_option_index": 0,
             "options": [{"option_text": "a", "option_index": 0}, {"option_text": "b", "option_index": 1}]}
        ]})),
    )
    .await;
    let test = created.id();
    let ids = option_ids(created.expect(200));
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1], "distinct ids");

    let teacher_view = get(&app, &format!("/tests/{test}"), Some(&s.teacher)).await;
    assert_eq!(option_ids(teacher_view.expect(200)), ids);
    assert_eq!(teacher_view.body["questions"][0]["correct_option_index"], 0);

    let student_view = get(&app, &format!("/tests/{test}"), Some(&s.student)).await;
    assert_eq!(option_ids(student_view.expect(200)), ids);
    let mut seen = Vec::new();
    keys(&student_view.body, &mut seen);
    for secret in ["is_correct", "correct_option_index", "correct_option_indexes"] {
        assert!(
            !seen.iter().any(|k| k == secret),
            "a student got {secret}: {}",
            student_view.body
        );
    }

    let listed = get(&app, &format!("/tests/by-subject/{}", s.subject), Some(&s.student)).await;
    let listed = listed.expect(200).as_array().expect("tests").clone();
    assert_eq!(option_ids(&listed[0]), ids);
    let mut seen = Vec::new();
    keys(&Value::Array(listed), &mut seen);
    assert!(!seen.iter().any(|k| k == "is_correct" || k.starts_with("correct_")));

    let updated = call(
        &app,
        Method::PUT,
        &format!("/tests/{test}"),
        Some(&s.teacher),
        Some(
            json!({"title": "T2", "subject_id": s.subject, "lesson_id": null, "questions": [
                {"question_text": "?", "correct_option_index": 1,
                 "options": [{"option_text": "a", "option_index": 0}, {"option_text": "b", "option_index": 1},
                             {"option_text": "c", "option_index": 2}]}
            ]}),
        ),
    )
    .await;
    assert_eq!(option_ids(updated.expect(200)).len(), 3);
}

async fn member_changes_answer_the_group<S: Store>(app: TestApp<S>) {
    let s = school(&app).await;
    let other = app.student().await;
    let r = call(
        &app,
        Method::POST,
        &format!("/admin/groups/{}/users", s.group),
        Some(&s.admin),
        Some(json!([other.id])),
    )
    .await;
    let body = r.expect(200);
    assert_eq!(body["id"], s.group, "{body}");
    assert_eq!(body["name"], "ИС-21");
    assert!(body.get("description").is_some(), "{body}");
    assert_eq!(body["added"], 1);
    let r = call(
        &app,
        Method::DELETE,
        &format!("/admin/groups/{}/users/{}", s.group, other.id),
        Some(&s.admin),
        None,
    )
    .await;
    let body = r.expect(200);
    assert_eq!(body["id"], s.group, "{body}");
    assert_eq!(body["name"], "ИС-21");
    assert!(body.get("description").is_some(), "{body}");
    let members = get(&app, &format!("/admin/groups/{}/users", s.group), Some(&s.admin)).await;
    assert_eq!(len(&members), 1);
}

async fn access_links_answer_the_module_and_the_subject_with_lessons<S: Store>(app: TestApp<S>) {
    let s = school(&app).await;
    call(
        &app,
        Method::POST,
        &format!("/lessons/add/subjects/{}", s.subject),
        Some(&s.teacher),
        Some(json!({"title": "Введение", "type": "video", "content_url": "https://media.example/intro"})),
    )
    .await
    .expect(200);
    let other_group = new_group(&app, &s.admin, "ИС-22").await;
    for expected_new in [true, false] {
        let r = call(
            &app,
            Method::POST,
            "/access/admin/group-to-module",
            Some(&s.admin),
            Some(json!({"group_id": other_group, "module_id": s.module})),
        )
        .await;
        let body = r.expect(200);
        assert_eq!(body["id"], s.module, "{body}");
        assert_eq!(body["title"], "Программирование");
        for key in ["course", "description", "created_at"] {
            assert!(body.get(key).is_some(), "{key} in {body}");
        }
        assert_eq!(body["subjects"][0]["id"], s.subject, "{body}");
        assert_eq!(body["subjects"][0]["module_id"], s.module);
        assert!(body["subjects"][0]["lessons"].is_array(), "{body}");
        assert_eq!(body["created"], expected_new);
    }

    let teacher = app.teacher().await;
    let r = call(
        &app,
        Method::POST,
        "/access/admin/teacher-to-subject",
        Some(&s.admin),
        Some(json!({"teacher_iin": teacher.iin, "module_id": s.module, "subject_id": s.subject})),
    )
    .await;
    let body = r.expect(200);
    assert_eq!(body["id"], s.subject, "{body}");
    assert_eq!(body["module_id"], s.module);
    assert_eq!(body["teacher_id"], teacher.id);
    assert_eq!(body["title"], "Алгоритмы");
    assert_eq!(body["lessons"][0]["title"], "Введение", "{body}");

    let r = get(&app, "/access/teacher-subjects", Some(&teacher)).await;
    let subjects = r.expect(200).as_array().expect("subjects").clone();
    assert_eq!(subjects.len(), 1);
    assert_eq!(subjects[0]["id"], s.subject);
    assert_eq!(subjects[0]["module_id"], s.module);
    assert_eq!(subjects[0]["teacher_id"], teacher.id);
    assert_eq!(subjects[0]["lessons"][0]["title"], "Введение");
    let r = get(&app, "/access/teacher-subjects", Some(&s.teacher)).await;
    assert_eq!(len(&r), 0, "the subject has another teacher now");
    get(&app, "/access/teacher-subjects", Some(&s.student))
        .await
        .expect_error(403, "forbidden");
}

async fn module_details_have_teachers_and_groups<S: Store>(app: TestApp<S>) {
    let s = school(&app).await;
    let path = format!("/admin/modules/{}", s.module);
    let r = get(&app, &path, Some(&s.admin)).await;
    let body = r.expect(200);
    assert_eq!(body["id"], s.module);
    assert_eq!(body["subjects"][0]["id"], s.subject, "{body}");
    assert_eq!(body["teachers"][0]["id"], s.teacher.id, "{body}");
    assert_eq!(body["teachers"][0]["iin"], s.teacher.iin.as_str());
    assert!(body["teachers"][0]["full_name"].is_string());
    assert_eq!(body["teachers"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["groups"][0]["id"], s.group, "{body}");
    assert_eq!(body["groups"][0]["name"], "ИС-21");
    let r = get(&app, &path, Some(&s.teacher)).await;
    assert_eq!(r.expect(200)["groups"][0]["id"], s.group);
    // A student sees the module, not which other groups share it.
    let r = get(&app, &path, Some(&s.student)).await;
    assert_eq!(r.expect(200)["groups"], json!([]));
    assert_eq!(r.body["teachers"][0]["id"], s.teacher.id);
    let outsider = app.student().await;
    get(&app, &path, Some(&outsider)).await.expect_error(404, "not_found");
}

async fn access_overview_has_the_old_shape<S: Store>(app: TestApp<S>) {
    let s = school(&app).await;
    let empty = new_module(&app, &s.admin, "Пустой").await;
    let r = get(&app, "/access/access-overview", Some(&s.admin)).await;
    let body = r.expect(200);
    let modules = body["modules"].as_array().expect("{modules: [...]}");
    assert_eq!(modules.len(), 2);
    let m = modules.iter().find(|m| m["module_id"] == s.module).expect("the module");
    assert_eq!(m["module_title"], "Программирование");
    assert_eq!(
        m["groups"],
        json!([{
            "id": s.group, "name": "ИС-21", "title": "ИС-21",
            "description": null, "created_at": m["groups"][0]["created_at"], "member_count": 1
        }])
    );
    let subject = &m["subjects"][0];
    assert_eq!(subject["subject_id"], s.subject, "{m}");
    assert_eq!(subject["title"], "Алгоритмы");
    assert_eq!(subject["teacher"]["id"], s.teacher.id);
    assert!(subject["teacher"]["full_name"].is_string());
    let e = modules
        .iter()
        .find(|m| m["module_id"] == empty)
        .expect("the empty module");
    assert_eq!((&e["groups"], &e["subjects"]), (&json!([]), &json!([])));
    let unassigned = new_subject(&app, &s.admin, empty, "Без учителя").await;
    let r = get(&app, "/access/access-overview", Some(&s.admin)).await;
    let e = r.expect(200)["modules"]
        .as_array()
        .expect("modules")
        .iter()
        .find(|m| m["module_id"] == empty)
        .expect("the empty module")
        .clone();
    assert_eq!(e["subjects"][0]["subject_id"], unassigned);
    assert_eq!(e["subjects"][0]["teacher"], Value::Null);
    get(&app, "/access/access-overview", Some(&s.teacher))
        .await
        .expect_error(403, "forbidden");
}

async fn modules_with_teachers_give_a_numeric_course<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let mut ids = Vec::new();
    for course in [json!("2"), json!(3), json!("2 курс"), Value::Null] {
        let r = call(
            &app,
            Method::POST,
            "/admin/modules/",
            Some(&admin),
            Some(json!({"title": format!("M {course}"), "course": course})),
        )
        .await;
        r.expect(200);
        ids.push(r.id());
    }
    let r = get(&app, "/admin/modules/with-teachers", Some(&admin)).await;
    let modules = r.expect(200).as_array().expect("modules").clone();
    let course = |id: i64| {
        modules
            .iter()
            .find(|m| m["id"] == id)
            .map(|m| m["course"].clone())
            .expect("listed")
    };
    assert_eq!(course(ids[0]), json!(2), "a whole number is a number, as before");
    assert_eq!(course(ids[1]), json!(3));
    assert_eq!(course(ids[2]), json!("2 курс"), "free text stays text");
    assert_eq!(course(ids[3]), Value::Null);
    // Elsewhere the course is the text it was created with.
    let r = get(&app, &format!("/admin/modules/{}", ids[0]), Some(&admin)).await;
    assert_eq!(r.expect(200)["course"], "2");
}

/// An xlsx file with one sheet of text cells.
fn sheet(rows: &[Vec<String>]) -> Vec<u8> {
    let mut book = Workbook::new();
    let ws = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let (r, c) = (u32::try_from(r).expect("row"), u16::try_from(c).expect("column"));
            ws.write_string(r, c, cell.as_str()).expect("write a cell");
        }
    }
    book.save_to_buffer().expect("save the workbook")
}

fn roster(group: &str, students: usize) -> (Vec<String>, Vec<u8>) {
    let iins: Vec<String> = (0..students).map(|_| fresh_iin()).collect();
    let mut rows = vec![vec!["Группа".to_owned(), "ИИН".to_owned(), "ФИО".to_owned()]];
    for (n, iin) in iins.iter().enumerate() {
        rows.push(vec![group.to_owned(), iin.clone(), format!("Студент Номер {n}")]);
    }
    (iins, sheet(&rows))
}

/// The old UI posts the file as `file` and reads nothing but the status.
async fn upload<S: Store>(app: &TestApp<S>, admin: &Actor, query: &str, file: &[u8]) -> Reply {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(file.to_vec()).file_name("group.xlsx"),
    );
    let res = app
        .request(Method::POST, &format!("/admin/groups/upload-excel{query}"), Some(admin))
        .multipart(form)
        .send()
        .await
        .expect("request");
    read(res).await
}

async fn the_import_keeps_a_message_and_random_passwords_by_default<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let (iins, file) = roster("ИС-31", 2);
    let r = upload(&app, &admin, "", &file).await;
    let body = r.expect(200);
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert_eq!(body["users_created"], 2);
    for c in body["credentials"].as_array().expect("credentials") {
        let iin = c["iin"].as_str().expect("iin");
        assert!(iins.iter().any(|i| i == iin));
        let legacy = format!("{}{}", &iin[..3], &iin[9..]);
        assert_ne!(c["password"], legacy.as_str(), "random unless asked");
        assert_eq!(app.post_login(iin, &legacy).await.status(), 401);
        let session = app.login(iin, c["password"].as_str().expect("password")).await;
        assert_eq!(session["user"]["must_change_password"], true);
    }
    // An explicit `random` overrides nothing and is accepted.
    let (_, file) = roster("ИС-32", 1);
    upload(&app, &admin, "?passwords=random", &file).await.expect(200);
}

/// With `EDU_IMPORT_PASSWORDS=legacy` (here: the platform setting it becomes), the old UI's import
/// gives the old first passwords, to be changed at first login; `?passwords=random` still wins.
async fn legacy_passwords_by_deployment_setting<S: Store>(app: TestApp<S>) {
    let admin = app.admin().await;
    let (iins, file) = roster("ИС-41", 3);
    let r = upload(&app, &admin, "", &file).await;
    assert!(r.expect(200)["message"].is_string());
    for iin in &iins {
        let legacy = format!("{}{}", &iin[..3], &iin[9..]);
        let session = app.login(iin, &legacy).await;
        assert_eq!(session["user"]["must_change_password"], true, "{session}");
        // The student changes it, as the frontend asks at first login.
        let changed = send(
            app.client
                .patch(app.url("/user/change-password"))
                .bearer_auth(session["access_token"].as_str().expect("token"))
                .json(&json!({"old_password": legacy, "new_password": "my-own-password"})),
        )
        .await;
        changed.expect(200);
        app.login(iin, "my-own-password").await;
    }
    let (iins, file) = roster("ИС-42", 1);
    let r = upload(&app, &admin, "?passwords=random", &file).await;
    let password = r.expect(200)["credentials"][0]["password"]
        .as_str()
        .expect("password")
        .to_owned();
    let legacy = format!("{}{}", &iins[0][..3], &iins[0][9..]);
    assert_ne!(password, legacy);
    app.login(&iins[0], &password).await;
}

async fn with_legacy_imports<S: Store>(mut fx: edu_core::conformance::Fixture<S>) -> TestApp<S> {
    fx.config.import_passwords = InitialPasswords::Legacy;
    fx.platform = fx.second_process().await;
    TestApp::spawn(fx).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_passwords_by_deployment_setting_sqlite() {
    let Some(fx) = edu_tests::sqlite_fixture().await else {
        return;
    };
    legacy_passwords_by_deployment_setting(with_legacy_imports(fx).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_passwords_by_deployment_setting_postgres() {
    let Some(fx) = edu_tests::pg_fixture().await else {
        return;
    };
    legacy_passwords_by_deployment_setting(with_legacy_imports(fx).await).await;
}
