//! Stand-ins for the store and rule functions being added beside this work;
//! removed when they land.
#![allow(dead_code, clippy::unused_async)]

use chrono::{DateTime, Utc};

use crate::rules::{Objective, RuleSet};
use crate::store::{Store, StoreError};

pub trait DefinitionExt {
    fn definition_json(&self) -> serde_json::Value;
    fn definition_key(&self) -> String;
}

impl DefinitionExt for Objective {
    fn definition_json(&self) -> serde_json::Value {
        serde_json::json!({
            "spec": format!("{:?}", self.spec),
            "window": self.window.to_string(),
            "by": format!("{:?}", self.by),
            "timezone": self.timezone.name(),
        })
    }
    fn definition_key(&self) -> String {
        let text = serde_json::to_string(&self.definition_json()).unwrap_or_default();
        format!("{:016x}", xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
    }
}

pub fn definition_changes(old: &serde_json::Value, new: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    if let (Some(a), Some(b)) = (old.as_object(), new.as_object()) {
        for (k, v) in b {
            if a.get(k) != Some(v) {
                out.push(format!(
                    "{k}: {} → {v}",
                    a.get(k).cloned().unwrap_or_default()
                ));
            }
        }
    }
    out
}

pub async fn episode_starts(
    _store: &Store,
    _objective: &str,
) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
    Ok(Vec::new())
}

pub async fn latest_rules(_store: &Store) -> Result<Option<serde_json::Value>, StoreError> {
    Ok(None)
}

pub fn normalized(_rules: &RuleSet) -> serde_json::Value {
    serde_json::Value::Null
}
