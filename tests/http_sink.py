"""A local HTTP receiver for the notice tests: webhook, Slack and Teams.

    /usr/bin/python3 tests/http_sink.py PORT DIR
    /usr/bin/python3 tests/http_sink.py --self-test

Listens on 127.0.0.1:PORT and writes every request it gets to DIR/NNNN.json
(from 0001, written to a .tmp file and renamed): {"n", "method", "path",
"headers" (names lowercased), "body" (the JSON, or the text if it is not
JSON), "problems" (one line per failed check, naming the JSON path, e.g.
`alerts[0].labels.severity: missing`), "answer" (the status it replied), "at"
(epoch seconds)}, and "retry_after_sent" on a 429. Prints `ready` once it
listens. Python 3 standard library only.

The first path segment is the body's format, the second a name that chooses
the reply (counted per full path); anything but POST gets 405, an unknown
format 404:
  fail500-N-...    the first N requests get 500, later ones are judged;
  ratelimit-S-...  the first request gets 429 with `Retry-After: S`;
  bad-...          always 400 `invalid_payload`;
  echo-...         always 404 `Cannot POST <the path>` (a server that quotes
                   the URL it was called at, as many error pages do);
  anything else    400 with the problems joined by "; ", or success:
                   webhook 200, slack 200 `ok`, teams 202.
The body is judged and its problems recorded whatever the reply.

What is checked (Content-Type must be application/json everywhere):
  /webhook/  Alertmanager's webhook payload, version 4
             https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
             exactly its keys; alerts carry alertname, objective, group and
             severity labels, summary and description annotations, RFC 3339
             times (a firing alert ends at 0001-01-01T00:00:00Z), a 16-hex
             fingerprint; status, commonLabels and groupLabels agree with them.
  /slack/    an incoming-webhook message with Block Kit blocks
             https://api.slack.com/reference/block-kit/blocks
             text fallback; header, section, context, actions (buttons) and
             divider blocks with Slack's lengths and counts; no unknown keys.
  /teams/    a Teams workflow webhook message carrying one Adaptive Card
             https://learn.microsoft.com/en-us/connectors/teams/
             https://adaptivecards.io/explorer/
             card 1.0..1.5 of TextBlock, FactSet, ColumnSet and Container
             elements and Action.OpenUrl actions, with their enumerations;
             no unknown keys (elements may also have id, spacing, separator).
--self-test checks the checks and the replies without a network, prints
`self-test ok` and exits 0, or says what failed and exits 1.
"""

import datetime
import http.server
import json
import os
import re
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

MISSING = object()  # an absent key: obj() already said so, the checks skip it
ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's end of a firing alert
STATUSES = ("firing", "resolved")


def jtype(v):
    for t, name in ((bool, "bool"), (int, "number"), (float, "number"), (str, "string"),
                    (list, "list"), (dict, "object")):
        if isinstance(v, t):
            return name
    return "null"


class Judge:
    """Collects problems, each `path: what is wrong`."""

    def __init__(self):
        self.problems = []

    def bad(self, path, msg):
        self.problems.append("%s: %s" % (path or "(body)", msg))

    def obj(self, v, path, required, optional=()):
        """v is an object with the required keys and, unless optional is
        None, no others. False (and nothing said) for MISSING."""
        if v is MISSING:
            return False
        if not isinstance(v, dict):
            self.bad(path, "must be an object, got %s" % jtype(v))
            return False
        for k in required:
            if k not in v:
                self.bad(at(path, k), "missing")
        for k in v:
            if optional is not None and k not in required and k not in optional:
                self.bad(at(path, k), "unexpected key")
        return True

    def string(self, v, path, nonempty=False, maxlen=None, choices=None):
        if v is MISSING:
            return False
        if not isinstance(v, str):
            self.bad(path, "must be a string, got %s" % jtype(v))
            return False
        if choices is not None and v not in choices:
            want = json.dumps(choices[0]) if len(choices) == 1 else "one of " + ", ".join(choices)
            self.bad(path, "must be %s, got %s" % (want, json.dumps(v)))
            return False
        if nonempty and not v:
            self.bad(path, "must not be empty")
        if maxlen is not None and len(v) > maxlen:
            self.bad(path, "is %d characters, at most %d" % (len(v), maxlen))
        return True

    def boolean(self, v, path):
        if v is not MISSING and not isinstance(v, bool):
            self.bad(path, "must be a bool, got %s" % jtype(v))

    def url(self, v, path, maxlen=None):
        if self.string(v, path, maxlen=maxlen) and not re.match(r"https?://.", v):
            self.bad(path, "must be an http:// or https:// URL, got %s" % json.dumps(v))

    def listof(self, v, path, lo=0, hi=None):
        """The list's items ([] if it is not a list, after saying so)."""
        if v is MISSING:
            return []
        if not isinstance(v, list):
            self.bad(path, "must be a list, got %s" % jtype(v))
            return []
        if len(v) < lo or (hi is not None and len(v) > hi):
            want = "at least %d" % lo if hi is None else "exactly %d" % lo if lo == hi else "%d..%d" % (lo, hi)
            self.bad(path, "has %d items, must have %s" % (len(v), want))
        return v

    def strmap(self, v, path, need=()):
        """An object of string values holding the keys in need: its string
        items (None if it is no object)."""
        if not self.obj(v, path, need, None):
            return None
        return {k: s for k, s in v.items() if self.string(s, at(path, k))}


