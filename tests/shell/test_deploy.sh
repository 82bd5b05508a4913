#!/usr/bin/env bash
# test_deploy.sh - checks the deployment files without a Docker engine or systemd:
#   - docker-compose.yml (and docker-compose.sandbox.yml) pass `docker-compose config -q`
#     with the required variables and fail without them, and are wired as documented;
#   - the Dockerfile's package lists match what the Makefile links (its PKGS line), the
#     release binaries need nothing the run stage lacks, and it runs as a non-root user;
#   - the systemd units of deploy/systemd pass `systemd-analyze verify` and carry the
#     keys docs/operations.md relies on.
# Prints TAP; exits non-zero when a check fails. docker-compose missing is a failure
# (scripts/setup.sh installs it in its `test` group), never a skip.
#
# usage: bash tests/shell/test_deploy.sh     (tests/run.sh runs it during `make test`)
set -u
cd "$(dirname "$0")/../.." || exit 1
release_dir=${RELEASE_DIR:-build} # release binaries (BIN_DIR is the sanitizer build)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { # DESCRIPTION [DIAGNOSTIC LINE...]
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    shift
    local l
    for l in "$@"; do printf '#   %s\n' "$l"; done
}
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# report DESCRIPTION PROBLEMS...: ok when no problem was given.
report() {
    local desc=$1
    shift
    if [ "$#" -eq 0 ]; then ok "$desc"; else not_ok "$desc" "$@"; fi
}

# ---------------------------------------------------------------- mapping table
# pkg-config name (Makefile PKGS) -> Debian 12 -dev package (build stage) and runtime
# library package (run stage). A package added to PKGS must be added here.
declare -A DEV_PKG=(
    [libmicrohttpd]=libmicrohttpd-dev
    [libpq]=libpq-dev
    [libcurl]=libcurl4-openssl-dev
    [jansson]=libjansson-dev
    [uuid]=uuid-dev
    [libjwt]=libjwt-dev
    [libcrypto]=libssl-dev
    [libssl]=libssl-dev
)
declare -A RUN_PKG=(
    [libmicrohttpd]=libmicrohttpd12
    [libpq]=libpq5
    [libcurl]=libcurl4
    [jansson]=libjansson4
    [uuid]=libuuid1
    [libjwt]=libjwt0
    [libcrypto]=libssl3
    [libssl]=libssl3
)
# Packages debian:bookworm-slim already has, so the run stage need not install them.
BASE_PKGS=(libc6)

# ---------------------------------------------------------------- helpers
# YAML helpers (python3-yaml is a dependency of Debian's docker-compose).
cat >"$tmp/yamltool.py" <<'PY'
import sys, yaml
mode, paths = sys.argv[1], sys.argv[2:]
def walk(p, v):
    if isinstance(v, dict):
        for k, x in v.items():
            walk(p + [str(k)], x)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            walk(p + [str(i)], x)
    else:
        print(".".join(p) + "=" + ("" if v is None else str(v)))
for path in paths:
    doc = yaml.safe_load(open(path)) if path != "-" else yaml.safe_load(sys.stdin)
    if mode == "flat":
        walk([], doc)
    elif mode == "envkeys":  # "SERVICE KEY" for every environment entry
        for name, svc in (doc.get("services") or {}).items():
            env = (svc or {}).get("environment") or {}
            keys = env.keys() if isinstance(env, dict) else [e.split("=", 1)[0] for e in env]
            for k in keys:
                print(name, k)
PY

# compose DIR ARGS...: docker-compose in DIR with an empty environment, so variables
# of the caller's shell (a developer's JWT_SECRET) cannot make a check pass.
compose() {
    local dir=$1
    shift
    (cd "$dir" && env -i PATH="$PATH" HOME="$tmp" LANG=C.UTF-8 docker-compose "$@")
}

# A throwaway project directory: the compose files, the init script, and an .env.
new_project() { # DIR ENV-LINES...
    local dir=$1
    shift
    mkdir -p "$dir/deploy"
    cp docker-compose.yml docker-compose.sandbox.yml docker-compose.cluster.yml "$dir/"
    cp -r deploy/postgres-init deploy/nginx "$dir/deploy/"
    printf '%s\n' "$@" >"$dir/.env"
}

