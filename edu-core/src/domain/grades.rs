//! Grades: what a student's work earned, and the one rule that turns work into averages.
//!
//! # What counts
//!
//! - **Homework** counts once per lesson: the grade of the lesson's most recent *graded* submission
//!   (by submission time, then id). A newer submission that is not graded yet does not replace it;
//!   a lesson whose submissions are all ungraded is *pending* and counts neither as a grade nor as
//!   zero.
//! - **Tests** count once per test: the best score among the submitted attempts (attempts still
//!   open are not listed at all).
//! - **Averages** are arithmetic means of the counted values, each homework lesson and each test
//!   weighing the same: per subject, per module (over all the module's counted values, not the mean
//!   of its subjects' averages) and overall. With nothing counted an average is absent (`null`),
//!   never zero.
//!
//! Every submission and attempt is still *listed* (history is kept); only the counting picks one
//! value per lesson or test.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Iin, LessonId, LessonKind, ModuleId, SubjectId, TestId, UserId};

/// Where a grade comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Answered `"submission"`, the previous backend's word.
    #[serde(rename = "submission", alias = "homework")]
    Homework,
    Test,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Homework => "homework",
            Source::Test => "test",
        }
    }
}

/// One submission or submitted attempt of a student, with where it belongs.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GradeItem {
    /// The submission's id (homework) or the attempt's id (tests).
    pub submission_id: i64,
    /// Absent for a test that is not (or no longer) linked to a lesson.
    pub lesson_id: Option<LessonId>,
    pub lesson_title: Option<String>,
    /// As the previous backend answered: the lesson's type label for homework, `"тест"` for tests.
    pub lesson_type: String,
    /// The lesson's normalised kind; absent without a lesson.
    pub kind: Option<LessonKind>,
    pub subject_id: SubjectId,
    pub subject_title: String,
    pub module_id: ModuleId,
    pub module_title: String,
    /// The test, for test results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_id: Option<TestId>,
    /// 0–100; fractional for tests; `null` while homework is not graded.
    pub grade: Option<f64>,
    pub submitted_at: DateTime<Utc>,
    pub source: Source,
}

/// What the counting rule needs to know of a piece of work.
pub trait Work {
    fn source(&self) -> Source;
    fn lesson(&self) -> Option<LessonId>;
    fn test(&self) -> Option<TestId>;
    fn grade(&self) -> Option<f64>;
    fn submitted_at(&self) -> DateTime<Utc>;
    fn id(&self) -> i64;

    /// The lesson (homework) or the test (tests) that the work counts for.
    fn unit(&self) -> Option<i64> {
        match self.source() {
            Source::Homework => self.lesson().map(|l| l.0),
            Source::Test => self.test().map(|t| t.0),
        }
    }
}

impl<W: Work> Work for &W {
    fn source(&self) -> Source {
        (*self).source()
    }
    fn lesson(&self) -> Option<LessonId> {
        (*self).lesson()
    }
    fn test(&self) -> Option<TestId> {
        (*self).test()
    }
    fn grade(&self) -> Option<f64> {
        (*self).grade()
    }
    fn submitted_at(&self) -> DateTime<Utc> {
        (*self).submitted_at()
    }
    fn id(&self) -> i64 {
        (*self).id()
    }
}

impl Work for GradeItem {
    fn source(&self) -> Source {
        self.source
    }
    fn lesson(&self) -> Option<LessonId> {
        self.lesson_id
    }
    fn test(&self) -> Option<TestId> {
        self.test_id
    }
    fn grade(&self) -> Option<f64> {
        self.grade
    }
    fn submitted_at(&self) -> DateTime<Utc> {
        self.submitted_at
    }
    fn id(&self) -> i64 {
        self.submission_id
    }
}

/// The outcome of one homework lesson or one test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// The value that counts.
    Counted(f64),
    /// Homework handed in and not graded yet.
    Pending,
}

