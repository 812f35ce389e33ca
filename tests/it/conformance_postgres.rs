//! The conformance suite on PostgreSQL (`EDU_TEST_DATABASE_URL`, or a container where Docker runs).
edu_core::conformance_tests!(
    edu_core::conformance::pg_fixture,
    #[cfg_attr(edu_skip_postgres, ignore = "no PostgreSQL: set EDU_TEST_DATABASE_URL")]
);
