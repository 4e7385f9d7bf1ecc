"""The Responses API's costs, each against a baseline measured in the same run.

1. `--part ttft`: time to the first `response.output_text.delta` of a streamed
   response, against the first content chunk asked straight of the scripted upstream
   (20 tokens 10 ms apart), one process on SQLite; then through Redis, an API process
   and a worker process on PostgreSQL (the run path's numbers beside it).
2. `--part stateless`: `store: false` responses, not streamed, 32 at once against an
   upstream that answers at once, as a ratio to the same chat request sent straight to
   that upstream at 32 at once.
3. `--part chain`: a response at the end of a `previous_response_id` chain 1,000 deep
   against one 1 deep (each turn about 120 tokens, a 4,096-token window; the chain is
   read only as far as the window reaches).
4. `--part throughput`: 64 concurrent responses, each new, polled (background) and
   streamed, interleaved with the same number of runs (`bench.runs_orchestration`'s
   rounds) on the same server.

Reproduce: make dev && .venv/bin/python -m bench.responses [--part ttft|stateless|chain|throughput]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import orjson
from tests.upstream import Reply, ScriptedUpstream, route_env

from bench.harness import assistantd_server, machine
from bench.postgres_http import pg_database
from bench.runs_orchestration import _round as runs_round
from bench.scaleout import REDIS_URL, _serve, _worker
from bench.upstream_process import upstream_process

TOKENS = "tok " * 20
_LIMITS = httpx.Limits(max_connections=80, max_keepalive_connections=80)


def _median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


async def _first_upstream_token(client: httpx.AsyncClient, upstream_url: str) -> float:
    body = {"model": "x", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    started = time.perf_counter()
    async with client.stream("POST", f"{upstream_url}/chat/completions", json=body) as r:
        async for line in r.aiter_lines():
            if '"content"' in line:
                return time.perf_counter() - started
    raise RuntimeError("no token")


async def _first_response_token(client: httpx.AsyncClient, base: str, model: str) -> float:
    body = {"model": model, "input": "hi", "stream": True}
    started = time.perf_counter()
    first = 0.0
    async with client.stream("POST", f"{base}/v1/responses", json=body) as r:
        async for line in r.aiter_lines():
            if line == "event: response.output_text.delta" and not first:
                first = time.perf_counter() - started
    if not first:
        raise RuntimeError("no delta")
    return first


async def _first_run_token(client: httpx.AsyncClient, base: str, assistant_id: str) -> float:
    body = {"assistant_id": assistant_id, "stream": True, "thread": {}}
    started = time.perf_counter()
    first = 0.0
    async with client.stream("POST", f"{base}/v1/threads/runs", json=body) as r:
        async for line in r.aiter_lines():
            if line == "event: thread.message.delta" and not first:
                first = time.perf_counter() - started
    return first


async def _ttft(base: str, upstream: ScriptedUpstream, rounds: int) -> dict[str, float]:
    async with httpx.AsyncClient(timeout=60) as client:
        assistant = (
            await client.post(f"{base}/v1/assistants", json={"model": "scripted-b"})
        ).json()
        direct, response, run = [], [], []
        for i in range(rounds + 3):
            upstream.script(*[Reply(text=TOKENS, token_delay_s=0.01) for _ in range(3)])
            d = await _first_upstream_token(client, upstream.base_url)
            r = await _first_response_token(client, base, "scripted-b")
            u = await _first_run_token(client, base, assistant["id"])
            if i >= 3:  # warm connections and caches first
                direct.append(d)
                response.append(r)
                run.append(u)
    return {
        "direct": _median_ms(direct),
        "response": _median_ms(response),
        "run": _median_ms(run),
    }


def part_ttft(rounds: int) -> None:
    upstream = ScriptedUpstream()
    results = {}
    with upstream.running():
        env = {**route_env(upstream, timeout_s=60), "ASSISTANTD_WORKERS": "8"}
        with assistantd_server(Path(tempfile.mkdtemp(prefix="assistantd-rsp-")), env) as base:
            results["one process, SQLite"] = asyncio.run(_ttft(base, upstream, rounds))
        with pg_database() as url:
            redis = {
                **route_env(upstream, timeout_s=60),
                "ASSISTANTD_REDIS_URL": REDIS_URL,
                "ASSISTANTD_REDIS_PREFIX": "bench-rsp:",
            }
            with _worker(url, redis), _serve(url, {**redis, "ASSISTANTD_WORKERS": "0"}) as api:
                results["API + worker process, Redis, PostgreSQL"] = asyncio.run(
                    _ttft(api, upstream, rounds)
                )
    print(f"machine: {machine()}; {rounds} rounds, 20 tokens 10 ms apart, medians")
    print("| setup | upstream direct ms | streamed response ms | overhead ms | run overhead ms |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['direct']:.2f} | {r['response']:.2f} | "
            f"{r['response'] - r['direct']:.2f} | {r['run'] - r['direct']:.2f} |"
        )
    print(f"reproduce: .venv/bin/python -m bench.responses --part ttft --rounds {rounds}")


async def _closed_loop(
    call: Callable[[httpx.AsyncClient], Awaitable[None]], concurrent: int, seconds: float
) -> tuple[int, list[float]]:
    """`concurrent` callers each calling `call` back to back for `seconds`."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def caller(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await call(client)
            latencies.append(time.perf_counter() - started)

    async with httpx.AsyncClient(timeout=60, limits=_LIMITS) as client:
        await asyncio.gather(*(caller(client) for _ in range(concurrent)))
    return len(latencies), latencies


