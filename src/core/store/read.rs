//! The evaluator's reads: each the one question a measure asks of the leads of
//! a window, answered by one statement in which the database does the counting.
//!
//! The leads of a window are found through the index on `mql_at` or
//! `closed_at`; each lead's touches and deals through correlated subqueries
//! (on PostgreSQL, `LATERAL` joins) on `touches(lead_id, occurred_at)` and
//! `deals(lead_id)`, so the cost follows the leads of the window, never the
//! history. What comes back is what the measure needs: counts per group, a
//! histogram of the leads given up on by attempts with the first few of each
//! group, a histogram of the cohort by reach and conversion with revenue in
//! exact cents. Only `first_attempts` returns a row per lead, since a deadline
//! in business hours is not SQL arithmetic. Memory follows the number of groups
//! and named offenders, never the rows of a window.
//!
//! SQL text is built only from the fixed fragments below; the group column comes
//! from an allowlist keyed by [`GroupBy`], and every value is a bound parameter.

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

use super::db::ReadOps;
use super::dialect::{Dialect, Typed};
use super::{Backend, StoreError};
use crate::model::{GroupBy, Table};

/// Which indexed lead timestamp selects a window's leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LeadRange {
    /// `leads.mql_at` (index `leads_mql_at`).
    MqlAt,
    /// `leads.closed_at` (index `leads_closed_at`).
    ClosedAt,
}

impl LeadRange {
    fn column(self) -> &'static str {
        match self {
            LeadRange::MqlAt => "l.mql_at",
            LeadRange::ClosedAt => "l.closed_at",
        }
    }
}

/// The SQL expression a group is read from, and the join it needs. An allowlist:
/// nothing of the rule file reaches the SQL text but this choice.
fn group_sql(by: Option<GroupBy>) -> (&'static str, &'static str) {
    match by {
        None => ("NULL", ""),
        Some(GroupBy::Channel) => ("l.channel", ""),
        Some(GroupBy::Campaign) => ("l.campaign", ""),
        Some(GroupBy::Segment) => ("l.segment", ""),
        Some(GroupBy::Owner) => ("r.team", " LEFT JOIN reps r ON r.id = l.owner_id"),
        Some(GroupBy::Rep) => ("l.owner_id", ""),
    }
}

/// `GROUP BY g` when results are split; without `by` the whole window is one
/// group, and grouping by a constant would only cost a sort.
fn group_by<DB: Dialect>(qb: &mut QueryBuilder<DB>, by: Option<GroupBy>) {
    if by.is_some() {
        qb.push(" GROUP BY g");
    }
}

/// What is open at `at`: a lead sales has neither closed, accepted nor
/// rejected before then.
fn still_open<DB: Dialect>(qb: &mut QueryBuilder<DB>, at: DateTime<Utc>) {
    for (i, col) in ["l.closed_at", "l.accepted_at", "l.rejected_at"]
        .into_iter()
        .enumerate()
    {
        let and = if i == 0 { "" } else { " AND " };
        qb.push(format_args!("{and}({col} IS NULL OR {col} >= "));
        DB::bind_time(qb, Some(at));
        qb.push(")");
    }
}

/// One question a measure asks of the leads of a window, answered by one
/// statement that aggregates in the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Question {
    /// Per group: leads with `mql_at` in the window.
    Mqls { window: Window },
    /// Per group and close reason: the cohort, accepted before `at`, rejected
    /// (and not accepted) before `at`. The reason is that of the leads
    /// rejected or closed before `at`, null for the rest.
    Judged { window: Window, at: DateTime<Utc> },
    /// Per lead handed over in the window: its first attempt before `at`, and
    /// whether it is still open then.
    FirstAttempts { window: Window, at: DateTime<Utc> },
    /// The leads given up on with `closed_at` in the window: counted per
    /// group, owner and attempts, plus the first `named` by id of each group's
    /// owned and unowned leads at each number of attempts.
    Abandoned {
        window: Window,
        at: DateTime<Utc>,
        named: u32,
    },
    /// Per group, reach and conversion: the cohort's leads and revenue.
    Reach { window: Window, at: DateTime<Utc> },
    /// The leads handed over in the window (which ends at the instant of
    /// the read) that nobody has tried and that are still open: those whose
    /// first-attempt clock runs, with their owner's name and addresses.
    InFlight { window: Window },
}

