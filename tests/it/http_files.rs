//! Lessons, lesson documents, avatars, homework, downloads and grades over real HTTP, on both
//! backends, with real multipart bodies and real file bytes. Each test tries to break one rule of
//! the file and access rules (ownership, the upload allowlist and sniffing, size limits enforced while streaming,
//! nothing left behind in the file store) and checks the exact status, body, bytes and files.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use edu_core::{FsckReport, Role, Store};
use edu_tests::{
    Actor, JPEG, PDF, PNG, Reply, TestApp, add_members, assign, call, get, link, new_group, new_module, new_subject,
    padded, raw_reply, send,
};
use futures_util::StreamExt;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

edu_tests::on_both_backends!(
    lesson_create_by_the_subjects_teacher_and_an_admin,
    lesson_create_refuses_other_teachers_and_students,
    lesson_create_in_an_unknown_subject_is_404,
    lesson_create_validates_type_url_and_test,
    lesson_documents_reach_linked_groups_only,
    hidden_lessons_answer_404,
    deleting_a_lesson_checks_the_teacher_and_removes_its_files,
    lessons_are_edited_in_place_keeping_their_homework,
    students_cannot_upload_lesson_files,
    disallowed_extensions_are_415,
    content_that_is_not_what_the_name_says_is_415,
    lesson_files_over_50_mib_are_413_while_streaming,
    huge_declared_lengths_are_413_before_reading,
    empty_files_are_refused,
    avatars_are_served_publicly_as_uploaded,
    avatars_must_be_raster_images_of_their_named_type,
    avatars_over_5_mib_are_413,
    replacing_an_avatar_removes_the_old_file,
    enrolled_students_submit_files_and_a_comment,
    resubmitting_keeps_every_submission_newest_first,
    homework_needs_files_or_a_comment,
    six_homework_files_are_refused,
    homework_over_20_mib_is_413,
    homework_is_only_for_enrolled_students,
    students_see_only_their_own_submissions,
    teachers_list_submissions_searching_names_in_any_case,
    homework_downloads_for_owner_teacher_and_admin_only,
    traversal_attempts_are_404_and_serve_nothing_outside_the_store,
    range_requests_return_exactly_the_bytes_asked_for,
    teachers_grade_from_0_to_100,
    deleting_submissions,
    interrupted_uploads_leave_nothing_behind,
    two_hundred_parallel_submissions_are_all_kept,
);

const MIB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// The world of each test

/// Two modules, each with one subject, one teacher and one linked group; a lesson in the first.
struct World {
    admin: Actor,
    /// Teaches `s1` (module `m1`).
    teacher: Actor,
    /// Teaches `s2` (module `m2`): a teacher of another subject.
    other_teacher: Actor,
    /// In `g1`, linked to `m1`.
    student: Actor,
    /// Also in `g1`.
    classmate: Actor,
    /// In `g2`, linked to `m2`: a student of another group.
    outsider: Actor,
    g1: i64,
    s1: i64,
    /// A video lesson of `s1`, made by `teacher` over HTTP.
    lesson: i64,
}

async fn world<S: Store>(app: &TestApp<S>) -> World {
    let admin = app.admin().await;
    let (teacher, other_teacher) = (app.teacher().await, app.teacher().await);
    let (student, classmate, outsider) = (app.student().await, app.student().await, app.student().await);
    let g1 = new_group(app, &admin, "ИС-31").await;
    let g2 = new_group(app, &admin, "ИС-32").await;
    let m1 = new_module(app, &admin, "Программирование").await;
    let m2 = new_module(app, &admin, "Сети").await;
    let s1 = new_subject(app, &admin, m1, "Rust").await;
    let s2 = new_subject(app, &admin, m2, "TCP/IP").await;
    assign(app, &admin, &teacher, m1, s1).await;
    assign(app, &admin, &other_teacher, m2, s2).await;
    link(app, &admin, g1, m1).await;
    link(app, &admin, g2, m2).await;
    add_members(app, &admin, g1, &[student.id, classmate.id]).await;
    add_members(app, &admin, g2, &[outsider.id]).await;
    let lesson = create_lesson(
        app,
        &teacher,
        s1,
        json!({"title": "Владение", "type": "video", "content_url": "https://video.example/ownership"}),
    )
    .await
    .id();
    World {
        admin,
        teacher,
        other_teacher,
        student,
        classmate,
        outsider,
        g1,
        s1,
        lesson,
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

async fn edit_lesson<S: Store>(app: &TestApp<S>, who: &Actor, lesson: i64, body: Value) -> Reply {
    call(app, Method::PATCH, &format!("/lessons/{lesson}"), Some(who), Some(body)).await
}

async fn create_lesson<S: Store>(app: &TestApp<S>, who: &Actor, subject: i64, body: Value) -> Reply {
    call(
        app,
        Method::POST,
        &format!("/lessons/add/subjects/{subject}"),
        Some(who),
        Some(body),
    )
    .await
}

fn part(name: &str, bytes: &[u8]) -> Part {
    Part::bytes(bytes.to_vec())
        .file_name(name.to_owned())
        .mime_str("application/octet-stream")
        .expect("a mime type")
}

/// `count` chunks of `size` bytes for a streamed body, the first starting with `head`.
fn chunks(head: &[u8], size: usize, count: usize) -> Vec<Result<Vec<u8>, std::io::Error>> {
    (0..count)
        .map(|i| Ok(if i == 0 { padded(head, size) } else { padded(b"", size) }))
        .collect()
}

/// `POST /lessons/upload/lesson-file` with the file as field `file`.
async fn upload_lesson_file<S: Store>(app: &TestApp<S>, who: &Actor, name: &str, bytes: &[u8]) -> Reply {
    send(
        app.request(Method::POST, "/lessons/upload/lesson-file", Some(who))
            .multipart(Form::new().part("file", part(name, bytes))),
    )
    .await
}

/// `POST /user/upload-photo` with the file as field `photo`.
async fn upload_photo<S: Store>(app: &TestApp<S>, who: &Actor, name: &str, bytes: &[u8]) -> Reply {
    send(
        app.request(Method::POST, "/user/upload-photo", Some(who))
            .multipart(Form::new().part("photo", part(name, bytes))),
    )
    .await
}

fn homework_form(files: &[(&str, &[u8])], comment: Option<&str>) -> Form {
    let mut form = Form::new();
    for (name, bytes) in files {
        form = form.part("files", part(name, bytes));
    }
    if let Some(c) = comment {
        form = form.text("comment", c.to_owned());
    }
    form
}

async fn submit<S: Store>(
    app: &TestApp<S>,
    who: &Actor,
    lesson: i64,
    files: &[(&str, &[u8])],
    comment: Option<&str>,
) -> Reply {
    send(
        app.request(Method::POST, &format!("/lessons/{lesson}/submit-homework"), Some(who))
            .multipart(homework_form(files, comment)),
    )
    .await
}

async fn my_submissions<S: Store>(app: &TestApp<S>, who: &Actor, lesson: i64) -> Reply {
    get(app, &format!("/lessons/{lesson}/my-submissions"), Some(who)).await
}

async fn all_submissions<S: Store>(app: &TestApp<S>, who: &Actor, lesson: i64, query: &str) -> Reply {
    get(app, &format!("/lessons/{lesson}/submissions/files{query}"), Some(who)).await
}

async fn grade<S: Store>(app: &TestApp<S>, who: &Actor, submission: i64, body: Value) -> Reply {
    call(
        app,
        Method::PATCH,
        &format!("/lessons/submission/{submission}/grade"),
        Some(who),
        Some(body),
    )
    .await
}

/// The ids of a list of submissions, in the order given.
fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|s| s["id"].as_i64().expect("an id"))
        .collect()
}

/// Sends an upload the server must refuse before reading all of it (for its size), and reads the
/// refusal. The server answers, then closes with part of the body unread, which TCP turns into a
/// reset that can overtake the answer on its way into the client. An answer lost that way is asked
/// for again, a few times; a server that does not answer still fails the test. A streamed body must
/// answer within a minute, whether or not the stream ever ends.
async fn refused_early(make: impl Fn() -> reqwest::RequestBuilder) -> Reply {
    const ATTEMPTS: usize = 5;
    for attempt in 1..=ATTEMPTS {
        let sent = tokio::time::timeout(Duration::from_secs(60), make().send())
            .await
            .expect("the server answered without waiting for the whole body");
        let lost = match sent {
            Ok(res) => {
                let (status, headers) = (res.status().as_u16(), res.headers().clone());
                match res.bytes().await {
                    Ok(bytes) => return Reply::new(status, headers, bytes.to_vec()),
                    Err(e) => e,
                }
            }
            Err(e) => e,
        };
        assert!(attempt < ATTEMPTS, "no answer in {ATTEMPTS} attempts: {lost}");
    }
    unreachable!("the loop returns or fails")
}

/// A body stream of `chunks(head, size, count)` that then never ends.
fn endless(head: &'static [u8], size: usize, count: usize) -> reqwest::Body {
    let stream = futures_util::stream::iter(chunks(head, size, count)).chain(futures_util::stream::pending());
    reqwest::Body::wrap_stream(stream)
}

/// A raw `GET` with a bearer token, for paths a client library would normalise.
async fn raw_get<S: Store>(app: &TestApp<S>, target: &str, who: Option<&Actor>) -> Reply {
    let auth = who
        .map(|a| format!("Authorization: {}\r\n", a.bearer()))
        .unwrap_or_default();
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\n{auth}Connection: close\r\n\r\n",
        app.addr
    );
    raw_reply(app.addr, request.into_bytes()).await
}

/// A multipart upload over raw TCP that declares `declared` bytes and sends only the start: the
/// server must answer without waiting for the rest.
async fn raw_declared_upload<S: Store>(
    app: &TestApp<S>,
    path: &str,
    who: &Actor,
    field: &str,
    declared: u64,
) -> (Reply, Duration) {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"big.pdf\"\r\n\r\n%PDF-1.4\n",
        app.addr,
        who.bearer()
    );
    let started = Instant::now();
    let r = raw_reply(app.addr, head.into_bytes()).await;
    (r, started.elapsed())
}

// ---------------------------------------------------------------------------------------------
// The file store

