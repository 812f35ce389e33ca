//! The SQL of grades, shared by both backends (see `sql.rs`). Each summary and each gradebook
//! page is one statement, whatever the number of items.

macro_rules! grades_methods {
    () => {
        async fn student_grades(
            &self,
            allowed: &$crate::policy::SelfOrAdmin<$crate::domain::UserId>,
        ) -> $crate::store::StoreResult<Vec<$crate::domain::GradeItem>> {
            let student = allowed.id();
            let rows: Vec<$crate::store::grades_rows::GradeItemRow> = sqlx::query_as(concat!(
                "SELECT 'homework' AS source, s.id AS submission_id, s.lesson_id, l.title AS lesson_title, ",
                "COALESCE(l.type_label, l.kind) AS lesson_type, l.kind AS lesson_kind, ",
                "sj.id AS subject_id, sj.title AS subject_title, m.id AS module_id, ",
                "m.title AS module_title, CAST(NULL AS BIGINT) AS test_id, ",
                "CAST(s.grade AS DOUBLE PRECISION) AS grade, s.submitted_at, s.lesson_id AS place_lesson_id, ",
                $crate::store::grades_sql::lesson_has_test!(),
                " AS lesson_has_test ",
                "FROM submissions s JOIN lessons l ON l.id = s.lesson_id ",
                "JOIN subjects sj ON sj.id = l.subject_id JOIN modules m ON m.id = sj.module_id ",
                "WHERE s.student_id = $1 ",
                "UNION ALL ",
                "SELECT 'test', a.id, l.id, l.title, 'тест', l.kind, sj.id, sj.title, m.id, m.title, a.test_id, ",
                "a.score, a.submitted_at, t.lesson_id, FALSE ",
                "FROM attempts a JOIN tests t ON t.id = a.test_id ",
                "JOIN subjects sj ON sj.id = t.subject_id JOIN modules m ON m.id = sj.module_id ",
                "LEFT JOIN lessons l ON l.id = COALESCE(a.lesson_id, t.lesson_id) ",
                "WHERE a.student_id = $1 AND a.submitted_at IS NOT NULL"
            ))
            .bind(student.0)
            .fetch_all(self.pooled())
            .await?;
            rows.into_iter().map(TryInto::try_into).collect()
        }

        async fn gradebook_lessons(
            &self,
            module: $crate::domain::ModuleId,
            teacher: Option<$crate::domain::UserId>,
        ) -> $crate::store::StoreResult<Vec<$crate::domain::grades::GradebookLesson>> {
            let rows: Vec<$crate::store::grades_rows::GradebookLessonRow> = sqlx::query_as(concat!(
                "SELECT l.id AS lesson_id, l.title, l.kind AS lesson_type, sj.id AS subject_id, ",
                "sj.title AS subject_title, t.id AS test_id ",
                "FROM lessons l JOIN subjects sj ON sj.id = l.subject_id ",
                "LEFT JOIN tests t ON t.lesson_id = l.id ",
                "WHERE sj.module_id = $1 AND ($2 IS NULL OR sj.teacher_id = $2) ",
                "ORDER BY sj.title, sj.id, l.created_at, l.id"
            ))
            .bind(module.0)
            .bind(teacher.map(|t| t.0))
            .fetch_all(self.pooled())
            .await?;
            rows.into_iter().map(TryInto::try_into).collect()
        }

        async fn gradebook_page(
            &self,
            group: $crate::domain::GroupId,
            module: $crate::domain::ModuleId,
            teacher: Option<$crate::domain::UserId>,
            page: $crate::domain::Page,
        ) -> $crate::store::StoreResult<$crate::store::GradebookPage> {
            let rows: Vec<$crate::store::grades_rows::GradebookRowOut> = sqlx::query_as(concat!(
                "WITH members AS (",
                "SELECT u.id, u.iin, u.full_name FROM users u JOIN user_group ug ON ug.user_id = u.id ",
                "WHERE ug.group_id = $1 AND u.role = 'student'), ",
                "page AS (SELECT id, iin, full_name FROM members ",
                "ORDER BY COALESCE(full_name, ''), id LIMIT $4 OFFSET $5), ",
                // Materialized: worked out once for the page, not once per student (which a planner
                // without statistics on fresh tables would otherwise choose).
                "work AS MATERIALIZED (",
                "SELECT 'homework' AS source, s.student_id, s.id, s.lesson_id, CAST(NULL AS BIGINT) AS test_id, ",
                "CAST(s.grade AS DOUBLE PRECISION) AS grade, s.submitted_at, ",
                $crate::store::grades_sql::lesson_has_test!(),
                " AS lesson_has_test ",
                // From the page's students outwards: their own rows, by index, not the module's.
                "FROM page pg CROSS JOIN submissions s JOIN lessons l ON l.id = s.lesson_id ",
                "JOIN subjects sj ON sj.id = l.subject_id ",
                "WHERE s.student_id = pg.id AND sj.module_id = $2 ",
                "AND ($3 IS NULL OR sj.teacher_id = $3) ",
                "UNION ALL ",
                // A result counts in the lesson its test is linked to now (see domain::grades).
                "SELECT 'test', a.student_id, a.id, t.lesson_id, a.test_id, a.score, a.submitted_at, FALSE ",
                "FROM page pg CROSS JOIN attempts a JOIN tests t ON t.id = a.test_id ",
                "JOIN subjects sj ON sj.id = t.subject_id ",
                "WHERE a.student_id = pg.id AND a.submitted_at IS NOT NULL ",
                "AND sj.module_id = $2 AND ($3 IS NULL OR sj.teacher_id = $3)) ",
                "SELECT p.id AS student_id, p.iin, p.full_name, w.source, w.id AS work_id, w.lesson_id, ",
                "w.grade, w.submitted_at, w.lesson_has_test, (SELECT COUNT(*) FROM members) AS total ",
                "FROM page p LEFT JOIN work w ON w.student_id = p.id ",
                "ORDER BY COALESCE(p.full_name, ''), p.id"
            ))
            .bind(group.0)
            .bind(module.0)
            .bind(teacher.map(|t| t.0))
            .bind(page.limit())
            .bind(page.offset())
            .fetch_all(self.pooled())
            .await?;
            if rows.is_empty() && page.offset() > 0 {
                // Past the last page: the count still matters.
                let (total,): (i64,) = sqlx::query_as(concat!(
                    "SELECT COUNT(*) FROM users u JOIN user_group ug ON ug.user_id = u.id ",
                    "WHERE ug.group_id = $1 AND u.role = 'student'"
                ))
                .bind(group.0)
                .fetch_one(self.pooled())
                .await?;
                return Ok($crate::store::GradebookPage {
                    total,
                    ..Default::default()
                });
            }
            $crate::store::grades_rows::assemble_page(rows)
        }
    };
}

/// Whether the lesson of submission `s` has a test linked now: its cell is then the test's.
macro_rules! lesson_has_test {
    () => {
        "EXISTS (SELECT 1 FROM tests lt WHERE lt.lesson_id = s.lesson_id)"
    };
}

pub(crate) use {grades_methods, lesson_has_test};
