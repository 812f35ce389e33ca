//! Tests (quizzes): questions with options, and the scoring of an attempt's answers.
//!
//! Scoring is a pure function of the test's answer key and the answers, so it can be checked
//! exhaustively: a score is in 0–100 with two decimals; unanswered questions count as wrong; only
//! the first answer to a question counts; answers to unknown questions are ignored; the order in
//! which questions and options were shown never matters, because answers name the author's option
//! indexes, not positions.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

/// One question's kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    /// Exactly one option is correct; one is chosen.
    #[default]
    Single,
    /// One or more options are correct; any number are chosen.
    Multiple,
}

impl QuestionKind {
    /// The kind's name in storage and JSON: `single` or `multiple`.
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::Single => "single",
            QuestionKind::Multiple => "multiple",
        }
    }

    /// The kind named `s` (`single`, `multiple`); `None` for any other text.
    pub fn parse(s: &str) -> Option<QuestionKind> {
        match s {
            "single" => Some(QuestionKind::Single),
            "multiple" => Some(QuestionKind::Multiple),
            _ => None,
        }
    }
}

/// How a multiple-choice question is scored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scoring {
    /// Full credit only for exactly the correct set.
    #[default]
    AllOrNothing,
    /// (right choices − wrong choices) ÷ correct options, never below zero.
    Partial,
}

impl Scoring {
    /// The rule's name in storage and JSON: `all_or_nothing` or `partial`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scoring::AllOrNothing => "all_or_nothing",
            Scoring::Partial => "partial",
        }
    }

    /// The rule named `s` (`all_or_nothing`, `partial`); `None` for any other text.
    pub fn parse(s: &str) -> Option<Scoring> {
        match s {
            "all_or_nothing" => Some(Scoring::AllOrNothing),
            "partial" => Some(Scoring::Partial),
            _ => None,
        }
    }
}

/// The answer key of one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Database id of the question this key belongs to.
    pub question: i64,
    /// Whether one or several options are correct.
    pub kind: QuestionKind,
    /// The option indexes that are correct.
    pub correct: BTreeSet<i64>,
    /// Every option index of the question.
    pub options: BTreeSet<i64>,
}

/// A student's answer to one question: the option indexes chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Answer {
    /// Database id of the question answered; answers to questions not in the test are ignored.
    pub question_id: i64,
    /// The chosen option (single choice, as the existing frontend sends it).
    #[serde(default)]
    pub selected_index: Option<i64>,
    /// The chosen options (multiple choice).
    #[serde(default)]
    pub selected_indexes: Option<Vec<i64>>,
}

impl Answer {
    fn chosen(&self) -> BTreeSet<i64> {
        let mut set: BTreeSet<i64> = self.selected_indexes.iter().flatten().copied().collect();
        set.extend(self.selected_index);
        set
    }
}

/// The outcome of scoring.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Score {
    /// 0–100, two decimals.
    pub score: f64,
    /// Questions answered fully right (credit 1).
    pub correct: usize,
    /// Questions in the test, answered or not.
    pub total: usize,
}

/// Scores `answers` against `keys`.
pub fn score(keys: &[Key], answers: &[Answer], scoring: Scoring) -> Score {
    let mut first: HashMap<i64, &Answer> = HashMap::new();
    for a in answers {
        first.entry(a.question_id).or_insert(a);
    }
    let mut credit = 0.0;
    let mut correct = 0;
    for key in keys {
        let Some(answer) = first.get(&key.question) else {
            continue;
        };
        let chosen: BTreeSet<i64> = answer
            .chosen()
            .into_iter()
            .filter(|i| key.options.contains(i))
            .collect();
        let c = match key.kind {
            QuestionKind::Single => {
                // The first choice counts for a single-choice question.
                let pick = answer
                    .selected_index
                    .or_else(|| answer.selected_indexes.as_ref().and_then(|v| v.first().copied()));
                if pick.is_some_and(|p| key.correct.contains(&p)) {
                    1.0
                } else {
                    0.0
                }
            }
            QuestionKind::Multiple => match scoring {
                Scoring::AllOrNothing => {
                    if chosen == key.correct {
                        1.0
                    } else {
                        0.0
                    }
                }
                Scoring::Partial => {
                    let right = chosen.intersection(&key.correct).count() as f64;
                    let wrong = chosen.difference(&key.correct).count() as f64;
                    ((right - wrong) / key.correct.len().max(1) as f64).clamp(0.0, 1.0)
                }
            },
        };
        if c >= 1.0 {
            correct += 1;
        }
        credit += c;
    }
    let total = keys.len();
    let score = if total == 0 {
        0.0
    } else {
        (credit / total as f64 * 10_000.0).round() / 100.0
    };
    Score { score, correct, total }
}