/// Every file under the store's directory, as paths relative to it.
fn stored_files<S: Store>(app: &TestApp<S>) -> BTreeSet<String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if let Ok(rel) = path.strip_prefix(root) {
                out.insert(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let root = app.fx.files_dir.path();
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

/// The storage key behind a url given out: a lesson document's `/static/lesson_docs/<name>`, a
/// homework file's `/files/download/homework/lesson_<n>/<name>` or `/files/download/<key>`.
fn key_of(url: &str) -> String {
    if let Some(name) = url.strip_prefix("/static/lesson_docs/") {
        return format!("lessons/{name}");
    }
    let rest = url
        .strip_prefix("/files/download/")
        .unwrap_or_else(|| panic!("a download url: {url}"));
    match rest.strip_prefix("homework/lesson_") {
        Some(rest) => format!("homework/{}", rest.split_once('/').expect("lesson_<n>/<name>").1),
        None => rest.to_owned(),
    }
}

/// Waits (briefly) until the store and the rows agree: no orphan and no missing file. Cleanup of an
/// upload that was in flight may finish a moment after its response.
async fn assert_store_clean<S: Store>(app: &TestApp<S>) -> FsckReport {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let report = app.fx.platform.fsck(false, Duration::ZERO).await.expect("fsck");
        if report.is_clean() {
            return report;
        }
        assert!(
            Instant::now() < deadline,
            "the file store and the rows disagree: {report:?}; files: {:?}",
            stored_files(app)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Creating lessons

async fn lesson_create_by_the_subjects_teacher_and_an_admin<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let r = create_lesson(
        &app,
        &w.teacher,
        w.s1,
        json!({"title": "  Заимствование ", "type": "pdf", "content_url": "https://docs.example/borrow.pdf",
               "description": null}),
    )
    .await;
    let body = r.expect(200);
    let id = r.id();
    assert!(id > w.lesson, "a fresh id: {body}");
    assert_eq!(body["type"], "pdf");
    assert_eq!(body["kind"], "pdf");
    assert_eq!(body["title"], "Заимствование", "the title is trimmed");
    assert_eq!(body["subject_id"], w.s1);
    assert_eq!(body["content_url"], "https://docs.example/borrow.pdf");
    assert_eq!(body["description"], "", "no description answers \"\", as before");
    assert_eq!(body["result"], Value::Null);

    // The previous frontend's label is kept as sent and is a test, whatever its case; the admin
    // may create it.
    let r = create_lesson(&app, &w.admin, w.s1, json!({"title": "Контрольная", "type": "Тест"})).await;
    assert_eq!(
        (&r.expect(200)["type"], &r.body["kind"]),
        (&json!("Тест"), &json!("test"))
    );
    let test_lesson = r.id();
    let r = create_lesson(&app, &w.teacher, w.s1, json!({"title": "Тест 2", "type": "тест"})).await;
    assert_eq!(
        (&r.expect(200)["type"], &r.body["kind"]),
        (&json!("тест"), &json!("test"))
    );

    // The student of the linked group sees them.
    let r = get(&app, &format!("/lessons/{test_lesson}"), Some(&w.student)).await;
    assert_eq!(r.expect(200)["type"], "Тест");
    assert_eq!(r.body["kind"], "test");
    assert_eq!(r.body["id"], test_lesson);
    let listed = get(&app, &format!("/access/subjects/{}/lessons", w.s1), Some(&w.student)).await;
    assert_eq!(listed.expect(200).as_array().expect("lessons").len(), 4);
}

async fn lesson_create_refuses_other_teachers_and_students<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let body = json!({"title": "Чужой урок", "type": "video", "content_url": "https://video.example/x"});
    create_lesson(&app, &w.other_teacher, w.s1, body.clone())
        .await
        .expect_error(403, "forbidden");
    create_lesson(&app, &w.student, w.s1, body.clone())
        .await
        .expect_error(403, "forbidden");
    // Even a malformed body from a student is refused for who they are, not for the body.
    create_lesson(&app, &w.student, w.s1, json!({"type": "nonsense"}))
        .await
        .expect_error(403, "forbidden");
    call(
        &app,
        Method::POST,
        &format!("/lessons/add/subjects/{}", w.s1),
        None,
        Some(body),
    )
    .await
    .expect_error(401, "unauthorized");
    let listed = get(&app, &format!("/access/subjects/{}/lessons", w.s1), Some(&w.admin)).await;
    assert_eq!(ids(listed.expect(200)), [w.lesson], "nothing was created");
}

async fn lesson_create_in_an_unknown_subject_is_404<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let body = json!({"title": "Урок", "type": "video", "content_url": "https://video.example/x"});
    create_lesson(&app, &w.admin, 987_654, body.clone())
        .await
        .expect_error(404, "not_found");
    create_lesson(&app, &w.teacher, 987_654, body.clone())
        .await
        .expect_error(404, "not_found");
    let r = call(
        &app,
        Method::POST,
        "/lessons/add/subjects/abc",
        Some(&w.admin),
        Some(body),
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.body);
}

async fn lesson_create_validates_type_url_and_test<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    for kind in ["audio", "", "tests", "видеоурок", "Семинар", "Лекция1"] {
        create_lesson(&app, &w.teacher, w.s1, json!({"title": "Урок", "type": kind}))
            .await
            .expect_error(422, "validation_error");
    }
    for url in [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "//evil.example/x",
        "https://evil.example/a b",
        "/files/download/homework/0123456789abcdef0123456789abcdef.pdf",
        "/files/download/lessons/0123456789abcdef0123456789abcdef.pdf",
        "/files/download/../secret.key",
        "/static/lesson_docs/0123456789abcdef0123456789abcdef.pdf",
        "static/lesson_docs/0123456789abcdef0123456789abcdef.pdf",
        "/static/lesson_docs/old.docx",
        "/static/lesson_docs/..%2f..%2fsecret.key",
        "/static/homework/lesson_1/0123456789abcdef0123456789abcdef.pdf",
        "/test/7",
    ] {
        let r = create_lesson(
            &app,
            &w.teacher,
            w.s1,
            json!({"title": "Урок", "type": "video", "content_url": url}),
        )
        .await;
        r.expect_error(422, "validation_error");
    }
    create_lesson(&app, &w.teacher, w.s1, json!({"title": "   ", "type": "video"}))
        .await
        .expect_error(422, "validation_error");
    create_lesson(&app, &w.teacher, w.s1, json!({"type": "video"}))
        .await
        .expect_error(422, "validation_error");
    // A test that does not exist in the subject.
    create_lesson(
        &app,
        &w.teacher,
        w.s1,
        json!({"title": "Тест", "type": "test", "test_id": 4242}),
    )
    .await
    .expect_error(404, "not_found");
    let listed = get(&app, &format!("/access/subjects/{}/lessons", w.s1), Some(&w.teacher)).await;
    assert_eq!(ids(listed.expect(200)), [w.lesson], "nothing was created");
}

async fn lesson_documents_reach_linked_groups_only<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let r = upload_lesson_file(&app, &w.teacher, "Лекция 1.pdf", PDF).await;
    let up = r.expect(200);
    let url = up["url"].as_str().expect("a url").to_owned();
    assert!(
        url.starts_with("/static/lesson_docs/") && url.ends_with(".pdf"),
        "the previous backend's form: {url}"
    );
    assert_eq!(up["file_name"], "Лекция 1.pdf");
    assert_eq!(up["size"], PDF.len());
    assert_eq!(up["content_type"], "application/pdf");
    assert!(
        stored_files(&app).contains(&key_of(&url)),
        "stored under its server-made key"
    );

    // Before a lesson uses it, only staff and its uploader may fetch it.
    get(&app, &url, Some(&w.student)).await.expect_error(404, "not_found");

    let r = create_lesson(
        &app,
        &w.teacher,
        w.s1,
        json!({"title": "Лекция", "type": "pdf", "content_url": url}),
    )
    .await;
    assert_eq!(r.expect(200)["content_url"], url.as_str());
    let lesson = r.id();

    let d = get(&app, &url, Some(&w.student)).await;
    d.expect(200);
    assert_eq!(d.bytes, PDF);
    assert_eq!(d.header("content-type"), Some("application/pdf"));
    assert!(
        d.header("content-disposition")
            .is_some_and(|c| c.starts_with("attachment")),
        "{:?}",
        d.header("content-disposition")
    );
    get(&app, &url, Some(&w.classmate)).await.expect(200);
    get(&app, &url, Some(&w.admin)).await.expect(200);

    // A student of another group, and a teacher of another subject, get nothing.
    get(&app, &url, Some(&w.outsider)).await.expect_error(404, "not_found");
    get(&app, &url, Some(&w.other_teacher))
        .await
        .expect_error(404, "not_found");
    get(&app, &url, None).await.expect_error(401, "unauthorized");

    // The document belongs to that lesson now: another lesson cannot claim it.
    create_lesson(
        &app,
        &w.teacher,
        w.s1,
        json!({"title": "Копия", "type": "pdf", "content_url": url}),
    )
    .await
    .expect_error(422, "validation_error");
    let r = get(&app, &format!("/lessons/{lesson}"), Some(&w.student)).await;
    assert_eq!(r.expect(200)["content_url"], url.as_str());

    // A document another teacher uploaded cannot be taken for one's own lesson.
    let foreign = upload_lesson_file(&app, &w.other_teacher, "чужое.pdf", PDF).await;
    let foreign = foreign.expect(200)["url"].as_str().expect("url").to_owned();
    create_lesson(
        &app,
        &w.teacher,
        w.s1,
        json!({"title": "Чужое", "type": "pdf", "content_url": foreign}),
    )
    .await
    .expect_error(422, "validation_error");
}

// ---------------------------------------------------------------------------------------------
// Reading and deleting lessons

async fn hidden_lessons_answer_404<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let path = format!("/lessons/{}", w.lesson);
    let r = get(&app, &path, Some(&w.student)).await;
    assert_eq!(r.expect(200)["id"], w.lesson);
    assert_eq!(r.body["subject"]["id"], w.s1);
    get(&app, &path, Some(&w.teacher)).await.expect(200);
    get(&app, &path, Some(&w.admin)).await.expect(200);

    let hidden = get(&app, &path, Some(&w.outsider)).await;
    hidden.expect_error(404, "not_found");
    let missing = get(&app, "/lessons/9999999", Some(&w.outsider)).await;
    missing.expect_error(404, "not_found");
    assert_eq!(hidden.body, missing.body, "a hidden lesson answers like a missing one");
    get(&app, &path, Some(&w.other_teacher))
        .await
        .expect_error(404, "not_found");

    // A student who leaves the group loses it.
    call(
        &app,
        Method::DELETE,
        &format!("/admin/groups/{}/users/{}", w.g1, w.student.id),
        Some(&w.admin),
        None,
    )
    .await
    .expect(200);
    get(&app, &path, Some(&w.student)).await.expect_error(404, "not_found");
    get(&app, &path, None).await.expect_error(401, "unauthorized");
}

