"""Streamed runs: time to first token against the upstream's own, and 200 streams at once.

TTFT: the scripted upstream (loopback HTTP, tests/upstream.py) streams 20 tokens 10 ms
apart. Direct is the time from POSTing to its /chat/completions to the first content
chunk; through assistantd it is the time from POSTing a run with `stream: true` to the
first `thread.message.delta`. Then 200 streamed runs are opened at once; every one must
end with `thread.run.completed` and `done`, and the event rate is reported.

Reproduce: make dev && .venv/bin/python -m bench.streaming
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from tests.upstream import Reply, ScriptedUpstream, route_env

from bench.harness import assistantd_server, machine

TOKENS = "tok " * 20


async def _first_upstream_token(client: httpx.AsyncClient, upstream: ScriptedUpstream) -> float:
    body = {"model": "x", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    started = time.perf_counter()
    async with client.stream("POST", f"{upstream.base_url}/chat/completions", json=body) as r:
        async for line in r.aiter_lines():
            if '"content"' in line:
                return time.perf_counter() - started
    raise RuntimeError("no token")


async def _stream_run(
    client: httpx.AsyncClient, base: str, assistant_id: str, thread_id: str
) -> tuple[float, int, bool]:
    """(seconds to the first delta, events seen, ended completed+done)."""
    started = time.perf_counter()
    first = 0.0
    count = 0
    last = ""
    body = {"assistant_id": assistant_id, "stream": True}
    async with client.stream("POST", f"{base}/v1/threads/{thread_id}/runs", json=body) as r:
        async for line in r.aiter_lines():
            if line.startswith("event: "):
                count += 1
                name = line[7:]
                if name == "thread.message.delta" and not first:
                    first = time.perf_counter() - started
                if name == "done":
                    return first, count, last == "thread.run.completed"
                last = name
    return first, count, False


async def _setup(client: httpx.AsyncClient, base: str, threads: int) -> tuple[str, list[str]]:
    assistant = (await client.post(f"{base}/v1/assistants", json={"model": "scripted-x"})).json()
    ids = []
    for _ in range(threads):
        body = {"messages": [{"role": "user", "content": "hi"}]}
        ids.append((await client.post(f"{base}/v1/threads", json=body)).json()["id"])
    return assistant["id"], ids


async def run(
    base: str, upstream: ScriptedUpstream, rounds: int, concurrent: int
) -> dict[str, float]:
    limits = httpx.Limits(
        max_connections=concurrent + 10, max_keepalive_connections=concurrent + 10
    )
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        direct, through = [], []
        assistant_id, threads = await _setup(client, base, max(rounds, concurrent))
        for i in range(rounds):
            upstream.script(Reply(text=TOKENS, token_delay_s=0.01))
            direct.append(await _first_upstream_token(client, upstream))
            upstream.script(Reply(text=TOKENS, token_delay_s=0.01))
            first, _, ok = await _stream_run(client, base, assistant_id, threads[i])
            assert ok
            through.append(first)
        upstream.script(*[Reply(text=TOKENS, token_delay_s=0.01) for _ in range(concurrent)])
        started = time.perf_counter()
        results = await asyncio.gather(
            *(_stream_run(client, base, assistant_id, t) for t in threads[:concurrent])
        )
        elapsed = time.perf_counter() - started
    return {
        "direct_ms": statistics.median(direct) * 1000,
        "through_ms": statistics.median(through) * 1000,
        "completed": sum(ok for _, _, ok in results),
        "events": sum(n for _, n, _ in results),
        "elapsed_s": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--concurrent", type=int, default=200)
    args = parser.parse_args()
    upstream = ScriptedUpstream()
    with (
        upstream.running(),
        assistantd_server(
            Path(tempfile.mkdtemp(prefix="assistantd-stream-")),
            env={**route_env(upstream, timeout_s=60), "ASSISTANTD_WORKERS": "64"},
        ) as server,
    ):
        r = asyncio.run(run(server, upstream, args.rounds, args.concurrent))
    direct, through = r["direct_ms"], r["through_ms"]
    rate = r["events"] / r["elapsed_s"]
    print(f"machine: {machine()}; SQLite, 64 in-process workers; 20 tokens 10 ms apart")
    print("| measure | value |")
    print("|---|---|")
    print(f"| TTFT direct from the upstream, p50 | {direct:.1f} ms |")
    print(f"| TTFT through a streamed run, p50 | {through:.1f} ms |")
    print(f"| difference / ratio | {through - direct:.1f} ms / {through / direct:.2f} |")
    print(f"| {args.concurrent} concurrent streamed runs completed | {int(r['completed'])} |")
    print(f"| events delivered | {int(r['events']):,} in {r['elapsed_s']:.1f} s = {rate:,.0f}/s |")
    flags = f"--rounds {args.rounds} --concurrent {args.concurrent}"
    print(f"reproduce: .venv/bin/python -m bench.streaming {flags}")


if __name__ == "__main__":
    main()