// ---- authoring ----

/// A test as its author writes it (`POST /tests/create`, `PUT /tests/{id}`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct TestDraft {
    /// Title shown to students: one line, 1 to 200 characters.
    pub title: String,
    /// Database id of the subject the test belongs to.
    pub subject_id: i64,
    /// Lesson the test is attached to, if any; it must belong to `subject_id`.
    #[serde(default)]
    pub lesson_id: Option<i64>,
    /// Attempts per student (default 1).
    #[serde(default)]
    pub max_attempts: Option<i32>,
    /// Minutes from the start of an attempt; none means no limit.
    #[serde(default)]
    pub time_limit_minutes: Option<i32>,
    /// Show questions and options in a random order per attempt.
    #[serde(default)]
    pub shuffle: bool,
    /// How multiple-choice questions are scored.
    #[serde(default)]
    pub scoring: Scoring,
    /// The questions, in the author's order: 1 to 200.
    pub questions: Vec<QuestionDraft>,
}

/// One question as its author writes it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct QuestionDraft {
    /// The question's text: one line, 1 to 2,000 characters.
    pub question_text: String,
    /// Single or multiple choice (single when absent).
    #[serde(default)]
    pub kind: QuestionKind,
    /// The correct option of a single-choice question.
    #[serde(default)]
    pub correct_option_index: Option<i64>,
    /// The correct options of a multiple-choice question.
    #[serde(default)]
    pub correct_option_indexes: Option<Vec<i64>>,
    /// The options, 2 to 20, each with an index unique within the question.
    pub options: Vec<OptionDraft>,
}

/// One option as its author writes it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct OptionDraft {
    /// The option's text: one line, 1 to 1,000 characters.
    pub option_text: String,
    /// The author's index of the option, unique within its question; answers name it.
    pub option_index: i64,
}

/// A stored test with its questions (author's order) and answer key.
#[derive(Debug, Clone, PartialEq)]
pub struct Test {
    /// Database id of the test.
    pub id: super::TestId,
    /// Subject the test belongs to.
    pub subject_id: super::SubjectId,
    /// Lesson the test is attached to, if any.
    pub lesson_id: Option<super::LessonId>,
    /// Title shown to students.
    pub title: String,
    /// Attempts allowed per student, at least 1.
    pub max_attempts: i32,
    /// Minutes from the start of an attempt; `None` means no limit.
    pub time_limit_minutes: Option<i32>,
    /// Whether each attempt shows questions and options in a random order.
    pub shuffle: bool,
    /// How multiple-choice questions are scored.
    pub scoring: Scoring,
    /// The questions, in the author's order.
    pub questions: Vec<Question>,
}

/// A stored question with its options and which of them are correct.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// Database id of the question (changes when the test is edited).
    pub id: i64,
    /// The question's text.
    pub text: String,
    /// Single or multiple choice.
    pub kind: QuestionKind,
    /// The options, in the author's order.
    pub options: Vec<QuizOption>,
}

