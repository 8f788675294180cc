# Shared by bench/run.sh and bench/replicas.sh (sourced, not run).

# upstream_nginx DIR PORT BODY: an nginx that answers every request with BODY (JSON), in DIR.
upstream_nginx() {
    mkdir -p "$1"
    cat > "$1/nginx.conf" <<CONF
worker_processes 1;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 10000000;
    client_body_temp_path $1;
    server {
        listen 127.0.0.1:$2;
        location / { default_type application/json; return 200 '$3'; }
    }
}
CONF
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
