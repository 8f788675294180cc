#!/usr/bin/env bash
# The PostgreSQL backend, measured: proxy throughput of a gateway on PostgreSQL beside one on
# SQLite (cached tokens: the store is not on the request path, so expect the same), interleaved
# rounds; then refresh storms over several replicas on one database (ghl-bench replica-storm).
# Usage: bench/replicas.sh [--duration SECONDS] [--connections N] [--rounds N] [--replicas N] [--requests N]
# Starts its own PostgreSQL (Debian's postgresql package) in a temporary directory, on disk.
# Writes bench/results/replicas.md and prints it. Not a test: it measures, it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

DURATION=8
CONNECTIONS=32
ROUNDS=3
REPLICAS=3
REQUESTS=300
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) DURATION="$2"; shift 2 ;;
        --connections) CONNECTIONS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --replicas) REPLICAS="$2"; shift 2 ;;
        --requests) REQUESTS="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

need=()
for tool in wrk nginx; do command -v "$tool" >/dev/null 2>&1 || need+=("$tool"); done
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

echo "building ghl-gateway and ghl-bench in release mode..."
swift build -c release --product ghl-gateway >/dev/null
swift build -c release --product ghl-bench >/dev/null
BIN=.build/release

WORK=$(mktemp -d /tmp/ghl-replicas.XXXXXX)
chmod 755 "$WORK"
PIDS=()
AS_PG=(); [ "$(id -u)" = 0 ] && AS_PG=(runuser -u postgres --)
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$WORK/pg/data/postmaster.pid" ] && "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m fast stop >/dev/null 2>&1 || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# PostgreSQL as a replica set would use it: on disk, fsync on, defaults otherwise.
PGPORT=18190
mkdir -p "$WORK/pg"; [ "$(id -u)" = 0 ] && chown postgres "$WORK/pg"
"${AS_PG[@]}" "$PGBIN/initdb" -D "$WORK/pg/data" -U postgres -A trust -E UTF8 >/dev/null
"${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg/data" -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1" -l "$WORK/pg/log" -w start >/dev/null
for db in throughput storm; do "$PGBIN/psql" -h 127.0.0.1 -p $PGPORT -U postgres -qc "CREATE DATABASE $db" >/dev/null; done

UPSTREAM=18180; SQLITE=18181; POSTGRES=18184
BODY='{"contact":{"id":"abc123","locationId":"benchLocation1","firstName":"Ada"}}'
upstream_nginx "$WORK/upstream" $UPSTREAM "$BODY"

bench_policies "$WORK" $BIN
head -c 32 /dev/urandom | base64 > "$WORK/key"
echo "bench-client-secret" > "$WORK/secret"
echo "bench-admin-token-0123456789" > "$WORK/admin"
echo "postgres://postgres@127.0.0.1:$PGPORT/throughput?sslmode=disable" > "$WORK/postgres-url"
gateway_config() { # $1: name, $2: proxy port, $3: storage line
    mkdir -p "$WORK/$1"
    cat > "$WORK/$1/gateway.yaml" <<CONF
listen: {proxy: "127.0.0.1:$2", public: "127.0.0.1:$(($2 + 1))", admin: "127.0.0.1:$(($2 + 2))"}
public_url: http://127.0.0.1:$(($2 + 1))
highlevel:
  api_base_url: http://127.0.0.1:$UPSTREAM
  client_id: bench-app
  client_secret: file:$WORK/secret
  install_scopes: [contacts.readonly]
  rate_limit: {burst: 100000000/10s, daily: 100000000}
storage:
  $3
  encryption_key: file:$WORK/key
admin_token: file:$WORK/admin
policies_dir: $WORK/policies
logging: {level: notice, format: json}
CONF
    $BIN/ghl-bench seed --config "$WORK/$1/gateway.yaml" --locations 1 >/dev/null
    $BIN/ghl-gateway serve --config "$WORK/$1/gateway.yaml" 2>"$WORK/$1.log" & PIDS+=($!)
}
nginx -c "$WORK/upstream/nginx.conf" -g 'daemon off;' & PIDS+=($!)
gateway_config sqlite $SQLITE "sqlite_path: $WORK/sqlite/gateway.sqlite"
gateway_config postgres $POSTGRES "postgres_url: file:$WORK/postgres-url"

PATH_Q="/contacts/abc123?locationId=benchLocation1"
wait_for() { for _ in $(seq 1 100); do curl -sf -o /dev/null -H "Authorization: Bearer $KEY" "$1" && return 0; sleep 0.1; done; echo "not up: $1" >&2; exit 1; }
declare -A TARGET=([sqlite]=$SQLITE [postgres]=$POSTGRES)
for c in sqlite postgres; do wait_for "http://127.0.0.1:${TARGET[$c]}$PATH_Q"; done

declare -A RPS P50 P99
echo "warming up..."
for c in sqlite postgres; do wrk -t2 -c"$CONNECTIONS" -d2s -H "Authorization: Bearer $KEY" "http://127.0.0.1:${TARGET[$c]}$PATH_Q" >/dev/null; done
for round in $(seq 1 "$ROUNDS"); do
    for c in sqlite postgres; do
        read -r _ rps p50 p99 _ _ errors <<<"$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s bench/report.lua \
            -H "Authorization: Bearer $KEY" "http://127.0.0.1:${TARGET[$c]}$PATH_Q" | grep '^RESULT')"
        echo "round $round $c: $rps req/s, p50 ${p50}us p99 ${p99}us, errors $errors"
        RPS[$c]="${RPS[$c]:-} $rps"; P50[$c]="${P50[$c]:-} $p50"; P99[$c]="${P99[$c]:-} $p99"
    done
done
for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
wait 2>/dev/null || true
PIDS=()

STORM=$($BIN/ghl-bench replica-storm --postgres-url "postgres://postgres@127.0.0.1:$PGPORT/storm?sslmode=disable" \
    --replicas "$REPLICAS" --requests "$REQUESTS" --rounds 5)

mkdir -p bench/results
OUT=bench/results/replicas.md
{
    echo "# ghl-gateway on PostgreSQL"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on disk (fsync on);"
    echo "wrk -t2 -c$CONNECTIONS, ${DURATION}s per run, $ROUNDS interleaved rounds (medians); cached tokens, upstream nginx."
    echo
    echo "| store | requests/s | p50 | p99 |"
    echo "| --- | ---: | ---: | ---: |"
    for c in sqlite postgres; do
        printf "| %s | %.0f | %d µs | %d µs |\n" "$c" "$(echo "${RPS[$c]}" | median)" "$(echo "${P50[$c]}" | median)" "$(echo "${P99[$c]}" | median)"
    done
    echo
    echo '```'
    echo "$STORM"
    echo '```'
} > "$OUT"
cat "$OUT"