def part_stateless(seconds: float, concurrent: int) -> None:
    with upstream_process() as upstream_url:
        env = {
            "ASSISTANTD_MODEL_ROUTES": orjson.dumps(
                [{"match": "*", "provider": "openai", "base_url": upstream_url}]
            ).decode(),
            "ASSISTANTD_WORKERS": "16",
        }
        with assistantd_server(env=env) as base:
            chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}

            async def direct(client: httpx.AsyncClient) -> None:
                r = await client.post(f"{upstream_url}/chat/completions", json=chat)
                r.raise_for_status()

            def response(store: bool) -> Callable[[httpx.AsyncClient], Awaitable[None]]:
                async def call(client: httpx.AsyncClient) -> None:
                    body = {"model": "m", "input": "hi", "store": store}
                    r = await client.post(f"{base}/v1/responses", json=body)
                    if r.status_code != 200 or r.json()["status"] != "completed":
                        raise RuntimeError(r.text)

                return call

            asyncio.run(_closed_loop(response(False), concurrent, 1.0))  # warm up
            d_n, d_lat = asyncio.run(_closed_loop(direct, concurrent, seconds))
            r_n, r_lat = asyncio.run(_closed_loop(response(False), concurrent, seconds))
            s_n, s_lat = asyncio.run(_closed_loop(response(True), concurrent, seconds))
    d_rate, r_rate, s_rate = d_n / seconds, r_n / seconds, s_n / seconds
    print(f"machine: {machine()}; {concurrent} concurrent callers, {seconds:.0f} s each")
    print("| request | per second | p50 ms |")
    print("|---|---|---|")
    print(f"| chat completion straight to the upstream | {d_rate:.0f} | {_median_ms(d_lat):.1f} |")
    print(f"| store:false response through assistantd | {r_rate:.0f} | {_median_ms(r_lat):.1f} |")
    print(f"| (stored response, for comparison) | {s_rate:.0f} | {_median_ms(s_lat):.1f} |")
    print(f"ratio (store:false response / direct throughput): {r_rate / d_rate:.2f}")
    print(
        "reproduce: .venv/bin/python -m bench.responses --part stateless "
        f"--seconds {seconds:.0f} --concurrent {concurrent}"
    )


TURN = "word " * 50  # about 60 tokens each way: a turn of ~120 tokens


async def _chain(client: httpx.AsyncClient, base: str, depth: int) -> str:
    previous = None
    for _ in range(depth):
        body = {"model": "m", "input": TURN, "previous_response_id": previous}
        previous = (await client.post(f"{base}/v1/responses", json=body)).json()["id"]
    assert previous is not None
    return previous


