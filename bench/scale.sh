# bench/scale.sh - sourced by bench/run.sh after bench/drain.sh: benchmark 8 (issue 23),
# several notification-service instances on one database, each sender number owned by
# one of them. (a) the end-to-end rate: 60 numbers offered 76 msg/s each (more than
# benchmark 3a carries on this machine) for scale_secs through one instance, then through
# two (each taking half the orders): messages per second from the first acceptance to the
# last, everything at read, no 130429. (b) fail-over: two instances, 10 numbers at 40
# msg/s, one killed -9 mid-load: the seconds until the survivor owns every number (bound:
# SENDER_LEASE_SECONDS, default 10), and that every order ended read, duplicates counted.
# (c) one number offered twice its limit, 80 msg/s through each of two instances: the rate
# it sustains (its owner alone sends: at most 80 in any second, no 130429).

scale_secs=${SCALE_SECS:-10}
[ "$quick" = 1 ] && scale_secs=8
ns2_port=$(free_port)
NS2=http://127.0.0.1:$ns2_port

# scale_stack N INSTANCES: graph-sim with N numbers, fresh tables, the instances.
scale_stack() {
    local n=$1 instances=$2
    stop_pid "$sim_pid"
    start_sim GRAPH_SIM_PHONE_COUNT="$n" GRAPH_SIM_MPS=80 GRAPH_SIM_MESSAGES_MAX=2000000 \
        GRAPH_SIM_WEBHOOK_URL="$NS/api/v1/whatsapp/webhook" GRAPH_SIM_STATUS_DELAY_MS=200 \
        GRAPH_SIM_WEBHOOK_BATCH_MAX=500
    stop_pid "$ns_pid"
    stop_ns2
    psql_t "$NOTIFICATION_DATABASE_URL" -c "TRUNCATE whatsapp_messages, whatsapp_pending_statuses, whatsapp_quota_usage, whatsapp_sender_leases, whatsapp_sender_instances"
    start_ns INSTANCE_ID=bench-1
    wait_ready "$NS"
    if [ "$instances" = 2 ]; then
        start_ns_on "$ns2_port" INSTANCE_ID=bench-2
        ns2_pid=$started_pid
        wait_ready "$NS2"
    fi
    setup_tenants "$n"
}

# scale_load RATE SECONDS PREFIX INSTANCES: orders at RATE/s, split over the instances.
scale_load() {
    local rate=$1 secs=$2 prefix=$3 instances=$4 body url digit=6
    for url in "$NS" "$NS2"; do
        [ "$url" = "$NS2" ] && [ "$instances" = 1 ] && break
        # distinct recipients per instance's load (+346..., +347...): no pair waits
        body='{"event_id":"{uuid}","tenant_id":"{rr}","po_number":"PO-'"$prefix$digit"'-{seq}","supplier_name":"Proveedor ABC","supplier_phone":"+34'"$digit"'{seq8}","total_amount":1250.5,"currency":"EUR"}'
        digit=$((digit + 1))
        build/loadgen --url "$url/api/v1/notifications/purchase-orders" --method POST \
            --body "$body" --ids "$dir/e2e_ids" --header "Authorization: Bearer $SERVICE" \
            --rate $((rate / instances)) --duration "$secs" --connections 64 \
            >"$dir/scale_load_${prefix}_${url##*:}" || true &
    done
    wait_loadgens
}
stop_ns2() {
    [ -n "${ns2_pid:-}" ] && stop_pid "$ns2_pid"
    ns2_pid=
}
wait_loadgens() {
    local p
    for p in $(jobs -p); do
        case " ${pids[*]} " in *" $p "*) ;; *) wait "$p" || true ;; esac
    done
}

# scale_settle: waits (60 s at most) until every message is read, failed or skipped.
scale_settle() {
    local i left
    for i in $(seq 1 120); do
        left=$(psql_t "$NOTIFICATION_DATABASE_URL" -c "SELECT count(*) FROM whatsapp_messages WHERE status NOT IN ('read','failed','skipped')")
        [ "$left" = 0 ] && return 0
        sleep 0.5
    done
    note "  $left messages not final after 60 s"
}

