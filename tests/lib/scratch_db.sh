# shellcheck shell=bash
# scratch_db.sh - a scratch database on the test cluster for the SQL suites, dropped
# when the suite exits. Source it after tap.sh with SCRATCH set to the database name:
# it starts the cluster ($TEST_PG_DIR, started when needed), creates the database, sets
# ADMIN_URL and URL, and defines sql "STATEMENT" (one statement, output unaligned) and
# apply FILE (a migration; a failure ends the suite). The EXIT trap calls tap_done.

"$ROOT/scripts/pg.sh" start "${TEST_PG_DIR:-.run/test-pg}" || { not_ok "test PostgreSQL starts"; tap_done; exit 1; }
# shellcheck disable=SC1090,SC1091
. <("$ROOT/scripts/pg.sh" env "${TEST_PG_DIR:-.run/test-pg}")
ADMIN_URL=${NOTIFICATION_DATABASE_URL%/*}/postgres
URL=${NOTIFICATION_DATABASE_URL%/*}/$SCRATCH
sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$URL" -c "$1" 2>&1; }
apply() {
    local out
    out=$(psql -X -q -v ON_ERROR_STOP=1 "$URL" -f "$1" 2>&1) || { not_ok "$(basename "$1") applies" "$out"; exit 1; }
}
scratch_finish() {
    psql -X -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $SCRATCH" >/dev/null 2>&1
    tap_done
}
trap scratch_finish EXIT

psql -X -q -v ON_ERROR_STOP=1 "$ADMIN_URL" -c "CREATE DATABASE $SCRATCH" >/dev/null || exit 1
