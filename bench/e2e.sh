# e2e.sh - sourced by bench/run.sh after benchmarks 1, 2, 5 (idle) and 6: benchmark 3
# (end to end through the shared account's numbers), benchmark 4 (webhook ingestion),
# peak footprint (bench/run.sh writes the report once bench/drain.sh has run too).

# ---------------------------------------------------------------- 3. end to end
# N tenants, each with its own number, WhatsApp on; each number offered a rate for
# E2E_SECS through intake; graph-sim counts what it receives per number per second.
# (a) capacity: each number offered 95% of Meta's 80/s (76/s); the largest N whose every
# number sustains 75/s with no 130429, nothing lost or doubled and everything at read.
# At exactly the limit the queue grows without bound by construction, so that is not
# asked. (b) latency: 10 numbers at 10% of the limit (8/s), event to Graph p50 and p99.
e2e_secs=${E2E_SECS:-30}
latency_secs=12 # 3b: 960 orders
[ "$quick" = 1 ] && { e2e_secs=10; latency_secs=10; }

# With E2E_QUOTA set, every tenant has a quota that far (the quota step runs for every
# message); without, the enterprise plan (unlimited: no quota step).
setup_tenants() { # N
    local n=$1 plan=enterprise override=NULL
    [ -n "${E2E_QUOTA:-}" ] && { plan=standard; override=$E2E_QUOTA; }
    psql_t "$TENANT_DATABASE_URL" -c "DELETE FROM tenants WHERE name LIKE 'E2E bakery %'"
    psql_t "$TENANT_DATABASE_URL" -c "
        WITH t AS (INSERT INTO tenants (name) SELECT 'E2E bakery ' || lpad(g::text, 3, '0')
                   FROM generate_series(1, $n) g RETURNING id, name)
        INSERT INTO tenant_settings (tenant_id, plan, quota_override, notification_settings)
        SELECT id, '$plan', $override, default_notification_settings() || jsonb_build_object(
            'whatsapp_enabled', true, 'po_notification_channels', jsonb_build_array('whatsapp'),
            'whatsapp_phone_number_id', (109876543210000 + substr(name, 12)::int)::text,
            'whatsapp_display_phone_number', '+34 600 000 ' || substr(name, 12))
        FROM t"
    psql_t "$TENANT_DATABASE_URL" -c "SELECT id FROM tenants WHERE name LIKE 'E2E bakery %' ORDER BY name" >"$dir/e2e_ids"
}

