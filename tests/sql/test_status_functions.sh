#!/usr/bin/env bash
# Tests the status order functions of migrations/notification (0002, made inlinable by
# 0004): whatsapp_status_rank() for every status and NULL, whatsapp_status_merge() over
# every pair against the rules of docs/notification-service.md written out here, and that
# PostgreSQL inlines both (the per-row cost of the outbox's and the webhook's updates).
# Works in a scratch database on the test cluster ($TEST_PG_DIR, started when needed).
# Output: TAP.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
SCRATCH="status_fn_$$"
# shellcheck source=tests/lib/tap.sh
. "$ROOT/tests/lib/tap.sh"
# shellcheck source=tests/lib/scratch_db.sh
. "$ROOT/tests/lib/scratch_db.sh"
for f in "$ROOT"/migrations/notification/*.sql; do apply "$f"; done
ok "the notification migrations apply in order"

STATUSES=(queued sending sent delivered read failed skipped)
rank() {
    case $1 in
    queued) echo 0 ;; sending) echo 1 ;; sent) echo 2 ;; delivered) echo 3 ;; read) echo 4 ;;
    failed | skipped) echo 100 ;; *) echo "" ;;
    esac
}
# The rules: no incoming status changes nothing; failed and skipped never change; failed
# wins over everything but read; otherwise only a higher rank moves the status.
merge() { # current incoming
    local cur=$1 in=$2
    if [ -z "$in" ] || [ "$cur" = failed ] || [ "$cur" = skipped ]; then echo "$cur"
    elif [ "$in" = failed ]; then [ "$cur" = read ] && echo read || echo failed
    elif [ "$(rank "$in")" -gt "$(rank "$cur")" ]; then echo "$in"
    else echo "$cur"; fi
}

bad=""
for s in "${STATUSES[@]}" NULL; do
    lit=$([ "$s" = NULL ] && echo NULL || echo "'$s'")
    got=$(sql "SELECT whatsapp_status_rank($lit)")
    want=$(rank "$s")
    [ "$got" = "$want" ] || bad+="rank($s) = '$got', want '$want'"$'\n'
done
[ -z "$bad" ] && ok "whatsapp_status_rank: every status, and NULL is NULL" || not_ok "whatsapp_status_rank" "$bad"

bad="" checked=0
for cur in "${STATUSES[@]}"; do
    for in in "${STATUSES[@]}" ""; do
        lit=$([ -z "$in" ] && echo NULL || echo "'$in'")
        got=$(sql "SELECT whatsapp_status_merge('$cur', $lit)")
        want=$(merge "$cur" "$in")
        checked=$((checked + 1))
        [ "$got" = "$want" ] || bad+="merge($cur, ${in:-NULL}) = '$got', want '$want'"$'\n'
    done
done
[ -z "$bad" ] && ok "whatsapp_status_merge: all $checked pairs follow the rules" || not_ok "whatsapp_status_merge" "$bad"

# Inlined: the plan holds the CASE, not a call (a call runs a SQL function per row).
plan=$(sql "EXPLAIN (VERBOSE, COSTS OFF) SELECT whatsapp_status_rank(s),
                whatsapp_status_merge(s, 'read') FROM (VALUES ('sent'::text), ('read')) v(s)")
if grep -q "whatsapp_status_" <<<"$plan" || ! grep -q "CASE" <<<"$plan"; then
    not_ok "both functions are inlined into the calling statement" "$plan"
else
    ok "both functions are inlined into the calling statement"
fi
