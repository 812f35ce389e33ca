//! The SQL of lessons, stored files and homework, shared by both backends (see `sql.rs`).

/// Columns of a submission with its student's name, for `SubmissionRow`.
macro_rules! submission_select {
    () => {
        concat!(
            "SELECT s.id, s.lesson_id, s.student_id, u.full_name AS student_name, u.iin AS student_iin, ",
            "s.comment, s.grade, s.feedback, s.graded_by, s.graded_at, s.submitted_at ",
            "FROM submissions s JOIN users u ON u.id = s.student_id ",
            "WHERE ($1 IS NULL OR s.id = $1) AND ($2 IS NULL OR s.lesson_id = $2) AND ($3 IS NULL OR s.student_id = $3) "
        )
    };
}

/// Storage keys of the files a deletion takes with it; `$1` is the owner's id.
macro_rules! files_of_sql {
    (lesson) => {
        concat!(
            "SELECT storage_key FROM lesson_files WHERE lesson_id = $1 ",
            "UNION ALL SELECT f.storage_key FROM submission_files f JOIN submissions s ON s.id = f.submission_id ",
            "WHERE s.lesson_id = $1"
        )
    };
    (subject) => {
        concat!(
            "SELECT lf.storage_key FROM lesson_files lf JOIN lessons l ON l.id = lf.lesson_id WHERE l.subject_id = $1 ",
            "UNION ALL SELECT f.storage_key FROM submission_files f JOIN submissions s ON s.id = f.submission_id ",
            "JOIN lessons l ON l.id = s.lesson_id WHERE l.subject_id = $1"
        )
    };
    (module) => {
        concat!(
            "SELECT lf.storage_key FROM lesson_files lf JOIN lessons l ON l.id = lf.lesson_id ",
            "JOIN subjects sj ON sj.id = l.subject_id WHERE sj.module_id = $1 ",
            "UNION ALL SELECT f.storage_key FROM submission_files f JOIN submissions s ON s.id = f.submission_id ",
            "JOIN lessons l ON l.id = s.lesson_id JOIN subjects sj ON sj.id = l.subject_id WHERE sj.module_id = $1"
        )
    };
    (user) => {
        concat!(
            "SELECT photo FROM users WHERE id = $1 AND photo IS NOT NULL ",
            "UNION ALL SELECT f.storage_key FROM submission_files f JOIN submissions s ON s.id = f.submission_id ",
            "WHERE s.student_id = $1"
        )
    };
    (group_members) => {
        concat!(
            "SELECT u.photo FROM users u JOIN user_group ug ON ug.user_id = u.id ",
            "WHERE ug.group_id = $1 AND u.role <> 'admin' AND u.photo IS NOT NULL ",
            "UNION ALL SELECT f.storage_key FROM submission_files f JOIN submissions s ON s.id = f.submission_id ",
            "JOIN users u ON u.id = s.student_id JOIN user_group ug ON ug.user_id = u.id ",
            "WHERE ug.group_id = $1 AND u.role <> 'admin'"
        )
    };
    (submission) => {
        "SELECT storage_key FROM submission_files WHERE submission_id = $1"
    };
}

