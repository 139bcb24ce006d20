//! handoff's own tables (`handoff_*`), beside the lead data in the same
//! database, written once for every backend like the rest of the store.
//!
//! Today that is `handoff_meta`, a small key–value table of facts about the
//! database (which demo generated its data). The daemon's tables (alert state,
//! notification log, outbox, silences, results history, lease) belong here too:
//! each statement a function generic over [`Dialect`], run on the connection of
//! a read or write transaction.

use sqlx::QueryBuilder;

use super::StoreError;
use super::db::{failed, stream_rows};
use super::dialect::{Dialect, Typed};

/// The value of `key` in `handoff_meta`.
pub(super) async fn meta<DB: Dialect>(
    conn: &mut DB::Connection,
    key: &str,
) -> Result<Option<String>, StoreError> {
    let mut qb = QueryBuilder::<DB>::new("SELECT value FROM handoff_meta WHERE name = ");
    <DB as Typed<String>>::bind(&mut qb, key.to_owned());
    let mut value = None;
    stream_rows(conn, &mut qb, &format!("reading metadata {key}"), |row| {
        value = Some(<DB as Typed<String>>::get(row, 0)?);
        Ok(())
    })
    .await?;
    Ok(value)
}

/// Sets `name` to `value` in `handoff_meta`.
pub(super) async fn set_meta<DB: Dialect>(
    conn: &mut DB::Connection,
    name: &str,
    value: &str,
) -> Result<(), StoreError> {
    let mut qb = QueryBuilder::<DB>::new("INSERT INTO handoff_meta (name, value) VALUES (");
    let mut sep = qb.separated(", ");
    <DB as Typed<String>>::bind_sep(&mut sep, name.to_owned());
    <DB as Typed<String>>::bind_sep(&mut sep, value.to_owned());
    qb.push(")");
    DB::push_upsert(&mut qb, "name", &["value"]);
    DB::execute(conn, &mut qb)
        .await
        .map_err(failed::<DB>(format!("writing metadata {name}")))?;
    Ok(())
}

/// Removes `name` from `handoff_meta`, if present.
pub(super) async fn delete_meta<DB: Dialect>(
    conn: &mut DB::Connection,
    name: &str,
) -> Result<(), StoreError> {
    let mut qb = QueryBuilder::<DB>::new("DELETE FROM handoff_meta WHERE name = ");
    <DB as Typed<String>>::bind(&mut qb, name.to_owned());
    DB::execute(conn, &mut qb)
        .await
        .map_err(failed::<DB>(format!("removing metadata {name}")))?;
    Ok(())
}