async fn deleting_a_lesson_checks_the_teacher_and_removes_its_files<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let url = upload_lesson_file(&app, &w.teacher, "slides.pdf", PDF)
        .await
        .expect(200)["url"]
        .as_str()
        .expect("url")
        .to_owned();
    let lesson = create_lesson(
        &app,
        &w.teacher,
        w.s1,
        json!({"title": "Слайды", "type": "pdf", "content_url": url}),
    )
    .await
    .id();
    let sub = submit(&app, &w.student, lesson, &[("work.png", PNG)], Some("готово")).await;
    let hw_url = sub.expect(200)["submission"]["files"][0]["url"]
        .as_str()
        .expect("file url")
        .to_owned();
    let keys = [key_of(&url), key_of(&hw_url)];
    let before = stored_files(&app);
    for k in &keys {
        assert!(before.contains(k), "{k} is stored: {before:?}");
    }

    let path = format!("/lessons/{lesson}");
    call(&app, Method::DELETE, &path, Some(&w.other_teacher), None)
        .await
        .expect_error(403, "forbidden");
    call(&app, Method::DELETE, &path, Some(&w.student), None)
        .await
        .expect_error(403, "forbidden");
    call(&app, Method::DELETE, &path, None, None)
        .await
        .expect_error(401, "unauthorized");
    get(&app, &url, Some(&w.student)).await.expect(200);

    let r = call(&app, Method::DELETE, &path, Some(&w.teacher), None).await;
    assert!(r.expect(200)["detail"].is_string());
    get(&app, &path, Some(&w.teacher)).await.expect_error(404, "not_found");
    get(&app, &url, Some(&w.teacher)).await.expect_error(404, "not_found");
    get(&app, &hw_url, Some(&w.student))
        .await
        .expect_error(404, "not_found");
    let after = stored_files(&app);
    for k in &keys {
        assert!(!after.contains(k), "{k} is removed from the store: {after:?}");
    }
    call(&app, Method::DELETE, &path, Some(&w.teacher), None)
        .await
        .expect_error(404, "not_found");
    // The other lesson is untouched, and the store agrees with the rows.
    get(&app, &format!("/lessons/{}", w.lesson), Some(&w.student))
        .await
        .expect(200);
    assert_store_clean(&app).await;
}

// ---------------------------------------------------------------------------------------------
// Uploads

async fn students_cannot_upload_lesson_files<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    upload_lesson_file(&app, &w.student, "notes.pdf", PDF)
        .await
        .expect_error(403, "forbidden");
    send(
        app.client
            .post(app.url("/lessons/upload/lesson-file"))
            .multipart(Form::new().part("file", part("notes.pdf", PDF))),
    )
    .await
    .expect_error(401, "unauthorized");
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
    // A teacher of another subject may upload (the document is bound when a lesson uses it).
    upload_lesson_file(&app, &w.other_teacher, "notes.pdf", PDF)
        .await
        .expect(200);
}

async fn disallowed_extensions_are_415<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let cases: [(&str, &[u8]); 8] = [
        ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"),
        (
            "logo.svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
        ),
        ("page.html", b"<!DOCTYPE html><html><script>alert(1)</script></html>"),
        ("page.htm", b"<html></html>"),
        ("run.js", b"alert(1)"),
        ("run.sh", b"#!/bin/sh\nrm -rf /\n"),
        ("no_extension", PDF),
        ("doc.pdf.exe", PDF),
    ];
    for (name, bytes) in cases {
        let r = upload_lesson_file(&app, &w.teacher, name, bytes).await;
        r.expect_error(415, "unsupported_media_type");
    }
    // Homework has the same allowlist.
    submit(&app, &w.student, w.lesson, &[("logo.svg", cases[1].1)], None)
        .await
        .expect_error(415, "unsupported_media_type");
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
    assert_store_clean(&app).await;
}

async fn content_that_is_not_what_the_name_says_is_415<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let html: &[u8] = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>";
    let cases: [(&str, &[u8]); 6] = [
        ("report.pdf", html),
        ("report.pdf", PNG),
        ("photo.png", PDF),
        ("photo.jpg", PNG),
        ("notes.txt", html),
        ("table.docx", PDF),
    ];
    for (name, bytes) in cases {
        let r = upload_lesson_file(&app, &w.teacher, name, bytes).await;
        assert_eq!(r.status, 415, "{name}: {}", r.body);
        r.expect_error(415, "unsupported_media_type");
    }
    // In homework, one disguised file spoils the whole submission.
    submit(
        &app,
        &w.student,
        w.lesson,
        &[("ok.pdf", PDF), ("evil.pdf", html)],
        Some("две работы"),
    )
    .await
    .expect_error(415, "unsupported_media_type");
    assert_eq!(my_submissions(&app, &w.student, w.lesson).await.expect(200), &json!([]));
    // The real thing passes.
    upload_lesson_file(&app, &w.teacher, "report.pdf", PDF)
        .await
        .expect(200);
    upload_lesson_file(&app, &w.teacher, "photo.JPG", JPEG)
        .await
        .expect(200);
    assert_eq!(stored_files(&app).len(), 2, "{:?}", stored_files(&app));
    assert_store_clean(&app).await;
}

async fn lesson_files_over_50_mib_are_413_while_streaming<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    // Exactly the limit is accepted.
    let r = upload_lesson_file(&app, &w.teacher, "exact.pdf", &padded(PDF, 50 * MIB)).await;
    assert_eq!(r.expect(200)["size"], 50 * MIB);
    // One byte more is not.
    let over = padded(PDF, 50 * MIB + 1);
    refused_early(|| {
        app.request(Method::POST, "/lessons/upload/lesson-file", Some(&w.teacher))
            .multipart(Form::new().part("file", part("over.pdf", &over)))
    })
    .await
    .expect_error(413, "payload_too_large");

    // Streamed with no Content-Length, and never finishing: the limit is found while reading, and
    // the answer comes without waiting for an end that never comes.
    refused_early(|| {
        let file = Part::stream(endless(PDF, 256 * 1024, 50 * 4 + 2)).file_name("stream.pdf");
        app.request(Method::POST, "/lessons/upload/lesson-file", Some(&w.teacher))
            .multipart(Form::new().part("file", file))
    })
    .await
    .expect_error(413, "payload_too_large");

    let files = stored_files(&app);
    assert_eq!(files.len(), 1, "only the accepted file is stored: {files:?}");
    assert_store_clean(&app).await;
}

async fn huge_declared_lengths_are_413_before_reading<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let homework = format!("/lessons/{}/submit-homework", w.lesson);
    let cases: [(&str, &Actor, &str, u64); 6] = [
        ("/lessons/upload/lesson-file", &w.teacher, "file", 60 * MIB as u64),
        ("/lessons/upload/lesson-file", &w.teacher, "file", 1 << 40),
        (homework.as_str(), &w.student, "files", 21 * MIB as u64),
        (homework.as_str(), &w.student, "files", u64::MAX / 2),
        ("/user/upload-photo", &w.student, "photo", 6 * MIB as u64),
        ("/user/upload-photo", &w.student, "photo", 1 << 40),
    ];
    for (path, who, field, declared) in cases {
        let (r, took) = raw_declared_upload(&app, path, who, field, declared).await;
        assert_eq!(r.status, 413, "{path} declaring {declared}: {}", r.body);
        r.expect_error(413, "payload_too_large");
        assert!(
            took < Duration::from_secs(10),
            "{path}: answered at once, not after waiting for the body ({took:?})"
        );
    }
    assert_eq!(my_submissions(&app, &w.student, w.lesson).await.expect(200), &json!([]));
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
}

async fn empty_files_are_refused<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let expect_empty_refused = |r: &Reply, what: &str| {
        assert!(r.status == 415 || r.status == 422, "{what}: {} {}", r.status, r.body);
        let code = if r.status == 415 {
            "unsupported_media_type"
        } else {
            "validation_error"
        };
        r.expect_error(r.status, code);
    };
    expect_empty_refused(
        &upload_lesson_file(&app, &w.teacher, "empty.pdf", b"").await,
        "lesson file",
    );
    expect_empty_refused(&upload_photo(&app, &w.student, "empty.png", b"").await, "photo");
    expect_empty_refused(
        &submit(&app, &w.student, w.lesson, &[("empty.pdf", b"")], Some("пусто")).await,
        "homework",
    );
    // A form without the file field at all.
    send(
        app.request(Method::POST, "/lessons/upload/lesson-file", Some(&w.teacher))
            .multipart(Form::new().text("title", "no file")),
    )
    .await
    .expect_error(422, "validation_error");
    // Not multipart at all.
    send(
        app.request(Method::POST, "/lessons/upload/lesson-file", Some(&w.teacher))
            .json(&json!({"file": "x"})),
    )
    .await
    .expect_error(400, "malformed_body");
    assert_eq!(my_submissions(&app, &w.student, w.lesson).await.expect(200), &json!([]));
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
}

// ---------------------------------------------------------------------------------------------
// Avatars

/// Where the photo of a profile is served (`/` + its `photo`), checked to be a server-made key in
/// the previous backend's form `static/photos/<name>`.
#[track_caller]
fn photo_path(user: &Value, ext: &str) -> String {
    let photo = user["photo"].as_str().expect("user.photo is set");
    let name = photo
        .strip_prefix("static/photos/")
        .unwrap_or_else(|| panic!("the previous backend's form static/photos/<name>: {photo}"));
    let (hex, e) = name.split_once('.').expect("an extension");
    assert_eq!(e, ext, "{photo}");
    assert!(
        hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        "a server-made name, not the client's: {photo}"
    );
    format!("/{photo}")
}