# Dockerfile instructions, one per line: STAGE<TAB>INSTRUCTION<TAB>ARGUMENTS, with
# continuation lines joined and comment lines dropped. STAGE counts FROMs from 1.
dockerfile_instructions() {
    awk '
        /^[[:space:]]*#/ { next }
        {
            line = (cont == "" ? $0 : cont " " $0)
            if (line ~ /\\[[:space:]]*$/) { sub(/\\[[:space:]]*$/, "", line); cont = line; next }
            cont = ""
            gsub(/[[:space:]]+/, " ", line); sub(/^ /, "", line); sub(/ $/, "", line)
            if (line == "") next
            instr = toupper(line); sub(/ .*/, "", instr)
            args = line; sub(/^[^ ]+ ?/, "", args)
            if (instr == "FROM") stage++
            printf "%d\t%s\t%s\n", stage, instr, args
        }' Dockerfile
}

# apt_packages STAGE: the packages of every `apt-get install` in that stage.
apt_packages() {
    dockerfile_instructions | awk -F'\t' -v s="$1" '
        $1 == s && $2 == "RUN" {
            n = split($3, w, " "); on = 0
            for (i = 1; i <= n; i++) {
                if (w[i] == "&&" || w[i] == ";" || w[i] == "|" || w[i] == "||") { on = 0; continue }
                if (w[i] == "install" && i > 1 && (w[i-1] ~ /apt-get$/ || w[i-1] ~ /^-/ || w[i-1] == "apt")) { on = 1; continue }
                if (on && w[i] !~ /^-/) print w[i]
            }
        }' | sort -u
}

