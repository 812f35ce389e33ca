//! The SQL of the academic structure, shared by both backends (see `sql.rs`).

macro_rules! academic_methods {
    (begin_write = $begin:literal) => {
        async fn insert_group(
            &self,
            _admin: &$crate::policy::Admin,
            name: &str,
            description: Option<&str>,
            now: chrono::DateTime<chrono::Utc>,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<$crate::domain::Group> {
            let mut tx = self.pool.begin_with($begin).await?;
            let (id,): (i64,) =
                sqlx::query_as("INSERT INTO groups (name, description, created_at) VALUES ($1, $2, $3) RETURNING id")
                    .bind(name)
                    .bind(description)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?;
            $crate::store::sql::write_audit!(&mut *tx, &audit.for_id(id))?;
            tx.commit().await?;
            self.group($crate::domain::GroupId(id))
                .await?
                .ok_or($crate::error::StoreError::NotFound)
        }

        async fn group(
            &self,
            id: $crate::domain::GroupId,
        ) -> $crate::store::StoreResult<Option<$crate::domain::Group>> {
            let row: Option<$crate::store::academic_rows::GroupRow> = sqlx::query_as(concat!(
                "SELECT g.id, g.name, g.description, g.created_at, ",
                "(SELECT COUNT(*) FROM user_group ug WHERE ug.group_id = g.id) AS member_count ",
                "FROM groups g WHERE g.id = $1"
            ))
            .bind(id.0)
            .fetch_optional(self.pooled())
            .await?;
            Ok(row.map(Into::into))
        }

        async fn update_group(
            &self,
            _admin: &$crate::policy::Admin,
            id: $crate::domain::GroupId,
            name: &str,
            description: Option<&str>,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<Option<$crate::domain::Group>> {
            let mut tx = self.pool.begin_with($begin).await?;
            let done = sqlx::query("UPDATE groups SET name = $2, description = $3 WHERE id = $1")
                .bind(id.0)
                .bind(name)
                .bind(description)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(None);
            }
            let entry = $crate::store::AuditEntry {
                after: Some(serde_json::json!({"name": name, "description": description})),
                ..audit.clone()
            };
            $crate::store::sql::write_audit!(&mut *tx, &entry)?;
            tx.commit().await?;
            self.group(id).await
        }

        async fn move_members(
            &self,
            _admin: &$crate::policy::Admin,
            from: $crate::domain::GroupId,
            to: $crate::domain::GroupId,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<u64> {
            let mut tx = self.pool.begin_with($begin).await?;
            sqlx::query(concat!(
                "INSERT INTO user_group (user_id, group_id) ",
                "SELECT user_id, $2 FROM user_group WHERE group_id = $1 ON CONFLICT DO NOTHING"
            ))
            .bind(from.0)
            .bind(to.0)
            .execute(&mut *tx)
            .await?;
            let moved = sqlx::query("DELETE FROM user_group WHERE group_id = $1")
                .bind(from.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let entry = $crate::store::AuditEntry {
                after: Some(serde_json::json!({"to": to.0, "moved": moved})),
                ..audit.clone()
            };
            $crate::store::sql::write_audit!(&mut *tx, &entry)?;
            tx.commit().await?;
            Ok(moved)
        }

        async fn group_by_name(&self, name: &str) -> $crate::store::StoreResult<Option<$crate::domain::Group>> {
            let row: Option<$crate::store::academic_rows::GroupRow> = sqlx::query_as(concat!(
                "SELECT g.id, g.name, g.description, g.created_at, ",
                "(SELECT COUNT(*) FROM user_group ug WHERE ug.group_id = g.id) AS member_count ",
                "FROM groups g WHERE g.name = $1"
            ))
            .bind(name)
            .fetch_optional(self.pooled())
            .await?;
            Ok(row.map(Into::into))
        }

        async fn list_groups(
            &self,
            page: $crate::domain::Page,
        ) -> $crate::store::StoreResult<(Vec<$crate::domain::Group>, i64)> {
            let rows: Vec<$crate::store::academic_rows::GroupRow> = sqlx::query_as(concat!(
                "SELECT g.id, g.name, g.description, g.created_at, ",
                "(SELECT COUNT(*) FROM user_group ug WHERE ug.group_id = g.id) AS member_count ",
                "FROM groups g ORDER BY g.id LIMIT $1 OFFSET $2"
            ))
            .bind(page.list_limit())
            .bind(page.offset())
            .fetch_all(self.pooled())
            .await?;
            let (total,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM groups")
                .fetch_one(self.pooled())
                .await?;
            Ok((rows.into_iter().map(Into::into).collect(), total))
        }

        async fn delete_group(
            &self,
            _admin: &$crate::policy::Admin,
            id: $crate::domain::GroupId,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<bool> {
            let mut tx = self.pool.begin_with($begin).await?;
            let done = sqlx::query("DELETE FROM groups WHERE id = $1")
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

        async fn delete_group_with_users(
            &self,
            _admin: &$crate::policy::Admin,
            id: $crate::domain::GroupId,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<Option<u64>> {
            let mut tx = self.pool.begin_with($begin).await?;
            let exists: Option<(i64,)> = sqlx::query_as("SELECT id FROM groups WHERE id = $1")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Ok(None);
            }
            let users = sqlx::query(concat!(
                "DELETE FROM users WHERE role <> 'admin' AND id IN ",
                "(SELECT user_id FROM user_group WHERE group_id = $1)"
            ))
            .bind(id.0)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM groups WHERE id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            let entry = $crate::store::AuditEntry {
                after: Some(serde_json::json!({"users": users.rows_affected()})),
                ..audit.clone()
            };
            $crate::store::sql::write_audit!(&mut *tx, &entry)?;
            tx.commit().await?;
            Ok(Some(users.rows_affected()))
        }

        async fn add_members(
            &self,
            _admin: &$crate::policy::Admin,
            group: $crate::domain::GroupId,
            users: &[$crate::domain::UserId],
        ) -> $crate::store::StoreResult<u64> {
            let mut tx = self.pool.begin_with($begin).await?;
            let mut added = 0;
            for user in users {
                let done =
                    sqlx::query("INSERT INTO user_group (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(user.0)
                        .bind(group.0)
                        .execute(&mut *tx)
                        .await?;
                added += done.rows_affected();
            }
            tx.commit().await?;
            Ok(added)
        }

        async fn members(
            &self,
            group: $crate::domain::GroupId,
        ) -> $crate::store::StoreResult<Vec<$crate::domain::User>> {
            let rows: Vec<$crate::store::rows::UserRow> = sqlx::query_as(concat!(
                "SELECT u.id, u.iin, u.full_name, u.phone, u.role, u.password_hash, u.photo, ",
                "u.must_change_password, u.token_version, u.created_at, u.suspended_at ",
                "FROM users u JOIN user_group ug ON ug.user_id = u.id WHERE ug.group_id = $1 ORDER BY u.full_name, u.id"
            ))
            .bind(group.0)
            .fetch_all(self.pooled())
            .await?;
            rows.into_iter().map(TryInto::try_into).collect()
        }

        async fn remove_member(
            &self,
            _admin: &$crate::policy::Admin,
            group: $crate::domain::GroupId,
            user: $crate::domain::UserId,
        ) -> $crate::store::StoreResult<bool> {
            let done = sqlx::query("DELETE FROM user_group WHERE group_id = $1 AND user_id = $2")
                .bind(group.0)
                .bind(user.0)
                .execute(self.pooled())
                .await?;
            Ok(done.rows_affected() > 0)
        }

        async fn insert_module(
            &self,
            _admin: &$crate::policy::Admin,
            m: &$crate::domain::NewModule,
            now: chrono::DateTime<chrono::Utc>,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<$crate::domain::Module> {
            let mut tx = self.pool.begin_with($begin).await?;
            let row: $crate::store::academic_rows::ModuleRow = sqlx::query_as(concat!(
                "INSERT INTO modules (title, course, description, created_at) VALUES ($1, $2, $3, $4) ",
                "RETURNING id, title, course, description, created_at"
            ))
            .bind(&m.title)
            .bind(&m.course)
            .bind(&m.description)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            $crate::store::sql::write_audit!(&mut *tx, &audit.for_id(row.id))?;
            tx.commit().await?;
            Ok(row.into())
        }

        async fn module(
            &self,
            id: $crate::domain::ModuleId,
        ) -> $crate::store::StoreResult<Option<$crate::domain::Module>> {
            let row: Option<$crate::store::academic_rows::ModuleRow> =
                sqlx::query_as("SELECT id, title, course, description, created_at FROM modules WHERE id = $1")
                    .bind(id.0)
                    .fetch_optional(self.pooled())
                    .await?;
            Ok(row.map(Into::into))
        }

        async fn update_module(
            &self,
            _admin: &$crate::policy::Admin,
            m: &$crate::domain::Module,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<$crate::domain::Module> {
            let mut tx = self.pool.begin_with($begin).await?;
            let row: $crate::store::academic_rows::ModuleRow = sqlx::query_as(concat!(
                "UPDATE modules SET title = $2, course = $3, description = $4 WHERE id = $1 ",
                "RETURNING id, title, course, description, created_at"
            ))
            .bind(m.id.0)
            .bind(&m.title)
            .bind(&m.course)
            .bind(&m.description)
            .fetch_one(&mut *tx)
            .await?;
            let updated: $crate::domain::Module = row.into();
            let entry = $crate::store::AuditEntry {
                after: serde_json::to_value(&updated).ok(),
                ..audit.clone()
            };
            $crate::store::sql::write_audit!(&mut *tx, &entry)?;
            tx.commit().await?;
            Ok(updated)
        }

        async fn delete_module(
            &self,
            _admin: &$crate::policy::Admin,
            id: $crate::domain::ModuleId,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<bool> {
            let mut tx = self.pool.begin_with($begin).await?;
            let done = sqlx::query("DELETE FROM modules WHERE id = $1")
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

        async fn insert_subject(
            &self,
            _admin: &$crate::policy::Admin,
            module: $crate::domain::ModuleId,
            title: &str,
        ) -> $crate::store::StoreResult<$crate::domain::Subject> {
            let (id,): (i64,) =
                sqlx::query_as("INSERT INTO subjects (module_id, title, title_key) VALUES ($1, $2, $3) RETURNING id")
                    .bind(module.0)
                    .bind(title)
                    .bind($crate::domain::title_key(title))
                    .fetch_one(self.pooled())
                    .await?;
            self.subject($crate::domain::SubjectId(id))
                .await?
                .ok_or($crate::error::StoreError::NotFound)
        }

        async fn subject(
            &self,
            id: $crate::domain::SubjectId,
        ) -> $crate::store::StoreResult<Option<$crate::domain::Subject>> {
            let row: Option<$crate::store::academic_rows::SubjectRow> = sqlx::query_as(concat!(
                "SELECT s.id, s.module_id, s.title, s.teacher_id, u.full_name AS teacher_name, u.iin AS teacher_iin ",
                "FROM subjects s LEFT JOIN users u ON u.id = s.teacher_id WHERE s.id = $1"
            ))
            .bind(id.0)
            .fetch_optional(self.pooled())
            .await?;
            Ok(row.map(Into::into))
        }

        async fn rename_subject(
            &self,
            _admin: &$crate::policy::Admin,
            id: $crate::domain::SubjectId,
            title: &str,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<Option<$crate::domain::Subject>> {
            let mut tx = self.pool.begin_with($begin).await?;
            let done = sqlx::query("UPDATE subjects SET title = $2, title_key = $3 WHERE id = $1")
                .bind(id.0)
                .bind(title)
                .bind($crate::domain::title_key(title))
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(None);
            }
            let entry = $crate::store::AuditEntry {
                after: Some(serde_json::json!({"title": title})),
                ..audit.clone()
            };
            $crate::store::sql::write_audit!(&mut *tx, &entry)?;
            tx.commit().await?;
            self.subject(id).await
        }

        async fn delete_subject(
            &self,
            _admin: &$crate::policy::Admin,
            id: $crate::domain::SubjectId,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<bool> {
            let mut tx = self.pool.begin_with($begin).await?;
            let done = sqlx::query("DELETE FROM subjects WHERE id = $1")
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

        async fn set_subject_teacher(
            &self,
            _admin: &$crate::policy::Admin,
            subject: $crate::domain::SubjectId,
            teacher: Option<$crate::domain::UserId>,
            audit: &$crate::store::AuditEntry,
        ) -> $crate::store::StoreResult<bool> {
            let mut tx = self.pool.begin_with($begin).await?;
            let changed = sqlx::query("UPDATE subjects SET teacher_id = $2 WHERE id = $1")
                .bind(subject.0)
                .bind(teacher.map(|t| t.0))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed == 0 {
                return Ok(false);
            }
            $crate::store::sql::write_audit!(&mut *tx, audit)?;
            tx.commit().await?;
            Ok(true)
        }

        async fn link_group_module(
            &self,
            _admin: &$crate::policy::Admin,
            module: $crate::domain::ModuleId,
            group: $crate::domain::GroupId,
        ) -> $crate::store::StoreResult<bool> {
            let done =
                sqlx::query("INSERT INTO module_group (module_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(module.0)
                    .bind(group.0)
                    .execute(self.pooled())
                    .await?;
            Ok(done.rows_affected() > 0)
        }

        async fn unlink_group_module(
            &self,
            _admin: &$crate::policy::Admin,
            module: $crate::domain::ModuleId,
            group: $crate::domain::GroupId,
        ) -> $crate::store::StoreResult<bool> {
            let done = sqlx::query("DELETE FROM module_group WHERE module_id = $1 AND group_id = $2")
                .bind(module.0)
                .bind(group.0)
                .execute(self.pooled())
                .await?;
            Ok(done.rows_affected() > 0)
        }

        async fn module_groups(
            &self,
            module: $crate::domain::ModuleId,
        ) -> $crate::store::StoreResult<Vec<$crate::domain::Group>> {
            let rows: Vec<$crate::store::academic_rows::GroupRow> = sqlx::query_as(concat!(
                "SELECT g.id, g.name, g.description, g.created_at, ",
                "(SELECT COUNT(*) FROM user_group ug WHERE ug.group_id = g.id) AS member_count ",
                "FROM groups g JOIN module_group mg ON mg.group_id = g.id WHERE mg.module_id = $1 ORDER BY g.id"
            ))
            .bind(module.0)
            .fetch_all(self.pooled())
            .await?;
            Ok(rows.into_iter().map(Into::into).collect())
        }

        async fn module_teachers(
            &self,
            module: $crate::domain::ModuleId,
        ) -> $crate::store::StoreResult<Vec<$crate::domain::TeacherRef>> {
            let rows: Vec<(i64, String, String)> = sqlx::query_as(concat!(
                "SELECT u.id, u.full_name, u.iin FROM users u WHERE u.id IN ",
                "(SELECT teacher_id FROM subjects WHERE module_id = $1 AND teacher_id IS NOT NULL ",
                "UNION SELECT teacher_id FROM teacher_module WHERE module_id = $1) ",
                "ORDER BY u.full_name, u.id"
            ))
            .bind(module.0)
            .fetch_all(self.pooled())
            .await?;
            Ok(rows
                .into_iter()
                .map(|(id, full_name, iin)| $crate::domain::TeacherRef {
                    id: $crate::domain::UserId(id),
                    full_name,
                    iin,
                })
                .collect())
        }

        async fn module_links(
            &self,
        ) -> $crate::store::StoreResult<Vec<($crate::domain::ModuleId, $crate::domain::Group)>> {
            #[derive(sqlx::FromRow)]
            struct Link {
                module_id: i64,
                #[sqlx(flatten)]
                group: $crate::store::academic_rows::GroupRow,
            }
            let rows: Vec<Link> = sqlx::query_as(concat!(
                "SELECT mg.module_id, g.id, g.name, g.description, g.created_at, ",
                "(SELECT COUNT(*) FROM user_group ug WHERE ug.group_id = g.id) AS member_count ",
                "FROM module_group mg JOIN groups g ON g.id = mg.group_id ORDER BY mg.module_id, g.id"
            ))
            .fetch_all(self.pooled())
            .await?;
            Ok(rows
                .into_iter()
                .map(|l| ($crate::domain::ModuleId(l.module_id), l.group.into()))
                .collect())
        }

        async fn module_trees_for(
            &self,
            scope: $crate::domain::ModuleScope,
            only: Option<$crate::domain::ModuleId>,
            reader: Option<$crate::domain::UserId>,
        ) -> $crate::store::StoreResult<Vec<$crate::domain::ModuleTree>> {
            use $crate::store::academic_rows::{
                LessonRow, ModuleRow, SubjectRow, assemble, lessons_with_results, scope_condition,
            };
            let (cond, binds) = scope_condition(scope, "m.id", only);
            let mut q = sqlx::query_as::<_, ModuleRow>(sqlx::AssertSqlSafe(format!(
                "SELECT m.id, m.title, m.course, m.description, m.created_at FROM modules m WHERE {cond} ORDER BY m.id"
            )));
            for b in &binds {
                q = q.bind(*b);
            }
            let modules = q.fetch_all(self.pooled()).await?;
            if modules.is_empty() {
                return Ok(Vec::new());
            }
            let (cond, binds) = scope_condition(scope, "s.module_id", only);
            let mut q = sqlx::query_as::<_, SubjectRow>(sqlx::AssertSqlSafe(format!(
                "SELECT s.id, s.module_id, s.title, s.teacher_id, u.full_name AS teacher_name, u.iin AS teacher_iin \
                 FROM subjects s LEFT JOIN users u ON u.id = s.teacher_id WHERE {cond} ORDER BY s.id"
            )));
            for b in &binds {
                q = q.bind(*b);
            }
            let subjects = q.fetch_all(self.pooled()).await?;
            // The reader's results come with the lessons: no statement per lesson, nor one more.
            let reader_param = format!("${}", binds.len() + 1);
            let mut q = sqlx::query_as::<_, LessonRow>(sqlx::AssertSqlSafe(lessons_with_results(&cond, &reader_param)));
            for b in &binds {
                q = q.bind(*b);
            }
            let lessons = q.bind(reader.map(|r| r.0)).fetch_all(self.pooled()).await?;
            assemble(modules, subjects, lessons)
        }

        async fn module_visible(
            &self,
            scope: $crate::domain::ModuleScope,
            module: $crate::domain::ModuleId,
        ) -> $crate::store::StoreResult<bool> {
            let (cond, binds) = $crate::store::academic_rows::scope_condition(scope, "m.id", Some(module));
            let mut q = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(format!(
                "SELECT m.id FROM modules m WHERE {cond}"
            )));
            for b in &binds {
                q = q.bind(*b);
            }
            Ok(q.fetch_optional(self.pooled()).await?.is_some())
        }

        async fn lesson_for(
            &self,
            id: $crate::domain::LessonId,
            reader: Option<$crate::domain::UserId>,
        ) -> $crate::store::StoreResult<Option<$crate::domain::Lesson>> {
            let sql = $crate::store::academic_rows::lessons_with_results("l.id = $1", "$2");
            let row: Option<$crate::store::academic_rows::LessonRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id.0)
                .bind(reader.map(|r| r.0))
                .fetch_optional(self.pooled())
                .await?;
            row.map(TryInto::try_into).transpose()
        }

        async fn subject_lessons(
            &self,
            subject: $crate::domain::SubjectId,
            reader: Option<$crate::domain::UserId>,
        ) -> $crate::store::StoreResult<Vec<$crate::domain::Lesson>> {
            let sql = $crate::store::academic_rows::lessons_with_results("l.subject_id = $1", "$2");
            let rows: Vec<$crate::store::academic_rows::LessonRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(subject.0)
                .bind(reader.map(|r| r.0))
                .fetch_all(self.pooled())
                .await?;
            rows.into_iter().map(TryInto::try_into).collect()
        }

        async fn legacy_file(&self, path: &str) -> $crate::store::StoreResult<Option<String>> {
            let row: Option<(String,)> = sqlx::query_as("SELECT storage_key FROM legacy_files WHERE path = $1")
                .bind(path)
                .fetch_optional(self.pooled())
                .await?;
            Ok(row.map(|(key,)| key))
        }

        async fn record_legacy_file(&self, path: &str, key: &str) -> $crate::store::StoreResult<()> {
            sqlx::query(concat!(
                "INSERT INTO legacy_files (path, storage_key) VALUES ($1, $2) ",
                "ON CONFLICT (path) DO UPDATE SET storage_key = excluded.storage_key"
            ))
            .bind(path)
            .bind(key)
            .execute(self.pooled())
            .await?;
            Ok(())
        }

        async fn teacher_subjects(
            &self,
            teacher: Option<$crate::domain::UserId>,
        ) -> $crate::store::StoreResult<Vec<$crate::domain::Subject>> {
            let rows: Vec<$crate::store::academic_rows::SubjectRow> = sqlx::query_as(concat!(
                "SELECT s.id, s.module_id, s.title, s.teacher_id, u.full_name AS teacher_name, u.iin AS teacher_iin ",
                "FROM subjects s LEFT JOIN users u ON u.id = s.teacher_id ",
                "WHERE $1 IS NULL OR s.teacher_id = $1 ORDER BY s.module_id, s.id"
            ))
            .bind(teacher.map(|t| t.0))
            .fetch_all(self.pooled())
            .await?;
            Ok(rows.into_iter().map(Into::into).collect())
        }

        async fn apply_roster(
            &self,
            _admin: &$crate::policy::Admin,
            rows: &[$crate::store::RosterRow],
            now: chrono::DateTime<chrono::Utc>,
            audit: &(dyn Fn(&$crate::store::RosterOutcome) -> $crate::store::AuditEntry + Send + Sync),
        ) -> $crate::store::StoreResult<$crate::store::RosterOutcome> {
            let mut out = $crate::store::RosterOutcome::default();
            let mut group_ids: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
            let mut tx = self.pool.begin_with($begin).await?;
            for row in rows {
                let group_id = match row.group.as_deref() {
                    None => None,
                    Some(group) => match group_ids.get(group) {
                        Some(id) => Some(*id),
                        None => {
                            let created = sqlx::query(concat!(
                                "INSERT INTO groups (name, description, created_at) VALUES ($1, $2, $3) ",
                                "ON CONFLICT (name) DO NOTHING"
                            ))
                            .bind(group)
                            .bind(&row.group_description)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                            if created.rows_affected() > 0 {
                                out.groups_created.push(group.to_owned());
                            }
                            let (id,): (i64,) = sqlx::query_as("SELECT id FROM groups WHERE name = $1")
                                .bind(group)
                                .fetch_one(&mut *tx)
                                .await?;
                            group_ids.insert(group, id);
                            Some(id)
                        }
                    },
                };
                if let Some(hash) = &row.new_password_hash {
                    let created = sqlx::query(concat!(
                        "INSERT INTO users (iin, full_name, phone, role, password_hash, must_change_password, ",
                        "token_version, created_at) VALUES ($1, $2, $3, $6, $4, TRUE, 0, $5) ",
                        "ON CONFLICT (iin) DO NOTHING"
                    ))
                    .bind(row.iin.as_str())
                    .bind(&row.full_name)
                    .bind(row.phone.as_ref().map(|p| p.as_str()))
                    .bind(hash)
                    .bind(now)
                    .bind(row.role.as_str())
                    .execute(&mut *tx)
                    .await?;
                    if created.rows_affected() > 0 {
                        out.users_created.push(row.iin.clone());
                    }
                }
                if row.update_name {
                    let renamed = sqlx::query("UPDATE users SET full_name = $2 WHERE iin = $1 AND full_name <> $2")
                        .bind(row.iin.as_str())
                        .bind(&row.full_name)
                        .execute(&mut *tx)
                        .await?;
                    if renamed.rows_affected() > 0 {
                        out.names_updated.push(row.iin.clone());
                    }
                }
                if let Some(group_id) = group_id {
                    let added = sqlx::query(concat!(
                        "INSERT INTO user_group (user_id, group_id) ",
                        "SELECT id, $2 FROM users WHERE iin = $1 ON CONFLICT DO NOTHING"
                    ))
                    .bind(row.iin.as_str())
                    .bind(group_id)
                    .execute(&mut *tx)
                    .await?;
                    out.memberships_added += added.rows_affected();
                }
                for subject in &row.subjects {
                    // Only a teacher's account can take a subject, whatever was checked before.
                    let assigned = sqlx::query(concat!(
                        "UPDATE subjects SET teacher_id = u.id FROM users u ",
                        "WHERE subjects.id = $2 AND u.iin = $1 AND u.role = 'teacher' ",
                        "AND (subjects.teacher_id IS NULL OR subjects.teacher_id <> u.id)"
                    ))
                    .bind(row.iin.as_str())
                    .bind(subject.0)
                    .execute(&mut *tx)
                    .await?;
                    out.subjects_assigned += assigned.rows_affected();
                }
            }
            $crate::store::sql::write_audit!(&mut *tx, &audit(&out))?;
            tx.commit().await?;
            Ok(out)
        }
    };
}
pub(crate) use academic_methods;
