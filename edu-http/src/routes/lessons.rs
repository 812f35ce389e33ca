//! `/lessons/*`: lessons, lesson documents and homework; `/files/download/*` and `/static/photos/*`.

use edu_core::domain::{Lesson, LessonId, SubjectId, Submission, SubmissionId};
use edu_core::policy::{self, Guard};
use edu_core::{HOMEWORK_LIMIT, LESSON_FILE_LIMIT, LessonPatch, LessonView, NewLesson, Platform, Store, UploadedUrl};
use serde::{Deserialize, Serialize};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::{Detail, detail, ok, ok_with_detail};
use crate::error::{ApiError, ErrorBody, respond};
use crate::extract::{Body, authed, bearer, body, json, optional_header, parse_query, query, with_platform};
use crate::upload::{Overrun, check_declared, file_response, form_error, multipart, parse_range, text_field};

/// Multipart form of a lesson document.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct LessonFileForm {
    /// pdf, doc(x), xls(x), ppt(x), odt/ods/odp, csv, txt, jpg/png/webp/gif, mp4/mov/webm, mp3, zip; at most 50 MiB.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// Multipart form of a homework submission: files, a comment, or both.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct HomeworkForm {
    /// Up to 5 files, at most 20 MiB in all (the lesson document types).
    #[schema(value_type = Vec<String>, format = Binary)]
    pub files: Vec<Vec<u8>>,
    pub comment: Option<String>,
}

/// A stored submission.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Submitted {
    pub detail: String,
    /// Files stored with the submission.
    pub count: usize,
    pub submission: Submission,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct GradeRequest {
    /// 0–100.
    pub grade: i64,
    #[serde(default)]
    pub feedback: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Part of the student's name, any case.
    #[serde(default)]
    pub search: Option<String>,
}

pub(crate) fn routes<S: Store>(p: Platform<S>) -> BoxedFilter<(Response,)> {
    let w = || with_platform(p.clone()).and(bearer());
    let create = warp::path!("lessons" / "add" / "subjects" / i64)
        .and(warp::post())
        .and(w())
        .and(body())
        .then(create::<S>);
    let read = warp::path!("lessons" / i64).and(warp::get()).and(w()).then(read::<S>);
    let delete = warp::path!("lessons" / i64)
        .and(warp::delete())
        .and(w())
        .then(delete::<S>);
    let update = warp::path!("lessons" / i64)
        .and(warp::patch())
        .and(w())
        .and(body())
        .then(update::<S>);
    let upload = warp::path!("lessons" / "upload" / "lesson-file")
        .and(warp::post())
        .and(w())
        .and(optional_header("content-type"))
        .and(optional_header("content-length"))
        .and(body())
        .then(upload_file::<S>);
    let submit = warp::path!("lessons" / i64 / "submit-homework")
        .and(warp::post())
        .and(w())
        .and(optional_header("content-type"))
        .and(optional_header("content-length"))
        .and(body())
        .then(submit::<S>);
    let mine = warp::path!("lessons" / i64 / "my-submissions")
        .and(warp::get())
        .and(w())
        .then(my_submissions::<S>);
    let all = warp::path!("lessons" / i64 / "submissions" / "files")
        .and(warp::get())
        .and(w())
        .and(query())
        .then(submissions::<S>);
    let delete_submission = warp::path!("lessons" / "submission" / i64)
        .and(warp::delete())
        .and(w())
        .then(delete_submission::<S>);
    let grade = warp::path!("lessons" / "submission" / i64 / "grade")
        .and(warp::patch())
        .and(w())
        .and(body())
        .then(grade::<S>);
    let download = warp::path("files")
        .and(warp::path("download"))
        .and(warp::path::tail())
        .and(warp::get())
        .and(w())
        .and(optional_header("range"))
        .then(download::<S>);
    let photo = warp::path("static")
        .and(warp::path("photos"))
        .and(warp::path::tail())
        .and(warp::get())
        .and(with_platform(p.clone()))
        .and(optional_header("range"))
        .then(photo::<S>);
    let static_document = warp::path("static")
        .and(warp::path("lesson_docs"))
        .and(warp::path::tail())
        .and(warp::get())
        .and(w())
        .and(optional_header("range"))
        .then(static_document::<S>);
    let static_homework = warp::path("static")
        .and(warp::path("homework"))
        .and(warp::path::tail())
        .and(warp::get())
        .and(w())
        .and(optional_header("range"))
        .then(static_homework::<S>);
    super::one_of([
        create.boxed(),
        read.boxed(),
        delete.boxed(),
        update.boxed(),
        upload.boxed(),
        submit.boxed(),
        mine.boxed(),
        all.boxed(),
        delete_submission.boxed(),
        grade.boxed(),
        download.boxed(),
        photo.boxed(),
        static_document.boxed(),
        static_homework.boxed(),
    ])
}