def at(path, key):
    return "%s[%d]" % (path, key) if isinstance(key, int) else (path + "." + key if path else key)


RFC3339 = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)\Z")


def rfc3339(s):
    """Epoch seconds of an RFC 3339 time (any fraction, Z or offset), or None."""
    m = RFC3339.match(s) if isinstance(s, str) else None
    try:
        day = datetime.datetime(*map(int, m.groups()[:6]))
    except (AttributeError, ValueError):
        return None
    z = m[8]
    off = 0 if z in "Zz" else (int(z[1:3]) * 60 + int(z[4:6])) * (60 if z[0] == "+" else -60)
    return (day - datetime.datetime(1970, 1, 1)).total_seconds() + float("0." + (m[7] or "0")) - off


def webhook(j, b):
    keys = ("version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
            "commonLabels", "commonAnnotations", "externalURL", "alerts")
    if not j.obj(b, "", keys):
        return
    g = lambda k: b.get(k, MISSING)  # noqa: E731
    j.string(g("version"), "version", choices=("4",))
    j.string(g("groupKey"), "groupKey", nonempty=True)
    t = g("truncatedAlerts")
    if t is not MISSING and (not isinstance(t, int) or isinstance(t, bool) or t < 0):
        j.bad("truncatedAlerts", "must be an integer >= 0, got %s" % json.dumps(t))
    j.string(g("status"), "status", choices=STATUSES)
    j.string(g("receiver"), "receiver", nonempty=True)
    group, common = j.strmap(g("groupLabels"), "groupLabels"), j.strmap(g("commonLabels"), "commonLabels")
    j.strmap(g("commonAnnotations"), "commonAnnotations")
    j.string(g("externalURL"), "externalURL")
    alerts = j.listof(g("alerts"), "alerts", 1)
    labelsets = []
    for i, a in enumerate(alerts):
        p = at("alerts", i)
        if not j.obj(a, p, ("status", "labels", "annotations", "startsAt", "endsAt",
                            "generatorURL", "fingerprint")):
            labelsets.append(None)
            continue
        status = a.get("status", MISSING)
        j.string(status, p + ".status", choices=STATUSES)
        labels = j.strmap(a.get("labels", MISSING), p + ".labels", ("alertname", "objective", "group", "severity"))
        labelsets.append(labels)
        if labels is not None:
            j.string(labels.get("severity", MISSING), p + ".labels.severity", choices=("critical", "warning", "info"))
        notes = j.strmap(a.get("annotations", MISSING), p + ".annotations", ("summary", "description"))
        for k in ("summary", "description"):
            if notes is not None and k in notes:
                j.string(notes[k], p + ".annotations." + k, nonempty=True)
        times = {}
        for k in ("startsAt", "endsAt"):
            if j.string(a.get(k, MISSING), p + "." + k):
                times[k] = rfc3339(a[k])
                if times[k] is None:
                    j.bad(p + "." + k, "not an RFC 3339 time: %s" % json.dumps(a[k]))
        end = times.get("endsAt")
        if status == "firing" and end is not None and a["endsAt"] != ZERO_TIME:
            j.bad(p + ".endsAt", "a firing alert must end at %s, got %s" % (ZERO_TIME, a["endsAt"]))
        if status == "resolved" and end is not None:
            if end <= rfc3339(ZERO_TIME):
                j.bad(p + ".endsAt", "a resolved alert needs a real end time")
            elif times.get("startsAt") is not None and end < times["startsAt"]:
                j.bad(p + ".endsAt", "is before startsAt")
        j.string(a.get("generatorURL", MISSING), p + ".generatorURL")
        f = a.get("fingerprint", MISSING)
        if j.string(f, p + ".fingerprint") and not re.fullmatch(r"[0-9a-f]{16}", f):
            j.bad(p + ".fingerprint", "must be 16 lowercase hex characters, got %s" % json.dumps(f))
    # Status, commonLabels and groupLabels follow from the alerts.
    if alerts and all(isinstance(a, dict) for a in alerts):
        want = "firing" if any(a.get("status") == "firing" for a in alerts) else "resolved"
        if g("status") in STATUSES and b["status"] != want:
            j.bad("status", "must be %s for these alerts, got %s" % (want, b["status"]))
    if common is not None and labelsets and None not in labelsets:
        shared = set(labelsets[0].items()).intersection(*(s.items() for s in labelsets[1:]))
        for k, v in sorted(shared - set(common.items())):
            j.bad("commonLabels." + k, "missing %s, shared by all alerts" % json.dumps(v))
        for k, v in sorted(set(common.items()) - shared):
            j.bad("commonLabels." + k, "%s is not shared by all alerts" % json.dumps(v))
    if group is not None and common is not None:
        for k in group:
            if common.get(k, MISSING) != group[k]:
                j.bad("groupLabels." + k, "not in commonLabels")


