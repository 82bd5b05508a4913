#!/usr/bin/env bash
# stack.sh - the whole system on this machine: private PostgreSQL, graph-sim (the
# sandbox, unless real WhatsApp credentials are configured), notification-service and
# tenant-service, from the binaries in build/.
#
#   scripts/stack.sh up       start in the background, write .run/stack.env
#   scripts/stack.sh down     stop everything `up` started (no process left behind)
#   scripts/stack.sh run      `up`, print the page URLs, stop everything on Ctrl-C
#   scripts/stack.sh migrate  apply both services' migrations and exit
#   scripts/stack.sh cluster-up / cluster-down
#                             two instances of each service behind nginx (issue 23), in
#                             .run/cluster/ on ports from CLUSTER_PORT_BASE (8100): +1 the
#                             pages and tenant-service, +2 notification-service (both
#                             through nginx), +11/+21 and +12/+22 the instances, +90
#                             graph-sim, +25 the mail server
#
# Configuration: the environment, then .env (if present) for anything not set. Setting
# WHATSAPP_ACCESS_TOKEN (and the other WHATSAPP_* of .env.example) means "real WABA":
# graph-sim is not started and GRAPH_API_BASE_URL defaults to graph.facebook.com.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
run_dir=$root/.run
case "${1:-}" in cluster-*) run_dir=${STACK_RUN_DIR:-$root/.run/cluster} ;; esac
pid_dir=$run_dir/pids
log_dir=$run_dir/logs
bin=${BIN_DIR:-$root/build}
mkdir -p "$pid_dir" "$log_dir"

die() { echo "stack: $*" >&2; exit 1; }

load_dotenv() {
    [ -f .env ] || return 0
    local line key
    while IFS= read -r line || [ -n "$line" ]; do
        case "$line" in ''|'#'*) continue ;; esac
        key=${line%%=*}
        [[ $key =~ ^[A-Z_][A-Z0-9_]*$ ]] || continue
        # the environment wins over .env
        if [ -z "${!key+x}" ]; then export "$key=${line#*=}"; fi
    done < .env
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_ready() { # NAME URL
    local i
    for i in $(seq 1 150); do
        if curl -fsS -o /dev/null "$2/ready" 2>/dev/null; then return 0; fi
        if ! kill -0 "$(cat "$pid_dir/$1.pid" 2>/dev/null)" 2>/dev/null; then
            tail -5 "$log_dir/$1.log" >&2
            die "$1 exited during start-up (log: .run/logs/$1.log)"
        fi
        sleep 0.1
    done
    die "$1 did not become ready at $2 (log: .run/logs/$1.log)"
}

