//! The conformance suite on PostgreSQL through PgBouncer in transaction mode
//! (`EDU_TEST_PGBOUNCER_URL`; edu runs with `EDU_PGBOUNCER=transaction`).
edu_core::conformance_tests!(
    edu_core::conformance::pgbouncer_fixture,
    #[cfg_attr(edu_skip_pgbouncer, ignore = "no PgBouncer: set EDU_TEST_PGBOUNCER_URL")]
);
