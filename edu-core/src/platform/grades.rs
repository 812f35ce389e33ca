//! Grades: a student's summary, a teacher's gradebook, and both as spreadsheets.
//!
//! The rule for what counts and how averages are made is in [`crate::domain::grades`].

use super::Platform;
use crate::auth::Principal;
use crate::domain::grades::{Gradebook, GradebookRow, gradebook_rows};
use crate::domain::{GradeItem, GradeSummary, GroupId, ModuleId, ModuleScope, Page, UserId};
use crate::error::{Error, Result};
use crate::export::{Table, Value};
use crate::i18n::{Collation, Lang, tr};
use crate::policy;
use crate::store::Store;

/// Students per page when a whole gradebook is read for an export.
const EXPORT_PAGE: i64 = Page::MAX_LIMIT;

impl<S: Store> Platform<S> {
    /// The caller's own grades, flat: homework first, then tests, newest first within each
    /// (`GET /lessons/student/grades`). One query.
    pub async fn my_grades(&self, who: &Principal) -> Result<Vec<GradeItem>> {
        Ok(self.summarize(who, who.id).await?.items)
    }

    /// A student's grades with averages per subject, per module and overall. One query, whatever
    /// the number of items. Students read their own; administrators anyone's.
    pub async fn summarize(&self, who: &Principal, student: UserId) -> Result<GradeSummary> {
        let allowed = policy::self_or_admin(who, student)?;
        let items = self.store().student_grades(&allowed).await?;
        Ok(GradeSummary::new(items))
    }

    /// A page of a group's gradebook in a module: the lessons of the subjects the caller teaches
    /// (all of them for an administrator) against the group's students, by name.
    pub async fn gradebook(&self, who: &Principal, group: GroupId, module: ModuleId, page: Page) -> Result<Gradebook> {
        let teacher = self.policy().gradebook(who, group, module).await?.teacher();
        self.gradebook_as(teacher, group, module, page).await
    }

    /// The whole gradebook (every student), for an export.
    pub async fn full_gradebook(&self, who: &Principal, group: GroupId, module: ModuleId) -> Result<Gradebook> {
        let teacher = self.policy().gradebook(who, group, module).await?.teacher();
        self.full_gradebook_as(teacher, group, module).await
    }

    /// Operator lookup for the command line: the group with this id, else with this name.
    pub async fn find_group(&self, wanted: &str) -> Result<Option<GroupId>> {
        let wanted = wanted.trim();
        if let Ok(id) = wanted.parse::<i64>()
            && let Some(group) = self.store().group(GroupId(id)).await?
        {
            return Ok(Some(group.id));
        }
        if let Some(group) = self.store().group_by_name(wanted).await? {
            return Ok(Some(group.id));
        }
        // Names match regardless of case (Cyrillic included) and of spacing.
        let key = crate::domain::title_key(wanted);
        let (groups, _) = self.store().list_groups(crate::domain::Page::default()).await?;
        Ok(groups
            .into_iter()
            .find(|g| crate::domain::title_key(&g.name) == key)
            .map(|g| g.id))
    }

    /// Operator lookup for the command line: the module with this id, else every module with
    /// this title.
    pub async fn find_modules(&self, wanted: &str) -> Result<Vec<ModuleId>> {
        let wanted = wanted.trim();
        if let Ok(id) = wanted.parse::<i64>()
            && let Some(module) = self.store().module(ModuleId(id)).await?
        {
            return Ok(vec![module.id]);
        }
        let trees = self.store().module_trees(ModuleScope::All, None).await?;
        Ok(trees
            .iter()
            .filter(|t| crate::domain::title_key(&t.module.title) == crate::domain::title_key(wanted))
            .map(|t| t.module.id)
            .collect())
    }

    /// The whole gradebook with every lesson, for the operator's command line.
    pub async fn operator_gradebook(&self, group: GroupId, module: ModuleId) -> Result<Gradebook> {
        self.full_gradebook_as(None, group, module).await
    }

    async fn gradebook_as(
        &self,
        teacher: Option<UserId>,
        group: GroupId,
        module: ModuleId,
        page: Page,
    ) -> Result<Gradebook> {
        let group_row = self
            .store()
            .group(group)
            .await?
            .ok_or_else(|| Error::not_found("group"))?;
        let module_row = self
            .store()
            .module(module)
            .await?
            .ok_or_else(|| Error::not_found("module"))?;
        let lessons = self.store().gradebook_lessons(module, teacher).await?;
        let found = self.store().gradebook_page(group, module, teacher, page).await?;
        let students = gradebook_rows(&lessons, found.students, &found.work);
        Ok(Gradebook {
            group_id: group_row.id,
            group_name: group_row.name,
            module_id: module_row.id,
            module_title: module_row.title,
            lessons,
            students,
            total: found.total,
            limit: page.limit(),
            offset: page.offset(),
        })
    }

