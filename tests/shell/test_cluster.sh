#!/usr/bin/env bash
# test_cluster.sh - `make up-cluster`'s shape, started by scripts/stack.sh cluster-up in a
# private directory on free ports: two instances of each service behind nginx, one
# PostgreSQL, graph-sim. Through the balancer requests reach both instances; a settings
# change made through it is what each instance reads; a change made on instance 2 reaches
# a live stream opened through the balancer within 2 s; orders posted through it go out
# once; each sender number has one owner, and /metrics of the instances say so. Output:
# TAP. Everything targets 127.0.0.1.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cd "$ROOT" || exit 1
# shellcheck source=tests/lib/tap.sh
. "$ROOT/tests/lib/tap.sh"

export BIN_DIR=${BIN_DIR:-build/asan}
case "$BIN_DIR" in /*) ;; *) BIN_DIR=$ROOT/$BIN_DIR ;; esac
export STACK_RUN_DIR=$ROOT/.run/test-cluster-$$
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# A base whose ports (+1 ... +90) are free, below the kernel's ephemeral range (32768 up),
# whose ports any outgoing connection of a suite running beside this one may take.
for _ in $(seq 1 50); do
    base=$((20000 + (RANDOM % 120) * 100))
    busy=0
    for off in 1 2 11 12 21 22 25 90; do port_busy $((base + off)) && busy=1; done
    [ "$busy" = 0 ] && break
done
export CLUSTER_PORT_BASE=$base
LB_T=http://127.0.0.1:$((base + 1))
LB_N=http://127.0.0.1:$((base + 2))
T1=http://127.0.0.1:$((base + 11))
T2=http://127.0.0.1:$((base + 21))
N1=http://127.0.0.1:$((base + 12))
N2=http://127.0.0.1:$((base + 22))
SIM=http://127.0.0.1:$((base + 90))

cleanup() {
    [ -n "${stream_pid:-}" ] && kill "$stream_pid" 2>/dev/null
    scripts/stack.sh cluster-down >/dev/null 2>&1
    rm -rf "$STACK_RUN_DIR"
}
trap cleanup EXIT

if ! out=$(scripts/stack.sh cluster-up 2>&1); then
    not_ok "scripts/stack.sh cluster-up starts the cluster" "$out"
    tap_done
    exit 1
fi
ok "scripts/stack.sh cluster-up starts two instances of each service behind nginx"
# shellcheck disable=SC1091
. "$STACK_RUN_DIR/stack.env"
tenant=$DEMO_TENANT_ID

# 1. The balancer spreads requests over both tenant-service instances.
upstreams=$(for _ in 1 2 3 4; do
    curl -s -o /dev/null -D - "$LB_T/health" | tr -d '\r' | sed -n 's/^X-Upstream: //Ip'
done | sort -u | tr '\n' ' ')
if [ "$upstreams" = "127.0.0.1:$((base + 11)) 127.0.0.1:$((base + 21)) " ]; then
    ok "requests through the balancer reach both tenant-service instances"
else
    not_ok "requests through the balancer reach both tenant-service instances" "answered by: $upstreams"
fi
for url in "$N1" "$N2" "$LB_N"; do
    if curl -fs -o /dev/null "$url/ready"; then ok "notification-service ready at $url"; else not_ok "notification-service ready at $url"; fi
done

# 2. A change through the balancer is what each instance reads at once.
settings_path=/api/v1/tenants/$tenant/settings/notifications
curl -fs -X PUT -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
    -d '{"whatsapp_default_language":"ca"}' "$LB_T$settings_path" >/dev/null
langs=$(for url in "$T1" "$T2"; do
    curl -fs -H "Authorization: Bearer $ADMIN_TOKEN" "$url$settings_path" | jq -r '.whatsapp_default_language // .settings.whatsapp_default_language'
done | tr '\n' ' ')
if [ "$langs" = "ca ca " ]; then
    ok "a change made through the balancer is read by both instances"
else
    not_ok "a change made through the balancer is read by both instances" "read: $langs"
fi

# 3. The live stream, opened through the balancer, tells a change made on instance 2.
curl -sN -H "Authorization: Bearer $ADMIN_TOKEN" -H "Accept: text/event-stream" "$LB_T/api/v1/events" >"$STACK_RUN_DIR/stream" 2>&1 &
stream_pid=$!
sleep 1
before=$(grep -c '^event: settings' "$STACK_RUN_DIR/stream")
t0=$(date +%s%3N)
curl -fs -X PUT -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' \
    -d '{"whatsapp_default_language":"eu"}' "$T2$settings_path" >/dev/null
seen=
for _ in $(seq 1 40); do
    if [ "$(grep -c '^event: settings' "$STACK_RUN_DIR/stream")" -gt "$before" ]; then
        seen=$(($(date +%s%3N) - t0))
        break
    fi
    sleep 0.05
done
if [ -n "$seen" ]; then
    ok "a change on instance 2 reaches a stream through the balancer in ${seen} ms (< 2 s)"
else
    not_ok "a change on instance 2 reaches a stream through the balancer within 2 s" "$(tail -5 "$STACK_RUN_DIR/stream")"
fi
kill "$stream_pid" 2>/dev/null
stream_pid=

# 4. Orders through the balancer, for two bakeries with numbers of their own: each goes
# out once, from its bakery's number.
ids=()
mapfile -t bakeries < <(psql -X -At "$TENANT_DATABASE_URL" -c \
    "SELECT tenant_id FROM tenant_settings WHERE notification_settings->>'whatsapp_phone_number_id' <> ''
       AND notification_settings->>'whatsapp_enabled' = 'true' AND tenant_id <> '$tenant'
     ORDER BY tenant_id LIMIT 2")
k=0
for b in "${bakeries[@]}"; do
    for _ in 1 2 3; do
        k=$((k + 1))
        body=$(printf '{"event_id":"%s","tenant_id":"%s","po_number":"PO-C-%d","supplier_name":"Harinas","supplier_phone":"+3461199%04d","total_amount":10,"currency":"EUR"}' \
            "$(cat /proc/sys/kernel/random/uuid)" "$b" "$k" "$k")
        id=$(curl -fs -X POST -H "Authorization: Bearer $SERVICE_TOKEN" -H 'Content-Type: application/json' \
            -d "$body" "$LB_N/api/v1/notifications/purchase-orders" | jq -r '.message_id // .id')
        ids+=("$id")
    done
done
done_count=0
for _ in $(seq 1 100); do
    done_count=$(psql -X -At "$NOTIFICATION_DATABASE_URL" -c \
        "SELECT count(*) FROM whatsapp_messages WHERE channel = 'whatsapp' AND status IN ('sent','delivered','read')")
    [ "$done_count" -ge "${#ids[@]}" ] && break
    sleep 0.1
done
sends=$(curl -fs "$SIM/_sim/messages?request=false&limit=1000" | jq '[.messages[] | .to] | length')
if [ "${#ids[@]}" = 6 ] && [ "$done_count" = 6 ] && [ "$sends" = 6 ]; then
    ok "six orders posted through the balancer went out once each"
else
    not_ok "six orders posted through the balancer went out once each" "ids: ${#ids[@]}, sent rows: $done_count, graph-sim sends: $sends
$(psql -X -At "$NOTIFICATION_DATABASE_URL" -c "SELECT tenant_id, status, skip_reason, error_message FROM whatsapp_messages")"
fi

# 5. Each number has one owner; the instances' /metrics tell which.
numbers=$(psql -X -At "$NOTIFICATION_DATABASE_URL" -c "SELECT count(*) FROM whatsapp_sender_leases")
owned() { curl -fs "$1/metrics" | awk '$1 == "whatsapp_sender_numbers_owned" {print $2}'; }
for _ in $(seq 1 60); do
    o1=$(owned "$N1") o2=$(owned "$N2")
    [ $((o1 + o2)) = "$numbers" ] && [ $((o1 - o2)) -le 1 ] && [ $((o2 - o1)) -le 1 ] && break
    sleep 0.1
done
per_number=$( (curl -fs "$N1/metrics"; curl -fs "$N2/metrics") | grep -c '^whatsapp_sender_number_owned{.*} 1$')
if [ "$numbers" -ge 3 ] && [ $((o1 + o2)) = "$numbers" ] && [ "$per_number" = "$numbers" ] &&
    [ $((o1 - o2)) -le 1 ] && [ $((o2 - o1)) -le 1 ]; then
    ok "each of the $numbers sender numbers has one owner: $o1 + $o2, as /metrics lists them"
else
    not_ok "each sender number has one owner, spread within one" "numbers $numbers, owned $o1 + $o2, listed $per_number"
fi

# 6. Down leaves nothing running.
scripts/stack.sh cluster-down >/dev/null 2>&1
left=$(find "$STACK_RUN_DIR/pids" -name "*.pid" 2>/dev/null | wc -l)
if [ "$left" = 0 ] && ! curl -fs -o /dev/null "$LB_T/health" 2>/dev/null; then
    ok "scripts/stack.sh cluster-down stops everything"
else
    not_ok "scripts/stack.sh cluster-down stops everything" "pid files left: $left"
fi
tap_done