/// Creates a lesson in a subject (its teacher or an admin). A linked test must exist in the
/// subject; nothing is written otherwise.
#[utoipa::path(post, operation_id = "create_lesson", path = "/lessons/add/subjects/{subject_id}", tag = "lessons", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::TeacherOwn.as_str()))), params(("subject_id" = i64, Path)), request_body = NewLesson,
    responses((status = 200, body = Lesson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn create<S: Store>(subject: i64, p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::TeacherOwn)?;
        let req: NewLesson = json(body).await?;
        Ok(ok(&p.create_lesson(&who, SubjectId(subject), req).await?))
    })
    .await
}

/// A lesson with its subject and the caller's result, if the caller may see it.
#[utoipa::path(get, operation_id = "read_lesson", path = "/lessons/{id}", tag = "lessons", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::AuthOwn.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = LessonView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn read<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| Ok(ok(&p.lesson(&who, LessonId(id)).await?))).await
}

/// Changes a lesson in place: title, type, description, content (an address, a new document,
/// which replaces and deletes the old one, or a test), or the linked test (`null` unlinks it).
/// Submissions and results stay. A lesson with homework cannot become a test (409).
#[utoipa::path(patch, operation_id = "update_lesson", path = "/lessons/{id}", tag = "lessons", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::TeacherOwn.as_str()))), params(("id" = i64, Path)), request_body = LessonPatch,
    responses((status = 200, body = Lesson), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The test or document belongs to another lesson, or the lesson has homework and would become a test"),
        (status = 422, body = ErrorBody)))]
pub(crate) async fn update<S: Store>(id: i64, p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::TeacherOwn)?;
        let patch: LessonPatch = json(body).await?;
        Ok(ok(&p.update_lesson(&who, LessonId(id), patch).await?))
    })
    .await
}

/// Deletes a lesson with its documents, submissions and their stored files.
#[utoipa::path(delete, operation_id = "delete_lesson", path = "/lessons/{id}", tag = "lessons", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::TeacherOwn.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = Detail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn delete<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        p.delete_lesson(&who, LessonId(id)).await?;
        Ok(detail("lesson deleted"))
    })
    .await
}

/// Stores a lesson document; use the returned `url` as a lesson's `content_url`.
#[utoipa::path(post, path = "/lessons/upload/lesson-file", tag = "lessons", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Teacher.as_str()))), request_body(content = LessonFileForm, content_type = "multipart/form-data"),
    responses((status = 200, body = UploadedUrl), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub(crate) async fn upload_file<S: Store>(
    p: Platform<S>,
    auth: Option<String>,
    content_type: Option<String>,
    content_length: Option<String>,
    body: Body,
) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::Teacher)?;
        check_declared(content_length.as_deref(), LESSON_FILE_LIMIT)?;
        let mut form = multipart(content_type.as_deref(), body, LESSON_FILE_LIMIT)?;
        while let Some(field) = form.next_field().await.map_err(|e| form_error(e, LESSON_FILE_LIMIT))? {
            if field.name() == Some("file") {
                let name = field.file_name().unwrap_or("file").to_owned();
                let overrun = Overrun::default();
                return match p
                    .upload_lesson_file(&who, &name, overrun.watch(field, LESSON_FILE_LIMIT))
                    .await
                {
                    Ok(uploaded) => Ok(ok(&uploaded)),
                    Err(e) => Err(overrun.explain(e)),
                };
            }
        }
        Err(ApiError::Core(edu_core::Error::Validation(
            "the form has no `file` field".into(),
        )))
    })
    .await
}

