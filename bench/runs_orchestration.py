"""Run orchestration overhead against a scripted upstream that answers at once.

Creates N runs (each on a new thread, `POST /v1/threads/runs`) and follows each to
`completed`, at 1 and 64 concurrent runs, two ways: polling `GET .../runs/{id}` every
10 ms, and streaming (`stream: true`, read to `done`). Reports runs completed per second
and the median create→completed time; the upstream answers at once, so that time is
assistantd's orchestration: queue, claim, context, the streamed model call over HTTP,
the message, step and run writes.

The driver is raw httpx, and the upstream runs in a process of its own
(bench/upstream_process.py): with the SDK's client and the upstream in the driver's
process, the driver used 4.2 ms of CPU per run against the server's 1.9 and was the
bottleneck (bench/RESULTS.md).

Reproduce: make dev && .venv/bin/python -m bench.runs_orchestration
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from bench.harness import assistantd_server, machine
from bench.upstream_process import upstream_process

_ENDS = {"completed", "failed", "incomplete", "cancelled", "expired", "requires_action"}


async def _polled(client: httpx.AsyncClient, base: str, assistant_id: str) -> float:
    body = {
        "assistant_id": assistant_id,
        "thread": {"messages": [{"role": "user", "content": "hi"}]},
    }
    started = time.perf_counter()
    run = (await client.post(f"{base}/v1/threads/runs", json=body)).json()
    url = f"{base}/v1/threads/{run['thread_id']}/runs/{run['id']}"
    while run["status"] not in _ENDS:
        await asyncio.sleep(0.01)
        run = (await client.get(url)).json()
    if run["status"] != "completed":
        raise RuntimeError(f"run ended {run['status']}: {run['last_error']}")
    return time.perf_counter() - started


async def _streamed(client: httpx.AsyncClient, base: str, assistant_id: str) -> float:
    body = {
        "assistant_id": assistant_id,
        "thread": {"messages": [{"role": "user", "content": "hi"}]},
        "stream": True,
    }
    started = time.perf_counter()
    tail = b""
    # Raw bytes, not lines: httpx's line splitting cost the driver more CPU per run
    # than the server spent on it, and the driver became the bottleneck.
    async with client.stream("POST", f"{base}/v1/threads/runs", json=body) as response:
        async for chunk in response.aiter_raw():
            tail = (tail + chunk)[-4096:]
    if b"event: thread.run.completed" not in tail or not tail.endswith(b"data: [DONE]\n\n"):
        raise RuntimeError(f"stream ended with {tail[-300:]!r}")
    return time.perf_counter() - started


async def _round(base: str, follow: str, concurrency: int, total: int) -> tuple[float, float]:
    limits = httpx.Limits(
        max_connections=concurrency + 8, max_keepalive_connections=concurrency + 8
    )
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        made = await client.post(f"{base}/v1/assistants", json={"model": "scripted-bench"})
        assistant_id = made.json()["id"]
        one = _polled if follow == "poll" else _streamed
        gate = asyncio.Semaphore(concurrency)

        async def limited() -> float:
            async with gate:
                return await one(client, base, assistant_id)

        started = time.perf_counter()
        latencies = await asyncio.gather(*(limited() for _ in range(total)))
        elapsed = time.perf_counter() - started
    return total / elapsed, statistics.median(latencies) * 1000


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with upstream_process() as upstream_base:
        route = {"match": "scripted*", "base_url": upstream_base, "context_window": 4096}
        env = {
            "ASSISTANTD_MODEL_ROUTES": orjson.dumps([route]).decode(),
            "ASSISTANTD_WORKERS": str(args.workers),
            "ASSISTANTD_EMBEDDED_WARM_UP": "false",
        }
        with assistantd_server(
            Path(tempfile.mkdtemp(prefix="assistantd-orch-")), env=env
        ) as server:
            found = subprocess.run(
                ["pgrep", "-f", f"serve --port {server.rsplit(':', 1)[1]}"],
                capture_output=True,
                text=True,
            )
            pid = int(found.stdout.split()[0])
            asyncio.run(_round(server, "poll", 16, 50))  # warm up
            for follow in ("poll", "stream"):
                for concurrency in (1, 64):
                    total = args.runs if concurrency > 1 else max(20, args.runs // 10)
                    trials = []
                    for _ in range(args.repeat):  # the median trial: this machine is noisy
                        before = _cpu_s(pid)
                        rate, p50 = asyncio.run(_round(server, follow, concurrency, total))
                        trials.append((rate, p50, (_cpu_s(pid) - before) * 1000 / total))
                    rate, p50, cpu_ms = sorted(trials)[len(trials) // 2]
                    rows.append((follow, concurrency, total, rate, p50, cpu_ms))
    print(
        f"machine: {machine()}; SQLite (synchronous=FULL), {args.workers} in-process "
        f"workers; the median of {args.repeat} trials per row"
    )
    print(
        "| follow by | concurrent runs | runs | runs completed/s | p50 create→completed ms "
        "| server CPU per run ms |"
    )
    print("|---|---|---|---|---|---|")
    for follow, concurrency, total, rate, p50, cpu_ms in rows:
        how = "polling every 10 ms" if follow == "poll" else "streaming"
        print(f"| {how} | {concurrency} | {total} | {rate:,.1f} | {p50:.1f} | {cpu_ms:.2f} |")
    print(f"reproduce: .venv/bin/python -m bench.runs_orchestration --runs {args.runs}")


if __name__ == "__main__":
    main()
