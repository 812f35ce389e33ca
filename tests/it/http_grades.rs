//! Grades over real HTTP on both backends: a student's flat list and summary, the gradebook of a
//! group in a module, and both as spreadsheets. Every expected number is worked out here from the
//! work each test hands in, under the counting rule of `edu_core::domain::grades`: homework counts
//! once per lesson (its latest graded submission; ungraded work is pending, never zero), a test
//! once (its best attempt), averages are plain means.

use std::collections::{BTreeMap, BTreeSet};

use calamine::{Data, Reader, Xlsx};
use chrono::{DateTime, Utc};
use edu_core::{Clock, Store};
use edu_tests::{
    Actor, Reply, TestApp, add_members, assign, call, get, link, new_group, new_module, new_subject, send,
};
use reqwest::Method;
use reqwest::multipart::Form;
use serde_json::{Value, json};

edu_tests::on_both_backends!(
    the_flat_list_is_homework_then_tests_newest_first,
    the_summary_counts_by_the_rule,
    students_see_only_their_own_grades,
    gradebook_guards_come_before_the_query,
    gradebook_cells_averages_and_pages,
    exports_are_attachments_with_the_same_numbers,
    a_teachers_gradebook_covers_only_groups_of_the_module,
    exports_speak_the_schools_language,
);

const CSV_TYPE: &str = "text/csv";
const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

// ---------------------------------------------------------------------------------------------
// The world of each test

/// Two modules: `m1` with Algebra and Biology (one teacher each), `m2` with Chemistry. Group `g1`
/// is linked to both modules and has no members yet; each test enrols the students it needs.
struct World {
    admin: Actor,
    algebra_teacher: Actor,
    biology_teacher: Actor,
    /// Teaches only in `m2`.
    chemistry_teacher: Actor,
    g1: i64,
    m1: i64,
    m2: i64,
    algebra: i64,
    biology: i64,
    chemistry: i64,
}

const GROUP: &str = "ИС-41";
const M1: &str = "Базовый модуль";
const M2: &str = "Профильный модуль";
const ALGEBRA: &str = "Алгебра";
const BIOLOGY: &str = "Биология";
const CHEMISTRY: &str = "Химия";

async fn world<S: Store>(app: &TestApp<S>) -> World {
    let admin = app.admin().await;
    let (algebra_teacher, biology_teacher, chemistry_teacher) =
        (app.teacher().await, app.teacher().await, app.teacher().await);
    let g1 = new_group(app, &admin, GROUP).await;
    let m1 = new_module(app, &admin, M1).await;
    let m2 = new_module(app, &admin, M2).await;
    let algebra = new_subject(app, &admin, m1, ALGEBRA).await;
    let biology = new_subject(app, &admin, m1, BIOLOGY).await;
    let chemistry = new_subject(app, &admin, m2, CHEMISTRY).await;
    assign(app, &admin, &algebra_teacher, m1, algebra).await;
    assign(app, &admin, &biology_teacher, m1, biology).await;
    assign(app, &admin, &chemistry_teacher, m2, chemistry).await;
    link(app, &admin, g1, m1).await;
    link(app, &admin, g1, m2).await;
    World {
        admin,
        algebra_teacher,
        biology_teacher,
        chemistry_teacher,
        g1,
        m1,
        m2,
        algebra,
        biology,
        chemistry,
    }
}

/// A student of `group`, with this full name.
async fn enrol<S: Store>(app: &TestApp<S>, admin: &Actor, group: i64, name: &str) -> Actor {
    let student = app.user_named(edu_core::Role::Student, Some(name)).await;
    add_members(app, admin, group, &[student.id]).await;
    student
}

// ---------------------------------------------------------------------------------------------
// Creating work over HTTP

/// A video or PDF lesson.
async fn lesson<S: Store>(app: &TestApp<S>, who: &Actor, subject: i64, title: &str, kind: &str) -> i64 {
    let r = call(
        app,
        Method::POST,
        &format!("/lessons/add/subjects/{subject}"),
        Some(who),
        Some(json!({"title": title, "type": kind, "content_url": format!("https://media.example/{kind}")})),
    )
    .await;
    r.expect(200);
    r.id()
}

/// A lesson of type test showing `test`.
async fn test_lesson<S: Store>(app: &TestApp<S>, who: &Actor, subject: i64, title: &str, test: i64) -> i64 {
    let r = call(
        app,
        Method::POST,
        &format!("/lessons/add/subjects/{subject}"),
        Some(who),
        Some(json!({"title": title, "type": "test", "test_id": test})),
    )
    .await;
    assert_eq!(r.expect(200)["type"], "test");
    r.id()
}

/// A test of three single-choice questions, each answered right by option 1.
struct Quiz {
    id: i64,
    questions: Vec<i64>,
}

async fn quiz<S: Store>(app: &TestApp<S>, who: &Actor, subject: i64, max_attempts: i64) -> Quiz {
    let questions: Vec<Value> = (1..=3)
        .map(|n| {
            json!({"question_text": format!("Вопрос {n}"), "correct_option_index": 1,
                   "options": [{"option_text": "нет", "option_index": 0}, {"option_text": "да", "option_index": 1}]})
        })
        .collect();
    let r = call(
        app,
        Method::POST,
        "/tests/create",
        Some(who),
        Some(
            json!({"title": "Проверочная", "subject_id": subject, "max_attempts": max_attempts,
                    "questions": questions}),
        ),
    )
    .await;
    r.expect(200);
    let questions = r.body["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .map(|q| q["id"].as_i64().expect("question id"))
        .collect();
    Quiz { id: r.id(), questions }
}

/// The score of `right` answers out of `total`, as the spec rounds it.
fn score(right: usize, total: usize) -> f64 {
    round2(right as f64 / total as f64 * 100.0)
}

/// Submits an attempt with `right` of the three answers right; returns the attempt's id.
async fn take<S: Store>(app: &TestApp<S>, who: &Actor, quiz: &Quiz, right: usize) -> i64 {
    let answers: Vec<Value> = quiz
        .questions
        .iter()
        .enumerate()
        .map(|(i, q)| json!({"question_id": q, "selected_index": i64::from(i < right)}))
        .collect();
    let r = call(
        app,
        Method::POST,
        "/tests/submit",
        Some(who),
        Some(json!({"test_id": quiz.id, "answers": answers})),
    )
    .await;
    let body = r.expect(200);
    assert_eq!(
        body["score"].as_f64(),
        Some(score(right, quiz.questions.len())),
        "{body}"
    );
    body["attempt_id"].as_i64().expect("attempt id")
}

/// Hands in homework with a comment alone; returns the submission's id.
async fn hand_in<S: Store>(app: &TestApp<S>, who: &Actor, lesson: i64) -> i64 {
    let r = send(
        app.request(Method::POST, &format!("/lessons/{lesson}/submit-homework"), Some(who))
            .multipart(Form::new().text("comment", format!("Готово, урок {lesson}"))),
    )
    .await;
    r.expect(200)["submission"]["id"].as_i64().expect("submission id")
}

async fn grade<S: Store>(app: &TestApp<S>, who: &Actor, submission: i64, grade: i64) {
    let r = call(
        app,
        Method::PATCH,
        &format!("/lessons/submission/{submission}/grade"),
        Some(who),
        Some(json!({"grade": grade})),
    )
    .await;
    assert_eq!(r.expect(200)["grade"], grade);
}

/// Moves the platform's clock on, so that work handed in next is strictly newer; returns the time.
fn tick<S: Store>(app: &TestApp<S>) -> DateTime<Utc> {
    app.fx.clock.advance(chrono::Duration::seconds(10));
    app.fx.clock.now()
}

// ---------------------------------------------------------------------------------------------
// Reading grades

async fn flat<S: Store>(app: &TestApp<S>, who: &Actor) -> Vec<Value> {
    get(app, "/lessons/student/grades", Some(who))
        .await
        .expect(200)
        .as_array()
        .expect("a list")
        .clone()
}

async fn summary<S: Store>(app: &TestApp<S>, who: &Actor) -> Value {
    get(app, "/lessons/student/grades/summary", Some(who))
        .await
        .expect(200)
        .clone()
}

async fn gradebook<S: Store>(app: &TestApp<S>, who: &Actor, query: &str) -> Value {
    get(app, &format!("/grades/gradebook?{query}"), Some(who))
        .await
        .expect(200)
        .clone()
}

fn submission_ids(items: &[Value]) -> Vec<i64> {
    items
        .iter()
        .map(|i| i["submission_id"].as_i64().expect("submission_id"))
        .collect()
}

/// A JSON number or null.
#[track_caller]
fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Null => None,
        Value::Number(n) => n.as_f64(),
        other => panic!("a number or null: {other}"),
    }
}