# e2e_run N PER_NUMBER_RATE [SECONDS]: sets e2e_result to "ok|fail min_number_rate 130429s p99_ms
# read lost dup rows sends p50_ms". ok: every number sustained all but 1/s of its rate,
# no 130429, nothing lost or doubled. Called directly, not in $(...): it restarts daemons
# whose pids must stick.
e2e_run() {
    local n=$1 per=${2:-76} rate=$(( $1 * ${2:-76} )) run_secs=${3:-$e2e_secs} total
    total=$((rate * run_secs))
    stop_pid "$sim_pid"
    start_sim GRAPH_SIM_PHONE_COUNT=$n GRAPH_SIM_MPS=80 GRAPH_SIM_MESSAGES_MAX=$((total + 1000)) \
        GRAPH_SIM_WEBHOOK_URL="$NS/api/v1/whatsapp/webhook" GRAPH_SIM_STATUS_DELAY_MS=200 \
        GRAPH_SIM_WEBHOOK_BATCH_MAX=500
    stop_pid "$ns_pid"
    # A fresh start, as bench/scale.sh's: the stopped instance gave its numbers back with
    # a second's gap for their next owner (owners.h), which the first orders would wait out.
    psql_t "$NOTIFICATION_DATABASE_URL" -c "TRUNCATE whatsapp_messages, whatsapp_pending_statuses, whatsapp_quota_usage, whatsapp_sender_leases, whatsapp_sender_instances"
    start_ns
    wait_ready "$NS"
    setup_tenants "$n"
    local t0 body
    t0=$(date +%s)
    body='{"event_id":"{uuid}","tenant_id":"{rr}","po_number":"PO-E-{seq}","supplier_name":"Proveedor ABC","supplier_phone":"+346{seq8}","total_amount":1250.5,"currency":"EUR"}'
    build/loadgen --url "$NS/api/v1/notifications/purchase-orders" --method POST --body "$body" \
        --ids "$dir/e2e_ids" --header "Authorization: Bearer $SERVICE" --rate "$rate" \
        --duration "$run_secs" --connections 128 >"$dir/e2e_load" || true
    # Wait until every message reached a final state (read, failed, skipped), 60 s at most.
    local i left
    for i in $(seq 1 120); do
        left=$(psql_t "$NOTIFICATION_DATABASE_URL" -c "SELECT count(*) FROM whatsapp_messages WHERE status NOT IN ('read','failed','skipped')")
        [ "$left" = 0 ] && break
        sleep 0.5
    done
    curl -fs "$NS/metrics" >"$dir/e2e_metrics" || true # the Graph round trips, for a look
    peak_ns_kb=$(hwm_kb "$ns_pid")
    peak_ts_kb=$(hwm_kb "$ts_pid")
    # Per-number rate over the steady part (drop the first and last 2 seconds).
    curl -fs "$SIM/_sim/messages/counts?since=$t0" >"$dir/e2e_counts"
    local min_rate
    min_rate=$(jq -r '[.numbers[] | [.seconds[] | .accepted] | .[2:-2] | (add / length)] | min // 0' "$dir/e2e_counts")
    local r429
    r429=$(curl -fs "$SIM/_sim/stats" | jq -r '.messages.errors_by_code["130429"] // 0')
    # Event-to-Graph latency: row created_at to graph-sim's acceptance of its send.
    psql_t "$NOTIFICATION_DATABASE_URL" -c "SELECT id, (extract(epoch FROM created_at) * 1000)::bigint FROM whatsapp_messages ORDER BY id" >"$dir/e2e_created"
    local seq=0
    : >"$dir/e2e_accepted"
    while :; do
        curl -fs "$SIM/_sim/messages?request=false&limit=5000&since_seq=$seq" >"$dir/e2e_page"
        local count
        count=$(jq '.messages | length' "$dir/e2e_page")
        [ "$count" = 0 ] && break
        jq -r '.messages[] | [(.body | fromjson | .biz_opaque_callback_data), .accepted_at_ms] | @tsv' "$dir/e2e_page" >>"$dir/e2e_accepted"
        seq=$(jq '.messages[-1].seq' "$dir/e2e_page")
    done
    sort -k1,1 "$dir/e2e_accepted" >"$dir/e2e_accepted.sorted"
    local sent unique dup p99 p50 read lost
    sent=$(wc -l <"$dir/e2e_accepted.sorted")
    unique=$(cut -f1 "$dir/e2e_accepted.sorted" | uniq | wc -l)
    dup=$((sent - unique))
    join -t $'\t' <(tr '|' '\t' <"$dir/e2e_created" | sort -k1,1) "$dir/e2e_accepted.sorted" |
        awk -F'\t' '{print $3 - $2}' | sort -n >"$dir/e2e_latency"
    p99=$(awk '{a[NR]=$1} END {print NR ? a[int((NR-1)*0.99)+1] : 0}' "$dir/e2e_latency")
    p50=$(awk '{a[NR]=$1} END {print NR ? a[int((NR-1)*0.50)+1] : 0}' "$dir/e2e_latency")
    read=$(psql_t "$NOTIFICATION_DATABASE_URL" -c "SELECT count(*) FROM whatsapp_messages WHERE status = 'read'")
    local rows
    rows=$(psql_t "$NOTIFICATION_DATABASE_URL" -c "SELECT count(*) FROM whatsapp_messages")
    lost=$((rows - read))
    local verdict=ok
    awk -v r="$min_rate" -v p="$per" 'BEGIN {exit !(r >= p - 1)}' || verdict=fail
    [ "$r429" = 0 ] && [ "$dup" = 0 ] && [ "$lost" = 0 ] && [ "$rows" -ge $((total * 99 / 100)) ] || verdict=fail
    e2e_result="$verdict $(printf '%.2f' "$min_rate") $r429 $p99 $read $lost $dup $rows $sent $p50"
}

# E2E_N=20 [E2E_RATE=76] BENCH_ONLY=3 bench/run.sh --quick: one run at that N (and per-number
# rate) only, by hand.
if want 3 && [ -n "${E2E_N:-}" ]; then
    e2e_run "$E2E_N" "${E2E_RATE:-76}"
    note "  N=$E2E_N: $e2e_result"
elif want 3; then
note "3a. capacity: N numbers x 76 msg/s (95% of the limit) for ${e2e_secs}s"
# Upwards from 40 while runs pass, else downwards; one run per N.
: >"$out/e2e_capacity"
largest=0
for n in 40 60 80 120; do
    e2e_run "$n" 76
    note "  N=$n: $e2e_result"
    echo "$n $e2e_result" >>"$out/e2e_capacity"
    [ "${e2e_result%% *}" = ok ] || break
    largest=$n
    [ "$quick" = 1 ] && break
done
if [ "$largest" = 0 ]; then
    for n in 30 20 10; do
        e2e_run "$n" 76
        note "  N=$n: $e2e_result"
        echo "$n $e2e_result" >>"$out/e2e_capacity"
        if [ "${e2e_result%% *}" = ok ]; then largest=$n; break; fi
    done
fi
figure e2e_capacity_largest_n "$largest"
figure e2e_capacity_msgs_per_s "$((largest * 76))"
figure peak_rss_notification_kb "$peak_ns_kb"
figure peak_rss_tenant_kb "$peak_ts_kb"
note "3b. latency: 10 numbers x 8 msg/s (10% of the limit) for ${latency_secs}s"
e2e_run 10 8 "$latency_secs"
note "  N=10 at 8/s: $e2e_result"
echo "$e2e_result" >"$out/e2e_latency"
read -r _ _ _ lat_p99 _ _ _ _ _ lat_p50 <<<"$e2e_result"
figure e2e_latency_p50_ms "$lat_p50"
figure e2e_latency_p99_ms "$lat_p99"
fi

