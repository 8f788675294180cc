#!/usr/bin/env bash
# Side-by-side proxy benchmark on one machine: direct upstream, nginx, Caddy, HAProxy and
# ghl-gateway (full pipeline), interleaved rounds, plus memory, the trie and a refresh storm.
# Usage: bench/run.sh [--duration SECONDS] [--connections N] [--rounds N] [--baseline BINARY]
# The gateway keeps HighLevel's budget, far from its limit (the cost of keeping it, not of waiting
# for it); "budget-off" is the same build without it. BASELINE_BUDGET=on gives a --baseline build
# that knows highlevel.rate_limit the same budget (default: none, for builds from before it).
# --baseline: another ghl-gateway build (e.g. main's, built with --scratch-path elsewhere) run
# beside this one in every round, as the contender "baseline", for a before/after in one run.
# Writes bench/results/latest.md and prints it. Not a test: it measures, it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

DURATION=10
CONNECTIONS=32
ROUNDS=3
BASELINE=""
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION="$2"; shift 2 ;;
        --connections) CONNECTIONS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --baseline) BASELINE="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

need=()
for tool in wrk nginx caddy haproxy; do command -v "$tool" >/dev/null 2>&1 || need+=("$tool"); done
if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

echo "building ghl-gateway and ghl-bench in release mode..."
swift build -c release --product ghl-gateway >/dev/null
swift build -c release --product ghl-bench >/dev/null
BIN=.build/release

# The trie and the refresh storm first, on a machine with nothing else running: the trie's large
# mix measures cache misses, which eight idle servers' memory beside it would add to (and the
# build's files written back to disk first, which otherwise run beside it). Three processes: the
# large mix's figure moves with where one process's allocator put its 21,158 paths.
sync
TRIE=$(for run in 1 2 3; do $BIN/ghl-bench trie --rounds 100 | sed "s/^/run $run: /"; done)
STORM=$($BIN/ghl-bench storm --requests 1000)

bench_workdir ghl-bench

UPSTREAM=18080; NGINX=18081; CADDY=18082; HAPROXY=18083; GATEWAY=18084
BODY=$(bench_body)

upstream_nginx "$WORK/upstream" $UPSTREAM "$BODY"
proxy_nginx "$WORK/nginx" $NGINX $UPSTREAM auto
cat > "$WORK/Caddyfile" <<CONF
{
    admin off
    auto_https off
}
http://127.0.0.1:$CADDY {
    reverse_proxy 127.0.0.1:$UPSTREAM {
        header_up Authorization "Bearer static-upstream-token"
    }
}
CONF
cat > "$WORK/haproxy.cfg" <<CONF
global
    maxconn 4096
    nbthread 2
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
frontend fe
    bind 127.0.0.1:$HAPROXY
    default_backend be
backend be
    http-request set-header Authorization "Bearer static-upstream-token"
    http-reuse always
    server s1 127.0.0.1:$UPSTREAM
CONF

# The gateway: the shipped catalog, one client allowed contacts.readonly for one location,
# a vault seeded with that location's token (the upstream ignores it).
bench_policies "$WORK/gateway" $BIN
bench_secrets "$WORK/gateway"
# gateway_config DIR PORT [BUDGET]: a gateway in DIR beside the first, with its secrets and policies.
gateway_config() { gateway_yaml "$1" "$2" $UPSTREAM "$WORK/gateway" "$WORK/gateway/policies" "${3:-on}"; }
gateway_config "$WORK/gateway" $GATEWAY
$BIN/ghl-bench seed --config "$WORK/gateway/gateway.yaml" --locations 1 >/dev/null

nginx -c "$WORK/upstream/nginx.conf" -g 'daemon off;' & PIDS+=($!)
nginx -c "$WORK/nginx/nginx.conf" -g 'daemon off;' & PIDS+=($!)
caddy run --config "$WORK/Caddyfile" --adapter caddyfile >"$WORK/caddy.log" 2>&1 & PIDS+=($!)
haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 & PIDS+=($!)
$BIN/ghl-gateway serve --config "$WORK/gateway/gateway.yaml" 2>"$WORK/gateway.log" & GATEWAY_PID=$!; PIDS+=($GATEWAY_PID)

