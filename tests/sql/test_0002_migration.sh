#!/usr/bin/env bash
# Tests migrations/tenant/0002_shared_whatsapp_account.sql on legacy per-tenant settings:
# conversion, duplicate phone ids, malformed values, the unique index, and idempotence.
# Starts its own private cluster (.run/test-pg-sql, wiped at the end; DATABASE_URL is
# honoured through scripts/pg.sh) and works in scratch databases. Output: TAP.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
PG_TEST_DIR="${PG_TEST_DIR:-.run/test-pg-sql}"
MIG="$ROOT/migrations/tenant"
ACTOR='migration:0002_shared_whatsapp_account'
SCRATCH="mig0002_$$"
FRESH="mig0002_fresh_$$"

ADMIN_URL=""
# shellcheck source=tests/lib/tap.sh
. "$ROOT/tests/lib/tap.sh"

finish() {
    if [ -n "$ADMIN_URL" ]; then
        psql -X -q "$ADMIN_URL" -c "drop database if exists $SCRATCH" >/dev/null 2>&1
        psql -X -q "$ADMIN_URL" -c "drop database if exists $FRESH" >/dev/null 2>&1
    fi
    "$ROOT/scripts/pg.sh" wipe "$PG_TEST_DIR" || true
    tap_done
}

bail() {
    not_ok "$1" "${2:-}"
    finish
    exit 1
}

# Replaces the database name of a postgresql:// URL (keeps any ?query).
url_with_db() {
    local re='^(postgres(ql)?://[^/?#]*)(/[^?#]*)?([?#].*)?$'
    [[ "$1" =~ $re ]] || return 1
    echo "${BASH_REMATCH[1]}/$2${BASH_REMATCH[4]}"
}

