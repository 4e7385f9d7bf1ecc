"""/health latency, the server's memory, and how fast each hostile file fails.

A real server (SQLite, default limits) is sent every file of tests/hostile.py in one
batch by one project. Meanwhile /health is polled every 50 ms and the server's process
tree measured (PSS); the same polling with nothing to ingest is the baseline. Each
hostile file's outcome and the seconds from the batch to it are listed.

Reproduce: make dev && .venv/bin/python -m bench.hostile_ingestion
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import openai
from tests.hostile import write_all
from tests.probe import Probe
from tests.servers import running_server

from bench.harness import machine
from bench.vector_search import _pct


def run() -> None:
    tmp = Path(tempfile.mkdtemp())
    paths = write_all(tmp / "hostile")
    env = {"ASSISTANTD_EMBEDDED_WARM_UP": "false"}
    with running_server("sqlite", tmp / "server", env) as server:
        client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="sk-bench")
        with Probe(server, every_s=0.05) as idle:
            time.sleep(5)
        store = client.vector_stores.create(name="hostile")
        ids = {}
        for name, path in paths.items():
            with open(path, "rb") as data:
                ids[name] = client.files.create(file=(name, data), purpose="assistants").id
        settled: dict[str, tuple[str, float, str]] = {}
        with Probe(server, every_s=0.05) as attacked:
            started = time.perf_counter()
            client.vector_stores.file_batches.create(store.id, file_ids=list(ids.values()))
            while len(settled) < len(ids) and time.perf_counter() - started < 600:
                for f in client.vector_stores.files.list(store.id, limit=100):
                    name = next(n for n, i in ids.items() if i == f.id)
                    if f.status != "in_progress" and name not in settled:
                        why = f.last_error.message if f.last_error else ""
                        settled[name] = (f.status, time.perf_counter() - started, why)
                time.sleep(0.1)
    print("/health while one project's hostile files are ingested (ms), SQLite")
    print("| condition | p50 | p99 | max | process tree peak PSS MB |")
    print("|---|---|---|---|---|")
    for label, poll in (("idle", idle), ("hostile batch", attacked)):
        times = [s * 1000 for s in poll.health_s]
        print(
            f"| {label} | {statistics.median(times):.1f} | {_pct(times, 0.99):.1f} |"
            f" {max(times):.1f} | {poll.peak_mb:.0f} |"
        )
    print("\n| file | size | outcome | seconds after the batch | last_error |")
    print("|---|---|---|---|---|")
    for name, (status, seconds, why) in sorted(settled.items(), key=lambda kv: kv[1][1]):
        size = paths[name].stat().st_size
        print(f"| {name} | {size / 1024:,.0f} KB | {status} | {seconds:.1f} | {why} |")
    print(f"\nmachine: {machine()}")
    print("reproduce: .venv/bin/python -m bench.hostile_ingestion")


if __name__ == "__main__":
    run()
