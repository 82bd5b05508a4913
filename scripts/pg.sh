#!/usr/bin/env bash
# The project's private ("embedded") PostgreSQL: one throwaway cluster per directory, on a
# free 127.0.0.1 port, with the databases `tenant` and `notification`.
#
# Usage: scripts/pg.sh start|stop|wipe|status|env [DIR]
#   DIR      defaults to $PG_DIR, else .run/pg; a relative DIR is taken from the repo root.
#   start    initdb if DIR/data is missing, start the server (no-op when it runs), create
#            the databases if missing, write DIR/env. With DATABASE_URL set nothing is
#            started: the databases are created on that server and DIR/env points there.
#   stop     stop the server of DIR if it runs (fast shutdown); never fails when stopped.
#   wipe     stop, then delete DIR.
#   status   exit 0 when the server answers (DATABASE_URL's server if that is set).
#   env      print DIR/env: PG_PORT, TENANT_DATABASE_URL, NOTIFICATION_DATABASE_URL.
# PG_FSYNC=off starts the server without fsync (tests/run.sh: the suites never cut the
# power, and every CREATE DATABASE would otherwise sync a thousand files); the default,
# on, is for make run and make bench, whose durable intake is measured with it.
# Silent on success; one line on stderr and a non-zero exit on failure. Server output is
# in DIR/log, initdb output in DIR/initdb.log. As root the server runs as user postgres.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
DATABASES=(tenant notification)
PORT_MIN=20000
PORT_MAX=40000

die() {
    echo "pg.sh: $*" >&2
    exit 1
}

usage() {
    echo "usage: scripts/pg.sh start|stop|wipe|status|env [DIR]" >&2
    exit 2
}

if [ "$#" -lt 1 ] || [ "$#" -gt 2 ]; then
    usage
fi
CMD="$1"
DIR="${2:-${PG_DIR:-.run/pg}}"
[ -n "$DIR" ] || usage
case "$DIR" in
/*) ;;
*) DIR="$ROOT/$DIR" ;;
esac
DIR="${DIR%/}"
# DIR ends up inside pg_ctl's -o string, which a shell splits again.
unsafe="[[:space:]'\"\\\\]"
if [[ "$DIR" =~ $unsafe ]]; then
    die "DIR must not contain spaces, quotes or backslashes: $DIR"
fi
DATA="$DIR/data"

AS_PG=()
if [ "$(id -u)" -eq 0 ]; then
    AS_PG=(runuser -u postgres --)
fi

# Runs a PostgreSQL server binary as the cluster owner, from a directory it can read
# (initdb and postgres refuse to start from an unreadable working directory).
# fd 9 (our lock on DIR) is closed so the server does not inherit and hold the lock.
as_owner() {
    (cd / && "${AS_PG[@]}" "$@" 9<&-)
}

pg_bin() {
    local initdb="" candidate
    for candidate in /usr/lib/postgresql/*/bin/initdb; do
        [ -x "$candidate" ] && initdb="$(printf '%s\n%s\n' "$initdb" "$candidate" | sort -V | tail -n 1)"
    done
    [ -n "$initdb" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql (run scripts/setup.sh)"
    PGBIN="$(dirname "$initdb")"
}

# psql against the cluster over TCP (trust auth: no password, works for any OS user).
local_psql() {
    local port="$1" db="$2"
    shift 2
    PGCONNECT_TIMEOUT=10 psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres \
        -d "$db" "$@"
}

