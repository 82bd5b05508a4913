#!/usr/bin/env bash
# Installs the Debian 12 packages (and the node suites' npm modules) the project needs.
# Idempotent and silent when everything is already there; called by make run/test/bench.
#
# Usage: scripts/setup.sh [GROUP...]
#   build   compilers, pkg-config and the -dev libraries (plus cmocka for unit tests)
#   run     build + postgresql + aiosmtpd (make run's local mail server)
#   test    build + postgresql + curl + jq + chromium + node/npm + docker-compose + aiosmtpd
#           + clang/libclang-rt (fuzzing, sanitizers) + valgrind + nginx; npm modules of tests/browser
#           and tests/openapi
#   cluster nginx (make up-cluster's load balancer)
#   bench   build + postgresql + wrk
#   lint    clang-format
#   all     every group (the default when no group is given)
# Exit status: 0 when everything is present afterwards, 1 when something is missing and
# cannot be installed (not root and no sudo), apt-get's status when an install fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"

PKGS_BUILD=(build-essential pkg-config libmicrohttpd-dev libpq-dev libcurl4-openssl-dev
    libjansson-dev uuid-dev libssl-dev libjwt-dev libcmocka-dev libyaml-dev)
PKGS_PG=(postgresql postgresql-contrib python3-aiosmtpd) # the last: the local mail server
PKGS_TEST_EXTRA=(curl jq chromium docker-compose clang libclang-rt-14-dev valgrind python3-aiosmtpd
    nginx-light)
PKGS_CLUSTER=(nginx-light)
PKGS_NODE=(nodejs npm)
PKGS_BENCH_EXTRA=(wrk jq curl openssl)
PKGS_LINT=(clang-format)

usage() {
    echo "usage: scripts/setup.sh [build|run|test|bench|lint|cluster|all]..." >&2
    exit 2
}

want_build=0 want_pg=0 want_test=0 want_bench=0 want_lint=0 want_cluster=0
[ "$#" -eq 0 ] && set -- all
for group in "$@"; do
    case "$group" in
    build) want_build=1 ;;
    run) want_build=1 want_pg=1 ;;
    test) want_build=1 want_pg=1 want_test=1 ;;
    bench) want_build=1 want_pg=1 want_bench=1 ;;
    lint) want_lint=1 ;;
    cluster) want_cluster=1 ;;
    all) want_build=1 want_pg=1 want_test=1 want_bench=1 want_lint=1 want_cluster=1 ;;
    -h | --help) usage ;;
    *)
        echo "setup.sh: unknown group '$group'" >&2
        usage
        ;;
    esac
done

wanted=()
[ "$want_build" = 1 ] && wanted+=("${PKGS_BUILD[@]}")
[ "$want_pg" = 1 ] && wanted+=("${PKGS_PG[@]}")
[ "$want_cluster" = 1 ] && wanted+=("${PKGS_CLUSTER[@]}")
if [ "$want_test" = 1 ]; then
    wanted+=("${PKGS_TEST_EXTRA[@]}")
    # A node/npm from elsewhere (nodesource, nvm, ...) is fine; Debian's would clash with it.
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        wanted+=("${PKGS_NODE[@]}")
    fi
fi
[ "$want_bench" = 1 ] && wanted+=("${PKGS_BENCH_EXTRA[@]}")
[ "$want_lint" = 1 ] && wanted+=("${PKGS_LINT[@]}")

# One dpkg-query for all packages: unknown packages are reported on stderr and simply
# do not appear in the output, so anything not printed as "<want> ok installed" is missing.
declare -A state=()
while read -r pkg _ flag status; do
    if [ "$flag" = ok ] && [ "$status" = installed ]; then
        state[$pkg]=installed
    fi
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${wanted[@]}" 2>/dev/null || true)
missing=()
declare -A seen=()
for pkg in "${wanted[@]}"; do
    [ -n "${seen[$pkg]:-}" ] && continue
    seen[$pkg]=1
    [ "${state[$pkg]:-}" = installed ] || missing+=("$pkg")
done

if [ "${#missing[@]}" -gt 0 ]; then
    SUDO=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            SUDO=(sudo)
        else
            echo "setup.sh: missing Debian packages (run as root): apt-get install ${missing[*]}" >&2
            exit 1
        fi
    fi
    echo "setup.sh: installing ${missing[*]}" >&2
    # Lock timeout: another apt/dpkg run (e.g. unattended-upgrades) may hold the lock.
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 update >&2
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 \
        install -y --no-install-recommends "${missing[@]}" >&2
fi

# npm modules of the node suites: tests/browser drives Debian's chromium through
# playwright-core (never a downloaded browser, hence PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD)
# and checks each page with axe-core;
# tests/openapi checks docs/openapi.yaml (ajv, yaml, openapi-typescript, typescript).
# Each directory is installed when the module named after it is missing.
npm_install() { # DIR SENTINEL-MODULE
    local dir=$ROOT/$1
    [ -f "$dir/package.json" ] && [ ! -d "$dir/node_modules/$2" ] || return 0
    if ! command -v npm >/dev/null 2>&1; then
        echo "setup.sh: npm not found on PATH, cannot install $1 modules" >&2
        exit 1
    fi
    echo "setup.sh: installing npm modules of $1" >&2
    (
        cd "$dir"
        export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
        if [ -f package-lock.json ] || [ -f npm-shrinkwrap.json ]; then
            npm ci --no-audit --no-fund >&2
        else
            npm install --no-audit --no-fund >&2
        fi
    )
}
if [ "$want_test" = 1 ]; then
    npm_install tests/browser playwright-core
    npm_install tests/browser axe-core
    npm_install tests/openapi ajv
    npm_install tests/openapi openapi-typescript
fi
exit 0