#[track_caller]
fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("a timestamp"))
        .expect("an RFC 3339 timestamp")
        .with_timezone(&Utc)
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// An average is `expected` (up to float summation order), or null when nothing counts.
#[track_caller]
fn assert_average(actual: &Value, expected: Option<f64>, what: &str) {
    match (num(actual), expected) {
        (Some(a), Some(e)) => assert!((a - e).abs() < 1e-9, "{what}: average {a}, expected {e}"),
        (a, e) => assert_eq!(a, e, "{what}: average"),
    }
}

/// The keys of a JSON object.
#[track_caller]
fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// `{average, counted, pending}` (and whatever else `tally` holds) matches these counted values.
#[track_caller]
fn assert_tally(tally: &Value, counted: &[f64], pending: usize, what: &str) {
    assert_average(&tally["average"], mean(counted), what);
    assert_eq!(tally["counted"], counted.len(), "{what}: counted in {tally}");
    assert_eq!(tally["pending"], pending, "{what}: pending in {tally}");
}

// ---------------------------------------------------------------------------------------------
// Spreadsheets

/// RFC 4180 CSV after the byte order mark: rows of unquoted fields. Every line must end in CRLF.
#[track_caller]
fn parse_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    parse_csv_by(bytes, ',')
}

/// [`parse_csv`] with another cell separator.
#[track_caller]
fn parse_csv_by(bytes: &[u8], sep: char) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    let text = text.strip_prefix('\u{feff}').expect("a byte order mark first");
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            c if c == sep => row.push(std::mem::take(&mut field)),
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "CR only as part of CRLF");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            '\n' => panic!("a line ends in a bare LF: {text:?}"),
            c => field.push(c),
        }
    }
    assert!(
        !quoted && field.is_empty() && row.is_empty(),
        "the last line ends in CRLF"
    );
    rows
}

/// The only sheet of a workbook, row by row; it holds no formula.
#[track_caller]
fn read_xlsx(bytes: &[u8]) -> Vec<Vec<Data>> {
    let mut book = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("a workbook");
    let names = book.sheet_names();
    assert_eq!(names.len(), 1, "one sheet: {names:?}");
    let range = book.worksheet_range(&names[0]).expect("the sheet");
    let formulas = book.worksheet_formula(&names[0]).expect("the sheet's formulas");
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "no cell is a formula"
    );
    assert_eq!(range.start(), Some((0, 0)), "the sheet starts at A1");
    range.rows().map(<[Data]>::to_vec).collect()
}

/// A CSV field and the XLSX cell of the same place say the same (CSV's neutralising apostrophe
/// aside: XLSX keeps text as text).
fn same_cell(csv: &str, cell: &Data) -> bool {
    match cell {
        Data::Empty => csv.is_empty(),
        Data::Float(f) => csv.parse::<f64>().is_ok_and(|c| c == *f),
        Data::Int(i) => csv.parse::<i64>().is_ok_and(|c| c == *i),
        Data::String(s) if s.starts_with(['=', '+', '-', '@']) => csv == format!("'{s}"),
        Data::String(s) => csv == s,
        _ => false,
    }
}

#[track_caller]
fn assert_same_sheet(csv: &[Vec<String>], xlsx: &[Vec<Data>]) {
    assert_eq!(csv.len(), xlsx.len(), "as many rows in both");
    for (r, (c, x)) in csv.iter().zip(xlsx).enumerate() {
        assert_eq!(c.len(), x.len(), "row {r}: as many cells in both");
        for (i, (c, x)) in c.iter().zip(x).enumerate() {
            assert!(same_cell(c, x), "row {r}, column {i}: CSV {c:?}, XLSX {x:?}");
        }
    }
}

/// A downloaded spreadsheet: its type, an attachment named `*.ext`, not cached.
#[track_caller]
fn assert_attachment(r: &Reply, content_type: &str, ext: &str) {
    assert_eq!(r.status, 200, "body {}", r.body);
    assert!(
        r.header("content-type").is_some_and(|t| t.starts_with(content_type)),
        "content type {:?}",
        r.header("content-type")
    );
    let disposition = r.header("content-disposition").expect("a content disposition");
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let name = disposition
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("filename="))
        .expect("a file name")
        .trim_matches('"');
    assert!(name.ends_with(&format!(".{ext}")), "{disposition}");
    assert!(disposition.contains(&format!(".{ext}\"")), "{disposition}");
    assert_eq!(r.header("cache-control"), Some("no-store"), "grades are not cached");
}

/// A CSV text field as written: neutralised with an apostrophe if it looks like a formula.
fn csv_text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

// ---------------------------------------------------------------------------------------------
// The student's own grades

async fn the_flat_list_is_homework_then_tests_newest_first<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let student = enrol(&app, &w.admin, w.g1, "Студент Один").await;
    let essay = lesson(&app, &w.algebra_teacher, w.algebra, "Эссе", "pdf").await;
    let lab = lesson(&app, &w.biology_teacher, w.biology, "Лабораторная", "video").await;
    let reaction = lesson(&app, &w.chemistry_teacher, w.chemistry, "Реакции", "video").await;
    let q = quiz(&app, &w.algebra_teacher, w.algebra, 1).await;
    let quiz_lesson = test_lesson(&app, &w.algebra_teacher, w.algebra, "Контрольная", q.id).await;
    // A test that no lesson shows.
    let loose = quiz(&app, &w.biology_teacher, w.biology, 1).await;

    // Homework and tests interleaved in time, so that a plain sort by time would mix them.
    let t_essay = tick(&app);
    let essay_sub = hand_in(&app, &student, essay).await;
    grade(&app, &w.algebra_teacher, essay_sub, 80).await;
    let t_quiz = tick(&app);
    let quiz_attempt = take(&app, &student, &q, 1).await;
    let t_lab = tick(&app);
    let lab_sub = hand_in(&app, &student, lab).await;
    let t_loose = tick(&app);
    let loose_attempt = take(&app, &student, &loose, 3).await;
    let t_reaction = tick(&app);
    let reaction_sub = hand_in(&app, &student, reaction).await;
    grade(&app, &w.chemistry_teacher, reaction_sub, 55).await;

    let homework = |id: i64, lesson: i64, title: &str, kind: &str, subject: (i64, &str), module: (i64, &str)| {
        json!({"submission_id": id, "lesson_id": lesson, "lesson_title": title, "lesson_type": kind,
               "kind": kind, "subject_id": subject.0, "subject_title": subject.1, "module_id": module.0,
               "module_title": module.1, "source": "submission"})
    };
    let expected = [
        (
            homework(
                reaction_sub,
                reaction,
                "Реакции",
                "video",
                (w.chemistry, CHEMISTRY),
                (w.m2, M2),
            ),
            Some(55.0),
            t_reaction,
        ),
        (
            homework(lab_sub, lab, "Лабораторная", "video", (w.biology, BIOLOGY), (w.m1, M1)),
            None,
            t_lab,
        ),
        (
            homework(essay_sub, essay, "Эссе", "pdf", (w.algebra, ALGEBRA), (w.m1, M1)),
            Some(80.0),
            t_essay,
        ),
        (
            json!({"submission_id": loose_attempt, "lesson_id": null, "lesson_title": null, "lesson_type": "тест",
                   "kind": null, "subject_id": w.biology, "subject_title": BIOLOGY, "module_id": w.m1, "module_title": M1,
                   "test_id": loose.id, "source": "test"}),
            Some(100.0),
            t_loose,
        ),
        (
            json!({"submission_id": quiz_attempt, "lesson_id": quiz_lesson, "lesson_title": "Контрольная",
                   "lesson_type": "тест", "kind": "test", "subject_id": w.algebra, "subject_title": ALGEBRA, "module_id": w.m1,
                   "module_title": M1, "test_id": q.id, "source": "test"}),
            Some(33.33),
            t_quiz,
        ),
    ];
    let items = flat(&app, &student).await;
    assert_eq!(
        submission_ids(&items),
        expected
            .iter()
            .map(|e| e.0["submission_id"].as_i64().expect("id"))
            .collect::<Vec<_>>(),
        "homework first, then tests, newest first within each: {items:#?}"
    );
    for (item, (fields, grade, time)) in items.iter().zip(&expected) {
        let mut rest = item.clone();
        let object = rest.as_object_mut().expect("an object");
        let got_grade = object.remove("grade").expect("every item has a grade, maybe null");
        let got_time = object.remove("submitted_at").expect("submitted_at");
        assert_eq!(&rest, fields, "the item's fields");
        assert_eq!(num(&got_grade), *grade, "the grade of {item}");
        let drift = (at(&got_time) - *time).num_milliseconds().abs();
        assert!(drift < 1000, "submitted at the platform's time: {got_time} vs {time}");
    }
    assert!(items[1]["grade"].is_null(), "ungraded homework has a null grade");
    assert_eq!(
        items[4]["grade"].as_f64(),
        Some(33.33),
        "one of three right, to two decimals"
    );
    assert_eq!(score(1, 3), 33.33);

    // The summary lists exactly the same items.
    assert_eq!(summary(&app, &student).await["items"], Value::Array(items));
}

