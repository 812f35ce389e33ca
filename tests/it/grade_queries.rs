//! A student's summary and a gradebook page cost the same number of SQL statements whatever the
//! number of items, on both backends. Statements are counted from the database driver's own
//! per-statement events (`sqlx::query`), inside a span that marks the call being measured (the
//! SQLite worker thread runs each statement in its caller's span), so other work in this process
//! does not count.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use edu_core::conformance::Fixture;
use edu_core::domain::quiz::Answer;
use edu_core::domain::{GroupId, LessonId, ModuleId, NewModule, Page, Password, SubjectId, TestId};
use edu_core::{BootstrapAdmin, ClientInfo, CreateUser, Iin, NewLesson, Platform, Principal, Role, Store};
use tracing::Instrument;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

const MARK: &str = "edu_counted_call";

/// Counts `sqlx::query` events inside a span named [`MARK`].
struct Statements(Arc<AtomicUsize>);

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Statements {
    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let marked = ctx
            .event_scope(event)
            .is_some_and(|mut scope| scope.any(|span| span.name() == MARK));
        if !marked {
            return;
        }
        // Opening a connection (settings sent once per connection) is not the call's own work.
        let mut sql = Sql(String::new());
        event.record(&mut sql);
        let setup = ["PRAGMA", "SET "]
            .iter()
            .any(|p| sql.0.trim_start().to_ascii_uppercase().starts_with(p));
        if !setup {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The statement's summary, as the driver reports it.
struct Sql(String);

impl tracing::field::Visit for Sql {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "summary" {
            value.clone_into(&mut self.0);
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" {
            self.0 = format!("{value:?}");
        }
    }
}

fn counter() -> &'static Arc<AtomicUsize> {
    static COUNT: OnceLock<Arc<AtomicUsize>> = OnceLock::new();
    COUNT.get_or_init(|| {
        let count = Arc::new(AtomicUsize::new(0));
        let subscriber = tracing_subscriber::registry().with(Statements(Arc::clone(&count)));
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this test");
        count
    })
}

/// Statements run by `f`.
async fn statements<T>(f: impl Future<Output = T>) -> (usize, T) {
    let count = counter();
    // Only one measured call at a time: the span is what tells them apart from the rest.
    static ONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = ONE.lock().await;
    let before = count.load(Ordering::SeqCst);
    let out = f.instrument(tracing::info_span!(MARK)).await;
    (count.load(Ordering::SeqCst) - before, out)
}

async fn login<S: Store>(p: &Platform<S>, iin: &str, password: &str) -> Principal {
    let session = p.login(iin, password, ClientInfo::default()).await.expect("login");
    p.authenticate(&session.tokens.access_token).await.expect("token")
}

const ADMIN: &str = "800101300011";
const PASSWORD: &str = "Right-pass-1";

async fn lesson<S: Store>(
    p: &Platform<S>,
    teacher: &Principal,
    subject: SubjectId,
    title: &str,
    kind: &str,
) -> LessonId {
    let req = NewLesson {
        title: title.into(),
        label: kind.into(),
        content_url: None,
        description: None,
        test_id: None,
    };
    p.create_lesson(teacher, subject, req).await.expect("lesson").id
}

/// A one-question test linked to `lesson`, and a right answer to it.
async fn quiz<S: Store>(
    p: &Platform<S>,
    teacher: &Principal,
    subject: SubjectId,
    lesson: LessonId,
) -> (TestId, Vec<Answer>) {
    let draft = serde_json::from_value(serde_json::json!({
        "title": "Тест", "subject_id": subject.0, "lesson_id": lesson.0,
        "questions": [{"question_text": "2 + 2?", "correct_option_index": 4,
            "options": [{"option_text": "4", "option_index": 4}, {"option_text": "5", "option_index": 5}]}]
    }))
    .expect("a well-formed draft");
    let test = p.create_test(teacher, draft).await.expect("test");
    let answer = Answer {
        question_id: test.questions[0].id,
        selected_index: Some(4),
        selected_indexes: None,
    };
    (test.id, vec![answer])
}

