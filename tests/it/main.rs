//! Every cross-crate suite, in one test binary: linking sqlx, warp, reqwest and object_store once
//! instead of once per suite is most of a fresh test build's time.
//!
//! A suite is a module here. `layout::every_suite_is_compiled` fails when a `.rs` file in this
//! folder is not declared below, so a new suite cannot be left out silently.

mod conformance_pgbouncer;
mod conformance_postgres;
mod conformance_s3;
mod conformance_sqlite;
mod grade_queries;
mod http_accounts;
mod http_audit;
mod http_auth;
mod http_caching;
mod http_contract;
mod http_files;
mod http_grades;
mod http_i18n;
mod http_import;
mod http_legacy_admin;
mod http_lessons_compat;
mod http_proxies;
mod http_security;
mod http_structure;
mod http_tests;
mod import_rules;
mod layout;
mod legacy_import;
mod outage;
