//! `/tests/*`: tests (quizzes), attempts and results; `/lessons/{id}/submissions/tests` and
//! `/lessons/result/{id}`.

use edu_core::domain::quiz::{Answer, Attempt, TestDraft, TestView};
use edu_core::domain::{AttemptId, LessonId, SubjectId, TestId};
use edu_core::policy::{self, Guard};
use edu_core::{Answers, AttemptView, Platform, Store, TestResult};
use serde::Deserialize;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::{Detail, detail, no_content, ok};
use crate::error::ErrorBody;
use crate::extract::{Body, authed, bearer, body, json, with_platform};

/// The existing frontend's submission: start and submit in one call.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SubmitTest {
    pub test_id: i64,
    #[serde(default)]
    pub answers: Vec<Answer>,
}

pub(crate) fn routes<S: Store>(p: Platform<S>) -> BoxedFilter<(Response,)> {
    let w = || with_platform(p.clone()).and(bearer());
    let create = warp::path!("tests" / "create")
        .and(warp::post())
        .and(w())
        .and(body())
        .then(create::<S>);
    let read = warp::path!("tests" / i64).and(warp::get()).and(w()).then(read::<S>);
    let update = warp::path!("tests" / i64)
        .and(warp::put())
        .and(w())
        .and(body())
        .then(update::<S>);
    let delete = warp::path!("tests" / i64)
        .and(warp::delete())
        .and(w())
        .then(delete::<S>);
    let by_subject = warp::path!("tests" / "by-subject" / i64)
        .and(warp::get())
        .and(w())
        .then(by_subject::<S>);
    let submit = warp::path!("tests" / "submit")
        .and(warp::post())
        .and(w())
        .and(body())
        .then(submit::<S>);
    let start = warp::path!("tests" / i64 / "start")
        .and(warp::post())
        .and(w())
        .then(start::<S>);
    let save = warp::path!("tests" / "attempts" / i64 / "answers")
        .and(warp::put())
        .and(w())
        .and(body())
        .then(save::<S>);
    let finish = warp::path!("tests" / "attempts" / i64 / "submit")
        .and(warp::post())
        .and(w())
        .and(body())
        .then(finish::<S>);
    let mine = warp::path!("tests" / i64 / "my-results")
        .and(warp::get())
        .and(w())
        .then(my_results::<S>);
    let results = warp::path!("lessons" / i64 / "submissions" / "tests")
        .and(warp::get())
        .and(w())
        .then(lesson_results::<S>);
    let delete_result = warp::path!("lessons" / "result" / i64)
        .and(warp::delete())
        .and(w())
        .then(delete_result::<S>);
    super::one_of([
        create.boxed(),
        read.boxed(),
        update.boxed(),
        delete.boxed(),
        by_subject.boxed(),
        submit.boxed(),
        start.boxed(),
        save.boxed(),
        finish.boxed(),
        mine.boxed(),
        results.boxed(),
        delete_result.boxed(),
    ])
}

/// Creates a test in a subject (its teacher or an admin). At least one question, each with two or
/// more options with distinct indexes and the correct index among them.
#[utoipa::path(post, operation_id = "create_test", path = "/tests/create", tag = "tests", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::TeacherOwn.as_str()))), request_body = TestDraft,
    responses((status = 200, body = TestView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "The lesson already has a test"),
        (status = 422, body = ErrorBody)))]
pub(crate) async fn create<S: Store>(p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::TeacherOwn)?;
        let draft: TestDraft = json(body).await?;
        Ok(ok(&p.create_test(&who, draft).await?))
    })
    .await
}

/// A test. Students never receive which options are correct; the subject's teacher and admins do.
#[utoipa::path(get, operation_id = "read_test", path = "/tests/{id}", tag = "tests", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::AuthOwn.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = TestView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn read<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| Ok(ok(&p.test(&who, TestId(id)).await?))).await
}

/// Replaces a test's settings and questions; existing results are kept and stay readable.
#[utoipa::path(put, operation_id = "update_test", path = "/tests/{id}", tag = "tests", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::TeacherOwn.as_str()))), params(("id" = i64, Path)), request_body = TestDraft,
    responses((status = 200, body = TestView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn update<S: Store>(id: i64, p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::TeacherOwn)?;
        let draft: TestDraft = json(body).await?;
        Ok(ok(&p.update_test(&who, TestId(id), draft).await?))
    })
    .await
}

