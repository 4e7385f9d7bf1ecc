"""Conversations at scale, each against a small conversation measured in the same run.

1. Listing items (`GET /v1/conversations/{id}/items?limit=10`, newest first, and a page
   from a cursor in the middle, both orders) of a conversation of 100,000 messages
   against one of 10, in pages of 10 so that both show as many items. Items merge three
   sources (messages, run steps, stored items), each read by its own index: the ratio
   should be about 1 (target: at most 1.1). The same thread's `messages.list` page is
   measured beside it as the floor.
2. A response on a thread of 100,000 messages against one on a thread of 10, with a
   4,096-token window and the upstream answering at once. The conversation is read
   only as far as the window reaches (target: at most 1.5). Measured twice:
   - with messages of about 400 tokens, so that 10 already fill the window and the two
     prompts are the same size: the ratio is then what the length of the thread costs;
   - with messages of about 20 tokens: the big thread's prompt holds about 150 of them
     against the small one's 10, so the ratio is mostly the bigger prompt (counted and
     sent), not the thread's length.

The big conversations are seeded straight through the store, as
bench.messages_list_scale seeds its thread; everything else goes over HTTP, one
request at a time, small and big interleaved.

Reproduce: make dev && .venv/bin/python -m bench.conversations [--messages 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.harness import assistantd_server, machine
from bench.messages_list_scale import _seed
from bench.upstream_process import upstream_process

ROUNDS = 300
NEWEST = "msg_" + "z" * 24  # a cursor past every message
RUN = "run_" + "0" * 24  # a run with no messages there: the page must not walk the thread
SHORT = "What is a penguin? " * 4  # about 20 tokens
LONG = "Penguins are flightless seabirds of the southern hemisphere. " * 40  # about 400


def _median_ms(client: httpx.Client, url: str, rounds: int, body: Any = None) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        r = client.post(url, json=body) if body is not None else client.get(url)
        times.append(time.perf_counter() - started)
        if r.status_code != 200:
            raise RuntimeError(r.text)
    return statistics.median(times) * 1000


def _pair(
    client: httpx.Client, small: str, big: str, rounds: int, body: Any = None
) -> tuple[float, float]:
    """Best of two interleaved medians each (this machine is noisy)."""
    _median_ms(client, big, 5, body)  # warm up
    _median_ms(client, small, 5, body)
    s1, b1 = _median_ms(client, small, rounds, body), _median_ms(client, big, rounds, body)
    s2, b2 = _median_ms(client, small, rounds, body), _median_ms(client, big, rounds, body)
    return min(s1, s2), min(b1, b2)


def _response(
    client: httpx.Client, base: str, pair: tuple[str, str], rounds: int
) -> tuple[float, float]:
    times: dict[str, float] = {}
    for conversation in (*pair, *pair):
        body = {"model": "m", "input": "hi", "conversation": conversation, "truncation": "auto"}
        _median_ms(client, f"{base}/v1/responses", 3, body)
        ms = _median_ms(client, f"{base}/v1/responses", rounds, body)
        times[conversation] = min(times.get(conversation, ms), ms)
    return times[pair[0]], times[pair[1]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="assistantd-conversations-"))
    url = f"sqlite:///{data / 'assistantd.db'}"
    n = args.messages
    rows: list[tuple[str, float, float]] = []
    try:
        with upstream_process() as upstream_url:
            route = {"match": "*", "provider": "openai", "base_url": upstream_url}
            routes = orjson.dumps([{**route, "context_window": 4096}]).decode()
            env = {"ASSISTANTD_MODEL_ROUTES": routes}
            with assistantd_server(data, env=env) as base, httpx.Client(timeout=60) as client:

                def made(count: int, text: str) -> tuple[str, list[str]]:
                    conv = client.post(f"{base}/v1/conversations", json={}).json()["id"]
                    return conv, asyncio.run(_seed(url, conv, count, text=text))

                started = time.monotonic()
                (small, small_marks), (big, marks) = made(10, SHORT), made(n, SHORT)
                (small_long, _), (big_long, _) = made(10, LONG), made(n, LONG)
                seeded = time.monotonic() - started
                middle = marks[len(marks) // 2]
                c = f"{base}/v1/conversations"
                cells = (
                    ("thread messages, first page (the floor)",
                     f"{base}/v1/threads/{small}/messages?limit=10",
                     f"{base}/v1/threads/{big}/messages?limit=10"),
                    ("thread messages of one run (`run_id=`)",
                     f"{base}/v1/threads/{small}/messages?limit=10&run_id={RUN}",
                     f"{base}/v1/threads/{big}/messages?limit=10&run_id={RUN}"),
                    ("items, first page",
                     f"{c}/{small}/items?limit=10", f"{c}/{big}/items?limit=10"),
                    # The small one pages from a cursor too: past its newest, past its first.
                    ("items, after=middle", f"{c}/{small}/items?limit=10&after={NEWEST}",
                     f"{c}/{big}/items?limit=10&after={middle}"),
                    ("items, asc, after=middle",
                     f"{c}/{small}/items?limit=10&order=asc&after={small_marks[0]}",
                     f"{c}/{big}/items?limit=10&order=asc&after={middle}"),
                )  # fmt: skip
                for label, small_url, big_url in cells:
                    rows.append((label, *_pair(client, small_url, big_url, args.rounds)))
                rounds = max(20, args.rounds // 10)
                rows.append(
                    ("a response, ~400-token messages (both fill the window)",
                     *_response(client, base, (small_long, big_long), rounds))
                )  # fmt: skip
                rows.append(
                    ("a response, ~20-token messages (150 fit against 10)",
                     *_response(client, base, (small, big), rounds))
                )  # fmt: skip
    finally:
        shutil.rmtree(data, ignore_errors=True)
    print(f"machine: {machine()}; seeded 2 x {n:,} messages in {seeded:.0f} s")
    print(f"| request | 10 messages, p50 ms | {n:,} messages, p50 ms | ratio |")
    print("|---|---|---|---|")
    for label, small_ms, big_ms in rows:
        print(f"| {label} | {small_ms:.2f} | {big_ms:.2f} | {big_ms / small_ms:.2f} |")
    print(f"reproduce: .venv/bin/python -m bench.conversations --messages {n}")


if __name__ == "__main__":
    main()
