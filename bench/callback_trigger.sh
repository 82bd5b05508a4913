#!/usr/bin/env bash
# callback_trigger.sh - what the order-callback triggers (migration 0015) cost the send
# path, as PostgreSQL's own execution time of each statement (EXPLAIN ANALYZE, which
# includes the triggers; steadier than throughput on a shared machine): the intake's
# single-row INSERT, a claim (200 rows queued -> sending: no callback) and a status
# UPDATE of 100 purchase-order rows (the shape of the writer's result batches and of a
# webhook POST), the triggers off (ORDER_CALLBACK_URL unset) and on by turns, on a
# private PostgreSQL. Prints the median of each.
#
# usage: bench/callback_trigger.sh [STATEMENTS]   (each shape, each mode; default 300)
#        BIN_DIR: where notification-service is (build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
n=${1:-300}
bin=${BIN_DIR:-build}
dir=$root/.run/bench-callbacks
mkdir -p "$dir"
trap 'scripts/pg.sh stop "$dir/pg" || true' EXIT
scripts/pg.sh start "$dir/pg"
# shellcheck disable=SC1091
. "$dir/pg/env"
db=$NOTIFICATION_DATABASE_URL
psql -qX "$db" -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public;' >/dev/null
NOTIFICATION_DATABASE_URL=$db JWT_SECRET=bench-jwt-secret-0123456789abcdef LOG_LEVEL=warn \
    "$bin/notification-service" --migrate-only
psql -qX "$db" >/dev/null <<SQL
INSERT INTO whatsapp_messages (id, tenant_id, idempotency_key, kind, request_hash,
    recipient_phone, template_name, template_parameters, payload, status, next_attempt_at,
    wamid, sent_at)
SELECT gen_random_uuid(), '11111111-1111-4111-8111-111111111111', 'seed-' || g,
    'purchase_order', md5(g::text), '+34612345678', 'po_notification',
    '["Proveedor ABC","PO-1"]', '{"po_number":"PO-1"}',
    CASE WHEN g <= $n * 200 THEN 'queued' ELSE 'sent' END,
    CASE WHEN g <= $n * 200 THEN now() END, 'wamid.cb.' || g, now()
  FROM generate_series(1, $n * 200 + $n * 200) g;
VACUUM ANALYZE whatsapp_messages;
SQL
psql -qXAt "$db" <<SQL
CREATE TEMP TABLE t (shape text, mode text, ms float8);
DO \$\$
DECLARE
    l text; ms float8; i int; m text; q text; shape text;
BEGIN
    FOR i IN 0..(2 * $n - 1) LOOP
        m := CASE WHEN i % 2 = 0 THEN 'off' ELSE 'on' END;
        PERFORM order_callbacks_switch(m = 'on');
        FOREACH q IN ARRAY ARRAY[
            'INSERT INTO whatsapp_messages (id, tenant_id, idempotency_key, kind, request_hash,'
            ' recipient_phone, template_name, template_parameters, payload) VALUES'
            ' (gen_random_uuid(), ''11111111-1111-4111-8111-111111111111'','
            ' gen_random_uuid()::text, ''purchase_order'', md5(random()::text), ''+34612345678'','
            ' ''po_notification'', ''["Proveedor ABC","PO-1"]'', ''{"po_number":"PO-1"}'')',
            format('UPDATE whatsapp_messages SET status = ''sending'', lease_owner = ''bench'','
                   ' next_attempt_at = now() + interval ''60 s'', updated_at = now()'
                   ' WHERE wamid IN (SELECT ''wamid.cb.'' || g FROM generate_series(%s, %s) g)',
                   (i / 2) * 200 + 1, (i / 2) * 200 + 200),
            format('UPDATE whatsapp_messages SET status = ''delivered'', delivered_at = now(),'
                   ' updated_at = now() WHERE wamid IN (SELECT ''wamid.cb.'' || g'
                   ' FROM generate_series(%s, %s) g)',
                   $n * 200 + i * 100 + 1, $n * 200 + i * 100 + 100)] LOOP
            shape := CASE WHEN q LIKE 'INSERT%' THEN 'intake INSERT, 1 row'
                          WHEN q LIKE '%sending%' THEN 'claim UPDATE, 200 rows'
                          ELSE 'status UPDATE, 100 rows' END;
            FOR l IN EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF) ' || q LOOP
                IF l LIKE 'Execution Time%' THEN
                    ms := substring(l FROM '([0-9.]+) ms')::float8;
                END IF;
            END LOOP;
            INSERT INTO t VALUES (shape, m, ms);
        END LOOP;
    END LOOP;
END
\$\$;
SELECT format('%-24s trigger %-3s  median %6s ms  (%s statements)', shape, mode,
              round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 3), count(*))
  FROM t GROUP BY shape, mode ORDER BY shape, mode;
SELECT format('queued by the "on" statements: %s changes', count(*)) FROM order_callback_inbox;
SQL
