#!/usr/bin/env python3
"""Failover of two `handoff run` sharing one PostgreSQL or MariaDB database.

    python3 tests/ha.py --handoff target/release/handoff --backend postgres --scenario kill
    python3 tests/ha.py --handoff target/release/handoff --backend mysql --scenario partition --rounds 10

Each scenario makes a database of its own (ha_pg_kill, ha_my_partition, ...),
migrates it with `handoff migrate`, writes a rule set with one objective
(`ha-volume`, lead_volume over a rolling week, target 5, evaluated every
minute, mailed to one team) and starts two daemons, `a` and `b`, mailing an
SMTP sink (tests/smtp_sink.py). Then, each round:

- the leader is the daemon whose /metrics says `handoff_leader 1`;
- the data is flipped a few seconds before the objective's next run (a
  random 0-6 s): three leads are deleted (healthy -> at risk) or inserted
  (at risk -> healthy), so that every round must yield one notice, AT RISK
  or RESOLVED;
- a random 0-8 s later the leader is SIGKILLed (`kill`) or cut off from the
  database by its TCP proxy for 40 s (`partition`: tests/tcp_proxy.py drops
  the network both ways and holds new connections, then heals);
- the other daemon must report `handoff_leader 1` within 30 s of the kill or
  the cut. A killed daemon is started again and must come back as a follower;
  a partitioned one must step down and stay a follower after the heal.

Both daemons' /metrics are read every 0.2 s throughout: after a new leader is
seen, at most one may claim leadership, except that a partitioned old leader
may go on claiming it until its local lease runs out (15 s after its last
renewal, which was before the cut); that is printed, not failed.

Mail: each round's notice must reach the sink within 60 s of its flip. At the
end every expected notice must have arrived with exactly one Message-ID; the
same Message-ID received again is a duplicate in the documented window (the
SMTP server took the mail but the old leader could not record it) and is
printed with its round; two different Message-IDs for one round's notice, or a
mail the data does not justify, fail.

Prints a line per round and a summary, and exits 1 on any failure. Every child
(daemons, sink) is killed and the database dropped on exit, Ctrl-C included;
the daemons' logs are kept in the work directory when something failed.

Python's standard library only, plus the psql or mariadb/mysql client for the
data. `--daemons 1` runs the same rounds on one daemon (killed and started
again, or cut off and healed), to check the harness against a build without
leader election: there is no failover to time.
"""

import argparse
import datetime
import email
import email.policy
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tcp_proxy import Proxy  # noqa: E402

OBJECTIVE = "ha-volume"
RECEIVER = "marketing@acme.example"
RULES = f"""version: 1
timezone: UTC
teams:
  marketing: {{ email: [{RECEIVER}] }}
objectives:
  - name: {OBJECTIVE}
    description: Marketing hands sales 5 MQLs a week.
    kind: lead_volume
    owner: marketing
    schedule: "0 * * * * *"
    window: rolling 7d
    target: 5
    warn_below: 1
"""
# Two leads stay; three more make it healthy (5 of 5), their absence at risk (2 of 5).
BASELINE = 2
FLIP = 3

AT_RISK, RESOLVED = "AT RISK", "RESOLVED"
# The checks of the whole scenario, beside one per round.
LEADERSHIP = "at most one leader at a time"
MAIL = "no mail but the rounds' notices"

FAILOVER_LIMIT = 30.0  # seconds from the kill or the cut to the new leader
LEASE_TTL = 15.0  # a partitioned leader may claim leadership this long after its last renewal
CUT_SECONDS = 40.0
POLL = 0.2  # the monitor's period
# Creating and dropping a database waits for a checkpoint, which takes long on a
# server busy creating others (test suites running beside).
DDL_TIMEOUT = 300


