#!/usr/bin/env bash
# Tests migrations/tenant/0004_plans.sql on a database with tenants: they get the plan
# standard and no override, every settings row is numbered anew (so the followers of the
# change feed learn the plan), and afterwards a change of plan or override is numbered like
# any settings change while an update that changes nothing is not; the CHECKs refuse an
# unknown plan and a negative override; the audit log takes the two plan actions. Starts
# its own private cluster (.run/test-pg-sql-0004, wiped at the end) and works in a scratch
# database. Output: TAP.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
PG_TEST_DIR="${PG_TEST_DIR:-.run/test-pg-sql-0004}"
MIG="$ROOT/migrations/tenant"
SCRATCH="mig0004_$$"
T1=00000000-0000-0000-0000-000000000001
T2=00000000-0000-0000-0000-000000000002

ADMIN_URL=""
# shellcheck source=tests/lib/tap.sh
. "$ROOT/tests/lib/tap.sh"

finish() {
    if [ -n "$ADMIN_URL" ]; then
        psql -X -q "$ADMIN_URL" -c "drop database if exists $SCRATCH" >/dev/null 2>&1
    fi
    "$ROOT/scripts/pg.sh" wipe "$PG_TEST_DIR" || true
    tap_done
}

bail() {
    not_ok "$1" "${2:-}"
    finish
    exit 1
}

url_with_db() {
    local re='^(postgres(ql)?://[^/?#]*)(/[^?#]*)?([?#].*)?$'
    [[ "$1" =~ $re ]] || return 1
    echo "${BASH_REMATCH[1]}/$2${BASH_REMATCH[4]}"
}

# Applies a migration file the way the runner does: one transaction, stop on error.
apply() {
    PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 \
        --single-transaction -d "$URL" -f "$1" 2>&1
}

q() {
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$URL" -c "$1" 2>&1
}

# check DESCRIPTION SQL: passes when SQL returns exactly "t".
check() {
    local out
    out="$(q "$2")"
    if [ "$out" = t ]; then ok "$1"; else not_ok "$1" "got: $out"; fi
}

# refused DESCRIPTION SQL CONSTRAINT: passes when SQL fails naming CONSTRAINT.
refused() {
    local out
    out="$(q "$2")"
    if [[ "$out" == *"$3"* ]]; then ok "$1"; else not_ok "$1" "got: $out"; fi
}

out="$("$ROOT/scripts/pg.sh" start "$PG_TEST_DIR" 2>&1)" || bail "start PostgreSQL" "$out"
env_text="$("$ROOT/scripts/pg.sh" env "$PG_TEST_DIR" 2>&1)" || bail "read the cluster's env" "$env_text"
eval "$env_text"
ADMIN_URL="$TENANT_DATABASE_URL"
URL="$(url_with_db "$TENANT_DATABASE_URL" "$SCRATCH")" || bail "parse TENANT_DATABASE_URL"
out="$(psql -X -q -v ON_ERROR_STOP=1 "$ADMIN_URL" -c "create database $SCRATCH" 2>&1)" ||
    bail "create scratch database" "$out"

for m in 0001_init 0002_shared_whatsapp_account 0003_settings_changes; do
    out="$(apply "$MIG/$m.sql")" || bail "$m applies" "$out"
done
out="$(q "insert into tenants (id, name) values ('$T1', 'Horno Uno'), ('$T2', 'Horno Dos');
          insert into tenant_settings (tenant_id) values ('$T1'), ('$T2');")" ||
    bail "two tenants before 0004" "$out"
before="$(q "select max(change_seq) from tenant_settings")"

out="$(apply "$MIG/0004_plans.sql")" || bail "0004 applies" "$out"
ok "0004 applies on a database with tenants"

check "existing tenants get standard without an override" "
select bool_and(plan = 'standard' and quota_override is null) and count(*) = 2
  from tenant_settings"
check "every existing row is numbered anew (the feed carries the plan)" "
select bool_and(change_seq > $before) from tenant_settings"
check "the counter stands at the newest number" "
select c.seq = (select max(change_seq) from tenant_settings) from settings_change_counter c"

seq() { q "select change_seq from tenant_settings where tenant_id = '$T1'"; }
s0="$(seq)"
q "update tenant_settings set plan = 'enterprise' where tenant_id = '$T1'" >/dev/null
s1="$(seq)"
if [ "$s1" -gt "$s0" ]; then ok "a plan change is numbered"; else not_ok "a plan change is numbered" "$s0 -> $s1"; fi
q "update tenant_settings set quota_override = 1000 where tenant_id = '$T1'" >/dev/null
s2="$(seq)"
if [ "$s2" -gt "$s1" ]; then ok "an override change is numbered"; else not_ok "an override change is numbered" "$s1 -> $s2"; fi
q "update tenant_settings set plan = 'enterprise', quota_override = 1000, plan_updated_at = now()
    where tenant_id = '$T1'" >/dev/null
s3="$(seq)"
if [ "$s3" = "$s2" ]; then ok "an update that changes neither is not numbered"; else not_ok "an update that changes neither is not numbered" "$s2 -> $s3"; fi
q "update tenant_settings set notification_settings = notification_settings ||
    '{\"whatsapp_enabled\": true}' where tenant_id = '$T1'" >/dev/null
s4="$(seq)"
if [ "$s4" -gt "$s3" ]; then ok "a settings change is still numbered"; else not_ok "a settings change is still numbered" "$s3 -> $s4"; fi

check "new rows default to standard" "
with t as (insert into tenants (name) values ('Horno Tres') returning id),
     s as (insert into tenant_settings (tenant_id) select id from t returning plan)
select plan = 'standard' from s"
refused "an unknown plan is refused" \
    "update tenant_settings set plan = 'gold' where tenant_id = '$T2'" tenant_settings_plan_check
refused "a negative override is refused" \
    "update tenant_settings set quota_override = -1 where tenant_id = '$T2'" quota_override_check
check "the audit log takes plan_change and quota_override" "
with a as (insert into whatsapp_assignment_audit (tenant_id, action, phone_number_id, actor, reason)
           values ('$T2', 'plan_change', '', 'test', 'standard -> basic'),
                  ('$T2', 'quota_override', '', 'test', 'none -> 10') returning id)
select count(*) = 2 from a"
refused "and no other action" \
    "insert into whatsapp_assignment_audit (tenant_id, action, phone_number_id, actor)
     values ('$T2', 'upgrade', '', 'test')" whatsapp_assignment_audit_action_check

finish