/// A stored option of a question.
#[derive(Debug, Clone, PartialEq)]
pub struct QuizOption {
    /// The option's row id (changes when the test is edited, as in the old backend).
    pub id: i64,
    /// The author's index of the option within its question; answers name it.
    pub index: i64,
    /// The option's text.
    pub text: String,
    /// Whether choosing this option is right.
    pub is_correct: bool,
}

impl Test {
    /// The answer key for scoring.
    pub fn keys(&self) -> Vec<Key> {
        self.questions
            .iter()
            .map(|q| Key {
                question: q.id,
                kind: q.kind,
                correct: q.options.iter().filter(|o| o.is_correct).map(|o| o.index).collect(),
                options: q.options.iter().map(|o| o.index).collect(),
            })
            .collect()
    }
}

/// A test as a reader sees it. For students, nothing in it depends on which options are correct.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TestView {
    /// Database id of the test.
    pub id: super::TestId,
    /// Subject the test belongs to.
    pub subject_id: super::SubjectId,
    /// Lesson the test is attached to, if any.
    pub lesson_id: Option<super::LessonId>,
    /// Title shown to students.
    pub title: String,
    /// Attempts allowed per student, at least 1.
    pub max_attempts: i32,
    /// Minutes from the start of an attempt; `None` means no limit.
    pub time_limit_minutes: Option<i32>,
    /// Whether each attempt shows questions and options in a random order.
    pub shuffle: bool,
    /// How multiple-choice questions are scored.
    pub scoring: Scoring,
    /// The questions, in the author's order or the attempt's shuffled one.
    pub questions: Vec<QuestionView>,
}

/// A question as a reader sees it; the key only for those who may see it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QuestionView {
    /// Database id of the question; answers name it.
    pub id: i64,
    /// The question's text.
    pub question_text: String,
    /// Single or multiple choice.
    pub kind: QuestionKind,
    /// The options, in the order they are to be shown.
    pub options: Vec<OptionView>,
    /// Only for the subject's teachers and admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct_option_index: Option<i64>,
    /// Only for the subject's teachers and admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct_option_indexes: Option<Vec<i64>>,
}

/// An option as a reader sees it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OptionView {
    /// The option's row id (changes when the test is edited).
    pub id: i64,
    /// The author's index of the option; answers name it.
    pub option_index: i64,
    /// The option's text.
    pub option_text: String,
    /// Only for the subject's teachers and admins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_correct: Option<bool>,
}

impl Test {
    /// The view of this test; with `answers`, the key is included. `layout` orders questions and
    /// options (an attempt's shuffle); without it, the author's order.
    pub fn view(&self, answers: bool, layout: Option<&[(i64, Vec<i64>)]>) -> TestView {
        let question_view = |q: &Question, order: Option<&Vec<i64>>| {
            let mut options: Vec<&QuizOption> = q.options.iter().collect();
            if let Some(order) = order {
                options.sort_by_key(|o| order.iter().position(|i| *i == o.index).unwrap_or(usize::MAX));
            }
            let correct: Vec<i64> = q.options.iter().filter(|o| o.is_correct).map(|o| o.index).collect();
            QuestionView {
                id: q.id,
                question_text: q.text.clone(),
                kind: q.kind,
                options: options
                    .into_iter()
                    .map(|o| OptionView {
                        id: o.id,
                        option_index: o.index,
                        option_text: o.text.clone(),
                        is_correct: answers.then_some(o.is_correct),
                    })
                    .collect(),
                correct_option_index: (answers && q.kind == QuestionKind::Single)
                    .then(|| correct.first().copied())
                    .flatten(),
                correct_option_indexes: (answers && q.kind == QuestionKind::Multiple).then_some(correct),
            }
        };
        let questions = match layout {
            Some(layout) => layout
                .iter()
                .filter_map(|(qid, order)| {
                    self.questions
                        .iter()
                        .find(|q| q.id == *qid)
                        .map(|q| question_view(q, Some(order)))
                })
                .collect(),
            None => self.questions.iter().map(|q| question_view(q, None)).collect(),
        };
        TestView {
            id: self.id,
            subject_id: self.subject_id,
            lesson_id: self.lesson_id,
            title: self.title.clone(),
            max_attempts: self.max_attempts,
            time_limit_minutes: self.time_limit_minutes,
            shuffle: self.shuffle,
            scoring: self.scoring,
            questions,
        }
    }
}

