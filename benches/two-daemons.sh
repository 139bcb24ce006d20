#!/bin/bash
# Run from the repository: HANDOFF=target/release/handoff REPLICA=postgres://postgres@127.0.0.1:5433/hload benches/two-daemons.sh
# Database load of one daemon against two on one PostgreSQL database:
# pg_stat_database counters over a fixed window, every objective every minute.
set -e
H=${HANDOFF:-target/release/handoff}
DB=postgres://postgres@127.0.0.1:5432/hload
mkdir -p /tmp/load && rm -rf /tmp/load/rules && cp -r rules /tmp/load/rules && rm -rf /tmp/load/rules/tests
sed -i -E 's/schedule: "[^"]*"/schedule: "0 * * * * *"/' /tmp/load/rules/*.yaml
psql -qh 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS hload" -c "CREATE DATABASE hload"
$H --rules /tmp/load/rules --database $DB demo --build-only --leads 100000 >/dev/null 2>&1
snap() { psql -qAtX -h 127.0.0.1 -U postgres -d test -c "SELECT xact_commit+xact_rollback, blks_hit+blks_read, tup_returned+tup_fetched FROM pg_stat_database WHERE datname='hload'"; }
measure() { # n
  psql -qh 127.0.0.1 -U postgres -d hload -c "DELETE FROM handoff_lease" 
  pids=()
  for i in $(seq 1 $1); do $H --rules /tmp/load/rules --database $DB run --listen 127.0.0.1:$((9700+i)) --instance d$i --outbox-dir /tmp/load/out$1-$i >/tmp/load/d$1-$i.log 2>&1 & pids+=($!); done
  sleep 20; a=$(snap); sleep 180; b=$(snap)
  kill ${pids[@]}; wait ${pids[@]} 2>/dev/null || true
  echo "$1 daemon(s), 180 s: start $a end $b"
  python3 -c "a='$a'.split('|');b='$b'.split('|');print('  transactions %d, pages %d, tuples %d' % tuple(int(y)-int(x) for x,y in zip(a,b)))"
}
measure 1
measure 2
# The follower's lead queries on a streaming replica (.ci/replica-setup makes
# one on port 5433): the primary's load is one daemon's again.
if [ -n "$REPLICA" ]; then
  psql -qh 127.0.0.1 -U postgres -d hload -c "DELETE FROM handoff_lease"
  $H --rules /tmp/load/rules --database $DB run --listen 127.0.0.1:9711 --instance p1 --outbox-dir /tmp/load/outr-1 >/tmp/load/r1.log 2>&1 & p1=$!
  sleep 3
  $H --rules /tmp/load/rules --database $DB --read-database "$REPLICA" run --listen 127.0.0.1:9712 --instance p2 --outbox-dir /tmp/load/outr-2 >/tmp/load/r2.log 2>&1 & p2=$!
  sleep 20; a=$(snap); sleep 180; b=$(snap)
  kill $p1 $p2; wait $p1 $p2 2>/dev/null || true
  echo "2 daemons, the follower reading $REPLICA, 180 s: start $a end $b"
  python3 -c "a='$a'.split('|');b='$b'.split('|');print('  transactions %d, pages %d, tuples %d' % tuple(int(y)-int(x) for x,y in zip(a,b)))"
fi