async fn the_summary_counts_by_the_rule<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let student = enrol(&app, &w.admin, w.g1, "Студент Два").await;
    let only_pending = enrol(&app, &w.admin, w.g1, "Студент Три").await;
    let (at_, bt) = (&w.algebra_teacher, &w.biology_teacher);
    let essay = lesson(&app, at_, w.algebra, "Эссе", "pdf").await;
    let proof = lesson(&app, at_, w.algebra, "Доказательство", "video").await;
    let q = quiz(&app, at_, w.algebra, 2).await;
    test_lesson(&app, at_, w.algebra, "Контрольная", q.id).await;
    let lab = lesson(&app, bt, w.biology, "Лабораторная", "video").await;
    let report = lesson(&app, bt, w.biology, "Отчёт", "video").await;
    let loose = quiz(&app, bt, w.biology, 1).await;
    let reaction = lesson(&app, &w.chemistry_teacher, w.chemistry, "Реакции", "video").await;

    // Essay: graded 60, resubmitted and the resubmission graded 90 later: 90 counts.
    tick(&app);
    let e1 = hand_in(&app, &student, essay).await;
    grade(&app, at_, e1, 60).await;
    tick(&app);
    let e2 = hand_in(&app, &student, essay).await;
    grade(&app, at_, e2, 90).await;
    // Proof: two submissions; the newer graded 50 first, the older 95 afterwards: the newer
    // submission's grade counts, whenever it was given.
    tick(&app);
    let p1 = hand_in(&app, &student, proof).await;
    tick(&app);
    let p2 = hand_in(&app, &student, proof).await;
    grade(&app, at_, p2, 50).await;
    tick(&app);
    grade(&app, at_, p1, 95).await;
    // Lab: graded 70, then a newer ungraded resubmission: 70 still counts, nothing pending.
    tick(&app);
    let l1 = hand_in(&app, &student, lab).await;
    grade(&app, bt, l1, 70).await;
    tick(&app);
    hand_in(&app, &student, lab).await;
    // Report: two ungraded submissions: one pending lesson, no grade.
    tick(&app);
    hand_in(&app, &student, report).await;
    tick(&app);
    hand_in(&app, &student, report).await;
    // The test allows two attempts: 2 of 3, then 1 of 3: the better one counts.
    tick(&app);
    take(&app, &student, &q, 2).await;
    tick(&app);
    take(&app, &student, &q, 1).await;
    call(
        &app,
        Method::POST,
        "/tests/submit",
        Some(&student),
        Some(json!({"test_id": q.id, "answers": []})),
    )
    .await
    .expect_error(409, "conflict");
    tick(&app);
    take(&app, &student, &loose, 3).await;
    tick(&app);
    let c1 = hand_in(&app, &student, reaction).await;
    grade(&app, &w.chemistry_teacher, c1, 40).await;

    // The loose test is linked to no lesson: listed, not counted (it has no gradebook cell).
    let algebra = [90.0, 50.0, score(2, 3)];
    let biology = [70.0];
    let chemistry = [40.0];
    let m1: Vec<f64> = algebra.iter().chain(&biology).copied().collect();
    let overall: Vec<f64> = m1.iter().chain(&chemistry).copied().collect();

    let s = summary(&app, &student).await;
    assert_eq!(keys(&s), BTreeSet::from(["items", "subjects", "modules", "overall"]));
    assert_eq!(
        s["items"].as_array().map(Vec::len),
        Some(9 + 3),
        "every submission and attempt is listed"
    );
    assert_eq!(s["items"], Value::Array(flat(&app, &student).await));
    let grade_of = |id: i64| {
        s["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["submission_id"] == id && i["source"] == "submission")
            .map(|i| num(&i["grade"]))
            .expect("listed")
    };
    assert_eq!(grade_of(e1), Some(60.0), "the replaced grade is still listed");
    assert_eq!(grade_of(p1), Some(95.0));

    let subjects = s["subjects"].as_array().expect("subjects");
    assert_eq!(
        subjects.iter().map(|t| t["id"].clone()).collect::<Vec<_>>(),
        [json!(w.algebra), json!(w.biology), json!(w.chemistry)],
        "by module, then subject title"
    );
    for (t, (title, module, counted, pending)) in subjects.iter().zip([
        (ALGEBRA, w.m1, &algebra[..], 0),
        (BIOLOGY, w.m1, &biology[..], 1),
        (CHEMISTRY, w.m2, &chemistry[..], 0),
    ]) {
        assert_eq!(
            keys(t),
            BTreeSet::from(["id", "title", "module_id", "average", "counted", "pending"])
        );
        assert_eq!(t["title"], title);
        assert_eq!(t["module_id"], module);
        assert_tally(t, counted, pending, title);
    }
    let modules = s["modules"].as_array().expect("modules");
    assert_eq!(
        modules.iter().map(|t| t["id"].clone()).collect::<Vec<_>>(),
        [json!(w.m1), json!(w.m2)],
        "by title"
    );
    for (t, (title, counted, pending)) in modules.iter().zip([(M1, &m1[..], 1), (M2, &chemistry[..], 0)]) {
        assert_eq!(
            keys(t),
            BTreeSet::from(["id", "title", "average", "counted", "pending"])
        );
        assert_eq!(t["title"], title);
        assert_tally(t, counted, pending, title);
    }
    assert_eq!(keys(&s["overall"]), BTreeSet::from(["average", "counted", "pending"]));
    assert_tally(&s["overall"], &overall, 1, "overall");
    // The module's average is over its values, not the mean of its subjects' averages.
    let of_subjects = (mean(&algebra).unwrap_or_default() + mean(&biology).unwrap_or_default()) / 2.0;
    assert!((num(&modules[0]["average"]).unwrap_or_default() - of_subjects).abs() > 0.1);

    // Nothing graded yet: pending, and no average at all rather than zero.
    hand_in(&app, &only_pending, report).await;
    let p = summary(&app, &only_pending).await;
    assert_tally(&p["overall"], &[], 1, "pending only");
    assert!(p["overall"]["average"].is_null());
    assert_tally(&p["subjects"][0], &[], 1, "pending only, Biology");
    assert_eq!(p["subjects"][0]["id"], w.biology);
    assert_eq!(p["subjects"].as_array().map(Vec::len), Some(1));
    assert_tally(&p["modules"][0], &[], 1, "pending only, module");

    // Someone with no work at all has empty lists.
    let idle = enrol(&app, &w.admin, w.g1, "Студент Четыре").await;
    assert_eq!(
        summary(&app, &idle).await,
        json!({"items": [], "subjects": [], "modules": [],
               "overall": {"average": null, "counted": 0, "pending": 0}})
    );
}

