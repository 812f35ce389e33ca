//! The grade read paths on both backends: a student's summary over 500 items, and a gradebook of
//! 30 students × 100 lessons (one page with every student).
//!
//! The data is made through `Platform`, as the application makes it: 100 lessons in one module
//! (80 with homework, 20 with a linked test of five attempts). The measured student handed in every
//! homework five times (all graded) and took every test five times: 400 + 100 = 500 items. The 29
//! others handed in each homework once and took each test once.
//!
//! SQLite always runs; PostgreSQL runs when `EDU_TEST_DATABASE_URL` is set:
//! `EDU_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench -p edu-tests --bench grades`

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use edu_core::conformance::{Fixture, pg_fixture, sqlite_fixture};
use edu_core::domain::quiz::Answer;
use edu_core::domain::{GroupId, LessonId, ModuleId, NewModule, Page, Password, SubjectId, TestId};
use edu_core::{BootstrapAdmin, ClientInfo, CreateUser, Iin, NewLesson, Platform, Principal, Role, Store};
use futures_util::StreamExt;

const PASSWORD: &str = "Right-pass-1";
const STUDENTS: usize = 30;
const HOMEWORK_LESSONS: usize = 80;
const TEST_LESSONS: usize = 20;
const REPEATS: usize = 5;

