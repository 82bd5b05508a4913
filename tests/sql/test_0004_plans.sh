#!/usr/bin/env bash
# Tests migrations/tenant/0004_plans.sql on a database with tenants: they get the plan
# standard and no override, every settings row is numbered anew (so the followers of the
# change feed learn the plan), and afterwards a change of plan or override is numbered like
# any settings change while an update that changes nothing is not; the CHECKs refuse an
# unknown plan and a negative override; the audit log takes the two plan actions. Works in
# a scratch database on the test cluster (tests/lib/scratch_db.sh). Output: TAP.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
MIG="$ROOT/migrations/tenant"
SCRATCH="mig0004_$$"
T1=00000000-0000-0000-0000-000000000001
T2=00000000-0000-0000-0000-000000000002

# shellcheck source=tests/lib/tap.sh
. "$ROOT/tests/lib/tap.sh"
# shellcheck source=tests/lib/scratch_db.sh
. "$ROOT/tests/lib/scratch_db.sh"

q() { sql "$1"; }

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

for m in 0001_init 0002_shared_whatsapp_account 0003_settings_changes; do
    apply "$MIG/$m.sql"
done
out="$(q "insert into tenants (id, name) values ('$T1', 'Horno Uno'), ('$T2', 'Horno Dos');
          insert into tenant_settings (tenant_id) values ('$T1'), ('$T2');")" ||
    { not_ok "two tenants before 0004" "$out"; exit 1; }
before="$(q "select max(change_seq) from tenant_settings")"

apply "$MIG/0004_plans.sql"
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
