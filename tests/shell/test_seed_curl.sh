#!/usr/bin/env bash
# shellcheck disable=SC2016 # $names inside single-quoted jq programs are jq's own
# test_seed_curl.sh - the README's "Using the API" commands (the seed's "D. Useful
# Commands" with a bearer token added) run exactly as written against a stack this test
# starts itself: a private PostgreSQL (scripts/pg.sh in .run/test-seed-curl-PID/pg), graph-sim,
# notification-service and tenant-service from $BIN_DIR on free ports, and scripts/demo.sh
# for the ten bakeries (checked on the way: one id on stdout, idempotent). The commands are
# read from between the README's seed-curl markers; two substitutions only:
# http://localhost:8001 becomes this stack's tenant-service and .run/stack.env this
# stack's env file. Output: TAP.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cd "$ROOT" || exit 1
BIN_DIR=${BIN_DIR:-build/asan}
DIR=$ROOT/.run/test-seed-curl-$$ # per run: two runs at once must not share a cluster
PG_DIR=$DIR/pg
JWT_SECRET=seed-curl-jwt-secret-0123456789
WABA_ID=987654321098765
GRAPH_TOKEN=EAAseed-curl-token
DEFAULT_PHONE=109876543210001 # WHATSAPP_PHONE_NUMBER_ID: never assigned to a bakery
SAN_JUAN_PHONE=109876543210002 # what demo.sh gives Panadería San Juan

names=()
pids=()
# shellcheck source=tests/lib/tap.sh
. "$ROOT/tests/lib/tap.sh"

# check DESCRIPTION COMMAND...: ok when the command succeeds.
check() {
    local what=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$what"; else not_ok "$what"; fi
}

stop_all() {
    local i status
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[$i]}" 2>/dev/null || continue
        wait "${pids[$i]}"
        status=$?
        if [ "$status" -eq 0 ]; then
            ok "${names[$i]} exits 0 on SIGTERM"
        else
            not_ok "${names[$i]} exits 0 on SIGTERM" "status $status; log: $DIR/${names[$i]}.log"
        fi
    done
    pids=()
}

finish() {
    stop_all
    scripts/pg.sh wipe "$PG_DIR" >/dev/null 2>&1 || true
    if [ "$failed" -eq 0 ]; then
        rm -rf "$DIR"
    else
        echo "# logs and outputs kept in $DIR"
    fi
    tap_done
}

bail() {
    not_ok "$1" "${2:-}"
    finish
    exit 1
}

