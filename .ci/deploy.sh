#!/usr/bin/env bash
# docs/DEPLOY.md, checked as an SRE would follow it:
#   0. the release binary carries no debug info (docs/DEPLOY.md, "The binary");
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
mysql_client=$(command -v mariadb || command -v mysql) || { echo "error: no mariadb or mysql client" >&2; exit 1; }
work=$(mktemp -d)
daemon=
db=handoff_deploy_$$
my() { "$mysql_client" --host=127.0.0.1 --port=3306 --user=root "$@"; }
cleanup() {
    [[ -z $daemon ]] || kill -KILL "$daemon" 2>/dev/null || true
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
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

echo "--- the binary's size"
# docs/DEPLOY.md: symbols but no debug info (with line tables it was 125 MB).
size=$(stat -c %s "$bin")
echo "target/release/handoff: $((size / 1000000)) MB"
((size < 48000000)) || fail "the release binary is $((size / 1000000)) MB: has debug info come back (Cargo.toml, [profile.release])?"

echo "--- systemd-analyze verify docs/deploy/handoff.service"
# The unit names /usr/local/bin/handoff; verify wants the binary to exist.
sed "s#/usr/local/bin/handoff#$bin#g" "$repo/docs/deploy/handoff.service" >"$work/handoff.service"
out=$(cd "$work" && systemd-analyze verify "$work/handoff.service" 2>&1) || fail "systemd-analyze verify: $out"
# Only what it says of this unit counts: other units on the machine are not ours.
if grep -F handoff.service <<<"$out"; then fail "systemd-analyze verify has something to say of the unit"; fi
security=$(systemd-analyze security --offline=yes "$work/handoff.service" 2>&1) || fail "systemd-analyze security: $security"
score=$(sed -n 's/.*Overall exposure level for handoff.service: \([0-9.]*\).*/\1/p' <<<"$security")
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
    objectives=$("$bin" eval --database "$admin" --format json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["objectives"]))') ||
        fail "handoff eval as handoff_admin failed"
    deadline=$((SECONDS + 60))
    # Every objective evaluated at least once, none failed, and the record
    # written: no write failure, nothing waiting in memory. Exit 2: give up.
    local status
    while :; do
        status=0
        curl -fsS --max-time 5 "http://127.0.0.1:$port/metrics" 2>/dev/null >"$work/metrics" || status=1
        ((status == 0)) && { python3 -c '
import sys
want = int(sys.argv[1])
seen, bad, waiting = set(), [], None
for l in open(sys.argv[2]):
    name, _, value = l.strip().rpartition(" ")
    if l.startswith("handoff_evaluations_total{") and float(value) > 0:
        seen.add(l.split("objective=\"")[1].split("\"")[0])
    if (l.startswith("handoff_evaluation_failures_total{") or l.startswith("handoff_history_write_failures_total")) and float(value) > 0:
        bad.append(l.strip())
    if l.startswith("handoff_history_unwritten_rows "):
        waiting = float(value)
if bad:
    print("failed: " + "; ".join(bad), file=sys.stderr)
    sys.exit(2)
sys.exit(0 if len(seen) >= want and waiting == 0 else 1)' "$objectives" "$work/metrics" || status=$?; }
        ((status == 0)) && break
        ((status == 2)) && fail "the daemon reports failures under its role (above)"
        kill -0 "$daemon" 2>/dev/null || fail "handoff run stopped"
        ((SECONDS < deadline)) || fail "handoff run did not evaluate and record all $objectives objectives within 60 s"
        sleep 1
    done
    echo "handoff run as the daemon's role evaluated all $objectives objectives and wrote its record"
    if [[ $url == *sslmode=require* ]]; then
        local tls
        tls=$(psql "$PG_URL" -Atc "SELECT COUNT(*), COUNT(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.usename = 'handoff'")
        [[ $tls =~ ^([1-9][0-9]*)\|([0-9]+)$ && ${BASH_REMATCH[1]} == "${BASH_REMATCH[2]}" ]] ||
            fail "the daemon's connections are not all encrypted (connections|encrypted: $tls)"
        echo "all ${BASH_REMATCH[1]} of the daemon's connections are encrypted (TLS)"
    fi
    # The password is nowhere a person or Prometheus looks.
    local page
    for page in / /metrics /-/ready /api/v1/objectives /api/v1/alerts; do
        if curl -fsS --max-time 5 "http://127.0.0.1:$port$page" | grep -qF "$secret"; then
            fail "the database password appears in $page"
        fi
    done
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
    echo "the password read from the file appears in neither the log, the page, /metrics nor the API"
}

# wrote_more "RESULTS ALERTS" "RESULTS ALERTS": the daemon added results and alert series.
wrote_more() {
    local b=($1) a=($2)
    echo "the daemon wrote $((a[0] - b[0])) results and $((a[1] - b[1])) alert series under its role"
    ((a[0] > b[0] && a[1] > b[1])) || fail "the daemon's record did not grow under its role: before $1, after $2"
}

# refused SQL CLIENT...: the statement CLIENT runs must be refused for want of
# a privilege (not for a failed login or a missing table).
refused() {
    local sql=$1 said
    shift
    if said=$("$@" 2>&1 <<<"$sql"); then fail "the daemon's role may: $sql"; fi
    grep -Eq 'permission denied|ERROR 1142|command denied' <<<"$said" || fail "'$sql' failed, but not for want of a privilege: $said"
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
refused "DELETE FROM leads" psql -v ON_ERROR_STOP=1 "postgres://handoff:pa55-deploy-secret@$hostpart/$db"
refused "CREATE TABLE x (a int)" psql -v ON_ERROR_STOP=1 "postgres://handoff:pa55-deploy-secret@$hostpart/$db"
# The demo's history is written by handoff_admin; what the daemon adds is its own.
record="SELECT (SELECT COUNT(*) FROM handoff_results) || ' ' || (SELECT COUNT(*) FROM handoff_alerts)"
before=$(psql "$admin" -Atc "$record")
# Encrypted: sslmode=require, and every connection of the role checked while it runs.
run_as_daemon_role "$admin" "postgres://handoff:pa55-deploy-secret@$hostpart/$db?sslmode=require"
wrote_more "$before" "$(psql "$admin" -Atc "$record")"

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
refused "DELETE FROM leads" "$mysql_client" --host=127.0.0.1 --user=handoff --password=pa55-deploy-secret "$db"
refused "CREATE TABLE x (a int)" "$mysql_client" --host=127.0.0.1 --user=handoff --password=pa55-deploy-secret "$db"
record="SELECT CONCAT((SELECT COUNT(*) FROM handoff_results), ' ', (SELECT COUNT(*) FROM handoff_alerts))"
before=$(my -N "$db" -e "$record")
run_as_daemon_role "$admin" "mysql://handoff:pa55-deploy-secret@127.0.0.1:3306/$db"
wrote_more "$before" "$(my -N "$db" -e "$record")"