/// Applies the rule: one outcome per (source, unit), keyed by the index of the item that decided it.
pub fn outcomes<W: Work>(items: &[W]) -> BTreeMap<(Source, i64), (usize, Outcome)> {
    let mut out: BTreeMap<(Source, i64), (usize, Outcome)> = BTreeMap::new();
    for (index, item) in items.iter().enumerate() {
        let Some(unit) = item.unit() else { continue };
        let key = (item.source(), unit);
        let candidate = match (item.source(), item.grade()) {
            (_, Some(g)) => Outcome::Counted(g),
            (Source::Homework, None) => Outcome::Pending,
            // A submitted attempt always has a score; one without is not a result.
            (Source::Test, None) => continue,
        };
        let better = match out.get(&key) {
            None => true,
            Some(&(held, current)) => match (item.source(), current, candidate) {
                (_, Outcome::Pending, Outcome::Counted(_)) => true,
                (_, Outcome::Counted(_), Outcome::Pending) => false,
                (Source::Test, Outcome::Counted(best), Outcome::Counted(g)) => g > best,
                // Homework: the latest of the same kind wins.
                _ => (item.submitted_at(), item.id()) > (items[held].submitted_at(), items[held].id()),
            },
        };
        if better {
            out.insert(key, (index, candidate));
        }
    }
    out
}

/// An average over some counted values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Tally {
    /// The mean of the counted values; `null` when nothing counts yet.
    pub average: Option<f64>,
    /// Homework lessons and tests that count.
    pub counted: u32,
    /// Homework lessons handed in and waiting for a grade.
    pub pending: u32,
    #[serde(skip)]
    sum: f64,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Counted(v) => {
                self.counted += 1;
                self.sum += v;
                self.average = Some(self.sum / f64::from(self.counted));
            }
            Outcome::Pending => self.pending += 1,
        }
    }
}

/// A subject's or a module's average in a summary.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GroupedTally {
    pub id: i64,
    pub title: String,
    /// The module of a subject (absent for modules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_id: Option<ModuleId>,
    #[serde(flatten)]
    pub tally: Tally,
}

/// A student's grades: every item, and the averages per subject, per module and overall.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GradeSummary {
    /// Homework first, then tests; newest first within each.
    pub items: Vec<GradeItem>,
    /// By module, then subject title.
    pub subjects: Vec<GroupedTally>,
    /// By module title.
    pub modules: Vec<GroupedTally>,
    pub overall: Tally,
}

impl GradeSummary {
    /// The summary of `items` (in any order) under the rule of this module.
    pub fn new(mut items: Vec<GradeItem>) -> GradeSummary {
        items.sort_by(|a, b| {
            a.source
                .cmp(&b.source)
                .then(b.submitted_at.cmp(&a.submitted_at))
                .then(b.submission_id.cmp(&a.submission_id))
        });
        let mut subjects: HashMap<SubjectId, GroupedTally> = HashMap::new();
        let mut modules: HashMap<ModuleId, GroupedTally> = HashMap::new();
        let mut overall = Tally::default();
        for item in &items {
            subjects.entry(item.subject_id).or_insert_with(|| GroupedTally {
                id: item.subject_id.0,
                title: item.subject_title.clone(),
                module_id: Some(item.module_id),
                tally: Tally::default(),
            });
            modules.entry(item.module_id).or_insert_with(|| GroupedTally {
                id: item.module_id.0,
                title: item.module_title.clone(),
                module_id: None,
                tally: Tally::default(),
            });
        }
        for (index, outcome) in outcomes(&items).into_values() {
            let item = &items[index];
            if let Some(s) = subjects.get_mut(&item.subject_id) {
                s.tally.add(outcome);
            }
            if let Some(m) = modules.get_mut(&item.module_id) {
                m.tally.add(outcome);
            }
            overall.add(outcome);
        }
        let mut modules: Vec<GroupedTally> = modules.into_values().collect();
        modules.sort_by(|a, b| a.title.cmp(&b.title).then(a.id.cmp(&b.id)));
        let module_rank: HashMap<i64, usize> = modules.iter().enumerate().map(|(i, m)| (m.id, i)).collect();
        let mut subjects: Vec<GroupedTally> = subjects.into_values().collect();
        subjects.sort_by_key(|s| {
            (
                s.module_id.and_then(|m| module_rank.get(&m.0).copied()),
                s.title.clone(),
                s.id,
            )
        });
        GradeSummary {
            items,
            subjects,
            modules,
            overall,
        }
    }
}

/// A column of a gradebook: one lesson.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GradebookLesson {
    pub lesson_id: LessonId,
    pub title: String,
    pub lesson_type: LessonKind,
    pub subject_id: SubjectId,
    pub subject_title: String,
    /// The test linked to the lesson, whose best score is the lesson's test result.
    pub test_id: Option<TestId>,
}

/// A student's work on one lesson.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GradebookCell {
    /// The homework grade that counts.
    pub homework: Option<f64>,
    /// Homework handed in and not graded yet.
    pub pending: bool,
    /// The best score of the lesson's test.
    pub test: Option<f64>,
}