async def _at_the_end(client: httpx.AsyncClient, base: str, tip: str, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        body = {"model": "m", "input": TURN, "previous_response_id": tip, "truncation": "auto"}
        started = time.perf_counter()
        r = (await client.post(f"{base}/v1/responses", json=body)).json()
        out.append(time.perf_counter() - started)
        if r["status"] != "completed":
            raise RuntimeError(r)
    return out


def part_chain(depth: int, rounds: int) -> None:
    upstream = ScriptedUpstream()
    with upstream.running():
        route = {"match": "*", "provider": "openai", "base_url": upstream.base_url}
        env = {
            "ASSISTANTD_MODEL_ROUTES": orjson.dumps([{**route, "context_window": 4096}]).decode()
        }
        with assistantd_server(env=env) as base:

            async def go() -> tuple[list[float], list[float], int, int]:
                async with httpx.AsyncClient(timeout=120) as client:
                    short = await _chain(client, base, 1)
                    long = await _chain(client, base, depth)
                    upstream.requests.clear()
                    await _at_the_end(client, base, short, 3)  # warm
                    one = await _at_the_end(client, base, short, rounds)
                    deep = await _at_the_end(client, base, long, rounds)
                    sent = [len(r["messages"]) for r in upstream.requests]
                    return one, deep, sent[3], sent[-1]

            one, deep, one_msgs, deep_msgs = asyncio.run(go())
    a, b = _median_ms(one), _median_ms(deep)
    print(f"machine: {machine()}; SQLite; turns of ~120 tokens; 4,096-token window; medians")
    print("| chain | response ms p50 | messages the model got |")
    print("|---|---|---|")
    print(f"| 1 deep | {a:.1f} | {one_msgs} |")
    print(f"| {depth} deep | {b:.1f} | {deep_msgs} |")
    print(f"ratio: {b / a:.2f} (target <= 1.5)")
    print(f"reproduce: .venv/bin/python -m bench.responses --part chain --depth {depth}")


_ENDS = {"completed", "failed", "incomplete", "cancelled"}


async def _polled(client: httpx.AsyncClient, base: str) -> float:
    started = time.perf_counter()
    body = {"model": "m", "input": "hi", "background": True}
    r = (await client.post(f"{base}/v1/responses", json=body)).json()
    while r["status"] not in _ENDS:
        await asyncio.sleep(0.01)
        r = (await client.get(f"{base}/v1/responses/{r['id']}")).json()
    if r["status"] != "completed":
        raise RuntimeError(r)
    return time.perf_counter() - started


async def _streamed(client: httpx.AsyncClient, base: str) -> float:
    started = time.perf_counter()
    body = {"model": "m", "input": "hi", "stream": True}
    done = False
    async with client.stream("POST", f"{base}/v1/responses", json=body) as r:
        async for chunk in r.aiter_bytes():
            done = done or b"response.completed" in chunk
    if not done:
        raise RuntimeError("no response.completed")
    return time.perf_counter() - started


async def _throughput(base: str, concurrent: int, total: int, follow: str) -> tuple[float, float]:
    run = _polled if follow == "polling" else _streamed
    sem = asyncio.Semaphore(concurrent)
    async with httpx.AsyncClient(timeout=120, limits=_LIMITS) as client:

        async def one() -> float:
            async with sem:
                return await run(client, base)

        started = time.perf_counter()
        times = await asyncio.gather(*(one() for _ in range(total)))
        elapsed = time.perf_counter() - started
    return total / elapsed, _median_ms(list(times))


def part_throughput(concurrent: int, total: int) -> None:
    with upstream_process() as upstream_url:
        routes = [{"match": "*", "provider": "openai", "base_url": upstream_url}]
        env = {
            "ASSISTANTD_MODEL_ROUTES": orjson.dumps(routes).decode(),
            "ASSISTANTD_WORKERS": "16",  # as bench.runs_orchestration runs
        }
        with assistantd_server(env=env) as base:
            asyncio.run(_throughput(base, concurrent, 64, "streaming"))  # warm up
            asyncio.run(runs_round(base, "stream", concurrent, 64))
            rows = []
            for follow, runs_follow in (("polling", "poll"), ("streaming", "stream")):
                # Interleaved: runs, responses, runs, responses (this machine is noisy).
                for _ in range(2):
                    rows.append(
                        (
                            f"runs, {follow}",
                            *asyncio.run(runs_round(base, runs_follow, concurrent, total)),
                        )
                    )
                    rows.append(
                        (
                            f"responses, {follow}",
                            *asyncio.run(_throughput(base, concurrent, total, follow)),
                        )
                    )
    print(f"machine: {machine()}; {total} at a time, {concurrent} at once, SQLite, 16 workers")
    print("| what, followed by | per second | p50 create→completed ms |")
    print("|---|---|---|")
    for name, rate, p50 in rows:
        print(f"| {name} | {rate:.0f} | {p50:.0f} |")
    print(f"reproduce: .venv/bin/python -m bench.responses --part throughput --total {total}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--part", choices=["ttft", "stateless", "chain", "throughput", "all"], default="all"
    )
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--concurrent", type=int, default=32)
    parser.add_argument("--depth", type=int, default=1000)
    parser.add_argument("--total", type=int, default=640)
    args = parser.parse_args()
    if args.part in ("ttft", "all"):
        part_ttft(args.rounds)
    if args.part in ("stateless", "all"):
        part_stateless(args.seconds, args.concurrent)
    if args.part in ("chain", "all"):
        part_chain(args.depth, args.rounds)
    if args.part in ("throughput", "all"):
        part_throughput(64, args.total)


if __name__ == "__main__":
    main()
