//! Lessons, lesson documents, avatars, homework and downloads.

use std::fmt;

use bytes::Bytes;
use futures_util::Stream;
use serde::{Deserialize, Serialize};

use super::Platform;
use crate::auth::Principal;
use crate::domain::{
    FileOwner, FilesOf, LabelKind, Lesson, LessonId, LessonKind, Subject, SubjectId, Submission, SubmissionFilter,
    SubmissionId, UserProfile, parse_lesson_label, text,
};
use crate::error::{Error, Result};
use crate::files::{Area, ByteRange, DOCUMENTS, Download, FileError, FileKey, IMAGES, Staged, StoredFile, legacy};
use crate::policy::Enrolled;
use crate::store::{FileMeta, NewLessonRow, Store};

/// Avatars: at most 5 MiB.
pub const PHOTO_LIMIT: u64 = 5 * 1024 * 1024;
/// Lesson documents: at most 50 MiB.
pub const LESSON_FILE_LIMIT: u64 = 50 * 1024 * 1024;
/// Homework: at most 20 MiB in all, in at most 5 files.
pub const HOMEWORK_LIMIT: u64 = 20 * 1024 * 1024;
/// Homework: at most 5 files per submission.
pub const HOMEWORK_FILES: usize = 5;

/// A lesson to create (`POST /lessons/add/subjects/{subject_id}`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewLesson {
    /// The lesson's title, at most 200 characters.
    pub title: String,
    /// The previous frontend's `Лекция`, `Практика` or `Тест`, or edu's `video`, `pdf` or `test`
    /// (any case; `тест` too). Kept as sent and answered as the lesson's `type`.
    #[serde(rename = "type")]
    pub label: String,
    /// An `http(s)` address; an uploaded document's `url` (`/static/lesson_docs/<name>`, with or
    /// without the leading `/`, or `/files/download/lessons/<key>`); or, for a test lesson,
    /// `/test/{id}`, which links that test like `test_id`. `""` means none.
    #[serde(default)]
    pub content_url: Option<String>,
    /// The lesson's text, at most 10 000 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// A test of the same subject, not linked yet, to link to this lesson.
    #[serde(default)]
    pub test_id: Option<i64>,
}

/// A partial update of a lesson (`PATCH /lessons/{id}`): absent fields are kept, each given one
/// is checked as on creation.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LessonPatch {
    /// A new title, as on creation.
    #[serde(default)]
    pub title: Option<String>,
    /// The type label, as on creation.
    #[serde(default, rename = "type")]
    pub label: Option<String>,
    /// As on creation; `null` or `""` removes the content (and a document is deleted).
    #[serde(default, deserialize_with = "text::present")]
    #[schema(value_type = Option<String>)]
    pub content_url: Option<Option<String>>,
    /// A new text, as on creation; `null` or `""` removes it.
    #[serde(default, deserialize_with = "text::present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// A test of the subject to link instead; `null` unlinks the lesson's test.
    #[serde(default, deserialize_with = "present_id")]
    #[schema(value_type = Option<i64>)]
    pub test_id: Option<Option<i64>>,
}

fn present_id<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<Option<i64>>, D::Error> {
    Ok(Some(Deserialize::deserialize(d)?))
}

/// An uploaded lesson document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UploadedUrl {
    /// `/static/lesson_docs/<name>`: use as a lesson's `content_url`; downloadable there (and at
    /// `/files/download/lesson_docs/<name>`) by whoever may see the lesson.
    pub url: String,
    /// The document's file name as uploaded.
    pub file_name: String,
    /// The document's size in bytes.
    pub size: u64,
    /// The MIME type the document is served with.
    pub content_type: String,
}

fn validation(e: impl fmt::Display) -> Error {
    Error::Validation(e.to_string())
}

/// What a lesson's `content_url` refers to.
enum Content {
    None,
    /// An `http(s)` address.
    Address(String),
    /// An uploaded lesson document: its key, or the previous backend's path of an imported one.
    Document(std::result::Result<FileKey, legacy::OldPath>),
    /// `/test/{id}`, kept as sent; the id, if there is one.
    Test(String, Option<i64>),
}