/// `[start, end)` of one lead column, split by `by`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    pub by: Option<GroupBy>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The type of a column of an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Col {
    Text,
    Int,
    Time,
    Real,
}

/// One decoded value of an answer.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cell {
    Text(Option<String>),
    Int(Option<i64>),
    Time(Option<DateTime<Utc>>),
    Real(Option<f64>),
}

impl Cell {
    fn text(&mut self) -> Option<String> {
        match self {
            Cell::Text(s) => s.take(),
            _ => None,
        }
    }

    fn int(&self) -> i64 {
        match self {
            Cell::Int(Some(n)) => *n,
            _ => 0,
        }
    }

    fn time(&self) -> Option<DateTime<Utc>> {
        match self {
            Cell::Time(t) => *t,
            _ => None,
        }
    }

    fn real(&self) -> Option<f64> {
        match self {
            Cell::Real(v) => *v,
            _ => None,
        }
    }
}

/// The condition that makes a touch `t` an attempt on a lead handed over at
/// `mql_at`: outbound, by a person, at or after the hand-off.
fn attempt(mql_at: &str) -> String {
    format!("t.direction = 'outbound' AND t.automated = FALSE AND t.occurred_at >= {mql_at}")
}

impl Question {
    /// The columns of the answer, in order.
    pub(crate) fn columns(&self) -> &'static [Col] {
        use Col::{Int, Real, Text, Time};
        match self {
            Question::Mqls { .. } => &[Text, Int],
            Question::Judged { .. } => &[Text, Text, Int, Int, Int, Int],
            Question::FirstAttempts { .. } => &[Text, Text, Text, Time, Time, Int],
            Question::Abandoned { .. } => &[Text, Text, Int, Int, Int, Int, Text, Time],
            Question::Reach { .. } => &[Text, Int, Int, Int, Int],
            Question::InFlight { .. } => &[Text, Time, Text, Text, Text, Text, Text, Real],
        }
    }

    /// What the store is doing when it asks, for error messages.
    pub(crate) fn doing(&self) -> &'static str {
        match self {
            Question::Mqls { .. } => "counting the MQLs of the window",
            Question::Judged { .. } => "counting the judged leads of the window",
            Question::FirstAttempts { .. } => "reading first attempts in the window",
            Question::Abandoned { .. } => "reading the leads given up on in the window",
            Question::Reach { .. } => "reading the cohort's attempts and conversions",
            Question::InFlight { .. } => "reading the leads whose first-attempt clock runs",
        }
    }

    /// Appends the statement to `qb`, binding every instant.
    ///
    /// Built from fixed fragments only: the range column and the group
    /// expression come from allowlists, every value is a parameter. Each lead's
    /// touches and deals are reached through correlated subqueries (or, where
    /// [`Dialect::LATERAL`], joins) on `touches(lead_id, occurred_at)` and
    /// `deals(lead_id)`, so the cost follows the leads of the window on every
    /// backend.
    pub(crate) fn build<DB: Dialect>(&self, qb: &mut QueryBuilder<DB>) {
        let time = |qb: &mut QueryBuilder<DB>, t: DateTime<Utc>| DB::bind_time(qb, Some(t));
        // ` FROM leads l` with the group's join; then, after any LATERAL
        // join, the window's range.
        let from_leads = |qb: &mut QueryBuilder<DB>, w: &Window| {
            let (_, join) = group_sql(w.by);
            qb.push(format_args!(" FROM leads l{join}"));
        };
        let in_range = |qb: &mut QueryBuilder<DB>, range: LeadRange, w: &Window| {
            let col = range.column();
            qb.push(format_args!(" WHERE {col} >= "));
            time(qb, w.start);
            qb.push(format_args!(" AND {col} < "));
            time(qb, w.end);
        };
        let leads_in = |qb: &mut QueryBuilder<DB>, range: LeadRange, w: &Window| {
            from_leads(qb, w);
            in_range(qb, range, w);
        };
        match *self {
            Question::Mqls { window } => {
                let (g, _) = group_sql(window.by);
                qb.push(format_args!("SELECT {g} AS g, COUNT(*)"));
                leads_in(qb, LeadRange::MqlAt, &window);
                group_by(qb, window.by);
            }
            Question::Judged { window, at } => {
                let (g, _) = group_sql(window.by);
                // Rejected: before `at`, and not accepted before `at`.
                let rejected = |qb: &mut QueryBuilder<DB>| {
                    qb.push("(l.accepted_at IS NULL OR l.accepted_at >= ");
                    time(qb, at);
                    qb.push(") AND l.rejected_at < ");
                    time(qb, at);
                };
                // Grouped by the bare column, whose few values the planner
                // knows from its statistics (a CASE of it it cannot
                // estimate, and PostgreSQL then sorts 70,000 rows instead of
                // hashing them); which leads sales decided on is a count.
                qb.push(format_args!(
                    "SELECT {g} AS g, l.close_reason, COUNT(*), COUNT(CASE WHEN l.accepted_at < "
                ));
                time(qb, at);
                qb.push(" THEN 1 END), COUNT(CASE WHEN ");
                rejected(qb);
                qb.push(" THEN 1 END), COUNT(CASE WHEN l.closed_at < ");
                time(qb, at);
                qb.push(" OR (");
                rejected(qb);
                qb.push(") THEN 1 END)");
                leads_in(qb, LeadRange::MqlAt, &window);
                qb.push(if window.by.is_some() {
                    " GROUP BY g, l.close_reason"
                } else {
                    " GROUP BY l.close_reason"
                });
            }
            Question::FirstAttempts { window, at } => {
                let (g, _) = group_sql(window.by);
                qb.push(format_args!(
                    "SELECT {g}, l.id, l.owner_id, l.mql_at, \
                     (SELECT MIN(t.occurred_at) FROM touches t WHERE t.lead_id = l.id \
                     AND t.occurred_at >= l.mql_at AND t.occurred_at < "
                ));
                time(qb, at);
                // Cast to the 64-bit integer every backend answers alike.
                let (cast, end) = DB::int("\u{0}")
                    .split_once('\u{0}')
                    .map(|(a, b)| (a.to_owned(), b.to_owned()))
                    .unwrap_or_default();
                qb.push(format_args!(
                    " AND {}), {cast}CASE WHEN ",
                    attempt("l.mql_at")
                ));
                still_open(qb, at);
                qb.push(format_args!(" THEN 1 ELSE 0 END{end}"));
                leads_in(qb, LeadRange::MqlAt, &window);
            }
            Question::InFlight { window } => {
                // Untried: no attempt since the hand-off, as a scalar probe
                // of the lead's touches (one index seek per lead on every
                // backend; a correlated NOT EXISTS plans as a scan of every
                // touch on PostgreSQL). Still open: neither closed, accepted
                // nor rejected.
                // The owner's name, address and team by the key of `reps`,
                // one probe each per lead returned: as a join, PostgreSQL
                // (estimating one row out of the range) compared every lead
                // with every rep.
                let rep =
                    |col: &str| format!("(SELECT r.{col} FROM reps r WHERE r.id = l.owner_id)");
                qb.push(format_args!(
                    "SELECT l.id, l.mql_at, l.owner_id, {}, {}, {}, l.channel, l.score FROM leads l",
                    rep("name"),
                    rep("email"),
                    rep("team")
                ));
                in_range(qb, LeadRange::MqlAt, &window);
                qb.push(format_args!(
                    " AND (SELECT 1 FROM touches t WHERE t.lead_id = l.id AND {} AND t.occurred_at < ",
                    attempt("l.mql_at")
                ));
                time(qb, window.end);
                // Still open, as a CASE the planner cannot turn into an
                // index condition: PostgreSQL otherwise ANDs the window's
                // range with a bitmap of every lead of the history never
                // closed, a cost that grows with the history.
                qb.push(" LIMIT 1) IS NULL AND CASE WHEN ");
                still_open(qb, window.end);
                qb.push(" THEN 1 ELSE 0 END = 1");
            }
            Question::Abandoned { window, at, named } => {
                let (g, _) = group_sql(window.by);
                // The leads given up on, each with its attempts before closing:
                // handed over before `at`, no deal won by `at`, never connected
                // before closing.
                if DB::LATERAL {
                    // One probe of the lead's touches before it closed gives
                    // both its attempts and whether it ever connected.
                    qb.push(format_args!(
                        "WITH a AS (SELECT {g} AS g, l.id, l.owner_id, l.closed_at, x.attempts"
                    ));
                    from_leads(qb, &window);
                    qb.push(format_args!(
                        " CROSS JOIN LATERAL (SELECT COUNT(CASE WHEN {} THEN 1 END) AS attempts, \
                         COUNT(CASE WHEN t.outcome = 'connected' THEN 1 END) AS connected \
                         FROM touches t WHERE t.lead_id = l.id AND t.occurred_at < l.closed_at \
                         AND t.occurred_at < ",
                        attempt("l.mql_at")
                    ));
                    time(qb, at);
                    qb.push(") x");
                } else {
                    qb.push(format_args!(
                        "WITH a AS {m}(SELECT {g} AS g, l.id, l.owner_id, l.closed_at, \
                         (SELECT COUNT(*) FROM touches t WHERE t.lead_id = l.id \
                         AND t.occurred_at >= l.mql_at AND t.occurred_at < l.closed_at AND t.occurred_at < ",
                        m = DB::materialized(),
                    ));
                    time(qb, at);
                    qb.push(format_args!(" AND {}) AS attempts", attempt("l.mql_at")));
                    from_leads(qb, &window);
                }
                in_range(qb, LeadRange::ClosedAt, &window);
                qb.push(" AND l.mql_at < ");
                time(qb, at);
                if DB::LATERAL {
                    // The won deal as a scalar probe, which the planner cannot
                    // turn into a scan of every deal.
                    qb.push(
                        " AND x.connected = 0 AND (SELECT 1 FROM deals d WHERE d.lead_id = l.id \
                         AND d.won = TRUE AND d.closed_at < ",
                    );
                    time(qb, at);
                    qb.push(" LIMIT 1) IS NULL");
                } else {
                    qb.push(
                        " AND NOT EXISTS (SELECT 1 FROM deals d WHERE d.lead_id = l.id \
                         AND d.won = TRUE AND d.closed_at < ",
                    );
                    time(qb, at);
                    qb.push(
                        ") AND NOT EXISTS (SELECT 1 FROM touches t WHERE t.lead_id = l.id \
                         AND t.occurred_at < l.closed_at AND t.outcome = 'connected' AND t.occurred_at < ",
                    );
                    time(qb, at);
                    qb.push(")");
                }
                // Two answers from the one set of leads given up on: per
                // (group, owner, attempts) the count, hashed rather than
                // sorted (rk 1, rn past any bound, no lead); and the first
                // `named` owned and unowned leads by id at each number of
                // attempts (rk 0). Whatever the bound on attempts, the first
                // offenders by (unowned, attempts, id) are among them, so one
                // read serves every threshold.
                qb.push(format_args!(
                    "), r AS (SELECT a.*, ROW_NUMBER() OVER (PARTITION BY g, \
                     CASE WHEN owner_id IS NULL THEN 1 ELSE 0 END, attempts ORDER BY {id}) AS rn \
                     FROM a) \
                     SELECT g, owner_id, attempts, {n}, {one}, {past}, NULL, NULL FROM a \
                     GROUP BY g, owner_id, attempts \
                     UNION ALL SELECT g, owner_id, attempts, {zero}, {zero}, {rn}, id, closed_at \
                     FROM r WHERE rn <= ",
                    n = DB::int("COUNT(*)"),
                    one = DB::int("1"),
                    zero = DB::int("0"),
                    past = DB::int(&format!("{}", u64::from(named) + 1)),
                    rn = DB::int("rn"),
                    id = DB::bytewise("id"),
                ));
                <DB as Typed<i64>>::bind(qb, i64::from(named));
            }
            Question::Reach { window, at } => {
                let (g, _) = group_sql(window.by);
                // The conversion deal: the lead's first deal (by created_at,
                // then id) won and closed before `at`.
                let won = |qb: &mut QueryBuilder<DB>| {
                    qb.push(
                        "FROM deals d WHERE d.lead_id = l.id AND d.won = TRUE AND d.closed_at < ",
                    );
                    time(qb, at);
                };
                if DB::LATERAL {
                    // The conversion deal's date and amount in one probe.
                    qb.push(format_args!(
                        "WITH c AS (SELECT {g} AS g, l.id, l.mql_at, v.created_at AS conv_at, v.cents"
                    ));
                    from_leads(qb, &window);
                    qb.push(format_args!(
                        " LEFT JOIN LATERAL (SELECT d.created_at, {} AS cents ",
                        DB::cents("d.amount")
                    ));
                    won(qb);
                    qb.push(format_args!(
                        " ORDER BY d.created_at, {} LIMIT 1) v ON TRUE",
                        DB::bytewise("d.id")
                    ));
                    in_range(qb, LeadRange::MqlAt, &window);
                } else {
                    qb.push(format_args!(
                        "WITH c AS (SELECT {g} AS g, l.id, l.mql_at, (SELECT MIN(d.created_at) "
                    ));
                    won(qb);
                    qb.push(format_args!(
                        ") AS conv_at, (SELECT {} ",
                        DB::cents("d.amount")
                    ));
                    won(qb);
                    qb.push(format_args!(
                        " ORDER BY d.created_at, {} LIMIT 1) AS cents",
                        DB::bytewise("d.id")
                    ));
                    leads_in(qb, LeadRange::MqlAt, &window);
                    qb.push(DB::streamed());
                }
                // Reach: attempts before the conversion deal opened, or all
                // attempts before `at` for a lead that did not convert.
                qb.push(
                    "), k AS (SELECT c.g, c.cents, (SELECT COUNT(*) FROM touches t \
                     WHERE t.lead_id = c.id AND t.occurred_at >= c.mql_at AND t.occurred_at < ",
                );
                time(qb, at);
                qb.push(format_args!(
                    " AND (c.conv_at IS NULL OR t.occurred_at < c.conv_at) AND {}) AS reach FROM c) \
                     SELECT g, reach, {} AS converted, COUNT(*), {} FROM k GROUP BY g, reach, converted",
                    attempt("c.mql_at"),
                    DB::int("CASE WHEN cents IS NULL THEN 0 ELSE 1 END"),
                    DB::int("COALESCE(SUM(cents), 0)")
                ));
            }
        }
    }
}