async fn students_see_only_their_own_grades<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let me = enrol(&app, &w.admin, w.g1, "Айдар").await;
    let classmate = enrol(&app, &w.admin, w.g1, "Берик").await;
    let essay = lesson(&app, &w.algebra_teacher, w.algebra, "Эссе", "pdf").await;
    let lab = lesson(&app, &w.biology_teacher, w.biology, "Лабораторная", "video").await;
    let q = quiz(&app, &w.algebra_teacher, w.algebra, 1).await;
    test_lesson(&app, &w.algebra_teacher, w.algebra, "Контрольная", q.id).await;

    tick(&app);
    let my_essay = hand_in(&app, &me, essay).await;
    let their_essay = hand_in(&app, &classmate, essay).await;
    grade(&app, &w.algebra_teacher, my_essay, 81).await;
    grade(&app, &w.algebra_teacher, their_essay, 99).await;
    tick(&app);
    let my_attempt = take(&app, &me, &q, 1).await;
    let their_attempt = take(&app, &classmate, &q, 3).await;
    tick(&app);
    let their_lab = hand_in(&app, &classmate, lab).await;
    grade(&app, &w.biology_teacher, their_lab, 77).await;

    let mine = flat(&app, &me).await;
    assert_eq!(submission_ids(&mine), [my_essay, my_attempt]);
    let theirs = flat(&app, &classmate).await;
    assert_eq!(submission_ids(&theirs), [their_lab, their_essay, their_attempt]);
    // Naming someone else in the query changes nothing.
    for path in [
        format!("/lessons/student/grades?student_id={}", classmate.id),
        format!("/lessons/student/grades?user_id={}", classmate.id),
    ] {
        let r = get(&app, &path, Some(&me)).await;
        assert_eq!(
            submission_ids(r.expect(200).as_array().expect("a list")),
            [my_essay, my_attempt]
        );
    }
    let r = get(
        &app,
        &format!("/lessons/student/grades/summary?student_id={}", classmate.id),
        Some(&me),
    )
    .await;
    let s = r.expect(200);
    assert_eq!(s["items"], Value::Array(mine.clone()));
    let counted = [81.0, score(1, 3)];
    assert_tally(&s["overall"], &counted, 0, "mine");
    assert_eq!(s["subjects"].as_array().map(Vec::len), Some(1), "only Algebra: {s}");
    assert_eq!(s["subjects"][0]["id"], w.algebra);
    assert_tally(&s["subjects"][0], &counted, 0, "my Algebra");
    assert_tally(
        &summary(&app, &classmate).await["overall"],
        &[99.0, score(3, 3), 77.0],
        0,
        "theirs",
    );

    // My export holds my items and my averages, nothing of the classmate's.
    let r = send(
        app.request(
            Method::GET,
            "/lessons/student/grades/export?lang=en&format=csv",
            Some(&me),
        )
        .query(&[("student_id", classmate.id)]),
    )
    .await;
    assert_attachment(&r, CSV_TYPE, "csv");
    let rows = parse_csv(&r.bytes);
    let minute = |item: &Value| at(&item["submitted_at"]).format("%Y-%m-%d %H:%M").to_string();
    let avg = round2(mean(&counted).unwrap_or_default()).to_string();
    let (essay_at, quiz_at) = (minute(&mine[0]), minute(&mine[1]));
    let expected: Vec<Vec<String>> = [
        ["Module", "Subject", "Lesson", "Source", "Grade", "Submitted (UTC)"],
        [M1, ALGEBRA, "Эссе", "homework", "81", essay_at.as_str()],
        [M1, ALGEBRA, "Контрольная", "test", "33.33", quiz_at.as_str()],
        [M1, ALGEBRA, "", "subject average", avg.as_str(), ""],
        [M1, "", "", "module average", avg.as_str(), ""],
        ["", "", "", "overall average", avg.as_str(), ""],
    ]
    .iter()
    .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
    .collect();
    assert_eq!(rows, expected);
    let text = String::from_utf8_lossy(&r.bytes);
    for foreign in ["99", "77", "100", BIOLOGY, "Лабораторная"] {
        assert!(!text.contains(foreign), "{foreign:?} is the classmate's: {text}");
    }
    let r = get(&app, "/lessons/student/grades/export?lang=en&format=xlsx", Some(&me)).await;
    assert_attachment(&r, XLSX_TYPE, "xlsx");
    assert_same_sheet(&rows, &read_xlsx(&r.bytes));
    let r = get(&app, "/lessons/student/grades/export?lang=en", Some(&me)).await;
    assert_attachment(&r, XLSX_TYPE, "xlsx");
    assert_same_sheet(&rows, &read_xlsx(&r.bytes));

    // The classmate's export has their three items.
    let r = get(
        &app,
        "/lessons/student/grades/export?lang=en&format=csv",
        Some(&classmate),
    )
    .await;
    let rows = parse_csv(&r.bytes);
    let grades: Vec<&str> = rows[1..4].iter().map(|r| r[4].as_str()).collect();
    assert_eq!(grades, ["77", "99", "100"]);
}

// ---------------------------------------------------------------------------------------------
// The gradebook

