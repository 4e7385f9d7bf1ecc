"""Building a run's prompt (truncation `auto`) on a thread of 100 vs 100,000 messages.

The context builder reads the thread newest-first a page at a time and stops when the
context window is full, so its cost should not depend on the thread's length. The
window (3,072 tokens by default) is smaller than 100 messages, so both threads are
truncated to the same number of messages and the ratio compares like with like.

Reproduce: make dev && .venv/bin/python -m bench.prompt_building
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from assistantd.engine.context import build_context
from assistantd.providers.openai_compatible import estimate_tokens
from assistantd.services.run_docs import new_private
from assistantd.store.db import open_database
from assistantd.store.migrate import upgrade
from assistantd.store.repos.threads import threads_repo
from bench.harness import machine
from bench.messages_list_scale import _seed


def _run(thread_id: str) -> dict[str, object]:
    return {
        "id": "run_bench",
        "thread_id": thread_id,
        "instructions": "You are a helpful assistant.",
        "max_prompt_tokens": None,
        "max_completion_tokens": None,
        "truncation_strategy": {"type": "auto", "last_messages": None},
    }


async def _measure(url: str, thread_id: str, rounds: int, window: int) -> tuple[float, int]:
    db = open_database(url)
    times = []
    kept = 0
    try:
        for _ in range(rounds):
            started = time.perf_counter()
            context = await db.read(
                lambda conn: build_context(
                    conn,
                    run=_run(thread_id),
                    private=new_private(
                        additional_instructions=None, reasoning_effort=None, include=()
                    ),
                    project="default",
                    context_window=window,
                    count_tokens=estimate_tokens,
                )
            )
            times.append(time.perf_counter() - started)
            kept = len(context.messages) - 1
    finally:
        await db.dispose()
    return statistics.median(times) * 1000, kept


async def main_async(big: int, rounds: int, window: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="assistantd-prompt-"))
    url = f"sqlite:///{data / 'assistantd.db'}"
    try:
        await upgrade(url)
        db = open_database(url)
        repo = threads_repo
        for thread_id in ("thread_small", "thread_big"):
            row = {"id": thread_id, "project": "default", "created_at": 0, "doc": "{}"}
            await db.write(lambda conn, row=row: repo.insert(conn, row))
        await db.dispose()
        await _seed(url, "thread_small", 100)
        await _seed(url, "thread_big", big)
        small_ms, small_kept = await _measure(url, "thread_small", rounds, window)
        big_ms, big_kept = await _measure(url, "thread_big", rounds, window)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    print(f"machine: {machine()}; median of {rounds} builds, context window {window:,} tokens")
    print("| thread | messages kept | p50 ms | ratio |")
    print("|---|---|---|---|")
    print(f"| 100 messages | {small_kept} | {small_ms:.2f} | 1.00 |")
    print(f"| {big:,} messages | {big_kept} | {big_ms:.2f} | {big_ms / small_ms:.2f} |")
    print(
        "reproduce: .venv/bin/python -m bench.prompt_building"
        f" --messages {big} --rounds {rounds} --window {window}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--window", type=int, default=3072)
    args = parser.parse_args()
    asyncio.run(main_async(args.messages, args.rounds, args.window))


if __name__ == "__main__":
    main()
