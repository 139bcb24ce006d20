//! The YAML layer: a located tree of the document, and a serde `Deserializer`
//! over that tree.
//!
//! serde-saphyr parses the text (YAML 1.2, anchors, duplicate keys, size budgets)
//! into a [`Node`] tree in which every key and value knows its line and column.
//! The typed rule-file structs are then deserialized from that tree rather than
//! from the text, which buys two things a streaming deserializer cannot give:
//!
//! - [`Sp<T>`] records where any value came from, so a semantic error (a bad cron,
//!   an unknown team) points at the value, not at the top of the file;
//! - [`Isolated<T>`] lets one objective, team or calendar fail to deserialize while
//!   its siblings still load, so a file with three typos reports three errors.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::value::SeqDeserializer;
use serde::de::{
    self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, VariantAccess, Visitor,
};
use serde::{Deserialize, forward_to_deserialize_any};

use super::hints;

/// Where a node starts in its file: 1-based line and column (in characters), and
/// how many characters its scalar spans (0 for mappings and sequences).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Loc {
    pub line: u32,
    pub column: u32,
    pub len: u32,
}

impl Loc {
    /// The top of the file, for errors about the file as a whole.
    pub const TOP: Loc = Loc {
        line: 1,
        column: 1,
        len: 0,
    };

    pub fn is_known(self) -> bool {
        self.line > 0
    }

    fn from_saphyr(loc: serde_saphyr::Location) -> Loc {
        let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        Loc {
            line: clamp(loc.line()),
            column: clamp(loc.column()),
            len: clamp(loc.span().len()),
        }
    }
}

/// A YAML node with its location.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub loc: Loc,
    pub value: Value,
}

/// The value of a YAML node, with scalars already resolved by the YAML 1.2 core schema.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The value under `key` if this node is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and value node of `key`, if this node is a mapping that has it.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(&k.value, Value::Str(s) if s == key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// Where `key` is written in this mapping, or where the mapping starts.
    pub fn key_loc(&self, key: &str) -> Loc {
        self.entry(key).map_or(self.loc, |(k, _)| k.loc)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A YAML syntax error (or a document serde-saphyr refuses, such as one with a
/// duplicate key or one that blows its size budget).
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub loc: Loc,
    pub message: String,
}

/// Parses `text` into a located tree. An empty document is a `Null` node.
pub(crate) fn parse(text: &str) -> Result<Node, SyntaxError> {
    use serde_saphyr::MessageFormatter as _;
    serde_saphyr::from_str::<Node>(text).map_err(|e| {
        let loc = e.location().map_or(Loc::TOP, Loc::from_saphyr);
        let message = match e.without_snippet() {
            serde_saphyr::Error::DuplicateMappingKey { key: Some(key), .. } => {
                format!("duplicate key `{key}`: each key may appear only once in a mapping")
            }
            other => {
                let text = serde_saphyr::UserMessageFormatter.format_message(other);
                // Keep the message a single line with no stray control characters.
                let text: String = text.escape_debug().collect();
                format!("invalid YAML: {text}")
            }
        };
        SyntaxError {
            loc: if loc.is_known() { loc } else { Loc::TOP },
            message,
        }
    })
}

// ---------------------------------------------------------------------------
// Building the tree with serde-saphyr.

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<ValueWrapper>::deserialize(deserializer)?;
        Ok(Node {
            loc: Loc::from_saphyr(spanned.referenced),
            value: spanned.value.0,
        })
    }
}

struct ValueWrapper(Value);

impl<'de> Deserialize<'de> for ValueWrapper {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TreeVisitor).map(ValueWrapper)
    }
}