/// Hands in homework: files (up to 5, 20 MiB in all) and/or a comment. Only students enrolled
/// in the lesson's module; earlier submissions are kept.
#[utoipa::path(post, operation_id = "submit_homework", path = "/lessons/{id}/submit-homework", tag = "lessons", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::AuthOwn.as_str()))), params(("id" = i64, Path)),
    request_body(content = HomeworkForm, content_type = "multipart/form-data"),
    responses((status = 200, body = Submitted), (status = 400, body = ErrorBody, description = "Neither files nor a comment"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "The lesson is a test (or has one linked): it takes no homework"),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn submit<S: Store>(
    id: i64,
    p: Platform<S>,
    auth: Option<String>,
    content_type: Option<String>,
    content_length: Option<String>,
    body: Body,
) -> Response {
    authed(p, auth, async |p, who| {
        let mut draft = p.begin_homework(&who, LessonId(id)).await?;
        let received = receive_homework(&mut draft, content_type, content_length, body).await;
        let comment = match received {
            Ok(comment) => comment,
            Err(e) => {
                draft.abandon().await;
                return Err(e);
            }
        };
        let submission = draft.finish(comment.as_deref()).await?;
        Ok(ok_with_detail(&Submitted {
            detail: "homework submitted".into(),
            count: submission.files.len(),
            submission,
        }))
    })
    .await
}

async fn receive_homework<S: Store>(
    draft: &mut edu_core::HomeworkDraft<S>,
    content_type: Option<String>,
    content_length: Option<String>,
    body: Body,
) -> Result<Option<String>, ApiError> {
    check_declared(content_length.as_deref(), HOMEWORK_LIMIT)?;
    let mut form = multipart(content_type.as_deref(), body, HOMEWORK_LIMIT)?;
    let mut comment = None;
    let overrun = Overrun::default();
    while let Some(field) = form.next_field().await.map_err(|e| form_error(e, HOMEWORK_LIMIT))? {
        match field.name() {
            Some("files" | "file" | "files[]") => {
                // An empty file input arrives as a part without a name and without content.
                let Some(name) = field.file_name().map(str::to_owned).filter(|n| !n.is_empty()) else {
                    continue;
                };
                draft
                    .add_file(&name, overrun.watch(field, HOMEWORK_LIMIT))
                    .await
                    .map_err(|e| overrun.explain(e))?;
            }
            Some("comment") => comment = Some(text_field(field, HOMEWORK_LIMIT).await?),
            _ => {}
        }
    }
    Ok(comment)
}

/// The caller's own submissions for a lesson, newest first.
#[utoipa::path(get, path = "/lessons/{id}/my-submissions", tag = "lessons", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Auth.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Submission>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn my_submissions<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        Ok(ok(&p.my_submissions(&who, LessonId(id)).await?))
    })
    .await
}

/// Every submission for a lesson with its files (the subject's teacher or an admin).
#[utoipa::path(get, path = "/lessons/{id}/submissions/files", tag = "lessons", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::TeacherOwn.as_str()))), params(("id" = i64, Path), SearchParams),
    responses((status = 200, body = Vec<Submission>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn submissions<S: Store>(id: i64, p: Platform<S>, auth: Option<String>, raw: String) -> Response {
    authed(p, auth, async |p, who| {
        let params: SearchParams = parse_query(&raw)?;
        Ok(ok(&p
            .lesson_submissions(&who, LessonId(id), params.search.as_deref())
            .await?))
    })
    .await
}

/// Deletes a submission and its files: its student, the subject's teacher or an admin.
#[utoipa::path(delete, path = "/lessons/submission/{id}", tag = "lessons", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::AuthOwn.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = Detail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_submission<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        p.delete_submission(&who, SubmissionId(id)).await?;
        Ok(detail("submission deleted"))
    })
    .await
}

/// A graded submission, with the `detail` the previous backend answered.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Graded {
    pub detail: String,
    #[serde(flatten)]
    pub submission: Submission,
}