# Applies a migration file the way the runner does: one transaction, stop on error.
apply() {
    PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 \
        --single-transaction -d "$1" -f "$2" 2>&1
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

# ---- setup ------------------------------------------------------------------------------

out="$("$ROOT/scripts/pg.sh" start "$PG_TEST_DIR" 2>&1)" || bail "start PostgreSQL" "$out"
env_text="$("$ROOT/scripts/pg.sh" env "$PG_TEST_DIR" 2>&1)" || bail "read the cluster's env" "$env_text"
eval "$env_text"
ADMIN_URL="$TENANT_DATABASE_URL"
URL="$(url_with_db "$TENANT_DATABASE_URL" "$SCRATCH")" || bail "parse TENANT_DATABASE_URL"
FRESH_URL="$(url_with_db "$TENANT_DATABASE_URL" "$FRESH")" || bail "parse TENANT_DATABASE_URL"
for db in "$SCRATCH" "$FRESH"; do
    out="$(psql -X -q -v ON_ERROR_STOP=1 "$ADMIN_URL" -c "create database $db" 2>&1)" ||
        bail "create scratch database $db" "$out"
done

# ---- a fresh install: 0001 then 0002 with the index in place, no data -------------------

if out="$(apply "$FRESH_URL" "$MIG/0001_init.sql")" &&
    out="$(apply "$FRESH_URL" "$MIG/0002_shared_whatsapp_account.sql")"; then
    ok "fresh database: 0001 and 0002 apply in order"
else
    not_ok "fresh database: 0001 and 0002 apply in order" "$out"
fi

# ---- legacy data --------------------------------------------------------------------------

out="$(apply "$URL" "$MIG/0001_init.sql")" || bail "0001 applies" "$out"
ok "0001 applies"

check "default_notification_settings() is the documented default" "
select default_notification_settings() = '{
  \"whatsapp_enabled\": false, \"whatsapp_phone_number_id\": \"\",
  \"whatsapp_display_phone_number\": \"\", \"whatsapp_default_language\": \"es\",
  \"email_enabled\": true, \"email_from_address\": \"\", \"email_from_name\": \"\",
  \"email_reply_to\": \"\", \"enable_po_notifications\": true,
  \"enable_inventory_alerts\": true, \"enable_production_alerts\": true,
  \"enable_forecast_alerts\": true, \"po_notification_channels\": [\"email\"],
  \"inventory_alert_channels\": [\"email\"], \"production_alert_channels\": [\"email\"],
  \"forecast_alert_channels\": [\"email\"]}'::jsonb"

# A legacy database has no unique index yet (it would reject the duplicates below).
out="$(q "drop index tenant_settings_phone_number_id_key")" || bail "drop the unique index" "$out"

FIXTURES="$(
    cat <<'SQL'
insert into tenants (id, name, created_at) values
 ('00000000-0000-0000-0000-000000000001', 'creds 111',          '2020-01-01'),
 ('00000000-0000-0000-0000-000000000002', 'no creds 222',       '2021-01-01'),
 ('00000000-0000-0000-0000-000000000003', 'dup 333 oldest',     '2019-06-01'),
 ('00000000-0000-0000-0000-000000000004', 'dup 333 newer',      '2022-01-01'),
 ('00000000-0000-0000-0000-000000000005', 'dup 555 newest',     '2023-01-01'),
 ('00000000-0000-0000-0000-000000000006', 'dup 555 oldest',     '2018-01-01'),
 ('00000000-0000-0000-0000-000000000007', 'dup 555 same time',  '2018-01-01'),
 ('00000000-0000-0000-0000-000000000008', 'phone as number',    '2020-05-01'),
 ('00000000-0000-0000-0000-000000000009', 'phone as null',      '2020-05-01'),
 ('00000000-0000-0000-0000-000000000010', 'phone as object',    '2020-05-01'),
 ('00000000-0000-0000-0000-000000000011', 'token only',         '2020-05-01'),
 ('00000000-0000-0000-0000-000000000012', 'wrong types',        '2020-05-01'),
 ('00000000-0000-0000-0000-000000000013', 'dup 333 as number',  '2024-01-01'),
 ('00000000-0000-0000-0000-000000000014', 'display as number',  '2020-05-01'),
 ('00000000-0000-0000-0000-000000000015', 'no settings row',    '2020-05-01'),
 ('00000000-0000-0000-0000-000000000016', 'dup 111 padded',     '2025-01-01'),
 ('00000000-0000-0000-0000-000000000017', 'settings not object','2020-05-01');

insert into tenant_settings (tenant_id, notification_settings) values
 ('00000000-0000-0000-0000-000000000001', '{"whatsapp_enabled": true,
   "whatsapp_access_token": "EAAG-secret-1", "whatsapp_phone_number_id": "111",
   "whatsapp_business_account_id": "waba-1", "whatsapp_api_version": "v18.0",
   "whatsapp_default_language": "en", "email_enabled": true,
   "email_from_address": "bakery@example.com", "email_from_name": "Bakery",
   "email_reply_to": "", "enable_po_notifications": true, "enable_inventory_alerts": false,
   "enable_production_alerts": true, "enable_forecast_alerts": true,
   "po_notification_channels": ["email", "whatsapp"], "inventory_alert_channels": ["email"],
   "production_alert_channels": ["email"], "forecast_alert_channels": []}'),
 ('00000000-0000-0000-0000-000000000002', '{"whatsapp_enabled": true,
   "whatsapp_phone_number_id": "222", "whatsapp_display_phone_number": "+34 600 000 222"}'),
 ('00000000-0000-0000-0000-000000000003', '{"whatsapp_enabled": true,
   "whatsapp_access_token": "t3", "whatsapp_phone_number_id": "333",
   "whatsapp_business_account_id": "w3", "whatsapp_api_version": "v17.0"}'),
 ('00000000-0000-0000-0000-000000000004', '{"whatsapp_enabled": true,
   "whatsapp_access_token": "t4", "whatsapp_phone_number_id": "333",
   "whatsapp_display_phone_number": "+34 600 000 444",
   "whatsapp_business_account_id": "w4", "whatsapp_api_version": "v17.0"}'),
 ('00000000-0000-0000-0000-000000000005', '{"whatsapp_phone_number_id": "555"}'),
 ('00000000-0000-0000-0000-000000000006', '{"whatsapp_phone_number_id": "555",
   "whatsapp_access_token": "t6"}'),
 ('00000000-0000-0000-0000-000000000007', '{"whatsapp_phone_number_id": "555"}'),
 ('00000000-0000-0000-0000-000000000008', '{"whatsapp_phone_number_id": 888,
   "whatsapp_access_token": "t8"}'),
 ('00000000-0000-0000-0000-000000000009', '{"whatsapp_phone_number_id": null}'),
 ('00000000-0000-0000-0000-000000000010', '{"whatsapp_phone_number_id": {"id": "1010"}}'),
 ('00000000-0000-0000-0000-000000000011', '{"whatsapp_access_token": "t11"}'),
 ('00000000-0000-0000-0000-000000000012', '{"whatsapp_enabled": "yes",
   "whatsapp_default_language": "ca", "email_enabled": false, "custom_key": 1,
   "po_notification_channels": ["email", 5], "inventory_alert_channels": "email",
   "production_alert_channels": ["whatsapp"]}'),
 ('00000000-0000-0000-0000-000000000013', '{"whatsapp_phone_number_id": 333}'),
 ('00000000-0000-0000-0000-000000000014', '{"whatsapp_phone_number_id": "1414",
   "whatsapp_display_phone_number": 34600001414}'),
 ('00000000-0000-0000-0000-000000000016', '{"whatsapp_phone_number_id": " 111 ",
   "whatsapp_api_version": "v19.0"}'),
 ('00000000-0000-0000-0000-000000000017', '[]');
SQL
)"
out="$(q "$FIXTURES")" || bail "insert legacy rows" "$out"
ok "legacy rows inserted (credentials, duplicates, malformed values)"

