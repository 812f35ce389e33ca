//! A school's own warp service that mounts a route of its own beside edu's HTTP API: one
//! `Platform`, one login. A student logs in through edu's `POST /auth/login`, and the same bearer
//! token opens both edu's routes and the service's `GET /school/report`, which authenticates it
//! with `Platform::authenticate` and answers with the caller's grade summary from
//! `Platform::summarize`. Both are served through edu's tower stack by `edu_http::serve_routes`,
//! so the service's route gets the same security headers, languages, CORS and request ids.
//!
//! The example runs itself: it serves on `127.0.0.1:0`, calls the routes with reqwest, checks the
//! answers, prints them and exits (non-zero if an answer is not what it should be).
//!
//! `cargo run -p edu-http --example mount`

use edu_core::domain::NewModule;
use edu_core::domain::quiz::{Answer, OptionDraft, QuestionDraft, QuestionKind, Scoring, TestDraft};
use edu_core::{ClientInfo, CreateUser, NewLesson, Platform, PlatformConfig, PoolSettings, Role, SqliteStore, Store};
use edu_http::error::{ApiError, respond};
use serde_json::{Value, json};
use warp::reply::Response;
use warp::{Filter, Reply};

type Error = Box<dyn std::error::Error + Send + Sync>;

const ADMIN_IIN: &str = "800315400234";
const STUDENT_IIN: &str = "060215600039";
const STUDENT_PASSWORD: &str = "student-password-1";

/// `GET /school/report`: the caller's averages, computed by the platform edu serves from.
fn school_routes<S: Store>(
    platform: Platform<S>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path!("school" / "report")
        .and(warp::get())
        .and(warp::header::optional::<String>("authorization"))
        .then(move |authorization: Option<String>| report(platform.clone(), authorization))
}

async fn report<S: Store>(platform: Platform<S>, authorization: Option<String>) -> Response {
    respond(
        async {
            // The token edu issued at `/auth/login`: its signature, expiry, revocation and the
            // account are checked exactly as for edu's own routes.
            let who = edu_http::authenticate(&platform, authorization.as_deref()).await?;
            let me = platform.me(&who).await?;
            let summary = platform.summarize(&who, who.id()).await?;
            let subjects: Vec<Value> = summary
                .subjects
                .iter()
                .map(|s| json!({ "subject": s.title, "average": s.tally.average, "counted": s.tally.counted }))
                .collect();
            let body = json!({
                "student": me.full_name,
                "overall_average": summary.overall.average,
                "counted": summary.overall.counted,
                "pending": summary.overall.pending,
                "subjects": subjects,
            });
            Ok::<_, ApiError>(warp::reply::json(&body).into_response())
        }
        .await,
    )
}

