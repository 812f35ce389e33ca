//! Grades: `/lessons/student/grades` (flat, as the existing frontend reads it), the structured
//! summary, the gradebook, and their spreadsheet exports.

use edu_core::domain::{GradeItem, GradeSummary, Gradebook, GroupId, ModuleId, Page};
use edu_core::export::{Format, Separator, Table};
use edu_core::i18n::Lang;
use edu_core::policy::{self, Guard};
use edu_core::{Platform, Store, gradebook_table, summary_table};
use serde::Deserialize;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{HeaderValue, header};
use warp::reply::Response;

use crate::conditional::tagged;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{authed, bearer, parse_query, query, with_platform};
use crate::i18n::{LangPref, lang_pref};

/// A spreadsheet format.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Opens in Excel with Cyrillic intact (UTF-8 with a byte order mark).
    Csv,
    #[default]
    Xlsx,
}

impl From<ExportFormat> for Format {
    fn from(f: ExportFormat) -> Format {
        match f {
            ExportFormat::Csv => Format::Csv,
            ExportFormat::Xlsx => Format::Xlsx,
        }
    }
}

/// The language of a spreadsheet's headers and markers.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportLang {
    Ru,
    Kk,
    En,
}

impl From<ExportLang> for Lang {
    fn from(l: ExportLang) -> Lang {
        match l {
            ExportLang::Ru => Lang::Ru,
            ExportLang::Kk => Lang::Kk,
            ExportLang::En => Lang::En,
        }
    }
}

/// A CSV's cell separator (and with it the decimal mark).
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportSeparator {
    /// `,` between cells, `87.5`.
    Comma,
    /// `;` between cells, `87,5`: what Excel in ru-RU and kk-KZ expects.
    Semicolon,
}

/// The language and CSV separator an export is written in.
fn export_style(lang: Option<ExportLang>, sep: Option<ExportSeparator>, pref: &LangPref) -> (Lang, Separator) {
    let lang = pref.resolve(lang.map(Into::into));
    let sep = match sep {
        Some(ExportSeparator::Comma) => Separator::Comma,
        Some(ExportSeparator::Semicolon) => Separator::Semicolon,
        None => Separator::for_lang(lang),
    };
    (lang, sep)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `xlsx` (default) or `csv`.
    #[serde(default)]
    #[param(inline)]
    pub format: ExportFormat,
    /// Language of the headers and markers: `ru`, `kk` or `en`. Without it, `Accept-Language`,
    /// else the deployment's `EDU_LANG`.
    #[param(inline)]
    pub lang: Option<ExportLang>,
    /// CSV only: `semicolon` (with decimal commas) or `comma`. Without it, the language decides:
    /// `semicolon` for ru and kk, `comma` for en.
    #[param(inline)]
    pub sep: Option<ExportSeparator>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GradebookQuery {
    pub group_id: i64,
    pub module_id: i64,
    /// Students per page: at most 500, default 100.
    pub limit: Option<i64>,
    /// Default 0.
    pub offset: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GradebookExportQuery {
    pub group_id: i64,
    pub module_id: i64,
    /// `xlsx` (default) or `csv`.
    #[serde(default)]
    #[param(inline)]
    pub format: ExportFormat,
    /// Language of the headers and the `pending` marker, and of the students' alphabetical order:
    /// `ru`, `kk` or `en`. Without it, `Accept-Language`, else the deployment's `EDU_LANG`.
    #[param(inline)]
    pub lang: Option<ExportLang>,
    /// CSV only: `semicolon` (with decimal commas) or `comma`. Without it, the language decides:
    /// `semicolon` for ru and kk, `comma` for en.
    #[param(inline)]
    pub sep: Option<ExportSeparator>,
}

pub(crate) fn routes<S: Store>(p: Platform<S>) -> BoxedFilter<(Response,)> {
    let w = || with_platform(p.clone()).and(bearer());
    let flat = warp::path!("lessons" / "student" / "grades")
        .and(warp::get())
        .and(w())
        .then(my_grades::<S>);
    let summary = warp::path!("lessons" / "student" / "grades" / "summary")
        .and(warp::get())
        .and(w())
        .then(my_summary::<S>);
    let summary_export = warp::path!("lessons" / "student" / "grades" / "export")
        .and(warp::get())
        .and(w())
        .and(query())
        .and(lang_pref())
        .then(export_summary::<S>);
    let book = warp::path!("grades" / "gradebook")
        .and(warp::get())
        .and(w())
        .and(query())
        .then(gradebook::<S>);
    let book_export = warp::path!("grades" / "gradebook" / "export")
        .and(warp::get())
        .and(w())
        .and(query())
        .and(lang_pref())
        .then(export_gradebook::<S>);
    super::one_of([
        flat.boxed(),
        summary.boxed(),
        summary_export.boxed(),
        book.boxed(),
        book_export.boxed(),
    ])
}

/// The caller's grades, flat: every homework submission (graded or not) and then every submitted
/// test attempt, newest first within each. `grade` is `null` for homework not graded yet and may be
/// fractional for tests.
#[utoipa::path(get, operation_id = "my_grades", path = "/lessons/student/grades", tag = "grades",
    security(("bearer" = [])), extensions(("x-guard" = json!(Guard::Auth.as_str()))),
    responses((status = 304, description = "Not modified: `If-None-Match` names the current `ETag` (a hash of the answer)"), (status = 200, body = Vec<GradeItem>), (status = 401, body = ErrorBody)))]
