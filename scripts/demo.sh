#!/usr/bin/env bash
# demo.sh - the pilot's ten demo bakeries, made through tenant-service's REST API only
# (curl + jq): creates the ones that do not exist yet (matched by name), gives the first
# six a phone number of the WABA (the free ones, in display order) and turns WhatsApp on
# for the first four. The platform's default number (WHATSAPP_PHONE_NUMBER_ID, the list
# item with "is_default": true; +34 612 345 678 in the sandbox) is never handed out: it
# sends for every bakery without a number of its own, and tenant-service refuses to
# assign it (409 phone_number_reserved). So Panadería San Juan gets +34 612 345 679 in
# the sandbox. Running it again changes nothing. Called by `scripts/stack.sh up` once the
# stack is ready.
#
# Environment: TENANT_URL and ADMIN_TOKEN (from .run/stack.env). NOTIFICATION_URL is not
# needed: tenant-service asks notification-service for the WABA's numbers itself.
# Output: only the id of Panadería San Juan on stdout (stack.sh's DEMO_TENANT_ID);
# progress and warnings on stderr. Exit status 1 when tenant-service refuses or cannot
# be reached; phone numbers that cannot be had (notification-service or Graph down) are
# a warning, not a failure.
set -euo pipefail

: "${TENANT_URL:?TENANT_URL is not set (see .run/stack.env)}"
: "${ADMIN_TOKEN:?ADMIN_TOKEN is not set (see .run/stack.env)}"
command -v jq >/dev/null || { echo "demo: jq is required" >&2; exit 1; }

# name|whatsapp_default_language; the first six get a number, the first four WhatsApp on.
BAKERIES=(
    "Panadería San Juan|es"
    "Panadería Goiko|eu"
    "Obrador Txuri|eu"
    "Pastelería La Espiga|es"
    "Horno San Blas|es"
    "Panadería Arrieta|es"
    "Forn de Sant Jaume|en"
    "Panadería El Trigal|es"
    "Confitería Sarasola|eu"
    "Panadería Ogi Berri|eu"
)
WITH_PHONE=6
WITH_WHATSAPP=4

say() { echo "demo: $*" >&2; }

# api METHOD PATH [JSON]: prints the response body; fails (with the server's message on
# stderr) unless the status is 2xx.
api() {
    local method=$1 path=$2 body=${3:-} out status
    local args=(-sS -X "$method" -H "Authorization: Bearer $ADMIN_TOKEN" -w '\n%{http_code}')
    if [ -n "$body" ]; then
        args+=(-H 'Content-Type: application/json' --data-binary "$body")
    fi
    if ! out=$(curl "${args[@]}" "$TENANT_URL$path"); then
        say "$method $path: tenant-service is unreachable at $TENANT_URL"
        return 1
    fi
    status=${out##*$'\n'}
    out=${out%$'\n'*}
    if [[ $status != 2?? ]]; then
        say "$method $path: HTTP $status: $(jq -r '.message // .' <<<"$out" 2>/dev/null || echo "$out")"
        return 1
    fi
    printf '%s' "$out"
}

tenants=$(api GET /api/v1/tenants)
ids=()
for entry in "${BAKERIES[@]}"; do
    name=${entry%%|*}
    id=$(jq -r --arg n "$name" 'map(select(.name == $n)) | sort_by(.created_at) | .[0].id // empty' <<<"$tenants")
    if [ -z "$id" ]; then
        id=$(api POST /api/v1/tenants "$(jq -nc --arg n "$name" '{name: $n}')" | jq -r .id)
        say "created $name ($id)"
    fi
    ids+=("$id")
done

status=$(api GET /api/v1/admin/whatsapp/tenants)
if phones=$(api GET /api/v1/admin/whatsapp/phone-numbers); then
    # The WABA's free numbers, lowest display number first; never the platform's default.
    mapfile -t free < <(jq -r 'map(select(.assigned_tenant_id == null and .is_default != true))
                               | sort_by(.display_phone_number) | .[].id' <<<"$phones")
    next=0
    for ((i = 0; i < WITH_PHONE; i++)); do
        id=${ids[$i]}
        held=$(jq -r --arg id "$id" '.[] | select(.tenant_id == $id) | .phone_number_id // empty' <<<"$status")
        [ -z "$held" ] || continue
        if [ "$next" -ge "${#free[@]}" ]; then
            say "no free phone number left in the WABA for ${BAKERIES[$i]%%|*}"
            break
        fi
        phone=${free[$next]}
        next=$((next + 1))
        if reply=$(api POST "/api/v1/admin/whatsapp/tenants/$id/assign-phone" \
            "$(jq -nc --arg p "$phone" '{phone_number_id: $p}')"); then
            say "$(jq -r .message <<<"$reply")"
        fi
    done
else
    say "the WABA's phone numbers are unavailable: no numbers assigned this time"
fi

for ((i = 0; i < ${#BAKERIES[@]}; i++)); do
    language=${BAKERIES[$i]#*|}
    if [ "$i" -lt "$WITH_WHATSAPP" ]; then
        settings=$(jq -nc --arg l "$language" '{whatsapp_enabled: true, whatsapp_default_language: $l,
                          po_notification_channels: ["email", "whatsapp"]}')
    else
        settings=$(jq -nc --arg l "$language" '{whatsapp_default_language: $l}')
    fi
    api PUT "/api/v1/tenants/${ids[$i]}/settings/notifications" "$settings" >/dev/null
done

say "ten demo bakeries ready"
printf '%s\n' "${ids[0]}"
