#!/usr/bin/env bash
# test_env_example.sh - .env.example lists every variable every binary reads (as shown by
# its --help), each with a default or an empty value and a comment, and nothing that no
# binary or script reads. TAP output.
set -u
cd "$(dirname "$0")/../.."
bin=${BIN_DIR:-build/asan}
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }

# Variables read by scripts and docker-compose rather than by a binary.
extras=" POSTGRES_PASSWORD POSTGRES_USER POSTGRES_DB DATABASE_URL "

declare -A known=()
for b in tenant-service notification-service graph-sim; do
    if ! help=$("$bin/$b" --help 2>/dev/null); then
        not_ok "$b --help runs"
        continue
    fi
    vars=$(printf '%s\n' "$help" | sed -n 's/^  \([A-Z][A-Z0-9_]*\) .*/\1/p')
    [ -n "$vars" ] || { not_ok "$b --help lists variables"; continue; }
    missing=""
    for v in $vars; do
        known[$v]=1
        grep -qE "^#? ?$v=" .env.example || missing="$missing $v"
    done
    if [ -z "$missing" ]; then ok "$b: every variable is in .env.example"; else not_ok "$b: missing from .env.example:$missing"; fi
done

unknown=""
while IFS= read -r v; do
    [ -n "${known[$v]+x}" ] && continue
    case "$extras" in *" $v "*) continue ;; esac
    unknown="$unknown $v"
done < <(sed -n 's/^#\{0,1\} \{0,1\}\([A-Z][A-Z0-9_]*\)=.*/\1/p' .env.example | sort -u)
if [ -z "$unknown" ]; then ok ".env.example names only variables something reads"; else not_ok ".env.example names unknown variables:$unknown"; fi

# Every variable line is preceded by a comment line saying what it means.
bad=$(awk '/^#? ?[A-Z][A-Z0-9_]*=/ { if (prev !~ /^#/ || prev ~ /^# ?[A-Z][A-Z0-9_]*=/) print $0 } { prev = $0 }' .env.example | head -3)
if [ -z "$bad" ]; then ok "every variable has a one-line meaning above it"; else not_ok "variables without a comment: $bad"; fi

echo "1..$n"
[ "$failed" -eq 0 ]
