#!/usr/bin/env bash
# Two gateway builds, or one build with two configurations, side by side: both behind the same
# upstream nginx, in alternated wrk rounds, each round's requests/s, CPU a request (user and
# system time from /proc over the round) and p99, then medians and each side's peak RSS. For a change that
# may cost a few percent, where two separate runs differ more than that on a shared machine.
# Usage: bench/ab.sh [--rounds 7] [--duration 6] [--a PATH] [--b PATH] [--a-config YAML] [--b-config YAML]
#   e.g. bench/ab.sh --a-config "audit: {record: all}" --b-config "audit: {record: off}"
# Not a test: it measures, it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

ROUNDS=7
DURATION=6
A=.build/release/ghl-gateway
B=.build/release/ghl-gateway
A_CONFIG=""
B_CONFIG=""
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS="$2"; shift 2 ;;
        --duration) DURATION="$2"; shift 2 ;;
        --a) A="$2"; shift 2 ;;
        --b) B="$2"; shift 2 ;;
        --a-config) A_CONFIG="$2"; shift 2 ;;
        --b-config) B_CONFIG="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
bench_needs wrk nginx curl
[ -x .build/release/ghl-gateway ] || swift build -c release --product ghl-gateway >/dev/null
[ -x .build/release/ghl-bench ] || swift build -c release --product ghl-bench >/dev/null

bench_workdir ghl-ab
UPSTREAM=18380
upstream_nginx "$WORK/upstream" $UPSTREAM "$(bench_body)"
nginx -c "$WORK/upstream/nginx.conf" -g 'daemon off;' & PIDS+=($!)
bench_policies "$WORK" .build/release
bench_secrets "$WORK"

declare -A PID PORT
for side in a b; do
    port=18390; binary=$A; extra=$A_CONFIG
    [ $side = b ] && { port=18395; binary=$B; extra=$B_CONFIG; }
    gateway_yaml "$WORK/$side" $port $UPSTREAM "$WORK" "$WORK/policies" on "$extra"
    .build/release/ghl-bench seed --config "$WORK/$side/gateway.yaml" --locations 1 >/dev/null
    "$binary" serve --config "$WORK/$side/gateway.yaml" 2>"$WORK/$side.log" & PID[$side]=$!; PIDS+=(${PID[$side]})
    PORT[$side]=$port
done
for side in a b; do
    for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$((PORT[$side] + 2))/healthz" && break; sleep 0.1; done
done

TARGET="/contacts/abc123?locationId=benchLocation1"
for side in a b; do wrk -t2 -c32 -d2s -H "Authorization: Bearer $KEY" "http://127.0.0.1:${PORT[$side]}$TARGET" >/dev/null; done
declare -A RPS CPU P99
for round in $(seq 1 "$ROUNDS"); do
    for side in a b; do
        pid=${PID[$side]}
        before=$(awk '{print $14 + $15}' /proc/$pid/stat)
        out=$(wrk -t2 -c32 -d"${DURATION}s" --latency -H "Authorization: Bearer $KEY" "http://127.0.0.1:${PORT[$side]}$TARGET")
        after=$(awk '{print $14 + $15}' /proc/$pid/stat)
        rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
        requests=$(echo "$out" | awk '/requests in/ {print $1}')
        ticks=$(getconf CLK_TCK)
        cpu=$(awk -v t=$((after - before)) -v n="$requests" -v hz="$ticks" 'BEGIN {printf "%.2f", t * 1e6 / hz / n}')
        # wrk's 99th percentile (e.g. 4.52ms, 812.00us) in µs.
        p99=$(echo "$out" | awk '$1 == "99%" {v = $2; u = 1; if (v ~ /us$/) u = 1; else if (v ~ /ms$/) u = 1000; else if (v ~ /s$/) u = 1000000; gsub(/[a-z]+$/, "", v); printf "%.0f", v * u}')
        RPS[$side]="${RPS[$side]:-} $rps"; CPU[$side]="${CPU[$side]:-} $cpu"; P99[$side]="${P99[$side]:-} $p99"
        echo "round $round $side: $rps requests/s, $cpu µs CPU a request, p99 $p99 µs"
    done
done
for side in a b; do
    echo "$side: median $(echo "${RPS[$side]}" | median) requests/s, $(echo "${CPU[$side]}" | median) µs CPU a request, p99 $(echo "${P99[$side]}" | median) µs, peak RSS $(awk '/VmHWM/ {print $2, $3}' /proc/${PID[$side]}/status)"
done
