#!/usr/bin/env python3
"""The lead-notice scan against the bare database, side by side.

`handoff leads --format json` reports, for each objective with `notify_reps:`,
the wall time of its one read of the leads in flight (`scan_seconds`: the
read-only transaction around the statement of `Question::InFlight`, every row
decoded). This times it for the shipped speed-to-lead at the demo's end
instant, against the same statement with the same instants written in, run
bare: for SQLite through the `bare` bench target (benches/bare.rs), for
PostgreSQL with psql's `\\timing` (`jit = off`, as handoff sets). Reuses the
datasets and loaders of benches/bench.py; see docs/BENCHMARKS.md, "The lead
scan".

    python3 benches/leads.py --sizes 1m,2m --backends sqlite,postgres --runs 5

After one warm-up of each side, --runs rounds each run handoff, then the bare
statement; the figures are the medians, and both sides must return the same
number of rows. Peak RSS is the largest of the `handoff leads` processes'
(/usr/bin/time). With builds running alongside, measure a copy of the binaries
(--handoff, --bare).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
from pathlib import Path

import bench
from bench import END, ROOT, RULES, run

HANDOFF = bench.HANDOFF  # --handoff

OBJECTIVE = "speed-to-lead"
# Question::InFlight (src/core/store/read.rs), with {start} and {at} written in.
IN_FLIGHT = (
    "SELECT l.id, l.mql_at, l.owner_id, (SELECT r.name FROM reps r WHERE r.id = l.owner_id), "
    "(SELECT r.email FROM reps r WHERE r.id = l.owner_id), (SELECT r.team FROM reps r WHERE r.id = l.owner_id), "
    "l.channel, l.score FROM leads l WHERE l.mql_at >= {start} AND l.mql_at < {at} "
    "AND (SELECT 1 FROM touches t WHERE t.lead_id = l.id AND "
    + bench.ATTEMPT.format(mql="l.mql_at")
    + " AND t.occurred_at < {at} LIMIT 1) IS NULL AND CASE WHEN (l.closed_at IS NULL OR l.closed_at >= {at}) "
    "AND (l.accepted_at IS NULL OR l.accepted_at >= {at}) AND (l.rejected_at IS NULL OR l.rejected_at >= {at}) "
    "THEN 1 ELSE 0 END = 1"
)


def load(work, size, backend, base, reuse):
    """A database holding the dataset, imported by handoff (as bench.py names it)."""
    d = bench.csv_dir(work, size)
    if backend == "sqlite":
        db = work / f"h-{size}.db"
        if not (reuse and db.exists()):
            for suffix in ("", "-wal", "-shm"):
                Path(str(db) + suffix).unlink(missing_ok=True)
            run([str(HANDOFF), "--database", f"sqlite://{db}", "import", str(d)])
        return f"sqlite://{db}"
    name = f"handoff_bench_h_{size}"
    url = bench.pg_url(base, name)
    exists = run(["psql", "-X", "-qtA", base, "-c",
                  f"SELECT 1 FROM pg_database WHERE datname = '{name}'"]).stdout.strip()
    if not (reuse and exists):
        run(["psql", "-X", "-q", base, "-c", f"DROP DATABASE IF EXISTS {name}"])
        run(["psql", "-X", "-q", base, "-c", f"CREATE DATABASE {name}"])
        run([str(HANDOFF), "--database", url, "import", str(d)])
        run(["psql", "-X", "-q", url, "-c", "ANALYZE"])
    return url


def handoff_scan(url):
    """speed-to-lead's entry of `handoff leads`, and the process's peak RSS in bytes."""
    p = subprocess.run(["/usr/bin/time", "-f", "RSS %M", str(HANDOFF), "--rules", str(RULES),
                        "--database", url, "leads", "--at", END, "--format", "json"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"handoff leads failed ({p.returncode}): {p.stderr[-2000:]}")
    (o,) = [o for o in json.loads(p.stdout)["objectives"] if o["name"] == OBJECTIVE]
    if o["error"]:
        raise SystemExit(f"handoff leads: {o['error']}")
    return o, int(re.findall(r"RSS (\d+)", p.stderr)[-1]) * 1024


def sqlite_bare(db, sql):
    path = Path(str(db) + ".leads.sql")
    path.write_text(sql + "\n")
    out = run([bench.BARE_RUNNER, f"sqlite://{db}", str(path)]).stdout
    # The runner's first line tells its settings ("# cache_size N mmap_size N").
    seconds, rows = re.search(r"^([0-9.]+) s (\d+) rows$", out, re.M).groups()
    return float(seconds), int(rows)


def psql_bare(url, sql):
    script = "SET jit = off;\n\\pset format unaligned\n\\pset tuples_only on\n\\timing on\n" + sql + ";\n"
    lines = run(["psql", "-X", "-q", url], input=script).stdout.splitlines()
    times = [float(m.group(1)) for m in map(re.compile(r"Time: ([0-9.]+) ms").match, lines) if m]
    if len(times) != 1:
        raise SystemExit(f"psql printed {len(times)} timings")
    return times[0] / 1000.0, sum(1 for x in lines if x and not x.startswith("Time: "))


def measure(url, backend, runs):
    first, _ = handoff_scan(url)  # warm-up, and the scan's start
    fmt = bench.sqlite_time if backend == "sqlite" else bench.pg_time
    sql = IN_FLIGHT.format(start=fmt(bench.utc(first["leads"]["scan_start"])), at=fmt(bench.utc(END)))
    if backend == "sqlite":
        bare = lambda: sqlite_bare(url.removeprefix("sqlite://"), sql)
    else:
        bare = lambda: psql_bare(url, sql)
    bare()  # warm-up
    scans, bares = [], []
    for _ in range(runs):
        scans.append(handoff_scan(url))
        bares.append(bare())
    rows = {o["untried_open"] for o, _ in scans}
    bare_rows = {n for _, n in bares}
    if len(rows | bare_rows) != 1:
        raise SystemExit(f"rows differ: handoff {rows}, bare {bare_rows}")
    leads = scans[-1][0]["leads"]
    return {"rows": rows.pop(), "in_flight": leads["in_flight"], "overdue": leads["overdue"],
            "scan_start": leads["scan_start"],
            "handoff_s": statistics.median(o["scan_seconds"] for o, _ in scans),
            "bare_s": statistics.median(s for s, _ in bares),
            "peak_rss_bytes": max(r for _, r in scans),
            "handoff_runs_s": [o["scan_seconds"] for o, _ in scans],
            "bare_runs_s": [s for s, _ in bares], "loadavg": os.getloadavg()}


def main():
    global HANDOFF
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1m,2m")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work", default="/tmp/handoff-bench")
    ap.add_argument("--reuse", action="store_true",
                    help="read the databases a previous run left instead of importing afresh")
    ap.add_argument("--json", help="also write the measurements to this file")
    ap.add_argument("--handoff", default=str(HANDOFF),
                    help="the binary to measure (a copy, should builds run alongside)")
    ap.add_argument("--bare", metavar="EXE", help="the `bare` bench target, already built")
    args = ap.parse_args()
    HANDOFF = bench.HANDOFF = Path(args.handoff)
    if not HANDOFF.exists():
        raise SystemExit(f"no {HANDOFF}: cargo build --release")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    base = os.environ.get("HANDOFF_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
    if "sqlite" in args.backends.split(","):
        bench.BARE_RUNNER = args.bare or bench.bare_runner()
    report = []
    for size in args.sizes.split(","):
        for backend in args.backends.split(","):
            url = load(work, size, backend, base, args.reuse)
            report.append({"size": size, "backend": backend, **measure(url, backend, args.runs)})
            if args.json:
                Path(args.json).write_text(json.dumps(report, indent=2))
    print(f"{'backend':<10} {'size':<5} {'rows':>6} {'in flight':>9} {'overdue':>7} {'handoff':>9} "
          f"{'bare SQL':>9} {'ratio':>6} {'peak RSS':>9}")
    for r in report:
        print(f"{r['backend']:<10} {r['size']:<5} {r['rows']:>6} {r['in_flight']:>9} {r['overdue']:>7} "
              f"{r['handoff_s'] * 1000:>7.1f}ms {r['bare_s'] * 1000:>7.1f}ms "
              f"{r['handoff_s'] / r['bare_s']:>6.2f} {r['peak_rss_bytes'] / 2**20:>7.1f}MiB")


if __name__ == "__main__":
    main()
