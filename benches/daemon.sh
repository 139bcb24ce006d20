#!/usr/bin/env bash
# The daemon's cost on a SQLite database: memory and CPU of a full round of the
# rules, of a simulated day of schedules, and /metrics under load. See
# docs/BENCHMARKS.md, "The daemon".
#
#   benches/daemon.sh DB_FILE [RULES_DIR]
#
# DB_FILE is a SQLite file holding lead data (e.g. `handoff demo --build-only
# --leads 1000000 --months 12 --database sqlite://FILE`); it is copied first,
# since the daemon writes its own tables into the file. RULES_DIR defaults to
# the shipped rules/.
#
#   a. One round: `handoff run` under /usr/bin/time -v; it evaluates every
#      objective once on start. When /metrics counts an evaluation of each, the
#      process's CPU seconds (/proc/PID/stat) and VmHWM (/proc/PID/status).
#   b. A simulated day: the same rules with every `schedule:` set to every
#      minute, for MINUTES minutes. VmHWM, VmRSS, CPU in all and per round,
#      skipped runs and failures from /metrics; memory sampled every 10 s.
#   c. During (b), each aligned with the minute's runs (the minute plus 1 s;
#      jitter delays a run by at most 6 s): `oha -z LOAD_SECONDS` on /metrics
#      at 1, 50 and 200 connections, and on / at 50. CPU per round of (b) is
#      also given for the minutes after the load, without it.
#
# Environment: HANDOFF (binary, default target/release/handoff), OHA (default
# oha), MINUTES (20), LOAD_SECONDS (20), PORT (19477), WORK (scratch
# directory, default a new one under /tmp; the copy of DB_FILE goes there).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DB_FILE=${1:?usage: benches/daemon.sh DB_FILE [RULES_DIR]}
RULES=$(cd "${2:-$ROOT/rules}" && pwd)
HANDOFF=${HANDOFF:-$ROOT/target/release/handoff}
OHA=${OHA:-oha}
MINUTES=${MINUTES:-20}
LOAD_SECONDS=${LOAD_SECONDS:-20}
PORT=${PORT:-19477}
WORK=${WORK:-$(mktemp -d /tmp/handoff-daemon.XXXXXX)}
BASE=http://127.0.0.1:$PORT
TICK=$(getconf CLK_TCK)

for tool in "$HANDOFF" "$OHA" curl jq awk /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done
[[ -f $DB_FILE ]] || { echo "no such file: $DB_FILE" >&2; exit 2; }
mkdir -p "$WORK"
DB=$WORK/daemon.db

TIME_PID=""   # /usr/bin/time
PID=""        # handoff run, its child
SAMPLER=""
LOADER=""

stop_daemon() {
    # SIGTERM to handoff (it lets running evaluations finish), bounded wait.
    if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        for _ in $(seq 1 600); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$PID" 2>/dev/null && kill -KILL "$PID" 2>/dev/null || true
    fi
    [[ -n $TIME_PID ]] && wait "$TIME_PID" 2>/dev/null || true
    PID="" TIME_PID=""
}

cleanup() {
    [[ -n $SAMPLER ]] && kill "$SAMPLER" 2>/dev/null || true
    [[ -n $LOADER ]] && kill "$LOADER" 2>/dev/null || true
    stop_daemon
}
trap cleanup EXIT
trap 'exit 130' INT TERM

load() { uptime | sed 's/.*load average: //'; }
cpu() { sed 's/^.*) //' "/proc/$PID/stat" | awk -v t="$TICK" '{ printf "%.2f", ($12 + $13) / t }'; }
kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$PID/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
scrape() { curl -sf --max-time 10 "$BASE/metrics"; }
# Sum of the samples of one metric name (all label sets).
metric_sum() { scrape | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $NF } END { printf "%g", s + 0 }'; }
# Objectives with at least one evaluation counted.
evaluated() { scrape | awk '$1 ~ /^handoff_evaluations_total\{/ && $NF >= 1 { n++ } END { print n + 0 }'; }

start_daemon() { # NAME RULES_DIR
    "$HANDOFF" check "$2" >/dev/null
    /usr/bin/time -v -o "$WORK/$1.time" "$HANDOFF" run --database "sqlite://$DB" \
        --rules "$2" --listen "127.0.0.1:$PORT" >"$WORK/$1.log" 2>&1 &
    TIME_PID=$!
    for _ in $(seq 1 100); do
        PID=$(pgrep -P "$TIME_PID" || true)
        [[ -n $PID ]] && break
        sleep 0.1
    done
    [[ -n $PID ]] || { echo "handoff run did not start; see $WORK/$1.log" >&2; exit 1; }
    for _ in $(seq 1 300); do
        curl -sf --max-time 2 "$BASE/-/healthy" >/dev/null && return 0
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "handoff run is not serving on $BASE; see $WORK/$1.log" >&2
    exit 1
}