/// Decodes one row of an answer, by its columns.
pub(crate) fn decode_row<DB: Dialect>(
    row: &DB::Row,
    columns: &[Col],
) -> Result<Vec<Cell>, sqlx::Error> {
    columns
        .iter()
        .enumerate()
        .map(|(i, col)| {
            Ok(match col {
                Col::Text => Cell::Text(<DB as Typed<Option<String>>>::get(row, i)?),
                Col::Int => Cell::Int(<DB as Typed<Option<i64>>>::get(row, i)?),
                Col::Time => Cell::Time(DB::get_time(row, i)?),
                Col::Real => Cell::Real(<DB as Typed<Option<f64>>>::get(row, i)?),
            })
        })
        .collect()
}

/// The SQL text of one of the evaluator's questions (`mqls`, `judged`,
/// `first_attempts`, `abandoned`, `reach`) on `backend`, with its placeholders,
/// for reading its plan (`EXPLAIN`). Every placeholder is an instant but the
/// last of `abandoned`, the number of leads to name.
pub fn question_sql(question: &str, by: Option<GroupBy>, backend: Backend) -> String {
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    let window = Window {
        by,
        start: epoch,
        end: epoch,
    };
    let at = epoch;
    let q = match question {
        "mqls" => Question::Mqls { window },
        "judged" => Question::Judged { window, at },
        "first_attempts" => Question::FirstAttempts { window, at },
        "abandoned" => Question::Abandoned {
            window,
            at,
            named: 20,
        },
        "in_flight" => Question::InFlight { window },
        _ => Question::Reach { window, at },
    };
    fn sql<DB: Dialect>(q: &Question) -> String {
        let mut qb = QueryBuilder::<DB>::new("");
        q.build(&mut qb);
        qb.sql().as_str().to_owned()
    }
    match backend {
        Backend::Sqlite => sql::<sqlx::Sqlite>(&q),
        Backend::Postgres => sql::<sqlx::Postgres>(&q),
        Backend::MySql => sql::<sqlx::MySql>(&q),
    }
}

