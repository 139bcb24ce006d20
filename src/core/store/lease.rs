//! The leader's lease (`handoff_lease`, docs/DAEMON.md "Two daemons, one
//! mailer"): which of several daemons sharing one PostgreSQL or MySQL/MariaDB
//! database records and sends, judged by the database's clock.
//!
//! One row, `leader`. A daemon *claims* it in a write transaction that locks
//! the row: the holder renews a lease that has not expired; anyone takes one
//! that has, and the fencing `token` grows by one. Every write of the
//! daemon's record first reads the row under a shared lock ([`check`]) and is
//! refused when the token is no longer the writer's, so a daemon that lost the
//! lease cannot write after a newer leader took it: a takeover waits for the
//! write in progress to commit, and no write of the old token commits after.
//!
//! SQLite has no lease: one daemon per file (a lock beside it).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

use super::db::{failed, stream_rows};
use super::dialect::{Dialect, Typed};
use super::{Backend, StoreError};

/// The lease as the database holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The daemon that holds (or last held) it (`--instance`).
    pub holder: String,
    /// The fencing token: one more for every new leadership.
    pub token: i64,
    /// When its holder took it.
    pub acquired_at: DateTime<Utc>,
    /// When it runs out, by the database's clock.
    pub expires_at: DateTime<Utc>,
}

/// What a claim of the lease came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The claimant holds the lease (renewed, or taken with a new token).
    Held(Lease),
    /// Another daemon holds it, until its `expires_at`.
    Other(Lease),
}

/// The database's clock, in the backend's words.
fn now<DB: Dialect>() -> &'static str {
    match DB::BACKEND {
        Backend::MySql => "CURRENT_TIMESTAMP(6)",
        Backend::Postgres | Backend::Sqlite => "now()",
    }
}

/// `now + ttl` by the database's clock; the microseconds are bound.
fn push_expiry<DB: Dialect>(qb: &mut QueryBuilder<DB>, ttl: Duration) {
    let micros = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX);
    match DB::BACKEND {
        Backend::MySql => {
            qb.push("DATE_ADD(CURRENT_TIMESTAMP(6), INTERVAL ");
            <DB as Typed<i64>>::bind(qb, micros);
            qb.push(" MICROSECOND)");
        }
        Backend::Postgres | Backend::Sqlite => {
            qb.push("now() + make_interval(secs => ");
            <DB as Typed<f64>>::bind(qb, micros as f64 / 1e6);
            qb.push(")");
        }
    }
}

/// The lease in the first four columns of `row`: holder, token, acquired
/// and expiry times.
fn lease_of<DB: Dialect>(row: &DB::Row) -> Result<Lease, sqlx::Error> {
    Ok(Lease {
        holder: <DB as Typed<String>>::get(row, 0)?,
        token: <DB as Typed<i64>>::get(row, 1)?,
        acquired_at: DB::get_time(row, 2)?.unwrap_or_default(),
        expires_at: DB::get_time(row, 3)?.unwrap_or_default(),
    })
}

fn refuse_sqlite<DB: Dialect>() -> Result<(), StoreError> {
    if DB::BACKEND == Backend::Sqlite {
        return Err(StoreError::NoLease);
    }
    Ok(())
}

