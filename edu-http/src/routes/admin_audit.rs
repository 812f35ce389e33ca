//! `/admin/audit`: the audit log, for administrators.

use edu_core::domain::{AuditFilter, AuditRecord, Iin, parse_moment as moment};
use edu_core::policy::{self, Guard};
use edu_core::{Page, Platform, Store};
use serde::Deserialize;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::{ok, with_total};
use crate::error::{ApiError, ErrorBody, respond};
use crate::extract::{authenticate, bearer, parse_query, query, with_platform};

/// Which records to read; every parameter given must hold.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// The IIN of the administrator or teacher who made the change.
    pub actor: Option<String>,
    /// A target or its start: `group:3`, or `group:` for every group.
    pub target: Option<String>,
    /// An action, e.g. `submission.grade`.
    pub action: Option<String>,
    /// From this time on: RFC 3339 (`2026-09-01T08:00:00Z`) or a date (`2026-09-01`, from its start, UTC).
    pub since: Option<String>,
    /// Before this time: RFC 3339, or a date (up to its start, UTC).
    pub until: Option<String>,
    /// 1–500; default 100.
    pub limit: Option<i64>,
    /// Default 0.
    pub offset: Option<i64>,
}

impl AuditQuery {
    /// The filter and page this query asks for, or a 422 naming the parameter that is wrong.
    pub fn parse(&self) -> Result<(AuditFilter, Page), edu_core::Error> {
        let invalid = |name: &str, e: &dyn std::fmt::Display| edu_core::Error::Validation(format!("{name}: {e}"));
        let actor = self
            .actor
            .as_deref()
            .map(|a| Iin::parse(a.trim()).map_err(|e| invalid("actor", &e)))
            .transpose()?;
        let filter = AuditFilter {
            actor,
            target: self.target.clone().filter(|t| !t.is_empty()),
            action: self.action.clone().filter(|a| !a.is_empty()),
            since: self
                .since
                .as_deref()
                .map(|s| moment(s).map_err(|e| invalid("since", &e)))
                .transpose()?,
            until: self
                .until
                .as_deref()
                .map(|s| moment(s).map_err(|e| invalid("until", &e)))
                .transpose()?,
        };
        let page = Page {
            limit: Some(self.limit.unwrap_or(Page::DEFAULT_LIMIT)),
            offset: self.offset,
        };
        Ok((filter, page))
    }
}

pub(crate) fn routes<S: Store>(p: Platform<S>) -> BoxedFilter<(Response,)> {
    warp::path!("admin" / "audit")
        .and(warp::get())
        .and(with_platform(p))
        .and(bearer())
        .and(query())
        .then(list::<S>)
        .boxed()
}

/// The audit log, newest first: grades, deletions and administrative changes, each with who made
/// it and the values around it. Paged (default 100); the total is in `X-Total-Count`.
#[utoipa::path(get, operation_id = "audit_log", path = "/admin/audit", tag = "admin: users", security(("bearer" = [])),
    extensions(("x-guard" = json!(Guard::Admin.as_str()))),
    params(AuditQuery),
    responses((status = 200, body = Vec<AuditRecord>, headers(("X-Total-Count" = i64))),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "A malformed IIN, time or page")))]
pub(crate) async fn list<S: Store>(p: Platform<S>, auth: Option<String>, raw_query: String) -> Response {
    respond(
        async {
            let who = authenticate(&p, auth.as_deref()).await?;
            // The guard before the input: a student learns nothing from a malformed query.
            policy::admit(&who, Guard::Admin)?;
            let q: AuditQuery = parse_query(&raw_query)?;
            let (filter, page) = q.parse()?;
            let (records, total) = p.audit_log(&who, &filter, page).await?;
            Ok::<_, ApiError>(with_total(ok(&records), total))
        }
        .await,
    )
}
