//! The generated dataset: a college's groups, modules, lessons and a term of students' work.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use edu_core::domain::LessonKind;
use edu_core::domain::quiz::{self, Answer, Key, QuestionKind, Scoring};
use edu_core::store::seed::{
    SeedAttempt, SeedData, SeedGrade, SeedGroup, SeedLesson, SeedModule, SeedQuestion, SeedSubject, SeedSubmission,
    SeedTest, SeedUser,
};
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::people::{Registry, full_name};

/// How much to generate.
#[derive(Debug, Clone)]
pub struct Shape {
    pub students: usize,
    pub groups: usize,
    pub teachers: usize,
    pub modules: usize,
    pub subjects_per_module: usize,
    pub lessons_per_subject: usize,
    pub modules_per_group: usize,
    /// Share of the video and PDF lessons a student hands homework in for (times their diligence).
    pub homework: f64,
    /// Share of homework that has been graded.
    pub graded: f64,
    /// Share of the tests a student has taken (times their diligence).
    pub tests: f64,
    /// Appended to group names, to keep them apart from groups already in the database.
    pub group_tag: Option<String>,
}

/// Specialities: group code and name.
const SPECIALITIES: &[(&str, &str)] = &[
    ("ПО", "Программное обеспечение"),
    ("ИС", "Информационные системы"),
    ("ВТ", "Вычислительная техника"),
    ("БУ", "Бухгалтерский учёт"),
    ("ЭК", "Экономика"),
    ("ТО", "Техническое обслуживание"),
    ("СТ", "Строительство"),
    ("МЕ", "Менеджмент"),
    ("ЮР", "Правоведение"),
    ("ДЗ", "Дизайн"),
];

const MODULE_TOPICS: &[&str] = &[
    "Основы программирования",
    "Базы данных",
    "Веб-разработка",
    "Компьютерные сети",
    "Математика для ИТ",
    "Операционные системы",
    "Информационная безопасность",
    "Проектирование ПО",
    "Английский язык в профессии",
    "Экономика и право",
];

const SUBJECTS: &[&str] = &[
    "Алгоритмы и структуры данных",
    "Язык программирования Python",
    "Объектно-ориентированное программирование",
    "SQL и реляционные СУБД",
    "Проектирование баз данных",
    "HTML и CSS",
    "JavaScript",
    "Серверная разработка",
    "Сетевые протоколы",
    "Администрирование Linux",
    "Дискретная математика",
    "Теория вероятностей",
    "Криптография",
    "Защита информации",
    "Тестирование ПО",
    "Системы контроля версий",
    "Технический английский",
    "Деловое общение",
    "Основы экономики",
    "Трудовое право",
    "Компьютерная графика",
    "Архитектура компьютера",
    "Численные методы",
    "Управление проектами",
];

const COMMENTS: &[&str] = &[
    "Готово",
    "Выполнил задание, прошу проверить",
    "Отчёт во вложении",
    "Исправил замечания",
    "Сделано по варианту 3",
    "Не успел оформить выводы, дополню",
];

const FEEDBACK: &[&str] = &[
    "Хорошо",
    "Отлично, без замечаний",
    "Доработать выводы",
    "Оформление по ГОСТ",
    "Есть ошибки в расчётах",
];

fn pick<'a>(rng: &mut StdRng, from: &[&'a str]) -> &'a str {
    from[rng.random_range(0..from.len())]
}

fn date(y: i32, m: u32, d: u32) -> anyhow::Result<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| anyhow::anyhow!("invalid date {y}-{m}-{d}"))
}

/// A random moment `min..max` after `from`, never later than `cap`.
fn after(rng: &mut StdRng, from: DateTime<Utc>, min: Duration, max: Duration, cap: DateTime<Utc>) -> DateTime<Utc> {
    let span = (max - min).num_seconds().max(1);
    (from + min + Duration::seconds(rng.random_range(0..span))).min(cap)
}

