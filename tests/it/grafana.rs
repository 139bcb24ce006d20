//! The Grafana dashboards, their provisioning files and the Prometheus rule
//! file, linted without a server: fixed and unique uids, one `datasource`
//! variable used by every panel and query, a unit and a question on every
//! panel, thresholds on compliance panels, links that lead somewhere, and only
//! metric and label names that the daemon exports.
//!
//! The exported names are read from the source of `/metrics`
//! (`src/daemon/metrics.rs`), not from a list kept beside the dashboards, so a
//! renamed metric fails here. `.ci/dashboards.py` runs every query against a
//! real Prometheus scraping the demo.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The data source reference every panel and query must carry.
fn datasource_ref() -> Value {
    serde_json::json!({"type": "prometheus", "uid": "${datasource}"})
}

/// The dashboards under `grafana/dashboards`, by file name.
fn dashboards() -> Vec<(String, Value)> {
    let dir = Path::new(ROOT).join("grafana/dashboards");
    let mut out: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p: PathBuf| {
            let text = std::fs::read_to_string(&p).expect("readable dashboard");
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", p.display()));
            (p.file_name().unwrap().to_string_lossy().into_owned(), json)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Every panel, including those inside collapsed rows, except the rows.
fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().into_iter().flatten() {
        if p["type"] != "row" {
            out.push(p);
        }
        for inner in p["panels"].as_array().into_iter().flatten() {
            out.push(inner);
        }
    }
    out
}

fn targets(panel: &Value) -> impl Iterator<Item = &Value> {
    panel["targets"].as_array().into_iter().flatten()
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// The string literals of Rust or PromQL source, in order (no escapes needed:
/// neither source writes a quote inside a name).
fn string_literals(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut rest = text.char_indices();
    while let Some((i, c)) = rest.next() {
        if c == '"' {
            let start = i + 1;
            let mut end = start;
            let mut escaped = false;
            for (j, d) in rest.by_ref() {
                if d == '"' && !escaped {
                    end = j;
                    break;
                }
                escaped = d == '\\' && !escaped;
            }
            out.push((start, &text[start..end]));
        }
    }
    out
}

/// The metric names `/metrics` can carry and the label names it uses, read
/// from the source of the metrics module: every `"handoff_…"` literal is a
/// family; a histogram family adds `_bucket`, `_sum` and `_count`, a summary
/// family `_sum` and `_count`.
fn exported() -> (BTreeSet<String>, BTreeSet<String>) {
    let path = Path::new(ROOT).join("src/daemon/metrics.rs");
    let source = std::fs::read_to_string(&path).expect("src/daemon/metrics.rs");
    let mut metrics = BTreeSet::new();
    let mut labels: BTreeSet<String> = ["le", "quantile", "job", "instance", "__name__"]
        .map(String::from)
        .into();
    for (at, lit) in string_literals(&source) {
        if lit.starts_with("handoff_") && lit.chars().all(is_ident) {
            let before = &source[at.saturating_sub(160)..at - 1];
            let after = &source[at..(at + 600).min(source.len())];
            metrics.insert(lit.to_owned());
            let suffixes: &[&str] = if before.contains("HistogramOpts::new(") {
                &["_bucket", "_sum", "_count"]
            } else if before.trim_end().ends_with("set_name(")
                && after.contains("MetricType::SUMMARY")
            {
                &["_sum", "_count"]
            } else {
                &[]
            };
            for s in suffixes {
                metrics.insert(format!("{lit}{s}"));
            }
        } else if !lit.is_empty() && lit.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            labels.insert(lit.to_owned());
        }
    }
    // The parse must find what docs/DAEMON.md, "Metrics" names, or it would vouch for nothing.
    for name in [
        "handoff_objective_value",
        "handoff_alerts",
        "handoff_evaluation_duration_seconds_bucket",
        "handoff_response_seconds_count",
        "handoff_build_info",
    ] {
        assert!(
            metrics.contains(name),
            "the parse of {} misses {name}",
            path.display()
        );
    }
    (metrics, labels)
}

/// PromQL words followed by a parenthesised list of label names.
const LABEL_LISTS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// PromQL words that are not metric names.
const PROMQL_WORDS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "or",
    "and",
    "unless",
    "bool",
    "offset",
    "time",
    "vector",
    "rate",
    "increase",
    "irate",
    "delta",
    "histogram_quantile",
    "label_replace",
    "max_over_time",
    "min_over_time",
    "avg_over_time",
    "last_over_time",
    "absent",
    "clamp_min",
    "clamp_max",
    "topk",
    "bottomk",
    "inf",
    "nan",
    "label_values",
];

