#!/usr/bin/env bash
# Fan-out latency of the real gerbang-relay binary, on its own core, loaded by gerbang-loadgen
# on the other core (a 2-core machine: neither steals the other's CPU, and the relay's CPU
# time is what it alone needs).
#
#   scripts/bench-fanout.sh [GATES] [SECONDS] [RATE...]      # defaults: 200 10 250 500 1000 2000
#   PLAIN=1 scripts/bench-fanout.sh ...                      # ws:// instead of wss:// (TLS)
#
# For each rate (scans a second over all gates) a fresh relay is started on an empty data
# folder, then `gerbang-loadgen fanout` connects GATES gates, sends scans at that rate for 2 s
# of warm-up and SECONDS measured, and prints from sent to every other gate's receipt:
# p50/p99/p99.9/max, and the relay's CPU.
set -euo pipefail

target="${CARGO_TARGET_DIR:-$HOME/.cache/gerbang-target}"
relay="$target/release/gerbang-relay"
loadgen="$target/release/gerbang-loadgen"
for bin in "$relay" "$loadgen"; do
    [ -x "$bin" ] || {
        echo "bench-fanout: $bin is not built (cargo build --release -p gerbang-relay -p gerbang-loadgen)" >&2
        exit 1
    }
done
gates="${1:-200}"
seconds="${2:-10}"
shift $(($# < 2 ? $# : 2))
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(250 500 1000 2000)
cores=$(nproc)
relay_core=0
loadgen_cores="1-$((cores - 1))"
[ "$cores" -ge 2 ] || { echo "bench-fanout: needs at least 2 cores" >&2; exit 1; }

work="$(mktemp -d)"
relay_pid=""
cleanup() {
    [ -n "$relay_pid" ] && kill "$relay_pid" 2>/dev/null && wait "$relay_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

plain=()
[ "${PLAIN:-0}" = 1 ] && plain=(--plain)
for rate in "${rates[@]}"; do
    data="$work/relay-$rate"
    taskset -c "$relay_core" "$relay" --data-dir "$data" --listen 127.0.0.1:0 "${plain[@]}" \
        --log warn >"$work/relay.out" 2>&1 &
    relay_pid=$!
    url=""
    for _ in $(seq 100); do
        url="$(sed -n 's|^Gerbang relay listening on \(wss\?://[^/]*\)/.*|\1|p' "$work/relay.out")"
        [ -n "$url" ] && break
        kill -0 "$relay_pid" 2>/dev/null || { cat "$work/relay.out" >&2; exit 1; }
        sleep 0.1
    done
    [ -n "$url" ] || { echo "bench-fanout: the relay did not start" >&2; cat "$work/relay.out" >&2; exit 1; }
    fingerprint="$(sed -n 's/.*SHA-256 fingerprint \([0-9a-f]*\).*/\1/p' "$work/relay.out")"
    args=(--relay "$url" --admin-token "$(cat "$data/admin-token")" --relay-pid "$relay_pid")
    [ -n "$fingerprint" ] && args+=(--fingerprint "$fingerprint")
    echo "== $gates gates, $rate scans/s, relay on core $relay_core, load generator on $loadgen_cores"
    taskset -c "$loadgen_cores" "$loadgen" "${args[@]}" fanout --gates "$gates" --rate "$rate" \
        --seconds "$seconds" | tail -n +2
    kill "$relay_pid"
    wait "$relay_pid" 2>/dev/null || true
    relay_pid=""
done