/// One row of a gradebook.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GradebookRow {
    pub student_id: UserId,
    pub iin: Iin,
    pub full_name: Option<String>,
    /// One cell per lesson, in the order of `lessons`.
    pub cells: Vec<GradebookCell>,
    /// The student's average over the gradebook's lessons.
    #[serde(flatten)]
    pub tally: Tally,
}

/// A group's grades in a module's lessons (those the viewer may grade).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Gradebook {
    pub group_id: super::GroupId,
    pub group_name: String,
    pub module_id: ModuleId,
    pub module_title: String,
    pub lessons: Vec<GradebookLesson>,
    /// The requested page of the group's students, by name.
    pub students: Vec<GradebookRow>,
    /// Students in the group, over all pages.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// A student's work in a gradebook, as the store returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct GradebookWork {
    pub student_id: UserId,
    pub source: Source,
    pub id: i64,
    pub lesson_id: Option<LessonId>,
    pub test_id: Option<TestId>,
    pub grade: Option<f64>,
    pub submitted_at: DateTime<Utc>,
}

impl Work for GradebookWork {
    fn source(&self) -> Source {
        self.source
    }
    fn lesson(&self) -> Option<LessonId> {
        self.lesson_id
    }
    fn test(&self) -> Option<TestId> {
        self.test_id
    }
    fn grade(&self) -> Option<f64> {
        self.grade
    }
    fn submitted_at(&self) -> DateTime<Utc> {
        self.submitted_at
    }
    fn id(&self) -> i64 {
        self.id
    }
}

/// A student on a gradebook page, before their cells are filled.
#[derive(Debug, Clone, PartialEq)]
pub struct GradebookStudent {
    pub id: UserId,
    pub iin: Iin,
    pub full_name: Option<String>,
}