# file_owners PATH...: fills OWNER[path]=package for the paths dpkg knows, in one dpkg -S
# call (each call reads the whole file database). With merged /usr, dpkg may know a
# library as /lib/... or /usr/lib/...: both spellings are asked for and recorded.
declare -A OWNER=()
file_owners() {
    local p cands=() line pkg path
    for p in "$@"; do
        cands+=("$p" "$(readlink -f "$p")")
        case "$p" in /usr/*) cands+=("${p#/usr}") ;; *) cands+=("/usr$p") ;; esac
    done
    while IFS= read -r line; do
        pkg=${line%%: /*} path=/${line#*: /}
        pkg=${pkg%%,*}
        OWNER[$path]=${pkg%%:*}
    done < <(dpkg -S "${cands[@]}" 2>/dev/null)
}
owner_of() { # PATH: the package owning PATH (after file_owners), or nothing
    local p=$1 c
    for c in "$p" "$(readlink -f "$p")" "/usr$p" "${p#/usr}"; do
        [ -n "${OWNER[$c]:-}" ] && { echo "${OWNER[$c]}"; return; }
    done
}

in_list() { # WORD LIST...
    local w=$1 x
    shift
    for x in "$@"; do [ "$x" = "$w" ] && return 0; done
    return 1
}

# ================================================================ docker-compose
have_compose=0
if command -v docker-compose >/dev/null 2>&1; then
    have_compose=1
    ok "docker-compose is installed ($(docker-compose version --short 2>/dev/null || echo '?'))"
else
    not_ok "docker-compose is installed" "install it: scripts/setup.sh test (Debian package docker-compose)"
fi

good_env=("JWT_SECRET=test-jwt-secret" "POSTGRES_PASSWORD=test-pg-password")
sandbox_args=(-f docker-compose.yml -f docker-compose.sandbox.yml --profile sandbox)
if [ "$have_compose" = 1 ]; then
    new_project "$tmp/good" "${good_env[@]}"
    if out=$(compose "$tmp/good" config -q 2>&1); then
        ok "docker-compose config -q passes with JWT_SECRET and POSTGRES_PASSWORD in .env"
    else
        not_ok "docker-compose config -q passes with JWT_SECRET and POSTGRES_PASSWORD in .env" "$out"
    fi
    if out=$(compose "$tmp/good" "${sandbox_args[@]}" config -q 2>&1); then
        ok "sandbox: docker-compose -f docker-compose.yml -f docker-compose.sandbox.yml --profile sandbox config -q passes"
    else
        not_ok "sandbox: docker-compose with docker-compose.sandbox.yml and --profile sandbox passes config -q" "$out"
    fi

    cluster_args=(-f docker-compose.yml -f docker-compose.cluster.yml)
    if out=$(compose "$tmp/good" "${cluster_args[@]}" config 2>&1); then
        cluster=$(python3 "$tmp/yamltool.py" flat - <<<"$out")
        problems=()
        for line in "services.tenant-service-2.environment.NOTIFICATION_SERVICE_URL=http://balancer:8002" \
            "services.notification-service-2.environment.TENANT_SERVICE_URL=http://balancer:8001" \
            "services.notification-service.environment.INSTANCE_ID=notification-1" \
            "services.notification-service-2.environment.INSTANCE_ID=notification-2"; do
            grep -qFx "$line" <<<"$cluster" || problems+=("missing: $line")
        done
        grep -qE "^services\.balancer\.volumes\.[0-9]+=.*/deploy/nginx/cluster\.conf:/etc/nginx/nginx\.conf:ro$" <<<"$cluster" ||
            problems+=("the balancer does not mount deploy/nginx/cluster.conf")
        report "cluster: docker-compose.cluster.yml adds a second instance of each service behind the balancer" "${problems[@]}"
    else
        not_ok "cluster: docker-compose -f docker-compose.yml -f docker-compose.cluster.yml config passes" "$out"
    fi

    for var in JWT_SECRET POSTGRES_PASSWORD; do
        envs=()
        for e in "${good_env[@]}"; do [ "${e%%=*}" = "$var" ] || envs+=("$e"); done
        new_project "$tmp/no-$var" "${envs[@]}"
        out=$(compose "$tmp/no-$var" config -q 2>&1)
        rc=$?
        if [ "$rc" -ne 0 ] && grep -q "$var" <<<"$out"; then
            ok "docker-compose config fails without $var and names it"
        else
            not_ok "docker-compose config fails without $var and names it" "exit status $rc" "$out"
        fi
    done

    # The resolved configurations, flattened to path=value lines.
    compose "$tmp/good" config 2>/dev/null | python3 "$tmp/yamltool.py" flat - >"$tmp/default.flat"
    compose "$tmp/good" "${sandbox_args[@]}" config 2>/dev/null |
        python3 "$tmp/yamltool.py" flat - >"$tmp/sandbox.flat"
    has() { grep -qFx "$2" "$tmp/$1.flat"; } # has default|sandbox LINE

    problems=()
    has default "services.notification-service.environment.GRAPH_API_BASE_URL=https://graph.facebook.com" ||
        problems+=("default stack: notification-service's GRAPH_API_BASE_URL is not https://graph.facebook.com")
    has sandbox "services.notification-service.environment.GRAPH_API_BASE_URL=http://graph-sim:8090" ||
        problems+=("sandbox: notification-service's GRAPH_API_BASE_URL is not http://graph-sim:8090")
    has sandbox "services.notification-service.depends_on.graph-sim.condition=service_healthy" ||
        problems+=("sandbox: notification-service does not wait for a healthy graph-sim")
    has sandbox "services.graph-sim.environment.GRAPH_SIM_WEBHOOK_URL=http://notification-service:8002/api/v1/whatsapp/webhook" ||
        problems+=("graph-sim does not post its webhooks to notification-service")
    # graph-sim and notification-service must agree on the sandbox credentials.
    for pair in ACCESS_TOKEN:WHATSAPP_ACCESS_TOKEN WABA_ID:WHATSAPP_BUSINESS_ACCOUNT_ID APP_SECRET:WHATSAPP_APP_SECRET; do
        a=$(sed -n "s/^services\.graph-sim\.environment\.GRAPH_SIM_${pair%%:*}=//p" "$tmp/sandbox.flat")
        b=$(sed -n "s/^services\.notification-service\.environment\.${pair#*:}=//p" "$tmp/sandbox.flat")
        [ -n "$a" ] && [ "$a" = "$b" ] ||
            problems+=("sandbox: GRAPH_SIM_${pair%%:*} ('$a') differs from notification-service's ${pair#*:} ('$b')")
    done
    report "graph-sim is wired as the sandbox Graph API and webhook sender; the default stack uses graph.facebook.com" "${problems[@]}"

    problems=()
    has default "services.graph-sim.profiles.0=sandbox" ||
        problems+=("graph-sim is not under profiles: [sandbox]")
    for svc in postgres tenant-service notification-service; do
        grep -q "^services\.$svc\.profiles\." "$tmp/default.flat" &&
            problems+=("$svc has a profile; the default stack must start it")
    done
    has default "services.postgres.image=postgres:15" || problems+=("postgres is not image postgres:15")
    grep -qE '^services\.postgres\.volumes\.[0-9]+=.*/deploy/postgres-init:/docker-entrypoint-initdb\.d' "$tmp/default.flat" ||
        problems+=("postgres does not mount deploy/postgres-init on /docker-entrypoint-initdb.d")
    for db in tenant notification; do
        grep -qiE "^[[:space:]]*create database \"?$db\"?[[:space:]]*;" deploy/postgres-init/01-databases.sql ||
            problems+=("deploy/postgres-init/01-databases.sql does not create database $db")
    done
    report "profiles: graph-sim only in sandbox; postgres:15 with the init script creating tenant and notification" "${problems[@]}"

    problems=()
    grep -q '^services\.postgres\.healthcheck\.test\.' "$tmp/default.flat" || problems+=("postgres has no healthcheck")
    for sp in tenant-service:8001 notification-service:8002 graph-sim:8090; do
        svc=${sp%%:*} port=${sp#*:}
        hc=$(sed -n "s/^services\.$svc\.healthcheck\.test\.[0-9]*=//p" "$tmp/default.flat" | tr '\n' ' ')
        case "$hc" in
        *curl*"http://127.0.0.1:$port/ready"*) ;;
        *) problems+=("$svc: healthcheck is not curl on http://127.0.0.1:$port/ready (got: $hc)") ;;
        esac
        has default "services.$svc.ports.0.target=$port" || problems+=("$svc does not publish port $port")
    done
    for svc in tenant-service notification-service; do
        has default "services.$svc.depends_on.postgres.condition=service_healthy" ||
            problems+=("$svc does not wait for a healthy postgres (depends_on condition: service_healthy)")
    done
    report "health checks on /ready with curl; services wait for a healthy postgres" "${problems[@]}"

    problems=()
    has default "services.tenant-service.environment.TENANT_DATABASE_URL=postgresql://bakery:test-pg-password@postgres:5432/tenant" ||
        problems+=("tenant-service's TENANT_DATABASE_URL is not the postgres service's tenant database")
    has default "services.notification-service.environment.NOTIFICATION_DATABASE_URL=postgresql://bakery:test-pg-password@postgres:5432/notification" ||
        problems+=("notification-service's NOTIFICATION_DATABASE_URL is not the postgres service's notification database")
    has default "services.tenant-service.environment.NOTIFICATION_SERVICE_URL=http://notification-service:8002" ||
        problems+=("tenant-service's NOTIFICATION_SERVICE_URL is not http://notification-service:8002")
    has default "services.notification-service.environment.TENANT_SERVICE_URL=http://tenant-service:8001" ||
        problems+=("notification-service's TENANT_SERVICE_URL is not http://tenant-service:8001")
    for sv in tenant-service:BIND_ADDRESS notification-service:BIND_ADDRESS graph-sim:GRAPH_SIM_BIND_ADDRESS; do
        has default "services.${sv%%:*}.environment.${sv#*:}=0.0.0.0" || problems+=("${sv%%:*}: ${sv#*:} is not 0.0.0.0")
    done
    # (`config` merges env_file into environment, so env_file is read from the file itself.)
    python3 "$tmp/yamltool.py" flat docker-compose.yml >"$tmp/raw.flat"
    for svc in tenant-service notification-service; do
        has default "services.$svc.environment.JWT_SECRET=test-jwt-secret" || problems+=("$svc: JWT_SECRET not taken from .env")
        grep -qE "^services\.$svc\.env_file(\.0)?=(\./)?\.env$" "$tmp/raw.flat" || problems+=("$svc: no env_file .env")
    done
    report "databases, service URLs, bind address and secrets are wired from .env" "${problems[@]}"
