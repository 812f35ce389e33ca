//! Grades: what a student's work earned, and the one rule that turns work into averages.
//!
//! # What counts
//!
//! What counts is what the dean sees: the cells of the gradebook, one per lesson and student.
//! A student's summary and the gradebook are both worked out by [`outcomes`] from the same facts,
//! so a student's module average in the summary is always their row in the module's gradebook.
//!
//! - **A lesson with a test** (a test is linked to it now) is the test's cell: the best score among
//!   the student's submitted attempts at that test (attempts still open are not listed at all).
//!   Such a lesson takes no homework (a submission is refused); homework handed in before a test
//!   was linked stays listed but does not count, because the cell shows the test.
//! - **Any other lesson** is a homework cell: the grade of the lesson's most recent *graded*
//!   submission (by submission time, then id). A newer submission that is not graded yet does not
//!   replace it; a lesson whose submissions are all ungraded is *pending* and counts neither as a
//!   grade nor as zero.
//! - **A test linked to no lesson counts nowhere**: it has no column in the gradebook, so counting
//!   it in the student's average would give the student a number the dean cannot see. Teachers use
//!   such tests for practice, or keep them before putting them into a lesson; linking the test to a
//!   lesson puts its results into the record. Its attempts stay listed. After a test is moved to
//!   another lesson its results count for the lesson it is linked to now.
//! - **Averages** are arithmetic means of the counted cells, each weighing the same: per subject,
//!   per module (over all the module's counted cells, not the mean of its subjects' averages) and
//!   overall. With nothing counted an average is absent (`null`), never zero.
//!
//! Every submission and attempt is still *listed* (history is kept); only the counting picks one
//! value per cell.

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
    /// A submitted attempt at a test.
    Test,
}

impl Source {
    /// The source's own name: `homework` or `test` (JSON answers say `submission` for homework).
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
    /// The lesson's title; absent without a lesson.
    pub lesson_title: Option<String>,
    /// As the previous backend answered: the lesson's type label for homework, `"тест"` for tests.
    pub lesson_type: String,
    /// The lesson's normalised kind; absent without a lesson.
    pub kind: Option<LessonKind>,
    /// The subject the lesson or test belongs to.
    pub subject_id: SubjectId,
    /// The subject's title.
    pub subject_title: String,
    /// The module the subject belongs to.
    pub module_id: ModuleId,
    /// The module's title.
    pub module_title: String,
    /// The test, for test results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_id: Option<TestId>,
    /// 0–100; fractional for tests; `null` while homework is not graded.
    pub grade: Option<f64>,
    /// When the work was handed in or the attempt submitted (UTC).
    pub submitted_at: DateTime<Utc>,
    /// Homework submission or test attempt.
    pub source: Source,
    /// Where the work stands now, for the counting rule (not answered: `lesson_id` above is
    /// where it was done).
    #[serde(skip)]
    pub place: Place,
}

/// Where a piece of work stands now, which decides the gradebook cell it counts in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Place {
    /// Homework: its lesson. A test's attempt: the lesson the test is linked to now, if any.
    pub lesson: Option<LessonId>,
    /// Homework: whether its lesson has a test linked now (the cell is then the test's).
    pub lesson_has_test: bool,
}

/// What the counting rule needs to know of a piece of work.
pub trait Work {
    /// Homework or test attempt.
    fn source(&self) -> Source;
    /// Where the work stands now, which decides its cell.
    fn place(&self) -> Place;
    /// The grade or score, 0–100; `None` for homework not graded yet.
    fn grade(&self) -> Option<f64>;
    /// When the work was handed in (UTC); the latest graded homework counts.
    fn submitted_at(&self) -> DateTime<Utc>;
    /// The submission's or attempt's id; breaks ties between equal times.
    fn id(&self) -> i64;

    /// The lesson whose gradebook cell the work counts in, under the rule of this module; `None`
    /// when it counts nowhere (a test linked to no lesson, homework on a lesson with a test).
    fn cell(&self) -> Option<LessonId> {
        let place = self.place();
        match self.source() {
            Source::Homework if place.lesson_has_test => None,
            Source::Homework | Source::Test => place.lesson,
        }
    }
}

