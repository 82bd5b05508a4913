#!/usr/bin/env bash
# run.sh - runs every test suite against what `make` built and ends with one line
# "N passed, M failed". Suites speak TAP (cmocka with CMOCKA_MESSAGE_OUTPUT=TAP, the SQL
# and shell suites, node's test runner with --test-reporter=tap). A suite that exits
# non-zero without reporting a failing case counts as one failure (a crash, a leak
# report at exit, a missing binary). Exit status: 0 only when nothing failed.
#
# The browser suites run in a second lane, beside the unit, integration, fuzz, SQL and
# shell suites (two cores: the browser suites mostly wait on chromium and their stacks);
# the fault suite, whose throughput checks want the machine to themselves, runs after
# both lanes, then the API description's suites and the log check. TEST_LANES=1 runs
# everything one suite at a time.
#
# usage: tests/run.sh [SUITE-GLOB]   e.g. tests/run.sh 'integration/*tenant*'
set -u
cd "$(dirname "$0")/.."
filter=${1:-*}

export BIN_DIR=${BIN_DIR:-build/asan}
export TEST_PG_DIR=${TEST_PG_DIR:-.run/test-pg}
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
logs=.run/test-logs
mkdir -p "$logs"
# The responses the integration harness recorded (tests/openapi/responses.test.mjs reads
# this run's); older than a day they are of no use.
find "$logs/responses" -name '*.jsonl' -mmin +1440 -delete 2>/dev/null
# Daemon logs newer than this mark are this run's: tests/shell/test_log_hygiene.sh reads
# those (a concurrent run has a mark of its own).
export LOG_HYGIENE_SINCE=$logs/.run-start-$$
touch "$LOG_HYGIENE_SINCE"
trap 'rm -f "$LOG_HYGIENE_SINCE" "$results"' EXIT

# Each suite's counts, one line "NAME PASSED FAILED" (lanes append from two processes).
results=$logs/.results-$$
: >"$results"

# run_suite NAME COMMAND...: runs it, counts its TAP lines, keeps its output in $logs.
run_suite() {
    local name=$1
    shift
    # shellcheck disable=SC2254
    case "$name" in $filter) ;; *) return 0 ;; esac
    local out="$logs/${name//\//_}.tap"
    local start=$SECONDS
    "$@" >"$out" 2>&1
    local rc=$?
    local ok notok skipped note=
    ok=$(grep -cE '^[[:space:]]*ok [0-9]+' "$out")
    # A "# SKIP" directive marks a skip, not a failure: cmocka 1.1.5 writes a skipped test
    # as "not ok N # SKIP" (test_faults.c under valgrind).
    notok=$(grep -E '^[[:space:]]*not ok [0-9]+' "$out" | grep -cviE '#[[:space:]]*skip')
    skipped=$(grep -ciE '^[[:space:]]*not ok [0-9]+.*#[[:space:]]*skip' "$out")
    [ "$skipped" -ne 0 ] && note=" ($skipped skipped)"
    if [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ]; then
        notok=1
        echo "not ok - $name exited with status $rc" >>"$out"
    fi
    echo "$name $ok $notok" >>"$results"
    {
        printf '%-44s %4d passed %3d failed %4ds%s\n' "$name" "$ok" "$notok" $((SECONDS - start)) "$note"
        if [ "$notok" -ne 0 ]; then
            grep -E '^[[:space:]]*not ok' "$out" | grep -viE '#[[:space:]]*skip' | head -20 |
                sed 's/^/    /'
            echo "    (full output: $out)"
        fi
    } | flock "$results" cat
}

# The test PostgreSQL is stopped at the end when this run started it (KEEP_TEST_PG=1
# keeps it up for running single suites by hand afterwards).
pg_was_up=0
scripts/pg.sh status "$TEST_PG_DIR" 2>/dev/null && pg_was_up=1
stop_test_pg() {
    rm -f "$LOG_HYGIENE_SINCE" "$results"
    if [ "$pg_was_up" = 0 ] && [ "${KEEP_TEST_PG:-0}" != 1 ]; then
        scripts/pg.sh stop "$TEST_PG_DIR"
    fi
}
trap stop_test_pg EXIT
if ! scripts/pg.sh start "$TEST_PG_DIR"; then
    echo "could not start the test PostgreSQL"
    echo "0 passed, 1 failed"
    exit 1
fi

browser_lane() {
    [ -d tests/browser/node_modules/playwright-core ] || return 0
    for t in tests/browser/*.test.mjs; do
        [ -f "$t" ] && run_suite "browser/$(basename "$t")" node --test --test-reporter=tap "$t"
    done
}

lane_pid=
if [ "${TEST_LANES:-2}" -ge 2 ]; then
    browser_lane &
    lane_pid=$!
fi
faults="$BIN_DIR/tests/integration/test_faults"
for t in "$BIN_DIR"/tests/unit/test_*; do
    [ -x "$t" ] && run_suite "unit/$(basename "$t")" "$t"
done
for t in "$BIN_DIR"/tests/integration/test_*; do
    [ "$t" = "$faults" ] && continue # alone, below
    [ -x "$t" ] && run_suite "integration/$(basename "$t")" "$t"
done
run_suite fuzz bash tests/fuzz/run.sh
for t in tests/sql/test_*.sh tests/shell/test_*.sh; do
    [ "$t" = tests/shell/test_log_hygiene.sh ] && continue # last, below
    [ -f "$t" ] && run_suite "${t#tests/}" bash "$t"
done
if [ -n "$lane_pid" ]; then
    wait "$lane_pid"
else
    browser_lane
fi
[ -x "$faults" ] && run_suite integration/test_faults "$faults"
# The API description (docs/openapi.yaml, issue 16), after the integration suites whose
# recorded responses it validates: route drift, the recorded responses, the client
# generated from the documents the daemons served.
for t in tests/openapi/*.test.mjs; do
    [ -f "$t" ] && run_suite "openapi/$(basename "$t")" node --test --test-reporter=tap "$t"
done
# Last: reads the logs every suite above left behind.
run_suite shell/test_log_hygiene.sh bash tests/shell/test_log_hygiene.sh

passed=$(awk '{n += $2} END {print n + 0}' "$results")
failed=$(awk '{n += $3} END {print n + 0}' "$results")
failures=$(awk '$3 > 0 {printf " %s", $1}' "$results")
if [ -n "$failures" ]; then
    echo "failed suites:$failures"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