async fn avatars_are_served_publicly_as_uploaded<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let r = upload_photo(&app, &w.student, "../../me.png", PNG).await;
    let user = &r.expect(200)["user"];
    assert_eq!(user["iin"], w.student.iin.as_str());
    let photo = photo_path(user, "png");
    let served = get(&app, &photo, None).await;
    served.expect(200);
    assert_eq!(served.bytes, PNG);
    assert_eq!(served.header("content-type"), Some("image/png"));
    assert_eq!(served.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(served.header("content-length"), Some(PNG.len().to_string().as_str()));
    let key = photo.trim_start_matches("/static/");
    assert_eq!(
        stored_files(&app),
        BTreeSet::from([key.to_owned()]),
        "stored under the server's key only"
    );
    // The profile carries it from now on.
    let login = app.login(&w.student.iin, &w.student.password).await;
    assert_eq!(login["user"]["photo"], &photo[1..]);

    // A JPEG (any case of extension) is an image/jpeg.
    let r = upload_photo(&app, &w.teacher, "Фото.JPEG", JPEG).await;
    let photo = photo_path(&r.expect(200)["user"], "jpeg");
    let served = get(&app, &photo, None).await;
    served.expect(200);
    assert_eq!(served.bytes, JPEG);
    assert_eq!(served.header("content-type"), Some("image/jpeg"));

    // Unknown avatars are 404, and nothing else is served from there.
    get(&app, "/static/photos/0123456789abcdef0123456789abcdef.png", None)
        .await
        .expect_error(404, "not_found");
    get(&app, "/static/photos/secret.key", None)
        .await
        .expect_error(404, "not_found");
    send(
        app.client
            .post(app.url("/user/upload-photo"))
            .multipart(Form::new().part("photo", part("me.png", PNG))),
    )
    .await
    .expect_error(401, "unauthorized");
}

async fn avatars_must_be_raster_images_of_their_named_type<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let first = photo_path(
        &upload_photo(&app, &w.student, "me.png", PNG).await.expect(200)["user"],
        "png",
    );
    let svg: &[u8] = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>";
    let html: &[u8] = b"<html><body><script>alert(1)</script></body></html>";
    let cases: [(&str, &[u8]); 7] = [
        ("me.svg", svg),
        ("me.png", svg),
        ("me.jpg", PNG),
        ("me.png", html),
        ("me.gif", PNG),
        ("me.pdf", PDF),
        ("me.webp", PNG),
    ];
    for (name, bytes) in cases {
        let r = upload_photo(&app, &w.student, name, bytes).await;
        assert_eq!(r.status, 415, "{name}: {}", r.body);
        r.expect_error(415, "unsupported_media_type");
    }
    // The avatar is unchanged and still served.
    let login = app.login(&w.student.iin, &w.student.password).await;
    assert_eq!(login["user"]["photo"], &first[1..]);
    let served = get(&app, &first, None).await;
    served.expect(200);
    assert_eq!(served.bytes, PNG);
    assert_eq!(stored_files(&app).len(), 1, "{:?}", stored_files(&app));
    assert_store_clean(&app).await;
}

async fn avatars_over_5_mib_are_413<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let big = padded(PNG, 5 * MIB + 1);
    refused_early(|| {
        app.request(Method::POST, "/user/upload-photo", Some(&w.student))
            .multipart(Form::new().part("photo", part("big.png", &big)))
    })
    .await
    .expect_error(413, "payload_too_large");
    // Streamed, and never finishing.
    refused_early(|| {
        let photo = Part::stream(endless(PNG, 64 * 1024, 5 * 16 + 1)).file_name("big.png");
        app.request(Method::POST, "/user/upload-photo", Some(&w.student))
            .multipart(Form::new().part("photo", photo))
    })
    .await
    .expect_error(413, "payload_too_large");
    let login = app.login(&w.student.iin, &w.student.password).await;
    assert_eq!(login["user"]["photo"], Value::Null);
    // Exactly 5 MiB is fine.
    let r = upload_photo(&app, &w.student, "big.png", &padded(PNG, 5 * MIB)).await;
    let photo = photo_path(&r.expect(200)["user"], "png");
    assert_eq!(get(&app, &photo, None).await.bytes.len(), 5 * MIB);
    assert_eq!(stored_files(&app).len(), 1, "{:?}", stored_files(&app));
    assert_store_clean(&app).await;
}

async fn replacing_an_avatar_removes_the_old_file<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let old = photo_path(
        &upload_photo(&app, &w.student, "a.png", PNG).await.expect(200)["user"],
        "png",
    );
    let new = photo_path(
        &upload_photo(&app, &w.student, "b.jpg", JPEG).await.expect(200)["user"],
        "jpg",
    );
    assert_ne!(old, new);
    get(&app, &old, None).await.expect_error(404, "not_found");
    assert_eq!(get(&app, &new, None).await.bytes, JPEG);
    assert_eq!(
        stored_files(&app),
        BTreeSet::from([new.trim_start_matches("/static/").to_owned()]),
        "the old file is gone from the store"
    );
    assert_store_clean(&app).await;
}

// ---------------------------------------------------------------------------------------------
// Homework

async fn enrolled_students_submit_files_and_a_comment<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let r = submit(
        &app,
        &w.student,
        w.lesson,
        &[("Отчёт.pdf", PDF), ("схема.png", PNG)],
        Some("Сделал всё, кроме задания 3"),
    )
    .await;
    let body = r.expect(200);
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    assert_eq!(body["count"], 2);
    let s = &body["submission"];
    assert!(s["id"].as_i64().is_some(), "{s}");
    assert_eq!(s["lesson_id"], w.lesson);
    assert_eq!(s["student_id"], w.student.id);
    assert_eq!(s["user_id"], w.student.id, "the previous backend's name too");
    assert_eq!(s["comment"], "Сделал всё, кроме задания 3");
    assert_eq!(s["grade"], Value::Null);
    let files = s["files"].as_array().expect("files");
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["file_name"], "Отчёт.pdf");
    assert_eq!(files[0]["size"], PDF.len());
    assert_eq!(files[0]["content_type"], "application/pdf");
    assert_eq!(files[1]["file_name"], "схема.png");
    assert_eq!(files[1]["content_type"], "image/png");
    let folder = format!("static/homework/lesson_{}/", w.lesson);
    let mut ids = BTreeSet::new();
    for f in files {
        assert!(ids.insert(f["id"].as_i64().expect("a file id")), "{f}");
        let path = f["file_path"].as_str().expect("file_path");
        let name = path
            .strip_prefix(&folder)
            .unwrap_or_else(|| panic!("the previous backend's form {folder}<name>: {path}"));
        assert_eq!(f["key"], format!("homework/{name}"), "a server-made key");
        // Where the previous frontend downloads it: `static/` becomes `/files/download/`.
        assert_eq!(f["url"], format!("/files/download/{}", &path["static/".len()..]));
        assert_eq!(
            get(&app, f["url"].as_str().expect("url"), Some(&w.student))
                .await
                .status,
            200
        );
    }
    assert_eq!(
        s["file_path"], files[0]["file_path"],
        "the first file, where the previous frontend reads it"
    );
    let listed = my_submissions(&app, &w.student, w.lesson).await;
    assert_eq!(listed.expect(200).as_array().expect("list").len(), 1);
    assert_eq!(&listed.body[0], s, "the listing shows what was stored");
    assert_eq!(stored_files(&app).len(), 2);
    assert_store_clean(&app).await;
}

async fn resubmitting_keeps_every_submission_newest_first<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let first = submit(&app, &w.student, w.lesson, &[("v1.pdf", PDF)], Some("первая")).await;
    first.expect(200);
    let first_id = first.body["submission"]["id"].as_i64().expect("id");
    let second = submit(&app, &w.student, w.lesson, &[("v2.pdf", PDF)], Some("вторая")).await;
    second.expect(200);
    let second_id = second.body["submission"]["id"].as_i64().expect("id");
    assert_ne!(first_id, second_id);
    let listed = my_submissions(&app, &w.student, w.lesson).await;
    assert_eq!(
        ids(listed.expect(200)),
        [second_id, first_id],
        "both kept, newest first"
    );
    assert_eq!(listed.body[0]["comment"], "вторая");
    assert_eq!(listed.body[1]["files"][0]["file_name"], "v1.pdf");
    // Both files are still downloadable.
    for s in listed.body.as_array().expect("list") {
        let url = s["files"][0]["url"].as_str().expect("url");
        assert_eq!(get(&app, url, Some(&w.student)).await.bytes, PDF);
    }
    let all = all_submissions(&app, &w.teacher, w.lesson, "").await;
    assert_eq!(ids(all.expect(200)), [second_id, first_id]);
}

async fn homework_needs_files_or_a_comment<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    // A form with no part at all (which multipart does not even allow).
    let r = submit(&app, &w.student, w.lesson, &[], None).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let code = r.body["code"].as_str().unwrap_or_default().to_owned();
    assert!(code == "bad_request" || code == "malformed_body", "{}", r.body);
    r.expect_error(400, &code);
    // A blank comment is no comment.
    submit(&app, &w.student, w.lesson, &[], Some("   \n "))
        .await
        .expect_error(400, "bad_request");
    // An unrelated field is not content either.
    send(
        app.request(
            Method::POST,
            &format!("/lessons/{}/submit-homework", w.lesson),
            Some(&w.student),
        )
        .multipart(Form::new().text("note", "hi")),
    )
    .await
    .expect_error(400, "bad_request");
    // Not a form at all.
    send(
        app.request(
            Method::POST,
            &format!("/lessons/{}/submit-homework", w.lesson),
            Some(&w.student),
        )
        .json(&json!({"comment": "json"})),
    )
    .await
    .expect_error(400, "malformed_body");
    assert_eq!(my_submissions(&app, &w.student, w.lesson).await.expect(200), &json!([]));

    // A comment alone is a submission, and so is a file alone.
    let r = submit(&app, &w.student, w.lesson, &[], Some("Ответ текстом")).await;
    assert_eq!(r.expect(200)["count"], 0);
    assert_eq!(r.body["submission"]["files"], json!([]));
    let r = submit(&app, &w.student, w.lesson, &[("a.txt", "ответ\n".as_bytes())], None).await;
    assert_eq!(r.expect(200)["count"], 1);
    assert_eq!(r.body["submission"]["comment"], Value::Null);
    assert_eq!(
        r.body["submission"]["files"][0]["content_type"],
        "text/plain; charset=utf-8"
    );
}

