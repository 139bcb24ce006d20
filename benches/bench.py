#!/usr/bin/env python3
"""handoff against the bare database, side by side.

Builds demo datasets, loads the same CSV files with `handoff import` and with the
databases' own bulk loaders (`sqlite3 .import`, `psql \\copy`), and times every
objective of the shipped rules in handoff against hand-written SQL that computes
the same figures, on the same database. Prints one table; see docs/BENCHMARKS.md.

    python3 benches/bench.py --sizes 100k,1m,2m --backends sqlite,postgres --runs 3

Times are statement timings measured inside each tool, so process start-up is
left out on both sides: for SQLite the `bare` bench target (benches/bare.rs), which
runs the hand-written SQL through the same SQLite build handoff uses, with the
best settings for the database (--bare-cache-mib, --bare-mmap-mib: a large page
cache and a memory map over the whole file); for PostgreSQL psql's `\\timing`;
for handoff, run with its defaults, its per-objective debug log. Medians of
--runs runs after one warm-up run. Memory is the whole process's: peak RSS
(VmHWM, from wait4) and peak anonymous memory (RssAnon, sampled from
/proc/PID/status every 10 ms), the process's own memory without the file pages
it maps. Needs: a release build, sqlite3, psql, and for PostgreSQL a server
(HANDOFF_BENCH_POSTGRES, default postgres://postgres@127.0.0.1:5432/postgres).
"""

import argparse
import datetime as dt
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HANDOFF = ROOT / "target" / "release" / "handoff"
RULES = ROOT / "rules"
END = "2026-11-25T15:00:00Z"  # the demo's end and the evaluation instant
SIZES = {"100k": (100_000, 12), "1m": (1_000_000, 12), "2m": (2_000_000, 24)}


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def utc(s):
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def windows(at):
    """The windows of the shipped rules at `at` (America/New_York periods)."""
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    local = at.astimezone(ny)
    month = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    q_month = (local.month - 1) // 3 * 3 + 1
    quarter = local.replace(month=q_month, day=1, hour=0, minute=0, second=0, microsecond=0)
    u = lambda t: t.astimezone(dt.timezone.utc)
    return {
        "month": u(month),
        "quarter": u(quarter),
        "cohort_end": at - dt.timedelta(days=7),
        "d28": at - dt.timedelta(days=28),
        "d180": at - dt.timedelta(days=180),
        "at": at,
    }


def sqlite_time(t):
    return "'" + t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z'"


def pg_time(t):
    return "'" + t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+00'"