/// A student with `homework` graded submissions and `tests` test results, in one module.
async fn scenario<S: Store>(
    fx: &Fixture<S>,
    homework: usize,
    tests: usize,
) -> (Principal, Principal, GroupId, ModuleId) {
    let p = &fx.platform;
    let admin = BootstrapAdmin {
        iin: Iin::parse(ADMIN).expect("IIN"),
        password: Password::new(PASSWORD).expect("password"),
        full_name: "Администратор".into(),
        phone: None,
    };
    p.bootstrap_admin(admin).await.expect("admin");
    let admin = login(p, ADMIN, PASSWORD).await;
    let (teacher_iin, student_iin) = (edu_tests::fresh_iin(), edu_tests::fresh_iin());
    for (iin, role) in [(&teacher_iin, Role::Teacher), (&student_iin, Role::Student)] {
        let user = CreateUser {
            iin: iin.clone(),
            password: PASSWORD.into(),
            role: Some(role),
            full_name: format!("Пользователь {iin}"),
            phone: None,
        };
        p.provision_user(user).await.expect("user");
    }
    let teacher = login(p, &teacher_iin, PASSWORD).await;
    let student = login(p, &student_iin, PASSWORD).await;
    let group = p.create_group(&admin, "Группа", None).await.expect("group");
    p.add_group_members(&admin, group.id, &[student.id()])
        .await
        .expect("member");
    let module = NewModule {
        title: "Модуль".into(),
        course: None,
        description: None,
    };
    let module = p.create_module(&admin, module).await.expect("module").id;
    let subject = p.create_subject(&admin, module, "Предмет").await.expect("subject");
    p.assign_teacher(&admin, &teacher_iin, module, subject.id)
        .await
        .expect("assign");
    p.link_group_to_module(&admin, group.id, module).await.expect("link");
    for i in 0..homework {
        let lesson = lesson(p, &teacher, subject.id, &format!("Урок {i}"), "pdf").await;
        let draft = p.begin_homework(&student, lesson).await.expect("may submit");
        let done = draft.finish(Some("работа")).await.expect("submitted");
        p.grade_submission(&teacher, done.id, (i % 101) as i64, None)
            .await
            .expect("graded");
    }
    for i in 0..tests {
        let lesson = lesson(p, &teacher, subject.id, &format!("Тест {i}"), "test").await;
        let (test, answers) = quiz(p, &teacher, subject.id, lesson).await;
        p.submit_test(&student, test, answers).await.expect("result");
    }
    (teacher, student, group.id, module)
}

async fn check<S: Store>(small: Fixture<S>, large: Fixture<S>) {
    let mut counts = Vec::new();
    for (fx, homework, tests) in [(&small, 2, 1), (&large, 60, 25)] {
        let (teacher, student, group, module) = scenario(fx, homework, tests).await;
        let p = &fx.platform;
        // A first call opens the pool's connections; what is measured is a warm call.
        p.summarize(&student, student.id()).await.expect("warm");
        let (summary, s) = statements(p.summarize(&student, student.id())).await;
        let s = s.expect("summary");
        assert_eq!(s.items.len(), homework + tests, "every item is listed");
        let (flat, f) = statements(p.my_grades(&student)).await;
        assert_eq!(f.expect("flat").len(), homework + tests);
        p.gradebook(&teacher, group, module, Page::default())
            .await
            .expect("warm");
        let (book, b) = statements(p.gradebook(&teacher, group, module, Page::default())).await;
        let b = b.expect("gradebook");
        assert_eq!(b.lessons.len(), homework + tests);
        assert_eq!(b.students.len(), 1);
        counts.push((summary, flat, book));
    }
    let (small, large) = (counts[0], counts[1]);
    assert_eq!(small, large, "statements do not grow with the number of items");
    assert_eq!(small.0, 1, "a summary is one statement");
    assert_eq!(small.1, 1, "the flat list is one statement");
    // The teacher's subjects and the module's groups, the group, the module, the lessons, and the
    // page with its work: never per item.
    assert!(
        small.2 <= 6,
        "a gradebook page is a constant few statements: {}",
        small.2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_do_not_grow_with_items_on_sqlite() {
    let (Some(a), Some(b)) = (edu_tests::sqlite_fixture().await, edu_tests::sqlite_fixture().await) else {
        return;
    };
    check(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(edu_skip_postgres, ignore = "no PostgreSQL: set EDU_TEST_DATABASE_URL")]
async fn statements_do_not_grow_with_items_on_postgres() {
    let (Some(a), Some(b)) = (edu_tests::pg_fixture().await, edu_tests::pg_fixture().await) else {
        return;
    };
    check(a, b).await;
}