fn content(url: Option<&str>) -> Result<Content> {
    let Some(url) = text::optional_line(url, "content_url", 2000).map_err(validation)? else {
        return Ok(Content::None);
    };
    if let Some(id) = url.strip_prefix("/test/") {
        let id =
            match id {
                "" => None,
                digits => {
                    Some(digits.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                        Error::Validation(format!("content_url {url:?} names no test: use /test/<id>"))
                    })?)
                }
            };
        return Ok(Content::Test(url, id));
    }
    if let Some(document) = legacy::document_of(&url) {
        return Ok(Content::Document(document));
    }
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) || url.contains(char::is_whitespace) {
        return Err(Error::Validation(
            "content_url must be an http(s) address, an uploaded lesson document's url or /test/<id>".into(),
        ));
    }
    Ok(Content::Address(url))
}

/// A lesson's fields, checked, as the store takes them.
struct CheckedLesson {
    title: String,
    kind: LessonKind,
    label: String,
    description: Option<String>,
    url: Option<String>,
    document: Option<FileKey>,
    link_test: Option<crate::domain::TestId>,
}

impl CheckedLesson {
    fn row(&self, subject: SubjectId) -> NewLessonRow<'_> {
        NewLessonRow {
            subject,
            title: &self.title,
            kind: self.kind,
            label: &self.label,
            description: self.description.as_deref(),
            content_url: self.url.as_deref(),
            attach: self.document.as_ref().map(FileKey::as_str),
            link_test: self.link_test,
        }
    }
}

/// A test or a document taken by another lesson between the check and the write.
fn lesson_conflict(e: crate::error::StoreError) -> Error {
    match e {
        crate::error::StoreError::Conflict { constraint } if constraint.contains("tests_lesson") => {
            Error::Conflict("the test was linked to another lesson meanwhile".into())
        }
        crate::error::StoreError::Conflict { constraint } if constraint.contains("lesson_files") => {
            Error::Conflict("the document was attached to another lesson meanwhile".into())
        }
        other => other.into(),
    }
}

fn no_document() -> Error {
    Error::Validation("content_url refers to no uploaded lesson document".into())
}

impl<S: Store> Platform<S> {
    /// Removes stored files whose rows are gone (failures are logged; `edu fsck` finds leftovers).
    pub(crate) async fn purge_files(&self, keys: &[String]) {
        if keys.is_empty() {
            return;
        }
        let keys: Vec<FileKey> = keys.iter().filter_map(|k| FileKey::parse(k)).collect();
        match self.files() {
            Ok(files) => files.remove_all(&keys).await,
            Err(e) => tracing::warn!(error = %e, count = keys.len(), "stored files left behind"),
        }
    }

    /// The lesson, if `who` may see it (404 otherwise).
    async fn visible_lesson(&self, who: &Principal, id: LessonId) -> Result<Lesson> {
        Ok(self.lesson(who, id).await?.lesson)
    }

    // ---- lessons ----

    /// Creates a lesson in a subject `who` teaches (any subject, for an admin).
    pub async fn create_lesson(&self, who: &Principal, subject: SubjectId, req: NewLesson) -> Result<Lesson> {
        let (taught, subject) = self.policy().taught_subject(who, subject).await?;
        let checked = self.check_lesson(who, &subject, &req, None).await?;
        let row = checked.row(subject.id);
        let entry = self.audit_entry(Some(who), "lesson.create", "lesson:{id}".into(), None, None);
        let lesson = self
            .store()
            .insert_lesson(&taught, &row, self.now(), &entry)
            .await
            .map_err(lesson_conflict)?;
        Ok(lesson)
    }