# scale_rate INSTANCES: sets scale_result to "msgs_per_s read rows 130429s".
scale_rate() {
    local instances=$1
    scale_stack 60 "$instances"
    scale_load $((60 * 76)) "$scale_secs" 61 "$instances"
    scale_settle
    local rate read rows r429
    rate=$(psql_t "$NOTIFICATION_DATABASE_URL" -c "SELECT round(count(*) / greatest(extract(epoch FROM max(sent_at) - min(sent_at)), 0.001)) FROM whatsapp_messages WHERE status = 'read'")
    read=$(psql_t "$NOTIFICATION_DATABASE_URL" -c "SELECT count(*) FROM whatsapp_messages WHERE status = 'read'")
    rows=$(psql_t "$NOTIFICATION_DATABASE_URL" -c "SELECT count(*) FROM whatsapp_messages")
    r429=$(curl -fs "$SIM/_sim/stats" | jq -r '.messages.errors_by_code["130429"] // 0')
    scale_result="$rate $read $rows $r429"
}

if want 8; then
    note "8a. end-to-end rate, 60 numbers x 76 msg/s for ${scale_secs}s: one instance, then two"
    : >"$out/scale_rates"
    for instances in 1 2; do
        scale_rate "$instances"
        note "  $instances instance(s): $scale_result (msg/s read rows 130429)"
        echo "$instances $scale_result" >>"$out/scale_rates"
        read -r rate _ _ r429 <<<"$scale_result"
        figure "scale_rate_${instances}_msgs_per_s" "$rate"
        figure "scale_130429_${instances}" "$r429"
    done

    note "8b. fail-over: two instances, 10 numbers x 40 msg/s, one killed -9"
    scale_stack 10 2
    scale_load $((10 * 40)) 4 62 2 # every number known and owned before the kill
    scale_settle
    owned_by_1() { curl -fs "$NS/metrics" | awk '$1 == "whatsapp_sender_numbers_owned" {print $2}'; }
    numbers=$(psql_t "$NOTIFICATION_DATABASE_URL" -c "SELECT count(*) FROM whatsapp_sender_leases")
    scale_load $((10 * 40)) 12 63 1 &
    loader=$!
    sleep 3
    before=$(owned_by_1)
    kill -KILL "$ns2_pid"
    killed=$(ms_now)
    moved=
    for _ in $(seq 1 600); do
        [ "$(owned_by_1)" = "$numbers" ] && { moved=$(($(ms_now) - killed)); break; }
        sleep 0.05
    done
    wait "$loader" || true
    ns2_pid=
    scale_settle
    sent=$(curl -fs "$SIM/_sim/stats" | jq -r '.messages.accepted')
    rows=$(psql_t "$NOTIFICATION_DATABASE_URL" -c "SELECT count(*) FROM whatsapp_messages")
    read=$(psql_t "$NOTIFICATION_DATABASE_URL" -c "SELECT count(*) FROM whatsapp_messages WHERE status = 'read'")
    note "  survivor owned $before of $numbers, all after ${moved:-never} ms; rows $rows read $read sends $sent"
    figure scale_failover_ms "${moved:-0}"
    figure scale_failover_numbers "$((numbers - before))"
    figure scale_failover_rows "$rows"
    figure scale_failover_read "$read"
    figure scale_failover_duplicates "$((sent - rows))"
    stop_ns2

    note "8c. one number offered twice its limit (160 msg/s for 10 s) through two instances"
    scale_stack 1 2
    scale_load 160 10 64 2
    scale_settle
    # graph-sim's per-second counts of the number: the whole seconds (not the first and
    # last, which the load only partly covers) give the sustained rate
    counts=$(curl -fs "$SIM/_sim/messages/counts?phone_number_id=109876543210001")
    figure scale_one_sustained_per_s "$(jq -r '.numbers[0].seconds | .[1:-1] | map(.accepted) |
        if length > 0 then add / length * 10 | round / 10 else 0 end' <<<"$counts")"
    figure scale_one_peak_second "$(jq -r '.numbers[0].max_accepted_per_second' <<<"$counts")"
    figure scale_one_130429 "$(curl -fs "$SIM/_sim/stats" | jq -r '.messages.errors_by_code["130429"] // 0')"
    stop_ns2
    stop_pid "$ns_pid"
    start_ns
    wait_ready "$NS"
fi
