//! The audit log as administrators read it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::{Iin, UserId};

/// One recorded change: who made it, when, to what, and the values around it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditRecord {
    /// Database id of the record, increasing in the order changes were made.
    pub id: i64,
    /// When the change was made (UTC).
    pub at: DateTime<Utc>,
    /// The administrator or teacher who made the change; `None` for the command line's operator
    /// tasks, and for an actor whose account has since been deleted.
    pub actor_id: Option<UserId>,
    /// The actor's IIN and name as they are now, when the account still exists.
    pub actor_iin: Option<String>,
    /// The actor's full name as it is now, when the account still exists.
    pub actor_name: Option<String>,
    /// What was done, e.g. `submission.grade`, `group.delete`.
    pub action: String,
    /// What it was done to, e.g. `submission:17`, `group:3` (users appear with a masked IIN).
    pub target: String,
    /// The changed values before the change, as JSON; `None` when there was nothing before (a creation).
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The changed values after the change, as JSON; `None` when nothing is left (a deletion).
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

/// Which records to read: every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// The actor's IIN.
    pub actor: Option<Iin>,
    /// A target, or the start of one: `group:3`, or `group:` for every group.
    pub target: Option<String>,
    /// Exactly this action, e.g. `group.delete`.
    pub action: Option<String>,
    /// From this time on (inclusive).
    pub since: Option<DateTime<Utc>>,
    /// Before this time (exclusive).
    pub until: Option<DateTime<Utc>>,
}

/// A time as RFC 3339, or a date meaning its first instant in UTC.
pub fn parse_moment(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| format!("{text:?} is neither a date (2026-09-01) nor a time (2026-09-01T08:00:00Z)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_are_times_or_dates() {
        let t = parse_moment("2026-09-01T08:00:00+05:00").expect("a time");
        assert_eq!(t.to_rfc3339(), "2026-09-01T03:00:00+00:00");
        let d = parse_moment(" 2026-09-01 ").expect("a date");
        assert_eq!(d.to_rfc3339(), "2026-09-01T00:00:00+00:00");
        for bad in ["", "yesterday", "2026-13-01", "01.09.2026"] {
            assert!(parse_moment(bad).is_err(), "{bad:?}");
        }
    }
}