/// A lead whose first-attempt clock runs: handed over, untried, open.
#[derive(Clone, Debug, PartialEq)]
pub struct InFlightLead {
    pub id: String,
    pub mql_at: DateTime<Utc>,
    /// The owner rep's id; `None`: nobody owns it.
    pub owner: Option<String>,
    /// The owner's name, address and team, from `reps`.
    pub owner_name: Option<String>,
    pub owner_email: Option<String>,
    pub owner_team: Option<String>,
    pub channel: Option<String>,
    pub score: Option<f64>,
}

/// MQLs handed over in a window, for one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MqlCount {
    /// The group's value of the `by` column; `None` for null, or without `by`.
    pub group: Option<String>,
    pub leads: u64,
}

/// A lead_quality cohort, for one group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JudgedCounts {
    pub group: Option<String>,
    /// These leads' `close_reason`, whatever became of them; `None` for none.
    pub reason: Option<String>,
    /// Leads handed over in the cohort's window.
    pub cohort: u64,
    /// Of those, accepted before the evaluation instant.
    pub accepted: u64,
    /// Rejected before the evaluation instant, and not accepted.
    pub rejected: u64,
    /// Rejected (as above) or closed before the evaluation instant: the
    /// leads whose close reason is sales' feedback.
    pub decided: u64,
}