impl<W: Work> Work for &W {
    fn source(&self) -> Source {
        (*self).source()
    }
    fn place(&self) -> Place {
        (*self).place()
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
    fn place(&self) -> Place {
        self.place
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

/// The outcome of one cell: a lesson's homework or its test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// The value that counts.
    Counted(f64),
    /// Homework handed in and not graded yet.
    Pending,
}

/// Applies the rule: one outcome per gradebook cell (lesson), with the index of the item that
/// decided it. The summary and the gradebook both count with this, and nothing else.
pub fn outcomes<W: Work>(items: &[W]) -> BTreeMap<LessonId, (usize, Outcome)> {
    let mut out: BTreeMap<LessonId, (usize, Outcome)> = BTreeMap::new();
    for (index, item) in items.iter().enumerate() {
        let Some(key) = item.cell() else { continue };
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
                // Facts read in one statement never put both in one cell; were they to, the cell
                // is the test's, as the rule says.
                (source, _, _) if source != items[held].source() => source == Source::Test,
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
    /// Database id of the subject or module.
    pub id: i64,
    /// The subject's or module's title.
    pub title: String,
    /// The module of a subject (absent for modules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_id: Option<ModuleId>,
    /// The average; its fields appear at the top level in JSON.
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
    /// The average over every counted cell of every module.
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
    /// Database id of the lesson.
    pub lesson_id: LessonId,
    /// The lesson's title.
    pub title: String,
    /// The lesson's normalised kind.
    pub lesson_type: LessonKind,
    /// The subject the lesson belongs to.
    pub subject_id: SubjectId,
    /// The subject's title.
    pub subject_title: String,
    /// The test linked to the lesson, whose best score is the lesson's test result.
    pub test_id: Option<TestId>,
}

/// A student's work on one lesson: the value that counts, in the field of its kind (at most one of
/// `homework` and `test` is set: a lesson with a test is the test's cell).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GradebookCell {
    /// The homework grade that counts (lessons without a test).
    pub homework: Option<f64>,
    /// Homework handed in and not graded yet.
    pub pending: bool,
    /// The best score of the lesson's test.
    pub test: Option<f64>,
}

impl GradebookCell {
    /// The value the cell shows and the average counts.
    pub fn value(&self) -> Option<f64> {
        self.test.or(self.homework)
    }
}

/// One row of a gradebook.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GradebookRow {
    /// Database id of the student.
    pub student_id: UserId,
    /// The student's 12-digit IIN.
    pub iin: Iin,
    /// The student's full name, when one is recorded.
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
    /// Database id of the group.
    pub group_id: super::GroupId,
    /// The group's name.
    pub group_name: String,
    /// Database id of the module.
    pub module_id: ModuleId,
    /// The module's title.
    pub module_title: String,
    /// The columns: the module's lessons the viewer may grade, by subject title and then creation.
    pub lessons: Vec<GradebookLesson>,
    /// The requested page of the group's students, by name.
    pub students: Vec<GradebookRow>,
    /// Students in the group, over all pages.
    pub total: i64,
    /// The page size used, 1–500 (see `Page`).
    pub limit: i64,
    /// Students skipped before this page.
    pub offset: i64,
}

/// A student's work in a gradebook, as the store returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct GradebookWork {
    /// The student whose work it is.
    pub student_id: UserId,
    /// Homework submission or test attempt.
    pub source: Source,
    /// The submission's or attempt's id.
    pub id: i64,
    /// Where the work stands now, which decides its cell.
    pub place: Place,
    /// The grade or score, 0–100; `None` for homework not graded yet.
    pub grade: Option<f64>,
    /// When the work was handed in or the attempt submitted (UTC).
    pub submitted_at: DateTime<Utc>,
}