/// Grades a submission 0–100 with optional feedback; recorded in the audit log.
#[utoipa::path(patch, path = "/lessons/submission/{id}/grade", tag = "lessons", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::TeacherOwn.as_str()))), params(("id" = i64, Path)), request_body = GradeRequest,
    responses((status = 200, body = Graded), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn grade<S: Store>(id: i64, p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::TeacherOwn)?;
        let req: GradeRequest = json(body).await?;
        let submission = p
            .grade_submission(&who, SubmissionId(id), req.grade, req.feedback.as_deref())
            .await?;
        Ok(ok_with_detail(&Graded {
            detail: "grade saved".into(),
            submission,
        }))
    })
    .await
}

/// Downloads a stored file (as an attachment; `Range` supported): homework only for its student,
/// the subject's teacher and admins; lesson documents for whoever may see the lesson. The path is
/// a storage key (`homework/<id>.pdf`) or one of the previous backend's: `lesson_docs/<name>`,
/// `homework/lesson_<n>/<name>`, `photos/<name>`.
#[utoipa::path(get, path = "/files/download/{path}", tag = "files", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::AuthOwn.as_str()))),
    params(("path" = String, Path, description = "A storage key, or lesson_docs/<name>, homework/lesson_<n>/<name>, photos/<name>")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 206, description = "Part of the file"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn download<S: Store>(
    tail: warp::path::Tail,
    p: Platform<S>,
    auth: Option<String>,
    range: Option<String>,
) -> Response {
    authed(p, auth, async |p, who| {
        let range = parse_range(range.as_deref());
        let (meta, file) = p.download(&who, tail.as_str(), range).await?;
        Ok(file_response(&meta, file, range.is_some(), true))
    })
    .await
}

/// A lesson document by the path lessons give it (`/static/lesson_docs/<name>`), for whoever
/// may see its lesson (as an attachment; `Range` supported).
#[utoipa::path(get, path = "/static/lesson_docs/{name}", tag = "files", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::AuthOwn.as_str()))), params(("name" = String, Path)),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 206, description = "Part of the file"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn static_document<S: Store>(
    tail: warp::path::Tail,
    p: Platform<S>,
    auth: Option<String>,
    range: Option<String>,
) -> Response {
    old_path(format!("lesson_docs/{}", tail.as_str()), p, auth, range).await
}

/// A homework file by the path submissions give it (`static/homework/lesson_<n>/<name>`), for its
/// student, the subject's teacher and admins (as an attachment; `Range` supported).
#[utoipa::path(get, path = "/static/homework/lesson_{n}/{name}", tag = "files", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::AuthOwn.as_str()))), params(("n" = i64, Path, description = "The lesson"), ("name" = String, Path)),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 206, description = "Part of the file"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn static_homework<S: Store>(
    tail: warp::path::Tail,
    p: Platform<S>,
    auth: Option<String>,
    range: Option<String>,
) -> Response {
    old_path(format!("homework/{}", tail.as_str()), p, auth, range).await
}

async fn old_path<S: Store>(path: String, p: Platform<S>, auth: Option<String>, range: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        let range = parse_range(range.as_deref());
        let (meta, file) = p.download_old(&who, &path, range).await?;
        Ok(file_response(&meta, file, range.is_some(), true))
    })
    .await
}

/// An avatar (public): by the name in a profile's `photo` (`static/photos/<name>`).
#[utoipa::path(get, path = "/static/photos/{file}", tag = "files",
    extensions(("x-guard" = json!(Guard::Public.as_str()))), params(("file" = String, Path)),
    responses((status = 200, description = "The image", content_type = "image/*"), (status = 404, body = ErrorBody)))]
pub(crate) async fn photo<S: Store>(tail: warp::path::Tail, p: Platform<S>, range: Option<String>) -> Response {
    let range = parse_range(range.as_deref());
    respond(
        p.public_photo(tail.as_str(), range)
            .await
            .map(|(meta, f)| file_response(&meta, f, range.is_some(), false))
            .map_err(ApiError::from),
    )
}