struct TreeVisitor;

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::UInt(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Int)
            .map_err(|_| E::custom(format_args!("integer {v} is too large")))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        u64::try_from(v)
            .map(Value::UInt)
            .map_err(|_| E::custom(format_args!("integer {v} is too large")))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_char<E>(self, v: char) -> Result<Value, E> {
        Ok(Value::Str(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Value, E> {
        Err(E::custom("binary values are not supported in rule files"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(node) = seq.next_element::<Node>()? {
            items.push(node);
        }
        Ok(Value::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Value::Map(entries))
    }
}

// ---------------------------------------------------------------------------
// Errors raised while deserializing typed structs from the tree.

/// A shape error: wrong type, unknown or missing field, bad enum value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DeError {
    pub loc: Option<Loc>,
    pub message: String,
    pub help: Option<String>,
    pub kind: ErrorKind,
}

/// What a shape error is about, which decides how recovery skips it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ErrorKind {
    /// A key that the struct does not have (located at the key), and the field
    /// it probably meant.
    UnknownField { meant: Option<&'static str> },
    /// A required field is absent (located at the mapping).
    MissingField,
    /// The value is wrong (located at the value).
    Value,
}

impl DeError {
    fn at(mut self, loc: Loc) -> Self {
        if self.loc.is_none() {
            self.loc = Some(loc);
        }
        self
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            loc: None,
            message: msg.to_string(),
            help: None,
            kind: ErrorKind::Value,
        }
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::custom(format_args!(
            "expected {}, found {}",
            expected(exp),
            describe(&unexp)
        ))
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::custom(format_args!(
            "expected {}, found {}",
            expected(exp),
            describe(&unexp)
        ))
    }

    fn invalid_length(len: usize, exp: &dyn de::Expected) -> Self {
        Self::custom(format_args!("expected {exp}, found {len} items"))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        let mut e = Self::custom(
            match crate::suggest::did_you_mean(variant, expected.iter().copied()) {
                Some(near) => format!("unknown value `{variant}` — did you mean `{near}`?"),
                None => format!("unknown value `{variant}`"),
            },
        );
        e.help = Some(format!("expected one of {}", hints::list(expected)));
        e
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        let meant = crate::suggest::did_you_mean(field, expected.iter().copied());
        if let Some(near) = meant {
            let mut e = Self::custom(format_args!(
                "unknown field `{field}` — did you mean `{near}`?"
            ));
            e.kind = ErrorKind::UnknownField { meant };
            return e;
        }
        let mut e = Self::custom(format_args!("unknown field `{field}`"));
        e.kind = ErrorKind::UnknownField { meant: None };
        e.help = Some(match hints::belongs_under(field, expected) {
            Some(parent) => format!("`{field}` belongs under `{parent}:`"),
            None => format!("the fields allowed here are {}", hints::list(expected)),
        });
        e
    }

    fn missing_field(field: &'static str) -> Self {
        let mut e = Self::custom(format_args!("missing field `{field}`"));
        e.help = hints::example_for(field).map(str::to_owned);
        e.kind = ErrorKind::MissingField;
        e
    }

    fn duplicate_field(field: &'static str) -> Self {
        Self::custom(format_args!("duplicate field `{field}`"))
    }
}

/// serde's names for primitive types, in words.
fn expected(exp: &dyn de::Expected) -> String {
    let text = exp.to_string();
    match text.as_str() {
        "f32" | "f64" => "a number".to_owned(),
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number, 0 or more".to_owned(),
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number".to_owned(),
        "a boolean" => "`true` or `false`".to_owned(),
        _ if text.starts_with("struct ") => "a mapping of fields".to_owned(),
        _ if text.starts_with("enum ") => "a name".to_owned(),
        _ => text,
    }
}

fn describe(unexp: &Unexpected<'_>) -> String {
    match unexp {
        Unexpected::Unit | Unexpected::Option => "nothing (an empty value)".to_owned(),
        Unexpected::Str(s) => format!("the text \"{s}\""),
        Unexpected::Unsigned(n) => format!("the number {n}"),
        Unexpected::Signed(n) => format!("the number {n}"),
        Unexpected::Float(n) => format!("the number {n}"),
        Unexpected::Bool(b) => format!("`{b}`"),
        Unexpected::Map => "a mapping".to_owned(),
        Unexpected::Seq => "a list".to_owned(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------
// Located values and isolated items.

const SPANNED: &str = "$handoff::Sp";
const ISOLATED: &str = "$handoff::Isolated";

/// A value together with where it was written.
///
/// Deserialized from the tree it carries the value's location; from any other
/// deserializer the location is unknown (line 0).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sp<T> {
    pub value: T,
    pub loc: Loc,
}

impl<T> Sp<T> {
    pub fn new(value: T, loc: Loc) -> Self {
        Sp { value, loc }
    }
}

impl<T> std::ops::Deref for Sp<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Sp<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for SpVisitor<T> {
            type Value = Sp<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Sp<T>, A::Error> {
                let [line, column, len]: [u32; 3] = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("missing location"))?;
                let value = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("missing value"))?;
                Ok(Sp {
                    value,
                    loc: Loc { line, column, len },
                })
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Sp<T>, D::Error> {
                Ok(Sp {
                    value: T::deserialize(d)?,
                    loc: Loc::default(),
                })
            }
        }
        deserializer.deserialize_newtype_struct(SPANNED, SpVisitor(PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for Sp<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// An item that may fail to deserialize without failing its parent: `None` when
/// it failed, in which case the error has been recorded by the deserializer.
#[derive(Clone, Debug)]
pub(crate) struct Isolated<T>(pub Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Isolated<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IsoVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for IsoVisitor<T> {
            type Value = Isolated<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Isolated<T>, A::Error> {
                Ok(Isolated(seq.next_element()?))
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<Isolated<T>, D::Error> {
                Ok(Isolated(Some(T::deserialize(d)?)))
            }
        }
        deserializer.deserialize_newtype_struct(ISOLATED, IsoVisitor(PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for Isolated<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

// ---------------------------------------------------------------------------
// The deserializer over the tree.

/// Deserializes `T` from `node`. Returns the value (if the whole shape was right)
/// and every error met, including those of isolated items.
pub(crate) fn from_node<'a, T: Deserialize<'a>>(node: &'a Node) -> (Option<T>, Vec<DeError>) {
    let sink = RefCell::new(Vec::new());
    let result = T::deserialize(NodeDe {
        node,
        sink: &sink,
        key: false,
    });
    let mut errors = sink.into_inner();
    let value = match result {
        Ok(v) => Some(v),
        Err(e) => {
            errors.push(e.at(node.loc));
            None
        }
    };
    (value, errors)
}

/// The outcome of [`from_node_recovering`].
pub(crate) struct Recovered<T> {
    /// The value, once every broken entry has been dropped (`None` if the shape
    /// could not be recovered).
    pub value: Option<T>,
    /// Every error met, in the order found.
    pub errors: Vec<DeError>,
    /// The tree with the broken entries dropped; locations are unchanged.
    pub tree: Node,
    /// The keys dropped, by the location of their mapping: the key as written, or
    /// the field a misspelled key probably meant. A later "missing field" check
    /// skips these, since the user has already been told.
    pub dropped: BTreeSet<(Loc, String)>,
}

/// Deserializes `T` from `tree`, and on errors drops the offending entries and
/// tries again, so that one file reports all its shape errors rather than the
/// first. Stops when clean or when no error points at an entry it can drop.
pub(crate) fn from_node_recovering<T: de::DeserializeOwned>(mut tree: Node) -> Recovered<T> {
    let mut all: Vec<DeError> = Vec::new();
    let mut dropped = BTreeSet::new();
    // Each round drops at least one node, so this bound is never reached by a
    // real file; it only caps the work on a pathological one.
    for _ in 0..256 {
        let (value, errors) = from_node::<T>(&tree);
        if errors.is_empty() {
            return Recovered {
                value,
                errors: all,
                tree,
                dropped,
            };
        }
        let mut progress = false;
        for e in errors {
            if let Some(d) = drop_at(&mut tree, &e) {
                dropped.insert(d);
                progress = true;
            }
            if !all.iter().any(|a| a.loc == e.loc && a.message == e.message) {
                all.push(e);
            }
        }
        if !progress {
            return Recovered {
                value,
                errors: all,
                tree,
                dropped,
            };
        }
    }
    Recovered {
        value: None,
        errors: all,
        tree,
        dropped,
    }
}

/// Drops the entry (or list item) an error points at, deepest first. Returns the
/// mapping's location and the key to treat as already reported.
fn drop_at(node: &mut Node, e: &DeError) -> Option<(Loc, String)> {
    let loc = e.loc?;
    let here = node.loc;
    match &mut node.value {
        Value::Map(entries) => {
            for i in 0..entries.len() {
                if let Some(d) = drop_at(&mut entries[i].1, e) {
                    return Some(d);
                }
                let (key, value) = &entries[i];
                let hit = match e.kind {
                    ErrorKind::UnknownField { .. } => key.loc == loc,
                    ErrorKind::Value => value.loc == loc,
                    ErrorKind::MissingField => false,
                };
                if hit {
                    let name = match (&e.kind, &key.value) {
                        (ErrorKind::UnknownField { meant: Some(m) }, _) => (*m).to_owned(),
                        (_, Value::Str(k)) => k.clone(),
                        _ => String::new(),
                    };
                    entries.remove(i);
                    return Some((here, name));
                }
            }
            None
        }
        Value::Seq(items) => {
            for i in 0..items.len() {
                if let Some(d) = drop_at(&mut items[i], e) {
                    return Some(d);
                }
                if e.kind == ErrorKind::Value && items[i].loc == loc {
                    items.remove(i);
                    return Some((here, String::new()));
                }
            }
            None
        }
        _ => None,
    }
}

#[derive(Clone, Copy)]
struct NodeDe<'a, 's> {
    node: &'a Node,
    sink: &'s RefCell<Vec<DeError>>,
    /// Mapping keys accept any scalar as text (`2026: 10` names the group "2026").
    key: bool,
}

impl<'a, 's> NodeDe<'a, 's> {
    fn child(&self, node: &'a Node) -> NodeDe<'a, 's> {
        NodeDe {
            node,
            sink: self.sink,
            key: false,
        }
    }

    fn scalar_text(&self) -> Option<String> {
        match &self.node.value {
            Value::Str(s) => Some(s.clone()),
            Value::Int(n) => Some(n.to_string()),
            Value::UInt(n) => Some(n.to_string()),
            Value::Float(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn located<T>(&self, r: Result<T, DeError>) -> Result<T, DeError> {
        r.map_err(|e| e.at(self.node.loc))
    }
}

impl<'de> Deserializer<'de> for NodeDe<'de, '_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Int(n) => visitor.visit_i64(*n),
            Value::UInt(n) => visitor.visit_u64(*n),
            Value::Float(n) => visitor.visit_f64(*n),
            Value::Str(s) => visitor.visit_str(s),
            Value::Seq(items) => visitor.visit_seq(NodeSeq {
                items: items.iter(),
                de: self,
            }),
            Value::Map(entries) => visitor.visit_map(NodeMap {
                entries: entries.iter(),
                value: None,
                de: self,
            }),
        };
        self.located(r)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let r = match self.node.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        };
        self.located(r)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.key
            && let Some(text) = self.scalar_text()
        {
            return self.located(visitor.visit_string(text));
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let r = match name {
            SPANNED => visitor.visit_seq(SpannedSeq { de: self, step: 0 }),
            ISOLATED => visitor.visit_seq(IsolatedSeq {
                de: self,
                done: false,
            }),
            _ => visitor.visit_newtype_struct(self),
        };
        self.located(r)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let r = match &self.node.value {
            Value::Str(_) => visitor.visit_enum(UnitVariant { de: self }),
            _ => self.deserialize_any(visitor),
        };
        self.located(r)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        // Only a mapping makes a struct: serde would also take a list, field by
        // field in order, which no rule file means.
        match &self.node.value {
            Value::Map(_) => self.deserialize_any(visitor),
            other => {
                let unexpected = match other {
                    Value::Null => Unexpected::Unit,
                    Value::Bool(b) => Unexpected::Bool(*b),
                    Value::Int(n) => Unexpected::Signed(*n),
                    Value::UInt(n) => Unexpected::Unsigned(*n),
                    Value::Float(n) => Unexpected::Float(*n),
                    Value::Str(s) => Unexpected::Str(s),
                    Value::Seq(_) | Value::Map(_) => Unexpected::Seq,
                };
                self.located(Err(de::Error::invalid_type(unexpected, &visitor)))
            }
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char
        bytes byte_buf unit unit_struct seq tuple tuple_struct map
    }
}

struct NodeSeq<'a, 's, I> {
    items: I,
    de: NodeDe<'a, 's>,
}

impl<'de, I: Iterator<Item = &'de Node>> SeqAccess<'de> for NodeSeq<'de, '_, I> {
    type Error = DeError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DeError> {
        match self.items.next() {
            None => Ok(None),
            Some(node) => {
                let de = self.de.child(node);
                de.located(seed.deserialize(de)).map(Some)
            }
        }
    }
}

struct NodeMap<'a, 's, I> {
    entries: I,
    value: Option<&'a Node>,
    de: NodeDe<'a, 's>,
}

impl<'de, I: Iterator<Item = &'de (Node, Node)>> MapAccess<'de> for NodeMap<'de, '_, I> {
    type Error = DeError;

    fn next_key_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DeError> {
        match self.entries.next() {
            None => Ok(None),
            Some((key, value)) => {
                self.value = Some(value);
                let de = NodeDe {
                    node: key,
                    sink: self.de.sink,
                    key: true,
                };
                de.located(seed.deserialize(de)).map(Some)
            }
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, DeError> {
        let node = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("value without a key"))?;
        let de = self.de.child(node);
        de.located(seed.deserialize(de))
    }
}

/// Feeds an [`Sp`] visitor its location, then its value.
struct SpannedSeq<'a, 's> {
    de: NodeDe<'a, 's>,
    step: u8,
}

impl<'de> SeqAccess<'de> for SpannedSeq<'de, '_> {
    type Error = DeError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DeError> {
        self.step += 1;
        match self.step {
            1 => {
                let loc = self.de.node.loc;
                let parts =
                    SeqDeserializer::<_, DeError>::new([loc.line, loc.column, loc.len].into_iter());
                seed.deserialize(parts).map(Some)
            }
            2 => seed.deserialize(self.de).map(Some),
            _ => Ok(None),
        }
    }
}

/// Feeds an [`Isolated`] visitor its value, or nothing when the value fails (the
/// error goes to the sink instead of up the stack).
struct IsolatedSeq<'a, 's> {
    de: NodeDe<'a, 's>,
    done: bool,
}

impl<'de> SeqAccess<'de> for IsolatedSeq<'de, '_> {
    type Error = DeError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DeError> {
        if std::mem::replace(&mut self.done, true) {
            return Ok(None);
        }
        match seed.deserialize(self.de) {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                self.de.sink.borrow_mut().push(e.at(self.de.node.loc));
                Ok(None)
            }
        }
    }
}

struct UnitVariant<'a, 's> {
    de: NodeDe<'a, 's>,
}

impl<'de, 's> EnumAccess<'de> for UnitVariant<'de, 's> {
    type Error = DeError;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), DeError> {
        let text = self.de.node.as_str().unwrap_or_default();
        let v = seed.deserialize(text.into_deserializer())?;
        Ok((v, self))
    }
}

impl<'de> VariantAccess<'de> for UnitVariant<'de, '_> {
    type Error = DeError;

    fn unit_variant(self) -> Result<(), DeError> {
        Ok(())
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, _: S) -> Result<S::Value, DeError> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"a mapping",
        ))
    }
    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, DeError> {
        Err(de::Error::invalid_type(Unexpected::UnitVariant, &"a list"))
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, DeError> {
        Err(de::Error::invalid_type(
            Unexpected::UnitVariant,
            &"a mapping",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Item {
        name: Sp<String>,
        #[serde(default)]
        size: Option<Sp<u32>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        items: Vec<Isolated<Item>>,
    }

    #[test]
    fn spans_point_at_values() {
        let tree = parse("items:\n  - name: a\n    size: 3\n").unwrap();
        let (doc, errors) = from_node::<Doc>(&tree);
        assert!(errors.is_empty(), "{errors:?}");
        let item = doc.unwrap().items.remove(0).0.unwrap();
        assert_eq!(
            item.name.loc,
            Loc {
                line: 2,
                column: 11,
                len: 1
            }
        );
        assert_eq!(
            item.size.unwrap().loc,
            Loc {
                line: 3,
                column: 11,
                len: 1
            }
        );
    }

    #[test]
    fn one_bad_item_does_not_hide_the_others() {
        let text = "items:\n  - name: a\n    sise: 3\n  - name: b\n  - name: c\n    size: big\n";
        let tree = parse(text).unwrap();
        let (doc, errors) = from_node::<Doc>(&tree);
        let items = doc.unwrap().items;
        assert_eq!(items.iter().filter(|i| i.0.is_some()).count(), 1);
        assert_eq!(errors.len(), 2);
        assert_eq!(
            errors[0].loc,
            Some(Loc {
                line: 3,
                column: 5,
                len: 4
            })
        );
        assert_eq!(
            errors[0].message,
            "unknown field `sise` — did you mean `size`?"
        );
        assert_eq!(
            errors[1].loc,
            Some(Loc {
                line: 6,
                column: 11,
                len: 3
            })
        );
        assert_eq!(
            errors[1].message,
            "expected a whole number, 0 or more, found the text \"big\""
        );
    }

    #[test]
    fn recovery_finds_every_error_of_an_item() {
        let text = "items:\n  - name: a\n    sise: 3\n    colour: red\n    size: big\n";
        let r = from_node_recovering::<Doc>(parse(text).unwrap());
        let found: Vec<(u32, &str)> = r
            .errors
            .iter()
            .map(|e| (e.loc.unwrap().line, e.message.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (3, "unknown field `sise` — did you mean `size`?"),
                (4, "unknown field `colour`"),
                (
                    5,
                    "expected a whole number, 0 or more, found the text \"big\""
                ),
            ]
        );
        let item = r.value.unwrap().items.remove(0).0.unwrap();
        assert_eq!(item.name.value, "a");
        assert!(item.size.is_none());
        let map = Loc {
            line: 2,
            column: 5,
            len: 0,
        };
        assert!(r.dropped.contains(&(map, "size".to_owned())));
        assert!(r.dropped.contains(&(map, "colour".to_owned())));
    }

    #[test]
    fn missing_field_points_at_the_mapping() {
        let tree = parse("items:\n  - size: 1\n").unwrap();
        let (_, errors) = from_node::<Doc>(&tree);
        assert_eq!(
            errors[0].loc,
            Some(Loc {
                line: 2,
                column: 5,
                len: 0
            })
        );
        assert_eq!(errors[0].message, "missing field `name`");
    }

    #[test]
    fn syntax_errors_are_located() {
        let e = parse("a: 1\na: 2\n").err().unwrap();
        assert_eq!((e.loc.line, e.loc.column), (2, 1));
        assert_eq!(
            e.message,
            "duplicate key `a`: each key may appear only once in a mapping"
        );
    }
}
