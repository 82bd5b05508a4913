#!/usr/bin/env bash
# Tests migration 0005 of migrations/notification: existing rows get the new meaning of
# next_attempt_at (set only while queued or sending; a sending row's is its lease's
# end), no index of whatsapp_messages uses status any more, the CHECK keeps the two
# columns agreeing, and a status change is a HOT update (no new index entries), after
# 0005 and after every later migration (an index on a column a status change sets would
# quietly end it).
# Works in a scratch database on the test cluster ($TEST_PG_DIR, started when needed).
# Output: TAP.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
SCRATCH="hot_status_$$"
# shellcheck source=tests/lib/tap.sh
. "$ROOT/tests/lib/tap.sh"
# shellcheck source=tests/lib/scratch_db.sh
. "$ROOT/tests/lib/scratch_db.sh"
for f in "$ROOT"/migrations/notification/000[1-4]_*.sql; do apply "$f"; done

# One row per status as 0004 left them; the sending one holds a lease.
sql "INSERT INTO whatsapp_messages (id, tenant_id, idempotency_key, kind, request_hash,
        recipient_phone, template_name, template_parameters, payload, status,
        next_attempt_at, lease_owner, lease_expires_at)
     SELECT gen_random_uuid(), '11111111-1111-4111-8111-111111111111', s, 'template', 'h',
        '+34612345678', 't', '[]', '{}', s, '2030-01-01T00:00:00Z',
        CASE WHEN s = 'sending' THEN 'w1' END,
        CASE WHEN s = 'sending' THEN timestamptz '2030-01-01T00:01:00Z' END
     FROM unnest(ARRAY['queued','sending','sent','delivered','read','failed','skipped']) s" >/dev/null
apply "$ROOT/migrations/notification/0005_hot_status_updates.sql"
ok "0005 applies over rows of every status"

got=$(sql "SELECT string_agg(status || '=' || coalesce(to_char(next_attempt_at AT TIME ZONE 'UTC',
             'HH24:MI'), 'null'), ' ' ORDER BY whatsapp_status_rank(status), status)
           FROM whatsapp_messages")
want="queued=00:00 sending=00:01 sent=null delivered=null read=null failed=null skipped=null"
[ "$got" = "$want" ] && ok "next_attempt_at: kept when queued, the lease's end when sending, null once final" ||
    not_ok "next_attempt_at after 0005" "got:  $got"$'\n'"want: $want"

uses=$(sql "SELECT string_agg(i.indexrelid::regclass::text, ' ') FROM pg_index i
            WHERE i.indrelid = 'whatsapp_messages'::regclass
              AND (pg_get_indexdef(i.indexrelid) ~ '\mstatus\M'
                   OR coalesce(pg_get_expr(i.indpred, i.indrelid), '') ~ '\mstatus\M')")
[ -z "$uses" ] && ok "no index of whatsapp_messages uses status" || not_ok "indexes using status" "$uses"

out=$(sql "UPDATE whatsapp_messages SET status = 'sent' WHERE status = 'queued'")
grep -q whatsapp_messages_queue_check <<<"$out" && ok "the CHECK refuses a final row with a next_attempt_at" ||
    not_ok "the CHECK refuses a final row with a next_attempt_at" "$out"
out=$(sql "INSERT INTO whatsapp_messages (id, tenant_id, idempotency_key, kind, request_hash,
              recipient_phone, template_name, template_parameters, payload)
           VALUES (gen_random_uuid(), '11111111-1111-4111-8111-111111111111', 'fresh',
              'template', 'h', '+34612345678', 't', '[]', '{}')
           RETURNING next_attempt_at IS NOT NULL")
[ "$out" = t ] && ok "a row inserted with the defaults is queued and due" || not_ok "default row" "$out"

# hot_count: runs the statements on stdin in one transaction and prints "updates/HOT" of
# it, as PostgreSQL counts them in pg_stat_xact_user_tables.
hot_count() {
    { echo "BEGIN;"; cat; echo "SELECT n_tup_upd || '/' || n_tup_hot_upd FROM pg_stat_xact_user_tables
 WHERE relname = 'whatsapp_messages';
COMMIT;"; } | psql -X -q -At -v ON_ERROR_STOP=1 "$URL" 2>&1
}

# deliver_and_read: moves the sent rows to delivered, then to read, as the webhooks do
# (each setting updated_at anew); prints "updates/HOT" of it.
deliver_and_read() {
    hot_count <<'SQL'
UPDATE whatsapp_messages SET status = 'delivered', delivered_at = clock_timestamp(),
       updated_at = clock_timestamp()
 WHERE status = 'sent';
UPDATE whatsapp_messages SET status = 'read', read_at = clock_timestamp(),
       updated_at = clock_timestamp()
 WHERE status = 'delivered';
SQL
}

# A status change is HOT: no new index entries.
got=$(deliver_and_read)
[ "$got" = "3/3" ] && ok "delivered and read are HOT updates" ||
    not_ok "delivered and read are HOT updates" "updates/HOT: $got (want 3/3)"

# Every later migration applied: still HOT (0019 undid 0008's index on updated_at).
for f in "$ROOT"/migrations/notification/*.sql; do
    migration=$(basename "$f")
    [[ "${migration%%_*}" > 0005 ]] && apply "$f"
done
sql "UPDATE whatsapp_messages SET status = 'sent', delivered_at = NULL, read_at = NULL
     WHERE status = 'read'" >/dev/null
got=$(deliver_and_read)
[ "$got" = "6/6" ] && ok "with every migration applied, delivered and read are still HOT updates" ||
    not_ok "with every migration applied, delivered and read are still HOT updates" "updates/HOT: $got (want 6/6)"

# The first status that names the recipient's user id (BSUID) sets recipient_user_id: HOT
# as well since 0020 moved the user id's lookup out of whatsapp_messages' indexes.
sql "UPDATE whatsapp_messages SET status = 'sent', delivered_at = NULL, read_at = NULL,
            recipient_user_id = NULL
     WHERE status = 'read'" >/dev/null
got=$(hot_count <<'SQL'
UPDATE whatsapp_messages SET status = 'delivered', delivered_at = clock_timestamp(),
       recipient_user_id = 'ES.' || id, pricing = '{"billable": true}',
       updated_at = clock_timestamp()
 WHERE status = 'sent';
SQL
)
[ "$got" = "3/3" ] && ok "a status that names the user id is a HOT update" ||
    not_ok "a status that names the user id is a HOT update" "updates/HOT: $got (want 3/3)"
