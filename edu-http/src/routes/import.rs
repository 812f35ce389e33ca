//! `POST /admin/groups/upload-excel` and `POST /admin/teachers/upload-excel`: the spreadsheet
//! imports, multipart `file` of at most 10 MiB.

use edu_core::import::{ImportMode, ImportOptions, ImportReport, InitialPasswords, RosterKind};
use edu_core::policy::{self, Guard};
use edu_core::{Platform, Store};
use serde::{Deserialize, Serialize};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{Body, authed, bearer, body, optional_header, parse_query, query, with_platform};
use crate::i18n::localized;
use crate::upload::form_error;

/// The largest spreadsheet accepted.
pub const MAX_FILE: u64 = 10 * 1024 * 1024;

/// Query parameters of the import.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// Report what would happen and write nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Read only this sheet of the workbook (any case); by default every sheet with an IIN header.
    #[serde(default)]
    pub sheet: Option<String>,
    /// `all_or_nothing` (default) or `skip_invalid`.
    #[serde(default)]
    #[param(value_type = Option<String>)]
    pub mode: ImportMode,
    /// First passwords of new students: `random`, or `legacy` (also `iin_digits`), the old
    /// backend's first three and last three digits of the IIN. Without it, the deployment's
    /// `EDU_IMPORT_PASSWORDS` decides (random by default). Always to be changed at first login.
    #[serde(default)]
    #[param(value_type = Option<String>)]
    pub passwords: Option<InitialPasswords>,
    /// Accept any twelve digits as an IIN, for registries that hold test accounts. By default each
    /// IIN must pass the national rules (birth date, century digit, check digit).
    #[serde(default)]
    pub allow_invalid_iin: bool,
    /// Give existing accounts the names the file has. By default a different name is kept and
    /// listed in `name_changes` as not updated.
    #[serde(default)]
    pub update_names: bool,
}

/// What the import did: the old answer's `message` beside the report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportDone {
    /// One line for people: rows read, users created and reused, groups created.
    pub message: String,
    #[serde(flatten)]
    pub report: ImportReport,
}

/// The report's summary in one line.
fn message(kind: RosterKind, report: &ImportReport) -> String {
    let verb = if report.dry_run { "would be" } else { "were" };
    if kind == RosterKind::Teachers {
        return format!(
            "{} row(s) read: {} new teacher(s) {verb} created, {} existing reused, {} subject(s) {verb} assigned",
            report.rows_valid,
            report.users_created,
            report.users_existing,
            report.subjects_assigned.len(),
        );
    }
    format!(
        "{} row(s) read: {} new user(s) {verb} created, {} existing user(s) reused, {} new group(s){}",
        report.rows_valid,
        report.users_created,
        report.users_existing,
        report.groups_created.len(),
        if report.groups_created.is_empty() {
            String::new()
        } else {
            format!(": {}", report.groups_created.join(", "))
        },
    )
}

/// Multipart form with the spreadsheet.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// .xlsx, .xls, .ods or .csv (UTF-8, `;` or `,`), at most 10 MiB.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// An import refused as a whole (all-or-nothing with invalid rows).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportRejected {
    pub detail: String,
    pub code: String,
    pub report: ImportReport,
}

pub(crate) fn route<S: Store>(p: Platform<S>) -> BoxedFilter<(Response,)> {
    let groups = warp::path!("admin" / "groups" / "upload-excel")
        .and(warp::post())
        .and(with_platform(p.clone()))
        .and(bearer())
        .and(optional_header("content-type"))
        .and(query())
        .and(body())
        .then(upload::<S>);
    let teachers = warp::path!("admin" / "teachers" / "upload-excel")
        .and(warp::post())
        .and(with_platform(p))
        .and(bearer())
        .and(optional_header("content-type"))
        .and(query())
        .and(body())
        .then(upload_teachers::<S>);
    super::one_of([groups.boxed(), teachers.boxed()])
}

/// Reads the `file` field of a multipart body, refusing it as soon as it passes the limit.
async fn read_file(content_type: Option<&str>, body: Body) -> Result<Vec<u8>, ApiError> {
    let boundary = content_type
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or_else(|| ApiError::MalformedBody("expected a multipart/form-data body with a `file` field".into()))?;
    let constraints = multer::Constraints::new().allowed_fields(vec!["file"]).size_limit(
        multer::SizeLimit::new()
            .whole_stream(MAX_FILE + 64 * 1024)
            .per_field(MAX_FILE),
    );
    let mut form = multer::Multipart::with_constraints(body, boundary, constraints);
    while let Some(mut field) = form.next_field().await.map_err(|e| form_error(e, MAX_FILE))? {
        if field.name() != Some("file") {
            continue;
        }
        let mut data = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| form_error(e, MAX_FILE))? {
            if (data.len() + chunk.len()) as u64 > MAX_FILE {
                return Err(ApiError::PayloadTooLarge(MAX_FILE));
            }
            data.extend_from_slice(&chunk);
        }
        return Ok(data);
    }
    Err(ApiError::Core(edu_core::Error::Validation(
        "the form has no `file` field".into(),
    )))
}