pub(crate) async fn my_grades<S: Store>(p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| Ok(tagged(&p.my_grades(&who).await?))).await
}

/// The caller's grades with averages per subject, per module and overall. Homework counts once
/// per lesson (its latest graded submission; ungraded work is pending and does not count as zero),
/// a test once (its best attempt); averages are plain means of what counts.
#[utoipa::path(get, operation_id = "my_grade_summary", path = "/lessons/student/grades/summary", tag = "grades",
    security(("bearer" = [])), extensions(("x-guard" = json!(Guard::Auth.as_str()))),
    responses((status = 304, description = "Not modified: `If-None-Match` names the current `ETag` (a hash of the answer)"), (status = 200, body = GradeSummary), (status = 401, body = ErrorBody)))]
pub(crate) async fn my_summary<S: Store>(p: Platform<S>, auth: Option<String>) -> Response {
    authed(p, auth, async |p, who| Ok(tagged(&p.summarize(&who, who.id()).await?))).await
}

/// The caller's grades as a spreadsheet: every item, then the averages.
#[utoipa::path(get, operation_id = "export_my_grades", path = "/lessons/student/grades/export", tag = "grades",
    security(("bearer" = [])), extensions(("x-guard" = json!(Guard::Auth.as_str()))), params(ExportQuery),
    responses((status = 200, description = "The spreadsheet, as an attachment",
            content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), ("text/csv"))),
        (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn export_summary<S: Store>(
    p: Platform<S>,
    auth: Option<String>,
    raw_query: String,
    pref: LangPref,
) -> Response {
    authed(p, auth, async |p, who| {
        let q: ExportQuery = parse_query(&raw_query)?;
        let (lang, sep) = export_style(q.lang, q.sep, &pref);
        let summary = p.summarize(&who, who.id()).await?;
        spreadsheet(
            &summary_table(&summary, lang),
            q.format.into(),
            sep,
            lang,
            &format!("grades-{}", who.iin().as_str()),
        )
    })
    .await
}

/// A page of a group's gradebook in a module: the lessons of the subjects the caller teaches (every
/// lesson for an administrator) against the group's students by name, with each student's average.
/// Each cell holds the counted homework grade, whether homework waits for a grade, and the best
/// score of the lesson's test.
#[utoipa::path(get, operation_id = "gradebook", path = "/grades/gradebook", tag = "grades",
    security(("bearer" = [])), extensions(("x-guard" = json!(Guard::TeacherOwn.as_str()))), params(GradebookQuery),
    responses((status = 304, description = "Not modified: `If-None-Match` names the current `ETag` (a hash of the answer)"), (status = 200, body = Gradebook), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "Not staff, or a teacher of no subject in the module"),
        (status = 404, body = ErrorBody, description = "No such group or module"), (status = 422, body = ErrorBody)))]
pub(crate) async fn gradebook<S: Store>(p: Platform<S>, auth: Option<String>, raw_query: String) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::TeacherOwn)?;
        let q: GradebookQuery = parse_query(&raw_query)?;
        let page = Page {
            limit: q.limit,
            offset: q.offset,
        };
        let book = p
            .gradebook(&who, GroupId(q.group_id), ModuleId(q.module_id), page)
            .await?;
        Ok(tagged(&book))
    })
    .await
}

/// A group's whole gradebook in a module as a spreadsheet: a row per student, a column per lesson
/// (the test's best score for a lesson with a test, else the homework grade, or "pending"), then the
/// average.
#[utoipa::path(get, operation_id = "export_gradebook", path = "/grades/gradebook/export", tag = "grades",
    security(("bearer" = [])), extensions(("x-guard" = json!(Guard::TeacherOwn.as_str()))), params(GradebookExportQuery),
    responses((status = 200, description = "The spreadsheet, as an attachment",
            content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), ("text/csv"))),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub(crate) async fn export_gradebook<S: Store>(
    p: Platform<S>,
    auth: Option<String>,
    raw_query: String,
    pref: LangPref,
) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::TeacherOwn)?;
        let q: GradebookExportQuery = parse_query(&raw_query)?;
        let (lang, sep) = export_style(q.lang, q.sep, &pref);
        let book = p
            .full_gradebook(&who, GroupId(q.group_id), ModuleId(q.module_id))
            .await?;
        let name = format!("gradebook-{}-{}", book.group_name, book.module_title);
        spreadsheet(&gradebook_table(&book, lang), q.format.into(), sep, lang, &name)
    })
    .await
}

/// A table as a downloaded file named `stem.csv` or `stem.xlsx`.
fn spreadsheet(table: &Table, format: Format, sep: Separator, lang: Lang, stem: &str) -> Result<Response, ApiError> {
    let bytes = table
        .write(format, sep)
        .map_err(|e| ApiError::Core(edu_core::Error::Internal(Box::new(e))))?;
    let mut res = Response::new(bytes.into());
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang.code()));
    h.append(header::VARY, HeaderValue::from_static("accept-language"));
    let name = format!("{stem}.{}", format.extension());
    if let Some(v) = crate::upload::disposition(true, &name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}