# Hand-written SQL for the figures of each shipped objective. {x} are instants.
ATTEMPT = "t.direction = 'outbound' AND t.automated = FALSE AND t.occurred_at >= {mql}"
BARE = {
    "mql-volume": [
        "SELECT channel, COUNT(*) FROM leads WHERE mql_at >= {month} AND mql_at < {at} GROUP BY channel"
    ],
    "mql-acceptance": [
        "SELECT channel, COUNT(*), COUNT(CASE WHEN accepted_at < {at} THEN 1 END), "
        "COUNT(CASE WHEN (accepted_at IS NULL OR accepted_at >= {at}) AND rejected_at < {at} THEN 1 END) "
        "FROM leads WHERE mql_at >= {quarter} AND mql_at < {cohort_end} GROUP BY channel"
    ],
    # A deadline in business hours is not SQL: the figure needs each lead's
    # hand-off and first attempt.
    "speed-to-lead": [
        "SELECT l.id, l.owner_id, l.mql_at, (SELECT MIN(t.occurred_at) FROM touches t "
        "WHERE t.lead_id = l.id AND t.occurred_at >= l.mql_at AND t.occurred_at < {at} AND "
        + ATTEMPT.format(mql="l.mql_at")
        + ") FROM leads l WHERE l.mql_at >= {d28} AND l.mql_at < {at}"
    ],
    "persistence": [
        "SELECT n, COUNT(*) FROM (SELECT (SELECT COUNT(*) FROM touches t WHERE t.lead_id = l.id "
        "AND t.occurred_at >= l.mql_at AND t.occurred_at < l.closed_at AND "
        + ATTEMPT.format(mql="l.mql_at")
        + ") AS n FROM leads l WHERE l.closed_at >= {d28} AND l.closed_at < {at} AND l.mql_at < {at} "
        "AND NOT EXISTS (SELECT 1 FROM deals d WHERE d.lead_id = l.id AND d.won = TRUE AND d.closed_at < {at}) "
        "AND NOT EXISTS (SELECT 1 FROM touches t WHERE t.lead_id = l.id AND t.outcome = 'connected' "
        "AND t.occurred_at < l.closed_at)) a GROUP BY n"
    ],
    "attempt-economics": [
        "SELECT channel, reach, conv IS NOT NULL, COUNT(*), SUM(amount) FROM (SELECT c.channel, c.conv, "
        "(SELECT amount FROM deals d WHERE d.lead_id = c.id AND d.won = TRUE AND d.closed_at < {at} "
        "ORDER BY d.created_at, d.id LIMIT 1) AS amount, "
        "(SELECT COUNT(*) FROM touches t WHERE t.lead_id = c.id AND t.occurred_at >= c.mql_at "
        "AND t.occurred_at < {at} AND (c.conv IS NULL OR t.occurred_at < c.conv) AND "
        + ATTEMPT.format(mql="c.mql_at")
        + ") AS reach FROM (SELECT l.id, l.channel, l.mql_at, (SELECT MIN(d.created_at) FROM deals d "
        "WHERE d.lead_id = l.id AND d.won = TRUE AND d.closed_at < {at}) AS conv FROM leads l "
        "WHERE l.mql_at >= {d180} AND l.mql_at < {at}) c) k GROUP BY channel, reach, conv IS NOT NULL",
        "SELECT channel, n, COUNT(*) FROM (SELECT l.channel, (SELECT COUNT(*) FROM touches t WHERE t.lead_id = l.id "
        "AND t.occurred_at >= l.mql_at AND t.occurred_at < l.closed_at AND "
        + ATTEMPT.format(mql="l.mql_at")
        + ") AS n FROM leads l WHERE l.closed_at >= {d180} AND l.closed_at < {at} AND l.mql_at < {at} "
        "AND NOT EXISTS (SELECT 1 FROM deals d WHERE d.lead_id = l.id AND d.won = TRUE AND d.closed_at < {at}) "
        "AND NOT EXISTS (SELECT 1 FROM touches t WHERE t.lead_id = l.id AND t.outcome = 'connected' "
        "AND t.occurred_at < l.closed_at)) a GROUP BY channel, n",
    ],
}
OBJECTIVES = list(BARE)


def bare_sql(objective, fmt, w):
    values = {k: fmt(v) for k, v in w.items()}
    return [q.format(**values) for q in BARE[objective]]


# ---------------------------------------------------------------- timing


def bare_runner():
    """The `bare` bench target: hand-written SQL through handoff's own SQLite."""
    out = run(["cargo", "bench", "--bench", "bare", "--no-run", "--message-format", "json"],
              cwd=ROOT).stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "bare":
            return msg["executable"]
    raise SystemExit("cannot build the bare-SQL runner")


BARE_RUNNER = None
# The bare runner's SQLite settings (--cache-mib, --mmap-mib); none: handoff's defaults.
BARE_SQLITE_ARGS = []
# What SQLite took, as the bare runner read it back ("# cache_size N mmap_size N").
BARE_SQLITE_SETTINGS = {}