free_port() {
    local port
    for _ in $(seq 1 200); do
        # below the kernel's ephemeral range (32768 up): an outgoing connection of a suite
        # running beside this one may take a port of that range between check and bind
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# start NAME PORT READY_PATH [K=V...]: starts $BIN_DIR/NAME and waits until it answers.
start() {
    local name=$1 port=$2 ready=$3
    shift 3
    env "$@" "$BIN_DIR/$name" >"$DIR/$name.log" 2>&1 &
    pids+=($!)
    names+=("$name")
    for _ in $(seq 1 150); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port$ready" 2>/dev/null && return 0
        kill -0 "${pids[-1]}" 2>/dev/null || break
        sleep 0.1
    done
    bail "$name starts" "$(tail -20 "$DIR/$name.log")"
}

# ---- the stack ----------------------------------------------------------------------------

for bin in tenant-service notification-service graph-sim mint-token; do
    [ -x "$BIN_DIR/$bin" ] || bail "$BIN_DIR/$bin is built"
done
mkdir -p "$DIR"
out=$(scripts/pg.sh start "$PG_DIR" 2>&1) || bail "private PostgreSQL starts" "$out"
# shellcheck disable=SC1091
. "$PG_DIR/env"

if ! { SIM_PORT=$(free_port) && NOTIF_PORT=$(free_port) && TENANT_PORT=$(free_port); }; then
    bail "free ports"
fi
SIM_URL=http://127.0.0.1:$SIM_PORT
NOTIF_URL=http://127.0.0.1:$NOTIF_PORT
TS_URL=http://127.0.0.1:$TENANT_PORT

start graph-sim "$SIM_PORT" /ready GRAPH_SIM_PORT="$SIM_PORT" GRAPH_SIM_ACCESS_TOKEN="$GRAPH_TOKEN" \
    GRAPH_SIM_WABA_ID="$WABA_ID"
start notification-service "$NOTIF_PORT" /health NOTIFICATION_PORT="$NOTIF_PORT" \
    NOTIFICATION_DATABASE_URL="$NOTIFICATION_DATABASE_URL" JWT_SECRET="$JWT_SECRET" \
    TENANT_SERVICE_URL="$TS_URL" GRAPH_API_BASE_URL="$SIM_URL" \
    WHATSAPP_ACCESS_TOKEN="$GRAPH_TOKEN" WHATSAPP_BUSINESS_ACCOUNT_ID="$WABA_ID" \
    WHATSAPP_PHONE_NUMBER_ID="$DEFAULT_PHONE"
start tenant-service "$TENANT_PORT" /ready TENANT_PORT="$TENANT_PORT" \
    TENANT_DATABASE_URL="$TENANT_DATABASE_URL" JWT_SECRET="$JWT_SECRET" \
    NOTIFICATION_SERVICE_URL="$NOTIF_URL" STATIC_DIR="$ROOT/frontend-static"
ok "stack started (graph-sim, notification-service, tenant-service)"

mint() { JWT_SECRET=$JWT_SECRET "$BIN_DIR/mint-token" "$@"; }
ADMIN_TOKEN=$(mint --role admin --sub platform-admin --ttl 3600)

# ---- scripts/demo.sh ----------------------------------------------------------------------

demo() {
    TENANT_URL=$TS_URL NOTIFICATION_URL=$NOTIF_URL ADMIN_TOKEN=$ADMIN_TOKEN scripts/demo.sh
}
uuid_re='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
first=$(demo 2>"$DIR/demo1.err")
status=$?
if [ "$status" -eq 0 ] && [[ $first =~ $uuid_re ]]; then
    ok "demo.sh prints only the demo bakery's id"
else
    not_ok "demo.sh prints only the demo bakery's id" "status $status, stdout: $first
$(cat "$DIR/demo1.err")"
fi
second=$(demo 2>"$DIR/demo2.err")
if [ "$second" = "$first" ]; then ok "demo.sh again: the same id"; else not_ok "demo.sh again: the same id" "$second"; fi
admin_get() { curl -fsS -H "Authorization: Bearer $ADMIN_TOKEN" "$TS_URL$1"; }
tenants=$(admin_get /api/v1/tenants)
check "demo.sh again: still ten bakeries, each once" \
    jq -e 'length == 10 and (map(.name) | unique | length) == 10' <<<"$tenants"
check "demo.sh: the id is Panadería San Juan's" \
    jq -e --arg id "$first" '.[] | select(.id == $id) | .name == "Panadería San Juan"' <<<"$tenants"
status_json=$(admin_get /api/v1/admin/whatsapp/tenants)
check "demo.sh: six bakeries with a number, four with WhatsApp on" \
    jq -e '([.[] | select(.phone_number_id != null)] | length) == 6
           and ([.[] | select(.whatsapp_enabled)] | length) == 4' <<<"$status_json"
check "demo.sh: Panadería San Juan has +34 612 345 679" \
    jq -e --arg id "$first" --arg p "$SAN_JUAN_PHONE" '.[] | select(.tenant_id == $id)
           | .phone_number_id == $p and .display_phone_number == "+34 612 345 679"' \
    <<<"$status_json"
check "demo.sh: the platform's default number is marked and given to nobody" \
    jq -e --arg p "$DEFAULT_PHONE" '[.[] | select(.is_default)] | length == 1
           and .[0].id == $p and .[0].assigned_tenant_id == null' \
    <<<"$(admin_get /api/v1/admin/whatsapp/phone-numbers)"
check "demo.sh: nothing assigned twice (one audit row per bakery)" \
    jq -e 'length == 6' <<<"$(admin_get '/api/v1/admin/whatsapp/audit-log?limit=500')"

OWNER_TOKEN=$(mint --role user --tenant "$first" --tenant-role owner --sub demo-owner --ttl 3600)
cat >"$DIR/stack.env" <<ENV
TENANT_URL=$TS_URL
NOTIFICATION_URL=$NOTIF_URL
GRAPH_SIM_URL=$SIM_URL
JWT_SECRET=$JWT_SECRET
ADMIN_TOKEN=$ADMIN_TOKEN
SERVICE_TOKEN=$(mint --role service --sub order-service --ttl 3600)
DEMO_TENANT_ID=$first
OWNER_TOKEN=$OWNER_TOKEN
WHATSAPP_BUSINESS_ACCOUNT_ID=$WABA_ID
WHATSAPP_ACCESS_TOKEN=$GRAPH_TOKEN
WHATSAPP_API_VERSION=v18.0
ENV

# ---- the README's commands ----------------------------------------------------------------

# Splits the marked blocks into units: the lines before the first comment (setup), then
# one unit per "# comment" line up to the next blank line. Writes a script that runs them
# in order, each unit's stdout into $DIR/unit-K.out, and the unit names into units.txt.
rm -f "$DIR/units.txt"
awk -v dir="$DIR" -v url="$TS_URL" -v envfile="$DIR/stack.env" '
    /<!-- seed-curl:begin -->/ { inside = 1; next }
    /<!-- seed-curl:end -->/ { inside = 0; next }
    !inside || /^```/ { next }
    {
        gsub("http://localhost:8001", url)
        gsub("\\.run/stack\\.env", envfile)
    }
    /^# / {
        if (open) print "} >\"" dir "/unit-" k ".out\" 2>\"" dir "/unit-" k ".err\""
        k++
        print substr($0, 3) > (dir "/units.txt")
        print "{"
        open = 1
        next
    }
    /^[[:space:]]*$/ {
        if (open) print "} >\"" dir "/unit-" k ".out\" 2>\"" dir "/unit-" k ".err\""
        open = 0
        next
    }
    { print }
    END { if (open) print "} >\"" dir "/unit-" k ".out\" 2>\"" dir "/unit-" k ".err\"" }
' README.md >"$DIR/readme.sh"
rm -f "$DIR"/unit-*.out
if [ ! -s "$DIR/units.txt" ]; then
    bail "the README holds the seed-curl block"
fi
if bash -eo pipefail "$DIR/readme.sh" >"$DIR/readme.out" 2>&1; then
    ok "the README's commands run without an error"
else
    not_ok "the README's commands run without an error" "$(cat "$DIR/readme.out")"
fi

# What each command must print (jq -e over its stdout; -s where it prints a stream).
san_juan="'Panadería San Juan'"
k=0
while IFS= read -r unit; do
    k=$((k + 1))
    out="$DIR/unit-$k.out"
    args=()
    case "$unit" in
    "View all available phone numbers")
        args=(-e 'length == 10 and all(.[]; has("id") and has("quality_rating")
              and has("assigned_tenant_id") and has("assigned_tenant_name"))
              and ([.[] | select(.assigned_tenant_id != null)] | length) == 6') ;;
    "View tenant WhatsApp status")
        args=(-e 'length == 10 and ([.[] | select(.phone_number_id != null)] | length) == 6') ;;
    "Find which tenant has the phone number")
        args=(-s -e 'length == 1 and .[0].tenant_name == "Panadería San Juan"
              and .[0].display_phone_number == "+34 612 345 679"') ;;
    "Unassign phone from tenant")
        args=(-e ".success and .message == \"Phone number +34 612 345 679 unassigned from tenant $san_juan\"") ;;
    "Assign phone to tenant")
        args=(-e ".success and .message == \"Phone number +34 612 345 679 assigned to tenant $san_juan\"
              and .phone_number_id == \"109876543210002\"") ;;
    "Test WhatsApp connectivity")
        args=(-e '.id == "109876543210002" and .display_phone_number == "+34 612 345 679"
              and .quality_rating == "GREEN"') ;;
    "Check message template status")
        args=(-e '([.data[] | select(.name == "po_notification")] | map(.language) | sort)
              == ["en", "es", "eu"]') ;;
    "Why does a bakery not get WhatsApp messages? The seed's checklist, automated")
        args=(-e '.ok and (.checks | map(.name)) == ["whatsapp_enabled", "phone_assigned",
              "phone_in_waba", "master_credentials", "template_approved"]') ;;
    "Who assigned what, newest first")
        args=(-e 'map(.action) == ["assign", "unassign", "assign"]
              and .[1].actor == "platform-admin"') ;;
    "The bakery owner turns WhatsApp on and picks a language")
        args=(-e '.whatsapp_enabled and .whatsapp_default_language == "eu"
              and .whatsapp_phone_number_id == "109876543210002"') ;;
    esac
    if [ "${#args[@]}" -eq 0 ]; then
        not_ok "README: \"$unit\" has a check here" "add one to tests/shell/test_seed_curl.sh"
    elif [ -f "$out" ] && jq "${args[@]}" "$out" >/dev/null 2>&1; then
        ok "README: $unit"
    else
        not_ok "README: $unit" "$(cat "$out" 2>/dev/null) $(tail -3 "$DIR/unit-$k.err" 2>/dev/null)"
    fi
done <"$DIR/units.txt"

finish