    /// Changes a lesson in place (its subject's teacher, or an admin): the fields given replace
    /// the lesson's, checked as on creation; its submissions and results stay. A new document
    /// replaces the old one, which is deleted; `test_id: null` unlinks the test (its results stay
    /// with it). A lesson with homework cannot become a test (409).
    pub async fn update_lesson(&self, who: &Principal, id: LessonId, patch: LessonPatch) -> Result<Lesson> {
        let (taught, lesson, subject) = self.policy().taught_lesson(who, id).await?;
        let linked = self.store().tests(None, None, Some(id)).await?.first().map(|t| t.id.0);
        let before = serde_json::json!({
            "title": lesson.title, "type": lesson.label, "description": lesson.description,
            "content_url": lesson.content_url, "test_id": linked,
        });
        let req = NewLesson {
            title: patch.title.unwrap_or(lesson.title),
            label: patch.label.unwrap_or(lesson.label),
            content_url: patch.content_url.unwrap_or(lesson.content_url),
            description: patch.description.unwrap_or(lesson.description),
            test_id: patch.test_id.unwrap_or(linked),
        };
        let checked = self.check_lesson(who, &subject, &req, Some(id)).await?;
        let row = checked.row(subject.id);
        let after = serde_json::json!({
            "title": row.title, "type": row.label, "description": row.description,
            "content_url": row.content_url, "test_id": req.test_id,
        });
        let entry = self.audit_entry(
            Some(who),
            "lesson.update",
            format!("lesson:{id}"),
            Some(before),
            Some(after),
        );
        let (lesson, replaced) = self
            .store()
            .update_lesson(&taught, &row, &entry)
            .await
            .map_err(|e| match e {
                crate::error::StoreError::Conflict { constraint } if constraint == "homework" => {
                    Error::Conflict("the lesson has homework: it cannot become a test".into())
                }
                crate::error::StoreError::NotFound => Error::not_found("lesson"),
                other => lesson_conflict(other),
            })?;
        self.purge_files(&replaced).await;
        Ok(lesson)
    }

    /// Checks a lesson as it is to be stored: `this` is the lesson being changed, whose own
    /// document and test it may keep.
    async fn check_lesson(
        &self,
        who: &Principal,
        subject: &Subject,
        req: &NewLesson,
        this: Option<LessonId>,
    ) -> Result<CheckedLesson> {
        let title = text::line(&req.title, "title", 200).map_err(validation)?;
        let by_label = parse_lesson_label(&req.label).map_err(validation)?;
        let label = req.label.trim().to_owned();
        let description =
            text::optional_block(req.description.as_deref(), "description", 10_000).map_err(validation)?;
        let mut test_id = req.test_id;
        let (url, document) = match content(req.content_url.as_deref())? {
            Content::None => (None, None),
            Content::Address(url) => (Some(url), None),
            Content::Test(url, id) => {
                if by_label != LabelKind::Exactly(LessonKind::Test) {
                    return Err(Error::Validation(format!(
                        "content_url {url:?} links a test: only a test lesson may have it"
                    )));
                }
                match (test_id, id) {
                    (Some(a), Some(b)) if a != b => {
                        return Err(Error::Validation(format!(
                            "test_id {a} and content_url {url:?} name different tests"
                        )));
                    }
                    (None, Some(b)) => test_id = Some(b),
                    _ => {}
                }
                (Some(url), None)
            }
            Content::Document(found) => {
                let key = match found {
                    Ok(key) => key,
                    Err(old) => self.resolve_old(&old).await.map_err(|e| match e {
                        Error::NotFound(_) => no_document(),
                        other => other,
                    })?,
                };
                self.check_unattached_document(who, &key, this).await?;
                (Some(legacy::document_url(&key)), Some(key))
            }
        };
        let kind = match by_label {
            LabelKind::Exactly(kind) => kind,
            LabelKind::ByContent if document.is_some() => LessonKind::Pdf,
            LabelKind::ByContent => LessonKind::Video,
        };
        let link_test = match test_id {
            None => None,
            Some(id) => {
                let test = self
                    .store()
                    .tests(Some(crate::domain::TestId(id)), Some(subject.id), None)
                    .await?
                    .pop()
                    .ok_or_else(|| Error::NotFound(format!("test {id} not found in this subject")))?;
                if test.lesson_id.is_some() && test.lesson_id != this {
                    return Err(Error::Conflict(format!("test {id} already belongs to a lesson")));
                }
                Some(test.id)
            }
        };
        Ok(CheckedLesson {
            title,
            kind,
            label,
            description,
            url,
            document,
            link_test,
        })
    }

    /// A document `who` uploaded (any, for an admin) that no lesson has yet, or lesson `this`'s own.
    async fn check_unattached_document(&self, who: &Principal, key: &FileKey, this: Option<LessonId>) -> Result<()> {
        if self.policy().attachable_document(who, key.as_str(), this).await? {
            Ok(())
        } else {
            Err(no_document())
        }
    }