wait_round() { # objectives, seconds
    local deadline=$((SECONDS + $2))
    while (( SECONDS < deadline )); do
        [[ $(evaluated) -ge $1 ]] && return 0
        sleep 0.5
    done
    echo "not every objective was evaluated within $2 s" >&2
    exit 1
}

# A sleep that a signal interrupts at once (bash runs traps only between
# foreground commands, but during `wait`).
nap() { sleep "$1" & wait $!; }

# Sleep until second $1 of the wall-clock minute (the next one if already past).
until_second() {
    local now; now=$(date +%s.%N)
    nap "$(awk -v n="$now" -v s="$1" 'BEGIN { w = (int(n / 60) * 60 + s) - n; if (w <= 0.05) w += 60; printf "%.3f", w }')"
}

echo "copying $DB_FILE to $DB" >&2
cp "$DB_FILE" "$DB"
rm -f "$DB-wal" "$DB-shm"
N=$(awk '/^ *- name:/ { n++ } END { print n + 0 }' "$RULES"/*.yaml)
echo "$N objectives in $RULES; work in $WORK" >&2

# ---------------------------------------------------------------- a. one round
echo "a. one round" >&2
T0=$SECONDS
start_daemon round "$RULES"
wait_round "$N" 900
A_WALL=$((SECONDS - T0))
A_CPU=$(cpu); A_HWM=$(kib VmHWM); A_RSS=$(kib VmRSS); A_LOAD=$(load)
A_EVAL=$(metric_sum handoff_evaluation_duration_seconds_sum)
A_FAIL=$(metric_sum handoff_evaluation_failures_total)
scrape >"$WORK/metrics.txt"
BODY_BYTES=$(wc -c <"$WORK/metrics.txt")
BODY_SAMPLES=$(grep -vc '^#' "$WORK/metrics.txt")
stop_daemon
A_TIME_RSS=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/round.time")

# ---------------------------------------------------------------- b. a day
echo "b. every objective every minute, $MINUTES minutes" >&2
DAY=$WORK/rules-every-minute
rm -rf "$DAY"; cp -r "$RULES" "$DAY"
sed -i -E 's/^([[:space:]]*schedule:[[:space:]]*)("[^"]*"|[^#[:space:]]+)/\1"* * * * *"/' "$DAY"/*.yaml
[[ $(grep -hc '^[[:space:]]*schedule: "\* \* \* \* \*"' "$DAY"/*.yaml | awk '{ s += $1 } END { print s }') -eq $N ]] \
    || { echo "could not rewrite every schedule in $DAY" >&2; exit 1; }
B_START=$SECONDS
start_daemon day "$DAY"
wait_round "$N" 900
{
    echo "seconds cpu_s vmrss_kib vmhwm_kib evaluations"
    while kill -0 "$PID" 2>/dev/null; do
        echo "$((SECONDS - B_START)) $(cpu) $(kib VmRSS) $(kib VmHWM) $(metric_sum handoff_evaluations_total)"
        sleep 10
    done
} >"$WORK/samples.txt" 2>/dev/null &
SAMPLER=$!
PRE_HWM=$(kib VmHWM); PRE_RSS=$(kib VmRSS)

# c. load, each run starting with a minute's runs.
RESULTS=()
for spec in "/metrics 1" "/metrics 50" "/metrics 200" "/ 50"; do
    read -r path conns <<<"$spec"
    until_second 1
    before=$(metric_sum handoff_evaluations_total); l=$(load)
    "$OHA" -z "${LOAD_SECONDS}s" -c "$conns" --no-tui --output-format json "$BASE$path" \
        >"$WORK/oha-$conns${path//\//-}.json" &
    LOADER=$!
    wait "$LOADER"; LOADER=""
    after=$(metric_sum handoff_evaluations_total)
    RESULTS+=("$(jq -r --arg p "$path" --arg c "$conns" --arg e "$((after - before))" --arg l "$l" '
        [$p, $c, (.summary.requestsPerSec | floor),
         ((.latencyPercentiles.p50 // 0) * 1000 | . * 100 | round / 100),
         ((.latencyPercentiles.p99 // 0) * 1000 | . * 100 | round / 100),
         ((.statusCodeDistribution // {}) | to_entries | map(select(.key != "200") | .value) | add // 0),
         ((.errorDistribution // {}) | to_entries
          | map(select(.key | test("deadline") | not) | .value) | add // 0),
         $e, $l] | @tsv' "$WORK/oha-$conns${path//\//-}.json")")
done

# The quiet rest of the day: from second 58 of a minute (that minute's runs
# done) to second 58 of the last one.
until_second 58
Q_CPU0=$(cpu); Q_EV0=$(metric_sum handoff_evaluations_total)
POST_HWM=$(kib VmHWM); POST_RSS=$(kib VmRSS)
REMAIN=$((B_START + MINUTES * 60 - SECONDS))
if (( REMAIN > 60 )); then nap $((REMAIN - 60)); fi
until_second 58
Q_CPU1=$(cpu); Q_EV1=$(metric_sum handoff_evaluations_total)
B_WALL=$((SECONDS - B_START))
B_CPU=$(cpu); B_HWM=$(kib VmHWM); B_RSS=$(kib VmRSS); B_LOAD=$(load)
B_EVALS=$(metric_sum handoff_evaluations_total)
B_SKIPPED=$(metric_sum handoff_evaluations_skipped_total)
B_FAIL=$(metric_sum handoff_evaluation_failures_total)
B_EVAL=$(metric_sum handoff_evaluation_duration_seconds_sum)
scrape >"$WORK/metrics-day.txt"
kill "$SAMPLER" 2>/dev/null || true; SAMPLER=""
stop_daemon
B_TIME_RSS=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$WORK/day.time")
# Log lines at ERROR, and at WARN other than alert transitions.
complaints() { grep -E ' (ERROR|WARN) ' "$1" | grep -Evc ' WARN handoff::daemon::board: Alert ' || true; }
A_ERRORS=$(complaints "$WORK/round.log")
B_ERRORS=$(complaints "$WORK/day.log")

# ---------------------------------------------------------------- report
per_round() { awk -v c="$1" -v e="$2" -v n="$N" 'BEGIN { if (e > 0) printf "%.2f", c / (e / n); else print "-" }'; }
{
    echo "handoff daemon, $(basename "$DB_FILE"), $N objectives, $(date -u +%FT%TZ)"
    echo
    echo "| measurement | value | load average |"
    echo "|---|---|---|"
    echo "| a. one round: wall time to all evaluated (start-up included) | ${A_WALL} s | $A_LOAD |"
    echo "| a. one round: CPU (utime+stime, start-up included) | ${A_CPU} s | |"
    echo "| a. one round: Σ handoff_evaluation_duration_seconds_sum | $(printf %.2f "$A_EVAL") s | |"
    echo "| a. one round: peak RSS (VmHWM; /usr/bin/time at exit) | $(mib "$A_HWM") MiB ($(mib "$A_TIME_RSS") MiB) | |"
    echo "| a. one round: VmRSS after it | $(mib "$A_RSS") MiB | |"
    echo "| a. failures; log lines at ERROR or WARN (alert transitions aside) | $A_FAIL; $A_ERRORS | |"
    echo "| /metrics body | $BODY_BYTES bytes, $BODY_SAMPLES samples | |"
    echo "| b. ${B_WALL} s of every objective every minute: evaluations (rounds) | $B_EVALS ($(awk -v e="$B_EVALS" -v n="$N" 'BEGIN { printf "%.1f", e / n }')) | $B_LOAD |"
    echo "| b. peak RSS (VmHWM; /usr/bin/time at exit) | $(mib "$B_HWM") MiB ($(mib "$B_TIME_RSS") MiB) | |"
    echo "| b. VmHWM / VmRSS after the first round, before the load | $(mib "$PRE_HWM") / $(mib "$PRE_RSS") MiB | |"
    echo "| b. VmHWM / VmRSS after the load of c | $(mib "$POST_HWM") / $(mib "$POST_RSS") MiB | |"
    echo "| b. VmRSS at the end | $(mib "$B_RSS") MiB | |"
    echo "| b. VmRSS each minute, MiB | $(awk 'BEGIN { m = -1 } NR > 1 && int($1 / 60) != m { m = int($1 / 60); printf "%s%.0f", sep, $3 / 1024; sep = " " }' "$WORK/samples.txt") | |"
    echo "| b. CPU in all; per round (load of c included) | ${B_CPU} s; $(per_round "$B_CPU" "$B_EVALS") s | |"
    echo "| b. CPU per round, minutes without load | $(per_round "$(awk -v a="$Q_CPU0" -v b="$Q_CPU1" 'BEGIN { print b - a }')" "$((${Q_EV1%.*} - ${Q_EV0%.*}))") s ($((${Q_EV1%.*} - ${Q_EV0%.*})) evaluations) | |"
    echo "| b. Σ evaluation seconds per round | $(per_round "$B_EVAL" "$B_EVALS") s | |"
    echo "| b. skipped runs; failures; log lines at ERROR or WARN (alert transitions aside) | $B_SKIPPED; $B_FAIL; $B_ERRORS | |"
    echo
    echo "| c. path | connections | requests/s | p50 ms | p99 ms | non-200 | errors | evaluations during | load average |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for r in "${RESULTS[@]}"; do echo "| ${r//$'\t'/ | } |"; done
    echo
    echo "Logs, /usr/bin/time output, oha JSON, memory samples: $WORK"
} | tee "$WORK/report.md"