def log(*parts):
    print(*parts, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def utc(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3]


def stamp(t):
    """A log line's time as the daemon writes it."""
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def mark(path, t, what):
    """Writes what the harness did into a daemon's log, in the log's own form."""
    with open(path, "ab") as f:
        f.write(f"{stamp(t)} === harness: {what}\n".encode())


class Failure(Exception):
    pass


# ------------------------------------------------------------------ databases


class Backend:
    """Creates, fills and drops the scenario's database through the command-line client."""

    def __init__(self, kind, url):
        self.kind = kind
        self.url = urllib.parse.urlsplit(url)
        self.host = self.url.hostname or "127.0.0.1"
        self.port = self.url.port or (5432 if kind == "postgres" else 3306)
        self.env = dict(os.environ)
        if kind == "postgres":
            self.client = shutil.which("psql")
            if self.url.password:
                self.env["PGPASSWORD"] = urllib.parse.unquote(self.url.password)
        else:
            self.client = shutil.which("mariadb") or shutil.which("mysql")
            if self.url.password:
                self.env["MYSQL_PWD"] = urllib.parse.unquote(self.url.password)
        if not self.client:
            raise Failure(f"no {'psql' if kind == 'postgres' else 'mariadb or mysql'} client on PATH")

    def url_for(self, db, host=None, port=None):
        """The server URL with database `db`, reached at host:port (default: the server itself)."""
        netloc = ""
        if self.url.username:
            netloc = self.url.username
            if self.url.password:
                netloc += ":" + self.url.password
            netloc += "@"
        netloc += f"{host or self.host}:{port or self.port}"
        return urllib.parse.urlunsplit((self.url.scheme, netloc, "/" + db, self.url.query, ""))

    def run(self, sql, db=None, timeout=60):
        if self.kind == "postgres":
            admin_db = (self.url.path or "/").lstrip("/") or "postgres"
            cmd = [self.client, self.url_for(db or admin_db), "-v", "ON_ERROR_STOP=1", "-Atqc", sql]
        else:
            cmd = [self.client, f"--host={self.host}", f"--port={self.port}", "--batch", "-N", "-e", sql]
            if self.url.username:
                cmd.append(f"--user={urllib.parse.unquote(self.url.username)}")
            if db:
                cmd.append(db)
        p = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout)
        if p.returncode != 0:
            raise Failure(f"{' '.join(cmd[:1])}: {sql!r} failed: {p.stderr.strip()}")
        return p.stdout

    def create(self, db):
        self.drop(db)
        q = '"' if self.kind == "postgres" else "`"
        self.run(f"CREATE DATABASE {q}{db}{q}", timeout=DDL_TIMEOUT)

    def drop(self, db):
        if self.kind == "postgres":
            self.run(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)', timeout=DDL_TIMEOUT)
        else:
            self.run(f"DROP DATABASE IF EXISTS `{db}`", timeout=DDL_TIMEOUT)

    def hour_ago(self):
        if self.kind == "postgres":
            return "now() - interval '1 hour'"
        return "UTC_TIMESTAMP(6) - INTERVAL 1 HOUR"

    def insert_leads(self, db, ids):
        t = self.hour_ago()
        rows = ", ".join(f"('{i}', {t}, {t}, 'webinar')" for i in ids)
        self.run(f"INSERT INTO leads (id, created_at, mql_at, channel) VALUES {rows}", db)

    def delete_flip_leads(self, db):
        self.run("DELETE FROM leads WHERE id LIKE 'flip-%'", db)


# ------------------------------------------------------------------ the SMTP sink


class Sink:
    """tests/smtp_sink.py in a process of its own; reads back what it received."""

    def __init__(self, python, work):
        self.dir = os.path.join(work, "sink")
        self.port = free_port()
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "smtp_sink.py")
        self.proc = subprocess.Popen(
            [python, script, str(self.port), self.dir],
            stdout=subprocess.PIPE,
            stderr=open(os.path.join(work, "sink.log"), "ab"),
            start_new_session=True,
        )
        line = self.proc.stdout.readline().decode().strip()
        if line != "ready":
            raise Failure(f"the SMTP sink did not start ({python} with aiosmtpd: apt-get install python3-aiosmtpd)")
        self.seen = {}  # file name -> mail

    def mails(self):
        """Every mail received so far, in order: dicts of at, subject, id, rcpt, kind."""
        for name in sorted(os.listdir(self.dir)):
            if not name.endswith(".eml") or name in self.seen:
                continue
            path = os.path.join(self.dir, name)
            at = os.stat(path).st_mtime
            with open(path, "rb") as f:
                m = email.message_from_binary_file(f, policy=email.policy.default)
            subject = str(m["Subject"] or "")
            kind = None
            for k in (AT_RISK, RESOLVED):
                if subject.startswith(f"[handoff] {k} {OBJECTIVE}"):
                    kind = k
            self.seen[name] = {
                "file": name,
                "at": at,
                "subject": subject,
                "id": str(m["Message-ID"] or "").strip(),
                "rcpt": str(m["X-Sink-Rcpt"] or ""),
                "kind": kind,
            }
        return [self.seen[n] for n in sorted(self.seen)]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# ------------------------------------------------------------------ daemons


