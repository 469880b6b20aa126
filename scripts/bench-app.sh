#!/usr/bin/env bash
# Start-up time and memory of the real app, under a virtual X display.
#
#   scripts/bench-app.sh [RUNS] [BINARY]
#
# Each run starts BINARY (default: $CARGO_TARGET_DIR/release/gerbang if built, else the debug
# one) twice: cold, on a fresh data folder (a first run: it hosts the relay and seeds the demo
# event), then warm, on the same folder again. It reports the time from start to "ready to
# scan" (the app logs it when the window asks for its first snapshot, i.e. the page is loaded
# and about to draw the scan screen), and, 5 s after that, the memory of the app and of the
# WebKit processes it started: resident (RSS, pages shared between them counted in each) and
# proportional (PSS, shared pages split between them; their sum is what the app costs).
# Prints one line per start and the medians.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$HOME/.cache/gerbang-target}"
runs="${1:-5}"
bin="${2:-}"
if [ -z "$bin" ]; then
    bin="$target/release/gerbang"
    [ -x "$bin" ] || bin="$target/debug/gerbang"
fi
[ -x "$bin" ] || { echo "bench-app: $bin is not built (cargo build -p gerbang-app)" >&2; exit 1; }

if [ -z "${DISPLAY:-}" ]; then
    exec xvfb-run -a -s "-screen 0 1400x900x24" "$0" "$runs" "$bin"
fi

# The process and all its descendants.
tree() {
    local pid="$1" child
    echo "$pid"
    for child in $(pgrep -P "$pid" || true); do
        tree "$child"
    done
}

# kB of field $2 ("VmRSS" in status, "Pss" in smaps_rollup) summed over the pids in $1.
sum_kb() {
    local total=0 pid kb file
    for pid in $1; do
        if [ "$2" = Pss ]; then file="/proc/$pid/smaps_rollup"; else file="/proc/$pid/status"; fi
        kb=$(awk -v f="$2:" '$1 == f { print $2 }' "$file" 2>/dev/null || echo 0)
        total=$((total + ${kb:-0}))
    done
    echo "$total"
}

# start DIR LABEL: one start; prints "LABEL ready_ms app_rss_kb total_rss_kb total_pss_kb".
start() {
    local dir="$1" label="$2" log="$1/app-$2.log" pid ready="" waited=0
    GERBANG_DATA_DIR="$dir/data" GERBANG_RELAY_LISTEN=127.0.0.1:0 \
        WEBKIT_DISABLE_DMABUF_RENDERER=1 XDG_DATA_HOME="$dir/xdg" NO_COLOR=1 \
        "$bin" >"$log" 2>&1 &
    pid=$!
    while [ -z "$ready" ]; do
        ready=$(sed -n 's/.*ready to scan \([0-9]*\) ms after start.*/\1/p' "$log" | head -1)
        if [ -z "$ready" ]; then
            kill -0 "$pid" 2>/dev/null || { echo "bench-app: the app exited; its log:" >&2; cat "$log" >&2; return 1; }
            waited=$((waited + 1))
            [ "$waited" -lt 600 ] || { echo "bench-app: not ready after 60 s" >&2; kill "$pid"; return 1; }
            sleep 0.1
        fi
    done
    # Let the first-run work in the background (hosting, the demo event, the first sync) finish.
    sleep 5
    local pids
    pids=$(tree "$pid")
    echo "$label $ready $(sum_kb "$pid" VmRSS) $(sum_kb "$pids" VmRSS) $(sum_kb "$pids" Pss)"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "bench-app: $bin, $runs runs"
results=$(mktemp)
for i in $(seq "$runs"); do
    dir=$(mktemp -d "${TMPDIR:-/tmp}/gerbang-bench-app.XXXXXX")
    start "$dir" cold | tee -a "$results"
    start "$dir" warm | tee -a "$results"
    rm -rf "$dir"
done

echo
printf '%-5s %16s %14s %22s %22s\n' start "ready (ms)" "app RSS (MB)" "app+WebKit RSS (MB)" "app+WebKit PSS (MB)"
for label in cold warm; do
    col() { awk -v l="$label" -v c="$1" '$1 == l { print $c }' "$results" | median; }
    mb() { awk -v kb="$1" 'BEGIN { printf "%.0f", kb / 1024 }'; }
    printf '%-5s %16s %14s %22s %22s\n' "$label" "$(col 2)" "$(mb "$(col 3)")" "$(mb "$(col 4)")" "$(mb "$(col 5)")"
done
echo "(medians of $runs runs)"
rm -f "$results"