/// Roughly normal around `mean` (the sum of three uniforms), clamped to 0–100.
fn mark(rng: &mut StdRng, mean: f64, spread: f64) -> i32 {
    let noise: f64 = (0..3).map(|_| rng.random_range(-1.0..1.0)).sum::<f64>() * spread;
    (mean + noise).round().clamp(0.0, 100.0) as i32
}

/// One student's habits: how well they do and how much of the work they hand in.
struct Student {
    group: usize,
    ability: f64,
    diligence: f64,
}

/// Builds the whole dataset. Everything but `now` comes from `rng`, so a seed repeats it.
pub fn generate(
    shape: &Shape,
    rng: &mut StdRng,
    password_hash: String,
    now: DateTime<Utc>,
) -> anyhow::Result<SeedData> {
    let mut data = SeedData {
        password_hash,
        created_at: now,
        ..SeedData::default()
    };
    let mut registry = Registry::default();
    for _ in 0..shape.teachers {
        let female = rng.random_bool(0.6);
        let iin = registry.issue(rng, date(1965, 1, 1)?, date(1996, 12, 31)?, female)?;
        data.teachers.push(SeedUser {
            iin,
            full_name: full_name(rng, female),
        });
    }
    for i in 0..shape.groups {
        let (code, speciality) = SPECIALITIES[i % SPECIALITIES.len()];
        let cohort = i / SPECIALITIES.len();
        let year = 22 + cohort % 4;
        let tag = shape
            .group_tag
            .as_deref()
            .map(|t| format!(" ({t})"))
            .unwrap_or_default();
        data.groups.push(SeedGroup {
            name: format!("{code}-{year}-{}{tag}", cohort / 4 + 1),
            description: Some(format!("{speciality}, набор 20{year}")),
        });
    }

    let mut students = Vec::with_capacity(shape.students);
    for (i, group) in group_places(rng, shape).into_iter().enumerate() {
        let female = rng.random_bool(0.5);
        let iin = registry.issue(rng, date(2004, 1, 1)?, date(2008, 12, 31)?, female)?;
        data.students.push(SeedUser {
            iin,
            full_name: full_name(rng, female),
        });
        data.memberships.push((i, group));
        students.push(Student {
            group,
            ability: rng.random_range(0.35..0.97),
            diligence: rng.random_range(0.6..1.4),
        });
    }

    let term_start = now - Duration::days(120);
    for m in 0..shape.modules {
        data.modules.push(SeedModule {
            title: format!("Модуль {}. {}", m + 1, MODULE_TOPICS[m % MODULE_TOPICS.len()]),
            course: Some((m % 4 + 1).to_string()),
            description: Some("Профессиональный модуль: лекции, практические работы и тесты".into()),
        });
        for s in 0..shape.subjects_per_module {
            let n = m * shape.subjects_per_module + s;
            let wrap = s / SUBJECTS.len();
            let name = SUBJECTS[n % SUBJECTS.len()];
            let subject = data.subjects.len();
            data.subjects.push(SeedSubject {
                module: m,
                title: if wrap == 0 {
                    name.to_owned()
                } else {
                    format!("{name} {}", wrap + 1)
                },
                teacher: (shape.teachers > 0).then(|| n % shape.teachers),
            });
            for l in 0..shape.lessons_per_subject {
                lesson(&mut data, rng, shape, (m, subject, l), term_start)?;
            }
        }
    }
    let mut modules: Vec<usize> = (0..shape.modules).collect();
    for g in 0..shape.groups {
        modules.shuffle(rng);
        for &m in modules.iter().take(shape.modules_per_group) {
            data.module_groups.push((m, g));
        }
    }

    // Lessons by module, and tests by lesson, for the students' work.
    let mut lessons_of_module = vec![Vec::new(); shape.modules];
    for (i, l) in data.lessons.iter().enumerate() {
        lessons_of_module[data.subjects[l.subject].module].push(i);
    }
    let mut test_of_lesson = vec![None; data.lessons.len()];
    for (i, t) in data.tests.iter().enumerate() {
        test_of_lesson[t.lesson] = Some(i);
    }
    let mut modules_of_group = vec![Vec::new(); shape.groups];
    for &(m, g) in &data.module_groups {
        modules_of_group[g].push(m);
    }
    for (s, student) in students.iter().enumerate() {
        for &m in &modules_of_group[student.group] {
            for &l in &lessons_of_module[m] {
                match test_of_lesson[l] {
                    Some(t) => take_test(&mut data, rng, shape, (s, student), t, l, now),
                    None => hand_in(&mut data, rng, shape, (s, student), l, now),
                }
            }
        }
    }
    Ok(data)
}