/// A lead handed over in a window, and its first attempt (if any, before the
/// evaluation instant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirstAttempt {
    pub group: Option<String>,
    pub id: String,
    pub owner: Option<String>,
    pub mql_at: DateTime<Utc>,
    pub first_attempt: Option<DateTime<Utc>>,
    /// Neither closed, accepted nor rejected at the evaluation instant.
    pub open: bool,
}

/// How many leads of a group and owner were given up on after exactly
/// `attempts` attempts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbandonedCount {
    pub group: Option<String>,
    /// The owner rep's id; `None`: unassigned.
    pub owner: Option<String>,
    pub attempts: u32,
    pub leads: u64,
}

/// A lead given up on, for the lists of offenders.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AbandonedLead {
    pub group: Option<String>,
    /// Attempts before it was closed.
    pub attempts: u32,
    pub id: String,
    pub owner: Option<String>,
    pub closed_at: DateTime<Utc>,
}

/// The leads given up on in a window: an MQL closed without a won deal and
/// without ever connecting.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Abandoned {
    /// Every such lead, counted by group, owner and attempts before closing.
    pub counts: Vec<AbandonedCount>,
    /// The first few by id of each group's owned and unowned leads at each
    /// number of attempts: enough to name the first offenders by (unowned,
    /// attempts, id) below any bound on attempts.
    pub first: Vec<AbandonedLead>,
}