out="$(apply "$URL" "$MIG/0002_shared_whatsapp_account.sql")" || bail "0002 applies" "$out"
ok "0002 applies to legacy data"

# s(N): settings of tenant N.
S="(select notification_settings from tenant_settings where tenant_id = '00000000-0000-0000-0000-0000000000"

check "no credential key left in any row" "
select not exists (select 1 from tenant_settings where notification_settings ?| array[
  'whatsapp_access_token', 'whatsapp_business_account_id', 'whatsapp_api_version'])"

check "every tenant has settings with every default key of the default type" "
select (select count(*) from tenant_settings) = 17 and not exists (
  select 1 from tenant_settings s, jsonb_each(default_notification_settings()) d
  where jsonb_typeof(s.notification_settings -> d.key) is distinct from jsonb_typeof(d.value))"

check "tenant with credentials keeps its phone id, gains an empty display, keeps its values" "
select ${S}01') = '{\"whatsapp_enabled\": true, \"whatsapp_phone_number_id\": \"111\",
   \"whatsapp_display_phone_number\": \"\",
   \"whatsapp_default_language\": \"en\", \"email_enabled\": true,
   \"email_from_address\": \"bakery@example.com\", \"email_from_name\": \"Bakery\",
   \"email_reply_to\": \"\", \"enable_po_notifications\": true, \"enable_inventory_alerts\": false,
   \"enable_production_alerts\": true, \"enable_forecast_alerts\": true,
   \"po_notification_channels\": [\"email\", \"whatsapp\"], \"inventory_alert_channels\": [\"email\"],
   \"production_alert_channels\": [\"email\"], \"forecast_alert_channels\": []}'::jsonb"

check "tenant without credentials keeps phone id and its display number" "
select ${S}02') ->> 'whatsapp_phone_number_id' = '222'
   and ${S}02') ->> 'whatsapp_display_phone_number' = '+34 600 000 222'
   and (${S}02') -> 'whatsapp_enabled')::boolean"

check "two tenants on one id: the oldest keeps it, the newer is cleared" "
select ${S}03') ->> 'whatsapp_phone_number_id' = '333'
   and ${S}04') ->> 'whatsapp_phone_number_id' = ''
   and ${S}04') ->> 'whatsapp_display_phone_number' = ''"

check "a numeric duplicate (333) is coerced, then cleared in favour of the oldest" "
select ${S}13') ->> 'whatsapp_phone_number_id' = ''
   and jsonb_typeof(${S}13') -> 'whatsapp_phone_number_id') = 'string'"

check "three tenants on one id: the oldest keeps it, created_at ties broken by id" "
select ${S}06') ->> 'whatsapp_phone_number_id' = '555'
   and ${S}05') ->> 'whatsapp_phone_number_id' = ''
   and ${S}07') ->> 'whatsapp_phone_number_id' = ''"

check "a padded duplicate (' 111 ') is trimmed and cleared; 111 stays with the oldest" "
select ${S}16') ->> 'whatsapp_phone_number_id' = ''
   and ${S}01') ->> 'whatsapp_phone_number_id' = '111'"

check "phone id as a number becomes its text" "
select ${S}08') -> 'whatsapp_phone_number_id' = '\"888\"'::jsonb"

check "phone id as null or object becomes ''" "
select ${S}09') -> 'whatsapp_phone_number_id' = '\"\"'::jsonb
   and ${S}10') -> 'whatsapp_phone_number_id' = '\"\"'::jsonb"

check "display as a number becomes ''; the phone id stays" "
select ${S}14') -> 'whatsapp_display_phone_number' = '\"\"'::jsonb
   and ${S}14') ->> 'whatsapp_phone_number_id' = '1414'"

check "credentials-only and non-object settings become exactly the defaults" "
select ${S}11') = default_notification_settings()
   and ${S}17') = default_notification_settings()"

check "tenant without a settings row gets the defaults" "
select ${S}15') = default_notification_settings()"

check "wrong-typed values take the default, valid values and unknown keys stay" "
select ${S}12') = default_notification_settings() || '{\"whatsapp_default_language\": \"ca\",
   \"email_enabled\": false, \"custom_key\": 1,
   \"production_alert_channels\": [\"whatsapp\"]}'::jsonb"

check "one unassign audit row per cleared tenant, with the exact actor and the keeper" "
select array_agg(tenant_id::text || '|' || action || '|' || phone_number_id || '|' ||
                 display_phone_number || '|' || actor || '|' || reason
                 order by tenant_id)
     = array[
  '00000000-0000-0000-0000-000000000004|unassign|333|+34 600 000 444|$ACTOR|duplicate phone_number_id held by older tenant 00000000-0000-0000-0000-000000000003',
  '00000000-0000-0000-0000-000000000005|unassign|555||$ACTOR|duplicate phone_number_id held by older tenant 00000000-0000-0000-0000-000000000006',
  '00000000-0000-0000-0000-000000000007|unassign|555||$ACTOR|duplicate phone_number_id held by older tenant 00000000-0000-0000-0000-000000000006',
  '00000000-0000-0000-0000-000000000013|unassign|333||$ACTOR|duplicate phone_number_id held by older tenant 00000000-0000-0000-0000-000000000003',
  '00000000-0000-0000-0000-000000000016|unassign|111||$ACTOR|duplicate phone_number_id held by older tenant 00000000-0000-0000-0000-000000000001']
from whatsapp_assignment_audit"

check "unique partial index on the phone id exists and is valid" "
select i.indisunique and i.indisvalid and i.indpred is not null
   and pg_get_indexdef(i.indexrelid) like '%whatsapp_phone_number_id%'
from pg_index i where i.indexrelid = 'tenant_settings_phone_number_id_key'::regclass"

out="$(q "update tenant_settings set notification_settings = notification_settings
          || '{\"whatsapp_phone_number_id\": \"111\"}'
          where tenant_id = '00000000-0000-0000-0000-000000000002'")"
if [[ "$out" == *tenant_settings_phone_number_id_key* ]]; then
    ok "assigning a taken phone id is rejected by the index"
else
    not_ok "assigning a taken phone id is rejected by the index" "got: $out"
fi

check "several tenants may have no phone id ('')" "
select count(*) >= 2 from tenant_settings
where notification_settings ->> 'whatsapp_phone_number_id' = ''"

out="$(q "update tenant_settings set notification_settings = notification_settings
          || '{\"whatsapp_access_token\": \"x\"}'
          where tenant_id = '00000000-0000-0000-0000-000000000002'")"
if [[ "$out" == *tenant_settings_notification_settings_shape* ]]; then
    ok "a credential key can no longer be stored"
else
    not_ok "a credential key can no longer be stored" "got: $out"
fi

# ---- idempotence --------------------------------------------------------------------------

SNAPSHOT="select md5(string_agg(tenant_id::text || '=' || notification_settings::text || '@' ||
                                updated_at::text, ';' order by tenant_id))
                 || '/' || (select count(*) from whatsapp_assignment_audit)
          from tenant_settings"
before="$(q "$SNAPSHOT")"
if out="$(apply "$URL" "$MIG/0002_shared_whatsapp_account.sql")"; then
    ok "0002 applies again"
else
    not_ok "0002 applies again" "$out"
fi
after="$(q "$SNAPSHOT")"
if [ "$before" = "$after" ] && [ -n "$before" ]; then
    ok "second run changes no settings row and adds no audit row"
else
    not_ok "second run changes no settings row and adds no audit row" "before: $before
after:  $after"
fi
check "audit still holds exactly 5 rows" "select count(*) = 5 from whatsapp_assignment_audit"
check "unique index present after the second run" "
select to_regclass('tenant_settings_phone_number_id_key') is not null"

finish