def measured(cmd):
    """Runs cmd to its end: stdout, stderr, exit code, and its memory.

    Peak RSS is the kernel's high-water mark of the process (VmHWM, as wait4
    reports it). Peak anonymous memory is the largest RssAnon read from
    /proc/PID/status every 10 ms while it runs: the process's own memory (heap,
    stacks, SQLite's page cache), without the file pages it maps, which are the
    kernel's page cache and count in RSS all the same.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err)
        anon = 0
        status_file = f"/proc/{p.pid}/status"
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            try:
                m = re.search(r"RssAnon:\s+(\d+) kB", Path(status_file).read_text())
            except OSError:
                m = None
            if m:
                anon = max(anon, int(m.group(1)) * 1024)
            time.sleep(0.01)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"stdout": out.read().decode(), "stderr": err.read().decode(), "code": p.returncode,
                "peak_rss_bytes": usage.ru_maxrss * 1024, "peak_anon_bytes": anon}


def sqlite_bare(db, statements):
    """Seconds of the statements through the bare runner, and its memory."""
    global BARE_RUNNER
    BARE_RUNNER = BARE_RUNNER or bare_runner()
    script = "\n;\n".join(statements) + "\n"
    path = Path(str(db) + ".bare.sql")
    path.write_text(script)
    r = measured([BARE_RUNNER, f"sqlite://{db}", str(path), *BARE_SQLITE_ARGS])
    if r["code"] != 0:
        raise SystemExit(f"the bare runner failed: {r['stderr'][-2000:]}")
    m = re.search(r"^# cache_size (-?\d+) mmap_size (\d+)", r["stdout"], re.M)
    if m:
        BARE_SQLITE_SETTINGS.update(cache_size=int(m.group(1)), mmap_size=int(m.group(2)))
    seconds = sum(float(x) for x in re.findall(r"^([0-9.]+) s", r["stdout"], re.M))
    return seconds, r


def sqlite_seconds(db, statements):
    return sqlite_bare(db, statements)[0]


def psql_seconds(url, statements, settings=""):
    script = "\\timing on\n" + settings + "".join(s + ";\n" for s in statements)
    out = run(["psql", "-X", "-q", url], input=script).stdout
    return sum(float(x) for x in re.findall(r"Time: ([0-9.]+) ms", out)) / 1000.0


DURATION = re.compile(r"([0-9.]+)(ns|µs|us|ms|s)\b")


def duration(text):
    value, unit = DURATION.fullmatch(text).groups()
    scale = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]
    return float(value) * scale


def handoff_eval(url, objectives=None, extra=()):
    """Seconds per objective from handoff's own log, and the process's memory
    (`measured`). `extra` are more global options (e.g. --sqlite-cache-mib 16)."""
    cmd = [str(HANDOFF), "--database", url, "--rules", str(RULES), *extra,
           "--log", "handoff::eval=debug", "eval", "--at", END, "--format", "json"]
    for o in objectives or []:
        cmd += ["--objective", o]
    p = measured(cmd)
    if p["code"] != 0:
        raise SystemExit(f"handoff eval failed: {p['stderr'][-2000:]}")
    times = {}
    for line in p["stderr"].splitlines():
        m = re.search(r"objective=([a-z0-9-]+).*Evaluated\. elapsed=(\S+)", line)
        if m:
            times[m.group(1)] = duration(m.group(2))
    errors = [r for o in json.loads(p["stdout"])["objectives"] for r in o["results"]
              if r["status"] == "error"]
    if errors:
        raise SystemExit(f"handoff eval reported errors: {errors}")
    return times, {"peak_rss_bytes": p["peak_rss_bytes"], "peak_anon_bytes": p["peak_anon_bytes"]}


def median_of(runs, f):
    f()  # warm-up: the same cache state for both sides
    return statistics.median(f() for _ in range(runs))


# ---------------------------------------------------------------- datasets


def csv_dir(work, size):
    leads, months = SIZES[size]
    d = work / f"csv-{size}"
    if not (d / "touches.csv").exists():
        run([str(HANDOFF), "demo", "--csv", str(d), "--leads", str(leads), "--months",
             str(months), "--end", END])
    return d


def rows_in(d):
    n = 0
    for name in ("reps", "leads", "touches", "deals"):
        with open(d / f"{name}.csv", "rb") as f:
            n += sum(1 for _ in f) - 1
    return n


def timed(cmd, **kw):
    started = time.monotonic()
    run(cmd, **kw)
    return time.monotonic() - started


BARE_SQLITE_SCHEMA = """
CREATE TABLE reps (id TEXT PRIMARY KEY, name TEXT, email TEXT, team TEXT) WITHOUT ROWID;
CREATE TABLE leads (id TEXT PRIMARY KEY, created_at TEXT, mql_at TEXT, owner_id TEXT, channel TEXT,
  campaign TEXT, segment TEXT, score REAL, accepted_at TEXT, rejected_at TEXT, closed_at TEXT,
  close_reason TEXT) WITHOUT ROWID;
CREATE INDEX leads_mql_at ON leads (mql_at);
CREATE INDEX leads_closed_at ON leads (closed_at);
CREATE TABLE touches (id TEXT PRIMARY KEY, lead_id TEXT, rep_id TEXT, occurred_at TEXT, kind TEXT,
  direction TEXT, outcome TEXT, automated TEXT) WITHOUT ROWID;