class Daemon:
    def __init__(self, name, args, db_url, rules, smtp_url, work, proxy=None):
        self.name = name
        self.args = args
        self.db_url = db_url
        self.rules = rules
        self.smtp_url = smtp_url
        self.port = free_port()
        self.log_path = os.path.join(work, f"{name}.log")
        self.proxy = proxy
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        mark(self.log_path, time.time(), f"start {self.starts} of daemon {self.name}")
        logf = open(self.log_path, "ab")
        cmd = [
            self.args.handoff,
            "--database", self.db_url,
            "--rules", self.rules,
            "run",
            "--listen", f"127.0.0.1:{self.port}",
            "--smtp-url", self.smtp_url,
            "--group-wait", "0",
            "--group-interval", "1",
        ]
        if self.args.instance_flag:
            cmd += ["--instance", self.name]
        env = {k: v for k, v in os.environ.items() if not k.startswith("HANDOFF_")}
        env["HANDOFF_INSTANCE"] = self.name
        self.proc = subprocess.Popen(
            cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True
        )
        logf.close()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            mark(self.log_path, time.time(), f"SIGKILL of daemon {self.name}")

    def get(self, path, timeout=2.0):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=timeout) as r:
                return r.read().decode()
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def leader(self):
        """1 or 0 as /metrics says `handoff_leader`; None when it does not answer
        or has no such gauge (with --daemons 1, a daemon that answers counts as
        the leader)."""
        if self.proc is None or self.proc.poll() is not None:
            return None
        body = self.get("/metrics")
        if body is None:
            return None
        for line in body.splitlines():
            if line.startswith("handoff_leader ") or line.startswith("handoff_leader{"):
                return int(float(line.rsplit(" ", 1)[1]))
        return 1 if self.args.daemons == 1 else None

    def next_run(self):
        body = self.get("/api/v1/objectives")
        if body is None:
            return None
        for o in json.loads(body).get("objectives", []):
            if o.get("name") == OBJECTIVE and o.get("next_run"):
                return datetime.datetime.fromisoformat(o["next_run"].replace("Z", "+00:00")).timestamp()
        return None

    def between(self, start, end):
        """The log's lines stamped in [start, end] (unstamped lines go with the one before)."""
        lo, hi = stamp(start), stamp(end)
        out, keep = [], False
        try:
            with open(self.log_path, "rb") as f:
                for line in f.read().decode(errors="replace").splitlines():
                    head = line[:27]
                    if len(head) == 27 and head[4] == "-" and head[10] == "T" and head.endswith("Z"):
                        keep = lo <= head <= hi
                    if keep:
                        out.append(line)
        except OSError:
            pass
        return out

    def tail(self, n=60):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(lines[-n:])


class Monitor(threading.Thread):
    """Reads every daemon's handoff_leader every POLL seconds."""

    def __init__(self, daemons):
        super().__init__(daemon=True)
        self.daemons = daemons
        self.samples = []  # (time, {name: 1 | 0 | None})
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            t = time.time()
            states = {d.name: d.leader() for d in self.daemons}
            with self.lock:
                self.samples.append((t, states))
            self.stopping.wait(max(0.0, POLL - (time.time() - t)))

    def between(self, start, end=None):
        with self.lock:
            return [(t, s) for t, s in self.samples if t >= start and (end is None or t <= end)]


def poll(check, timeout, every=0.1):
    """Calls check until it returns something truthy; returns (time, value) or (None, None)."""
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return time.time(), value
        if time.time() >= deadline:
            return None, None
        time.sleep(every)


# ------------------------------------------------------------------ the scenario


