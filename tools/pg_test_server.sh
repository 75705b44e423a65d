#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: initdb a cluster in DIR, start it on
# 127.0.0.1:PORT, make the role and database "storyline" (password "storyline", allowed to
# create the per-test databases) and print the URL to export as STORYLINE_TEST_POSTGRES.
#
#   tools/pg_test_server.sh DIR [PORT]      # start (or reuse) the server; prints the URL
#   tools/pg_test_server.sh --stop DIR      # stop it
#
# PostgreSQL refuses to run as root: as root, the cluster belongs to the user "pgtest" (made
# when missing). The binaries are found with pg_config, else in /usr/lib/postgresql/*/bin.
set -euo pipefail

stop=0
if [ "${1:-}" = "--stop" ]; then stop=1; shift; fi
dir="${1:?usage: pg_test_server.sh [--stop] DIR [PORT]}"
port="${2:-54329}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

bindir="$(pg_config --bindir 2>/dev/null || true)"
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    echo "pg_test_server.sh: no PostgreSQL binaries (apt-get install postgresql)" >&2
    exit 2
fi

as_owner() {  # run a command as the cluster's owner
    if [ "$(id -u)" = "0" ]; then
        id pgtest > /dev/null 2>&1 || useradd --system --no-create-home pgtest
        chown pgtest "$dir"
        su pgtest -s /bin/sh -c "$(printf '%q ' "$@")"
    else
        "$@"
    fi
}

if [ "$stop" = 1 ]; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast stop > /dev/null
    exit 0
fi

if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
        > "$dir/initdb.log"
fi
if ! as_owner "$bindir/pg_ctl" -D "$dir/data" status > /dev/null 2>&1; then
    # Passwords over TCP (the tests check that a wrong one is refused), trust on the socket.
    # Tests make and drop a database each: no fsync, small shared memory, a socket in DIR.
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start > /dev/null
fi

psql=("$bindir/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA)
if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname = 'storyline'")" != "1" ]; then
    "${psql[@]}" -c "CREATE ROLE storyline LOGIN CREATEDB PASSWORD 'storyline'"
fi
if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'storyline'")" != "1" ]; then
    "${psql[@]}" -c "CREATE DATABASE storyline OWNER storyline"
fi
echo "postgresql://storyline:storyline@127.0.0.1:$port/storyline"
