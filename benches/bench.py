#!/usr/bin/env python3
"""handoff against the bare database, side by side.

Builds demo datasets, loads the same CSV files with `handoff import` and with the
databases' own bulk loaders (`sqlite3 .import`, `psql \\copy`), and times every
objective of the shipped rules in handoff against hand-written SQL that computes
the same figures, on the same database. Prints one table; see docs/BENCHMARKS.md.

    python3 benches/bench.py --sizes 100k,1m,2m --backends sqlite,postgres --runs 3

Times are statement timings measured inside each tool, so process start-up is
left out on both sides: for SQLite the `bare` bench target (benches/bare.rs), which
runs the hand-written SQL through the same SQLite build and settings handoff uses;
for PostgreSQL psql's `\\timing`; for handoff its per-objective debug log. Medians of --runs runs after one warm-up run. Peak RSS is the whole
`handoff eval` process (/usr/bin/time). Needs: a release build, sqlite3, psql,
and for PostgreSQL a server (HANDOFF_BENCH_POSTGRES, default
postgres://postgres@127.0.0.1:5432/postgres).
"""

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
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


def sqlite_seconds(db, statements):
    global BARE_RUNNER
    BARE_RUNNER = BARE_RUNNER or bare_runner()
    script = "\n;\n".join(statements) + "\n"
    path = Path(str(db) + ".bare.sql")
    path.write_text(script)
    out = run([BARE_RUNNER, f"sqlite://{db}", str(path)]).stdout
    return sum(float(x) for x in re.findall(r"^([0-9.]+) s", out, re.M))


def psql_seconds(url, statements, settings=""):
    script = "\\timing on\n" + settings + "".join(s + ";\n" for s in statements)
    out = run(["psql", "-X", "-q", url], input=script).stdout
    return sum(float(x) for x in re.findall(r"Time: ([0-9.]+) ms", out)) / 1000.0


DURATION = re.compile(r"([0-9.]+)(ns|µs|us|ms|s)\b")


def duration(text):
    value, unit = DURATION.fullmatch(text).groups()
    scale = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]
    return float(value) * scale


def handoff_eval(url, objectives=None):
    """Seconds per objective from handoff's own log, and the process's peak RSS."""
    cmd = ["/usr/bin/time", "-f", "RSS %M", str(HANDOFF), "--database", url,
           "--rules", str(RULES), "--log", "handoff::eval=debug", "eval", "--at", END,
           "--format", "json"]
    for o in objectives or []:
        cmd += ["--objective", o]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0,):
        raise SystemExit(f"handoff eval failed: {p.stderr[-2000:]}")
    times = {}
    for line in p.stderr.splitlines():
        m = re.search(r"objective=([a-z0-9-]+).*Evaluated\. elapsed=(\S+)", line)
        if m:
            times[m.group(1)] = duration(m.group(2))
    rss = int(re.search(r"RSS (\d+)", p.stderr).group(1)) * 1024
    errors = [r for o in json.loads(p.stdout)["objectives"] for r in o["results"]
              if r["status"] == "error"]
    if errors:
        raise SystemExit(f"handoff eval reported errors: {errors}")
    return times, rss


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
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100k,1m,2m")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default="/tmp/handoff-bench")
    ap.add_argument("--json", help="also write the measurements to this file")
    ap.add_argument("--query-exporter", metavar="EXE",
                    help="also measure query-exporter (PyPI) running the measures it can express")
    args = ap.parse_args()
    if not HANDOFF.exists():
        raise SystemExit("build first: cargo build --release")
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
                db, t_h, t_b = import_sqlite(work, size, d)
                url = f"sqlite://{db}"
                bare = lambda qs: sqlite_seconds(db, qs)
                fmt = sqlite_time
            else:
                url, t_h, t_b = import_postgres(base, size, d)
                bare = lambda qs, url=url: psql_seconds(url, qs, "SET jit = off;\n")
                fmt = pg_time
            report["imports"].append({"size": size, "backend": backend, "rows": rows,
                                      "handoff_rows_per_s": rows / t_h, "bare_rows_per_s": rows / t_b})
            total_bare = 0.0
            for o in OBJECTIVES:
                qs = bare_sql(o, fmt, w)
                t_bare = median_of(args.runs, lambda: bare(qs))
                t_handoff = median_of(args.runs, lambda: handoff_eval(url, [o])[0][o])
                total_bare += t_bare
                report["objectives"].append({"size": size, "backend": backend, "objective": o,
                                             "handoff_s": t_handoff, "bare_s": t_bare})
            if args.query_exporter:
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
            # pages out file pages it has not touched for a few seconds.
            all_bare = [q for o in OBJECTIVES for q in bare_sql(o, fmt, w)]
            handoff_eval(url)  # warm-up
            bare(all_bare)
            rounds, bare_rounds = [], []
            for _ in range(args.runs):
                rounds.append(handoff_eval(url))
                bare_rounds.append(bare(all_bare))
            round_s = statistics.median(sum(t.values()) for t, _ in rounds)
            rss = max(r for _, r in rounds)
            report["rounds"].append({"size": size, "backend": backend, "handoff_s": round_s,
                                     "bare_sum_s": total_bare,
                                     "bare_round_s": statistics.median(bare_rounds),
                                     "peak_rss_bytes": rss})
            if args.json:  # what is measured so far, should a later size be cut short
                Path(args.json).write_text(json.dumps(report, indent=2))
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


def print_report(r):
    print(f"{'objective':<20} {'size':<5} {'backend':<9} {'handoff':>9} {'bare SQL':>9} {'ratio':>6}")
    for o in r["objectives"]:
        print(f"{o['objective']:<20} {o['size']:<5} {o['backend']:<9} {o['handoff_s']:>8.3f}s "
              f"{o['bare_s']:>8.3f}s {o['handoff_s'] / o['bare_s']:>6.2f}")
    print()
    print(f"{'whole round':<20} {'size':<5} {'backend':<9} {'handoff':>9} {'Σ bare':>9} {'ratio':>6} "
          f"{'bare round':>10} {'ratio':>6} {'peak RSS':>9}")
    for o in r["rounds"]:
        print(f"{'':<20} {o['size']:<5} {o['backend']:<9} {o['handoff_s']:>8.3f}s {o['bare_sum_s']:>8.3f}s "
              f"{o['handoff_s'] / o['bare_sum_s']:>6.2f} {o['bare_round_s']:>9.3f}s "
              f"{o['handoff_s'] / o['bare_round_s']:>6.2f} {o['peak_rss_bytes'] / 2**20:>7.1f}MiB")
    for o in r.get("query_exporter", []):
        qe, ho = o["query_exporter"], o["handoff"]
        print(f"4 measures per cycle {o['size']:<5} {o['backend']:<9} query-exporter "
              f"{qe['cycle_cpu_s']:.2f} CPU s, {qe['peak_rss_bytes'] / 2**20:.1f} MiB; "
              f"handoff {ho['cycle_cpu_s']:.2f} CPU s, {ho['peak_rss_bytes'] / 2**20:.1f} MiB")
    print()
    print(f"{'import':<20} {'size':<5} {'backend':<9} {'handoff':>12} {'bulk loader':>12} {'ratio':>6}")
    for o in r["imports"]:
        print(f"{'':<20} {o['size']:<5} {o['backend']:<9} {o['handoff_rows_per_s']:>10.0f}/s "
              f"{o['bare_rows_per_s']:>10.0f}/s {o['handoff_rows_per_s'] / o['bare_rows_per_s']:>6.2f}")


if __name__ == "__main__":
    main()