/// Deletes a test and its results: 204 without a body, as the old backend answered.
#[utoipa::path(delete, operation_id = "delete_test", path = "/tests/{id}", tag = "tests", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::TeacherOwn.as_str()))), params(("id" = i64, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn delete<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        p.delete_test(&who, TestId(id)).await?;
        Ok(no_content())
    })
    .await
}

/// The tests of a subject the caller may see.
#[utoipa::path(get, path = "/tests/by-subject/{id}", tag = "tests", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::AuthOwn.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<TestView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn by_subject<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        Ok(ok(&p.subject_tests(&who, SubjectId(id)).await?))
    })
    .await
}

/// Takes a test in one call (start and submit): score = right ÷ total × 100 with two decimals.
/// Answers the old result (`id`, `user_id`, `lesson_id`, `test_id`, `score`, `submitted_at`) with
/// the attempt's counts beside. Refused with 409 when no attempts are left.
#[utoipa::path(post, operation_id = "submit_test", path = "/tests/submit", tag = "tests", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::AuthOwn.as_str()))), request_body = SubmitTest,
    responses((status = 200, body = TestResult), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "No attempts left"),
        (status = 422, body = ErrorBody)))]
pub(crate) async fn submit<S: Store>(p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        let req: SubmitTest = json(body).await?;
        Ok(ok(&p.submit_test(&who, TestId(req.test_id), req.answers).await?))
    })
    .await
}

/// Starts an attempt (or resumes the open one): the questions in this attempt's order, without
/// answers, and the deadline fixed now.
#[utoipa::path(post, operation_id = "start_attempt", path = "/tests/{id}/start", tag = "tests", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::AuthOwn.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = AttemptView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "No attempts left")))]
pub(crate) async fn start<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        Ok(ok(&p.start_attempt(&who, TestId(id)).await?))
    })
    .await
}

/// Saves answers so far; refused after the deadline (what was saved in time is submitted).
#[utoipa::path(put, operation_id = "save_answers", path = "/tests/attempts/{id}/answers", tag = "tests", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::AuthOwn.as_str()))), params(("id" = i64, Path)), request_body = Answers,
    responses((status = 200, body = Attempt), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "Submitted or past the deadline"), (status = 422, body = ErrorBody)))]
pub(crate) async fn save<S: Store>(id: i64, p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        let req: Answers = json(body).await?;
        Ok(ok(&p.save_answers(&who, AttemptId(id), req.answers).await?))
    })
    .await
}

/// Submits an attempt with any last answers.
#[utoipa::path(post, operation_id = "submit_attempt", path = "/tests/attempts/{id}/submit", tag = "tests", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::AuthOwn.as_str()))), params(("id" = i64, Path)), request_body = Answers,
    responses((status = 200, body = TestResult), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub(crate) async fn finish<S: Store>(id: i64, p: Platform<S>, auth: Option<String>, body: Body) -> Response {
    authed(p, auth, async |p, who| {
        let req: Answers = json(body).await?;
        Ok(ok(&p.submit_attempt(&who, AttemptId(id), req.answers).await?))
    })
    .await
}

/// The caller's attempts at a test, newest first.
#[utoipa::path(get, path = "/tests/{id}/my-results", tag = "tests", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::AuthOwn.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Attempt>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn my_results<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| Ok(ok(&p.my_results(&who, TestId(id)).await?))).await
}

/// Test results of a lesson with student names (the subject's teacher or an admin).
#[utoipa::path(get, path = "/lessons/{id}/submissions/tests", tag = "tests", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::TeacherOwn.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Attempt>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn lesson_results<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        Ok(ok(&p.lesson_results(&who, LessonId(id)).await?))
    })
    .await
}

/// Deletes a test result.
#[utoipa::path(delete, path = "/lessons/result/{id}", tag = "tests", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::TeacherOwn.as_str()))), params(("id" = i64, Path)),
    responses((status = 200, body = Detail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_result<S: Store>(id: i64, p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| {
        p.delete_result(&who, AttemptId(id)).await?;
        Ok(detail("result deleted"))
    })
    .await
}