/// Cohort leads of a group that reached `reach` attempts (before their
/// conversion deal opened, if they converted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reach {
    pub group: Option<String>,
    pub reach: u32,
    pub converted: bool,
    pub leads: u64,
    /// The conversion deals' amounts added up, in cents (0 unless converted).
    pub revenue_cents: i64,
}

fn attempts(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// A consistent, read-only view of the data, every statement of which the
/// database stops once its time limit has passed. Get one from
/// [`Store::reader`](super::Store::reader); end it with [`Reader::finish`].
/// Dropped instead, it is rolled back.
pub struct Reader {
    ops: Box<dyn ReadOps>,
}

impl Reader {
    pub(super) fn new(ops: Box<dyn ReadOps>) -> Reader {
        Reader { ops }
    }

    /// Ends the read.
    ///
    /// # Errors
    ///
    /// The database could not be told.
    pub async fn finish(self) -> Result<(), StoreError> {
        self.ops.finish().await
    }

    /// Counts the rows of a canonical table.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn count(&mut self, table: Table) -> Result<i64, StoreError> {
        self.ops.count(table).await
    }

    /// Reads one value of the store's own metadata.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn meta(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.ops.meta(key).await
    }

    /// Checks that the four lead tables (or views) exist and can be read.
    ///
    /// # Errors
    ///
    /// The first table that cannot be read.
    pub async fn check_lead_tables(&mut self) -> Result<(), StoreError> {
        self.ops.check_lead_tables().await
    }

    /// Asks one question, handing each row of the answer to `each`. An empty
    /// window asks nothing.
    async fn ask(
        &mut self,
        question: Question,
        window: Window,
        each: &mut (dyn FnMut(Vec<Cell>) + Send),
    ) -> Result<(), StoreError> {
        if window.start >= window.end {
            return Ok(());
        }
        self.ops.ask(question, each).await
    }

    /// The MQLs handed over in `[start, end)`, per group of `by`.
    ///
    /// # Errors
    ///
    /// A database error, or the time limit.
    pub async fn mql_counts(
        &mut self,
        by: Option<GroupBy>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<MqlCount>, StoreError> {
        let window = Window { by, start, end };
        let mut out = Vec::new();
        self.ask(Question::Mqls { window }, window, &mut |mut row| {
            // Without `by`, an empty window still answers one row of zeros.
            if count(&row[1]) > 0 {
                out.push(MqlCount {
                    group: row[0].text(),
                    leads: count(&row[1]),
                });
            }
        })
        .await?;
        out.sort_by(|a, b| a.group.cmp(&b.group));
        Ok(out)
    }

    /// The leads handed over in `[start, end)`, per group, with how many of them
    /// sales accepted, or rejected without accepting, before `at`.
    ///
    /// # Errors
    ///
    /// A database error, or the time limit.
    pub async fn judged_counts(
        &mut self,
        by: Option<GroupBy>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Vec<JudgedCounts>, StoreError> {
        let window = Window { by, start, end };
        let mut out = Vec::new();
        self.ask(Question::Judged { window, at }, window, &mut |mut row| {
            if count(&row[2]) > 0 {
                out.push(JudgedCounts {
                    group: row[0].text(),
                    reason: row[1].text(),
                    cohort: count(&row[2]),
                    accepted: count(&row[3]),
                    rejected: count(&row[4]),
                    decided: count(&row[5]),
                });
            }
        })
        .await?;
        out.sort_by(|a, b| (&a.group, &a.reason).cmp(&(&b.group, &b.reason)));
        Ok(out)
    }

    /// The leads handed over in `[start, at)` that nobody has tried before
    /// `at` and that are still open then, handed to `sink` one at a time:
    /// the leads whose first-attempt clock runs (docs/LEADS.md).
    ///
    /// # Errors
    ///
    /// A database error, or the time limit.
    pub async fn in_flight(
        &mut self,
        start: DateTime<Utc>,
        at: DateTime<Utc>,
        sink: &mut (dyn FnMut(InFlightLead) + Send),
    ) -> Result<(), StoreError> {
        let window = Window {
            by: None,
            start,
            end: at,
        };
        self.ask(Question::InFlight { window }, window, &mut |mut row| {
            let (Some(id), Some(mql_at)) = (row[0].text(), row[1].time()) else {
                return;
            };
            sink(InFlightLead {
                id,
                mql_at,
                owner: row[2].text(),
                owner_name: row[3].text(),
                owner_email: row[4].text(),
                owner_team: row[5].text(),
                channel: row[6].text(),
                score: row[7].real(),
            });
        })
        .await
    }

    /// Every lead handed over in `[start, end)` with its first attempt before
    /// `at`, handed to `sink` one at a time.
    ///
    /// # Errors
    ///
    /// A database error, or the time limit.
    pub async fn first_attempts(
        &mut self,
        by: Option<GroupBy>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        at: DateTime<Utc>,
        sink: &mut (dyn FnMut(FirstAttempt) + Send),
    ) -> Result<(), StoreError> {
        let window = Window { by, start, end };
        self.ask(
            Question::FirstAttempts { window, at },
            window,
            &mut |mut row| {
                let (Some(id), Some(mql_at)) = (row[1].text(), row[3].time()) else {
                    return;
                };
                sink(FirstAttempt {
                    group: row[0].text(),
                    id,
                    owner: row[2].text(),
                    mql_at,
                    first_attempt: row[4].time(),
                    open: row[5].int() != 0,
                });
            },
        )
        .await
    }

    /// The leads given up on with `closed_at` in `[start, end)`, as known at
    /// `at`: handed over before `at`, no deal won by `at`, never connected
    /// before closing. Counted by group, owner and attempts before closing,
    /// with the first `named` by id of each group's owned and unowned leads at
    /// each number of attempts.
    ///
    /// # Errors
    ///
    /// A database error, or the time limit.
    pub async fn abandoned(
        &mut self,
        by: Option<GroupBy>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        at: DateTime<Utc>,
        named: usize,
    ) -> Result<Abandoned, StoreError> {
        let window = Window { by, start, end };
        let named = u32::try_from(named).unwrap_or(u32::MAX);
        let mut out = Abandoned::default();
        self.ask(
            Question::Abandoned { window, at, named },
            window,
            &mut |mut row| {
                let group = row[0].text();
                let owner = row[1].text();
                let tries = attempts(row[2].int());
                if row[4].int() == 1 {
                    out.counts.push(AbandonedCount {
                        group: group.clone(),
                        owner: owner.clone(),
                        attempts: tries,
                        leads: count(&row[3]),
                    });
                }
                if row[5].int() <= i64::from(named)
                    && let (Some(id), Some(closed_at)) = (row[6].text(), row[7].time())
                {
                    out.first.push(AbandonedLead {
                        group,
                        attempts: tries,
                        id,
                        owner,
                        closed_at,
                    });
                }
            },
        )
        .await?;
        out.counts.sort_by(|a, b| {
            (&a.group, &a.owner, a.attempts).cmp(&(&b.group, &b.owner, b.attempts))
        });
        out.first
            .sort_by(|a, b| (&a.group, a.attempts, &a.id).cmp(&(&b.group, b.attempts, &b.id)));
        Ok(out)
    }

    /// The names of the reps `ids` name, by id; ids with no rep are left out.
    ///
    /// # Errors
    ///
    /// A database error, or the time limit.
    pub async fn rep_names(
        &mut self,
        ids: &[&str],
    ) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
        if ids.is_empty() {
            return Ok(std::collections::BTreeMap::new());
        }
        self.ops.rep_names(ids).await
    }

    /// The cohort handed over in `[start, end)`, per group, by how far each lead
    /// got: its attempts before its conversion deal opened if it converted (a
    /// deal won and closed before `at`), else all its attempts before `at`.
    ///
    /// # Errors
    ///
    /// A database error, or the time limit.
    pub async fn reach(
        &mut self,
        by: Option<GroupBy>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Vec<Reach>, StoreError> {
        let window = Window { by, start, end };
        let mut out = Vec::new();
        self.ask(Question::Reach { window, at }, window, &mut |mut row| {
            out.push(Reach {
                group: row[0].text(),
                reach: attempts(row[1].int()),
                converted: row[2].int() != 0,
                leads: count(&row[3]),
                revenue_cents: row[4].int(),
            });
        })
        .await?;
        out.sort_by(|a, b| (&a.group, a.reach, a.converted).cmp(&(&b.group, b.reach, b.converted)));
        Ok(out)
    }
}

fn count(cell: &Cell) -> u64 {
    u64::try_from(cell.int()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_columns_come_from_the_allowlist() {
        let sql = question_sql("reach", Some(GroupBy::Owner), Backend::Postgres);
        assert!(sql.contains("r.team") && sql.contains("LEFT JOIN reps r"));
        // Placeholders are numbered in order.
        let n = sql.matches('$').count();
        assert!(sql.contains(&format!("${n}")) && !sql.contains(&format!("${}", n + 1)));
        let sql = question_sql("abandoned", Some(GroupBy::Segment), Backend::Sqlite);
        assert!(sql.contains("l.segment") && sql.contains("l.closed_at >= ?"));
        assert!(!sql.contains('$'));
    }
}
