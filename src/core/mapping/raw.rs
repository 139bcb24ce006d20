//! The mapping file as written: serde structs deserialized from the located YAML
//! tree, so that every value knows its line and column. Meaning (time zones,
//! date formats, canonical column names) is checked in `super::check`.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::rules::yaml::Sp;

/// A mapping file: how a CRM's export files become handoff's canonical tables.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "MappingFile")]
pub(crate) struct RawMapping {
    /// Version of the mapping-file format. Always `1`.
    #[schemars(required)]
    pub version: Option<Sp<u64>>,
    /// What this mapping reads, for people.
    #[serde(default)]
    pub description: Option<String>,
    /// IANA time zone in which times without an offset are read (CRM exports
    /// write the account's local time). Without it, `handoff import
    /// --timezone` or else the rules' `timezone` is used.
    #[serde(default)]
    pub timezone: Option<Sp<Scalar>>,
    /// How dates and times are written, as chrono/strftime formats tried in
    /// order (`%m/%d/%Y %I:%M %p`); RFC 3339 with an offset is always accepted.
    /// Default: `%Y-%m-%d %H:%M:%S`, `%Y-%m-%d %H:%M`, `%Y-%m-%d`.
    #[serde(default)]
    pub dates: Option<Sp<OneOrMany>>,
    /// How numbers are written.
    #[serde(default)]
    pub numbers: Option<Sp<RawNumbers>>,
    /// The words for true and false.
    #[serde(default)]
    pub booleans: Option<Sp<RawBooleans>>,
    /// Which source file feeds which canonical table, in any order (they load in
    /// reference order: reps, leads, touches, deals). One file may feed several
    /// tables, and several files one table.
    #[schemars(required)]
    pub files: Option<Sp<Vec<Sp<RawFile>>>>,
}

/// How numbers are written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Numbers")]
pub(crate) struct RawNumbers {
    /// The decimal separator: `.` (default) or `,`.
    #[serde(default)]
    pub decimal: Option<Sp<Scalar>>,
    /// The thousands separator, dropped when reading: `,` (default with a `.`
    /// decimal), `.`, a space, `'`, or `""` for none.
    #[serde(default)]
    pub thousands: Option<Sp<Scalar>>,
}

/// The words for true and false, matched without regard to case.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Booleans")]
pub(crate) struct RawBooleans {
    /// Default: true, yes, y, 1.
    #[serde(default, rename = "true")]
    pub yes: Option<Sp<Vec<Sp<Scalar>>>>,
    /// Default: false, no, n, 0.
    #[serde(default, rename = "false")]
    pub no: Option<Sp<Vec<Sp<Scalar>>>>,
}

/// One source file feeding one canonical table.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "SourceFile")]
pub(crate) struct RawFile {
    /// The file's name in the imported folder (matched without regard to case).
    #[schemars(required)]
    pub file: Option<Sp<String>>,
    /// The canonical table it feeds.
    #[schemars(required)]
    pub table: Option<Sp<TableName>>,
    /// What this part of the mapping does, for people.
    #[serde(default)]
    pub description: Option<String>,
    /// Ids repeat in this file (owners named on every contact): the first row
    /// of each id is kept, later ones and rows with an empty id are skipped.
    #[serde(default)]
    pub distinct: Option<Sp<bool>>,
    /// Only the rows meeting every condition are read; the rest are skipped
    /// and counted.
    #[serde(default, rename = "where")]
    pub filter: Option<Sp<Vec<Sp<RawCondition>>>>,
    /// Canonical column → where its value comes from: a source column's
    /// header, or a mapping with `column` or `value` and ways to read it.
    #[schemars(required)]
    pub columns: Option<Sp<Columns>>,
    /// Canonical columns this export cannot fill, with what that means; shown
    /// after the import.
    #[serde(default)]
    pub missing: Option<Sp<Columns>>,
}

/// The canonical tables.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TableName {
    Reps,
    Leads,
    Touches,
    Deals,
}

/// A condition on a source column: its value is (or is not) one of a list,
/// without regard to case; an empty field is `""`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Condition")]
pub(crate) struct RawCondition {
    /// The source column's header.
    #[schemars(required)]
    pub column: Option<Sp<String>>,
    /// The values that meet the condition.
    #[serde(default, rename = "in")]
    pub is_in: Option<Sp<Vec<Sp<Scalar>>>>,
    /// The values that fail it; every other value meets it.
    #[serde(default)]
    pub not_in: Option<Sp<Vec<Sp<Scalar>>>>,
}

/// Where a canonical column's value comes from.
#[derive(Debug)]
pub(crate) enum RawColumn {
    /// A source column, read as it is.
    Header(String),
    /// A source column or a constant, and how to read it.
    Spec(Box<RawSpec>),
}

