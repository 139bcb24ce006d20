//! Writing canonical rows: batched upserts inside one transaction.

use std::collections::HashSet;

use sqlx::{
    AssertSqlSafe, Database, Executor, IntoArguments, MySql, Postgres, QueryBuilder, Sqlite,
    Transaction,
};

use super::backend::Dialect;
use super::{Backend, Store, StoreError};
use crate::model::{Table, Values};

/// The columns of a table that an upsert writes. Columns left out keep their
/// value on rows that already exist and are null on new rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpsertColumns {
    table: Table,
    /// Indexes into `table.columns()`, ascending, always starting with `id` (0).
    present: Vec<usize>,
}

impl UpsertColumns {
    /// Every column of the table.
    pub fn all(table: Table) -> UpsertColumns {
        UpsertColumns {
            table,
            present: (0..table.columns().len()).collect(),
        }
    }

    /// The given columns (indexes into `table.columns()`); `id` is always included.
    pub fn new(table: Table, mut present: Vec<usize>) -> UpsertColumns {
        present.push(0);
        present.retain(|&i| i < table.columns().len());
        present.sort_unstable();
        present.dedup();
        UpsertColumns { table, present }
    }

    /// The table written.
    pub fn table(&self) -> Table {
        self.table
    }

    fn names(&self) -> Vec<&'static str> {
        self.present
            .iter()
            .map(|&i| self.table.columns()[i].name)
            .collect()
    }
}

/// Rows per statement: enough to amortise the round trip, few enough that the
/// statement stays small and within every backend's parameter limit.
const ROWS_PER_STATEMENT: usize = 2000;

/// Upsert statements with their values bound, ready for [`Tx::execute`].
///
/// Encoding is plain CPU work that needs no connection, so bulk loaders do it on
/// their own thread while the database executes the previous batch.
pub struct Encoded {
    table: Table,
    statements: Statements,
}

enum Statements {
    Sqlite(Vec<QueryBuilder<Sqlite>>),
    Postgres(Vec<QueryBuilder<Postgres>>),
    MySql(Vec<QueryBuilder<MySql>>),
}

impl Backend {
    /// Encodes the upsert of `rows` (see [`Tx::upsert`]) for this backend.
    pub fn encode_upsert<R: Values>(self, columns: &UpsertColumns, rows: &[R]) -> Encoded {
        let statements = match self {
            Backend::Sqlite => Statements::Sqlite(encode_on(columns, rows)),
            Backend::Postgres => Statements::Postgres(encode_on(columns, rows)),
            Backend::MySql => Statements::MySql(encode_on(columns, rows)),
        };
        Encoded {
            table: columns.table,
            statements,
        }
    }
}

/// A write transaction on the store. Dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
    MySql(Transaction<'static, MySql>),
}

impl Tx {
    pub(super) async fn begin(store: &Store) -> Result<Tx, StoreError> {
        let doing = "starting a transaction";
        Ok(match store {
            // IMMEDIATE takes the write lock up front: a transaction that reads
            // first and writes later could otherwise fail on a snapshot another
            // writer moved past, which the busy timeout does not retry.
            Store::Sqlite(p) => Tx::Sqlite(
                p.begin_with("BEGIN IMMEDIATE")
                    .await
                    .map_err(StoreError::query(doing))?,
            ),
            Store::Postgres(p) => Tx::Postgres(p.begin().await.map_err(StoreError::query(doing))?),
            Store::MySql(p) => Tx::MySql(p.begin().await.map_err(StoreError::query(doing))?),
        })
    }

    /// Inserts `rows`, or updates the rows with the same id, writing `columns`.
    ///
    /// Every row must visit all of the table's columns; only `columns` are written.
    /// No two rows may share an id. The same as [`Backend::encode_upsert`]
    /// followed by [`Tx::execute`].
    pub async fn upsert<R: Values + Sync>(
        &mut self,
        columns: &UpsertColumns,
        rows: &[R],
    ) -> Result<(), StoreError> {
        let encoded = self.backend().encode_upsert(columns, rows);
        self.execute(encoded).await
    }

