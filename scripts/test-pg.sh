#!/usr/bin/env bash
# Run the tests in ./testdata against a real PostgreSQL: every .slt file
# under testdata/sql, and the differential fuzz test that compares pgkeep's
# query results with PostgreSQL's. `make test-pg` calls this script.
#
# The PostgreSQL comes from the first of these that applies:
#   1. PGKEEP_SLT_PG, a libpq connection string of a running server whose
#      user may create databases. This script neither starts nor stops it.
#   2. The oracle scripts in PG_ORACLE_DIR (start-pg.sh and stop-pg.sh).
#      An oracle that already answers on 127.0.0.1:ORACLE_PORT is reused and
#      left running; otherwise start-pg.sh starts it, and stop-pg.sh stops it
#      when the tests end.
#   3. A private cluster in a temporary directory, listening on a free
#      loopback port, stopped and deleted when the tests end. When no server
#      is installed, the Debian postgresql package is installed first, which
#      needs root.
#
# Environment:
#   GO                go command (default go)
#   PG_ORACLE_DIR     directory of the oracle scripts (default ../shared/tools/pg-oracle,
#                     relative to the repository root)
#   ORACLE_PORT       port of the oracle (default 55432)
#   TEST_TIMEOUT      go test -timeout (default 30m)
#   PGKEEP_DIFF_SEED, PGKEEP_DIFF_QUERIES, PGKEEP_DIFF_TIME
#                     the seed and the number of statements of the differential
#                     fuzz test, or how long it runs as a Go duration (see
#                     testdata/difffuzz_test.go); passed through to go test
set -euo pipefail

cd "$(dirname "$0")/.."

GO="${GO:-go}"
PG_ORACLE_DIR="${PG_ORACLE_DIR:-../shared/tools/pg-oracle}"
ORACLE_PORT="${ORACLE_PORT:-55432}"
TEST_TIMEOUT="${TEST_TIMEOUT:-30m}"

log() { echo "test-pg: $*" >&2; }

# run_tests runs the test package against the PostgreSQL at the connection
# string $1, described in logs as $2. The differential fuzz test runs on
# its own with -v, so the log shows its seed and counts.
run_tests() {
    log "running ./testdata against $2"
    PGKEEP_SLT_PG="$1" CGO_ENABLED=1 "$GO" test -count=1 -timeout "$TEST_TIMEOUT" \
        -skip '^TestDifferentialFuzz$' ./testdata/
    PGKEEP_SLT_PG="$1" CGO_ENABLED=1 "$GO" test -count=1 -timeout "$TEST_TIMEOUT" \
        -run '^TestDifferentialFuzz$' -v ./testdata/
}

# port_open reports whether something accepts TCP connections on
# 127.0.0.1:$1.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# postgres_accepts_login reports whether the server at connection string $1
# accepts a login. Without psql it falls back to probing the port $2.
postgres_accepts_login() {
    if command -v psql >/dev/null 2>&1; then
        PGCONNECT_TIMEOUT=5 psql "$1" -X -At -c 'SELECT 1' >/dev/null 2>&1
    else
        port_open "$2"
    fi
}

# --- 1. a server named by the caller ------------------------------------------
if [ -n "${PGKEEP_SLT_PG:-}" ]; then
    run_tests "$PGKEEP_SLT_PG" "the PostgreSQL that PGKEEP_SLT_PG names"
    exit
fi

