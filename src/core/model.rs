//! The canonical rows of the lead store (README, "The lead store") and the value types they hold.
//!
//! These types are what import and the demo generator produce and what the store
//! writes. They carry no SQL: [`Table`] and [`Column`] name the schema, and
//! [`Values::visit`] hands each column's [`Value`] to whichever backend writes it.

use std::fmt;

use chrono::{DateTime, SubsecRound, Utc};

/// Longest id the store accepts, in characters, on every backend.
pub const MAX_ID_CHARS: usize = 128;
/// Longest text value (names, channels, outcomes, …), in characters, on every backend.
pub const MAX_TEXT_CHARS: usize = 255;
/// Largest amount, in cents: the store keeps 12 digits before the decimal point.
pub const MAX_AMOUNT_CENTS: i64 = 99_999_999_999_999;

/// Rounds an instant down to the microsecond, the precision every backend keeps.
pub fn to_store_precision(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// The lead column results are split by (`by:`). Without it there is one group, `all`.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Deserialize,
    serde::Serialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// `leads.channel`, the original source (`webinar`, `paid_search`, …).
    Channel,
    /// `leads.campaign`.
    Campaign,
    /// `leads.segment` (`smb`, `mid`, `ent`, …).
    Segment,
    /// The `team` of the lead's owner (`reps.team`).
    Owner,
    /// The lead's owner rep (`leads.owner_id`); the label is the rep's id,
    /// the name is shown beside it.
    Rep,
}

impl GroupBy {
    /// The name used in rule files (`channel`).
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Channel => "channel",
            GroupBy::Campaign => "campaign",
            GroupBy::Segment => "segment",
            GroupBy::Owner => "owner",
            GroupBy::Rep => "rep",
        }
    }
}

impl fmt::Display for GroupBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One of the four canonical tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Reps,
    Leads,
    Touches,
    Deals,
}

impl Table {
    /// All tables, in the order that satisfies their references.
    pub const ALL: [Table; 4] = [Table::Reps, Table::Leads, Table::Touches, Table::Deals];

    /// The SQL table name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Reps => "reps",
            Table::Leads => "leads",
            Table::Touches => "touches",
            Table::Deals => "deals",
        }
    }

    /// The canonical columns, in schema order; the first is always `id`.
    pub fn columns(self) -> &'static [Column] {
        match self {
            Table::Reps => REP_COLUMNS,
            Table::Leads => LEAD_COLUMNS,
            Table::Touches => TOUCH_COLUMNS,
            Table::Deals => DEAL_COLUMNS,
        }
    }

    /// Looks a column up by name.
    pub fn column(self, name: &str) -> Option<usize> {
        self.columns().iter().position(|c| c.name == name)
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The type of a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// A CRM id (at most [`MAX_ID_CHARS`]).
    Id,
    /// Free text (at most [`MAX_TEXT_CHARS`]).
    Text,
    /// A UTC instant.
    Timestamp,
    /// A floating-point number.
    Real,
    /// Money with cents.
    Amount,
    /// `true` or `false`.
    Bool,
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
}

/// One column of a canonical table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    /// Whether a row must give a value.
    pub required: bool,
    /// The table this column's ids must exist in, if it is a reference.
    pub references: Option<Table>,
}

const fn col(name: &'static str, ty: ColumnType, required: bool) -> Column {
    Column {
        name,
        ty,
        required,
        references: None,
    }
}

const fn reference(name: &'static str, required: bool, table: Table) -> Column {
    Column {
        name,
        ty: ColumnType::Id,
        required,
        references: Some(table),
    }
}

/// The kinds of touch the schema knows.
pub const TOUCH_KINDS: &[&str] = &["call", "email", "meeting", "sms", "social", "other"];
/// The directions of a touch.
pub const DIRECTIONS: &[&str] = &["outbound", "inbound"];

const REP_COLUMNS: &[Column] = &[
    col("id", ColumnType::Id, true),
    col("name", ColumnType::Text, true),
    col("email", ColumnType::Text, false),
    col("team", ColumnType::Text, false),
];

const LEAD_COLUMNS: &[Column] = &[
    col("id", ColumnType::Id, true),
    col("created_at", ColumnType::Timestamp, true),
    col("mql_at", ColumnType::Timestamp, false),
    reference("owner_id", false, Table::Reps),
    col("channel", ColumnType::Text, false),
    col("campaign", ColumnType::Text, false),
    col("segment", ColumnType::Text, false),
    col("score", ColumnType::Real, false),
    col("accepted_at", ColumnType::Timestamp, false),
    col("rejected_at", ColumnType::Timestamp, false),
    col("closed_at", ColumnType::Timestamp, false),
    col("close_reason", ColumnType::Text, false),
];

