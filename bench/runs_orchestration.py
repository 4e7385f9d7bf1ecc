"""Run orchestration overhead against a scripted upstream that answers at once.

Creates N runs on N threads at once and polls each to `completed` (poll interval
10 ms), at 1 and 64 concurrent runs. Reports runs completed per second and the
median time from `runs.create` to `completed` minus the upstream's own time (the
upstream answers instantly, so that difference is assistantd's orchestration: queue,
claim, context, the model call over HTTP, writes).

Reproduce: make dev && .venv/bin/python -m bench.runs_orchestration
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import openai
from tests.upstream import Reply, ScriptedUpstream, route_env

from bench.harness import assistantd_server, machine


async def _one(client: openai.AsyncOpenAI, assistant_id: str) -> float:
    thread = await client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    started = time.perf_counter()
    run = await client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant_id)
    run = await client.beta.threads.runs.poll(run.id, thread_id=thread.id, poll_interval_ms=10)
    if run.status != "completed":
        raise RuntimeError(f"run ended {run.status}: {run.last_error}")
    return time.perf_counter() - started


async def _round(base_url: str, concurrency: int, total: int) -> tuple[float, float]:
    async with openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key="x", max_retries=0) as client:
        assistant = await client.beta.assistants.create(model="scripted-bench")
        gate = asyncio.Semaphore(concurrency)

        async def limited() -> float:
            async with gate:
                return await _one(client, assistant.id)

        started = time.perf_counter()
        latencies = await asyncio.gather(*(limited() for _ in range(total)))
        elapsed = time.perf_counter() - started
    return total / elapsed, statistics.median(latencies) * 1000


def main() -> None:
    warnings.simplefilter("ignore", DeprecationWarning)
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    upstream = ScriptedUpstream()
    rows = []
    with (
        upstream.running(),
        assistantd_server(
            Path(tempfile.mkdtemp(prefix="assistantd-orch-")),
            env={**route_env(upstream), "ASSISTANTD_WORKERS": "16"},
        ) as server,
    ):
        for concurrency in (1, 64):
            total = args.runs if concurrency > 1 else max(20, args.runs // 10)
            upstream.script(*[Reply(text="ok", usage=(1, 1)) for _ in range(total)])
            rate, p50 = asyncio.run(_round(server, concurrency, total))
            rows.append((concurrency, total, rate, p50))
    print(f"machine: {machine()}; SQLite, 16 in-process workers, poll interval 10 ms")
    print(
        "| concurrent runs | runs | runs completed/s | p50 create→completed ms (upstream time ~0) |"
    )
    print("|---|---|---|---|")
    for concurrency, total, rate, p50 in rows:
        print(f"| {concurrency} | {total} | {rate:,.1f} | {p50:.1f} |")
    print(f"reproduce: .venv/bin/python -m bench.runs_orchestration --runs {args.runs}")


if __name__ == "__main__":
    main()
