//! The OpenAPI 3.1 document, generated from the handlers' annotations and the schema types.

use edu_core::policy::Guard;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    access, admin_audit, admin_groups, admin_modules, admin_users, auth, grades, import, lessons, root, tests, user,
};

/// The OpenAPI document of every route, built by `ApiDoc::openapi()` and served at `/openapi.json`
/// when `EDU_API_DOCS` is set.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "edu",
        description = "Backend of an educational platform. Errors are `{\"detail\", \"code\"}`."
    ),
    paths(
        root::welcome, root::healthz, root::readyz, root::openapi,
        auth::login, auth::token, auth::check, auth::refresh, auth::logout,
        user::by_iin, user::update_phone, user::change_password, user::upload_photo,
        admin_users::create, admin_users::list, admin_users::delete, admin_users::reset_password,
        admin_users::update, admin_users::suspend, admin_users::reactivate, admin_users::unlock,
        admin_audit::list,
        admin_groups::create, admin_groups::list, admin_groups::read, admin_groups::update, admin_groups::move_members,
        admin_groups::delete,
        admin_groups::delete_with_users, admin_groups::add_users, admin_groups::members, admin_groups::remove_user,
        import::upload,
        import::upload_teachers,
        admin_modules::create, admin_modules::list, admin_modules::with_teachers, admin_modules::read,
        admin_modules::update, admin_modules::patch, admin_modules::update_subject, admin_modules::delete,
        admin_modules::add_subject, admin_modules::delete_subject,
        access::overview, access::group_to_module, access::teacher_to_subject, access::module_groups,
        access::admin_modules, access::admin_module, access::my_modules, access::my_module,
        access::teacher_modules, access::teacher_module, access::teacher_subjects, access::subject_lessons,
        access::link_subject_group, access::unlink_subject_group, access::lesson,
        lessons::create, lessons::read, lessons::update, lessons::delete, lessons::upload_file, lessons::submit,
        lessons::my_submissions, lessons::submissions, lessons::delete_submission, lessons::grade,
        lessons::download, lessons::photo, lessons::static_document, lessons::static_homework,
        tests::create, tests::read, tests::update, tests::delete, tests::by_subject, tests::submit, tests::start,
        tests::save, tests::finish, tests::my_results, tests::lesson_results, tests::delete_result,
        grades::my_grades, grades::my_summary, grades::export_summary, grades::gradebook, grades::export_gradebook,
    ),
    modifiers(&BearerAuth, &ResponseDescriptions, &GuardRules),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The guards' rules, from the policy that enforces them, in the document's description.
struct GuardRules;

impl Modify for GuardRules {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let rules: Vec<String> = Guard::ALL
            .iter()
            .map(|g| format!("`{}`: {}", g.as_str(), g.rule()))
            .collect();
        let text = format!(
            "{} Every operation lists its guard in `x-guard`: {}.",
            openapi.info.description.as_deref().unwrap_or_default(),
            rules.join("; ")
        );
        openapi.info.description = Some(text);
    }
}

/// Every response object needs a description (OpenAPI 3.1); a response declared without one gets the
/// status code's reason phrase. Every operation that takes a body may also answer 408 when the
/// client stops sending it, and every one that needs the database or the file store 503 while
/// they cannot be reached.
struct ResponseDescriptions;

impl Modify for ResponseDescriptions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        for (path, item) in openapi.paths.paths.iter_mut() {
            let needs_storage = !matches!(path.as_str(), "/" | "/healthz" | "/openapi.json");
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for operation in operations.into_iter().flatten() {
                if operation.request_body.is_some() && !operation.responses.responses.contains_key("408") {
                    let stalled = utoipa::openapi::ResponseBuilder::new()
                        .description("Request Timeout: the client stopped sending the body")
                        .content(
                            "application/json",
                            utoipa::openapi::ContentBuilder::new()
                                .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                                .build(),
                        )
                        .build();
                    operation.responses.responses.insert("408".into(), stalled.into());
                }
                if needs_storage && !operation.responses.responses.contains_key("503") {
                    let away = utoipa::openapi::ResponseBuilder::new()
                        .description(
                            "Service Unavailable: the database or the file store cannot be reached; \
                             Retry-After says when to try again",
                        )
                        .content(
                            "application/json",
                            utoipa::openapi::ContentBuilder::new()
                                .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                                .build(),
                        )
                        .build();
                    operation.responses.responses.insert("503".into(), away.into());
                }
                for (status, response) in &mut operation.responses.responses {
                    if let RefOr::T(response) = response
                        && response.description.is_empty()
                    {
                        response.description = reason_phrase(status);
                    }
                }
            }
        }
    }
}

fn reason_phrase(status: &str) -> String {
    status
        .parse::<u16>()
        .ok()
        .and_then(|code| http::StatusCode::from_u16(code).ok())
        .and_then(|code| code.canonical_reason())
        .unwrap_or("Response")
        .to_owned()
}

/// The document served at `/openapi.json`.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

#[cfg(test)]
mod guard_tests {
    use std::collections::HashSet;

    use edu_core::policy::Guard;

    /// Every operation has an `x-guard`, each one of the policy's guards, and every guard is used.
    #[test]
    fn every_operation_has_one_of_the_policys_guards() {
        let doc = serde_json::to_value(super::document()).expect("the document as JSON");
        let paths = doc["paths"].as_object().expect("paths");
        let mut used = HashSet::new();
        let mut operations = 0;
        for (path, item) in paths {
            for (method, op) in item.as_object().expect("a path item") {
                if !op.is_object() || op.get("responses").is_none() {
                    continue;
                }
                operations += 1;
                let text = op["x-guard"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{method} {path} has no x-guard"));
                let guard = Guard::parse(text).unwrap_or_else(|| panic!("{method} {path}: {text:?} is no guard"));
                used.insert(guard);
            }
        }
        assert!(operations > 80, "{operations} operations");
        for guard in Guard::ALL {
            assert!(used.contains(&guard), "no operation uses {guard}");
        }
    }
}
