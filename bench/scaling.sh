#!/usr/bin/env bash
# How throughput grows with event loops (the gateway) and workers (nginx): each with 1 and 2, under
# wrk with 8, 32 and 128 connections, against the same upstream nginx as bench/run.sh. The gateway
# runs its full pipeline (budget enforced far from its limit, the default audit trail); its loop
# count is NIO_SINGLETON_GROUP_LOOP_COUNT (docs/configuration.md). Medians of interleaved rounds.
# Usage: bench/scaling.sh [--duration 5] [--rounds 3] [--binary PATH]
# Not a test: it measures, it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

DURATION=5
ROUNDS=3
BINARY=.build/release/ghl-gateway
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --binary) BINARY="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
bench_needs wrk nginx curl
[ -x "$BINARY" ] || swift build -c release --product ghl-gateway >/dev/null
[ -x .build/release/ghl-bench ] || swift build -c release --product ghl-bench >/dev/null

bench_workdir ghl-scaling

UPSTREAM=18280
upstream_nginx "$WORK/upstream" $UPSTREAM "$(bench_body)"
nginx -c "$WORK/upstream/nginx.conf" -g 'daemon off;' & PIDS+=($!)
bench_policies "$WORK" "$(dirname "$BINARY")"
bench_secrets "$WORK"

wait_for() { for _ in $(seq 1 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "not up: $1" >&2; exit 1; }
declare -A PORT
for loops in 1 2; do
    # nginx with `loops` workers, as bench/run.sh's proxy.
    port=$((18290 + loops))
    proxy_nginx "$WORK/nginx$loops" $port $UPSTREAM $loops
    nginx -c "$WORK/nginx$loops/nginx.conf" -g 'daemon off;' & PIDS+=($!)
    PORT[nginx-$loops]=$port

    # The gateway with `loops` event loops.
    port=$((18300 + 10 * loops))
    gateway_yaml "$WORK/gateway$loops" $port $UPSTREAM "$WORK" "$WORK/policies"
    .build/release/ghl-bench seed --config "$WORK/gateway$loops/gateway.yaml" --locations 1 >/dev/null
    NIO_SINGLETON_GROUP_LOOP_COUNT=$loops "$BINARY" serve --config "$WORK/gateway$loops/gateway.yaml" 2>"$WORK/gateway$loops.log" & PIDS+=($!)
    wait_for "http://127.0.0.1:$((port + 2))/healthz"
    PORT[ghl-gateway-$loops]=$port
done

PATH_Q="/contacts/abc123?locationId=benchLocation1"
CONTENDERS=(nginx-1 nginx-2 ghl-gateway-1 ghl-gateway-2)
for c in "${CONTENDERS[@]}"; do wrk -t2 -c32 -d2s -H "Authorization: Bearer $KEY" "http://127.0.0.1:${PORT[$c]}$PATH_Q" >/dev/null; done
declare -A RPS
for round in $(seq 1 "$ROUNDS"); do
    for connections in 8 32 128; do
        for c in "${CONTENDERS[@]}"; do
            rps=$(wrk -t2 -c"$connections" -d"${DURATION}s" -H "Authorization: Bearer $KEY" "http://127.0.0.1:${PORT[$c]}$PATH_Q" | awk '/Requests\/sec/ {print $2}')
            echo "round $round, $connections connections, $c: $rps req/s" >&2
            RPS[$c-$connections]="${RPS[$c-$connections]:-} $rps"
        done
    done
done

echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores; wrk -t2, ${DURATION}s per run, $ROUNDS interleaved rounds (medians); wrk and the upstream share the machine."
echo
echo "| connections | nginx, 1 worker | nginx, 2 workers | ghl-gateway, 1 loop | ghl-gateway, 2 loops | gateway 2 loops / 1 | gateway/nginx (2) |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for connections in 8 32 128; do
    n1=$(echo "${RPS[nginx-1-$connections]}" | median); n2=$(echo "${RPS[nginx-2-$connections]}" | median)
    g1=$(echo "${RPS[ghl-gateway-1-$connections]}" | median); g2=$(echo "${RPS[ghl-gateway-2-$connections]}" | median)
    printf "| %d | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f |\n" "$connections" "$n1" "$n2" "$g1" "$g2" \
        "$(python3 -c "print($g2/$g1)")" "$(python3 -c "print($g2/$n2)")"
done
