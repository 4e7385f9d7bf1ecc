"""Building a run's prompt counts tokens off the event loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import orjson

from assistantd.engine.context import build_context
from assistantd.services.run_docs import new_private
from tests.engine.stack import PROJECT, in_process
from tests.engine.test_units_twice import _setup, _start
from tests.upstream import ScriptedUpstream


async def test_tokens_are_counted_off_the_event_loop(
    tmp_path: Path, upstream: ScriptedUpstream
) -> None:
    async with in_process(tmp_path, upstream.base_url, workers=0, rehearse=False) as (c, db):
        assistant_id, thread_id = await _setup(c)
        run_id = await _start(c, assistant_id, thread_id)
        run = orjson.loads(await c.runs.get(PROJECT, thread_id, run_id))
        released = threading.Event()
        loop_threads: list[bool] = []

        def count(messages: list[dict[str, Any]]) -> int:
            loop_threads.append(threading.current_thread() is threading.main_thread())
            # A tokenizer that takes a while. Run on the loop, it would block the very
            # coroutine that releases it, and time out here.
            assert released.wait(timeout=5), "token counting blocked the event loop"
            return 10 * len(messages)

        async def release_soon() -> None:
            await asyncio.sleep(0.05)
            released.set()

        context, _ = await asyncio.gather(
            build_context(
                db,
                run=run,
                private=new_private(
                    additional_instructions=None, reasoning_effort=None, include=()
                ),
                project=PROJECT,
                context_window=4096,
                count_tokens=count,
            ),
            release_soon(),
        )
        assert context.messages[-1] == {"role": "user", "content": "Hi"}
        assert loop_threads
        assert not any(loop_threads)
