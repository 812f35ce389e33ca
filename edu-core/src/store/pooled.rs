//! Where a statement outside a transaction runs: on a connection from the pool, or, through a
//! connection pooler in transaction mode (PgBouncer's `pool_mode = transaction`), inside a
//! transaction of its own.
//!
//! sqlx runs a statement in two exchanges with the server: it parses and describes the statement
//! and waits for the answer, then binds and executes it. A pooler in transaction mode is free to
//! hand the second exchange to another server connection once the first has ended outside a
//! transaction, and that connection has never seen the statement. Inside `BEGIN … COMMIT` both
//! exchanges stay on one server connection.

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream};
use futures_util::{FutureExt, StreamExt, TryStreamExt};
use sqlx::{Database, Describe, Either, Error, Execute, Executor, Pool};

use super::Pooler;

/// An executor over a pool that keeps each statement's exchanges on one server connection when
/// the pool reaches the database through a transaction-mode pooler.
pub(crate) struct Pooled<'p, DB: Database> {
    pool: &'p Pool<DB>,
    own_transaction: bool,
}

impl<'p, DB: Database> Pooled<'p, DB> {
    pub(crate) fn new(pool: &'p Pool<DB>, pooler: Pooler) -> Self {
        Self {
            pool,
            own_transaction: pooler == Pooler::Transaction,
        }
    }
}

impl<DB: Database> std::fmt::Debug for Pooled<'_, DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pooled")
            .field("pool", self.pool)
            .field("own_transaction", &self.own_transaction)
            .finish()
    }
}

impl<'p, DB: Database> Executor<'p> for Pooled<'p, DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    type Database = DB;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Either<DB::QueryResult, DB::Row>, Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        if !self.own_transaction {
            return self.pool.fetch_many(query);
        }
        let pool = self.pool.clone();
        stream::once(async move {
            let mut tx = pool.begin().await?;
            let steps: Vec<_> = (&mut *tx).fetch_many(query).try_collect().await?;
            tx.commit().await?;
            Ok::<_, Error>(stream::iter(steps.into_iter().map(Ok)))
        })
        .try_flatten()
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<DB::Row>, Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, DB>,
    {
        if !self.own_transaction {
            return self.pool.fetch_optional(query);
        }
        let pool = self.pool.clone();
        async move {
            let mut tx = pool.begin().await?;
            let row = (&mut *tx).fetch_optional(query).await?;
            tx.commit().await?;
            Ok(row)
        }
        .boxed()
    }

    fn prepare_with<'e>(
        self,
        sql: sqlx::SqlStr,
        parameters: &'e [DB::TypeInfo],
    ) -> BoxFuture<'e, Result<DB::Statement, Error>>
    where
        'p: 'e,
    {
        self.pool.prepare_with(sql, parameters)
    }

    fn describe<'e>(self, sql: sqlx::SqlStr) -> BoxFuture<'e, Result<Describe<DB>, Error>>
    where
        'p: 'e,
    {
        self.pool.describe(sql)
    }
}