fi

# Every variable the compose files and the units set is one the binary reads (its cfg
# table in main.c, with the rows common/daemon.h's macros give every service), so a typo
# cannot silently leave a default in place.
cfg_names() { # FILE...: the variable names of cfg_var tables
    {
        grep -hoE '^[[:space:]]*\{"[A-Z][A-Z0-9_]*",[[:space:]]*CFG_' "$@" 2>/dev/null | sed -E 's/^[[:space:]]*\{"([A-Z0-9_]+)".*/\1/'
        # DAEMON_HTTP_VARS(target, "PORT_VARIABLE", ...): the port's name is an argument
        grep -hoE 'DAEMON_HTTP_VARS\([^,]*, "[A-Z][A-Z0-9_]*"' "$@" 2>/dev/null | sed -E 's/.*"([A-Z0-9_]+)"$/\1/'
    } | sort -u
}
declare -A CFG_FILES=(
    [tenant-service]="services/tenant/main.c common/daemon.h"
    [notification-service]="services/notification/main.c common/daemon.h"
    [graph-sim]="$(grep -l 'struct cfg_var' tools/graph-sim/*.c 2>/dev/null | tr '\n' ' ')"
)
env_keys=$(python3 "$tmp/yamltool.py" envkeys docker-compose.yml docker-compose.sandbox.yml 2>&1) ||
    not_ok "docker-compose files parse as YAML" "$env_keys"
