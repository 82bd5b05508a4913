#!/usr/bin/env bash
# run.sh - builds the libFuzzer harnesses (tests/fuzz/fuzz_*.c) with clang and
# -fsanitize=fuzzer,address,undefined into build/fuzz/, then runs each for FUZZ_SECONDS
# (default 5) starting from its seed corpus tests/fuzz/corpus/NAME/. Prints TAP: one
# "ok N - fuzz_NAME: RUNS runs, no crash" per harness. New interesting inputs go to
# build/fuzz/work/NAME/ with FUZZ_KEEP=1 (make fuzz), else to a scratch directory, never
# to the committed corpus; a crash leaves its input in build/fuzz/artifacts/ and fails
# the harness's line (add it to the corpus once fixed).
#
# usage: tests/fuzz/run.sh [NAME...]     e.g. FUZZ_SECONDS=60 tests/fuzz/run.sh route
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cd "$ROOT" || exit 1
# shellcheck source=tests/lib/tap.sh
. tests/lib/tap.sh

SECONDS_EACH=${FUZZ_SECONDS:-5}
OUT=build/fuzz
CLANG=${FUZZ_CC:-}
if [ -z "$CLANG" ]; then
    for c in clang-14 clang; do
        if command -v "$c" >/dev/null 2>&1; then
            CLANG=$c
            break
        fi
    done
fi
PKGS="libpq jansson uuid libjwt libcrypto"
# shellcheck disable=SC2054 # -fsanitize takes a comma-separated list
CFLAGS=(-std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer
    -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Icommon)

# The sources each harness is linked with (its own file first).
declare -A SOURCES=(
    [purchase_order]="services/notification/api/intake_validate.c common/alloc.c common/e164.c common/mailaddr.c common/jsonutil.c common/uuidutil.c"
    [message]="services/notification/api/intake_validate.c common/alloc.c common/e164.c common/mailaddr.c common/jsonutil.c common/uuidutil.c"
    [webhook]="services/notification/api/webhook_parse.c common/alloc.c common/config.c common/e164.c common/hex.c common/hmac.c common/log.c common/uuidutil.c"
    [e164]="common/e164.c"
    [auth]="common/auth.c common/alloc.c common/uuidutil.c"
    [settings]="services/tenant/settings_validate.c common/po_template.c common/mailaddr.c common/jsonutil.c common/alloc.c"
    [route]="common/route.c"
)
declare -A INCLUDES=(
    [purchase_order]=services/notification [message]=services/notification
    [webhook]=services/notification [settings]=services/tenant
)
ALL=(purchase_order message webhook e164 auth settings route)

names=("$@")
[ "${#names[@]}" -eq 0 ] && names=("${ALL[@]}")

if [ -z "$CLANG" ]; then
    not_ok "fuzz harnesses build" "clang is not installed (scripts/setup.sh test installs it)"
    tap_done
    exit 1
fi
# shellcheck disable=SC2086 # word splitting of pkg-config output is wanted
read -r -a PKG_CFLAGS <<<"$(pkg-config --cflags $PKGS)"
# shellcheck disable=SC2086
read -r -a PKG_LIBS <<<"$(pkg-config --libs $PKGS)"
mkdir -p "$OUT/artifacts" "$OUT/logs"

for name in "${names[@]}"; do
    if [ -z "${SOURCES[$name]+x}" ]; then
        not_ok "fuzz_$name" "no such harness (known: ${ALL[*]})"
        continue
    fi
    bin=$OUT/fuzz_$name
    log=$OUT/logs/fuzz_$name.log
    inc=()
    [ -n "${INCLUDES[$name]:-}" ] && inc=(-I"${INCLUDES[$name]}")
    # shellcheck disable=SC2086 # the source list is space-separated on purpose
    if ! "$CLANG" "${CFLAGS[@]}" "${inc[@]}" "${PKG_CFLAGS[@]}" "tests/fuzz/fuzz_$name.c" \
        ${SOURCES[$name]} -o "$bin" "${PKG_LIBS[@]}" -lm >"$log" 2>&1; then
        not_ok "fuzz_$name builds" "$(tail -20 "$log")"
        continue
    fi
    corpus=tests/fuzz/corpus/$name
    # FUZZ_KEEP=1 (make fuzz): what a run finds is kept for the next one; otherwise (make
    # test) each run starts from the seeds alone, so its time stays the same.
    if [ "${FUZZ_KEEP:-0}" = 1 ]; then
        work=$OUT/work/$name
    else
        work=$OUT/scratch/$name
        rm -rf "$work"
    fi
    mkdir -p "$work"
    if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus")" ]; then
        not_ok "fuzz_$name: seed corpus $corpus is missing or empty"
        continue
    fi
    dict=()
    [ -f "tests/fuzz/dict/$name.dict" ] && dict=(-dict="tests/fuzz/dict/$name.dict")
    # -rss_limit_mb: a 2-core CI box runs the daemons' tests beside us.
    "$bin" "${dict[@]}" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=1024 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$OUT/artifacts/fuzz_$name-" \
        "$work" "$corpus" >>"$log" 2>&1
    rc=$?
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | tail -1 | grep -oE '[0-9]+$')
    if [ "$rc" -eq 0 ] && [ -n "$runs" ] && [ "$runs" -gt 0 ]; then
        ok "fuzz_$name: $runs runs, no crash"
    else
        not_ok "fuzz_$name: ${runs:-0} runs, exit status $rc (log: $log)" \
            "$(grep -E 'ERROR|invariant|SUMMARY|Test unit written|runtime error' "$log" | head -20)"
    fi
done
tap_done