    /// Deletes a lesson with its documents, submissions and their stored files.
    pub async fn delete_lesson(&self, who: &Principal, id: LessonId) -> Result<()> {
        let (taught, _, _) = self.policy().taught_lesson(who, id).await?;
        let files = self.store().files_of(FilesOf::Lesson(id)).await?;
        let entry = self.audit_entry(Some(who), "lesson.delete", format!("lesson:{id}"), None, None);
        if !self.store().delete_lesson(&taught, &entry).await? {
            return Err(Error::not_found("lesson"));
        }
        self.purge_files(&files).await;
        Ok(())
    }

    /// Stores a lesson document (teachers and admins); use its `url` as a lesson's `content_url`.
    pub async fn upload_lesson_file<B, E>(&self, who: &Principal, file_name: &str, body: B) -> Result<UploadedUrl>
    where
        B: Stream<Item = std::result::Result<Bytes, E>> + Send,
        E: fmt::Display,
    {
        let staff = crate::policy::staff(who)?;
        let files = self.files()?;
        let staged = files.stage(file_name, DOCUMENTS, LESSON_FILE_LIMIT, body).await?;
        let stored = self.commit_one(staged, Area::Lessons).await?;
        if let Err(e) = self.store().insert_lesson_file(&stored, &staff, self.now()).await {
            files.remove_all(std::slice::from_ref(&stored.key)).await;
            return Err(e.into());
        }
        Ok(UploadedUrl {
            url: legacy::document_url(&stored.key),
            file_name: stored.original_name,
            size: stored.size,
            content_type: stored.content_type,
        })
    }

    /// Replaces the caller's avatar (jpg, png, webp or gif; never SVG; at most 5 MiB).
    pub async fn upload_photo<B, E>(&self, who: &Principal, file_name: &str, body: B) -> Result<UserProfile>
    where
        B: Stream<Item = std::result::Result<Bytes, E>> + Send,
        E: fmt::Display,
    {
        let files = self.files()?;
        let old = self
            .store()
            .user_by_id(who.id)
            .await?
            .ok_or_else(|| Error::Unauthorized("the account no longer exists".into()))?
            .photo;
        let staged = files.stage(file_name, IMAGES, PHOTO_LIMIT, body).await?;
        let stored = self.commit_one(staged, Area::Photos).await?;
        let user = match self
            .store()
            .set_photo(&crate::policy::own_account(who), Some(stored.key.as_str()))
            .await
        {
            Ok(user) => user,
            Err(e) => {
                files.remove_all(std::slice::from_ref(&stored.key)).await;
                return Err(e.into());
            }
        };
        // Only an avatar is ever removed in its place: whatever else the column might hold (it
        // is written by this method alone) is left alone rather than deleted.
        if let Some(old) = old.filter(|k| FileKey::parse(k).is_some_and(|k| k.area() == Area::Photos)) {
            self.purge_files(&[old]).await;
        }
        Ok(user.profile())
    }

    async fn commit_one(&self, staged: Staged, area: Area) -> Result<StoredFile> {
        let files = self.files()?;
        match files.commit(&staged, area).await {
            Ok(stored) => Ok(stored),
            Err(e) => {
                files.discard(staged).await;
                Err(e.into())
            }
        }
    }

    // ---- homework ----

    /// Starts a homework submission: only a student enrolled in the lesson's module (404 for a
    /// lesson they cannot see), on a lesson without a test (409 otherwise). Add files to the
    /// draft, then finish or abandon it.
    pub async fn begin_homework(&self, who: &Principal, lesson: LessonId) -> Result<HomeworkDraft<S>> {
        let found = self
            .store()
            .lesson_for(lesson, Some(who.id))
            .await?
            .ok_or_else(|| Error::not_found("lesson"))?;
        let (visible, _) = self.policy().visible_lesson(who, &found).await?;
        let lesson = found;
        let by = crate::policy::enrolled(who, visible, "only students submit homework")?;
        // A lesson with a test is the test's cell in the gradebook: homework there would be
        // graded and never seen (see domain::grades), so it is not taken.
        if lesson.kind == LessonKind::Test || !self.store().tests(None, None, Some(lesson.id)).await?.is_empty() {
            return Err(Error::Conflict("this lesson is a test: it takes no homework".into()));
        }
        self.files()?;
        Ok(HomeworkDraft {
            platform: self.clone(),
            by,
            staged: Vec::new(),
            total: 0,
        })
    }