# ---------------------------------------------------------------- 4. webhook ingestion
applied_statuses() {
    curl -fs "$NS/metrics" | awk '/^whatsapp_webhook_statuses_total\{result="applied"\}/ {n = $2} END {printf "%d", n}'
}

if want 4; then
note "4. webhook ingestion"
bodies=${WEBHOOK_BODIES:-1000}
[ "$quick" = 1 ] && bodies=200
# The bodies, signed once for every run (the same wamids each time).
awk -v nb="$bodies" -v ts="$(date +%s)" 'BEGIN {
    for (b = 0; b < nb; b++) {
        s = ""
        for (i = 1; i <= 100; i++) {
            g = b * 100 + i
            s = s (i > 1 ? "," : "") "{\"id\":\"wamid.bench." g "\",\"status\":\"delivered\",\"timestamp\":\"" ts "\",\"recipient_id\":\"34612345678\"}"
        }
        print "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"102290129340398\",\"changes\":[{\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\",\"metadata\":{\"display_phone_number\":\"34612345678\",\"phone_number_id\":\"109876543210001\"},\"statuses\":[" s "]}}]}]}"
    }
}' >"$dir/webhook_bodies.json"
# One openssl for all of them: a file per body (exact bytes, no newline), signed in order.
rm -rf "$dir/webhook_split" && mkdir -p "$dir/webhook_split"
awk -v d="$dir/webhook_split" '{f = sprintf("%s/%06d", d, NR); printf "%s", $0 > f; close(f)}' \
    "$dir/webhook_bodies.json"
(cd "$dir/webhook_split" && openssl dgst -sha256 -hmac "$app_secret" -r ./*) | cut -d' ' -f1 |
    paste -d' ' - "$dir/webhook_bodies.json" >"$dir/webhook_bodies"
rates=() ceiling=()
for run in $(seq 1 "$runs"); do
    psql_t "$NOTIFICATION_DATABASE_URL" -c "TRUNCATE whatsapp_messages, whatsapp_pending_statuses, whatsapp_quota_usage"
    psql_t "$NOTIFICATION_DATABASE_URL" -c "
        INSERT INTO whatsapp_messages (id, tenant_id, idempotency_key, kind, request_hash,
            recipient_phone, template_name, template_parameters, payload, status, wamid,
            phone_number_id, sent_at, next_attempt_at)
        SELECT gen_random_uuid(), '11111111-1111-4111-8111-111111111111', 'wh-' || g,
            'template', 'x', '+34612345678', 'po_notification', '[]', '{}', 'sent',
            'wamid.bench.' || g, '109876543210001', now(), NULL
        FROM generate_series(1, $((bodies * 100))) g"
    # wrk 4.1 keeps its threads' loops running after wrk.thread:stop() until -d ends, so
    # the end is when the service's applied counter has grown by every status (its
    # /metrics is cheap to poll, unlike a count in the database); then wrk is stopped.
    applied0=$(applied_statuses)
    t0=$(ms_now)
    BENCH_BODIES=$dir/webhook_bodies BENCH_THREADS=2 wrk -t2 -c8 -d60s -s bench/webhook.lua "$NS" >"$dir/wrk_webhook" &
    wrk_pid=$!
    for i in $(seq 1 1200); do
        [ $(( $(applied_statuses) - applied0 )) -ge $((bodies * 100)) ] && break
        sleep 0.05
    done
    t1=$(ms_now)
    kill "$wrk_pid" 2>/dev/null || true
    wait "$wrk_pid" 2>/dev/null || true
    done_n=$(psql_t "$NOTIFICATION_DATABASE_URL" -c "SELECT count(*) FROM whatsapp_messages WHERE status = 'delivered'")
    rates+=("$(awk -v n="$done_n" -v ms=$((t1 - t0)) 'BEGIN {printf "%.0f", n * 1000 / ms}')")
    note "  run $run: $done_n statuses in $((t1 - t0)) ms"
    # The ceiling: the same row updates straight from pgbench, 100 per transaction, as
    # many clients as wrk's connections.
    tps=$(pgbench -n -f bench/status_update.sql -D bodies="$bodies" -c 8 -j 2 -T "$secs" \
        "$NOTIFICATION_DATABASE_URL" 2>/dev/null | awk '/^tps/ {print $3; exit}')
    ceiling+=("$(awk -v t="$tps" 'BEGIN {printf "%.0f", t * 100}')")
done
figure webhook_statuses_per_s "$(printf '%s\n' "${rates[@]}" | median)"
figure webhook_pgbench_rows_per_s "$(printf '%s\n' "${ceiling[@]}" | median)"
fi