/// Imports groups and students from a spreadsheet, with a report per row.
///
/// New students get a random password (or, with `passwords=legacy` or `EDU_IMPORT_PASSWORDS=legacy`,
/// the old backend's first-three-and-last-three-digits-of-the-IIN rule), returned once in
/// `credentials`, and must change it at first login. Re-importing the same file changes nothing.
/// Each IIN must pass the national rules unless `allow_invalid_iin`; an existing account's
/// different name is reported in `name_changes` and replaced only with `update_names`.
#[utoipa::path(post, path = "/admin/groups/upload-excel", tag = "admin: groups", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(ImportParams),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 200, body = ImportDone),
        (status = 400, body = ErrorBody, description = "Not a multipart body"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "A phone number in the file is in use"),
        (status = 413, body = ErrorBody, description = "File over 10 MiB"),
        (status = 422, body = ImportRejected, description = "Not a spreadsheet, or invalid rows in all-or-nothing mode")))]
pub(crate) async fn upload<S: Store>(
    p: Platform<S>,
    auth: Option<String>,
    content_type: Option<String>,
    raw_query: String,
    body: Body,
) -> Response {
    import(RosterKind::Students, p, auth, content_type, raw_query, body).await
}

/// Imports teachers from a spreadsheet, with a report per row: an account per IIN (`ИИН`, name,
/// optional phone), made the teacher of each subject in its `Предметы` / `Subjects` cell
/// (separated by `;` or `,`; `Module / Subject` where a title is used in several modules).
///
/// Existing teachers are reused; an IIN of a student or an administrator, an unknown subject and
/// a subject claimed by two rows are row errors. A subject taught by someone else passes to the
/// file's teacher and is listed in `subjects_assigned` with the previous teacher. New teachers'
/// first passwords are returned once in `credentials` and must be changed at first login. The
/// same query parameters as the groups import.
#[utoipa::path(post, path = "/admin/teachers/upload-excel", tag = "admin: users", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))), params(ImportParams),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 200, body = ImportDone),
        (status = 400, body = ErrorBody, description = "Not a multipart body"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "A phone number in the file is in use"),
        (status = 413, body = ErrorBody, description = "File over 10 MiB"),
        (status = 422, body = ImportRejected, description = "Not a spreadsheet, or invalid rows in all-or-nothing mode")))]
pub(crate) async fn upload_teachers<S: Store>(
    p: Platform<S>,
    auth: Option<String>,
    content_type: Option<String>,
    raw_query: String,
    body: Body,
) -> Response {
    import(RosterKind::Teachers, p, auth, content_type, raw_query, body).await
}

async fn import<S: Store>(
    kind: RosterKind,
    p: Platform<S>,
    auth: Option<String>,
    content_type: Option<String>,
    raw_query: String,
    body: Body,
) -> Response {
    authed(p, auth, async |p, who| {
        policy::admit(&who, Guard::Admin)?;
        let params: ImportParams = parse_query(&raw_query)?;
        let file = read_file(content_type.as_deref(), body).await?;
        let options = ImportOptions {
            dry_run: params.dry_run,
            mode: params.mode,
            passwords: params.passwords,
            allow_invalid_iin: params.allow_invalid_iin,
            update_names: params.update_names,
            sheet: params.sheet,
        };
        let report = match kind {
            RosterKind::Students => p.import_groups(&who, &file, options, &|_| {}).await?,
            RosterKind::Teachers => p.import_teachers(&who, &file, options, &|_| {}).await?,
        };
        if !report.applied && !report.dry_run {
            let detail = format!("{} row(s) are invalid; nothing was imported", report.errors.len());
            let body = ImportRejected {
                detail,
                code: "import_rejected".into(),
                report,
            };
            return Ok(localized(
                StatusCode::UNPROCESSABLE_ENTITY,
                &body,
                &["detail", "report/errors/*/message", "report/name_changes/*/message"],
            ));
        }
        let body = ImportDone {
            message: message(kind, &report),
            report,
        };
        Ok(localized(
            StatusCode::OK,
            &body,
            &["message", "errors/*/message", "name_changes/*/message"],
        ))
    })
    .await
}
