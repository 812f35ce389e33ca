//! The conformance suite on SQLite, the embedded default.
edu_core::conformance_tests!(edu_core::conformance::sqlite_fixture);