async fn six_homework_files_are_refused<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let names = ["1.pdf", "2.pdf", "3.pdf", "4.pdf", "5.pdf", "6.pdf"];
    let six: Vec<(&str, &[u8])> = names.iter().map(|n| (*n, PDF)).collect();
    let r = submit(&app, &w.student, w.lesson, &six, Some("шесть")).await;
    r.expect_error(422, "validation_error");
    assert_eq!(my_submissions(&app, &w.student, w.lesson).await.expect(200), &json!([]));
    assert!(
        stored_files(&app).is_empty(),
        "the five staged files are gone: {:?}",
        stored_files(&app)
    );
    assert_store_clean(&app).await;
    // Five is the limit, and fine.
    let r = submit(&app, &w.student, w.lesson, &six[..5], None).await;
    assert_eq!(r.expect(200)["count"], 5);
    assert_eq!(stored_files(&app).len(), 5);
}

async fn homework_over_20_mib_is_413<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    // Exactly 20 MiB in all passes.
    let a = padded(PDF, 10 * MIB);
    let r = submit(&app, &w.student, w.lesson, &[("a.pdf", &a), ("b.pdf", &a)], None).await;
    assert_eq!(r.expect(200)["count"], 2);
    let accepted = stored_files(&app);
    assert_eq!(accepted.len(), 2);

    // A little more, in a third file, is refused; none of the three is kept.
    let path = format!("/lessons/{}/submit-homework", w.lesson);
    refused_early(|| {
        app.request(Method::POST, &path, Some(&w.student))
            .multipart(homework_form(
                &[("a.pdf", &a), ("b.pdf", &a), ("c.pdf", PDF)],
                Some("слишком много"),
            ))
    })
    .await
    .expect_error(413, "payload_too_large");

    // Streamed without a Content-Length, in chunks of 1 MiB (so that the form reader, reading
    // ahead, passes the form's own limit before the file's limit is counted): still 413.
    refused_early(|| {
        let file = Part::stream(endless(PDF, MIB, 21)).file_name("big.pdf");
        app.request(Method::POST, &path, Some(&w.student))
            .multipart(Form::new().part("files", file))
    })
    .await
    .expect_error(413, "payload_too_large");
    // Two streamed files of 10 MiB, and a few bytes more in a third that never ends.
    refused_early(|| {
        let whole = |name: &'static str| {
            let stream = futures_util::stream::iter(chunks(PDF, MIB, 10));
            Part::stream(reqwest::Body::wrap_stream(stream)).file_name(name)
        };
        let form = Form::new()
            .part("files", whole("1.pdf"))
            .part("files", whole("2.pdf"))
            .part("files", Part::stream(endless(PDF, 1, 1)).file_name("3.pdf"));
        app.request(Method::POST, &path, Some(&w.student)).multipart(form)
    })
    .await
    .expect_error(413, "payload_too_large");

    assert_eq!(
        ids(my_submissions(&app, &w.student, w.lesson).await.expect(200)).len(),
        1
    );
    assert_eq!(stored_files(&app), accepted, "nothing of the refused uploads is kept");
    assert_store_clean(&app).await;
}

async fn homework_is_only_for_enrolled_students<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let loner = app.student().await;
    let files: &[(&str, &[u8])] = &[("a.pdf", PDF)];
    submit(&app, &w.outsider, w.lesson, files, Some("чужое"))
        .await
        .expect_error(404, "not_found");
    submit(&app, &loner, w.lesson, files, Some("ничьё"))
        .await
        .expect_error(404, "not_found");
    submit(&app, &w.student, 9_999_999, files, Some("нет урока"))
        .await
        .expect_error(404, "not_found");
    submit(&app, &w.teacher, w.lesson, files, Some("учитель"))
        .await
        .expect_error(403, "forbidden");
    submit(&app, &w.admin, w.lesson, files, Some("админ"))
        .await
        .expect_error(403, "forbidden");
    send(
        app.client
            .post(app.url(&format!("/lessons/{}/submit-homework", w.lesson)))
            .multipart(homework_form(files, Some("аноним"))),
    )
    .await
    .expect_error(401, "unauthorized");
    let all = all_submissions(&app, &w.teacher, w.lesson, "").await;
    assert_eq!(all.expect(200), &json!([]), "nothing was stored");
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
    // The enrolled student can.
    submit(&app, &w.student, w.lesson, files, None).await.expect(200);
}

async fn students_see_only_their_own_submissions<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let mine = submit(&app, &w.student, w.lesson, &[("mine.pdf", PDF)], Some("моё")).await;
    let mine_id = mine.expect(200)["submission"]["id"].as_i64().expect("id");
    let theirs = submit(&app, &w.classmate, w.lesson, &[("theirs.pdf", PDF)], Some("их")).await;
    let theirs_id = theirs.expect(200)["submission"]["id"].as_i64().expect("id");

    assert_eq!(
        ids(my_submissions(&app, &w.student, w.lesson).await.expect(200)),
        [mine_id]
    );
    assert_eq!(
        ids(my_submissions(&app, &w.classmate, w.lesson).await.expect(200)),
        [theirs_id]
    );
    // Staff who hand nothing in have none of their own.
    assert_eq!(my_submissions(&app, &w.teacher, w.lesson).await.expect(200), &json!([]));
    // Someone who cannot see the lesson learns nothing about it.
    my_submissions(&app, &w.outsider, w.lesson)
        .await
        .expect_error(404, "not_found");
    // The teachers' listing is not for students.
    all_submissions(&app, &w.student, w.lesson, "")
        .await
        .expect_error(403, "forbidden");
    let all = all_submissions(&app, &w.teacher, w.lesson, "").await;
    assert_eq!(ids(all.expect(200)), [theirs_id, mine_id]);
}

async fn teachers_list_submissions_searching_names_in_any_case<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let ivanov = app.user_named(Role::Student, Some("Иванов Иван Иванович")).await;
    let petrova = app.user_named(Role::Student, Some("Петрова Ёлка Сергеевна")).await;
    add_members(&app, &w.admin, w.g1, &[ivanov.id, petrova.id]).await;
    let a = submit(&app, &ivanov, w.lesson, &[], Some("a")).await.expect(200)["submission"]["id"]
        .as_i64()
        .expect("id");
    let b = submit(&app, &petrova, w.lesson, &[], Some("b")).await.expect(200)["submission"]["id"]
        .as_i64()
        .expect("id");
    let search = |q: &str| {
        let q = q.to_owned();
        let app = &app;
        let teacher = &w.teacher;
        async move {
            let encoded: String = q
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            ids(all_submissions(app, teacher, w.lesson, &format!("?search={encoded}"))
                .await
                .expect(200))
        }
    };
    assert_eq!(search("ИВАНОВ").await, [a]);
    assert_eq!(search("иван").await, [a]);
    assert_eq!(search("ванович").await, [a]);
    assert_eq!(search("ёЛКА").await, [b]);
    assert_eq!(search("  петрова ").await, [b], "surrounding spaces are ignored");
    assert_eq!(search("а").await, [b, a]);
    assert_eq!(search("Сидоров").await, Vec::<i64>::new());
    assert_eq!(search("").await, [b, a]);
    // The admin may list too; a teacher of another subject may not, searching or not.
    let all = all_submissions(&app, &w.admin, w.lesson, "?search=%D0%B8%D0%B2%D0%B0%D0%BD").await;
    assert_eq!(ids(all.expect(200)), [a]);
    all_submissions(&app, &w.other_teacher, w.lesson, "?search=%D0%B8%D0%B2%D0%B0%D0%BD")
        .await
        .expect_error(403, "forbidden");
    all_submissions(&app, &w.other_teacher, w.lesson, "")
        .await
        .expect_error(403, "forbidden");
    all_submissions(&app, &w.teacher, 9_999_999, "")
        .await
        .expect_error(404, "not_found");
}

// ---------------------------------------------------------------------------------------------
// Downloads

async fn homework_downloads_for_owner_teacher_and_admin_only<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let content = padded(PDF, 100_000);
    let r = submit(&app, &w.student, w.lesson, &[("Отчёт \"финал\".pdf", &content)], None).await;
    let file = &r.expect(200)["submission"]["files"][0];
    let url = file["url"].as_str().expect("url").to_owned();
    // The same file by the previous backend's download path (what its frontend makes of
    // `file_path`), by its `/static/…` path, and by its storage key: the same checks for each.
    let paths = [
        url.clone(),
        format!("/{}", file["file_path"].as_str().expect("file_path")),
        format!("/files/download/{}", file["key"].as_str().expect("key")),
    ];
    for (url, who) in paths
        .iter()
        .flat_map(|u| [&w.student, &w.teacher, &w.admin].map(|who| (u, who)))
    {
        let d = get(&app, url, Some(who)).await;
        d.expect(200);
        assert!(d.bytes == content, "{:?} gets the exact bytes", who.role);
        assert_eq!(d.header("content-length"), Some(content.len().to_string().as_str()));
        assert_eq!(d.header("content-type"), Some("application/pdf"));
        assert_eq!(d.header("x-content-type-options"), Some("nosniff"));
        let csp = d.header("content-security-policy").expect("a Content-Security-Policy");
        assert!(
            csp.contains("sandbox"),
            "a download opened in a tab runs nothing: {csp}"
        );
        let disposition = d.header("content-disposition").expect("a Content-Disposition");
        assert!(disposition.starts_with("attachment;"), "{disposition}");
        assert!(
            disposition.contains("filename*=UTF-8''%D0%9E%D1%82%D1%87%D1%91%D1%82%20%22"),
            "the real name, encoded: {disposition}"
        );
        assert_eq!(
            disposition.matches('"').count(),
            2,
            "no quote of the name breaks out of the quoted fallback: {disposition}"
        );
    }
    for (url, who) in paths
        .iter()
        .flat_map(|u| [&w.classmate, &w.outsider, &w.other_teacher].map(|who| (u, who)))
    {
        let r = get(&app, url, Some(who)).await;
        r.expect_error(404, "not_found");
        assert!(
            r.bytes.len() < 200 && !r.bytes.starts_with(b"%PDF"),
            "nothing of the file leaks"
        );
    }
    for url in &paths {
        get(&app, url, None).await.expect_error(401, "unauthorized");
    }
    // Under another lesson's folder the name is nothing.
    let elsewhere = url.replace(
        &format!("lesson_{}/", w.lesson),
        &format!("lesson_{}/", w.lesson + 1000),
    );
    get(&app, &elsewhere, Some(&w.admin))
        .await
        .expect_error(404, "not_found");
    get(
        &app,
        &format!("/{}", &elsewhere["/files/download/".len()..]).replace("/homework", "/static/homework"),
        Some(&w.admin),
    )
    .await
    .expect_error(404, "not_found");
    // The avatar route does not serve homework either.
    let key = key_of(&url);
    let name = key.trim_start_matches("homework/");
    get(&app, &format!("/static/photos/{name}"), None)
        .await
        .expect_error(404, "not_found");
}