def slack_text(j, v, path, kinds=("plain_text", "mrkdwn"), maxlen=None):
    """A Block Kit text object."""
    if not j.obj(v, path, ("type", "text"), ("emoji", "verbatim")):
        return
    if j.string(v.get("type", MISSING), path + ".type", choices=kinds):
        for k, only in (("emoji", "plain_text"), ("verbatim", "mrkdwn")):
            if k in v and v["type"] != only:
                j.bad(path + "." + k, "only for %s text" % only)
    j.string(v.get("text", MISSING), path + ".text", nonempty=True, maxlen=maxlen)
    for k in ("emoji", "verbatim"):
        j.boolean(v.get(k, MISSING), path + "." + k)


BLOCKS = {  # type: (required keys, optional keys), besides type and block_id
    "header": (("text",), ()), "section": ((), ("text", "fields")),
    "context": (("elements",), ()), "actions": (("elements",), ()), "divider": ((), ()),
}


def slack(j, b):
    if not j.obj(b, "", ("text", "blocks"), ("unfurl_links", "unfurl_media")):
        return
    j.string(b.get("text", MISSING), "text", nonempty=True, maxlen=40000)
    for k in ("unfurl_links", "unfurl_media"):
        j.boolean(b.get(k, MISSING), k)
    block_ids, action_ids = set(), set()
    for i, block in enumerate(j.listof(b.get("blocks", MISSING), "blocks", 1, 50)):
        p = at("blocks", i)
        if not j.obj(block, p, ("type",), None):
            continue
        if not j.string(block.get("type", MISSING), p + ".type", choices=tuple(BLOCKS)):
            continue
        kind = block["type"]
        need, extra = BLOCKS[kind]
        j.obj(block, p, ("type",) + need, extra + ("block_id",))
        bid = block.get("block_id", MISSING)
        if j.string(bid, p + ".block_id", nonempty=True, maxlen=255):
            if bid in block_ids:
                j.bad(p + ".block_id", "%s is used twice" % json.dumps(bid))
            block_ids.add(bid)
        if kind == "header":
            slack_text(j, block.get("text", MISSING), p + ".text", ("plain_text",), 150)
        elif kind == "section":
            if "text" not in block and "fields" not in block:
                j.bad(p, "a section needs text or fields")
            slack_text(j, block.get("text", MISSING), p + ".text", maxlen=3000)
            for n, f in enumerate(j.listof(block.get("fields", MISSING), p + ".fields", 1, 10)):
                slack_text(j, f, at(p + ".fields", n), maxlen=2000)
        elif kind == "context":
            for n, e in enumerate(j.listof(block.get("elements", MISSING), p + ".elements", 1, 10)):
                slack_text(j, e, at(p + ".elements", n))
        elif kind == "actions":
            for n, e in enumerate(j.listof(block.get("elements", MISSING), p + ".elements", 1, 25)):
                q = at(p + ".elements", n)
                if not j.obj(e, q, ("type", "text", "url"), ("action_id", "style")):
                    continue
                j.string(e.get("type", MISSING), q + ".type", choices=("button",))
                slack_text(j, e.get("text", MISSING), q + ".text", ("plain_text",), 75)
                j.url(e.get("url", MISSING), q + ".url", 3000)
                aid = e.get("action_id", MISSING)
                if j.string(aid, q + ".action_id", nonempty=True, maxlen=255):
                    if aid in action_ids:
                        j.bad(q + ".action_id", "%s is used twice" % json.dumps(aid))
                    action_ids.add(aid)
                j.string(e.get("style", MISSING), q + ".style", choices=("primary", "danger"))


