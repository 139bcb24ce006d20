#!/usr/bin/env python3
"""End-to-end check of the Grafana dashboards and the Prometheus rule file.

Against a running Prometheus that scrapes a handoff daemon (the demo, in CI):

1. Every template variable query (label_values(SELECTOR, LABEL)) is run, and
   must give at least one value.
2. Every query of every panel, with its template variables substituted as
   Grafana would with "All" selected (regex variables become .*), is sent to
   /api/v1/query and must succeed and return data, except the few listed in
   EMPTY_ALLOWED below. It is then run again with each query variable set to
   the first value Prometheus offers for it; that run must succeed (a single
   objective or group legitimately leaves some panels empty).
3. promtool parses every panel expression (written as recording rules into a
   temporary rule file for `promtool check rules`), and `promtool check rules`
   and `promtool test rules` pass on grafana/prometheus/.
4. Every recording rule of the rule file returns data on the live Prometheus,
   and every alerting rule's expression is accepted by it.

Usage: .ci/dashboards.py PROMETHEUS_URL
"""

import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
DASHBOARDS = sorted(glob.glob(os.path.join(ROOT, "grafana", "dashboards", "*.json")))
RULES = os.path.join(ROOT, "grafana", "prometheus", "handoff.rules.yml")
RULES_TEST = os.path.join(ROOT, "grafana", "prometheus", "handoff.rules.test.yml")

# Panels whose queries may return no series on healthy demo data, keyed by
# (dashboard uid, panel title), each with the reason. Everything else must
# return data.
EMPTY_ALLOWED: dict = {
    # Every counter's label values are exported at 0 from the start; the one
    # gauge that exists only with an option the demo does not use:
    ("handoff-health", "How far behind is the read replica?"): (
        "handoff_read_replica_lag_seconds is exported only with --read-database"
    ),
}

# Grafana's built-in interval and range variables, at the values a dashboard
# of a few days would give them.
BUILTINS = {
    "__rate_interval": "5m",
    "__interval": "1m",
    "__interval_ms": "60000",
    "__range": "1d",
    "__range_s": "86400",
    "__range_ms": "86400000",
}


def query(url, expr):
    data = urllib.parse.urlencode({"query": expr}).encode()
    req = urllib.request.Request(url + "/api/v1/query", data=data)
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            answer = json.load(resp)
    except urllib.error.HTTPError as e:
        answer = json.load(e)
    if answer.get("status") != "success":
        return None, answer.get("error", "unknown error")
    return answer["data"]["result"], None


def panels(dashboard):
    for p in dashboard.get("panels", []):
        yield p
        yield from p.get("panels", [])  # collapsed rows hold theirs


def substitute(expr, values):
    def repl(m):
        name = m.group(1) or m.group(2)
        name = name.split(":")[0]
        if name in values:
            return values[name]
        if name in BUILTINS:
            return BUILTINS[name]
        raise KeyError(name)
    return re.sub(r"\$\{([A-Za-z0-9_:]+)\}|\$([A-Za-z_][A-Za-z0-9_]*)", repl, expr)


LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$", re.S)


def grafana_regex_escape(value):
    """A value as Grafana's Prometheus data source puts it into a regex
    matcher: regex metacharacters get a backslash, itself escaped for the
    PromQL string."""
    return re.sub(r"[\\^$*+?.()|{}\[\]]", lambda m: "\\\\" + m.group(0), value)


