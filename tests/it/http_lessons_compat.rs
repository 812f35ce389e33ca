//! The previous web frontend against edu, on both backends: the exact requests its lesson,
//! homework, test and grade pages send, and the keys and values they read back (type labels,
//! each lesson's `result`, the old file paths, the grade list's vocabulary).

use edu_core::Store;
use edu_tests::{
    Actor, PDF, PNG, Reply, TestApp, add_members, assign, call, get, link, new_group, new_module, new_subject, send,
};
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

edu_tests::on_both_backends!(
    the_old_lesson_form_adds_every_type,
    a_test_lesson_links_the_test_its_content_url_names,
    every_lesson_answer_carries_the_readers_best_result,
    the_grade_list_speaks_the_old_vocabulary,
    submissions_answer_in_the_old_shape,
    lesson_documents_by_their_old_paths,
    imported_files_are_found_by_their_old_paths_with_the_same_checks,
);

struct Class {
    admin: Actor,
    teacher: Actor,
    other_teacher: Actor,
    student: Actor,
    classmate: Actor,
    outsider: Actor,
    module: i64,
    subject: i64,
    other_subject: i64,
}

async fn class<S: Store>(app: &TestApp<S>) -> Class {
    let admin = app.admin().await;
    let (teacher, other_teacher) = (app.teacher().await, app.teacher().await);
    let (student, classmate, outsider) = (app.student().await, app.student().await, app.student().await);
    let group = new_group(app, &admin, "ВТ-11").await;
    let other_group = new_group(app, &admin, "ВТ-12").await;
    add_members(app, &admin, group, &[student.id, classmate.id]).await;
    add_members(app, &admin, other_group, &[outsider.id]).await;
    let module = new_module(app, &admin, "Информатика").await;
    let other_module = new_module(app, &admin, "Физика").await;
    let subject = new_subject(app, &admin, module, "Алгоритмы").await;
    let other_subject = new_subject(app, &admin, other_module, "Оптика").await;
    assign(app, &admin, &teacher, module, subject).await;
    assign(app, &admin, &other_teacher, other_module, other_subject).await;
    link(app, &admin, group, module).await;
    link(app, &admin, other_group, other_module).await;
    Class {
        admin,
        teacher,
        other_teacher,
        student,
        classmate,
        outsider,
        module,
        subject,
        other_subject,
    }
}

// ---------------------------------------------------------------------------------------------
// Requests as the previous frontend makes them

/// `LessonModal.jsx`: `POST /lessons/add/subjects/{id}` with `{title, type, content_url, description}`.
async fn add_lesson<S: Store>(app: &TestApp<S>, who: &Actor, subject: i64, body: Value) -> Reply {
    call(
        app,
        Method::POST,
        &format!("/lessons/add/subjects/{subject}"),
        Some(who),
        Some(body),
    )
    .await
}