impl Work for GradebookWork {
    fn source(&self) -> Source {
        self.source
    }
    fn place(&self) -> Place {
        self.place
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
    /// Database id of the student.
    pub id: UserId,
    /// The student's 12-digit IIN.
    pub iin: Iin,
    /// The student's full name, when one is recorded.
    pub full_name: Option<String>,
}

/// Fills the rows of a gradebook page: each student's cells and average under the rule of this
/// module, over `lessons` only (work counting in other lessons is ignored).
pub fn gradebook_rows(
    lessons: &[GradebookLesson],
    students: Vec<GradebookStudent>,
    work: &[GradebookWork],
) -> Vec<GradebookRow> {
    let column: HashMap<LessonId, usize> = lessons.iter().enumerate().map(|(i, l)| (l.lesson_id, i)).collect();
    let mut by_student: HashMap<UserId, Vec<&GradebookWork>> = HashMap::new();
    for w in work {
        if w.cell().is_some_and(|l| column.contains_key(&l)) {
            by_student.entry(w.student_id).or_default().push(w);
        }
    }
    students
        .into_iter()
        .map(|s| {
            let mut cells = vec![GradebookCell::default(); lessons.len()];
            let mut tally = Tally::default();
            let mine = by_student.remove(&s.id).unwrap_or_default();
            for (lesson, (index, outcome)) in outcomes(&mine) {
                let Some(&at) = column.get(&lesson) else { continue };
                let cell = &mut cells[at];
                match (mine[index].source, outcome) {
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

    /// Homework on a lesson without a test.
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
            place: Place {
                lesson: Some(LessonId(lesson)),
                lesson_has_test: false,
            },
        }
    }

    /// A result of `test`, linked now to `linked` (or to no lesson).
    fn test_result(
        id: i64,
        test: i64,
        linked: Option<i64>,
        subject: i64,
        module: i64,
        score: f64,
        minute: i64,
    ) -> GradeItem {
        GradeItem {
            test_id: Some(TestId(test)),
            source: Source::Test,
            lesson_id: linked.map(LessonId),
            lesson_title: None,
            lesson_type: "тест".into(),
            kind: None,
            place: Place {
                lesson: linked.map(LessonId),
                lesson_has_test: true,
            },
            ..homework(id, 0, subject, module, Some(score), minute)
        }
    }

    #[test]
    fn the_rule_on_a_worked_example() {
        let mut on_test_lesson = homework(9, 70, 11, 100, Some(100.0), 8);
        on_test_lesson.place.lesson_has_test = true;
        let items = vec![
            // Lesson 1: graded 60, resubmitted and graded 90 later: 90 counts.
            homework(1, 1, 10, 100, Some(60.0), 1),
            homework(2, 1, 10, 100, Some(90.0), 5),
            // Lesson 2: graded 70, then a newer ungraded resubmission: 70 still counts.
            homework(3, 2, 10, 100, Some(70.0), 2),
            homework(4, 2, 10, 100, None, 9),
            // Lesson 3: only ungraded: pending.
            homework(5, 3, 11, 100, None, 3),
            // Test 7 of lesson 70: best of 40 and 85.5.
            test_result(6, 7, Some(70), 11, 100, 40.0, 4),
            test_result(7, 7, Some(70), 11, 100, 85.5, 6),
            // Homework on lesson 70, which has a test: listed, not counted (the cell is the test's).
            on_test_lesson,
            // Test 8 is linked to no lesson: listed, not counted.
            test_result(10, 8, None, 11, 100, 0.0, 10),
            // Another module.
            homework(8, 4, 12, 200, Some(50.0), 7),
        ];
        let s = GradeSummary::new(items);
        assert_eq!(
            s.items.iter().map(|i| i.submission_id).collect::<Vec<_>>(),
            [4, 9, 8, 2, 5, 3, 1, 10, 7, 6],
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

    /// Lessons 0–5 have no test; tests 0–5 are linked to lessons 10 + t when t is even, to none
    /// when odd; homework goes to lessons 0–5 and (handed in before the test came) 10, 12, 14.
    fn arb_item() -> impl Strategy<Value = GradeItem> {
        (
            any::<bool>(),
            0i64..9,
            proptest::option::weighted(0.7, 0u8..=100),
            0i64..50,
            0u32..4,
        )
            .prop_map(|(is_test, unit, grade, minute, frac)| {
                if is_test {
                    let test = unit % 6;
                    let linked = (test % 2 == 0).then_some(10 + test);
                    let score = f64::from(grade.unwrap_or(0)) - f64::from(frac) / 4.0;
                    test_result(0, test, linked, 0, 0, score.max(0.0), minute)
                } else {
                    let lesson = if unit < 6 { unit } else { 10 + 2 * (unit - 6) };
                    let mut item = homework(0, lesson, 0, 0, grade.map(f64::from), minute);
                    item.place.lesson_has_test = lesson >= 10;
                    item
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
            // A lesson (and the test linked to it) is in one subject; unlinked tests anywhere.
            for item in items.iter_mut() {
                let place = item.lesson_id.map_or(item.submission_id, |l| l.0);
                item.subject_id = SubjectId(place % 4);
                item.subject_title = format!("Subject {}", place % 4);
                item.module_id = ModuleId(place % 4 / 2);
                item.module_title = format!("Module {}", place % 4 / 2);
            }
            let summary = GradeSummary::new(items.clone());
            let mut reversed = items.clone();
            reversed.reverse();
            prop_assert_eq!(&GradeSummary::new(reversed), &summary);

            // Directly: per lesson without a test the latest graded homework, else pending; per
            // lesson with a test that test's best; unlinked tests and homework on test lessons
            // nowhere.
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
            }
            for test in [0, 2, 4] {
                let best = items.iter()
                    .filter(|i| i.source == Source::Test && i.test_id == Some(TestId(test)))
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
        let work = |student: i64, source: Source, id: i64, lesson: Option<i64>, grade: Option<f64>, minute: i64| {
            GradebookWork {
                student_id: UserId(student),
                source,
                id,
                place: Place {
                    lesson: lesson.map(LessonId),
                    lesson_has_test: lesson == Some(2),
                },
                grade,
                submitted_at: at(minute),
            }
        };
        let rows = gradebook_rows(
            &lessons,
            vec![student(1), student(2), student(3)],
            &[
                work(1, Source::Homework, 1, Some(1), Some(80.0), 1),
                work(1, Source::Homework, 2, Some(1), None, 2),
                work(1, Source::Test, 3, Some(2), Some(50.0), 3),
                work(1, Source::Test, 4, Some(2), Some(70.0), 4),
                // Homework on the test's lesson: hidden behind the test, so not counted either.
                work(1, Source::Homework, 7, Some(2), Some(10.0), 5),
                // A test linked to no lesson, and a lesson outside the gradebook: ignored.
                work(1, Source::Test, 8, None, Some(0.0), 5),
                work(1, Source::Homework, 5, Some(77), Some(0.0), 5),
                work(2, Source::Homework, 6, Some(1), None, 1),
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
        assert_eq!(rows[0].tally.counted, 2);
        assert!(rows[1].cells[0].pending);
        assert_eq!(rows[1].tally.average, None);
        assert_eq!(rows[2].tally, Tally::default());
    }
}