wait_for() { for _ in $(seq 1 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "not up: $1" >&2; exit 1; }
PATH_Q="/contacts/abc123?locationId=benchLocation1"
for port in $UPSTREAM $NGINX $CADDY $HAPROXY; do wait_for "http://127.0.0.1:$port$PATH_Q"; done
wait_for "http://127.0.0.1:18086/healthz"
curl -sf -o /dev/null -H "Authorization: Bearer $KEY" "http://127.0.0.1:$GATEWAY$PATH_Q" || { echo "gateway call failed" >&2; cat "$WORK/gateway.log" >&2; exit 1; }

# The same gateway with HighLevel's budget off, beside it in every round.
gateway_config "$WORK/nobudget" 18093 off
$BIN/ghl-bench seed --config "$WORK/nobudget/gateway.yaml" --locations 1 >/dev/null
$BIN/ghl-gateway serve --config "$WORK/nobudget/gateway.yaml" 2>"$WORK/nobudget.log" & PIDS+=($!)
wait_for "http://127.0.0.1:18095/healthz"

declare -A TARGET=([direct]=$UPSTREAM [nginx]=$NGINX [caddy]=$CADDY [haproxy]=$HAPROXY [ghl-gateway]=$GATEWAY [budget-off]=18093)
CONTENDERS=(direct nginx caddy haproxy ghl-gateway budget-off)
if [ -n "$BASELINE" ]; then
    gateway_config "$WORK/baseline" 18090 "${BASELINE_BUDGET:-none}"
    $BIN/ghl-bench seed --config "$WORK/baseline/gateway.yaml" --locations 1 >/dev/null
    "$BASELINE" serve --config "$WORK/baseline/gateway.yaml" 2>"$WORK/baseline.log" & PIDS+=($!)
    wait_for "http://127.0.0.1:18092/healthz"
    TARGET[baseline]=18090
    CONTENDERS+=(baseline)
fi
declare -A RPS P50 P99 P999 ERR
run_wrk() { # $1 contender
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/report.lua \
        -H "Authorization: Bearer $KEY" "http://127.0.0.1:${TARGET[$1]}$PATH_Q" | grep '^RESULT'
}
echo "warming up..."
for c in "${CONTENDERS[@]}"; do wrk -t2 -c"$CONNECTIONS" -d2s -H "Authorization: Bearer $KEY" "http://127.0.0.1:${TARGET[$c]}$PATH_Q" >/dev/null; done
for round in $(seq 1 "$ROUNDS"); do
    for c in "${CONTENDERS[@]}"; do
        read -r _ rps p50 p99 p999 _ errors <<<"$(run_wrk "$c")"
        echo "round $round $c: $rps req/s, p50 ${p50}us p99 ${p99}us p99.9 ${p999}us, errors $errors"
        RPS[$c]="${RPS[$c]:-} $rps"; P50[$c]="${P50[$c]:-} $p50"; P99[$c]="${P99[$c]:-} $p99"; P999[$c]="${P999[$c]:-} $p999"
        ERR[$c]=$(( ${ERR[$c]:-0} + errors ))
    done
done
PEAK_RSS=$(awk '/VmHWM/ {print $2}' /proc/$GATEWAY_PID/status)


# Memory with 10,000 installations: a second gateway, tokens for 10,000 locations, 2,000 of them used.
gateway_config "$WORK/gateway10k" 18087
$BIN/ghl-bench seed --config "$WORK/gateway10k/gateway.yaml" --locations 10000 >/dev/null
$BIN/ghl-gateway serve --config "$WORK/gateway10k/gateway.yaml" 2>"$WORK/gateway10k.log" & G10K=$!; PIDS+=($G10K)
wait_for "http://127.0.0.1:18089/healthz"
for i in $(seq 1 2000); do echo "http://127.0.0.1:18087/contacts/c$i?locationId=benchLocation$i"; done > "$WORK/urls"
xargs -P 8 -n 1 curl -s -o /dev/null -H "Authorization: Bearer $KEY" < "$WORK/urls"
RSS_10K=$(awk '/VmRSS/ {print $2}' /proc/$G10K/status)
HWM_10K=$(awk '/VmHWM/ {print $2}' /proc/$G10K/status)


mkdir -p bench/results
OUT=bench/results/latest.md
{
    echo "# ghl-gateway proxy benchmark"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r); wrk -t2 -c$CONNECTIONS, ${DURATION}s per run, $ROUNDS interleaved rounds (medians);"
    echo "wrk, the upstream nginx and the contender share the machine. Upstream: nginx returning ${#BODY} bytes of JSON."
    echo "Gateway: full pipeline (key, canonical path, trie, policy, cached token, injection), access log off (level notice), as nginx's."
    echo
    echo "| contender | requests/s | p50 | p99 | p99.9 | errors |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    for c in "${CONTENDERS[@]}"; do
        printf "| %s | %.0f | %d µs | %d µs | %d µs | %d |\n" "$c" "$(echo "${RPS[$c]}" | median)" "$(echo "${P50[$c]}" | median)" \
            "$(echo "${P99[$c]}" | median)" "$(echo "${P999[$c]}" | median)" "${ERR[$c]}"
    done
    G=$(echo "${RPS[ghl-gateway]}" | median); N=$(echo "${RPS[nginx]}" | median); C=$(echo "${RPS[caddy]}" | median)
    echo
    echo "gateway/nginx throughput: $(python3 -c "print(f'{$G/$N:.2f}')"); gateway/Caddy throughput: $(python3 -c "print(f'{$G/$C:.2f}')");"
    echo "gateway p99 $(echo "${P99[ghl-gateway]}" | median) µs vs Caddy p99 $(echo "${P99[caddy]}" | median) µs."
    O=$(echo "${RPS[budget-off]}" | median)
    echo "HighLevel's budget enforced (far from its limit) vs off: $(python3 -c "print(f'{$G/$O:.2f}')") of the throughput."
    if [ -n "$BASELINE" ]; then
        B=$(echo "${RPS[baseline]}" | median)
        echo "baseline ($BASELINE): baseline/nginx $(python3 -c "print(f'{$B/$N:.2f}')"); gateway/baseline $(python3 -c "print(f'{$G/$B:.2f}')")."
    fi
    echo
    echo "Gateway peak RSS during the runs: $((PEAK_RSS / 1024)) MiB."
    echo "Gateway with 10,000 installations in the vault, 2,000 of them called: RSS $((RSS_10K / 1024)) MiB (peak $((HWM_10K / 1024)) MiB)."
    echo
    echo '```'
    echo "$TRIE"
    echo "$STORM"
    echo '```'
} > "$OUT"
cat "$OUT"
