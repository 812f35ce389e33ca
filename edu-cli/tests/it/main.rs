//! The command-line tests, in one test binary: each suite runs the real `edu` binary.
//!
//! A suite is a module here; `every_suite_is_compiled` fails when a `.rs` file in this folder is
//! not declared below.

mod backup_cli;
mod common;
mod config_cli;
mod crash;
mod export_cli;
mod fsck_cli;
mod groups_cli;
mod import_cli;
mod legacy_cli;
mod metrics_cli;
mod multi_node;
mod seed_cli;

#[test]
fn every_suite_is_compiled() {
    edu_tests::assert_all_suites_declared(env!("CARGO_MANIFEST_DIR"), "tests/it");
}
