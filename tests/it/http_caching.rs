//! Polled answers revalidate (`ETag`, `If-None-Match` → 304) and JSON is compressed when the
//! client asks, on both backends: the tag changes with a new lesson, a grade, a regrade and a
//! relinked group, and files are never recompressed.

use std::io::Read;

use edu_core::Store;
use edu_tests::{
    Actor, Reply, TestApp, add_members, assign, call, get, link, new_group, new_module, new_subject, send,
};
use reqwest::Method;
use reqwest::multipart::Form;
use serde_json::json;

edu_tests::on_both_backends!(
    polled_answers_revalidate_until_they_change,
    json_is_compressed_when_asked_and_files_are_not,
);

/// A student in a group linked to a module whose one subject a teacher teaches.
struct School {
    admin: Actor,
    teacher: Actor,
    student: Actor,
    group: i64,
    module: i64,
    subject: i64,
}

async fn school<S: Store>(app: &TestApp<S>) -> School {
    let admin = app.admin().await;
    let teacher = app.teacher().await;
    let student = app.user(edu_core::Role::Student).await;
    let group = new_group(app, &admin, "ИС-51").await;
    add_members(app, &admin, group, &[student.id]).await;
    let module = new_module(app, &admin, "Модуль").await;
    let subject = new_subject(app, &admin, module, "Алгебра").await;
    assign(app, &admin, &teacher, module, subject).await;
    link(app, &admin, group, module).await;
    School {
        admin,
        teacher,
        student,
        group,
        module,
        subject,
    }
}

async fn lesson<S: Store>(app: &TestApp<S>, s: &School, title: &str) -> i64 {
    let r = call(
        app,
        Method::POST,
        &format!("/lessons/add/subjects/{}", s.subject),
        Some(&s.teacher),
        Some(json!({"title": title, "type": "pdf", "content_url": "https://media.example/a.pdf", "description": "Описание урока, достаточно длинное, чтобы ответ был больше килобайта."})),
    )
    .await;
    r.expect(200);
    r.id()
}

async fn conditional<S: Store>(app: &TestApp<S>, path: &str, who: &Actor, tag: &str) -> Reply {
    send(app.request(Method::GET, path, Some(who)).header("if-none-match", tag)).await
}

/// The answer's tag; asked again with it, a bodiless 304 with the same tag.
async fn tag_of<S: Store>(app: &TestApp<S>, path: &str, who: &Actor) -> String {
    let r = get(app, path, Some(who)).await;
    r.expect(200);
    let tag = r.header("etag").expect("an ETag").to_owned();
    assert_eq!(r.header("cache-control"), Some("private, no-cache"), "{path}");
    let again = conditional(app, path, who, &tag).await;
    assert_eq!(again.status, 304, "{path}: {}", again.body);
    assert!(again.bytes.is_empty(), "{path}: a 304 has no body");
    assert_eq!(again.header("etag"), Some(tag.as_str()));
    tag
}

async fn polled_answers_revalidate_until_they_change<S: Store>(app: TestApp<S>) {
    let s = school(&app).await;
    let essay = lesson(&app, &s, "Эссе").await;
    let mine = "/access/my-modules";
    let one = format!("/access/my-modules/{}", s.module);
    let grades = "/lessons/student/grades";
    let summary = "/lessons/student/grades/summary";
    let book = format!("/grades/gradebook?group_id={}&module_id={}", s.group, s.module);

    let t_mine = tag_of(&app, mine, &s.student).await;
    let t_one = tag_of(&app, &one, &s.student).await;
    let t_grades = tag_of(&app, grades, &s.student).await;
    let t_summary = tag_of(&app, summary, &s.student).await;
    let t_book = tag_of(&app, &book, &s.teacher).await;
    // Another tag, or none in the list: the full answer.
    let r = conditional(&app, mine, &s.student, "W/\"something-else\"").await;
    assert_eq!(r.status, 200);
    // A tag never makes a write conditional.
    let r = send(
        app.request(
            Method::POST,
            &format!("/lessons/{essay}/submit-homework"),
            Some(&s.student),
        )
        .header("if-none-match", t_grades.as_str())
        .multipart(Form::new().text("comment", "Готово")),
    )
    .await;
    let submission = r.expect(200)["submission"]["id"].as_i64().expect("a submission");

    // Handed in: the grade lists and the gradebook change, the module tree does not.
    let t_grades2 = tag_of(&app, grades, &s.student).await;
    assert_ne!(t_grades2, t_grades, "a new submission");
    assert_ne!(
        tag_of(&app, &book, &s.teacher).await,
        t_book,
        "pending in the gradebook"
    );
    assert_eq!(
        tag_of(&app, mine, &s.student).await,
        t_mine,
        "nothing in the tree changed"
    );

    // Graded, then regraded: each changes the lists.
    let graded = format!("/lessons/submission/{submission}/grade");
    let grade = |g: i64| {
        call(
            &app,
            Method::PATCH,
            &graded,
            Some(&s.teacher),
            Some(json!({"grade": g})),
        )
    };
    grade(80).await.expect(200);
    let t_grades3 = tag_of(&app, grades, &s.student).await;
    let t_summary3 = tag_of(&app, summary, &s.student).await;
    assert_ne!(t_grades3, t_grades2);
    assert_ne!(t_summary3, t_summary);
    grade(95).await.expect(200);
    assert_ne!(tag_of(&app, grades, &s.student).await, t_grades3, "a regrade");
    assert_ne!(tag_of(&app, summary, &s.student).await, t_summary3, "a regrade");

    // A new lesson changes the trees.
    lesson(&app, &s, "Контрольная").await;
    let t_mine2 = tag_of(&app, mine, &s.student).await;
    assert_ne!(t_mine2, t_mine);
    assert_ne!(tag_of(&app, &one, &s.student).await, t_one);

    // The group unlinked from the module: the old tag no longer stands.
    let r = call(
        &app,
        Method::DELETE,
        &format!("/access/subjects/{}/groups/{}", s.subject, s.group),
        Some(&s.admin),
        None,
    )
    .await;
    assert!(r.status < 300, "unlinked: {} {}", r.status, r.body);
    let r = conditional(&app, mine, &s.student, &t_mine2).await;
    assert_eq!(r.status, 200, "the tree changed: {}", r.body);
    assert_eq!(r.body, json!([]));
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("gzip");
    out
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli_decompressor::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .expect("brotli");
    out
}

