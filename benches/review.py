#!/usr/bin/env python3
"""The review of one closed month against one full evaluation, side by side.

`handoff review --period P` evaluates every objective of the rules over the
month P and the periods it is compared with (the two months before, the same
month a year earlier, a third month before for a median-of-3 trend, the
percent_worked objective once more by rep), and reads the flow, channels and
reps tables besides. This times the whole `handoff review` process of the
last closed month at the demo's end instant (2026-10 at 2026-11-25T15:00Z in
America/New_York) against the whole `handoff eval` process of every objective
of the shipped rules at the same instant, on the same database: wall time of
the process (time.monotonic around it, start-up included on both sides, as
the review runs many evaluations) and peak RSS (/usr/bin/time). The goal: a
review of one month costs at most 3 times one full evaluation. Reuses the
datasets and loaders of benches/bench.py and benches/leads.py.

    python3 benches/review.py --sizes 1m --backends sqlite,postgres --runs 3

After one warm-up of each, --runs rounds each run eval, then review; the
figures are the medians. Both must exit 0 with no result of status `error`
anywhere in their JSON. Then each runs once more with `--log
handoff::eval=debug`, and the per-objective `Evaluated. elapsed=` lines are
summed by objective name, to show where the time goes (the review's by-rep
percent_worked pass logs under its objective's name; the review's own table
reads log nothing and are in the rest). With builds running alongside,
measure a copy of the binary (--handoff).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import bench
import leads
from bench import END, RULES

HANDOFF = bench.HANDOFF  # --handoff

PERIOD = "2026-10"  # the last closed month at END in the rules' zone
EVALUATED = re.compile(r"objective=([A-Za-z0-9_-]+).*Evaluated\. elapsed=(\S+)")


def errors_in(value, path="$"):
    """Every object in the JSON with status `error`, by where it is."""
    found = []
    if isinstance(value, dict):
        if value.get("status") == "error":
            found.append(path)
        for k, v in value.items():
            found += errors_in(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += errors_in(v, f"{path}[{i}]")
    return found


def handoff(url, verb, log=False):
    """One whole process: wall seconds, peak RSS in bytes, its JSON, and its stderr."""
    cmd = ["/usr/bin/time", "-f", "RSS %M ELAPSED %e", str(HANDOFF)]
    if log:
        cmd += ["--log", "handoff::eval=debug"]
    cmd += ["--rules", str(RULES), "--database", url, *verb, "--at", END, "--format", "json"]
    started = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - started
    if p.returncode != 0:
        raise SystemExit(f"handoff {verb[0]} failed ({p.returncode}): {p.stderr[-2000:]}")
    out = json.loads(p.stdout)
    errors = errors_in(out)
    if errors:
        raise SystemExit(f"handoff {verb[0]} reported status error at {errors[:20]}")
    rss = int(re.findall(r"RSS (\d+) ELAPSED", p.stderr)[-1]) * 1024
    return wall, rss, out, p.stderr


EVAL = ["eval"]
REVIEW = ["review", "--period", PERIOD]


def breakdown(stderr):
    """Seconds and evaluations per objective from the debug log."""
    seconds, count = defaultdict(float), defaultdict(int)
    for line in stderr.splitlines():
        m = EVALUATED.search(line)
        if m:
            seconds[m.group(1)] += bench.duration(m.group(2))
            count[m.group(1)] += 1
    return {o: {"seconds": seconds[o], "evaluations": count[o]} for o in seconds}


def review_shape(out):
    """What the review evaluated, as its JSON shows it."""
    return {"period": out["period"]["label"], "objectives": len(out["objectives"]),
            "period_figures": sum(len(o["periods"]) for o in out["objectives"]),
            "periods": sorted({p["label"] for o in out["objectives"] for p in o["periods"]}),
            "results": sum(len(p["results"]) for o in out["objectives"] for p in o["periods"])}


def measure(url, runs):
    handoff(url, EVAL)  # warm-up
    handoff(url, REVIEW)
    evals, reviews, loads = [], [], [os.getloadavg()]
    for _ in range(runs):
        evals.append(handoff(url, EVAL))
        loads.append(os.getloadavg())
        reviews.append(handoff(url, REVIEW))
        loads.append(os.getloadavg())
    e_wall, _, e_out, e_err = handoff(url, EVAL, log=True)
    r_wall, _, _, r_err = handoff(url, REVIEW, log=True)
    e_log, r_log = breakdown(e_err), breakdown(r_err)
    eval_s = statistics.median(w for w, *_ in evals)
    review_s = statistics.median(w for w, *_ in reviews)
    return {"eval_s": eval_s, "review_s": review_s, "ratio": review_s / eval_s,
            "eval_peak_rss_bytes": max(r for _, r, *_ in evals),
            "review_peak_rss_bytes": max(r for _, r, *_ in reviews),
            "eval_runs_s": [w for w, *_ in evals], "review_runs_s": [w for w, *_ in reviews],
            "eval_objectives": len(e_out["objectives"]),
            "eval_results": sum(len(o["results"]) for o in e_out["objectives"]),
            "review": review_shape(reviews[-1][2]),
            "eval_log": {"wall_s": e_wall, "sum_s": sum(x["seconds"] for x in e_log.values()),
                         "by_objective": e_log},
            "review_log": {"wall_s": r_wall, "sum_s": sum(x["seconds"] for x in r_log.values()),
                           "by_objective": r_log},
            "loadavg": loads}


def table(report):
    head = ("| backend | size | eval median s | review median s | ratio | peak RSS eval MiB "
            "| peak RSS review MiB | eval runs s | review runs s |")
    rows = [head, "|" + "---|" * 9]
    for r in report:
        rows.append(f"| {r['backend']} | {r['size']} | {r['eval_s']:.2f} | {r['review_s']:.2f} | "
                    f"{r['ratio']:.2f} | {r['eval_peak_rss_bytes'] / 2**20:.1f} | "
                    f"{r['review_peak_rss_bytes'] / 2**20:.1f} | "
                    f"{', '.join(f'{x:.2f}' for x in r['eval_runs_s'])} | "
                    f"{', '.join(f'{x:.2f}' for x in r['review_runs_s'])} |")
    return "\n".join(rows)


def breakdown_table(report):
    rows = ["| backend | size | objective | eval s (n) | review s (n) |", "|---|---|---|---|---|"]
    for r in report:
        e, v = r["eval_log"]["by_objective"], r["review_log"]["by_objective"]
        for o in sorted(set(e) | set(v), key=lambda o: -v.get(o, {}).get("seconds", 0)):
            cell = lambda d: f"{d[o]['seconds']:.2f} ({d[o]['evaluations']})" if o in d else "-"
            rows.append(f"| {r['backend']} | {r['size']} | {o} | {cell(e)} | {cell(v)} |")
        rows.append(f"| {r['backend']} | {r['size']} | Σ objectives / process wall | "
                    f"{r['eval_log']['sum_s']:.2f} / {r['eval_log']['wall_s']:.2f} | "
                    f"{r['review_log']['sum_s']:.2f} / {r['review_log']['wall_s']:.2f} |")
    return "\n".join(rows)


def main():
    global HANDOFF
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1m")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default="/tmp/handoff-bench")
    ap.add_argument("--reuse", action="store_true",
                    help="read the databases a previous run left instead of importing afresh")
    ap.add_argument("--json", help="also write the measurements to this file")
    ap.add_argument("--markdown", help="also write the tables to this file")
    ap.add_argument("--handoff", default=str(HANDOFF),
                    help="the binary to measure (a copy, should builds run alongside)")
    args = ap.parse_args()
    HANDOFF = bench.HANDOFF = leads.HANDOFF = Path(args.handoff)
    if not HANDOFF.exists():
        raise SystemExit(f"no {HANDOFF}: cargo build --release")
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    base = os.environ.get("HANDOFF_BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
    report = []
    for size in args.sizes.split(","):
        for backend in args.backends.split(","):
            url = leads.load(work, size, backend, base, args.reuse)
            report.append({"size": size, "backend": backend, "period": PERIOD, "at": END,
                           **measure(url, args.runs)})
            if args.json:
                Path(args.json).write_text(json.dumps(report, indent=2))
    text = table(report) + "\n\n" + breakdown_table(report) + "\n"
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    if args.markdown:
        Path(args.markdown).write_text(text)
    print(text)
    for r in report:
        s = r["review"]
        loads = [l[0] for l in r["loadavg"]]
        print(f"{r['backend']} {r['size']}: review {s['period']}: {s['objectives']} objectives, "
              f"{s['period_figures']} period figures ({', '.join(s['periods'])}), {s['results']} results; "
              f"eval: {r['eval_objectives']} objectives, {r['eval_results']} results; "
              f"1-min load {min(loads):.2f}-{max(loads):.2f}; "
              f"review <= 3x eval: {'met' if r['ratio'] <= 3 else 'MISSED'} ({r['ratio']:.2f}x)")


if __name__ == "__main__":
    main()