async fn traversal_attempts_are_404_and_serve_nothing_outside_the_store<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let r = submit(&app, &w.student, w.lesson, &[("a.pdf", PDF)], None).await;
    let url = r.expect(200)["submission"]["files"][0]["url"]
        .as_str()
        .expect("url")
        .to_owned();
    let key = key_of(&url);
    let hex = key.trim_start_matches("homework/").trim_end_matches(".pdf").to_owned();
    let l = w.lesson;

    // Secrets beside and inside the store's directory, and an object no row refers to.
    const SECRET: &str = "TOP-SECRET-SIGNING-KEY";
    let root = app.fx.files_dir.path();
    let dir_name = root.file_name().expect("a name").to_string_lossy().into_owned();
    let outside_name = format!("{dir_name}-secret.key");
    let outside = root.parent().expect("a parent").join(&outside_name);
    std::fs::write(&outside, SECRET).expect("write a secret outside the store");
    std::fs::write(root.join("secret.key"), SECRET).expect("write a secret in the store root");
    std::fs::write(root.join("homework").join("secret.key"), SECRET).expect("write a secret in homework/");
    let unreferenced = "homework/fedcba9876543210fedcba9876543210.pdf";
    std::fs::write(root.join(unreferenced), SECRET).expect("write an unreferenced object");

    let targets = [
        "/files/download/secret.key".to_owned(),
        "/files/download/homework/secret.key".to_owned(),
        format!("/files/download/{unreferenced}"),
        "/files/download/../secret.key".to_owned(),
        format!("/files/download/../{outside_name}"),
        format!("/files/download/..%2f{outside_name}"),
        format!("/files/download/%2e%2e/{outside_name}"),
        format!("/files/download/%2e%2e%2f{outside_name}"),
        format!("/files/download/homework/../../{outside_name}"),
        format!("/files/download/homework/..%2f..%2f{outside_name}"),
        "/files/download/homework/..%2fsecret.key".to_owned(),
        "/files/download/homework/%2e%2e%2fsecret.key".to_owned(),
        "/files/download/homework/../secret.key".to_owned(),
        "/files/download/homework%2f..%2fsecret.key".to_owned(),
        "/files/download/..%5csecret.key".to_owned(),
        "/files/download/homework%5c..%5csecret.key".to_owned(),
        "/files/download/homework/..%5c..%5csecret.key".to_owned(),
        "/files/download/../../../../../../etc/passwd".to_owned(),
        "/files/download/..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd".to_owned(),
        "/files/download//etc/passwd".to_owned(),
        "/files/download/%2fetc%2fpasswd".to_owned(),
        "/files/download/etc/passwd".to_owned(),
        format!("/files/download/{key}%00"),
        format!("/files/download/{key}%00.png"),
        format!("/files/download/homework/{hex}%00.pdf"),
        format!("/files/download/homework/{hex}.pdf/.."),
        format!("/files/download/homework/./{hex}.pdf"),
        format!("/files/download/HOMEWORK/{hex}.pdf"),
        format!("/files/download/homework/{}.pdf", hex.to_ascii_uppercase()),
        format!("/files/download/photos/../{key}"),
        format!("/files/download/lessons/..%2f{key}"),
        format!("/files/download/tmp/{hex}"),
        "/files/download/".to_owned(),
        format!("/static/photos/..%2f{key}"),
        format!("/static/photos/..%2fhomework%2f{hex}.pdf"),
        "/static/photos/..%2fsecret.key".to_owned(),
        "/static/photos/%2e%2e%2f%2e%2e%2fetc%2fpasswd".to_owned(),
        format!("/static/photos/{hex}.pdf"),
        format!("/static/photos/..%5c{hex}.pdf"),
        // The previous backend's forms.
        format!("/files/download/homework/lesson_{l}/..%2f..%2f{outside_name}"),
        format!("/files/download/homework/lesson_{l}/%2e%2e%2fsecret.key"),
        format!("/files/download/homework/lesson_{l}/..%5csecret.key"),
        format!("/files/download/homework/lesson_{l}/../../secret.key"),
        format!("/files/download/homework/lesson_{l}/secret.key"),
        format!("/files/download/homework/lesson_{l}/{hex}%00.pdf"),
        format!("/files/download/homework/lesson_{l}/%2e%2e"),
        format!("/files/download/homework/lesson_{l}%2f{hex}.pdf"),
        format!("/files/download/homework/lesson_{}/{hex}.pdf", l + 1),
        format!("/files/download/homework/lesson_-{l}/{hex}.pdf"),
        format!("/files/download/lesson_docs/..%2fhomework%2f{hex}.pdf"),
        format!("/files/download/lesson_docs/{hex}.pdf"),
        "/files/download/lesson_docs/secret.key".to_owned(),
        format!("/static/lesson_docs/..%2f..%2f{outside_name}"),
        "/static/lesson_docs/%2e%2e%2fsecret.key".to_owned(),
        "/static/lesson_docs/..%5csecret.key".to_owned(),
        format!("/static/lesson_docs/{hex}.pdf"),
        format!("/static/lesson_docs/{hex}.pdf/.."),
        format!("/static/homework/lesson_{l}/..%2fsecret.key"),
        format!("/static/homework/lesson_{l}/..%5c..%5csecret.key"),
        format!("/static/homework/lesson_{l}/{hex}%00.pdf"),
        format!("/static/homework/lesson_{}/{hex}.pdf", l + 1),
        format!("/static/homework/{hex}.pdf"),
        format!("/static/homework/lesson_{l}/x/{hex}.pdf"),
        "/static/secret.key".to_owned(),
        format!("/static/{key}"),
    ];
    for target in &targets {
        let r = raw_get(&app, target, Some(&w.admin)).await;
        assert_eq!(r.status, 404, "{target}: {} {}", r.status, r.body);
        r.expect_error(404, "not_found");
        let text = String::from_utf8_lossy(&r.bytes);
        assert!(
            !text.contains(SECRET) && !text.contains("root:") && !text.contains("%PDF"),
            "{target} served something: {text}"
        );
    }
    // Backslashes as such: refused as a request, or 404 — never a file, never a 5xx.
    for target in [
        "/files/download/..\\secret.key".to_owned(),
        "/files/download/homework\\..\\secret.key".to_owned(),
        format!("/files/download/homework\\{hex}.pdf"),
    ] {
        let r = raw_get(&app, &target, Some(&w.admin)).await;
        assert!(r.status == 404 || r.status == 400, "{target}: {} {}", r.status, r.body);
        let text = String::from_utf8_lossy(&r.bytes);
        assert!(
            !text.contains(SECRET) && !text.contains("%PDF"),
            "{target} served {text}"
        );
    }
    // The real paths work through the same raw requests, so the 404s above are not an artefact.
    for real in [
        url.clone(),
        format!("/files/download/{key}"),
        format!("/static/homework/lesson_{l}/{hex}.pdf"),
    ] {
        let r = raw_get(&app, &real, Some(&w.admin)).await;
        r.expect(200);
        assert_eq!(r.bytes, PDF, "{real}");
    }
    let _ = std::fs::remove_file(outside);
}

async fn range_requests_return_exactly_the_bytes_asked_for<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let content: Vec<u8> = PDF
        .iter()
        .copied()
        .chain((0..5000u32).map(|i| (i % 251) as u8))
        .collect();
    let r = submit(&app, &w.student, w.lesson, &[("r.pdf", &content)], None).await;
    let url = r.expect(200)["submission"]["files"][0]["url"]
        .as_str()
        .expect("url")
        .to_owned();
    let total = content.len();
    let ranged = |range: &'static str| send(app.request(Method::GET, &url, Some(&w.student)).header("range", range));
    let r = ranged("bytes=0-3").await;
    r.expect(206);
    assert_eq!(r.bytes, b"%PDF");
    assert_eq!(r.header("content-range"), Some(format!("bytes 0-3/{total}").as_str()));
    assert_eq!(r.header("content-length"), Some("4"));
    assert!(
        r.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment"))
    );

    let r = ranged("bytes=100-199").await;
    r.expect(206);
    assert_eq!(r.bytes, &content[100..200]);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 100-199/{total}").as_str())
    );

    let r = ranged("bytes=-10").await;
    r.expect(206);
    assert_eq!(r.bytes, &content[total - 10..]);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes {}-{}/{total}", total - 10, total - 1).as_str())
    );

    let r = ranged("bytes=10-").await;
    r.expect(206);
    assert_eq!(r.bytes, &content[10..]);

    // The whole file asked for as a range is the whole file.
    let r = ranged("bytes=0-").await;
    assert!(r.status == 200 || r.status == 206, "{}", r.status);
    assert_eq!(r.bytes, content);
    // A range the server does not understand is ignored: the whole file.
    let r = ranged("bytes=5-1").await;
    r.expect(200);
    assert_eq!(r.bytes, content);
    // Past the end: never a 5xx, and never bytes that are not there.
    let r = ranged("bytes=999999-1000000").await;
    assert!(
        r.status == 416 || r.status == 200 || r.status == 206,
        "{} {}",
        r.status,
        r.body
    );
    if r.status == 200 {
        assert_eq!(r.bytes, content);
    }
    // A range does not get around the owner check.
    let r = send(
        app.request(Method::GET, &url, Some(&w.outsider))
            .header("range", "bytes=0-3"),
    )
    .await;
    r.expect_error(404, "not_found");
}

// ---------------------------------------------------------------------------------------------
// Grades