start_daemon() { # NAME PORT_VAR PORT [BINARY [VAR=VALUE...]]
    local name=$1 var=$2 port=$3 binary=${4:-$1}
    shift $(($# < 4 ? $# : 4))
    if [ -f "$pid_dir/$name.pid" ] && kill -0 "$(cat "$pid_dir/$name.pid")" 2>/dev/null; then
        return 0
    fi
    port_busy "$port" && die "port $port ($var) is in use; set $var to another port"
    [ -x "$bin/$binary" ] || die "$bin/$binary is missing: run make first"
    env "$var=$port" "$@" "$bin/$binary" >>"$log_dir/$name.log" 2>&1 &
    echo $! >"$pid_dir/$name.pid"
}

stop_daemon() { # NAME
    local f=$pid_dir/$1.pid pid i
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "stack: $1 did not stop within 10 s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$f"
}

configure() {
    load_dotenv
    scripts/pg.sh start "$run_dir/pg"
    # shellcheck disable=SC1091
    . "$run_dir/pg/env"
    export TENANT_DATABASE_URL NOTIFICATION_DATABASE_URL
    if [ -z "${JWT_SECRET:-}" ]; then
        [ -f "$run_dir/jwt_secret" ] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$run_dir/jwt_secret"
        JWT_SECRET=$(cat "$run_dir/jwt_secret")
    fi
    export JWT_SECRET
    export TENANT_PORT=${TENANT_PORT:-8001} NOTIFICATION_PORT=${NOTIFICATION_PORT:-8002}
    export GRAPH_SIM_PORT=${GRAPH_SIM_PORT:-8090}
    export TENANT_URL=http://127.0.0.1:$TENANT_PORT
    export NOTIFICATION_URL=http://127.0.0.1:$NOTIFICATION_PORT
    export TENANT_SERVICE_URL=${TENANT_SERVICE_URL:-$TENANT_URL}
    export NOTIFICATION_SERVICE_URL=${NOTIFICATION_SERVICE_URL:-$NOTIFICATION_URL}
    if [ -n "${WHATSAPP_ACCESS_TOKEN:-}" ] && [ -z "${GRAPH_API_BASE_URL:-}" ]; then
        sandbox=0
        GRAPH_SIM_URL=
    else
        sandbox=1
        export GRAPH_SIM_URL=http://127.0.0.1:$GRAPH_SIM_PORT
        export GRAPH_API_BASE_URL=${GRAPH_API_BASE_URL:-$GRAPH_SIM_URL}
        export WHATSAPP_BUSINESS_ACCOUNT_ID=${WHATSAPP_BUSINESS_ACCOUNT_ID:-102290129340398}
        export WHATSAPP_ACCESS_TOKEN=${WHATSAPP_ACCESS_TOKEN:-EAAsandbox-token}
        export WHATSAPP_PHONE_NUMBER_ID=${WHATSAPP_PHONE_NUMBER_ID:-109876543210001}
        export WHATSAPP_WEBHOOK_VERIFY_TOKEN=${WHATSAPP_WEBHOOK_VERIFY_TOKEN:-sandbox-verify-token}
        export WHATSAPP_APP_SECRET=${WHATSAPP_APP_SECRET:-sandbox-app-secret}
        export GRAPH_SIM_ACCESS_TOKEN=$WHATSAPP_ACCESS_TOKEN
        export GRAPH_SIM_WABA_ID=$WHATSAPP_BUSINESS_ACCOUNT_ID
        export GRAPH_SIM_APP_SECRET=$WHATSAPP_APP_SECRET
        export GRAPH_SIM_WEBHOOK_URL=$NOTIFICATION_URL/api/v1/whatsapp/webhook
    fi
    export WHATSAPP_API_VERSION=${WHATSAPP_API_VERSION:-v25.0}
    # Purchase orders by email: without a mail server of its own, a local one that keeps
    # what it receives in .run/mail/ (tests/lib/smtp_sink.py), when aiosmtpd is there.
    mail_sink=0
    if [ -z "${SMTP_URL:-}" ] && /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null; then
        mail_sink=1
        export SMTP_SINK_PORT=${SMTP_SINK_PORT:-8025}
        export SMTP_URL=smtp://127.0.0.1:$SMTP_SINK_PORT SMTP_STARTTLS=false
        export SMTP_FROM=${SMTP_FROM:-pedidos@plataforma.example}
    fi
}

write_stack_env() {
    local f=$run_dir/stack.env
    {
        echo "TENANT_URL=$TENANT_URL"
        echo "NOTIFICATION_URL=$NOTIFICATION_URL"
        echo "GRAPH_SIM_URL=${GRAPH_SIM_URL:-}"
        echo "JWT_SECRET=$JWT_SECRET"
        echo "ADMIN_TOKEN=$("$bin/mint-token" --role admin --sub platform-admin --ttl 86400)"
        echo "SERVICE_TOKEN=$("$bin/mint-token" --role service --sub order-service --ttl 86400)"
        echo "DEMO_TENANT_ID=${DEMO_TENANT_ID:-}"
        if [ -n "${DEMO_TENANT_ID:-}" ]; then
            echo "OWNER_TOKEN=$("$bin/mint-token" --role user --tenant "$DEMO_TENANT_ID" --tenant-role owner --sub demo-owner --ttl 86400)"
        else
            echo "OWNER_TOKEN="
        fi
        echo "TENANT_DATABASE_URL=$TENANT_DATABASE_URL"
        echo "NOTIFICATION_DATABASE_URL=$NOTIFICATION_DATABASE_URL"
        echo "WHATSAPP_BUSINESS_ACCOUNT_ID=${WHATSAPP_BUSINESS_ACCOUNT_ID:-}"
        if [ "$sandbox" = 1 ]; then
            echo "WHATSAPP_ACCESS_TOKEN=$WHATSAPP_ACCESS_TOKEN"
        else
            echo "# the real access token is configured and deliberately not copied here"
            echo "WHATSAPP_ACCESS_TOKEN="
        fi
        echo "WHATSAPP_API_VERSION=$WHATSAPP_API_VERSION"
        echo "WHATSAPP_WEBHOOK_VERIFY_TOKEN=${WHATSAPP_WEBHOOK_VERIFY_TOKEN:-}"
        echo "WHATSAPP_APP_SECRET=$([ "$sandbox" = 1 ] && echo "${WHATSAPP_APP_SECRET:-}")"
    } >"$f.tmp"
    chmod 600 "$f.tmp"
    mv "$f.tmp" "$f"
}

# graph-sim (in the sandbox) and the local mail server (when used).
start_support() {
    if [ "$sandbox" = 1 ]; then
        start_daemon graph-sim GRAPH_SIM_PORT "$GRAPH_SIM_PORT"
        wait_ready graph-sim "$GRAPH_SIM_URL"
    fi
    if [ "$mail_sink" = 1 ] && ! { [ -f "$pid_dir/smtp-sink.pid" ] &&
        kill -0 "$(cat "$pid_dir/smtp-sink.pid")" 2>/dev/null; }; then
        port_busy "$SMTP_SINK_PORT" && die "port $SMTP_SINK_PORT (SMTP_SINK_PORT) is in use"
        /usr/bin/python3 tests/lib/smtp_sink.py --port "$SMTP_SINK_PORT" --dir "$run_dir/mail" \
            >>"$log_dir/smtp-sink.log" 2>&1 &
        echo $! >"$pid_dir/smtp-sink.pid"
    fi
}

# The demo bakeries (scripts/demo.sh), and .run/stack.env with their owner's token.
seed_demo() {
    write_stack_env
    if [ -x scripts/demo.sh ]; then
        set -a # demo.sh reads the URLs and tokens from its environment
        # shellcheck disable=SC1091
        . "$run_dir/stack.env"
        set +a
        DEMO_TENANT_ID=$(scripts/demo.sh) || die "creating the demo bakeries failed"
        write_stack_env
    fi
}

up() {
    configure
    start_support
    start_daemon notification-service NOTIFICATION_PORT "$NOTIFICATION_PORT"
    start_daemon tenant-service TENANT_PORT "$TENANT_PORT"
    wait_ready notification-service "$NOTIFICATION_URL"
    wait_ready tenant-service "$TENANT_URL"
    seed_demo
    echo "stack: up (sandbox=$sandbox); settings in .run/stack.env, logs in .run/logs/"
}

# ---------------------------------------------------------------- the cluster

nginx_bin() { command -v nginx 2>/dev/null || echo /usr/sbin/nginx; }

# The balancer's configuration: the instances of each service behind one port each, with
# deploy/nginx/proxy.conf (the same as docker-compose.cluster.yml's balancer).
write_nginx_conf() { # BASE
    local base=$1 dir=$run_dir/nginx
    mkdir -p "$dir/tmp"
    {
        [ "$(id -u)" = 0 ] && echo "user $(id -un);" # else nginx runs as nobody
        echo "worker_processes 1;"
        echo "pid $dir/nginx.pid;"
        echo "error_log $log_dir/nginx.log warn;"
        echo "events {}"
        echo "http {"
        echo "    access_log $log_dir/nginx-access.log;"
        for t in client_body proxy fastcgi uwsgi scgi; do echo "    ${t}_temp_path $dir/tmp/$t;"; done
        echo "    upstream tenant_service {"
        echo "        server 127.0.0.1:$((base + 11)) max_fails=2 fail_timeout=10s;"
        echo "        server 127.0.0.1:$((base + 21)) max_fails=2 fail_timeout=10s;"
        echo "        keepalive 32;"
        echo "    }"
        echo "    upstream notification_service {"
        echo "        server 127.0.0.1:$((base + 12)) max_fails=2 fail_timeout=10s;"
        echo "        server 127.0.0.1:$((base + 22)) max_fails=2 fail_timeout=10s;"
        echo "        keepalive 32;"
        echo "    }"
        echo "    server {"
        echo "        listen 127.0.0.1:$TENANT_PORT;"
        echo "        location / { proxy_pass http://tenant_service; include $root/deploy/nginx/proxy.conf; }"
        echo "    }"
        echo "    server {"
        echo "        listen 127.0.0.1:$NOTIFICATION_PORT;"
        echo "        location / { proxy_pass http://notification_service; include $root/deploy/nginx/proxy.conf; }"
        echo "    }"
        echo "}"
    } >"$dir/nginx.conf"
}

cluster_up() {
    local base=${CLUSTER_PORT_BASE:-8100} i
    [ -x "$(nginx_bin)" ] || die "nginx is missing: scripts/setup.sh cluster installs it"
    # The services reach each other, and graph-sim reaches the webhook, through nginx.
    export TENANT_PORT=$((base + 1)) NOTIFICATION_PORT=$((base + 2))
    export GRAPH_SIM_PORT=$((base + 90)) SMTP_SINK_PORT=$((base + 25))
    configure
    start_support
    for i in 1 2; do
        start_daemon "notification-service-$i" NOTIFICATION_PORT $((base + 10 * i + 2)) \
            notification-service "INSTANCE_ID=notification-$i"
        start_daemon "tenant-service-$i" TENANT_PORT $((base + 10 * i + 1)) tenant-service
    done
    for i in 1 2; do
        wait_ready "notification-service-$i" "http://127.0.0.1:$((base + 10 * i + 2))"
        wait_ready "tenant-service-$i" "http://127.0.0.1:$((base + 10 * i + 1))"
    done
    for p in "$TENANT_PORT" "$NOTIFICATION_PORT"; do
        port_busy "$p" && die "port $p (the balancer's) is in use; set CLUSTER_PORT_BASE"
    done
    write_nginx_conf "$base"
    "$(nginx_bin)" -p "$run_dir/nginx" -c "$run_dir/nginx/nginx.conf" ||
        die "nginx did not start (log: $log_dir/nginx.log)"
    for i in $(seq 1 50); do
        [ -f "$run_dir/nginx/nginx.pid" ] && break
        sleep 0.1
    done
    cp "$run_dir/nginx/nginx.pid" "$pid_dir/nginx.pid"
    wait_ready nginx "$TENANT_URL"
    wait_ready nginx "$NOTIFICATION_URL"
    seed_demo
    echo "stack: cluster up (sandbox=$sandbox) in ${run_dir#"$root"/}; settings in ${run_dir#"$root"/}/stack.env"
}

cluster_down() {
    stop_daemon nginx
    for i in 1 2; do
        stop_daemon "tenant-service-$i"
        stop_daemon "notification-service-$i"
    done
    stop_daemon graph-sim
    stop_daemon smtp-sink
    scripts/pg.sh stop "$run_dir/pg"
}

cluster_urls() {
    local base=${CLUSTER_PORT_BASE:-8100} i
    print_urls "make down-cluster stops everything."
    echo "  Behind nginx (X-Upstream names the instance that answered):"
    for i in 1 2; do
        echo "    tenant-service-$i       http://127.0.0.1:$((base + 10 * i + 1))  (/metrics)"
        echo "    notification-service-$i http://127.0.0.1:$((base + 10 * i + 2))  (/metrics: whatsapp_sender_number_owned)"
    done
}

down() {
    stop_daemon tenant-service
    stop_daemon notification-service
    stop_daemon graph-sim
    stop_daemon smtp-sink
    scripts/pg.sh stop "$run_dir/pg"
}

print_urls() {
    # shellcheck disable=SC1091
    . "$run_dir/stack.env"
    cat <<MSG

  WhatsApp admin page (platform admin):
    $TENANT_URL/app/admin/whatsapp#token=$ADMIN_TOKEN

  Notification settings card (owner of the demo bakery):
    $TENANT_URL/app/settings/notifications#token=$OWNER_TOKEN

  APIs: tenant-service $TENANT_URL, notification-service $NOTIFICATION_URL${GRAPH_SIM_URL:+, graph-sim $GRAPH_SIM_URL}
  Tokens and URLs for scripts: ${run_dir#"$root"/}/stack.env. ${1:-Press Ctrl-C to stop everything.}
MSG
}

case "${1:-}" in
up) up ;;
down) down ;;
run)
    trap 'echo; echo "stack: stopping"; down; exit 0' INT TERM
    up
    print_urls
    while sleep 1; do
        for name in tenant-service notification-service; do
            if ! kill -0 "$(cat "$pid_dir/$name.pid" 2>/dev/null)" 2>/dev/null; then
                echo "stack: $name stopped unexpectedly (log: .run/logs/$name.log)" >&2
                down
                exit 1
            fi
        done
    done
    ;;
cluster-up) cluster_up && cluster_urls ;;
cluster-down) cluster_down ;;
migrate)
    configure
    "$bin/tenant-service" --migrate-only
    "$bin/notification-service" --migrate-only
    ;;
*) echo "usage: $0 up|down|run|migrate|cluster-up|cluster-down" >&2; exit 2 ;;
esac