/// Fills the rows of a gradebook page: each student's cells and average under the rule of this
/// module, over `lessons` only (work on other lessons, or on tests of other lessons, is ignored).
pub fn gradebook_rows(
    lessons: &[GradebookLesson],
    students: Vec<GradebookStudent>,
    work: &[GradebookWork],
) -> Vec<GradebookRow> {
    let column: HashMap<LessonId, usize> = lessons.iter().enumerate().map(|(i, l)| (l.lesson_id, i)).collect();
    let test_column: HashMap<TestId, usize> = lessons
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.test_id.map(|t| (t, i)))
        .collect();
    let mut by_student: HashMap<UserId, Vec<&GradebookWork>> = HashMap::new();
    for w in work {
        by_student.entry(w.student_id).or_default().push(w);
    }
    students
        .into_iter()
        .map(|s| {
            let mut cells = vec![GradebookCell::default(); lessons.len()];
            let mut tally = Tally::default();
            let mine: Vec<&GradebookWork> = by_student
                .get(&s.id)
                .map(|ws| {
                    ws.iter()
                        .copied()
                        .filter(|w| match w.source {
                            Source::Homework => w.lesson_id.is_some_and(|l| column.contains_key(&l)),
                            Source::Test => w.test_id.is_some_and(|t| test_column.contains_key(&t)),
                        })
                        .collect()
                })
                .unwrap_or_default();
            for ((source, unit), (_, outcome)) in outcomes(&mine) {
                let index = match source {
                    Source::Homework => column.get(&LessonId(unit)),
                    Source::Test => test_column.get(&TestId(unit)),
                };
                let Some(&index) = index else { continue };
                let cell = &mut cells[index];
                match (source, outcome) {
                    (Source::Homework, Outcome::Counted(v)) => cell.homework = Some(v),
                    (Source::Homework, Outcome::Pending) => cell.pending = true,
                    (Source::Test, Outcome::Counted(v)) => cell.test = Some(v),
                    (Source::Test, Outcome::Pending) => {}
                }
                tally.add(outcome);
            }
            GradebookRow {
                student_id: s.id,
                iin: s.iin,
                full_name: s.full_name,
                cells,
                tally,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + minute * 60, 0)
            .single()
            .expect("valid time")
    }

    fn homework(id: i64, lesson: i64, subject: i64, module: i64, grade: Option<f64>, minute: i64) -> GradeItem {
        GradeItem {
            submission_id: id,
            lesson_id: Some(LessonId(lesson)),
            lesson_title: Some(format!("Lesson {lesson}")),
            lesson_type: "Практика".into(),
            kind: Some(LessonKind::Pdf),
            subject_id: SubjectId(subject),
            subject_title: format!("Subject {subject}"),
            module_id: ModuleId(module),
            module_title: format!("Module {module}"),
            test_id: None,
            grade,
            submitted_at: at(minute),
            source: Source::Homework,
        }
    }

    fn test_result(id: i64, test: i64, subject: i64, module: i64, score: f64, minute: i64) -> GradeItem {
        GradeItem {
            test_id: Some(TestId(test)),
            source: Source::Test,
            lesson_id: None,
            lesson_title: None,
            lesson_type: "тест".into(),
            kind: None,
            ..homework(id, 0, subject, module, Some(score), minute)
        }
    }

    #[test]
    fn the_rule_on_a_worked_example() {
        let items = vec![
            // Lesson 1: graded 60, resubmitted and graded 90 later: 90 counts.
            homework(1, 1, 10, 100, Some(60.0), 1),
            homework(2, 1, 10, 100, Some(90.0), 5),
            // Lesson 2: graded 70, then a newer ungraded resubmission: 70 still counts.
            homework(3, 2, 10, 100, Some(70.0), 2),
            homework(4, 2, 10, 100, None, 9),
            // Lesson 3: only ungraded: pending.
            homework(5, 3, 11, 100, None, 3),
            // Test 7: best of 40 and 85.5.
            test_result(6, 7, 11, 100, 40.0, 4),
            test_result(7, 7, 11, 100, 85.5, 6),
            // Another module.
            homework(8, 4, 12, 200, Some(50.0), 7),
        ];
        let s = GradeSummary::new(items);
        assert_eq!(
            s.items.iter().map(|i| i.submission_id).collect::<Vec<_>>(),
            [4, 8, 2, 5, 3, 1, 7, 6],
            "homework first, then tests, newest first"
        );
        assert_eq!(s.overall.counted, 4);
        assert_eq!(s.overall.pending, 1);
        assert_eq!(s.overall.average, Some((90.0 + 70.0 + 85.5 + 50.0) / 4.0));
        let subject = |id: i64| s.subjects.iter().find(|t| t.id == id).expect("subject").tally;
        assert_eq!(subject(10).average, Some(80.0));
        assert_eq!(subject(11).average, Some(85.5));
        assert_eq!(subject(11).pending, 1);
        let module = |id: i64| s.modules.iter().find(|t| t.id == id).expect("module").tally;
        assert_eq!(module(100).average, Some((90.0 + 70.0 + 85.5) / 3.0));
        assert_eq!(module(200).average, Some(50.0));
    }

    #[test]
    fn nothing_graded_is_no_average_not_zero() {
        let s = GradeSummary::new(vec![homework(1, 1, 1, 1, None, 0)]);
        assert_eq!(s.overall.average, None);
        assert_eq!(s.overall.pending, 1);
        assert_eq!(s.subjects[0].tally.average, None);
        let empty = GradeSummary::new(Vec::new());
        assert_eq!(empty.overall, Tally::default());
        assert!(empty.subjects.is_empty() && empty.modules.is_empty());
    }

    fn arb_item() -> impl Strategy<Value = GradeItem> {
        (
            any::<bool>(),
            0i64..6,
            0i64..4,
            proptest::option::weighted(0.7, 0u8..=100),
            0i64..50,
            0u32..4,
        )
            .prop_map(|(is_test, unit, subject, grade, minute, frac)| {
                let module = subject / 2;
                if is_test {
                    let score = f64::from(grade.unwrap_or(0)) - f64::from(frac) / 4.0;
                    test_result(0, unit, subject, module, score.max(0.0), minute)
                } else {
                    homework(0, unit, subject, module, grade.map(f64::from), minute)
                }
            })
    }

    proptest! {
        /// The summary agrees with a direct reading of the rule, and does not depend on the order
        /// the items come in.
        #[test]
        fn summary_matches_the_rule_read_directly(mut items in proptest::collection::vec(arb_item(), 0..40)) {
            for (i, item) in items.iter_mut().enumerate() {
                item.submission_id = i as i64 + 1;
            }
            // Units belong to one subject: a lesson or test is in one place.
            for item in items.iter_mut() {
                let unit = item.unit().unwrap_or(0);
                item.subject_id = SubjectId(unit % 4);
                item.subject_title = format!("Subject {}", unit % 4);
                item.module_id = ModuleId(unit % 4 / 2);
                item.module_title = format!("Module {}", unit % 4 / 2);
            }
            let summary = GradeSummary::new(items.clone());
            let mut reversed = items.clone();
            reversed.reverse();
            prop_assert_eq!(&GradeSummary::new(reversed), &summary);

            // Directly: per homework lesson the latest graded, else pending; per test the best.
            let mut values: Vec<(SubjectId, f64)> = Vec::new();
            let mut pending = 0;
            for lesson in 0..6 {
                let mine: Vec<&GradeItem> = items.iter()
                    .filter(|i| i.source == Source::Homework && i.lesson_id == Some(LessonId(lesson)))
                    .collect();
                let graded = mine.iter().filter(|i| i.grade.is_some())
                    .max_by_key(|i| (i.submitted_at, i.submission_id));
                match graded {
                    Some(i) => values.push((i.subject_id, i.grade.unwrap_or_default())),
                    None if !mine.is_empty() => pending += 1,
                    None => {}
                }
                let best = items.iter()
                    .filter(|i| i.source == Source::Test && i.test_id == Some(TestId(lesson)))
                    .filter_map(|i| i.grade.map(|g| (i.subject_id, g)))
                    .fold(None, |acc: Option<(SubjectId, f64)>, (s, g)| match acc {
                        Some((_, b)) if b >= g => acc,
                        _ => Some((s, g)),
                    });
                values.extend(best);
            }
            prop_assert_eq!(summary.overall.counted as usize, values.len());
            prop_assert_eq!(summary.overall.pending, pending);
            let mean = |vs: &[f64]| (!vs.is_empty()).then(|| vs.iter().sum::<f64>() / vs.len() as f64);
            let all: Vec<f64> = values.iter().map(|v| v.1).collect();
            prop_assert!(close(summary.overall.average, mean(&all)));
            for s in &summary.subjects {
                let of: Vec<f64> = values.iter().filter(|v| v.0 .0 == s.id).map(|v| v.1).collect();
                prop_assert!(close(s.tally.average, mean(&of)), "subject {}", s.id);
            }
            prop_assert!(summary.overall.average.is_none_or(|a| (0.0..=100.0).contains(&a)));
        }
    }

    fn close(a: Option<f64>, b: Option<f64>) -> bool {
        match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() < 1e-9,
            (None, None) => true,
            _ => false,
        }
    }

    #[test]
    fn gradebook_cells_follow_the_same_rule() {
        let lessons = vec![
            GradebookLesson {
                lesson_id: LessonId(1),
                title: "Essay".into(),
                lesson_type: LessonKind::Pdf,
                subject_id: SubjectId(1),
                subject_title: "Literature".into(),
                test_id: None,
            },
            GradebookLesson {
                lesson_id: LessonId(2),
                title: "Quiz".into(),
                lesson_type: LessonKind::Test,
                subject_id: SubjectId(1),
                subject_title: "Literature".into(),
                test_id: Some(TestId(9)),
            },
        ];
        let student = |id: i64| GradebookStudent {
            id: UserId(id),
            iin: Iin::parse("990101300123").expect("iin"),
            full_name: None,
        };
        let work = |student: i64, source: Source, id: i64, unit: i64, grade: Option<f64>, minute: i64| GradebookWork {
            student_id: UserId(student),
            source,
            id,
            lesson_id: (source == Source::Homework).then_some(LessonId(unit)),
            test_id: (source == Source::Test).then_some(TestId(unit)),
            grade,
            submitted_at: at(minute),
        };
        let rows = gradebook_rows(
            &lessons,
            vec![student(1), student(2), student(3)],
            &[
                work(1, Source::Homework, 1, 1, Some(80.0), 1),
                work(1, Source::Homework, 2, 1, None, 2),
                work(1, Source::Test, 3, 9, Some(50.0), 3),
                work(1, Source::Test, 4, 9, Some(70.0), 4),
                // A lesson outside the gradebook is ignored.
                work(1, Source::Homework, 5, 77, Some(0.0), 5),
                work(2, Source::Homework, 6, 1, None, 1),
            ],
        );
        assert_eq!(
            rows[0].cells,
            [
                GradebookCell {
                    homework: Some(80.0),
                    pending: false,
                    test: None
                },
                GradebookCell {
                    homework: None,
                    pending: false,
                    test: Some(70.0)
                }
            ]
        );
        assert_eq!(rows[0].tally.average, Some(75.0));
        assert!(rows[1].cells[0].pending);
        assert_eq!(rows[1].tally.average, None);
        assert_eq!(rows[2].tally, Tally::default());
    }
}
