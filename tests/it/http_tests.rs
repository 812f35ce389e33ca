//! Tests (quizzes) over real HTTP on both backends: authoring guards and validation, a student
//! never receiving correctness information, attempts, results and concurrent submissions.

use edu_core::Store;
use edu_tests::{Actor, Reply, TestApp, add_members, assign, call, get, link, new_group, new_module, new_subject};
use reqwest::Method;
use serde_json::{Value, json};

edu_tests::on_both_backends!(
    authoring_is_for_the_subjects_teacher_and_checks_every_rule,
    students_never_receive_correctness,
    legacy_submit_scores_with_fractions_and_limits_attempts,
    attempts_start_save_and_submit,
    many_students_submit_at_once,
);

struct Class {
    admin: Actor,
    teacher: Actor,
    other_teacher: Actor,
    student: Actor,
    outsider: Actor,
    subject: i64,
    group: i64,
}

async fn class<S: Store>(app: &TestApp<S>) -> Class {
    let admin = app.admin().await;
    let teacher = app.teacher().await;
    let other_teacher = app.teacher().await;
    let student = app.student().await;
    let outsider = app.student().await;
    let group = new_group(app, &admin, "ИС-21").await;
    add_members(app, &admin, group, &[student.id]).await;
    let module = new_module(app, &admin, "Модуль").await;
    let subject = new_subject(app, &admin, module, "Математика").await;
    let other = new_subject(app, &admin, module, "Физика").await;
    assign(app, &admin, &teacher, module, subject).await;
    assign(app, &admin, &other_teacher, module, other).await;
    link(app, &admin, group, module).await;
    Class {
        admin,
        teacher,
        other_teacher,
        student,
        outsider,
        subject,
        group,
    }
}

fn draft(subject: i64, correct: [i64; 2]) -> Value {
    json!({
        "title": "Контрольная",
        "subject_id": subject,
        "questions": [
            {"question_text": "2 + 2?", "correct_option_index": correct[0],
             "options": [{"option_text": "3", "option_index": 0}, {"option_text": "4", "option_index": 1}]},
            {"question_text": "Столица?", "correct_option_index": correct[1],
             "options": [{"option_text": "Астана", "option_index": 0}, {"option_text": "Алматы", "option_index": 1},
                         {"option_text": "Шымкент", "option_index": 2}]},
            {"question_text": "Чётные?", "kind": "multiple", "correct_option_indexes": [0, 2],
             "options": [{"option_text": "2", "option_index": 0}, {"option_text": "3", "option_index": 1},
                         {"option_text": "4", "option_index": 2}]}
        ]
    })
}

async fn create<S: Store>(app: &TestApp<S>, who: &Actor, body: Value) -> Reply {
    call(app, Method::POST, "/tests/create", Some(who), Some(body)).await
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

/// The view with every id replaced, so two tests can be compared.
fn without_ids(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = if k == "id" || k.ends_with("_id") {
                        Value::Null
                    } else {
                        without_ids(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_ids).collect()),
        other => other.clone(),
    }
}

async fn authoring_is_for_the_subjects_teacher_and_checks_every_rule<S: Store>(app: TestApp<S>) {
    let c = class(&app).await;
    create(&app, &c.other_teacher, draft(c.subject, [1, 0]))
        .await
        .expect_error(403, "forbidden");
    create(&app, &c.student, draft(c.subject, [1, 0]))
        .await
        .expect_error(403, "forbidden");
    create(&app, &c.teacher, draft(999_999, [1, 0]))
        .await
        .expect_error(404, "not_found");
    let mut no_questions = draft(c.subject, [1, 0]);
    no_questions["questions"] = json!([]);
    let mut one_option = draft(c.subject, [1, 0]);
    one_option["questions"][0]["options"] = json!([{"option_text": "x", "option_index": 0}]);
    let mut duplicate_index = draft(c.subject, [1, 0]);
    duplicate_index["questions"][1]["options"][1]["option_index"] = json!(0);
    let mut wrong_correct = draft(c.subject, [7, 0]);
    wrong_correct["title"] = json!("x");
    let mut no_correct = draft(c.subject, [1, 0]);
    no_correct["questions"][2]["correct_option_indexes"] = json!([]);
    for bad in [no_questions, one_option, duplicate_index, wrong_correct, no_correct] {
        create(&app, &c.teacher, bad)
            .await
            .expect_error(422, "validation_error");
    }
    create(&app, &c.teacher, json!({"title": 5}))
        .await
        .expect_error(422, "validation_error");
    let listed = get(&app, &format!("/tests/by-subject/{}", c.subject), Some(&c.admin)).await;
    assert_eq!(
        listed.expect(200).as_array().map(Vec::len),
        Some(0),
        "nothing was written"
    );

    let made = create(&app, &c.teacher, draft(c.subject, [1, 0])).await;
    let id = made.id();
    assert_eq!(made.body["max_attempts"], 1, "one attempt by default");
    assert_eq!(
        made.body["questions"][0]["correct_option_index"], 1,
        "the author sees the key"
    );
    let admin_made = create(&app, &c.admin, draft(c.subject, [0, 0])).await;
    admin_made.expect(200);
    // Update: the other teacher may not, the teacher may; delete likewise.
    let path = format!("/tests/{id}");
    call(
        &app,
        Method::PUT,
        &path,
        Some(&c.other_teacher),
        Some(draft(c.subject, [0, 0])),
    )
    .await
    .expect_error(403, "forbidden");
    let updated = call(
        &app,
        Method::PUT,
        &path,
        Some(&c.teacher),
        Some(draft(c.subject, [0, 2])),
    )
    .await;
    assert_eq!(updated.expect(200)["questions"][1]["correct_option_index"], 2);
    call(&app, Method::DELETE, &path, Some(&c.student), None)
        .await
        .expect_error(403, "forbidden");
    let deleted = call(&app, Method::DELETE, &path, Some(&c.teacher), None).await;
    assert_eq!(
        (deleted.status, deleted.bytes.len()),
        (204, 0),
        "204 without a body, as before"
    );
    get(&app, &path, Some(&c.admin)).await.expect_error(404, "not_found");
}

