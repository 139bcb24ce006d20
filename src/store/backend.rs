//! What differs between the three backends when writing rows: how a value is
//! bound, the upsert clause, and how many parameters one statement may carry.

use sqlx::query_builder::Separated;
use sqlx::{MySql, Postgres, QueryBuilder, Sqlite};

use crate::model::Value;
use crate::store::sqlite_time;

/// Per-backend SQL for the generic writers in `write`.
pub(crate) trait Dialect: sqlx::Database {
    /// The most bind parameters one statement may carry.
    const MAX_PARAMS: usize;

    /// Binds one column value as the next element of a `VALUES (…)` tuple.
    fn push_value(sep: &mut Separated<'_, Self, &'static str>, value: Value<'_>);

    /// Appends the clause that turns `INSERT … VALUES …` into an upsert by `id`,
    /// updating the given columns (never `id` itself).
    fn push_upsert(qb: &mut QueryBuilder<Self>, update: &[&str]);
}

/// `ON CONFLICT (id) DO UPDATE`, shared by SQLite and PostgreSQL.
fn on_conflict<DB: sqlx::Database>(qb: &mut QueryBuilder<DB>, update: &[&str]) {
    if update.is_empty() {
        qb.push(" ON CONFLICT (id) DO NOTHING");
        return;
    }
    qb.push(" ON CONFLICT (id) DO UPDATE SET ");
    for (i, c) in update.iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        qb.push(format_args!("{c} = excluded.{c}"));
    }
}

impl Dialect for Sqlite {
    // SQLITE_MAX_VARIABLE_NUMBER of the bundled SQLite.
    const MAX_PARAMS: usize = 32_766;

    fn push_value(sep: &mut Separated<'_, Self, &'static str>, value: Value<'_>) {
        match value {
            Value::Text(s) => sep.push_bind(s),
            Value::Timestamp(t) => sep.push_bind(t.map(sqlite_time::format)),
            Value::Real(x) => sep.push_bind(x),
            // Cents are bound as an integer and divided in SQL, so every backend
            // turns the same exact integer into its own number type.
            Value::Amount(c) => sep.push_bind(c).push_unseparated(" / 100.0"),
            Value::Bool(b) => sep.push_bind(b),
        };
    }

    fn push_upsert(qb: &mut QueryBuilder<Self>, update: &[&str]) {
        on_conflict(qb, update);
    }
}

impl Dialect for Postgres {
    const MAX_PARAMS: usize = 65_535;

    fn push_value(sep: &mut Separated<'_, Self, &'static str>, value: Value<'_>) {
        match value {
            Value::Text(s) => sep.push_bind(s),
            Value::Timestamp(t) => sep.push_bind(t),
            Value::Real(x) => sep.push_bind(x),
            // bigint / numeric is exact numeric division.
            Value::Amount(c) => sep.push_bind(c).push_unseparated(" / 100.0"),
            Value::Bool(b) => sep.push_bind(b),
        };
    }

    fn push_upsert(qb: &mut QueryBuilder<Self>, update: &[&str]) {
        on_conflict(qb, update);
    }
}

impl Dialect for MySql {
    const MAX_PARAMS: usize = 65_535;

    fn push_value(sep: &mut Separated<'_, Self, &'static str>, value: Value<'_>) {
        match value {
            Value::Text(s) => sep.push_bind(s),
            // DATETIME(6) holds the UTC wall clock; binding the naive value keeps
            // the server from applying any zone conversion.
            Value::Timestamp(t) => sep.push_bind(t.map(|t| t.naive_utc())),
            Value::Real(x) => sep.push_bind(x),
            // Integer / DECIMAL literal is exact DECIMAL division.
            Value::Amount(c) => sep.push_bind(c).push_unseparated(" / 100.0"),
            Value::Bool(b) => sep.push_bind(b),
        };
    }

    fn push_upsert(qb: &mut QueryBuilder<Self>, update: &[&str]) {
        qb.push(" ON DUPLICATE KEY UPDATE ");
        if update.is_empty() {
            qb.push("id = id");
            return;
        }
        for (i, c) in update.iter().enumerate() {
            if i > 0 {
                qb.push(", ");
            }
            qb.push(format_args!("{c} = VALUES({c})"));
        }
    }
}