    /// The caller's own submissions for a lesson they may see, newest first.
    pub async fn my_submissions(&self, who: &Principal, lesson: LessonId) -> Result<Vec<Submission>> {
        self.visible_lesson(who, lesson).await?;
        let filter = SubmissionFilter {
            lesson: Some(lesson),
            student: Some(who.id),
            name_contains: None,
        };
        Ok(self.store().submissions(&filter).await?)
    }

    /// Every submission for a lesson (its subject's teacher or an admin), optionally by student name.
    pub async fn lesson_submissions(
        &self,
        who: &Principal,
        lesson: LessonId,
        search: Option<&str>,
    ) -> Result<Vec<Submission>> {
        self.policy().taught_lesson(who, lesson).await?;
        let filter = SubmissionFilter {
            lesson: Some(lesson),
            student: None,
            name_contains: search.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned),
        };
        Ok(self.store().submissions(&filter).await?)
    }

    /// Deletes a submission and its files: its student, the subject's teacher or an admin.
    pub async fn delete_submission(&self, who: &Principal, id: SubmissionId) -> Result<()> {
        let submission = self
            .store()
            .submission(id)
            .await?
            .ok_or_else(|| Error::not_found("submission"))?;
        let remover = self.policy().submission_remover(who, &submission).await?;
        let files = self.store().files_of(FilesOf::Submission(id)).await?;
        let entry = self.audit_entry(Some(who), "submission.delete", format!("submission:{id}"), None, None);
        if !self.store().delete_submission(&remover, &entry).await? {
            return Err(Error::not_found("submission"));
        }
        self.purge_files(&files).await;
        Ok(())
    }

    /// Grades a homework submission 0–100 with optional feedback: the name an embedder looks
    /// for, the same operation as [`Platform::grade_submission`] (the subject's teacher or an
    /// administrator; a regrade is audited with the old and new grade).
    ///
    /// ```no_run
    /// # async fn mark(p: &edu_core::Platform<edu_core::SqliteStore>, teacher: &edu_core::Principal,
    /// #     submission: edu_core::domain::SubmissionId) -> edu_core::Result<()> {
    /// let graded = p.grade(teacher, submission, 87, Some("Хорошо")).await?;
    /// assert_eq!(graded.grade, Some(87));
    /// # Ok(()) }
    /// ```
    pub async fn grade(
        &self,
        who: &Principal,
        submission: SubmissionId,
        grade: i64,
        feedback: Option<&str>,
    ) -> Result<Submission> {
        self.grade_submission(who, submission, grade, feedback).await
    }

    /// Grades a submission 0–100 with optional feedback (the subject's teacher or an admin);
    /// every change is in the audit log with the old and new grade.
    pub async fn grade_submission(
        &self,
        who: &Principal,
        id: SubmissionId,
        grade: i64,
        feedback: Option<&str>,
    ) -> Result<Submission> {
        crate::policy::staff(who)?;
        let grade = i32::try_from(grade)
            .ok()
            .filter(|g| (0..=100).contains(g))
            .ok_or_else(|| Error::Validation("grade must be between 0 and 100".into()))?;
        let feedback = text::optional_block(feedback, "feedback", 5000).map_err(validation)?;
        let submission = self
            .store()
            .submission(id)
            .await?
            .ok_or_else(|| Error::not_found("submission"))?;
        let taught = self.policy().taught_submission(who, &submission).await?;
        // The store adds the grade this one replaces as the entry's `before`.
        let entry = self.audit_entry(
            Some(who),
            "submission.grade",
            format!("submission:{id}"),
            None,
            Some(serde_json::json!({ "grade": grade, "feedback": feedback })),
        );
        self.store()
            .grade_submission(&taught, grade, feedback.as_deref(), who.id, self.now(), &entry)
            .await?
            .ok_or_else(|| Error::not_found("submission"))?;
        self.store()
            .submission(id)
            .await?
            .ok_or_else(|| Error::not_found("submission"))
    }

    // ---- downloads ----

    /// Opens a stored file for `who`: a homework file for its student, the subject's teacher and
    /// admins; a lesson document for whoever may see the lesson; an avatar for anyone. Everything
    /// else, including keys that are not keys, is 404.
    ///
    /// `path` is what follows `/files/download/`: a storage key, or one of the previous backend's
    /// paths (`lesson_docs/<name>`, `homework/lesson_<n>/<name>`, `photos/<name>`, see
    /// [`legacy`]), as it arrives in the URL.
    pub async fn download(
        &self,
        who: &Principal,
        path: &str,
        range: Option<ByteRange>,
    ) -> Result<(FileMeta, Download)> {
        // The paths answers give out (`static/homework/…`, `/files/download/…`) are accepted as
        // they are; what remains is checked as strictly as a bare key or old path.
        let path = path.trim_start_matches('/');
        let path = path
            .strip_prefix("static/")
            .or_else(|| path.strip_prefix("files/download/"))
            .unwrap_or(path);
        match FileKey::parse(path) {
            Some(key) => self.download_key(who, key, range).await,
            None => self.download_old(who, path, range).await,
        }
    }

    /// Opens a file by the previous backend's path below `static/` (`lesson_docs/<name>`,
    /// `homework/lesson_<n>/<name>`, `photos/<name>`, percent-encoded as in the URL), with the
    /// checks of [`Platform::download`].
    pub async fn download_old(
        &self,
        who: &Principal,
        path: &str,
        range: Option<ByteRange>,
    ) -> Result<(FileMeta, Download)> {
        let old = legacy::OldPath::parse(path).ok_or_else(|| Error::not_found("file"))?;
        let key = self.resolve_old(&old).await?;
        self.download_key(who, key, range).await
    }

    /// The key an old path stands for: the edu key its name is, when there is such a file (for a
    /// homework path, a file of a submission of the lesson it names); otherwise the imported file
    /// recorded under the path, if it is stored in the path's area.
    async fn resolve_old(&self, old: &legacy::OldPath) -> Result<FileKey> {
        if let Some(key) = old.direct_key() {
            let direct = match old {
                // Avatars have no row of their own; opening them finds out.
                legacy::OldPath::Photo(_) => true,
                legacy::OldPath::LessonDocument(_) => self.store().file_owner(key.as_str()).await?.is_some(),
                legacy::OldPath::Homework { lesson, .. } => matches!(
                    self.store().file_owner(key.as_str()).await?,
                    Some((FileOwner::Homework { lesson: owner, .. }, _)) if owner == *lesson
                ),
            };
            if direct {
                return Ok(key);
            }
        }
        self.store()
            .legacy_file(&old.table_path())
            .await?
            .and_then(|k| FileKey::parse(&k))
            .filter(|k| k.area() == old.area())
            .ok_or_else(|| Error::not_found("file"))
    }

    async fn download_key(
        &self,
        who: &Principal,
        key: FileKey,
        range: Option<ByteRange>,
    ) -> Result<(FileMeta, Download)> {
        if key.area() == Area::Photos {
            return self.photo(key.file_name(), range).await;
        }
        let (owner, meta) = self
            .store()
            .file_owner(key.as_str())
            .await?
            .ok_or_else(|| Error::not_found("file"))?;
        let allowed = self.policy().may_download(who, &owner).await?;
        if !allowed {
            return Err(Error::not_found("file"));
        }
        let download = self.files()?.open(&key, range).await.map_err(|e| match e {
            FileError::NotFound => Error::not_found("file"),
            other => other.into(),
        })?;
        Ok((meta, download))
    }

    /// An avatar, public (`/static/photos/{file}`): `file` as it arrives in the URL, an edu key's
    /// file name or the name of an imported avatar.
    pub async fn public_photo(&self, file: &str, range: Option<ByteRange>) -> Result<(FileMeta, Download)> {
        let old = legacy::OldPath::parse(&format!("photos/{file}")).ok_or_else(|| Error::not_found("photo"))?;
        let key = self.resolve_old(&old).await.map_err(|e| match e {
            Error::NotFound(_) => Error::not_found("photo"),
            other => other,
        })?;
        self.photo(key.file_name(), range).await
    }

    /// An avatar by its edu file name.
    pub async fn photo(&self, file_name: &str, range: Option<ByteRange>) -> Result<(FileMeta, Download)> {
        let key = FileKey::parse(&format!("photos/{file_name}")).ok_or_else(|| Error::not_found("photo"))?;
        let ext = file_name.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
        let family = IMAGES.family(ext).ok_or_else(|| Error::not_found("photo"))?;
        let download = self.files()?.open(&key, range).await.map_err(|e| match e {
            FileError::NotFound => Error::not_found("photo"),
            other => other.into(),
        })?;
        let meta = FileMeta {
            name: file_name.to_owned(),
            size: i64::try_from(download.size).unwrap_or(i64::MAX),
            content_type: family.content_type(ext).to_owned(),
        };
        Ok((meta, download))
    }
}

