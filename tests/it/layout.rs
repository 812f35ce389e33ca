//! The test binary's own layout: every suite file in `tests/it/` is a module of `main.rs`.

#[test]
fn every_suite_is_compiled() {
    edu_tests::assert_all_suites_declared(env!("CARGO_MANIFEST_DIR"), "it");
}