is_running() {
    [ -f "$DATA/PG_VERSION" ] || return 1
    pg_bin
    as_owner "$PGBIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

# Port of the running server, from line 4 of postmaster.pid.
running_port() {
    sed -n 4p "$DATA/postmaster.pid" 2>/dev/null
}

# True when nothing accepts connections on 127.0.0.1:$1. Connecting (bash /dev/tcp) needs
# no extra tool; postgres' own bind is the final word and start retries on a clash.
port_is_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Random port in PORT_MIN..PORT_MAX outside the kernel's ephemeral range (outgoing
# connections take local ports from there and could steal ours between runs).
pick_port() {
    local lo=32768 hi=60999 port tries=0
    if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
        read -r lo hi </proc/sys/net/ipv4/ip_local_port_range || true
    fi
    while [ "$tries" -lt 200 ]; do
        tries=$((tries + 1))
        port=$((PORT_MIN + (RANDOM * 32768 + RANDOM) % (PORT_MAX - PORT_MIN + 1)))
        if [ "$tries" -lt 100 ] && [ "$port" -ge "$lo" ] && [ "$port" -le "$hi" ]; then
            continue
        fi
        if port_is_free "$port"; then
            echo "$port"
            return 0
        fi
    done
    die "no free TCP port found in $PORT_MIN-$PORT_MAX on 127.0.0.1"
}

# A value for DIR/env: bare when it is plain, else single-quoted so the file stays
# sourceable (a DATABASE_URL may carry "?a=1&b=2").
env_value() {
    local safe='^[A-Za-z0-9@%+=:,./_~-]*$'
    if [[ "$1" =~ $safe ]]; then
        printf '%s' "$1"
    else
        printf "'%s'" "${1//\'/\'\\\'\'}"
    fi
}

write_env() {
    local tmp="$DIR/env.tmp.$$"
    {
        printf 'PG_PORT=%s\n' "$(env_value "$1")"
        printf 'TENANT_DATABASE_URL=%s\n' "$(env_value "$2")"
        printf 'NOTIFICATION_DATABASE_URL=%s\n' "$(env_value "$3")"
    } >"$tmp" || die "cannot write $DIR/env"
    chmod 644 "$tmp"
    mv -f "$tmp" "$DIR/env" || die "cannot write $DIR/env"
}

# Creates the missing project databases; $@ is the psql connection (options or a URL).
ensure_databases() {
    local db have out
    have="$(psql -X -q -At -v ON_ERROR_STOP=1 "$@" -c "select string_agg(datname, ' ') \
        from pg_database where datname in ('tenant', 'notification')" 2>&1)" ||
        die "cannot query databases: $(echo "$have" | head -n 1)"
    for db in "${DATABASES[@]}"; do
        case " $have " in *" $db "*) continue ;; esac
        out="$(psql -X -q -v ON_ERROR_STOP=1 "$@" -c "create database $db" 2>&1)" ||
            case "$out" in
            *"already exists"*) ;; # a concurrent start created it
            *) die "cannot create database $db: $(echo "$out" | head -n 1)" ;;
            esac
    done
}

# Every directory above DIR must be searchable by the postgres user; names the top-most
# one that is not.
check_traversable() {
    local d="" part rest="${1#/}"
    [ "${#AS_PG[@]}" -gt 0 ] || return 0
    while [ -n "$rest" ]; do
        part="${rest%%/*}"
        [ "$part" = "$rest" ] && rest="" || rest="${rest#*/}"
        [ -n "$rest" ] || break # DIR itself is chowned to postgres afterwards
        d="$d/$part"
        [ -d "$d" ] || break # created by mkdir -p below with mode 755
        if ! "${AS_PG[@]}" test -x "$d" 2>/dev/null; then
            die "user postgres cannot enter $d (needed for $1): chmod o+x $d, or choose another DIR"
        fi
    done
}

lock_dir() {
    mkdir -p "$DIR" || die "cannot create $DIR"
    if command -v flock >/dev/null 2>&1; then
        exec 9<"$DIR"
        flock -w 120 9 || die "$DIR is locked by another pg.sh for over 120 s"
    fi
}

# ---- DATABASE_URL mode: someone else's server -------------------------------------------

# Replaces the database name of a postgres URL: scheme://authority[/db][?query].
url_with_db() {
    local url="$1" db="$2"
    local re='^(postgres(ql)?://[^/?#]*)(/[^?#]*)?([?#].*)?$'
    [[ "$url" =~ $re ]] || die "DATABASE_URL is not a postgresql:// URL"
    echo "${BASH_REMATCH[1]}/$db${BASH_REMATCH[4]}"
}

url_port() {
    local re='^postgres(ql)?://([^@/?#]*@)?(\[[^]]*\]|[^:/?#]*)(:([0-9]+))?'
    if [[ "$1" =~ $re ]] && [ -n "${BASH_REMATCH[5]}" ]; then
        echo "${BASH_REMATCH[5]}"
    else
        echo 5432
    fi
}

start_external() {
    command -v psql >/dev/null 2>&1 || die "psql not found (run scripts/setup.sh)"
    url_with_db "$DATABASE_URL" x >/dev/null
    mkdir -p "$DIR" || die "cannot create $DIR"
    PGCONNECT_TIMEOUT=10 ensure_databases "$DATABASE_URL"
    write_env "$(url_port "$DATABASE_URL")" "$(url_with_db "$DATABASE_URL" tenant)" \
        "$(url_with_db "$DATABASE_URL" notification)"
}