/// Claims the lease for `holder`, which holds `token` now (or none): renews
/// it when `holder` holds it with that token and it has not run out, takes it
/// with the next token when it has run out, and otherwise reports who holds
/// it. Runs inside a write transaction (the row stays locked until it ends).
pub(super) async fn claim<DB: Dialect>(
    conn: &mut DB::Connection,
    holder: &str,
    token: Option<i64>,
    ttl: Duration,
) -> Result<Claim, StoreError> {
    refuse_sqlite::<DB>()?;
    let doing = "claiming the leader's lease";
    let ignore = match DB::BACKEND {
        Backend::MySql => "INSERT IGNORE INTO",
        _ => "INSERT INTO",
    };
    // The row, expired from the start, on the first claim ever.
    let mut qb = QueryBuilder::<DB>::new(format!(
        "{ignore} handoff_lease (name, holder, token, acquired_at, expires_at) \
         VALUES ('leader', '', 0, {now}, {now})",
        now = now::<DB>()
    ));
    if DB::BACKEND == Backend::Postgres {
        qb.push(" ON CONFLICT (name) DO NOTHING");
    }
    DB::execute(conn, &mut qb)
        .await
        .map_err(failed::<DB>(doing))?;
    let mut qb = QueryBuilder::<DB>::new(format!(
        "SELECT holder, token, acquired_at, expires_at, {live} \
         FROM handoff_lease WHERE name = 'leader' FOR UPDATE",
        live = DB::int(&format!(
            "CASE WHEN expires_at > {} THEN 1 ELSE 0 END",
            now::<DB>()
        ))
    ));
    let mut found = None;
    stream_rows(conn, &mut qb, doing, |row| {
        found = Some((lease_of::<DB>(row)?, <DB as Typed<i64>>::get(row, 4)? == 1));
        Ok(())
    })
    .await?;
    let Some((lease, live)) = found else {
        return Err(StoreError::Deadline {
            doing: "reading the leader's lease (the row is missing)".to_owned(),
        });
    };
    let ours = live && lease.holder == holder && Some(lease.token) == token;
    if live && !ours {
        return Ok(Claim::Other(lease));
    }
    let mut qb = QueryBuilder::<DB>::new("UPDATE handoff_lease SET expires_at = ");
    push_expiry(&mut qb, ttl);
    let token = if ours {
        lease.token
    } else {
        qb.push(format!(", acquired_at = {}, holder = ", now::<DB>()));
        <DB as Typed<String>>::bind(&mut qb, holder.to_owned());
        qb.push(", token = token + 1");
        lease.token + 1
    };
    qb.push(" WHERE name = 'leader'");
    DB::execute(conn, &mut qb)
        .await
        .map_err(failed::<DB>(doing))?;
    // Read back, for the times the database gave.
    let mut qb = QueryBuilder::<DB>::new(
        "SELECT holder, token, acquired_at, expires_at FROM handoff_lease WHERE name = 'leader'",
    );
    let mut held = None;
    stream_rows(conn, &mut qb, doing, |row| {
        held = Some(lease_of::<DB>(row)?);
        Ok(())
    })
    .await?;
    match held {
        Some(l) if l.token == token => Ok(Claim::Held(l)),
        _ => Err(StoreError::Deadline {
            doing: "reading the leader's lease back".to_owned(),
        }),
    }
}

/// Ends `holder`'s lease with `token` now (a clean stop), so that another
/// daemon takes over at once rather than after the lease runs out.
pub(super) async fn release<DB: Dialect>(
    conn: &mut DB::Connection,
    holder: &str,
    token: i64,
) -> Result<(), StoreError> {
    refuse_sqlite::<DB>()?;
    let mut qb = QueryBuilder::<DB>::new(format!(
        "UPDATE handoff_lease SET expires_at = {} WHERE name = 'leader' AND holder = ",
        now::<DB>()
    ));
    <DB as Typed<String>>::bind(&mut qb, holder.to_owned());
    qb.push(" AND token = ");
    <DB as Typed<i64>>::bind(&mut qb, token);
    DB::execute(conn, &mut qb)
        .await
        .map_err(failed::<DB>("releasing the leader's lease"))?;
    Ok(())
}

/// The fence of a write of the record: in the write's own transaction, reads
/// the lease's token under a shared lock (held until the write commits, so a
/// takeover waits for it) and refuses the write unless it is still `token`.
pub(super) async fn check<DB: Dialect>(
    conn: &mut DB::Connection,
    token: i64,
) -> Result<(), StoreError> {
    refuse_sqlite::<DB>()?;
    let lock = match DB::BACKEND {
        Backend::MySql => "LOCK IN SHARE MODE",
        _ => "FOR SHARE",
    };
    let mut qb = QueryBuilder::<DB>::new(format!(
        "SELECT holder, token FROM handoff_lease WHERE name = 'leader' {lock}"
    ));
    let mut now = None;
    stream_rows(conn, &mut qb, "checking the leader's lease", |row| {
        now = Some((
            <DB as Typed<String>>::get(row, 0)?,
            <DB as Typed<i64>>::get(row, 1)?,
        ));
        Ok(())
    })
    .await?;
    match now {
        Some((_, t)) if t == token => Ok(()),
        Some((holder, t)) => Err(StoreError::Fenced {
            token,
            newer: Some((holder, t)),
        }),
        None => Err(StoreError::Fenced { token, newer: None }),
    }
}