CARD = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
ELEMENTS = {  # type: (required keys, optional keys), besides type, id, spacing, separator
    "TextBlock": (("text",), ("size", "weight", "color", "wrap", "isSubtle")),
    "FactSet": (("facts",), ()), "ColumnSet": (("columns",), ()), "Container": (("items",), ("style",)),
}
CHOICES = {
    "size": ("Small", "Default", "Medium", "Large", "ExtraLarge"),
    "weight": ("Lighter", "Default", "Bolder"),
    "color": ("Default", "Dark", "Light", "Accent", "Good", "Warning", "Attention"),
    "spacing": ("None", "Small", "Default", "Medium", "Large", "ExtraLarge", "Padding"),
    "style": ("default", "emphasis", "good", "attention", "warning", "accent"),
}


def teams(j, b):
    if not j.obj(b, "", ("type", "attachments")):
        return
    j.string(b.get("type", MISSING), "type", choices=("message",))
    for i, a in enumerate(j.listof(b.get("attachments", MISSING), "attachments", 1, 1)):
        p = at("attachments", i)
        if not j.obj(a, p, ("contentType", "content"), ("contentUrl",)):
            continue
        j.string(a.get("contentType", MISSING), p + ".contentType", choices=(CARD,))
        if a.get("contentUrl") is not None:
            j.bad(p + ".contentUrl", "must be null, got %s" % json.dumps(a["contentUrl"]))
        card(j, a.get("content", MISSING), p + ".content")


def card(j, c, p):
    if not j.obj(c, p, ("type", "$schema", "version", "body"), ("actions", "msteams")):
        return
    j.string(c.get("type", MISSING), p + ".type", choices=("AdaptiveCard",))
    j.string(c.get("$schema", MISSING), p + ".$schema", choices=(SCHEMA,))
    j.string(c.get("version", MISSING), p + ".version", choices=("1.0", "1.1", "1.2", "1.3", "1.4", "1.5"))
    for i, e in enumerate(j.listof(c.get("body", MISSING), p + ".body", 1)):
        element(j, e, at(p + ".body", i))
    for i, a in enumerate(j.listof(c.get("actions", MISSING), p + ".actions")):
        q = at(p + ".actions", i)
        if not j.obj(a, q, ("type",), None) or not j.string(a.get("type", MISSING), q + ".type"):
            continue
        if a["type"] != "Action.OpenUrl":
            j.bad(q + ".type", "unknown action type %s" % json.dumps(a["type"]))
            continue
        j.obj(a, q, ("type", "title", "url"))
        j.string(a.get("title", MISSING), q + ".title", nonempty=True)
        j.url(a.get("url", MISSING), q + ".url")
    if "msteams" in c:
        j.obj(c["msteams"], p + ".msteams", (), None)


def element(j, e, p):
    if not j.obj(e, p, ("type",), None) or not j.string(e.get("type", MISSING), p + ".type"):
        return
    kind = e["type"]
    if kind not in ELEMENTS:
        j.bad(p + ".type", "unknown element type %s" % json.dumps(kind))
        return
    need, extra = ELEMENTS[kind]
    j.obj(e, p, ("type",) + need, extra + ("id", "spacing", "separator"))
    for k in ("size", "weight", "color", "spacing", "style"):
        j.string(e.get(k, MISSING), p + "." + k, choices=CHOICES[k])
    for k in ("wrap", "isSubtle", "separator"):
        j.boolean(e.get(k, MISSING), p + "." + k)
    if kind == "TextBlock":
        j.string(e.get("text", MISSING), p + ".text", nonempty=True)
    elif kind == "FactSet":
        for i, f in enumerate(j.listof(e.get("facts", MISSING), p + ".facts", 1)):
            if j.obj(f, at(p + ".facts", i), ("title", "value")):
                for k in ("title", "value"):
                    j.string(f.get(k, MISSING), at(p + ".facts", i) + "." + k)
    elif kind == "ColumnSet":
        for i, col in enumerate(j.listof(e.get("columns", MISSING), p + ".columns")):
            q = at(p + ".columns", i)
            if not j.obj(col, q, ("type", "items"), ("width",)):
                continue
            j.string(col.get("type", MISSING), q + ".type", choices=("Column",))
            if "width" in col and jtype(col["width"]) not in ("string", "number"):
                j.bad(q + ".width", "must be a string or a number")
            for n, item in enumerate(j.listof(col.get("items", MISSING), q + ".items")):
                element(j, item, at(q + ".items", n))
    elif kind == "Container":
        for i, item in enumerate(j.listof(e.get("items", MISSING), p + ".items", 1)):
            element(j, item, at(p + ".items", i))


