#!/bin/sh
# A small, compatible subset of the official postgres image's entrypoint:
# initdb on an empty $PGDATA with $POSTGRES_USER / $POSTGRES_PASSWORD / $POSTGRES_DB,
# then exec the command (`postgres`). `docker-entrypoint.sh init` only initialises.
set -eu

init() {
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
        --auth-host=scram-sha-256 --auth-local=trust > /dev/null
    rm -f "$pwfile"
    cat >> "$PGDATA/postgresql.conf" <<CONF
listen_addresses = '*'
unix_socket_directories = '/run/postgresql'
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start > /dev/null
    if [ "$POSTGRES_DB" != "postgres" ]; then
        psql -v ON_ERROR_STOP=1 -h /run/postgresql -U "$POSTGRES_USER" -d postgres \
            -c "CREATE DATABASE \"$POSTGRES_DB\"" > /dev/null
    fi
    pg_ctl -D "$PGDATA" -m fast -w stop > /dev/null
}

if [ "${1:-}" = "init" ]; then
    init
    exit 0
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    init
fi
exec "$@"