# --- 2. the oracle scripts -------------------------------------------------------
if [ -f "$PG_ORACLE_DIR/start-pg.sh" ]; then
    conn="host=127.0.0.1 port=$ORACLE_PORT user=oracle password=oracle dbname=oracle sslmode=disable"
    if postgres_accepts_login "$conn" "$ORACLE_PORT"; then
        log "reusing the oracle on 127.0.0.1:$ORACLE_PORT"
    else
        log "starting the oracle with $PG_ORACLE_DIR/start-pg.sh"
        PGPORT="$ORACLE_PORT" bash "$PG_ORACLE_DIR/start-pg.sh" >&2
        stop_oracle() {
            log "stopping the oracle this run started"
            PGPORT="$ORACLE_PORT" bash "$PG_ORACLE_DIR/stop-pg.sh" >&2 ||
                log "stopping the oracle on port $ORACLE_PORT failed; stop it with $PG_ORACLE_DIR/stop-pg.sh"
        }
        trap stop_oracle EXIT
    fi
    run_tests "$conn" "the oracle on 127.0.0.1:$ORACLE_PORT"
    exit
fi

# --- 3. a private cluster --------------------------------------------------------
log "no oracle scripts in $PG_ORACLE_DIR; starting a private PostgreSQL"

# server_bin prints the bin directory of the newest installed server.
server_bin() {
    local initdb
    initdb="$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$initdb" ] && dirname "$initdb"
}

if ! bin="$(server_bin)"; then
    if [ "$(id -u)" != 0 ]; then
        log "no PostgreSQL server is installed and installing one needs root; run: apt-get install postgresql"
        exit 1
    fi
    log "installing the Debian postgresql package"
    # Keep the package from creating and starting its own cluster on port 5432.
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/90-pgkeep-test-pg.conf
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends postgresql >&2
    bin="$(server_bin)" || { log "the postgresql package installed no server under /usr/lib/postgresql"; exit 1; }
fi

# initdb and postgres exit when run as root, so root runs them as the
# postgres user that the Debian package creates.
if [ "$(id -u)" = 0 ]; then
    as_owner() { runuser -u postgres -- "$@"; }
    owner=postgres
else
    as_owner() { "$@"; }
    owner="$(id -un)"
fi

# Under root the directory is in /tmp, because the postgres user may not
# be able to reach root's TMPDIR.
if [ "$(id -u)" = 0 ]; then
    dir="$(mktemp -d /tmp/pgkeep-test-pg.XXXXXX)"
else
    dir="$(mktemp -d "${TMPDIR:-/tmp}/pgkeep-test-pg.XXXXXX")"
fi
data="$dir/data"
started=0
cleanup() {
    if [ "$started" = 1 ]; then
        log "stopping the private PostgreSQL"
        if ! as_owner "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null; then
            pid="$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)"
            [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf -- "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

user=pgkeep_test
password="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
printf '%s\n' "$password" >"$dir/pwfile"
chown -R "$owner" "$dir"

# C.UTF-8 and UTC match the server that produced the expected results
# (see testdata/doc.go).
as_owner "$bin/initdb" -D "$data" -U "$user" --pwfile="$dir/pwfile" \
    --encoding=UTF8 --locale=C.UTF-8 --auth-local=peer --auth-host=scram-sha-256 \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
rm -f "$dir/pwfile"
echo "include 'test-pg.conf'" >>"$data/postgresql.conf"

# Pick a random free port above 20000, never the oracle's, and try again
# when another process takes it between the check and the start.
for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    if [ "$port" = "$ORACLE_PORT" ] || port_open "$port"; then
        continue
    fi
    cat >"$data/test-pg.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
password_encryption = 'scram-sha-256'
timezone = 'UTC'
fsync = off
EOF
    chown "$owner" "$data/test-pg.conf"
    if as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start >/dev/null 2>&1; then
        started=1
        break
    fi
    log "starting PostgreSQL on port $port failed (attempt $attempt); server log:"
    tail -n 5 "$dir/server.log" >&2 || true
done
if [ "$started" != 1 ]; then
    log "could not start PostgreSQL on a free port"
    exit 1
fi
log "private PostgreSQL $("$bin/postgres" --version | sed 's/[^0-9]*//') on 127.0.0.1:$port (data $data)"

run_tests "host=127.0.0.1 port=$port user=$user password=$password dbname=postgres sslmode=disable" \
    "the private PostgreSQL on 127.0.0.1:$port"
