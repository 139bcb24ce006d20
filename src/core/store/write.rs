//! Writing canonical rows: batched upserts inside one transaction.

use std::any::Any;
use std::collections::HashSet;
use std::sync::Arc;

use super::StoreError;
use super::db::{Ops, TxOps};
use super::dialect::Dialect;
use crate::model::{Table, Value, Values};

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

    /// Calls `f` with the value of each written column of row `row`.
    pub(super) fn visit<'a>(&self, rows: &'a dyn RowSet, row: usize, f: &mut dyn FnMut(Value<'a>)) {
        let mut next = self.present.iter().peekable();
        let mut i = 0;
        rows.visit(row, &mut |value| {
            if next.peek() == Some(&&i) {
                next.next();
                f(value);
            }
            i += 1;
        });
    }

    /// The names of the written columns, `id` first.
    pub(super) fn names(&self) -> Vec<&'static str> {
        self.present
            .iter()
            .map(|&i| self.table.columns()[i].name)
            .collect()
    }
}

/// Rows of one table, seen one at a time: what an upsert encodes.
pub trait RowSet: Sync {
    /// How many rows there are.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Calls `f` with each column value of row `i`, in [`Table::columns`] order.
    fn visit<'a>(&'a self, i: usize, f: &mut dyn FnMut(Value<'a>));
}

impl<R: Values + Sync> RowSet for &[R] {
    fn len(&self) -> usize {
        <[R]>::len(self)
    }

    fn visit<'a>(&'a self, i: usize, f: &mut dyn FnMut(Value<'a>)) {
        self[i].visit(f);
    }
}

/// Upsert statements with their values bound, ready for [`Tx::execute`].
///
/// Encoding is plain CPU work that needs no connection, so bulk loaders do it on
/// their own thread (through an [`Encoder`]) while the database executes the
/// previous batch.
pub struct Encoded {
    pub(super) table: Table,
    /// What the backend's [`Dialect::encode_rows`] made.
    pub(super) rows: Box<dyn Any + Send>,
}

/// Encodes upserts for one store, on any thread.
#[derive(Clone)]
pub struct Encoder {
    db: Arc<dyn Ops>,
}

impl Encoder {
    pub(super) fn new(db: Arc<dyn Ops>) -> Encoder {
        Encoder { db }
    }

    /// Encodes the upsert of `rows` (see [`Tx::upsert`]).
    pub fn upsert<R: Values + Sync>(&self, columns: &UpsertColumns, rows: &[R]) -> Encoded {
        self.db.encode(columns, &rows)
    }
}

/// Encodes an upsert for one backend.
pub(super) fn encode_upsert<DB: Dialect>(columns: &UpsertColumns, rows: &dyn RowSet) -> Encoded {
    Encoded {
        table: columns.table,
        rows: DB::encode_rows(columns, rows),
    }
}

/// A write transaction on the store. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx {
    ops: Box<dyn TxOps>,
}

impl Tx {
    pub(super) fn new(ops: Box<dyn TxOps>) -> Tx {
        Tx { ops }
    }

    /// Inserts `rows`, or updates the rows with the same id, writing `columns`.
    ///
    /// Every row must visit all of the table's columns; only `columns` are written.
    /// No two rows may share an id. The same as [`Encoder::upsert`] followed by
    /// [`Tx::execute`].
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn upsert<R: Values + Sync>(
        &mut self,
        columns: &UpsertColumns,
        rows: &[R],
    ) -> Result<(), StoreError> {
        let encoded = self.ops.encode(columns, &rows);
        self.execute(encoded).await
    }

    /// Runs statements made by the [`Encoder`] of this transaction's store.
    ///
    /// # Errors
    ///
    /// A database error, or statements encoded for another store's backend.
    pub async fn execute(&mut self, encoded: Encoded) -> Result<(), StoreError> {
        self.ops.execute(encoded).await
    }

    /// Which of `ids` exist in `table` (as this transaction sees it).
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn existing_ids(
        &mut self,
        table: Table,
        ids: &[&str],
    ) -> Result<HashSet<String>, StoreError> {
        self.ops.existing_ids(table, ids).await
    }

    /// Deletes every row of the four canonical tables, in reverse reference order.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn delete_lead_data(&mut self) -> Result<(), StoreError> {
        self.ops.delete_lead_data().await
    }

    /// Deletes everything the daemon recorded about the lead data: results
    /// history, closed periods, alert state and events, the notification log,
    /// the outbox and the SLA's change log. `handoff_meta` stays.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn delete_daemon_state(&mut self) -> Result<(), StoreError> {
        self.ops.delete_daemon_state().await
    }

    /// Sets one value of the store's own metadata (`handoff_meta`).
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn set_meta(&mut self, name: &str, value: &str) -> Result<(), StoreError> {
        self.ops.set_meta(name, value).await
    }

    /// Removes one value of the store's own metadata, if present.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn delete_meta(&mut self, name: &str) -> Result<(), StoreError> {
        self.ops.delete_meta(name).await
    }

    /// Makes everything written in the transaction permanent.
    ///
    /// # Errors
    ///
    /// A database error; nothing was written then.
    pub async fn commit(self) -> Result<(), StoreError> {
        self.ops.commit().await
    }

    /// Discards everything written in the transaction.
    ///
    /// # Errors
    ///
    /// The database could not be told; it discards the writes all the same.
    pub async fn rollback(self) -> Result<(), StoreError> {
        self.ops.rollback().await
    }
}