async fn gradebook_guards_come_before_the_query<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let student = enrol(&app, &w.admin, w.g1, "Студент").await;
    let idle_teacher = app.teacher().await;
    let valid = format!("group_id={}&module_id={}", w.g1, w.m1);
    let book = format!("/grades/gradebook?{valid}");
    let export = format!("/grades/gradebook/export?lang=en&{valid}&format=csv");
    let tampered = Actor {
        token: format!("{}x", student.token),
        ..student.clone()
    };
    for path in [
        "/lessons/student/grades",
        "/lessons/student/grades/summary",
        "/lessons/student/grades/export?lang=en&format=csv",
        &book,
        &export,
    ] {
        get(&app, path, None).await.expect_error(401, "unauthorized");
        get(&app, path, Some(&tampered)).await.expect_error(401, "unauthorized");
    }

    let (g1, m1) = (w.g1, w.m1);
    for route in ["/grades/gradebook", "/grades/gradebook/export"] {
        // A student is refused for who they are, whatever the query.
        for query in [
            valid.clone(),
            "group_id=abc&module_id=1".into(),
            String::new(),
            "module_id=1".into(),
        ] {
            get(&app, &format!("{route}?{query}"), Some(&student))
                .await
                .expect_error(403, "forbidden");
        }
        // Teachers of no subject in the module.
        for who in [&w.chemistry_teacher, &idle_teacher] {
            get(&app, &format!("{route}?{valid}"), Some(who))
                .await
                .expect_error(403, "forbidden");
        }
        // A module the teacher does not teach answers the same whether or not it exists.
        get(
            &app,
            &format!("{route}?group_id={g1}&module_id=987654"),
            Some(&w.algebra_teacher),
        )
        .await
        .expect_error(403, "forbidden");
        get(
            &app,
            &format!("{route}?group_id=987654&module_id={m1}"),
            Some(&w.algebra_teacher),
        )
        .await
        .expect_error(404, "not_found");
        for query in [
            format!("group_id=987654&module_id={m1}"),
            format!("group_id={g1}&module_id=987654"),
        ] {
            get(&app, &format!("{route}?{query}"), Some(&w.admin))
                .await
                .expect_error(404, "not_found");
        }
        let mut malformed = vec![
            format!("group_id=abc&module_id={m1}"),
            format!("group_id={g1}"),
            format!("module_id={m1}"),
            String::new(),
            format!("group_id=1.5&module_id={m1}"),
            format!("group_id=99999999999999999999&module_id={m1}"),
            format!("group_id={g1}&module_id=%00"),
        ];
        if route.ends_with("export") {
            malformed.push(format!("{valid}&format=pdf"));
            malformed.push(format!("{valid}&lang=de"));
            malformed.push(format!("{valid}&sep=tab"));
        } else {
            malformed.push(format!("{valid}&limit=abc"));
            malformed.push(format!("{valid}&offset=1e3"));
        }
        for query in &malformed {
            for who in [&w.admin, &w.algebra_teacher] {
                let r = get(&app, &format!("{route}?{query}"), Some(who)).await;
                r.expect_error(422, "validation_error");
            }
        }
        // The well-formed request passes for both.
        for who in [&w.admin, &w.algebra_teacher, &w.biology_teacher] {
            assert_eq!(
                get(&app, &format!("{route}?{valid}&format=csv"), Some(who))
                    .await
                    .status,
                200
            );
        }
    }
    get(
        &app,
        "/lessons/student/grades/export?lang=en&format=pdf",
        Some(&student),
    )
    .await
    .expect_error(422, "validation_error");
}

/// What a student's cell of a lesson must hold.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    homework: Option<f64>,
    pending: bool,
    test: Option<f64>,
}

/// Checks a gradebook row against the cells expected for `lessons` (missing ones are empty), and
/// its average over exactly those lessons.
#[track_caller]
fn assert_row(row: &Value, lessons: &[i64], expected: &BTreeMap<i64, Cell>) {
    let name = &row["full_name"];
    let cells = row["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), lessons.len(), "{name}: a cell per lesson");
    let mut counted = Vec::new();
    let mut pending = 0;
    for (cell, lesson) in cells.iter().zip(lessons) {
        let want = expected.get(lesson).copied().unwrap_or_default();
        assert_eq!(keys(cell), BTreeSet::from(["homework", "pending", "test"]));
        assert_eq!(num(&cell["homework"]), want.homework, "{name}, lesson {lesson}: {cell}");
        assert_eq!(cell["pending"], want.pending, "{name}, lesson {lesson}: {cell}");
        assert_eq!(num(&cell["test"]), want.test, "{name}, lesson {lesson}: {cell}");
        counted.extend(want.homework);
        counted.extend(want.test);
        pending += usize::from(want.pending);
    }
    assert_tally(row, &counted, pending, &name.to_string());
}

async fn gradebook_cells_averages_and_pages<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let (at_, bt) = (&w.algebra_teacher, &w.biology_teacher);
    // Enrolled out of name order, so that ids and names disagree.
    let erik = enrol(&app, &w.admin, w.g1, "Echo Erik").await;
    let boris = enrol(&app, &w.admin, w.g1, "Bravo Boris").await;
    let dana = enrol(&app, &w.admin, w.g1, "Delta Dana").await;
    let anna = enrol(&app, &w.admin, w.g1, "Alpha Anna").await;
    let chen = enrol(&app, &w.admin, w.g1, "Charlie Chen").await;
    // A teacher in the group is not one of its students; a student of another group (linked to the
    // same module) with work in the same lessons is not either.
    let member_teacher = app.user_named(edu_core::Role::Teacher, Some("Aaron Teacher")).await;
    add_members(&app, &w.admin, w.g1, &[member_teacher.id]).await;
    let g2 = new_group(&app, &w.admin, "ИС-42").await;
    link(&app, &w.admin, g2, w.m1).await;
    let outsider = enrol(&app, &w.admin, g2, "Aardvark Outsider").await;

    // Biology's lesson first, so that column order by subject differs from creation order.
    let lab = lesson(&app, bt, w.biology, "Лабораторная", "video").await;
    let essay = lesson(&app, at_, w.algebra, "Эссе", "pdf").await;
    let q = quiz(&app, at_, w.algebra, 2).await;
    let quiz_lesson = test_lesson(&app, at_, w.algebra, "Контрольная", q.id).await;
    let reaction = lesson(&app, &w.chemistry_teacher, w.chemistry, "Реакции", "video").await;

    tick(&app);
    // Anna: essay 80, the test 1 of 3 then 2 of 3, lab 90, and Chemistry (another module) 10.
    let s = hand_in(&app, &anna, essay).await;
    grade(&app, at_, s, 80).await;
    take(&app, &anna, &q, 1).await;
    tick(&app);
    take(&app, &anna, &q, 2).await;
    let s = hand_in(&app, &anna, lab).await;
    grade(&app, bt, s, 90).await;
    let s = hand_in(&app, &anna, reaction).await;
    grade(&app, &w.chemistry_teacher, s, 10).await;
    // Boris: essay not graded, the test 3 of 3; homework on the test lesson is refused (its cell
    // is the test's).
    hand_in(&app, &boris, essay).await;
    let refused = send(
        app.request(
            Method::POST,
            &format!("/lessons/{quiz_lesson}/submit-homework"),
            Some(&boris),
        )
        .header("Accept-Language", "en")
        .multipart(Form::new().text("comment", "Готово")),
    )
    .await;
    assert_eq!(
        refused.expect_error(409, "conflict"),
        "this lesson is a test: it takes no homework"
    );
    take(&app, &boris, &q, 3).await;
    // Chen: nothing. Dana: essay 0, which counts.
    let s = hand_in(&app, &dana, essay).await;
    grade(&app, at_, s, 0).await;
    // Erik: essay 30, then an ungraded resubmission; lab 50.
    let s = hand_in(&app, &erik, essay).await;
    grade(&app, at_, s, 30).await;
    tick(&app);
    hand_in(&app, &erik, essay).await;
    let s = hand_in(&app, &erik, lab).await;
    grade(&app, bt, s, 50).await;
    // The outsider: essay 100.
    let s = hand_in(&app, &outsider, essay).await;
    grade(&app, at_, s, 100).await;

    let hw = |g: f64| Cell {
        homework: Some(g),
        ..Cell::default()
    };
    let expected: BTreeMap<i64, BTreeMap<i64, Cell>> = BTreeMap::from([
        (
            anna.id,
            BTreeMap::from([
                (essay, hw(80.0)),
                (
                    quiz_lesson,
                    Cell {
                        test: Some(score(2, 3)),
                        ..Cell::default()
                    },
                ),
                (lab, hw(90.0)),
            ]),
        ),
        (
            boris.id,
            BTreeMap::from([
                (
                    essay,
                    Cell {
                        pending: true,
                        ..Cell::default()
                    },
                ),
                (
                    quiz_lesson,
                    Cell {
                        test: Some(100.0),
                        ..Cell::default()
                    },
                ),
            ]),
        ),
        (chen.id, BTreeMap::new()),
        (dana.id, BTreeMap::from([(essay, hw(0.0))])),
        (erik.id, BTreeMap::from([(essay, hw(30.0)), (lab, hw(50.0))])),
    ]);
    let by_name = [&anna, &boris, &chen, &dana, &erik];
    let names = ["Alpha Anna", "Bravo Boris", "Charlie Chen", "Delta Dana", "Echo Erik"];

    let lesson_json = |id: i64, title: &str, kind: &str, subject: (i64, &str), test: Option<i64>| {
        json!({"lesson_id": id, "title": title, "lesson_type": kind, "subject_id": subject.0,
               "subject_title": subject.1, "test_id": test})
    };
    let essay_col = lesson_json(essay, "Эссе", "pdf", (w.algebra, ALGEBRA), None);
    let quiz_col = lesson_json(quiz_lesson, "Контрольная", "test", (w.algebra, ALGEBRA), Some(q.id));
    let lab_col = lesson_json(lab, "Лабораторная", "video", (w.biology, BIOLOGY), None);
    let valid = format!("group_id={}&module_id={}", w.g1, w.m1);
    for (who, columns, lessons) in [
        (
            &w.admin,
            vec![essay_col.clone(), quiz_col.clone(), lab_col.clone()],
            vec![essay, quiz_lesson, lab],
        ),
        (at_, vec![essay_col, quiz_col], vec![essay, quiz_lesson]),
        (bt, vec![lab_col], vec![lab]),
    ] {
        let book = gradebook(&app, who, &valid).await;
        assert_eq!(
            keys(&book),
            BTreeSet::from([
                "group_id",
                "group_name",
                "module_id",
                "module_title",
                "lessons",
                "students",
                "total",
                "limit",
                "offset"
            ])
        );
        assert_eq!(
            (
                &book["group_id"],
                &book["group_name"],
                &book["module_id"],
                &book["module_title"]
            ),
            (&json!(w.g1), &json!(GROUP), &json!(w.m1), &json!(M1))
        );
        assert_eq!(
            book["lessons"],
            Value::Array(columns),
            "the lessons {} may grade",
            who.iin
        );
        assert_eq!(
            (&book["total"], &book["limit"], &book["offset"]),
            (&json!(5), &json!(100), &json!(0))
        );
        let students = book["students"].as_array().expect("students");
        assert_eq!(
            students.iter().map(|s| s["full_name"].clone()).collect::<Vec<_>>(),
            names.map(Value::from),
            "the group's students by name, nobody else"
        );
        for (row, student) in students.iter().zip(by_name) {
            assert_eq!(
                keys(row),
                BTreeSet::from([
                    "student_id",
                    "iin",
                    "full_name",
                    "cells",
                    "average",
                    "counted",
                    "pending"
                ])
            );
            assert_eq!(row["student_id"], student.id);
            assert_eq!(row["iin"], student.iin);
            assert_row(row, &lessons, &expected[&student.id]);
        }
    }

    // Pages of two: every student once, in name order; past the end an empty page, same total.
    let mut seen = Vec::new();
    for (offset, want) in [(0, &names[0..2]), (2, &names[2..4]), (4, &names[4..])] {
        let page = gradebook(&app, &w.admin, &format!("{valid}&limit=2&offset={offset}")).await;
        assert_eq!(
            (&page["total"], &page["limit"], &page["offset"]),
            (&json!(5), &json!(2), &json!(offset))
        );
        let rows = page["students"].as_array().expect("students");
        assert_eq!(
            rows.iter().map(|s| s["full_name"].clone()).collect::<Vec<_>>(),
            want.iter().map(|n| json!(n)).collect::<Vec<_>>()
        );
        for row in rows {
            let id = row["student_id"].as_i64().expect("id");
            assert_row(row, &[essay, quiz_lesson, lab], &expected[&id]);
            seen.push(id);
        }
    }
    let unique: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(seen.len(), 5, "five rows over the pages");
    assert_eq!(
        unique,
        by_name.iter().map(|s| s.id).collect(),
        "no overlap and nobody missed"
    );
    for offset in ["5".to_owned(), "100".to_owned(), i64::MAX.to_string()] {
        let page = gradebook(&app, &w.admin, &format!("{valid}&limit=2&offset={offset}")).await;
        assert_eq!(page["students"], json!([]), "offset {offset}");
        assert_eq!(page["total"], 5, "offset {offset}");
        assert_eq!(page["lessons"].as_array().map(Vec::len), Some(3));
    }
    // Limits are clamped, offsets are never negative.
    let page = gradebook(&app, &w.admin, &format!("{valid}&limit=0&offset=-3")).await;
    assert_eq!((&page["limit"], &page["offset"]), (&json!(1), &json!(0)));
    assert_eq!(page["students"][0]["full_name"], "Alpha Anna");
    assert_eq!(page["students"].as_array().map(Vec::len), Some(1));
    let page = gradebook(&app, &w.admin, &format!("{valid}&limit=100000")).await;
    assert_eq!(page["limit"], 500);
    assert_eq!(page["students"].as_array().map(Vec::len), Some(5));

    // The other group's gradebook has only the outsider, with the essay graded 100.
    let other = gradebook(&app, at_, &format!("group_id={g2}&module_id={}", w.m1)).await;
    assert_eq!(other["total"], 1);
    assert_eq!(other["students"][0]["student_id"], outsider.id);
    assert_row(
        &other["students"][0],
        &[essay, quiz_lesson],
        &BTreeMap::from([(essay, hw(100.0))]),
    );
    // In the other module the group's only work is Anna's Chemistry homework.
    let chem = gradebook(
        &app,
        &w.chemistry_teacher,
        &format!("group_id={}&module_id={}", w.g1, w.m2),
    )
    .await;
    let rows = chem["students"].as_array().expect("students");
    assert_eq!(rows.len(), 5);
    for row in rows {
        let want = if row["student_id"] == anna.id {
            BTreeMap::from([(reaction, hw(10.0))])
        } else {
            BTreeMap::new()
        };
        assert_row(row, &[reaction], &want);
    }
}