async fn teachers_grade_from_0_to_100<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let r = submit(&app, &w.student, w.lesson, &[("hw.pdf", PDF)], Some("проверьте")).await;
    let id = r.expect(200)["submission"]["id"].as_i64().expect("id");

    for g in [0, 100, 73] {
        let r = grade(
            &app,
            &w.teacher,
            id,
            json!({"grade": g, "feedback": "Хорошо, но см. задание 2"}),
        )
        .await;
        let body = r.expect(200);
        assert_eq!(body["grade"], g);
        assert_eq!(body["feedback"], "Хорошо, но см. задание 2");
        assert_eq!(body["graded_by"], w.teacher.id);
        assert!(body["graded_at"].is_string());
    }
    let mine = my_submissions(&app, &w.student, w.lesson).await;
    assert_eq!(mine.expect(200)[0]["grade"], 73, "the student sees the grade");
    assert_eq!(mine.body[0]["feedback"], "Хорошо, но см. задание 2");

    for bad in [
        json!({"grade": 101}),
        json!({"grade": -1}),
        json!({"grade": 1e10}),
        json!({"grade": 99999999999999i64}),
    ] {
        grade(&app, &w.teacher, id, bad)
            .await
            .expect_error(422, "validation_error");
    }
    for bad in [
        json!({"grade": "ten"}),
        json!({"grade": 50.5}),
        json!({}),
        json!({"grade": null}),
    ] {
        grade(&app, &w.teacher, id, bad)
            .await
            .expect_error(422, "validation_error");
    }
    grade(&app, &w.student, id, json!({"grade": 100}))
        .await
        .expect_error(403, "forbidden");
    grade(&app, &w.other_teacher, id, json!({"grade": 100}))
        .await
        .expect_error(403, "forbidden");
    grade(&app, &w.teacher, 9_999_999, json!({"grade": 50}))
        .await
        .expect_error(404, "not_found");
    let mine = my_submissions(&app, &w.student, w.lesson).await;
    assert_eq!(mine.expect(200)[0]["grade"], 73, "refused grades changed nothing");

    // An admin may grade, and the grade shows in the student's grade list.
    let r = grade(&app, &w.admin, id, json!({"grade": 88})).await;
    assert_eq!(r.expect(200)["grade"], 88);
    assert_eq!(r.body["graded_by"], w.admin.id);
    let mine = my_submissions(&app, &w.student, w.lesson).await;
    assert_eq!(mine.expect(200)[0]["grade"], 88);
}

// ---------------------------------------------------------------------------------------------
// Deleting submissions

async fn deleting_submissions<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let one = submit(&app, &w.student, w.lesson, &[("1.pdf", PDF), ("2.png", PNG)], None).await;
    let one_id = one.expect(200)["submission"]["id"].as_i64().expect("id");
    let one_keys: Vec<String> = one.body["submission"]["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["key"].as_str().expect("key").to_owned())
        .collect();
    let two = submit(&app, &w.student, w.lesson, &[("3.pdf", PDF)], None).await;
    let two_id = two.expect(200)["submission"]["id"].as_i64().expect("id");
    let two_key = two.body["submission"]["files"][0]["key"]
        .as_str()
        .expect("key")
        .to_owned();

    let path = |id: i64| format!("/lessons/submission/{id}");
    call(&app, Method::DELETE, &path(one_id), Some(&w.classmate), None)
        .await
        .expect_error(404, "not_found");
    call(&app, Method::DELETE, &path(one_id), Some(&w.outsider), None)
        .await
        .expect_error(404, "not_found");
    call(&app, Method::DELETE, &path(one_id), Some(&w.other_teacher), None)
        .await
        .expect_error(403, "forbidden");
    call(&app, Method::DELETE, &path(one_id), None, None)
        .await
        .expect_error(401, "unauthorized");
    assert_eq!(
        ids(my_submissions(&app, &w.student, w.lesson).await.expect(200)),
        [two_id, one_id]
    );

    // The owner deletes one: its row and its files go.
    call(&app, Method::DELETE, &path(one_id), Some(&w.student), None)
        .await
        .expect(200);
    assert_eq!(
        ids(my_submissions(&app, &w.student, w.lesson).await.expect(200)),
        [two_id]
    );
    let files = stored_files(&app);
    for k in &one_keys {
        assert!(!files.contains(k), "{k} removed: {files:?}");
        get(&app, &format!("/files/download/{k}"), Some(&w.student))
            .await
            .expect_error(404, "not_found");
    }
    assert!(files.contains(&two_key));
    call(&app, Method::DELETE, &path(one_id), Some(&w.student), None)
        .await
        .expect_error(404, "not_found");

    // The subject's teacher deletes the other.
    call(&app, Method::DELETE, &path(two_id), Some(&w.teacher), None)
        .await
        .expect(200);
    assert_eq!(my_submissions(&app, &w.student, w.lesson).await.expect(200), &json!([]));
    assert!(stored_files(&app).is_empty(), "{:?}", stored_files(&app));
    assert_store_clean(&app).await;
}

// ---------------------------------------------------------------------------------------------
// Faults and load

/// Uploads that break off in the second file, after a first one was received whole: a body stream
/// that fails, a body that ends inside the form, a client that closes its connection, and one that
/// resets it. No submission may appear and nothing may stay in the store.
async fn interrupted_uploads_leave_nothing_behind<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let path = format!("/lessons/{}/submit-homework", w.lesson);

    // 1. The client's body stream fails after 2 MiB of the second file.
    let failing = futures_util::stream::iter(vec![
        Ok(padded(PDF, MIB)),
        Ok(padded(b"", MIB)),
        Err(std::io::Error::other("the client's disk failed")),
    ]);
    let form = Form::new()
        .text("comment", "не дойдёт")
        .part("files", part("whole.pdf", &padded(PDF, 300_000)))
        .part(
            "files",
            Part::stream(reqwest::Body::wrap_stream(failing)).file_name("broken.pdf"),
        );
    let res = tokio::time::timeout(
        Duration::from_secs(30),
        app.request(Method::POST, &path, Some(&w.student))
            .multipart(form)
            .send(),
    )
    .await
    .expect("the failed upload ends");
    if let Ok(res) = res {
        // If an answer gets through, it is a refusal.
        let r = edu_tests::read(res).await;
        assert!((400..500).contains(&r.status), "{} {}", r.status, r.body);
    }
    assert_no_trace(&app, &w).await;

    // 2. The body is complete as HTTP goes, but the form stops inside the second file.
    let (head, body) = cut_form(&app, &w.student, &path, 0);
    let mut request = head;
    request.extend_from_slice(&body);
    let r = raw_reply(app.addr, request).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body["code"] == "bad_request" || r.body["code"] == "malformed_body",
        "{}",
        r.body
    );
    assert_no_trace(&app, &w).await;

    // 3 and 4. The client goes away while the second file is arriving: closing, then resetting.
    for reset in [false, true] {
        let (head, body) = cut_form(&app, &w.student, &path, 4 * MIB);
        let stream = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
        write_all(&stream, &head).await;
        write_all(&stream, &body).await;
        // Wait until the server holds the first file and is writing the second.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let files = stored_files(&app);
            let staged = files.iter().any(|f| f.starts_with("tmp/") && !f.contains('#'));
            let writing = files.iter().any(|f| f.starts_with("tmp/") && f.contains('#'));
            if staged && writing {
                break;
            }
            assert!(Instant::now() < deadline, "the upload never got going: {files:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if reset {
            stream.set_zero_linger().expect("SO_LINGER 0");
        }
        drop(stream);
        assert_no_trace(&app, &w).await;
    }

    // And the next upload works.
    submit(&app, &w.student, w.lesson, &[("ok.pdf", PDF)], None)
        .await
        .expect(200);
    assert_store_clean(&app).await;
}

/// A homework form over raw TCP: a comment, a first file whole, and the first MiB of a second file,
/// without the form's end. The head declares the body `missing` bytes longer than it is.
fn cut_form<S: Store>(app: &TestApp<S>, who: &Actor, path: &str, missing: usize) -> (Vec<u8>, Vec<u8>) {
    const B: &str = "CutHereXyZ";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{B}\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\nне дойдёт\r\n").as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"whole.pdf\"\r\n\
             Content-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&padded(PDF, 300_000));
    body.extend_from_slice(
        format!(
            "\r\n--{B}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"cut.pdf\"\r\n\
             Content-Type: application/pdf\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&padded(PDF, MIB));
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\
         Content-Type: multipart/form-data; boundary={B}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        app.addr,
        who.bearer(),
        body.len() + missing
    );
    (head.into_bytes(), body)
}

/// Writes all of `bytes` to a socket.
async fn write_all(stream: &tokio::net::TcpStream, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        stream.writable().await.expect("writable");
        match stream.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("write: {e}"),
        }
    }
}

/// After an interrupted upload: no submission row, and (once any cleanup in flight is done) no
/// file in the store and nothing fsck would call an orphan.
async fn assert_no_trace<S: Store>(app: &TestApp<S>, w: &World) {
    assert_store_clean(app).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !stored_files(app).is_empty() {
        assert!(Instant::now() < deadline, "files left behind: {:?}", stored_files(app));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(my_submissions(app, &w.student, w.lesson).await.expect(200), &json!([]));
    assert_eq!(
        all_submissions(app, &w.teacher, w.lesson, "").await.expect(200),
        &json!([])
    );
}

async fn two_hundred_parallel_submissions_are_all_kept<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let mut students = Vec::new();
    for _ in 0..20 {
        students.push(app.student().await);
    }
    let ids_of: Vec<i64> = students.iter().map(|s| s.id).collect();
    add_members(&app, &w.admin, w.g1, &ids_of).await;

    let uploads = students
        .iter()
        .flat_map(|s| (0..10).map(move |i| (s, i)))
        .map(|(s, i)| {
            let app = &app;
            let lesson = w.lesson;
            async move {
                let body = padded(PDF, 1000 + i);
                let name = format!("{}-{i}.pdf", s.iin);
                let r = submit(app, s, lesson, &[(&name, &body)], Some(&format!("попытка {i}"))).await;
                r.expect(200);
                assert_eq!(r.body["count"], 1);
                r.body["submission"]["id"].as_i64().expect("id")
            }
        });
    let made: BTreeSet<i64> = futures_util::future::join_all(uploads).await.into_iter().collect();
    assert_eq!(made.len(), 200, "200 distinct submissions");

    let listed = all_submissions(&app, &w.teacher, w.lesson, "").await;
    let listed: BTreeSet<i64> = ids(listed.expect(200)).into_iter().collect();
    assert_eq!(listed, made, "the teacher sees every one");
    for s in &students {
        let mine = my_submissions(&app, s, w.lesson).await;
        assert_eq!(mine.expect(200).as_array().expect("list").len(), 10);
    }
    assert_eq!(stored_files(&app).len(), 200);
    let report = assert_store_clean(&app).await;
    assert_eq!(report.referenced, 200);
    assert_eq!(report.objects, 200);
}

