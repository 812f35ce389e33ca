//! The SQL of tests (quizzes) and attempts, shared by both backends (see `sql.rs`).

macro_rules! attempt_select {
    () => {
        concat!(
            "SELECT a.id, a.test_id, a.lesson_id, a.student_id, u.full_name AS student_name, a.started_at, ",
            "a.deadline, a.submitted_at, a.score, a.correct, a.total, a.answers, a.layout ",
            "FROM attempts a JOIN users u ON u.id = a.student_id "
        )
    };
}

macro_rules! quiz_methods {
    (begin_write = $begin:literal, for_update = $for_update:literal) => {
        async fn insert_test(
            &self,
            _subject: &$crate::policy::Taught<$crate::domain::SubjectId>,
            test: &$crate::store::TestRow<'_>,
            now: chrono::DateTime<chrono::Utc>,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<$crate::domain::TestId> {
            let mut tx = self.pool.begin_with($begin).await?;
            let (id,): (i64,) = sqlx::query_as(concat!(
                "INSERT INTO tests (subject_id, lesson_id, title, max_attempts, time_limit_minutes, shuffle, scoring, ",
                "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id"
            ))
            .bind(test.subject.0)
            .bind(test.lesson.map(|l| l.0))
            .bind(test.title)
            .bind(test.max_attempts)
            .bind(test.time_limit_minutes)
            .bind(test.shuffle)
            .bind(test.scoring.as_str())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            $crate::store::quiz_sql::insert_questions!(tx, id, test.questions);
            $crate::store::sql::write_audit!(&mut *tx, &audit.for_id(id))?;
            tx.commit().await?;
            Ok($crate::domain::TestId(id))
        }

        async fn replace_test(
            &self,
            taught: &$crate::policy::Taught<$crate::domain::TestId>,
            test: &$crate::store::TestRow<'_>,
            now: chrono::DateTime<chrono::Utc>,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<bool> {
            let id = taught.id();
            let mut tx = self.pool.begin_with($begin).await?;
            let done = sqlx::query(concat!(
                "UPDATE tests SET lesson_id = $2, title = $3, max_attempts = $4, time_limit_minutes = $5, ",
                "shuffle = $6, scoring = $7, updated_at = $8 WHERE id = $1"
            ))
            .bind(id.0)
            .bind(test.lesson.map(|l| l.0))
            .bind(test.title)
            .bind(test.max_attempts)
            .bind(test.time_limit_minutes)
            .bind(test.shuffle)
            .bind(test.scoring.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            sqlx::query("DELETE FROM questions WHERE test_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            $crate::store::quiz_sql::insert_questions!(tx, id.0, test.questions);
            $crate::store::sql::write_audit!(&mut *tx, audit)?;
            tx.commit().await?;
            Ok(true)
        }

        async fn tests(
            &self,
            only: Option<$crate::domain::TestId>,
            subject: Option<$crate::domain::SubjectId>,
            lesson: Option<$crate::domain::LessonId>,
        ) -> $crate::store::StoreResult<Vec<$crate::domain::quiz::Test>> {
            let filter = "($1 IS NULL OR t.id = $1) AND ($2 IS NULL OR t.subject_id = $2) AND ($3 IS NULL OR t.lesson_id = $3)";
            let tests: Vec<$crate::store::quiz_rows::TestRowOut> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT t.id, t.subject_id, t.lesson_id, t.title, t.max_attempts, t.time_limit_minutes, t.shuffle, \
                 t.scoring FROM tests t WHERE {filter} ORDER BY t.id"
            )))
            .bind(only.map(|t| t.0))
            .bind(subject.map(|s| s.0))
            .bind(lesson.map(|l| l.0))
            .fetch_all(self.pooled())
            .await?;
            let questions: Vec<$crate::store::quiz_rows::QuestionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT q.id, q.test_id, q.text, q.kind FROM questions q JOIN tests t ON t.id = q.test_id \
                 WHERE {filter} ORDER BY q.test_id, q.position, q.id"
            )))
            .bind(only.map(|t| t.0))
            .bind(subject.map(|s| s.0))
            .bind(lesson.map(|l| l.0))
            .fetch_all(self.pooled())
            .await?;
            let options: Vec<$crate::store::quiz_rows::OptionRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT o.id, o.question_id, o.option_index, o.text, o.is_correct FROM options o \
                 JOIN questions q ON q.id = o.question_id JOIN tests t ON t.id = q.test_id \
                 WHERE {filter} ORDER BY o.question_id, o.position, o.id"
            )))
            .bind(only.map(|t| t.0))
            .bind(subject.map(|s| s.0))
            .bind(lesson.map(|l| l.0))
            .fetch_all(self.pooled())
            .await?;
            $crate::store::quiz_rows::assemble(tests, questions, options)
        }

        async fn delete_test(
            &self,
            taught: &$crate::policy::Taught<$crate::domain::TestId>,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<bool> {
            let id = taught.id();
            let mut tx = self.pool.begin_with($begin).await?;
            let done = sqlx::query("DELETE FROM tests WHERE id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            $crate::store::sql::write_audit!(&mut *tx, audit)?;
            tx.commit().await?;
            Ok(true)
        }

        async fn start_attempt(
            &self,
            taker: &$crate::policy::Enrolled<$crate::domain::TestId>,
            start: &$crate::store::AttemptStart<'_>,
        ) -> $crate::store::StoreResult<$crate::store::Started> {
            let mut tx = self.pool.begin_with($begin).await?;
            // One student's starts are serialised: the count below cannot race a second start.
            sqlx::query(concat!("SELECT id FROM users WHERE id = $1", $for_update))
                .bind(taker.student().0)
                .fetch_optional(&mut *tx)
                .await?;
            let open: Option<(i64,)> = sqlx::query_as(
                "SELECT id FROM attempts WHERE test_id = $1 AND student_id = $2 AND submitted_at IS NULL ORDER BY id LIMIT 1",
            )
            .bind(taker.id().0)
            .bind(taker.student().0)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((id,)) = open {
                tx.commit().await?;
                return Ok($crate::store::Started::Open($crate::domain::AttemptId(id)));
            }
            let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM attempts WHERE test_id = $1 AND student_id = $2")
                .bind(taker.id().0)
                .bind(taker.student().0)
                .fetch_one(&mut *tx)
                .await?;
            if count >= i64::from(start.max_attempts) {
                return Ok($crate::store::Started::LimitReached);
            }
            let (id,): (i64,) = sqlx::query_as(concat!(
                "INSERT INTO attempts (test_id, lesson_id, student_id, started_at, deadline, layout) ",
                "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
            ))
            .bind(taker.id().0)
            .bind(start.lesson.map(|l| l.0))
            .bind(taker.student().0)
            .bind(start.now)
            .bind(start.deadline)
            .bind(start.layout)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok($crate::store::Started::New($crate::domain::AttemptId(id)))
        }

        async fn save_answers(
            &self,
            own: &$crate::policy::Own<$crate::domain::AttemptId>,
            answers: &str,
        ) -> $crate::store::StoreResult<bool> {
            let id = own.id();
            let done = sqlx::query("UPDATE attempts SET answers = $2 WHERE id = $1 AND submitted_at IS NULL")
                .bind(id.0)
                .bind(answers)
                .execute(self.pooled())
                .await?;
            Ok(done.rows_affected() > 0)
        }

        async fn finish_attempt(
            &self,
            own: &$crate::policy::Own<$crate::domain::AttemptId>,
            answers: &str,
            score: &$crate::domain::quiz::Score,
            at: chrono::DateTime<chrono::Utc>,
        ) -> $crate::store::StoreResult<bool> {
            let id = own.id();
            let done = sqlx::query(concat!(
                "UPDATE attempts SET answers = $2, score = $3, correct = $4, total = $5, submitted_at = $6 ",
                "WHERE id = $1 AND submitted_at IS NULL"
            ))
            .bind(id.0)
            .bind(answers)
            .bind(score.score)
            .bind(i32::try_from(score.correct).unwrap_or(i32::MAX))
            .bind(i32::try_from(score.total).unwrap_or(i32::MAX))
            .bind(at)
            .execute(self.pooled())
            .await?;
            Ok(done.rows_affected() > 0)
        }

        async fn attempts(
            &self,
            filter: &$crate::store::AttemptFilter,
        ) -> $crate::store::StoreResult<Vec<$crate::domain::quiz::Attempt>> {
            let rows: Vec<$crate::store::quiz_rows::AttemptRow> = sqlx::query_as(concat!(
                $crate::store::quiz_sql::attempt_select!(),
                "WHERE ($1 IS NULL OR a.id = $1) AND ($2 IS NULL OR a.test_id = $2) AND ($3 IS NULL OR a.lesson_id = $3) ",
                "AND ($4 IS NULL OR a.student_id = $4) ",
                "AND ($5 = FALSE OR (a.submitted_at IS NULL AND a.deadline IS NOT NULL)) ",
                "ORDER BY a.started_at DESC, a.id DESC"
            ))
            .bind(filter.id.map(|i| i.0))
            .bind(filter.test.map(|t| t.0))
            .bind(filter.lesson.map(|l| l.0))
            .bind(filter.student.map(|s| s.0))
            .bind(filter.open_with_deadline)
            .fetch_all(self.pooled())
            .await?;
            rows.into_iter().map(TryInto::try_into).collect()
        }

        async fn delete_attempt(
            &self,
            taught: &$crate::policy::Taught<$crate::domain::AttemptId>,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<bool> {
            let id = taught.id();
            let mut tx = self.pool.begin_with($begin).await?;
            let done = sqlx::query("DELETE FROM attempts WHERE id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            $crate::store::sql::write_audit!(&mut *tx, audit)?;
            tx.commit().await?;
            Ok(true)
        }
    };
}

/// Inserts a test's questions and options (inside the caller's transaction `$tx`).
macro_rules! insert_questions {
    ($tx:expr, $test:expr, $questions:expr) => {
        for (position, q) in $questions.iter().enumerate() {
            let (qid,): (i64,) = sqlx::query_as(
                "INSERT INTO questions (test_id, position, text, kind) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind($test)
            .bind(i32::try_from(position).unwrap_or(i32::MAX))
            .bind(q.text)
            .bind(q.kind.as_str())
            .fetch_one(&mut *$tx)
            .await?;
            for (opos, o) in q.options.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO options (question_id, position, option_index, text, is_correct) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(qid)
                .bind(i32::try_from(opos).unwrap_or(i32::MAX))
                .bind(o.index)
                .bind(o.text)
                .bind(o.is_correct)
                .execute(&mut *$tx)
                .await?;
            }
        }
    };
}

pub(crate) use {attempt_select, insert_questions, quiz_methods};
