"""messages.list(limit=100) on a thread of 100 messages and on one of 1,000,000.

The big thread is seeded straight through the store (the same repository the API
uses), then both threads are read over HTTP at one connection. Keyset pagination
should make the ratio of their p50 latencies about 1, for the first page and for a
page deep in the middle.

Reproduce: make dev && apt-get install wrk && .venv/bin/python -m bench.messages_list_scale
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from assistantd import clock
from assistantd.ids import IdKind, new_id
from assistantd.protocol.messages import MessageCreate
from assistantd.services.messages import message_doc
from assistantd.store.db import open_database
from assistantd.store.repos.messages import messages_repo
from bench.harness import assistantd_server, machine, wrk


async def _seed(
    url: str, thread_id: str, count: int, batch: int = 20_000, text: str = "What is a penguin? " * 4
) -> list[str]:
    """`count` messages into `thread_id`; returns every 1000th id, for deep cursors."""
    db = open_database(url)
    repo = messages_repo
    req = MessageCreate(role="user", content=text)
    marks: list[str] = []
    try:
        for start in range(0, count, batch):
            rows = []
            for i in range(start, min(count, start + batch)):
                mid = new_id(IdKind.message)
                now = clock.now()
                doc = message_doc(req, message_id=mid, thread_id=thread_id, created_at=now)
                rows.append(
                    {
                        "id": mid,
                        "project": "default",
                        "thread_id": thread_id,
                        "run_id": None,
                        "created_at": now,
                        "doc": orjson.dumps(doc).decode(),
                    }
                )
                if i % 1000 == 0:
                    marks.append(mid)
            await db.write(lambda conn, rows=rows: repo.insert_many(conn, rows))
    finally:
        await db.dispose()
    return marks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="assistantd-scale-"))
    url = f"sqlite:///{data / 'assistantd.db'}"
    try:
        with assistantd_server(data) as server:
            small = httpx.post(f"{server}/v1/threads", json={}).json()["id"]
            big = httpx.post(f"{server}/v1/threads", json={}).json()["id"]
            asyncio.run(_seed(url, small, 100))
            started = time.monotonic()
            marks = asyncio.run(_seed(url, big, args.messages))
            seeded = time.monotonic() - started
            middle = marks[len(marks) // 2]
            cells = {
                "100 msgs, first page": f"{server}/v1/threads/{small}/messages?limit=100",
                f"{args.messages:,} msgs, first page": (
                    f"{server}/v1/threads/{big}/messages?limit=100"
                ),
                f"{args.messages:,} msgs, after=middle": (
                    f"{server}/v1/threads/{big}/messages?limit=100&after={middle}"
                ),
                f"{args.messages:,} msgs, asc, before=middle": (
                    f"{server}/v1/threads/{big}/messages?limit=100&order=asc&before={middle}"
                ),
            }
            results = {
                name: wrk(u, connections=1, seconds=args.seconds) for name, u in cells.items()
            }
    finally:
        shutil.rmtree(data, ignore_errors=True)
    base = results["100 msgs, first page"]
    print(f"machine: {machine()}; seeded {args.messages:,} messages in {seeded:.0f} s")
    print("| thread, page | req/s | p50 ms | p99 ms | p50 ratio to 100-msg thread |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        ratio = r.p50_ms / base.p50_ms
        print(f"| {name} | {r.rps:,.0f} | {r.p50_ms:.3f} | {r.p99_ms:.3f} | {ratio:.2f} |")
    print(
        "reproduce: .venv/bin/python -m bench.messages_list_scale"
        f" --messages {args.messages} --seconds {args.seconds}"
    )


if __name__ == "__main__":
    main()