async fn students_never_receive_correctness<S: Store>(app: TestApp<S>) {
    let c = class(&app).await;
    let a = create(&app, &c.teacher, draft(c.subject, [0, 0])).await.id();
    let b = create(&app, &c.teacher, draft(c.subject, [1, 2])).await.id();
    let va = get(&app, &format!("/tests/{a}"), Some(&c.student))
        .await
        .expect(200)
        .clone();
    let vb = get(&app, &format!("/tests/{b}"), Some(&c.student))
        .await
        .expect(200)
        .clone();
    let mut found = Vec::new();
    keys(&va, &mut found);
    assert!(
        !found.iter().any(|k| k.contains("correct")),
        "no key about correctness in a student's view: {found:?}"
    );
    assert_eq!(
        without_ids(&va),
        without_ids(&vb),
        "two tests that differ only in their answers look the same to a student"
    );
    let listed = get(&app, &format!("/tests/by-subject/{}", c.subject), Some(&c.student)).await;
    let mut found = Vec::new();
    keys(listed.expect(200), &mut found);
    assert!(!found.iter().any(|k| k.contains("correct")));
    let started = call(&app, Method::POST, &format!("/tests/{a}/start"), Some(&c.student), None).await;
    let mut found = Vec::new();
    keys(started.expect(200), &mut found);
    assert!(!found.iter().any(|k| k.contains("correct")), "{found:?}");
    // Outsiders cannot even see the test; the other subject's teacher sees no answers.
    get(&app, &format!("/tests/{a}"), Some(&c.outsider))
        .await
        .expect_error(404, "not_found");
    let other = get(&app, &format!("/tests/{a}"), Some(&c.other_teacher)).await;
    let mut found = Vec::new();
    keys(other.expect(200), &mut found);
    assert!(
        !found.iter().any(|k| k.contains("correct")),
        "only the subject's teacher sees answers"
    );
}

async fn legacy_submit_scores_with_fractions_and_limits_attempts<S: Store>(app: TestApp<S>) {
    let c = class(&app).await;
    let test = create(&app, &c.teacher, draft(c.subject, [1, 0])).await;
    let id = test.id();
    let q: Vec<i64> = test.body["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .map(|q| q["id"].as_i64().expect("id"))
        .collect();
    let lesson = call(
        &app,
        Method::POST,
        &format!("/lessons/add/subjects/{}", c.subject),
        Some(&c.teacher),
        Some(json!({"title": "Контрольная", "type": "тест", "test_id": id})),
    )
    .await;
    let lesson_id = lesson.id();
    let answers = json!([
        {"question_id": q[0], "selected_index": 1},
        {"question_id": q[1], "selected_index": 2},
        {"question_id": q[2], "selected_indexes": [2, 0]},
        {"question_id": 123456789, "selected_index": 0}
    ]);
    call(
        &app,
        Method::POST,
        "/tests/submit",
        Some(&c.outsider),
        Some(json!({"test_id": id, "answers": answers})),
    )
    .await
    .expect_error(404, "not_found");
    let result = call(
        &app,
        Method::POST,
        "/tests/submit",
        Some(&c.student),
        Some(json!({"test_id": id, "answers": answers})),
    )
    .await;
    let body = result.expect(200);
    assert_eq!(body["score"].as_f64(), Some(66.67), "a fractional score: {body}");
    assert_eq!((body["correct"].as_i64(), body["total"].as_i64()), (Some(2), Some(3)));
    call(
        &app,
        Method::POST,
        "/tests/submit",
        Some(&c.student),
        Some(json!({"test_id": id, "answers": []})),
    )
    .await
    .expect_error(409, "conflict");
    let view = get(&app, &format!("/lessons/{lesson_id}"), Some(&c.student)).await;
    assert_eq!(view.expect(200)["my_result"].as_f64(), Some(66.67));

    let results_path = format!("/lessons/{lesson_id}/submissions/tests");
    get(&app, &results_path, Some(&c.student))
        .await
        .expect_error(403, "forbidden");
    get(&app, &results_path, Some(&c.other_teacher))
        .await
        .expect_error(403, "forbidden");
    let results = get(&app, &results_path, Some(&c.teacher)).await;
    let rows = results.expect(200).as_array().expect("a list").clone();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["score"].as_f64(), Some(66.67));
    assert!(rows[0]["student_name"].as_str().is_some_and(|n| !n.is_empty()));
    let result_id = rows[0]["id"].as_i64().expect("id");
    call(
        &app,
        Method::DELETE,
        &format!("/lessons/result/{result_id}"),
        Some(&c.student),
        None,
    )
    .await
    .expect_error(403, "forbidden");
    call(
        &app,
        Method::DELETE,
        &format!("/lessons/result/{result_id}"),
        Some(&c.teacher),
        None,
    )
    .await
    .expect(200);
    let after = get(&app, &results_path, Some(&c.admin)).await;
    assert_eq!(after.expect(200).as_array().map(Vec::len), Some(0));
}