// ---------------------------------------------------------------------------------------------
// Exports

async fn exports_are_attachments_with_the_same_numbers<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let (at_, bt) = (&w.algebra_teacher, &w.biology_teacher);
    let formula = "=HYPERLINK(\"https://evil.example\",\"click\")";
    let names = [formula, "+1", "-2", "@x", "Иванова, Анна \"Аня\"", "Петров Пётр"];
    let mut students = Vec::new();
    for name in names {
        students.push(enrol(&app, &w.admin, w.g1, name).await);
    }
    let essay = lesson(&app, at_, w.algebra, "Эссе", "pdf").await;
    let q = quiz(&app, at_, w.algebra, 1).await;
    let quiz_lesson = test_lesson(&app, at_, w.algebra, "Контрольная", q.id).await;
    // A title a spreadsheet would run as a formula, in the students' own exports.
    let lab = lesson(&app, bt, w.biology, "+Лабораторная", "video").await;

    // Student i: essay graded 10·(i+1) except the last (pending); i right answers of 3 for i < 4;
    // lab pending for the even ones.
    let mut cells: BTreeMap<i64, BTreeMap<i64, Cell>> = BTreeMap::new();
    for (i, s) in students.iter().enumerate() {
        let mine = cells.entry(s.id).or_default();
        let sub = hand_in(&app, s, essay).await;
        if i + 1 < students.len() {
            let g = 10 * (i as i64 + 1);
            grade(&app, at_, sub, g).await;
            mine.insert(
                essay,
                Cell {
                    homework: Some(g as f64),
                    ..Cell::default()
                },
            );
        } else {
            mine.insert(
                essay,
                Cell {
                    pending: true,
                    ..Cell::default()
                },
            );
        }
        if i < 4 {
            take(&app, s, &q, i).await;
            mine.insert(
                quiz_lesson,
                Cell {
                    test: Some(score(i, 3)),
                    ..Cell::default()
                },
            );
        }
        if i % 2 == 0 {
            hand_in(&app, s, lab).await;
            mine.insert(
                lab,
                Cell {
                    pending: true,
                    ..Cell::default()
                },
            );
        }
    }
    let lessons = [essay, quiz_lesson, lab];
    let valid = format!("group_id={}&module_id={}", w.g1, w.m1);
    let book = gradebook(&app, &w.admin, &valid).await;
    let rows = book["students"].as_array().expect("students").clone();
    assert_eq!(rows.len(), names.len());
    for row in &rows {
        let id = row["student_id"].as_i64().expect("id");
        assert_row(row, &lessons, &cells[&id]);
    }

    // CSV: a byte order mark, CRLF, formula-looking names neutralised, the gradebook's numbers.
    let r = get(
        &app,
        &format!("/grades/gradebook/export?lang=en&{valid}&format=csv"),
        Some(&w.admin),
    )
    .await;
    assert_attachment(&r, CSV_TYPE, "csv");
    assert!(r.bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 byte order mark");
    let text = std::str::from_utf8(&r.bytes).expect("UTF-8");
    assert!(text.ends_with("\r\n"));
    assert_eq!(text.matches('\n').count(), text.matches("\r\n").count(), "CRLF only");
    assert_eq!(
        text.matches("\r\n").count(),
        1 + names.len(),
        "a header and a line per student"
    );
    let iin = |name: &str| &students[names.iter().position(|n| *n == name).expect("a name")].iin;
    for line in [
        format!(
            "{},\"'=HYPERLINK(\"\"https://evil.example\"\",\"\"click\"\")\",",
            iin(formula)
        ),
        format!("{},\"'+1\",", iin("+1")),
        format!("{},\"'-2\",", iin("-2")),
        format!("{},\"'@x\",", iin("@x")),
        format!("{},\"Иванова, Анна \"\"Аня\"\"\",", iin("Иванова, Анна \"Аня\"")),
    ] {
        assert!(
            text.split("\r\n").any(|l| l.starts_with(&line)),
            "a line starting {line:?} in {text}"
        );
    }
    let csv = parse_csv(&r.bytes);
    let header = &csv[0];
    assert_eq!(header.len(), 2 + lessons.len() + 3);
    assert_eq!(&header[..2], ["IIN", "Full name"]);
    assert_eq!(&header[5..], ["Average", "Counted", "Pending"]);
    for (h, (subject, title)) in
        header[2..5]
            .iter()
            .zip([(ALGEBRA, "Эссе"), (ALGEBRA, "Контрольная"), (BIOLOGY, "+Лабораторная")])
    {
        assert!(h.contains(subject) && h.contains(title), "column {h:?}");
    }
    for field in csv.iter().flatten() {
        assert!(!field.starts_with(['=', '+', '-', '@']), "a live formula: {field:?}");
    }
    assert_eq!(csv.len(), 1 + rows.len());
    // The export lists the students in the language's alphabetical order.
    let mut rows = rows;
    edu_core::i18n::Collation::new(edu_core::i18n::Lang::En)
        .sort_by_key(&mut rows, |r| r["full_name"].as_str().unwrap_or_default());
    for (line, row) in csv[1..].iter().zip(&rows) {
        let id = row["student_id"].as_i64().expect("id");
        let name = row["full_name"].as_str().expect("name");
        assert_eq!(line[0], row["iin"].as_str().expect("iin"), "the gradebook's order");
        assert_eq!(line[1], csv_text(name));
        let mine = &cells[&id];
        let mut counted = Vec::new();
        let mut pending = 0;
        for (field, lesson) in line[2..5].iter().zip(lessons) {
            let c = mine.get(&lesson).copied().unwrap_or_default();
            // A test lesson shows its test, any other its homework.
            let value = if lesson == quiz_lesson { c.test } else { c.homework };
            let want = match value {
                Some(v) => round2(v).to_string(),
                None if c.pending => "pending".to_owned(),
                None => String::new(),
            };
            assert_eq!(field, &want, "{name}, lesson {lesson}");
            counted.extend(c.homework);
            counted.extend(c.test);
            pending += usize::from(c.pending);
        }
        let average = mean(&counted).map(|a| round2(a).to_string()).unwrap_or_default();
        assert_eq!(
            line[5..],
            [average, counted.len().to_string(), pending.to_string()],
            "{name}"
        );
    }
    assert!(
        csv.iter().any(|l| l[3] == "33.33"),
        "a fractional score, as it is: {csv:?}"
    );

    // XLSX, asked for or by default, holds the same values (names as plain text).
    let xlsx = get(
        &app,
        &format!("/grades/gradebook/export?lang=en&{valid}&format=xlsx"),
        Some(&w.admin),
    )
    .await;
    assert_attachment(&xlsx, XLSX_TYPE, "xlsx");
    let sheet = read_xlsx(&xlsx.bytes);
    assert_same_sheet(&csv, &sheet);
    assert!(
        sheet.iter().any(|r| r[1] == Data::String(formula.to_owned())),
        "the name is kept as text"
    );
    let default = get(
        &app,
        &format!("/grades/gradebook/export?lang=en&{valid}"),
        Some(&w.admin),
    )
    .await;
    assert_attachment(&default, XLSX_TYPE, "xlsx");
    assert!(default.bytes.starts_with(b"PK"), "a zip container");
    assert_same_sheet(&csv, &read_xlsx(&default.bytes));

    // A teacher's export has their lessons only, and the averages over them.
    let r = get(
        &app,
        &format!("/grades/gradebook/export?lang=en&{valid}&format=csv"),
        Some(bt),
    )
    .await;
    assert_attachment(&r, CSV_TYPE, "csv");
    let teacher_csv = parse_csv(&r.bytes);
    assert_eq!(teacher_csv[0].len(), 2 + 1 + 3);
    for line in &teacher_csv[1..] {
        let student = students.iter().find(|s| s.iin == line[0]).expect("a student");
        let pending = cells[&student.id].get(&lab).is_some_and(|c| c.pending);
        let want = if pending {
            ["pending", "", "0", "1"]
        } else {
            ["", "", "0", "0"]
        };
        assert_eq!(line[2..], want, "{}", line[1]);
    }

    // Guards: students and teachers of other modules get no gradebook export.
    for who in [&students[0], &w.chemistry_teacher] {
        get(
            &app,
            &format!("/grades/gradebook/export?lang=en&{valid}&format=csv"),
            Some(who),
        )
        .await
        .expect_error(403, "forbidden");
    }

    // A student's own export is a spreadsheet of their own items only.
    let me = &students[1];
    let r = get(&app, "/lessons/student/grades/export?lang=en&format=csv", Some(me)).await;
    assert_attachment(&r, CSV_TYPE, "csv");
    let mine = parse_csv(&r.bytes);
    let items = flat(&app, me).await;
    // Items, then a subject, a module and the overall average.
    assert_eq!(mine.len(), 1 + items.len() + 1 + 1 + 1);
    let grades: Vec<&str> = mine[1..=items.len()].iter().map(|l| l[4].as_str()).collect();
    assert_eq!(grades, ["20", "33.33"], "essay 20, one of three right");
    let r = get(&app, "/lessons/student/grades/export?lang=en&format=xlsx", Some(me)).await;
    assert_attachment(&r, XLSX_TYPE, "xlsx");
    assert_same_sheet(&mine, &read_xlsx(&r.bytes));
    // The first student's export names the lab, whose title is neutralised like any text.
    let r = get(
        &app,
        "/lessons/student/grades/export?lang=en&format=csv",
        Some(&students[0]),
    )
    .await;
    assert_attachment(&r, CSV_TYPE, "csv");
    let theirs = parse_csv(&r.bytes);
    assert!(
        theirs.iter().any(|l| l[2] == "'+Лабораторная" && l[3] == "homework"),
        "{theirs:?}"
    );
    for field in theirs.iter().flatten() {
        assert!(!field.starts_with(['=', '+', '-', '@']), "a live formula: {field:?}");
    }
    let r = get(
        &app,
        "/lessons/student/grades/export?lang=en&format=xlsx",
        Some(&students[0]),
    )
    .await;
    let sheet = read_xlsx(&r.bytes);
    assert_same_sheet(&theirs, &sheet);
    assert!(sheet.iter().any(|l| l[2] == Data::String("+Лабораторная".to_owned())));
}