for svc in tenant-service notification-service graph-sim; do
    files=${CFG_FILES[$svc]}
    if [ -z "${files// /}" ]; then
        skip "$svc: the compose files set only variables it reads" "no cfg_var table in tools/graph-sim yet"
        continue
    fi
    # shellcheck disable=SC2086
    known=$(cfg_names $files)
    problems=()
    while read -r key; do
        grep -qFx "$key" <<<"$known" || problems+=("$key is not in the cfg table of $files")
    done < <(awk -v s="$svc" '$1 == s { print $2 }' <<<"$env_keys")
    unit=deploy/systemd/$svc.service
    if [ -f "$unit" ]; then
        while read -r key; do
            grep -qFx "$key" <<<"$known" || problems+=("$unit: Environment=$key is not in the cfg table of $files")
        done < <(sed -nE 's/^Environment="?([A-Z_][A-Z0-9_]*)=.*/\1/p' "$unit")
    fi
    report "$svc: the compose files and its unit set only variables it reads" "${problems[@]}"
done

# ================================================================ Dockerfile
if [ ! -f Dockerfile ]; then
    not_ok "Dockerfile exists"
else
    dockerfile_instructions >"$tmp/dockerfile.tsv"
    dockerfile_instructions() { cat "$tmp/dockerfile.tsv"; } # parsed once
    nstages=$(dockerfile_instructions | awk -F'\t' '$2 == "FROM"' | wc -l)
    build_stage=$(dockerfile_instructions | awk -F'\t' '$2 == "FROM" && tolower($3) ~ / as build$/ { print $1; exit }')
    build_stage=${build_stage:-1}
    run_stage=$nstages
    problems=()
    [ "$nstages" -ge 2 ] || problems+=("expected a build stage and a run stage, found $nstages FROM")
    [ "$build_stage" != "$run_stage" ] || problems+=("the build stage is the last stage")
    while IFS=$'\t' read -r st _ args; do
        case "$args" in
        debian:bookworm-slim | "debian:bookworm-slim "*) ;;
        *) problems+=("stage $st is FROM $args, not debian:bookworm-slim") ;;
        esac
    done < <(dockerfile_instructions | awk -F'\t' '$2 == "FROM"')
    report "Dockerfile: multi-stage on debian:bookworm-slim (build stage $build_stage, run stage $run_stage)" "${problems[@]}"

    mapfile -t build_pkgs < <(apt_packages "$build_stage")
    mapfile -t run_pkgs < <(apt_packages "$run_stage")

    pkgs_line=$(sed -nE 's/^PKGS[[:space:]]*[:?+]?=[[:space:]]*//p' Makefile | head -1)
    read -r -a make_pkgs <<<"$pkgs_line"
    problems=()
    [ "${#make_pkgs[@]}" -gt 0 ] || problems+=("no PKGS line found in the Makefile")
    for pc in "${make_pkgs[@]}"; do
        [ -n "${DEV_PKG[$pc]:-}" ] && [ -n "${RUN_PKG[$pc]:-}" ] ||
            problems+=("PKGS has '$pc', unknown to the mapping table of tests/shell/test_deploy.sh: add its -dev and runtime Debian packages there and to the Dockerfile")
    done
    report "the mapping table knows every package of the Makefile's PKGS (${make_pkgs[*]})" "${problems[@]}"

    for pc in "${make_pkgs[@]}"; do
        dev=${DEV_PKG[$pc]:-} rt=${RUN_PKG[$pc]:-}
        [ -n "$dev" ] || continue
        problems=()
        in_list "$dev" "${build_pkgs[@]}" || problems+=("build stage does not install $dev")
        in_list "$rt" "${run_pkgs[@]}" || problems+=("run stage does not install $rt")
        in_list "$dev" "${run_pkgs[@]}" && problems+=("run stage installs the -dev package $dev")
        report "Dockerfile: pkg-config $pc -> $dev in the build stage, $rt in the run stage" "${problems[@]}"
    done

    # The table against this Debian system: the .pc file belongs to the -dev package, and
    # the -dev package depends on the runtime package.
    problems=()
    if ! command -v dpkg-query >/dev/null 2>&1; then
        problems+=("dpkg-query not found: this check needs Debian 12")
    else
        declare -A pcfiles=()
        for pc in "${make_pkgs[@]}"; do
            pcfiles[$pc]=$(pkg-config --path "$pc" 2>/dev/null)
        done
        file_owners "${pcfiles[@]}"
        for pc in "${make_pkgs[@]}"; do
            dev=${DEV_PKG[$pc]:-} rt=${RUN_PKG[$pc]:-}
            [ -n "$dev" ] || continue
            pcfile=${pcfiles[$pc]}
            if [ -z "$pcfile" ]; then
                problems+=("pkg-config cannot find $pc (is $dev installed? scripts/setup.sh build)")
                continue
            fi
            owner=$(owner_of "$pcfile")
            [ "$owner" = "$dev" ] || problems+=("$pcfile belongs to '$owner', the table says $dev")
            deps=$(dpkg-query -W -f='${Depends}' "$dev" 2>/dev/null)
            grep -qE "(^|[ ,|])$rt( |,|\\(|$)" <<<"$deps" ||
                problems+=("$dev does not depend on $rt (Depends: $deps)")
        done
    fi
    report "the mapping table matches this system's packages (pkg-config file owner, -dev -> runtime dependency)" "${problems[@]}"

    problems=()
    # libyaml-dev: tools/openapi-embed converts docs/openapi.yaml at build time only.
    for p in build-essential pkg-config libyaml-dev; do
        in_list "$p" "${build_pkgs[@]}" || problems+=("build stage does not install $p")
    done
    dockerfile_instructions | awk -F'\t' -v s="$build_stage" '$1 == s && $2 == "RUN" && $3 ~ /make( -[^ ]+)* bins/' | grep -q . ||
        problems+=("build stage does not run make bins")
    for p in "${run_pkgs[@]}"; do
        case "$p" in
        *-dev | build-essential | gcc | make | pkg-config) problems+=("run stage installs build tool $p") ;;
        esac
    done
    for p in ca-certificates curl; do
        in_list "$p" "${run_pkgs[@]}" || problems+=("run stage does not install $p")
    done
    report "Dockerfile: build stage has the tool chain and runs make bins; run stage has only runtime packages, ca-certificates and curl" "${problems[@]}"

    # Every binary the Makefile builds is in the image.
    mapfile -t bins < <(sed -nE 's/^BINS[[:space:]]*[:?]?=//p' Makefile | tr ' ' '\n' | sed -nE 's#^\$\(OUT\)/##p')
    run_copy=$(dockerfile_instructions | awk -F'\t' -v s="$run_stage" '$1 == s && $2 == "COPY" { print $3 }')
    problems=()
    [ "${#bins[@]}" -gt 0 ] || problems+=("no BINS line found in the Makefile")
    for b in "${bins[@]}"; do
        grep -qE -- "--from=build .*build/$b( .*)? /usr/local/bin/?$" <<<"$run_copy" ||
            problems+=("run stage does not copy build/$b to /usr/local/bin")
    done
    grep -qE '^frontend-static/? /usr/share/bakery-whatsapp/frontend-static/?$' <<<"$run_copy" ||
        problems+=("run stage does not copy frontend-static/ to /usr/share/bakery-whatsapp/frontend-static")
    run_env=$(dockerfile_instructions | awk -F'\t' -v s="$run_stage" '$1 == s && $2 == "ENV" { print $3 }')
    for v in BIND_ADDRESS GRAPH_SIM_BIND_ADDRESS; do
        grep -qE "(^| )$v=0\.0\.0\.0( |$)" <<<"$run_env" || problems+=("run stage does not set $v=0.0.0.0")
    done
    grep -qE '(^| )STATIC_DIR=/usr/share/bakery-whatsapp/frontend-static/?( |$)' <<<"$run_env" ||
        problems+=("run stage does not set STATIC_DIR=/usr/share/bakery-whatsapp/frontend-static")
    report "Dockerfile: run stage has ${bins[*]} in /usr/local/bin, the pages in STATIC_DIR, listening on 0.0.0.0" "${problems[@]}"

    run_user=$(dockerfile_instructions | awk -F'\t' -v s="$run_stage" '$1 == s && $2 == "USER" { u = $3 } END { print u }')
    run_user_name=${run_user%%:*}
    problems=()
    case "$run_user_name" in
    "") problems+=("run stage has no USER: the container would run as root") ;;
    root | 0) problems+=("run stage's USER is $run_user") ;;
    *)
        dockerfile_instructions | awk -F'\t' -v s="$run_stage" '$1 == s && $2 == "RUN"' |
            grep -qE "useradd .*(^| )$run_user_name( |$)|adduser .*(^| )$run_user_name( |$)" ||
            [[ $run_user_name =~ ^[0-9]+$ ]] ||
            problems+=("run stage never creates user $run_user_name")
        ;;
    esac
    report "Dockerfile: run stage runs as a non-root user (USER ${run_user:-none})" "${problems[@]}"

    # The release binaries' direct shared libraries all come from run-stage packages.
    problems=()
    needs=() # "binary library path"
    for b in "${bins[@]}"; do
        f=$release_dir/$b
        if [ ! -x "$f" ]; then
            problems+=("$f is missing: run make bins first (make test builds it)")
            continue
        fi
        ldd_out=$(ldd "$f" 2>&1)
        for lib in $(readelf -d "$f" | sed -nE 's/.*\(NEEDED\).*\[(.*)\].*/\1/p'); do
            path=$(awk -v l="$lib" '$1 == l && $2 == "=>" { print $3; exit }' <<<"$ldd_out")
            if [ -z "$path" ] || [ "$path" = "not" ]; then
                problems+=("$b: $lib is not found by ldd")
            else
                needs+=("$b $lib $path")
            fi
        done
    done
    if [ "${#needs[@]}" -gt 0 ]; then
        mapfile -t lib_paths < <(printf '%s\n' "${needs[@]}" | awk '{ print $3 }' | sort -u)
        file_owners "${lib_paths[@]}"
    fi
    for need in "${needs[@]}"; do
        read -r b lib path <<<"$need"
        pkg=$(owner_of "$path")
        if [ -z "$pkg" ]; then
            problems+=("$b: no Debian package owns $path ($lib)")
        elif ! in_list "$pkg" "${run_pkgs[@]}" "${BASE_PKGS[@]}"; then
            problems+=("$b needs $lib from package $pkg, which the run stage does not install")
        fi
    done
    report "release binaries in $release_dir/ need only libraries the run stage installs" "${problems[@]}"