CHECKS = {"webhook": webhook, "slack": slack, "teams": teams}
SUCCESS = {"webhook": (200, ""), "slack": (200, "ok"), "teams": (202, "")}


def check(kind, body):
    j = Judge()
    try:
        CHECKS[kind](j, body)
    except Exception as e:  # a bug here must not cost the client its answer
        j.bad("(sink)", "the check failed: %r" % e)
    return j.problems


def answer(kind, name, count, problems, path=""):
    """(status, body, headers, extra record fields) for the count-th request to a path."""
    m = re.match(r"fail500-(\d+)-", name)
    if m and count <= int(m[1]):
        return 500, "internal error", {}, {}
    m = re.match(r"ratelimit-(\d+)-", name)
    if m and count == 1:
        return 429, "rate_limited", {"Retry-After": m[1]}, {"retry_after_sent": int(m[1])}
    if name.startswith("bad-"):
        return 400, "invalid_payload", {}, {}
    if name.startswith("echo-"):
        return 404, "Cannot POST %s" % path, {}, {}
    if problems:
        return 400, "; ".join(problems), {}, {}
    return SUCCESS[kind] + ({}, {})


class Sink(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port, out):
        super().__init__(("127.0.0.1", port), Handler)
        self.out, self.lock, self.n, self.seen = out, threading.Lock(), 0, {}

    def count(self, path):
        with self.lock:
            self.seen[path] = self.seen.get(path, 0) + 1
            return self.seen[path]

    def record(self, rec):
        with self.lock:  # numbered and written in the order received
            self.n += 1
            rec["n"] = self.n
            path = os.path.join(self.out, "%04d.json" % self.n)
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                json.dump(rec, f, indent=1, ensure_ascii=False)
            os.rename(path + ".tmp", path)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients expect; every reply has a length

    def log_message(self, *args):
        pass

    def judge(self):
        at_ = time.time()
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        text = raw.decode("utf-8", "replace")
        try:
            body, parsed = json.loads(text), True
        except ValueError:
            body, parsed = text, False
        headers = {k.lower(): v for k, v in self.headers.items()}
        parts = self.path.split("?")[0].strip("/").split("/") + [""]
        kind, name = parts[0], parts[1]
        problems, extra, send = [], {}, {}
        if self.command != "POST":
            code, reply = 405, "method not allowed"
            problems.append("method %s: only POST is accepted" % self.command)
        elif kind not in CHECKS:
            code, reply = 404, "not found"
            problems.append("unknown path")
        else:
            ctype = headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype != "application/json":
                got = json.dumps(headers.get("content-type"))
                problems.append("content-type: must be application/json, got %s" % got)
            problems += check(kind, body) if parsed else ["(body): not JSON"]
            code, reply, send, extra = answer(kind, name, self.server.count(self.path), problems, self.path)
        rec = {"n": 0, "method": self.command, "path": self.path, "headers": headers, "body": body,
               "problems": problems, "answer": code, "at": at_}
        rec.update(extra)
        self.server.record(rec)  # before replying, so a client that has its answer finds the file
        data = reply.encode()
        self.send_response(code)
        for k, v in send.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = judge


# --- self-test ---------------------------------------------------------------

LABELS = {"alertname": "ObjectiveBreached", "objective": "speed-to-lead", "group": "webinar", "severity": "critical"}
NOTES = {"summary": "speed-to-lead breached for webinar leads",
         "description": "3 of 12 webinar leads waited more than 5 minutes for a first touch (target 95% within 5m)."}