/// One attempt at a test.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Attempt {
    /// Database id of the attempt.
    pub id: super::AttemptId,
    /// The test attempted.
    pub test_id: super::TestId,
    /// Lesson the test was attached to when the attempt started, if any.
    pub lesson_id: Option<super::LessonId>,
    /// The student making the attempt.
    pub student_id: super::UserId,
    /// The student's full name, for teachers' lists.
    pub student_name: String,
    /// When the attempt started (UTC).
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// The server-side deadline fixed at start (answers after it plus a short grace are not taken).
    pub deadline: Option<chrono::DateTime<chrono::Utc>>,
    /// When the answers were submitted (UTC); `None` while the attempt is open.
    pub submitted_at: Option<chrono::DateTime<chrono::Utc>>,
    /// 0–100 with fractions, once submitted (absent while the attempt is open).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Questions answered right, once submitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct: Option<i32>,
    /// Questions in the test, once submitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i32>,
    /// The answers given so far (saved or submitted); never sent to clients.
    #[serde(skip)]
    pub answers: Vec<Answer>,
    /// The order shown in this attempt: each question id with its option indexes in display order;
    /// never sent to clients.
    #[serde(skip)]
    pub layout: Vec<(i64, Vec<i64>)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn single(q: i64, options: &[i64], correct: i64) -> Key {
        Key {
            question: q,
            kind: QuestionKind::Single,
            correct: [correct].into(),
            options: options.iter().copied().collect(),
        }
    }

    fn pick(q: i64, i: i64) -> Answer {
        Answer {
            question_id: q,
            selected_index: Some(i),
            selected_indexes: None,
        }
    }

    fn picks(q: i64, i: &[i64]) -> Answer {
        Answer {
            question_id: q,
            selected_index: None,
            selected_indexes: Some(i.to_vec()),
        }
    }

    #[test]
    fn single_choice_as_before() {
        let keys = [single(1, &[0, 1, 2], 1), single(2, &[0, 1], 0), single(3, &[0, 1], 1)];
        let s = score(&keys, &[pick(1, 1), pick(2, 1), pick(99, 0)], Scoring::AllOrNothing);
        assert_eq!((s.score, s.correct, s.total), (33.33, 1, 3));
        let s = score(&keys, &[pick(1, 0), pick(1, 1)], Scoring::AllOrNothing);
        assert_eq!(s.score, 0.0, "the first answer counts");
        let all = [pick(1, 1), pick(2, 0), pick(3, 1)];
        assert_eq!(score(&keys, &all, Scoring::AllOrNothing).score, 100.0);
        assert_eq!(score(&[], &all, Scoring::AllOrNothing).score, 0.0);
    }

    #[test]
    fn multiple_choice() {
        let key = Key {
            question: 1,
            kind: QuestionKind::Multiple,
            correct: [0, 2].into(),
            options: [0, 1, 2, 3].into(),
        };
        let keys = [key];
        assert_eq!(score(&keys, &[picks(1, &[2, 0])], Scoring::AllOrNothing).score, 100.0);
        assert_eq!(score(&keys, &[picks(1, &[0])], Scoring::AllOrNothing).score, 0.0);
        assert_eq!(score(&keys, &[picks(1, &[0])], Scoring::Partial).score, 50.0);
        assert_eq!(score(&keys, &[picks(1, &[0, 1])], Scoring::Partial).score, 0.0);
        assert_eq!(
            score(&keys, &[picks(1, &[0, 1, 2, 3])], Scoring::Partial).score,
            0.0,
            "choosing everything earns nothing"
        );
        assert_eq!(score(&keys, &[picks(1, &[0, 2, 2, 0])], Scoring::Partial).score, 100.0);
    }

    fn test_and_answers() -> impl Strategy<Value = (Vec<Key>, Vec<Answer>, Scoring)> {
        let key = (prop::bool::ANY, 2usize..6).prop_flat_map(|(multi, n)| {
            let options: Vec<i64> = (0..n as i64).collect();
            let correct = if multi {
                prop::collection::btree_set(0..n as i64, 1..=n).boxed()
            } else {
                (0..n as i64).prop_map(|c| BTreeSet::from([c])).boxed()
            };
            (Just(multi), Just(options), correct)
        });
        prop::collection::vec(key, 0..12).prop_flat_map(|keys| {
            let keys: Vec<Key> = keys
                .into_iter()
                .enumerate()
                .map(|(i, (multi, options, correct))| Key {
                    question: i as i64 + 1,
                    kind: if multi {
                        QuestionKind::Multiple
                    } else {
                        QuestionKind::Single
                    },
                    correct,
                    options: options.into_iter().collect(),
                })
                .collect();
            let answer = (
                0i64..15,
                prop::option::of(-1i64..7),
                prop::option::of(prop::collection::vec(-1i64..7, 0..6)),
            )
                .prop_map(|(q, one, many)| Answer {
                    question_id: q,
                    selected_index: one,
                    selected_indexes: many,
                });
            (
                Just(keys),
                prop::collection::vec(answer, 0..20),
                prop_oneof![Just(Scoring::AllOrNothing), Just(Scoring::Partial)],
            )
        })
    }

    fn perfect(keys: &[Key]) -> Vec<Answer> {
        keys.iter()
            .map(|k| match k.kind {
                QuestionKind::Single => pick(k.question, *k.correct.iter().next().expect("a correct option")),
                QuestionKind::Multiple => picks(k.question, &k.correct.iter().copied().collect::<Vec<_>>()),
            })
            .collect()
    }

    proptest! {
        #[test]
        fn scores_are_between_0_and_100_with_two_decimals((keys, answers, scoring) in test_and_answers()) {
            let s = score(&keys, &answers, scoring);
            prop_assert!((0.0..=100.0).contains(&s.score));
            prop_assert!(((s.score * 100.0).round() - s.score * 100.0).abs() < 1e-6);
            prop_assert!(s.correct <= s.total);
        }

        #[test]
        fn the_order_of_answers_to_different_questions_does_not_matter((keys, answers, scoring) in test_and_answers(), seed in any::<u64>()) {
            // Keep the first answer per question, then shuffle: order between questions is irrelevant.
            let mut seen = std::collections::HashSet::new();
            let mut firsts: Vec<Answer> = answers.into_iter().filter(|a| seen.insert(a.question_id)).collect();
            let before = score(&keys, &firsts, scoring);
            let n = firsts.len();
            if n > 1 {
                for i in 0..n {
                    let j = (seed.wrapping_mul(i as u64 + 7) % n as u64) as usize;
                    firsts.swap(i, j);
                }
            }
            prop_assert_eq!(score(&keys, &firsts, scoring), before);
        }

        #[test]
        fn all_correct_is_100_and_duplicates_cannot_raise_it((keys, answers, scoring) in test_and_answers()) {
            prop_assume!(!keys.is_empty());
            let right = perfect(&keys);
            prop_assert_eq!(score(&keys, &right, scoring).score, 100.0);
            let base = score(&keys, &answers, scoring);
            // A right answer sent after an earlier answer to the same question changes nothing.
            let answered: std::collections::HashSet<i64> = answers.iter().map(|a| a.question_id).collect();
            let mut more = answers.clone();
            more.extend(right.into_iter().filter(|r| answered.contains(&r.question_id)));
            prop_assert_eq!(score(&keys, &more, scoring), base);
            let mut doubled = answers.clone();
            doubled.extend(answers.iter().cloned());
            prop_assert_eq!(score(&keys, &doubled, scoring), base);
        }
    }
}
