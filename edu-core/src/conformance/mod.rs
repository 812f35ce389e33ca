//! The backend conformance suite: the same behaviour checks, run against every `Store`.
//!
//! A backend's test file calls [`conformance_tests!`](crate::conformance_tests) with a function
//! that returns a fresh [`Fixture`] (or `None` when that backend is unavailable and may be skipped).

pub mod harness;
pub mod suite;

pub use harness::{Fixture, TestClock, pg_fixture, pg_fixture_at, pgbouncer_fixture, sqlite_fixture};

/// Expands to one `#[tokio::test]` per check of the suite, each on a fresh database. Attributes
/// after the fixture go on every test, e.g. a `cfg_attr(…, ignore = "…")` that shows a backend
/// the test run cannot reach as ignored rather than passed.
#[macro_export]
macro_rules! conformance_tests {
    ($fixture:path $(, #[$attr:meta])* $(,)?) => {
        $crate::conformance_tests!(@each $fixture, [$(#[$attr])*];
            bootstrap_admin_is_created_once,
            login_returns_tokens_that_authenticate,
            wrong_password_and_unknown_iin_answer_alike,
            malformed_input_is_a_validation_error,
            python_bcrypt_hashes_log_in,
            throttle_locks_on_fifth_failure_even_for_right_password,
            throttle_failures_expire,
            throttle_lock_ends_after_five_minutes,
            success_clears_failures,
            per_address_limit_answers_too_many_requests,
            throttle_is_shared_between_processes,
            parallel_failures_are_all_counted,
            racing_guesses_check_no_more_passwords_than_the_policy,
            abandoned_password_checks_do_not_lock_the_account,
            a_password_an_admin_chose_must_be_changed_first,
            change_password_guesses_are_throttled,
            refresh_rotates_and_reuse_revokes_family,
            logout_revokes_access_and_refresh_tokens,
            change_password_revokes_earlier_tokens,
            reset_password_requires_change_and_revokes,
            deleted_user_token_is_rejected,
            phone_is_unique_only_when_present,
            duplicate_iin_is_a_conflict,
            admins_cannot_be_deleted,
            only_admins_manage_users,
            users_are_listed_in_pages,
            user_lookup_by_iin,
            modules_are_visible_by_role_and_link,
            subject_titles_are_unique_per_module_ignoring_case,
            group_names_are_unique,
            delete_group_with_users_keeps_admins,
            deleting_a_module_cascades_to_subjects_only,
            homework_keeps_history_and_grades_are_audited,
            audit_records_commit_with_their_changes,
            deleting_users_removes_their_files_and_keeps_grades_they_gave,
            fsck_finds_and_repairs_orphans_and_missing_files,
            fsck_repair_needs_the_marker_and_a_plausible_store,
            a_store_is_marked_only_when_it_is_the_databases,
            stale_files_are_swept_after_the_grace_period,
            sweeping_spares_uploads_in_flight_on_another_process,
            tests_never_show_answers_to_students_and_score_fairly,
            attempts_keep_time_limits_and_saved_answers,
            concurrent_submissions_are_stored_once_each,
            grade_summary_matches_the_records,
            expired_attempts_are_scored_with_their_own_test,
            homework_is_refused_where_the_cell_is_a_test,
            gradebook_rows_equal_summaries,
            a_teacher_for_a_missing_subject_is_not_found,
        );
    };
    (@each $fixture:path; $($name:ident),* $(,)?) => {
        $crate::conformance_tests!(@each $fixture, []; $($name),*);
    };
    // One test a step, so that the attributes repeat inside each test, not alongside the names.
    (@each $fixture:path, [$($attrs:tt)*]; $name:ident $(, $rest:ident)* $(,)?) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $($attrs)*
        async fn $name() {
            let Some(fx) = $fixture().await else { return };
            $crate::conformance::suite::$name(fx).await;
        }
        $crate::conformance_tests!(@each $fixture, [$($attrs)*]; $($rest),*);
    };
    (@each $fixture:path, [$($attrs:tt)*];) => {};
}