def variable_query(var):
    q = var.get("query")
    if isinstance(q, dict):
        q = q.get("query")
    return q


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    url = sys.argv[1].rstrip("/")
    problems = []
    checked = empty_ok = 0
    exprs = []  # (where, substituted expression) for promtool

    if not DASHBOARDS:
        sys.exit("error: no dashboards under grafana/dashboards")
    # rate() and increase() need two samples in their window: wait for a few
    # scrapes, so that an empty answer means a wrong query, not a young server.
    for _ in range(60):
        result, _error = query(url, "count_over_time(handoff_build_info[1m])")
        if result and float(result[0]["value"][1]) >= 5:
            break
        time.sleep(1)
    else:
        sys.exit(f"error: {url} has fewer than 5 scrapes of handoff after 60 s")
    for path in DASHBOARDS:
        dashboard = json.load(open(path, encoding="utf-8"))
        uid = dashboard["uid"]
        all_values = {}    # as Grafana substitutes them with All selected
        first_values = {}  # the first value each query variable offers
        for var in dashboard["templating"]["list"]:
            name, kind = var["name"], var["type"]
            if kind == "datasource":
                continue
            if kind in ("textbox", "constant", "custom"):
                value = var.get("current", {}).get("value") or var.get("query", "")
                all_values[name] = first_values[name] = str(value)
                continue
            if kind != "query":
                problems.append(f"{uid}: variable {name} has type {kind}, which this check does not know")
                continue
            # Until it resolves, a variable matches anything: one broken
            # variable is reported once, not again by every panel using it.
            all_values[name] = first_values[name] = ".*"
            m = LABEL_VALUES.match(variable_query(var) or "")
            if not m:
                problems.append(f"{uid}: variable {name} is not label_values(SELECTOR, LABEL)")
                continue
            selector, label = m.group(1), m.group(2)
            # Chained variables: earlier variables at their first value.
            sel = substitute(selector, dict(first_values))
            result, error = query(url, sel)
            exprs.append((f"{uid} variable {name}", substitute(selector, dict(all_values))))
            if error:
                problems.append(f"{uid}: variable {name}: {sel}: {error}")
                continue
            values = sorted({s["metric"].get(label, "") for s in result} - {""})
            if not values:
                problems.append(f"{uid}: variable {name} offers no value ({sel})")
                continue
            if var.get("multi") or var.get("includeAll"):
                first_values[name] = grafana_regex_escape(values[0])
                all_values[name] = var.get("allValue") or "(" + "|".join(map(grafana_regex_escape, values)) + ")"
            else:
                first_values[name] = all_values[name] = values[0]
            print(f"{uid}: variable {name}: {len(values)} values ({', '.join(values)})")

        for panel in panels(dashboard):
            if panel.get("type") == "row":
                continue
            title = panel.get("title", "?")
            for target in panel.get("targets", []):
                expr = target.get("expr", "")
                where = f"{uid} / {title} / {target.get('refId')}"
                try:
                    with_all = substitute(expr, all_values)
                    with_first = substitute(expr, first_values)
                except KeyError as e:
                    problems.append(f"{where}: unknown variable ${e.args[0]}")
                    continue
                exprs.append((where, with_all))
                checked += 1
                result, error = query(url, with_all)
                if error:
                    problems.append(f"{where}: {with_all}: {error}")
                    continue
                if not result:
                    if (uid, title) in EMPTY_ALLOWED:
                        empty_ok += 1
                        print(f"{where}: empty, as allowed: {EMPTY_ALLOWED[(uid, title)]}")
                    else:
                        problems.append(f"{where}: no data for {with_all}")
                _, error = query(url, with_first)
                if error:
                    problems.append(f"{where}: {with_first}: {error}")
    unused = [k for k in EMPTY_ALLOWED if not any(
        json.load(open(p, encoding="utf-8"))["uid"] == k[0] and
        any(pn.get("title") == k[1] for pn in panels(json.load(open(p, encoding="utf-8"))))
        for p in DASHBOARDS)]
    for k in unused:
        problems.append(f"EMPTY_ALLOWED names a panel that does not exist: {k}")
    print(f"{checked} panel queries sent to {url}: {checked - empty_ok} returned data, {empty_ok} empty as allowed")

    # promtool parses every expression: each becomes a recording rule.
    with tempfile.TemporaryDirectory() as tmp:
        rule_file = os.path.join(tmp, "panels.yml")
        with open(rule_file, "w", encoding="utf-8") as f:
            f.write("groups:\n  - name: panels\n    rules:\n")
            for i, (where, expr) in enumerate(exprs):
                f.write(f"      # {where}\n      - record: panel:expr_{i}\n        expr: {json.dumps(expr)}\n")
        run = subprocess.run(["promtool", "check", "rules", rule_file], capture_output=True, text=True)
        if run.returncode:
            problems.append("promtool rejects panel expressions:\n" + run.stdout + run.stderr)
        else:
            print(f"promtool parses all {len(exprs)} panel and variable expressions")

    for args in (["check", "rules", RULES], ["test", "rules", RULES_TEST]):
        run = subprocess.run(["promtool", *args], capture_output=True, text=True, cwd=os.path.dirname(RULES))
        out = (run.stdout + run.stderr).strip()
        if run.returncode:
            problems.append(f"promtool {' '.join(args[:2])} failed:\n{out}")
        else:
            print(f"promtool {' '.join(args[:2])} {os.path.relpath(args[2], ROOT)}: {out.splitlines()[-1] if out else 'ok'}")

    # The rule file's expressions against the live server. Its YAML is
    # read with a small parser of its own layout, so that no PyYAML is needed:
    # promtool has already validated the file.
    rules = parse_rules(open(RULES, encoding="utf-8").read())
    if not rules:
        problems.append(f"no rules found in {RULES}")
    for kind, name, expr in rules:
        result, error = query(url, expr)
        if error:
            problems.append(f"rule {name}: {error}")
        elif kind == "record" and not result:
            problems.append(f"recording rule {name} returns no data: {expr}")
    print(f"{len(rules)} rules of the rule file accepted by Prometheus; every recording rule returns data")

    for p in problems:
        print("error:", p, file=sys.stderr)
    if problems:
        sys.exit(1)


def parse_rules(text):
    """(record|alert, name, expr) for each rule, from `- record:`/`- alert:`
    lines followed by an `expr:` that is a plain, quoted or `|` block scalar."""
    lines = text.splitlines()
    rules = []
    i = 0
    while i < len(lines):
        m = re.match(r"^\s*- (record|alert):\s*(\S+)", lines[i])
        if m:
            kind, name = m.groups()
            j = i + 1
            while j < len(lines) and not re.match(r"^\s*expr:", lines[j]):
                j += 1
            head = lines[j].split("expr:", 1)[1].strip()
            if head in ("|", "|-", ">", ">-"):
                indent = len(lines[j]) - len(lines[j].lstrip())
                body = []
                j += 1
                while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent):
                    body.append(lines[j].strip())
                    j += 1
                expr = " ".join(body)
            elif head.startswith(("'", '"')):
                expr = json.loads(head) if head.startswith('"') else head[1:-1].replace("''", "'")
            else:
                expr = head
            rules.append((kind, name, expr))
            i = j
        else:
            i += 1
    return rules


if __name__ == "__main__":
    main()
