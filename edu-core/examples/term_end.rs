//! The end of a term, scripted against the library directly, with no server: on a SQLite file of
//! its own, an administrator sets up a group, enrols students (`Platform::enroll`) and gives a
//! teacher a subject with two homework lessons and a test; the students hand in homework and take
//! the test, the teacher grades (`Platform::grade`); then each student's summary
//! (`Platform::summarize`) is read, and the group's gradebook (`Platform::full_gradebook`) is
//! exported as an XLSX file with `gradebook_table`, as `edu export gradebook` does.
//!
//! Every step goes through the same access checks as the HTTP API. The script checks that the
//! gradebook and the summaries agree and that the spreadsheet reads back, and exits non-zero if
//! not.
//!
//! `cargo run -p edu-core --example term_end [-- OUT.xlsx]` (default: `edu-term-end.xlsx` in the
//! system's temporary directory)

use bytes::Bytes;
use calamine::Reader;
use edu_core::domain::quiz::{Answer, OptionDraft, QuestionDraft, QuestionKind, Scoring, TestDraft};
use edu_core::domain::{LessonId, NewModule, TestId};
use edu_core::files::FileStore;
use edu_core::i18n::Lang;
use edu_core::{
    ClientInfo, CreateUser, NewLesson, Platform, PlatformConfig, PoolSettings, Principal, Role, SqliteStore, Store,
    gradebook_table,
};

type Error = Box<dyn std::error::Error>;

const ADMIN: (&str, &str) = ("800315400234", "Әкімші");
const TEACHER: (&str, &str) = ("790520300129", "Серікова Гүлнар");
/// IINs and names of the group.
const STUDENTS: [(&str, &str); 4] = [
    ("060215600039", "Ахметов Нұрлан"),
    ("060412600041", "Бекова Динара"),
    ("060305500051", "Жумабаев Ерлан"),
    ("060811600069", "Ким Анастасия"),
];
const PASSWORD: &str = "term-end-password";
/// Grades of the two homework lessons, per student (`None`: handed in, not graded yet).
const HOMEWORK: [[Option<i64>; 2]; 4] = [
    [Some(90), Some(85)],
    [Some(72), Some(64)],
    [Some(100), Some(95)],
    [Some(55), None],
];
/// How many of the test's four questions each student gets right.
const RIGHT_ANSWERS: [usize; 4] = [4, 2, 3, 1];