/// An administrator, a student in a group that studies a module with one two-question test.
/// Returns the test's id.
async fn set_up<S: Store>(platform: &Platform<S>) -> Result<edu_core::domain::TestId, Error> {
    for (iin, name, role, password) in [
        (ADMIN_IIN, "Әкімші", Role::Admin, "admin-password-1"),
        (STUDENT_IIN, "Қасымова Айгерім", Role::Student, STUDENT_PASSWORD),
    ] {
        platform
            .provision_user(CreateUser {
                iin: iin.into(),
                full_name: name.into(),
                phone: None,
                role: Some(role),
                password: password.into(),
            })
            .await?;
    }
    let session = platform
        .login(ADMIN_IIN, "admin-password-1", ClientInfo::default())
        .await?;
    let admin = platform.authenticate(&session.tokens.access_token).await?;
    let student = platform.user_ref(&admin, STUDENT_IIN).await?;
    let group = platform.create_group(&admin, "ПО-24-1", None).await?;
    platform.enroll(&admin, group.id, &[student.id]).await?;
    let module = NewModule {
        title: "Бағдарламалау негіздері".into(),
        course: Some("1".into()),
        description: None,
    };
    let module = platform.create_module(&admin, module).await?;
    let subject = platform.create_subject(&admin, module.id, "Алгоритмдер").await?;
    platform.link_group_to_module(&admin, group.id, module.id).await?;
    let lesson = NewLesson {
        title: "Сұрыптау".into(),
        label: "test".into(),
        content_url: None,
        description: None,
        test_id: None,
    };
    let lesson = platform.create_lesson(&admin, subject.id, lesson).await?;
    let question = |text: &str| QuestionDraft {
        question_text: text.into(),
        kind: QuestionKind::Single,
        correct_option_index: Some(1),
        correct_option_indexes: None,
        options: vec![
            OptionDraft {
                option_text: "O(n log n)".into(),
                option_index: 1,
            },
            OptionDraft {
                option_text: "O(n²)".into(),
                option_index: 2,
            },
        ],
    };
    let draft = TestDraft {
        title: "Сұрыптау".into(),
        subject_id: subject.id.0,
        lesson_id: Some(lesson.id.0),
        max_attempts: Some(1),
        time_limit_minutes: None,
        shuffle: false,
        scoring: Scoring::AllOrNothing,
        questions: vec![question("Merge sort?"), question("Heapsort?")],
    };
    Ok(platform.create_test(&admin, draft).await?.id)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let dir = std::env::temp_dir().join(format!("edu-mount-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let outcome = run(&dir).await;
    std::fs::remove_dir_all(&dir)?;
    outcome
}

async fn run(dir: &std::path::Path) -> Result<(), Error> {
    let store = SqliteStore::connect(
        &format!("sqlite://{}", dir.join("edu.db").display()),
        PoolSettings::default(),
    )
    .await?;
    store.migrate().await?;
    let mut config = PlatformConfig::new(b"a long random secret for the example".to_vec());
    // Throwaway accounts: a quick hash. Real deployments keep the default cost.
    config.bcrypt_cost = 4;
    let platform = Platform::new(store, config);
    let test = set_up(&platform).await?;

    // One filter: the school's routes first, then edu's, which answer everything else.
    let options = edu_http::Options::default();
    let routes = school_routes(platform.clone())
        .or(edu_http::routes_with(platform.clone(), &options))
        .unify()
        .boxed();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(edu_http::serve_routes(routes, listener, options, async {
        let _ = stopped.await;
    }));

    let outcome = exercise(&platform, &base, test).await;
    let _ = stop.send(());
    server.await??;
    outcome
}

/// Logs in over HTTP, takes the test with the same token in process, then reads edu's grade list
/// and the school's report and checks that they agree.
async fn exercise<S: Store>(platform: &Platform<S>, base: &str, test: edu_core::domain::TestId) -> Result<(), Error> {
    // reqwest and rustls share one crypto provider with edu-core's S3 file store.
    edu_core::files::install_tls_provider();
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{base}/auth/login"))
        .json(&json!({ "iin": STUDENT_IIN, "password": STUDENT_PASSWORD }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = login["access_token"]
        .as_str()
        .ok_or("the login answer has no access_token")?;
    println!("POST /auth/login (edu): logged in as {}", login["user"]["full_name"]);

    // The token edu issued is a `Principal` in process too: one answer right, one wrong.
    let student = platform.authenticate(token).await?;
    let questions = platform.test(&student, test).await?.questions;
    let answers = questions
        .iter()
        .zip([1, 2])
        .map(|(q, chosen)| Answer {
            question_id: q.id,
            selected_index: Some(chosen),
            selected_indexes: None,
        })
        .collect();
    let result = platform.submit_test(&student, test, answers).await?;
    println!("test submitted in process: score {}", result.score);

    let grades = http
        .get(format!("{base}/lessons/student/grades"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?;
    let grades: Value = grades.json().await?;
    let items = grades.as_array().ok_or("edu's grade list is not a list")?;
    println!("GET /lessons/student/grades (edu): {grades}");

    let answer = http
        .get(format!("{base}/school/report"))
        .bearer_auth(token)
        .send()
        .await?;
    let nosniff = answer
        .headers()
        .get("x-content-type-options")
        .is_some_and(|v| v == "nosniff");
    let report: Value = answer.error_for_status()?.json().await?;
    println!("GET /school/report (this service): {report}");

    let anonymous = http.get(format!("{base}/school/report")).send().await?;
    let anonymous_status = anonymous.status();
    let refused: Value = anonymous.json().await?;
    println!("GET /school/report without a token: {anonymous_status} {refused}");

    let checks = [
        (items.len() == 1, "edu lists the one test result"),
        (
            items.first().map(|i| &i["grade"]) == Some(&json!(50.0)),
            "edu's grade is 50",
        ),
        (report["overall_average"] == json!(50.0), "the report's average is 50"),
        (
            report["counted"] == json!(items.len()),
            "the report counts what edu lists",
        ),
        (
            report["student"] == login["user"]["full_name"],
            "the report is the caller's",
        ),
        (nosniff, "the school's route carries edu's security headers"),
        (anonymous_status == reqwest::StatusCode::UNAUTHORIZED, "no token is 401"),
        (
            refused["code"] == json!("unauthorized"),
            "the refusal is edu's error body",
        ),
    ];
    let failed: Vec<&str> = checks.iter().filter(|(ok, _)| !ok).map(|(_, what)| *what).collect();
    if !failed.is_empty() {
        return Err(format!("not as expected: {}", failed.join("; ")).into());
    }
    println!("ok: one login for edu's routes and the school's");
    Ok(())
}