FIRING = {
    "version": "4", "groupKey": '{}:{objective="speed-to-lead"}', "truncatedAlerts": 0, "status": "firing",
    "receiver": "sales-leads", "groupLabels": {"objective": "speed-to-lead"}, "commonLabels": LABELS,
    "commonAnnotations": NOTES, "externalURL": "http://127.0.0.1:8080",
    "alerts": [{"status": "firing", "labels": LABELS, "annotations": NOTES, "startsAt": "2026-12-07T16:29:00Z",
                "endsAt": ZERO_TIME, "generatorURL": "http://127.0.0.1:8080/objectives/speed-to-lead",
                "fingerprint": "3f2a9c0d41b7e815"}],
}
RESOLVED = dict(FIRING, status="resolved", commonLabels={k: v for k, v in LABELS.items() if k != "group"},
                commonAnnotations={}, externalURL="", alerts=[
    dict(FIRING["alerts"][0], status="resolved", startsAt="2026-12-07T17:29:00+01:00",
         endsAt="2026-12-07T17:05:12.345678901Z"),
    dict(FIRING["alerts"][0], status="resolved", labels=dict(LABELS, group="trade-show"),
         annotations=dict(NOTES, summary="speed-to-lead breached for trade-show leads"),
         startsAt="2026-12-07T15:00:00.5Z", endsAt="2026-12-07T16:00:00Z", fingerprint="08c1d2e3f4a5b697")])
SLACK = {"text": "speed-to-lead breached for webinar leads", "unfurl_links": False, "blocks": [
    {"type": "header", "text": {"type": "plain_text", "text": ":rotating_light: speed-to-lead breached", "emoji": True}},
    {"type": "section", "block_id": "summary",
     "text": {"type": "mrkdwn", "text": "*webinar*: 3 of 12 leads waited over 5 minutes."}},
    {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Target*\n95% within 5m"},
                                   {"type": "mrkdwn", "text": "*Now*\n75%"}]},
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "since 16:29 UTC, owner sales", "verbatim": False}]},
    {"type": "divider"},
    {"type": "actions", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "Open objective"}, "style": "primary",
         "url": "http://127.0.0.1:8080/objectives/speed-to-lead", "action_id": "open"},
        {"type": "button", "text": {"type": "plain_text", "text": "Leads waiting"},
         "url": "http://127.0.0.1:8080/leads?objective=speed-to-lead", "action_id": "leads"}]}]}
TEAMS = {"type": "message", "attachments": [{"contentType": CARD, "contentUrl": None, "content": {
    "type": "AdaptiveCard", "$schema": SCHEMA, "version": "1.4", "msteams": {"width": "Full"}, "body": [
        {"type": "TextBlock", "text": "speed-to-lead breached", "size": "Large", "weight": "Bolder", "color": "Attention"},
        {"type": "TextBlock", "text": NOTES["description"], "wrap": True, "isSubtle": True, "spacing": "Small"},
        {"type": "FactSet", "facts": [{"title": "Group", "value": "webinar"}, {"title": "Since", "value": "16:29 UTC"}]},
        {"type": "Container", "style": "attention", "items": [{"type": "ColumnSet", "columns": [
            {"type": "Column", "width": "auto", "items": [{"type": "TextBlock", "text": "Now 75%"}]},
            {"type": "Column", "width": 1, "items": [{"type": "TextBlock", "text": "Target 95%"}]}]}]}],
    "actions": [{"type": "Action.OpenUrl", "title": "Open objective",
                 "url": "http://127.0.0.1:8080/objectives/speed-to-lead"}]}}]}