CREATE INDEX touches_lead_occurred ON touches (lead_id, occurred_at);
CREATE TABLE deals (id TEXT PRIMARY KEY, lead_id TEXT, created_at TEXT, closed_at TEXT, amount REAL,
  won TEXT) WITHOUT ROWID;
CREATE INDEX deals_lead ON deals (lead_id);
"""


def import_sqlite(work, size, d):
    h = work / f"h-{size}.db"
    b = work / f"b-{size}.db"
    for f in (h, b):
        for suffix in ("", "-wal", "-shm"):
            Path(str(f) + suffix).unlink(missing_ok=True)
    t_handoff = timed([str(HANDOFF), "--database", f"sqlite://{h}", "import", str(d)])
    script = "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\n" + BARE_SQLITE_SCHEMA + "".join(
        f".import --csv --skip 1 {d / (t + '.csv')} {t}\n" for t in ("reps", "leads", "touches", "deals"))
    t_bare = timed(["sqlite3", str(b)], input=script)
    b.unlink(missing_ok=True)
    return h, t_handoff, t_bare


def pg_url(base, name):
    return base.rsplit("/", 1)[0] + "/" + name


def import_postgres(base, size, d):
    for name in (f"handoff_bench_h_{size}", f"handoff_bench_b_{size}"):
        run(["psql", "-X", "-q", base, "-c", f"DROP DATABASE IF EXISTS {name}"])
        run(["psql", "-X", "-q", base, "-c", f"CREATE DATABASE {name}"])
    h = pg_url(base, f"handoff_bench_h_{size}")
    b = pg_url(base, f"handoff_bench_b_{size}")
    t_handoff = timed([str(HANDOFF), "--database", h, "import", str(d)])
    run([str(HANDOFF), "--database", b, "migrate"])
    cols = {}
    for t in ("reps", "leads", "touches", "deals"):
        with open(d / f"{t}.csv") as f:
            cols[t] = f.readline().strip()
    script = "".join(f"\\copy {t} ({cols[t]}) FROM '{d / (t + '.csv')}' CSV HEADER\n"
                     for t in ("reps", "leads", "touches", "deals"))
    t_bare = timed(["psql", "-X", "-q", b], input=script)
    run(["psql", "-X", "-q", base, "-c", f"DROP DATABASE handoff_bench_b_{size}"])
    run(["psql", "-X", "-q", h, "-c", "ANALYZE"])
    return h, t_handoff, t_bare


# ---------------------------------------------------------------- query-exporter

# The measures query-exporter can express in SQL alone: volume, acceptance,
# percent worked in calendar time (no business hours), attempts.
QE_QUERIES = {
    "volume": ("SELECT channel, COUNT(*) AS mqls FROM leads WHERE mql_at >= {month} "
               "AND mql_at < {at} GROUP BY channel", ["mqls"], ["channel"]),
    "acceptance": ("SELECT COUNT(CASE WHEN accepted_at < {at} THEN 1 END) * 1.0 / "
                   "NULLIF(COUNT(CASE WHEN accepted_at < {at} OR rejected_at < {at} THEN 1 END), 0) "
                   "AS acceptance FROM leads WHERE mql_at >= {quarter} AND mql_at < {cohort_end}",
                   ["acceptance"], []),
    "worked": ("SELECT COUNT(CASE WHEN f IS NOT NULL AND f <= deadline THEN 1 END) * 1.0 / "
               "NULLIF(COUNT(*), 0) AS worked FROM (SELECT {deadline} AS deadline, "
               "(SELECT MIN(t.occurred_at) FROM touches t WHERE t.lead_id = l.id AND "
               "t.occurred_at >= l.mql_at AND t.occurred_at < {at} AND "
               + ATTEMPT.format(mql="l.mql_at") + ") AS f FROM leads l "
               "WHERE l.mql_at >= {d28} AND l.mql_at < {at}) w WHERE deadline < {at}", ["worked"], []),
    "attempts": ("SELECT COUNT(CASE WHEN n >= 6 THEN 1 END) * 1.0 / NULLIF(COUNT(*), 0) AS compliance "
                 "FROM (" + BARE["persistence"][0].replace("SELECT n, COUNT(*) FROM (", "SELECT n FROM (")
                 .replace(") a GROUP BY n", ") a") + ") x", ["compliance"], []),
}


def qe_config(dsn, fmt, w, backend):
    values = {k: fmt(v) for k, v in w.items()}
    values["deadline"] = "l.mql_at + interval '4 hours'"
    metrics, queries = {}, {}
    for name, (sql, columns, labels) in QE_QUERIES.items():
        for c in columns:
            metrics[c] = {"type": "gauge", **({"labels": labels} if labels else {})}
        sql = sql.format(**values)
        if backend == "sqlite":
            # SQLite keeps timestamps as text: compare deadlines as Julian days.
            sql = (sql.replace("l.mql_at + interval '4 hours'", "julianday(l.mql_at) + 4.0 / 24")
                   .replace("f <= deadline", "julianday(f) <= deadline")
                   .replace(f"deadline < {values['at']}", f"deadline < julianday({values['at']})"))
        queries[name] = {"databases": ["db"], "metrics": columns, "interval": 30, "sql": sql}
    return {"databases": {"db": {"dsn": dsn}}, "metrics": metrics, "queries": queries}


def proc_cpu(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_hwm(pid):
    m = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(m.group(1)) * 1024


def query_exporter(exe, dsn, fmt, w, backend, work):
    """CPU seconds and peak RSS of one cycle of query-exporter's four queries."""
    cfg = work / f"qe-{backend}.yaml"
    cfg.write_text(json.dumps(qe_config(dsn, fmt, w, backend)))  # JSON is YAML
    port = 19560
    p = subprocess.Popen([exe, "--config", str(cfg), "--port", str(port), "--host", "127.0.0.1"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    import urllib.request

    def done():
        if p.poll() is not None:
            raise SystemExit(f"query-exporter stopped: {p.stderr.read()[-2000:]}")
        try:
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        except OSError:
            return -1
        return sum(float(v) for v in re.findall(r'^queries_total\{[^}]*status="success"[^}]*\} (\S+)', body, re.M))

    try:
        deadline = time.monotonic() + 600
        while done() < 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        idle = proc_cpu(p.pid)
        n = len(QE_QUERIES)
        while done() < n and time.monotonic() < deadline:
            time.sleep(0.2)
        first = proc_cpu(p.pid)
        while done() < 2 * n and time.monotonic() < deadline:
            time.sleep(0.2)
        second = proc_cpu(p.pid)
        if done() < 2 * n:
            raise SystemExit(f"query-exporter did not finish two cycles: {p.stderr}")
        return {"startup_and_first_cycle_cpu_s": first, "cycle_cpu_s": second - first,
                "idle_cpu_s": idle, "peak_rss_bytes": proc_hwm(p.pid)}
    finally:
        p.terminate()
        p.wait()


def handoff_cycle(url):
    """CPU seconds and peak RSS of `handoff eval` of the same four objectives."""
    cmd = ["/usr/bin/time", "-f", "CPU %U %S RSS %M", str(HANDOFF), "--database", url, "--rules",
           str(RULES), "eval", "--at", END, "--format", "json"]
    for o in ("mql-volume", "mql-acceptance", "speed-to-lead", "persistence"):
        cmd += ["--objective", o]
    err = subprocess.run(cmd, capture_output=True, text=True).stderr
    u, s_, rss = re.search(r"CPU ([0-9.]+) ([0-9.]+) RSS (\d+)", err).groups()
    return {"cycle_cpu_s": float(u) + float(s_), "peak_rss_bytes": int(rss) * 1024}


# ---------------------------------------------------------------- main


def main():
    global HANDOFF, BARE_RUNNER, BARE_SQLITE_ARGS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100k,1m,2m")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default="/tmp/handoff-bench")
    ap.add_argument("--json", help="also write the measurements to this file")
    ap.add_argument("--query-exporter", metavar="EXE",
                    help="also measure query-exporter (PyPI) running the measures it can express")
    ap.add_argument("--handoff", default=str(HANDOFF),
                    help="the binary to measure (a copy, should builds run alongside)")
    ap.add_argument("--bare", metavar="EXE", help="the `bare` bench target, already built")
    ap.add_argument("--reuse", action="store_true",
                    help="read the databases a previous run imported instead of importing afresh "
                         "(no import figures)")
    ap.add_argument("--rounds-only", action="store_true",
                    help="time whole rounds only, not each objective on its own")
    ap.add_argument("--bare-cache-mib", type=int, default=1024,
                    help="SQLite page cache of the bare runner, MiB (default 1024)")
    ap.add_argument("--bare-mmap-mib", type=int,
                    help="how much of the SQLite file the bare runner maps, MiB (default: the "
                         "whole file; SQLite caps it at its SQLITE_MAX_MMAP_SIZE)")
    ap.add_argument("--variant", action="append", default=[], metavar="OPTIONS",
                    help="also time whole rounds of handoff with these global options, e.g. "
                         "'--sqlite-cache-mib 2 --sqlite-mmap-mib 0', in turn with the others")
    args = ap.parse_args()
    HANDOFF = Path(args.handoff)
    if not HANDOFF.exists():
        raise SystemExit(f"no {HANDOFF}: cargo build --release")
    if args.bare:
        BARE_RUNNER = args.bare
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    base = os.environ.get("HANDOFF_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
    at = utc(END)
    w = windows(at)
    report = {"objectives": [], "imports": [], "rounds": []}
    for size in args.sizes.split(","):
        d = csv_dir(work, size)
        rows = rows_in(d)
        for backend in args.backends.split(","):
            if backend == "sqlite":
                db = work / f"h-{size}.db"
                if not (args.reuse and db.exists()):
                    db, t_h, t_b = import_sqlite(work, size, d)
                    report["imports"].append({"size": size, "backend": backend, "rows": rows,
                                              "handoff_rows_per_s": rows / t_h,
                                              "bare_rows_per_s": rows / t_b})
                url = f"sqlite://{db}"
                mmap_mib = args.bare_mmap_mib
                if mmap_mib is None:  # the whole file
                    mmap_mib = -(-db.stat().st_size // 2**20)
                BARE_SQLITE_ARGS = ["--cache-mib", str(args.bare_cache_mib), "--mmap-mib", str(mmap_mib)]
                bare_mem = lambda qs: sqlite_bare(db, qs)
                fmt = sqlite_time
            else:
                name = f"handoff_bench_h_{size}"
                url = pg_url(base, name)
                exists = run(["psql", "-X", "-qtA", base, "-c",
                              f"SELECT 1 FROM pg_database WHERE datname = '{name}'"]).stdout.strip()
                if not (args.reuse and exists):
                    url, t_h, t_b = import_postgres(base, size, d)
                    report["imports"].append({"size": size, "backend": backend, "rows": rows,
                                              "handoff_rows_per_s": rows / t_h,
                                              "bare_rows_per_s": rows / t_b})
                bare_mem = lambda qs, url=url: (psql_seconds(url, qs, "SET jit = off;\n"), None)
                fmt = pg_time
            bare = lambda qs: bare_mem(qs)[0]
            total_bare = 0.0
            if not args.rounds_only:
                for o in OBJECTIVES:
                    qs = bare_sql(o, fmt, w)
                    t_bare = median_of(args.runs, lambda: bare(qs))
                    t_handoff = median_of(args.runs, lambda: handoff_eval(url, [o])[0][o])
                    total_bare += t_bare
                    report["objectives"].append({"size": size, "backend": backend, "objective": o,
                                                 "handoff_s": t_handoff, "bare_s": t_bare})
            if args.query_exporter and not args.rounds_only:
                dsn = f"sqlite:///{db}" if backend == "sqlite" else url.replace("postgres://", "postgresql://")
                qe = query_exporter(args.query_exporter, dsn, fmt, w, backend, work)
                ho = handoff_cycle(url)
                report.setdefault("query_exporter", []).append(
                    {"size": size, "backend": backend, "query_exporter": qe, "handoff": ho})
            # Whole rounds, each followed by the bare statements of every
            # objective in the same order (a bare round): both sides then read
            # with the same caches. Σ bare, the per-objective medians above, is
            # measured right after each statement's own warm-up; a round's
            # statements find colder caches, the more so on a machine that
            # pages out file pages it has not touched for a few seconds. Each
            # --variant runs in turn with handoff's defaults ("").
            all_bare = [q for o in OBJECTIVES for q in bare_sql(o, fmt, w)]
            variants = [""] + [v for v in args.variant if backend == "sqlite"]
            load_before = os.getloadavg()
            for v in variants:  # warm-up
                handoff_eval(url, extra=shlex.split(v))
            bare(all_bare)
            rounds = {v: [] for v in variants}
            bare_rounds = []
            for _ in range(args.runs):
                for v in variants:
                    rounds[v].append(handoff_eval(url, extra=shlex.split(v)))
                bare_rounds.append(bare_mem(all_bare))
            load_after = os.getloadavg()
            bare_s = [t for t, _ in bare_rounds]
            bare_m = [m for _, m in bare_rounds if m]
            for v in variants:
                runs_s = [sum(t.values()) for t, _ in rounds[v]]
                report["rounds"].append({
                    "size": size, "backend": backend, "handoff_options": v,
                    "handoff_s": statistics.median(runs_s), "handoff_runs_s": runs_s,
                    "bare_sum_s": total_bare or None,
                    "bare_round_s": statistics.median(bare_s), "bare_round_runs_s": bare_s,
                    "peak_rss_bytes": max(m["peak_rss_bytes"] for _, m in rounds[v]),
                    "peak_anon_bytes": max(m["peak_anon_bytes"] for _, m in rounds[v]),
                    "bare_peak_rss_bytes": max((m["peak_rss_bytes"] for m in bare_m), default=None),
                    "bare_peak_anon_bytes": max((m["peak_anon_bytes"] for m in bare_m), default=None),
                    "bare_settings": dict(BARE_SQLITE_SETTINGS) if backend == "sqlite" else "jit = off",
                    "loadavg_before": load_before, "loadavg_after": load_after})
            if args.json:  # what is measured so far, should a later size be cut short
                Path(args.json).write_text(json.dumps(report, indent=2))
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


def mib(n):
    return f"{n / 2**20:.1f}MiB" if n is not None else "-"


def print_report(r):
    if r["objectives"]:
        print(f"{'objective':<20} {'size':<5} {'backend':<9} {'handoff':>9} {'bare SQL':>9} {'ratio':>6}")
    for o in r["objectives"]:
        print(f"{o['objective']:<20} {o['size']:<5} {o['backend']:<9} {o['handoff_s']:>8.3f}s "
              f"{o['bare_s']:>8.3f}s {o['handoff_s'] / o['bare_s']:>6.2f}")
    print()
    print(f"{'whole round':<20} {'size':<5} {'backend':<9} {'handoff':>9} {'Σ bare':>9} {'ratio':>6} "
          f"{'bare round':>10} {'ratio':>6} {'peak RSS':>10} {'peak anon':>10} "
          f"{'bare RSS':>10} {'bare anon':>10}  handoff options")
    for o in r["rounds"]:
        s = o["bare_sum_s"]
        bare_sum = f"{s:8.3f}s" if s else "-"
        sum_ratio = f"{o['handoff_s'] / s:6.2f}" if s else "-"
        print(f"{'':<20} {o['size']:<5} {o['backend']:<9} {o['handoff_s']:>8.3f}s "
              f"{bare_sum:>9} {sum_ratio:>6} "
              f"{o['bare_round_s']:>9.3f}s {o['handoff_s'] / o['bare_round_s']:>6.2f} "
              f"{mib(o['peak_rss_bytes']):>10} {mib(o['peak_anon_bytes']):>10} "
              f"{mib(o['bare_peak_rss_bytes']):>10} {mib(o['bare_peak_anon_bytes']):>10}  "
              f"{o['handoff_options'] or '(defaults)'}")
    for o in r["rounds"]:
        if o["backend"] == "sqlite" and not o["handoff_options"]:
            print(f"bare SQLite settings, {o['size']}: {o['bare_settings']}")
    for o in r.get("query_exporter", []):
        qe, ho = o["query_exporter"], o["handoff"]
        print(f"4 measures per cycle {o['size']:<5} {o['backend']:<9} query-exporter "
              f"{qe['cycle_cpu_s']:.2f} CPU s, {qe['peak_rss_bytes'] / 2**20:.1f} MiB; "
              f"handoff {ho['cycle_cpu_s']:.2f} CPU s, {ho['peak_rss_bytes'] / 2**20:.1f} MiB")
    if r["imports"]:
        print()
        print(f"{'import':<20} {'size':<5} {'backend':<9} {'handoff':>12} {'bulk loader':>12} {'ratio':>6}")
    for o in r["imports"]:
        print(f"{'':<20} {o['size']:<5} {o['backend']:<9} {o['handoff_rows_per_s']:>10.0f}/s "
              f"{o['bare_rows_per_s']:>10.0f}/s {o['handoff_rows_per_s'] / o['bare_rows_per_s']:>6.2f}")


if __name__ == "__main__":
    main()