    /// The backend this transaction runs on.
    pub fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
            Tx::MySql(_) => Backend::MySql,
        }
    }

    /// Runs statements made by [`Backend::encode_upsert`] for this backend.
    ///
    /// # Errors
    ///
    /// A database error, or statements encoded for another backend.
    pub async fn execute(&mut self, encoded: Encoded) -> Result<(), StoreError> {
        let table = encoded.table;
        let res = match (self, encoded.statements) {
            (Tx::Sqlite(tx), Statements::Sqlite(s)) => execute_on::<Sqlite>(tx, s).await,
            (Tx::Postgres(tx), Statements::Postgres(s)) => execute_on::<Postgres>(tx, s).await,
            (Tx::MySql(tx), Statements::MySql(s)) => execute_on::<MySql>(tx, s).await,
            _ => Err(sqlx::Error::Protocol(
                "statements encoded for another backend".into(),
            )),
        };
        res.map_err(StoreError::query(format!("writing {table}")))
    }

    /// Which of `ids` exist in `table` (as this transaction sees it).
    pub async fn existing_ids(
        &mut self,
        table: Table,
        ids: &[&str],
    ) -> Result<HashSet<String>, StoreError> {
        let res = match self {
            Tx::Sqlite(tx) => existing_on::<Sqlite>(tx, table, ids).await,
            Tx::Postgres(tx) => existing_on::<Postgres>(tx, table, ids).await,
            Tx::MySql(tx) => existing_on::<MySql>(tx, table, ids).await,
        };
        res.map_err(StoreError::query(format!("looking up ids in {table}")))
    }

    /// Deletes every row of the four canonical tables, in reverse reference order.
    pub async fn delete_lead_data(&mut self) -> Result<(), StoreError> {
        for table in Table::ALL.iter().rev() {
            let sql = format!("DELETE FROM {}", table.name());
            let res = match self {
                Tx::Sqlite(tx) => tx.execute(AssertSqlSafe(sql)).await.map(drop),
                Tx::Postgres(tx) => tx.execute(AssertSqlSafe(sql)).await.map(drop),
                Tx::MySql(tx) => tx.execute(AssertSqlSafe(sql)).await.map(drop),
            };
            res.map_err(StoreError::query(format!("deleting {table}")))?;
        }
        Ok(())
    }

    /// Sets one value of the store's own metadata (`handoff_meta`).
    pub async fn set_meta(&mut self, name: &str, value: &str) -> Result<(), StoreError> {
        let doing = format!("writing metadata {name}");
        let res = match self {
            Tx::Sqlite(tx) => {
                sqlx::query("INSERT INTO handoff_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value")
                    .bind(name)
                    .bind(value)
                    .execute(&mut **tx)
                    .await
                    .map(drop)
            }
            Tx::Postgres(tx) => {
                sqlx::query("INSERT INTO handoff_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value")
                    .bind(name)
                    .bind(value)
                    .execute(&mut **tx)
                    .await
                    .map(drop)
            }
            Tx::MySql(tx) => {
                sqlx::query("INSERT INTO handoff_meta (name, value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value)")
                    .bind(name)
                    .bind(value)
                    .execute(&mut **tx)
                    .await
                    .map(drop)
            }
        };
        res.map_err(StoreError::query(doing))
    }

    /// Removes one value of the store's own metadata, if present.
    pub async fn delete_meta(&mut self, name: &str) -> Result<(), StoreError> {
        let doing = format!("removing metadata {name}");
        let res = match self {
            Tx::Sqlite(tx) => sqlx::query("DELETE FROM handoff_meta WHERE name = ?")
                .bind(name)
                .execute(&mut **tx)
                .await
                .map(drop),
            Tx::Postgres(tx) => sqlx::query("DELETE FROM handoff_meta WHERE name = $1")
                .bind(name)
                .execute(&mut **tx)
                .await
                .map(drop),
            Tx::MySql(tx) => sqlx::query("DELETE FROM handoff_meta WHERE name = ?")
                .bind(name)
                .execute(&mut **tx)
                .await
                .map(drop),
        };
        res.map_err(StoreError::query(doing))
    }

    /// Makes everything written in the transaction permanent.
    pub async fn commit(self) -> Result<(), StoreError> {
        let doing = "committing";
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
            Tx::MySql(tx) => tx.commit().await,
        }
        .map_err(StoreError::query(doing))
    }

    /// Discards everything written in the transaction.
    pub async fn rollback(self) -> Result<(), StoreError> {
        let doing = "rolling back";
        match self {
            Tx::Sqlite(tx) => tx.rollback().await,
            Tx::Postgres(tx) => tx.rollback().await,
            Tx::MySql(tx) => tx.rollback().await,
        }
        .map_err(StoreError::query(doing))
    }
}

fn encode_on<DB, R>(columns: &UpsertColumns, rows: &[R]) -> Vec<QueryBuilder<DB>>
where
    DB: Dialect,
    R: Values,
    <DB as Database>::Arguments: Default,
{
    let names = columns.names();
    let per_statement = (DB::MAX_PARAMS / names.len()).min(ROWS_PER_STATEMENT);
    let head = format!(
        "INSERT INTO {} ({}) ",
        columns.table.name(),
        names.join(", ")
    );
    rows.chunks(per_statement)
        .map(|chunk| {
            let mut qb = QueryBuilder::<DB>::new(head.as_str());
            qb.push_values(chunk, |mut sep, row| {
                let mut next = columns.present.iter().peekable();
                let mut i = 0;
                row.visit(&mut |value| {
                    if next.peek() == Some(&&i) {
                        next.next();
                        DB::push_value(&mut sep, value);
                    }
                    i += 1;
                });
            });
            DB::push_upsert(&mut qb, &names[1..]);
            qb
        })
        .collect()
}

async fn execute_on<DB>(
    conn: &mut DB::Connection,
    statements: Vec<QueryBuilder<DB>>,
) -> Result<(), sqlx::Error>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    <DB as Database>::Arguments: IntoArguments<DB>,
{
    for mut qb in statements {
        qb.build().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn existing_on<DB>(
    conn: &mut DB::Connection,
    table: Table,
    ids: &[&str],
) -> Result<HashSet<String>, sqlx::Error>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    (String,): for<'r> sqlx::FromRow<'r, DB::Row>,
    <DB as Database>::Arguments: IntoArguments<DB> + Default,
{
    let mut found = HashSet::with_capacity(ids.len());
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let mut qb =
            QueryBuilder::<DB>::new(format!("SELECT id FROM {} WHERE id IN (", table.name()));
        let mut sep = qb.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        qb.push(")");
        let rows: Vec<String> = qb.build_query_scalar().fetch_all(&mut *conn).await?;
        found.extend(rows);
    }
    Ok(found)
}
