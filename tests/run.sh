#!/usr/bin/env bash
# run.sh - runs every test suite against what `make` built and ends with one line
# "N passed, M failed". Suites speak TAP (cmocka with CMOCKA_MESSAGE_OUTPUT=TAP, the SQL
# and shell suites, node's test runner with --test-reporter=tap). A suite that exits
# non-zero without reporting a failing case counts as one failure (a crash, a leak
# report at exit, a missing binary). Exit status: 0 only when nothing failed.
#
# The suites run side by side (TEST_JOBS at a time, default 4: they mostly wait on their
# daemons), the browser suites at most BROWSER_SLOTS (2) at a time and one only beside the
# fault suite, whose rates and latencies want the CPU chromium takes; then the API
# description's suites and the log check. TEST_JOBS=1 runs one suite at a time.
#
# usage: tests/run.sh [SUITE-GLOB]   e.g. tests/run.sh 'integration/*tenant*'
set -u
cd "$(dirname "$0")/.."
filter=${1:-*}

export BIN_DIR=${BIN_DIR:-build/asan}
export TEST_PG_DIR=${TEST_PG_DIR:-.run/test-pg}
export PG_FSYNC=${PG_FSYNC:-off} # scripts/pg.sh: no suite cuts the power
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
# The ports the integration harness hands out, one file each: a port once per run.
export H_PORTS_DIR=$PWD/.run/ports-$$
mkdir -p "$H_PORTS_DIR"
trap 'rm -rf "$LOG_HYGIENE_SINCE" "$results" "$H_PORTS_DIR"' EXIT

# Each suite's counts, one line "NAME PASSED FAILED" (lanes append from two processes).
results=$logs/.results-$$
: >"$results"

# children_cpu VAR: sets VAR to the CPU seconds (user + system) this shell's finished
# children used so far; a suite's cost is the difference, daemons and browsers it started
# included (PostgreSQL's backends not). `times` runs in this shell: in a $(...) subshell
# it would see that subshell's children only.
children_cpu() {
    local f=$logs/.times-$BASHPID
    times >"$f"
    printf -v "$1" '%s' "$(awk 'NR == 2 {
        n = 0
        for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); n += t[1] * 60 + t[2] }
        printf "%d", n
    }' "$f")"
    rm -f "$f"
}

# Each failing case with why it failed, as far as the output says: cmocka writes its
# "# file.c:N: error:" lines after the "not ok", node's runner a YAML block with the
# error and its location. CI shows only this summary, so it must be enough to start from.
failure_reasons() {
    awk 'function say(line) { print "  " substr(line, 1, 200); why-- }
         /^[[:space:]]*(not )?ok [0-9]+|^[[:space:]]*not ok -/ {
             why = 0; more = 0
             if ($0 ~ /^[[:space:]]*not ok/ && tolower($0) !~ /#[[:space:]]*skip/) {
                 print; why = 4
             }
             next
         }
         why > 0 && more { say($0); more = 0; next }
         why > 0 && /^[[:space:]]*# / && !/# Subtest:/ { say($0); next }
         why > 0 && /^[[:space:]]*(error|location):/ { say($0); more = /\|-?$/ }' "$1"
}

# run_suite NAME COMMAND...: runs it, counts its TAP lines, keeps its output in $logs.
run_suite() {
    local name=$1
    shift
    # shellcheck disable=SC2254
    case "$name" in $filter) ;; *) return 0 ;; esac
    local out="$logs/${name//\//_}.tap"
    local start=$SECONDS cpu0 cpu1
    children_cpu cpu0
    "$@" >"$out" 2>&1
    local rc=$?
    children_cpu cpu1
    local cpu=$((cpu1 - cpu0))
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
    echo "$name $((SECONDS - start))" | flock "$results" tee -a "$durations" >/dev/null
    {
        printf '%-44s %4d passed %3d failed %4ds %5ds cpu%s\n' "$name" "$ok" "$notok" \
            $((SECONDS - start)) "$cpu" "$note"
        if [ "$notok" -ne 0 ]; then
            failure_reasons "$out" | head -40 | sed 's/^/    /'
            echo "    (full output: $out)"
        fi
    } | flock "$results" cat
}