/// Problems with the names one expression uses.
fn check_names(expr: &str, metrics: &BTreeSet<String>, labels: &BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    // Template variables are not names: $x, ${x}, ${x:fmt}.
    let mut clean = String::new();
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' {
            if chars.peek() == Some(&'{') {
                for d in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                }
            } else {
                while chars.peek().is_some_and(|d| is_ident(*d)) {
                    chars.next();
                }
            }
            clean.push('0');
        } else {
            clean.push(c);
        }
    }
    // Label names: left of a matcher inside braces, and inside by (…),
    // without (…), on (…), ignoring (…), group_left (…) and group_right (…).
    let literals = string_literals(&clean);
    let mut outside = clean.clone();
    for (at, lit) in literals.iter().rev() {
        outside.replace_range(at - 1..at + lit.len() + 1, "\"\"");
    }
    let bytes: Vec<char> = outside.chars().collect();
    let mut i = 0;
    let mut depth_brace = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == '{' {
            depth_brace += 1;
        } else if c == '}' {
            depth_brace -= 1;
        }
        if is_ident(c) && (i == 0 || !is_ident(bytes[i - 1])) && !c.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && is_ident(bytes[i]) {
                i += 1;
            }
            let word: String = bytes[start..i].iter().collect();
            let next = bytes[i..].iter().find(|c| !c.is_whitespace()).copied();
            if depth_brace > 0 {
                if !labels.contains(&word) {
                    problems.push(format!("label {word} is not exported"));
                }
            } else if LABEL_LISTS.contains(&word.as_str()) {
                let rest: String = bytes[i..].iter().collect();
                if let Some(list) = rest.trim_start().strip_prefix('(') {
                    let list = list.split(')').next().unwrap_or("");
                    for l in list.split(',') {
                        let l = l.trim();
                        if !l.is_empty() && !labels.contains(l) {
                            problems.push(format!("label {l} (in {word}) is not exported"));
                        }
                    }
                    // Past the list: its words are labels, not metrics.
                    i += rest.len() - rest.trim_start().len() + 1 + list.chars().count() + 1;
                }
            } else if word.starts_with("handoff") {
                if !metrics.contains(&word) {
                    problems.push(format!("metric {word} is not exported by the daemon"));
                }
            } else if next != Some('(') && !PROMQL_WORDS.contains(&word.as_str()) && word != "up" {
                // Durations like 5m start with a digit and were skipped above.
                problems.push(format!("{word} is neither a handoff metric nor PromQL"));
            }
            continue;
        }
        i += 1;
    }
    problems
}