/// `TestCreatePage.jsx`: two single-answer questions (the second answer is option 0 of each).
async fn new_test<S: Store>(app: &TestApp<S>, who: &Actor, subject: i64, extra: Value) -> (i64, [i64; 2]) {
    let mut body = json!({
        "title": "Контрольная",
        "subject_id": subject,
        "questions": [
            {"question_text": "2 + 2?", "correct_option_index": 1,
             "options": [{"option_text": "3", "option_index": 0}, {"option_text": "4", "option_index": 1}]},
            {"question_text": "Столица?", "correct_option_index": 0,
             "options": [{"option_text": "Астана", "option_index": 0}, {"option_text": "Алматы", "option_index": 1}]}
        ]
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let r = call(app, Method::POST, "/tests/create", Some(who), Some(body)).await;
    let q = r.expect(200)["questions"].as_array().expect("questions").clone();
    (
        r.id(),
        [q[0]["id"].as_i64().expect("id"), q[1]["id"].as_i64().expect("id")],
    )
}

/// `TestPage.jsx`: `POST /tests/submit`; `right` answers correct out of two.
async fn take<S: Store>(app: &TestApp<S>, who: &Actor, test: i64, q: [i64; 2], right: usize) -> Value {
    let answers = json!([
        {"question_id": q[0], "selected_index": 1},
        {"question_id": q[1], "selected_index": if right == 2 { 0 } else { 1 }}
    ]);
    let answers = if right == 0 {
        json!([{"question_id": q[0], "selected_index": 0}, {"question_id": q[1], "selected_index": 1}])
    } else {
        answers
    };
    let r = call(
        app,
        Method::POST,
        "/tests/submit",
        Some(who),
        Some(json!({"test_id": test, "answers": answers})),
    )
    .await;
    r.expect(200).clone()
}

fn part(name: &str, bytes: &[u8]) -> Part {
    Part::bytes(bytes.to_vec())
        .file_name(name.to_owned())
        .mime_str("application/octet-stream")
        .expect("a mime type")
}

async fn upload_document<S: Store>(app: &TestApp<S>, who: &Actor, name: &str) -> String {
    let r = send(
        app.request(Method::POST, "/lessons/upload/lesson-file", Some(who))
            .multipart(Form::new().part("file", part(name, PDF))),
    )
    .await;
    r.expect(200)["url"].as_str().expect("url").to_owned()
}

/// `LessonPage.jsx`: the files go as `file` parts (several with the same name).
async fn hand_in<S: Store>(app: &TestApp<S>, who: &Actor, lesson: i64, files: &[(&str, &[u8])]) -> Reply {
    let mut form = Form::new().text("comment", "готово");
    for (name, bytes) in files {
        form = form.part("file", part(name, bytes));
    }
    send(
        app.request(Method::POST, &format!("/lessons/{lesson}/submit-homework"), Some(who))
            .multipart(form),
    )
    .await
}

/// What `getFullPath` in `LessonPage.jsx` and `LessonTeacher.jsx` makes of a path: `static/x`
/// (with or without a leading `/`) becomes `/files/download/x`; anything else stays as it is.
fn full_path(path: &str) -> String {
    let normalized = path.replace('\\', "/");
    let normalized = normalized.trim_start_matches('/');
    match normalized.strip_prefix("static/") {
        Some(rest) => format!("/files/download/{rest}"),
        None => normalized.to_owned(),
    }
}

/// Every lesson of a module tree (or a list of trees), by id.
fn lessons_in(tree: &Value) -> Vec<Value> {
    let trees = tree.as_array().cloned().unwrap_or_else(|| vec![tree.clone()]);
    trees
        .iter()
        .flat_map(|m| m["subjects"].as_array().cloned().unwrap_or_default())
        .flat_map(|s| s["lessons"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn lesson_in(tree: &Value, id: i64) -> Value {
    lessons_in(tree)
        .into_iter()
        .find(|l| l["id"] == id)
        .unwrap_or_else(|| panic!("lesson {id} in {tree}"))
}

// ---------------------------------------------------------------------------------------------
// Adding lessons

async fn the_old_lesson_form_adds_every_type<S: Store>(app: TestApp<S>) {
    let c = class(&app).await;
    // A lecture with a link, as the form sends it by default.
    let r = add_lesson(
        &app,
        &c.teacher,
        c.subject,
        json!({"title": "Введение", "type": "Лекция", "content_url": "https://video.example/intro", "description": ""}),
    )
    .await;
    let lecture = r.expect(200).clone();
    assert_eq!(
        (&lecture["type"], &lecture["kind"]),
        (&json!("Лекция"), &json!("video"))
    );
    assert_eq!(lecture["content_url"], "https://video.example/intro");
    assert_eq!(lecture["description"], "");
    assert_eq!(lecture["result"], Value::Null);

    // A practice without any material: content_url "" answers "" (as the previous backend did).
    let r = add_lesson(
        &app,
        &c.teacher,
        c.subject,
        json!({"title": "Практика 1", "type": "Практика", "content_url": "", "description": "Решить задачи 1–5"}),
    )
    .await;
    assert_eq!(
        (&r.expect(200)["type"], &r.body["kind"]),
        (&json!("Практика"), &json!("video"))
    );
    assert_eq!(
        (&r.body["content_url"], &r.body["description"]),
        (&json!(""), &json!("Решить задачи 1–5"))
    );

    // A practice with an uploaded document: its kind is pdf, its label stays.
    let url = upload_document(&app, &c.teacher, "задачи.pdf").await;
    assert!(url.starts_with("/static/lesson_docs/"), "{url}");
    let r = add_lesson(
        &app,
        &c.teacher,
        c.subject,
        json!({"title": "Практика 2", "type": "Практика", "content_url": url, "description": ""}),
    )
    .await;
    assert_eq!(
        (&r.expect(200)["type"], &r.body["kind"]),
        (&json!("Практика"), &json!("pdf"))
    );
    assert_eq!(r.body["content_url"], url.as_str());

    // Case and surrounding spaces do not matter; the label is kept trimmed.
    let r = add_lesson(
        &app,
        &c.admin,
        c.subject,
        json!({"title": "Обзор", "type": "  лекция ", "content_url": ""}),
    )
    .await;
    assert_eq!(
        (&r.expect(200)["type"], &r.body["kind"]),
        (&json!("лекция"), &json!("video"))
    );
    // edu's own kinds are taken as given.
    for (label, kind) in [("video", "video"), ("PDF", "pdf"), ("test", "test"), ("тест", "test")] {
        let r = add_lesson(&app, &c.teacher, c.subject, json!({"title": "Урок", "type": label})).await;
        assert_eq!((&r.expect(200)["type"], &r.body["kind"]), (&json!(label), &json!(kind)));
    }
    // Anything else is a clear 422, and nothing is created.
    for label in ["Семинар", "", "Лекция-практика", "lecture"] {
        let r = add_lesson(
            &app,
            &c.teacher,
            c.subject,
            json!({"title": "Урок", "type": label, "content_url": ""}),
        )
        .await;
        let detail = r.expect_error(422, "validation_error");
        assert!(
            detail.contains("Лекция") && detail.contains("Тест"),
            "the accepted labels are named: {detail}"
        );
    }

    // The tree the teacher's module page reads shows every label.
    let tree = get(&app, &format!("/access/teacher-modules/{}", c.module), Some(&c.teacher)).await;
    let labels: Vec<Value> = lessons_in(tree.expect(200)).iter().map(|l| l["type"].clone()).collect();
    assert_eq!(
        labels,
        [
            "Лекция",
            "Практика",
            "Практика",
            "лекция",
            "video",
            "PDF",
            "test",
            "тест"
        ]
        .map(|l| json!(l))
    );
}

async fn a_test_lesson_links_the_test_its_content_url_names<S: Store>(app: TestApp<S>) {
    let c = class(&app).await;
    let (test, _) = new_test(&app, &c.teacher, c.subject, json!({})).await;
    // Exactly what LessonModal.jsx sends for a test lesson (with and without test_id).
    let r = add_lesson(
        &app,
        &c.teacher,
        c.subject,
        json!({"title": "Контрольная 1", "type": "Тест", "content_url": format!("/test/{test}"), "description": ""}),
    )
    .await;
    let lesson = r.expect(200).clone();
    assert_eq!((&lesson["type"], &lesson["kind"]), (&json!("Тест"), &json!("test")));
    assert_eq!(
        lesson["content_url"],
        format!("/test/{test}"),
        "stored and answered as sent"
    );
    let listed = get(&app, &format!("/tests/by-subject/{}", c.subject), Some(&c.teacher)).await;
    let linked = listed
        .expect(200)
        .as_array()
        .expect("tests")
        .iter()
        .find(|t| t["id"] == test)
        .cloned();
    assert_eq!(
        linked.expect("the test")["lesson_id"],
        lesson["id"],
        "the test is linked"
    );

    // The student's lesson page: type "Тест" and a link to the test while there is no result.
    let view = get(&app, &format!("/lessons/{}", lesson["id"]), Some(&c.student)).await;
    assert_eq!(
        (&view.expect(200)["type"], &view.body["content_url"]),
        (&json!("Тест"), &json!(format!("/test/{test}")))
    );
    assert_eq!(view.body["result"], Value::Null);

    // The same test again: 409, whichever way it is named.
    for body in [
        json!({"title": "Ещё раз", "type": "Тест", "content_url": format!("/test/{test}"), "description": ""}),
        json!({"title": "Ещё раз", "type": "Тест", "content_url": format!("/test/{test}"), "description": "", "test_id": test}),
    ] {
        add_lesson(&app, &c.teacher, c.subject, body)
            .await
            .expect_error(409, "conflict");
    }
    // With test_id as the form also sends it.
    let (second, _) = new_test(&app, &c.teacher, c.subject, json!({})).await;
    let r = add_lesson(
        &app,
        &c.teacher,
        c.subject,
        json!({"title": "Контрольная 2", "type": "Тест", "content_url": format!("/test/{second}"), "description": "",
               "test_id": second}),
    )
    .await;
    assert_eq!(r.expect(200)["content_url"], format!("/test/{second}"));
    // Unknown tests, tests of another subject: 404. Disagreeing ids, malformed ids, or a test
    // link on a lecture: 422. Nothing is created by any of them.
    let (foreign, _) = new_test(&app, &c.other_teacher, c.other_subject, json!({})).await;
    let (third, _) = new_test(&app, &c.teacher, c.subject, json!({})).await;
    for (content_url, extra, status) in [
        ("/test/987654".to_owned(), json!({}), 404),
        (format!("/test/{foreign}"), json!({}), 404),
        (format!("/test/{third}"), json!({"test_id": second}), 422),
        ("/test/abc".to_owned(), json!({}), 422),
        ("/test/-1".to_owned(), json!({}), 422),
        (format!("/test/{third}/x"), json!({}), 422),
    ] {
        let mut body = json!({"title": "Не тот", "type": "Тест", "content_url": content_url, "description": ""});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let r = add_lesson(&app, &c.teacher, c.subject, body).await;
        assert_eq!(r.status, status, "{content_url}: {}", r.body);
    }
    add_lesson(
        &app,
        &c.teacher,
        c.subject,
        json!({"title": "Лекция", "type": "Лекция", "content_url": format!("/test/{third}"), "description": ""}),
    )
    .await
    .expect_error(422, "validation_error");
    let lessons = get(
        &app,
        &format!("/access/subjects/{}/lessons", c.subject),
        Some(&c.teacher),
    )
    .await;
    assert_eq!(
        lessons.expect(200).as_array().expect("lessons").len(),
        2,
        "{}",
        lessons.body
    );
    // The third test is still free.
    let r = add_lesson(
        &app,
        &c.teacher,
        c.subject,
        json!({"title": "Контрольная 3", "type": "тест", "content_url": format!("/test/{third}"), "description": ""}),
    )
    .await;
    r.expect(200);
}

// ---------------------------------------------------------------------------------------------
// Results

/// `Result` of the previous backend: `{id, user_id, lesson_id, test_id, score, submitted_at}`.
#[track_caller]
fn assert_result(result: &Value, student: &Actor, lesson: i64, test: i64, score: f64) {
    let keys: Vec<&str> = result
        .as_object()
        .expect("a result object")
        .keys()
        .map(String::as_str)
        .collect();
    for key in ["id", "user_id", "lesson_id", "test_id", "score", "submitted_at"] {
        assert!(keys.contains(&key), "{key} in {result}");
    }
    assert_eq!(result["user_id"], student.id);
    assert_eq!(result["lesson_id"], lesson);
    assert_eq!(result["test_id"], test);
    assert_eq!(result["score"].as_f64(), Some(score), "{result}");
    assert!(
        result["id"].as_i64().is_some() && result["submitted_at"].as_str().is_some(),
        "{result}"
    );
}

async fn every_lesson_answer_carries_the_readers_best_result<S: Store>(app: TestApp<S>) {
    let c = class(&app).await;
    let (test, q) = new_test(&app, &c.teacher, c.subject, json!({"max_attempts": 3})).await;
    let lesson = add_lesson(
        &app,
        &c.teacher,
        c.subject,
        json!({"title": "Контрольная", "type": "Тест", "content_url": format!("/test/{test}"), "description": ""}),
    )
    .await
    .id();
    let lecture = add_lesson(
        &app,
        &c.teacher,
        c.subject,
        json!({"title": "Лекция", "type": "Лекция", "content_url": ""}),
    )
    .await
    .id();
    // Full marks first, then a worse attempt: the best one is the result (edu's grade rule).
    let best = take(&app, &c.student, test, q, 2).await;
    assert_eq!(best["score"].as_f64(), Some(100.0));
    let worse = take(&app, &c.student, test, q, 1).await;
    assert_eq!(worse["score"].as_f64(), Some(50.0));
    // A classmate's only attempt is theirs alone.
    take(&app, &c.classmate, test, q, 0).await;

    // The lesson page (`/lessons/{id}`, `/access/lessons/{id}`): `result`, and `my_result` too.
    for path in [format!("/lessons/{lesson}"), format!("/access/lessons/{lesson}")] {
        let r = get(&app, &path, Some(&c.student)).await;
        assert_result(&r.expect(200)["result"], &c.student, lesson, test, 100.0);
        assert_eq!(
            r.body["result"]["id"], best["attempt_id"],
            "the best attempt: {}",
            r.body
        );
        assert_eq!(r.body["my_result"].as_f64(), Some(100.0));
        let r = get(&app, &path, Some(&c.classmate)).await;
        assert_result(&r.expect(200)["result"], &c.classmate, lesson, test, 0.0);
        let r = get(&app, &format!("/lessons/{lecture}"), Some(&c.student)).await;
        assert_eq!(
            (&r.expect(200)["result"], &r.body["my_result"]),
            (&Value::Null, &Value::Null)
        );
    }
    // Module trees and the subject's lesson list: every lesson has `result`, the reader's own.
    for path in [
        "/access/my-modules".to_owned(),
        format!("/access/my-modules/{}", c.module),
        format!("/admin/modules/{}", c.module),
        format!("/access/subjects/{}/lessons", c.subject),
    ] {
        let r = get(&app, &path, Some(&c.student)).await;
        let body = r.expect(200);
        let found = if path.ends_with("/lessons") {
            body.as_array()
                .expect("lessons")
                .iter()
                .find(|l| l["id"] == lesson)
                .cloned()
                .expect("lesson")
        } else {
            lesson_in(body, lesson)
        };
        assert_result(&found["result"], &c.student, lesson, test, 100.0);
        let other = if path.ends_with("/lessons") {
            body.as_array()
                .expect("lessons")
                .iter()
                .find(|l| l["id"] == lecture)
                .cloned()
                .expect("lesson")
        } else {
            lesson_in(body, lecture)
        };
        assert_eq!(other["result"], Value::Null, "{path}");
    }
    // Staff trees carry the key too; a teacher or an admin has no result of their own.
    for (who, path) in [
        (&c.teacher, "/access/teacher-modules".to_owned()),
        (&c.teacher, format!("/access/teacher-modules/{}", c.module)),
        (&c.teacher, "/access/my-modules".to_owned()),
        (&c.admin, "/access/admin-modules".to_owned()),
        (&c.admin, format!("/access/admin-modules/{}", c.module)),
        (&c.admin, "/admin/modules/".to_owned()),
        (&c.admin, format!("/admin/modules/{}", c.module)),
    ] {
        let r = get(&app, &path, Some(who)).await;
        let found = lesson_in(r.expect(200), lesson);
        assert!(
            found.as_object().is_some_and(|o| o.contains_key("result")),
            "{path}: {found}"
        );
        assert_eq!(found["result"], Value::Null, "{path}");
        assert_eq!(
            (&found["type"], &found["kind"]),
            (&json!("Тест"), &json!("test")),
            "{path}"
        );
    }
    // Deleting the best attempt: the other one counts now.
    call(
        &app,
        Method::DELETE,
        &format!("/lessons/result/{}", best["attempt_id"]),
        Some(&c.teacher),
        None,
    )
    .await
    .expect(200);
    let r = get(&app, &format!("/access/my-modules/{}", c.module), Some(&c.student)).await;
    assert_result(
        &lesson_in(r.expect(200), lesson)["result"],
        &c.student,
        lesson,
        test,
        50.0,
    );
    // An outsider still gets nothing of the module.
    get(&app, &format!("/access/my-modules/{}", c.module), Some(&c.outsider))
        .await
        .expect_error(404, "not_found");
}

// ---------------------------------------------------------------------------------------------
// Grades

async fn the_grade_list_speaks_the_old_vocabulary<S: Store>(app: TestApp<S>) {
    let c = class(&app).await;
    let (test, q) = new_test(&app, &c.teacher, c.subject, json!({})).await;
    let test_lesson = add_lesson(
        &app,
        &c.teacher,
        c.subject,
        json!({"title": "Контрольная", "type": "Тест", "content_url": format!("/test/{test}"), "description": ""}),
    )
    .await
    .id();
    let practice = add_lesson(
        &app,
        &c.teacher,
        c.subject,
        json!({"title": "Практика", "type": "Практика", "content_url": ""}),
    )
    .await
    .id();
    let video = add_lesson(&app, &c.teacher, c.subject, json!({"title": "Видео", "type": "video"}))
        .await
        .id();
    take(&app, &c.student, test, q, 1).await;
    hand_in(&app, &c.student, practice, &[("отчёт.pdf", PDF)])
        .await
        .expect(200);
    hand_in(&app, &c.student, video, &[]).await.expect(200);

    let r = get(&app, "/lessons/student/grades", Some(&c.student)).await;
    let items = r.expect(200).as_array().expect("a flat list").clone();
    assert_eq!(items.len(), 3, "{}", r.body);
    let by_lesson = |id: i64| items.iter().find(|i| i["lesson_id"] == id).cloned().expect("an item");
    let t = by_lesson(test_lesson);
    assert_eq!(
        (&t["lesson_type"], &t["source"], &t["kind"]),
        (&json!("тест"), &json!("test"), &json!("test"))
    );
    assert_eq!(t["grade"].as_f64(), Some(50.0));
    let p = by_lesson(practice);
    assert_eq!(
        (&p["lesson_type"], &p["source"], &p["kind"]),
        (&json!("Практика"), &json!("submission"), &json!("video"))
    );
    assert_eq!(p["grade"], Value::Null, "not graded yet");
    let v = by_lesson(video);
    assert_eq!(
        (&v["lesson_type"], &v["source"]),
        (&json!("video"), &json!("submission"))
    );
    // What StudentGrades.jsx reads from every item.
    for item in &items {
        for key in [
            "submission_id",
            "lesson_id",
            "lesson_title",
            "lesson_type",
            "subject_title",
            "module_title",
            "grade",
            "submitted_at",
            "source",
        ] {
            assert!(item.as_object().is_some_and(|o| o.contains_key(key)), "{key} in {item}");
        }
    }
    // Its type filter ("тест") finds exactly the test results.
    let tests: Vec<&Value> = items.iter().filter(|i| i["lesson_type"] == "тест").collect();
    assert_eq!(tests.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Files

async fn submissions_answer_in_the_old_shape<S: Store>(app: TestApp<S>) {
    let c = class(&app).await;
    let lesson = add_lesson(
        &app,
        &c.teacher,
        c.subject,
        json!({"title": "Практика", "type": "Практика", "content_url": ""}),
    )
    .await
    .id();
    let r = hand_in(&app, &c.student, lesson, &[("Отчёт.pdf", PDF), ("схема.png", PNG)]).await;
    assert_eq!(r.expect(200)["count"], 2);
    hand_in(&app, &c.student, lesson, &[]).await.expect(200);

    let mine = get(&app, &format!("/lessons/{lesson}/my-submissions"), Some(&c.student)).await;
    let teachers = get(&app, &format!("/lessons/{lesson}/submissions/files"), Some(&c.teacher)).await;
    for list in [mine.expect(200), teachers.expect(200)] {
        let list = list.as_array().expect("a list");
        assert_eq!(list.len(), 2);
        // Newest first: the comment-only one has no file and an empty file_path.
        assert_eq!(list[0]["file_path"], "", "{}", list[0]);
        assert_eq!(list[0]["files"], json!([]));
        let with_files = &list[1];
        assert_eq!(with_files["user_id"], c.student.id);
        assert_eq!(with_files["student_id"], c.student.id);
        let files = with_files["files"].as_array().expect("files");
        assert_eq!(files.len(), 2);
        assert!(
            files[0]["id"].as_i64().is_some() && files[0]["id"] != files[1]["id"],
            "{files:?}"
        );
        assert_eq!(with_files["file_path"], files[0]["file_path"]);
        for f in files {
            let path = f["file_path"].as_str().expect("file_path");
            assert!(path.starts_with(&format!("static/homework/lesson_{lesson}/")), "{path}");
            // What the previous frontend downloads: the bytes, for the student and the teacher,
            // nobody else.
            let url = full_path(path);
            assert_eq!(url, f["url"].as_str().expect("url"));
            for who in [&c.student, &c.teacher, &c.admin] {
                get(&app, &url, Some(who)).await.expect(200);
            }
            for who in [&c.classmate, &c.outsider, &c.other_teacher] {
                get(&app, &url, Some(who)).await.expect_error(404, "not_found");
            }
        }
        let first = get(
            &app,
            &full_path(files[0]["file_path"].as_str().expect("path")),
            Some(&c.student),
        )
        .await;
        assert_eq!(first.bytes, PDF);
    }
    // A classmate's own list is empty.
    let theirs = get(&app, &format!("/lessons/{lesson}/my-submissions"), Some(&c.classmate)).await;
    assert_eq!(theirs.expect(200), &json!([]));
}

async fn lesson_documents_by_their_old_paths<S: Store>(app: TestApp<S>) {
    let c = class(&app).await;
    let url = upload_document(&app, &c.teacher, "лекция.pdf").await;
    let name = url
        .strip_prefix("/static/lesson_docs/")
        .expect("the old form")
        .to_owned();
    // The form may send it without the leading slash too.
    let lesson = add_lesson(
        &app,
        &c.teacher,
        c.subject,
        json!({"title": "Лекция", "type": "Лекция", "content_url": url.trim_start_matches('/'), "description": ""}),
    )
    .await;
    assert_eq!(
        (&lesson.expect(200)["content_url"], &lesson.body["kind"]),
        (&json!(url), &json!("pdf"))
    );

    // Served at the path lessons give, at the previous frontend's download path, and at the key.
    let paths = [url.clone(), full_path(&url), format!("/files/download/lessons/{name}")];
    assert_eq!(paths[1], format!("/files/download/lesson_docs/{name}"));
    for path in &paths {
        for who in [&c.student, &c.classmate, &c.teacher, &c.admin] {
            let r = get(&app, path, Some(who)).await;
            r.expect(200);
            assert_eq!(r.bytes, PDF, "{path}");
            assert!(
                r.header("content-disposition")
                    .is_some_and(|d| d.starts_with("attachment")),
                "{path}"
            );
        }
        for who in [&c.outsider, &c.other_teacher] {
            get(&app, path, Some(who)).await.expect_error(404, "not_found");
        }
        get(&app, path, None).await.expect_error(401, "unauthorized");
    }
    // edu's earlier document path is still accepted when creating a lesson, and answered in the
    // old form.
    let second = upload_document(&app, &c.teacher, "второй.pdf").await;
    let key_path = second.replace("/static/lesson_docs/", "/files/download/lessons/");
    let r = add_lesson(
        &app,
        &c.teacher,
        c.subject,
        json!({"title": "Ещё", "type": "pdf", "content_url": key_path}),
    )
    .await;
    assert_eq!(r.expect(200)["content_url"], second.as_str());
}

async fn imported_files_are_found_by_their_old_paths_with_the_same_checks<S: Store>(app: TestApp<S>) {
    let c = class(&app).await;
    let store = app.fx.store();
    // A document of an imported lesson, a homework file and an avatar, kept under edu keys and
    // recorded under the previous backend's paths (as the importer does).
    let doc_url = upload_document(&app, &c.teacher, "старое.docx.pdf").await;
    let doc_key = doc_url.replace("/static/lesson_docs/", "lessons/");
    store
        .record_legacy_file("static/lesson_docs/404ecbce88824fefbc944bb2dbcfae00.docx", &doc_key)
        .await
        .expect("recorded");
    let lesson = add_lesson(
        &app,
        &c.teacher,
        c.subject,
        json!({"title": "Импорт", "type": "Лекция", "content_url": "/static/lesson_docs/404ecbce88824fefbc944bb2dbcfae00.docx"}),
    )
    .await;
    assert_eq!(
        (&lesson.expect(200)["content_url"], &lesson.body["kind"]),
        (&json!(doc_url), &json!("pdf"))
    );
    let lesson = lesson.id();
    let hw = hand_in(&app, &c.student, lesson, &[("работа.pdf", PDF)]).await;
    let hw_key = hw.expect(200)["submission"]["files"][0]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    store
        .record_legacy_file("static/homework/lesson_3/5_работа студента.pdf", &hw_key)
        .await
        .expect("recorded");
    let photo = send(
        app.request(Method::POST, "/user/upload-photo", Some(&c.student))
            .multipart(Form::new().part("photo", part("me.png", PNG))),
    )
    .await;
    let photo_key = photo.expect(200)["user"]["photo"]
        .as_str()
        .expect("photo")
        .trim_start_matches("static/")
        .to_owned();
    store
        .record_legacy_file("static/photos/1_Снимок экрана 2025-06-04 132603.png", &photo_key)
        .await
        .expect("recorded");
    // A row pointing into another area is never followed: a homework file is no avatar.
    store
        .record_legacy_file("static/photos/9_чужое.png", &hw_key)
        .await
        .expect("recorded");
    store
        .record_legacy_file("static/lesson_docs/x.pdf", "../secret.key")
        .await
        .expect("recorded");

    let doc = "/static/lesson_docs/404ecbce88824fefbc944bb2dbcfae00.docx";
    for path in [doc.to_owned(), full_path(doc)] {
        for who in [&c.student, &c.teacher, &c.admin] {
            assert_eq!(get(&app, &path, Some(who)).await.bytes, PDF, "{path}");
        }
        for who in [&c.outsider, &c.other_teacher] {
            get(&app, &path, Some(who)).await.expect_error(404, "not_found");
        }
        get(&app, &path, None).await.expect_error(401, "unauthorized");
    }
    let hw = "static/homework/lesson_3/5_%D1%80%D0%B0%D0%B1%D0%BE%D1%82%D0%B0%20%D1%81%D1%82%D1%83%D0%B4%D0%B5%D0%BD%D1%82%D0%B0.pdf";
    for path in [format!("/{hw}"), full_path(hw)] {
        for who in [&c.student, &c.teacher, &c.admin] {
            assert_eq!(get(&app, &path, Some(who)).await.bytes, PDF, "{path}");
        }
        for who in [&c.classmate, &c.outsider, &c.other_teacher] {
            get(&app, &path, Some(who)).await.expect_error(404, "not_found");
        }
    }
    // The avatar is public, by its old name (percent-encoded in the URL).
    let avatar = "/static/photos/1_%D0%A1%D0%BD%D0%B8%D0%BC%D0%BE%D0%BA%20%D1%8D%D0%BA%D1%80%D0%B0%D0%BD%D0%B0%202025-06-04%20132603.png";
    let r = get(&app, avatar, None).await;
    assert_eq!((r.status, r.bytes.as_slice()), (200, PNG));
    assert_eq!(r.header("content-type"), Some("image/png"));
    let r = get(&app, &avatar.replace("/static/", "/files/download/"), Some(&c.outsider)).await;
    assert_eq!(r.bytes, PNG);
    // Rows that lead elsewhere, and names nobody recorded, are 404.
    for path in [
        "/static/photos/9_%D1%87%D1%83%D0%B6%D0%BE%D0%B5.png",
        "/files/download/photos/9_%D1%87%D1%83%D0%B6%D0%BE%D0%B5.png",
        "/static/lesson_docs/x.pdf",
        "/static/lesson_docs/unknown.docx",
        "/static/homework/lesson_3/unknown.pdf",
        "/static/homework/lesson_4/5_%D1%80%D0%B0%D0%B1%D0%BE%D1%82%D0%B0%20%D1%81%D1%82%D1%83%D0%B4%D0%B5%D0%BD%D1%82%D0%B0.pdf",
    ] {
        let r = get(&app, path, Some(&c.admin)).await;
        r.expect_error(404, "not_found");
        assert!(!r.bytes.starts_with(b"%PDF"), "{path}");
    }
}
