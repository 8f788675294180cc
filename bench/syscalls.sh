#!/usr/bin/env bash
# System calls, futex waits (contended locks) and context switches per proxied request, counted by
# the kernel's tracepoints (`perf stat -e syscalls:...`) while wrk drives the gateway (full
# pipeline, as bench/run.sh's) and nginx (proxy_pass, 2 workers) in turn. Counts, not times: the
# figures hold on any machine. Needs perf (Debian's linux-perf) with tracepoints readable.
# Usage: bench/syscalls.sh [--duration 5] [--connections 32] [--binary PATH] [--gateway-config "YAML"]
# Not a test: it measures, it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

DURATION=5
CONNECTIONS=32
BINARY=.build/release/ghl-gateway
EXTRA=""
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION="$2"; shift 2 ;;
        --connections) CONNECTIONS="$2"; shift 2 ;;
        --binary) BINARY="$2"; shift 2 ;;
        --gateway-config) EXTRA="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
bench_needs wrk nginx curl perf
[ -x "$BINARY" ] || swift build -c release --product ghl-gateway >/dev/null
[ -x .build/release/ghl-bench ] || swift build -c release --product ghl-bench >/dev/null

bench_workdir ghl-syscalls

UPSTREAM=18380; NGINX=18381; GATEWAY=18384
upstream_nginx "$WORK/upstream" $UPSTREAM "$(bench_body)"
nginx -c "$WORK/upstream/nginx.conf" -g 'daemon off;' & PIDS+=($!)
proxy_nginx "$WORK/nginx" $NGINX $UPSTREAM 2
nginx -c "$WORK/nginx/nginx.conf" -g 'daemon off;' & NGINX_PID=$!; PIDS+=($NGINX_PID)

bench_policies "$WORK" "$(dirname "$BINARY")"
bench_secrets "$WORK"
gateway_yaml "$WORK" $GATEWAY $UPSTREAM "$WORK" "$WORK/policies" on "$EXTRA"
.build/release/ghl-bench seed --config "$WORK/gateway.yaml" --locations 1 >/dev/null
"$BINARY" serve --config "$WORK/gateway.yaml" 2>"$WORK/gateway.log" & GATEWAY_PID=$!; PIDS+=($GATEWAY_PID)
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:18386/healthz" && break; sleep 0.1; done

PATH_Q="/contacts/abc123?locationId=benchLocation1"
EVENTS=syscalls:sys_enter_read,syscalls:sys_enter_recvfrom,syscalls:sys_enter_readv,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_sendmsg,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_futex,context-switches
# count NAME PORT PIDS...: wrk for DURATION against PORT while perf counts the events of PIDS; per request.
count() {
    local name=$1 port=$2; shift 2
    local pids; pids=$(IFS=,; echo "$*")
    wrk -t2 -c"$CONNECTIONS" -d2s -H "Authorization: Bearer $KEY" "http://127.0.0.1:$port$PATH_Q" >/dev/null
    perf stat -x, -e "$EVENTS" -p "$pids" -o "$WORK/$name.perf" -- sleep "$DURATION" &
    local perf_pid=$!
    local requests
    requests=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -H "Authorization: Bearer $KEY" "http://127.0.0.1:$port$PATH_Q" | awk '/requests in/ {print $1}')
    wait "$perf_pid"
    printf "| %s | %d |" "$name" "$requests"
    awk -F, -v n="$requests" '/^[0-9]/ { printf " %.2f |", $1 / n }' "$WORK/$name.perf"
    echo
}
workers=$(pgrep -P "$NGINX_PID" | paste -sd, -)
echo "$(date -u +%Y-%m-%dT%H:%MZ); wrk -t2 -c$CONNECTIONS, ${DURATION}s; per proxied request:"
echo
echo "| contender | requests | read | recvfrom | readv | write | writev | sendmsg | epoll_wait | epoll_ctl | futex | context switches |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
count nginx $NGINX $NGINX_PID ${workers//,/ }
count ghl-gateway $GATEWAY $GATEWAY_PID