class Round:
    def __init__(self, n, kind):
        self.n = n
        self.kind = kind  # the notice this round's flip must yield
        self.leader = None
        self.new_leader = None
        self.t_flip = None
        self.offset = None  # flip this long before the objective's next run
        self.delay = None  # kill or cut this long after the flip
        self.t_cut = None
        self.failover = None
        self.t_heal = None
        self.back = None  # seconds from the kill until the restarted daemon answered
        self.seen_after = None  # seconds from the flip to the first notice of its kind
        self.both = []  # monitor samples in which both daemons claimed leadership (partition)
        self.claimed = None  # seconds after the cut the old leader was last seen claiming leadership
        self.ids = []  # Message-IDs of its notice, in order of arrival
        self.first_at = None
        self.duplicates = []  # (Message-ID, arrival)
        self.problems = []
        self.t_start = None
        self.t_end = None


class Scenario:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.backend = Backend(args.backend, args.url)
        self.db = args.database or f"ha_{'pg' if args.backend == 'postgres' else 'my'}_{args.scenario}"
        self.work = args.work or tempfile.mkdtemp(prefix=f"ha-{args.backend}-{args.scenario}-")
        os.makedirs(self.work, exist_ok=True)
        self.daemons = []
        self.proxies = []
        self.sink = None
        self.monitor = None
        self.db_made = False
        self.rounds = []
        # Failures outside any one round, by scenario-wide check.
        self.problems = {LEADERSHIP: [], MAIL: []}
        self.problem_times = []  # when those happened, where known
        self.notes = []
        self.t0 = time.time()

    def rel(self, t):
        return f"{t - self.t0:7.1f}s" if t is not None else "      -"

    # --- setup

    def setup(self):
        a = self.args
        log(f"ha: {a.backend} {a.scenario}, {a.rounds} rounds, {a.daemons} daemon(s), seed {a.seed}, work {self.work}")
        self.backend.create(self.db)
        self.db_made = True
        rules = os.path.join(self.work, "rules")
        os.makedirs(rules, exist_ok=True)
        with open(os.path.join(rules, "sla.yaml"), "w") as f:
            f.write(RULES)
        direct = self.backend.url_for(self.db)
        p = subprocess.run(
            [a.handoff, "--database", direct, "--rules", rules, "migrate"], capture_output=True, text=True, timeout=120
        )
        if p.returncode != 0:
            raise Failure(f"handoff migrate failed: {p.stdout}{p.stderr}")
        self.backend.insert_leads(self.db, [f"base-{i}" for i in range(BASELINE)])
        self.backend.insert_leads(self.db, [f"flip-0-{i}" for i in range(FLIP)])
        self.sink = Sink(a.python, self.work)
        smtp = f"smtp://127.0.0.1:{self.sink.port}"
        for name in "ab"[: a.daemons]:
            proxy = None
            url = direct
            if a.scenario == "partition":
                proxy = Proxy(self.backend.host, self.backend.port)
                self.proxies.append(proxy)
                url = self.backend.url_for(self.db, "127.0.0.1", proxy.port)
            self.daemons.append(Daemon(name, a, url, rules, smtp, self.work, proxy))
        for d in self.daemons:
            d.start()
        self.monitor = Monitor(self.daemons)
        self.monitor.start()

    def cleanup(self):
        if self.monitor:
            self.monitor.stopping.set()
        for d in self.daemons:
            try:
                d.kill()
            except Exception:
                pass
        for p in self.proxies:
            try:
                p.close()
            except Exception:
                pass
        if self.sink:
            self.sink.stop()
        if self.db_made and not self.args.keep:
            try:
                self.backend.drop(self.db)
            except Exception as e:
                log(f"ha: could not drop {self.db}: {e}")

    # --- leadership

    def settle(self, timeout=60.0):
        """Waits until exactly one daemon claims leadership and the others answer
        as followers, twice in a row; returns (leader, others)."""
        last = None
        deadline = time.time() + timeout
        while time.time() < deadline:
            states = {d.name: d.leader() for d in self.daemons}
            leaders = [d for d in self.daemons if states[d.name] == 1]
            if len(leaders) == 1 and all(states[d.name] == 0 for d in self.daemons if d is not leaders[0]):
                if last == states:
                    return leaders[0], [d for d in self.daemons if d is not leaders[0]]
                last = states
            else:
                last = None
            time.sleep(0.3)
        states = {d.name: d.leader() for d in self.daemons}
        raise Failure(
            f"no single leader within {timeout:.0f} s (handoff_leader: {states}; None: no answer, or no such gauge)"
        )

    def flip(self, r):
        if r.kind == AT_RISK:
            self.backend.delete_flip_leads(self.db)
        else:
            self.backend.insert_leads(self.db, [f"flip-{r.n}-{i}" for i in range(FLIP)])

    def align(self, leader, r):
        """Sleeps until a random 0-6 s before the objective's next run on the leader."""
        r.offset = self.rng.uniform(0.0, 6.0)
        r.delay = self.rng.uniform(0.0, 8.0)
        _, nxt = poll(leader.next_run, 30, 0.5)
        if nxt is None:
            raise Failure(f"daemon {leader.name} does not say when {OBJECTIVE} runs next (/api/v1/objectives)")
        wait = nxt - r.offset - time.time()
        if wait < 0:
            wait += 60.0  # too close: the run after
        time.sleep(wait)

    def wait_notice(self, r):
        """Until a notice of the round's kind arrived after its flip, or its deadline."""
        deadline = r.t_flip + self.args.notice_within

        def arrived():
            return [m for m in self.sink.mails() if m["kind"] == r.kind and m["at"] >= r.t_flip - 1.0]

        t, got = poll(arrived, max(0.0, deadline - time.time()) + 2.0, 0.5)
        if got:
            r.seen_after = got[0]["at"] - r.t_flip

    # --- rounds

    def run_round(self, r):
        leader, others = self.settle(90.0 if r.n == 1 else 60.0)
        r.leader = leader.name
        self.align(leader, r)
        r.t_flip = time.time()
        self.flip(r)
        time.sleep(r.delay)
        r.t_cut = time.time()
        if self.args.scenario == "kill":
            leader.kill()
        else:
            leader.proxy.cut()
            mark(leader.log_path, r.t_cut, f"daemon {leader.name} cut off from the database")
        if others:
            self.failover(r, others)
        if self.args.scenario == "kill":
            leader.start()
            t_up, state = poll(lambda: (leader.leader(),) if leader.leader() is not None else None, 60.0, 0.2)
            if t_up is None:
                r.problems.append(f"daemon {leader.name} did not answer /metrics within 60 s of its restart")
            else:
                r.back = t_up - r.t_cut
                if others and state[0] != 0:
                    r.problems.append(f"daemon {leader.name} came back claiming leadership (handoff_leader {state[0]})")
        else:
            time.sleep(max(0.0, r.t_cut + CUT_SECONDS - time.time()))
            leader.proxy.heal()
            r.t_heal = time.time()
            mark(leader.log_path, r.t_heal, f"daemon {leader.name} reaches the database again")
            if others:
                t_down, _ = poll(lambda: leader.leader() == 0, 30.0, 0.2)
                if t_down is None:
                    r.problems.append(
                        f"daemon {leader.name} did not step down to follower within 30 s of the heal "
                        f"(handoff_leader {leader.leader()})"
                    )
            else:
                poll(lambda: leader.leader() == 1, 60.0, 0.2)
        self.wait_notice(r)
        if others:
            # The old leader came back as a follower and stayed one.
            t_back = r.t_heal + 2.0 if r.t_heal else r.t_cut + 1.0
            for t, s in self.monitor.between(t_back):
                if s.get(leader.name) == 1:
                    r.problems.append(f"daemon {leader.name} claimed leadership again at {self.rel(t)}")
                    break

    def failover(self, r, others):
        """Times the new leader; in a partition, how long the old one went on claiming."""
        t_new, new = poll(lambda: next((d for d in others if d.leader() == 1), None), 60.0, 0.1)
        if t_new is None:
            r.problems.append(f"no new leader within 60 s of the {'kill' if self.args.scenario == 'kill' else 'cut'}")
            return
        r.new_leader = new.name
        r.failover = t_new - r.t_cut
        if r.failover > FAILOVER_LIMIT:
            r.problems.append(f"failover took {r.failover:.1f} s (limit {FAILOVER_LIMIT:.0f} s)")

    def check_leadership(self):
        """At most one daemon claims leadership at any instant, but for a
        partitioned old leader until its lease ran out."""
        allowed = [(r.t_cut, r.t_cut + LEASE_TTL + 1.0) for r in self.rounds if self.args.scenario == "partition" and r.t_cut]
        for r in self.rounds:
            if self.args.scenario == "partition" and r.t_cut and self.args.daemons == 2:
                claims = [t for t, s in self.monitor.between(r.t_cut, r.t_heal) if s.get(r.leader) == 1]
                if claims:
                    r.claimed = max(claims) - r.t_cut
                # Both claiming while the old lease runs out: allowed, measured.
                r.both = [
                    t
                    for t, s in self.monitor.between(r.t_cut, r.t_cut + LEASE_TTL + 1.0)
                    if sum(1 for v in s.values() if v == 1) >= 2
                ]
        reported = 0
        for t, s in self.monitor.between(self.t0):
            if sum(1 for v in s.values() if v == 1) < 2:
                continue
            if any(lo <= t <= hi for lo, hi in allowed):
                continue
            reported += 1
            if reported == 1:
                self.problem_times.append(t)
            if reported <= 5:
                self.problems[LEADERSHIP].append(f"two leaders at {self.rel(t)} ({utc(t)} UTC): {s}")
        if reported > 5:
            self.problems[LEADERSHIP].append(f"... two leaders in {reported} samples in all")

    # --- mail

    def account(self):
        """Gives each notice to its round by Message-ID; anything else fails."""
        mails = self.sink.mails()
        round_of = {}  # Message-ID -> round
        for m in mails:
            if m["rcpt"] != RECEIVER:
                self.problems[MAIL].append(f"mail to {m['rcpt']!r}: {m['subject']}")
            if m["kind"] is None:
                self.problems[MAIL].append(f"unexpected mail at {self.rel(m['at'])}: {m['subject']!r} ({m['id']})")
                continue
            if m["id"] in round_of:
                r = round_of[m["id"]]
                r.duplicates.append((m["id"], m["at"]))
                continue
            # The latest round of that kind whose flip came before the mail.
            rs = [r for r in self.rounds if r.kind == m["kind"] and r.t_flip is not None and r.t_flip - 1.0 <= m["at"]]
            if not rs:
                self.problems[MAIL].append(
                    f"mail the data does not justify at {self.rel(m['at'])}: {m['subject']!r} ({m['id']})"
                )
                continue
            r = rs[-1]
            round_of[m["id"]] = r
            r.ids.append(m["id"])
            if r.first_at is None:
                r.first_at = m["at"]
            else:
                r.problems.append(
                    f"a second Message-ID for its {r.kind} notice at {self.rel(m['at'])}: {m['id']} "
                    f"(first {r.ids[0]}): the notice was decided twice"
                )
        for r in self.rounds:
            if r.t_flip is None:
                continue
            if r.first_at is None:
                r.problems.append(f"no {r.kind} notice")
            elif r.first_at - r.t_flip > self.args.notice_within:
                r.problems.append(
                    f"its {r.kind} notice came {r.first_at - r.t_flip:.1f} s after the flip "
                    f"(limit {self.args.notice_within:.0f} s)"
                )

    # --- the whole

    def run(self):
        self.setup()
        for n in range(1, self.args.rounds + 1):
            r = Round(n, AT_RISK if n % 2 else RESOLVED)
            self.rounds.append(r)
            r.t_start = time.time()
            try:
                self.run_round(r)
            except Failure as e:
                r.problems.append(str(e))
                r.t_end = time.time()
                self.print_round(r)
                break
            r.t_end = time.time()
            self.print_round(r)
        # Late mail: a duplicate is sent by whoever leads next, at once.
        time.sleep(self.args.settle)
        self.monitor.stopping.set()
        self.monitor.join(5)
        self.check_leadership()
        self.account()
        self.check_outbox()
        return self.summary()

    def check_outbox(self):
        """The outbox the leaders recorded against what the sink received: no
        row may still wait; a mail received without its row (the leader that
        sent it lost the lease before it could write it) is printed."""
        rows = {}
        for line in self.backend.run("SELECT id, state FROM handoff_outbox", self.db).splitlines():
            parts = line.replace("|", "\t").split("\t")
            if len(parts) == 2:
                rows[parts[0].strip("<>")] = parts[1]
        states = {}
        for st in rows.values():
            states[st] = states.get(st, 0) + 1
        self.outbox = ", ".join(f"{n} {st}" for st, n in sorted(states.items())) or "empty"
        for mid, st in sorted(rows.items()):
            if st != "sent":
                self.problems[MAIL].append(f"outbox row {mid} is {st} at the end")
        received = {m["id"].strip("<>") for m in self.sink.mails()}
        self.unrecorded = sorted(received - set(rows))

    def print_round(self, r):
        what = "kill" if self.args.scenario == "kill" else "cut"
        if r.t_cut is None:
            log(f"round {r.n:2}: leader {r.leader or '-'}; " + "; ".join(r.problems))
            return
        fo = f"{r.failover:5.1f}s" if r.failover is not None else "    -"
        log(
            f"round {r.n:2}: leader {r.leader or '-'} -> {r.new_leader or '-'}; flip {self.rel(r.t_flip)} "
            f"({r.offset or 0:.1f}s before the run), {what} {r.delay or 0:.1f}s later at {utc(r.t_cut or 0)} UTC; "
            f"failover {fo}"
            + (f"; restarted, answering {r.back:.1f}s after the kill" if r.back is not None else "")
            + (f"; healed at {self.rel(r.t_heal)}" if r.t_heal else "")
            + (f"; {r.kind} at the sink {r.seen_after:.1f}s after the flip" if r.seen_after is not None else f"; no {r.kind} yet")
            + ("; " + "; ".join(r.problems) if r.problems else "")
        )

    def summary(self):
        log("")
        log(f"ha: {self.args.backend} {self.args.scenario}, seed {self.args.seed}")
        what = "kill" if self.args.scenario == "kill" else "cut"
        log(
            f"{'round':>5}  {'leader':>6}  {'flip':>8}  {what:>8}  {'failover':>8}  {'claimed':>7}  {'both':>5}  "
            f"{'notice':>8}  {'after':>6}  {'dups':>4}  Message-ID"
        )
        failed = 0
        for r in self.rounds:
            log(
                f"{r.n:>5}  {(r.leader or '-') + '>' + (r.new_leader or '-'):>6}  {self.rel(r.t_flip):>8}  "
                f"{self.rel(r.t_cut):>8}  {('%.1fs' % r.failover) if r.failover is not None else '-':>8}  "
                f"{('%.1fs' % r.claimed) if r.claimed is not None else '-':>7}  "
                f"{('%.1fs' % (r.both[-1] - r.both[0] + POLL)) if r.both else '-':>5}  {r.kind:>8}  "
                f"{('%.1fs' % (r.first_at - r.t_flip)) if r.first_at else '-':>6}  {len(r.duplicates):>4}  "
                f"{', '.join(r.ids) or '-'}"
            )
            for mid, at in r.duplicates:
                log(f"       duplicate of round {r.n}'s notice at {self.rel(at)}: {mid} (same Message-ID: the documented window)")
            for p in r.problems:
                log(f"       FAIL round {r.n}: {p}")
            failed += bool(r.problems)
        for check, problems in self.problems.items():
            for p in problems:
                log(f"       FAIL ({check}): {p}")
        fos = [r.failover for r in self.rounds if r.failover is not None]
        notices = sum(len(r.ids) for r in self.rounds)
        dups = sum(len(r.duplicates) for r in self.rounds)
        if fos:
            log(
                f"failover: max {max(fos):.1f}s, median {statistics.median(fos):.1f}s over {len(fos)} rounds "
                f"(limit {FAILOVER_LIMIT:.0f}s)"
            )
        claimed = [r.claimed for r in self.rounds if r.claimed is not None]
        if claimed:
            log(f"old leader claimed leadership after the cut: at most {max(claimed):.1f}s (its lease: {LEASE_TTL:.0f}s)")
            both = [r for r in self.rounds if r.both]
            log(
                f"both daemons claimed leadership at once (allowed while the old lease runs out): in {len(both)} of "
                f"{len(claimed)} rounds" + (
                    ", " + ", ".join(f"round {r.n} from {r.both[0] - r.t_cut:.1f}s after the cut, "
                                     f"{len(r.both)} sample(s)" for r in both) if both else "")
            )
        log(
            f"notices: {notices} Message-IDs for {sum(1 for r in self.rounds if r.t_flip)} flips, {dups} duplicates (same Message-ID), "
            f"{len(self.sink.mails())} mails received"
        )
        if hasattr(self, "outbox"):
            log(f"outbox in the database: {self.outbox}" + (
                f"; received but not recorded: {', '.join(self.unrecorded)}" if self.unrecorded else ""))
        for check, problems in self.problems.items():
            log(f"{check}: {'FAIL' if problems else 'ok'}")
        # Each round is a check, and so is each scenario-wide one; rounds not run failed.
        missing = self.args.rounds - len(self.rounds)
        failed += missing + sum(1 for p in self.problems.values() if p)
        passed = self.args.rounds + len(self.problems) - failed
        log(f"checks: {passed} passed, {failed} failed")
        return failed == 0

    def print_logs(self):
        """What the daemons logged around each failure: a failed round from its
        start to its end, or, when no round failed, the end of each log."""
        failed = [r for r in self.rounds if r.problems]
        for r in failed:
            end = r.t_end or time.time()
            for d in self.daemons:
                lines = d.between(r.t_start, end)
                log(f"--- daemon {d.name}'s log during round {r.n} ({utc(r.t_start)} to {utc(end)} UTC, {d.log_path})")
                if len(lines) > self.args.log_lines:
                    log(f"({len(lines) - self.args.log_lines} earlier lines left out)")
                log("\n".join(lines[-self.args.log_lines:]))
        for t in self.problem_times:
            for d in self.daemons:
                log(f"--- daemon {d.name}'s log from 20 s before to 5 s after {utc(t)} UTC ({d.log_path})")
                log("\n".join(d.between(t - 20.0, t + 5.0)[-self.args.log_lines:]))
        if not failed and not self.problem_times:
            for d in self.daemons:
                log(f"--- the end of daemon {d.name}'s log ({d.log_path})")
                log(d.tail(self.args.log_lines))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--handoff", default="target/release/handoff", help="the handoff binary (a release build)")
    ap.add_argument("--backend", choices=["postgres", "mysql"], required=True)
    ap.add_argument("--url", help="the server (default postgres://postgres@127.0.0.1:5432/test or mysql://root@127.0.0.1:3306/test)")
    ap.add_argument("--scenario", choices=["kill", "partition"], required=True)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--seed", type=int, default=None, help="for the random waits (default: a random seed, printed)")
    ap.add_argument("--database", help="the scenario's database (default ha_pg_kill, ha_my_partition, ...)")
    ap.add_argument("--work", help="directory for the rules, the daemons' logs and the received mail (default: a new one in /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the database and the work directory")
    ap.add_argument("--daemons", type=int, choices=[1, 2], default=2, help="1: check the harness on a build without leader election")
    ap.add_argument("--notice-within", type=float, default=60.0, help="seconds from a flip to its notice at the sink")
    ap.add_argument("--settle", type=float, default=15.0, help="seconds to wait for late mail after the last round")
    ap.add_argument("--python", default=os.environ.get("HANDOFF_TEST_PYTHON", "/usr/bin/python3"), help="a python3 with aiosmtpd, for the sink")
    ap.add_argument("--log-lines", type=int, default=80, help="lines of each daemon's log printed on failure")
    args = ap.parse_args()
    if args.url is None:
        args.url = (
            os.environ.get("HANDOFF_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
            if args.backend == "postgres"
            else os.environ.get("HANDOFF_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
        )
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1 << 31)
    args.handoff = os.path.abspath(args.handoff)
    if not os.access(args.handoff, os.X_OK):
        sys.exit(f"error: {args.handoff} is not an executable handoff binary")
    help_text = subprocess.run([args.handoff, "run", "--help"], capture_output=True, text=True).stdout
    args.instance_flag = "--instance" in help_text

    # SIGTERM unwinds like Ctrl-C, so that the children are killed and the database dropped.
    def stop(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    s = Scenario(args)
    ok = False
    try:
        ok = s.run()
    except KeyboardInterrupt:
        log("ha: interrupted")
    except Failure as e:
        log(f"ha: FAIL: {e}")
    except Exception:
        traceback.print_exc()
    finally:
        if not ok:
            s.print_logs()
        s.cleanup()
        if ok and not args.keep:
            shutil.rmtree(s.work, ignore_errors=True)
        elif not ok:
            log(f"ha: the daemons' logs and the mail received are in {s.work}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