/// A teacher of a module reads the gradebook of the groups that study it, not the roster (names
/// and IINs) of any group at all; an administrator still reads every group.
async fn a_teachers_gradebook_covers_only_groups_of_the_module<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let enrolled = enrol(&app, &w.admin, w.g1, "Студент Модуля").await;
    // A group that has no access to m1.
    let g3 = new_group(&app, &w.admin, "ИС-43").await;
    let stranger = enrol(&app, &w.admin, g3, "Посторонний Студент").await;
    let essay = lesson(&app, &w.algebra_teacher, w.algebra, "Эссе", "pdf").await;
    hand_in(&app, &enrolled, essay).await;

    let book = gradebook(
        &app,
        &w.algebra_teacher,
        &format!("group_id={}&module_id={}", w.g1, w.m1),
    )
    .await;
    assert_eq!(book["students"][0]["iin"], enrolled.iin);
    for route in ["/grades/gradebook", "/grades/gradebook/export"] {
        let path = format!("{route}?group_id={g3}&module_id={}&format=csv", w.m1);
        let r = get(&app, &path, Some(&w.algebra_teacher)).await;
        assert!(
            matches!(r.status, 403 | 404),
            "{path}: a group outside the module is not the teacher's to read: {} {}",
            r.status,
            r.body
        );
        let code = if r.status == 403 { "forbidden" } else { "not_found" };
        r.expect_error(r.status, code);
        let text = String::from_utf8_lossy(&r.bytes);
        assert!(
            !text.contains(&stranger.iin) && !text.contains("Посторонний"),
            "{path}: {text}"
        );
        let admin = get(&app, &path, Some(&w.admin)).await;
        assert_eq!(admin.status, 200, "{path}: an administrator reads every group");
        assert!(String::from_utf8_lossy(&admin.bytes).contains(&stranger.iin));
    }
}