# The test PostgreSQL is stopped at the end when this run started it (KEEP_TEST_PG=1
# keeps it up for running single suites by hand afterwards).
pg_was_up=0
scripts/pg.sh status "$TEST_PG_DIR" 2>/dev/null && pg_was_up=1
stop_test_pg() {
    rm -rf "$LOG_HYGIENE_SINCE" "$results" "$H_PORTS_DIR"
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

# The suites of the first phase, one "KIND NAME" per line. KIND says how they share the
# machine: "browser" suites drive chromium (CPU-bound: at most BROWSER_SLOTS at a time),
# "serial" ones start stacks on fixed ports or burn CPU by design (fuzzing): one at a
# time; "faults" (test_faults: loads, kills, stops PostgreSQL, measures rates and
# latencies) runs beside one browser suite at most; "light" ones mostly wait on their
# daemons, and are most of the suites.
faults="$BIN_DIR/tests/integration/test_faults"
first_phase() {
    local t
    for t in "$BIN_DIR"/tests/unit/test_* "$BIN_DIR"/tests/integration/test_*; do
        [ "$t" = "$faults" ] && echo "faults integration/test_faults" && continue
        [ -x "$t" ] && echo "light $(basename "$(dirname "$t")")/$(basename "$t")"
    done
    if [ -d tests/browser/node_modules/playwright-core ]; then
        for t in tests/browser/*.test.mjs; do
            [ -f "$t" ] && echo "browser browser/$(basename "$t")"
        done
    fi
    echo "serial fuzz"
    for t in tests/sql/test_*.sh tests/shell/test_*.sh; do
        [ "$t" = tests/shell/test_log_hygiene.sh ] && continue # last
        [ -f "$t" ] && echo "serial ${t#tests/}"
    done
}

# suite_command NAME: the command that runs suite NAME, into the array `cmd`.
suite_command() {
    case "$1" in
    unit/* | integration/*) cmd=("$BIN_DIR/tests/$1") ;;
    browser/*) cmd=(node --test --test-reporter=tap "tests/$1") ;;
    fuzz) cmd=(bash tests/fuzz/run.sh) ;;
    *) cmd=(bash "tests/$1") ;;
    esac
}

# The last run's seconds per suite: the longest start first, so that no long suite is
# left to run alone at the end (a new checkout starts browser and serial suites first).
durations=$logs/durations
longest_first() {
    awk 'FILENAME == ARGV[1] { d[$1] = $2; next }
         { k = $2 in d ? d[$2] : ($1 == "light" ? 30 : $1 == "faults" ? 300 : 60)
           print k "\t" $0 }' \
        "$durations" - 2>/dev/null | sort -t "$(printf '\t')" -k1,1 -rn -s | cut -f2-
}

# run_pool: runs first_phase's suites, TEST_JOBS at a time (default 4: most wait on their
# daemons, all of them together use about 600 CPU seconds; more at once starved the
# daemons of their time bounds), within the per-kind limits above.
run_pool() {
    local jobs=${TEST_JOBS:-4} browser_slots=${BROWSER_SLOTS:-2}
    local -a queue=()
    local -A kind_of=() running=()
    local kind name pid i started done_pid n_browser n_serial browser_max
    # the last figure of each suite only (every run appends its own)
    touch "$durations"
    awk '{ d[$1] = $2 } END { for (k in d) print k, d[k] }' "$durations" >"$durations.new" &&
        mv "$durations.new" "$durations"
    while read -r kind name; do
        # shellcheck disable=SC2254
        case "$name" in $filter) ;; *) continue ;; esac
        queue+=("$name")
        kind_of[$name]=$kind
    done < <(first_phase | longest_first)
    while [ "${#queue[@]}" -gt 0 ] || [ "${#running[@]}" -gt 0 ]; do
        started=1
        while [ "$started" = 1 ] && [ "${#running[@]}" -lt "$jobs" ]; do
            started=0
            n_browser=0 n_serial=0 browser_max=$browser_slots
            for pid in "${!running[@]}"; do
                case "${kind_of[${running[$pid]}]}" in
                browser) n_browser=$((n_browser + 1)) ;;
                serial) n_serial=$((n_serial + 1)) ;;
                faults) browser_max=1 ;;
                esac
            done
            for i in "${!queue[@]}"; do
                name=${queue[$i]}
                kind=${kind_of[$name]}
                [ "$kind" = browser ] && [ "$n_browser" -ge "$browser_max" ] && continue
                [ "$kind" = faults ] && [ "$n_browser" -gt 1 ] && continue
                [ "$kind" = serial ] && [ "$n_serial" -ge 1 ] && continue
                suite_command "$name"
                run_suite "$name" "${cmd[@]}" &
                running[$!]=$name
                unset 'queue[i]'
                started=1
                break
            done
        done
        [ "${#running[@]}" -gt 0 ] || break
        wait -n -p done_pid "${!running[@]}"
        unset 'running[$done_pid]'
    done
}

# Browser suites use this run's PostgreSQL (tests/browser/stack.mjs), which none of them
# then stops under the others.
export BROWSER_PG_DIR=$TEST_PG_DIR
if [ "${TEST_JOBS:-4}" -le 1 ]; then
    while read -r kind name; do
        suite_command "$name"
        run_suite "$name" "${cmd[@]}"
    done < <(first_phase)
else
    run_pool
fi
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
