#!/usr/bin/env bash
# Instructions per proxied request, counted by callgrind: the same figure on any machine, whatever
# else it is doing. The gateway (full pipeline, as bench/run.sh's) and nginx (proxy_pass with a static
# Authorization, as bench/run.sh's) each run under `valgrind --tool=callgrind` in front of the same
# upstream nginx; after a warm-up the counters are zeroed, N requests are sent over keep-alive
# connections one at a time, and the counters are dumped: user-space instructions of the whole
# process (every thread, the audit writer's included) over N. The kernel's share is not counted.
# Usage: bench/instructions.sh [--requests 2000] [--connections 4] [--binary PATH] [--label NAME]
#   [--gateway-config "YAML appended to gateway.yaml"] [--no-nginx] [--keep PREFIX (the dumps, for callgrind_annotate)]
# Not a test: it measures, it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

REQUESTS=2000
CONNECTIONS=4
BINARY=.build/release/ghl-gateway
LABEL=ghl-gateway
EXTRA=""
NGINX_TOO=yes
KEEP=""
while [ $# -gt 0 ]; do
    case "$1" in
        --requests) REQUESTS="$2"; shift 2 ;;
        --connections) CONNECTIONS="$2"; shift 2 ;;
        --binary) BINARY="$2"; shift 2 ;;
        --label) LABEL="$2"; shift 2 ;;
        --gateway-config) EXTRA="$2"; shift 2 ;;
        --no-nginx) NGINX_TOO=no; shift ;;
        --keep) KEEP="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
bench_needs valgrind nginx curl
[ -x "$BINARY" ] || swift build -c release --product ghl-gateway >/dev/null

bench_workdir ghl-instructions

UPSTREAM=18180; NGINX=18181; GATEWAY=18184
upstream_nginx "$WORK/upstream" $UPSTREAM "$(bench_body)"
nginx -c "$WORK/upstream/nginx.conf" -g 'daemon off;' & PIDS+=($!)

# send PORT COUNT: COUNT requests over CONNECTIONS keep-alive connections, one at a time.
send() {
    python3 - "$1" "$2" "$CONNECTIONS" "${KEY:-none}" <<'PY'
import http.client, sys
port, count, connections, key = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
pool = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(connections)]
for i in range(count):
    c = pool[i % connections]
    c.request("GET", "/contacts/abc123?locationId=benchLocation1", headers={"Authorization": "Bearer " + key})
    r = c.getresponse(); r.read()
    if r.status != 200: sys.exit(f"status {r.status}")
PY
}

# measure NAME PORT PID: zeroes the counters of the callgrind run PID, sends the requests, dumps, prints Ir/request.
measure() {
    send "$2" 200
    callgrind_control -z "$3" >/dev/null 2>&1
    send "$2" "$REQUESTS"
    callgrind_control -d "$3" >/dev/null 2>&1
    local dump total
    dump=$(ls -t "$WORK"/callgrind.out."$3".* | head -1)
    total=$(awk '/^totals:/ {print $2}' "$dump")
    [ -n "$KEEP" ] && cp "$dump" "$KEEP.$1"
    printf "%-24s %12d instructions per request (%d requests, %d connections)\n" "$1" $(( total / REQUESTS )) "$REQUESTS" "$CONNECTIONS"
}

wait_for() { # URL [PID LOG]: waits up to 5 minutes (valgrind starts slowly) while PID lives, or prints LOG's end and stops
    for _ in $(seq 1 1500); do
        curl -s -o /dev/null "$1" && return 0
        if [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null; then break; fi
        sleep 0.2
    done
    echo "not up: $1" >&2; [ -n "${3:-}" ] && tail -20 "$3" >&2; exit 1
}
wait_for "http://127.0.0.1:$UPSTREAM/"

if [ "$NGINX_TOO" = yes ]; then
    proxy_nginx "$WORK/nginx" $NGINX $UPSTREAM 1 "master_process off;"
    valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out.%p" \
        nginx -c "$WORK/nginx/nginx.conf" -g 'daemon off;' 2>"$WORK/nginx-valgrind.log" & NGINX_PID=$!; PIDS+=($NGINX_PID)
    wait_for "http://127.0.0.1:$NGINX/"
    measure nginx $NGINX $NGINX_PID
    kill "$NGINX_PID"
fi

# bench_policies runs `ghl-gateway keys new` from a directory: the binary under test, by that name.
mkdir -p "$WORK/bin" && ln -s "$(realpath "$BINARY")" "$WORK/bin/ghl-gateway"
bench_policies "$WORK/gateway" "$WORK/bin"
bench_secrets "$WORK/gateway"
gateway_yaml "$WORK/gateway" $GATEWAY $UPSTREAM "$WORK/gateway" "$WORK/gateway/policies" on "$EXTRA"
[ -x .build/release/ghl-bench ] || swift build -c release --product ghl-bench >/dev/null
.build/release/ghl-bench seed --config "$WORK/gateway/gateway.yaml" --locations 1 >/dev/null
# Valgrind 3.19 cannot read the DWARF 5 that Swift writes: a copy without it (the symbols stay).
objcopy --strip-debug "$BINARY" "$WORK/ghl-gateway"
# Nor does it survive libdispatch's main thread parking in sigsuspend with a mask in its read-only
# data (any Swift async main): a preloaded sigsuspend that passes the kernel a copy of the mask.
cat > "$WORK/sigsuspend.c" <<'C'
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>
int sigsuspend(const sigset_t *mask) { sigset_t copy = *mask; return (int)syscall(SYS_rt_sigsuspend, &copy, 8); }
C
gcc -shared -fPIC -O2 "$WORK/sigsuspend.c" -o "$WORK/sigsuspend.so"
LD_PRELOAD="$WORK/sigsuspend.so" valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out.%p" \
    "$WORK/ghl-gateway" serve --config "$WORK/gateway/gateway.yaml" 2>"$WORK/gateway-valgrind.log" & GATEWAY_PID=$!; PIDS+=($GATEWAY_PID)
wait_for "http://127.0.0.1:18186/healthz" $GATEWAY_PID "$WORK/gateway-valgrind.log"
measure "$LABEL" $GATEWAY $GATEWAY_PID
