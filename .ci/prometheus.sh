# shellcheck shell=bash
# A throwaway Prometheus server scraping handoff, for checks that need a real one.
# Source this file (bash), then:
#
#   prom_start PORT TARGET [JOB]   start Prometheus on 127.0.0.1:PORT with its own
#                                  config and storage in a temporary directory,
#                                  scraping TARGET (host:port) every second as job
#                                  JOB (default handoff); returns once it is ready
#   prom_query EXPR                print the JSON answer of the instant query EXPR
#   prom_wait EXPR SECONDS         wait until EXPR has at least one series
#   prom_label_values EXPR LABEL   print the values LABEL takes in EXPR's series,
#                                  sorted and unique, one a line
#   prom_values EXPR               print each series of EXPR as "{labels} value"
#   prom_log_tail                  print the end of the server's log
#   prom_stop                      stop the server and remove its directory;
#                                  safe to call more than once (e.g. from a trap)
#
# PROM_DIR (the temporary directory), PROM_CONFIG (the config file written there)
# and PROM_URL (http://127.0.0.1:PORT) are set while the server runs. Needs
# /usr/bin/prometheus (Debian package prometheus), curl and python3. The Debian
# service is not used: this server lives and dies with the caller.

PROM_DIR='' PROM_CONFIG='' PROM_URL='' PROM_PID=''

prom_start() { # port, target, [job]
    local port=$1 target=$2 job=${3:-handoff}
    PROM_DIR=$(mktemp -d)
    PROM_CONFIG=$PROM_DIR/prometheus.yml
    PROM_URL=http://127.0.0.1:$port
    cat >"$PROM_CONFIG" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: $job
    static_configs:
      - targets: ['$target']
EOF
    promtool check config "$PROM_CONFIG" >/dev/null || return 1
    prometheus --config.file="$PROM_CONFIG" \
        --storage.tsdb.path="$PROM_DIR/data" \
        --web.listen-address="127.0.0.1:$port" \
        >"$PROM_DIR/prometheus.log" 2>&1 &
    PROM_PID=$!
    local _
    for _ in $(seq 1 60); do
        if curl -fsS --max-time 2 -o /dev/null "$PROM_URL/-/ready" 2>/dev/null; then
            echo "Prometheus is up at $PROM_URL, scraping $target every second"
            return 0
        fi
        kill -0 "$PROM_PID" 2>/dev/null || break
        sleep 0.5
    done
    echo "error: Prometheus did not get ready on $PROM_URL" >&2
    prom_log_tail >&2
    return 1
}

prom_query() { # expr
    curl -fsS --max-time 5 --get --data-urlencode "query=$1" "$PROM_URL/api/v1/query"
}

# Reads a query answer on stdin; fails unless the query succeeded.
_prom_result() { # python expression over `result` (the list of series)
    python3 -c '
import json, sys
answer = json.load(sys.stdin)
if answer.get("status") != "success":
    sys.exit("error: the query failed: %s" % answer.get("error"))
result = answer["data"]["result"]
'"$1"
}

prom_wait() { # expr, seconds
    local expr=$1 deadline=$((SECONDS + $2))
    while ((SECONDS < deadline)); do
        prom_query "$expr" 2>/dev/null | _prom_result 'sys.exit(0 if result else 1)' 2>/dev/null && return 0
        kill -0 "$PROM_PID" 2>/dev/null || break
        sleep 1
    done
    echo "error: Prometheus has no series for $expr after $2 s" >&2
    prom_log_tail >&2
    return 1
}

prom_label_values() { # expr, label
    prom_query "$1" | _prom_result "
for value in sorted({s['metric'].get('$2', '') for s in result}):
    print(value)"
}

prom_values() { # expr
    prom_query "$1" | _prom_result '
for s in result:
    labels = ",".join("%s=\"%s\"" % kv for kv in sorted(s["metric"].items()))
    print("{%s} %s" % (labels, s["value"][1]))'
}

prom_log_tail() {
    [[ -n $PROM_DIR && -f $PROM_DIR/prometheus.log ]] || return 0
    echo "--- the end of Prometheus' log"
    tail -n 30 "$PROM_DIR/prometheus.log"
}

prom_stop() {
    if [[ -n $PROM_PID ]] && kill -0 "$PROM_PID" 2>/dev/null; then
        kill -TERM "$PROM_PID" 2>/dev/null || true
        local _
        for _ in $(seq 1 50); do kill -0 "$PROM_PID" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$PROM_PID" 2>/dev/null || true
        wait "$PROM_PID" 2>/dev/null || true
    fi
    [[ -z $PROM_DIR ]] || rm -rf "$PROM_DIR"
    PROM_DIR='' PROM_CONFIG='' PROM_URL='' PROM_PID=''
}