// ---------------------------------------------------------------------------------------------
// A server with a small body limit

fn small_body_options() -> edu_http::Options {
    edu_http::Options {
        max_body: 64 * 1024,
        ..edu_http::Options::default()
    }
}

mod with_small_max_body {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let Some(fx) = edu_tests::sqlite_fixture().await else {
            return;
        };
        super::uploads_streamed_past_max_body_are_413(
            edu_tests::TestApp::spawn_with(fx, super::small_body_options()).await,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(edu_skip_postgres, ignore = "no PostgreSQL: set EDU_TEST_DATABASE_URL")]
    async fn postgres() {
        let Some(fx) = edu_tests::pg_fixture().await else {
            return;
        };
        super::uploads_streamed_past_max_body_are_413(
            edu_tests::TestApp::spawn_with(fx, super::small_body_options()).await,
        )
        .await;
    }
}

/// Uploads with no Content-Length that pass the server's `max_body` while streaming are 413 (the
/// server's limit, found while a file is being read), not a broken form or an interrupted upload.
async fn uploads_streamed_past_max_body_are_413<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let streamed = |head: &'static [u8], name: &'static str| Part::stream(endless(head, 8 * 1024, 9)).file_name(name);
    let homework = format!("/lessons/{}/submit-homework", w.lesson);
    let cases = [
        ("/lessons/upload/lesson-file", &w.teacher, "file", PDF, "a.pdf"),
        (homework.as_str(), &w.student, "files", PDF, "a.pdf"),
        ("/user/upload-photo", &w.student, "photo", PNG, "a.png"),
    ];
    for (path, who, field, head, name) in cases {
        let r = refused_early(|| {
            app.request(Method::POST, path, Some(who))
                .multipart(Form::new().part(field, streamed(head, name)))
        })
        .await;
        assert_eq!(r.status, 413, "{path}: {}", r.body);
        r.expect_error(413, "payload_too_large");
        assert!(
            r.body["detail"].as_str().is_some_and(|d| d.contains("65536")),
            "{path}: the limit is the server's: {}",
            r.body
        );
    }
    // Small uploads still pass.
    upload_lesson_file(&app, &w.teacher, "small.pdf", PDF).await.expect(200);
    assert_eq!(my_submissions(&app, &w.student, w.lesson).await.expect(200), &json!([]));
    assert_eq!(stored_files(&app).len(), 1, "{:?}", stored_files(&app));
    assert_store_clean(&app).await;
}

fn short_idle_options() -> edu_http::Options {
    edu_http::Options {
        body_idle_timeout: Duration::from_millis(700),
        ..edu_http::Options::default()
    }
}

mod with_a_short_idle_timeout {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let Some(fx) = edu_tests::sqlite_fixture().await else {
            return;
        };
        super::stalled_bodies_are_408_and_leave_nothing(
            edu_tests::TestApp::spawn_with(fx, super::short_idle_options()).await,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(edu_skip_postgres, ignore = "no PostgreSQL: set EDU_TEST_DATABASE_URL")]
    async fn postgres() {
        let Some(fx) = edu_tests::pg_fixture().await else {
            return;
        };
        super::stalled_bodies_are_408_and_leave_nothing(
            edu_tests::TestApp::spawn_with(fx, super::short_idle_options()).await,
        )
        .await;
    }
}

/// A client that stops sending in the middle of a body (of an upload, a spreadsheet import or a
/// JSON request) gets 408 once the idle timeout passes, while the connection is still open, and
/// its half-received upload is gone. A slow client that keeps sending is not cut off.
async fn stalled_bodies_are_408_and_leave_nothing<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    let homework = format!("/lessons/{}/submit-homework", w.lesson);

    let stalled = |head: Vec<u8>, body: Vec<u8>| {
        let addr = app.addr;
        async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
            write_all(&stream, &head).await;
            write_all(&stream, &body).await;
            // Then nothing more, with the connection held open.
            let mut answer = Vec::new();
            tokio::time::timeout(
                Duration::from_secs(20),
                tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer),
            )
            .await
            .expect("the server answers a stalled body by itself")
            .expect("read");
            let text = String::from_utf8_lossy(&answer).into_owned();
            let status: u16 = text
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
            (status, text)
        }
    };

    // Homework, in the middle of its second file.
    let (head, body) = cut_form(&app, &w.student, &homework, 4 * MIB);
    let (status, text) = stalled(head, body).await;
    assert_eq!(status, 408, "{text}");
    assert!(text.contains("\"code\":\"request_timeout\""), "{text}");
    assert_no_trace(&app, &w).await;

    // A JSON body that stops half way.
    let json = br#"{"iin": "000000000000", "pass"#;
    let head = format!(
        "POST /auth/login HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        app.addr,
        json.len() + 40
    );
    let (status, text) = stalled(head.into_bytes(), json.to_vec()).await;
    assert_eq!(status, 408, "{text}");

    // A slow client that sends a little every 300 ms is served in full.
    let (head, body) = cut_form(&app, &w.student, &homework, 0);
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    write_all(&stream, &head).await;
    let (first, rest) = body.split_at(body.len() - 4 * 1024);
    write_all(&stream, first).await;
    for piece in rest.chunks(1024) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        write_all(&stream, piece).await;
    }
    let mut answer = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer)
        .await
        .expect("read");
    let text = String::from_utf8_lossy(&answer);
    // The form itself is cut (its second file has no end): refused as malformed, not as stalled.
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert_no_trace(&app, &w).await;

    submit(&app, &w.student, w.lesson, &[("ok.pdf", PDF)], None)
        .await
        .expect(200);
    assert_store_clean(&app).await;
}

/// Fixing a lesson no longer means deleting it: `PATCH /lessons/{id}` changes what is given,
/// checked as on creation, and the students' homework and its files stay. A new document replaces
/// the old one, whose file goes; a lesson with homework cannot become a test.
async fn lessons_are_edited_in_place_keeping_their_homework<S: Store>(app: TestApp<S>) {
    let w = world(&app).await;
    submit(&app, &w.student, w.lesson, &[("work.pdf", PDF)], Some("готово"))
        .await
        .expect(200);
    let files_before = stored_files(&app);

    // Only the subject's teacher or an admin, and nobody learns of other subjects' lessons.
    for who in [&w.student, &w.other_teacher] {
        let r = edit_lesson(&app, who, w.lesson, json!({"title": "Взлом"})).await;
        assert!(matches!(r.status, 403 | 404), "{}", r.body);
    }
    let r = edit_lesson(
        &app,
        &w.teacher,
        w.lesson,
        json!({"title": "  Владение и заимствование "}),
    )
    .await;
    let lesson = r.expect(200);
    assert_eq!(lesson["title"], "Владение и заимствование");
    assert_eq!(lesson["type"], "video", "fields not given are kept");
    assert_eq!(lesson["content_url"], "https://video.example/ownership");

    // Validated like creation, and a refused edit changes nothing.
    for bad in [
        json!({"title": ""}),
        json!({"type": "роман"}),
        json!({"content_url": "javascript:alert(1)"}),
        json!({"content_url": "/static/lesson_docs/none.pdf"}),
        json!({"colour": "red"}),
    ] {
        let r = edit_lesson(&app, &w.teacher, w.lesson, bad.clone()).await;
        assert!(matches!(r.status, 400 | 422), "{bad} → {} {}", r.status, r.body);
    }
    edit_lesson(&app, &w.teacher, 999_999, json!({"title": "Нет"}))
        .await
        .expect_error(404, "not_found");

    // A document in place of the address; then another document, and the first one's file goes.
    let first = upload_lesson_file(&app, &w.teacher, "Лекция.pdf", PDF).await;
    let first_url = first.expect(200)["url"].as_str().expect("url").to_owned();
    let r = edit_lesson(
        &app,
        &w.teacher,
        w.lesson,
        json!({"type": "pdf", "content_url": first_url}),
    )
    .await;
    assert_eq!(r.expect(200)["content_url"], first_url.as_str());
    assert_eq!(r.expect(200)["kind"], "pdf");
    get(&app, &first_url, Some(&w.student)).await.expect(200);
    let second = upload_lesson_file(&app, &w.admin, "Лекция v2.pdf", PDF).await;
    let second_url = second.expect(200)["url"].as_str().expect("url").to_owned();
    edit_lesson(&app, &w.admin, w.lesson, json!({"content_url": second_url}))
        .await
        .expect(200);
    get(&app, &first_url, Some(&w.student))
        .await
        .expect_error(404, "not_found");
    get(&app, &second_url, Some(&w.student)).await.expect(200);
    // Keeping the same document is fine; `null` removes it, and its file.
    edit_lesson(
        &app,
        &w.teacher,
        w.lesson,
        json!({"content_url": second_url, "description": "Слайды"}),
    )
    .await
    .expect(200);
    let r = edit_lesson(&app, &w.teacher, w.lesson, json!({"content_url": null})).await;
    assert_eq!(r.expect(200)["content_url"], "");
    assert_eq!(r.expect(200)["description"], "Слайды");
    get(&app, &second_url, Some(&w.teacher))
        .await
        .expect_error(404, "not_found");

    // With homework handed in, it cannot become a test.
    edit_lesson(&app, &w.teacher, w.lesson, json!({"type": "test"}))
        .await
        .expect_error(409, "conflict");

    // The homework and its file are still there, and the store holds exactly what rows name.
    let mine = my_submissions(&app, &w.student, w.lesson).await;
    assert_eq!(mine.expect(200).as_array().map(Vec::len), Some(1));
    assert_eq!(stored_files(&app), files_before, "only the replaced documents went");
    assert_store_clean(&app).await;

    let log = get(&app, "/admin/audit?action=lesson.update", Some(&w.admin)).await;
    let records = log.expect(200).as_array().expect("records").clone();
    assert_eq!(records.len(), 5, "{records:#?}");
    assert_eq!(
        records.last().map(|r| r["before"]["title"].clone()),
        Some(json!("Владение"))
    );
}
