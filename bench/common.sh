# Shared by bench/run.sh and bench/replicas.sh (sourced, not run).

# nginx_conf DIR WORKERS MAIN HTTP: DIR/nginx.conf with WORKERS workers, MAIN's main-context
# directives and HTTP's inside `http {}`, its pid, logs and temporary files in DIR, access log off.
nginx_conf() {
    mkdir -p "$1"
    cat > "$1/nginx.conf" <<CONF
worker_processes $2;
$3
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 10000000;
    client_body_temp_path $1;
    proxy_temp_path $1;
$4
}
CONF
}

# upstream_nginx DIR PORT BODY: an nginx that answers every request with BODY (JSON), in DIR.
upstream_nginx() {
    nginx_conf "$1" 1 "" "    server {
        listen 127.0.0.1:$2;
        location / { default_type application/json; return 200 '$3'; }
    }"
}

# bench_policies DIR BIN: the shipped catalog and one client, bench, allowed contacts.readonly
# everywhere, in DIR/policies; sets KEY (its gateway key).
bench_policies() {
    mkdir -p "$1/policies/clients"
    cp -r policies/highlevel-scopes.md policies/catalog-overrides.yaml policies/openapi "$1/policies/"
    local output
    output=$("$2/ghl-gateway" keys new --client bench)
    KEY=$(echo "$output" | grep '^ghlgw_')
    printf 'client: bench\n%s\nlocations: ["*"]\nallow: [contacts.readonly]\n' "$(echo "$output" | grep '^key: ')" \
        > "$1/policies/clients/bench.yaml"
}

# The median of the numbers on standard input (space or line separated).
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# The JSON every upstream here answers with: a contact of 731 bytes.
bench_body() {
    python3 -c 'import json; print(json.dumps({"contact": {"id": "abc123", "locationId": "benchLocation1", "firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "tags": ["bench"] * 20, "customFields": [{"id": "f%d" % i, "value": "v" * 12} for i in range(12)]}}, separators=(",", ":")))'
}

# proxy_nginx DIR PORT UPSTREAM_PORT WORKERS [MAIN]: nginx as the reference proxy, in DIR: keep-alive
# to the upstream and a static Authorization; MAIN adds main-context directives.
proxy_nginx() {
    nginx_conf "$1" "$4" "${5:-}" "    upstream up { server 127.0.0.1:$3; keepalive 64; }
    server {
        listen 127.0.0.1:$2;
        location / {
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Authorization \"Bearer static-upstream-token\";
        }
    }"
}

# bench_workdir NAME: WORK, a new directory under /tmp, and PIDS, the processes a script starts;
# both are gone when the script exits, however it exits.
bench_workdir() {
    WORK=$(mktemp -d "/tmp/$1.XXXXXX")
    PIDS=()
    trap bench_cleanup EXIT
}

bench_cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}

# bench_needs TOOL...: stops the script, naming the first tool this machine lacks.
bench_needs() {
    for tool in "$@"; do command -v "$tool" >/dev/null || { echo "needs $tool (bench/run.sh installs wrk and nginx)" >&2; exit 2; }; done
}

# bench_secrets DIR: the encryption key, HighLevel's client secret and the admin token, as files in DIR.
bench_secrets() {
    mkdir -p "$1"
    head -c 32 /dev/urandom | base64 > "$1/key"
    echo "bench-client-secret" > "$1/secret"
    echo "bench-admin-token-0123456789" > "$1/admin"
}

# gateway_yaml DIR PORT UPSTREAM_PORT SECRETS POLICIES [BUDGET] [EXTRA]: DIR/gateway.yaml, its
# listeners on PORT (proxy), PORT+1 (public) and PORT+2 (admin), its vault in DIR. BUDGET: on (the
# default: HighLevel's budget enforced far from its limit), off, or none (a build from before it).
gateway_yaml() {
    local budget="  rate_limit: {burst: 100000000/10s, daily: 100000000, enforce: true}"
    case "${6:-on}" in off) budget="  rate_limit: {enforce: false}" ;; none) budget="" ;; esac
    mkdir -p "$1"
    cat > "$1/gateway.yaml" <<CONF
listen: {proxy: "127.0.0.1:$2", public: "127.0.0.1:$(($2 + 1))", admin: "127.0.0.1:$(($2 + 2))"}
public_url: http://127.0.0.1:$(($2 + 1))
highlevel:
  api_base_url: http://127.0.0.1:$3
  client_id: bench-app
  client_secret: file:$4/secret
  install_scopes: [contacts.readonly]
$budget
storage:
  sqlite_path: $1/gateway.sqlite
  encryption_key: file:$4/key
admin_token: file:$4/admin
policies_dir: $5
logging: {level: notice, format: json}
${7:-}
CONF
}
