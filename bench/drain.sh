# bench/drain.sh - sourced by bench/run.sh: benchmark 7, what the quota step and the
# messaging-limit step cost the sender. A backlog of orders is queued with sending off,
# then one instance drains it through graph-sim with its limits off (so the sender, not
# Meta's 80/s, is the bottleneck), three ways in alternating rounds: no quota (enterprise
# plan), a quota on every tenant (standard plan with a large override: the step runs for
# every message), and both a quota and a messaging limit. The figure is each way's
# messages/s to Graph's acceptance, and the ratio of the last two to the first.

drain_msgs=${DRAIN_MSGS:-8000}
[ "$quick" = 1 ] && drain_msgs=5000

# drain_run WAY: sets drain_rate to the messages/s of one drain.
drain_run() {
    local way=$1 quota= limit=0
    [ "$way" != plain ] && quota=1000000
    [ "$way" = limit ] && limit=1000000
    stop_pid "$ns_pid"
    psql_t "$NOTIFICATION_DATABASE_URL" -c "TRUNCATE whatsapp_messages, whatsapp_pending_statuses, whatsapp_quota_usage, whatsapp_reach"
    E2E_QUOTA=$quota setup_tenants 40
    start_ns OUTBOX_ENABLED=false
    wait_ready "$NS"
    local body='{"event_id":"{uuid}","tenant_id":"{rr}","po_number":"PO-D-{seq}","supplier_name":"Proveedor ABC","supplier_phone":"+346{seq8}","total_amount":1250.5,"currency":"EUR"}'
    build/loadgen --url "$NS/api/v1/notifications/purchase-orders" --method POST --body "$body" \
        --ids "$dir/e2e_ids" --header "Authorization: Bearer $SERVICE" --rate 4000 \
        --duration $(((drain_msgs + 3999) / 4000)) --connections 64 >"$dir/drain_load" || true
    local queued
    queued=$(psql_t "$NOTIFICATION_DATABASE_URL" -c "SELECT count(*) FROM whatsapp_messages")
    stop_pid "$ns_pid"
    local t0 left i
    t0=$(ms_now)
    start_ns WHATSAPP_MESSAGING_LIMIT=$limit
    for i in $(seq 1 1200); do
        left=$(psql_t "$NOTIFICATION_DATABASE_URL" -c "SELECT count(*) FROM whatsapp_messages WHERE status IN ('queued', 'sending')")
        [ "$left" = 0 ] && break
        sleep 0.1
    done
    local t1 sent
    t1=$(ms_now)
    sent=$(psql_t "$NOTIFICATION_DATABASE_URL" -c "SELECT count(*) FROM whatsapp_messages WHERE wamid IS NOT NULL")
    [ "$sent" = "$queued" ] || note "  drain $way: $sent of $queued sent"
    # the steps really ran: every message holds a quota unit, every recipient a place
    local units places
    units=$(psql_t "$NOTIFICATION_DATABASE_URL" -c "SELECT coalesce(sum(used), 0) FROM whatsapp_quota_usage")
    places=$(psql_t "$NOTIFICATION_DATABASE_URL" -c "SELECT count(*) FROM whatsapp_reach")
    note "  drain $way: quota units taken $units, messaging-limit places $places"
    drain_rate=$(awk -v n="$sent" -v ms=$((t1 - t0)) 'BEGIN {printf "%.0f", n * 1000 / ms}')
    note "  drain $way: $sent messages in $((t1 - t0)) ms (start included)"
}

if want 7; then
note "7. the quota and messaging-limit steps: draining $drain_msgs queued orders"
stop_pid "$sim_pid"
start_sim GRAPH_SIM_PHONE_COUNT=40 GRAPH_SIM_MPS=0 GRAPH_SIM_PAIR_WINDOW_MS=0 \
    GRAPH_SIM_MESSAGES_MAX=$((drain_msgs + 1000))
plain=() quota=() limit=()
for _ in $(seq 1 "$runs"); do
    drain_run plain; plain+=("$drain_rate")
    drain_run quota; quota+=("$drain_rate")
    drain_run limit; limit+=("$drain_rate")
done
p=$(printf '%s\n' "${plain[@]}" | median)
q=$(printf '%s\n' "${quota[@]}" | median)
l=$(printf '%s\n' "${limit[@]}" | median)
figure drain_msgs_per_s_no_quota "$p"
figure drain_msgs_per_s_quota "$q"
figure drain_msgs_per_s_quota_and_limit "$l"
figure drain_quota_ratio "$(awk -v a="$q" -v b="$p" 'BEGIN {printf "%.2f", a / b}')"
figure drain_quota_and_limit_ratio "$(awk -v a="$l" -v b="$p" 'BEGIN {printf "%.2f", a / b}')"
stop_pid "$ns_pid"
psql_t "$NOTIFICATION_DATABASE_URL" -c "TRUNCATE whatsapp_messages, whatsapp_quota_usage, whatsapp_reach"
start_ns
wait_ready "$NS"
fi