struct Seeded {
    admin: Principal,
    student: Principal,
    group: GroupId,
    module: ModuleId,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

async fn login<S: Store>(p: &Platform<S>, iin: &str) -> Principal {
    let session = p.login(iin, PASSWORD, ClientInfo::default()).await.expect("login");
    p.authenticate(&session.tokens.access_token).await.expect("token")
}

async fn user<S: Store>(p: &Platform<S>, admin: &Principal, n: usize, role: Role) -> Principal {
    let iin = format!("{:012}", 950_000_000_000u64 + n as u64);
    let new = CreateUser {
        iin: iin.clone(),
        password: PASSWORD.into(),
        role: Some(role),
        full_name: format!("Студент {n:03}"),
        phone: None,
    };
    p.create_user(admin, new).await.expect("user");
    login(p, &iin).await
}

async fn lesson<S: Store>(p: &Platform<S>, who: &Principal, subject: SubjectId, title: String, kind: &str) -> LessonId {
    let req = NewLesson {
        title,
        label: kind.into(),
        content_url: None,
        description: None,
        test_id: None,
    };
    p.create_lesson(who, subject, req).await.expect("lesson").id
}

async fn seed<S: Store>(p: &Platform<S>) -> Seeded {
    let started = Instant::now();
    let boot = BootstrapAdmin {
        iin: Iin::parse("800101300011").expect("IIN"),
        password: Password::new(PASSWORD).expect("password"),
        full_name: "Администратор".into(),
        phone: None,
    };
    p.bootstrap_admin(boot).await.expect("admin");
    let admin = login(p, "800101300011").await;
    let group = p.create_group(&admin, "Бенч-1", None).await.expect("group").id;
    let module = NewModule {
        title: "Модуль".into(),
        course: None,
        description: None,
    };
    let module = p.create_module(&admin, module).await.expect("module").id;
    let mut subjects = Vec::new();
    for s in 0..4 {
        let subject = p
            .create_subject(&admin, module, &format!("Предмет {s}"))
            .await
            .expect("subject");
        subjects.push(subject.id);
    }
    p.link_group_to_module(&admin, group, module).await.expect("link");
    let mut homework = Vec::new();
    for i in 0..HOMEWORK_LESSONS {
        homework.push(lesson(p, &admin, subjects[i % 4], format!("Урок {i}"), "pdf").await);
    }
    let mut tests: Vec<(TestId, Vec<Answer>)> = Vec::new();
    for i in 0..TEST_LESSONS {
        let subject = subjects[i % 4];
        let linked = lesson(p, &admin, subject, format!("Тест {i}"), "test").await;
        let draft = serde_json::from_value(serde_json::json!({
            "title": format!("Тест {i}"), "subject_id": subject.0, "lesson_id": linked.0, "max_attempts": REPEATS,
            "questions": (0..3).map(|q| serde_json::json!({
                "question_text": format!("Вопрос {q}"), "correct_option_index": 1,
                "options": [{"option_text": "да", "option_index": 1}, {"option_text": "нет", "option_index": 2}]
            })).collect::<Vec<_>>()
        }))
        .expect("draft");
        let test = p.create_test(&admin, draft).await.expect("test");
        let answers = test
            .questions
            .iter()
            .enumerate()
            .map(|(q, question)| Answer {
                question_id: question.id,
                selected_index: Some(if (q + i) % 2 == 0 { 1 } else { 2 }),
                selected_indexes: None,
            })
            .collect();
        tests.push((test.id, answers));
    }
    let mut students = Vec::new();
    for n in 0..STUDENTS {
        students.push(user(p, &admin, n, Role::Student).await);
    }
    let ids: Vec<_> = students.iter().map(|s| s.id()).collect();
    p.add_group_members(&admin, group, &ids).await.expect("members");
    let work = students.iter().enumerate().map(|(n, student)| {
        let (admin, homework, tests) = (&admin, &homework, &tests);
        async move {
            let repeats = if n == 0 { REPEATS } else { 1 };
            for (i, lesson) in homework.iter().enumerate() {
                for r in 0..repeats {
                    let draft = p.begin_homework(student, *lesson).await.expect("may submit");
                    let done = draft.finish(Some("работа")).await.expect("submitted");
                    let grade = ((n * 7 + i * 3 + r * 11) % 101) as i64;
                    p.grade_submission(admin, done.id, grade, None).await.expect("graded");
                }
            }
            for (test, answers) in tests {
                for _ in 0..repeats {
                    p.submit_test(student, *test, answers.clone()).await.expect("result");
                }
            }
        }
    });
    futures_util::stream::iter(work)
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
    eprintln!("seeded in {:.1} s", started.elapsed().as_secs_f64());
    Seeded {
        admin,
        student: students.swap_remove(0),
        group,
        module,
    }
}

fn measure<S: Store>(c: &mut Criterion, rt: &tokio::runtime::Runtime, backend: &str, fx: Fixture<S>) {
    let p = fx.platform.clone();
    let seeded = rt.block_on(seed(&p));
    let summary = rt
        .block_on(p.summarize(&seeded.student, seeded.student.id()))
        .expect("summary");
    assert_eq!(summary.items.len(), REPEATS * (HOMEWORK_LESSONS + TEST_LESSONS));
    let page = Page::new(STUDENTS as i64, 0);
    let book = rt
        .block_on(p.gradebook(&seeded.admin, seeded.group, seeded.module, page))
        .expect("gradebook");
    assert_eq!(
        (book.students.len(), book.lessons.len()),
        (STUDENTS, HOMEWORK_LESSONS + TEST_LESSONS)
    );

    let mut g = c.benchmark_group("grades");
    g.sample_size(30).measurement_time(Duration::from_secs(5));
    g.bench_function(BenchmarkId::new("summary, 500 items", backend), |b| {
        b.to_async(rt)
            .iter(|| p.summarize(&seeded.student, seeded.student.id()))
    });
    g.bench_function(BenchmarkId::new("gradebook, 30 x 100", backend), |b| {
        b.to_async(rt)
            .iter(|| p.gradebook(&seeded.admin, seeded.group, seeded.module, page))
    });
    g.finish();
    drop(fx);
}

fn grades(c: &mut Criterion) {
    let rt = runtime();
    if let Some(fx) = rt.block_on(sqlite_fixture()) {
        measure(c, &rt, "sqlite", fx);
    }
    if let Some(fx) = rt.block_on(pg_fixture()) {
        measure(c, &rt, "postgres", fx);
    }
}

criterion_group!(benches, grades);
criterion_main!(benches);
