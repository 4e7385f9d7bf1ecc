#!/usr/bin/env bash
# The README's first command, as a new user runs it, on a fresh venv: install the runtime
# dependencies only (what `make serve` installs, nothing from the test extras), start the
# server, wait for /health, drive it with the README's examples from a separate venv that
# holds only the `openai` SDK, then stop it. CI runs this on every submission, so a
# runtime import declared only as a test dependency fails CI instead of `make serve`.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK="${SMOKE_DIR:-$(mktemp -d /tmp/assistantd-smoke.XXXXXX)}"
SERVER_VENV="$WORK/server-venv"
CLIENT_VENV="$WORK/client-venv"
DATA="$WORK/data"
PYTHON="${PYTHON:-python3}"
OPENAI_SDK="$(grep -o '"openai==[^"]*"' pyproject.toml | tr -d '"')"

echo "smoke: installing the server into an empty venv ($SERVER_VENV), runtime dependencies only"
rm -rf "$SERVER_VENV" "$CLIENT_VENV" "$DATA"
make --no-print-directory install VENV="$SERVER_VENV" PYTHON="$PYTHON"

echo "smoke: installing $OPENAI_SDK into a separate client venv"
"$PYTHON" -m venv "$CLIENT_VENV"
"$CLIENT_VENV/bin/pip" install --quiet "$OPENAI_SDK"

PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
LOG="$WORK/server.log"
"$SERVER_VENV/bin/assistantd" serve --port "$PORT" --data-dir "$DATA" >"$LOG" 2>&1 &
SERVER_PID=$!
stop_server() {
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
}
trap stop_server EXIT

healthy() {
    "$PYTHON" -c 'import sys, urllib.request as u; u.urlopen(sys.argv[1], timeout=2)' \
        "http://127.0.0.1:$PORT/health" >/dev/null 2>&1
}
for _ in $(seq 1 120); do
    if healthy; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "smoke: the server exited before it answered /health:" >&2
        cat "$LOG" >&2
        exit 1
    fi
    sleep 0.5
done
healthy || { echo "smoke: no answer on /health" >&2; cat "$LOG" >&2; exit 1; }
echo "smoke: server healthy on port $PORT"

export OPENAI_BASE_URL="http://127.0.0.1:$PORT/v1" OPENAI_API_KEY="sk-smoke"
for example in tutorial.py runs.py file_search.py code_interpreter.py; do
    echo "smoke: examples/$example"
    if ! "$CLIENT_VENV/bin/python" -W ignore::DeprecationWarning "examples/$example"; then
        echo "smoke: examples/$example failed; server log:" >&2
        cat "$LOG" >&2
        exit 1
    fi
done

stop_server
trap - EXIT
if grep -q "Traceback" "$LOG"; then
    echo "smoke: the server logged a traceback:" >&2
    cat "$LOG" >&2
    exit 1
fi
echo "smoke: the README's first command works on a fresh venv"
[ -n "${SMOKE_DIR:-}" ] || rm -rf "$WORK"