fn ensure(ok: bool, what: impl std::fmt::Display) -> Result<(), Error> {
    if ok {
        Ok(())
    } else {
        Err(format!("not as expected: {what}").into())
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let out = std::env::args_os().nth(1).map_or_else(
        || std::env::temp_dir().join("edu-term-end.xlsx"),
        std::path::PathBuf::from,
    );
    let dir = std::env::temp_dir().join(format!("edu-term-end-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let outcome = term_end(&dir, &out).await;
    std::fs::remove_dir_all(&dir)?;
    outcome
}

async fn login<S: Store>(platform: &Platform<S>, iin: &str) -> Result<Principal, Error> {
    let session = platform.login(iin, PASSWORD, ClientInfo::default()).await?;
    Ok(platform.authenticate(&session.tokens.access_token).await?)
}

async fn account<S: Store>(platform: &Platform<S>, (iin, name): (&str, &str), role: Role) -> Result<Principal, Error> {
    platform
        .provision_user(CreateUser {
            iin: iin.into(),
            full_name: name.into(),
            phone: None,
            role: Some(role),
            password: PASSWORD.into(),
        })
        .await?;
    login(platform, iin).await
}

async fn term_end(dir: &std::path::Path, out: &std::path::Path) -> Result<(), Error> {
    let store = SqliteStore::connect(
        &format!("sqlite://{}", dir.join("edu.db").display()),
        PoolSettings::default(),
    )
    .await?;
    store.migrate().await?;
    let mut config = PlatformConfig::new(b"a long random secret for the example".to_vec());
    // Homework files go to a file store; here a directory beside the database.
    config.files = Some(FileStore::local(dir.join("files"))?);
    // Throwaway accounts: a quick hash. Real deployments keep the default cost.
    config.bcrypt_cost = 4;
    let platform = Platform::new(store, config);

    // The administrator: accounts, the group, the module and who teaches it.
    let admin = account(&platform, ADMIN, Role::Admin).await?;
    let teacher = account(&platform, TEACHER, Role::Teacher).await?;
    let mut students = Vec::new();
    for student in STUDENTS {
        students.push(account(&platform, student, Role::Student).await?);
    }
    let group = platform.create_group(&admin, "ПО-24-1", Some("first year")).await?;
    let ids: Vec<_> = students.iter().map(Principal::id).collect();
    let enrolled = platform.enroll(&admin, group.id, &ids).await?;
    ensure(enrolled == 4, format_args!("{enrolled} students enrolled, not 4"))?;
    let module = NewModule {
        title: "Web-әзірлеу".into(),
        course: Some("1".into()),
        description: None,
    };
    let module = platform.create_module(&admin, module).await?;
    let subject = platform.create_subject(&admin, module.id, "HTML және CSS").await?;
    platform
        .assign_teacher(&admin, TEACHER.0, module.id, subject.id)
        .await?;
    platform.link_group_to_module(&admin, group.id, module.id).await?;

    // The teacher: two homework lessons and a test of four questions.
    let mut homework: Vec<LessonId> = Vec::new();
    for title in ["Беттің құрылымы", "Flexbox"] {
        let lesson = NewLesson {
            title: title.into(),
            label: "pdf".into(),
            content_url: None,
            description: Some("Тапсырманы .txt файлымен жіберіңіз".into()),
            test_id: None,
        };
        homework.push(platform.create_lesson(&teacher, subject.id, lesson).await?.id);
    }
    let quiz = NewLesson {
        title: "Аралық тест".into(),
        label: "test".into(),
        content_url: None,
        description: None,
        test_id: None,
    };
    let quiz = platform.create_lesson(&teacher, subject.id, quiz).await?;
    let test = platform
        .create_test(&teacher, test_draft(subject.id.0, quiz.id.0))
        .await?
        .id;

    // The students hand in their work and take the test; the teacher grades the homework.
    for (n, student) in students.iter().enumerate() {
        for (lesson, grade) in homework.iter().zip(HOMEWORK[n]) {
            let mut draft = platform.begin_homework(student, *lesson).await?;
            let file = Bytes::from(format!("{}: done\n", STUDENTS[n].1));
            draft
                .add_file("work.txt", futures_util::stream::iter([Ok::<_, std::io::Error>(file)]))
                .await?;
            let submission = draft.finish(Some("Дайын")).await?;
            if let Some(grade) = grade {
                platform.grade(&teacher, submission.id, grade, Some("Жақсы")).await?;
            }
        }
        take_test(&platform, student, test, RIGHT_ANSWERS[n]).await?;
    }

    // Each student's summary, then the gradebook as a spreadsheet.
    let book = platform.full_gradebook(&teacher, group.id, module.id).await?;
    ensure(
        book.students.len() == 4 && book.lessons.len() == 3,
        format_args!(
            "{} students × {} lessons in the gradebook",
            book.students.len(),
            book.lessons.len()
        ),
    )?;
    println!("{} — {}:", book.group_name, book.module_title);
    for (n, student) in students.iter().enumerate() {
        let summary = platform.summarize(student, student.id()).await?;
        let row = book
            .students
            .iter()
            .find(|r| r.student_id == student.id())
            .ok_or("a student is missing from the gradebook")?;
        let expected = expected_average(n);
        let average = summary.overall.average.ok_or("a student has no average")?;
        ensure(
            (average - expected).abs() < 0.01,
            format_args!("{}: average {average}, expected {expected:.2}", STUDENTS[n].1),
        )?;
        ensure(
            row.tally.average == summary.overall.average && row.tally.pending == summary.overall.pending,
            format_args!("{}: the gradebook and the summary disagree", STUDENTS[n].1),
        )?;
        println!(
            "  {:<20} average {average:>6.2}  counted {}  pending {}",
            STUDENTS[n].1, summary.overall.counted, summary.overall.pending
        );
    }

    let table = gradebook_table(&book, Lang::Kk);
    let bytes = table.to_xlsx()?;
    std::fs::write(out, &bytes)?;
    let mut workbook = calamine::Xlsx::new(std::io::Cursor::new(bytes))?;
    let sheet = workbook.worksheet_range_at(0).ok_or("the spreadsheet has no sheet")??;
    ensure(
        sheet.height() == 1 + STUDENTS.len(),
        format_args!("{} rows in the spreadsheet", sheet.height()),
    )?;
    println!(
        "gradebook: {} students × {} lessons written to {}",
        book.students.len(),
        book.lessons.len(),
        out.display()
    );
    Ok(())
}

/// Four single-choice questions whose right answer is option 1.
fn test_draft(subject: i64, lesson: i64) -> TestDraft {
    let questions = ["<div>?", "display: flex?", "margin?", "<a href>?"]
        .into_iter()
        .map(|text| QuestionDraft {
            question_text: text.into(),
            kind: QuestionKind::Single,
            correct_option_index: Some(1),
            correct_option_indexes: None,
            options: ["иә", "жоқ"]
                .into_iter()
                .zip(1..)
                .map(|(option_text, option_index)| OptionDraft {
                    option_text: option_text.into(),
                    option_index,
                })
                .collect(),
        })
        .collect();
    TestDraft {
        title: "Аралық тест".into(),
        subject_id: subject,
        lesson_id: Some(lesson),
        max_attempts: Some(1),
        time_limit_minutes: Some(40),
        shuffle: false,
        scoring: Scoring::AllOrNothing,
        questions,
    }
}

/// Submits the test with the first `right` answers right and the rest wrong.
async fn take_test<S: Store>(
    platform: &Platform<S>,
    student: &Principal,
    test: TestId,
    right: usize,
) -> Result<(), Error> {
    let questions = platform.test(student, test).await?.questions;
    let answers = questions
        .iter()
        .enumerate()
        .map(|(i, q)| Answer {
            question_id: q.id,
            selected_index: Some(if i < right { 1 } else { 2 }),
            selected_indexes: None,
        })
        .collect();
    let result = platform.submit_test(student, test, answers).await?;
    ensure(
        result.correct == right,
        format_args!("{right} right answers scored as {}", result.correct),
    )
}

/// The mean of what counts (docs/GRADES.md): the graded homework and the test's score.
fn expected_average(n: usize) -> f64 {
    let test = RIGHT_ANSWERS[n] as f64 * 25.0;
    let graded: Vec<f64> = HOMEWORK[n].iter().flatten().map(|g| *g as f64).collect();
    (graded.iter().sum::<f64>() + test) / (graded.len() + 1) as f64
}