async fn attempts_start_save_and_submit<S: Store>(app: TestApp<S>) {
    let c = class(&app).await;
    let mut body = draft(c.subject, [1, 0]);
    body["max_attempts"] = json!(2);
    body["time_limit_minutes"] = json!(30);
    body["shuffle"] = json!(true);
    let test = create(&app, &c.teacher, body).await;
    let id = test.id();
    let q0 = test.body["questions"][0]["id"].as_i64().expect("id");
    let started = call(
        &app,
        Method::POST,
        &format!("/tests/{id}/start"),
        Some(&c.student),
        None,
    )
    .await;
    let attempt = started.expect(200)["attempt"]["id"].as_i64().expect("attempt id");
    assert!(
        started.body["attempt"]["deadline"].is_string(),
        "a deadline fixed at start"
    );
    call(
        &app,
        Method::POST,
        &format!("/tests/{id}/start"),
        Some(&c.teacher),
        None,
    )
    .await
    .expect_error(403, "forbidden");
    let save = format!("/tests/attempts/{attempt}/answers");
    call(
        &app,
        Method::PUT,
        &save,
        Some(&c.outsider),
        Some(json!({"answers": [{"question_id": q0, "selected_index": 1}]})),
    )
    .await
    .expect_error(404, "not_found");
    call(
        &app,
        Method::PUT,
        &save,
        Some(&c.student),
        Some(json!({"answers": [{"question_id": q0, "selected_index": 1}]})),
    )
    .await
    .expect(200);
    call(
        &app,
        Method::PUT,
        &save,
        Some(&c.student),
        Some(json!({"answers": "x"})),
    )
    .await
    .expect_error(422, "validation_error");
    // Another student can neither submit this attempt nor read results of a test they cannot see.
    call(
        &app,
        Method::POST,
        &format!("/tests/attempts/{attempt}/submit"),
        Some(&c.outsider),
        Some(json!({})),
    )
    .await
    .expect_error(404, "not_found");
    get(&app, &format!("/tests/{id}/my-results"), Some(&c.outsider))
        .await
        .expect_error(404, "not_found");
    get(&app, &format!("/tests/by-subject/{}", c.subject), Some(&c.outsider))
        .await
        .expect_error(404, "not_found");
    let done = call(
        &app,
        Method::POST,
        &format!("/tests/attempts/{attempt}/submit"),
        Some(&c.student),
        Some(json!({})),
    )
    .await;
    assert_eq!(
        done.expect(200)["score"].as_f64(),
        Some(33.33),
        "the saved answer counts"
    );
    call(&app, Method::PUT, &save, Some(&c.student), Some(json!({"answers": []})))
        .await
        .expect_error(409, "conflict");
    let mine = get(&app, &format!("/tests/{id}/my-results"), Some(&c.student)).await;
    assert_eq!(mine.expect(200).as_array().map(Vec::len), Some(1));
    let _ = c.group;
}

async fn many_students_submit_at_once<S: Store>(app: TestApp<S>) {
    let c = class(&app).await;
    let test = create(&app, &c.teacher, draft(c.subject, [1, 0])).await;
    let id = test.id();
    let q0 = test.body["questions"][0]["id"].as_i64().expect("id");
    let mut students = Vec::new();
    for _ in 0..60 {
        students.push(app.student().await);
    }
    let ids: Vec<i64> = students.iter().map(|s| s.id).collect();
    add_members(&app, &c.admin, c.group, &ids).await;
    let body = json!({"test_id": id, "answers": [{"question_id": q0, "selected_index": 1}]});
    let replies = futures_util::future::join_all(
        students
            .iter()
            .map(|s| call(&app, Method::POST, "/tests/submit", Some(s), Some(body.clone()))),
    )
    .await;
    for r in &replies {
        assert_eq!(r.expect(200)["score"].as_f64(), Some(33.33));
    }
    for s in students.iter().take(5) {
        let mine = get(&app, &format!("/tests/{id}/my-results"), Some(s)).await;
        assert_eq!(
            mine.expect(200).as_array().map(Vec::len),
            Some(1),
            "stored exactly once"
        );
    }
}