# ---- private cluster --------------------------------------------------------------------

init_cluster() {
    local locale
    for locale in C.UTF-8 C; do
        rm -rf "$DATA"
        if as_owner "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 \
            --locale="$locale" >"$DIR/initdb.log" 2>&1; then
            return 0
        fi
    done
    rm -rf "$DATA"
    die "initdb failed, see $DIR/initdb.log"
}

start_local() {
    command -v psql >/dev/null 2>&1 || die "psql not found (run scripts/setup.sh)"
    pg_bin
    if [ "${#AS_PG[@]}" -gt 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root but there is no postgres user (install the postgresql package)"
    fi
    check_traversable "$DIR"
    lock_dir
    if [ "${#AS_PG[@]}" -gt 0 ]; then
        chown postgres: "$DIR" || die "cannot chown $DIR to postgres"
        touch "$DIR/log" || die "cannot create $DIR/log"
        chown postgres: "$DIR/log" || die "cannot chown $DIR/log to postgres"
    fi

    local port=""
    if is_running; then
        port="$(running_port)"
        [ -n "$port" ] || die "server in $DATA runs but its port is unknown"
    else
        [ -f "$DATA/PG_VERSION" ] || init_cluster
        # The socket path (DIR/.s.PGSQL.PORT) must fit in sockaddr_un (107 bytes); when DIR
        # is too deep we listen on TCP only, which is all the project uses anyway.
        local sockdir="$DIR"
        [ "$((${#DIR} + 20))" -le 107 ] || sockdir=""
        local attempt saved=""
        [ -f "$DIR/port" ] && saved="$(cat "$DIR/port")"
        local logsize
        for attempt in 1 2 3 4 5; do
            logsize="$(stat -c %s "$DIR/log" 2>/dev/null || echo 0)"
            if [ "$attempt" = 1 ] && [[ "$saved" =~ ^[0-9]+$ ]] && port_is_free "$saved"; then
                port="$saved"
            else
                port="$(pick_port)"
            fi
            if as_owner "$PGBIN/pg_ctl" start -D "$DATA" -l "$DIR/log" -w -t 60 -o \
                "-p $port -k '$sockdir' -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=256MB -c fsync=${PG_FSYNC:-on} -c synchronous_commit=on -c unix_socket_permissions=0777" \
                >/dev/null 2>&1; then
                echo "$port" >"$DIR/port"
                break
            fi
            # Another process took the port between our check and postgres' bind: retry.
            if tail -c "+$((logsize + 1))" "$DIR/log" 2>/dev/null |
                grep -c "could not bind\|Address already in use" >/dev/null; then
                port=""
                continue
            fi
            die "PostgreSQL failed to start, see $DIR/log"
        done
        [ -n "$port" ] || die "PostgreSQL failed to start (no usable port), see $DIR/log"
    fi

    ensure_databases -h 127.0.0.1 -p "$port" -U postgres -d postgres
    write_env "$port" "postgresql://postgres@127.0.0.1:$port/tenant" \
        "postgresql://postgres@127.0.0.1:$port/notification"
}

stop_local() {
    [ -d "$DIR" ] || return 0
    [ -f "$DATA/PG_VERSION" ] || return 0
    pg_bin
    if is_running; then
        as_owner "$PGBIN/pg_ctl" stop -D "$DATA" -m fast -w -t 60 >/dev/null 2>&1 ||
            die "could not stop the server in $DATA, see $DIR/log"
    fi
}

case "$CMD" in
start)
    if [ -n "${DATABASE_URL:-}" ]; then
        start_external
    else
        start_local
    fi
    ;;
stop)
    [ -d "$DIR" ] && lock_dir
    stop_local
    ;;
wipe)
    if [ -d "$DIR" ]; then
        lock_dir
        stop_local
        rm -rf "$DIR" || die "cannot remove $DIR"
    fi
    ;;
status)
    if [ -n "${DATABASE_URL:-}" ]; then
        PGCONNECT_TIMEOUT=5 psql -X -q -At "$DATABASE_URL" -c 'select 1' >/dev/null 2>&1 || exit 1
    else
        is_running || exit 1
    fi
    ;;
env)
    [ -f "$DIR/env" ] || die "$DIR/env not found: run scripts/pg.sh start first"
    cat "$DIR/env"
    ;;
*) usage ;;
esac
