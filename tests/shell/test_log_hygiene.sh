#!/usr/bin/env bash
# test_log_hygiene.sh - after a test run, no daemon log holds a secret or an unmasked
# phone number (DESIGN.md section 6, docs/decisions.md "Logs"). Reads the logs every
# daemon of the run wrote: .run/test-logs/*.log (integration tests), .run/browser-logs/
# (browser tests), .run/logs/ (make up / make run) and any kept .run/test-seed-curl-*/;
# only those newer than $LOG_HYGIENE_SINCE when tests/run.sh set it (it runs this suite
# last), else all of them. Looks for: every JWT secret, Graph access token, app secret
# and webhook verify token the tests configure (the fixed list below plus whatever the
# test sources set); any bearer JWT ("eyJ...eyJ..."); and anything E.164-looking
# (+ and 8 or more digits) where only the masked form (+34612***678) may appear.
# Output: TAP.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
cd "$ROOT" || exit 1
# shellcheck source=tests/lib/tap.sh
. tests/lib/tap.sh

PHONE_RE='\+[0-9]{8,}'
JWT_RE='eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}'

# The secrets the suites configure, by kind. The sources are read as well so that a new
# test's secret is covered without editing this list.
jwt_secrets=(test-jwt-secret-0123456789abcdef seed-curl-jwt-secret-0123456789 test-jwt-secret)
access_tokens=(EAAtest-graph-token EAAbrowser-test-token EAAseed-curl-token
    EAAfake-graph-token-0123456789 test-graph-token graph-sim-access-token)
app_secrets=(webhook-app-secret-0123 browser-test-app-secret graph-sim-app-secret test-app-secret)
verify_tokens=(verify-me-please browser-test-verify-token)

# extract KIND-REGEX: values of VAR=value, VAR: 'value' and #define NAME "value" lines
# of the test sources whose name matches KIND-REGEX (8 characters or more).
extract() {
    grep -rhoE "[A-Z_]*($1)[A-Z_]*(=|: *'|: *\"| +\")[A-Za-z0-9._-]{8,}" \
        tests/integration tests/shell tests/sql tests/browser/*.mjs 2>/dev/null |
        grep -v '\$' | sed -E "s/^[A-Z_]+(=|: *'|: *\"| +\")//" | sort -u
}
mapfile -t more < <(extract 'JWT_SECRET')
jwt_secrets+=("${more[@]}")
[ -f .run/jwt_secret ] && jwt_secrets+=("$(cat .run/jwt_secret)")
mapfile -t more < <(extract 'ACCESS_TOKEN|GRAPH_TOKEN')
access_tokens+=("${more[@]}")
mapfile -t more < <(extract 'APP_SECRET|CALLBACK_SECRET')
app_secrets+=("${more[@]}")
mapfile -t more < <(extract 'VERIFY_TOKEN')
verify_tokens+=("${more[@]}")

# scan_fixed FILE... (patterns on stdin, one a line): offending lines as FILE:LINE:TEXT.
scan_fixed() {
    local pats
    pats=$(mktemp)
    grep -v '^$' >"$pats"
    [ -s "$pats" ] && grep -HnF -f "$pats" -- "$@" 2>/dev/null
    rm -f "$pats"
}

# scan_phones FILE...: lines with an unmasked E.164-looking number.
scan_phones() {
    grep -HnE -- "$PHONE_RE" "$@" 2>/dev/null
}

scan_jwts() {
    grep -HnE -- "$JWT_RE" "$@" 2>/dev/null
}

# check DESCRIPTION HITS: ok when HITS is empty, else not ok with the first hits.
check() {
    if [ -z "$2" ]; then
        ok "$1"
    else
        not_ok "$1" "$(printf '%s\n' "$2" | cut -c1-300 | head -20)"
    fi
}

# 1. The scanner itself finds what it is meant to (a check that cannot fail is no check).
planted=$(mktemp)
cat >"$planted" <<PLANT
ts=2024-01-01T00:00:00.000Z level=info svc=x msg="message accepted" to=+34612***678
ts=2024-01-01T00:00:00.000Z level=warn svc=x msg="leak" to=+34612345678
ts=2024-01-01T00:00:00.000Z level=warn svc=x msg="leak" token=${access_tokens[0]}
ts=2024-01-01T00:00:00.000Z level=warn svc=x msg="leak" auth="Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
PLANT
p=$(scan_phones "$planted" | wc -l)
t=$(printf '%s\n' "${access_tokens[@]}" | scan_fixed "$planted" | wc -l)
j=$(scan_jwts "$planted" | wc -l)
if [ "$p" -eq 1 ] && [ "$t" -eq 1 ] && [ "$j" -eq 1 ]; then
    ok "the scan finds a planted number, token and JWT and passes the masked number"
else
    not_ok "the scan finds a planted number, token and JWT and passes the masked number" \
        "phones $p, tokens $t, jwts $j (each should be 1)"
fi
rm -f "$planted"

# 2. The logs of this run.
all_logs() {
    local d
    for d in .run/test-logs .run/browser-logs .run/logs; do
        [ -d "$d" ] && find "$d" -maxdepth 1 -type f -name '*.log' "$@"
    done
    find .run -maxdepth 2 -path '.run/test-seed-curl-*' -type f -name '*.log' "$@" 2>/dev/null
}
logs=()
since=${LOG_HYGIENE_SINCE:-}
if [ -n "$since" ] && [ -f "$since" ]; then
    mapfile -t logs < <(all_logs -newer "$since" | sort)
    scope="this run's"
fi
if [ "${#logs[@]}" -eq 0 ]; then
    mapfile -t logs < <(all_logs | sort)
    scope="all"
fi
if [ "${#logs[@]}" -eq 0 ]; then
    not_ok "daemon logs to check" "none under .run/test-logs, .run/browser-logs or .run/logs"
    tap_done
    exit 1
fi
ok "reading $scope ${#logs[@]} daemon logs"

check "no JWT secret in the logs" "$(printf '%s\n' "${jwt_secrets[@]}" | scan_fixed "${logs[@]}")"
check "no Graph access token in the logs" \
    "$(printf '%s\n' "${access_tokens[@]}" | scan_fixed "${logs[@]}")"
check "no app secret in the logs" "$(printf '%s\n' "${app_secrets[@]}" | scan_fixed "${logs[@]}")"
check "no webhook verify token in the logs" \
    "$(printf '%s\n' "${verify_tokens[@]}" | scan_fixed "${logs[@]}")"
check "no bearer token (JWT) in the logs" "$(scan_jwts "${logs[@]}")"
check "no unmasked phone number in the logs" "$(scan_phones "${logs[@]}")"
tap_done