async fn json_is_compressed_when_asked_and_files_are_not<S: Store>(app: TestApp<S>) {
    let s = school(&app).await;
    for i in 0..12 {
        lesson(&app, &s, &format!("Урок {i}")).await;
    }
    let mine = "/access/my-modules";
    let plain = get(&app, mine, Some(&s.student)).await;
    plain.expect(200);
    assert!(
        plain.bytes.len() > 1024,
        "a tree worth compressing: {}",
        plain.bytes.len()
    );
    assert_eq!(plain.header("content-encoding"), None, "not asked, not compressed");
    let asked = |enc: &'static str| {
        send(
            app.request(Method::GET, mine, Some(&s.student))
                .header("accept-encoding", enc),
        )
    };

    let gz = asked("gzip").await;
    assert_eq!(gz.status, 200);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert!(
        gz.bytes.len() < plain.bytes.len() / 2,
        "{} of {}",
        gz.bytes.len(),
        plain.bytes.len()
    );
    assert_eq!(gunzip(&gz.bytes), plain.bytes);
    let br = asked("br;q=1.0, gzip;q=0.5").await;
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert_eq!(unbrotli(&br.bytes), plain.bytes);
    // The tag is the answer's, however it travels; a 304 needs no encoding.
    assert_eq!(gz.header("etag"), plain.header("etag"));
    let tag = plain.header("etag").expect("a tag").to_owned();
    let r = send(
        app.request(Method::GET, mine, Some(&s.student))
            .header("accept-encoding", "gzip")
            .header("if-none-match", tag),
    )
    .await;
    assert_eq!(r.status, 304);
    assert!(r.bytes.is_empty());

    // Small answers are not worth it.
    let me = send(
        app.request(Method::GET, "/auth/check", Some(&s.student))
            .header("accept-encoding", "gzip"),
    )
    .await;
    me.expect(200);
    assert_eq!(me.header("content-encoding"), None);

    // A file download is sent as it is stored.
    let pdf = {
        let mut b = b"%PDF-1.4\n".to_vec();
        b.extend(std::iter::repeat_n(b'a', 8192));
        b
    };
    let up = send(
        app.request(Method::POST, "/lessons/upload/lesson-file", Some(&s.teacher))
            .multipart(
                Form::new().part(
                    "file",
                    reqwest::multipart::Part::bytes(pdf.clone())
                        .file_name("notes.pdf")
                        .mime_str("application/pdf")
                        .expect("mime"),
                ),
            ),
    )
    .await;
    let path = up.expect(200)["url"].as_str().expect("a url").to_owned();
    let r = call(
        &app,
        Method::POST,
        &format!("/lessons/add/subjects/{}", s.subject),
        Some(&s.teacher),
        Some(json!({"title": "Конспект", "type": "pdf", "content_url": path})),
    )
    .await;
    r.expect(200);
    let r = send(
        app.request(Method::GET, &path, Some(&s.student))
            .header("accept-encoding", "gzip, br"),
    )
    .await;
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    assert_eq!(r.header("content-encoding"), None, "{path}");
    assert_eq!(r.bytes, pdf);
}
