#!/usr/bin/env bash
# docs/DEPLOY.md, checked as an SRE would follow it:
#   1. the systemd unit passes `systemd-analyze verify`, and its exposure score
#      (`systemd-analyze security`) stays low;
#   2. the Prometheus config with handoff's rule file passes `promtool check config`;
#   3. from an empty directory: `handoff init`, then on a fresh PostgreSQL
#      database the two roles of docs/deploy/postgres-roles.sql, `handoff
#      migrate` and the demo's data as handoff_admin, the grants, and `handoff
#      run` as the least-privilege role `handoff` with its URL (and password)
#      read from a file and JSON logs: it must evaluate every objective, log
#      only JSON lines, and never show the password; then the same on MariaDB
#      with docs/deploy/mariadb-users.sql and mariadb-grants.sql.
# Needs: the release binary (target/release/handoff), systemd-analyze, promtool,
# psql, the mariadb client, curl, python3, PostgreSQL at $PG_URL as a superuser
# and MariaDB on 127.0.0.1:3306 as root without a password.
set -euo pipefail
export PGOPTIONS='-c client_min_messages=warning'
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=$repo/target/release/handoff
PG_URL=${HANDOFF_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
mysql_client=$(command -v mariadb || command -v mysql)
work=$(mktemp -d)
daemon=
db=handoff_deploy_$$
my() { "$mysql_client" --host=127.0.0.1 --port=3306 --user=root "$@"; }
cleanup() {
    [[ -z $daemon ]] || kill -KILL "$daemon" 2>/dev/null || true
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    psql "$PG_URL" -qc "DROP ROLE IF EXISTS handoff" -c "DROP ROLE IF EXISTS handoff_admin" >/dev/null 2>&1 || true
    my -e "DROP DATABASE IF EXISTS $db; DROP USER IF EXISTS 'handoff'@'%', 'handoff_admin'@'%'" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() {
    echo "error: $*" >&2
    [[ ! -f $work/run.log ]] || { echo "--- the end of the daemon's log" >&2; tail -n 30 "$work/run.log" >&2; }
    exit 1
}

echo "--- systemd-analyze verify docs/deploy/handoff.service"
# The unit names /usr/local/bin/handoff; verify wants the binary to exist.
sed "s#/usr/local/bin/handoff#$bin#g" "$repo/docs/deploy/handoff.service" >"$work/handoff.service"
out=$(cd "$work" && systemd-analyze verify "$work/handoff.service" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify had something to say: $out"
score=$(systemd-analyze security --offline=yes "$work/handoff.service" 2>&1 | sed -n 's/.*Overall exposure level for handoff.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || fail "systemd-analyze security gave no score"
echo "verified; exposure level $score (0 is the most locked down, 10 the least)"
python3 -c "import sys; sys.exit(0 if float('$score') <= 2.0 else 1)" ||
    fail "the unit's exposure level $score is above 2.0: a hardening line was lost"

echo "--- promtool check config docs/deploy/prometheus.yml"
mkdir "$work/prom"
cp "$repo/docs/deploy/prometheus.yml" "$repo/grafana/prometheus/handoff.rules.yml" "$work/prom/"
promtool check config "$work/prom/prometheus.yml"

echo "--- handoff init in an empty directory"
mkdir "$work/site"
cd "$work/site"
while read -r var; do unset "$var"; done < <(compgen -e HANDOFF_)
"$bin" init >init.out
grep -q '^  handoff check ' init.out || fail "init printed no next steps: $(cat init.out)"
"$bin" check

# run_as_daemon_role ADMIN_URL DAEMON_URL: handoff run with DAEMON_URL (its
# password included) read from a file and JSON logs, until every objective has
# been evaluated without a failure; then SIGTERM, and checks of its output.
run_as_daemon_role() {
    local admin=$1 url=$2 port objectives secret deadline
    secret=${url#*://*:}
    secret=${secret%%@*}
    printf '%s\n' "$url" >database-url
    chmod 600 database-url
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    HANDOFF_DATABASE_FILE=database-url HANDOFF_LOG_FORMAT=json HANDOFF_LISTEN=127.0.0.1:$port \
        "$bin" run >"$work/run.out" 2>"$work/run.log" &
    daemon=$!
    objectives=$("$bin" eval --database "$admin" --format json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["objectives"]))')
    deadline=$((SECONDS + 60))
    # Every objective evaluated at least once, and no evaluation failed.
    until curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" 2>/dev/null | python3 -c '
import sys
want = int(sys.argv[1])
seen, failed = set(), []
for l in sys.stdin:
    if l.startswith("handoff_evaluations_total{") and not l.rstrip().endswith(" 0"):
        seen.add(l.split("objective=\"")[1].split("\"")[0])
    if l.startswith("handoff_evaluation_failures_total{") and not l.rstrip().endswith(" 0"):
        failed.append(l.strip())
if failed:
    sys.exit("evaluations failed: " + "; ".join(failed))
sys.exit(0 if len(seen) >= want else 1)' "$objectives"; do
        kill -0 "$daemon" 2>/dev/null || fail "handoff run stopped"
        ((SECONDS < deadline)) || fail "handoff run did not evaluate all $objectives objectives without failure within 60 s"
        sleep 1
    done
    echo "handoff run as the daemon's role evaluated all $objectives objectives"
    kill -TERM "$daemon"
    wait "$daemon" || fail "handoff run exited with $? on SIGTERM"
    daemon=
    python3 -c '
import json, sys
n = 0
for i, line in enumerate(open(sys.argv[1]), 1):
    record = json.loads(line)
    assert {"timestamp", "level", "message", "target"} <= record.keys(), f"line {i}: {line}"
    n += 1
assert n > 0, "no log lines"
print(f"{n} log lines, each one JSON")' "$work/run.log" || fail "the daemon's log is not JSON lines"
    if grep -qF "$secret" "$work/run.log" "$work/run.out"; then
        fail "the database password appears in the daemon's output"
    fi
    echo "the password read from the file appears nowhere in the output"
}

echo "--- PostgreSQL: postgres-roles.sql, migrate and load as handoff_admin, postgres-grants.sql, run as handoff"
psql "$PG_URL" -qc "DROP ROLE IF EXISTS handoff" -c "DROP ROLE IF EXISTS handoff_admin" -c "CREATE DATABASE $db"
base=${PG_URL%/*}
hostpart=${base#postgres://}
hostpart=${hostpart#*@}
psql "$base/$db" -q -v ON_ERROR_STOP=1 -v admin_password=admin-secret -v password=pa55-deploy-secret \
    -f "$repo/docs/deploy/postgres-roles.sql"
admin="postgres://handoff_admin:admin-secret@$hostpart/$db"
"$bin" --database "$admin" migrate
"$bin" --database "$admin" demo --build-only --leads 2000 >/dev/null
psql "$admin" -q -v ON_ERROR_STOP=1 -f "$repo/docs/deploy/postgres-grants.sql"
if psql "postgres://handoff:pa55-deploy-secret@$hostpart/$db" -qc "DELETE FROM leads" 2>/dev/null; then
    fail "the daemon's role may delete leads"
fi
run_as_daemon_role "$admin" "postgres://handoff:pa55-deploy-secret@$hostpart/$db"

echo "--- MariaDB: mariadb-users.sql, migrate and load as handoff_admin, mariadb-grants.sql, run as handoff"
my -e "DROP USER IF EXISTS 'handoff'@'%', 'handoff_admin'@'%'; CREATE DATABASE $db"
{
    echo "SET @admin_password='admin-secret', @password='pa55-deploy-secret';"
    cat "$repo/docs/deploy/mariadb-users.sql"
} | my "$db"
admin="mysql://handoff_admin:admin-secret@127.0.0.1:3306/$db"
"$bin" --database "$admin" migrate
"$bin" --database "$admin" demo --build-only --leads 2000 >/dev/null
my "$db" <"$repo/docs/deploy/mariadb-grants.sql"
if "$mysql_client" --host=127.0.0.1 --user=handoff --password=pa55-deploy-secret "$db" -e "DELETE FROM leads" 2>/dev/null; then
    fail "the daemon's user may delete leads"
fi
run_as_daemon_role "$admin" "mysql://handoff:pa55-deploy-secret@127.0.0.1:3306/$db"