/// A homework submission being received: files are staged one by one (each checked and counted
/// against the limits as it streams), then committed together with the submission's row.
#[must_use = "finish or abandon the draft, or its staged files stay until `edu fsck`"]
pub struct HomeworkDraft<S> {
    platform: Platform<S>,
    /// The student and the lesson: a student who may see it.
    by: Enrolled<LessonId>,
    staged: Vec<Staged>,
    total: u64,
}

impl<S> fmt::Debug for HomeworkDraft<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HomeworkDraft")
            .field("student", &self.by.student())
            .field("lesson", &self.by.id())
            .field("files", &self.staged.len())
            .field("bytes", &self.total)
            .finish()
    }
}

impl<S: Store> HomeworkDraft<S> {
    /// Receives one file.
    pub async fn add_file<B, E>(&mut self, file_name: &str, body: B) -> Result<()>
    where
        B: Stream<Item = std::result::Result<Bytes, E>> + Send,
        E: fmt::Display,
    {
        if self.staged.len() >= HOMEWORK_FILES {
            return Err(Error::Validation(format!(
                "at most {HOMEWORK_FILES} files per submission"
            )));
        }
        let remaining = HOMEWORK_LIMIT.saturating_sub(self.total);
        let files = self.platform.files()?;
        let staged = files
            .stage(file_name, DOCUMENTS, remaining, body)
            .await
            .map_err(|e| match e {
                FileError::TooLarge { .. } => Error::TooLarge { limit: HOMEWORK_LIMIT },
                other => other.into(),
            })?;
        self.total += staged.size;
        self.staged.push(staged);
        Ok(())
    }