fi

problems=()
if [ -f .dockerignore ]; then
    for p in build .run node_modules .git .env; do
        grep -qE "^(\*\*/)?/?${p//./\\.}/?$" .dockerignore || problems+=(".dockerignore does not exclude $p")
    done
else
    problems+=(".dockerignore is missing")
fi
report ".dockerignore keeps build/, .run/, node_modules, .git and .env out of the build context" "${problems[@]}"

# ================================================================ systemd units
# unit_keys FILE: "Section.Key=value" lines.
unit_keys() {
    awk '
        /^[[:space:]]*[#;]/ || /^[[:space:]]*$/ { next }
        /^\[.*\]$/ { sec = substr($0, 2, length($0) - 2); next }
        { print sec "." $0 }' "$1"
}
have_analyze=0
command -v systemd-analyze >/dev/null 2>&1 && have_analyze=1
for svc in tenant-service notification-service; do
    unit=deploy/systemd/$svc.service
    if [ ! -f "$unit" ]; then
        not_ok "$unit exists"
        continue
    fi
    keys=$(unit_keys "$unit")
    problems=()
    for want in \
        "Unit.Description=" \
        "Service.ExecStart=/usr/local/bin/$svc" \
        "Service.EnvironmentFile=/etc/bakery-whatsapp/$svc.env" \
        "Service.Restart=on-failure" \
        "Service.KillSignal=SIGTERM" \
        "Service.TimeoutStopSec=15" \
        "Service.NoNewPrivileges=yes" \
        "Service.ProtectSystem=strict" \
        "Service.PrivateTmp=yes" \
        "Install.WantedBy=multi-user.target"; do
        case "$want" in
        *=) grep -q "^${want}." <<<"$keys" || problems+=("no ${want%=}") ;;
        *) grep -qFx "$want" <<<"$keys" || problems+=("no $want") ;;
        esac
    done
    grep -qE '^Service\.(DynamicUser=yes|User=[a-z_][a-z0-9_-]*)$' <<<"$keys" ||
        problems+=("neither DynamicUser=yes nor User=")
    grep -qE '^Service\.User=(root|0)$' <<<"$keys" && problems+=("runs as root")
    report "$unit has the required keys (ExecStart, EnvironmentFile, non-root, Restart, stop, hardening)" "${problems[@]}"

    if [ "$have_analyze" = 0 ]; then
        skip "$unit passes systemd-analyze verify" "systemd-analyze not installed (required keys checked above)"
        continue
    fi
    # verify wants ExecStart to exist: check a copy whose ExecStart is a stub executable.
    # It exits 0 even on unknown keys or bad values, so any output counts as a failure.
    mkdir -p "$tmp/units"
    printf '#!/bin/sh\nexit 0\n' >"$tmp/units/stub"
    chmod +x "$tmp/units/stub"
    sed "s#^ExecStart=/usr/local/bin/$svc#ExecStart=$tmp/units/stub#" "$unit" >"$tmp/units/$svc.service"
    out=$(systemd-analyze verify "$tmp/units/$svc.service" 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
        ok "$unit passes systemd-analyze verify"
    else
        not_ok "$unit passes systemd-analyze verify" "exit status $rc" "${out//$tmp\/units/deploy/systemd}"
    fi
    # Exposure as systemd rates it, 0 (locked down) to 10; the units aim at "OK" (< 2).
    if systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
        out=$(systemd-analyze security --offline=yes --threshold=20 "$tmp/units/$svc.service" 2>&1)
        rc=$?
        level=$(sed -nE 's/.*Overall exposure level for [^:]*: ([0-9.]+).*/\1/p' <<<"$out")
        if [ "$rc" -eq 0 ]; then
            ok "$unit: systemd-analyze security exposure ${level:-?} is at most 2.0"
        else
            not_ok "$unit: systemd-analyze security exposure ${level:-?} is at most 2.0" "$(grep -E '^✗' <<<"$out" | head -20)"
        fi
    else
        skip "$unit: systemd-analyze security exposure is at most 2.0" "this systemd-analyze has no --offline"
    fi
done

echo "1..$n"
[ "$failed" -eq 0 ]