macro_rules! files_methods {
    (begin_write = $begin:literal, for_update = $for_update:literal) => {
        async fn insert_lesson(
            &self,
            _subject: &$crate::policy::Taught<$crate::domain::SubjectId>,
            lesson: &$crate::store::NewLessonRow<'_>,
            now: chrono::DateTime<chrono::Utc>,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<$crate::domain::Lesson> {
            let mut tx = self.pool.begin_with($begin).await?;
            let (id,): (i64,) = sqlx::query_as(concat!(
                "INSERT INTO lessons (subject_id, title, kind, type_label, description, content_url, created_at) ",
                "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
            ))
            .bind(lesson.subject.0)
            .bind(lesson.title)
            .bind(lesson.kind.as_str())
            .bind(lesson.label)
            .bind(lesson.description)
            .bind(lesson.content_url)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            if let Some(test) = lesson.link_test {
                let linked = sqlx::query("UPDATE tests SET lesson_id = $2 WHERE id = $1 AND lesson_id IS NULL")
                    .bind(test.0)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                if linked.rows_affected() == 0 {
                    // Dropping the transaction rolls the lesson back.
                    return Err($crate::error::StoreError::Conflict {
                        constraint: "tests_lesson_id_key".into(),
                    });
                }
            }
            if let Some(key) = lesson.attach {
                let attached =
                    sqlx::query("UPDATE lesson_files SET lesson_id = $2 WHERE storage_key = $1 AND lesson_id IS NULL")
                        .bind(key)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                if attached.rows_affected() == 0 {
                    // Another lesson took the document meanwhile; dropping the transaction rolls back.
                    return Err($crate::error::StoreError::Conflict {
                        constraint: "lesson_files_lesson_id".into(),
                    });
                }
            }
            $crate::store::sql::write_audit!(&mut *tx, &audit.for_id(id))?;
            tx.commit().await?;
            self.lesson($crate::domain::LessonId(id))
                .await?
                .ok_or($crate::error::StoreError::NotFound)
        }

        async fn update_lesson(
            &self,
            taught: &$crate::policy::Taught<$crate::domain::LessonId>,
            lesson: &$crate::store::NewLessonRow<'_>,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<($crate::domain::Lesson, Vec<String>)> {
            let id = taught.id();
            let mut tx = self.pool.begin_with($begin).await?;
            let done = sqlx::query(concat!(
                "UPDATE lessons SET title = $2, kind = $3, type_label = $4, description = $5, content_url = $6 ",
                "WHERE id = $1"
            ))
            .bind(id.0)
            .bind(lesson.title)
            .bind(lesson.kind.as_str())
            .bind(lesson.label)
            .bind(lesson.description)
            .bind(lesson.content_url)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err($crate::error::StoreError::NotFound);
            }
            if lesson.kind == $crate::domain::LessonKind::Test || lesson.link_test.is_some() {
                let (homework,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM submissions WHERE lesson_id = $1")
                    .bind(id.0)
                    .fetch_one(&mut *tx)
                    .await?;
                if homework > 0 {
                    return Err($crate::error::StoreError::Conflict {
                        constraint: "homework".into(),
                    });
                }
            }
            sqlx::query("UPDATE tests SET lesson_id = NULL WHERE lesson_id = $1 AND id <> $2")
                .bind(id.0)
                .bind(lesson.link_test.map_or(0, |t| t.0))
                .execute(&mut *tx)
                .await?;
            if let Some(test) = lesson.link_test {
                let linked = sqlx::query(
                    "UPDATE tests SET lesson_id = $2 WHERE id = $1 AND (lesson_id IS NULL OR lesson_id = $2)",
                )
                .bind(test.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
                if linked.rows_affected() == 0 {
                    return Err($crate::error::StoreError::Conflict {
                        constraint: "tests_lesson_id_key".into(),
                    });
                }
            }
            let replaced: Vec<(String,)> =
                sqlx::query_as("DELETE FROM lesson_files WHERE lesson_id = $1 AND storage_key <> $2 RETURNING storage_key")
                    .bind(id.0)
                    .bind(lesson.attach.unwrap_or(""))
                    .fetch_all(&mut *tx)
                    .await?;
            if let Some(key) = lesson.attach {
                let attached = sqlx::query(
                    "UPDATE lesson_files SET lesson_id = $2 WHERE storage_key = $1 AND (lesson_id IS NULL OR lesson_id = $2)",
                )
                .bind(key)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
                if attached.rows_affected() == 0 {
                    return Err($crate::error::StoreError::Conflict {
                        constraint: "lesson_files_lesson_id".into(),
                    });
                }
            }
            $crate::store::sql::write_audit!(&mut *tx, audit)?;
            tx.commit().await?;
            let updated = self.lesson(id).await?.ok_or($crate::error::StoreError::NotFound)?;
            Ok((updated, replaced.into_iter().map(|(k,)| k).collect()))
        }

        async fn delete_lesson(
            &self,
            taught: &$crate::policy::Taught<$crate::domain::LessonId>,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<bool> {
            let id = taught.id();
            let mut tx = self.pool.begin_with($begin).await?;
            let done = sqlx::query("DELETE FROM lessons WHERE id = $1")
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

        async fn files_of(
            &self,
            of: $crate::domain::FilesOf,
        ) -> $crate::store::StoreResult<Vec<String>> {
            use $crate::domain::FilesOf;
            let (sql, id) = match of {
                FilesOf::Lesson(id) => ($crate::store::files_sql::files_of_sql!(lesson), id.0),
                FilesOf::Subject(id) => ($crate::store::files_sql::files_of_sql!(subject), id.0),
                FilesOf::Module(id) => ($crate::store::files_sql::files_of_sql!(module), id.0),
                FilesOf::User(id) => ($crate::store::files_sql::files_of_sql!(user), id.0),
                FilesOf::GroupMembers(id) => ($crate::store::files_sql::files_of_sql!(group_members), id.0),
                FilesOf::Submission(id) => ($crate::store::files_sql::files_of_sql!(submission), id.0),
            };
            let keys: Vec<(String,)> = sqlx::query_as(sql).bind(id).fetch_all(self.pooled()).await?;
            Ok(keys.into_iter().map(|(k,)| k).collect())
        }

        async fn insert_lesson_file(
            &self,
            file: &$crate::files::StoredFile,
            uploader: &$crate::policy::Staff,
            now: chrono::DateTime<chrono::Utc>,
        ) -> $crate::store::StoreResult<()> {
            let uploaded_by = uploader.id();
            sqlx::query(concat!(
                "INSERT INTO lesson_files (storage_key, uploaded_by, original_name, size, content_type, created_at) ",
                "VALUES ($1, $2, $3, $4, $5, $6)"
            ))
            .bind(file.key.as_str())
            .bind(uploaded_by.0)
            .bind(&file.original_name)
            .bind(i64::try_from(file.size).unwrap_or(i64::MAX))
            .bind(&file.content_type)
            .bind(now)
            .execute(self.pooled())
            .await?;
            Ok(())
        }

        async fn file_owner(
            &self,
            key: &str,
        ) -> $crate::store::StoreResult<Option<($crate::domain::FileOwner, $crate::store::FileMeta)>> {
            use $crate::domain::{FileOwner, LessonId, UserId};
            let lesson: Option<(Option<i64>, Option<i64>, String, i64, String)> = sqlx::query_as(
                "SELECT lesson_id, uploaded_by, original_name, size, content_type FROM lesson_files WHERE storage_key = $1",
            )
            .bind(key)
            .fetch_optional(self.pooled())
            .await?;
            if let Some((lesson, by, name, size, content_type)) = lesson {
                let owner = FileOwner::LessonDocument {
                    lesson: lesson.map(LessonId),
                    uploaded_by: by.map(UserId),
                };
                return Ok(Some((owner, $crate::store::FileMeta { name, size, content_type })));
            }
            let homework: Option<(i64, i64, String, i64, String)> = sqlx::query_as(concat!(
                "SELECT s.lesson_id, s.student_id, f.original_name, f.size, f.content_type ",
                "FROM submission_files f JOIN submissions s ON s.id = f.submission_id WHERE f.storage_key = $1"
            ))
            .bind(key)
            .fetch_optional(self.pooled())
            .await?;
            Ok(homework.map(|(lesson, student, name, size, content_type)| {
                (
                    FileOwner::Homework {
                        lesson: LessonId(lesson),
                        student: UserId(student),
                    },
                    $crate::store::FileMeta { name, size, content_type },
                )
            }))
        }

        async fn referenced_keys(&self) -> $crate::store::StoreResult<Vec<String>> {
            let keys: Vec<(String,)> = sqlx::query_as(concat!(
                "SELECT storage_key FROM lesson_files UNION ALL SELECT storage_key FROM submission_files ",
                "UNION ALL SELECT photo FROM users WHERE photo IS NOT NULL"
            ))
            .fetch_all(self.pooled())
            .await?;
            Ok(keys.into_iter().map(|(k,)| k).collect())
        }

        async fn legacy_file_keys(&self) -> $crate::store::StoreResult<Vec<String>> {
            let keys: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT storage_key FROM legacy_files")
                .fetch_all(self.pooled())
                .await?;
            Ok(keys.into_iter().map(|(k,)| k).collect())
        }

        async fn forget_files(&self, keys: &[String]) -> $crate::store::StoreResult<u64> {
            let mut tx = self.pool.begin_with($begin).await?;
            let mut n = 0;
            for key in keys {
                n += sqlx::query("DELETE FROM lesson_files WHERE storage_key = $1")
                    .bind(key)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                n += sqlx::query("DELETE FROM submission_files WHERE storage_key = $1")
                    .bind(key)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                n += sqlx::query("UPDATE users SET photo = NULL WHERE photo = $1")
                    .bind(key)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            tx.commit().await?;
            Ok(n)
        }

        async fn insert_submission(
            &self,
            by: &$crate::policy::Enrolled<$crate::domain::LessonId>,
            comment: Option<&str>,
            files: &[$crate::files::StoredFile],
            now: chrono::DateTime<chrono::Utc>,
        ) -> $crate::store::StoreResult<$crate::domain::Submission> {
            let (lesson, student) = (by.id(), by.student());
            let mut tx = self.pool.begin_with($begin).await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO submissions (lesson_id, student_id, comment, submitted_at) VALUES ($1, $2, $3, $4) RETURNING id",
            )
            .bind(lesson.0)
            .bind(student.0)
            .bind(comment)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            for f in files {
                sqlx::query(concat!(
                    "INSERT INTO submission_files (submission_id, storage_key, original_name, size, content_type) ",
                    "VALUES ($1, $2, $3, $4, $5)"
                ))
                .bind(id)
                .bind(f.key.as_str())
                .bind(&f.original_name)
                .bind(i64::try_from(f.size).unwrap_or(i64::MAX))
                .bind(&f.content_type)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            self.submission($crate::domain::SubmissionId(id))
                .await?
                .ok_or($crate::error::StoreError::NotFound)
        }

        async fn submission(
            &self,
            id: $crate::domain::SubmissionId,
        ) -> $crate::store::StoreResult<Option<$crate::domain::Submission>> {
            let mut found = self.select_submissions(Some(id.0), None, None).await?;
            Ok(found.pop())
        }

        async fn submissions(
            &self,
            filter: &$crate::domain::SubmissionFilter,
        ) -> $crate::store::StoreResult<Vec<$crate::domain::Submission>> {
            let all = self
                .select_submissions(None, filter.lesson.map(|l| l.0), filter.student.map(|s| s.0))
                .await?;
            Ok(match &filter.name_contains {
                Some(part) => {
                    let part = part.to_lowercase();
                    all.into_iter()
                        .filter(|s| s.student_name.to_lowercase().contains(&part))
                        .collect()
                }
                None => all,
            })
        }

        async fn delete_submission(
            &self,
            proof: &$crate::policy::OwnOrTaught<$crate::domain::SubmissionId>,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<bool> {
            let id = proof.id();
            let mut tx = self.pool.begin_with($begin).await?;
            let done = sqlx::query("DELETE FROM submissions WHERE id = $1")
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

        async fn grade_submission(
            &self,
            taught: &$crate::policy::Taught<$crate::domain::SubmissionId>,
            grade: i32,
            feedback: Option<&str>,
            by: $crate::domain::UserId,
            now: chrono::DateTime<chrono::Utc>,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<Option<Option<i32>>> {
            let id = taught.id();
            let mut tx = self.pool.begin_with($begin).await?;
            let old: Option<(Option<i32>,)> =
                sqlx::query_as(concat!("SELECT grade FROM submissions WHERE id = $1", $for_update))
                    .bind(id.0)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((old,)) = old else {
                return Ok(None);
            };
            sqlx::query("UPDATE submissions SET grade = $2, feedback = $3, graded_by = $4, graded_at = $5 WHERE id = $1")
                .bind(id.0)
                .bind(grade)
                .bind(feedback)
                .bind(by.0)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            // The grade it replaces is known only here, under the row lock.
            let entry = $crate::store::AuditEntry {
                before: Some(serde_json::json!({ "grade": old })),
                ..audit.clone()
            };
            $crate::store::sql::write_audit!(&mut *tx, &entry)?;
            tx.commit().await?;
            Ok(Some(old))
        }
    };
}

/// Inherent helpers of the SQL stores for the methods above.
macro_rules! files_helpers {
    () => {
        async fn select_submissions(
            &self,
            id: Option<i64>,
            lesson: Option<i64>,
            student: Option<i64>,
        ) -> $crate::store::StoreResult<Vec<$crate::domain::Submission>> {
            let rows: Vec<$crate::store::files_rows::SubmissionRow> = sqlx::query_as(concat!(
                $crate::store::files_sql::submission_select!(),
                "ORDER BY s.submitted_at DESC, s.id DESC"
            ))
            .bind(id)
            .bind(lesson)
            .bind(student)
            .fetch_all(self.pooled())
            .await?;
            let files: Vec<$crate::store::files_rows::SubmissionFileRow> = sqlx::query_as(concat!(
                "SELECT f.id, f.submission_id, f.storage_key, f.original_name, f.size, f.content_type ",
                "FROM submission_files f WHERE f.submission_id IN (SELECT s.id FROM (",
                $crate::store::files_sql::submission_select!(),
                ") s) ORDER BY f.id"
            ))
            .bind(id)
            .bind(lesson)
            .bind(student)
            .fetch_all(self.pooled())
            .await?;
            Ok($crate::store::files_rows::assemble(rows, files))
        }
    };
}

pub(crate) use {files_helpers, files_methods, files_of_sql, submission_select};
