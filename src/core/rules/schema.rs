//! The JSON Schema of rule files, generated from the very structs the loader
//! deserializes, plus the per-kind field rules from the same table the
//! validator reads.

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use super::model::Kind;
use super::raw::{COMMON_FIELDS, KIND_SPECIFIC_FIELDS, RawFile};

/// The JSON Schema (draft 2020-12) of a rule file, as `handoff schema` prints it.
///
/// Editors with the YAML language server pick it up from the modeline
/// `# yaml-language-server: $schema=schema.json` at the top of a rule file.
/// The schema checks shape (fields, types, patterns, which fields each kind
/// takes); the loader checks meaning as well (cron, time zones, references).
pub fn json_schema() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator();
    let schema = generator.into_root_schema_for::<RawFile>();
    let mut root = schema.to_value();
    if let Some(obj) = root.as_object_mut() {
        obj.insert("title".into(), json!("handoff rule file"));
        if let Some(objective) = obj
            .get_mut("$defs")
            .and_then(|d| d.get_mut("Objective"))
            .and_then(Value::as_object_mut)
        {
            objective.insert("allOf".into(), Value::Array(kind_rules()));
        }
    }
    root
}

/// One `if kind = K then (required …, forbidden …)` rule per kind.
fn kind_rules() -> Vec<Value> {
    Kind::ALL
        .iter()
        .map(|kind| {
            let fields = kind.fields();
            let mut forbidden = Map::new();
            for field in KIND_SPECIFIC_FIELDS {
                if !kind.allows(field) && !COMMON_FIELDS.contains(field) {
                    forbidden.insert((*field).to_owned(), json!(false));
                }
            }
            json!({
                "if": { "properties": { "kind": { "const": kind.as_str() } }, "required": ["kind"] },
                "then": { "required": fields.required, "properties": forbidden }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_objective_field_is_in_the_kind_table() {
        let schema = json_schema();
        let props = schema["$defs"]["Objective"]["properties"]
            .as_object()
            .unwrap();
        let mut from_schema: Vec<&str> = props.keys().map(String::as_str).collect();
        let mut from_table: Vec<&str> = COMMON_FIELDS
            .iter()
            .chain(KIND_SPECIFIC_FIELDS)
            .copied()
            .collect();
        from_schema.sort_unstable();
        from_table.sort_unstable();
        assert_eq!(from_schema, from_table);
    }

    #[test]
    fn is_draft_2020_12_and_closed() {
        let schema = json_schema();
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["$defs"]["Objective"]["additionalProperties"], false);
    }
}