/// The group of each student, in a random order: groups of uneven size (±30% around the mean),
/// none empty.
fn group_places(rng: &mut StdRng, shape: &Shape) -> Vec<usize> {
    let weights: Vec<f64> = (0..shape.groups).map(|_| rng.random_range(0.7..1.3)).collect();
    let total: f64 = weights.iter().sum();
    let mut sizes: Vec<usize> = weights
        .iter()
        .map(|w| ((w / total * shape.students as f64) as usize).max(1))
        .collect();
    let mut placed: usize = sizes.iter().sum();
    while placed < shape.students {
        sizes[rng.random_range(0..shape.groups)] += 1;
        placed += 1;
    }
    while placed > shape.students {
        let g = rng.random_range(0..shape.groups);
        if sizes[g] > 1 {
            sizes[g] -= 1;
            placed -= 1;
        }
    }
    let mut places: Vec<usize> = sizes
        .iter()
        .enumerate()
        .flat_map(|(g, &n)| std::iter::repeat_n(g, n))
        .collect();
    places.shuffle(rng);
    places
}

/// Adds lesson `l` of `subject` (in module `m`), with its test if it is one.
fn lesson(
    data: &mut SeedData,
    rng: &mut StdRng,
    shape: &Shape,
    (m, subject, l): (usize, usize, usize),
    term_start: DateTime<Utc>,
) -> anyhow::Result<()> {
    let kind = match rng.random_range(0..10) {
        0..4 => LessonKind::Video,
        4..7 => LessonKind::Pdf,
        _ => LessonKind::Test,
    };
    let step = Duration::days(100) / i32::try_from(shape.lessons_per_subject.max(1))?;
    let created_at = term_start + step * i32::try_from(l)? + Duration::minutes(rng.random_range(0..24 * 60));
    let n = l + 1;
    let (title, url) = match kind {
        LessonKind::Video => (
            format!("Тема {n}. Видеолекция"),
            Some(format!("https://video.example.edu/m{}/s{}/{n}", m + 1, subject + 1)),
        ),
        LessonKind::Pdf => (
            format!("Тема {n}. Конспект лекции"),
            Some(format!(
                "https://docs.example.edu/m{}/s{}/lecture-{n}.pdf",
                m + 1,
                subject + 1
            )),
        ),
        LessonKind::Test => (format!("Тема {n}. Тест"), None),
    };
    let lesson = data.lessons.len();
    data.lessons.push(SeedLesson {
        subject,
        title,
        kind,
        description: rng
            .random_bool(0.5)
            .then(|| "Изучите материал и выполните задание в конце темы".to_owned()),
        content_url: url,
        created_at,
    });
    if kind == LessonKind::Test {
        let questions = (0..rng.random_range(4..=12))
            .map(|q| {
                let options = rng.random_range(3..=5);
                SeedQuestion {
                    text: format!("Вопрос {} по теме {n}", q + 1),
                    options: (0..options).map(|o| format!("Вариант {}", o + 1)).collect(),
                    correct: rng.random_range(0..options),
                }
            })
            .collect();
        data.tests.push(SeedTest {
            lesson,
            title: format!("Тест по теме {n}"),
            max_attempts: if rng.random_bool(0.3) { 2 } else { 1 },
            time_limit_minutes: rng.random_bool(0.6).then(|| [15, 20, 30][rng.random_range(0..3)]),
            questions,
        });
    }
    Ok(())
}