DELETE = object()
CARD_PATH = ("attachments", 0, "content")
MUTATIONS = [  # (kind, example, where, new value or DELETE, a problem that must be reported)
    ("webhook", FIRING, ("receiver",), DELETE, "receiver: missing"),
    ("webhook", FIRING, ("version",), "3", 'version: must be "4", got "3"'),
    ("webhook", FIRING, ("extra",), 1, "extra: unexpected key"),
    ("webhook", FIRING, ("status",), "resolved", "status: must be firing"),
    ("webhook", FIRING, ("truncatedAlerts",), -1, "truncatedAlerts: must be an integer"),
    ("webhook", FIRING, ("alerts",), [], "alerts: has 0 items"),
    ("webhook", FIRING, ("alerts", 0, "labels", "severity"), DELETE, "alerts[0].labels.severity: missing"),
    ("webhook", FIRING, ("alerts", 0, "labels", "severity"), "page", "alerts[0].labels.severity: must be one of"),
    ("webhook", FIRING, ("alerts", 0, "annotations", "summary"), "", "alerts[0].annotations.summary: must not be empty"),
    ("webhook", FIRING, ("alerts", 0, "status"), "burning", "alerts[0].status: must be one of"),
    ("webhook", FIRING, ("alerts", 0, "endsAt"), "2026-12-07T17:00:00Z", "alerts[0].endsAt: a firing alert must end"),
    ("webhook", FIRING, ("alerts", 0, "startsAt"), "2026-12-07 16:29", "alerts[0].startsAt: not an RFC 3339 time"),
    ("webhook", FIRING, ("alerts", 0, "fingerprint"), "3F2A9C0D41B7E815", "alerts[0].fingerprint: must be 16"),
    ("webhook", FIRING, ("alerts", 0, "silenced"), True, "alerts[0].silenced: unexpected key"),
    ("webhook", FIRING, ("commonLabels", "group"), "demo", "commonLabels.group:"),
    ("webhook", FIRING, ("groupLabels", "team"), "sales", "groupLabels.team: not in commonLabels"),
    ("webhook", RESOLVED, ("commonLabels", "group"), "webinar", "commonLabels.group:"),
    ("webhook", RESOLVED, ("alerts", 1, "endsAt"), "2026-12-07T14:00:00Z", "alerts[1].endsAt: is before startsAt"),
    ("webhook", RESOLVED, ("alerts", 1, "endsAt"), ZERO_TIME, "alerts[1].endsAt: a resolved alert needs"),
    ("slack", SLACK, ("text",), DELETE, "text: missing"),
    ("slack", SLACK, ("channel",), "#sales", "channel: unexpected key"),
    ("slack", SLACK, ("blocks",), [{"type": "divider"}] * 51, "blocks: has 51 items"),
    ("slack", SLACK, ("blocks", 0, "text", "text"), "x" * 151, "blocks[0].text.text: is 151 characters"),
    ("slack", SLACK, ("blocks", 0, "text", "type"), "mrkdwn", 'blocks[0].text.type: must be "plain_text"'),
    ("slack", SLACK, ("blocks", 1, "type"), "image", "blocks[1].type: must be one of"),
    ("slack", SLACK, ("blocks", 1, "text", "emoji"), True, "blocks[1].text.emoji: only for plain_text"),
    ("slack", SLACK, ("blocks", 2, "block_id"), "summary", "blocks[2].block_id: \"summary\" is used twice"),
    ("slack", SLACK, ("blocks", 2, "fields"), [{"type": "mrkdwn", "text": "f"}] * 11, "blocks[2].fields: has 11"),
    ("slack", SLACK, ("blocks", 2, "fields"), DELETE, "blocks[2]: a section needs text or fields"),
    ("slack", SLACK, ("blocks", 4, "text"), {"type": "plain_text", "text": "x"}, "blocks[4].text: unexpected key"),
    ("slack", SLACK, ("blocks", 5, "elements", 0, "url"), "ftp://x", "blocks[5].elements[0].url: must be an http"),
    ("slack", SLACK, ("blocks", 5, "elements", 1, "action_id"), "open", "blocks[5].elements[1].action_id: \"open\""),
    ("slack", SLACK, ("blocks", 5, "elements", 0, "style"), "warning", "blocks[5].elements[0].style: must be one of"),
    ("teams", TEAMS, ("type",), "card", 'type: must be "message"'),
    ("teams", TEAMS, ("attachments", 0, "contentType"), "application/json", "attachments[0].contentType:"),
    ("teams", TEAMS, ("attachments", 0, "contentUrl"), "http://x", "attachments[0].contentUrl: must be null"),
    ("teams", TEAMS, ("attachments", 1), TEAMS["attachments"][0], "attachments: has 2 items"),
    ("teams", TEAMS, CARD_PATH + ("$schema",), DELETE, "attachments[0].content.$schema: missing"),
    ("teams", TEAMS, CARD_PATH + ("version",), "1.6", "attachments[0].content.version: must be one of"),
    ("teams", TEAMS, CARD_PATH + ("body", 0, "type"), "Image", 'content.body[0].type: unknown element type "Image"'),
    ("teams", TEAMS, CARD_PATH + ("body", 0, "color"), "Red", "content.body[0].color: must be one of"),
    ("teams", TEAMS, CARD_PATH + ("body", 0, "text"), "", "content.body[0].text: must not be empty"),
    ("teams", TEAMS, CARD_PATH + ("body", 2, "facts"), [], "content.body[2].facts: has 0 items"),
    ("teams", TEAMS, CARD_PATH + ("body", 3, "style"), "loud", "content.body[3].style: must be one of"),
    ("teams", TEAMS, CARD_PATH + ("body", 3, "items", 0, "columns", 1, "items", 0, "type"), "Media",
     "content.body[3].items[0].columns[1].items[0].type: unknown element type"),
    ("teams", TEAMS, CARD_PATH + ("actions", 0, "type"), "Action.Submit", "content.actions[0].type: unknown action"),
    ("teams", TEAMS, CARD_PATH + ("actions", 0, "url"), "javascript:alert(1)", "content.actions[0].url: must be an http"),
]