    /// How many files were received so far.
    pub fn file_count(&self) -> usize {
        self.staged.len()
    }

    /// Commits the files and the submission; a comment, files, or both are required.
    pub async fn finish(self, comment: Option<&str>) -> Result<Submission> {
        let comment = match text::optional_block(comment, "comment", 5000) {
            Ok(c) => c,
            Err(e) => {
                self.abandon().await;
                return Err(validation(e));
            }
        };
        if self.staged.is_empty() && comment.is_none() {
            return Err(Error::BadRequest("send at least one file or a comment".into()));
        }
        let HomeworkDraft {
            platform, by, staged, ..
        } = self;
        let files = platform.files()?;
        let mut stored: Vec<StoredFile> = Vec::with_capacity(staged.len());
        let mut pending = staged.into_iter();
        for s in pending.by_ref() {
            match files.commit(&s, Area::Homework).await {
                Ok(f) => stored.push(f),
                Err(e) => {
                    files.discard(s).await;
                    for rest in pending {
                        files.discard(rest).await;
                    }
                    let keys: Vec<FileKey> = stored.into_iter().map(|f| f.key).collect();
                    files.remove_all(&keys).await;
                    return Err(e.into());
                }
            }
        }
        match platform
            .store()
            .insert_submission(&by, comment.as_deref(), &stored, platform.now())
            .await
        {
            Ok(submission) => Ok(submission),
            Err(e) => {
                let keys: Vec<FileKey> = stored.into_iter().map(|f| f.key).collect();
                files.remove_all(&keys).await;
                Err(e.into())
            }
        }
    }

    /// Throws the staged files away.
    pub async fn abandon(self) {
        if let Ok(files) = self.platform.files() {
            for s in self.staged {
                files.discard(s).await;
            }
        }
    }
}
