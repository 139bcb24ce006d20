#!/usr/bin/env bash
# The README's "A first tour", run as a user runs it: `handoff` installed with
# `cargo install --path . --locked`, every line of the tour as printed, in an
# empty directory (the tour's `handoff init` writes the rules). Daemon lines (`handoff demo`,
# `handoff run`) run in the background until the next one; the lines after them
# talk to the running daemon. Any line that fails fails the check.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
daemon=
cleanup() {
    [[ -z $daemon ]] || kill "$daemon" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The release build CI made is reused; the binary lands where the tour finds it.
CARGO_TARGET_DIR="$repo/target" cargo install --path "$repo" --locked --root "$work/install" --quiet
export PATH="$work/install/bin:$PATH"
cd "$work"
while read -r var; do unset "$var"; done < <(compgen -e HANDOFF_)

# The tour: the first ```sh block after "## A first tour".
awk '/^## A first tour/ { in_tour = 1 } in_tour && /^```sh/ { in_block = 1; next }
     in_block && /^```/ { exit } in_block { print }' "$repo/README.md" >tour.txt
[ -s tour.txt ] || { echo "error: no tour in README.md" >&2; exit 1; }

stop_daemon() {
    if [[ -n $daemon ]]; then
        kill -TERM "$daemon" 2>/dev/null || true
        wait "$daemon" || true
        daemon=
    fi
}
n=0
while IFS= read -r line; do
    cmd=${line%%  #*}  # the comment after two spaces or more
    cmd=${cmd%"${cmd##*[![:space:]]}"}
    [[ -n $cmd ]] || continue
    n=$((n + 1))
    echo "\$ $cmd"
    case $cmd in
    "cargo install"*)
        command -v handoff >/dev/null || { echo "error: handoff is not installed" >&2; exit 1; }
        ;;
    "handoff demo" | "handoff run")
        stop_daemon
        bash -c "$cmd" >"daemon-$n.log" 2>&1 &
        daemon=$!
        for _ in $(seq 1 120); do
            curl -fs --max-time 2 -o /dev/null http://127.0.0.1:9477/-/ready && break
            kill -0 "$daemon" 2>/dev/null || { cat "daemon-$n.log" >&2; echo "error: '$cmd' stopped" >&2; exit 1; }
            sleep 1
        done
        curl -fs --max-time 2 -o /dev/null http://127.0.0.1:9477/-/ready || { echo "error: '$cmd' never became ready" >&2; exit 1; }
        ;;
    "ls outbox/"*)
        # The first mails wait group_wait (30 s) after the first evaluations.
        for _ in $(seq 1 90); do compgen -G "outbox/*.eml" >/dev/null && break; sleep 1; done
        bash -c "$cmd" | tail -n 3
        ;;
    *)
        if [[ $cmd == "handoff demo --build-only"* ]]; then stop_daemon; fi
        bash -o pipefail -c "$cmd" >out.txt 2>&1 || { cat out.txt >&2; echo "error: '$cmd' failed" >&2; exit 1; }
        head -n 5 out.txt
        ;;
    esac
done <tour.txt
stop_daemon
echo "the README's tour: $n commands, each as printed"