/// A source column or a constant, and how to read it. Steps apply in this
/// order: `when`, `split`, `lookup`, `map`, `default`, then reading as the
/// canonical column's type.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ColumnSpec")]
pub(crate) struct RawSpec {
    /// The source column's header.
    #[serde(default)]
    pub column: Option<Sp<String>>,
    /// A constant, for every row (`automated: false`).
    #[serde(default)]
    pub value: Option<Sp<Scalar>>,
    /// Date formats for this column only.
    #[serde(default)]
    pub format: Option<Sp<OneOrMany>>,
    /// The time zone of this column's local times only.
    #[serde(default)]
    pub timezone: Option<Sp<Scalar>>,
    /// The value is kept only when this condition holds; otherwise it is empty.
    #[serde(default)]
    pub when: Option<Sp<RawCondition>>,
    /// A separator of a multi-valued field (`;`): the first non-empty item is used.
    #[serde(default)]
    pub split: Option<Sp<Scalar>>,
    /// Translate through another file of the folder: the `value` column of its
    /// row whose `key` column equals this value.
    #[serde(default)]
    pub lookup: Option<Sp<RawLookup>>,
    /// What a value with no row in the lookup becomes: `keep` it, `empty`
    /// (default), `skip` the row, or an `error`.
    #[serde(default)]
    pub unmatched: Option<Sp<Action>>,
    /// Source value → canonical value, matched without regard to case; `null`
    /// (`~`) means empty.
    #[serde(default)]
    pub map: Option<Sp<ValueMap>>,
    /// What a value the map does not list becomes: `keep` it, `empty`, `skip`
    /// the row, or an `error` (default).
    #[serde(default)]
    pub others: Option<Sp<Action>>,
    /// The value used when the result so far is empty (`0` for a deal without
    /// an amount).
    #[serde(default)]
    pub default: Option<Sp<Scalar>>,
    /// An empty value: `skip` the row, or the default (an error for a required
    /// column, null otherwise).
    #[serde(default)]
    pub if_empty: Option<Sp<Action>>,
    /// A reference (`owner_id`, `lead_id`, `rep_id`) to a row that does not
    /// exist: `skip` the row, `empty` the value, or an `error` (default).
    #[serde(default)]
    pub if_unknown: Option<Sp<Action>>,
    /// What this column assumes, shown with how many rows it could not fill.
    #[serde(default)]
    pub note: Option<String>,
}

/// What to do with a value that does not fit.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Action {
    Keep,
    Empty,
    Skip,
    Error,
}

/// A translation through another file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Lookup")]
pub(crate) struct RawLookup {
    /// The other file, in the same folder.
    #[schemars(required)]
    pub file: Option<Sp<String>>,
    /// Its column that holds this column's values.
    #[schemars(required)]
    pub key: Option<Sp<String>>,
    /// Its column whose value is used.
    #[schemars(required)]
    pub value: Option<Sp<String>>,
}

/// Canonical column name → source, in file order.
#[derive(Debug)]
pub(crate) struct Columns(pub Vec<(Sp<String>, Sp<RawColumn>)>);

/// A value map, in file order.
#[derive(Debug)]
pub(crate) struct ValueMap(pub Vec<(Sp<Scalar>, Option<Scalar>)>);

/// Any YAML scalar, read as the text it was written as (`yes`, `1`, `true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scalar(pub String);

/// One text or a list of them.
#[derive(Debug)]
pub(crate) struct OneOrMany(pub Vec<String>);

struct ScalarVisitor;

impl Visitor<'_> for ScalarVisitor {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a text, number or boolean")
    }
    fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar(v.to_owned()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

impl JsonSchema for Scalar {
    fn schema_name() -> Cow<'static, str> {
        "Scalar".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "number", "boolean"] })
    }
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a format or a list of formats")
            }
            fn visit_str<E>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut all = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    all.push(s);
                }
                Ok(OneOrMany(all))
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl JsonSchema for OneOrMany {
    fn schema_name() -> Cow<'static, str> {
        "Formats".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A chrono/strftime format such as `%m/%d/%Y %I:%M %p`, or a list tried in order.",
            "oneOf": [{ "type": "string" }, { "type": "array", "items": { "type": "string" } }]
        })
    }
}

impl<'de> Deserialize<'de> for RawColumn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawColumn;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a source column's header, or a mapping with `column` or `value`")
            }
            fn visit_str<E>(self, v: &str) -> Result<RawColumn, E> {
                Ok(RawColumn::Header(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawColumn, A::Error> {
                RawSpec::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|s| RawColumn::Spec(Box::new(s)))
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl JsonSchema for RawColumn {
    fn schema_name() -> Cow<'static, str> {
        "Column".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let spec = generator.subschema_for::<RawSpec>();
        json_schema!({
            "description": "A source column's header, or `{ column | value, … }`.",
            "oneOf": [{ "type": "string" }, spec]
        })
    }
}

impl<'de> Deserialize<'de> for Columns {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Columns;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of canonical columns to sources")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Columns, A::Error> {
                let mut all = Vec::new();
                while let Some(key) = map.next_key::<Sp<String>>()? {
                    all.push((key, map.next_value()?));
                }
                Ok(Columns(all))
            }
        }
        deserializer.deserialize_map(V)
    }
}

impl JsonSchema for Columns {
    fn schema_name() -> Cow<'static, str> {
        "Columns".into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let column = generator.subschema_for::<RawColumn>();
        json_schema!({ "type": "object", "additionalProperties": column })
    }
}

impl<'de> Deserialize<'de> for ValueMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ValueMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of source values to canonical values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ValueMap, A::Error> {
                let mut all = Vec::new();
                while let Some(key) = map.next_key::<Sp<Scalar>>()? {
                    all.push((key, map.next_value()?));
                }
                Ok(ValueMap(all))
            }
        }
        deserializer.deserialize_map(V)
    }
}

impl JsonSchema for ValueMap {
    fn schema_name() -> Cow<'static, str> {
        "ValueMap".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "additionalProperties": { "type": ["string", "number", "boolean", "null"] }
        })
    }
}