const TOUCH_COLUMNS: &[Column] = &[
    col("id", ColumnType::Id, true),
    reference("lead_id", true, Table::Leads),
    reference("rep_id", false, Table::Reps),
    col("occurred_at", ColumnType::Timestamp, true),
    col("kind", ColumnType::Enum(TOUCH_KINDS), true),
    col("direction", ColumnType::Enum(DIRECTIONS), true),
    col("outcome", ColumnType::Text, false),
    col("automated", ColumnType::Bool, true),
];

const DEAL_COLUMNS: &[Column] = &[
    col("id", ColumnType::Id, true),
    reference("lead_id", false, Table::Leads),
    col("created_at", ColumnType::Timestamp, true),
    col("closed_at", ColumnType::Timestamp, false),
    col("amount", ColumnType::Amount, true),
    col("won", ColumnType::Bool, false),
];

/// One column's value, borrowed from a row, ready to be bound by a backend.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Text(Option<&'a str>),
    Timestamp(Option<DateTime<Utc>>),
    Real(Option<f64>),
    /// Money in cents.
    Amount(i64),
    Bool(Option<bool>),
}

/// Something that yields one [`Value`] per column of a table.
pub trait Values {
    /// Calls `f` with each column's value, in [`Table::columns`] order.
    fn visit<'a>(&'a self, f: &mut dyn FnMut(Value<'a>));
}

impl Value<'_> {
    /// The value as a canonical CSV field: RFC 3339 UTC timestamps, `true`/`false`,
    /// amounts with two decimals, and the empty string for null.
    pub fn to_csv(&self) -> String {
        match *self {
            Value::Text(s) => s.unwrap_or("").to_owned(),
            Value::Timestamp(t) => t
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                .unwrap_or_default(),
            Value::Real(x) => x.map(|x| x.to_string()).unwrap_or_default(),
            Value::Amount(c) => format_cents(c),
            Value::Bool(b) => b.map(|b| b.to_string()).unwrap_or_default(),
        }
    }
}

/// A typed row of one canonical table.
pub trait Record: Values {
    /// The table the row belongs to.
    const TABLE: Table;

    /// The row's id.
    fn id(&self) -> &str;
}

/// A sales rep (a CRM owner/user).
#[derive(Debug, Clone, PartialEq)]
pub struct Rep {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub team: Option<String>,
}

/// A lead; `mql_at` is the first hand-off to sales, when the SLA clock starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub mql_at: Option<DateTime<Utc>>,
    pub owner_id: Option<String>,
    pub channel: Option<String>,
    pub campaign: Option<String>,
    pub segment: Option<String>,
    pub score: Option<f64>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub rejected_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub close_reason: Option<String>,
}

/// An activity on a lead: a call, an email, a meeting, …
#[derive(Debug, Clone, PartialEq)]
pub struct Touch {
    pub id: String,
    pub lead_id: String,
    pub rep_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    /// One of [`TOUCH_KINDS`].
    pub kind: &'static str,
    /// One of [`DIRECTIONS`].
    pub direction: &'static str,
    pub outcome: Option<String>,
    /// Sequences and auto-replies: never a human attempt.
    pub automated: bool,
}

/// An opportunity, won, lost or still open.
#[derive(Debug, Clone, PartialEq)]
pub struct Deal {
    pub id: String,
    pub lead_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// In the reporting currency, in cents.
    pub amount_cents: i64,
    /// `None` while the deal is open.
    pub won: Option<bool>,
}

impl Record for Rep {
    const TABLE: Table = Table::Reps;
    fn id(&self) -> &str {
        &self.id
    }
}

impl Values for Rep {
    fn visit<'a>(&'a self, f: &mut dyn FnMut(Value<'a>)) {
        f(Value::Text(Some(&self.id)));
        f(Value::Text(Some(&self.name)));
        f(Value::Text(self.email.as_deref()));
        f(Value::Text(self.team.as_deref()));
    }
}

impl Lead {
    /// A lead created at `created_at` with every optional field null.
    pub fn new(id: impl Into<String>, created_at: DateTime<Utc>) -> Lead {
        Lead {
            id: id.into(),
            created_at,
            mql_at: None,
            owner_id: None,
            channel: None,
            campaign: None,
            segment: None,
            score: None,
            accepted_at: None,
            rejected_at: None,
            closed_at: None,
            close_reason: None,
        }
    }
}

impl Record for Lead {
    const TABLE: Table = Table::Leads;
    fn id(&self) -> &str {
        &self.id
    }
}

impl Values for Lead {
    fn visit<'a>(&'a self, f: &mut dyn FnMut(Value<'a>)) {
        f(Value::Text(Some(&self.id)));
        f(Value::Timestamp(Some(self.created_at)));
        f(Value::Timestamp(self.mql_at));
        f(Value::Text(self.owner_id.as_deref()));
        f(Value::Text(self.channel.as_deref()));
        f(Value::Text(self.campaign.as_deref()));
        f(Value::Text(self.segment.as_deref()));
        f(Value::Real(self.score));
        f(Value::Timestamp(self.accepted_at));
        f(Value::Timestamp(self.rejected_at));
        f(Value::Timestamp(self.closed_at));
        f(Value::Text(self.close_reason.as_deref()));
    }
}

