# shellcheck shell=bash
# tap.sh - TAP output for the shell suites (tests/sql, tests/shell): source it, report
# each case with ok / not_ok, and end with tap_done.

n=0
failed=0

# ok DESCRIPTION
ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}

# not_ok DESCRIPTION [DETAILS]: DETAILS (up to 40 lines) follow as TAP comments.
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    [ -z "${2:-}" ] || printf '%s\n' "$2" | head -40 | sed 's/^/# /'
}

# Prints the plan and a summary; fails when a case failed.
tap_done() {
    echo "1..$n"
    [ "$failed" -eq 0 ] || echo "# $failed of $n failed"
    [ "$failed" -eq 0 ]
}