    async fn full_gradebook_as(&self, teacher: Option<UserId>, group: GroupId, module: ModuleId) -> Result<Gradebook> {
        let mut book = self
            .gradebook_as(teacher, group, module, Page::new(EXPORT_PAGE, 0))
            .await?;
        while (book.students.len() as i64) < book.total {
            let offset = book.students.len() as i64;
            let found = self
                .store()
                .gradebook_page(group, module, teacher, Page::new(EXPORT_PAGE, offset))
                .await?;
            if found.students.is_empty() {
                break;
            }
            book.students
                .extend(gradebook_rows(&book.lessons, found.students, &found.work));
        }
        book.limit = book.students.len() as i64;
        book.offset = 0;
        Ok(book)
    }
}

/// Two decimals, as grades are shown.
fn rounded(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// A gradebook as a sheet, in `lang`: a row per student in the language's alphabetical order, a
/// column per lesson (the test's best score for a lesson with a test, the homework grade
/// otherwise; "pending" for homework not graded yet), then the student's average — the mean of
/// the numbers in the row — and how many cells it counts.
pub fn gradebook_table(book: &Gradebook, lang: Lang) -> Table {
    let mut headers = vec![tr(lang, "IIN").into_owned(), tr(lang, "Full name").into_owned()];
    let test = tr(lang, "test");
    headers.extend(book.lessons.iter().map(|l| {
        let kind = if l.test_id.is_some() {
            format!(" ({test})")
        } else {
            String::new()
        };
        format!("{}: {}{kind}", l.subject_title, l.title)
    }));
    headers.extend(["Average", "Counted", "Pending"].map(|h| tr(lang, h).into_owned()));
    let mut students: Vec<&GradebookRow> = book.students.iter().collect();
    Collation::new(lang).sort_by_key(&mut students, |s| s.full_name.as_deref().unwrap_or_default());
    let pending = tr(lang, "pending");
    let rows = students.into_iter().map(|s| gradebook_line(s, &pending)).collect();
    Table {
        title: format!("{} - {}", book.group_name, book.module_title),
        headers,
        rows,
    }
}

fn gradebook_line(s: &GradebookRow, pending: &str) -> Vec<Value> {
    let mut row: Vec<Value> = vec![s.iin.as_str().into(), s.full_name.clone().into()];
    // The cells hold only what counts, so the average is the mean of the numbers in this line.
    row.extend(s.cells.iter().map(|cell| match cell.value() {
        Some(v) => Value::Number(rounded(v)),
        None if cell.pending => pending.into(),
        None => Value::Empty,
    }));
    row.push(s.tally.average.map(rounded).into());
    row.push(Value::Number(f64::from(s.tally.counted)));
    row.push(Value::Number(f64::from(s.tally.pending)));
    row
}

/// A student's summary as a sheet, in `lang`: every item, then the averages per subject and
/// module and the overall average.
pub fn summary_table(summary: &GradeSummary, lang: Lang) -> Table {
    let headers = ["Module", "Subject", "Lesson", "Source", "Grade", "Submitted (UTC)"].map(|h| tr(lang, h));
    let headers: Vec<&str> = headers.iter().map(AsRef::as_ref).collect();
    let mut table = Table::new(tr(lang, "Grades"), &headers);
    for item in &summary.items {
        table.push(vec![
            item.module_title.clone().into(),
            item.subject_title.clone().into(),
            item.lesson_title.clone().into(),
            tr(lang, item.source.as_str()).into_owned().into(),
            item.grade.map(rounded).into(),
            item.submitted_at.format("%Y-%m-%d %H:%M").to_string().into(),
        ]);
    }
    let module_title = |id: i64| {
        summary
            .modules
            .iter()
            .find(|m| m.id == id)
            .map_or_else(String::new, |m| m.title.clone())
    };
    for s in &summary.subjects {
        table.push(vec![
            module_title(s.module_id.map_or(0, |m| m.0)).into(),
            s.title.clone().into(),
            Value::Empty,
            tr(lang, "subject average").into_owned().into(),
            s.tally.average.map(rounded).into(),
            Value::Empty,
        ]);
    }
    for m in &summary.modules {
        table.push(vec![
            m.title.clone().into(),
            Value::Empty,
            Value::Empty,
            tr(lang, "module average").into_owned().into(),
            m.tally.average.map(rounded).into(),
            Value::Empty,
        ]);
    }
    table.push(vec![
        Value::Empty,
        Value::Empty,
        Value::Empty,
        tr(lang, "overall average").into_owned().into(),
        summary.overall.average.map(rounded).into(),
        Value::Empty,
    ]);
    table
}