/// Exports in Russian, Kazakh or English: `?lang=` first, then `Accept-Language`, then the
/// deployment's default (Russian). Headers and markers in the language, students in its
/// alphabetical order, and a CSV split by `;` with decimal commas for ru and kk (`sep=` overrides).
async fn exports_speak_the_schools_language<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let names = [
        "Ұлан Бек",
        "Ли Анна",
        "Қасымов Дәурен",
        "Ахмет Ерлан",
        "Яковлев Иван",
        "Әлиева Дана",
    ];
    let mut students = Vec::new();
    for name in names {
        students.push(enrol(&app, &w.admin, w.g1, name).await);
    }
    let essay = lesson(&app, &w.algebra_teacher, w.algebra, "Эссе", "pdf").await;
    let lab = lesson(&app, &w.algebra_teacher, w.algebra, "Лабораторная", "pdf").await;
    let graded = hand_in(&app, &students[0], essay).await;
    grade(&app, &w.algebra_teacher, graded, 87).await;
    let graded = hand_in(&app, &students[0], lab).await;
    grade(&app, &w.algebra_teacher, graded, 90).await;
    hand_in(&app, &students[1], essay).await;
    let valid = format!("group_id={}&module_id={}", w.g1, w.m1);
    let export = |query: &str, accept: Option<&str>| {
        let mut req = app.request(
            Method::GET,
            &format!("/grades/gradebook/export?{valid}{query}"),
            Some(&w.admin),
        );
        if let Some(accept) = accept {
            req = req.header("accept-language", accept);
        }
        send(req)
    };
    let order = |lang: edu_core::i18n::Lang| {
        let mut sorted = names.to_vec();
        edu_core::i18n::Collation::new(lang).sort_by_key(&mut sorted, |n| n);
        sorted
    };
    let kazakh_order = order(edu_core::i18n::Lang::Kk);
    assert_eq!(kazakh_order[..3], ["Ахмет Ерлан", "Әлиева Дана", "Қасымов Дәурен"]);
    assert_eq!(kazakh_order[4..], ["Ұлан Бек", "Яковлев Иван"]);

    // Kazakh, as the browser asks.
    let r = export("&format=csv", Some("kk-KZ,kk;q=0.9,ru;q=0.8")).await;
    assert_attachment(&r, CSV_TYPE, "csv");
    assert_eq!(r.headers["content-language"], "kk");
    let csv = parse_csv_by(&r.bytes, ';');
    assert_eq!(&csv[0][..2], ["ЖСН", "Аты-жөні"]);
    assert_eq!(csv[0][4..], ["Орташа балл", "Есепке алынған баға", "Тексеруді күтуде"]);
    let listed: Vec<&str> = csv[1..].iter().map(|l| l[1].as_str()).collect();
    assert_eq!(listed, kazakh_order, "the Kazakh alphabet, not code points");
    let ulan = &csv[1 + kazakh_order.iter().position(|n| *n == "Ұлан Бек").expect("listed")];
    assert_eq!(ulan[2..], ["87", "90", "88,5", "2", "0"], "a decimal comma");
    let li = &csv[1 + kazakh_order.iter().position(|n| *n == "Ли Анна").expect("listed")];
    assert_eq!(li[2], "тексерілуде", "the pending marker in Kazakh");

    // ?lang= wins over Accept-Language; sep= over the language's separator.
    let r = export("&format=csv&lang=ru", Some("kk")).await;
    assert_eq!(r.headers["content-language"], "ru");
    let csv = parse_csv_by(&r.bytes, ';');
    assert_eq!(csv[0][..2], ["ИИН", "ФИО"]);
    assert_eq!(csv[0][4..], ["Средний балл", "Учтено оценок", "Ждут проверки"]);
    let listed: Vec<&str> = csv[1..].iter().map(|l| l[1].as_str()).collect();
    assert_eq!(listed, order(edu_core::i18n::Lang::Ru));
    let r = export("&format=csv&lang=ru&sep=comma", None).await;
    let csv = parse_csv(&r.bytes);
    assert_eq!(csv[0][..2], ["ИИН", "ФИО"]);
    assert!(
        csv.iter().any(|l| l.get(4).map(String::as_str) == Some("88.5")),
        "{csv:?}"
    );

    // A language we do not speak: the deployment's (Russian by default). English: commas.
    let r = export("&format=csv", Some("de-DE,de;q=0.9")).await;
    assert_eq!(r.headers["content-language"], "ru");
    assert_eq!(parse_csv_by(&r.bytes, ';')[0][..2], ["ИИН", "ФИО"]);
    let r = export("&format=csv", Some("en-GB,en;q=0.9")).await;
    let csv = parse_csv(&r.bytes);
    assert_eq!(csv[0][..2], ["IIN", "Full name"]);
    assert!(csv.iter().any(|l| l[1] == "Ли Анна" && l[2] == "pending"));

    // XLSX in Kazakh: the same headers, numbers as numbers.
    let r = export("&format=xlsx", Some("kk")).await;
    let sheet = read_xlsx(&r.bytes);
    assert_eq!(sheet[0][0], Data::String("ЖСН".into()));
    assert!(sheet.iter().any(|l| l[4] == Data::Float(88.5)), "{sheet:?}");

    // A student's own export in Kazakh.
    let r = send(
        app.request(
            Method::GET,
            "/lessons/student/grades/export?format=csv",
            Some(&students[0]),
        )
        .header("accept-language", "kk"),
    )
    .await;
    let mine = parse_csv_by(&r.bytes, ';');
    assert_eq!(
        mine[0],
        ["Модуль", "Пән", "Сабақ", "Жұмыс түрі", "Баға", "Тапсырылды (UTC)"]
    );
    assert_eq!(mine[1][3], "үй тапсырмасы");
    assert_eq!(mine.last().map(|l| l[3].as_str()), Some("жалпы орташа балл"));
    assert_eq!(mine.last().map(|l| l[4].as_str()), Some("88,5"));
}