/// Every `"datasource"` key anywhere must be the variable reference.
fn hard_coded_datasources(value: &Value, path: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{path}.{k}");
                if k == "datasource" && *v != datasource_ref() {
                    out.push(format!("{here} is {v}, not the ${{datasource}} variable"));
                }
                hard_coded_datasources(v, &here, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                hard_coded_datasources(v, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// `/d/UID` in every string of the dashboard.
fn linked_uids(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            for part in s.split("/d/").skip(1) {
                let uid: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect();
                if !uid.is_empty() {
                    out.insert(uid);
                }
            }
        }
        Value::Object(m) => m.values().for_each(|v| linked_uids(v, out)),
        Value::Array(a) => a.iter().for_each(|v| linked_uids(v, out)),
        _ => {}
    }
}

#[test]
fn every_dashboard_passes_the_lint() {
    let (metrics, labels) = exported();
    let all = dashboards();
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "handoff-economics.json",
            "handoff-health.json",
            "handoff-marketing.json",
            "handoff-overview.json",
            "handoff-sales.json"
        ],
        "the five dashboards"
    );
    let uids: BTreeMap<String, &str> = all
        .iter()
        .map(|(n, d)| (d["uid"].as_str().unwrap_or_default().to_owned(), n.as_str()))
        .collect();
    assert_eq!(
        uids.len(),
        all.len(),
        "dashboard uids must be unique: {uids:?}"
    );
    let builtins = [
        "__rate_interval",
        "__interval",
        "__interval_ms",
        "__range",
        "__range_s",
        "__range_ms",
    ];

    let mut problems = Vec::new();
    for (file, d) in &all {
        let mut p = |msg: String| problems.push(format!("{file}: {msg}"));
        let uid = d["uid"].as_str().unwrap_or_default();
        if uid.is_empty()
            || uid.len() > 40
            || !uid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            p(format!(
                "uid {uid:?} must be 1–40 letters, digits or dashes"
            ));
        }
        if d["title"].as_str().unwrap_or_default().is_empty() {
            p("no title".into());
        }
        if d["time"]["from"].as_str().unwrap_or_default().is_empty() {
            p("no default time range".into());
        }
        if d["refresh"].as_str().unwrap_or_default().is_empty() {
            p("no default refresh".into());
        }
        let vars = d["templating"]["list"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let ds: Vec<&Value> = vars.iter().filter(|v| v["type"] == "datasource").collect();
        if ds.len() != 1 || ds[0]["name"] != "datasource" || ds[0]["query"] != "prometheus" {
            p(
                "needs exactly one variable `datasource` of type datasource, query prometheus"
                    .into(),
            );
        }
        let var_names: BTreeSet<&str> = vars.iter().filter_map(|v| v["name"].as_str()).collect();
        let mut hard = Vec::new();
        hard_coded_datasources(d, "", &mut hard);
        for h in hard {
            p(h);
        }
        let mut linked = BTreeSet::new();
        linked_uids(d, &mut linked);
        for l in linked {
            if !uids.contains_key(&l) {
                p(format!("links to /d/{l}, which no dashboard has"));
            }
        }

        let mut exprs: Vec<(String, String)> = Vec::new();
        for v in &vars {
            if v["type"] == "query" {
                let q = v["query"]["query"]
                    .as_str()
                    .or(v["query"].as_str())
                    .unwrap_or_default();
                // label_values(SELECTOR, LABEL): the selector is PromQL, LABEL a label.
                let inner = q
                    .strip_prefix("label_values(")
                    .and_then(|r| r.strip_suffix(')'));
                match inner.and_then(|r| r.rsplit_once(',')) {
                    Some((selector, label)) => {
                        if !labels.contains(label.trim()) {
                            p(format!(
                                "variable {}: label {} is not exported",
                                v["name"],
                                label.trim()
                            ));
                        }
                        exprs.push((format!("variable {}", v["name"]), selector.to_owned()));
                    }
                    None => p(format!(
                        "variable {}: not label_values(SELECTOR, LABEL): {q}",
                        v["name"]
                    )),
                }
            }
        }
        let mut ids = BTreeSet::new();
        for panel in panels(d) {
            let title = panel["title"].as_str().unwrap_or_default();
            let mut p = |msg: String| problems.push(format!("{file}: panel {title:?}: {msg}"));
            if !ids.insert(panel["id"].as_u64()) {
                p("duplicate panel id".into());
            }
            if panel["datasource"] != datasource_ref() {
                p(format!(
                    "datasource is {}, not ${{datasource}}",
                    panel["datasource"]
                ));
            }
            if panel["fieldConfig"]["defaults"]["unit"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
            {
                p("no unit".into());
            }
            let desc = panel["description"].as_str().unwrap_or_default();
            if !desc.contains('?') {
                p(format!(
                    "the description must ask the question the panel answers: {desc:?}"
                ));
            }
            let ts: Vec<&Value> = targets(panel).collect();
            if ts.is_empty() {
                p("no query".into());
            }
            let mut compliance = false;
            for t in ts {
                if t["datasource"] != datasource_ref() {
                    p(format!(
                        "target {} datasource is {}",
                        t["refId"], t["datasource"]
                    ));
                }
                let expr = t["expr"].as_str().unwrap_or_default();
                if expr.is_empty() {
                    p(format!("target {} has no expr", t["refId"]));
                }
                compliance |= expr.contains("/ handoff_objective_target")
                    || expr.contains("handoff_lead_volume_pace");
                exprs.push((format!("panel {title:?} {}", t["refId"]), expr.to_owned()));
            }
            let steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
                .as_array()
                .map_or(0, Vec::len);
            if compliance && steps < 2 {
                p("a compliance panel (value over target, or pace) needs thresholds".into());
            }
        }
        for (where_, expr) in &exprs {
            for problem in check_names(expr, &metrics, &labels) {
                problems.push(format!("{file}: {where_}: {problem} in {expr}"));
            }
            for var in expr.split('$').skip(1) {
                let name: String = var
                    .trim_start_matches('{')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !var_names.contains(name.as_str()) && !builtins.contains(&name.as_str()) {
                    problems.push(format!("{file}: {where_}: unknown variable ${name}"));
                }
            }
            // A label_replace that makes a `dashboard` label for links names a real uid.
            for (_, lit) in string_literals(expr)
                .windows(2)
                .filter(|w| w[0].1 == "dashboard")
                .map(|w| w[1])
            {
                if !uids.contains_key(lit) {
                    problems.push(format!(
                        "{file}: {where_}: links rows to dashboard {lit}, which does not exist"
                    ));
                }
            }
        }
    }

    // The overview links to every detail dashboard, carrying variables and time.
    let overview = &all
        .iter()
        .find(|(_, d)| d["uid"] == "handoff-overview")
        .expect("the overview")
        .1;
    for uid in uids.keys().filter(|u| *u != "handoff-overview") {
        let carried = overview["links"].as_array().into_iter().flatten().any(|l| {
            l["url"]
                .as_str()
                .is_some_and(|u| u.contains(&format!("/d/{uid}")))
                && l["includeVars"] == true
                && l["keepTime"] == true
        });
        if !carried {
            problems.push(format!(
                "the overview has no link to {uid} that carries variables and time"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_lint_catches_what_it_should() {
    let (metrics, labels) = exported();
    assert!(check_names(r#"sum by (objective) (rate(handoff_evaluations_total{objective=~"$objective"}[$__rate_interval]))"#, &metrics, &labels).is_empty());
    assert!(
        check_names(
            r#"handoff_response_seconds_sum / handoff_response_seconds_count"#,
            &metrics,
            &labels
        )
        .is_empty()
    );
    // A name that is not exported, a summary without a _bucket, a made-up label.
    assert_eq!(
        check_names("handoff_objective_valu", &metrics, &labels).len(),
        1
    );
    assert_eq!(
        check_names("handoff_response_seconds_bucket", &metrics, &labels).len(),
        1
    );
    assert_eq!(
        check_names(r#"handoff_objective_value{team="a"}"#, &metrics, &labels).len(),
        1
    );
    assert_eq!(
        check_names("sum by (team) (handoff_objective_value)", &metrics, &labels).len(),
        1
    );
    assert_eq!(check_names("node_load1", &metrics, &labels).len(), 1);
    // A join's label lists hold labels: an exported one passes, a made-up one not.
    let join = |l: &str| {
        check_names(
            &format!("handoff_rep_failures * on (rep) group_left ({l}) handoff_rep_info"),
            &metrics,
            &labels,
        )
    };
    assert!(join("name").is_empty(), "{:?}", join("name"));
    assert_eq!(join("nickname").len(), 1);
    let mut hard = Vec::new();
    hard_coded_datasources(
        &serde_json::json!({"panels": [{"datasource": {"type": "prometheus", "uid": "P1809F7CD0C75ACF3"}}]}),
        "",
        &mut hard,
    );
    assert_eq!(hard.len(), 1);
}

#[test]
fn the_rule_file_uses_only_exported_metrics() {
    let (metrics, labels) = exported();
    let path = Path::new(ROOT).join("grafana/prometheus/handoff.rules.yml");
    let rules: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&path).expect("the rule file"))
            .expect("YAML");
    let mut count = 0;
    let mut problems = Vec::new();
    for group in rules["groups"].as_array().expect("groups") {
        for rule in group["rules"].as_array().expect("rules") {
            let expr = rule["expr"].as_str().expect("expr");
            count += 1;
            for p in check_names(expr, &metrics, &labels) {
                problems.push(format!(
                    "{}: {p}",
                    rule["record"]
                        .as_str()
                        .or(rule["alert"].as_str())
                        .unwrap_or("?")
                ));
            }
        }
    }
    assert!(count >= 10, "only {count} rules");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_provisioning_files_are_as_grafana_documents_them() {
    let read = |p: &str| -> Value {
        let path = Path::new(ROOT).join(p);
        serde_saphyr::from_str(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{p}: {e}")),
        )
        .expect("YAML")
    };
    let ds = read("grafana/provisioning/datasources/handoff.yaml");
    assert_eq!(ds["apiVersion"], 1);
    assert_eq!(ds["datasources"][0]["type"], "prometheus");
    assert!(
        ds["datasources"][0]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http"))
    );
    let dash = read("grafana/provisioning/dashboards/handoff.yaml");
    assert_eq!(dash["apiVersion"], 1);
    assert_eq!(dash["providers"][0]["type"], "file");
    assert!(
        dash["providers"][0]["options"]["path"]
            .as_str()
            .is_some_and(|p| p.starts_with('/'))
    );
}