def mutate(example, where, value):
    body = json.loads(json.dumps(example))  # a copy without shared objects (the examples share)
    parent = body
    for k in where[:-1]:
        parent = parent[k]
    if value is DELETE:
        del parent[where[-1]]
    elif isinstance(parent, list) and where[-1] == len(parent):
        parent.append(value)
    else:
        parent[where[-1]] = value
    return body


def post(url, body, ctype="application/json", method="POST"):
    """(status, headers, text) of one request."""
    data = json.dumps(body).encode() if method == "POST" else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def self_test():
    failed = []
    for kind, example in (("webhook", FIRING), ("webhook", RESOLVED), ("slack", SLACK), ("teams", TEAMS)):
        for p in check(kind, example):
            failed.append("valid %s example: %s" % (kind, p))
    for kind, example, where, value, want in MUTATIONS:
        problems = check(kind, mutate(example, where, value))
        if not any(want in p for p in problems):
            failed.append("%s %s -> %r: want %r, got %s" % (kind, where, value, want, problems))
    with tempfile.TemporaryDirectory() as out:
        server = Sink(0, out)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = "http://127.0.0.1:%d" % server.server_address[1]
        bad = mutate(FIRING, ("version",), "3")
        steps = [  # (path, body, content type, method, status, reply must contain)
            ("/webhook/fail500-2-a/x", FIRING, "application/json", "POST", 500, "internal error"),
            ("/webhook/fail500-2-a/x", FIRING, "application/json", "POST", 500, "internal error"),
            ("/webhook/fail500-2-a/x", FIRING, "application/json; charset=utf-8", "POST", 200, ""),
            ("/slack/ratelimit-3-a", SLACK, "application/json", "POST", 429, ""),
            ("/slack/ratelimit-3-a", SLACK, "application/json", "POST", 200, "ok"),
            ("/teams/bad-a", TEAMS, "application/json", "POST", 400, "invalid_payload"),
            ("/teams/ok", TEAMS, "application/json", "POST", 202, ""),
            ("/webhook/ok", bad, "application/json", "POST", 400, 'version: must be "4"'),
            ("/slack/ok", SLACK, "text/plain", "POST", 400, "content-type: must be application/json"),
            ("/webhook/ok", None, "application/json", "GET", 405, ""),
            ("/elsewhere/ok", SLACK, "application/json", "POST", 404, ""),
        ]
        for n, (path, body, ctype, method, status, reply) in enumerate(steps, 1):
            got, headers, text = post(base + path, body, ctype, method)
            if got != status or reply not in text:
                failed.append("%s %s: want %d %r, got %d %r" % (method, path, status, reply, got, text))
            if status == 429 and headers.get("Retry-After") != "3":
                failed.append("%s: Retry-After %r, want '3'" % (path, headers.get("Retry-After")))
            name = os.path.join(out, "%04d.json" % n)
            if not os.path.exists(name):
                failed.append("%s %s: no %s" % (method, path, name))
                continue
            with open(name) as f:
                rec = json.load(f)
            want = {"n": n, "path": path, "answer": status, "method": method}
            if {k: rec.get(k) for k in want} != want or not isinstance(rec.get("at"), float):
                failed.append("%s: %s" % (name, {k: rec.get(k) for k in ("n", "path", "answer", "method", "at")}))
            if method == "POST" and (rec["body"] != body or rec["headers"].get("content-type") != ctype):
                failed.append("%s: body or content-type not recorded as sent" % name)
            if status in (200, 202) and rec["problems"]:
                failed.append("%s: problems %s" % (name, rec["problems"]))
            if status == 429 and rec.get("retry_after_sent") != 3:
                failed.append("%s: retry_after_sent %r" % (name, rec.get("retry_after_sent")))
            if status == 404 and rec["problems"] != ["unknown path"]:
                failed.append("%s: problems %s" % (name, rec["problems"]))
        files = sorted(os.listdir(out))
        if files != ["%04d.json" % n for n in range(1, len(steps) + 1)]:
            failed.append("files: %s" % files)
        server.shutdown()
        server.server_close()
    for f in failed:
        print("FAILED", f)
    print("self-test failed" if failed else "self-test ok")
    return 1 if failed else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    port, out = int(sys.argv[1]), sys.argv[2]
    os.makedirs(out, exist_ok=True)
    server = Sink(port, out)
    print("ready", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
