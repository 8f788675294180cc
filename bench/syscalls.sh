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
for tool in wrk nginx curl perf; do command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 2; }; done
[ -x "$BINARY" ] || swift build -c release --product ghl-gateway >/dev/null
[ -x .build/release/ghl-bench ] || swift build -c release --product ghl-bench >/dev/null

WORK=$(mktemp -d /tmp/ghl-syscalls.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

UPSTREAM=18380; NGINX=18381; GATEWAY=18384
BODY=$(python3 -c 'import json; print(json.dumps({"contact": {"id": "abc123", "locationId": "benchLocation1", "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "tags": ["bench"] * 20, "customFields": [{"id": "f%d" % i, "value": "v" * 12} for i in range(12)]}}, separators=(",", ":")))')
upstream_nginx "$WORK/upstream" $UPSTREAM "$BODY"
nginx -c "$WORK/upstream/nginx.conf" -g 'daemon off;' & PIDS+=($!)
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 10000000;
    client_body_temp_path $WORK/nginx;
    proxy_temp_path $WORK/nginx;
    upstream up { server 127.0.0.1:$UPSTREAM; keepalive 64; }
    server {
        listen 127.0.0.1:$NGINX;
        location / {
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Authorization "Bearer static-upstream-token";
        }
    }
}
CONF
nginx -c "$WORK/nginx/nginx.conf" -g 'daemon off;' & NGINX_PID=$!; PIDS+=($NGINX_PID)

bench_policies "$WORK" "$(dirname "$BINARY")"
head -c 32 /dev/urandom | base64 > "$WORK/key"
echo "bench-client-secret" > "$WORK/secret"
echo "bench-admin-token-0123456789" > "$WORK/admin"
cat > "$WORK/gateway.yaml" <<CONF
listen: {proxy: "127.0.0.1:$GATEWAY", public: "127.0.0.1:18385", admin: "127.0.0.1:18386"}
public_url: http://127.0.0.1:18385
highlevel:
  api_base_url: http://127.0.0.1:$UPSTREAM
  client_id: bench-app
  client_secret: file:$WORK/secret
  install_scopes: [contacts.readonly]
  rate_limit: {burst: 100000000/10s, daily: 100000000, enforce: true}
storage:
  sqlite_path: $WORK/gateway.sqlite
  encryption_key: file:$WORK/key
admin_token: file:$WORK/admin
policies_dir: $WORK/policies
logging: {level: notice, format: json}
$EXTRA
CONF
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