/// Maybe a homework submission by student `s` for lesson `l`, maybe graded.
fn hand_in(
    data: &mut SeedData,
    rng: &mut StdRng,
    shape: &Shape,
    (s, student): (usize, &Student),
    l: usize,
    now: DateTime<Utc>,
) {
    if !rng.random_bool((shape.homework * student.diligence).clamp(0.0, 1.0)) {
        return;
    }
    let opened = data.lessons[l].created_at;
    let cap = now - Duration::minutes(10);
    let submitted_at = after(rng, opened, Duration::hours(2), Duration::days(12), cap);
    let teacher = data.subjects[data.lessons[l].subject].teacher;
    let grade = rng.random_bool(shape.graded.clamp(0.0, 1.0)).then(|| SeedGrade {
        grade: mark(rng, student.ability * 100.0 + 5.0, 8.0),
        feedback: rng.random_bool(0.3).then(|| pick(rng, FEEDBACK).to_owned()),
        by: teacher,
        at: after(rng, submitted_at, Duration::hours(1), Duration::days(6), now),
    });
    data.submissions.push(SeedSubmission {
        lesson: l,
        student: s,
        comment: rng.random_bool(0.5).then(|| pick(rng, COMMENTS).to_owned()),
        submitted_at,
        grade,
    });
}

/// Maybe one or two attempts by student `s` at test `t` (of lesson `l`), scored by the platform's rule.
fn take_test(
    data: &mut SeedData,
    rng: &mut StdRng,
    shape: &Shape,
    (s, student): (usize, &Student),
    t: usize,
    l: usize,
    now: DateTime<Utc>,
) {
    if !rng.random_bool((shape.tests * student.diligence).clamp(0.0, 1.0)) {
        return;
    }
    let test = &data.tests[t];
    let keys: Vec<Key> = test
        .questions
        .iter()
        .zip(0..)
        .map(|(q, id)| Key {
            question: id,
            kind: QuestionKind::Single,
            correct: [q.correct as i64].into(),
            options: (0..q.options.len() as i64).collect(),
        })
        .collect();
    let (max_attempts, limit) = (test.max_attempts, test.time_limit_minutes);
    let mut from = data.lessons[l].created_at;
    let mut ability = student.ability;
    let mut attempts = Vec::new();
    for _ in 0..max_attempts {
        let chosen: Vec<i64> = test
            .questions
            .iter()
            .map(|q| {
                let n = q.options.len();
                if rng.random_bool(ability) {
                    q.correct as i64
                } else {
                    ((q.correct + rng.random_range(1..n)) % n) as i64
                }
            })
            .collect();
        let answers: Vec<Answer> = chosen
            .iter()
            .zip(0..)
            .map(|(&i, question_id)| Answer {
                question_id,
                selected_index: Some(i),
                selected_indexes: None,
            })
            .collect();
        let score = quiz::score(&keys, &answers, Scoring::AllOrNothing);
        let started_at = after(
            rng,
            from,
            Duration::hours(1),
            Duration::days(14),
            now - Duration::hours(1),
        );
        let deadline = limit.map(|m| started_at + Duration::minutes(m.into()));
        let took = Duration::seconds(rng.random_range(120..i64::from(limit.unwrap_or(40)) * 60));
        attempts.push(SeedAttempt {
            test: t,
            student: s,
            started_at,
            deadline,
            submitted_at: started_at + took,
            chosen,
            score: score.score,
            correct: i32::try_from(score.correct).unwrap_or(i32::MAX),
            total: i32::try_from(score.total).unwrap_or(i32::MAX),
        });
        // A weak result on a test that allows another attempt is often retaken, a little better.
        if score.score >= 60.0 || !rng.random_bool(0.5) {
            break;
        }
        from = started_at + took;
        ability = (ability + 0.1).min(0.98);
    }
    data.attempts.extend(attempts);
}
