"""Scale-out: what crossing processes through Redis costs a streamed run, and how
messages.create scales from 1 to 2 API processes on PostgreSQL.

1. `--part redis`: the same streamed runs against (a) one `assistantd serve` with its
   in-process bus and worker, and (b) an API process with no worker slots plus an
   `assistantd worker` process, both on ASSISTANTD_REDIS_URL. Both on the same
   PostgreSQL, against the scripted upstream (tests/upstream.py) answering at once.
   Reported per setup: time to the first `thread.message.delta` (p50, p90), and the
   time from sending the create to receiving `thread.run.in_progress`: the create, the
   wake-up (in (b) across processes, Redis pub/sub), the claim and the event's trip
   back. Targets: (b) adds < 2 ms to time to first token, and create → in_progress
   takes < 10 ms.
2. `--part processes`: messages.create at 32 connections (wrk) with `serve --workers 1`
   and `--workers 2`, each as a ratio to a bare-ASGI ceiling served the same way
   (uvicorn with 1 and 2 workers), and the scaling factor.

Reproduce: make dev && apt-get install wrk && .venv/bin/python -m bench.scaleout
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from tests.upstream import Reply, ScriptedUpstream, route_env

from bench.harness import ROOT, _process, free_port, machine, wrk
from bench.postgres_http import CREATE_BODY, pg_database

REDIS_URL = os.environ.get("ASSISTANTD_TEST_REDIS", "redis://127.0.0.1:6379/0")
QUIET = {
    "ASSISTANTD_ACCESS_LOG": "false",
    "ASSISTANTD_LOG_LEVEL": "warning",
    "ASSISTANTD_EMBEDDED_WARM_UP": "false",
}


@contextmanager
def _serve(database_url: str, env: dict[str, str], workers: int = 1) -> Iterator[str]:
    port = free_port()
    data = tempfile.mkdtemp(prefix="assistantd-bench-")
    cmd = [sys.executable, "-m", "assistantd", "serve", "--port", str(port), "--data-dir", data]
    cmd += ["--database-url", database_url, "--workers", str(workers)]
    with _process(cmd, {**os.environ, **QUIET, **env}, f"http://127.0.0.1:{port}/health"):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def _worker(database_url: str, env: dict[str, str]) -> Iterator[None]:
    data = tempfile.mkdtemp(prefix="assistantd-bench-")
    cmd = [sys.executable, "-m", "assistantd", "worker", "--data-dir", data]
    cmd += ["--database-url", database_url, "--concurrency", "8"]
    proc = subprocess.Popen(cmd, env={**os.environ, **QUIET, **env})
    try:
        time.sleep(2.0)  # its wake-up listener subscribes
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def _streamed_runs(
    base: str, upstream: ScriptedUpstream, runs: int
) -> tuple[list[float], list[float]]:
    """(ms to the first delta, ms to in_progress) per run, one run at a time."""
    ttft, wake = [], []
    async with httpx.AsyncClient(timeout=60) as client:
        assistant = (
            await client.post(f"{base}/v1/assistants", json={"model": "scripted-b"})
        ).json()
        for i in range(runs + 5):
            upstream.script(Reply(text="tok " * 20))
            thread = (await client.post(f"{base}/v1/threads", json={})).json()
            body = {"assistant_id": assistant["id"], "stream": True}
            started = time.perf_counter()
            first = in_progress = 0.0
            url = f"{base}/v1/threads/{thread['id']}/runs"
            async with client.stream("POST", url, json=body) as response:
                async for line in response.aiter_lines():
                    now = time.perf_counter()
                    if line == "event: thread.run.in_progress":
                        in_progress = now
                    elif line == "event: thread.message.delta" and not first:
                        first = now
            if i >= 5:  # the first few warm connections and caches
                ttft.append((first - started) * 1000)
                wake.append((in_progress - started) * 1000)
    return ttft, wake


def _pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1]


def part_redis(runs: int) -> None:
    upstream = ScriptedUpstream()
    results = {}
    with upstream.running(), pg_database() as url:
        env = route_env(upstream)
        with _serve(url, env) as single:
            results["one process, in-process bus"] = asyncio.run(
                _streamed_runs(single, upstream, runs)
            )
        redis = {**env, "ASSISTANTD_REDIS_URL": REDIS_URL, "ASSISTANTD_REDIS_PREFIX": "bench:"}
        with _worker(url, redis), _serve(url, {**redis, "ASSISTANTD_WORKERS": "0"}) as api:
            results["API process + worker process, Redis"] = asyncio.run(
                _streamed_runs(api, upstream, runs)
            )
    print(f"machine: {machine()}; {runs} streamed runs one after another, PostgreSQL")
    print("| setup | TTFT p50 ms | TTFT p90 ms | create → in_progress p50 ms | p90 ms |")
    print("|---|---|---|---|---|")
    for name, (ttft, wake) in results.items():
        print(
            f"| {name} | {statistics.median(ttft):.2f} | {_pct(ttft, 90):.2f} | "
            f"{statistics.median(wake):.2f} | {_pct(wake, 90):.2f} |"
        )
    (one_ttft, _), (two_ttft, two_wake) = results.values()
    extra = statistics.median(two_ttft) - statistics.median(one_ttft)
    print(f"extra TTFT through Redis on another process: {extra:+.2f} ms p50 (target < 2 ms)")
    wake = statistics.median(two_wake)
    print(f"create → in_progress across processes p50: {wake:.2f} ms (target < 10 ms)")


@contextmanager
def _ceiling(workers: int) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "bench.ceiling:app", "--port", str(port)]
    cmd += ["--http", "httptools", "--loop", "uvloop", "--no-access-log", "--log-level", "warning"]
    cmd += ["--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with _process(cmd, env, f"http://127.0.0.1:{port}/"):
        time.sleep(1.0)  # every worker up
        yield f"http://127.0.0.1:{port}"


@contextmanager
def _database(backend: str) -> Iterator[str]:
    if backend == "postgres":
        with pg_database() as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="assistantd-bench-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'assistantd.db'}"


def part_processes(seconds: int, backends: list[str]) -> None:
    rows = []
    rates: dict[tuple[str, int], tuple[float, float]] = {}
    for backend in backends:
        with _database(backend) as url:
            for workers in (1, 2):
                with _ceiling(workers) as ceiling:
                    top = wrk(f"{ceiling}/echo", connections=32, seconds=seconds, body=CREATE_BODY)
                with _serve(url, {}, workers=workers) as server:
                    time.sleep(1.0)
                    thread = httpx.post(f"{server}/v1/threads", json={}).json()["id"]
                    url_create = f"{server}/v1/threads/{thread}/messages"
                    create = wrk(url_create, connections=32, seconds=seconds, body=CREATE_BODY)
                rates[backend, workers] = (create.rps, top.rps)
                rows.append(
                    f"| {backend} | {workers} | {top.rps:,.0f} | {create.rps:,.0f} | "
                    f"{create.p50_ms:.2f} / {create.p99_ms:.2f} | {create.rps / top.rps:.0%} | "
                    f"{create.errors} |"
                )
    print(f"machine: {machine()}; {seconds} s per cell, 32 connections")
    print(
        "| database | processes | ceiling POST req/s | messages.create req/s | p50 / p99 ms "
        "| of ceiling | errors |"
    )
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    for backend in backends:
        create = rates[backend, 2][0] / rates[backend, 1][0]
        ceiling = rates[backend, 2][1] / rates[backend, 1][1]
        print(f"{backend}: 1 → 2 processes: messages.create ×{create:.2f}, ceiling ×{ceiling:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--part", choices=["redis", "processes", "all"], default="all")
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--backends", nargs="+", default=["postgres", "sqlite"])
    args = parser.parse_args()
    if args.part in ("redis", "all"):
        part_redis(args.runs)
    if args.part in ("processes", "all"):
        part_processes(args.seconds, args.backends)
    print("reproduce: .venv/bin/python -m bench.scaleout")


if __name__ == "__main__":
    main()