impl Record for Touch {
    const TABLE: Table = Table::Touches;
    fn id(&self) -> &str {
        &self.id
    }
}

impl Values for Touch {
    fn visit<'a>(&'a self, f: &mut dyn FnMut(Value<'a>)) {
        f(Value::Text(Some(&self.id)));
        f(Value::Text(Some(&self.lead_id)));
        f(Value::Text(self.rep_id.as_deref()));
        f(Value::Timestamp(Some(self.occurred_at)));
        f(Value::Text(Some(self.kind)));
        f(Value::Text(Some(self.direction)));
        f(Value::Text(self.outcome.as_deref()));
        f(Value::Bool(Some(self.automated)));
    }
}

impl Record for Deal {
    const TABLE: Table = Table::Deals;
    fn id(&self) -> &str {
        &self.id
    }
}

impl Values for Deal {
    fn visit<'a>(&'a self, f: &mut dyn FnMut(Value<'a>)) {
        f(Value::Text(Some(&self.id)));
        f(Value::Text(self.lead_id.as_deref()));
        f(Value::Timestamp(Some(self.created_at)));
        f(Value::Timestamp(self.closed_at));
        f(Value::Amount(self.amount_cents));
        f(Value::Bool(self.won));
    }
}

/// A row of any canonical table, as import reads it: the values of the columns a
/// file has, in [`Table::columns`] order, with `None` for the columns it lacks.
#[derive(Debug, Clone, PartialEq)]
pub struct GenericRow {
    pub values: Vec<OwnedValue>,
}

impl Values for GenericRow {
    fn visit<'a>(&'a self, f: &mut dyn FnMut(Value<'a>)) {
        for v in &self.values {
            f(v.as_value());
        }
    }
}

/// An owned [`Value`].
#[derive(Debug, Clone, PartialEq)]
pub enum OwnedValue {
    Text(Option<String>),
    Timestamp(Option<DateTime<Utc>>),
    Real(Option<f64>),
    Amount(i64),
    Bool(Option<bool>),
}

impl OwnedValue {
    /// The null of a column's type.
    pub fn null(ty: ColumnType) -> OwnedValue {
        match ty {
            ColumnType::Id | ColumnType::Text | ColumnType::Enum(_) => OwnedValue::Text(None),
            ColumnType::Timestamp => OwnedValue::Timestamp(None),
            ColumnType::Real => OwnedValue::Real(None),
            // Amount is a required column; a null never reaches the store.
            ColumnType::Amount => OwnedValue::Amount(0),
            ColumnType::Bool => OwnedValue::Bool(None),
        }
    }

    /// The text, for text and id values that are not null.
    pub fn text(&self) -> Option<&str> {
        match self {
            OwnedValue::Text(s) => s.as_deref(),
            _ => None,
        }
    }

    /// Borrows the value for binding.
    pub fn as_value(&self) -> Value<'_> {
        match self {
            OwnedValue::Text(s) => Value::Text(s.as_deref()),
            OwnedValue::Timestamp(t) => Value::Timestamp(*t),
            OwnedValue::Real(x) => Value::Real(*x),
            OwnedValue::Amount(c) => Value::Amount(*c),
            OwnedValue::Bool(b) => Value::Bool(*b),
        }
    }
}

/// Formats cents as a decimal amount: `12345` → `123.45`.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    format!("{sign}{}.{:02}", c / 100, c % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_starts_with_id_and_names_its_references() {
        for table in Table::ALL {
            assert_eq!(table.columns()[0].name, "id");
            assert!(table.columns()[0].required);
        }
        assert_eq!(Table::Touches.columns()[1].references, Some(Table::Leads));
        assert_eq!(Table::Leads.column("closed_at"), Some(10));
    }

    #[test]
    fn records_visit_one_value_per_column() {
        let t = DateTime::parse_from_rfc3339("2026-01-05T10:00:00Z")
            .unwrap()
            .to_utc();
        let lead = Lead::new("L1", t);
        let mut n = 0;
        lead.visit(&mut |_| n += 1);
        assert_eq!(n, Table::Leads.columns().len());
        let deal = Deal {
            id: "D".into(),
            lead_id: None,
            created_at: t,
            closed_at: None,
            amount_cents: 1,
            won: None,
        };
        let mut n = 0;
        deal.visit(&mut |_| n += 1);
        assert_eq!(n, Table::Deals.columns().len());
    }

    #[test]
    fn cents_format_with_two_decimals() {
        assert_eq!(format_cents(12345), "123.45");
        assert_eq!(format_cents(5), "0.05");
        assert_eq!(format_cents(-250), "-2.50");
    }
}
